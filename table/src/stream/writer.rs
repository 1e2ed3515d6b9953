//! [`StreamWriter`]: an exactly-once micro-batch stream writer of Arrow batches.
//!
//! # Contract
//!
//! Opening a writer takes a new epoch from the catalog
//! ([`floe_catalog::Catalog::open_writer`]): every older instance of the same writer id
//! is fenced from then on, and the new instance resumes at the stored last seq + 1.
//! Batches are buffered and flushed as one micro-batch when the buffered rows or bytes,
//! or the time since the first buffered row, reach [`StreamWriterConfig`]'s triggers
//! (or on [`StreamWriter::flush`]). A flush writes one data file per partition (with
//! the codec of [`WriterConfig::for_micro_batches`](crate::writer::WriterConfig::for_micro_batches):
//! snappy unless the table names a codec) and submits one [`AppendIntent`] `(writer id, epoch, seq, watermark)` to the
//! [`GroupCommitter`].
//!
//! Pipelining: a flush does not wait for the commits of the micro-batches before it.
//! Up to [`StreamWriterConfig::max_in_flight`] micro-batches are submitted and not yet
//! acknowledged; the next one waits until the oldest is acknowledged. Seqs are
//! assigned in flush order and every intent names its predecessor
//! ([`AppendIntent::after_seq`]), so the committer never commits a micro-batch behind
//! one that is not committed: a writer's micro-batches commit and are acknowledged in
//! seq order, and none is skipped. A micro-batch refused because its predecessor was
//! not committed yet (the predecessor's outcome was unknown and it is being retried)
//! is resubmitted once the predecessor is acknowledged.
//!
//! Memory is bounded: batches hold a share of [`StreamWriterConfig::max_buffered_bytes`]
//! until their micro-batch is acknowledged, and [`StreamWriter::write`] waits for room
//! when commits fall behind (backpressure).
//!
//! Failure: an unknown commit outcome is retried with the same seq (a committed batch
//! is then answered as a duplicate, nothing is added twice). A fenced writer, or any
//! other failure, stops the writer: every later call returns the error, and the
//! micro-batches in flight behind the failed one (refused by the committer, since
//! their predecessor is not committed) are answered with it. Dropping or aborting a
//! writer abandons its unflushed rows; a new instance (same writer id) resumes after
//! the last committed micro-batch, which the application maps back to its input (for
//! example, by flushing explicitly at known input positions).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use arrow::array::RecordBatch;
use floe_spec::manifest::DataFile;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::committer::{Answer, GroupCommitter, Refusal, lost_answer};
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
    /// The most micro-batches submitted and not yet acknowledged (default 4; 1: each
    /// micro-batch waits for the acknowledgement of the one before).
    pub max_in_flight: usize,
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
            max_in_flight: 4,
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
    in_flight: usize,
    failed: Option<(ErrorKind, String)>,
}

type FlushReply = oneshot::Sender<Result<Option<AppendAck>>>;

