//! Operation pairs committed concurrently: the second writer started from the same
//! snapshot as the first, lost the race, refreshed, and was validated against what the
//! first committed. Outcomes follow Iceberg (checklist §5).

use floe_spec::expr::{Expression, Reference};
use floe_spec::manifest::DataFile;
use floe_spec::values::Datum;
use floe_table::transaction::{IsolationLevel, SchemaUpdate, SnapshotUpdate};
use floe_table::{ErrorKind, Table};
use object_store::ObjectStoreExt;

use super::{a_and_b, file_of, live_paths, live_records, summary};
use crate::common::{Env, add_equality_deletes, add_position_deletes, batch, scan_ids, write};

fn cat(c: &str) -> Expression {
    Reference::new("cat").equal_to(Datum::String(c.into()))
}

/// A partitioned table with 10 rows in `a` and 10 in `b`, and two handles on it: the
/// writer that will lose the race, and the one that commits first.
async fn two_writers(env: &Env, props: &[(&str, &str)]) -> (Table, Table) {
    a_and_b(env, props).await;
    let other = env.other_catalog().await;
    (env.load("t").await, env.load_with(other, "t").await)
}

/// [`two_writers`], then the fast one appends rows 100..105 to partition `cat`: the
/// slow writer, and the fast one as of its append.
async fn after_an_append_to(env: &Env, props: &[(&str, &str)], cat: &str) -> (Table, Table) {
    let (slow, fast) = two_writers(env, props).await;
    let fast = fast
        .append(vec![batch(&fast, 100..105, cat)])
        .await
        .unwrap();
    (slow, fast)
}

fn assert_conflict(err: &floe_table::Error, op: &str) {
    assert_eq!(err.kind(), ErrorKind::CommitFailed, "{err}");
    assert!(
        err.to_string().contains(op),
        "error names the operation: {err}"
    );
}

#[tokio::test]
async fn append_vs_append_always_succeeds() {
    let env = Env::sqlite().await;
    let (slow, fast) = two_writers(&env, &[]).await;
    let f1 = write(&slow, 100..105, "a").await;
    let f2 = write(&fast, 200..205, "a").await;
    let fast = fast.append_files(f2.clone()).await.unwrap();
    let slow = slow.append_files(f1.clone()).await.unwrap();
    let head = slow.current_snapshot().unwrap();
    assert_eq!(head.sequence_number, 3, "rebased on the concurrent append");
    assert_eq!(
        head.parent_snapshot_id,
        fast.current_snapshot().map(|s| s.snapshot_id)
    );
    let live = live_paths(&slow).await;
    assert!(live.contains(&f1[0].file_path) && live.contains(&f2[0].file_path));
    assert_eq!(live_records(&slow).await, 30);
    assert_eq!(summary(&slow, "total-records").as_deref(), Some("30"));
    // The manifest list of the lost attempt was cleaned up; the new one is attempt 2.
    let list = &head.manifest_list;
    assert!(
        list.contains(&format!("snap-{}-2-", head.snapshot_id)),
        "{list}"
    );
    let first_attempt = list.replace(
        &format!("-{}-2-", head.snapshot_id),
        &format!("-{}-1-", head.snapshot_id),
    );
    let path = floe_table::writer::default_store_path(&first_attempt).unwrap();
    assert!(
        slow.store().head(&path).await.is_err(),
        "lost attempt's list deleted"
    );
}

async fn overwrite_a(t: &Table, level: IsolationLevel) -> floe_table::Result<Table> {
    let files = write(t, 0..3, "a").await;
    let mut tx = t.new_transaction();
    tx.add(
        SnapshotUpdate::overwrite()
            .delete_where(cat("a"))
            .add_data_files(files)
            .isolation_level(level),
    );
    tx.commit().await
}

