//! Fixtures: a session over a fresh SQLite catalog and a temporary warehouse, a
//! generated data set, and helpers comparing query results with expected rows.

use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int32Type, Int64Type};
use datafusion::physical_plan::{ExecutionPlan, collect};
use floe_catalog::{Catalog, SqlCatalog, TableIdent};
use floe_client::sql::{FloeScanExec, FloeSession};
use floe_table::Table;

pub struct Fixture {
    pub session: FloeSession,
    pub catalog: Arc<SqlCatalog>,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

impl Fixture {
    pub async fn new() -> Self {
        let db = tempfile::tempdir().unwrap();
        let wh = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", db.path().join("catalog.db").display());
        let catalog = Arc::new(
            SqlCatalog::connect(&url, &wh.path().display().to_string())
                .await
                .unwrap(),
        );
        let store = catalog.warehouse().store().clone();
        let session = FloeSession::new(catalog.clone() as Arc<dyn Catalog>, store)
            .await
            .unwrap();
        Self {
            session,
            catalog,
            _dirs: (db, wh),
        }
    }

    pub async fn run(&self, sql: &str) -> Vec<RecordBatch> {
        match self.session.query(sql).await {
            Ok(b) => b,
            Err(e) => panic!("{sql}: {e}"),
        }
    }

    pub async fn table(&self, ns: &str, name: &str) -> Table {
        let ident = TableIdent::from_parts([ns], name).unwrap();
        Table::load(
            self.catalog.clone() as Arc<dyn Catalog>,
            &ident,
            self.catalog.warehouse().store().clone(),
        )
        .await
        .unwrap()
    }

    /// The number of snapshots of a table.
    pub async fn snapshot_count(&self, ns: &str, name: &str) -> usize {
        self.table(ns, name).await.metadata().snapshots().len()
    }

    /// The data files the scan of a query reads (summed over its Floe scans).
    pub async fn files_read(&self, sql: &str) -> usize {
        let df = self.session.sql(sql).await.unwrap();
        let plan = df.create_physical_plan().await.unwrap();
        let mut files = 0;
        let mut stack: Vec<Arc<dyn ExecutionPlan>> = vec![plan.clone()];
        while let Some(p) = stack.pop() {
            if let Some(scan) = (p.as_ref() as &dyn ExecutionPlan).downcast_ref::<FloeScanExec>() {
                files += scan.file_count();
            }
            stack.extend(p.children().into_iter().cloned());
        }
        let ctx = self.session.context().task_ctx();
        collect(plan, ctx).await.unwrap();
        files
    }
}

/// A generated row: (id, region, amount, day).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: i64,
    pub region: String,
    pub amount: f64,
    pub day: i32,
}

pub const REGIONS: [&str; 4] = ["eu", "us", "apac", "latam"];

/// `n` deterministic rows.
pub fn rows(n: i64) -> Vec<Row> {
    (0..n)
        .map(|id| Row {
            id,
            region: REGIONS[(id as usize * 7 + 3) % 4].to_string(),
            amount: ((id * 37) % 1000) as f64 / 10.0,
            day: (id % 5) as i32,
        })
        .collect()
}

/// `INSERT … VALUES` text for rows.
pub fn values(rows: &[Row]) -> String {
    rows.iter()
        .map(|r| format!("({}, '{}', {:.1}, {})", r.id, r.region, r.amount, r.day))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Creates `ns.t` (partitioned by region when asked) and inserts rows in `chunks`
/// statements.
pub async fn create_and_fill(
    fx: &Fixture,
    table: &str,
    partitioned: bool,
    data: &[Row],
    chunks: usize,
) {
    let part = if partitioned {
        " PARTITION BY (region)"
    } else {
        ""
    };
    fx.run(&format!(
        "CREATE TABLE {table} (id BIGINT NOT NULL, region VARCHAR, amount DOUBLE, day INT){part}"
    ))
    .await;
    for chunk in data.chunks(data.len().div_ceil(chunks).max(1)) {
        fx.run(&format!("INSERT INTO {table} VALUES {}", values(chunk)))
            .await;
    }
}

/// Rows of a result with columns (id, region, amount, day), sorted by id.
pub fn to_rows(batches: &[RecordBatch]) -> Vec<Row> {
    let mut out = Vec::new();
    for b in batches {
        let id = b.column(0).as_primitive::<Int64Type>();
        // SQL reads strings as Utf8View (as DataFusion's Parquet scans do).
        let region = arrow::compute::cast(b.column(1), &DataType::Utf8).unwrap();
        let region = region.as_string::<i32>();
        let amount = b.column(2).as_primitive::<Float64Type>();
        let day = b.column(3).as_primitive::<Int32Type>();
        for i in 0..b.num_rows() {
            out.push(Row {
                id: id.value(i),
                region: region.value(i).to_string(),
                amount: amount.value(i),
                day: day.value(i),
            });
        }
    }
    out.sort_by_key(|r| r.id);
    out
}

/// The single i64 value of a one-row result (any integer column type).
pub fn scalar_i64(batches: &[RecordBatch]) -> i64 {
    let b = batches.iter().find(|b| b.num_rows() > 0).expect("a row");
    let c = b.column(0);
    match c.data_type() {
        DataType::Int64 => c.as_primitive::<Int64Type>().value(0),
        DataType::UInt64 => c.as_primitive::<arrow::datatypes::UInt64Type>().value(0) as i64,
        DataType::Int32 => i64::from(c.as_primitive::<Int32Type>().value(0)),
        other => panic!("not an integer: {other}"),
    }
}

/// Column `i` of every batch as strings (for ids, names).
pub fn column_strings(batches: &[RecordBatch], i: usize) -> Vec<String> {
    let mut out = Vec::new();
    for b in batches {
        let c = b.column(i);
        for r in 0..b.num_rows() {
            out.push(arrow::util::display::array_value_to_string(c, r).unwrap());
        }
    }
    out
}
