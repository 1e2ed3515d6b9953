//! `floe-bench catalog`: commits through Floe's `SqlCatalog` on SQLite and PostgreSQL,
//! beside PyIceberg 0.12's `SqlCatalog` on SQLite.
//!
//! Workloads:
//! - **metadata-only commits against PyIceberg**: one writer, SQLite, `set-properties`
//!   (with `assert-table-uuid`, as PyIceberg's transaction sends) on a table of the same
//!   schema, alternating Floe and PyIceberg round by round (quick: 5 rounds; full: 11);
//!   commits per second, per-commit p50/p99, the ratio;
//! - **the commit matrix** (Floe only, quick: 3 rounds; full: 5): on SQLite and on
//!   PostgreSQL, for 1 writer, 8 writers with a `SqlCatalog` (and pool) each, as
//!   separate replicas would, and 8 tasks sharing one `SqlCatalog`:
//!   - `set-properties` commits on a fresh table (no requirements: the catalog
//!     reloads and re-applies a lost compare-and-swap itself);
//!   - append commits that grow a fresh table to 1,000 snapshots: each writes a manifest
//!     with one data file and a manifest list (the parent's manifests plus the new one)
//!     into the warehouse with `floe_spec`'s writers, then commits `add-snapshot` +
//!     `set-snapshot-ref main` under `assert-ref-snapshot-id main`; a writer that loses
//!     the race gets CommitFailed, reloads, rewrites its manifest list and retries;
//!     latency by the table's snapshot count (buckets of 100);
//!   - (1 writer) `set-properties` on the grown 1,000-snapshot table.
//!
//! Every case ends with a check of the table: every commit landed once (properties hold
//! each writer's last value; the appended table has exactly 1,000 snapshots in one
//! parent chain with sequence numbers 1..=1,000, and its manifest list 1,000 manifests).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Instant;

use floe_catalog::{
    Catalog, CommitPhase, ErrorKind, LoadedTable, NamespaceIdent, SqlCatalog, TableCommit,
    TableCreation, TableIdent,
};
use floe_spec::commit::{TableRequirement, TableUpdate};
use floe_spec::manifest::{
    DataFile, DataFileFormat, ManifestContentType, ManifestMetadata, ManifestWriter,
};
use floe_spec::manifest_list::{ManifestFile, ManifestList, ManifestListWriter};
use floe_spec::partition::PartitionSpec;
use floe_spec::schema::Schema;
use floe_spec::snapshot::{Operation, Snapshot, SnapshotReference, Summary};
use floe_spec::table_metadata::{FormatVersion, TableMetadata};
use floe_spec::types::{NestedField, PrimitiveType, Type};
use serde_json::{Value, json};
use sqlx::Connection as _;

use crate::harness::{Comparison, Result, Sample, alternate, median, spread};
use crate::machine::Machine;
use crate::peer::PythonPeer;
use crate::report::{Measure, Report, WorkloadResult, sig3, thousands};

/// What to run, and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// 5 alternating rounds against PyIceberg and 3 rounds of the matrix (instead of
    /// 11 and 5), fewer commits per round.
    pub quick: bool,
    /// The Python with PyIceberg.
    pub python: PathBuf,
    /// `bench/peers/pyiceberg_catalog.py`.
    pub peer_script: PathBuf,
    /// Where the catalog databases and warehouses go (emptied first).
    pub work_dir: PathBuf,
    /// Where the report goes (`<date>-catalog.md`).
    pub out_dir: PathBuf,
    /// The command line to print in the report.
    pub command: String,
    /// A PostgreSQL URL whose role may create databases; the bench creates, uses and
    /// drops database [`PG_DATABASE`] on that server.
    pub postgres_url: String,
}

/// The PostgreSQL database the bench creates for itself and drops at the end.
pub const PG_DATABASE: &str = "floe_bench";

/// Snapshots the append cases grow their table to.
pub const TABLE_SNAPSHOTS: usize = 1000;

/// Snapshot-count bucket width of the latency-by-size table.
const BUCKET: usize = 100;

/// Concurrent writers of the concurrent cases.
const WRITERS: usize = 8;

/// The single-writer target of the issue: Floe at least this many times PyIceberg.
const TARGET: f64 = 50.0;

/// Namespace of every bench table.
const NS: &str = "bench";

/// Database backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Db {
    Sqlite,
    Postgres,
}

impl Db {
    fn name(self) -> &'static str {
        match self {
            Db::Sqlite => "SQLite",
            Db::Postgres => "PostgreSQL",
        }
    }
}

/// Who commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writers {
    /// One task, one catalog.
    One,
    /// [`WRITERS`] tasks, each with its own `SqlCatalog` and pool.
    Separate,
    /// [`WRITERS`] tasks sharing one `SqlCatalog`.
    Shared,
}

impl Writers {
    fn name(self) -> &'static str {
        match self {
            Writers::One => "1 writer",
            Writers::Separate => "8 writers, 8 catalogs",
            Writers::Shared => "8 writers, 1 shared catalog",
        }
    }

    fn count(self) -> usize {
        match self {
            Writers::One => 1,
            _ => WRITERS,
        }
    }
}

/// What is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `set-properties` on a fresh table.
    Props,
    /// append commits growing a fresh table to [`TABLE_SNAPSHOTS`].
    Append,
    /// `set-properties` on the grown table.
    PropsOnGrown,
}

impl Kind {
    fn name(self) -> String {
        match self {
            Kind::Props => "set-properties (0 snapshots)".to_owned(),
            Kind::Append => format!(
                "add-snapshot + set-snapshot-ref (grows 0 → {} snapshots)",
                thousands(TABLE_SNAPSHOTS as u64)
            ),
            Kind::PropsOnGrown => format!(
                "set-properties ({} snapshots)",
                thousands(TABLE_SNAPSHOTS as u64)
            ),
        }
    }
}

/// Counts the catalog's commit attempts through its commit hook: an attempt that wrote
/// its metadata file but did not commit lost the compare-and-swap (and was retried
/// inside the catalog, or ended in CommitFailed).
#[derive(Debug, Default)]
struct AttemptCounter {
    written: AtomicU64,
    committed: AtomicU64,
}

