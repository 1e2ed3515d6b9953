//! Table endpoints: create (and staged create), load with ETag, HEAD, commit,
//! transactions, rename, register, metrics reports, drop.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::{Value, json};

use crate::common::{TestServer, create_table_body};

fn add_column_commit(uuid: &str, schema_id: i64) -> Value {
    json!({
        "requirements": [
            {"type": "assert-table-uuid", "uuid": uuid},
            {"type": "assert-current-schema-id", "current-schema-id": schema_id}
        ],
        "updates": [
            {"action": "add-schema", "schema": {"type": "struct", "schema-id": 1, "fields": [
                {"id": 1, "name": "id", "type": "long", "required": true},
                {"id": 2, "name": "data", "type": "string", "required": false},
                {"id": 3, "name": "extra", "type": "int", "required": false}
            ]}, "last-column-id": 3},
            {"action": "set-current-schema", "schema-id": -1}
        ]
    })
}

#[tokio::test]
async fn create_load_head_list_drop() {
    let s = TestServer::new().await;
    s.create_namespace(&["db"]).await;
    let a = s.create_table("db", "t").await;
    let location = a.body["metadata-location"].as_str().unwrap().to_owned();
    assert!(location.ends_with(".metadata.json"), "{location}");
    assert_eq!(a.body["config"], json!({}));
    assert_eq!(a.body["metadata"]["format-version"], 2);
    assert_eq!(a.body["metadata"]["properties"]["owner"], "test");
    assert_eq!(
        a.body["metadata"]["partition-specs"][0]["fields"][0]["transform"],
        "bucket[4]"
    );
    assert!(a.headers.contains_key(header::ETAG));

    let a = s
        .create_table_body_raw("db", create_table_body("t", false))
        .await;
    a.assert_error(409, "AlreadyExistsException");
    let a = s
        .post("/v1/namespaces/nope/tables", create_table_body("t", false))
        .await;
    a.assert_error(404, "NoSuchNamespaceException");

    let a = s.get("/v1/namespaces/db/tables/t").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["metadata-location"], location.as_str());
    let a = s.get("/v1/namespaces/db/tables/nope").await;
    a.assert_error(404, "NoSuchTableException");

    let a = s
        .call(Method::HEAD, "/v1/namespaces/db/tables/t", None)
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = s
        .call(Method::HEAD, "/v1/namespaces/db/tables/x", None)
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    let a = s.get("/v1/namespaces/db/tables").await;
    assert_eq!(
        a.body["identifiers"],
        json!([{"namespace": ["db"], "name": "t"}])
    );
    let a = s.get("/v1/namespaces/nope/tables").await;
    a.assert_error(404, "NoSuchNamespaceException");

    let a = s.call(Method::DELETE, "/v1/namespaces/db", None).await;
    a.assert_error(409, "NamespaceNotEmptyException");

    let a = s
        .call(
            Method::DELETE,
            "/v1/namespaces/db/tables/t?purgeRequested=False",
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    let a = s
        .call(Method::DELETE, "/v1/namespaces/db/tables/t", None)
        .await;
    a.assert_error(404, "NoSuchTableException");
    // purgeRequested=False kept the files.
    let path = location.strip_prefix("file://").unwrap();
    assert!(std::path::Path::new(path).exists(), "{path}");
}

