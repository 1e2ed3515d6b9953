#!/usr/bin/env python3
"""PyIceberg peer for the `table` benchmark of floe-bench (append, full scan, planning).

Every workload is PyIceberg's own public API, the call a user makes:

* append: ``table.append(pyarrow_table)`` into a fresh table of a ``SqlCatalog`` on
  SQLite, the whole append: Parquet files with metrics, manifest, manifest list, metadata
  file and the catalog commit;
* full scan: ``table.scan().to_arrow()`` of a table registered in the catalog
  (``catalog.register_table``) from the metadata file Floe wrote, so both read the same
  files;
* planning: ``table.scan(row_filter=...).plan_files()`` of a ``StaticTable`` loaded from
  the metadata file Floe generated (10,000 snapshots), manifest cache cleared before each
  run (``pyiceberg.manifest.clear_manifest_cache``).

Tables are created and dropped, and the input Arrow IPC file is read, outside the timer.
Times: wall (``perf_counter``) and this process's on-CPU time, all threads
(``process_time``: PyIceberg writes and reads files on a thread pool, and pyarrow uses
its own threads).

Run as ``pyiceberg_table.py serve``: one JSON request a line on stdin, one JSON answer a
line on stdout (``{"op": "info" | "append" | "register" | "scan" | "plan", ...}``, see
``handle``).
"""

from __future__ import annotations

import json
import shutil
import os
import sys
import time
from typing import Any
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.ipc as ipc

