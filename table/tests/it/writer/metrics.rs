//! Metrics of data files: every primitive type, NaN, nulls, truncation, modes, nested
//! columns, and bounds equal to the data's min and max (proptest).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, Int64Array, ListArray, RecordBatch, StringArray, StructArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Int32Type};
use floe_spec::manifest::{DataContentType, DataFileFormat};
use floe_spec::partition::PartitionSpec;
use floe_spec::schema::Schema;
use floe_spec::types::{ListType, MapType, NestedField, PrimitiveType, StructType, Type};
use floe_spec::values::Datum;
use floe_table::arrow_schema::schema_to_arrow;
use floe_table::arrow_transform::datums_to_array;
use proptest::prelude::*;
use uuid::Uuid;

use super::{assert_leaf_ids, props, read_bytes, read_file, rt, write};

fn p(t: PrimitiveType) -> Type {
    Type::Primitive(t)
}

/// One column per primitive type, 6 rows each (some null, some NaN).
fn primitive_columns() -> Vec<(PrimitiveType, Vec<Option<Datum>>)> {
    use PrimitiveType as P;
    let dec = |u: i128| Datum::Decimal {
        unscaled: u,
        precision: 9,
        scale: 2,
    };
    let big = |u: i128| Datum::Decimal {
        unscaled: u,
        precision: 38,
        scale: 5,
    };
    let uuid = |s: &str| Datum::Uuid(Uuid::parse_str(s).unwrap());
    vec![
        (
            P::Boolean,
            vec![
                Some(Datum::Boolean(true)),
                None,
                Some(Datum::Boolean(true)),
                None,
                None,
                None,
            ],
        ),
        (
            P::Int,
            vec![
                Some(Datum::Int(5)),
                Some(Datum::Int(-7)),
                None,
                Some(Datum::Int(i32::MAX)),
                Some(Datum::Int(0)),
                None,
            ],
        ),
        (
            P::Long,
            vec![
                Some(Datum::Long(i64::MIN)),
                Some(Datum::Long(3)),
                None,
                None,
                None,
                Some(Datum::Long(9)),
            ],
        ),
        (
            P::Float,
            vec![
                Some(Datum::Float(f32::NAN)),
                Some(Datum::Float(1.5)),
                Some(Datum::Float(-2.25)),
                None,
                Some(Datum::Float(f32::NAN)),
                Some(Datum::Float(0.5)),
            ],
        ),
        (
            P::Double,
            vec![
                Some(Datum::Double(-1e300)),
                Some(Datum::Double(f64::NAN)),
                None,
                Some(Datum::Double(7.0)),
                Some(Datum::Double(f64::INFINITY)),
                None,
            ],
        ),
        (
            P::Decimal {
                precision: 9,
                scale: 2,
            },
            vec![
                Some(dec(1420)),
                Some(dec(-99_999)),
                None,
                Some(dec(0)),
                None,
                Some(dec(123_456_789)),
            ],
        ),
        (
            P::Decimal {
                precision: 38,
                scale: 5,
            },
            vec![
                Some(big(-(10i128.pow(37)))),
                Some(big(10i128.pow(36))),
                None,
                None,
                Some(big(1)),
                None,
            ],
        ),
        (
            P::Date,
            vec![
                Some(Datum::Date(17_486)),
                Some(Datum::Date(-3)),
                None,
                None,
                None,
                None,
            ],
        ),
        (
            P::Time,
            vec![
                Some(Datum::Time(86_399_999_999)),
                Some(Datum::Time(1)),
                None,
                None,
                None,
                None,
            ],
        ),
        (
            P::Timestamp,
            vec![
                Some(Datum::Timestamp(1_510_871_468_000_001)),
                None,
                Some(Datum::Timestamp(-5)),
                None,
                None,
                None,
            ],
        ),
        (
            P::Timestamptz,
            vec![
                Some(Datum::Timestamptz(10)),
                None,
                Some(Datum::Timestamptz(20)),
                None,
                None,
                None,
            ],
        ),
        (
            P::TimestampNs,
            vec![
                Some(Datum::TimestampNs(1_510_871_468_000_000_001)),
                None,
                Some(Datum::TimestampNs(-1)),
                None,
                None,
                None,
            ],
        ),
        (
            P::TimestamptzNs,
            vec![
                Some(Datum::TimestamptzNs(7)),
                Some(Datum::TimestamptzNs(8)),
                None,
                None,
                None,
                None,
            ],
        ),
        (
            P::String,
            vec![
                Some(Datum::String("iceberg".into())),
                Some(Datum::String("Äpfel".into())),
                None,
                Some(Datum::String(String::new())),
                None,
                None,
            ],
        ),
        (
            P::Uuid,
            vec![
                Some(uuid("f79c3e09-677c-4bbd-a479-3f349cb785e7")),
                Some(uuid("00000000-0000-0000-0000-000000000001")),
                None,
                None,
                None,
                None,
            ],
        ),
        (
            P::Fixed(3),
            vec![
                Some(Datum::Fixed(vec![1, 2, 3])),
                Some(Datum::Fixed(vec![0xFF, 0, 0])),
                None,
                None,
                None,
                None,
            ],
        ),
        (
            P::Binary,
            vec![
                Some(Datum::Binary(vec![9])),
                Some(Datum::Binary(vec![])),
                Some(Datum::Binary(vec![0x80, 1])),
                None,
                None,
                None,
            ],
        ),
    ]
}

