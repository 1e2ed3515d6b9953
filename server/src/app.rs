//! The application: shared state, the route table and the one middleware stack.
//!
//! Middleware, outermost first (one `tower::ServiceBuilder`): request id
//! (`x-request-id`, generated when absent — a per-process random prefix and a
//! sequence number — and echoed on the answer), tracing (a span per
//! request carrying the id), gzip compression, request metrics, Iceberg error bodies
//! for answers produced by middleware or routing (timeouts, unknown routes, bad path
//! or query), panic catching (500 with an Iceberg error body), timeout (504: a commit
//! cut off has an unknown outcome, which is what clients assume for 504), the request
//! body limit (413 with an Iceberg error body) and bearer-token authentication.
//!
//! ```no_run
//! # async fn demo(catalog: std::sync::Arc<dyn floe_catalog::Catalog>) {
//! use floe_server::app::{AppState, Settings, router};
//! let app = router(AppState::new(catalog, Settings::default()));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8181").await.unwrap();
//! axum::serve(listener, app).await.unwrap();
//! # }
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use floe_catalog::sql::tasks::QueueConfig;
use floe_catalog::{CacheStats, Catalog, SqlCatalog, TableIdent, Warehouse};
use floe_table::io::FileIO;
use floe_table::scan::{FileRead, ObjectStoreFileRead};
use floe_table::stream::{GroupCommitConfig, GroupCommitter};
use floe_table::transaction::AppendRebaser;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::map_response_body::MapResponseBodyLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::{Auth, AuthConfig, Verdict};
use crate::cache::Caches;
use crate::error::{ApiError, INTERNAL_MESSAGE};
use crate::maintenance::Maintenance;
use crate::metrics::Metrics;
use crate::pointers::{DEFAULT_POINTER_TTL, TablePointers};
use crate::rest::extract::BodyLimit;
use crate::rest::load::LoadPointer;
use crate::rest::routes;

/// The response body type of the panic-catching layer.
type PanicBody = tower_http::body::UnsyncBoxBody<axum::body::Bytes, tower::BoxError>;

/// The default request body limit: 16 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The default request timeout: 60 s.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_mins(1);

/// Server settings beyond the catalog.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Request bodies larger than this are refused with 413.
    pub max_body_bytes: usize,
    /// Requests taking longer are answered with 504.
    pub request_timeout: Duration,
    /// A namespace separator to advertise (`namespace-separator`) and accept beside
    /// 0x1F; `None` = only 0x1F.
    pub namespace_separator: Option<String>,
    /// Authentication.
    pub auth: AuthConfig,
    /// Group commit of append intents (`POST .../appends`).
    pub group_commit: GroupCommitConfig,
    /// How long a table's cached metadata pointer answers loads before the catalog's
    /// row is read again: the staleness bound for commits by other processes (commits
    /// through this server are seen by the next load regardless; see
    /// [`crate::pointers`]). Zero reads the row on every load.
    pub table_pointer_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            namespace_separator: None,
            auth: AuthConfig {
                token_ttl_secs: 3600,
                ..AuthConfig::default()
            },
            group_commit: GroupCommitConfig::default(),
            table_pointer_ttl: DEFAULT_POINTER_TTL,
        }
    }
}

/// Reads the catalog's cache statistics for `/metrics`.
pub type CacheStatsFn = Arc<dyn Fn() -> CacheStats + Send + Sync>;

