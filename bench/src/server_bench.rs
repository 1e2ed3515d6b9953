//! The `server` suite: `loadTable` over HTTP against a real `floe serve` process.
//!
//! A table grown to [`SNAPSHOTS`] snapshots (metadata only: the manifest lists are not
//! written, a load never reads them) is loaded with `GET /v1/namespaces/bench/tables/events`
//! by an HTTP/1.1 keep-alive load generator inside this process, [`CLIENTS`] connections
//! at once:
//!
//! - **cold**: the first load after the server starts (the catalog reads and parses the
//!   metadata JSON, the server serializes the answer), all clients at once, on a fresh
//!   server process per round;
//! - **cached**: the same load again (`snapshots=all`, and `snapshots=refs`): the catalog
//!   reads the table row, the body comes from the load-result cache;
//! - **304**: with `If-None-Match` set to the ETag of the current metadata: no body;
//! - **ceiling**: the same `snapshots=all` body from memory through a minimal HTTP/1.1
//!   responder ([`crate::static_http`]): what moving these bytes costs on this machine.
//!
//! Beside it, PyIceberg 0.12 loads the same table: with its own `SqlCatalog` on SQLite
//! (the table registered on Floe's metadata file), and with its `RestCatalog` through
//! `floe serve` (end to end, as a PyIceberg user sees it). The same two PyIceberg
//! clients then append the same 1,000-row Arrow table to a table of each catalog,
//! alternating, and a fresh load of each must show every acknowledged append.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use floe_catalog::{Catalog, NamespaceIdent, SqlCatalog, TableCommit, TableCreation};
use floe_spec::commit::TableUpdate;
use floe_spec::schema::Schema;
use floe_spec::snapshot::{Operation, Snapshot, SnapshotReference, Summary};
use floe_spec::types::{NestedField, PrimitiveType, Type};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::TcpStream;

use crate::harness::{
    Comparison, Result, Sample, alternate, cpu_secs, median, pid_cpu_ns, process_cpu_ns, spread,
};
use crate::machine::Machine;
use crate::peer::PythonPeer;
use crate::report::{Measure, Report, WorkloadResult, sig3, thousands};
use crate::static_http::StaticHttp;

/// Options of the suite.
#[derive(Debug, Clone)]
pub struct Options {
    /// Quick mode: shorter runs, fewer rounds.
    pub quick: bool,
    /// The Python with PyIceberg.
    pub python: PathBuf,
    /// `bench/peers/pyiceberg_server.py`.
    pub peer_script: PathBuf,
    /// The `floe` binary to start (`floe serve`).
    pub floe_bin: PathBuf,
    /// Scratch folder.
    pub work_dir: PathBuf,
    /// Where the report goes.
    pub out_dir: PathBuf,
    /// The command line shown in the report.
    pub command: String,
}

/// Snapshots of the loaded table.
pub const SNAPSHOTS: i64 = 1000;

/// Concurrent clients (keep-alive connections) of the load generator.
pub const CLIENTS: usize = 16;

/// Rows of each PyIceberg append.
const APPEND_ROWS: usize = 1000;

/// The target: cached `loadTable` requests per second with [`CLIENTS`] clients.
const TARGET: f64 = 10_000.0;

const NS: &str = "bench";
const TABLE: &str = "events";

/// A running `floe serve`; killed when dropped.
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// Starts `floe serve` on a free port over `data_dir` and waits until it listens.
    fn start(bin: &Path, data_dir: &Path) -> Result<Self> {
        let mut child = Command::new(bin)
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--port", "0", "--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stdout = child.stdout.take().ok_or("floe serve has no stdout")?;
        let mut lines = BufReader::new(stdout);
        let mut first = String::new();
        lines.read_line(&mut first)?;
        // Keep draining stdout so that the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = lines.read_to_end(&mut sink);
        });
        let addr = first
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http://"))
            .map(|a| a.trim_end_matches(['"', ',', ')']).to_owned())
            .ok_or_else(|| format!("floe serve did not print its address: {first:?}"))?;
        Ok(Server { child, addr })
    }

    fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer of the load generator's client.
struct Answer {
    status: u16,
    etag: Option<String>,
}

