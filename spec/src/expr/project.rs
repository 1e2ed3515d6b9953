//! Projecting row filters through partition transforms: from a predicate on a source
//! column to a predicate on a partition field, as Java's `Transform.project` /
//! `projectStrict` and `Projections`.
//!
//! - An *inclusive* projection ([`Transform::project`], [`inclusive_projection`]) is
//!   true for the partition of every row that matches the filter: partitions where it
//!   is false hold no matching row and can be skipped.
//! - A *strict* projection ([`Transform::project_strict`], [`strict_projection`]) is
//!   true only for partitions in which every row matches the filter.
//!
//! The projected expressions are over partition field *names*; bind them to the
//! spec's partition type ([`PartitionSpec::partition_type`] and
//! [`Expression::bind_struct`]) to evaluate them on partition tuples, or use
//! [`PartitionFilter`] and [`ManifestEvaluator::for_row_filter`], which do that.
//!
//! Java's fix-ups for data written by Iceberg 0.10 and earlier (which mapped pre-epoch
//! dates and timestamps to one unit too high) are kept, so the projections also hold
//! for such partitions: `day(ts) = 1969-12-31` becomes `day IN (1969-12-31,
//! 1970-01-01)`.
//!
//! ```
//! use floe_spec::expr::{Reference, inclusive_projection};
//! use floe_spec::partition::{PartitionField, PartitionSpec};
//! use floe_spec::schema::Schema;
//! use floe_spec::transform::Transform;
//! use floe_spec::types::{NestedField, PrimitiveType, Type};
//! use floe_spec::values::Datum;
//!
//! let schema = Schema::builder()
//!     .with_fields(vec![NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long))])
//!     .build()
//!     .unwrap();
//! let spec = PartitionSpec {
//!     spec_id: 0,
//!     fields: vec![PartitionField {
//!         source_id: 1,
//!         field_id: 1000,
//!         name: "id_trunc".into(),
//!         transform: Transform::Truncate(10),
//!     }],
//! };
//! let filter = Reference::new("id").less_than(Datum::Long(25));
//! let projected = inclusive_projection(&spec, &schema, &filter, true).unwrap();
//! assert_eq!(projected.to_string(), "id_trunc <= 20");
//! ```

use std::collections::BTreeSet;

use crate::error::{Error, ErrorKind, Result};
use crate::partition::PartitionSpec;
use crate::schema::Schema;
use crate::transform::Transform;
use crate::types::{PrimitiveType, StructType};
use crate::values::Datum;

use super::{
    BoundExpression, BoundPredicate, Expression, ManifestEvaluator, PredicateOperator as Op,
    Reference, Term, UnboundLiteral, UnboundPredicate,
};

/// A projected predicate before it is turned into an [`UnboundPredicate`]: an operator
/// and its literals (none, one, or a set).
#[derive(Debug, Clone, PartialEq)]
struct Projected {
    op: Op,
    literals: Vec<Datum>,
}

impl Projected {
    fn one(op: Op, literal: Datum) -> Self {
        Self {
            op,
            literals: vec![literal],
        }
    }

    fn into_predicate(self, name: &str) -> Result<UnboundPredicate> {
        UnboundPredicate::new(
            self.op,
            Term::Reference(Reference::new(name)),
            self.literals
                .into_iter()
                .map(UnboundLiteral::Typed)
                .collect(),
        )
    }
}

impl Transform {
    /// The inclusive projection of `pred` (bound to the table schema) onto the
    /// partition field `partition_field_name` produced by this transform of the
    /// predicate's column: a predicate that is true for the partition value of every
    /// row matching `pred`. `None` when there is none (the projection is `true`).
    ///
    /// Errors only when the transform cannot apply to the column's type.
    pub fn project(
        &self,
        partition_field_name: &str,
        pred: &BoundPredicate,
    ) -> Result<Option<UnboundPredicate>> {
        self.project_with(pred, false)?
            .map(|p| p.into_predicate(partition_field_name))
            .transpose()
    }

    /// The strict projection of `pred` onto the partition field
    /// `partition_field_name`: a predicate whose truth for a partition value means that
    /// every row with that partition value matches `pred`. `None` when there is none
    /// (the projection is `false`).
    ///
    /// Errors only when the transform cannot apply to the column's type.
    pub fn project_strict(
        &self,
        partition_field_name: &str,
        pred: &BoundPredicate,
    ) -> Result<Option<UnboundPredicate>> {
        self.project_with(pred, true)?
            .map(|p| p.into_predicate(partition_field_name))
            .transpose()
    }

    fn project_with(self, pred: &BoundPredicate, strict: bool) -> Result<Option<Projected>> {
        // `void` partitions hold every row in the null partition, and unknown
        // transforms cannot be reasoned about.
        if matches!(self, Transform::Void | Transform::Unknown) {
            return Ok(None);
        }
        let source = &pred.term().field_type;
        self.result_type(source)?;
        if let BoundPredicate::Unary { op, .. } = pred {
            // Every transform maps null to null and only `identity` keeps NaN, which
            // is the only transform a float column can have.
            return Ok(Some(Projected {
                op: *op,
                literals: Vec::new(),
            }));
        }
        let projected = match self {
            Transform::Identity => Some(identity(pred)),
            Transform::Bucket(_) => self.project_bucket(pred, strict),
            Transform::Truncate(w) => match source {
                PrimitiveType::String => self.project_truncate_string(pred, w as usize, strict),
                PrimitiveType::Binary => self.project_ordered(pred, strict, false),
                _ => self.project_ordered(pred, strict, true),
            },
            Transform::Year | Transform::Month | Transform::Day | Transform::Hour => {
                let projected = self.project_ordered(pred, strict, true);
                // Dates never had the pre-epoch bug for `day`: it is the date itself.
                if self == Transform::Day && *source == PrimitiveType::Date {
                    projected
                } else if strict {
                    projected.and_then(fix_strict_time)
                } else {
                    projected.and_then(fix_inclusive_time)
                }
            }
            Transform::Void | Transform::Unknown => None,
        };
        Ok(projected)
    }

