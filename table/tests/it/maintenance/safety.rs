//! Compaction, expiry and manifest rewrite running over and over while 4 writers append
//! and a deleter deletes, each through its own catalog handle (SQLite, local files):
//! no writer or deleter fails, every acknowledged row is readable exactly once at the
//! end, no deleted row comes back (checked during the run too), and no file referenced
//! by a retained snapshot is ever deleted. Expiry keeps the snapshots younger than 2 s
//! and those committed since the oldest writer or deleter transaction in flight began.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use floe_spec::expr::Reference;
use floe_spec::manifest::ManifestStatus;
use floe_spec::values::Datum;
use floe_table::ErrorKind;
use floe_table::maintenance::{ExpireSnapshots, RewriteDataFiles, RewriteManifests};
use floe_table::table::Table;
use object_store::ObjectStoreExt;

use crate::common::{Env, batch, scan_ids};

const WRITERS: i64 = 4;
const APPENDS_EACH: i64 = 12;
const DELETES: i64 = 12;
const SEED: i64 = 900_000;
/// Snapshots younger than this never expire (ms).
const RETENTION_MS: i64 = 2_000;

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// When each writer's (slot `w`) and the deleter's (slot `WRITERS`) transaction in
/// flight started (ms), if one is.
type InFlight = Arc<Mutex<Vec<Option<i64>>>>;

fn begin(in_flight: &InFlight, slot: i64) {
    in_flight.lock().unwrap()[usize::try_from(slot).unwrap()] = Some(now_ms());
}

fn end(in_flight: &InFlight, slot: i64) {
    in_flight.lock().unwrap()[usize::try_from(slot).unwrap()] = None;
}

