use std::sync::Arc;

use arrow::array::{Array, Int32Array, Int64Array, RecordBatch, StringArray, StructArray};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, Fields, Schema as ArrowSchema};
use floe_spec::partition::{PartitionField, PartitionSpec};
use floe_spec::schema::Schema;
use floe_spec::transform::Transform;
use floe_spec::types::{NestedField, PrimitiveType, StructType, Type};
use floe_spec::values::Datum;
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::arrow_schema::schema_to_arrow;

#[test]
fn murmur3_known_answers() {
    // Spec Appendix B test vectors.
    assert_eq!(hash_long(34), 2_017_239_379);
    assert_eq!(murmur3_32(b"iceberg"), 1_210_000_089);
    assert_eq!(hash_long(17_486), -653_330_422);
    assert_eq!(murmur3_32(&[0x05, 0x8C]), -500_754_589);
    let u = Uuid::parse_str("f79c3e09-677c-4bbd-a479-3f349cb785e7").unwrap();
    assert_eq!(murmur3_32(u.as_bytes()), 1_488_055_340);
    assert_eq!(murmur3_32(&[0, 1, 2, 3]), -188_683_207);
}

fn datum_strategy(ty: &PrimitiveType) -> BoxedStrategy<Datum> {
    use PrimitiveType as P;
    match ty.clone() {
        P::Boolean => any::<bool>().prop_map(Datum::Boolean).boxed(),
        P::Int => prop_oneof![any::<i32>(), -1000i32..1000, Just(i32::MIN), Just(i32::MAX)]
            .prop_map(Datum::Int)
            .boxed(),
        P::Long => prop_oneof![any::<i64>(), -1000i64..1000, Just(i64::MIN)]
            .prop_map(Datum::Long)
            .boxed(),
        P::Float => any::<f32>().prop_map(Datum::Float).boxed(),
        P::Double => any::<f64>().prop_map(Datum::Double).boxed(),
        P::Decimal { precision, scale } => {
            let max = 10i128.pow(precision) - 1;
            prop_oneof![-max..=max, -1000i128..1000]
                .prop_map(move |unscaled| Datum::Decimal {
                    unscaled,
                    precision,
                    scale,
                })
                .boxed()
        }
        P::Date => (-1_000_000i32..1_000_000).prop_map(Datum::Date).boxed(),
        P::Time => (0i64..86_400_000_000).prop_map(Datum::Time).boxed(),
        P::Timestamp => (-10_000_000_000_000_000i64..10_000_000_000_000_000)
            .prop_map(Datum::Timestamp)
            .boxed(),
        P::Timestamptz => (-10_000_000_000_000_000i64..10_000_000_000_000_000)
            .prop_map(Datum::Timestamptz)
            .boxed(),
        P::TimestampNs => any::<i64>().prop_map(Datum::TimestampNs).boxed(),
        P::TimestamptzNs => any::<i64>().prop_map(Datum::TimestamptzNs).boxed(),
        P::String => prop_oneof!["[a-z]{0,8}", "\\PC{0,12}"]
            .prop_map(Datum::String)
            .boxed(),
        P::Uuid => any::<[u8; 16]>()
            .prop_map(|b| Datum::Uuid(Uuid::from_bytes(b)))
            .boxed(),
        P::Fixed(l) => proptest::collection::vec(any::<u8>(), l as usize)
            .prop_map(Datum::Fixed)
            .boxed(),
        P::Binary => proptest::collection::vec(any::<u8>(), 0..20)
            .prop_map(Datum::Binary)
            .boxed(),
        P::Unknown => Just(Datum::Int(0)).boxed(),
    }
}

fn source_types() -> Vec<PrimitiveType> {
    use PrimitiveType as P;
    vec![
        P::Boolean,
        P::Int,
        P::Long,
        P::Float,
        P::Double,
        P::Decimal {
            precision: 9,
            scale: 2,
        },
        P::Decimal {
            precision: 38,
            scale: 0,
        },
        P::Date,
        P::Time,
        P::Timestamp,
        P::Timestamptz,
        P::TimestampNs,
        P::TimestamptzNs,
        P::String,
        P::Uuid,
        P::Fixed(3),
        P::Binary,
    ]
}

