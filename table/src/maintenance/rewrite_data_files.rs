//! [`RewriteDataFiles`]: compaction — bin-packs small data files per partition into
//! files of `write.target-file-size-bytes`, folding the delete files that apply to them.
//!
//! # Plan
//! The current snapshot is planned with the scan planner (an optional row filter
//! limits the files). A live data file is a *candidate* when it is smaller than the
//! minimum size (75% of the target), larger than the maximum (180%), or has delete
//! files applying to it. Candidates are grouped by partition (spec id and partition
//! values); a group is rewritten when it has at least `min_input_files` (5) files, or
//! more than one file and at least a target's worth of bytes, or a file with deletes,
//! or an oversized file. Groups larger than `max_group_size_bytes` are split.
//!
//! # Rewrite and commit
//! Each group is read with the scan reader — position and equality deletes applied,
//! so the deleted rows are folded away — optionally sorted, and written with the
//! table's partitioned writer (default spec, rolling at the target size). The group
//! is committed as a `replace` snapshot with the rewrite transaction: the new files
//! keep the starting snapshot's data sequence number (`use-starting-sequence-number`),
//! so equality deletes committed meanwhile still apply to them, and the commit is
//! validated against everything committed since the plan: if a rewritten file was
//! removed, or got a new position delete, the group gives way (its files are deleted,
//! its status is [`RewriteGroupStatus::Conflict`]) and the other groups go on. Each
//! group commits on its own (partial progress): a failure never undoes committed
//! groups. File-scoped position deletes of rewritten files are dropped with them.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StructArray};
use arrow::compute::{SortColumn, SortOptions, concat_batches, lexsort_to_indices, take};
use floe_spec::expr::Expression;
use floe_spec::manifest::DataFile;
use floe_spec::schema::Schema;
use floe_spec::sort::{NullOrder, SortDirection, SortOrder};
use floe_spec::values::Datum;
use futures::StreamExt;
use serde::{Deserialize, Serialize};

use crate::arrow_transform::transform_array;
use crate::error::{Error, ErrorKind, Result, arrow_error};
use crate::scan::FileScanTask;
use crate::table::Table;
use crate::transaction::SnapshotUpdate;
use crate::writer::{
    LocationGenerator, PartitionedWriter, TARGET_FILE_SIZE_BYTES, TARGET_FILE_SIZE_BYTES_DEFAULT,
    WriterContext,
};

/// Default of [`RewriteDataFiles::min_input_files`].
pub const MIN_INPUT_FILES_DEFAULT: usize = 5;
/// Default of [`RewriteDataFiles::max_group_size_bytes`]: 100 GiB.
pub const MAX_GROUP_SIZE_BYTES_DEFAULT: u64 = 100 * 1024 * 1024 * 1024;

/// What happened to one file group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RewriteGroupStatus {
    /// Dry run: would be rewritten.
    Planned,
    /// Rewritten and committed.
    Committed,
    /// Gave way to a concurrent change of its files; nothing committed.
    Conflict,
}

/// One group of files rewritten together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RewriteGroupResult {
    /// The partition spec of the input files.
    pub spec_id: i32,
    /// The partition values of the input files (`null` for null values).
    pub partition: Vec<Option<String>>,
    /// Input data files.
    pub input_files: u64,
    /// Their bytes.
    pub input_bytes: u64,
    /// Distinct delete files applying to them.
    pub delete_files: u64,
    /// Files written (0 in a dry run or on conflict).
    pub output_files: u64,
    /// Their bytes.
    pub output_bytes: u64,
    /// Rows written (input rows minus deleted rows).
    pub rows: u64,
    /// What happened.
    pub status: RewriteGroupStatus,
    /// The snapshot that committed the group.
    pub snapshot_id: Option<i64>,
    /// Why the group gave way.
    pub message: Option<String>,
}