fn min_max(values: &[Option<Datum>]) -> (Option<Datum>, Option<Datum>) {
    let present: Vec<&Datum> = values.iter().flatten().filter(|d| !d.is_nan()).collect();
    (
        present.iter().min().map(|d| (*d).clone()),
        present.iter().max().map(|d| (*d).clone()),
    )
}

#[test]
fn every_primitive_type_has_exact_metrics() {
    let columns = primitive_columns();
    let fields: Vec<NestedField> = columns
        .iter()
        .enumerate()
        .map(|(i, (t, _))| NestedField::optional(i as i32 + 1, format!("c{}", i + 1), p(t.clone())))
        .collect();
    let schema = Schema::builder().with_fields(fields).build().unwrap();
    let arrays: Vec<ArrayRef> = columns
        .iter()
        .map(|(t, v)| datums_to_array(v, t).unwrap())
        .collect();
    let batch = RecordBatch::try_new(Arc::new(schema_to_arrow(&schema).unwrap()), arrays).unwrap();
    rt().block_on(async {
        let (store, files) = write(
            &schema,
            &PartitionSpec::unpartitioned(),
            &props(&[]),
            &[batch],
        )
        .await
        .unwrap();
        assert_eq!(files.len(), 1);
        let f = &files[0];
        assert_eq!(f.content, DataContentType::Data);
        assert_eq!(f.file_format, DataFileFormat::Parquet);
        assert_eq!(f.record_count, 6);
        assert!(f.partition.is_empty());
        let bytes = read_bytes(&store, &f.file_path).await;
        assert_eq!(f.file_size_in_bytes, bytes.len() as i64);
        assert_eq!(f.split_offsets, Some(vec![4]));
        let (batches, metadata) = read_file(&store, &f.file_path).await;
        assert_leaf_ids(&metadata, &(1..=columns.len() as i32).collect::<Vec<_>>());
        assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 6);
        for (i, (t, values)) in columns.iter().enumerate() {
            let id = i as i32 + 1;
            assert!(f.column_sizes[&id] > 0, "column size of {t}");
            assert_eq!(f.value_counts[&id], 6, "value count of {t}");
            let nulls = values.iter().filter(|v| v.is_none()).count() as i64;
            assert_eq!(f.null_value_counts[&id], nulls, "null count of {t}");
            if t.is_floating() {
                let nans = values.iter().flatten().filter(|d| d.is_nan()).count() as i64;
                assert_eq!(f.nan_value_counts[&id], nans, "NaN count of {t}");
            } else {
                assert!(
                    !f.nan_value_counts.contains_key(&id),
                    "{t} has no NaN count"
                );
            }
            let (lo, hi) = min_max(values);
            assert_eq!(f.lower_bounds.get(&id), lo.as_ref(), "lower bound of {t}");
            assert_eq!(f.upper_bounds.get(&id), hi.as_ref(), "upper bound of {t}");
        }
    });
}

