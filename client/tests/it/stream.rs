//! `Floe::stream_writer`: many concurrent writers on an embedded catalog, through a
//! running server with Floe's append intents (group commit, exactly-once per seq,
//! fencing), and through a server whose config does not offer them (standard
//! commits). Every acknowledged batch is visible exactly once.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use axum::Router;
use axum::body::Body;
use axum::response::Response;
use floe_catalog::Catalog;
use floe_client::Floe;
use floe_server::app::Settings;
use floe_table::stream::StreamWriterConfig;

use crate::common::Db;
use crate::server::TestServer;

const WRITERS: i64 = 6;
const BATCHES: i64 = 4;
const ROWS: i64 = 10;

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]))
}

/// Batch `b` of writer `w`: ids that no other batch has.
fn batch(w: i64, b: i64) -> RecordBatch {
    let lo = (w * BATCHES + b) * ROWS;
    RecordBatch::try_new(
        schema(),
        vec![Arc::new(Int64Array::from_iter_values(lo..lo + ROWS))],
    )
    .unwrap()
}

/// Every id of the table, in order (duplicates kept).
async fn all_ids(floe: &Floe) -> Vec<i64> {
    let table = floe.table("db.s").await.unwrap();
    let batches = table.scan().build().unwrap().to_arrow().await.unwrap();
    let mut ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let c = b
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .clone();
            (0..c.len()).map(move |i| c.value(i))
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// Runs `WRITERS` concurrent writers of `BATCHES` flushed batches each; checks every
/// acknowledged batch is in the table exactly once. Returns the distinct snapshots
/// the acks named.
async fn concurrent_writers(floe: &Floe, exactly_once: bool) -> BTreeSet<i64> {
    floe.create_namespace("db").await.unwrap();
    floe.create_table("db.s", &schema()).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let floe = floe.clone();
        tasks.push(tokio::spawn(async move {
            let mut writer = floe
                .stream_writer("db.s", &format!("writer-{w}"))
                .await
                .unwrap();
            assert_eq!(writer.exactly_once(), exactly_once);
            let mut acks = Vec::new();
            for b in 0..BATCHES {
                writer.write(&batch(w, b)).await.unwrap();
                let ack = writer.flush().await.unwrap().expect("a flush of a batch");
                assert!(!ack.duplicate);
                acks.push(ack.snapshot_id);
            }
            assert!(writer.flush().await.unwrap().is_none(), "nothing buffered");
            writer.close().await.unwrap();
            acks
        }));
    }
    let mut snapshots = BTreeSet::new();
    for t in tasks {
        snapshots.extend(t.await.unwrap());
    }
    let expected: Vec<i64> = (0..WRITERS * BATCHES * ROWS).collect();
    assert_eq!(all_ids(floe).await, expected, "each acked row exactly once");
    // Every acknowledged snapshot is in the table's history.
    let table = floe.table("db.s").await.unwrap();
    let known: BTreeSet<i64> = table.metadata().snapshots().keys().copied().collect();
    assert!(snapshots.is_subset(&known), "{snapshots:?} vs {known:?}");
    snapshots
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_stream_writers() {
    let dir = tempfile::tempdir().unwrap();
    let floe = Floe::connect(dir.path().to_str().unwrap()).await.unwrap();
    concurrent_writers(&floe, true).await;
    // Reopening a writer takes a newer epoch and resumes after its last seq.
    let catalog = floe.catalog().clone();
    let ident = floe_client::parse_table_name("db.s").unwrap();
    let before = catalog
        .writer_progress(&ident, "writer-0")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before.last_seq, BATCHES - 1);
    let w = floe.stream_writer("db.s", "writer-0").await.unwrap();
    assert!(w.epoch().unwrap() > before.epoch);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn remote_stream_writers_use_append_intents() {
    let server = TestServer::start(Db::Sqlite).await;
    let floe = Floe::connect(&server.uri).await.unwrap();
    concurrent_writers(&floe, true).await;
    // The server recorded each writer's progress; a reopened writer is fenced past.
    let rest = server.client().await;
    let ident = floe_client::parse_table_name("db.s").unwrap();
    let writers = rest.list_writers(&ident).await.unwrap();
    assert_eq!(writers.len(), WRITERS as usize);
    assert!(
        writers.iter().all(|w| w.last_seq == BATCHES - 1),
        "{writers:?}"
    );
    let old = floe.stream_writer("db.s", "writer-1").await.unwrap();
    let mut new = floe.stream_writer("db.s", "writer-1").await.unwrap();
    assert!(new.epoch().unwrap() > old.epoch().unwrap());
    let mut old = old;
    old.write(&batch(100, 0)).await.unwrap();
    let e = old.flush().await.unwrap_err();
    assert!(
        e.message().contains("writer-1") || e.message().contains("epoch"),
        "{e}"
    );
    new.write(&batch(101, 0)).await.unwrap();
    let ack = new.flush().await.unwrap().unwrap();
    assert!(!ack.duplicate);
    let ids = all_ids(&floe).await;
    assert_eq!(
        ids.len() as i64,
        (WRITERS * BATCHES + 1) * ROWS,
        "the fenced batch is absent"
    );
}

/// Removes Floe's stream endpoints from the config answer.
fn without_stream_endpoints(router: Router) -> Router {
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
            let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            v["endpoints"].as_array_mut().unwrap().retain(|e| {
                !e.as_str().unwrap().contains("/writers")
                    && !e.as_str().unwrap().contains("/appends")
            });
            Response::builder()
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&v).unwrap()))
                .unwrap()
        },
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn remote_stream_writers_fall_back_to_standard_commits() {
    let server =
        TestServer::start_with(Db::Sqlite, Settings::default(), without_stream_endpoints).await;
    let floe = Floe::connect(&server.uri).await.unwrap();
    let snapshots = concurrent_writers(&floe, false).await;
    // One standard commit per flush.
    assert_eq!(snapshots.len() as i64, WRITERS * BATCHES);
}

