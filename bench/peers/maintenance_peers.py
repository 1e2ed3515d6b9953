#!/usr/bin/env python3
"""Peers for the `maintenance` benchmark of floe-bench: planning and full scans of the
many-small-file table before and after compaction, and metadata-only snapshot expiry.

* planning: PyIceberg 0.12 ``StaticTable.from_metadata(path).scan().plan_files()`` on the
  metadata file Floe wrote, manifest cache cleared before each run
  (``pyiceberg.manifest.clear_manifest_cache``);
* full scan: DuckDB ``con.read_parquet([...]).to_arrow_table()`` of the table's live data files (the list
  Floe planned, passed as a JSON file), fetched as one Arrow table: what a user reading
  the same Parquet files without a table format would do.

Times: wall (``perf_counter``) and this process's on-CPU time over all threads
(``process_time``; DuckDB and pyarrow use their own threads).

Run as ``maintenance_peers.py serve``: one JSON request a line on stdin, one JSON answer
a line on stdout (``{"op": "info" | "plan" | "scan_duckdb" | "expire", ...}``, see
``handle``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _serve  # noqa: E402  (the shared line protocol beside this file)


def _time(fn: Any) -> tuple[float, float, Any]:
    c0 = time.process_time()
    t0 = time.perf_counter()
    out = fn()
    t = time.perf_counter() - t0
    c = time.process_time() - c0
    return t, c, out


def plan(req: dict[str, Any]) -> dict[str, Any]:
    from pyiceberg.manifest import clear_manifest_cache
    from pyiceberg.table import StaticTable

    clear_manifest_cache()
    tbl = StaticTable.from_metadata(req["metadata"])

    def run() -> int:
        return len(list(tbl.scan().plan_files()))

    t, c, tasks = _time(run)
    return {"times": [t], "cpu_times": [c], "tasks": tasks}


def scan_duckdb(req: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    with open(req["files"]) as f:
        files = json.load(f)
    con = duckdb.connect()

    def run() -> Any:
        return con.read_parquet(files).to_arrow_table()

    t, c, table = _time(run)
    rows = table.num_rows
    del table
    con.close()
    return {"times": [t], "cpu_times": [c], "rows": rows}


def expire(req: dict[str, Any]) -> dict[str, Any]:
    """Metadata-only snapshot expiry with PyIceberg 0.12: registers the metadata file
    ``metadata`` as ``bench.<name>`` in a SqlCatalog on ``db`` (untimed), then times
    ``tbl.maintenance.expire_snapshots().older_than(now).commit()`` (PyIceberg's expiry
    edits metadata only; it deletes no files) and reloads the table."""
    from datetime import datetime, timezone

    from pyiceberg.catalog.sql import SqlCatalog

    catalog = SqlCatalog("bench", uri=f"sqlite:///{req['db']}", warehouse=f"file://{req['warehouse']}")
    if ("bench",) not in catalog.list_namespaces():
        catalog.create_namespace("bench")
    tbl = catalog.register_table(f"bench.{req['name']}", req["metadata"])
    before = len(tbl.metadata.snapshots)
    older_than = datetime.fromtimestamp(int(req["older_than_ms"]) / 1000, tz=timezone.utc)

    def run() -> None:
        tbl.maintenance.expire_snapshots().older_than(older_than).commit()

    t, c, _ = _time(run)
    after = catalog.load_table(f"bench.{req['name']}")
    return {
        "times": [t],
        "cpu_times": [c],
        "before": before,
        "snapshots": len(after.metadata.snapshots),
        "head": after.metadata.current_snapshot_id,
    }


def info() -> dict[str, Any]:
    import duckdb
    import pyiceberg

    return {
        "python": sys.version.split()[0],
        "pyiceberg": pyiceberg.__version__,
        "duckdb": duckdb.__version__,
    }


def handle(req: dict[str, Any]) -> dict[str, Any]:
    op = req.get("op")
    if op == "plan":
        return plan(req)
    if op == "scan_duckdb":
        return scan_duckdb(req)
    if op == "expire":
        return expire(req)
    if op == "info":
        return info()
    raise ValueError(f"unknown op {op!r}")


def main() -> None:
    if sys.argv[1:] != ["serve"]:
        sys.exit("usage: maintenance_peers.py serve")
    _serve.serve(handle)


if __name__ == "__main__":
    main()
