#!/usr/bin/env python3
"""Read a table metadata file (e.g. one written by Floe) with PyIceberg 0.12 and print
what PyIceberg sees as one JSON document on stdout.

Usage: pyiceberg_read.py METADATA_JSON_PATH [--scan] [--all-snapshots]

Only the metadata file, the manifest lists and the manifests are read, so data files need
not exist. With --scan, the table is also read in full (`tbl.scan().to_arrow()`) and the
row count and rows are reported. With --all-snapshots, manifests are reported for every
snapshot (key "snapshot_manifests"), not only for the current one.

Output keys: format_version, table_uuid, location, last_sequence_number, last_column_id,
last_partition_id, current_schema_id, schema (current, as PyIceberg dumps it), schemas,
default_spec_id, partition_specs, sort_orders, properties, refs, current_snapshot_id,
snapshots (id, parent, sequence number, timestamp, operation, summary, schema id,
manifest list), manifests (of the current snapshot: manifest-list fields, Avro key-value
metadata, entries with data files; byte values as hex strings; raw and inherited
sequence numbers), plan_files (PyIceberg's scan planning of the current snapshot),
metadata_model (the whole metadata as PyIceberg would serialize it), and rows/row_count
with --scan.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pyiceberg.table import StaticTable

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import dump, manifest_entries_json, manifest_file_json, metadata_json, plain  # noqa: E402


def manifests_json(tbl: Any, snap: Any) -> list[dict[str, Any]]:
    specs = tbl.metadata.specs()
    out = []
    for m in snap.manifests(tbl.io):
        mj = manifest_file_json(m)
        meta, entries = manifest_entries_json(tbl.io, m, specs)
        mj["avro_metadata"] = meta
        mj["entries"] = entries
        out.append(mj)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("metadata", help="path or URI of a table metadata JSON file")
    ap.add_argument("--scan", action="store_true", help="also read all rows")
    ap.add_argument("--all-snapshots", action="store_true", help="report manifests of every snapshot")
    args = ap.parse_args()

    tbl = StaticTable.from_metadata(args.metadata)
    md = tbl.metadata
    snap = md.current_snapshot()

    doc: dict[str, Any] = {
        "metadata_location": tbl.metadata_location,
        "format_version": md.format_version,
        "table_uuid": str(md.table_uuid),
        "location": md.location,
        "last_updated_ms": md.last_updated_ms,
        "last_sequence_number": md.last_sequence_number,
        "last_column_id": md.last_column_id,
        "last_partition_id": md.last_partition_id,
        "current_schema_id": md.current_schema_id,
        "schema": md.schema().model_dump(by_alias=True),
        "schemas": [s.model_dump(by_alias=True) for s in md.schemas],
        "default_spec_id": md.default_spec_id,
        "partition_specs": [s.model_dump(by_alias=True) for s in md.partition_specs],
        "default_sort_order_id": md.default_sort_order_id,
        "sort_orders": [s.model_dump(by_alias=True) for s in md.sort_orders],
        "properties": dict(md.properties),
        "refs": {k: v.model_dump(by_alias=True) for k, v in md.refs.items()},
        "current_snapshot_id": md.current_snapshot_id,
        "snapshots": [
            {
                "snapshot_id": s.snapshot_id,
                "parent_snapshot_id": s.parent_snapshot_id,
                "sequence_number": s.sequence_number,
                "timestamp_ms": s.timestamp_ms,
                "operation": s.summary.operation.value if s.summary else None,
                "summary": s.summary.model_dump(by_alias=True) if s.summary else None,
                "schema_id": s.schema_id,
                "manifest_list": s.manifest_list,
            }
            for s in md.snapshots
        ],
        "manifests": manifests_json(tbl, snap) if snap is not None else [],
    }
    if args.all_snapshots:
        doc["snapshot_manifests"] = {str(s.snapshot_id): manifests_json(tbl, s) for s in md.snapshots}

    plan = []
    if snap is not None:
        for task in tbl.scan().plan_files():
            plan.append(
                {
                    "file_path": task.file.file_path,
                    "record_count": task.file.record_count,
                    "delete_files": sorted(d.file_path for d in task.delete_files),
                }
            )
    doc["plan_files"] = sorted(plan, key=lambda t: t["file_path"])
    doc["metadata_model"] = metadata_json(md)

    if args.scan:
        table = tbl.scan().to_arrow()
        if "id" in table.column_names:
            table = table.sort_by("id")
        doc["row_count"] = table.num_rows
        doc["rows"] = plain(table.to_pylist())

    sys.stdout.write(dump(doc) + "\n")


if __name__ == "__main__":
    main()
