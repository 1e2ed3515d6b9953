use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, Int64Array, LargeStringArray, ListArray, RecordBatch,
    StringArray, StructArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field, Fields, Int64Type, Schema as ArrowSchema, TimeUnit};
use floe_spec::schema::Schema;
use floe_spec::types::{ListType, MapType, NestedField, PrimitiveType, StructType, Type};

use super::*;

fn p(t: PrimitiveType) -> Type {
    Type::Primitive(t)
}

pub(crate) fn all_types_schema() -> Schema {
    use PrimitiveType as P;
    let prims = [
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
            scale: 10,
        },
        P::Date,
        P::Time,
        P::Timestamp,
        P::Timestamptz,
        P::TimestampNs,
        P::TimestamptzNs,
        P::String,
        P::Uuid,
        P::Fixed(7),
        P::Binary,
    ];
    let mut fields: Vec<NestedField> = prims
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let id = i as i32 + 1;
            NestedField::new(id, format!("c{id}"), p(t.clone()), i % 2 == 0)
        })
        .collect();
    fields.push(NestedField::optional(
        100,
        "s",
        Type::Struct(StructType::new(vec![
            NestedField::required(101, "a", p(P::Int)),
            NestedField::optional(102, "b", p(P::String)),
        ])),
    ));
    fields.push(NestedField::required(
        103,
        "l",
        Type::List(ListType::new(104, p(P::Long), true)),
    ));
    fields.push(NestedField::optional(
        105,
        "m",
        Type::Map(MapType::new(
            106,
            p(P::String),
            107,
            Type::List(ListType::new(108, p(P::Double), false)),
            false,
        )),
    ));
    Schema::builder().with_fields(fields).build().unwrap()
}

#[test]
fn every_type_round_trips() {
    let schema = all_types_schema();
    let arrow = schema_to_arrow(&schema).unwrap();
    let back = arrow_to_schema(&arrow, FieldIds::FromMetadata).unwrap();
    // uuid comes back as fixed[16] without the extension type: everything else is equal.
    let uuid_id = 15;
    for f in schema.fields() {
        let b = back.field_by_id(f.id).unwrap();
        if f.id == uuid_id {
            assert_eq!(*b.field_type, p(PrimitiveType::Fixed(16)));
        } else {
            assert_eq!(b, f, "field {}", f.name);
        }
    }
    // With the extension type, uuid round trips too.
    let mut fields: Vec<Field> = arrow.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut md = fields[14].metadata().clone();
    md.insert("ARROW:extension:name".into(), "arrow.uuid".into());
    fields[14] = fields[14].clone().with_metadata(md);
    let back = arrow_to_schema(&ArrowSchema::new(fields), FieldIds::FromMetadata).unwrap();
    assert_eq!(back, schema);
}

#[test]
fn arrow_types_are_the_documented_ones() {
    let schema = all_types_schema();
    let arrow = schema_to_arrow(&schema).unwrap();
    let dt = |name: &str| arrow.field_with_name(name).unwrap().data_type().clone();
    assert_eq!(dt("c1"), DataType::Boolean);
    assert_eq!(dt("c6"), DataType::Decimal128(9, 2));
    assert_eq!(dt("c8"), DataType::Date32);
    assert_eq!(dt("c9"), DataType::Time64(TimeUnit::Microsecond));
    assert_eq!(dt("c10"), DataType::Timestamp(TimeUnit::Microsecond, None));
    assert_eq!(
        dt("c11"),
        DataType::Timestamp(TimeUnit::Microsecond, Some("+00:00".into()))
    );
    assert_eq!(dt("c12"), DataType::Timestamp(TimeUnit::Nanosecond, None));
    assert_eq!(
        dt("c13"),
        DataType::Timestamp(TimeUnit::Nanosecond, Some("+00:00".into()))
    );
    assert_eq!(dt("c14"), DataType::Utf8);
    assert_eq!(dt("c15"), DataType::FixedSizeBinary(16));
    assert_eq!(dt("c16"), DataType::FixedSizeBinary(7));
    assert_eq!(dt("c17"), DataType::Binary);
    assert!(!arrow.field_with_name("c1").unwrap().is_nullable());
    assert!(arrow.field_with_name("c2").unwrap().is_nullable());
    let DataType::List(item) = dt("l") else {
        panic!("list")
    };
    assert_eq!(item.name(), "element");
    assert_eq!(item.metadata()[FIELD_ID_KEY], "104");
    assert!(!item.is_nullable());
    let DataType::Map(entries, false) = dt("m") else {
        panic!("map")
    };
    let DataType::Struct(kv) = entries.data_type() else {
        panic!("entries")
    };
    assert_eq!(kv[0].metadata()[FIELD_ID_KEY], "106");
    assert!(!kv[0].is_nullable());
    assert_eq!(kv[1].metadata()[FIELD_ID_KEY], "107");
}

