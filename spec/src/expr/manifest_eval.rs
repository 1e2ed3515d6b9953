//! Testing a manifest's partition summaries (manifest-list field 507) against a filter
//! on partition values, as Java's `ManifestEvaluator`.
//!
//! The filter must be bound to the partition struct type of the manifest's spec
//! ([`Expression::bind_struct`] with
//! [`PartitionSpec::partition_type`](crate::partition::PartitionSpec::partition_type));
//! summaries are in partition-field order. Projecting a row filter onto partition
//! values is done elsewhere.

use std::cmp::Ordering;

use crate::error::Result;
use crate::manifest_list::FieldSummary;
use crate::types::StructType;
use crate::values::Datum;

use super::bound::compare;
use super::metrics_eval::{bound_has_prefix, prefix_cmp};
use super::{
    BoundExpression, BoundPredicate, Expression, IN_PREDICATE_LIMIT, PredicateOperator as Op,
};

/// Decides whether a manifest may contain files matching a partition filter.
#[derive(Debug, Clone)]
pub struct ManifestEvaluator {
    filter: BoundExpression,
}

impl ManifestEvaluator {
    /// An evaluator for a filter bound to the partition struct type.
    pub fn new(partition_filter: &BoundExpression) -> Self {
        Self {
            filter: partition_filter.rewrite_not(),
        }
    }

    /// Binds a filter on partition field names to `partition_type` and builds the
    /// evaluator.
    pub fn for_partition_filter(
        partition_filter: &Expression,
        partition_type: &StructType,
        case_sensitive: bool,
    ) -> Result<Self> {
        Ok(Self::new(
            &partition_filter
                .rewrite_not()
                .bind_struct(partition_type, case_sensitive)?,
        ))
    }

    /// Whether the manifest, whose partition summaries are `partitions`, may contain a
    /// matching file. A missing summary never excludes a manifest.
    pub fn eval(&self, partitions: &[FieldSummary]) -> bool {
        self.filter.visit(&mut |p| {
            let summary = match p.term().accessor.as_slice() {
                [pos] => partitions.get(*pos),
                _ => None,
            };
            summary.is_none_or(|s| may_match(p, s))
        })
    }
}

fn all_values_null(s: &FieldSummary, floating: bool) -> bool {
    let all_null = s.contains_null && s.lower_bound.is_none();
    if all_null && floating {
        return s.contains_nan == Some(false);
    }
    all_null
}

fn unique_value(s: &FieldSummary, floating: bool) -> Option<&Datum> {
    if s.contains_null || (floating && s.contains_nan != Some(false)) {
        return None;
    }
    let (lower, upper) = (s.lower_bound.as_ref()?, s.upper_bound.as_ref()?);
    (compare(lower, upper) == Some(Ordering::Equal)).then_some(lower)
}

