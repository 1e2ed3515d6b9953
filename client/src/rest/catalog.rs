//! [`RestCatalog`]: the [`Catalog`] trait over the Iceberg REST API.
//!
//! Every trait method is one REST call (lists follow `next-page-token` pages;
//! multi-table commits load the committed tables afterwards, since
//! `POST /transactions/commit` answers 204 without them). What the REST API cannot
//! say is documented per method: a commit's [`CommitStatus`] is always
//! [`CommitStatus::Committed`] (the API does not tell an unchanged commit or a
//! replayed idempotency key from a new one), and writer progress needs Floe's
//! `GET .../writers` extension, advertised in the config's `endpoints`.
//!
//! ```no_run
//! # async fn demo() -> floe_catalog::Result<()> {
//! use floe_catalog::{Catalog, NamespaceIdent};
//! use floe_client::rest::RestCatalog;
//! let catalog = RestCatalog::builder("http://127.0.0.1:8181")
//!     .credential("app", "s3cret")
//!     .build()
//!     .await?;
//! for ns in catalog.list_namespaces(None).await? {
//!     println!("{ns}");
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use async_trait::async_trait;
use floe_catalog::{
    Catalog, CommitResult, CommitStatus, LoadedTable, Namespace, NamespaceIdent,
    NamespacePropertiesUpdate, StagedTable, TableCommit, TableCreation, TableIdent, WriterProgress,
};
use floe_spec::commit::{TableMetadataBuilder, TableUpdate};
use floe_spec::partition::UnboundPartitionSpec;
use floe_spec::sort::SortOrder;
use floe_spec::table_metadata::TableMetadata;
use floe_spec::{Error, ErrorKind, Result};
use floe_table::stream::{AppendAck, AppendIntent, Refusal};
use reqwest::Method;
use serde::Deserialize;

use crate::rest::auth::{Auth, Credentials};
use crate::rest::config::{Endpoints, RestConfig, join, parse_base};
use crate::rest::error::from_answer;
use crate::rest::http::{Answer, Call, Http, RetryPolicy};
use crate::rest::model::{
    CommitTableRequest, CommitTransactionRequest, ConfigResponse, CreateNamespaceRequest,
    CreateTableRequest, ErrorResponse, ListNamespacesResponse, ListTablesResponse,
    LoadTableResponse, NamespaceResponse, RegisterTableRequest, RenameTableRequest,
    TableIdentifier, UpdateNamespacePropertiesRequest, UpdateNamespacePropertiesResponse,
};

/// Floe's writer-progress extension (advertised in `endpoints` when served).
pub const WRITERS_ENDPOINT: &str = "/namespaces/{namespace}/tables/{table}/writers";

/// Floe's stream-writer extension: opening a writer takes its next epoch.
pub const OPEN_WRITER_ENDPOINT: &str = "/namespaces/{namespace}/tables/{table}/writers/{writer-id}";

/// Floe's group-committed append intents.
pub const APPENDS_ENDPOINT: &str = "/namespaces/{namespace}/tables/{table}/appends";

/// The error `type` of Floe's 409 answer to an append intent whose `after-seq`
/// predecessor is not committed yet (retry once the predecessor is acknowledged).
pub const PREDECESSOR_NOT_COMMITTED: &str = "PredecessorNotCommittedException";

/// Floe's `POST .../appends` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct AppendFilesResponse {
    snapshot_id: i64,
    sequence_number: i64,
    #[serde(default)]
    duplicate: bool,
}

/// Builds a [`RestCatalog`]: the URI, properties (Iceberg names: `token`,
/// `credential`, `scope`, `oauth2-server-uri`, `warehouse`, `prefix`, `header.*`),
/// retries and timeouts.
#[derive(Debug, Clone)]
pub struct RestCatalogBuilder {
    uri: String,
    properties: HashMap<String, String>,
    retry: RetryPolicy,
    timeout: Duration,
    connect_timeout: Duration,
}

