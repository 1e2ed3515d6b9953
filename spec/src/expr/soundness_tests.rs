//! Property tests: the metrics and manifest evaluators agree with row evaluation
//! (inclusive ⇒ never skips a file holding a matching row; strict ⇒ every row
//! matches), over ints, truncated string bounds and doubles with NaN.

use crate::manifest::ColumnMap;

use proptest::prelude::*;

use crate::expr::{
    BoundExpression, ColumnStats, Expression, InclusiveMetricsEvaluator, ManifestEvaluator,
    Reference, StrictMetricsEvaluator,
};
use crate::manifest_list::FieldSummary;
use crate::schema::Schema;
use crate::types::{NestedField, PrimitiveType as P, Type};
use crate::values::Datum;

type Row = [Option<Datum>; 4];

fn schema() -> Schema {
    let f = |id, name: &str, t| NestedField::optional(id, name, Type::Primitive(t));
    Schema::builder()
        .with_fields(vec![
            f(1, "x", P::Int),
            f(2, "y", P::Int),
            f(3, "s", P::String),
            f(4, "d", P::Double),
        ])
        .build()
        .unwrap()
}

fn int_leaf(name: &'static str) -> impl Strategy<Value = Expression> {
    let lit = -12i32..12;
    prop_oneof![
        (0usize..8, lit.clone()).prop_map(move |(op, v)| {
            let r = Reference::new(name);
            let v = Datum::Int(v);
            match op {
                0 => r.less_than(v),
                1 => r.less_than_or_eq(v),
                2 => r.greater_than(v),
                3 => r.greater_than_or_eq(v),
                4 => r.equal_to(v),
                5 => r.not_equal_to(v),
                6 => r.is_null(),
                _ => r.not_null(),
            }
        }),
        (any::<bool>(), proptest::collection::vec(lit, 0..5)).prop_map(move |(neg, vs)| {
            let vs = vs.into_iter().map(Datum::Int);
            if neg {
                Reference::new(name).is_not_in(vs)
            } else {
                Reference::new(name).is_in(vs)
            }
        }),
        // Literals beyond the int range fold at bind time.
        (any::<bool>(), any::<i64>()).prop_map(move |(lt, v)| {
            if lt {
                Reference::new(name).less_than(Datum::Long(v))
            } else {
                Reference::new(name).greater_than_or_eq(Datum::Long(v))
            }
        }),
    ]
}

fn string_leaf() -> impl Strategy<Value = Expression> {
    (
        0usize..10,
        "[abc]{0,4}",
        proptest::collection::vec("[abc]{0,3}", 0..4),
    )
        .prop_map(|(op, v, set)| {
            let r = Reference::new("s");
            let lit = Datum::String(v.clone());
            match op {
                0 => r.less_than(lit),
                1 => r.less_than_or_eq(lit),
                2 => r.greater_than(lit),
                3 => r.greater_than_or_eq(lit),
                4 => r.equal_to(lit),
                5 => r.not_equal_to(lit),
                6 => r.starts_with(v),
                7 => r.not_starts_with(v),
                8 => r.is_in(set.into_iter().map(Datum::String)),
                _ => r.is_not_in(set.into_iter().map(Datum::String)),
            }
        })
}

fn double_leaf() -> impl Strategy<Value = Expression> {
    (
        0usize..10,
        -3i32..3,
        proptest::collection::vec(-3i32..3, 0..4),
    )
        .prop_map(|(op, v, set)| {
            let r = Reference::new("d");
            let lit = Datum::Double(f64::from(v));
            let set = set.into_iter().map(|x| Datum::Double(f64::from(x)));
            match op {
                0 => r.less_than(lit),
                1 => r.greater_than_or_eq(lit),
                2 => r.equal_to(lit),
                3 => r.not_equal_to(lit),
                4 => r.is_nan(),
                5 => r.not_nan(),
                6 => r.is_null(),
                7 => r.not_null(),
                8 => r.is_in(set),
                _ => r.is_not_in(set),
            }
        })
}

fn expression() -> impl Strategy<Value = Expression> {
    let leaf = prop_oneof![
        int_leaf("x"),
        int_leaf("y"),
        string_leaf(),
        double_leaf(),
        Just(Expression::True),
        Just(Expression::False),
    ];
    leaf.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone())
                .prop_map(|(l, r)| Expression::And(Box::new(l), Box::new(r))),
            (inner.clone(), inner.clone())
                .prop_map(|(l, r)| Expression::Or(Box::new(l), Box::new(r))),
            inner.prop_map(|e| Expression::Not(Box::new(e))),
        ]
    })
}

fn row() -> impl Strategy<Value = Row> {
    let int = proptest::option::weighted(0.8, -10i32..10).prop_map(|v| v.map(Datum::Int));
    let string = proptest::option::weighted(0.8, "[abc]{0,4}").prop_map(|v| v.map(Datum::String));
    let double = proptest::option::weighted(
        0.8,
        prop_oneof![(-3i32..3).prop_map(f64::from), Just(f64::NAN), Just(-0.0)],
    )
    .prop_map(|v| v.map(Datum::Double));
    (int.clone(), int, string, double).prop_map(|(a, b, c, d)| [a, b, c, d])
}

