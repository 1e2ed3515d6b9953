//! Fixtures: a fresh catalog database (a temporary SQLite file, or a fresh PostgreSQL
//! schema dropped at the end) and a temporary warehouse folder; the table helpers of the
//! conformance suite, re-exported.

use std::sync::Arc;

use floe_catalog::{Catalog, SqlCatalog, SqlCatalogBuilder, TableIdent};
use floe_spec::table_metadata::TableMetadata;

#[path = "pg_schema.rs"]
mod pg_schema;
pub use pg_schema::PgSchema;

pub use crate::conformance::{
    append_commit, assert_kind, creation, files_under, ns, refuses_outside_location, set_property,
    table, tid,
};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// A fresh catalog database and warehouse; dropped (PostgreSQL schema included) when
/// the fixture goes out of scope, also when the test panics.
pub struct Fixture {
    pub url: String,
    pub warehouse: tempfile::TempDir,
    _sqlite_dir: Option<tempfile::TempDir>,
    _pg_schema: Option<PgSchema>,
}

impl Fixture {
    pub async fn new(db: Db) -> Self {
        let warehouse = tempfile::tempdir().expect("temp warehouse");
        match db {
            Db::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
                Self {
                    url,
                    warehouse,
                    _sqlite_dir: Some(dir),
                    _pg_schema: None,
                }
            }
            Db::Postgres => {
                let schema = tokio::task::spawn_blocking(|| PgSchema::new("floe_it"))
                    .await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
                Self {
                    url: schema.url().to_owned(),
                    warehouse,
                    _sqlite_dir: None,
                    _pg_schema: Some(schema),
                }
            }
        }
    }

    pub fn warehouse_path(&self) -> String {
        self.warehouse.path().display().to_string()
    }

    pub fn builder(&self) -> SqlCatalogBuilder {
        SqlCatalog::builder(&self.url, self.warehouse_path()).max_connections(4)
    }

    /// A new catalog handle with its own connection pool.
    pub async fn catalog(&self) -> SqlCatalog {
        self.builder().build().await.expect("connect catalog")
    }
}

/// Checks a table is loadable and its metadata coherent: valid, and sequence numbers
/// 1..=n without gaps.
pub async fn check_consistent(catalog: &dyn Catalog, ident: &TableIdent) -> Arc<TableMetadata> {
    let loaded = catalog.load_table(ident).await.expect("table loads");
    let meta = loaded.metadata;
    meta.validate().expect("valid metadata");
    let mut seqs: Vec<i64> = meta
        .snapshots()
        .values()
        .map(|s| s.sequence_number)
        .collect();
    seqs.sort_unstable();
    let expected: Vec<i64> = (1..=seqs.len() as i64).collect();
    assert_eq!(seqs, expected, "sequence numbers are gap-free");
    assert_eq!(meta.last_sequence_number(), seqs.len() as i64);
    meta
}

/// Declares one `#[tokio::test]` per backend for each suite function
/// `async fn name(fx: &Fixture)` of the calling module.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fx = $crate::common::Fixture::new($crate::common::Db::Sqlite).await;
                    super::$name(&fx).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let fx = $crate::common::Fixture::new($crate::common::Db::Postgres).await;
                    super::$name(&fx).await;
                }
            )*
        }
    };
}
pub(crate) use on_both;
