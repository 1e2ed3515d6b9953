//! The route table and the handlers of the Iceberg REST API.
//!
//! [`ENDPOINTS`] is the one list of Iceberg endpoints: the router registers each of them
//! twice, as `/v1/...` and as `/v1/{prefix}/...` (the server advertises no prefix, so
//! PyIceberg calls `/v1/namespaces`; a client configured with a prefix still works),
//! and `GET /v1/config` advertises exactly this list. Handlers decode identifiers and
//! bodies and call the catalog; errors go through [`ApiError`]'s one mapping.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter, get, on, post};
use floe_catalog::{
    CommitStatus, LoadedTable, NamespaceIdent, TableCommit, TableCreation, TableIdent,
};
use floe_spec::ErrorKind;
use floe_spec::commit::TableRequirement;
use serde::Serialize;

use crate::app::{AppState, json_response, now_secs};
use crate::auth::TokenError;
use crate::error::{ApiError, ApiResult};
use crate::idempotency::IDEMPOTENCY_KEY_LIFETIME_ISO;
use crate::metrics::ExtraMetric;
use crate::rest::extract::{IcebergJson, parse_bool, split_namespace};
use crate::rest::load::{self, SnapshotMode, etag, metadata_value};
use crate::rest::model::{
    CatalogConfig, CommitTableRequest, CommitTableResponse, CommitTransactionRequest,
    CreateNamespaceRequest, CreateTableRequest, ListNamespacesResponse, ListTablesResponse,
    NamespaceResponse, OAuthError, OAuthTokenRequest, OAuthTokenResponse, RegisterTableRequest,
    RenameTableRequest, ReportMetricsRequest, TableIdentifier, UpdateNamespacePropertiesRequest,
    UpdateNamespacePropertiesResponse,
};
use crate::rest::{appends, maintenance, openapi, plan};

/// One Iceberg endpoint: method and path below `/v1/{prefix}`, with its OpenAPI
/// operation id and success status.
#[derive(Debug, Clone, Copy)]
pub struct Endpoint {
    /// The HTTP method.
    pub method: &'static str,
    /// The path after `/v1/{prefix}` (OpenAPI placeholders).
    pub path: &'static str,
    /// The OpenAPI `operationId` (the Iceberg document's where it has one).
    pub operation: &'static str,
    /// The status of a successful answer.
    pub ok: u16,
}

macro_rules! endpoints {
    ($($method:literal $path:literal $op:literal $ok:literal),* $(,)?) => {
        /// Every Iceberg endpoint Floe serves (advertised by `GET /v1/config`).
        pub const ENDPOINTS: &[Endpoint] =
            &[$(Endpoint { method: $method, path: $path, operation: $op, ok: $ok }),*];
    };
}

endpoints! {
    "GET" "/namespaces" "listNamespaces" 200,
    "POST" "/namespaces" "createNamespace" 200,
    "GET" "/namespaces/{namespace}" "loadNamespaceMetadata" 200,
    "HEAD" "/namespaces/{namespace}" "namespaceExists" 204,
    "DELETE" "/namespaces/{namespace}" "dropNamespace" 204,
    "POST" "/namespaces/{namespace}/properties" "updateProperties" 200,
    "GET" "/namespaces/{namespace}/tables" "listTables" 200,
    "POST" "/namespaces/{namespace}/tables" "createTable" 200,
    "GET" "/namespaces/{namespace}/tables/{table}" "loadTable" 200,
    "HEAD" "/namespaces/{namespace}/tables/{table}" "tableExists" 204,
    "POST" "/namespaces/{namespace}/tables/{table}" "updateTable" 200,
    "DELETE" "/namespaces/{namespace}/tables/{table}" "dropTable" 204,
    "POST" "/namespaces/{namespace}/register" "registerTable" 200,
    "POST" "/namespaces/{namespace}/tables/{table}/metrics" "reportMetrics" 204,
    "POST" "/namespaces/{namespace}/tables/{table}/plan" "planTableScan" 200,
    "GET" "/namespaces/{namespace}/tables/{table}/plan/{plan-id}" "fetchPlanningResult" 200,
    "DELETE" "/namespaces/{namespace}/tables/{table}/plan/{plan-id}" "cancelPlanning" 204,
    "POST" "/namespaces/{namespace}/tables/{table}/tasks" "fetchScanTasks" 200,
    "POST" "/namespaces/{namespace}/tables/{table}/appends" "appendFiles" 200,
    "GET" "/namespaces/{namespace}/tables/{table}/writers" "listWriters" 200,
    "POST" "/namespaces/{namespace}/tables/{table}/writers/{writer-id}" "openWriter" 200,
    "POST" "/tables/rename" "renameTable" 204,
    "POST" "/transactions/commit" "commitTransaction" 204,
    "POST" "/namespaces/{namespace}/tables/{table}/maintenance" "requestMaintenance" 202,
    "GET" "/maintenance/tasks" "listMaintenanceTasks" 200,
    "GET" "/maintenance/tasks/{id}" "getMaintenanceTask" 200,
}

