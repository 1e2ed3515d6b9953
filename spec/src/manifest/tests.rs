//! Tests of manifests, manifest lists and the REST data file JSON.

use std::collections::HashMap;
use std::sync::Arc;

use proptest::prelude::*;
use serde_json::json;
use uuid::Uuid;

use super::avro_io::{Container, ContainerWriter, put_int, put_long, put_str, put_union_branch};
use super::*;
use crate::ErrorKind;
use crate::manifest_list::{FieldSummary, ManifestFile, ManifestList, ManifestListWriter};
use crate::partition::{PartitionField, PartitionSpec};
use crate::schema::Schema;
use crate::transform::Transform;
use crate::types::{NestedField, PrimitiveType as P, StructType, Type};

fn prim(p: P) -> Type {
    Type::Primitive(p)
}

/// A schema with a column of every primitive type.
fn schema() -> Schema {
    Schema::builder()
        .with_schema_id(3)
        .with_fields(vec![
            NestedField::required(1, "id", prim(P::Long)),
            NestedField::optional(2, "name", prim(P::String)),
            NestedField::optional(3, "ts", prim(P::Timestamptz)),
            NestedField::optional(4, "d", prim(P::Date)),
            NestedField::optional(
                5,
                "price",
                prim(P::Decimal {
                    precision: 10,
                    scale: 2,
                }),
            ),
            NestedField::optional(6, "u", prim(P::Uuid)),
            NestedField::optional(7, "f", prim(P::Fixed(3))),
            NestedField::optional(8, "b", prim(P::Binary)),
            NestedField::optional(9, "flag", prim(P::Boolean)),
            NestedField::optional(10, "x", prim(P::Double)),
            NestedField::optional(11, "i", prim(P::Int)),
            NestedField::optional(12, "t", prim(P::Timestamp)),
            NestedField::optional(13, "tm", prim(P::Time)),
            NestedField::optional(14, "fl", prim(P::Float)),
            NestedField::optional(15, "tns", prim(P::TimestampNs)),
        ])
        .build()
        .unwrap()
}

fn pf(source_id: i32, field_id: i32, name: &str, transform: Transform) -> PartitionField {
    PartitionField {
        source_id,
        field_id,
        name: name.into(),
        transform,
    }
}

/// A spec with a field of every transform result type.
fn wide_spec() -> PartitionSpec {
    PartitionSpec {
        spec_id: 2,
        fields: vec![
            pf(1, 1000, "id_bucket", Transform::Bucket(16)),
            pf(2, 1001, "name_trunc", Transform::Truncate(4)),
            pf(3, 1002, "ts_year", Transform::Year),
            pf(4, 1003, "d_month", Transform::Month),
            pf(3, 1004, "ts_day", Transform::Day),
            pf(3, 1005, "ts_hour", Transform::Hour),
            pf(5, 1006, "price", Transform::Identity),
            pf(6, 1007, "u", Transform::Identity),
            pf(7, 1008, "f", Transform::Identity),
            pf(8, 1009, "b", Transform::Identity),
            pf(9, 1010, "flag", Transform::Identity),
            pf(10, 1011, "x", Transform::Identity),
            pf(12, 1012, "t", Transform::Identity),
            pf(13, 1013, "tm", Transform::Identity),
            pf(14, 1014, "fl", Transform::Identity),
            pf(1, 1015, "id", Transform::Identity),
            pf(11, 1016, "i_void", Transform::Void),
            pf(15, 1017, "tns", Transform::Identity),
            pf(3, 1018, "ts", Transform::Identity),
            pf(2, 1019, "1st-name", Transform::Identity),
        ],
    }
}

fn wide_partition(k: i64) -> Vec<Option<Datum>> {
    vec![
        Some(Datum::Int(k as i32 % 16)),
        Some(Datum::String(format!("na{k}"))),
        Some(Datum::Int(54)),
        Some(Datum::Int(650 + k as i32)),
        Some(Datum::Date(19_000 + k as i32)),
        None,
        Some(Datum::Decimal {
            unscaled: -1420 * i128::from(k),
            precision: 10,
            scale: 2,
        }),
        Some(Datum::Uuid(Uuid::from_u128(u128::from(k as u64) << 64 | 7))),
        Some(Datum::Fixed(vec![1, 2, k as u8])),
        Some(Datum::Binary(vec![0xff, k as u8])),
        Some(Datum::Boolean(k % 2 == 0)),
        Some(Datum::Double(k as f64 / 3.0)),
        Some(Datum::Timestamp(1_700_000_000_000_000 + k)),
        Some(Datum::Time(3_600_000_000 + k)),
        Some(Datum::Float(k as f32 * 0.5)),
        Some(Datum::Long(-k)),
        None,
        Some(Datum::TimestampNs(1_700_000_000_000_000_000 + k)),
        Some(Datum::Timestamptz(1_700_000_000_000_001 + k)),
        Some(Datum::String("x".into())),
    ]
}

fn metadata(
    spec: PartitionSpec,
    v: FormatVersion,
    content: ManifestContentType,
) -> ManifestMetadata {
    ManifestMetadata {
        schema: Arc::new(schema()),
        partition_spec: spec,
        format_version: v,
        content,
    }
}

fn full_file(k: i64, partition: Vec<Option<Datum>>) -> DataFile {
    let mut f = DataFile::new(
        DataFileFormat::Parquet,
        format!("s3://bucket/t/data/f{k}.parquet"),
        100 + k,
        4096 + k,
    )
    .with_partition(partition);
    f.column_sizes = ColumnMap::from([(1, 10 + k), (2, 20)]);
    f.value_counts = ColumnMap::from([(1, 100), (2, 100)]);
    f.null_value_counts = ColumnMap::from([(2, 3)]);
    f.nan_value_counts = ColumnMap::from([(10, 0)]);
    f.lower_bounds = ColumnMap::from([
        (1, Datum::Long(-5)),
        (2, Datum::String("aa".into())),
        (
            5,
            Datum::Decimal {
                unscaled: -99,
                precision: 10,
                scale: 2,
            },
        ),
        (6, Datum::Uuid(Uuid::from_u128(1))),
        (10, Datum::Double(-0.0)),
        (4, Datum::Date(-3)),
    ]);
    f.upper_bounds = ColumnMap::from([
        (1, Datum::Long(500)),
        (2, Datum::String("zz".into())),
        (3, Datum::Timestamptz(1_000)),
        (9, Datum::Boolean(true)),
    ]);
    f.key_metadata = Some(vec![1, 2, 3]);
    f.split_offsets = Some(vec![4, 1000 + k]);
    f.sort_order_id = Some(1);
    f
}

