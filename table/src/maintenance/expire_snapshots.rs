//! [`ExpireSnapshots`]: drops old snapshots and refs, then the files only they reached.
//!
//! # Retention (the spec's snapshot retention policy, Java `RemoveSnapshots`)
//! - A branch or tag other than `main` is dropped when its snapshot is older than its
//!   `max-ref-age-ms` (default `history.expire.max-ref-age-ms`, unbounded).
//! - Each kept branch keeps the ancestors of its head while fewer than its
//!   `min-snapshots-to-keep` are kept (default `history.expire.min-snapshots-to-keep`,
//!   1, or [`ExpireSnapshots::retain_last`]) or while they are younger than its
//!   `max-snapshot-age-ms` (default `history.expire.max-snapshot-age-ms`, 5 days, or
//!   [`ExpireSnapshots::older_than_ms`]); the walk stops at the first snapshot kept by
//!   neither rule. Each kept tag keeps its snapshot.
//! - A snapshot on no ref's history is kept when younger than the default age.
//! - Snapshots named with [`ExpireSnapshots::expire_snapshot_id`] are removed in any
//!   case; naming the snapshot of a kept ref is an error.
//!
//! # Commit and file deletion
//! The change is one catalog commit (`remove-snapshot-ref`, `remove-snapshots`) that
//! asserts every ref still points where it pointed when the plan was made: if a writer
//! moved a ref meanwhile, the plan is made again on the new metadata (up to
//! `commit.retry.num-retries` times), so a ref is never dropped with its snapshot by
//! mistake. Then, unless `gc.enabled=false` or [`ExpireSnapshots::clean_expired_files`]
//! is off, the manifest lists, manifests, data and delete files and statistics files
//! reachable from the expired snapshots but from no snapshot of the **committed**
//! metadata are deleted. Files written by commits in flight are named by no expired
//! snapshot, so they are never candidates.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use floe_catalog::TableCommit;
use floe_spec::commit::{TableMetadataBuilder, TableRequirement};
use floe_spec::manifest::DataContentType;
use floe_spec::manifest_list::ManifestFile;
use floe_spec::snapshot::{MAIN_BRANCH, SnapshotRef, SnapshotRetention};
use floe_spec::table_metadata::TableMetadata;
use serde::{Deserialize, Serialize};

use super::reachable::{all_snapshots, content_files, manifests_of, statistics_files};
use super::{Clock, DELETE_CONCURRENCY, FixedClock, delete_all, gc_enabled, system_clock};
use crate::error::{Error, ErrorKind, Result};
use crate::table::{Table, ancestors};
use crate::transaction::RetryConfig;

/// Table property: default longest age of a snapshot kept by age.
pub const MAX_SNAPSHOT_AGE_MS: &str = "history.expire.max-snapshot-age-ms";
/// Default of [`MAX_SNAPSHOT_AGE_MS`]: 5 days.
pub const MAX_SNAPSHOT_AGE_MS_DEFAULT: i64 = 5 * 24 * 60 * 60 * 1000;
/// Table property: default fewest snapshots a branch keeps.
pub const MIN_SNAPSHOTS_TO_KEEP: &str = "history.expire.min-snapshots-to-keep";
/// Default of [`MIN_SNAPSHOTS_TO_KEEP`].
pub const MIN_SNAPSHOTS_TO_KEEP_DEFAULT: i32 = 1;
/// Table property: default longest age of a branch or tag (other than `main`).
pub const MAX_REF_AGE_MS: &str = "history.expire.max-ref-age-ms";

/// What an expiry did (or, in a dry run, would do). Counts of deleted files are those
/// it deleted (or would delete).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ExpireSnapshotsResult {
    /// Whether this was a dry run (nothing committed, nothing deleted).
    pub dry_run: bool,
    /// Snapshots removed from the metadata, sorted.
    pub expired_snapshot_ids: Vec<i64>,
    /// Branches and tags removed, sorted.
    pub removed_refs: Vec<String>,
    /// Whether files were deleted: false with `gc.enabled=false` or
    /// `clean_expired_files(false)`.
    pub files_cleaned: bool,
    /// Data files deleted.
    pub deleted_data_files: u64,
    /// Position delete files deleted.
    pub deleted_position_delete_files: u64,
    /// Equality delete files deleted.
    pub deleted_equality_delete_files: u64,
    /// Manifests deleted.
    pub deleted_manifests: u64,
    /// Manifest lists deleted.
    pub deleted_manifest_lists: u64,
    /// Statistics files deleted.
    pub deleted_statistics_files: u64,
    /// Bytes of the deleted data, delete, manifest and statistics files (manifest lists
    /// have no recorded size).
    pub deleted_bytes: u64,
    /// Every file deleted, sorted.
    pub deleted_paths: Vec<String>,
    /// Files whose deletion failed, with the error (they become orphans).
    pub failed_deletes: Vec<(String, String)>,
    /// Commit attempts made (0 in a dry run or when nothing expired).
    pub commit_attempts: u32,
}

