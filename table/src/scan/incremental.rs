//! Scans of what changed between two snapshots of a branch.
//!
//! - [`IncrementalAppendScan`]: the data files added by `append` snapshots in
//!   `(from, to]` (Java's `IncrementalAppendScan`); other operations are skipped.
//! - [`ChangelogScan`]: inserts and deletes between two snapshots, row by row, with
//!   the columns `_change_type` (`INSERT` / `DELETE`), `_change_ordinal` (the position
//!   of the snapshot in the range, from 0) and `_commit_snapshot_id`, like Java's
//!   `IncrementalChangelogScan`: rows of added data files are inserts; rows of removed
//!   data files (copy-on-write) are deletes, minus those already deleted before; rows
//!   newly deleted by delete files added in a snapshot (merge-on-read) are deletes.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
use futures::{StreamExt, TryStreamExt, stream};

use floe_spec::manifest::{DataContentType, DataFile, ManifestContentType, ManifestStatus};
use floe_spec::snapshot::{Operation, SnapshotRef};
use floe_spec::table_metadata::TableMetadata;

use super::plan::{FileScanTask, LiveEntry, PlanContext};
use super::reader::{ArrowRecordBatchStream, RowMode};
use super::{
    ArrowReader, ArrowReaderBuilder, SnapshotSelector, TableScanBuilder, resolve_snapshot,
};
use crate::error::{Error, Result, arrow_error};

/// The change type column of a changelog scan.
pub const CHANGE_TYPE_COLUMN: &str = "_change_type";
/// The change ordinal column of a changelog scan.
pub const CHANGE_ORDINAL_COLUMN: &str = "_change_ordinal";
/// The commit snapshot id column of a changelog scan.
pub const COMMIT_SNAPSHOT_ID_COLUMN: &str = "_commit_snapshot_id";

/// The snapshots in `(from, to]` along `to`'s ancestry, oldest first.
fn snapshots_between(
    metadata: &TableMetadata,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<Vec<SnapshotRef>> {
    let to = match to {
        Some(id) => resolve_snapshot(metadata, &SnapshotSelector::Id(id))?,
        None => resolve_snapshot(metadata, &SnapshotSelector::Current)?,
    };
    let Some(to) = to else {
        return Ok(Vec::new());
    };
    if let Some(f) = from
        && metadata.snapshot_by_id(f).is_none()
    {
        return Err(Error::invalid(format!(
            "cannot scan changes: snapshot {f} is not in the table"
        )));
    }
    let mut out = Vec::new();
    let mut current = Some(to);
    while let Some(s) = current {
        if Some(s.snapshot_id) == from {
            out.reverse();
            return Ok(out);
        }
        current = s
            .parent_snapshot_id
            .and_then(|p| metadata.snapshot_by_id(p).cloned());
        out.push(s);
    }
    if let Some(f) = from {
        return Err(Error::invalid(format!(
            "cannot scan changes: snapshot {f} is not an ancestor of snapshot {}",
            out.first().map_or(0, |s| s.snapshot_id)
        )));
    }
    out.reverse();
    Ok(out)
}

impl TableScanBuilder {
    /// The data appended by `append` snapshots after `from` (exclusive; `None` = from
    /// the first snapshot) up to `to` (inclusive; `None` = the current snapshot).
    pub fn appends_between(
        self,
        from: Option<i64>,
        to: Option<i64>,
    ) -> Result<IncrementalAppendScan> {
        let snapshots = snapshots_between(&self.metadata, from, to)?;
        let scan = self.snapshot(SnapshotSelector::Current).build()?;
        Ok(IncrementalAppendScan {
            ctx: scan.ctx,
            snapshots,
            batch_size: scan.batch_size,
        })
    }

    /// The row changes after `from` (exclusive; `None` = from the first snapshot) up to
    /// `to` (inclusive; `None` = the current snapshot).
    pub fn changelog_between(self, from: Option<i64>, to: Option<i64>) -> Result<ChangelogScan> {
        let snapshots = snapshots_between(&self.metadata, from, to)?;
        let scan = self.snapshot(SnapshotSelector::Current).build()?;
        Ok(ChangelogScan {
            ctx: scan.ctx,
            snapshots,
            batch_size: scan.batch_size,
        })
    }
}

fn reader_for(ctx: &PlanContext, batch_size: Option<usize>) -> Result<ArrowReader> {
    Ok(ArrowReaderBuilder::new(Arc::clone(&ctx.io))
        .with_table_metadata(&ctx.metadata)?
        .with_concurrency(ctx.concurrency)
        .with_batch_size(batch_size)
        .build())
}

fn added_in(e: &LiveEntry, snapshot_id: i64) -> bool {
    e.entry.status == ManifestStatus::Added && e.entry.snapshot_id == Some(snapshot_id)
}

/// The data appended between two snapshots (see the module docs).
#[derive(Debug, Clone)]
pub struct IncrementalAppendScan {
    ctx: PlanContext,
    snapshots: Vec<SnapshotRef>,
    batch_size: Option<usize>,
}

impl IncrementalAppendScan {
    /// The snapshots in the range, oldest first.
    pub fn snapshots(&self) -> &[SnapshotRef] {
        &self.snapshots
    }

    /// One task per data file added by an append snapshot of the range that may
    /// match the filter.
    pub async fn plan_files(&self) -> Result<Vec<FileScanTask>> {
        let mut tasks = Vec::new();
        for s in &self.snapshots {
            if s.summary.operation != Operation::Append {
                continue;
            }
            let list = self.ctx.manifest_list(s).await?;
            let manifests = list
                .entries
                .into_iter()
                .filter(|m| {
                    m.content == ManifestContentType::Data
                        && m.added_snapshot_id == s.snapshot_id
                        && m.has_added_files()
                })
                .collect();
            for e in self.ctx.read_manifests(manifests).await? {
                if added_in(&e, s.snapshot_id)
                    && e.entry.data_file.content == DataContentType::Data
                    && self.ctx.may_match(&e)
                {
                    tasks.push(self.ctx.task_with_deletes(&e, Vec::new()));
                }
            }
        }
        Ok(tasks)
    }

    /// Streams the appended rows.
    pub async fn to_stream(&self) -> Result<ArrowRecordBatchStream> {
        let tasks = self.plan_files().await?;
        Ok(reader_for(&self.ctx, self.batch_size)?.read(tasks))
    }

    /// Collects the appended rows (see [`ArrowReader::read_all`]).
    pub async fn to_arrow(&self) -> Result<Vec<RecordBatch>> {
        let tasks = self.plan_files().await?;
        reader_for(&self.ctx, self.batch_size)?
            .read_all(tasks)
            .await
    }
}

/// Whether changelog rows were inserted or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeType {
    /// Rows added.
    Insert,
    /// Rows removed.
    Delete,
}

