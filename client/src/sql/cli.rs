//! `floe sql`: run SQL against a Floe catalog from the command line.
//!
//! Statements come from `-e 'SQL; SQL'` or, without it, from an interactive prompt
//! (`floe> `; a statement runs once a line ends with `;`, `\q` or end of input
//! quits). Results print as an aligned table (default), CSV or JSON lines. An error
//! prints as one line on stderr (`error: …`); with `-e`, later statements are not run
//! and the exit status is non-zero; at the prompt the session keeps running.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use datafusion::common::{DataFusionError, Result};
use floe_catalog::{Catalog, SqlCatalog};

use super::session::FloeSession;

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

/// Opens the embedded catalog of `opts` as a SQL session.
pub async fn open_session(opts: &CliOptions) -> std::result::Result<FloeSession, String> {
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
        .map_err(|e| format!("cannot open the catalog: {e}"))?;
    let store = catalog.warehouse().store().clone();
    FloeSession::new(Arc::new(catalog) as Arc<dyn Catalog>, store)
        .await
        .map_err(|e| one_line(&e))
}

/// Runs `floe sql`: `-e` statements, or the prompt on stdin.
pub async fn run(opts: CliOptions) -> std::result::Result<(), String> {
    let session = open_session(&opts).await?;
    let stdout = std::io::stdout();
    if let Some(sql) = &opts.execute {
        let mut out = stdout.lock();
        return Box::pin(run_script(&session, sql, opts.format, &mut out)).await;
    }
    let stdin = std::io::stdin();
    Box::pin(prompt(
        &session,
        opts.format,
        &mut stdin.lock(),
        &mut stdout.lock(),
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
        let batches = match Box::pin(session.statement(stmt)).await {
            Ok(df) => df.collect().await,
            Err(e) => Err(e),
        }
        .map_err(|e| one_line(&e))?;
        let text = format_batches(&batches, format).map_err(|e| one_line(&e))?;
        out.write_all(text.as_bytes())
            .map_err(|e| format!("cannot write the output: {e}"))?;
    }
    Ok(())
}

/// The interactive loop: reads lines until a statement ends with `;`, runs it, and
/// keeps going after errors.
pub async fn prompt(
    session: &FloeSession,
    format: OutputFormat,
    input: &mut dyn BufRead,
    out: &mut dyn Write,
) {
    let mut buffer = String::new();
    loop {
        let p = if buffer.is_empty() {
            "floe> "
        } else {
            "   -> "
        };
        write!(out, "{p}").ok();
        out.flush().ok();
        let mut line = String::new();
        match input.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let trimmed = line.trim();
        if buffer.is_empty() && matches!(trimmed, "\\q" | "quit" | "exit") {
            break;
        }
        buffer.push_str(&line);
        if !trimmed.ends_with(';') {
            continue;
        }
        let sql = std::mem::take(&mut buffer);
        let start = Instant::now();
        match Box::pin(run_script(session, &sql, format, out)).await {
            Ok(()) => {
                writeln!(out, "({:.3} s)", start.elapsed().as_secs_f64()).ok();
            }
            Err(e) => {
                writeln!(out, "error: {e}").ok();
            }
        }
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
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