fn one_column(t: &PrimitiveType, values: &[Option<Datum>]) -> (Schema, RecordBatch) {
    let schema = Schema::builder()
        .with_fields(vec![NestedField::optional(1, "v", p(t.clone()))])
        .build()
        .unwrap();
    let batch = RecordBatch::try_new(
        Arc::new(schema_to_arrow(&schema).unwrap()),
        vec![datums_to_array(values, t).unwrap()],
    )
    .unwrap();
    (schema, batch)
}

fn bounds_of(
    t: &PrimitiveType,
    values: &[&str],
    properties: &[(&str, &str)],
) -> (Option<Datum>, Option<Datum>) {
    let datums: Vec<Option<Datum>> = values
        .iter()
        .map(|s| {
            Some(match t {
                PrimitiveType::String => Datum::String((*s).to_string()),
                _ => Datum::Binary(s.as_bytes().to_vec()),
            })
        })
        .collect();
    let (schema, batch) = one_column(t, &datums);
    rt().block_on(async {
        let (_, files) = write(
            &schema,
            &PartitionSpec::unpartitioned(),
            &props(properties),
            &[batch],
        )
        .await
        .unwrap();
        (
            files[0].lower_bounds.get(&1).cloned(),
            files[0].upper_bounds.get(&1).cloned(),
        )
    })
}

#[allow(clippy::unnecessary_wraps)]
fn s(v: &str) -> Option<Datum> {
    Some(Datum::String(v.to_string()))
}

#[test]
fn strings_are_truncated_to_16_code_points() {
    let (lo, hi) = bounds_of(
        &PrimitiveType::String,
        &["abcdefghijklmnopqrstuvwxyz", "abcdefghijklmnopzzz", "b"],
        &[],
    );
    assert_eq!(lo, s("abcdefghijklmnop"));
    assert_eq!(hi, s("b"));
    let (lo, hi) = bounds_of(
        &PrimitiveType::String,
        &["abcdefghijklmnopqrstuvwxyz", "abc"],
        &[],
    );
    assert_eq!(lo, s("abc"));
    assert_eq!(hi, s("abcdefghijklmnoq"));
    // Code points, not bytes: 17 three-byte characters.
    let long = "日本語日本語日本語日本語日本語日本";
    let (lo, hi) = bounds_of(&PrimitiveType::String, &[long], &[]);
    assert_eq!(lo, s("日本語日本語日本語日本語日本語日"));
    assert_eq!(hi, s("日本語日本語日本語日本語日本語旦"));
    // The 16th code point is U+10FFFF: the 15th is incremented instead.
    let edge = format!("{}\u{10FFFF}zz", "a".repeat(15));
    let (_, hi) = bounds_of(&PrimitiveType::String, &[&edge], &[]);
    assert_eq!(hi, s(&format!("{}b", "a".repeat(14))));
    // Nothing can be incremented: no upper bound, the lower bound stays.
    let max = "\u{10FFFF}".repeat(17);
    let (lo, hi) = bounds_of(&PrimitiveType::String, &[&max], &[]);
    assert_eq!(lo, s(&"\u{10FFFF}".repeat(16)));
    assert_eq!(hi, None);
    // truncate(4) and full.
    let (lo, hi) = bounds_of(
        &PrimitiveType::String,
        &["abcdefgh"],
        &[("write.metadata.metrics.default", "truncate(4)")],
    );
    assert_eq!((lo, hi), (s("abcd"), s("abce")));
    let very_long = "x".repeat(300);
    let (lo, hi) = bounds_of(
        &PrimitiveType::String,
        &[&very_long],
        &[("write.metadata.metrics.default", "full")],
    );
    assert_eq!((lo, hi), (s(&very_long), s(&very_long)));
}

