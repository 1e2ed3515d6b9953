import json, os, shutil, datetime, decimal, uuid
import pyarrow as pa
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.schema import Schema
from pyiceberg.types import *
from pyiceberg.partitioning import PartitionSpec, PartitionField
from pyiceberg.transforms import IdentityTransform, DayTransform, BucketTransform, TruncateTransform
from pyiceberg.expressions import EqualTo
from pyiceberg.manifest import ManifestEntryStatus

wh = "/tmp/pyice/wh"
shutil.rmtree(wh, ignore_errors=True); os.makedirs(wh)
cat = SqlCatalog("c", uri=f"sqlite:///{wh}/cat.db", warehouse=f"file://{wh}")
cat.create_namespace("ns")
schema = Schema(
    NestedField(1, "id", LongType(), required=False),
    NestedField(2, "name", StringType(), required=False),
    NestedField(3, "ts", TimestamptzType(), required=False),
    NestedField(4, "price", DecimalType(10, 2), required=False),
    NestedField(5, "x", DoubleType(), required=False),
)
spec = PartitionSpec(
    PartitionField(2, 1000, IdentityTransform(), "name"),
    PartitionField(3, 1001, DayTransform(), "ts_day"),
    PartitionField(1, 1002, BucketTransform(4), "id_bucket"),
    PartitionField(4, 1003, IdentityTransform(), "price"),
)
t = cat.create_table("ns.t", schema=schema, partition_spec=spec)
def batch(rows):
    return pa.Table.from_pylist(rows, schema=t.schema().as_arrow())
utc = datetime.timezone.utc
t.append(batch([
    {"id": 1, "name": "a", "ts": datetime.datetime(2024,1,1,1,tzinfo=utc), "price": decimal.Decimal("1.50"), "x": 0.5},
    {"id": 2, "name": "b", "ts": datetime.datetime(2024,1,2,1,tzinfo=utc), "price": decimal.Decimal("-2.25"), "x": float("nan")},
    {"id": 3, "name": None, "ts": None, "price": None, "x": None},
]))
t.append(batch([
    {"id": 10, "name": "a", "ts": datetime.datetime(2024,1,1,5,tzinfo=utc), "price": decimal.Decimal("1.50"), "x": 3.0},
]))
t.delete(EqualTo("name", "b"))
t = cat.load_table("ns.t")
snap = t.current_snapshot()
out = "/tmp/pyice/out"; shutil.rmtree(out, ignore_errors=True); os.makedirs(out)
def local(p): return p.replace("file://", "")
shutil.copy(local(snap.manifest_list), f"{out}/snap.avro")
def dj(v):
    if v is None: return None
    if isinstance(v, decimal.Decimal): return str(v)
    if isinstance(v, bytes): return v.hex()
    if isinstance(v, float) and v != v: return "NaN"
    return v
expected = {"snapshot_id": snap.snapshot_id, "parent_snapshot_id": snap.parent_snapshot_id,
            "sequence_number": snap.sequence_number, "manifests": []}
for i, mf in enumerate(snap.manifests(t.io)):
    name = f"m{i}.avro"
    shutil.copy(local(mf.manifest_path), f"{out}/{name}")
    m = {"file": name, "path": mf.manifest_path, "length": mf.manifest_length, "spec_id": mf.partition_spec_id,
         "content": int(mf.content), "sequence_number": mf.sequence_number, "min_sequence_number": mf.min_sequence_number,
         "added_snapshot_id": mf.added_snapshot_id, "added_files_count": mf.added_files_count,
         "existing_files_count": mf.existing_files_count, "deleted_files_count": mf.deleted_files_count,
         "added_rows_count": mf.added_rows_count, "existing_rows_count": mf.existing_rows_count,
         "deleted_rows_count": mf.deleted_rows_count,
         "partitions": [{"contains_null": p.contains_null, "contains_nan": p.contains_nan,
                         "lower_bound": dj(p.lower_bound), "upper_bound": dj(p.upper_bound)} for p in (mf.partitions or [])],
         "entries": []}
    for e in mf.fetch_manifest_entry(t.io, discard_deleted=False):
        df = e.data_file
        m["entries"].append({"status": int(e.status), "snapshot_id": e.snapshot_id,
            "sequence_number": e.sequence_number, "file_sequence_number": e.file_sequence_number,
            "file_path": df.file_path, "file_format": str(df.file_format.value), "record_count": df.record_count,
            "file_size_in_bytes": df.file_size_in_bytes,
            "partition": [dj(v) for v in df.partition._data] if hasattr(df.partition, "_data") else [dj(df.partition[i]) for i in range(len(df.partition))],
            "column_sizes": {str(k): v for k, v in (df.column_sizes or {}).items()},
            "value_counts": {str(k): v for k, v in (df.value_counts or {}).items()},
            "null_value_counts": {str(k): v for k, v in (df.null_value_counts or {}).items()},
            "nan_value_counts": {str(k): v for k, v in (df.nan_value_counts or {}).items()},
            "lower_bounds": {str(k): v.hex() for k, v in (df.lower_bounds or {}).items()},
            "upper_bounds": {str(k): v.hex() for k, v in (df.upper_bounds or {}).items()},
            "split_offsets": df.split_offsets, "sort_order_id": df.sort_order_id})
    expected["manifests"].append(m)
json.dump(expected, open(f"{out}/expected.json", "w"), indent=1)
print(json.dumps(expected)[:3000])
