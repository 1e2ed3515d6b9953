//! A client of the Iceberg REST catalog API: [`RestCatalog`] implements
//! [`floe_catalog::Catalog`] over HTTP, against `floe serve` or any Iceberg REST
//! catalog.
//!
//! - [`config`]: the `GET /v1/config` handshake, prefixes, endpoints, URLs.
//! - [`auth`]: bearer tokens and OAuth2 client credentials with refresh.
//! - [`http`]: sending with retries; answers to errors.
//! - [`error`]: Iceberg error bodies to error kinds.
//! - [`model`]: the JSON bodies.
//! - [`catalog`]: the catalog itself.
//! - [`plan`]: server-side scan planning ([`RestCatalog::plan_scan`]).
//!
//! ```no_run
//! # async fn demo() -> floe_catalog::Result<()> {
//! use floe_catalog::Catalog;
//! let catalog = floe_client::rest::RestCatalog::builder("http://127.0.0.1:8181")
//!     .token("s3cret")
//!     .build()
//!     .await?;
//! println!("{:?}", catalog.list_namespaces(None).await?);
//! # Ok(()) }
//! ```

pub mod auth;
pub mod catalog;
pub mod config;
pub mod error;
pub mod http;
pub mod model;
pub mod plan;

pub use catalog::{RestCatalog, RestCatalogBuilder};
pub use http::RetryPolicy;
