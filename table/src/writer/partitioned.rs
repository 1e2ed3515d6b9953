//! Fan-out: every batch is checked and aligned to the table schema, split by partition,
//! and each part goes to the rolling writer of its partition, opened on first use.
//!
//! Rows need not arrive clustered by partition. Each open writer buffers up to a row
//! group, so [`PartitionedWriter::with_max_open_writers`] can bound memory: when a new
//! partition would exceed the bound, the least recently used writer is closed (its
//! partition gets a new file if more of its rows come later).
//!
//! The parts of one batch are encoded concurrently, each partition's writer on its own
//! Tokio task, at most [`PartitionedWriter::with_parallelism`] at a time (default: the
//! machine's cores); closing finishes the files concurrently the same way. Each
//! partition's rows still go to its files in arrival order, and [`PartitionedWriter::close`]
//! returns the files in the same order as a sequential writer would. Outside a Tokio
//! runtime, or with a parallelism of 1, parts are written one after the other.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::RecordBatch;
use floe_spec::manifest::DataFile;
use floe_spec::partition::PartitionSpec;
use floe_spec::schema::Schema;
use floe_spec::values::Datum;
use futures::{StreamExt, stream};
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
    parallelism: usize,
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
            parallelism: super::cpus(),
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

    /// How many partition files are encoded at once (at least 1; default: the
    /// machine's cores).
    #[must_use]
    pub fn with_parallelism(mut self, n: usize) -> Self {
        self.parallelism = n.max(1);
        self
    }

    /// Writes the rows of `batch`: errors name a column that does not fit the table
    /// schema, or a value whose partition cannot be computed; nothing of an invalid
    /// batch is written.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let batch =
            align_struct_batch(batch, self.context.row_type(), self.context.arrow_schema())?;
        let mut pending: Vec<(Vec<Option<Datum>>, RecordBatch)> = Vec::new();
        for part in self.splitter.split(&batch)? {
            self.tick += 1;
            let tick = self.tick;
            if !self.open.contains_key(&part.partition) {
                if self.max_open.is_some_and(|max| self.open.len() >= max) {
                    // A writer may be closed to make room: write what it was given first.
                    self.write_pending(std::mem::take(&mut pending)).await?;
                    self.make_room().await?;
                }
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
                pending.push((part.partition, part.batch));
            }
        }
        self.write_pending(pending).await
    }

    /// Writes each part to its partition's open writer, up to `parallelism` at once;
    /// every writer is back in `open` afterwards, and the first error is returned.
    async fn write_pending(
        &mut self,
        pending: Vec<(Vec<Option<Datum>>, RecordBatch)>,
    ) -> Result<()> {
        let parallel = self.parallelism > 1
            && pending.len() > 1
            && tokio::runtime::Handle::try_current().is_ok();
        if !parallel {
            for (key, batch) in pending {
                if let Some(open) = self.open.get_mut(&key) {
                    open.writer.write(&batch).await?;
                }
            }
            return Ok(());
        }
        let jobs: Vec<(Vec<Option<Datum>>, Open, RecordBatch)> = pending
            .into_iter()
            .filter_map(|(key, batch)| {
                let open = self.open.remove(&key)?;
                Some((key, open, batch))
            })
            .collect();
        let results: Vec<_> = stream::iter(jobs)
            .map(|(key, mut open, batch)| async move {
                let task = tokio::spawn(async move {
                    let result = open.writer.write(&batch).await;
                    (open, result)
                });
                (key, task.await)
            })
            .buffer_unordered(self.parallelism)
            .collect()
            .await;
        let mut first_err = None;
        for (key, joined) in results {
            match joined {
                Ok((open, result)) => {
                    self.open.insert(key, open);
                    if let Err(e) = result {
                        first_err.get_or_insert(e);
                    }
                }
                Err(e) => {
                    first_err.get_or_insert(Error::new(
                        crate::ErrorKind::Unexpected,
                        format!("a partition writer task failed: {e}"),
                    ));
                }
            }
        }
        first_err.map_or(Ok(()), Err)
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
    ///
    /// The files are finished concurrently (see the module docs) and returned in the
    /// order of a sequential close: files closed earlier first, then the partitions by
    /// last use. If finishing a file fails, the first error is returned and every file
    /// written is deleted: nothing of a failed write is left.
    pub async fn close(mut self) -> Result<Vec<DataFile>> {
        let mut open: Vec<Open> = self.open.into_values().collect();
        open.sort_by_key(|o| o.last_used);
        let parallel =
            self.parallelism > 1 && open.len() > 1 && tokio::runtime::Handle::try_current().is_ok();
        let results: Vec<Result<Vec<DataFile>>> = if parallel {
            stream::iter(open)
                .map(|o| async move {
                    tokio::spawn(o.writer.close()).await.unwrap_or_else(|e| {
                        Err(Error::new(
                            crate::ErrorKind::Unexpected,
                            format!("a partition writer task failed: {e}"),
                        ))
                    })
                })
                .buffered(self.parallelism)
                .collect()
                .await
        } else {
            let mut results = Vec::with_capacity(open.len());
            for o in open {
                results.push(o.writer.close().await);
            }
            results
        };
        let mut first_err = None;
        for r in results {
            match r {
                Ok(files) => self.done.extend(files),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        match first_err {
            None => Ok(self.done),
            Some(e) => {
                // Nothing of a failed write is kept: the files finished are deleted.
                delete_files(&self.locations, &self.done).await.ok();
                Err(e)
            }
        }
    }

    /// Abandons everything written: open uploads are aborted, closed files deleted.
    pub async fn abort(self) -> Result<()> {
        let mut first_err = None;
        for (_, o) in self.open {
            if let Err(e) = o.writer.abort().await {
                first_err.get_or_insert(e);
            }
        }
        if let Err(e) = delete_files(&self.locations, &self.done).await {
            first_err.get_or_insert(e);
        }
        first_err.map_or(Ok(()), Err)
    }
}

/// Deletes written files (best effort: every file is tried, the first failure returned).
async fn delete_files(locations: &LocationGenerator, files: &[DataFile]) -> Result<()> {
    let mut first_err = None;
    for f in files {
        let result = match locations.resolve(&f.file_path) {
            Ok(p) => locations.store().delete(&p).await.map_err(|e| {
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