/// Reads `bytes` with apache-avro's own reader: the encoding matches the header schema.
fn independent_records(bytes: &[u8]) -> Vec<apache_avro::types::Value> {
    apache_avro::Reader::new(bytes)
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn record_field<'a>(v: &'a apache_avro::types::Value, name: &str) -> &'a apache_avro::types::Value {
    let apache_avro::types::Value::Record(fields) = v else {
        panic!("not a record: {v:?}")
    };
    &fields.iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn v2_round_trip_every_field_and_partition_type() {
    let md = metadata(wide_spec(), FormatVersion::V2, ManifestContentType::Data);
    let mut w = ManifestWriter::new(md.clone(), Some(42));
    w.add(full_file(1, wide_partition(1))).unwrap();
    w.existing(full_file(2, wide_partition(2)), 40, 7, Some(8))
        .unwrap();
    w.delete(full_file(3, wide_partition(3)), 5, None).unwrap();
    let (bytes, list_entry) = w.finish("s3://bucket/t/metadata/m.avro").unwrap();

    let m = Manifest::parse(&bytes).unwrap();
    assert_eq!(m.metadata, md);
    assert_eq!(m.entries.len(), 3);
    assert_eq!(m.entries[0].status, ManifestStatus::Added);
    assert_eq!(m.entries[0].snapshot_id, Some(42));
    assert_eq!(m.entries[0].sequence_number, None);
    assert_eq!(m.entries[0].data_file, full_file(1, wide_partition(1)));
    assert_eq!(m.entries[1].status, ManifestStatus::Existing);
    assert_eq!(m.entries[1].snapshot_id, Some(40));
    assert_eq!(m.entries[1].sequence_number, Some(7));
    assert_eq!(m.entries[1].file_sequence_number, Some(8));
    assert_eq!(m.entries[2].status, ManifestStatus::Deleted);
    assert_eq!(m.entries[2].data_file, full_file(3, wide_partition(3)));

    assert_eq!(list_entry.manifest_length, bytes.len() as i64);
    assert_eq!(list_entry.partition_spec_id, 2);
    assert_eq!(list_entry.added_snapshot_id, 42);
    assert_eq!(list_entry.sequence_number, UNASSIGNED_SEQUENCE_NUMBER);
    // min over live entries with explicit data sequence numbers: the existing one (7).
    assert_eq!(list_entry.min_sequence_number, 7);
    assert_eq!(
        (
            list_entry.added_files_count,
            list_entry.existing_files_count,
            list_entry.deleted_files_count
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(
        (
            list_entry.added_rows_count,
            list_entry.existing_rows_count,
            list_entry.deleted_rows_count
        ),
        (Some(101), Some(102), Some(103))
    );

    // An independent Avro reader decodes the same values from the header schema.
    let records = independent_records(&bytes);
    assert_eq!(records.len(), 3);
    assert_eq!(
        record_field(&records[1], "status"),
        &apache_avro::types::Value::Int(0)
    );
    let file = record_field(&records[0], "data_file");
    assert_eq!(
        record_field(file, "file_path"),
        &apache_avro::types::Value::String("s3://bucket/t/data/f1.parquet".into())
    );
    let reader = apache_avro::Reader::new(&bytes[..]).unwrap();
    let meta = reader.user_metadata();
    for key in [
        "schema",
        "schema-id",
        "partition-spec",
        "partition-spec-id",
        "format-version",
        "content",
    ] {
        assert!(meta.contains_key(key), "missing {key}");
    }
    assert_eq!(meta["format-version"], b"2");
    assert_eq!(meta["content"], b"data");
    let spec_json: serde_json::Value = serde_json::from_slice(&meta["partition-spec"]).unwrap();
    assert_eq!(spec_json[0]["transform"], "bucket[16]");
    assert_eq!(spec_json[0]["field-id"], 1000);
}

#[test]
fn delete_manifests_v2_and_v3_round_trip() {
    for v in [FormatVersion::V2, FormatVersion::V3] {
        let spec = PartitionSpec {
            spec_id: 1,
            fields: vec![pf(4, 1000, "d", Transform::Identity)],
        };
        let md = metadata(spec, v, ManifestContentType::Deletes);
        let mut eq = DataFile::new(DataFileFormat::Parquet, "s3://b/eq.parquet", 3, 99)
            .with_content(DataContentType::EqualityDeletes)
            .with_partition(vec![Some(Datum::Date(5))]);
        eq.equality_ids = Some(vec![1, 2]);
        let mut pos = DataFile::new(DataFileFormat::Puffin, "s3://b/dv.puffin", 2, 120)
            .with_content(DataContentType::PositionDeletes)
            .with_partition(vec![None]);
        pos.referenced_data_file = Some("s3://b/data.parquet".into());
        if v == FormatVersion::V3 {
            pos.content_offset = Some(4);
            pos.content_size_in_bytes = Some(40);
        }
        let mut w = ManifestWriter::new(md.clone(), Some(9)).with_codec(AvroCodec::Zstd);
        w.add(eq.clone()).unwrap();
        w.add(pos.clone()).unwrap();
        let (bytes, mf) = w.finish("m.avro").unwrap();
        assert_eq!(mf.content, ManifestContentType::Deletes);
        let m = Manifest::parse(&bytes).unwrap();
        assert_eq!(m.metadata, md);
        assert_eq!(m.entries[0].data_file, eq);
        assert_eq!(m.entries[1].data_file, pos);
        assert_eq!(independent_records(&bytes).len(), 2);
    }
}

#[test]
fn content_mismatch_and_bad_partitions_are_rejected() {
    let spec = PartitionSpec {
        spec_id: 0,
        fields: vec![pf(4, 1000, "d", Transform::Identity)],
    };
    let mut w = ManifestWriter::new(
        metadata(spec.clone(), FormatVersion::V2, ManifestContentType::Data),
        Some(1),
    );
    let f = DataFile::new(DataFileFormat::Parquet, "a", 1, 1);
    // Wrong number of partition values.
    let e = w.add(f.clone()).unwrap_err();
    assert!(e.message().contains("partition values"), "{e}");
    // Wrong type: an int where the spec has a date.
    let e = w
        .add(f.clone().with_partition(vec![Some(Datum::Int(1))]))
        .unwrap_err();
    assert!(e.message().contains("must have type date"), "{e}");
    // Delete file in a data manifest.
    let e = w
        .add(
            f.clone()
                .with_partition(vec![None])
                .with_content(DataContentType::PositionDeletes),
        )
        .unwrap_err();
    assert!(
        e.message().contains("cannot go into a data manifest"),
        "{e}"
    );
    // Existing entries need explicit sequence numbers.
    let e = w
        .add_entry(ManifestEntry {
            status: ManifestStatus::Existing,
            snapshot_id: Some(1),
            sequence_number: None,
            file_sequence_number: None,
            data_file: f.clone().with_partition(vec![None]),
        })
        .unwrap_err();
    assert!(e.message().contains("explicit sequence number"), "{e}");
    // Equality deletes need equality ids.
    let mut w = ManifestWriter::new(
        metadata(spec, FormatVersion::V2, ManifestContentType::Deletes),
        Some(1),
    );
    let e = w
        .add(
            f.with_partition(vec![None])
                .with_content(DataContentType::EqualityDeletes),
        )
        .unwrap_err();
    assert!(e.message().contains("equality_ids"), "{e}");
    assert!(w.is_empty());
}

#[test]
fn v1_round_trip_and_inheritance() {
    let spec = PartitionSpec {
        spec_id: 0,
        fields: vec![pf(2, 1000, "name", Transform::Identity)],
    };
    let md = metadata(spec, FormatVersion::V1, ManifestContentType::Data);
    let mut w = ManifestWriter::new(md.clone(), Some(11)).with_codec(AvroCodec::Null);
    let f = DataFile::new(DataFileFormat::Avro, "a.avro", 5, 50)
        .with_partition(vec![Some(Datum::String("x".into()))]);
    w.add(f.clone()).unwrap();
    let (bytes, mf) = w.finish("m1.avro").unwrap();
    let m = Manifest::parse(&bytes).unwrap();
    assert_eq!(m.metadata, md);
    assert_eq!(m.entries[0].data_file, f);
    // The header schema of a v1 manifest has block_size_in_bytes and no content.
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("block_size_in_bytes"));
    assert!(!text.contains("\"sequence_number\""));

    // v1 list: sequence numbers read as 0, so entries inherit 0.
    let mut lw = ManifestListWriter::new(FormatVersion::V1, 11, None, 0);
    lw.add_manifests([mf]).unwrap();
    let list = ManifestList::parse(&lw.finish().unwrap(), &HashMap::new()).unwrap();
    assert_eq!(list.metadata.format_version, FormatVersion::V1);
    assert_eq!(list.metadata.sequence_number, None);
    let entry = &list.entries[0];
    assert_eq!(entry.sequence_number, 0);
    assert_eq!(entry.added_files_count, Some(1));
    let entries = m.into_entries_inheriting(entry);
    assert_eq!(entries[0].sequence_number, Some(0));
    assert_eq!(entries[0].file_sequence_number, Some(0));
    assert_eq!(entries[0].snapshot_id, Some(11));
}

fn list_entry(seq: i64, snapshot: i64) -> ManifestFile {
    ManifestFile {
        manifest_path: "m.avro".into(),
        manifest_length: 10,
        partition_spec_id: 0,
        content: ManifestContentType::Data,
        sequence_number: seq,
        min_sequence_number: seq,
        added_snapshot_id: snapshot,
        added_files_count: Some(1),
        existing_files_count: Some(0),
        deleted_files_count: Some(0),
        added_rows_count: Some(1),
        existing_rows_count: Some(0),
        deleted_rows_count: Some(0),
        partitions: Some(vec![]),
        key_metadata: None,
        first_row_id: None,
    }
}

#[test]
fn inheritance_rules() {
    let file = |n: i64| DataFile::new(DataFileFormat::Parquet, format!("f{n}"), n, 1);
    let entry = |status, snapshot_id, seq| ManifestEntry {
        status,
        snapshot_id,
        sequence_number: seq,
        file_sequence_number: seq,
        data_file: file(10),
    };
    let mut m = Manifest {
        metadata: metadata(
            PartitionSpec::unpartitioned(),
            FormatVersion::V3,
            ManifestContentType::Data,
        ),
        entries: vec![
            entry(ManifestStatus::Added, None, None),
            entry(ManifestStatus::Existing, Some(3), Some(2)),
            entry(ManifestStatus::Deleted, None, Some(1)),
            // An EXISTING entry without a sequence number does not inherit one.
            entry(ManifestStatus::Existing, Some(3), None),
        ],
    };
    m.entries[1].data_file.first_row_id = Some(500);
    m.entries[3].data_file.record_count = 7;
    let mut mf = list_entry(9, 77);
    mf.first_row_id = Some(1000);
    m.inherit_from(&mf);
    let e = &m.entries;
    assert_eq!(e[0].snapshot_id, Some(77));
    assert_eq!(
        (e[0].sequence_number, e[0].file_sequence_number),
        (Some(9), Some(9))
    );
    assert_eq!(e[1].snapshot_id, Some(3));
    assert_eq!(e[1].sequence_number, Some(2));
    assert_eq!(e[2].snapshot_id, Some(77));
    assert_eq!(e[2].sequence_number, Some(1));
    assert_eq!(e[3].sequence_number, None);
    // First row ids: manifest's value plus record counts of preceding null ones.
    assert_eq!(e[0].data_file.first_row_id, Some(1000));
    assert_eq!(e[1].data_file.first_row_id, Some(500));
    assert_eq!(e[2].data_file.first_row_id, Some(1010));
    assert_eq!(e[3].data_file.first_row_id, Some(1020));
}

#[test]
fn partition_summaries() {
    let spec = PartitionSpec {
        spec_id: 0,
        fields: vec![
            pf(10, 1000, "x", Transform::Identity),
            pf(2, 1001, "name", Transform::Identity),
            pf(11, 1002, "i", Transform::Void),
        ],
    };
    let md = metadata(spec.clone(), FormatVersion::V2, ManifestContentType::Data);
    let mut w = ManifestWriter::new(md, Some(5));
    for (x, name) in [
        (Some(2.5), Some("m")),
        (Some(f64::NAN), Some("c")),
        (None, Some("q")),
        (Some(-1.0), None),
    ] {
        let f = DataFile::new(DataFileFormat::Parquet, "f", 1, 1).with_partition(vec![
            x.map(Datum::Double),
            name.map(|n| Datum::String(n.into())),
            None,
        ]);
        w.add(f).unwrap();
    }
    let (_, mf) = w.finish("m.avro").unwrap();
    let p = mf.partitions.clone().unwrap();
    assert_eq!(
        p[0],
        FieldSummary {
            contains_null: true,
            contains_nan: Some(true),
            lower_bound: Some(Datum::Double(-1.0)),
            upper_bound: Some(Datum::Double(2.5)),
        }
    );
    assert_eq!(
        p[1],
        FieldSummary {
            contains_null: true,
            contains_nan: Some(false),
            lower_bound: Some(Datum::String("c".into())),
            upper_bound: Some(Datum::String("q".into())),
        }
    );
    assert_eq!(
        p[2],
        FieldSummary {
            contains_null: true,
            contains_nan: Some(false),
            lower_bound: None,
            upper_bound: None,
        }
    );
    // Summaries survive the manifest list, typed by the spec's partition type.
    let mut lw = ManifestListWriter::new(FormatVersion::V2, 5, Some(4), 12);
    lw.add_manifests([mf.clone()]).unwrap();
    let bytes = lw.finish().unwrap();
    let types = HashMap::from([(0, spec.partition_type(&schema()).unwrap())]);
    let list = ManifestList::parse(&bytes, &types).unwrap();
    assert_eq!(list.entries[0].partitions, Some(p));
    // Without the type the summaries are left out.
    let list = ManifestList::parse(&bytes, &HashMap::new()).unwrap();
    assert_eq!(list.entries[0].partitions, None);
}

#[test]
fn manifest_list_round_trip_and_sequence_assignment() {
    for v in [FormatVersion::V2, FormatVersion::V3] {
        let mut new = list_entry(UNASSIGNED_SEQUENCE_NUMBER, 20);
        new.min_sequence_number = UNASSIGNED_SEQUENCE_NUMBER;
        new.manifest_path = "new.avro".into();
        new.key_metadata = Some(vec![9]);
        let mut old = list_entry(4, 10);
        old.min_sequence_number = 2;
        old.content = ManifestContentType::Deletes;
        old.first_row_id = None;
        let mut unassigned_snapshot = list_entry(UNASSIGNED_SEQUENCE_NUMBER, -1);
        unassigned_snapshot.existing_rows_count = Some(5);
        let mut w = ManifestListWriter::new(v, 20, Some(10), 6)
            .with_codec(AvroCodec::Snappy)
            .with_first_row_id(100);
        w.add_manifests([new.clone(), old.clone(), unassigned_snapshot])
            .unwrap();
        if v == FormatVersion::V3 {
            assert_eq!(w.next_row_id(), Some(107));
        }
        let bytes = w.finish().unwrap();
        let list = ManifestList::parse(&bytes, &HashMap::new()).unwrap();
        assert_eq!(list.metadata.snapshot_id, Some(20));
        assert_eq!(list.metadata.parent_snapshot_id, Some(10));
        assert_eq!(list.metadata.sequence_number, Some(6));
        assert_eq!(list.metadata.format_version, v);
        let e = &list.entries;
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].manifest_path, "new.avro");
        assert_eq!((e[0].sequence_number, e[0].min_sequence_number), (6, 6));
        assert_eq!(e[0].key_metadata, Some(vec![9]));
        assert_eq!((e[1].sequence_number, e[1].min_sequence_number), (4, 2));
        assert_eq!(e[1].content, ManifestContentType::Deletes);
        assert_eq!(e[2].added_snapshot_id, 20);
        assert_eq!(e[2].existing_rows_count, Some(5));
        if v == FormatVersion::V3 {
            assert_eq!(e[0].first_row_id, Some(100));
            assert_eq!(e[1].first_row_id, None, "delete manifests get no row ids");
            assert_eq!(e[2].first_row_id, Some(101));
        } else {
            assert_eq!(e[0].first_row_id, None);
        }
        let mut expected = new.clone();
        expected.sequence_number = 6;
        expected.min_sequence_number = 6;
        if v == FormatVersion::V3 {
            expected.first_row_id = Some(100);
        }
        assert_eq!(e[0], expected);
        let reader = apache_avro::Reader::new(&bytes[..]).unwrap();
        assert_eq!(reader.user_metadata()["parent-snapshot-id"], b"10");
        assert_eq!(independent_records(&bytes).len(), 3);
    }
    // A manifest of another snapshot cannot receive this snapshot's sequence number.
    let mut w = ManifestListWriter::new(FormatVersion::V2, 20, None, 6);
    let e = w
        .add_manifests([list_entry(UNASSIGNED_SEQUENCE_NUMBER, 19)])
        .unwrap_err();
    assert!(e.message().contains("snapshot 19"), "{e}");
    let bytes = ManifestListWriter::new(FormatVersion::V2, 20, None, 6)
        .finish()
        .unwrap();
    let reader = apache_avro::Reader::new(&bytes[..]).unwrap();
    assert_eq!(reader.user_metadata()["parent-snapshot-id"], b"null");
    let list = ManifestList::parse(&bytes, &HashMap::new()).unwrap();
    assert_eq!(list.metadata.parent_snapshot_id, None);
    assert!(list.entries.is_empty());
}

