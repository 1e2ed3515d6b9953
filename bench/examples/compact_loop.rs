//! The maintenance suite's compaction workload alone, for profilers (`perf record`):
//!
//! ```text
//! cargo run --release -p floe-bench --example compact_loop -- WORK_DIR [FILES] [ROWS_PER_FILE] [ROUNDS]
//! ```
//!
//! Writes `FILES` (default 2,000) Parquet files of `ROWS_PER_FILE` (default 100) rows
//! on a fresh SQLite catalog under `WORK_DIR` (which must not exist), then runs
//! `RewriteDataFiles` `ROUNDS` (default 5) times, each on a fresh table naming those
//! files, and prints each round's wall and on-CPU time. `WORK_DIR` is left in place.

use std::path::PathBuf;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        return Err("usage: compact_loop WORK_DIR [FILES] [ROWS_PER_FILE] [ROUNDS]".into());
    };
    if dir.exists() {
        return Err(format!("{} exists; give a new folder", dir.display()).into());
    }
    let files: usize = args.get(1).map_or(Ok(2_000), |s| s.parse())?;
    let rows: usize = args.get(2).map_or(Ok(100), |s| s.parse())?;
    let rounds: usize = args.get(3).map_or(Ok(5), |s| s.parse())?;
    for (i, s) in floe_bench::maintenance_bench::compaction_once(&dir, files, rows, rounds)?
        .iter()
        .enumerate()
    {
        println!("round {i}: {:.3} s wall, {:.3} s on-CPU", s.wall, s.cpu);
    }
    Ok(())
}
