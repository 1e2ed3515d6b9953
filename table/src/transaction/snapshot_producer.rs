//! [`SnapshotUpdate`]: one operation that produces one snapshot — append (fast or
//! merging), overwrite, delete, dynamic partition replace, row delta, rewrite.
//!
//! Each commit attempt, [`SnapshotUpdate::apply`] works on the metadata of that
//! attempt (the refreshed table plus earlier operations of the same transaction):
//!
//! 1. finds the snapshots committed on the branch since the transaction started and
//!    validates against them (see [`super::validate`]);
//! 2. keeps the parent's manifests, rewriting those that hold files the operation
//!    removes (removed entries DELETED, the others EXISTING with their sequence
//!    numbers), and adds manifests for the new files — written once and reused by
//!    every attempt, since their entries inherit the sequence number;
//! 3. merges small manifests when the operation is a merge append;
//! 4. writes a new manifest list `snap-<id>-<attempt>-<uuid>.avro` with sequence number
//!    `last-sequence-number + 1` and adds the snapshot and the branch update to the
//!    builder.

use std::collections::{HashMap, HashSet};

use floe_spec::commit::TableMetadataBuilder;
use floe_spec::expr::{Expression, ManifestEvaluator};
use floe_spec::manifest::{
    DataContentType, DataFile, Manifest, ManifestContentType, ManifestEntry, ManifestMetadata,
    ManifestStatus, ManifestWriter, UNASSIGNED_SEQUENCE_NUMBER,
};
use floe_spec::manifest_list::{ManifestFile, ManifestListWriter};
use floe_spec::snapshot::{Operation, Snapshot, SnapshotReference, SnapshotRetention, Summary};
use floe_spec::table_metadata::{FormatVersion, TableMetadata};
use floe_spec::values::Datum;
use uuid::Uuid;

use super::retry::{
    DELETE_ISOLATION_LEVEL, IsolationLevel, MERGE_ISOLATION_LEVEL, UPDATE_ISOLATION_LEVEL,
};
use super::validate::{ConflictScope, FileFilter, History, Match};
use super::{AttemptContext, now_ms};
use crate::error::{Error, ErrorKind, Result};
use crate::summary::SummaryBuilder;
use crate::table::ancestors;

/// Table property: whether appends merge small manifests (default false, as
/// PyIceberg; Java defaults to true).
pub const MANIFEST_MERGE_ENABLED: &str = "commit.manifest-merge.enabled";
/// Table property: fewest manifests of one spec before the newest are merged.
pub const MANIFEST_MIN_MERGE_COUNT: &str = "commit.manifest.min-count-to-merge";
/// Default of [`MANIFEST_MIN_MERGE_COUNT`].
pub const MANIFEST_MIN_MERGE_COUNT_DEFAULT: usize = 100;
/// Table property: target size of merged manifests.
pub const MANIFEST_TARGET_SIZE_BYTES: &str = "commit.manifest.target-size-bytes";
/// Default of [`MANIFEST_TARGET_SIZE_BYTES`]: 8 MiB.
pub const MANIFEST_TARGET_SIZE_BYTES_DEFAULT: i64 = 8 * 1024 * 1024;
/// Table property: whether rewritten data files keep the starting snapshot's data
/// sequence number (default true), so that equality deletes committed concurrently
/// still apply to them.
pub const REWRITE_USE_STARTING_SEQUENCE_NUMBER: &str = "use-starting-sequence-number";
/// Table property: where manifests and manifest lists go instead of
/// `<location>/metadata`.
pub const WRITE_METADATA_PATH: &str = "write.metadata.path";

/// The kind of a snapshot-producing operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotKind {
    /// Adds data files in a new manifest; existing manifests are kept as they are.
    FastAppend,
    /// Adds data files and merges small manifests (`commit.manifest.*`).
    MergeAppend,
    /// Removes files (given, or whose rows all match a filter) and adds files.
    Overwrite,
    /// Removes files (given, or whose rows all match a filter).
    Delete,
    /// Adds data files and removes every data file of the partitions they touch.
    ReplacePartitions,
    /// Adds data files and position or equality delete files.
    RowDelta,
    /// Replaces data or delete files with others holding the same rows.
    Rewrite,
}

impl SnapshotKind {
    /// The name used in error messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::FastAppend => "fast append",
            Self::MergeAppend => "merge append",
            Self::Overwrite => "overwrite",
            Self::Delete => "delete",
            Self::ReplacePartitions => "replace partitions",
            Self::RowDelta => "row delta",
            Self::Rewrite => "rewrite files",
        }
    }

    fn isolation_property(self) -> Option<&'static str> {
        match self {
            Self::Delete => Some(DELETE_ISOLATION_LEVEL),
            Self::Overwrite | Self::ReplacePartitions => Some(UPDATE_ISOLATION_LEVEL),
            Self::RowDelta => Some(MERGE_ISOLATION_LEVEL),
            _ => None,
        }
    }
}

/// Manifest rewritten because it held removed files: kept for the next attempt.
#[derive(Debug, Clone)]
struct Filtered {
    /// The rewritten manifest (`None`: nothing removed, keep the original).
    manifest: Option<ManifestFile>,
    /// Removed files with their spec id.
    removed: Vec<(i32, DataFile)>,
    /// Explicitly named paths found in the manifest.
    found: Vec<String>,
    /// Removed data files with some rows that must be kept (rewritten).
    partial: Vec<DataFile>,
}

