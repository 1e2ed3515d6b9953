//! The maintenance task queue: durable tasks in the catalog database
//! (`floe_maintenance_tasks`, migration 0003), claimed by workers with leases.
//!
//! - **Enqueue** `(table, action, options, priority, debt, dry run)` → a task id. At
//!   most one queued or running task exists per (table, action) (a partial unique
//!   index, dry runs excepted): enqueuing again returns the existing task
//!   (`deduplicated`), raising its priority and debt to the new ones if higher.
//! - **Claim**: a worker takes the best claimable task — queued and past its backoff,
//!   or running with an expired lease (its worker died) — and holds it for a lease.
//!   Order: `priority` (urgent first), then `debt` plus one point per
//!   [`QueueConfig::aging`] waited (so that no table starves behind tables with more
//!   debt), then the oldest. At most [`QueueConfig::max_running`] tasks hold a live
//!   lease at once. On PostgreSQL the candidate row is locked with `FOR UPDATE SKIP
//!   LOCKED` and claims are serialized by a transaction-scoped advisory lock (which
//!   makes the global limit exact); on SQLite the claim runs inside `BEGIN IMMEDIATE`.
//! - **Heartbeat** extends the lease; it answers `false` when the worker lost it (the
//!   lease expired and another worker reclaimed the task): the worker should stop.
//! - **Complete** stores the result JSON; **fail** stores the error and re-queues the
//!   task after an exponential backoff ([`QueueConfig::backoff_base`] doubling up to
//!   [`QueueConfig::backoff_max`]) until it has run [`NewTask::max_attempts`] times,
//!   then marks it failed. A lease that expires on the last attempt fails the task.
//!
//! ```no_run
//! # async fn demo(catalog: floe_catalog::SqlCatalog, table: floe_catalog::TableIdent) -> floe_catalog::Result<()> {
//! use floe_catalog::sql::tasks::{NewTask, QueueConfig, TaskQueue};
//! let queue = TaskQueue::new(catalog, QueueConfig::default());
//! let id = queue.enqueue(NewTask::new(table, "compact")).await?.task_id;
//! if let Some(task) = queue.claim("worker-1").await? {
//!     queue.complete(task.task_id, "worker-1", &serde_json::json!({"rewritten": 3})).await?;
//! }
//! # let _ = id; Ok(()) }
//! ```

use std::fmt::{self, Write as _};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::{Backend, SqlCatalog, int, opt_int, text};
use crate::error::{Error, ErrorKind, Result, db_error, err, is_unique_violation};
use crate::ident::{NamespaceIdent, TableIdent};

/// The advisory lock key that serializes claims on PostgreSQL.
const CLAIM_LOCK_KEY: i64 = 0x466c_6f65_4d54_0001;

/// The state of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskStatus {
    /// Waiting for a worker (possibly for its retry backoff to pass).
    Queued,
    /// Claimed by a worker holding a lease.
    Running,
    /// Done; the result is stored.
    Succeeded,
    /// Failed on its last attempt; the error is stored.
    Failed,
}

impl TaskStatus {
    /// The stored name: `queued`, `running`, `succeeded`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "queued" => Ok(Self::Queued),
            "running" => Ok(Self::Running),
            "succeeded" => Ok(Self::Succeeded),
            "failed" => Ok(Self::Failed),
            other => Err(Error::invalid(format!(
                "unknown task status `{other}`: expected queued, running, succeeded or failed"
            ))),
        }
    }

    /// Whether the task is over (succeeded or failed).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Priority of manual requests: ahead of every scheduled task.
pub const PRIORITY_URGENT: i64 = 100;
/// Priority of scheduled tasks.
pub const PRIORITY_NORMAL: i64 = 0;

/// A task to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    /// The table.
    pub table: TableIdent,
    /// The action (`compact`, `expire-snapshots`, ...; the queue does not interpret it).
    pub action: String,
    /// The action's options (a JSON object).
    pub options: Value,
    /// Higher runs first ([`PRIORITY_URGENT`], [`PRIORITY_NORMAL`]).
    pub priority: i64,
    /// The debt score: among equal priorities, more debt runs first.
    pub debt: i64,
    /// Report what the action would do without doing it.
    pub dry_run: bool,
    /// How many times the task runs before it is marked failed (at least 1).
    pub max_attempts: u32,
}

