//! Tests of the table metadata JSON codec.

use std::io::Write;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;
use crate::ErrorKind;
use crate::snapshot::SnapshotRetention;
use crate::sort::{NullOrder, SortDirection, SortField};
use crate::transform::Transform;
use crate::types::{ListType, MapType, NestedField, PrimitiveType, StructType, Type};

/// A v2 table with two schemas, two specs, a sort order, two snapshots on `main`, a tag,
/// logs and statistics (modelled on Java's `TableMetadataV2Valid.json`).
const V2: &str = r#"{
  "format-version": 2,
  "table-uuid": "5b3f2a6e-8a1c-4e55-9b1e-7b0f3d3c2a11",
  "location": "s3://warehouse/sales/orders",
  "last-sequence-number": 34,
  "last-updated-ms": 1715000000000,
  "last-column-id": 4,
  "current-schema-id": 1,
  "schemas": [
    {"type": "struct", "schema-id": 0, "fields": [
      {"id": 1, "name": "order_id", "required": true, "type": "long"}]},
    {"type": "struct", "schema-id": 1, "identifier-field-ids": [1], "fields": [
      {"id": 1, "name": "order_id", "required": true, "type": "long"},
      {"id": 2, "name": "placed_at", "required": false, "type": "timestamptz", "doc": "when"},
      {"id": 3, "name": "amount", "required": false, "type": "decimal(12,2)"},
      {"id": 4, "name": "region", "required": false, "type": "string"}]}
  ],
  "default-spec-id": 1,
  "partition-specs": [
    {"spec-id": 0, "fields": []},
    {"spec-id": 1, "fields": [
      {"name": "placed_day", "transform": "day", "source-id": 2, "field-id": 1000},
      {"name": "region_bucket", "transform": "bucket[8]", "source-id": 4, "field-id": 1001}]}
  ],
  "last-partition-id": 1001,
  "default-sort-order-id": 3,
  "sort-orders": [
    {"order-id": 0, "fields": []},
    {"order-id": 3, "fields": [
      {"transform": "identity", "source-id": 2, "direction": "asc", "null-order": "nulls-first"},
      {"transform": "bucket[4]", "source-id": 4, "direction": "desc", "null-order": "nulls-last"}]}
  ],
  "properties": {"write.format.default": "parquet", "owner": "sales"},
  "current-snapshot-id": 3055729675574597004,
  "snapshots": [
    {"snapshot-id": 3051729675574597004, "timestamp-ms": 1714000000000,
     "sequence-number": 33,
     "summary": {"operation": "append", "added-data-files": "2", "added-records": "10"},
     "manifest-list": "s3://warehouse/sales/orders/metadata/snap-3051729675574597004-1-a.avro",
     "schema-id": 0},
    {"snapshot-id": 3055729675574597004, "parent-snapshot-id": 3051729675574597004,
     "timestamp-ms": 1715000000000, "sequence-number": 34,
     "summary": {"operation": "overwrite", "deleted-data-files": "1"},
     "manifest-list": "s3://warehouse/sales/orders/metadata/snap-3055729675574597004-1-b.avro",
     "schema-id": 1}
  ],
  "refs": {
    "main": {"snapshot-id": 3055729675574597004, "type": "branch"},
    "eod": {"snapshot-id": 3051729675574597004, "type": "tag", "max-ref-age-ms": 86400000}
  },
  "statistics": [
    {"snapshot-id": 3055729675574597004,
     "statistics-path": "s3://warehouse/sales/orders/metadata/stats.puffin",
     "file-size-in-bytes": 413, "file-footer-size-in-bytes": 42,
     "blob-metadata": [{"type": "apache-datasketches-theta-v1",
       "snapshot-id": 3055729675574597004, "sequence-number": 34, "fields": [1]}]}
  ],
  "partition-statistics": [],
  "snapshot-log": [
    {"timestamp-ms": 1714000000000, "snapshot-id": 3051729675574597004},
    {"timestamp-ms": 1715000000000, "snapshot-id": 3055729675574597004}
  ],
  "metadata-log": [
    {"timestamp-ms": 1714000000000, "metadata-file": "s3://warehouse/sales/orders/metadata/00000-a.metadata.json"}
  ]
}"#;

/// A v1 table as old Java versions wrote it: the single `schema`, a `partition-spec`
/// field list without field ids, no `table-uuid`, no sort orders, snapshots without
/// sequence numbers.
const V1_LEGACY: &str = r#"{
  "format-version": 1,
  "location": "hdfs://nn/warehouse/events",
  "last-updated-ms": 1600000000000,
  "last-column-id": 3,
  "schema": {"type": "struct", "fields": [
    {"id": 1, "name": "ts", "required": true, "type": "timestamp"},
    {"id": 2, "name": "kind", "required": true, "type": "string"},
    {"id": 3, "name": "payload", "required": false, "type": "binary"}]},
  "partition-spec": [
    {"name": "ts_day", "transform": "day", "source-id": 1},
    {"name": "kind", "transform": "identity", "source-id": 2}],
  "properties": {},
  "current-snapshot-id": 77,
  "snapshots": [
    {"snapshot-id": 76, "timestamp-ms": 1599000000000,
     "manifest-list": "hdfs://nn/warehouse/events/metadata/snap-76.avro"},
    {"snapshot-id": 77, "parent-snapshot-id": 76, "timestamp-ms": 1600000000000,
     "summary": {"operation": "append", "added-data-files": "1"},
     "manifest-list": "hdfs://nn/warehouse/events/metadata/snap-77.avro"}
  ],
  "snapshot-log": [{"timestamp-ms": 1600000000000, "snapshot-id": 77}]
}"#;

