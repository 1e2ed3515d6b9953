//! Conflict validation: what other writers committed since a transaction started, and
//! the checks of checklist §5 (Java `MergingSnapshotProducer`'s `validate*` methods).
//!
//! - [`History::load`] reads the files added and removed by the snapshots committed on
//!   a branch after the transaction's starting snapshot (only manifests those snapshots
//!   wrote are read).
//! - [`FileFilter`] decides, from partition values and column metrics, whether all,
//!   some or none of a file's rows match a row filter.
//! - The `History` checks return a `CommitFailed` error that names the operation, the
//!   conflicting file and the snapshot that committed it.

use std::collections::{HashMap, HashSet};

use floe_spec::expr::{
    BoundExpression, ColumnStats, Expression, InclusiveMetricsEvaluator, PartitionFilter,
    StrictMetricsEvaluator, strict_projection_bound,
};
use floe_spec::manifest::{DataContentType, DataFile, ManifestEntry, ManifestStatus};
use floe_spec::snapshot::{Operation, SnapshotRef};
use floe_spec::table_metadata::TableMetadata;
use floe_spec::values::Datum;

use crate::error::{Error, Result};
use crate::table::Storage;

/// How many of a file's rows match a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Match {
    /// Every row matches.
    All,
    /// Some rows may match.
    Some,
    /// No row matches.
    None,
}

/// A row filter bound to a table, evaluated on files of any partition spec.
#[derive(Debug, Clone)]
pub(crate) struct FileFilter {
    expr: Expression,
    bound: BoundExpression,
    inclusive: InclusiveMetricsEvaluator,
    strict: StrictMetricsEvaluator,
    /// spec id → (strict partition filter, inclusive partition filter).
    specs: HashMap<i32, (BoundExpression, PartitionFilter)>,
}

impl FileFilter {
    /// Binds `filter` to the current schema of `metadata` (an unknown column is a
    /// `DataInvalid` error naming it).
    pub(crate) fn new(filter: &Expression, metadata: &TableMetadata) -> Result<Self> {
        let schema = metadata.current_schema();
        let bound = filter
            .rewrite_not()
            .bind(schema, true)
            .map_err(|e| Error::invalid(format!("invalid filter `{filter}`: {}", e.message())))?;
        let mut specs = HashMap::new();
        for (id, spec) in metadata.partition_specs() {
            let Ok(partition_type) = spec.partition_type(schema) else {
                continue;
            };
            let strict =
                strict_projection_bound(spec, &bound)?.bind_struct(&partition_type, true)?;
            let inclusive = PartitionFilter::from_bound(&bound, spec, schema)?;
            specs.insert(*id, (strict, inclusive));
        }
        Ok(Self {
            expr: filter.clone(),
            inclusive: InclusiveMetricsEvaluator::new(&bound),
            strict: StrictMetricsEvaluator::new(&bound),
            bound,
            specs,
        })
    }

    /// The unbound filter.
    pub(crate) fn expression(&self) -> &Expression {
        &self.expr
    }

    /// How many rows of `file` (of partition spec `spec_id`) match.
    pub(crate) fn classify(&self, file: &DataFile, spec_id: i32) -> Match {
        if matches!(self.bound, BoundExpression::True) {
            return Match::All;
        }
        if matches!(self.bound, BoundExpression::False) {
            return Match::None;
        }
        let stats = ColumnStats {
            record_count: file.record_count,
            value_counts: &file.value_counts,
            null_value_counts: &file.null_value_counts,
            nan_value_counts: &file.nan_value_counts,
            lower_bounds: &file.lower_bounds,
            upper_bounds: &file.upper_bounds,
        };
        if let Some((strict, inclusive)) = self.specs.get(&spec_id) {
            if !inclusive.matches(&file.partition) {
                return Match::None;
            }
            if strict.eval_tuple(&file.partition) {
                return Match::All;
            }
        }
        if !self.inclusive.eval(&stats) {
            return Match::None;
        }
        // Delete files' metrics describe delete rows, not data: only partitions count.
        if file.content == DataContentType::Data && self.strict.eval(&stats) {
            return Match::All;
        }
        Match::Some
    }

