//! Fan-out by partition: every row lands in the file of its partition, checked by
//! reading the files back and recomputing the partition of every row.

use std::sync::Arc;

use arrow::array::RecordBatch;
use floe_spec::manifest::DataFile;
use floe_spec::partition::{PartitionField, PartitionSpec};
use floe_spec::schema::Schema;
use floe_spec::transform::Transform;
use floe_table::arrow_schema::align_batch;
use floe_table::arrow_transform::PartitionSplitter;
use object_store::ObjectStore;
use object_store::memory::InMemory;

use super::{
    TABLE_LOCATION, id_cat_ts_batches, id_cat_ts_schema, partitioned_writer, props, read_file, rt,
    write,
};

fn spec() -> PartitionSpec {
    let f = |source_id, field_id, name: &str, transform| PartitionField {
        source_id,
        field_id,
        name: name.into(),
        transform,
    };
    PartitionSpec {
        spec_id: 0,
        fields: vec![
            f(2, 1000, "cat", Transform::Identity),
            f(1, 1001, "id_bucket", Transform::Bucket(3)),
            f(3, 1002, "ts_day", Transform::Day),
        ],
    }
}

/// 3 batches of 500 rows in random partition order (with nulls and values that need
/// escaping in paths).
fn batches() -> Vec<RecordBatch> {
    let cats = [Some("a b"), Some("x/y"), None, Some("é")];
    id_cat_ts_batches(
        42,
        3,
        500,
        |_, rng| cats[rng.below(4) as usize].map(str::to_string),
        |v| (v % 7 != 0).then(|| (v % 5) as i64 * 86_400_000_000 + (v % 1000) as i64),
    )
}

async fn check_files(
    store: &Arc<dyn ObjectStore>,
    schema: &Schema,
    spec: &PartitionSpec,
    files: &[DataFile],
) -> i64 {
    let splitter = PartitionSplitter::try_new(spec, schema).unwrap();
    let mut total = 0;
    for f in files {
        let path = spec.partition_path(schema, &f.partition).unwrap();
        assert!(
            f.file_path
                .starts_with(&format!("{TABLE_LOCATION}/data/{path}/")),
            "{} not under {path}",
            f.file_path
        );
        let (batches, _) = read_file(store, &f.file_path).await;
        for b in &batches {
            let b = align_batch(b, schema).unwrap();
            for tuple in splitter.partition_values(&b).unwrap() {
                assert_eq!(tuple, f.partition, "row in {}", f.file_path);
            }
            total += b.num_rows() as i64;
        }
        assert_eq!(f.partition.len(), 3);
    }
    total
}

#[test]
fn every_row_lands_in_its_partition() {
    let schema = id_cat_ts_schema();
    let spec = spec();
    let input = batches();
    rt().block_on(async {
        let (store, files) = write(&schema, &spec, &props(&[]), &input).await.unwrap();
        let total = check_files(&store, &schema, &spec, &files).await;
        assert_eq!(total, 1500);
        assert_eq!(files.iter().map(|f| f.record_count).sum::<i64>(), 1500);
        // One file per partition (nothing rolled), and partitions are distinct.
        let mut parts: Vec<_> = files.iter().map(|f| f.partition.clone()).collect();
        parts.sort();
        parts.dedup();
        assert_eq!(parts.len(), files.len());
        // Null and escaped values in paths.
        assert!(files.iter().any(|f| f.file_path.contains("/cat=null/")));
        assert!(files.iter().any(|f| f.file_path.contains("/cat=x%2Fy/")));
        assert!(files.iter().any(|f| f.file_path.contains("/cat=a+b/")));
    });
}

#[test]
fn bounded_open_writers_still_route_correctly() {
    let schema = id_cat_ts_schema();
    let spec = spec();
    let input = batches();
    rt().block_on(async {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let mut writer = partitioned_writer(store.clone(), &schema, &spec, &props(&[]))
            .unwrap()
            .with_max_open_writers(2);
        for b in &input {
            writer.write(b).await.unwrap();
            assert!(writer.open_writers() <= 2);
        }
        let files = writer.close().await.unwrap();
        assert_eq!(check_files(&store, &schema, &spec, &files).await, 1500);
    });
}

#[test]
fn void_only_spec_writes_unpartitioned_paths() {
    let schema = id_cat_ts_schema();
    let spec = PartitionSpec {
        spec_id: 3,
        fields: vec![PartitionField {
            source_id: 2,
            field_id: 1000,
            name: "cat_void".into(),
            transform: Transform::Void,
        }],
    };
    let input = batches();
    rt().block_on(async {
        let (_, files) = write(&schema, &spec, &props(&[]), &input).await.unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].partition, vec![None]);
        let name = files[0]
            .file_path
            .strip_prefix(&format!("{TABLE_LOCATION}/data/"))
            .unwrap();
        assert!(!name.contains('/'), "{name}");
    });
}
