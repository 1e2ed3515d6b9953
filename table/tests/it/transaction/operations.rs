//! Each snapshot producer: the snapshot it adds, its summary, sequence numbers and the
//! status of manifest entries.

use floe_spec::expr::Reference;
use floe_spec::manifest::{DataContentType, ManifestStatus};
use floe_spec::snapshot::Operation;
use floe_spec::values::Datum;
use floe_table::transaction::SnapshotUpdate;

use super::{a_and_b, all_entries, file_of, live_paths, live_records, status_of, summary};
use crate::common::{Env, add_position_deletes, batch, scan_ids, write};

#[tokio::test]
async fn fast_append_adds_a_manifest_and_keeps_the_old_ones() {
    let env = Env::sqlite().await;
    let t = env.create("t", true, &[]).await;
    let t = t.append(vec![batch(&t, 0..10, "a")]).await.unwrap();
    let s1 = t.current_snapshot().unwrap().clone();
    assert_eq!(s1.sequence_number, 1);
    assert_eq!(s1.parent_snapshot_id, None);
    assert_eq!(s1.summary.operation, Operation::Append);
    assert_eq!(summary(&t, "added-records").as_deref(), Some("10"));
    assert_eq!(summary(&t, "total-records").as_deref(), Some("10"));
    assert_eq!(summary(&t, "total-data-files").as_deref(), Some("1"));
    assert_eq!(summary(&t, "changed-partition-count").as_deref(), Some("1"));
    let list_name = s1.manifest_list.rsplit('/').next().unwrap().to_string();
    assert!(
        list_name.starts_with(&format!("snap-{}-1-", s1.snapshot_id))
            && std::path::Path::new(&list_name)
                .extension()
                .is_some_and(|e| e == "avro"),
        "{list_name}"
    );

    let t = t
        .append(vec![batch(&t, 10..15, "a"), batch(&t, 15..18, "b")])
        .await
        .unwrap();
    let s2 = t.current_snapshot().unwrap().clone();
    assert_eq!(s2.sequence_number, 2);
    assert_eq!(s2.parent_snapshot_id, Some(s1.snapshot_id));
    assert_eq!(summary(&t, "added-records").as_deref(), Some("8"));
    assert_eq!(summary(&t, "total-records").as_deref(), Some("18"));
    assert_eq!(summary(&t, "total-data-files").as_deref(), Some("3"));
    assert_eq!(summary(&t, "changed-partition-count").as_deref(), Some("2"));
    assert_eq!(t.metadata().last_sequence_number(), 2);
    let manifests = t.manifests(None).await.unwrap();
    assert_eq!(manifests.len(), 2);
    assert_eq!(manifests[0].added_snapshot_id, s2.snapshot_id);
    assert_eq!(manifests[0].sequence_number, 2);
    assert_eq!(manifests[1].added_snapshot_id, s1.snapshot_id);
    assert_eq!(manifests[1].sequence_number, 1);
    let name = manifests[0].manifest_path.rsplit('/').next().unwrap();
    assert!(name.ends_with("-m0.avro"), "{name}");
    for (_, e) in all_entries(&t).await {
        assert_eq!(e.status, ManifestStatus::Added);
    }
    assert_eq!(t.history().len(), 2);
}

#[tokio::test]
async fn merge_append_merges_small_manifests_into_existing_entries() {
    let env = Env::sqlite().await;
    let t = env
        .create(
            "t",
            false,
            &[
                ("commit.manifest-merge.enabled", "true"),
                ("commit.manifest.min-count-to-merge", "3"),
            ],
        )
        .await;
    let t = t.append(vec![batch(&t, 0..5, "a")]).await.unwrap();
    let t = t.append(vec![batch(&t, 5..10, "a")]).await.unwrap();
    assert_eq!(
        t.manifests(None).await.unwrap().len(),
        2,
        "fewer than 3: no merge"
    );
    let t = t.append(vec![batch(&t, 10..15, "a")]).await.unwrap();
    let s3 = t.current_snapshot().unwrap().clone();
    let manifests = t.manifests(None).await.unwrap();
    assert_eq!(manifests.len(), 1, "three manifests merged into one");
    assert_eq!(manifests[0].added_snapshot_id, s3.snapshot_id);
    assert_eq!(manifests[0].sequence_number, 3);
    assert_eq!(manifests[0].min_sequence_number, 1);
    let entries = all_entries(&t).await;
    let mut seqs: Vec<(ManifestStatus, i64)> = entries
        .iter()
        .map(|(_, e)| (e.status, e.sequence_number.unwrap()))
        .collect();
    seqs.sort_by_key(|(_, s)| *s);
    assert_eq!(
        seqs,
        vec![
            (ManifestStatus::Existing, 1),
            (ManifestStatus::Existing, 2),
            (ManifestStatus::Added, 3)
        ]
    );
    assert_eq!(live_records(&t).await, 15);
    assert_eq!(summary(&t, "total-records").as_deref(), Some("15"));
}