/// A v1 table as current Java writes it: both the legacy and the new keys.
const V1_MODERN: &str = r#"{
  "format-version": 1,
  "table-uuid": "d20125c8-7284-442c-9aea-15fee620737c",
  "location": "s3://bucket/test/location",
  "last-updated-ms": 1602638573874,
  "last-column-id": 3,
  "schema": {"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "x", "required": true, "type": "long"},
    {"id": 2, "name": "y", "required": true, "type": "long", "doc": "comment"},
    {"id": 3, "name": "z", "required": true, "type": "long"}]},
  "current-schema-id": 0,
  "schemas": [{"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "x", "required": true, "type": "long"},
    {"id": 2, "name": "y", "required": true, "type": "long", "doc": "comment"},
    {"id": 3, "name": "z", "required": true, "type": "long"}]}],
  "partition-spec": [{"name": "x", "transform": "identity", "source-id": 1, "field-id": 1000}],
  "default-spec-id": 0,
  "partition-specs": [{"spec-id": 0, "fields": [
    {"name": "x", "transform": "identity", "source-id": 1, "field-id": 1000}]}],
  "last-partition-id": 1000,
  "default-sort-order-id": 0,
  "sort-orders": [{"order-id": 0, "fields": []}],
  "properties": {"commit.retry.num-retries": "1"},
  "current-snapshot-id": -1,
  "refs": {},
  "snapshots": [],
  "statistics": [],
  "partition-statistics": [],
  "snapshot-log": [],
  "metadata-log": []
}"#;

/// A v3 table: `next-row-id`, row lineage on snapshots, nanosecond timestamps, a
/// `row-lineage` flag from a Java development build, empty `encryption-keys`, and
/// `current-snapshot-id: null` with an empty `main`-less `refs`.
const V3: &str = r#"{
  "format-version": 3,
  "table-uuid": "0195c6a4-5d8e-7a01-b2e4-6c0ddc2a9f10",
  "location": "s3://lake/db/clicks",
  "last-sequence-number": 2,
  "last-updated-ms": 1730000000000,
  "last-column-id": 3,
  "current-schema-id": 0,
  "schemas": [{"type": "struct", "schema-id": 0, "fields": [
    {"id": 1, "name": "id", "required": true, "type": "long"},
    {"id": 2, "name": "at", "required": false, "type": "timestamp_ns"},
    {"id": 3, "name": "url", "required": false, "type": "string"}]}],
  "default-spec-id": 0,
  "partition-specs": [{"spec-id": 0, "fields": [
    {"name": "at_hour", "transform": "hour", "source-id": 2, "field-id": 1000}]}],
  "last-partition-id": 1000,
  "default-sort-order-id": 0,
  "sort-orders": [{"order-id": 0, "fields": []}],
  "properties": {"format-version": "3"},
  "current-snapshot-id": null,
  "next-row-id": 150,
  "row-lineage": true,
  "encryption-keys": [],
  "refs": {"audit": {"snapshot-id": 11, "type": "branch", "min-snapshots-to-keep": 2}},
  "snapshots": [
    {"snapshot-id": 10, "sequence-number": 1, "timestamp-ms": 1729000000000,
     "summary": {"operation": "append"}, "manifest-list": "s3://lake/db/clicks/metadata/snap-10.avro",
     "schema-id": 0, "first-row-id": 0, "added-rows": 100},
    {"snapshot-id": 11, "parent-snapshot-id": 10, "sequence-number": 2,
     "timestamp-ms": 1730000000000, "summary": {"operation": "append"},
     "manifest-list": "s3://lake/db/clicks/metadata/snap-11.avro",
     "schema-id": 0, "first-row-id": 100, "added-rows": 50}
  ]
}"#;

fn parse(json: &str) -> TableMetadata {
    TableMetadata::from_json_str(json).unwrap()
}

fn object(json: &str) -> Map<String, Value> {
    match serde_json::from_str(json).unwrap() {
        Value::Object(m) => m,
        _ => unreachable!("fixtures are objects"),
    }
}

/// Parses from bytes (fields deserialized from raw text) and from a `Value`: both paths
/// must agree (same metadata, or errors of the same kind naming the same field); the
/// bytes path's result is returned.
fn parse_map(map: Map<String, Value>) -> Result<TableMetadata> {
    let bytes = serde_json::to_vec(&map).unwrap();
    let via_bytes = TableMetadata::from_json_slice(&bytes);
    let via_value = TableMetadata::from_json_value(Value::Object(map));
    match (&via_bytes, &via_value) {
        (Ok(a), Ok(b)) => {
            // v1 files without a `table-uuid` get a random one.
            let mut b = b.clone();
            b.table_uuid = a.table_uuid;
            assert_eq!(a, &b);
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.kind(), b.kind(), "{a} / {b}");
            assert_eq!(a.context(), b.context(), "{a} / {b}");
        }
        _ => panic!("bytes and Value paths disagree: {via_bytes:?} / {via_value:?}"),
    }
    via_bytes
}

fn round_trip(m: &TableMetadata) -> TableMetadata {
    TableMetadata::from_json_slice(&m.to_json_vec().unwrap()).unwrap()
}

