//! Crash safety: a failure injected between the metadata write and the row swap, inside
//! the transaction, and after the swap before the answer, leaves every table loadable
//! and consistent.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use floe_catalog::{Catalog, CommitHook, CommitPhase, CommitStatus, Error, ErrorKind};

use crate::common::{Db, Fixture, append_commit, check_consistent, files_under, table, tid};

/// A hook that fails once at `phase`, like a crash there.
fn fail_once_at(phase: CommitPhase) -> (CommitHook, Arc<AtomicU8>) {
    let armed = Arc::new(AtomicU8::new(1));
    let flag = Arc::clone(&armed);
    let hook: CommitHook = Arc::new(move |p| {
        if p == phase && flag.swap(0, Ordering::SeqCst) == 1 {
            return Err(Error::new(
                ErrorKind::Io,
                format!("injected crash at {p:?}"),
            ));
        }
        Ok(())
    });
    (hook, armed)
}

async fn crash_after_swap(fx: &Fixture) {
    let c0 = fx.catalog().await;
    let t = table(&c0).await;
    let ident = tid(&["db"], "t");
    let (hook, _) = fail_once_at(CommitPhase::Committed);
    let c = fx.builder().commit_hook(hook).build().await.unwrap();
    let commit = append_commit(&ident, &t.metadata, 1);
    let err = c
        .commit(vec![commit.clone()], Some("batch-1".into()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    // The swap happened: the table is at the new state, loadable and consistent.
    let meta = check_consistent(&c0, &ident).await;
    assert_eq!(meta.current_snapshot_id(), Some(1));
    // The client retries the unanswered request with the same key: the first result.
    let retry = c
        .commit(vec![commit], Some("batch-1".into()))
        .await
        .unwrap();
    assert_eq!(retry.status, CommitStatus::Replayed);
    assert_eq!(retry.tables[0].metadata.current_snapshot_id(), Some(1));
    let meta = check_consistent(&c0, &ident).await;
    assert_eq!(meta.snapshots().len(), 1);
}

async fn crash_leaves_only_unreferenced_files(fx: &Fixture) {
    let (hook, _) = fail_once_at(CommitPhase::MetadataWritten);
    let c0 = fx.catalog().await;
    let t = table(&c0).await;
    let c = fx.builder().commit_hook(hook).build().await.unwrap();
    assert!(
        c.commit_table(append_commit(&t.ident, &t.metadata, 1))
            .await
            .is_err()
    );
    // The written file stays (a crash cleans nothing up) but nothing references it.
    let files = files_under(&fx.warehouse.path().join("db/t/metadata"));
    assert_eq!(files.len(), 2);
    let current = c0.load_table(&t.ident).await.unwrap();
    assert_eq!(current.metadata_location, t.metadata_location);
}

/// Between the metadata write and the transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_crash_after_metadata_write() {
    let fx = Fixture::new(Db::Sqlite).await;
    crash_before_swap_skip_create(&fx, CommitPhase::MetadataWritten).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_crash_after_metadata_write() {
    let fx = Fixture::new(Db::Postgres).await;
    crash_before_swap_skip_create(&fx, CommitPhase::MetadataWritten).await;
}

/// Inside the transaction, after the row swap, before COMMIT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_crash_inside_transaction() {
    let fx = Fixture::new(Db::Sqlite).await;
    crash_before_swap_skip_create(&fx, CommitPhase::Swapped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_crash_inside_transaction() {
    let fx = Fixture::new(Db::Postgres).await;
    crash_before_swap_skip_create(&fx, CommitPhase::Swapped).await;
}

/// After the transaction committed, before the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_crash_after_swap() {
    let fx = Fixture::new(Db::Sqlite).await;
    crash_after_swap(&fx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_crash_after_swap() {
    let fx = Fixture::new(Db::Postgres).await;
    crash_after_swap(&fx).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_crash_leaves_only_unreferenced_files() {
    let fx = Fixture::new(Db::Sqlite).await;
    crash_leaves_only_unreferenced_files(&fx).await;
}

/// Creates the table through a hook-free handle, then crashes the append at `phase`.
async fn crash_before_swap_skip_create(fx: &Fixture, phase: CommitPhase) {
    let c0 = fx.catalog().await;
    table(&c0).await;
    crash_before_swap_on_existing(fx, phase).await;
}

async fn crash_before_swap_on_existing(fx: &Fixture, phase: CommitPhase) {
    let (hook, armed) = fail_once_at(phase);
    let c = fx.builder().commit_hook(hook).build().await.unwrap();
    let ident = tid(&["db"], "t");
    let t = c.load_table(&ident).await.unwrap();
    let err = c
        .commit_table(append_commit(&ident, &t.metadata, 1))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert_eq!(armed.load(Ordering::SeqCst), 0, "the failure fired");
    // The pointer did not move: the table loads at its previous state.
    let loaded = c.load_table(&ident).await.unwrap();
    assert_eq!(loaded.metadata_location, t.metadata_location);
    assert!(loaded.metadata.current_snapshot_id().is_none());
    let fresh = fx.catalog().await;
    assert_eq!(
        fresh.load_table(&ident).await.unwrap().metadata_location,
        t.metadata_location
    );
    // The next commit works and the table stays consistent.
    let a1 = c
        .commit_table(append_commit(&ident, &t.metadata, 1))
        .await
        .unwrap();
    assert_eq!(a1.metadata.current_snapshot_id(), Some(1));
    check_consistent(&fresh, &ident).await;
}
