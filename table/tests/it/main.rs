//! Integration tests of `floe-table` (one binary to keep link time down).

mod scan;
