//! PyIceberg read-back: the scripts of `tests/interop/` run with the PyIceberg venv's
//! interpreter, `FLOE_TEST_PYTHON` (set by `scripts/test`, which creates the venv;
//! without it the tests fail).

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

/// The PyIceberg venv's interpreter.
fn python() -> PathBuf {
    match std::env::var_os("FLOE_TEST_PYTHON").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "FLOE_TEST_PYTHON is not set: run scripts/test, which creates the PyIceberg venv"
        ),
    }
}

/// Runs `tests/interop/<script>` with `args`; its standard output, parsed as JSON.
/// A failing script fails the test with its output.
pub fn run_python<I, S>(script: &str, args: I) -> Value
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/interop")
        .join(script);
    let out = Command::new(python())
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{script} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What `pyiceberg_read.py METADATA --scan` prints: the rows PyIceberg reads, their
/// count, the snapshots and the last sequence number.
pub fn pyiceberg_scan(metadata_location: &str) -> Value {
    run_python("pyiceberg_read.py", [metadata_location, "--scan"])
}

/// The `id`s of the rows of a [`pyiceberg_scan`] document, sorted.
pub fn ids_of(doc: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}
