//! `floe-bench maintenance`: compaction against a raw Parquet rewrite of the same files,
//! and planning and full-scan time on a many-small-file table before and after
//! compaction.
//!
//! Workloads (quick: 2,000 files of 500 rows, 3 rounds; full: 10,000 files, 5 rounds):
//! - compaction throughput: `RewriteDataFiles` on a table whose snapshot holds the small
//!   files (each round a fresh table naming the same files, so every round does the
//!   same work: plan, read with the scan reader, write with the partitioned writer,
//!   commit the `replace` snapshot through `SqlCatalog` on SQLite) against arrow-rs's
//!   `ParquetRecordBatchReader` reading the same files in the same order into one
//!   `ArrowWriter` with the identical `WriterProperties`. Target: Floe ≥ 0.8× raw.
//! - planning (`TableScan::plan_files`) and full scan (`TableScan::to_arrow`) of a table
//!   built by appends of 20 files each (so also one manifest per 20 files), before and
//!   after `RewriteDataFiles` and `RewriteManifests`.

use std::fmt::Write as _;
use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef as ArrowSchemaRef;
use floe_catalog::{Catalog, NamespaceIdent, SqlCatalog, TableCreation, TableIdent};
use floe_spec::manifest::DataFile;
use floe_spec::schema::Schema;
use floe_table::maintenance::{RewriteDataFiles, RewriteManifests};
use floe_table::table::Table;
use floe_table::writer::{WriterContext, default_store_path};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use tokio::runtime::Runtime;

use crate::harness::{Result, median, spread};
use crate::machine::Machine;
use crate::report::{thousands, today};
use crate::spec_bench::Options;
use crate::table_bench::{input_batches, table_schema_json};

/// Rows per small file.
const ROWS_PER_FILE: usize = 500;
/// Files per append of the many-small-file table.
const FILES_PER_APPEND: usize = 20;

struct Env {
    rt: Runtime,
    catalog: Arc<SqlCatalog>,
    store: Arc<dyn ObjectStore>,
    ns: NamespaceIdent,
    tables: std::cell::Cell<usize>,
}

impl Env {
    fn create(&self, schema: &Schema) -> Result<Table> {
        let n = self.tables.get();
        self.tables.set(n + 1);
        let mut creation = TableCreation::new(format!("t{n}"), schema.clone());
        creation.properties = [
            ("write.parquet.compression-codec", "zstd"),
            ("write.parquet.compression-level", "3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        self.rt
            .block_on(self.catalog.create_table(&self.ns, creation))?;
        let ident = TableIdent::new(self.ns.clone(), format!("t{n}"))?;
        let catalog: Arc<dyn Catalog> = self.catalog.clone();
        Ok(self
            .rt
            .block_on(Table::load(catalog, &ident, self.store.clone()))?)
    }
}

/// Writes each batch as its own data file, appending `FILES_PER_APPEND` per commit.
fn build_small_file_table(env: &Env, schema: &Schema, batches: &[RecordBatch]) -> Result<Table> {
    let mut t = env.create(schema)?;
    for chunk in batches.chunks(FILES_PER_APPEND) {
        t = env.rt.block_on(async {
            let mut tx = t.new_transaction();
            let mut files = Vec::new();
            for b in chunk {
                files.extend(tx.write_batches(std::slice::from_ref(b)).await?);
            }
            tx.fast_append(files);
            tx.commit().await
        })?;
    }
    Ok(t)
}

fn live_data_files(env: &Env, t: &Table) -> Result<Vec<DataFile>> {
    Ok(env
        .rt
        .block_on(t.live_entries(None))?
        .into_iter()
        .map(|e| e.data_file)
        .collect())
}

/// Reads `files` with arrow-rs and writes one file with `ArrowWriter`; returns rows.
fn raw_rewrite(files: &[DataFile], out: &PathBuf, ctx: &WriterContext) -> Result<u64> {
    let mut writer: Option<ArrowWriter<BufWriter<File>>> = None;
    let mut rows = 0_u64;
    for f in files {
        let path = format!("/{}", default_store_path(&f.file_path)?);
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path)?)?.build()?;
        for batch in reader {
            let batch = batch?;
            rows += batch.num_rows() as u64;
            if writer.is_none() {
                writer = Some(ArrowWriter::try_new(
                    BufWriter::new(File::create(out)?),
                    batch.schema(),
                    Some(ctx.parquet_properties()),
                )?);
            }
            if let Some(w) = writer.as_mut() {
                w.write(&batch)?;
            }
        }
    }
    if let Some(w) = writer {
        w.close()?;
    }
    Ok(rows)
}

