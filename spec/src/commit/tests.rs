//! Tests of the commit protocol.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

use super::*;
use crate::partition::{UnboundPartitionField, UnboundPartitionSpec};
use crate::schema::Schema;
use crate::snapshot::{Snapshot, SnapshotReference, Summary};
use crate::sort::{NullOrder, SortDirection, SortField, SortOrder};
use crate::table_metadata::{
    FormatVersion, PartitionStatisticsFile, StatisticsFile, TableMetadata,
};
use crate::transform::Transform;
use crate::types::{NestedField, PrimitiveType, Type};
use crate::{ErrorKind, Result};

const LOC: &str = "s3://bucket/wh/ns/t";
const T0: i64 = 1_700_000_000_000;

fn prim(p: PrimitiveType) -> Type {
    Type::Primitive(p)
}

fn schema3() -> Schema {
    Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", prim(PrimitiveType::Long)),
            NestedField::optional(2, "data", prim(PrimitiveType::String)),
            NestedField::optional(3, "ts", prim(PrimitiveType::Timestamptz)),
        ])
        .build()
        .unwrap()
}

fn bucket_spec() -> UnboundPartitionSpec {
    UnboundPartitionSpec {
        spec_id: None,
        fields: vec![UnboundPartitionField {
            source_id: 1,
            field_id: None,
            name: "id_bucket".into(),
            transform: Transform::Bucket(16),
        }],
    }
}

fn props(kv: &[(&str, &str)]) -> HashMap<String, String> {
    kv.iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// A v2 table partitioned by bucket(16, id), created at T0.
fn base_with(properties: HashMap<String, String>) -> TableMetadata {
    TableMetadataBuilder::new_table(
        schema3(),
        bucket_spec(),
        SortOrder::unsorted(),
        LOC.into(),
        properties,
    )
    .unwrap()
    .build(T0)
    .unwrap()
    .metadata
}

fn base() -> TableMetadata {
    base_with(HashMap::new())
}

fn snap(id: i64, parent: Option<i64>, seq: i64, ts: i64) -> Snapshot {
    Snapshot {
        snapshot_id: id,
        parent_snapshot_id: parent,
        sequence_number: seq,
        timestamp_ms: ts,
        manifest_list: format!("{LOC}/metadata/snap-{id}.avro"),
        summary: Summary::default(),
        schema_id: Some(0),
        first_row_id: None,
        added_rows: None,
        key_id: None,
    }
}

fn append(id: i64, parent: Option<i64>, seq: i64, ts: i64) -> Vec<TableUpdate> {
    vec![
        TableUpdate::AddSnapshot {
            snapshot: snap(id, parent, seq, ts),
        },
        TableUpdate::SetSnapshotRef {
            ref_name: "main".into(),
            ref_type: RefType::Branch,
            snapshot_id: id,
            min_snapshots_to_keep: None,
            max_snapshot_age_ms: None,
            max_ref_age_ms: None,
        },
    ]
}

fn commit(meta: &TableMetadata, updates: &[TableUpdate], now: i64) -> Result<CommitOutcome> {
    apply_commit(
        Some(meta),
        Some("s3://m/00001.metadata.json"),
        &[],
        updates,
        now,
    )
}

fn ok(meta: &TableMetadata, updates: &[TableUpdate], now: i64) -> TableMetadata {
    commit(meta, updates, now).unwrap().metadata
}

fn err(meta: &TableMetadata, updates: &[TableUpdate]) -> crate::Error {
    commit(meta, updates, T0 + 1000).unwrap_err()
}

fn from_json<T: serde::de::DeserializeOwned>(v: Value) -> Result<T> {
    Ok(serde_json::from_value(v)?)
}

// ---------------------------------------------------------------- JSON forms

#[test]
fn requirement_json_round_trips() {
    let literal = json!([
        {"type": "assert-create"},
        {"type": "assert-table-uuid", "uuid": "2cc52516-5e73-41f2-b139-545d41a4e151"},
        {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": null},
        {"type": "assert-ref-snapshot-id", "ref": "b", "snapshot-id": 42},
        {"type": "assert-last-assigned-field-id", "last-assigned-field-id": 3},
        {"type": "assert-current-schema-id", "current-schema-id": 1},
        {"type": "assert-last-assigned-partition-id", "last-assigned-partition-id": 1000},
        {"type": "assert-default-spec-id", "default-spec-id": 0},
        {"type": "assert-default-sort-order-id", "default-sort-order-id": 1}
    ]);
    let reqs: Vec<TableRequirement> = from_json(literal.clone()).unwrap();
    assert_eq!(reqs.len(), 9);
    assert_eq!(
        reqs[2],
        TableRequirement::AssertRefSnapshotId {
            r#ref: "main".into(),
            snapshot_id: None
        }
    );
    assert_eq!(serde_json::to_value(&reqs).unwrap(), literal);
    // snapshot-id: null is always written.
    let s = serde_json::to_string(&reqs[2]).unwrap();
    assert!(s.contains("\"snapshot-id\":null"), "{s}");
}

#[test]
fn unknown_requirement_is_invalid_and_named() {
    let e = from_json::<TableRequirement>(json!({"type": "assert-nothing"})).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataInvalid);
    assert!(e.to_string().contains("assert-nothing"), "{e}");
}

#[test]
fn update_json_round_trips() {
    let snapshot = json!({"snapshot-id": 3_055_729_675_574_597_004_i64, "parent-snapshot-id": 3_051_729_675_574_597_004_i64,
        "sequence-number": 1, "timestamp-ms": 1_555_100_955_770_i64,
        "manifest-list": "s3://a/b/2.avro", "summary": {"operation": "append", "added-data-files": "1"},
        "schema-id": 0});
    let schema = json!({"type": "struct", "schema-id": 1, "identifier-field-ids": [1],
        "fields": [{"id": 1, "name": "id", "required": true, "type": "long"},
                   {"id": 4, "name": "x", "required": false, "type": "string"}]});
    let literal = json!([
        {"action": "assign-uuid", "uuid": "2cc52516-5e73-41f2-b139-545d41a4e151"},
        {"action": "upgrade-format-version", "format-version": 2},
        {"action": "add-schema", "schema": schema, "last-column-id": 4},
        {"action": "set-current-schema", "schema-id": -1},
        {"action": "add-spec", "spec": {"spec-id": 1, "fields": [
            {"source-id": 1, "field-id": 1001, "name": "id_b", "transform": "bucket[8]"},
            {"source-id": 4, "name": "x_t", "transform": "truncate[3]"}]}},
        {"action": "set-default-spec", "spec-id": -1},
        {"action": "add-sort-order", "sort-order": {"order-id": 1, "fields": [
            {"transform": "identity", "source-id": 1, "direction": "asc", "null-order": "nulls-first"}]}},
        {"action": "set-default-sort-order", "sort-order-id": -1},
        {"action": "add-snapshot", "snapshot": snapshot},
        {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": 3_055_729_675_574_597_004_i64,
         "min-snapshots-to-keep": 2, "max-snapshot-age-ms": 1000, "max-ref-age-ms": 5000},
        {"action": "set-snapshot-ref", "ref-name": "t", "type": "tag", "snapshot-id": 1},
        {"action": "remove-snapshots", "snapshot-ids": [1, 2]},
        {"action": "remove-snapshot-ref", "ref-name": "t"},
        {"action": "set-location", "location": "s3://x/y"},
        {"action": "set-properties", "updates": {"a": "b"}},
        {"action": "remove-properties", "removals": ["a"]},
        {"action": "set-statistics", "snapshot-id": 7, "statistics": {"snapshot-id": 7,
            "statistics-path": "s3://s.puffin", "file-size-in-bytes": 10, "file-footer-size-in-bytes": 5,
            "blob-metadata": [{"type": "apache-datasketches-theta-v1", "snapshot-id": 7,
                "sequence-number": 1, "fields": [1]}]}},
        {"action": "remove-statistics", "snapshot-id": 7},
        {"action": "set-partition-statistics", "partition-statistics": {"snapshot-id": 7,
            "statistics-path": "s3://p.parquet", "file-size-in-bytes": 10}},
        {"action": "remove-partition-statistics", "snapshot-id": 7},
        {"action": "remove-partition-specs", "spec-ids": [1]},
        {"action": "remove-schemas", "schema-ids": [0]},
        {"action": "add-encryption-key", "encryption-key": {"key-id": "k"}},
        {"action": "remove-encryption-key", "key-id": "k"}
    ]);
    let updates: Vec<TableUpdate> = from_json(literal.clone()).unwrap();
    assert_eq!(updates.len(), 24);
    let actions: Vec<&str> = updates.iter().map(TableUpdate::action).collect();
    let expected: Vec<&str> = literal
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, expected);
    assert_eq!(serde_json::to_value(&updates).unwrap(), literal);
}

