//! The group committer: many concurrent writers' intents become few snapshots; every
//! acknowledged batch is visible exactly once; duplicates answer the original
//! snapshot; fenced and invalid intents fail alone.

use std::collections::{HashMap, HashSet};

use floe_catalog::Catalog;
use floe_table::stream::{AppendIntent, WATERMARK_SUMMARY_KEY};
use floe_table::{ErrorKind, Table};

use super::assert_exactly_once;
use crate::common::{Db, Env, scan_ids, write};

const ROWS: i64 = 10;

fn intent(
    table: &Table,
    writer: &str,
    epoch: i64,
    seq: i64,
    files: Vec<floe_spec::manifest::DataFile>,
) -> AppendIntent {
    AppendIntent {
        table: table.ident().clone(),
        writer_id: writer.into(),
        epoch,
        seq,
        watermark_ms: Some(1000 * seq),
        after_seq: None,
        data_files: files,
    }
}

/// 16 writers × 8 batches (and 4 batch appenders through `Table::append_files`)
/// at once: every acknowledged batch once, far fewer snapshots than batches, every
/// writer's progress at its last seq.
async fn concurrent_writers(db: Db) {
    let env = Env::new(db).await;
    let table = env.create("t", true, &[]).await;
    let committer = env.committer(5);
    let writers = 16_i64;
    let batches = 8_i64;
    let mut tasks = Vec::new();
    for w in 0..writers {
        let committer = committer.clone();
        let table = table.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("w{w}");
            let opened = table
                .catalog()
                .open_writer(table.ident(), &id)
                .await
                .unwrap();
            assert_eq!((opened.epoch, opened.last_seq), (1, -1));
            let mut acks = Vec::new();
            for b in 0..batches {
                let start = (w * batches + b) * ROWS;
                let cat = if b % 2 == 0 { "even" } else { "odd" };
                let files = write(&table, start..start + ROWS, cat).await;
                let ack = committer
                    .submit(intent(&table, &id, opened.epoch, b, files))
                    .await
                    .unwrap();
                assert!(!ack.duplicate);
                acks.push(ack.snapshot_id);
            }
            acks
        }));
    }
    // Plain batch appends racing with the group commits (they rebase on conflict).
    let batch_base = writers * batches * ROWS;
    let mut batch_tasks = Vec::new();
    for b in 0..4_i64 {
        let table = table.clone();
        batch_tasks.push(tokio::spawn(async move {
            let start = batch_base + b * ROWS;
            let files = write(&table, start..start + ROWS, "batch").await;
            let mut t = table.clone();
            loop {
                t.refresh().await.unwrap();
                match t.append_files(files.clone()).await {
                    Ok(_) => break,
                    Err(e) if e.kind() == ErrorKind::CommitFailed => {}
                    Err(e) => panic!("batch append failed: {e}"),
                }
            }
        }));
    }
    let mut acked = HashSet::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    for t in batch_tasks {
        t.await.unwrap();
    }
    let table = env.load("t").await;
    let total = writers * batches * ROWS + 4 * ROWS;
    assert_exactly_once(&scan_ids(&table).await, total);
    // Every acknowledged snapshot is an ancestor of the head.
    let head = table.current_snapshot().unwrap().snapshot_id;
    let ancestors: HashSet<i64> = table
        .ancestors(head)
        .iter()
        .map(|s| s.snapshot_id)
        .collect();
    for id in &acked {
        assert!(
            ancestors.contains(id),
            "acknowledged snapshot {id} is not in main"
        );
    }
    let stream_snapshots = acked.len() as i64;
    assert!(
        stream_snapshots < writers * batches / 2,
        "{stream_snapshots} snapshots for {} batches: group commit did not group",
        writers * batches
    );
    let stats = committer.stats();
    assert_eq!(stats.intents, (writers * batches) as u64);
    let progress: HashMap<String, i64> = table
        .catalog()
        .list_writers(table.ident())
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.writer_id, p.last_seq))
        .collect();
    assert_eq!(progress.len(), writers as usize);
    assert!(progress.values().all(|&s| s == batches - 1));
    // The low watermark of the last group commit is recorded in its summary.
    let with_watermark = table
        .ancestors(head)
        .iter()
        .filter(|s| {
            s.summary
                .additional_properties
                .contains_key(WATERMARK_SUMMARY_KEY)
        })
        .count();
    assert_eq!(with_watermark as i64, stream_snapshots);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_sqlite() {
    concurrent_writers(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_postgres() {
    concurrent_writers(Db::Postgres).await;
}

/// A retried seq answers the original snapshot and adds nothing; a stale epoch is
/// refused after a reopen; both fail alone inside a group with good intents.
async fn duplicates_and_fencing(db: Db) {
    let env = Env::new(db).await;
    let table = env.create("t", false, &[]).await;
    let committer = env.committer(20);
    let cat = env.catalog.clone();
    let a = cat.open_writer(table.ident(), "a").await.unwrap();
    let first = committer
        .submit(intent(
            &table,
            "a",
            a.epoch,
            0,
            write(&table, 0..10, "x").await,
        ))
        .await
        .unwrap();
    assert!(!first.duplicate);
    // The same seq again: the original snapshot, nothing added.
    let again = committer
        .submit(intent(
            &table,
            "a",
            a.epoch,
            0,
            write(&table, 100..110, "x").await,
        ))
        .await
        .unwrap();
    assert!(again.duplicate);
    assert_eq!(again.snapshot_id, first.snapshot_id);
    assert_eq!(again.sequence_number, first.sequence_number);
    // Reopen: a new epoch, resuming after seq 0.
    let a2 = cat.open_writer(table.ident(), "a").await.unwrap();
    assert_eq!((a2.epoch, a2.last_seq), (a.epoch + 1, 0));
    assert_eq!(a2.snapshot_id, Some(first.snapshot_id));
    // In one group: the zombie (old epoch), a duplicate, the new instance, writer b,
    // and an intent whose file is outside the table location.
    let b = cat.open_writer(table.ident(), "b").await.unwrap();
    let mut outside = write(&table, 200..210, "x").await;
    outside[0].file_path = "file:///elsewhere/x.parquet".into();
    let (zombie, dup, new, other, bad) = tokio::join!(
        committer.submit(intent(
            &table,
            "a",
            a.epoch,
            1,
            write(&table, 300..310, "x").await
        )),
        committer.submit(intent(
            &table,
            "a",
            a2.epoch,
            0,
            write(&table, 400..410, "x").await
        )),
        committer.submit(intent(
            &table,
            "a",
            a2.epoch,
            1,
            write(&table, 10..20, "x").await
        )),
        committer.submit(intent(
            &table,
            "b",
            b.epoch,
            0,
            write(&table, 20..30, "x").await
        )),
        committer.submit(intent(&table, "b", b.epoch, 1, outside)),
    );
    let zombie = zombie.unwrap_err();
    assert_eq!(zombie.kind(), ErrorKind::CommitFailed);
    assert!(zombie.message().contains("fenced"), "{zombie}");
    assert!(dup.unwrap().duplicate);
    let new = new.unwrap();
    let other = other.unwrap();
    assert_eq!(
        new.snapshot_id, other.snapshot_id,
        "one snapshot for the group"
    );
    let bad = bad.unwrap_err();
    assert_eq!(bad.kind(), ErrorKind::DataInvalid);
    assert!(
        bad.message().contains("outside the table location"),
        "{bad}"
    );
    let table = env.load("t").await;
    assert_exactly_once(&scan_ids(&table).await, 30);
    // Writer listing: progress and watermarks.
    let writers = cat.list_writers(table.ident()).await.unwrap();
    let a_now = writers.iter().find(|w| w.writer_id == "a").unwrap();
    assert_eq!((a_now.epoch, a_now.last_seq), (a2.epoch, 1));
    assert_eq!(a_now.watermark, Some(1000));
    let b_now = writers.iter().find(|w| w.writer_id == "b").unwrap();
    assert_eq!((b_now.last_seq, b_now.watermark), (0, Some(0)));
    assert_eq!(
        table
            .current_snapshot()
            .unwrap()
            .summary
            .additional_properties[WATERMARK_SUMMARY_KEY],
        "0"
    );
}

#[tokio::test]
async fn duplicates_and_fencing_sqlite() {
    duplicates_and_fencing(Db::Sqlite).await;
}

#[tokio::test]
async fn duplicates_and_fencing_postgres() {
    duplicates_and_fencing(Db::Postgres).await;
}

/// Bad intents: wrong partition arity, a missing file, a column id the table does not
/// have — each a clear DataInvalid, nothing committed.
#[tokio::test]
async fn bad_intents_fail_alone() {
    let env = Env::new(Db::Sqlite).await;
    let table = env.create("t", true, &[]).await;
    let committer = env.committer(1);
    let mut arity = write(&table, 0..10, "x").await;
    arity[0].partition.clear();
    let e = committer
        .submit(intent(&table, "w", 0, 0, arity))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataInvalid);
    assert!(e.message().contains("0 partition values"), "{e}");
    let mut missing = write(&table, 0..10, "x").await;
    missing[0].file_path = format!("{}/data/nope.parquet", table.location());
    let e = committer
        .submit(intent(&table, "w", 0, 0, missing))
        .await
        .unwrap_err();
    assert!(e.message().contains("does not exist"), "{e}");
    let mut column = write(&table, 0..10, "x").await;
    column[0].value_counts.insert(99, 1);
    let e = committer
        .submit(intent(&table, "w", 0, 0, column))
        .await
        .unwrap_err();
    assert!(e.message().contains("column id 99"), "{e}");
    let e = committer
        .submit(intent(&table, "", 0, 0, Vec::new()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataInvalid);
    let table = env.load("t").await;
    assert!(table.current_snapshot().is_none());
    assert!(
        table
            .catalog()
            .list_writers(table.ident())
            .await
            .unwrap()
            .is_empty()
    );
}

/// Two committers on two catalog handles (two processes, in effect) feeding one table:
/// their groups race for the compare-and-swap and rebase; every batch lands once.
async fn two_committers(db: Db) {
    let env = Env::new(db).await;
    let table = env.create("t", false, &[]).await;
    let committers = [
        env.committer(3),
        env.committer_on(env.other_catalog().await, 3),
    ];
    let mut tasks = Vec::new();
    for w in 0..8_i64 {
        let committer = committers[(w % 2) as usize].clone();
        let table = table.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("w{w}");
            let opened = committer
                .catalog()
                .open_writer(table.ident(), &id)
                .await
                .unwrap();
            for b in 0..6_i64 {
                let start = (w * 6 + b) * ROWS;
                let files = write(&table, start..start + ROWS, "x").await;
                committer
                    .submit(intent(&table, &id, opened.epoch, b, files))
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let table = env.load("t").await;
    assert_exactly_once(&scan_ids(&table).await, 8 * 6 * ROWS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_committers_sqlite() {
    two_committers(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_committers_postgres() {
    two_committers(Db::Postgres).await;
}
