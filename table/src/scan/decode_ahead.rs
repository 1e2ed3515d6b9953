//! Decoding a file's record batches on a task of their own, so that several files of
//! a scan are decoded at once (on all the runtime's workers) while the output keeps
//! task order.
//!
//! [`decode_ahead`] spawns a Tokio task that drives a file's batch stream (Parquet
//! decoding, deletes, residual filter) into a bounded channel, and returns the receiving
//! end as a stream. The reader opens a bounded number of files at a time, so at most that
//! many files are decoded ahead, each holding at most [`AHEAD_BATCHES`] decoded batches
//! when the rows are streamed. When they are all collected anyway
//! ([`crate::scan::ArrowReader::read_all`]) a file decodes all its batches ahead
//! ([`AHEAD_ALL`]): with a short channel, the files behind the one being consumed stall
//! after a few batches and the scan runs at the pace of one file. Dropping the returned stream
//! aborts the task; a task that panics ends the stream with an error (never with a
//! silently short result).

use futures::{StreamExt, stream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::reader::ArrowRecordBatchStream;
use crate::error::{Error, ErrorKind, Result};

/// Decoded batches a file's task may hold before the consumer takes them, when streaming.
pub(crate) const AHEAD_BATCHES: usize = 2;

/// As many batches as a file may have: no limit, for a consumer that keeps every batch.
pub(crate) const AHEAD_ALL: usize = 1 << 24;

/// Aborts the task when the stream reading it is dropped.
struct AbortOnDrop(Option<JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(h) = self.0.take() {
            h.abort();
        }
    }
}

/// Drives `input` on a task of the current Tokio runtime (inline when there is none),
/// at most `ahead` batches ahead of the consumer, and streams its items in order.
pub(crate) fn decode_ahead(input: ArrowRecordBatchStream, ahead: usize) -> ArrowRecordBatchStream {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return input;
    };
    let (tx, rx) = mpsc::channel::<Result<arrow::array::RecordBatch>>(ahead.max(1));
    let handle = runtime.spawn(async move {
        let mut input = input;
        while let Some(item) = input.next().await {
            let failed = item.is_err();
            if tx.send(item).await.is_err() || failed {
                // The reader is gone, or the error ends the file.
                break;
            }
        }
    });
    stream::unfold(
        (rx, AbortOnDrop(Some(handle))),
        |(mut rx, mut task)| async move {
            if let Some(item) = rx.recv().await {
                return Some((item, (rx, task)));
            }
            // The task ended: normally, or by a panic that must not look like the end
            // of the file.
            let handle = task.0.take()?;
            match handle.await {
                Ok(()) => None,
                Err(e) => Some((
                    Err(Error::new(
                        ErrorKind::Unexpected,
                        format!("the task decoding a data file failed: {e}"),
                    )),
                    (rx, task),
                )),
            }
        },
    )
    .boxed()
}