#[test]
fn old_property_field_names_are_read() {
    let u: TableUpdate =
        from_json(json!({"action": "set-properties", "updated": {"k": "v"}})).unwrap();
    assert_eq!(
        u,
        TableUpdate::SetProperties {
            updates: props(&[("k", "v")])
        }
    );
    let u: TableUpdate =
        from_json(json!({"action": "remove-properties", "removed": ["k"]})).unwrap();
    assert_eq!(
        u,
        TableUpdate::RemoveProperties {
            removals: vec!["k".into()]
        }
    );
}

#[test]
fn unknown_action_is_invalid_and_named() {
    let e = from_json::<TableUpdate>(json!({"action": "drop-everything"})).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataInvalid);
    assert!(e.to_string().contains("drop-everything"), "{e}");
}

#[test]
fn encryption_and_view_updates_are_unsupported() {
    let m = base();
    for u in [
        json!({"action": "add-encryption-key", "encryption-key": {"key-id": "k"}}),
        json!({"action": "remove-encryption-key", "key-id": "k"}),
        json!({"action": "set-current-view-version", "view-version-id": 1}),
    ] {
        let name = u["action"].as_str().unwrap().to_string();
        let u: TableUpdate = from_json(u).unwrap();
        let e = err(&m, &[u]);
        assert_eq!(e.kind(), ErrorKind::FeatureUnsupported);
        assert!(e.to_string().contains(&name), "{e}");
    }
}

// ---------------------------------------------------------------- requirements

#[test]
fn each_requirement_fails_with_commit_failed_naming_values() {
    let m = ok(&base(), &append(10, None, 1, T0 + 10), T0 + 20);
    let other = Uuid::from_u128(7);
    let cases = vec![
        (
            TableRequirement::AssertCreate,
            vec!["assert-create", "already exists"],
        ),
        (
            TableRequirement::AssertTableUuid { uuid: other },
            vec![
                "assert-table-uuid",
                &*Box::leak(other.to_string().into_boxed_str()),
                &*Box::leak(m.table_uuid().to_string().into_boxed_str()),
            ],
        ),
        (
            TableRequirement::AssertRefSnapshotId {
                r#ref: "main".into(),
                snapshot_id: None,
            },
            vec!["assert-ref-snapshot-id", "main", "10"],
        ),
        (
            TableRequirement::AssertRefSnapshotId {
                r#ref: "main".into(),
                snapshot_id: Some(9),
            },
            vec!["assert-ref-snapshot-id", "expected 9", "found 10"],
        ),
        (
            TableRequirement::AssertRefSnapshotId {
                r#ref: "dev".into(),
                snapshot_id: Some(9),
            },
            vec!["dev", "expected snapshot 9"],
        ),
        (
            TableRequirement::AssertLastAssignedFieldId {
                last_assigned_field_id: 2,
            },
            vec!["assert-last-assigned-field-id", "expected 2", "found 3"],
        ),
        (
            TableRequirement::AssertCurrentSchemaId {
                current_schema_id: 5,
            },
            vec!["assert-current-schema-id", "expected 5", "found 0"],
        ),
        (
            TableRequirement::AssertLastAssignedPartitionId {
                last_assigned_partition_id: 999,
            },
            vec![
                "assert-last-assigned-partition-id",
                "expected 999",
                "found 1000",
            ],
        ),
        (
            TableRequirement::AssertDefaultSpecId { default_spec_id: 3 },
            vec!["assert-default-spec-id", "expected 3", "found 0"],
        ),
        (
            TableRequirement::AssertDefaultSortOrderId {
                default_sort_order_id: 1,
            },
            vec!["assert-default-sort-order-id", "expected 1", "found 0"],
        ),
    ];
    for (req, words) in cases {
        let e = req.check(Some(&m)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CommitFailed, "{req:?}");
        for w in words {
            assert!(e.to_string().contains(w), "`{e}` lacks `{w}`");
        }
    }
    // And the matching ones pass.
    for req in [
        TableRequirement::AssertTableUuid {
            uuid: m.table_uuid(),
        },
        TableRequirement::AssertRefSnapshotId {
            r#ref: "main".into(),
            snapshot_id: Some(10),
        },
        TableRequirement::AssertRefSnapshotId {
            r#ref: "dev".into(),
            snapshot_id: None,
        },
        TableRequirement::AssertLastAssignedFieldId {
            last_assigned_field_id: 3,
        },
        TableRequirement::AssertCurrentSchemaId {
            current_schema_id: 0,
        },
        TableRequirement::AssertLastAssignedPartitionId {
            last_assigned_partition_id: 1000,
        },
        TableRequirement::AssertDefaultSpecId { default_spec_id: 0 },
        TableRequirement::AssertDefaultSortOrderId {
            default_sort_order_id: 0,
        },
    ] {
        req.check(Some(&m)).unwrap();
    }
    // Against a missing table only assert-create and "ref absent" hold.
    TableRequirement::AssertCreate.check(None).unwrap();
    let e = TableRequirement::AssertCurrentSchemaId {
        current_schema_id: 0,
    }
    .check(None)
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CommitFailed);
}

#[test]
fn all_requirements_are_checked_before_any_update() {
    let m = base();
    let reqs = [
        TableRequirement::AssertTableUuid {
            uuid: m.table_uuid(),
        },
        TableRequirement::AssertCurrentSchemaId {
            current_schema_id: 1,
        },
    ];
    let updates = [TableUpdate::SetLocation {
        location: "s3://other".into(),
    }];
    let e = apply_commit(Some(&m), None, &reqs, &updates, T0 + 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CommitFailed);
    assert!(e.to_string().contains("current schema id"), "{e}");
}