fn transforms() -> Vec<Transform> {
    vec![
        Transform::Identity,
        Transform::Bucket(1),
        Transform::Bucket(16),
        Transform::Bucket(1_000_003),
        Transform::Truncate(1),
        Transform::Truncate(3),
        Transform::Truncate(10),
        Transform::Year,
        Transform::Month,
        Transform::Day,
        Transform::Hour,
        Transform::Void,
    ]
}

/// Every (type, transform, values) case: the Arrow transform equals `Transform::apply`
/// on every row, or both fail.
fn check_case(ty: &PrimitiveType, t: Transform, values: &[Option<Datum>]) {
    let array = datums_to_array(values, ty).unwrap();
    // Round trip of the conversion itself.
    for (i, v) in values.iter().enumerate() {
        let back = datum_at(array.as_ref(), i, ty).unwrap();
        assert_eq!(back.as_ref(), v.as_ref());
    }
    let expected: Vec<Result<Option<Datum>, _>> =
        values.iter().map(|v| t.apply_opt(v.as_ref())).collect();
    let Ok(result_type) = t.result_type(ty) else {
        assert!(transform_array(t, ty, array.as_ref()).is_err());
        return;
    };
    match transform_array(t, ty, array.as_ref()) {
        Ok(out) => {
            assert_eq!(out.len(), values.len());
            assert_eq!(out.data_type(), &primitive_to_arrow(&result_type).unwrap());
            for (i, e) in expected.into_iter().enumerate() {
                let e = e.unwrap_or_else(|err| panic!("{t} on {ty} row {i}: apply failed: {err}"));
                let got = datum_at(out.as_ref(), i, &result_type).unwrap();
                assert_eq!(got, e, "{t} of {:?} ({ty})", values[i]);
            }
        }
        Err(_) => assert!(
            expected.iter().any(Result::is_err),
            "{t} on {ty} failed but apply succeeded for every row"
        ),
    }
}

fn case_strategy() -> impl Strategy<Value = (PrimitiveType, Transform, Vec<Option<Datum>>)> {
    (
        proptest::sample::select(source_types()),
        proptest::sample::select(transforms()),
    )
        .prop_flat_map(|(ty, t)| {
            let values = proptest::collection::vec(
                proptest::option::weighted(0.8, datum_strategy(&ty)),
                0..40,
            );
            (Just(ty), Just(t), values)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]
    #[test]
    fn arrow_transforms_match_apply((ty, t, values) in case_strategy()) {
        check_case(&ty, t, &values);
    }
}

#[test]
fn every_supported_pair_runs() {
    // Deterministic edge values for every type and transform.
    use PrimitiveType as P;
    for ty in source_types() {
        let values: Vec<Option<Datum>> = match &ty {
            P::Int => [0, -1, 1, i32::MIN, i32::MAX, 9, -9]
                .into_iter()
                .map(|v| Some(Datum::Int(v)))
                .collect(),
            P::Long => [0, -1, i64::MIN, i64::MAX, 10, -10]
                .into_iter()
                .map(|v| Some(Datum::Long(v)))
                .collect(),
            P::Timestamp => [0, -1, 1_510_871_468_000_000, -86_400_000_001]
                .into_iter()
                .map(|v| Some(Datum::Timestamp(v)))
                .collect(),
            P::Date => [0, -1, 17_486, -719_528, 2_932_896]
                .into_iter()
                .map(|v| Some(Datum::Date(v)))
                .collect(),
            P::String => ["", "iceberg", "日本語のテキスト", "a\u{10FFFF}b"]
                .into_iter()
                .map(|s| Some(Datum::String(s.into())))
                .collect(),
            _ => Vec::new(),
        };
        let mut values = values;
        values.push(None);
        for t in transforms() {
            check_case(&ty, t, &values);
        }
    }
}

#[test]
fn out_of_range_hour_is_an_error() {
    let values = vec![Some(Datum::Timestamp(i64::MAX))];
    let array = datums_to_array(&values, &PrimitiveType::Timestamp).unwrap();
    assert!(transform_array(Transform::Hour, &PrimitiveType::Timestamp, array.as_ref()).is_err());
    assert!(Transform::Hour.apply(&Datum::Timestamp(i64::MAX)).is_err());
    // A null in that slot is fine.
    let values = vec![None, Some(Datum::Timestamp(0))];
    let array = datums_to_array(&values, &PrimitiveType::Timestamp).unwrap();
    assert!(transform_array(Transform::Hour, &PrimitiveType::Timestamp, array.as_ref()).is_ok());
}

#[test]
fn large_utf8_input_is_accepted() {
    let a = arrow::array::LargeStringArray::from(vec![Some("iceberg"), None]);
    let out = transform_array(Transform::Bucket(16), &PrimitiveType::String, &a).unwrap();
    let out = out.as_any().downcast_ref::<Int32Array>().unwrap();
    assert_eq!(out.value(0), 1_210_000_089 % 16);
    assert!(out.is_null(1));
}

fn nested_schema() -> Schema {
    Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
            NestedField::optional(
                2,
                "s",
                Type::Struct(StructType::new(vec![NestedField::optional(
                    3,
                    "cat",
                    Type::Primitive(PrimitiveType::String),
                )])),
            ),
        ])
        .build()
        .unwrap()
}

