//! [`FloeStreamWriter`]: exactly-once micro-batch appends from the [`crate::Floe`]
//! facade.
//!
//! - Embedded catalog: the table crate's [`StreamWriter`] (row, byte and time
//!   triggers, group commit through one [`GroupCommitter`](floe_table::stream::GroupCommitter) per connection).
//! - A REST catalog that offers Floe's append intents (`POST .../appends` and
//!   `POST .../writers/{writer-id}` in `/v1/config`'s endpoints): the writer opens on
//!   the server (taking an epoch that fences older instances), writes each flushed
//!   micro-batch's data files itself and sends them as one intent; the server
//!   group-commits intents of many writers into one snapshot and answers a seq it
//!   committed before as a duplicate.
//! - Any other REST catalog: each flush is a standard append commit (at-least-once: a
//!   retried flush after an unknown outcome may append twice).
//!
//! Remote writers flush when [`FloeStreamWriter::flush`] or `close` is called, or when
//! the buffer reaches [`StreamWriterConfig::max_rows`] rows (other triggers are the
//! embedded writer's only).
//!
//! Pipelining (remote writers with append intents): a flush triggered by `write`
//! does not wait for the answer; up to [`StreamWriterConfig::max_in_flight`]
//! intents are sent and not yet acknowledged, each naming its predecessor
//! (`after-seq`), so the server never commits a micro-batch behind one it has not
//! committed. An intent that reached the server before its predecessor is refused
//! (409 `PredecessorNotCommittedException`) and sent again once the predecessor is
//! acknowledged; one with an unknown outcome (a lost answer, a server error) is sent
//! again with the same seq, up to [`StreamWriterConfig::max_unknown_retries`] times.
//! Acknowledgements are taken in seq order; any other failure stops the writer (every
//! later call returns it). [`FloeStreamWriter::flush`] and `close` wait for every
//! intent in flight.

use std::collections::VecDeque;
use std::sync::Arc;

use arrow::array::RecordBatch;
use floe_spec::{Error, ErrorKind, Result};
use floe_table::Table;
use floe_table::stream::{AppendAck, AppendIntent, Refusal, StreamWriter, StreamWriterConfig};
use tokio::task::JoinHandle;

use crate::rest::RestCatalog;

/// A remote writer flushes on its own once this many rows are buffered (the default
/// [`StreamWriterConfig::max_rows`]).
pub const REMOTE_MAX_ROWS: usize = 100_000;

/// A stream writer of one table; see the module docs.
pub struct FloeStreamWriter {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Embedded(StreamWriter),
    Remote(Box<RemoteWriter>),
}

#[derive(Debug)]
struct RemoteWriter {
    rest: RestCatalog,
    table: Table,
    config: StreamWriterConfig,
    /// The epoch and next seq when the server takes append intents.
    intents: Option<(i64, i64)>,
    buffer: Vec<RecordBatch>,
    rows: usize,
    watermark_ms: Option<i64>,
    last_ack: Option<AppendAck>,
    /// Intents sent and not yet acknowledged, oldest first.
    in_flight: VecDeque<InFlight>,
    /// The failure that stopped the writer.
    failed: Option<(ErrorKind, String)>,
}

/// One intent sent and not yet acknowledged.
#[derive(Debug)]
struct InFlight {
    intent: Arc<AppendIntent>,
    answer: JoinHandle<std::result::Result<AppendAck, Refusal>>,
    unknown_retries: u32,
    gap_retries: u32,
}

impl FloeStreamWriter {
    pub(crate) fn embedded(writer: StreamWriter) -> Self {
        Self {
            inner: Inner::Embedded(writer),
        }
    }

    /// Opens writer `config.writer_id` of `table` through `rest` (see the module
    /// docs).
    pub(crate) async fn remote(
        rest: RestCatalog,
        table: Table,
        config: StreamWriterConfig,
    ) -> Result<Self> {
        floe_catalog::ident::validate_name("writer id", &config.writer_id)?;
        let intents = if rest.offers_append_intents() {
            let opened =
                floe_catalog::Catalog::open_writer(&rest, table.ident(), &config.writer_id).await?;
            Some((opened.epoch, opened.last_seq.saturating_add(1).max(0)))
        } else {
            None
        };
        Ok(Self {
            inner: Inner::Remote(Box::new(RemoteWriter {
                rest,
                table,
                config,
                intents,
                buffer: Vec::new(),
                rows: 0,
                watermark_ms: None,
                last_ack: None,
                in_flight: VecDeque::new(),
                failed: None,
            })),
        })
    }

