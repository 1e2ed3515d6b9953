//! `DELETE FROM … [WHERE …]` and `UPDATE … SET … [WHERE …]` on Floe tables,
//! copy-on-write.
//!
//! The statement's `WHERE` is planned whole by DataFusion — subqueries included — over
//! a scan of the table that tags each row with its data file and its index among the
//! file's live rows. The pushed-down part of the `WHERE` only prunes which files are
//! scanned (never rows), so the matching rows are exactly those SQL selects. Then each
//! data file holding a matching row is read again (same snapshot, same deletes, so
//! the same row order) and rewritten without the matching rows (plus, for `UPDATE`,
//! the updated rows, partitioned by the table's spec), and one overwrite snapshot
//! replaces those files. Files without matching rows are untouched. The commit
//! validates against concurrent commits like any Floe overwrite (conflicting changes
//! to the same files fail the statement; nothing is committed).
//!
//! A table with `write.delete.mode = merge-on-read` is not rewritten: the matching
//! rows' positions go into position delete files (one per partition of the touched
//! files), committed with `UPDATE`'s new rows as one `overwrite` row-delta snapshot
//! that requires the touched data files to still exist. A row's position is its
//! index among the file's live rows, which is its position in the file only while the
//! file has no delete files yet: a statement touching a file that already has some
//! is run copy-on-write (which also folds those deletes into the rewritten file).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use arrow::array::{AsArray, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt64Type};
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
use floe_spec::expr::BoundExpression;
use floe_spec::manifest::DataFile;
use floe_spec::values::Datum;
use floe_table::Table;
use floe_table::scan::{ArrowReader, FileScanTask};
use floe_table::transaction::SnapshotUpdate;
use floe_table::writer::{LocationGenerator, PositionDeleteWriter};
use futures::TryStreamExt;

use super::error::{plan_err, to_df};
use super::filter;
use super::scan::{FloeScanExec, ROW_FILE_COLUMN, ROW_INDEX_COLUMN};
use super::table::FloeTableProvider;
use super::write::{delete_files, new_writer};

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
    let mut rows_by_file: BTreeMap<String, HashSet<u64>> = BTreeMap::new();
    let mut updated: Vec<RecordBatch> = Vec::new();
    let mut count = 0u64;
    for b in &matched {
        let n = b.num_columns();
        let (Some(files), Some(idx)) = (b.columns().get(n - 2), b.columns().get(n - 1)) else {
            continue;
        };
        let files = files.as_string::<i32>();
        let idx = idx.as_primitive::<UInt64Type>();
        for i in 0..b.num_rows() {
            if rows_by_file
                .entry(files.value(i).to_string())
                .or_default()
                .insert(idx.value(i))
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
    rewrite(&table, &source, &rows_by_file, &updated).await?;
    Ok(count)
}

/// Rewrites the files holding matched rows and commits one snapshot.
async fn rewrite(
    table: &Table,
    source: &RowIdSource,
    rows_by_file: &BTreeMap<String, HashSet<u64>>,
    updated: &[RecordBatch],
) -> Result<()> {
    let (tasks, reader) = source.read_state()?;
    let merge_on_read = table
        .metadata()
        .properties()
        .get(DELETE_MODE)
        .is_some_and(|m| m == "merge-on-read");
    if merge_on_read
        && rows_by_file
            .keys()
            .all(|p| tasks.get(p).is_some_and(|t| t.deletes.is_empty()))
    {
        return position_deletes(table, &tasks, rows_by_file, updated).await;
    }
    let mut writer = new_writer(table)?;
    let mut wrote_rows = false;
    let result: Result<()> = async {
        for (path, rows) in rows_by_file {
            let task = tasks
                .get(path)
                .cloned()
                .ok_or_else(|| plan_err(format!("file {path} matched rows but was not scanned")))?;
            let mut next = 0u64;
            let mut stream = reader.read(vec![task]);
            while let Some(b) = stream.try_next().await.map_err(to_df)? {
                let keep: BooleanArray = (0..b.num_rows() as u64)
                    .map(|i| Some(!rows.contains(&(next + i))))
                    .collect();
                next += b.num_rows() as u64;
                let kept = filter_record_batch(&b, &keep)?;
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
    let mut tx = table.new_transaction();
    tx.add(update);
    if let Err(e) = tx.commit().await {
        if e.kind() != floe_spec::ErrorKind::CommitStateUnknown {
            delete_files(table, &paths).await;
        }
        return Err(to_df(e));
    }
    Ok(())
}

/// The table property choosing copy-on-write or merge-on-read for `DELETE`.
pub const DELETE_MODE: &str = "write.delete.mode";

/// A partition of a spec: (spec id, partition values).
type PartitionKey = (i32, Vec<Option<Datum>>);

/// Merge-on-read: position delete files for the matched rows (and `UPDATE`'s new
/// rows as data files), committed as one row delta.
async fn position_deletes(
    table: &Table,
    tasks: &HashMap<String, FileScanTask>,
    rows_by_file: &BTreeMap<String, HashSet<u64>>,
    updated: &[RecordBatch],
) -> Result<()> {
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
        let mut positions: Vec<i64> = rows
            .iter()
            .map(|&r| i64::try_from(r).unwrap_or(i64::MAX))
            .collect();
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
    let mut tx = table.new_transaction();
    tx.add(update);
    if let Err(e) = tx.commit().await {
        if e.kind() != floe_spec::ErrorKind::CommitStateUnknown {
            delete_files(table, &paths).await;
        }
        return Err(to_df(e));
    }
    Ok(())
}

/// The row-id columns of a plan's output, as column expressions.
fn meta_columns(plan: &LogicalPlan) -> Result<Vec<Expr>> {
    [ROW_FILE_COLUMN, ROW_INDEX_COLUMN]
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
/// row of a scanned file is returned, tagged with its file and index.
#[derive(Debug)]
struct RowIdSource {
    provider: FloeTableProvider,
    schema: SchemaRef,
    scanned: Mutex<ScanState>,
}

#[derive(Debug, Default)]
struct ScanState {
    tasks: HashMap<String, FileScanTask>,
    reader: Option<ArrowReader>,
}

impl RowIdSource {
    fn new(provider: FloeTableProvider) -> Self {
        let base = provider.schema();
        let mut fields: Vec<_> = base.fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new(ROW_FILE_COLUMN, DataType::Utf8, false)));
        fields.push(Arc::new(Field::new(
            ROW_INDEX_COLUMN,
            DataType::UInt64,
            false,
        )));
        Self {
            provider,
            schema: Arc::new(Schema::new(fields)),
            scanned: Mutex::new(ScanState::default()),
        }
    }

    fn read_state(&self) -> Result<(HashMap<String, FileScanTask>, ArrowReader)> {
        let state = self
            .scanned
            .lock()
            .map_err(|_| plan_err("row-id scan state is poisoned"))?;
        let reader = state
            .reader
            .clone()
            .ok_or_else(|| plan_err("the target table was never scanned"))?;
        Ok((state.tasks.clone(), reader))
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
        }
        let exec = FloeScanExec::new(
            self.provider.table().ident().to_string(),
            tasks,
            reader,
            out_schema,
            None,
            None,
            state.config().target_partitions(),
        )
        .with_row_ids(indexes);
        Ok(Arc::new(exec))
    }
}
