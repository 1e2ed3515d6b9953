//! `DELETE FROM … [WHERE …]` and `UPDATE … SET … [WHERE …]` on Floe tables,
//! copy-on-write or merge-on-read.
//!
//! The statement's `WHERE` is planned whole by DataFusion — subqueries included — over
//! a scan of the table that tags each row with its data file and its position in that
//! file (the Iceberg metadata columns `_file` and `_pos`). The pushed-down part of the
//! `WHERE` only prunes which files are scanned (never rows), so the matching rows are
//! exactly those SQL selects.
//!
//! Copy-on-write (the default): each data file holding a matching row is read again
//! (same snapshot, same deletes) and rewritten without the matching rows (plus, for
//! `UPDATE`, the updated rows, partitioned by the table's spec), and one overwrite
//! snapshot replaces those files, folding their delete files in. Files without
//! matching rows are untouched.
//!
//! Merge-on-read (`write.delete.mode = merge-on-read`): nothing is rewritten; the
//! matching rows' positions go into position delete files (one per partition of the
//! touched files), committed with `UPDATE`'s new rows as one row-delta snapshot that
//! requires the touched data files to still exist. Files that already have delete
//! files get more: positions are positions in the file, whatever was deleted before.
//!
//! Both commits validate against what was committed since the statement's snapshot,
//! scoped by the pushed-down part of the `WHERE` and at the table's isolation level
//! (`write.delete.isolation-level` or `write.update.isolation-level`, serializable by
//! default): a concurrent delete of the same rows, or under serializable a concurrent
//! append the `WHERE` may match, fails the statement and nothing is committed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use arrow::array::{AsArray, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, Result};
use datafusion::datasource::{TableProvider, provider_as_source};
use datafusion::execution::context::SessionContext;
use datafusion::logical_expr::{
    DmlStatement, Expr, LogicalPlan, LogicalPlanBuilder, TableProviderFilterPushDown,
    TableScanBuilder, TableType, WriteOp,
};
use datafusion::physical_plan::ExecutionPlan;
use floe_spec::expr::{BoundExpression, Expression};
use floe_spec::manifest::DataFile;
use floe_spec::types::{FILE_PATH_FIELD_ID, ROW_POSITION_FIELD_ID};
use floe_spec::values::Datum;
use floe_table::Table;
use floe_table::scan::{ArrowReader, FileScanTask};
use floe_table::transaction::{
    DELETE_ISOLATION_LEVEL, IsolationLevel, SnapshotUpdate, UPDATE_ISOLATION_LEVEL,
};
use floe_table::writer::{LocationGenerator, PositionDeleteWriter};
use futures::TryStreamExt;

use super::error::{plan_err, to_df};
use super::filter;
use super::scan::FloeScanExec;
use super::table::FloeTableProvider;
use super::write::{delete_files, new_writer};

/// The column holding a row's data file path (`_file`) in the statement's scan.
const ROW_FILE_COLUMN: &str = "__floe_file";
/// The column holding a row's position in its data file (`_pos`).
const ROW_POSITION_COLUMN: &str = "__floe_pos";

