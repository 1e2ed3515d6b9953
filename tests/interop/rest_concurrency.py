"""Concurrent PyIceberg appends through a running `floe serve`.

Usage:
  rest_concurrency.py setup URI              creates namespace `conc` and table `conc.events`
  rest_concurrency.py append URI WRITER N    appends N one-row-group batches tagged
                                             (WRITER, i); retries a refused commit
  rest_concurrency.py verify URI [TABLE]     scans the table, reports rows and files
  rest_concurrency.py setup-blind URI        creates table `blind.events` with PyIceberg's
                                             own commit retries off (num-retries 0)
  rest_concurrency.py append-once URI WRITER N
                                             appends N batches to `blind.events`, each
                                             tried once: a refused commit is a failure
  rest_concurrency.py conflict URI           a stale overwrite and a stale delete on
                                             `blind.events`: both must be refused (409)

`append` prints {"acked": [i...], "unknown": [i...], "conflicts_seen": n}: `acked` are
the appends whose commit returned success; `unknown` those whose outcome is unknown
(CommitStateUnknown: they may or may not be in the table, but at most once). Each batch
has 3 rows with the same (writer, seq), so a duplicated or lost append shows up in the
row counts. `append-once` also reports `failed`: [[i, message]...] of refused commits.
`verify` also reports the server's `floe_commit_conflicts_total` and
`floe_commits_rebased_total` from `/metrics`.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request

import pyarrow as pa
from pyiceberg.catalog import load_catalog
from pyiceberg.exceptions import CommitFailedException, CommitStateUnknownException
from pyiceberg.schema import Schema
from pyiceberg.types import IntegerType, LongType, NestedField, StringType

ROWS_PER_APPEND = 3

SCHEMA = Schema(
    NestedField(1, "writer", IntegerType(), required=True),
    NestedField(2, "seq", IntegerType(), required=True),
    NestedField(3, "row", LongType(), required=True),
    NestedField(4, "note", StringType(), required=False),
)
ARROW = pa.schema(
    [
        pa.field("writer", pa.int32(), nullable=False),
        pa.field("seq", pa.int32(), nullable=False),
        pa.field("row", pa.int64(), nullable=False),
        pa.field("note", pa.string()),
    ]
)


def catalog(uri: str):
    return load_catalog("floe", type="rest", uri=uri)


def setup(uri: str) -> dict:
    cat = catalog(uri)
    cat.create_namespace("conc")
    cat.create_table("conc.events", schema=SCHEMA)
    return {"ok": True}


def append(uri: str, writer: int, n: int) -> dict:
    cat = catalog(uri)
    acked, unknown, conflicts = [], [], 0
    for i in range(n):
        rows = [
            {"writer": writer, "seq": i, "row": r, "note": f"w{writer}-{i}"}
            for r in range(ROWS_PER_APPEND)
        ]
        batch = pa.Table.from_pylist(rows, schema=ARROW)
        for attempt in range(50):
            tbl = cat.load_table("conc.events")
            try:
                tbl.append(batch)
            except CommitFailedException:
                # Every retry of PyIceberg's own lost too: refresh and try again.
                conflicts += 1
                time.sleep(0.01 * (attempt + 1))
                continue
            except CommitStateUnknownException:
                unknown.append(i)
                break
            acked.append(i)
            break
        else:
            raise AssertionError(f"writer {writer}: append {i} failed 50 times")
    return {"acked": acked, "unknown": unknown, "conflicts_seen": conflicts}


def batch_of(writer: int, i: int) -> pa.Table:
    rows = [
        {"writer": writer, "seq": i, "row": r, "note": f"w{writer}-{i}"}
        for r in range(ROWS_PER_APPEND)
    ]
    return pa.Table.from_pylist(rows, schema=ARROW)


def setup_blind(uri: str) -> dict:
    cat = catalog(uri)
    cat.create_namespace("blind")
    cat.create_table(
        "blind.events", schema=SCHEMA, properties={"commit.retry.num-retries": "0"}
    )
    return {"ok": True}


def append_once(uri: str, writer: int, n: int) -> dict:
    cat = catalog(uri)
    acked, unknown, failed = [], [], []
    for i in range(n):
        tbl = cat.load_table("blind.events")
        try:
            tbl.append(batch_of(writer, i))
        except CommitFailedException as e:
            failed.append([i, str(e)])
            continue
        except CommitStateUnknownException:
            unknown.append(i)
            continue
        acked.append(i)
    return {"acked": acked, "unknown": unknown, "failed": failed, "conflicts_seen": len(failed)}


def conflict(uri: str) -> dict:
    cat = catalog(uri)
    out = {}
    for kind in ("overwrite", "delete"):
        stale = cat.load_table("blind.events")
        cat.load_table("blind.events").append(batch_of(99, len(out)))
        try:
            if kind == "overwrite":
                stale.overwrite(batch_of(98, 0))
            else:
                stale.delete("writer = 99")
            out[f"{kind}_refused"] = False
        except CommitFailedException as e:
            out[f"{kind}_refused"] = True
            out[f"{kind}_message"] = str(e)
    return out


def server_metrics(uri: str) -> dict:
    with urllib.request.urlopen(uri.rstrip("/") + "/metrics") as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        for name in ("floe_commit_conflicts_total", "floe_commits_rebased_total"):
            if line.startswith(name + " "):
                out[name] = int(float(line.split()[1]))
    return out


def verify(uri: str, table: str = "conc.events") -> dict:
    cat = catalog(uri)
    tbl = cat.load_table(table)
    data = tbl.scan(selected_fields=("writer", "seq")).to_arrow()
    pairs: dict[str, int] = {}
    for w, s in zip(data.column("writer").to_pylist(), data.column("seq").to_pylist()):
        key = f"{w}:{s}"
        pairs[key] = pairs.get(key, 0) + 1
    snap = tbl.current_snapshot()
    summary = snap.summary.additional_properties if snap else {}
    files = list(tbl.scan().plan_files())
    return {
        "rows_per_append": ROWS_PER_APPEND,
        "pairs": pairs,
        "total_rows": data.num_rows,
        "total_records": int(summary.get("total-records", "0")),
        "total_data_files": int(summary.get("total-data-files", "0")),
        "planned_files": len(files),
        "planned_records": sum(f.file.record_count for f in files),
        "snapshots": len(tbl.snapshots()),
        "metrics": server_metrics(uri),
    }


def main() -> None:
    mode, uri = sys.argv[1], sys.argv[2]
    if mode == "setup":
        out = setup(uri)
    elif mode == "append":
        out = append(uri, int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "verify":
        out = verify(uri, *sys.argv[3:4])
    elif mode == "setup-blind":
        out = setup_blind(uri)
    elif mode == "append-once":
        out = append_once(uri, int(sys.argv[3]), int(sys.argv[4]))
    elif mode == "conflict":
        out = conflict(uri)
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
