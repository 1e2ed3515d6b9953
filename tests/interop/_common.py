"""Helpers shared by the PyIceberg interop scripts (pyiceberg_write.py, pyiceberg_read.py).

Everything here turns PyIceberg objects into plain JSON values so the Rust tests can
compare them with what Floe reads or writes.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import math
import uuid
from typing import Any

from pyiceberg.avro.file import AvroFile
from pyiceberg.io import FileIO
from pyiceberg.manifest import (
    MANIFEST_ENTRY_SCHEMAS,
    DataFile,
    DataFileContent,
    FileFormat,
    ManifestEntry,
    ManifestEntryStatus,
    ManifestFile,
)
from pyiceberg.partitioning import PartitionSpec
from pyiceberg.table.metadata import TableMetadata
from pyiceberg.typedef import Record


def hexs(b: bytes | None) -> str | None:
    """Bytes as a lowercase hex string (None stays None)."""
    return None if b is None else bytes(b).hex()


def plain(value: Any) -> Any:
    """Convert a Python value read by PyIceberg into a JSON-able value.

    bytes -> hex string, Decimal -> string, date/time/datetime -> ISO string, UUID -> string,
    enums -> their value, Records -> lists, dicts with non-string keys -> string keys,
    NaN and infinities -> "NaN", "Infinity", "-Infinity" (JSON has no such numbers).
    """
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Record):
        return [plain(v) for v in value._data]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    raise TypeError(f"cannot convert {type(value).__name__} to JSON: {value!r}")


def id_map(d: dict[int, Any] | None, conv: Any = plain) -> dict[str, Any] | None:
    """A map keyed by field id as a JSON object with string keys sorted by id."""
    if d is None:
        return None
    return {str(k): conv(d[k]) for k in sorted(d)}


def partition_dict(spec: PartitionSpec, record: Record) -> dict[str, Any]:
    """A partition tuple as {partition field name: value}."""
    fields = spec.fields
    if len(fields) != len(record):
        raise ValueError(f"partition record {record!r} does not match spec {spec}")
    return {f.name: plain(record[i]) for i, f in enumerate(fields)}


def metadata_json(metadata: TableMetadata) -> dict[str, Any]:
    """Table metadata exactly as PyIceberg serializes it into a metadata file."""
    return json.loads(metadata.model_dump_json())


def manifest_file_json(m: ManifestFile) -> dict[str, Any]:
    """One manifest-list entry."""
    partitions = None
    if m.partitions is not None:
        partitions = [
            {
                "contains_null": p.contains_null,
                "contains_nan": p.contains_nan,
                "lower_bound": hexs(p.lower_bound),
                "upper_bound": hexs(p.upper_bound),
            }
            for p in m.partitions
        ]
    return {
        "manifest_path": m.manifest_path,
        "manifest_length": m.manifest_length,
        "partition_spec_id": m.partition_spec_id,
        "content": plain(m.content),
        "sequence_number": m.sequence_number,
        "min_sequence_number": m.min_sequence_number,
        "added_snapshot_id": m.added_snapshot_id,
        "added_files_count": m.added_files_count,
        "existing_files_count": m.existing_files_count,
        "deleted_files_count": m.deleted_files_count,
        "added_rows_count": m.added_rows_count,
        "existing_rows_count": m.existing_rows_count,
        "deleted_rows_count": m.deleted_rows_count,
        "partitions": partitions,
        "key_metadata": hexs(m.key_metadata),
    }


def read_raw_entries(io: FileIO, manifest_path: str) -> tuple[dict[str, str], list[ManifestEntry]]:
    """All entries of a manifest as written (no sequence-number or snapshot-id inheritance,
    DELETED entries kept), plus the Avro key-value metadata of the file."""
    with AvroFile[ManifestEntry](
        io.new_input(manifest_path),
        MANIFEST_ENTRY_SCHEMAS[2],
        read_types={-1: ManifestEntry, 2: DataFile},
        read_enums={0: ManifestEntryStatus, 101: FileFormat, 134: DataFileContent},
    ) as reader:
        meta = {k: v for k, v in reader.header.meta.items() if not k.startswith("avro.")}
        return meta, list(reader)


def data_file_json(df: DataFile, spec: PartitionSpec) -> dict[str, Any]:
    return {
        "content": plain(df.content),
        "file_path": df.file_path,
        "file_format": df.file_format.name if isinstance(df.file_format, FileFormat) else df.file_format,
        "partition": partition_dict(spec, df.partition),
        "record_count": df.record_count,
        "file_size_in_bytes": df.file_size_in_bytes,
        "column_sizes": id_map(df.column_sizes),
        "value_counts": id_map(df.value_counts),
        "null_value_counts": id_map(df.null_value_counts),
        "nan_value_counts": id_map(df.nan_value_counts),
        "lower_bounds": id_map(df.lower_bounds, hexs),
        "upper_bounds": id_map(df.upper_bounds, hexs),
        "key_metadata": hexs(df.key_metadata),
        "split_offsets": df.split_offsets,
        "equality_ids": df.equality_ids,
        "sort_order_id": df.sort_order_id,
    }


def manifest_entries_json(
    io: FileIO, manifest: ManifestFile, specs: dict[int, PartitionSpec]
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Entries of one manifest, with both the raw values and the values after inheritance.

    `snapshot_id`, `sequence_number`, `file_sequence_number` are as written in the file
    (None = inherited from the manifest list); `effective_*` are what PyIceberg's own
    `ManifestFile.fetch_manifest_entry` returns after inheritance.
    """
    meta, raw = read_raw_entries(io, manifest.manifest_path)
    inherited = manifest.fetch_manifest_entry(io, discard_deleted=False)
    if len(raw) != len(inherited):
        raise AssertionError("raw and inherited manifest entries disagree")
    spec = specs[manifest.partition_spec_id]
    out = []
    for r, e in zip(raw, inherited):
        out.append(
            {
                "status": plain(r.status),
                "snapshot_id": r.snapshot_id,
                "sequence_number": r.sequence_number,
                "file_sequence_number": r.file_sequence_number,
                "effective_snapshot_id": e.snapshot_id,
                "effective_sequence_number": e.sequence_number,
                "effective_file_sequence_number": e.file_sequence_number,
                "data_file": data_file_json(r.data_file, spec),
            }
        )
    return meta, out


def dump(obj: Any) -> str:
    """JSON text; fails on NaN or infinities, which JSON cannot hold (see `plain`)."""
    return json.dumps(obj, indent=2, sort_keys=False, allow_nan=False)
