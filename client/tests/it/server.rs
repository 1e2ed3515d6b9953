//! A real `floe serve` in this process: the server's router over a `SqlCatalog` on a
//! fresh database and warehouse, on a random local port; optional middleware to
//! inject faults (a lost answer, a 401, a rewritten config) and count requests.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use floe_catalog::{Catalog, SqlCatalog, Warehouse};
use floe_client::rest::RestCatalog;
use floe_server::app::{AppState, Settings, router};

use crate::common::{Db, Fixture};
use crate::conformance::Harness;

/// A running server and the catalog behind it.
pub struct TestServer {
    pub uri: String,
    pub fx: Fixture,
    pub sql: Arc<SqlCatalog>,
    pub requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl TestServer {
    /// A server with default settings (no authentication).
    pub async fn start(db: Db) -> Self {
        Self::start_with(db, Settings::default(), |r| r).await
    }

    /// A server with `settings`, its router wrapped by `wrap` (fault injection).
    pub async fn start_with(
        db: Db,
        settings: Settings,
        wrap: impl FnOnce(Router) -> Router,
    ) -> Self {
        let fx = Fixture::new(db).await;
        let sql = Arc::new(fx.catalog().await);
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&requests);
        let app = wrap(router(AppState::for_sql_catalog(
            Arc::clone(&sql),
            settings,
        )))
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let counter = Arc::clone(&counter);
                async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    next.run(req).await
                }
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            uri,
            fx,
            sql,
            requests,
            task,
        }
    }

    /// A client of this server with default settings.
    pub async fn client(&self) -> RestCatalog {
        RestCatalog::connect(&self.uri).await.unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Harness for TestServer {
    async fn catalog(&self) -> Arc<dyn Catalog> {
        Arc::new(self.client().await)
    }

    fn warehouse_dir(&self) -> &Path {
        self.fx.warehouse.path()
    }

    fn warehouse_root(&self) -> String {
        Warehouse::new(&self.fx.warehouse_path()).unwrap().root()
    }

    fn exact_commit_status(&self) -> bool {
        false
    }

    async fn expire_idempotency_keys(&self, before_ms: i64) -> u64 {
        self.sql.expire_idempotency_keys(before_ms).await.unwrap()
    }
}