    /// Whether commits go through the server's append intents (exactly-once) rather
    /// than standard commits; always true for an embedded catalog.
    pub fn exactly_once(&self) -> bool {
        match &self.inner {
            Inner::Embedded(_) => true,
            Inner::Remote(r) => r.intents.is_some(),
        }
    }

    /// The writer's epoch (`None` for a remote writer without append intents).
    pub fn epoch(&self) -> Option<i64> {
        match &self.inner {
            Inner::Embedded(w) => Some(w.epoch()),
            Inner::Remote(r) => r.intents.map(|(e, _)| e),
        }
    }

    /// Buffers a batch (a remote writer sends a micro-batch at
    /// [`StreamWriterConfig::max_rows`] rows, pipelined: see the module docs).
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match &mut self.inner {
            Inner::Embedded(w) => w.write(batch).await,
            Inner::Remote(r) => {
                r.check()?;
                r.rows += batch.num_rows();
                r.buffer.push(batch.clone());
                if r.rows >= r.config.max_rows.max(1) {
                    r.send_buffer().await?;
                }
                Ok(())
            }
        }
    }

    /// How many micro-batches are sent and not yet acknowledged (always 0 for an
    /// embedded writer between calls, which keeps its own count).
    pub fn in_flight(&self) -> usize {
        match &self.inner {
            Inner::Embedded(_) => 0,
            Inner::Remote(r) => r.in_flight.len(),
        }
    }

    /// Declares the event-time watermark (ms) sent with the next micro-batch.
    pub fn advance_watermark(&mut self, watermark_ms: i64) -> Result<()> {
        match &mut self.inner {
            Inner::Embedded(w) => w.advance_watermark(watermark_ms),
            Inner::Remote(r) => {
                r.watermark_ms = Some(r.watermark_ms.map_or(watermark_ms, |w| w.max(watermark_ms)));
                Ok(())
            }
        }
    }

    /// Commits what is buffered and waits for every micro-batch in flight; the
    /// newest acknowledgement (`None` when nothing was buffered or in flight).
    pub async fn flush(&mut self) -> Result<Option<AppendAck>> {
        match &mut self.inner {
            Inner::Embedded(w) => w.flush().await,
            Inner::Remote(r) => r.flush().await,
        }
    }

    /// The last acknowledged micro-batch.
    pub fn last_ack(&self) -> Option<AppendAck> {
        match &self.inner {
            Inner::Embedded(w) => w.last_ack(),
            Inner::Remote(r) => r.last_ack,
        }
    }

    /// Flushes and closes; the last acknowledgement.
    pub async fn close(self) -> Result<Option<AppendAck>> {
        match self.inner {
            Inner::Embedded(w) => w.close().await,
            Inner::Remote(mut r) => {
                r.flush().await?;
                Ok(r.last_ack)
            }
        }
    }
}

impl RemoteWriter {
    /// The failure that stopped the writer, again.
    fn check(&self) -> Result<()> {
        match &self.failed {
            Some((kind, message)) => Err(Error::new(*kind, message.clone())),
            None => Ok(()),
        }
    }

    /// Stops the writer with `e`; the intents in flight are left to the server (each
    /// names its predecessor, so none commits behind the failed one).
    fn fail(&mut self, e: &Error) {
        self.failed = Some((e.kind(), e.message().to_owned()));
        self.in_flight.clear();
    }

    fn spawn(
        &self,
        intent: &Arc<AppendIntent>,
    ) -> JoinHandle<std::result::Result<AppendAck, Refusal>> {
        let rest = self.rest.clone();
        let metadata = Arc::clone(self.table.metadata());
        let intent = Arc::clone(intent);
        tokio::spawn(async move { rest.submit_intent(&metadata, &intent).await })
    }

