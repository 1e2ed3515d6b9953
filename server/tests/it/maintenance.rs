//! Maintenance: the REST endpoints (request, list, get; 400s for unknown actions and
//! options), workers running a requested compaction, and the scheduler bringing a
//! streamed table (500 one-row appends) to few files and manifests with no manual call,
//! PyIceberg reading the same rows before and after (`FLOE_TEST_PYTHON`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{Int64Array, RecordBatch, StringArray};
use axum::http::StatusCode;
use floe_catalog::sql::tasks::{QueueConfig, TaskFilter};
use floe_catalog::{Catalog, NamespaceIdent, SqlCatalog, TableCreation, TableIdent};
use floe_server::maintenance::run::action_runner;
use floe_server::maintenance::scheduler::{Scheduler, SchedulerSettings};
use floe_server::maintenance::worker::{WorkerSettings, spawn_workers};
use floe_server::maintenance::{Action, Maintenance};
use floe_spec::schema::Schema;
use floe_spec::types::{NestedField, PrimitiveType, Type};
use floe_table::Table;
use floe_table::arrow_schema::schema_to_arrow;
use serde_json::{Value, json};

use crate::common::TestServer;

fn schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
            NestedField::optional(2, "data", Type::Primitive(PrimitiveType::String)),
        ])
        .build()
        .unwrap()
}

async fn create(catalog: &Arc<SqlCatalog>, name: &str, props: &[(&str, &str)]) -> Table {
    let ns = NamespaceIdent::new(["db"]).unwrap();
    if !catalog.namespace_exists(&ns).await.unwrap() {
        catalog.create_namespace(&ns, HashMap::new()).await.unwrap();
    }
    let mut creation = TableCreation::new(name, schema());
    creation.properties = props
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    catalog.create_table(&ns, creation).await.unwrap();
    load(catalog, name).await
}

async fn load(catalog: &Arc<SqlCatalog>, name: &str) -> Table {
    let ident = TableIdent::new(NamespaceIdent::new(["db"]).unwrap(), name).unwrap();
    let store = Arc::clone(catalog.warehouse().store());
    Table::load(catalog.clone(), &ident, store).await.unwrap()
}

fn batch(table: &Table, ids: std::ops::Range<i64>) -> RecordBatch {
    let arrow = Arc::new(schema_to_arrow(table.schema()).unwrap());
    let data: Vec<String> = ids.clone().map(|i| format!("row-{i}")).collect();
    RecordBatch::try_new(
        arrow,
        vec![
            Arc::new(Int64Array::from_iter_values(ids)),
            Arc::new(StringArray::from(data)),
        ],
    )
    .unwrap()
}

/// Every row of the current snapshot, sorted.
async fn rows(table: &Table) -> Vec<(i64, String)> {
    let mut out = Vec::new();
    for b in table.scan().build().unwrap().to_arrow().await.unwrap() {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let data = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..b.num_rows() {
            out.push((ids.value(i), data.value(i).to_owned()));
        }
    }
    out.sort();
    out
}

async fn counts(table: &Table) -> (usize, usize) {
    (
        table.live_entries(None).await.unwrap().len(),
        table.manifests(None).await.unwrap().len(),
    )
}

const URI: &str = "/v1/namespaces/db/tables/t/maintenance";

