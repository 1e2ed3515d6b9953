//! `floe-bench table`: Floe's writers, scans and planning against raw arrow-rs Parquet,
//! PyIceberg 0.12 and deltalake (delta-rs's Python package), on the same data in the
//! same run.
//!
//! Workloads (quick: 1,000,000 rows and 5 rounds; full: 4,000,000 rows and 11):
//! - write Parquet, unpartitioned: the same Arrow batches through Floe's
//!   `RollingFileWriter` (Iceberg metrics included) and through arrow-rs's `ArrowWriter`
//!   with the same writer properties (zstd level 3, same row-group and page limits);
//! - append, unpartitioned and partitioned by `day(event_ts)`: Floe's whole append
//!   (`RollingFileWriter` or `PartitionedWriter`, manifest, manifest list, and the commit
//!   through `floe_catalog::SqlCatalog` on SQLite, which writes the metadata file) against
//!   PyIceberg's `table.append(pyarrow_table)` into its `SqlCatalog` on SQLite, and
//!   against deltalake's `write_deltalake(table, pyarrow_table, mode="append")` into a
//!   fresh Delta table (partitioned by `event_date`, the same days);
//! - full scan of the partitioned table Floe wrote (registered in PyIceberg's catalog
//!   too): Floe's `TableScan::to_arrow` against arrow-rs's `ParquetRecordBatchReader` over
//!   the same files, against PyIceberg's `tbl.scan().to_arrow()`, and against deltalake's
//!   `DeltaTable(path).to_pyarrow_table()` of its own table of the same rows;
//! - selective scan of the same table (an `event_ts` range of half a day: one partition,
//!   ~5% of the rows) against PyIceberg's `tbl.scan(row_filter).to_arrow()`;
//! - planning a ~1%-selective filter on a generated table with 10,000 snapshots and
//!   100,000 data files (cached under the work directory): Floe's `TableScan::plan_files`
//!   against PyIceberg's `StaticTable.scan(row_filter).plan_files()`.
//!
//! Every peer comparison also reports both sides' peak RSS (`crate::memory`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{
    ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::SchemaRef as ArrowSchemaRef;
use floe_catalog::{Catalog, LoadedTable, NamespaceIdent, SqlCatalog, TableCommit, TableCreation};
use floe_spec::commit::{TableRequirement, TableUpdate};
use floe_spec::expr::{Expression, Reference};
use floe_spec::manifest::{
    DataFile, DataFileFormat, ManifestContentType, ManifestMetadata, ManifestWriter,
};
use floe_spec::manifest_list::ManifestListWriter;
use floe_spec::partition::{PartitionSpec, UnboundPartitionSpec};
use floe_spec::schema::Schema;
use floe_spec::snapshot::{Operation, Snapshot, SnapshotReference, Summary};
use floe_spec::table_metadata::{FormatVersion, TableMetadata};
use floe_spec::values::Datum;
use floe_table::scan::{ObjectStoreFileRead, TableScanBuilder};
use floe_table::writer::{
    LocationGenerator, PartitionedWriter, RollingFileWriter, WriterContext, default_store_path,
};
use object_store::local::LocalFileSystem;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use crate::data::Rng;
use crate::harness::{Comparison, Result, alternate, inner_runs, median, time_process};
use crate::machine::Machine;
use crate::memory::{MemoryRow, alternate_tracked, memory_section};
use crate::peer::{DELTALAKE_SCRIPT, PythonPeer, sample_of};
use crate::report::{Measure, PeerResult, WorkloadResult, peer_tables, thousands, today};
use crate::spec_bench::Options;

/// Rows of the input batches (one Arrow IPC file both sides load before timing).
const BATCH_ROWS: usize = 65_536;
/// Days the input's timestamps span (the partitioned table's partitions).
const INPUT_DAYS: i64 = 10;
/// 2024-01-01 00:00:00 UTC in microseconds.
const EPOCH_2024_US: i64 = 1_704_067_200_000_000;
/// Microseconds in a day.
const DAY_US: i64 = 86_400_000_000;
/// Days from 1970-01-01 to 2024-01-01.
const DAY_2024_01_01: i32 = 19_723;

/// Rows of the small-append workload (one append of this many rows).
const SMALL_APPEND_ROWS: usize = 10_000;

/// Snapshots of the planning table.
pub const PLAN_SNAPSHOTS: usize = 10_000;
/// Data files of the planning table (appended 10 per snapshot, one manifest each).
pub const PLAN_FILES: usize = 100_000;
/// Days the planning table spans: one day holds 1% of its files.
const PLAN_DAYS: usize = 100;

/// Floe's planning calls per round last at least this long.
const PLAN_ROUND: Duration = Duration::from_millis(300);

