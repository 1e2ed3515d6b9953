//! `floe-bench stream`: many writers appending 1,000-row micro-batches to one table —
//! Floe with and without group commit, beside PyIceberg 0.12 on its `SqlCatalog` and
//! deltalake (delta-rs's Python package) on a Delta table.
//!
//! Every case is time-boxed (quick: 3 s; full: 10 s) on a fresh table of a SQLite catalog
//! with a local warehouse: each writer appends batches back to back until the time is
//! up, finishing the batch in flight. Cases, alternating round by round (quick: 3
//! rounds; full: 5), for 1, 4, 16 and 64 concurrent writers:
//!
//! - **Floe, one CAS per batch**: each writer is a task holding a `floe_table::Table` on
//!   one shared `SqlCatalog`; per batch it refreshes the table and calls
//!   `Table::append` (Parquet data file, manifest, manifest list, commit; a lost race is
//!   retried by the transaction with the table's `commit.retry.*` settings);
//! - **Floe, group commit**: each writer sends its batches through a `StreamWriter` to
//!   one `GroupCommitter`, which commits the intents that arrive together as one
//!   snapshot; a writer keeps up to [`PIPELINE_DEPTH`] batches in flight (it writes the
//!   data file of batch n+1 while batch n commits; acknowledgements in seq order);
//! - **PyIceberg**: each writer is a process with its own `SqlCatalog` on the same SQLite
//!   file, calling `table.append(df)` per batch with PyIceberg's own retries (the same
//!   `commit.retry.*` values); 1, 4 and 16 writers (64 Python processes do not fit the
//!   machine), peer window ≥ 6 s so that a few dozen batches land;
//! - **deltalake**: each writer is a process holding a `DeltaTable` of one Delta table in
//!   a local folder, calling `write_deltalake(table, df, mode="append")` per batch (one
//!   JSON commit each, delta-rs's conflict retry for the lost versions, the writer's
//!   progress as a `txn` action in the same commit); the PyIceberg writer counts and
//!   window (`bench/peers/deltalake_peer.py`).
//!
//! Reported per case: acknowledged batches per second (median over rounds, min–max),
//! p50/p99 ack latency (every batch of every round, from the start of the batch to its
//! acknowledgement), failed batches, and manifests in the final snapshot per 1,000
//! batches. Every case ends with a check: the table's `total-records` equals 1,000 × the
//! acknowledged batches (nothing lost, nothing twice; deltalake's rows are also read back,
//! every acknowledged `(writer, seq)` batch present).

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringBuilder};
use arrow::datatypes::SchemaRef as ArrowSchemaRef;
use floe_catalog::{Catalog, ErrorKind, NamespaceIdent, SqlCatalog, TableCreation, TableIdent};
use floe_spec::schema::Schema;
use floe_spec::types::{NestedField, PrimitiveType, Type};
use floe_table::Table;
use floe_table::arrow_schema::schema_to_arrow;
use floe_table::stream::{GroupCommitConfig, GroupCommitter, StreamWriter, StreamWriterConfig};
use serde_json::Value;

use crate::harness::{Comparison, Result, median, spread};
use crate::machine::Machine;
use crate::peer::DELTALAKE_SCRIPT;
use crate::report::{Measure, PeerResult, Report, WorkloadResult, human, sig3, thousands, today};
use crate::spec_bench::Options;

/// Rows per micro-batch.
pub const BATCH_ROWS: usize = 1000;

/// Batches a group-commit writer keeps in flight (flushed, not yet acknowledged).
pub const PIPELINE_DEPTH: usize = 8;

/// Concurrent writers of the Floe cases.
pub const WRITER_COUNTS: [usize; 4] = [1, 4, 16, 64];

/// Concurrent writers of the PyIceberg cases.
pub const PEER_WRITER_COUNTS: [usize; 3] = [1, 4, 16];

/// The shortest window of the Python peers (quick mode; full mode's 10 s window is
/// longer): with 16 PyIceberg writers an append takes a second or more, and 6 s still
/// lands a few dozen batches per round.
const PEER_MIN_SECONDS: f64 = 6.0;

/// Issue targets at 16 writers.
const TARGET_BATCHES_PER_SEC: f64 = 2000.0;
const TARGET_VS_PEER: f64 = 100.0;
const TARGET_MANIFESTS_PER_1000: f64 = 50.0;

const NS: &str = "bench";

/// The retry settings of every table, Floe and PyIceberg alike.
fn retry_properties() -> HashMap<String, String> {
    [
        ("commit.retry.num-retries", "50"),
        ("commit.retry.min-wait-ms", "1"),
        ("commit.retry.max-wait-ms", "64"),
        ("commit.retry.total-timeout-ms", "60000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// `writer int, seq long, id long, payload string` (as the peer's schema).
fn schema() -> Result<Schema> {
    Ok(Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "writer", Type::Primitive(PrimitiveType::Int)),
            NestedField::required(2, "seq", Type::Primitive(PrimitiveType::Long)),
            NestedField::required(3, "id", Type::Primitive(PrimitiveType::Long)),
            NestedField::optional(4, "payload", Type::Primitive(PrimitiveType::String)),
        ])
        .build()?)
}