    /// The partition value of a literal, or `None` when it is out of range of the
    /// result type (no row with that value can be written) or when a truncation would
    /// wrap around near the minimum (where the transform stops being monotonic).
    fn transform_literal(self, value: &Datum) -> Option<Datum> {
        let out = self.apply(value).ok()??;
        if matches!(self, Transform::Truncate(_))
            && matches!(
                value,
                Datum::Int(_) | Datum::Long(_) | Datum::Decimal { .. }
            )
            && out > *value
        {
            return None;
        }
        Some(out)
    }

    fn transform_set(self, op: Op, literals: &BTreeSet<Datum>) -> Option<Projected> {
        let mut out = BTreeSet::new();
        for l in literals {
            out.insert(self.transform_literal(l)?);
        }
        Some(Projected {
            op,
            literals: out.into_iter().collect(),
        })
    }

    fn project_bucket(self, pred: &BoundPredicate, strict: bool) -> Option<Projected> {
        // Equal values hash alike; nothing else survives hashing.
        let wanted = if strict {
            (Op::NotEq, Op::NotIn)
        } else {
            (Op::Eq, Op::In)
        };
        match pred {
            BoundPredicate::Literal { op, literal, .. } if *op == wanted.0 => {
                Some(Projected::one(*op, self.transform_literal(literal)?))
            }
            BoundPredicate::Set { op, literals, .. } if *op == wanted.1 => {
                self.transform_set(*op, literals)
            }
            _ => None,
        }
    }

    /// Projection for an order-preserving transform (`truncate` of numbers and
    /// binaries, the time transforms). With `discrete`, the source type has a
    /// successor function and open bounds are first closed (`x < 5` is `x <= 4`), as
    /// Java's `truncateInteger` / `truncateLong` / `truncateDecimal`; otherwise
    /// Java's `truncateArray`.
    fn project_ordered(
        self,
        pred: &BoundPredicate,
        strict: bool,
        discrete: bool,
    ) -> Option<Projected> {
        match pred {
            BoundPredicate::Literal { op, literal, .. } => {
                let (new_op, boundary) = match (strict, discrete, op) {
                    (false, true, Op::LessThan) => (Op::LessThanOrEq, step(literal, -1)?),
                    (false, _, Op::LessThan | Op::LessThanOrEq) => {
                        (Op::LessThanOrEq, literal.clone())
                    }
                    (false, true, Op::GreaterThan) => (Op::GreaterThanOrEq, step(literal, 1)?),
                    (false, _, Op::GreaterThan | Op::GreaterThanOrEq) => {
                        (Op::GreaterThanOrEq, literal.clone())
                    }
                    (false, _, Op::Eq) => (Op::Eq, literal.clone()),
                    (true, true, Op::LessThanOrEq) => (Op::LessThan, step(literal, 1)?),
                    (true, _, Op::LessThan | Op::LessThanOrEq) => (Op::LessThan, literal.clone()),
                    (true, true, Op::GreaterThanOrEq) => (Op::GreaterThan, step(literal, -1)?),
                    (true, _, Op::GreaterThan | Op::GreaterThanOrEq) => {
                        (Op::GreaterThan, literal.clone())
                    }
                    (true, _, Op::NotEq) => (Op::NotEq, literal.clone()),
                    // Adjacent values share a partition, so no partition predicate
                    // guarantees (strict) `=`, nor rules out (inclusive) `!=`.
                    _ => return None,
                };
                Some(Projected::one(new_op, self.transform_literal(&boundary)?))
            }
            BoundPredicate::Set { op, literals, .. } => match (strict, op) {
                (false, Op::In) | (true, Op::NotIn) => self.transform_set(*op, literals),
                _ => None,
            },
            BoundPredicate::Unary { .. } => None,
        }
    }

    /// `truncate[W]` of a string column, whose width counts code points: prefixes
    /// shorter than the width project as themselves, prefixes of exactly the width as
    /// equality (Java's `TruncateString`).
    fn project_truncate_string(
        self,
        pred: &BoundPredicate,
        width: usize,
        strict: bool,
    ) -> Option<Projected> {
        let BoundPredicate::Literal {
            op: op @ (Op::StartsWith | Op::NotStartsWith),
            literal: literal @ Datum::String(prefix),
            ..
        } = pred
        else {
            return self.project_ordered(pred, strict, false);
        };
        let starts = *op == Op::StartsWith;
        let len = prefix.chars().count();
        if len < width {
            return Some(Projected::one(*op, literal.clone()));
        }
        if len == width {
            let eq = if starts { Op::Eq } else { Op::NotEq };
            return Some(Projected::one(eq, literal.clone()));
        }
        // A prefix longer than the width: only its truncation says something, and only
        // about matching rows (inclusive) for starts-with, and about all rows (strict)
        // for not-starts-with.
        if starts == strict {
            return None;
        }
        Some(Projected::one(*op, self.transform_literal(literal)?))
    }
}

/// `identity`: the predicate itself on the partition field.
fn identity(pred: &BoundPredicate) -> Projected {
    match pred {
        BoundPredicate::Unary { op, .. } => Projected {
            op: *op,
            literals: Vec::new(),
        },
        BoundPredicate::Literal { op, literal, .. } => Projected::one(*op, literal.clone()),
        BoundPredicate::Set { op, literals, .. } => Projected {
            op: *op,
            literals: literals.iter().cloned().collect(),
        },
    }
}

/// The value `delta` units (1 for ints, days, microseconds or nanoseconds, or the
/// last decimal digit) away, if it exists.
fn step(value: &Datum, delta: i8) -> Option<Datum> {
    let d = i64::from(delta);
    Some(match value {
        Datum::Int(v) => Datum::Int(v.checked_add(i32::from(delta))?),
        Datum::Date(v) => Datum::Date(v.checked_add(i32::from(delta))?),
        Datum::Long(v) => Datum::Long(v.checked_add(d)?),
        Datum::Timestamp(v) => Datum::Timestamp(v.checked_add(d)?),
        Datum::Timestamptz(v) => Datum::Timestamptz(v.checked_add(d)?),
        Datum::TimestampNs(v) => Datum::TimestampNs(v.checked_add(d)?),
        Datum::TimestamptzNs(v) => Datum::TimestamptzNs(v.checked_add(d)?),
        Datum::Decimal {
            unscaled,
            precision,
            scale,
        } => Datum::Decimal {
            unscaled: unscaled.checked_add(i128::from(delta))?,
            precision: *precision,
            scale: *scale,
        },
        _ => return None,
    })
}