#[test]
fn input_variants_are_accepted() {
    let arrow = ArrowSchema::new(vec![
        Field::new("a", DataType::LargeUtf8, true),
        Field::new("b", DataType::Utf8View, false),
        Field::new("c", DataType::LargeBinary, true),
        Field::new("d", DataType::Int16, true),
        Field::new("e", DataType::UInt32, true),
        Field::new(
            "f",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new(
            "g",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            true,
        ),
        Field::new(
            "h",
            DataType::LargeList(Arc::new(Field::new("item", DataType::Int32, true))),
            true,
        ),
    ]);
    let s = arrow_to_schema(&arrow, FieldIds::AssignFresh).unwrap();
    let t = |n: &str| (*s.field_by_name(n).unwrap().field_type).clone();
    assert_eq!(t("a"), p(PrimitiveType::String));
    assert_eq!(t("b"), p(PrimitiveType::String));
    assert!(s.field_by_name("b").unwrap().required);
    assert_eq!(t("c"), p(PrimitiveType::Binary));
    assert_eq!(t("d"), p(PrimitiveType::Int));
    assert_eq!(t("e"), p(PrimitiveType::Long));
    assert_eq!(t("f"), p(PrimitiveType::Timestamptz));
    assert_eq!(t("g"), p(PrimitiveType::String));
    // Fresh ids: top level 1..=8, then the list element.
    assert_eq!(s.field_by_name("a").unwrap().id, 1);
    assert_eq!(s.field_by_name("h").unwrap().id, 8);
    assert_eq!(s.field_by_name("h.element").unwrap().id, 9);
}

#[test]
fn missing_ids_and_bad_types_are_named() {
    let arrow = ArrowSchema::new(vec![
        Field::new(
            "outer",
            DataType::Struct(Fields::from(vec![Field::new(
                "inner",
                DataType::Int32,
                true,
            )])),
            true,
        )
        .with_metadata([(FIELD_ID_KEY.to_string(), "1".to_string())].into()),
    ]);
    let e = arrow_to_schema(&arrow, FieldIds::FromMetadata).unwrap_err();
    assert!(e.to_string().contains("`outer.inner`"), "{e}");
    assert!(arrow_to_schema(&arrow, FieldIds::AssignFresh).is_ok());

    let arrow = ArrowSchema::new(vec![Field::new(
        "t",
        DataType::Timestamp(TimeUnit::Microsecond, Some("Europe/Paris".into())),
        true,
    )]);
    let e = arrow_to_schema(&arrow, FieldIds::AssignFresh).unwrap_err();
    assert!(e.to_string().contains("`t`"), "{e}");
    let arrow = ArrowSchema::new(vec![Field::new("u", DataType::UInt64, true)]);
    let e = arrow_to_schema(&arrow, FieldIds::AssignFresh).unwrap_err();
    assert!(e.to_string().contains("`u`"), "{e}");
    let arrow = ArrowSchema::new(vec![
        Field::new("x", DataType::Int32, true)
            .with_metadata([(FIELD_ID_KEY.to_string(), "abc".to_string())].into()),
    ]);
    let e = arrow_to_schema(&arrow, FieldIds::FromMetadata).unwrap_err();
    assert!(e.to_string().contains("`x`"), "{e}");
}

fn table() -> Schema {
    Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", p(PrimitiveType::Long)),
            NestedField::optional(2, "name", p(PrimitiveType::String)),
            NestedField::optional(
                3,
                "point",
                Type::Struct(StructType::new(vec![
                    NestedField::required(4, "x", p(PrimitiveType::Int)),
                    NestedField::optional(5, "y", p(PrimitiveType::Int)),
                ])),
            ),
            NestedField::optional(
                6,
                "tags",
                Type::List(ListType::new(7, p(PrimitiveType::Long), true)),
            ),
        ])
        .build()
        .unwrap()
}

