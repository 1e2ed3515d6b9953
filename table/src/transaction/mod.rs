//! Transactions: a list of table changes committed together in one catalog commit.
//!
//! # Atomicity and retry contract
//!
//! A [`Transaction`] collects operations — snapshot producers ([`SnapshotUpdate`]:
//! appends, overwrites, deletes, partition replaces, row deltas, rewrites), schema and
//! partition-spec evolution, properties, branches and tags, rollbacks — and
//! [`Transaction::commit`] sends them as **one** catalog commit (REST
//! `CommitTableRequest`): every change becomes visible at once or none does. Each
//! snapshot producer adds one snapshot; several may be stacked (an overwrite as a
//! delete snapshot and an append snapshot, like PyIceberg).
//!
//! A commit attempt:
//! 1. starts from the table's metadata as last loaded and applies every operation in
//!    order on a local [`TableMetadataBuilder`]; snapshot producers first validate
//!    against the snapshots committed on their branch since the transaction started
//!    (checklist §5, per isolation level), then write manifests and a manifest list
//!    (all new files, written create-if-absent) with sequence number
//!    `last-sequence-number + 1`;
//! 2. sends the recorded updates with the requirements `assert-table-uuid`,
//!    `assert-ref-snapshot-id` for every branch or tag it moves, and
//!    `assert-current-schema-id`/`assert-last-assigned-field-id` or
//!    `assert-default-spec-id`/`assert-last-assigned-partition-id` for schema or spec
//!    changes.
//!
//! When the catalog answers `CommitFailed` (another writer won), the table is
//! refreshed and the attempt is redone on the new metadata — validation runs again
//! against the newly committed snapshots, the manifests of added files are reused,
//! and a new manifest list with the new sequence number is written — after an
//! exponential backoff (`commit.retry.num-retries` 4, `commit.retry.min-wait-ms` 100,
//! `commit.retry.max-wait-ms` 60000, `commit.retry.total-timeout-ms` 30 min). An
//! attempt whose reads fail with an IO error while the table has moved on (snapshot
//! expiry deleted the files of a head that is no longer current) is retried the same
//! way. A
//! validation failure is a `CommitFailed` error that names the operation and the
//! conflicting file and snapshot, and is not retried.
//!
//! Cleanup: after a success, the manifests and lists of failed attempts are deleted;
//! after a failure, every manifest and list the transaction wrote and every data file
//! it wrote itself ([`Transaction::write_batches`]) is deleted. After
//! `CommitStateUnknown` nothing is retried and nothing is deleted: the commit may have
//! succeeded.
//!
//! The catalog side can spare clients that retry: [`AppendRebaser`] (used by `floe
//! serve`, and by embedded catalogs that want it) puts a blind append committed against
//! a stale branch head on top of the current head instead of refusing it (see
//! [`rebase_append`] for when, and table property [`COMMIT_REBASE_APPENDS`]).
//!
//! ```no_run
//! # async fn demo(table: floe_table::table::Table, files: Vec<floe_spec::manifest::DataFile>)
//! # -> floe_table::Result<()> {
//! use floe_spec::expr::Reference;
//! use floe_spec::values::Datum;
//! use floe_table::transaction::SnapshotUpdate;
//! let mut tx = table.new_transaction();
//! tx.add(
//!     SnapshotUpdate::overwrite()
//!         .delete_where(Reference::new("day").equal_to(Datum::Int(3)))
//!         .add_data_files(files),
//! );
//! tx.set_properties([("owner", "etl")]);
//! let table = tx.commit().await?;
//! # Ok(()) }
//! ```

mod rebase_append;
mod refs;
mod retry;
mod rewrite;
mod schema_update;
mod snapshot_producer;
mod spec_update;
mod validate;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use floe_catalog::TableCommit;
use floe_spec::commit::{TableMetadataBuilder, TableRequirement};
use floe_spec::expr::Expression;
use floe_spec::manifest::DataFile;
use floe_spec::table_metadata::TableMetadata;

