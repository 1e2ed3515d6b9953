//! Integration tests of `floe-catalog`: one binary, one conformance suite run on SQLite
//! and on PostgreSQL (`FLOE_TEST_POSTGRES_URL`, required: the PostgreSQL tests fail
//! when it is unset), plus concurrency and crash-safety tests.

// Test helpers outside `#[test]` functions unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used)]

mod common;
mod concurrency;
mod crash;
mod suite;
mod tasks;
mod writers;