#[tokio::test]
async fn overwrite_vs_append_in_range_fails_only_when_serializable() {
    let env = Env::sqlite().await;
    let (slow, fast) = after_an_append_to(&env, &[], "a").await;
    let head = fast.current_snapshot().unwrap().snapshot_id;
    let err = overwrite_a(&slow, IsolationLevel::Serializable)
        .await
        .unwrap_err();
    assert_conflict(&err, "overwrite");
    assert!(
        err.to_string().contains(&head.to_string()),
        "names the snapshot: {err}"
    );
    let mut check = env.load("t").await;
    check.refresh().await.unwrap();
    assert_eq!(
        check.current_snapshot().unwrap().snapshot_id,
        head,
        "nothing committed"
    );

    // Snapshot isolation: the commit succeeds. As in Java, a filter overwrite applies
    // its filter to the table it commits on, so the concurrent file in `a` is replaced
    // too (a copy-on-write engine would name the files it read instead).
    let t = overwrite_a(&slow, IsolationLevel::Snapshot).await.unwrap();
    assert_eq!(live_records(&t).await, 10 + 3);
    assert_eq!(t.current_snapshot().unwrap().parent_snapshot_id, Some(head));
}

#[tokio::test]
async fn overwrite_isolation_level_comes_from_the_table_property() {
    let env = Env::sqlite().await;
    let (slow, _) =
        after_an_append_to(&env, &[("write.update.isolation-level", "snapshot")], "a").await;
    let files = write(&slow, 0..3, "a").await;
    let mut tx = slow.new_transaction();
    tx.add(
        SnapshotUpdate::overwrite()
            .delete_where(cat("a"))
            .add_data_files(files),
    );
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn overwrite_vs_append_elsewhere_succeeds() {
    let env = Env::sqlite().await;
    let (slow, _) = after_an_append_to(&env, &[], "b").await;
    let t = overwrite_a(&slow, IsolationLevel::Serializable)
        .await
        .unwrap();
    assert_eq!(live_records(&t).await, 3 + 10 + 5);
}

#[tokio::test]
async fn delete_by_filter_vs_append_elsewhere_succeeds_and_in_range_fails() {
    let env = Env::sqlite().await;
    let (slow, fast) = after_an_append_to(&env, &[], "b").await;
    let t = slow.delete(cat("a")).await.unwrap();
    assert_eq!(live_records(&t).await, 15);

    // In range, serializable (default of write.delete.isolation-level): conflict.
    let slow = env.load("t").await;
    fast.append(vec![batch(&fast, 300..302, "b")])
        .await
        .unwrap();
    let err = slow.delete(cat("b")).await.unwrap_err();
    assert_conflict(&err, "delete");
}

#[tokio::test]
async fn delete_vs_delete_of_the_same_files_fails_under_both_levels() {
    for level in [IsolationLevel::Serializable, IsolationLevel::Snapshot] {
        let env = Env::sqlite().await;
        let (slow, fast) = two_writers(&env, &[]).await;
        fast.delete(cat("a")).await.unwrap();
        let mut tx = slow.new_transaction();
        tx.add(
            SnapshotUpdate::delete()
                .delete_where(cat("a"))
                .isolation_level(level),
        );
        let err = tx.commit().await.unwrap_err();
        assert_conflict(&err, "delete");
    }
}

/// Rewrites data file `a` (the 10 rows of partition `a`) into a new file that the
/// transaction writes: the outcome, and the new file.
async fn rewrite_a(t: &Table, a: &DataFile) -> (floe_table::Result<Table>, Vec<DataFile>) {
    let mut tx = t.new_transaction();
    let compacted = tx.write_batches(&[batch(t, 0..10, "a")]).await.unwrap();
    tx.add(
        SnapshotUpdate::rewrite()
            .delete_data_file(a.file_path.clone())
            .add_data_files(compacted.clone()),
    );
    (tx.commit().await, compacted)
}

#[tokio::test]
async fn rewrite_vs_concurrent_delete_of_the_same_file_fails() {
    for level in ["serializable", "snapshot"] {
        let env = Env::sqlite().await;
        let (slow, fast) = two_writers(&env, &[("write.delete.isolation-level", level)]).await;
        let a = file_of(&slow, "a").await;
        fast.delete(cat("a")).await.unwrap();
        let (result, compacted) = rewrite_a(&slow, &a).await;
        let err = result.unwrap_err();
        assert_conflict(&err, "rewrite files");
        assert!(err.to_string().contains(&a.file_path), "{err}");
        // The rewritten data file the transaction wrote itself is cleaned up.
        let path = floe_table::writer::default_store_path(&compacted[0].file_path).unwrap();
        assert!(slow.store().head(&path).await.is_err());
    }
}

#[tokio::test]
async fn rewrite_vs_concurrent_append_succeeds() {
    let env = Env::sqlite().await;
    let (slow, _) = after_an_append_to(&env, &[], "a").await;
    let a = file_of(&slow, "a").await;
    let t = rewrite_a(&slow, &a).await.0.unwrap();
    assert_eq!(live_records(&t).await, 25);
}

#[tokio::test]
async fn rewrite_vs_concurrent_position_delete_on_the_file_fails() {
    let env = Env::sqlite().await;
    let (slow, fast) = two_writers(&env, &[]).await;
    let a = file_of(&slow, "a").await;
    add_position_deletes(&fast, &a, &[1]).await.unwrap();
    let err = rewrite_a(&slow, &a).await.0.unwrap_err();
    assert_conflict(&err, "rewrite files");
    assert!(err.to_string().contains("delete file"), "{err}");
}

#[tokio::test]
async fn row_delta_vs_concurrent_removal_of_its_data_file_fails() {
    let env = Env::sqlite().await;
    let (slow, fast) = two_writers(&env, &[]).await;
    let a = file_of(&slow, "a").await;
    fast.delete(cat("a")).await.unwrap();
    let err = add_position_deletes(&slow, &a, &[0]).await.unwrap_err();
    assert_conflict(&err, "row delta");
    assert!(err.to_string().contains(&a.file_path), "{err}");
}

#[tokio::test]
async fn row_delta_vs_concurrent_append_succeeds() {
    let env = Env::sqlite().await;
    let (slow, _) = after_an_append_to(&env, &[], "a").await;
    let a = file_of(&slow, "a").await;
    let t = add_position_deletes(&slow, &a, &[0]).await.unwrap();
    assert_eq!(t.current_snapshot().unwrap().sequence_number, 3);
}

#[tokio::test]
async fn overwrite_vs_concurrent_row_delta_in_range_fails_under_both_levels() {
    for level in [IsolationLevel::Serializable, IsolationLevel::Snapshot] {
        let env = Env::sqlite().await;
        let (slow, fast) = two_writers(&env, &[]).await;
        let a = file_of(&fast, "a").await;
        add_position_deletes(&fast, &a, &[0]).await.unwrap();
        let err = overwrite_a(&slow, level).await.unwrap_err();
        assert_conflict(&err, "overwrite");
    }
}

/// Replaces partition `a` with 2 rows after the other writer appended 5 rows to
/// partition `appended`, under isolation level `level`.
async fn replace_a_after_append_to(
    level: &str,
    appended: &str,
) -> (Env, floe_table::Result<Table>) {
    let env = Env::sqlite().await;
    let (slow, _) =
        after_an_append_to(&env, &[("write.update.isolation-level", level)], appended).await;
    let mut tx = slow.new_transaction();
    tx.replace_partitions_batches(&[batch(&slow, 0..2, "a")])
        .await
        .unwrap();
    let result = tx.commit().await;
    (env, result)
}

#[tokio::test]
async fn replace_partitions_vs_append_to_the_partition() {
    for (level, ok) in [("serializable", false), ("snapshot", true)] {
        let (_env, result) = replace_a_after_append_to(level, "a").await;
        if ok {
            // As in Java, the whole partition is replaced on the table committed to.
            assert_eq!(live_records(&result.unwrap()).await, 10 + 2);
        } else {
            assert_conflict(&result.unwrap_err(), "replace partitions");
        }
        // Elsewhere: always fine.
        let (_env, result) = replace_a_after_append_to(level, "b").await;
        assert_eq!(live_records(&result.unwrap()).await, 2 + 15);
    }
}

#[tokio::test]
async fn schema_change_vs_concurrent_schema_change_rebases() {
    let env = Env::sqlite().await;
    let (slow, fast) = two_writers(&env, &[]).await;
    let fast_tx = {
        let mut tx = fast.new_transaction();
        tx.update_schema(SchemaUpdate::new().add_column(
            "x",
            floe_spec::types::Type::Primitive(floe_spec::types::PrimitiveType::Int),
        ));
        tx
    };
    fast_tx.commit().await.unwrap();
    let mut tx = slow.new_transaction();
    tx.update_schema(SchemaUpdate::new().add_column(
        "y",
        floe_spec::types::Type::Primitive(floe_spec::types::PrimitiveType::String),
    ));
    let t = tx.commit().await.unwrap();
    let s = t.schema();
    assert_eq!(s.field_by_name("x").unwrap().id, 4);
    assert_eq!(s.field_by_name("y").unwrap().id, 5);
    assert_eq!(t.metadata().last_column_id(), 5);
}

#[tokio::test]
async fn retries_give_up_after_the_configured_number() {
    let env = Env::sqlite().await;
    let (slow, _) = after_an_append_to(&env, &[("commit.retry.num-retries", "0")], "b").await;
    let err = slow
        .append(vec![batch(&slow, 200..205, "b")])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CommitFailed, "{err}");
    assert!(err.to_string().contains("1 attempts"), "{err}");
}

