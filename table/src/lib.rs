//! `floe-table`: where data goes in and comes out of Floe tables.
//!
//! Built on [`floe_spec`] (the Iceberg format) and, for commits, on the catalog crate.
//!
//! - [`io`]: [`FileIO`], the one way table code reads and writes files (local, memory,
//!   S3, GCS, Azure; chosen by location).
//! - [`writer`]: Arrow record batches → Parquet data and delete files with Iceberg
//!   metrics.
//! - [`scan`]: snapshot scans, incremental and changelog scans, read into Arrow.
//! - [`table`]: [`Table`], a catalog table pinned to one metadata version.
//! - [`transaction`]: changes committed atomically — appends, overwrites, deletes,
//!   partition replaces, row deltas, rewrites, schema and spec evolution, properties,
//!   branches and tags — with conflict validation and retry.
//! - [`stream`]: exactly-once micro-batch streams — group commit of append intents
//!   and stream writers.
//! - [`maintenance`]: snapshot expiry, orphan-file removal, compaction, manifest
//!   rewrite and metadata-file cleanup, as awaitable builders with dry runs.
//! - [`summary`]: snapshot summaries (added, removed and total counts).
//!
//! Nothing here is Floe-specific on the wire: the files written are plain Iceberg
//! Parquet data and delete files that any Iceberg engine reads.

pub mod arrow_schema;
pub mod arrow_transform;
pub mod error;
pub mod io;
pub mod maintenance;
pub mod scan;
pub mod stream;
pub mod summary;
pub mod table;
pub mod transaction;
pub mod writer;

pub use error::{Error, ErrorKind, Result};
pub use io::{FileIO, InputFile, OutputFile};
pub use table::Table;
pub use transaction::Transaction;
