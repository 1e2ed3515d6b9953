//! Testing a data file's column statistics against a filter, as Java's
//! `InclusiveMetricsEvaluator` (may the file hold a matching row?) and
//! `StrictMetricsEvaluator` (do all of its rows match?).
//!
//! Missing statistics never exclude a file. String bounds may be truncated (the
//! lower bound is a prefix of the smallest value, the upper bound a prefix incremented
//! past the largest), so bounds are only used in ways that stay correct for
//! truncated values. Bounds never include NaN; older writers may have written NaN
//! bounds, which are ignored.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::error::Result;
use crate::schema::Schema;
use crate::values::Datum;

use super::bound::compare;
use super::{
    BoundExpression, BoundPredicate, Expression, IN_PREDICATE_LIMIT, PredicateOperator as Op,
};

/// The column statistics of a data file, keyed by field id (as in the manifest's
/// `data_file` struct; bounds decoded with the column types).
#[derive(Debug, Clone, Copy)]
pub struct ColumnStats<'a> {
    /// Number of rows in the file; negative if unknown.
    pub record_count: i64,
    /// Number of values (including nulls and NaNs) per column.
    pub value_counts: &'a HashMap<i32, i64>,
    /// Number of nulls per column.
    pub null_value_counts: &'a HashMap<i32, i64>,
    /// Number of NaNs per floating-point column.
    pub nan_value_counts: &'a HashMap<i32, i64>,
    /// Lower bound per column (possibly truncated for strings and binary).
    pub lower_bounds: &'a HashMap<i32, Datum>,
    /// Upper bound per column (possibly truncated for strings and binary).
    pub upper_bounds: &'a HashMap<i32, Datum>,
}

impl ColumnStats<'_> {
    fn may_contain_null(&self, id: i32) -> bool {
        self.null_value_counts.get(&id) != Some(&0)
    }

    /// Known to have nulls (or unknown): the strict evaluator's view.
    fn can_contain_nulls(&self, id: i32) -> bool {
        self.null_value_counts.get(&id).is_none_or(|n| *n > 0)
    }

    fn contains_nulls_only(&self, id: i32) -> bool {
        matches!(
            (self.value_counts.get(&id), self.null_value_counts.get(&id)),
            (Some(v), Some(n)) if v == n
        )
    }

    fn may_contain_nan(&self, id: i32) -> bool {
        self.nan_value_counts.get(&id) != Some(&0)
    }

    /// Known to have NaNs, or a floating column without a NaN count.
    fn can_contain_nans(&self, id: i32, floating: bool) -> bool {
        match self.nan_value_counts.get(&id) {
            Some(n) => *n > 0,
            None => floating,
        }
    }

    fn contains_nans_only(&self, id: i32) -> bool {
        matches!(
            (self.nan_value_counts.get(&id), self.value_counts.get(&id)),
            (Some(n), Some(v)) if n == v
        )
    }

    fn lower(&self, id: i32) -> Option<&Datum> {
        self.lower_bounds.get(&id)
    }

    fn upper(&self, id: i32) -> Option<&Datum> {
        self.upper_bounds.get(&id)
    }

    /// The single value of a column without nulls or NaNs whose bounds are equal.
    fn unique_value(&self, id: i32, floating: bool) -> Option<&Datum> {
        if self.may_contain_null(id) || (floating && self.may_contain_nan(id)) {
            return None;
        }
        let (lower, upper) = (self.lower(id)?, self.upper(id)?);
        (compare(lower, upper) == Some(Ordering::Equal)).then_some(lower)
    }
}

/// Compares the first `prefix.len()` bytes of a string bound with a prefix (a shorter
/// bound is compared whole). `None` if the bound is not a string.
pub(crate) fn prefix_cmp(bound: &Datum, prefix: &str) -> Option<Ordering> {
    let Datum::String(b) = bound else {
        return None;
    };
    let bytes = b.as_bytes();
    let n = prefix.len().min(bytes.len());
    Some(bytes.get(..n).unwrap_or_default().cmp(prefix.as_bytes()))
}

/// Whether a string bound is at least as long as the prefix and starts with it.
pub(crate) fn bound_has_prefix(bound: &Datum, prefix: &str) -> bool {
    matches!(bound, Datum::String(b) if b.len() >= prefix.len() && b.as_bytes().starts_with(prefix.as_bytes()))
}

fn is_greater(c: Option<Ordering>) -> bool {
    c == Some(Ordering::Greater)
}

fn is_less(c: Option<Ordering>) -> bool {
    c == Some(Ordering::Less)
}

/// Decides whether a data file may contain rows matching a filter (Java's
/// `InclusiveMetricsEvaluator`): `false` only when no row can match.
#[derive(Debug, Clone)]
pub struct InclusiveMetricsEvaluator {
    filter: BoundExpression,
}

