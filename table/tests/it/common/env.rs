//! The test environment: a catalog database (a temporary SQLite file, or a fresh
//! PostgreSQL schema dropped at the end), a temporary warehouse folder and namespace
//! `db`, with tables of the test schema ([`super::schema`]).

use std::collections::HashMap;
use std::sync::Arc;

use super::schema;
use crate::common::PgSchema;
use floe_catalog::{Catalog, NamespaceIdent, SqlCatalog, TableCreation, TableIdent};
use floe_spec::partition::{UnboundPartitionField, UnboundPartitionSpec};
use floe_spec::transform::Transform;
use floe_table::Table;

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
    _pg_schema: Option<PgSchema>,
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
                let schema = PgSchema::new("floe_table_it");
                (schema.url().to_owned(), Some(schema))
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
            _pg_schema: pg_schema,
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
