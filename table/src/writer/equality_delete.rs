//! Equality delete files: rows holding the values of some table columns (the equality
//! fields, with their table field ids); a data row is deleted when it equals a delete
//! row on all of them (spec "Equality Delete Files").
//!
//! The delete rows have the projection of the table schema on the equality fields
//! (columns inside structs keep their enclosing structs). Files carry `content =
//! equality-deletes`, `equality_ids`, and metrics as the table's data files.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef as ArrowSchemaRef;
use floe_spec::manifest::{DataContentType, DataFile};
use floe_spec::schema::Schema;
use floe_spec::types::{NestedField, StructType, Type};
use floe_spec::values::Datum;

use super::location::LocationGenerator;
use super::metrics::MetricsConfig;
use super::rolling::RollingFileWriter;
use super::{WriterConfig, WriterContext};
use crate::arrow_schema::{align_batch, align_struct_batch};
use crate::error::{Error, Result};

/// The projection of `schema` on `ids`: the fields with those ids, inside the structs
/// that enclose them. Errors name an id that is not a primitive column outside lists
/// and maps.
pub fn equality_delete_row_type(schema: &Schema, ids: &[i32]) -> Result<StructType> {
    if ids.is_empty() {
        return Err(Error::invalid(
            "an equality delete needs at least one equality field",
        ));
    }
    for id in ids {
        let field = schema.field_by_id(*id).ok_or_else(|| {
            Error::invalid(format!("equality field id {id} is not in the schema"))
        })?;
        if !field.field_type.is_primitive() || schema.accessor_by_id(*id).is_none() {
            return Err(Error::invalid(format!(
                "equality field `{}` must be a primitive column outside lists and maps",
                schema.name_by_id(*id).unwrap_or(&field.name)
            )));
        }
    }
    let wanted: HashSet<i32> = ids.iter().copied().collect();
    Ok(project(schema.as_struct(), &wanted))
}

fn project(s: &StructType, wanted: &HashSet<i32>) -> StructType {
    let mut fields = Vec::new();
    for f in s.fields() {
        if wanted.contains(&f.id) {
            fields.push(f.as_ref().clone());
        } else if let Type::Struct(inner) = f.field_type.as_ref() {
            let projected = project(inner, wanted);
            if !projected.is_empty() {
                let mut nf: NestedField = f.as_ref().clone();
                nf.field_type = Box::new(Type::Struct(projected));
                fields.push(nf);
            }
        }
    }
    StructType::new(fields)
}

/// Writes equality deletes of one partition.
#[derive(Debug)]
pub struct EqualityDeleteWriter {
    context: Arc<WriterContext>,
    table_schema: Schema,
    writer: RollingFileWriter,
}

impl EqualityDeleteWriter {
    /// A writer of deletes on the columns `equality_ids` of a table with `schema`, for
    /// the partition `partition` (directory `partition_path`, `None` if unpartitioned).
    /// Settings and metrics modes from the table properties; the target size is
    /// `write.delete.target-file-size-bytes`.
    pub fn try_new<S: BuildHasher>(
        schema: &Schema,
        equality_ids: Vec<i32>,
        properties: &HashMap<String, String, S>,
        locations: Arc<LocationGenerator>,
        partition: Vec<Option<Datum>>,
        partition_path: Option<String>,
    ) -> Result<Self> {
        let row_type = equality_delete_row_type(schema, &equality_ids)?;
        let metrics = MetricsConfig::from_properties(properties, schema, None);
        let context = Arc::new(
            WriterContext::new(
                row_type,
                WriterConfig::for_deletes(properties)?,
                &metrics,
                DataContentType::EqualityDeletes,
            )?
            .with_equality_ids(equality_ids),
        );
        let writer = RollingFileWriter::new(context.clone(), locations, partition, partition_path);
        Ok(Self {
            context,
            table_schema: schema.clone(),
            writer,
        })
    }

    /// The Iceberg type of the delete rows.
    pub fn row_type(&self) -> &StructType {
        self.context.row_type()
    }

    /// The Arrow schema of the delete rows (with field ids).
    pub fn arrow_schema(&self) -> &ArrowSchemaRef {
        self.context.arrow_schema()
    }

    /// Writes delete rows: a batch with exactly the equality columns (by name; errors
    /// name a missing, extra or mistyped column).
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let aligned =
            align_struct_batch(batch, self.context.row_type(), self.context.arrow_schema())?;
        self.writer.write(&aligned).await
    }

    /// Writes the equality columns of whole table rows (a batch checked against the
    /// table schema).
    pub async fn write_rows(&mut self, batch: &RecordBatch) -> Result<()> {
        let full = align_batch(batch, &self.table_schema)?;
        let projected = project_batch(&full, self.context.row_type())?;
        self.write(&projected).await
    }

    /// Closes the current file and returns all files written.
    pub async fn close(self) -> Result<Vec<DataFile>> {
        self.writer.close().await
    }
}

/// Keeps the columns of `batch` (aligned to a table schema) named in `row_type`,
/// recursing into structs.
fn project_batch(batch: &RecordBatch, row_type: &StructType) -> Result<RecordBatch> {
    use arrow::array::{Array, ArrayRef, AsArray, StructArray};
    use arrow::datatypes::{Field, Fields, Schema as ArrowSchema};

    fn project_columns(
        fields: &Fields,
        columns: &[ArrayRef],
        keep: &StructType,
    ) -> Result<(Vec<Field>, Vec<ArrayRef>)> {
        let mut out_fields = Vec::new();
        let mut out_columns = Vec::new();
        for k in keep.fields() {
            let Some(i) = fields.iter().position(|f| *f.name() == k.name) else {
                return Err(Error::invalid(format!("column `{}` is missing", k.name)));
            };
            let (field, col) = (&fields[i], &columns[i]);
            if let (Type::Struct(inner), Some(sa)) = (k.field_type.as_ref(), col.as_struct_opt()) {
                let (fs, cs) = project_columns(sa.fields(), sa.columns(), inner)?;
                let fs = Fields::from(fs);
                let arr = StructArray::try_new(fs.clone(), cs, sa.nulls().cloned())
                    .map_err(|e| crate::error::arrow_error("projecting a struct", e))?;
                out_fields.push(
                    Field::new(
                        field.name(),
                        arrow::datatypes::DataType::Struct(fs),
                        field.is_nullable(),
                    )
                    .with_metadata(field.metadata().clone()),
                );
                out_columns.push(Arc::new(arr) as ArrayRef);
            } else {
                out_fields.push(field.as_ref().clone());
                out_columns.push(col.clone());
            }
        }
        Ok((out_fields, out_columns))
    }

    let schema = batch.schema();
    let (fields, columns) = project_columns(schema.fields(), batch.columns(), row_type)?;
    RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), columns)
        .map_err(|e| crate::error::arrow_error("projecting equality delete columns", e))
}
