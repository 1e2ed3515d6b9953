#!/usr/bin/env python3
"""Write an Iceberg table with PyIceberg 0.12 and describe it for the Rust tests.

Usage: pyiceberg_write.py OUT_DIR

Creates a SqlCatalog on SQLite (OUT_DIR/catalog.db, warehouse OUT_DIR/warehouse), namespace
`interop`, table `interop.events` (many column types, partitioned by identity(category),
day(ts), bucket[4](id)), then:

  1-3. three appends (ids 0..29, 30..59, 60..89)
  4.   a row delete `id < 5` (copy-on-write: PyIceberg drops data files that match
       entirely and rewrites the ones that match partly)
  5.   schema evolution: add column `note` (string), rename `qty` -> `quantity`
  6.   one more append (ids 90..99) that fills `note`

and writes OUT_DIR/expected.json: everything PyIceberg itself reads back (metadata JSON,
snapshots, manifest lists, manifests with raw and inherited sequence numbers, final rows),
so the Rust side can compare against ground truth. Prints one JSON object to stdout:
{"out_dir": ..., "expected": <path of expected.json>, "metadata_location": ...}.

expected.json layout (byte values are lowercase hex strings, decimals strings, dates and
times ISO strings; maps keyed by field id have string keys):
  metadata_location, format_version, table_uuid, location, last_sequence_number,
  last_column_id, last_partition_id, current_schema_id, default_spec_id,
  current_snapshot_id, schemas, partition_specs, metadata_log,
  steps: [{step, metadata_location, snapshot_id, schema_id}] after each operation,
  snapshots: [{snapshot_id, parent_snapshot_id, sequence_number, timestamp_ms, operation,
               summary, schema_id, manifest_list,
               manifests: [manifest-list entry: manifest_path, manifest_length,
                           partition_spec_id, content, sequence_number, min_sequence_number,
                           added_snapshot_id, added/existing/deleted files and rows counts,
                           partitions (field summaries), key_metadata]}],
  manifests: {manifest_path: {content, partition_spec_id, added_snapshot_id,
              avro_metadata (key-value metadata of the Avro file),
              entries: [{status, snapshot_id, sequence_number, file_sequence_number
                         (as written; null = inherited), effective_* (after inheritance),
                         data_file: {content, file_path, file_format, partition {name: value},
                                     record_count, file_size_in_bytes, column_sizes,
                                     value_counts, null_value_counts, nan_value_counts,
                                     lower_bounds, upper_bounds, key_metadata,
                                     split_offsets, equality_ids, sort_order_id}}]}},
  (Entries are in file order. PyIceberg's delete/overwrite writes the EXISTING entries of a
  rewritten manifest in an order that varies between runs: match entries by file_path.)
  final_row_count, final_ids, final_rows (scan of the final snapshot, sorted by id),
  metadata (the final metadata file as written), metadata_model (PyIceberg's model of it).
"""

from __future__ import annotations

import datetime
import decimal
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyiceberg
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.manifest import _manifests
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import BucketTransform, DayTransform, IdentityTransform
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    IntegerType,
    ListType,
    LongType,
    MapType,
    NestedField,
    StringType,
    StructType,
    TimestampType,
    TimestamptzType,
    TimeType,
    UUIDType,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import dump, manifest_entries_json, manifest_file_json, metadata_json, plain  # noqa: E402

NAMESPACE = "interop"
TABLE = "events"

SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=True),
    NestedField(2, "category", StringType(), required=False),
    NestedField(3, "qty", IntegerType(), required=False),
    NestedField(4, "price", DoubleType(), required=False),
    NestedField(5, "ratio", FloatType(), required=False),
    NestedField(6, "active", BooleanType(), required=False),
    NestedField(7, "event_date", DateType(), required=False),
    NestedField(8, "ts", TimestampType(), required=False),
    NestedField(9, "ts_tz", TimestamptzType(), required=False),
    NestedField(10, "amount", DecimalType(10, 2), required=False),
    NestedField(11, "payload", BinaryType(), required=False),
    NestedField(12, "uid", UUIDType(), required=False),
    NestedField(13, "fixed4", FixedType(4), required=False),
    NestedField(14, "tod", TimeType(), required=False),
    NestedField(
        15,
        "location",
        StructType(
            NestedField(16, "lat", DoubleType(), required=False),
            NestedField(17, "lon", DoubleType(), required=False),
        ),
        required=False,
    ),
    NestedField(18, "tags", ListType(19, StringType(), element_required=False), required=False),
    NestedField(20, "attrs", MapType(21, StringType(), 22, LongType(), value_required=False), required=False),
)

