//! [`FloeTableProvider`]: a Floe table as a DataFusion table.
//!
//! - **Projection** selects the columns the reader decodes.
//! - **Planning** is server-side when the provider's [`ScanPlanner`] is a REST
//!   catalog's that offers it (`POST .../plan`), else client-side; the tasks are the
//!   same either way.
//! - **Filters** convert to Floe row filters (see [`super::filter`]) that prune
//!   manifests by partition summaries, data files by partition values and column
//!   metrics, and row groups by their statistics; the reader then checks each file's
//!   residual row by row. Filters the scan applies exactly are reported
//!   [`Exact`](TableProviderFilterPushDown::Exact) (DataFusion drops its own filter),
//!   the others `Inexact` or `Unsupported`.
//! - **Limit**: with no filter left above the scan, tasks past the limit are not read
//!   when the files' row counts already reach it (files without deletes and without
//!   residual), and each partition stops once it has produced the limit.
//! - **Statistics**: the row count of the snapshot summary (`total-records`, exact when
//!   the snapshot has no delete files) and, per scan, the row counts of the files read.
//! - **Deletes** (position and equality) are applied by the reader.
//! - **Writes**: `INSERT INTO` appends (a fast-append snapshot), `INSERT OVERWRITE`
//!   replaces every row; both stream the input into Parquet files of the table's
//!   partition spec and commit once at the end — an error commits nothing.
//!
//! A provider pinned to a snapshot ([`FloeTableProvider::at_snapshot`], what the
//! time-travel functions return) reads that snapshot in the schema it was written with
//! and refuses writes.

use std::sync::Arc;

use arrow::datatypes::{DataType, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::stats::Precision;
use datafusion::common::{Result, Statistics};
use datafusion::datasource::TableProvider;
use datafusion::datasource::sink::DataSinkExec;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use floe_spec::expr::{BoundExpression, Expression};
use floe_table::Table;
use floe_table::arrow_schema::schema_to_arrow;
use floe_table::scan::{FileScanTask, ManifestCache};

use super::error::{plan_err, to_df};
use super::filter;
use super::scan::FloeScanExec;
use super::write::FloeSink;
use crate::scan::ScanPlanner;

/// A table schema as SQL sees it: top-level strings and binaries as `Utf8View` and
/// `BinaryView`, which the scans read without copying the values out of the Parquet
/// pages (as DataFusion's own Parquet scans do, `schema_force_view_types`).
fn sql_schema(schema: &floe_spec::schema::Schema) -> Result<SchemaRef> {
    let arrow = schema_to_arrow(schema).map_err(to_df)?;
    let fields: Vec<_> = arrow
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => Arc::new(f.as_ref().clone().with_data_type(DataType::Utf8View)),
            DataType::Binary => Arc::new(f.as_ref().clone().with_data_type(DataType::BinaryView)),
            _ => Arc::clone(f),
        })
        .collect();
    Ok(Arc::new(Schema::new_with_metadata(
        fields,
        arrow.metadata().clone(),
    )))
}

/// A Floe table (current snapshot, or one snapshot for time travel) for DataFusion.
#[derive(Debug, Clone)]
pub struct FloeTableProvider {
    table: Table,
    snapshot_id: Option<i64>,
    schema: SchemaRef,
    manifest_cache: Option<Arc<dyn ManifestCache>>,
    planner: ScanPlanner,
}

impl FloeTableProvider {
    /// The table's current snapshot, in its current schema.
    pub fn new(table: Table) -> Result<Self> {
        let schema = sql_schema(table.schema())?;
        Ok(Self {
            table,
            snapshot_id: None,
            schema,
            manifest_cache: None,
            planner: ScanPlanner::client_side(),
        })
    }

    /// One snapshot of the table, read in the schema it was written with (read-only).
    pub fn at_snapshot(table: Table, snapshot_id: i64) -> Result<Self> {
        let snapshot = table.snapshot(snapshot_id).ok_or_else(|| {
            plan_err(format!(
                "table {} has no snapshot {snapshot_id}",
                table.ident()
            ))
        })?;
        let schema = snapshot
            .schema_id
            .and_then(|id| table.metadata().schema_by_id(id))
            .unwrap_or_else(|| table.schema());
        let schema = sql_schema(schema)?;
        Ok(Self {
            table,
            snapshot_id: Some(snapshot_id),
            schema,
            manifest_cache: None,
            planner: ScanPlanner::client_side(),
        })
    }

    /// Parses manifests through `cache` (shared between scans).
    #[must_use]
    pub fn with_manifest_cache(mut self, cache: Arc<dyn ManifestCache>) -> Self {
        self.manifest_cache = Some(cache);
        self
    }

    /// Plans scans with `planner` (on the server when it offers planning; the
    /// default plans client-side).
    #[must_use]
    pub fn with_planner(mut self, planner: ScanPlanner) -> Self {
        self.planner = planner;
        self
    }

    /// The table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The snapshot read: `None` for the current one.
    pub fn snapshot_id(&self) -> Option<i64> {
        self.snapshot_id
    }

    /// The filter pushed into the scan for these DataFusion filters.
    pub fn pushed_filter(&self, filters: &[Expr]) -> Expression {
        filters
            .iter()
            .filter_map(|f| filter::convert(f, &self.schema))
            .fold(Expression::True, |acc, c| acc.and(c.expr))
    }

