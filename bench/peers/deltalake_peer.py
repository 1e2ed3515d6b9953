#!/usr/bin/env python3
"""deltalake (delta-rs's Python package) peer for the `table` and `stream` benchmarks of
floe-bench: the same workloads on Delta Lake tables in a local folder.

Delta Lake has no catalog: a table is a folder whose ``_delta_log/`` holds one JSON
commit per version, and a commit is the atomic creation of the next version's file
(delta-rs on a local file system: a rename that fails if the target exists, so concurrent
writers from several processes are safe; a writer that loses the race checks the winner's
commit for conflicts, and appends never conflict, then tries the next version, up to
``CommitProperties(max_commit_retries=...)`` times).

Every workload is deltalake's public API, the call a user makes:

* append: ``write_deltalake(table, pyarrow_table, mode="append")`` into a fresh table
  made by ``DeltaTable.create`` outside the timer (the same Parquet settings as the other
  sides: zstd level 3 through ``WriterProperties``); the whole append: Parquet files with
  statistics, and the JSON commit;
* full scan: ``DeltaTable(path).to_pyarrow_table()`` of a table this peer wrote from the
  same rows (``write-scan-table``), partitioned by ``event_date`` (Delta partitions by
  column value only, no transforms; ``event_date`` is the day of ``event_ts``, so the
  partitions are the same 10 days as Iceberg's ``day(event_ts)``);
* stream: one process per writer, each appending 1,000-row batches with
  ``write_deltalake(table, batch, mode="append")`` and recording its progress in the same
  commit (a Delta ``txn`` action: ``Transaction(app_id=writer, version=seq)``, Delta's
  own exactly-once mechanism for streaming writers).

Tables are created and dropped, and the input Arrow IPC file is read, outside the timer.
Times: wall (``perf_counter``) and this process's on-CPU time, all threads
(``process_time``: delta-rs writes and pyarrow reads on their own threads).

Modes:

* ``serve``: the ``table`` suite; one JSON request a line on stdin, one JSON answer a line
  on stdout (``{"op": "info" | "append" | "write-scan-table" | "scan", ...}``, see
  ``handle``; the line protocol of ``_serve.py``, with peak RSS in every answer);
* ``setup --warehouse DIR --table NAME``, ``writer --warehouse DIR --table NAME --writer W
  --seconds S``, ``digest --warehouse DIR --table NAME``, ``info``: the ``stream`` suite,
  one-shot, one JSON line on stdout, as ``pyiceberg_stream.py`` (a writer prints
  ``{"ready": true}`` and waits for a line on stdin before its first batch).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

import deltalake
from deltalake import CommitProperties, DeltaTable, Transaction, WriterProperties, write_deltalake

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _serve  # noqa: E402  (the shared line protocol beside this file)

# The same Parquet settings as the Floe and PyIceberg sides (zstd level 3).
WRITER_PROPERTIES = WriterProperties(compression="ZSTD", compression_level=3)

# Commit retries of the stream writers: the same count as the other sides'
# `commit.retry.num-retries` (delta-rs retries at once, without backoff).
MAX_COMMIT_RETRIES = 50

# ---- the table suite ----------------------------------------------------------------

_INPUTS: dict[str, pa.Table] = {}


def _input(path: str) -> pa.Table:
    """The batches of the IPC file as one table, field-id metadata dropped."""
    if path not in _INPUTS:
        with pa.memory_map(path) as source:
            table = ipc.open_file(source).read_all()
        plain = pa.schema([pa.field(f.name, f.type, f.nullable) for f in table.schema])
        _INPUTS[path] = table.cast(plain)
    return _INPUTS[path]


def _time(fn: Any) -> tuple[float, float, Any]:
    cpu = time.process_time()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, time.process_time() - cpu, result


def _create(path: str, schema: pa.Schema, partitioned: bool) -> DeltaTable:
    shutil.rmtree(path, ignore_errors=True)
    return DeltaTable.create(path, schema, partition_by=["event_date"] if partitioned else None)


def _added(dt: DeltaTable) -> tuple[int, int, int]:
    """Files, records and bytes of the table's current snapshot."""
    actions = pa.table(dt.get_add_actions(flatten=True))
    records = pc.sum(actions["num_records"]).as_py() or 0
    size = pc.sum(actions["size_bytes"]).as_py() or 0
    return actions.num_rows, int(records), int(size)


def append(req: dict[str, Any]) -> dict[str, Any]:
    df = _input(req["ipc"])
    path = os.path.join(req["dir"], req["name"])
    dt = _create(path, df.schema, req["partitioned"])
    wall, cpu, _ = _time(
        lambda: write_deltalake(dt, df, mode="append", writer_properties=WRITER_PROPERTIES)
    )
    dt = DeltaTable(path)
    files, records, size = _added(dt)
    out = {
        "times": [wall],
        "cpu_times": [cpu],
        "records": records,
        "files": files,
        "bytes": size,
        "version": dt.version(),
    }
    if not req.get("keep"):
        shutil.rmtree(path, ignore_errors=True)
    return out


def write_scan_table(req: dict[str, Any]) -> dict[str, Any]:
    """The full-scan input: the IPC file's rows appended to a fresh table partitioned by
    ``event_date``, kept until the end of the run."""
    df = _input(req["ipc"])
    path = os.path.join(req["dir"], req["name"])
    dt = _create(path, df.schema, True)
    write_deltalake(dt, df, mode="append", writer_properties=WRITER_PROPERTIES)
    files, records, size = _added(DeltaTable(path))
    return {"files": files, "records": records, "bytes": size}


