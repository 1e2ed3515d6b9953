//! Maintenance the server runs by itself: a scheduler that measures each table's debt
//! and enqueues tasks in the catalog's durable queue
//! ([`floe_catalog::sql::tasks::TaskQueue`]), and workers that claim the tasks and run
//! the table actions (compaction, snapshot expiry, orphan removal, manifest rewrite).
//!
//! - [`action`]: the actions and their options, as named on the wire.
//! - [`policy`]: the `floe.maintenance.*` table properties and their defaults.
//! - [`debt`]: what a table owes, measured from its metadata and manifest list.
//! - [`scheduler`]: reacts to commits and to time, enqueues work.
//! - [`worker`]: claims tasks, keeps their leases alive, records results.
//! - [`run`]: runs a task with the table actions.
//! - [`metrics`]: per-action counters on `/metrics`.
//! - [`client`]: `floe maintenance`, the HTTP client of the endpoints.
//!
//! `floe serve` runs the scheduler and the workers unless `--no-maintenance`; `floe
//! worker` runs only workers (a deployment that separates them).

pub mod action;
pub mod client;
pub mod debt;
pub mod metrics;
pub mod policy;
pub mod run;
pub mod scheduler;
pub mod worker;

use std::sync::Arc;

use floe_catalog::SqlCatalog;
use floe_catalog::sql::tasks::{QueueConfig, TaskQueue};

pub use action::Action;
pub use metrics::MaintenanceMetrics;

use scheduler::{Scheduler, SchedulerSettings};
use tokio::sync::watch;
use worker::WorkerSettings;

/// The queue and the metrics shared by the REST handlers, the scheduler and the
/// workers of one process. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Maintenance {
    queue: TaskQueue,
    metrics: Arc<MaintenanceMetrics>,
}

impl Maintenance {
    /// Maintenance over `catalog`'s task queue with `config`.
    pub fn new(catalog: SqlCatalog, config: QueueConfig) -> Self {
        Self {
            queue: TaskQueue::new(catalog, config),
            metrics: Arc::new(MaintenanceMetrics::default()),
        }
    }

    /// The task queue.
    pub fn queue(&self) -> &TaskQueue {
        &self.queue
    }

    /// The metrics.
    pub fn metrics(&self) -> &Arc<MaintenanceMetrics> {
        &self.metrics
    }
}

/// Starts the maintenance of a process: the scheduler (unless `scheduler` is `None`,
/// as in `floe worker`) and `workers.workers` workers running the table actions. They
/// stop when `shutdown` turns true; await the handles to let running tasks finish.
pub fn start(
    catalog: &Arc<SqlCatalog>,
    maintenance: &Maintenance,
    scheduler: Option<SchedulerSettings>,
    workers: &WorkerSettings,
    shutdown: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut handles = Vec::new();
    if let Some(settings) = scheduler {
        handles.push(
            Scheduler::new(Arc::clone(catalog), maintenance.clone(), settings)
                .spawn(shutdown.clone()),
        );
    }
    let runner = run::action_runner(Arc::clone(catalog));
    handles.extend(worker::spawn_workers(
        maintenance,
        &runner,
        workers,
        shutdown,
    ));
    handles
}
