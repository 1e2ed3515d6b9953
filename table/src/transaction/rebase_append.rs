//! Server-side rebase of blind appends: an append committed against a branch head that
//! has moved on is put on top of the current head instead of being refused.
//!
//! Iceberg clients (PyIceberg, Java, Spark) commit an append as `add-snapshot` +
//! `set-snapshot-ref` under the requirement `assert-ref-snapshot-id` (the branch head
//! they started from). When another writer committed first, that requirement fails
//! and the client must refresh, rebuild its manifest list and retry — with many
//! writers, a storm of 409s. A blind append, though, conflicts with nothing: its
//! manifests hold only ADDED data files whose entries inherit their sequence number
//! from the manifest list. So the catalog side can do the retry itself.
//!
//! # Contract
//!
//! [`rebase_append`] rebases a [`TableCommit`] only when all of this holds, and
//! otherwise refuses (the caller answers the original 409):
//!
//! - table property [`COMMIT_REBASE_APPENDS`] (`floe.commit.rebase-appends`) is not
//!   `false` (default `true`);
//! - the updates are exactly `add-snapshot` of a snapshot with operation `append`,
//!   then `set-snapshot-ref` of a branch to that snapshot;
//! - the requirements are `assert-ref-snapshot-id` for that branch, naming the
//!   snapshot's parent, which no longer holds, and others that all still hold;
//! - the snapshot id is not in the table yet (a repeated request is not applied twice);
//! - its manifest list (under the table location) keeps every manifest of the asserted
//!   parent that has live files and adds nothing else but the snapshot's own manifests,
//!   and those hold only ADDED data-file entries of this snapshot without explicit
//!   sequence numbers (or, in v3, first row ids), in a partition spec of the table.
//!
//! The rebased snapshot keeps its id, files and manifests; it gets the current head as
//! parent, sequence number `last-sequence-number + 1` (its manifests' entries inherit
//! it), a new manifest list (its own manifests, then every manifest of the head) written
//! create-if-absent under the table's metadata folder, totals recomputed from the head's
//! summary, a timestamp no older than the table's `last-updated-ms`, and in v3 the
//! table's `next-row-id` as first row id. The rebased commit asserts the current head.
//!
//! [`AppendRebaser::commit`] drives it: commit as sent; on `CommitFailed`, hold the
//! tables' in-process lock, reload, rebase every table whose requirements fail, commit
//! again, and repeat on further races (up to [`AppendRebaser::with_max_rebases`]).
//! Multi-table commits are rebased table by table and stay atomic. Manifest lists of
//! abandoned attempts are deleted; after `CommitStateUnknown` nothing is deleted.
//!
//! ```no_run
//! # async fn demo(catalog: std::sync::Arc<floe_catalog::SqlCatalog>,
//! #               commit: floe_catalog::TableCommit) -> floe_table::Result<()> {
//! use floe_table::io::FileIO;
//! use floe_table::transaction::AppendRebaser;
//! let io = FileIO::from_warehouse(catalog.warehouse())?;
//! let rebaser = AppendRebaser::new(catalog, io);
//! let done = rebaser.commit(vec![commit], None).await?;
//! println!("rebased {} times", done.rebases);
//! # Ok(()) }
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use floe_catalog::{Catalog, CommitResult, TableCommit, TableIdent};
use floe_spec::commit::{RefType, TableRequirement, TableUpdate};
use floe_spec::manifest::{
    DataContentType, Manifest, ManifestContentType, ManifestStatus, UNASSIGNED_SEQUENCE_NUMBER,
};
use floe_spec::manifest_list::{ManifestFile, ManifestList, ManifestListWriter};
use floe_spec::snapshot::{Operation, Snapshot, Summary};
use floe_spec::table_metadata::{FormatVersion, TableMetadata};
use floe_spec::types::StructType;
use tokio::sync::OwnedMutexGuard;
use uuid::Uuid;