impl AttemptCounter {
    fn lost(&self) -> u64 {
        self.written
            .load(Ordering::Relaxed)
            .saturating_sub(self.committed.load(Ordering::Relaxed))
    }
}

/// One run of one case.
#[derive(Debug, Default, Clone)]
struct CaseRun {
    commits: usize,
    wall: f64,
    /// (table snapshot count before the commit, seconds) of every acknowledged commit.
    latencies: Vec<(usize, f64)>,
    /// Commits answered CommitFailed that the writer retried.
    client_retries: u64,
    /// Attempts that lost the compare-and-swap inside the catalog.
    lost_races: u64,
}

/// All rounds of one case.
#[derive(Debug, Clone)]
struct CaseResult {
    db: Db,
    writers: Writers,
    kind: Kind,
    runs: Vec<CaseRun>,
}

impl CaseResult {
    fn rates(&self) -> Vec<f64> {
        self.runs
            .iter()
            .map(|r| r.commits as f64 / r.wall)
            .collect()
    }

    fn latencies(&self, bucket: Option<usize>) -> Vec<f64> {
        let mut v: Vec<f64> = self
            .runs
            .iter()
            .flat_map(|r| &r.latencies)
            .filter(|(n, _)| bucket.is_none_or(|b| n / BUCKET == b))
            .map(|(_, t)| *t)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }
}

/// The `q` quantile (0..=1) of sorted values, nearest rank.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(t: f64) -> String {
    format!("{} ms", sig3(t * 1000.0))
}

/// The bench table's schema (the peer creates the same three columns).
fn schema() -> Result<Schema> {
    Ok(Schema::builder()
        .with_fields([
            NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
            NestedField::optional(2, "data", Type::Primitive(PrimitiveType::String)),
            NestedField::optional(3, "ts", Type::Primitive(PrimitiveType::Timestamptz)),
        ])
        .build()?)
}

/// `base` with its database replaced by `db` (query kept).
fn with_database(base: &str, db: &str) -> Result<String> {
    let (head, query) = match base.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (base, None),
    };
    let scheme_end = head.find("://").ok_or("PostgreSQL URL without ://")? + 3;
    let host_end = head[scheme_end..]
        .find('/')
        .map_or(head.len(), |i| scheme_end + i);
    let mut url = format!("{}/{db}", &head[..host_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    Ok(url)
}

/// Where one backend's catalog lives.
struct Backend {
    db: Db,
    url: String,
    warehouse: PathBuf,
}

impl Backend {
    async fn catalog(&self, pool: u32, counter: &Arc<AttemptCounter>) -> Result<SqlCatalog> {
        let c = Arc::clone(counter);
        let hook: floe_catalog::CommitHook = Arc::new(move |phase| {
            match phase {
                CommitPhase::MetadataWritten => c.written.fetch_add(1, Ordering::Relaxed),
                CommitPhase::Committed => c.committed.fetch_add(1, Ordering::Relaxed),
                CommitPhase::Swapped => 0,
            };
            Ok(())
        });
        Ok(
            SqlCatalog::builder(&self.url, self.warehouse.display().to_string())
                .max_connections(pool)
                .commit_hook(hook)
                .build()
                .await?,
        )
    }
}

/// Runs the suite, prints the report and writes it; returns the report's path.
pub fn run(opts: &Options) -> Result<PathBuf> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_async(opts))
}

async fn run_async(opts: &Options) -> Result<PathBuf> {
    let machine = Machine::detect();
    let peer_rounds = if opts.quick { 5 } else { 11 };
    let matrix_rounds = if opts.quick { 3 } else { 5 };
    // Growing a table to 1,000 snapshots with 8 writers takes minutes on 2 cores.
    let append_rounds = if opts.quick { 1 } else { 3 };
    let (floe_per_round, py_per_round, props_commits) = if opts.quick {
        (200, 30, 400)
    } else {
        (500, 60, 1000)
    };
    let dir = crate::workdir::fresh(&opts.work_dir, "catalog")?;
    std::fs::create_dir_all(&opts.out_dir)?;

    eprintln!("starting the PyIceberg peer: {}", opts.python.display());
    let mut peer = PythonPeer::start(&opts.python, &opts.peer_script)?;
    let info = peer.request(&json!({"op": "info"}))?;
    let pyiceberg = format!("PyIceberg {}", str_of(&info, "pyiceberg"));

    // ---- PostgreSQL: a database of our own -----------------------------------------
    sqlx::any::install_default_drivers();
    let pg_url = with_database(&opts.postgres_url, PG_DATABASE)?;
    pg_admin(
        &opts.postgres_url,
        &[
            &format!("DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"),
            &format!("CREATE DATABASE {PG_DATABASE}"),
        ],
    )
    .await?;
    let outcome = run_workloads(
        &dir,
        &pg_url,
        &mut peer,
        (peer_rounds, matrix_rounds, append_rounds, opts.quick),
        (floe_per_round, py_per_round, props_commits),
    )
    .await;
    let dropped = pg_admin(
        &opts.postgres_url,
        &[&format!(
            "DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"
        )],
    )
    .await;
    let _ = crate::workdir::discard(&opts.work_dir, &dir);
    let (comparison, full_comparison, py_latencies, floe_latencies, cases, checks, costs) =
        outcome?;
    dropped?;

    let py_info = format!(
        "peer: {pyiceberg} SqlCatalog (SQLAlchemy {}, SQLite {}), Python {}",
        str_of(&info, "sqlalchemy"),
        str_of(&info, "sqlite"),
        str_of(&info, "python")
    );
    let ratio = comparison.ratio();
    let target = format!(
        "single-writer metadata-only commits on SQLite ≥ {TARGET:.0}× PyIceberg's commits per \
         second: {ratio:.1}× (per-round {:.1}×–{:.1}×) — {}",
        comparison.ratio_spread().0,
        comparison.ratio_spread().1,
        if ratio >= TARGET { "met" } else { "NOT met" }
    );
    let date = crate::spec_bench::today();
    let sections = vec![
        peer_latency_section(&floe_latencies, &py_latencies),
        matrix_section(&cases, matrix_rounds, append_rounds),
        growth_section(&cases),
        costs,
        crate::charts::render(
            &opts.python,
            &opts.out_dir,
            &date,
            "catalog",
            &[growth_chart(&cases)],
        ),
    ];
    let report = Report {
        title: "Floe catalog commits vs PyIceberg".to_owned(),
        date,
        command: opts.command.clone(),
        peer: pyiceberg,
        rounds: peer_rounds,
        machine,
        versions: vec![
            py_info,
            format!(
                "Floe: git {}, {}, {} build; sqlx 0.8 (SQLite bundled), PostgreSQL server {}",
                std::env::var("FLOE_BENCH_COMMIT").unwrap_or_else(|_| "unknown".to_owned()),
                std::env::var("FLOE_BENCH_RUSTC").unwrap_or_else(|_| "rustc unknown".to_owned()),
                if cfg!(debug_assertions) {
                    "DEBUG (not for measuring)"
                } else {
                    "release"
                },
                pg_version(&opts.postgres_url).await
            ),
            format!(
                "mode: {} ({peer_rounds} alternating rounds of {floe_per_round} Floe / \
                 {py_per_round} PyIceberg commits; commit matrix: {matrix_rounds} rounds of \
                 {props_commits} set-properties commits per case, {append_rounds} round(s) of \
                 appends to {} snapshots per case)",
                if opts.quick { "quick" } else { "full" },
                thousands(TABLE_SNAPSHOTS as u64)
            ),
        ],
        results: vec![
            WorkloadResult {
                name: "metadata-only commit (set-properties), 1 writer".to_owned(),
                input: "SQLite catalog, local warehouse, 3-column table, 0 snapshots".to_owned(),
                measure: Measure::Throughput {
                    items: 1,
                    unit: "commits",
                },
                cmp: comparison,
            },
            WorkloadResult {
                name: "the same, Floe with `synchronous=FULL` (fsync per commit, as PyIceberg)"
                    .to_owned(),
                input: "SQLite catalog, local warehouse, 3-column table, 0 snapshots".to_owned(),
                measure: Measure::Throughput {
                    items: 1,
                    unit: "commits",
                },
                cmp: full_comparison,
            },
        ],
        other_peers: Vec::new(),
        sections,
        targets: vec![target],
        checks,
        notes: notes(),
    };
    let md = report.to_markdown();
    let path = opts.out_dir.join(format!("{}-catalog.md", report.date));
    std::fs::write(&path, &md)?;
    println!("{md}");
    Ok(path)
}