impl ChangeType {
    /// `INSERT` or `DELETE`, as Java writes `_change_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Insert => "INSERT",
            ChangeType::Delete => "DELETE",
        }
    }
}

/// One unit of a changelog scan.
#[derive(Debug, Clone)]
pub struct ChangelogTask {
    /// Inserted or deleted rows.
    pub change_type: ChangeType,
    /// The snapshot's position in the range, from 0.
    pub change_ordinal: i32,
    /// The snapshot that made the change.
    pub commit_snapshot_id: i64,
    /// The data file, with the deletes that applied before the change.
    pub task: FileScanTask,
    /// For rows deleted by delete files: the delete files the snapshot added (the
    /// task returns the rows they delete); empty otherwise.
    pub added_deletes: Vec<Arc<DataFile>>,
}

/// Row changes between two snapshots (see the module docs).
#[derive(Debug, Clone)]
pub struct ChangelogScan {
    ctx: PlanContext,
    snapshots: Vec<SnapshotRef>,
    batch_size: Option<usize>,
}

impl ChangelogScan {
    /// The snapshots in the range, oldest first.
    pub fn snapshots(&self) -> &[SnapshotRef] {
        &self.snapshots
    }

    /// The changelog tasks, snapshot by snapshot.
    pub async fn plan_tasks(&self) -> Result<Vec<ChangelogTask>> {
        let mut out = Vec::new();
        for (ordinal, s) in self.snapshots.iter().enumerate() {
            let ordinal = i32::try_from(ordinal).unwrap_or(i32::MAX);
            let id = s.snapshot_id;
            let (data, deletes) = self.ctx.snapshot_files(s).await?;
            let (added_deletes, rest): (Vec<_>, Vec<_>) =
                deletes.into_iter().partition(|e| added_in(e, id));
            // Deletes live before this snapshot: kept ones and those it removed.
            let before: Vec<LiveEntry> = rest
                .into_iter()
                .filter(|e| {
                    e.entry.is_alive()
                        || (e.entry.status == ManifestStatus::Deleted
                            && e.entry.snapshot_id == Some(id))
                })
                .map(|mut e| {
                    e.entry.status = ManifestStatus::Existing;
                    e
                })
                .collect();
            let before_index = self.ctx.index_of(&before);
            let added_index = self.ctx.index_of(&added_deletes);
            let mut all = before.clone();
            all.extend(added_deletes.iter().cloned());
            let all_index = self.ctx.index_of(&all);
            let mut push = |change_type, task, added_deletes| {
                out.push(ChangelogTask {
                    change_type,
                    change_ordinal: ordinal,
                    commit_snapshot_id: id,
                    task,
                    added_deletes,
                });
            };
            for e in &data {
                if e.entry.data_file.content != DataContentType::Data || !self.ctx.may_match(e) {
                    continue;
                }
                let f = &e.entry.data_file;
                let files = |index: &super::delete_index::DeleteFileIndex| {
                    index
                        .for_data_file(f, e.seq(), e.spec_id)
                        .into_iter()
                        .map(|d| d.file)
                        .collect::<Vec<_>>()
                };
                if added_in(e, id) {
                    push(
                        ChangeType::Insert,
                        self.ctx.task_with_deletes(e, files(&all_index)),
                        Vec::new(),
                    );
                } else if e.entry.status == ManifestStatus::Deleted {
                    if e.entry.snapshot_id == Some(id) {
                        push(
                            ChangeType::Delete,
                            self.ctx.task_with_deletes(e, files(&before_index)),
                            Vec::new(),
                        );
                    }
                } else if !added_deletes.is_empty() {
                    let newly = files(&added_index);
                    if !newly.is_empty() {
                        push(
                            ChangeType::Delete,
                            self.ctx.task_with_deletes(e, files(&before_index)),
                            newly,
                        );
                    }
                }
            }
        }
        Ok(out)
    }

