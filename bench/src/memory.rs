//! Peak memory (resident set size) of a workload, on both sides.
//!
//! Linux keeps a process's peak RSS in `VmHWM` of `/proc/self/status`, and writing `5`
//! to `/proc/self/clear_refs` resets that mark to the current RSS. So a workload's peak
//! is measured by resetting the mark, running it, and reading `VmHWM`: [`measure`] here,
//! and the same in every Python peer (`bench/peers/_serve.py` adds `peak_rss_kib` and
//! `start_rss_kib` to each reply, read back by
//! [`PythonPeer::last_memory`](crate::peer::PythonPeer::last_memory)). Where the mark
//! cannot be reset the peak is the process's lifetime peak (`ru_maxrss` on the Python
//! side) and is flagged as such.
//!
//! The report shows, per workload and side, the peak RSS and the peak above the RSS at
//! the start (what the workload itself added; the Floe process also holds the suite's
//! inputs), the largest over the rounds, warm-up included ([`memory_section`]).
//!
//! ```
//! use floe_bench::memory::{PeakRss, measure};
//! let (v, mem) = measure(|| Ok(vec![1_u8; 1 << 20].len())).unwrap();
//! assert_eq!(v, 1 << 20);
//! if let Some(m) = mem {
//!     assert!(m.peak_kib >= m.start_kib);
//! }
//! let _ = PeakRss::max(None, mem);
//! ```

use std::fmt::Write as _;

use serde_json::Value;

use crate::harness::{Comparison, Result, Sample, alternate};
use crate::report::thousands;

/// A workload's peak RSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeakRss {
    /// RSS when the workload started, KiB.
    pub start_kib: u64,
    /// Peak RSS while it ran, KiB.
    pub peak_kib: u64,
    /// The peak could be reset at the start (else it is the process's lifetime peak).
    pub reset: bool,
}

impl PeakRss {
    /// What the workload added above its starting RSS, KiB.
    pub fn added_kib(&self) -> u64 {
        self.peak_kib.saturating_sub(self.start_kib)
    }

    /// The larger of two measurements, for the worst round: by what the workload added
    /// above its start, then by peak.
    pub fn max(a: Option<Self>, b: Option<Self>) -> Option<Self> {
        match (a, b) {
            (Some(a), Some(b)) => Some(
                if (b.added_kib(), b.peak_kib) > (a.added_kib(), a.peak_kib) {
                    b
                } else {
                    a
                },
            ),
            (a, b) => a.or(b),
        }
    }

