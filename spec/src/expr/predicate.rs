//! Unbound predicates: an operator, a term (a column name, a field id or a transform
//! of a column) and untyped or typed literals.

use std::fmt;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::transform::Transform;
use crate::values::Datum;

use super::Expression;

/// The operator of a predicate, with its REST JSON name (`"lt-eq"`, `"not-in"`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PredicateOperator {
    /// `is-null`
    IsNull,
    /// `not-null`
    NotNull,
    /// `is-nan`
    IsNan,
    /// `not-nan`
    NotNan,
    /// `lt`
    LessThan,
    /// `lt-eq`
    LessThanOrEq,
    /// `gt`
    GreaterThan,
    /// `gt-eq`
    GreaterThanOrEq,
    /// `eq`
    Eq,
    /// `not-eq`
    NotEq,
    /// `starts-with`
    StartsWith,
    /// `not-starts-with`
    NotStartsWith,
    /// `in`
    In,
    /// `not-in`
    NotIn,
}

impl PredicateOperator {
    /// Every operator.
    pub const ALL: [PredicateOperator; 14] = [
        Self::IsNull,
        Self::NotNull,
        Self::IsNan,
        Self::NotNan,
        Self::LessThan,
        Self::LessThanOrEq,
        Self::GreaterThan,
        Self::GreaterThanOrEq,
        Self::Eq,
        Self::NotEq,
        Self::StartsWith,
        Self::NotStartsWith,
        Self::In,
        Self::NotIn,
    ];

    /// The REST JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IsNull => "is-null",
            Self::NotNull => "not-null",
            Self::IsNan => "is-nan",
            Self::NotNan => "not-nan",
            Self::LessThan => "lt",
            Self::LessThanOrEq => "lt-eq",
            Self::GreaterThan => "gt",
            Self::GreaterThanOrEq => "gt-eq",
            Self::Eq => "eq",
            Self::NotEq => "not-eq",
            Self::StartsWith => "starts-with",
            Self::NotStartsWith => "not-starts-with",
            Self::In => "in",
            Self::NotIn => "not-in",
        }
    }

    /// The operator with this REST JSON name (Java's upper-case underscore names such
    /// as `LT_EQ` are accepted too).
    pub fn parse(s: &str) -> Option<Self> {
        let norm = s.to_ascii_lowercase().replace('_', "-");
        Self::ALL.into_iter().find(|op| op.as_str() == norm)
    }

    /// The negated operator: `NOT (x op v)` is `x op.negate() v` in the three-valued
    /// logic of [`BoundPredicate::test_three_valued`](super::BoundPredicate::test_three_valued).
    #[must_use]
    pub fn negate(self) -> Self {
        match self {
            Self::IsNull => Self::NotNull,
            Self::NotNull => Self::IsNull,
            Self::IsNan => Self::NotNan,
            Self::NotNan => Self::IsNan,
            Self::LessThan => Self::GreaterThanOrEq,
            Self::LessThanOrEq => Self::GreaterThan,
            Self::GreaterThan => Self::LessThanOrEq,
            Self::GreaterThanOrEq => Self::LessThan,
            Self::Eq => Self::NotEq,
            Self::NotEq => Self::Eq,
            Self::StartsWith => Self::NotStartsWith,
            Self::NotStartsWith => Self::StartsWith,
            Self::In => Self::NotIn,
            Self::NotIn => Self::In,
        }
    }

    /// The operator with its operands swapped (`5 < a` is `a > 5`), if there is one.
    pub fn flip(self) -> Option<Self> {
        match self {
            Self::LessThan => Some(Self::GreaterThan),
            Self::LessThanOrEq => Some(Self::GreaterThanOrEq),
            Self::GreaterThan => Some(Self::LessThan),
            Self::GreaterThanOrEq => Some(Self::LessThanOrEq),
            Self::Eq | Self::NotEq => Some(self),
            _ => None,
        }
    }

    /// Whether the operator takes no literal (`is-null`, `not-null`, `is-nan`,
    /// `not-nan`).
    pub fn is_unary(self) -> bool {
        matches!(
            self,
            Self::IsNull | Self::NotNull | Self::IsNan | Self::NotNan
        )
    }

    /// Whether the operator takes exactly one literal.
    pub fn is_binary(self) -> bool {
        !self.is_unary() && !self.is_set()
    }

    /// Whether the operator takes a set of literals (`in`, `not-in`).
    pub fn is_set(self) -> bool {
        matches!(self, Self::In | Self::NotIn)
    }

    /// The SQL-like symbol used by `Display`.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            Self::IsNull => "IS NULL",
            Self::NotNull => "IS NOT NULL",
            Self::IsNan => "IS NAN",
            Self::NotNan => "IS NOT NAN",
            Self::LessThan => "<",
            Self::LessThanOrEq => "<=",
            Self::GreaterThan => ">",
            Self::GreaterThanOrEq => ">=",
            Self::Eq => "=",
            Self::NotEq => "!=",
            Self::StartsWith => "STARTS WITH",
            Self::NotStartsWith => "NOT STARTS WITH",
            Self::In => "IN",
            Self::NotIn => "NOT IN",
        }
    }
}