/// Table properties on both sides: the same Parquet settings (PyIceberg's default zstd
/// level is pyarrow's, 1; Floe's is 3, Java's default).
fn table_properties() -> std::collections::HashMap<String, String> {
    [
        ("write.parquet.compression-codec", "zstd"),
        ("write.parquet.compression-level", "3"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The benchmark table: ten columns of the common kinds.
pub fn table_schema_json() -> Value {
    json!({
        "type": "struct",
        "schema-id": 0,
        "fields": [
            {"id": 1, "name": "event_id", "required": true, "type": "long"},
            {"id": 2, "name": "event_ts", "required": true, "type": "timestamp"},
            {"id": 3, "name": "user_id", "required": false, "type": "long"},
            {"id": 4, "name": "event_type", "required": false, "type": "string"},
            {"id": 5, "name": "amount", "required": false, "type": "double"},
            {"id": 6, "name": "price", "required": false, "type": "decimal(10, 2)"},
            {"id": 7, "name": "country", "required": false, "type": "string"},
            {"id": 8, "name": "is_valid", "required": false, "type": "boolean"},
            {"id": 9, "name": "event_date", "required": false, "type": "date"},
            {"id": 10, "name": "user_agent", "required": false, "type": "string"}
        ]
    })
}

/// Partitioned by `day(event_ts)`.
fn day_spec_json() -> Value {
    json!({
        "spec-id": 0,
        "fields": [
            {"name": "event_ts_day", "transform": "day", "source-id": 2, "field-id": 1000}
        ]
    })
}

fn table_schema() -> Result<Schema> {
    Ok(Schema::from_json(&table_schema_json())?)
}

fn day_spec() -> Result<PartitionSpec> {
    Ok(serde_json::from_value(day_spec_json())?)
}

const EVENT_TYPES: [&str; 6] = [
    "add_to_cart",
    "checkout",
    "login",
    "page_view",
    "purchase",
    "view_item",
];

/// `rows` rows in batches of [`BATCH_ROWS`], in the table's Arrow schema (with field ids):
/// timestamps spread at random over [`INPUT_DAYS`] days (so every batch touches every
/// partition), 2–5% nulls in the optional columns, a few NaNs.
pub fn input_batches(rows: usize, schema: &ArrowSchemaRef) -> Result<Vec<RecordBatch>> {
    let mut rng = Rng::new(0x7AB1_E000_0000_0001 ^ rows as u64);
    let agents: Vec<String> = (0..64)
        .map(|i| {
            format!(
                "Mozilla/5.0 (X11; Linux x86_64; rv:{}.0) Gecko/20100101 Firefox/{}.0",
                100 + i,
                100 + i
            )
        })
        .collect();
    let mut out = Vec::new();
    let mut start = 0;
    while start < rows {
        let n = BATCH_ROWS.min(rows - start);
        let ids: Vec<i64> = (start..start + n).map(|i| i as i64 + 1).collect();
        let ts: Vec<i64> = (0..n)
            .map(|_| EPOCH_2024_US + rng.range(0, INPUT_DAYS * DAY_US))
            .collect();
        let dates: Vec<Option<i32>> = ts
            .iter()
            .map(|t| Some(t.div_euclid(DAY_US) as i32))
            .collect();
        let users: Vec<Option<i64>> = (0..n)
            .map(|_| keep(&mut rng, 2).then(|| rng.range(1, 1_000_000)))
            .collect();
        let types: Vec<Option<&str>> = (0..n)
            .map(|_| keep(&mut rng, 3).then(|| EVENT_TYPES[rng.range(0, 6) as usize]))
            .collect();
        let amounts: Vec<Option<f64>> = (0..n)
            .map(|_| {
                keep(&mut rng, 5).then(|| {
                    if rng.range(0, 10_000) == 0 {
                        f64::NAN
                    } else {
                        rng.range(1, 10_000_000) as f64 / 1000.0
                    }
                })
            })
            .collect();
        let prices: Vec<Option<i128>> = (0..n)
            .map(|_| keep(&mut rng, 5).then(|| i128::from(rng.range(0, 10_000_000))))
            .collect();
        let countries: Vec<Option<&str>> = (0..n)
            .map(|_| keep(&mut rng, 2).then(|| crate::data::COUNTRIES[rng.range(0, 20) as usize]))
            .collect();
        let valid: Vec<Option<bool>> = (0..n)
            .map(|_| keep(&mut rng, 2).then(|| rng.range(0, 10) > 0))
            .collect();
        let ua: Vec<Option<&str>> = (0..n)
            .map(|_| keep(&mut rng, 4).then(|| agents[rng.range(0, 64) as usize].as_str()))
            .collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(ids)),
            Arc::new(TimestampMicrosecondArray::from(ts)),
            Arc::new(Int64Array::from(users)),
            Arc::new(StringArray::from(types)),
            Arc::new(Float64Array::from(amounts)),
            Arc::new(Decimal128Array::from(prices).with_precision_and_scale(10, 2)?),
            Arc::new(StringArray::from(countries)),
            Arc::new(BooleanArray::from(valid)),
            Arc::new(Date32Array::from(dates)),
            Arc::new(StringArray::from(ua)),
        ];
        out.push(RecordBatch::try_new(Arc::clone(schema), columns)?);
        start += n;
    }
    Ok(out)
}

/// False for `pct`% of calls: the value is null.
fn keep(rng: &mut Rng, pct: i64) -> bool {
    rng.range(0, 100) >= pct
}

fn write_ipc(path: &Path, schema: &ArrowSchemaRef, batches: &[RecordBatch]) -> Result<()> {
    let file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut w = arrow::ipc::writer::FileWriter::try_new(file, schema)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()?;
    Ok(())
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn store_put(
    store: &Arc<dyn ObjectStore>,
    location: &str,
    bytes: Vec<u8>,
) -> impl Future<Output = Result<()>> {
    let store = Arc::clone(store);
    let path = default_store_path(location);
    async move {
        store.put(&path?, PutPayload::from(bytes)).await?;
        Ok(())
    }
}

/// What an append wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Written {
    files: usize,
    records: i64,
    bytes: i64,
}

fn written(files: &[DataFile]) -> Written {
    Written {
        files: files.len(),
        records: files.iter().map(|f| f.record_count).sum(),
        bytes: files.iter().map(|f| f.file_size_in_bytes).sum(),
    }
}

/// Writes the batches with Floe's writers into the table's data location: a
/// `RollingFileWriter` for an unpartitioned table, a `PartitionedWriter` otherwise.
async fn floe_write(
    store: &Arc<dyn ObjectStore>,
    metadata: &TableMetadata,
    batches: &[RecordBatch],
) -> Result<Vec<DataFile>> {
    let schema = metadata.current_schema();
    let spec = metadata.default_partition_spec();
    let ctx = Arc::new(WriterContext::for_data(
        schema,
        metadata.properties(),
        None,
    )?);
    let locations = Arc::new(LocationGenerator::for_table(
        Arc::clone(store),
        metadata.location(),
        metadata.properties(),
    )?);
    if spec.is_unpartitioned() {
        let mut w = RollingFileWriter::new(ctx, locations, Vec::new(), None);
        for b in batches {
            w.write(b).await?;
        }
        Ok(w.close().await?)
    } else {
        let mut w = PartitionedWriter::try_new(ctx, schema, spec, locations)?;
        for b in batches {
            w.write(b).await?;
        }
        Ok(w.close().await?)
    }
}

/// Floe's whole append: data files, manifest, manifest list, and the catalog commit
/// (which writes the metadata file and swaps the pointer).
async fn floe_append(
    catalog: &SqlCatalog,
    store: &Arc<dyn ObjectStore>,
    table: &LoadedTable,
    batches: &[RecordBatch],
) -> Result<(Written, LoadedTable)> {
    let m = &table.metadata;
    let files = floe_write(store, m, batches).await?;
    let w = written(&files);
    let snapshot_id = (uuid::Uuid::new_v4().as_u64_pair().0 >> 1) as i64;
    let parent = m.current_snapshot_id();
    let seq = m.last_sequence_number() + 1;
    let write_id = uuid::Uuid::new_v4();
    let metadata_dir = format!("{}/metadata", m.location().trim_end_matches('/'));
    let mut manifest = ManifestWriter::new(
        ManifestMetadata {
            schema: Arc::clone(m.current_schema()),
            partition_spec: (**m.default_partition_spec()).clone(),
            format_version: m.format_version(),
            content: ManifestContentType::Data,
        },
        Some(snapshot_id),
    );
    for f in files {
        manifest.add(f)?;
    }
    let manifest_location = format!("{metadata_dir}/{write_id}-m0.avro");
    let (bytes, manifest_file) = manifest.finish(&manifest_location)?;
    store_put(store, &manifest_location, bytes).await?;
    let mut list = ManifestListWriter::new(m.format_version(), snapshot_id, parent, seq);
    list.add_manifests([manifest_file])?;
    let list_location = format!("{metadata_dir}/snap-{snapshot_id}-1-{write_id}.avro");
    store_put(store, &list_location, list.finish()?).await?;
    let summary = Summary {
        operation: Operation::Append,
        additional_properties: [
            ("added-data-files", w.files.to_string()),
            ("added-records", w.records.to_string()),
            ("added-files-size", w.bytes.to_string()),
            ("total-data-files", w.files.to_string()),
            ("total-records", w.records.to_string()),
            ("total-files-size", w.bytes.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect(),
    };
    let snapshot = Snapshot {
        snapshot_id,
        parent_snapshot_id: parent,
        sequence_number: seq,
        timestamp_ms: now_ms(),
        manifest_list: list_location,
        summary,
        schema_id: Some(m.current_schema_id()),
        first_row_id: None,
        added_rows: None,
        key_id: None,
    };
    let commit = TableCommit::new(
        table.ident.clone(),
        vec![TableRequirement::AssertRefSnapshotId {
            r#ref: "main".to_owned(),
            snapshot_id: parent,
        }],
        vec![
            TableUpdate::AddSnapshot { snapshot },
            TableUpdate::set_snapshot_ref("main", &SnapshotReference::branch(snapshot_id)),
        ],
    );
    let committed = catalog.commit_table(commit).await?;
    Ok((w, committed))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The Floe side's catalog, object store and runtime.
struct FloeEnv {
    rt: Runtime,
    catalog: SqlCatalog,
    store: Arc<dyn ObjectStore>,
    ns: NamespaceIdent,
    warehouse: PathBuf,
    tables: std::cell::Cell<usize>,
}

impl FloeEnv {
    fn create_table(&self, prefix: &str, partitioned: bool) -> Result<LoadedTable> {
        self.tables.set(self.tables.get() + 1);
        let mut creation =
            TableCreation::new(format!("{prefix}_{}", self.tables.get()), table_schema()?);
        if partitioned {
            creation.partition_spec = Some(UnboundPartitionSpec::from(day_spec()?));
        }
        creation.properties = table_properties();
        Ok(self
            .rt
            .block_on(self.catalog.create_table(&self.ns, creation))?)
    }

    /// Drops the table and puts its folder aside.
    fn drop_table(&self, table: &LoadedTable) -> Result<()> {
        self.rt
            .block_on(self.catalog.drop_table(&table.ident, false))?;
        let dir = self.warehouse.join("bench").join(&table.ident.name);
        // Kept aside, not deleted, until the run ends (see `crate::workdir`).
        crate::workdir::discard(&self.warehouse, &dir)
    }
}

/// A set-up for profilers (`bench/examples/table_loop.rs`): the suite's partitioned scan
/// table of `rows` rows, written by Floe under `dir`; then `scan` runs `iterations`
/// times: `"floe"` (`TableScan::to_arrow`, as the suite) or `"raw"` (arrow-rs's
/// reader on each file in turn). Returns the mean seconds per scan.
pub fn scan_loop(dir: &Path, rows: usize, scan: &str, iterations: usize) -> Result<f64> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let warehouse = dir.join("floe-warehouse");
    std::fs::create_dir_all(&warehouse)?;
    let catalog = rt.block_on(SqlCatalog::connect(
        &format!("sqlite://{}", dir.join("floe-catalog.db").display()),
        &file_url(&warehouse),
    ))?;
    let ns = NamespaceIdent::new(["bench"])?;
    rt.block_on(catalog.create_namespace(&ns, std::collections::HashMap::default()))?;
    let env = FloeEnv {
        rt,
        catalog,
        store: Arc::new(LocalFileSystem::new()),
        ns,
        warehouse,
        tables: std::cell::Cell::new(0),
    };
    let arrow_schema: ArrowSchemaRef =
        Arc::new(floe_table::arrow_schema::schema_to_arrow(&table_schema()?)?);
    let batches = input_batches(rows, &arrow_schema)?;
    let table = env.create_table("scan", true)?;
    let (_, table) = env
        .rt
        .block_on(floe_append(&env.catalog, &env.store, &table, &batches))?;
    drop(batches);
    let io = Arc::new(ObjectStoreFileRead::new(Arc::clone(&env.store)));
    let metadata = Arc::clone(&table.metadata);
    let paths = planned_paths(&env, &metadata, &io)?;
    let start = Instant::now();
    for _ in 0..iterations {
        let out = if scan == "raw" {
            raw_scan(&paths)?
        } else {
            let s = TableScanBuilder::new(Arc::clone(&metadata), io.clone()).build()?;
            env.rt.block_on(s.to_arrow())?
        };
        let read = scan_digest(&out)?.0;
        if read != rows as u64 {
            return Err(format!("{scan} scan read {read} rows, not {rows}").into());
        }
    }
    Ok(start.elapsed().as_secs_f64() / iterations.max(1) as f64)
}

/// A set-up for profilers (`bench/examples/table_loop.rs`): the suite's write of `rows`
/// rows into files under `dir`, `iterations` times: `"floe"` (a `RollingFileWriter`, as
/// the suite's unpartitioned write), `"raw"` (arrow-rs's `ArrowWriter` into a
/// `BufWriter<File>` with the same `WriterProperties`) or `"partitioned"` (a
/// `PartitionedWriter` by `day(event_ts)`, as the suite's partitioned append). Returns
/// the mean seconds per write.
pub fn write_loop(dir: &Path, rows: usize, write: &str, iterations: usize) -> Result<f64> {
    use parquet::arrow::ArrowWriter;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new());
    let props = table_properties();
    let ctx = Arc::new(WriterContext::for_data(&table_schema()?, &props, None)?);
    let batches = input_batches(rows, ctx.arrow_schema())?;
    let start = Instant::now();
    for i in 0..iterations {
        if write == "raw" {
            let path = dir.join(format!("raw-{i}.parquet"));
            let mut w = ArrowWriter::try_new(
                std::io::BufWriter::new(std::fs::File::create(&path)?),
                Arc::clone(ctx.arrow_schema()),
                Some(ctx.parquet_properties()),
            )?;
            for b in &batches {
                w.write(b)?;
            }
            w.close()?;
        } else {
            let location = file_url(&dir.join(format!("floe-{i}")));
            let locations = Arc::new(LocationGenerator::for_table(
                Arc::clone(&store),
                &location,
                &props,
            )?);
            if write == "partitioned" {
                let schema = table_schema()?;
                let mut w =
                    PartitionedWriter::try_new(Arc::clone(&ctx), &schema, &day_spec()?, locations)?;
                rt.block_on(async {
                    for b in &batches {
                        w.write(b).await?;
                    }
                    w.close().await
                })?;
            } else {
                rt.block_on(rolling_write(&ctx, locations, &batches))?;
            }
        }
    }
    Ok(start.elapsed().as_secs_f64() / iterations.max(1) as f64)
}

/// Runs the suite, prints the report and writes it; returns the report's path.
pub fn run(opts: &Options) -> Result<PathBuf> {
    let machine = Machine::detect();
    let rounds = if opts.quick { 5 } else { 11 };
    let rows = if opts.quick { 1_000_000 } else { 4_000_000 };
    let root = crate::workdir::fresh(&opts.work_dir, "table-run")?;
    std::fs::create_dir_all(&opts.out_dir)?;
    let root = root.canonicalize()?;

    eprintln!("starting the PyIceberg peer: {}", opts.python.display());
    let mut peer = PythonPeer::start(&opts.python, &opts.peer_script)?;
    let info = peer.request(&json!({"op": "info"}))?;
    let pyiceberg = format!("PyIceberg {}", str_of(&info, "pyiceberg"));
    let delta_script = opts.peer_script.with_file_name(DELTALAKE_SCRIPT);
    eprintln!("starting the deltalake peer: {}", delta_script.display());
    let mut delta = PythonPeer::start(&opts.python, &delta_script)?;
    let delta_info = delta.request(&json!({"op": "info"}))?;
    let deltalake = format!("deltalake {}", str_of(&delta_info, "deltalake"));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let warehouse = root.join("floe-warehouse");
    std::fs::create_dir_all(&warehouse)?;
    let catalog = rt.block_on(SqlCatalog::connect(
        &format!("sqlite://{}", root.join("floe-catalog.db").display()),
        &file_url(&warehouse),
    ))?;
    let ns = NamespaceIdent::new(["bench"])?;
    rt.block_on(catalog.create_namespace(&ns, std::collections::HashMap::default()))?;
    let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new());
    let env = FloeEnv {
        rt,
        catalog,
        store,
        ns,
        warehouse,
        tables: std::cell::Cell::new(0),
    };
    let py_db = root.join("pyiceberg-catalog.db");
    let py_wh = root.join("pyiceberg-warehouse");
    std::fs::create_dir_all(&py_wh)?;
    let py_cat = json!({"db": py_db, "warehouse": file_url(&py_wh)});
    let delta_dir = root.join("deltalake-tables");
    std::fs::create_dir_all(&delta_dir)?;
    let mut memory = Vec::new();

    eprintln!("generating {} rows", thousands(rows as u64));
    let arrow_schema: ArrowSchemaRef =
        Arc::new(floe_table::arrow_schema::schema_to_arrow(&table_schema()?)?);
    let batches = input_batches(rows, &arrow_schema)?;
    let ipc = root.join("input.arrow");
    write_ipc(&ipc, &arrow_schema, &batches)?;
    let input_mb = batches
        .iter()
        .map(RecordBatch::get_array_memory_size)
        .sum::<usize>() as f64
        / 1e6;

    let mut results = Vec::new();
    let mut checks = Vec::new();
    let throughput = Measure::Throughput {
        items: rows as u64,
        unit: "rows",
    };
    let input_text = format!(
        "{} rows × 10 columns, {} batches, {input_mb:.0} MB in Arrow",
        thousands(rows as u64),
        batches.len()
    );

    // ---- 1a. write Parquet: RollingFileWriter vs ArrowWriter -----------------------
    eprintln!("write Parquet, unpartitioned: Floe RollingFileWriter vs arrow-rs ArrowWriter");
    let (cmp, floe_w, raw_bytes) = write_vs_raw(&env, &root, &batches, rounds)?;
    progress("arrow-rs", &cmp);
    checks.push(format!(
        "write: Floe wrote {} rows in {} file(s), {} (with Iceberg metrics); arrow-rs wrote {}",
        thousands(floe_w.records as u64),
        floe_w.files,
        mb(floe_w.bytes as u64),
        mb(raw_bytes)
    ));
    results.push(PeerResult {
        peer: "arrow-rs".to_owned(),
        result: WorkloadResult {
            name: "write Parquet (unpartitioned)".to_owned(),
            input: format!("{input_text} → zstd(3) Parquet"),
            measure: throughput.clone(),
            cmp,
        },
    });

    // ---- 1b. append vs PyIceberg ------------------------------------------------------
    // Bulk appends (the whole input) and a small append (the first SMALL_APPEND_ROWS
    // rows: per-append overhead — manifest, manifest list, commit — dominates there).
    let small_batches = vec![batches[0].slice(0, SMALL_APPEND_ROWS.min(batches[0].num_rows()))];
    let small_ipc = root.join("input-small.arrow");
    write_ipc(&small_ipc, &arrow_schema, &small_batches)?;
    for (partitioned, small) in [(false, false), (true, false), (false, true)] {
        let what = match (partitioned, small) {
            (_, true) => "unpartitioned, small",
            (true, false) => "partitioned by day(event_ts)",
            (false, false) => "unpartitioned",
        };
        let (batches, ipc, rows) = if small {
            (&small_batches, &small_ipc, small_batches[0].num_rows())
        } else {
            (&batches, &ipc, rows)
        };
        let throughput = Measure::Throughput {
            items: rows as u64,
            unit: "rows",
        };
        let py_req = json!({
            "op": "append", "db": py_cat["db"], "warehouse": py_cat["warehouse"],
            "ipc": ipc, "partitioned": partitioned, "name": "append",
            "properties": table_properties(),
        });
        let delta_req = json!({
            "op": "append", "dir": delta_dir, "ipc": ipc, "partitioned": partitioned,
            "name": "append",
        });
        // What Floe's last append wrote (read after each comparison).
        let floe_seen = std::cell::Cell::new(None);
        let mut floe_run = || {
            let mut table = None;
            let (sample, (w, _)) = time_process(
                1,
                || {
                    let t = env.create_table("append", partitioned)?;
                    table = Some(t.clone());
                    Ok(t)
                },
                |t| {
                    env.rt
                        .block_on(floe_append(&env.catalog, &env.store, &t, batches))
                },
            )?;
            floe_seen.set(Some(w));
            if let Some(t) = table {
                env.drop_table(&t)?;
            }
            Ok(sample)
        };
        let input = if small {
            format!(
                "{} rows × 10 columns, 1 batch, whole append with catalog commit \
                 (per-append overhead)",
                thousands(rows as u64)
            )
        } else {
            format!("{input_text}, whole append with catalog commit")
        };
        for (name, peer, req) in [
            ("PyIceberg", &mut peer, &py_req),
            ("deltalake", &mut delta, &delta_req),
        ] {
            eprintln!("append, {what}: Floe vs {name}");
            let mut peer_seen = None;
            let (cmp, floe_mem, peer_mem) = alternate_tracked(rounds, &mut floe_run, || {
                let reply = peer.request(req)?;
                peer_seen = Some((
                    reply["files"].as_u64().unwrap_or(0),
                    reply["records"].as_i64().unwrap_or(0),
                    reply["bytes"].as_i64().unwrap_or(0),
                ));
                Ok((sample_of(&reply)?, peer.last_memory()))
            })?;
            progress(name, &cmp);
            let (Some(fw), Some((pf, pr, pb))) = (floe_seen.get(), peer_seen) else {
                return Err("append: no run".into());
            };
            if fw.records != rows as i64 || pr != rows as i64 {
                return Err(format!(
                    "append {what}: Floe committed {} rows, {name} {pr}, expected {rows}",
                    fw.records
                )
                .into());
            }
            checks.push(format!(
                "append {what}: Floe and {name} both committed {} rows (Floe {} files, {}; \
                 {name} {pf} files, {})",
                thousands(rows as u64),
                fw.files,
                mb(fw.bytes as u64),
                mb(pb as u64)
            ));
            memory.push(MemoryRow {
                workload: format!("append ({what})"),
                floe: floe_mem,
                peer: name.to_owned(),
                peer_rss: peer_mem,
            });
            results.push(PeerResult {
                peer: name.to_owned(),
                result: WorkloadResult {
                    name: format!("append ({what})"),
                    input: input.clone(),
                    measure: throughput.clone(),
                    cmp,
                },
            });
        }
    }

    // ---- 2. full scan -------------------------------------------------------------------
    eprintln!("full scan: writing the partitioned table with Floe");
    let table = env.create_table("scan", true)?;
    let (w, table) = env
        .rt
        .block_on(floe_append(&env.catalog, &env.store, &table, &batches))?;
    let metadata_location = table
        .metadata_location
        .clone()
        .ok_or("committed table without a metadata location")?;
    peer.request(&json!({
        "op": "register", "db": py_cat["db"], "warehouse": py_cat["warehouse"],
        "name": "scan", "metadata_location": metadata_location,
    }))?;
    let scan_results = full_scan(
        &env,
        &mut peer,
        (&mut delta, &delta_dir, &ipc),
        &py_cat,
        &table,
        rounds,
        rows,
    )?;
    let (delta_files, delta_bytes) = scan_results.delta_files;
    for (peer_name, cmp) in scan_results.cmps {
        let input = if peer_name == "deltalake" {
            format!(
                "the same {} rows: Floe's table ({} files, {}) and deltalake's own, \
                 partitioned by `event_date` ({delta_files} files, {})",
                thousands(rows as u64),
                w.files,
                mb(w.bytes as u64),
                mb(delta_bytes)
            )
        } else {
            format!(
                "Floe-written table, {} rows, {} files, {}",
                thousands(rows as u64),
                w.files,
                mb(w.bytes as u64)
            )
        };
        results.push(PeerResult {
            peer: peer_name.to_owned(),
            result: WorkloadResult {
                name: "full scan".to_owned(),
                input,
                measure: throughput.clone(),
                cmp,
            },
        });
    }
    checks.push(scan_results.check);
    memory.extend(scan_results.memory);
    let (result, check) = selective_scan(&env, &mut peer, &py_cat, &table, rounds)?;
    results.push(PeerResult {
        peer: "PyIceberg".to_owned(),
        result,
    });
    checks.push(check);

    // ---- 3. planning ----------------------------------------------------------------------
    let plan_dir = opts
        .work_dir
        .join(format!("table-plan-{PLAN_SNAPSHOTS}s-{PLAN_FILES}f-v1"));
    let plan_metadata = plan_table(&plan_dir)?;
    let (result, check) = planning(&env, &mut peer, &plan_metadata, rounds)?;
    results.push(PeerResult {
        peer: "PyIceberg".to_owned(),
        result,
    });
    checks.push(check);

    // ---- report -----------------------------------------------------------------------------
    let find = |name: &str, peer: &str| {
        results
            .iter()
            .find(|r| r.result.name.starts_with(name) && r.peer == peer)
            .map(|r| &r.result.cmp)
    };
    let mut targets = Vec::new();
    let mut target = |label: String, cmp: Option<&Comparison>, want: f64| {
        if let Some(c) = cmp {
            let cpu = c.cpu_ratio();
            let cpu = if cpu.is_finite() && cpu > 0.0 {
                format!("{cpu:.2}×")
            } else {
                "– (no CPU time measured)".to_owned()
            };
            targets.push(format!(
                "{label} ≥ {want}×: {:.2}× wall ({cpu} on-CPU) — {}",
                c.ratio(),
                if c.ratio() >= want { "met" } else { "NOT met" }
            ));
        }
    };
    target(
        "write vs raw arrow-rs ArrowWriter".to_owned(),
        find("write Parquet", "arrow-rs"),
        0.9,
    );
    target(
        "append (unpartitioned) vs PyIceberg".to_owned(),
        find("append (unpartitioned)", "PyIceberg"),
        5.0,
    );
    target(
        "append (partitioned) vs PyIceberg".to_owned(),
        find("append (partitioned", "PyIceberg"),
        5.0,
    );
    target(
        format!(
            "append (small, {} rows) vs PyIceberg",
            thousands(SMALL_APPEND_ROWS as u64)
        ),
        find("append (unpartitioned, small)", "PyIceberg"),
        5.0,
    );
    target(
        "full scan vs raw arrow-rs ParquetRecordBatchReader".to_owned(),
        find("full scan", "arrow-rs"),
        0.9,
    );
    target(
        "full scan vs PyIceberg to_arrow".to_owned(),
        find("full scan", "PyIceberg"),
        5.0,
    );
    target(
        "planning vs PyIceberg plan_files".to_owned(),
        find("planning", "PyIceberg"),
        20.0,
    );
    if let Some(c) = find("planning", "PyIceberg") {
        let ms = median(&c.floe) * 1000.0;
        targets.push(format!(
            "planning under 100 ms: Floe median {ms:.1} ms wall ({:.1} ms on-CPU) — {}",
            median(&c.floe_cpu) * 1000.0,
            if ms < 100.0 { "met" } else { "NOT met" }
        ));
    }

    let mut md = String::new();
    let date = today();
    let _ = write!(
        md,
        "# Floe tables vs arrow-rs, PyIceberg and deltalake ({date})\n\n"
    );
    let _ = write!(md, "Command: `{}`\n\n", opts.command);
    let _ = write!(
        md,
        "Floe and its peer run alternately on the same data (Floe, peer, Floe, peer, ...): \
         one untimed warm-up each, then {rounds} timed rounds. Wall time: median, with \
         min–max over the rounds; ratio = peer median time / Floe median time (how many \
         times faster Floe is; 1.00× = as fast), and the min–max of the per-round ratios. \
         Peers: raw arrow-rs (the Parquet writer and reader Floe is built on, same crate \
         version, in the same process), {pyiceberg} and {deltalake} (delta-rs's Python \
         package, Delta Lake tables; each a long-running Python process).\n\n"
    );
    md.push_str("## Machine\n\n");
    md.push_str(&machine.to_markdown());
    let _ = writeln!(
        md,
        "- peer: {pyiceberg}, pyarrow {}, SQLAlchemy {}, Python {}",
        str_of(&info, "pyarrow"),
        str_of(&info, "sqlalchemy"),
        str_of(&info, "python")
    );
    let _ = writeln!(
        md,
        "- peer: {deltalake} (delta-rs core {}), pyarrow {}, Python {}",
        str_of(&delta_info, "delta_rs"),
        str_of(&delta_info, "pyarrow"),
        str_of(&delta_info, "python")
    );
    let _ = writeln!(
        md,
        "- Floe: git {}, {}, {} build; Tokio multi-thread runtime, 2 workers",
        std::env::var("FLOE_BENCH_COMMIT").unwrap_or_else(|_| "unknown".to_owned()),
        std::env::var("FLOE_BENCH_RUSTC").unwrap_or_else(|_| "rustc unknown".to_owned()),
        if cfg!(debug_assertions) {
            "DEBUG (not for measuring)"
        } else {
            "release"
        }
    );
    let _ = writeln!(
        md,
        "- mode: {} ({rounds} timed rounds, {} input rows; planning table {} snapshots, {} data files)",
        if opts.quick { "quick" } else { "full" },
        thousands(rows as u64),
        thousands(PLAN_SNAPSHOTS as u64),
        thousands(PLAN_FILES as u64)
    );
    md.push_str("\n## Results\n\n");
    md.push_str(&peer_tables(
        &results,
        "On-CPU time of the whole process, all threads, in the same runs (Floe: \
         `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`; PyIceberg: `time.process_time()`, the \
         same clock). \
         Both sides use more than one thread (Floe: Tokio's blocking pool does the file IO; \
         PyIceberg: its thread pool writes and reads files, pyarrow its own threads), so \
         this counts all of them; time spent waiting for a CPU on this shared machine is \
         not in it:",
    ));
    md.push('\n');
    md.push_str(&memory_section(
        &memory,
        "The Floe process also holds the suite's input batches (in its start RSS); each \
         peer process holds its own copy of the input table, loaded before the first \
         round.",
    ));
    md.push_str("\n## Targets\n\n");
    for t in &targets {
        let _ = writeln!(md, "- {t}");
    }
    md.push_str("\n## Cross-checks\n\n");
    for c in &checks {
        let _ = writeln!(md, "- {c}");
    }
    md.push_str("\n## How the comparison is set up, and what is not equal\n\n");
    for n in notes() {
        let _ = writeln!(md, "- {n}");
    }
    let path = opts.out_dir.join(format!("{date}-table.md"));
    std::fs::write(&path, &md)?;
    println!("{md}");
    drop(peer);
    drop(delta);
    crate::workdir::discard(&opts.work_dir, &root)?;
    Ok(path)
}

fn write_vs_raw(
    env: &FloeEnv,
    root: &Path,
    batches: &[RecordBatch],
    rounds: usize,
) -> Result<(Comparison, Written, u64)> {
    use parquet::arrow::ArrowWriter;

    let schema = table_schema()?;
    let props = table_properties();
    let ctx = Arc::new(WriterContext::for_data(&schema, &props, None)?);
    let parquet_props = ctx.parquet_properties();
    let arrow_schema = Arc::clone(ctx.arrow_schema());
    let dir = root.join("write");
    let (mut floe_n, mut raw_n) = (0, 0);
    let mut floe_w = None;
    let mut raw_bytes = 0;
    let cmp = alternate(
        rounds,
        || {
            floe_n += 1;
            let location = file_url(&dir.join(format!("floe-{floe_n}")));
            let (sample, files) = time_process(
                1,
                || {
                    Ok(Arc::new(LocationGenerator::for_table(
                        Arc::clone(&env.store),
                        &location,
                        &props,
                    )?))
                },
                |locations| env.rt.block_on(rolling_write(&ctx, locations, batches)),
            )?;
            floe_w = Some(written(&files));
            crate::workdir::discard(&dir, &dir.join(format!("floe-{floe_n}")))?;
            Ok(sample)
        },
        || {
            raw_n += 1;
            let path = dir.join(format!("raw-{raw_n}.parquet"));
            let (sample, bytes) = time_process(
                1,
                || {
                    std::fs::create_dir_all(&dir)?;
                    Ok(std::fs::File::create(&path)?)
                },
                |file| {
                    let mut w = ArrowWriter::try_new(
                        std::io::BufWriter::new(file),
                        Arc::clone(&arrow_schema),
                        Some(parquet_props.clone()),
                    )?;
                    for b in batches {
                        w.write(b)?;
                    }
                    w.close()?;
                    Ok(std::fs::metadata(&path)?.len())
                },
            )?;
            raw_bytes = bytes;
            std::fs::remove_file(&path)?;
            Ok(sample)
        },
    )?;
    let floe_w = floe_w.ok_or("write: no run")?;
    Ok((cmp, floe_w, raw_bytes))
}

/// Floe's unpartitioned writer alone: a `RollingFileWriter` over the batches.
async fn rolling_write(
    ctx: &Arc<WriterContext>,
    locations: Arc<LocationGenerator>,
    batches: &[RecordBatch],
) -> Result<Vec<DataFile>> {
    let mut w = RollingFileWriter::new(Arc::clone(ctx), locations, Vec::new(), None);
    for b in batches {
        w.write(b).await?;
    }
    Ok(w.close().await?)
}

struct ScanResults {
    cmps: Vec<(&'static str, Comparison)>,
    check: String,
    /// Peak RSS of the peer processes' scans beside Floe's.
    memory: Vec<MemoryRow>,
    /// Files and bytes of deltalake's own table of the same rows.
    delta_files: (u64, u64),
}

/// Row count, sum of `event_id`, null count of `amount`: what both sides compare.
/// A peer's scan digest from its reply: rows, sum of `event_id`, nulls of `amount` (as
/// [`scan_digest`] computes them; zeros where missing).
fn reply_digest(reply: &Value) -> (u64, i64, u64) {
    (
        reply["rows"].as_u64().unwrap_or(0),
        reply["event_id_sum"].as_i64().unwrap_or(0),
        reply["amount_nulls"].as_u64().unwrap_or(0),
    )
}

fn scan_digest(batches: &[RecordBatch]) -> Result<(u64, i64, u64)> {
    let mut rows = 0u64;
    let mut sum = 0i64;
    let mut nulls = 0u64;
    for b in batches {
        rows += b.num_rows() as u64;
        let ids = b
            .column_by_name("event_id")
            .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
            .ok_or("scan output without an int64 event_id column")?;
        sum += ids.iter().flatten().sum::<i64>();
        nulls += b
            .column_by_name("amount")
            .map_or(0, |c| arrow::array::Array::null_count(c.as_ref())) as u64;
    }
    Ok((rows, sum, nulls))
}

/// The local paths of the data files a scan of `metadata` plans.
fn planned_paths(
    env: &FloeEnv,
    metadata: &Arc<TableMetadata>,
    io: &Arc<ObjectStoreFileRead>,
) -> Result<Vec<PathBuf>> {
    let scan = TableScanBuilder::new(Arc::clone(metadata), io.clone()).build()?;
    Ok(env
        .rt
        .block_on(scan.plan_files())?
        .iter()
        .map(|t| {
            PathBuf::from(
                t.data_file
                    .file_path
                    .strip_prefix("file://")
                    .unwrap_or(&t.data_file.file_path),
            )
        })
        .collect())
}

/// arrow-rs's reader on each file in turn, on this thread: the raw peer of the scan.
fn raw_scan(paths: &[PathBuf]) -> Result<Vec<RecordBatch>> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    let mut out = Vec::new();
    for p in paths {
        let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(p)?)?.build()?;
        for b in reader {
            out.push(b?);
        }
    }
    Ok(out)
}

