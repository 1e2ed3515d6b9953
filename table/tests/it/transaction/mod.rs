//! Transactions end to end on a SQLite catalog in a temporary folder: each operation's
//! snapshots, summaries, sequence numbers and manifests; conflicts between concurrent
//! operations under both isolation levels; many concurrent writers; bad input; and a
//! table read back by PyIceberg.

// Test helpers: a panic is a failed test.
#![allow(clippy::unwrap_used)]

mod bad_input;
mod concurrency;
mod conflicts;
mod evolution;
mod faults;
pub(crate) mod interop;
mod operations;
mod rebase;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use floe_catalog::{Catalog, NamespaceIdent, SqlCatalog, TableCreation, TableIdent};
use floe_spec::manifest::{DataFile, ManifestEntry};
use floe_spec::partition::{UnboundPartitionField, UnboundPartitionSpec};
use floe_spec::schema::Schema;
use floe_spec::transform::Transform;
use floe_spec::types::{NestedField, PrimitiveType, Type};
use floe_table::arrow_schema::schema_to_arrow;
use floe_table::table::Table;

/// A SQLite catalog file and a warehouse folder, removed at the end.
pub struct Env {
    _dir: tempfile::TempDir,
    pub url: String,
    pub warehouse: String,
    pub catalog: Arc<SqlCatalog>,
}

impl Env {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
        let warehouse = dir.path().join("wh").display().to_string();
        let catalog = Arc::new(SqlCatalog::connect(&url, &warehouse).await.unwrap());
        catalog
            .create_namespace(&NamespaceIdent::new(["db"]).unwrap(), HashMap::new())
            .await
            .unwrap();
        Self {
            _dir: dir,
            url,
            warehouse,
            catalog,
        }
    }

    /// Another catalog handle on the same database and warehouse (another process, in
    /// effect).
    pub async fn other_catalog(&self) -> Arc<SqlCatalog> {
        Arc::new(
            SqlCatalog::connect(&self.url, &self.warehouse)
                .await
                .unwrap(),
        )
    }

    pub fn ident(name: &str) -> TableIdent {
        TableIdent::new(NamespaceIdent::new(["db"]).unwrap(), name).unwrap()
    }

    /// Creates table `name` (`id` long required, `cat` string, `v` long), partitioned by
    /// `cat` if `partitioned`, with fast retries plus `properties`.
    pub async fn create(
        &self,
        name: &str,
        partitioned: bool,
        properties: &[(&str, &str)],
    ) -> Table {
        let mut props: HashMap<String, String> = [
            ("commit.retry.min-wait-ms", "1"),
            ("commit.retry.max-wait-ms", "20"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect();
        for (k, v) in properties {
            props.insert((*k).to_string(), (*v).to_string());
        }
        let mut creation = TableCreation::new(name, schema());
        creation.properties = props;
        if partitioned {
            creation.partition_spec = Some(UnboundPartitionSpec {
                spec_id: None,
                fields: vec![UnboundPartitionField {
                    source_id: 2,
                    field_id: None,
                    name: "cat".into(),
                    transform: Transform::Identity,
                }],
            });
        }
        let ns = NamespaceIdent::new(["db"]).unwrap();
        self.catalog.create_table(&ns, creation).await.unwrap();
        self.load(name).await
    }

    pub async fn load(&self, name: &str) -> Table {
        self.load_with(self.catalog.clone(), name).await
    }

    pub async fn load_with(&self, catalog: Arc<SqlCatalog>, name: &str) -> Table {
        let store = catalog.warehouse().store().clone();
        Table::load(catalog, &Self::ident(name), store)
            .await
            .unwrap()
    }
}

pub fn schema() -> Schema {
    Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
            NestedField::optional(2, "cat", Type::Primitive(PrimitiveType::String)),
            NestedField::optional(3, "v", Type::Primitive(PrimitiveType::Long)),
        ])
        .build()
        .unwrap()
}

/// Rows `ids` in category `cat` (v = id * 10), in the table's current schema.
pub fn batch(table: &Table, ids: std::ops::Range<i64>, cat: &str) -> RecordBatch {
    let arrow = Arc::new(schema_to_arrow(table.schema()).unwrap());
    let n = ids.clone().count();
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(ids.clone())),
        Arc::new(StringArray::from(vec![cat; n])),
        Arc::new(Int64Array::from_iter_values(ids.map(|i| i * 10))),
    ];
    // Columns added by schema evolution: nulls.
    for f in arrow.fields().iter().skip(3) {
        columns.push(arrow::array::new_null_array(f.data_type(), n));
    }
    RecordBatch::try_new(arrow, columns).unwrap()
}

/// Writes rows as data files of `table` (not committed).
pub async fn write(table: &Table, ids: std::ops::Range<i64>, cat: &str) -> Vec<DataFile> {
    let mut tx = table.new_transaction();
    tx.write_batches(&[batch(table, ids, cat)]).await.unwrap()
}

/// Paths of the live data files of the current snapshot, sorted.
pub async fn live_paths(table: &Table) -> Vec<String> {
    let mut out: Vec<String> = table
        .live_entries(None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.data_file.file_path)
        .collect();
    out.sort();
    out
}

/// Live rows of the current snapshot, by data-file record counts (no delete files).
pub async fn live_records(table: &Table) -> i64 {
    table
        .live_entries(None)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.data_file.content == floe_spec::manifest::DataContentType::Data)
        .map(|e| e.data_file.record_count)
        .sum()
}

/// Every entry of the current snapshot's manifests (any status), with the manifest's
/// added snapshot.
pub async fn all_entries(table: &Table) -> Vec<(i64, ManifestEntry)> {
    let mut out = Vec::new();
    for m in table.manifests(None).await.unwrap() {
        for e in table.manifest_entries(&m).await.unwrap() {
            out.push((m.added_snapshot_id, e));
        }
    }
    out
}

pub fn status_of<'a>(entries: &'a [(i64, ManifestEntry)], path: &str) -> Vec<&'a ManifestEntry> {
    entries
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e.data_file.file_path == path)
        .collect()
}

pub fn summary(table: &Table, key: &str) -> Option<String> {
    table
        .current_snapshot()
        .and_then(|s| s.summary.additional_properties.get(key).cloned())
}

/// The `id`s of the current snapshot's rows, read with the scan engine (deletes
/// applied), sorted.
pub async fn scan_ids(table: &Table) -> Vec<i64> {
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;
    let io = Arc::new(floe_table::scan::ObjectStoreFileRead::new(
        table.store().clone(),
    ));
    let batches = floe_table::scan::TableScanBuilder::new(table.metadata().clone(), io)
        .select(["id"])
        .build()
        .unwrap()
        .to_arrow()
        .await
        .unwrap();
    let mut ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    ids.sort_unstable();
    ids
}