impl NewTask {
    /// A task with no options, normal priority, no debt, 3 attempts.
    pub fn new(table: TableIdent, action: impl Into<String>) -> Self {
        Self {
            table,
            action: action.into(),
            options: Value::Object(serde_json::Map::new()),
            priority: PRIORITY_NORMAL,
            debt: 0,
            dry_run: false,
            max_attempts: 3,
        }
    }

    /// With options.
    #[must_use]
    pub fn options(mut self, options: Value) -> Self {
        self.options = options;
        self
    }

    /// With a priority.
    #[must_use]
    pub fn priority(mut self, priority: i64) -> Self {
        self.priority = priority;
        self
    }

    /// With a debt score.
    #[must_use]
    pub fn debt(mut self, debt: i64) -> Self {
        self.debt = debt;
        self
    }

    /// As a dry run.
    #[must_use]
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// With a number of attempts.
    #[must_use]
    pub fn max_attempts(mut self, n: u32) -> Self {
        self.max_attempts = n.max(1);
        self
    }
}

/// The answer to an enqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Enqueued {
    /// The task's id (an existing task's when deduplicated).
    pub task_id: i64,
    /// A task for the same table and action was already queued or running.
    pub deduplicated: bool,
}

/// A stored task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Task {
    /// The id.
    pub task_id: i64,
    /// The table.
    pub table: TableIdent,
    /// The action.
    pub action: String,
    /// The action's options.
    pub options: Value,
    /// A dry run.
    pub dry_run: bool,
    /// The priority.
    pub priority: i64,
    /// The debt score.
    pub debt: i64,
    /// The state.
    pub status: TaskStatus,
    /// How many times a worker claimed it.
    pub attempts: u32,
    /// How many claims are allowed.
    pub max_attempts: u32,
    /// Not claimed before this time (ms since the epoch; retry backoff).
    pub not_before_ms: i64,
    /// The worker holding the lease, while running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<String>,
    /// When the lease expires, while running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_expires_ms: Option<i64>,
    /// The action's result, when succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The last failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When it was enqueued.
    pub created_at_ms: i64,
    /// When it last changed.
    pub updated_at_ms: i64,
    /// When it was last claimed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at_ms: Option<i64>,
    /// When it succeeded or failed for good.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at_ms: Option<i64>,
}

/// Which tasks [`TaskQueue::list`] returns (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only this table's.
    pub table: Option<TableIdent>,
    /// Only this action's.
    pub action: Option<String>,
    /// Only tasks in this state.
    pub status: Option<TaskStatus>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// The clock of a queue: ms since the Unix epoch.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Queue settings.
#[derive(Clone)]
pub struct QueueConfig {
    /// How long a claim holds a task without a heartbeat (default 60 s).
    pub lease: Duration,
    /// The most tasks holding a live lease at once, over all workers (default 2).
    pub max_running: u32,
    /// The backoff before the second attempt; it doubles per attempt (default 5 s).
    pub backoff_base: Duration,
    /// The longest backoff (default 10 min).
    pub backoff_max: Duration,
    /// Waiting this long adds one point of debt to a task's order (default 10 s).
    pub aging: Duration,
    /// The clock (default: the system clock).
    pub clock: Option<Clock>,
}

impl fmt::Debug for QueueConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueConfig")
            .field("lease", &self.lease)
            .field("max_running", &self.max_running)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .field("aging", &self.aging)
            .finish_non_exhaustive()
    }
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_mins(1),
            max_running: 2,
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_mins(10),
            aging: Duration::from_secs(10),
            clock: None,
        }
    }
}

impl QueueConfig {
    /// The backoff after failed attempt `attempt` (1, 2, ...).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.backoff_base
            .saturating_mul(factor)
            .min(self.backoff_max)
    }
}

/// The maintenance task queue of a [`SqlCatalog`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TaskQueue {
    catalog: SqlCatalog,
    config: QueueConfig,
}

const COLUMNS: &str = "task_id, namespace, table_name, action, options, dry_run, priority, debt, \
     status, attempts, max_attempts, not_before_ms, lease_owner, lease_expires_ms, result, error, \
     created_at_ms, updated_at_ms, started_at_ms, finished_at_ms";

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn opt_text(row: &AnyRow, col: &str) -> Result<Option<String>> {
    row.try_get::<Option<String>, _>(col)
        .map_err(|e| db_error("read column", e))
}

