//! Time travel: the table functions `snapshot('ns.t', <snapshot id>)` and
//! `as_of('ns.t', <timestamp>)`.
//!
//! ```sql
//! SELECT * FROM snapshot('db.events', 4273981127765314562);
//! SELECT count(*) FROM as_of('db.events', '2026-01-02 10:00:00');   -- UTC
//! SELECT count(*) FROM as_of('db.events', TIMESTAMP '2026-01-02T10:00:00Z');
//! SELECT count(*) FROM as_of('db.events', 1767348000000);           -- ms since epoch
//! ```
//!
//! `as_of` reads the snapshot that was current at that time according to the snapshot
//! log (an error when the table had no snapshot yet). Both read the snapshot in the
//! schema it was written with and are read-only.
//!
//! DataFusion calls table functions synchronously while planning; loading the table
//! from the catalog then blocks the calling worker thread
//! ([`tokio::task::block_in_place`]), so these functions need a multi-threaded tokio
//! runtime (a current-thread runtime gets a clear error).

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use datafusion::catalog::TableFunctionImpl;
use datafusion::common::{Result, ScalarValue};
use datafusion::datasource::TableProvider;
use datafusion::logical_expr::Expr;
use floe_catalog::TableIdent;
use floe_table::Table;
use floe_table::scan::{SnapshotSelector, resolve_snapshot};
use tokio::runtime::{Handle, RuntimeFlavor};

use super::catalog::FloeCatalogProvider;
use super::error::{plan_err, to_df};
use super::table::FloeTableProvider;

/// `snapshot('ns.t', id)`: the table as of a snapshot id.
#[derive(Debug)]
pub struct SnapshotFunction {
    catalog: FloeCatalogProvider,
}

impl SnapshotFunction {
    /// The function over a catalog.
    pub fn new(catalog: FloeCatalogProvider) -> Self {
        Self { catalog }
    }
}

impl TableFunctionImpl for SnapshotFunction {
    fn call(&self, exprs: &[Expr]) -> Result<Arc<dyn TableProvider>> {
        let [name, id] = exprs else {
            return Err(plan_err(
                "snapshot() takes a table name and a snapshot id: snapshot('ns.t', 123)",
            ));
        };
        let ident = table_arg("snapshot", name)?;
        let id = match literal(id) {
            Some(ScalarValue::Int64(Some(v))) => v,
            Some(ScalarValue::Int32(Some(v))) => i64::from(v),
            Some(ScalarValue::UInt64(Some(v))) => i64::try_from(v)
                .map_err(|_| plan_err(format!("snapshot(): snapshot id {v} is out of range")))?,
            _ => {
                return Err(plan_err(format!(
                    "snapshot(): the second argument must be a snapshot id, got {id}"
                )));
            }
        };
        let table = load_blocking(&self.catalog, &ident)?;
        Ok(Arc::new(
            self.catalog
                .configure(FloeTableProvider::at_snapshot(table, id)?),
        ))
    }
}

/// `as_of('ns.t', timestamp)`: the table as it was at a time.
#[derive(Debug)]
pub struct AsOfFunction {
    catalog: FloeCatalogProvider,
}

impl AsOfFunction {
    /// The function over a catalog.
    pub fn new(catalog: FloeCatalogProvider) -> Self {
        Self { catalog }
    }
}

impl TableFunctionImpl for AsOfFunction {
    fn call(&self, exprs: &[Expr]) -> Result<Arc<dyn TableProvider>> {
        let [name, at] = exprs else {
            return Err(plan_err(
                "as_of() takes a table name and a timestamp: as_of('ns.t', '2026-01-02 10:00:00')",
            ));
        };
        let ident = table_arg("as_of", name)?;
        let ts = timestamp_ms(at)?;
        let table = load_blocking(&self.catalog, &ident)?;
        let snapshot = resolve_snapshot(table.metadata(), &SnapshotSelector::AsOf(ts))
            .map_err(to_df)?
            .ok_or_else(|| plan_err(format!("table {ident} has no snapshot as of {at}")))?;
        Ok(Arc::new(self.catalog.configure(
            FloeTableProvider::at_snapshot(table, snapshot.snapshot_id)?,
        )))
    }
}

/// The value of a literal argument (through a cast of a literal).
fn literal(e: &Expr) -> Option<ScalarValue> {
    match e {
        Expr::Literal(v, _) => Some(v.clone()),
        Expr::Cast(c) => literal(&c.expr),
        Expr::TryCast(c) => literal(&c.expr),
        _ => None,
    }
}

fn string(v: &ScalarValue) -> Option<&str> {
    match v {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => Some(s),
        _ => None,
    }
}

/// The `'ns.t'` argument.
fn table_arg(function: &str, e: &Expr) -> Result<TableIdent> {
    let value = literal(e);
    let name = value.as_ref().and_then(string).ok_or_else(|| {
        plan_err(format!(
            "{function}(): the first argument must be a table name string such as 'ns.t', got {e}"
        ))
    })?;
    let (ns, table) = name.rsplit_once('.').ok_or_else(|| {
        plan_err(format!(
            "{function}(): table name '{name}' must be namespace.table"
        ))
    })?;
    FloeCatalogProvider::ident(ns, table)
}

/// A timestamp argument in ms since the epoch.
fn timestamp_ms(e: &Expr) -> Result<i64> {
    let bad = || {
        plan_err(format!(
            "as_of(): the second argument must be a timestamp ('2026-01-02 10:00:00', RFC 3339, \
             or ms since the epoch), got {e}"
        ))
    };
    match literal(e).ok_or_else(bad)? {
        ScalarValue::Int64(Some(v)) => Ok(v),
        ScalarValue::Int32(Some(v)) => Ok(i64::from(v)),
        ScalarValue::TimestampMillisecond(Some(v), _) => Ok(v),
        ScalarValue::TimestampMicrosecond(Some(v), _) => Ok(v.div_euclid(1000)),
        ScalarValue::TimestampNanosecond(Some(v), _) => Ok(v.div_euclid(1_000_000)),
        ScalarValue::TimestampSecond(Some(v), _) => Ok(v.saturating_mul(1000)),
        v => parse_timestamp(string(&v).ok_or_else(bad)?).ok_or_else(bad),
    }
}

/// Parses RFC 3339, `YYYY-MM-DD HH:MM:SS[.f]` (UTC) or `YYYY-MM-DD` (midnight UTC).
fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_millis());
    }
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc().timestamp_millis());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc().timestamp_millis())
}

/// Runs a future from synchronous planning code on a multi-threaded runtime.
fn block_on<F: Future>(f: F) -> Result<F::Output> {
    let handle = Handle::try_current()
        .map_err(|_| plan_err("time travel functions need a tokio runtime"))?;
    if handle.runtime_flavor() != RuntimeFlavor::MultiThread {
        return Err(plan_err(
            "time travel functions need a multi-threaded tokio runtime",
        ));
    }
    Ok(tokio::task::block_in_place(|| handle.block_on(f)))
}

fn load_blocking(catalog: &FloeCatalogProvider, ident: &TableIdent) -> Result<Table> {
    block_on(catalog.load_existing(ident))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_timestamps_as_utc() {
        assert_eq!(parse_timestamp("1970-01-01 00:00:01"), Some(1000));
        assert_eq!(parse_timestamp("1970-01-01T00:00:00.5"), Some(500));
        assert_eq!(parse_timestamp("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_timestamp("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
