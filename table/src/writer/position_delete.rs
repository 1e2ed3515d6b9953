//! Position delete files: rows `{file_path: string (2147483546), pos: long
//! (2147483545)}` sorted by path, then position (spec "Position Delete Files").
//!
//! Deletes are collected in memory and sorted when the writer closes, like Java's
//! sorting position-delete writer. Files carry full bounds for both columns (Java's
//! default metrics config for position deletes), `content = position-deletes`, and
//! `referenced_data_file` when all their rows point at one data file.

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::Int64Type;
use floe_spec::manifest::{DataContentType, DataFile};
use floe_spec::types::{NestedField, PrimitiveType, StructType, Type};
use floe_spec::values::Datum;

use super::location::LocationGenerator;
use super::metrics::{MetricsConfig, MetricsMode};
use super::rolling::{ROLL_CHECK_ROWS, RollingFileWriter};
use super::{WriterConfig, WriterContext};
use crate::arrow_schema::align_struct_batch;
use crate::error::{Error, Result};

/// Field id of `file_path` in position delete files.
pub const DELETE_FILE_PATH_ID: i32 = 2_147_483_546;
/// Field id of `pos` in position delete files.
pub const DELETE_POS_ID: i32 = 2_147_483_545;
/// Name of the path column.
pub const DELETE_FILE_PATH_NAME: &str = "file_path";
/// Name of the position column.
pub const DELETE_POS_NAME: &str = "pos";

/// The row type of position delete files (without the optional `row` column).
pub fn position_delete_row_type() -> StructType {
    StructType::new(vec![
        NestedField::required(
            DELETE_FILE_PATH_ID,
            DELETE_FILE_PATH_NAME,
            Type::Primitive(PrimitiveType::String),
        )
        .with_doc("Path of a file in which a deleted row is stored"),
        NestedField::required(
            DELETE_POS_ID,
            DELETE_POS_NAME,
            Type::Primitive(PrimitiveType::Long),
        )
        .with_doc("Ordinal position of a deleted row in the data file"),
    ])
}

/// Collects position deletes of one partition and writes them, sorted, on close.
#[derive(Debug)]
pub struct PositionDeleteWriter {
    context: Arc<WriterContext>,
    writer: RollingFileWriter,
    deletes: BTreeMap<String, Vec<i64>>,
}

impl PositionDeleteWriter {
    /// A writer of deletes against data files of the partition `partition` (with its
    /// directory `partition_path`, `None` if unpartitioned). Settings from the table
    /// properties; the target size is `write.delete.target-file-size-bytes`.
    pub fn try_new<S: BuildHasher>(
        properties: &HashMap<String, String, S>,
        locations: Arc<LocationGenerator>,
        partition: Vec<Option<Datum>>,
        partition_path: Option<String>,
    ) -> Result<Self> {
        let context = Arc::new(WriterContext::new(
            position_delete_row_type(),
            WriterConfig::for_deletes(properties)?,
            &MetricsConfig::uniform(MetricsMode::Full),
            DataContentType::PositionDeletes,
        )?);
        let writer = RollingFileWriter::new(context.clone(), locations, partition, partition_path);
        Ok(Self {
            context,
            writer,
            deletes: BTreeMap::new(),
        })
    }

    /// Deletes row `pos` of the data file at `file_path`.
    pub fn delete(&mut self, file_path: &str, pos: i64) {
        self.delete_positions(file_path, [pos]);
    }

    /// Deletes rows `positions` of the data file at `file_path`.
    pub fn delete_positions(&mut self, file_path: &str, positions: impl IntoIterator<Item = i64>) {
        let entry = match self.deletes.get_mut(file_path) {
            Some(e) => e,
            None => self.deletes.entry(file_path.to_string()).or_default(),
        };
        entry.extend(positions);
    }

    /// Adds the deletes of a batch with a `file_path` (string) and a `pos` (long)
    /// column; errors name a missing, extra or null column.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let aligned =
            align_struct_batch(batch, self.context.row_type(), self.context.arrow_schema())?;
        let paths = aligned.column(0).as_string::<i32>();
        let positions = aligned.column(1).as_primitive::<Int64Type>();
        for i in 0..aligned.num_rows() {
            self.delete(paths.value(i), positions.value(i));
        }
        Ok(())
    }

    /// Number of deletes collected (before removing duplicates).
    pub fn len(&self) -> usize {
        self.deletes.values().map(Vec::len).sum()
    }

    /// Whether no delete was collected.
    pub fn is_empty(&self) -> bool {
        self.deletes.is_empty()
    }

    /// Writes the deletes, sorted and without duplicates, and returns the files (none if
    /// there were no deletes). A negative position is an error naming the file.
    pub async fn close(mut self) -> Result<Vec<DataFile>> {
        let mut paths: Vec<&str> = Vec::with_capacity(ROLL_CHECK_ROWS);
        let mut positions: Vec<i64> = Vec::with_capacity(ROLL_CHECK_ROWS);
        let mut deletes = std::mem::take(&mut self.deletes);
        for (path, pos) in &mut deletes {
            pos.sort_unstable();
            pos.dedup();
            if let Some(p) = pos.first().filter(|p| **p < 0) {
                return Err(Error::invalid(format!(
                    "position delete of row {p} of `{path}`: positions must be ≥ 0"
                )));
            }
        }
        for (path, pos) in &deletes {
            for &p in pos {
                paths.push(path);
                positions.push(p);
                if paths.len() == ROLL_CHECK_ROWS {
                    self.flush(&mut paths, &mut positions).await?;
                }
            }
        }
        self.flush(&mut paths, &mut positions).await?;
        let mut files = self.writer.close().await?;
        for f in &mut files {
            if let (Some(Datum::String(lo)), Some(Datum::String(hi))) = (
                f.lower_bounds.get(&DELETE_FILE_PATH_ID),
                f.upper_bounds.get(&DELETE_FILE_PATH_ID),
            ) && lo == hi
            {
                f.referenced_data_file = Some(lo.clone());
            }
            f.sort_order_id = None;
        }
        Ok(files)
    }

    async fn flush(&mut self, paths: &mut Vec<&str>, positions: &mut Vec<i64>) -> Result<()> {
        if paths.is_empty() {
            return Ok(());
        }
        let batch = RecordBatch::try_new(
            self.context.arrow_schema().clone(),
            vec![
                Arc::new(StringArray::from(std::mem::take(paths))) as Arc<dyn Array>,
                Arc::new(Int64Array::from(std::mem::take(positions))),
            ],
        )
        .map_err(|e| crate::error::arrow_error("building position deletes", e))?;
        self.writer.write(&batch).await
    }
}
