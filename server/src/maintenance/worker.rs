//! Workers: claim tasks from the queue, run them, record the outcome.
//!
//! A worker loops: claim (with a lease), run the task through its [`Runner`] while a
//! heartbeat extends the lease every third of it, then complete with the result JSON
//! or fail with the error (the queue retries with backoff). A worker that loses its
//! lease (it was too slow to heartbeat, another worker reclaimed the task) drops the
//! result. With nothing to claim it sleeps [`WorkerSettings::poll_interval`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_catalog::sql::tasks::{Task, TaskStatus};
use serde_json::Value;
use tokio::sync::watch;

use super::Maintenance;
use super::action::Action;

/// The future of one task run: the result JSON or an error message.
pub type RunFuture = Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;

/// Runs one claimed task.
pub type Runner = Arc<dyn Fn(Task) -> RunFuture + Send + Sync>;

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Worker loops in this process (default 2).
    pub workers: usize,
    /// Sleep between claims when the queue is empty (default 1 s).
    pub poll_interval: Duration,
    /// The worker id prefix (default: `<host>-<pid>`).
    pub id_prefix: String,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "floe".to_owned());
        Self {
            workers: 2,
            poll_interval: Duration::from_secs(1),
            id_prefix: format!("{host}-{}", std::process::id()),
        }
    }
}

/// Spawns `settings.workers` worker loops; they stop when `shutdown` turns true
/// (after finishing the task at hand).
pub fn spawn_workers(
    maintenance: &Maintenance,
    runner: &Runner,
    settings: &WorkerSettings,
    shutdown: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..settings.workers.max(1))
        .map(|i| {
            let worker = Worker {
                id: format!("{}-{i}", settings.id_prefix),
                maintenance: maintenance.clone(),
                runner: Arc::clone(runner),
                poll_interval: settings.poll_interval,
            };
            tokio::spawn(worker.run(shutdown.clone()))
        })
        .collect()
}

struct Worker {
    id: String,
    maintenance: Maintenance,
    runner: Runner,
    poll_interval: Duration,
}

impl Worker {
    async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let worked = match self.maintenance.queue().claim(&self.id).await {
                Ok(Some(task)) => {
                    self.run_task(task).await;
                    true
                }
                Ok(None) => false,
                Err(e) => {
                    tracing::warn!(worker = %self.id, error = %e, "maintenance: cannot claim");
                    false
                }
            };
            if !worked {
                tokio::select! {
                    () = tokio::time::sleep(self.poll_interval) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    async fn run_task(&self, task: Task) {
        let queue = self.maintenance.queue();
        let metrics = self.maintenance.metrics();
        let id = task.task_id;
        let action = Action::parse(&task.action);
        let started = Instant::now();
        if let Ok(a) = action {
            metrics.record_started(a);
        }
        tracing::info!(worker = %self.id, task = id, table = %task.table, action = %task.action, attempt = task.attempts, "maintenance task started");
        let beat = (queue.config().lease / 3).max(Duration::from_millis(10));
        let mut run = (self.runner)(task);
        let mut ticker = tokio::time::interval(beat);
        ticker.tick().await;
        let outcome = loop {
            tokio::select! {
                out = &mut run => break Some(out),
                _ = ticker.tick() => match queue.heartbeat(id, &self.id).await {
                    Ok(true) => {}
                    Ok(false) => break None,
                    Err(e) => tracing::warn!(task = id, error = %e, "maintenance: heartbeat failed"),
                },
            }
        };
        let label = match outcome {
            None => {
                tracing::warn!(task = id, "maintenance task lost its lease; abandoned");
                "lease-lost"
            }
            Some(Ok(result)) => match queue.complete(id, &self.id, &result).await {
                Ok(true) => {
                    tracing::info!(
                        task = id,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "maintenance task succeeded"
                    );
                    "succeeded"
                }
                Ok(false) => "lease-lost",
                Err(e) => {
                    tracing::warn!(task = id, error = %e, "maintenance: cannot record success");
                    "lease-lost"
                }
            },
            Some(Err(message)) => match queue.fail(id, &self.id, &message).await {
                Ok(Some(TaskStatus::Failed)) => {
                    tracing::warn!(task = id, error = %message, "maintenance task failed for good");
                    "failed"
                }
                Ok(Some(_)) => {
                    tracing::info!(task = id, error = %message, "maintenance task failed; will retry");
                    "retrying"
                }
                Ok(None) => "lease-lost",
                Err(e) => {
                    tracing::warn!(task = id, error = %e, "maintenance: cannot record failure");
                    "lease-lost"
                }
            },
        };
        if let Ok(a) = action {
            metrics.record_finished(a, label, started.elapsed());
        }
    }
}