const PIPE_BATCHES: i64 = 12;

/// Batch `b` of pipelined writer `w`: ids `(w * PIPE_BATCHES + b) * ROWS ..`.
fn pipe_batch(w: i64, b: i64) -> RecordBatch {
    let lo = (w * PIPE_BATCHES + b) * ROWS;
    RecordBatch::try_new(
        schema(),
        vec![Arc::new(Int64Array::from_iter_values(lo..lo + ROWS))],
    )
    .unwrap()
}

/// What the fault middleware saw and did on `POST .../appends`.
#[derive(Default)]
struct AppendLog {
    /// Intents whose `after-seq` was `seq - 1`.
    chained: usize,
    /// Intents without `after-seq`.
    unchained: usize,
    /// 409 `PredecessorNotCommittedException` answers.
    gaps: usize,
    /// Answers replaced by a 503 (writer-0's seq 3, once).
    failed: usize,
}

/// Logs append intents, and answers writer-0's first seq-3 intent with a 503
/// without passing it on (an unknown outcome for the writer).
fn log_appends(log: Arc<std::sync::Mutex<AppendLog>>) -> impl FnOnce(Router) -> Router {
    move |router: Router| {
        router.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let log = Arc::clone(&log);
                async move {
                    if !req.uri().path().ends_with("/appends") {
                        return next.run(req).await;
                    }
                    let (parts, body) = req.into_parts();
                    let bytes = axum::body::to_bytes(body, 1 << 24).await.unwrap();
                    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    let seq = v["seq"].as_i64().unwrap();
                    {
                        let mut l = log.lock().unwrap();
                        match v.get("after-seq").and_then(serde_json::Value::as_i64) {
                            Some(a) if a == seq - 1 => l.chained += 1,
                            Some(_) => {}
                            None => l.unchained += 1,
                        }
                        if v["writer-id"] == "writer-0" && seq == 3 && l.failed == 0 {
                            l.failed += 1;
                            return Response::builder()
                                .status(503)
                                .body(Body::from("overloaded"))
                                .unwrap();
                        }
                    }
                    let req = axum::extract::Request::from_parts(parts, Body::from(bytes));
                    let answer = next.run(req).await;
                    if answer.status() == 409 {
                        let (parts, body) = answer.into_parts();
                        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                        if String::from_utf8_lossy(&bytes)
                            .contains("PredecessorNotCommittedException")
                        {
                            log.lock().unwrap().gaps += 1;
                        }
                        return Response::from_parts(parts, Body::from(bytes));
                    }
                    answer
                }
            },
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn remote_pipelined_writers_commit_in_seq_order_exactly_once() {
    let log = Arc::new(std::sync::Mutex::new(AppendLog::default()));
    let server = TestServer::start_with(
        Db::Sqlite,
        Settings::default(),
        log_appends(Arc::clone(&log)),
    )
    .await;
    let floe = Floe::connect(&server.uri).await.unwrap();
    floe.create_namespace("db").await.unwrap();
    floe.create_table("db.s", &schema()).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let floe = floe.clone();
        tasks.push(tokio::spawn(async move {
            let mut config = StreamWriterConfig::new(format!("writer-{w}"));
            config.max_rows = ROWS as usize;
            config.max_in_flight = 4;
            let mut writer = floe.stream_writer_with("db.s", config).await.unwrap();
            assert!(writer.exactly_once());
            let mut most_in_flight = 0;
            for b in 0..PIPE_BATCHES {
                // Each write reaches max_rows: one micro-batch sent, not awaited.
                writer.write(&pipe_batch(w, b)).await.unwrap();
                most_in_flight = most_in_flight.max(writer.in_flight());
            }
            let ack = writer.close().await.unwrap().expect("an acknowledgement");
            assert!(!ack.duplicate);
            most_in_flight
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap() > 1, "micro-batches were pipelined");
    }
    // Every acknowledged row exactly once.
    let expected: Vec<i64> = (0..WRITERS * PIPE_BATCHES * ROWS).collect();
    assert_eq!(all_ids(&floe).await, expected);
    // In seq order per writer: each micro-batch is one data file; the data sequence
    // numbers of a writer's files never go down as its seq goes up.
    let table = floe.table("db.s").await.unwrap();
    let scan = table.scan().build().unwrap();
    let reader = scan.reader().unwrap();
    let mut seqnum = std::collections::BTreeMap::new();
    for task in scan.plan_files().await.unwrap() {
        let n = task.data_sequence_number;
        let batches: Vec<RecordBatch> = futures::TryStreamExt::try_collect(reader.read(vec![task]))
            .await
            .unwrap();
        let ids: BTreeSet<i64> = batches
            .iter()
            .flat_map(|b| {
                let c = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                c.values().to_vec()
            })
            .map(|id| id / ROWS)
            .collect();
        assert_eq!(ids.len(), 1, "one micro-batch per file");
        let batch = *ids.first().unwrap();
        assert!(seqnum.insert(batch, n).is_none(), "batch {batch} twice");
    }
    for w in 0..WRITERS {
        let order: Vec<i64> = (0..PIPE_BATCHES)
            .map(|b| seqnum[&(w * PIPE_BATCHES + b)])
            .collect();
        assert!(
            order.windows(2).all(|p| p[0] <= p[1]),
            "writer-{w} committed out of seq order: {order:?}"
        );
    }
    let writers = server
        .client()
        .await
        .list_writers(table.ident())
        .await
        .unwrap();
    assert!(
        writers.iter().all(|w| w.last_seq == PIPE_BATCHES - 1),
        "{writers:?}"
    );
    let l = log.lock().unwrap();
    assert_eq!(l.failed, 1, "the fault was injected");
    assert_eq!(
        l.unchained, 0,
        "every pipelined intent names its predecessor"
    );
    // Each intent at least once, resent ones (the failed one, refused successors)
    // more.
    assert!(
        l.chained > (WRITERS * PIPE_BATCHES) as usize,
        "{} intents",
        l.chained
    );
    eprintln!(
        "pipelined: {} intents sent, {} refused behind an uncommitted predecessor",
        l.chained, l.gaps
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_is_refused_over_rest() {
    let server = TestServer::start(Db::Sqlite).await;
    let floe = Floe::connect(&server.uri).await.unwrap();
    floe.create_namespace("db").await.unwrap();
    let table = floe.create_table("db.s", &schema()).await.unwrap();
    let rest = server.client().await;
    let opened = rest.open_writer(table.ident(), "g").await.unwrap();
    let mut tx = table.new_transaction();
    let files = tx.write_batches(&[batch(0, 0)]).await.unwrap();
    drop(tx);
    let intent = |seq: i64, after_seq: Option<i64>| floe_table::stream::AppendIntent {
        table: table.ident().clone(),
        writer_id: "g".into(),
        epoch: opened.epoch,
        seq,
        watermark_ms: None,
        after_seq,
        data_files: files.clone(),
    };
    let refused = rest
        .submit_intent(table.metadata(), &intent(2, Some(1)))
        .await
        .unwrap_err();
    let floe_table::stream::Refusal::Gap(e) = refused else {
        panic!("not a gap: {refused:?}");
    };
    let m = e.to_string();
    assert!(m.contains("must follow micro-batch 1"), "{m}");
    assert!(
        m.contains("PredecessorNotCommittedException, HTTP 409"),
        "{m}"
    );
    assert!(m.contains("/v1/namespaces/db/tables/s/appends"), "{m}");
    assert!(all_ids(&floe).await.is_empty(), "nothing committed");
    // The plain call names it as a failed commit.
    let e = rest
        .append_intent(table.metadata(), &intent(2, Some(1)))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), floe_spec::ErrorKind::CommitFailed);
    // In order it commits.
    let ack = rest
        .submit_intent(table.metadata(), &intent(0, Some(-1)))
        .await
        .unwrap();
    assert!(!ack.duplicate);
    assert_eq!(all_ids(&floe).await.len() as i64, ROWS);
}
