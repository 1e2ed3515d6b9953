//! `floe-bench`: runs a benchmark suite and writes its Markdown report.
//!
//! ```text
//! floe-bench spec|table [--quick] [--python PATH] [--work-dir DIR] [--out-dir DIR] [--command TEXT]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use floe_bench::spec_bench::{self, Options};
use floe_bench::table_bench;

const USAGE: &str = "usage: floe-bench spec|table [--quick] [--python PATH] [--work-dir DIR] \
                     [--out-dir DIR] [--command TEXT]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse(&args) {
        Ok((suite, opts)) => match suite.run(&opts) {
            Ok(path) => {
                eprintln!("report written to {}", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("floe-bench: {e}");
                ExitCode::FAILURE
            }
        },
        Err(msg) => {
            eprintln!("floe-bench: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// A suite of workloads, each with its own peer script and report.
#[derive(Debug, Clone, Copy)]
enum Suite {
    Spec,
    Table,
}

impl Suite {
    fn run(self, opts: &Options) -> floe_bench::harness::Result<PathBuf> {
        match self {
            Suite::Spec => spec_bench::run(opts),
            Suite::Table => table_bench::run(opts),
        }
    }
}

fn parse(args: &[String]) -> Result<(Suite, Options), String> {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut opts = Options {
        quick: false,
        python: std::env::var_os("FLOE_BENCH_PYTHON")
            .map_or_else(|| "python3".into(), PathBuf::from),
        peer_script: manifest_dir.join("peers/pyiceberg_spec.py"),
        work_dir: std::env::temp_dir().join("floe-bench"),
        out_dir: manifest_dir.join("results"),
        command: "floe-bench spec".to_owned(),
    };
    let mut it = args.iter();
    let suite = match it.next().map(String::as_str) {
        Some("spec") => Suite::Spec,
        Some("table") => {
            opts.peer_script = manifest_dir.join("peers/pyiceberg_table.py");
            "floe-bench table".clone_into(&mut opts.command);
            Suite::Table
        }
        Some(other) => return Err(format!("unknown suite {other:?}")),
        None => return Err("no suite given".to_owned()),
    };
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--quick" => opts.quick = true,
            "--python" => opts.python = value("--python")?.into(),
            "--work-dir" => opts.work_dir = value("--work-dir")?.into(),
            "--out-dir" => opts.out_dir = value("--out-dir")?.into(),
            "--command" => opts.command = value("--command")?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((suite, opts))
}