#[test]
fn reads_v2() {
    let m = parse(V2);
    assert_eq!(m.format_version(), FormatVersion::V2);
    assert_eq!(
        m.table_uuid().to_string(),
        "5b3f2a6e-8a1c-4e55-9b1e-7b0f3d3c2a11"
    );
    assert_eq!(m.location(), "s3://warehouse/sales/orders");
    assert_eq!(m.last_sequence_number(), 34);
    assert_eq!(m.last_column_id(), 4);
    assert_eq!(m.schemas().len(), 2);
    assert_eq!(m.current_schema().schema_id(), 1);
    assert_eq!(m.current_schema().identifier_field_ids(), &[1]);
    assert_eq!(m.default_partition_spec().fields.len(), 2);
    assert_eq!(
        m.default_partition_spec().fields[1].transform,
        Transform::Bucket(8)
    );
    assert_eq!(m.last_partition_id(), 1001);
    let order = m.default_sort_order();
    assert_eq!(order.order_id, 3);
    assert_eq!(order.fields[1].direction, SortDirection::Desc);
    assert_eq!(order.fields[1].null_order, NullOrder::NullsLast);
    assert_eq!(m.properties()["owner"], "sales");
    let current = m.current_snapshot().unwrap();
    assert_eq!(current.snapshot_id, 3_055_729_675_574_597_004);
    assert_eq!(current.sequence_number, 34);
    assert_eq!(current.parent_snapshot_id, Some(3_051_729_675_574_597_004));
    assert_eq!(current.summary.operation, Operation::Overwrite);
    assert_eq!(
        current.summary.additional_properties["deleted-data-files"],
        "1"
    );
    assert!(
        !current
            .summary
            .additional_properties
            .contains_key("operation")
    );
    assert_eq!(m.refs().len(), 2);
    assert_eq!(
        m.refs()["eod"].retention,
        SnapshotRetention::Tag {
            max_ref_age_ms: Some(86_400_000)
        }
    );
    assert_eq!(m.snapshot_log().len(), 2);
    assert_eq!(m.metadata_log()[0].timestamp_ms, 1_714_000_000_000);
    assert_eq!(m.statistics()[0].blob_metadata[0].fields, vec![1]);
    assert_eq!(m.next_row_id(), None);
}

#[test]
fn reads_legacy_v1() {
    let m = parse(V1_LEGACY);
    assert_eq!(m.format_version(), FormatVersion::V1);
    assert!(!m.table_uuid().is_nil());
    // Java assigns a fresh random UUID to a v1 table without one.
    assert_ne!(parse(V1_LEGACY).table_uuid(), m.table_uuid());
    assert_eq!(m.current_schema_id(), 0);
    assert_eq!(m.schemas().len(), 1);
    let spec = m.default_partition_spec();
    assert_eq!(spec.spec_id, 0);
    let ids: Vec<i32> = spec.fields.iter().map(|f| f.field_id).collect();
    assert_eq!(ids, vec![1000, 1001]);
    assert_eq!(m.last_partition_id(), 1001);
    assert_eq!(m.default_sort_order_id(), 0);
    assert!(m.default_sort_order().is_unsorted());
    assert_eq!(m.last_sequence_number(), 0);
    assert!(m.snapshots().values().all(|s| s.sequence_number == 0));
    // A v1 snapshot without a summary reads as an append.
    assert_eq!(m.snapshot_by_id(76).unwrap().summary, Summary::default());
    // No `refs`: `main` is made from current-snapshot-id.
    assert_eq!(m.refs().len(), 1);
    assert_eq!(m.refs()[MAIN_BRANCH], SnapshotReference::branch(77));
    assert_eq!(m.snapshot_for_ref(MAIN_BRANCH).unwrap().snapshot_id, 77);
}

#[test]
fn reads_modern_v1() {
    let m = parse(V1_MODERN);
    assert_eq!(m.current_snapshot_id(), None);
    assert!(m.refs().is_empty());
    assert_eq!(m.default_partition_spec().fields[0].field_id, 1000);
    assert_eq!(
        m.current_schema().fields()[1].doc.as_deref(),
        Some("comment")
    );
}

#[test]
fn v1_partition_specs_without_field_ids_continue_after_given_ones() {
    let mut map = object(V1_MODERN);
    map.insert(
        "partition-specs".into(),
        json!([{"spec-id": 0, "fields": [
            {"name": "y", "transform": "identity", "source-id": 2, "field-id": 1004},
            {"name": "z", "transform": "identity", "source-id": 3}]}]),
    );
    map.remove("last-partition-id");
    let m = parse_map(map).unwrap();
    let ids: Vec<i32> = m
        .default_partition_spec()
        .fields
        .iter()
        .map(|f| f.field_id)
        .collect();
    assert_eq!(ids, vec![1004, 1005]);
    assert_eq!(m.last_partition_id(), 1005);
}

#[test]
fn v1_unpartitioned_last_partition_id_is_999() {
    let mut map = object(V1_LEGACY);
    map.insert("partition-spec".into(), json!([]));
    let m = parse_map(map).unwrap();
    assert!(m.default_partition_spec().fields.is_empty());
    assert_eq!(m.last_partition_id(), 999);
}

#[test]
fn reads_v3() {
    let m = parse(V3);
    assert_eq!(m.format_version(), FormatVersion::V3);
    assert_eq!(m.next_row_id(), Some(150));
    assert_eq!(m.current_snapshot_id(), None);
    assert_eq!(m.refs().len(), 1);
    let s = m.snapshot_by_id(11).unwrap();
    assert_eq!((s.first_row_id, s.added_rows), (Some(100), Some(50)));
    assert_eq!(
        m.current_schema().fields()[1].field_type.as_primitive(),
        Some(&PrimitiveType::TimestampNs)
    );
}