/// An HTTP/1.1 keep-alive connection that sends prepared GET requests and reads the
/// answers (`Content-Length` bodies; no chunked encoding, no compression asked for).
struct Conn {
    stream: AsyncBufReader<TcpStream>,
    line: Vec<u8>,
}

impl Conn {
    async fn connect(addr: &str) -> Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream: AsyncBufReader::with_capacity(64 * 1024, stream),
            line: Vec::with_capacity(256),
        })
    }

    /// Sends `request` and reads the answer's body into `body`.
    async fn send(&mut self, request: &[u8], body: &mut Vec<u8>) -> Result<Answer> {
        self.stream.get_mut().write_all(request).await?;
        let mut status = None;
        let mut length = 0usize;
        let mut chunked = false;
        let mut etag = None;
        loop {
            self.line.clear();
            if self.stream.read_until(b'\n', &mut self.line).await? == 0 {
                return Err("the server closed the connection".into());
            }
            let line = std::str::from_utf8(&self.line)?.trim_end();
            if line.is_empty() {
                break;
            }
            if status.is_none() {
                status = line
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse::<u16>().ok());
                continue;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse()?;
            } else if name.eq_ignore_ascii_case("etag") {
                etag = Some(value.to_owned());
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
                if !chunked {
                    return Err(format!("unexpected transfer-encoding {value}").into());
                }
            }
        }
        if chunked {
            self.read_chunks(body).await?;
        } else {
            body.resize(length, 0);
            self.stream.read_exact(body).await?;
        }
        Ok(Answer {
            status: status.ok_or("no status line")?,
            etag,
        })
    }
}

impl Conn {
    /// Reads a chunked body (no trailers expected) into `body`.
    async fn read_chunks(&mut self, body: &mut Vec<u8>) -> Result<()> {
        body.clear();
        loop {
            self.line.clear();
            self.stream.read_until(b'\n', &mut self.line).await?;
            let size_text = std::str::from_utf8(&self.line)?.trim();
            let size_text = size_text.split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|e| format!("bad chunk size {size_text:?}: {e}"))?;
            let start = body.len();
            body.resize(start + size, 0);
            self.stream.read_exact(&mut body[start..]).await?;
            self.line.clear();
            self.stream.read_until(b'\n', &mut self.line).await?;
            if size == 0 {
                return Ok(());
            }
        }
    }
}

/// A prepared `GET path` with extra header lines.
fn get_request(path: &str, extra: &str) -> Arc<[u8]> {
    Arc::from(format!("GET {path} HTTP/1.1\r\nHost: floe\r\n{extra}\r\n").into_bytes())
}

/// One load-generator run: requests, wall time, every latency (s), body bytes.
#[derive(Debug, Default)]
struct Run {
    requests: usize,
    wall: f64,
    latencies: Vec<f64>,
    bytes: usize,
    /// On-CPU seconds of the server process during the run (NaN if not measured).
    server_cpu: f64,
    /// On-CPU seconds of the load generator (this process) during the run.
    client_cpu: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.wall
    }
}

/// `clients` connections send `request` back to back for `duration` (or `per_client`
/// requests each, if given); every answer must have status `expect`.
async fn hammer(
    addr: &str,
    request: Arc<[u8]>,
    clients: usize,
    duration: Duration,
    per_client: Option<usize>,
    expect: u16,
) -> Result<Run> {
    let mut conns = Vec::with_capacity(clients);
    for _ in 0..clients {
        conns.push(Conn::connect(addr).await?);
    }
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(clients);
    for mut conn in conns {
        let request = Arc::clone(&request);
        tasks.push(tokio::spawn(async move {
            let mut body = Vec::new();
            let mut latencies = Vec::new();
            let mut bytes = 0;
            loop {
                let done = match per_client {
                    Some(n) => latencies.len() >= n,
                    None => Instant::now() >= deadline,
                };
                if done {
                    break;
                }
                let t = Instant::now();
                let answer = conn.send(&request, &mut body).await?;
                latencies.push(t.elapsed().as_secs_f64());
                bytes += body.len();
                if answer.status != expect {
                    return Err(format!(
                        "expected status {expect}, got {}: {}",
                        answer.status,
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    )
                    .into());
                }
            }
            Ok::<_, crate::harness::BoxError>((latencies, bytes))
        }));
    }
    let mut run = Run {
        server_cpu: f64::NAN,
        client_cpu: f64::NAN,
        ..Run::default()
    };
    for task in tasks {
        let (latencies, bytes) = task.await??;
        run.requests += latencies.len();
        run.latencies.extend(latencies);
        run.bytes += bytes;
    }
    run.wall = start.elapsed().as_secs_f64();
    Ok(run)
}

