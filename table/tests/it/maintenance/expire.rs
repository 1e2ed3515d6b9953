//! Snapshot expiry: retention rules, exact file deletion, `gc.enabled=false`, dry runs.

use std::collections::BTreeSet;

use floe_spec::expr::Reference;
use floe_spec::values::Datum;
use floe_table::maintenance::ExpireSnapshots;
use floe_table::table::Table;
use floe_table::transaction::RefUpdate;

use super::{list_files, metadata_json, non_metadata, referenced_by_snapshots};
use crate::common::{Env, batch, scan_ids};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Six snapshots on a partitioned table: four appends, a delete of a whole partition
/// and a copy-on-write delete that rewrites a file (so expired snapshots reach data
/// files that the retained ones do not).
async fn history(env: &Env, name: &str, props: &[(&str, &str)]) -> Table {
    let mut t = env.create(name, true, props).await;
    for i in 0..4_i64 {
        t = t
            .append(vec![batch(&t, i * 10..i * 10 + 5, &format!("c{}", i % 2))])
            .await
            .unwrap();
    }
    t = t
        .delete(Reference::new("cat").equal_to(Datum::String("c1".into())))
        .await
        .unwrap();
    t.delete(Reference::new("id").equal_to(Datum::Long(2)))
        .await
        .unwrap()
}

fn newest_ts(t: &Table) -> i64 {
    t.metadata()
        .snapshots()
        .values()
        .map(|s| s.timestamp_ms)
        .max()
        .unwrap()
}

