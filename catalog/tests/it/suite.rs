//! The conformance suite on SQLite and PostgreSQL: the shared checks of
//! `conformance.rs` (which floe-client also runs through its REST catalog), then the
//! checks only a SQL catalog can make.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use floe_catalog::{
    Catalog, CommitStatus, ErrorKind, SqlCatalog, TableIdent, WriterProgressUpdate,
};

use crate::common::{
    Db, Fixture, append_commit, assert_kind, creation, files_under, ns, refuses_outside_location,
    set_property, table, tid,
};
use crate::conformance::Harness;

/// A `SqlCatalog` on a fresh database and warehouse.
pub struct SqlHarness {
    fx: Fixture,
}

impl SqlHarness {
    pub async fn new(db: Db) -> Self {
        Self {
            fx: Fixture::new(db).await,
        }
    }
}

impl Harness for SqlHarness {
    async fn catalog(&self) -> Arc<dyn Catalog> {
        Arc::new(self.fx.catalog().await)
    }

    fn warehouse_dir(&self) -> &Path {
        self.fx.warehouse.path()
    }

    fn warehouse_root(&self) -> String {
        warehouse_root_of(&self.fx)
    }

    fn exact_commit_status(&self) -> bool {
        true
    }

    async fn expire_idempotency_keys(&self, before_ms: i64) -> u64 {
        self.fx
            .catalog()
            .await
            .expire_idempotency_keys(before_ms)
            .await
            .unwrap()
    }
}

fn warehouse_root_of(fx: &Fixture) -> String {
    floe_catalog::Warehouse::new(&fx.warehouse_path())
        .unwrap()
        .root()
}

mod shared_sqlite {
    async fn harness() -> super::SqlHarness {
        super::SqlHarness::new(crate::common::Db::Sqlite).await
    }
    crate::conformance::conformance_tests!(harness);
}

mod shared_postgres {
    async fn harness() -> super::SqlHarness {
        super::SqlHarness::new(crate::common::Db::Postgres).await
    }
    crate::conformance::conformance_tests!(harness);
}

crate::common::on_both!(
    external_locations,
    writer_progress,
    metadata_cache,
    commits_start_from_cached_metadata,
);

async fn external_locations(fx: &Fixture) {
    let c = fx.catalog().await;
    c.create_namespace(&ns(&["db"]), HashMap::new())
        .await
        .unwrap();
    refuses_outside_location(&c).await;
    // A catalog that allows external locations accepts it.
    let open = fx
        .builder()
        .allow_external_locations(true)
        .build()
        .await
        .unwrap();
    let ext_dir = tempfile::tempdir().unwrap();
    let mut ext = creation("ext");
    ext.location = Some(ext_dir.path().display().to_string());
    open.create_table(&ns(&["db"]), ext).await.unwrap();
    assert_eq!(files_under(ext_dir.path()).len(), 1);
}

/// The stored (epoch, last seq, snapshot, watermark) of writer `stream-1`.
async fn progress(c: &SqlCatalog, t: &TableIdent) -> (i64, i64, Option<i64>, Option<i64>) {
    let p = c.writer_progress(t, "stream-1").await.unwrap().unwrap();
    (p.epoch, p.last_seq, p.snapshot_id, p.watermark)
}