fn full_scan(
    env: &FloeEnv,
    peer: &mut PythonPeer,
    delta: (&mut PythonPeer, &Path, &Path),
    py_cat: &Value,
    table: &LoadedTable,
    rounds: usize,
    rows: usize,
) -> Result<ScanResults> {
    let io = Arc::new(ObjectStoreFileRead::new(Arc::clone(&env.store)));
    let metadata = Arc::clone(&table.metadata);
    let floe_scan = |env: &FloeEnv| -> Result<Vec<RecordBatch>> {
        let scan = TableScanBuilder::new(Arc::clone(&metadata), io.clone()).build()?;
        Ok(env.rt.block_on(scan.to_arrow())?)
    };
    let paths = planned_paths(env, &metadata, &io)?;
    let raw_scan = || raw_scan(&paths);

    // Everyone reads the same rows.
    let floe_digest = scan_digest(&floe_scan(env)?)?;
    let raw_digest = scan_digest(&raw_scan()?)?;
    let py = peer.request(&json!({
        "op": "scan", "db": py_cat["db"], "warehouse": py_cat["warehouse"], "name": "scan",
        "digest": true,
    }))?;
    let py_digest = reply_digest(&py);
    if floe_digest != raw_digest || floe_digest != py_digest || floe_digest.0 != rows as u64 {
        return Err(format!(
            "full scan: different rows read: Floe {floe_digest:?}, arrow-rs {raw_digest:?}, PyIceberg {py_digest:?}"
        )
        .into());
    }
    let check = format!(
        "full scan: Floe, arrow-rs and PyIceberg read the same {} rows of the {} Floe-written \
         files (equal row count, sum of event_id and null count of amount); PyIceberg reads \
         the table through its own SqlCatalog, where it was registered from Floe's metadata file",
        thousands(floe_digest.0),
        paths.len()
    );

    eprintln!("full scan: Floe TableScan::to_arrow vs arrow-rs ParquetRecordBatchReader");
    let raw = alternate(
        rounds,
        || Ok(time_process(1, || Ok(()), |()| floe_scan(env))?.0),
        || Ok(time_process(1, || Ok(()), |()| raw_scan())?.0),
    )?;
    progress("arrow-rs", &raw);
    eprintln!("full scan: Floe TableScan::to_arrow vs PyIceberg to_arrow");
    let req = json!({
        "op": "scan", "db": py_cat["db"], "warehouse": py_cat["warehouse"], "name": "scan",
    });
    let (py, floe_mem, py_mem) = alternate_tracked(
        rounds,
        || Ok(time_process(1, || Ok(()), |()| floe_scan(env))?.0),
        || Ok((sample_of(&peer.request(&req)?)?, peer.last_memory())),
    )?;
    progress("PyIceberg", &py);
    let mut memory = vec![MemoryRow {
        workload: "full scan".to_owned(),
        floe: floe_mem,
        peer: "PyIceberg".to_owned(),
        peer_rss: py_mem,
    }];

    // deltalake: its own table of the same rows (Delta cannot read an Iceberg table).
    let (delta, delta_dir, ipc) = delta;
    eprintln!("full scan: deltalake writes its table of the same rows");
    let written = delta.request(&json!({
        "op": "write-scan-table", "dir": delta_dir, "ipc": ipc, "name": "scan",
    }))?;
    let req = json!({"op": "scan", "dir": delta_dir, "name": "scan"});
    let mut digest_req = req.clone();
    digest_req["digest"] = json!(true);
    let d = delta.request(&digest_req)?;
    let delta_digest = reply_digest(&d);
    if delta_digest != floe_digest || d["columns"].as_u64() != Some(10) {
        return Err(format!(
            "full scan: deltalake read {delta_digest:?} in {} columns, Floe {floe_digest:?}",
            d["columns"]
        )
        .into());
    }
    let delta_files = (
        written["files"].as_u64().unwrap_or(0),
        written["bytes"].as_u64().unwrap_or(0),
    );
    let check = format!(
        "{check}; deltalake reads the same {} rows (and 10 columns) from its own table, \
         written by `write_deltalake` from the same input ({} files, {})",
        thousands(delta_digest.0),
        delta_files.0,
        mb(delta_files.1)
    );
    eprintln!("full scan: Floe TableScan::to_arrow vs deltalake to_pyarrow_table");
    let (dl, floe_mem, delta_mem) = alternate_tracked(
        rounds,
        || Ok(time_process(1, || Ok(()), |()| floe_scan(env))?.0),
        || Ok((sample_of(&delta.request(&req)?)?, delta.last_memory())),
    )?;
    progress("deltalake", &dl);
    memory.push(MemoryRow {
        workload: "full scan".to_owned(),
        floe: floe_mem,
        peer: "deltalake".to_owned(),
        peer_rss: delta_mem,
    });
    Ok(ScanResults {
        cmps: vec![("arrow-rs", raw), ("PyIceberg", py), ("deltalake", dl)],
        check,
        memory,
        delta_files,
    })
}

