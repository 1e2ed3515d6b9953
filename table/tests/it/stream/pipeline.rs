//! Pipelined stream writers (several micro-batches in flight each) and the tiered
//! manifest merge of group commits: every acknowledged micro-batch visible exactly
//! once and acknowledged in seq order, nothing committed behind a gap, zombies with
//! micro-batches in flight still fenced, unknown outcomes retried without loss, and a
//! manifest list that stays short over hundreds of group commits (PyIceberg reads the
//! merged table).

use std::time::Duration;

use floe_catalog::Catalog;
use floe_table::ErrorKind;
use floe_table::stream::{AppendIntent, PendingFlush, StreamWriter, StreamWriterConfig};

use super::{assert_exactly_once, progress};
use crate::common::{Db, Env, Fault, batch, ids_of, pyiceberg_scan, scan_ids, write};

const ROWS: i64 = 10;

fn config(id: &str, in_flight: usize) -> StreamWriterConfig {
    StreamWriterConfig {
        max_rows: usize::MAX,
        max_bytes: usize::MAX,
        max_delay: Duration::from_hours(1),
        max_in_flight: in_flight,
        ..StreamWriterConfig::new(id)
    }
}

/// The manifest-count bound of a tiered merge of fan-in 4 over `files` files: at most
/// 3 manifests per level, levels up to log4(files).
fn manifest_bound(files: usize) -> usize {
    3 * ((files.max(1) as f64).log(4.0).floor() as usize + 1) + 1
}

