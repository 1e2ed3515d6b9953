//! Server-side scan planning: scans through a running server's `POST .../plan` give
//! the same rows (and files) as client-side planning, on a partitioned table with
//! position and equality deletes, through the facade and through SQL; the server's
//! `floe_scan_plans_total` metric proves the endpoint answered. A server without the
//! endpoint, or answering it as not implemented, is planned client-side; a server
//! answering garbage or failing is a clear error. An asynchronous plan (`submitted`,
//! then polled, with `plan-tasks`) is read the same way: a middleware turns the real
//! server's answers into that shape.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use floe_client::Floe;
use floe_client::sql::FloeSession;
use floe_server::app::Settings;
use floe_spec::expr::{Expression, Reference};
use floe_spec::manifest::DataContentType;
use floe_spec::values::Datum;
use floe_table::scan::FileScanTask;
use floe_table::transaction::SnapshotUpdate;
use floe_table::writer::{EqualityDeleteWriter, LocationGenerator};
use serde_json::{Value, json};

use crate::common::Db;
use crate::server::TestServer;

const PARTS: [&str; 3] = ["a", "b", "c"];
const INSERTS: i64 = 4;
const ROWS_PER_PART: i64 = 25;

/// Ids deleted by position deletes (`DELETE ... WHERE id % 5 = 0`, merge-on-read).
fn position_deleted(id: i64) -> bool {
    id % 5 == 0
}

/// Ids deleted by the equality delete file of partition `a`.
const EQ_DELETED: [i64; 3] = [1, 2, 3];

/// Every live row `(id, part, v)`, computed independently of any scan.
fn expected_rows() -> BTreeSet<(i64, String, i64)> {
    let mut out = BTreeSet::new();
    for i in 0..INSERTS {
        for (p, part) in PARTS.iter().enumerate() {
            for k in 0..ROWS_PER_PART {
                let id = (i * PARTS.len() as i64 + p as i64) * ROWS_PER_PART + k;
                let dropped = position_deleted(id) || (*part == "a" && EQ_DELETED.contains(&id));
                if !dropped {
                    out.insert((id, (*part).to_owned(), id * 10));
                }
            }
        }
    }
    out
}

/// Creates `db.p` partitioned by `part` with `INSERTS` inserts (one file per
/// partition each), position deletes and an equality delete file.
async fn fill(floe: &Floe) {
    let session = local_session(floe).await;
    session
        .query("CREATE TABLE db.p (id BIGINT NOT NULL, part VARCHAR, v BIGINT) PARTITION BY (part)")
        .await
        .unwrap();
    for i in 0..INSERTS {
        let mut values = Vec::new();
        for (p, part) in PARTS.iter().enumerate() {
            for k in 0..ROWS_PER_PART {
                let id = (i * PARTS.len() as i64 + p as i64) * ROWS_PER_PART + k;
                values.push(format!("({id}, '{part}', {})", id * 10));
            }
        }
        session
            .query(&format!("INSERT INTO db.p VALUES {}", values.join(", ")))
            .await
            .unwrap();
    }
    let mut tx = floe.table("db.p").await.unwrap().new_transaction();
    tx.set_properties([("write.delete.mode", "merge-on-read")]);
    tx.commit().await.unwrap();
    session
        .query("DELETE FROM db.p WHERE id % 5 = 0")
        .await
        .unwrap();

    // Equality deletes on `id` in partition `a`.
    let table = floe.table("db.p").await.unwrap();
    let md = table.metadata();
    let id_field = md.current_schema().field_by_name("id").unwrap().id;
    let locations = Arc::new(
        LocationGenerator::for_table(table.store().clone(), md.location(), md.properties())
            .unwrap(),
    );
    let mut w = EqualityDeleteWriter::try_new(
        md.current_schema(),
        vec![id_field],
        md.properties(),
        locations,
        vec![Some(Datum::String("a".into()))],
        Some("part=a".into()),
    )
    .unwrap();
    let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(Int64Array::from(EQ_DELETED.to_vec()))],
    )
    .unwrap();
    w.write(&batch).await.unwrap();
    let files = w.close().await.unwrap();
    let mut tx = table.new_transaction();
    let mut update = SnapshotUpdate::row_delta();
    for f in files {
        update = update.add_delete_file(f);
    }
    tx.add(update);
    tx.commit().await.unwrap();
}