/// One snapshot-producing operation, configured with the builder methods and added to
/// a transaction with [`super::Transaction::add`].
#[derive(Debug, Clone)]
pub struct SnapshotUpdate {
    kind: SnapshotKind,
    branch: String,
    added_data: Vec<DataFile>,
    added_deletes: Vec<DataFile>,
    removed_data: HashSet<String>,
    removed_deletes: HashSet<String>,
    delete_filter: Option<Expression>,
    conflict_filter: Option<Expression>,
    isolation: Option<IsolationLevel>,
    referenced_data_files: HashSet<String>,
    summary_properties: HashMap<String, String>,
    /// Fan-in of the tiered merge of the newest small manifests (fast appends only).
    tiered_fan_in: Option<usize>,
    // State kept across attempts.
    snapshot_id: i64,
    commit_uuid: Uuid,
    manifest_count: u32,
    new_manifests: Option<Vec<ManifestFile>>,
    filtered: HashMap<String, Filtered>,
    /// Partly matching files rewritten (sorted source paths) and the new files.
    rewritten: Option<(Vec<String>, Vec<DataFile>)>,
}

/// A new random positive snapshot id (as Java: the xor of a random UUID's halves).
pub(crate) fn new_snapshot_id() -> i64 {
    let (hi, lo) = Uuid::new_v4().as_u64_pair();
    let id = (hi ^ lo) & (i64::MAX as u64);
    (id as i64).max(1)
}

pub(crate) fn metadata_dir(md: &TableMetadata) -> String {
    match md.properties().get(WRITE_METADATA_PATH) {
        Some(p) if !p.trim().is_empty() => p.trim().trim_end_matches('/').to_string(),
        _ => format!("{}/metadata", md.location().trim_end_matches('/')),
    }
}

fn prop<T: std::str::FromStr>(md: &TableMetadata, key: &str, default: T) -> Result<T> {
    match md.properties().get(key) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| {
            Error::invalid(format!("table property `{key}` has an invalid value `{v}`"))
        }),
    }
}

impl SnapshotUpdate {
    /// An operation of `kind` on `main`.
    pub fn new(kind: SnapshotKind) -> Self {
        Self {
            kind,
            branch: floe_spec::snapshot::MAIN_BRANCH.to_string(),
            added_data: Vec::new(),
            added_deletes: Vec::new(),
            removed_data: HashSet::new(),
            removed_deletes: HashSet::new(),
            delete_filter: None,
            conflict_filter: None,
            isolation: None,
            referenced_data_files: HashSet::new(),
            summary_properties: HashMap::new(),
            tiered_fan_in: None,
            snapshot_id: new_snapshot_id(),
            commit_uuid: Uuid::new_v4(),
            manifest_count: 0,
            new_manifests: None,
            filtered: HashMap::new(),
            rewritten: None,
        }
    }

    /// A fast append.
    pub fn fast_append() -> Self {
        Self::new(SnapshotKind::FastAppend)
    }

    /// A merge append.
    pub fn merge_append() -> Self {
        Self::new(SnapshotKind::MergeAppend)
    }

    /// An overwrite.
    pub fn overwrite() -> Self {
        Self::new(SnapshotKind::Overwrite)
    }

    /// A delete.
    pub fn delete() -> Self {
        Self::new(SnapshotKind::Delete)
    }

    /// A dynamic partition replace.
    pub fn replace_partitions() -> Self {
        Self::new(SnapshotKind::ReplacePartitions)
    }

    /// A row delta.
    pub fn row_delta() -> Self {
        Self::new(SnapshotKind::RowDelta)
    }

    /// A file rewrite (operation `replace`).
    pub fn rewrite() -> Self {
        Self::new(SnapshotKind::Rewrite)
    }

    /// The kind of operation.
    pub fn kind(&self) -> SnapshotKind {
        self.kind
    }

    /// The id the snapshot will have.
    pub fn snapshot_id(&self) -> i64 {
        self.snapshot_id
    }

    /// The branch the snapshot is committed to (default `main`).
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// Commits to branch `branch` instead of `main`.
    #[must_use]
    pub fn to_branch(mut self, branch: impl Into<String>) -> Self {
        self.branch = branch.into();
        self
    }

    /// Adds a data file.
    #[must_use]
    pub fn add_data_file(mut self, file: DataFile) -> Self {
        self.added_data.push(file);
        self
    }

    /// Adds data files.
    #[must_use]
    pub fn add_data_files(mut self, files: impl IntoIterator<Item = DataFile>) -> Self {
        self.added_data.extend(files);
        self
    }

    /// Adds a position or equality delete file.
    #[must_use]
    pub fn add_delete_file(mut self, file: DataFile) -> Self {
        self.added_deletes.push(file);
        self
    }

    /// Removes a data file (it must be live in the table when the commit is applied).
    #[must_use]
    pub fn delete_data_file(mut self, path: impl Into<String>) -> Self {
        self.removed_data.insert(path.into());
        self
    }

    /// Removes a delete file (it must be live in the table when the commit is applied).
    #[must_use]
    pub fn delete_delete_file(mut self, path: impl Into<String>) -> Self {
        self.removed_deletes.insert(path.into());
        self
    }

    /// Removes the rows matching `filter`: files whose rows all match (by partition or
    /// column metrics) are dropped; files with some matching rows are read (deletes
    /// applied) and rewritten without them.
    #[must_use]
    pub fn delete_where(mut self, filter: Expression) -> Self {
        self.delete_filter = Some(match self.delete_filter.take() {
            Some(f) => f.or(filter),
            None => filter,
        });
        self
    }

