//! One group-commit stream case of `floe-bench stream`, for profilers (`perf record`):
//!
//! ```text
//! cargo run --release -p floe-bench --example stream_group -- WORK_DIR [WRITERS] [SECONDS]
//! ```
//!
//! Runs `WRITERS` (default 16) stream writers on one `GroupCommitter` for `SECONDS`
//! (default 3) on a fresh SQLite catalog in a new folder under `WORK_DIR`, exactly as
//! the suite's group-commit case, and prints batches/s, p50/p99 ack latency, batches
//! per commit and manifests per 1,000 batches. Like the suites it deletes nothing: the
//! folder goes to `WORK_DIR/.discarded/` (see `floe_bench::workdir`); delete that
//! yourself when done.

use std::path::PathBuf;
use std::time::Duration;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        return Err("usage: stream_group WORK_DIR [WRITERS] [SECONDS]".into());
    };
    let writers: usize = args.get(1).map_or(Ok(16), |s| s.parse())?;
    let seconds: f64 = args.get(2).map_or(Ok(3.0), |s| s.parse())?;
    let case = floe_bench::workdir::fresh(&dir, "stream_group")?;
    let run = floe_bench::stream_bench::group_case_once(
        &case,
        writers,
        Duration::from_secs_f64(seconds),
    )?;
    let mut lat = run.latencies.clone();
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| {
        lat.get(((lat.len().max(1) - 1) as f64 * p) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!(
        "{writers} writers: {:.0} batches/s ({} acked in {:.2} s), p50 {:.1} ms, p99 {:.1} ms, \
         {:.1} batches/commit, {} manifests ({:.1} per 1,000 batches)",
        run.rate(),
        run.acked,
        run.elapsed,
        q(0.5) * 1000.0,
        q(0.99) * 1000.0,
        run.acked as f64 / run.commits.max(1) as f64,
        run.manifests,
        run.manifests as f64 * 1000.0 / run.acked.max(1) as f64
    );
    floe_bench::workdir::discard(&dir, &case)?;
    Ok(())
}
