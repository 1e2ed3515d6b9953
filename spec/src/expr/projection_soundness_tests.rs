//! Property tests: projections and residuals agree with row evaluation. For a random
//! row, a random filter and a spec with random transforms of one column (int, long,
//! date, timestamp or string, values around the epoch and around transform
//! boundaries):
//! - a matching row's partition tuple passes the inclusive projection;
//! - a tuple passing the strict projection only holds matching rows;
//! - the residual for the row's partition decides the row as the filter does.

use proptest::prelude::*;

use crate::expr::{Expression, PartitionFilter, Reference, ResidualEvaluator, strict_projection};
use crate::partition::{PartitionField, PartitionSpec};
use crate::schema::Schema;
use crate::transform::Transform;
use crate::types::{NestedField, PrimitiveType as P, Type};
use crate::values::Datum;

const MICROS_PER_HOUR: i64 = 3_600_000_000;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Col {
    Int,
    Long,
    Date,
    Ts,
    Str,
}

impl Col {
    fn ty(self) -> P {
        match self {
            Col::Int => P::Int,
            Col::Long => P::Long,
            Col::Date => P::Date,
            Col::Ts => P::Timestamp,
            Col::Str => P::String,
        }
    }
}

fn schema(col: Col) -> Schema {
    Schema::builder()
        .with_fields(vec![
            NestedField::optional(1, "x", Type::Primitive(col.ty())),
            NestedField::optional(2, "y", Type::Primitive(P::Int)),
        ])
        .build()
        .unwrap()
}

/// Days near the epoch, with extra weight on month and year starts (1968-01-01,
/// 1969-01-01, 1969-02-01, 1969-12-01, 1970-01-01, 1970-02-01, 1971-01-01) ± 1.
fn days() -> BoxedStrategy<i32> {
    prop_oneof![
        -1_200i32..1_200,
        (
            prop::sample::select(vec![-731, -365, -334, -31, 0, 31, 365]),
            -1i32..=1
        )
            .prop_map(|(d, j)| d + j),
    ]
    .boxed()
}

/// A row value of the column.
fn value(col: Col) -> BoxedStrategy<Datum> {
    match col {
        Col::Int => (-100i32..100).prop_map(Datum::Int).boxed(),
        Col::Long => (-100i64..100).prop_map(Datum::Long).boxed(),
        Col::Date => days().prop_map(Datum::Date).boxed(),
        Col::Ts => (
            days(),
            0i64..24,
            prop_oneof![
                Just(0i64),
                Just(1),
                Just(-1),
                -MICROS_PER_HOUR..MICROS_PER_HOUR
            ],
        )
            .prop_map(|(d, h, j)| {
                Datum::Timestamp(i64::from(d) * MICROS_PER_DAY + h * MICROS_PER_HOUR + j)
            })
            .boxed(),
        Col::Str => "[ab]{0,4}".prop_map(Datum::String).boxed(),
    }
}

/// A value close to `anchor`: in the same or a neighbouring partition for most
/// transforms, often exactly on a partition boundary.
fn near(anchor: &Datum) -> BoxedStrategy<Datum> {
    match anchor.clone() {
        Datum::Int(v) => (-12i32..12).prop_map(move |d| Datum::Int(v + d)).boxed(),
        Datum::Long(v) => (-12i64..12).prop_map(move |d| Datum::Long(v + d)).boxed(),
        Datum::Date(v) => prop_oneof![-2i32..=2, -40i32..40]
            .prop_map(move |d| Datum::Date(v + d))
            .boxed(),
        Datum::Timestamp(v) => prop_oneof![
            prop::sample::select(vec![
                0,
                1,
                -1,
                MICROS_PER_HOUR,
                -MICROS_PER_HOUR,
                MICROS_PER_DAY,
                -MICROS_PER_DAY
            ]),
            -2 * MICROS_PER_DAY..2 * MICROS_PER_DAY,
        ]
        .prop_map(move |d| Datum::Timestamp(v + d))
        .boxed(),
        Datum::String(s) => {
            let chars: Vec<char> = s.chars().collect();
            let n = chars.len();
            prop_oneof![
                (0..=n).prop_map(move |k| Datum::String(chars.iter().take(k).collect())),
                "[ab]{0,2}".prop_map(move |tail| Datum::String(format!("{s}{tail}"))),
            ]
            .boxed()
        }
        other => Just(other).boxed(),
    }
}

/// A literal: near the anchor, any row value, or for ints and longs sometimes a type
/// extreme.
fn literal(col: Col, anchor: &Datum) -> BoxedStrategy<Datum> {
    prop_oneof![3 => near(anchor), 1 => any_literal(col)].boxed()
}

fn any_literal(col: Col) -> BoxedStrategy<Datum> {
    match col {
        Col::Int => prop_oneof![
            8 => value(col),
            1 => prop::sample::select(vec![i32::MIN, i32::MIN + 1, i32::MAX]).prop_map(Datum::Int),
        ]
        .boxed(),
        Col::Long => prop_oneof![
            8 => value(col),
            1 => prop::sample::select(vec![i64::MIN, i64::MIN + 1, i64::MAX]).prop_map(Datum::Long),
        ]
        .boxed(),
        _ => value(col),
    }
}

