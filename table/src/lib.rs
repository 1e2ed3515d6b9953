//! `floe-table`: where data goes in and comes out of Floe tables.
//!
//! Built on [`floe_spec`] (the Iceberg format) and, for commits, on the catalog crate.
//!
//! Nothing here is Floe-specific on the wire: the files written are plain Iceberg
//! Parquet data and delete files that any Iceberg engine reads.
//!
//! - [`table`]: [`Table`], a catalog table pinned to one metadata version.
//! - [`transaction`]: changes committed atomically — appends, overwrites, deletes,
//!   partition replaces, row deltas, rewrites, schema and spec evolution, properties,
//!   branches and tags — with conflict validation and retry.
//! - [`summary`]: snapshot summaries (added, removed and total counts).
//! - [`writer`]: Arrow record batches to Parquet data and delete files with metrics.
//! - [`scan`]: snapshot scans, incremental and changelog scans, read into Arrow.

pub mod arrow_schema;
pub mod arrow_transform;
pub mod error;
pub mod scan;
pub mod summary;
pub mod table;
pub mod transaction;
pub mod writer;

pub use error::{Error, ErrorKind, Result};
pub use table::Table;
pub use transaction::Transaction;