impl RestCatalogBuilder {
    /// A builder for the catalog at `uri` (`http://host:8181`).
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            properties: HashMap::new(),
            retry: RetryPolicy::default(),
            timeout: Duration::from_mins(1),
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// Sets a client property (sent nowhere; merged with the server's config).
    #[must_use]
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// Sets several client properties.
    #[must_use]
    pub fn properties<I, K, V>(mut self, properties: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.properties
            .extend(properties.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Authenticates with a static bearer token.
    #[must_use]
    pub fn token(self, token: impl Into<String>) -> Self {
        self.property("token", token)
    }

    /// Authenticates with OAuth2 client credentials.
    #[must_use]
    pub fn credential(self, client_id: &str, client_secret: &str) -> Self {
        self.property("credential", format!("{client_id}:{client_secret}"))
    }

    /// Asks the server for this warehouse in the config handshake.
    #[must_use]
    pub fn warehouse(self, warehouse: impl Into<String>) -> Self {
        self.property("warehouse", warehouse)
    }

    /// How many attempts an idempotent request gets, and the first backoff.
    #[must_use]
    pub fn retries(mut self, max_attempts: u32, initial_backoff: Duration) -> Self {
        self.retry = RetryPolicy {
            max_attempts: max_attempts.max(1),
            initial_backoff,
        };
        self
    }

    /// The timeout of one request (default 60 s) and of opening a connection (10 s).
    #[must_use]
    pub fn timeouts(mut self, request: Duration, connect: Duration) -> Self {
        self.timeout = request;
        self.connect_timeout = connect;
        self
    }

    /// Connects: authenticates if configured and runs the config handshake.
    pub async fn build(self) -> Result<RestCatalog> {
        let base = parse_base(&self.uri)?;
        let client = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .user_agent(concat!("floe-client/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                Error::new(ErrorKind::Unexpected, "cannot build the HTTP client").with_source(e)
            })?;
        let props = &self.properties;
        let headers = headers_of(props);
        let http = Http::new(client.clone(), auth_of(props, &base)?, self.retry, &headers)?;
        let mut config_url = join(&base, &["v1", "config"])?;
        if let Some(w) = props.get("warehouse") {
            config_url.query_pairs_mut().append_pair("warehouse", w);
        }
        let answer = http
            .send(&Call::new(Method::GET, config_url), false)
            .await?;
        let server: ConfigResponse = answer.json("catalog config (GET /v1/config)")?;
        let mut merged = server.defaults;
        merged.extend(self.properties.clone());
        merged.extend(server.overrides);
        let base = match merged.get("uri") {
            Some(uri) if uri.trim() != self.uri.trim() => parse_base(uri)?,
            _ => base,
        };
        // Credentials or headers the server overrides take effect from here on.
        let http = if merged.get("token") != self.properties.get("token")
            || merged.get("credential") != self.properties.get("credential")
            || merged.get("oauth2-server-uri") != self.properties.get("oauth2-server-uri")
        {
            Http::new(
                client,
                auth_of(&merged, &base)?,
                self.retry,
                &headers_of(&merged),
            )?
        } else {
            http
        };
        let config = RestConfig {
            base,
            prefix: merged
                .get("prefix")
                .map(|p| p.trim_matches('/').to_owned())
                .filter(|p| !p.is_empty()),
            idempotency_keys: server.idempotency_key_lifetime.is_some(),
            endpoints: Endpoints::parse(server.endpoints),
            properties: merged,
        };
        Ok(RestCatalog {
            inner: Arc::new(Inner {
                config,
                http,
                planning_refused: AtomicBool::new(false),
            }),
        })
    }
}

fn headers_of(props: &HashMap<String, String>) -> HashMap<String, String> {
    props
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("header.")?.to_owned(), v.clone())))
        .collect()
}

