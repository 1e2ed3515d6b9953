//! The Floe client library.
//!
//! One crate for Rust users of Floe tables: a catalog client for any Iceberg REST
//! catalog (and `floe serve`'s extensions), a facade that opens a catalog by URI, scans
//! planned by the server when it offers scan planning ([`scan`]), and SQL through
//! DataFusion.

pub mod floe;
pub mod rest;
pub mod scan;
pub mod sql;
pub mod stream;

pub use floe::{Floe, FloeBuilder, parse_table_name};
pub use scan::{FloeScan, FloeScanBuilder, ScanPlanner};
pub use stream::FloeStreamWriter;