use super::snapshot_producer::metadata_dir;
use crate::error::{ErrorKind, Result};
use crate::io::FileIO;
use crate::summary::set_totals;

/// Table property: whether blind appends committed against a stale branch head are
/// rebased onto the current head instead of failing (default `true`).
pub const COMMIT_REBASE_APPENDS: &str = "floe.commit.rebase-appends";

/// Default of [`AppendRebaser::with_max_rebases`].
pub const DEFAULT_MAX_REBASES: u32 = 32;

/// A blind append moved onto the current head of its branch.
#[derive(Debug, Clone)]
pub struct RebasedAppend {
    /// The commit to send instead: the snapshot with its new parent, sequence number,
    /// manifest list and totals, asserting the current head.
    pub commit: TableCommit,
    /// The manifest list written for it (to delete if the commit is abandoned).
    pub manifest_list: String,
}

/// What [`rebase_append`] decided.
#[derive(Debug, Clone)]
pub enum AppendRebase {
    /// The commit, rebased.
    Rebased(Box<RebasedAppend>),
    /// The commit cannot be rebased; why.
    Refused(String),
}

/// Whether table property [`COMMIT_REBASE_APPENDS`] allows rebasing (anything but
/// `false` does).
pub fn rebase_enabled(metadata: &TableMetadata) -> bool {
    metadata
        .properties()
        .get(COMMIT_REBASE_APPENDS)
        .is_none_or(|v| !v.trim().eq_ignore_ascii_case("false"))
}

/// The parts of a commit that make it a blind append.
struct Shape<'a> {
    snapshot: &'a Snapshot,
    branch: &'a str,
    head: Option<i64>,
}

/// Checks everything that needs no file: see the module docs.
fn check_shape<'a>(
    current: &TableMetadata,
    commit: &'a TableCommit,
) -> std::result::Result<Shape<'a>, String> {
    if !rebase_enabled(current) {
        return Err(format!("table property `{COMMIT_REBASE_APPENDS}` is false"));
    }
    let (snapshot, branch) = match commit.updates.as_slice() {
        [
            TableUpdate::AddSnapshot { snapshot },
            TableUpdate::SetSnapshotRef {
                ref_name,
                ref_type: RefType::Branch,
                snapshot_id,
                ..
            },
        ] if *snapshot_id == snapshot.snapshot_id => (snapshot, ref_name.as_str()),
        _ => {
            return Err(
                "the updates are not exactly add-snapshot and set-snapshot-ref of a branch to it"
                    .to_string(),
            );
        }
    };
    let id = snapshot.snapshot_id;
    if snapshot.summary.operation != Operation::Append {
        return Err(format!(
            "snapshot {id} is an `{}`, not an `append`",
            snapshot.summary.operation.as_str()
        ));
    }
    if snapshot.key_id.is_some() {
        return Err(format!("the manifest list of snapshot {id} is encrypted"));
    }
    let mut asserted = None;
    for r in &commit.requirements {
        match r {
            TableRequirement::AssertRefSnapshotId { r#ref, snapshot_id } if r#ref == branch => {
                if asserted.is_some() {
                    return Err(format!("branch `{branch}` is asserted twice"));
                }
                asserted = Some(*snapshot_id);
            }
            other => {
                if let Err(e) = other.check(Some(current)) {
                    return Err(e.message().to_string());
                }
            }
        }
    }
    let Some(asserted) = asserted else {
        return Err(format!("the commit does not assert the head of `{branch}`"));
    };
    if asserted != snapshot.parent_snapshot_id {
        return Err(format!(
            "snapshot {id} has parent {:?} but the commit asserts head {asserted:?}",
            snapshot.parent_snapshot_id
        ));
    }
    let head_ref = current.refs().get(branch);
    if head_ref.is_some_and(|r| !r.is_branch()) {
        return Err(format!("`{branch}` is now a tag"));
    }
    let head = head_ref.map(|r| r.snapshot_id);
    if head == asserted {
        return Err(format!("the head of `{branch}` has not moved"));
    }
    if current.snapshot_by_id(id).is_some() {
        return Err(format!("snapshot {id} is already in the table"));
    }
    if let Some(p) = asserted
        && current.snapshot_by_id(p).is_none()
    {
        return Err(format!("the parent snapshot {p} is no longer in the table"));
    }
    if let Some(schema_id) = snapshot.schema_id
        && current.schema_by_id(schema_id).is_none()
    {
        return Err(format!("schema {schema_id} is no longer in the table"));
    }
    if !inside_table(current, &snapshot.manifest_list) {
        return Err(format!(
            "manifest list `{}` is outside the table location",
            snapshot.manifest_list
        ));
    }
    Ok(Shape {
        snapshot,
        branch,
        head,
    })
}