/// A route outside `/v1/{prefix}`: the config and token endpoints of the Iceberg API
/// and Floe's own (`/health`, `/metrics`, `/openapi.json`).
#[derive(Debug, Clone, Copy)]
pub struct ServiceRoute {
    /// The HTTP method.
    pub method: &'static str,
    /// The full path.
    pub path: &'static str,
    /// The OpenAPI `operationId`.
    pub operation: &'static str,
    /// The status of a successful answer.
    pub ok: u16,
    /// Served without a bearer token even when authentication is on.
    pub public: bool,
}

/// Every route outside `/v1/{prefix}`.
pub const SERVICE_ROUTES: &[ServiceRoute] = &[
    ServiceRoute {
        method: "GET",
        path: "/v1/config",
        operation: "getConfig",
        ok: 200,
        public: false,
    },
    ServiceRoute {
        method: "POST",
        path: "/v1/oauth/tokens",
        operation: "getToken",
        ok: 200,
        public: true,
    },
    ServiceRoute {
        method: "GET",
        path: "/health",
        operation: "health",
        ok: 200,
        public: true,
    },
    ServiceRoute {
        method: "GET",
        path: "/metrics",
        operation: "metrics",
        ok: 200,
        public: true,
    },
    ServiceRoute {
        method: "GET",
        path: "/openapi.json",
        operation: "openApiDocument",
        ok: 200,
        public: true,
    },
];

impl ServiceRoute {
    fn handler(&self) -> MethodRouter<AppState> {
        match self.path {
            "/v1/config" => get(get_config),
            "/v1/oauth/tokens" => post(oauth_token),
            "/health" => get(health),
            "/metrics" => get(metrics),
            "/openapi.json" => get(openapi::serve),
            _ => unreachable!("service route without a handler"),
        }
    }
}

/// Every (method, path) the router serves: each Iceberg endpoint twice (`/v1/...` and
/// `/v1/{prefix}/...`) and the service routes.
pub fn served_routes() -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = SERVICE_ROUTES
        .iter()
        .map(|r| (r.method, r.path.to_owned()))
        .collect();
    for e in ENDPOINTS {
        out.push((e.method, format!("/v1{}", e.path)));
        out.push((e.method, format!("/v1/{{prefix}}{}", e.path)));
    }
    out
}

impl Endpoint {
    /// The form advertised in `endpoints`: `"GET /v1/{prefix}/namespaces"`.
    pub fn advertised(&self) -> String {
        format!("{} /v1/{{prefix}}{}", self.method, self.path)
    }