impl InclusiveMetricsEvaluator {
    /// An evaluator for a filter bound to the table schema.
    pub fn new(filter: &BoundExpression) -> Self {
        Self {
            filter: filter.rewrite_not(),
        }
    }

    /// Binds `filter` to `schema` and builds the evaluator.
    pub fn try_new(schema: &Schema, filter: &Expression, case_sensitive: bool) -> Result<Self> {
        Ok(Self::new(
            &filter.rewrite_not().bind(schema, case_sensitive)?,
        ))
    }

    /// Whether the file may contain a matching row.
    pub fn eval(&self, stats: &ColumnStats<'_>) -> bool {
        if stats.record_count == 0 {
            return false;
        }
        if stats.record_count < 0 {
            // Unknown row count (imported files).
            return true;
        }
        self.filter.visit(&mut |p| may_match(p, stats))
    }
}

fn may_match(p: &BoundPredicate, s: &ColumnStats<'_>) -> bool {
    let term = p.term();
    let id = term.field_id();
    let floating = term.field_type.is_floating();
    match p {
        BoundPredicate::Unary { op, .. } => match op {
            Op::IsNull => s.may_contain_null(id),
            Op::NotNull => !s.contains_nulls_only(id),
            Op::IsNan => !s.contains_nulls_only(id) && s.may_contain_nan(id),
            Op::NotNan => !s.contains_nans_only(id),
            _ => true,
        },
        BoundPredicate::Literal { op, literal, .. } => match op {
            Op::LessThan | Op::LessThanOrEq | Op::GreaterThan | Op::GreaterThanOrEq | Op::Eq => {
                if s.contains_nulls_only(id) || s.contains_nans_only(id) {
                    return false;
                }
                let lower = s.lower(id).and_then(|b| compare(b, literal));
                let upper = s.upper(id).and_then(|b| compare(b, literal));
                match op {
                    Op::LessThan => !matches!(lower, Some(Ordering::Greater | Ordering::Equal)),
                    Op::LessThanOrEq => !is_greater(lower),
                    Op::GreaterThan => !matches!(upper, Some(Ordering::Less | Ordering::Equal)),
                    Op::GreaterThanOrEq => !is_less(upper),
                    _ => !is_greater(lower) && !is_less(upper),
                }
            }
            Op::NotEq => s
                .unique_value(id, floating)
                .is_none_or(|v| compare(v, literal) != Some(Ordering::Equal)),
            Op::StartsWith => {
                let Datum::String(prefix) = literal else {
                    return true;
                };
                if s.contains_nulls_only(id) {
                    return false;
                }
                let Some(lower) = s.lower(id) else {
                    return true;
                };
                if is_greater(prefix_cmp(lower, prefix)) {
                    return false;
                }
                s.upper(id)
                    .is_none_or(|upper| !is_less(prefix_cmp(upper, prefix)))
            }
            Op::NotStartsWith => {
                let Datum::String(prefix) = literal else {
                    return true;
                };
                if s.may_contain_null(id) {
                    return true;
                }
                match (s.lower(id), s.upper(id)) {
                    (Some(lower), Some(upper)) => {
                        !(bound_has_prefix(lower, prefix) && bound_has_prefix(upper, prefix))
                    }
                    _ => true,
                }
            }
            _ => true,
        },
        BoundPredicate::Set { op, literals, .. } => match op {
            Op::In => {
                if s.contains_nulls_only(id) || s.contains_nans_only(id) {
                    return false;
                }
                if literals.len() > IN_PREDICATE_LIMIT {
                    return true;
                }
                let Some(lower) = s.lower(id).filter(|l| !l.is_nan()) else {
                    return true;
                };
                let upper = s.upper(id);
                literals.iter().any(|lit| {
                    !is_greater(compare(lower, lit))
                        && upper.is_none_or(|u| !is_less(compare(u, lit)))
                })
            }
            Op::NotIn => s.unique_value(id, floating).is_none_or(|v| {
                !literals
                    .iter()
                    .any(|l| compare(v, l) == Some(Ordering::Equal))
            }),
            _ => true,
        },
    }
}

/// Decides whether all rows of a data file match a filter (Java's
/// `StrictMetricsEvaluator`): `true` only when every row must match.
#[derive(Debug, Clone)]
pub struct StrictMetricsEvaluator {
    filter: BoundExpression,
}

impl StrictMetricsEvaluator {
    /// An evaluator for a filter bound to the table schema.
    pub fn new(filter: &BoundExpression) -> Self {
        Self {
            filter: filter.rewrite_not(),
        }
    }

