//! 8 writers appending and 2 deleting/overwriting on one table, each through its own
//! catalog handle: every acknowledged append is live exactly once at the end, and no
//! acknowledged delete or overwrite is lost.

use std::collections::HashMap;

use floe_spec::expr::Reference;
use floe_spec::values::Datum;

use super::{live_records, summary};
use crate::common::{Env, batch, scan_ids, write};

const APPENDERS: usize = 8;
const APPENDS_EACH: i64 = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_deletes_and_overwrites_lose_nothing() {
    let env = Env::sqlite().await;
    let props = [
        ("commit.retry.num-retries", "40"),
        ("commit.retry.min-wait-ms", "5"),
        ("commit.retry.max-wait-ms", "100"),
    ];
    let t = env.create("t", true, &props).await;
    // Partitions the deleters remove and overwrite.
    let mut seed = Vec::new();
    for d in 0..2 {
        for i in 0..3 {
            seed.push(batch(&t, 0..4, &format!("junk{d}_{i}")));
        }
        seed.push(batch(&t, 0..4, &format!("ow{d}")));
    }
    t.append(seed).await.unwrap();

    let mut tasks = Vec::new();
    for w in 0..APPENDERS {
        let catalog = env.other_catalog().await;
        let table = env.load_with(catalog, "t").await;
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for k in 0..APPENDS_EACH {
                let mut table = table.clone();
                table.refresh().await.unwrap();
                let base = (w as i64) * 1000 + k * 10;
                let files = write(&table, base..base + 5, &format!("w{w}")).await;
                let path = files[0].file_path.clone();
                match table.append_files(files).await {
                    Ok(_) => acked.push((path, true)),
                    Err(e) => {
                        assert_eq!(e.kind(), floe_table::ErrorKind::CommitFailed, "{e}");
                        acked.push((path, false));
                    }
                }
            }
            acked
        }));
    }
    let mut deleters = Vec::new();
    for d in 0..2 {
        let catalog = env.other_catalog().await;
        let table = env.load_with(catalog, "t").await;
        deleters.push(tokio::spawn(async move {
            let mut done = Vec::new();
            for i in 0..3 {
                let mut table = table.clone();
                table.refresh().await.unwrap();
                let filter = Reference::new("cat").equal_to(Datum::String(format!("junk{d}_{i}")));
                done.push(table.delete(filter).await.is_ok());
            }
            let mut table = table.clone();
            table.refresh().await.unwrap();
            let filter = Reference::new("cat").equal_to(Datum::String(format!("ow{d}")));
            let replacement = vec![batch(&table, 500..502, &format!("ow{d}"))];
            done.push(table.overwrite(filter, replacement).await.is_ok());
            done
        }));
    }
    // A reader scanning throughout: every scan sees one committed snapshot whole.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let catalog = env.other_catalog().await;
        let table = env.load_with(catalog, "t").await;
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut scans = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) || scans == 0 {
                let mut table = table.clone();
                table.refresh().await.unwrap();
                let snapshot = table.current_snapshot().unwrap().clone();
                let batches = table
                    .scan()
                    .snapshot_id(snapshot.snapshot_id)
                    .build()
                    .unwrap()
                    .to_arrow()
                    .await
                    .unwrap();
                let rows: usize = batches
                    .iter()
                    .map(arrow::array::RecordBatch::num_rows)
                    .sum();
                assert_eq!(
                    rows.to_string(),
                    snapshot.summary.additional_properties["total-records"],
                    "scan of snapshot {}",
                    snapshot.snapshot_id
                );
                scans += 1;
            }
            scans
        })
    };
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    let mut deleted = Vec::new();
    for t in deleters {
        deleted.push(t.await.unwrap());
    }

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(reader.await.unwrap() > 0);
    let mut t = env.load("t").await;
    t.refresh().await.unwrap();
    let live = t.live_entries(None).await.unwrap();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for e in &live {
        *counts.entry(e.data_file.file_path.as_str()).or_default() += 1;
    }
    assert!(counts.values().all(|c| *c == 1), "a file is live twice");
    let n_acked = acked.iter().filter(|(_, ok)| *ok).count();
    assert!(n_acked >= APPENDERS, "most appends succeed, got {n_acked}");
    for (path, ok) in &acked {
        assert_eq!(counts.contains_key(path.as_str()), *ok, "{path} acked={ok}");
    }
    let by_cat = |c: &str| -> i64 {
        live.iter()
            .filter(|e| e.data_file.partition == vec![Some(Datum::String(c.into()))])
            .map(|e| e.data_file.record_count)
            .sum()
    };
    for (d, done) in deleted.iter().enumerate() {
        assert!(done.iter().all(|ok| *ok), "deleter {d}: {done:?}");
        for i in 0..3 {
            assert_eq!(by_cat(&format!("junk{d}_{i}")), 0);
        }
        assert_eq!(by_cat(&format!("ow{d}")), 2);
    }
    assert_eq!(live_records(&t).await, n_acked as i64 * 5 + 4);
    assert_eq!(scan_ids(&t).await.len() as i64, n_acked as i64 * 5 + 4);
    assert_eq!(
        summary(&t, "total-records"),
        Some((n_acked as i64 * 5 + 4).to_string())
    );
    // Sequence numbers are unique along main.
    let mut seqs: Vec<i64> = t
        .ancestors(t.current_snapshot().unwrap().snapshot_id)
        .iter()
        .map(|s| s.sequence_number)
        .collect();
    let n = seqs.len();
    seqs.dedup();
    assert_eq!(seqs.len(), n);
}
