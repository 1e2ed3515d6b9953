//! Writers end to end: files written to an in-memory object store are read back with
//! arrow-rs and compared with the `DataFile`s the writers return.

// Test helpers: a panic is a failed test.
#![allow(clippy::unwrap_used)]

mod deletes;
mod fanout;
mod interop;
mod metrics;
mod parallel;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use bytes::Bytes;
use floe_spec::manifest::DataFile;
use floe_spec::partition::PartitionSpec;
use floe_spec::schema::Schema;
use floe_spec::types::{NestedField, PrimitiveType, Type};
use floe_table::arrow_schema::schema_to_arrow;
use floe_table::writer::{LocationGenerator, PartitionedWriter, WriterContext, default_store_path};
use object_store::memory::InMemory;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::ParquetMetaData;

use crate::common::Lcg;

pub const TABLE_LOCATION: &str = "memory:///wh/db/t";

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn props(kv: &[(&str, &str)]) -> HashMap<String, String> {
    kv.iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

/// A partitioned writer of the table at [`TABLE_LOCATION`] in `store`, with `schema`,
/// `spec` and `properties`.
pub fn partitioned_writer(
    store: Arc<dyn ObjectStore>,
    schema: &Schema,
    spec: &PartitionSpec,
    properties: &HashMap<String, String>,
) -> floe_table::Result<PartitionedWriter> {
    let context = Arc::new(WriterContext::for_data(schema, properties, None)?);
    let locations = Arc::new(LocationGenerator::for_table(
        store,
        TABLE_LOCATION,
        properties,
    )?);
    PartitionedWriter::try_new(context, schema, spec, locations)
}

/// Writes `batches` to a table with `schema`, `spec` and `properties` in a new
/// in-memory store; returns the store and the files.
pub async fn write(
    schema: &Schema,
    spec: &PartitionSpec,
    properties: &HashMap<String, String>,
    batches: &[RecordBatch],
) -> floe_table::Result<(Arc<dyn ObjectStore>, Vec<DataFile>)> {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let mut writer = partitioned_writer(store.clone(), schema, spec, properties)?;
    for b in batches {
        writer.write(b).await?;
    }
    let files = writer.close().await?;
    Ok((store, files))
}

/// The schema of the fan-out tests: `id` long required, `cat` string, `ts` timestamp.
pub fn id_cat_ts_schema() -> Schema {
    Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
            NestedField::optional(2, "cat", Type::Primitive(PrimitiveType::String)),
            NestedField::optional(3, "ts", Type::Primitive(PrimitiveType::Timestamp)),
        ])
        .build()
        .unwrap()
}

/// `count` batches of `rows` rows of [`id_cat_ts_schema`], ids `0..count * rows` in
/// order; in each batch, every row's `cat` is `cat(row, rng)`, then every row's `ts` is
/// `ts(random bits)`. Seeded: the rows are the same on every run.
pub fn id_cat_ts_batches(
    seed: u64,
    count: i64,
    rows: i64,
    cat: impl Fn(i64, &mut Lcg) -> Option<String>,
    ts: impl Fn(u64) -> Option<i64>,
) -> Vec<RecordBatch> {
    let arrow = Arc::new(schema_to_arrow(&id_cat_ts_schema()).unwrap());
    let mut rng = Lcg::new(seed);
    (0..count)
        .map(|b| {
            let ids: Vec<i64> = (0..rows).map(|i| b * rows + i).collect();
            let cats: Vec<Option<String>> = (0..rows).map(|i| cat(i, &mut rng)).collect();
            let ts: Vec<Option<i64>> = (0..rows).map(|_| ts(rng.bits())).collect();
            RecordBatch::try_new(
                arrow.clone(),
                vec![
                    Arc::new(Int64Array::from(ids)) as ArrayRef,
                    Arc::new(StringArray::from(cats)),
                    Arc::new(TimestampMicrosecondArray::from(ts)),
                ],
            )
            .unwrap()
        })
        .collect()
}

pub async fn read_bytes(store: &Arc<dyn ObjectStore>, location: &str) -> Bytes {
    let path = default_store_path(location).unwrap();
    store.get(&path).await.unwrap().bytes().await.unwrap()
}

/// The rows and the footer of a written file.
pub async fn read_file(
    store: &Arc<dyn ObjectStore>,
    location: &str,
) -> (Vec<RecordBatch>, Arc<ParquetMetaData>) {
    let bytes = read_bytes(store, location).await;
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).unwrap();
    let metadata = builder.metadata().clone();
    let batches = builder
        .build()
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    (batches, metadata)
}

/// Every leaf column of the Parquet schema has a field id, and those ids are `expected`.
pub fn assert_leaf_ids(metadata: &ParquetMetaData, expected: &[i32]) {
    let descr = metadata.file_metadata().schema_descr();
    let mut ids = Vec::new();
    for col in descr.columns() {
        let info = col.self_type().get_basic_info();
        assert!(info.has_id(), "leaf {} has no field id", col.path());
        ids.push(info.id());
    }
    assert_eq!(ids, expected);
}
