//! Scan planning: from a snapshot's manifest list to [`FileScanTask`]s.
//!
//! Manifests are pruned by their partition summaries (the row filter projected
//! through each spec's transforms), read and decoded concurrently (bounded; each on a
//! Tokio task, so all workers decode), and their live
//! entries pruned by partition tuple and column metrics. Delete manifests are read the
//! same way and indexed ([`DeleteFileIndex`]) so each data file gets the delete files
//! that apply to it.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt, stream};

use floe_spec::expr::{BoundExpression, ColumnStats, InclusiveMetricsEvaluator, ManifestEvaluator};
use floe_spec::manifest::{
    DataContentType, DataFile, Manifest, ManifestContentType, ManifestEntry,
};
use floe_spec::manifest_list::{ManifestFile, ManifestList};
use floe_spec::partition::PartitionSpecRef;
use floe_spec::schema::{Schema, SchemaRef};
use floe_spec::snapshot::Snapshot;
use floe_spec::table_metadata::TableMetadata;

use super::FileRead;
use super::delete_index::DeleteFileIndex;
use super::projection;
use crate::error::{Error, Result};

/// One data file to read, with everything the reader needs.
#[derive(Debug, Clone)]
pub struct FileScanTask {
    /// The data file.
    pub data_file: Arc<DataFile>,
    /// Its data sequence number.
    pub data_sequence_number: i64,
    /// The delete files that apply to it (position deletes first).
    pub deletes: Vec<Arc<DataFile>>,
    /// The partition spec the file was written with.
    pub spec_id: i32,
    /// What rows of the file must still be tested against: the row filter bound to
    /// [`FileScanTask::schema`], minus what the partition decides.
    pub residual: BoundExpression,
    /// The schema rows are read in (the scan's table schema, every column).
    pub schema: SchemaRef,
    /// The top-level field ids of the output, in order.
    pub project_field_ids: Vec<i32>,
    /// The first byte of the file to read (row groups starting in
    /// `[start, start + length)` are read).
    pub start: u64,
    /// The number of bytes from `start`.
    pub length: u64,
}

/// A planned scan: its tasks and the distinct delete files they use (the shape of the
/// REST scan-planning response).
#[derive(Debug, Clone)]
pub struct ScanPlan {
    /// The snapshot scanned; `None` for a table without snapshots.
    pub snapshot_id: Option<i64>,
    /// The output schema (the selected columns).
    pub schema: SchemaRef,
    /// One task per data file.
    pub tasks: Vec<FileScanTask>,
    /// Every delete file used by some task, once.
    pub delete_files: Vec<Arc<DataFile>>,
}

/// What a planner needs from the scan.
#[derive(Debug, Clone)]
pub(crate) struct PlanContext {
    pub(crate) metadata: Arc<TableMetadata>,
    pub(crate) io: Arc<dyn FileRead>,
    /// The read schema (all columns).
    pub(crate) schema: SchemaRef,
    /// The output columns.
    pub(crate) project_field_ids: Vec<i32>,
    /// The row filter bound to `schema`, without `Not` nodes.
    pub(crate) filter: BoundExpression,
    pub(crate) concurrency: usize,
    /// Pruning state per partition spec id.
    filters: Arc<HashMap<i32, SpecFilter>>,
    /// Parsed manifests by path, shared between scans (manifests are immutable).
    pub(crate) manifest_cache: Option<Arc<dyn ManifestCache>>,
}

/// A cache of parsed manifests by path, shared between scans (a server keeps one).
/// Manifest files are immutable, so an entry never goes stale.
pub trait ManifestCache: Send + Sync + std::fmt::Debug {
    /// The parsed manifest at `path`, if cached.
    fn get(&self, path: &str) -> Option<Arc<Manifest>>;
    /// Remembers the parsed manifest at `path`.
    fn insert(&self, path: &str, manifest: Arc<Manifest>);
}

