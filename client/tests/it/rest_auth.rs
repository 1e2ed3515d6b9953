//! Authentication through a real server: static bearer tokens, OAuth2 client
//! credentials, and token refresh (before expiry, and after a 401).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use floe_catalog::{Catalog, ErrorKind};
use floe_client::rest::RestCatalog;
use floe_server::app::Settings;
use floe_server::auth::AuthConfig;

use crate::common::{Db, ns};
use crate::server::TestServer;

fn settings(tokens: &[&str], clients: &[(&str, &str)], ttl: u64) -> Settings {
    Settings {
        auth: AuthConfig {
            tokens: tokens.iter().map(|t| (*t).to_owned()).collect(),
            clients: clients
                .iter()
                .map(|(i, s)| ((*i).to_owned(), (*s).to_owned()))
                .collect(),
            signing_key: None,
            token_ttl_secs: ttl,
        },
        ..Settings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_bearer_token() {
    let server = TestServer::start_with(Db::Sqlite, settings(&["s3cret"], &[], 3600), |r| r).await;
    // No token: the handshake is refused, and the error says so and where.
    let e = RestCatalog::connect(&server.uri).await.unwrap_err();
    assert!(e.message().starts_with("not authorized"), "{e}");
    assert!(
        e.message().contains(&format!("{}/v1/config", server.uri)),
        "{e}"
    );
    let e = RestCatalog::builder(&server.uri)
        .token("wrong")
        .build()
        .await
        .unwrap_err();
    assert!(e.message().contains("not authorized"), "{e}");
    let c = RestCatalog::builder(&server.uri)
        .token("s3cret")
        .build()
        .await
        .unwrap();
    c.create_namespace(&ns(&["db"]), HashMap::new())
        .await
        .unwrap();
    assert_eq!(c.list_namespaces(None).await.unwrap(), vec![ns(&["db"])]);
}

/// Counts token requests; with `reject_next` set, answers the next catalog request
/// with 401 (a revoked token) without running it.
#[derive(Clone, Default)]
struct TokenProbe {
    token_requests: Arc<AtomicUsize>,
    reject_next: Arc<AtomicBool>,
}

impl TokenProbe {
    fn layer(&self, router: axum::Router) -> axum::Router {
        let probe = self.clone();
        router.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let probe = probe.clone();
                async move {
                    if req.uri().path() == "/v1/oauth/tokens" {
                        probe.token_requests.fetch_add(1, Ordering::SeqCst);
                    } else if probe.reject_next.swap(false, Ordering::SeqCst) {
                        return (
                            StatusCode::UNAUTHORIZED,
                            r#"{"error":{"message":"token revoked","type":"NotAuthorizedException","code":401}}"#,
                        )
                            .into_response();
                    }
                    next.run(req).await
                }
            },
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oauth2_client_credentials_refresh() {
    let probe = TokenProbe::default();
    let p = probe.clone();
    let server = TestServer::start_with(Db::Sqlite, settings(&[], &[("app", "pw")], 2), move |r| {
        p.layer(r)
    })
    .await;
    let c = RestCatalog::builder(&server.uri)
        .credential("app", "pw")
        .build()
        .await
        .unwrap();
    assert_eq!(probe.token_requests.load(Ordering::SeqCst), 1);
    c.create_namespace(&ns(&["db"]), HashMap::new())
        .await
        .unwrap();
    assert_eq!(probe.token_requests.load(Ordering::SeqCst), 1);

    // The token lives 2 s and is refreshed after 90% of that, before the server
    // would refuse it.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert!(c.namespace_exists(&ns(&["db"])).await.unwrap());
    assert_eq!(probe.token_requests.load(Ordering::SeqCst), 2);

    // A 401 (revoked token): a new token, and the request again.
    probe.reject_next.store(true, Ordering::SeqCst);
    assert_eq!(c.list_namespaces(None).await.unwrap(), vec![ns(&["db"])]);
    assert_eq!(probe.token_requests.load(Ordering::SeqCst), 3);
    assert!(!probe.reject_next.load(Ordering::SeqCst));

    // Wrong credentials: the OAuth2 error and the token URL are named.
    let e = RestCatalog::builder(&server.uri)
        .credential("app", "nope")
        .build()
        .await
        .unwrap_err();
    assert!(e.message().contains("invalid_client"), "{e}");
    assert!(
        e.message()
            .contains(&format!("{}/v1/oauth/tokens", server.uri)),
        "{e}"
    );
    assert_eq!(e.kind(), ErrorKind::DataInvalid);
}