/// Runs a `DELETE` or `UPDATE` planned by DataFusion on a Floe table; returns the
/// number of rows deleted or updated.
pub async fn run(
    ctx: &SessionContext,
    provider: &FloeTableProvider,
    dml: &DmlStatement,
) -> Result<u64> {
    let table = provider.table().clone();
    let source = Arc::new(RowIdSource::new(provider.clone()));
    let rewritten = replace_scan(dml.input.as_ref(), &dml.table_name, &source)?;
    let plan = match dml.op {
        WriteOp::Delete => {
            let ids = meta_columns(&rewritten)?;
            LogicalPlanBuilder::from(rewritten).project(ids)?.build()?
        }
        WriteOp::Update => {
            let LogicalPlan::Projection(p) = &rewritten else {
                return Err(plan_err(format!(
                    "UPDATE {}: unexpected plan shape",
                    dml.table_name
                )));
            };
            let mut exprs = p.expr.clone();
            exprs.extend(meta_columns(p.input.as_ref())?);
            LogicalPlanBuilder::from(p.input.as_ref().clone())
                .project(exprs)?
                .build()?
        }
        _ => return Err(plan_err("only DELETE and UPDATE run here")),
    };
    let matched = ctx.execute_logical_plan(plan).await?.collect().await?;

    // Matching rows per data file; for UPDATE also the new rows.
    let mut rows_by_file: BTreeMap<String, HashSet<i64>> = BTreeMap::new();
    let mut updated: Vec<RecordBatch> = Vec::new();
    let mut count = 0u64;
    for b in &matched {
        let n = b.num_columns();
        let (Some(files), Some(pos)) = (b.columns().get(n - 2), b.columns().get(n - 1)) else {
            continue;
        };
        let files = files.as_string::<i32>();
        let pos = pos.as_primitive::<Int64Type>();
        for i in 0..b.num_rows() {
            if rows_by_file
                .entry(files.value(i).to_string())
                .or_default()
                .insert(pos.value(i))
            {
                count += 1;
            }
        }
        if dml.op == WriteOp::Update {
            updated.push(b.project(&(0..n - 2).collect::<Vec<_>>())?);
        }
    }
    if rows_by_file.is_empty() {
        return Ok(0);
    }
    let isolation_key = if dml.op == WriteOp::Delete {
        DELETE_ISOLATION_LEVEL
    } else {
        UPDATE_ISOLATION_LEVEL
    };
    let isolation = IsolationLevel::from_properties(table.metadata().properties(), isolation_key)
        .map_err(to_df)?;
    rewrite(&table, &source, isolation, &rows_by_file, &updated).await?;
    Ok(count)
}

/// Rewrites the files holding matched rows (or deletes the rows by position) and
/// commits one snapshot.
async fn rewrite(
    table: &Table,
    source: &RowIdSource,
    isolation: IsolationLevel,
    rows_by_file: &BTreeMap<String, HashSet<i64>>,
    updated: &[RecordBatch],
) -> Result<()> {
    let ScanState {
        tasks,
        reader,
        filter,
    } = source.read_state()?;
    let reader = reader.ok_or_else(|| plan_err("the target table was never scanned"))?;
    let commit = Commit {
        table,
        isolation,
        filter,
    };
    let merge_on_read = table
        .metadata()
        .properties()
        .get(DELETE_MODE)
        .is_some_and(|m| m == "merge-on-read");
    if merge_on_read {
        return position_deletes(&commit, &tasks, rows_by_file, updated).await;
    }
    let mut writer = new_writer(table)?;
    let mut wrote_rows = false;
    let result: Result<()> = async {
        for (path, rows) in rows_by_file {
            let task = tasks
                .get(path)
                .cloned()
                .ok_or_else(|| plan_err(format!("file {path} matched rows but was not scanned")))?;
            let mut stream = reader.read(vec![task]);
            while let Some(b) = stream.try_next().await.map_err(to_df)? {
                // The scan's tasks end with `_file` and `_pos`: keep the rows not
                // matched, without those two columns.
                let n = b.num_columns();
                let pos = b
                    .columns()
                    .last()
                    .and_then(|c| c.as_primitive_opt::<Int64Type>())
                    .ok_or_else(|| plan_err(format!("file {path}: no row positions read")))?;
                let keep: BooleanArray = pos
                    .values()
                    .iter()
                    .map(|p| Some(!rows.contains(p)))
                    .collect();
                let kept =
                    filter_record_batch(&b.project(&(0..n - 2).collect::<Vec<_>>())?, &keep)?;
                if kept.num_rows() > 0 {
                    writer.write(&kept).await.map_err(to_df)?;
                    wrote_rows = true;
                }
            }
        }
        for b in updated {
            if b.num_rows() > 0 {
                writer.write(b).await.map_err(to_df)?;
                wrote_rows = true;
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        writer.abort().await.ok();
        return Err(e);
    }
    let files = writer.close().await.map_err(to_df)?;
    let paths: Vec<String> = files.iter().map(|f| f.file_path.clone()).collect();
    let mut update = if wrote_rows {
        SnapshotUpdate::overwrite().add_data_files(files)
    } else {
        SnapshotUpdate::delete()
    };
    for path in rows_by_file.keys() {
        update = update.delete_data_file(path.clone());
    }
    commit.run(update, &paths).await
}

/// How a statement commits: scoped by its pushed-down filter, at its isolation level.
struct Commit<'a> {
    table: &'a Table,
    isolation: IsolationLevel,
    filter: Expression,
}

impl Commit<'_> {
    /// Commits `update`; on a definite failure deletes the files it wrote (`paths`).
    async fn run(&self, update: SnapshotUpdate, paths: &[String]) -> Result<()> {
        let update = update
            .conflict_detection_filter(self.filter.clone())
            .isolation_level(self.isolation);
        let mut tx = self.table.new_transaction();
        tx.add(update);
        if let Err(e) = tx.commit().await {
            if e.kind() != floe_spec::ErrorKind::CommitStateUnknown {
                delete_files(self.table, paths).await;
            }
            return Err(to_df(e));
        }
        Ok(())
    }
}