fn transform(col: Col) -> BoxedStrategy<Transform> {
    let common = prop_oneof![
        Just(Transform::Identity),
        Just(Transform::Void),
        (1u32..8).prop_map(Transform::Bucket),
    ];
    match col {
        Col::Int | Col::Long => {
            prop_oneof![common, (1u32..50).prop_map(Transform::Truncate)].boxed()
        }
        Col::Str => prop_oneof![common, (1u32..4).prop_map(Transform::Truncate)].boxed(),
        Col::Date => prop_oneof![
            common,
            prop::sample::select(vec![Transform::Year, Transform::Month, Transform::Day]),
        ]
        .boxed(),
        Col::Ts => prop_oneof![
            common,
            prop::sample::select(vec![
                Transform::Year,
                Transform::Month,
                Transform::Day,
                Transform::Hour
            ]),
        ]
        .boxed(),
    }
}

fn x_leaf(col: Col, anchor: &Datum) -> BoxedStrategy<Expression> {
    let r = Reference::new("x");
    let compare = (0usize..6, literal(col, anchor)).prop_map({
        let r = r.clone();
        move |(op, v)| match op {
            0 => r.less_than(v),
            1 => r.less_than_or_eq(v),
            2 => r.greater_than(v),
            3 => r.greater_than_or_eq(v),
            4 => r.equal_to(v),
            _ => r.not_equal_to(v),
        }
    });
    let set = (
        any::<bool>(),
        prop::collection::vec(literal(col, anchor), 0..4),
    )
        .prop_map({
            let r = r.clone();
            move |(neg, vs)| {
                if neg { r.is_not_in(vs) } else { r.is_in(vs) }
            }
        });
    let nulls = any::<bool>().prop_map({
        let r = r.clone();
        move |is| if is { r.is_null() } else { r.not_null() }
    });
    if col == Col::Str {
        let prefix = (any::<bool>(), literal(col, anchor)).prop_map(move |(neg, p)| {
            let p = match p {
                Datum::String(p) => p,
                other => other.to_string(),
            };
            if neg {
                r.not_starts_with(p)
            } else {
                r.starts_with(p)
            }
        });
        prop_oneof![4 => compare, 2 => set, 1 => nulls, 3 => prefix].boxed()
    } else {
        prop_oneof![4 => compare, 2 => set, 1 => nulls].boxed()
    }
}

/// A predicate on the unpartitioned column `y`.
fn y_leaf() -> BoxedStrategy<Expression> {
    (0usize..3, -3i32..3)
        .prop_map(|(op, v)| {
            let r = Reference::new("y");
            match op {
                0 => r.less_than(Datum::Int(v)),
                1 => r.equal_to(Datum::Int(v)),
                _ => r.is_null(),
            }
        })
        .boxed()
}

fn filter(col: Col, anchor: &Datum) -> BoxedStrategy<Expression> {
    prop_oneof![4 => x_leaf(col, anchor), 1 => y_leaf()]
        .prop_recursive(3, 12, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
                inner.prop_map(|a| !a),
            ]
        })
        .boxed()
}

#[derive(Debug, Clone)]
struct Case {
    col: Col,
    transforms: Vec<Transform>,
    x: Option<Datum>,
    y: Option<Datum>,
    filter: Expression,
}

fn case() -> impl Strategy<Value = Case> {
    prop::sample::select(vec![Col::Int, Col::Long, Col::Date, Col::Ts, Col::Str])
        .prop_flat_map(|col| (Just(col), value(col)))
        .prop_flat_map(|(col, anchor)| {
            (
                prop::collection::vec(transform(col), 1..=2),
                prop::option::weighted(0.85, near(&anchor)),
                prop::option::of((-3i32..3).prop_map(Datum::Int)),
                filter(col, &anchor),
            )
                .prop_map(move |(transforms, x, y, filter)| Case {
                    col,
                    transforms,
                    x,
                    y,
                    filter,
                })
        })
}

fn spec(transforms: &[Transform]) -> PartitionSpec {
    PartitionSpec {
        spec_id: 0,
        fields: transforms
            .iter()
            .enumerate()
            .map(|(i, t)| PartitionField {
                source_id: 1,
                field_id: 1000 + i as i32,
                name: format!("p{i}"),
                transform: *t,
            })
            .collect(),
    }
}

proptest! {
    // Shrinking through the nested strategies is slow: bound it.
    #![proptest_config(ProptestConfig {
        cases: 1_500,
        max_shrink_time: 30_000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn projections_and_residuals_agree_with_rows(c in case()) {
        let schema = schema(c.col);
        let spec = spec(&c.transforms);
        let row = |id: i32| match id {
            1 => c.x.clone(),
            2 => c.y.clone(),
            _ => None,
        };
        let tuple: Vec<Option<Datum>> = spec
            .fields
            .iter()
            .map(|f| f.transform.apply_opt(c.x.as_ref()).unwrap())
            .collect();
        let matches = c.filter.bind(&schema, true).unwrap().eval(&row);

        let inclusive = PartitionFilter::new(&c.filter, &spec, &schema, true).unwrap();
        if matches {
            prop_assert!(
                inclusive.matches(&tuple),
                "row {:?} matches {} but its partition {:?} fails the inclusive projection {}",
                c.x, c.filter, tuple, inclusive.expression()
            );
        }

        let partition_type = spec.partition_type(&schema).unwrap();
        let strict = strict_projection(&spec, &schema, &c.filter, true)
            .unwrap()
            .bind_struct(&partition_type, true)
            .unwrap();
        if strict.eval_tuple(&tuple) {
            prop_assert!(
                matches,
                "partition {:?} passes the strict projection {} but row {:?} fails {}",
                tuple, strict, c.x, c.filter
            );
        }

        let residual = ResidualEvaluator::new(&spec, &schema, &c.filter, true)
            .unwrap()
            .residual_for(&tuple);
        prop_assert_eq!(
            residual.eval(&row),
            matches,
            "residual {} of {} for partition {:?}, row {:?}",
            residual, c.filter, tuple, c.x
        );
    }
}
