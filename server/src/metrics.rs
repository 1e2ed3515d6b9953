//! Server metrics in the Prometheus text exposition format (version 0.0.4), served at
//! `/metrics`.
//!
//! The format is a handful of lines per series, so Floe writes it itself instead of
//! pulling in a metrics framework: request counts by route template, method and
//! status; a latency histogram by route and method; commits, commit conflicts (409),
//! commits rebased by the server and metrics reports received; and, when the catalog has one, the metadata cache's
//! hits and misses.
//!
//! ```
//! use floe_server::metrics::Metrics;
//! let m = Metrics::default();
//! m.record_request("/v1/config", "GET", 200, std::time::Duration::from_millis(3));
//! m.record_commit(true);
//! let text = m.render(&[]);
//! assert!(text.contains(r#"floe_http_requests_total{route="/v1/config",method="GET",status="200"} 1"#));
//! assert!(text.contains("floe_commits_total 1"));
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency histogram buckets, in seconds.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum_secs: f64,
}

/// By route, then method (nested so that recording looks keys up by `&str` and
/// allocates only for a new route or method).
type ByRoute<T> = BTreeMap<String, BTreeMap<String, T>>;

#[derive(Debug, Default)]
struct Series {
    /// Counts by status.
    requests: ByRoute<BTreeMap<u16, u64>>,
    latency: ByRoute<Histogram>,
    reports: BTreeMap<String, u64>,
}

/// The entry of `route` and `method`, created on first use.
fn entry<'a, T: Default>(map: &'a mut ByRoute<T>, route: &str, method: &str) -> &'a mut T {
    if !map.contains_key(route) {
        map.insert(route.to_owned(), BTreeMap::new());
    }
    let by_method = map
        .get_mut(route)
        .unwrap_or_else(|| unreachable!("inserted above"));
    if !by_method.contains_key(method) {
        by_method.insert(method.to_owned(), T::default());
    }
    by_method
        .get_mut(method)
        .unwrap_or_else(|| unreachable!("inserted above"))
}

/// A gauge or counter supplied at render time (e.g. cache statistics).
#[derive(Debug, Clone)]
pub struct ExtraMetric {
    /// The metric name.
    pub name: &'static str,
    /// `counter` or `gauge`.
    pub kind: &'static str,
    /// The help text.
    pub help: &'static str,
    /// The value.
    pub value: f64,
}

/// The metrics registry of one server.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<Series>,
    commits: AtomicU64,
    conflicts: AtomicU64,
    commit_errors: AtomicU64,
    rebased: AtomicU64,
    plans: AtomicU64,
    plan_tasks: AtomicU64,
}