/// The shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    catalog: Arc<dyn Catalog>,
    metrics: Metrics,
    auth: Auth,
    settings: Settings,
    cache_stats: Option<CacheStatsFn>,
    file_io: Option<Arc<dyn FileRead>>,
    warehouse: Option<Warehouse>,
    caches: Caches,
    group_committer: Option<GroupCommitter>,
    rebaser: Option<AppendRebaser>,
    maintenance: Option<Maintenance>,
    table_pointers: TablePointers<LoadPointer>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("catalog", &self.inner.catalog)
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State over `catalog` with `settings`. Without file access, scan planning
    /// answers 406, and without commit notifications every load reads the catalog;
    /// see [`AppState::for_sql_catalog`].
    pub fn new(catalog: Arc<dyn Catalog>, settings: Settings) -> Self {
        Self::build(catalog, settings, None, None, None, None, None, None)
    }

    /// State over `catalog` with `settings`, with a source of cache statistics for
    /// `/metrics`.
    pub fn with_cache_stats(
        catalog: Arc<dyn Catalog>,
        settings: Settings,
        stats: CacheStatsFn,
    ) -> Self {
        Self::build(catalog, settings, Some(stats), None, None, None, None, None)
    }

    /// State over a [`SqlCatalog`]: its metadata-cache statistics on `/metrics`, its
    /// warehouse's object store for server-side scan planning, its maintenance task
    /// queue (default settings) for the maintenance endpoints, and its commit
    /// notifications for the table-pointer cache of loads.
    pub fn for_sql_catalog(catalog: Arc<SqlCatalog>, settings: Settings) -> Self {
        let maintenance = Maintenance::new((*catalog).clone(), QueueConfig::default());
        Self::for_sql_catalog_with_maintenance(catalog, settings, maintenance)
    }

    /// [`AppState::for_sql_catalog`] sharing `maintenance` (its queue and metrics) with
    /// the scheduler and workers of the process.
    pub fn for_sql_catalog_with_maintenance(
        catalog: Arc<SqlCatalog>,
        settings: Settings,
        maintenance: Maintenance,
    ) -> Self {
        let warehouse = catalog.warehouse().clone();
        let store = Arc::clone(warehouse.store());
        let checker = warehouse.clone();
        let io: Arc<dyn FileRead> = Arc::new(ObjectStoreFileRead::with_mapper(store, move |l| {
            warehouse.path(l)
        }));
        let stats = Arc::clone(&catalog);
        let commits = catalog.subscribe_commits();
        let committer = GroupCommitter::new(
            Arc::clone(&catalog) as Arc<dyn Catalog>,
            Arc::clone(checker.store()),
            settings.group_commit.clone(),
        );
        Self::build(
            catalog,
            settings,
            Some(Arc::new(move || stats.cache_stats())),
            Some(io),
            Some(checker),
            Some(committer),
            Some(maintenance),
            Some(commits),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        catalog: Arc<dyn Catalog>,
        settings: Settings,
        cache_stats: Option<CacheStatsFn>,
        file_io: Option<Arc<dyn FileRead>>,
        warehouse: Option<Warehouse>,
        group_committer: Option<GroupCommitter>,
        maintenance: Option<Maintenance>,
        commits: Option<tokio::sync::broadcast::Receiver<TableIdent>>,
    ) -> Self {
        // Blind appends against a stale head are rebased when the server can reach
        // the table files (a warehouse is known).
        let rebaser = warehouse
            .as_ref()
            .and_then(|w| FileIO::from_warehouse(w).ok())
            .map(|io| AppendRebaser::new(Arc::clone(&catalog), io));
        Self {
            inner: Arc::new(Inner {
                table_pointers: TablePointers::new(settings.table_pointer_ttl, commits),
                rebaser,
                catalog,
                metrics: Metrics::default(),
                auth: Auth::new(settings.auth.clone()),
                settings,
                cache_stats,
                file_io,
                warehouse,
                caches: Caches::default(),
                group_committer,
                maintenance,
            }),
        }
    }

    /// How scans read table files (manifest lists, manifests), if the catalog has a
    /// warehouse.
    pub fn file_io(&self) -> Option<Arc<dyn FileRead>> {
        self.inner.file_io.clone()
    }

    /// The warehouse, when known: table properties that place files
    /// (`write.data.path`, `write.metadata.path`, ...) must point inside it.
    pub fn warehouse(&self) -> Option<&Warehouse> {
        self.inner.warehouse.as_ref()
    }

    /// The group committer of append intents, when the catalog has an object store.
    pub fn group_committer(&self) -> Option<&GroupCommitter> {
        self.inner.group_committer.as_ref()
    }

    /// Commits with the rebase of blind appends (table property
    /// `floe.commit.rebase-appends`), when the catalog has a warehouse.
    pub fn rebaser(&self) -> Option<&AppendRebaser> {
        self.inner.rebaser.as_ref()
    }

    /// The cache of tables' current metadata locations for loads.
    pub fn table_pointers(&self) -> &TablePointers<LoadPointer> {
        &self.inner.table_pointers
    }

    /// The server's caches (load results, manifests).
    pub fn caches(&self) -> &Caches {
        &self.inner.caches
    }

    /// The maintenance queue and metrics, when the catalog has a task queue (a
    /// [`SqlCatalog`]).
    pub fn maintenance(&self) -> Option<&Maintenance> {
        self.inner.maintenance.as_ref()
    }

    /// The catalog.
    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        &self.inner.catalog
    }

    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The authenticator.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The catalog's cache statistics, if known.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.inner.cache_stats.as_ref().map(|f| f())
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The complete application: routes, fallback and middleware.
pub fn router(state: AppState) -> Router {
    let settings = state.settings().clone();
    let limit = settings.max_body_bytes;
    let stack = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(SequentialRequestId::new()))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(CompressionLayer::new())
        .layer(middleware::from_fn_with_state(state.clone(), track_metrics))
        .layer(middleware::map_response(iceberg_error_body))
        .layer(MapResponseBodyLayer::new(|b: PanicBody| Body::new(b)))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::GATEWAY_TIMEOUT,
            settings.request_timeout,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::Extension(BodyLimit(limit)))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    routes::routes()
        .fallback(not_found)
        .layer(stack)
        .with_state(state)
}

/// Request ids for requests that come without one: a random 64-bit prefix per
/// router (so ids from replicas or restarts do not collide) and a sequence number —
/// unique like a UUID, without asking the operating system for randomness per request.
#[derive(Debug, Clone)]
struct SequentialRequestId {
    prefix: u64,
    next: Arc<std::sync::atomic::AtomicU64>,
}