#[test]
fn binaries_are_truncated_to_16_bytes() {
    let b = |v: &[u8]| Some(Datum::Binary(v.to_vec()));
    let (lo, hi) = bounds_of(&PrimitiveType::Binary, &["0123456789abcdefXYZ"], &[]);
    assert_eq!(lo, b(b"0123456789abcdef"));
    assert_eq!(hi, b(b"0123456789abcdeg"));
    // Trailing 0xFF bytes cannot be incremented: the byte before is.
    let schema_values = vec![Some(Datum::Binary([vec![1u8; 14], vec![0xFF; 4]].concat()))];
    let (schema, batch) = one_column(&PrimitiveType::Binary, &schema_values);
    let (lo, hi) = rt().block_on(async {
        let (_, files) = write(
            &schema,
            &PartitionSpec::unpartitioned(),
            &props(&[]),
            &[batch],
        )
        .await
        .unwrap();
        (
            files[0].lower_bounds.get(&1).cloned(),
            files[0].upper_bounds.get(&1).cloned(),
        )
    });
    assert_eq!(lo, b(&[vec![1u8; 14], vec![0xFF; 2]].concat()));
    assert_eq!(hi, b(&[vec![1u8; 13], vec![2]].concat()));
    let (schema, batch) = one_column(
        &PrimitiveType::Binary,
        &[Some(Datum::Binary(vec![0xFF; 20]))],
    );
    let hi = rt().block_on(async {
        let (_, files) = write(
            &schema,
            &PartitionSpec::unpartitioned(),
            &props(&[]),
            &[batch],
        )
        .await
        .unwrap();
        files[0].upper_bounds.get(&1).cloned()
    });
    assert_eq!(hi, None);
}

#[test]
fn metrics_modes() {
    let schema = Schema::builder()
        .with_fields(vec![
            NestedField::optional(1, "a", p(PrimitiveType::Long)),
            NestedField::optional(2, "b", p(PrimitiveType::Double)),
            NestedField::optional(3, "c", p(PrimitiveType::String)),
        ])
        .build()
        .unwrap();
    let batch = RecordBatch::try_new(
        Arc::new(schema_to_arrow(&schema).unwrap()),
        vec![
            Arc::new(Int64Array::from(vec![Some(1), None])),
            Arc::new(Float64Array::from(vec![Some(f64::NAN), Some(2.0)])),
            Arc::new(StringArray::from(vec![Some("x"), Some("y")])),
        ],
    )
    .unwrap();
    let properties = props(&[
        ("write.metadata.metrics.default", "counts"),
        ("write.metadata.metrics.column.b", "none"),
        ("write.metadata.metrics.column.c", "full"),
    ]);
    rt().block_on(async {
        let (_, files) = write(
            &schema,
            &PartitionSpec::unpartitioned(),
            &properties,
            &[batch],
        )
        .await
        .unwrap();
        let f = &files[0];
        // counts: sizes and counts, no bounds.
        assert!(f.column_sizes.contains_key(&1));
        assert_eq!(f.value_counts[&1], 2);
        assert_eq!(f.null_value_counts[&1], 1);
        assert!(!f.lower_bounds.contains_key(&1) && !f.upper_bounds.contains_key(&1));
        // none: nothing at all.
        for m in [
            &f.column_sizes,
            &f.value_counts,
            &f.null_value_counts,
            &f.nan_value_counts,
        ] {
            assert!(!m.contains_key(&2));
        }
        assert!(!f.lower_bounds.contains_key(&2));
        // full: bounds.
        assert_eq!(f.lower_bounds[&3], Datum::String("x".into()));
        assert_eq!(f.upper_bounds[&3], Datum::String("y".into()));
    });
}