async fn writer_progress(fx: &Fixture) {
    let c = fx.catalog().await;
    let t = table(&c).await;
    let wp = |epoch, seq, watermark| WriterProgressUpdate {
        writer_id: "stream-1".into(),
        epoch,
        seq,
        snapshot_id: None,
        watermark,
    };
    assert!(
        c.writer_progress(&t.ident, "stream-1")
            .await
            .unwrap()
            .is_none()
    );

    let r1 = c
        .commit(
            vec![
                append_commit(&t.ident, &t.metadata, 101).with_writer_progress(wp(
                    1,
                    1,
                    Some(1000),
                )),
            ],
            None,
        )
        .await
        .unwrap();
    assert_eq!(r1.status, CommitStatus::Committed);
    assert_eq!(progress(&c, &t.ident).await, (1, 1, Some(101), Some(1000)));

    // The same batch again: a duplicate, answered with the original snapshot.
    let head = r1.tables[0].metadata.clone();
    let dup = c
        .commit(
            vec![append_commit(&t.ident, &head, 102).with_writer_progress(wp(1, 1, Some(1000)))],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        dup.status,
        CommitStatus::Duplicate {
            writer_id: "stream-1".into(),
            seq: 1,
            snapshot_id: Some(101)
        }
    );
    let loaded = c.load_table(&t.ident).await.unwrap();
    assert_eq!(loaded.metadata.snapshots().len(), 1);

    // A restarted writer takes epoch 2; the old instance is fenced.
    let r2 = c
        .commit(
            vec![append_commit(&t.ident, &head, 103).with_writer_progress(wp(2, 2, None))],
            None,
        )
        .await
        .unwrap();
    assert_eq!(r2.status, CommitStatus::Committed);
    let head = r2.tables[0].metadata.clone();
    assert_kind(
        c.commit(
            vec![append_commit(&t.ident, &head, 104).with_writer_progress(wp(1, 3, None))],
            None,
        )
        .await,
        ErrorKind::CommitFailed,
    );
    // The watermark is kept when a batch does not report one.
    assert_eq!(progress(&c, &t.ident).await, (2, 2, Some(103), Some(1000)));

    // A second writer; list them.
    let second = WriterProgressUpdate {
        writer_id: "stream-2".into(),
        epoch: 0,
        seq: 0,
        snapshot_id: Some(104),
        watermark: None,
    };
    c.commit(
        vec![append_commit(&t.ident, &head, 104).with_writer_progress(second)],
        None,
    )
    .await
    .unwrap();
    let writers = c.list_writers(&t.ident).await.unwrap();
    assert_eq!(
        writers
            .iter()
            .map(|w| w.writer_id.as_str())
            .collect::<Vec<_>>(),
        ["stream-1", "stream-2"]
    );
    assert_kind(
        c.list_writers(&tid(&["db"], "nope")).await,
        ErrorKind::NoSuchTable,
    );
    // Dropping the table drops its writers.
    c.drop_table(&t.ident, false).await.unwrap();
    let again = c.create_table(&ns(&["db"]), creation("t")).await.unwrap();
    assert!(c.list_writers(&again.ident).await.unwrap().is_empty());
}

async fn metadata_cache(fx: &Fixture) {
    let c = fx.catalog().await;
    let t = table(&c).await;
    let before = c.cache_stats();
    for _ in 0..5 {
        c.load_table(&t.ident).await.unwrap();
    }
    let after = c.cache_stats();
    assert_eq!(after.hits - before.hits, 5);
    assert_eq!(after.misses, before.misses);
    // A fresh handle reads the file once, then hits.
    let other = fx.catalog().await;
    other.load_table(&t.ident).await.unwrap();
    other.load_table(&t.ident).await.unwrap();
    let s = other.cache_stats();
    assert_eq!((s.hits, s.misses), (1, 1));
}

/// A commit caches what it wrote under the new location, so the next commit (and load)
/// of the same catalog starts from memory: no metadata file is read again.
async fn commits_start_from_cached_metadata(fx: &Fixture) {
    let c = fx.catalog().await;
    let mut t = table(&c).await;
    let before = c.cache_stats();
    for i in 0..10 {
        let commit = if i % 2 == 0 {
            set_property(&t.ident, "k", &format!("v{i}"))
        } else {
            append_commit(&t.ident, &t.metadata, 100 + i)
        };
        t = c.commit_table(commit).await.unwrap();
    }
    let loaded = c.load_table(&t.ident).await.unwrap();
    let after = c.cache_stats();
    assert_eq!(after.misses, before.misses, "{before:?} -> {after:?}");
    assert!(after.hits >= before.hits + 11, "{before:?} -> {after:?}");
    assert_eq!(loaded.metadata_location, t.metadata_location);
    assert_eq!(loaded.metadata.snapshots().len(), 5);
    assert_eq!(
        loaded.metadata.properties().get("k").map(String::as_str),
        Some("v8")
    );
}