/// Whether `path` is under the table location or its metadata folder.
fn inside_table(md: &TableMetadata, path: &str) -> bool {
    let under = |dir: &str| {
        let dir = dir.trim_end_matches('/');
        path.len() > dir.len() + 1
            && path.starts_with(dir)
            && path.as_bytes().get(dir.len()) == Some(&b'/')
            && !path.split('/').any(|s| s == "..")
    };
    under(md.location()) || under(&metadata_dir(md))
}

async fn read_list(
    io: &FileIO,
    location: &str,
    types: &HashMap<i32, StructType>,
) -> Result<Vec<ManifestFile>> {
    let bytes = io.read(location).await?;
    Ok(ManifestList::parse(&bytes, types)?.entries)
}

/// Checks one of the snapshot's own manifests: ADDED data files of this snapshot only,
/// inheriting their sequence numbers.
async fn check_own_manifest(
    io: &FileIO,
    current: &TableMetadata,
    id: i64,
    m: &ManifestFile,
) -> Result<std::result::Result<(), String>> {
    let path = &m.manifest_path;
    if m.content != ManifestContentType::Data {
        return Ok(Err(format!("manifest `{path}` holds delete files")));
    }
    if m.existing_files_count.unwrap_or(0) != 0 || m.deleted_files_count.unwrap_or(0) != 0 {
        return Ok(Err(format!(
            "manifest `{path}` has existing or deleted entries"
        )));
    }
    if current.partition_spec_by_id(m.partition_spec_id).is_none() {
        return Ok(Err(format!(
            "manifest `{path}` has partition spec {} the table no longer has",
            m.partition_spec_id
        )));
    }
    if !inside_table(current, path) {
        return Ok(Err(format!(
            "manifest `{path}` is outside the table location"
        )));
    }
    let manifest = Manifest::parse(&io.read(path).await?)?;
    for e in &manifest.entries {
        let file = &e.data_file.file_path;
        if e.status != ManifestStatus::Added || e.data_file.content != DataContentType::Data {
            return Ok(Err(format!(
                "manifest `{path}`: entry `{file}` is not an added data file"
            )));
        }
        if e.snapshot_id.is_some_and(|s| s != id) {
            return Ok(Err(format!(
                "manifest `{path}`: entry `{file}` was added by another snapshot"
            )));
        }
        if e.sequence_number.is_some()
            || e.file_sequence_number.is_some()
            || e.data_file.first_row_id.is_some()
        {
            return Ok(Err(format!(
                "manifest `{path}`: entry `{file}` has an explicit sequence number or row id"
            )));
        }
    }
    Ok(Ok(()))
}

/// Sorted paths of manifests.
fn paths<'a>(manifests: impl IntoIterator<Item = &'a ManifestFile>) -> Vec<&'a str> {
    let mut out: Vec<&str> = manifests
        .into_iter()
        .map(|m| m.manifest_path.as_str())
        .collect();
    out.sort_unstable();
    out
}