#[test]
fn nested_columns() {
    let schema = Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", p(PrimitiveType::Long)),
            NestedField::optional(
                2,
                "s",
                Type::Struct(StructType::new(vec![NestedField::optional(
                    3,
                    "x",
                    p(PrimitiveType::Double),
                )])),
            ),
            NestedField::optional(
                4,
                "l",
                Type::List(ListType::new(5, p(PrimitiveType::Int), false)),
            ),
            NestedField::optional(
                6,
                "m",
                Type::Map(MapType::new(
                    7,
                    p(PrimitiveType::String),
                    8,
                    p(PrimitiveType::Long),
                    false,
                )),
            ),
        ])
        .build()
        .unwrap();
    let arrow = Arc::new(schema_to_arrow(&schema).unwrap());
    let DataType::Struct(s_fields) = arrow.field(1).data_type().clone() else {
        panic!()
    };
    // Row 2's struct is null, hiding a NaN beneath it.
    let s = StructArray::new(
        s_fields,
        vec![Arc::new(Float64Array::from(vec![
            Some(1.0),
            Some(f64::NAN),
            Some(f64::NAN),
        ]))],
        Some(NullBuffer::from(vec![true, true, false])),
    );
    let DataType::List(item) = arrow.field(2).data_type().clone() else {
        panic!()
    };
    let l = ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1), Some(2)]),
        None,
        Some(vec![]),
    ]);
    let l = ListArray::new(
        item,
        l.offsets().clone(),
        l.values().clone(),
        l.nulls().cloned(),
    );
    let m = arrow::array::new_null_array(arrow.field(3).data_type(), 3);
    let batch = RecordBatch::try_new(
        arrow.clone(),
        vec![
            Arc::new(Int64Array::from(vec![1, 2, 3])),
            Arc::new(s),
            Arc::new(l),
            m,
        ],
    )
    .unwrap();
    rt().block_on(async {
        let (store, files) = write(
            &schema,
            &PartitionSpec::unpartitioned(),
            &props(&[]),
            &[batch],
        )
        .await
        .unwrap();
        let f = &files[0];
        let (_, metadata) = read_file(&store, &f.file_path).await;
        assert_leaf_ids(&metadata, &[1, 3, 5, 7, 8]);
        // Struct children: full metrics; the NaN under a null struct is not counted.
        assert_eq!(f.value_counts[&3], 3);
        assert_eq!(f.null_value_counts[&3], 1);
        assert_eq!(f.nan_value_counts[&3], 1);
        assert_eq!(f.lower_bounds[&3], Datum::Double(1.0));
        // Lists and maps: only column sizes, like Java.
        for id in [5, 7, 8] {
            assert!(f.column_sizes.contains_key(&id), "size of {id}");
            assert!(!f.value_counts.contains_key(&id), "no counts for {id}");
            assert!(!f.lower_bounds.contains_key(&id), "no bounds for {id}");
        }
    });
}

#[test]
fn bad_input_names_the_column_and_writes_nothing() {
    let schema = Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", p(PrimitiveType::Long)),
            NestedField::optional(2, "name", p(PrimitiveType::String)),
        ])
        .build()
        .unwrap();
    let with = |fields: Vec<(&str, ArrayRef)>| RecordBatch::try_from_iter(fields).unwrap();
    let cases: Vec<(RecordBatch, &str)> = vec![
        (
            with(vec![(
                "name",
                Arc::new(StringArray::from(vec!["a"])) as ArrayRef,
            )]),
            "required column `id` is missing",
        ),
        (
            with(vec![(
                "id",
                Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef,
            )]),
            "required column `id` has 1 null",
        ),
        (
            with(vec![(
                "id",
                Arc::new(StringArray::from(vec!["1"])) as ArrayRef,
            )]),
            "column `id` has Arrow type Utf8",
        ),
        (
            with(vec![
                ("id", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
                ("nope", Arc::new(Int64Array::from(vec![1])) as ArrayRef),
            ]),
            "column `nope` is not in the table schema",
        ),
    ];
    rt().block_on(async {
        for (batch, expected) in cases {
            let e = write(
                &schema,
                &PartitionSpec::unpartitioned(),
                &props(&[]),
                &[batch],
            )
            .await
            .unwrap_err();
            assert!(
                e.to_string().contains(expected),
                "{e} should contain {expected}"
            );
            assert_eq!(e.kind(), floe_table::ErrorKind::DataInvalid);
        }
    });
}

#[test]
fn rolling_splits_into_several_files() {
    let schema = Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", p(PrimitiveType::Long)),
            NestedField::optional(2, "s", p(PrimitiveType::String)),
        ])
        .build()
        .unwrap();
    let n = 60_000;
    let batch = RecordBatch::try_new(
        Arc::new(schema_to_arrow(&schema).unwrap()),
        vec![
            Arc::new(Int64Array::from_iter_values(0..n)),
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("value-{}", i * 7919 % 100_003)),
            )),
        ],
    )
    .unwrap();
    let properties = props(&[
        ("write.target-file-size-bytes", "65536"),
        ("write.parquet.row-group-size-bytes", "16384"),
    ]);
    rt().block_on(async {
        let (store, files) = write(
            &schema,
            &PartitionSpec::unpartitioned(),
            &properties,
            &[batch.slice(0, 25_000), batch.slice(25_000, 35_000)],
        )
        .await
        .unwrap();
        assert!(files.len() >= 3, "{} files", files.len());
        let total: i64 = files.iter().map(|f| f.record_count).sum();
        assert_eq!(total, n);
        let mut next_id = 0;
        for f in &files {
            let (batches, metadata) = read_file(&store, &f.file_path).await;
            let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
            assert_eq!(rows as i64, f.record_count);
            // Rows stay in order across files; bounds of `id` are the file's range.
            assert_eq!(f.lower_bounds[&1], Datum::Long(next_id));
            next_id += f.record_count;
            assert_eq!(f.upper_bounds[&1], Datum::Long(next_id - 1));
            let offsets = f.split_offsets.clone().unwrap();
            assert_eq!(offsets.len(), metadata.num_row_groups());
            assert!(offsets.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(offsets[0], 4);
        }
    });
}