/// What a compaction did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RewriteDataFilesResult {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// The groups, in plan order.
    pub groups: Vec<RewriteGroupResult>,
    /// Data files replaced by committed groups (in a dry run: that would be).
    pub rewritten_data_files: u64,
    /// Data files added by committed groups.
    pub added_data_files: u64,
    /// Bytes of the replaced files.
    pub rewritten_bytes: u64,
    /// Bytes of the added files.
    pub added_bytes: u64,
    /// Rows written by committed groups.
    pub rows: u64,
    /// Delete files folded into committed groups.
    pub applied_delete_files: u64,
    /// Groups committed.
    pub committed_groups: u64,
    /// Groups that gave way to concurrent changes.
    pub failed_groups: u64,
}

/// Compacts the data files of a table; see the module docs.
#[derive(Debug, Clone)]
pub struct RewriteDataFiles {
    table: Table,
    filter: Option<Expression>,
    target: Option<u64>,
    min_size: Option<u64>,
    max_size: Option<u64>,
    min_input_files: usize,
    delete_file_threshold: usize,
    rewrite_all: bool,
    max_group_bytes: u64,
    sort_order: Option<SortOrder>,
    use_table_sort_order: bool,
    dry_run: bool,
}

/// A live data file with the tasks that read it.
struct FilePlan {
    file: Arc<DataFile>,
    spec_id: i32,
    tasks: Vec<FileScanTask>,
}

impl FilePlan {
    fn deletes(&self) -> HashSet<&str> {
        self.tasks
            .iter()
            .flat_map(|t| t.deletes.iter().map(|d| d.file_path.as_str()))
            .collect()
    }

    fn size(&self) -> u64 {
        u64::try_from(self.file.file_size_in_bytes).unwrap_or(0)
    }
}

/// Files rewritten together.
struct Group {
    spec_id: i32,
    partition: Vec<Option<Datum>>,
    files: Vec<FilePlan>,
}

impl Group {
    fn bytes(&self) -> u64 {
        self.files.iter().map(FilePlan::size).sum()
    }

    fn delete_files(&self) -> u64 {
        let all: HashSet<&str> = self.files.iter().flat_map(FilePlan::deletes).collect();
        all.len() as u64
    }

    fn report(&self, status: RewriteGroupStatus) -> RewriteGroupResult {
        RewriteGroupResult {
            spec_id: self.spec_id,
            partition: self
                .partition
                .iter()
                .map(|v| v.as_ref().map(ToString::to_string))
                .collect(),
            input_files: self.files.len() as u64,
            input_bytes: self.bytes(),
            delete_files: self.delete_files(),
            output_files: 0,
            output_bytes: 0,
            rows: 0,
            status,
            snapshot_id: None,
            message: None,
        }
    }
}

impl RewriteDataFiles {
    /// A compaction of `table` with the table's target file size.
    pub fn new(table: &Table) -> Self {
        Self {
            table: table.clone(),
            filter: None,
            target: None,
            min_size: None,
            max_size: None,
            min_input_files: MIN_INPUT_FILES_DEFAULT,
            delete_file_threshold: 1,
            rewrite_all: false,
            max_group_bytes: MAX_GROUP_SIZE_BYTES_DEFAULT,
            sort_order: None,
            use_table_sort_order: false,
            dry_run: false,
        }
    }

    /// Only files that may hold rows matching `filter`.
    #[must_use]
    pub fn filter(mut self, filter: Expression) -> Self {
        self.filter = Some(filter);
        self
    }

    /// The size of written files (default `write.target-file-size-bytes`, 512 MiB).
    #[must_use]
    pub fn target_file_size_bytes(mut self, bytes: u64) -> Self {
        self.target = Some(bytes.max(1));
        self
    }

    /// Files smaller than this are rewritten (default 75% of the target).
    #[must_use]
    pub fn min_file_size_bytes(mut self, bytes: u64) -> Self {
        self.min_size = Some(bytes);
        self
    }

    /// Files larger than this are rewritten (default 180% of the target).
    #[must_use]
    pub fn max_file_size_bytes(mut self, bytes: u64) -> Self {
        self.max_size = Some(bytes);
        self
    }