type Outcome = (
    Comparison,
    Comparison,
    Vec<f64>,
    Vec<f64>,
    Vec<CaseResult>,
    Vec<String>,
    String,
);

async fn run_workloads(
    dir: &Path,
    pg_url: &str,
    peer: &mut PythonPeer,
    (peer_rounds, matrix_rounds, append_rounds, quick): (usize, usize, usize, bool),
    (floe_per_round, py_per_round, props_commits): (usize, usize, usize),
) -> Result<Outcome> {
    let sqlite = Backend {
        db: Db::Sqlite,
        url: format!("sqlite://{}", dir.join("floe.db").display()),
        warehouse: dir.join("warehouse-sqlite"),
    };
    let postgres = Backend {
        db: Db::Postgres,
        url: pg_url.to_owned(),
        warehouse: dir.join("warehouse-postgres"),
    };
    let mut checks = Vec::new();
    for b in [&sqlite, &postgres] {
        std::fs::create_dir_all(&b.warehouse)?;
        let c = b.catalog(2, &Arc::default()).await?;
        c.create_namespace(&NamespaceIdent::new([NS])?, HashMap::new())
            .await?;
        c.close().await;
    }

    // ---- Floe vs PyIceberg, 1 writer, SQLite -------------------------------------------
    eprintln!("metadata-only commits, 1 writer, SQLite: Floe vs PyIceberg, {peer_rounds} rounds");
    let counter = Arc::new(AttemptCounter::default());
    let catalog = sqlite.catalog(8, &counter).await?;
    let table = catalog
        .create_table(
            &NamespaceIdent::new([NS])?,
            TableCreation::new("vs_peer", schema()?),
        )
        .await?;
    let uuid = table.metadata.table_uuid();
    let py_dir = dir.join("pyiceberg");
    std::fs::create_dir_all(&py_dir)?;
    peer.request(&json!({
        "op": "setup", "db": py_dir.join("catalog.db"), "warehouse": py_dir.join("warehouse"),
        "table": "vs_peer",
    }))?;
    // Both tables reach the 100-entry metadata log (the default
    // write.metadata.previous-versions-max) before timing.
    let mut n = 0u64;
    let warm = 110;
    floe_props_serial(&catalog, &table.ident, uuid, warm, &mut n, &mut Vec::new()).await?;
    peer.request(&json!({"op": "commit_props", "commits": warm}))?;
    let (comparison, floe_latencies, py_latencies) = vs_peer(
        &catalog,
        &table.ident,
        uuid,
        peer,
        peer_rounds,
        (floe_per_round, py_per_round),
        &mut n,
    )?;
    eprintln!(
        "  median: Floe {:.0} commits/s, PyIceberg {:.1} commits/s, ratio {:.1}x",
        1.0 / median(&comparison.floe),
        1.0 / median(&comparison.peer),
        comparison.ratio()
    );
    // Cross-check: both tables hold the last value, and a 100-entry metadata log.
    let digest = peer.request(&json!({"op": "digest"}))?;
    let fresh = sqlite.catalog(1, &Arc::default()).await?;
    let loaded = fresh.load_table(&table.ident).await?;
    let floe_value = loaded.metadata.properties().get("bench.key").cloned();
    let py_commits = digest.get("commits").and_then(Value::as_u64).unwrap_or(0);
    let py_value = digest.get("property").and_then(Value::as_str);
    if floe_value.as_deref() != Some(format!("value-{n}").as_str())
        || py_value != Some(format!("value-{py_commits}").as_str())
        || loaded.metadata.metadata_log().len() != 100
        || digest.get("metadata_log").and_then(Value::as_u64) != Some(100)
    {
        return Err(format!(
            "metadata-only commits: unexpected final state: Floe {floe_value:?} after {n} \
             commits, metadata log {}; PyIceberg {digest}",
            loaded.metadata.metadata_log().len()
        )
        .into());
    }
    checks.push(format!(
        "metadata-only commits: a fresh load of each table (a new Floe `SqlCatalog`; \
         PyIceberg's `load_table`) shows the value of the last of its {} / {} commits and a \
         100-entry metadata log on both sides; Floe's commit hook saw {} compare-and-swap \
         attempts lost (expected 0 with one writer)",
        thousands(n),
        thousands(py_commits),
        counter.lost()
    ));
    fresh.close().await;
    catalog.close().await;

    // ---- the same with synchronous=FULL (PyIceberg's durability) -------------------
    eprintln!("the same with Floe on synchronous=FULL, {peer_rounds} rounds");
    let sqlite_full = Backend {
        db: Db::Sqlite,
        url: format!("{}?synchronous=full", sqlite.url),
        warehouse: sqlite.warehouse.clone(),
    };
    let catalog = sqlite_full.catalog(8, &Arc::default()).await?;
    let (full_comparison, _, _) = vs_peer(
        &catalog,
        &table.ident,
        uuid,
        peer,
        peer_rounds,
        (floe_per_round / 4, py_per_round),
        &mut n,
    )?;
    eprintln!(
        "  median: Floe (FULL) {:.0} commits/s, PyIceberg {:.1} commits/s, ratio {:.1}x",
        1.0 / median(&full_comparison.floe),
        1.0 / median(&full_comparison.peer),
        full_comparison.ratio()
    );
    let loaded = catalog.load_table(&table.ident).await?;
    if loaded.metadata.properties().get("bench.key") != Some(&format!("value-{n}")) {
        return Err(format!(
            "metadata-only commits with synchronous=FULL: the last value is not value-{n}"
        )
        .into());
    }
    catalog.close().await;

    // ---- the commit matrix ---------------------------------------------------------------
    let mut cases: Vec<CaseResult> = Vec::new();
    let mut costs = String::new();
    let mut table_no = 0;
    for round in 0..matrix_rounds {
        for backend in [&sqlite, &postgres] {
            for writers in [Writers::One, Writers::Separate, Writers::Shared] {
                for kind in [Kind::Props, Kind::Append] {
                    if kind == Kind::Append
                        && (round >= append_rounds || (quick && writers == Writers::Shared))
                    {
                        // Quick mode: the 8-writers-one-catalog appends only in full mode
                        // (each 8-writer growth to 1,000 snapshots takes 1–2 minutes here).
                        continue;
                    }
                    table_no += 1;
                    let name = format!("t{table_no}");
                    eprintln!(
                        "round {}/{matrix_rounds}: {}, {}, {}",
                        round + 1,
                        backend.db.name(),
                        writers.name(),
                        kind.name()
                    );
                    let (run, grown) =
                        run_case(backend, writers, kind, &name, props_commits).await?;
                    eprintln!(
                        "  {:.0} commits/s, p50 {}, p99 {}, {} CommitFailed retried, {} CAS races lost",
                        run.commits as f64 / run.wall,
                        ms(quantile(&sorted(&run.latencies), 0.5)),
                        ms(quantile(&sorted(&run.latencies), 0.99)),
                        run.client_retries,
                        run.lost_races
                    );
                    push_run(&mut cases, backend.db, writers, kind, run);
                    if let Some(grown) = grown {
                        if costs.is_empty() {
                            costs = metadata_costs(&grown.metadata)?;
                        }
                        if writers == Writers::One {
                            let run = props_on(backend, &grown, props_commits).await?;
                            eprintln!(
                                "  on the grown table: {:.0} set-properties commits/s, p50 {}",
                                run.commits as f64 / run.wall,
                                ms(quantile(&sorted(&run.latencies), 0.5)),
                            );
                            push_run(&mut cases, backend.db, writers, Kind::PropsOnGrown, run);
                        }
                        let _ =
                            std::fs::remove_dir_all(table_dir(&grown.metadata).unwrap_or_default());
                    }
                }
            }
        }
    }
    checks.push(format!(
        "commit matrix: after every case a fresh load shows every acknowledged commit exactly \
         once — set-properties: each writer's property holds its last value; appends: exactly \
         {} snapshots in one parent chain with sequence numbers 1..={}, and the head's \
         manifest list (read back with `ManifestList::parse`) lists {} manifests, one per \
         snapshot",
        thousands(TABLE_SNAPSHOTS as u64),
        thousands(TABLE_SNAPSHOTS as u64),
        thousands(TABLE_SNAPSHOTS as u64),
    ));
    Ok((
        comparison,
        full_comparison,
        sorted_vec(py_latencies),
        sorted_vec(floe_latencies),
        cases,
        checks,
        costs,
    ))
}