/// A SQL session over `floe`'s catalog that plans client-side.
async fn local_session(floe: &Floe) -> FloeSession {
    FloeSession::new(
        floe.catalog().clone(),
        floe.file_io().store("file:///").unwrap(),
    )
    .await
    .unwrap()
}

/// Each row of `batches` as text, sorted.
fn row_strings(batches: &[RecordBatch]) -> Vec<String> {
    let opts = FormatOptions::default().with_null("NULL");
    let mut out = Vec::new();
    for b in batches {
        let formatters: Vec<ArrayFormatter> = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts).unwrap())
            .collect();
        for r in 0..b.num_rows() {
            let cells: Vec<String> = formatters.iter().map(|f| f.value(r).to_string()).collect();
            out.push(cells.join("|"));
        }
    }
    out.sort();
    out
}

/// The files of a plan: each data file with its delete files, sorted.
fn plan_shape(tasks: &[FileScanTask]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = tasks
        .iter()
        .map(|t| {
            let mut deletes: Vec<String> = t.deletes.iter().map(|d| d.file_path.clone()).collect();
            deletes.sort();
            (t.data_file.file_path.clone(), deletes)
        })
        .collect();
    out.sort();
    out
}

/// The server's count of scan plans it answered (`GET /metrics`).
async fn plans_answered(uri: &str) -> u64 {
    let text = reqwest::get(format!("{uri}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("floe_scan_plans_total "))
        .unwrap_or_else(|| panic!("no floe_scan_plans_total in {text}"))
        .trim()
        .parse()
        .unwrap()
}

fn filters() -> Vec<Expression> {
    vec![
        Expression::True,
        Reference::new("part").equal_to(Datum::String("a".into())),
        Reference::new("id").less_than(Datum::Long(40)),
        Reference::new("part")
            .not_equal_to(Datum::String("b".into()))
            .and(Reference::new("v").greater_than_or_eq(Datum::Long(1500))),
        Expression::Not(Box::new(Reference::new("id").greater_than(Datum::Long(20)))),
        Reference::new("part").equal_to(Datum::String("zzz".into())),
    ]
}

/// Scans with every filter through `floe`'s planner and client-side; checks rows and
/// files are equal. Returns how many scans were made through `floe`'s planner.
async fn compare_with_client_side(floe: &Floe) -> u64 {
    let table = floe.table("db.p").await.unwrap();
    let total_files = table
        .scan()
        .build()
        .unwrap()
        .plan_files()
        .await
        .unwrap()
        .len();
    assert_eq!(total_files, INSERTS as usize * PARTS.len());
    let mut scans = 0;
    for f in filters() {
        for select in [None, Some(vec!["v", "id"])] {
            let mut local = table.scan().filter(f.clone());
            let mut remote = floe.scan_table(table.clone()).filter(f.clone());
            if let Some(cols) = &select {
                local = local.select(cols.clone());
                remote = remote.select(cols.clone());
            }
            let local = local.build().unwrap();
            let remote = remote.build().unwrap();
            let local_tasks = local.plan_files().await.unwrap();
            let remote_tasks = remote.plan_files().await.unwrap();
            assert_eq!(
                plan_shape(&remote_tasks),
                plan_shape(&local_tasks),
                "files of {f:?}"
            );
            let local_rows = row_strings(&local.to_arrow().await.unwrap());
            let remote_rows = row_strings(&remote.to_arrow().await.unwrap());
            assert_eq!(remote_rows, local_rows, "rows of {f:?} {select:?}");
            scans += 2;
        }
    }
    // The unfiltered scan equals the independently computed rows.
    let all = floe.scan("db.p").await.unwrap().build().unwrap();
    let rows = row_strings(&all.to_arrow().await.unwrap());
    let mut expected: Vec<String> = expected_rows()
        .into_iter()
        .map(|(id, part, v)| format!("{id}|{part}|{v}"))
        .collect();
    expected.sort();
    assert_eq!(rows, expected);
    // Pruning: one partition's files only; and deletes of both kinds travel.
    let a = floe
        .scan("db.p")
        .await
        .unwrap()
        .filter(Reference::new("part").equal_to(Datum::String("a".into())))
        .build()
        .unwrap();
    let tasks = a.plan_files().await.unwrap();
    assert_eq!(tasks.len(), INSERTS as usize);
    let kinds: BTreeSet<String> = tasks
        .iter()
        .flat_map(|t| t.deletes.iter().map(|d| format!("{:?}", d.content)))
        .collect();
    assert!(
        kinds.contains(&format!("{:?}", DataContentType::PositionDeletes))
            && kinds.contains(&format!("{:?}", DataContentType::EqualityDeletes)),
        "{kinds:?}"
    );
    scans + 2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_planning_equals_client_planning() {
    let server = TestServer::start(Db::Sqlite).await;
    let floe = Floe::connect(&server.uri).await.unwrap();
    assert!(floe.planner().server_side());
    floe.create_namespace("db").await.unwrap();
    fill(&floe).await;
    let before = plans_answered(&server.uri).await;
    let scans = compare_with_client_side(&floe).await;
    assert_eq!(
        plans_answered(&server.uri).await - before,
        scans,
        "every facade scan was planned by the server"
    );
}

/// A SQL query's rows, sorted.
async fn query(session: &FloeSession, sql: &str) -> Vec<String> {
    match session.query(sql).await {
        Ok(b) => row_strings(&b),
        Err(e) => panic!("{sql}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sql_scans_plan_on_the_server() {
    let server = TestServer::start(Db::Sqlite).await;
    let floe = Floe::connect(&server.uri).await.unwrap();
    floe.create_namespace("db").await.unwrap();
    fill(&floe).await;
    let remote = floe.sql().await.unwrap();
    assert!(remote.catalog().planner().server_side());
    let local = local_session(&floe).await;
    assert!(!local.catalog().planner().server_side());
    let queries = [
        "SELECT * FROM db.p",
        "SELECT id, v FROM db.p WHERE part = 'b'",
        "SELECT count(*), sum(v) FROM db.p WHERE id < 100",
        "SELECT part, count(*) FROM db.p WHERE v >= 500 AND part <> 'c' GROUP BY part",
        "SELECT id FROM db.p WHERE part = 'a' ORDER BY id LIMIT 5",
    ];
    let before = plans_answered(&server.uri).await;
    for q in queries {
        let server_rows = query(&remote, q).await;
        assert!(!server_rows.is_empty(), "{q}");
        assert_eq!(server_rows, query(&local, q).await, "{q}");
    }
    assert!(
        plans_answered(&server.uri).await - before >= queries.len() as u64,
        "each SQL scan was planned by the server"
    );
    // Time travel plans on the server too, in the snapshot's schema.
    let first = floe
        .table("db.p")
        .await
        .unwrap()
        .metadata()
        .snapshots()
        .values()
        .map(|s| (s.sequence_number, s.snapshot_id))
        .min()
        .unwrap()
        .1;
    let q = format!("SELECT count(*) FROM snapshot('db.p', {first})");
    let before = plans_answered(&server.uri).await;
    assert_eq!(query(&remote, &q).await, [format!("{}", ROWS_PER_PART * 3)]);
    assert!(plans_answered(&server.uri).await > before);
}

/// Rewrites the config answer without the scan-planning endpoints.
fn without_planning(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(
        |req: axum::extract::Request, next: axum::middleware::Next| async move {
            let config = req.uri().path() == "/v1/config";
            let answer = next.run(req).await;
            if !config {
                return answer;
            }
            let bytes = axum::body::to_bytes(answer.into_body(), 1 << 20)
                .await
                .unwrap();
            let mut v: Value = serde_json::from_slice(&bytes).unwrap();
            v["endpoints"].as_array_mut().unwrap().retain(|e| {
                let e = e.as_str().unwrap();
                !e.contains("/plan") && !e.ends_with("/tasks")
            });
            json_answer(StatusCode::OK, &v)
        },
    ))
}

fn json_answer(status: StatusCode, v: &Value) -> Response {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(v).unwrap()))
        .unwrap()
}

fn is_plan(req: &axum::extract::Request) -> bool {
    req.method() == Method::POST && req.uri().path().ends_with("/plan")
}

/// Answers `POST .../plan` with `status` and `body`, counting the calls.
fn plan_answers(
    status: StatusCode,
    body: &'static str,
    calls: Arc<AtomicUsize>,
) -> impl FnOnce(Router) -> Router {
    move |router: Router| {
        router.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let calls = Arc::clone(&calls);
                async move {
                    if !is_plan(&req) {
                        return next.run(req).await;
                    }
                    calls.fetch_add(1, Ordering::SeqCst);
                    Response::builder()
                        .status(status)
                        .header("content-type", "application/json")
                        .body(Body::from(body))
                        .unwrap()
                }
            },
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn servers_without_planning_fall_back_to_client_side() {
    // Not advertised: never asked.
    let server = TestServer::start_with(Db::Sqlite, Settings::default(), without_planning).await;
    let floe = Floe::connect(&server.uri).await.unwrap();
    assert!(!floe.planner().server_side());
    floe.create_namespace("db").await.unwrap();
    fill(&floe).await;
    let before = plans_answered(&server.uri).await;
    compare_with_client_side(&floe).await;
    assert_eq!(plans_answered(&server.uri).await, before);

    // Advertised, but answered as not implemented (501, then 404 without a table
    // error): planned client-side, and not asked again.
    for (status, body) in [
        (
            StatusCode::NOT_IMPLEMENTED,
            r#"{"error":{"message":"no planning here","type":"NotImplementedException","code":501}}"#,
        ),
        (StatusCode::NOT_FOUND, ""),
    ] {
        let calls = Arc::new(AtomicUsize::new(0));
        let server = TestServer::start_with(
            Db::Sqlite,
            Settings::default(),
            plan_answers(status, body, Arc::clone(&calls)),
        )
        .await;
        let floe = Floe::connect(&server.uri).await.unwrap();
        assert!(floe.planner().server_side());
        floe.create_namespace("db").await.unwrap();
        fill(&floe).await;
        compare_with_client_side(&floe).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{status}: asked once");
        assert!(!floe.planner().server_side());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_planning_answers_are_clear_errors() {
    let cases: [(StatusCode, &'static str, &str); 5] = [
        (
            StatusCode::OK,
            "<html>not a plan</html>",
            "not a valid scan plan",
        ),
        (StatusCode::OK, r#"{"status":"finished"}"#, "finished"),
        (
            StatusCode::OK,
            r#"{"status":"completed","file-scan-tasks":[{"data-file":{"spec-id":0,"content":"data","file-path":"x"}}]}"#,
            "file-scan-tasks[0].data-file",
        ),
        (
            StatusCode::OK,
            r#"{"status":"failed","error":{"message":"planner exploded","type":"ServiceFailureException","code":500}}"#,
            "planner exploded",
        ),
        (StatusCode::INTERNAL_SERVER_ERROR, "oops", "HTTP 500"),
    ];
    for (status, body, needle) in cases {
        let calls = Arc::new(AtomicUsize::new(0));
        let server = TestServer::start_with(
            Db::Sqlite,
            Settings::default(),
            plan_answers(status, body, Arc::clone(&calls)),
        )
        .await;
        let floe = Floe::connect(&server.uri).await.unwrap();
        floe.create_namespace("db").await.unwrap();
        fill(&floe).await;
        let scan = floe.scan("db.p").await.unwrap().build().unwrap();
        let e = scan.to_arrow().await.unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(needle), "{needle}: {msg}");
        assert!(msg.contains("/v1/namespaces/db/tables/p/plan"), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
        // Not a silent fallback: still server-side, the next scan fails the same.
        assert!(floe.planner().server_side());
        assert!(scan.to_arrow().await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // SQL names the problem too.
        let session = floe.sql().await.unwrap();
        let e = session.query("SELECT * FROM db.p").await.unwrap_err();
        assert!(e.to_string().contains(needle), "{e}");
    }
}

/// State of the asynchronous-planning middleware.
#[derive(Default)]
struct AsyncPlans {
    /// The real completed answer, held until polled.
    held: Option<Value>,
    polls: usize,
    /// The tasks behind plan task `pt-1`.
    rest: Option<Value>,
    fetched: usize,
}

/// Turns the server's synchronous plans into asynchronous ones: `POST .../plan`
/// answers `submitted`; the first poll `submitted` again; the second the real
/// answer with its second half of tasks behind plan task `pt-1`, served by
/// `POST .../tasks`.
fn asynchronous(state: Arc<Mutex<AsyncPlans>>) -> impl FnOnce(Router) -> Router {
    move |router: Router| {
        router.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let state = Arc::clone(&state);
                async move {
                    let path = req.uri().path().to_owned();
                    if is_plan(&req) {
                        let answer = next.run(req).await;
                        let bytes = axum::body::to_bytes(answer.into_body(), 1 << 24)
                            .await
                            .unwrap();
                        let v: Value = serde_json::from_slice(&bytes).unwrap();
                        state.lock().unwrap().held = Some(v);
                        return json_answer(
                            StatusCode::OK,
                            &json!({"status": "submitted", "plan-id": "p-1"}),
                        );
                    }
                    if req.method() == Method::GET && path.ends_with("/plan/p-1") {
                        let mut s = state.lock().unwrap();
                        s.polls += 1;
                        if s.polls == 1 {
                            return json_answer(StatusCode::OK, &json!({"status": "submitted"}));
                        }
                        let mut v = s.held.take().unwrap();
                        let tasks = v["file-scan-tasks"].as_array_mut().unwrap();
                        let later = tasks.split_off(tasks.len() / 2);
                        s.rest = Some(json!({
                            "file-scan-tasks": later,
                            "delete-files": v["delete-files"].clone(),
                        }));
                        v["plan-tasks"] = json!(["pt-1"]);
                        return json_answer(StatusCode::OK, &v);
                    }
                    if req.method() == Method::POST && path.ends_with("/tasks") {
                        let bytes = axum::body::to_bytes(req.into_body(), 1 << 20)
                            .await
                            .unwrap();
                        let body: Value = serde_json::from_slice(&bytes).unwrap();
                        assert_eq!(body, json!({"plan-task": "pt-1"}));
                        let mut s = state.lock().unwrap();
                        s.fetched += 1;
                        return json_answer(StatusCode::OK, &s.rest.take().unwrap());
                    }
                    next.run(req).await
                }
            },
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn asynchronous_plans_are_polled_and_plan_tasks_fetched() {
    let state = Arc::new(Mutex::new(AsyncPlans::default()));
    let server = TestServer::start_with(
        Db::Sqlite,
        Settings::default(),
        asynchronous(Arc::clone(&state)),
    )
    .await;
    let floe = Floe::connect(&server.uri).await.unwrap();
    floe.create_namespace("db").await.unwrap();
    fill(&floe).await;
    let table = floe.table("db.p").await.unwrap();
    let filter = Reference::new("part").not_equal_to(Datum::String("c".into()));
    let remote = floe
        .scan_table(table.clone())
        .filter(filter.clone())
        .build()
        .unwrap();
    let rows = row_strings(&remote.to_arrow().await.unwrap());
    let local = table.scan().filter(filter).build().unwrap();
    assert_eq!(rows, row_strings(&local.to_arrow().await.unwrap()));
    let s = state.lock().unwrap();
    assert_eq!((s.polls, s.fetched), (2, 1));
}