/// Rebases `commit`, whose branch-head requirement failed against `current`, onto the
/// current head: see the module docs. Writes the new manifest list through `io`.
/// Refusals are [`AppendRebase::Refused`]; errors are failures to read or write files.
pub async fn rebase_append(
    io: &FileIO,
    current: &TableMetadata,
    commit: &TableCommit,
) -> Result<AppendRebase> {
    let shape = match check_shape(current, commit) {
        Ok(s) => s,
        Err(reason) => return Ok(AppendRebase::Refused(reason)),
    };
    let snapshot = shape.snapshot;
    let id = snapshot.snapshot_id;
    let types = ManifestList::partition_types(current);
    let listed = read_list(io, &snapshot.manifest_list, &types).await?;
    let (own, kept): (Vec<ManifestFile>, Vec<ManifestFile>) =
        listed.into_iter().partition(|m| m.added_snapshot_id == id);

    // The list must keep the parent's live manifests and add only its own.
    let parent = match snapshot.parent_snapshot_id {
        Some(p) => match current.snapshot_by_id(p) {
            Some(s) => read_list(io, &s.manifest_list, &types).await?,
            None => Vec::new(),
        },
        None => Vec::new(),
    };
    let parent_all: HashSet<&str> = paths(&parent).into_iter().collect();
    let kept_paths = paths(&kept);
    let live = paths(
        parent
            .iter()
            .filter(|m| m.has_added_files() || m.has_existing_files()),
    );
    let kept_set: HashSet<&str> = kept_paths.iter().copied().collect();
    if kept_paths.iter().any(|p| !parent_all.contains(p))
        || live.iter().any(|p| !kept_set.contains(p))
    {
        return Ok(AppendRebase::Refused(format!(
            "the manifest list of snapshot {id} does not keep its parent's manifests as they are"
        )));
    }
    for m in &own {
        if let Err(reason) = check_own_manifest(io, current, id, m).await? {
            return Ok(AppendRebase::Refused(reason));
        }
    }

    // The new manifest list: own manifests, then the head's.
    let head_snapshot = shape.head.and_then(|h| current.snapshot_by_id(h));
    let head_manifests = match head_snapshot {
        Some(h) => read_list(io, &h.manifest_list, &types).await?,
        None => Vec::new(),
    };
    let head_count = head_manifests.len();
    let version = current.format_version();
    let sequence_number = current.last_sequence_number() + 1;
    let mut list = ManifestListWriter::new(version, id, shape.head, sequence_number);
    let first_row_id = (version >= FormatVersion::V3).then(|| current.next_row_id().unwrap_or(0));
    if let Some(first) = first_row_id {
        list = list.with_first_row_id(first);
    }
    list.add_manifests(own.into_iter().map(|mut m| {
        m.sequence_number = UNASSIGNED_SEQUENCE_NUMBER;
        m.min_sequence_number = UNASSIGNED_SEQUENCE_NUMBER;
        if version >= FormatVersion::V3 {
            m.first_row_id = None;
        }
        m
    }))?;
    list.add_manifests(head_manifests)?;
    let added_rows = match (first_row_id, list.next_row_id()) {
        (Some(first), Some(next)) => Some(next - first),
        _ => None,
    };
    let location = format!(
        "{}/snap-{id}-rebase-{}.avro",
        metadata_dir(current),
        Uuid::new_v4()
    );
    io.write_new(&location, Bytes::from(list.finish()?)).await?;

    let mut properties = snapshot.summary.additional_properties.clone();
    let empty = HashMap::new();
    let previous = head_snapshot.map_or(&empty, |h| &h.summary.additional_properties);
    set_totals(&mut properties, Some(previous));
    if properties.contains_key("manifests-kept") {
        properties.insert("manifests-kept".to_string(), head_count.to_string());
    }
    let rebased = Snapshot {
        snapshot_id: id,
        parent_snapshot_id: shape.head,
        sequence_number,
        timestamp_ms: snapshot.timestamp_ms.max(current.last_updated_ms()),
        manifest_list: location.clone(),
        summary: Summary {
            operation: Operation::Append,
            additional_properties: properties,
        },
        schema_id: snapshot.schema_id,
        first_row_id,
        added_rows,
        key_id: None,
    };
    let requirements = commit
        .requirements
        .iter()
        .map(|r| match r {
            TableRequirement::AssertRefSnapshotId { r#ref, .. } if r#ref == shape.branch => {
                TableRequirement::AssertRefSnapshotId {
                    r#ref: r#ref.clone(),
                    snapshot_id: shape.head,
                }
            }
            other => other.clone(),
        })
        .collect();
    let mut updates = commit.updates.clone();
    if let Some(TableUpdate::AddSnapshot { snapshot }) = updates.first_mut() {
        *snapshot = rebased;
    }
    Ok(AppendRebase::Rebased(Box::new(RebasedAppend {
        commit: TableCommit {
            ident: commit.ident.clone(),
            requirements,
            updates,
            writer_progress: commit.writer_progress.clone(),
        },
        manifest_list: location,
    })))
}

