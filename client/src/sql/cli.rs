//! `floe sql`: run SQL against a Floe catalog from the command line.
//!
//! The catalog is a server (`--uri http://host:8181`, any form [`Floe::connect`]
//! takes, with `--token` for a bearer token) or, by default, the embedded catalog of a
//! data folder (`--data-dir`, `floe serve`'s layout). Statements come from
//! `-e 'SQL; SQL'` or, without it, from a prompt (`floe> `; a statement runs once a
//! line ends with `;`, `\q` or end of input quits). On a terminal the prompt has line
//! editing and a history (`$FLOE_SQL_HISTORY`, else `~/.floe_sql_history`), Ctrl-C
//! drops the statement being typed, and a statement running longer than a moment shows
//! a spinner with the elapsed time on stderr (only when stderr is a terminal).
//!
//! Results print as an aligned table (default), CSV or JSON lines. An error prints as
//! one line on stderr (`error: …`); with `-e`, later statements are not run and the
//! exit status is non-zero; at the prompt the session keeps running.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use datafusion::common::{DataFusionError, Result};
use floe_catalog::{Catalog, SqlCatalog};

use super::session::FloeSession;
use crate::Floe;

/// How results print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// An aligned table (Arrow's pretty printer).
    #[default]
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON object per row.
    Json,
}

impl std::str::FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(OutputFormat::Table),
            "csv" => Ok(OutputFormat::Csv),
            "json" => Ok(OutputFormat::Json),
            other => Err(format!(
                "unknown format `{other}`: expected table, csv or json"
            )),
        }
    }
}

/// Where the catalog is and what to run.
#[derive(Debug, Clone, Default)]
pub struct CliOptions {
    /// A catalog URI (`http://host:8181`, …; see [`Floe::connect`]) instead of the
    /// embedded catalog of `data_dir`.
    pub uri: Option<String>,
    /// A bearer token for a REST catalog.
    pub token: Option<String>,
    /// The data directory of an embedded catalog (`floe serve`'s layout:
    /// `catalog.db` and `warehouse/`).
    pub data_dir: PathBuf,
    /// A catalog database URL instead of `<data-dir>/catalog.db`.
    pub catalog: Option<String>,
    /// A warehouse location instead of `<data-dir>/warehouse`.
    pub warehouse: Option<String>,
    /// Statements to run instead of the prompt.
    pub execute: Option<String>,
    /// The output format.
    pub format: OutputFormat,
}

/// Opens the catalog of `opts` (the server of `--uri`, else the embedded one) as a SQL
/// session.
pub async fn open_session(opts: &CliOptions) -> std::result::Result<FloeSession, String> {
    if let Some(uri) = &opts.uri {
        let mut builder = Floe::builder(uri);
        if let Some(token) = &opts.token {
            builder = builder.token(token);
        }
        let floe = builder
            .connect()
            .await
            .map_err(|e| flatten(&format!("cannot connect to {uri}: {e}")))?;
        return floe
            .sql()
            .await
            .map_err(|e| format!("cannot open the catalog at {uri}: {}", one_line(&e)));
    }
    let data_dir = std::path::absolute(&opts.data_dir)
        .map_err(|e| format!("invalid --data-dir {}: {e}", opts.data_dir.display()))?;
    let url = if let Some(url) = &opts.catalog {
        url.clone()
    } else {
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
        format!("sqlite://{}", data_dir.join("catalog.db").display())
    };
    let warehouse = opts
        .warehouse
        .clone()
        .unwrap_or_else(|| data_dir.join("warehouse").display().to_string());
    let catalog = SqlCatalog::connect(&url, &warehouse)
        .await
        .map_err(|e| flatten(&format!("cannot open the catalog: {e}")))?;
    let store = catalog.warehouse().store().clone();
    FloeSession::new(Arc::new(catalog) as Arc<dyn Catalog>, store)
        .await
        .map_err(|e| one_line(&e))
}