    /// Streams the changes: the selected columns plus `_change_type`,
    /// `_change_ordinal` and `_commit_snapshot_id`.
    pub async fn to_stream(&self) -> Result<ArrowRecordBatchStream> {
        let tasks = self.plan_tasks().await?;
        let reader = reader_for(&self.ctx, self.batch_size)?;
        let concurrency = self.ctx.concurrency;
        Ok(stream::iter(tasks)
            .map(move |t| {
                let reader = reader.clone();
                async move {
                    let mode = if t.added_deletes.is_empty() {
                        RowMode::Live
                    } else {
                        RowMode::DeletedBy(t.added_deletes.clone())
                    };
                    let (change, ordinal, snapshot) =
                        (t.change_type, t.change_ordinal, t.commit_snapshot_id);
                    let rows = reader.read_task(t.task, mode).await?;
                    Ok::<_, Error>(rows.map(move |b| {
                        b.and_then(|b| with_change_columns(&b, change, ordinal, snapshot))
                    }))
                }
            })
            .buffered(concurrency)
            .try_flatten()
            .boxed())
    }

    /// Collects the changes.
    pub async fn to_arrow(&self) -> Result<Vec<RecordBatch>> {
        self.to_stream().await?.try_collect().await
    }
}

fn with_change_columns(
    batch: &RecordBatch,
    change: ChangeType,
    ordinal: i32,
    snapshot_id: i64,
) -> Result<RecordBatch> {
    let n = batch.num_rows();
    let mut fields: Vec<Arc<Field>> = batch.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(
        CHANGE_TYPE_COLUMN,
        DataType::Utf8,
        false,
    )));
    fields.push(Arc::new(Field::new(
        CHANGE_ORDINAL_COLUMN,
        DataType::Int32,
        false,
    )));
    fields.push(Arc::new(Field::new(
        COMMIT_SNAPSHOT_ID_COLUMN,
        DataType::Int64,
        false,
    )));
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns.push(Arc::new(StringArray::from(vec![change.as_str(); n])));
    columns.push(Arc::new(Int32Array::from(vec![ordinal; n])));
    columns.push(Arc::new(Int64Array::from(vec![snapshot_id; n])));
    RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), columns)
        .map_err(|e| arrow_error("changelog columns", e))
}