/// Expires snapshots of a table; see the module docs.
#[derive(Debug, Clone)]
pub struct ExpireSnapshots {
    table: Table,
    clock: Arc<dyn Clock>,
    older_than_ms: Option<i64>,
    retain_last: Option<i32>,
    snapshot_ids: Vec<i64>,
    dry_run: bool,
    clean_files: bool,
    concurrency: usize,
}

/// The retention settings of one run.
struct Policy {
    now: i64,
    /// Snapshots older than this may expire (default rule).
    default_older_than: i64,
    default_min_keep: i32,
    default_max_ref_age: i64,
}

/// What to remove.
#[derive(Debug, Default)]
struct Plan {
    refs: Vec<String>,
    snapshots: Vec<i64>,
}

fn prop_i64(md: &TableMetadata, key: &str, default: i64) -> Result<i64> {
    match md.properties().get(key) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| {
            Error::invalid(format!(
                "table property `{key}` must be an integer, got `{v}`"
            ))
        }),
    }
}

impl ExpireSnapshots {
    /// An expiry of `table` with the table's retention properties.
    pub fn new(table: &Table) -> Self {
        Self {
            table: table.clone(),
            clock: system_clock(),
            older_than_ms: None,
            retain_last: None,
            snapshot_ids: Vec::new(),
            dry_run: false,
            clean_files: true,
            concurrency: DELETE_CONCURRENCY,
        }
    }

    /// Uses `clock` for the current time.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Uses a fixed current time (ms since the epoch).
    #[must_use]
    pub fn now_ms(self, now_ms: i64) -> Self {
        self.clock(Arc::new(FixedClock::new(now_ms)))
    }

    /// Expires snapshots older than `timestamp_ms` (instead of
    /// `history.expire.max-snapshot-age-ms`); refs' own `max-snapshot-age-ms` still win.
    #[must_use]
    pub fn older_than_ms(mut self, timestamp_ms: i64) -> Self {
        self.older_than_ms = Some(timestamp_ms);
        self
    }

    /// Keeps at least `n` snapshots per branch (instead of
    /// `history.expire.min-snapshots-to-keep`); refs' own `min-snapshots-to-keep` win.
    #[must_use]
    pub fn retain_last(mut self, n: i32) -> Self {
        self.retain_last = Some(n);
        self
    }

    /// Also expires snapshot `id` whatever its age.
    #[must_use]
    pub fn expire_snapshot_id(mut self, id: i64) -> Self {
        self.snapshot_ids.push(id);
        self
    }

    /// Also expires these snapshots whatever their age.
    #[must_use]
    pub fn expire_snapshot_ids(mut self, ids: impl IntoIterator<Item = i64>) -> Self {
        self.snapshot_ids.extend(ids);
        self
    }

    /// Only reports what would be expired and deleted.
    #[must_use]
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    /// Whether to delete the files only expired snapshots reached (default true; never
    /// with `gc.enabled=false`).
    #[must_use]
    pub fn clean_expired_files(mut self, yes: bool) -> Self {
        self.clean_files = yes;
        self
    }

    /// How many files are deleted at once (default 16).
    #[must_use]
    pub fn delete_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    fn policy(&self, md: &TableMetadata) -> Result<Policy> {
        let now = self.clock.now_ms();
        let default_older_than = match self.older_than_ms {
            Some(t) => t,
            None => now.saturating_sub(prop_i64(
                md,
                MAX_SNAPSHOT_AGE_MS,
                MAX_SNAPSHOT_AGE_MS_DEFAULT,
            )?),
        };
        let default_min_keep = match self.retain_last {
            Some(n) => n,
            None => i32::try_from(prop_i64(
                md,
                MIN_SNAPSHOTS_TO_KEEP,
                i64::from(MIN_SNAPSHOTS_TO_KEEP_DEFAULT),
            )?)
            .map_err(|_| {
                Error::invalid(format!(
                    "table property `{MIN_SNAPSHOTS_TO_KEEP}` is too large"
                ))
            })?,
        };
        if default_min_keep < 1 {
            return Err(Error::invalid(format!(
                "expire snapshots: the number of snapshots to keep must be at least 1, got \
                 {default_min_keep}"
            )));
        }
        Ok(Policy {
            now,
            default_older_than,
            default_min_keep,
            default_max_ref_age: prop_i64(md, MAX_REF_AGE_MS, i64::MAX)?,
        })
    }