impl Metrics {
    /// Records one answered request.
    pub fn record_request(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let mut s = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *entry(&mut s.requests, route, method)
            .entry(status)
            .or_default() += 1;
        let h = entry(&mut s.latency, route, method);
        h.count += 1;
        h.sum_secs += secs;
        for (i, le) in LATENCY_BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.buckets[i] += 1;
            }
        }
    }

    /// Records a commit: `true` if it committed, `false` if it was refused with a
    /// conflict (409 CommitFailed).
    pub fn record_commit(&self, committed: bool) {
        if committed {
            self.commits.fetch_add(1, Ordering::Relaxed);
        } else {
            self.conflicts.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records a commit that went through after the server rebased it onto a newer
    /// branch head (a blind append that would otherwise have been a 409).
    pub fn record_rebased_commit(&self) {
        self.rebased.fetch_add(1, Ordering::Relaxed);
    }

    /// Commits rebased by the server so far.
    pub fn rebased_commits(&self) -> u64 {
        self.rebased.load(Ordering::Relaxed)
    }

    /// Records a commit that failed for another reason than a conflict.
    pub fn record_commit_error(&self) {
        self.commit_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a server-side scan plan that produced `tasks` file scan tasks.
    pub fn record_plan(&self, tasks: usize) {
        self.plans.fetch_add(1, Ordering::Relaxed);
        self.plan_tasks.fetch_add(tasks as u64, Ordering::Relaxed);
    }

    /// Counts a metrics report of `report_type` sent by a client.
    pub fn record_report(&self, report_type: &str) {
        let mut s = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *s.reports.entry(report_type.to_owned()).or_default() += 1;
    }

    /// Commits so far.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Commit conflicts so far.
    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    /// The exposition text, with `extra` metrics appended.
    pub fn render(&self, extra: &[ExtraMetric]) -> String {
        let s = self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = String::new();
        out.push_str(
            "# HELP floe_http_requests_total HTTP requests answered, by route template, method and status.\n\
             # TYPE floe_http_requests_total counter\n",
        );
        for (route, by_method) in &s.requests {
            for (method, by_status) in by_method {
                for (status, n) in by_status {
                    let _ = writeln!(
                        out,
                        "floe_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                        escape(route),
                        escape(method)
                    );
                }
            }
        }
        out.push_str(
            "# HELP floe_http_request_duration_seconds Time to answer HTTP requests.\n\
             # TYPE floe_http_request_duration_seconds histogram\n",
        );
        for (route, method, h) in s
            .latency
            .iter()
            .flat_map(|(r, m)| m.iter().map(move |(m, h)| (r, m, h)))
        {
            let labels = format!("route=\"{}\",method=\"{}\"", escape(route), escape(method));
            for (le, n) in LATENCY_BUCKETS.iter().zip(h.buckets) {
                let _ = writeln!(
                    out,
                    "floe_http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "floe_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
                 floe_http_request_duration_seconds_sum{{{labels}}} {}\n\
                 floe_http_request_duration_seconds_count{{{labels}}} {}",
                h.count, h.sum_secs, h.count
            );
        }
        let counters = [
            (
                "floe_commits_total",
                "Table commits that changed a table (one per table of a transaction).",
                self.commits.load(Ordering::Relaxed),
            ),
            (
                "floe_commit_conflicts_total",
                "Commits refused with 409 CommitFailed (failed requirement or lost race).",
                self.conflicts.load(Ordering::Relaxed),
            ),
            (
                "floe_commit_errors_total",
                "Commits that failed for another reason than a conflict.",
                self.commit_errors.load(Ordering::Relaxed),
            ),
            (
                "floe_commits_rebased_total",
                "Blind appends rebased onto a newer branch head instead of answering 409.",
                self.rebased.load(Ordering::Relaxed),
            ),
            (
                "floe_scan_plans_total",
                "Server-side scan plans answered.",
                self.plans.load(Ordering::Relaxed),
            ),
            (
                "floe_scan_plan_tasks_total",
                "File scan tasks returned by server-side scan plans.",
                self.plan_tasks.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        out.push_str(
            "# HELP floe_metrics_reports_total Scan and commit reports sent by clients.\n\
             # TYPE floe_metrics_reports_total counter\n",
        );
        for (ty, n) in &s.reports {
            let _ = writeln!(
                out,
                "floe_metrics_reports_total{{type=\"{}\"}} {n}",
                escape(ty)
            );
        }
        for m in extra {
            let _ = writeln!(
                out,
                "# HELP {0} {1}\n# TYPE {0} {2}\n{0} {3}",
                m.name, m.help, m.kind, m.value
            );
        }
        out
    }
}

/// Escapes a label value (backslash, double quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_is_cumulative() {
        let m = Metrics::default();
        m.record_request("/r", "GET", 200, Duration::from_micros(100));
        m.record_request("/r", "GET", 200, Duration::from_millis(30));
        m.record_request("/r", "GET", 404, Duration::from_secs(10));
        let t = m.render(&[]);
        assert!(t.contains(r#"floe_http_request_duration_seconds_bucket{route="/r",method="GET",le="0.0005"} 1"#), "{t}");
        assert!(t.contains(
            r#"floe_http_request_duration_seconds_bucket{route="/r",method="GET",le="0.05"} 2"#
        ));
        assert!(t.contains(
            r#"floe_http_request_duration_seconds_bucket{route="/r",method="GET",le="+Inf"} 3"#
        ));
        assert!(t.contains(r#"floe_http_requests_total{route="/r",method="GET",status="404"} 1"#));
    }

    #[test]
    fn labels_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