/// Runs `floe sql`: `-e` statements, or the prompt (with line editing on a terminal).
pub async fn run(opts: CliOptions) -> std::result::Result<(), String> {
    let session = open_session(&opts).await?;
    let stdout = std::io::stdout();
    if let Some(sql) = &opts.execute {
        let mut out = stdout.lock();
        return Box::pin(run_script(&session, sql, opts.format, &mut out)).await;
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Box::pin(interactive(&session, opts.format)).await;
    }
    Box::pin(prompt(
        &session,
        opts.format,
        &mut stdin.lock(),
        &mut stdout.lock(),
        &mut std::io::stderr(),
    ))
    .await;
    Ok(())
}

/// Runs every statement of `sql`, printing each result; stops at the first error
/// (returned as one line).
pub async fn run_script(
    session: &FloeSession,
    sql: &str,
    format: OutputFormat,
    out: &mut dyn Write,
) -> std::result::Result<(), String> {
    let statements = session.parse(sql).map_err(|e| one_line(&e))?;
    for stmt in statements {
        let progress = Progress::start();
        let batches = match Box::pin(session.statement(stmt)).await {
            Ok(df) => df.collect().await,
            Err(e) => Err(e),
        };
        if let Some(p) = progress {
            p.finish().await;
        }
        let batches = batches.map_err(|e| one_line(&e))?;
        let text = format_batches(&batches, format).map_err(|e| one_line(&e))?;
        out.write_all(text.as_bytes())
            .map_err(|e| format!("cannot write the output: {e}"))?;
    }
    Ok(())
}

/// Lines typed at the prompt, gathered into statements.
#[derive(Debug, Default)]
struct Statements {
    buffer: String,
}

/// What a line typed at the prompt asks for.
enum Typed {
    /// More lines are needed.
    More,
    /// Run these statements.
    Run(String),
    /// Leave.
    Quit,
}

impl Statements {
    /// The prompt for the next line.
    fn prompt(&self) -> &'static str {
        if self.buffer.is_empty() {
            "floe> "
        } else {
            "   -> "
        }
    }

    /// Adds a line.
    fn push(&mut self, line: &str) -> Typed {
        let trimmed = line.trim();
        if self.buffer.is_empty() && matches!(trimmed, "\\q" | "quit" | "exit") {
            return Typed::Quit;
        }
        self.buffer.push_str(line);
        self.buffer.push('\n');
        if trimmed.ends_with(';') {
            Typed::Run(std::mem::take(&mut self.buffer))
        } else {
            Typed::More
        }
    }
}

/// Runs one statement typed at the prompt: its result to `out`, its error as one line
/// to `err`.
async fn run_typed(
    session: &FloeSession,
    sql: &str,
    format: OutputFormat,
    out: &mut dyn Write,
    err: &mut dyn Write,
) {
    let start = Instant::now();
    match Box::pin(run_script(session, sql, format, out)).await {
        Ok(()) => {
            writeln!(out, "({:.3} s)", start.elapsed().as_secs_f64()).ok();
        }
        Err(e) => {
            writeln!(err, "error: {e}").ok();
        }
    }
    out.flush().ok();
}

/// The prompt on a line reader (a pipe): reads lines until a statement ends with `;`,
/// runs it, and keeps going after errors (printed to `err`).
pub async fn prompt(
    session: &FloeSession,
    format: OutputFormat,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
    err: &mut dyn Write,
) {
    let mut statements = Statements::default();
    loop {
        write!(out, "{}", statements.prompt()).ok();
        out.flush().ok();
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        match statements.push(line.trim_end_matches(['\n', '\r'])) {
            Typed::More => {}
            Typed::Quit => break,
            Typed::Run(sql) => Box::pin(run_typed(session, &sql, format, out, err)).await,
        }
    }
}

/// The history file of the interactive prompt.
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FLOE_SQL_HISTORY") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".floe_sql_history"))
}

