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
//! - [`metrics`]: per-action counters on `/metrics`.
//!
//! `floe serve` runs the scheduler and the workers unless `--no-maintenance`; `floe
//! worker` runs only workers (a deployment that separates them).

pub mod action;
pub mod debt;
pub mod metrics;
pub mod policy;
pub mod scheduler;
pub mod worker;

use std::sync::Arc;

use floe_catalog::SqlCatalog;
use floe_catalog::sql::tasks::{QueueConfig, TaskQueue};

pub use action::Action;
pub use metrics::MaintenanceMetrics;

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
