//! Partition specs: how a table's rows are grouped into partitions by transforms of
//! source columns.
//!
//! JSON form: `{"spec-id": 0, "fields": [{"source-id": 1, "field-id": 1000, "name":
//! "id_bucket", "transform": "bucket[16]"}]}`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::Schema;
use crate::transform::Transform;
use crate::types::{NestedField, StructType, Type};

/// Partition field ids start here; the last-partition-id of an unpartitioned table is
/// one less.
pub const PARTITION_DATA_ID_START: i32 = 1000;

/// A shared partition spec.
pub type PartitionSpecRef = Arc<PartitionSpec>;

/// One field of a partition spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PartitionField {
    /// The schema field the transform reads.
    pub source_id: i32,
    /// The partition field id (≥ 1000, unique across all specs of a table).
    pub field_id: i32,
    /// The partition field name.
    pub name: String,
    /// The transform.
    pub transform: Transform,
}

/// A partition spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub struct PartitionSpec {
    /// The spec id.
    pub spec_id: i32,
    /// The fields, in order.
    pub fields: Vec<PartitionField>,
}

impl PartitionSpec {
    /// The unpartitioned spec with id 0.
    pub fn unpartitioned() -> Self {
        Self::default()
    }

    /// Whether no field partitions data (no fields, or only `void` ones).
    pub fn is_unpartitioned(&self) -> bool {
        self.fields.iter().all(|f| f.transform == Transform::Void)
    }

    /// The highest partition field id, if there is a field.
    pub fn highest_field_id(&self) -> Option<i32> {
        self.fields.iter().map(|f| f.field_id).max()
    }

    /// The struct type of partition tuples under this spec for `schema`: one optional
    /// field per partition field, with the partition field id and name and the
    /// transform's result type. Errors name a missing or non-primitive source column.
    pub fn partition_type(&self, schema: &Schema) -> Result<StructType> {
        let mut fields = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            let source = schema.field_by_id(f.source_id).ok_or_else(|| {
                Error::invalid(format!(
                    "partition field `{}` refers to source column {} which is not in schema {}",
                    f.name,
                    f.source_id,
                    schema.schema_id()
                ))
            })?;
            let ty = match source.field_type.as_primitive() {
                Some(p) => f.transform.result_type(p)?,
                // A void transform of a dropped or nested column stays valid.
                None if f.transform == Transform::Void => crate::types::PrimitiveType::Int,
                None => {
                    return Err(Error::invalid(format!(
                        "partition field `{}` has a non-primitive source column `{}`",
                        f.name, source.name
                    )));
                }
            };
            fields.push(NestedField::optional(
                f.field_id,
                f.name.clone(),
                Type::Primitive(ty),
            ));
        }
        Ok(StructType::new(fields))
    }

    /// Whether the two specs partition the same way (same fields, ignoring spec ids).
    pub fn is_equivalent(&self, other: &PartitionSpec) -> bool {
        self.fields.len() == other.fields.len()
            && self.fields.iter().zip(&other.fields).all(|(a, b)| {
                a.source_id == b.source_id && a.transform == b.transform && a.name == b.name
            })
    }
}

/// A partition spec as sent by clients: field ids may be missing (assigned by the
/// catalog), and the spec id may be missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub struct UnboundPartitionSpec {
    /// The spec id, if the client chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_id: Option<i32>,
    /// The fields.
    #[serde(default)]
    pub fields: Vec<UnboundPartitionField>,
}

/// A partition field as sent by clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct UnboundPartitionField {
    /// The schema field the transform reads.
    pub source_id: i32,
    /// The partition field id, if the client chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_id: Option<i32>,
    /// The partition field name.
    pub name: String,
    /// The transform.
    pub transform: Transform,
}

impl From<PartitionSpec> for UnboundPartitionSpec {
    fn from(s: PartitionSpec) -> Self {
        Self {
            spec_id: Some(s.spec_id),
            fields: s
                .fields
                .into_iter()
                .map(|f| UnboundPartitionField {
                    source_id: f.source_id,
                    field_id: Some(f.field_id),
                    name: f.name,
                    transform: f.transform,
                })
                .collect(),
        }
    }
}