    /// Binds `filter` to `schema` and builds the evaluator.
    pub fn try_new(schema: &Schema, filter: &Expression, case_sensitive: bool) -> Result<Self> {
        Ok(Self::new(
            &filter.rewrite_not().bind(schema, case_sensitive)?,
        ))
    }

    /// Whether every row of the file matches.
    pub fn eval(&self, stats: &ColumnStats<'_>) -> bool {
        if stats.record_count == 0 {
            return true;
        }
        if stats.record_count < 0 {
            // Unknown row count: nothing can be promised.
            return false;
        }
        self.filter.visit(&mut |p| must_match(p, stats))
    }
}

fn must_match(p: &BoundPredicate, s: &ColumnStats<'_>) -> bool {
    let term = p.term();
    let id = term.field_id();
    let floating = term.field_type.is_floating();
    // Counts of fields inside structs are not row counts of the file.
    let nested = term.is_nested();
    match p {
        BoundPredicate::Unary { op, .. } => match op {
            Op::IsNull => !nested && s.contains_nulls_only(id),
            Op::NotNull => !nested && !s.may_contain_null(id),
            Op::IsNan => s.contains_nans_only(id),
            Op::NotNan => !s.may_contain_nan(id) || s.contains_nulls_only(id),
            _ => false,
        },
        BoundPredicate::Literal { op, literal, .. } => {
            if nested {
                return false;
            }
            match op {
                Op::LessThan
                | Op::LessThanOrEq
                | Op::GreaterThan
                | Op::GreaterThanOrEq
                | Op::Eq => {
                    if s.can_contain_nulls(id) || s.can_contain_nans(id, floating) {
                        return false;
                    }
                    let lower = s.lower(id).and_then(|b| compare(b, literal));
                    let upper = s.upper(id).and_then(|b| compare(b, literal));
                    match op {
                        Op::LessThan => is_less(upper),
                        Op::LessThanOrEq => {
                            matches!(upper, Some(Ordering::Less | Ordering::Equal))
                        }
                        Op::GreaterThan => is_greater(lower),
                        Op::GreaterThanOrEq => {
                            matches!(lower, Some(Ordering::Greater | Ordering::Equal))
                        }
                        _ => lower == Some(Ordering::Equal) && upper == Some(Ordering::Equal),
                    }
                }
                Op::NotEq => {
                    if s.contains_nulls_only(id) || s.contains_nans_only(id) {
                        return true;
                    }
                    if let Some(lower) = s.lower(id) {
                        if lower.is_nan() {
                            return false;
                        }
                        if is_greater(compare(lower, literal)) {
                            return true;
                        }
                    }
                    s.upper(id)
                        .is_some_and(|upper| is_less(compare(upper, literal)))
                }
                Op::StartsWith => {
                    let Datum::String(prefix) = literal else {
                        return false;
                    };
                    if s.can_contain_nulls(id) {
                        return false;
                    }
                    match (s.lower(id), s.upper(id)) {
                        (Some(lower), Some(upper)) => {
                            bound_has_prefix(lower, prefix) && bound_has_prefix(upper, prefix)
                        }
                        _ => false,
                    }
                }
                Op::NotStartsWith => {
                    let Datum::String(prefix) = literal else {
                        return false;
                    };
                    if s.contains_nulls_only(id) {
                        return true;
                    }
                    s.lower(id)
                        .is_some_and(|lower| is_greater(prefix_cmp(lower, prefix)))
                        || s.upper(id)
                            .is_some_and(|upper| is_less(prefix_cmp(upper, prefix)))
                }
                _ => false,
            }
        }
        BoundPredicate::Set { op, literals, .. } => {
            if nested {
                return false;
            }
            let in_set = |v: &Datum| {
                literals
                    .iter()
                    .any(|l| compare(v, l) == Some(Ordering::Equal))
            };
            match op {
                Op::In => {
                    if s.can_contain_nulls(id) || s.can_contain_nans(id, floating) {
                        return false;
                    }
                    match (s.lower(id), s.upper(id)) {
                        (Some(lower), Some(upper)) => {
                            in_set(lower)
                                && in_set(upper)
                                && compare(lower, upper) == Some(Ordering::Equal)
                        }
                        _ => false,
                    }
                }
                Op::NotIn => {
                    if s.contains_nulls_only(id) || s.contains_nans_only(id) {
                        return true;
                    }
                    let lower = s.lower(id);
                    if lower.is_some_and(Datum::is_nan) {
                        return false;
                    }
                    let upper = s.upper(id);
                    if lower.is_none() && upper.is_none() {
                        return false;
                    }
                    !literals.iter().any(|lit| {
                        lower.is_none_or(|l| !is_greater(compare(l, lit)))
                            && upper.is_none_or(|u| !is_less(compare(u, lit)))
                    })
                }
                _ => false,
            }
        }
    }
}
