//! Running the PyIceberg interop scripts in `tests/interop/`.
//!
//! The Python interpreter comes from `FLOE_TEST_PYTHON`, which `scripts/test` sets to the
//! venv it creates with `tests/interop/requirements.txt`. Tests that need PyIceberg fail
//! (never skip) when it is missing.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

const NOT_SET: &str =
    "FLOE_TEST_PYTHON is not set: run scripts/test, which creates the PyIceberg venv";

/// The Python interpreter of the PyIceberg venv (`FLOE_TEST_PYTHON`), checked once to run
/// and to import `pyiceberg` and `pyarrow`.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let python = match std::env::var_os("FLOE_TEST_PYTHON") {
                Some(p) if !p.is_empty() => PathBuf::from(p),
                _ => panic!("{NOT_SET}"),
            };
            let out = Command::new(&python)
                .args(["-c", "import pyiceberg, pyarrow"])
                .output()
                .unwrap_or_else(|e| {
                    panic!(
                        "FLOE_TEST_PYTHON={} cannot be run ({e}): run scripts/test, which \
                         creates the PyIceberg venv",
                        python.display()
                    )
                });
            assert!(
                out.status.success(),
                "FLOE_TEST_PYTHON={} cannot import pyiceberg and pyarrow ({}): run \
                 scripts/test, which creates the PyIceberg venv\n--- stderr ---\n{}",
                python.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            python
        })
        .clone()
}

/// The folder of the interop scripts, `tests/interop/`.
pub fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("interop")
}

/// Runs `tests/interop/<script>` with `args` and parses its stdout as one JSON document.
/// Panics with the script's stdout and stderr if it fails or prints no valid JSON.
pub fn run_script(script: &str, args: &[&OsStr]) -> serde_json::Value {
    let path = interop_dir().join(script);
    let out = Command::new(python())
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} {args:?} failed ({})\n--- stderr ---\n{stderr}\n--- stdout ---\n{}",
        out.status,
        truncate(&stdout, 4000),
    );
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{script} {args:?} printed no valid JSON ({e})\n--- stdout ---\n{}\n--- stderr \
             ---\n{stderr}",
            truncate(&stdout, 4000)
        )
    })
}

/// A table written by PyIceberg (`pyiceberg_write.py`, once per test process): the folder
/// holding `catalog.db`, `warehouse/` and `expected.json`.
pub fn pyiceberg_fixture() -> &'static Path {
    static FIXTURE: OnceLock<PathBuf> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        static ATTEMPT: AtomicUsize = AtomicUsize::new(0);
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pyiceberg-fixture");
        remove_stale(&root, Duration::from_hours(24));
        let dir = root.join(format!(
            "{}-{}",
            std::process::id(),
            ATTEMPT.fetch_add(1, Ordering::Relaxed)
        ));
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .unwrap_or_else(|e| panic!("cannot remove {}: {e}", dir.display()));
        }
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        run_script("pyiceberg_write.py", &[dir.as_os_str()]);
        dir
    })
}

/// A local path from a `file://` URI (or a plain path).
pub fn local_path(uri: &str) -> PathBuf {
    PathBuf::from(uri.strip_prefix("file://").unwrap_or(uri))
}

/// Removes fixture folders of earlier test runs (older than `age`); best effort.
fn remove_stale(root: &Path, age: Duration) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|d| d > age);
        if old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The `expected.json` the PyIceberg fixture wrote: what PyIceberg itself reports about
/// the table it made.
pub fn fixture_expected() -> serde_json::Value {
    let path = pyiceberg_fixture().join("expected.json");
    assert!(path.is_file(), "{} was not written", path.display());
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}
