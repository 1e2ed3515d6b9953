//! Row filters: unbound expressions (what clients send), binding to a schema, and the
//! evaluators scan planning uses to skip manifests and data files.
//!
//! - [`Expression`] is an unbound filter over column *names*, built with [`Reference`]
//!   (`Reference::new("id").less_than(Datum::Long(5))`) or read from the REST JSON form
//!   ([`Expression::from_json`], which documents the shapes).
//! - [`Expression::bind`] resolves names against a [`Schema`](crate::schema::Schema),
//!   converts literals to the column types ([`Datum::cast_to`](crate::values::Datum)),
//!   rejects type-invalid predicates and simplifies, giving a [`BoundExpression`].
//! - [`BoundExpression::eval`] / [`BoundExpression::eval_tuple`] test one row or one
//!   partition tuple; [`InclusiveMetricsEvaluator`] and [`StrictMetricsEvaluator`] test
//!   a data file's column statistics; [`ManifestEvaluator`] tests a manifest's partition
//!   summaries.
//! - [`inclusive_projection`] / [`strict_projection`] (and
//!   [`Transform::project`](crate::transform::Transform::project)) rewrite a row filter
//!   into a filter on partition values; [`PartitionFilter`] and
//!   [`ManifestEvaluator::for_row_filter`] apply it to files and manifests, and
//!   [`ResidualEvaluator`] gives what is left to check on the rows of one partition.
//!
//! Null and NaN semantics are Iceberg's (what Java's metrics evaluators assume), in
//! SQL's three-valued logic: `<`, `<=`, `>`, `>=` are unknown for a null or NaN value;
//! `=`, `in` and `starts-with` are false for them and `!=`, `not-in` and
//! `not-starts-with` true; NaN is not a valid literal (use `is-nan`). A row matches
//! when the filter is true (see [`BoundPredicate::test_three_valued`]).
//!
//! ```
//! use floe_spec::expr::{Expression, Reference};
//! use floe_spec::schema::Schema;
//! use floe_spec::types::{NestedField, PrimitiveType, Type};
//! use floe_spec::values::Datum;
//!
//! let filter = Reference::new("id")
//!     .less_than(Datum::Long(5))
//!     .and(Reference::new("name").is_null());
//! assert_eq!(filter.to_string(), "id < 5 AND name IS NULL");
//!
//! let schema = Schema::builder()
//!     .with_fields(vec![
//!         NestedField::required(1, "id", Type::Primitive(PrimitiveType::Int)),
//!         NestedField::optional(2, "name", Type::Primitive(PrimitiveType::String)),
//!     ])
//!     .build()
//!     .unwrap();
//! let bound = filter.bind(&schema, true).unwrap();
//! assert!(bound.eval(&|id| (id == 1).then_some(Datum::Int(3))));
//! assert!(!bound.eval(&|id| (id == 1).then_some(Datum::Int(7))));
//! ```

mod bound;
mod cast;
mod json;
mod manifest_eval;
mod metrics_eval;
mod predicate;
mod project;
#[cfg(test)]
mod projection_soundness_tests;
mod residual;
#[cfg(test)]
mod soundness_tests;

use std::fmt;

pub use bound::{BoundExpression, BoundPredicate, BoundReference};
pub use cast::CastResult;
pub use manifest_eval::ManifestEvaluator;
pub use metrics_eval::{ColumnStats, InclusiveMetricsEvaluator, StrictMetricsEvaluator};
pub use predicate::{PredicateOperator, Reference, Term, UnboundLiteral, UnboundPredicate};
pub use project::{
    PartitionFilter, inclusive_projection, inclusive_projection_bound, strict_projection,
    strict_projection_bound,
};
pub use residual::ResidualEvaluator;

/// The number of values above which an `in` predicate is not checked against bounds
/// (Java's `IN_PREDICATE_LIMIT`): the file or manifest may match.
pub const IN_PREDICATE_LIMIT: usize = 200;

/// An unbound filter expression: predicates over column names, combined with
/// `and`, `or` and `not`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expression {
    /// Every row matches.
    True,
    /// No row matches.
    False,
    /// Both sides match.
    And(Box<Expression>, Box<Expression>),
    /// Either side matches.
    Or(Box<Expression>, Box<Expression>),
    /// The child does not match.
    Not(Box<Expression>),
    /// A predicate on one term.
    Predicate(UnboundPredicate),
}

