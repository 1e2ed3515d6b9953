//! A sequence of files for one partition: a new file is started whenever the current one
//! reaches the target file size (bytes written plus the estimated size of the buffered
//! row group, checked every [`ROLL_CHECK_ROWS`] rows at most when a batch may not fit).

use std::sync::Arc;

use arrow::array::RecordBatch;
use floe_spec::manifest::DataFile;
use floe_spec::values::Datum;
use object_store::ObjectStoreExt;

use super::WriterContext;
use super::location::LocationGenerator;
use super::parquet::ParquetWriter;
use crate::error::Result;

/// The most rows written between two checks of the file size: a batch that may not fit
/// in the current file is written in slices of this many rows so that files do not
/// overshoot the target by much.
pub const ROLL_CHECK_ROWS: usize = 8_192;

/// Writes rows of one partition to as many files as the target size asks for.
#[derive(Debug)]
pub struct RollingFileWriter {
    context: Arc<WriterContext>,
    locations: Arc<LocationGenerator>,
    partition: Vec<Option<Datum>>,
    partition_path: Option<String>,
    current: Option<ParquetWriter>,
    done: Vec<DataFile>,
}

impl RollingFileWriter {
    /// A writer for rows of the partition `partition`, whose files go to the directory
    /// `partition_path` under the data location (`None` for unpartitioned tables).
    pub fn new(
        context: Arc<WriterContext>,
        locations: Arc<LocationGenerator>,
        partition: Vec<Option<Datum>>,
        partition_path: Option<String>,
    ) -> Self {
        Self {
            context,
            locations,
            partition,
            partition_path,
            current: None,
            done: Vec::new(),
        }
    }

    /// Writes `batch` (aligned to the context's Arrow schema, or alignable to it).
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let target = self.context.config().target_file_size_bytes;
        // A batch that fits in what is left of the target even at its Arrow size (more
        // than it takes encoded, as a rule) is written whole: slices cost the encoders
        // per-call work, and keep a column's pages from being filled in one go.
        let room = target.saturating_sub(self.current_size());
        let step = if (batch.get_array_memory_size() as u64) < room {
            batch.num_rows()
        } else {
            ROLL_CHECK_ROWS
        };
        let mut offset = 0;
        while offset < batch.num_rows() {
            let len = step.min(batch.num_rows() - offset);
            let slice = batch.slice(offset, len);
            offset += len;
            if self.current.is_none() {
                let output = self.locations.new_file(self.partition_path.as_deref())?;
                self.current = Some(ParquetWriter::try_new(
                    self.context.clone(),
                    output,
                    self.partition.clone(),
                )?);
            }
            let Some(writer) = self.current.as_mut() else {
                continue;
            };
            writer.write(&slice).await?;
            if writer.estimated_size() >= target {
                self.roll().await?;
            }
        }
        Ok(())
    }

    /// Closes the current file, if any; the next rows start a new one.
    pub async fn roll(&mut self) -> Result<()> {
        if let Some(w) = self.current.take() {
            self.done.push(w.close().await?);
        }
        Ok(())
    }

    /// The estimated size of the file being written (0 if none).
    pub fn current_size(&self) -> u64 {
        self.current
            .as_ref()
            .map_or(0, ParquetWriter::estimated_size)
    }

    /// The partition tuple of the rows.
    pub fn partition(&self) -> &[Option<Datum>] {
        &self.partition
    }

    /// Closes the current file and returns every file written, in order.
    pub async fn close(mut self) -> Result<Vec<DataFile>> {
        self.roll().await?;
        Ok(self.done)
    }

    /// Abandons the writer: the current upload is aborted and the files already closed
    /// are deleted (best effort; the first failure is returned after trying all).
    pub async fn abort(self) -> Result<()> {
        let mut first_err = None;
        if let Some(w) = self.current
            && let Err(e) = w.abort().await
        {
            first_err = Some(e);
        }
        for f in &self.done {
            let path = self.locations.resolve(&f.file_path);
            let result = match path {
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
