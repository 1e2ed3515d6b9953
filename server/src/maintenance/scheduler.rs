//! The scheduler: measures tables' debt and enqueues maintenance tasks.
//!
//! It wakes on two things. **Commits**: the catalog notifies every commit made through
//! this process ([`SqlCatalog::subscribe_commits`]); the tables are collected and
//! evaluated together once per [`SchedulerSettings::debounce`], so a stream committing
//! many times a second costs one evaluation per table per period. **Time**: every
//! [`SchedulerSettings::sweep_interval`] it evaluates every table of the catalog, which
//! also covers commits made by other processes and age-based policies (snapshot
//! expiry, orphan removal).
//!
//! Evaluating a table loads it, reads its [`Policy`] (skipping tables with
//! `floe.maintenance.enabled=false`), measures its [`TableDebt`] and enqueues each due
//! action with its debt score; the queue deduplicates, so evaluating often is safe.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use floe_catalog::sql::tasks::{NewTask, TaskFilter, TaskStatus};
use floe_catalog::{Catalog, NamespaceIdent, SqlCatalog, TableIdent};
use floe_table::Table;
use serde_json::{Map, Value, json};
use tokio::sync::{broadcast, watch};

use super::Maintenance;
use super::action::Action;
use super::debt::TableDebt;
use super::policy::Policy;

/// Scheduler timing.
#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// How often every table is evaluated (default 5 min).
    pub sweep_interval: Duration,
    /// Committed tables are evaluated at most this often (default 2 s).
    pub debounce: Duration,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            sweep_interval: Duration::from_mins(5),
            debounce: Duration::from_secs(2),
        }
    }
}

/// The scheduler of one process.
#[derive(Debug, Clone)]
pub struct Scheduler {
    catalog: Arc<SqlCatalog>,
    maintenance: Maintenance,
    settings: SchedulerSettings,
}

/// What one evaluation enqueued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueue {
    /// The action.
    pub action: Action,
    /// The task id.
    pub task_id: i64,
    /// The task already existed.
    pub deduplicated: bool,
}

impl Scheduler {
    /// A scheduler over `catalog` enqueuing into `maintenance`'s queue.
    pub fn new(
        catalog: Arc<SqlCatalog>,
        maintenance: Maintenance,
        settings: SchedulerSettings,
    ) -> Self {
        Self {
            catalog,
            maintenance,
            settings,
        }
    }