#[tokio::test]
async fn delete_by_filter_drops_whole_files_and_rejects_partial_matches() {
    let env = Env::sqlite().await;
    let t = a_and_b(&env, &[]).await;
    let before = t.current_snapshot().unwrap().clone();
    let a_file = file_of(&t, "a").await.file_path;
    let t = t
        .delete(Reference::new("cat").equal_to(Datum::String("a".into())))
        .await
        .unwrap();
    let s = t.current_snapshot().unwrap().clone();
    assert_eq!(s.summary.operation, Operation::Delete);
    assert_eq!(s.sequence_number, 2);
    assert_eq!(summary(&t, "deleted-data-files").as_deref(), Some("1"));
    assert_eq!(summary(&t, "deleted-records").as_deref(), Some("10"));
    assert_eq!(summary(&t, "total-records").as_deref(), Some("10"));
    assert_eq!(summary(&t, "total-data-files").as_deref(), Some("1"));
    let entries = all_entries(&t).await;
    let e = status_of(&entries, &a_file);
    assert_eq!(e.len(), 1);
    assert_eq!(e[0].status, ManifestStatus::Deleted);
    assert_eq!(e[0].snapshot_id, Some(s.snapshot_id));
    assert_eq!(
        e[0].sequence_number,
        Some(before.sequence_number),
        "data seq kept"
    );
    assert!(
        entries
            .iter()
            .any(|(_, e)| e.status == ManifestStatus::Existing)
    );
    assert_eq!(live_records(&t).await, 10);

    // By metrics: every row of `b` has id >= 10.
    let t = t
        .delete(Reference::new("id").greater_than_or_eq(Datum::Long(10)))
        .await
        .unwrap();
    assert_eq!(live_records(&t).await, 0);

    // A file with some matching rows is rewritten without them.
    let t = t.append(vec![batch(&t, 100..110, "c")]).await.unwrap();
    let old = live_paths(&t).await;
    let t = t
        .delete(Reference::new("id").less_than(Datum::Long(105)))
        .await
        .unwrap();
    let s = t.current_snapshot().unwrap().clone();
    assert_eq!(s.summary.operation, Operation::Overwrite);
    assert_eq!(summary(&t, "deleted-records").as_deref(), Some("10"));
    assert_eq!(summary(&t, "added-records").as_deref(), Some("5"));
    assert_eq!(summary(&t, "total-records").as_deref(), Some("5"));
    let new = live_paths(&t).await;
    assert_eq!(new.len(), 1);
    assert_ne!(new, old);
    assert_eq!(scan_ids(&t).await, (105..110).collect::<Vec<_>>());
}

#[tokio::test]
async fn partial_delete_applies_existing_deletes_and_keeps_unknown_rows() {
    let env = Env::sqlite().await;
    let t = env.create("t", false, &[]).await;
    let t = t.append(vec![batch(&t, 0..10, "a")]).await.unwrap();
    let file = t.live_entries(None).await.unwrap()[0].data_file.clone();
    let t = add_position_deletes(&t, &file, &[0, 1]).await.unwrap();
    assert_eq!(scan_ids(&t).await, (2..10).collect::<Vec<_>>());
    let t = t
        .delete(Reference::new("id").greater_than_or_eq(Datum::Long(8)))
        .await
        .unwrap();
    assert_eq!(scan_ids(&t).await, (2..8).collect::<Vec<_>>());
    // The position delete file went with its data file.
    let live = t.live_entries(None).await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].data_file.content, DataContentType::Data);
    assert_eq!(live[0].data_file.record_count, 6);
    assert_eq!(summary(&t, "total-delete-files").as_deref(), Some("0"));

    // Rows whose filter value is unknown (null `cat`) are kept.
    let mut nulls = batch(&t, 20..24, "x");
    let cat: arrow::array::ArrayRef = std::sync::Arc::new(arrow::array::StringArray::from(vec![
        Some("x"),
        None,
        Some("y"),
        None,
    ]));
    let mut cols = nulls.columns().to_vec();
    cols[1] = cat;
    nulls = arrow::array::RecordBatch::try_new(nulls.schema(), cols).unwrap();
    let t = t.append(vec![nulls]).await.unwrap();
    let t = t
        .delete(Reference::new("cat").less_than(Datum::String("y".into())))
        .await
        .unwrap();
    let mut expected: Vec<i64> = vec![21, 22, 23];
    expected.sort_unstable();
    assert_eq!(scan_ids(&t).await, expected);
}

