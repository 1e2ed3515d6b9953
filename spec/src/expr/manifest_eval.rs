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
