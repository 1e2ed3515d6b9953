//! [`FloeCatalogProvider`]: a Floe catalog as a DataFusion catalog, namespaces as
//! schemas.
//!
//! Any schema name resolves to a [`FloeSchemaProvider`] for the namespace of that name
//! (a dotted name such as `"a.b"` is the nested namespace `a.b`); the namespace needs
//! not exist until a table is looked up in it, and `CREATE TABLE` creates it on first
//! use. Tables are loaded from the catalog each time a statement names them, so every
//! statement sees the newest committed snapshot. Names ending in `$snapshots`,
//! `$history`, `$files`, `$manifests`, `$partitions` or `$refs` are the metadata tables
//! (see [`super::metadata`]).
//!
//! DataFusion asks for schema and table *names* synchronously; those come from a list
//! loaded by [`FloeCatalogProvider::refresh`] (the session refreshes it after its own
//! DDL).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider};
use datafusion::common::{DataFusionError, Result};
use datafusion::datasource::TableProvider;
use floe_catalog::{Catalog, NamespaceIdent, TableIdent};
use floe_spec::ErrorKind;
use floe_spec::manifest::Manifest;
use floe_table::Table;
use floe_table::scan::ManifestCache;
use object_store::ObjectStore;

use super::error::{plan_err, to_df};
use super::metadata::MetadataTable;
use super::table::FloeTableProvider;
use crate::scan::ScanPlanner;

/// Parsed manifests shared by every scan of a session (manifests never change).
#[derive(Debug, Default)]
pub struct SharedManifestCache {
    entries: Mutex<HashMap<String, Arc<Manifest>>>,
}

/// How many manifests the shared cache holds before it starts over.
const MANIFEST_CACHE_CAPACITY: usize = 4096;

impl ManifestCache for SharedManifestCache {
    fn get(&self, path: &str) -> Option<Arc<Manifest>> {
        self.entries.lock().ok()?.get(path).cloned()
    }

    fn insert(&self, path: &str, manifest: Arc<Manifest>) {
        if let Ok(mut m) = self.entries.lock() {
            if m.len() >= MANIFEST_CACHE_CAPACITY {
                m.clear();
            }
            m.insert(path.to_string(), manifest);
        }
    }
}

/// A Floe catalog for DataFusion (see the module docs).
#[derive(Debug, Clone)]
pub struct FloeCatalogProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    catalog: Arc<dyn Catalog>,
    store: Arc<dyn ObjectStore>,
    /// Namespace name → table names, as last listed.
    names: RwLock<BTreeMap<String, BTreeSet<String>>>,
    manifests: Arc<SharedManifestCache>,
    planner: ScanPlanner,
}

impl FloeCatalogProvider {
    /// A provider over `catalog`, reading and writing table files through `store`;
    /// lists the namespaces and tables.
    pub async fn try_new(catalog: Arc<dyn Catalog>, store: Arc<dyn ObjectStore>) -> Result<Self> {
        Self::try_with_planner(catalog, store, ScanPlanner::client_side()).await
    }

    /// [`FloeCatalogProvider::try_new`] whose tables plan their scans with `planner`.
    pub async fn try_with_planner(
        catalog: Arc<dyn Catalog>,
        store: Arc<dyn ObjectStore>,
        planner: ScanPlanner,
    ) -> Result<Self> {
        let this = Self {
            inner: Arc::new(Inner {
                catalog,
                store,
                names: RwLock::new(BTreeMap::new()),
                manifests: Arc::new(SharedManifestCache::default()),
                planner,
            }),
        };
        this.refresh().await?;
        Ok(this)
    }

