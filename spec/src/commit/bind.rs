//! Binding partition specs and sort orders to a schema: the checks a catalog runs before
//! it accepts a spec or an order (Java `PartitionSpec.checkCompatibility`,
//! `UnboundPartitionSpec.bind`, `SortOrder.checkCompatibility`).

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::partition::{
    PARTITION_DATA_ID_START, PartitionField, PartitionSpec, UnboundPartitionField,
    UnboundPartitionSpec,
};
use crate::schema::Schema;
use crate::sort::SortOrder;
use crate::transform::Transform;

/// Checks that `transform` of column `source_id` can be computed for `schema`: the
/// column exists, is primitive, sits only inside structs, and the transform applies to
/// its type. `what` names the partition or sort field in errors.
fn check_source(schema: &Schema, source_id: i32, transform: Transform, what: &str) -> Result<()> {
    let field = schema.field_by_id(source_id).ok_or_else(|| {
        Error::invalid(format!(
            "{what}: source column {source_id} is not in schema {}",
            schema.schema_id()
        ))
    })?;
    let Some(ty) = field.field_type.as_primitive() else {
        return Err(Error::invalid(format!(
            "{what}: source column `{}` ({source_id}) has non-primitive type {}",
            field.name, field.field_type
        )));
    };
    if schema.accessor_by_id(source_id).is_none() {
        return Err(Error::invalid(format!(
            "{what}: source column `{}` ({source_id}) is inside a list or map",
            field.name
        )));
    }
    transform
        .result_type(ty)
        .map_err(|e| Error::invalid(format!("{what}: {}", e.message())))?;
    Ok(())
}

impl PartitionSpec {
    /// Checks every field against `schema` (source column exists, primitive, not in a
    /// list or map, transform applies). `void` fields may name dropped columns.
    pub fn check_compatible(&self, schema: &Schema) -> Result<()> {
        for f in &self.fields {
            if f.transform == Transform::Void {
                continue;
            }
            check_source(
                schema,
                f.source_id,
                f.transform,
                &format!("partition field `{}`", f.name),
            )?;
        }
        Ok(())
    }
}

impl UnboundPartitionSpec {
    /// Binds the spec to `schema`: the spec id is the given one (0 if absent) and
    /// missing field ids are assigned after the highest given one (from 1000).
    pub fn bind(&self, schema: &Schema) -> Result<PartitionSpec> {
        let mut next = self
            .fields
            .iter()
            .filter_map(|f| f.field_id)
            .max()
            .unwrap_or(PARTITION_DATA_ID_START - 1);
        self.bind_with(schema, self.spec_id.unwrap_or(0), |_, _| {
            next += 1;
            next
        })
    }

    /// Binds the spec to `schema` with id `spec_id`, calling `assign_id` with the
    /// position and the field for each field without a field id. Checks: source columns exist and the transforms apply to
    /// them; names are non-empty, unique, and do not clash with a schema column unless
    /// the field is the identity (or void) of that column; field ids are unique.
    pub fn bind_with(
        &self,
        schema: &Schema,
        spec_id: i32,
        mut assign_id: impl FnMut(usize, &UnboundPartitionField) -> i32,
    ) -> Result<PartitionSpec> {
        let mut names = HashSet::new();
        let mut ids = HashSet::new();
        let mut fields = Vec::with_capacity(self.fields.len());
        for (i, f) in self.fields.iter().enumerate() {
            let what = format!("partition field `{}`", f.name);
            if f.name.is_empty() {
                return Err(Error::invalid(format!(
                    "partition field of source column {} has an empty name",
                    f.source_id
                )));
            }
            if !names.insert(f.name.as_str()) {
                return Err(Error::invalid(format!(
                    "partition name `{}` is used more than once",
                    f.name
                )));
            }
            if f.transform != Transform::Void {
                check_source(schema, f.source_id, f.transform, &what)?;
            }
            if let Some(col) = schema.field_by_name(&f.name) {
                let same_column = col.id == f.source_id
                    && matches!(f.transform, Transform::Identity | Transform::Void);
                let source_dropped = schema.field_by_id(f.source_id).is_none();
                if !same_column && !source_dropped {
                    return Err(Error::invalid(format!(
                        "{what} ({} of column {}) clashes with schema column `{}` ({}); only \
                         an identity partition may take the name of its source column",
                        f.transform, f.source_id, f.name, col.id
                    )));
                }
            }
            let field_id = match f.field_id {
                Some(id) => id,
                None => assign_id(i, f),
            };
            if field_id < PARTITION_DATA_ID_START {
                return Err(Error::invalid(format!(
                    "{what}: field id {field_id} is below {PARTITION_DATA_ID_START}"
                )));
            }
            if !ids.insert(field_id) {
                return Err(Error::invalid(format!(
                    "{what}: field id {field_id} is used more than once in the spec"
                )));
            }
            fields.push(PartitionField {
                source_id: f.source_id,
                field_id,
                name: f.name.clone(),
                transform: f.transform,
            });
        }
        Ok(PartitionSpec { spec_id, fields })
    }
}

impl SortOrder {
    /// Checks every field against `schema` (source column exists, primitive, not in a
    /// list or map, transform applies).
    pub fn check_compatible(&self, schema: &Schema) -> Result<()> {
        for (i, f) in self.fields.iter().enumerate() {
            check_source(
                schema,
                f.source_id,
                f.transform,
                &format!("sort field {i} ({} of column {})", f.transform, f.source_id),
            )?;
        }
        Ok(())
    }

    /// Binds the order to `schema` with id `order_id` (always 0 for the unsorted order,
    /// and never 0 for a sorted one), after [`SortOrder::check_compatible`].
    pub fn bind(&self, schema: &Schema, order_id: i64) -> Result<SortOrder> {
        self.check_compatible(schema)?;
        if self.is_unsorted() {
            return Ok(SortOrder::unsorted());
        }
        if order_id == SortOrder::UNSORTED_ORDER_ID {
            return Err(Error::invalid(
                "sort order id 0 is reserved for the unsorted order",
            ));
        }
        Ok(SortOrder {
            order_id,
            fields: self.fields.clone(),
        })
    }
}
