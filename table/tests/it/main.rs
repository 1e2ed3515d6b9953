//! Integration tests of `floe-table`, one binary with a module per area.

mod common;
mod io;
mod maintenance;
mod scan;
mod stream;
mod transaction;
mod writer;
