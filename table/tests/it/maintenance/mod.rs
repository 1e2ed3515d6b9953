//! Maintenance actions end to end on a SQLite catalog and local files: snapshot expiry
//! (checked by listing the storage), orphan-file removal, compaction (with position
//! and equality deletes folded), manifest rewrite, metadata-file cleanup, dry runs,
//! and compaction plus expiry running beside concurrent writers.

// Test helpers: a panic is a failed test.
#![allow(clippy::unwrap_used)]

mod compact;
mod expire;
mod orphans;
mod safety;

use std::collections::{BTreeMap, BTreeSet};

use floe_spec::manifest::ManifestStatus;
use floe_table::table::Table;
use floe_table::writer::default_store_path;
use futures::TryStreamExt;
use object_store::ObjectMeta;

/// Every object under the table location, by store path.
pub async fn list_files(table: &Table) -> BTreeMap<String, ObjectMeta> {
    let prefix = default_store_path(table.location()).unwrap();
    table
        .store()
        .list(Some(&prefix))
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.location.to_string(), m))
        .collect()
}

/// Store paths of the manifest lists, manifests and live data and delete files of every
/// snapshot of `table`'s metadata.
pub async fn referenced_by_snapshots(table: &Table) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let path = |l: &str| default_store_path(l).unwrap().to_string();
    for s in table.metadata().snapshots().values() {
        out.insert(path(&s.manifest_list));
        for m in table.manifests(Some(s.snapshot_id)).await.unwrap() {
            out.insert(path(&m.manifest_path));
            for e in table.manifest_entries(&m).await.unwrap() {
                if e.status != ManifestStatus::Deleted {
                    out.insert(path(&e.data_file.file_path));
                }
            }
        }
    }
    out
}

/// The store paths of the metadata JSON files among `files`.
pub fn metadata_json(files: &BTreeMap<String, ObjectMeta>) -> BTreeSet<String> {
    files
        .keys()
        .filter(|p| p.ends_with(".metadata.json"))
        .cloned()
        .collect()
}

/// The store paths of `files` that are not metadata JSON files.
pub fn non_metadata(files: &BTreeMap<String, ObjectMeta>) -> BTreeSet<String> {
    files
        .keys()
        .filter(|p| !p.ends_with(".metadata.json"))
        .cloned()
        .collect()
}