#[test]
fn pyiceberg_append_body() {
    let m = base();
    let body = json!({
        "identifier": {"namespace": ["ns"], "name": "t"},
        "requirements": [
            {"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": null},
            {"type": "assert-table-uuid", "uuid": m.table_uuid().to_string()}
        ],
        "updates": [
            {"action": "add-snapshot", "snapshot": {
                "snapshot-id": 5_937_117_119_577_207_000_i64, "sequence-number": 1,
                "timestamp-ms": T0 + 5000, "manifest-list": "s3://bucket/wh/ns/t/metadata/snap-1.avro",
                "summary": {"operation": "append", "added-data-files": "1", "added-records": "3",
                            "total-records": "3"},
                "schema-id": 0}},
            {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch",
             "snapshot-id": 5_937_117_119_577_207_000_i64}
        ]
    });
    let reqs: Vec<TableRequirement> = from_json(body["requirements"].clone()).unwrap();
    let updates: Vec<TableUpdate> = from_json(body["updates"].clone()).unwrap();
    let out = apply_commit(
        Some(&m),
        Some("s3://m/v1.metadata.json"),
        &reqs,
        &updates,
        T0 + 6000,
    )
    .unwrap();
    assert!(out.changed);
    let n = &out.metadata;
    assert_eq!(n.current_snapshot_id(), Some(5_937_117_119_577_207_000));
    assert_eq!(n.last_sequence_number(), 1);
    assert_eq!(n.last_updated_ms(), T0 + 6000);
    assert_eq!(n.snapshot_log().len(), 1);
    assert_eq!(n.snapshot_log()[0].timestamp_ms, T0 + 5000);
    assert_eq!(n.metadata_log().len(), 1);
    assert_eq!(n.metadata_log()[0].metadata_file, "s3://m/v1.metadata.json");
    assert_eq!(n.metadata_log()[0].timestamp_ms, T0);
    assert_eq!(out.changes, updates);
    // The same body again is stale: main exists now.
    let e = apply_commit(Some(n), None, &reqs, &updates, T0 + 7000).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CommitFailed);
}

// ---------------------------------------------------------------- creating tables

fn staged_create_updates(uuid: Uuid) -> Value {
    json!([
        {"action": "assign-uuid", "uuid": uuid.to_string()},
        {"action": "upgrade-format-version", "format-version": 2},
        {"action": "add-schema", "last-column-id": 2, "schema": {"type": "struct", "schema-id": 0,
            "identifier-field-ids": [], "fields": [
                {"id": 1, "name": "id", "required": false, "type": "long"},
                {"id": 2, "name": "d", "required": false, "type": "date"}]}},
        {"action": "set-current-schema", "schema-id": -1},
        {"action": "add-spec", "spec": {"spec-id": 0, "fields": [
            {"source-id": 2, "field-id": 1000, "name": "d_month", "transform": "month"}]}},
        {"action": "set-default-spec", "spec-id": -1},
        {"action": "add-sort-order", "sort-order": {"order-id": 0, "fields": []}},
        {"action": "set-default-sort-order", "sort-order-id": -1},
        {"action": "set-location", "location": "s3://bucket/wh/ns/new/"},
        {"action": "set-properties", "updates": {"owner": "me", "format-version": "2"}}
    ])
}

#[test]
fn staged_create_through_apply_commit() {
    let uuid = Uuid::from_u128(0x1234);
    let updates: Vec<TableUpdate> = from_json(staged_create_updates(uuid)).unwrap();
    let out = apply_commit(None, None, &[TableRequirement::AssertCreate], &updates, T0).unwrap();
    let m = &out.metadata;
    assert!(out.changed);
    assert_eq!(m.table_uuid(), uuid);
    assert_eq!(m.format_version(), FormatVersion::V2);
    assert_eq!(m.location(), "s3://bucket/wh/ns/new");
    assert_eq!(m.current_schema_id(), 0);
    assert_eq!(m.last_column_id(), 2);
    assert_eq!(m.default_spec_id(), 0);
    assert_eq!(m.last_partition_id(), 1000);
    assert_eq!(m.default_sort_order_id(), 0);
    assert_eq!(m.properties(), &props(&[("owner", "me")]));
    assert_eq!(m.last_sequence_number(), 0);
    assert_eq!(m.current_snapshot_id(), None);
    assert!(m.refs().is_empty() && m.metadata_log().is_empty());
    assert_eq!(m.last_updated_ms(), T0);

    // assert-create must be alone, needs a missing table, and the updates must be complete.
    let e = apply_commit(
        None,
        None,
        &[
            TableRequirement::AssertCreate,
            TableRequirement::AssertCurrentSchemaId {
                current_schema_id: 0,
            },
        ],
        &updates,
        T0,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataInvalid);
    let e = apply_commit(
        Some(m),
        None,
        &[TableRequirement::AssertCreate],
        &updates,
        T0,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CommitFailed);
    let e = apply_commit(
        None,
        None,
        &[TableRequirement::AssertCreate],
        &updates[..8],
        T0,
    )
    .unwrap_err();
    assert!(e.to_string().contains("set-location"), "{e}");
    let e = apply_commit(None, None, &[], &updates, T0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoSuchTable);
}

#[test]
fn staged_create_v1_and_with_snapshot() {
    let uuid = Uuid::from_u128(9);
    let mut list = staged_create_updates(uuid);
    list[1]["format-version"] = json!(1);
    list[9]["updates"] = json!({});
    list.as_array_mut()
        .unwrap()
        .push(json!({"action": "add-snapshot", "snapshot": {
        "snapshot-id": 1, "timestamp-ms": T0 - 10, "manifest-list": "s3://l.avro",
        "summary": {"operation": "append"}}}));
    list.as_array_mut()
        .unwrap()
        .push(json!({"action": "set-snapshot-ref", "ref-name": "main",
        "type": "branch", "snapshot-id": 1}));
    let updates: Vec<TableUpdate> = from_json(list).unwrap();
    let m = apply_commit(None, None, &[TableRequirement::AssertCreate], &updates, T0)
        .unwrap()
        .metadata;
    assert_eq!(m.format_version(), FormatVersion::V1);
    assert_eq!(m.current_snapshot_id(), Some(1));
    assert_eq!(m.snapshot_log()[0].timestamp_ms, T0 - 10);
}

