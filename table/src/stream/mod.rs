//! Exactly-once micro-batch streams: append intents, group commit and stream writers.
//!
//! - [`GroupCommitter`] gathers the [`AppendIntent`]s that arrive for a table within a
//!   short window into ONE snapshot (one manifest, one manifest list) and records every
//!   writer's progress `(writer id, epoch, seq, watermark)` in the same catalog
//!   transaction; each submitter gets its own [`AppendAck`]. The server's `appends`
//!   endpoint and embedded users share it.
//! - A writer instance takes a new epoch when it opens
//!   ([`floe_catalog::Catalog::open_writer`]); intents of older epochs are refused
//!   (fenced), and an intent whose seq was committed before is answered with the
//!   original snapshot and adds nothing.
//! - [`StreamWriter`] buffers Arrow batches, flushes micro-batches on row, byte or time
//!   triggers (one data file per partition) and commits them through the
//!   [`GroupCommitter`] with bounded memory (backpressure).
//!
//! ```no_run
//! # async fn demo(table: floe_table::Table, files: Vec<floe_spec::manifest::DataFile>)
//! # -> floe_table::Result<()> {
//! use floe_table::stream::{AppendIntent, GroupCommitter};
//! let committer = GroupCommitter::new(
//!     table.catalog().clone(),
//!     table.store().clone(),
//!     Default::default(),
//! );
//! let opened = table.catalog().open_writer(table.ident(), "ingest-1").await?;
//! let ack = committer
//!     .submit(AppendIntent {
//!         table: table.ident().clone(),
//!         writer_id: "ingest-1".into(),
//!         epoch: opened.epoch,
//!         seq: opened.last_seq + 1,
//!         watermark_ms: None,
//!         after_seq: None,
//!         data_files: files,
//!     })
//!     .await?;
//! println!("in snapshot {}", ack.snapshot_id);
//! # Ok(()) }
//! ```

mod committer;
mod intent;
mod writer;

pub use committer::{GroupCommitConfig, GroupCommitStats, GroupCommitter, Refusal};
pub use intent::{AppendAck, AppendIntent, GROUP_SIZE_SUMMARY_KEY, WATERMARK_SUMMARY_KEY};
pub use writer::{PendingFlush, StreamWriter, StreamWriterConfig};
