//! Transactions end to end on a SQLite catalog in a temporary folder
//! ([`crate::common::Env::sqlite`]): each operation's snapshots, summaries, sequence
//! numbers and manifests; conflicts between concurrent operations under both isolation
//! levels; many concurrent writers; injected commit failures; catalog-side rebase of
//! stale appends; bad input; and a table read back by PyIceberg.

// Test helpers: a panic is a failed test.
#![allow(clippy::unwrap_used)]

mod bad_input;
mod concurrency;
mod conflicts;
mod evolution;
mod faults;
mod interop;
mod operations;
mod rebase;

use floe_spec::manifest::{DataContentType, DataFile, ManifestEntry};
use floe_spec::values::Datum;
use floe_table::table::Table;

use crate::common::{Env, batch};

/// Creates partitioned table `t` with `properties` and commits rows 0..10 in `a` and
/// 10..20 in `b`.
pub async fn a_and_b(env: &Env, properties: &[(&str, &str)]) -> Table {
    let t = env.create("t", true, properties).await;
    t.append(vec![batch(&t, 0..10, "a"), batch(&t, 10..20, "b")])
        .await
        .unwrap()
}

/// The live data file whose first partition value is `cat`.
pub async fn file_of(t: &Table, cat: &str) -> DataFile {
    let value = Some(Datum::String(cat.into()));
    t.live_entries(None)
        .await
        .unwrap()
        .into_iter()
        .find(|e| {
            e.data_file.content == DataContentType::Data
                && e.data_file.partition.first() == Some(&value)
        })
        .unwrap_or_else(|| panic!("no live data file in partition {cat}"))
        .data_file
}

/// Paths of the live data files of the current snapshot, sorted.
pub async fn live_paths(table: &Table) -> Vec<String> {
    let mut out: Vec<String> = table
        .live_entries(None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.data_file.file_path)
        .collect();
    out.sort();
    out
}

/// Live rows of the current snapshot, by data-file record counts (no delete files).
pub async fn live_records(table: &Table) -> i64 {
    table
        .live_entries(None)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.data_file.content == DataContentType::Data)
        .map(|e| e.data_file.record_count)
        .sum()
}

/// Every entry of the current snapshot's manifests (any status), with the manifest's
/// added snapshot.
pub async fn all_entries(table: &Table) -> Vec<(i64, ManifestEntry)> {
    let mut out = Vec::new();
    for m in table.manifests(None).await.unwrap() {
        for e in table.manifest_entries(&m).await.unwrap() {
            out.push((m.added_snapshot_id, e));
        }
    }
    out
}

pub fn status_of<'a>(entries: &'a [(i64, ManifestEntry)], path: &str) -> Vec<&'a ManifestEntry> {
    entries
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e.data_file.file_path == path)
        .collect()
}

pub fn summary(table: &Table, key: &str) -> Option<String> {
    table
        .current_snapshot()
        .and_then(|s| s.summary.additional_properties.get(key).cloned())
}