#[test]
fn new_table_records_the_pyiceberg_update_list() {
    // Column ids 7, 9 and a sort order on column 9 are remapped to 1, 2.
    let schema = Schema::builder()
        .with_fields(vec![
            NestedField::required(7, "id", prim(PrimitiveType::Long)),
            NestedField::optional(9, "name", prim(PrimitiveType::String)),
        ])
        .with_identifier_field_ids([7])
        .build()
        .unwrap();
    let spec = UnboundPartitionSpec {
        spec_id: Some(5),
        fields: vec![UnboundPartitionField {
            source_id: 9,
            field_id: Some(4000),
            name: "name_trunc".into(),
            transform: Transform::Truncate(2),
        }],
    };
    let order = SortOrder {
        order_id: 9,
        fields: vec![SortField {
            transform: Transform::Identity,
            source_id: 9,
            direction: SortDirection::Desc,
            null_order: NullOrder::NullsLast,
        }],
    };
    let b = TableMetadataBuilder::new_table(
        schema,
        spec,
        order,
        "s3://b/t/".into(),
        props(&[
            ("format-version", "3"),
            ("k", "v"),
            ("current-snapshot-id", "1"),
        ]),
    )
    .unwrap();
    let out = b.build(T0).unwrap();
    let actions: Vec<&str> = out.changes.iter().map(TableUpdate::action).collect();
    assert_eq!(
        actions,
        [
            "assign-uuid",
            "upgrade-format-version",
            "add-schema",
            "set-current-schema",
            "add-spec",
            "set-default-spec",
            "add-sort-order",
            "set-default-sort-order",
            "set-location",
            "set-properties"
        ]
    );
    let v = serde_json::to_value(&out.changes).unwrap();
    assert_eq!(v[1]["format-version"], 3);
    assert_eq!(v[3]["schema-id"], -1);
    assert_eq!(v[5]["spec-id"], -1);
    assert_eq!(v[7]["sort-order-id"], -1);
    assert_eq!(v[9]["updates"], json!({"k": "v"}));
    let m = out.metadata;
    assert_eq!(m.format_version(), FormatVersion::V3);
    assert_eq!(m.next_row_id(), Some(0));
    assert_eq!(m.table_uuid().get_version_num(), 4);
    assert_eq!(m.location(), "s3://b/t");
    let s = m.current_schema();
    assert_eq!(s.schema_id(), 0);
    assert_eq!(s.field_by_name("id").unwrap().id, 1);
    assert_eq!(s.field_by_name("name").unwrap().id, 2);
    assert_eq!(s.identifier_field_ids(), &[1]);
    let spec = m.default_partition_spec();
    assert_eq!(spec.spec_id, 0);
    assert_eq!(
        (spec.fields[0].source_id, spec.fields[0].field_id),
        (2, 1000)
    );
    assert_eq!(m.last_partition_id(), 1000);
    assert_eq!(m.default_sort_order_id(), 1);
    assert_eq!(m.default_sort_order().fields[0].source_id, 2);
    assert_eq!(m.properties(), &props(&[("k", "v")]));
    // Replaying the recorded list through apply_commit gives the same table.
    let again = apply_commit(
        None,
        None,
        &[TableRequirement::AssertCreate],
        &out.changes,
        T0,
    )
    .unwrap();
    assert_eq!(again.metadata, m);
}

#[test]
fn new_table_unpartitioned_and_default_version() {
    let m = TableMetadataBuilder::new_table(
        schema3(),
        UnboundPartitionSpec::default(),
        SortOrder::unsorted(),
        LOC.into(),
        HashMap::new(),
    )
    .unwrap()
    .build(T0)
    .unwrap()
    .metadata;
    assert_eq!(m.format_version(), FormatVersion::V2);
    assert_eq!(m.last_partition_id(), 999);
    assert!(m.default_partition_spec().fields.is_empty());
    assert_eq!(m.default_sort_order_id(), 0);
    assert_eq!(m.next_row_id(), None);
    let e = TableMetadataBuilder::new_table(
        schema3(),
        UnboundPartitionSpec::default(),
        SortOrder::unsorted(),
        LOC.into(),
        props(&[("format-version", "x")]),
    )
    .unwrap_err();
    assert!(e.to_string().contains("format-version"), "{e}");
}

// ---------------------------------------------------------------- schema, spec, order

fn schema_with(extra: &[(i32, &str, PrimitiveType)], schema_id: i32) -> Schema {
    let mut fields: Vec<NestedField> = schema3().fields().iter().map(|f| (**f).clone()).collect();
    for (id, name, t) in extra {
        fields.push(NestedField::optional(*id, *name, prim(t.clone())));
    }
    Schema::builder()
        .with_schema_id(schema_id)
        .with_fields(fields)
        .build()
        .unwrap()
}

#[test]
fn add_schema_ids_and_last_column_id() {
    let m = base();
    let s = schema_with(&[(4, "x", PrimitiveType::Int)], 77);
    let out = commit(
        &m,
        &[
            TableUpdate::AddSchema {
                schema: s.clone(),
                last_column_id: None,
            },
            TableUpdate::SetCurrentSchema { schema_id: -1 },
        ],
        T0 + 1,
    )
    .unwrap();
    let n = &out.metadata;
    assert_eq!(n.current_schema_id(), 1, "client id 77 is ignored");
    assert_eq!(n.last_column_id(), 4);
    assert_eq!(
        serde_json::to_value(&out.changes[1]).unwrap(),
        json!({"action": "set-current-schema", "schema-id": -1})
    );
    // An identical schema reuses its id; a given last-column-id raises the counter.
    let again = commit(
        n,
        &[TableUpdate::AddSchema {
            schema: s.clone(),
            last_column_id: Some(10),
        }],
        T0 + 2,
    )
    .unwrap();
    assert_eq!(again.metadata.schemas().len(), 2);
    assert_eq!(again.metadata.last_column_id(), 10);
    let same = commit(
        n,
        &[
            TableUpdate::AddSchema {
                schema: schema3(),
                last_column_id: None,
            },
            TableUpdate::SetCurrentSchema { schema_id: -1 },
        ],
        T0 + 2,
    )
    .unwrap();
    assert_eq!(same.metadata.current_schema_id(), 0);
    assert_eq!(same.metadata.schemas().len(), 2);
    // A v3 type in a v2 table is rejected.
    let e = err(
        &m,
        &[TableUpdate::AddSchema {
            schema: schema_with(&[(4, "n", PrimitiveType::TimestampNs)], 0),
            last_column_id: None,
        }],
    );
    assert!(e.to_string().contains("timestamp_ns"), "{e}");
}

#[test]
fn last_added_requires_an_addition() {
    let m = base();
    for u in [
        TableUpdate::SetCurrentSchema { schema_id: -1 },
        TableUpdate::SetDefaultSpec { spec_id: -1 },
        TableUpdate::SetDefaultSortOrder { sort_order_id: -1 },
    ] {
        let e = err(&m, &[u]);
        assert_eq!(e.kind(), ErrorKind::DataInvalid);
        assert!(e.to_string().contains("no "), "{e}");
    }
    let e = err(&m, &[TableUpdate::SetCurrentSchema { schema_id: 4 }]);
    assert!(e.to_string().contains("unknown schema id 4"), "{e}");
}

fn ufield(source: i32, id: Option<i32>, name: &str, t: Transform) -> UnboundPartitionField {
    UnboundPartitionField {
        source_id: source,
        field_id: id,
        name: name.into(),
        transform: t,
    }
}

fn add_spec(fields: Vec<UnboundPartitionField>) -> TableUpdate {
    TableUpdate::AddSpec {
        spec: UnboundPartitionSpec {
            spec_id: Some(42),
            fields,
        },
    }
}

