//! Middleware: auth, body limit, request ids, unknown routes, metrics, health.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use floe_server::app::Settings;
use floe_server::auth::AuthConfig;
use serde_json::json;

use crate::common::TestServer;

fn auth_settings() -> Settings {
    Settings {
        auth: AuthConfig {
            tokens: vec!["static-token".into()],
            clients: vec![("app".into(), "s3cret".into())],
            signing_key: None,
            token_ttl_secs: 60,
        },
        ..Settings::default()
    }
}

fn with_token(uri: &str, token: &str) -> Request<Body> {
    Request::builder()
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn tokens_are_required_when_configured() {
    let s = TestServer::with_settings(auth_settings()).await;
    let a = s.get("/v1/config").await;
    a.assert_error(401, "NotAuthorizedException");
    assert_eq!(a.headers[header::WWW_AUTHENTICATE], "Bearer");
    let a = s.get("/v1/namespaces").await;
    a.assert_error(401, "NotAuthorizedException");
    let a = s.send(with_token("/v1/namespaces", "wrong")).await;
    a.assert_error(401, "NotAuthorizedException");
    let a = s.send(with_token("/v1/namespaces", "static-token")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    // Health and metrics stay open.
    assert_eq!(s.get("/health").await.status, StatusCode::OK);
    assert_eq!(s.get("/metrics").await.status, StatusCode::OK);
}

#[tokio::test]
async fn oauth_client_credentials() {
    let s = TestServer::with_settings(auth_settings()).await;
    let form = |body: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/v1/oauth/tokens")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let a = s
        .send(form(
            "grant_type=client_credentials&client_id=app&client_secret=s3cret&scope=catalog",
        ))
        .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(a.body["token_type"], "bearer");
    assert_eq!(a.body["expires_in"], 60);
    let token = a.body["access_token"].as_str().unwrap().to_owned();
    let a = s.send(with_token("/v1/config", &token)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);

    let a = s
        .send(form(
            "grant_type=client_credentials&client_id=app&client_secret=nope",
        ))
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.body["error"], "invalid_client");
    let a = s.send(form("grant_type=password&username=x")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn huge_bodies_are_413() {
    let s = TestServer::with_settings(Settings {
        max_body_bytes: 1024,
        ..Settings::default()
    })
    .await;
    let big = json!({"namespace": ["x"], "properties": {"k": "v".repeat(4096)}});
    let a = s.post("/v1/namespaces", big.clone()).await;
    a.assert_error(413, "BadRequestException");
    // Without a content length (streamed body) too.
    let stream = futures_body(&serde_json::to_vec(&big).unwrap());
    let a = s
        .send(
            Request::builder()
                .method(Method::POST)
                .uri("/v1/namespaces")
                .body(stream)
                .unwrap(),
        )
        .await;
    a.assert_error(413, "BadRequestException");
    assert_eq!(s.get("/v1/namespaces").await.body["namespaces"], json!([]));
}

fn futures_body(bytes: &[u8]) -> Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        bytes.chunks(100).map(|c| Ok(c.to_vec())).collect();
    Body::from_stream(futures::stream::iter(chunks))
}

#[tokio::test]
async fn request_ids_and_unknown_routes() {
    let s = TestServer::new().await;
    let a = s.get("/v1/nothing/here/at/all").await;
    a.assert_error(404, "NotFoundException");
    assert!(a.headers.contains_key("x-request-id"));
    let req = Request::builder()
        .uri("/health")
        .header("x-request-id", "abc-123")
        .body(Body::empty())
        .unwrap();
    let a = s.send(req).await;
    assert_eq!(a.headers["x-request-id"], "abc-123");
    let a = s.call(Method::PUT, "/v1/namespaces", None).await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.body["error"]["code"], 405);
}

#[tokio::test]
async fn metrics_count_requests() {
    let s = TestServer::new().await;
    s.get("/v1/config").await;
    s.get("/v1/namespaces/nope").await;
    let a = s.get("/metrics").await;
    assert!(
        a.text.contains(
            r#"floe_http_requests_total{route="/v1/config",method="GET",status="200"} 1"#
        ),
        "{}",
        a.text
    );
    assert!(a.text.contains(
        r#"floe_http_requests_total{route="/v1/namespaces/{namespace}",method="GET",status="404"} 1"#
    ), "{}", a.text);
    assert!(a.text.contains("floe_metadata_cache_hits_total"));
}

#[tokio::test]
async fn views_and_credentials_are_unsupported_operations() {
    let s = TestServer::new().await;
    s.create_namespace(&["db"]).await;
    s.create_table("db", "t").await;
    for (method, uri) in [
        (Method::GET, "/v1/namespaces/db/views"),
        (Method::GET, "/v1/namespaces/db/views/v"),
        (Method::HEAD, "/v1/namespaces/db/views/v"),
        (Method::POST, "/v1/views/rename"),
        (Method::GET, "/v1/namespaces/db/tables/t/credentials"),
        (Method::GET, "/v1/pfx/namespaces/db/tables/t/credentials"),
    ] {
        let a = s.call(method.clone(), uri, None).await;
        assert_eq!(a.status, StatusCode::NOT_ACCEPTABLE, "{method} {uri}");
        if method != Method::HEAD {
            a.assert_error(406, "UnsupportedOperationException");
        }
    }
    // Neither is advertised.
    let config = s.get("/v1/config").await;
    let endpoints = config.body["endpoints"].as_array().unwrap();
    assert!(
        endpoints
            .iter()
            .all(|e| !e.as_str().unwrap().contains("views")
                && !e.as_str().unwrap().contains("credentials"))
    );
}
