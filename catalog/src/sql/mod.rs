//! [`SqlCatalog`]: the [`Catalog`](crate::Catalog) on a SQL database through sqlx —
//! SQLite (the embedded default, one file) or PostgreSQL (shared by several server
//! replicas), chosen by URL.
//!
//! The database holds four tables (see `migrations/sqlite` and `migrations/postgres`,
//! applied on connect): namespaces, tables (the metadata pointer and its CAS version),
//! idempotency keys, and writer progress. Every unit of work runs in one explicit
//! transaction; on SQLite write transactions start with `BEGIN IMMEDIATE` (so that a
//! read followed by a write never fails on a stale snapshot), the database runs in WAL
//! mode, and connections wait for locks up to a busy timeout.
//!
//! ```no_run
//! # async fn demo() -> floe_catalog::Result<()> {
//! use floe_catalog::{Catalog, NamespaceIdent, SqlCatalog};
//! let catalog = SqlCatalog::connect("sqlite:///srv/floe/catalog.db", "/srv/floe/warehouse").await?;
//! catalog.create_namespace(&NamespaceIdent::new(["db"])?, Default::default()).await?;
//! # Ok(()) }
//! ```

mod commit;
mod namespace;
mod table;
pub mod tasks;
mod writers;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Once};
use std::time::Duration;

use async_trait::async_trait;
use floe_spec::table_metadata::TableMetadata;
use futures::future::BoxFuture;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

pub use commit::{CommitHook, CommitPhase};

use crate::cache::{CacheStats, DEFAULT_CACHE_CAPACITY, MetadataCache};
use crate::catalog::{
    Catalog, CommitResult, LoadedTable, Namespace, NamespacePropertiesUpdate, StagedTable,
    TableCommit, TableCreation, WriterProgress,
};
use crate::error::{Error, ErrorKind, Result, db_error, err};
use crate::ident::{NamespaceIdent, TableIdent};
use crate::io::Warehouse;

/// The database behind a [`SqlCatalog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (`sqlite://path`).
    Sqlite,
    /// PostgreSQL (`postgres://...`).
    Postgres,
}

impl Backend {
    fn from_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(Error::invalid(format!(
                "unsupported catalog database URL `{}`: expected `sqlite://path` or `postgres://...`",
                redact(url)
            )))
        }
    }

    fn migrations(self) -> &'static [(i64, &'static str, &'static str)] {
        match self {
            Self::Sqlite => &[
                (
                    1,
                    "catalog",
                    include_str!("../../migrations/sqlite/0001_catalog.sql"),
                ),
                (
                    3,
                    "maintenance tasks",
                    include_str!("../../migrations/sqlite/0003_maintenance_tasks.sql"),
                ),
            ],
            Self::Postgres => &[
                (
                    1,
                    "catalog",
                    include_str!("../../migrations/postgres/0001_catalog.sql"),
                ),
                (
                    3,
                    "maintenance tasks",
                    include_str!("../../migrations/postgres/0003_maintenance_tasks.sql"),
                ),
            ],
        }
    }
}

/// A URL with its password replaced by `***`.
fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The embedded migrations of one backend.
#[derive(Debug)]
struct EmbeddedMigrations(Backend);

impl<'s> MigrationSource<'s> for EmbeddedMigrations {
    fn resolve(
        self,
    ) -> BoxFuture<'s, std::result::Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        let migrations = self
            .0
            .migrations()
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    Cow::Borrowed(*sql),
                    false,
                )
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

/// Builds a [`SqlCatalog`].
pub struct SqlCatalogBuilder {
    url: String,
    warehouse: WarehouseSpec,
    max_connections: u32,
    busy_timeout: Duration,
    cache_capacity: usize,
    max_commit_attempts: u32,
    allow_external_locations: bool,
    hook: Option<CommitHook>,
}

enum WarehouseSpec {
    Location(String),
    Ready(Warehouse),
}

