//! A criterion-free loop over one hot path, for profilers (`perf record`, callgrind):
//!
//! ```text
//! cargo run --release -p floe-bench --example hot_loop -- manifest FILE [ITERATIONS]
//! cargo run --release -p floe-bench --example hot_loop -- metadata FILE [ITERATIONS]
//! cargo run --release -p floe-bench --example hot_loop -- encode N [ITERATIONS]
//! ```
//!
//! Prints the mean wall and on-CPU time per iteration (and per entry for manifests);
//! results are dropped after the clock stops, as in `floe-bench spec`.

use std::any::Any;
use std::time::{Duration, Instant};

use floe_spec::manifest::{Manifest, ManifestContentType, ManifestMetadata, ManifestWriter};
use floe_spec::table_metadata::{FormatVersion, TableMetadata};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// One run of the workload; its result is dropped after the clock stops.
type Workload = Box<dyn FnMut() -> Result<Box<dyn Any>>>;

/// On-CPU nanoseconds of this thread (0 where `/proc/thread-self/schedstat` is absent).
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(what), Some(input)) = (args.first(), args.get(1)) else {
        return Err(
            "usage: hot_loop manifest|metadata FILE [ITERATIONS] | encode N [ITERATIONS]".into(),
        );
    };
    let iterations: u32 = args.get(2).map_or(Ok(20), |s| s.parse())?;
    let (items, mut run): (usize, Workload) = match what.as_str() {
        "manifest" => {
            let bytes = std::fs::read(input)?;
            let n = Manifest::parse(&bytes)?.entries.len();
            (n, Box::new(move || Ok(Box::new(Manifest::parse(&bytes)?))))
        }
        "metadata" => {
            let bytes = std::fs::read(input)?;
            (
                1,
                Box::new(move || Ok(Box::new(TableMetadata::from_json_slice(&bytes)?))),
            )
        }
        "encode" => {
            let n: usize = input.parse()?;
            let files = floe_bench::data::data_files(n);
            let metadata = ManifestMetadata {
                schema: std::sync::Arc::new(floe_bench::data::schema()?),
                partition_spec: floe_bench::data::partition_spec()?,
                format_version: FormatVersion::V2,
                content: ManifestContentType::Data,
            };
            (
                n,
                Box::new(move || {
                    let mut w = ManifestWriter::new(metadata.clone(), Some(1));
                    for f in files.clone() {
                        w.add(f)?;
                    }
                    Ok(Box::new(w.finish("m.avro")?))
                }),
            )
        }
        other => return Err(format!("unknown workload {other}").into()),
    };
    drop(run()?);
    let (mut wall, mut cpu) = (Duration::ZERO, 0);
    for _ in 0..iterations {
        let (start, start_cpu) = (Instant::now(), cpu_ns());
        let out = std::hint::black_box(run()?);
        wall += start.elapsed();
        cpu += cpu_ns() - start_cpu;
        drop(out);
    }
    let wall = wall.as_secs_f64() / f64::from(iterations);
    let cpu = cpu as f64 / 1e9 / f64::from(iterations);
    println!(
        "{what}: {:.3} ms wall, {:.3} ms on-CPU per iteration; {:.3} µs on-CPU per item ({items} items)",
        wall * 1e3,
        cpu * 1e3,
        cpu * 1e6 / items as f64
    );
    Ok(())
}
