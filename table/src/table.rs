//! [`Table`]: a table of a catalog, pinned to one metadata version until refreshed,
//! with the object store that holds its files.
//!
//! Reads of the metadata never touch the catalog; [`Table::refresh`] loads the newest
//! version, and [`Table::new_transaction`] starts changes (see [`crate::transaction`]
//! for how they commit). Shortcuts such as [`Table::append`] run a one-operation
//! transaction and return the table as committed.
//!
//! ```no_run
//! # async fn demo(catalog: std::sync::Arc<floe_catalog::SqlCatalog>,
//! #               batch: arrow::array::RecordBatch) -> floe_table::Result<()> {
//! use floe_catalog::TableIdent;
//! use floe_table::table::Table;
//! let ident = TableIdent::new(floe_catalog::NamespaceIdent::new(["db"])?, "t")?;
//! let store = catalog.warehouse().store().clone();
//! let table = Table::load(catalog, &ident, store).await?;
//! let table = table.append(vec![batch]).await?;
//! println!("{:?}", table.current_snapshot().map(|s| s.snapshot_id));
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow::array::RecordBatch;
use bytes::Bytes;
use floe_catalog::{Catalog, LoadedTable, TableIdent};
use floe_spec::expr::Expression;
use floe_spec::manifest::{DataFile, Manifest, ManifestEntry};
use floe_spec::manifest_list::{ManifestFile, ManifestList};
use floe_spec::partition::PartitionSpecRef;
use floe_spec::schema::SchemaRef;
use floe_spec::snapshot::SnapshotRef;
use floe_spec::table_metadata::{SnapshotLog, TableMetadata};
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use crate::error::{Error, ErrorKind, Result};
use crate::transaction::Transaction;
use crate::writer::default_store_path;

/// Reads and writes the files of a table. A private seam: the table's FileIO will
/// replace it.
#[derive(Clone)]
pub(crate) struct Storage {
    store: Arc<dyn ObjectStore>,
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("store", &self.store.to_string())
            .finish()
    }
}

fn store_error(what: &str, location: &str, e: object_store::Error) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("object store: {what} `{location}` failed"),
    )
    .with_source(e)
}

impl Storage {
    pub(crate) fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    pub(crate) fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub(crate) async fn read(&self, location: &str) -> Result<Bytes> {
        let path = default_store_path(location)?;
        let got = self
            .store
            .get(&path)
            .await
            .map_err(|e| store_error("read", location, e))?;
        got.bytes()
            .await
            .map_err(|e| store_error("read", location, e))
    }

    /// Writes a new file; an existing file is an error (create-if-absent).
    pub(crate) async fn write_new(&self, location: &str, bytes: Vec<u8>) -> Result<()> {
        let path = default_store_path(location)?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        self.store
            .put_opts(&path, PutPayload::from(bytes), opts)
            .await
            .map(|_| ())
            .map_err(|e| store_error("create", location, e))
    }

    /// Deletes a file; a missing one is fine.
    pub(crate) async fn delete(&self, location: &str) -> Result<()> {
        let path = default_store_path(location)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_error("delete", location, e)),
        }
    }

    /// The manifests of a snapshot's manifest list.
    pub(crate) async fn manifest_list(
        &self,
        metadata: &TableMetadata,
        location: &str,
    ) -> Result<Vec<ManifestFile>> {
        let bytes = self.read(location).await?;
        let types = ManifestList::partition_types(metadata);
        Ok(ManifestList::parse(&bytes, &types)?.entries)
    }

    /// The entries of a manifest, with inheritance from its list entry applied.
    pub(crate) async fn manifest_entries(
        &self,
        manifest: &ManifestFile,
    ) -> Result<Vec<ManifestEntry>> {
        let bytes = self.read(&manifest.manifest_path).await?;
        Ok(Manifest::parse(&bytes)?.into_entries_inheriting(manifest))
    }
}

/// A table: identifier, the metadata it is pinned to, the catalog that moves it, and
/// the object store that holds its files.
#[derive(Clone)]
pub struct Table {
    ident: TableIdent,
    metadata: Arc<TableMetadata>,
    metadata_location: Option<String>,
    catalog: Arc<dyn Catalog>,
    storage: Storage,
}

impl fmt::Debug for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Table")
            .field("ident", &self.ident.to_string())
            .field("metadata_location", &self.metadata_location)
            .finish_non_exhaustive()
    }
}

impl Table {
    /// A table from what a catalog returned, with the object store of its files.
    pub fn new(
        loaded: LoadedTable,
        catalog: Arc<dyn Catalog>,
        store: Arc<dyn ObjectStore>,
    ) -> Self {
        Self {
            ident: loaded.ident,
            metadata: loaded.metadata,
            metadata_location: loaded.metadata_location,
            catalog,
            storage: Storage::new(store),
        }
    }

    /// Loads a table from a catalog.
    pub async fn load(
        catalog: Arc<dyn Catalog>,
        ident: &TableIdent,
        store: Arc<dyn ObjectStore>,
    ) -> Result<Self> {
        let loaded = catalog.load_table(ident).await?;
        Ok(Self::new(loaded, catalog, store))
    }

    /// Loads the newest metadata from the catalog.
    pub async fn refresh(&mut self) -> Result<()> {
        let loaded = self.catalog.load_table(&self.ident).await?;
        self.metadata = loaded.metadata;
        self.metadata_location = loaded.metadata_location;
        Ok(())
    }

    pub(crate) fn set_loaded(&mut self, loaded: LoadedTable) {
        self.metadata = loaded.metadata;
        self.metadata_location = loaded.metadata_location;
    }

