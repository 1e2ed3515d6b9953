//! The row filter projected through a spec's partition transforms: the partition
//! filter that prunes manifests and files (`floe_spec::expr::PartitionFilter`, an
//! inclusive projection) and the residual each partition's rows must still match
//! (`floe_spec::expr::ResidualEvaluator`).

use floe_spec::expr::{BoundExpression, PartitionFilter, ResidualEvaluator};
use floe_spec::partition::PartitionSpec;
use floe_spec::schema::Schema;
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
    Ok(PartitionFilter::from_bound(filter, spec, schema)?
        .expression()
        .clone())
}

/// Residuals of a row filter for the partitions of one spec.
#[derive(Debug, Clone)]
pub(crate) struct Residuals {
    filter: BoundExpression,
    evaluator: Option<ResidualEvaluator>,
}

impl Residuals {
    /// Residuals of `filter` (bound to `schema`) for partitions of `spec`; when the
    /// spec cannot be projected onto (its source columns are gone), the residual is
    /// the whole filter.
    pub(crate) fn new(filter: &BoundExpression, spec: &PartitionSpec, schema: &Schema) -> Self {
        let evaluator = if spec.is_unpartitioned() {
            None
        } else {
            ResidualEvaluator::from_bound(spec, schema, filter).ok()
        };
        Self {
            filter: filter.clone(),
            evaluator,
        }
    }

    /// The part of the filter rows of `partition` must still be tested against.
    pub(crate) fn residual_for(&self, partition: &[Option<Datum>]) -> BoundExpression {
        match &self.evaluator {
            Some(e) => e.residual_for(partition),
            None => self.filter.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_spec::expr::Reference;
    use floe_spec::partition::PartitionField;
    use floe_spec::transform::Transform;
    use floe_spec::types::{NestedField, PrimitiveType, Type};

    #[test]
    fn projects_through_transforms_and_leaves_residuals() {
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
                    name: "id_trunc".into(),
                    transform: Transform::Truncate(10),
                },
            ],
        };
        let filter = Reference::new("cat")
            .equal_to(Datum::String("a".into()))
            .and(Reference::new("id").less_than(Datum::Long(25)))
            .bind(&schema, true)
            .unwrap();
        let pf = partition_filter(&filter, &spec, &schema).unwrap();
        assert!(pf.eval_tuple(&[Some(Datum::String("a".into())), Some(Datum::Long(20))]));
        assert!(!pf.eval_tuple(&[Some(Datum::String("b".into())), Some(Datum::Long(20))]));
        assert!(!pf.eval_tuple(&[Some(Datum::String("a".into())), Some(Datum::Long(30))]));
        let r = Residuals::new(&filter, &spec, &schema);
        // cat is decided by the partition; id < 25 is decided for truncate bucket 10.
        let res = r.residual_for(&[Some(Datum::String("a".into())), Some(Datum::Long(10))]);
        assert_eq!(res, BoundExpression::True);
        let res = r.residual_for(&[Some(Datum::String("a".into())), Some(Datum::Long(20))]);
        assert_eq!(res.to_string(), "id < 25");
        let unpartitioned = Residuals::new(&filter, &PartitionSpec::unpartitioned(), &schema);
        assert_eq!(unpartitioned.residual_for(&[]), filter);
    }
}
