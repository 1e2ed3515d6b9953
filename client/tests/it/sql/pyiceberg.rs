//! Interop with PyIceberg 0.12 (`FLOE_TEST_PYTHON`, the venv of `scripts/test`): SQL
//! reads a table PyIceberg wrote, and PyIceberg reads a table SQL wrote, row for row.
//! The scripts are the workspace's `tests/interop/` ones.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use floe_catalog::{Catalog, NamespaceIdent, SqlCatalog, TableIdent};
use floe_client::sql::FloeSession;
use serde_json::Value;

use super::common::*;

fn python() -> PathBuf {
    match std::env::var_os("FLOE_TEST_PYTHON") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => panic!(
            "FLOE_TEST_PYTHON is not set: run scripts/test, which creates the PyIceberg venv"
        ),
    }
}

fn run_script(script: &str, args: &[&str]) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/interop")
        .join(script);
    let out = Command::new(python())
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()));
    assert!(
        out.status.success(),
        "{script} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_reads_a_table_written_by_pyiceberg() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_script("pyiceberg_write.py", &[dir.path().to_str().unwrap()]);
    let expected: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("expected.json")).unwrap()).unwrap();
    let metadata = out["metadata_location"].as_str().unwrap();

    // A Floe catalog over the same warehouse, the PyIceberg table registered in it.
    let url = format!("sqlite://{}", dir.path().join("floe.db").display());
    let warehouse = dir.path().join("warehouse").display().to_string();
    let catalog = Arc::new(SqlCatalog::connect(&url, &warehouse).await.unwrap());
    let ns = NamespaceIdent::new(["interop"]).unwrap();
    catalog.create_namespace(&ns, HashMap::new()).await.unwrap();
    catalog
        .register_table(&TableIdent::new(ns, "events").unwrap(), metadata)
        .await
        .unwrap();
    let store = catalog.warehouse().store().clone();
    let session = FloeSession::new(catalog as Arc<dyn Catalog>, store)
        .await
        .unwrap();

    let rows = expected["final_rows"].as_array().unwrap();
    let q = |sql: String| {
        let session = session.clone();
        async move {
            session
                .query(&sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }
    };
    let got = q(
        "SELECT id, category, quantity, active, note, CAST(event_date AS VARCHAR) \
                 FROM interop.events ORDER BY id"
            .into(),
    )
    .await;
    let text = |v: &Value| match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    for (i, col) in ["id", "category", "quantity", "active", "note", "event_date"]
        .iter()
        .enumerate()
    {
        let want: Vec<String> = rows.iter().map(|r| text(&r[*col])).collect();
        assert_eq!(column_strings(&got, i), want, "column {col}");
    }

    // Filters pushed into the scan (partition and metrics pruning) agree with Python.
    let want = rows
        .iter()
        .filter(|r| r["category"] == "a" && r["id"].as_i64().unwrap() < 50)
        .count() as i64;
    let n = scalar_i64(
        &q("SELECT count(*) FROM interop.events WHERE category = 'a' AND id < 50".into()).await,
    );
    assert_eq!(n, want);
    let n = scalar_i64(&q("SELECT count(*) FROM interop.events$files".into()).await);
    assert!(n > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyiceberg_reads_a_table_written_by_sql() {
    pyiceberg_reads_sql_writes(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyiceberg_reads_merge_on_read_deletes_written_by_sql() {
    pyiceberg_reads_sql_writes(true).await;
}

async fn pyiceberg_reads_sql_writes(merge_on_read: bool) {
    let fx = Fixture::new().await;
    let data = rows(500);
    create_and_fill(&fx, "db.t", true, &data, 3).await;
    if merge_on_read {
        let mut tx = fx.table("db", "t").await.new_transaction();
        tx.set_properties([("write.delete.mode", "merge-on-read")]);
        tx.commit().await.unwrap();
    }
    fx.run("UPDATE db.t SET amount = amount * 2 WHERE region = 'us' AND id < 200")
        .await;
    fx.run("DELETE FROM db.t WHERE id % 9 = 0 AND region <> 'us'")
        .await;
    // Files that already have deletes (merge-on-read: a second position delete file
    // for the same data files).
    fx.run("DELETE FROM db.t WHERE id % 4 = 1").await;
    let delete_files = scalar_i64(
        &fx.run("SELECT count(*) FROM db.t$files WHERE content = 1")
            .await,
    );
    assert_eq!(
        delete_files > 0,
        merge_on_read,
        "{delete_files} delete files"
    );
    let sql_rows = to_rows(&fx.run("SELECT id, region, amount, day FROM db.t").await);

    let table = fx.table("db", "t").await;
    let location = table.metadata_location().unwrap();
    let path = location.strip_prefix("file://").unwrap_or(location);
    let doc = run_script("pyiceberg_read.py", &[path, "--scan"]);
    let mut py: Vec<Row> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Row {
            id: r["id"].as_i64().unwrap(),
            region: r["region"].as_str().unwrap().to_string(),
            amount: r["amount"].as_f64().unwrap(),
            day: r["day"].as_i64().unwrap() as i32,
        })
        .collect();
    py.sort_by_key(|r| r.id);
    assert_eq!(py, sql_rows);
    assert_eq!(doc["row_count"].as_u64().unwrap() as usize, sql_rows.len());
}
