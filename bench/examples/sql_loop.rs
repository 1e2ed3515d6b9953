//! One query of the SQL suite in a loop, for profilers (`perf record`):
//!
//! ```text
//! cargo run --release -p floe-bench --example sql_loop -- WORK_DIR floe|listing Q1 [ITERATIONS]
//! ```
//!
//! Writes the suite's `lineitem` (1 M rows, 8 files), `orders` and `customer` tables
//! with Floe, then runs the query (named by a prefix, e.g. `Q1`) `ITERATIONS` times
//! (default 50) through Floe's tables or through DataFusion listing tables over the
//! same files, and prints the mean wall and on-CPU time per query. The work folder goes
//! to `WORK_DIR/.discarded/` (see `floe_bench::workdir`).

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: sql_loop WORK_DIR floe|listing QUERY [ITERATIONS]";
    let (Some(dir), Some(side), Some(query)) = (args.first(), args.get(1), args.get(2)) else {
        return Err(usage.into());
    };
    if side != "floe" && side != "listing" {
        return Err(format!("sql_loop: `{side}` is neither `floe` nor `listing`; {usage}").into());
    }
    let iterations: usize = args.get(3).map_or(Ok(50), |s| s.parse())?;
    let dir = std::path::PathBuf::from(dir);
    let work = floe_bench::workdir::fresh(&dir, "sql_loop")?;
    let (wall, cpu) = floe_bench::sql_bench::query_loop(&work, side, query, iterations)?;
    println!(
        "{query} {side}: {:.1} ms wall, {:.1} ms on-CPU per query ({iterations} times)",
        wall * 1000.0,
        cpu * 1000.0
    );
    floe_bench::workdir::discard(&dir, &work)?;
    Ok(())
}
