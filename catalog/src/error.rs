//! The error type of `floe-catalog`.
//!
//! The catalog uses the one error type of the format crate, [`floe_spec::Error`], so that
//! errors from `apply_commit` (a failed requirement is `CommitFailed`) flow through the
//! catalog unchanged. Its [`ErrorKind`] maps one to one onto the Iceberg REST error types
//! (`NoSuchTableException`, `CommitFailedException`, ...) and
//! [`Error::is_retryable`] tells a lost race or a storage hiccup from a bad request.
//! Database and object-store failures become [`ErrorKind::Io`] errors that keep their
//! source.

pub use floe_spec::{Error, ErrorKind, Result};

/// A database failure while doing `what`.
pub(crate) fn db_error(what: &str, e: sqlx::Error) -> Error {
    Error::new(ErrorKind::Io, format!("catalog database: {what} failed")).with_source(e)
}

/// An object-store failure while doing `what` on `location`.
pub(crate) fn store_error(what: &str, location: &str, e: object_store::Error) -> Error {
    let kind = match e {
        object_store::Error::NotFound { .. } => ErrorKind::NoSuchTable,
        _ => ErrorKind::Io,
    };
    Error::new(kind, format!("object store: {what} failed"))
        .with_context("location", location)
        .with_source(e)
}

/// Whether a database error is a unique-key (or primary-key) violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

/// Shorthand for an error of `kind`.
pub(crate) fn err(kind: ErrorKind, message: impl Into<String>) -> Error {
    Error::new(kind, message)
}