/// The integer value of a time-transform result (`int`, or `date` for `day`).
fn time_value(d: &Datum) -> Option<i32> {
    match d {
        Datum::Int(v) | Datum::Date(v) => Some(*v),
        _ => None,
    }
}

/// Adds, for every negative value, the value one unit higher (what Iceberg 0.10 and
/// earlier wrote for pre-epoch values).
fn with_buggy_values(literals: &[Datum]) -> Option<Vec<Datum>> {
    let mut out: BTreeSet<Datum> = literals.iter().cloned().collect();
    for l in literals {
        if time_value(l)? < 0 {
            out.insert(step(l, 1)?);
        }
    }
    Some(out.into_iter().collect())
}

/// Java's `ProjectionUtil.fixInclusiveTimeProjection`: widens an inclusive time
/// projection so that it also holds for pre-epoch values written one unit too high.
fn fix_inclusive_time(p: Projected) -> Option<Projected> {
    let first = p.literals.first();
    let negative = first.and_then(time_value).is_some_and(|v| v < 0);
    match p.op {
        Op::LessThan | Op::LessThanOrEq if negative => Some(Projected::one(p.op, step(first?, 1)?)),
        Op::Eq if negative => Some(Projected {
            op: Op::In,
            literals: with_buggy_values(&p.literals)?,
        }),
        Op::In => Some(Projected {
            op: Op::In,
            literals: with_buggy_values(&p.literals)?,
        }),
        Op::NotEq | Op::NotIn => None,
        _ => Some(p),
    }
}

/// Java's `ProjectionUtil.fixStrictTimeProjection`: narrows a strict time projection
/// so that it also holds for pre-epoch values written one unit too high.
fn fix_strict_time(p: Projected) -> Option<Projected> {
    let first = p.literals.first().and_then(time_value);
    match p.op {
        Op::LessThan | Op::LessThanOrEq => Some(p),
        Op::GreaterThan | Op::GreaterThanOrEq if first.is_some_and(|v| v <= 0) => {
            Some(Projected::one(p.op, step(p.literals.first()?, 1)?))
        }
        Op::GreaterThan | Op::GreaterThanOrEq => Some(p),
        Op::NotEq if first.is_some_and(|v| v < 0) => Some(Projected {
            op: Op::NotIn,
            literals: with_buggy_values(&p.literals)?,
        }),
        Op::NotEq => Some(p),
        Op::NotIn => Some(Projected {
            op: Op::NotIn,
            literals: with_buggy_values(&p.literals)?,
        }),
        _ => None,
    }
}

/// The inclusive projection of a row filter onto the partition fields of `spec`: an
/// expression over partition field names that is true for the partition of every row
/// matching `row_filter`. `NOT` is pushed down first, the filter is bound to
/// `schema`, and each predicate becomes the AND of its projections through every
/// partition field of its column (`true` when there is none).
pub fn inclusive_projection(
    spec: &PartitionSpec,
    schema: &Schema,
    row_filter: &Expression,
    case_sensitive: bool,
) -> Result<Expression> {
    let bound = row_filter.rewrite_not().bind(schema, case_sensitive)?;
    inclusive_projection_bound(spec, &bound)
}

/// [`inclusive_projection`] of a filter already bound to the table schema.
pub fn inclusive_projection_bound(
    spec: &PartitionSpec,
    row_filter: &BoundExpression,
) -> Result<Expression> {
    project_tree(&row_filter.rewrite_not(), &mut |p| {
        let mut out = Expression::True;
        for part in spec
            .fields
            .iter()
            .filter(|f| f.source_id == p.term().field_id())
        {
            if let Some(q) = part.transform.project(&part.name, p)? {
                out = out.and(q.into());
            }
        }
        Ok(out)
    })
}

/// The strict projection of a row filter onto the partition fields of `spec`: an
/// expression over partition field names that is true only for partitions whose
/// every row matches `row_filter`. `NOT` is pushed down first, the filter is bound to
/// `schema`, and each predicate becomes the OR of its strict projections through
/// every partition field of its column (`false` when there is none).
pub fn strict_projection(
    spec: &PartitionSpec,
    schema: &Schema,
    row_filter: &Expression,
    case_sensitive: bool,
) -> Result<Expression> {
    let bound = row_filter.rewrite_not().bind(schema, case_sensitive)?;
    strict_projection_bound(spec, &bound)
}

/// [`strict_projection`] of a filter already bound to the table schema.
pub fn strict_projection_bound(
    spec: &PartitionSpec,
    row_filter: &BoundExpression,
) -> Result<Expression> {
    project_tree(&row_filter.rewrite_not(), &mut |p| {
        let mut out = Expression::False;
        for part in spec
            .fields
            .iter()
            .filter(|f| f.source_id == p.term().field_id())
        {
            if let Some(q) = part.transform.project_strict(&part.name, p)? {
                out = out.or(q.into());
            }
        }
        Ok(out)
    })
}

/// Rebuilds a `NOT`-free bound tree with each predicate replaced by `leaf(predicate)`.
fn project_tree(
    e: &BoundExpression,
    leaf: &mut dyn FnMut(&BoundPredicate) -> Result<Expression>,
) -> Result<Expression> {
    Ok(match e {
        BoundExpression::True => Expression::True,
        BoundExpression::False => Expression::False,
        BoundExpression::And(l, r) => project_tree(l, leaf)?.and(project_tree(r, leaf)?),
        BoundExpression::Or(l, r) => project_tree(l, leaf)?.or(project_tree(r, leaf)?),
        BoundExpression::Predicate(p) => leaf(p)?,
        BoundExpression::Not(_) => {
            return Err(Error::new(
                ErrorKind::Unexpected,
                format!("projection of `{e}` met a NOT that should have been rewritten"),
            ));
        }
    })
}

/// A row filter projected onto the partition tuples of one spec: decides which data
/// files (by their partition tuple) may hold matching rows.
#[derive(Debug, Clone)]
pub struct PartitionFilter {
    filter: BoundExpression,
    partition_type: StructType,
}

impl PartitionFilter {
    /// The inclusive projection of `row_filter` through `spec`, bound to the spec's
    /// partition type for `schema`.
    pub fn new(
        row_filter: &Expression,
        spec: &PartitionSpec,
        schema: &Schema,
        case_sensitive: bool,
    ) -> Result<Self> {
        let projected = inclusive_projection(spec, schema, row_filter, case_sensitive)?;
        Self::from_projection(&projected, spec, schema)
    }

