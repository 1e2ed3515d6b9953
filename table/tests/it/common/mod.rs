//! Helpers shared by the test modules: the catalog and warehouse environment, the test
//! table's schema and rows, a fault-injecting catalog wrapper, PyIceberg read-back,
//! delete-file writers, a small deterministic random source, and the fresh PostgreSQL
//! schema of the catalog crate's tests (`catalog/tests/it/pg_schema.rs`).

// Test helpers: a panic is a failed test.
#![allow(clippy::unwrap_used)]

mod deletes;
mod env;
mod faulty_catalog;
mod lcg;
#[path = "../../../../catalog/tests/it/pg_schema.rs"]
mod pg_schema;
mod pyiceberg;
mod rows;

pub use deletes::{add_equality_deletes, add_position_deletes};
pub use env::{Db, Env};
pub use faulty_catalog::{Fault, FaultyCatalog};
pub use lcg::Lcg;
pub use pg_schema::PgSchema;
pub use pyiceberg::{ids_of, pyiceberg_scan, run_python};
pub use rows::{batch, scan_ids, schema, write};
