//! [`Floe`]: one handle for Rust users — connect to a catalog by URI, then work with
//! namespaces and tables by their dotted names.
//!
//! | URI | catalog |
//! |---|---|
//! | `http://host:8181`, `https://…` | [`RestCatalog`] (`floe serve` or any Iceberg REST catalog) |
//! | `sqlite:///path/catalog.db?warehouse=/path/wh` | embedded [`SqlCatalog`] (warehouse defaults to `warehouse/` beside the file) |
//! | `postgres://…?warehouse=s3://bucket/wh` | embedded [`SqlCatalog`] on PostgreSQL (warehouse required) |
//! | `/path/to/dir`, `file:///path/to/dir` | embedded: `<dir>/catalog.db` and `<dir>/warehouse`, the layout of `floe serve --data-dir` |
//!
//! Tables are [`floe_table::Table`]s: [`Table::append`] writes record batches and
//! commits them, [`Floe::scan`] reads with filters and projections (planned by the
//! server when it offers scan planning, see [`crate::scan`]; [`Table::scan`] always
//! plans client-side), and time travel is the scan's
//! [`snapshot_id`](crate::FloeScanBuilder::snapshot_id) or
//! [`as_of`](crate::FloeScanBuilder::as_of); the table's snapshots and history are on
//! its metadata. [`Floe::stream_writer`] opens a stream
//! writer (see [`crate::stream`]) and [`Floe::sql`] a SQL session.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch};
//! use arrow::datatypes::{DataType, Field, Schema};
//! use floe_client::Floe;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let floe = Floe::connect(dir.path().to_str().unwrap()).await.unwrap();
//! floe.create_namespace("db").await.unwrap();
//! let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
//! let table = floe.create_table("db.events", &schema).await.unwrap();
//! let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))]).unwrap();
//! let table = table.append(vec![batch]).await.unwrap();
//! let rows: usize = table.scan().build().unwrap().to_arrow().await.unwrap()
//!     .iter().map(RecordBatch::num_rows).sum();
//! assert_eq!(rows, 3);
//! # });
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::Schema as ArrowSchema;
use floe_catalog::{Catalog, NamespaceIdent, SqlCatalog, TableCreation, TableIdent};
use floe_spec::{Error, Result};
use floe_table::Table;
use floe_table::arrow_schema::{FieldIds, arrow_to_schema};
use floe_table::io::FileIO;

use crate::rest::{RestCatalog, RestCatalogBuilder};
use crate::scan::{FloeScanBuilder, ScanPlanner};
use crate::sql::FloeSession;
use crate::stream::FloeStreamWriter;
use floe_table::stream::{GroupCommitConfig, GroupCommitter, StreamWriter, StreamWriterConfig};

/// A connection to a catalog, with the FileIO that reaches its tables' files.
#[derive(Debug, Clone)]
pub struct Floe {
    catalog: Arc<dyn Catalog>,
    io: FileIO,
    /// Where the tables' files are (a store root such as `s3://bucket/`); the local
    /// file system when unknown.
    files_root: Option<String>,
    /// The REST catalog, when connected to one (for Floe's extensions).
    rest: Option<RestCatalog>,
    /// The group committer of embedded stream writers, made on first use.
    committer: Arc<std::sync::OnceLock<GroupCommitter>>,
}

/// Connection settings beyond the URI: REST properties (`token`, `credential`,
/// `warehouse`, …) and FileIO properties (`s3.endpoint`, …).
#[derive(Debug, Clone)]
pub struct FloeBuilder {
    uri: String,
    properties: HashMap<String, String>,
}

