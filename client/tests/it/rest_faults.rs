//! Faults and the error model: Iceberg error bodies mapped to kinds, a server that is
//! down or answers garbage, lost commit answers (unknown outcome, or a safe retry with
//! an idempotency key), retried reads, prefixes and namespace encoding on the wire,
//! and Floe extensions that the server does not offer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use floe_catalog::{Catalog, ErrorKind, WriterProgressUpdate};
use floe_client::rest::RestCatalog;
use floe_server::app::Settings;

use crate::common::{Db, append_commit, assert_kind, creation, ns, set_property, table, tid};
use crate::server::TestServer;

fn fast(uri: &str) -> floe_client::rest::RestCatalogBuilder {
    RestCatalog::builder(uri).retries(3, Duration::from_millis(5))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_down_is_named() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let e = fast(&uri).build().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(
        e.message().contains("cannot reach the catalog server"),
        "{e}"
    );
    assert!(e.message().contains(&format!("GET {uri}/v1/config")), "{e}");
    // Not a URL at all.
    let e = RestCatalog::connect("http//nope").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DataInvalid);
    assert!(e.message().contains("http//nope"), "{e}");
}

/// A server that is not an Iceberg catalog: it answers `body` with `status` to
/// everything.
async fn garbage_server(status: StatusCode, body: &'static str) -> String {
    let app = Router::new().fallback(move || async move { (status, body) });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    uri
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_answers_are_named() {
    let uri = garbage_server(StatusCode::OK, "<html>hello</html>").await;
    let e = fast(&uri).build().await.unwrap_err();
    assert!(e.message().contains(&format!("GET {uri}/v1/config")), "{e}");
    assert!(e.message().contains("not a valid catalog config"), "{e}");
    assert!(e.message().contains("<html>hello"), "{e}");

    let uri = garbage_server(StatusCode::INTERNAL_SERVER_ERROR, "oops").await;
    let e = fast(&uri).build().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.message().contains("HTTP 500"), "{e}");
    assert!(e.message().contains("\"oops\""), "{e}");

    // A config that parses, then table answers that do not.
    let uri = garbage_server(
        StatusCode::OK,
        r#"{"defaults":{},"overrides":{},"metadata":{"x":1}}"#,
    )
    .await;
    let c = fast(&uri).build().await.unwrap();
    let e = c.load_table(&tid(&["db"], "t")).await.unwrap_err();
    assert!(e.message().contains("invalid table metadata"), "{e}");
    assert!(
        e.message()
            .contains(&format!("{uri}/v1/namespaces/db/tables/t")),
        "{e}"
    );
    let e = c.list_namespaces(None).await.unwrap_err();
    assert!(e.message().contains("ListNamespacesResponse"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iceberg_errors_map_to_kinds() {
    let server = TestServer::start(Db::Sqlite).await;
    let c = server.client().await;
    let t = table(&c).await;
    let e = c.load_table(&tid(&["db"], "nope")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoSuchTable);
    assert!(e.message().contains("NoSuchTableException"), "{e}");
    assert!(e.message().contains("db.nope"), "{e}");
    assert_kind(
        c.create_table(&ns(&["db"]), creation("t")).await,
        ErrorKind::AlreadyExists,
    );
    c.commit_table(append_commit(&t.ident, &t.metadata, 5))
        .await
        .unwrap();
    // Built on the old head: the requirement fails.
    let e = c
        .commit_table(append_commit(&t.ident, &t.metadata, 6))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CommitFailed);
    assert!(e.message().contains("CommitFailedException"), "{e}");
    assert_kind(
        c.drop_namespace(&ns(&["db"])).await,
        ErrorKind::NamespaceNotEmpty,
    );
    assert_kind(
        c.load_namespace(&ns(&["nope"])).await,
        ErrorKind::NoSuchNamespace,
    );
    // Floe's writer-progress extension is offered by floe serve: no writers yet.
    assert!(c.supports("GET", floe_client::rest::catalog::WRITERS_ENDPOINT));
    assert!(c.list_writers(&t.ident).await.unwrap().is_empty());
    // A standard commit cannot carry writer progress over REST: a clear refusal.
    let progress = WriterProgressUpdate {
        writer_id: "w".into(),
        epoch: 1,
        seq: 1,
        snapshot_id: None,
        watermark: None,
    };
    let e = c
        .commit(
            vec![set_property(&t.ident, "k", "v").with_writer_progress(progress)],
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::FeatureUnsupported);
    assert!(e.message().contains("writer progress"), "{e}");
    assert!(
        c.load_table(&t.ident)
            .await
            .unwrap()
            .metadata
            .properties()
            .get("k")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_are_retried() {
    let lose = Arc::new(AtomicUsize::new(0));
    let l = Arc::clone(&lose);
    let server = TestServer::start_with(Db::Sqlite, Settings::default(), move |r| {
        lose_answers(r, |m, p| m == "GET" && p.ends_with("/tables/t"), l)
    })
    .await;
    let c = fast(&server.uri).build().await.unwrap();
    let t = table(&c).await;
    lose.store(2, Ordering::SeqCst);
    let before = server.requests.load(Ordering::SeqCst);
    let loaded = c.load_table(&t.ident).await.unwrap();
    assert_eq!(loaded.metadata_location, t.metadata_location);
    assert_eq!(server.requests.load(Ordering::SeqCst) - before, 3);
    // More losses than attempts: the last answer's error.
    lose.store(5, Ordering::SeqCst);
    let e = c.load_table(&t.ident).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    assert!(e.message().contains("HTTP 503"), "{e}");
}

/// Runs every request; for a matching one, throws the answer away and answers 503
/// instead (the request was carried out, the client cannot know).
fn lose_answers(
    router: Router,
    matches: impl Fn(&str, &str) -> bool + Clone + Send + Sync + 'static,
    times: Arc<AtomicUsize>,
) -> Router {
    router.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let matches = matches.clone();
            let times = Arc::clone(&times);
            async move {
                let hit = matches(req.method().as_str(), req.uri().path());
                let answer = next.run(req).await;
                if hit && times.load(Ordering::SeqCst) > 0 {
                    times.fetch_sub(1, Ordering::SeqCst);
                    return (StatusCode::SERVICE_UNAVAILABLE, "lost").into_response();
                }
                answer
            }
        },
    ))
}

fn is_commit(method: &str, path: &str) -> bool {
    method == "POST"
        && path.starts_with("/v1/")
        && path.contains("/tables/")
        && !path.ends_with("/metrics")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_commit_answer_is_state_unknown() {
    let lose = Arc::new(AtomicUsize::new(0));
    let l = Arc::clone(&lose);
    let server = TestServer::start_with(Db::Sqlite, Settings::default(), move |r| {
        lose_answers(config_keys(r, None), is_commit, l)
    })
    .await;
    let c = fast(&server.uri).build().await.unwrap();
    let t = table(&c).await;
    lose.store(1, Ordering::SeqCst);
    let e = c
        .commit_table(append_commit(&t.ident, &t.metadata, 1))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CommitStateUnknown, "{e}");
    // Sent once (no idempotency key the server honours), and it did commit.
    let now = c.load_table(&t.ident).await.unwrap();
    assert_eq!(now.metadata.current_snapshot_id(), Some(1));
    assert_eq!(now.metadata.snapshots().len(), 1);
}

/// Sets (`Some`) or removes (`None`) `idempotency-key-lifetime` in the config answer, and
/// sets the prefix `wh`.
fn config_keys(router: Router, lifetime: Option<&'static str>) -> Router {
    router.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| async move {
            let config = req.uri().path() == "/v1/config";
            let answer = next.run(req).await;
            if !config {
                return answer;
            }
            let bytes = axum::body::to_bytes(answer.into_body(), 1 << 20)
                .await
                .unwrap();
            let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            match lifetime {
                Some(l) => v["idempotency-key-lifetime"] = l.into(),
                None => {
                    v.as_object_mut()
                        .unwrap()
                        .remove("idempotency-key-lifetime");
                }
            }
            v["overrides"]["prefix"] = "wh".into();
            Response::builder()
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&v).unwrap()))
                .unwrap()
        },
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_commit_answer_is_retried_with_idempotency_key() {
    let lose = Arc::new(AtomicUsize::new(0));
    let l = Arc::clone(&lose);
    let paths = Arc::new(Mutex::new(Vec::<String>::new()));
    let p = Arc::clone(&paths);
    let server = TestServer::start_with(Db::Sqlite, Settings::default(), move |r| {
        let r = lose_answers(config_keys(r, Some("PT1H")), is_commit, l);
        r.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let p = Arc::clone(&p);
                async move {
                    p.lock()
                        .unwrap()
                        .push(format!("{} {}", req.method(), req.uri().path()));
                    next.run(req).await
                }
            },
        ))
    })
    .await;
    let c = fast(&server.uri).build().await.unwrap();
    assert_eq!(c.config().prefix.as_deref(), Some("wh"));
    let t = table(&c).await;
    lose.store(2, Ordering::SeqCst);
    let done = c
        .commit_table(append_commit(&t.ident, &t.metadata, 1))
        .await
        .unwrap();
    // Three attempts with one key: the first committed, the repeats were replays.
    assert_eq!(done.metadata.current_snapshot_id(), Some(1));
    let now = c.load_table(&t.ident).await.unwrap();
    assert_eq!(now.metadata.snapshots().len(), 1);
    assert_eq!(now.metadata_location, done.metadata_location);
    let seen = paths.lock().unwrap().clone();
    let commits = seen
        .iter()
        .filter(|p| p.as_str() == "POST /v1/wh/namespaces/db/tables/t")
        .count();
    assert_eq!(commits, 3, "{seen:?}");

    // Nested namespaces travel as one segment joined by %1F, under the prefix.
    c.create_namespace(&ns(&["db", "eu"]), HashMap::new())
        .await
        .unwrap();
    c.create_table(&ns(&["db", "eu"]), creation("x"))
        .await
        .unwrap();
    c.load_table(&tid(&["db", "eu"], "x")).await.unwrap();
    let seen = paths.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|p| p == "GET /v1/wh/namespaces/db%1Feu/tables/x"),
        "{seen:?}"
    );
}