fn schema() -> Result<Schema> {
    Ok(Schema::builder()
        .with_fields([
            NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
            NestedField::optional(2, "data", Type::Primitive(PrimitiveType::String)),
            NestedField::optional(3, "ts", Type::Primitive(PrimitiveType::Timestamptz)),
        ])
        .build()?)
}

/// Creates `bench.events` and grows it to [`SNAPSHOTS`] append snapshots (summaries as
/// an append writes them); returns the current metadata location and its size in bytes.
async fn grow_table(data_dir: &Path) -> Result<(String, usize)> {
    let db = data_dir.join("catalog.db");
    let warehouse = data_dir.join("warehouse");
    std::fs::create_dir_all(&warehouse)?;
    let catalog = SqlCatalog::connect(
        &format!("sqlite://{}", db.display()),
        &warehouse.display().to_string(),
    )
    .await?;
    let ns = NamespaceIdent::new([NS])?;
    catalog.create_namespace(&ns, HashMap::new()).await?;
    let table = catalog
        .create_table(&ns, TableCreation::new(TABLE, schema()?))
        .await?;
    let location = table.metadata.location().to_owned();
    let mut parent = None;
    let mut current = table;
    for id in 1..=SNAPSHOTS {
        let files = id.to_string();
        let summary = Summary {
            operation: Operation::Append,
            additional_properties: [
                ("added-data-files", "1".to_owned()),
                ("added-records", "100".to_owned()),
                ("added-files-size", "4096".to_owned()),
                ("changed-partition-count", "1".to_owned()),
                ("total-data-files", files.clone()),
                ("total-records", (id * 100).to_string()),
                ("total-files-size", (id * 4096).to_string()),
                ("total-delete-files", "0".to_owned()),
                ("total-position-deletes", "0".to_owned()),
                ("total-equality-deletes", "0".to_owned()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        };
        let snapshot = Snapshot {
            snapshot_id: id,
            parent_snapshot_id: parent,
            sequence_number: id,
            timestamp_ms: current.metadata.last_updated_ms() + 1,
            manifest_list: format!("{location}/metadata/snap-{id}-1-{id}.avro"),
            summary,
            schema_id: Some(current.metadata.current_schema_id()),
            first_row_id: None,
            added_rows: None,
            key_id: None,
        };
        current = catalog
            .commit_table(TableCommit::new(
                current.ident.clone(),
                vec![],
                vec![
                    TableUpdate::AddSnapshot { snapshot },
                    TableUpdate::set_snapshot_ref("main", &SnapshotReference::branch(id)),
                ],
            ))
            .await?;
        parent = Some(id);
    }
    catalog.close().await;
    let metadata_location = current
        .metadata_location
        .ok_or("the grown table has no metadata location")?;
    let size = current.metadata.to_json_vec()?.len();
    Ok((metadata_location, size))
}

/// The cold case of one round: a fresh server, every client's first load at once.
async fn cold_round(bin: &Path, data_dir: &Path, request: &Arc<[u8]>) -> Result<Run> {
    let server = Server::start(bin, data_dir)?;
    let run = hammer(
        &server.addr,
        Arc::clone(request),
        CLIENTS,
        Duration::ZERO,
        Some(1),
        200,
    )
    .await?;
    drop(server);
    Ok(run)
}

/// Runs the suite, prints the report and writes it; returns the report's path.
pub fn run(opts: &Options) -> Result<PathBuf> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let machine = Machine::detect();
    let rounds = if opts.quick { 3 } else { 5 };
    let run_for = Duration::from_secs(if opts.quick { 2 } else { 5 });
    let (floe_loads, py_loads) = if opts.quick { (500, 10) } else { (2000, 30) };
    let appends_per_round = if opts.quick { 10 } else { 30 };
    if !opts.floe_bin.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p floe-server` (bench/run does)",
            opts.floe_bin.display()
        )
        .into());
    }
    let dir = crate::workdir::fresh(&opts.work_dir, "server")?;
    let data_dir = dir.join("floe-data");
    std::fs::create_dir_all(&data_dir)?;
    std::fs::create_dir_all(&opts.out_dir)?;

    eprintln!("growing {NS}.{TABLE} to {SNAPSHOTS} snapshots");
    let (metadata_location, metadata_bytes) = rt.block_on(grow_table(&data_dir))?;

    eprintln!("starting the PyIceberg peer: {}", opts.python.display());
    let mut peer = PythonPeer::start(&opts.python, &opts.peer_script)?;
    let info = peer.request(&json!({"op": "info"}))?;
    let pyiceberg = format!("PyIceberg {}", str_of(&info, "pyiceberg"));
    let identifier = format!("{NS}.{TABLE}");
    let py_dir = dir.join("pyiceberg");
    std::fs::create_dir_all(&py_dir)?;
    let py_sql = peer.request(&json!({
        "op": "setup_sql",
        "db": py_dir.join("catalog.db"),
        "warehouse": py_dir.join("warehouse"),
        "table": identifier,
        "metadata_location": metadata_location,
    }))?;

    let path = format!("/v1/namespaces/{NS}/tables/{TABLE}");
    let all = get_request(&path, "");
    let refs = get_request(&format!("{path}?snapshots=refs"), "");

    // ---- cold: a fresh server per round --------------------------------------------
    eprintln!("cold loads: {rounds} fresh servers");
    let mut cold = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        cold.push(rt.block_on(cold_round(&opts.floe_bin, &data_dir, &all))?);
    }

    // ---- one server for the warm cases ---------------------------------------------
    let server = Server::start(&opts.floe_bin, &data_dir)?;
    let addr = server.addr.clone();
    let (mut checks, etag, all_body) =
        rt.block_on(first_answers(&addr, &all, &refs, &metadata_location))?;
    // The ceiling: the same body from memory, through a minimal responder.
    let ceiling_server = StaticHttp::start(&all_body, "application/json")?;
    let not_modified = get_request(&path, &format!("If-None-Match: {etag}\r\n"));
    let py_rest = peer.request(&json!({
        "op": "setup_rest", "uri": server.uri(), "table": identifier,
    }))?;

    eprintln!("16-client runs: {rounds} rounds of cached all / refs / 304");
    let all_gzip = get_request(&path, "Accept-Encoding: gzip\r\n");
    let cases: [(&str, &Arc<[u8]>, u16); 4] = [
        ("cached, `snapshots=all`", &all, 200),
        (
            "cached, `snapshots=all`, `Accept-Encoding: gzip`",
            &all_gzip,
            200,
        ),
        ("cached, `snapshots=refs`", &refs, 200),
        ("304 (`If-None-Match`)", &not_modified, 304),
    ];
    let mut runs: Vec<Vec<Run>> = (0..cases.len()).map(|_| Vec::new()).collect();
    let mut ceiling = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let client0 = process_cpu_ns();
        let mut run = rt.block_on(hammer(
            &ceiling_server.addr,
            Arc::clone(&all),
            CLIENTS,
            run_for,
            None,
            200,
        ))?;
        // Responder and load generator share this process: all its CPU is the client's.
        run.client_cpu = cpu_secs(client0, process_cpu_ns());
        ceiling.push(run);
        for (i, (_, request, expect)) in cases.iter().enumerate() {
            let request = Arc::clone(request);
            let pid = server.child.id();
            let (server0, client0) = (pid_cpu_ns(pid), process_cpu_ns());
            let mut run = rt.block_on(hammer(&addr, request, CLIENTS, run_for, None, *expect))?;
            run.server_cpu = cpu_secs(server0, pid_cpu_ns(pid));
            run.client_cpu = cpu_secs(client0, process_cpu_ns());
            runs[i].push(run);
        }
    }

    eprintln!("1 client: Floe over HTTP vs PyIceberg SqlCatalog, alternating");
    let one_client = |request: &Arc<[u8]>| {
        let request = Arc::clone(request);
        let addr = addr.clone();
        let run = rt.block_on(hammer(
            &addr,
            request,
            1,
            Duration::ZERO,
            Some(floe_loads),
            200,
        ))?;
        Ok(Sample {
            wall: run.wall / run.requests as f64,
            cpu: f64::NAN,
        })
    };
    let sql_req = json!({"op": "load", "catalog": "sql", "table": identifier, "loads": py_loads});
    let rest_req = json!({"op": "load", "catalog": "rest", "table": identifier, "loads": py_loads});
    let vs_sql = alternate(rounds, || one_client(&all), || peer.timed(&sql_req))?;
    let shared = std::cell::RefCell::new(&mut peer);
    let rest_vs_sql = alternate(
        rounds,
        || shared.borrow_mut().timed(&rest_req),
        || shared.borrow_mut().timed(&sql_req),
    )?;
    eprintln!("PyIceberg appends: RestCatalog through floe serve vs its SqlCatalog, alternating");
    shared
        .borrow_mut()
        .request(&json!({"op": "setup_append", "rows": APPEND_ROWS}))?;
    let append_req =
        |catalog: &str| json!({"op": "append", "catalog": catalog, "appends": appends_per_round});
    let (rest_append, sql_append) = (append_req("rest"), append_req("sql"));
    let appends = alternate(
        rounds,
        || shared.borrow_mut().timed(&rest_append),
        || shared.borrow_mut().timed(&sql_append),
    )?;
    let expected_appends = (rounds + 1) * appends_per_round;
    for catalog in ["rest", "sql"] {
        let held = shared
            .borrow_mut()
            .request(&json!({"op": "appended", "catalog": catalog}))?;
        checks.push(append_check(catalog, &held, expected_appends)?);
    }
    let mut one_client_refs = Vec::new();
    for _ in 0..rounds {
        one_client_refs.push(one_client(&refs)?.wall);
    }
    drop(server);
    drop(ceiling_server);
    drop(peer);
    let _ = crate::workdir::discard(&opts.work_dir, &dir);

    checks.push(format!(
        "PyIceberg loads the same table with {} snapshots through its SqlCatalog and {} \
         through `floe serve` (RestCatalog)",
        py_sql.get("snapshots").unwrap_or(&Value::Null),
        py_rest.get("snapshots").unwrap_or(&Value::Null),
    ));
    let cached_rates: Vec<f64> = runs[0].iter().map(Run::rate).collect();
    let cached = median(&cached_rates);
    let target = format!(
        "cached `loadTable` (`snapshots=all`, {} snapshots, {} kB body) with {CLIENTS} \
         clients ≥ {} req/s: {} req/s — {}",
        thousands(SNAPSHOTS as u64),
        metadata_bytes / 1000,
        thousands(TARGET as u64),
        thousands(cached as u64),
        if cached >= TARGET { "met" } else { "NOT met" }
    );
    let refs_rate = median(&runs[2].iter().map(Run::rate).collect::<Vec<_>>());
    let ceiling_rate = median(&ceiling.iter().map(Run::rate).collect::<Vec<_>>());
    let target_ceiling = format!(
        "the ceiling of this machine for that body and {CLIENTS} clients (the same bytes \
         from memory through a minimal HTTP/1.1 responder): {} req/s; Floe reaches {:.0}% of it",
        thousands(ceiling_rate as u64),
        100.0 * cached / ceiling_rate
    );
    let target_refs = format!(
        "the same with `snapshots=refs` (the head snapshot only): {} req/s — {}",
        thousands(refs_rate as u64),
        if refs_rate >= TARGET {
            "met"
        } else {
            "NOT met"
        }
    );
    let report = Report {
        title: "Floe REST server: loadTable vs PyIceberg".to_owned(),
        date: crate::spec_bench::today(),
        command: opts.command.clone(),
        peer: pyiceberg.clone(),
        rounds,
        machine,
        versions: vec![
            format!(
                "peer: {pyiceberg} SqlCatalog (SQLAlchemy {}, SQLite {}) and RestCatalog, Python {}",
                str_of(&info, "sqlalchemy"),
                str_of(&info, "sqlite"),
                str_of(&info, "python")
            ),
            format!(
                "Floe: git {}, {}, {} build; `floe serve` on SQLite, local warehouse",
                std::env::var("FLOE_BENCH_COMMIT").unwrap_or_else(|_| "unknown".to_owned()),
                std::env::var("FLOE_BENCH_RUSTC").unwrap_or_else(|_| "rustc unknown".to_owned()),
                if cfg!(debug_assertions) {
                    "DEBUG (not for measuring)"
                } else {
                    "release"
                },
            ),
            format!(
                "mode: {} ({rounds} rounds; {CLIENTS}-client runs of {} s per case and round; \
                 1 client: {floe_loads} Floe / {py_loads} PyIceberg loads per round)",
                if opts.quick { "quick" } else { "full" },
                run_for.as_secs()
            ),
        ],
        results: vec![
            WorkloadResult {
                name: "loadTable, 1 client, cached (Floe over HTTP vs PyIceberg SqlCatalog)"
                    .to_owned(),
                input: format!(
                    "{} snapshots, metadata JSON {} kB",
                    thousands(SNAPSHOTS as u64),
                    metadata_bytes / 1000
                ),
                measure: Measure::Throughput {
                    items: 1,
                    unit: "loads",
                },
                cmp: vs_sql.clone(),
            },
            WorkloadResult {
                name: "PyIceberg load_table: RestCatalog through floe serve vs its SqlCatalog"
                    .to_owned(),
                input: format!(
                    "{} snapshots, metadata JSON {} kB",
                    thousands(SNAPSHOTS as u64),
                    metadata_bytes / 1000
                ),
                measure: Measure::Throughput {
                    items: 1,
                    unit: "loads",
                },
                cmp: rest_vs_sql,
            },
            WorkloadResult {
                name: "PyIceberg append: RestCatalog through floe serve vs its SqlCatalog"
                    .to_owned(),
                input: format!(
                    "{} rows (3 columns) per `Table.append`, {appends_per_round} appends per \
                     round, one table per catalog",
                    thousands(APPEND_ROWS as u64)
                ),
                measure: Measure::Throughput {
                    items: 1,
                    unit: "appends",
                },
                cmp: appends,
            },
        ],
        other_peers: Vec::new(),
        sections: vec![clients_section(
            &cold,
            &cases.map(|c| c.0),
            &runs,
            &ceiling,
            &one_client_refs,
            &vs_sql,
        )],
        targets: vec![target, target_ceiling, target_refs],
        checks,
        notes: notes(),
    };
    let md = report.to_markdown();
    let path = opts.out_dir.join(format!("{}-server.md", report.date));
    std::fs::write(&path, &md)?;
    println!("{md}");
    Ok(path)
}

/// The first answers of the warm server, checked: the `all` body lists every snapshot,
/// the `refs` body only the head, both name the current metadata file; returns the
/// checks, the ETag and the `all` body.
async fn first_answers(
    addr: &str,
    all: &Arc<[u8]>,
    refs: &Arc<[u8]>,
    metadata_location: &str,
) -> Result<(Vec<String>, String, Vec<u8>)> {
    let mut conn = Conn::connect(addr).await?;
    let mut all_body = Vec::new();
    let mut body = Vec::new();
    let mut checks = Vec::new();
    let mut etag = String::new();
    for (mode, request, snapshots) in [("all", all, SNAPSHOTS), ("refs", refs, 1)] {
        let answer = conn.send(request, &mut body).await?;
        let doc: Value = serde_json::from_slice(&body)?;
        let listed = doc
            .pointer("/metadata/snapshots")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        let location = doc
            .get("metadata-location")
            .and_then(Value::as_str)
            .unwrap_or("");
        if answer.status != 200 || listed as i64 != snapshots || location != metadata_location {
            return Err(format!(
                "loadTable snapshots={mode}: status {}, {listed} snapshots, location {location:?}; \
                 expected 200, {snapshots}, {metadata_location:?}",
                answer.status
            )
            .into());
        }
        if mode == "all" {
            etag = answer.etag.ok_or("loadTable answered without an ETag")?;
            all_body.clone_from(&body);
        }
        checks.push(format!(
            "`snapshots={mode}` answers 200 with {listed} snapshot(s) in a {} kB body naming \
             the current metadata file",
            body.len() / 1000
        ));
    }
    let with_tag = get_request(
        &format!("/v1/namespaces/{NS}/tables/{TABLE}"),
        &format!("If-None-Match: {etag}\r\n"),
    );
    let answer = conn.send(&with_tag, &mut body).await?;
    if answer.status != 304 || !body.is_empty() {
        return Err(format!(
            "If-None-Match {etag}: status {}, {} body bytes; expected 304 and none",
            answer.status,
            body.len()
        )
        .into());
    }
    checks.push(format!(
        "`If-None-Match: {etag}` answers 304 without a body; every timed answer had the \
         expected status (200 or 304)"
    ));
    Ok((checks, etag, all_body))
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(t: f64) -> String {
    format!("{} ms", sig3(t * 1e3))
}

/// The table of every Floe case: req/s (median and min–max over rounds), p50/p99 latency.
fn clients_section(
    cold: &[Run],
    names: &[&str; 4],
    runs: &[Vec<Run>],
    ceiling: &[Run],
    one_client_refs: &[f64],
    vs_sql: &Comparison,
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## loadTable under {CLIENTS} concurrent clients\n\n\
         {CLIENTS} HTTP/1.1 keep-alive connections, each sending the next request when the \
         answer is in. req/s = answered requests / wall time of the run, median over the \
         rounds with min–max; latency = one request as its client sees it, p50 and p99 over \
         every request of every round. Cold = the first load of each client on a freshly \
         started server ({CLIENTS} at once: each misses the caches, reads and parses the \
         metadata JSON and serializes the answer). \
         × PyIceberg = req/s over PyIceberg's single-process SqlCatalog `load_table` rate \
         (median of the rounds above, {}/s). On-CPU per request: the user + system time \
         of the server process (`/proc/<pid>/stat`, 10 ms ticks) and of the load generator \
         (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`) over the runs, divided by the \
         requests answered; on 2 cores, 1 s of wall time has \
         2 s of CPU to share between the two.\n",
        sig3(1.0 / median(&vs_sql.peer))
    );
    let _ = writeln!(
        s,
        "| case | requests | req/s median | min–max | p50 | p99 | MB/s | × PyIceberg | server on-CPU / req | load generator on-CPU / req |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let py_rate = 1.0 / median(&vs_sql.peer);
    let mut row = |name: &str, runs: &[Run]| {
        let rates: Vec<f64> = runs.iter().map(Run::rate).collect();
        let (lo, hi) = spread(&rates);
        let mut lat: Vec<f64> = runs.iter().flat_map(|r| r.latencies.clone()).collect();
        lat.sort_by(f64::total_cmp);
        let bytes: usize = runs.iter().map(|r| r.bytes).sum();
        let wall: f64 = runs.iter().map(|r| r.wall).sum();
        let per_request = |cpu: f64| {
            let us = cpu / lat.len() as f64 * 1e6;
            if us.is_finite() {
                format!("{} µs", sig3(us))
            } else {
                "–".to_owned()
            }
        };
        let server_cpu = per_request(runs.iter().map(|r| r.server_cpu).sum());
        let client_cpu = per_request(runs.iter().map(|r| r.client_cpu).sum());
        let _ = writeln!(
            s,
            "| {name} | {} | **{}** | {} – {} | {} | {} | {} | {:.0}× | {server_cpu} | {client_cpu} |",
            thousands(lat.len() as u64),
            thousands(median(&rates) as u64),
            thousands(lo as u64),
            thousands(hi as u64),
            ms(quantile(&lat, 0.5)),
            ms(quantile(&lat, 0.99)),
            sig3(bytes as f64 / wall / 1e6),
            median(&rates) / py_rate
        );
    };
    row("cold (first load, fresh server)", cold);
    for (name, runs) in names.iter().zip(runs) {
        row(name, runs);
    }
    row(
        "ceiling: the `snapshots=all` body from memory, minimal responder (same process as the load generator)",
        ceiling,
    );
    let _ = writeln!(
        s,
        "\n1 client, cached `snapshots=refs`: median {} per load ({} loads/s); \
         `snapshots=all`: {} ({} loads/s).",
        ms(median(one_client_refs)),
        thousands((1.0 / median(one_client_refs)) as u64),
        ms(median(&vs_sql.floe)),
        thousands((1.0 / median(&vs_sql.floe)) as u64),
    );
    s
}

