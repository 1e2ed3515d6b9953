//! [`FloeScanExec`]: the DataFusion execution plan that reads a planned Floe scan.
//!
//! The scan's file tasks are split into groups of about equal bytes, one output
//! partition per group; each partition streams its tasks through floe-table's
//! [`ArrowReader`] (projection, row-group pruning, deletes and the residual filter
//! applied), so rows arrive with deletes applied.

use std::fmt;
use std::sync::Arc;

use arrow::array::{RecordBatch, RecordBatchOptions};
use arrow::datatypes::SchemaRef;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{DataFusionError, Result, Statistics};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::statistics::StatisticsArgs;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    ReplaceChildrenOptions, SendableRecordBatchStream,
};
use floe_spec::expr::BoundExpression;
use floe_table::scan::{ArrowReader, FileScanTask};
use futures::{StreamExt, TryStreamExt};

use super::error::to_df;

/// Reads groups of Floe file scan tasks, one output partition per group.
#[derive(Debug)]
pub struct FloeScanExec {
    table: String,
    groups: Vec<Vec<FileScanTask>>,
    reader: ArrowReader,
    /// The output schema.
    schema: SchemaRef,
    /// The columns of the reader's batches to output (all when `None`): filters may
    /// need columns the query does not select, and a row count needs none.
    keep: Option<Vec<usize>>,
    limit: Option<usize>,
    properties: Arc<PlanProperties>,
}

impl FloeScanExec {
    /// A scan of `tasks` split into at most `partitions` groups of about equal size.
    pub(crate) fn new(
        table: String,
        tasks: Vec<FileScanTask>,
        reader: ArrowReader,
        schema: SchemaRef,
        keep: Option<Vec<usize>>,
        limit: Option<usize>,
        partitions: usize,
    ) -> Self {
        let groups = group_tasks(tasks, partitions);
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(groups.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        Self {
            table,
            groups,
            reader,
            schema,
            keep,
            limit,
            properties,
        }
    }

    /// The number of data files the scan reads (after pruning).
    pub fn file_count(&self) -> usize {
        self.groups.iter().map(Vec::len).sum()
    }

    /// The data files the scan reads.
    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.groups
            .iter()
            .flatten()
            .map(|t| t.data_file.file_path.as_str())
    }

    fn stats_of(&self, tasks: &[&FileScanTask]) -> Statistics {
        let rows: i64 = tasks.iter().map(|t| t.data_file.record_count).sum();
        let bytes: i64 = tasks.iter().map(|t| t.data_file.file_size_in_bytes).sum();
        let exact = tasks
            .iter()
            .all(|t| t.deletes.is_empty() && matches!(t.residual, BoundExpression::True));
        let mut rows = rows.max(0) as usize;
        if let Some(l) = self.limit {
            rows = rows.min(l);
        }
        let mut stats = Statistics::new_unknown(&self.schema);
        stats.num_rows = if exact {
            Precision::Exact(rows)
        } else {
            Precision::Inexact(rows)
        };
        stats.total_byte_size = Precision::Inexact(bytes.max(0) as usize);
        stats
    }
}

/// Splits tasks into at most `n` groups, largest files first onto the lightest group.
fn group_tasks(mut tasks: Vec<FileScanTask>, n: usize) -> Vec<Vec<FileScanTask>> {
    let n = n.clamp(1, tasks.len().max(1));
    tasks.sort_by_key(|t| std::cmp::Reverse(t.data_file.file_size_in_bytes));
    let mut groups: Vec<(i64, Vec<FileScanTask>)> = (0..n).map(|_| (0, Vec::new())).collect();
    for t in tasks {
        if let Some(g) = groups.iter_mut().min_by_key(|g| g.0) {
            g.0 += t.data_file.file_size_in_bytes.max(1);
            g.1.push(t);
        }
    }
    groups.into_iter().map(|g| g.1).collect()
}

impl DisplayAs for FloeScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FloeScanExec: table={}, files={}, partitions={}",
            self.table,
            self.file_count(),
            self.groups.len()
        )?;
        if let Some(l) = self.limit {
            write!(f, ", limit={l}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for FloeScanExec {
    fn name(&self) -> &'static str {
        "FloeScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(
        &self,
        partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let tasks = match self.groups.get(partition) {
            Some(g) => g.clone(),
            None if self.groups.is_empty() && partition == 0 => Vec::new(),
            None => {
                return Err(DataFusionError::Internal(format!(
                    "FloeScanExec: no partition {partition} (it has {})",
                    self.groups.len()
                )));
            }
        };
        let schema = Arc::clone(&self.schema);
        let keep = self.keep.clone();
        let mut remaining = self.limit;
        let raw = self.reader.read(tasks).map_err(to_df);
        let batches = raw
            .and_then(move |b| {
                let out = reshape(&b, &schema, keep.as_deref());
                futures::future::ready(out)
            })
            .take_while(move |b| {
                let go = match (remaining, b) {
                    (Some(0), _) => false,
                    (Some(r), Ok(b)) => {
                        remaining = Some(r.saturating_sub(b.num_rows()));
                        true
                    }
                    _ => true,
                };
                futures::future::ready(go)
            });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            batches,
        )))
    }

    fn statistics_from_inputs(
        &self,
        _input_stats: &[Arc<Statistics>],
        args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        let tasks: Vec<&FileScanTask> = match args.partition() {
            Some(p) => self
                .groups
                .get(p)
                .map(|g| g.iter().collect())
                .unwrap_or_default(),
            None => self.groups.iter().flatten().collect(),
        };
        Ok(Arc::new(self.stats_of(&tasks)))
    }
}

/// A reader batch in the output schema: the kept columns (possibly none, for a row
/// count) under the provider's field metadata.
fn reshape(batch: &RecordBatch, schema: &SchemaRef, keep: Option<&[usize]>) -> Result<RecordBatch> {
    let columns = match keep {
        None => batch.columns().to_vec(),
        Some(idx) => idx
            .iter()
            .map(|i| {
                batch.columns().get(*i).cloned().ok_or_else(|| {
                    DataFusionError::Internal(format!("Floe scan: no column {i} in a batch"))
                })
            })
            .collect::<Result<Vec<_>>>()?,
    };
    let opts = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    RecordBatch::try_new_with_options(Arc::clone(schema), columns, &opts)
        .map_err(|e| DataFusionError::ArrowError(Box::new(e), Some("Floe scan output".into())))
}