    /// Which refs and snapshots to remove from `md`.
    fn plan(&self, md: &TableMetadata, policy: &Policy) -> Result<Plan> {
        let mut plan = Plan::default();
        let mut kept_refs = Vec::new();
        let mut names: Vec<&String> = md.refs().keys().collect();
        names.sort();
        for name in names {
            let Some(r) = md.refs().get(name) else {
                continue;
            };
            let max_ref_age = match &r.retention {
                SnapshotRetention::Branch { max_ref_age_ms, .. }
                | SnapshotRetention::Tag { max_ref_age_ms } => {
                    max_ref_age_ms.unwrap_or(policy.default_max_ref_age)
                }
            };
            let expired = name != MAIN_BRANCH
                && md
                    .snapshot_by_id(r.snapshot_id)
                    .is_some_and(|s| policy.now.saturating_sub(s.timestamp_ms) > max_ref_age);
            if expired {
                plan.refs.push(name.clone());
            } else {
                kept_refs.push((name.clone(), r.clone()));
            }
        }
        let mut retain: HashSet<i64> = HashSet::new();
        let mut on_some_ref: HashSet<i64> = HashSet::new();
        for (_, r) in &kept_refs {
            let history = ancestors(md, Some(r.snapshot_id));
            on_some_ref.extend(history.iter().map(|s| s.snapshot_id));
            match &r.retention {
                SnapshotRetention::Tag { .. } => {
                    retain.insert(r.snapshot_id);
                }
                SnapshotRetention::Branch {
                    min_snapshots_to_keep,
                    max_snapshot_age_ms,
                    ..
                } => {
                    let min_keep = min_snapshots_to_keep.unwrap_or(policy.default_min_keep);
                    let older_than = max_snapshot_age_ms
                        .map_or(policy.default_older_than, |a| policy.now.saturating_sub(a));
                    let mut kept = 0_i64;
                    for s in &history {
                        if kept < i64::from(min_keep) || s.timestamp_ms >= older_than {
                            retain.insert(s.snapshot_id);
                            kept += 1;
                        } else {
                            break;
                        }
                    }
                    // The head is always kept.
                    retain.insert(r.snapshot_id);
                }
            }
        }
        for s in md.snapshots().values() {
            if !on_some_ref.contains(&s.snapshot_id) && s.timestamp_ms >= policy.default_older_than
            {
                retain.insert(s.snapshot_id);
            }
        }
        let heads: HashMap<i64, &String> =
            kept_refs.iter().map(|(n, r)| (r.snapshot_id, n)).collect();
        for id in &self.snapshot_ids {
            if let Some(name) = heads.get(id) {
                return Err(Error::invalid(format!(
                    "expire snapshots: cannot expire snapshot {id}: ref `{name}` still points \
                     to it"
                )));
            }
            retain.remove(id);
        }
        let mut ids: Vec<i64> = md
            .snapshots()
            .keys()
            .filter(|id| !retain.contains(id))
            .copied()
            .collect();
        ids.sort_unstable();
        plan.snapshots = ids;
        Ok(plan)
    }

    /// The updates of `plan` applied to `md`, and the commit requirements.
    fn build(
        md: &TableMetadata,
        plan: &Plan,
    ) -> Result<(TableMetadataBuilder, Vec<TableRequirement>)> {
        let mut builder = TableMetadataBuilder::from(md);
        for name in &plan.refs {
            builder.remove_ref(name)?;
        }
        builder.remove_snapshots(&plan.snapshots)?;
        let mut requirements = vec![TableRequirement::AssertTableUuid {
            uuid: md.table_uuid(),
        }];
        let mut names: Vec<&String> = md.refs().keys().collect();
        names.sort();
        for name in names {
            requirements.push(TableRequirement::AssertRefSnapshotId {
                r#ref: name.clone(),
                snapshot_id: md.refs().get(name).map(|r| r.snapshot_id),
            });
        }
        Ok((builder, requirements))
    }

