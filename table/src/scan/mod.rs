//! Scans: planning which files to read and reading them into Arrow record batches.
//!
//! - [`TableScanBuilder`] pins a snapshot (by id, by ref, by timestamp, or the current
//!   one of `main`), selects columns and takes a row filter; [`TableScan`] plans
//!   ([`TableScan::plan`], also awaitable straight from the builder) and reads
//!   ([`TableScan::to_stream`], [`TableScan::to_arrow`]).
//! - Planning prunes manifests by partition summaries, data files by partition values
//!   and column metrics, and attaches the delete files that apply to each data file
//!   (see [`plan`]). The plan is also what server-side planning returns
//!   ([`ScanPlan`]: tasks and distinct delete files).
//! - [`ArrowReader`] reads tasks: Parquet with projection and row-group pruning,
//!   position and equality deletes, the residual filter, and schema evolution by field
//!   id.
//! - [`IncrementalAppendScan`] and [`ChangelogScan`] read what changed between two
//!   snapshots.
//!
//! ```no_run
//! # async fn example(metadata: std::sync::Arc<floe_spec::table_metadata::TableMetadata>,
//! #                  store: std::sync::Arc<dyn object_store::ObjectStore>) -> floe_table::Result<()> {
//! use std::sync::Arc;
//! use floe_spec::expr::Reference;
//! use floe_spec::values::Datum;
//! use floe_table::scan::{ObjectStoreFileRead, TableScanBuilder};
//!
//! let io = Arc::new(ObjectStoreFileRead::new(store));
//! let scan = TableScanBuilder::new(metadata, io)
//!     .select(["id", "name"])
//!     .filter(Reference::new("id").less_than(Datum::Long(100)))
//!     .build()?;
//! let batches = scan.to_arrow().await?;
//! # Ok(()) }
//! ```

mod arrow_types;
mod decode_ahead;
mod delete_index;
mod evolve;
mod incremental;
mod io;
mod name_mapping;
pub mod plan;
mod predicate_eval;
mod projection;
mod reader;

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;

use arrow::array::RecordBatch;

use floe_spec::expr::{BoundExpression, Expression};
use floe_spec::schema::{Schema, SchemaRef};
use floe_spec::snapshot::{MAIN_BRANCH, SnapshotRef};
use floe_spec::table_metadata::TableMetadata;

pub use incremental::{
    CHANGE_ORDINAL_COLUMN, CHANGE_TYPE_COLUMN, COMMIT_SNAPSHOT_ID_COLUMN, ChangeType,
    ChangelogScan, ChangelogTask, IncrementalAppendScan,
};
pub use io::{FileRead, ObjectStoreFileRead, PathMapper, default_path};
pub use name_mapping::{DEFAULT_NAME_MAPPING, NameMapping};
pub use plan::{FileScanTask, ManifestCache, ScanPlan};
pub use reader::{ArrowReader, ArrowReaderBuilder, ArrowRecordBatchStream, ReadStats};

use crate::error::{Error, Result};
use plan::PlanContext;

/// Which snapshot a scan reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SnapshotSelector {
    /// The current snapshot of `main`.
    #[default]
    Current,
    /// A snapshot by id.
    Id(i64),
    /// The snapshot a branch or tag points at.
    Ref(String),
    /// The snapshot that was current at a time (milliseconds since the epoch), per the
    /// snapshot log.
    AsOf(i64),
}

/// Configures a scan; [`TableScanBuilder::build`] checks it, and awaiting the builder
/// plans it.
#[derive(Debug, Clone)]
pub struct TableScanBuilder {
    metadata: Arc<TableMetadata>,
    io: Arc<dyn FileRead>,
    snapshot: SnapshotSelector,
    columns: Option<Vec<String>>,
    case_sensitive: bool,
    filter: Expression,
    concurrency: usize,
    batch_size: Option<usize>,
    use_snapshot_schema: bool,
    manifest_cache: Option<Arc<dyn ManifestCache>>,
    view_types: bool,
}

/// Rows per output batch of a [`TableScan`] unless set: 8,192, as DataFusion's scans.
/// Batches of the Parquet reader's own 1,024 rows cost a full scan 15–25% more time
/// (each batch is handed from the task decoding its file to the reader, and has its
/// per-batch bookkeeping), for no gain in memory that matters.
pub const DEFAULT_BATCH_SIZE: usize = 8_192;

impl TableScanBuilder {
    /// A scan of the table described by `metadata`, reading files through `io`.
    pub fn new(metadata: Arc<TableMetadata>, io: Arc<dyn FileRead>) -> Self {
        Self {
            metadata,
            io,
            snapshot: SnapshotSelector::Current,
            columns: None,
            case_sensitive: true,
            filter: Expression::True,
            concurrency: 8,
            batch_size: Some(DEFAULT_BATCH_SIZE),
            use_snapshot_schema: false,
            manifest_cache: None,
            view_types: false,
        }
    }