fn may_match(p: &BoundPredicate, s: &FieldSummary) -> bool {
    let floating = p.term().field_type.is_floating();
    let lower = s.lower_bound.as_ref();
    let upper = s.upper_bound.as_ref();
    match p {
        BoundPredicate::Unary { op, .. } => match op {
            Op::IsNull => s.contains_null,
            Op::NotNull => !all_values_null(s, floating),
            Op::IsNan => s.contains_nan != Some(false) && !all_values_null(s, floating),
            Op::NotNan => !(s.contains_nan == Some(true) && !s.contains_null && lower.is_none()),
            _ => true,
        },
        BoundPredicate::Literal { op, literal, .. } => match op {
            Op::LessThan | Op::LessThanOrEq | Op::Eq => {
                // No lower bound: every value is null (or NaN).
                let Some(lower) = lower else {
                    return false;
                };
                let c = compare(lower, literal);
                match op {
                    Op::LessThan => !matches!(c, Some(Ordering::Greater | Ordering::Equal)),
                    Op::LessThanOrEq => c != Some(Ordering::Greater),
                    _ => {
                        c != Some(Ordering::Greater)
                            && upper.is_none_or(|u| compare(u, literal) != Some(Ordering::Less))
                    }
                }
            }
            Op::GreaterThan | Op::GreaterThanOrEq => {
                let Some(upper) = upper else {
                    return false;
                };
                let c = compare(upper, literal);
                if *op == Op::GreaterThan {
                    !matches!(c, Some(Ordering::Less | Ordering::Equal))
                } else {
                    c != Some(Ordering::Less)
                }
            }
            Op::NotEq => unique_value(s, floating)
                .is_none_or(|v| compare(v, literal) != Some(Ordering::Equal)),
            Op::StartsWith => {
                let Datum::String(prefix) = literal else {
                    return true;
                };
                let Some(lower) = lower else {
                    return false;
                };
                if prefix_cmp(lower, prefix) == Some(Ordering::Greater) {
                    return false;
                }
                upper.is_none_or(|u| prefix_cmp(u, prefix) != Some(Ordering::Less))
            }
            Op::NotStartsWith => {
                let Datum::String(prefix) = literal else {
                    return true;
                };
                if s.contains_null {
                    return true;
                }
                match (lower, upper) {
                    (Some(l), Some(u)) => {
                        !(bound_has_prefix(l, prefix) && bound_has_prefix(u, prefix))
                    }
                    _ => true,
                }
            }
            _ => true,
        },
        BoundPredicate::Set { op, literals, .. } => match op {
            Op::In => {
                let Some(lower) = lower else {
                    return false;
                };
                if literals.len() > IN_PREDICATE_LIMIT {
                    return true;
                }
                literals.iter().any(|lit| {
                    compare(lower, lit) != Some(Ordering::Greater)
                        && upper.is_none_or(|u| compare(u, lit) != Some(Ordering::Less))
                })
            }
            Op::NotIn => unique_value(s, floating).is_none_or(|v| {
                !literals
                    .iter()
                    .any(|l| compare(v, l) == Some(Ordering::Equal))
            }),
            _ => true,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Reference;
    use crate::types::{NestedField, PrimitiveType as P, Type};

    fn partition_type() -> StructType {
        let f = |id, name: &str, t| NestedField::optional(id, name, Type::Primitive(t));
        StructType::new(vec![
            f(1000, "id", P::Int),
            f(1001, "all_nulls", P::String),
            f(1002, "some_nulls", P::String),
            f(1003, "no_nulls", P::String),
            f(1004, "float", P::Float),
            f(1005, "all_nulls_double", P::Double),
            f(1006, "nan_only", P::Double),
            f(1007, "const", P::Int),
            f(1008, "no_nan_info", P::Double),
        ])
    }

    fn summary(
        contains_null: bool,
        contains_nan: Option<bool>,
        bounds: Option<(Datum, Datum)>,
    ) -> FieldSummary {
        let (lower_bound, upper_bound) = bounds.map_or((None, None), |(l, u)| (Some(l), Some(u)));
        FieldSummary {
            contains_null,
            contains_nan,
            lower_bound,
            upper_bound,
        }
    }

    fn s(v: &str) -> Datum {
        Datum::String(v.into())
    }

    fn i(v: i32) -> Datum {
        Datum::Int(v)
    }

    fn summaries() -> Vec<FieldSummary> {
        vec![
            summary(false, None, Some((i(30), i(79)))),
            summary(true, None, None),
            summary(true, None, Some((s("a"), s("z")))),
            summary(false, None, Some((s("abc"), s("abd")))),
            summary(
                false,
                Some(true),
                Some((Datum::Float(0.0), Datum::Float(20.0))),
            ),
            summary(true, Some(false), None),
            summary(false, Some(true), None),
            summary(false, None, Some((i(7), i(7)))),
            summary(false, None, Some((Datum::Double(1.0), Datum::Double(1.0)))),
        ]
    }

    fn eval(e: &Expression) -> bool {
        ManifestEvaluator::for_partition_filter(e, &partition_type(), true)
            .unwrap()
            .eval(&summaries())
    }

    #[test]
    fn manifest_cases() {
        let r = Reference::new;
        let many: Vec<Datum> = (100..400).map(i).collect();
        let cases: Vec<(Expression, bool, &str)> = vec![
            (r("all_nulls").not_null(), false, "all nulls: not null"),
            (r("all_nulls").is_null(), true, "all nulls: is null"),
            (r("all_nulls").less_than(s("a")), false, "all nulls: lt"),
            (r("all_nulls").greater_than(s("a")), false, "all nulls: gt"),
            (r("all_nulls").equal_to(s("a")), false, "all nulls: eq"),
            (
                r("all_nulls").starts_with("a"),
                false,
                "all nulls: starts with",
            ),
            (
                r("all_nulls").is_in([s("a"), s("b")]),
                false,
                "all nulls: in",
            ),
            (
                r("all_nulls").not_equal_to(s("a")),
                true,
                "all nulls: not eq",
            ),
            (r("some_nulls").not_null(), true, "some nulls: not null"),
            (
                r("some_nulls").not_starts_with("a"),
                true,
                "nulls: not starts with",
            ),
            (r("no_nulls").is_null(), false, "no nulls: is null"),
            (r("no_nulls").starts_with("ab"), true, "starts with"),
            (r("no_nulls").starts_with("abd"), true, "starts with upper"),
            (r("no_nulls").starts_with("abe"), false, "starts with above"),
            (r("no_nulls").starts_with("aa"), false, "starts with below"),
            (
                r("no_nulls").not_starts_with("ab"),
                false,
                "all start with ab",
            ),
            (
                r("no_nulls").not_starts_with("abc"),
                true,
                "upper does not start with abc",
            ),
            (r("id").less_than(i(30)), false, "lt lower"),
            (r("id").less_than(i(31)), true, "lt above lower"),
            (r("id").less_than_or_eq(i(29)), false, "lt-eq below lower"),
            (r("id").greater_than(i(79)), false, "gt upper"),
            (r("id").greater_than_or_eq(i(79)), true, "gt-eq upper"),
            (r("id").equal_to(i(80)), false, "eq above"),
            (r("id").equal_to(i(50)), true, "eq inside"),
            (r("id").is_in([i(1), i(2)]), false, "in below"),
            (r("id").is_in([i(1), i(50)]), true, "in inside"),
            (r("id").is_in(many), true, "in over the limit"),
            (r("id").is_not_in([i(30), i(31)]), true, "not in range"),
            (!r("id").less_than(i(30)), true, "not lt"),
            (!r("id").greater_than_or_eq(i(30)), false, "not gt-eq"),
            (r("float").is_nan(), true, "float: is nan"),
            (r("all_nulls_double").is_nan(), false, "no NaN: is nan"),
            (
                r("all_nulls_double").not_null(),
                false,
                "all null double: not null",
            ),
            (r("nan_only").not_nan(), false, "NaN only: not nan"),
            (r("nan_only").not_null(), true, "NaN only: not null"),
            (
                r("nan_only").less_than(Datum::Double(1.0)),
                false,
                "NaN only: lt",
            ),
            (r("const").not_equal_to(i(7)), false, "unique: not eq"),
            (r("const").not_equal_to(i(8)), true, "unique: not eq other"),
            (r("const").is_not_in([i(7), i(9)]), false, "unique: not in"),
            (
                r("no_nan_info").not_equal_to(Datum::Double(1.0)),
                true,
                "unique double without NaN info",
            ),
            (
                r("id").less_than(i(30)).or(r("const").equal_to(i(7))),
                true,
                "or",
            ),
        ];
        for (e, expected, what) in &cases {
            assert_eq!(eval(e), *expected, "{what}: {e}");
        }
        // A missing summary never excludes the manifest.
        let m = ManifestEvaluator::for_partition_filter(
            &r("id").equal_to(i(1)),
            &partition_type(),
            true,
        )
        .unwrap();
        assert!(m.eval(&[]));
        assert!(!m.eval(&summaries()));
        let e =
            ManifestEvaluator::for_partition_filter(&r("nope").is_null(), &partition_type(), true)
                .unwrap_err();
        assert!(e.to_string().contains("`nope`"), "{e}");
    }
}
