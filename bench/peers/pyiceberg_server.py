#!/usr/bin/env python3
"""PyIceberg peer for the `server` benchmark of floe-bench: loading a table, appending.

Two PyIceberg 0.12 clients load the same table (the same metadata JSON file):

* ``SqlCatalog`` on SQLite (its own database, the table registered there with
  ``register_table`` on Floe's current metadata file): every ``load_table`` reads the row,
  then reads and parses the metadata JSON file (PyIceberg has no metadata cache);
* ``RestCatalog`` pointed at ``floe serve``: every ``load_table`` is one HTTP GET of
  ``/v1/namespaces/{ns}/tables/{table}`` and PyIceberg parses the answer.

The same two clients also append the same Arrow table, each to a table of its own
catalog (``setup_append``, ``append``): a ``Table.append`` writes a Parquet file, a
manifest and a manifest list, then commits, through ``floe serve`` or through its
SqlCatalog.

Run as ``pyiceberg_server.py serve``: one JSON request a line on stdin, one JSON answer a
line on stdout (``{"op": "setup_sql" | "setup_rest" | "load" | "setup_append" | "append" |
"appended" | "info", ...}``, see ``handle``); each ``load`` and ``append`` times itself,
so interpreter start-up and the pipe are not counted.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import pyiceberg
from pyiceberg.catalog.rest import RestCatalog
from pyiceberg.catalog.sql import SqlCatalog

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _serve  # noqa: E402  (the shared line protocol beside this file)

CATALOGS: dict[str, Any] = {}
APPEND_TABLES: dict[str, Any] = {}
APPEND_DATA: dict[str, Any] = {}
APPEND_IDENTIFIER = "bench.appends"


def setup_sql(db: str, warehouse: str, identifier: str, metadata_location: str) -> dict[str, Any]:
    """A SqlCatalog on the SQLite file DB with IDENTIFIER registered at METADATA_LOCATION."""
    catalog = SqlCatalog("floe_bench", uri=f"sqlite:///{db}", warehouse=f"file://{warehouse}")
    namespace = identifier.rsplit(".", 1)[0]
    if (namespace,) not in catalog.list_namespaces():
        catalog.create_namespace(namespace)
    table = catalog.register_table(identifier, metadata_location)
    CATALOGS["sql"] = catalog
    return {"snapshots": len(table.metadata.snapshots)}


def setup_rest(uri: str, identifier: str) -> dict[str, Any]:
    """A RestCatalog on `floe serve` at URI."""
    catalog = RestCatalog("floe", uri=uri)
    table = catalog.load_table(identifier)
    CATALOGS["rest"] = catalog
    return {"snapshots": len(table.metadata.snapshots)}


def load(which: str, identifier: str, loads: int) -> dict[str, Any]:
    """LOADS calls of `load_table(IDENTIFIER)` on catalog WHICH (`sql` or `rest`)."""
    catalog = CATALOGS[which]
    latencies = []
    snapshots = 0
    cpu_start = time.thread_time()
    start = time.perf_counter()
    for _ in range(loads):
        t0 = time.perf_counter()
        table = catalog.load_table(identifier)
        latencies.append(time.perf_counter() - t0)
        snapshots = len(table.metadata.snapshots)
    total = time.perf_counter() - start
    cpu = time.thread_time() - cpu_start
    return {
        "times": [total / loads],
        "cpu_times": [cpu / loads],
        "latencies": latencies,
        "snapshots": snapshots,
    }


def setup_append(rows: int) -> dict[str, Any]:
    """A fresh ``bench.appends`` table in both catalogs, and the ROWS-row Arrow table to append."""
    import pyarrow as pa
    from pyiceberg.exceptions import NoSuchTableError

    data = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "data": pa.array([f"event-{i:08d}" for i in range(rows)], pa.string()),
            "ts": pa.array(
                [1_700_000_000_000_000 + i * 1_000 for i in range(rows)],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    APPEND_DATA["batch"] = data
    for which, catalog in CATALOGS.items():
        try:
            catalog.drop_table(APPEND_IDENTIFIER)
        except NoSuchTableError:
            pass
        APPEND_TABLES[which] = catalog.create_table(APPEND_IDENTIFIER, schema=data.schema)
    return {"catalogs": sorted(APPEND_TABLES)}


def append(which: str, appends: int) -> dict[str, Any]:
    """APPENDS calls of ``Table.append`` of the prepared Arrow table on catalog WHICH."""
    table = APPEND_TABLES[which]
    data = APPEND_DATA["batch"]
    latencies = []
    cpu_start = time.thread_time()
    start = time.perf_counter()
    for _ in range(appends):
        t0 = time.perf_counter()
        table.append(data)
        latencies.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    cpu = time.thread_time() - cpu_start
    return {"times": [total / appends], "cpu_times": [cpu / appends], "latencies": latencies}


def appended(which: str) -> dict[str, Any]:
    """What a fresh load of the append table on catalog WHICH holds: snapshots (and how
    many of each operation), and rows by the head's summary and by a full scan."""
    table = CATALOGS[which].load_table(APPEND_IDENTIFIER)
    head = table.current_snapshot()
    operations: dict[str, int] = {}
    for snapshot in table.metadata.snapshots:
        operation = snapshot.summary.operation.value if snapshot.summary else "?"
        operations[operation] = operations.get(operation, 0) + 1
    return {
        "snapshots": len(table.metadata.snapshots),
        "operations": operations,
        "total_records": int(head.summary["total-records"]) if head else 0,
        "scanned_rows": table.scan().to_arrow().num_rows,
    }


def info() -> dict[str, Any]:
    import sqlalchemy
    import sqlite3

    return {
        "pyiceberg": pyiceberg.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": sqlite3.sqlite_version,
        "python": sys.version.split()[0],
    }


def handle(req: dict[str, Any]) -> dict[str, Any]:
    op = req["op"]
    if op == "setup_sql":
        return setup_sql(req["db"], req["warehouse"], req["table"], req["metadata_location"])
    if op == "setup_rest":
        return setup_rest(req["uri"], req["table"])
    if op == "load":
        return load(req["catalog"], req["table"], int(req.get("loads", 1)))
    if op == "setup_append":
        return setup_append(int(req["rows"]))
    if op == "append":
        return append(req["catalog"], int(req.get("appends", 1)))
    if op == "appended":
        return appended(req["catalog"])
    if op == "info":
        return info()
    raise ValueError(f"unknown op {op!r}")


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: pyiceberg_server.py serve")
    _serve.serve(handle)