#[tokio::test]
async fn deleting_named_files_vs_concurrent_append_succeeds() {
    let env = Env::sqlite().await;
    let (slow, _) = after_an_append_to(&env, &[], "a").await;
    let a = file_of(&slow, "a").await;
    let mut tx = slow.new_transaction();
    tx.add(SnapshotUpdate::delete().delete_data_file(a.file_path.clone()));
    let t = tx.commit().await.unwrap();
    assert_eq!(live_records(&t).await, 15);
    assert_eq!(scan_ids(&t).await.len(), 15);
}

#[tokio::test]
async fn stacked_snapshots_rebase_together() {
    let env = Env::sqlite().await;
    let (slow, fast) = after_an_append_to(&env, &[], "b").await;
    let files = write(&slow, 300..302, "a").await;
    let mut tx = slow.new_transaction();
    tx.delete_where(cat("a"));
    tx.fast_append(files);
    let t = tx.commit().await.unwrap();
    let head = t.current_snapshot().unwrap().clone();
    let middle = t
        .snapshot(head.parent_snapshot_id.unwrap())
        .unwrap()
        .clone();
    assert_eq!(
        middle.parent_snapshot_id,
        fast.current_snapshot().map(|s| s.snapshot_id)
    );
    assert_eq!((middle.sequence_number, head.sequence_number), (3, 4));
    let mut ids = scan_ids(&t).await;
    ids.dedup();
    let expected: Vec<i64> = (10..20).chain(100..105).chain(300..302).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn rewrite_vs_concurrent_equality_delete_succeeds_and_the_delete_still_applies() {
    let env = Env::sqlite().await;
    let t = env.create("t", false, &[]).await;
    t.append(vec![batch(&t, 0..5, "a")]).await.unwrap();
    t.append(vec![batch(&t, 5..10, "a")]).await.unwrap();
    let slow = env.load("t").await;
    let fast = env.load_with(env.other_catalog().await, "t").await;
    let fast = add_equality_deletes(&fast, &[2, 7]).await.unwrap();
    assert_eq!(scan_ids(&fast).await, vec![0, 1, 3, 4, 5, 6, 8, 9]);
    // Compaction of both files, started before the delete, commits after it.
    let old: Vec<String> = live_paths(&slow).await;
    let mut tx = slow.new_transaction();
    let compacted = tx.write_batches(&[batch(&slow, 0..10, "a")]).await.unwrap();
    let mut u = SnapshotUpdate::rewrite().add_data_files(compacted);
    for p in old {
        u = u.delete_data_file(p);
    }
    tx.add(u);
    let t = tx.commit().await.unwrap();
    assert_eq!(t.current_snapshot().unwrap().sequence_number, 4);
    assert_eq!(scan_ids(&t).await, vec![0, 1, 3, 4, 5, 6, 8, 9]);
}

#[tokio::test]
async fn rewrite_without_starting_sequence_number_conflicts_with_equality_deletes() {
    let env = Env::sqlite().await;
    let t = env
        .create("t", false, &[("use-starting-sequence-number", "false")])
        .await;
    t.append(vec![batch(&t, 0..5, "a")]).await.unwrap();
    let slow = env.load("t").await;
    let fast = env.load_with(env.other_catalog().await, "t").await;
    add_equality_deletes(&fast, &[2]).await.unwrap();
    let old = live_paths(&slow).await;
    let mut tx = slow.new_transaction();
    let compacted = tx.write_batches(&[batch(&slow, 0..5, "a")]).await.unwrap();
    tx.add(
        SnapshotUpdate::rewrite()
            .add_data_files(compacted)
            .delete_data_file(old[0].clone()),
    );
    assert_conflict(&tx.commit().await.unwrap_err(), "rewrite files");
}

#[tokio::test]
async fn delete_by_filter_vs_append_in_range_succeeds_under_snapshot_isolation() {
    let env = Env::sqlite().await;
    let (slow, _) =
        after_an_append_to(&env, &[("write.delete.isolation-level", "snapshot")], "a").await;
    let t = slow.delete(cat("a")).await.unwrap();
    // The filter is applied to the table committed to (as Java's delete by filter).
    assert_eq!(scan_ids(&t).await, (10..20).collect::<Vec<_>>());
}

#[tokio::test]
async fn append_vs_concurrent_overwrite_and_delete_succeeds() {
    let env = Env::sqlite().await;
    let (slow, fast) = two_writers(&env, &[]).await;
    let fast = overwrite_a(&fast, IsolationLevel::Serializable)
        .await
        .unwrap();
    fast.delete(cat("b")).await.unwrap();
    let t = slow
        .append(vec![batch(&slow, 100..102, "a")])
        .await
        .unwrap();
    assert_eq!(t.current_snapshot().unwrap().sequence_number, 4);
    assert_eq!(scan_ids(&t).await, vec![0, 1, 2, 100, 101]);
}

#[tokio::test]
async fn delete_whose_starting_history_was_expired_fails_and_an_append_succeeds() {
    use floe_table::maintenance::ExpireSnapshots;
    let env = Env::sqlite().await;
    let (slow, fast) = two_writers(&env, &[]).await;
    let start = slow.current_snapshot().unwrap().snapshot_id;
    // Two appends move past the starting snapshot, then expiry drops everything but
    // the head: the history between the start and the head is gone.
    let mut fast = fast;
    for k in 0..2 {
        fast = fast
            .append(vec![batch(&fast, 100 + k * 10..103 + k * 10, "b")])
            .await
            .unwrap();
    }
    let head = fast.current_snapshot().unwrap().snapshot_id;
    let r = ExpireSnapshots::new(&fast)
        .older_than_ms(i64::MAX)
        .retain_last(1)
        .execute()
        .await
        .unwrap();
    assert_eq!(r.expired_snapshot_ids.len(), 2, "{r:?}");

    let err = slow.delete(cat("a")).await.unwrap_err();
    assert_conflict(&err, "delete");
    assert!(
        err.to_string().contains(&start.to_string()) && err.to_string().contains("history"),
        "names the starting snapshot and the lost history: {err}"
    );
    let mut check = env.load("t").await;
    check.refresh().await.unwrap();
    assert_eq!(check.current_snapshot().unwrap().snapshot_id, head);

    // Appends validate nothing: the same stale handle appends on top of the head.
    let t = slow
        .append(vec![batch(&slow, 500..502, "a")])
        .await
        .unwrap();
    assert_eq!(t.current_snapshot().unwrap().parent_snapshot_id, Some(head));
    assert_eq!(live_records(&t).await, 20 + 6 + 2);
}