#[tokio::test]
async fn expiry_deletes_exactly_the_unreachable_files() {
    let env = Env::sqlite().await;
    let t = history(&env, "exact", &[]).await;
    let rows = scan_ids(&t).await;
    let before = list_files(&t).await;
    let referenced_before = referenced_by_snapshots(&t).await;
    assert_eq!(t.metadata().snapshots().len(), 6);

    let now = newest_ts(&t) + 10 * DAY_MS;
    let result = ExpireSnapshots::new(&t)
        .now_ms(now)
        .retain_last(2)
        .execute()
        .await
        .unwrap();
    assert_eq!(result.expired_snapshot_ids.len(), 4, "{result:?}");
    assert!(result.files_cleaned);

    let mut t2 = t.clone();
    t2.refresh().await.unwrap();
    assert_eq!(t2.metadata().snapshots().len(), 2);
    assert_eq!(scan_ids(&t2).await, rows, "the current rows are unchanged");
    let after = list_files(&t2).await;
    let referenced_after = referenced_by_snapshots(&t2).await;

    // Every non-metadata file left is referenced by a retained snapshot, and every
    // referenced one is still there.
    assert_eq!(non_metadata(&after), referenced_after);
    // What was deleted is exactly what only the expired snapshots reached.
    let deleted: BTreeSet<String> = before
        .keys()
        .filter(|p| !after.contains_key(*p))
        .cloned()
        .collect();
    let unreachable: BTreeSet<String> = referenced_before
        .difference(&referenced_after)
        .cloned()
        .collect();
    assert_eq!(deleted, unreachable);
    assert!(!deleted.is_empty());
    assert!(
        deleted.iter().any(|p| p.ends_with(".parquet")),
        "data files of the deleted partition are gone: {deleted:?}"
    );
    let reported: BTreeSet<String> = result
        .deleted_paths
        .iter()
        .map(|p| {
            floe_table::writer::default_store_path(p)
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(reported, deleted);
    assert_eq!(
        result.deleted_data_files
            + result.deleted_manifests
            + result.deleted_manifest_lists
            + result.deleted_position_delete_files
            + result.deleted_equality_delete_files,
        deleted.len() as u64
    );
    assert_eq!(result.deleted_manifest_lists, 4);
    // Metadata JSON files are not this action's business.
    assert!(metadata_json(&before).is_subset(&metadata_json(&after)));

    // Nothing more to expire: a second run does nothing.
    let again = ExpireSnapshots::new(&t2)
        .now_ms(now)
        .retain_last(2)
        .execute()
        .await
        .unwrap();
    assert!(again.expired_snapshot_ids.is_empty());
    assert_eq!(list_files(&t2).await.len(), after.len());
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(json["expired-snapshot-ids"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn gc_disabled_expires_snapshots_but_deletes_nothing() {
    let env = Env::sqlite().await;
    let t = history(&env, "nogc", &[("gc.enabled", "false")]).await;
    let before = list_files(&t).await;
    let result = ExpireSnapshots::new(&t)
        .now_ms(newest_ts(&t) + 10 * DAY_MS)
        .execute()
        .await
        .unwrap();
    assert_eq!(result.expired_snapshot_ids.len(), 5);
    assert!(!result.files_cleaned);
    assert_eq!(result.deleted_data_files + result.deleted_manifests, 0);
    let mut t2 = t.clone();
    t2.refresh().await.unwrap();
    assert_eq!(t2.metadata().snapshots().len(), 1);
    let after = list_files(&t2).await;
    assert_eq!(non_metadata(&before), non_metadata(&after));
}

#[tokio::test]
async fn dry_run_changes_nothing_and_reports_the_real_plan() {
    let env = Env::sqlite().await;
    let t = history(&env, "dry", &[]).await;
    let before = list_files(&t).await;
    let now = newest_ts(&t) + 10 * DAY_MS;
    let dry = ExpireSnapshots::new(&t)
        .now_ms(now)
        .retain_last(3)
        .dry_run(true)
        .execute()
        .await
        .unwrap();
    assert!(dry.dry_run);
    assert_eq!(dry.expired_snapshot_ids.len(), 3);
    assert!(!dry.deleted_paths.is_empty());
    let mut t2 = t.clone();
    t2.refresh().await.unwrap();
    assert_eq!(t2.metadata_location(), t.metadata_location());
    assert_eq!(list_files(&t2).await.len(), before.len());

    let real = ExpireSnapshots::new(&t2)
        .now_ms(now)
        .retain_last(3)
        .execute()
        .await
        .unwrap();
    assert_eq!(real.expired_snapshot_ids, dry.expired_snapshot_ids);
    assert_eq!(real.deleted_paths, dry.deleted_paths);
}

#[tokio::test]
async fn retention_by_age_refs_and_explicit_ids() {
    let env = Env::sqlite().await;
    let t = history(&env, "refs", &[]).await;
    let ids: Vec<i64> = t
        .ancestors(t.current_snapshot().unwrap().snapshot_id)
        .iter()
        .map(|s| s.snapshot_id)
        .collect(); // newest first
    let oldest = *ids.last().unwrap();
    let second = ids[ids.len() - 2];
    // A tag on the oldest snapshot that expires after one day, a tag on the second
    // that never expires, and a branch on the second with its own retention.
    let mut tx = t.new_transaction();
    tx.update_ref(RefUpdate::create(
        "old-tag",
        floe_spec::snapshot::SnapshotReference {
            snapshot_id: oldest,
            retention: floe_spec::snapshot::SnapshotRetention::Tag {
                max_ref_age_ms: Some(DAY_MS),
            },
        },
    ));
    tx.update_ref(RefUpdate::create_tag("keep-tag", second));
    let t = tx.commit().await.unwrap();

    let now = newest_ts(&t) + 2 * DAY_MS;
    // Default age 5 days: nothing is old enough, but the old tag's max-ref-age passed.
    let r = ExpireSnapshots::new(&t)
        .now_ms(now)
        .execute()
        .await
        .unwrap();
    assert_eq!(r.removed_refs, vec!["old-tag".to_string()]);
    assert!(r.expired_snapshot_ids.is_empty(), "{r:?}");

    // Older than now: main keeps its head only; keep-tag keeps `second`.
    let mut t = t.clone();
    t.refresh().await.unwrap();
    let r = ExpireSnapshots::new(&t)
        .now_ms(now)
        .older_than_ms(now)
        .execute()
        .await
        .unwrap();
    let mut expected: Vec<i64> = ids[1..].iter().copied().filter(|i| *i != second).collect();
    expected.sort_unstable();
    assert_eq!(r.expired_snapshot_ids, expected);
    t.refresh().await.unwrap();
    let mut left: Vec<i64> = t.metadata().snapshots().keys().copied().collect();
    left.sort_unstable();
    let mut want = vec![ids[0], second];
    want.sort_unstable();
    assert_eq!(left, want);
    // The head of a ref cannot be expired by id.
    let err = ExpireSnapshots::new(&t)
        .expire_snapshot_id(second)
        .execute()
        .await
        .unwrap_err();
    assert!(err.message().contains("keep-tag"), "{err}");
    // Dropping the tag then expiring by id works.
    let mut tx = t.new_transaction();
    tx.update_ref(RefUpdate::remove("keep-tag"));
    let t = tx.commit().await.unwrap();
    let r = ExpireSnapshots::new(&t)
        .expire_snapshot_id(second)
        .execute()
        .await
        .unwrap();
    assert_eq!(r.expired_snapshot_ids, vec![second]);
}

#[tokio::test]
async fn branch_retention_overrides_and_table_properties() {
    let env = Env::sqlite().await;
    let t = history(
        &env,
        "props",
        &[("history.expire.min-snapshots-to-keep", "4")],
    )
    .await;
    let now = newest_ts(&t) + 10 * DAY_MS;
    let r = ExpireSnapshots::new(&t)
        .now_ms(now)
        .dry_run(true)
        .execute()
        .await
        .unwrap();
    assert_eq!(
        r.expired_snapshot_ids.len(),
        2,
        "min-snapshots-to-keep 4 of 6"
    );
    // main's own min-snapshots-to-keep wins over the table property.
    let head = t.current_snapshot().unwrap().snapshot_id;
    let mut tx = t.new_transaction();
    tx.update_ref(RefUpdate::replace(
        "main",
        floe_spec::snapshot::SnapshotReference {
            snapshot_id: head,
            retention: floe_spec::snapshot::SnapshotRetention::Branch {
                min_snapshots_to_keep: Some(5),
                max_snapshot_age_ms: None,
                max_ref_age_ms: None,
            },
        },
    ));
    let t = tx.commit().await.unwrap();
    let r = ExpireSnapshots::new(&t)
        .now_ms(now)
        .execute()
        .await
        .unwrap();
    assert_eq!(r.expired_snapshot_ids.len(), 1);
}