pub use self::rebase_append::{
    AppendRebase, AppendRebaser, COMMIT_REBASE_APPENDS, DEFAULT_MAX_REBASES, RebasedAppend,
    RebasedCommit, rebase_append, rebase_enabled,
};
pub use self::refs::RefUpdate;
pub use self::retry::{
    COMMIT_MAX_RETRY_WAIT_MS, COMMIT_MIN_RETRY_WAIT_MS, COMMIT_NUM_RETRIES,
    COMMIT_TOTAL_RETRY_TIME_MS, DELETE_ISOLATION_LEVEL, IsolationLevel, MERGE_ISOLATION_LEVEL,
    RetryConfig, UPDATE_ISOLATION_LEVEL,
};
pub use self::schema_update::SchemaUpdate;
pub(crate) use self::snapshot_producer::new_snapshot_id;
pub use self::snapshot_producer::{
    MANIFEST_MERGE_ENABLED, MANIFEST_MIN_MERGE_COUNT, MANIFEST_TARGET_SIZE_BYTES,
    REWRITE_USE_STARTING_SEQUENCE_NUMBER, SnapshotKind, SnapshotUpdate, WRITE_METADATA_PATH,
};
pub use self::spec_update::SpecUpdate;
use crate::error::{Error, ErrorKind, Result};
use crate::table::{Storage, Table};
use crate::writer::{LocationGenerator, PartitionedWriter, WriterContext};

/// The current time in ms since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What one commit attempt shares between operations.
pub(crate) struct AttemptContext<'a> {
    pub storage: &'a Storage,
    /// The metadata when the transaction started.
    pub start: &'a TableMetadata,
    /// Snapshots added by this transaction in this attempt.
    pub own_snapshots: HashSet<i64>,
    /// Branches and tags moved by this attempt.
    pub touched_refs: HashSet<String>,
    /// Every manifest and list the transaction wrote (all attempts).
    pub written: &'a mut Vec<String>,
    /// Data files the transaction wrote.
    pub created: &'a mut Vec<String>,
    /// Manifests and lists referenced by this attempt's snapshots.
    pub referenced: HashSet<String>,
    /// Manifest lists written so far (the `<attempt>` of their names).
    pub attempt_counter: u32,
}

/// One change of a transaction.
#[derive(Debug, Clone)]
enum Action {
    Snapshot(Box<SnapshotUpdate>),
    Schema(SchemaUpdate),
    Spec(SpecUpdate),
    SetProperties(HashMap<String, String>),
    RemoveProperties(Vec<String>),
    Ref(RefUpdate),
}

/// A set of changes to one table, committed atomically. See the module docs.
#[derive(Debug)]
pub struct Transaction {
    table: Table,
    start: Arc<TableMetadata>,
    actions: Vec<Action>,
    created_data_files: Vec<String>,
    written: Vec<String>,
    attempt_counter: u32,
}

impl Transaction {
    /// A transaction on `table` as pinned now.
    pub fn new(table: Table) -> Self {
        Self {
            start: table.metadata().clone(),
            table,
            actions: Vec::new(),
            created_data_files: Vec::new(),
            written: Vec::new(),
            attempt_counter: 0,
        }
    }

    /// The table as the transaction started.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Adds a snapshot-producing operation.
    pub fn add(&mut self, update: SnapshotUpdate) -> &mut Self {
        self.actions.push(Action::Snapshot(Box::new(update)));
        self
    }

    /// Fast-appends data files (or merge-appends them when
    /// `commit.manifest-merge.enabled` is true).
    pub fn fast_append(&mut self, files: Vec<DataFile>) -> &mut Self {
        let merge = self
            .table
            .properties()
            .get(MANIFEST_MERGE_ENABLED)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let update = if merge {
            SnapshotUpdate::merge_append()
        } else {
            SnapshotUpdate::fast_append()
        };
        self.add(update.add_data_files(files))
    }

