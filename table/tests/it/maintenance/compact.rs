//! Compaction: many small files become few with the same rows, position and equality
//! deletes folded; dry runs; concurrent deletes make a group give way, never get lost.

use arrow::array::Int64Array;
use floe_spec::expr::Reference;
use floe_spec::manifest::{DataContentType, DataFile};
use floe_spec::sort::{NullOrder, SortDirection, SortField, SortOrder};
use floe_spec::transform::Transform;
use floe_spec::values::Datum;
use floe_table::maintenance::{RewriteDataFiles, RewriteGroupStatus};
use floe_table::table::Table;
use object_store::ObjectStoreExt;

use crate::common::{Env, add_equality_deletes, add_position_deletes, batch, scan_ids};

/// Live (data files, delete files, rows in data files) of the current snapshot.
pub async fn live_counts(t: &Table) -> (usize, usize, i64) {
    let entries = t.live_entries(None).await.unwrap();
    let data: Vec<_> = entries
        .iter()
        .filter(|e| e.data_file.content == DataContentType::Data)
        .collect();
    (
        data.len(),
        entries.len() - data.len(),
        data.iter().map(|e| e.data_file.record_count).sum(),
    )
}

async fn data_files(t: &Table) -> Vec<DataFile> {
    let mut files: Vec<DataFile> = t
        .live_entries(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.data_file.content == DataContentType::Data)
        .map(|e| e.data_file)
        .collect();
    files.sort_by(|a, b| a.file_path.cmp(&b.file_path));
    files
}

/// Unpartitioned table `name` of `count` appends of 5 rows each in `a` (ids
/// `0..5 * count`): one small file each.
async fn small_files(env: &Env, name: &str, count: i64) -> Table {
    let mut t = env.create(name, false, &[]).await;
    for i in 0..count {
        t = t
            .append(vec![batch(&t, i * 5..i * 5 + 5, "a")])
            .await
            .unwrap();
    }
    t
}

#[tokio::test]
async fn compaction_folds_position_and_equality_deletes_into_few_files() {
    let env = Env::sqlite().await;
    let mut t = small_files(&env, "small", 20).await;
    // Position deletes of two rows of one file, equality deletes of three ids.
    let victim = data_files(&t)
        .await
        .into_iter()
        .find(|f| f.record_count == 5)
        .unwrap();
    t = add_position_deletes(&t, &victim, &[0, 1]).await.unwrap();
    t = add_equality_deletes(&t, &[40, 41, 99]).await.unwrap();
    let rows = scan_ids(&t).await;
    assert_eq!(rows.len(), 95);
    assert_eq!(live_counts(&t).await.0, 20);

    // A dry run plans one group and changes nothing.
    let dry = RewriteDataFiles::new(&t)
        .dry_run(true)
        .execute()
        .await
        .unwrap();
    assert_eq!(dry.groups.len(), 1);
    assert_eq!(dry.groups[0].status, RewriteGroupStatus::Planned);
    assert_eq!(dry.rewritten_data_files, 20);
    assert_eq!(dry.groups[0].delete_files, 2);
    let mut same = t.clone();
    same.refresh().await.unwrap();
    assert_eq!(same.metadata_location(), t.metadata_location());

    let r = RewriteDataFiles::new(&t).execute().await.unwrap();
    assert_eq!(r.committed_groups, 1, "{r:?}");
    assert_eq!(r.rewritten_data_files, 20);
    assert_eq!(r.added_data_files, 1);
    assert_eq!(r.rows, 95);
    t.refresh().await.unwrap();
    assert_eq!(scan_ids(&t).await, rows, "identical rows after compaction");
    let (data, _deletes, records) = live_counts(&t).await;
    assert_eq!(data, 1);
    assert_eq!(
        records, 95,
        "deleted rows are folded away, not merely masked"
    );
    assert_eq!(
        t.current_snapshot().unwrap().summary.operation,
        floe_spec::snapshot::Operation::Replace
    );
    // Nothing left to do.
    let again = RewriteDataFiles::new(&t).execute().await.unwrap();
    assert!(again.groups.is_empty(), "{again:?}");
}