    /// Writes the buffered rows' data files (against the newest metadata: schema,
    /// spec, location).
    async fn write_files(&mut self) -> Result<Vec<floe_spec::manifest::DataFile>> {
        self.table.refresh().await?;
        let mut tx = self.table.new_transaction();
        tx.write_batches(&self.buffer).await
    }

    /// Sends the buffered rows as one micro-batch (with append intents: pipelined,
    /// waiting only while `max_in_flight` are in flight; else one standard commit).
    async fn send_buffer(&mut self) -> Result<()> {
        self.check()?;
        if self.buffer.is_empty() {
            return Ok(());
        }
        let Some((epoch, seq)) = self.intents else {
            let files = self.write_files().await?;
            self.table = self.table.append_files(files).await?;
            let snap = self.table.current_snapshot().ok_or_else(|| {
                Error::new(
                    ErrorKind::Unexpected,
                    format!("append to {} left no current snapshot", self.table.ident()),
                )
            })?;
            self.last_ack = Some(AppendAck {
                snapshot_id: snap.snapshot_id,
                sequence_number: snap.sequence_number,
                duplicate: false,
            });
            self.buffer.clear();
            self.rows = 0;
            return Ok(());
        };
        while self.in_flight.len() >= self.config.max_in_flight.max(1) {
            self.settle_oldest().await?;
        }
        let files = self.write_files().await?;
        let intent = Arc::new(AppendIntent {
            table: self.table.ident().clone(),
            writer_id: self.config.writer_id.clone(),
            epoch,
            seq,
            // The micro-batch before it may still be in flight: name it.
            after_seq: Some(seq - 1),
            watermark_ms: self.watermark_ms,
            data_files: files,
        });
        let answer = self.spawn(&intent);
        self.in_flight.push_back(InFlight {
            intent,
            answer,
            unknown_retries: 0,
            gap_retries: 0,
        });
        self.intents = Some((epoch, seq + 1));
        self.buffer.clear();
        self.rows = 0;
        Ok(())
    }

    /// Waits for the oldest intent in flight: acknowledges it, sends it again (its
    /// predecessor was not committed yet; unknown outcome), or stops the writer.
    async fn settle_oldest(&mut self) -> Result<()> {
        let Some(mut oldest) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let answer = match (&mut oldest.answer).await {
            Ok(a) => a,
            Err(e) => Err(Refusal::Failed(Error::new(
                ErrorKind::CommitStateUnknown,
                format!("the append intent task ended without an answer: {e}"),
            ))),
        };
        let seq = oldest.intent.seq;
        let retries = self.config.max_in_flight as u32 + self.config.max_unknown_retries;
        let e = match answer {
            Ok(ack) => {
                self.last_ack = Some(ack);
                return Ok(());
            }
            // Every micro-batch before it is acknowledged now: sent again, it follows
            // its predecessor.
            Err(Refusal::Gap(_)) if oldest.gap_retries < retries => {
                oldest.gap_retries += 1;
                oldest.answer = self.spawn(&oldest.intent);
                self.in_flight.push_front(oldest);
                return Ok(());
            }
            Err(Refusal::Failed(e))
                if matches!(e.kind(), ErrorKind::CommitStateUnknown | ErrorKind::Io)
                    && oldest.unknown_retries < self.config.max_unknown_retries =>
            {
                // Same seq: committed before, it is answered as a duplicate.
                oldest.unknown_retries += 1;
                oldest.answer = self.spawn(&oldest.intent);
                self.in_flight.push_front(oldest);
                return Ok(());
            }
            Err(refusal) => refusal.into_error(),
        };
        let e = Error::new(
            e.kind(),
            format!(
                "stream writer `{}` of {}: micro-batch {seq}: {}",
                self.config.writer_id,
                self.table.ident(),
                e.message()
            ),
        );
        self.fail(&e);
        Err(e)
    }

    /// Sends what is buffered and waits for every intent in flight; the newest
    /// acknowledgement of this call.
    async fn flush(&mut self) -> Result<Option<AppendAck>> {
        self.check()?;
        if self.buffer.is_empty() && self.in_flight.is_empty() {
            return Ok(None);
        }
        self.send_buffer().await?;
        while !self.in_flight.is_empty() {
            self.settle_oldest().await?;
        }
        Ok(self.last_ack)
    }
}
