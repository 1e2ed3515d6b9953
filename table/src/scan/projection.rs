//! Row filter → partition filter and residuals, until the projection through every
//! transform lands in `floe_spec::expr`.
//!
//! For now only `identity` partition fields are projected (the predicate is copied onto
//! the partition field); every other transform projects to `true`, which is always
//! sound for an inclusive projection. The residual is the whole row filter.

use floe_spec::expr::{BoundExpression, Expression, Term, UnboundLiteral, UnboundPredicate};
use floe_spec::expr::{BoundPredicate, Reference};
use floe_spec::partition::PartitionSpec;
use floe_spec::schema::Schema;
use floe_spec::transform::Transform;
use floe_spec::values::Datum;

use crate::error::Result;

/// The inclusive projection of `filter` (bound to `schema`, without `Not` nodes)
/// through `spec`, bound to the spec's partition type.
pub(crate) fn partition_filter(
    filter: &BoundExpression,
    spec: &PartitionSpec,
    schema: &Schema,
) -> Result<BoundExpression> {
    if spec.is_unpartitioned() {
        return Ok(BoundExpression::True);
    }
    let projected = project(filter, spec)?;
    let partition_type = spec.partition_type(schema)?;
    projected.bind_struct(&partition_type, true)
}

fn project(e: &BoundExpression, spec: &PartitionSpec) -> Result<Expression> {
    Ok(match e {
        BoundExpression::True | BoundExpression::Not(_) => Expression::True,
        BoundExpression::False => Expression::False,
        BoundExpression::And(l, r) => project(l, spec)?.and(project(r, spec)?),
        BoundExpression::Or(l, r) => project(l, spec)?.or(project(r, spec)?),
        BoundExpression::Predicate(p) => {
            let mut out = Expression::True;
            for f in spec.fields.iter().filter(|f| {
                f.source_id == p.term().field_id() && f.transform == Transform::Identity
            }) {
                out = out.and(Expression::Predicate(copy_predicate(p, &f.name)?));
            }
            out
        }
    })
}

fn copy_predicate(p: &BoundPredicate, name: &str) -> Result<UnboundPredicate> {
    let literals: Vec<Datum> = match p {
        BoundPredicate::Unary { .. } => Vec::new(),
        BoundPredicate::Literal { literal, .. } => vec![literal.clone()],
        BoundPredicate::Set { literals, .. } => literals.iter().cloned().collect(),
    };
    UnboundPredicate::new(
        p.op(),
        Term::Reference(Reference::new(name)),
        literals.into_iter().map(UnboundLiteral::Typed).collect(),
    )
}

/// The part of `filter` rows of `partition` must still be tested against.
pub(crate) fn residual(
    filter: &BoundExpression,
    _spec: &PartitionSpec,
    _partition: &[Option<Datum>],
) -> BoundExpression {
    filter.clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_spec::partition::PartitionField;
    use floe_spec::types::{NestedField, PrimitiveType, Type};

    #[test]
    fn identity_fields_are_projected_others_are_true() {
        let schema = Schema::builder()
            .with_fields(vec![
                NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
                NestedField::optional(2, "cat", Type::Primitive(PrimitiveType::String)),
            ])
            .build()
            .unwrap();
        let spec = PartitionSpec {
            spec_id: 0,
            fields: vec![
                PartitionField {
                    source_id: 2,
                    field_id: 1000,
                    name: "cat".into(),
                    transform: Transform::Identity,
                },
                PartitionField {
                    source_id: 1,
                    field_id: 1001,
                    name: "id_bucket".into(),
                    transform: Transform::Bucket(4),
                },
            ],
        };
        let filter = Reference::new("cat")
            .equal_to(Datum::String("a".into()))
            .and(Reference::new("id").less_than(Datum::Long(3)))
            .bind(&schema, true)
            .unwrap();
        let pf = partition_filter(&filter, &spec, &schema).unwrap();
        assert!(pf.eval_tuple(&[Some(Datum::String("a".into())), Some(Datum::Int(1))]));
        assert!(!pf.eval_tuple(&[Some(Datum::String("b".into())), Some(Datum::Int(1))]));
    }
}
