//! Integration tests of the REST catalog server, driven through the router with
//! `tower::ServiceExt::oneshot` (no socket), over a `SqlCatalog` on a temporary SQLite
//! file.

// Test helpers outside `#[test]` functions unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used)]

mod appends;
mod common;
mod idempotency;
mod load_cache;
mod maintenance;
mod middleware;
mod namespaces;
mod openapi;
mod plan;
mod rebase;
mod replicas;
mod tables;
