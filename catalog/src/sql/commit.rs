//! Commits: moving table metadata pointers atomically.
//!
//! # Atomicity contract
//!
//! A commit of one or more tables either moves **every** table's pointer to its new
//! metadata file, or moves none; readers see the old state or the new one, never a mix.
//! Steps of one attempt:
//!
//! 1. **Load** each table's row (`metadata_location`, `version`) and its metadata
//!    (through the cache).
//! 2. **Apply** the requirements and updates with `floe_spec::commit::apply_commit`. A
//!    failed requirement is `CommitFailed` and ends the commit (no retry: the client's
//!    view is stale). Tables whose updates change nothing keep their file.
//! 3. **Write** each new metadata file under `<location>/metadata/` with the next
//!    version number and a fresh UUID, create-if-absent. Files are never overwritten.
//! 4. **Swap** in ONE database transaction: for every table, `UPDATE ... SET
//!    metadata_location = new, version = version + 1 WHERE table_id = ? AND version =
//!    expected` (a create inserts the row instead); unchanged tables of a multi-table
//!    commit are checked the same way (`version` must still be the one their
//!    requirements were checked against). In the same transaction: writer progress is
//!    fenced and recorded, and the idempotency key is stored with the result.
//! 5. If any table's swap matched no row (another commit got there first), the
//!    transaction rolls back, the attempt's files are deleted, and the commit goes back
//!    to 1 — requirements are re-checked against the new state and updates re-applied —
//!    at most `max_commit_attempts` times, then `CommitFailed`. Before each new attempt
//!    the commit waits a random time below [`retry_backoff_cap`] (1 ms, 2 ms, 4 ms, ...
//!    up to 32 ms), so that the writers that lost one race do not all collide again at
//!    once (as Java Iceberg's `commit.retry.*-wait-ms`, on a millisecond scale).
//!
//! A crash or error after 3 and before the transaction commits leaves unreferenced
//! files and the old pointers: the tables stay loadable at their previous state. A crash
//! after the transaction commits leaves the new state; the caller may not have heard
//! the answer, and retrying with the same idempotency key returns the first result
//! instead of applying the commit twice. A failure of the database `COMMIT` itself is
//! reported as `CommitStateUnknown` (the files are kept: they may be referenced).
//!
//! Writer progress (`(table, writer id) → (epoch, last seq, snapshot id, watermark)`)
//! is checked inside the transaction, after the table row is locked by the swap, so
//! concurrent commits of one writer serialize: an epoch below the stored one is
//! `CommitFailed` (fenced), a seq at or below the stored last seq makes the whole commit
//! a [`CommitStatus::Duplicate`] that changes nothing.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use floe_spec::commit::{
    CommitOutcome, PROPERTY_METADATA_COMPRESSION, PROPERTY_METADATA_DELETE_AFTER_COMMIT_ENABLED,
    TableRequirement, apply_commit, metadata_file_location, parse_metadata_version,
};
use floe_spec::table_metadata::TableMetadata;
use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};
use uuid::Uuid;

use super::namespace::lock_namespace;
use super::table::{TableRow, no_such_table, table_exists};
use super::{SqlCatalog, int, now_ms, opt_int, text};
use crate::catalog::{CommitResult, CommitStatus, LoadedTable, TableCommit, WriterProgressUpdate};
use crate::error::{Error, ErrorKind, Result, db_error, err, is_unique_violation};
use crate::ident::{TableIdent, validate_name};

/// The points of a commit where a [`CommitHook`] is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommitPhase {
    /// The new metadata files are written; the transaction has not begun.
    MetadataWritten,
    /// Inside the transaction: the rows are swapped, the transaction is not committed.
    Swapped,
    /// The transaction is committed; the caller has not been answered.
    Committed,
}

/// A hook called at each [`CommitPhase`]; an error aborts the commit right there (the
/// error is returned to the caller), which lets tests inject crashes.
pub type CommitHook = Arc<dyn Fn(CommitPhase) -> Result<()> + Send + Sync>;

/// One table of one commit attempt.
struct Plan {
    ident: TableIdent,
    row: Option<TableRow>,
    current: Option<Arc<TableMetadata>>,
    outcome: CommitOutcome,
    new_location: Option<String>,
    new_table_id: String,
}

/// How one attempt ended.
enum Attempt {
    Done(CommitResult),
    LostRace,
}