/// Batch `seq` of writer `writer`: ids `seq * 1000 ..`, payload `w<writer>-s<seq>-<i>`.
fn batch(schema: &ArrowSchemaRef, writer: i32, seq: i64) -> Result<RecordBatch> {
    let base = seq * BATCH_ROWS as i64;
    // Formatted straight into the array's buffer: no string allocated per row.
    let mut payload = StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * 16);
    for i in 0..BATCH_ROWS {
        write!(payload, "w{writer}-s{seq}-{i}")?;
        payload.append_value("");
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![writer; BATCH_ROWS])),
        Arc::new(Int64Array::from(vec![seq; BATCH_ROWS])),
        Arc::new(Int64Array::from_iter_values(base..base + BATCH_ROWS as i64)),
        Arc::new(payload.finish()),
    ];
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

/// Which way batches are committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    /// Floe, group commit.
    Group,
    /// Floe, one compare-and-swap per batch.
    PerBatch,
    /// PyIceberg, one commit per batch.
    Peer,
    /// deltalake (delta-rs), one commit per batch.
    Delta,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Group => "Floe, group commit",
            Mode::PerBatch => "Floe, one CAS per batch",
            Mode::Peer => "PyIceberg SqlCatalog, one commit per batch",
            Mode::Delta => "deltalake, one commit per batch",
        }
    }

    /// Whether the table has manifests (Delta has a log of JSON commits instead).
    fn has_manifests(self) -> bool {
        self != Mode::Delta
    }
}

/// One run of one case.
#[derive(Debug, Clone, Default)]
pub struct CaseRun {
    /// Acknowledged batches.
    pub acked: u64,
    /// Batches whose commit failed for good.
    pub failed: u64,
    /// Seconds from the start until the last batch ended.
    pub elapsed: f64,
    /// Ack latency of every acknowledged batch, seconds.
    pub latencies: Vec<f64>,
    /// Manifests in the final snapshot's manifest list.
    pub manifests: u64,
    /// Snapshots of the table at the end.
    pub snapshots: u64,
    /// Commits made (group commit: groups; otherwise one per acknowledged batch).
    pub commits: u64,
}

impl CaseRun {
    /// Acknowledged batches per second.
    pub fn rate(&self) -> f64 {
        if self.elapsed > 0.0 {
            self.acked as f64 / self.elapsed
        } else {
            0.0
        }
    }
}

/// Every run of one case.
#[derive(Debug, Clone)]
struct Case {
    path: Mode,
    writers: usize,
    runs: Vec<CaseRun>,
}

impl Case {
    fn rates(&self) -> Vec<f64> {
        self.runs.iter().map(CaseRun::rate).collect()
    }

    fn latencies(&self) -> Vec<f64> {
        let mut all: Vec<f64> = self
            .runs
            .iter()
            .flat_map(|r| r.latencies.iter().copied())
            .collect();
        all.sort_by(f64::total_cmp);
        all
    }

    fn acked(&self) -> u64 {
        self.runs.iter().map(|r| r.acked).sum()
    }

    fn failed(&self) -> u64 {
        self.runs.iter().map(|r| r.failed).sum()
    }

    fn batches_per_commit(&self) -> f64 {
        let commits: u64 = self.runs.iter().map(|r| r.commits).sum();
        if commits == 0 {
            f64::NAN
        } else {
            self.acked() as f64 / commits as f64
        }
    }