fn small_manifest() -> Vec<u8> {
    let spec = PartitionSpec {
        spec_id: 0,
        fields: vec![pf(1, 1000, "id", Transform::Identity)],
    };
    let mut w = ManifestWriter::new(
        metadata(spec, FormatVersion::V2, ManifestContentType::Data),
        Some(1),
    )
    .with_codec(AvroCodec::Null);
    w.add(full_file(1, vec![Some(Datum::Long(3))])).unwrap();
    w.add(full_file(2, vec![None])).unwrap();
    w.finish("m.avro").unwrap().0
}

#[test]
fn truncated_and_corrupted_input_is_an_error() {
    let bytes = small_manifest();
    for n in 0..bytes.len() {
        match Manifest::parse(&bytes[..n]) {
            Err(e) => assert_eq!(e.kind(), ErrorKind::DataInvalid, "prefix {n}: {e}"),
            // Cut exactly after the header: a valid file without records.
            Ok(m) => assert!(m.entries.is_empty(), "prefix {n} parsed entries"),
        }
    }
    // Flipping bytes never panics.
    for i in (0..bytes.len()).step_by(3) {
        let mut b = bytes.clone();
        b[i] ^= 0x5a;
        let _ = Manifest::parse(&b);
    }
    assert!(ManifestList::parse(&bytes[..20], &HashMap::new()).is_err());
    assert!(Manifest::parse(b"not avro at all").is_err());
}

