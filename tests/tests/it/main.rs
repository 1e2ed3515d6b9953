//! Floe's workspace integration tests, in one test binary. Run them with `scripts/test`,
//! which sets up PostgreSQL (`FLOE_TEST_POSTGRES_URL`) and the PyIceberg venv
//! (`FLOE_TEST_PYTHON`) first.

#[path = "../../../catalog/tests/it/pg_schema.rs"]
mod pg_schema;
mod python;
mod python_env;
mod rest_pyiceberg;
mod rest_server;
mod spec_interop;