    /// The filter of rows the operation read or replaced: concurrent changes outside
    /// it never conflict (default: the delete filter, else every row).
    #[must_use]
    pub fn conflict_detection_filter(mut self, filter: Expression) -> Self {
        self.conflict_filter = Some(filter);
        self
    }

    /// The isolation level (default from `write.{delete,update,merge}.isolation-level`).
    #[must_use]
    pub fn isolation_level(mut self, level: IsolationLevel) -> Self {
        self.isolation = Some(level);
        self
    }

    /// Row delta: data files the delete files refer to, which must still exist at
    /// commit time (referenced data files of position deletes are added
    /// automatically).
    #[must_use]
    pub fn validate_data_files_exist(mut self, paths: impl IntoIterator<Item = String>) -> Self {
        self.referenced_data_files.extend(paths);
        self
    }

    /// Sets an extra summary property.
    #[must_use]
    pub fn set_summary(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.summary_properties.insert(key.into(), value.into());
        self
    }

    /// Fast append that keeps the manifest list short without rewriting big manifests:
    /// the newest small data manifests of the default spec (the new one first, then
    /// the parent's, up to the first one of `commit.manifest.target-size-bytes` or
    /// more) are merged in tiers of `fan_in` (at least 2): a manifest of `w` files is of
    /// level `floor(log_fan_in(w))`, and `fan_in` manifests in a row of a level merge.
    /// Each file is rewritten about log_fan_in(files) times over its life, and the
    /// list holds about `(fan_in - 1) × log_fan_in(files)` small manifests. Used by
    /// group commits, whose every snapshot adds one small manifest.
    #[must_use]
    pub fn merge_newest_manifests(mut self, fan_in: usize) -> Self {
        self.tiered_fan_in = Some(fan_in.max(2));
        self
    }

    /// Files added by this operation (data, then deletes).
    pub fn added_files(&self) -> impl Iterator<Item = &DataFile> {
        self.added_data.iter().chain(&self.added_deletes)
    }

    fn operation(&self, removed_any: bool, rewrote_any: bool) -> Operation {
        match self.kind {
            SnapshotKind::FastAppend | SnapshotKind::MergeAppend => Operation::Append,
            SnapshotKind::Overwrite => {
                if removed_any || self.delete_filter.is_some() {
                    Operation::Overwrite
                } else {
                    Operation::Append
                }
            }
            SnapshotKind::ReplacePartitions => Operation::Overwrite,
            SnapshotKind::Delete if rewrote_any => Operation::Overwrite,
            SnapshotKind::Delete => Operation::Delete,
            SnapshotKind::Rewrite => Operation::Replace,
            SnapshotKind::RowDelta => {
                match (self.added_data.is_empty(), self.added_deletes.is_empty()) {
                    (false, true) => Operation::Append,
                    (true, false) => Operation::Delete,
                    _ => Operation::Overwrite,
                }
            }
        }
    }

    fn check_input(&self) -> Result<()> {
        let op = self.kind.name();
        for f in &self.added_data {
            if f.content != DataContentType::Data {
                return Err(Error::invalid(format!(
                    "{op}: `{}` is a delete file, add it with add_delete_file",
                    f.file_path
                )));
            }
        }
        for f in &self.added_deletes {
            if f.content == DataContentType::Data {
                return Err(Error::invalid(format!(
                    "{op}: `{}` is a data file, add it with add_data_file",
                    f.file_path
                )));
            }
        }
        let allowed = match self.kind {
            SnapshotKind::FastAppend | SnapshotKind::MergeAppend => {
                self.added_deletes.is_empty()
                    && self.removed_data.is_empty()
                    && self.removed_deletes.is_empty()
                    && self.delete_filter.is_none()
            }
            SnapshotKind::Delete => self.added_data.is_empty() && self.added_deletes.is_empty(),
            SnapshotKind::ReplacePartitions => {
                self.added_deletes.is_empty()
                    && self.removed_data.is_empty()
                    && self.delete_filter.is_none()
            }
            SnapshotKind::RowDelta => self.removed_data.is_empty() && self.delete_filter.is_none(),
            SnapshotKind::Rewrite => self.delete_filter.is_none(),
            SnapshotKind::Overwrite => self.added_deletes.is_empty(),
        };
        if !allowed {
            return Err(Error::invalid(format!(
                "{op}: this operation does not accept the kind of change it was given"
            )));
        }
        Ok(())
    }

    fn next_manifest_path(&mut self, md: &TableMetadata) -> String {
        let n = self.manifest_count;
        self.manifest_count += 1;
        format!("{}/{}-m{n}.avro", metadata_dir(md), self.commit_uuid)
    }

    async fn write_manifest(
        &mut self,
        ctx: &mut AttemptContext<'_>,
        md: &TableMetadata,
        spec_id: i32,
        content: ManifestContentType,
        entries: Vec<ManifestEntry>,
    ) -> Result<ManifestFile> {
        let spec = md.partition_spec_by_id(spec_id).ok_or_else(|| {
            Error::invalid(format!(
                "{}: unknown partition spec {spec_id}",
                self.kind.name()
            ))
        })?;
        let mut w = ManifestWriter::new(
            ManifestMetadata {
                schema: md.current_schema().clone(),
                partition_spec: spec.as_ref().clone(),
                format_version: md.format_version(),
                content,
            },
            Some(self.snapshot_id),
        );
        for e in entries {
            w.add_entry(e)?;
        }
        let path = self.next_manifest_path(md);
        let (bytes, file) = w.finish(&path)?;
        ctx.storage.write_new(&path, bytes).await?;
        ctx.written.push(path);
        Ok(file)
    }

