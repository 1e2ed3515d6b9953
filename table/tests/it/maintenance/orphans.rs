//! Orphan-file removal (planted old and fresh orphans; every referenced file made old
//! too), metadata-file cleanup, and manifest rewrite.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use floe_spec::expr::Reference;
use floe_spec::values::Datum;
use floe_table::maintenance::{
    CleanMetadataFiles, ExpireSnapshots, RemoveOrphanFiles, RewriteDataFiles, RewriteManifests,
};
use floe_table::table::Table;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};

use super::{list_files, metadata_json, referenced_by_snapshots};
use crate::common::{Env, batch, scan_ids};

const DAY: Duration = Duration::from_hours(24);

/// Sets the last-modified time of the local file behind store path `path`.
fn age(path: &str, by: Duration) {
    let file = std::fs::File::options()
        .write(true)
        .open(format!("/{path}"))
        .unwrap();
    file.set_modified(SystemTime::now() - by).unwrap();
}

async fn plant(t: &Table, relative: &str) -> String {
    let path = format!(
        "{}/{relative}",
        floe_table::writer::default_store_path(t.location()).unwrap()
    );
    t.store()
        .put(&Path::from(path.as_str()), PutPayload::from_static(b"junk"))
        .await
        .unwrap();
    path
}

/// Three appends of 3 rows in `a` (ids 0..3, 10..13, 20..23), then a delete of row
/// `id`: four snapshots, one data file rewritten.
async fn appends_and_a_delete(mut t: Table, id: i64) -> Table {
    for i in 0..3_i64 {
        t = t
            .append(vec![batch(&t, i * 10..i * 10 + 3, "a")])
            .await
            .unwrap();
    }
    t.delete(Reference::new("id").equal_to(Datum::Long(id)))
        .await
        .unwrap()
}

#[tokio::test]
async fn orphan_removal_deletes_old_orphans_only() {
    let env = Env::sqlite().await;
    let t = appends_and_a_delete(env.create("orphans", true, &[]).await, 11).await;
    let rows = scan_ids(&t).await;
    let old_data = plant(&t, "data/cat=a/old-orphan.parquet").await;
    let old_manifest = plant(&t, "metadata/old-orphan-m0.avro").await;
    let fresh = plant(&t, "data/cat=a/fresh-orphan.parquet").await;
    // Every file but the fresh orphan is old, referenced ones included.
    let files = list_files(&t).await;
    for p in files.keys() {
        if *p != fresh {
            age(p, 10 * DAY);
        }
    }
    let referenced = referenced_by_snapshots(&t).await;

    let dry = RemoveOrphanFiles::new(&t)
        .dry_run(true)
        .execute()
        .await
        .unwrap();
    let mut want = vec![old_manifest.clone(), old_data.clone()];
    want.sort();
    assert_eq!(dry.orphan_files, want);
    assert_eq!(dry.young_unreferenced_files, 1);
    assert_eq!(
        list_files(&t).await.len(),
        files.len(),
        "a dry run deletes nothing"
    );

    let r = RemoveOrphanFiles::new(&t).execute().await.unwrap();
    assert_eq!(r.orphan_files, want);
    assert!(r.failed_deletes.is_empty());
    let after = list_files(&t).await;
    assert!(!after.contains_key(&old_data) && !after.contains_key(&old_manifest));
    assert!(
        after.contains_key(&fresh),
        "a fresh orphan may belong to a commit in flight"
    );
    for p in &referenced {
        assert!(after.contains_key(p), "referenced file {p} deleted");
    }
    assert_eq!(metadata_json(&after), metadata_json(&files));
    let mut t2 = t.clone();
    t2.refresh().await.unwrap();
    assert_eq!(scan_ids(&t2).await, rows);

    // With a clock 10 days ahead, the fresh orphan is old enough too.
    let now = SystemTime::now() + 10 * DAY;
    let now_ms = i64::try_from(
        now.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let r = RemoveOrphanFiles::new(&t)
        .now_ms(now_ms)
        .execute()
        .await
        .unwrap();
    assert_eq!(r.orphan_files, vec![fresh]);

    // gc.enabled=false refuses.
    let t = t.new_transaction();
    let mut tx = t;
    tx.set_properties([("gc.enabled", "false")]);
    let t = tx.commit().await.unwrap();
    assert!(RemoveOrphanFiles::new(&t).execute().await.is_err());
}

#[tokio::test]
async fn expired_files_left_by_gc_disabled_become_orphans() {
    let env = Env::sqlite().await;
    let t = env.create("left", false, &[("gc.enabled", "false")]).await;
    let t = appends_and_a_delete(t, 0).await;
    let newest = t.current_snapshot().unwrap().timestamp_ms;
    ExpireSnapshots::new(&t)
        .now_ms(newest + 10 * 86_400_000)
        .execute()
        .await
        .unwrap();
    let mut tx = t.new_transaction();
    tx.set_properties([("gc.enabled", "true")]);
    let t = tx.commit().await.unwrap();
    let before = list_files(&t).await;
    for p in before.keys() {
        age(p, 10 * DAY);
    }
    // Orphan removal also keeps files named by DELETED entries of retained manifests.
    let mut referenced = std::collections::BTreeSet::new();
    let path = |l: &str| {
        floe_table::writer::default_store_path(l)
            .unwrap()
            .to_string()
    };
    for s in t.metadata().snapshots().values() {
        referenced.insert(path(&s.manifest_list));
        for m in t.manifests(Some(s.snapshot_id)).await.unwrap() {
            referenced.insert(path(&m.manifest_path));
            for e in t.manifest_entries(&m).await.unwrap() {
                referenced.insert(path(&e.data_file.file_path));
            }
        }
    }
    assert!(referenced_by_snapshots(&t).await.is_subset(&referenced));
    let r = RemoveOrphanFiles::new(&t).execute().await.unwrap();
    assert!(!r.orphan_files.is_empty());
    let after = list_files(&t).await;
    let left: Vec<&String> = after
        .keys()
        .filter(|p| !p.ends_with(".metadata.json"))
        .collect();
    let want: Vec<&String> = referenced.iter().collect();
    assert_eq!(left, want, "only referenced files remain");
}

#[tokio::test]
async fn metadata_files_that_left_the_log_are_cleaned() {
    let env = Env::sqlite().await;
    let mut t = env
        .create(
            "meta",
            false,
            &[("write.metadata.previous-versions-max", "3")],
        )
        .await;
    for i in 0..6_i64 {
        t = t.append(vec![batch(&t, i..i + 1, "a")]).await.unwrap();
    }
    let files = metadata_json(&list_files(&t).await);
    assert_eq!(files.len(), 7);
    assert_eq!(t.metadata().metadata_log().len(), 3);

    // Not enabled: nothing.
    let r = CleanMetadataFiles::new(&t).execute().await.unwrap();
    assert!(!r.enabled && r.deleted_files.is_empty());
    // Forced dry run: the three oldest would go.
    let r = CleanMetadataFiles::new(&t)
        .force(true)
        .dry_run(true)
        .execute()
        .await
        .unwrap();
    assert_eq!(r.deleted_files.len(), 3, "{r:?}");
    assert_eq!(metadata_json(&list_files(&t).await), files);

    let mut tx = t.new_transaction();
    tx.set_properties([("write.metadata.delete-after-commit.enabled", "true")]);
    let t = tx.commit().await.unwrap();
    let r = CleanMetadataFiles::new(&t).execute().await.unwrap();
    assert!(r.enabled);
    let left = metadata_json(&list_files(&t).await);
    assert_eq!(
        left.len(),
        4,
        "the current file and the 3 of the log: {left:?}"
    );
    let mut named: Vec<String> = t
        .metadata()
        .metadata_log()
        .iter()
        .map(|e| e.metadata_file.clone())
        .chain(t.metadata_location().map(str::to_string))
        .map(|l| {
            floe_table::writer::default_store_path(&l)
                .unwrap()
                .to_string()
        })
        .collect();
    named.sort();
    assert_eq!(left.into_iter().collect::<Vec<_>>(), named);
    let mut t2 = t.clone();
    t2.refresh().await.unwrap();
}

/// (path → (data sequence number, file sequence number, snapshot id)) of live files.
async fn live_seqs(t: &Table) -> BTreeMap<String, (Option<i64>, Option<i64>, Option<i64>)> {
    t.live_entries(None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.data_file.file_path.clone(),
                (e.sequence_number, e.file_sequence_number, e.snapshot_id),
            )
        })
        .collect()
}