/// The table property choosing copy-on-write or merge-on-read for `DELETE`.
pub const DELETE_MODE: &str = "write.delete.mode";

/// A partition of a spec: (spec id, partition values).
type PartitionKey = (i32, Vec<Option<Datum>>);

/// Merge-on-read: position delete files for the matched rows (and `UPDATE`'s new
/// rows as data files), committed as one row delta.
async fn position_deletes(
    commit: &Commit<'_>,
    tasks: &HashMap<String, FileScanTask>,
    rows_by_file: &BTreeMap<String, HashSet<i64>>,
    updated: &[RecordBatch],
) -> Result<()> {
    let table = commit.table;
    let md = table.metadata().clone();
    let schema = md.current_schema();
    let locations = Arc::new(
        LocationGenerator::for_table(table.store().clone(), md.location(), md.properties())
            .map_err(to_df)?,
    );
    // One writer per (spec, partition) of the touched files.
    let mut writers: Vec<(PartitionKey, PositionDeleteWriter)> = Vec::new();
    for (path, rows) in rows_by_file {
        let task = tasks
            .get(path)
            .ok_or_else(|| plan_err(format!("file {path} matched rows but was not scanned")))?;
        let key = (task.spec_id, task.data_file.partition.clone());
        let at = if let Some(i) = writers.iter().position(|(k, _)| *k == key) {
            i
        } else {
            let spec = md.partition_spec_by_id(task.spec_id).ok_or_else(|| {
                plan_err(format!(
                    "file {path}: unknown partition spec {}",
                    task.spec_id
                ))
            })?;
            let partition_path = if spec.is_unpartitioned() {
                None
            } else {
                Some(spec.partition_path(schema, &key.1).map_err(to_df)?)
            };
            let w = PositionDeleteWriter::try_new(
                md.properties(),
                Arc::clone(&locations),
                key.1.clone(),
                partition_path,
            )
            .map_err(to_df)?;
            writers.push((key, w));
            writers.len() - 1
        };
        let mut positions: Vec<i64> = rows.iter().copied().collect();
        positions.sort_unstable();
        writers[at].1.delete_positions(path, positions);
    }
    let mut written: Vec<DataFile> = Vec::new();
    let result: Result<()> = async {
        for (_, w) in writers {
            written.extend(w.close().await.map_err(to_df)?);
        }
        Ok(())
    }
    .await;
    let deletes_written = written.len();
    let result = match result {
        Ok(()) if updated.iter().any(|b| b.num_rows() > 0) => {
            let mut writer = new_writer(table)?;
            let mut r = Ok(());
            for b in updated.iter().filter(|b| b.num_rows() > 0) {
                if let Err(e) = writer.write(b).await {
                    r = Err(to_df(e));
                    break;
                }
            }
            match r {
                Ok(()) => match writer.close().await {
                    Ok(files) => {
                        written.extend(files);
                        Ok(())
                    }
                    Err(e) => Err(to_df(e)),
                },
                Err(e) => {
                    writer.abort().await.ok();
                    Err(e)
                }
            }
        }
        other => other,
    };
    let paths: Vec<String> = written.iter().map(|f| f.file_path.clone()).collect();
    if let Err(e) = result {
        delete_files(table, &paths).await;
        return Err(e);
    }
    let (deletes, data) = {
        let mut w = written;
        let data = w.split_off(deletes_written);
        (w, data)
    };
    let mut update = SnapshotUpdate::row_delta()
        .add_data_files(data)
        .validate_data_files_exist(rows_by_file.keys().cloned());
    for d in deletes {
        update = update.add_delete_file(d);
    }
    commit.run(update, &paths).await
}