    /// Writes the manifests of the added files (once; later attempts reuse them).
    async fn added_manifests(
        &mut self,
        ctx: &mut AttemptContext<'_>,
        md: &TableMetadata,
        data_sequence_number: Option<i64>,
    ) -> Result<Vec<ManifestFile>> {
        if let Some(m) = &self.new_manifests {
            return Ok(m.clone());
        }
        let spec_id = md.default_spec_id();
        let mut out = Vec::new();
        let entry = |f: &DataFile, seq: Option<i64>, id: i64| ManifestEntry {
            status: ManifestStatus::Added,
            snapshot_id: Some(id),
            sequence_number: seq,
            file_sequence_number: None,
            data_file: f.clone(),
        };
        if !self.added_data.is_empty() {
            let id = self.snapshot_id;
            let entries = self
                .added_data
                .iter()
                .map(|f| entry(f, data_sequence_number, id))
                .collect();
            out.push(
                self.write_manifest(ctx, md, spec_id, ManifestContentType::Data, entries)
                    .await?,
            );
        }
        if !self.added_deletes.is_empty() {
            let id = self.snapshot_id;
            let entries = self
                .added_deletes
                .iter()
                .map(|f| entry(f, None, id))
                .collect();
            out.push(
                self.write_manifest(ctx, md, spec_id, ManifestContentType::Deletes, entries)
                    .await?,
            );
        }
        self.new_manifests = Some(out.clone());
        Ok(out)
    }

