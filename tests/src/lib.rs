//! Floe's workspace tests: the code lives in the `it` integration test (`tests/it/`).