impl fmt::Debug for SqlCatalogBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlCatalogBuilder")
            .field("url", &redact(&self.url))
            .field("max_connections", &self.max_connections)
            .field("max_commit_attempts", &self.max_commit_attempts)
            .finish_non_exhaustive()
    }
}

impl SqlCatalogBuilder {
    /// The database at `url` (`sqlite://path` — created if missing — or `postgres://...`)
    /// and the warehouse at `warehouse` (see [`Warehouse::new`]).
    pub fn new(url: impl Into<String>, warehouse: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            warehouse: WarehouseSpec::Location(warehouse.into()),
            max_connections: 8,
            busy_timeout: Duration::from_secs(30),
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            max_commit_attempts: 4,
            allow_external_locations: false,
            hook: None,
        }
    }

    /// Uses a ready warehouse (e.g. with an injected object store).
    #[must_use]
    pub fn warehouse(mut self, warehouse: Warehouse) -> Self {
        self.warehouse = WarehouseSpec::Ready(warehouse);
        self
    }

    /// The most database connections of the pool (default 8).
    #[must_use]
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long a SQLite connection waits for a lock (default 30 s).
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How many parsed metadata documents to cache (default 1024).
    #[must_use]
    pub fn cache_capacity(mut self, n: usize) -> Self {
        self.cache_capacity = n;
        self
    }

    /// How many times a commit that loses the compare-and-swap is reloaded and
    /// re-applied before it fails with CommitFailed (default 4).
    #[must_use]
    pub fn max_commit_attempts(mut self, n: u32) -> Self {
        self.max_commit_attempts = n.max(1);
        self
    }

    /// Allows table locations outside the warehouse (default: refused).
    #[must_use]
    pub fn allow_external_locations(mut self, allow: bool) -> Self {
        self.allow_external_locations = allow;
        self
    }

    /// A hook called at each phase of a commit; an error it returns aborts the commit
    /// at that point, as a crash would (fault-injection tests).
    #[must_use]
    pub fn commit_hook(mut self, hook: CommitHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// Connects, applies pending migrations, and returns the catalog.
    pub async fn build(self) -> Result<SqlCatalog> {
        static DRIVERS: Once = Once::new();
        DRIVERS.call_once(sqlx::any::install_default_drivers);

        let backend = Backend::from_url(&self.url)?;
        let warehouse = match self.warehouse {
            WarehouseSpec::Location(location) => Warehouse::new(&location)?,
            WarehouseSpec::Ready(w) => w,
        }
        .allow_external_locations(self.allow_external_locations);

        let mut url = self.url.clone();
        let mut options = AnyPoolOptions::new().max_connections(self.max_connections);
        if backend == Backend::Sqlite {
            if url.contains(":memory:") {
                // Every connection to `:memory:` is its own database: keep one.
                options = options.max_connections(1);
            } else if !url.contains("mode=") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("mode=rwc");
            }
            let busy_ms = self.busy_timeout.as_millis();
            options = options.after_connect(move |conn, _| {
                Box::pin(async move {
                    conn.execute(format!("PRAGMA busy_timeout = {busy_ms}").as_str())
                        .await?;
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            });
        }
        let pool = options.connect(&url).await.map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "cannot connect to the catalog database {}",
                    redact(&self.url)
                ),
            )
            .with_source(e)
        })?;
        let migrator = Migrator::new(EmbeddedMigrations(backend))
            .await
            .map_err(|e| err(ErrorKind::Unexpected, "catalog migrations").with_source(e))?;
        migrator.run(&pool).await.map_err(|e| {
            Error::new(ErrorKind::Io, "cannot migrate the catalog database").with_source(e)
        })?;
        Ok(SqlCatalog {
            inner: Arc::new(Inner {
                pool,
                backend,
                warehouse,
                cache: MetadataCache::new(self.cache_capacity),
                max_commit_attempts: self.max_commit_attempts,
                hook: self.hook,
                commits: tokio::sync::broadcast::channel(COMMIT_NOTIFICATIONS).0,
            }),
        })
    }
}