#[test]
fn round_trips_every_fixture() {
    for fixture in [V1_LEGACY, V1_MODERN, V2, V3] {
        let m = parse(fixture);
        assert_eq!(round_trip(&m), m);
        // The serde impls agree with the explicit functions.
        let via_serde: TableMetadata =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        assert_eq!(via_serde, m);
        assert_eq!(serde_json::to_vec(&m).unwrap(), m.to_json_vec().unwrap());
        // Writing is deterministic.
        assert_eq!(
            m.to_json_vec().unwrap(),
            round_trip(&m).to_json_vec().unwrap()
        );
    }
}

#[test]
fn writes_fields_in_java_order() {
    let v = parse(V2).to_json_value().unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        vec![
            "format-version",
            "table-uuid",
            "location",
            "last-sequence-number",
            "last-updated-ms",
            "last-column-id",
            "current-schema-id",
            "schemas",
            "default-spec-id",
            "partition-specs",
            "last-partition-id",
            "default-sort-order-id",
            "sort-orders",
            "properties",
            "current-snapshot-id",
            "refs",
            "snapshots",
            "statistics",
            "partition-statistics",
            "snapshot-log",
            "metadata-log",
        ]
    );
    // Snapshots in commit order, each with `operation` first in its summary.
    let snapshots = v["snapshots"].as_array().unwrap();
    assert_eq!(snapshots[0]["sequence-number"], 33);
    assert_eq!(snapshots[1]["sequence-number"], 34);
    for s in snapshots {
        let summary_keys: Vec<&String> = s["summary"].as_object().unwrap().keys().collect();
        assert_eq!(summary_keys[0], "operation");
    }
    let snapshot_keys: Vec<&str> = snapshots[1]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        snapshot_keys,
        vec![
            "sequence-number",
            "snapshot-id",
            "parent-snapshot-id",
            "timestamp-ms",
            "summary",
            "manifest-list",
            "schema-id"
        ]
    );
}

#[test]
fn writes_empty_collections_not_null() {
    let m = TableMetadata::for_tests(FormatVersion::V2);
    let v = m.to_json_value().unwrap();
    assert_eq!(v["properties"], json!({}));
    assert_eq!(v["refs"], json!({}));
    for key in [
        "snapshots",
        "statistics",
        "partition-statistics",
        "snapshot-log",
        "metadata-log",
    ] {
        assert_eq!(v[key], json!([]), "{key}");
    }
    assert_eq!(v["current-snapshot-id"], json!(-1));
    assert_eq!(v["schemas"][0]["identifier-field-ids"], json!([]));
    assert!(v.get("schema").is_none() && v.get("partition-spec").is_none());
    assert!(v.get("next-row-id").is_none());
}

#[test]
fn v3_writes_null_current_snapshot_and_next_row_id() {
    let v = parse(V3).to_json_value().unwrap();
    assert_eq!(v["current-snapshot-id"], Value::Null);
    assert_eq!(v["next-row-id"], json!(150));
    assert!(v.get("row-lineage").is_none());
    assert!(v.get("encryption-keys").is_none());
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    let pos = |k: &str| keys.iter().position(|x| *x == k).unwrap();
    assert_eq!(pos("next-row-id"), pos("current-snapshot-id") + 1);
    assert_eq!(v["snapshots"][1]["first-row-id"], json!(100));
    assert_eq!(v["snapshots"][1]["added-rows"], json!(50));
}

#[test]
fn v1_writes_legacy_keys_for_older_readers() {
    let m = parse(V1_LEGACY);
    let v = m.to_json_value().unwrap();
    assert_eq!(v["format-version"], json!(1));
    assert_eq!(v["schema"], v["schemas"][0]);
    assert_eq!(v["partition-spec"], v["partition-specs"][0]["fields"]);
    assert!(v.get("last-sequence-number").is_none());
    for s in v["snapshots"].as_array().unwrap() {
        assert!(s.get("sequence-number").is_none(), "{s}");
    }
    // The generated UUID is written, so it survives the round trip.
    assert_eq!(v["table-uuid"], json!(m.table_uuid().to_string()));
}

#[test]
fn current_snapshot_id_minus_one_is_none() {
    let mut map = object(V2);
    map.insert("current-snapshot-id".into(), json!(-1));
    map.insert("refs".into(), json!({}));
    let m = parse_map(map).unwrap();
    assert_eq!(m.current_snapshot_id(), None);
    assert!(m.current_snapshot().is_none());
    assert!(!m.has_main());
    assert_eq!(m.to_json_value().unwrap()["current-snapshot-id"], json!(-1));
}

#[test]
fn main_branch_is_synthesised_from_current_snapshot_id() {
    for refs in [
        None,
        Some(Value::Null),
        Some(json!({"eod": {"snapshot-id": 3_051_729_675_574_597_004_i64, "type": "tag"}})),
    ] {
        let mut map = object(V2);
        match &refs {
            None => {
                map.remove("refs");
            }
            Some(r) => {
                map.insert("refs".into(), r.clone());
            }
        }
        let m = parse_map(map).unwrap();
        assert_eq!(
            m.refs()[MAIN_BRANCH],
            SnapshotReference::branch(3_055_729_675_574_597_004),
            "{refs:?}"
        );
        assert!(m.refs()[MAIN_BRANCH].is_branch());
    }
}

#[test]
fn main_must_agree_with_current_snapshot_id() {
    let mut map = object(V2);
    map.insert(
        "current-snapshot-id".into(),
        json!(3_051_729_675_574_597_004_i64),
    );
    let e = parse_map(map).unwrap_err();
    assert!(e.to_string().contains("main"), "{e}");
}

