//! [`StreamWriter`]: an exactly-once micro-batch stream writer of Arrow batches.
//!
//! # Contract
//!
//! Opening a writer takes a new epoch from the catalog
//! ([`floe_catalog::Catalog::open_writer`]): every older instance of the same writer id
//! is fenced from then on, and the new instance resumes at the stored last seq + 1.
//! Batches are buffered and flushed as one micro-batch when the buffered rows or bytes,
//! or the time since the first buffered row, reach [`StreamWriterConfig`]'s triggers
//! (or on [`StreamWriter::flush`]). A flush writes one data file per partition and
//! submits one [`AppendIntent`] `(writer id, epoch, seq, watermark)` to the
//! [`GroupCommitter`]; the next seq is used only after the previous micro-batch was
//! acknowledged, so a writer's batches commit in order and none is skipped.
//!
//! Memory is bounded: batches hold a share of [`StreamWriterConfig::max_buffered_bytes`]
//! until their micro-batch is committed, and [`StreamWriter::write`] waits for room
//! when commits fall behind (backpressure).
//!
//! Failure: an unknown commit outcome is retried with the same seq (a committed batch
//! is then answered as a duplicate, nothing is added twice). A fenced writer, or any
//! other failure, stops the writer: every later call returns the error. Dropping or
//! aborting a writer abandons its unflushed rows; a new instance (same writer id)
//! resumes after the last acknowledged micro-batch, which the application maps back to
//! its input (for example, by flushing explicitly at known input positions).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arrow::array::RecordBatch;
use floe_spec::manifest::DataFile;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::committer::GroupCommitter;
use super::intent::{AppendAck, AppendIntent};
use crate::arrow_schema::align_struct_batch;
use crate::error::{Error, ErrorKind, Result};
use crate::table::Table;
use crate::writer::{LocationGenerator, PartitionedWriter, WriterContext};

/// Triggers and bounds of a [`StreamWriter`].
#[derive(Debug, Clone)]
pub struct StreamWriterConfig {
    /// The writer id (stable across restarts of the same logical writer).
    pub writer_id: String,
    /// Flush when this many rows are buffered (default 100,000).
    pub max_rows: usize,
    /// Flush when the buffered batches take this many bytes of Arrow memory (default
    /// 64 MiB).
    pub max_bytes: usize,
    /// Flush when the first buffered row has waited this long (default 1 s).
    pub max_delay: Duration,
    /// The most bytes buffered or being committed; `write` waits beyond (default
    /// 256 MiB).
    pub max_buffered_bytes: usize,
    /// Attempts of one micro-batch whose commit outcome was unknown (default 3).
    pub max_unknown_retries: u32,
}

impl StreamWriterConfig {
    /// Default triggers for `writer_id`.
    pub fn new(writer_id: impl Into<String>) -> Self {
        Self {
            writer_id: writer_id.into(),
            max_rows: 100_000,
            max_bytes: 64 << 20,
            max_delay: Duration::from_secs(1),
            max_buffered_bytes: 256 << 20,
            max_unknown_retries: 3,
        }
    }
}

/// What the writer task shares with the handle.
#[derive(Debug, Default)]
struct Status {
    next_seq: i64,
    last_ack: Option<AppendAck>,
    flushes: u64,
    failed: Option<(ErrorKind, String)>,
}

enum Msg {
    Batch(RecordBatch, OwnedSemaphorePermit),
    Watermark(i64),
    Flush(oneshot::Sender<Result<Option<AppendAck>>>),
}

/// An exactly-once stream writer of one table; see the module docs.
#[derive(Debug)]
pub struct StreamWriter {
    writer_id: String,
    epoch: i64,
    tx: Option<mpsc::UnboundedSender<Msg>>,
    budget: Arc<Semaphore>,
    max_permits: usize,
    context: Arc<WriterContext>,
    status: Arc<Mutex<Status>>,
    task: Option<JoinHandle<()>>,
}

