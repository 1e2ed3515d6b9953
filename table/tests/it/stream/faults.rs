//! Exactly-once under faults: a stream writer is killed at random points — with rows
//! buffered, with its micro-batch written and its commit held, right after its commit
//! before the answer — and restarted from its stored progress, 50 times; the table
//! holds every input row exactly once, and killed (fenced) instances never commit.

use std::time::Duration;

use floe_table::Table;
use floe_table::stream::{StreamWriter, StreamWriterConfig};
use tokio::sync::oneshot;

use super::{assert_exactly_once, progress};
use crate::common::{Db, Env, Fault, Lcg, batch, scan_ids};

const CHUNK: i64 = 10;
const CHUNKS: i64 = 300;
const LIVES: usize = 50;

/// Writes chunk `k` (rows `k*CHUNK..`) as one micro-batch.
async fn write_chunk(w: &StreamWriter, table: &Table, k: i64) {
    let cat = if k % 3 == 0 { "a" } else { "b" };
    w.write(&batch(table, k * CHUNK..(k + 1) * CHUNK, cat))
        .await
        .unwrap();
}

async fn killed_and_restarted(db: Db, seed: u64) {
    let env = Env::new(db).await;
    let (faults, table, committer) = env.faulty(true).await;
    let config = StreamWriterConfig {
        max_rows: usize::MAX,
        max_bytes: usize::MAX,
        max_delay: Duration::from_hours(1),
        ..StreamWriterConfig::new("stream-1")
    };
    let mut rng = Lcg::new(seed);
    let mut last_epoch = 0;
    for _life in 0..LIVES {
        let w = StreamWriter::open(table.clone(), committer.clone(), config.clone())
            .await
            .unwrap();
        assert!(
            w.epoch() > last_epoch,
            "seed {seed}: the epoch did not grow"
        );
        last_epoch = w.epoch();
        let mut next = w.next_seq();
        // Some clean micro-batches, then a kill at a random point.
        for _ in 0..rng.below(3) {
            write_chunk(&w, &table, next).await;
            w.flush().await.unwrap();
            next += 1;
        }
        write_chunk(&w, &table, next).await;
        match rng.below(4) {
            // Killed with rows buffered.
            0 => w.abort(),
            // Killed with the micro-batch written and its commit held.
            1 | 2 => {
                let (entered_rx, release) = faults.hold();
                let flush = tokio::spawn(async move {
                    let _ = w.flush().await;
                    w
                });
                entered_rx.await.unwrap();
                flush.abort();
                if rng.below(2) == 0 {
                    // Released before the restart: the batch may commit.
                    release.notify_one();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                } else {
                    // Released after the restart opened: the old epoch is fenced.
                    let restarted =
                        StreamWriter::open(table.clone(), committer.clone(), config.clone())
                            .await
                            .unwrap();
                    last_epoch = restarted.epoch();
                    let resume = restarted.next_seq();
                    release.notify_one();
                    // The restarted instance commits its next batch; the zombie's
                    // batch never shows up.
                    write_chunk(&restarted, &table, resume).await;
                    restarted.flush().await.unwrap();
                    let progress = progress(faults.as_ref(), &table, "stream-1").await;
                    assert_eq!(
                        progress.last_seq, resume,
                        "seed {seed}: a fenced zombie committed"
                    );
                    assert_eq!(progress.epoch, restarted.epoch());
                    restarted.abort();
                }
            }
            // Killed after the commit, before the answer.
            _ => {
                let (committed, committed_rx) = oneshot::channel();
                faults.arm(Fault::AfterCommit { committed });
                let flush = tokio::spawn(async move {
                    let _ = w.flush().await;
                    w
                });
                committed_rx.await.unwrap();
                flush.abort();
            }
        }
    }
    // The last instance finishes the input.
    let w = StreamWriter::open(table.clone(), committer.clone(), config.clone())
        .await
        .unwrap();
    let mut next = w.next_seq();
    assert!(next < CHUNKS, "seed {seed}: more chunks needed");
    while next < CHUNKS {
        write_chunk(&w, &table, next).await;
        if next % 4 == 3 || next == CHUNKS - 1 {
            // Several chunks per micro-batch now: the seq no longer maps to a chunk,
            // which is fine for the last instance.
            w.flush().await.unwrap();
        }
        next += 1;
    }
    w.close().await.unwrap();
    let table = faults.table(table.ident()).await;
    let ids = scan_ids(&table).await;
    assert_exactly_once(&ids, CHUNKS * CHUNK);
    // Killed instances whose commits were held until after a restart never committed:
    // every micro-batch of the table is a whole chunk or a run of chunks.
    assert_eq!(ids.len() as i64, CHUNKS * CHUNK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_and_restarted_sqlite() {
    killed_and_restarted(Db::Sqlite, 0x5eed_0001).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_and_restarted_postgres() {
    killed_and_restarted(Db::Postgres, 0x5eed_0002).await;
}