    /// Reads the snapshot with this id.
    pub fn snapshot_id(mut self, id: i64) -> Self {
        self.snapshot = SnapshotSelector::Id(id);
        self
    }

    /// Reads the snapshot a branch or tag points at.
    pub fn use_ref(mut self, name: impl Into<String>) -> Self {
        self.snapshot = SnapshotSelector::Ref(name.into());
        self
    }

    /// Reads the snapshot that was current at `timestamp_ms`.
    pub fn as_of(mut self, timestamp_ms: i64) -> Self {
        self.snapshot = SnapshotSelector::AsOf(timestamp_ms);
        self
    }

    /// Sets the snapshot selector.
    pub fn snapshot(mut self, selector: SnapshotSelector) -> Self {
        self.snapshot = selector;
        self
    }

    /// Reads only these top-level columns, in this order.
    pub fn select<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Reads every column (the default).
    pub fn select_all(mut self) -> Self {
        self.columns = None;
        self
    }

    /// Whether column names (selection and filter) match case-sensitively (default
    /// true).
    pub fn case_sensitive(mut self, yes: bool) -> Self {
        self.case_sensitive = yes;
        self
    }

    /// Keeps the rows matching `filter` (ANDed with earlier filters).
    pub fn filter(mut self, filter: Expression) -> Self {
        self.filter = std::mem::replace(&mut self.filter, Expression::True).and(filter);
        self
    }

    /// How many manifests are read, and files opened, at a time (default 8).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Rows per output batch (default [`DEFAULT_BATCH_SIZE`]).
    pub fn with_batch_size(mut self, n: usize) -> Self {
        self.batch_size = Some(n);
        self
    }

    /// Reads top-level string and binary columns as `Utf8View` / `BinaryView` (see
    /// [`ArrowReaderBuilder::with_view_types`]; default false).
    pub fn with_view_types(mut self, enabled: bool) -> Self {
        self.view_types = enabled;
        self
    }

    /// Reads in the schema the snapshot was written with instead of the current one
    /// (time travel with the old column names).
    pub fn use_snapshot_schema(mut self, yes: bool) -> Self {
        self.use_snapshot_schema = yes;
        self
    }

    /// Reads parsed manifests from (and adds them to) `cache` instead of parsing every
    /// manifest on every scan.
    pub fn with_manifest_cache(mut self, cache: Arc<dyn ManifestCache>) -> Self {
        self.manifest_cache = Some(cache);
        self
    }

    /// Resolves the snapshot, the schema and the columns, and binds the filter.
    pub fn build(self) -> Result<TableScan> {
        let snapshot = resolve_snapshot(&self.metadata, &self.snapshot)?;
        let schema = match (&snapshot, self.use_snapshot_schema) {
            (Some(s), true) => s
                .schema_id
                .and_then(|id| self.metadata.schema_by_id(id))
                .cloned()
                .unwrap_or_else(|| Arc::clone(self.metadata.current_schema())),
            _ => Arc::clone(self.metadata.current_schema()),
        };
        let project_field_ids =
            select_columns(&schema, self.columns.as_deref(), self.case_sensitive)?;
        let bound = self
            .filter
            .rewrite_not()
            .bind(&schema, self.case_sensitive)?;
        let mut ctx = PlanContext::new(
            Arc::clone(&self.metadata),
            Arc::clone(&self.io),
            schema,
            project_field_ids,
            bound,
            self.concurrency,
        );
        ctx.manifest_cache = self.manifest_cache;
        Ok(TableScan {
            ctx,
            snapshot,
            batch_size: self.batch_size,
            view_types: self.view_types,
        })
    }
}

impl IntoFuture for TableScanBuilder {
    type Output = Result<ScanPlan>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<ScanPlan>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.build()?.plan().await })
    }
}

/// Resolves a snapshot selector; `None` for a table without a current snapshot.
pub fn resolve_snapshot(
    metadata: &TableMetadata,
    selector: &SnapshotSelector,
) -> Result<Option<SnapshotRef>> {
    match selector {
        SnapshotSelector::Current => Ok(metadata
            .snapshot_for_ref(MAIN_BRANCH)
            .or_else(|| metadata.current_snapshot())
            .cloned()),
        SnapshotSelector::Id(id) => {
            metadata
                .snapshot_by_id(*id)
                .cloned()
                .map(Some)
                .ok_or_else(|| {
                    Error::invalid(format!("cannot scan: snapshot {id} is not in the table"))
                })
        }
        SnapshotSelector::Ref(name) => {
            let r = metadata.refs().get(name).ok_or_else(|| {
                Error::invalid(format!(
                    "cannot scan: the table has no branch or tag `{name}`"
                ))
            })?;
            metadata
                .snapshot_by_id(r.snapshot_id)
                .cloned()
                .map(Some)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "cannot scan: ref `{name}` points at missing snapshot {}",
                        r.snapshot_id
                    ))
                })
        }
        SnapshotSelector::AsOf(ts) => {
            let id = metadata
                .snapshot_log()
                .iter()
                .filter(|e| e.timestamp_ms <= *ts)
                .max_by_key(|e| e.timestamp_ms)
                .map(|e| e.snapshot_id)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "cannot scan as of {ts}: the table has no snapshot at or before that time"
                    ))
                })?;
            metadata
                .snapshot_by_id(id)
                .cloned()
                .map(Some)
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "cannot scan as of {ts}: snapshot {id} of the snapshot log has expired"
                    ))
                })
        }
    }
}