enum Msg {
    Batch(RecordBatch, OwnedSemaphorePermit),
    Watermark(i64),
    Flush(FlushReply),
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

/// A flush started with [`StreamWriter::begin_flush`]: [`PendingFlush::wait`] gives
/// its answer.
#[derive(Debug)]
pub struct PendingFlush {
    rx: oneshot::Receiver<Result<Option<AppendAck>>>,
    writer_id: String,
    status: Arc<Mutex<Status>>,
}

impl PendingFlush {
    /// Waits until the micro-batch of the flush (and every one before it) is
    /// acknowledged: its answer, or `None` when nothing was buffered or in flight.
    pub async fn wait(self) -> Result<Option<AppendAck>> {
        if let Ok(result) = self.rx.await {
            return result;
        }
        if let Some((kind, message)) = &lock(&self.status).failed {
            return Err(Error::new(*kind, message.clone()));
        }
        Err(Error::new(
            ErrorKind::Unexpected,
            format!("stream writer `{}` stopped", self.writer_id),
        ))
    }
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
        let context = Arc::new(WriterContext::for_micro_batches(
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
            in_flight: VecDeque::new(),
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

    /// The seq the next flushed micro-batch takes.
    pub fn next_seq(&self) -> i64 {
        lock(&self.status).next_seq
    }

    /// The answer to the last acknowledged micro-batch.
    pub fn last_ack(&self) -> Option<AppendAck> {
        lock(&self.status).last_ack
    }

    /// How many micro-batches of this instance were acknowledged.
    pub fn flushes(&self) -> u64 {
        lock(&self.status).flushes
    }

    /// How many micro-batches are submitted and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        lock(&self.status).in_flight
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

    /// Flushes the buffered rows now and waits until they (and every micro-batch in
    /// flight) are acknowledged; `None` when nothing was buffered or in flight.
    pub async fn flush(&self) -> Result<Option<AppendAck>> {
        self.begin_flush()?.wait().await
    }

    /// Flushes the buffered rows as the next micro-batch without waiting for its
    /// commit: the writer goes on taking batches while it commits (up to
    /// `max_in_flight` micro-batches). The flush is ordered after every batch written
    /// before this call.
    pub fn begin_flush(&self) -> Result<PendingFlush> {
        let (tx, rx) = oneshot::channel();
        self.send(Msg::Flush(tx))?;
        Ok(PendingFlush {
            rx,
            writer_id: self.writer_id.clone(),
            status: Arc::clone(&self.status),
        })
    }

    /// Flushes, waits for every micro-batch in flight, then stops the writer.
    pub async fn close(mut self) -> Result<Option<AppendAck>> {
        let ack = self.flush().await;
        self.tx = None;
        if let Some(task) = self.task.take() {
            task.await.ok();
        }
        ack
    }

    /// Stops the writer at once, as a crash would: buffered rows are abandoned and the
    /// micro-batches in flight may or may not commit.
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

/// A micro-batch submitted and not yet acknowledged.
struct InFlight {
    intent: AppendIntent,
    answer: oneshot::Receiver<Answer>,
    /// The buffer share of its batches, given back on the acknowledgement.
    _permits: Vec<OwnedSemaphorePermit>,
    /// Submissions after an unknown outcome.
    unknown_retries: u32,
    /// Submissions after a refusal for a predecessor not committed yet.
    gap_retries: u32,
    /// Flushes waiting for it.
    waiters: Vec<FlushReply>,
}

/// The writer task: buffers, flushes, submits and settles the answers in order.
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
    in_flight: VecDeque<InFlight>,
}

/// The answer to the oldest micro-batch in flight (never, when none is).
async fn oldest_answer(in_flight: &mut VecDeque<InFlight>) -> Answer {
    match in_flight.front_mut() {
        Some(f) => (&mut f.answer)
            .await
            .unwrap_or_else(|_| Err(Refusal::Failed(lost_answer()))),
        None => std::future::pending().await,
    }
}

impl Task {
    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        loop {
            let deadline = self.first_at.map(|t| t + self.config.max_delay);
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(msg) => self.handle(msg).await,
                    // The handle is gone: unflushed rows are abandoned; micro-batches
                    // in flight go on in the committer.
                    None => return,
                },
                () = sleep_until_opt(deadline) => self.flush(None).await,
                answer = oldest_answer(&mut self.in_flight) => self.settle(answer).await,
            }
        }
    }

    async fn handle(&mut self, msg: Msg) {
        if lock(&self.status).failed.is_some() {
            if let Msg::Flush(reply) = msg {
                let _ = reply.send(Err(self.failure()));
            }
            return;
        }
        match msg {
            Msg::Batch(batch, permit) => {
                self.rows += batch.num_rows();
                self.bytes += batch.get_array_memory_size();
                self.first_at.get_or_insert_with(Instant::now);
                self.buffer.push((batch, permit));
                if self.rows >= self.config.max_rows || self.bytes >= self.config.max_bytes {
                    self.flush(None).await;
                }
            }
            Msg::Watermark(w) => self.watermark = self.watermark.max(Some(w)),
            Msg::Flush(reply) => self.flush(Some(reply)).await,
        }
    }