    /// [`PartitionFilter::new`] for a filter already bound to `schema`.
    pub fn from_bound(
        row_filter: &BoundExpression,
        spec: &PartitionSpec,
        schema: &Schema,
    ) -> Result<Self> {
        let projected = inclusive_projection_bound(spec, row_filter)?;
        Self::from_projection(&projected, spec, schema)
    }

    fn from_projection(
        projected: &Expression,
        spec: &PartitionSpec,
        schema: &Schema,
    ) -> Result<Self> {
        let partition_type = spec.partition_type(schema)?;
        let filter = projected.bind_struct(&partition_type, true)?;
        Ok(Self {
            filter,
            partition_type,
        })
    }

    /// Whether a file whose partition tuple (in spec field order) is `partition` may
    /// hold rows matching the row filter.
    pub fn matches(&self, partition: &[Option<Datum>]) -> bool {
        self.filter.eval_tuple(partition)
    }

    /// The projected filter, bound to the partition type.
    pub fn expression(&self) -> &BoundExpression {
        &self.filter
    }

    /// The spec's partition type the filter is bound to.
    pub fn partition_type(&self) -> &StructType {
        &self.partition_type
    }
}

impl ManifestEvaluator {
    /// An evaluator that skips manifests (of files written with `spec`) holding no
    /// row matching `row_filter`: the inclusive projection of the row filter, bound to
    /// the spec's partition type.
    pub fn for_row_filter(
        row_filter: &Expression,
        spec: &PartitionSpec,
        schema: &Schema,
        case_sensitive: bool,
    ) -> Result<Self> {
        let filter = PartitionFilter::new(row_filter, spec, schema, case_sensitive)?;
        Ok(Self::new(filter.expression()))
    }
}

impl BoundPredicate {
    /// The predicate as an unbound one on the bound column's full name, with typed
    /// literals (to send a residual filter over the wire, for example).
    pub fn unbind(&self) -> Result<UnboundPredicate> {
        let literals = match self {
            BoundPredicate::Unary { .. } => Vec::new(),
            BoundPredicate::Literal { literal, .. } => vec![UnboundLiteral::Typed(literal.clone())],
            BoundPredicate::Set { literals, .. } => literals
                .iter()
                .cloned()
                .map(UnboundLiteral::Typed)
                .collect(),
        };
        UnboundPredicate::new(
            self.op(),
            Term::Reference(Reference::new(self.term().name.clone())),
            literals,
        )
    }
}

impl BoundExpression {
    /// The filter as an unbound expression over the bound columns' full names, with
    /// typed literals; binding it again to the same schema gives an equal filter.
    pub fn unbind(&self) -> Result<Expression> {
        Ok(match self {
            BoundExpression::True => Expression::True,
            BoundExpression::False => Expression::False,
            BoundExpression::And(l, r) => {
                Expression::And(Box::new(l.unbind()?), Box::new(r.unbind()?))
            }
            BoundExpression::Or(l, r) => {
                Expression::Or(Box::new(l.unbind()?), Box::new(r.unbind()?))
            }
            BoundExpression::Not(c) => Expression::Not(Box::new(c.unbind()?)),
            BoundExpression::Predicate(p) => Expression::Predicate(p.unbind()?),
        })
    }
}

#[cfg(test)]
#[allow(clippy::many_single_char_names)]
mod tests {
    use super::*;
    use crate::manifest_list::FieldSummary;
    use crate::partition::PartitionField;
    use crate::types::{NestedField, Type};
    use PrimitiveType as P;
    use serde_json::json;

