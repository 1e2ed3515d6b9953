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

use arrow::array::RecordBatch;
use bytes::Bytes;
use floe_spec::manifest::DataFile;
use floe_spec::partition::PartitionSpec;
use floe_spec::schema::Schema;
use floe_table::writer::{LocationGenerator, PartitionedWriter, WriterContext, default_store_path};
use object_store::memory::InMemory;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::ParquetMetaData;

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

/// Writes `batches` to a table with `schema`, `spec` and `properties`; returns the
/// store and the files.
pub async fn write(
    schema: &Schema,
    spec: &PartitionSpec,
    properties: &HashMap<String, String>,
    batches: &[RecordBatch],
) -> floe_table::Result<(Arc<dyn ObjectStore>, Vec<DataFile>)> {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let context = Arc::new(WriterContext::for_data(schema, properties, None)?);
    let locations = Arc::new(LocationGenerator::for_table(
        store.clone(),
        TABLE_LOCATION,
        properties,
    )?);
    let mut writer = PartitionedWriter::try_new(context, schema, spec, locations)?;
    for b in batches {
        writer.write(b).await?;
    }
    let files = writer.close().await?;
    Ok((store, files))
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