    /// Applies the operation on top of `builder`'s metadata: validates, writes
    /// manifests and the manifest list, and adds the snapshot and the branch update.
    pub(crate) async fn apply(
        &mut self,
        ctx: &mut AttemptContext<'_>,
        builder: &mut TableMetadataBuilder,
    ) -> Result<()> {
        self.check_input()?;
        let op = self.kind.name();
        let md = builder.current().clone();
        if md.format_version() == FormatVersion::V1 && !self.added_deletes.is_empty() {
            return Err(Error::unsupported(format!(
                "{op}: v1 tables cannot have delete files"
            )));
        }
        let existing_ref = md.refs().get(&self.branch).cloned();
        if let Some(r) = &existing_ref
            && !r.is_branch()
        {
            return Err(Error::invalid(format!(
                "{op}: `{}` is a tag, not a branch: cannot commit to it",
                self.branch
            )));
        }
        let parent_id = existing_ref.as_ref().map(|r| r.snapshot_id);
        let parent = parent_id.and_then(|id| md.snapshot_by_id(id).cloned());

        // Snapshots committed by others since the transaction started.
        let start_snapshot = ctx.start.snapshot_for_ref(&self.branch).cloned();
        let start_id = start_snapshot.as_ref().map(|s| s.snapshot_id);
        let mut new_snapshots = Vec::new();
        let mut found_start = start_id.is_none();
        for s in ancestors(&md, parent_id) {
            if Some(s.snapshot_id) == start_id {
                found_start = true;
                break;
            }
            // The starting snapshot itself was expired meanwhile, but every snapshot
            // after it is still there: the history is complete.
            let child_of_start = start_id.is_some() && s.parent_snapshot_id == start_id;
            if !ctx.own_snapshots.contains(&s.snapshot_id) {
                new_snapshots.push(s);
            }
            if child_of_start {
                found_start = true;
                break;
            }
        }
        // Appends validate nothing: they need no history (snapshot expiry may have
        // removed it).
        let appends = matches!(
            self.kind,
            SnapshotKind::FastAppend | SnapshotKind::MergeAppend
        );
        if !found_start && !appends {
            return Err(Error::commit_failed(format!(
                "{op}: cannot determine the history between the starting snapshot {} and the \
                 head of branch `{}`: the branch was moved to another line of history",
                start_id.unwrap_or(-1),
                self.branch
            )));
        }

        // Filters bound to the current schema (a missing column fails here).
        let delete_filter = self
            .delete_filter
            .as_ref()
            .map(|f| FileFilter::new(f, &md))
            .transpose()?;
        let conflict_filter = match &self.conflict_filter {
            Some(f) => Some(FileFilter::new(f, &md)?),
            None => delete_filter.clone(),
        };
        let isolation = match (self.isolation, self.kind.isolation_property()) {
            (Some(l), _) => l,
            (None, Some(key)) => IsolationLevel::from_properties(md.properties(), key)?,
            (None, None) => IsolationLevel::Serializable,
        };
        let replaced_partitions: HashSet<(i32, Vec<Option<Datum>>)> =
            if self.kind == SnapshotKind::ReplacePartitions {
                self.added_data
                    .iter()
                    .map(|f| (md.default_spec_id(), f.partition.clone()))
                    .collect()
            } else {
                HashSet::new()
            };
        let scope = match (&conflict_filter, self.kind) {
            (_, SnapshotKind::ReplacePartitions) => {
                if md.default_partition_spec().is_unpartitioned() {
                    ConflictScope::All
                } else {
                    ConflictScope::Partitions(replaced_partitions.clone())
                }
            }
            (Some(f), _) => ConflictScope::Filter(Box::new(f.clone())),
            (None, _) => ConflictScope::All,
        };
        let history = if new_snapshots.is_empty() || appends {
            History::default()
        } else {
            History::load(ctx.storage, &md, &new_snapshots).await?
        };
        let serializable = isolation == IsolationLevel::Serializable;
        match self.kind {
            SnapshotKind::FastAppend | SnapshotKind::MergeAppend => {}
            // Deleting named files only (Java `DeleteFiles`): they must still be live,
            // which the manifest filtering checks; nothing else conflicts.
            SnapshotKind::Delete if conflict_filter.is_none() => {}
            SnapshotKind::Overwrite | SnapshotKind::Delete | SnapshotKind::ReplacePartitions => {
                if serializable {
                    history.no_added_data(op, &scope)?;
                }
                history.no_deleted_data(op, &scope)?;
                history.no_new_delete_files(op, &scope)?;
            }
            SnapshotKind::RowDelta => {
                let mut referenced = self.referenced_data_files.clone();
                referenced.extend(
                    self.added_deletes
                        .iter()
                        .filter_map(|d| d.referenced_data_file.clone()),
                );
                history.data_files_exist(op, &referenced)?;
                if self.conflict_filter.is_some() {
                    if serializable {
                        history.no_added_data(op, &scope)?;
                    }
                    history.no_new_delete_files(op, &scope)?;
                }
            }
            SnapshotKind::Rewrite => {}
        }

        // Rewrites keep the starting snapshot's data sequence number.
        let data_sequence_number = if self.kind == SnapshotKind::Rewrite
            && prop(&md, REWRITE_USE_STARTING_SEQUENCE_NUMBER, true)?
            && md.format_version() >= FormatVersion::V2
        {
            start_snapshot.as_ref().map(|s| s.sequence_number)
        } else {
            None
        };

        // Manifests.
        let new_manifests = self.added_manifests(ctx, &md, data_sequence_number).await?;
        let new_paths: HashSet<String> = new_manifests
            .iter()
            .map(|m| m.manifest_path.clone())
            .collect();
        let parent_manifests = match &parent {
            Some(p) => ctx.storage.manifest_list(&md, &p.manifest_list).await?,
            None => Vec::new(),
        };
        let mut summary = SummaryBuilder::default();
        for f in &self.added_data {
            summary.add_file(f, md.default_spec_id());
        }
        for f in &self.added_deletes {
            summary.add_file(f, md.default_spec_id());
        }
        let removes = !self.removed_data.is_empty()
            || !self.removed_deletes.is_empty()
            || delete_filter.is_some()
            || self.kind == SnapshotKind::ReplacePartitions;
        let mut kept = Vec::new();
        let mut removed: Vec<(i32, DataFile)> = Vec::new();
        let mut found: HashSet<String> = HashSet::new();
        let mut partial: Vec<DataFile> = Vec::new();
        let unpartitioned_replace = self.kind == SnapshotKind::ReplacePartitions
            && md.default_partition_spec().is_unpartitioned();
        // Data manifests first: delete manifests drop deletes of removed data files.
        let (data_ms, delete_ms): (Vec<_>, Vec<_>) = parent_manifests
            .into_iter()
            .partition(|m| m.content == ManifestContentType::Data);
        let mut manifests_replaced = 0_usize;
        // Only a delete filter removes data files: skip manifests it cannot match.
        let filter_only = self.removed_data.is_empty()
            && self.kind != SnapshotKind::ReplacePartitions
            && self.delete_filter.is_some();
        for m in data_ms.into_iter().chain(delete_ms) {
            let live = m.added_files_count.unwrap_or(1) + m.existing_files_count.unwrap_or(1) > 0;
            if !removes || !live {
                kept.push(m);
                continue;
            }
            if filter_only
                && m.content == ManifestContentType::Data
                && let (Some(filter), Some(spec), Some(partitions)) = (
                    &self.delete_filter,
                    md.partition_spec_by_id(m.partition_spec_id),
                    m.partitions.as_ref(),
                )
                && let Ok(evaluator) =
                    ManifestEvaluator::for_row_filter(filter, spec, md.current_schema(), true)
                && !evaluator.eval(partitions)
            {
                kept.push(m);
                continue;
            }
            let removed_paths: HashSet<String> =
                removed.iter().map(|(_, f)| f.file_path.clone()).collect();
            let result = if let Some(r) = self.filtered.get(&m.manifest_path) {
                r.clone()
            } else {
                let entries = ctx.storage.manifest_entries(&m).await?;
                let mut out_entries = Vec::new();
                let mut r = Filtered {
                    manifest: None,
                    removed: Vec::new(),
                    found: Vec::new(),
                    partial: Vec::new(),
                };
                for e in entries {
                    if !e.is_alive() {
                        continue;
                    }
                    let f = &e.data_file;
                    let drop = if f.content == DataContentType::Data {
                        if self.removed_data.contains(&f.file_path) {
                            r.found.push(f.file_path.clone());
                            true
                        } else if unpartitioned_replace
                            || replaced_partitions
                                .contains(&(m.partition_spec_id, f.partition.clone()))
                        {
                            true
                        } else if let Some(filter) = &delete_filter {
                            match filter.classify(f, m.partition_spec_id) {
                                Match::All => true,
                                Match::None => false,
                                Match::Some => {
                                    if !matches!(
                                        self.kind,
                                        SnapshotKind::Overwrite | SnapshotKind::Delete
                                    ) {
                                        return Err(Error::unsupported(format!(
                                            "{op}: data file `{}` has rows that match the filter \
                                             `{}` and rows that do not",
                                            f.file_path,
                                            filter.expression()
                                        )));
                                    }
                                    r.partial.push(f.clone());
                                    true
                                }
                            }
                        } else {
                            false
                        }
                    } else if self.removed_deletes.contains(&f.file_path) {
                        r.found.push(f.file_path.clone());
                        true
                    } else if f
                        .referenced_data_file
                        .as_ref()
                        .is_some_and(|p| removed_paths.contains(p))
                    {
                        true
                    } else if let Some(filter) = &delete_filter {
                        filter.classify(f, m.partition_spec_id) == Match::All
                    } else {
                        false
                    };
                    let seq = e.sequence_number.unwrap_or(0);
                    if drop {
                        r.removed.push((m.partition_spec_id, f.clone()));
                        out_entries.push(ManifestEntry {
                            status: ManifestStatus::Deleted,
                            snapshot_id: Some(self.snapshot_id),
                            sequence_number: Some(seq),
                            file_sequence_number: e.file_sequence_number,
                            data_file: e.data_file,
                        });
                    } else {
                        out_entries.push(ManifestEntry {
                            status: ManifestStatus::Existing,
                            snapshot_id: e.snapshot_id,
                            sequence_number: Some(seq),
                            file_sequence_number: e.file_sequence_number,
                            data_file: e.data_file,
                        });
                    }
                }
                if !r.removed.is_empty() {
                    r.manifest = Some(
                        self.write_manifest(ctx, &md, m.partition_spec_id, m.content, out_entries)
                            .await?,
                    );
                }
                self.filtered.insert(m.manifest_path.clone(), r.clone());
                r
            };
            found.extend(result.found.iter().cloned());
            removed.extend(result.removed.iter().cloned());
            partial.extend(result.partial.iter().cloned());
            match result.manifest {
                Some(new) => {
                    manifests_replaced += 1;
                    kept.push(new);
                }
                None => kept.push(m),
            }
        }
        let missing: Vec<&String> = self
            .removed_data
            .iter()
            .chain(&self.removed_deletes)
            .filter(|p| !found.contains(*p))
            .collect();
        if !missing.is_empty() {
            let mut missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            missing.sort_unstable();
            return Err(Error::commit_failed(format!(
                "{op}: missing required files to delete (removed concurrently or never in the \
                 table): {}",
                missing.join(", ")
            )));
        }
        for (spec_id, f) in &removed {
            summary.remove_file(f, *spec_id);
        }
        let mut rewritten_manifest = None;
        if !partial.is_empty() {
            let mut sources: Vec<String> = partial.iter().map(|f| f.file_path.clone()).collect();
            sources.sort();
            let outputs = match &self.rewritten {
                Some((done, outputs)) if *done == sources => outputs.clone(),
                _ => {
                    if let Some((_, old)) = self.rewritten.take() {
                        for f in old {
                            ctx.storage.delete(&f.file_path).await.ok();
                        }
                    }
                    let filter = self.delete_filter.clone().unwrap_or(Expression::True);
                    let outputs = super::rewrite::rewrite_without(
                        ctx.storage,
                        &md,
                        parent_id.unwrap_or_default(),
                        &partial,
                        &filter,
                        ctx.created,
                    )
                    .await?;
                    self.rewritten = Some((sources, outputs.clone()));
                    outputs
                }
            };
            for f in &outputs {
                summary.add_file(f, md.default_spec_id());
            }
            if !outputs.is_empty() {
                let id = self.snapshot_id;
                let entries = outputs
                    .into_iter()
                    .map(|f| ManifestEntry {
                        status: ManifestStatus::Added,
                        snapshot_id: Some(id),
                        sequence_number: None,
                        file_sequence_number: None,
                        data_file: f,
                    })
                    .collect();
                rewritten_manifest = Some(
                    self.write_manifest(
                        ctx,
                        &md,
                        md.default_spec_id(),
                        ManifestContentType::Data,
                        entries,
                    )
                    .await?,
                );
            }
        }
        if self.kind == SnapshotKind::Rewrite {
            let unpartitioned: HashSet<i32> = md
                .partition_specs()
                .iter()
                .filter(|(_, s)| s.is_unpartitioned())
                .map(|(id, _)| *id)
                .collect();
            let data: Vec<(i32, DataFile)> = removed
                .iter()
                .filter(|(_, f)| f.content == DataContentType::Data)
                .cloned()
                .collect();
            history.no_new_deletes_for(
                op,
                &data,
                &unpartitioned,
                data_sequence_number.is_some(),
            )?;
        } else if matches!(
            self.kind,
            SnapshotKind::Overwrite | SnapshotKind::Delete | SnapshotKind::ReplacePartitions
        ) {
            let unpartitioned: HashSet<i32> = md
                .partition_specs()
                .iter()
                .filter(|(_, s)| s.is_unpartitioned())
                .map(|(id, _)| *id)
                .collect();
            let data: Vec<(i32, DataFile)> = removed
                .iter()
                .filter(|(_, f)| f.content == DataContentType::Data)
                .cloned()
                .collect();
            history.no_new_deletes_for(op, &data, &unpartitioned, false)?;
        }

        let mut manifests: Vec<ManifestFile> = new_manifests;
        manifests.extend(rewritten_manifest);
        manifests.extend(kept);
        if self.kind == SnapshotKind::MergeAppend {
            manifests = self.merge(ctx, &md, manifests, &new_paths).await?;
        } else if let Some(fan_in) = self.tiered_fan_in
            && self.kind == SnapshotKind::FastAppend
        {
            manifests = self.merge_newest(ctx, &md, manifests, fan_in).await?;
        }
        let created = manifests
            .iter()
            .filter(|m| {
                m.added_snapshot_id == self.snapshot_id
                    || m.added_snapshot_id == UNASSIGNED_SEQUENCE_NUMBER
            })
            .count();
        summary.set("manifests-created", &created);
        summary.set("manifests-kept", &(manifests.len() - created));
        summary.set("manifests-replaced", &manifests_replaced);
        for (k, v) in &self.summary_properties {
            summary.set(k, &v);
        }

        // Manifest list and snapshot.
        let sequence_number = md.last_sequence_number() + 1;
        ctx.attempt_counter += 1;
        let list_path = format!(
            "{}/snap-{}-{}-{}.avro",
            metadata_dir(&md),
            self.snapshot_id,
            ctx.attempt_counter,
            self.commit_uuid
        );
        let mut list = ManifestListWriter::new(
            md.format_version(),
            self.snapshot_id,
            parent_id,
            sequence_number,
        );
        let first_row_id =
            (md.format_version() >= FormatVersion::V3).then(|| md.next_row_id().unwrap_or(0));
        if let Some(first) = first_row_id {
            list = list.with_first_row_id(first);
        }
        for m in &manifests {
            ctx.referenced.insert(m.manifest_path.clone());
        }
        list.add_manifests(manifests)?;
        let added_rows = match (first_row_id, list.next_row_id()) {
            (Some(first), Some(next)) => Some(next - first),
            _ => None,
        };
        ctx.storage.write_new(&list_path, list.finish()?).await?;
        ctx.written.push(list_path.clone());
        ctx.referenced.insert(list_path.clone());

        let previous = parent.as_ref().map(|p| &p.summary.additional_properties);
        let empty = HashMap::new();
        let snapshot = Snapshot {
            snapshot_id: self.snapshot_id,
            parent_snapshot_id: parent_id,
            sequence_number,
            timestamp_ms: now_ms().max(md.last_updated_ms()),
            manifest_list: list_path,
            summary: Summary {
                operation: self.operation(!removed.is_empty(), !partial.is_empty()),
                additional_properties: summary.build(Some(previous.unwrap_or(&empty))),
            },
            schema_id: Some(md.current_schema_id()),
            first_row_id,
            added_rows,
            key_id: None,
        };
        builder.add_snapshot(snapshot)?;
        let retention = existing_ref.map_or_else(SnapshotRetention::branch, |r| r.retention);
        builder.set_ref(
            &self.branch,
            SnapshotReference {
                snapshot_id: self.snapshot_id,
                retention,
            },
        )?;
        ctx.own_snapshots.insert(self.snapshot_id);
        ctx.touched_refs.insert(self.branch.clone());
        Ok(())
    }