def _digest(t: pa.Table) -> dict[str, Any]:
    return {
        "rows": t.num_rows,
        "event_id_sum": pc.sum(t["event_id"]).as_py() or 0,
        "amount_nulls": t["amount"].null_count,
        "columns": t.num_columns,
    }


def scan(req: dict[str, Any]) -> dict[str, Any]:
    path = os.path.join(req["dir"], req["name"])
    # Loading the table (reading its log) is part of the scan, as Floe's scan plans from
    # the metadata it was handed and PyIceberg's loads the table first.
    wall, cpu, result = _time(lambda: DeltaTable(path).to_pyarrow_table())
    out: dict[str, Any] = {"times": [wall], "cpu_times": [cpu]}
    if req.get("digest"):
        out.update(_digest(result))
    else:
        out["rows"] = result.num_rows
    return out


def info() -> dict[str, Any]:
    return {
        "deltalake": deltalake.__version__,
        "delta_rs": deltalake.rust_core_version(),
        "pyarrow": pa.__version__,
        "python": sys.version.split()[0],
    }


def handle(req: dict[str, Any]) -> dict[str, Any]:
    op = req["op"]
    if op == "append":
        return append(req)
    if op == "write-scan-table":
        return write_scan_table(req)
    if op == "scan":
        return scan(req)
    if op == "info":
        return info()
    raise ValueError(f"unknown op {op!r}")


# ---- the stream suite ---------------------------------------------------------------

ROWS = 1000

# The same four columns as the Floe side's table (floe-bench stream_bench::schema).
STREAM_ARROW = pa.schema(
    [
        pa.field("writer", pa.int32(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("id", pa.int64(), nullable=False),
        pa.field("payload", pa.string()),
    ]
)


def stream_setup(path: str) -> dict[str, Any]:
    dt = _create(path, STREAM_ARROW, False)
    return {"version": dt.version()}


def batch(writer: int, seq: int) -> pa.Table:
    base = seq * ROWS
    return pa.table(
        {
            "writer": pa.array([writer] * ROWS, pa.int32()),
            "seq": pa.array([seq] * ROWS, pa.int64()),
            "id": pa.array(range(base, base + ROWS), pa.int64()),
            "payload": pa.array([f"w{writer}-s{seq}-{i}" for i in range(ROWS)], pa.string()),
        },
        schema=STREAM_ARROW,
    )


def stream_writer(path: str, w: int, seconds: float) -> dict[str, Any]:
    dt = DeltaTable(path)
    # Build a first batch outside the clock (pyarrow warm-up).
    batch(w, 0)
    sys.stdout.write(json.dumps({"ready": True}) + "\n")
    sys.stdout.flush()
    sys.stdin.readline()
    deadline = time.time() + seconds
    acked, failed, latencies = 0, 0, []
    seq = 0
    first = time.time()
    last = first
    while time.time() < deadline:
        df = batch(w, seq)
        commit = CommitProperties(
            max_commit_retries=MAX_COMMIT_RETRIES,
            app_transactions=[Transaction(app_id=f"w{w}", version=seq)],
        )
        seq += 1
        t0 = time.perf_counter()
        try:
            write_deltalake(
                dt, df, mode="append", writer_properties=WRITER_PROPERTIES, commit_properties=commit
            )
        except Exception as e:  # retries exhausted (CommitFailedError) or an IO error
            failed += 1
            sys.stderr.write(f"deltalake writer {w}: {type(e).__name__}: {e}\n")
            dt = DeltaTable(path)
            last = time.time()
            continue
        latencies.append(time.perf_counter() - t0)
        acked += 1
        last = time.time()
    return {"acked": acked, "failed": failed, "latencies": latencies, "first": first, "last": last}


def stream_digest(path: str) -> dict[str, Any]:
    """What a fresh load says: rows (from the files' statistics), versions, data files,
    and each writer's last committed seq (the ``txn`` actions)."""
    dt = DeltaTable(path)
    files, records, _ = _added(dt)
    ids = pa.table(dt.to_pyarrow_table(columns=["writer", "seq"]))
    distinct = ids.group_by(["writer", "seq"]).aggregate([]).num_rows
    return {
        "total_records": records,
        "rows_read": ids.num_rows,
        "distinct_batches": distinct,
        "snapshots": dt.version() + 1,
        "data_files": files,
    }


def main() -> None:
    if sys.argv[1:] == ["serve"]:
        _serve.serve(handle)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("info")
    for name in ("setup", "writer", "digest"):
        p = sub.add_parser(name)
        p.add_argument("--warehouse", required=True)
        p.add_argument("--table", required=True)
        if name == "writer":
            p.add_argument("--writer", type=int, required=True)
            p.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    if args.cmd == "info":
        out = info()
    else:
        path = os.path.join(args.warehouse, args.table)
        if args.cmd == "setup":
            os.makedirs(args.warehouse, exist_ok=True)
            out = stream_setup(path)
        elif args.cmd == "writer":
            out = stream_writer(path, args.writer, args.seconds)
        else:
            out = stream_digest(path)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