impl Expression {
    /// `self AND other`, folding constants (`false AND x` is `false`, `true AND x` is
    /// `x`).
    #[must_use]
    pub fn and(self, other: Expression) -> Expression {
        match (self, other) {
            (Expression::False, _) | (_, Expression::False) => Expression::False,
            (Expression::True, e) | (e, Expression::True) => e,
            (l, r) => Expression::And(Box::new(l), Box::new(r)),
        }
    }

    /// `self OR other`, folding constants (`true OR x` is `true`, `false OR x` is `x`).
    #[must_use]
    pub fn or(self, other: Expression) -> Expression {
        match (self, other) {
            (Expression::True, _) | (_, Expression::True) => Expression::True,
            (Expression::False, e) | (e, Expression::False) => e,
            (l, r) => Expression::Or(Box::new(l), Box::new(r)),
        }
    }

    /// The logical negation, pushed down to the predicates: `NOT (a AND b)` becomes
    /// `NOT a OR NOT b`, `NOT a < 5` becomes `a >= 5`. The result has no `Not` node.
    #[must_use]
    pub fn negate(&self) -> Expression {
        match self {
            Expression::True => Expression::False,
            Expression::False => Expression::True,
            Expression::And(l, r) => l.negate().or(r.negate()),
            Expression::Or(l, r) => l.negate().and(r.negate()),
            Expression::Not(e) => e.rewrite_not(),
            Expression::Predicate(p) => Expression::Predicate(p.negate()),
        }
    }

    /// The same filter without `Not` nodes: each `NOT x` is replaced by the negation of
    /// `x` (what the metrics and manifest evaluators need).
    #[must_use]
    pub fn rewrite_not(&self) -> Expression {
        match self {
            Expression::True => Expression::True,
            Expression::False => Expression::False,
            Expression::And(l, r) => l.rewrite_not().and(r.rewrite_not()),
            Expression::Or(l, r) => l.rewrite_not().or(r.rewrite_not()),
            Expression::Not(e) => e.negate(),
            Expression::Predicate(p) => Expression::Predicate(p.clone()),
        }
    }

    /// Whether this is the constant `true`.
    pub fn is_true(&self) -> bool {
        matches!(self, Expression::True)
    }

    /// Whether this is the constant `false`.
    pub fn is_false(&self) -> bool {
        matches!(self, Expression::False)
    }
}

impl std::ops::Not for Expression {
    type Output = Expression;

    /// `NOT self`, folding constants and double negation (the `Not` node is kept
    /// otherwise; see [`Expression::rewrite_not`]).
    fn not(self) -> Expression {
        match self {
            Expression::True => Expression::False,
            Expression::False => Expression::True,
            Expression::Not(e) => *e,
            e => Expression::Not(Box::new(e)),
        }
    }
}

impl From<UnboundPredicate> for Expression {
    fn from(p: UnboundPredicate) -> Self {
        Expression::Predicate(p)
    }
}

/// `left AND right` with constant folding.
pub fn and(left: Expression, right: Expression) -> Expression {
    left.and(right)
}

/// `left OR right` with constant folding.
pub fn or(left: Expression, right: Expression) -> Expression {
    left.or(right)
}

/// `NOT child` with constant folding.
pub fn not(child: Expression) -> Expression {
    !child
}