    /// Merges small data manifests of the same spec (Java `ManifestMergeManager`):
    /// consecutive manifests are packed into bins of `commit.manifest.target-size-bytes`;
    /// a bin with more than one manifest is merged, except the bin holding the new
    /// manifest while it has fewer than `commit.manifest.min-count-to-merge`.
    async fn merge(
        &mut self,
        ctx: &mut AttemptContext<'_>,
        md: &TableMetadata,
        manifests: Vec<ManifestFile>,
        new_paths: &HashSet<String>,
    ) -> Result<Vec<ManifestFile>> {
        let min_count = prop(
            md,
            MANIFEST_MIN_MERGE_COUNT,
            MANIFEST_MIN_MERGE_COUNT_DEFAULT,
        )?;
        let target = prop(
            md,
            MANIFEST_TARGET_SIZE_BYTES,
            MANIFEST_TARGET_SIZE_BYTES_DEFAULT,
        )?;
        let mut out = Vec::new();
        let mut groups: Vec<(i32, Vec<ManifestFile>)> = Vec::new();
        for m in manifests {
            if m.content != ManifestContentType::Data {
                out.push(m);
                continue;
            }
            match groups.iter_mut().find(|(id, _)| *id == m.partition_spec_id) {
                Some((_, g)) => g.push(m),
                None => groups.push((m.partition_spec_id, vec![m])),
            }
        }
        let mut merged_out = Vec::new();
        for (spec_id, group) in groups {
            let mut bins: Vec<Vec<ManifestFile>> = Vec::new();
            let mut size = 0_i64;
            for m in group {
                match bins.last_mut() {
                    Some(bin) if size + m.manifest_length <= target => {
                        size += m.manifest_length;
                        bin.push(m);
                    }
                    _ => {
                        size = m.manifest_length;
                        bins.push(vec![m]);
                    }
                }
            }
            for bin in bins {
                let has_new = bin.iter().any(|m| new_paths.contains(&m.manifest_path));
                if bin.len() == 1 || (has_new && bin.len() < min_count) {
                    merged_out.extend(bin);
                    continue;
                }
                let merged = self.merged_manifest(ctx, md, spec_id, &bin).await?;
                merged_out.push(merged);
            }
        }
        merged_out.extend(out);
        Ok(merged_out)
    }