fn auth_of(props: &HashMap<String, String>, base: &url::Url) -> Result<Auth> {
    let credentials = if let Some(t) = props.get("token") {
        Credentials::Token(t.clone())
    } else if let Some(c) = props.get("credential") {
        Credentials::from_credential(c, props.get("scope").map_or("catalog", String::as_str))
    } else {
        Credentials::None
    };
    let token_url = match props.get("oauth2-server-uri") {
        Some(u) => url::Url::parse(u)
            .map_err(|e| Error::invalid(format!("invalid oauth2-server-uri `{u}`: {e}")))?,
        None => join(base, &["v1", "oauth", "tokens"])?,
    };
    Ok(Auth::new(credentials, token_url))
}

/// A catalog served over the Iceberg REST API (`floe serve` or any Iceberg REST
/// catalog). Cheap to clone: clones share the connection pool and the token.
#[derive(Debug, Clone)]
pub struct RestCatalog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: RestConfig,
    http: Http,
    /// The server answered scan planning as not implemented: plan client-side.
    planning_refused: AtomicBool,
}

/// Floe's `GET .../writers` answer.
#[derive(Debug, Deserialize)]
struct WritersResponse {
    writers: Vec<WriterModel>,
}

/// One writer of a `GET .../writers` answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct WriterModel {
    writer_id: String,
    epoch: i64,
    last_seq: i64,
    #[serde(default)]
    snapshot_id: Option<i64>,
    #[serde(default, alias = "watermark")]
    watermark_ms: Option<i64>,
    #[serde(default)]
    updated_at_ms: i64,
}

impl From<WriterModel> for WriterProgress {
    fn from(w: WriterModel) -> Self {
        Self {
            writer_id: w.writer_id,
            epoch: w.epoch,
            last_seq: w.last_seq,
            snapshot_id: w.snapshot_id,
            watermark: w.watermark_ms,
            updated_at_ms: w.updated_at_ms,
        }
    }
}

fn ident_json(t: &TableIdent) -> TableIdentifier {
    TableIdentifier {
        namespace: t.namespace.levels().to_vec(),
        name: t.name.clone(),
    }
}

impl RestCatalog {
    /// Connects to the catalog at `uri` with default settings.
    pub async fn connect(uri: &str) -> Result<Self> {
        RestCatalogBuilder::new(uri).build().await
    }

    /// A builder for the catalog at `uri`.
    pub fn builder(uri: impl Into<String>) -> RestCatalogBuilder {
        RestCatalogBuilder::new(uri)
    }

    /// The merged configuration (server defaults, client properties, overrides).
    pub fn config(&self) -> &RestConfig {
        &self.inner.config
    }

    /// Whether the server offers `method path` (path after `/v1/{prefix}`).
    pub fn supports(&self, method: &str, path: &str) -> bool {
        self.inner.config.endpoints.supports(method, path)
    }

    /// Whether the server takes Floe's append intents (`POST .../appends`, group
    /// committed, exactly-once per writer seq) and opens stream writers.
    pub fn offers_append_intents(&self) -> bool {
        self.supports("POST", APPENDS_ENDPOINT) && self.supports("POST", OPEN_WRITER_ENDPOINT)
    }

    /// Sends one append intent (`POST .../appends`): the data files (already written
    /// inside the table location, of the table's default spec) of micro-batch `seq` of
    /// writer `writer_id` at `epoch`. A lost answer is retried: the server answers a
    /// seq it committed before as a duplicate of the original snapshot.
    pub async fn append_intent(
        &self,
        table: &TableMetadata,
        intent: &AppendIntent,
    ) -> Result<AppendAck> {
        self.submit_intent(table, intent)
            .await
            .map_err(Refusal::into_error)
    }

