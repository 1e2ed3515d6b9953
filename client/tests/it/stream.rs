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
