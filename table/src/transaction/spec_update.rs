//! Partition spec evolution (Java `UpdatePartitionSpec`, v2 rules): add, remove and
//! rename partition fields; the result is `add-spec` + `set-default-spec`.
//!
//! Kept fields keep their field ids; new fields get ids from `last-partition-id + 1`
//! (a field re-added with the same source and transform as a field of an older spec
//! reuses that field's id, as Java does). Default names follow Java:
//! `col`, `col_bucket_N`, `col_trunc_W`, `col_year`, `col_month`, `col_day`,
//! `col_hour`.

use floe_spec::commit::{LAST_ADDED, TableMetadataBuilder};
use floe_spec::partition::{UnboundPartitionField, UnboundPartitionSpec};
use floe_spec::transform::Transform;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum SpecOp {
    Add {
        column: String,
        transform: Transform,
        name: Option<String>,
    },
    Remove(String),
    Rename(String, String),
}

/// Changes to the default partition spec, applied in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpecUpdate {
    ops: Vec<SpecOp>,
}

fn default_name(column: &str, transform: Transform) -> String {
    match transform {
        Transform::Identity => column.to_string(),
        Transform::Bucket(n) => format!("{column}_bucket_{n}"),
        Transform::Truncate(w) => format!("{column}_trunc_{w}"),
        Transform::Year => format!("{column}_year"),
        Transform::Month => format!("{column}_month"),
        Transform::Day => format!("{column}_day"),
        Transform::Hour => format!("{column}_hour"),
        Transform::Void => format!("{column}_null"),
        Transform::Unknown => format!("{column}_unknown"),
    }
}

impl SpecUpdate {
    /// An empty update.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a partition field on `column` (a full dotted name) with `transform`, named
    /// by default.
    #[must_use]
    pub fn add_field(mut self, column: impl Into<String>, transform: Transform) -> Self {
        self.ops.push(SpecOp::Add {
            column: column.into(),
            transform,
            name: None,
        });
        self
    }

    /// Adds a named partition field.
    #[must_use]
    pub fn add_named_field(
        mut self,
        name: impl Into<String>,
        column: impl Into<String>,
        transform: Transform,
    ) -> Self {
        self.ops.push(SpecOp::Add {
            column: column.into(),
            transform,
            name: Some(name.into()),
        });
        self
    }

    /// Removes the partition field `name`.
    #[must_use]
    pub fn remove_field(mut self, name: impl Into<String>) -> Self {
        self.ops.push(SpecOp::Remove(name.into()));
        self
    }

    /// Renames partition field `from` to `to`.
    #[must_use]
    pub fn rename_field(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.ops.push(SpecOp::Rename(from.into(), to.into()));
        self
    }

    pub(crate) fn apply(&self, builder: &mut TableMetadataBuilder) -> Result<()> {
        let md = builder.current();
        let schema = md.current_schema().clone();
        let current = md.default_partition_spec().clone();
        let mut fields: Vec<UnboundPartitionField> = current
            .fields
            .iter()
            .map(|f| UnboundPartitionField {
                source_id: f.source_id,
                field_id: Some(f.field_id),
                name: f.name.clone(),
                transform: f.transform,
            })
            .collect();
        for op in &self.ops {
            match op {
                SpecOp::Add {
                    column,
                    transform,
                    name,
                } => {
                    let source = schema.field_by_name(column).ok_or_else(|| {
                        Error::invalid(format!(
                            "update spec: cannot partition by unknown column `{column}`"
                        ))
                    })?;
                    let source_type = source.field_type.as_primitive().ok_or_else(|| {
                        Error::invalid(format!(
                            "update spec: cannot partition by non-primitive column `{column}`"
                        ))
                    })?;
                    transform.result_type(source_type)?;
                    if fields
                        .iter()
                        .any(|f| f.source_id == source.id && f.transform == *transform)
                    {
                        return Err(Error::invalid(format!(
                            "update spec: `{column}` is already partitioned by {transform}"
                        )));
                    }
                    let name = name
                        .clone()
                        .unwrap_or_else(|| default_name(column, *transform));
                    if fields.iter().any(|f| f.name == name) {
                        return Err(Error::invalid(format!(
                            "update spec: partition field `{name}` already exists"
                        )));
                    }
                    // Reuse the id of the same field in an older spec.
                    let field_id = md
                        .partition_specs()
                        .values()
                        .flat_map(|s| s.fields.iter())
                        .find(|f| f.source_id == source.id && f.transform == *transform)
                        .map(|f| f.field_id);
                    fields.push(UnboundPartitionField {
                        source_id: source.id,
                        field_id,
                        name,
                        transform: *transform,
                    });
                }
                SpecOp::Remove(name) => {
                    let before = fields.len();
                    fields.retain(|f| f.name != *name);
                    if fields.len() == before {
                        return Err(Error::invalid(format!(
                            "update spec: cannot remove unknown partition field `{name}`"
                        )));
                    }
                }
                SpecOp::Rename(from, to) => {
                    if fields.iter().any(|f| f.name == *to) {
                        return Err(Error::invalid(format!(
                            "update spec: partition field `{to}` already exists"
                        )));
                    }
                    let f = fields.iter_mut().find(|f| f.name == *from).ok_or_else(|| {
                        Error::invalid(format!(
                            "update spec: cannot rename unknown partition field `{from}`"
                        ))
                    })?;
                    f.name.clone_from(to);
                }
            }
        }
        builder.add_partition_spec(&UnboundPartitionSpec {
            spec_id: None,
            fields,
        })?;
        builder.set_default_partition_spec(LAST_ADDED)
    }
}