/// Per-spec pruning state.
#[derive(Debug)]
struct SpecFilter {
    spec: PartitionSpecRef,
    manifest: ManifestEvaluator,
    partition: BoundExpression,
    residuals: projection::Residuals,
}

/// A live entry of a manifest with its spec.
#[derive(Debug, Clone)]
pub(crate) struct LiveEntry {
    pub(crate) entry: ManifestEntry,
    pub(crate) spec_id: i32,
    /// The manifest-list entry of the manifest it came from.
    pub(crate) manifest: Arc<ManifestFile>,
}

impl LiveEntry {
    pub(crate) fn seq(&self) -> i64 {
        self.entry.sequence_number.unwrap_or(0)
    }
}

/// The column statistics view of a data file.
pub(crate) fn column_stats(f: &DataFile) -> ColumnStats<'_> {
    ColumnStats {
        record_count: f.record_count,
        value_counts: &f.value_counts,
        null_value_counts: &f.null_value_counts,
        nan_value_counts: &f.nan_value_counts,
        lower_bounds: &f.lower_bounds,
        upper_bounds: &f.upper_bounds,
    }
}

impl PlanContext {
    pub(crate) fn new(
        metadata: Arc<TableMetadata>,
        io: Arc<dyn FileRead>,
        schema: SchemaRef,
        project_field_ids: Vec<i32>,
        filter: BoundExpression,
        concurrency: usize,
    ) -> Self {
        let filters = Arc::new(spec_filters(&metadata, &schema, &filter));
        Self {
            metadata,
            io,
            schema,
            project_field_ids,
            filter,
            concurrency,
            filters,
            manifest_cache: None,
        }
    }

    /// Reads a snapshot's manifest list.
    pub(crate) async fn manifest_list(&self, snapshot: &Snapshot) -> Result<ManifestList> {
        let bytes = self.io.read(&snapshot.manifest_list).await?;
        let types = ManifestList::partition_types(&self.metadata);
        ManifestList::parse(&bytes, &types).map_err(|e| {
            Error::new(
                e.kind(),
                format!(
                    "cannot read manifest list `{}` of snapshot {}: {}",
                    snapshot.manifest_list,
                    snapshot.snapshot_id,
                    e.message()
                ),
            )
        })
    }

    /// Reads manifests concurrently (at most `concurrency` at a time), applying
    /// inheritance; returns every entry (DELETED ones too) with its manifest.
    pub(crate) async fn read_manifests(
        &self,
        manifests: Vec<ManifestFile>,
    ) -> Result<Vec<LiveEntry>> {
        let io = Arc::clone(&self.io);
        let cache = self.manifest_cache.clone();
        // Decoding is CPU work: each manifest is read and decoded on a task of its own
        // so that all the runtime's workers decode (`buffered` keeps manifest order).
        let runtime = tokio::runtime::Handle::try_current().ok();
        let read = stream::iter(manifests.into_iter().map(move |m| {
            let io = Arc::clone(&io);
            let cache = cache.clone();
            let read_one = async move {
                let cached = cache.as_ref().and_then(|c| c.get(&m.manifest_path));
                let manifest = if let Some(hit) = cached {
                    Manifest::clone(&hit)
                } else {
                    let bytes = io.read(&m.manifest_path).await?;
                    let manifest = Manifest::parse(&bytes).map_err(|e| {
                        Error::new(
                            e.kind(),
                            format!(
                                "cannot read manifest `{}`: {}",
                                m.manifest_path,
                                e.message()
                            ),
                        )
                    })?;
                    if let Some(c) = &cache {
                        c.insert(&m.manifest_path, Arc::new(manifest.clone()));
                    }
                    manifest
                };
                let m = Arc::new(m);
                let entries = manifest.into_entries_inheriting(&m);
                Ok::<_, Error>(
                    entries
                        .into_iter()
                        .map(|entry| LiveEntry {
                            entry,
                            spec_id: m.partition_spec_id,
                            manifest: Arc::clone(&m),
                        })
                        .collect::<Vec<_>>(),
                )
            };
            let runtime = runtime.clone();
            async move {
                match runtime {
                    Some(rt) => rt.spawn(read_one).await.unwrap_or_else(|e| {
                        Err(Error::new(
                            crate::error::ErrorKind::Unexpected,
                            format!("the task reading a manifest failed: {e}"),
                        ))
                    }),
                    None => read_one.await,
                }
            }
        }))
        .buffered(self.concurrency.max(1));
        let chunks: Vec<Vec<LiveEntry>> = read.try_collect().await?;
        Ok(chunks.into_iter().flatten().collect())
    }

