//! What metadata reaches: the manifest lists and manifests of a set of snapshots, and
//! the data and delete files their manifests name.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use floe_spec::manifest::{DataContentType, ManifestStatus};
use floe_spec::manifest_list::ManifestFile;
use floe_spec::snapshot::SnapshotRef;
use floe_spec::table_metadata::TableMetadata;
use futures::{StreamExt, TryStreamExt};

use crate::error::Result;
use crate::table::Storage;

/// How many manifest lists or manifests are read at once.
const READ_CONCURRENCY: usize = 8;

/// A data or delete file named by a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContentFile {
    pub content: DataContentType,
    pub size: i64,
}

/// The manifest lists of `snapshots` and the manifests they list (by path).
pub(crate) async fn manifests_of(
    storage: &Storage,
    metadata: &Arc<TableMetadata>,
    snapshots: &[SnapshotRef],
) -> Result<(HashSet<String>, HashMap<String, ManifestFile>)> {
    let lists: HashSet<String> = snapshots.iter().map(|s| s.manifest_list.clone()).collect();
    let read: Vec<Vec<ManifestFile>> =
        futures::stream::iter(lists.iter().cloned().collect::<Vec<_>>())
            .map(|path| {
                let storage = storage.clone();
                let metadata = metadata.clone();
                async move { storage.manifest_list(&metadata, &path).await }
            })
            .buffer_unordered(READ_CONCURRENCY)
            .try_collect()
            .await?;
    let mut manifests = HashMap::new();
    for m in read.into_iter().flatten() {
        manifests.entry(m.manifest_path.clone()).or_insert(m);
    }
    Ok((lists, manifests))
}

/// The files named by `manifests`: only live ones (ADDED, EXISTING) when `live_only`.
pub(crate) async fn content_files(
    storage: &Storage,
    manifests: Vec<ManifestFile>,
    live_only: bool,
) -> Result<HashMap<String, ContentFile>> {
    let entries: Vec<Vec<(String, ContentFile)>> = futures::stream::iter(manifests)
        .map(|m| {
            let storage = storage.clone();
            async move {
                let entries = storage.manifest_entries(&m).await?;
                Ok::<_, crate::Error>(
                    entries
                        .into_iter()
                        .filter(|e| !live_only || e.status != ManifestStatus::Deleted)
                        .map(|e| {
                            (
                                e.data_file.file_path,
                                ContentFile {
                                    content: e.data_file.content,
                                    size: e.data_file.file_size_in_bytes,
                                },
                            )
                        })
                        .collect(),
                )
            }
        })
        .buffer_unordered(READ_CONCURRENCY)
        .try_collect()
        .await?;
    Ok(entries.into_iter().flatten().collect())
}

/// Statistics and partition-statistics files of `metadata` (path → size).
pub(crate) fn statistics_files(metadata: &TableMetadata) -> HashMap<String, i64> {
    metadata
        .statistics()
        .iter()
        .map(|s| (s.statistics_path.clone(), s.file_size_in_bytes))
        .chain(
            metadata
                .partition_statistics()
                .iter()
                .map(|s| (s.statistics_path.clone(), s.file_size_in_bytes)),
        )
        .collect()
}

/// Every snapshot of `metadata`.
pub(crate) fn all_snapshots(metadata: &TableMetadata) -> Vec<SnapshotRef> {
    metadata.snapshots().values().cloned().collect()
}
