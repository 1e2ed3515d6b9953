//! Stream writers in the catalog: `open_writer` takes a new epoch and fences older
//! instances; several writers' progress commits in one transaction; a duplicate among
//! them is reported by writer; opens racing with commits never let a fenced batch in.
//! Each case runs on SQLite and on PostgreSQL.

use std::sync::Arc;

use floe_catalog::{Catalog, CommitStatus, ErrorKind, WriterProgressUpdate};

use crate::common::{Db, Fixture, append_commit, assert_kind, table, tid};

fn wp(writer: &str, epoch: i64, seq: i64, watermark: Option<i64>) -> WriterProgressUpdate {
    WriterProgressUpdate {
        writer_id: writer.into(),
        epoch,
        seq,
        snapshot_id: None,
        watermark,
    }
}

async fn open_takes_new_epochs(db: Db) {
    let fx = Fixture::new(db).await;
    let c = fx.catalog().await;
    let t = table(&c).await;
    let first = c.open_writer(&t.ident, "s").await.unwrap();
    assert_eq!(
        (first.epoch, first.last_seq, first.snapshot_id),
        (1, -1, None)
    );
    let second = c.open_writer(&t.ident, "s").await.unwrap();
    assert_eq!((second.epoch, second.last_seq), (2, -1));
    assert_eq!(
        c.writer_progress(&t.ident, "s").await.unwrap(),
        Some(second.clone())
    );
    // The fenced first instance cannot commit; the second can.
    let commit = append_commit(&t.ident, &t.metadata, 11).with_writer_progress(wp("s", 1, 0, None));
    let e = c.commit(vec![commit], None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CommitFailed);
    assert!(e.message().contains("fenced"), "{e}");
    let commit =
        append_commit(&t.ident, &t.metadata, 12).with_writer_progress(wp("s", 2, 0, Some(5)));
    let done = c.commit(vec![commit], None).await.unwrap();
    assert_eq!(done.status, CommitStatus::Committed);
    // A third open resumes after seq 0 of snapshot 12, watermark kept.
    let third = c.open_writer(&t.ident, "s").await.unwrap();
    assert_eq!(
        (
            third.epoch,
            third.last_seq,
            third.snapshot_id,
            third.watermark
        ),
        (3, 0, Some(12), Some(5))
    );
    // Bad input.
    assert_kind(c.open_writer(&t.ident, "").await, ErrorKind::DataInvalid);
    assert_kind(
        c.open_writer(&tid(&["db"], "missing"), "s").await,
        ErrorKind::NoSuchTable,
    );
}

#[tokio::test]
async fn open_takes_new_epochs_sqlite() {
    open_takes_new_epochs(Db::Sqlite).await;
}

#[tokio::test]
async fn open_takes_new_epochs_postgres() {
    open_takes_new_epochs(Db::Postgres).await;
}

