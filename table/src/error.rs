//! The error type of `floe-table`.
//!
//! Like the catalog, the table crate uses the one error type of the format crate,
//! [`floe_spec::Error`], whose [`ErrorKind`] maps onto the Iceberg REST error types, so
//! a failed requirement from the catalog surfaces unchanged. Arrow and Parquet failures
//! become errors that keep their source; [`arrow_error`] and [`parquet_error`] say what
//! was being done.

pub use floe_spec::{Error, ErrorKind, Result};

/// An Arrow failure while doing `what`: invalid input data is `DataInvalid`.
pub fn arrow_error(what: &str, e: arrow::error::ArrowError) -> Error {
    Error::invalid(format!("arrow: {what} failed")).with_source(e)
}

/// A Parquet failure while doing `what` (reading or writing a file).
pub fn parquet_error(what: &str, e: parquet::errors::ParquetError) -> Error {
    Error::new(ErrorKind::Io, format!("parquet: {what} failed")).with_source(e)
}