impl FloeBuilder {
    /// Sets a property.
    #[must_use]
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key.into(), value.into());
        self
    }

    /// A static bearer token for a REST catalog.
    #[must_use]
    pub fn token(self, token: impl Into<String>) -> Self {
        self.property("token", token)
    }

    /// OAuth2 client credentials for a REST catalog.
    #[must_use]
    pub fn credential(self, client_id: &str, client_secret: &str) -> Self {
        self.property("credential", format!("{client_id}:{client_secret}"))
    }

    /// Connects.
    pub async fn connect(self) -> Result<Floe> {
        let uri = self.uri.trim();
        if uri.starts_with("http://") || uri.starts_with("https://") {
            let catalog = RestCatalogBuilder::new(uri)
                .properties(self.properties.clone())
                .build()
                .await?;
            let mut props = self.properties;
            props.extend(catalog.config().properties.clone());
            let files_root = warehouse_location(&props);
            return Ok(Floe {
                rest: Some(catalog.clone()),
                catalog: Arc::new(catalog),
                io: FileIO::new(props),
                files_root,
                committer: Arc::default(),
            });
        }
        let (url, warehouse) = embedded_target(uri)?;
        let catalog = SqlCatalog::connect(&url, &warehouse).await?;
        let io = FileIO::from_warehouse(catalog.warehouse())?;
        Ok(Floe {
            files_root: Some(catalog.warehouse().root()),
            catalog: Arc::new(catalog),
            io,
            rest: None,
            committer: Arc::default(),
        })
    }
}

/// The `warehouse` property when it is a location (REST catalogs may also use it as a
/// warehouse *name*).
fn warehouse_location(props: &HashMap<String, String>) -> Option<String> {
    props
        .get("warehouse")
        .filter(|w| w.contains("://") || w.starts_with('/'))
        .cloned()
}

/// The catalog database URL and warehouse of an embedded URI.
fn embedded_target(uri: &str) -> Result<(String, String)> {
    if let Some(rest) = uri
        .strip_prefix("sqlite://")
        .map(|r| ("sqlite://", r))
        .or_else(|| uri.strip_prefix("postgres://").map(|r| ("postgres://", r)))
        .or_else(|| {
            uri.strip_prefix("postgresql://")
                .map(|r| ("postgresql://", r))
        })
    {
        let (scheme, rest) = rest;
        let (body, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut warehouse = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("warehouse", w)) => warehouse = Some(w.to_owned()),
                _ => kept.push(pair),
            }
        }
        let url = if kept.is_empty() {
            format!("{scheme}{body}")
        } else {
            format!("{scheme}{body}?{}", kept.join("&"))
        };
        let warehouse = match (warehouse, scheme) {
            (Some(w), _) => w,
            (None, "sqlite://") => {
                let db = Path::new(body.trim_start_matches("//"));
                let dir = db.parent().filter(|p| !p.as_os_str().is_empty());
                dir.map_or_else(|| PathBuf::from("warehouse"), |d| d.join("warehouse"))
                    .display()
                    .to_string()
            }
            (None, _) => {
                return Err(Error::invalid(format!(
                    "catalog URI `{}`: a PostgreSQL catalog needs `?warehouse=<location>`",
                    redact(uri)
                )));
            }
        };
        return Ok((url, warehouse));
    }
    let dir = match uri.strip_prefix("file://") {
        Some(path) => PathBuf::from(path),
        None if uri.contains("://") => {
            return Err(Error::invalid(format!(
                "catalog URI `{}`: expected http(s)://, sqlite://, postgres://, file:// or a \
                 folder",
                redact(uri)
            )));
        }
        None => PathBuf::from(uri),
    };
    if dir.as_os_str().is_empty() {
        return Err(Error::invalid("catalog URI is empty"));
    }
    let dir = std::path::absolute(&dir)
        .map_err(|e| Error::invalid(format!("invalid data folder `{}`: {e}", dir.display())))?;
    std::fs::create_dir_all(&dir).map_err(|e| {
        Error::new(
            floe_spec::ErrorKind::Io,
            format!("cannot create the data folder `{}`: {e}", dir.display()),
        )
    })?;
    Ok((
        format!("sqlite://{}", dir.join("catalog.db").display()),
        dir.join("warehouse").display().to_string(),
    ))
}

/// A URI without its password.
fn redact(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => uri.to_owned(),
    }
}

/// A table identifier from its dotted name: `db.events`, `sales.eu.orders` (the last
/// part is the table).
pub fn parse_table_name(name: &str) -> Result<TableIdent> {
    let (ns, table) = name.rsplit_once('.').ok_or_else(|| {
        Error::invalid(format!(
            "invalid table name `{name}`: expected `namespace.table`"
        ))
    })?;
    TableIdent::new(NamespaceIdent::from_dotted(ns)?, table)
}