    fn handler(&self) -> MethodRouter<AppState> {
        match (self.method, self.path) {
            ("GET", "/namespaces") => get(list_namespaces),
            ("POST", "/namespaces") => post(create_namespace),
            ("GET", "/namespaces/{namespace}") => get(load_namespace),
            ("HEAD", "/namespaces/{namespace}") => on(MethodFilter::HEAD, namespace_exists),
            ("DELETE", "/namespaces/{namespace}") => on(MethodFilter::DELETE, drop_namespace),
            ("POST", "/namespaces/{namespace}/properties") => post(update_properties),
            ("GET", "/namespaces/{namespace}/tables") => get(list_tables),
            ("POST", "/namespaces/{namespace}/tables") => post(create_table),
            ("GET", "/namespaces/{namespace}/tables/{table}") => get(load::load_table),
            ("HEAD", "/namespaces/{namespace}/tables/{table}") => {
                on(MethodFilter::HEAD, table_exists)
            }
            ("POST", "/namespaces/{namespace}/tables/{table}") => post(commit_table),
            ("DELETE", "/namespaces/{namespace}/tables/{table}") => {
                on(MethodFilter::DELETE, drop_table)
            }
            ("POST", "/namespaces/{namespace}/register") => post(register_table),
            ("POST", "/namespaces/{namespace}/tables/{table}/metrics") => post(report_metrics),
            ("POST", "/namespaces/{namespace}/tables/{table}/plan") => post(plan::plan_table_scan),
            ("GET", "/namespaces/{namespace}/tables/{table}/plan/{plan-id}") => {
                get(plan::fetch_planning_result)
            }
            ("DELETE", "/namespaces/{namespace}/tables/{table}/plan/{plan-id}") => {
                on(MethodFilter::DELETE, plan::cancel_planning)
            }
            ("POST", "/namespaces/{namespace}/tables/{table}/tasks") => {
                post(plan::fetch_scan_tasks)
            }
            ("POST", "/namespaces/{namespace}/tables/{table}/appends") => {
                post(appends::append_files)
            }
            ("GET", "/namespaces/{namespace}/tables/{table}/writers") => get(appends::list_writers),
            ("POST", "/namespaces/{namespace}/tables/{table}/writers/{writer-id}") => {
                post(appends::open_writer)
            }
            ("POST", "/tables/rename") => post(rename_table),
            ("POST", "/transactions/commit") => post(commit_transaction),
            ("POST", "/namespaces/{namespace}/tables/{table}/maintenance") => {
                post(maintenance::request_maintenance)
            }
            ("GET", "/maintenance/tasks") => get(maintenance::list_tasks),
            ("GET", "/maintenance/tasks/{id}") => get(maintenance::get_task),
            _ => unreachable!("endpoint without a handler"),
        }
    }
}

/// Every route of the server (without middleware and state).
pub fn routes() -> Router<AppState> {
    let mut by_path: BTreeMap<&str, MethodRouter<AppState>> = BTreeMap::new();
    for e in ENDPOINTS {
        let handler = e.handler();
        let merged = match by_path.remove(e.path) {
            Some(existing) => existing.merge(handler),
            None => handler,
        };
        by_path.insert(e.path, merged);
    }
    let mut router = Router::new();
    for r in SERVICE_ROUTES {
        router = router.route(r.path, r.handler());
    }
    for (path, handler) in by_path {
        router = router
            .route(&format!("/v1{path}"), handler.clone())
            .route(&format!("/v1/{{prefix}}{path}"), handler);
    }
    router
}

type Params = Path<HashMap<String, String>>;
type QueryMap = Query<HashMap<String, String>>;

pub(crate) fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => json_response(status, bytes),
        Err(e) => ApiError::from(
            floe_spec::Error::new(ErrorKind::Unexpected, "cannot serialize the answer")
                .with_source(e),
        )
        .into_response(),
    }
}

fn namespace(state: &AppState, params: &HashMap<String, String>) -> ApiResult<NamespaceIdent> {
    let segment = params
        .get("namespace")
        .ok_or_else(|| ApiError::bad_request("missing namespace"))?;
    let levels = split_namespace(segment, state.settings().namespace_separator.as_deref());
    Ok(NamespaceIdent::new(levels)?)
}

pub(crate) fn table(state: &AppState, params: &HashMap<String, String>) -> ApiResult<TableIdent> {
    let ns = namespace(state, params)?;
    let name = params
        .get("table")
        .ok_or_else(|| ApiError::bad_request("missing table name"))?;
    Ok(TableIdent::new(ns, name.as_str())?)
}

/// Table properties that tell writers where to put files.
const PATH_PROPERTIES: &[&str] = &[
    "write.data.path",
    "write.metadata.path",
    "write.object-storage.path",
    "write.folder-storage.path",
];

