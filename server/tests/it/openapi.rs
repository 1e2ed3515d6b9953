//! `/openapi.json` describes exactly the routes the router serves and the config
//! advertises.

use std::collections::BTreeSet;

use axum::http::{Method, StatusCode};
use floe_server::rest::openapi::documented_routes;
use floe_server::rest::routes::{ENDPOINTS, served_routes};
use serde_json::Value;

use crate::common::TestServer;

fn fill(path: &str) -> String {
    path.replace("{prefix}", "pfx")
        .replace("{namespace}", "db")
        .replace("{table}", "t")
        .replace("{plan-id}", "p1")
}

#[tokio::test]
async fn document_matches_the_route_table() {
    let server = TestServer::new().await;
    let a = server.get("/openapi.json").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let doc = a.body;
    assert_eq!(doc["openapi"], "3.0.3");

    let served: BTreeSet<(String, String)> = served_routes()
        .into_iter()
        .map(|(m, p)| (m.to_owned(), p))
        .collect();
    let documented: BTreeSet<(String, String)> = documented_routes(&doc).into_iter().collect();
    assert_eq!(served, documented);

    // Every documented operation reaches a handler (no 404 "no route", no 405).
    for (method, path) in &documented {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let body = (method == Method::POST).then(|| serde_json::json!({}));
        let answer = server.call(method.clone(), &fill(path), body).await;
        assert_ne!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        let message = answer.body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.starts_with("no route"),
            "{method} {path}: {}",
            answer.text
        );
    }

    // The config advertises exactly the documented Iceberg endpoints.
    let config = server.get("/v1/config").await.body;
    let advertised: BTreeSet<String> = config["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let iceberg: BTreeSet<String> = documented
        .iter()
        .filter(|(_, p)| p.starts_with("/v1/{prefix}/"))
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    assert_eq!(advertised, iceberg);
    assert_eq!(advertised.len(), ENDPOINTS.len());
    // Operation ids are unique.
    let mut ids = BTreeSet::new();
    for methods in doc["paths"].as_object().unwrap().values() {
        for op in methods.as_object().unwrap().values() {
            assert!(ids.insert(op["operationId"].as_str().unwrap().to_owned()));
        }
    }
    for own in ["/health", "/metrics", "/openapi.json"] {
        assert!(doc["paths"][own]["get"].is_object(), "{own}");
    }
    assert!(
        doc["paths"]["/v1/{prefix}/namespaces/{namespace}/tables/{table}/plan"]["post"].is_object()
    );
}