/// The `event_ts` range of the selective scan: half of day 3, so one of the table's ten
/// day partitions holds every match (about 5% of the rows).
fn selective_bounds() -> (i64, i64) {
    let lo = EPOCH_2024_US + 3 * DAY_US + DAY_US / 4;
    (lo, lo + DAY_US / 2)
}

/// Selective scan of the partitioned table Floe wrote: Floe's `TableScan` with an
/// `event_ts` range filter (partition pruning to one file, then row groups and rows) vs
/// PyIceberg's `scan(row_filter=...).to_arrow()` on the same table; both must return the
/// same rows, and exactly those in the range.
fn selective_scan(
    env: &FloeEnv,
    peer: &mut PythonPeer,
    py_cat: &Value,
    table: &LoadedTable,
    rounds: usize,
) -> Result<(WorkloadResult, String)> {
    let io = Arc::new(ObjectStoreFileRead::new(Arc::clone(&env.store)));
    let metadata = Arc::clone(&table.metadata);
    let (lo, hi) = selective_bounds();
    let floe_scan = || -> Result<Vec<RecordBatch>> {
        let filter = Reference::new("event_ts")
            .greater_than_or_eq(Datum::Timestamp(lo))
            .and(Reference::new("event_ts").less_than(Datum::Timestamp(hi)));
        let scan = TableScanBuilder::new(Arc::clone(&metadata), io.clone())
            .filter(filter)
            .build()?;
        Ok(env.rt.block_on(scan.to_arrow())?)
    };
    let batches = floe_scan()?;
    let floe_digest = scan_digest(&batches)?;
    // Every row Floe returns is in the range.
    for batch in &batches {
        let ts = batch
            .column_by_name("event_ts")
            .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
            .ok_or("selective scan: no event_ts timestamp column")?;
        if ts.iter().flatten().any(|t| t < lo || t >= hi) {
            return Err("selective scan: Floe returned a row outside the filter".into());
        }
    }
    let req = json!({
        "op": "scan", "db": py_cat["db"], "warehouse": py_cat["warehouse"], "name": "scan",
        "lo": lo, "hi": hi,
    });
    let mut digest_req = req.clone();
    digest_req["digest"] = json!(true);
    let py = peer.request(&digest_req)?;
    let py_digest = reply_digest(&py);
    if floe_digest != py_digest || floe_digest.0 == 0 {
        return Err(format!(
            "selective scan: different rows read: Floe {floe_digest:?}, PyIceberg {py_digest:?}"
        )
        .into());
    }
    let rows = floe_digest.0;
    let check = format!(
        "selective scan: Floe and PyIceberg read the same {} rows (equal row count, sum of \
         event_id and null count of amount), every one inside the filter's range",
        thousands(rows)
    );
    eprintln!("selective scan: Floe TableScan with a filter vs PyIceberg scan(row_filter)");
    let cmp = alternate(
        rounds,
        || Ok(time_process(1, || Ok(()), |()| floe_scan())?.0),
        || sample_of(&peer.request(&req)?),
    )?;
    progress("PyIceberg", &cmp);
    Ok((
        WorkloadResult {
            name: "selective scan (`event_ts` in half a day)".to_owned(),
            input: format!(
                "Floe-written table, 10 day partitions; the filter keeps {} rows of one \
                 partition",
                thousands(rows)
            ),
            measure: Measure::Throughput {
                items: rows,
                unit: "rows",
            },
            cmp,
        },
        check,
    ))
}