fn nested_batch() -> RecordBatch {
    let schema = nested_schema();
    let arrow = Arc::new(schema_to_arrow(&schema).unwrap());
    let DataType::Struct(children) = arrow.field(1).data_type().clone() else {
        panic!()
    };
    let s = StructArray::new(
        children,
        vec![Arc::new(StringArray::from(vec![
            Some("a"),
            Some("b"),
            Some("a"),
            Some("a"),
            None,
        ]))],
        // Row 3's struct is null: its `cat` counts as null even though the child has "a".
        Some(NullBuffer::from(vec![true, true, true, false, true])),
    );
    RecordBatch::try_new(
        arrow,
        vec![Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])), Arc::new(s)],
    )
    .unwrap()
}

#[test]
fn split_groups_rows_by_partition() {
    let schema = nested_schema();
    let spec = PartitionSpec {
        spec_id: 1,
        fields: vec![
            PartitionField {
                source_id: 3,
                field_id: 1000,
                name: "cat".into(),
                transform: Transform::Identity,
            },
            PartitionField {
                source_id: 1,
                field_id: 1001,
                name: "b".into(),
                transform: Transform::Bucket(2),
            },
            PartitionField {
                source_id: 99,
                field_id: 1002,
                name: "gone".into(),
                transform: Transform::Void,
            },
        ],
    };
    // A void field whose source column was dropped is fine.
    let schema_for_spec = schema.clone();
    let splitter = PartitionSplitter::try_new(&spec, &schema_for_spec);
    // Source 99 is not in the schema: partition_type rejects it, like Java would for a
    // current spec; use a spec without it for the split.
    assert!(splitter.is_err());
    let spec = PartitionSpec {
        spec_id: 1,
        fields: spec.fields[..2].to_vec(),
    };
    let splitter = PartitionSplitter::try_new(&spec, &schema).unwrap();
    let batch = nested_batch();
    let per_row = splitter.partition_values(&batch).unwrap();
    assert_eq!(
        per_row[3][0], None,
        "null parent struct makes the source null"
    );
    assert_eq!(per_row[0][0], Some(Datum::String("a".into())));
    let parts = splitter.split(&batch).unwrap();
    let total: usize = parts.iter().map(|p| p.batch.num_rows()).sum();
    assert_eq!(total, 5);
    for part in &parts {
        let again = splitter.partition_values(&part.batch).unwrap();
        assert!(again.iter().all(|t| *t == part.partition));
    }
    // First-appearance order.
    assert_eq!(parts[0].partition, per_row[0]);
}

#[test]
fn split_of_unpartitioned_and_empty() {
    let schema = nested_schema();
    let splitter = PartitionSplitter::try_new(&PartitionSpec::unpartitioned(), &schema).unwrap();
    let batch = nested_batch();
    let parts = splitter.split(&batch).unwrap();
    assert_eq!(parts.len(), 1);
    assert!(parts[0].partition.is_empty());
    assert!(splitter.split(&batch.slice(0, 0)).unwrap().is_empty());
}

#[test]
fn misaligned_batches_are_errors() {
    let schema = nested_schema();
    let spec = PartitionSpec {
        spec_id: 0,
        fields: vec![PartitionField {
            source_id: 3,
            field_id: 1000,
            name: "cat".into(),
            transform: Transform::Identity,
        }],
    };
    let splitter = PartitionSplitter::try_new(&spec, &schema).unwrap();
    let batch = RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![Field::new(
            "x",
            DataType::Int64,
            false,
        )])),
        vec![Arc::new(Int64Array::from(vec![1]))],
    )
    .unwrap();
    assert!(splitter.split(&batch).is_err());
    let _ = Fields::empty();
}
