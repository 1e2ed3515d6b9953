//! The table suite's full scan or its writes in a loop, for profilers
//! (`perf record`):
//!
//! ```text
//! cargo run --release -p floe-bench --example table_loop -- WORK_DIR scan|write floe|raw|partitioned [ITERATIONS] [ROWS]
//! ```
//!
//! `scan` writes the suite's partitioned table (`ROWS`, default 1,000,000, one file per
//! day) with Floe, then scans it `ITERATIONS` times (default 20) with Floe's
//! `TableScan::to_arrow` or with arrow-rs's reader on each file in turn. `write` writes
//! the suite's rows to one file `ITERATIONS` times with Floe's `RollingFileWriter` or
//! arrow-rs's `ArrowWriter`, or (`partitioned`) with Floe's `PartitionedWriter` by
//! `day(event_ts)` into one file per day. Prints the mean time per scan or write. The
//! work folder goes to `WORK_DIR/.discarded/` (see `floe_bench::workdir`).

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: table_loop WORK_DIR scan|write floe|raw|partitioned [ITERATIONS] [ROWS]";
    let (Some(dir), Some(case), Some(side)) = (args.first(), args.get(1), args.get(2)) else {
        return Err(usage.into());
    };
    if !["floe", "raw", "partitioned"].contains(&side.as_str()) {
        return Err(format!("table_loop: `{side}` is not `floe`, `raw` or `partitioned`").into());
    }
    let iterations: usize = args.get(3).map_or(Ok(20), |s| s.parse())?;
    let rows: usize = args.get(4).map_or(Ok(1_000_000), |s| s.parse())?;
    let dir = std::path::PathBuf::from(dir);
    let work = floe_bench::workdir::fresh(&dir, "table_loop")?;
    let mean = match case.as_str() {
        "scan" => floe_bench::table_bench::scan_loop(&work, rows, side, iterations)?,
        "write" => floe_bench::table_bench::write_loop(&work, rows, side, iterations)?,
        other => return Err(format!("table_loop: unknown case `{other}`; {usage}").into()),
    };
    println!(
        "{case} {side}: {:.1} ms per {case} of {rows} rows ({iterations} times)",
        mean * 1000.0
    );
    floe_bench::workdir::discard(&dir, &work)?;
    Ok(())
}
