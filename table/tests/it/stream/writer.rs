//! The stream writer: flush triggers (rows, bytes, time), one data file per partition
//! per flush, resuming after a restart, fencing of the older instance, and
//! backpressure when commits fall behind.

use std::sync::Arc;
use std::time::Duration;

use arrow::compute::concat_batches;
use floe_table::ErrorKind;
use floe_table::stream::{StreamWriter, StreamWriterConfig, WATERMARK_SUMMARY_KEY};

use super::{assert_exactly_once, progress};
use crate::common::{Db, Env, batch, scan_ids};

fn config(max_rows: usize, max_delay_ms: u64) -> StreamWriterConfig {
    StreamWriterConfig {
        max_rows,
        max_delay: Duration::from_millis(max_delay_ms),
        ..StreamWriterConfig::new("w")
    }
}

/// Rows trigger flushes; the time trigger flushes a partial micro-batch without
/// further writes; each flush writes one file per partition.
#[tokio::test]
async fn triggers_and_files_per_partition() {
    let env = Env::new(Db::Sqlite).await;
    let table = env.create("t", true, &[]).await;
    let committer = env.committer(1);
    let w = StreamWriter::open(table.clone(), committer, config(100, 200))
        .await
        .unwrap();
    assert_eq!((w.epoch(), w.next_seq()), (1, 0));
    // 5 batches of 40 rows, two partitions each: flushes after 120 rows (3 batches),
    // then 80 rows wait for the time trigger.
    for i in 0..5_i64 {
        let a = batch(&table, i * 40..i * 40 + 20, "a");
        let b = batch(&table, i * 40 + 20..i * 40 + 40, "b");
        let both = concat_batches(&a.schema(), [&a, &b]).unwrap();
        w.write(&both).await.unwrap();
    }
    w.advance_watermark(7_000).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while w.flushes() < 2 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the time trigger never flushed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(w.next_seq(), 2);
    assert_eq!(w.buffered_bytes(), 0);
    let table = env.load("t").await;
    assert_exactly_once(&scan_ids(&table).await, 200);
    let snapshots: Vec<_> = table.ancestors(table.current_snapshot().unwrap().snapshot_id);
    assert_eq!(snapshots.len(), 2);
    for s in &snapshots {
        assert_eq!(s.summary.additional_properties["added-data-files"], "2");
    }
    assert_eq!(
        snapshots[0].summary.additional_properties[WATERMARK_SUMMARY_KEY],
        "7000"
    );
    assert!(w.close().await.unwrap().is_none());
}

/// A restarted writer resumes after the last committed micro-batch; the older
/// instance is fenced with a clear error, and stays failed.
async fn restart_fences_the_old_instance(db: Db) {
    let env = Env::new(db).await;
    let table = env.create("t", false, &[]).await;
    let committer = env.committer(1);
    let old = StreamWriter::open(table.clone(), committer.clone(), config(1_000, 60_000))
        .await
        .unwrap();
    old.write(&batch(&table, 0..10, "x")).await.unwrap();
    let first = old.flush().await.unwrap().unwrap();
    old.write(&batch(&table, 10..20, "x")).await.unwrap();
    old.flush().await.unwrap();
    let new = StreamWriter::open(table.clone(), committer.clone(), config(1_000, 60_000))
        .await
        .unwrap();
    assert_eq!((new.epoch(), new.next_seq()), (2, 2));
    old.write(&batch(&table, 100..110, "x")).await.unwrap();
    let e = old.flush().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CommitFailed);
    assert!(e.message().contains("fenced"), "{e}");
    assert!(e.message().contains("stream writer `w` (epoch 1)"), "{e}");
    let again = old.write(&batch(&table, 110..120, "x")).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::CommitFailed);
    new.write(&batch(&table, 20..30, "x")).await.unwrap();
    let ack = new.close().await.unwrap().unwrap();
    assert!(ack.snapshot_id != first.snapshot_id);
    let table = env.load("t").await;
    assert_exactly_once(&scan_ids(&table).await, 30);
    let p = progress(env.catalog.as_ref(), &table, "w").await;
    assert_eq!(
        (p.epoch, p.last_seq, p.snapshot_id),
        (2, 2, Some(ack.snapshot_id))
    );
}