SPEC = PartitionSpec(
    PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="category"),
    PartitionField(source_id=8, field_id=1001, transform=DayTransform(), name="ts_day"),
    PartitionField(source_id=1, field_id=1002, transform=BucketTransform(4), name="id_bucket"),
)

CATEGORIES = ["a", "b", "c"]
BASE_TS = datetime.datetime(2024, 3, 1, 10, 0, 0)


def row(i: int, with_note: bool = False) -> dict[str, Any]:
    """Deterministic row number i; some optional columns are null on a pattern."""
    ts = BASE_TS + datetime.timedelta(minutes=37 * i, microseconds=i)
    r: dict[str, Any] = {
        "id": i,
        "category": None if i % 11 == 7 else CATEGORIES[i % 3],
        "qty": None if i % 5 == 4 else i * 10,
        "price": i * 1.5,
        "ratio": (float("nan") if i % 13 == 12 else i / 4),
        "active": i % 2 == 0,
        "event_date": datetime.date(2024, 3, 1) + datetime.timedelta(days=i),
        "ts": ts,
        "ts_tz": (ts + datetime.timedelta(minutes=i)).replace(tzinfo=datetime.timezone.utc),
        "amount": decimal.Decimal(i * 123).scaleb(-2) if i % 6 != 5 else None,
        "payload": bytes([i % 256, (i * 7) % 256, 0xFF]),
        "uid": uuid.UUID(int=(0x0123456789ABCDEF << 64) | i).bytes,
        "fixed4": i.to_bytes(4, "big"),
        "tod": datetime.time(i % 24, (i * 7) % 60, 0, i),
        "location": None if i % 9 == 8 else {"lat": 50.0 + i / 100, "lon": -3.0 - i / 100},
        "tags": [f"t{i}", f"t{i % 3}"] if i % 4 != 3 else ([] if i % 8 == 3 else None),
        "attrs": {"n": i, "sq": i * i} if i % 7 != 6 else None,
    }
    if with_note:
        r["note"] = f"note {i}"
        r["quantity"] = r.pop("qty")
    return r


def batch(tbl: Any, ids: range, with_note: bool = False) -> pa.Table:
    arrow_schema = tbl.schema().as_arrow()
    rows = [row(i, with_note) for i in ids]
    return pa.Table.from_pylist(rows, schema=arrow_schema)


