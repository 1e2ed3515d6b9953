//! Server-side scan planning (`POST .../plan`, `GET`/`DELETE .../plan/{id}`,
//! `POST .../tasks`) over tables written with the table crate's writers and committed
//! through the REST API, and the caches behind loads and plans.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
use axum::http::{HeaderValue, Method, StatusCode, header};
use floe_spec::manifest::{DataFile, ManifestContentType, ManifestMetadata, ManifestWriter};
use floe_spec::manifest_list::ManifestListWriter;
use floe_spec::table_metadata::{FormatVersion, TableMetadata};
use floe_table::writer::{LocationGenerator, PartitionedWriter, WriterContext};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use serde_json::{Value, json};

use crate::common::TestServer;

const TABLE: &str = "/v1/namespaces/db/tables/t";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The local path of a `file://` location.
fn local(location: &str) -> String {
    location.trim_start_matches("file://").to_owned()
}

async fn load_metadata(server: &TestServer, uri: &str) -> TableMetadata {
    let a = server.get(uri).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    TableMetadata::from_json_value(a.body["metadata"].clone()).unwrap()
}

/// Writes rows `ids` (data = "row-<id>") with the table's partitioned writer, then a
/// manifest and a manifest list, and commits an append snapshot through the REST API
/// like PyIceberg does. Returns the new snapshot id and its data files.
pub async fn append(server: &TestServer, uri: &str, ids: &[i64]) -> (i64, Vec<DataFile>) {
    let metadata = load_metadata(server, uri).await;
    let schema = metadata.current_schema();
    let spec = metadata.default_partition_spec();
    let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new());
    let properties = HashMap::new();
    let context = Arc::new(WriterContext::for_data(schema, &properties, None).unwrap());
    let locations = Arc::new(
        LocationGenerator::for_table(Arc::clone(&store), metadata.location(), &properties).unwrap(),
    );
    let mut writer = PartitionedWriter::try_new(context, schema, spec, locations).unwrap();
    let batch = RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("data", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(
                ids.iter().map(|i| format!("row-{i}")).collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    writer.write(&batch).await.unwrap();
    let files = writer.close().await.unwrap();

    let id = 1_000 + metadata.snapshots().len() as i64;
    let seq = metadata.last_sequence_number() + 1;
    let parent = metadata.current_snapshot_id();
    let mut manifest = ManifestWriter::new(
        ManifestMetadata {
            schema: Arc::clone(schema),
            partition_spec: (**spec).clone(),
            format_version: FormatVersion::V2,
            content: ManifestContentType::Data,
        },
        Some(id),
    );
    for f in &files {
        manifest.add(f.clone()).unwrap();
    }
    let manifest_path = format!(
        "{}/metadata/{}-m0.avro",
        metadata.location(),
        uuid::Uuid::new_v4()
    );
    let (bytes, entry) = manifest.finish(&manifest_path).unwrap();
    std::fs::write(local(&manifest_path), bytes).unwrap();
    let mut list = ManifestListWriter::new(FormatVersion::V2, id, parent, seq);
    // Keep the manifests of the parent snapshot: an append adds to the table.
    if let Some(p) = metadata.current_snapshot() {
        let bytes = std::fs::read(local(&p.manifest_list)).unwrap();
        let types = floe_spec::manifest_list::ManifestList::partition_types(&metadata);
        let old = floe_spec::manifest_list::ManifestList::parse(&bytes, &types).unwrap();
        list.add_manifests(old.entries).unwrap();
    }
    list.add_manifests([entry]).unwrap();
    let list_path = format!(
        "{}/metadata/snap-{id}-{}.avro",
        metadata.location(),
        uuid::Uuid::new_v4()
    );
    std::fs::write(local(&list_path), list.finish().unwrap()).unwrap();

    let rows: i64 = files.iter().map(|f| f.record_count).sum();
    let commit = json!({
        "requirements": [{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": parent}],
        "updates": [
            {"action": "add-snapshot", "snapshot": {
                "snapshot-id": id,
                "parent-snapshot-id": parent,
                "sequence-number": seq,
                "timestamp-ms": now_ms(),
                "manifest-list": list_path,
                "summary": {"operation": "append", "added-records": rows.to_string()},
                "schema-id": schema.schema_id(),
            }},
            {"action": "set-snapshot-ref", "ref-name": "main", "type": "branch", "snapshot-id": id},
        ],
    });
    let a = server.post(uri, commit).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    (id, files)
}

async fn table_with_two_appends(server: &TestServer) -> (i64, i64) {
    server.create_namespace(&["db"]).await;
    server.create_table("db", "t").await;
    let (first, _) = append(server, TABLE, &(0..10).collect::<Vec<_>>()).await;
    let (second, _) = append(server, TABLE, &(100..110).collect::<Vec<_>>()).await;
    (first, second)
}

fn paths(body: &Value) -> Vec<String> {
    let mut out: Vec<String> = body["file-scan-tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["data-file"]["file-path"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

fn record_count(body: &Value) -> i64 {
    body["file-scan-tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["data-file"]["record-count"].as_i64().unwrap())
        .sum()
}

#[tokio::test]
async fn plan_prunes_files_by_filter() {
    let server = TestServer::new().await;
    let (first, _) = table_with_two_appends(&server).await;

    let all = server.post(&format!("{TABLE}/plan"), json!({})).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.body["status"], "completed");
    assert_eq!(record_count(&all.body), 20);
    assert_eq!(all.body["delete-files"], json!([]));
    let all_paths = paths(&all.body);
    let task = &all.body["file-scan-tasks"][0];
    assert_eq!(task["residual-filter"], json!(true));
    assert_eq!(task["data-file"]["content"], "data");
    assert_eq!(task["data-file"]["file-format"], "parquet");
    assert_eq!(task["data-file"]["spec-id"], 0);
    assert!(task["data-file"]["partition"].is_array());
    // Without stats-fields, no column statistics are sent.
    assert!(task["data-file"].get("lower-bounds").is_none(), "{task}");

    // Metrics pruning: the second append's files hold ids 100..110 only.
    let low = server
        .post(
            &format!("{TABLE}/plan"),
            json!({"filter": {"type": "lt", "term": "id", "value": 50}, "stats-fields": ["id"]}),
        )
        .await;
    assert_eq!(low.status, StatusCode::OK, "{}", low.text);
    assert_eq!(record_count(&low.body), 10);
    assert!(paths(&low.body).len() < all_paths.len());
    for t in low.body["file-scan-tasks"].as_array().unwrap() {
        let upper = &t["data-file"]["upper-bounds"];
        assert_eq!(upper["keys"], json!([1]), "{t}");
        assert!(upper["values"][0].as_i64().unwrap() < 50, "{t}");
        assert_eq!(
            t["residual-filter"],
            json!({"type": "lt", "term": "id", "value": 50})
        );
    }

    // Partition (bucket) and metrics pruning: one file holds id 5.
    let one = server
        .post(
            &format!("{TABLE}/plan"),
            json!({"filter": {"type": "eq", "term": "id", "value": 5}, "select": ["id"]}),
        )
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.body["file-scan-tasks"].as_array().unwrap().len(), 1);

    // Nothing matches.
    let none = server
        .post(
            &format!("{TABLE}/plan"),
            json!({"filter": {"type": "gt", "term": "id", "value": 1000}}),
        )
        .await;
    assert_eq!(none.body["file-scan-tasks"], json!([]));

    // Time travel to the first snapshot, and an incremental scan of the second append.
    let old = server
        .post(&format!("{TABLE}/plan"), json!({"snapshot-id": first}))
        .await;
    assert_eq!(record_count(&old.body), 10, "{}", old.text);
    let inc = server
        .post(
            &format!("{TABLE}/plan"),
            json!({"start-snapshot-id": first, "end-snapshot-id": first + 1}),
        )
        .await;
    assert_eq!(inc.status, StatusCode::OK, "{}", inc.text);
    assert_eq!(record_count(&inc.body), 10);
    let mut both = paths(&old.body);
    both.extend(paths(&inc.body));
    both.sort();
    assert_eq!(both, all_paths);

    // The manifests were parsed once and then served from the cache.
    let stats = server.state.caches().manifests.stats();
    assert!(stats.hits >= 4, "{stats:?}");
    assert!(stats.entries >= 2, "{stats:?}");
    let metrics = server.get("/metrics").await.text;
    assert!(
        metrics.contains("floe_manifest_cache_hit_ratio"),
        "{metrics}"
    );
    assert!(metrics.contains("floe_scan_plans_total 6"), "{metrics}");
}

#[tokio::test]
async fn plan_errors() {
    let server = TestServer::new().await;
    table_with_two_appends(&server).await;
    server
        .post(
            &format!("{TABLE}/plan"),
            json!({"filter": {"type": "bogus"}}),
        )
        .await
        .assert_error(400, "BadRequestException");
    server
        .post(&format!("{TABLE}/plan"), json!({"select": ["nope"]}))
        .await
        .assert_error(400, "BadRequestException");
    server
        .post(&format!("{TABLE}/plan"), json!({"snapshot-id": 424_242}))
        .await
        .assert_error(400, "BadRequestException");
    server
        .post("/v1/namespaces/db/tables/missing/plan", json!({}))
        .await
        .assert_error(404, "NoSuchTableException");
    server
        .get(&format!("{TABLE}/plan/p-1"))
        .await
        .assert_error(404, "NoSuchPlanIdException");
    server
        .call(Method::DELETE, &format!("{TABLE}/plan/p-1"), None)
        .await
        .assert_error(404, "NoSuchPlanIdException");
    server
        .post(&format!("{TABLE}/tasks"), json!({"plan-task": "x"}))
        .await
        .assert_error(404, "NoSuchPlanTaskException");
    // A plan of an empty table.
    server.create_table("db", "empty").await;
    let a = server
        .post("/v1/namespaces/db/tables/empty/plan", json!({}))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["file-scan-tasks"], json!([]));
}

#[tokio::test]
async fn config_advertises_planning() {
    let server = TestServer::new().await;
    let a = server.get("/v1/config").await;
    let endpoints: Vec<&str> = a.body["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for e in [
        "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/plan",
        "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}/plan/{plan-id}",
        "DELETE /v1/{prefix}/namespaces/{namespace}/tables/{table}/plan/{plan-id}",
        "POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/tasks",
    ] {
        assert!(endpoints.contains(&e), "{endpoints:?}");
    }
}

#[tokio::test]
async fn unchanged_loads_come_from_the_cache() {
    let server = TestServer::new().await;
    server.create_namespace(&["db"]).await;
    server.create_table("db", "t").await;
    append(&server, TABLE, &[1, 2, 3]).await;

    let before = server.state.caches().load_results.stats();
    let catalog_before = server.catalog.cache_stats();
    let first = server.get(TABLE).await;
    let second = server.get(TABLE).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.text, second.text);
    assert_eq!(first.headers[header::ETAG], second.headers[header::ETAG]);
    let after = server.state.caches().load_results.stats();
    assert!(after.hits > before.hits, "{before:?} {after:?}");
    // The catalog served the parsed metadata from its cache: no object-store read.
    assert_eq!(server.catalog.cache_stats().misses, catalog_before.misses);

    // `refs` mode is a separate entry with its own ETag.
    let refs = server.get(&format!("{TABLE}?snapshots=refs")).await;
    assert_ne!(refs.headers[header::ETAG], first.headers[header::ETAG]);

    // 304 for a matching If-None-Match; a commit changes the body and the ETag.
    let mut req = axum::http::Request::builder().uri(TABLE);
    req = req.header(
        header::IF_NONE_MATCH,
        HeaderValue::from_str(first.headers[header::ETAG].to_str().unwrap()).unwrap(),
    );
    let not_modified = server
        .send(req.body(axum::body::Body::empty()).unwrap())
        .await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    append(&server, TABLE, &[4]).await;
    let third = server.get(TABLE).await;
    assert_ne!(third.headers[header::ETAG], first.headers[header::ETAG]);
    assert_ne!(third.text, first.text);
    let metrics = server.get("/metrics").await.text;
    assert!(
        metrics.contains("floe_load_result_cache_hits_total"),
        "{metrics}"
    );
}