fn batch(columns: Vec<(&str, ArrayRef, bool)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(n, a, nullable)| Field::new(*n, a.data_type().clone(), *nullable))
        .collect();
    RecordBatch::try_new(
        Arc::new(ArrowSchema::new(fields)),
        columns.into_iter().map(|(_, a, _)| a).collect(),
    )
    .unwrap()
}

fn point(x: Vec<Option<i32>>, struct_nulls: Option<Vec<bool>>) -> ArrayRef {
    let n = x.len();
    let fields = Fields::from(vec![
        Field::new("y", DataType::Int32, true),
        Field::new("x", DataType::Int32, true),
    ]);
    Arc::new(StructArray::new(
        fields,
        vec![
            Arc::new(Int32Array::from(vec![Some(0); n])),
            Arc::new(Int32Array::from(x)),
        ],
        struct_nulls.map(NullBuffer::from),
    ))
}

#[test]
fn align_reorders_promotes_and_fills() {
    let schema = table();
    let b = batch(vec![
        (
            "name",
            Arc::new(LargeStringArray::from(vec![Some("a"), None])),
            true,
        ),
        (
            "point",
            point(vec![Some(1), None], Some(vec![true, false])),
            true,
        ),
        ("id", Arc::new(Int32Array::from(vec![1, 2])), false),
    ]);
    let out = align_batch(&b, &schema).unwrap();
    assert_eq!(out.schema().as_ref(), &schema_to_arrow(&schema).unwrap());
    assert_eq!(out.column(0).as_primitive::<Int64Type>().values(), &[1, 2]);
    assert_eq!(out.column(1).as_string::<i32>().value(0), "a");
    let pt = out.column(2).as_struct();
    assert_eq!(
        pt.column(0)
            .as_primitive::<arrow::datatypes::Int32Type>()
            .value(0),
        1
    );
    assert_eq!(out.column(3).null_count(), 2);
}

#[test]
fn align_errors_name_the_column() {
    let schema = table();
    let msg = |b: RecordBatch| align_batch(&b, &schema).unwrap_err().to_string();

    let e = msg(batch(vec![(
        "name",
        Arc::new(StringArray::from(vec!["a"])),
        true,
    )]));
    assert!(e.contains("required column `id` is missing"), "{e}");

    let e = msg(batch(vec![
        ("id", Arc::new(Int64Array::from(vec![1])), false),
        ("extra", Arc::new(Int64Array::from(vec![1])), true),
    ]));
    assert!(e.contains("`extra` is not in the table schema"), "{e}");

    let e = msg(batch(vec![(
        "id",
        Arc::new(StringArray::from(vec!["1"])),
        false,
    )]));
    assert!(e.contains("column `id`") && e.contains("Utf8"), "{e}");

    let e = msg(batch(vec![(
        "id",
        Arc::new(Int64Array::from(vec![Some(1), None])),
        true,
    )]));
    assert!(e.contains("required column `id` has 1 null"), "{e}");

    // A null in a required struct child is fine where the struct itself is null...
    let ok = batch(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2])), false),
        (
            "point",
            point(vec![Some(1), None], Some(vec![true, false])),
            true,
        ),
    ]);
    assert!(align_batch(&ok, &schema).is_ok());
    // ...but not where it is present.
    let e = msg(batch(vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2])), false),
        ("point", point(vec![Some(1), None], None), true),
    ]));
    assert!(e.contains("required column `point.x`"), "{e}");

    // Required list elements.
    let tags = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![Some(vec![Some(1), None])]);
    let e = msg(batch(vec![
        ("id", Arc::new(Int64Array::from(vec![1])), false),
        ("tags", Arc::new(tags), true),
    ]));
    assert!(e.contains("`tags.element`"), "{e}");
}