    /// [`RestCatalog::append_intent`] telling a refusal because the intent's
    /// `after_seq` predecessor is not committed yet ([`Refusal::Gap`]: a 409
    /// [`PREDECESSOR_NOT_COMMITTED`] answer; send it again once the predecessor is
    /// acknowledged) from any other failure. `after_seq` is sent as `after-seq` when
    /// set.
    pub async fn submit_intent(
        &self,
        table: &TableMetadata,
        intent: &AppendIntent,
    ) -> std::result::Result<AppendAck, Refusal> {
        let ident = &intent.table;
        self.require(
            "POST",
            APPENDS_ENDPOINT,
            &format!("append intent on {ident}"),
        )
        .map_err(Refusal::Failed)?;
        let spec = table.default_partition_spec();
        let partition_type = spec
            .partition_type(table.current_schema())
            .map_err(Refusal::Failed)?;
        let files: Vec<serde_json::Value> = intent
            .data_files
            .iter()
            .map(|f| f.to_rest_json(spec.spec_id, &partition_type))
            .collect();
        let mut body = serde_json::json!({
            "writer-id": intent.writer_id,
            "epoch": intent.epoch,
            "seq": intent.seq,
            "watermark-ms": intent.watermark_ms,
            "data-files": files,
        });
        if let Some(after) = intent.after_seq {
            body["after-seq"] = serde_json::Value::from(after);
        }
        let url = self
            .table_url(ident, &["appends"])
            .map_err(Refusal::Failed)?;
        let mut call = Call::new(Method::POST, url)
            .json(&body)
            .map_err(Refusal::Failed)?;
        call.retry_writes = true;
        call.accept_status = Some(409);
        let answer = self.send(call).await.map_err(Refusal::Failed)?;
        if answer.status == 409 {
            let e = from_answer(
                answer.method.as_str(),
                answer.url.as_str(),
                409,
                &answer.body,
                true,
            );
            let gap = serde_json::from_slice::<ErrorResponse>(&answer.body)
                .is_ok_and(|b| b.error.error_type == PREDECESSOR_NOT_COMMITTED);
            return Err(if gap {
                Refusal::Gap(e)
            } else {
                Refusal::Failed(e)
            });
        }
        let ack: AppendFilesResponse = answer.json("append answer").map_err(Refusal::Failed)?;
        Ok(AppendAck {
            snapshot_id: ack.snapshot_id,
            sequence_number: ack.sequence_number,
            duplicate: ack.duplicate,
        })
    }

    fn require(&self, method: &str, path: &str, what: &str) -> Result<()> {
        if self.supports(method, path) {
            Ok(())
        } else {
            Err(Error::unsupported(format!(
                "{what}: the catalog at {} does not offer {method} /v1/{{prefix}}{path}",
                self.inner.config.base
            )))
        }
    }

    fn ns_url(&self, ns: &NamespaceIdent, tail: &[&str]) -> Result<url::Url> {
        let seg = RestConfig::namespace_segment(ns);
        let mut segments = vec!["namespaces", seg.as_str()];
        segments.extend_from_slice(tail);
        self.inner.config.url(&segments)
    }

    pub(crate) fn table_url(&self, t: &TableIdent, tail: &[&str]) -> Result<url::Url> {
        t.validate()?;
        let mut segments = vec!["tables", t.name.as_str()];
        segments.extend_from_slice(tail);
        self.ns_url(&t.namespace, &segments)
    }

    pub(crate) async fn send(&self, call: Call) -> Result<Answer> {
        self.inner.http.send(&call, false).await
    }

    /// Set once the server answered scan planning as not implemented.
    pub(crate) fn planning_refused(&self) -> &AtomicBool {
        &self.inner.planning_refused
    }

    /// GET or HEAD answering whether something exists; 404 is `false`.
    async fn exists(&self, method: Method, url: url::Url) -> Result<bool> {
        let answer = self.inner.http.send(&Call::new(method, url), true).await?;
        Ok(answer.status != 404)
    }

