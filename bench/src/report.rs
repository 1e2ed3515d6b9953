//! The Markdown report: machine, versions, one table row per workload (medians, min–max
//! spread and the Floe/peer ratio), then the checks and notes on fairness.

use std::fmt::Write as _;

use crate::harness::{Comparison, median, spread};
use crate::machine::Machine;

/// How a workload's times are shown.
#[derive(Debug, Clone, PartialEq)]
pub enum Measure {
    /// Items per second (for example manifest entries), `items` per run.
    Throughput {
        /// Items handled by one run.
        items: u64,
        /// What an item is, plural ("entries").
        unit: &'static str,
    },
    /// Milliseconds per run.
    Latency,
}

/// One workload's outcome.
#[derive(Debug, Clone)]
pub struct WorkloadResult {
    /// Short name ("manifest decode").
    pub name: String,
    /// The input, in words ("Floe-written manifest, 10,000 entries, 4.1 MB").
    pub input: String,
    /// How to show the times.
    pub measure: Measure,
    /// The per-round times.
    pub cmp: Comparison,
}

/// A whole report.
#[derive(Debug, Clone)]
pub struct Report {
    /// Heading.
    pub title: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The command that produced it.
    pub command: String,
    /// Name of the peer ("PyIceberg 0.12.0").
    pub peer: String,
    /// Number of timed rounds.
    pub rounds: usize,
    /// The machine.
    pub machine: Machine,
    /// Version lines (rustc, Python, libraries, git commit).
    pub versions: Vec<String>,
    /// The workloads.
    pub results: Vec<WorkloadResult>,
    /// Workloads compared with another peer than `peer` (e.g. deltalake beside
    /// PyIceberg), each naming its peer: shown after `results` by [`peer_tables`].
    pub other_peers: Vec<PeerResult>,
    /// Further sections (Markdown, each starting with its heading), after the results.
    pub sections: Vec<String>,
    /// Targets and whether they were met.
    pub targets: Vec<String>,
    /// Cross-checks that were run (both sides read the same content).
    pub checks: Vec<String>,
    /// How the comparison was set up, and what is not equal about it.
    pub notes: Vec<String>,
}

impl Report {
    /// Renders the report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# {} ({})\n", self.title, self.date);
        let _ = writeln!(s, "Command: `{}`\n", self.command);
        let mut others: Vec<&str> = Vec::new();
        for p in &self.other_peers {
            if !others.contains(&p.peer.as_str()) {
                others.push(&p.peer);
            }
        }
        let peers = if others.is_empty() {
            self.peer.clone()
        } else {
            format!("{} (and {})", self.peer, others.join(", "))
        };
        let _ = writeln!(
            s,
            "Floe and {peers} run alternately on the same files (Floe, peer, Floe, peer, ...): \
             one untimed warm-up each, then {} timed rounds. Wall time: median, with min–max over \
             the rounds; ratio = peer median time / Floe median time (how many times faster Floe \
             is), and the min–max of the per-round ratios.\n",
            self.rounds
        );
        s.push_str("## Machine\n\n");
        s.push_str(&self.machine.to_markdown());
        for v in &self.versions {
            let _ = writeln!(s, "- {v}");
        }
        s.push_str("\n## Results\n\n");
        let _ = writeln!(
            s,
            "| workload | input | Floe median | Floe min–max | {p} median | {p} min–max | Floe/{p} | per-round ratio min–max |",
            p = self.peer_short()
        );
        s.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
        for r in &self.results {
            let (f_med, f_lo, f_hi) = show(&r.measure, &r.cmp.floe);
            let (p_med, p_lo, p_hi) = show(&r.measure, &r.cmp.peer);
            let (r_lo, r_hi) = r.cmp.ratio_spread();
            let _ = writeln!(
                s,
                "| {} | {} | {f_med} | {f_lo} – {f_hi} | {p_med} | {p_lo} – {p_hi} | **{}** | {r_lo:.1}× – {r_hi:.1}× |",
                r.name,
                r.input,
                times(r.cmp.ratio(), 1)
            );
        }
        if self.results.iter().all(|r| r.cmp.has_cpu()) {
            let _ = writeln!(
                s,
                "\nOn-CPU time of the process in the same runs, all its threads (Floe: \
                 `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`; {p}: `time.process_time()`). Time \
                 spent waiting for a CPU on this shared machine is not in it, so it moves less \
                 from run to run; where Floe uses two cores, its CPU time exceeds its wall time:\n",
                p = self.peer_short()
            );
            let _ = writeln!(
                s,
                "| workload | input | Floe median | Floe min–max | {p} median | {p} min–max | Floe/{p} | per-round ratio min–max |",
                p = self.peer_short()
            );
            s.push_str("|---|---|---:|---:|---:|---:|---:|---:|\n");
            for r in &self.results {
                let (f_med, f_lo, f_hi) = show(&r.measure, &r.cmp.floe_cpu);
                let (p_med, p_lo, p_hi) = show(&r.measure, &r.cmp.peer_cpu);
                let (r_lo, r_hi) = r.cmp.cpu_ratio_spread();
                let _ = writeln!(
                    s,
                    "| {} | {} | {f_med} | {f_lo} – {f_hi} | {p_med} | {p_lo} – {p_hi} | **{}** | {r_lo:.1}× – {r_hi:.1}× |",
                    r.name,
                    r.input,
                    times(r.cmp.cpu_ratio(), 1)
                );
            }
        }
        s.push_str("\nRaw per-round wall times (seconds, in run order):\n\n");
        for r in &self.results {
            let _ = writeln!(
                s,
                "- {} ({}): Floe {}; {} {}",
                r.name,
                r.input,
                raw(&r.cmp.floe),
                self.peer_short(),
                raw(&r.cmp.peer)
            );
        }
        if !self.other_peers.is_empty() {
            let _ = writeln!(s, "\n### Against {}\n", others.join(", "));
            s.push_str(&peer_tables(
                &self.other_peers,
                "On-CPU time in the same runs (Floe: the running thread's; the peer: \
                 `time.thread_time()`):",
            ));
        }
        for section in &self.sections {
            s.push('\n');
            s.push_str(section);
        }
        if !self.targets.is_empty() {
            s.push_str("\n## Targets\n\n");
            for t in &self.targets {
                let _ = writeln!(s, "- {t}");
            }
        }
        if !self.checks.is_empty() {
            s.push_str("\n## Cross-checks\n\n");
            for c in &self.checks {
                let _ = writeln!(s, "- {c}");
            }
        }
        if !self.notes.is_empty() {
            s.push_str("\n## How the comparison is set up, and what is not equal\n\n");
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }

    fn peer_short(&self) -> &str {
        self.peer.split_whitespace().next().unwrap_or(&self.peer)
    }
}

/// Median, fastest and slowest of a series, formatted for the measure. For throughput the
/// spread runs from the slowest round to the fastest. Rounds that measured no time (an
/// on-CPU reading below a clock's tick) are left out of the spread.
fn show(measure: &Measure, times: &[f64]) -> (String, String, String) {
    let med = median(times);
    let measured: Vec<f64> = times.iter().copied().filter(|t| *t > 0.0).collect();
    let (lo, hi) = spread(&measured);
    match measure {
        Measure::Throughput { items, unit } => {
            let rate = |t: f64| {
                if t > 0.0 {
                    format!("{} {unit}/s", human(*items as f64 / t))
                } else {
                    "– (under the tick)".to_owned()
                }
            };
            (rate(med), rate(hi), rate(lo))
        }
        Measure::Latency => {
            let ms = |t: f64| format!("{} ms", sig3(t * 1000.0));
            (ms(med), ms(lo), ms(hi))
        }
    }
}

/// A ratio as `1.23×`; `–` when it has no value (a side measured no time).
fn times(ratio: f64, digits: usize) -> String {
    if ratio.is_finite() && ratio > 0.0 {
        format!("{ratio:.digits$}×")
    } else {
        "–".to_owned()
    }
}

fn raw(times: &[f64]) -> String {
    times
        .iter()
        .map(|t| format!("{t:.5}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// 1234567 -> "1.23 M", 45678 -> "45.7 k".
pub fn human(x: f64) -> String {
    if x >= 1e9 {
        format!("{} G", sig3(x / 1e9))
    } else if x >= 1e6 {
        format!("{} M", sig3(x / 1e6))
    } else if x >= 1e3 {
        format!("{} k", sig3(x / 1e3))
    } else {
        sig3(x)
    }
}

/// Three significant digits.
pub fn sig3(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else if x >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

/// 12345 -> "12,345".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A workload compared with a peer of its own, for suites with more than one peer (the
/// `table` suite compares with raw arrow-rs and with PyIceberg).
#[derive(Debug, Clone)]
pub struct PeerResult {
    /// The peer's short name ("arrow-rs", "PyIceberg").
    pub peer: String,
    /// The workload.
    pub result: WorkloadResult,
}

/// The Markdown tables of [`PeerResult`]s: wall time, then on-CPU time as described by
/// `cpu_note` (if measured on both sides), then the raw per-round wall times.
pub fn peer_tables(results: &[PeerResult], cpu_note: &str) -> String {
    let mut s = String::new();
    let header = "| workload | input | peer | Floe median | Floe min–max | peer median | peer min–max | Floe/peer | per-round ratio min–max |\n\
                  |---|---|---|---:|---:|---:|---:|---:|---:|\n";
    let row = |s: &mut String, p: &PeerResult, cpu: bool| {
        let r = &p.result;
        let (floe, peer) = if cpu {
            (&r.cmp.floe_cpu, &r.cmp.peer_cpu)
        } else {
            (&r.cmp.floe, &r.cmp.peer)
        };
        let (f_med, f_lo, f_hi) = show(&r.measure, floe);
        let (p_med, p_lo, p_hi) = show(&r.measure, peer);
        let ((r_lo, r_hi), ratio) = if cpu {
            (r.cmp.cpu_ratio_spread(), r.cmp.cpu_ratio())
        } else {
            (r.cmp.ratio_spread(), r.cmp.ratio())
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {f_med} | {f_lo} – {f_hi} | {p_med} | {p_lo} – {p_hi} | **{}** | {r_lo:.2}× – {r_hi:.2}× |",
            r.name,
            r.input,
            p.peer,
            times(ratio, 2)
        );
    };
    s.push_str(header);
    for p in results {
        row(&mut s, p, false);
    }
    if results.iter().all(|p| p.result.cmp.has_cpu()) {
        let _ = writeln!(s, "\n{cpu_note}\n");
        s.push_str(header);
        for p in results {
            row(&mut s, p, true);
        }
    }
    s.push_str("\nRaw per-round wall times (seconds, in run order):\n\n");
    for p in results {
        let r = &p.result;
        let _ = writeln!(
            s,
            "- {} ({}): Floe {}; {} {}",
            r.name,
            r.input,
            raw(&r.cmp.floe),
            p.peer,
            raw(&r.cmp.peer)
        );
    }
    s
}

/// Today's date (UTC), `YYYY-MM-DD`.
pub fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}
