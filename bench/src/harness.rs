//! The timing harness: Floe and its peer run alternately on the same input, round by
//! round (Floe, peer, Floe, peer, ...), after one untimed warm-up run of each; the result
//! keeps every round's time so the report can give medians, spread and ratios.
//!
//! ```
//! use floe_bench::harness::{alternate, time_secs};
//! let cmp = alternate(3, || Ok(time_secs(|| (0..1000u64).sum::<u64>())), || Ok(0.5)).unwrap();
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

/// Runs `f` `inner` times in a row and returns the mean wall time of one call (seconds).
///
/// For Floe workloads far shorter than the peer's: a round's Floe figure is the mean of
/// enough back-to-back calls to last a few tens of milliseconds, so timer resolution
/// and scheduler noise on a shared machine do not dominate it. The results are dropped
/// after the clock stops (the peer, too, frees its result outside its timer).
pub fn time_mean_secs<T>(inner: u32, mut f: impl FnMut() -> Result<T>) -> Result<f64> {
    time_mean_prepared(inner, || (), |()| f())
}

/// Like [`time_mean_secs`], with an input made by `prepare` before each call, outside
/// the clock (for example a fresh copy of the data files a writer consumes).
pub fn time_mean_prepared<I, T>(
    inner: u32,
    mut prepare: impl FnMut() -> I,
    mut f: impl FnMut(I) -> Result<T>,
) -> Result<f64> {
    let inner = inner.max(1);
    let mut total = Duration::ZERO;
    let mut keep = Vec::with_capacity(inner as usize);
    for _ in 0..inner {
        let input = prepare();
        let start = Instant::now();
        let out = f(input)?;
        total += start.elapsed();
        keep.push(black_box(out));
    }
    drop(keep);
    Ok(total.as_secs_f64() / f64::from(inner))
}

/// How many back-to-back calls of a workload that takes `one` seconds make about `target`.
pub fn inner_runs(one: f64, target: Duration) -> u32 {
    if one <= 0.0 {
        return 1000;
    }
    (target.as_secs_f64() / one).ceil().clamp(1.0, 1000.0) as u32
}

/// The per-round times (seconds) of Floe and its peer on one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Floe's time of each round.
    pub floe: Vec<f64>,
    /// The peer's time of each round.
    pub peer: Vec<f64>,
}

impl Comparison {
    /// The peer's median time over Floe's: how many times faster Floe is (> 1 is faster).
    pub fn ratio(&self) -> f64 {
        median(&self.peer) / median(&self.floe)
    }

    /// The smallest and largest per-round ratio (peer time / Floe time of the same round).
    pub fn ratio_spread(&self) -> (f64, f64) {
        let ratios: Vec<f64> = self
            .floe
            .iter()
            .zip(&self.peer)
            .map(|(f, p)| p / f)
            .collect();
        spread(&ratios)
    }
}

/// Runs one untimed warm-up of each side, then `rounds` rounds of Floe then peer.
///
/// Each closure does one run and returns its wall time in seconds (the peer measures its
/// own time inside its process, so process start-up and IPC are not counted).
pub fn alternate(
    rounds: usize,
    mut floe: impl FnMut() -> Result<f64>,
    mut peer: impl FnMut() -> Result<f64>,
) -> Result<Comparison> {
    floe()?;
    peer()?;
    let mut cmp = Comparison {
        floe: Vec::with_capacity(rounds),
        peer: Vec::with_capacity(rounds),
    };
    for _ in 0..rounds {
        cmp.floe.push(floe()?);
        cmp.peer.push(peer()?);
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