#[tokio::test]
async fn overwrite_by_filter_and_stacked_delete_plus_append() {
    let env = Env::sqlite().await;
    let t = a_and_b(&env, &[]).await;
    let t = t
        .overwrite(
            Reference::new("cat").equal_to(Datum::String("a".into())),
            vec![batch(&t, 0..3, "a")],
        )
        .await
        .unwrap();
    let s = t.current_snapshot().unwrap().clone();
    assert_eq!(s.summary.operation, Operation::Overwrite);
    assert_eq!(summary(&t, "added-records").as_deref(), Some("3"));
    assert_eq!(summary(&t, "deleted-records").as_deref(), Some("10"));
    assert_eq!(summary(&t, "total-records").as_deref(), Some("13"));
    assert_eq!(live_records(&t).await, 13);

    // PyIceberg-style overwrite: a delete snapshot and an append snapshot, one commit.
    let location_before = t.metadata_location().unwrap().to_string();
    let files = write(&t, 50..52, "b").await;
    let mut tx = t.new_transaction();
    tx.delete_where(Reference::new("cat").equal_to(Datum::String("b".into())));
    tx.fast_append(files);
    let t = tx.commit().await.unwrap();
    let head = t.current_snapshot().unwrap().clone();
    let parent = t
        .snapshot(head.parent_snapshot_id.unwrap())
        .unwrap()
        .clone();
    assert_eq!(parent.summary.operation, Operation::Delete);
    assert_eq!(head.summary.operation, Operation::Append);
    assert_eq!(parent.sequence_number, s.sequence_number + 1);
    assert_eq!(head.sequence_number, s.sequence_number + 2);
    assert_eq!(parent.parent_snapshot_id, Some(s.snapshot_id));
    assert_eq!(live_records(&t).await, 5);
    assert_eq!(
        t.metadata().metadata_log().last().unwrap().metadata_file,
        location_before,
        "one catalog commit for both snapshots"
    );
}

#[tokio::test]
async fn replace_partitions_replaces_exactly_the_touched_partitions() {
    let env = Env::sqlite().await;
    let t = a_and_b(&env, &[]).await;
    let t = t.append(vec![batch(&t, 20..25, "a")]).await.unwrap();
    let mut tx = t.new_transaction();
    tx.replace_partitions_batches(&[batch(&t, 100..102, "a"), batch(&t, 200..201, "c")])
        .await
        .unwrap();
    let t = tx.commit().await.unwrap();
    assert_eq!(
        t.current_snapshot().unwrap().summary.operation,
        Operation::Overwrite
    );
    assert_eq!(summary(&t, "deleted-data-files").as_deref(), Some("2"));
    assert_eq!(summary(&t, "deleted-records").as_deref(), Some("15"));
    assert_eq!(summary(&t, "added-records").as_deref(), Some("3"));
    assert_eq!(summary(&t, "changed-partition-count").as_deref(), Some("2"));
    let live = t.live_entries(None).await.unwrap();
    let mut by_partition: Vec<(String, i64)> = live
        .iter()
        .map(|e| {
            let p = match &e.data_file.partition[0] {
                Some(Datum::String(s)) => s.clone(),
                _ => String::new(),
            };
            (p, e.data_file.record_count)
        })
        .collect();
    by_partition.sort();
    assert_eq!(
        by_partition,
        vec![("a".into(), 2), ("b".into(), 10), ("c".into(), 1)]
    );
}