/// A manifest of `n` entries, each with `key_metadata` set to `key`.
fn many_entries(n: i64, codec: AvroCodec, key: &[u8]) -> Vec<u8> {
    let mut w = ManifestWriter::new(
        metadata(wide_spec(), FormatVersion::V2, ManifestContentType::Data),
        Some(9),
    )
    .with_codec(codec);
    for k in 0..n {
        let mut f = full_file(k, wide_partition(k));
        f.key_metadata = Some(key.to_vec());
        w.add(f).unwrap();
    }
    w.finish("m.avro").unwrap().0
}

#[test]
fn decoding_on_several_threads_equals_one_pass() {
    for codec in [AvroCodec::Deflate, AvroCodec::Null, AvroCodec::Zstd] {
        let bytes = many_entries(3_000, codec, &[7; 4]);
        let one = Manifest::parse_in_threads(&bytes, Some(1)).unwrap();
        assert_eq!(one.entries.len(), 3_000);
        for threads in [2, 3, 8] {
            let many = Manifest::parse_in_threads(&bytes, Some(threads)).unwrap();
            assert_eq!(many, one, "{codec:?} on {threads} threads");
        }
        assert_eq!(Manifest::parse(&bytes).unwrap(), one);
    }
}

#[test]
fn a_sync_marker_inside_block_data_falls_back_to_one_pass() {
    // Every entry's key metadata is 16 bytes that are then made the file's sync marker,
    // so a split point searched for in the body lands inside a record.
    let key = *b"0123456789abcdef";
    let mut bytes = many_entries(2_000, AvroCodec::Null, &key);
    let c = Container::parse(&bytes, "manifest").unwrap();
    let marker: [u8; 16] = bytes[bytes.len() - 16..].try_into().unwrap();
    assert!(c.split_points(4).len() > 2);
    drop(c);
    let mut i = 0;
    while i + 16 <= bytes.len() {
        if bytes[i..i + 16] == marker {
            bytes[i..i + 16].copy_from_slice(&key);
            i += 16;
        } else {
            i += 1;
        }
    }
    let c = Container::parse(&bytes, "manifest").unwrap();
    let points = c.split_points(4);
    assert!(points.len() > 2, "{points:?}");
    // The guessed points are inside records: a run does not end on them.
    let ended = c
        .for_each_record_in(0, points[1], |cur| cur.take(cur.remaining()).map(|_| ()))
        .unwrap();
    assert_ne!(ended, points[1]);
    drop(c);
    let one = Manifest::parse_in_threads(&bytes, Some(1)).unwrap();
    assert_eq!(one.entries.len(), 2_000);
    assert!(
        one.entries
            .iter()
            .all(|e| e.data_file.key_metadata.as_deref() == Some(&key[..]))
    );
    assert_eq!(Manifest::parse_in_threads(&bytes, Some(4)).unwrap(), one);
}