#[test]
fn add_spec_binds_assigns_and_reuses() {
    let m = base();
    // bucket(id) again + day(ts): the bucket field keeps 1000, day gets 1001.
    let out = commit(
        &m,
        &[
            add_spec(vec![
                ufield(1, None, "id_bucket", Transform::Bucket(16)),
                ufield(3, None, "ts_day", Transform::Day),
            ]),
            TableUpdate::SetDefaultSpec { spec_id: -1 },
        ],
        T0 + 1,
    )
    .unwrap();
    let n = &out.metadata;
    let spec = n.default_partition_spec();
    assert_eq!(spec.spec_id, 1);
    assert_eq!(
        spec.fields.iter().map(|f| f.field_id).collect::<Vec<_>>(),
        [1000, 1001]
    );
    assert_eq!(n.last_partition_id(), 1001);
    let v = serde_json::to_value(&out.changes[0]).unwrap();
    assert_eq!(v["spec"]["fields"][1]["field-id"], 1001);
    // An equivalent spec is reused (no change at all).
    let same = commit(
        n,
        &[
            add_spec(vec![
                ufield(1, None, "id_bucket", Transform::Bucket(16)),
                ufield(3, None, "ts_day", Transform::Day),
            ]),
            TableUpdate::SetDefaultSpec { spec_id: -1 },
        ],
        T0 + 2,
    )
    .unwrap();
    assert!(!same.changed);
    assert_eq!(same.metadata.partition_specs().len(), 2);
    // Binding errors.
    let cases = [
        (
            vec![ufield(9, None, "x", Transform::Identity)],
            "source column 9",
        ),
        (
            vec![ufield(2, None, "data_year", Transform::Year)],
            "cannot be applied",
        ),
        (
            vec![
                ufield(1, None, "p", Transform::Identity),
                ufield(2, None, "p", Transform::Identity),
            ],
            "more than once",
        ),
        (
            vec![ufield(1, None, "data", Transform::Bucket(4))],
            "clashes",
        ),
        (vec![ufield(1, None, "", Transform::Identity)], "empty name"),
        (
            vec![
                ufield(1, Some(1005), "a", Transform::Identity),
                ufield(2, Some(1005), "b", Transform::Identity),
            ],
            "1005",
        ),
    ];
    for (fields, word) in cases {
        let e = err(&m, &[add_spec(fields)]);
        assert_eq!(e.kind(), ErrorKind::DataInvalid);
        assert!(e.to_string().contains(word), "`{e}` lacks `{word}`");
    }
    // Identity may take its own column's name.
    commit(
        &m,
        &[add_spec(vec![ufield(2, None, "data", Transform::Identity)])],
        T0 + 1,
    )
    .unwrap();
}

#[test]
fn add_sort_order_ids() {
    let m = base();
    let f = |source, t| SortField {
        transform: t,
        source_id: source,
        direction: SortDirection::Asc,
        null_order: NullOrder::NullsFirst,
    };
    let order = SortOrder {
        order_id: 0,
        fields: vec![f(1, Transform::Identity)],
    };
    let n = ok(
        &m,
        &[
            TableUpdate::AddSortOrder {
                sort_order: order.clone(),
            },
            TableUpdate::SetDefaultSortOrder { sort_order_id: -1 },
        ],
        T0 + 1,
    );
    assert_eq!(n.default_sort_order_id(), 1);
    let n2 = ok(
        &n,
        &[
            TableUpdate::AddSortOrder {
                sort_order: SortOrder {
                    order_id: 1,
                    fields: vec![f(3, Transform::Day)],
                },
            },
            TableUpdate::SetDefaultSortOrder { sort_order_id: -1 },
        ],
        T0 + 2,
    );
    assert_eq!(n2.default_sort_order_id(), 2);
    let back = commit(
        &n2,
        &[
            TableUpdate::AddSortOrder { sort_order: order },
            TableUpdate::SetDefaultSortOrder { sort_order_id: -1 },
        ],
        T0 + 3,
    )
    .unwrap();
    assert_eq!(back.metadata.default_sort_order_id(), 1);
    assert_eq!(
        back.changes,
        vec![TableUpdate::SetDefaultSortOrder { sort_order_id: 1 }]
    );
    let e = err(
        &m,
        &[TableUpdate::AddSortOrder {
            sort_order: SortOrder {
                order_id: 1,
                fields: vec![f(2, Transform::Hour)],
            },
        }],
    );
    assert!(e.to_string().contains("hour"), "{e}");
}

// ---------------------------------------------------------------- snapshots and refs

#[test]
fn sequence_number_rule() {
    let m = ok(&base(), &append(1, None, 1, T0 + 10), T0 + 20);
    let m = ok(&m, &append(2, Some(1), 2, T0 + 30), T0 + 40);
    assert_eq!(m.last_sequence_number(), 2);
    let e = err(&m, &append(3, Some(2), 2, T0 + 50));
    assert_eq!(e.kind(), ErrorKind::CommitFailed);
    assert!(
        e.to_string()
            .contains("sequence number 2 older than last sequence number 2"),
        "{e}"
    );
    // No parent: allowed.
    let n = ok(
        &m,
        &[TableUpdate::AddSnapshot {
            snapshot: snap(3, None, 2, T0 + 50),
        }],
        T0 + 60,
    );
    assert_eq!(n.last_sequence_number(), 2);
    // Duplicate id, unknown schema.
    let e = err(
        &m,
        &[TableUpdate::AddSnapshot {
            snapshot: snap(2, Some(2), 9, T0 + 50),
        }],
    );
    assert!(e.to_string().contains("already exists"), "{e}");
    let mut s = snap(4, Some(2), 3, T0 + 50);
    s.schema_id = Some(8);
    let e = err(&m, &[TableUpdate::AddSnapshot { snapshot: s }]);
    assert!(e.to_string().contains("schema 8"), "{e}");
    // Way older than last-updated-ms: stale.
    let e = err(
        &m,
        &[TableUpdate::AddSnapshot {
            snapshot: snap(5, Some(2), 3, T0 - 120_000),
        }],
    );
    assert_eq!(e.kind(), ErrorKind::CommitFailed);
}

#[test]
fn v3_row_lineage() {
    let m = ok(
        &base(),
        &[TableUpdate::UpgradeFormatVersion { format_version: 3 }],
        T0 + 1,
    );
    assert_eq!(m.next_row_id(), Some(0));
    let mut s = snap(1, None, 1, T0 + 10);
    let e = err(
        &m,
        &[TableUpdate::AddSnapshot {
            snapshot: s.clone(),
        }],
    );
    assert!(e.to_string().contains("first-row-id"), "{e}");
    s.first_row_id = Some(0);
    s.added_rows = Some(25);
    let n = ok(&m, &[TableUpdate::AddSnapshot { snapshot: s }], T0 + 20);
    assert_eq!(n.next_row_id(), Some(25));
    let mut s2 = snap(2, Some(1), 2, T0 + 30);
    s2.first_row_id = Some(10);
    s2.added_rows = Some(1);
    let e = err(&n, &[TableUpdate::AddSnapshot { snapshot: s2 }]);
    assert_eq!(e.kind(), ErrorKind::CommitFailed);
    assert!(
        e.to_string().contains("first-row-id 10") && e.to_string().contains("25"),
        "{e}"
    );
}

