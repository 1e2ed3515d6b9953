//! The timing harness: Floe and its peer run alternately on the same input, round by
//! round (Floe, peer, Floe, peer, ...), after one untimed warm-up run of each; the result
//! keeps every round's time so the report can give medians, spread and ratios.
//!
//! Every run is measured twice: wall time (the headline figure) and the on-CPU time of
//! the process that ran it (all its threads), which other processes on a shared machine
//! disturb far less.
//!
//! ```
//! use floe_bench::harness::{Sample, alternate, time_mean_secs};
//! let floe = || time_mean_secs(1, || Ok((0..1000u64).sum::<u64>()));
//! let cmp = alternate(3, floe, || Ok(Sample { wall: 0.5, cpu: 0.5 })).unwrap();
//! assert_eq!(cmp.floe.len(), 3);
//! assert!(cmp.ratio() > 1.0);
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Errors of the benchmark: anything, with a message for the console.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The benchmark's result type.
pub type Result<T> = std::result::Result<T, BoxError>;

/// Wall time of one call of `f`, in seconds; the result is kept alive past the clock.
pub fn time_secs<T>(f: impl FnOnce() -> T) -> f64 {
    let start = Instant::now();
    let out = f();
    let elapsed = start.elapsed();
    black_box(out);
    elapsed.as_secs_f64()
}

/// One run's wall time and on-CPU time (of the process, all threads), in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// Wall-clock time.
    pub wall: f64,
    /// Time the process's threads spent on a CPU (NaN where the OS does not say).
    pub cpu: f64,
}

/// On-CPU time of the whole process in nanoseconds: every thread, including threads that
/// have exited (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`, the clock Python's
/// `time.process_time()` reads). Counts the threads a workload starts itself (a manifest
/// decoded on several threads, Tokio's blocking pool for file IO) as well as the
/// calling thread.
pub fn process_cpu_ns() -> Option<u64> {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    let secs = u64::try_from(t.tv_sec).ok()?;
    let nanos = u64::try_from(t.tv_nsec).ok()?;
    Some(secs * 1_000_000_000 + nanos)
}

/// On-CPU time of another process (e.g. a server the benchmark started) in nanoseconds:
/// every thread, including threads that have exited, from the `utime` and `stime` fields
/// of `/proc/<pid>/stat` (clock ticks, taken as 10 ms each, Linux's `USER_HZ`), so time
/// runs of ≥ 0.2 s.
pub fn pid_cpu_ns(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start at field 3, `state`.
    let rest = s.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10_000_000)
}

/// Runs `prepare`, then times `f` on its output (wall and whole-process on-CPU time,
/// [`process_cpu_ns`]) `inner` times, and returns the mean of one call and the last
/// result. `prepare` runs outside the clock before every call.
pub fn time_process<I, T>(
    inner: u32,
    mut prepare: impl FnMut() -> Result<I>,
    mut f: impl FnMut(I) -> Result<T>,
) -> Result<(Sample, T)> {
    let inner = inner.max(1);
    let mut wall = Duration::ZERO;
    let mut cpu = 0.0;
    let mut last = None;
    for _ in 0..inner {
        let input = prepare()?;
        drop(last.take());
        let cpu_start = process_cpu_ns();
        let start = Instant::now();
        let out = f(input)?;
        wall += start.elapsed();
        cpu += cpu_secs(cpu_start, process_cpu_ns());
        last = Some(black_box(out));
    }
    let last = last.ok_or("no run")?;
    Ok((
        Sample {
            wall: wall.as_secs_f64() / f64::from(inner),
            cpu: cpu / f64::from(inner),
        },
        last,
    ))
}

/// Seconds between two CPU-time readings (NaN if either is missing).
pub fn cpu_secs(start: Option<u64>, end: Option<u64>) -> f64 {
    match (start, end) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e9,
        _ => f64::NAN,
    }
}

/// Runs `f` `inner` times in a row and returns the mean time of one call.
///
/// For Floe workloads far shorter than the peer's: a round's Floe figure is the mean of
/// enough back-to-back calls to last a few tens of milliseconds, so timer resolution
/// and scheduler noise on a shared machine do not dominate it. The results are dropped
/// after the clock stops (the peer, too, frees its result outside its timer).
pub fn time_mean_secs<T>(inner: u32, mut f: impl FnMut() -> Result<T>) -> Result<Sample> {
    time_mean_prepared(inner, || (), |()| f())
}