/// The check of what PyIceberg reads back from the append table of `catalog`: one
/// `append` snapshot and [`APPEND_ROWS`] rows per acknowledged append, in the head's
/// summary and in a full scan; an error if not. Other snapshots (the server's own
/// maintenance may compact the small files: `replace`) are named, not counted.
fn append_check(catalog: &str, held: &Value, appends: usize) -> Result<String> {
    let count = |key: &str| held.get(key).and_then(Value::as_u64).unwrap_or(0) as usize;
    let operations = held
        .get("operations")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let of = |op: &str| operations.get(op).and_then(Value::as_u64).unwrap_or(0) as usize;
    let rows = appends * APPEND_ROWS;
    let (snapshots, summary, scanned) = (
        count("snapshots"),
        count("total_records"),
        count("scanned_rows"),
    );
    let others = snapshots - of("append").min(snapshots);
    if of("append") != appends || of("replace") != others || summary != rows || scanned != rows {
        return Err(format!(
            "PyIceberg's {catalog} append table holds {snapshots} snapshots ({}) and {summary} \
             rows by summary, {scanned} by scan; expected {appends} appends (other snapshots \
             only `replace`) and {rows} rows",
            Value::Object(operations)
        )
        .into());
    }
    let others = match others {
        0 => String::new(),
        1 => " (plus 1 `replace` snapshot: the server's own compaction)".to_owned(),
        n => format!(" (plus {n} `replace` snapshots: the server's own compaction)"),
    };
    let through = if catalog == "rest" {
        "through `floe serve`"
    } else {
        "through its SqlCatalog"
    };
    Ok(format!(
        "PyIceberg's appends {through}: {appends} acknowledged, and a fresh load shows \
         {appends} append snapshots{others} and {} rows (head summary and full scan alike)",
        thousands(rows as u64)
    ))
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("?")
}