    /// The catalog.
    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        &self.inner.catalog
    }

    /// The object store of the tables' files.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.inner.store
    }

    /// Lists the namespaces (every level) and their tables again.
    pub async fn refresh(&self) -> Result<()> {
        let mut names = BTreeMap::new();
        let mut pending: Vec<Option<NamespaceIdent>> = vec![None];
        while let Some(parent) = pending.pop() {
            let children = self
                .inner
                .catalog
                .list_namespaces(parent.as_ref())
                .await
                .map_err(to_df)?;
            for ns in children {
                let tables = self.inner.catalog.list_tables(&ns).await.map_err(to_df)?;
                names.insert(
                    ns.levels().join("."),
                    tables.iter().map(|t| t.name.clone()).collect(),
                );
                pending.push(Some(ns));
            }
        }
        if let Ok(mut n) = self.inner.names.write() {
            *n = names;
        }
        Ok(())
    }

    /// The namespace a schema name stands for.
    pub fn namespace(name: &str) -> Result<NamespaceIdent> {
        NamespaceIdent::from_dotted(name).map_err(to_df)
    }

    /// The identifier of `table` in the namespace named `schema`.
    pub fn ident(schema: &str, table: &str) -> Result<TableIdent> {
        TableIdent::new(Self::namespace(schema)?, table).map_err(to_df)
    }

    /// Loads a table; `None` when it (or its namespace) does not exist.
    pub async fn load(&self, ident: &TableIdent) -> Result<Option<Table>> {
        match Table::load(
            Arc::clone(&self.inner.catalog),
            ident,
            Arc::clone(&self.inner.store),
        )
        .await
        {
            Ok(t) => Ok(Some(t)),
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::NoSuchTable | ErrorKind::NoSuchNamespace
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(to_df(e)),
        }
    }

    /// Loads a table, naming it in the error when it does not exist.
    pub async fn load_existing(&self, ident: &TableIdent) -> Result<Table> {
        self.load(ident)
            .await?
            .ok_or_else(|| plan_err(format!("table '{ident}' not found")))
    }

    /// A provider for a loaded table, sharing this catalog's manifest cache and
    /// planner.
    pub fn provider(&self, table: Table) -> Result<FloeTableProvider> {
        Ok(self.configure(FloeTableProvider::new(table)?))
    }

    /// `provider` with this catalog's manifest cache and scan planner.
    pub fn configure(&self, provider: FloeTableProvider) -> FloeTableProvider {
        provider
            .with_manifest_cache(self.manifest_cache())
            .with_planner(self.inner.planner.clone())
    }

    /// How this catalog's tables plan their scans.
    pub fn planner(&self) -> &ScanPlanner {
        &self.inner.planner
    }

    /// The manifest cache shared by this catalog's scans.
    pub fn manifest_cache(&self) -> Arc<dyn ManifestCache> {
        Arc::clone(&self.inner.manifests) as Arc<dyn ManifestCache>
    }

    fn remember(&self, schema: &str, table: Option<&str>) {
        if let Ok(mut n) = self.inner.names.write() {
            let tables = n.entry(schema.to_string()).or_default();
            if let Some(t) = table {
                tables.insert(t.to_string());
            }
        }
    }

    fn forget(&self, schema: &str, table: &str) {
        if let Ok(mut n) = self.inner.names.write()
            && let Some(tables) = n.get_mut(schema)
        {
            tables.remove(table);
        }
    }

    /// Notes a created table in the name lists.
    pub(crate) fn note_created(&self, ident: &TableIdent) {
        self.remember(
            &ident.namespace.levels().join("."),
            Some(ident.name.as_str()),
        );
    }

    /// Notes a dropped table in the name lists.
    pub(crate) fn note_dropped(&self, ident: &TableIdent) {
        self.forget(&ident.namespace.levels().join("."), &ident.name);
    }
}

impl CatalogProvider for FloeCatalogProvider {
    fn schema_names(&self) -> Vec<String> {
        self.inner
            .names
            .read()
            .map(|n| n.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        Self::namespace(name).ok()?;
        Some(Arc::new(FloeSchemaProvider {
            catalog: self.clone(),
            name: name.to_string(),
        }))
    }
}

/// One namespace of a [`FloeCatalogProvider`].
#[derive(Debug, Clone)]
pub struct FloeSchemaProvider {
    catalog: FloeCatalogProvider,
    name: String,
}

#[async_trait]
impl SchemaProvider for FloeSchemaProvider {
    fn table_names(&self) -> Vec<String> {
        self.catalog
            .inner
            .names
            .read()
            .ok()
            .and_then(|n| n.get(&self.name).map(|t| t.iter().cloned().collect()))
            .unwrap_or_default()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>, DataFusionError> {
        if let Some(meta) = MetadataTable::parse(name) {
            let (table_name, kind) = meta?;
            let ident = FloeCatalogProvider::ident(&self.name, table_name)?;
            let Some(table) = self.catalog.load(&ident).await? else {
                return Ok(None);
            };
            return Ok(Some(Arc::new(kind.build(&table).await?)));
        }
        let Ok(ident) = FloeCatalogProvider::ident(&self.name, name) else {
            return Ok(None);
        };
        match self.catalog.load(&ident).await? {
            Some(table) => {
                self.catalog.remember(&self.name, Some(name));
                Ok(Some(Arc::new(self.catalog.provider(table)?)))
            }
            None => Ok(None),
        }
    }

    fn table_exist(&self, name: &str) -> bool {
        self.table_names().iter().any(|t| t == name)
    }
}