// ---- the planning table ---------------------------------------------------------------

/// Where the planning table's metadata file is, once generated.
const PLAN_METADATA: &str = "metadata/v1.metadata.json";

/// The planning table under `dir` (generated once, reused while its marker exists): its
/// metadata file's path.
///
/// [`PLAN_FILES`] data files appended by [`PLAN_SNAPSHOTS`] snapshots in time order
/// (10 files each, over [`PLAN_DAYS`] days, so one day holds 1% of the files), each
/// snapshot adding one manifest, as fast appends do (PyIceberg's default append): the
/// current snapshot's manifest list holds 10,000 manifests with partition summaries.
/// Files have full metrics (sizes, counts, NaN counts, bounds of all ten columns), and
/// the timestamps of a file span its snapshot's ~14 minutes of the day.
fn plan_table(dir: &Path) -> Result<PathBuf> {
    let marker = dir.join("complete");
    let metadata_path = dir.join(PLAN_METADATA);
    if marker.exists() {
        eprintln!("planning table: reusing {}", dir.display());
        return Ok(metadata_path);
    }
    eprintln!(
        "planning table: generating {} snapshots and {} data files in {}",
        thousands(PLAN_SNAPSHOTS as u64),
        thousands(PLAN_FILES as u64),
        dir.display()
    );
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    let meta_dir = dir.join("metadata");
    std::fs::create_dir_all(&meta_dir)?;
    let dir = dir.canonicalize()?;
    let location = file_url(&dir);
    let schema = Arc::new(table_schema()?);
    let spec = day_spec()?;
    let files_per_snapshot = PLAN_FILES / PLAN_SNAPSHOTS;
    let snapshots_per_day = PLAN_SNAPSHOTS / PLAN_DAYS;
    let slot_us = DAY_US / snapshots_per_day as i64;
    let mut rng = Rng::new(0x91A4_0000_0000_0003);
    let table_uuid = uuid::Uuid::from_u64_pair(rng.next_u64(), rng.next_u64());
    let mut ids = Vec::with_capacity(PLAN_SNAPSHOTS);
    let mut manifests = Vec::with_capacity(PLAN_SNAPSHOTS);
    let mut snaps = Vec::with_capacity(PLAN_SNAPSHOTS);
    let mut snapshot_log = Vec::with_capacity(PLAN_SNAPSHOTS);
    let mut next_event_id = 1i64;
    let (mut total_records, mut total_size) = (0i64, 0i64);
    let start = Instant::now();
    for k in 0..PLAN_SNAPSHOTS {
        let id = rng.positive_i64();
        let seq = k as i64 + 1;
        let day = (k / snapshots_per_day) as i64;
        let slot_start = EPOCH_2024_US + day * DAY_US + (k % snapshots_per_day) as i64 * slot_us;
        let mut writer = ManifestWriter::new(
            ManifestMetadata {
                schema: Arc::clone(&schema),
                partition_spec: spec.clone(),
                format_version: FormatVersion::V2,
                content: ManifestContentType::Data,
            },
            Some(id),
        );
        let (mut added_records, mut added_size) = (0i64, 0i64);
        for j in 0..files_per_snapshot {
            let f = plan_data_file(
                &mut rng,
                &location,
                DAY_2024_01_01 + day as i32,
                slot_start,
                slot_us,
                &mut next_event_id,
                k * files_per_snapshot + j,
            );
            added_records += f.record_count;
            added_size += f.file_size_in_bytes;
            writer.add(f)?;
        }
        total_records += added_records;
        total_size += added_size;
        let manifest_location = format!("{location}/metadata/{k:05}-{id}-m0.avro");
        let (bytes, mut mf) = writer.finish(&manifest_location)?;
        std::fs::write(meta_dir.join(format!("{k:05}-{id}-m0.avro")), bytes)?;
        mf.sequence_number = seq;
        mf.min_sequence_number = seq;
        manifests.push(mf);
        let ts_ms = (slot_start + slot_us) / 1000;
        let mut snap = json!({
            "snapshot-id": id,
            "sequence-number": seq,
            "timestamp-ms": ts_ms,
            "manifest-list": format!("{location}/metadata/snap-{id}-1-{k:05}.avro"),
            "summary": {
                "operation": "append",
                "added-data-files": files_per_snapshot.to_string(),
                "added-records": added_records.to_string(),
                "added-files-size": added_size.to_string(),
                "changed-partition-count": "1",
                "total-records": total_records.to_string(),
                "total-files-size": total_size.to_string(),
                "total-data-files": ((k + 1) * files_per_snapshot).to_string(),
                "total-delete-files": "0",
                "total-position-deletes": "0",
                "total-equality-deletes": "0"
            },
            "schema-id": 0
        });
        if let (Some(p), Some(obj)) = (ids.last(), snap.as_object_mut()) {
            obj.insert("parent-snapshot-id".to_owned(), json!(p));
        }
        snaps.push(snap);
        snapshot_log.push(json!({"snapshot-id": id, "timestamp-ms": ts_ms}));
        ids.push(id);
    }
    // The current snapshot's manifest list: every manifest.
    let (&current, &parent) = (
        ids.last().ok_or("no snapshots")?,
        ids.get(ids.len().saturating_sub(2)).ok_or("no parent")?,
    );
    let mut list = ManifestListWriter::new(
        FormatVersion::V2,
        current,
        Some(parent),
        PLAN_SNAPSHOTS as i64,
    );
    list.add_manifests(manifests)?;
    std::fs::write(
        meta_dir.join(format!("snap-{current}-1-{:05}.avro", PLAN_SNAPSHOTS - 1)),
        list.finish()?,
    )?;
    let last_updated = snapshot_log
        .last()
        .and_then(|s| s["timestamp-ms"].as_i64())
        .unwrap_or(0);
    let doc = json!({
        "format-version": 2,
        "table-uuid": table_uuid.to_string(),
        "location": location,
        "last-sequence-number": PLAN_SNAPSHOTS,
        "last-updated-ms": last_updated,
        "last-column-id": 10,
        "current-schema-id": 0,
        "schemas": [table_schema_json()],
        "default-spec-id": 0,
        "partition-specs": [day_spec_json()],
        "last-partition-id": 1000,
        "default-sort-order-id": 0,
        "sort-orders": [{"order-id": 0, "fields": []}],
        "properties": table_properties(),
        "current-snapshot-id": current,
        "refs": {"main": {"snapshot-id": current, "type": "branch"}},
        "snapshots": snaps,
        "statistics": [],
        "partition-statistics": [],
        "snapshot-log": snapshot_log,
        "metadata-log": []
    });
    std::fs::write(&metadata_path, serde_json::to_vec(&doc)?)?;
    // It must parse before it is marked complete.
    TableMetadata::from_json_slice(&std::fs::read(&metadata_path)?)?;
    std::fs::write(&marker, b"")?;
    eprintln!("  generated in {:.1} s", start.elapsed().as_secs_f64());
    Ok(metadata_path)
}