import pyiceberg
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import And, GreaterThanOrEqual, LessThan
from pyiceberg.manifest import clear_manifest_cache
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import StaticTable
from pyiceberg.transforms import DayTransform
from pyiceberg.types import (
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    LongType,
    NestedField,
    StringType,
    TimestampType,
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _serve  # noqa: E402  (the shared line protocol beside this file)

# The benchmark table, as floe-bench's `table_bench::table_schema` defines it.
SCHEMA = Schema(
    NestedField(1, "event_id", LongType(), required=True),
    NestedField(2, "event_ts", TimestampType(), required=True),
    NestedField(3, "user_id", LongType(), required=False),
    NestedField(4, "event_type", StringType(), required=False),
    NestedField(5, "amount", DoubleType(), required=False),
    NestedField(6, "price", DecimalType(10, 2), required=False),
    NestedField(7, "country", StringType(), required=False),
    NestedField(8, "is_valid", BooleanType(), required=False),
    NestedField(9, "event_date", DateType(), required=False),
    NestedField(10, "user_agent", StringType(), required=False),
)
DAY_SPEC = PartitionSpec(PartitionField(source_id=2, field_id=1000, transform=DayTransform(), name="event_ts_day"))

_CATALOGS: dict[tuple[str, str], SqlCatalog] = {}
_INPUTS: dict[str, pa.Table] = {}
_STATIC: dict[str, Any] = {}


def _catalog(db: str, warehouse: str) -> SqlCatalog:
    key = (db, warehouse)
    if key not in _CATALOGS:
        cat = SqlCatalog("bench", uri=f"sqlite:///{db}", warehouse=warehouse)
        try:
            cat.create_namespace("bench")
        except Exception:  # already there
            pass
        _CATALOGS[key] = cat
    return _CATALOGS[key]


def _input(path: str) -> pa.Table:
    """The batches of the IPC file as one table, field-id metadata dropped."""
    if path not in _INPUTS:
        with pa.memory_map(path) as source:
            table = ipc.open_file(source).read_all()
        plain = pa.schema([pa.field(f.name, f.type, f.nullable) for f in table.schema])
        _INPUTS[path] = table.cast(plain)
    return _INPUTS[path]


def _drop(cat: SqlCatalog, ident: str) -> None:
    try:
        tbl = cat.load_table(ident)
    except NoSuchTableError:
        return
    location = tbl.location()
    cat.drop_table(ident)
    shutil.rmtree(urlparse(location).path, ignore_errors=True)


def _time(fn: Any) -> tuple[float, float, Any]:
    cpu = time.process_time()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, time.process_time() - cpu, result


def append(req: dict[str, Any]) -> dict[str, Any]:
    cat = _catalog(req["db"], req["warehouse"])
    df = _input(req["ipc"])
    ident = f"bench.{req['name']}"
    _drop(cat, ident)
    tbl = cat.create_table(
        ident,
        schema=SCHEMA,
        partition_spec=DAY_SPEC if req["partitioned"] else PartitionSpec(),
        properties=req.get("properties", {}),
    )
    wall, cpu, _ = _time(lambda: tbl.append(df))
    snap = tbl.current_snapshot()
    summary = snap.summary.additional_properties if snap else {}
    out = {
        "times": [wall],
        "cpu_times": [cpu],
        "records": int(summary.get("added-records", 0)),
        "files": int(summary.get("added-data-files", 0)),
        "bytes": int(summary.get("added-files-size", 0)),
    }
    if not req.get("keep"):
        _drop(cat, ident)
    return out


def register(req: dict[str, Any]) -> dict[str, Any]:
    cat = _catalog(req["db"], req["warehouse"])
    ident = f"bench.{req['name']}"
    try:
        cat.drop_table(ident)  # the pointer only: the files are Floe's
    except NoSuchTableError:
        pass
    tbl = cat.register_table(ident, req["metadata_location"])
    return {"snapshot_id": tbl.current_snapshot().snapshot_id}


def _digest(t: pa.Table) -> dict[str, Any]:
    import pyarrow.compute as pc

    return {
        "rows": t.num_rows,
        "event_id_sum": pc.sum(t["event_id"]).as_py() or 0,
        "amount_nulls": t["amount"].null_count,
        "columns": t.num_columns,
    }


def scan(req: dict[str, Any]) -> dict[str, Any]:
    """A full scan with ``to_arrow``, or a selective one when the request names an
    ``event_ts`` range (``lo`` inclusive, ``hi`` exclusive, microseconds)."""
    cat = _catalog(req["db"], req["warehouse"])
    tbl = cat.load_table(f"bench.{req['name']}")
    if "lo" in req:
        row_filter = And(
            GreaterThanOrEqual("event_ts", int(req["lo"])), LessThan("event_ts", int(req["hi"]))
        )
        wall, cpu, result = _time(lambda: tbl.scan(row_filter=row_filter).to_arrow())
    else:
        wall, cpu, result = _time(lambda: tbl.scan().to_arrow())
    out: dict[str, Any] = {"times": [wall], "cpu_times": [cpu]}
    if req.get("digest"):
        out.update(_digest(result))
    else:
        out["rows"] = result.num_rows
    return out


def plan(req: dict[str, Any]) -> dict[str, Any]:
    location = req["metadata_location"]
    if location not in _STATIC:
        _STATIC[location] = StaticTable.from_metadata(location)
    tbl = _STATIC[location]
    row_filter = And(GreaterThanOrEqual("event_ts", int(req["lo"])), LessThan("event_ts", int(req["hi"])))
    clear_manifest_cache()
    wall, cpu, tasks = _time(lambda: list(tbl.scan(row_filter=row_filter).plan_files()))
    out: dict[str, Any] = {"times": [wall], "cpu_times": [cpu], "files": len(tasks)}
    if req.get("digest"):
        out["records"] = sum(t.file.record_count for t in tasks)
        out["path_bytes"] = sum(len(t.file.file_path.encode()) for t in tasks)
        out["snapshots"] = len(tbl.metadata.snapshots)
        out["manifests"] = len(tbl.current_snapshot().manifests(tbl.io))
    return out


def info() -> dict[str, Any]:
    import pyarrow
    import sqlalchemy

    return {
        "pyiceberg": pyiceberg.__version__,
        "pyarrow": pyarrow.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "python": sys.version.split()[0],
    }


def handle(req: dict[str, Any]) -> dict[str, Any]:
    op = req["op"]
    if op == "append":
        return append(req)
    if op == "register":
        return register(req)
    if op == "scan":
        return scan(req)
    if op == "plan":
        return plan(req)
    if op == "info":
        return info()
    raise ValueError(f"unknown op {op!r}")


def serve() -> None:
    _serve.serve(handle)


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: pyiceberg_table.py serve")
    serve()
