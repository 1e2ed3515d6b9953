//! The [`Catalog`] trait: namespaces, tables and commits, and the types it speaks.
//!
//! A catalog maps table identifiers to the location of their current metadata file and
//! moves that pointer atomically on commit. [`crate::SqlCatalog`] implements it on a SQL
//! database; a REST client implements it over HTTP. The trait is object safe:
//! `Arc<dyn Catalog>` is how the rest of Floe holds a catalog.
//!
//! ```no_run
//! # async fn demo(catalog: std::sync::Arc<dyn floe_catalog::Catalog>) -> floe_catalog::Result<()> {
//! use floe_catalog::{NamespaceIdent, TableIdent};
//! let ns = NamespaceIdent::new(["db"])?;
//! catalog.create_namespace(&ns, Default::default()).await?;
//! let table = catalog.load_table(&TableIdent::new(ns, "t")?).await;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use floe_spec::commit::{TableRequirement, TableUpdate};
use floe_spec::partition::UnboundPartitionSpec;
use floe_spec::schema::Schema;
use floe_spec::sort::SortOrder;
use floe_spec::table_metadata::TableMetadata;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ident::{NamespaceIdent, TableIdent};

/// A namespace and its properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The namespace.
    pub ident: NamespaceIdent,
    /// Its properties.
    pub properties: HashMap<String, String>,
}

/// What [`Catalog::update_namespace_properties`] did (REST
/// `UpdateNamespacePropertiesResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamespacePropertiesUpdate {
    /// Keys that were set.
    pub updated: Vec<String>,
    /// Keys that were removed.
    pub removed: Vec<String>,
    /// Keys asked to be removed that were not there.
    pub missing: Vec<String>,
}

/// What a new table looks like (REST `CreateTableRequest`).
#[derive(Debug, Clone)]
pub struct TableCreation {
    /// The table name.
    pub name: String,
    /// The schema; column ids are reassigned from 1.
    pub schema: Schema,
    /// The partition spec, unpartitioned if `None`.
    pub partition_spec: Option<UnboundPartitionSpec>,
    /// The sort order, unsorted if `None`.
    pub sort_order: Option<SortOrder>,
    /// The location; `<warehouse>/<ns>/<name>` if `None`.
    pub location: Option<String>,
    /// Table properties (`format-version` picks the format version, default 2).
    pub properties: HashMap<String, String>,
}

impl TableCreation {
    /// An unpartitioned, unsorted table with default location and no properties.
    pub fn new(name: impl Into<String>, schema: Schema) -> Self {
        Self {
            name: name.into(),
            schema,
            partition_spec: None,
            sort_order: None,
            location: None,
            properties: HashMap::new(),
        }
    }
}

/// A table as loaded from (or committed to) a catalog.
#[derive(Debug, Clone)]
pub struct LoadedTable {
    /// The table.
    pub ident: TableIdent,
    /// The current metadata file; `None` for a staged (not yet created) table.
    pub metadata_location: Option<String>,
    /// The current metadata.
    pub metadata: Arc<TableMetadata>,
}

/// A staged create: the metadata a create would produce, nothing stored yet. Committing
/// [`Self::updates`] with the single requirement `assert-create` creates the table.
#[derive(Debug, Clone)]
pub struct StagedTable {
    /// The table as it would be.
    pub table: LoadedTable,
    /// The updates that create it (PyIceberg's staged-create form).
    pub updates: Vec<TableUpdate>,
}

/// One table's part of a commit (REST `CommitTableRequest`).
#[derive(Debug, Clone)]
pub struct TableCommit {
    /// The table.
    pub ident: TableIdent,
    /// Requirements checked against the current metadata; any failure is CommitFailed.
    pub requirements: Vec<TableRequirement>,
    /// Updates applied in order.
    pub updates: Vec<TableUpdate>,
    /// Writer progress recorded in the same transaction (exactly-once streams).
    pub writer_progress: Vec<WriterProgressUpdate>,
}