    /// Whether `file` may hold a matching row.
    pub(crate) fn may_match(&self, file: &DataFile, spec_id: i32) -> bool {
        self.classify(file, spec_id) != Match::None
    }
}

/// What a conflict check looks at: rows matching a filter, whole partitions, or
/// everything.
#[derive(Debug, Clone)]
pub(crate) enum ConflictScope {
    /// Every file.
    All,
    /// Files that may hold rows matching the filter.
    Filter(Box<FileFilter>),
    /// Files in these (spec id, partition) partitions; an unpartitioned spec matches all
    /// of its files.
    Partitions(HashSet<(i32, Vec<Option<Datum>>)>),
}

impl ConflictScope {
    fn matches(&self, file: &DataFile, spec_id: i32) -> bool {
        match self {
            Self::All => true,
            Self::Filter(f) => f.may_match(file, spec_id),
            Self::Partitions(p) => p.contains(&(spec_id, file.partition.clone())),
        }
    }
}

/// A file added or removed by a snapshot committed since the transaction started.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub snapshot_id: i64,
    pub operation: Operation,
    pub spec_id: i32,
    pub entry: ManifestEntry,
}

/// The changes committed by other writers since the transaction started.
#[derive(Debug, Clone, Default)]
pub(crate) struct History {
    pub changes: Vec<Change>,
}

impl History {
    /// Reads the files added and removed by `snapshots`.
    pub(crate) async fn load(
        storage: &Storage,
        metadata: &TableMetadata,
        snapshots: &[SnapshotRef],
    ) -> Result<Self> {
        let mut changes = Vec::new();
        for s in snapshots {
            for m in storage.manifest_list(metadata, &s.manifest_list).await? {
                if m.added_snapshot_id != s.snapshot_id {
                    continue;
                }
                for entry in storage.manifest_entries(&m).await? {
                    if entry.status != ManifestStatus::Existing
                        && entry.snapshot_id == Some(s.snapshot_id)
                    {
                        changes.push(Change {
                            snapshot_id: s.snapshot_id,
                            operation: s.summary.operation,
                            spec_id: m.partition_spec_id,
                            entry,
                        });
                    }
                }
            }
        }
        Ok(Self { changes })
    }

    fn conflict(op: &str, what: &str, c: &Change) -> Error {
        Error::commit_failed(format!(
            "{op}: found conflicting files that can contain records matching the operation: \
             {what} `{}` by snapshot {} ({})",
            c.entry.data_file.file_path,
            c.snapshot_id,
            c.operation.as_str()
        ))
    }

    /// Java `validateAddedDataFiles`: no data file matching `scope` was added by an
    /// append or overwrite.
    pub(crate) fn no_added_data(&self, op: &str, scope: &ConflictScope) -> Result<()> {
        for c in &self.changes {
            if c.entry.status == ManifestStatus::Added
                && c.entry.data_file.content == DataContentType::Data
                && matches!(c.operation, Operation::Append | Operation::Overwrite)
                && scope.matches(&c.entry.data_file, c.spec_id)
            {
                return Err(Self::conflict(op, "data file added", c));
            }
        }
        Ok(())
    }

    /// Java `validateDeletedDataFiles`: no data file matching `scope` was removed.
    ///
    /// Files removed by a `replace` snapshot (compaction) do not count: a replace keeps
    /// the same rows in other files, and the operations checked here derive what they
    /// remove from the new parent on every attempt (filters, partitions), while files
    /// they name explicitly are checked to be still live. So a delete or overwrite
    /// never fails because maintenance compacted its files meanwhile.
    pub(crate) fn no_deleted_data(&self, op: &str, scope: &ConflictScope) -> Result<()> {
        for c in &self.changes {
            if c.entry.status == ManifestStatus::Deleted
                && c.operation != Operation::Replace
                && c.entry.data_file.content == DataContentType::Data
                && scope.matches(&c.entry.data_file, c.spec_id)
            {
                return Err(Self::conflict(op, "data file removed", c));
            }
        }
        Ok(())
    }