    fn manifests_per_1000(&self) -> f64 {
        if !self.path.has_manifests() {
            return f64::NAN;
        }
        let manifests: u64 = self.runs.iter().map(|r| r.manifests).sum();
        let acked = self.acked();
        if acked == 0 {
            f64::NAN
        } else {
            manifests as f64 * 1000.0 / acked as f64
        }
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(t: f64) -> String {
    if t.is_nan() {
        "–".to_owned()
    } else {
        format!("{} ms", sig3(t * 1000.0))
    }
}

/// The Floe side: one SQLite catalog and its warehouse.
struct FloeEnv {
    catalog: Arc<SqlCatalog>,
    ns: NamespaceIdent,
    tables: usize,
}

impl FloeEnv {
    async fn new(dir: &Path) -> Result<Self> {
        let db = dir.join("floe.db");
        let warehouse = dir.join("floe-wh");
        std::fs::create_dir_all(&warehouse)?;
        let url = format!("sqlite://{}", db.display());
        let catalog = Arc::new(SqlCatalog::connect(&url, &warehouse.display().to_string()).await?);
        let ns = NamespaceIdent::new([NS])?;
        catalog.create_namespace(&ns, HashMap::new()).await?;
        Ok(Self {
            catalog,
            ns,
            tables: 0,
        })
    }

    async fn create(&mut self, prefix: &str) -> Result<Table> {
        self.tables += 1;
        let mut creation = TableCreation::new(format!("{prefix}_{}", self.tables), schema()?);
        creation.properties = retry_properties();
        let loaded = self.catalog.create_table(&self.ns, creation).await?;
        let store = self.catalog.warehouse().store().clone();
        Ok(Table::new(loaded, self.catalog.clone(), store))
    }

    /// Drops a table; its files stay until the suite's folder is discarded (see
    /// [`crate::workdir`]: deleting them would slow the next case's file creations).
    async fn drop(&self, ident: &TableIdent) -> Result<()> {
        self.catalog.drop_table(ident, false).await?;
        Ok(())
    }
}

/// Manifests of the current snapshot, snapshots, and `total-records`, from a fresh load.
async fn table_digest(table: &Table) -> Result<(u64, u64, u64)> {
    let mut fresh = table.clone();
    fresh.refresh().await?;
    let manifests = fresh.manifests(None).await?.len() as u64;
    let total = fresh
        .current_snapshot()
        .and_then(|s| s.summary.additional_properties.get("total-records"))
        .map_or(Ok(0), |v| v.parse::<u64>())?;
    Ok((manifests, fresh.metadata().snapshots().len() as u64, total))
}

/// What one writer task did.
#[derive(Debug, Default)]
struct WriterOut {
    acked: u64,
    failed: u64,
    latencies: Vec<f64>,
}

/// Floe without group commit: `writers` tasks, each `refresh` + `Table::append` per batch.
async fn per_batch_case(env: &mut FloeEnv, writers: usize, window: Duration) -> Result<CaseRun> {
    let table = env.create("per_batch").await?;
    let arrow: ArrowSchemaRef = Arc::new(schema_to_arrow(table.schema())?);
    let start = Instant::now();
    let deadline = start + window;
    let mut tasks = Vec::with_capacity(writers);
    for w in 0..writers {
        let mut table = table.clone();
        let arrow = Arc::clone(&arrow);
        tasks.push(tokio::spawn(async move {
            let mut out = WriterOut::default();
            let mut seq = 0_i64;
            while Instant::now() < deadline {
                let b = batch(&arrow, w as i32, seq)?;
                seq += 1;
                let t0 = Instant::now();
                table.refresh().await?;
                match table.append(vec![b]).await {
                    Ok(t) => {
                        table = t;
                        out.acked += 1;
                        out.latencies.push(t0.elapsed().as_secs_f64());
                    }
                    Err(e) if e.kind() == ErrorKind::CommitFailed => out.failed += 1,
                    Err(e) => return Err(Box::new(e) as crate::harness::BoxError),
                }
            }
            Ok(out)
        }));
    }
    let mut run = CaseRun::default();
    for t in tasks {
        let out = t.await??;
        run.acked += out.acked;
        run.failed += out.failed;
        run.latencies.extend(out.latencies);
    }
    run.elapsed = start.elapsed().as_secs_f64();
    run.commits = run.acked;
    check_and_drop(env, &table, &mut run).await?;
    Ok(run)
}

/// Floe with group commit: `writers` stream writers on one `GroupCommitter` (default
/// settings: 5 ms window, up to 256 intents a group, tiered manifest merging); each
/// writes a batch and starts its flush (one micro-batch per batch), keeping up to
/// [`PIPELINE_DEPTH`] flushes in flight, waiting for the oldest's acknowledgement
/// beyond.
async fn group_case(env: &mut FloeEnv, writers: usize, window: Duration) -> Result<CaseRun> {
    let table = env.create("group").await?;
    let arrow: ArrowSchemaRef = Arc::new(schema_to_arrow(table.schema())?);
    let committer = GroupCommitter::new(
        env.catalog.clone(),
        env.catalog.warehouse().store().clone(),
        GroupCommitConfig::default(),
    );
    // Opening the writers (a new epoch each) is outside the clock.
    let mut opened = Vec::with_capacity(writers);
    for w in 0..writers {
        let mut config = StreamWriterConfig::new(format!("w{w}"));
        // Flush explicitly after every batch: one micro-batch per 1,000-row batch.
        config.max_rows = usize::MAX;
        config.max_bytes = usize::MAX;
        config.max_delay = Duration::from_hours(1);
        config.max_in_flight = PIPELINE_DEPTH;
        opened.push(StreamWriter::open(table.clone(), committer.clone(), config).await?);
    }
    let start = Instant::now();
    let deadline = start + window;
    let mut tasks = Vec::with_capacity(writers);
    for (w, writer) in opened.into_iter().enumerate() {
        let arrow = Arc::clone(&arrow);
        tasks.push(tokio::spawn(async move {
            let mut out = WriterOut::default();
            let mut seq = 0_i64;
            let mut pending = VecDeque::with_capacity(PIPELINE_DEPTH);
            let settle = |out: &mut WriterOut, t0: Instant, ack: Option<_>| match ack {
                Some(_) => {
                    out.acked += 1;
                    out.latencies.push(t0.elapsed().as_secs_f64());
                    Ok(())
                }
                None => Err("a flush of a written batch committed nothing"),
            };
            while Instant::now() < deadline {
                let b = batch(&arrow, w as i32, seq)?;
                seq += 1;
                let t0 = Instant::now();
                writer.write(&b).await?;
                pending.push_back((t0, writer.begin_flush()?));
                if pending.len() >= PIPELINE_DEPTH
                    && let Some((t0, flush)) = pending.pop_front()
                {
                    settle(&mut out, t0, flush.wait().await?)?;
                }
            }
            while let Some((t0, flush)) = pending.pop_front() {
                settle(&mut out, t0, flush.wait().await?)?;
            }
            writer.close().await?;
            Ok::<_, crate::harness::BoxError>(out)
        }));
    }
    let mut run = CaseRun::default();
    for t in tasks {
        let out = t.await??;
        run.acked += out.acked;
        run.failed += out.failed;
        run.latencies.extend(out.latencies);
    }
    run.elapsed = start.elapsed().as_secs_f64();
    run.commits = committer.stats().commits;
    check_and_drop(env, &table, &mut run).await?;
    Ok(run)
}

/// One group-commit case on a fresh SQLite catalog under `dir` (for profiling, e.g.
/// `bench/examples/stream_group.rs`): `writers` writers for `window`.
pub fn group_case_once(dir: &Path, writers: usize, window: Duration) -> Result<CaseRun> {
    std::fs::create_dir_all(dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut env = FloeEnv::new(dir).await?;
        group_case(&mut env, writers, window).await
    })
}

/// Reads the digest, checks `total-records`, drops the table.
async fn check_and_drop(env: &FloeEnv, table: &Table, run: &mut CaseRun) -> Result<()> {
    let (manifests, snapshots, total) = table_digest(table).await?;
    run.manifests = manifests;
    run.snapshots = snapshots;
    let want = run.acked * BATCH_ROWS as u64;
    if total != want {
        return Err(format!(
            "{}: total-records {total} but {} batches were acknowledged ({want} rows)",
            table.ident(),
            run.acked
        )
        .into());
    }
    env.drop(table.ident()).await
}

/// A Python peer's side, processes started per case: PyIceberg (one SQLite catalog file
/// and a warehouse) or deltalake (tables in a folder, no catalog: `db` is `None`).
struct PeerEnv<'a> {
    /// The peer's name in messages.
    name: &'static str,
    python: &'a Path,
    script: PathBuf,
    db: Option<PathBuf>,
    warehouse: PathBuf,
    tables: usize,
}