#[tokio::test]
async fn row_delta_then_rewrite_keeps_the_starting_sequence_number() {
    let env = Env::sqlite().await;
    let t = a_and_b(&env, &[]).await;
    let a = file_of(&t, "a").await;
    let t = add_position_deletes(&t, &a, &[0, 1, 2]).await.unwrap();
    let s = t.current_snapshot().unwrap().clone();
    assert_eq!(s.summary.operation, Operation::Delete);
    assert_eq!(s.sequence_number, 2);
    assert_eq!(summary(&t, "added-delete-files").as_deref(), Some("1"));
    assert_eq!(
        summary(&t, "added-position-delete-files").as_deref(),
        Some("1")
    );
    assert_eq!(summary(&t, "added-position-deletes").as_deref(), Some("3"));
    assert_eq!(summary(&t, "total-position-deletes").as_deref(), Some("3"));
    assert_eq!(summary(&t, "total-delete-files").as_deref(), Some("1"));
    let manifests = t.manifests(None).await.unwrap();
    assert_eq!(
        manifests
            .iter()
            .filter(|m| m.content == floe_spec::manifest::ManifestContentType::Deletes)
            .count(),
        1
    );

    // Compaction of partition `a`: the data file and its delete file become one file.
    let delete_file = t
        .live_entries(None)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.data_file.content == DataContentType::PositionDeletes)
        .unwrap()
        .data_file;
    let compacted = write(&t, 3..10, "a").await;
    let mut tx = t.new_transaction();
    tx.add(
        SnapshotUpdate::rewrite()
            .delete_data_file(a.file_path.clone())
            .delete_delete_file(delete_file.file_path.clone())
            .add_data_files(compacted.clone()),
    );
    let t = tx.commit().await.unwrap();
    let r = t.current_snapshot().unwrap().clone();
    assert_eq!(r.summary.operation, Operation::Replace);
    assert_eq!(r.sequence_number, 3);
    assert_eq!(summary(&t, "deleted-data-files").as_deref(), Some("1"));
    assert_eq!(summary(&t, "removed-delete-files").as_deref(), Some("1"));
    assert_eq!(summary(&t, "total-delete-files").as_deref(), Some("0"));
    assert_eq!(summary(&t, "total-records").as_deref(), Some("17"));
    let entries = all_entries(&t).await;
    let new = status_of(&entries, &compacted[0].file_path);
    assert_eq!(new[0].status, ManifestStatus::Added);
    assert_eq!(
        new[0].sequence_number,
        Some(2),
        "starting snapshot's data sequence number"
    );
    assert_eq!(new[0].file_sequence_number, Some(3));
    assert_eq!(
        status_of(&entries, &delete_file.file_path)[0].status,
        ManifestStatus::Deleted
    );
}

#[tokio::test]
async fn removing_a_data_file_drops_its_position_deletes() {
    let env = Env::sqlite().await;
    let t = env.create("t", false, &[]).await;
    let t = t.append(vec![batch(&t, 0..10, "a")]).await.unwrap();
    let file = t.live_entries(None).await.unwrap()[0].data_file.clone();
    let t = add_position_deletes(&t, &file, &[4]).await.unwrap();
    let mut tx = t.new_transaction();
    tx.add(SnapshotUpdate::delete().delete_data_file(file.file_path.clone()));
    let t = tx.commit().await.unwrap();
    assert!(t.live_entries(None).await.unwrap().is_empty());
    assert_eq!(summary(&t, "removed-delete-files").as_deref(), Some("1"));
}

#[tokio::test]
async fn v3_tables_get_row_ids() {
    let env = Env::sqlite().await;
    let t = env.create("t", false, &[("format-version", "3")]).await;
    assert_eq!(
        t.metadata().format_version(),
        floe_spec::table_metadata::FormatVersion::V3
    );
    let t = t.append(vec![batch(&t, 0..10, "a")]).await.unwrap();
    let s1 = t.current_snapshot().unwrap().clone();
    assert_eq!((s1.first_row_id, s1.added_rows), (Some(0), Some(10)));
    let t = t.append(vec![batch(&t, 10..14, "a")]).await.unwrap();
    let s2 = t.current_snapshot().unwrap().clone();
    assert_eq!(s2.first_row_id, Some(10));
    assert_eq!(
        t.metadata().next_row_id(),
        Some(10 + s2.added_rows.unwrap())
    );
    assert_eq!(scan_ids(&t).await, (0..14).collect::<Vec<_>>());
}
