//! Config and namespace endpoints.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::common::TestServer;

#[tokio::test]
async fn config_advertises_exactly_the_routes() {
    let s = TestServer::new().await;
    let a = s.get("/v1/config?warehouse=anything").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["defaults"], json!({}));
    assert_eq!(a.body["overrides"], json!({}));
    let endpoints: Vec<String> = a.body["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap().to_owned())
        .collect();
    assert!(endpoints.contains(&"GET /v1/{prefix}/namespaces".to_owned()));
    assert!(
        endpoints.contains(&"HEAD /v1/{prefix}/namespaces/{namespace}/tables/{table}".to_owned())
    );
    assert!(endpoints.contains(&"POST /v1/{prefix}/transactions/commit".to_owned()));
    assert_eq!(endpoints.len(), floe_server::rest::routes::ENDPOINTS.len());
    // Every advertised endpoint is routed, with and without a prefix: nothing answers
    // with the router's 404 or 405.
    for e in &endpoints {
        let (method, path) = e.split_once(' ').unwrap();
        for prefix in ["", "/wh"] {
            let uri = path
                .replace("/{prefix}", prefix)
                .replace("{namespace}", "nope")
                .replace("{table}", "t");
            let a = s
                .call(method.parse::<Method>().unwrap(), &uri, Some(json!({})))
                .await;
            assert_ne!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{e} {uri}");
            if a.status == StatusCode::NOT_FOUND {
                assert_ne!(
                    a.body["error"]["type"], "NotFoundException",
                    "{e} {uri}: {}",
                    a.text
                );
            }
        }
    }
}

#[tokio::test]
async fn namespace_crud() {
    let s = TestServer::new().await;
    let a = s
        .post(
            "/v1/namespaces",
            json!({"namespace": ["db"], "properties": {"owner": "me"}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(
        a.body,
        json!({"namespace": ["db"], "properties": {"owner": "me"}})
    );

    let a = s.post("/v1/namespaces", json!({"namespace": ["db"]})).await;
    a.assert_error(409, "AlreadyExistsException");

    let a = s.get("/v1/namespaces/db").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["properties"]["owner"], "me");

    let a = s.call(Method::HEAD, "/v1/namespaces/db", None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = s.call(Method::HEAD, "/v1/namespaces/nope", None).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    let a = s.get("/v1/namespaces/nope").await;
    a.assert_error(404, "NoSuchNamespaceException");

    let a = s.get("/v1/namespaces").await;
    assert_eq!(a.body["namespaces"], json!([["db"]]));
    assert!(a.body.get("next-page-token").is_none());

    let a = s.call(Method::DELETE, "/v1/namespaces/db", None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    let a = s.call(Method::DELETE, "/v1/namespaces/db", None).await;
    a.assert_error(404, "NoSuchNamespaceException");
}

#[tokio::test]
async fn nested_namespaces_are_encoded_with_unit_separator() {
    let s = TestServer::new().await;
    s.create_namespace(&["a"]).await;
    s.create_namespace(&["a", "b c"]).await;
    s.create_namespace(&["a", "d"]).await;
    let a = s.get("/v1/namespaces/a%1Fb%20c").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["namespace"], json!(["a", "b c"]));
    // Lower-case escape and the prefixed form work too.
    let a = s.get("/v1/some-prefix/namespaces/a%1fd").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    let a = s.get("/v1/namespaces?parent=a").await;
    assert_eq!(a.body["namespaces"], json!([["a", "b c"], ["a", "d"]]));
    let a = s.get("/v1/namespaces?parent=a%1Fd").await;
    assert_eq!(a.body["namespaces"], json!([]));
    let a = s.get("/v1/namespaces?parent=zz").await;
    a.assert_error(404, "NoSuchNamespaceException");

    // Not empty: has children.
    let a = s.call(Method::DELETE, "/v1/namespaces/a", None).await;
    a.assert_error(409, "NamespaceNotEmptyException");
}

#[tokio::test]
async fn namespace_pagination() {
    let s = TestServer::new().await;
    for n in ["n1", "n2", "n3"] {
        s.create_namespace(&[n]).await;
    }
    let a = s.get("/v1/namespaces?pageSize=2").await;
    assert_eq!(a.body["namespaces"], json!([["n1"], ["n2"]]));
    let token = a.body["next-page-token"].as_str().unwrap().to_owned();
    let a = s
        .get(&format!("/v1/namespaces?pageSize=2&pageToken={token}"))
        .await;
    assert_eq!(a.body["namespaces"], json!([["n3"]]));
    assert!(a.body.get("next-page-token").is_none());
    let a = s.get("/v1/namespaces?pageSize=zero").await;
    a.assert_error(400, "BadRequestException");
}

#[tokio::test]
async fn namespace_properties() {
    let s = TestServer::new().await;
    s.post(
        "/v1/namespaces",
        json!({"namespace": ["db"], "properties": {"a": "1", "b": "2"}}),
    )
    .await;
    let a = s
        .post(
            "/v1/namespaces/db/properties",
            json!({"removals": ["a", "zz"], "updates": {"c": "3"}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["updated"], json!(["c"]));
    assert_eq!(a.body["removed"], json!(["a"]));
    assert_eq!(a.body["missing"], json!(["zz"]));
    let a = s.get("/v1/namespaces/db").await;
    assert_eq!(a.body["properties"], json!({"b": "2", "c": "3"}));

    let a = s
        .post(
            "/v1/namespaces/db/properties",
            json!({"removals": ["b"], "updates": {"b": "x"}}),
        )
        .await;
    a.assert_error(422, "UnprocessableEntityException");
    let a = s
        .post("/v1/namespaces/nope/properties", json!({"removals": []}))
        .await;
    a.assert_error(404, "NoSuchNamespaceException");
}

#[tokio::test]
async fn bad_bodies_are_400_with_the_reason() {
    let s = TestServer::new().await;
    let a = s
        .raw(Method::POST, "/v1/namespaces", "{\"namespace\": [\"x\"")
        .await;
    let m = a.assert_error(400, "BadRequestException");
    assert!(m.contains("malformed request body"), "{m}");
    let a = s
        .post(
            "/v1/namespaces",
            json!({"namespace": ["x"], "propertes": {}}),
        )
        .await;
    let m = a.assert_error(400, "BadRequestException");
    assert!(m.contains("unknown field `propertes`"), "{m}");
    let a = s.post("/v1/namespaces", json!({"namespace": "x"})).await;
    a.assert_error(400, "BadRequestException");
    let a = s
        .post("/v1/namespaces", json!({"namespace": ["../etc"]}))
        .await;
    a.assert_error(400, "BadRequestException");
    // Nothing was created.
    assert_eq!(s.get("/v1/namespaces").await.body["namespaces"], json!([]));
}