impl PeerEnv<'_> {
    fn run(&self, args: &[&str]) -> Result<Value> {
        let out = Command::new(self.python)
            .arg(&self.script)
            .args(args)
            .stderr(Stdio::inherit())
            .output()?;
        if !out.status.success() {
            return Err(format!("peer {args:?} failed: {}", out.status).into());
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().last().unwrap_or_default();
        Ok(serde_json::from_str(line).map_err(|e| format!("peer {args:?} said {text:?}: {e}"))?)
    }

    fn common(&self, table: &str) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(db) = &self.db {
            args.extend(["--db".to_owned(), db.display().to_string()]);
        }
        args.extend([
            "--warehouse".to_owned(),
            self.warehouse.display().to_string(),
            "--table".to_owned(),
            table.to_owned(),
        ]);
        args
    }

    /// `writers` peer processes appending for `seconds`, started together.
    fn case(&mut self, writers: usize, seconds: f64) -> Result<CaseRun> {
        self.tables += 1;
        let table = format!("peer_{}", self.tables);
        let mut setup = vec!["setup".to_owned()];
        setup.extend(self.common(&table));
        if self.db.is_some() {
            // PyIceberg's table properties: its commit retries (deltalake's writers set
            // theirs per commit).
            setup.push("--properties".to_owned());
            setup.push(serde_json::to_string(&retry_properties())?);
        }
        let setup: Vec<&str> = setup.iter().map(String::as_str).collect();
        self.run(&setup)?;

        let mut children: Vec<(Child, BufReader<std::process::ChildStdout>)> = Vec::new();
        for w in 0..writers {
            let mut child = Command::new(self.python)
                .arg(&self.script)
                .arg("writer")
                .args(self.common(&table))
                .args([
                    "--writer",
                    &w.to_string(),
                    "--seconds",
                    &seconds.to_string(),
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()?;
            let stdout = BufReader::new(child.stdout.take().ok_or("peer writer has no stdout")?);
            children.push((child, stdout));
        }
        for (_, stdout) in &mut children {
            let mut line = String::new();
            stdout.read_line(&mut line)?;
            if !line.contains("ready") {
                return Err(format!("peer writer did not get ready: {line:?}").into());
            }
        }
        for (child, _) in &mut children {
            let stdin = child.stdin.as_mut().ok_or("peer writer has no stdin")?;
            writeln!(stdin, "go")?;
            stdin.flush()?;
        }
        let mut run = CaseRun::default();
        let (mut first, mut last) = (f64::INFINITY, f64::NEG_INFINITY);
        for (mut child, mut stdout) in children {
            let mut line = String::new();
            stdout.read_line(&mut line)?;
            let status = child.wait()?;
            if !status.success() {
                return Err(format!("peer writer failed: {status}").into());
            }
            let out: Value = serde_json::from_str(&line)
                .map_err(|e| format!("peer writer said {line:?}: {e}"))?;
            run.acked += out["acked"].as_u64().ok_or("no acked")?;
            run.failed += out["failed"].as_u64().ok_or("no failed")?;
            run.latencies.extend(
                out["latencies"]
                    .as_array()
                    .ok_or("no latencies")?
                    .iter()
                    .filter_map(Value::as_f64),
            );
            first = first.min(out["first"].as_f64().ok_or("no first")?);
            last = last.max(out["last"].as_f64().ok_or("no last")?);
        }
        run.elapsed = (last - first).max(0.0);
        let mut digest = vec!["digest".to_owned()];
        digest.extend(self.common(&table));
        let digest: Vec<&str> = digest.iter().map(String::as_str).collect();
        let d = self.run(&digest)?;
        run.manifests = d["manifests"].as_u64().unwrap_or(0);
        run.commits = run.acked;
        run.snapshots = d["snapshots"].as_u64().unwrap_or(0);
        let total = d["total_records"].as_u64().unwrap_or(0);
        if total != run.acked * BATCH_ROWS as u64 {
            return Err(format!(
                "{} table {table}: total-records {total} but {} batches acknowledged",
                self.name, run.acked
            )
            .into());
        }
        // deltalake's digest also reads the rows back: every acknowledged batch once.
        if let (Some(read), Some(distinct)) =
            (d["rows_read"].as_u64(), d["distinct_batches"].as_u64())
            && (read != total || distinct != run.acked)
        {
            return Err(format!(
                "{} table {table}: {read} rows read in {distinct} distinct (writer, seq) \
                 batches, but {} batches acknowledged",
                self.name, run.acked
            )
            .into());
        }
        Ok(run)
    }
}

/// Runs the suite, prints the report and writes it; returns the report's path.
pub fn run(opts: &Options) -> Result<PathBuf> {
    let machine = Machine::detect();
    let rounds = if opts.quick { 3 } else { 5 };
    let window = Duration::from_secs(if opts.quick { 3 } else { 10 });
    let peer_seconds = window.as_secs_f64().max(PEER_MIN_SECONDS);
    let dir = crate::workdir::fresh(&opts.work_dir, "stream")?;
    std::fs::create_dir_all(&opts.out_dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut env = rt.block_on(FloeEnv::new(&dir))?;
    let mut peer = PeerEnv {
        name: "PyIceberg",
        python: &opts.python,
        script: opts.peer_script.clone(),
        db: Some(dir.join("peer.db")),
        warehouse: dir.join("peer-wh"),
        tables: 0,
    };
    let info = peer.run(&["info"])?;
    let pyiceberg = format!("PyIceberg {}", str_of(&info, "pyiceberg"));
    let mut delta = PeerEnv {
        name: "deltalake",
        python: &opts.python,
        script: opts.peer_script.with_file_name(DELTALAKE_SCRIPT),
        db: None,
        warehouse: dir.join("delta-wh"),
        tables: 0,
    };
    let delta_info = delta.run(&["info"])?;

    // Warm-up, untimed: one short case of each path.
    eprintln!("stream: warm-up");
    rt.block_on(per_batch_case(&mut env, 1, Duration::from_millis(500)))?;
    rt.block_on(group_case(&mut env, 1, Duration::from_millis(500)))?;
    peer.case(1, 1.0)?;
    delta.case(1, 1.0)?;

    let mut cases: Vec<Case> = Vec::new();
    let mut push = |path: Mode, writers: usize, run: CaseRun| {
        eprintln!(
            "stream: {} × {writers}: {} batches/s ({} acked, {} failed)",
            path.name(),
            sig3(run.rate()),
            run.acked,
            run.failed
        );
        match cases
            .iter_mut()
            .find(|c| c.path == path && c.writers == writers)
        {
            Some(c) => c.runs.push(run),
            None => cases.push(Case {
                path,
                writers,
                runs: vec![run],
            }),
        }
    };
    for round in 0..rounds {
        eprintln!("stream: round {}/{rounds}", round + 1);
        for &writers in &WRITER_COUNTS {
            let run = rt.block_on(group_case(&mut env, writers, window))?;
            push(Mode::Group, writers, run);
            let run = rt.block_on(per_batch_case(&mut env, writers, window))?;
            push(Mode::PerBatch, writers, run);
            if PEER_WRITER_COUNTS.contains(&writers) {
                push(Mode::Peer, writers, peer.case(writers, peer_seconds)?);
                push(Mode::Delta, writers, delta.case(writers, peer_seconds)?);
            }
        }
    }
    drop(rt);
    let _ = crate::workdir::discard(&opts.work_dir, &dir);

    let report = build_report(
        opts,
        machine,
        (&info, &delta_info),
        &pyiceberg,
        &cases,
        (rounds, window, peer_seconds),
    );
    let md = report.to_markdown();
    let path = opts.out_dir.join(format!("{}-stream.md", report.date));
    std::fs::write(&path, &md)?;
    println!("{md}");
    Ok(path)
}

fn find(cases: &[Case], path: Mode, writers: usize) -> Option<&Case> {
    cases
        .iter()
        .find(|c| c.path == path && c.writers == writers)
}

/// A comparison of seconds per batch, round by round (for the report's results table).
fn per_batch_comparison(floe: &Case, peer: &Case) -> Comparison {
    let secs = |c: &Case| {
        c.runs
            .iter()
            .map(|r| {
                if r.acked > 0 {
                    r.elapsed / r.acked as f64
                } else {
                    f64::NAN
                }
            })
            .collect::<Vec<f64>>()
    };
    Comparison {
        floe: secs(floe),
        peer: secs(peer),
        floe_cpu: Vec::new(),
        peer_cpu: Vec::new(),
    }
}

fn build_report(
    opts: &Options,
    machine: Machine,
    (info, delta_info): (&Value, &Value),
    pyiceberg: &str,
    cases: &[Case],
    (rounds, window, peer_seconds): (usize, Duration, f64),
) -> Report {
    let deltalake = format!("deltalake {}", str_of(delta_info, "deltalake"));
    let comparisons = |peer_path: Mode| {
        let mut out = Vec::new();
        for &w in &PEER_WRITER_COUNTS {
            let Some(peer) = find(cases, peer_path, w) else {
                continue;
            };
            for path in [Mode::Group, Mode::PerBatch] {
                if let Some(floe) = find(cases, path, w) {
                    out.push(WorkloadResult {
                        name: format!(
                            "{}, {w} writer{}",
                            path.name(),
                            if w == 1 { "" } else { "s" }
                        ),
                        input: format!(
                            "1,000-row batches, {}, {}",
                            if peer_path == Mode::Delta {
                                "Floe: SQLite catalog; Delta: its log"
                            } else {
                                "SQLite catalog"
                            },
                            window_text(window, peer_seconds)
                        ),
                        measure: Measure::Throughput {
                            items: 1,
                            unit: "batches",
                        },
                        cmp: per_batch_comparison(floe, peer),
                    });
                }
            }
        }
        out
    };
    let results = comparisons(Mode::Peer);
    let other_peers = comparisons(Mode::Delta)
        .into_iter()
        .map(|result| PeerResult {
            peer: "deltalake".to_owned(),
            result,
        })
        .collect();

    // The table of every case.
    let mut table = String::new();
    let _ = writeln!(
        table,
        "## Every case\n\nBatches/s = acknowledged batches / time from the start until the last \
         batch ended (median over {rounds} rounds, min–max beside it). Ack latency: every \
         acknowledged batch of every round, from the start of the batch (Floe per-batch: \
         including the table refresh) to its acknowledgement, retries included. Manifests \
         per 1,000 batches: manifests in the final snapshot's manifest list, per 1,000 \
         acknowledged batches (summed over the rounds).\n"
    );
    table.push_str(
        "| path | writers | batches/s median | min–max | p50 ack | p99 ack | acked | failed | batches / commit | manifests / 1,000 batches |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut sorted: Vec<&Case> = cases.iter().collect();
    sorted.sort_by_key(|c| (c.path, c.writers));
    for c in &sorted {
        let rates = c.rates();
        let (lo, hi) = spread(&rates);
        let lat = c.latencies();
        let _ = writeln!(
            table,
            "| {} | {} | **{}** | {} – {} | {} | {} | {} | {} | {} | {} |",
            c.path.name(),
            c.writers,
            human(median(&rates)),
            human(lo),
            human(hi),
            ms(quantile(&lat, 0.5)),
            ms(quantile(&lat, 0.99)),
            thousands(c.acked()),
            thousands(c.failed()),
            sig3(c.batches_per_commit()),
            if c.path.has_manifests() {
                sig3(c.manifests_per_1000())
            } else {
                "– (log)".to_owned()
            }
        );
    }

    // Ratios by writer count.
    let mut ratios = String::from(
        "\n## Scaling and ratios\n\nMedian batches/s by writer count, and the ratios of the \
         medians:\n\n| writers | Floe group commit | Floe one CAS per batch | PyIceberg | deltalake | group / per-batch | group / PyIceberg | per-batch / PyIceberg | group / deltalake | per-batch / deltalake |\n\
         |---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let rate = |path, w| find(cases, path, w).map(|c| median(&c.rates()));
    let show = |r: Option<f64>| r.map_or_else(|| "–".to_owned(), human);
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => format!("**{}×**", sig3(a / b)),
        _ => "–".to_owned(),
    };
    for &w in &WRITER_COUNTS {
        let (g, p, y, d) = (
            rate(Mode::Group, w),
            rate(Mode::PerBatch, w),
            rate(Mode::Peer, w),
            rate(Mode::Delta, w),
        );
        let _ = writeln!(
            ratios,
            "| {w} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            show(g),
            show(p),
            show(y),
            show(d),
            ratio(g, p),
            ratio(g, y),
            ratio(p, y),
            ratio(g, d),
            ratio(p, d)
        );
    }

    let mut targets = Vec::new();
    let which = "group commit";
    if let Some(r) = rate(Mode::Group, 16) {
        targets.push(format!(
            "16 writers ≥ {} batches/s ({which}): {} batches/s — {}",
            thousands(TARGET_BATCHES_PER_SEC as u64),
            sig3(r),
            met(r >= TARGET_BATCHES_PER_SEC)
        ));
        if let Some(y) = rate(Mode::Peer, 16) {
            targets.push(format!(
                "16 writers ≥ {TARGET_VS_PEER:.0}× PyIceberg ({which}): {}× — {}",
                sig3(r / y),
                met(r / y >= TARGET_VS_PEER)
            ));
        }
    }
    // The targets are group commit's; one CAS per batch is the contrast without it.
    let verdict = |path: Mode, ok: bool| match (path, ok) {
        (Mode::Group, _) => met(ok).to_string(),
        (_, true) => "holds too (contrast, not a target)".to_string(),
        (_, false) => "does not hold (contrast without group commit, not a target)".to_string(),
    };
    for path in [Mode::Group, Mode::PerBatch] {
        let rates: Vec<f64> = WRITER_COUNTS
            .iter()
            .filter_map(|&w| rate(path, w))
            .collect();
        if rates.len() == WRITER_COUNTS.len() {
            let peak = rates.iter().copied().fold(f64::NAN, f64::max);
            let grows = rates.windows(2).all(|w| w[1] >= w[0] * 0.9);
            targets.push(format!(
                "throughput grows with writers instead of falling ({}): {} batches/s for 1/4/16/64 \
                 writers (peak {}) — {}",
                path.name(),
                rates
                    .iter()
                    .map(|r| sig3(*r))
                    .collect::<Vec<_>>()
                    .join(" / "),
                sig3(peak),
                verdict(path, grows)
            ));
        }
        if let Some(c) = find(cases, path, 16) {
            let m = c.manifests_per_1000();
            targets.push(format!(
                "manifests per 1,000 batches < {TARGET_MANIFESTS_PER_1000:.0} ({}, 16 writers): {} — {}",
                path.name(),
                sig3(m),
                verdict(path, m < TARGET_MANIFESTS_PER_1000)
            ));
        }
    }

    let checks = vec![format!(
        "after every case (every round), a fresh load of the table says total-records = 1,000 × \
         the acknowledged batches, on the Floe, PyIceberg and deltalake sides ({} cases \
         checked); on the deltalake side the rows are also read back: as many rows as \
         total-records, and every acknowledged (writer, seq) batch present",
        cases.iter().map(|c| c.runs.len()).sum::<usize>()
    )];
    let mut notes = vec![
        format!(
            "Each case runs on a fresh table; the writers append back to back for {} s (PyIceberg \
             and deltalake: {} s, since one PyIceberg append takes up to seconds on this \
             machine) and finish the batch in flight. Rounds alternate all cases (group commit, \
             one CAS per batch, PyIceberg, deltalake) writer count by writer count.",
            window.as_secs(),
            sig3(peer_seconds)
        ),
        "Floe, one CAS per batch: every writer is a Tokio task holding a `floe_table::Table` on \
         one shared `SqlCatalog` (SQLite file, local warehouse, as an embedded catalog); per \
         batch `Table::refresh` then `Table::append` (Parquet data file, manifest, manifest list, \
         metadata JSON, compare-and-swap). A lost race is retried by the transaction (refresh, \
         new manifest list) with the table's `commit.retry.*` settings: 50 retries, 1–64 ms \
         backoff; a batch whose retries all fail counts as failed."
            .to_owned(),
        "PyIceberg: every writer is a Python process with its own `SqlCatalog` on one SQLite \
         file and a local warehouse (as separate PyIceberg jobs), `table.append(df)` per batch, \
         with PyIceberg 0.12's own commit retries set to the same `commit.retry.*` values; \
         interpreter start-up, catalog connection and table load are outside the clock (the \
         writers start together on a signal). 64 writers are not run (64 Python processes \
         do not fit a 2-core machine)."
            .to_owned(),
        "deltalake (delta-rs's Python package): every writer is a Python process holding a \
         `DeltaTable` of one Delta table in a local folder (no catalog: the table's \
         `_delta_log/` is its catalog), `write_deltalake(table, df, mode=\"append\")` per \
         batch (one Parquet data file, zstd level 3, and one JSON commit: the next version's \
         log file, created only if absent, so concurrent writers of several processes are \
         safe on a local file system), with `CommitProperties(max_commit_retries=50)` (a \
         writer that loses a version checks the winner's commit for conflicts, which blind \
         appends never have, and tries the next version, at once, without backoff) and the \
         writer's progress in the same commit (a `txn` action, app id = writer, version = \
         seq: Delta's own exactly-once mechanism, as Floe's group commit records \
         `(writer id, epoch, seq)`). delta-rs writes a checkpoint every 100 versions (its \
         default post-commit hook), inside the append that reaches it. A Delta table has no \
         manifests (one JSON commit per batch, checkpoints every 100), hence no manifest \
         count. 1, 4 and 16 writers, the same window as PyIceberg; start-up and table load \
         outside the clock, as for PyIceberg."
            .to_owned(),
        "The same schema on both sides (`writer int, seq long, id long, payload string`), the \
         same 1,000-row batches (ids `seq × 1,000 …`, payload `w<writer>-s<seq>-<i>`); each \
         side writes Parquet with its own default settings."
            .to_owned(),
    ];
    notes.push(
        "Floe, group commit: every writer is a `floe_table::stream::StreamWriter` (opened \
         with a new epoch before the clock starts) on one shared `GroupCommitter` with its \
         default settings (5 ms window, up to 256 intents a group, files checked to exist); \
         per batch `write` then `begin_flush`, which writes one Parquet data file and submits \
         it; the writer keeps up to 8 batches in flight (the data file of the next batch is \
         written while the earlier ones commit; acknowledgements come in seq order; the \
         ack latency of a batch runs from its start to its acknowledgement, queueing behind \
         the batches before it included). A group is one new manifest, one manifest list, \
         one compare-and-swap with every writer's progress `(writer id, epoch, seq)` in the \
         same transaction; the committer merges the newest small manifests in tiers of 4 \
         (a manifest of w files is of level floor(log4 w); 4 in a row of a level merge), so \
         the manifest list stays logarithmic. Batches per commit = acknowledged batches / \
         group commits."
            .to_owned(),
    );
    notes.push(format!(
        "Ratios in the results tables: peer seconds per batch / Floe seconds per batch, \
         round by round (the same as the ratio of batches per second); {pyiceberg}, \
         {deltalake} and Floe ran alternately, not at the same time."
    ));

    Report {
        title: "Floe stream appends vs PyIceberg and deltalake".to_owned(),
        date: today(),
        command: opts.command.clone(),
        peer: pyiceberg.to_owned(),
        rounds,
        machine,
        versions: vec![
            format!(
                "peer: {pyiceberg} SqlCatalog (SQLAlchemy {}, SQLite {}), pyarrow {}, Python {}",
                str_of(info, "sqlalchemy"),
                str_of(info, "sqlite"),
                str_of(info, "pyarrow"),
                str_of(info, "python")
            ),
            format!(
                "peer: {deltalake} (delta-rs core {}), pyarrow {}, Python {}",
                str_of(delta_info, "delta_rs"),
                str_of(delta_info, "pyarrow"),
                str_of(delta_info, "python")
            ),
            format!(
                "Floe: git {}, {}, {} build; sqlx 0.8 (SQLite bundled)",
                std::env::var("FLOE_BENCH_COMMIT").unwrap_or_else(|_| "unknown".to_owned()),
                std::env::var("FLOE_BENCH_RUSTC").unwrap_or_else(|_| "rustc unknown".to_owned()),
                if cfg!(debug_assertions) {
                    "DEBUG (not for measuring)"
                } else {
                    "release"
                }
            ),
            format!(
                "mode: {} ({rounds} rounds; {} s per Floe case, {} s per PyIceberg and \
                 deltalake case; writers {:?} (PyIceberg and deltalake {:?}))",
                if opts.quick { "quick" } else { "full" },
                window.as_secs(),
                sig3(peer_seconds),
                WRITER_COUNTS,
                PEER_WRITER_COUNTS,
            ),
        ],
        results,
        other_peers,
        sections: vec![
            table,
            ratios,
            crate::charts::render(
                &opts.python,
                &opts.out_dir,
                &today(),
                "stream",
                &[writers_chart(cases)],
            ),
        ],
        targets,
        checks,
        notes,
    }
}

fn window_text(window: Duration, peer_seconds: f64) -> String {
    format!(
        "{} s (PyIceberg, deltalake {} s) per round",
        window.as_secs(),
        sig3(peer_seconds)
    )
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("unknown")
}

/// Batches per second (median, min–max band) by writer count, one line per path.
fn writers_chart(cases: &[Case]) -> crate::charts::Chart {
    let mut chart = crate::charts::Chart::new(
        "writers",
        "Append throughput vs concurrent writers (1,000-row batches)",
        "writers",
        "acknowledged batches/s",
    )
    .log(true, true);
    for path in [Mode::Group, Mode::PerBatch, Mode::Peer, Mode::Delta] {
        let mut mine: Vec<&Case> = cases.iter().filter(|c| c.path == path).collect();
        mine.sort_by_key(|c| c.writers);
        if mine.is_empty() {
            continue;
        }
        let points = mine
            .iter()
            .map(|c| (c.writers as f64, median(&c.rates())))
            .collect();
        let band = mine.iter().map(|c| spread(&c.rates())).collect();
        chart = chart.series(crate::charts::Series::new(path.name(), points).with_spread(band));
    }
    chart
}