#[tokio::test]
async fn requests_are_queued_listed_and_refused_when_bad() {
    let server = TestServer::new().await;
    create(&server.catalog, "t", &[]).await;

    let a = server
        .post(
            URI,
            json!({"action": "compact", "target-file-size-bytes": 1024}),
        )
        .await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{}", a.text);
    let id = a.body["task-id"].as_i64().unwrap();
    assert_eq!(a.body["deduplicated"], false);
    let again = server.post(URI, json!({"action": "compact"})).await;
    assert_eq!(again.status, StatusCode::ACCEPTED);
    assert_eq!(again.body["task-id"].as_i64(), Some(id));
    assert_eq!(again.body["deduplicated"], true);
    let dry = server
        .post(
            "/v1/some-prefix/namespaces/db/tables/t/maintenance",
            json!({"action": "expire-snapshots", "retain-last": 3, "dry-run": true}),
        )
        .await;
    assert_eq!(dry.status, StatusCode::ACCEPTED, "{}", dry.text);
    let dry_id = dry.body["task-id"].as_i64().unwrap();

    let task = server.get(&format!("/v1/maintenance/tasks/{id}")).await;
    assert_eq!(task.status, StatusCode::OK, "{}", task.text);
    assert_eq!(task.body["status"], "queued");
    assert_eq!(task.body["action"], "compact");
    assert_eq!(
        task.body["table"],
        json!({"namespace": ["db"], "name": "t"})
    );
    assert_eq!(
        task.body["options"],
        json!({"target-file-size-bytes": 1024})
    );
    assert_eq!(task.body["dry-run"], false);
    assert_eq!(task.body["priority"], 100, "requests are urgent");
    let task = server
        .get(&format!("/v1/x/maintenance/tasks/{dry_id}"))
        .await;
    assert_eq!(task.body["dry-run"], true);
    assert_eq!(task.body["options"], json!({"retain-last": 3}));

    let list = server.get("/v1/maintenance/tasks").await;
    assert_eq!(list.status, StatusCode::OK);
    let ids: Vec<i64> = list.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task-id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![dry_id, id], "newest first");
    let compacts = server
        .get("/v1/maintenance/tasks?action=compact&status=queued&namespace=db&table=t&limit=5")
        .await;
    assert_eq!(compacts.body["tasks"].as_array().unwrap().len(), 1);
    let other = server
        .get("/v1/maintenance/tasks?namespace=db&table=other")
        .await;
    assert_eq!(other.body["tasks"], json!([]));

    // Errors: bad request bodies (and what the message names)...
    let bad_bodies: [(Value, &[&str]); 6] = [
        (json!({"action": "vacuum"}), &["vacuum", "compact"]),
        (
            json!({"action": "compact", "target-size": 5}),
            &["target-size"],
        ),
        (
            json!({"action": "compact", "min-input-files": "two"}),
            &["min-input-files"],
        ),
        (json!({"target-file-size-bytes": 5}), &["action"]),
        (json!({"action": "compact", "dry-run": "yes"}), &[]),
        (json!(["compact"]), &[]),
    ];
    for (body, named) in bad_bodies {
        let m = server
            .post(URI, body.clone())
            .await
            .assert_error(400, "BadRequestException");
        for n in named {
            assert!(m.contains(n), "{body}: {m}");
        }
    }
    server
        .raw(axum::http::Method::POST, URI, "{not json")
        .await
        .assert_error(400, "BadRequestException");
    server
        .post(
            "/v1/namespaces/db/tables/missing/maintenance",
            json!({"action": "compact"}),
        )
        .await
        .assert_error(404, "NoSuchTableException");
    // ... and bad task look-ups.
    for (uri, status, error_type) in [
        ("/v1/maintenance/tasks/999999", 404, "NotFoundException"),
        ("/v1/maintenance/tasks/abc", 400, "BadRequestException"),
        (
            "/v1/maintenance/tasks?status=sleeping",
            400,
            "BadRequestException",
        ),
        ("/v1/maintenance/tasks?table=t", 400, "BadRequestException"),
        (
            "/v1/maintenance/tasks?color=red",
            400,
            "BadRequestException",
        ),
    ] {
        let answer = server.get(uri).await;
        assert_eq!(answer.status.as_u16(), status, "GET {uri}: {}", answer.text);
        answer.assert_error(status, error_type);
    }

    // Advertised and counted.
    let config = server.get("/v1/config").await;
    let endpoints = config.body["endpoints"].as_array().unwrap();
    for e in [
        "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/maintenance",
        "GET /v1/{prefix}/maintenance/tasks",
        "GET /v1/{prefix}/maintenance/tasks/{id}",
    ] {
        assert!(endpoints.contains(&Value::from(e)), "{e} not advertised");
    }
    let metrics = server.get("/metrics").await.text;
    assert!(
        metrics.contains(
            r#"floe_maintenance_tasks_enqueued_total{action="compact",source="request"} 1"#
        ),
        "{metrics}"
    );
}