/// Floe's `catalog` and the peer alternately make set-properties commits on their
/// tables (`n` counts Floe's commits); returns the per-round times and every timed
/// commit's latency (Floe, peer), warm-up rounds excluded.
fn vs_peer(
    catalog: &SqlCatalog,
    ident: &TableIdent,
    uuid: uuid::Uuid,
    peer: &mut PythonPeer,
    rounds: usize,
    (floe_per_round, py_per_round): (usize, usize),
    n: &mut u64,
) -> Result<(Comparison, Vec<f64>, Vec<f64>)> {
    let mut floe_latencies = Vec::new();
    let mut py_latencies = Vec::new();
    // The harness is synchronous: run Floe's round on this runtime through block_in_place.
    let handle = tokio::runtime::Handle::current();
    let mut warm_floe = true;
    let mut warm_py = true;
    let comparison = tokio::task::block_in_place(|| {
        alternate(
            rounds,
            || {
                let mut lat = Vec::new();
                let start = Instant::now();
                handle.block_on(floe_props_serial(
                    catalog,
                    ident,
                    uuid,
                    floe_per_round,
                    n,
                    &mut lat,
                ))?;
                let s = Sample {
                    wall: start.elapsed().as_secs_f64() / floe_per_round as f64,
                    cpu: f64::NAN,
                };
                if !std::mem::take(&mut warm_floe) {
                    floe_latencies.extend(lat);
                }
                Ok(s)
            },
            || {
                let reply =
                    peer.request(&json!({"op": "commit_props", "commits": py_per_round}))?;
                if !std::mem::take(&mut warm_py) {
                    py_latencies.extend(
                        reply
                            .get("latencies")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_f64),
                    );
                }
                let wall = reply
                    .get("times")
                    .and_then(|t| t.get(0))
                    .and_then(Value::as_f64)
                    .ok_or("peer answer without times")?;
                Ok(Sample {
                    wall,
                    cpu: f64::NAN,
                })
            },
        )
    })?;
    Ok((comparison, floe_latencies, py_latencies))
}