    /// Runs until `shutdown` turns true: sweeps at once, then reacts to commits and
    /// sweeps periodically.
    pub fn spawn(self, shutdown: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(self.run(shutdown))
    }

    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut commits = self.catalog.subscribe_commits();
        let mut sweep = tokio::time::interval(self.settings.sweep_interval);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut debounce = tokio::time::interval(self.settings.debounce);
        debounce.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pending: HashSet<TableIdent> = HashSet::new();
        loop {
            if *shutdown.borrow() {
                break;
            }
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
                received = commits.recv() => match received {
                    Ok(ident) => {
                        pending.insert(ident);
                    }
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "maintenance scheduler lagged behind commits; sweeping");
                        self.sweep().await;
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        // No more commit notifications: keep sweeping.
                        commits = self.catalog.subscribe_commits();
                    }
                },
                _ = debounce.tick() => {
                    for ident in std::mem::take(&mut pending) {
                        self.evaluate_logged(&ident).await;
                    }
                }
                _ = sweep.tick() => self.sweep().await,
            }
        }
    }

    /// Evaluates every table of the catalog.
    pub async fn sweep(&self) {
        match self.all_tables().await {
            Ok(tables) => {
                for ident in tables {
                    self.evaluate_logged(&ident).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "maintenance sweep cannot list tables"),
        }
        self.maintenance.metrics().record_sweep();
    }

    async fn evaluate_logged(&self, ident: &TableIdent) {
        if let Err(e) = self.evaluate(ident).await {
            tracing::warn!(table = %ident, error = %e, "maintenance: cannot evaluate table");
        }
    }

    async fn all_tables(&self) -> floe_catalog::Result<Vec<TableIdent>> {
        let mut out = Vec::new();
        let mut stack: Vec<NamespaceIdent> = self.catalog.list_namespaces(None).await?;
        while let Some(ns) = stack.pop() {
            stack.extend(self.catalog.list_namespaces(Some(&ns)).await?);
            out.extend(self.catalog.list_tables(&ns).await?);
        }
        Ok(out)
    }

    /// Measures one table and enqueues what its policy asks for.
    pub async fn evaluate(&self, ident: &TableIdent) -> Result<Vec<Enqueue>, String> {
        let catalog: Arc<dyn Catalog> = self.catalog.clone();
        let store = Arc::clone(self.catalog.warehouse().store());
        let table = match Table::load(catalog, ident, store).await {
            Ok(t) => t,
            // Dropped since the notification: nothing to do.
            Err(e) if e.kind() == floe_catalog::ErrorKind::NoSuchTable => return Ok(Vec::new()),
            Err(e) => return Err(e.to_string()),
        };
        let policy = Policy::from_properties(table.properties())?;
        if !policy.enabled {
            return Ok(Vec::new());
        }
        let queue = self.maintenance.queue();
        let now = queue.now_ms();
        let debt = TableDebt::measure(&table, &policy, now)
            .await
            .map_err(|e| e.to_string())?;
        let last_orphan_run = queue
            .list(&TaskFilter {
                table: Some(ident.clone()),
                action: Some(Action::RemoveOrphanFiles.as_str().to_owned()),
                status: Some(TaskStatus::Succeeded),
                limit: Some(1),
            })
            .await
            .map_err(|e| e.to_string())?
            .first()
            .and_then(|t| t.finished_at_ms);
        // Never ran: the table's age stands in (a new table has no orphans yet).
        let orphan_age = last_orphan_run.map_or(debt.oldest_snapshot_age_ms, |t| now - t);
        let mut out = Vec::new();
        for (action, score) in debt.due(&policy, Some(orphan_age)) {
            if !super::run::runnable(action) {
                continue;
            }
            let task = NewTask::new(ident.clone(), action.as_str())
                .options(scheduled_options(action, &policy, &debt, now))
                .debt(score);
            let e = queue.enqueue(task).await.map_err(|e| e.to_string())?;
            if !e.deduplicated {
                self.maintenance
                    .metrics()
                    .record_enqueued(action, "scheduler");
                tracing::info!(table = %ident, %action, task = e.task_id, debt = score, "maintenance task enqueued");
            }
            out.push(Enqueue {
                action,
                task_id: e.task_id,
                deduplicated: e.deduplicated,
            });
        }
        Ok(out)
    }
}

/// The options of a scheduled task. Expiry by age expires what is older than
/// `max-age-ms`, keeping `retain-last`; expiry by count (more than `max-snapshots`)
/// expires everything but the newest `max(retain-last, max-snapshots / 2)` snapshots,
/// so that the next commits do not trigger it again at once.
fn scheduled_options(action: Action, policy: &Policy, debt: &TableDebt, now_ms: i64) -> Value {
    let mut options = Map::new();
    if action == Action::ExpireSnapshots {
        if debt.snapshots > policy.expire_max_snapshots {
            let keep = policy
                .expire_retain_last
                .max(policy.expire_max_snapshots / 2);
            options.insert("retain-last".into(), json!(keep));
            options.insert("older-than-ms".into(), json!(now_ms.max(0)));
        } else {
            options.insert("retain-last".into(), json!(policy.expire_retain_last));
            let older_than = now_ms.saturating_sub(policy.expire_max_age_ms);
            options.insert("older-than-ms".into(), json!(older_than.max(0)));
        }
    }
    Value::Object(options)
}
