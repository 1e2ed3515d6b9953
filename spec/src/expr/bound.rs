//! Bound expressions: predicates resolved to a field id and type, with literals of
//! that type; binding ([`Expression::bind`]) and row evaluation
//! ([`BoundExpression::eval`]).
//!
//! The shapes mirror Java's `BoundUnaryPredicate` / `BoundLiteralPredicate` /
//! `BoundSetPredicate`, so that projecting a predicate through a partition transform is
//! a match on [`BoundPredicate`] that reads `op`, `term.field_id()` and the literal(s).

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;

use crate::error::{Error, Result};
use crate::schema::Schema;
use crate::types::{NestedFieldRef, PrimitiveType, StructType, Type};
use crate::values::Datum;

use super::cast::{CastResult, json_literal_to};
use super::predicate::{PredicateOperator, Term, UnboundLiteral, UnboundPredicate};
use super::{Expression, Node, fmt_tree};
use PredicateOperator as Op;

/// A column resolved in a schema: its full name, field, primitive type and the
/// positions leading to it through nested structs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundReference {
    /// The full dotted name in the schema it was bound to.
    pub name: String,
    /// The field.
    pub field: NestedFieldRef,
    /// The field's type (always primitive).
    pub field_type: PrimitiveType,
    /// Positions from the top-level struct down to the field
    /// ([`Schema::accessor_by_id`]).
    pub accessor: Vec<usize>,
}

impl BoundReference {
    /// The field id.
    pub fn field_id(&self) -> i32 {
        self.field.id
    }

    /// Whether the field sits inside a struct rather than at the top level.
    pub fn is_nested(&self) -> bool {
        self.accessor.len() > 1
    }
}

impl fmt::Display for BoundReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A predicate bound to a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundPredicate {
    /// `is-null`, `not-null`, `is-nan`, `not-nan`.
    Unary {
        /// The operator (a unary one).
        op: PredicateOperator,
        /// The column.
        term: BoundReference,
    },
    /// A comparison or `starts-with` / `not-starts-with` with one literal of the
    /// column's type (never NaN).
    Literal {
        /// The operator (a binary one).
        op: PredicateOperator,
        /// The column.
        term: BoundReference,
        /// The literal, of the column's type.
        literal: Datum,
    },
    /// `in` / `not-in` with at least two literals of the column's type.
    Set {
        /// The operator (`In` or `NotIn`).
        op: PredicateOperator,
        /// The column.
        term: BoundReference,
        /// The literals, of the column's type.
        literals: BTreeSet<Datum>,
    },
}

impl BoundPredicate {
    /// The operator.
    pub fn op(&self) -> PredicateOperator {
        match self {
            BoundPredicate::Unary { op, .. }
            | BoundPredicate::Literal { op, .. }
            | BoundPredicate::Set { op, .. } => *op,
        }
    }

    /// The column.
    pub fn term(&self) -> &BoundReference {
        match self {
            BoundPredicate::Unary { term, .. }
            | BoundPredicate::Literal { term, .. }
            | BoundPredicate::Set { term, .. } => term,
        }
    }

    /// The literal of a comparison predicate.
    pub fn literal(&self) -> Option<&Datum> {
        match self {
            BoundPredicate::Literal { literal, .. } => Some(literal),
            _ => None,
        }
    }

    /// The literals of a set predicate.
    pub fn literals(&self) -> Option<&BTreeSet<Datum>> {
        match self {
            BoundPredicate::Set { literals, .. } => Some(literals),
            _ => None,
        }
    }

    /// The predicate matching exactly the rows this one does not.
    #[must_use]
    pub fn negate(&self) -> BoundPredicate {
        let mut p = self.clone();
        match &mut p {
            BoundPredicate::Unary { op, .. }
            | BoundPredicate::Literal { op, .. }
            | BoundPredicate::Set { op, .. } => *op = op.negate(),
        }
        p
    }

    /// Whether a row whose column value is `value` (`None` = null) matches: `true`
    /// only if [`BoundPredicate::test_three_valued`] is `Some(true)`.
    pub fn test(&self, value: Option<&Datum>) -> bool {
        self.test_three_valued(value) == Some(true)
    }

