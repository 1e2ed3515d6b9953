//! One Parquet data or delete file, encoded by arrow-rs's column writers (the columns of
//! a large batch on several threads, see [`super::encode`]) and uploaded into an object
//! store, then described on close by a [`DataFile`] with Iceberg metrics.
//!
//! The Parquet schema carries the Iceberg field id of every field (arrow-rs takes them
//! from the `PARQUET:field_id` metadata of the Arrow schema). Row groups are finished
//! when they reach `write.parquet.row-group-size-bytes` and uploaded as they are, so a
//! writer holds about one row group in memory.

use std::sync::Arc;

use arrow::array::RecordBatch;
use bytes::Bytes;
use floe_spec::manifest::{DataFile, DataFileFormat};
use floe_spec::values::Datum;
use object_store::buffered::BufWriter;
use tokio::io::AsyncWriteExt;

use super::WriterContext;
use super::encode::ParquetEncoder;
use super::location::OutputFile;
use super::metrics::{NanCounts, fill_metrics};
use crate::arrow_schema::align_struct_batch;
use crate::error::{Error, ErrorKind, Result};
use crate::io::FileIO;

/// Writes one Parquet file.
pub struct ParquetWriter {
    context: Arc<WriterContext>,
    encoder: ParquetEncoder,
    upload: BufWriter,
    output: OutputFile,
    partition: Vec<Option<Datum>>,
    nans: NanCounts,
    rows: u64,
}

impl std::fmt::Debug for ParquetWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetWriter")
            .field("location", &self.output.location)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl ParquetWriter {
    /// Starts a file at `output` for rows of `context`, in the partition `partition`
    /// (the tuple recorded in the [`DataFile`]; empty for unpartitioned tables).
    pub fn try_new(
        context: Arc<WriterContext>,
        output: OutputFile,
        partition: Vec<Option<Datum>>,
    ) -> Result<Self> {
        let encoder =
            ParquetEncoder::try_new(context.arrow_schema().clone(), context.parquet_properties())
                .map_err(|e| e.with_context("file", &output.location))?;
        Ok(Self {
            context,
            encoder,
            upload: output.writer(),
            output,
            partition,
            nans: NanCounts::default(),
            rows: 0,
        })
    }

    /// Starts a file at `location`, written through `io` (see [`Self::try_new`]).
    pub fn try_new_in(
        io: &FileIO,
        location: impl Into<String>,
        context: Arc<WriterContext>,
        partition: Vec<Option<Datum>>,
    ) -> Result<Self> {
        Self::try_new(context, io.new_output(location)?, partition)
    }

    /// Writes the rows of `batch`. A batch that does not have exactly the writer's Arrow
    /// schema is aligned to it first ([`crate::arrow_schema::align_batch`]); errors
    /// name a column that does not fit.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let aligned;
        let batch = if batch.schema().fields() == self.context.arrow_schema().fields() {
            batch
        } else {
            aligned =
                align_struct_batch(batch, self.context.row_type(), self.context.arrow_schema())?;
            &aligned
        };
        self.nans.update(self.context.row_type(), batch);
        self.encoder
            .write(batch)
            .map_err(|e| e.with_context("file", &self.output.location))?;
        self.rows += batch.num_rows() as u64;
        self.upload_finished().await
    }

    /// Uploads the bytes of the row groups finished so far.
    async fn upload_finished(&mut self) -> Result<()> {
        let bytes = self.encoder.take_buffer()?;
        if bytes.is_empty() {
            return Ok(());
        }
        self.upload.put(Bytes::from(bytes)).await.map_err(|e| {
            Error::new(ErrorKind::Io, format!("uploading {}", self.output.location)).with_source(e)
        })
    }

    /// Bytes written so far plus the estimated encoded size of the buffered row group.
    pub fn estimated_size(&self) -> u64 {
        (self.encoder.bytes_written() + self.encoder.in_progress_size()) as u64
    }

    /// Rows written so far.
    pub fn rows_written(&self) -> u64 {
        self.rows
    }

    /// The location of the file.
    pub fn location(&self) -> &str {
        &self.output.location
    }

    /// Finishes the file (footer, upload) and describes it.
    pub async fn close(mut self) -> Result<DataFile> {
        let metadata = self
            .encoder
            .finish()
            .map_err(|e| e.with_context("file", &self.output.location))?;
        self.upload_finished().await?;
        self.upload.shutdown().await.map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("finishing the upload of {}", self.output.location),
            )
            .with_source(e)
        })?;
        let size = i64::try_from(self.encoder.bytes_written())
            .map_err(|_| Error::new(ErrorKind::Unexpected, "file size does not fit in 64 bits"))?;
        let mut file = DataFile::new(
            DataFileFormat::Parquet,
            self.output.location.clone(),
            0,
            size,
        )
        .with_partition(std::mem::take(&mut self.partition))
        .with_content(self.context.content());
        file.equality_ids.clone_from(&self.context.equality_ids);
        file.sort_order_id = self.context.sort_order_id;
        fill_metrics(&mut file, &metadata, &self.context.leaves, &self.nans);
        Ok(file)
    }

    /// Abandons the file: the upload is aborted and nothing is left in the store.
    pub async fn abort(self) -> Result<()> {
        let mut upload = self.upload;
        match upload.abort().await {
            Ok(()) => Ok(()),
            Err(e) => Err(Error::new(
                ErrorKind::Io,
                format!("aborting the upload of {}", self.output.location),
            )
            .with_source(e)),
        }
    }
}
