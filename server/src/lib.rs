//! `floe-server`: the Floe REST catalog — the Apache Iceberg REST API on axum, its
//! middleware (request ids, tracing, limits, timeouts, compression, panic catching,
//! bearer-token auth) and metrics, and the `floe` binary (`floe serve`).
//!
//! - [`app`]: shared state, the router and the one middleware stack.
//! - [`rest`]: the Iceberg REST bodies, extractors and routes.
//! - [`error`]: the Iceberg error model and the one mapping from Floe errors to it.
//! - [`cache`]: the load-result and manifest caches.
//! - [`pointers`]: the in-process cache of tables' current metadata locations.
//! - [`idempotency`]: the periodic expiry of `Idempotency-Key` records.
//! - [`auth`]: static bearer tokens and OAuth2 client-credentials tokens.
//! - [`metrics`]: Prometheus metrics.
//! - [`maintenance`]: the maintenance scheduler, workers and task queue handle.
//!
//! ```
//! use floe_server::rest::model::CatalogConfig;
//! let config: CatalogConfig =
//!     serde_json::from_str(r#"{"defaults":{},"overrides":{},"endpoints":[]}"#).unwrap();
//! assert!(config.endpoints.is_empty());
//! ```

pub mod app;
pub mod auth;
pub mod cache;
pub mod error;
pub mod idempotency;
pub mod maintenance;
pub mod metrics;
pub mod pointers;
pub mod rest;
