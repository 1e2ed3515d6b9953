//! Scans that use server-side planning when the catalog offers it.
//!
//! [`ScanPlanner`] plans a checked floe-table [`TableScan`]: through the REST
//! catalog's `POST .../plan` ([`RestCatalog::plan_scan`]) when the server advertises
//! it, otherwise (an embedded catalog, a server without the endpoint, or one that
//! answers it as not implemented) client-side, by reading the manifests. Both give the
//! same file scan tasks, which the table crate's reader reads with deletes applied, so
//! the rows are the same either way. A planning error of any other kind is returned,
//! not hidden by planning client-side.
//!
//! [`FloeScanBuilder`] is the facade's scan ([`crate::Floe::scan`]): the options of
//! floe-table's [`TableScanBuilder`], planned by the connection's planner. The SQL
//! session's tables plan the same way.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch};
//! use arrow::datatypes::{DataType, Field, Schema};
//! use floe_client::Floe;
//! use floe_spec::expr::Reference;
//! use floe_spec::values::Datum;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let floe = Floe::connect(dir.path().to_str().unwrap()).await.unwrap();
//! floe.create_namespace("db").await.unwrap();
//! let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
//! let table = floe.create_table("db.t", &schema).await.unwrap();
//! let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))]).unwrap();
//! table.append(vec![batch]).await.unwrap();
//! let rows: usize = floe.scan("db.t").await.unwrap()
//!     .filter(Reference::new("id").greater_than(Datum::Long(1)))
//!     .build().unwrap()
//!     .to_arrow().await.unwrap()
//!     .iter().map(RecordBatch::num_rows).sum();
//! assert_eq!(rows, 2);
//! # });
//! ```

use arrow::array::RecordBatch;
use floe_spec::Result;
use floe_spec::expr::Expression;
use floe_table::Table;
use floe_table::scan::{
    ArrowRecordBatchStream, FileScanTask, ManifestCache, SnapshotSelector, TableScan,
    TableScanBuilder,
};
use futures::TryStreamExt;
use std::sync::Arc;

use crate::rest::RestCatalog;

/// Plans scans on the server when it offers planning, else client-side (see the
/// module docs). The default plans client-side.
#[derive(Debug, Clone, Default)]
pub struct ScanPlanner {
    rest: Option<RestCatalog>,
}

impl ScanPlanner {
    /// Plans every scan client-side.
    pub fn client_side() -> Self {
        Self::default()
    }

    /// Plans through `catalog` when it offers scan planning.
    pub fn rest(catalog: RestCatalog) -> Self {
        Self {
            rest: Some(catalog),
        }
    }

    /// Whether scans are planned by the server (it advertises planning and has not
    /// answered it as not implemented).
    pub fn server_side(&self) -> bool {
        self.rest
            .as_ref()
            .is_some_and(RestCatalog::offers_scan_planning)
    }

    /// The file scan tasks of `scan` of `table`.
    pub async fn plan_files(&self, table: &Table, scan: &TableScan) -> Result<Vec<FileScanTask>> {
        if let Some(rest) = &self.rest
            && let Some(tasks) = rest
                .plan_scan(table.ident(), table.metadata(), scan)
                .await?
        {
            return Ok(tasks);
        }
        scan.plan_files().await
    }
}

/// A scan of a table through a [`ScanPlanner`]: floe-table's scan options, planned
/// on the server when it offers it.
#[derive(Debug, Clone)]
pub struct FloeScanBuilder {
    table: Table,
    builder: TableScanBuilder,
    planner: ScanPlanner,
}

impl FloeScanBuilder {
    /// A scan of `table` (its loaded metadata) planned by `planner`.
    pub fn new(table: Table, planner: ScanPlanner) -> Self {
        let builder = table.scan();
        Self {
            table,
            builder,
            planner,
        }
    }

    fn map(mut self, f: impl FnOnce(TableScanBuilder) -> TableScanBuilder) -> Self {
        self.builder = f(self.builder);
        self
    }

    /// Reads the snapshot with this id.
    #[must_use]
    pub fn snapshot_id(self, id: i64) -> Self {
        self.map(|b| b.snapshot_id(id))
    }

    /// Reads the snapshot a branch or tag points at.
    #[must_use]
    pub fn use_ref(self, name: impl Into<String>) -> Self {
        self.map(|b| b.use_ref(name))
    }

    /// Reads the snapshot that was current at `timestamp_ms`.
    #[must_use]
    pub fn as_of(self, timestamp_ms: i64) -> Self {
        self.map(|b| b.as_of(timestamp_ms))
    }

    /// Sets the snapshot selector.
    #[must_use]
    pub fn snapshot(self, selector: SnapshotSelector) -> Self {
        self.map(|b| b.snapshot(selector))
    }

    /// Reads only these top-level columns, in this order.
    #[must_use]
    pub fn select<S: Into<String>>(self, columns: impl IntoIterator<Item = S>) -> Self {
        self.map(|b| b.select(columns))
    }

    /// Whether column names match case-sensitively (default true).
    #[must_use]
    pub fn case_sensitive(self, yes: bool) -> Self {
        self.map(|b| b.case_sensitive(yes))
    }

    /// Keeps the rows matching `filter` (ANDed with earlier filters).
    #[must_use]
    pub fn filter(self, filter: Expression) -> Self {
        self.map(|b| b.filter(filter))
    }

    /// Reads in the snapshot's schema instead of the current one.
    #[must_use]
    pub fn use_snapshot_schema(self, yes: bool) -> Self {
        self.map(|b| b.use_snapshot_schema(yes))
    }

    /// Rows per output batch.
    #[must_use]
    pub fn with_batch_size(self, n: usize) -> Self {
        self.map(|b| b.with_batch_size(n))
    }

    /// Parses manifests through `cache` when planning client-side.
    #[must_use]
    pub fn with_manifest_cache(self, cache: Arc<dyn ManifestCache>) -> Self {
        self.map(|b| b.with_manifest_cache(cache))
    }

    /// Resolves the snapshot, the schema and the columns, and binds the filter
    /// (locally: nothing is sent yet).
    pub fn build(self) -> Result<FloeScan> {
        Ok(FloeScan {
            scan: self.builder.build()?,
            table: self.table,
            planner: self.planner,
        })
    }
}

/// A checked scan; planning and reading happen on [`FloeScan::plan_files`] and
/// [`FloeScan::to_stream`].
#[derive(Debug, Clone)]
pub struct FloeScan {
    table: Table,
    scan: TableScan,
    planner: ScanPlanner,
}

impl FloeScan {
    /// The floe-table scan (snapshot, read schema, projection, filter).
    pub fn table_scan(&self) -> &TableScan {
        &self.scan
    }

    /// Whether planning is asked of the server.
    pub fn server_side(&self) -> bool {
        self.planner.server_side()
    }

    /// Plans the scan: the file scan tasks.
    pub async fn plan_files(&self) -> Result<Vec<FileScanTask>> {
        self.planner.plan_files(&self.table, &self.scan).await
    }

    /// Plans the scan and streams its rows (deletes applied).
    pub async fn to_stream(&self) -> Result<ArrowRecordBatchStream> {
        let tasks = self.plan_files().await?;
        Ok(self.scan.reader()?.read(tasks))
    }

    /// Plans the scan and collects its rows.
    pub async fn to_arrow(&self) -> Result<Vec<RecordBatch>> {
        self.to_stream().await?.try_collect().await
    }
}
