//! [`RemoveOrphanFiles`]: deletes files under the table location that no metadata
//! references and that are older than a safety age.
//!
//! Referenced files are those of the newest metadata: every snapshot's manifest list,
//! its manifests and every data and delete file they name (deleted entries included),
//! statistics and partition-statistics files, the current metadata file and every file
//! of the metadata log. Paths are compared as object-store paths, so `s3a://` and
//! `s3://` spellings of one file match.
//!
//! # Commits in flight
//! A writer writes its data files, manifests, manifest list and metadata file *before*
//! its commit makes them referenced. Those files are new: their last-modified time is
//! within the commit's duration, so the safety age (default 3 days, by the object
//! store's last-modified time) keeps them; a commit would have to take longer than the
//! safety age for its files to be taken for orphans. Lowering the age below the
//! longest possible commit (including its retries) is unsafe. The same holds for a
//! commit that adds files written long before it (imports): keep such files out of
//! the table location or use a longer age.
//!
//! With `gc.enabled=false` nothing is deleted (the action fails with `DataInvalid`).

use std::collections::HashSet;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use super::reachable::{all_snapshots, content_files, manifests_of, statistics_files};
use super::{Clock, DELETE_CONCURRENCY, FixedClock, GC_ENABLED, gc_enabled, system_clock};
use crate::error::{Error, ErrorKind, Result};
use crate::table::Table;
use crate::writer::default_store_path;

/// Default safety age of [`RemoveOrphanFiles`]: 3 days.
pub const ORPHAN_SAFETY_AGE_MS_DEFAULT: i64 = 3 * 24 * 60 * 60 * 1000;

/// What an orphan-file removal did (or would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RemoveOrphanFilesResult {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Files older than this (ms since the epoch) were considered.
    pub older_than_ms: i64,
    /// Files listed under the location.
    pub listed_files: u64,
    /// Files the metadata references.
    pub referenced_files: u64,
    /// Orphans deleted (or that would be), sorted object-store paths.
    pub orphan_files: Vec<String>,
    /// Their bytes.
    pub orphan_bytes: u64,
    /// Orphans too young to delete.
    pub young_unreferenced_files: u64,
    /// Files whose deletion failed, with the error.
    pub failed_deletes: Vec<(String, String)>,
}

/// Removes orphan files of a table; see the module docs.
#[derive(Debug, Clone)]
pub struct RemoveOrphanFiles {
    table: Table,
    clock: Arc<dyn Clock>,
    older_than_ms: Option<i64>,
    location: Option<String>,
    dry_run: bool,
    concurrency: usize,
}

impl RemoveOrphanFiles {
    /// An orphan removal under `table`'s location with the default safety age.
    pub fn new(table: &Table) -> Self {
        Self {
            table: table.clone(),
            clock: system_clock(),
            older_than_ms: None,
            location: None,
            dry_run: false,
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

    /// Only files last modified before `timestamp_ms` are deleted (default: now minus
    /// 3 days). See the module docs before lowering it.
    #[must_use]
    pub fn older_than_ms(mut self, timestamp_ms: i64) -> Self {
        self.older_than_ms = Some(timestamp_ms);
        self
    }

    /// Lists `location` (inside the table location) instead of the whole table
    /// location.
    #[must_use]
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// Only reports the orphans.
    #[must_use]
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    /// How many files are deleted at once (default 16).
    #[must_use]
    pub fn delete_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Lists, compares with the newest metadata and deletes the old orphans.
    pub async fn execute(self) -> Result<RemoveOrphanFilesResult> {
        let mut table = self.table.clone();
        table.refresh().await?;
        if !gc_enabled(table.properties()) {
            return Err(Error::invalid(format!(
                "remove orphan files: table {} sets `{GC_ENABLED}=false`: files may belong to \
                 other tables",
                table.ident()
            )));
        }
        let older_than = self.older_than_ms.unwrap_or_else(|| {
            self.clock
                .now_ms()
                .saturating_sub(ORPHAN_SAFETY_AGE_MS_DEFAULT)
        });
        let md = table.metadata().clone();
        let storage = table.storage();
        let mut referenced: HashSet<String> = HashSet::new();
        let mut add = |location: &str| -> Result<()> {
            referenced.insert(default_store_path(location)?.to_string());
            Ok(())
        };
        let (lists, manifests) = manifests_of(storage, &md, &all_snapshots(&md)).await?;
        for l in &lists {
            add(l)?;
        }
        for m in manifests.keys() {
            add(m)?;
        }
        for f in content_files(storage, manifests.values().cloned().collect(), false)
            .await?
            .keys()
        {
            add(f)?;
        }
        for f in statistics_files(&md).keys() {
            add(f)?;
        }
        if let Some(l) = table.metadata_location() {
            add(l)?;
        }
        for e in md.metadata_log() {
            add(&e.metadata_file)?;
        }
        let root = default_store_path(md.location())?;
        let prefix = match &self.location {
            Some(l) => {
                let p = default_store_path(l)?;
                if !p.as_ref().starts_with(root.as_ref()) {
                    return Err(Error::invalid(format!(
                        "remove orphan files: `{l}` is not inside the table location `{}`",
                        md.location()
                    )));
                }
                p
            }
            None => root,
        };
        let listed: Vec<object_store::ObjectMeta> = table
            .store()
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("remove orphan files: listing `{prefix}` failed"),
                )
                .with_source(e)
            })?;
        let mut result = RemoveOrphanFilesResult {
            dry_run: self.dry_run,
            older_than_ms: older_than,
            listed_files: listed.len() as u64,
            referenced_files: referenced.len() as u64,
            ..RemoveOrphanFilesResult::default()
        };
        let mut orphans = Vec::new();
        for o in listed {
            let path = o.location.to_string();
            if referenced.contains(&path) || path.ends_with("version-hint.text") {
                continue;
            }
            if o.last_modified.timestamp_millis() >= older_than {
                result.young_unreferenced_files += 1;
                continue;
            }
            result.orphan_bytes += o.size;
            orphans.push(o.location);
        }
        orphans.sort();
        result.orphan_files = orphans.iter().map(ToString::to_string).collect();
        if !self.dry_run {
            result.failed_deletes = delete_paths(table.store(), orphans, self.concurrency).await;
        }
        Ok(result)
    }
}

/// Deletes object-store `paths` of `store` (a missing one is fine); returns the
/// failures.
async fn delete_paths(
    store: &Arc<dyn ObjectStore>,
    paths: Vec<Path>,
    concurrency: usize,
) -> Vec<(String, String)> {
    futures::stream::iter(paths)
        .map(|p| {
            let store = store.clone();
            async move {
                match store.delete(&p).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => None,
                    Err(e) => Some((p.to_string(), e.to_string())),
                }
            }
        })
        .buffer_unordered(concurrency.max(1))
        .filter_map(|r| async move { r })
        .collect()
        .await
}
