//! `floe-catalog`: the catalog of Floe tables — the [`Catalog`] trait and
//! [`SqlCatalog`], its implementation on SQLite and PostgreSQL.
//!
//! The catalog owns the only mutable thing in a Floe table: the pointer from a table
//! identifier to its current metadata file. A commit writes a new metadata file and
//! swaps the pointer with a compare-and-swap in one database transaction (see
//! [`sql`]'s commit module for the atomicity contract), together with idempotency keys
//! and the progress of exactly-once stream writers.
//!
//! - [`catalog`]: the trait and its request and result types.
//! - [`ident`]: namespace and table identifiers and their validation.
//! - [`io`]: the warehouse — locations and the object store behind them.
//! - [`cache`]: parsed metadata by metadata location.
//! - [`sql`]: `SqlCatalog`, migrations, commits.
//!
//! ```no_run
//! # async fn demo(schema: floe_spec::schema::Schema) -> floe_catalog::Result<()> {
//! use floe_catalog::{Catalog, NamespaceIdent, SqlCatalog, TableCreation};
//! let catalog = SqlCatalog::connect("sqlite://catalog.db", "./warehouse").await?;
//! let ns = NamespaceIdent::new(["db"])?;
//! catalog.create_namespace(&ns, Default::default()).await?;
//! let table = catalog.create_table(&ns, TableCreation::new("events", schema)).await?;
//! println!("{}", table.metadata_location.unwrap_or_default());
//! # Ok(()) }
//! ```

pub mod cache;
pub mod catalog;
pub mod error;
pub mod ident;
pub mod io;
pub mod sql;

pub use cache::{CacheStats, MetadataCache};
pub use catalog::{
    Catalog, CommitResult, CommitStatus, LoadedTable, Namespace, NamespacePropertiesUpdate,
    StagedTable, TableCommit, TableCreation, WriterProgress, WriterProgressUpdate,
};
pub use error::{Error, ErrorKind, Result};
pub use ident::{NamespaceIdent, TableIdent};
pub use io::Warehouse;
pub use sql::{Backend, CommitHook, CommitPhase, SqlCatalog, SqlCatalogBuilder, SqliteSynchronous};
