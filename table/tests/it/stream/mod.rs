//! Exactly-once streams: group commit of append intents from many concurrent writers,
//! duplicates and fencing, stream writers (triggers, backpressure, restarts), and
//! writers killed at random points — on SQLite and on PostgreSQL
//! (`FLOE_TEST_POSTGRES_URL`, required: the PostgreSQL tests fail when it is unset).

// Test helpers: a panic is a failed test.
#![allow(clippy::unwrap_used)]

mod faults;
mod group;
mod pipeline;
mod writer;

use std::sync::Arc;

use floe_catalog::{Catalog, WriterProgress};
use floe_table::Table;
use floe_table::stream::{GroupCommitConfig, GroupCommitter};

use crate::common::{Env, FaultyCatalog};

/// The stream tests' additions to the shared environment: group committers on its
/// store, and table `t` behind a fault-injecting catalog.
impl Env {
    pub fn committer(&self, window_ms: u64) -> GroupCommitter {
        self.committer_on(self.catalog.clone(), window_ms)
    }

    pub fn committer_on(&self, catalog: Arc<dyn Catalog>, window_ms: u64) -> GroupCommitter {
        GroupCommitter::new(
            catalog,
            self.catalog.warehouse().store().clone(),
            GroupCommitConfig {
                window: std::time::Duration::from_millis(window_ms),
                ..GroupCommitConfig::default()
            },
        )
    }

    /// Creates table `t` and opens it through a fault-injecting wrapper of the catalog;
    /// returns the wrapper, the table and a group committer (1 ms window) on it.
    pub async fn faulty(&self, partitioned: bool) -> (Arc<FaultyCatalog>, Table, GroupCommitter) {
        self.create("t", partitioned, &[]).await;
        let faults = FaultyCatalog::new(self.catalog.clone());
        let table = faults.table(&Self::ident("t")).await;
        let committer = self.committer_on(faults.clone(), 1);
        (faults, table, committer)
    }
}

/// The stored progress of stream writer `writer` of `table`; it must have one.
pub async fn progress(catalog: &dyn Catalog, table: &Table, writer: &str) -> WriterProgress {
    catalog
        .writer_progress(table.ident(), writer)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no progress stored for writer {writer}"))
}

/// Asserts that `ids` holds exactly `0..n`, each once.
pub fn assert_exactly_once(ids: &[i64], n: i64) {
    let mut dupes = Vec::new();
    for w in ids.windows(2) {
        if w[0] == w[1] {
            dupes.push(w[0]);
        }
    }
    assert!(dupes.is_empty(), "rows present more than once: {dupes:?}");
    let expected: Vec<i64> = (0..n).collect();
    if ids != expected.as_slice() {
        let have: std::collections::HashSet<i64> = ids.iter().copied().collect();
        let missing: Vec<i64> = expected
            .iter()
            .filter(|i| !have.contains(i))
            .copied()
            .collect();
        panic!(
            "expected rows 0..{n} once each; {} rows present, missing {:?}",
            ids.len(),
            &missing[..missing.len().min(20)]
        );
    }
}
