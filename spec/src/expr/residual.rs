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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::Reference;
    use crate::partition::PartitionField;
    use crate::transform::Transform;
    use crate::types::{NestedField, PrimitiveType as P, Type};
    use serde_json::json;

    fn schema() -> Schema {
        Schema::builder()
            .with_fields(vec![
                NestedField::optional(50, "dateint", Type::Primitive(P::Int)),
                NestedField::optional(51, "hour", Type::Primitive(P::Int)),
                NestedField::optional(52, "ts", Type::Primitive(P::Timestamp)),
                NestedField::optional(53, "category", Type::Primitive(P::String)),
            ])
            .build()
            .unwrap()
    }

    fn spec(source_id: i32, transform: Transform) -> PartitionSpec {
        PartitionSpec {
            spec_id: 0,
            fields: vec![PartitionField {
                source_id,
                field_id: 1000,
                name: "part".into(),
                transform,
            }],
        }
    }

    fn residuals(spec: &PartitionSpec, e: &Expression) -> ResidualEvaluator {
        ResidualEvaluator::new(spec, &schema(), e, true).unwrap()
    }

    /// A partition value of an int partition field.
    #[allow(clippy::unnecessary_wraps)]
    fn int(v: i32) -> Option<Datum> {
        Some(Datum::Int(v))
    }

    #[test]
    fn identity_residuals() {
        // Java TestResiduals.testIdentityTransformResiduals.
        let d = Reference::new("dateint");
        let h = Reference::new("hour");
        let e = d
            .less_than(Datum::Int(20_170_815))
            .and(d.greater_than(Datum::Int(20_170_801)))
            .or(d
                .equal_to(Datum::Int(20_170_815))
                .and(h.less_than(Datum::Int(12))))
            .or(d
                .equal_to(Datum::Int(20_170_801))
                .and(h.greater_than(Datum::Int(11))));
        let r = residuals(&spec(50, Transform::Identity), &e);
        assert_eq!(r.residual_for(&[int(20_170_815)]).to_string(), "hour < 12");
        assert_eq!(r.residual_for(&[int(20_170_801)]).to_string(), "hour > 11");
        assert_eq!(r.residual_for(&[int(20_170_812)]), BoundExpression::True);
        assert_eq!(r.residual_for(&[int(20_170_817)]), BoundExpression::False);

        // Case-insensitive binding resolves the schema's names.
        let e = Reference::new("DATEINT")
            .equal_to(Datum::Int(20_170_815))
            .and(Reference::new("HOUR").less_than(Datum::Int(12)));
        assert!(
            ResidualEvaluator::new(&spec(50, Transform::Identity), &schema(), &e, true).is_err()
        );
        let r =
            ResidualEvaluator::new(&spec(50, Transform::Identity), &schema(), &e, false).unwrap();
        assert_eq!(r.residual_for(&[int(20_170_815)]).to_string(), "hour < 12");
        assert_eq!(r.residual_for(&[int(20_170_816)]), BoundExpression::False);
    }

    #[test]
    fn unpartitioned_keeps_the_filter() {
        let sch = schema();
        let exprs = [
            Expression::True,
            Expression::False,
            Reference::new("dateint").less_than(Datum::Int(5)),
            Reference::new("hour").greater_than_or_eq(Datum::Int(16)),
            Reference::new("ts").not_null(),
            Reference::new("category").is_null(),
            Reference::new("dateint").is_in([1, 2, 3].map(Datum::Int)),
            Reference::new("hour").is_not_in([1, 2, 3].map(Datum::Int)),
            Reference::new("category").starts_with("abcd"),
            Reference::new("category").not_starts_with("abcd"),
        ];
        for e in exprs {
            let r =
                ResidualEvaluator::new(&PartitionSpec::unpartitioned(), &sch, &e, true).unwrap();
            assert_eq!(r.residual_for(&[]), e.bind(&sch, true).unwrap(), "{e}");
        }
    }

    #[test]
    fn in_and_not_in_with_null_partitions() {
        let d = Reference::new("dateint");
        let vals = [20_170_815, 20_170_816, 20_170_817].map(Datum::Int);
        let s = spec(50, Transform::Identity);
        let r = residuals(&s, &d.is_in(vals.clone()));
        assert_eq!(r.residual_for(&[int(20_170_815)]), BoundExpression::True);
        assert_eq!(r.residual_for(&[int(20_180_815)]), BoundExpression::False);
        assert_eq!(r.residual_for(&[None]), BoundExpression::False);
        let r = residuals(&s, &d.is_not_in(vals));
        assert_eq!(r.residual_for(&[int(20_180_815)]), BoundExpression::True);
        assert_eq!(r.residual_for(&[int(20_170_815)]), BoundExpression::False);
        assert_eq!(r.residual_for(&[None]), BoundExpression::True);

        let c = Reference::new("category");
        let s = spec(53, Transform::Identity);
        let abc = ["a", "b", "c"].map(|x| Datum::String(x.into()));
        let text = |x: &str| Some(Datum::String(x.into()));
        let r = residuals(&s, &c.is_in(abc.clone()));
        assert_eq!(r.residual_for(&[text("a")]), BoundExpression::True);
        assert_eq!(r.residual_for(&[text("d")]), BoundExpression::False);
        assert_eq!(r.residual_for(&[None]), BoundExpression::False);
        let r = residuals(&s, &c.is_not_in(abc));
        assert_eq!(r.residual_for(&[text("d")]), BoundExpression::True);
        assert_eq!(r.residual_for(&[text("a")]), BoundExpression::False);
        assert_eq!(r.residual_for(&[None]), BoundExpression::True);
    }

    #[test]
    fn timestamp_in_keeps_the_predicate_for_its_days() {
        // Java TestResiduals.testInTimestamp.
        let ts = |s: &str| Datum::from_json(&json!(s), &P::Timestamp).unwrap();
        let first = ts("2019-12-01T00:00:00");
        let e = Reference::new("ts").is_in([first.clone(), ts("2019-12-02T00:00:00")]);
        let r = residuals(&spec(52, Transform::Day), &e);
        let day = Transform::Day.apply(&first).unwrap();
        assert_eq!(
            r.residual_for(std::slice::from_ref(&day)),
            e.bind(&schema(), true).unwrap()
        );
        let Some(Datum::Date(day)) = day else {
            panic!("{day:?}")
        };
        assert_eq!(
            r.residual_for(&[Some(Datum::Date(day + 3))]),
            BoundExpression::False
        );
    }

    #[test]
    fn truncate_residuals() {
        // Java TestTruncatesResiduals: truncate[10] of an int.
        let v = Reference::new("dateint");
        let s = spec(50, Transform::Truncate(10));
        let cases = [
            // (filter, partition, expected residual)
            (v.less_than(Datum::Int(15)), 0, "true"),
            (v.less_than(Datum::Int(15)), 10, "dateint < 15"),
            (v.less_than(Datum::Int(15)), 20, "false"),
            (v.less_than_or_eq(Datum::Int(19)), 10, "true"),
            (v.greater_than(Datum::Int(15)), 20, "true"),
            (v.greater_than(Datum::Int(15)), 10, "dateint > 15"),
            (v.greater_than(Datum::Int(19)), 10, "false"),
            (v.greater_than_or_eq(Datum::Int(10)), 10, "true"),
            (v.equal_to(Datum::Int(15)), 10, "dateint = 15"),
            (v.equal_to(Datum::Int(15)), 20, "false"),
            (v.not_equal_to(Datum::Int(15)), 20, "true"),
            (v.not_equal_to(Datum::Int(15)), 10, "dateint != 15"),
        ];
        for (e, part, expected) in cases {
            let r = residuals(&s, &e);
            assert_eq!(
                r.residual_for(&[int(part)]).to_string(),
                expected,
                "{e} in {part}"
            );
        }
        // String prefixes.
        let c = Reference::new("category");
        let s = spec(53, Transform::Truncate(2));
        let text = |x: &str| Some(Datum::String(x.into()));
        let r = residuals(&s, &c.starts_with("ab"));
        assert_eq!(r.residual_for(&[text("ab")]), BoundExpression::True);
        assert_eq!(r.residual_for(&[text("ac")]), BoundExpression::False);
        let r = residuals(&s, &c.starts_with("abc"));
        assert_eq!(
            r.residual_for(&[text("ab")]).to_string(),
            "category STARTS WITH 'abc'"
        );
        assert_eq!(r.residual_for(&[text("ac")]), BoundExpression::False);
        let r = residuals(&s, &c.not_starts_with("abc"));
        assert_eq!(r.residual_for(&[text("ac")]), BoundExpression::True);
        assert_eq!(
            r.residual_for(&[text("ab")]).to_string(),
            "category NOT STARTS WITH 'abc'"
        );
    }

    #[test]
    fn not_is_pushed_down_before_deciding() {
        // NOT (dateint < 5) on the null partition: the inner predicate is unknown for
        // every row there, so the residual must be false, not NOT false.
        let e = !Reference::new("dateint").less_than(Datum::Int(5));
        let r = residuals(&spec(50, Transform::Identity), &e);
        assert_eq!(r.residual_for(&[None]), BoundExpression::False);
        assert_eq!(r.residual_for(&[int(7)]), BoundExpression::True);
        assert_eq!(r.residual_for(&[int(3)]), BoundExpression::False);
        // A bound filter with a NOT node works the same.
        let b = e.bind(&schema(), true).unwrap();
        assert!(matches!(b, BoundExpression::Not(_)));
        let r =
            ResidualEvaluator::from_bound(&spec(50, Transform::Identity), &schema(), &b).unwrap();
        assert_eq!(r.residual_for(&[None]), BoundExpression::False);
    }

    #[test]
    fn bucket_and_several_fields() {
        let d = Reference::new("dateint");
        let s = PartitionSpec {
            spec_id: 1,
            fields: vec![
                PartitionField {
                    source_id: 50,
                    field_id: 1000,
                    name: "b".into(),
                    transform: Transform::Bucket(4),
                },
                PartitionField {
                    source_id: 50,
                    field_id: 1001,
                    name: "t".into(),
                    transform: Transform::Truncate(100),
                },
            ],
        };
        let bucket = |v: i32| Transform::Bucket(4).apply(&Datum::Int(v)).unwrap();
        let e = d.equal_to(Datum::Int(150));
        let r = residuals(&s, &e);
        assert_eq!(
            r.residual_for(&[bucket(150), int(100)]).to_string(),
            "dateint = 150"
        );
        // A different bucket or a different truncation rules the partition out.
        let other_bucket = (0..4)
            .map(|b| Some(Datum::Int(b)))
            .find(|b| *b != bucket(150));
        assert_eq!(
            r.residual_for(&[other_bucket.flatten(), int(100)]),
            BoundExpression::False
        );
        assert_eq!(
            r.residual_for(&[bucket(150), int(200)]),
            BoundExpression::False
        );
        // not-eq is decided by either field.
        let r = residuals(&s, &d.not_equal_to(Datum::Int(150)));
        assert_eq!(
            r.residual_for(&[bucket(150), int(200)]),
            BoundExpression::True
        );
        assert_eq!(
            r.residual_for(&[bucket(150), int(100)]).to_string(),
            "dateint != 150"
        );
    }
}
