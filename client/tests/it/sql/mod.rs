//! SQL through DataFusion on Floe tables (SQLite catalog, local warehouse).

mod common;
mod concurrent_dml;
mod ddl_dml;
mod errors;
mod metadata;
mod pyiceberg;
mod queries;