/// The catalog on SQLite or PostgreSQL. Cheap to clone; clones share the pool and the
/// metadata cache.
#[derive(Clone)]
pub struct SqlCatalog {
    inner: Arc<Inner>,
}

struct Inner {
    pool: AnyPool,
    backend: Backend,
    warehouse: Warehouse,
    cache: MetadataCache,
    max_commit_attempts: u32,
    hook: Option<CommitHook>,
    /// Tables whose pointer moved, for [`SqlCatalog::subscribe_commits`].
    commits: tokio::sync::broadcast::Sender<TableIdent>,
}

/// How many commit notifications a slow subscriber may lag behind before it misses
/// some (it then sees `RecvError::Lagged` and should sweep every table).
const COMMIT_NOTIFICATIONS: usize = 1024;

impl fmt::Debug for SqlCatalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlCatalog")
            .field("backend", &self.inner.backend)
            .field("warehouse", &self.inner.warehouse)
            .finish_non_exhaustive()
    }
}

/// The current time in ms since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl SqlCatalog {
    /// Connects with default settings: see [`SqlCatalogBuilder::new`].
    pub async fn connect(url: &str, warehouse: &str) -> Result<Self> {
        SqlCatalogBuilder::new(url, warehouse).build().await
    }

    /// A builder.
    pub fn builder(url: impl Into<String>, warehouse: impl Into<String>) -> SqlCatalogBuilder {
        SqlCatalogBuilder::new(url, warehouse)
    }

    /// The database backend.
    pub fn backend(&self) -> Backend {
        self.inner.backend
    }

    /// The warehouse.
    pub fn warehouse(&self) -> &Warehouse {
        &self.inner.warehouse
    }

    /// Metadata cache hit and miss counts.
    pub fn cache_stats(&self) -> CacheStats {
        self.inner.cache.stats()
    }

    /// Notifications of the tables whose metadata pointer this catalog handle (or a
    /// clone of it) moved, sent after the commit's transaction is committed. Commits
    /// through other handles or processes are not seen: subscribers (the maintenance
    /// scheduler) also sweep periodically.
    pub fn subscribe_commits(&self) -> tokio::sync::broadcast::Receiver<TableIdent> {
        self.inner.commits.subscribe()
    }

    /// Closes the connection pool.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }

    /// Begins a write transaction (`BEGIN IMMEDIATE` on SQLite).
    async fn begin(&self) -> Result<Transaction<'static, Any>> {
        let tx = match self.inner.backend {
            Backend::Sqlite => self.inner.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.inner.pool.begin().await,
        };
        tx.map_err(|e| db_error("begin transaction", e))
    }

    /// Reads and parses a metadata file, through the cache.
    pub async fn read_metadata(&self, location: &str) -> Result<Arc<TableMetadata>> {
        if let Some(meta) = self.inner.cache.get(location) {
            return Ok(meta);
        }
        let bytes = self.inner.warehouse.read(location).await.map_err(|e| {
            if e.kind() == ErrorKind::NoSuchTable {
                Error::new(
                    ErrorKind::Io,
                    format!("metadata file `{location}` is missing"),
                )
                .with_source(e)
            } else {
                e
            }
        })?;
        let meta = Arc::new(
            TableMetadata::from_json_slice(&bytes)
                .map_err(|e| Error::new(e.kind(), format!("metadata file `{location}`: {e}")))?,
        );
        self.inner.cache.insert(location, Arc::clone(&meta));
        Ok(meta)
    }
}

/// Reads a text column.
fn text(row: &AnyRow, col: &str) -> Result<String> {
    row.try_get::<String, _>(col)
        .map_err(|e| db_error("read column", e))
}

/// Reads an integer column.
fn int(row: &AnyRow, col: &str) -> Result<i64> {
    row.try_get::<i64, _>(col)
        .map_err(|e| db_error("read column", e))
}