    /// The predicate's truth value for a column value (`None` = null), in SQL's
    /// three-valued logic (`None` = unknown):
    /// - `<`, `<=`, `>`, `>=` are unknown for null and NaN values;
    /// - `=`, `in`, `starts-with` are false for null and NaN values, and their
    ///   negations `!=`, `not-in`, `not-starts-with` true;
    /// - `is-null`, `not-null`, `is-nan`, `not-nan` are never unknown.
    ///
    /// With these rules [`BoundPredicate::negate`] is the exact logical negation, and
    /// the metrics and manifest evaluators (which follow Java's) are sound.
    pub fn test_three_valued(&self, value: Option<&Datum>) -> Option<bool> {
        match self {
            BoundPredicate::Unary { op, .. } => Some(match op {
                Op::IsNull => value.is_none(),
                Op::NotNull => value.is_some(),
                Op::IsNan => value.is_some_and(Datum::is_nan),
                Op::NotNan => !value.is_some_and(Datum::is_nan),
                _ => false,
            }),
            BoundPredicate::Literal { op, literal, .. } => {
                let cmp = value.and_then(|v| compare(v, literal));
                let starts = || match (value, literal) {
                    (Some(Datum::String(s)), Datum::String(p)) => s.starts_with(p.as_str()),
                    _ => false,
                };
                match op {
                    Op::LessThan => cmp.map(Ordering::is_lt),
                    Op::LessThanOrEq => cmp.map(Ordering::is_le),
                    Op::GreaterThan => cmp.map(Ordering::is_gt),
                    Op::GreaterThanOrEq => cmp.map(Ordering::is_ge),
                    Op::Eq => Some(cmp == Some(Ordering::Equal)),
                    Op::NotEq => Some(cmp != Some(Ordering::Equal)),
                    Op::StartsWith => Some(starts()),
                    Op::NotStartsWith => Some(!starts()),
                    _ => Some(false),
                }
            }
            BoundPredicate::Set { op, literals, .. } => {
                let found = value.is_some_and(|v| {
                    !v.is_nan()
                        && (literals.contains(v)
                            || literals
                                .iter()
                                .any(|l| compare(v, l) == Some(Ordering::Equal)))
                });
                Some(match op {
                    Op::In => found,
                    Op::NotIn => !found,
                    _ => false,
                })
            }
        }
    }
}

/// Compares a column value with a literal or bound of the column's type. `None` when
/// the two are not comparable (different types) or either is NaN. Ints and longs,
/// floats and doubles, and decimals of different precisions compare by value.
pub(crate) fn compare(a: &Datum, b: &Datum) -> Option<Ordering> {
    use Datum as D;
    if a.is_nan() || b.is_nan() {
        return None;
    }
    match (a, b) {
        (D::Int(x), D::Long(y)) => Some(i64::from(*x).cmp(y)),
        (D::Long(x), D::Int(y)) => Some(x.cmp(&i64::from(*y))),
        (D::Float(x), D::Double(y)) => Some(f64::from(*x).total_cmp(y)),
        (D::Double(x), D::Float(y)) => Some(x.total_cmp(&f64::from(*y))),
        (
            D::Decimal {
                unscaled: x,
                scale: sx,
                ..
            },
            D::Decimal {
                unscaled: y,
                scale: sy,
                ..
            },
        ) => (sx == sy).then(|| x.cmp(y)),
        (D::Timestamp(x), D::Timestamptz(y)) | (D::Timestamptz(x), D::Timestamp(y)) => {
            Some(x.cmp(y))
        }
        _ if std::mem::discriminant(a) == std::mem::discriminant(b) => Some(a.cmp(b)),
        _ => None,
    }
}

/// A filter bound to a schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundExpression {
    /// Every row matches.
    True,
    /// No row matches.
    False,
    /// Both sides match.
    And(Box<BoundExpression>, Box<BoundExpression>),
    /// Either side matches.
    Or(Box<BoundExpression>, Box<BoundExpression>),
    /// The child does not match.
    Not(Box<BoundExpression>),
    /// A bound predicate.
    Predicate(BoundPredicate),
}

impl BoundExpression {
    /// `self AND other`, folding constants.
    #[must_use]
    pub fn and(self, other: BoundExpression) -> BoundExpression {
        match (self, other) {
            (BoundExpression::False, _) | (_, BoundExpression::False) => BoundExpression::False,
            (BoundExpression::True, e) | (e, BoundExpression::True) => e,
            (l, r) => BoundExpression::And(Box::new(l), Box::new(r)),
        }
    }

    /// `self OR other`, folding constants.
    #[must_use]
    pub fn or(self, other: BoundExpression) -> BoundExpression {
        match (self, other) {
            (BoundExpression::True, _) | (_, BoundExpression::True) => BoundExpression::True,
            (BoundExpression::False, e) | (e, BoundExpression::False) => e,
            (l, r) => BoundExpression::Or(Box::new(l), Box::new(r)),
        }
    }

    /// The negation, pushed down to the predicates (no `Not` node in the result).
    #[must_use]
    pub fn negate(&self) -> BoundExpression {
        match self {
            BoundExpression::True => BoundExpression::False,
            BoundExpression::False => BoundExpression::True,
            BoundExpression::And(l, r) => l.negate().or(r.negate()),
            BoundExpression::Or(l, r) => l.negate().and(r.negate()),
            BoundExpression::Not(e) => e.rewrite_not(),
            BoundExpression::Predicate(p) => BoundExpression::Predicate(p.negate()),
        }
    }

