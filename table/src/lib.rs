//! `floe-table`: where data goes in and comes out of Floe tables.
//!
//! Built on [`floe_spec`] (the Iceberg format) and, for commits, on the catalog crate.
//!
//! - [`io`]: [`FileIO`], the one way table code reads and writes files (local, memory,
//!   S3, GCS, Azure; chosen by location).
//! - [`writer`]: Arrow record batches → Parquet data and delete files with Iceberg
//!   metrics.
//! - [`scan`]: snapshot scans, incremental and changelog scans, read into Arrow.
//!
//! Nothing here is Floe-specific on the wire: the files written are plain Iceberg
//! Parquet data and delete files that any Iceberg engine reads.

pub mod arrow_schema;
pub mod arrow_transform;
pub mod error;
pub mod io;
pub mod scan;
pub mod writer;

pub use error::{Error, ErrorKind, Result};
pub use io::{FileIO, InputFile, OutputFile};