    fn loaded(ident: TableIdent, answer: &Answer) -> Result<LoadedTable> {
        let body: LoadTableResponse = answer.json("LoadTableResult")?;
        let metadata = TableMetadata::from_json_str(body.metadata.get()).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "{} {}: the answer holds invalid table metadata: {e}",
                    answer.method, answer.url
                ),
            )
        })?;
        Ok(LoadedTable {
            ident,
            metadata_location: body.metadata_location,
            metadata: Arc::new(metadata),
        })
    }

    async fn create(
        &self,
        namespace: &NamespaceIdent,
        creation: &TableCreation,
        stage: bool,
    ) -> Result<LoadedTable> {
        let ident = TableIdent::new(namespace.clone(), creation.name.clone())?;
        let body = CreateTableRequest {
            name: &creation.name,
            location: creation.location.as_deref(),
            schema: &creation.schema,
            partition_spec: creation.partition_spec.as_ref(),
            write_order: creation.sort_order.as_ref(),
            stage_create: stage,
            properties: &creation.properties,
        };
        let call = Call::new(Method::POST, self.ns_url(namespace, &["tables"])?).json(&body)?;
        let answer = self.send(call).await?;
        Self::loaded(ident, &answer)
    }

    fn commit_call(
        &self,
        url: url::Url,
        body: &impl serde::Serialize,
        idempotency_key: Option<String>,
    ) -> Result<Call> {
        let mut call = Call::new(Method::POST, url).json(body)?;
        call.commit = true;
        call.retry_writes = self.inner.config.idempotency_keys;
        call.idempotency_key = match idempotency_key {
            Some(k) => Some(k),
            None if self.inner.config.idempotency_keys => Some(uuid::Uuid::now_v7().to_string()),
            None => None,
        };
        Ok(call)
    }
}

/// The updates that create `metadata` (PyIceberg's staged-create form), with its UUID.
fn create_updates(metadata: &TableMetadata) -> Result<Vec<TableUpdate>> {
    let mut properties = metadata.properties().clone();
    properties.insert(
        "format-version".to_owned(),
        (metadata.format_version() as u8).to_string(),
    );
    let spec: UnboundPartitionSpec = metadata.default_partition_spec().as_ref().clone().into();
    let order: SortOrder = metadata.default_sort_order().as_ref().clone();
    let builder = TableMetadataBuilder::new_table(
        metadata.current_schema().as_ref().clone(),
        spec,
        order,
        metadata.location().to_owned(),
        properties,
    )?;
    Ok(builder
        .changes()
        .iter()
        .cloned()
        .map(|u| match u {
            TableUpdate::AssignUuid { .. } => TableUpdate::AssignUuid {
                uuid: metadata.table_uuid(),
            },
            other => other,
        })
        .collect())
}