/// Reads a nullable integer column.
fn opt_int(row: &AnyRow, col: &str) -> Result<Option<i64>> {
    row.try_get::<Option<i64>, _>(col)
        .map_err(|e| db_error("read column", e))
}

/// Properties as stored (a JSON object).
fn properties_from_json(s: &str) -> Result<HashMap<String, String>> {
    serde_json::from_str(s).map_err(|e| {
        Error::new(
            ErrorKind::Unexpected,
            "stored namespace properties are not a JSON object",
        )
        .with_source(e)
    })
}

#[async_trait]
impl Catalog for SqlCatalog {
    async fn list_namespaces(
        &self,
        parent: Option<&NamespaceIdent>,
    ) -> Result<Vec<NamespaceIdent>> {
        self.list_namespaces_impl(parent).await
    }

    async fn create_namespace(
        &self,
        namespace: &NamespaceIdent,
        properties: HashMap<String, String>,
    ) -> Result<Namespace> {
        self.create_namespace_impl(namespace, properties).await
    }

    async fn load_namespace(&self, namespace: &NamespaceIdent) -> Result<Namespace> {
        self.load_namespace_impl(namespace).await
    }

    async fn namespace_exists(&self, namespace: &NamespaceIdent) -> Result<bool> {
        match self.load_namespace_impl(namespace).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NoSuchNamespace => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn update_namespace_properties(
        &self,
        namespace: &NamespaceIdent,
        removals: Vec<String>,
        updates: HashMap<String, String>,
    ) -> Result<NamespacePropertiesUpdate> {
        self.update_namespace_properties_impl(namespace, removals, updates)
            .await
    }

    async fn drop_namespace(&self, namespace: &NamespaceIdent) -> Result<()> {
        self.drop_namespace_impl(namespace).await
    }

    async fn list_tables(&self, namespace: &NamespaceIdent) -> Result<Vec<TableIdent>> {
        self.list_tables_impl(namespace).await
    }

    async fn create_table(
        &self,
        namespace: &NamespaceIdent,
        creation: TableCreation,
    ) -> Result<LoadedTable> {
        self.create_table_impl(namespace, creation).await
    }

    async fn stage_create_table(
        &self,
        namespace: &NamespaceIdent,
        creation: TableCreation,
    ) -> Result<StagedTable> {
        self.stage_create_table_impl(namespace, creation).await
    }

    async fn load_table(&self, table: &TableIdent) -> Result<LoadedTable> {
        self.load_table_impl(table).await
    }

    async fn table_exists(&self, table: &TableIdent) -> Result<bool> {
        table.validate()?;
        Ok(self.table_row(table).await?.is_some())
    }

    async fn drop_table(&self, table: &TableIdent, purge: bool) -> Result<()> {
        self.drop_table_impl(table, purge).await
    }

    async fn rename_table(&self, from: &TableIdent, to: &TableIdent) -> Result<()> {
        self.rename_table_impl(from, to).await
    }

    async fn register_table(
        &self,
        table: &TableIdent,
        metadata_location: &str,
    ) -> Result<LoadedTable> {
        self.register_table_impl(table, metadata_location).await
    }

    async fn commit(
        &self,
        commits: Vec<TableCommit>,
        idempotency_key: Option<String>,
    ) -> Result<CommitResult> {
        self.commit_impl(commits, idempotency_key, false).await
    }

    async fn writer_progress(
        &self,
        table: &TableIdent,
        writer_id: &str,
    ) -> Result<Option<WriterProgress>> {
        let all = self.writers_impl(table, Some(writer_id)).await?;
        Ok(all.into_iter().next())
    }

    async fn list_writers(&self, table: &TableIdent) -> Result<Vec<WriterProgress>> {
        self.writers_impl(table, None).await
    }

    async fn open_writer(&self, table: &TableIdent, writer_id: &str) -> Result<WriterProgress> {
        self.open_writer_impl(table, writer_id).await
    }
}