#[test]
fn set_ref_rules_and_snapshot_log() {
    let m = ok(&base(), &append(1, None, 1, T0 + 10), T0 + 20);
    let m = ok(&m, &append(2, Some(1), 2, T0 + 30), T0 + 40);
    assert_eq!(
        m.snapshot_log()
            .iter()
            .map(|e| (e.snapshot_id, e.timestamp_ms))
            .collect::<Vec<_>>(),
        [(1, T0 + 10), (2, T0 + 30)]
    );
    // Rollback to an existing snapshot logs the commit time.
    let set_main = |id| TableUpdate::set_snapshot_ref("main", &SnapshotReference::branch(id));
    let r = ok(&m, &[set_main(1)], T0 + 100);
    assert_eq!(r.current_snapshot_id(), Some(1));
    assert_eq!(r.snapshot_log().last().unwrap().timestamp_ms, T0 + 100);
    assert_eq!(r.last_updated_ms(), T0 + 100);
    // Same ref again: no change.
    let same = commit(&m, &[set_main(2)], T0 + 100).unwrap();
    assert!(!same.changed);
    assert_eq!(same.metadata, m);
    // Unknown snapshot; main as a tag.
    let e = err(&m, &[set_main(9)]);
    assert!(e.to_string().contains("unknown snapshot 9"), "{e}");
    let tag = TableUpdate::set_snapshot_ref(
        "main",
        &SnapshotReference {
            snapshot_id: 1,
            retention: crate::snapshot::SnapshotRetention::tag(),
        },
    );
    assert!(err(&m, &[tag]).to_string().contains("branch"));
    // Two snapshots committed at once (overwrite): the intermediate one leaves the log.
    let mut both = append(3, Some(2), 3, T0 + 50);
    both.extend(append(4, Some(3), 4, T0 + 51));
    let o = ok(&m, &both, T0 + 60);
    assert_eq!(o.current_snapshot_id(), Some(4));
    assert_eq!(
        o.snapshot_log()
            .iter()
            .map(|e| e.snapshot_id)
            .collect::<Vec<_>>(),
        [1, 2, 4]
    );
}

#[test]
#[allow(clippy::many_single_char_names)]
fn remove_snapshots_refs_and_statistics() {
    let m = ok(&base(), &append(1, None, 1, T0 + 10), T0 + 20);
    let m = ok(&m, &append(2, Some(1), 2, T0 + 30), T0 + 40);
    let stats = StatisticsFile {
        snapshot_id: 1,
        statistics_path: "s3://s.puffin".into(),
        file_size_in_bytes: 1,
        file_footer_size_in_bytes: 1,
        key_metadata: None,
        blob_metadata: vec![],
    };
    let pstats = PartitionStatisticsFile {
        snapshot_id: 1,
        statistics_path: "s3://p".into(),
        file_size_in_bytes: 1,
    };
    let m = ok(
        &m,
        &[
            TableUpdate::SetStatistics {
                snapshot_id: None,
                statistics: stats.clone(),
            },
            TableUpdate::SetPartitionStatistics {
                partition_statistics: pstats,
            },
            TableUpdate::set_snapshot_ref(
                "tag1",
                &SnapshotReference {
                    snapshot_id: 1,
                    retention: crate::snapshot::SnapshotRetention::tag(),
                },
            ),
        ],
        T0 + 50,
    );
    assert_eq!(m.statistics().len(), 1);
    let n = ok(
        &m,
        &[TableUpdate::RemoveSnapshots {
            snapshot_ids: vec![1, 77],
        }],
        T0 + 60,
    );
    assert!(n.snapshot_by_id(1).is_none());
    assert!(n.statistics().is_empty() && n.partition_statistics().is_empty());
    assert!(!n.refs().contains_key("tag1"));
    assert_eq!(n.current_snapshot_id(), Some(2));
    // The log before the removed snapshot is gone.
    assert_eq!(
        n.snapshot_log()
            .iter()
            .map(|e| e.snapshot_id)
            .collect::<Vec<_>>(),
        [2]
    );
    // Removing the current snapshot clears main.
    let k = ok(
        &m,
        &[TableUpdate::RemoveSnapshots {
            snapshot_ids: vec![2],
        }],
        T0 + 60,
    );
    assert_eq!(k.current_snapshot_id(), None);
    assert!(!k.refs().contains_key("main"));
    // remove-snapshot-ref main.
    let r = ok(
        &m,
        &[TableUpdate::RemoveSnapshotRef {
            ref_name: "main".into(),
        }],
        T0 + 60,
    );
    assert_eq!(r.current_snapshot_id(), None);
    assert_eq!(r.snapshots().len(), 2);
    assert!(
        !commit(
            &r,
            &[TableUpdate::RemoveSnapshotRef {
                ref_name: "main".into()
            }],
            T0 + 70
        )
        .unwrap()
        .changed
    );
    // Statistics: explicit mismatching snapshot id, removal.
    let e = err(
        &m,
        &[TableUpdate::SetStatistics {
            snapshot_id: Some(5),
            statistics: stats,
        }],
    );
    assert!(e.to_string().contains("snapshot-id 5"), "{e}");
    let s = commit(
        &m,
        &[
            TableUpdate::RemoveStatistics { snapshot_id: 1 },
            TableUpdate::RemovePartitionStatistics { snapshot_id: 1 },
        ],
        T0 + 70,
    )
    .unwrap();
    assert_eq!(s.changes.len(), 2);
    assert!(s.metadata.statistics().is_empty());
}

// ---------------------------------------------------------------- properties, location, versions

#[test]
fn reserved_properties_and_format_version() {
    let m = base();
    let out = commit(
        &m,
        &[TableUpdate::SetProperties {
            updates: props(&[
                ("a", "1"),
                ("uuid", "x"),
                ("snapshot-count", "3"),
                ("format-version", "3"),
            ]),
        }],
        T0 + 1,
    )
    .unwrap();
    assert_eq!(out.metadata.properties(), &props(&[("a", "1")]));
    assert_eq!(out.metadata.format_version(), FormatVersion::V3);
    assert_eq!(
        out.changes[0],
        TableUpdate::UpgradeFormatVersion { format_version: 3 }
    );
    for k in RESERVED_PROPERTIES {
        assert!(!out.metadata.properties().contains_key(*k));
    }
    let e = err(
        &out.metadata,
        &[TableUpdate::SetProperties {
            updates: props(&[("format-version", "2")]),
        }],
    );
    assert!(e.to_string().contains("downgrade"), "{e}");
    // Removals: only present keys count.
    let r = commit(
        &out.metadata,
        &[TableUpdate::RemoveProperties {
            removals: vec!["a".into(), "zz".into()],
        }],
        T0 + 2,
    )
    .unwrap();
    assert_eq!(
        r.changes,
        vec![TableUpdate::RemoveProperties {
            removals: vec!["a".into()]
        }]
    );
    assert!(
        !commit(
            &r.metadata,
            &[TableUpdate::RemoveProperties {
                removals: vec!["a".into()]
            }],
            T0 + 3
        )
        .unwrap()
        .changed
    );
}

#[test]
fn upgrade_uuid_location() {
    let m = base();
    let e = err(
        &m,
        &[TableUpdate::UpgradeFormatVersion { format_version: 1 }],
    );
    assert!(e.to_string().contains("downgrade a v2 table to v1"), "{e}");
    assert_eq!(
        err(
            &m,
            &[TableUpdate::UpgradeFormatVersion { format_version: 9 }]
        )
        .kind(),
        ErrorKind::FeatureUnsupported
    );
    assert!(
        !commit(
            &m,
            &[TableUpdate::UpgradeFormatVersion { format_version: 2 }],
            T0
        )
        .unwrap()
        .changed
    );
    let e = err(
        &m,
        &[TableUpdate::AssignUuid {
            uuid: Uuid::from_u128(5),
        }],
    );
    assert!(e.to_string().contains("uuid"), "{e}");
    assert!(
        !commit(
            &m,
            &[TableUpdate::AssignUuid {
                uuid: m.table_uuid()
            }],
            T0
        )
        .unwrap()
        .changed
    );
    let n = ok(
        &m,
        &[TableUpdate::SetLocation {
            location: "s3://new/place//".into(),
        }],
        T0 + 1,
    );
    assert_eq!(n.location(), "s3://new/place");
    assert!(
        err(
            &m,
            &[TableUpdate::SetLocation {
                location: "/".into()
            }]
        )
        .to_string()
        .contains("empty")
    );
}

