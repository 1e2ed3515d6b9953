//! Table maintenance: the upkeep a streaming table needs, as awaitable builders.
//!
//! Each action is built from a [`Table`](crate::table::Table), configured with builder
//! methods, and run with `execute().await`; every one has a dry run
//! (`.dry_run(true)`) that changes nothing and reports what it would do, and returns a
//! result struct that serializes to JSON (the server stores it as the task result).
//!
//! - [`ExpireSnapshots`]: drops snapshots and refs past their retention
//!   (`history.expire.*` and per-ref overrides), then deletes the manifest lists,
//!   manifests, data and delete files only they reached (unless `gc.enabled=false`).
//! - [`RemoveOrphanFiles`]: deletes files under the table location that no metadata
//!   references and that are older than a safety age (3 days by default).
//! - [`RewriteDataFiles`]: compaction — bin-packs small files per partition into files
//!   of `write.target-file-size-bytes`, folding delete files into the rewritten rows.
//! - [`RewriteManifests`]: merges small manifests, clustered by partition.
//! - [`CleanMetadataFiles`]: deletes metadata JSON files that left the metadata log
//!   (`write.metadata.previous-versions-max`,
//!   `write.metadata.delete-after-commit.enabled`).
//!
//! Time comes from a [`Clock`], so that retention is exact in tests
//! ([`FixedClock`]); the default is the system clock.
//!
//! # Safety beside live writers
//! Maintenance commits are ordinary catalog commits with requirements: a concurrent
//! writer either commits first (and maintenance re-plans or gives way) or its commit
//! is checked against the maintenance snapshot like against any other. Files are only
//! deleted after the metadata change that made them unreachable is committed, and
//! reachability is computed from the committed metadata (all retained snapshots).
//!
//! ```no_run
//! # async fn demo(table: floe_table::Table) -> floe_table::Result<()> {
//! use floe_table::maintenance::{ExpireSnapshots, RewriteDataFiles};
//! let report = ExpireSnapshots::new(&table).retain_last(10).dry_run(true).execute().await?;
//! println!("would expire {:?}", report.expired_snapshot_ids);
//! let done = RewriteDataFiles::new(&table).execute().await?;
//! println!("{} files rewritten into {}", done.rewritten_data_files, done.added_data_files);
//! # Ok(()) }
//! ```

mod clean_metadata;
mod expire_snapshots;
mod reachable;
mod remove_orphans;
mod rewrite_data_files;
mod rewrite_manifests;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

pub use self::clean_metadata::{
    CleanMetadataFiles, CleanMetadataFilesResult, METADATA_DELETE_AFTER_COMMIT_ENABLED,
};
pub use self::expire_snapshots::{
    ExpireSnapshots, ExpireSnapshotsResult, MAX_REF_AGE_MS, MAX_SNAPSHOT_AGE_MS,
    MAX_SNAPSHOT_AGE_MS_DEFAULT, MIN_SNAPSHOTS_TO_KEEP, MIN_SNAPSHOTS_TO_KEEP_DEFAULT,
};
pub use self::remove_orphans::{
    ORPHAN_SAFETY_AGE_MS_DEFAULT, RemoveOrphanFiles, RemoveOrphanFilesResult,
};
pub use self::rewrite_data_files::{
    MAX_GROUP_SIZE_BYTES_DEFAULT, MIN_INPUT_FILES_DEFAULT, RewriteDataFiles,
    RewriteDataFilesResult, RewriteGroupResult, RewriteGroupStatus,
};
pub use self::rewrite_manifests::{RewriteManifests, RewriteManifestsResult};

/// Table property: whether maintenance may delete files (default true). With `false`,
/// snapshot expiry still commits but deletes nothing, and orphan and metadata-file
/// removal delete nothing.
pub const GC_ENABLED: &str = "gc.enabled";

/// The time source of maintenance actions.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        crate::transaction::now_ms()
    }
}

/// A clock that says what it is told (tests).
#[derive(Debug, Default)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    /// A clock at `now_ms`.
    pub fn new(now_ms: i64) -> Self {
        Self(AtomicI64::new(now_ms))
    }

    /// Moves the clock to `now_ms`.
    pub fn set(&self, now_ms: i64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }
}

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The default clock.
pub(crate) fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// Whether `gc.enabled` allows deleting files (default true).
pub(crate) fn gc_enabled(properties: &std::collections::HashMap<String, String>) -> bool {
    properties
        .get(GC_ENABLED)
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"))
}

/// How many deletes run at once.
pub(crate) const DELETE_CONCURRENCY: usize = 16;

/// Deletes `paths` (a missing file is fine), `concurrency` at a time; returns the paths
/// that could not be deleted with the error.
pub(crate) async fn delete_all(
    storage: &crate::table::Storage,
    paths: Vec<String>,
    concurrency: usize,
) -> Vec<(String, String)> {
    use futures::StreamExt;
    futures::stream::iter(paths)
        .map(|p| {
            let storage = storage.clone();
            async move {
                match storage.delete(&p).await {
                    Ok(()) => None,
                    Err(e) => Some((p, e.to_string())),
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .filter_map(|r| async move { r })
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The actions' futures can be spawned on tokio tasks (as the server's workers do):
    /// this only has to compile.
    #[allow(dead_code)]
    fn spawnable(t: &crate::Table) {
        drop(tokio::spawn(ExpireSnapshots::new(t).execute()));
        drop(tokio::spawn(RemoveOrphanFiles::new(t).execute()));
        drop(tokio::spawn(RewriteDataFiles::new(t).execute()));
        drop(tokio::spawn(RewriteManifests::new(t).execute()));
        drop(tokio::spawn(CleanMetadataFiles::new(t).execute()));
    }

    #[test]
    fn fixed_clock_and_gc_property() {
        let c = FixedClock::new(5);
        assert_eq!(c.now_ms(), 5);
        c.set(7);
        assert_eq!(c.now_ms(), 7);
        let mut p = std::collections::HashMap::new();
        assert!(gc_enabled(&p));
        p.insert(GC_ENABLED.to_string(), "FALSE".to_string());
        assert!(!gc_enabled(&p));
    }
}