#[test]
fn null_optional_collections_read_as_empty() {
    let mut map = object(V2);
    for key in [
        "properties",
        "snapshots",
        "statistics",
        "partition-statistics",
        "snapshot-log",
        "metadata-log",
        "refs",
    ] {
        map.insert(key.into(), Value::Null);
    }
    map.insert("current-snapshot-id".into(), Value::Null);
    let m = parse_map(map).unwrap();
    assert!(m.properties().is_empty() && m.snapshots().is_empty() && m.refs().is_empty());
    assert!(m.snapshot_log().is_empty() && m.metadata_log().is_empty());
}

const V2_REQUIRED: [&str; 13] = [
    "format-version",
    "table-uuid",
    "location",
    "last-sequence-number",
    "last-updated-ms",
    "last-column-id",
    "schemas",
    "current-schema-id",
    "partition-specs",
    "default-spec-id",
    "last-partition-id",
    "sort-orders",
    "default-sort-order-id",
];

#[test]
fn every_missing_required_v2_field_is_named() {
    for field in V2_REQUIRED {
        for null in [false, true] {
            let mut map = object(V2);
            if null {
                map.insert(field.into(), Value::Null);
            } else {
                map.remove(field);
            }
            let e = parse_map(map).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::DataInvalid, "{field}: {e}");
            assert!(
                e.to_string().contains(&format!("`{field}`")),
                "{field}: {e}"
            );
            assert!(
                e.context().contains(&("field", field.to_string())),
                "{field}: {e}"
            );
        }
    }
}

#[test]
fn every_missing_required_v3_field_is_named() {
    for field in V2_REQUIRED.iter().copied().chain(["next-row-id"]) {
        let mut map = object(V3);
        map.remove(field);
        let e = parse_map(map).unwrap_err();
        assert!(
            e.to_string().contains(&format!("`{field}`")),
            "{field}: {e}"
        );
    }
}

#[test]
fn v1_needs_a_schema_and_a_spec() {
    for (remove, named) in [
        (&["schema", "schemas"][..], "schemas"),
        (
            &["partition-spec", "partition-specs"][..],
            "partition-specs",
        ),
        (&["location"][..], "location"),
        (&["last-column-id"][..], "last-column-id"),
        (&["last-updated-ms"][..], "last-updated-ms"),
    ] {
        let mut map = object(V1_MODERN);
        for k in remove {
            map.remove(*k);
        }
        let e = parse_map(map).unwrap_err();
        assert!(
            e.to_string().contains(&format!("`{named}`")),
            "{named}: {e}"
        );
    }
    // `schemas` without `current-schema-id` falls back to the legacy `schema`.
    let mut map = object(V1_MODERN);
    map.remove("current-schema-id");
    assert_eq!(parse_map(map).unwrap().current_schema_id(), 0);
    let mut map = object(V1_MODERN);
    map.remove("current-schema-id");
    map.remove("schema");
    let e = parse_map(map).unwrap_err();
    assert!(e.to_string().contains("`current-schema-id`"), "{e}");
}

#[test]
fn wrong_types_are_named() {
    let cases: [(&str, Value); 12] = [
        ("format-version", json!("2")),
        ("table-uuid", json!("not-a-uuid")),
        ("location", json!(7)),
        ("last-sequence-number", json!("34")),
        ("last-column-id", json!(4.5)),
        ("schemas", json!({})),
        ("partition-specs", json!([{"spec-id": "x", "fields": []}])),
        (
            "sort-orders",
            json!([{"order-id": 0, "fields": [{"transform": "nope"}]}]),
        ),
        ("properties", json!({"owner": 1})),
        ("refs", json!({"main": {"snapshot-id": 1, "type": "twig"}})),
        ("snapshot-log", json!([{"snapshot-id": "x"}])),
        ("current-snapshot-id", json!(true)),
    ];
    for (field, value) in cases {
        let mut map = object(V2);
        map.insert(field.into(), value);
        let e = parse_map(map).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DataInvalid, "{field}: {e}");
        assert!(
            e.to_string().contains(&format!("`{field}`")),
            "{field}: {e}"
        );
    }
}

#[test]
fn bad_snapshots_are_named() {
    let cases: [(Value, &str); 6] = [
        (json!({"snapshots": 3}), "`snapshots`"),
        (json!({"snapshot-id": 5}), "`timestamp-ms`"),
        (
            json!({"snapshot-id": 5, "timestamp-ms": 1, "summary": {"operation": "append"}}),
            "`manifest-list`",
        ),
        (
            json!({"snapshot-id": 5, "timestamp-ms": 1, "manifest-list": "m"}),
            "`summary`",
        ),
        (
            json!({"snapshot-id": 5, "timestamp-ms": 1, "manifest-list": "m", "summary": {"operation": "merge"}}),
            "`merge`",
        ),
        (
            json!({"snapshot-id": 5, "timestamp-ms": 1, "manifest-list": "m", "summary": {"operation": "append", "added-records": 3}}),
            "`added-records`",
        ),
    ];
    for (snapshot, named) in cases {
        let mut map = object(V2);
        if let Some(v) = snapshot.get("snapshots") {
            map.insert("snapshots".into(), v.clone());
        } else {
            map["snapshots"].as_array_mut().unwrap().push(snapshot);
        }
        let e = parse_map(map).unwrap_err();
        assert!(e.to_string().contains(named), "{named}: {e}");
    }
}