    fn schema(ty: &P) -> Schema {
        Schema::builder()
            .with_fields(vec![
                NestedField::optional(1, "value", Type::Primitive(ty.clone())),
                NestedField::optional(2, "other", Type::Primitive(P::Long)),
            ])
            .build()
            .unwrap()
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

    /// A single-predicate projection as `op literal` or `op [l1, l2]`, literals as
    /// the transform's human strings (what Java's projection tests compare).
    fn show(t: Transform, e: &Expression) -> String {
        let Expression::Predicate(p) = e else {
            return e.to_string();
        };
        let lits: Vec<String> = p
            .literals()
            .iter()
            .map(|l| match l {
                UnboundLiteral::Typed(d) => t.to_human_string(Some(d)),
                UnboundLiteral::Json(v) => v.to_string(),
            })
            .collect();
        if p.op().is_set() {
            format!("{} [{}]", p.op(), lits.join(", "))
        } else if lits.is_empty() {
            p.op().to_string()
        } else {
            format!("{} {}", p.op(), lits.join(""))
        }
    }

    fn incl(ty: &P, t: Transform, e: &Expression) -> String {
        show(
            t,
            &inclusive_projection(&spec(&[t]), &schema(ty), e, true).unwrap(),
        )
    }

    fn strict(ty: &P, t: Transform, e: &Expression) -> String {
        show(
            t,
            &strict_projection(&spec(&[t]), &schema(ty), e, true).unwrap(),
        )
    }

    /// `value` op `v` for lt, lt-eq, gt, gt-eq, eq, not-eq, then `in (v, w)` and
    /// `not in (v, w)`; `check` compares their projections with `|`-separated
    /// expectations in this order.
    fn preds(v: &Datum, w: &Datum) -> [Expression; 8] {
        let r = Reference::new("value");
        [
            r.less_than(v.clone()),
            r.less_than_or_eq(v.clone()),
            r.greater_than(v.clone()),
            r.greater_than_or_eq(v.clone()),
            r.equal_to(v.clone()),
            r.not_equal_to(v.clone()),
            r.is_in([v.clone(), w.clone()]),
            r.is_not_in([v.clone(), w.clone()]),
        ]
    }

    fn check(ty: &P, t: Transform, v: &Datum, w: &Datum, inclusive: &str, strict_expected: &str) {
        let inclusive: Vec<&str> = inclusive.split(" | ").collect();
        let strict_expected: Vec<&str> = strict_expected.split(" | ").collect();
        assert_eq!((inclusive.len(), strict_expected.len()), (8, 8));
        for (i, e) in preds(v, w).iter().enumerate() {
            assert_eq!(incl(ty, t, e), inclusive[i], "inclusive {t} of {e}");
            assert_eq!(strict(ty, t, e), strict_expected[i], "strict {t} of {e}");
        }
    }

    fn date(s: &str) -> Datum {
        Datum::from_json(&json!(s), &P::Date).unwrap()
    }

    fn ts(s: &str) -> Datum {
        Datum::from_json(&json!(s), &P::Timestamp).unwrap()
    }

    fn dec(unscaled: i128) -> Datum {
        Datum::Decimal {
            unscaled,
            precision: 9,
            scale: 2,
        }
    }

    #[test]
    fn identity_keeps_every_predicate() {
        let t = Transform::Identity;
        check(
            &P::Int,
            t,
            &Datum::Int(5),
            &Datum::Int(7),
            "lt 5 | lt-eq 5 | gt 5 | gt-eq 5 | eq 5 | not-eq 5 | in [5, 7] | not-in [5, 7]",
            "lt 5 | lt-eq 5 | gt 5 | gt-eq 5 | eq 5 | not-eq 5 | in [5, 7] | not-in [5, 7]",
        );
        let r = Reference::new("value");
        for e in [r.is_null(), r.not_null()] {
            let expected = if e == r.is_null() {
                "is-null"
            } else {
                "not-null"
            };
            assert_eq!(incl(&P::Int, t, &e), expected);
            assert_eq!(strict(&P::Int, t, &e), expected);
        }
        for e in [r.starts_with("ab"), r.not_starts_with("ab")] {
            let s = incl(&P::String, t, &e);
            assert_eq!(s, strict(&P::String, t, &e));
            assert!(s.ends_with("starts-with ab"), "{s}");
        }
        assert_eq!(incl(&P::Double, t, &r.is_nan()), "is-nan");
        assert_eq!(strict(&P::Double, t, &r.not_nan()), "not-nan");
    }

    #[test]
    fn bucket_projects_only_equality_inclusively_and_inequality_strictly() {
        let t = Transform::Bucket(10);
        // Bucket numbers from Java's TestBucketingProjection.
        for ty in [P::Int, P::Long] {
            let (v, w) = match ty {
                P::Int => (Datum::Int(100), Datum::Int(99)),
                _ => (Datum::Long(100), Datum::Long(99)),
            };
            check(
                &ty,
                t,
                &v,
                &w,
                "true | true | true | true | eq 6 | true | in [6, 7] | true",
                "false | false | false | false | false | not-eq 6 | false | not-in [6, 7]",
            );
        }
        let ty = P::Decimal {
            precision: 9,
            scale: 2,
        };
        check(
            &ty,
            t,
            &dec(10_000),
            &dec(10_100),
            "true | true | true | true | eq 2 | true | in [2] | true",
            "false | false | false | false | false | not-eq 2 | false | not-in [2]",
        );
        let s = |x: &str| Datum::String(x.into());
        check(
            &P::String,
            t,
            &s("abcdefg"),
            &s("abcdefgabc"),
            "true | true | true | true | eq 4 | true | in [4, 9] | true",
            "false | false | false | false | false | not-eq 4 | false | not-in [4, 9]",
        );
        let b = |x: &str| Datum::Binary(x.as_bytes().to_vec());
        check(
            &P::Binary,
            t,
            &b("abcdefg"),
            &b("abcdehij"),
            "true | true | true | true | eq 4 | true | in [4, 6] | true",
            "false | false | false | false | false | not-eq 4 | false | not-in [4, 6]",
        );
        let u = |a, b| Datum::Uuid(uuid::Uuid::from_u64_pair(a, b));
        let r = Reference::new("value");
        let three = [99, 100, 101].map(Datum::Int);
        assert_eq!(incl(&P::Int, t, &r.is_in(three.clone())), "in [6, 7, 8]");
        assert_eq!(strict(&P::Int, t, &r.is_not_in(three)), "not-in [6, 7, 8]");
        assert_eq!(incl(&P::Uuid, t, &r.equal_to(u(123, 456))), "eq 4");
        assert_eq!(
            strict(&P::Uuid, t, &r.is_not_in([u(123, 456), u(456, 123)])),
            "not-in [4, 6]"
        );
        assert_eq!(incl(&P::Int, t, &r.is_null()), "is-null");
        assert_eq!(strict(&P::Int, t, &r.not_null()), "not-null");
    }

    #[test]
    fn truncate_integers_close_open_bounds() {
        let t = Transform::Truncate(10);
        for ty in [P::Int, P::Long] {
            let d = |v: i32| match ty {
                P::Int => Datum::Int(v),
                _ => Datum::Long(i64::from(v)),
            };
            check(
                &ty,
                t,
                &d(100),
                &d(99),
                "lt-eq 90 | lt-eq 100 | gt-eq 100 | gt-eq 100 | eq 100 | true | in [90, 100] | true",
                "lt 100 | lt 100 | gt 100 | gt 90 | false | not-eq 100 | false | not-in [90, 100]",
            );
            check(
                &ty,
                t,
                &d(99),
                &d(100),
                "lt-eq 90 | lt-eq 90 | gt-eq 100 | gt-eq 90 | eq 90 | true | in [90, 100] | true",
                "lt 90 | lt 100 | gt 90 | gt 90 | false | not-eq 90 | false | not-in [90, 100]",
            );
            // Below zero truncation rounds toward negative infinity.
            check(
                &ty,
                t,
                &d(-1),
                &d(-10),
                "lt-eq -10 | lt-eq -10 | gt-eq 0 | gt-eq -10 | eq -10 | true | in [-10] | true",
                "lt -10 | lt 0 | gt -10 | gt -10 | false | not-eq -10 | false | not-in [-10]",
            );
        }
    }

    #[test]
    fn truncate_decimals_step_by_the_last_digit() {
        let ty = P::Decimal {
            precision: 9,
            scale: 2,
        };
        let t = Transform::Truncate(10);
        check(
            &ty,
            t,
            &dec(10_000),
            &dec(9_999),
            "lt-eq 99.90 | lt-eq 100.00 | gt-eq 100.00 | gt-eq 100.00 | eq 100.00 | true | in [99.90, 100.00] | true",
            "lt 100.00 | lt 100.00 | gt 100.00 | gt 99.90 | false | not-eq 100.00 | false | not-in [99.90, 100.00]",
        );
        check(
            &ty,
            t,
            &dec(9_999),
            &dec(10_000),
            "lt-eq 99.90 | lt-eq 99.90 | gt-eq 100.00 | gt-eq 99.90 | eq 99.90 | true | in [99.90, 100.00] | true",
            "lt 99.90 | lt 100.00 | gt 99.90 | gt 99.90 | false | not-eq 99.90 | false | not-in [99.90, 100.00]",
        );
    }

    #[test]
    fn truncate_strings_and_binaries() {
        let t = Transform::Truncate(5);
        let s = |x: &str| Datum::String(x.into());
        check(
            &P::String,
            t,
            &s("abcdefg"),
            &s("abcdefgabc"),
            "lt-eq abcde | lt-eq abcde | gt-eq abcde | gt-eq abcde | eq abcde | true | in [abcde] | true",
            "lt abcde | lt abcde | gt abcde | gt abcde | false | not-eq abcde | false | not-in [abcde]",
        );
        let b = |x: &str| Datum::Binary(x.as_bytes().to_vec());
        // "abcde" in base64.
        check(
            &P::Binary,
            t,
            &b("abcdefg"),
            &b("abcdehij"),
            "lt-eq YWJjZGU= | lt-eq YWJjZGU= | gt-eq YWJjZGU= | gt-eq YWJjZGU= | eq YWJjZGU= | true | in [YWJjZGU=] | true",
            "lt YWJjZGU= | lt YWJjZGU= | gt YWJjZGU= | gt YWJjZGU= | false | not-eq YWJjZGU= | false | not-in [YWJjZGU=]",
        );
    }

    #[test]
    fn truncate_string_prefixes() {
        let t = Transform::Truncate(5);
        let r = Reference::new("value");
        let cases = [
            // (predicate, inclusive, strict)
            (r.starts_with("ab"), "starts-with ab", "starts-with ab"),
            (r.starts_with("abcde"), "eq abcde", "eq abcde"),
            (r.starts_with("abcdef"), "starts-with abcde", "false"),
            (
                r.not_starts_with("ab"),
                "not-starts-with ab",
                "not-starts-with ab",
            ),
            (r.not_starts_with("abcde"), "not-eq abcde", "not-eq abcde"),
            (r.not_starts_with("abcdef"), "true", "not-starts-with abcde"),
        ];
        for (e, i, s) in cases {
            assert_eq!(incl(&P::String, t, &e), i, "inclusive {e}");
            assert_eq!(strict(&P::String, t, &e), s, "strict {e}");
        }
        // The width counts code points, not bytes or UTF-16 units.
        let t = Transform::Truncate(2);
        assert_eq!(incl(&P::String, t, &r.starts_with("é€")), "eq é€");
        assert_eq!(incl(&P::String, t, &r.starts_with("é€x")), "starts-with é€");
        assert_eq!(incl(&P::String, t, &r.starts_with("😀")), "starts-with 😀");
        assert_eq!(
            strict(&P::String, t, &r.not_starts_with("😀ab")),
            "not-starts-with 😀a"
        );
    }

    #[test]
    fn month_of_dates_around_the_epoch() {
        let t = Transform::Month;
        // Java TestDatesProjection: testMonth{Strict,Inclusive}Epoch.
        check(
            &P::Date,
            t,
            &date("1970-01-01"),
            &date("1969-12-31"),
            "lt-eq 1970-01 | lt-eq 1970-01 | gt-eq 1970-01 | gt-eq 1970-01 | eq 1970-01 | true | in [1969-12, 1970-01] | true",
            "lt 1970-01 | lt 1970-01 | gt 1970-02 | gt 1970-01 | false | not-eq 1970-01 | false | not-in [1969-12, 1970-01]",
        );
        // testNegativeMonth{Strict,Inclusive}LowerBound.
        check(
            &P::Date,
            t,
            &date("1969-01-01"),
            &date("1969-12-31"),
            "lt-eq 1969-01 | lt-eq 1969-02 | gt-eq 1969-01 | gt-eq 1969-01 | in [1969-01, 1969-02] | true | in [1969-01, 1969-02, 1969-12, 1970-01] | true",
            "lt 1969-01 | lt 1969-01 | gt 1969-02 | gt 1969-01 | false | not-in [1969-01, 1969-02] | false | not-in [1969-01, 1969-02, 1969-12, 1970-01]",
        );
        // testMonthStrictUpperBound / testMonthInclusiveUpperBound.
        check(
            &P::Date,
            t,
            &date("2017-12-31"),
            &date("2017-01-01"),
            "lt-eq 2017-12 | lt-eq 2017-12 | gt-eq 2018-01 | gt-eq 2017-12 | eq 2017-12 | true | in [2017-01, 2017-12] | true",
            "lt 2017-12 | lt 2018-01 | gt 2017-12 | gt 2017-12 | false | not-eq 2017-12 | false | not-in [2017-01, 2017-12]",
        );
    }

    #[test]
    fn year_and_day_of_dates() {
        check(
            &P::Date,
            Transform::Year,
            &date("2017-01-01"),
            &date("2016-12-31"),
            "lt-eq 2016 | lt-eq 2017 | gt-eq 2017 | gt-eq 2017 | eq 2017 | true | in [2016, 2017] | true",
            "lt 2017 | lt 2017 | gt 2017 | gt 2016 | false | not-eq 2017 | false | not-in [2016, 2017]",
        );
        check(
            &P::Date,
            Transform::Year,
            &date("1969-12-31"),
            &date("1970-01-01"),
            "lt-eq 1970 | lt-eq 1970 | gt-eq 1970 | gt-eq 1969 | in [1969, 1970] | true | in [1969, 1970] | true",
            "lt 1969 | lt 1970 | gt 1970 | gt 1970 | false | not-in [1969, 1970] | false | not-in [1969, 1970]",
        );
        // `day` of a date is the date: no pre-epoch fix-up.
        check(
            &P::Date,
            Transform::Day,
            &date("1969-12-31"),
            &date("1969-12-30"),
            "lt-eq 1969-12-30 | lt-eq 1969-12-31 | gt-eq 1970-01-01 | gt-eq 1969-12-31 | eq 1969-12-31 | true | in [1969-12-30, 1969-12-31] | true",
            "lt 1969-12-31 | lt 1970-01-01 | gt 1969-12-31 | gt 1969-12-30 | false | not-eq 1969-12-31 | false | not-in [1969-12-30, 1969-12-31]",
        );
    }

    #[test]
    fn day_month_hour_of_timestamps_before_the_epoch() {
        // Java TestTimestampsProjection: testNegativeDay{Strict,Inclusive}UpperBound.
        check(
            &P::Timestamp,
            Transform::Day,
            &ts("1969-12-31T23:59:59.999999"),
            &ts("1970-01-01T00:00:00"),
            "lt-eq 1970-01-01 | lt-eq 1970-01-01 | gt-eq 1970-01-01 | gt-eq 1969-12-31 | in [1969-12-31, 1970-01-01] | true | in [1969-12-31, 1970-01-01] | true",
            "lt 1969-12-31 | lt 1970-01-01 | gt 1970-01-01 | gt 1970-01-01 | false | not-in [1969-12-31, 1970-01-01] | false | not-in [1969-12-31, 1970-01-01]",
        );
        // testNegativeDay{Strict,Inclusive}LowerBound.
        check(
            &P::Timestamp,
            Transform::Day,
            &ts("1969-01-01T00:00:00"),
            &ts("1969-01-02T00:00:00"),
            "lt-eq 1969-01-01 | lt-eq 1969-01-02 | gt-eq 1969-01-01 | gt-eq 1969-01-01 | in [1969-01-01, 1969-01-02] | true | in [1969-01-01, 1969-01-02, 1969-01-03] | true",
            "lt 1969-01-01 | lt 1969-01-01 | gt 1969-01-02 | gt 1969-01-01 | false | not-in [1969-01-01, 1969-01-02] | false | not-in [1969-01-01, 1969-01-02, 1969-01-03]",
        );
        // testNegativeMonthInclusiveUpperBound and its strict twin.
        check(
            &P::Timestamp,
            Transform::Month,
            &ts("1969-12-31T23:59:59.999999"),
            &ts("1970-01-01T00:00:00"),
            "lt-eq 1970-01 | lt-eq 1970-01 | gt-eq 1970-01 | gt-eq 1969-12 | in [1969-12, 1970-01] | true | in [1969-12, 1970-01] | true",
            "lt 1969-12 | lt 1970-01 | gt 1970-01 | gt 1970-01 | false | not-in [1969-12, 1970-01] | false | not-in [1969-12, 1970-01]",
        );
        check(
            &P::Timestamptz,
            Transform::Hour,
            &Datum::Timestamptz(0),
            &Datum::Timestamptz(-1),
            "lt-eq 1970-01-01-00 | lt-eq 1970-01-01-00 | gt-eq 1970-01-01-00 | gt-eq 1970-01-01-00 | eq 1970-01-01-00 | true | in [1969-12-31-23, 1970-01-01-00] | true",
            "lt 1970-01-01-00 | lt 1970-01-01-00 | gt 1970-01-01-01 | gt 1970-01-01-00 | false | not-eq 1970-01-01-00 | false | not-in [1969-12-31-23, 1970-01-01-00]",
        );
    }

    #[test]
    fn timestamps_after_the_epoch_and_nanoseconds() {
        // testDay{Strict,Inclusive}LowerBound and testYearStrictLowerBound.
        check(
            &P::Timestamp,
            Transform::Day,
            &ts("2017-12-01T00:00:00"),
            &ts("2017-12-02T00:00:00"),
            "lt-eq 2017-11-30 | lt-eq 2017-12-01 | gt-eq 2017-12-01 | gt-eq 2017-12-01 | eq 2017-12-01 | true | in [2017-12-01, 2017-12-02] | true",
            "lt 2017-12-01 | lt 2017-12-01 | gt 2017-12-01 | gt 2017-11-30 | false | not-eq 2017-12-01 | false | not-in [2017-12-01, 2017-12-02]",
        );
        check(
            &P::Timestamp,
            Transform::Year,
            &ts("2017-01-01T00:00:00"),
            &ts("2016-12-02T00:00:00"),
            "lt-eq 2016 | lt-eq 2017 | gt-eq 2017 | gt-eq 2017 | eq 2017 | true | in [2016, 2017] | true",
            "lt 2017 | lt 2017 | gt 2017 | gt 2016 | false | not-eq 2017 | false | not-in [2016, 2017]",
        );
        // Nanosecond timestamps step by one nanosecond.
        let day_ns = 86_400_000_000_000;
        let r = Reference::new("value");
        let t = Transform::Day;
        assert_eq!(
            incl(&P::TimestampNs, t, &r.less_than(Datum::TimestampNs(day_ns))),
            "lt-eq 1970-01-01"
        );
        assert_eq!(
            strict(
                &P::TimestampNs,
                t,
                &r.less_than_or_eq(Datum::TimestampNs(day_ns - 1))
            ),
            "lt 1970-01-02"
        );
        assert_eq!(
            incl(
                &P::TimestamptzNs,
                t,
                &r.greater_than(Datum::TimestamptzNs(day_ns - 1))
            ),
            "gt-eq 1970-01-02"
        );
    }

    #[test]
    fn void_and_unpartitioned_columns_project_to_constants() {
        let r = Reference::new("value");
        for e in [
            r.is_null(),
            r.equal_to(Datum::Int(1)),
            r.not_equal_to(Datum::Int(1)),
        ] {
            assert_eq!(incl(&P::Int, Transform::Void, &e), "true");
            assert_eq!(strict(&P::Int, Transform::Void, &e), "false");
        }
        let other = Reference::new("other").equal_to(Datum::Long(1));
        assert_eq!(incl(&P::Int, Transform::Identity, &other), "true");
        assert_eq!(strict(&P::Int, Transform::Identity, &other), "false");
    }

    #[test]
    fn projections_follow_the_expression_tree() {
        let ty = P::Long;
        let t = Transform::Truncate(10);
        let s = spec(&[t]);
        let r = Reference::new("value");
        let o = Reference::new("other");
        let e = r
            .greater_than_or_eq(Datum::Long(15))
            .and(o.equal_to(Datum::Long(3)))
            .or(r.equal_to(Datum::Long(3)));
        let p = inclusive_projection(&s, &schema(&ty), &e, true).unwrap();
        assert_eq!(p.to_string(), "p0 >= 10 OR p0 = 0");
        let p = strict_projection(&s, &schema(&ty), &e, true).unwrap();
        assert_eq!(p.to_string(), "false");
        // NOT is pushed down before projecting: NOT (value < 15) is value >= 15.
        let e = !r.less_than(Datum::Long(15));
        let p = inclusive_projection(&s, &schema(&ty), &e, true).unwrap();
        assert_eq!(p.to_string(), "p0 >= 10");
        let p = strict_projection(&s, &schema(&ty), &e, true).unwrap();
        assert_eq!(p.to_string(), "p0 > 10");
        // Case-insensitive binding.
        let e = Reference::new("VALUE").less_than(Datum::Long(15));
        assert!(inclusive_projection(&s, &schema(&ty), &e, true).is_err());
        let p = inclusive_projection(&s, &schema(&ty), &e, false).unwrap();
        assert_eq!(p.to_string(), "p0 <= 10");
    }

    #[test]
    fn several_fields_of_one_column_combine() {
        let s = spec(&[Transform::Day, Transform::Hour]);
        let sch = schema(&P::Timestamp);
        let r = Reference::new("value");
        // 2019-01-01 is day 17897, and 01:00 that day hour 17897 * 24 + 1.
        let e = r.greater_than(ts("2019-01-01T01:00:00"));
        let p = strict_projection(&s, &sch, &e, true).unwrap();
        assert_eq!(p.to_string(), "p0 > '2019-01-01' OR p1 > 429529");
        let p = inclusive_projection(&s, &sch, &e, true).unwrap();
        assert_eq!(p.to_string(), "p0 >= '2019-01-01' AND p1 >= 429529");
        // Rows at 03:00 match the hour projection but not the day one.
        let pt = s.partition_type(&sch).unwrap();
        let strict_bound = strict_projection(&s, &sch, &e, true)
            .unwrap()
            .bind_struct(&pt, true)
            .unwrap();
        assert!(strict_bound.eval_tuple(&[Some(Datum::Date(17_897)), Some(Datum::Int(429_531))]));
        assert!(!strict_bound.eval_tuple(&[Some(Datum::Date(17_897)), Some(Datum::Int(429_529))]));
    }

    #[test]
    fn out_of_range_boundaries_do_not_project() {
        let r = Reference::new("value");
        let t = Transform::Truncate(10);
        // No int is below i32::MIN: the inclusive projection gives up (true).
        assert_eq!(incl(&P::Int, t, &r.less_than(Datum::Int(i32::MIN))), "true");
        assert_eq!(
            strict(&P::Int, t, &r.less_than_or_eq(Datum::Int(i32::MAX))),
            "false"
        );
        // Truncating i32::MIN + 1 wraps around in Java's arithmetic: no projection.
        assert_eq!(
            strict(&P::Int, t, &r.less_than(Datum::Int(i32::MIN + 1))),
            "false"
        );
        // The hour of a far-future timestamp does not fit an int.
        assert_eq!(
            incl(
                &P::Timestamp,
                Transform::Hour,
                &r.equal_to(Datum::Timestamp(i64::MAX))
            ),
            "true"
        );
    }

    #[test]
    fn mismatched_transforms_are_errors() {
        let sch = schema(&P::String);
        let b = Reference::new("value")
            .equal_to(Datum::String("x".into()))
            .bind(&sch, true)
            .unwrap();
        let BoundExpression::Predicate(p) = b else {
            panic!("{b:?}")
        };
        let err = Transform::Year.project("p", &p).unwrap_err();
        assert!(err.to_string().contains("year"), "{err}");
        assert!(Transform::Hour.project_strict("p", &p).is_err());
        assert_eq!(Transform::Unknown.project("p", &p).unwrap(), None);
    }

    #[test]
    fn partition_filter_and_manifest_evaluator() {
        let s = spec(&[Transform::Truncate(10)]);
        let sch = schema(&P::Int);
        let e = Reference::new("value").less_than(Datum::Int(25));
        let f = PartitionFilter::new(&e, &s, &sch, true).unwrap();
        assert_eq!(f.expression().to_string(), "p0 <= 20");
        assert_eq!(f.partition_type().len(), 1);
        assert!(f.matches(&[Some(Datum::Int(20))]));
        assert!(f.matches(&[Some(Datum::Int(-10))]));
        assert!(!f.matches(&[Some(Datum::Int(30))]));
        assert!(!f.matches(&[None]));
        let bound = e.bind(&sch, true).unwrap();
        let g = PartitionFilter::from_bound(&bound, &s, &sch).unwrap();
        assert_eq!(g.expression(), f.expression());

        let m = ManifestEvaluator::for_row_filter(&e, &s, &sch, true).unwrap();
        let summary = |lo: i32, hi: i32| FieldSummary {
            contains_null: false,
            contains_nan: None,
            lower_bound: Some(Datum::Int(lo)),
            upper_bound: Some(Datum::Int(hi)),
        };
        assert!(m.eval(&[summary(0, 50)]));
        assert!(m.eval(&[summary(20, 20)]));
        assert!(!m.eval(&[summary(30, 50)]));
        // A filter on an unpartitioned column keeps every manifest.
        let e = Reference::new("other").equal_to(Datum::Long(1));
        let m = ManifestEvaluator::for_row_filter(&e, &s, &sch, true).unwrap();
        assert!(m.eval(&[summary(30, 50)]));
    }

    #[test]
    fn unbind_round_trips() {
        let sch = schema(&P::String);
        let r = Reference::new("value");
        let o = Reference::new("other");
        let e = r
            .starts_with("ab")
            .and(!o.is_in([Datum::Long(1), Datum::Long(2)]))
            .or(r.is_null().and(o.less_than(Datum::Long(4))));
        let b = e.bind(&sch, true).unwrap();
        let u = b.unbind().unwrap();
        assert_eq!(
            u.to_string(),
            "value STARTS WITH 'ab' AND NOT (other IN (1, 2)) OR value IS NULL AND other < 4"
        );
        assert_eq!(u.bind(&sch, true).unwrap(), b);
        // The JSON form of the unbound filter reads back to the same filter.
        let j = Expression::from_json(&u.to_json()).unwrap();
        assert_eq!(j.bind(&sch, true).unwrap(), b);
    }
}