#[test]
fn remove_specs_and_schemas() {
    let m = ok(
        &base(),
        &[
            add_spec(vec![ufield(3, None, "ts_day", Transform::Day)]),
            TableUpdate::AddSchema {
                schema: schema_with(&[(4, "x", PrimitiveType::Int)], 0),
                last_column_id: None,
            },
        ],
        T0 + 1,
    );
    assert!(
        err(
            &m,
            &[TableUpdate::RemovePartitionSpecs { spec_ids: vec![0] }]
        )
        .to_string()
        .contains("default partition spec 0")
    );
    assert!(
        err(
            &m,
            &[TableUpdate::RemoveSchemas {
                schema_ids: vec![0, 1]
            }]
        )
        .to_string()
        .contains("current schema 0")
    );
    let n = ok(
        &m,
        &[
            TableUpdate::RemovePartitionSpecs {
                spec_ids: vec![1, 8],
            },
            TableUpdate::RemoveSchemas {
                schema_ids: vec![1],
            },
        ],
        T0 + 2,
    );
    assert_eq!(n.partition_specs().len(), 1);
    assert_eq!(n.schemas().len(), 1);
    assert_eq!(n.last_column_id(), 4, "last-column-id never decreases");
}

// ---------------------------------------------------------------- metadata log and time

#[test]
fn metadata_log_upkeep_and_trimming() {
    let mut m = base_with(props(&[(PROPERTY_METADATA_PREVIOUS_VERSIONS_MAX, "2")]));
    let mut expired_all = Vec::new();
    for v in 1..=4_u64 {
        let loc = metadata_file_location(LOC, v, Uuid::from_u128(u128::from(v)), false);
        let out = apply_commit(
            Some(&m),
            Some(&loc),
            &[],
            &[TableUpdate::SetProperties {
                updates: props(&[("v", &v.to_string())]),
            }],
            T0 + i64::try_from(v).unwrap() * 1000,
        )
        .unwrap();
        assert!(out.metadata.metadata_log().len() <= 2);
        assert_eq!(
            out.metadata.metadata_log().last().unwrap().metadata_file,
            loc
        );
        assert_eq!(
            out.metadata.metadata_log().last().unwrap().timestamp_ms,
            m.last_updated_ms()
        );
        expired_all.extend(out.expired_metadata_logs);
        m = out.metadata;
    }
    let files: Vec<u64> = expired_all
        .iter()
        .map(|e| parse_metadata_version(&e.metadata_file).unwrap())
        .collect();
    assert_eq!(files, [1, 2]);
    let kept: Vec<u64> = m
        .metadata_log()
        .iter()
        .map(|e| parse_metadata_version(&e.metadata_file).unwrap())
        .collect();
    assert_eq!(kept, [3, 4]);
    // Lowering the maximum trims several at once; no change means no new entry.
    let out = apply_commit(
        Some(&m),
        Some("s3://m/00005-x.metadata.json"),
        &[],
        &[TableUpdate::SetProperties {
            updates: props(&[(PROPERTY_METADATA_PREVIOUS_VERSIONS_MAX, "1")]),
        }],
        T0 + 9000,
    )
    .unwrap();
    assert_eq!(out.expired_metadata_logs.len(), 2);
    assert_eq!(out.metadata.metadata_log().len(), 1);
    let none = apply_commit(
        Some(&m),
        Some("s3://m/00005-x.metadata.json"),
        &[],
        &[],
        T0 + 9000,
    )
    .unwrap();
    assert!(!none.changed && none.expired_metadata_logs.is_empty());
    assert_eq!(none.metadata, m);
}

#[test]
fn last_updated_never_goes_back() {
    let m = ok(&base(), &append(1, None, 1, T0 + 50_000), T0 + 10);
    assert_eq!(
        m.last_updated_ms(),
        T0 + 50_000,
        "not before the snapshot-log entry"
    );
    let n = apply_commit(
        Some(&m),
        Some("s3://m/1.metadata.json"),
        &[],
        &[TableUpdate::SetProperties {
            updates: props(&[("a", "b")]),
        }],
        T0,
    )
    .unwrap()
    .metadata;
    assert_eq!(
        n.last_updated_ms(),
        T0 + 50_000,
        "not before the metadata-log entry"
    );
}

#[test]
fn metadata_file_names() {
    let u = Uuid::from_u128(1);
    assert_eq!(
        metadata_file_location("s3://b/t/", 7, u, false),
        format!("s3://b/t/metadata/00007-{u}.metadata.json")
    );
    assert_eq!(
        metadata_file_location("s3://b/t", 123_456, u, true),
        format!("s3://b/t/metadata/123456-{u}.gz.metadata.json")
    );
    assert_eq!(
        parse_metadata_version(&metadata_file_location("s3://b/t", 42, u, true)),
        Some(42)
    );
    assert_eq!(parse_metadata_version("/x/v12.metadata.json"), Some(12));
    assert_eq!(parse_metadata_version("/x/v12.gz.metadata.json"), Some(12));
    for bad in [
        "/x/abc-1.metadata.json",
        "/x/00001-u.json",
        "/x/-u.metadata.json",
        "/x/00001-.metadata.json",
        "/x/v.metadata.json",
        "",
    ] {
        assert_eq!(parse_metadata_version(bad), None, "{bad}");
    }
}

// ---------------------------------------------------------------- property test

fn pool_field(id: i32) -> NestedField {
    match id {
        1 => NestedField::required(1, "id", prim(PrimitiveType::Long)),
        2 => NestedField::optional(2, "data", prim(PrimitiveType::String)),
        3 => NestedField::optional(3, "ts", prim(PrimitiveType::Timestamptz)),
        4 => NestedField::optional(4, "d", prim(PrimitiveType::Date)),
        5 => NestedField::optional(5, "f", prim(PrimitiveType::Double)),
        _ => NestedField::optional(6, "ns", prim(PrimitiveType::TimestampNs)),
    }
}

fn transform_strategy() -> impl Strategy<Value = Transform> {
    prop_oneof![
        Just(Transform::Identity),
        Just(Transform::Bucket(4)),
        Just(Transform::Truncate(3)),
        Just(Transform::Year),
        Just(Transform::Day),
        Just(Transform::Hour),
        Just(Transform::Void),
    ]
}