    /// Deletes the rows matching `filter` (a delete snapshot).
    pub fn delete_where(&mut self, filter: Expression) -> &mut Self {
        self.add(SnapshotUpdate::delete().delete_where(filter))
    }

    /// Writes `batches` as data files of the current schema and default spec; the
    /// files are deleted again if the transaction fails. Errors name a column that does
    /// not fit the schema or a null in a required column; nothing is kept then.
    pub async fn write_batches(&mut self, batches: &[RecordBatch]) -> Result<Vec<DataFile>> {
        let md = self.table.metadata().clone();
        let schema = md.current_schema();
        let context = Arc::new(WriterContext::for_data(
            schema,
            md.properties(),
            Some(md.default_sort_order().as_ref()).filter(|o| o.order_id != 0),
        )?);
        let locations = Arc::new(LocationGenerator::for_table(
            self.table.store().clone(),
            md.location(),
            md.properties(),
        )?);
        let mut writer =
            PartitionedWriter::try_new(context, schema, md.default_partition_spec(), locations)?;
        for b in batches {
            if let Err(e) = writer.write(b).await {
                writer.abort().await.ok();
                return Err(e);
            }
        }
        let files = writer.close().await?;
        self.created_data_files
            .extend(files.iter().map(|f| f.file_path.clone()));
        Ok(files)
    }

    /// Writes `batches` and appends them.
    pub async fn append_batches(&mut self, batches: &[RecordBatch]) -> Result<&mut Self> {
        let files = self.write_batches(batches).await?;
        Ok(self.fast_append(files))
    }

    /// Replaces the rows matching `filter` with `batches`: one overwrite snapshot.
    pub async fn overwrite_batches(
        &mut self,
        filter: Expression,
        batches: &[RecordBatch],
    ) -> Result<&mut Self> {
        let files = self.write_batches(batches).await?;
        Ok(self.add(
            SnapshotUpdate::overwrite()
                .delete_where(filter)
                .add_data_files(files),
        ))
    }

    /// Writes `batches` and replaces the partitions they touch.
    pub async fn replace_partitions_batches(
        &mut self,
        batches: &[RecordBatch],
    ) -> Result<&mut Self> {
        let files = self.write_batches(batches).await?;
        Ok(self.add(SnapshotUpdate::replace_partitions().add_data_files(files)))
    }

    /// Evolves the schema.
    pub fn update_schema(&mut self, update: SchemaUpdate) -> &mut Self {
        self.actions.push(Action::Schema(update));
        self
    }

    /// Evolves the default partition spec.
    pub fn update_spec(&mut self, update: SpecUpdate) -> &mut Self {
        self.actions.push(Action::Spec(update));
        self
    }

    /// Sets table properties.
    pub fn set_properties<K: Into<String>, V: Into<String>>(
        &mut self,
        properties: impl IntoIterator<Item = (K, V)>,
    ) -> &mut Self {
        self.actions.push(Action::SetProperties(
            properties
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ));
        self
    }