    /// Fewest candidate files for a partition to be rewritten without other reason
    /// (default 5).
    #[must_use]
    pub fn min_input_files(mut self, n: usize) -> Self {
        self.min_input_files = n.max(1);
        self
    }

    /// Files with at least this many delete files applying are rewritten (default 1:
    /// any delete).
    #[must_use]
    pub fn delete_file_threshold(mut self, n: usize) -> Self {
        self.delete_file_threshold = n.max(1);
        self
    }

    /// Rewrites every file, whatever its size.
    #[must_use]
    pub fn rewrite_all(mut self, yes: bool) -> Self {
        self.rewrite_all = yes;
        self
    }

    /// Largest bytes of input rewritten in one group (one commit); larger partitions
    /// are split (default 100 GiB).
    #[must_use]
    pub fn max_group_size_bytes(mut self, bytes: u64) -> Self {
        self.max_group_bytes = bytes.max(1);
        self
    }

    /// Sorts the rows of each group by `order` (identity and other transforms of
    /// top-level columns) and records its id in the new files.
    #[must_use]
    pub fn sort_order(mut self, order: SortOrder) -> Self {
        self.sort_order = Some(order);
        self
    }

    /// Sorts the rows of each group by the table's default sort order, if any.
    #[must_use]
    pub fn sort_by_table_order(mut self, yes: bool) -> Self {
        self.use_table_sort_order = yes;
        self
    }

    /// Only reports which groups would be rewritten.
    #[must_use]
    pub fn dry_run(mut self, yes: bool) -> Self {
        self.dry_run = yes;
        self
    }

    fn target_size(&self) -> Result<u64> {
        if let Some(t) = self.target {
            return Ok(t);
        }
        match self.table.properties().get(TARGET_FILE_SIZE_BYTES) {
            None => Ok(TARGET_FILE_SIZE_BYTES_DEFAULT),
            Some(v) => v.trim().parse::<u64>().map(|t| t.max(1)).map_err(|_| {
                Error::invalid(format!(
                    "table property `{TARGET_FILE_SIZE_BYTES}` must be a positive integer, got \
                     `{v}`"
                ))
            }),
        }
    }

    fn order(&self) -> Option<SortOrder> {
        if let Some(o) = &self.sort_order {
            return Some(o.clone()).filter(|o| !o.fields.is_empty());
        }
        if self.use_table_sort_order {
            let o = self.table.metadata().default_sort_order();
            if !o.fields.is_empty() {
                return Some(o.as_ref().clone());
            }
        }
        None
    }

    /// The groups to rewrite, from the current snapshot.
    async fn plan(&self, target: u64) -> Result<Vec<Group>> {
        if self.table.current_snapshot().is_none() {
            return Ok(Vec::new());
        }
        let min = self.min_size.unwrap_or(target / 4 * 3);
        let max = self
            .max_size
            .unwrap_or_else(|| target.saturating_mul(9) / 5)
            .max(target);
        let mut scan = self.table.scan().select_all();
        if let Some(f) = &self.filter {
            scan = scan.filter(f.clone());
        }
        let tasks = scan.build()?.plan_files().await?;
        let mut files: BTreeMap<String, FilePlan> = BTreeMap::new();
        for t in tasks {
            let path = t.data_file.file_path.clone();
            files
                .entry(path)
                .or_insert_with(|| FilePlan {
                    file: t.data_file.clone(),
                    spec_id: t.spec_id,
                    tasks: Vec::new(),
                })
                .tasks
                .push(t);
        }
        let mut groups: BTreeMap<(i32, String), Group> = BTreeMap::new();
        for (_, f) in files {
            let size = f.size();
            let candidate = self.rewrite_all
                || size < min
                || size > max
                || f.deletes().len() >= self.delete_file_threshold;
            if !candidate {
                continue;
            }
            let key = (f.spec_id, format!("{:?}", f.file.partition));
            groups
                .entry(key)
                .or_insert_with(|| Group {
                    spec_id: f.spec_id,
                    partition: f.file.partition.clone(),
                    files: Vec::new(),
                })
                .files
                .push(f);
        }
        let mut out = Vec::new();
        for (_, g) in groups {
            let with_deletes = g
                .files
                .iter()
                .any(|f| f.deletes().len() >= self.delete_file_threshold);
            let oversized = g.files.iter().any(|f| f.size() > max);
            let n = g.files.len();
            let worth = self.rewrite_all
                || n >= self.min_input_files
                || (n > 1 && g.bytes() >= target)
                || with_deletes
                || oversized;
            if !worth {
                continue;
            }
            // Split into groups of at most max_group_bytes.
            let mut current = Group {
                spec_id: g.spec_id,
                partition: g.partition.clone(),
                files: Vec::new(),
            };
            for f in g.files {
                if !current.files.is_empty() && current.bytes() + f.size() > self.max_group_bytes {
                    let next = Group {
                        spec_id: g.spec_id,
                        partition: g.partition.clone(),
                        files: Vec::new(),
                    };
                    out.push(std::mem::replace(&mut current, next));
                }
                current.files.push(f);
            }
            if !current.files.is_empty() {
                out.push(current);
            }
        }
        Ok(out)
    }