impl TableCommit {
    /// A commit of `updates` under `requirements`, with no writer progress.
    pub fn new(
        ident: TableIdent,
        requirements: Vec<TableRequirement>,
        updates: Vec<TableUpdate>,
    ) -> Self {
        Self {
            ident,
            requirements,
            updates,
            writer_progress: Vec::new(),
        }
    }

    /// Adds a writer-progress update to record with the commit.
    #[must_use]
    pub fn with_writer_progress(mut self, progress: WriterProgressUpdate) -> Self {
        self.writer_progress.push(progress);
        self
    }
}

/// A micro-batch of a stream writer, recorded with the commit that adds it.
///
/// Fencing, checked inside the commit transaction against the stored progress of
/// `(table, writer_id)`: an `epoch` below the stored one is refused (CommitFailed: a
/// newer instance of the writer exists); a `seq` at or below the stored last seq is a
/// duplicate, and the commit is answered with the stored snapshot id and changes
/// nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct WriterProgressUpdate {
    /// The writer.
    pub writer_id: String,
    /// Its epoch (grows on every restart).
    pub epoch: i64,
    /// The micro-batch sequence number (strictly increasing).
    pub seq: i64,
    /// The snapshot that holds the batch; `None` = the table's current snapshot after
    /// the commit.
    pub snapshot_id: Option<i64>,
    /// Event-time watermark (ms) up to which the writer's data is complete.
    pub watermark: Option<i64>,
}

/// The stored progress of one writer on one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct WriterProgress {
    /// The writer.
    pub writer_id: String,
    /// Its current epoch.
    pub epoch: i64,
    /// The last committed micro-batch (-1 for an opened writer that has committed none).
    pub last_seq: i64,
    /// The snapshot of the last committed micro-batch.
    pub snapshot_id: Option<i64>,
    /// The last reported watermark (ms).
    pub watermark: Option<i64>,
    /// When the progress was last recorded (ms since the epoch).
    pub updated_at_ms: i64,
}

/// How a commit ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitStatus {
    /// The pointer moved: new metadata was committed.
    Committed,
    /// Nothing to change (no effective updates): the current metadata is returned.
    Unchanged,
    /// A writer-progress update was a duplicate batch: nothing was committed, and
    /// `snapshot_id` is the snapshot recorded for the writer's last batch.
    Duplicate {
        /// The writer whose batch was a duplicate.
        writer_id: String,
        /// The batch sequence number of the request.
        seq: i64,
        /// The snapshot recorded with the writer's last committed batch.
        snapshot_id: Option<i64>,
    },
    /// The idempotency key was used before: this is the first request's result.
    Replayed,
}

/// The result of [`Catalog::commit`].
#[derive(Debug, Clone)]
pub struct CommitResult {
    /// How the commit ended.
    pub status: CommitStatus,
    /// Every table of the commit, in request order, as it is after the commit.
    pub tables: Vec<LoadedTable>,
}

/// A catalog of namespaces and tables with atomic commits.
///
/// Errors use [`crate::ErrorKind`]: `NoSuchNamespace`, `NoSuchTable`, `AlreadyExists`,
/// `NamespaceNotEmpty`, `CommitFailed` (a failed requirement or a lost race: the client
/// refreshes and retries), `CommitStateUnknown`, `DataInvalid` (bad identifiers,
/// locations, updates), `Io`.
#[async_trait]
pub trait Catalog: Send + Sync + std::fmt::Debug {
    // ---- namespaces ----

    /// Lists the namespaces directly under `parent` (top-level ones when `None`).
    async fn list_namespaces(&self, parent: Option<&NamespaceIdent>)
    -> Result<Vec<NamespaceIdent>>;

    /// Creates a namespace; its parent must exist.
    async fn create_namespace(
        &self,
        namespace: &NamespaceIdent,
        properties: HashMap<String, String>,
    ) -> Result<Namespace>;

    /// Loads a namespace and its properties.
    async fn load_namespace(&self, namespace: &NamespaceIdent) -> Result<Namespace>;

    /// Whether a namespace exists.
    async fn namespace_exists(&self, namespace: &NamespaceIdent) -> Result<bool>;