impl Floe {
    /// Connects to the catalog at `uri` (see the module docs for the forms).
    pub async fn connect(uri: &str) -> Result<Self> {
        Self::builder(uri).connect().await
    }

    /// A builder for a connection with properties (tokens, credentials, FileIO).
    pub fn builder(uri: &str) -> FloeBuilder {
        FloeBuilder {
            uri: uri.to_owned(),
            properties: HashMap::new(),
        }
    }

    /// An embedded catalog: a SQLite (or PostgreSQL) database and a warehouse.
    pub async fn embedded(catalog_url: &str, warehouse: &str) -> Result<Self> {
        let catalog = SqlCatalog::connect(catalog_url, warehouse).await?;
        let io = FileIO::from_warehouse(catalog.warehouse())?;
        Ok(Self {
            files_root: Some(catalog.warehouse().root()),
            catalog: Arc::new(catalog),
            io,
            rest: None,
            committer: Arc::default(),
        })
    }

    /// A connection over any catalog, reaching files through `io`.
    pub fn with_catalog(catalog: Arc<dyn Catalog>, io: FileIO) -> Self {
        let files_root = warehouse_location(io.properties());
        Self {
            catalog,
            io,
            files_root,
            rest: None,
            committer: Arc::default(),
        }
    }

    /// The catalog.
    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        &self.catalog
    }

    /// The FileIO of the tables' files.
    pub fn file_io(&self) -> &FileIO {
        &self.io
    }

    /// Creates a namespace (dotted: `sales.eu`).
    pub async fn create_namespace(&self, namespace: &str) -> Result<NamespaceIdent> {
        let ns = NamespaceIdent::from_dotted(namespace)?;
        self.catalog.create_namespace(&ns, HashMap::new()).await?;
        Ok(ns)
    }

    /// The namespaces under `parent` (top-level ones when `None`).
    pub async fn list_namespaces(&self, parent: Option<&str>) -> Result<Vec<NamespaceIdent>> {
        let parent = parent.map(NamespaceIdent::from_dotted).transpose()?;
        self.catalog.list_namespaces(parent.as_ref()).await
    }

    /// Drops an empty namespace.
    pub async fn drop_namespace(&self, namespace: &str) -> Result<()> {
        self.catalog
            .drop_namespace(&NamespaceIdent::from_dotted(namespace)?)
            .await
    }

    /// The tables of a namespace.
    pub async fn list_tables(&self, namespace: &str) -> Result<Vec<TableIdent>> {
        self.catalog
            .list_tables(&NamespaceIdent::from_dotted(namespace)?)
            .await
    }

    /// Creates an unpartitioned table `namespace.table` with the columns of an Arrow
    /// schema (field ids assigned from 1).
    pub async fn create_table(&self, name: &str, schema: &ArrowSchema) -> Result<Table> {
        let ident = parse_table_name(name)?;
        let schema = arrow_to_schema(schema, FieldIds::AssignFresh)?;
        self.create_table_with(&ident.namespace, TableCreation::new(ident.name, schema))
            .await
    }

    /// Creates a table from a full [`TableCreation`] (partitioning, sort order,
    /// properties).
    pub async fn create_table_with(
        &self,
        namespace: &NamespaceIdent,
        creation: TableCreation,
    ) -> Result<Table> {
        let loaded = self.catalog.create_table(namespace, creation).await?;
        let store = self.io.store(loaded.metadata.location())?;
        Ok(Table::new(loaded, Arc::clone(&self.catalog), store))
    }

    /// Loads a table by its dotted name.
    pub async fn table(&self, name: &str) -> Result<Table> {
        let ident = parse_table_name(name)?;
        let loaded = self.catalog.load_table(&ident).await?;
        let store = self.io.store(loaded.metadata.location())?;
        Ok(Table::new(loaded, Arc::clone(&self.catalog), store))
    }

    /// How this connection plans scans: on the server when it is a REST catalog that
    /// offers scan planning, else client-side (see [`crate::scan`]).
    pub fn planner(&self) -> ScanPlanner {
        self.rest
            .clone()
            .map_or_else(ScanPlanner::client_side, ScanPlanner::rest)
    }

    /// A scan of table `name` (loaded now), planned by [`Floe::planner`].
    pub async fn scan(&self, name: &str) -> Result<FloeScanBuilder> {
        Ok(self.scan_table(self.table(name).await?))
    }

    /// A scan of a loaded table, planned by [`Floe::planner`].
    pub fn scan_table(&self, table: Table) -> FloeScanBuilder {
        FloeScanBuilder::new(table, self.planner())
    }

    /// A SQL session over this catalog (see [`crate::sql`]); its scans are planned by
    /// [`Floe::planner`]. Table files are read and
    /// written through the store of the warehouse (an embedded catalog's, or a REST
    /// catalog's `warehouse` property when it is a location), else the local file
    /// system: a client of a `floe serve` on the same machine reads its warehouse
    /// folder directly, as any Iceberg client reads table files itself.
    pub async fn sql(&self) -> datafusion::common::Result<FloeSession> {
        let root = self.files_root.as_deref().unwrap_or("file:///");
        let store = self
            .io
            .store(root)
            .map_err(|e| datafusion::common::DataFusionError::External(Box::new(e)))?;
        FloeSession::with_planner(
            Arc::clone(&self.catalog),
            store,
            datafusion::prelude::SessionConfig::new(),
            self.planner(),
        )
        .await
    }

    /// Opens stream writer `writer_id` of table `name` (see [`crate::stream`]): the
    /// table crate's [`StreamWriter`] on an embedded catalog; on a REST catalog, Floe's
    /// append intents when the server offers them, else standard commits.
    pub async fn stream_writer(&self, name: &str, writer_id: &str) -> Result<FloeStreamWriter> {
        self.stream_writer_with(name, StreamWriterConfig::new(writer_id))
            .await
    }

    /// [`Floe::stream_writer`] with triggers and bounds: an embedded writer takes
    /// all of `config`; a remote one its `max_rows`, `max_in_flight` (pipelined
    /// intents, see [`crate::stream`]) and `max_unknown_retries`.
    pub async fn stream_writer_with(
        &self,
        name: &str,
        config: StreamWriterConfig,
    ) -> Result<FloeStreamWriter> {
        let table = self.table(name).await?;
        if let Some(rest) = &self.rest {
            return FloeStreamWriter::remote(rest.clone(), table, config).await;
        }
        let committer = self
            .committer
            .get_or_init(|| {
                GroupCommitter::new(
                    Arc::clone(&self.catalog),
                    table.store().clone(),
                    GroupCommitConfig::default(),
                )
            })
            .clone();
        let writer = StreamWriter::open(table, committer, config).await?;
        Ok(FloeStreamWriter::embedded(writer))
    }

    /// Drops a table; with `purge`, its files too.
    pub async fn drop_table(&self, name: &str, purge: bool) -> Result<()> {
        self.catalog
            .drop_table(&parse_table_name(name)?, purge)
            .await
    }
}