#[test]
fn summary_without_operation_reads_as_overwrite() {
    let mut map = object(V2);
    map["snapshots"][0]["summary"] = json!({"added-data-files": "2"});
    let m = parse_map(map).unwrap();
    let s = m.snapshot_by_id(3_051_729_675_574_597_004).unwrap();
    assert_eq!(s.summary.operation, Operation::Overwrite);
    assert_eq!(s.summary.additional_properties["added-data-files"], "2");
}

#[test]
fn v2_snapshot_without_sequence_number_reads_as_zero() {
    // Java omits a 0 sequence number: snapshots of a table upgraded from v1.
    let mut map = object(V2);
    map["snapshots"][0]
        .as_object_mut()
        .unwrap()
        .remove("sequence-number");
    let m = parse_map(map).unwrap();
    assert_eq!(
        m.snapshot_by_id(3_051_729_675_574_597_004)
            .unwrap()
            .sequence_number,
        0
    );
}

#[test]
fn v3_first_row_id_needs_added_rows() {
    let mut map = object(V3);
    map["snapshots"][1]
        .as_object_mut()
        .unwrap()
        .remove("added-rows");
    let e = parse_map(map).unwrap_err();
    assert!(e.to_string().contains("`added-rows`"), "{e}");
}

#[test]
fn unknown_fields_are_named() {
    let mut map = object(V2);
    map.insert("zz-extra".into(), json!(1));
    map.insert("current-snapshot".into(), json!(1));
    let e = parse_map(map).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataInvalid);
    let msg = e.to_string();
    assert!(
        msg.contains("`zz-extra`") && msg.contains("`current-snapshot`"),
        "{msg}"
    );
    assert!(
        e.context()
            .contains(&("field", "current-snapshot".to_string())),
        "{e}"
    );
}

#[test]
fn known_legacy_fields_are_tolerated() {
    // Old Java versions wrote `schema` and `partition-spec` into v2 files too.
    let mut map = object(V2);
    map.insert("schema".into(), json!({"type": "struct", "fields": []}));
    map.insert("partition-spec".into(), json!([]));
    map.insert("row-lineage".into(), json!(false));
    map.insert("next-row-id".into(), json!(5));
    assert_eq!(parse_map(map).unwrap(), parse(V2));
    let mut map = object(V1_MODERN);
    map.insert("last-sequence-number".into(), json!(9));
    assert_eq!(parse_map(map).unwrap().last_sequence_number(), 0);
}

#[test]
fn unsupported_inputs() {
    let mut map = object(V2);
    map.insert("format-version".into(), json!(4));
    let e = parse_map(map).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::FeatureUnsupported, "{e}");
    assert!(e.to_string().contains('4'), "{e}");

    let mut map = object(V3);
    map.insert(
        "encryption-keys".into(),
        json!([{"key-id": "5f819b", "encrypted-key-metadata": "aWNlYmVyZwo="}]),
    );
    let e = parse_map(map).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::FeatureUnsupported, "{e}");
    assert!(e.to_string().contains("`encryption-keys`"), "{e}");

    let mut map = object(V1_LEGACY);
    map["snapshots"][0] = json!({"snapshot-id": 76, "timestamp-ms": 1,
        "manifests": ["hdfs://nn/warehouse/events/metadata/m0.avro"]});
    let e = parse_map(map).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::FeatureUnsupported, "{e}");
    assert!(e.to_string().contains("`manifests`"), "{e}");
}

#[test]
fn inconsistent_metadata_is_rejected() {
    let cases: [(&str, Value, &str); 5] = [
        ("current-schema-id", json!(7), "current-schema-id 7"),
        ("default-spec-id", json!(9), "default-spec-id 9"),
        ("last-column-id", json!(2), "last-column-id 2"),
        ("last-sequence-number", json!(10), "last-sequence-number 10"),
        (
            "schemas",
            json!([{"type": "struct", "schema-id": 1, "fields": []},
                   {"type": "struct", "schema-id": 1, "fields": []}]),
            "`schemas`",
        ),
    ];
    for (field, value, expect) in cases {
        let mut map = object(V2);
        map.insert(field.into(), value);
        let e = parse_map(map).unwrap_err();
        assert!(e.to_string().contains(expect), "{field}: {e}");
    }
}

#[test]
fn not_an_object_or_not_json() {
    let e = TableMetadata::from_json_str("[1]").unwrap_err();
    assert!(e.to_string().contains("object"), "{e}");
    let e = TableMetadata::from_json_slice(b"{\"format-version\": 2,").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataInvalid);
    assert!(serde_json::from_str::<TableMetadata>("{\"format-version\": 2}").is_err());
}

#[test]
fn reads_gzip() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(V2.as_bytes()).unwrap();
    let gz = encoder.finish().unwrap();
    assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    assert_eq!(TableMetadata::from_json_slice(&gz).unwrap(), parse(V2));

    let m = parse(V3);
    let written = m.to_json_gzip_vec().unwrap();
    assert_eq!(&written[..2], &[0x1f, 0x8b]);
    assert_eq!(TableMetadata::from_json_slice(&written).unwrap(), m);

    let e = TableMetadata::from_json_slice(&gz[..gz.len() / 2]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataInvalid);
    assert!(e.to_string().contains("gzip"), "{e}");
}

#[test]
fn test_helper_is_valid_in_every_version() {
    for v in [FormatVersion::V1, FormatVersion::V2, FormatVersion::V3] {
        let m = TableMetadata::for_tests(v);
        m.validate().unwrap();
        assert_eq!(round_trip(&m), m);
    }
}