    /// Plans the scan of `snapshot` (`None`: an empty table).
    pub(crate) async fn plan(&self, snapshot: Option<&Snapshot>) -> Result<ScanPlan> {
        let Some(snapshot) = snapshot else {
            return Ok(self.empty_plan(None));
        };
        let list = self.manifest_list(snapshot).await?;
        let filters = &self.filters;
        let keep = |m: &ManifestFile| {
            (m.has_added_files() || m.has_existing_files())
                && filters
                    .get(&m.partition_spec_id)
                    .is_none_or(|f| m.partitions.as_deref().is_none_or(|p| f.manifest.eval(p)))
        };
        let manifests: Vec<ManifestFile> = list.entries.into_iter().filter(|m| keep(m)).collect();
        let entries = self.read_manifests(manifests).await?;
        let (data, deletes): (Vec<_>, Vec<_>) = entries
            .into_iter()
            .filter(|e| e.entry.is_alive())
            .partition(|e| e.manifest.content == ManifestContentType::Data);
        let index = Self::delete_index(deletes, filters);
        let tasks = self.tasks(data, &index, filters);
        let mut plan = self.empty_plan(Some(snapshot.snapshot_id));
        plan.delete_files = distinct_deletes(&tasks);
        plan.tasks = tasks;
        Ok(plan)
    }

    fn empty_plan(&self, snapshot_id: Option<i64>) -> ScanPlan {
        let projected = self
            .project_field_ids
            .iter()
            .filter_map(|id| self.schema.as_struct().field_by_id(*id).cloned());
        let schema = Schema::builder()
            .with_schema_id(self.schema.schema_id())
            .with_field_refs(projected)
            .build()
            .map_or_else(|_| Arc::clone(&self.schema), Arc::new);
        ScanPlan {
            snapshot_id,
            schema,
            tasks: Vec::new(),
            delete_files: Vec::new(),
        }
    }

    /// Indexes live delete entries whose partition may match the filter.
    fn delete_index(
        deletes: Vec<LiveEntry>,
        filters: &HashMap<i32, SpecFilter>,
    ) -> DeleteFileIndex {
        DeleteFileIndex::new(deletes.into_iter().filter_map(|e| {
            let f = filters.get(&e.spec_id);
            let unpartitioned = f.is_none_or(|f| f.spec.is_unpartitioned());
            if f.is_some_and(|f| !f.partition.eval_tuple(&e.entry.data_file.partition)) {
                return None;
            }
            let seq = e.seq();
            Some((Arc::new(e.entry.data_file), seq, e.spec_id, unpartitioned))
        }))
    }

    /// Turns live data entries into tasks, pruning by partition and metrics.
    fn tasks(
        &self,
        data: Vec<LiveEntry>,
        index: &DeleteFileIndex,
        filters: &HashMap<i32, SpecFilter>,
    ) -> Vec<FileScanTask> {
        let metrics = InclusiveMetricsEvaluator::new(&self.filter);
        data.into_iter()
            .filter(|e| e.entry.data_file.content == DataContentType::Data)
            .filter(|e| {
                let f = &e.entry.data_file;
                filters
                    .get(&e.spec_id)
                    .is_none_or(|s| s.partition.eval_tuple(&f.partition))
                    && metrics.eval(&column_stats(f))
            })
            .map(|e| self.task(e, index, filters))
            .collect()
    }