impl From<RestCatalog> for Floe {
    fn from(catalog: RestCatalog) -> Self {
        let io = FileIO::new(catalog.config().properties.clone());
        Self {
            files_root: warehouse_location(io.properties()),
            rest: Some(catalog.clone()),
            catalog: Arc::new(catalog),
            io,
            committer: Arc::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_uris() {
        let (url, wh) = embedded_target("sqlite:///data/c.db?warehouse=/data/wh").unwrap();
        assert_eq!(
            (url.as_str(), wh.as_str()),
            ("sqlite:///data/c.db", "/data/wh")
        );
        let (_, wh) = embedded_target("sqlite:///data/c.db").unwrap();
        assert_eq!(wh, "/data/warehouse");
        let e = embedded_target("postgres://u:pw@h/db").unwrap_err();
        assert!(e.message().contains("warehouse"), "{e}");
        assert!(!e.message().contains("pw"), "{e}");
        let (url, _) =
            embedded_target("postgres://h/db?sslmode=disable&warehouse=s3://b/w").unwrap();
        assert_eq!(url, "postgres://h/db?sslmode=disable");
        assert!(embedded_target("ftp://x").is_err());
    }

    #[test]
    fn table_names() {
        let t = parse_table_name("a.b.t").unwrap();
        assert_eq!(t.namespace.levels(), ["a", "b"]);
        assert_eq!(t.name, "t");
        assert!(parse_table_name("t").is_err());
        assert!(parse_table_name("a..t").is_err());
    }
}