// ---------------------------------------------------------------------------------------
// Property test: random valid metadata survives a JSON round trip.
// ---------------------------------------------------------------------------------------

fn primitive() -> impl Strategy<Value = PrimitiveType> {
    prop_oneof![
        Just(PrimitiveType::Boolean),
        Just(PrimitiveType::Int),
        Just(PrimitiveType::Long),
        Just(PrimitiveType::Double),
        Just(PrimitiveType::Date),
        Just(PrimitiveType::Timestamptz),
        Just(PrimitiveType::String),
        Just(PrimitiveType::Uuid),
        Just(PrimitiveType::Binary),
        (1u32..=38, 0u32..=10).prop_map(|(p, s)| PrimitiveType::Decimal {
            precision: p,
            scale: s.min(p)
        }),
        (1u64..64).prop_map(PrimitiveType::Fixed),
    ]
}

/// The shape of a top-level column; ids are assigned afterwards.
#[derive(Debug, Clone)]
enum Shape {
    Prim(PrimitiveType),
    List(PrimitiveType, bool),
    Map(PrimitiveType, bool),
    Struct(Vec<PrimitiveType>),
}

fn shape() -> impl Strategy<Value = Shape> {
    prop_oneof![
        4 => primitive().prop_map(Shape::Prim),
        1 => (primitive(), any::<bool>()).prop_map(|(p, r)| Shape::List(p, r)),
        1 => (primitive(), any::<bool>()).prop_map(|(p, r)| Shape::Map(p, r)),
        1 => prop::collection::vec(primitive(), 1..3).prop_map(Shape::Struct),
    ]
}

/// Builds schema `schema_id` from shapes, assigning ids from `next_id`.
fn build_schema(schema_id: i32, columns: &[(Shape, bool)], next_id: &mut i32) -> Schema {
    let mut take = || {
        *next_id += 1;
        *next_id
    };
    let fields = columns
        .iter()
        .enumerate()
        .map(|(i, (shape, required))| {
            let id = take();
            let ty = match shape {
                Shape::Prim(p) => Type::Primitive(p.clone()),
                Shape::List(p, r) => Type::List(ListType::new(take(), p.clone().into(), *r)),
                Shape::Map(p, r) => Type::Map(MapType::new(
                    take(),
                    PrimitiveType::String.into(),
                    take(),
                    p.clone().into(),
                    *r,
                )),
                Shape::Struct(ps) => Type::Struct(StructType::new(
                    ps.iter()
                        .enumerate()
                        .map(|(j, p)| {
                            NestedField::optional(take(), format!("f{j}"), p.clone().into())
                        })
                        .collect(),
                )),
            };
            let field = NestedField::new(id, format!("c{i}"), ty, *required);
            if i == 0 {
                field.with_doc("first column")
            } else {
                field
            }
        })
        .collect::<Vec<_>>();
    Schema::builder()
        .with_schema_id(schema_id)
        .with_fields(fields)
        .build()
        .unwrap()
}

fn transform() -> impl Strategy<Value = Transform> {
    prop_oneof![
        Just(Transform::Identity),
        Just(Transform::Void),
        Just(Transform::Day),
        (1u32..100).prop_map(Transform::Bucket),
        (1u32..100).prop_map(Transform::Truncate),
    ]
}

fn string_map() -> impl Strategy<Value = HashMap<String, String>> {
    prop::collection::hash_map("[a-z][a-z.-]{0,12}", "[ -~]{0,12}", 0..4)
}

