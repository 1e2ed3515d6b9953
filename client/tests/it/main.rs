//! Integration tests of floe-client (one test binary).

// Fixtures and helpers unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod sql;
