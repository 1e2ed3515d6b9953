//! A real `floe serve` under load and abuse: 8 PyIceberg processes appending to one
//! table at once (on SQLite and on PostgreSQL) — also with PyIceberg's own commit
//! retries off, where the server's rebase of blind appends must make every append
//! succeed the first time while stale overwrites and deletes still get 409 — and bad
//! requests (path traversal in
//! names, locations outside the warehouse, malformed bodies) that must get a 4xx with
//! an Iceberg error body, commit nothing and leave the server serving.
//! (`tests/interop/rest_concurrency.py`, `tests/interop/rest_bad_requests.py`)

// Helpers outside `#[test]` functions unwrap too: a panic is a test failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::Value;

use crate::pg_schema::PgSchema;
use crate::python::{interop_dir, python, run_script};
use crate::rest_pyiceberg::Server;

const WRITERS: usize = 8;
const APPENDS_PER_WRITER: usize = 5;

/// Runs `rest_concurrency.py <mode>` in 8 processes at once (writer ids 0 to 7, each
/// making `APPENDS_PER_WRITER` appends) and returns each one's JSON report, in writer
/// order; a writer process that fails fails the test with its output.
fn run_writers(server: &Server, mode: &str) -> Vec<Value> {
    let script = interop_dir().join("rest_concurrency.py");
    let children: Vec<_> = (0..WRITERS)
        .map(|w| {
            Command::new(python())
                .arg(&script)
                .args([mode, &server.uri, &w.to_string()])
                .arg(APPENDS_PER_WRITER.to_string())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .enumerate()
        .map(|(w, child)| {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "writer {w} failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
            serde_json::from_slice(&out.stdout).unwrap()
        })
        .collect()
}

/// Runs 8 appending processes at once, then checks that every acknowledged append is
/// in the table exactly once.
fn concurrent_appends(server: &Server) {
    let setup = run_script(
        "rest_concurrency.py",
        &["setup".as_ref(), server.uri.as_ref()],
    );
    assert_eq!(setup["ok"], true, "{setup}");
    let mut acked: BTreeMap<String, bool> = BTreeMap::new();
    let mut conflicts = 0;
    for (w, report) in run_writers(server, "append").into_iter().enumerate() {
        for i in report["acked"].as_array().unwrap() {
            acked.insert(format!("{w}:{i}"), true);
        }
        for i in report["unknown"].as_array().unwrap() {
            acked.insert(format!("{w}:{i}"), false);
        }
        conflicts += report["conflicts_seen"].as_u64().unwrap();
    }
    let verify = run_script(
        "rest_concurrency.py",
        &["verify".as_ref(), server.uri.as_ref()],
    );
    let per_append = verify["rows_per_append"].as_u64().unwrap();
    let pairs = verify["pairs"].as_object().unwrap();
    let sure = acked.values().filter(|v| **v).count();
    assert_eq!(
        sure,
        WRITERS * APPENDS_PER_WRITER,
        "every append should be acknowledged (unknown: {:?})",
        acked.iter().filter(|(_, v)| !**v).collect::<Vec<_>>()
    );
    for (key, certain) in &acked {
        let rows = pairs.get(key).and_then(Value::as_u64).unwrap_or(0);
        if *certain {
            assert_eq!(
                rows, per_append,
                "acknowledged append {key} seen {rows} rows"
            );
        } else {
            assert!(rows == 0 || rows == per_append, "append {key}: {rows} rows");
        }
    }
    for key in pairs.keys() {
        assert!(
            acked.contains_key(key),
            "rows of an append nobody made: {key}"
        );
    }
    assert_totals(&verify, per_append * sure as u64, sure as u64);
    assert_eq!(
        verify["total_data_files"], verify["planned_files"],
        "{verify}"
    );
    eprintln!(
        "8 writers x {APPENDS_PER_WRITER} appends: {conflicts} conflicts retried by the scripts"
    );
}

/// What `rest_concurrency.py verify` reports agrees with `rows` rows in `snapshots`
/// snapshots: rows read, the snapshot summary's records and the records a scan plans.
fn assert_totals(verify: &Value, rows: u64, snapshots: u64) {
    assert_eq!(verify["total_rows"].as_u64().unwrap(), rows, "{verify}");
    assert_eq!(verify["total_records"].as_u64().unwrap(), rows, "{verify}");
    assert_eq!(
        verify["planned_records"].as_u64().unwrap(),
        rows,
        "{verify}"
    );
    assert_eq!(verify["snapshots"].as_u64().unwrap(), snapshots, "{verify}");
}

/// 8 processes append at once to a table whose PyIceberg commit retries are off, each
/// append tried once: none may fail (the server rebases them), every row is there
/// exactly once, the server rebased some and answered no 409. Then a stale overwrite
/// and a stale delete are still refused.
fn blind_appends(server: &Server) {
    let setup = run_script(
        "rest_concurrency.py",
        &["setup-blind".as_ref(), server.uri.as_ref()],
    );
    assert_eq!(setup["ok"], true, "{setup}");
    let mut acked = Vec::new();
    for (w, report) in run_writers(server, "append-once").into_iter().enumerate() {
        assert_eq!(
            report["failed"],
            serde_json::json!([]),
            "writer {w}: {report}"
        );
        assert_eq!(
            report["unknown"],
            serde_json::json!([]),
            "writer {w}: {report}"
        );
        for i in report["acked"].as_array().unwrap() {
            acked.push(format!("{w}:{i}"));
        }
    }
    assert_eq!(acked.len(), WRITERS * APPENDS_PER_WRITER);
    let verify = run_script(
        "rest_concurrency.py",
        &[
            "verify".as_ref(),
            server.uri.as_ref(),
            "blind.events".as_ref(),
        ],
    );
    let per_append = verify["rows_per_append"].as_u64().unwrap();
    let pairs = verify["pairs"].as_object().unwrap();
    assert_eq!(pairs.len(), acked.len(), "{verify}");
    for key in &acked {
        assert_eq!(
            pairs.get(key).and_then(Value::as_u64),
            Some(per_append),
            "append {key}: {verify}"
        );
    }
    assert_totals(&verify, per_append * acked.len() as u64, acked.len() as u64);
    let metrics = &verify["metrics"];
    assert_eq!(metrics["floe_commit_conflicts_total"], 0, "{verify}");
    let rebased = metrics["floe_commits_rebased_total"].as_u64().unwrap();
    assert!(rebased > 0, "no append raced another: {verify}");
    eprintln!(
        "8 writers x {APPENDS_PER_WRITER} appends, no client retries: {rebased} rebased by the server"
    );

    let conflict = run_script(
        "rest_concurrency.py",
        &["conflict".as_ref(), server.uri.as_ref()],
    );
    assert_eq!(conflict["overwrite_refused"], true, "{conflict}");
    assert_eq!(conflict["delete_refused"], true, "{conflict}");
}

#[test]
fn eight_pyiceberg_writers_without_retries_never_fail_on_sqlite() {
    // No maintenance: the checks count one snapshot per append.
    let server = Server::start(&["--no-maintenance"]);
    blind_appends(&server);
}

#[test]
fn eight_pyiceberg_writers_without_retries_never_fail_on_postgres() {
    let pg = PgSchema::new("floe_rest");
    let server = Server::start(&["--catalog", pg.url(), "--no-maintenance"]);
    blind_appends(&server);
    drop(server);
}

#[test]
fn eight_pyiceberg_writers_on_sqlite() {
    // No maintenance: the test counts one snapshot per acknowledged append.
    let server = Server::start(&["--no-maintenance"]);
    concurrent_appends(&server);
}

#[test]
fn eight_pyiceberg_writers_on_postgres() {
    let pg = PgSchema::new("floe_rest");
    // No maintenance: the test counts one snapshot per acknowledged append.
    let server = Server::start(&["--catalog", pg.url(), "--no-maintenance"]);
    concurrent_appends(&server);
    // The end-to-end scenario on PostgreSQL too.
    let out = run_script("rest_pyiceberg.py", &[server.uri.as_ref()]);
    assert_eq!(out["ok"], true, "{out}");
    drop(server);
}

#[test]
fn bad_requests_get_4xx_and_commit_nothing() {
    let server = Server::start(&[]);
    let out = run_script("rest_bad_requests.py", &[server.uri.as_ref()]);
    assert_eq!(out["ok"], true, "{out}");
    assert!(out["checked"].as_u64().unwrap() >= 18, "{out}");
}
