//! Floe's stream extensions: group-committed appends (`POST .../appends`), the writer
//! listing (`GET .../writers`) and opening a writer (`POST .../writers/{writer-id}`):
//! concurrent writers, duplicates, fencing, watermarks, and bad bodies.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
use axum::http::StatusCode;
use floe_server::app::Settings;
use floe_spec::table_metadata::TableMetadata;
use floe_table::stream::GroupCommitConfig;
use floe_table::writer::{LocationGenerator, PartitionedWriter, WriterContext};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use serde_json::{Value, json};

use crate::common::TestServer;

const TABLE: &str = "/v1/namespaces/db/tables/t";

async fn server() -> TestServer {
    let server = TestServer::with_settings(Settings {
        group_commit: GroupCommitConfig {
            window: Duration::from_millis(20),
            ..GroupCommitConfig::default()
        },
        ..Settings::default()
    })
    .await;
    server.create_namespace(&["db"]).await;
    server.create_table("db", "t").await;
    server
}

async fn metadata(server: &TestServer) -> TableMetadata {
    let a = server.get(TABLE).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    TableMetadata::from_json_value(a.body["metadata"].clone()).unwrap()
}

/// Writes rows `ids` as data files of the table; returns their REST JSON.
async fn data_files(server: &TestServer, ids: std::ops::Range<i64>) -> Vec<Value> {
    let md = metadata(server).await;
    let schema = md.current_schema();
    let spec = md.default_partition_spec();
    let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new());
    let properties = HashMap::new();
    let context = Arc::new(WriterContext::for_data(schema, &properties, None).unwrap());
    let locations =
        Arc::new(LocationGenerator::for_table(store, md.location(), &properties).unwrap());
    let mut writer = PartitionedWriter::try_new(context, schema, spec, locations).unwrap();
    let ids: Vec<i64> = ids.collect();
    let batch = RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("data", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from(ids.clone())),
            Arc::new(StringArray::from(
                ids.iter().map(|i| format!("row-{i}")).collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    writer.write(&batch).await.unwrap();
    let ptype = spec.partition_type(schema).unwrap();
    writer
        .close()
        .await
        .unwrap()
        .iter()
        .map(|f| f.to_rest_json(spec.spec_id, &ptype))
        .collect()
}

fn body(writer: &str, epoch: i64, seq: i64, watermark: Option<i64>, files: &[Value]) -> Value {
    let mut b = json!({"writer-id": writer, "epoch": epoch, "seq": seq, "data-files": files});
    if let Some(w) = watermark {
        b["watermark-ms"] = json!(w);
    }
    b
}

/// Total records of the current snapshot.
async fn total_records(server: &TestServer) -> i64 {
    let md = metadata(server).await;
    md.current_snapshot().map_or(0, |s| {
        s.summary.additional_properties["total-records"]
            .parse()
            .unwrap()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_group_into_few_snapshots() {
    let server = Arc::new(server().await);
    let mut tasks = Vec::new();
    for w in 0..8_i64 {
        let server = Arc::clone(&server);
        tasks.push(tokio::spawn(async move {
            let id = format!("w{w}");
            let opened = server
                .post(&format!("{TABLE}/writers/{id}"), json!({}))
                .await;
            assert_eq!(opened.status, StatusCode::OK, "{}", opened.text);
            assert_eq!(opened.body["epoch"], 1);
            assert_eq!(opened.body["last-seq"], -1);
            let mut snapshots = Vec::new();
            for seq in 0..3_i64 {
                let start = (w * 3 + seq) * 10;
                let files = data_files(&server, start..start + 10).await;
                let a = server
                    .post(
                        &format!("{TABLE}/appends"),
                        body(&id, 1, seq, Some(100 * w + seq), &files),
                    )
                    .await;
                assert_eq!(a.status, StatusCode::OK, "{}", a.text);
                assert_eq!(a.body["duplicate"], false);
                snapshots.push(a.body["snapshot-id"].as_i64().unwrap());
            }
            snapshots
        }));
    }
    let mut acked = HashSet::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    assert_eq!(total_records(&server).await, 8 * 3 * 10);
    let md = metadata(&server).await;
    assert_eq!(md.snapshots().len(), acked.len());
    assert!(
        acked.len() < 24,
        "24 batches made {} snapshots",
        acked.len()
    );

    // The listing: every writer at seq 2, the low watermark the minimum.
    let a = server.get(&format!("{TABLE}/writers")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let writers = a.body["writers"].as_array().unwrap();
    assert_eq!(writers.len(), 8);
    for w in writers {
        assert_eq!(w["last-seq"], 2, "{w}");
        assert_eq!(w["epoch"], 1, "{w}");
        assert!(acked.contains(&w["snapshot-id"].as_i64().unwrap()));
    }
    assert_eq!(a.body["low-watermark-ms"], 2);
    assert_eq!(writers[3]["watermark-ms"], 302);

    // A retried batch: the original snapshot, nothing added.
    let w0 = writers.iter().find(|w| w["writer-id"] == "w0").unwrap();
    let files = data_files(&server, 1000..1010).await;
    let again = server
        .post(&format!("{TABLE}/appends"), body("w0", 1, 2, None, &files))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["duplicate"], true);
    assert_eq!(again.body["snapshot-id"], w0["snapshot-id"]);
    assert_eq!(total_records(&server).await, 8 * 3 * 10);
}

#[tokio::test]
async fn a_fenced_writer_gets_409() {
    let server = server().await;
    let first = server.post(&format!("{TABLE}/writers/s"), json!({})).await;
    assert_eq!(first.body["epoch"], 1);
    let files = data_files(&server, 0..10).await;
    let a = server
        .post(&format!("{TABLE}/appends"), body("s", 1, 0, None, &files))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let second = server.post(&format!("{TABLE}/writers/s"), json!({})).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(second.body["epoch"], 2);
    assert_eq!(second.body["last-seq"], 0);
    assert_eq!(second.body["snapshot-id"], a.body["snapshot-id"]);
    let files = data_files(&server, 10..20).await;
    let zombie = server
        .post(&format!("{TABLE}/appends"), body("s", 1, 1, None, &files))
        .await;
    let message = zombie.assert_error(409, "CommitFailedException");
    assert!(message.contains("fenced"), "{message}");
    assert_eq!(total_records(&server).await, 10);
    // Unknown table: 404.
    let missing = server
        .post("/v1/namespaces/db/tables/nope/writers/s", json!({}))
        .await;
    missing.assert_error(404, "NoSuchTableException");
    server
        .get("/v1/namespaces/db/tables/nope/writers")
        .await
        .assert_error(404, "NoSuchTableException");
}

#[tokio::test]
async fn bad_append_bodies_are_400() {
    let server = server().await;
    let url = format!("{TABLE}/appends");
    let good = data_files(&server, 0..10).await;

    let mut unknown = body("s", 1, 0, None, &good);
    unknown["writer"] = json!("x");
    let m = server
        .post(&url, unknown)
        .await
        .assert_error(400, "BadRequestException");
    assert!(m.contains("unknown field `writer`"), "{m}");

    let m = server
        .post(
            &url,
            json!({"writer-id": "s", "epoch": 1, "data-files": []}),
        )
        .await
        .assert_error(400, "BadRequestException");
    assert!(m.contains("missing field `seq`"), "{m}");

    let mut outside = good.clone();
    outside[0]["file-path"] = json!("file:///tmp/elsewhere/x.parquet");
    let m = server
        .post(&url, body("s", 1, 0, None, &outside))
        .await
        .assert_error(400, "BadRequestException");
    assert!(m.contains("outside the table location"), "{m}");

    let mut arity = good.clone();
    arity[0]["partition"] = json!([]);
    let m = server
        .post(&url, body("s", 1, 0, None, &arity))
        .await
        .assert_error(400, "BadRequestException");
    assert!(
        m.contains("data-files[0]") && m.contains("partition values"),
        "{m}"
    );

    let mut spec = good.clone();
    spec[0]["spec-id"] = json!(7);
    let m = server
        .post(&url, body("s", 1, 0, None, &spec))
        .await
        .assert_error(400, "BadRequestException");
    assert!(m.contains("spec-id 7"), "{m}");

    let md = metadata(&server).await;
    let mut missing = good.clone();
    missing[0]["file-path"] = json!(format!("{}/data/missing.parquet", md.location()));
    let m = server
        .post(&url, body("s", 1, 0, None, &missing))
        .await
        .assert_error(400, "BadRequestException");
    assert!(m.contains("does not exist"), "{m}");

    let m = server
        .post(&url, body("", 1, 0, None, &good))
        .await
        .assert_error(400, "BadRequestException");
    assert!(m.contains("writer id"), "{m}");

    // Nothing was committed, no writer recorded; the good body still works.
    assert!(metadata(&server).await.current_snapshot().is_none());
    let a = server.get(&format!("{TABLE}/writers")).await;
    assert_eq!(a.body, json!({"writers": [], "low-watermark-ms": null}));
    let ok = server.post(&url, body("s", 0, 0, None, &good)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(total_records(&server).await, 10);
}

#[tokio::test]
async fn after_seq_orders_a_writers_batches() {
    let server = server().await;
    let url = format!("{TABLE}/appends");
    let opened = server.post(&format!("{TABLE}/writers/p"), json!({})).await;
    assert_eq!(opened.status, StatusCode::OK, "{}", opened.text);
    let with_after = |seq: i64, after: i64, files: &[Value]| {
        let mut b = body("p", 1, seq, None, files);
        b["after-seq"] = json!(after);
        b
    };
    // Seq 1 names seq 0, which is not committed: refused, nothing committed.
    let f1 = data_files(&server, 10..20).await;
    let m = server
        .post(&url, with_after(1, 0, &f1))
        .await
        .assert_error(409, "PredecessorNotCommittedException");
    assert!(
        m.contains("must follow micro-batch 0") && m.contains("writer `p`"),
        "{m}"
    );
    assert_eq!(total_records(&server).await, 0);
    // The first micro-batch follows -1; then seq 1 is accepted.
    let f0 = data_files(&server, 0..10).await;
    let first = server.post(&url, with_after(0, -1, &f0)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let second = server.post(&url, with_after(1, 0, &f1)).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_eq!(second.body["duplicate"], false);
    assert_eq!(total_records(&server).await, 20);
    // A gap of one (seq 3 after 2, but 2 never came) is refused.
    let f3 = data_files(&server, 30..40).await;
    server
        .post(&url, with_after(3, 2, &f3))
        .await
        .assert_error(409, "PredecessorNotCommittedException");
    assert_eq!(total_records(&server).await, 20);
    // Sent together within the group window, a batch and its successor both commit,
    // whichever arrives first.
    let f2 = data_files(&server, 20..30).await;
    let (fourth, third) = tokio::join!(
        server.post(&url, with_after(3, 2, &f3)),
        server.post(&url, with_after(2, 1, &f2)),
    );
    assert_eq!(third.status, StatusCode::OK, "{}", third.text);
    // Seq 3 either joined seq 2's group or arrived after it committed; a refusal is
    // only possible if it was grouped before seq 2 arrived: then resending works.
    if fourth.status != StatusCode::OK {
        fourth.assert_error(409, "PredecessorNotCommittedException");
        let again = server.post(&url, with_after(3, 2, &f3)).await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    }
    assert_eq!(total_records(&server).await, 40);
    // A retried seq is a duplicate, after-seq or not.
    let dup = server.post(&url, with_after(3, 2, &f3)).await;
    assert_eq!(dup.body["duplicate"], true, "{}", dup.text);
    // after-seq must be at least -1 and below seq.
    for (seq, after) in [(5, 5), (5, 7), (5, -2)] {
        let m = server
            .post(&url, with_after(seq, after, &f3))
            .await
            .assert_error(400, "BadRequestException");
        assert!(m.contains("after-seq"), "{m}");
    }
    let listed = server.get(&format!("{TABLE}/writers")).await;
    assert_eq!(listed.body["writers"][0]["last-seq"], 3, "{}", listed.text);
}