/// How the transaction of one attempt ended.
enum Swap {
    Committed,
    LostRace,
    Duplicate(CommitStatus),
    KeyTaken,
}

/// An idempotency record: what the first request committed.
#[derive(Debug, Serialize, Deserialize)]
struct KeyRecord {
    tables: Vec<KeyTable>,
}

#[derive(Debug, Serialize, Deserialize)]
struct KeyTable {
    ident: TableIdent,
    metadata_location: String,
}

/// Stored progress of one writer.
struct StoredProgress {
    epoch: i64,
    last_seq: i64,
    snapshot_id: Option<i64>,
}

/// The longest wait before commit attempt `attempt` (2, 3, ...) after a lost race:
/// 1 ms before the second attempt, doubling up to 32 ms.
pub(crate) fn retry_backoff_cap(attempt: u32) -> Duration {
    Duration::from_millis(1 << attempt.saturating_sub(2).min(5))
}

/// A uniformly random wait in `[0, retry_backoff_cap(attempt))` (full jitter).
fn retry_backoff(attempt: u32) -> Duration {
    let cap = retry_backoff_cap(attempt).as_micros() as u64;
    let random = Uuid::new_v4().as_u128() as u64;
    Duration::from_micros(random % cap.max(1))
}

fn is_create(commit: &TableCommit) -> bool {
    commit
        .requirements
        .iter()
        .any(|r| matches!(r, TableRequirement::AssertCreate))
}

/// Checks a writer-progress update against the stored progress: `Err(CommitFailed)`
/// when fenced, `Ok(Some(duplicate status))` when the batch was committed before.
fn check_progress(
    wp: &WriterProgressUpdate,
    stored: Option<&StoredProgress>,
    table: &TableIdent,
) -> Result<Option<CommitStatus>> {
    let Some(stored) = stored else {
        return Ok(None);
    };
    if wp.epoch < stored.epoch {
        return Err(err(
            ErrorKind::CommitFailed,
            format!(
                "writer `{}` of {table} is fenced: epoch {} is older than the current epoch {}",
                wp.writer_id, wp.epoch, stored.epoch
            ),
        ));
    }
    if wp.seq <= stored.last_seq {
        return Ok(Some(CommitStatus::Duplicate {
            writer_id: wp.writer_id.clone(),
            seq: wp.seq,
            snapshot_id: stored.snapshot_id,
        }));
    }
    Ok(None)
}

impl SqlCatalog {
    /// Commits `commits` atomically; `create_only` = a `create_table` call (an existing
    /// table is `AlreadyExists` instead of a failed `assert-create`).
    pub(super) async fn commit_impl(
        &self,
        commits: Vec<TableCommit>,
        idempotency_key: Option<String>,
        create_only: bool,
    ) -> Result<CommitResult> {
        if commits.is_empty() {
            return Err(Error::invalid("a commit needs at least one table"));
        }
        let mut seen = HashSet::new();
        for c in &commits {
            c.ident.validate()?;
            if !seen.insert(&c.ident) {
                return Err(Error::invalid(format!(
                    "table {} appears more than once in one commit",
                    c.ident
                )));
            }
            let mut writers = HashSet::new();
            for wp in &c.writer_progress {
                validate_name("writer id", &wp.writer_id)?;
                if wp.epoch < 0 || wp.seq < 0 {
                    return Err(Error::invalid(format!(
                        "writer `{}`: epoch and seq must not be negative",
                        wp.writer_id
                    )));
                }
                if !writers.insert(&wp.writer_id) {
                    return Err(Error::invalid(format!(
                        "writer `{}` appears twice in the commit of {}",
                        wp.writer_id, c.ident
                    )));
                }
            }
        }
        if let Some(key) = &idempotency_key {
            if key.is_empty() || key.len() > 255 {
                return Err(Error::invalid(
                    "an idempotency key must have 1 to 255 bytes",
                ));
            }
            if let Some(result) = self.replay(key).await? {
                return Ok(result);
            }
        }
        let attempts = self.inner.max_commit_attempts;
        for attempt in 1..=attempts {
            if attempt > 1 {
                tokio::time::sleep(retry_backoff(attempt)).await;
            }
            if attempt > 1
                && let Some(key) = &idempotency_key
                && let Some(result) = self.replay(key).await?
            {
                // The race was lost to the same request (a retry sent concurrently).
                return Ok(result);
            }
            let attempted = self
                .try_commit(&commits, idempotency_key.as_deref(), create_only)
                .await;
            match attempted {
                Ok(Attempt::Done(result)) => {
                    if result.status == CommitStatus::Committed {
                        for table in &result.tables {
                            // No subscriber is fine: nobody needs to know.
                            let _ = self.inner.commits.send(table.ident.clone());
                        }
                    }
                    return Ok(result);
                }
                Err(e) => {
                    // The same request may have committed meanwhile (sent twice at
                    // once): its requirements then fail against its own result.
                    if e.kind() == ErrorKind::CommitFailed
                        && let Some(key) = &idempotency_key
                        && let Some(result) = self.replay(key).await?
                    {
                        return Ok(result);
                    }
                    return Err(e);
                }
                Ok(Attempt::LostRace) => {
                    tracing::debug!(attempt, "commit lost the compare-and-swap; reloading");
                }
            }
        }
        let names: Vec<String> = commits.iter().map(|c| c.ident.to_string()).collect();
        Err(err(
            ErrorKind::CommitFailed,
            format!(
                "commit of {} lost the race against concurrent commits {attempts} times",
                names.join(", ")
            ),
        ))
    }