    /// Removes then sets namespace properties (a key in both is an error).
    async fn update_namespace_properties(
        &self,
        namespace: &NamespaceIdent,
        removals: Vec<String>,
        updates: HashMap<String, String>,
    ) -> Result<NamespacePropertiesUpdate>;

    /// Drops a namespace; it must hold no tables and no child namespaces.
    async fn drop_namespace(&self, namespace: &NamespaceIdent) -> Result<()>;

    // ---- tables ----

    /// Lists the tables of a namespace.
    async fn list_tables(&self, namespace: &NamespaceIdent) -> Result<Vec<TableIdent>>;

    /// Creates a table and writes its first metadata file.
    async fn create_table(
        &self,
        namespace: &NamespaceIdent,
        creation: TableCreation,
    ) -> Result<LoadedTable>;

    /// Prepares a create without storing anything (REST `stage-create`); commit the
    /// returned updates with `assert-create` to create the table.
    async fn stage_create_table(
        &self,
        namespace: &NamespaceIdent,
        creation: TableCreation,
    ) -> Result<StagedTable>;

    /// Loads a table's current metadata.
    async fn load_table(&self, table: &TableIdent) -> Result<LoadedTable>;

    /// Whether a table exists.
    async fn table_exists(&self, table: &TableIdent) -> Result<bool>;

    /// Drops a table; with `purge`, also deletes its files.
    async fn drop_table(&self, table: &TableIdent, purge: bool) -> Result<()>;

    /// Renames a table, possibly into another namespace.
    async fn rename_table(&self, from: &TableIdent, to: &TableIdent) -> Result<()>;

    /// Registers an existing metadata file as a new table.
    async fn register_table(
        &self,
        table: &TableIdent,
        metadata_location: &str,
    ) -> Result<LoadedTable>;

    // ---- commits ----

    /// Commits one or more tables atomically: every table's requirements hold and all
    /// pointers move, or nothing changes. With an `idempotency_key`, a repeated request
    /// with the same key returns the first request's result
    /// ([`CommitStatus::Replayed`]) and changes nothing (a commit that changed nothing
    /// records no key: repeating it is harmless).
    async fn commit(
        &self,
        commits: Vec<TableCommit>,
        idempotency_key: Option<String>,
    ) -> Result<CommitResult>;

    /// Commits one table (REST `POST .../tables/{table}`).
    async fn commit_table(&self, commit: TableCommit) -> Result<LoadedTable> {
        let ident = commit.ident.clone();
        let mut result = self.commit(vec![commit], None).await?;
        result.tables.pop().ok_or_else(|| {
            crate::error::err(
                crate::ErrorKind::Unexpected,
                format!("commit of {ident} returned no table"),
            )
        })
    }

    /// Commits several tables atomically (REST `POST /transactions/commit`).
    async fn commit_tables(&self, commits: Vec<TableCommit>) -> Result<Vec<LoadedTable>> {
        Ok(self.commit(commits, None).await?.tables)
    }

    // ---- writer progress ----

    /// The stored progress of one writer on a table.
    async fn writer_progress(
        &self,
        table: &TableIdent,
        writer_id: &str,
    ) -> Result<Option<WriterProgress>>;

    /// The stored progress of every writer of a table.
    async fn list_writers(&self, table: &TableIdent) -> Result<Vec<WriterProgress>>;

    /// Opens a stream writer: atomically takes the next epoch of `(table, writer_id)`
    /// (1 for a writer never seen before) and returns its progress with that epoch.
    /// Every commit of an older epoch is refused from then on (the older instances are
    /// fenced). A restarted writer resumes at `last_seq + 1` (`last_seq` is -1 while no
    /// batch was committed).
    ///
    /// The default implementation answers `FeatureUnsupported`.
    async fn open_writer(&self, table: &TableIdent, writer_id: &str) -> Result<WriterProgress> {
        Err(crate::error::err(
            crate::ErrorKind::FeatureUnsupported,
            format!("this catalog cannot open stream writers (writer `{writer_id}` of {table})"),
        ))
    }
}