#[tokio::test]
async fn manifest_rewrite_merges_and_keeps_every_entry() {
    let env = Env::sqlite().await;
    let mut t = env.create("manifests", true, &[]).await;
    for i in 0..12_i64 {
        let cat = ["a", "b", "c"][usize::try_from(i % 3).unwrap()];
        t = t
            .append(vec![batch(&t, i * 10..i * 10 + 2, cat)])
            .await
            .unwrap();
    }
    let rows = scan_ids(&t).await;
    let seqs = live_seqs(&t).await;
    assert_eq!(t.manifests(None).await.unwrap().len(), 12);

    let dry = RewriteManifests::new(&t)
        .dry_run(true)
        .execute()
        .await
        .unwrap();
    assert_eq!(dry.rewritten_manifests, 12);
    assert_eq!(dry.entries, 12);
    let mut same = t.clone();
    same.refresh().await.unwrap();
    assert_eq!(same.metadata_location(), t.metadata_location());

    let r = RewriteManifests::new(&t).execute().await.unwrap();
    assert_eq!(r.rewritten_manifests, 12);
    assert_eq!(r.added_manifests, 1);
    t.refresh().await.unwrap();
    assert_eq!(t.manifests(None).await.unwrap().len(), 1);
    assert_eq!(scan_ids(&t).await, rows);
    assert_eq!(
        live_seqs(&t).await,
        seqs,
        "sequence numbers and snapshot ids kept"
    );
    let s = t.current_snapshot().unwrap();
    assert_eq!(s.summary.operation, floe_spec::snapshot::Operation::Replace);
    assert_eq!(
        s.summary
            .additional_properties
            .get("total-data-files")
            .map(String::as_str),
        Some("12")
    );
    // Small target: several manifests, clustered by partition.
    let r = RewriteManifests::new(&t)
        .target_size_bytes(1)
        .execute()
        .await
        .unwrap();
    assert_eq!(r.rewritten_manifests, 0, "one manifest: nothing to merge");
    // Compaction after a manifest rewrite still works.
    let c = RewriteDataFiles::new(&t)
        .min_input_files(2)
        .execute()
        .await
        .unwrap();
    assert_eq!(c.committed_groups, 3);
    t.refresh().await.unwrap();
    assert_eq!(scan_ids(&t).await, rows);
}
