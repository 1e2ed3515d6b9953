//! Fan-out: every batch is checked and aligned to the table schema, split by partition,
//! and each part goes to the rolling writer of its partition, opened on first use.
//!
//! Rows need not arrive clustered by partition. Each open writer buffers up to a row
//! group, so [`PartitionedWriter::with_max_open_writers`] can bound memory: when a new
//! partition would exceed the bound, the least recently used writer is closed (its
//! partition gets a new file if more of its rows come later).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use floe_spec::manifest::DataFile;
use floe_spec::partition::PartitionSpec;
use floe_spec::schema::Schema;
use floe_spec::values::Datum;
use object_store::ObjectStoreExt;

use super::WriterContext;
use super::location::LocationGenerator;
use super::rolling::RollingFileWriter;
use crate::arrow_schema::align_struct_batch;
use crate::arrow_transform::PartitionSplitter;
use crate::error::{Error, Result};

struct Open {
    writer: RollingFileWriter,
    last_used: u64,
}

/// Writes rows to one rolling writer per partition.
pub struct PartitionedWriter {
    context: Arc<WriterContext>,
    schema: Schema,
    spec: PartitionSpec,
    splitter: PartitionSplitter,
    locations: Arc<LocationGenerator>,
    open: HashMap<Vec<Option<Datum>>, Open>,
    max_open: Option<usize>,
    tick: u64,
    done: Vec<DataFile>,
}

impl std::fmt::Debug for PartitionedWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartitionedWriter")
            .field("spec", &self.spec)
            .field("open_writers", &self.open.len())
            .field("closed_files", &self.done.len())
            .finish_non_exhaustive()
    }
}

impl PartitionedWriter {
    /// A writer of rows of `schema` partitioned by `spec`. `context` must describe
    /// `schema` (see [`WriterContext::for_data`]). Errors name a partition field that
    /// does not fit the schema.
    pub fn try_new(
        context: Arc<WriterContext>,
        schema: &Schema,
        spec: &PartitionSpec,
        locations: Arc<LocationGenerator>,
    ) -> Result<Self> {
        if context.row_type() != schema.as_struct() {
            return Err(Error::invalid(
                "the writer context does not describe the table schema",
            ));
        }
        Ok(Self {
            splitter: PartitionSplitter::try_new(spec, schema)?,
            context,
            schema: schema.clone(),
            spec: spec.clone(),
            locations,
            open: HashMap::new(),
            max_open: None,
            tick: 0,
            done: Vec::new(),
        })
    }

    /// Bounds the number of files open at once (at least 1).
    #[must_use]
    pub fn with_max_open_writers(mut self, max: usize) -> Self {
        self.max_open = Some(max.max(1));
        self
    }

    /// Writes the rows of `batch`: errors name a column that does not fit the table
    /// schema, or a value whose partition cannot be computed; nothing of an invalid
    /// batch is written.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let batch =
            align_struct_batch(batch, self.context.row_type(), self.context.arrow_schema())?;
        for part in self.splitter.split(&batch)? {
            self.tick += 1;
            let tick = self.tick;
            if !self.open.contains_key(&part.partition) {
                self.make_room().await?;
                let path = if self.spec.is_unpartitioned() {
                    None
                } else {
                    Some(self.spec.partition_path(&self.schema, &part.partition)?)
                };
                let writer = RollingFileWriter::new(
                    self.context.clone(),
                    self.locations.clone(),
                    part.partition.clone(),
                    path,
                );
                self.open.insert(
                    part.partition.clone(),
                    Open {
                        writer,
                        last_used: tick,
                    },
                );
            }
            if let Some(open) = self.open.get_mut(&part.partition) {
                open.last_used = tick;
                open.writer.write(&part.batch).await?;
            }
        }
        Ok(())
    }

    async fn make_room(&mut self) -> Result<()> {
        let Some(max) = self.max_open else {
            return Ok(());
        };
        while self.open.len() >= max {
            let Some(key) = self
                .open
                .iter()
                .min_by_key(|(_, o)| o.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(open) = self.open.remove(&key) {
                self.done.extend(open.writer.close().await?);
            }
        }
        Ok(())
    }

    /// Number of partitions with an open writer.
    pub fn open_writers(&self) -> usize {
        self.open.len()
    }

    /// Closes every file and returns all files written.
    pub async fn close(mut self) -> Result<Vec<DataFile>> {
        let mut open: Vec<Open> = self.open.into_values().collect();
        open.sort_by_key(|o| o.last_used);
        for o in open {
            self.done.extend(o.writer.close().await?);
        }
        Ok(self.done)
    }

    /// Abandons everything written: open uploads are aborted, closed files deleted.
    pub async fn abort(self) -> Result<()> {
        let mut first_err = None;
        for (_, o) in self.open {
            if let Err(e) = o.writer.abort().await {
                first_err.get_or_insert(e);
            }
        }
        for f in &self.done {
            let result = match self.locations.resolve(&f.file_path) {
                Ok(p) => self.locations.store().delete(&p).await.map_err(|e| {
                    crate::Error::new(crate::ErrorKind::Io, format!("deleting {}", f.file_path))
                        .with_source(e)
                }),
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}