/// The field ids of the selected top-level columns (all columns when `None`).
fn select_columns(
    schema: &Schema,
    columns: Option<&[String]>,
    case_sensitive: bool,
) -> Result<Vec<i32>> {
    let Some(columns) = columns else {
        return Ok(schema.fields().iter().map(|f| f.id).collect());
    };
    let mut ids = Vec::with_capacity(columns.len());
    for name in columns {
        let field = if case_sensitive {
            schema.field_by_name(name)
        } else {
            schema.field_by_name_case_insensitive(name)
        }
        .ok_or_else(|| {
            Error::invalid(format!(
                "cannot select column `{name}`: it is not in the table schema"
            ))
        })?;
        if schema.as_struct().field_by_id(field.id).is_none() {
            return Err(Error::unsupported(format!(
                "cannot select nested column `{name}`: select its top-level column instead"
            )));
        }
        if !ids.contains(&field.id) {
            ids.push(field.id);
        }
    }
    Ok(ids)
}

/// A checked scan of one snapshot (see [`TableScanBuilder`]).
#[derive(Debug, Clone)]
pub struct TableScan {
    ctx: PlanContext,
    snapshot: Option<SnapshotRef>,
    batch_size: Option<usize>,
    view_types: bool,
}

impl TableScan {
    /// The snapshot scanned (`None` for an empty table).
    pub fn snapshot(&self) -> Option<&SnapshotRef> {
        self.snapshot.as_ref()
    }

    /// The schema rows are read in (all columns).
    pub fn read_schema(&self) -> &SchemaRef {
        &self.ctx.schema
    }

    /// The output columns' field ids.
    pub fn projected_field_ids(&self) -> &[i32] {
        &self.ctx.project_field_ids
    }

    /// The row filter, bound to the read schema.
    pub fn filter(&self) -> &BoundExpression {
        &self.ctx.filter
    }

    /// Plans the scan: the tasks and the distinct delete files they use.
    pub async fn plan(&self) -> Result<ScanPlan> {
        self.ctx.plan(self.snapshot.as_deref()).await
    }

    /// Plans the scan: the tasks only.
    pub async fn plan_files(&self) -> Result<Vec<FileScanTask>> {
        Ok(self.plan().await?.tasks)
    }

    /// A reader configured like this scan.
    pub fn reader(&self) -> Result<ArrowReader> {
        Ok(ArrowReaderBuilder::new(Arc::clone(&self.ctx.io))
            .with_table_metadata(&self.ctx.metadata)?
            .with_concurrency(self.ctx.concurrency)
            .with_batch_size(self.batch_size)
            .with_view_types(self.view_types)
            .build())
    }

    /// Plans the scan and streams its rows.
    pub async fn to_stream(&self) -> Result<ArrowRecordBatchStream> {
        let tasks = self.plan_files().await?;
        Ok(self.reader()?.read(tasks))
    }

    /// Plans the scan and collects its rows (see [`ArrowReader::read_all`]).
    pub async fn to_arrow(&self) -> Result<Vec<RecordBatch>> {
        let tasks = self.plan_files().await?;
        self.reader()?.read_all(tasks).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_spec::types::{NestedField, PrimitiveType, StructType, Type};

    #[test]
    fn selects_top_level_columns_only() {
        let schema = Schema::builder()
            .with_fields(vec![
                NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
                NestedField::optional(
                    2,
                    "s",
                    Type::Struct(StructType::new(vec![NestedField::optional(
                        3,
                        "x",
                        Type::Primitive(PrimitiveType::Int),
                    )])),
                ),
            ])
            .build()
            .unwrap();
        assert_eq!(select_columns(&schema, None, true).unwrap(), [1, 2]);
        let cols = ["s".to_string(), "ID".to_string()];
        assert_eq!(select_columns(&schema, Some(&cols), false).unwrap(), [2, 1]);
        let e = select_columns(&schema, Some(&cols), true).unwrap_err();
        assert!(e.to_string().contains("`ID`"), "{e}");
        let nested = ["s.x".to_string()];
        assert!(select_columns(&schema, Some(&nested), true).is_err());
    }
}
