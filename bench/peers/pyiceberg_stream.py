#!/usr/bin/env python3
"""PyIceberg peer for the `stream` benchmark of floe-bench: many writers appending
1,000-row batches to one table, each batch its own commit.

PyIceberg 0.12 has no stream writer and no group commit: a micro-batch writer appends
each batch with ``table.append(df)`` (a fast append: one data file, one manifest, one
manifest list, one commit). Every writer is its own process (as separate PyIceberg jobs
would be) with its own ``SqlCatalog`` on one SQLite file and a local warehouse. A commit
that loses the race is retried by PyIceberg itself (table properties
``commit.retry.*``, the same values as on the Floe side); a batch whose retries all fail
is counted as failed and the writer goes on with the next one.

Modes (one-shot, one JSON line on stdout):

* ``setup --db PATH --warehouse DIR --table NAME --properties JSON``: creates the table;
* ``writer --db PATH --warehouse DIR --table NAME --writer W --seconds S``: loads the
  table, builds a first batch, prints ``{"ready": true}`` and waits for a line on stdin
  (the harness starts every writer at once, so interpreter start-up is not timed), then
  appends batches for S seconds; prints ``{"acked", "failed", "latencies", "first",
  "last"}`` (``latencies`` in seconds, one per acknowledged batch, including retries;
  ``first``/``last`` = wall clock when the first batch began and the last one ended);
* ``digest --db PATH --warehouse DIR --table NAME``: what a fresh load says
  (``total-records``, snapshots, manifests of the current snapshot);
* ``info``: versions.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import Any

import pyarrow as pa
import pyiceberg
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException
from pyiceberg.schema import Schema
from pyiceberg.types import IntegerType, LongType, NestedField, StringType

NAMESPACE = "bench"
ROWS = 1000

# PyIceberg logs every retried commit as a warning; the harness counts outcomes itself.
logging.getLogger("pyiceberg").setLevel(logging.ERROR)

# The same four columns as the Floe side's table (floe-bench stream_bench::schema).
SCHEMA = Schema(
    NestedField(1, "writer", IntegerType(), required=True),
    NestedField(2, "seq", LongType(), required=True),
    NestedField(3, "id", LongType(), required=True),
    NestedField(4, "payload", StringType(), required=False),
)
ARROW = pa.schema(
    [
        pa.field("writer", pa.int32(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("id", pa.int64(), nullable=False),
        pa.field("payload", pa.string()),
    ]
)


def catalog(db: str, warehouse: str) -> SqlCatalog:
    return SqlCatalog("floe_bench", uri=f"sqlite:///{db}", warehouse=f"file://{warehouse}")


def setup(db: str, warehouse: str, table: str, properties: dict[str, str]) -> dict[str, Any]:
    os.makedirs(warehouse, exist_ok=True)
    cat = catalog(db, warehouse)
    if (NAMESPACE,) not in cat.list_namespaces():
        cat.create_namespace(NAMESPACE)
    t = cat.create_table(f"{NAMESPACE}.{table}", schema=SCHEMA, properties=properties)
    return {"metadata_location": t.metadata_location}


def batch(writer: int, seq: int) -> pa.Table:
    base = seq * ROWS
    return pa.table(
        {
            "writer": pa.array([writer] * ROWS, pa.int32()),
            "seq": pa.array([seq] * ROWS, pa.int64()),
            "id": pa.array(range(base, base + ROWS), pa.int64()),
            "payload": pa.array([f"w{writer}-s{seq}-{i}" for i in range(ROWS)], pa.string()),
        },
        schema=ARROW,
    )


def writer(db: str, warehouse: str, table: str, w: int, seconds: float) -> dict[str, Any]:
    cat = catalog(db, warehouse)
    tbl = cat.load_table(f"{NAMESPACE}.{table}")
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
        seq += 1
        t0 = time.perf_counter()
        try:
            tbl.append(df)
        except CommitFailedException:
            failed += 1
            tbl = cat.load_table(f"{NAMESPACE}.{table}")
            last = time.time()
            continue
        except Exception as e:  # e.g. SQLite "database is locked"
            failed += 1
            sys.stderr.write(f"writer {w}: {type(e).__name__}: {e}\n")
            tbl = cat.load_table(f"{NAMESPACE}.{table}")
            last = time.time()
            continue
        latencies.append(time.perf_counter() - t0)
        acked += 1
        last = time.time()
    return {"acked": acked, "failed": failed, "latencies": latencies, "first": first, "last": last}


def digest(db: str, warehouse: str, table: str) -> dict[str, Any]:
    cat = catalog(db, warehouse)
    t = cat.load_table(f"{NAMESPACE}.{table}")
    snap = t.current_snapshot()
    summary = snap.summary.additional_properties if snap else {}
    manifests = len(snap.manifests(t.io)) if snap else 0
    return {
        "total_records": int(summary.get("total-records", "0")),
        "snapshots": len(t.metadata.snapshots),
        "manifests": manifests,
    }


def info() -> dict[str, Any]:
    import sqlalchemy
    import sqlite3

    return {
        "pyiceberg": pyiceberg.__version__,
        "pyarrow": pa.__version__,
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": sqlite3.sqlite_version,
        "python": sys.version.split()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("info")
    for name in ("setup", "writer", "digest"):
        p = sub.add_parser(name)
        p.add_argument("--db", required=True)
        p.add_argument("--warehouse", required=True)
        p.add_argument("--table", required=True)
        if name == "setup":
            p.add_argument("--properties", default="{}")
        if name == "writer":
            p.add_argument("--writer", type=int, required=True)
            p.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    if args.cmd == "info":
        out = info()
    elif args.cmd == "setup":
        out = setup(args.db, args.warehouse, args.table, json.loads(args.properties))
    elif args.cmd == "writer":
        out = writer(args.db, args.warehouse, args.table, args.writer, args.seconds)
    else:
        out = digest(args.db, args.warehouse, args.table)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