fn opt_datums<T: Clone>(v: &[Option<T>], f: impl Fn(T) -> Datum) -> Vec<Option<Datum>> {
    v.iter().map(|x| x.clone().map(&f)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn bounds_are_the_min_and_max(
        longs in proptest::collection::vec(proptest::option::of(any::<i64>()), 1..60),
        doubles in proptest::collection::vec(proptest::option::of(prop_oneof![any::<f64>(), Just(f64::NAN), Just(-0.0), Just(0.0)]), 1..60),
        strings in proptest::collection::vec(proptest::option::of("\\PC{0,16}"), 1..60),
        decimals in proptest::collection::vec(proptest::option::of(-10i128.pow(20)..10i128.pow(20)), 1..60),
    ) {
        let n = longs.len().min(doubles.len()).min(strings.len()).min(decimals.len());
        let dec = PrimitiveType::Decimal { precision: 25, scale: 3 };
        let columns = [
            (PrimitiveType::Long, opt_datums(&longs[..n], Datum::Long)),
            (PrimitiveType::Double, opt_datums(&doubles[..n], Datum::Double)),
            (PrimitiveType::String, opt_datums(&strings[..n], Datum::String)),
            (dec.clone(), opt_datums(&decimals[..n], |u| Datum::Decimal { unscaled: u, precision: 25, scale: 3 })),
        ];
        let fields: Vec<NestedField> = columns
            .iter()
            .enumerate()
            .map(|(i, (t, _))| NestedField::optional(i as i32 + 1, format!("c{i}"), p(t.clone())))
            .collect();
        let schema = Schema::builder().with_fields(fields).build().unwrap();
        let arrays: Vec<ArrayRef> = columns.iter().map(|(t, v)| datums_to_array(v, t).unwrap()).collect();
        let batch = RecordBatch::try_new(Arc::new(schema_to_arrow(&schema).unwrap()), arrays).unwrap();
        // Two batches so that the writer merges statistics over several writes.
        let (a, b) = (batch.slice(0, n / 2), batch.slice(n / 2, n - n / 2));
        let files = rt().block_on(async {
            write(&schema, &PartitionSpec::unpartitioned(), &props(&[]), &[a, b]).await.unwrap().1
        });
        let f = &files[0];
        for (i, (t, values)) in columns.iter().enumerate() {
            let id = i as i32 + 1;
            let (lo, hi) = min_max(values);
            let (got_lo, got_hi) = (f.lower_bounds.get(&id), f.upper_bounds.get(&id));
            if *t == PrimitiveType::Double {
                // ±0 are equal as bounds (Parquet writes -0.0 as min and +0.0 as max).
                let num = |d: Option<&Datum>| d.map(|d| match d { Datum::Double(x) => *x, _ => f64::NAN });
                prop_assert_eq!(num(got_lo), num(lo.as_ref()), "lower of {}", t);
                prop_assert_eq!(num(got_hi), num(hi.as_ref()), "upper of {}", t);
                let nans = values.iter().flatten().filter(|d| d.is_nan()).count() as i64;
                prop_assert_eq!(f.nan_value_counts[&id], nans);
            } else {
                prop_assert_eq!(got_lo, lo.as_ref(), "lower of {}", t);
                prop_assert_eq!(got_hi, hi.as_ref(), "upper of {}", t);
            }
            let nulls = values.iter().filter(|v| v.is_none()).count() as i64;
            prop_assert_eq!(f.null_value_counts[&id], nulls);
            prop_assert_eq!(f.value_counts[&id], n as i64);
        }
    }
}
