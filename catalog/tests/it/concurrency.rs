//! Concurrency: many writers, each through its own catalog handle (its own connection
//! pool, as separate server replicas would have), append to one table. Every commit
//! either succeeds or fails with CommitFailed, and the final metadata holds exactly the
//! acknowledged snapshots with gap-free sequence numbers.

use std::sync::Arc;

use floe_catalog::{Catalog, ErrorKind};

use crate::common::{Db, Fixture, append_commit, check_consistent, table, tid};

const WRITERS: i64 = 16;
const ROUNDS: i64 = 4;

async fn concurrent_appends(fx: &Fixture) {
    let first = fx.catalog().await;
    table(&first).await;
    let ident = tid(&["db"], "t");
    let mut handles = Vec::new();
    for w in 0..WRITERS {
        // Separate catalog handles and pools; built one after the other so that only
        // the first one runs the migrations.
        let catalog: Arc<dyn Catalog> =
            Arc::new(fx.builder().max_connections(2).build().await.unwrap());
        let ident = ident.clone();
        handles.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut failed = 0;
            for round in 0..ROUNDS {
                let meta = catalog.load_table(&ident).await.unwrap().metadata;
                let id = 1 + w * 1000 + round;
                match catalog.commit_table(append_commit(&ident, &meta, id)).await {
                    Ok(t) => {
                        assert_eq!(t.metadata.current_snapshot_id(), Some(id));
                        acked.push(id);
                    }
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::CommitFailed, "unexpected error: {e}");
                        assert!(e.is_retryable());
                        failed += 1;
                    }
                }
            }
            (acked, failed)
        }));
    }
    let mut acked = Vec::new();
    let mut failed = 0;
    for h in handles {
        let (a, f) = h.await.unwrap();
        acked.extend(a);
        failed += f;
    }
    assert_eq!(acked.len() as i64 + failed, WRITERS * ROUNDS);
    assert!(!acked.is_empty());

    let meta = check_consistent(&first, &ident).await;
    let mut in_table: Vec<i64> = meta.snapshots().keys().copied().collect();
    in_table.sort_unstable();
    acked.sort_unstable();
    assert_eq!(
        in_table, acked,
        "the table holds exactly the acknowledged snapshots"
    );
    // One chain: following parents from the head visits every snapshot.
    let mut n = 0;
    let mut cursor = meta.current_snapshot_id();
    while let Some(id) = cursor {
        n += 1;
        cursor = meta.snapshot_by_id(id).unwrap().parent_snapshot_id;
    }
    assert_eq!(n, acked.len());
    eprintln!(
        "concurrent appends: {} acknowledged, {failed} CommitFailed",
        acked.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_sixteen_writers_separate_pools() {
    let fx = Fixture::new(Db::Sqlite).await;
    concurrent_appends(&fx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_sixteen_writers_separate_catalogs() {
    let fx = Fixture::new(Db::Postgres).await;
    concurrent_appends(&fx).await;
}

/// Two catalogs on one PostgreSQL, each with several tasks, metadata-only commits
/// (no requirements): the server-side reload-and-reapply makes them all land or fail
/// with CommitFailed after the bounded retries, and no update is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_two_catalogs_property_commits() {
    let fx = Fixture::new(Db::Postgres).await;
    let a: Arc<dyn Catalog> = Arc::new(fx.catalog().await);
    let b: Arc<dyn Catalog> = Arc::new(fx.catalog().await);
    table(a.as_ref()).await;
    let ident = tid(&["db"], "t");
    let mut handles = Vec::new();
    for i in 0..8 {
        let catalog = if i % 2 == 0 {
            Arc::clone(&a)
        } else {
            Arc::clone(&b)
        };
        let ident = ident.clone();
        handles.push(tokio::spawn(async move {
            let key = format!("k{i}");
            match catalog
                .commit_table(crate::common::set_property(&ident, &key, "v"))
                .await
            {
                Ok(_) => Some(key),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::CommitFailed, "{e}");
                    None
                }
            }
        }));
    }
    let mut landed = Vec::new();
    for h in handles {
        if let Some(k) = h.await.unwrap() {
            landed.push(k);
        }
    }
    let meta = a.load_table(&ident).await.unwrap().metadata;
    for k in &landed {
        assert_eq!(
            meta.properties().get(k).map(String::as_str),
            Some("v"),
            "{k} lost"
        );
    }
    assert!(!landed.is_empty());
}

/// The same request (same idempotency key) sent twice at once through two handles: it
/// is applied once, and both answers name the same metadata file.
async fn same_key_concurrently(fx: &Fixture) {
    let c0 = fx.catalog().await;
    let t = table(&c0).await;
    let mut handles = Vec::new();
    for _ in 0..2 {
        let catalog = fx.catalog().await;
        let commit = append_commit(&t.ident, &t.metadata, 42);
        handles.push(tokio::spawn(async move {
            catalog.commit(vec![commit], Some("same".into())).await
        }));
    }
    let mut locations = Vec::new();
    for h in handles {
        let result = h.await.unwrap().unwrap();
        locations.push(result.tables[0].metadata_location.clone());
    }
    assert_eq!(locations[0], locations[1]);
    let meta = check_consistent(&c0, &t.ident).await;
    assert_eq!(meta.snapshots().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_same_idempotency_key_concurrently() {
    let fx = Fixture::new(Db::Sqlite).await;
    same_key_concurrently(&fx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_same_idempotency_key_concurrently() {
    let fx = Fixture::new(Db::Postgres).await;
    same_key_concurrently(&fx).await;
}
