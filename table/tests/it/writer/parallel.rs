//! Concurrent partition writers: the parts of a batch are encoded on several Tokio
//! tasks, yet the files hold the same rows, in the same order, and come back in the
//! same order as with one partition at a time; a failing file fails the write with
//! nothing left behind.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use arrow::compute::concat_batches;
use async_trait::async_trait;
use floe_spec::manifest::DataFile;
use floe_spec::partition::{PartitionField, PartitionSpec};
use floe_spec::transform::Transform;
use floe_table::arrow_schema::{align_batch, schema_to_arrow};
use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};

use super::{id_cat_ts_batches, id_cat_ts_schema, partitioned_writer, props, read_file};

fn day_spec() -> PartitionSpec {
    PartitionSpec {
        spec_id: 0,
        fields: vec![PartitionField {
            source_id: 3,
            field_id: 1000,
            name: "ts_day".into(),
            transform: Transform::Day,
        }],
    }
}

/// 8 batches of 2,000 rows in random day order over 12 days (with nulls).
fn batches() -> Vec<RecordBatch> {
    id_cat_ts_batches(
        7,
        8,
        2_000,
        |i, _| Some(format!("c{}", i % 13)),
        |v| (v % 29 != 0).then(|| (v % 12) as i64 * 86_400_000_000 + (v % 997) as i64),
    )
}

fn multi_thread_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap()
}

/// Writes `input` with `parallelism` partition files at a time into `store`.
async fn write_with(
    store: Arc<dyn ObjectStore>,
    properties: &HashMap<String, String>,
    input: &[RecordBatch],
    parallelism: usize,
    max_open: Option<usize>,
) -> floe_table::Result<Vec<DataFile>> {
    let mut writer = partitioned_writer(store, &id_cat_ts_schema(), &day_spec(), properties)?
        .with_parallelism(parallelism);
    if let Some(max) = max_open {
        writer = writer.with_max_open_writers(max);
    }
    for b in input {
        if let Err(e) = writer.write(b).await {
            writer.abort().await.ok();
            return Err(e);
        }
    }
    writer.close().await
}

/// Each file's partition, record count and rows (ids in file order).
async fn contents(
    store: &Arc<dyn ObjectStore>,
    files: &[DataFile],
) -> Vec<(String, i64, Vec<i64>)> {
    let schema = id_cat_ts_schema();
    let mut out = Vec::new();
    for f in files {
        let (batches, _) = read_file(store, &f.file_path).await;
        let batches: Vec<RecordBatch> = batches
            .iter()
            .map(|b| align_batch(b, &schema).unwrap())
            .collect();
        let all = concat_batches(&Arc::new(schema_to_arrow(&schema).unwrap()), &batches).unwrap();
        let ids = all
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .values()
            .to_vec();
        assert_eq!(ids.len() as i64, f.record_count, "{}", f.file_path);
        out.push((format!("{:?}", f.partition), f.record_count, ids));
    }
    out
}

#[test]
fn parallel_partition_writes_equal_the_sequential_result() {
    let input = batches();
    // Default sizes (one file per partition), and a small target size (files roll).
    for kv in [vec![], vec![("write.target-file-size-bytes", "6000")]] {
        let properties = props(&kv);
        for max_open in [None, Some(3)] {
            multi_thread_rt().block_on(async {
                let seq_store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
                let seq = write_with(seq_store.clone(), &properties, &input, 1, max_open)
                    .await
                    .unwrap();
                let par_store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
                let par = write_with(par_store.clone(), &properties, &input, 4, max_open)
                    .await
                    .unwrap();
                assert!(seq.len() >= 12, "{} files", seq.len());
                let seq_rows = contents(&seq_store, &seq).await;
                let par_rows = contents(&par_store, &par).await;
                assert_eq!(seq_rows, par_rows, "props {kv:?}, max open {max_open:?}");
                let total: i64 = par_rows.iter().map(|(_, n, _)| n).sum();
                assert_eq!(total, 16_000);
                // Metrics are computed per file the same way.
                for (s, p) in seq.iter().zip(&par) {
                    assert_eq!(s.value_counts, p.value_counts);
                    assert_eq!(s.null_value_counts, p.null_value_counts);
                    assert_eq!(s.lower_bounds, p.lower_bounds);
                    assert_eq!(s.upper_bounds, p.upper_bounds);
                }
            });
        }
    }
}

/// An in-memory store whose uploads under one partition directory fail.
#[derive(Debug)]
struct FailingPartition {
    inner: InMemory,
    marker: String,
}

impl std::fmt::Display for FailingPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FailingPartition({})", self.marker)
    }
}

impl FailingPartition {
    fn check(&self, location: &Path) -> object_store::Result<()> {
        if location.as_ref().contains(&self.marker) {
            return Err(object_store::Error::Generic {
                store: "FailingPartition",
                source: format!("injected upload failure for {location}").into(),
            });
        }
        Ok(())
    }
}

#[async_trait]
impl ObjectStore for FailingPartition {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.check(location)?;
        self.inner.put_opts(location, payload, opts).await
    }
    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.check(location)?;
        self.inner.put_multipart_opts(location, opts).await
    }
    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        self.inner.get_opts(location, options).await
    }
    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }
    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }
    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }
    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

async fn stored_files(store: &Arc<dyn ObjectStore>) -> Vec<String> {
    use futures::TryStreamExt;
    let mut out: Vec<String> = store
        .list(None)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    out.sort();
    out
}

#[test]
fn a_failing_partition_file_fails_the_write_and_leaves_nothing() {
    let input = batches();
    // Day 5 is 1970-01-06. Small files (rolling uploads during writes) and large ones
    // (uploaded when closed) fail in different places.
    for kv in [vec![], vec![("write.target-file-size-bytes", "6000")]] {
        let properties = props(&kv);
        multi_thread_rt().block_on(async {
            let store: Arc<dyn ObjectStore> = Arc::new(FailingPartition {
                inner: InMemory::new(),
                marker: "ts_day=1970-01-06/".into(),
            });
            let e = write_with(store.clone(), &properties, &input, 4, None)
                .await
                .unwrap_err();
            assert!(e.to_string().contains("1970-01-06"), "{e}");
            assert_eq!(
                stored_files(&store).await,
                Vec::<String>::new(),
                "props {kv:?}"
            );
        });
    }
}
