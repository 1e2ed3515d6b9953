//! Integration tests of floe-client (one test binary).