    /// One data manifest of spec `spec_id` holding the live entries of `bin`: entries
    /// added by this snapshot stay ADDED, deletes of this snapshot stay DELETED, older
    /// deletes are dropped, every other entry becomes EXISTING with its sequence
    /// numbers.
    async fn merged_manifest(
        &mut self,
        ctx: &mut AttemptContext<'_>,
        md: &TableMetadata,
        spec_id: i32,
        bin: &[ManifestFile],
    ) -> Result<ManifestFile> {
        let mut entries = Vec::new();
        for m in bin {
            let bytes = ctx.storage.read(&m.manifest_path).await?;
            let mut manifest = Manifest::parse(&bytes)?;
            let ours = m.added_snapshot_id == self.snapshot_id
                || m.sequence_number == UNASSIGNED_SEQUENCE_NUMBER;
            if !ours {
                manifest.inherit_from(m);
            }
            for e in manifest.entries {
                let by_us = e.snapshot_id == Some(self.snapshot_id);
                match e.status {
                    ManifestStatus::Deleted if !by_us => {}
                    ManifestStatus::Added if by_us => entries.push(e),
                    ManifestStatus::Deleted => entries.push(e),
                    _ => {
                        let seq = e.sequence_number.ok_or_else(|| {
                            Error::new(
                                ErrorKind::Unexpected,
                                format!(
                                    "merge: entry `{}` has no sequence number",
                                    e.data_file.file_path
                                ),
                            )
                        })?;
                        entries.push(ManifestEntry {
                            status: ManifestStatus::Existing,
                            sequence_number: Some(seq),
                            ..e
                        });
                    }
                }
            }
        }
        self.write_manifest(ctx, md, spec_id, ManifestContentType::Data, entries)
            .await
    }