fn task_from_row(row: &AnyRow) -> Result<Task> {
    let namespace = NamespaceIdent::from_key(&text(row, "namespace")?)?;
    let table = TableIdent::new(namespace, text(row, "table_name")?)?;
    let json = |s: String, what: &str| -> Result<Value> {
        serde_json::from_str(&s).map_err(|e| {
            err(
                ErrorKind::Unexpected,
                format!("stored task {what} is not JSON"),
            )
            .with_source(e)
        })
    };
    Ok(Task {
        task_id: int(row, "task_id")?,
        table,
        action: text(row, "action")?,
        options: json(text(row, "options")?, "options")?,
        dry_run: int(row, "dry_run")? != 0,
        priority: int(row, "priority")?,
        debt: int(row, "debt")?,
        status: TaskStatus::parse(&text(row, "status")?)?,
        attempts: u32::try_from(int(row, "attempts")?).unwrap_or(0),
        max_attempts: u32::try_from(int(row, "max_attempts")?).unwrap_or(1),
        not_before_ms: int(row, "not_before_ms")?,
        lease_owner: opt_text(row, "lease_owner")?,
        lease_expires_ms: opt_int(row, "lease_expires_ms")?,
        result: opt_text(row, "result")?
            .map(|s| json(s, "result"))
            .transpose()?,
        error: opt_text(row, "error")?,
        created_at_ms: int(row, "created_at_ms")?,
        updated_at_ms: int(row, "updated_at_ms")?,
        started_at_ms: opt_int(row, "started_at_ms")?,
        finished_at_ms: opt_int(row, "finished_at_ms")?,
    })
}

impl TaskQueue {
    /// The queue in `catalog`'s database.
    pub fn new(catalog: SqlCatalog, config: QueueConfig) -> Self {
        Self { catalog, config }
    }

    /// The settings.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// The catalog whose database holds the queue.
    pub fn catalog(&self) -> &SqlCatalog {
        &self.catalog
    }

    /// The current time of the queue's clock.
    pub fn now_ms(&self) -> i64 {
        self.config
            .clock
            .as_ref()
            .map_or_else(super::now_ms, |c| c())
    }