/// Calls `f`, a blocking call, without stalling the runtime's other tasks.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// The prompt on a terminal: line editing and a history file (rustyline).
pub async fn interactive(
    session: &FloeSession,
    format: OutputFormat,
) -> std::result::Result<(), String> {
    use rustyline::error::ReadlineError;
    let config = rustyline::Config::builder()
        .auto_add_history(false)
        .max_history_size(1000)
        .map_err(|e| format!("cannot start the prompt: {e}"))?
        .build();
    let mut editor = rustyline::DefaultEditor::with_config(config)
        .map_err(|e| format!("cannot start the prompt: {e}"))?;
    let history = history_path();
    if let Some(path) = &history {
        // A missing history file is the first session's normal state.
        let _ = editor.load_history(path);
    }
    let mut statements = Statements::default();
    let stdout = std::io::stdout();
    loop {
        let line = blocking(|| editor.readline(statements.prompt()));
        let line = match line {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                statements = Statements::default();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(format!("cannot read the prompt: {e}")),
        };
        match statements.push(&line) {
            Typed::More => {}
            Typed::Quit => break,
            Typed::Run(sql) => {
                let entry = sql.trim().replace('\n', " ");
                let _ = editor.add_history_entry(entry);
                let mut out = stdout.lock();
                Box::pin(run_typed(
                    session,
                    &sql,
                    format,
                    &mut out,
                    &mut std::io::stderr(),
                ))
                .await;
            }
        }
    }
    if let Some(path) = &history
        && let Err(e) = editor.save_history(path)
    {
        eprintln!(
            "warning: cannot save the history to {}: {e}",
            path.display()
        );
    }
    Ok(())
}

/// A spinner with the elapsed time on stderr while a statement runs, shown after a
/// moment and only when stderr is a terminal; erased when the statement ends.
struct Progress {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    /// How long a statement runs before the spinner shows.
    const DELAY: Duration = Duration::from_millis(400);

    /// Starts the spinner, or nothing when stderr is not a terminal.
    fn start() -> Option<Self> {
        if !std::io::stderr().is_terminal() || tokio::runtime::Handle::try_current().is_err() {
            return None;
        }
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let start = Instant::now();
            tokio::select! {
                _ = &mut stopped => return,
                () = tokio::time::sleep(Self::DELAY) => {}
            }
            let frames = ['|', '/', '-', '\\'];
            let mut tick = 0usize;
            loop {
                let mut err = std::io::stderr();
                write!(
                    err,
                    "\r{} running… {:.1} s",
                    frames[tick % frames.len()],
                    start.elapsed().as_secs_f64()
                )
                .ok();
                err.flush().ok();
                tick += 1;
                tokio::select! {
                    _ = &mut stopped => break,
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
            let mut err = std::io::stderr();
            write!(err, "\r\x1b[2K").ok();
            err.flush().ok();
        });
        Some(Self { stop, task })
    }

    /// Stops the spinner and erases its line.
    async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

/// Formats results as a table, CSV or JSON lines (a statement without rows prints
/// nothing in CSV and JSON, and an empty table otherwise).
pub fn format_batches(batches: &[RecordBatch], format: OutputFormat) -> Result<String> {
    match format {
        OutputFormat::Table => Ok(format!("{}\n", pretty_format_batches(batches)?)),
        OutputFormat::Csv => {
            let mut buf = Vec::new();
            {
                let mut w = arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .build(&mut buf);
                for b in batches {
                    w.write(b)?;
                }
            }
            String::from_utf8(buf).map_err(|e| DataFusionError::External(Box::new(e)))
        }
        OutputFormat::Json => {
            let mut buf = Vec::new();
            {
                let mut w = arrow::json::LineDelimitedWriter::new(&mut buf);
                for b in batches {
                    w.write(b)?;
                }
                w.finish()?;
            }
            String::from_utf8(buf).map_err(|e| DataFusionError::External(Box::new(e)))
        }
    }
}

/// An error as one line: DataFusion's context chain flattened, newlines removed.
pub fn one_line(e: &DataFusionError) -> String {
    let text = match e.find_root() {
        DataFusionError::External(inner) => inner.to_string(),
        root => root.to_string(),
    };
    flatten(&text)
}

/// A message on one line (newlines and runs of spaces as one space).
fn flatten(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