    /// Java `validateNoNewDeleteFiles`: no delete file matching `scope` was added.
    pub(crate) fn no_new_delete_files(&self, op: &str, scope: &ConflictScope) -> Result<()> {
        for c in &self.changes {
            if c.entry.status == ManifestStatus::Added
                && c.entry.data_file.content != DataContentType::Data
                && scope.matches(&c.entry.data_file, c.spec_id)
            {
                return Err(Self::conflict(op, "delete file added", c));
            }
        }
        Ok(())
    }

    /// Java `validateNoNewDeletesForDataFiles`: no delete file added since the start
    /// applies to one of `files` (spec id, file). Equality deletes are ignored when
    /// `ignore_equality` (the replacing files keep the old data sequence number, so
    /// the new equality deletes still apply to them).
    pub(crate) fn no_new_deletes_for(
        &self,
        op: &str,
        files: &[(i32, DataFile)],
        unpartitioned_specs: &HashSet<i32>,
        ignore_equality: bool,
    ) -> Result<()> {
        for c in &self.changes {
            let d = &c.entry.data_file;
            if c.entry.status != ManifestStatus::Added || d.content == DataContentType::Data {
                continue;
            }
            if ignore_equality && d.content == DataContentType::EqualityDeletes {
                continue;
            }
            let global = d.content == DataContentType::EqualityDeletes
                && unpartitioned_specs.contains(&c.spec_id);
            for (spec_id, f) in files {
                let same_partition =
                    global || (*spec_id == c.spec_id && f.partition == d.partition);
                let referenced = d
                    .referenced_data_file
                    .as_ref()
                    .is_none_or(|r| *r == f.file_path);
                if same_partition && referenced && path_in_bounds(d, &f.file_path) {
                    return Err(Error::commit_failed(format!(
                        "{op}: found new delete file `{}` (snapshot {}, {}) for replaced data file `{}`",
                        d.file_path,
                        c.snapshot_id,
                        c.operation.as_str(),
                        f.file_path
                    )));
                }
            }
        }
        Ok(())
    }

    /// Java `validateDataFilesExist`: none of `paths` was removed since the start.
    pub(crate) fn data_files_exist(&self, op: &str, paths: &HashSet<String>) -> Result<()> {
        for c in &self.changes {
            if c.entry.status == ManifestStatus::Deleted
                && c.entry.data_file.content == DataContentType::Data
                && paths.contains(&c.entry.data_file.file_path)
            {
                return Err(Error::commit_failed(format!(
                    "{op}: cannot commit, missing data files: `{}` was removed by snapshot {} ({})",
                    c.entry.data_file.file_path,
                    c.snapshot_id,
                    c.operation.as_str()
                )));
            }
        }
        Ok(())
    }
}

/// Whether a position delete file's `file_path` bounds (field 2147483546) may include
/// `path`; without bounds, it may.
fn path_in_bounds(delete: &DataFile, path: &str) -> bool {
    const FILE_PATH_ID: i32 = 2_147_483_546;
    if delete.content != DataContentType::PositionDeletes {
        return true;
    }
    let lower_ok = match delete.lower_bounds.get(&FILE_PATH_ID) {
        Some(Datum::String(l)) => l.as_str() <= path,
        _ => true,
    };
    let upper_ok = match delete.upper_bounds.get(&FILE_PATH_ID) {
        Some(Datum::String(u)) => path <= u.as_str() || path.starts_with(u.as_str()),
        _ => true,
    };
    lower_ok && upper_ok
}