    /// Removes table properties.
    pub fn remove_properties<K: Into<String>>(
        &mut self,
        keys: impl IntoIterator<Item = K>,
    ) -> &mut Self {
        self.actions.push(Action::RemoveProperties(
            keys.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// Creates, moves or removes a branch or tag, or rolls a branch back.
    pub fn update_ref(&mut self, update: RefUpdate) -> &mut Self {
        self.actions.push(Action::Ref(update));
        self
    }

    /// Rolls `main` back to `snapshot_id`, which must be an ancestor of the current
    /// snapshot.
    pub fn rollback_to(&mut self, snapshot_id: i64) -> &mut Self {
        self.update_ref(RefUpdate::rollback_to(snapshot_id))
    }

    /// Makes `snapshot_id` the current snapshot of `main`.
    pub fn set_current_snapshot(&mut self, snapshot_id: i64) -> &mut Self {
        self.update_ref(RefUpdate::set_current_snapshot(snapshot_id))
    }

    /// Cherry-picks an append snapshot (typically from another branch, e.g. a
    /// write-audit-publish branch) onto `main`: its added data files are appended in a
    /// new snapshot whose summary records `source-snapshot-id`. Only `append`
    /// snapshots can be picked, and each only once.
    pub async fn cherry_pick(&mut self, snapshot_id: i64) -> Result<&mut Self> {
        let md = self.table.metadata().clone();
        let source = md.snapshot_by_id(snapshot_id).cloned().ok_or_else(|| {
            Error::invalid(format!("cherry-pick: unknown snapshot {snapshot_id}"))
        })?;
        if source.summary.operation != floe_spec::snapshot::Operation::Append {
            return Err(Error::unsupported(format!(
                "cherry-pick: snapshot {snapshot_id} is a `{}`; only appends can be picked",
                source.summary.operation.as_str()
            )));
        }
        let main = md.current_snapshot_id();
        for s in crate::table::ancestors(&md, main) {
            let picked = s
                .summary
                .additional_properties
                .get("source-snapshot-id")
                .is_some_and(|v| *v == snapshot_id.to_string());
            if s.snapshot_id == snapshot_id || picked {
                return Err(Error::invalid(format!(
                    "cherry-pick: snapshot {snapshot_id} is already in `main`"
                )));
            }
        }
        let mut files = Vec::new();
        let storage = self.table.storage();
        for m in storage.manifest_list(&md, &source.manifest_list).await? {
            if m.added_snapshot_id != snapshot_id {
                continue;
            }
            for e in storage.manifest_entries(&m).await? {
                if e.status == floe_spec::manifest::ManifestStatus::Added
                    && e.snapshot_id == Some(snapshot_id)
                {
                    if m.partition_spec_id != md.default_spec_id() {
                        return Err(Error::unsupported(format!(
                            "cherry-pick: snapshot {snapshot_id} wrote files of partition spec {}, \
                             not the default spec",
                            m.partition_spec_id
                        )));
                    }
                    files.push(e.data_file);
                }
            }
        }
        Ok(self.add(
            SnapshotUpdate::fast_append()
                .add_data_files(files)
                .set_summary("source-snapshot-id", snapshot_id.to_string()),
        ))
    }

    /// One attempt: applies every action on the loaded metadata; returns the commit.
    /// The group committer ([`crate::stream`]) sends it itself.
    pub(crate) async fn attempt(&mut self) -> Result<Option<(TableCommit, HashSet<String>)>> {
        let base = self.table.metadata().clone();
        let storage = self.table.storage().clone();
        let mut builder = TableMetadataBuilder::from(base.as_ref());
        let mut ctx = AttemptContext {
            storage: &storage,
            start: &self.start,
            own_snapshots: HashSet::new(),
            touched_refs: HashSet::new(),
            written: &mut self.written,
            created: &mut self.created_data_files,
            referenced: HashSet::new(),
            attempt_counter: self.attempt_counter,
        };
        let mut requirements = vec![TableRequirement::AssertTableUuid {
            uuid: base.table_uuid(),
        }];
        let mut schema_changed = false;
        let mut spec_changed = false;
        for action in &mut self.actions {
            match action {
                Action::Snapshot(u) => u.apply(&mut ctx, &mut builder).await?,
                Action::Schema(u) => {
                    u.apply(&mut builder)?;
                    schema_changed = true;
                }
                Action::Spec(u) => {
                    u.apply(&mut builder)?;
                    spec_changed = true;
                }
                Action::SetProperties(p) => builder.set_properties(p)?,
                Action::RemoveProperties(k) => builder.remove_properties(k)?,
                Action::Ref(r) => {
                    r.apply(&mut builder)?;
                    ctx.touched_refs.insert(r.name().to_string());
                }
            }
        }
        self.attempt_counter = ctx.attempt_counter;
        if schema_changed {
            requirements.push(TableRequirement::AssertCurrentSchemaId {
                current_schema_id: base.current_schema_id(),
            });
            requirements.push(TableRequirement::AssertLastAssignedFieldId {
                last_assigned_field_id: base.last_column_id(),
            });
        }
        if spec_changed {
            requirements.push(TableRequirement::AssertDefaultSpecId {
                default_spec_id: base.default_spec_id(),
            });
            requirements.push(TableRequirement::AssertLastAssignedPartitionId {
                last_assigned_partition_id: base.last_partition_id(),
            });
        }
        let mut refs: Vec<&String> = ctx.touched_refs.iter().collect();
        refs.sort();
        for r in refs {
            requirements.push(TableRequirement::AssertRefSnapshotId {
                r#ref: r.clone(),
                snapshot_id: base.refs().get(r).map(|s| s.snapshot_id),
            });
        }
        let updates = builder.changes().to_vec();
        if updates.is_empty() {
            return Ok(None);
        }
        Ok(Some((
            TableCommit::new(self.table.ident().clone(), requirements, updates),
            ctx.referenced,
        )))
    }

    /// Commits the transaction (see the module docs): returns the table as committed.
    pub async fn commit(mut self) -> Result<Table> {
        let config = RetryConfig::from_properties(self.table.properties())?;
        let started = Instant::now();
        let mut retry = 0_u32;
        loop {
            let (commit, referenced) = match self.attempt().await {
                Ok(Some(c)) => c,
                Ok(None) => return Ok(self.table),
                // A read failed while the table moved on (e.g. snapshot expiry deleted
                // the files of a head that is no longer current): redo on the new
                // metadata.
                Err(e)
                    if e.kind() == ErrorKind::Io
                        && retry < config.num_retries
                        && started.elapsed() < config.total_timeout
                        && self.moved_on().await =>
                {
                    tokio::time::sleep(config.backoff(retry)).await;
                    retry += 1;
                    if let Err(e) = self.table.refresh().await {
                        self.cleanup(&HashSet::new(), true).await;
                        return Err(e);
                    }
                    continue;
                }
                Err(e) => {
                    self.cleanup(&HashSet::new(), true).await;
                    return Err(e);
                }
            };
            match self.table.catalog().commit_table(commit).await {
                Ok(loaded) => {
                    self.cleanup(&referenced, false).await;
                    self.table.set_loaded(loaded);
                    return Ok(self.table);
                }
                Err(e)
                    if e.kind() == ErrorKind::CommitFailed
                        && retry < config.num_retries
                        && started.elapsed() < config.total_timeout =>
                {
                    tokio::time::sleep(config.backoff(retry)).await;
                    retry += 1;
                    if let Err(e) = self.table.refresh().await {
                        self.cleanup(&HashSet::new(), true).await;
                        return Err(e);
                    }
                }
                Err(e) if e.kind() == ErrorKind::CommitStateUnknown => return Err(e),
                Err(e) => {
                    self.cleanup(&HashSet::new(), true).await;
                    let kind = e.kind();
                    let message = if kind == ErrorKind::CommitFailed {
                        format!(
                            "commit of {} failed after {} attempts: {}",
                            self.table.ident(),
                            retry + 1,
                            e.message()
                        )
                    } else {
                        return Err(e);
                    };
                    return Err(Error::new(kind, message).with_source(e));
                }
            }
        }
    }

    /// Whether the catalog's metadata of the table is newer than the attempt's.
    async fn moved_on(&self) -> bool {
        self.table
            .catalog()
            .load_table(self.table.ident())
            .await
            .is_ok_and(|l| l.metadata_location.as_deref() != self.table.metadata_location())
    }

    /// Deletes files written by the transaction and not in `keep`; on failure also the
    /// data files it wrote. Best effort: a failed delete leaves an orphan file.
    pub(crate) async fn cleanup(&mut self, keep: &HashSet<String>, failed: bool) {
        let storage = self.table.storage().clone();
        for path in self.written.drain(..) {
            if !keep.contains(&path) {
                storage.delete(&path).await.ok();
            }
        }
        if failed {
            for path in self.created_data_files.drain(..) {
                storage.delete(&path).await.ok();
            }
        }
    }
}
