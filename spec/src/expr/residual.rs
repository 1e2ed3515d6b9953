//! Residual filters: what a reader must still check on the rows of one partition, as
//! Java's `ResidualEvaluator`.
//!
//! For each predicate of the row filter and each partition field of its column: if
//! the strict projection is true for the partition, every row of the partition
//! matches the predicate, which becomes `true`; if the inclusive projection is false,
//! no row matches and it becomes `false`; otherwise the predicate stays. `NOT` is
//! pushed down to the predicates first, so that replacing a predicate that is unknown
//! (SQL null) for some rows by `false` cannot turn into `true` under a `NOT`.
//!
//! ```
//! use floe_spec::expr::{Reference, ResidualEvaluator};
//! use floe_spec::partition::{PartitionField, PartitionSpec};
//! use floe_spec::schema::Schema;
//! use floe_spec::transform::Transform;
//! use floe_spec::types::{NestedField, PrimitiveType, Type};
//! use floe_spec::values::Datum;
//!
//! let schema = Schema::builder()
//!     .with_fields(vec![
//!         NestedField::required(1, "ts", Type::Primitive(PrimitiveType::Date)),
//!         NestedField::required(2, "id", Type::Primitive(PrimitiveType::Long)),
//!     ])
//!     .build()
//!     .unwrap();
//! let spec = PartitionSpec {
//!     spec_id: 0,
//!     fields: vec![PartitionField {
//!         source_id: 1,
//!         field_id: 1000,
//!         name: "ts_day".into(),
//!         transform: Transform::Day,
//!     }],
//! };
//! let filter = Reference::new("ts")
//!     .greater_than(Datum::Date(100))
//!     .and(Reference::new("id").less_than(Datum::Long(7)));
//! let residuals = ResidualEvaluator::new(&spec, &schema, &filter, true).unwrap();
//! // Every row of day 200 is after day 100: only the `id` predicate is left.
//! assert_eq!(residuals.residual_for(&[Some(Datum::Date(200))]).to_string(), "id < 7");
//! // No row of day 50 matches.
//! assert!(residuals.residual_for(&[Some(Datum::Date(50))]).to_string() == "false");
//! ```

use crate::error::Result;
use crate::partition::PartitionSpec;
use crate::schema::Schema;
use crate::values::Datum;

use super::{BoundExpression, BoundPredicate, Expression};

/// The projections of one predicate through one partition field, bound to the
/// partition type (`None` where the transform has none).
#[derive(Debug, Clone)]
struct FieldCheck {
    strict: Option<BoundExpression>,
    inclusive: Option<BoundExpression>,
}

/// The row filter with, at each predicate, its projections through the partition
/// fields of its column.
#[derive(Debug, Clone)]
enum Node {
    True,
    False,
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Leaf(BoundPredicate, Vec<FieldCheck>),
}

/// Computes, for a partition tuple of one spec, the residual of a row filter: the
/// filter with every predicate that is decided by the partition replaced by `true`
/// or `false`.
#[derive(Debug, Clone)]
pub struct ResidualEvaluator {
    root: Node,
}

impl ResidualEvaluator {
    /// An evaluator for `row_filter` (over the columns of `schema`) and partitions of
    /// `spec`.
    pub fn new(
        spec: &PartitionSpec,
        schema: &Schema,
        row_filter: &Expression,
        case_sensitive: bool,
    ) -> Result<Self> {
        let bound = row_filter.rewrite_not().bind(schema, case_sensitive)?;
        Self::from_bound(spec, schema, &bound)
    }

    /// [`ResidualEvaluator::new`] for a filter already bound to `schema`.
    pub fn from_bound(
        spec: &PartitionSpec,
        schema: &Schema,
        row_filter: &BoundExpression,
    ) -> Result<Self> {
        let partition_type = spec.partition_type(schema)?;
        let bind = |p: Option<super::UnboundPredicate>| -> Result<Option<BoundExpression>> {
            p.map(|p| Expression::Predicate(p).bind_struct(&partition_type, true))
                .transpose()
        };
        let mut leaf = |p: &BoundPredicate| -> Result<Node> {
            let mut checks = Vec::new();
            for part in spec
                .fields
                .iter()
                .filter(|f| f.source_id == p.term().field_id())
            {
                checks.push(FieldCheck {
                    strict: bind(part.transform.project_strict(&part.name, p)?)?,
                    inclusive: bind(part.transform.project(&part.name, p)?)?,
                });
            }
            Ok(Node::Leaf(p.clone(), checks))
        };
        Ok(Self {
            root: build(&row_filter.rewrite_not(), &mut leaf)?,
        })
    }

    /// The residual filter for the rows of the partition `partition` (the partition
    /// tuple, in spec field order), bound to the table schema: a row of that
    /// partition matches the row filter exactly when it matches the residual.
    pub fn residual_for(&self, partition: &[Option<Datum>]) -> BoundExpression {
        residual(&self.root, partition)
    }
}

fn build(
    e: &BoundExpression,
    leaf: &mut dyn FnMut(&BoundPredicate) -> Result<Node>,
) -> Result<Node> {
    Ok(match e {
        BoundExpression::True => Node::True,
        BoundExpression::False => Node::False,
        BoundExpression::And(l, r) => {
            Node::And(Box::new(build(l, leaf)?), Box::new(build(r, leaf)?))
        }
        BoundExpression::Or(l, r) => Node::Or(Box::new(build(l, leaf)?), Box::new(build(r, leaf)?)),
        BoundExpression::Predicate(p) => leaf(p)?,
        // `e` has had its NOTs rewritten; keep this total anyway.
        BoundExpression::Not(c) => build(&c.negate(), leaf)?,
    })
}

fn residual(node: &Node, partition: &[Option<Datum>]) -> BoundExpression {
    match node {
        Node::True => BoundExpression::True,
        Node::False => BoundExpression::False,
        Node::And(l, r) => residual(l, partition).and(residual(r, partition)),
        Node::Or(l, r) => residual(l, partition).or(residual(r, partition)),
        Node::Leaf(p, checks) => {
            for check in checks {
                if check
                    .strict
                    .as_ref()
                    .is_some_and(|s| s.eval_tuple(partition))
                {
                    return BoundExpression::True;
                }
                if check
                    .inclusive
                    .as_ref()
                    .is_some_and(|i| !i.eval_tuple(partition))
                {
                    return BoundExpression::False;
                }
            }
            BoundExpression::Predicate(p.clone())
        }
    }
}
