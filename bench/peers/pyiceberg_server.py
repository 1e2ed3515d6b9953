#!/usr/bin/env python3
"""PyIceberg peer for the `server` benchmark of floe-bench: loading a table.

Two PyIceberg 0.12 clients load the same table (the same metadata JSON file):

* ``SqlCatalog`` on SQLite (its own database, the table registered there with
  ``register_table`` on Floe's current metadata file): every ``load_table`` reads the row,
  then reads and parses the metadata JSON file (PyIceberg has no metadata cache);
* ``RestCatalog`` pointed at ``floe serve``: every ``load_table`` is one HTTP GET of
  ``/v1/namespaces/{ns}/tables/{table}`` and PyIceberg parses the answer.

Run as ``pyiceberg_server.py serve``: one JSON request a line on stdin, one JSON answer a
line on stdout (``{"op": "setup_sql" | "setup_rest" | "load" | "info", ...}``, see
``handle``); each ``load`` times itself, so interpreter start-up and the pipe are not
counted.
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
    if op == "info":
        return info()
    raise ValueError(f"unknown op {op!r}")


if __name__ == "__main__":
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: pyiceberg_server.py serve")
    _serve.serve(handle)