    /// Plans, commits (unless a dry run) and deletes the files only expired snapshots
    /// reached.
    pub async fn execute(self) -> Result<ExpireSnapshotsResult> {
        let mut table = self.table.clone();
        let config = RetryConfig::from_properties(table.properties())?;
        let started = Instant::now();
        let mut attempts = 0_u32;
        let (before, after, plan) = loop {
            let md = table.metadata().clone();
            let policy = self.policy(&md)?;
            let plan = self.plan(&md, &policy)?;
            if plan.refs.is_empty() && plan.snapshots.is_empty() {
                return Ok(ExpireSnapshotsResult {
                    dry_run: self.dry_run,
                    commit_attempts: attempts,
                    ..ExpireSnapshotsResult::default()
                });
            }
            let (builder, requirements) = Self::build(&md, &plan)?;
            if self.dry_run {
                let after = Arc::new(builder.current().clone());
                break (md, after, plan);
            }
            let commit = TableCommit::new(
                table.ident().clone(),
                requirements,
                builder.changes().to_vec(),
            );
            attempts += 1;
            match table.catalog().commit_table(commit).await {
                Ok(loaded) => {
                    let after = loaded.metadata.clone();
                    table.set_loaded(loaded);
                    break (md, after, plan);
                }
                Err(e)
                    if e.kind() == ErrorKind::CommitFailed
                        && attempts <= config.num_retries
                        && started.elapsed() < config.total_timeout =>
                {
                    tokio::time::sleep(config.backoff(attempts - 1)).await;
                    table.refresh().await?;
                }
                Err(e) => return Err(e),
            }
        };
        let mut result = ExpireSnapshotsResult {
            dry_run: self.dry_run,
            expired_snapshot_ids: plan.snapshots.clone(),
            removed_refs: plan.refs.clone(),
            commit_attempts: attempts,
            ..ExpireSnapshotsResult::default()
        };
        if !self.clean_files || !gc_enabled(after.properties()) {
            return Ok(result);
        }
        result.files_cleaned = true;
        let gone: HashSet<i64> = plan.snapshots.iter().copied().collect();
        let expired: Vec<SnapshotRef> = before
            .snapshots()
            .values()
            .filter(|s| gone.contains(&s.snapshot_id))
            .cloned()
            .collect();
        let to_delete = unreachable_files(&table, &before, &after, &expired).await?;
        for f in &to_delete {
            match f.kind {
                FileKind::Content(DataContentType::Data) => result.deleted_data_files += 1,
                FileKind::Content(DataContentType::PositionDeletes) => {
                    result.deleted_position_delete_files += 1;
                }
                FileKind::Content(DataContentType::EqualityDeletes) => {
                    result.deleted_equality_delete_files += 1;
                }
                FileKind::Manifest => result.deleted_manifests += 1,
                FileKind::ManifestList => result.deleted_manifest_lists += 1,
                FileKind::Statistics => result.deleted_statistics_files += 1,
            }
            result.deleted_bytes += u64::try_from(f.size).unwrap_or(0);
        }
        result.deleted_paths = to_delete.iter().map(|f| f.path.clone()).collect();
        result.deleted_paths.sort();
        if !self.dry_run {
            // Data first, then manifests, then lists: an interrupted run leaves only
            // files that no metadata names (orphans), never a list naming a missing
            // manifest.
            let storage = table.storage();
            for stage in 0..3 {
                let paths: Vec<String> = to_delete
                    .iter()
                    .filter(|f| match stage {
                        0 => matches!(f.kind, FileKind::Content(_) | FileKind::Statistics),
                        1 => f.kind == FileKind::Manifest,
                        _ => f.kind == FileKind::ManifestList,
                    })
                    .map(|f| f.path.clone())
                    .collect();
                result
                    .failed_deletes
                    .extend(delete_all(storage, paths, self.concurrency).await);
            }
        }
        Ok(result)
    }
}

/// The kind of a file to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Content(DataContentType),
    Manifest,
    ManifestList,
    Statistics,
}

/// A file to delete.
#[derive(Debug, Clone)]
struct Doomed {
    path: String,
    kind: FileKind,
    size: i64,
}

/// Files reachable from `expired` (snapshots of `before`) but from no snapshot of
/// `after`.
async fn unreachable_files(
    table: &Table,
    before: &Arc<TableMetadata>,
    after: &Arc<TableMetadata>,
    expired: &[SnapshotRef],
) -> Result<Vec<Doomed>> {
    let storage = table.storage();
    let retained = all_snapshots(after);
    let (old_lists, old_manifests) = manifests_of(storage, before, expired).await?;
    let (kept_lists, kept_manifests) = manifests_of(storage, after, &retained).await?;
    let mut out = Vec::new();
    for l in old_lists.difference(&kept_lists) {
        out.push(Doomed {
            path: l.clone(),
            kind: FileKind::ManifestList,
            size: 0,
        });
    }
    let only_old: Vec<ManifestFile> = old_manifests
        .iter()
        .filter(|(p, _)| !kept_manifests.contains_key(*p))
        .map(|(_, m)| m.clone())
        .collect();
    for m in &only_old {
        out.push(Doomed {
            path: m.manifest_path.clone(),
            kind: FileKind::Manifest,
            size: m.manifest_length,
        });
    }
    if !only_old.is_empty() {
        let candidates = content_files(storage, only_old, false).await?;
        let kept = content_files(storage, kept_manifests.into_values().collect(), true).await?;
        for (path, f) in candidates {
            if !kept.contains_key(&path) {
                out.push(Doomed {
                    path,
                    kind: FileKind::Content(f.content),
                    size: f.size,
                });
            }
        }
    }
    let kept_stats = statistics_files(after);
    for (path, size) in statistics_files(before) {
        if !kept_stats.contains_key(&path) {
            out.push(Doomed {
                path,
                kind: FileKind::Statistics,
                size,
            });
        }
    }
    Ok(out)
}