    /// The same filter without `Not` nodes.
    #[must_use]
    pub fn rewrite_not(&self) -> BoundExpression {
        match self {
            BoundExpression::True => BoundExpression::True,
            BoundExpression::False => BoundExpression::False,
            BoundExpression::And(l, r) => l.rewrite_not().and(r.rewrite_not()),
            BoundExpression::Or(l, r) => l.rewrite_not().or(r.rewrite_not()),
            BoundExpression::Not(e) => e.negate(),
            BoundExpression::Predicate(p) => BoundExpression::Predicate(p.clone()),
        }
    }

    /// Calls `f` on every predicate of the tree, left to right, without the
    /// short-circuits of [`BoundExpression::visit`] (use it to collect the columns a
    /// filter references: `a OR b` needs both sides' columns).
    pub fn for_each_predicate(&self, f: &mut dyn FnMut(&BoundPredicate)) {
        match self {
            BoundExpression::True | BoundExpression::False => {}
            BoundExpression::And(l, r) | BoundExpression::Or(l, r) => {
                l.for_each_predicate(f);
                r.for_each_predicate(f);
            }
            BoundExpression::Not(e) => e.for_each_predicate(f),
            BoundExpression::Predicate(p) => f(p),
        }
    }

    /// Evaluates the tree with `leaf` deciding each predicate.
    pub fn visit(&self, leaf: &mut dyn FnMut(&BoundPredicate) -> bool) -> bool {
        match self {
            BoundExpression::True => true,
            BoundExpression::False => false,
            BoundExpression::And(l, r) => l.visit(leaf) && r.visit(leaf),
            BoundExpression::Or(l, r) => l.visit(leaf) || r.visit(leaf),
            BoundExpression::Not(e) => !e.visit(leaf),
            BoundExpression::Predicate(p) => leaf(p),
        }
    }

    /// Evaluates the tree in SQL's three-valued logic (`None` = unknown) with `leaf`
    /// giving each predicate's truth value.
    pub fn visit_three_valued(
        &self,
        leaf: &mut dyn FnMut(&BoundPredicate) -> Option<bool>,
    ) -> Option<bool> {
        match self {
            BoundExpression::True => Some(true),
            BoundExpression::False => Some(false),
            BoundExpression::And(l, r) => match l.visit_three_valued(leaf) {
                Some(false) => Some(false),
                left => match (left, r.visit_three_valued(leaf)) {
                    (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                },
            },
            BoundExpression::Or(l, r) => match l.visit_three_valued(leaf) {
                Some(true) => Some(true),
                left => match (left, r.visit_three_valued(leaf)) {
                    (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                },
            },
            BoundExpression::Not(e) => e.visit_three_valued(leaf).map(|b| !b),
            BoundExpression::Predicate(p) => leaf(p),
        }
    }

    /// The filter's truth value for a row, in SQL's three-valued logic (`None` =
    /// unknown, e.g. `NOT (x < 5)` for a null `x`); `row(field_id)` gives the row's
    /// value of a column (`None` for null).
    pub fn eval_three_valued(&self, row: &dyn Fn(i32) -> Option<Datum>) -> Option<bool> {
        self.visit_three_valued(&mut |p| p.test_three_valued(row(p.term().field_id()).as_ref()))
    }

    /// Whether the row matches (the filter is true, not false or unknown);
    /// `row(field_id)` gives the row's value of a column (`None` for null).
    pub fn eval(&self, row: &dyn Fn(i32) -> Option<Datum>) -> bool {
        self.eval_three_valued(row) == Some(true)
    }

    /// Whether a flat tuple matches, such as a partition tuple in partition-spec field
    /// order with the filter bound to the spec's partition type: the value of a
    /// column is `tuple[accessor[0]]`. Values missing from the tuple are null.
    pub fn eval_tuple(&self, tuple: &[Option<Datum>]) -> bool {
        self.visit_three_valued(&mut |p| {
            let term = p.term();
            let value = match term.accessor.as_slice() {
                [pos] => tuple.get(*pos).and_then(Option::as_ref),
                _ => None,
            };
            p.test_three_valued(value)
        }) == Some(true)
    }
}

impl From<BoundPredicate> for BoundExpression {
    fn from(p: BoundPredicate) -> Self {
        BoundExpression::Predicate(p)
    }
}

impl fmt::Display for BoundPredicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoundPredicate::Unary { op, term } => write!(f, "{term} {}", op.symbol()),
            BoundPredicate::Literal { op, term, literal } => {
                write!(f, "{term} {} {literal}", op.symbol())
            }
            BoundPredicate::Set { op, term, literals } => {
                write!(f, "{term} {} (", op.symbol())?;
                for (i, l) in literals.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{l}")?;
                }
                f.write_str(")")
            }
        }
    }
}

fn view_bound(e: &BoundExpression) -> Node<'_, BoundExpression> {
    match e {
        BoundExpression::True => Node::True,
        BoundExpression::False => Node::False,
        BoundExpression::And(l, r) => Node::And(l, r),
        BoundExpression::Or(l, r) => Node::Or(l, r),
        BoundExpression::Not(c) => Node::Not(c),
        BoundExpression::Predicate(_) => Node::Leaf(e),
    }
}

