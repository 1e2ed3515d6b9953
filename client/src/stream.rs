//! [`FloeStreamWriter`]: exactly-once micro-batch appends from the [`crate::Floe`]
//! facade.
//!
//! - Embedded catalog: the table crate's [`StreamWriter`] (row, byte and time
//!   triggers, group commit through one [`GroupCommitter`] per connection).
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
//! the buffer reaches [`REMOTE_MAX_ROWS`] rows.

use arrow::array::RecordBatch;
use floe_spec::Result;
use floe_table::Table;
use floe_table::stream::{AppendAck, AppendIntent, StreamWriter};

use crate::rest::RestCatalog;

/// A remote writer flushes on its own once this many rows are buffered.
pub const REMOTE_MAX_ROWS: usize = 100_000;

/// A stream writer of one table; see the module docs.
#[derive(Debug)]
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
    writer_id: String,
    /// The epoch and next seq when the server takes append intents.
    intents: Option<(i64, i64)>,
    buffer: Vec<RecordBatch>,
    rows: usize,
    watermark_ms: Option<i64>,
    last_ack: Option<AppendAck>,
}

impl FloeStreamWriter {
    pub(crate) fn embedded(writer: StreamWriter) -> Self {
        Self {
            inner: Inner::Embedded(writer),
        }
    }

    /// Opens writer `writer_id` of `table` through `rest` (see the module docs).
    pub(crate) async fn remote(rest: RestCatalog, table: Table, writer_id: &str) -> Result<Self> {
        floe_catalog::ident::validate_name("writer id", writer_id)?;
        let intents = if rest.offers_append_intents() {
            let opened =
                floe_catalog::Catalog::open_writer(&rest, table.ident(), writer_id).await?;
            Some((opened.epoch, opened.last_seq.saturating_add(1).max(0)))
        } else {
            None
        };
        Ok(Self {
            inner: Inner::Remote(Box::new(RemoteWriter {
                rest,
                table,
                writer_id: writer_id.to_owned(),
                intents,
                buffer: Vec::new(),
                rows: 0,
                watermark_ms: None,
                last_ack: None,
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

    /// Buffers a batch (a remote writer flushes at [`REMOTE_MAX_ROWS`] rows).
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match &mut self.inner {
            Inner::Embedded(w) => w.write(batch).await,
            Inner::Remote(r) => {
                r.rows += batch.num_rows();
                r.buffer.push(batch.clone());
                if r.rows >= REMOTE_MAX_ROWS {
                    r.flush().await?;
                }
                Ok(())
            }
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

    /// Commits what is buffered; the acknowledgement (`None` when nothing was
    /// buffered).
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
    async fn flush(&mut self) -> Result<Option<AppendAck>> {
        if self.buffer.is_empty() {
            return Ok(None);
        }
        // Files are written against the newest metadata (schema, spec, location).
        self.table.refresh().await?;
        let mut tx = self.table.new_transaction();
        let files = tx.write_batches(&self.buffer).await?;
        drop(tx);
        let ack = if let Some((epoch, seq)) = self.intents {
            let intent = AppendIntent {
                table: self.table.ident().clone(),
                writer_id: self.writer_id.clone(),
                epoch,
                seq,
                // One micro-batch at a time: nothing in flight to order behind.
                after_seq: None,
                watermark_ms: self.watermark_ms,
                data_files: files,
            };
            let ack = self
                .rest
                .append_intent(self.table.metadata(), &intent)
                .await?;
            self.intents = Some((epoch, seq + 1));
            ack
        } else {
            self.table = self.table.append_files(files).await?;
            let snap = self.table.current_snapshot().ok_or_else(|| {
                floe_spec::Error::new(
                    floe_spec::ErrorKind::Unexpected,
                    format!("append to {} left no current snapshot", self.table.ident()),
                )
            })?;
            AppendAck {
                snapshot_id: snap.snapshot_id,
                sequence_number: snap.sequence_number,
                duplicate: false,
            }
        };
        self.buffer.clear();
        self.rows = 0;
        self.last_ack = Some(ack);
        Ok(Some(ack))
    }
}