    fn failure(&self) -> Error {
        match &lock(&self.status).failed {
            Some((kind, message)) => Error::new(*kind, message.clone()),
            None => Error::new(ErrorKind::Unexpected, "stream writer failed"),
        }
    }

    fn set_in_flight(&self) {
        lock(&self.status).in_flight = self.in_flight.len();
    }

    /// Stops the writer with `e`: buffered rows are dropped, every micro-batch in
    /// flight is waited for (the committer refuses those behind the failed one) and
    /// its flushes answered.
    async fn fail(&mut self, e: &Error) {
        lock(&self.status).failed = Some((e.kind(), e.to_string()));
        self.buffer.clear();
        self.rows = 0;
        self.bytes = 0;
        self.first_at = None;
        while let Some(f) = self.in_flight.front_mut() {
            let answer = (&mut f.answer)
                .await
                .unwrap_or_else(|_| Err(Refusal::Failed(lost_answer())));
            let Some(f) = self.in_flight.pop_front() else {
                break;
            };
            let result = match answer {
                // Committed after all (its predecessor's outcome was unknown).
                Ok(ack) => Ok(Some(ack)),
                Err(refusal) => {
                    let refused = refusal.into_error();
                    if refused.kind() != ErrorKind::CommitStateUnknown {
                        self.delete_files(&f.intent.data_files).await;
                    }
                    Err(Error::new(e.kind(), e.to_string()))
                }
            };
            for w in f.waiters {
                let _ = w.send(match &result {
                    Ok(ack) => Ok(*ack),
                    Err(e) => Err(Error::new(e.kind(), e.to_string())),
                });
            }
        }
        self.set_in_flight();
    }

    /// Writes the buffered rows and submits them as the next micro-batch, after
    /// waiting for room among the micro-batches in flight. `reply` is answered when it
    /// is acknowledged (with nothing buffered: when the newest micro-batch in flight
    /// is, or at once when none is).
    async fn flush(&mut self, reply: Option<FlushReply>) {
        if lock(&self.status).failed.is_some() {
            if let Some(reply) = reply {
                let _ = reply.send(Err(self.failure()));
            }
            return;
        }
        if self.buffer.is_empty() {
            match (self.in_flight.back_mut(), reply) {
                (Some(newest), Some(reply)) => newest.waiters.push(reply),
                (None, Some(reply)) => {
                    let _ = reply.send(Ok(None));
                }
                (_, None) => {}
            }
            return;
        }
        let files = match self.write_files().await {
            Ok(files) => files,
            Err(e) => {
                if let Some(reply) = reply {
                    let _ = reply.send(Err(Error::new(e.kind(), e.to_string())));
                }
                self.fail(&e).await;
                return;
            }
        };
        while self.in_flight.len() >= self.config.max_in_flight.max(1) {
            let answer = oldest_answer(&mut self.in_flight).await;
            self.settle(answer).await;
        }
        if lock(&self.status).failed.is_some() {
            self.delete_files(&files).await;
            if let Some(reply) = reply {
                let _ = reply.send(Err(self.failure()));
            }
            return;
        }
        let seq = lock(&self.status).next_seq;
        let intent = AppendIntent {
            table: self.table.ident().clone(),
            writer_id: self.config.writer_id.clone(),
            epoch: self.epoch,
            seq,
            watermark_ms: self.watermark,
            after_seq: Some(seq - 1),
            data_files: files,
        };
        let answer = match self.committer.enqueue(intent.clone()) {
            Ok(answer) => answer,
            Err(e) => {
                self.delete_files(&intent.data_files).await;
                if let Some(reply) = reply {
                    let _ = reply.send(Err(Error::new(e.kind(), e.to_string())));
                }
                self.fail(&e).await;
                return;
            }
        };
        lock(&self.status).next_seq = seq + 1;
        let permits = self.buffer.drain(..).map(|(_, p)| p).collect();
        self.rows = 0;
        self.bytes = 0;
        self.first_at = None;
        self.in_flight.push_back(InFlight {
            intent,
            answer,
            _permits: permits,
            unknown_retries: 0,
            gap_retries: 0,
            waiters: reply.into_iter().collect(),
        });
        self.set_in_flight();
    }

