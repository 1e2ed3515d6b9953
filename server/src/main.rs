//! The `floe` binary: `floe serve` runs the Iceberg REST catalog.
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
use floe_server::app::{AppState, Settings, router};
use floe_server::auth::AuthConfig;

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
    /// Runs SQL against the catalog (`-e 'SQL; …'`, or an interactive prompt).
    Sql(SqlArgs),
}

#[derive(Debug, clap::Args)]
struct SqlArgs {
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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Command::Serve(args) => args,
        Command::Sql(args) => return sql(args),
    };
    init_tracing(&args.log_level);
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
    match runtime.block_on(serve(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("floe: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `floe sql`: SQL through DataFusion on the embedded catalog.
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
    };
    let auth_on = !settings.auth.tokens.is_empty() || !settings.auth.clients.is_empty();
    let state = AppState::for_sql_catalog(catalog.clone(), settings);
    let app = router(state);

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
    tracing::info!("stopped; closing the catalog");
    catalog.close().await;
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