/// The result of [`AppendRebaser::commit`].
#[derive(Debug, Clone)]
pub struct RebasedCommit {
    /// The catalog's result of the commit that went through.
    pub result: CommitResult,
    /// How many times the commit was rebased (0: it went through as sent).
    pub rebases: u32,
}

type LockMap = Arc<Mutex<HashMap<TableIdent, Arc<tokio::sync::Mutex<()>>>>>;

/// In-process locks on tables, held while rebasing: rebased commits of one table then
/// do not race each other, only commits from elsewhere.
struct TableLocks {
    map: LockMap,
    held: Vec<(TableIdent, OwnedMutexGuard<()>)>,
}

impl TableLocks {
    async fn acquire(map: &LockMap, idents: &[TableIdent]) -> Self {
        let mut sorted: Vec<&TableIdent> = idents.iter().collect();
        sorted.sort();
        sorted.dedup();
        let mut held = Vec::with_capacity(sorted.len());
        for ident in sorted {
            let lock = Arc::clone(
                map.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(ident.clone())
                    .or_default(),
            );
            held.push((ident.clone(), lock.lock_owned().await));
        }
        Self {
            map: Arc::clone(map),
            held,
        }
    }
}

impl Drop for TableLocks {
    fn drop(&mut self) {
        let idents: Vec<TableIdent> = self.held.drain(..).map(|(ident, _guard)| ident).collect();
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        for ident in idents {
            if map.get(&ident).is_some_and(|l| Arc::strong_count(l) == 1) {
                map.remove(&ident);
            }
        }
    }
}

/// Commits through a catalog, rebasing blind appends whose branch head moved (see the
/// module docs). Cheap to clone; clones share the table locks.
#[derive(Clone)]
pub struct AppendRebaser {
    catalog: Arc<dyn Catalog>,
    io: FileIO,
    max_rebases: u32,
    locks: LockMap,
}

impl fmt::Debug for AppendRebaser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppendRebaser")
            .field("catalog", &self.catalog)
            .field("max_rebases", &self.max_rebases)
            .finish_non_exhaustive()
    }
}

impl AppendRebaser {
    /// Commits through `catalog`, reading and writing manifest lists with `io`.
    pub fn new(catalog: Arc<dyn Catalog>, io: FileIO) -> Self {
        Self {
            catalog,
            io,
            max_rebases: DEFAULT_MAX_REBASES,
            locks: LockMap::default(),
        }
    }

    /// Gives up (with the last `CommitFailed`) after `max` rebases of one commit.
    #[must_use]
    pub fn with_max_rebases(mut self, max: u32) -> Self {
        self.max_rebases = max;
        self
    }