fn update_strategy() -> impl Strategy<Value = TableUpdate> {
    let name = prop::sample::select(vec!["id", "data", "p1", "p2", "ts_day", ""]);
    let ref_name = prop::sample::select(vec!["main", "main", "b1", "t1"]);
    prop_oneof![
        2 => (prop::collection::btree_set(1..=6_i32, 1..4), 0..3_i32, prop::option::of(0..10_i32)).prop_map(|(ids, sid, last)| {
            let schema = Schema::builder().with_schema_id(sid).with_fields(ids.into_iter().map(pool_field)).build().unwrap();
            TableUpdate::AddSchema { schema, last_column_id: last }
        }),
        1 => (-1..3_i32).prop_map(|schema_id| TableUpdate::SetCurrentSchema { schema_id }),
        2 => prop::collection::vec((1..=7_i32, prop::option::of(998..1004_i32), name, transform_strategy()), 0..3).prop_map(|fs| {
            TableUpdate::AddSpec { spec: UnboundPartitionSpec { spec_id: None, fields: fs.into_iter().map(|(s, id, n, t)| ufield(s, id, n, t)).collect() } }
        }),
        1 => (-1..3_i32).prop_map(|spec_id| TableUpdate::SetDefaultSpec { spec_id }),
        1 => prop::collection::vec((1..=7_i32, transform_strategy()), 0..3).prop_map(|fs| TableUpdate::AddSortOrder {
            sort_order: SortOrder { order_id: 0, fields: fs.into_iter().map(|(s, t)| SortField { transform: t, source_id: s, direction: SortDirection::Asc, null_order: NullOrder::NullsLast }).collect() }
        }),
        1 => (-1..3_i64).prop_map(|sort_order_id| TableUpdate::SetDefaultSortOrder { sort_order_id }),
        6 => (1..6_i64, prop::option::of(1..6_i64), 0..8_i64, -70_000..100_000_i64, prop::sample::select(vec![None, Some(0), Some(0), Some(1)]), prop::option::of(0..20_i64)).prop_map(|(id, parent, seq, dt, schema_id, rows)| {
            let mut s = snap(id, parent, seq, T0 + dt);
            s.schema_id = schema_id;
            s.first_row_id = rows.map(|r| r * 3);
            s.added_rows = rows;
            TableUpdate::AddSnapshot { snapshot: s }
        }),
        6 => (ref_name.clone(), prop::sample::select(vec![true, true, false]), 1..6_i64, prop::option::of(1..3_i32)).prop_map(|(n, branch, id, keep)| TableUpdate::SetSnapshotRef {
            ref_name: n.into(), ref_type: if branch { RefType::Branch } else { RefType::Tag }, snapshot_id: id,
            min_snapshots_to_keep: keep.filter(|_| branch), max_snapshot_age_ms: None, max_ref_age_ms: None,
        }),
        2 => prop::collection::vec(1..6_i64, 0..3).prop_map(|snapshot_ids| TableUpdate::RemoveSnapshots { snapshot_ids }),
        1 => ref_name.prop_map(|n| TableUpdate::RemoveSnapshotRef { ref_name: n.into() }),
        1 => prop::sample::select(vec!["s3://x", "s3://y/", "s3://x", "/"]).prop_map(|l| TableUpdate::SetLocation { location: l.into() }),
        2 => (prop::sample::select(vec!["a", "format-version", PROPERTY_METADATA_PREVIOUS_VERSIONS_MAX, "uuid"]), prop::sample::select(vec!["1", "2", "3", "x"]))
            .prop_map(|(k, v)| TableUpdate::SetProperties { updates: props(&[(k, v)]) }),
        1 => prop::sample::select(vec!["a", "b"]).prop_map(|k| TableUpdate::RemoveProperties { removals: vec![k.into()] }),
        1 => (2..4_i32).prop_map(|format_version| TableUpdate::UpgradeFormatVersion { format_version }),
        1 => prop::collection::vec(0..3_i32, 0..2).prop_map(|spec_ids| TableUpdate::RemovePartitionSpecs { spec_ids }),
        1 => prop::collection::vec(0..3_i32, 0..2).prop_map(|schema_ids| TableUpdate::RemoveSchemas { schema_ids }),
        1 => (1..6_i64).prop_map(|id| TableUpdate::SetStatistics { snapshot_id: None, statistics: StatisticsFile {
            snapshot_id: id, statistics_path: format!("s3://s{id}"), file_size_in_bytes: 1, file_footer_size_in_bytes: 1, key_metadata: None, blob_metadata: vec![] } }),
        1 => (1..6_i64).prop_map(|snapshot_id| TableUpdate::RemoveStatistics { snapshot_id }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn random_commits_never_produce_invalid_metadata(
        partitioned in any::<bool>(),
        commits in prop::collection::vec(prop::collection::vec(update_strategy(), 1..4), 1..10),
    ) {
        let spec = if partitioned { bucket_spec() } else { UnboundPartitionSpec::default() };
        let mut m = TableMetadataBuilder::new_table(schema3(), spec, SortOrder::unsorted(), LOC.into(), HashMap::new())
            .unwrap().build(T0).unwrap().metadata;
        for (i, updates) in commits.iter().enumerate() {
            let now = T0 + 1000 * i64::try_from(i).unwrap();
            let loc = format!("s3://m/{i}.metadata.json");
            match apply_commit(Some(&m), Some(&loc), &[], updates, now) {
                Ok(out) => {
                    prop_assert!(out.metadata.validate().is_ok());
                    prop_assert_eq!(out.changed, !out.changes.is_empty());
                    // The recorded changes, sent through JSON and replayed, give the same table.
                    let json = serde_json::to_string(&out.changes).unwrap();
                    let replay: Vec<TableUpdate> = serde_json::from_str(&json).unwrap();
                    let again = apply_commit(Some(&m), Some(&loc), &[], &replay, now).unwrap();
                    prop_assert_eq!(&again.metadata, &out.metadata);
                    m = out.metadata;
                }
                Err(e) => {
                    prop_assert!(matches!(e.kind(), ErrorKind::DataInvalid | ErrorKind::CommitFailed | ErrorKind::FeatureUnsupported), "{:?}", e);
                }
            }
        }
    }
}

/// Metadata written after commits (snapshot JSON reused from the base's earlier writes)
/// is byte for byte what a fresh value with the same content writes, also when a
/// snapshot id is removed and added again with other content.
#[test]
fn written_json_reuses_snapshot_text_only_for_the_same_snapshot() {
    let fresh = |m: &TableMetadata| {
        TableMetadata::from_json_slice(&m.to_json_vec().unwrap())
            .unwrap()
            .to_json_vec()
            .unwrap()
    };
    let mut meta = base();
    for id in 1..=5 {
        meta = ok(
            &meta,
            &append(id, (id > 1).then_some(id - 1), id, T0 + id),
            T0 + id,
        );
        let written = meta.to_json_vec().unwrap();
        assert_eq!(written, meta.to_json_vec().unwrap());
        assert_eq!(written, fresh(&meta));
    }
    // Snapshot 5 replaced by another snapshot 5 (other manifest list and summary).
    let removed = ok(
        &meta,
        &[
            TableUpdate::set_snapshot_ref("main", &SnapshotReference::branch(4)),
            TableUpdate::RemoveSnapshots {
                snapshot_ids: vec![5],
            },
        ],
        T0 + 10,
    );
    let mut other = snap(5, Some(4), 6, T0 + 11);
    other.manifest_list = format!("{LOC}/metadata/other-5.avro");
    other
        .summary
        .additional_properties
        .insert("added-records".into(), "7".into());
    let readded = ok(
        &removed,
        &[
            TableUpdate::AddSnapshot { snapshot: other },
            TableUpdate::set_snapshot_ref("main", &SnapshotReference::branch(5)),
        ],
        T0 + 11,
    );
    let written = String::from_utf8(readded.to_json_vec().unwrap()).unwrap();
    assert!(written.contains("other-5.avro"), "{written}");
    assert!(!written.contains("snap-5.avro"), "{written}");
    assert_eq!(written.as_bytes(), fresh(&readded));
    // The older values still write what they wrote before.
    assert!(
        String::from_utf8(meta.to_json_vec().unwrap())
            .unwrap()
            .contains("snap-5.avro")
    );
}