impl fmt::Display for BoundExpression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_tree(
            f,
            view_bound(self),
            &|f, e| match e {
                BoundExpression::Predicate(p) => write!(f, "{p}"),
                other => write!(f, "{other}"),
            },
            &view_bound,
        )
    }
}

impl Expression {
    /// Binds the filter to `schema`: resolves each column by its full dotted name
    /// (or field id), converts literals to the column's type, rejects invalid
    /// predicates with an error naming the column and operator, and simplifies
    /// (`is-null` on a required column is `false`, out-of-range literals fold to
    /// `true`/`false`, `in` with one value is `eq`, with none `false`).
    pub fn bind(&self, schema: &Schema, case_sensitive: bool) -> Result<BoundExpression> {
        Ok(match self {
            Expression::True => BoundExpression::True,
            Expression::False => BoundExpression::False,
            Expression::And(l, r) => l
                .bind(schema, case_sensitive)?
                .and(r.bind(schema, case_sensitive)?),
            Expression::Or(l, r) => l
                .bind(schema, case_sensitive)?
                .or(r.bind(schema, case_sensitive)?),
            Expression::Not(e) => match e.bind(schema, case_sensitive)? {
                BoundExpression::True => BoundExpression::False,
                BoundExpression::False => BoundExpression::True,
                BoundExpression::Not(inner) => *inner,
                other => BoundExpression::Not(Box::new(other)),
            },
            Expression::Predicate(p) => p.bind(schema, case_sensitive)?,
        })
    }

    /// Binds the filter to a struct type, such as a partition type
    /// ([`PartitionSpec::partition_type`](crate::partition::PartitionSpec::partition_type)).
    pub fn bind_struct(
        &self,
        struct_type: &StructType,
        case_sensitive: bool,
    ) -> Result<BoundExpression> {
        let schema = Schema::builder()
            .with_field_refs(struct_type.fields().to_vec())
            .build()?;
        self.bind(&schema, case_sensitive)
    }
}

impl UnboundPredicate {
    /// Binds this predicate to `schema` (see [`Expression::bind`]).
    pub fn bind(&self, schema: &Schema, case_sensitive: bool) -> Result<BoundExpression> {
        let op = self.op();
        let term = bind_term(self.term(), schema, case_sensitive)
            .map_err(|e| Error::new(e.kind(), format!("cannot bind `{self}`: {}", e.message())))?;
        let ty = term.field_type.clone();
        let fail = |msg: String| Err(Error::invalid(format!("cannot bind `{self}`: {msg}")));
        if op.is_unary() {
            return Ok(match op {
                PredicateOperator::IsNull | PredicateOperator::NotNull => {
                    let is_null = op == PredicateOperator::IsNull;
                    if ty == PrimitiveType::Unknown {
                        if is_null {
                            BoundExpression::True
                        } else {
                            BoundExpression::False
                        }
                    } else if all_required(schema, &term.accessor) {
                        if is_null {
                            BoundExpression::False
                        } else {
                            BoundExpression::True
                        }
                    } else {
                        BoundPredicate::Unary { op, term }.into()
                    }
                }
                _ => {
                    if !ty.is_floating() {
                        return fail(format!(
                            "`{op}` needs a float or double column, but `{}` is {ty}",
                            term.name
                        ));
                    }
                    BoundPredicate::Unary { op, term }.into()
                }
            });
        }
        if ty == PrimitiveType::Unknown {
            return fail(format!(
                "column `{}` has type unknown (always null)",
                term.name
            ));
        }
        if matches!(
            op,
            PredicateOperator::StartsWith | PredicateOperator::NotStartsWith
        ) && ty != PrimitiveType::String
        {
            return fail(format!(
                "`{op}` needs a string column, but `{}` is {ty}",
                term.name
            ));
        }
        let convert = |lit: &UnboundLiteral| -> Result<CastResult> {
            let r = match lit {
                UnboundLiteral::Json(v) => json_literal_to(v, &ty),
                UnboundLiteral::Typed(d) => d.cast_to(&ty),
            }
            .map_err(|e| {
                Error::invalid(format!(
                    "cannot bind `{self}`: invalid literal {lit} for column `{}` of type {ty}: {}",
                    term.name,
                    e.message()
                ))
            })?;
            if let CastResult::Value(d) = &r
                && d.is_nan()
            {
                return Err(Error::invalid(format!(
                    "cannot bind `{self}`: NaN is not a valid literal for `{op}`, use is-nan or not-nan"
                )));
            }
            Ok(r)
        };
        if op.is_set() {
            let mut literals = BTreeSet::new();
            for lit in self.literals() {
                // Values outside the type or between two of its values never equal a
                // column value.
                if let CastResult::Value(d) = convert(lit)? {
                    literals.insert(d);
                }
            }
            let negated = op == PredicateOperator::NotIn;
            if literals.len() <= 1 {
                return Ok(match literals.pop_first() {
                    None if negated => BoundExpression::True,
                    None => BoundExpression::False,
                    Some(literal) => BoundPredicate::Literal {
                        op: if negated {
                            PredicateOperator::NotEq
                        } else {
                            PredicateOperator::Eq
                        },
                        term,
                        literal,
                    }
                    .into(),
                });
            }
            return Ok(BoundPredicate::Set { op, term, literals }.into());
        }
        let Some(lit) = self.literal() else {
            return fail(format!("`{op}` needs a value"));
        };
        Ok(match convert(lit)? {
            CastResult::Value(literal) => BoundPredicate::Literal { op, term, literal }.into(),
            CastResult::AboveMax => match op {
                Op::LessThan | Op::LessThanOrEq | Op::NotEq => BoundExpression::True,
                _ => BoundExpression::False,
            },
            CastResult::BelowMin => match op {
                Op::GreaterThan | Op::GreaterThanOrEq | Op::NotEq => BoundExpression::True,
                _ => BoundExpression::False,
            },
            CastResult::Inexact { floor } => match op {
                Op::LessThan | Op::LessThanOrEq => BoundPredicate::Literal {
                    op: Op::LessThanOrEq,
                    term,
                    literal: floor,
                }
                .into(),
                Op::GreaterThan | Op::GreaterThanOrEq => BoundPredicate::Literal {
                    op: Op::GreaterThan,
                    term,
                    literal: floor,
                }
                .into(),
                Op::NotEq => BoundExpression::True,
                _ => BoundExpression::False,
            },
        })
    }
}