/// Writes `a AND b` / `a OR b` with parentheses only where precedence needs them
/// (AND binds tighter than OR; NOT applies to a parenthesized child).
pub(crate) fn fmt_tree<E>(
    f: &mut fmt::Formatter<'_>,
    node: Node<'_, E>,
    leaf: &dyn Fn(&mut fmt::Formatter<'_>, &E) -> fmt::Result,
    view: &dyn Fn(&E) -> Node<'_, E>,
) -> fmt::Result {
    match node {
        Node::True => f.write_str("true"),
        Node::False => f.write_str("false"),
        Node::And(l, r) => {
            for (i, side) in [l, r].into_iter().enumerate() {
                if i > 0 {
                    f.write_str(" AND ")?;
                }
                let v = view(side);
                if matches!(v, Node::Or(..)) {
                    f.write_str("(")?;
                    fmt_tree(f, v, leaf, view)?;
                    f.write_str(")")?;
                } else {
                    fmt_tree(f, v, leaf, view)?;
                }
            }
            Ok(())
        }
        Node::Or(l, r) => {
            fmt_tree(f, view(l), leaf, view)?;
            f.write_str(" OR ")?;
            fmt_tree(f, view(r), leaf, view)
        }
        Node::Not(c) => {
            f.write_str("NOT (")?;
            fmt_tree(f, view(c), leaf, view)?;
            f.write_str(")")
        }
        Node::Leaf(e) => leaf(f, e),
    }
}

/// A view of an expression node, shared by the unbound and bound Display code.
pub(crate) enum Node<'a, E> {
    True,
    False,
    And(&'a E, &'a E),
    Or(&'a E, &'a E),
    Not(&'a E),
    Leaf(&'a E),
}

impl<E> Clone for Node<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Node<'_, E> {}

fn view_unbound(e: &Expression) -> Node<'_, Expression> {
    match e {
        Expression::True => Node::True,
        Expression::False => Node::False,
        Expression::And(l, r) => Node::And(l, r),
        Expression::Or(l, r) => Node::Or(l, r),
        Expression::Not(c) => Node::Not(c),
        Expression::Predicate(_) => Node::Leaf(e),
    }
}

impl fmt::Display for Expression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_tree(
            f,
            view_unbound(self),
            &|f, e| match e {
                Expression::Predicate(p) => write!(f, "{p}"),
                other => write!(f, "{other}"),
            },
            &view_unbound,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Datum;

    fn a_lt(n: i64) -> Expression {
        Reference::new("a").less_than(Datum::Long(n))
    }

    #[test]
    fn combinators_fold_constants() {
        let p = a_lt(5);
        assert_eq!(Expression::True.and(p.clone()), p);
        assert_eq!(p.clone().and(Expression::False), Expression::False);
        assert_eq!(Expression::False.or(p.clone()), p);
        assert_eq!(p.clone().or(Expression::True), Expression::True);
        assert_eq!(!Expression::True, Expression::False);
        assert_eq!(!!p.clone(), p);
        assert_eq!(not(Expression::False), Expression::True);
        assert!(matches!(
            and(p.clone(), Reference::new("b").is_null()),
            Expression::And(..)
        ));
        assert!(matches!(
            or(p.clone(), Reference::new("b").is_null()),
            Expression::Or(..)
        ));
    }

    #[test]
    fn display() {
        let e = a_lt(5).and(Reference::new("b").is_null());
        assert_eq!(e.to_string(), "a < 5 AND b IS NULL");
        let e = a_lt(5)
            .or(Reference::new("b").not_null())
            .and(!Reference::new("c").starts_with("x"));
        assert_eq!(
            e.to_string(),
            "(a < 5 OR b IS NOT NULL) AND NOT (c STARTS WITH 'x')"
        );
        let e = Reference::new("d").is_in([Datum::Int(1), Datum::Int(2)]);
        assert_eq!(e.to_string(), "d IN (1, 2)");
        assert_eq!(Expression::True.to_string(), "true");
    }

    #[test]
    fn rewrite_not_pushes_negation_down() {
        let b_null = Reference::new("b").is_null();
        let e = !(a_lt(5).and(b_null.clone()));
        let r = e.rewrite_not();
        assert_eq!(r.to_string(), "a >= 5 OR b IS NOT NULL");
        let e = !(a_lt(5).or(!b_null));
        assert_eq!(e.rewrite_not().to_string(), "a >= 5 AND b IS NULL");
        let e = !Reference::new("s").is_in([Datum::String("x".into())]);
        assert_eq!(e.rewrite_not().to_string(), "s NOT IN ('x')");
        // Nested NOTs cancel.
        let e = Expression::Not(Box::new(Expression::Not(Box::new(a_lt(1)))));
        assert_eq!(e.rewrite_not(), a_lt(1));
        assert_eq!(
            Expression::Not(Box::new(Expression::True)).rewrite_not(),
            Expression::False
        );
    }

    #[test]
    fn negate_is_an_involution_on_predicates() {
        let ops = [
            a_lt(1),
            Reference::new("a").less_than_or_eq(Datum::Long(1)),
            Reference::new("a").greater_than(Datum::Long(1)),
            Reference::new("a").greater_than_or_eq(Datum::Long(1)),
            Reference::new("a").equal_to(Datum::Long(1)),
            Reference::new("a").not_equal_to(Datum::Long(1)),
            Reference::new("a").is_null(),
            Reference::new("a").not_null(),
            Reference::new("a").is_nan(),
            Reference::new("a").not_nan(),
            Reference::new("a").starts_with("x"),
            Reference::new("a").not_starts_with("x"),
            Reference::new("a").is_in([Datum::Long(1)]),
            Reference::new("a").is_not_in([Datum::Long(1)]),
        ];
        for e in ops {
            let n = e.negate();
            assert_ne!(n, e);
            assert_eq!(n.negate(), e);
        }
    }
}
