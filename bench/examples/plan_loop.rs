//! A loop over scan planning on the `floe-bench table` planning table, for profilers:
//!
//! ```text
//! cargo run --release -p floe-bench --example plan_loop -- METADATA_JSON [ITERATIONS]
//! ```
//!
//! Plans `event_ts` in [day 50 12:00, day 51 12:00) (the bench's 1%-selective filter) and
//! prints the mean wall and on-CPU (all threads) time per plan.

use std::sync::Arc;
use std::time::Instant;

use floe_spec::expr::Reference;
use floe_spec::table_metadata::TableMetadata;
use floe_spec::values::Datum;
use floe_table::scan::{ObjectStoreFileRead, TableScanBuilder};
use object_store::local::LocalFileSystem;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

const EPOCH_2024_US: i64 = 1_704_067_200_000_000;
const DAY_US: i64 = 86_400_000_000;

/// On-CPU time of the process (all threads), in seconds (10 ms ticks).
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .first()
        .ok_or("usage: plan_loop METADATA_JSON [ITERATIONS]")?;
    let iterations: u32 = args.get(1).map_or(Ok(20), |s| s.parse())?;
    let metadata = Arc::new(TableMetadata::from_json_slice(&std::fs::read(path)?)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let io = Arc::new(ObjectStoreFileRead::new(Arc::new(LocalFileSystem::new())));
    let lo = EPOCH_2024_US + 50 * DAY_US + DAY_US / 2;
    let hi = lo + DAY_US;
    let plan = || -> Result<usize> {
        let scan = TableScanBuilder::new(Arc::clone(&metadata), io.clone())
            .filter(
                Reference::new("event_ts")
                    .greater_than_or_eq(Datum::Timestamp(lo))
                    .and(Reference::new("event_ts").less_than(Datum::Timestamp(hi))),
            )
            .build()?;
        Ok(rt.block_on(scan.plan_files())?.len())
    };
    let files = plan()?;
    let (start, cpu0) = (Instant::now(), cpu_s());
    for _ in 0..iterations {
        plan()?;
    }
    let n = f64::from(iterations);
    println!(
        "{files} files planned; {:.2} ms wall, {:.2} ms on-CPU per plan",
        start.elapsed().as_secs_f64() * 1e3 / n,
        (cpu_s() - cpu0) * 1e3 / n
    );
    Ok(())
}