impl fmt::Display for PredicateOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reference to a column by its full dotted name (`a.b.c`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    name: String,
}

impl Reference {
    /// A reference to the column `name`.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    /// The column name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn unary(&self, op: PredicateOperator) -> Expression {
        Expression::Predicate(UnboundPredicate {
            op,
            term: Term::Reference(self.clone()),
            literals: Vec::new(),
        })
    }

    fn binary(&self, op: PredicateOperator, lit: UnboundLiteral) -> Expression {
        Expression::Predicate(UnboundPredicate {
            op,
            term: Term::Reference(self.clone()),
            literals: vec![lit],
        })
    }

    fn set<L: Into<UnboundLiteral>>(
        &self,
        op: PredicateOperator,
        lits: impl IntoIterator<Item = L>,
    ) -> Expression {
        Expression::Predicate(UnboundPredicate {
            op,
            term: Term::Reference(self.clone()),
            literals: lits.into_iter().map(Into::into).collect(),
        })
    }

    /// `self IS NULL`
    pub fn is_null(&self) -> Expression {
        self.unary(PredicateOperator::IsNull)
    }

    /// `self IS NOT NULL`
    pub fn not_null(&self) -> Expression {
        self.unary(PredicateOperator::NotNull)
    }

    /// `self IS NAN`
    pub fn is_nan(&self) -> Expression {
        self.unary(PredicateOperator::IsNan)
    }

    /// `self IS NOT NAN`
    pub fn not_nan(&self) -> Expression {
        self.unary(PredicateOperator::NotNan)
    }

    /// `self < value`
    pub fn less_than(&self, value: impl Into<UnboundLiteral>) -> Expression {
        self.binary(PredicateOperator::LessThan, value.into())
    }

    /// `self <= value`
    pub fn less_than_or_eq(&self, value: impl Into<UnboundLiteral>) -> Expression {
        self.binary(PredicateOperator::LessThanOrEq, value.into())
    }

    /// `self > value`
    pub fn greater_than(&self, value: impl Into<UnboundLiteral>) -> Expression {
        self.binary(PredicateOperator::GreaterThan, value.into())
    }

    /// `self >= value`
    pub fn greater_than_or_eq(&self, value: impl Into<UnboundLiteral>) -> Expression {
        self.binary(PredicateOperator::GreaterThanOrEq, value.into())
    }

    /// `self = value`
    pub fn equal_to(&self, value: impl Into<UnboundLiteral>) -> Expression {
        self.binary(PredicateOperator::Eq, value.into())
    }

    /// `self != value`
    pub fn not_equal_to(&self, value: impl Into<UnboundLiteral>) -> Expression {
        self.binary(PredicateOperator::NotEq, value.into())
    }

    /// `self STARTS WITH prefix`
    pub fn starts_with(&self, prefix: impl Into<String>) -> Expression {
        self.binary(
            PredicateOperator::StartsWith,
            UnboundLiteral::Typed(Datum::String(prefix.into())),
        )
    }

    /// `self NOT STARTS WITH prefix`
    pub fn not_starts_with(&self, prefix: impl Into<String>) -> Expression {
        self.binary(
            PredicateOperator::NotStartsWith,
            UnboundLiteral::Typed(Datum::String(prefix.into())),
        )
    }

    /// `self IN (values)`
    pub fn is_in<L: Into<UnboundLiteral>>(
        &self,
        values: impl IntoIterator<Item = L>,
    ) -> Expression {
        self.set(PredicateOperator::In, values)
    }

    /// `self NOT IN (values)`
    pub fn is_not_in<L: Into<UnboundLiteral>>(
        &self,
        values: impl IntoIterator<Item = L>,
    ) -> Expression {
        self.set(PredicateOperator::NotIn, values)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// What a predicate tests: a column, or a transform of a column.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Term {
    /// A column by name.
    Reference(Reference),
    /// A column by field id (the REST `{"type": "reference", "id": N}` form).
    FieldId(i32),
    /// A partition transform applied to a column (`bucket[16](id)`). Parsed and
    /// written, but binding it is not supported yet.
    Transform {
        /// The transform.
        transform: Transform,
        /// The column it applies to.
        reference: Reference,
    },
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Term::Reference(r) => write!(f, "{r}"),
            Term::FieldId(id) => write!(f, "field#{id}"),
            Term::Transform {
                transform,
                reference,
            } => write!(f, "{transform}({reference})"),
        }
    }
}

/// A literal of an unbound predicate: either typed (built in code) or a JSON value
/// whose type is only known once the predicate is bound to a column.
#[derive(Debug, Clone, PartialEq)]
pub enum UnboundLiteral {
    /// A JSON value (number, string, boolean) as read from a REST request.
    Json(Value),
    /// A typed value.
    Typed(Datum),
}

impl From<Datum> for UnboundLiteral {
    fn from(d: Datum) -> Self {
        UnboundLiteral::Typed(d)
    }
}