/// Refuses (400) file-placing properties that point outside the warehouse: a client
/// could otherwise make every writer of the table write elsewhere.
fn check_path_properties<'a>(
    state: &AppState,
    properties: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> ApiResult<()> {
    let Some(warehouse) = state.warehouse() else {
        return Ok(());
    };
    for (key, value) in properties {
        if PATH_PROPERTIES.contains(&key.as_str()) {
            warehouse
                .check_location(value)
                .map_err(|e| ApiError::bad_request(format!("property `{key}`: {}", e.message())))?;
        }
    }
    Ok(())
}

fn check_updates(state: &AppState, updates: &[floe_spec::commit::TableUpdate]) -> ApiResult<()> {
    for u in updates {
        if let floe_spec::commit::TableUpdate::SetProperties { updates } = u {
            check_path_properties(state, updates)?;
        }
    }
    Ok(())
}

/// 404 `NoSuchTableException` unless `ident` exists.
pub(crate) async fn require_table(state: &AppState, ident: &TableIdent) -> ApiResult<()> {
    if state.catalog().table_exists(ident).await? {
        Ok(())
    } else {
        Err(ApiError::no_such_table(format!(
            "table {ident} does not exist"
        )))
    }
}

fn ident_from_json(id: &TableIdentifier) -> ApiResult<TableIdent> {
    Ok(TableIdent::from_parts(
        id.namespace.clone(),
        id.name.as_str(),
    )?)
}

fn ident_to_json(id: &TableIdent) -> TableIdentifier {
    TableIdentifier {
        namespace: id.namespace.levels().to_vec(),
        name: id.name.clone(),
    }
}

/// Slices `items` by `pageToken` (an offset) and `pageSize`; without `pageSize` the
/// rest is returned whole.
fn paginate<T>(
    mut items: Vec<T>,
    query: &HashMap<String, String>,
) -> ApiResult<(Vec<T>, Option<String>)> {
    let offset = match query.get("pageToken").map(String::as_str) {
        None | Some("") => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("invalid pageToken `{t}`")))?,
    };
    let size = match query.get("pageSize").map(String::as_str) {
        None | Some("") => None,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => return Err(ApiError::bad_request(format!("invalid pageSize `{s}`"))),
        },
    };
    let offset = offset.min(items.len());
    items.drain(..offset);
    match size {
        Some(n) if items.len() > n => {
            items.truncate(n);
            Ok((items, Some((offset + n).to_string())))
        }
        _ => Ok((items, None)),
    }
}

// ---- config, health, metrics, oauth ----