    /// The catalog committed to.
    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        &self.catalog
    }

    /// Commits `commits` atomically like [`Catalog::commit`]; when that fails with
    /// `CommitFailed` and every table whose requirements fail is a blind append whose
    /// branch head moved, rebases those tables' commits and commits again, as often as
    /// needed up to the configured maximum. Otherwise the catalog's error is returned,
    /// with the reason a rebase was refused as context `append-rebase`.
    pub async fn commit(
        &self,
        commits: Vec<TableCommit>,
        idempotency_key: Option<String>,
    ) -> Result<RebasedCommit> {
        let mut last = match self
            .catalog
            .commit(commits.clone(), idempotency_key.clone())
            .await
        {
            Ok(result) => return Ok(RebasedCommit { result, rebases: 0 }),
            Err(e) if e.kind() == ErrorKind::CommitFailed => e,
            Err(e) => return Err(e),
        };
        let idents: Vec<TableIdent> = commits.iter().map(|c| c.ident.clone()).collect();
        let _locks = TableLocks::acquire(&self.locks, &idents).await;
        let mut written: Vec<String> = Vec::new();
        let mut rebases = 0_u32;
        loop {
            if rebases >= self.max_rebases {
                self.delete(&written, &HashSet::new()).await;
                return Err(
                    last.with_context("append-rebase", format!("gave up after {rebases} rebases"))
                );
            }
            let next = match self.rebase_all(&commits, &mut written).await? {
                Ok(next) => next,
                Err(reason) => {
                    self.delete(&written, &HashSet::new()).await;
                    return Err(if reason.is_empty() {
                        last
                    } else {
                        last.with_context("append-rebase", reason)
                    });
                }
            };
            rebases += 1;
            match self.catalog.commit(next, idempotency_key.clone()).await {
                Ok(result) => {
                    let referenced: HashSet<&str> = result
                        .tables
                        .iter()
                        .flat_map(|t| t.metadata.snapshots().values())
                        .map(|s| s.manifest_list.as_str())
                        .collect();
                    self.delete(&written, &referenced).await;
                    return Ok(RebasedCommit { result, rebases });
                }
                Err(e) if e.kind() == ErrorKind::CommitFailed => last = e,
                Err(e) if e.kind() == ErrorKind::CommitStateUnknown => return Err(e),
                Err(e) => {
                    self.delete(&written, &HashSet::new()).await;
                    return Err(e);
                }
            }
        }
    }

    /// Reloads every table and rebases the commits whose requirements fail. `Err(reason)`
    /// when one cannot be rebased (an empty reason: none needed a rebase, so the commit
    /// failed for another cause).
    async fn rebase_all(
        &self,
        commits: &[TableCommit],
        written: &mut Vec<String>,
    ) -> Result<std::result::Result<Vec<TableCommit>, String>> {
        let mut next = Vec::with_capacity(commits.len());
        let mut any = false;
        for c in commits {
            let loaded = match self.catalog.load_table(&c.ident).await {
                Ok(t) => t,
                Err(e) if e.kind() == ErrorKind::NoSuchTable => return Ok(Err(String::new())),
                Err(e) => return Err(e),
            };
            let md = loaded.metadata.as_ref();
            if c.requirements.iter().all(|r| r.check(Some(md)).is_ok()) {
                next.push(c.clone());
                continue;
            }
            match rebase_append(&self.io, md, c).await {
                Ok(AppendRebase::Rebased(r)) => {
                    written.push(r.manifest_list);
                    next.push(r.commit);
                    any = true;
                }
                Ok(AppendRebase::Refused(reason)) => {
                    return Ok(Err(format!("{}: {reason}", c.ident)));
                }
                Err(e) => return Ok(Err(format!("{}: {e}", c.ident))),
            }
        }
        if any {
            Ok(Ok(next))
        } else {
            Ok(Err(String::new()))
        }
    }

    /// Deletes the manifest lists in `written` that are not in `keep` (best effort).
    async fn delete(&self, written: &[String], keep: &HashSet<&str>) {
        for path in written {
            if !keep.contains(path.as_str()) {
                self.io.delete(path).await.ok();
            }
        }
    }
}
