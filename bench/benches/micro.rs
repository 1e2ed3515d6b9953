//! Criterion micro-benchmarks of the format core's hot paths, so that a regression
//! shows up per commit (`cargo bench -p floe-bench --bench micro`):
//!
//! - Avro manifest decode (`Manifest::parse`) and encode (`ManifestWriter`), 1,000
//!   data files of the benchmark table with full metrics (`floe_bench::data`);
//! - table metadata JSON parse (`TableMetadata::from_json_slice`) and write
//!   (`to_json_vec`), 1,000 snapshots;
//! - partition transforms `bucket[16]`, `truncate[4]` and `day` over 1,000 values;
//! - pruning: `ManifestEvaluator` over partition summaries and
//!   `InclusiveMetricsEvaluator` over the data files' column metrics.
//!
//! Throughput is reported per element (entries, values, files). Inputs are built
//! before timing; outputs are dropped outside the measured closure where criterion
//! allows (`iter_with_large_drop`).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_main};
use floe_spec::expr::{
    ColumnStats, Expression, InclusiveMetricsEvaluator, ManifestEvaluator, Reference,
};
use floe_spec::manifest::{
    DataFile, Manifest, ManifestContentType, ManifestMetadata, ManifestWriter,
};
use floe_spec::manifest_list::FieldSummary;
use floe_spec::table_metadata::{FormatVersion, TableMetadata};
use floe_spec::transform::Transform;
use floe_spec::values::Datum;

/// Data files per manifest in the manifest benchmarks.
const FILES: usize = 1_000;
/// Snapshots in the metadata benchmarks.
const SNAPSHOTS: usize = 1_000;
/// Values per transform benchmark.
const VALUES: usize = 1_000;

fn metadata() -> ManifestMetadata {
    ManifestMetadata {
        schema: Arc::new(floe_bench::data::schema().expect("benchmark schema")),
        partition_spec: floe_bench::data::partition_spec().expect("benchmark spec"),
        format_version: FormatVersion::V2,
        content: ManifestContentType::Data,
    }
}

fn encode(
    metadata: &ManifestMetadata,
    files: Vec<DataFile>,
    path: &str,
) -> (Vec<u8>, Vec<FieldSummary>) {
    let mut w = ManifestWriter::new(metadata.clone(), Some(1));
    for f in files {
        w.add(f).expect("add data file");
    }
    let (bytes, entry) = w.finish(path).expect("finish manifest");
    (bytes, entry.partitions.unwrap_or_default())
}

fn manifests(c: &mut Criterion) {
    let metadata = metadata();
    let files = floe_bench::data::data_files(FILES);
    let (bytes, _) = encode(&metadata, files.clone(), "m.avro");
    let mut g = c.benchmark_group("manifest");
    g.throughput(Throughput::Elements(FILES as u64));
    g.bench_function("decode", |b| {
        b.iter_with_large_drop(|| Manifest::parse(black_box(&bytes)).expect("parse manifest"));
    });
    g.bench_function("encode", |b| {
        b.iter_batched(
            || files.clone(),
            |files| encode(&metadata, files, "m.avro"),
            BatchSize::LargeInput,
        );
    });
    g.finish();
}

fn metadata_json(c: &mut Criterion) {
    let bytes = floe_bench::data::table_metadata_json(SNAPSHOTS);
    let parsed = TableMetadata::from_json_slice(&bytes).expect("parse metadata");
    let mut g = c.benchmark_group("metadata_json");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("parse", |b| {
        b.iter_with_large_drop(|| {
            TableMetadata::from_json_slice(black_box(&bytes)).expect("parse metadata")
        });
    });
    g.bench_function("write", |b| {
        b.iter_with_large_drop(|| black_box(&parsed).to_json_vec().expect("write metadata"));
    });
    g.finish();
}

fn transforms(c: &mut Criterion) {
    let mut rng = floe_bench::data::Rng::new(7);
    let longs: Vec<Datum> = (0..VALUES)
        .map(|_| Datum::Long(rng.positive_i64()))
        .collect();
    let strings: Vec<Datum> = (0..VALUES).map(|_| Datum::String(rng.uuid())).collect();
    let timestamps: Vec<Datum> = (0..VALUES)
        .map(|_| {
            Datum::Timestamptz(floe_bench::data::EPOCH_2024_MS * 1_000 + rng.range(0, 1 << 45))
        })
        .collect();
    let mut g = c.benchmark_group("transform");
    g.throughput(Throughput::Elements(VALUES as u64));
    for (name, transform, values) in [
        ("bucket16_long", Transform::Bucket(16), &longs),
        ("bucket16_string", Transform::Bucket(16), &strings),
        ("truncate4_string", Transform::Truncate(4), &strings),
        ("truncate4_long", Transform::Truncate(4), &longs),
        ("day_timestamptz", Transform::Day, &timestamps),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                for v in values {
                    black_box(transform.apply(black_box(v)).expect("transform"));
                }
            });
        });
    }
    g.finish();
}

fn pruning(c: &mut Criterion) {
    let metadata = metadata();
    let schema = metadata.schema.clone();
    let files = floe_bench::data::data_files(FILES);
    let partition_type = metadata
        .partition_spec
        .partition_type(&schema)
        .expect("partition type");
    // One manifest per 50 files, as a manifest list would summarise them.
    let summaries: Vec<Vec<FieldSummary>> = files
        .chunks(50)
        .enumerate()
        .map(|(i, chunk)| encode(&metadata, chunk.to_vec(), &format!("m{i}.avro")).1)
        .collect();
    // Ten days of the thirty in the data, one country; amount and user id ranges.
    let day0 = 19_723 + 10;
    let partition_filter = Reference::new("event_ts_day")
        .greater_than_or_eq(Datum::Date(day0))
        .and(Reference::new("event_ts_day").less_than(Datum::Date(day0 + 10)))
        .and(Reference::new("country").equal_to(Datum::String("DE".into())));
    let manifest_eval =
        ManifestEvaluator::for_partition_filter(&partition_filter, &partition_type, true)
            .expect("bind partition filter");
    let row_filter: Expression = Reference::new("user_id")
        .greater_than(Datum::Long(500_000_000))
        .and(Reference::new("amount").less_than(Datum::Double(10.0)))
        .and(Reference::new("event_type").equal_to(Datum::String("purchase".into())));
    let metrics_eval =
        InclusiveMetricsEvaluator::try_new(&schema, &row_filter, true).expect("bind filter");
    let mut g = c.benchmark_group("pruning");
    g.throughput(Throughput::Elements(summaries.len() as u64));
    g.bench_function("manifest_evaluator", |b| {
        b.iter(|| {
            summaries
                .iter()
                .filter(|s| manifest_eval.eval(black_box(s)))
                .count()
        });
    });
    g.throughput(Throughput::Elements(files.len() as u64));
    g.bench_function("inclusive_metrics_evaluator", |b| {
        b.iter(|| {
            files
                .iter()
                .filter(|f| {
                    metrics_eval.eval(&ColumnStats {
                        record_count: f.record_count,
                        value_counts: &f.value_counts,
                        null_value_counts: &f.null_value_counts,
                        nan_value_counts: &f.nan_value_counts,
                        lower_bounds: &f.lower_bounds,
                        upper_bounds: &f.upper_bounds,
                    })
                })
                .count()
        });
    });
    g.finish();
}

/// The group in a private module: `criterion_group!` defines an undocumented `pub fn`.
mod group {
    use super::{manifests, metadata_json, pruning, transforms};

    criterion::criterion_group!(benches, manifests, metadata_json, transforms, pruning);
}

criterion_main!(group::benches);