/// A requested compaction (and a dry run before it) run by in-process workers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_run_requested_compaction() {
    let server = TestServer::new().await;
    let mut table = create(&server.catalog, "t", &[]).await;
    for i in 0..8 {
        table = table
            .append(vec![batch(&table, i * 10..i * 10 + 10)])
            .await
            .unwrap();
    }
    let before = rows(&table).await;
    assert_eq!(counts(&table).await.0, 8);

    let maintenance = server.state.maintenance().unwrap().clone();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = WorkerSettings {
        workers: 2,
        poll_interval: Duration::from_millis(50),
        id_prefix: "test".into(),
    };
    let handles =
        floe_server::maintenance::start(&server.catalog, &maintenance, None, &workers, &stopped);

    let dry = server
        .post(URI, json!({"action": "compact", "dry-run": true}))
        .await;
    let dry = wait(&server, dry.body["task-id"].as_i64().unwrap()).await;
    assert_eq!(dry["result"]["dry-run"], true, "{dry}");
    assert_eq!(
        counts(&load(&server.catalog, "t").await).await.0,
        8,
        "dry run changes nothing"
    );

    let a = server.post(URI, json!({"action": "compact"})).await;
    let done = wait(&server, a.body["task-id"].as_i64().unwrap()).await;
    assert_eq!(done["attempts"], 1);
    assert_eq!(done["result"]["rewritten-data-files"], 8, "{done}");
    let after = load(&server.catalog, "t").await;
    assert_eq!(counts(&after).await.0, 1);
    assert_eq!(rows(&after).await, before);

    let metrics = server.get("/metrics").await.text;
    assert!(
        metrics.contains(
            r#"floe_maintenance_tasks_finished_total{action="compact",outcome="succeeded"} 2"#
        ),
        "{metrics}"
    );
    let _ = stop.send(true);
    for h in handles {
        h.await.unwrap();
    }
}