/// One data file of the planning table, with the metrics a Parquet writer collects.
fn plan_data_file(
    rng: &mut Rng,
    location: &str,
    day: i32,
    slot_start: i64,
    slot_us: i64,
    next_event_id: &mut i64,
    n: usize,
) -> DataFile {
    use floe_spec::manifest::ColumnMap;

    let records = rng.range(50_000, 500_000);
    let size = records * rng.range(25, 45);
    let path = format!(
        "{location}/data/event_ts_day={}/{:016x}-{n:06}.parquet",
        floe_spec::values::date_to_string(day),
        rng.next_u64()
    );
    let mut f = DataFile::new(DataFileFormat::Parquet, path, records, size)
        .with_partition(vec![Some(Datum::Date(day))]);
    let shares = [10, 12, 10, 4, 12, 10, 2, 1, 2, 37];
    f.column_sizes = (1..=10)
        .map(|c| (c, size * shares[c as usize - 1] / 100))
        .collect();
    f.value_counts = (1..=10).map(|c| (c, records)).collect();
    f.null_value_counts = (1..=10)
        .map(|c| {
            (
                c,
                if c <= 2 {
                    0
                } else {
                    rng.range(0, records / 20)
                },
            )
        })
        .collect();
    f.nan_value_counts = ColumnMap::from([(5, rng.range(0, 3))]);
    let ts_lo = slot_start + rng.range(0, slot_us / 10);
    let ts_hi = slot_start + slot_us - rng.range(1, slot_us / 10);
    let c_lo = rng.range(0, 3) as usize;
    let c_hi = rng.range(17, 20) as usize;
    f.lower_bounds = ColumnMap::from([
        (1, Datum::Long(*next_event_id)),
        (2, Datum::Timestamp(ts_lo)),
        (3, Datum::Long(rng.range(1, 1_000))),
        (4, Datum::String(EVENT_TYPES[0].to_owned())),
        (5, Datum::Double(rng.range(1, 100) as f64 / 100.0)),
        (6, decimal(rng.range(0, 100))),
        (7, Datum::String(crate::data::COUNTRIES[c_lo].to_owned())),
        (8, Datum::Boolean(false)),
        (9, Datum::Date(day)),
        (10, Datum::String("Mozilla/5.0 (X11;".to_owned())),
    ]);
    f.upper_bounds = ColumnMap::from([
        (1, Datum::Long(*next_event_id + records - 1)),
        (2, Datum::Timestamp(ts_hi)),
        (3, Datum::Long(rng.range(999_000, 1_000_000))),
        (4, Datum::String(EVENT_TYPES[5].to_owned())),
        (
            5,
            Datum::Double(rng.range(9_000_000, 10_000_000) as f64 / 1000.0),
        ),
        (6, decimal(rng.range(9_999_000, 10_000_000))),
        (7, Datum::String(crate::data::COUNTRIES[c_hi].to_owned())),
        (8, Datum::Boolean(true)),
        (9, Datum::Date(day)),
        (10, Datum::String("Mozilla/5.0 (X11<".to_owned())),
    ]);
    *next_event_id += records;
    f.split_offsets = Some(vec![4]);
    f
}

