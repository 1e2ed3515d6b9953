//! The test environment: a catalog database (a temporary SQLite file, or a fresh
//! PostgreSQL schema dropped at the end), a temporary warehouse folder and namespace
//! `db`, with tables of the test schema ([`super::schema`]).

use std::collections::HashMap;
use std::sync::Arc;

use floe_catalog::{Catalog, NamespaceIdent, SqlCatalog, TableCreation, TableIdent};
use floe_spec::partition::{UnboundPartitionField, UnboundPartitionSpec};
use floe_spec::transform::Transform;
use floe_table::Table;
use sqlx::Connection;

use super::schema;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    /// A fresh schema of the server `FLOE_TEST_POSTGRES_URL` names (required: the
    /// PostgreSQL tests fail when it is unset).
    Postgres,
}

/// Table properties of [`Env::sqlite`]: fast commit retries, for tests that lose races
/// on purpose.
const FAST_RETRIES: &[(&str, &str)] = &[
    ("commit.retry.min-wait-ms", "1"),
    ("commit.retry.max-wait-ms", "20"),
];

/// A catalog database and a warehouse folder, removed at the end (the PostgreSQL
/// schema too, also when the test panics).
pub struct Env {
    _dir: tempfile::TempDir,
    pub url: String,
    pub warehouse: String,
    pub catalog: Arc<SqlCatalog>,
    pg_schema: Option<(String, String)>,
    /// Properties of every table [`Env::create`] makes, before its own.
    table_properties: &'static [(&'static str, &'static str)],
}

impl Env {
    /// A fresh environment on `db`; its tables have the default commit retries.
    pub async fn new(db: Db) -> Self {
        Self::build(db, &[]).await
    }

    /// A fresh environment on SQLite whose tables retry lost commits after 1 to 20 ms
    /// (the transaction and maintenance tests).
    pub async fn sqlite() -> Self {
        Self::build(Db::Sqlite, FAST_RETRIES).await
    }

    async fn build(db: Db, table_properties: &'static [(&'static str, &'static str)]) -> Self {
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
                        "FLOE_TEST_POSTGRES_URL is not set: the PostgreSQL tests need a \
                         PostgreSQL server, e.g. postgres://floe:floe@127.0.0.1:5432/floe_test"
                    )
                });
                let schema = format!("floe_table_it_{}", uuid::Uuid::new_v4().simple());
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
            table_properties,
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

    /// Creates table `name` (`id` long required, `cat` string, `v` long), partitioned by
    /// `cat` if `partitioned`, with the environment's table properties plus
    /// `properties`.
    pub async fn create(
        &self,
        name: &str,
        partitioned: bool,
        properties: &[(&str, &str)],
    ) -> Table {
        let mut creation = TableCreation::new(name, schema());
        creation.properties = self
            .table_properties
            .iter()
            .chain(properties)
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
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

    /// Table `name` through another catalog handle and its store.
    pub async fn load_with(&self, catalog: Arc<SqlCatalog>, name: &str) -> Table {
        let store = catalog.warehouse().store().clone();
        Table::load(catalog, &Self::ident(name), store)
            .await
            .unwrap()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.pg_schema.take() {
            // Dropped from a separate thread: we may be inside a runtime.
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
