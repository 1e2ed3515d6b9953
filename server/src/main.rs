//! The `floe` binary: `floe serve` runs the Iceberg REST catalog (and, unless
//! `--no-maintenance`, the maintenance scheduler and workers); `floe worker` runs only
//! maintenance workers; `floe maintenance <action> ns.table` asks a running server to
//! run an action and waits for it.
//!
//! With no flags it keeps everything under `./floe-data` (a SQLite catalog and a local
//! warehouse) and listens on 127.0.0.1:8181. Every flag has a `FLOE_*` environment
//! variable. SIGTERM or ctrl-c stops accepting connections and lets in-flight requests
//! (and commits) finish.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use floe_catalog::SqlCatalog;
use floe_catalog::sql::tasks::QueueConfig;
use floe_server::app::{AppState, Settings, router};
use floe_server::auth::AuthConfig;
use floe_server::maintenance::client::MaintenanceClient;
use floe_server::maintenance::scheduler::SchedulerSettings;
use floe_server::maintenance::worker::WorkerSettings;
use floe_server::maintenance::{Action, Maintenance};

/// mimalloc rather than glibc's malloc: it keeps freed memory for reuse instead of
/// trimming and regrowing the heap around each burst of small allocations (a manifest
/// decode, a metadata parse), which cost up to half again the time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "floe",
    version,
    about = "Floe: an Apache Iceberg table service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the Iceberg REST catalog server.
    Serve(ServeArgs),
    /// Runs only maintenance workers (no HTTP server, no scheduler) on a catalog.
    Worker(WorkerArgs),
    /// Asks a running server to run a maintenance action and waits for it.
    Maintenance(MaintenanceArgs),
    /// Runs SQL against the catalog (`-e 'SQL; …'`, or an interactive prompt).
    Sql(SqlArgs),
}

#[derive(Debug, clap::Args)]
struct WorkerArgs {
    /// The folder for the default catalog database and warehouse.
    #[arg(long, env = "FLOE_DATA_DIR", default_value = "./floe-data")]
    data_dir: PathBuf,
    /// The catalog database (default: `<data-dir>/catalog.db`).
    #[arg(long, env = "FLOE_CATALOG")]
    catalog: Option<String>,
    /// The warehouse (default: `<data-dir>/warehouse`).
    #[arg(long, env = "FLOE_WAREHOUSE")]
    warehouse: Option<String>,
    /// The log filter.
    #[arg(long, env = "FLOE_LOG_LEVEL", default_value = "info")]
    log_level: String,
    #[command(flatten)]
    maintenance: MaintenanceOptions,
}

/// Maintenance settings shared by `serve` and `worker`.
#[derive(Debug, clap::Args)]
struct MaintenanceOptions {
    /// Maintenance worker loops in this process.
    #[arg(long, env = "FLOE_MAINTENANCE_WORKERS", default_value_t = 2)]
    maintenance_workers: usize,
    /// The most maintenance tasks running at once over all processes.
    #[arg(long, env = "FLOE_MAINTENANCE_MAX_RUNNING", default_value_t = 2)]
    maintenance_max_running: u32,
    /// Seconds between scheduler sweeps over every table.
    #[arg(long, env = "FLOE_MAINTENANCE_SWEEP_SECS", default_value_t = 300)]
    maintenance_sweep_secs: u64,
}

#[derive(Debug, clap::Args)]
struct MaintenanceArgs {
    /// The server.
    #[arg(
        long,
        env = "FLOE_SERVER",
        default_value = "http://127.0.0.1:8181",
        global = true
    )]
    server: String,
    /// A bearer token for the server.
    #[arg(long, env = "FLOE_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    #[command(subcommand)]
    command: MaintenanceCommand,
}