    /// Plans the Floe scan for a projection (column indexes) and filters: the file
    /// tasks and the reader, whose batches have the session's `batch_size` rows (as
    /// DataFusion's own Parquet scans: 8,192 by default; the Parquet reader's 1,024
    /// would give every operator above the scan eight times the batches).
    pub async fn plan_tasks(
        &self,
        columns: &[String],
        filters: &[Expr],
        batch_size: usize,
    ) -> Result<(Vec<FileScanTask>, floe_table::scan::ArrowReader)> {
        let mut builder = self
            .table
            .scan()
            .select(columns.iter().cloned())
            .filter(self.pushed_filter(filters))
            .with_batch_size(batch_size.max(1))
            .with_view_types(true);
        if let Some(id) = self.snapshot_id {
            builder = builder.snapshot_id(id).use_snapshot_schema(true);
        }
        if let Some(cache) = &self.manifest_cache {
            builder = builder.with_manifest_cache(Arc::clone(cache));
        }
        let scan = builder.build().map_err(to_df)?;
        let tasks = self
            .planner
            .plan_files(&self.table, &scan)
            .await
            .map_err(to_df)?;
        let reader = scan.reader().map_err(to_df)?;
        Ok((tasks, reader))
    }

    fn summary_value(&self, key: &str) -> Option<i64> {
        let snapshot = match self.snapshot_id {
            Some(id) => self.table.snapshot(id),
            None => self.table.current_snapshot(),
        }?;
        snapshot
            .summary
            .additional_properties
            .get(key)
            .and_then(|v| v.parse().ok())
    }
}

#[async_trait]
impl TableProvider for FloeTableProvider {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| match filter::convert(f, &self.schema) {
                Some(c) if c.exact => TableProviderFilterPushDown::Exact,
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    fn statistics(&self) -> Option<Statistics> {
        let mut stats = Statistics::new_unknown(&self.schema);
        if self.snapshot_id.is_none() && self.table.current_snapshot().is_none() {
            stats.num_rows = Precision::Exact(0);
            return Some(stats);
        }
        let rows = self.summary_value("total-records")?.max(0) as usize;
        let deletes = self.summary_value("total-delete-files").unwrap_or(1);
        stats.num_rows = if deletes == 0 {
            Precision::Exact(rows)
        } else {
            Precision::Inexact(rows)
        };
        if let Some(size) = self.summary_value("total-files-size") {
            stats.total_byte_size = Precision::Inexact(size.max(0) as usize);
        }
        Some(stats)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let fields = self.schema.fields();
        let indexes: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..fields.len()).collect(),
        };
        let mut columns = Vec::with_capacity(indexes.len());
        for i in &indexes {
            let f = fields
                .get(*i)
                .ok_or_else(|| plan_err(format!("projection index {i} is out of range")))?;
            columns.push(f.name().clone());
        }
        let out_schema = Arc::new(self.schema.project(&indexes)?);
        // Read the filters' columns too (the reader checks residuals on them), and
        // one column when only a row count is wanted; output the projection only.
        let wanted = columns.len();
        for f in filters {
            for c in f.column_refs() {
                if !columns.contains(&c.name) && self.schema.field_with_name(&c.name).is_ok() {
                    columns.push(c.name.clone());
                }
            }
        }
        if columns.is_empty()
            && let Some(f) = fields.first()
        {
            columns.push(f.name().clone());
        }
        let keep = (columns.len() != wanted).then(|| (0..wanted).collect());
        let (mut tasks, reader) = self
            .plan_tasks(&columns, filters, state.config().batch_size())
            .await?;
        if let Some(limit) = limit {
            trim_to_limit(&mut tasks, limit);
        }
        let partitions = state.config().target_partitions();
        Ok(Arc::new(FloeScanExec::new(
            self.table.ident().to_string(),
            tasks,
            reader,
            out_schema,
            keep,
            limit,
            partitions,
        )))
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if let Some(id) = self.snapshot_id {
            return Err(plan_err(format!(
                "cannot write to table {} pinned to snapshot {id} (time travel is read-only)",
                self.table.ident()
            )));
        }
        let overwrite = match insert_op {
            InsertOp::Append => false,
            InsertOp::Overwrite => true,
            InsertOp::Replace => {
                return Err(plan_err(format!(
                    "REPLACE INTO is not supported for Floe table {}",
                    self.table.ident()
                )));
            }
        };
        let sink = FloeSink::new(self.table.clone(), Arc::clone(&self.schema), overwrite);
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }

    async fn delete_from(
        &self,
        _state: &dyn Session,
        _filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Err(plan_err(dml_refusal("DELETE", &self.table)))
    }

    async fn update(
        &self,
        _state: &dyn Session,
        _assignments: Vec<(String, Expr)>,
        _filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Err(plan_err(dml_refusal("UPDATE", &self.table)))
    }
}

/// Why the DML hooks refuse: by the time DataFusion calls them, a `WHERE` with a
/// subquery has been turned into a join and only the other conjuncts reach the hook,
/// so running it could delete or change rows the statement never selected.
fn dml_refusal(what: &str, table: &Table) -> String {
    format!(
        "{what} on Floe table {} runs through floe_client::sql::FloeSession (which plans \
         the whole WHERE clause); DataFusion's {what} hook receives only part of it",
        table.ident()
    )
}

/// Drops tasks past the first ones whose row counts certainly reach `limit`.
fn trim_to_limit(tasks: &mut Vec<FileScanTask>, limit: usize) {
    let mut rows = 0usize;
    for (i, t) in tasks.iter().enumerate() {
        let certain = t.deletes.is_empty() && matches!(t.residual, BoundExpression::True);
        if !certain {
            return;
        }
        rows = rows.saturating_add(t.data_file.record_count.max(0) as usize);
        if rows >= limit {
            tasks.truncate(i + 1);
            return;
        }
    }
}