/// The size-dependent parts of a commit, timed alone on the grown table's metadata:
/// writing its JSON (every commit) and parsing it (every load that misses the cache —
/// each commit of another catalog, or a retry after a lost race).
fn metadata_costs(meta: &TableMetadata) -> Result<String> {
    let bytes = meta.to_json_vec()?;
    let mut ser = Vec::new();
    let mut parse = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        std::hint::black_box(meta.to_json_vec()?);
        ser.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        std::hint::black_box(TableMetadata::from_json_slice(&bytes)?);
        parse.push(t.elapsed().as_secs_f64());
    }
    Ok(format!(
        "## Where the size-dependent time goes\n\n\
         Every commit writes the table's whole metadata JSON (Iceberg's design): at {} \
         snapshots the file is {:.0} kB. Timed alone on the grown table (median of 7): \
         `TableMetadata::to_json_vec` **{}** (on every commit), \
         `TableMetadata::from_json_slice` **{}** (on every load that misses the metadata \
         cache: with several catalogs, after each commit of another one and on each retry \
         after a lost race). Both are `floe_spec` code, linear in the snapshot count.\n",
        thousands(meta.snapshots().len() as u64),
        bytes.len() as f64 / 1e3,
        ms(median(&ser)),
        ms(median(&parse)),
    ))
}

fn sorted(latencies: &[(usize, f64)]) -> Vec<f64> {
    sorted_vec(latencies.iter().map(|(_, t)| *t).collect())
}