#[derive(Debug, Subcommand)]
enum MaintenanceCommand {
    /// Compacts small data files (folding deletes).
    Compact(RequestArgs),
    /// Expires old snapshots and deletes the files only they reached.
    ExpireSnapshots(RequestArgs),
    /// Removes files no metadata references.
    RemoveOrphanFiles(RequestArgs),
    /// Merges small manifests.
    RewriteManifests(RequestArgs),
    /// Shows one task.
    Status {
        /// The task id.
        id: i64,
    },
    /// Lists the newest tasks.
    List {
        /// How many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

#[derive(Debug, clap::Args)]
struct RequestArgs {
    /// The table: `namespace.table` (nested namespaces: `a.b.table`).
    table: String,
    /// Only report what the action would do.
    #[arg(long)]
    dry_run: bool,
    /// An action option as `key=value` (repeatable; the value is JSON, or a string).
    #[arg(long = "option", short = 'o')]
    options: Vec<String>,
    /// Return the task id without waiting.
    #[arg(long)]
    no_wait: bool,
}

#[derive(Debug, clap::Args)]
struct SqlArgs {
    /// A catalog to connect to instead of the embedded one: `http://host:8181` (a
    /// `floe serve` or any Iceberg REST catalog), `sqlite://…`, `postgres://…`.
    #[arg(long, env = "FLOE_URI")]
    uri: Option<String>,
    /// A bearer token for the `--uri` catalog.
    #[arg(long, env = "FLOE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// The folder of the embedded catalog database and warehouse (`floe serve`'s).
    #[arg(long, env = "FLOE_DATA_DIR", default_value = "./floe-data")]
    data_dir: PathBuf,
    /// The catalog database URL (default: `<data-dir>/catalog.db`).
    #[arg(long, env = "FLOE_CATALOG")]
    catalog: Option<String>,
    /// The warehouse location (default: `<data-dir>/warehouse`).
    #[arg(long, env = "FLOE_WAREHOUSE")]
    warehouse: Option<String>,
    /// Statements to run (separated by `;`) instead of the interactive prompt.
    #[arg(short = 'e', long = "execute")]
    execute: Option<String>,
    /// Output format: table, csv or json.
    #[arg(long, default_value = "table")]
    format: floe_client::sql::cli::OutputFormat,
}

#[derive(Debug, clap::Args)]
#[allow(clippy::struct_field_names)]
struct ServeArgs {
    /// The folder for the default catalog database and warehouse.
    #[arg(long, env = "FLOE_DATA_DIR", default_value = "./floe-data")]
    data_dir: PathBuf,
    /// The catalog database: `sqlite://path` or `postgres://user:pw@host/db`
    /// (default: `<data-dir>/catalog.db`).
    #[arg(long, env = "FLOE_CATALOG")]
    catalog: Option<String>,
    /// The warehouse: a path, `file://`, `s3://`, `gs://`, `az://`
    /// (default: `<data-dir>/warehouse`).
    #[arg(long, env = "FLOE_WAREHOUSE")]
    warehouse: Option<String>,
    /// The address to listen on.
    #[arg(long, env = "FLOE_BIND", default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// The port to listen on (0 = any free port).
    #[arg(long, env = "FLOE_PORT", default_value_t = 8181)]
    port: u16,
    /// The log filter (`info`, `debug`, `floe_server=debug,tower_http=info`, ...).
    #[arg(long, env = "FLOE_LOG_LEVEL", default_value = "info")]
    log_level: String,
    /// A static bearer token clients must send (repeatable; enables authentication).
    #[arg(long = "token", env = "FLOE_TOKENS", value_delimiter = ',')]
    tokens: Vec<String>,
    /// An OAuth2 client allowed to get tokens at /v1/oauth/tokens, as `id:secret`
    /// (repeatable; enables authentication).
    #[arg(
        long = "oauth-client",
        env = "FLOE_OAUTH_CLIENTS",
        value_delimiter = ','
    )]
    oauth_clients: Vec<String>,
    /// The key that signs issued tokens (default: random per process; set it when
    /// several replicas serve the same clients).
    #[arg(long, env = "FLOE_TOKEN_SECRET", hide_env_values = true)]
    token_secret: Option<String>,
    /// Lifetime of issued tokens, in seconds.
    #[arg(long, env = "FLOE_TOKEN_TTL_SECS", default_value_t = 3600)]
    token_ttl_secs: u64,
    /// The largest accepted request body, in bytes.
    #[arg(long, env = "FLOE_MAX_BODY_BYTES", default_value_t = floe_server::app::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Requests running longer are answered with 504, in seconds.
    #[arg(long, env = "FLOE_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    request_timeout_secs: u64,
    /// How long a table's cached metadata pointer answers loads without reading the
    /// catalog database, in milliseconds: the staleness bound for commits made by
    /// other processes (replicas on the same PostgreSQL, programs on the same SQLite
    /// file). Commits through this server are seen by the next load regardless. 0 =
    /// read the database on every load.
    #[arg(long, env = "FLOE_TABLE_POINTER_TTL_MS", default_value_t = 1000)]
    table_pointer_ttl_ms: u64,
    /// Group commit: how long the first append intent of a table waits for others, in
    /// milliseconds.
    #[arg(long, env = "FLOE_GROUP_COMMIT_WINDOW_MS", default_value_t = 5)]
    group_commit_window_ms: u64,
    /// Group commit: the most append intents in one snapshot.
    #[arg(long, env = "FLOE_GROUP_COMMIT_MAX", default_value_t = 256)]
    group_commit_max: usize,
    /// Runs no maintenance (no scheduler, no workers) in this server.
    #[arg(long, env = "FLOE_NO_MAINTENANCE")]
    no_maintenance: bool,
    #[command(flatten)]
    maintenance: MaintenanceOptions,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Command::Sql(args) = cli.command {
        return sql(args);
    }
    let log_level = match &cli.command {
        Command::Serve(a) => a.log_level.clone(),
        Command::Worker(a) => a.log_level.clone(),
        Command::Maintenance(_) | Command::Sql(_) => "warn".to_owned(),
    };
    init_tracing(&log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("floe: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let done = match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::Worker(args) => runtime.block_on(worker(args)),
        Command::Maintenance(args) => runtime.block_on(maintenance_cli(args)),
        Command::Sql(args) => return sql(args),
    };
    match done {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floe: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `floe sql`: SQL through DataFusion on a catalog server or the embedded catalog.
fn sql(args: SqlArgs) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("floe: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let opts = floe_client::sql::cli::CliOptions {
        uri: args.uri,
        token: args.token,
        data_dir: args.data_dir,
        catalog: args.catalog,
        warehouse: args.warehouse,
        execute: args.execute,
        format: args.format,
    };
    match runtime.block_on(floe_client::sql::cli::run(opts)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    let data_dir = std::path::absolute(&args.data_dir)
        .map_err(|e| format!("invalid --data-dir {}: {e}", args.data_dir.display()))?;
    let catalog_url = if let Some(url) = &args.catalog {
        url.clone()
    } else {
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        sqlite_url(&data_dir.join("catalog.db"))
    };
    let warehouse = args
        .warehouse
        .clone()
        .unwrap_or_else(|| data_dir.join("warehouse").display().to_string());
    let catalog = SqlCatalog::connect(&catalog_url, &warehouse)
        .await
        .map_err(|e| format!("cannot open the catalog: {e}"))?;
    let catalog = Arc::new(catalog);

    let mut clients = Vec::new();
    for c in &args.oauth_clients {
        let (id, secret) = c.split_once(':').ok_or_else(|| {
            format!(
                "--oauth-client `{id}` must be `id:secret`",
                id = c.split(':').next().unwrap_or("")
            )
        })?;
        clients.push((id.to_owned(), secret.to_owned()));
    }
    let settings = Settings {
        max_body_bytes: args.max_body_bytes,
        request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
        table_pointer_ttl: Duration::from_millis(args.table_pointer_ttl_ms),
        namespace_separator: None,
        auth: AuthConfig {
            tokens: args
                .tokens
                .iter()
                .filter(|t| !t.is_empty())
                .cloned()
                .collect(),
            clients,
            signing_key: args.token_secret.map(String::into_bytes),
            token_ttl_secs: args.token_ttl_secs,
        },
        group_commit: floe_table::stream::GroupCommitConfig {
            window: Duration::from_millis(args.group_commit_window_ms),
            max_intents: args.group_commit_max.max(1),
            ..floe_table::stream::GroupCommitConfig::default()
        },
    };
    let auth_on = !settings.auth.tokens.is_empty() || !settings.auth.clients.is_empty();
    let maintenance = Maintenance::new((*catalog).clone(), queue_config(&args.maintenance));
    let state =
        AppState::for_sql_catalog_with_maintenance(catalog.clone(), settings, maintenance.clone());
    let app = router(state);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let expiry = floe_server::idempotency::start(
        (*catalog).clone(),
        floe_server::idempotency::IDEMPOTENCY_KEY_LIFETIME,
        floe_server::idempotency::EXPIRY_INTERVAL,
        stopped.clone(),
    );
    let mut background = if args.no_maintenance {
        tracing::info!("maintenance is off (--no-maintenance)");
        Vec::new()
    } else {
        floe_server::maintenance::start(
            &catalog,
            &maintenance,
            Some(SchedulerSettings {
                sweep_interval: Duration::from_secs(args.maintenance.maintenance_sweep_secs.max(1)),
                ..SchedulerSettings::default()
            }),
            &worker_settings(&args.maintenance),
            &stopped,
        )
    };

    background.push(expiry);

    let addr = SocketAddr::new(args.bind, args.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    let uri = format!("http://{local}");
    let auth_hint = if auth_on { ", token=\"...\"" } else { "" };
    println!(
        "Floe REST catalog listening on {uri} — PyIceberg: load_catalog(\"floe\", type=\"rest\", uri=\"{uri}\"{auth_hint})"
    );
    tracing::info!(%uri, catalog = %redact(&catalog_url), %warehouse, auth = auth_on, "serving");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))?;
    let _ = stop.send(true);
    for h in background {
        let _ = h.await;
    }
    tracing::info!("stopped; closing the catalog");
    catalog.close().await;
    Ok(())
}

fn queue_config(o: &MaintenanceOptions) -> QueueConfig {
    QueueConfig {
        max_running: o.maintenance_max_running.max(1),
        ..QueueConfig::default()
    }
}

fn worker_settings(o: &MaintenanceOptions) -> WorkerSettings {
    WorkerSettings {
        workers: o.maintenance_workers.max(1),
        ..WorkerSettings::default()
    }
}

async fn open_catalog(
    data_dir: &Path,
    catalog: Option<&String>,
    warehouse: Option<&String>,
) -> Result<(Arc<SqlCatalog>, String, String), String> {
    let data_dir = std::path::absolute(data_dir)
        .map_err(|e| format!("invalid --data-dir {}: {e}", data_dir.display()))?;
    let catalog_url = if let Some(url) = catalog {
        url.clone()
    } else {
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        sqlite_url(&data_dir.join("catalog.db"))
    };
    let warehouse = warehouse
        .cloned()
        .unwrap_or_else(|| data_dir.join("warehouse").display().to_string());
    let catalog = SqlCatalog::connect(&catalog_url, &warehouse)
        .await
        .map_err(|e| format!("cannot open the catalog: {e}"))?;
    Ok((Arc::new(catalog), catalog_url, warehouse))
}

/// `floe worker`: maintenance workers only, until SIGTERM or ctrl-c.
async fn worker(args: WorkerArgs) -> Result<(), String> {
    let (catalog, url, warehouse) = open_catalog(
        &args.data_dir,
        args.catalog.as_ref(),
        args.warehouse.as_ref(),
    )
    .await?;
    let maintenance = Maintenance::new((*catalog).clone(), queue_config(&args.maintenance));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let settings = worker_settings(&args.maintenance);
    let handles =
        floe_server::maintenance::start(&catalog, &maintenance, None, &settings, &stopped);
    tracing::info!(catalog = %redact(&url), %warehouse, workers = settings.workers, "maintenance workers running");
    shutdown_signal().await;
    let _ = stop.send(true);
    for h in handles {
        let _ = h.await;
    }
    catalog.close().await;
    Ok(())
}

/// `floe maintenance ...`: talks to a running server.
async fn maintenance_cli(args: MaintenanceArgs) -> Result<(), String> {
    let client = MaintenanceClient::new(&args.server, args.token.clone())?;
    let (action, request) = match args.command {
        MaintenanceCommand::Status { id } => {
            let task = client.task(id).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&task).unwrap_or_default()
            );
            return Ok(());
        }
        MaintenanceCommand::List { limit } => {
            let tasks = client.list(limit).await?;
            for t in tasks["tasks"].as_array().into_iter().flatten() {
                println!(
                    "{:>6}  {:<20} {:<10} {}.{} attempts={}",
                    t["task-id"],
                    t["action"].as_str().unwrap_or(""),
                    t["status"].as_str().unwrap_or(""),
                    t["table"]["namespace"]
                        .as_array()
                        .map(|l| l
                            .iter()
                            .filter_map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join("."))
                        .unwrap_or_default(),
                    t["table"]["name"].as_str().unwrap_or(""),
                    t["attempts"],
                );
            }
            return Ok(());
        }
        MaintenanceCommand::Compact(r) => (Action::Compact, r),
        MaintenanceCommand::ExpireSnapshots(r) => (Action::ExpireSnapshots, r),
        MaintenanceCommand::RemoveOrphanFiles(r) => (Action::RemoveOrphanFiles, r),
        MaintenanceCommand::RewriteManifests(r) => (Action::RewriteManifests, r),
    };
    let mut options = serde_json::Map::new();
    for o in &request.options {
        let (k, v) = o
            .split_once('=')
            .ok_or_else(|| format!("--option `{o}` must be key=value"))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::from(v));
        options.insert(k.to_owned(), value);
    }
    let id = client
        .request(&request.table, action.as_str(), options, request.dry_run)
        .await?;
    eprintln!("{action} of {}: task {id}", request.table);
    if request.no_wait {
        println!("{id}");
        return Ok(());
    }
    let started = std::time::Instant::now();
    let spinner = ['|', '/', '-', '\\'];
    let mut tick = 0usize;
    let task = client
        .wait(id, Duration::from_millis(500), |t| {
            tick += 1;
            eprint!(
                "\r{} task {id}: {:<9} attempt {} — {}s   ",
                spinner[tick % spinner.len()],
                t["status"].as_str().unwrap_or("?"),
                t["attempts"],
                started.elapsed().as_secs()
            );
        })
        .await;
    eprintln!();
    let task = task?;
    println!(
        "{}",
        serde_json::to_string_pretty(&task["result"]).unwrap_or_default()
    );
    Ok(())
}

/// The catalog URL without its password.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}