#[test]
fn errors_on_several_threads_are_the_ones_of_one_pass() {
    let bytes = many_entries(3_000, AvroCodec::Deflate, &[1]);
    let c = Container::parse(&bytes, "manifest").unwrap();
    let header = bytes.len() - c.body_len();
    let points = c.split_points(2);
    assert_eq!(points.len(), 3, "{points:?}");
    drop(c);
    // Corrupt the block data of the second run, then of the first.
    for at in [header + points[1] + 40, header + 40, bytes.len() - 30] {
        let mut b = bytes.clone();
        b[at..at + 8].fill(0xff);
        let one = Manifest::parse_in_threads(&b, Some(1)).unwrap_err();
        let many = Manifest::parse_in_threads(&b, Some(2)).unwrap_err();
        assert_eq!(many.kind(), ErrorKind::DataInvalid);
        assert_eq!(many.message(), one.message(), "byte {at}");
    }
}

fn hand_made(schema_json: &str, kv: &[(&str, String)], record: impl Fn(&mut Vec<u8>)) -> Vec<u8> {
    let mut w = ContainerWriter::new(schema_json, kv, AvroCodec::Null);
    record(w.record_buf());
    w.end_record().unwrap();
    w.finish().unwrap()
}

#[test]
fn missing_metadata_and_wrong_types_are_named() {
    let pt = StructType::default();
    let schema_json = super::avro_schema::manifest_entry_schema(FormatVersion::V2, &pt).to_string();
    let good_kv = vec![
        ("schema", schema().to_json().to_string()),
        ("partition-spec", "[]".to_string()),
        ("partition-spec-id", "0".to_string()),
        ("format-version", "2".to_string()),
        ("content", "data".to_string()),
    ];
    let encode = |buf: &mut Vec<u8>| {
        put_int(buf, 1); // status
        for _ in 0..3 {
            put_long(buf, 0); // null snapshot id and sequence numbers
        }
        put_int(buf, 0); // content
        put_str(buf, "f.parquet");
        put_str(buf, "PARQUET"); // Java's upper case
        put_long(buf, 1);
        put_long(buf, 2);
        for _ in 0..11 {
            put_long(buf, 0); // every optional field null
        }
    };
    let ok = Manifest::parse(&hand_made(&schema_json, &good_kv, encode)).unwrap();
    assert_eq!(ok.entries[0].data_file.file_format, DataFileFormat::Parquet);

    for missing in ["schema", "partition-spec"] {
        let kv: Vec<_> = good_kv
            .iter()
            .filter(|(k, _)| *k != missing)
            .cloned()
            .collect();
        let e = Manifest::parse(&hand_made(&schema_json, &kv, encode)).unwrap_err();
        assert!(e.message().contains(&format!("`{missing}`")), "{e}");
    }
    let mut bad_kv = good_kv.clone();
    bad_kv[3].1 = "two".into();
    let e = Manifest::parse(&hand_made(&schema_json, &bad_kv, encode)).unwrap_err();
    assert!(e.message().contains("format-version"), "{e}");

    // `status` written as a string.
    let wrong = schema_json.replacen(
        r#"{"name":"status","type":"int""#,
        r#"{"name":"status","type":"string""#,
        1,
    );
    assert_ne!(wrong, schema_json);
    let e = Manifest::parse(&hand_made(&wrong, &good_kv, |b| {
        put_str(b, "x");
        encode(&mut Vec::new());
    }))
    .unwrap_err();
    assert!(e.message().contains("status"), "{e}");

    // A schema without file_path.
    let no_path = schema_json.replacen(
        r#""name":"file_path","type":"string","field-id":100"#,
        r#""name":"other","type":"string","field-id":99"#,
        1,
    );
    assert_ne!(no_path, schema_json);
    let e = Manifest::parse(&hand_made(&no_path, &good_kv, encode)).unwrap_err();
    assert!(e.message().contains("file_path"), "{e}");
}

#[test]
fn fields_resolve_by_id_not_position_or_name() {
    // A writer that orders fields differently, renames one (ids rule) and adds an
    // unknown field that must be skipped.
    let schema_json = r#"{"type":"record","name":"manifest_entry","fields":[
        {"name":"extra","type":{"type":"array","items":"string"},"field-id":999},
        {"name":"data_file","field-id":2,"type":{"type":"record","name":"r2","fields":[
            {"name":"record_count","type":"long","field-id":103},
            {"name":"path_renamed","type":"string","field-id":100},
            {"name":"file_format","type":"string","field-id":101},
            {"name":"partition","field-id":102,"type":{"type":"record","name":"r102","fields":[
                {"name":"id","type":["null","long"],"default":null,"field-id":1000}]}},
            {"name":"file_size_in_bytes","type":"long","field-id":104},
            {"name":"column_sizes","field-id":108,"type":["null",{"type":"array","logicalType":"map",
              "items":{"type":"record","name":"k117_v118","fields":[
                {"name":"key","type":"int","field-id":117},{"name":"value","type":"long","field-id":118}]}}],"default":null}
        ]}},
        {"name":"status","type":"int","field-id":0}
    ]}"#;
    let kv = vec![
        ("schema", schema().to_json().to_string()),
        (
            "partition-spec",
            r#"[{"source-id":1,"field-id":1000,"name":"id","transform":"identity"}]"#.into(),
        ),
        ("partition-spec-id", "0".into()),
        ("format-version", "2".into()),
    ];
    let bytes = hand_made(schema_json, &kv, |b| {
        put_long(b, 2);
        put_str(b, "a");
        put_str(b, "b");
        put_long(b, 0);
        put_long(b, 55); // record_count
        put_str(b, "p.orc");
        put_str(b, "orc");
        put_long(b, 1);
        put_long(b, 77); // partition id = 77
        put_long(b, 1000);
        put_long(b, 1);
        put_long(b, -1); // a block of 1 item with a byte size
        put_long(b, 2);
        put_int(b, 1);
        put_long(b, 9);
        put_long(b, 0);
        put_int(b, 2); // status deleted
    });
    let m = Manifest::parse(&bytes).unwrap();
    let e = &m.entries[0];
    assert_eq!(e.status, ManifestStatus::Deleted);
    assert_eq!(e.data_file.file_path, "p.orc");
    assert_eq!(e.data_file.file_format, DataFileFormat::Orc);
    assert_eq!(e.data_file.record_count, 55);
    assert_eq!(e.data_file.partition, vec![Some(Datum::Long(77))]);
    assert_eq!(e.data_file.column_sizes, ColumnMap::from([(1, 9)]));
    assert_eq!(m.metadata.content, ManifestContentType::Data);
}

