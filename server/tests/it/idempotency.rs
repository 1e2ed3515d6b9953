//! The periodic expiry of `Idempotency-Key` records run by `floe serve`: a retry with
//! the same key is a replay until the key expired, then a new commit.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use floe_server::idempotency;
use serde_json::json;

use crate::common::TestServer;

const TABLE: &str = "/v1/namespaces/db/tables/t";

async fn commit_with_key(s: &TestServer, key: &str, value: &str) -> String {
    let body = json!({"requirements": [], "updates": [
        {"action": "set-properties", "updates": {"k": value}}
    ]});
    let req = Request::builder()
        .method(Method::POST)
        .uri(TABLE)
        .header(header::CONTENT_TYPE, "application/json")
        .header("idempotency-key", key)
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    let a = s.send(req).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.body["metadata-location"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn expired_keys_are_new_requests() {
    let s = TestServer::new().await;
    s.create_namespace(&["db"]).await;
    s.create_table("db", "t").await;
    let first = commit_with_key(&s, "key-1", "v1").await;
    assert_eq!(commit_with_key(&s, "key-1", "v1").await, first, "a replay");

    // Within the lifetime nothing expires.
    let expired = idempotency::expire_once(&s.catalog, idempotency::IDEMPOTENCY_KEY_LIFETIME)
        .await
        .unwrap();
    assert_eq!(expired, 0);
    assert_eq!(commit_with_key(&s, "key-1", "v1").await, first);

    // The background task with a tiny lifetime deletes the record.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = idempotency::start(
        (*s.catalog).clone(),
        Duration::from_millis(1),
        Duration::from_millis(20),
        stopped,
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("the expiry task stops when told")
        .unwrap();
    // (A new value: the same one would be a no-op commit keeping the location.)
    let again = commit_with_key(&s, "key-1", "v2").await;
    assert_ne!(again, first, "an expired key is a new commit");
}

#[tokio::test]
async fn the_config_advertises_the_lifetime() {
    let s = TestServer::new().await;
    let a = s.get("/v1/config").await;
    assert_eq!(
        a.body["idempotency-key-lifetime"],
        idempotency::IDEMPOTENCY_KEY_LIFETIME_ISO
    );
    assert_eq!(
        idempotency::IDEMPOTENCY_KEY_LIFETIME,
        Duration::from_mins(30)
    );
}