fn notes() -> Vec<String> {
    vec![
        "The server is the release `floe` binary (`floe serve --log-level warn`, SQLite \
         catalog and local warehouse in one data folder, default caches), a separate process \
         on the same 2 cores as the load generator (a tokio runtime in floe-bench): the \
         client's own work (reading up to the whole body per request) is on the same CPUs."
            .to_owned(),
        "A cached load reads neither the catalog database nor the object store and does no \
         JSON work: the table's current metadata location comes from the server's \
         in-process pointer cache (invalidated by every commit through the server; commits \
         by other processes are seen within `--table-pointer-ttl-ms`, default 1 s, so one \
         load per second re-reads the row), and the body bytes and the ETag come from the \
         load-result cache keyed by metadata location (immutable files), as shared buffers."
            .to_owned(),
        "The table's snapshots are metadata only (manifest-list paths that are never read): \
         a load answers with the metadata JSON and reads no manifest list, on both sides."
            .to_owned(),
        "PyIceberg's SqlCatalog reads its row, then reads and parses the metadata file on \
         every `load_table` (it has no metadata cache); its RestCatalog sends one GET per \
         `load_table` to the same `floe serve` and parses the JSON answer. Both run in one \
         warm Python process and time themselves; the Floe 1-client figure is the Rust \
         HTTP client's time per request (no parsing of the answer)."
            .to_owned(),
        "PyIceberg append: the same warm Python process appends the same Arrow table with \
         `Table.append` (pyarrow writes the Parquet file, PyIceberg the manifest and the \
         manifest list, then commits) to a table of each catalog, alternating rounds; both \
         tables grow alike. Through `floe serve` the commit is one HTTP POST that the \
         server applies (SQLite in WAL mode, `synchronous=NORMAL`); the SqlCatalog commits \
         in the peer's own SQLite file through SQLAlchemy (its defaults). The Python \
         process's on-CPU time leaves out the server's."
            .to_owned(),
        "The machine is shared (other engineers compile on the same 2 cores): see the load \
         average above."
            .to_owned(),
    ]
}