#[test]
fn int_maps_in_every_layout() {
    // Key/value records in the usual order, with the value first, with an optional key
    // and an extra field, and an Avro map with decimal string keys: all read the same.
    type PutPair = fn(&mut Vec<u8>, i32, i64);
    let layouts: [(&str, PutPair); 4] = [
        (
            r#"{"type":"array","items":{"type":"record","name":"kv","fields":[
                {"name":"key","type":"int"},{"name":"value","type":"long"}]}}"#,
            |b, k, v| {
                put_int(b, k);
                put_long(b, v);
            },
        ),
        (
            r#"{"type":"array","items":{"type":"record","name":"kv","fields":[
                {"name":"value","type":"long"},{"name":"key","type":"int"}]}}"#,
            |b, k, v| {
                put_long(b, v);
                put_int(b, k);
            },
        ),
        (
            r#"{"type":"array","items":{"type":"record","name":"kv","fields":[
                {"name":"key","type":["null","int"]},{"name":"note","type":"string"},
                {"name":"value","type":["null","long"]}]}}"#,
            |b, k, v| {
                put_union_branch(b, true);
                put_int(b, k);
                put_str(b, "x");
                put_union_branch(b, true);
                put_long(b, v);
            },
        ),
        (r#"{"type":"map","values":"long"}"#, |b, k, v| {
            put_str(b, &k.to_string());
            put_long(b, v);
        }),
    ];
    let kv = vec![
        ("schema", schema().to_json().to_string()),
        ("partition-spec", "[]".into()),
        ("format-version", "2".into()),
    ];
    for (map_schema, put_pair) in layouts {
        let schema_json = format!(
            r#"{{"type":"record","name":"manifest_entry","fields":[
                {{"name":"status","type":"int","field-id":0}},
                {{"name":"data_file","field-id":2,"type":{{"type":"record","name":"r2","fields":[
                    {{"name":"file_path","type":"string","field-id":100}},
                    {{"name":"file_format","type":"string","field-id":101}},
                    {{"name":"record_count","type":"long","field-id":103}},
                    {{"name":"file_size_in_bytes","type":"long","field-id":104}},
                    {{"name":"value_counts","field-id":109,"type":["null",{map_schema}]}}
                ]}}}}
            ]}}"#
        );
        let bytes = hand_made(&schema_json, &kv, |b| {
            put_int(b, 1);
            put_str(b, "f.parquet");
            put_str(b, "parquet");
            put_long(b, 10);
            put_long(b, 100);
            put_union_branch(b, true);
            put_long(b, 2); // a block of two pairs
            put_pair(b, 1, 300);
            put_pair(b, 2, -5);
            put_long(b, 1); // and a block of one
            put_pair(b, 70_000, 1 << 40);
            put_long(b, 0);
        });
        let m = Manifest::parse(&bytes).unwrap_or_else(|e| panic!("{map_schema}: {e}"));
        assert_eq!(
            m.entries[0].data_file.value_counts,
            ColumnMap::from([(1, 300), (2, -5), (70_000, 1 << 40)]),
            "{map_schema}"
        );
    }
}

#[test]
fn bounds_of_unknown_columns_are_dropped() {
    let spec = PartitionSpec::unpartitioned();
    let mut w = ManifestWriter::new(
        metadata(spec, FormatVersion::V2, ManifestContentType::Data),
        Some(1),
    );
    let mut f = DataFile::new(DataFileFormat::Parquet, "f", 1, 1);
    f.lower_bounds = ColumnMap::from([(1, Datum::Long(1)), (500, Datum::Int(3))]);
    w.add(f).unwrap();
    let (bytes, _) = w.finish("m").unwrap();
    let m = Manifest::parse(&bytes).unwrap();
    assert_eq!(
        m.entries[0].data_file.lower_bounds,
        ColumnMap::from([(1, Datum::Long(1))])
    );
}

#[test]
fn rest_json_round_trip() {
    let spec = wide_spec();
    let pt = spec.partition_type(&schema()).unwrap();
    let mut f = full_file(4, wide_partition(4));
    f.first_row_id = Some(12);
    let v = f.to_rest_json(2, &pt);
    assert_eq!(v["spec-id"], 2);
    assert_eq!(v["content"], "data");
    assert_eq!(v["file-format"], "parquet");
    assert_eq!(
        v["column-sizes"],
        json!({"keys": [1, 2], "values": [14, 20]})
    );
    assert_eq!(v["lower-bounds"]["keys"], json!([1, 2, 4, 5, 6, 10]));
    assert_eq!(v["lower-bounds"]["values"][1], "aa");
    assert_eq!(v["lower-bounds"]["values"][3], "-0.99");
    assert_eq!(v["key-metadata"], "010203");
    assert_eq!(v["partition"][4], "2022-01-12");
    let back = DataFile::from_rest_json(&v, &schema(), &pt).unwrap();
    assert_eq!(back, f);

    let mut d = DataFile::new(DataFileFormat::Parquet, "eq.parquet", 1, 2)
        .with_content(DataContentType::EqualityDeletes);
    d.equality_ids = Some(vec![1]);
    d.referenced_data_file = Some("x".into());
    d.content_offset = Some(1);
    d.content_size_in_bytes = Some(2);
    let empty = StructType::default();
    let v = d.to_rest_json(0, &empty);
    assert_eq!(v["content"], "equality-deletes");
    assert_eq!(DataFile::from_rest_json(&v, &schema(), &empty).unwrap(), d);
}