prop_compose! {
    fn metadata()(
        version in prop_oneof![Just(FormatVersion::V1), Just(FormatVersion::V2), Just(FormatVersion::V3)],
        uuid in any::<u128>(),
        schema_columns in prop::collection::vec(prop::collection::vec((shape(), any::<bool>()), 1..5), 1..4),
        column_slack in 0i32..3,
        current_schema_pick in any::<prop::sample::Index>(),
        spec_fields in prop::collection::vec(prop::collection::vec(transform(), 0..3), 1..3),
        partition_slack in 0i32..3,
        sort_fields in prop::collection::vec((transform(), any::<bool>(), any::<bool>()), 0..3),
        properties in string_map(),
        snapshot_props in prop::collection::vec(
            (string_map(), prop_oneof![Just(Operation::Append), Just(Operation::Overwrite), Just(Operation::Delete), Just(Operation::Replace)], 1i64..5, 1i64..10_000),
            0..5),
        tag_pick in prop::option::of(any::<prop::sample::Index>()),
        with_main in any::<bool>(),
        with_logs in any::<bool>(),
        last_updated_ms in 0i64..4_000_000_000_000,
        location in "s3://[a-z]{3,8}/[a-z]{1,8}",
    ) -> TableMetadata {
        let v1 = version == FormatVersion::V1;
        let v3 = version >= FormatVersion::V3;
        let mut next_id = 0;
        let schemas: Vec<Schema> = schema_columns
            .iter()
            .enumerate()
            .map(|(i, cols)| {
                // Each schema keeps the ids it had and adds new ones (like evolution).
                build_schema(i as i32, cols, &mut next_id)
            })
            .collect();
        let current_schema_id = current_schema_pick.index(schemas.len()) as i32;
        let source_ids: Vec<i32> = schemas[current_schema_id as usize]
            .fields()
            .iter()
            .map(|f| f.id)
            .collect();
        let mut next_partition_id = PARTITION_DATA_ID_START - 1;
        let specs: Vec<PartitionSpec> = spec_fields
            .iter()
            .enumerate()
            .map(|(i, transforms)| PartitionSpec {
                spec_id: i as i32,
                fields: transforms
                    .iter()
                    .enumerate()
                    .map(|(j, t)| {
                        next_partition_id += 1;
                        PartitionField {
                            source_id: source_ids[j % source_ids.len()],
                            field_id: next_partition_id,
                            name: format!("p{i}_{j}"),
                            transform: *t,
                        }
                    })
                    .collect(),
            })
            .collect();
        let default_spec_id = specs.len() as i32 - 1;
        let mut sort_orders = vec![SortOrder::unsorted()];
        if !sort_fields.is_empty() {
            sort_orders.push(SortOrder {
                order_id: 1,
                fields: sort_fields
                    .iter()
                    .enumerate()
                    .map(|(j, (t, asc, nulls_first))| SortField {
                        transform: *t,
                        source_id: source_ids[j % source_ids.len()],
                        direction: if *asc { SortDirection::Asc } else { SortDirection::Desc },
                        null_order: if *nulls_first { NullOrder::NullsFirst } else { NullOrder::NullsLast },
                    })
                    .collect(),
            });
        }
        let default_sort_order_id = sort_orders.len() as i64 - 1;

        // A chain of snapshots with increasing sequence numbers and timestamps.
        let mut snapshots = Vec::new();
        let mut seq = 0;
        let mut ts = 1_600_000_000_000;
        let mut next_row_id = 0;
        let mut parent = None;
        for (i, (props, operation, seq_step, rows)) in snapshot_props.into_iter().enumerate() {
            seq += seq_step;
            ts += 1000 * seq_step;
            let id = 1000 + i as i64;
            let mut additional_properties = props;
            additional_properties.remove("operation");
            snapshots.push(Snapshot {
                snapshot_id: id,
                parent_snapshot_id: parent,
                sequence_number: if v1 { 0 } else { seq },
                timestamp_ms: ts,
                manifest_list: format!("{location}/metadata/snap-{id}.avro"),
                summary: Summary { operation, additional_properties },
                schema_id: (i % 2 == 0).then_some(current_schema_id),
                first_row_id: v3.then_some(next_row_id),
                added_rows: v3.then_some(rows),
                key_id: None,
            });
            next_row_id += rows;
            parent = Some(id);
        }
        let mut refs = HashMap::new();
        let current_snapshot_id = match snapshots.last() {
            Some(s) if with_main => {
                refs.insert(MAIN_BRANCH.to_string(), SnapshotReference::branch(s.snapshot_id));
                Some(s.snapshot_id)
            }
            _ => None,
        };
        if let Some(pick) = tag_pick
            && !snapshots.is_empty()
        {
            let s = &snapshots[pick.index(snapshots.len())];
            refs.insert(
                "tag".to_string(),
                SnapshotReference {
                    snapshot_id: s.snapshot_id,
                    retention: SnapshotRetention::Tag { max_ref_age_ms: Some(s.timestamp_ms) },
                },
            );
        }
        let snapshot_log = if with_logs {
            snapshots.iter().map(|s| SnapshotLog { snapshot_id: s.snapshot_id, timestamp_ms: s.timestamp_ms }).collect()
        } else {
            Vec::new()
        };
        let metadata_log = if with_logs {
            vec![MetadataLog { metadata_file: format!("{location}/metadata/00000-x.metadata.json"), timestamp_ms: 1 }]
        } else {
            Vec::new()
        };
        let statistics = match (with_logs, snapshots.first()) {
            (true, Some(s)) => vec![StatisticsFile {
                snapshot_id: s.snapshot_id,
                statistics_path: format!("{location}/metadata/s.puffin"),
                file_size_in_bytes: 100,
                file_footer_size_in_bytes: 10,
                key_metadata: None,
                blob_metadata: Vec::new(),
            }],
            _ => Vec::new(),
        };
        let last_sequence_number = if v1 { 0 } else { seq };
        TableMetadata {
            format_version: version,
            table_uuid: Uuid::from_u128(uuid),
            location,
            last_sequence_number,
            last_updated_ms,
            last_column_id: next_id + column_slack,
            schemas: schemas.into_iter().map(|s| (s.schema_id(), Arc::new(s))).collect(),
            current_schema_id,
            partition_specs: specs.into_iter().map(|s| (s.spec_id, Arc::new(s))).collect(),
            default_spec_id,
            last_partition_id: next_partition_id + partition_slack,
            properties,
            current_snapshot_id,
            snapshots: snapshots.into_iter().map(|s| (s.snapshot_id, Arc::new(s))).collect(),
            snapshot_log,
            metadata_log,
            sort_orders: sort_orders.into_iter().map(|o| (o.order_id, Arc::new(o))).collect(),
            default_sort_order_id,
            refs,
            statistics,
            partition_statistics: Vec::new(),
            next_row_id: v3.then_some(next_row_id),
            snapshot_json: SnapshotJsonCache::default(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn json_round_trip(m in metadata()) {
        m.validate().unwrap();
        let bytes = m.to_json_vec().unwrap();
        let back = TableMetadata::from_json_slice(&bytes).unwrap();
        prop_assert_eq!(&back, &m);
        // Writing again gives the same bytes.
        prop_assert_eq!(back.to_json_vec().unwrap(), bytes);
        let gz = m.to_json_gzip_vec().unwrap();
        prop_assert_eq!(TableMetadata::from_json_slice(&gz).unwrap(), m);
    }
}
