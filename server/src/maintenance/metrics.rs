//! Per-action maintenance metrics, rendered into `/metrics` beside the server's own:
//! tasks enqueued (by the scheduler or on request), tasks finished by outcome, task
//! run time, and tasks running in this process.
//!
//! ```
//! use floe_server::maintenance::{Action, MaintenanceMetrics};
//! let m = MaintenanceMetrics::default();
//! m.record_enqueued(Action::Compact, "scheduler");
//! m.record_finished(Action::Compact, "succeeded", std::time::Duration::from_millis(20));
//! let text = m.render();
//! assert!(text.contains(r#"floe_maintenance_tasks_enqueued_total{action="compact",source="scheduler"} 1"#));
//! assert!(text.contains(r#"floe_maintenance_tasks_finished_total{action="compact",outcome="succeeded"} 1"#));
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use super::action::Action;

#[derive(Debug, Default)]
struct Series {
    enqueued: BTreeMap<(Action, &'static str), u64>,
    finished: BTreeMap<(Action, &'static str), u64>,
    seconds: BTreeMap<Action, (u64, f64)>,
    running: BTreeMap<Action, i64>,
    sweeps: u64,
}

/// The maintenance metrics of one process.
#[derive(Debug, Default)]
pub struct MaintenanceMetrics {
    series: Mutex<Series>,
}

impl MaintenanceMetrics {
    fn with<R>(&self, f: impl FnOnce(&mut Series) -> R) -> R {
        let mut s = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut s)
    }

    /// A task enqueued by `source` (`scheduler` or `request`).
    pub fn record_enqueued(&self, action: Action, source: &'static str) {
        self.with(|s| *s.enqueued.entry((action, source)).or_default() += 1);
    }

    /// A task started in this process.
    pub fn record_started(&self, action: Action) {
        self.with(|s| *s.running.entry(action).or_default() += 1);
    }

    /// A task that ran for `elapsed` ended with `outcome` (`succeeded`, `retrying`,
    /// `failed`, `lease-lost`).
    pub fn record_finished(&self, action: Action, outcome: &'static str, elapsed: Duration) {
        self.with(|s| {
            *s.finished.entry((action, outcome)).or_default() += 1;
            let e = s.seconds.entry(action).or_default();
            e.0 += 1;
            e.1 += elapsed.as_secs_f64();
            let r = s.running.entry(action).or_default();
            *r = (*r - 1).max(0);
        });
    }

    /// One scheduler sweep over every table.
    pub fn record_sweep(&self) {
        self.with(|s| s.sweeps += 1);
    }

    /// Tasks finished with `outcome` for `action` so far.
    pub fn finished(&self, action: Action, outcome: &'static str) -> u64 {
        self.with(|s| s.finished.get(&(action, outcome)).copied().unwrap_or(0))
    }

    /// The Prometheus text of the series.
    pub fn render(&self) -> String {
        self.with(|s| {
            let mut out = String::new();
            out.push_str("# HELP floe_maintenance_tasks_enqueued_total Maintenance tasks enqueued, by action and source.\n# TYPE floe_maintenance_tasks_enqueued_total counter\n");
            for ((a, source), n) in &s.enqueued {
                let _ = writeln!(
                    out,
                    "floe_maintenance_tasks_enqueued_total{{action=\"{a}\",source=\"{source}\"}} {n}"
                );
            }
            out.push_str("# HELP floe_maintenance_tasks_finished_total Maintenance task runs in this process, by action and outcome.\n# TYPE floe_maintenance_tasks_finished_total counter\n");
            for ((a, outcome), n) in &s.finished {
                let _ = writeln!(
                    out,
                    "floe_maintenance_tasks_finished_total{{action=\"{a}\",outcome=\"{outcome}\"}} {n}"
                );
            }
            out.push_str("# HELP floe_maintenance_task_seconds Run time of maintenance tasks, by action.\n# TYPE floe_maintenance_task_seconds summary\n");
            for (a, (count, sum)) in &s.seconds {
                let _ = writeln!(
                    out,
                    "floe_maintenance_task_seconds_sum{{action=\"{a}\"}} {sum}"
                );
                let _ = writeln!(
                    out,
                    "floe_maintenance_task_seconds_count{{action=\"{a}\"}} {count}"
                );
            }
            out.push_str("# HELP floe_maintenance_tasks_running Maintenance tasks running in this process, by action.\n# TYPE floe_maintenance_tasks_running gauge\n");
            for (a, n) in &s.running {
                let _ = writeln!(out, "floe_maintenance_tasks_running{{action=\"{a}\"}} {n}");
            }
            let _ = write!(
                out,
                "# HELP floe_maintenance_sweeps_total Scheduler sweeps over every table.\n# TYPE floe_maintenance_sweeps_total counter\nfloe_maintenance_sweeps_total {}\n",
                s.sweeps
            );
            out
        })
    }
}