#[test]
fn rest_json_reads_java_forms_and_rejects_bad_input() {
    let empty = StructType::default();
    // Java writes bounds as the hex of the Appendix D bytes, and upper case names.
    let v = json!({
        "spec-id": 0, "content": "DATA", "file-path": "f", "file-format": "PARQUET",
        "partition": [], "file-size-in-bytes": 10, "record-count": 2,
        "lower-bounds": {"keys": [1, 11], "values": ["0500000000000000", "07000000"]},
        "upper-bounds": {"keys": [1, 2], "values": [9, "zz"]},
    });
    let f = DataFile::from_rest_json(&v, &schema(), &empty).unwrap();
    assert_eq!(
        f.lower_bounds,
        ColumnMap::from([(1, Datum::Long(5)), (11, Datum::Int(7))])
    );
    assert_eq!(
        f.upper_bounds,
        ColumnMap::from([(1, Datum::Long(9)), (2, Datum::String("zz".into()))])
    );
    for (patch, needle) in [
        (json!({"record-count": null}), "record-count"),
        (json!({"file-format": "csv"}), "csv"),
        (json!({"content": "nope"}), "nope"),
        (json!({"partition": [1]}), "partition values"),
        (
            json!({"column-sizes": {"keys": [1], "values": []}}),
            "column-sizes",
        ),
        (
            json!({"lower-bounds": {"keys": [1], "values": ["zz"]}}),
            "column 1",
        ),
        (json!({"split-offsets": "x"}), "split-offsets"),
    ] {
        let mut bad = v.clone();
        for (k, val) in patch.as_object().unwrap() {
            bad[k] = val.clone();
        }
        let e = DataFile::from_rest_json(&bad, &schema(), &empty).unwrap_err();
        assert!(e.message().contains(needle), "{needle}: {e}");
    }
}

fn any_datum_of(ty: &P) -> BoxedStrategy<Option<Datum>> {
    let value: BoxedStrategy<Datum> = match *ty {
        P::Int => any::<i32>().prop_map(Datum::Int).boxed(),
        P::Long => any::<i64>().prop_map(Datum::Long).boxed(),
        P::String => ".{0,12}".prop_map(Datum::String).boxed(),
        // Dates whose JSON form is a valid ISO date (years 1..=9999).
        P::Date => (-719_000i32..2_900_000).prop_map(Datum::Date).boxed(),
        P::Double => any::<f64>().prop_map(Datum::Double).boxed(),
        P::Decimal { precision, scale } => (-99_999_999i128..99_999_999)
            .prop_map(move |u| Datum::Decimal {
                unscaled: u,
                precision,
                scale,
            })
            .boxed(),
        P::Uuid => any::<u128>()
            .prop_map(|u| Datum::Uuid(Uuid::from_u128(u)))
            .boxed(),
        _ => proptest::collection::vec(any::<u8>(), 0..8)
            .prop_map(Datum::Binary)
            .boxed(),
    };
    proptest::option::of(value).boxed()
}

fn prop_spec() -> PartitionSpec {
    PartitionSpec {
        spec_id: 4,
        fields: vec![
            pf(11, 1000, "i", Transform::Identity),
            pf(2, 1001, "s", Transform::Identity),
            pf(4, 1002, "d", Transform::Identity),
            pf(10, 1003, "x", Transform::Identity),
            pf(5, 1004, "p", Transform::Identity),
            pf(6, 1005, "u", Transform::Identity),
            pf(8, 1006, "b", Transform::Identity),
        ],
    }
}