#[async_trait]
impl Catalog for RestCatalog {
    async fn list_namespaces(
        &self,
        parent: Option<&NamespaceIdent>,
    ) -> Result<Vec<NamespaceIdent>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut url = self.inner.config.url(&["namespaces"])?;
            {
                let mut q = url.query_pairs_mut();
                if let Some(p) = parent {
                    q.append_pair("parent", &RestConfig::namespace_segment(p));
                }
                if let Some(t) = &token {
                    q.append_pair("pageToken", t);
                }
            }
            if url.query() == Some("") {
                url.set_query(None);
            }
            let answer = self.send(Call::new(Method::GET, url)).await?;
            let page: ListNamespacesResponse = answer.json("ListNamespacesResponse")?;
            for levels in page.namespaces {
                out.push(NamespaceIdent::new(levels)?);
            }
            match page.next_page_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => return Ok(out),
            }
        }
    }

    async fn create_namespace(
        &self,
        namespace: &NamespaceIdent,
        properties: HashMap<String, String>,
    ) -> Result<Namespace> {
        let body = CreateNamespaceRequest {
            namespace: namespace.levels(),
            properties: &properties,
        };
        let call = Call::new(Method::POST, self.inner.config.url(&["namespaces"])?).json(&body)?;
        let answer = self.send(call).await?;
        let created: NamespaceResponse = answer.json("CreateNamespaceResponse")?;
        Ok(Namespace {
            ident: NamespaceIdent::new(created.namespace)?,
            properties: created.properties.unwrap_or(properties),
        })
    }

    async fn load_namespace(&self, namespace: &NamespaceIdent) -> Result<Namespace> {
        let answer = self
            .send(Call::new(Method::GET, self.ns_url(namespace, &[])?))
            .await?;
        let loaded: NamespaceResponse = answer.json("GetNamespaceResponse")?;
        Ok(Namespace {
            ident: NamespaceIdent::new(loaded.namespace)?,
            properties: loaded.properties.unwrap_or_default(),
        })
    }

    async fn namespace_exists(&self, namespace: &NamespaceIdent) -> Result<bool> {
        let method = if self.supports("HEAD", "/namespaces/{namespace}") {
            Method::HEAD
        } else {
            Method::GET
        };
        self.exists(method, self.ns_url(namespace, &[])?).await
    }

    async fn update_namespace_properties(
        &self,
        namespace: &NamespaceIdent,
        removals: Vec<String>,
        updates: HashMap<String, String>,
    ) -> Result<NamespacePropertiesUpdate> {
        let body = UpdateNamespacePropertiesRequest {
            removals: &removals,
            updates: &updates,
        };
        let call = Call::new(Method::POST, self.ns_url(namespace, &["properties"])?).json(&body)?;
        let answer = self.send(call).await?;
        let done: UpdateNamespacePropertiesResponse =
            answer.json("UpdateNamespacePropertiesResponse")?;
        Ok(NamespacePropertiesUpdate {
            updated: done.updated,
            removed: done.removed,
            missing: done.missing.unwrap_or_default(),
        })
    }

    async fn drop_namespace(&self, namespace: &NamespaceIdent) -> Result<()> {
        self.send(Call::new(Method::DELETE, self.ns_url(namespace, &[])?))
            .await?;
        Ok(())
    }

    async fn list_tables(&self, namespace: &NamespaceIdent) -> Result<Vec<TableIdent>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut url = self.ns_url(namespace, &["tables"])?;
            if let Some(t) = &token {
                url.query_pairs_mut().append_pair("pageToken", t);
            }
            let answer = self.send(Call::new(Method::GET, url)).await?;
            let page: ListTablesResponse = answer.json("ListTablesResponse")?;
            for id in page.identifiers {
                out.push(TableIdent::from_parts(id.namespace, id.name)?);
            }
            match page.next_page_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => return Ok(out),
            }
        }
    }

    async fn create_table(
        &self,
        namespace: &NamespaceIdent,
        creation: TableCreation,
    ) -> Result<LoadedTable> {
        self.create(namespace, &creation, false).await
    }

    async fn stage_create_table(
        &self,
        namespace: &NamespaceIdent,
        creation: TableCreation,
    ) -> Result<StagedTable> {
        let table = self.create(namespace, &creation, true).await?;
        let updates = create_updates(&table.metadata)?;
        Ok(StagedTable { table, updates })
    }

    async fn load_table(&self, table: &TableIdent) -> Result<LoadedTable> {
        let answer = self
            .send(Call::new(Method::GET, self.table_url(table, &[])?))
            .await?;
        Self::loaded(table.clone(), &answer)
    }

    async fn table_exists(&self, table: &TableIdent) -> Result<bool> {
        let method = if self.supports("HEAD", "/namespaces/{namespace}/tables/{table}") {
            Method::HEAD
        } else {
            Method::GET
        };
        self.exists(method, self.table_url(table, &[])?).await
    }

    async fn drop_table(&self, table: &TableIdent, purge: bool) -> Result<()> {
        let mut url = self.table_url(table, &[])?;
        if purge {
            url.query_pairs_mut().append_pair("purgeRequested", "true");
        }
        self.send(Call::new(Method::DELETE, url)).await?;
        Ok(())
    }

    async fn rename_table(&self, from: &TableIdent, to: &TableIdent) -> Result<()> {
        from.validate()?;
        to.validate()?;
        let body = RenameTableRequest {
            source: ident_json(from),
            destination: ident_json(to),
        };
        let call =
            Call::new(Method::POST, self.inner.config.url(&["tables", "rename"])?).json(&body)?;
        self.send(call).await?;
        Ok(())
    }

    async fn register_table(
        &self,
        table: &TableIdent,
        metadata_location: &str,
    ) -> Result<LoadedTable> {
        table.validate()?;
        let body = RegisterTableRequest {
            name: &table.name,
            metadata_location,
        };
        let call =
            Call::new(Method::POST, self.ns_url(&table.namespace, &["register"])?).json(&body)?;
        let answer = self.send(call).await?;
        Self::loaded(table.clone(), &answer)
    }

    async fn commit(
        &self,
        commits: Vec<TableCommit>,
        idempotency_key: Option<String>,
    ) -> Result<CommitResult> {
        if commits.is_empty() {
            return Err(Error::invalid("a commit needs at least one table"));
        }
        if let Some(c) = commits.iter().find(|c| !c.writer_progress.is_empty()) {
            return Err(Error::unsupported(format!(
                "commit of {}: writer progress cannot be recorded through the catalog at {} \
                 (the Iceberg REST commit has no place for it)",
                c.ident, self.inner.config.base
            )));
        }
        for c in &commits {
            c.ident.validate()?;
        }
        if let [single] = commits.as_slice() {
            let body = CommitTableRequest {
                identifier: ident_json(&single.ident),
                requirements: &single.requirements,
                updates: &single.updates,
            };
            let call =
                self.commit_call(self.table_url(&single.ident, &[])?, &body, idempotency_key)?;
            let answer = self.send(call).await?;
            let table = Self::loaded(single.ident.clone(), &answer)?;
            return Ok(CommitResult {
                status: CommitStatus::Committed,
                tables: vec![table],
            });
        }
        self.require("POST", "/transactions/commit", "multi-table commit")?;
        let body = CommitTransactionRequest {
            table_changes: commits
                .iter()
                .map(|c| CommitTableRequest {
                    identifier: ident_json(&c.ident),
                    requirements: &c.requirements,
                    updates: &c.updates,
                })
                .collect(),
        };
        let url = self.inner.config.url(&["transactions", "commit"])?;
        let call = self.commit_call(url, &body, idempotency_key)?;
        self.send(call).await?;
        let mut tables = Vec::with_capacity(commits.len());
        for c in &commits {
            tables.push(self.load_table(&c.ident).await?);
        }
        Ok(CommitResult {
            status: CommitStatus::Committed,
            tables,
        })
    }

    async fn writer_progress(
        &self,
        table: &TableIdent,
        writer_id: &str,
    ) -> Result<Option<WriterProgress>> {
        Ok(self
            .list_writers(table)
            .await?
            .into_iter()
            .find(|w| w.writer_id == writer_id))
    }

    async fn open_writer(&self, table: &TableIdent, writer_id: &str) -> Result<WriterProgress> {
        self.require(
            "POST",
            OPEN_WRITER_ENDPOINT,
            &format!("opening writer `{writer_id}` of {table}"),
        )?;
        let call = Call::new(
            Method::POST,
            self.table_url(table, &["writers", writer_id])?,
        );
        let answer = self.send(call).await?;
        let w: WriterModel = answer.json("opened writer")?;
        Ok(w.into())
    }

    async fn list_writers(&self, table: &TableIdent) -> Result<Vec<WriterProgress>> {
        self.require("GET", WRITERS_ENDPOINT, &format!("writers of {table}"))?;
        let answer = self
            .send(Call::new(Method::GET, self.table_url(table, &["writers"])?))
            .await?;
        let list: WritersResponse = answer.json("writers list")?;
        Ok(list.writers.into_iter().map(WriterProgress::from).collect())
    }
}