fn lock(m: &Mutex<Status>) -> std::sync::MutexGuard<'_, Status> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl StreamWriter {
    /// Opens the writer `config.writer_id` on `table` with a new epoch (fencing every
    /// older instance) and resumes after its last committed micro-batch. Commits go
    /// through `committer`, which must serve the table's catalog.
    pub async fn open(
        table: Table,
        committer: GroupCommitter,
        config: StreamWriterConfig,
    ) -> Result<Self> {
        let progress = table
            .catalog()
            .open_writer(table.ident(), &config.writer_id)
            .await?;
        let md = table.metadata().clone();
        let context = Arc::new(WriterContext::for_data(
            md.current_schema(),
            md.properties(),
            Some(md.default_sort_order().as_ref()).filter(|o| o.order_id != 0),
        )?);
        let locations = Arc::new(LocationGenerator::for_table(
            table.store().clone(),
            md.location(),
            md.properties(),
        )?);
        let status = Arc::new(Mutex::new(Status {
            next_seq: progress.last_seq.saturating_add(1).max(0),
            ..Status::default()
        }));
        let max_permits = config
            .max_buffered_bytes
            .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
        let (tx, rx) = mpsc::unbounded_channel();
        let task = Task {
            table,
            committer,
            config: config.clone(),
            epoch: progress.epoch,
            context: Arc::clone(&context),
            locations,
            status: Arc::clone(&status),
            buffer: Vec::new(),
            rows: 0,
            bytes: 0,
            first_at: None,
            watermark: progress.watermark,
        };
        let task = tokio::spawn(task.run(rx));
        Ok(Self {
            writer_id: config.writer_id,
            epoch: progress.epoch,
            tx: Some(tx),
            budget: Arc::new(Semaphore::new(max_permits)),
            max_permits,
            context,
            status,
            task: Some(task),
        })
    }

    /// The writer id.
    pub fn writer_id(&self) -> &str {
        &self.writer_id
    }

    /// This instance's epoch.
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// The seq of the next micro-batch to commit.
    pub fn next_seq(&self) -> i64 {
        lock(&self.status).next_seq
    }

    /// The answer to the last committed micro-batch.
    pub fn last_ack(&self) -> Option<AppendAck> {
        lock(&self.status).last_ack
    }

    /// How many micro-batches were committed by this instance.
    pub fn flushes(&self) -> u64 {
        lock(&self.status).flushes
    }

    /// Bytes of Arrow memory buffered or being committed (at most
    /// `max_buffered_bytes`).
    pub fn buffered_bytes(&self) -> usize {
        self.max_permits
            .saturating_sub(self.budget.available_permits())
    }

    fn check(&self) -> Result<()> {
        match &lock(&self.status).failed {
            Some((kind, message)) => Err(Error::new(*kind, message.clone())),
            None => Ok(()),
        }
    }

    fn send(&self, msg: Msg) -> Result<()> {
        self.check()?;
        let sent = self.tx.as_ref().map(|tx| tx.send(msg));
        if let Some(Ok(())) = sent {
            return Ok(());
        }
        self.check()?;
        Err(Error::new(
            ErrorKind::Unexpected,
            format!("stream writer `{}` is closed", self.writer_id),
        ))
    }

    /// Buffers a batch of rows of the table schema (columns matched by name, as in
    /// table appends). Waits while the buffered and committing batches take
    /// `max_buffered_bytes` (backpressure). A batch that does not fit the schema is
    /// refused and changes nothing.
    pub async fn write(&self, batch: &RecordBatch) -> Result<()> {
        self.check()?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch =
            align_struct_batch(batch, self.context.row_type(), self.context.arrow_schema())?;
        let size = batch.get_array_memory_size().clamp(1, self.max_permits) as u32;
        let permit = Arc::clone(&self.budget)
            .acquire_many_owned(size)
            .await
            .map_err(|_| Error::new(ErrorKind::Unexpected, "stream writer budget closed"))?;
        self.send(Msg::Batch(batch, permit))
    }

    /// Moves the event-time watermark (ms) reported with the next micro-batch; a lower
    /// value than before is ignored.
    pub fn advance_watermark(&self, watermark_ms: i64) -> Result<()> {
        self.send(Msg::Watermark(watermark_ms))
    }

    /// Flushes the buffered rows now and waits for their commit; `None` when nothing
    /// was buffered.
    pub async fn flush(&self) -> Result<Option<AppendAck>> {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::Flush(tx))?;
        if let Ok(result) = rx.await {
            return result;
        }
        self.check()?;
        Err(Error::new(
            ErrorKind::Unexpected,
            format!("stream writer `{}` stopped", self.writer_id),
        ))
    }

    /// Flushes, then stops the writer.
    pub async fn close(mut self) -> Result<Option<AppendAck>> {
        let ack = self.flush().await;
        self.tx = None;
        if let Some(task) = self.task.take() {
            task.await.ok();
        }
        ack
    }

    /// Stops the writer at once, as a crash would: buffered rows are abandoned and a
    /// micro-batch being committed may or may not commit.
    pub fn abort(mut self) {
        self.tx = None;
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        // A dropped writer stops at once (see [`StreamWriter::abort`]).
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The writer task: buffers, flushes and commits in order.
struct Task {
    table: Table,
    committer: GroupCommitter,
    config: StreamWriterConfig,
    epoch: i64,
    context: Arc<WriterContext>,
    locations: Arc<LocationGenerator>,
    status: Arc<Mutex<Status>>,
    buffer: Vec<(RecordBatch, OwnedSemaphorePermit)>,
    rows: usize,
    bytes: usize,
    first_at: Option<Instant>,
    watermark: Option<i64>,
}

impl Task {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        loop {
            let deadline = self.first_at.map(|t| t + self.config.max_delay);
            let msg = tokio::select! {
                m = rx.recv() => m,
                () = sleep_until_opt(deadline) => {
                    self.flush_or_stop().await;
                    continue;
                }
            };
            let Some(msg) = msg else {
                // The handle is gone: unflushed rows are abandoned.
                return;
            };
            if lock(&self.status).failed.is_some() {
                if let Msg::Flush(reply) = msg {
                    let _ = reply.send(Err(self.failure()));
                }
                continue;
            }
            match msg {
                Msg::Batch(batch, permit) => {
                    self.rows += batch.num_rows();
                    self.bytes += batch.get_array_memory_size();
                    self.first_at.get_or_insert_with(Instant::now);
                    self.buffer.push((batch, permit));
                    if self.rows >= self.config.max_rows || self.bytes >= self.config.max_bytes {
                        self.flush_or_stop().await;
                    }
                }
                Msg::Watermark(w) => self.watermark = self.watermark.max(Some(w)),
                Msg::Flush(reply) => {
                    let result = self.flush().await;
                    let result = match result {
                        Ok(ack) => Ok(ack),
                        Err(e) => {
                            self.fail(&e);
                            Err(e)
                        }
                    };
                    let _ = reply.send(result);
                }
            }
        }
    }

    fn failure(&self) -> Error {
        match &lock(&self.status).failed {
            Some((kind, message)) => Error::new(*kind, message.clone()),
            None => Error::new(ErrorKind::Unexpected, "stream writer failed"),
        }
    }

    fn fail(&mut self, e: &Error) {
        lock(&self.status).failed = Some((e.kind(), e.to_string()));
        self.buffer.clear();
        self.rows = 0;
        self.bytes = 0;
        self.first_at = None;
    }

    async fn flush_or_stop(&mut self) {
        if let Err(e) = self.flush().await {
            self.fail(&e);
        }
    }

    /// Writes the buffered rows and commits them as the next micro-batch.
    async fn flush(&mut self) -> Result<Option<AppendAck>> {
        if self.buffer.is_empty() {
            return Ok(None);
        }
        let files = self.write_files().await?;
        let seq = lock(&self.status).next_seq;
        let intent = AppendIntent {
            table: self.table.ident().clone(),
            writer_id: self.config.writer_id.clone(),
            epoch: self.epoch,
            seq,
            watermark_ms: self.watermark,
            data_files: files.clone(),
        };
        let mut unknown = 0_u32;
        let ack = loop {
            match self.committer.submit(intent.clone()).await {
                Ok(ack) => break ack,
                Err(e)
                    if matches!(e.kind(), ErrorKind::CommitStateUnknown | ErrorKind::Io)
                        && unknown < self.config.max_unknown_retries =>
                {
                    unknown += 1;
                    tokio::time::sleep(Duration::from_millis(10 << unknown.min(6))).await;
                }
                Err(e) => {
                    if e.kind() != ErrorKind::CommitStateUnknown {
                        self.delete_files(&files).await;
                    }
                    let message = if e.kind() == ErrorKind::CommitFailed {
                        format!(
                            "stream writer `{}` (epoch {}) cannot commit micro-batch {seq} of {}: {}",
                            self.config.writer_id,
                            self.epoch,
                            self.table.ident(),
                            e.message()
                        )
                    } else {
                        e.to_string()
                    };
                    return Err(Error::new(e.kind(), message));
                }
            }
        };
        if ack.duplicate && unknown == 0 {
            // Another instance committed this seq: this one is a zombie.
            self.delete_files(&files).await;
            return Err(Error::new(
                ErrorKind::CommitFailed,
                format!(
                    "stream writer `{}` (epoch {}): micro-batch {seq} of {} was already committed by another instance",
                    self.config.writer_id,
                    self.epoch,
                    self.table.ident()
                ),
            ));
        }
        {
            let mut status = lock(&self.status);
            status.next_seq = seq + 1;
            status.last_ack = Some(ack);
            status.flushes += 1;
        }
        self.buffer.clear();
        self.rows = 0;
        self.bytes = 0;
        self.first_at = None;
        Ok(Some(ack))
    }

    async fn write_files(&mut self) -> Result<Vec<DataFile>> {
        let md = self.table.metadata().clone();
        let mut writer = PartitionedWriter::try_new(
            Arc::clone(&self.context),
            md.current_schema(),
            md.default_partition_spec(),
            Arc::clone(&self.locations),
        )?;
        for (batch, _) in &self.buffer {
            if let Err(e) = writer.write(batch).await {
                writer.abort().await.ok();
                return Err(e);
            }
        }
        writer.close().await
    }

    async fn delete_files(&self, files: &[DataFile]) {
        for f in files {
            self.table.storage().delete(&f.file_path).await.ok();
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}