fn any_entry() -> impl Strategy<Value = ManifestEntry> {
    let partition = (
        any_datum_of(&P::Int),
        any_datum_of(&P::String),
        any_datum_of(&P::Date),
        any_datum_of(&P::Double),
        any_datum_of(&P::Decimal {
            precision: 10,
            scale: 2,
        }),
        any_datum_of(&P::Uuid),
        any_datum_of(&P::Binary),
    )
        .prop_map(|(a, b, c, d, e, f, g)| vec![a, b, c, d, e, f, g]);
    let counts =
        proptest::collection::hash_map(1i32..16, any::<i64>(), 0..5).prop_map(ColumnMap::from);
    let bounds = proptest::collection::hash_map(
        prop_oneof![Just(1i32), Just(2), Just(11)],
        any::<i32>(),
        0..3,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(k, v)| {
                let d = match k {
                    1 => Datum::Long(i64::from(v)),
                    2 => Datum::String(v.to_string()),
                    _ => Datum::Int(v),
                };
                (k, d)
            })
            .collect::<ColumnMap<_>>()
    });
    (
        (
            0u8..3,
            any::<Option<i64>>(),
            any::<i64>(),
            any::<Option<i64>>(),
        ),
        (".{1,20}", 0i64..i64::MAX / 64, 0i64..i64::MAX, partition),
        (counts.clone(), counts.clone(), counts.clone(), counts),
        (bounds.clone(), bounds),
        (
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..4)),
            proptest::option::of(proptest::collection::vec(any::<i64>(), 0..4)),
            any::<Option<i32>>(),
            proptest::option::of("[a-z]{1,5}"),
        ),
    )
        .prop_map(
            |(
                (status, snapshot_id, seq, fseq),
                (path, records, size, partition),
                (c1, c2, c3, c4),
                (lower, upper),
                (key, splits, sort, referenced),
            )| {
                let status = match status {
                    0 => ManifestStatus::Existing,
                    1 => ManifestStatus::Added,
                    _ => ManifestStatus::Deleted,
                };
                let mut f = DataFile::new(DataFileFormat::Parquet, path, records, size)
                    .with_partition(partition);
                f.column_sizes = c1;
                f.value_counts = c2;
                f.null_value_counts = c3;
                f.nan_value_counts = c4;
                f.lower_bounds = lower;
                f.upper_bounds = upper;
                f.key_metadata = key;
                f.split_offsets = splits;
                f.sort_order_id = sort;
                f.referenced_data_file = referenced;
                ManifestEntry {
                    status,
                    snapshot_id,
                    sequence_number: (status != ManifestStatus::Added).then_some(seq),
                    file_sequence_number: fseq,
                    data_file: f,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_manifests_round_trip(entries in proptest::collection::vec(any_entry(), 0..12)) {
        let md = metadata(prop_spec(), FormatVersion::V2, ManifestContentType::Data);
        let mut w = ManifestWriter::new(md.clone(), Some(3)).with_codec(AvroCodec::Snappy);
        for e in &entries {
            w.add_entry(e.clone()).unwrap();
        }
        let (bytes, mf) = w.finish("m").unwrap();
        let m = Manifest::parse(&bytes).unwrap();
        prop_assert_eq!(&m.metadata, &md);
        prop_assert_eq!(&m.entries, &entries);
        prop_assert_eq!(mf.added_files_count, Some(entries.iter().filter(|e| e.status == ManifestStatus::Added).count() as i32));

        let pt = prop_spec().partition_type(&schema()).unwrap();
        let mut lw = ManifestListWriter::new(FormatVersion::V2, 3, None, 8);
        lw.add_manifests([mf.clone()]).unwrap();
        let list = ManifestList::parse(&lw.finish().unwrap(), &HashMap::from([(4, pt.clone())])).unwrap();
        prop_assert_eq!(&list.entries[0].partitions, &mf.partitions);

        for e in &entries {
            let v = e.data_file.to_rest_json(4, &pt);
            let back = DataFile::from_rest_json(&v, &schema(), &pt).unwrap();
            prop_assert_eq!(&back, &e.data_file);
        }
    }
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

fn datum_matches_pyiceberg(d: Option<&Datum>, expected: &serde_json::Value) -> bool {
    match (d, expected) {
        (None, serde_json::Value::Null) => true,
        (Some(Datum::String(s)), serde_json::Value::String(e)) => s == e,
        (Some(Datum::Date(v) | Datum::Int(v)), e) => e.as_i64() == Some(i64::from(*v)),
        (Some(d @ Datum::Decimal { .. }), serde_json::Value::String(e)) => d.to_json() == *e,
        _ => false,
    }
}

/// Files written by PyIceberg 0.12 (see `spec/tests/data/pyiceberg-0.12/gen.py`): two
/// appends and a delete on a table partitioned by identity, day, bucket and a decimal
/// identity. `expected.json` holds what PyIceberg itself reads back (with inheritance).
#[test]
fn reads_pyiceberg_manifests_and_manifest_list() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pyiceberg-0.12");
    let read = |name: &str| std::fs::read(format!("{dir}/{name}")).unwrap();
    let expected: serde_json::Value = serde_json::from_slice(&read("expected.json")).unwrap();

    let first = Manifest::parse(&read("m0.avro")).unwrap();
    assert_eq!(first.metadata.format_version, FormatVersion::V2);
    assert_eq!(first.metadata.partition_spec.fields.len(), 4);
    assert_eq!(
        first.metadata.partition_spec.fields[2].transform,
        Transform::Bucket(4)
    );
    let pt = first
        .metadata
        .partition_spec
        .partition_type(&first.metadata.schema)
        .unwrap();
    let list = ManifestList::parse(&read("snap.avro"), &HashMap::from([(0, pt)])).unwrap();
    assert_eq!(list.metadata.snapshot_id, expected["snapshot_id"].as_i64());
    assert_eq!(
        list.metadata.parent_snapshot_id,
        expected["parent_snapshot_id"].as_i64()
    );
    assert_eq!(
        list.metadata.sequence_number,
        expected["sequence_number"].as_i64()
    );
    let manifests = expected["manifests"].as_array().unwrap();
    assert_eq!(list.entries.len(), manifests.len());
    let mut entries_seen = 0;
    for em in manifests {
        let mf = list
            .entries
            .iter()
            .find(|m| m.manifest_path == em["path"].as_str().unwrap())
            .unwrap();
        assert_eq!(mf.manifest_length, em["length"].as_i64().unwrap());
        assert_eq!(mf.partition_spec_id, 0);
        assert_eq!(mf.sequence_number, em["sequence_number"].as_i64().unwrap());
        assert_eq!(
            mf.min_sequence_number,
            em["min_sequence_number"].as_i64().unwrap()
        );
        assert_eq!(
            mf.added_snapshot_id,
            em["added_snapshot_id"].as_i64().unwrap()
        );
        for (got, key) in [
            (mf.added_files_count.map(i64::from), "added_files_count"),
            (
                mf.existing_files_count.map(i64::from),
                "existing_files_count",
            ),
            (mf.deleted_files_count.map(i64::from), "deleted_files_count"),
            (mf.added_rows_count, "added_rows_count"),
            (mf.existing_rows_count, "existing_rows_count"),
            (mf.deleted_rows_count, "deleted_rows_count"),
        ] {
            assert_eq!(got, em[key].as_i64(), "{key}");
        }
        let summaries = mf.partitions.as_ref().unwrap();
        for (s, es) in summaries.iter().zip(em["partitions"].as_array().unwrap()) {
            assert_eq!(s.contains_null, es["contains_null"].as_bool().unwrap());
            assert_eq!(s.contains_nan, es["contains_nan"].as_bool());
            let bound = |d: &Option<Datum>| d.as_ref().map(|d| hex(&d.to_bytes()));
            assert_eq!(bound(&s.lower_bound).as_deref(), es["lower_bound"].as_str());
            assert_eq!(bound(&s.upper_bound).as_deref(), es["upper_bound"].as_str());
        }

        let manifest = Manifest::parse(&read(em["file"].as_str().unwrap())).unwrap();
        let entries = manifest.into_entries_inheriting(mf);
        let ee = em["entries"].as_array().unwrap();
        assert_eq!(entries.len(), ee.len());
        for (e, x) in entries.iter().zip(ee) {
            entries_seen += 1;
            let f = &e.data_file;
            assert_eq!(e.status as i64, x["status"].as_i64().unwrap());
            assert_eq!(e.snapshot_id, x["snapshot_id"].as_i64());
            assert_eq!(e.sequence_number, x["sequence_number"].as_i64());
            assert_eq!(e.file_sequence_number, x["file_sequence_number"].as_i64());
            assert_eq!(f.file_path, x["file_path"].as_str().unwrap());
            assert_eq!(f.file_format, DataFileFormat::Parquet);
            assert_eq!(f.record_count, x["record_count"].as_i64().unwrap());
            assert_eq!(
                f.file_size_in_bytes,
                x["file_size_in_bytes"].as_i64().unwrap()
            );
            let parts = x["partition"].as_array().unwrap();
            assert_eq!(f.partition.len(), parts.len());
            for (d, p) in f.partition.iter().zip(parts) {
                assert!(datum_matches_pyiceberg(d.as_ref(), p), "{d:?} vs {p}");
            }
            let counts = |m: &ColumnMap<i64>| -> serde_json::Value {
                m.iter()
                    .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
                    .collect::<serde_json::Map<_, _>>()
                    .into()
            };
            assert_eq!(counts(&f.column_sizes), x["column_sizes"]);
            assert_eq!(counts(&f.value_counts), x["value_counts"]);
            assert_eq!(counts(&f.null_value_counts), x["null_value_counts"]);
            assert_eq!(counts(&f.nan_value_counts), x["nan_value_counts"]);
            let bounds = |m: &ColumnMap<Datum>| -> serde_json::Value {
                m.iter()
                    .map(|(k, v)| (k.to_string(), serde_json::Value::from(hex(&v.to_bytes()))))
                    .collect::<serde_json::Map<_, _>>()
                    .into()
            };
            assert_eq!(bounds(&f.lower_bounds), x["lower_bounds"]);
            assert_eq!(bounds(&f.upper_bounds), x["upper_bounds"]);
            let splits: Option<Vec<i64>> =
                serde_json::from_value(x["split_offsets"].clone()).unwrap();
            assert_eq!(f.split_offsets, splits);
            assert_eq!(
                f.sort_order_id,
                x["sort_order_id"].as_i64().map(|v| v as i32)
            );
        }
    }
    assert_eq!(entries_seen, 4);
}