/// The row-id columns of a plan's output, as column expressions.
fn meta_columns(plan: &LogicalPlan) -> Result<Vec<Expr>> {
    [ROW_FILE_COLUMN, ROW_POSITION_COLUMN]
        .into_iter()
        .map(|name| {
            let (q, f) = plan.schema().qualified_field_with_unqualified_name(name)?;
            Ok(Expr::Column(Column::new(q.cloned(), f.name())))
        })
        .collect()
}

/// `plan` with its scans of `table_name` reading `source` instead.
fn replace_scan(
    plan: &LogicalPlan,
    table_name: &datafusion::common::TableReference,
    source: &Arc<RowIdSource>,
) -> Result<LogicalPlan> {
    let provider: Arc<dyn TableProvider> = Arc::clone(source) as Arc<dyn TableProvider>;
    let mut replaced = 0usize;
    let out = plan
        .clone()
        .transform_up(|node| match node {
            LogicalPlan::TableScan(scan) if scan.table_name.resolved_eq(table_name) => {
                replaced += 1;
                let new = TableScanBuilder::new(
                    scan.table_name.clone(),
                    provider_as_source(Arc::clone(&provider)),
                )
                .with_filters(scan.filters.clone())
                .with_fetch(scan.fetch)
                .build()?;
                Ok(Transformed::yes(LogicalPlan::TableScan(new)))
            }
            other => Ok(Transformed::yes(other.recompute_schema()?)),
        })?
        .data;
    if replaced != 1 {
        return Err(plan_err(format!(
            "{table_name}: expected one scan of the target table in the statement, found {replaced}"
        )));
    }
    Ok(out)
}

/// The target table with row-id columns: pushed filters prune files only; every live
/// row of a scanned file is returned, tagged with its file and position.
#[derive(Debug)]
struct RowIdSource {
    provider: FloeTableProvider,
    schema: SchemaRef,
    scanned: Mutex<ScanState>,
}

/// What the statement's scan read: its tasks by data file path (projecting `_file`
/// and `_pos` last), its reader, and its pushed-down filter.
#[derive(Debug, Clone)]
struct ScanState {
    tasks: HashMap<String, FileScanTask>,
    reader: Option<ArrowReader>,
    filter: Expression,
}

impl RowIdSource {
    fn new(provider: FloeTableProvider) -> Self {
        let base = provider.schema();
        let mut fields: Vec<_> = base.fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new(ROW_FILE_COLUMN, DataType::Utf8, false)));
        fields.push(Arc::new(Field::new(
            ROW_POSITION_COLUMN,
            DataType::Int64,
            false,
        )));
        Self {
            provider,
            schema: Arc::new(Schema::new(fields)),
            scanned: Mutex::new(ScanState {
                tasks: HashMap::new(),
                reader: None,
                filter: Expression::True,
            }),
        }
    }

    fn read_state(&self) -> Result<ScanState> {
        self.scanned
            .lock()
            .map(|s| s.clone())
            .map_err(|_| plan_err("row-id scan state is poisoned"))
    }
}

#[async_trait]
impl TableProvider for RowIdSource {
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
        // Pushed filters only prune files: DataFusion must always filter again.
        Ok(filters
            .iter()
            .map(|f| match filter::convert(f, &self.schema) {
                Some(_) => TableProviderFilterPushDown::Inexact,
                None => TableProviderFilterPushDown::Unsupported,
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let base = self.provider.schema();
        let columns: Vec<String> = base.fields().iter().map(|f| f.name().clone()).collect();
        let (mut tasks, reader) = self
            .provider
            .plan_tasks(&columns, filters, state.config().batch_size())
            .await?;
        for t in &mut tasks {
            t.residual = BoundExpression::True;
            t.project_field_ids.push(FILE_PATH_FIELD_ID);
            t.project_field_ids.push(ROW_POSITION_FIELD_ID);
        }
        let indexes: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let out_schema = Arc::new(self.schema.project(&indexes)?);
        {
            let mut s = self
                .scanned
                .lock()
                .map_err(|_| plan_err("row-id scan state is poisoned"))?;
            for t in &tasks {
                s.tasks.insert(t.data_file.file_path.clone(), t.clone());
            }
            s.reader = Some(reader.clone());
            s.filter = self.provider.pushed_filter(filters);
        }
        let exec = FloeScanExec::new(
            self.provider.table().ident().to_string(),
            tasks,
            reader,
            out_schema,
            Some(indexes),
            None,
            state.config().target_partitions(),
        );
        Ok(Arc::new(exec))
    }
}