    /// Plans and rewrites (unless a dry run); see the module docs.
    pub async fn execute(self) -> Result<RewriteDataFilesResult> {
        let target = self.target_size()?;
        let groups = self.plan(target).await?;
        let mut result = RewriteDataFilesResult {
            dry_run: self.dry_run,
            ..RewriteDataFilesResult::default()
        };
        if self.dry_run {
            for g in &groups {
                let r = g.report(RewriteGroupStatus::Planned);
                result.rewritten_data_files += r.input_files;
                result.rewritten_bytes += r.input_bytes;
                result.applied_delete_files += r.delete_files;
                result.groups.push(r);
            }
            return Ok(result);
        }
        let order = self.order();
        for g in groups {
            let mut report = g.report(RewriteGroupStatus::Committed);
            let outputs = match self.rewrite_group(&g, target, order.as_ref()).await {
                Ok(o) => o,
                // Files of the planned snapshot were removed and deleted meanwhile.
                Err(e) if e.kind() == ErrorKind::Io && self.moved_on().await => {
                    report.status = RewriteGroupStatus::Conflict;
                    report.message = Some(e.to_string());
                    result.failed_groups += 1;
                    result.groups.push(report);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let update = g
                .files
                .iter()
                .fold(SnapshotUpdate::rewrite(), |u, f| {
                    u.delete_data_file(f.file.file_path.clone())
                })
                .add_data_files(outputs.clone())
                .set_summary("floe.maintenance", "rewrite-data-files");
            let snapshot_id = update.snapshot_id();
            let mut tx = self.table.new_transaction();
            tx.add(update);
            match tx.commit().await {
                Ok(_) => {
                    report.output_files = outputs.len() as u64;
                    report.output_bytes = outputs
                        .iter()
                        .map(|f| u64::try_from(f.file_size_in_bytes).unwrap_or(0))
                        .sum();
                    report.rows = outputs
                        .iter()
                        .map(|f| u64::try_from(f.record_count).unwrap_or(0))
                        .sum();
                    report.snapshot_id = Some(snapshot_id);
                    result.committed_groups += 1;
                    result.rewritten_data_files += report.input_files;
                    result.rewritten_bytes += report.input_bytes;
                    result.added_data_files += report.output_files;
                    result.added_bytes += report.output_bytes;
                    result.rows += report.rows;
                    result.applied_delete_files += report.delete_files;
                }
                // The commit may have happened: keep the files.
                Err(e) if e.kind() == ErrorKind::CommitStateUnknown => return Err(e),
                Err(e) => {
                    for f in &outputs {
                        self.table.storage().delete(&f.file_path).await.ok();
                    }
                    if e.kind() != ErrorKind::CommitFailed {
                        return Err(e);
                    }
                    report.status = RewriteGroupStatus::Conflict;
                    report.message = Some(e.message().to_string());
                    result.failed_groups += 1;
                }
            }
            result.groups.push(report);
        }
        Ok(result)
    }

    /// Whether the catalog's metadata of the table is newer than the plan's.
    async fn moved_on(&self) -> bool {
        self.table
            .catalog()
            .load_table(self.table.ident())
            .await
            .is_ok_and(|l| l.metadata_location.as_deref() != self.table.metadata_location())
    }

    /// Reads a group with its deletes applied and writes it as new files; on failure
    /// the files written so far are deleted.
    async fn rewrite_group(
        &self,
        group: &Group,
        target: u64,
        order: Option<&SortOrder>,
    ) -> Result<Vec<DataFile>> {
        let md = self.table.metadata();
        let schema = md.current_schema();
        let mut properties = md.properties().clone();
        properties.insert(TARGET_FILE_SIZE_BYTES.to_string(), target.to_string());
        let context = Arc::new(WriterContext::for_data(schema, &properties, order)?);
        let locations = Arc::new(LocationGenerator::for_table(
            self.table.store().clone(),
            md.location(),
            md.properties(),
        )?);
        let mut writer =
            PartitionedWriter::try_new(context, schema, md.default_partition_spec(), locations)?;
        let tasks: Vec<FileScanTask> = group
            .files
            .iter()
            .flat_map(|f| f.tasks.iter().cloned())
            .collect();
        let reader = self.table.scan().select_all().build()?.reader()?;
        let mut stream = reader.read(tasks);
        let mut sorted: Vec<RecordBatch> = Vec::new();
        let written: Result<()> = async {
            while let Some(batch) = stream.next().await {
                let batch = batch?;
                if batch.num_rows() == 0 {
                    continue;
                }
                if order.is_some() {
                    sorted.push(batch);
                } else {
                    writer.write(&batch).await?;
                }
            }
            if let (Some(order), Some(first)) = (order, sorted.first()) {
                let all = concat_batches(&first.schema(), &sorted)
                    .map_err(|e| arrow_error("concatenating rows to sort", e))?;
                writer.write(&sort_batch(&all, schema, order)?).await?;
            }
            Ok(())
        }
        .await;
        if let Err(e) = written {
            writer.abort().await.ok();
            return Err(e);
        }
        writer.close().await
    }
}

/// The column of top-level or nested field `id` in `batch`.
fn column(batch: &RecordBatch, schema: &Schema, id: i32) -> Option<ArrayRef> {
    let path = schema.accessor_by_id(id)?;
    let (first, rest) = path.split_first()?;
    let mut array = batch.columns().get(*first)?.clone();
    for pos in rest {
        let s = array.as_any().downcast_ref::<StructArray>()?;
        array = s.columns().get(*pos)?.clone();
    }
    Some(array)
}

/// `batch` sorted by `order`.
fn sort_batch(batch: &RecordBatch, schema: &Schema, order: &SortOrder) -> Result<RecordBatch> {
    let mut keys = Vec::new();
    for f in &order.fields {
        let ty = schema
            .field_by_id(f.source_id)
            .and_then(|c| c.field_type.as_primitive().cloned())
            .ok_or_else(|| {
                Error::invalid(format!(
                    "rewrite data files: sort field {} is not a primitive column",
                    f.source_id
                ))
            })?;
        let array = column(batch, schema, f.source_id).ok_or_else(|| {
            Error::invalid(format!(
                "rewrite data files: sort field {} is not in the rows",
                f.source_id
            ))
        })?;
        keys.push(SortColumn {
            values: transform_array(f.transform, &ty, array.as_ref())?,
            options: Some(SortOptions {
                descending: f.direction == SortDirection::Desc,
                nulls_first: f.null_order == NullOrder::NullsFirst,
            }),
        });
    }
    let indices = lexsort_to_indices(&keys, None).map_err(|e| arrow_error("sorting rows", e))?;
    let columns = batch
        .columns()
        .iter()
        .map(|c| take(c.as_ref(), &indices, None))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| arrow_error("reordering rows", e))?;
    RecordBatch::try_new(batch.schema(), columns).map_err(|e| arrow_error("sorted rows", e))
}
