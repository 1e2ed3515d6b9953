"""PyIceberg 0.12 RestCatalog against a running `floe serve`.

Usage: rest_pyiceberg.py URI [TOKEN]

Does namespace CRUD, creates a partitioned table, appends, scans, deletes, evolves the
schema, runs a staged create (create_table_transaction) with data, renames, and drops
with purge, asserting results along the way. Prints one JSON document with what it saw.
"""

from __future__ import annotations

import json
import sys

import pyarrow as pa
from pyiceberg.catalog import load_catalog
from pyiceberg.exceptions import (
    NamespaceAlreadyExistsError,
    NamespaceNotEmptyError,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
)
from pyiceberg.expressions import EqualTo, GreaterThanOrEqual
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import BucketTransform, IdentityTransform
from pyiceberg.types import IntegerType, LongType, NestedField, StringType


def expect(exc, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except exc:
        return True
    raise AssertionError(f"{fn.__name__}{args} did not raise {exc.__name__}")


def main() -> None:
    uri = sys.argv[1]
    props = {"type": "rest", "uri": uri}
    if len(sys.argv) > 2:
        props["token"] = sys.argv[2]
    cat = load_catalog("floe", **props)
    out: dict = {}

    # Namespaces.
    cat.create_namespace("db", {"owner": "py"})
    cat.create_namespace(("db", "nested"))
    expect(NamespaceAlreadyExistsError, cat.create_namespace, "db")
    assert ("db",) in cat.list_namespaces()
    assert cat.list_namespaces("db") == [("db", "nested")], cat.list_namespaces("db")
    assert cat.load_namespace_properties("db")["owner"] == "py"
    summary = cat.update_namespace_properties("db", removals={"owner", "gone"}, updates={"k": "v"})
    assert summary.removed == ["owner"] and summary.missing == ["gone"], summary
    assert cat.namespace_exists(("db", "nested"))
    expect(NoSuchNamespaceError, cat.load_namespace_properties, "nope")
    cat.drop_namespace(("db", "nested"))

    # A partitioned table.
    schema = Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "category", StringType(), required=False),
    )
    spec = PartitionSpec(
        PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="category"),
        PartitionField(source_id=1, field_id=1001, transform=BucketTransform(4), name="id_bucket"),
    )
    tbl = cat.create_table("db.events", schema=schema, partition_spec=spec)
    expect(TableAlreadyExistsError, cat.create_table, "db.events", schema=schema)
    expect(NamespaceNotEmptyError, cat.drop_namespace, "db")
    arrow_schema = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("category", pa.string())])
    tbl.append(pa.Table.from_pylist([{"id": i, "category": "ab"[i % 2]} for i in range(10)], schema=arrow_schema))
    tbl.append(pa.Table.from_pylist([{"id": i, "category": "c"} for i in range(10, 15)], schema=arrow_schema))
    tbl = cat.load_table("db.events")
    assert len(tbl.scan().to_arrow()) == 15
    assert len(tbl.scan(row_filter=EqualTo("category", "a")).to_arrow()) == 5
    assert len(tbl.snapshots()) == 2
    out["snapshots_after_appends"] = len(tbl.snapshots())
    first = tbl.snapshots()[0].snapshot_id
    assert len(tbl.scan(snapshot_id=first).to_arrow()) == 10

    # Server-side scan planning (POST .../plan) gives the same rows.
    server_props = dict(props)
    server_props["scan-planning-mode"] = "server"
    planned = load_catalog("floe-planned", **server_props).load_table("db.events")
    assert len(planned.scan().to_arrow()) == 15
    assert len(planned.scan(row_filter=EqualTo("category", "a")).to_arrow()) == 5
    assert len(planned.scan(snapshot_id=first).to_arrow()) == 10
    out["server_planned_rows"] = len(planned.scan().to_arrow())

    # Delete.
    tbl.delete(GreaterThanOrEqual("id", 12))
    tbl = cat.load_table("db.events")
    ids = sorted(tbl.scan().to_arrow().column("id").to_pylist())
    assert ids == list(range(12)), ids
    out["rows_after_delete"] = len(ids)

    # Schema evolution.
    with tbl.update_schema() as update:
        update.add_column("score", IntegerType())
    tbl = cat.load_table("db.events")
    assert tbl.schema().find_field("score").field_id == 3
    out["schema_fields"] = [f.name for f in tbl.schema().fields]

    # Staged create with data.
    txn = cat.create_table_transaction("db.staged", schema=schema)
    expect(NoSuchTableError, cat.load_table, "db.staged")
    txn.append(pa.Table.from_pylist([{"id": 1, "category": "x"}], schema=arrow_schema))
    txn.commit_transaction()
    staged = cat.load_table("db.staged")
    assert len(staged.scan().to_arrow()) == 1
    out["staged_rows"] = 1

    # Rename, list, drop with purge.
    cat.rename_table("db.staged", "db.renamed")
    assert cat.table_exists("db.renamed") and not cat.table_exists("db.staged")
    names = sorted(t[1] for t in cat.list_tables("db"))
    assert names == ["events", "renamed"], names
    cat.purge_table("db.renamed")
    cat.drop_table("db.events")
    expect(NoSuchTableError, cat.load_table, "db.events")
    assert cat.list_tables("db") == []
    cat.drop_namespace("db")
    out["ok"] = True
    print(json.dumps(out))


if __name__ == "__main__":
    main()