    /// Enqueues a task, or returns the queued or running task of the same table and
    /// action (raising its priority and debt to `task`'s if higher).
    pub async fn enqueue(&self, task: NewTask) -> Result<Enqueued> {
        task.table.validate()?;
        if task.action.is_empty() || task.action.len() > 64 {
            return Err(Error::invalid(format!(
                "invalid maintenance action `{}`: 1 to 64 bytes",
                task.action
            )));
        }
        if !task.options.is_object() {
            return Err(Error::invalid(format!(
                "the options of a maintenance task must be a JSON object, got {}",
                task.options
            )));
        }
        let options = task.options.to_string();
        // A concurrent enqueue may insert between our look-up and our insert: the
        // unique index refuses ours and the next round finds theirs.
        for _ in 0..3 {
            let mut tx = self.catalog.begin().await?;
            if !task.dry_run
                && let Some(id) = self.active_id(&mut tx, &task.table, &task.action).await?
            {
                sqlx::query(
                    "UPDATE floe_maintenance_tasks SET \
                     priority = CASE WHEN priority < $1 THEN $1 ELSE priority END, \
                     debt = CASE WHEN debt < $2 THEN $2 ELSE debt END, updated_at_ms = $3 \
                     WHERE task_id = $4",
                )
                .bind(task.priority)
                .bind(task.debt)
                .bind(self.now_ms())
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| db_error("update maintenance task", e))?;
                tx.commit()
                    .await
                    .map_err(|e| db_error("commit enqueue", e))?;
                return Ok(Enqueued {
                    task_id: id,
                    deduplicated: true,
                });
            }
            let now = self.now_ms();
            let inserted = sqlx::query(
                "INSERT INTO floe_maintenance_tasks (namespace, table_name, action, options, \
                 dry_run, priority, debt, status, attempts, max_attempts, not_before_ms, \
                 created_at_ms, updated_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'queued', 0, $8, $9, $9, $9) RETURNING task_id",
            )
            .bind(task.table.namespace.key())
            .bind(&task.table.name)
            .bind(&task.action)
            .bind(&options)
            .bind(i64::from(task.dry_run))
            .bind(task.priority)
            .bind(task.debt)
            .bind(i64::from(task.max_attempts.max(1)))
            .bind(now)
            .fetch_one(&mut *tx)
            .await;
            match inserted {
                Ok(row) => {
                    let id = int(&row, "task_id")?;
                    tx.commit()
                        .await
                        .map_err(|e| db_error("commit enqueue", e))?;
                    return Ok(Enqueued {
                        task_id: id,
                        deduplicated: false,
                    });
                }
                Err(e) if is_unique_violation(&e) => {
                    let _ = tx.rollback().await;
                }
                Err(e) => return Err(db_error("insert maintenance task", e)),
            }
        }
        Err(err(
            ErrorKind::CommitFailed,
            format!(
                "could not enqueue {} of {}: concurrent enqueues kept racing",
                task.action, task.table
            ),
        ))
    }

    async fn active_id(
        &self,
        tx: &mut Transaction<'static, Any>,
        table: &TableIdent,
        action: &str,
    ) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT task_id FROM floe_maintenance_tasks WHERE namespace = $1 AND table_name = $2 \
             AND action = $3 AND status IN ('queued', 'running') AND dry_run = 0",
        )
        .bind(table.namespace.key())
        .bind(&table.name)
        .bind(action)
        .fetch_optional(&mut **tx)
        .await
        .map_err(|e| db_error("look up active maintenance task", e))?;
        row.map(|r| int(&r, "task_id")).transpose()
    }

    /// Claims the best claimable task for `worker` with a lease, or `None` when no task
    /// is claimable or [`QueueConfig::max_running`] tasks are running.
    pub async fn claim(&self, worker: &str) -> Result<Option<Task>> {
        if worker.is_empty() {
            return Err(Error::invalid("a worker id must not be empty"));
        }
        let backend = self.catalog.backend();
        let mut tx = self.catalog.begin().await?;
        if backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)::text AS locked")
                .bind(CLAIM_LOCK_KEY)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| db_error("lock the maintenance queue", e))?;
        }
        let now = self.now_ms();
        // Expired leases on the last attempt: the task failed for good.
        sqlx::query(
            "UPDATE floe_maintenance_tasks SET status = 'failed', \
             error = 'the worker lease expired on the last attempt', lease_owner = NULL, \
             lease_expires_ms = NULL, finished_at_ms = $1, updated_at_ms = $1 \
             WHERE status = 'running' AND lease_expires_ms < $1 AND attempts >= max_attempts",
        )
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error("fail expired maintenance tasks", e))?;
        let running = sqlx::query(
            "SELECT COUNT(*) AS n FROM floe_maintenance_tasks \
             WHERE status = 'running' AND lease_expires_ms >= $1",
        )
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| db_error("count running maintenance tasks", e))?;
        if int(&running, "n")? >= i64::from(self.config.max_running) {
            tx.commit().await.map_err(|e| db_error("commit claim", e))?;
            return Ok(None);
        }
        let aging = ms(self.config.aging).max(1);
        let lock = match backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let candidate = sqlx::query(&format!(
            "SELECT task_id FROM floe_maintenance_tasks \
             WHERE (status = 'queued' AND not_before_ms <= $1) \
                OR (status = 'running' AND lease_expires_ms < $1) \
             ORDER BY priority DESC, debt + ($1 - created_at_ms) / $2 DESC, task_id ASC \
             LIMIT 1{lock}"
        ))
        .bind(now)
        .bind(aging)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| db_error("pick a maintenance task", e))?;
        let Some(candidate) = candidate else {
            tx.commit().await.map_err(|e| db_error("commit claim", e))?;
            return Ok(None);
        };
        let id = int(&candidate, "task_id")?;
        let row = sqlx::query(&format!(
            "UPDATE floe_maintenance_tasks SET status = 'running', lease_owner = $1, \
             lease_expires_ms = $2, attempts = attempts + 1, started_at_ms = $3, \
             updated_at_ms = $3 WHERE task_id = $4 RETURNING {COLUMNS}"
        ))
        .bind(worker)
        .bind(now.saturating_add(ms(self.config.lease)))
        .bind(now)
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| db_error("claim a maintenance task", e))?;
        let task = task_from_row(&row)?;
        tx.commit().await.map_err(|e| db_error("commit claim", e))?;
        Ok(Some(task))
    }

    /// Extends `worker`'s lease on a task by [`QueueConfig::lease`]; `false` when the
    /// worker no longer holds it.
    pub async fn heartbeat(&self, task_id: i64, worker: &str) -> Result<bool> {
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE floe_maintenance_tasks SET lease_expires_ms = $1, updated_at_ms = $2 \
             WHERE task_id = $3 AND lease_owner = $4 AND status = 'running' \
             AND lease_expires_ms >= $2",
        )
        .bind(now.saturating_add(ms(self.config.lease)))
        .bind(now)
        .bind(task_id)
        .bind(worker)
        .execute(&self.catalog.inner.pool)
        .await
        .map_err(|e| db_error("extend a maintenance lease", e))?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a task succeeded with `result`; `false` when `worker` no longer held it
    /// (the result is then dropped: another worker runs the task).
    pub async fn complete(&self, task_id: i64, worker: &str, result: &Value) -> Result<bool> {
        let now = self.now_ms();
        let done = sqlx::query(
            "UPDATE floe_maintenance_tasks SET status = 'succeeded', result = $1, error = NULL, \
             lease_owner = NULL, lease_expires_ms = NULL, finished_at_ms = $2, updated_at_ms = $2 \
             WHERE task_id = $3 AND lease_owner = $4 AND status = 'running'",
        )
        .bind(result.to_string())
        .bind(now)
        .bind(task_id)
        .bind(worker)
        .execute(&self.catalog.inner.pool)
        .await
        .map_err(|e| db_error("complete a maintenance task", e))?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a failed attempt: the task is queued again after a backoff, or failed
    /// for good after its last attempt. Returns the new state, `None` when `worker` no
    /// longer held the task.
    pub async fn fail(
        &self,
        task_id: i64,
        worker: &str,
        error: &str,
    ) -> Result<Option<TaskStatus>> {
        let mut tx = self.catalog.begin().await?;
        let row = sqlx::query(
            "SELECT attempts, max_attempts FROM floe_maintenance_tasks \
             WHERE task_id = $1 AND lease_owner = $2 AND status = 'running'",
        )
        .bind(task_id)
        .bind(worker)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| db_error("read a maintenance task", e))?;
        let Some(row) = row else {
            let _ = tx.rollback().await;
            return Ok(None);
        };
        let attempts = int(&row, "attempts")?;
        let max_attempts = int(&row, "max_attempts")?;
        let now = self.now_ms();
        let status = if attempts >= max_attempts {
            TaskStatus::Failed
        } else {
            TaskStatus::Queued
        };
        let backoff = ms(self
            .config
            .backoff(u32::try_from(attempts).unwrap_or(u32::MAX)));
        sqlx::query(
            "UPDATE floe_maintenance_tasks SET status = $1, error = $2, lease_owner = NULL, \
             lease_expires_ms = NULL, not_before_ms = $3, updated_at_ms = $4, \
             finished_at_ms = $5 WHERE task_id = $6",
        )
        .bind(status.as_str())
        .bind(error)
        .bind(now.saturating_add(backoff))
        .bind(now)
        .bind((status == TaskStatus::Failed).then_some(now))
        .bind(task_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| db_error("fail a maintenance task", e))?;
        tx.commit()
            .await
            .map_err(|e| db_error("commit task failure", e))?;
        Ok(Some(status))
    }

    /// One task.
    pub async fn get(&self, task_id: i64) -> Result<Option<Task>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM floe_maintenance_tasks WHERE task_id = $1"
        ))
        .bind(task_id)
        .fetch_optional(&self.catalog.inner.pool)
        .await
        .map_err(|e| db_error("read a maintenance task", e))?;
        row.as_ref().map(task_from_row).transpose()
    }

    /// Tasks matching `filter`, newest first.
    pub async fn list(&self, filter: &TaskFilter) -> Result<Vec<Task>> {
        let mut sql = format!("SELECT {COLUMNS} FROM floe_maintenance_tasks WHERE 1 = 1");
        let mut n = 0;
        if filter.table.is_some() {
            sql.push_str(" AND namespace = $1 AND table_name = $2");
            n = 2;
        }
        for (present, column) in [
            (filter.action.is_some(), "action"),
            (filter.status.is_some(), "status"),
        ] {
            if present {
                n += 1;
                let _ = write!(sql, " AND {column} = ${n}");
            }
        }
        let _ = write!(sql, " ORDER BY task_id DESC LIMIT ${}", n + 1);
        let mut query = sqlx::query(&sql);
        if let Some(t) = &filter.table {
            query = query.bind(t.namespace.key()).bind(t.name.clone());
        }
        if let Some(a) = &filter.action {
            query = query.bind(a.clone());
        }
        if let Some(s) = filter.status {
            query = query.bind(s.as_str());
        }
        let limit = i64::from(filter.limit.unwrap_or(100).clamp(1, 1000));
        let rows = query
            .bind(limit)
            .fetch_all(&self.catalog.inner.pool)
            .await
            .map_err(|e| db_error("list maintenance tasks", e))?;
        rows.iter().map(task_from_row).collect()
    }
}