    pub(crate) fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The object store of the table's files.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        self.storage.store()
    }

    /// The table identifier.
    pub fn ident(&self) -> &TableIdent {
        &self.ident
    }

    /// The catalog.
    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        &self.catalog
    }

    /// The metadata this table is pinned to.
    pub fn metadata(&self) -> &Arc<TableMetadata> {
        &self.metadata
    }

    /// The metadata file this table was loaded from.
    pub fn metadata_location(&self) -> Option<&str> {
        self.metadata_location.as_deref()
    }

    /// The table location.
    pub fn location(&self) -> &str {
        self.metadata.location()
    }

    /// The current schema.
    pub fn schema(&self) -> &SchemaRef {
        self.metadata.current_schema()
    }

    /// The default partition spec.
    pub fn spec(&self) -> &PartitionSpecRef {
        self.metadata.default_partition_spec()
    }

    /// The table properties.
    pub fn properties(&self) -> &HashMap<String, String> {
        self.metadata.properties()
    }

    /// The current snapshot (head of `main`).
    pub fn current_snapshot(&self) -> Option<&SnapshotRef> {
        self.metadata.current_snapshot()
    }

    /// A snapshot by id.
    pub fn snapshot(&self, id: i64) -> Option<&SnapshotRef> {
        self.metadata.snapshot_by_id(id)
    }

    /// The head snapshot of a branch or tag.
    pub fn snapshot_for_ref(&self, name: &str) -> Option<&SnapshotRef> {
        self.metadata.snapshot_for_ref(name)
    }

    /// When each snapshot became current (the snapshot log).
    pub fn history(&self) -> &[SnapshotLog] {
        self.metadata.snapshot_log()
    }

    /// The ancestors of a snapshot, itself first.
    pub fn ancestors(&self, snapshot_id: i64) -> Vec<SnapshotRef> {
        ancestors(&self.metadata, Some(snapshot_id))
    }

    /// The live data and delete files of a snapshot (`None`: the current one), with
    /// their manifest entries (sequence numbers inherited).
    pub async fn live_entries(&self, snapshot_id: Option<i64>) -> Result<Vec<ManifestEntry>> {
        let snapshot = match snapshot_id {
            Some(id) => self.metadata.snapshot_by_id(id).ok_or_else(|| {
                Error::invalid(format!("table {}: unknown snapshot {id}", self.ident))
            })?,
            None => match self.metadata.current_snapshot() {
                Some(s) => s,
                None => return Ok(Vec::new()),
            },
        };
        let mut out = Vec::new();
        for m in self
            .storage
            .manifest_list(&self.metadata, &snapshot.manifest_list)
            .await?
        {
            out.extend(
                self.storage
                    .manifest_entries(&m)
                    .await?
                    .into_iter()
                    .filter(ManifestEntry::is_alive),
            );
        }
        Ok(out)
    }

    /// The manifests of a snapshot (`None`: the current one).
    pub async fn manifests(&self, snapshot_id: Option<i64>) -> Result<Vec<ManifestFile>> {
        let snapshot = match snapshot_id {
            Some(id) => self.metadata.snapshot_by_id(id),
            None => self.metadata.current_snapshot(),
        };
        match snapshot {
            Some(s) => {
                self.storage
                    .manifest_list(&self.metadata, &s.manifest_list)
                    .await
            }
            None => Ok(Vec::new()),
        }
    }

    /// The entries of one manifest (inheritance applied).
    pub async fn manifest_entries(&self, manifest: &ManifestFile) -> Result<Vec<ManifestEntry>> {
        self.storage.manifest_entries(manifest).await
    }

    /// A scan of the table as pinned now (the current snapshot unless the builder picks
    /// another).
    pub fn scan(&self) -> crate::scan::TableScanBuilder {
        crate::scan::TableScanBuilder::new(
            self.metadata.clone(),
            Arc::new(crate::scan::ObjectStoreFileRead::new(self.store().clone())),
        )
    }

    /// Starts a transaction on the table as pinned now.
    pub fn new_transaction(&self) -> Transaction {
        Transaction::new(self.clone())
    }

    /// Writes `batches` as new data files and commits them with a fast append.
    pub async fn append(&self, batches: Vec<RecordBatch>) -> Result<Table> {
        let mut tx = self.new_transaction();
        tx.append_batches(&batches).await?;
        tx.commit().await
    }

    /// Commits already written data files with a fast append.
    pub async fn append_files(&self, files: Vec<DataFile>) -> Result<Table> {
        let mut tx = self.new_transaction();
        tx.fast_append(files);
        tx.commit().await
    }

    /// Deletes the rows matching `filter` (whole files, or rewriting partly matching
    /// ones).
    pub async fn delete(&self, filter: Expression) -> Result<Table> {
        let mut tx = self.new_transaction();
        tx.delete_where(filter);
        tx.commit().await
    }

    /// Replaces the rows matching `filter` with `batches` in one commit (a delete
    /// snapshot and an append snapshot, like PyIceberg's overwrite).
    pub async fn overwrite(&self, filter: Expression, batches: Vec<RecordBatch>) -> Result<Table> {
        let mut tx = self.new_transaction();
        tx.overwrite_batches(filter, &batches).await?;
        tx.commit().await
    }
}

/// The ancestors of a snapshot in `metadata`, itself first.
pub(crate) fn ancestors(metadata: &TableMetadata, start: Option<i64>) -> Vec<SnapshotRef> {
    let mut out = Vec::new();
    let mut next = start;
    while let Some(id) = next {
        let Some(s) = metadata.snapshot_by_id(id) else {
            break;
        };
        next = s.parent_snapshot_id;
        out.push(s.clone());
        if out.len() > metadata.snapshots().len() {
            break;
        }
    }
    out
}
