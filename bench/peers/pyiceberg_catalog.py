#!/usr/bin/env python3
"""PyIceberg peer for the `catalog` benchmark of floe-bench: metadata-only commits.

PyIceberg 0.12's own ``SqlCatalog`` on SQLite (SQLAlchemy) with a local warehouse, and its
public commit path, the one a PyIceberg user takes to change table properties::

    with table.transaction() as tx:
        tx.set_properties({key: value})

``Transaction.commit_transaction`` sends the updates with the ``assert-table-uuid``
requirement to ``SqlCatalog.commit_table``, which loads the current table (row and
metadata file), checks the requirements, applies the updates, writes the new metadata
JSON into the warehouse and swaps the row's metadata location with a compare-and-swap
``UPDATE``. The same ``table`` object is reused: the transaction refreshes it with the
committed metadata, so consecutive commits need no reload, as on the Floe side.

Two ways to run it:

* one-shot: ``pyiceberg_catalog.py commit --db PATH --warehouse DIR --commits N`` creates
  the table and prints ``{"times": [mean seconds per commit], "latencies": [...]}``;
* ``pyiceberg_catalog.py serve``: one JSON request a line on stdin, one JSON answer a line
  on stdout (``{"op": "setup" | "commit_props" | "digest" | "info", ...}``, see
  ``handle``), so floe-bench alternates Floe and PyIceberg round by round in one warm
  process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import pyiceberg
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, StringType, TimestamptzType

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _serve  # noqa: E402  (the shared line protocol beside this file)

NAMESPACE = "bench"

# The same three columns as the Floe side's table (floe-bench catalog_bench::schema).
SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=True),
    NestedField(2, "data", StringType(), required=False),
    NestedField(3, "ts", TimestamptzType(), required=False),
)


class State:
    catalog: SqlCatalog | None = None
    table: Any = None
    counter: int = 0


STATE = State()


def setup(db: str, warehouse: str, name: str) -> dict[str, Any]:
    """A SqlCatalog on the SQLite file DB, namespace `bench`, and a new table NAME."""
    os.makedirs(warehouse, exist_ok=True)
    catalog = SqlCatalog("floe_bench", uri=f"sqlite:///{db}", warehouse=f"file://{warehouse}")
    if (NAMESPACE,) not in catalog.list_namespaces():
        catalog.create_namespace(NAMESPACE)
    STATE.catalog = catalog
    STATE.table = catalog.create_table(f"{NAMESPACE}.{name}", schema=SCHEMA)
    STATE.counter = 0
    return {"metadata_location": STATE.table.metadata_location}


def commit_props(commits: int) -> dict[str, Any]:
    """COMMITS metadata-only commits, each setting `bench.key` to a new value.

    Returns the mean time per commit (``times[0]``, seconds) and every commit's latency.
    """
    table = STATE.table
    if table is None:
        raise RuntimeError("setup first")
    latencies = []
    cpu_start = time.thread_time()
    start = time.perf_counter()
    for _ in range(commits):
        STATE.counter += 1
        t0 = time.perf_counter()
        with table.transaction() as tx:
            tx.set_properties({"bench.key": f"value-{STATE.counter}"})
        latencies.append(time.perf_counter() - t0)
    total = time.perf_counter() - start
    cpu = time.thread_time() - cpu_start
    return {
        "times": [total / commits],
        "cpu_times": [cpu / commits],
        "latencies": latencies,
        "metadata_location": table.metadata_location,
    }


def digest() -> dict[str, Any]:
    """What a fresh load of the table says (the cross-check after the timed rounds)."""
    assert STATE.catalog is not None and STATE.table is not None
    fresh = STATE.catalog.load_table(STATE.table.name())
    return {
        "commits": STATE.counter,
        "property": fresh.properties.get("bench.key"),
        "metadata_log": len(fresh.metadata.metadata_log),
        "snapshots": len(fresh.metadata.snapshots),
        "metadata_location": fresh.metadata_location,
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
    if op == "setup":
        return setup(req["db"], req["warehouse"], req.get("table", "t"))
    if op == "commit_props":
        return commit_props(int(req.get("commits", 1)))
    if op == "digest":
        return digest()
    if op == "info":
        return info()
    raise ValueError(f"unknown op {op!r}")


def serve() -> None:
    _serve.serve(handle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("serve")
    sub.add_parser("info")
    p = sub.add_parser("commit")
    p.add_argument("--db", required=True)
    p.add_argument("--warehouse", required=True)
    p.add_argument("--commits", type=int, default=100)
    args = parser.parse_args()
    if args.cmd == "serve":
        serve()
        return
    if args.cmd == "info":
        out = info()
    else:
        setup(args.db, args.warehouse, "t")
        out = commit_props(args.commits)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
