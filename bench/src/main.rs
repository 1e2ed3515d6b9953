//! `floe-bench`: runs a benchmark suite and writes its Markdown report.
//!
//! ```text
//! floe-bench spec|catalog|table|maintenance|server|stream|sql [--quick] [--python PATH] [--work-dir DIR] [--out-dir DIR]
//!                         [--command TEXT] [--postgres-url URL]
//! ```
//!
//! `catalog` needs a PostgreSQL server whose role may create databases: `--postgres-url`,
//! else `FLOE_BENCH_POSTGRES_URL`, else `FLOE_TEST_POSTGRES_URL` (what `scripts/test` sets),
//! else the local server `scripts/test` starts. `server` starts the `floe` binary found
//! beside `floe-bench` (`--floe-bin PATH` to choose another).

use std::path::PathBuf;
use std::process::ExitCode;

use floe_bench::{
    catalog_bench, maintenance_bench, server_bench, spec_bench, sql_bench, stream_bench,
    table_bench,
};

const USAGE: &str = "usage: floe-bench spec|catalog|table|maintenance|server|stream|sql [--quick] [--python PATH] [--work-dir DIR] \
                     [--out-dir DIR] [--command TEXT] [--postgres-url URL] [--floe-bin PATH]";

/// The PostgreSQL `scripts/test` starts.
const LOCAL_POSTGRES: &str = "postgres://floe:floe@127.0.0.1:5432/floe_test";

enum Suite {
    Spec(spec_bench::Options),
    Catalog(catalog_bench::Options),
    Table(spec_bench::Options),
    Maintenance(spec_bench::Options),
    Server(server_bench::Options),
    Stream(spec_bench::Options),
    Sql(spec_bench::Options),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let suite = match parse(&args) {
        Ok(suite) => suite,
        Err(msg) => {
            eprintln!("floe-bench: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match &suite {
        Suite::Spec(opts) => spec_bench::run(opts),
        Suite::Catalog(opts) => catalog_bench::run(opts),
        Suite::Table(opts) => table_bench::run(opts),
        Suite::Maintenance(opts) => maintenance_bench::run(opts),
        Suite::Server(opts) => server_bench::run(opts),
        Suite::Stream(opts) => stream_bench::run(opts),
        Suite::Sql(opts) => sql_bench::run(opts),
    };
    match result {
        Ok(path) => {
            eprintln!("report written to {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("floe-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn parse(args: &[String]) -> Result<Suite, String> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut it = args.iter();
    let suite = match it.next().map(String::as_str) {
        Some(s @ ("spec" | "catalog" | "table" | "maintenance" | "server" | "stream" | "sql")) => {
            s.to_owned()
        }
        Some(other) => return Err(format!("unknown suite {other:?}")),
        None => return Err("no suite given".to_owned()),
    };
    let mut quick = false;
    let mut python =
        std::env::var_os("FLOE_BENCH_PYTHON").map_or_else(|| "python3".into(), PathBuf::from);
    let mut work_dir = std::env::temp_dir().join("floe-bench");
    let mut out_dir = manifest_dir.join("results");
    let mut command = format!("floe-bench {suite}");
    let mut floe_bin = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("floe")))
        .unwrap_or_else(|| PathBuf::from("floe"));
    let mut postgres_url = std::env::var("FLOE_BENCH_POSTGRES_URL")
        .or_else(|_| std::env::var("FLOE_TEST_POSTGRES_URL"))
        .unwrap_or_else(|_| LOCAL_POSTGRES.to_owned());
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--quick" => quick = true,
            "--python" => python = value("--python")?.into(),
            "--work-dir" => work_dir = value("--work-dir")?.into(),
            "--out-dir" => out_dir = value("--out-dir")?.into(),
            "--command" => command = value("--command")?,
            "--postgres-url" => postgres_url = value("--postgres-url")?,
            "--floe-bin" => floe_bin = value("--floe-bin")?.into(),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if suite == "server" {
        return Ok(Suite::Server(server_bench::Options {
            quick,
            python,
            peer_script: manifest_dir.join("peers/pyiceberg_server.py"),
            floe_bin,
            work_dir,
            out_dir,
            command,
        }));
    }
    Ok(if suite == "maintenance" {
        // Compaction is compared with arrow-rs in the same process; planning and scans
        // with PyIceberg and DuckDB in the peer process.
        Suite::Maintenance(spec_bench::Options {
            quick,
            python,
            peer_script: manifest_dir.join("peers/maintenance_peers.py"),
            work_dir,
            out_dir,
            command,
        })
    } else if suite == "sql" {
        // No peer process: the baseline is DataFusion in the same process.
        Suite::Sql(spec_bench::Options {
            quick,
            python,
            peer_script: PathBuf::new(),
            work_dir,
            out_dir,
            command,
        })
    } else if suite == "spec" || suite == "table" || suite == "stream" {
        let opts = spec_bench::Options {
            quick,
            python,
            peer_script: manifest_dir.join(format!("peers/pyiceberg_{suite}.py")),
            work_dir,
            out_dir,
            command,
        };
        match suite.as_str() {
            "spec" => Suite::Spec(opts),
            "stream" => Suite::Stream(opts),
            _ => Suite::Table(opts),
        }
    } else {
        Suite::Catalog(catalog_bench::Options {
            quick,
            python,
            peer_script: manifest_dir.join("peers/pyiceberg_catalog.py"),
            work_dir,
            out_dir,
            command,
            postgres_url,
        })
    })
}
