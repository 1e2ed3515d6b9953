//! Integration tests of floe-client (one test binary): the catalog conformance suite
//! through `RestCatalog` against an in-process `floe serve` on SQLite and PostgreSQL
//! (`FLOE_TEST_POSTGRES_URL`, required), authentication, error mapping and faults, and
//! the `Floe` facade; SQL through DataFusion (`sql`).

// Test helpers outside `#[test]` functions unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used)]

// The catalog crate's fixtures and conformance checks, shared with its own tests.
#[path = "../../../catalog/tests/it/common.rs"]
#[allow(dead_code, unused_imports, unused_macros)]
mod common;
#[path = "../../../catalog/tests/it/conformance.rs"]
#[allow(dead_code)]
mod conformance;

mod cli;
mod facade;
mod plan;
mod rest_auth;
mod rest_conformance;
mod rest_faults;
mod server;
mod sql;
mod stream;