#[tokio::test]
async fn restart_fences_the_old_instance_sqlite() {
    restart_fences_the_old_instance(Db::Sqlite).await;
}

#[tokio::test]
async fn restart_fences_the_old_instance_postgres() {
    restart_fences_the_old_instance(Db::Postgres).await;
}

/// While a commit is held, `write` waits once the buffer budget is used up, and the
/// buffered bytes never exceed it; releasing the commit lets the writes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backpressure_bounds_the_buffer() {
    let env = Env::new(Db::Sqlite).await;
    let (faults, table, committer) = env.faulty(false).await;
    let one = batch(&table, 0..100, "x").get_array_memory_size();
    let budget = one * 3;
    let cfg = StreamWriterConfig {
        max_rows: 100,
        max_buffered_bytes: budget,
        max_delay: Duration::from_hours(1),
        ..StreamWriterConfig::new("w")
    };
    let w = Arc::new(
        StreamWriter::open(table.clone(), committer, cfg)
            .await
            .unwrap(),
    );
    let (entered_rx, release) = faults.hold();
    // The first batch flushes at once and its commit is held.
    w.write(&batch(&table, 0..100, "x")).await.unwrap();
    entered_rx.await.unwrap();
    // Two more fit in the budget; the fourth must wait.
    w.write(&batch(&table, 100..200, "x")).await.unwrap();
    w.write(&batch(&table, 200..300, "x")).await.unwrap();
    assert!(w.buffered_bytes() <= budget);
    let writer = Arc::clone(&w);
    let table2 = table.clone();
    let blocked = tokio::spawn(async move {
        writer.write(&batch(&table2, 300..400, "x")).await.unwrap();
    });
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(
            !blocked.is_finished(),
            "write did not wait for the held commit"
        );
        assert!(w.buffered_bytes() <= budget);
    }
    release.notify_one();
    blocked.await.unwrap();
    let w = Arc::into_inner(w).unwrap();
    w.close().await.unwrap();
    let table = env.load("t").await;
    assert_exactly_once(&scan_ids(&table).await, 400);
}

/// The codec of each micro-batch file: snappy when the table names none, the table's
/// `write.parquet.compression-codec` when it does, and Floe's stream property above
/// both; a codec Floe cannot write is refused when the writer opens, naming the
/// property.
#[tokio::test]
async fn micro_batch_files_take_the_stream_codec() {
    use floe_table::writer::{PARQUET_COMPRESSION, STREAM_PARQUET_COMPRESSION};
    use parquet::basic::Compression;
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], fn(Compression) -> bool);

    let env = Env::new(Db::Sqlite).await;
    let cases: [Case; 3] = [
        ("none", &[], |c| c == Compression::SNAPPY),
        ("gzip", &[(PARQUET_COMPRESSION, "gzip")], |c| {
            matches!(c, Compression::GZIP(_))
        }),
        (
            "both",
            &[
                (PARQUET_COMPRESSION, "gzip"),
                (STREAM_PARQUET_COMPRESSION, "zstd"),
            ],
            |c| matches!(c, Compression::ZSTD(_)),
        ),
    ];
    for (name, properties, expected) in cases {
        let table = env.create(name, false, properties).await;
        let w = StreamWriter::open(table.clone(), env.committer(1), config(1_000, 60_000))
            .await
            .unwrap();
        w.write(&batch(&table, 0..10, "x")).await.unwrap();
        w.close().await.unwrap().unwrap();
        let table = env.load(name).await;
        let tasks = table.scan().build().unwrap().plan_files().await.unwrap();
        assert_eq!(tasks.len(), 1, "{name}");
        let (_, footer) =
            crate::writer::read_file(table.store(), &tasks[0].data_file.file_path).await;
        for column in footer.row_group(0).columns() {
            assert!(
                expected(column.compression()),
                "{name}: {:?}",
                column.compression()
            );
        }
    }
    let table = env
        .create("bad", false, &[(STREAM_PARQUET_COMPRESSION, "brotli")])
        .await;
    let e = StreamWriter::open(table, env.committer(1), config(1_000, 60_000))
        .await
        .unwrap_err();
    assert!(
        e.message().contains(STREAM_PARQUET_COMPRESSION) && e.message().contains("brotli"),
        "{e}"
    );
}
