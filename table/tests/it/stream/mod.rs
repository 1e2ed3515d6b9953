//! Exactly-once streams: group commit of append intents from many concurrent writers,
//! duplicates and fencing, stream writers (triggers, backpressure, restarts), and
//! writers killed at random points — on SQLite and on PostgreSQL
//! (`FLOE_TEST_POSTGRES_URL`, required: the PostgreSQL tests fail when it is unset).

// Test helpers: a panic is a failed test.
#![allow(clippy::unwrap_used)]

mod faults;
mod group;
mod pipeline;
mod writer;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch};
use floe_catalog::{Catalog, NamespaceIdent, SqlCatalog, TableCreation, TableIdent};
use floe_spec::partition::{UnboundPartitionField, UnboundPartitionSpec};
use floe_spec::transform::Transform;
use floe_table::Table;
use floe_table::stream::{GroupCommitConfig, GroupCommitter};
use sqlx::Connection;

use crate::transaction::schema;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A catalog database (a temporary SQLite file, or a fresh PostgreSQL schema dropped at
/// the end) and a temporary warehouse folder.
pub struct Env {
    _dir: tempfile::TempDir,
    pub url: String,
    pub warehouse: String,
    pub catalog: Arc<SqlCatalog>,
    pg_schema: Option<(String, String)>,
}

impl Env {
    pub async fn new(db: Db) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let warehouse = dir.path().join("wh").display().to_string();
        let (url, pg_schema) = match db {
            Db::Sqlite => (
                format!("sqlite://{}", dir.path().join("catalog.db").display()),
                None,
            ),
            Db::Postgres => {
                let base = std::env::var("FLOE_TEST_POSTGRES_URL").unwrap_or_else(|_| {
                    panic!(
                        "FLOE_TEST_POSTGRES_URL is not set: the PostgreSQL stream tests need a \
                         PostgreSQL server, e.g. postgres://floe:floe@127.0.0.1:5432/floe_test"
                    )
                });
                let schema = format!("floe_stream_{}", uuid::Uuid::new_v4().simple());
                sqlx::any::install_default_drivers();
                let mut conn = sqlx::AnyConnection::connect(&base)
                    .await
                    .unwrap_or_else(|e| panic!("cannot connect to {base}: {e}"));
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.ok();
                let sep = if base.contains('?') { '&' } else { '?' };
                (
                    format!("{base}{sep}options=-c%20search_path%3D{schema}"),
                    Some((base, schema)),
                )
            }
        };
        let catalog = Arc::new(
            SqlCatalog::builder(&url, &warehouse)
                .max_connections(8)
                .build()
                .await
                .unwrap(),
        );
        catalog
            .create_namespace(&NamespaceIdent::new(["db"]).unwrap(), HashMap::new())
            .await
            .unwrap();
        Self {
            _dir: dir,
            url,
            warehouse,
            catalog,
            pg_schema,
        }
    }

    /// Another catalog handle on the same database and warehouse (another process, in
    /// effect).
    pub async fn other_catalog(&self) -> Arc<SqlCatalog> {
        Arc::new(
            SqlCatalog::builder(&self.url, &self.warehouse)
                .max_connections(4)
                .build()
                .await
                .unwrap(),
        )
    }

    pub fn ident(name: &str) -> TableIdent {
        TableIdent::new(NamespaceIdent::new(["db"]).unwrap(), name).unwrap()
    }

    /// Creates table `name` (`id` long, `cat` string, `v` long), partitioned by `cat`
    /// if `partitioned`.
    pub async fn create(&self, name: &str, partitioned: bool) -> Table {
        let mut creation = TableCreation::new(name, schema());
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
        let store = self.catalog.warehouse().store().clone();
        Table::load(self.catalog.clone(), &Self::ident(name), store)
            .await
            .unwrap()
    }

    pub fn committer(&self, window_ms: u64) -> GroupCommitter {
        self.committer_on(self.catalog.clone(), window_ms)
    }

    pub fn committer_on(&self, catalog: Arc<dyn Catalog>, window_ms: u64) -> GroupCommitter {
        GroupCommitter::new(
            catalog,
            self.catalog.warehouse().store().clone(),
            GroupCommitConfig {
                window: std::time::Duration::from_millis(window_ms),
                ..GroupCommitConfig::default()
            },
        )
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.pg_schema.take() {
            let handle = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    if let Ok(mut conn) = sqlx::AnyConnection::connect(&base).await {
                        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                            .execute(&mut conn)
                            .await;
                        let _ = conn.close().await;
                    }
                });
            });
            let _ = handle.join();
        }
    }
}

/// Every `id` of the table's current snapshot, sorted.
pub async fn scan_ids(table: &Table) -> Vec<i64> {
    let batches: Vec<RecordBatch> = table
        .scan()
        .select(["id"])
        .build()
        .unwrap()
        .to_arrow()
        .await
        .unwrap();
    let mut ids = Vec::new();
    for b in batches {
        let col = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        for i in 0..col.len() {
            ids.push(col.value(i));
        }
    }
    ids.sort_unstable();
    ids
}

/// Asserts that `ids` holds exactly `0..n`, each once.
pub fn assert_exactly_once(ids: &[i64], n: i64) {
    let mut dupes = Vec::new();
    for w in ids.windows(2) {
        if w[0] == w[1] {
            dupes.push(w[0]);
        }
    }
    assert!(dupes.is_empty(), "rows present more than once: {dupes:?}");
    let expected: Vec<i64> = (0..n).collect();
    if ids != expected.as_slice() {
        let have: std::collections::HashSet<i64> = ids.iter().copied().collect();
        let missing: Vec<i64> = expected
            .iter()
            .filter(|i| !have.contains(i))
            .copied()
            .collect();
        panic!(
            "expected rows 0..{n} once each; {} rows present, missing {:?}",
            ids.len(),
            &missing[..missing.len().min(20)]
        );
    }
}
