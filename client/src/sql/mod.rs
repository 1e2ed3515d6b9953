//! SQL on Floe tables through [DataFusion](https://datafusion.apache.org).
//!
//! [`FloeSession`] is the entry point: a DataFusion session whose default catalog is a
//! Floe catalog, where `namespace.table` names a Floe table.
//!
//! ```no_run
//! # async fn demo(catalog: std::sync::Arc<floe_catalog::SqlCatalog>) -> datafusion::common::Result<()> {
//! use floe_client::sql::FloeSession;
//! let store = catalog.warehouse().store().clone();
//! let session = FloeSession::new(catalog, store).await?;
//! session.sql("CREATE TABLE db.events (id BIGINT NOT NULL, kind VARCHAR, ts TIMESTAMP) \
//!              PARTITION BY (kind, day(ts))").await?;
//! session.sql("INSERT INTO db.events VALUES (1, 'click', TIMESTAMP '2026-01-02 10:00:00')")
//!     .await?.collect().await?;
//! let rows = session.query("SELECT kind, count(*) FROM db.events GROUP BY kind").await?;
//! session.sql("DELETE FROM db.events WHERE id IN (SELECT id FROM db.bots)").await?;
//! let history = session.query("SELECT * FROM db.events$snapshots").await?;
//! # Ok(()) }
//! ```
//!
//! - [`catalog`]: [`FloeCatalogProvider`], namespaces as schemas.
//! - [`table`]: [`FloeTableProvider`], scans with projection, filter and limit
//!   push-down, statistics, deletes applied, `INSERT`.
//! - [`filter`]: which SQL filters push down, exactly or not.
//! - [`scan`]: [`FloeScanExec`], the execution plan reading file tasks.
//! - [`write`]: streaming writes and their single commit.
//! - [`session`]: DDL (`CREATE TABLE [AS SELECT]`, `DROP TABLE`), DML dispatch.
//! - [`dml`]: `DELETE` and `UPDATE`, copy-on-write or merge-on-read (position deletes).
//! - [`metadata`]: `t$snapshots`, `$history`, `$files`, `$manifests`, `$partitions`,
//!   `$refs`.
//! - [`cli`]: `floe sql`, the command line.
//! - [`time_travel`]: `snapshot('ns.t', id)` and `as_of('ns.t', timestamp)`.

pub mod catalog;
pub mod cli;
pub mod dml;
mod error;
pub mod filter;
pub mod metadata;
pub mod scan;
pub mod session;
pub mod table;
pub mod time_travel;
pub mod write;

pub use catalog::{FloeCatalogProvider, FloeSchemaProvider};
pub use metadata::MetadataTable;
pub use scan::FloeScanExec;
pub use session::{CATALOG_NAME, FloeSession};
pub use table::FloeTableProvider;