/// One commit carrying the progress of three writers records all three in its
/// transaction; a duplicate among them aborts the commit and names that writer;
/// without it, the rest commits.
async fn group_progress_in_one_commit(db: Db) {
    let fx = Fixture::new(db).await;
    let c = fx.catalog().await;
    let t = table(&c).await;
    for w in ["a", "b", "c"] {
        c.open_writer(&t.ident, w).await.unwrap();
    }
    let commit = append_commit(&t.ident, &t.metadata, 21)
        .with_writer_progress(wp("a", 1, 0, Some(10)))
        .with_writer_progress(wp("b", 1, 0, Some(20)))
        .with_writer_progress(wp("c", 1, 0, None));
    let done = c.commit(vec![commit], None).await.unwrap();
    assert_eq!(done.status, CommitStatus::Committed);
    let head = done.tables[0].metadata.clone();
    let writers = c.list_writers(&t.ident).await.unwrap();
    assert_eq!(writers.len(), 3);
    for w in &writers {
        assert_eq!(
            (w.epoch, w.last_seq, w.snapshot_id),
            (1, 0, Some(21)),
            "{w:?}"
        );
    }
    assert_eq!(writers[0].watermark, Some(10));
    assert_eq!(writers[2].watermark, None);

    // `b` repeats seq 0: the whole commit is a Duplicate naming `b`, nothing changes.
    let commit = append_commit(&t.ident, &head, 22)
        .with_writer_progress(wp("a", 1, 1, None))
        .with_writer_progress(wp("b", 1, 0, None));
    let dup = c.commit(vec![commit], None).await.unwrap();
    match dup.status {
        CommitStatus::Duplicate {
            writer_id,
            seq,
            snapshot_id,
        } => assert_eq!((writer_id.as_str(), seq, snapshot_id), ("b", 0, Some(21))),
        other => panic!("expected a duplicate, got {other:?}"),
    }
    assert_eq!(
        c.load_table(&t.ident)
            .await
            .unwrap()
            .metadata
            .current_snapshot_id(),
        Some(21)
    );
    assert_eq!(
        c.writer_progress(&t.ident, "a")
            .await
            .unwrap()
            .unwrap()
            .last_seq,
        0
    );
    // Retried without `b`: commits.
    let commit = append_commit(&t.ident, &head, 23).with_writer_progress(wp("a", 1, 1, None));
    assert_eq!(
        c.commit(vec![commit], None).await.unwrap().status,
        CommitStatus::Committed
    );
    let a = c.writer_progress(&t.ident, "a").await.unwrap().unwrap();
    assert_eq!(
        (a.last_seq, a.snapshot_id, a.watermark),
        (1, Some(23), Some(10))
    );
}

#[tokio::test]
async fn group_progress_in_one_commit_sqlite() {
    group_progress_in_one_commit(Db::Sqlite).await;
}

#[tokio::test]
async fn group_progress_in_one_commit_postgres() {
    group_progress_in_one_commit(Db::Postgres).await;
}

/// Opens race with commits of the previous instance: after each open, the stored
/// progress is either the batch committed before it or nothing new, and no batch of
/// an older epoch is ever recorded after the open that fenced it.
async fn opens_race_commits(db: Db) {
    let fx = Fixture::new(db).await;
    let c = Arc::new(fx.catalog().await);
    let t = table(c.as_ref()).await;
    let mut epoch = c.open_writer(&t.ident, "s").await.unwrap().epoch;
    let mut seq = 0;
    for round in 0..20_i64 {
        let head = c.load_table(&t.ident).await.unwrap().metadata;
        let commit = append_commit(&t.ident, &head, 1000 + round)
            .with_writer_progress(wp("s", epoch, seq, None));
        let committer = Arc::clone(&c);
        let commit_task = tokio::spawn(async move { committer.commit(vec![commit], None).await });
        let opened = c.open_writer(&t.ident, "s").await.unwrap();
        let committed = commit_task.await.unwrap();
        assert_eq!(opened.epoch, epoch + 1);
        match committed {
            Ok(r) => {
                assert_eq!(r.status, CommitStatus::Committed);
                // Committed before or after the open? Its epoch must not have been
                // written over the new one.
                let now = c.writer_progress(&t.ident, "s").await.unwrap().unwrap();
                assert_eq!(now.epoch, opened.epoch, "round {round}: epoch went back");
                assert_eq!(now.last_seq, seq);
                assert_eq!(
                    opened.last_seq, seq,
                    "round {round}: committed after the open"
                );
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::CommitFailed, "{e}");
                assert_eq!(opened.last_seq, seq - 1);
            }
        }
        let now = c.writer_progress(&t.ident, "s").await.unwrap().unwrap();
        epoch = opened.epoch;
        seq = now.last_seq + 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opens_race_commits_sqlite() {
    opens_race_commits(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opens_race_commits_postgres() {
    opens_race_commits(Db::Postgres).await;
}