#[tokio::test]
async fn compaction_bin_packs_per_partition_and_sorts() {
    let env = Env::sqlite().await;
    let mut t = env.create("parts", true, &[]).await;
    for i in 0..6_i64 {
        for cat in ["x", "y", "z"] {
            t = t
                .append(vec![batch(&t, i * 10..i * 10 + 4, cat)])
                .await
                .unwrap();
        }
    }
    // Partition `w` has only two small files: below min-input-files, left alone.
    for i in 0..2_i64 {
        t = t
            .append(vec![batch(&t, 100 + i..101 + i, "w")])
            .await
            .unwrap();
    }
    let rows = scan_ids(&t).await;
    let order = SortOrder {
        order_id: 1,
        fields: vec![SortField {
            transform: Transform::Identity,
            source_id: 1,
            direction: SortDirection::Desc,
            null_order: NullOrder::NullsLast,
        }],
    };
    let r = RewriteDataFiles::new(&t)
        .sort_order(order)
        .execute()
        .await
        .unwrap();
    assert_eq!(r.committed_groups, 3, "{r:?}");
    assert_eq!(r.rewritten_data_files, 18);
    assert_eq!(r.added_data_files, 3);
    t.refresh().await.unwrap();
    assert_eq!(scan_ids(&t).await, rows);
    assert_eq!(live_counts(&t).await.0, 5);
    // Rows of a rewritten file are in descending id order.
    let x = data_files(&t)
        .await
        .into_iter()
        .find(|f| f.partition == vec![Some(Datum::String("x".into()))])
        .unwrap();
    let bytes = t
        .store()
        .get(&floe_table::writer::default_store_path(&x.file_path).unwrap())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let reader =
        parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(bytes, 1024).unwrap();
    let ids: Vec<i64> = reader
        .flat_map(|b| {
            let b = b.unwrap();
            b.column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    let mut desc = ids.clone();
    desc.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(ids, desc);
    assert_eq!(ids.len(), 24);

    // A small target splits the output; the row filter limits the plan.
    let r = RewriteDataFiles::new(&t)
        .filter(Reference::new("cat").equal_to(Datum::String("w".into())))
        .rewrite_all(true)
        .execute()
        .await
        .unwrap();
    assert_eq!(r.rewritten_data_files, 2);
    assert_eq!(r.added_data_files, 1);
    t.refresh().await.unwrap();
    assert_eq!(scan_ids(&t).await, rows);
}

#[tokio::test]
async fn a_concurrent_delete_makes_the_group_give_way_and_is_not_lost() {
    let env = Env::sqlite().await;
    let t = small_files(&env, "race", 6).await;
    let stale = t.clone();
    // A position delete committed after the compaction planned (on `stale`).
    let victim = data_files(&t).await.remove(0);
    let t = add_position_deletes(&t, &victim, &[0]).await.unwrap();
    let rows = scan_ids(&t).await;
    assert_eq!(rows.len(), 29);
    let r = RewriteDataFiles::new(&stale).execute().await.unwrap();
    assert_eq!(r.committed_groups, 0);
    assert_eq!(r.failed_groups, 1);
    assert_eq!(r.groups[0].status, RewriteGroupStatus::Conflict);
    let mut now = t.clone();
    now.refresh().await.unwrap();
    assert_eq!(
        scan_ids(&now).await,
        rows,
        "the concurrent delete still applies"
    );
    assert_eq!(live_counts(&now).await.0, 6);

    // A copy-on-write delete committed after planning: also gives way.
    let stale = now.clone();
    let now = now
        .delete(Reference::new("id").equal_to(Datum::Long(7)))
        .await
        .unwrap();
    let rows = scan_ids(&now).await;
    assert!(!rows.contains(&7));
    let r = RewriteDataFiles::new(&stale).execute().await.unwrap();
    assert_eq!(r.failed_groups, 1, "{r:?}");
    let mut now = now.clone();
    now.refresh().await.unwrap();
    assert_eq!(scan_ids(&now).await, rows);

    // An equality delete committed after planning does not conflict and still applies.
    let stale = now.clone();
    let now = add_equality_deletes(&now, &[12]).await.unwrap();
    let rows = scan_ids(&now).await;
    let r = RewriteDataFiles::new(&stale).execute().await.unwrap();
    assert_eq!(r.committed_groups, 1, "{r:?}");
    let mut now = now.clone();
    now.refresh().await.unwrap();
    assert_eq!(scan_ids(&now).await, rows);
    assert!(!rows.contains(&12));
}