async fn get_config(State(state): State<AppState>) -> Response {
    let mut overrides = BTreeMap::new();
    if let Some(sep) = &state.settings().namespace_separator {
        overrides.insert("namespace-separator".to_owned(), percent_encode(sep));
    }
    json(
        StatusCode::OK,
        &CatalogConfig {
            defaults: BTreeMap::new(),
            overrides,
            endpoints: ENDPOINTS.iter().map(Endpoint::advertised).collect(),
            // `floe serve` deletes older keys periodically (crate::idempotency).
            idempotency_key_lifetime: Some(IDEMPOTENCY_KEY_LIFETIME_ISO.to_owned()),
        },
    )
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

async fn health() -> Response {
    json(StatusCode::OK, &serde_json::json!({"status": "ok"}))
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut extra = Vec::new();
    if let Some(stats) = state.cache_stats() {
        extra.push(ExtraMetric {
            name: "floe_metadata_cache_hits_total",
            kind: "counter",
            help: "Table metadata served from the parsed-metadata cache.",
            value: stats.hits as f64,
        });
        extra.push(ExtraMetric {
            name: "floe_metadata_cache_misses_total",
            kind: "counter",
            help: "Table metadata read and parsed from the object store.",
            value: stats.misses as f64,
        });
        extra.push(ExtraMetric {
            name: "floe_metadata_cache_entries",
            kind: "gauge",
            help: "Parsed metadata documents in the cache.",
            value: stats.entries as f64,
        });
    }
    let caches = state.caches();
    for (prefix, stats) in [
        ("floe_load_result_cache", caches.load_results.stats()),
        ("floe_manifest_cache", caches.manifests.stats()),
    ] {
        extra.extend(cache_metrics(prefix, stats));
    }
    let (hits, misses) = state.table_pointers().hits_and_misses();
    extra.push(ExtraMetric {
        name: "floe_table_pointer_cache_hits_total",
        kind: "counter",
        help: "Table loads that took the current metadata location from the in-process pointer cache (no database read).",
        value: hits as f64,
    });
    extra.push(ExtraMetric {
        name: "floe_table_pointer_cache_misses_total",
        kind: "counter",
        help: "Table loads that read the catalog database for the current metadata location.",
        value: misses as f64,
    });
    let mut text = state.metrics().render(&extra);
    if let Some(m) = state.maintenance() {
        text.push_str(&m.metrics().render());
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// Hits, misses, hit ratio, entries and weight of one server cache.
fn cache_metrics(prefix: &'static str, stats: crate::cache::HitStats) -> [ExtraMetric; 5] {
    let (hits, misses, ratio, entries, weight) = match prefix {
        "floe_load_result_cache" => (
            "floe_load_result_cache_hits_total",
            "floe_load_result_cache_misses_total",
            "floe_load_result_cache_hit_ratio",
            "floe_load_result_cache_entries",
            "floe_load_result_cache_weight_bytes",
        ),
        _ => (
            "floe_manifest_cache_hits_total",
            "floe_manifest_cache_misses_total",
            "floe_manifest_cache_hit_ratio",
            "floe_manifest_cache_entries",
            "floe_manifest_cache_weight_manifest_entries",
        ),
    };
    [
        ExtraMetric {
            name: hits,
            kind: "counter",
            help: "Lookups answered from the cache.",
            value: stats.hits as f64,
        },
        ExtraMetric {
            name: misses,
            kind: "counter",
            help: "Lookups not answered from the cache.",
            value: stats.misses as f64,
        },
        ExtraMetric {
            name: ratio,
            kind: "gauge",
            help: "Hits over lookups since the server started.",
            value: stats.ratio(),
        },
        ExtraMetric {
            name: entries,
            kind: "gauge",
            help: "Entries in the cache.",
            value: stats.entries as f64,
        },
        ExtraMetric {
            name: weight,
            kind: "gauge",
            help: "Total weight of the entries (the cache's bound is on this).",
            value: stats.weight as f64,
        },
    ]
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(
        status,
        &OAuthError {
            error: error.to_owned(),
            error_description: Some(description.to_owned()),
        },
    )
}

async fn oauth_token(
    State(state): State<AppState>,
    form: Result<Form<OAuthTokenRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(req)) = form else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "expected a form body (application/x-www-form-urlencoded)",
        );
    };
    if req.grant_type != "client_credentials" {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only the client_credentials grant is supported",
        );
    }
    let (Some(id), Some(secret)) = (req.client_id.as_deref(), req.client_secret.as_deref()) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and client_secret are required",
        );
    };
    match state.auth().issue_token(id, secret, now_secs()) {
        Ok(token) => json(
            StatusCode::OK,
            &OAuthTokenResponse {
                access_token: token,
                token_type: "bearer".to_owned(),
                expires_in: state.auth().token_ttl_secs(),
                issued_token_type: "urn:ietf:params:oauth:token-type:access_token".to_owned(),
                scope: req.scope,
            },
        ),
        Err(TokenError::InvalidClient) => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        ),
    }
}

// ---- namespaces ----

async fn list_namespaces(
    State(state): State<AppState>,
    Query(query): QueryMap,
) -> ApiResult<Response> {
    let parent = match query.get("parent").map(String::as_str) {
        None | Some("") => None,
        Some(p) => Some(NamespaceIdent::new(split_namespace(
            p,
            state.settings().namespace_separator.as_deref(),
        ))?),
    };
    let catalog = state.catalog();
    let list = catalog.list_namespaces(parent.as_ref()).await?;
    if let Some(p) = &parent
        && list.is_empty()
        && !catalog.namespace_exists(p).await?
    {
        return Err(ApiError::no_such_namespace(format!(
            "namespace {p} does not exist"
        )));
    }
    let (page, next) = paginate(list, &query)?;
    Ok(json(
        StatusCode::OK,
        &ListNamespacesResponse {
            namespaces: page.into_iter().map(|n| n.levels().to_vec()).collect(),
            next_page_token: next,
        },
    ))
}