/// A `decimal(10, 2)` value from its unscaled value.
fn decimal(unscaled: i64) -> Datum {
    Datum::Decimal {
        unscaled: i128::from(unscaled),
        precision: 10,
        scale: 2,
    }
}

/// The planning filter: one day's worth of time starting at noon of day 50, so two
/// day-partitions survive partition pruning and column bounds keep about half of each.
fn plan_bounds() -> (i64, i64) {
    let lo = EPOCH_2024_US + 50 * DAY_US + DAY_US / 2;
    (lo, lo + DAY_US)
}

fn planning(
    env: &FloeEnv,
    peer: &mut PythonPeer,
    metadata_path: &Path,
    rounds: usize,
) -> Result<(WorkloadResult, String)> {
    let metadata = Arc::new(TableMetadata::from_json_slice(&std::fs::read(
        metadata_path,
    )?)?);
    let io = Arc::new(ObjectStoreFileRead::new(Arc::clone(&env.store)));
    let (lo, hi) = plan_bounds();
    let filter = || -> Expression {
        Reference::new("event_ts")
            .greater_than_or_eq(Datum::Timestamp(lo))
            .and(Reference::new("event_ts").less_than(Datum::Timestamp(hi)))
    };
    let plan = || -> Result<Vec<floe_table::scan::FileScanTask>> {
        let scan = TableScanBuilder::new(Arc::clone(&metadata), io.clone())
            .filter(filter())
            .build()?;
        Ok(env.rt.block_on(scan.plan_files())?)
    };
    let tasks = plan()?;
    let floe_digest = json!({
        "files": tasks.len(),
        "records": tasks.iter().map(|t| t.data_file.record_count).sum::<i64>(),
        "path_bytes": tasks.iter().map(|t| t.data_file.file_path.len()).sum::<usize>(),
    });
    let location = file_url(&metadata_path.canonicalize()?);
    let py = peer.request(&json!({
        "op": "plan", "metadata_location": location, "lo": lo, "hi": hi, "digest": true,
    }))?;
    let py_digest =
        json!({"files": py["files"], "records": py["records"], "path_bytes": py["path_bytes"]});
    if floe_digest != py_digest {
        return Err(format!(
            "planning: different files planned: Floe {floe_digest}, PyIceberg {py_digest}"
        )
        .into());
    }
    let files = tasks.len();
    drop(tasks);
    eprintln!(
        "planning: {files} of {} files, Floe TableScan::plan_files vs PyIceberg plan_files",
        thousands(PLAN_FILES as u64)
    );
    let (one, _) = time_process(1, || Ok(()), |()| plan())?;
    let inner = inner_runs(one.wall, PLAN_ROUND);
    let req = json!({"op": "plan", "metadata_location": location, "lo": lo, "hi": hi});
    let cmp = alternate(
        rounds,
        || Ok(time_process(inner, || Ok(()), |()| plan())?.0),
        || sample_of(&peer.request(&req)?),
    )?;
    progress("PyIceberg", &cmp);
    let check = format!(
        "planning: both sides plan the same {} of {} data files (equal count, record-count \
         sum and path-length sum) from the {} snapshots' metadata file ({} manifests in the \
         current manifest list, per PyIceberg: {})",
        thousands(files as u64),
        thousands(PLAN_FILES as u64),
        thousands(metadata.snapshots().len() as u64),
        thousands(PLAN_SNAPSHOTS as u64),
        py["manifests"]
    );
    Ok((
        WorkloadResult {
            name: "planning (1%-selective filter)".to_owned(),
            input: format!(
                "{} snapshots, {} data files in {} manifests, day-partitioned; \
                 `event_ts` in [day 50 12:00, day 51 12:00) → {} files",
                thousands(PLAN_SNAPSHOTS as u64),
                thousands(PLAN_FILES as u64),
                thousands(PLAN_SNAPSHOTS as u64),
                thousands(files as u64)
            ),
            measure: Measure::Latency,
            cmp,
        },
        check,
    ))
}

