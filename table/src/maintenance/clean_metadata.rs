//! [`CleanMetadataFiles`]: deletes table metadata files that left the metadata log.
//!
//! Every commit writes a new `<version>-<uuid>.metadata.json` and records the previous
//! one in the metadata log, which the catalog trims to
//! `write.metadata.previous-versions-max` (100) entries. With
//! `write.metadata.delete-after-commit.enabled=true` the catalog deletes the trimmed
//! files right after the commit, best effort; this action deletes those it missed
//! (a failed delete, a crash, the property turned on later): metadata files in the
//! metadata folder whose version is **lower** than every file the current metadata
//! still names (itself and the log). Files of newer versions are left alone, so a
//! metadata file written by a commit in flight (always a higher version) is never
//! touched. Without the property (and without [`CleanMetadataFiles::force`]) nothing
//! is deleted, and never with `gc.enabled=false`.

use std::collections::HashSet;

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::{DELETE_CONCURRENCY, delete_all, gc_enabled};
use crate::error::{Error, ErrorKind, Result};
use crate::table::Table;
use crate::transaction::WRITE_METADATA_PATH;
use crate::writer::default_store_path;

/// Table property: whether metadata files that leave the metadata log are deleted.
pub const METADATA_DELETE_AFTER_COMMIT_ENABLED: &str = "write.metadata.delete-after-commit.enabled";

/// What a metadata-file cleanup did (or would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CleanMetadataFilesResult {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Whether deletion was enabled (property, or forced, and `gc.enabled`).
    pub enabled: bool,
    /// Metadata files the current metadata names (itself and the log).
    pub retained_files: u64,
    /// Files deleted (or that would be; none when not enabled), sorted locations.
    pub deleted_files: Vec<String>,
    /// Files whose deletion failed, with the error.
    pub failed_deletes: Vec<(String, String)>,
}

/// Cleans old metadata files of a table; see the module docs.
#[derive(Debug, Clone)]
pub struct CleanMetadataFiles {
    table: Table,
    force: bool,
    dry_run: bool,
}

/// The version of a metadata file name `<version>-<uuid>[.gz].metadata.json`.
fn version_of(name: &str) -> Option<u64> {
    if !name.ends_with(".metadata.json") {
        return None;
    }
    let (v, _) = name.split_once('-')?;
    v.parse().ok()
}

fn file_name(location: &str) -> &str {
    location.rsplit('/').next().unwrap_or(location)
}

impl CleanMetadataFiles {
    /// A cleanup of `table`'s metadata folder.
    pub fn new(table: &Table) -> Self {
        Self {
            table: table.clone(),
            force: false,
            dry_run: false,
        }
    }

    /// Deletes even without `write.metadata.delete-after-commit.enabled=true`.
    #[must_use]
    pub fn force(mut self, yes: bool) -> Self {
        self.force = yes;
        self
    }

    /// Only reports what would be deleted.
    #[must_use]
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    /// Lists the metadata folder and deletes the old files.
    pub async fn execute(self) -> Result<CleanMetadataFilesResult> {
        let mut table = self.table.clone();
        table.refresh().await?;
        let md = table.metadata().clone();
        let enabled = (self.force
            || md
                .properties()
                .get(METADATA_DELETE_AFTER_COMMIT_ENABLED)
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true")))
            && gc_enabled(md.properties());
        let mut retained: Vec<String> = md
            .metadata_log()
            .iter()
            .map(|e| e.metadata_file.clone())
            .collect();
        retained.extend(table.metadata_location().map(str::to_string));
        let mut result = CleanMetadataFilesResult {
            dry_run: self.dry_run,
            enabled,
            retained_files: retained.len() as u64,
            ..CleanMetadataFilesResult::default()
        };
        let Some(min_version) = retained
            .iter()
            .filter_map(|l| version_of(file_name(l)))
            .min()
        else {
            return Ok(result);
        };
        let keep: HashSet<String> = retained
            .iter()
            .map(|l| default_store_path(l).map(|p| p.to_string()))
            .collect::<Result<_>>()?;
        let dir = match md.properties().get(WRITE_METADATA_PATH) {
            Some(p) if !p.trim().is_empty() => p.trim().trim_end_matches('/').to_string(),
            _ => format!("{}/metadata", md.location().trim_end_matches('/')),
        };
        let prefix = default_store_path(&dir)?;
        let listed: Vec<object_store::ObjectMeta> = table
            .store()
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("clean metadata files: listing `{dir}` failed"),
                )
                .with_source(e)
            })?;
        let mut doomed = Vec::new();
        for o in listed {
            let path = o.location.to_string();
            let name = o.location.filename().unwrap_or_default();
            if keep.contains(&path) {
                continue;
            }
            if version_of(name).is_some_and(|v| v < min_version) {
                doomed.push(format!("{dir}/{name}"));
            }
        }
        doomed.sort();
        if enabled {
            if !self.dry_run {
                result.failed_deletes =
                    delete_all(table.storage(), doomed.clone(), DELETE_CONCURRENCY).await;
            }
            result.deleted_files = doomed;
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_metadata_file_names() {
        assert_eq!(version_of("00012-abc-def.metadata.json"), Some(12));
        assert_eq!(version_of("00003-abc.gz.metadata.json"), Some(3));
        assert_eq!(version_of("snap-1-2-abc.avro"), None);
        assert_eq!(version_of("v1.metadata.json"), None);
    }
}