    fn task(
        &self,
        e: LiveEntry,
        index: &DeleteFileIndex,
        filters: &HashMap<i32, SpecFilter>,
    ) -> FileScanTask {
        let seq = e.seq();
        let deletes = if index.is_empty() {
            Vec::new()
        } else {
            index
                .for_data_file(&e.entry.data_file, seq, e.spec_id)
                .into_iter()
                .map(|d| d.file)
                .collect()
        };
        let residual = match filters.get(&e.spec_id) {
            Some(f) => f.residuals.residual_for(&e.entry.data_file.partition),
            None => self.filter.clone(),
        };
        let length = u64::try_from(e.entry.data_file.file_size_in_bytes).unwrap_or(0);
        FileScanTask {
            data_file: Arc::new(e.entry.data_file),
            data_sequence_number: seq,
            deletes,
            spec_id: e.spec_id,
            residual,
            schema: Arc::clone(&self.schema),
            project_field_ids: self.project_field_ids.clone(),
            start: 0,
            length,
        }
    }

    /// Builds the delete index of a snapshot without a filter (every live delete file),
    /// and returns the live data entries too: what incremental scans need.
    pub(crate) async fn snapshot_files(
        &self,
        snapshot: &Snapshot,
    ) -> Result<(Vec<LiveEntry>, Vec<LiveEntry>)> {
        let list = self.manifest_list(snapshot).await?;
        let entries = self.read_manifests(list.entries).await?;
        Ok(entries
            .into_iter()
            .partition(|e| e.manifest.content == ManifestContentType::Data))
    }

    /// The delete index of the given live delete entries (no pruning).
    pub(crate) fn index_of(&self, deletes: &[LiveEntry]) -> DeleteFileIndex {
        DeleteFileIndex::new(deletes.iter().filter(|e| e.entry.is_alive()).map(|e| {
            let unpartitioned = self
                .metadata
                .partition_spec_by_id(e.spec_id)
                .is_none_or(|s| s.is_unpartitioned());
            (
                Arc::new(e.entry.data_file.clone()),
                e.seq(),
                e.spec_id,
                unpartitioned,
            )
        }))
    }

    /// A task for a data entry, without pruning, with the given deletes.
    pub(crate) fn task_with_deletes(
        &self,
        e: &LiveEntry,
        deletes: Vec<Arc<DataFile>>,
    ) -> FileScanTask {
        let mut t = self.task(e.clone(), &DeleteFileIndex::default(), &self.filters);
        t.deletes = deletes;
        t
    }

    /// Whether a data entry may hold rows matching the filter.
    pub(crate) fn may_match(&self, e: &LiveEntry) -> bool {
        let f = &e.entry.data_file;
        self.filters
            .get(&e.spec_id)
            .is_none_or(|s| s.partition.eval_tuple(&f.partition))
            && InclusiveMetricsEvaluator::new(&self.filter).eval(&column_stats(f))
    }
}

fn spec_filters(
    metadata: &TableMetadata,
    schema: &Schema,
    filter: &BoundExpression,
) -> HashMap<i32, SpecFilter> {
    let mut out = HashMap::new();
    for (id, spec) in metadata.partition_specs() {
        // A spec whose source columns are gone from the read schema cannot be
        // projected onto: keep all its files.
        let partition =
            projection::partition_filter(filter, spec, schema).unwrap_or(BoundExpression::True);
        out.insert(
            *id,
            SpecFilter {
                spec: Arc::clone(spec),
                manifest: ManifestEvaluator::new(&partition),
                partition,
                residuals: projection::Residuals::new(filter, spec, schema),
            },
        );
    }
    out
}

fn distinct_deletes(tasks: &[FileScanTask]) -> Vec<Arc<DataFile>> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for d in tasks.iter().flat_map(|t| &t.deletes) {
        if seen.insert(d.file_path.clone()) {
            out.push(Arc::clone(d));
        }
    }
    out
}