fn sorted_vec(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

fn push_run(cases: &mut Vec<CaseResult>, db: Db, writers: Writers, kind: Kind, run: CaseRun) {
    if let Some(c) = cases
        .iter_mut()
        .find(|c| c.db == db && c.writers == writers && c.kind == kind)
    {
        c.runs.push(run);
    } else {
        cases.push(CaseResult {
            db,
            writers,
            kind,
            runs: vec![run],
        });
    }
}

/// The local folder of a table (its location is a `file://` URL or a path).
fn table_dir(meta: &TableMetadata) -> Option<PathBuf> {
    let loc = meta.location();
    let path = loc.strip_prefix("file://").unwrap_or(loc);
    path.starts_with('/').then(|| PathBuf::from(path))
}

/// `count` set-properties commits by one writer, one after the other.
async fn floe_props_serial(
    catalog: &SqlCatalog,
    ident: &TableIdent,
    uuid: uuid::Uuid,
    count: usize,
    n: &mut u64,
    latencies: &mut Vec<f64>,
) -> Result<()> {
    for _ in 0..count {
        *n += 1;
        let commit = TableCommit::new(
            ident.clone(),
            vec![TableRequirement::AssertTableUuid { uuid }],
            vec![TableUpdate::SetProperties {
                updates: HashMap::from([("bench.key".to_owned(), format!("value-{n}"))]),
            }],
        );
        let start = Instant::now();
        catalog.commit_table(commit).await?;
        latencies.push(start.elapsed().as_secs_f64());
    }
    Ok(())
}

/// Connects the writers' catalogs of one case.
async fn catalogs(
    backend: &Backend,
    writers: Writers,
    counter: &Arc<AttemptCounter>,
) -> Result<Vec<Arc<SqlCatalog>>> {
    Ok(match writers {
        Writers::One => vec![Arc::new(backend.catalog(8, counter).await?)],
        Writers::Shared => {
            let c = Arc::new(backend.catalog(8, counter).await?);
            (0..WRITERS).map(|_| Arc::clone(&c)).collect()
        }
        Writers::Separate => {
            let mut v = Vec::with_capacity(WRITERS);
            for _ in 0..WRITERS {
                v.push(Arc::new(backend.catalog(2, counter).await?));
            }
            v
        }
    })
}

/// Runs one case on a fresh table `name`; for appends also returns the grown table.
async fn run_case(
    backend: &Backend,
    writers: Writers,
    kind: Kind,
    name: &str,
    props_commits: usize,
) -> Result<(CaseRun, Option<LoadedTable>)> {
    let counter = Arc::new(AttemptCounter::default());
    let cats = catalogs(backend, writers, &counter).await?;
    let table = cats[0]
        .create_table(
            &NamespaceIdent::new([NS])?,
            TableCreation::new(name, schema()?),
        )
        .await?;
    let ident = table.ident.clone();
    let started_lost = counter.lost();
    let start = Instant::now();
    let mut handles = Vec::new();
    let claimed = Arc::new(AtomicU64::new(0));
    let next_id = Arc::new(AtomicI64::new(1));
    let n_writers = writers.count();
    for (w, catalog) in cats.iter().enumerate() {
        let catalog = Arc::clone(catalog);
        let ident = ident.clone();
        let claimed = Arc::clone(&claimed);
        let next_id = Arc::clone(&next_id);
        handles.push(tokio::spawn(async move {
            if kind == Kind::Append {
                append_writer(&catalog, &ident, &claimed, &next_id).await
            } else {
                props_writer(&catalog, &ident, w, props_commits / n_writers).await
            }
        }));
    }
    let mut run = CaseRun::default();
    for h in handles {
        let (lat, retries) = h.await.map_err(|e| format!("writer task failed: {e}"))??;
        run.latencies.extend(lat);
        run.client_retries += retries;
    }
    run.wall = start.elapsed().as_secs_f64();
    run.commits = run.latencies.len();
    run.lost_races = counter.lost() - started_lost;

    // Check the table from a fresh catalog.
    let fresh = backend.catalog(1, &Arc::default()).await?;
    let loaded = fresh.load_table(&ident).await?;
    if kind == Kind::Append {
        check_appended(&fresh, &loaded.metadata).await?;
    } else {
        let per_writer = props_commits / n_writers;
        for w in 0..n_writers {
            let got = loaded.metadata.properties().get(&format!("bench.w{w}"));
            if got.map(String::as_str) != Some(format!("value-{per_writer}").as_str()) {
                return Err(format!(
                    "{ident}: writer {w}'s property is {got:?} after {per_writer} commits"
                )
                .into());
            }
        }
    }
    fresh.close().await;
    for c in &cats {
        c.close().await;
    }
    if kind == Kind::Append {
        Ok((run, Some(loaded)))
    } else {
        if let Some(dir) = table_dir(&loaded.metadata) {
            let _ = std::fs::remove_dir_all(dir);
        }
        Ok((run, None))
    }
}

/// `set-properties` commits on an existing (grown) table by one writer.
async fn props_on(backend: &Backend, table: &LoadedTable, commits: usize) -> Result<CaseRun> {
    let counter = Arc::new(AttemptCounter::default());
    let catalog = backend.catalog(8, &counter).await?;
    let start = Instant::now();
    let (latencies, client_retries) = props_writer(&catalog, &table.ident, 0, commits).await?;
    let wall = start.elapsed().as_secs_f64();
    let snapshots = table.metadata.snapshots().len();
    catalog.close().await;
    Ok(CaseRun {
        commits: latencies.len(),
        wall,
        latencies: latencies.into_iter().map(|(_, t)| (snapshots, t)).collect(),
        client_retries,
        lost_races: counter.lost(),
    })
}

/// One writer's set-properties commits: `bench.w<w>` = `value-1`, `value-2`, ...; a
/// commit answered CommitFailed (the catalog's retries ran out) is sent again.
async fn props_writer(
    catalog: &SqlCatalog,
    ident: &TableIdent,
    w: usize,
    commits: usize,
) -> Result<(Vec<(usize, f64)>, u64)> {
    let mut latencies = Vec::with_capacity(commits);
    let mut retries = 0;
    for i in 1..=commits {
        let start = Instant::now();
        loop {
            let commit = TableCommit::new(
                ident.clone(),
                vec![],
                vec![TableUpdate::SetProperties {
                    updates: HashMap::from([(format!("bench.w{w}"), format!("value-{i}"))]),
                }],
            );
            match catalog.commit_table(commit).await {
                Ok(t) => {
                    latencies.push((t.metadata.snapshots().len(), start.elapsed().as_secs_f64()));
                    break;
                }
                Err(e) if e.kind() == ErrorKind::CommitFailed => retries += 1,
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok((latencies, retries))
}

/// One appending writer: claims appends until the table has [`TABLE_SNAPSHOTS`] in all,
/// and retries each (reload, rewrite the manifest list) until it lands.
async fn append_writer(
    catalog: &SqlCatalog,
    ident: &TableIdent,
    claimed: &AtomicU64,
    next_id: &AtomicI64,
) -> Result<(Vec<(usize, f64)>, u64)> {
    let mut latencies = Vec::new();
    let mut retries = 0;
    let warehouse = catalog.warehouse();
    while claimed.fetch_add(1, Ordering::Relaxed) < TABLE_SNAPSHOTS as u64 {
        let mut table = catalog.load_table(ident).await?;
        let meta = Arc::clone(&table.metadata);
        // The data file and its manifest (snapshot id and sequence number inherited).
        let file_no = next_id.fetch_add(1, Ordering::Relaxed);
        let data_path = format!("{}/data/{file_no:08}.parquet", meta.location());
        let mut data_file = DataFile::new(DataFileFormat::Parquet, data_path, 100, 4096);
        data_file.value_counts =
            floe_spec::manifest::ColumnMap::from([(1, 100), (2, 100), (3, 100)]);
        data_file.null_value_counts =
            floe_spec::manifest::ColumnMap::from([(1, 0), (2, 3), (3, 0)]);
        let mut writer = ManifestWriter::new(
            ManifestMetadata {
                schema: Arc::clone(meta.current_schema()),
                partition_spec: PartitionSpec::clone(meta.default_partition_spec()),
                format_version: FormatVersion::V2,
                content: ManifestContentType::Data,
            },
            None,
        );
        writer.add(data_file)?;
        let manifest_path = format!("{}/metadata/m-{file_no:08}.avro", meta.location());
        let (bytes, manifest) = writer.finish(&manifest_path)?;
        warehouse.write_new(&manifest_path, bytes).await?;

        let mut first_attempt: Option<Instant> = None;
        loop {
            let meta = Arc::clone(&table.metadata);
            let (commit, list_path) =
                append_commit(catalog, ident, &meta, &manifest, next_id).await?;
            let start = *first_attempt.get_or_insert_with(Instant::now);
            match catalog.commit_table(commit).await {
                Ok(t) => {
                    latencies.push((
                        t.metadata.snapshots().len() - 1,
                        start.elapsed().as_secs_f64(),
                    ));
                    break;
                }
                Err(e) if e.kind() == ErrorKind::CommitFailed => {
                    retries += 1;
                    let _ = warehouse.delete(&list_path).await;
                    table = catalog.load_table(ident).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok((latencies, retries))
}

/// Writes the manifest list of a new snapshot on top of `meta`'s main branch (the
/// parent's manifests plus `manifest`) and returns the commit and the list's location.
async fn append_commit(
    catalog: &SqlCatalog,
    ident: &TableIdent,
    meta: &TableMetadata,
    manifest: &ManifestFile,
    next_id: &AtomicI64,
) -> Result<(TableCommit, String)> {
    let warehouse = catalog.warehouse();
    let parent = meta.current_snapshot();
    let mut manifests = Vec::new();
    if let Some(p) = parent {
        let bytes = warehouse.read(&p.manifest_list).await?;
        manifests = ManifestList::parse(&bytes, &ManifestList::partition_types(meta))?.entries;
    }
    manifests.insert(0, manifest.clone());
    let id = next_id.fetch_add(1, Ordering::Relaxed);
    let seq = meta.last_sequence_number() + 1;
    let mut list =
        ManifestListWriter::new(FormatVersion::V2, id, parent.map(|p| p.snapshot_id), seq);
    let total_files = manifests.len();
    list.add_manifests(manifests)?;
    let list_path = format!("{}/metadata/snap-{id}-1-{seq}.avro", meta.location());
    warehouse.write_new(&list_path, list.finish()?).await?;
    let summary = Summary {
        operation: Operation::Append,
        additional_properties: HashMap::from(
            [
                ("added-data-files", "1".to_owned()),
                ("added-records", "100".to_owned()),
                ("added-files-size", "4096".to_owned()),
                ("changed-partition-count", "1".to_owned()),
                ("total-data-files", total_files.to_string()),
                ("total-records", (total_files * 100).to_string()),
                ("total-files-size", (total_files * 4096).to_string()),
                ("total-delete-files", "0".to_owned()),
                ("total-position-deletes", "0".to_owned()),
                ("total-equality-deletes", "0".to_owned()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        ),
    };
    let snapshot = Snapshot {
        snapshot_id: id,
        parent_snapshot_id: parent.map(|p| p.snapshot_id),
        sequence_number: seq,
        timestamp_ms: now_ms().max(meta.last_updated_ms()),
        manifest_list: list_path.clone(),
        summary,
        schema_id: Some(meta.current_schema_id()),
        first_row_id: None,
        added_rows: None,
        key_id: None,
    };
    let commit = TableCommit::new(
        ident.clone(),
        vec![TableRequirement::AssertRefSnapshotId {
            r#ref: "main".to_owned(),
            snapshot_id: parent.map(|p| p.snapshot_id),
        }],
        vec![
            TableUpdate::AddSnapshot { snapshot },
            TableUpdate::set_snapshot_ref("main", &SnapshotReference::branch(id)),
        ],
    );
    Ok((commit, list_path))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The appended table holds exactly [`TABLE_SNAPSHOTS`] snapshots in one chain with
/// gap-free sequence numbers, and the head's manifest list one manifest per snapshot.
async fn check_appended(catalog: &SqlCatalog, meta: &TableMetadata) -> Result<()> {
    let n = meta.snapshots().len();
    let mut seqs = Vec::with_capacity(n);
    let mut cursor = meta.current_snapshot_id();
    while let Some(id) = cursor {
        let s = meta.snapshot_by_id(id).ok_or("broken parent chain")?;
        seqs.push(s.sequence_number);
        cursor = s.parent_snapshot_id;
    }
    seqs.reverse();
    let expected: Vec<i64> = (1..=TABLE_SNAPSHOTS as i64).collect();
    if n != TABLE_SNAPSHOTS || seqs != expected {
        return Err(format!(
            "appended table: {n} snapshots, chain of {} with sequence numbers not 1..={TABLE_SNAPSHOTS}",
            seqs.len()
        )
        .into());
    }
    let head = meta.current_snapshot().ok_or("no current snapshot")?;
    let bytes = catalog.warehouse().read(&head.manifest_list).await?;
    let list = ManifestList::parse(&bytes, &ManifestList::partition_types(meta))?;
    if list.entries.len() != TABLE_SNAPSHOTS {
        return Err(format!(
            "appended table: the head's manifest list has {} manifests",
            list.entries.len()
        )
        .into());
    }
    Ok(())
}

/// Runs statements on the server's admin connection (the URL as given).
async fn pg_admin(url: &str, statements: &[&str]) -> Result<()> {
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .map_err(|e| format!("cannot connect to PostgreSQL at {}: {e}", redact(url)))?;
    for s in statements {
        sqlx::query(s).execute(&mut conn).await?;
    }
    conn.close().await?;
    Ok(())
}

async fn pg_version(url: &str) -> String {
    async fn get(url: &str) -> Result<String> {
        use sqlx::Row as _;
        let mut conn = sqlx::AnyConnection::connect(url).await?;
        let row = sqlx::query("SHOW server_version")
            .fetch_one(&mut conn)
            .await?;
        let v: String = row.try_get(0)?;
        conn.close().await?;
        Ok(v)
    }
    get(url).await.unwrap_or_else(|_| "unknown".to_owned())
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("?")
}

fn peer_latency_section(floe: &[f64], py: &[f64]) -> String {
    let mut s = String::new();
    s.push_str("### Per-commit latency, metadata-only commits, 1 writer, SQLite\n\n");
    s.push_str("Every timed commit of the alternating rounds above (warm-up round excluded):\n\n");
    s.push_str("| side | commits | p50 | p90 | p99 | max |\n|---|---:|---:|---:|---:|---:|\n");
    for (who, v) in [("Floe", floe), ("PyIceberg", py)] {
        let _ = writeln!(
            s,
            "| {who} | {} | {} | {} | {} | {} |",
            thousands(v.len() as u64),
            ms(quantile(v, 0.5)),
            ms(quantile(v, 0.9)),
            ms(quantile(v, 0.99)),
            ms(quantile(v, 1.0)),
        );
    }
    let _ = writeln!(
        s,
        "\np50 ratio PyIceberg/Floe: **{:.1}×**; p99 ratio: **{:.1}×**.",
        quantile(py, 0.5) / quantile(floe, 0.5),
        quantile(py, 0.99) / quantile(floe, 0.99)
    );
    s
}

fn matrix_section(cases: &[CaseResult], rounds: usize, append_rounds: usize) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Floe commit matrix: SQLite and PostgreSQL, 1 and 8 writers\n\n\
         set-properties cases: {rounds} rounds; append cases: {append_rounds} round(s) (quick \
         mode runs the 8-writers-one-catalog appends only in full mode); each \
         case on a fresh table per round (rounds interleave all cases). \
         Commits/s = acknowledged commits / wall time of the case (for appends this includes \
         writing the manifest and the manifest list, and reading the parent's manifest list); \
         median over the rounds, min–max beside it. Latency = one commit as its writer sees \
         it, from the first `commit_table` call until acknowledged, including any retries \
         after CommitFailed (for appends: the reload and the rewritten manifest list); p50 and \
         p99 over every commit of every round. CommitFailed retried = commits answered \
         CommitFailed that the writer sent again (for set-properties only after the catalog's \
         own 4 attempts ran out); CAS lost = attempts that wrote their metadata file and \
         lost the compare-and-swap inside the catalog (counted by a commit hook), summed \
         over the rounds.\n"
    );
    s.push_str(
        "| backend | writers | commit | commits | commits/s median | min–max | p50 | p99 | CommitFailed retried | CAS lost |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for c in cases {
        let rates = c.rates();
        let (lo, hi) = spread(&rates);
        let lat = c.latencies(None);
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | **{:.0}** | {:.0} – {:.0} | {} | {} | {} | {} |",
            c.db.name(),
            c.writers.name(),
            c.kind.name(),
            thousands(lat.len() as u64),
            median(&rates),
            lo,
            hi,
            ms(quantile(&lat, 0.5)),
            ms(quantile(&lat, 0.99)),
            c.runs.iter().map(|r| r.client_retries).sum::<u64>(),
            c.runs.iter().map(|r| r.lost_races).sum::<u64>(),
        );
    }
    s
}

fn growth_section(cases: &[CaseResult]) -> String {
    let buckets = TABLE_SNAPSHOTS / BUCKET;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Append latency by table size\n\n\
         p50 commit latency (ms) of the append cases by the table's snapshot count before the \
         commit, in buckets of {BUCKET}; then p99 of the first and the last bucket, and the \
         ratio last/first of the p50s (1.0 = flat; {:.0} would be linear from the first \
         bucket's midpoint).\n",
        (TABLE_SNAPSHOTS - BUCKET / 2) as f64 / (BUCKET / 2) as f64
    );
    s.push_str("| backend | writers |");
    for b in 0..buckets {
        let _ = write!(s, " {}–{} |", b * BUCKET, (b + 1) * BUCKET - 1);
    }
    s.push_str(" p99 first | p99 last | p50 last/first |\n|---|---|");
    for _ in 0..buckets + 3 {
        s.push_str("---:|");
    }
    s.push('\n');
    for c in cases.iter().filter(|c| c.kind == Kind::Append) {
        let _ = write!(s, "| {} | {} |", c.db.name(), c.writers.name());
        for b in 0..buckets {
            let _ = write!(s, " {} |", sig3(quantile(&c.latencies(Some(b)), 0.5) * 1e3));
        }
        let first = c.latencies(Some(0));
        let last = c.latencies(Some(buckets - 1));
        let _ = writeln!(
            s,
            " {} | {} | **{:.2}×** |",
            sig3(quantile(&first, 0.99) * 1e3),
            sig3(quantile(&last, 0.99) * 1e3),
            quantile(&last, 0.5) / quantile(&first, 0.5)
        );
    }
    s
}

/// p50 append commit latency by the table's snapshot count, one line per append case.
fn growth_chart(cases: &[CaseResult]) -> crate::charts::Chart {
    let buckets = TABLE_SNAPSHOTS / BUCKET;
    let mut chart = crate::charts::Chart::new(
        "commit-latency",
        "Append commit latency vs snapshot count (p50 per 100 snapshots)",
        "snapshots in the table before the commit",
        "p50 commit latency, ms",
    );
    for c in cases.iter().filter(|c| c.kind == Kind::Append) {
        let points = (0..buckets)
            .map(|b| {
                (
                    (b * BUCKET + BUCKET / 2) as f64,
                    quantile(&c.latencies(Some(b)), 0.5) * 1e3,
                )
            })
            .collect();
        chart = chart.series(crate::charts::Series::new(
            format!("{}, {}", c.db.name(), c.writers.name()),
            points,
        ));
    }
    chart
}

fn notes() -> Vec<String> {
    [
        "Both sides commit through their own SQL catalog on a SQLite file in the same folder, \
         with the warehouse on the same local disk. Floe's database runs in WAL mode with \
         its default `synchronous=NORMAL` (no fsync per commit: durable against process \
         crashes; a power loss may roll back the last commits, never corrupts); the second \
         row runs Floe with `?synchronous=full` (one WAL fsync per commit, power-loss \
         durable). PyIceberg's SQLAlchemy engine uses SQLite's defaults (rollback journal, \
         `synchronous=FULL`, fsyncs per commit). Neither side fsyncs the metadata JSON file \
         it writes. The FULL row runs a quarter of the Floe commits per round.",
        "Both sides send the same commit: `set-properties` of one key with a new value under \
         `assert-table-uuid` (what PyIceberg's `Transaction` adds to every commit), on a \
         3-column unpartitioned table with no snapshots whose metadata log is at its \
         100-entry cap (110 untimed commits on each side first).",
        "PyIceberg's `SqlCatalog.commit_table` re-reads the table row and re-reads and \
         re-parses the current metadata file on every commit; Floe reads the row and finds \
         the parsed metadata in its cache (metadata files are immutable, keyed by location). \
         That is a design difference of the catalogs, measured as is.",
        "Floe's rounds run on a 2-thread tokio runtime in this process; PyIceberg runs in \
         its own warm process (`bench/peers/pyiceberg_catalog.py serve`) and times itself, so \
         interpreter start-up and the pipe are not counted. On-CPU time is not compared: \
         SQLite work runs on sqlx's worker threads on the Floe side.",
        "8 writers with their own catalogs: 8 `SqlCatalog`s with 2 connections each (own \
         pool, own metadata cache), as separate server replicas would; shared: one \
         `SqlCatalog` with 8 connections. PostgreSQL: the local server, database \
         `floe_bench` created for the run and dropped after it.",
        "The machine is shared (other engineers compile on the same 2 cores): see the load \
         average above. Alternating rounds spreads that noise over both sides; the per-round \
         ratio range shows how much it moved. Disk fsync latency dominates single-writer \
         commits wherever a commit waits for an fsync (PyIceberg, Floe with FULL).",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}
