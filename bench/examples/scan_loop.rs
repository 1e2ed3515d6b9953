//! The table suite's full scan in a loop, for profilers (`perf record`):
//!
//! ```text
//! cargo run --release -p floe-bench --example scan_loop -- WORK_DIR floe|raw [ITERATIONS] [ROWS]
//! ```
//!
//! Writes the suite's partitioned table (`ROWS`, default 1,000,000, one file per day)
//! with Floe in a new folder under `WORK_DIR`, then scans it `ITERATIONS` times (default
//! 20) with Floe's `TableScan::to_arrow` or with arrow-rs's reader on each file in
//! turn, and prints the mean time per scan. The folder goes to
//! `WORK_DIR/.discarded/` (see `floe_bench::workdir`).

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(scan)) = (args.first(), args.get(1)) else {
        return Err("usage: scan_loop WORK_DIR floe|raw [ITERATIONS] [ROWS]".into());
    };
    if scan != "floe" && scan != "raw" {
        return Err(format!("scan_loop: `{scan}` is neither `floe` nor `raw`").into());
    }
    let iterations: usize = args.get(2).map_or(Ok(20), |s| s.parse())?;
    let rows: usize = args.get(3).map_or(Ok(1_000_000), |s| s.parse())?;
    let dir = std::path::PathBuf::from(dir);
    let case = floe_bench::workdir::fresh(&dir, "scan_loop")?;
    let mean = floe_bench::table_bench::scan_loop(&case, rows, scan, iterations)?;
    println!(
        "{scan}: {:.1} ms per scan of {rows} rows ({iterations} scans)",
        mean * 1000.0
    );
    floe_bench::workdir::discard(&dir, &case)?;
    Ok(())
}