/// 8 writers × 24 micro-batches, 4 in flight each: every flush acknowledged, in seq
/// order (snapshot sequence numbers never go back), every row once, every writer's
/// progress at its last seq, and a short manifest list.
async fn pipelined_writers(db: Db) {
    let env = Env::new(db).await;
    let table = env.create("t", false, &[]).await;
    let committer = env.committer(2);
    let (writers, batches) = (8_i64, 24_i64);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let table = table.clone();
        let committer = committer.clone();
        tasks.push(tokio::spawn(async move {
            let sw = StreamWriter::open(table.clone(), committer, config(&format!("w{w}"), 4))
                .await
                .unwrap();
            let mut pending: Vec<PendingFlush> = Vec::new();
            for b in 0..batches {
                let start = (w * batches + b) * ROWS;
                sw.write(&batch(&table, start..start + ROWS, "x"))
                    .await
                    .unwrap();
                pending.push(sw.begin_flush().unwrap());
                assert!(sw.in_flight() <= 4, "more than 4 micro-batches in flight");
            }
            let mut last = i64::MIN;
            for p in pending {
                let ack = p.wait().await.unwrap().unwrap();
                assert!(!ack.duplicate);
                assert!(
                    ack.sequence_number >= last,
                    "writer {w}: acknowledgements out of seq order"
                );
                last = ack.sequence_number;
            }
            assert_eq!(sw.flushes(), batches as u64);
            assert_eq!(sw.next_seq(), batches);
            sw.close().await.unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let table = env.load("t").await;
    assert_exactly_once(&scan_ids(&table).await, writers * batches * ROWS);
    for w in 0..writers {
        let p = progress(env.catalog.as_ref(), &table, &format!("w{w}")).await;
        assert_eq!(p.last_seq, batches - 1);
    }
    let files = (writers * batches) as usize;
    let manifests = table.manifests(None).await.unwrap().len();
    assert!(
        manifests <= manifest_bound(files),
        "{manifests} manifests for {files} files"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipelined_writers_sqlite() {
    pipelined_writers(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipelined_writers_postgres() {
    pipelined_writers(Db::Postgres).await;
}

/// A writer with micro-batches in flight (the first one's commit held) is fenced by a
/// new instance: none of its in-flight micro-batches commits, each flush gets the
/// fence error, and the new instance resumes right after the last committed one.
async fn zombie_with_batches_in_flight(db: Db) {
    let env = Env::new(db).await;
    let (faults, table, committer) = env.faulty(false).await;
    let old = StreamWriter::open(table.clone(), committer.clone(), config("z", 4))
        .await
        .unwrap();
    old.write(&batch(&table, 0..ROWS, "x")).await.unwrap();
    old.flush().await.unwrap().unwrap();
    let (entered_rx, release) = faults.hold();
    let mut pending = Vec::new();
    let mut entered_rx = Some(entered_rx);
    for k in 1..6_i64 {
        old.write(&batch(&table, k * ROWS..(k + 1) * ROWS, "x"))
            .await
            .unwrap();
        pending.push(old.begin_flush().unwrap());
        if let Some(rx) = entered_rx.take() {
            rx.await.unwrap();
        }
    }
    let new = StreamWriter::open(table.clone(), committer.clone(), config("z", 4))
        .await
        .unwrap();
    assert_eq!((new.epoch(), new.next_seq()), (2, 1));
    release.notify_one();
    for p in pending {
        let e = p.wait().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CommitFailed, "{e}");
        assert!(e.message().contains("fenced"), "{e}");
    }
    let again = old.write(&batch(&table, 0..1, "x")).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::CommitFailed);
    for k in 1..6_i64 {
        new.write(&batch(&table, k * ROWS..(k + 1) * ROWS, "x"))
            .await
            .unwrap();
        new.begin_flush().unwrap();
    }
    new.close().await.unwrap();
    let table = env.load("t").await;
    assert_exactly_once(&scan_ids(&table).await, 6 * ROWS);
    let p = progress(env.catalog.as_ref(), &table, "z").await;
    assert_eq!((p.epoch, p.last_seq), (2, 5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn zombie_with_batches_in_flight_sqlite() {
    zombie_with_batches_in_flight(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn zombie_with_batches_in_flight_postgres() {
    zombie_with_batches_in_flight(Db::Postgres).await;
}

/// The first group's outcome is unknown (committed or not) while later micro-batches
/// are in flight: those are refused until it is settled, then resubmitted; every
/// flush succeeds and every row is there once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_outcome_with_batches_in_flight() {
    for commit in [false, true] {
        let env = Env::new(Db::Sqlite).await;
        let (faults, table, committer) = env.faulty(false).await;
        let w = StreamWriter::open(table.clone(), committer, config("u", 4))
            .await
            .unwrap();
        faults.arm(Fault::Unknown { commit });
        let mut pending = Vec::new();
        for k in 0..12_i64 {
            w.write(&batch(&table, k * ROWS..(k + 1) * ROWS, "x"))
                .await
                .unwrap();
            pending.push(w.begin_flush().unwrap());
        }
        for p in pending {
            p.wait().await.unwrap().unwrap();
        }
        assert_eq!(w.flushes(), 12);
        assert_eq!(
            faults.injected(),
            1,
            "commit {commit}: the outcome was not made unknown"
        );
        w.close().await.unwrap();
        let table = env.load("t").await;
        assert_exactly_once(&scan_ids(&table).await, 12 * ROWS);
        let p = progress(env.catalog.as_ref(), &table, "u").await;
        assert_eq!(p.last_seq, 11, "commit {commit}");
    }
}

/// An intent whose predecessor is not committed is refused and adds nothing; one
/// whose predecessor commits in the same group commits with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gaps_are_refused() {
    let env = Env::new(Db::Sqlite).await;
    let table = env.create("t", false, &[]).await;
    let committer = env.committer(20);
    let opened = env.catalog.open_writer(table.ident(), "g").await.unwrap();
    let intent = |seq: i64, after: i64, files| AppendIntent {
        table: table.ident().clone(),
        writer_id: "g".into(),
        epoch: opened.epoch,
        seq,
        watermark_ms: None,
        after_seq: Some(after),
        data_files: files,
    };
    let e = committer
        .submit(intent(3, 2, write(&table, 0..ROWS, "x").await))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CommitFailed);
    assert!(e.message().contains("must follow micro-batch 2"), "{e}");
    let e = committer
        .submit(intent(3, 3, Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataInvalid, "{e}");
    assert!(env.load("t").await.current_snapshot().is_none());
    // Seq 0 and seq 1 (after 0) in one group (20 ms window).
    let (a, b) = tokio::join!(
        committer.submit(intent(0, -1, write(&table, 0..ROWS, "x").await)),
        committer.submit(intent(1, 0, write(&table, ROWS..2 * ROWS, "x").await)),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.snapshot_id, b.snapshot_id);
    let table = env.load("t").await;
    assert_exactly_once(&scan_ids(&table).await, 2 * ROWS);
}

/// 300 group commits of one micro-batch each: the tiered merge keeps the manifest
/// list within its logarithmic bound after every commit, every row stays once, and
/// PyIceberg reads the same rows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifest_merge_bounds_the_list() {
    let env = Env::new(Db::Sqlite).await;
    let table = env.create("t", true, &[]).await;
    let committer = env.committer(0);
    let opened = env.catalog.open_writer(table.ident(), "m").await.unwrap();
    let commits = 300_i64;
    let mut max_seen = 0;
    for seq in 0..commits {
        let cat = if seq % 2 == 0 { "a" } else { "b" };
        let files = write(&table, seq * ROWS..(seq + 1) * ROWS, cat).await;
        committer
            .submit(AppendIntent {
                table: table.ident().clone(),
                writer_id: "m".into(),
                epoch: opened.epoch,
                seq,
                watermark_ms: None,
                after_seq: Some(seq - 1),
                data_files: files,
            })
            .await
            .unwrap();
        let fresh = env.load("t").await;
        let n = fresh.manifests(None).await.unwrap().len();
        assert!(
            n <= manifest_bound(seq as usize + 1),
            "{n} manifests after {} commits",
            seq + 1
        );
        max_seen = max_seen.max(n);
    }
    assert_eq!(committer.stats().commits, commits as u64);
    let table = env.load("t").await;
    assert_exactly_once(&scan_ids(&table).await, commits * ROWS);
    let summary = &table
        .current_snapshot()
        .unwrap()
        .summary
        .additional_properties;
    assert_eq!(summary["total-records"], (commits * ROWS).to_string());
    assert_eq!(summary["total-data-files"], commits.to_string());
    assert!(max_seen >= 4, "the merge never let manifests gather");
    let doc = pyiceberg_scan(table.metadata_location().unwrap());
    assert_exactly_once(&ids_of(&doc), commits * ROWS);
}