/// Every file a snapshot of `t`'s metadata references exists in storage.
async fn referenced_files_exist(t: &Table) {
    for s in t.metadata().snapshots().values() {
        let mut paths = vec![s.manifest_list.clone()];
        for m in t.manifests(Some(s.snapshot_id)).await.unwrap() {
            paths.push(m.manifest_path.clone());
            let entries = t.manifest_entries(&m).await.unwrap_or_else(|e| {
                panic!(
                    "manifest {} (added by snapshot {}) of retained snapshot {} \
                     ({:?}, parent {:?}, summary {:?}) cannot be read: {e}",
                    m.manifest_path,
                    m.added_snapshot_id,
                    s.snapshot_id,
                    s.summary.operation,
                    s.parent_snapshot_id,
                    s.summary.additional_properties
                )
            });
            for e in entries {
                if e.status != ManifestStatus::Deleted {
                    paths.push(e.data_file.file_path.clone());
                }
            }
        }
        for p in paths {
            let path = floe_table::writer::default_store_path(&p).unwrap();
            assert!(
                t.store().head(&path).await.is_ok(),
                "file {p} of retained snapshot {} ({:?}, parent {:?}, summary {:?}) was deleted",
                s.snapshot_id,
                s.summary.operation,
                s.parent_snapshot_id,
                s.summary.additional_properties
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_beside_writers_and_a_deleter_loses_nothing() {
    let env = Env::sqlite().await;
    let props = [
        ("commit.retry.num-retries", "100"),
        ("commit.retry.min-wait-ms", "2"),
        ("commit.retry.max-wait-ms", "50"),
    ];
    let t = env.create("safe", true, &props).await;
    t.append(vec![batch(&t, SEED..SEED + DELETES, "d")])
        .await
        .unwrap();

    let acked: Arc<Mutex<Vec<i64>>> = Arc::new(Mutex::new(Vec::new()));
    let deleted: Arc<Mutex<BTreeSet<i64>>> = Arc::new(Mutex::new(BTreeSet::new()));
    let stop = Arc::new(AtomicBool::new(false));

    // A transaction whose starting snapshot and the snapshot after it both expire
    // cannot validate and fails with a conflict (as in Java: see the conflicts tests),
    // so expiry here keeps every snapshot committed after the oldest transaction in
    // flight began, however long a loaded machine makes it.
    let in_flight: InFlight = Arc::new(Mutex::new(vec![
        None;
        usize::try_from(WRITERS + 1).unwrap()
    ]));

    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let table = env.load_with(env.other_catalog().await, "safe").await;
        let acked = acked.clone();
        let in_flight = in_flight.clone();
        writers.push(tokio::spawn(async move {
            for k in 0..APPENDS_EACH {
                let mut table = table.clone();
                begin(&in_flight, w);
                table.refresh().await.unwrap();
                let base = w * 10_000 + k * 10;
                let rows = batch(&table, base..base + 3, &format!("w{w}"));
                if let Err(e) = table.append(vec![rows]).await {
                    panic!("writer {w} failed on append {k}: {e}");
                }
                end(&in_flight, w);
                acked.lock().unwrap().extend(base..base + 3);
                tokio::time::sleep(Duration::from_millis(40)).await;
            }
        }));
    }
    let deleter = {
        let table = env.load_with(env.other_catalog().await, "safe").await;
        let acked = acked.clone();
        let deleted = deleted.clone();
        let in_flight = in_flight.clone();
        tokio::spawn(async move {
            for i in 0..DELETES {
                // Alternately a seed row and a row a writer appended (acknowledged).
                let id = if i % 2 == 0 {
                    SEED + i
                } else {
                    let pick = acked.lock().unwrap().first().copied();
                    match pick {
                        Some(id) if !deleted.lock().unwrap().contains(&id) => id,
                        _ => SEED + i,
                    }
                };
                let mut table = table.clone();
                begin(&in_flight, WRITERS);
                table.refresh().await.unwrap();
                if let Err(e) = table
                    .delete(Reference::new("id").equal_to(Datum::Long(id)))
                    .await
                {
                    panic!("the deleter failed on delete {i} (id {id}): {e}");
                }
                end(&in_flight, WRITERS);
                deleted.lock().unwrap().insert(id);
                acked.lock().unwrap().retain(|a| *a != id);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let maintenance = {
        let table = env.load_with(env.other_catalog().await, "safe").await;
        let deleted = deleted.clone();
        let stop = stop.clone();
        let in_flight = in_flight.clone();
        tokio::spawn(async move {
            let (mut compacted, mut expired, mut rounds) = (0_u64, 0_usize, 0_u32);
            loop {
                let last = stop.load(Ordering::SeqCst);
                rounds += 1;
                let mut t = table.clone();
                t.refresh().await.unwrap();
                let r = RewriteDataFiles::new(&t)
                    .min_input_files(2)
                    .execute()
                    .await
                    .unwrap();
                compacted += r.committed_groups;
                t.refresh().await.unwrap();
                // Snapshots committed after an in-flight transaction's refresh are
                // younger than its start: a second of margin covers the rest.
                let oldest = in_flight.lock().unwrap().iter().flatten().min().copied();
                let cutoff = (now_ms() - RETENTION_MS).min(oldest.map_or(i64::MAX, |s| s - 1_000));
                match ExpireSnapshots::new(&t)
                    .older_than_ms(cutoff)
                    .retain_last(2)
                    .execute()
                    .await
                {
                    Ok(r) => expired += r.expired_snapshot_ids.len(),
                    Err(e) => assert_eq!(e.kind(), ErrorKind::CommitFailed, "{e}"),
                }
                if rounds % 3 == 0 {
                    t.refresh().await.unwrap();
                    if let Err(e) = RewriteManifests::new(&t).execute().await {
                        assert_eq!(e.kind(), ErrorKind::CommitFailed, "{e}");
                    }
                }
                // Invariants on the newest metadata: files of retained snapshots exist,
                // rows deleted before the scan started stay deleted.
                let gone: BTreeSet<i64> = deleted.lock().unwrap().clone();
                t.refresh().await.unwrap();
                referenced_files_exist(&t).await;
                let ids = scan_ids(&t).await;
                for id in &ids {
                    assert!(!gone.contains(id), "deleted row {id} came back");
                }
                if last {
                    return (compacted, expired, rounds);
                }
            }
        })
    };

    // A failed writer or deleter stops maintenance before the failure is reported (it
    // would otherwise go on reading files while the test's folder is removed).
    let mut failure = None;
    for task in writers.into_iter().chain([deleter]) {
        if let Err(e) = task.await {
            failure.get_or_insert(e);
        }
    }
    if let Some(e) = failure {
        maintenance.abort();
        std::panic::resume_unwind(e.into_panic());
    }
    stop.store(true, Ordering::SeqCst);
    let (compacted, expired, rounds) = maintenance.await.unwrap();
    assert!(rounds >= 2);
    assert!(
        compacted > 0,
        "compaction committed nothing in {rounds} rounds"
    );
    assert!(expired > 0, "expiry expired nothing in {rounds} rounds");

    // Every acknowledged row exactly once, no deleted row.
    let t = env.load("safe").await;
    let gone = deleted.lock().unwrap().clone();
    assert_eq!(gone.len(), usize::try_from(DELETES).unwrap());
    let mut want: Vec<i64> = (0..WRITERS)
        .flat_map(|w| {
            (0..APPENDS_EACH).flat_map(move |k| (0..3).map(move |j| w * 10_000 + k * 10 + j))
        })
        .chain(SEED..SEED + DELETES)
        .filter(|id| !gone.contains(id))
        .collect();
    want.sort_unstable();
    assert_eq!(scan_ids(&t).await, want);
    referenced_files_exist(&t).await;
    // The table ends compacted: far fewer files than appends.
    let files = t.live_entries(None).await.unwrap().len();
    assert!(
        files < usize::try_from(WRITERS * APPENDS_EACH).unwrap(),
        "{files} files"
    );
}