def snapshot_json(tbl: Any, snap: Any, manifests: dict[str, Any]) -> dict[str, Any]:
    """One snapshot and its manifest list; the manifests' entries go into `manifests`
    (keyed by manifest path, each manifest once however many lists name it)."""
    specs = tbl.metadata.specs()
    manifest_list = []
    for m in _manifests(tbl.io, snap.manifest_list):
        manifest_list.append(manifest_file_json(m))
        if m.manifest_path not in manifests:
            meta, entries = manifest_entries_json(tbl.io, m, specs)
            manifests[m.manifest_path] = {
                "content": plain(m.content),
                "partition_spec_id": m.partition_spec_id,
                "added_snapshot_id": m.added_snapshot_id,
                "avro_metadata": meta,
                "entries": entries,
            }
    return {
        "snapshot_id": snap.snapshot_id,
        "parent_snapshot_id": snap.parent_snapshot_id,
        "sequence_number": snap.sequence_number,
        "timestamp_ms": snap.timestamp_ms,
        "operation": snap.summary.operation.value if snap.summary else None,
        "summary": snap.summary.model_dump(by_alias=True) if snap.summary else None,
        "schema_id": snap.schema_id,
        "manifest_list": snap.manifest_list,
        "manifests": manifest_list,
    }


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: pyiceberg_write.py OUT_DIR")
    out = Path(sys.argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    warehouse = out / "warehouse"
    warehouse.mkdir(exist_ok=True)
    catalog_db = out / "catalog.db"
    if catalog_db.exists():
        sys.exit(f"{catalog_db} already exists: give an empty OUT_DIR")

    catalog = SqlCatalog(
        "interop",
        uri=f"sqlite:///{catalog_db}",
        warehouse=f"file://{warehouse}",
    )
    catalog.create_namespace(NAMESPACE)
    tbl = catalog.create_table(f"{NAMESPACE}.{TABLE}", schema=SCHEMA, partition_spec=SPEC)

    steps = []

    def step(name: str) -> None:
        tbl.refresh()
        steps.append(
            {
                "step": name,
                "metadata_location": tbl.metadata_location,
                "snapshot_id": tbl.metadata.current_snapshot_id,
                "schema_id": tbl.metadata.current_schema_id,
            }
        )

    step("create")
    tbl.append(batch(tbl, range(0, 30)))
    step("append 0..29")
    tbl.append(batch(tbl, range(30, 60)))
    step("append 30..59")
    tbl.append(batch(tbl, range(60, 90)))
    step("append 60..89")
    before = tbl.metadata.current_snapshot_id
    tbl.delete("id < 5")
    step("delete id < 5")
    if tbl.metadata.current_snapshot_id == before:
        raise AssertionError("delete produced no snapshot")
    with tbl.update_schema() as upd:
        upd.add_column("note", StringType(), doc="added by schema evolution")
        upd.rename_column("qty", "quantity")
    step("evolve schema: add note, rename qty -> quantity")
    tbl.append(batch(tbl, range(90, 100), with_note=True))
    step("append 90..99 with note")

    tbl = catalog.load_table(f"{NAMESPACE}.{TABLE}")
    md = tbl.metadata
    final = tbl.scan().to_arrow().sort_by("id")
    manifests: dict[str, Any] = {}
    with tbl.io.new_input(tbl.metadata_location).open() as f:
        metadata_file = json.load(f)
    expected = {
        "pyiceberg_version": pyiceberg.__version__,
        "pyarrow_version": pa.__version__,
        "catalog_uri": f"sqlite:///{catalog_db}",
        "warehouse": f"file://{warehouse}",
        "identifier": [NAMESPACE, TABLE],
        "metadata_location": tbl.metadata_location,
        "format_version": md.format_version,
        "table_uuid": str(md.table_uuid),
        "location": md.location,
        "last_sequence_number": md.last_sequence_number,
        "last_column_id": md.last_column_id,
        "last_partition_id": md.last_partition_id,
        "current_schema_id": md.current_schema_id,
        "default_spec_id": md.default_spec_id,
        "current_snapshot_id": md.current_snapshot_id,
        "schemas": [s.model_dump(by_alias=True) for s in md.schemas],
        "partition_specs": [s.model_dump(by_alias=True) for s in md.partition_specs],
        "metadata_log": [e.model_dump(by_alias=True) for e in md.metadata_log],
        "steps": steps,
        "snapshots": [snapshot_json(tbl, s, manifests) for s in md.snapshots],
        "manifests": manifests,
        "final_row_count": final.num_rows,
        "final_ids": final.column("id").to_pylist(),
        "final_rows": plain(final.to_pylist()),
        # the metadata file exactly as written, and as PyIceberg's model serializes it
        "metadata": metadata_file,
        "metadata_model": metadata_json(md),
    }
    path = out / "expected.json"
    tmp = out / "expected.json.tmp"
    tmp.write_text(dump(expected) + "\n")
    os.replace(tmp, path)
    print(json.dumps({"out_dir": str(out), "expected": str(path), "metadata_location": tbl.metadata_location}))


if __name__ == "__main__":
    main()