async fn wait(server: &TestServer, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_mins(2);
    loop {
        let t = server
            .get(&format!("/v1/maintenance/tasks/{id}"))
            .await
            .body;
        match t["status"].as_str() {
            Some("succeeded") => return t,
            Some("failed") => panic!("task {id} failed: {t}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "task {id} did not finish: {t}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const APPENDS: i64 = 500;
/// Appends made while the workers run (the rest are made with the workers stopped, so
/// that PyIceberg can read the table as the stream left it, before compaction).
const APPENDS_WITH_WORKERS: i64 = 250;

/// `FLOE_TEST_PYTHON` (set by `scripts/test`): the PyIceberg venv's interpreter. Missing,
/// the test fails (never skips).
fn python() -> std::path::PathBuf {
    match std::env::var_os("FLOE_TEST_PYTHON").filter(|p| !p.is_empty()) {
        Some(p) => p.into(),
        None => panic!(
            "FLOE_TEST_PYTHON is not set: run scripts/test, which creates the PyIceberg venv"
        ),
    }
}

/// What PyIceberg 0.12 reads from the metadata file of `table`
/// (`tests/interop/pyiceberg_read.py --scan`): every row, sorted, and the number of
/// data files its scan planning finds.
async fn pyiceberg_rows(table: &Table) -> (Vec<(i64, String)>, usize) {
    let location = table
        .metadata_location()
        .expect("a loaded table has a metadata location")
        .to_owned();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/pyiceberg_read.py");
    let (python, loc) = (python(), location.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(&script)
            .arg(&loc)
            .arg("--scan")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()))
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "pyiceberg_read.py {location} --scan failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "pyiceberg_read.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut rows: Vec<(i64, String)> = doc["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in PyIceberg's answer: {:.2000}", doc.to_string()))
        .iter()
        .map(|r| {
            (
                r["id"].as_i64().unwrap_or_else(|| panic!("row {r}")),
                r["data"]
                    .as_str()
                    .unwrap_or_else(|| panic!("row {r}"))
                    .to_owned(),
            )
        })
        .collect();
    rows.sort();
    (rows, doc["plan_files"].as_array().map_or(0, Vec::len))
}

/// Appends one row per id in `ids` to `table`, one commit each, retrying a commit that
/// lost to a maintenance commit after a refresh.
async fn stream(mut table: Table, ids: std::ops::Range<i64>) -> Table {
    for i in ids {
        table = loop {
            // Maintenance commits race with the stream; the table API retries, and a
            // commit that still loses is retried here after a refresh.
            match table.append(vec![batch(&table, i..i + 1)]).await {
                Ok(t) => break t,
                Err(e) if e.kind() == floe_catalog::ErrorKind::CommitFailed => {
                    table.refresh().await.unwrap();
                }
                Err(e) => panic!("append {i} failed: {e}"),
            }
        };
    }
    table
}

/// 500 one-row appends through the table API with the scheduler running in-process:
/// with no manual call, the table ends with fewer than 10 data files and fewer than 5
/// manifests, and PyIceberg reads the same rows before and after.
///
/// The workers run during the first 250 appends (maintenance commits race with the
/// stream) and are then stopped, the scheduler still running; after the last append
/// PyIceberg reads the table as the stream left it (at least 250 small files), the
/// workers start again, and once the table is compacted PyIceberg reads it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_compacts_a_streamed_table_by_itself() {
    let server = TestServer::new().await;
    let catalog = &server.catalog;
    // Stream-like policy: the defaults, with a short snapshot history.
    let table = create(
        catalog,
        "t",
        &[("floe.maintenance.expire-snapshots.max-snapshots", "50")],
    )
    .await;
    // An opted-out table is left alone.
    let mut off = create(catalog, "off", &[("floe.maintenance.enabled", "false")]).await;

    let maintenance = Maintenance::new(
        (**catalog).clone(),
        QueueConfig {
            lease: Duration::from_secs(30),
            backoff_base: Duration::from_millis(100),
            ..QueueConfig::default()
        },
    );
    let (stop_scheduler, scheduler_stopped) = tokio::sync::watch::channel(false);
    let scheduler = Scheduler::new(
        Arc::clone(catalog),
        maintenance.clone(),
        SchedulerSettings {
            sweep_interval: Duration::from_secs(2),
            debounce: Duration::from_millis(200),
        },
    )
    .spawn(scheduler_stopped);
    let runner = action_runner(Arc::clone(catalog));
    let workers = |prefix: &str| {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let settings = WorkerSettings {
            workers: 2,
            poll_interval: Duration::from_millis(50),
            id_prefix: prefix.into(),
        };
        (
            stop,
            spawn_workers(&maintenance, &runner, &settings, &stopped),
        )
    };

    // The stream, the first half with the workers running.
    let (stop, handles) = workers("e2e-a");
    let table = stream(table, 0..APPENDS_WITH_WORKERS).await;
    let _ = stop.send(true);
    for h in handles {
        h.await.unwrap();
    }
    let table = stream(table, APPENDS_WITH_WORKERS..APPENDS).await;
    for i in 0..20 {
        off = off.append(vec![batch(&off, i..i + 1)]).await.unwrap();
    }
    let expected: Vec<(i64, String)> = (0..APPENDS).map(|i| (i, format!("row-{i}"))).collect();

    // Before: the table as the stream left it, read by PyIceberg.
    let (files_before, manifests_before) = counts(&table).await;
    assert!(
        files_before >= usize::try_from(APPENDS - APPENDS_WITH_WORKERS).unwrap(),
        "the second half of the stream ran without workers: {files_before} data files"
    );
    let (py_before, py_files_before) = pyiceberg_rows(&table).await;
    assert_eq!(
        py_files_before, files_before,
        "PyIceberg plans every data file"
    );
    assert!(
        py_before == expected,
        "PyIceberg before compaction: {} rows, expected {APPENDS}",
        py_before.len()
    );

    // The workers again: the queued work (and what the scheduler finds) runs.
    let (stop, handles) = workers("e2e-b");
    let started = Instant::now();
    let deadline = started + Duration::from_mins(3);
    let (files, manifests) = loop {
        let t = load(catalog, "t").await;
        let (files, manifests) = counts(&t).await;
        if files < 10 && manifests < 5 {
            break (files, manifests);
        }
        if Instant::now() >= deadline {
            let tasks = maintenance
                .queue()
                .list(&TaskFilter::default())
                .await
                .unwrap();
            let summary: Vec<String> = tasks
                .iter()
                .map(|t| format!("{} {} {} {:?}", t.task_id, t.action, t.status, t.error))
                .collect();
            panic!(
                "after {:?}: {files} data files, {manifests} manifests; tasks: {summary:#?}",
                started.elapsed()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    eprintln!(
        "scheduler: {files_before} data files in {manifests_before} manifests became {files} \
         in {manifests} {:?} after the workers started",
        started.elapsed()
    );
    let t = load(catalog, "t").await;
    let got = rows(&t).await;
    if got != expected {
        let missing: Vec<i64> = (0..APPENDS)
            .filter(|i| !got.iter().any(|(id, _)| id == i))
            .collect();
        panic!(
            "rows differ: {} rows, expected {APPENDS}; missing ids {missing:?}",
            got.len()
        );
    }
    // After: PyIceberg reads the compacted table, the same rows.
    let (py_after, py_files_after) = pyiceberg_rows(&t).await;
    assert_eq!(py_files_after, files, "PyIceberg plans every data file");
    assert!(
        py_after == py_before,
        "PyIceberg after compaction: {} rows, before {}",
        py_after.len(),
        py_before.len()
    );
    // The worker records the task's outcome after its commit, which the loop above may
    // have seen first: wait for the record.
    let recorded = Instant::now() + Duration::from_mins(1);
    while maintenance.metrics().finished(Action::Compact, "succeeded") < 1 {
        assert!(
            Instant::now() < recorded,
            "no compaction recorded as succeeded: {}",
            maintenance.metrics().render()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let _ = stop.send(true);
    let _ = stop_scheduler.send(true);
    for h in handles.into_iter().chain([scheduler]) {
        h.await.unwrap();
    }
    let off = load(catalog, "off").await;
    assert_eq!(counts(&off).await.0, 20, "maintenance off: untouched");
    let tasks = maintenance
        .queue()
        .list(&TaskFilter::default())
        .await
        .unwrap();
    assert!(
        tasks.iter().all(|t| t.table.name != "off"),
        "no task for the opted-out table"
    );
}

/// `floe maintenance`'s client over a real socket: request, follow, read the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_client_requests_and_follows_a_task() {
    use floe_server::maintenance::client::MaintenanceClient;

    let server = TestServer::new().await;
    let mut table = create(&server.catalog, "t", &[]).await;
    for i in 0..6 {
        table = table.append(vec![batch(&table, i..i + 1)]).await.unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = server.app.clone();
    let http = tokio::spawn(async move { axum::serve(listener, app).await });
    let maintenance = server.state.maintenance().unwrap().clone();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers = WorkerSettings {
        workers: 1,
        poll_interval: Duration::from_millis(50),
        id_prefix: "cli".into(),
    };
    let handles =
        floe_server::maintenance::start(&server.catalog, &maintenance, None, &workers, &stopped);

    let client = MaintenanceClient::new(&format!("http://{addr}"), None).unwrap();
    let id = client
        .request("db.t", "rewrite-manifests", serde_json::Map::new(), false)
        .await
        .unwrap();
    let mut polls = 0;
    let task = client
        .wait(id, Duration::from_millis(50), |_| polls += 1)
        .await
        .unwrap();
    assert!(polls >= 1);
    assert_eq!(task["status"], "succeeded");
    assert_eq!(task["action"], "rewrite-manifests");
    assert!(task["result"].is_object(), "{task}");
    assert_eq!(counts(&load(&server.catalog, "t").await).await.1, 1);
    let listed = client.list(10).await.unwrap();
    assert_eq!(listed["tasks"][0]["task-id"], id);
    // Errors come back with the server's message.
    let e = client
        .request("db.t", "vacuum", serde_json::Map::new(), false)
        .await
        .unwrap_err();
    assert!(e.contains("400") && e.contains("vacuum"), "{e}");
    let e = client
        .request("db.missing", "compact", serde_json::Map::new(), true)
        .await
        .unwrap_err();
    assert!(e.contains("404"), "{e}");

    let _ = stop.send(true);
    for h in handles {
        h.await.unwrap();
    }
    http.abort();
}