#[tokio::test]
async fn drop_with_purge_deletes_files() {
    let s = TestServer::new().await;
    s.create_namespace(&["db"]).await;
    let a = s.create_table("db", "t").await;
    let location = a.body["metadata-location"].as_str().unwrap().to_owned();
    let a = s
        .call(
            Method::DELETE,
            "/v1/namespaces/db/tables/t?purgeRequested=True",
            None,
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    let path = location.strip_prefix("file://").unwrap();
    assert!(!std::path::Path::new(path).exists(), "{path}");
}

#[tokio::test]
async fn etag_and_if_none_match() {
    let s = TestServer::new().await;
    s.create_namespace(&["db"]).await;
    s.create_table("db", "t").await;
    let a = s.get("/v1/namespaces/db/tables/t").await;
    let etag = a.headers[header::ETAG].to_str().unwrap().to_owned();
    let req = Request::builder()
        .uri("/v1/namespaces/db/tables/t")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    let a = s.send(req).await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
    assert!(a.text.is_empty());
    assert_eq!(a.headers[header::ETAG], etag.as_str());
    // Another snapshot mode is another representation.
    let a = s.get("/v1/namespaces/db/tables/t?snapshots=refs").await;
    assert_ne!(a.headers[header::ETAG], etag.as_str());
    let a = s.get("/v1/namespaces/db/tables/t?snapshots=bogus").await;
    a.assert_error(400, "BadRequestException");

    // After a commit the old ETag no longer matches.
    let uuid = a_uuid(&s).await;
    let a = s
        .post("/v1/namespaces/db/tables/t", add_column_commit(&uuid, 0))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let req = Request::builder()
        .uri("/v1/namespaces/db/tables/t")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    assert_eq!(s.send(req).await.status, StatusCode::OK);
}

async fn a_uuid(s: &TestServer) -> String {
    s.get("/v1/namespaces/db/tables/t").await.body["metadata"]["table-uuid"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn commit_and_conflicts() {
    let s = TestServer::new().await;
    s.create_namespace(&["db"]).await;
    s.create_table("db", "t").await;
    let uuid = a_uuid(&s).await;
    let mut body = add_column_commit(&uuid, 0);
    body["identifier"] = json!({"namespace": ["db"], "name": "t"});
    let a = s.post("/v1/namespaces/db/tables/t", body.clone()).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["metadata"]["current-schema-id"], 1);
    assert!(
        a.body["metadata-location"]
            .as_str()
            .unwrap()
            .contains("00001-")
    );
    assert!(a.headers.contains_key(header::ETAG));

    // Same requirements again: the schema id moved on.
    let a = s.post("/v1/namespaces/db/tables/t", body).await;
    a.assert_error(409, "CommitFailedException");

    // Unknown action, mismatched identifier, missing table.
    let a = s
        .post(
            "/v1/namespaces/db/tables/t",
            json!({"requirements": [], "updates": [{"action": "explode"}]}),
        )
        .await;
    let m = a.assert_error(400, "BadRequestException");
    assert!(m.contains("explode"), "{m}");
    let a = s
        .post(
            "/v1/namespaces/db/tables/t",
            json!({"identifier": {"namespace": ["db"], "name": "other"}, "updates": []}),
        )
        .await;
    a.assert_error(400, "BadRequestException");
    let a = s
        .post("/v1/namespaces/db/tables/nope", add_column_commit(&uuid, 0))
        .await;
    a.assert_error(404, "NoSuchTableException");

    let m = s.get("/metrics").await.text;
    assert!(m.contains("floe_commits_total 1"), "{m}");
    assert!(m.contains("floe_commit_conflicts_total 1"), "{m}");
}

#[tokio::test]
async fn staged_create_then_create_via_commit() {
    let s = TestServer::new().await;
    s.create_namespace(&["db"]).await;
    let a = s
        .post(
            "/v1/namespaces/db/tables",
            create_table_body("staged", true),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["metadata-location"], Value::Null);
    assert!(!a.headers.contains_key(header::ETAG));
    let meta = a.body["metadata"].clone();
    // Nothing was stored.
    let a = s.get("/v1/namespaces/db/tables/staged").await;
    a.assert_error(404, "NoSuchTableException");

    // PyIceberg's create transaction: assert-create + the full set of updates.
    let commit = json!({
        "identifier": {"namespace": ["db"], "name": "staged"},
        "requirements": [{"type": "assert-create"}],
        "updates": [
            {"action": "assign-uuid", "uuid": meta["table-uuid"]},
            {"action": "upgrade-format-version", "format-version": 2},
            {"action": "add-schema", "schema": meta["schemas"][0]},
            {"action": "set-current-schema", "schema-id": -1},
            {"action": "add-spec", "spec": meta["partition-specs"][0]},
            {"action": "set-default-spec", "spec-id": -1},
            {"action": "add-sort-order", "sort-order": meta["sort-orders"][0]},
            {"action": "set-default-sort-order", "sort-order-id": -1},
            {"action": "set-location", "location": meta["location"]},
            {"action": "set-properties", "updates": meta["properties"]}
        ]
    });
    let a = s
        .post("/v1/namespaces/db/tables/staged", commit.clone())
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["metadata"]["table-uuid"], meta["table-uuid"]);
    let a = s.get("/v1/namespaces/db/tables/staged").await;
    assert_eq!(a.status, StatusCode::OK);
    // A second create via commit conflicts.
    let a = s.post("/v1/namespaces/db/tables/staged", commit).await;
    a.assert_error(409, "CommitFailedException");
}

#[tokio::test]
async fn transactions_commit_atomically() {
    let s = TestServer::new().await;
    s.create_namespace(&["db"]).await;
    s.create_table("db", "t").await;
    s.create_table("db", "u").await;
    let set_prop = |name: &str, v: &str| {
        json!({"identifier": {"namespace": ["db"], "name": name}, "requirements": [],
               "updates": [{"action": "set-properties", "updates": {"k": v}}]})
    };
    let a = s
        .post(
            "/v1/transactions/commit",
            json!({"table-changes": [set_prop("t", "1"), set_prop("u", "1")]}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    // One failing requirement: nothing changes.
    let mut bad = set_prop("u", "2");
    bad["requirements"] = json!([{"type": "assert-current-schema-id", "current-schema-id": 7}]);
    let a = s
        .post(
            "/v1/transactions/commit",
            json!({"table-changes": [set_prop("t", "2"), bad]}),
        )
        .await;
    a.assert_error(409, "CommitFailedException");
    let a = s.get("/v1/namespaces/db/tables/t").await;
    assert_eq!(a.body["metadata"]["properties"]["k"], "1");
    let a = s
        .post(
            "/v1/transactions/commit",
            json!({"table-changes": [{"updates": []}]}),
        )
        .await;
    a.assert_error(400, "BadRequestException");
}

#[tokio::test]
async fn rename_register_and_metrics() {
    let s = TestServer::new().await;
    s.create_namespace(&["db"]).await;
    s.create_namespace(&["other"]).await;
    let a = s.create_table("db", "t").await;
    let location = a.body["metadata-location"].as_str().unwrap().to_owned();
    let rename = |from: &str, to_ns: &str, to: &str| {
        json!({"source": {"namespace": ["db"], "name": from},
               "destination": {"namespace": [to_ns], "name": to}})
    };
    let a = s
        .post("/v1/tables/rename", rename("t", "other", "t2"))
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    let a = s.get("/v1/namespaces/other/tables/t2").await;
    assert_eq!(a.status, StatusCode::OK);
    let a = s
        .post("/v1/tables/rename", rename("t", "other", "t3"))
        .await;
    a.assert_error(404, "NoSuchTableException");
    let a = s.post("/v1/tables/rename", rename("x", "nope", "t3")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // Register the same metadata file under another name.
    let a = s
        .post(
            "/v1/namespaces/db/register",
            json!({"name": "again", "metadata-location": location}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["metadata-location"], location.as_str());
    let a = s
        .post(
            "/v1/namespaces/db/register",
            json!({"name": "again", "metadata-location": location}),
        )
        .await;
    a.assert_error(409, "AlreadyExistsException");
    let a = s
        .post(
            "/v1/namespaces/db/register",
            json!({"name": "again", "metadata-location": location, "overwrite": true}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    let report = json!({"report-type": "scan-report", "table-name": "db.again",
        "snapshot-id": -1, "filter": true, "schema-id": 0, "projected-field-ids": [1],
        "projected-field-names": ["id"], "metrics": {}});
    let a = s
        .post("/v1/namespaces/db/tables/again/metrics", report.clone())
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    let a = s.post("/v1/namespaces/db/tables/zz/metrics", report).await;
    a.assert_error(404, "NoSuchTableException");
    let m = s.get("/metrics").await.text;
    assert!(
        m.contains(r#"floe_metrics_reports_total{type="scan-report"} 1"#),
        "{m}"
    );
}

#[tokio::test]
async fn encoded_table_names() {
    let s = TestServer::new().await;
    s.create_namespace(&["a"]).await;
    s.create_namespace(&["a", "b"]).await;
    s.create_table("a%1Fb", "my table").await;
    let a = s.get("/v1/namespaces/a%1Fb/tables/my%20table").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let a = s.get("/v1/namespaces/a%1Fb/tables").await;
    assert_eq!(
        a.body["identifiers"],
        json!([{"namespace": ["a", "b"], "name": "my table"}])
    );
}

/// A client that accepts gzip gets the load answer gzip-encoded (compressed once per
/// metadata file and mode, then served from the load-result cache): it decodes to the
/// plain answer, with the same ETag.
#[tokio::test]
async fn load_with_accept_encoding_gzip() {
    use http_body_util::BodyExt;
    use std::io::Read;
    use tower::ServiceExt;

    let s = TestServer::new().await;
    s.create_namespace(&["db"]).await;
    s.create_table("db", "t").await;
    let plain = s.get("/v1/namespaces/db/tables/t").await;
    assert_eq!(plain.status, StatusCode::OK);
    let before = s.state.caches().load_results.stats();
    for round in 0..2 {
        let req = Request::builder()
            .uri("/v1/namespaces/db/tables/t")
            .header(header::ACCEPT_ENCODING, "br;q=0, gzip")
            .body(Body::empty())
            .unwrap();
        let response = s.app.clone().oneshot(req).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(headers[header::CONTENT_ENCODING], "gzip", "round {round}");
        assert_eq!(headers[header::ETAG], plain.headers[header::ETAG]);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, plain.text, "round {round}");
    }
    let after = s.state.caches().load_results.stats();
    // The first gzip load misses (then compresses the cached plain body), the second hits.
    assert_eq!(after.hits - before.hits, 2);
    assert_eq!(after.misses - before.misses, 1);
    // gzip refused with q=0: the plain answer.
    let req = Request::builder()
        .uri("/v1/namespaces/db/tables/t")
        .header(header::ACCEPT_ENCODING, "gzip;q=0")
        .body(Body::empty())
        .unwrap();
    let a = s.send(req).await;
    assert!(!a.headers.contains_key(header::CONTENT_ENCODING));
    assert_eq!(a.text, plain.text);
}