/// Whether the field at `accessor` and all the structs above it are required.
fn all_required(schema: &Schema, accessor: &[usize]) -> bool {
    let mut fields = schema.fields();
    for pos in accessor {
        let Some(f) = fields.get(*pos) else {
            return false;
        };
        if !f.required {
            return false;
        }
        fields = match f.field_type.as_ref() {
            Type::Struct(s) => s.fields(),
            _ => &[],
        };
    }
    true
}

fn bind_term(term: &Term, schema: &Schema, case_sensitive: bool) -> Result<BoundReference> {
    let field = match term {
        Term::Reference(r) => {
            let f = if case_sensitive {
                schema.field_by_name(r.name())
            } else {
                schema.field_by_name_case_insensitive(r.name())
            };
            f.ok_or_else(|| {
                Error::invalid(format!(
                    "column `{}` is not in the schema{}",
                    r.name(),
                    if case_sensitive {
                        " (case-sensitive)"
                    } else {
                        ""
                    }
                ))
            })?
        }
        Term::FieldId(id) => schema
            .field_by_id(*id)
            .ok_or_else(|| Error::invalid(format!("field id {id} is not in the schema")))?,
        Term::Transform { transform, .. } => {
            return Err(Error::unsupported(format!(
                "binding transform terms ({transform}) is not supported yet"
            )));
        }
    };
    let name = schema
        .name_by_id(field.id)
        .unwrap_or(&field.name)
        .to_string();
    let Some(field_type) = field.field_type.as_primitive().cloned() else {
        return Err(Error::unsupported(format!(
            "column `{name}` has the nested type {}; predicates on structs, lists and maps are not supported",
            field.field_type
        )));
    };
    let accessor = schema
        .accessor_by_id(field.id)
        .ok_or_else(|| {
            Error::unsupported(format!(
                "column `{name}` is inside a list or map; predicates on it are not supported"
            ))
        })?
        .to_vec();
    Ok(BoundReference {
        name,
        field: field.clone(),
        field_type,
        accessor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Reference;
    use crate::types::NestedField;
    use serde_json::json;

    fn schema() -> Schema {
        Schema::builder()
            .with_fields(vec![
                NestedField::required(1, "id", Type::Primitive(PrimitiveType::Int)),
                NestedField::optional(2, "data", Type::Primitive(PrimitiveType::String)),
                NestedField::optional(3, "d", Type::Primitive(PrimitiveType::Double)),
                NestedField::optional(
                    4,
                    "s",
                    Type::Struct(StructType::new(vec![
                        NestedField::required(5, "x", Type::Primitive(PrimitiveType::Long)),
                        NestedField::optional(6, "y", Type::Primitive(PrimitiveType::Long)),
                    ])),
                ),
                NestedField::required(
                    7,
                    "r",
                    Type::Struct(StructType::new(vec![NestedField::required(
                        8,
                        "z",
                        Type::Primitive(PrimitiveType::Date),
                    )])),
                ),
                NestedField::optional(
                    9,
                    "l",
                    Type::List(crate::types::ListType::new(
                        10,
                        Type::Primitive(PrimitiveType::Int),
                        true,
                    )),
                ),
                NestedField::optional(11, "ts", Type::Primitive(PrimitiveType::Timestamp)),
                NestedField::optional(
                    12,
                    "price",
                    Type::Primitive(PrimitiveType::Decimal {
                        precision: 9,
                        scale: 2,
                    }),
                ),
                NestedField::optional(13, "u", Type::Primitive(PrimitiveType::Unknown)),
            ])
            .build()
            .unwrap()
    }

    fn bind(e: &Expression) -> BoundExpression {
        e.bind(&schema(), true).unwrap()
    }

    fn bind_err(e: &Expression) -> String {
        e.bind(&schema(), true).unwrap_err().to_string()
    }

    #[test]
    fn binds_names_ids_and_types() {
        let b = bind(&Reference::new("s.y").equal_to(Datum::Int(3)));
        let BoundExpression::Predicate(BoundPredicate::Literal { op, term, literal }) = &b else {
            panic!("{b:?}");
        };
        assert_eq!(*op, PredicateOperator::Eq);
        assert_eq!(term.field_id(), 6);
        assert_eq!(term.accessor, vec![3, 1]);
        assert!(term.is_nested());
        assert_eq!(term.field_type, PrimitiveType::Long);
        assert_eq!(*literal, Datum::Long(3));
        assert_eq!(b.to_string(), "s.y = 3");

        let e = Reference::new("ID").less_than(Datum::Int(3));
        assert!(bind_err(&e).contains("column `ID` is not in the schema"));
        let b = e.bind(&schema(), false).unwrap();
        assert_eq!(b.to_string(), "id < 3");
    }

    #[test]
    fn bind_errors_name_column_and_operator() {
        let e = bind_err(&Reference::new("data").is_nan());
        assert!(
            e.contains("is-nan") && e.contains("`data`") && e.contains("string"),
            "{e}"
        );
        let e = bind_err(&Reference::new("id").starts_with("1"));
        assert!(e.contains("starts-with") && e.contains("`id`"), "{e}");
        let e = bind_err(&Reference::new("id").equal_to(Datum::String("abc".into())));
        assert!(
            e.contains("`id`") && e.contains("'abc'") && e.contains("int"),
            "{e}"
        );
        let e = bind_err(&Reference::new("missing").is_null());
        assert!(e.contains("`missing`"), "{e}");
        let e = bind_err(&Reference::new("d").equal_to(Datum::Double(f64::NAN)));
        assert!(e.contains("NaN") && e.contains("is-nan"), "{e}");
        let e = bind_err(&Reference::new("s").is_null());
        assert!(e.contains("nested type"), "{e}");
        let e = bind_err(&Reference::new("l.element").is_null());
        assert!(e.contains("list or map"), "{e}");
        let e = bind_err(&Reference::new("u").equal_to(Datum::Int(1)));
        assert!(e.contains("unknown"), "{e}");
        let t = Expression::Predicate(
            UnboundPredicate::new(
                PredicateOperator::Eq,
                Term::Transform {
                    transform: crate::transform::Transform::Bucket(16),
                    reference: Reference::new("id"),
                },
                vec![Datum::Int(1).into()],
            )
            .unwrap(),
        );
        let err = t.bind(&schema(), true).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::FeatureUnsupported);
        assert!(err.to_string().contains("bucket[16]"), "{err}");
    }

    #[test]
    fn simplifications() {
        assert_eq!(
            bind(&Reference::new("id").is_null()),
            BoundExpression::False
        );
        assert_eq!(
            bind(&Reference::new("id").not_null()),
            BoundExpression::True
        );
        assert_eq!(
            bind(&Reference::new("r.z").is_null()),
            BoundExpression::False
        );
        // s is optional, so s.x may be null although x is required.
        assert!(matches!(
            bind(&Reference::new("s.x").is_null()),
            BoundExpression::Predicate(_)
        ));
        assert_eq!(bind(&Reference::new("u").is_null()), BoundExpression::True);
        assert_eq!(
            bind(&Reference::new("u").not_null()),
            BoundExpression::False
        );
        assert_eq!(
            bind(&Reference::new("id").is_in(Vec::<Datum>::new())),
            BoundExpression::False
        );
        assert_eq!(
            bind(&Reference::new("id").is_not_in(Vec::<Datum>::new())),
            BoundExpression::True
        );
        assert_eq!(
            bind(&Reference::new("id").is_in([Datum::Int(4)])).to_string(),
            "id = 4"
        );
        assert_eq!(
            bind(&Reference::new("id").is_not_in([Datum::Int(4), Datum::Int(4)])).to_string(),
            "id != 4"
        );
        assert_eq!(
            bind(&Reference::new("id").is_in([Datum::Int(4), Datum::Int(5)])).to_string(),
            "id IN (4, 5)"
        );
        // NOT over a folded constant, and AND/OR folding.
        assert_eq!(
            bind(&!Reference::new("id").is_null()),
            BoundExpression::True
        );
        assert_eq!(
            bind(
                &Reference::new("id")
                    .is_null()
                    .or(Reference::new("data").is_null())
            )
            .to_string(),
            "data IS NULL"
        );
    }

    #[test]
    fn out_of_range_literals_fold() {
        let big = Datum::Long(3_000_000_000);
        let small = Datum::Long(-3_000_000_000);
        let r = Reference::new("id");
        assert_eq!(bind(&r.less_than(big.clone())), BoundExpression::True);
        assert_eq!(bind(&r.less_than_or_eq(big.clone())), BoundExpression::True);
        assert_eq!(bind(&r.not_equal_to(big.clone())), BoundExpression::True);
        assert_eq!(bind(&r.greater_than(big.clone())), BoundExpression::False);
        assert_eq!(
            bind(&r.greater_than_or_eq(big.clone())),
            BoundExpression::False
        );
        assert_eq!(bind(&r.equal_to(big.clone())), BoundExpression::False);
        assert_eq!(bind(&r.greater_than(small.clone())), BoundExpression::True);
        assert_eq!(bind(&r.less_than(small.clone())), BoundExpression::False);
        assert_eq!(bind(&r.equal_to(small.clone())), BoundExpression::False);
        assert_eq!(bind(&r.not_equal_to(small.clone())), BoundExpression::True);
        assert_eq!(
            bind(&r.is_in([big.clone(), Datum::Long(1), small.clone()])).to_string(),
            "id = 1"
        );
        assert_eq!(bind(&r.is_in([big.clone(), small])), BoundExpression::False);
        // JSON literal beyond int range.
        assert_eq!(
            bind(&r.less_than(json!(3_000_000_000_i64))),
            BoundExpression::True
        );
    }

    #[test]
    fn inexact_literals_rewrite_exactly() {
        let p = Reference::new("price");
        assert_eq!(
            bind(&p.less_than(json!("1.234"))).to_string(),
            "price <= '1.23'"
        );
        assert_eq!(
            bind(&p.greater_than_or_eq(json!(1.234))).to_string(),
            "price > '1.23'"
        );
        assert_eq!(bind(&p.equal_to(json!("1.234"))), BoundExpression::False);
        assert_eq!(bind(&p.not_equal_to(json!("1.234"))), BoundExpression::True);
        assert_eq!(
            bind(&p.equal_to(json!("1.5"))).to_string(),
            "price = '1.50'"
        );
        let ts = Reference::new("ts");
        assert_eq!(
            bind(&ts.less_than(Datum::TimestampNs(1_500))).to_string(),
            "ts <= '1970-01-01T00:00:00.000001'"
        );
        // Every conversion agrees with evaluating the original literal.
        for (v, lit) in [
            (122, "1.225"),
            (123, "1.225"),
            (-1, "-0.005"),
            (0, "-0.005"),
        ] {
            let row = |id: i32| {
                (id == 12).then_some(Datum::Decimal {
                    unscaled: v,
                    precision: 9,
                    scale: 2,
                })
            };
            let lit_hundredths = lit.parse::<f64>().unwrap() * 100.0;
            let lt = bind(&p.less_than(json!(lit))).eval(&row);
            assert_eq!(lt, (v as f64) < lit_hundredths, "{v} < {lit}");
            let gt = bind(&p.greater_than(json!(lit))).eval(&row);
            assert_eq!(gt, (v as f64) > lit_hundredths, "{v} > {lit}");
        }
    }

    #[test]
    fn json_literals_convert_at_bind_time() {
        let b = bind(&Reference::new("ts").greater_than(json!("2017-11-16T22:31:08")));
        assert_eq!(b.to_string(), "ts > '2017-11-16T22:31:08.000000'");
        let b = bind(&Reference::new("ts").greater_than(json!(5)));
        assert_eq!(
            b,
            BoundExpression::Predicate(BoundPredicate::Literal {
                op: PredicateOperator::GreaterThan,
                term: match bind(&Reference::new("ts").not_null()) {
                    BoundExpression::Predicate(p) => p.term().clone(),
                    other => panic!("{other:?}"),
                },
                literal: Datum::Timestamp(5),
            })
        );
        let b = bind(&Reference::new("r.z").equal_to(json!("2017-11-16")));
        assert_eq!(b.to_string(), "r.z = '2017-11-16'");
        let e = bind_err(&Reference::new("r.z").equal_to(json!("not a date")));
        assert!(e.contains("`r.z`") && e.contains("date"), "{e}");
    }

    #[test]
    fn row_eval_semantics() {
        let b = bind(
            &Reference::new("id")
                .greater_than(Datum::Int(3))
                .and(Reference::new("data").starts_with("ab")),
        );
        let row = |id: i32, data: Option<&str>| {
            let data = data.map(|s| Datum::String(s.into()));
            move |f: i32| match f {
                1 => Some(Datum::Int(id)),
                2 => data.clone(),
                _ => None,
            }
        };
        assert!(b.eval(&row(4, Some("abc"))));
        assert!(!b.eval(&row(3, Some("abc"))));
        assert!(!b.eval(&row(4, Some("xab"))));
        assert!(!b.eval(&row(4, None)));
        let nb = bind(&!Reference::new("data").starts_with("ab"));
        assert!(nb.eval(&row(4, None)));

        let d = |v: Option<f64>| move |f: i32| (f == 3).then_some(v.map(Datum::Double)).flatten();
        let nan = Some(f64::NAN);
        assert!(!bind(&Reference::new("d").less_than(Datum::Double(1.0))).eval(&d(nan)));
        assert!(!bind(&Reference::new("d").greater_than(Datum::Double(1.0))).eval(&d(nan)));
        assert!(!bind(&Reference::new("d").equal_to(Datum::Double(1.0))).eval(&d(nan)));
        assert!(bind(&Reference::new("d").not_equal_to(Datum::Double(1.0))).eval(&d(nan)));
        assert!(bind(&Reference::new("d").is_nan()).eval(&d(nan)));
        assert!(!bind(&Reference::new("d").not_nan()).eval(&d(nan)));
        assert!(!bind(&Reference::new("d").is_nan()).eval(&d(None)));
        assert!(bind(&Reference::new("d").not_nan()).eval(&d(None)));
        assert!(!bind(&Reference::new("d").less_than(Datum::Double(1.0))).eval(&d(None)));
        assert!(
            bind(&Reference::new("d").is_not_in([Datum::Double(1.0), Datum::Double(2.0)]))
                .eval(&d(None))
        );
        assert!(
            bind(&Reference::new("d").is_in([Datum::Double(1.0), Datum::Double(2.0)]))
                .eval(&d(Some(2.0)))
        );
        assert!(bind(&Reference::new("d").is_null()).eval(&d(None)));
        // Ordering comparisons are unknown for null and NaN, so their NOT is too.
        let not_lt = bind(&!Reference::new("d").less_than(Datum::Double(1.0)));
        assert!(!not_lt.eval(&d(None)));
        assert!(!not_lt.eval(&d(nan)));
        assert!(not_lt.eval(&d(Some(2.0))));
        assert_eq!(not_lt.eval_three_valued(&d(nan)), None);
        let not_eq = bind(&!Reference::new("d").equal_to(Datum::Double(1.0)));
        assert!(not_eq.eval(&d(None)));
        assert!(not_eq.eval(&d(nan)));
        // Kleene logic: unknown OR true is true, unknown AND false is false.
        let lt = Reference::new("d").less_than(Datum::Double(1.0));
        assert!(bind(&lt.clone().or(Reference::new("d").is_null())).eval(&d(None)));
        let and = bind(&lt.and(Reference::new("d").not_null()));
        assert_eq!(and.eval_three_valued(&d(None)), Some(false));
    }

    #[test]
    fn partition_tuples() {
        let spec = crate::partition::PartitionSpec {
            spec_id: 0,
            fields: vec![
                crate::partition::PartitionField {
                    source_id: 1,
                    field_id: 1000,
                    name: "id_bucket".into(),
                    transform: crate::transform::Transform::Bucket(4),
                },
                crate::partition::PartitionField {
                    source_id: 2,
                    field_id: 1001,
                    name: "data".into(),
                    transform: crate::transform::Transform::Identity,
                },
            ],
        };
        let pt = spec.partition_type(&schema()).unwrap();
        let b = Reference::new("id_bucket")
            .equal_to(Datum::Int(2))
            .and(Reference::new("data").not_null())
            .bind_struct(&pt, true)
            .unwrap();
        assert!(b.eval_tuple(&[Some(Datum::Int(2)), Some(Datum::String("x".into()))]));
        assert!(!b.eval_tuple(&[Some(Datum::Int(1)), Some(Datum::String("x".into()))]));
        assert!(!b.eval_tuple(&[Some(Datum::Int(2)), None]));
        assert!(!b.eval_tuple(&[Some(Datum::Int(2))]));
    }

    #[test]
    fn bound_negation() {
        let b = bind(
            &!(Reference::new("id").less_than(Datum::Int(3)).and(
                Reference::new("data")
                    .is_in([Datum::String("a".into()), Datum::String("b".into())]),
            )),
        );
        assert!(matches!(b, BoundExpression::Not(_)));
        let r = b.rewrite_not();
        assert_eq!(r.to_string(), "id >= 3 OR data NOT IN ('a', 'b')");
        for id in [1, 5] {
            for data in ["a", "c"] {
                let row = |f: i32| match f {
                    1 => Some(Datum::Int(id)),
                    2 => Some(Datum::String(data.into())),
                    _ => None,
                };
                assert_eq!(b.eval(&row), r.eval(&row));
                assert_eq!(b.eval(&row), !b.negate().eval(&row));
                assert_eq!(
                    b.eval_three_valued(&row),
                    b.negate().eval_three_valued(&row).map(|x| !x)
                );
            }
        }
    }
}