    /// The first result of an idempotency key, if it was used before.
    async fn replay(&self, key: &str) -> Result<Option<CommitResult>> {
        let row =
            sqlx::query("SELECT result FROM floe_idempotency_keys WHERE idempotency_key = $1")
                .bind(key)
                .fetch_optional(&self.inner.pool)
                .await
                .map_err(|e| db_error("read idempotency key", e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let record: KeyRecord = serde_json::from_str(&text(&row, "result")?).map_err(|e| {
            Error::new(
                ErrorKind::Unexpected,
                "stored idempotency result is malformed",
            )
            .with_source(e)
        })?;
        let mut tables = Vec::with_capacity(record.tables.len());
        for t in record.tables {
            let metadata = self.read_metadata(&t.metadata_location).await?;
            tables.push(LoadedTable {
                ident: t.ident,
                metadata_location: Some(t.metadata_location),
                metadata,
            });
        }
        Ok(Some(CommitResult {
            status: CommitStatus::Replayed,
            tables,
        }))
    }

    fn hook(&self, phase: CommitPhase) -> Result<()> {
        match &self.inner.hook {
            Some(hook) => hook(phase),
            None => Ok(()),
        }
    }

    /// Loads the current state of every table and applies its commit.
    async fn plan(
        &self,
        commits: &[TableCommit],
        create_only: bool,
        now: i64,
    ) -> Result<std::result::Result<Vec<Plan>, CommitStatus>> {
        let mut plans = Vec::with_capacity(commits.len());
        for c in commits {
            let row = self.table_row(&c.ident).await?;
            if create_only && row.is_some() {
                return Err(table_exists(&c.ident));
            }
            let current = match &row {
                Some(r) => Some(self.read_metadata(&r.metadata_location).await?),
                None => None,
            };
            if row.is_none() && is_create(c) && !self.namespace_exists_plain(c).await? {
                return Err(super::namespace::no_such_namespace(&c.ident.namespace));
            }
            if let Some(r) = &row {
                for wp in &c.writer_progress {
                    let stored = self
                        .stored_progress(None, &r.table_id, &wp.writer_id)
                        .await?;
                    if let Some(dup) = check_progress(wp, stored.as_ref(), &c.ident)? {
                        return Ok(Err(dup));
                    }
                }
            }
            let outcome = apply_commit(
                current.as_deref(),
                row.as_ref().map(|r| r.metadata_location.as_str()),
                &c.requirements,
                &c.updates,
                now,
            )
            .map_err(|e| {
                if e.kind() == ErrorKind::NoSuchTable {
                    no_such_table(&c.ident)
                } else {
                    Error::new(e.kind(), format!("commit of {}: {}", c.ident, e))
                }
            })?;
            if outcome.changed
                && current.as_deref().map(TableMetadata::location)
                    != Some(outcome.metadata.location())
            {
                self.inner
                    .warehouse
                    .check_location(outcome.metadata.location())?;
            }
            plans.push(Plan {
                ident: c.ident.clone(),
                row,
                current,
                outcome,
                new_location: None,
                new_table_id: Uuid::new_v4().to_string(),
            });
        }
        Ok(Ok(plans))
    }

    async fn namespace_exists_plain(&self, c: &TableCommit) -> Result<bool> {
        match self.load_namespace_impl(&c.ident.namespace).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NoSuchNamespace => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The tables as they are now (for answers that change nothing).
    fn current_tables(plans: &[Plan]) -> Vec<LoadedTable> {
        plans
            .iter()
            .map(|p| LoadedTable {
                ident: p.ident.clone(),
                metadata_location: p.row.as_ref().map(|r| r.metadata_location.clone()),
                metadata: p
                    .current
                    .clone()
                    .unwrap_or_else(|| Arc::new(p.outcome.metadata.clone())),
            })
            .collect()
    }

    async fn try_commit(
        &self,
        commits: &[TableCommit],
        key: Option<&str>,
        create_only: bool,
    ) -> Result<Attempt> {
        let now = now_ms();
        let mut plans = match self.plan(commits, create_only, now).await? {
            Ok(plans) => plans,
            Err(duplicate) => {
                // Answer with the current state; nothing to write.
                let mut tables = Vec::with_capacity(commits.len());
                for c in commits {
                    tables.push(self.load_table_impl(&c.ident).await?);
                }
                return Ok(Attempt::Done(CommitResult {
                    status: duplicate,
                    tables,
                }));
            }
        };
        let has_progress = commits.iter().any(|c| !c.writer_progress.is_empty());
        if !has_progress && plans.iter().all(|p| !p.outcome.changed) {
            return Ok(Attempt::Done(CommitResult {
                status: CommitStatus::Unchanged,
                tables: Self::current_tables(&plans),
            }));
        }

        // Write the new metadata files (create-if-absent).
        for i in 0..plans.len() {
            if !plans[i].outcome.changed {
                continue;
            }
            match self.write_metadata(&plans[i]).await {
                Ok(location) => plans[i].new_location = Some(location),
                Err(e) => {
                    self.delete_files(&plans).await;
                    return Err(e);
                }
            }
        }
        self.hook(CommitPhase::MetadataWritten)?;

        match self.swap(&plans, commits, key, now).await {
            Ok(Swap::Committed) => {}
            Ok(Swap::LostRace) => {
                self.delete_files(&plans).await;
                return Ok(Attempt::LostRace);
            }
            Ok(Swap::Duplicate(status)) => {
                self.delete_files(&plans).await;
                return Ok(Attempt::Done(CommitResult {
                    status,
                    tables: Self::current_tables(&plans),
                }));
            }
            Ok(Swap::KeyTaken) => {
                self.delete_files(&plans).await;
                let key = key.unwrap_or_default();
                return match self.replay(key).await? {
                    Some(result) => Ok(Attempt::Done(result)),
                    None => Ok(Attempt::LostRace),
                };
            }
            Err(e) => {
                if e.kind() != ErrorKind::CommitStateUnknown {
                    self.delete_files(&plans).await;
                }
                return Err(e);
            }
        }

        let mut tables = Vec::with_capacity(plans.len());
        let mut any_changed = false;
        for plan in plans {
            match plan.new_location {
                Some(location) => {
                    any_changed = true;
                    self.delete_expired_metadata(&plan.outcome).await;
                    let metadata = Arc::new(plan.outcome.metadata);
                    self.inner.cache.insert(&location, Arc::clone(&metadata));
                    tables.push(LoadedTable {
                        ident: plan.ident,
                        metadata_location: Some(location),
                        metadata,
                    });
                }
                None => tables.push(LoadedTable {
                    ident: plan.ident,
                    metadata_location: plan.row.map(|r| r.metadata_location),
                    metadata: plan
                        .current
                        .unwrap_or_else(|| Arc::new(plan.outcome.metadata)),
                }),
            }
        }
        self.hook(CommitPhase::Committed)?;
        Ok(Attempt::Done(CommitResult {
            status: if any_changed {
                CommitStatus::Committed
            } else {
                CommitStatus::Unchanged
            },
            tables,
        }))
    }

    /// Writes the new metadata file of a plan; returns its location.
    async fn write_metadata(&self, plan: &Plan) -> Result<String> {
        let metadata = &plan.outcome.metadata;
        let version = match &plan.row {
            None => 0,
            Some(row) => parse_metadata_version(&row.metadata_location)
                .map_or(row.version as u64 + 1, |v| v + 1),
        };
        let gzip = metadata
            .properties()
            .get(PROPERTY_METADATA_COMPRESSION)
            .is_some_and(|v| v.eq_ignore_ascii_case("gzip"));
        let location = metadata_file_location(metadata.location(), version, Uuid::new_v4(), gzip);
        let bytes = if gzip {
            metadata.to_json_gzip_vec()?
        } else {
            metadata.to_json_vec()?
        };
        self.inner.warehouse.write_new(&location, bytes).await?;
        Ok(location)
    }

    /// After a successful swap: deletes the metadata files that left the metadata log,
    /// when the table sets `write.metadata.delete-after-commit.enabled` (best effort).
    async fn delete_expired_metadata(&self, outcome: &CommitOutcome) {
        let enabled = outcome
            .metadata
            .properties()
            .get(PROPERTY_METADATA_DELETE_AFTER_COMMIT_ENABLED)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if !enabled {
            return;
        }
        for entry in &outcome.expired_metadata_logs {
            if let Err(e) = self.inner.warehouse.delete(&entry.metadata_file).await {
                tracing::warn!(file = %entry.metadata_file, error = %e, "cannot delete an expired metadata file");
            }
        }
    }

    /// Deletes idempotency records older than `older_than_ms` (ms since the Unix
    /// epoch); returns how many. Requests repeated after that are treated as new.
    pub async fn expire_idempotency_keys(&self, older_than_ms: i64) -> Result<u64> {
        let done = sqlx::query("DELETE FROM floe_idempotency_keys WHERE created_at_ms < $1")
            .bind(older_than_ms)
            .execute(&self.inner.pool)
            .await
            .map_err(|e| db_error("expire idempotency keys", e))?;
        Ok(done.rows_affected())
    }

    /// Deletes the files an abandoned attempt wrote (best effort).
    async fn delete_files(&self, plans: &[Plan]) {
        for location in plans.iter().filter_map(|p| p.new_location.as_deref()) {
            if let Err(e) = self.inner.warehouse.delete(location).await {
                tracing::warn!(%location, error = %e, "cannot delete the metadata file of an abandoned commit");
            }
        }
    }

    /// The stored progress of a writer, in `tx` or on the pool.
    async fn stored_progress(
        &self,
        tx: Option<&mut Transaction<'static, Any>>,
        table_id: &str,
        writer_id: &str,
    ) -> Result<Option<StoredProgress>> {
        let query = sqlx::query(
            "SELECT epoch, last_seq, snapshot_id FROM floe_writer_progress WHERE table_id = $1 AND writer_id = $2",
        )
        .bind(table_id.to_owned())
        .bind(writer_id.to_owned());
        let row = match tx {
            Some(tx) => query.fetch_optional(&mut **tx).await,
            None => query.fetch_optional(&self.inner.pool).await,
        }
        .map_err(|e| db_error("read writer progress", e))?;
        row.map(|r| {
            Ok(StoredProgress {
                epoch: int(&r, "epoch")?,
                last_seq: int(&r, "last_seq")?,
                snapshot_id: opt_int(&r, "snapshot_id")?,
            })
        })
        .transpose()
    }

    /// The one transaction of an attempt: swap every row, fence and record writer
    /// progress, store the idempotency key.
    async fn swap(
        &self,
        plans: &[Plan],
        commits: &[TableCommit],
        key: Option<&str>,
        now: i64,
    ) -> Result<Swap> {
        let mut tx = self.begin().await?;
        // Lock rows in one global order (table id; creates last) so that concurrent
        // multi-table commits cannot deadlock.
        let mut order: Vec<usize> = (0..plans.len()).collect();
        order.sort_by(|&a, &b| {
            let key = |p: &Plan| (p.row.is_none(), p.row.as_ref().map(|r| r.table_id.clone()));
            key(&plans[a]).cmp(&key(&plans[b]))
        });
        for &i in &order {
            let plan = &plans[i];
            let table_id = match (&plan.row, &plan.new_location) {
                (Some(row), Some(location)) => {
                    let done = sqlx::query(
                        "UPDATE floe_tables SET metadata_location = $1, version = version + 1, updated_at_ms = $2 \
                         WHERE table_id = $3 AND version = $4",
                    )
                    .bind(location)
                    .bind(now)
                    .bind(&row.table_id)
                    .bind(row.version)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| db_error("swap table pointer", e))?;
                    if done.rows_affected() != 1 {
                        return Ok(Swap::LostRace);
                    }
                    row.table_id.clone()
                }
                (Some(row), None) => {
                    let done = sqlx::query(
                        "UPDATE floe_tables SET version = version WHERE table_id = $1 AND version = $2",
                    )
                    .bind(&row.table_id)
                    .bind(row.version)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| db_error("check table version", e))?;
                    if done.rows_affected() != 1 {
                        return Ok(Swap::LostRace);
                    }
                    row.table_id.clone()
                }
                (None, Some(location)) => {
                    lock_namespace(&mut tx, &plan.ident.namespace).await?;
                    let inserted = sqlx::query(
                        "INSERT INTO floe_tables (table_id, namespace, name, metadata_location, version, created_at_ms, updated_at_ms) \
                         VALUES ($1, $2, $3, $4, 0, $5, $5)",
                    )
                    .bind(&plan.new_table_id)
                    .bind(plan.ident.namespace.key())
                    .bind(&plan.ident.name)
                    .bind(location)
                    .bind(now)
                    .execute(&mut *tx)
                    .await;
                    match inserted {
                        Ok(_) => plan.new_table_id.clone(),
                        Err(e) if is_unique_violation(&e) => return Ok(Swap::LostRace),
                        Err(e) => return Err(db_error("create table row", e)),
                    }
                }
                (None, None) => {
                    return Err(err(
                        ErrorKind::Unexpected,
                        format!("commit of {}: a new table without metadata", plan.ident),
                    ));
                }
            };
            for wp in &commits[i].writer_progress {
                let stored = self
                    .stored_progress(Some(&mut tx), &table_id, &wp.writer_id)
                    .await?;
                if let Some(dup) = check_progress(wp, stored.as_ref(), &plan.ident)? {
                    return Ok(Swap::Duplicate(dup));
                }
                let snapshot_id = wp
                    .snapshot_id
                    .or_else(|| plan.outcome.metadata.current_snapshot_id());
                sqlx::query(
                    "INSERT INTO floe_writer_progress (table_id, writer_id, epoch, last_seq, snapshot_id, watermark, updated_at_ms) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (table_id, writer_id) DO UPDATE SET epoch = excluded.epoch, last_seq = excluded.last_seq, \
                     snapshot_id = excluded.snapshot_id, \
                     watermark = COALESCE(excluded.watermark, floe_writer_progress.watermark), \
                     updated_at_ms = excluded.updated_at_ms",
                )
                .bind(&table_id)
                .bind(&wp.writer_id)
                .bind(wp.epoch)
                .bind(wp.seq)
                .bind(snapshot_id)
                .bind(wp.watermark)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("record writer progress", e))?;
            }
        }
        if let Some(key) = key {
            let record = KeyRecord {
                tables: plans
                    .iter()
                    .map(|p| KeyTable {
                        ident: p.ident.clone(),
                        metadata_location: p
                            .new_location
                            .clone()
                            .or_else(|| p.row.as_ref().map(|r| r.metadata_location.clone()))
                            .unwrap_or_default(),
                    })
                    .collect(),
            };
            let json = serde_json::to_string(&record).map_err(|e| {
                Error::new(ErrorKind::Unexpected, "idempotency record to JSON").with_source(e)
            })?;
            let inserted = sqlx::query(
                "INSERT INTO floe_idempotency_keys (idempotency_key, result, created_at_ms) VALUES ($1, $2, $3)",
            )
            .bind(key)
            .bind(json)
            .bind(now)
            .execute(&mut *tx)
            .await;
            match inserted {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => return Ok(Swap::KeyTaken),
                Err(e) => return Err(db_error("record idempotency key", e)),
            }
        }
        self.hook(CommitPhase::Swapped)?;
        tx.commit().await.map_err(|e| {
            Error::new(
                ErrorKind::CommitStateUnknown,
                "the catalog database failed while committing: the commit may or may not have happened",
            )
            .with_source(e)
        })?;
        Ok(Swap::Committed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_backoff_doubles_from_one_millisecond_up_to_32() {
        let caps: Vec<u64> = (2..=9)
            .map(|a| retry_backoff_cap(a).as_millis() as u64)
            .collect();
        assert_eq!(caps, [1, 2, 4, 8, 16, 32, 32, 32]);
        for attempt in 2..=9 {
            for _ in 0..100 {
                assert!(retry_backoff(attempt) < retry_backoff_cap(attempt));
            }
        }
    }
}
