//! `floe-spec`: the pure, IO-free heart of Floe — every type, codec and rule of the
//! Apache Iceberg table spec v2 that Floe needs.
//!
//! - [`types`] and [`schema`]: primitive and nested types with field ids, schemas,
//!   identifier fields and promotion rules.
//! - [`values`]: literals with the single-value binary (Appendix D) and JSON forms.
//! - [`transform`], [`partition`], [`sort`]: partition transforms, specs and sort orders.
//! - [`snapshot`] and [`table_metadata`]: snapshots, refs and the table metadata JSON.
//! - [`expr`]: row filters — unbound and bound expressions, their REST JSON form, and
//!   the row, metrics and manifest evaluators used by scan planning.
//! - [`commit`]: commit requirements and updates, the metadata builder, and the pure
//!   commit function catalogs call.
//! - [`manifest`] and [`manifest_list`]: the Avro manifests and manifest lists, and the
//!   REST `DataFile` JSON.
//!
//! Nothing here does IO or is async: the catalog, table and server crates build on it.

#[macro_use]
pub mod error;
pub mod commit;
pub mod expr;
pub mod manifest;
pub mod manifest_list;
pub mod partition;
pub mod schema;
pub mod snapshot;
pub mod sort;
pub mod table_metadata;
pub mod transform;
pub mod types;
pub mod values;

pub use error::{Error, ErrorKind, Result};