    /// Settles the answer to the oldest micro-batch in flight: acknowledges it,
    /// resubmits it (unknown outcome; predecessor not committed yet), or stops the
    /// writer.
    async fn settle(&mut self, answer: Answer) {
        let Some(mut oldest) = self.in_flight.pop_front() else {
            return;
        };
        let seq = oldest.intent.seq;
        let error = match answer {
            Ok(ack) if ack.duplicate && oldest.unknown_retries == 0 => {
                // Another instance committed this seq: this one is a zombie.
                self.delete_files(&oldest.intent.data_files).await;
                Error::new(
                    ErrorKind::CommitFailed,
                    format!(
                        "stream writer `{}` (epoch {}): micro-batch {seq} of {} was already committed by another instance",
                        self.config.writer_id,
                        self.epoch,
                        self.table.ident()
                    ),
                )
            }
            Ok(ack) => {
                {
                    let mut status = lock(&self.status);
                    status.last_ack = Some(ack);
                    status.flushes += 1;
                }
                for w in oldest.waiters {
                    let _ = w.send(Ok(Some(ack)));
                }
                self.set_in_flight();
                return;
            }
            // Every micro-batch before it is acknowledged now: its predecessor is
            // committed, so a resubmission follows it.
            Err(Refusal::Gap(e))
                if oldest.gap_retries
                    < self.config.max_in_flight as u32 + self.config.max_unknown_retries =>
            {
                drop(e);
                oldest.gap_retries += 1;
                self.resubmit(oldest).await;
                return;
            }
            Err(refusal) => {
                let e = refusal.into_error();
                if matches!(e.kind(), ErrorKind::CommitStateUnknown | ErrorKind::Io)
                    && oldest.unknown_retries < self.config.max_unknown_retries
                {
                    oldest.unknown_retries += 1;
                    let n = oldest.unknown_retries.min(6);
                    tokio::time::sleep(Duration::from_millis(10 << n)).await;
                    self.resubmit(oldest).await;
                    return;
                }
                if e.kind() != ErrorKind::CommitStateUnknown {
                    self.delete_files(&oldest.intent.data_files).await;
                }
                if e.kind() == ErrorKind::CommitFailed {
                    Error::new(
                        e.kind(),
                        format!(
                            "stream writer `{}` (epoch {}) cannot commit micro-batch {seq} of {}: {}",
                            self.config.writer_id,
                            self.epoch,
                            self.table.ident(),
                            e.message()
                        ),
                    )
                } else {
                    e
                }
            }
        };
        for w in oldest.waiters {
            let _ = w.send(Err(Error::new(error.kind(), error.to_string())));
        }
        self.fail(&error).await;
    }

    /// Submits the oldest micro-batch again, as the oldest.
    async fn resubmit(&mut self, mut oldest: InFlight) {
        match self.committer.enqueue(oldest.intent.clone()) {
            Ok(answer) => {
                oldest.answer = answer;
                self.in_flight.push_front(oldest);
            }
            Err(e) => {
                for w in oldest.waiters {
                    let _ = w.send(Err(Error::new(e.kind(), e.to_string())));
                }
                self.fail(&e).await;
            }
        }
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