impl From<Value> for UnboundLiteral {
    fn from(v: Value) -> Self {
        UnboundLiteral::Json(v)
    }
}

impl UnboundLiteral {
    /// The JSON form (typed values use the spec's single-value JSON form).
    pub fn to_json(&self) -> Value {
        match self {
            UnboundLiteral::Json(v) => v.clone(),
            UnboundLiteral::Typed(d) => d.to_json(),
        }
    }
}

impl fmt::Display for UnboundLiteral {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UnboundLiteral::Typed(d) => write!(f, "{d}"),
            UnboundLiteral::Json(Value::String(s)) => write!(f, "'{s}'"),
            UnboundLiteral::Json(v) => write!(f, "{v}"),
        }
    }
}

/// A predicate over a [`Term`] before binding.
#[derive(Debug, Clone, PartialEq)]
pub struct UnboundPredicate {
    op: PredicateOperator,
    term: Term,
    literals: Vec<UnboundLiteral>,
}

impl UnboundPredicate {
    /// A predicate, checking that the number of literals fits the operator (none for
    /// unary operators, one for comparisons, any number for `in` / `not-in`).
    pub fn new(op: PredicateOperator, term: Term, literals: Vec<UnboundLiteral>) -> Result<Self> {
        let ok = if op.is_unary() {
            literals.is_empty()
        } else if op.is_set() {
            true
        } else {
            literals.len() == 1
        };
        if !ok {
            return Err(Error::invalid(format!(
                "predicate `{op}` on `{term}` takes {} but got {} literal(s)",
                if op.is_unary() {
                    "no value"
                } else {
                    "one value"
                },
                literals.len()
            )));
        }
        Ok(Self { op, term, literals })
    }

    /// The operator.
    pub fn op(&self) -> PredicateOperator {
        self.op
    }

    /// The term.
    pub fn term(&self) -> &Term {
        &self.term
    }

    /// The literals: none, one, or the set of an `in` / `not-in`.
    pub fn literals(&self) -> &[UnboundLiteral] {
        &self.literals
    }

    /// The single literal of a comparison, if this is one.
    pub fn literal(&self) -> Option<&UnboundLiteral> {
        if self.op.is_binary() {
            self.literals.first()
        } else {
            None
        }
    }

    /// The predicate with the negated operator.
    #[must_use]
    pub fn negate(&self) -> Self {
        Self {
            op: self.op.negate(),
            term: self.term.clone(),
            literals: self.literals.clone(),
        }
    }
}

impl fmt::Display for UnboundPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.term, self.op.symbol())?;
        if self.op.is_set() {
            f.write_str(" (")?;
            for (i, l) in self.literals.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{l}")?;
            }
            f.write_str(")")
        } else if let Some(l) = self.literals.first() {
            write!(f, " {l}")
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names_round_trip() {
        for op in PredicateOperator::ALL {
            assert_eq!(PredicateOperator::parse(op.as_str()), Some(op));
            assert_eq!(op.negate().negate(), op);
            assert_ne!(op.negate(), op);
            let kinds = [op.is_unary(), op.is_binary(), op.is_set()];
            assert_eq!(kinds.iter().filter(|k| **k).count(), 1, "{op}");
        }
        assert_eq!(
            PredicateOperator::parse("LT_EQ"),
            Some(PredicateOperator::LessThanOrEq)
        );
        assert_eq!(PredicateOperator::parse("like"), None);
        assert_eq!(
            PredicateOperator::LessThan.flip(),
            Some(PredicateOperator::GreaterThan)
        );
        assert_eq!(PredicateOperator::StartsWith.flip(), None);
    }

    #[test]
    fn arity_is_checked() {
        let t = Term::Reference(Reference::new("a"));
        let one = vec![UnboundLiteral::Typed(Datum::Int(1))];
        assert!(UnboundPredicate::new(PredicateOperator::IsNull, t.clone(), one.clone()).is_err());
        assert!(UnboundPredicate::new(PredicateOperator::Eq, t.clone(), vec![]).is_err());
        let e = UnboundPredicate::new(
            PredicateOperator::LessThan,
            t.clone(),
            vec![one[0].clone(), one[0].clone()],
        )
        .unwrap_err();
        assert!(e.to_string().contains("`lt` on `a`"), "{e}");
        assert!(UnboundPredicate::new(PredicateOperator::In, t.clone(), vec![]).is_ok());
        let p = UnboundPredicate::new(PredicateOperator::Eq, t, one).unwrap();
        assert_eq!(p.literal(), Some(&UnboundLiteral::Typed(Datum::Int(1))));
        assert_eq!(p.to_string(), "a = 1");
    }

    #[test]
    fn transform_terms_display() {
        let t = Term::Transform {
            transform: Transform::Bucket(16),
            reference: Reference::new("id"),
        };
        assert_eq!(t.to_string(), "bucket[16](id)");
        assert_eq!(Term::FieldId(3).to_string(), "field#3");
    }
}