/// Truncates a string bound to 2 characters: the lower bound is the prefix, the
/// upper bound the prefix with its last character incremented (as writers do).
fn truncate(v: &Datum, upper: bool) -> Datum {
    let Datum::String(s) = v else {
        return v.clone();
    };
    if s.chars().count() <= 2 {
        return v.clone();
    }
    let mut chars: Vec<char> = s.chars().take(2).collect();
    if upper && let Some(last) = chars.last_mut() {
        *last = char::from_u32(u32::from(*last) + 1).unwrap();
    }
    Datum::String(chars.into_iter().collect())
}

struct FileStats {
    values: ColumnMap<i64>,
    nulls: ColumnMap<i64>,
    nans: ColumnMap<i64>,
    lower: ColumnMap<Datum>,
    upper: ColumnMap<Datum>,
    summaries: Vec<FieldSummary>,
}

fn stats(rows: &[Row]) -> FileStats {
    let mut st = FileStats {
        values: ColumnMap::new(),
        nulls: ColumnMap::new(),
        nans: ColumnMap::new(),
        lower: ColumnMap::new(),
        upper: ColumnMap::new(),
        summaries: Vec::new(),
    };
    for (pos, id) in (1..=4).enumerate() {
        let col: Vec<Option<&Datum>> = rows.iter().map(|r| r[pos].as_ref()).collect();
        let nulls = col.iter().filter(|v| v.is_none()).count() as i64;
        let nans = col.iter().filter(|v| v.is_some_and(Datum::is_nan)).count() as i64;
        let mut ordered: Vec<&Datum> = col
            .iter()
            .flatten()
            .copied()
            .filter(|v| !v.is_nan())
            .collect();
        ordered.sort();
        st.values.insert(id, rows.len() as i64);
        st.nulls.insert(id, nulls);
        if id == 4 {
            st.nans.insert(id, nans);
        }
        let (min, max) = (ordered.first(), ordered.last());
        if let (Some(min), Some(max)) = (min, max) {
            st.lower.insert(id, truncate(min, false));
            st.upper.insert(id, truncate(max, true));
        }
        st.summaries.push(FieldSummary {
            contains_null: nulls > 0,
            contains_nan: (id == 4).then_some(nans > 0),
            lower_bound: min.map(|d| (*d).clone()),
            upper_bound: max.map(|d| (*d).clone()),
        });
    }
    st
}

fn value(row: &Row, id: i32) -> Option<Datum> {
    usize::try_from(id - 1)
        .ok()
        .and_then(|i| row.get(i).cloned().flatten())
}

fn eval_row(b: &BoundExpression, row: &Row) -> bool {
    b.eval(&|id| value(row, id))
}

fn eval3(b: &BoundExpression, row: &Row) -> Option<bool> {
    b.eval_three_valued(&|id| value(row, id))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn evaluators_agree_with_rows(
        e in expression(),
        rows in proptest::collection::vec(row(), 1..10),
    ) {
        let schema = schema();
        let bound = e.bind(&schema, true).unwrap();
        let st = stats(&rows);
        let view = ColumnStats {
            record_count: rows.len() as i64,
            value_counts: &st.values,
            null_value_counts: &st.nulls,
            nan_value_counts: &st.nans,
            lower_bounds: &st.lower,
            upper_bounds: &st.upper,
        };
        let matches: Vec<bool> = rows.iter().map(|r| eval_row(&bound, r)).collect();
        let any = matches.iter().any(|m| *m);
        let all = matches.iter().all(|m| *m);

        let inclusive = InclusiveMetricsEvaluator::new(&bound).eval(&view);
        prop_assert!(!any || inclusive, "inclusive skipped a matching file: {}", bound);
        let strict = StrictMetricsEvaluator::new(&bound).eval(&view);
        prop_assert!(!strict || all, "strict claimed all rows match: {}", bound);

        let manifest = ManifestEvaluator::new(&e.bind_struct(schema.as_struct(), true).unwrap());
        prop_assert!(!any || manifest.eval(&st.summaries), "manifest skipped: {}", bound);

        // Tuples, negation and NOT push-down agree with row evaluation.
        let negated = bound.negate();
        let rewritten = e.rewrite_not().bind(&schema, true).unwrap();
        for (r, m) in rows.iter().zip(&matches) {
            prop_assert_eq!(bound.eval_tuple(r), *m);
            let truth = eval3(&bound, r);
            prop_assert_eq!(truth == Some(true), *m);
            prop_assert_eq!(eval3(&negated, r), truth.map(|t| !t));
            prop_assert_eq!(eval3(&rewritten, r), truth);
        }

        // The JSON form binds to the same filter.
        let back = Expression::from_json(&e.to_json()).unwrap();
        prop_assert_eq!(back.bind(&schema, true).unwrap(), bound);
    }
}