impl SequentialRequestId {
    fn new() -> Self {
        let (high, low) = uuid::Uuid::new_v4().as_u64_pair();
        Self {
            prefix: high ^ low,
            next: Arc::default(),
        }
    }
}

impl MakeRequestId for SequentialRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = format!("{:016x}-{n:x}", self.prefix);
        HeaderValue::from_str(&id).ok().map(RequestId::new)
    }
}

async fn not_found(req: Request) -> ApiError {
    let path = req.uri().path();
    if let Some(feature) = unsupported_feature(path) {
        return ApiError::for_status(
            StatusCode::NOT_ACCEPTABLE,
            format!(
                "{feature} are not supported by this server ({} {path}); see the `endpoints` of /v1/config",
                req.method()
            ),
        );
    }
    ApiError::for_status(
        StatusCode::NOT_FOUND,
        format!("no route for {} {}", req.method(), req.uri().path()),
    )
}

/// The Iceberg REST features Floe does not serve, recognized by path so that a
/// client calling them anyway gets the spec's `406 UnsupportedOperationException`
/// rather than a 404 it could read as a missing namespace or table.
fn unsupported_feature(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/v1/")?;
    let segments: Vec<&str> = rest.split('/').collect();
    // `/v1/[{prefix}/]namespaces/{ns}/views[/...]`, `/v1/[{prefix}/]views/rename`,
    // `.../tables/{table}/credentials`.
    let at = |i: usize| segments.get(i).copied();
    for start in [0, 1] {
        match (at(start), at(start + 2), at(start + 4)) {
            (Some("namespaces"), Some("views"), _) => return Some("views"),
            (Some("views"), _, _) if at(start + 1) == Some("rename") => return Some("views"),
            (Some("namespaces"), Some("tables"), Some("credentials")) => {
                return Some("vended storage credentials");
            }
            _ => {}
        }
    }
    None
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::for_status(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_MESSAGE).into_response()
}

/// Gives error answers that are not Iceberg JSON yet (routing, path or query
/// rejections, timeouts) an Iceberg error body.
async fn iceberg_error_body(response: Response) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 8 * 1024)
        .await
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .filter(|t| !t.is_empty() && !status.is_server_error());
    let message = text.unwrap_or_else(|| {
        if status == StatusCode::GATEWAY_TIMEOUT {
            "the request timed out".to_owned()
        } else {
            status
                .canonical_reason()
                .unwrap_or("request failed")
                .to_owned()
        }
    });
    let mut fixed = ApiError::for_status(status, message).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            fixed.headers_mut().insert(name.clone(), value.clone());
        }
    }
    fixed
}

async fn track_metrics(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Shared, not copied: the route template is reference-counted and a standard
    // method is a plain value.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let start = Instant::now();
    let response = next.run(req).await;
    state.metrics().record_request(
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        method.as_str(),
        response.status().as_u16(),
        start.elapsed(),
    );
    response
}

/// Paths that never need a token: health, metrics, the OpenAPI document and the token
/// endpoint itself.
fn is_public(path: &str) -> bool {
    routes::SERVICE_ROUTES
        .iter()
        .any(|r| r.public && r.path == path)
}

async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let auth = state.auth();
    if !auth.enabled() || is_public(req.uri().path()) {
        return next.run(req).await;
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match token.map(|t| auth.verify(t, now_secs())) {
        Some(Verdict::Valid) => next.run(req).await,
        Some(Verdict::Expired) => ApiError::new(
            StatusCode::from_u16(419).unwrap_or(StatusCode::UNAUTHORIZED),
            "NotAuthorizedException",
            "the bearer token has expired",
        )
        .into_response(),
        Some(Verdict::Invalid) => ApiError::unauthorized("invalid bearer token").into_response(),
        None => ApiError::unauthorized("a bearer token is required (Authorization: Bearer ...)")
            .into_response(),
    }
}

/// A response with a JSON body.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A response with a JSON body already in memory (e.g. from a cache).
pub(crate) fn json_body(status: StatusCode, body: axum::body::Bytes) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::unsupported_feature;

    #[test]
    fn unsupported_features_by_path() {
        for (path, feature) in [
            ("/v1/namespaces/db/views", Some("views")),
            ("/v1/namespaces/db/views/v", Some("views")),
            ("/v1/cat/namespaces/db/views/v", Some("views")),
            ("/v1/views/rename", Some("views")),
            ("/v1/cat/views/rename", Some("views")),
            (
                "/v1/namespaces/db/tables/t/credentials",
                Some("vended storage credentials"),
            ),
            (
                "/v1/cat/namespaces/db/tables/t/credentials",
                Some("vended storage credentials"),
            ),
            ("/v1/namespaces/db/tables/views", None),
            ("/v1/namespaces/db/tables", None),
            ("/v1/nothing", None),
            ("/health", None),
        ] {
            assert_eq!(unsupported_feature(path), feature, "{path}");
        }
    }
}