    /// Reads `start_rss_kib`, `peak_rss_kib` and `peak_rss_reset` of a peer's reply.
    pub fn from_reply(reply: &Value) -> Option<Self> {
        Some(PeakRss {
            start_kib: reply.get("start_rss_kib")?.as_u64()?,
            peak_kib: reply.get("peak_rss_kib")?.as_u64()?,
            reset: reply
                .get("peak_rss_reset")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }
}

/// A peer's reply without the memory fields [`PeakRss::from_reply`] reads, to compare
/// its content with Floe's.
pub fn without_rss(reply: &Value) -> Value {
    let mut out = reply.clone();
    if let Some(m) = out.as_object_mut() {
        for k in ["start_rss_kib", "peak_rss_kib", "peak_rss_reset"] {
            m.remove(k);
        }
    }
    out
}

/// The `kB` value of a `/proc/self/status` line (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// This process's RSS now, KiB (`VmRSS`).
pub fn rss_kib() -> Option<u64> {
    status_kib("VmRSS")
}

/// This process's peak RSS since the last [`reset_peak`], KiB (`VmHWM`).
pub fn peak_kib() -> Option<u64> {
    status_kib("VmHWM")
}

/// Resets the peak RSS mark to the current RSS; false where the OS does not allow it.
pub fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Starts a measurement: resets the peak and notes the RSS.
pub fn start() -> Option<(u64, bool)> {
    let reset = reset_peak();
    Some((rss_kib()?, reset))
}

/// Ends a measurement begun by [`start`].
pub fn finish(started: Option<(u64, bool)>) -> Option<PeakRss> {
    let (start_kib, reset) = started?;
    Some(PeakRss {
        start_kib,
        peak_kib: peak_kib()?.max(start_kib),
        reset,
    })
}

/// Runs `f` and returns its result with its peak RSS (`None` where `/proc` is missing).
/// Other threads of the process count too: run nothing else meanwhile.
pub fn measure<T>(f: impl FnOnce() -> Result<T>) -> Result<(T, Option<PeakRss>)> {
    let started = start();
    let out = f()?;
    Ok((out, finish(started)))
}

/// [`alternate`], also measuring each side's peak RSS: `floe` is measured here around
/// each call, `peer` returns its own measurement (for a [`PythonPeer`]:
/// `peer.timed(&req)` then `peer.last_memory()`). Returns the comparison and the
/// largest measurement of each side ([`PeakRss::max`]) over all rounds, the warm-ups
/// included (the warm-up is the run that grows the process; later runs reuse memory it
/// freed).
///
/// [`PythonPeer`]: crate::peer::PythonPeer
pub fn alternate_tracked(
    rounds: usize,
    mut floe: impl FnMut() -> Result<Sample>,
    mut peer: impl FnMut() -> Result<(Sample, Option<PeakRss>)>,
) -> Result<(Comparison, Option<PeakRss>, Option<PeakRss>)> {
    let (mut floe_mem, mut peer_mem) = (None, None);
    let cmp = alternate(
        rounds,
        || {
            let started = start();
            let s = floe()?;
            floe_mem = PeakRss::max(floe_mem, finish(started));
            Ok(s)
        },
        || {
            let (s, m) = peer()?;
            peer_mem = PeakRss::max(peer_mem, m);
            Ok(s)
        },
    )?;
    Ok((cmp, floe_mem, peer_mem))
}

/// One row of the memory table: a workload's peak RSS on each side (the largest over
/// the rounds).
#[derive(Debug, Clone)]
pub struct MemoryRow {
    /// The workload ("compaction").
    pub workload: String,
    /// Floe's side.
    pub floe: Option<PeakRss>,
    /// The peer's name ("arrow-rs", "PyIceberg").
    pub peer: String,
    /// The peer's side (`None`: not measured).
    pub peer_rss: Option<PeakRss>,
}

fn mib(kib: u64) -> String {
    format!("{} MiB", thousands(kib.div_ceil(1024)))
}

fn cells(m: Option<PeakRss>) -> (String, String) {
    match m {
        None => ("–".to_owned(), "–".to_owned()),
        Some(m) => (
            format!("{}{}", mib(m.peak_kib), if m.reset { "" } else { " ¹" }),
            mib(m.added_kib()),
        ),
    }
}

/// A `## Peak memory` section (Markdown) for `rows`, to push onto a report's sections.
pub fn memory_section(rows: &[MemoryRow], note: &str) -> String {
    let mut s = String::from("## Peak memory (RSS)\n\n");
    s.push_str(
        "Peak resident set size of each side while the workload ran (the largest over the \
         rounds, the warm-up included), and how much of it the workload added above the RSS it started \
         with. Measured by resetting the kernel's peak mark (`/proc/self/clear_refs`) \
         before the run and reading `VmHWM` after it, in the Floe process and in the peer's \
         process alike.",
    );
    if !note.is_empty() {
        s.push(' ');
        s.push_str(note);
    }
    s.push_str(
        "\n\n| workload | peer | Floe peak | Floe added | peer peak | peer added |\n\
         |---|---|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let (fp, fa) = cells(r.floe);
        let (pp, pa) = cells(r.peer_rss);
        let _ = writeln!(
            s,
            "| {} | {} | {fp} | {fa} | {pp} | {pa} |",
            r.workload, r.peer
        );
    }
    if rows
        .iter()
        .flat_map(|r| [r.floe, r.peer_rss])
        .flatten()
        .any(|m| !m.reset)
    {
        s.push_str("\n¹ the peak mark could not be reset: the process's lifetime peak.\n");
    }
    s
}
