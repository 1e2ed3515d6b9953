//! Testing a data file's column statistics against a filter, as Java's
//! `InclusiveMetricsEvaluator` (may the file hold a matching row?) and
//! `StrictMetricsEvaluator` (do all of its rows match?).
//!
//! Missing statistics never exclude a file. String bounds may be truncated (the
//! lower bound is a prefix of the smallest value, the upper bound a prefix incremented
//! past the largest), so bounds are only used in ways that stay correct for
//! truncated values. Bounds never include NaN; older writers may have written NaN
//! bounds, which are ignored.

use crate::manifest::ColumnMap;
use std::cmp::Ordering;

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
    pub value_counts: &'a ColumnMap<i64>,
    /// Number of nulls per column.
    pub null_value_counts: &'a ColumnMap<i64>,
    /// Number of NaNs per floating-point column.
    pub nan_value_counts: &'a ColumnMap<i64>,
    /// Lower bound per column (possibly truncated for strings and binary).
    pub lower_bounds: &'a ColumnMap<Datum>,
    /// Upper bound per column (possibly truncated for strings and binary).
    pub upper_bounds: &'a ColumnMap<Datum>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Reference;
    use crate::types::{NestedField, PrimitiveType as P, StructType, Type};

    /// Owned statistics of one file, viewed as [`ColumnStats`].
    #[derive(Default, Clone)]
    pub(crate) struct Stats {
        pub record_count: i64,
        pub values: ColumnMap<i64>,
        pub nulls: ColumnMap<i64>,
        pub nans: ColumnMap<i64>,
        pub lower: ColumnMap<Datum>,
        pub upper: ColumnMap<Datum>,
    }

    impl Stats {
        pub(crate) fn view(&self) -> ColumnStats<'_> {
            ColumnStats {
                record_count: self.record_count,
                value_counts: &self.values,
                null_value_counts: &self.nulls,
                nan_value_counts: &self.nans,
                lower_bounds: &self.lower,
                upper_bounds: &self.upper,
            }
        }

        fn col(
            mut self,
            id: i32,
            values: i64,
            nulls: Option<i64>,
            nans: Option<i64>,
            bounds: Option<(Datum, Datum)>,
        ) -> Self {
            self.values.insert(id, values);
            if let Some(n) = nulls {
                self.nulls.insert(id, n);
            }
            if let Some(n) = nans {
                self.nans.insert(id, n);
            }
            if let Some((l, u)) = bounds {
                self.lower.insert(id, l);
                self.upper.insert(id, u);
            }
            self
        }
    }

    fn opt(id: i32, name: &str, t: P) -> NestedField {
        NestedField::optional(id, name, Type::Primitive(t))
    }

    fn schema() -> Schema {
        Schema::builder()
            .with_fields(vec![
                NestedField::required(1, "id", Type::Primitive(P::Int)),
                opt(2, "no_stats", P::Int),
                NestedField::required(3, "required", Type::Primitive(P::String)),
                opt(4, "all_nulls", P::String),
                opt(5, "some_nulls", P::String),
                opt(6, "no_nulls", P::String),
                opt(7, "all_nans", P::Double),
                opt(8, "some_nans", P::Float),
                opt(9, "no_nans", P::Float),
                opt(10, "all_nulls_double", P::Float),
                opt(11, "nan_bounds_v1", P::Float),
                opt(12, "no_nan_stats", P::Double),
                NestedField::optional(
                    15,
                    "s",
                    Type::Struct(StructType::new(vec![opt(16, "nested", P::Int)])),
                ),
                opt(17, "const", P::Int),
                opt(18, "const_d", P::Double),
                opt(19, "const_d_no_nan_count", P::Double),
            ])
            .build()
            .unwrap()
    }

    fn s(v: &str) -> Datum {
        Datum::String(v.into())
    }

    fn file() -> Stats {
        Stats {
            record_count: 50,
            ..Stats::default()
        }
        .col(1, 50, Some(0), None, Some((Datum::Int(30), Datum::Int(79))))
        .col(3, 50, Some(0), None, Some((s("abc"), s("abd"))))
        .col(4, 50, Some(50), None, None)
        .col(5, 50, Some(10), None, Some((s("a"), s("z"))))
        .col(6, 50, Some(0), None, Some((s("abc"), s("abcz"))))
        .col(7, 50, Some(0), Some(50), None)
        .col(
            8,
            50,
            Some(0),
            Some(2),
            Some((Datum::Float(1.0), Datum::Float(5.0))),
        )
        .col(
            9,
            50,
            Some(0),
            Some(0),
            Some((Datum::Float(1.0), Datum::Float(3.0))),
        )
        .col(10, 50, Some(50), None, None)
        .col(
            11,
            50,
            Some(0),
            None,
            Some((Datum::Float(f32::NAN), Datum::Float(f32::NAN))),
        )
        .col(
            12,
            50,
            Some(0),
            None,
            Some((Datum::Double(1.0), Datum::Double(3.0))),
        )
        .col(16, 50, Some(50), None, Some((Datum::Int(1), Datum::Int(2))))
        .col(17, 50, Some(0), None, Some((Datum::Int(7), Datum::Int(7))))
        .col(
            18,
            50,
            Some(0),
            Some(0),
            Some((Datum::Double(1.0), Datum::Double(1.0))),
        )
        .col(
            19,
            50,
            Some(0),
            None,
            Some((Datum::Double(1.0), Datum::Double(1.0))),
        )
    }

    fn r(name: &str) -> Reference {
        Reference::new(name)
    }

    fn i(v: i32) -> Datum {
        Datum::Int(v)
    }

    fn d(v: f64) -> Datum {
        Datum::Double(v)
    }

    fn inclusive(e: &Expression, stats: &Stats) -> bool {
        InclusiveMetricsEvaluator::try_new(&schema(), e, true)
            .unwrap()
            .eval(&stats.view())
    }

    fn strict(e: &Expression, stats: &Stats) -> bool {
        StrictMetricsEvaluator::try_new(&schema(), e, true)
            .unwrap()
            .eval(&stats.view())
    }

    #[test]
    fn inclusive_cases() {
        let many_outside: Vec<Datum> = (100..400).map(i).collect();
        let cases: Vec<(Expression, bool, &str)> = vec![
            (r("all_nulls").not_null(), false, "all nulls: not null"),
            (r("all_nulls").is_null(), true, "all nulls: is null"),
            (r("all_nulls").less_than(s("a")), false, "all nulls: lt"),
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
            (r("some_nulls").is_null(), true, "some nulls: is null"),
            (r("no_nulls").is_null(), false, "no nulls: is null"),
            (r("all_nans").is_nan(), true, "all nans: is nan"),
            (r("all_nans").not_nan(), false, "all nans: not nan"),
            (r("all_nans").less_than(d(1.0)), false, "all nans: lt"),
            (r("all_nans").equal_to(d(1.0)), false, "all nans: eq"),
            (r("all_nans").is_in([d(1.0), d(2.0)]), false, "all nans: in"),
            (r("no_nans").is_nan(), false, "nan count 0: is nan"),
            (r("some_nans").is_nan(), true, "some nans: is nan"),
            (
                r("some_nans").less_than(d(0.5)),
                false,
                "some nans: below lower",
            ),
            (
                r("some_nans").greater_than(d(4.0)),
                true,
                "some nans: in range",
            ),
            (r("all_nulls_double").is_nan(), false, "all nulls: is nan"),
            (
                r("nan_bounds_v1").less_than(d(1.0)),
                true,
                "NaN lower bound ignored",
            ),
            (
                r("nan_bounds_v1").greater_than(d(1.0)),
                true,
                "NaN upper bound",
            ),
            (r("nan_bounds_v1").equal_to(d(1.0)), true, "NaN bounds: eq"),
            (r("id").less_than(i(5)), false, "lt below lower"),
            (r("id").less_than(i(30)), false, "lt lower"),
            (r("id").less_than(i(31)), true, "lt above lower"),
            (r("id").less_than_or_eq(i(29)), false, "lt-eq below lower"),
            (r("id").less_than_or_eq(i(30)), true, "lt-eq lower"),
            (r("id").greater_than(i(79)), false, "gt upper"),
            (r("id").greater_than(i(78)), true, "gt below upper"),
            (
                r("id").greater_than_or_eq(i(80)),
                false,
                "gt-eq above upper",
            ),
            (r("id").greater_than_or_eq(i(79)), true, "gt-eq upper"),
            (r("id").equal_to(i(5)), false, "eq below"),
            (r("id").equal_to(i(30)), true, "eq lower"),
            (r("id").equal_to(i(79)), true, "eq upper"),
            (r("id").equal_to(i(80)), false, "eq above"),
            (r("id").not_equal_to(i(30)), true, "not eq in range"),
            (r("id").is_in([i(5), i(6)]), false, "in below"),
            (r("id").is_in([i(29), i(30)]), true, "in touching lower"),
            (r("id").is_in([i(80), i(81)]), false, "in above"),
            (
                r("id").is_in(many_outside.clone()),
                true,
                "in over the limit",
            ),
            (r("id").is_not_in([i(30), i(31)]), true, "not in"),
            (!r("id").less_than(i(30)), true, "not lt lower"),
            (!r("id").greater_than_or_eq(i(30)), false, "not gt-eq lower"),
            (r("no_stats").less_than(i(0)), true, "missing stats: lt"),
            (r("no_stats").is_null(), true, "missing stats: is null"),
            (r("no_stats").not_null(), true, "missing stats: not null"),
            (r("no_stats").equal_to(i(1)), true, "missing stats: eq"),
            (r("required").starts_with("a"), true, "starts with a"),
            (r("required").starts_with("abc"), true, "starts with lower"),
            (
                r("required").starts_with("abcd"),
                true,
                "starts with longer than lower",
            ),
            (r("required").starts_with("abd"), true, "starts with upper"),
            (
                r("required").starts_with("abdz"),
                false,
                "starts with above upper",
            ),
            (
                r("required").starts_with("abe"),
                false,
                "starts with above upper",
            ),
            (
                r("required").starts_with("aa"),
                false,
                "starts with below lower",
            ),
            (r("required").starts_with("b"), false, "starts with b"),
            (
                r("no_nulls").not_starts_with("abc"),
                false,
                "all start with abc",
            ),
            (
                r("no_nulls").not_starts_with("ab"),
                false,
                "all start with ab",
            ),
            (
                r("no_nulls").not_starts_with("abcd"),
                true,
                "lower shorter than prefix",
            ),
            (
                r("some_nulls").not_starts_with("a"),
                true,
                "nulls match not starts with",
            ),
            (r("s.nested").less_than(i(1)), false, "nested: lt lower"),
            (r("s.nested").not_null(), false, "nested: all null"),
            (r("const").not_equal_to(i(7)), false, "unique value: not eq"),
            (
                r("const").not_equal_to(i(8)),
                true,
                "unique value: not eq other",
            ),
            (
                r("const").is_not_in([i(7), i(8)]),
                false,
                "unique value: not in",
            ),
            (
                r("const").is_not_in([i(8), i(9)]),
                true,
                "unique value: not in others",
            ),
            (r("const_d").not_equal_to(d(1.0)), false, "unique double"),
            (
                r("const_d_no_nan_count").not_equal_to(d(1.0)),
                true,
                "unique double may be NaN",
            ),
            (
                r("id").less_than(i(5)).or(r("id").equal_to(i(50))),
                true,
                "or",
            ),
            (
                r("id").greater_than(i(5)).and(r("all_nulls").not_null()),
                false,
                "and",
            ),
        ];
        let f = file();
        for (e, expected, what) in &cases {
            assert_eq!(inclusive(e, &f), *expected, "{what}: {e}");
        }
        let empty = Stats {
            record_count: 0,
            ..file()
        };
        assert!(!inclusive(&Expression::True, &empty), "no rows");
        assert!(!inclusive(&r("no_stats").is_null(), &empty), "no rows");
        let unknown = Stats {
            record_count: -1,
            ..file()
        };
        assert!(
            inclusive(&r("all_nulls").not_null(), &unknown),
            "unknown count"
        );
    }

    #[test]
    fn strict_cases() {
        let cases: Vec<(Expression, bool, &str)> = vec![
            (r("id").less_than(i(80)), true, "lt above upper"),
            (r("id").less_than(i(79)), false, "lt upper"),
            (r("id").less_than_or_eq(i(79)), true, "lt-eq upper"),
            (r("id").greater_than(i(29)), true, "gt below lower"),
            (r("id").greater_than(i(30)), false, "gt lower"),
            (r("id").greater_than_or_eq(i(30)), true, "gt-eq lower"),
            (r("id").equal_to(i(30)), false, "eq with a range"),
            (r("id").not_equal_to(i(5)), true, "not eq below"),
            (r("id").not_equal_to(i(80)), true, "not eq above"),
            (r("id").not_equal_to(i(50)), false, "not eq inside"),
            (r("id").is_in([i(30), i(79)]), false, "in with a range"),
            (r("id").is_not_in([i(5), i(6)]), true, "not in outside"),
            (r("id").is_not_in([i(30), i(80)]), false, "not in touching"),
            (!r("id").greater_than(i(80)), true, "not gt"),
            (r("const").equal_to(i(7)), true, "eq unique"),
            (r("const").is_in([i(7), i(8)]), true, "in unique"),
            (r("all_nulls").is_null(), true, "all nulls: is null"),
            (r("all_nulls").not_null(), false, "all nulls: not null"),
            (
                r("all_nulls").not_equal_to(s("a")),
                true,
                "all nulls: not eq",
            ),
            (
                r("all_nulls").is_not_in([s("a"), s("b")]),
                true,
                "all nulls: not in",
            ),
            (
                r("all_nulls").not_starts_with("a"),
                true,
                "all nulls: not starts with",
            ),
            (r("some_nulls").not_null(), false, "some nulls: not null"),
            (r("some_nulls").is_null(), false, "some nulls: is null"),
            (
                r("some_nulls").less_than(s("zzz")),
                false,
                "nulls do not match lt",
            ),
            (r("no_nulls").not_null(), true, "no nulls: not null"),
            (r("all_nans").is_nan(), true, "all nans: is nan"),
            (r("all_nans").not_nan(), false, "all nans: not nan"),
            (r("all_nans").not_equal_to(d(1.0)), true, "all nans: not eq"),
            (r("no_nans").not_nan(), true, "no nans: not nan"),
            (r("no_nans").less_than(d(5.0)), true, "no nans: lt"),
            (
                r("some_nans").less_than(d(10.0)),
                false,
                "NaNs do not match lt",
            ),
            (r("some_nans").not_nan(), false, "some nans: not nan"),
            (
                r("no_nan_stats").less_than(d(5.0)),
                false,
                "NaN count unknown",
            ),
            (
                r("no_nan_stats").not_nan(),
                false,
                "NaN count unknown: not nan",
            ),
            (r("all_nulls_double").not_nan(), true, "nulls are not NaN"),
            (r("s.nested").is_null(), false, "nested: is null"),
            (r("s.nested").less_than(i(10)), false, "nested: lt"),
            (r("no_stats").less_than(i(10)), false, "missing stats"),
            (r("no_stats").not_null(), false, "missing null count"),
            (r("no_nulls").starts_with("abc"), true, "starts with"),
            (r("no_nulls").starts_with("ab"), true, "starts with shorter"),
            (
                r("no_nulls").starts_with("abcd"),
                false,
                "starts with longer",
            ),
            (
                r("some_nulls").starts_with("a"),
                false,
                "starts with and nulls",
            ),
            (
                r("no_nulls").not_starts_with("b"),
                true,
                "not starts with above",
            ),
            (
                r("no_nulls").not_starts_with("aa"),
                true,
                "not starts with below",
            ),
            (
                r("no_nulls").not_starts_with("ab"),
                false,
                "not starts with shared",
            ),
            (
                r("id").less_than(i(80)).and(r("no_nulls").not_null()),
                true,
                "and",
            ),
            (
                r("id").less_than(i(30)).or(r("id").greater_than(i(50))),
                false,
                "or of partial matches",
            ),
            (Expression::True, true, "true"),
            (Expression::False, false, "false"),
        ];
        let f = file();
        for (e, expected, what) in &cases {
            assert_eq!(strict(e, &f), *expected, "{what}: {e}");
        }
        let empty = Stats {
            record_count: 0,
            ..file()
        };
        assert!(strict(&r("id").less_than(i(0)), &empty), "no rows");
        let unknown = Stats {
            record_count: -1,
            ..file()
        };
        assert!(
            !strict(&r("id").less_than(i(80)), &unknown),
            "unknown count"
        );
    }
}