fn notes() -> Vec<String> {
    [
        "Same data: the input batches are generated once per run, written to an Arrow IPC \
         file, and loaded by PyIceberg before timing (as one `pa.Table` of the same \
         65,536-row chunks); Floe and arrow-rs write the `RecordBatch`es in memory. Rows \
         are in random time order over 10 days, so every batch holds rows of every day \
         partition.",
        "Same Parquet settings: zstd level 3 on all sides (set as table properties on both \
         tables; PyIceberg's own default level is pyarrow's, 1). Floe and raw arrow-rs use \
         the identical `WriterProperties` (`WriterContext::parquet_properties`); PyIceberg \
         uses pyarrow's writer (C++) with its own encodings, page and row-group sizes (one \
         row group per file at these sizes on all sides). File sizes are in the cross-checks.",
        "write Parquet: Floe's `RollingFileWriter` (arrow-rs's column writers, a large \
         batch's columns encoded on both cores, into an `object_store` `LocalFileSystem` \
         upload, plus NaN counting and the Iceberg metrics of the footer) against \
         arrow-rs's synchronous `ArrowWriter` into a `BufWriter<File>`, the same \
         `RecordBatch`es, which encodes a file's columns one after the other on one \
         thread. Same `WriterProperties`, same row groups: the encodings and the bytes of \
         the column chunks are the same (see the file sizes in the checks); Floe's wall \
         time gains from the second core, its CPU time does not.",
        "append: Floe's side is everything an append does — data files, manifest, manifest \
         list (written through the object store), and `SqlCatalog::commit_table` with \
         `add-snapshot` + `set-snapshot-ref` (which writes the metadata JSON and swaps the \
         pointer in SQLite) — against PyIceberg's `table.append(df)`, which does the same \
         into its `SqlCatalog` on SQLite. Each round appends to a fresh table, created and \
         dropped outside the timer on both sides. Floe's snapshot summary holds fewer \
         fields than PyIceberg's (no partition summaries). Both sides write the files of a \
         partitioned append in parallel: PyIceberg on its thread pool, Floe's \
         `PartitionedWriter` on Tokio tasks (one per partition, at most the cores at once). \
         The bulk appends are bound by Parquet encoding (zstd level 3 on 1 M rows); the \
         small append (the first 10,000 rows, one file) measures the per-append overhead \
         (manifest, manifest list, metadata JSON and catalog commit).",
        "full scan: the partitioned table Floe wrote (10 files, one per day), read in full. \
         Floe: `TableScanBuilder::build().to_arrow()` (planning included: manifest list and \
         manifest read, then `ArrowReader`, up to 8 files in flight, each decoded on its own \
         Tokio task, so both cores decode). arrow-rs: `ParquetRecordBatchReaderBuilder` on \
         each file in turn on one thread (the raw single-threaded reader), the file \
         list taken from Floe's plan outside the timer (no planning, no field-id mapping). \
         PyIceberg: `tbl.scan().to_arrow()` with its thread pool over files and pyarrow's \
         multi-threaded decoding. Results are kept until the clock stops on all sides.",
        "deltalake (delta-rs's Python package): a Delta table is a folder with its \
         transaction log, no catalog. append: `write_deltalake(table, pa_table, \
         mode=\"append\", writer_properties=WriterProperties(compression=\"ZSTD\", \
         compression_level=3))` into a fresh table made by `DeltaTable.create` outside the \
         timer (the whole append: Parquet files with per-file column statistics, which \
         delta-rs collects for every column here, and the JSON commit of version 1). Delta \
         partitions by column values only (no transforms): the partitioned table is \
         partitioned by `event_date`, which is the day of `event_ts` in this data, so it \
         has the same 10 partitions as Iceberg's `day(event_ts)` (but, as Delta does, \
         without the `event_date` column inside the files). full scan: deltalake cannot \
         read an Iceberg table, so it scans its own table of the same rows (written once \
         by `write_deltalake`, partitioned by `event_date`, checked to hold the same rows) \
         with `DeltaTable(path).to_pyarrow_table()`, loading the table's log included \
         (delta-rs lists the files, pyarrow's dataset reader decodes them on its thread \
         pool). Planning is not compared with deltalake: the planning table is an Iceberg \
         table Floe generates, which Delta cannot read, and the suite has no selective \
         scan of real files.",
        "planning: the table is generated by Floe's `ManifestWriter` and \
         `ManifestListWriter` and a metadata JSON with 10,000 snapshots; only the current \
         snapshot's manifest list is written (older snapshots name lists that planning \
         never reads — writing them all would be quadratic in size for a fast-append \
         table), and the data files do not exist (planning does not open them). Both sides \
         start from parsed metadata (Floe `Arc<TableMetadata>`; PyIceberg a `StaticTable` \
         loaded once) and read the manifest list and manifests from local files each run: \
         Floe with up to 8 manifests in flight on a 2-worker Tokio runtime, PyIceberg with \
         its thread pool; PyIceberg's manifest cache is cleared before each run. Floe \
         keeps the parsed Avro writer schema and Iceberg schema of manifest headers by \
         their text (a process-wide cache; every manifest of the table carries the same \
         text), but reads and decodes every manifest and the manifest list each run. Floe's \
         figure for a round is the mean of back-to-back plans lasting ≥ 0.3 s.",
        "The machine is shared (other engineers compile on the same 2 cores): see the load \
         average above. Alternating rounds spreads that noise over both sides; the \
         per-round ratio range shows how much it moved, and on-CPU time is the steadier \
         figure.",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn progress(peer: &str, cmp: &Comparison) {
    eprintln!(
        "  median wall: Floe {:.4} s, {peer} {:.4} s, ratio {:.2}x (on-CPU ratio {:.2}x)",
        median(&cmp.floe),
        median(&cmp.peer),
        cmp.ratio(),
        cmp.cpu_ratio()
    );
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("?")
}
