//! Integration tests of `floe-table`, one binary with a module per area.

mod io;
mod maintenance;
mod scan;
mod transaction;
mod writer;
