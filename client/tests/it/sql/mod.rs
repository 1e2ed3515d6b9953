//! SQL through DataFusion on Floe tables (SQLite catalog, local warehouse).

mod common;
mod ddl_dml;
mod errors;
mod metadata;
mod pyiceberg;
mod queries;