async fn create_namespace(
    State(state): State<AppState>,
    IcebergJson(req): IcebergJson<CreateNamespaceRequest>,
) -> ApiResult<Response> {
    let ns = NamespaceIdent::new(req.namespace)?;
    let created = state
        .catalog()
        .create_namespace(&ns, req.properties)
        .await?;
    Ok(json(
        StatusCode::OK,
        &NamespaceResponse {
            namespace: created.ident.levels().to_vec(),
            properties: created.properties.into_iter().collect(),
        },
    ))
}

async fn load_namespace(
    State(state): State<AppState>,
    Path(params): Params,
) -> ApiResult<Response> {
    let ns = namespace(&state, &params)?;
    let loaded = state.catalog().load_namespace(&ns).await?;
    Ok(json(
        StatusCode::OK,
        &NamespaceResponse {
            namespace: loaded.ident.levels().to_vec(),
            properties: loaded.properties.into_iter().collect(),
        },
    ))
}

async fn namespace_exists(
    State(state): State<AppState>,
    Path(params): Params,
) -> ApiResult<StatusCode> {
    let ns = namespace(&state, &params)?;
    if state.catalog().namespace_exists(&ns).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::no_such_namespace(format!(
            "namespace {ns} does not exist"
        )))
    }
}

async fn drop_namespace(
    State(state): State<AppState>,
    Path(params): Params,
) -> ApiResult<StatusCode> {
    let ns = namespace(&state, &params)?;
    state.catalog().drop_namespace(&ns).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn update_properties(
    State(state): State<AppState>,
    Path(params): Params,
    IcebergJson(req): IcebergJson<UpdateNamespacePropertiesRequest>,
) -> ApiResult<Response> {
    let ns = namespace(&state, &params)?;
    let mut both: Vec<&str> = req
        .removals
        .iter()
        .filter(|k| req.updates.contains_key(*k))
        .map(String::as_str)
        .collect();
    if !both.is_empty() {
        both.sort_unstable();
        return Err(ApiError::unprocessable(format!(
            "keys both updated and removed: {}",
            both.join(", ")
        )));
    }
    let done = state
        .catalog()
        .update_namespace_properties(&ns, req.removals, req.updates)
        .await?;
    Ok(json(
        StatusCode::OK,
        &UpdateNamespacePropertiesResponse {
            updated: done.updated,
            removed: done.removed,
            missing: done.missing,
        },
    ))
}

// ---- tables ----

async fn list_tables(
    State(state): State<AppState>,
    Path(params): Params,
    Query(query): QueryMap,
) -> ApiResult<Response> {
    let ns = namespace(&state, &params)?;
    let catalog = state.catalog();
    let list = catalog.list_tables(&ns).await?;
    if list.is_empty() && !catalog.namespace_exists(&ns).await? {
        return Err(ApiError::no_such_namespace(format!(
            "namespace {ns} does not exist"
        )));
    }
    let (page, next) = paginate(list, &query)?;
    Ok(json(
        StatusCode::OK,
        &ListTablesResponse {
            identifiers: page.iter().map(ident_to_json).collect(),
            next_page_token: next,
        },
    ))
}

async fn create_table(
    State(state): State<AppState>,
    Path(params): Params,
    IcebergJson(req): IcebergJson<CreateTableRequest>,
) -> ApiResult<Response> {
    let ns = namespace(&state, &params)?;
    check_path_properties(&state, &req.properties)?;
    let mut creation = TableCreation::new(req.name, req.schema);
    creation.partition_spec = req.partition_spec;
    creation.sort_order = req.write_order;
    creation.location = req.location;
    creation.properties = req.properties;
    let catalog = state.catalog();
    if req.stage_create {
        let staged = catalog.stage_create_table(&ns, creation).await?;
        return load::load_result(&state, &staged.table);
    }
    let created = catalog.create_table(&ns, creation).await?;
    load::load_result(&state, &created)
}

async fn table_exists(
    State(state): State<AppState>,
    Path(params): Params,
) -> ApiResult<StatusCode> {
    let ident = table(&state, &params)?;
    if state.catalog().table_exists(&ident).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::no_such_table(format!(
            "table {ident} does not exist"
        )))
    }
}

fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Runs a commit (rebasing blind appends whose branch head moved, see
/// [`floe_table::transaction::AppendRebaser`]) and counts it.
async fn run_commit(
    state: &AppState,
    commits: Vec<TableCommit>,
    key: Option<String>,
) -> ApiResult<Vec<LoadedTable>> {
    let n = commits.len();
    let idents: Vec<TableIdent> = commits.iter().map(|c| c.ident.clone()).collect();
    // Tables the commit expects to exist (no `assert-create`): if the commit fails,
    // a missing one is reported as 404 rather than a failed requirement.
    let existing: Vec<TableIdent> = commits
        .iter()
        .filter(|c| {
            !c.requirements
                .iter()
                .any(|r| matches!(r, TableRequirement::AssertCreate))
        })
        .map(|c| c.ident.clone())
        .collect();
    let committed = match state.rebaser() {
        Some(rebaser) => rebaser.commit(commits, key).await.map(|done| {
            if done.rebases > 0 {
                state.metrics().record_rebased_commit();
            }
            done.result
        }),
        None => state.catalog().commit(commits, key).await,
    };
    match committed {
        Ok(result) => {
            if matches!(result.status, CommitStatus::Committed) {
                for _ in 0..n {
                    state.metrics().record_commit(true);
                }
            }
            Ok(result.tables)
        }
        Err(e) => {
            // A failed commit may still have moved a pointer (an error after the
            // database committed): the next loads read the catalog.
            for ident in &idents {
                state.table_pointers().invalidate(ident);
            }
            if e.kind() == ErrorKind::CommitFailed {
                for ident in &existing {
                    if !state.catalog().table_exists(ident).await? {
                        return Err(ApiError::no_such_table(format!(
                            "table {ident} does not exist"
                        )));
                    }
                }
                state.metrics().record_commit(false);
            } else {
                state.metrics().record_commit_error();
            }
            Err(e.into())
        }
    }
}

async fn commit_table(
    State(state): State<AppState>,
    Path(params): Params,
    headers: HeaderMap,
    IcebergJson(req): IcebergJson<CommitTableRequest>,
) -> ApiResult<Response> {
    let ident = table(&state, &params)?;
    if let Some(id) = &req.identifier {
        let body_ident = ident_from_json(id)?;
        if body_ident != ident {
            return Err(ApiError::bad_request(format!(
                "the body's identifier {body_ident} does not match the path's table {ident}"
            )));
        }
    }
    check_updates(&state, &req.updates)?;
    let commit = TableCommit::new(ident.clone(), req.requirements, req.updates);
    let mut tables = run_commit(&state, vec![commit], idempotency_key(&headers)).await?;
    let committed = tables.pop().ok_or_else(|| {
        ApiError::from(floe_spec::Error::new(
            ErrorKind::Unexpected,
            format!("commit of {ident} returned no table"),
        ))
    })?;
    let location = committed.metadata_location.as_deref().ok_or_else(|| {
        ApiError::from(floe_spec::Error::new(
            ErrorKind::Unexpected,
            format!("commit of {ident} returned no metadata location"),
        ))
    })?;
    let metadata = metadata_value(&committed, SnapshotMode::All)?;
    let mut response = json(
        StatusCode::OK,
        &CommitTableResponse {
            metadata_location: location,
            metadata: &metadata,
        },
    );
    if let Ok(tag) = HeaderValue::from_str(&etag(location, SnapshotMode::All)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    Ok(response)
}

async fn drop_table(
    State(state): State<AppState>,
    Path(params): Params,
    Query(query): QueryMap,
) -> ApiResult<StatusCode> {
    let ident = table(&state, &params)?;
    let purge = parse_bool(query.get("purgeRequested").map(String::as_str));
    let dropped = state.catalog().drop_table(&ident, purge).await;
    // Also on failure: the drop may have happened (an error after the database
    // committed it).
    state.table_pointers().invalidate(&ident);
    dropped?;
    Ok(StatusCode::NO_CONTENT)
}

async fn rename_table(
    State(state): State<AppState>,
    IcebergJson(req): IcebergJson<RenameTableRequest>,
) -> ApiResult<StatusCode> {
    let from = ident_from_json(&req.source)?;
    let to = ident_from_json(&req.destination)?;
    let renamed = state.catalog().rename_table(&from, &to).await;
    state.table_pointers().invalidate(&from);
    state.table_pointers().invalidate(&to);
    renamed?;
    Ok(StatusCode::NO_CONTENT)
}

async fn register_table(
    State(state): State<AppState>,
    Path(params): Params,
    IcebergJson(req): IcebergJson<RegisterTableRequest>,
) -> ApiResult<Response> {
    let ns = namespace(&state, &params)?;
    let ident = TableIdent::new(ns, req.name.as_str())?;
    let catalog = state.catalog();
    if req.overwrite && catalog.table_exists(&ident).await? {
        // Not atomic with the register below; a concurrent create in between fails
        // the register with 409.
        let dropped = catalog.drop_table(&ident, false).await;
        state.table_pointers().invalidate(&ident);
        dropped?;
    }
    let registered = catalog.register_table(&ident, &req.metadata_location).await;
    state.table_pointers().invalidate(&ident);
    let registered = registered?;
    load::load_result(&state, &registered)
}

async fn report_metrics(
    State(state): State<AppState>,
    Path(params): Params,
    IcebergJson(req): IcebergJson<ReportMetricsRequest>,
) -> ApiResult<StatusCode> {
    let ident = table(&state, &params)?;
    if !state.catalog().table_exists(&ident).await? {
        return Err(ApiError::no_such_table(format!(
            "table {ident} does not exist"
        )));
    }
    state.metrics().record_report(req.report_type.as_str());
    Ok(StatusCode::NO_CONTENT)
}

async fn commit_transaction(
    State(state): State<AppState>,
    headers: HeaderMap,
    IcebergJson(req): IcebergJson<CommitTransactionRequest>,
) -> ApiResult<StatusCode> {
    if req.table_changes.is_empty() {
        return Err(ApiError::bad_request("table-changes is empty"));
    }
    let mut commits = Vec::with_capacity(req.table_changes.len());
    for change in req.table_changes {
        let id = change.identifier.as_ref().ok_or_else(|| {
            ApiError::bad_request("every entry of table-changes needs an identifier")
        })?;
        let ident = ident_from_json(id)?;
        if commits.iter().any(|c: &TableCommit| c.ident == ident) {
            return Err(ApiError::bad_request(format!(
                "table {ident} appears twice in table-changes"
            )));
        }
        check_updates(&state, &change.updates)?;
        commits.push(TableCommit::new(ident, change.requirements, change.updates));
    }
    run_commit(&state, commits, idempotency_key(&headers)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination() {
        let q = |t: &str, s: &str| {
            let mut m = HashMap::new();
            if !t.is_empty() {
                m.insert("pageToken".to_owned(), t.to_owned());
            }
            if !s.is_empty() {
                m.insert("pageSize".to_owned(), s.to_owned());
            }
            m
        };
        let items: Vec<i32> = (0..5).collect();
        assert_eq!(
            paginate(items.clone(), &q("", "")).unwrap(),
            (items.clone(), None)
        );
        assert_eq!(
            paginate(items.clone(), &q("", "2")).unwrap(),
            (vec![0, 1], Some("2".to_owned()))
        );
        assert_eq!(
            paginate(items.clone(), &q("4", "2")).unwrap(),
            (vec![4], None)
        );
        assert!(paginate(items.clone(), &q("x", "2")).is_err());
        assert!(paginate(items, &q("", "0")).is_err());
    }

    #[test]
    fn endpoints_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for e in ENDPOINTS {
            assert!(seen.insert(e.advertised()), "{e:?}");
            let _ = e.handler();
        }
    }
}