fn secs(f: impl FnOnce() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed().as_secs_f64())
}

fn show(xs: &[f64]) -> String {
    let (lo, hi) = spread(xs);
    format!("{:.3} s ({lo:.3} – {hi:.3})", median(xs))
}

fn show_ms(xs: &[f64]) -> String {
    let (lo, hi) = spread(xs);
    format!(
        "{:.1} ms ({:.1} – {:.1})",
        median(xs) * 1e3,
        lo * 1e3,
        hi * 1e3
    )
}

/// Runs the suite and writes `<out_dir>/<date>-maintenance.md`.
#[allow(clippy::too_many_lines)]
pub fn run(opts: &Options) -> Result<PathBuf> {
    let machine = Machine::detect();
    let rounds = if opts.quick { 3 } else { 5 };
    let n_files = if opts.quick { 2_000 } else { 10_000 };
    let root = opts.work_dir.join("maintenance-run");
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    std::fs::create_dir_all(&root)?;
    std::fs::create_dir_all(&opts.out_dir)?;
    let root = root.canonicalize()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let warehouse = root.join("warehouse");
    std::fs::create_dir_all(&warehouse)?;
    let catalog = Arc::new(rt.block_on(SqlCatalog::connect(
        &format!("sqlite://{}", root.join("catalog.db").display()),
        &format!("file://{}", warehouse.display()),
    ))?);
    let ns = NamespaceIdent::new(["bench"])?;
    rt.block_on(catalog.create_namespace(&ns, std::collections::HashMap::default()))?;
    let env = Env {
        rt,
        catalog,
        store: Arc::new(LocalFileSystem::new()),
        ns,
        tables: std::cell::Cell::new(0),
    };
    let schema = Schema::from_json(&table_schema_json())?;
    let arrow_schema: ArrowSchemaRef =
        Arc::new(floe_table::arrow_schema::schema_to_arrow(&schema)?);
    let rows = n_files * ROWS_PER_FILE;
    eprintln!(
        "generating {} rows in {} files",
        thousands(rows as u64),
        thousands(n_files as u64)
    );
    let big = input_batches(rows, &arrow_schema)?;
    let mut batches = Vec::with_capacity(n_files);
    for b in &big {
        let mut off = 0;
        while off < b.num_rows() {
            let len = ROWS_PER_FILE.min(b.num_rows() - off);
            batches.push(b.slice(off, len));
            off += len;
        }
    }
    drop(big);

    eprintln!("building the many-small-file table ({FILES_PER_APPEND} files per append)");
    let build_start = Instant::now();
    let small = build_small_file_table(&env, &schema, &batches)?;
    let build_secs = build_start.elapsed().as_secs_f64();
    let files = live_data_files(&env, &small)?;
    let input_bytes: u64 = files
        .iter()
        .map(|f| u64::try_from(f.file_size_in_bytes).unwrap_or(0))
        .sum();
    let manifests_before = env.rt.block_on(small.manifests(None))?.len();

    // ---- planning and full scan, before -------------------------------------------
    let plan_and_scan = |t: &Table| -> Result<(Vec<f64>, Vec<f64>, usize, usize)> {
        let (mut plan, mut scan) = (Vec::new(), Vec::new());
        let mut tasks = 0;
        let mut scanned = 0;
        for i in 0..=rounds {
            let p = secs(|| {
                tasks = env.rt.block_on(t.scan().build()?.plan_files())?.len();
                Ok(())
            })?;
            let s = secs(|| {
                scanned = env
                    .rt
                    .block_on(t.scan().build()?.to_arrow())?
                    .iter()
                    .map(RecordBatch::num_rows)
                    .sum();
                Ok(())
            })?;
            if i > 0 {
                plan.push(p);
                scan.push(s);
            }
        }
        Ok((plan, scan, tasks, scanned))
    };
    eprintln!("planning and full scan before compaction");
    let (plan_before, scan_before, tasks_before, rows_before) = plan_and_scan(&small)?;

    // ---- compaction vs raw rewrite ----------------------------------------------
    eprintln!("compaction vs raw Parquet rewrite, {rounds} rounds");
    let ctx = WriterContext::for_data(&schema, small.properties(), None)?;
    let (mut floe_t, mut raw_t) = (Vec::new(), Vec::new());
    let mut floe_out = (0_u64, 0_u64, 0_u64);
    let mut raw_rows = 0;
    for round in 0..=rounds {
        let t = env.create(&schema)?;
        let t = env.rt.block_on(t.append_files(files.clone()))?;
        let f = secs(|| {
            let r = env.rt.block_on(RewriteDataFiles::new(&t).execute())?;
            floe_out = (r.rows, r.added_data_files, r.added_bytes);
            Ok(())
        })?;
        let out = root.join(format!("raw-{round}.parquet"));
        let r = secs(|| {
            raw_rows = raw_rewrite(&files, &out, &ctx)?;
            Ok(())
        })?;
        let raw_bytes = std::fs::metadata(&out)?.len();
        std::fs::remove_file(&out)?;
        eprintln!("  round {round}: Floe {f:.3} s, raw {r:.3} s (raw output {raw_bytes} bytes)");
        if round > 0 {
            floe_t.push(f);
            raw_t.push(r);
        }
    }
    let ratio = median(&raw_t) / median(&floe_t);

    // ---- compaction of the many-small-file table, then after --------------------
    eprintln!("compacting the many-small-file table");
    let mut compacted = small.clone();
    let compact_secs = secs(|| {
        env.rt
            .block_on(RewriteDataFiles::new(&compacted).execute())?;
        env.rt.block_on(compacted.refresh())?;
        env.rt
            .block_on(RewriteManifests::new(&compacted).execute())?;
        env.rt.block_on(compacted.refresh())?;
        Ok(())
    })?;
    let files_after = live_data_files(&env, &compacted)?.len();
    let manifests_after = env.rt.block_on(compacted.manifests(None))?.len();
    eprintln!("planning and full scan after compaction");
    let (plan_after, scan_after, tasks_after, rows_after) = plan_and_scan(&compacted)?;

    // ---- report -------------------------------------------------------------------
    let mb = |b: u64| b as f64 / 1e6;
    let date = today();
    let mut md = String::new();
    let _ = writeln!(md, "# Maintenance benchmark ({date})\n");
    let _ = writeln!(md, "Command: `{}`\n", opts.command);
    let _ = writeln!(
        md,
        "Median wall time over {rounds} timed rounds after one untimed warm-up, with min – \
         max. One process, Tokio runtime with 2 worker threads, local files, SQLite catalog.\n"
    );
    md.push_str("## Machine\n\n");
    md.push_str(&machine.to_markdown());
    if let Ok(v) = std::env::var("FLOE_BENCH_RUSTC") {
        let _ = writeln!(md, "- {v}");
    }
    if let Ok(v) = std::env::var("FLOE_BENCH_COMMIT") {
        let _ = writeln!(md, "- git commit {v}");
    }
    let _ = writeln!(
        md,
        "\n## Input\n\n{} data files of {ROWS_PER_FILE} rows (10 columns, the table suite's \
         schema and generator), {} rows, {:.1} MB of Parquet (zstd level 3); built by {} \
         appends of {FILES_PER_APPEND} files in {build_secs:.1} s, {manifests_before} \
         manifests.\n",
        thousands(files.len() as u64),
        thousands(rows as u64),
        mb(input_bytes),
        thousands(n_files.div_ceil(FILES_PER_APPEND) as u64)
    );
    md.push_str("## Compaction throughput\n\n");
    md.push_str(
        "| workload | median (min – max) | MB/s (input) | rows/s |\n|---|---:|---:|---:|\n",
    );
    for (name, xs, r) in [
        (
            "Floe `RewriteDataFiles` (plan, read with deletes, write, commit)",
            &floe_t,
            floe_out.0,
        ),
        ("raw arrow-rs reader → `ArrowWriter`", &raw_t, raw_rows),
    ] {
        let m = median(xs);
        let _ = writeln!(
            md,
            "| {name} | {} | {:.1} | {} |",
            show(xs),
            mb(input_bytes) / m,
            thousands((r as f64 / m) as u64)
        );
    }
    let _ = writeln!(
        md,
        "\nFloe / raw throughput: **{ratio:.2}×** (target ≥ 0.8×: {}). Floe wrote {} rows in \
         {} file(s), {:.1} MB; raw wrote {} rows in one file.\n",
        if ratio >= 0.8 { "met" } else { "not met" },
        thousands(floe_out.0),
        floe_out.1,
        mb(floe_out.2),
        thousands(raw_rows)
    );
    md.push_str("## Planning and full scan, before and after compaction\n\n");
    let _ = writeln!(
        md,
        "Compaction (`RewriteDataFiles` then `RewriteManifests`) took {compact_secs:.2} s: \
         {} data files in {manifests_before} manifests became {files_after} in \
         {manifests_after}.\n",
        thousands(files.len() as u64)
    );
    md.push_str("| workload | before | after | speed-up |\n|---|---:|---:|---:|\n");
    let _ = writeln!(
        md,
        "| plan (`plan_files`, {} → {} tasks) | {} | {} | {:.1}× |",
        thousands(tasks_before as u64),
        thousands(tasks_after as u64),
        show_ms(&plan_before),
        show_ms(&plan_after),
        median(&plan_before) / median(&plan_after)
    );
    let _ = writeln!(
        md,
        "| full scan (`to_arrow`, {} rows) | {} | {} | {:.1}× |",
        thousands(rows_after as u64),
        show_ms(&scan_before),
        show_ms(&scan_after),
        median(&scan_before) / median(&scan_after)
    );
    md.push_str("\n## Checks\n\n");
    let _ = writeln!(
        md,
        "- rows: scan before {}, after {}, compaction wrote {}, raw rewrite read {} (all \
         must be {}).",
        thousands(rows_before as u64),
        thousands(rows_after as u64),
        thousands(floe_out.0),
        thousands(raw_rows),
        thousands(rows as u64)
    );
    md.push_str(
        "\n## Notes\n\n- Each compaction round runs on a fresh table whose one snapshot names \
         the same small files (one append), so every round reads the same input; the \
         many-small-file table for planning and scans was built by many appends.\n- The raw \
         side has no planning, no Iceberg metrics, no manifests and no commit; both write \
         with the same `WriterProperties` (zstd level 3).\n",
    );
    let ok = rows_before == rows && rows_after == rows && floe_out.0 as usize == rows;
    if !ok {
        return Err(format!("row counts differ: {md}").into());
    }
    let path = opts.out_dir.join(format!("{date}-maintenance.md"));
    std::fs::write(&path, &md)?;
    println!("{md}");
    std::fs::remove_dir_all(&root)?;
    Ok(path)
}