    /// The tiered merge of [`Self::merge_newest_manifests`].
    async fn merge_newest(
        &mut self,
        ctx: &mut AttemptContext<'_>,
        md: &TableMetadata,
        manifests: Vec<ManifestFile>,
        fan_in: usize,
    ) -> Result<Vec<ManifestFile>> {
        let target = prop(
            md,
            MANIFEST_TARGET_SIZE_BYTES,
            MANIFEST_TARGET_SIZE_BYTES_DEFAULT,
        )?;
        let spec_id = md.default_spec_id();
        let run = manifests
            .iter()
            .take_while(|m| {
                m.content == ManifestContentType::Data
                    && m.partition_spec_id == spec_id
                    && m.manifest_length < target
            })
            .count();
        let weights: Vec<u64> = manifests[..run]
            .iter()
            .map(|m| {
                let files = i64::from(m.added_files_count.unwrap_or(1))
                    + i64::from(m.existing_files_count.unwrap_or(1));
                u64::try_from(files).unwrap_or(0)
            })
            .collect();
        let n = tiered_merge_count(&weights, fan_in);
        if n < 2 {
            return Ok(manifests);
        }
        let merged = self
            .merged_manifest(ctx, md, spec_id, &manifests[..n])
            .await?;
        let mut out = Vec::with_capacity(manifests.len() - n + 1);
        out.push(merged);
        out.extend(manifests.into_iter().skip(n));
        Ok(out)
    }
}

/// How many of the newest manifests (newest first, `weights` = their live files) a
/// tiered merge of fan-in `fan_in` merges into one: 0 when none.
///
/// A manifest of `w` files is of level `floor(log_fan_in(w))`. The head (at first the
/// newest manifest) absorbs the manifests after it whose level is at most its own as
/// soon as there are `fan_in` of them counting the head; the merged head's level is
/// then computed again and the absorbing goes on (a cascade, as a counter carrying).
/// So at most `fan_in - 1` manifests of each level stay in a row behind the head.
pub(crate) fn tiered_merge_count(weights: &[u64], fan_in: usize) -> usize {
    let k = fan_in.max(2) as u64;
    let level = |w: u64| {
        let mut x = w.max(1);
        let mut l = 0_u32;
        while x >= k {
            x /= k;
            l += 1;
        }
        l
    };
    let Some(&first) = weights.first() else {
        return 0;
    };
    let mut n = 1;
    let mut sum = first;
    loop {
        let head = level(sum);
        let mut j = n;
        while j < weights.len() && level(weights[j]) <= head {
            j += 1;
        }
        // The head counts as one manifest.
        if (j - n + 1) as u64 >= k {
            sum = weights[..j].iter().sum();
            n = j;
        } else {
            break;
        }
    }
    if n >= 2 { n } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::tiered_merge_count;

    /// Simulates `commits` appends of `files` files each: the manifest count stays
    /// logarithmic and no file is lost.
    fn simulate(commits: usize, files: u64, fan_in: usize) -> (Vec<u64>, u64) {
        let mut list: Vec<u64> = Vec::new();
        let mut rewritten = 0;
        for _ in 0..commits {
            list.insert(0, files);
            let n = tiered_merge_count(&list, fan_in);
            if n >= 2 {
                let merged: u64 = list[..n].iter().sum();
                rewritten += merged;
                list.drain(..n);
                list.insert(0, merged);
            }
        }
        (list, rewritten)
    }

    #[test]
    fn tiers_stay_logarithmic() {
        assert_eq!(tiered_merge_count(&[], 4), 0);
        assert_eq!(tiered_merge_count(&[1], 4), 0);
        assert_eq!(tiered_merge_count(&[1, 1, 1], 4), 0);
        assert_eq!(tiered_merge_count(&[1, 1, 1, 1], 4), 4);
        // A cascade: four level-0 manifests make a level-1 one, which joins three.
        assert_eq!(tiered_merge_count(&[1, 1, 1, 1, 4, 4, 4, 100], 4), 7);
        // A big head absorbs the smaller ones behind it only with enough of them.
        assert_eq!(tiered_merge_count(&[64, 1, 1], 4), 0);
        assert_eq!(tiered_merge_count(&[64, 1, 1, 1], 4), 4);
        for (commits, files, fan_in) in [(1000, 1, 4), (6000, 1, 4), (500, 30, 4), (3000, 3, 8)] {
            let (list, rewritten) = simulate(commits, files, fan_in);
            let total = commits as u64 * files;
            assert_eq!(list.iter().sum::<u64>(), total);
            let levels = (total as f64).log(fan_in as f64).ceil() as usize + 1;
            assert!(
                list.len() <= (fan_in - 1) * levels,
                "{commits} × {files} files, fan-in {fan_in}: {} manifests {list:?}",
                list.len()
            );
            // Each file is rewritten about once per level.
            assert!(
                rewritten <= total * levels as u64,
                "{commits} × {files}: {rewritten} entries rewritten"
            );
        }
    }
}