/// Like [`time_mean_secs`], with an input made by `prepare` before each call, outside
/// the clock (for example a fresh copy of the data files a writer consumes).
pub fn time_mean_prepared<I, T>(
    inner: u32,
    mut prepare: impl FnMut() -> I,
    mut f: impl FnMut(I) -> Result<T>,
) -> Result<Sample> {
    let inner = inner.max(1);
    let mut wall = Duration::ZERO;
    let mut cpu = 0.0;
    let mut keep = Vec::with_capacity(inner as usize);
    for _ in 0..inner {
        let input = prepare();
        let cpu_start = process_cpu_ns();
        let start = Instant::now();
        let out = f(input)?;
        wall += start.elapsed();
        cpu += cpu_secs(cpu_start, process_cpu_ns());
        keep.push(black_box(out));
    }
    drop(keep);
    Ok(Sample {
        wall: wall.as_secs_f64() / f64::from(inner),
        cpu: cpu / f64::from(inner),
    })
}

/// How many back-to-back calls of a workload that takes `one` seconds make about `target`.
pub fn inner_runs(one: f64, target: Duration) -> u32 {
    if one <= 0.0 {
        return 1000;
    }
    (target.as_secs_f64() / one).ceil().clamp(1.0, 1000.0) as u32
}

/// The per-round times (seconds) of Floe and its peer on one workload.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Comparison {
    /// Floe's wall time of each round.
    pub floe: Vec<f64>,
    /// The peer's wall time of each round.
    pub peer: Vec<f64>,
    /// Floe's on-CPU time of each round.
    pub floe_cpu: Vec<f64>,
    /// The peer's on-CPU time of each round.
    pub peer_cpu: Vec<f64>,
}

impl Comparison {
    /// The peer's median wall time over Floe's: how many times faster Floe is.
    pub fn ratio(&self) -> f64 {
        median(&self.peer) / median(&self.floe)
    }

    /// The same ratio for on-CPU time.
    pub fn cpu_ratio(&self) -> f64 {
        median(&self.peer_cpu) / median(&self.floe_cpu)
    }

    /// The smallest and largest per-round wall-time ratio (peer / Floe of one round).
    pub fn ratio_spread(&self) -> (f64, f64) {
        ratio_spread(&self.floe, &self.peer)
    }

    /// The smallest and largest per-round on-CPU ratio.
    pub fn cpu_ratio_spread(&self) -> (f64, f64) {
        ratio_spread(&self.floe_cpu, &self.peer_cpu)
    }

    /// Whether on-CPU times were measured on both sides.
    pub fn has_cpu(&self) -> bool {
        !self.floe_cpu.is_empty()
            && self
                .floe_cpu
                .iter()
                .chain(&self.peer_cpu)
                .all(|t| t.is_finite())
    }
}

/// Rounds where either side measured no time (an on-CPU reading below a clock's
/// tick) have no ratio and are left out.
fn ratio_spread(floe: &[f64], peer: &[f64]) -> (f64, f64) {
    let ratios: Vec<f64> = floe
        .iter()
        .zip(peer)
        .filter(|(f, p)| **f > 0.0 && **p > 0.0)
        .map(|(f, p)| p / f)
        .collect();
    spread(&ratios)
}

/// Runs one untimed warm-up of each side, then `rounds` rounds of Floe then peer.
///
/// Each closure does one run and returns its times (the peer measures its own time
/// inside its process, so process start-up and IPC are not counted).
pub fn alternate(
    rounds: usize,
    mut floe: impl FnMut() -> Result<Sample>,
    mut peer: impl FnMut() -> Result<Sample>,
) -> Result<Comparison> {
    floe()?;
    peer()?;
    let mut cmp = Comparison::default();
    for _ in 0..rounds {
        let f = floe()?;
        let p = peer()?;
        cmp.floe.push(f.wall);
        cmp.floe_cpu.push(f.cpu);
        cmp.peer.push(p.wall);
        cmp.peer_cpu.push(p.cpu);
    }
    Ok(cmp)
}

/// The median (mean of the two middle values for an even count; NaN when empty).
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        f64::midpoint(v[n / 2 - 1], v[n / 2])
    }
}

/// The smallest and largest value (NaN, NaN when empty).
pub fn spread(xs: &[f64]) -> (f64, f64) {
    xs.iter()
        .fold((f64::NAN, f64::NAN), |(lo, hi), &x| (lo.min(x), hi.max(x)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_spread_leaves_out_rounds_without_a_reading() {
        let cmp = Comparison {
            floe_cpu: vec![0.02, 0.0, 0.04],
            peer_cpu: vec![0.04, 0.03, 0.04],
            ..Comparison::default()
        };
        assert_eq!(cmp.cpu_ratio_spread(), (1.0, 2.0));
        assert!(ratio_spread(&[0.0], &[0.0]).0.is_nan());
    }
}
