//! PyIceberg 0.12's RestCatalog against a real `floe serve` process: namespace CRUD, a
//! partitioned table, appends, scans (filtered, time travel), delete, schema evolution,
//! staged create with data, rename and drop with purge (`tests/interop/rest_pyiceberg.py`).

// Helpers outside `#[test]` functions unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::python::run_script;

/// The `floe` binary beside this test binary (`target/debug/floe`), built with cargo
/// when missing (e.g. when only this crate's tests were built).
pub(crate) fn floe_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let debug_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let bin = debug_dir.join(format!("floe{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "floe-server", "--bin", "floe"])
            .status()
            .unwrap();
        assert!(
            status.success(),
            "cargo build -p floe-server --bin floe failed"
        );
    }
    assert!(bin.exists(), "no floe binary at {}", bin.display());
    bin
}

/// A running `floe serve` on a free port; killed on drop.
pub(crate) struct Server {
    child: Child,
    pub(crate) uri: String,
    _dir: tempfile_dir::Dir,
}

mod tempfile_dir {
    //! A temporary folder removed on drop (std only).
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Server {
    pub(crate) fn start(extra: &[&str]) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "floe-rest-it-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(floe_binary())
            .args(["serve", "--port", "0", "--data-dir"])
            .arg(&dir)
            .args(extra)
            .env("FLOE_LOG_LEVEL", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let uri = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("floe serve printed no URI: {line:?}"))
            .to_owned();
        Self {
            child,
            uri,
            _dir: tempfile_dir::Dir(dir),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn pyiceberg_rest_catalog_end_to_end() {
    let server = Server::start(&[]);
    let out = run_script("rest_pyiceberg.py", &[server.uri.as_ref()]);
    assert_eq!(out["ok"], true, "{out}");
    assert_eq!(out["snapshots_after_appends"], 2);
    assert_eq!(out["rows_after_delete"], 12);
    assert_eq!(
        out["schema_fields"],
        serde_json::json!(["id", "category", "score"])
    );
    assert_eq!(out["staged_rows"], 1);
    assert_eq!(out["server_planned_rows"], 15);
}

#[test]
fn pyiceberg_with_a_bearer_token() {
    let server = Server::start(&["--token", "it-secret"]);
    let out = run_script(
        "rest_pyiceberg.py",
        &[server.uri.as_ref(), "it-secret".as_ref()],
    );
    assert_eq!(out["ok"], true, "{out}");
}
