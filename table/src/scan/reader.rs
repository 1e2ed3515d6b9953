//! Reading [`FileScanTask`]s into Arrow record batches.
//!
//! For each task the reader opens the Parquet file, maps Iceberg field ids to the
//! file's columns (the Parquet field ids, or the table's name mapping for files
//! written without ids), reads only the needed columns, skips row groups whose
//! statistics rule out the residual filter, and then, batch by batch: rebuilds the
//! columns in the read schema ([`evolve`](super::evolve)), drops rows deleted by
//! position deletes (row positions are tracked through skipped row groups) and by
//! equality deletes (a hash set of delete keys; null equals null), keeps the rows
//! matching the residual filter, and outputs the selected columns. A task may also
//! project the metadata columns `_file` ([`FILE_PATH_FIELD_ID`]: the data file's path)
//! and `_pos` ([`ROW_POSITION_FIELD_ID`]: the row's position in the file, what a
//! position delete names).
//!
//! Delete files are read once per reader and shared by every task that uses them.
//!
//! [`ArrowReader::read`] opens up to the configured number of files at a time and,
//! inside a Tokio runtime, decodes each on a task of its own
//! ([`decode_ahead`](super::decode_ahead)), so files are decoded in parallel; batches
//! still come out in task order, and within a file in file order.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow::compute::{cast, filter};
use arrow::datatypes::{DataType, Schema as ArrowSchema, SchemaRef as ArrowSchemaRef};
use arrow::row::{RowConverter, SortField};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt, stream};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::statistics::Statistics;
use tokio::sync::OnceCell;

use floe_spec::expr::{BoundExpression, InclusiveMetricsEvaluator};
use floe_spec::manifest::{ColumnMap, DataContentType, DataFile, DataFileFormat};
use floe_spec::schema::{Schema, SchemaRef};
use floe_spec::table_metadata::TableMetadata;
use floe_spec::types::{
    FILE_PATH_FIELD_ID, FILE_PATH_NAME, NestedFieldRef, PrimitiveType, ROW_POSITION_FIELD_ID,
    ROW_POSITION_NAME,
};
use floe_spec::values::{Datum, decimal_from_be_bytes};

use super::arrow_types::{field_id, unview_type, view_type};
use super::decode_ahead::{AHEAD_ALL, AHEAD_BATCHES, decode_ahead};
use super::delete_index::{POS_DELETE_FILE_PATH_ID, POS_DELETE_POS_ID};
use super::evolve::evolve_column;
use super::name_mapping::{DEFAULT_NAME_MAPPING, NameMapping};
use super::predicate_eval::{self, and_masks, fill_nulls};
use super::{FileRead, FileScanTask};
use crate::arrow_schema::{FIELD_ID_KEY, field_to_arrow};
use crate::error::{Error, Result, arrow_error, parquet_error};

/// A stream of record batches.
pub type ArrowRecordBatchStream = BoxStream<'static, Result<RecordBatch>>;

/// Builds an [`ArrowReader`].
#[derive(Debug, Clone)]
pub struct ArrowReaderBuilder {
    io: Arc<dyn FileRead>,
    concurrency: usize,
    batch_size: Option<usize>,
    name_mapping: Option<NameMapping>,
    extra_fields: HashMap<i32, NestedFieldRef>,
    row_group_filtering: bool,
    parallel_decode: bool,
    view_types: bool,
}

impl ArrowReaderBuilder {
    /// A reader of files through `io`.
    pub fn new(io: Arc<dyn FileRead>) -> Self {
        Self {
            io,
            concurrency: 4,
            batch_size: None,
            name_mapping: None,
            extra_fields: HashMap::new(),
            row_group_filtering: true,
            parallel_decode: true,
            view_types: false,
        }
    }

    /// Takes the table's name mapping (`schema.name-mapping.default`) and the
    /// top-level columns of all its schemas (equality deletes may use dropped columns).
    pub fn with_table_metadata(mut self, metadata: &TableMetadata) -> Result<Self> {
        if let Some(json) = metadata.properties().get(DEFAULT_NAME_MAPPING) {
            self.name_mapping = Some(NameMapping::from_json(json)?);
        }
        for s in metadata.schemas().values() {
            for f in s.fields() {
                self.extra_fields
                    .entry(f.id)
                    .or_insert_with(|| Arc::clone(f));
            }
        }
        Ok(self)
    }

    /// How many files are opened at a time (default 4).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Rows per batch (the Parquet reader's default if unset).
    pub fn with_batch_size(mut self, n: Option<usize>) -> Self {
        self.batch_size = n;
        self
    }

    /// The name mapping for files without field ids.
    pub fn with_name_mapping(mut self, mapping: Option<NameMapping>) -> Self {
        self.name_mapping = mapping;
        self
    }

    /// Whether row groups are skipped by their statistics (default true).
    pub fn with_row_group_filtering(mut self, enabled: bool) -> Self {
        self.row_group_filtering = enabled;
        self
    }

    /// Whether [`ArrowReader::read`] decodes the files it has open in parallel, each
    /// on a Tokio task (default true; the output order is the same either way).
    pub fn with_parallel_decode(mut self, enabled: bool) -> Self {
        self.parallel_decode = enabled;
        self
    }

    /// Whether top-level string and binary columns are read as `Utf8View` and
    /// `BinaryView` (default false): no copy of the values out of the Parquet pages,
    /// and cheaper hashing and comparing downstream; what DataFusion's own Parquet
    /// scans produce.
    pub fn with_view_types(mut self, enabled: bool) -> Self {
        self.view_types = enabled;
        self
    }

    /// The reader.
    pub fn build(self) -> ArrowReader {
        ArrowReader {
            inner: Arc::new(Inner {
                io: self.io,
                concurrency: self.concurrency,
                batch_size: self.batch_size,
                name_mapping: self.name_mapping,
                extra_fields: self.extra_fields,
                row_group_filtering: self.row_group_filtering,
                parallel_decode: self.parallel_decode,
                view_types: self.view_types,
                pos_cache: Mutex::default(),
                eq_cache: Mutex::default(),
                stats: Mutex::default(),
            }),
        }
    }
}

/// Counters of what a reader skipped, for tests and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Row groups read.
    pub row_groups_read: usize,
    /// Row groups skipped by their statistics.
    pub row_groups_skipped: usize,
}

type Cell<T> = Arc<OnceCell<Arc<T>>>;

/// Positions deleted per data file path, sorted.
type PositionDeletes = HashMap<String, Vec<u64>>;

/// The keys of one equality delete file.
#[derive(Debug)]
struct EqualityDeletes {
    ids: Vec<i32>,
    keys: HashSet<Box<[u8]>>,
}

#[derive(Debug)]
struct Inner {
    io: Arc<dyn FileRead>,
    concurrency: usize,
    batch_size: Option<usize>,
    name_mapping: Option<NameMapping>,
    extra_fields: HashMap<i32, NestedFieldRef>,
    row_group_filtering: bool,
    parallel_decode: bool,
    view_types: bool,
    pos_cache: Mutex<HashMap<String, Cell<PositionDeletes>>>,
    eq_cache: Mutex<HashMap<String, Cell<EqualityDeletes>>>,
    stats: Mutex<ReadStats>,
}

/// Reads scan tasks into Arrow record batches (see the module docs).
#[derive(Debug, Clone)]
pub struct ArrowReader {
    inner: Arc<Inner>,
}

/// Which rows of a data file a read returns.
#[derive(Debug, Clone)]
pub(crate) enum RowMode {
    /// The live rows: not deleted by the task's deletes, matching the residual.
    Live,
    /// The rows deleted by these delete files but not by the task's deletes (rows a
    /// snapshot deleted, for changelog scans).
    DeletedBy(Vec<Arc<DataFile>>),
}

/// The deletes that apply to one data file.
#[derive(Debug, Default)]
struct FileDeletes {
    positions: Vec<u64>,
    equality: Vec<Arc<EqualityDeletes>>,
}

impl FileDeletes {
    fn is_empty(&self) -> bool {
        self.positions.is_empty() && self.equality.is_empty()
    }

    /// Which rows are deleted.
    fn mask(&self, batch: &Batch<'_>, positions: &[u64]) -> Result<BooleanArray> {
        let n = positions.len();
        let mut deleted: Vec<bool> = if self.positions.is_empty() {
            vec![false; n]
        } else {
            positions
                .iter()
                .map(|p| self.positions.binary_search(p).is_ok())
                .collect()
        };
        for eq in &self.equality {
            // Keys were read without view types: compare in the same types.
            let cols = eq
                .ids
                .iter()
                .map(|id| {
                    let c = batch.column_by_id(*id)?;
                    match unview_type(c.data_type()) {
                        Some(dt) => {
                            cast(&c, &dt).map_err(|e| arrow_error("equality delete keys", e))
                        }
                        None => Ok(c),
                    }
                })
                .collect::<Result<Vec<_>>>()?;
            let converter = row_converter(&cols)?;
            let rows = converter
                .convert_columns(&cols)
                .map_err(|e| arrow_error("equality delete keys", e))?;
            for (i, d) in deleted.iter_mut().enumerate() {
                if !*d && eq.keys.contains(rows.row(i).as_ref()) {
                    *d = true;
                }
            }
        }
        Ok(BooleanArray::from(deleted))
    }
}

fn row_converter(cols: &[ArrayRef]) -> Result<RowConverter> {
    RowConverter::new(
        cols.iter()
            .map(|c| SortField::new(c.data_type().clone()))
            .collect(),
    )
    .map_err(|e| arrow_error("equality delete keys", e))
}

/// A batch's columns in the working schema.
struct Batch<'a> {
    schema: &'a Schema,
    top: HashMap<i32, ArrayRef>,
}

impl Batch<'_> {
    fn column_by_id(&self, id: i32) -> Result<ArrayRef> {
        let accessor = self
            .schema
            .accessor_by_id(id)
            .ok_or_else(|| Error::invalid(format!("column id {id} is not in the read schema")))?;
        let (first, rest) = accessor
            .split_first()
            .ok_or_else(|| Error::invalid(format!("column id {id} has an empty accessor")))?;
        let top_id = self
            .schema
            .fields()
            .get(*first)
            .map(|f| f.id)
            .ok_or_else(|| Error::invalid(format!("column id {id}: bad accessor")))?;
        let top = self
            .top
            .get(&top_id)
            .ok_or_else(|| Error::invalid(format!("column id {top_id} was not read")))?;
        predicate_eval::resolve_path(top, rest)
    }
}

/// The row positions of the rows a file stream yields, through skipped row groups.
struct PositionTracker {
    /// `(first row, rows)` of each row group read, in order.
    ranges: Vec<(u64, u64)>,
    range: usize,
    offset: u64,
}

impl PositionTracker {
    fn next(&mut self, n: usize) -> Vec<u64> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let Some((first, rows)) = self.ranges.get(self.range).copied() else {
                break;
            };
            if self.offset >= rows {
                self.range += 1;
                self.offset = 0;
                continue;
            }
            let take = (rows - self.offset).min((n - out.len()) as u64);
            out.extend((0..take).map(|k| first + self.offset + k));
            self.offset += take;
        }
        out
    }
}

impl ArrowReader {
    /// Reads the tasks, opening up to the configured number of files at a time (and
    /// decoding them in parallel, see the module docs); the batches come in task order.
    pub fn read(&self, tasks: Vec<FileScanTask>) -> ArrowRecordBatchStream {
        self.read_ahead(tasks, AHEAD_BATCHES)
    }

    /// Reads the tasks like [`ArrowReader::read`] and collects every batch. Each open
    /// file decodes all its batches without waiting for the ones before it to be taken,
    /// so every core decodes until the end.
    pub async fn read_all(&self, tasks: Vec<FileScanTask>) -> Result<Vec<RecordBatch>> {
        self.read_ahead(tasks, AHEAD_ALL).try_collect().await
    }

    fn read_ahead(&self, tasks: Vec<FileScanTask>, ahead: usize) -> ArrowRecordBatchStream {
        let this = self.clone();
        let concurrency = self.inner.concurrency;
        let parallel = self.inner.parallel_decode;
        stream::iter(tasks)
            .map(move |t| {
                let this = this.clone();
                async move {
                    let file = this.read_task(t, RowMode::Live).await?;
                    Ok::<_, Error>(if parallel {
                        decode_ahead(file, ahead)
                    } else {
                        file
                    })
                }
            })
            .buffered(concurrency)
            .try_flatten()
            .boxed()
    }

    /// What the reader skipped so far.
    pub fn stats(&self) -> ReadStats {
        self.inner.stats.lock().map(|s| *s).unwrap_or_default()
    }

    /// Reads one task.
    pub(crate) async fn read_task(
        &self,
        task: FileScanTask,
        mode: RowMode,
    ) -> Result<ArrowRecordBatchStream> {
        let data = &task.data_file;
        if data.file_format != DataFileFormat::Parquet {
            return Err(Error::unsupported(format!(
                "cannot read `{}`: only Parquet data files are supported, not {}",
                data.file_path, data.file_format
            )));
        }
        let added = match &mode {
            RowMode::Live => Vec::new(),
            RowMode::DeletedBy(files) => files.clone(),
        };
        let eq_ids = task
            .deletes
            .iter()
            .chain(&added)
            .filter(|d| d.content == DataContentType::EqualityDeletes)
            .flat_map(|d| d.equality_ids.clone().unwrap_or_default());
        let working = self.working_schema(&task.schema, eq_ids)?;
        let existing = self.load_deletes(&task.deletes, data, &working).await?;
        let added = match mode {
            RowMode::Live => None,
            RowMode::DeletedBy(_) => Some(self.load_deletes(&added, data, &working).await?),
        };

        // Open the file and map ids to its top-level columns.
        let (reader, meta) = self.open(&data.file_path, data.file_size_in_bytes).await?;
        let meta = if self.inner.view_types {
            with_view_types(meta, &data.file_path)?
        } else {
            meta
        };
        let file_ids: HashMap<i32, usize> = meta
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter_map(|(i, f)| field_id(f).map(|id| (id, i)))
            .collect();

        // The top-level columns needed: output, residual filter, equality keys.
        let mut needed_ids: HashSet<i32> = task.project_field_ids.iter().copied().collect();
        let mut root_of = |id: i32| {
            if let Some(top) = working
                .accessor_by_id(id)
                .and_then(|a| a.first())
                .and_then(|i| working.fields().get(*i))
            {
                needed_ids.insert(top.id);
            }
        };
        task.residual
            .for_each_predicate(&mut |p| root_of(p.term().field_id()));
        for d in existing.equality.iter().chain(
            added
                .as_ref()
                .map(|a| a.equality.as_slice())
                .unwrap_or_default(),
        ) {
            for id in &d.ids {
                root_of(*id);
            }
        }
        let needed: Vec<NestedFieldRef> = working
            .fields()
            .iter()
            .filter(|f| needed_ids.contains(&f.id))
            .cloned()
            .collect();
        let roots: Vec<usize> = needed
            .iter()
            .filter_map(|f| file_ids.get(&f.id).copied())
            .collect();
        let mask = ProjectionMask::roots(meta.parquet_schema(), roots);

        // Row groups: in the task's byte range, not ruled out by their statistics.
        let metrics = InclusiveMetricsEvaluator::new(&task.residual);
        let end = task.start.saturating_add(task.length);
        let mut first_row = 0u64;
        let mut selected = Vec::new();
        let mut ranges = Vec::new();
        let mut skipped = 0;
        for (i, rg) in meta.metadata().row_groups().iter().enumerate() {
            let rows = u64::try_from(rg.num_rows()).unwrap_or(0);
            let offset = rg_offset(rg);
            let in_range = offset >= task.start && offset < end;
            if in_range {
                if self.inner.row_group_filtering
                    && !row_group_may_match(rg, &meta, &working, &metrics)
                {
                    skipped += 1;
                } else {
                    selected.push(i);
                    ranges.push((first_row, rows));
                }
            }
            first_row += rows;
        }
        if let Ok(mut s) = self.inner.stats.lock() {
            s.row_groups_read += selected.len();
            s.row_groups_skipped += skipped;
        }

        let mut builder = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, meta)
            .with_projection(mask)
            .with_row_groups(selected);
        if let Some(n) = self.inner.batch_size {
            builder = builder.with_batch_size(n);
        }
        let path = data.file_path.clone();
        let parquet = builder
            .build()
            .map_err(|e| parquet_error(&format!("open `{path}`"), e))?;

        let output_schema: ArrowSchemaRef = Arc::new(ArrowSchema::new(
            task.project_field_ids
                .iter()
                .filter_map(|id| output_field(&task.schema, *id, self.inner.view_types))
                .collect::<Result<Vec<_>>>()?,
        ));
        let mut tracker = PositionTracker {
            ranges,
            range: 0,
            offset: 0,
        };
        let task = Arc::new(task);
        let view_types = self.inner.view_types;
        let stream = parquet
            .map(move |batch| {
                let batch = batch.map_err(|e| parquet_error(&format!("read `{path}`"), e))?;
                let positions = tracker.next(batch.num_rows());
                process_batch(
                    &batch,
                    &positions,
                    &task,
                    &working,
                    &needed,
                    &existing,
                    added.as_ref(),
                    &output_schema,
                    view_types,
                )
            })
            .try_filter(|b| futures::future::ready(b.num_rows() > 0));
        Ok(stream.boxed())
    }

    /// The task's schema plus, for equality delete columns it lacks (dropped columns),
    /// their fields from older schemas.
    fn working_schema(
        &self,
        schema: &SchemaRef,
        eq_ids: impl Iterator<Item = i32>,
    ) -> Result<SchemaRef> {
        let mut extra = Vec::new();
        for id in eq_ids {
            if schema.field_by_id(id).is_some() || extra.iter().any(|f: &NestedFieldRef| f.id == id)
            {
                continue;
            }
            let f = self.inner.extra_fields.get(&id).ok_or_else(|| {
                Error::invalid(format!(
                    "equality delete column id {id} is not a top-level column of any table schema"
                ))
            })?;
            extra.push(Arc::clone(f));
        }
        if extra.is_empty() {
            return Ok(Arc::clone(schema));
        }
        Ok(Arc::new(
            Schema::builder()
                .with_schema_id(schema.schema_id())
                .with_field_refs(schema.fields().iter().cloned().chain(extra))
                .build()?,
        ))
    }

    async fn open(
        &self,
        location: &str,
        size: i64,
    ) -> Result<(Box<dyn AsyncFileReader>, ArrowReaderMetadata)> {
        let mut reader = self.inner.io.reader(location, u64::try_from(size).ok())?;
        let options = ArrowReaderOptions::new();
        let meta = ArrowReaderMetadata::load_async(&mut reader, options.clone())
            .await
            .map_err(|e| parquet_error(&format!("read the footer of `{location}`"), e))?;
        if meta.schema().fields().iter().any(|f| field_id(f).is_some()) {
            return Ok((reader, meta));
        }
        let Some(mapping) = &self.inner.name_mapping else {
            return Err(Error::invalid(format!(
                "`{location}` has no Iceberg field ids and the table has no name mapping \
                 (`{DEFAULT_NAME_MAPPING}`)"
            )));
        };
        let mapped = Arc::new(mapping.apply(meta.schema()));
        let meta =
            ArrowReaderMetadata::try_new(Arc::clone(meta.metadata()), options.with_schema(mapped))
                .map_err(|e| {
                    parquet_error(&format!("apply the name mapping to `{location}`"), e)
                })?;
        Ok((reader, meta))
    }

    /// Loads (once per reader) the delete files and keeps what applies to `data`.
    async fn load_deletes(
        &self,
        deletes: &[Arc<DataFile>],
        data: &DataFile,
        working: &Schema,
    ) -> Result<FileDeletes> {
        let mut out = FileDeletes::default();
        for d in deletes {
            match d.content {
                DataContentType::Data => {}
                DataContentType::PositionDeletes => {
                    let all = self.position_deletes(d).await?;
                    if let Some(p) = all.get(&data.file_path) {
                        out.positions.extend(p);
                    }
                }
                DataContentType::EqualityDeletes => {
                    out.equality.push(self.equality_deletes(d, working).await?);
                }
            }
        }
        out.positions.sort_unstable();
        out.positions.dedup();
        Ok(out)
    }

    fn cell<T>(cache: &Mutex<HashMap<String, Cell<T>>>, key: &str) -> Cell<T> {
        match cache.lock() {
            Ok(mut m) => Arc::clone(m.entry(key.to_string()).or_default()),
            Err(_) => Arc::default(),
        }
    }

    async fn position_deletes(&self, file: &DataFile) -> Result<Arc<PositionDeletes>> {
        let cell = Self::cell(&self.inner.pos_cache, &file.file_path);
        let loaded = cell
            .get_or_try_init(|| async { self.read_position_deletes(file).await.map(Arc::new) })
            .await?;
        Ok(Arc::clone(loaded))
    }

    async fn read_position_deletes(&self, file: &DataFile) -> Result<PositionDeletes> {
        if file.file_format != DataFileFormat::Parquet {
            return Err(Error::unsupported(format!(
                "cannot read position delete file `{}`: {} delete files (deletion vectors) \
                 are not supported yet",
                file.file_path, file.file_format
            )));
        }
        let batches = self
            .read_whole(file, |f, name| {
                field_id(f).map_or(name == "file_path" || name == "pos", |id| {
                    id == POS_DELETE_FILE_PATH_ID || id == POS_DELETE_POS_ID
                })
            })
            .await?;
        let mut out: PositionDeletes = HashMap::new();
        for b in batches {
            let col = |id: i32, name: &str| {
                b.schema()
                    .fields()
                    .iter()
                    .position(|f| field_id(f).map_or(f.name() == name, |fid| fid == id))
                    .map(|i| Arc::clone(b.column(i)))
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "position delete file `{}` has no `{name}` column",
                            file.file_path
                        ))
                    })
            };
            let paths = cast(&col(POS_DELETE_FILE_PATH_ID, "file_path")?, &DataType::Utf8)
                .map_err(|e| arrow_error("position delete paths", e))?;
            let pos = cast(&col(POS_DELETE_POS_ID, "pos")?, &DataType::Int64)
                .map_err(|e| arrow_error("position delete positions", e))?;
            let (Some(paths), Some(pos)) = (
                paths.as_any().downcast_ref::<StringArray>(),
                pos.as_any().downcast_ref::<Int64Array>(),
            ) else {
                return Err(Error::invalid(
                    "position delete columns of unexpected types",
                ));
            };
            for (p, n) in paths.iter().zip(pos.iter()) {
                if let (Some(p), Some(n)) = (p, n) {
                    out.entry(p.to_string())
                        .or_default()
                        .push(u64::try_from(n).unwrap_or(u64::MAX));
                }
            }
        }
        for v in out.values_mut() {
            v.sort_unstable();
        }
        Ok(out)
    }

    async fn equality_deletes(
        &self,
        file: &DataFile,
        working: &Schema,
    ) -> Result<Arc<EqualityDeletes>> {
        let cell = Self::cell(&self.inner.eq_cache, &file.file_path);
        let loaded = cell
            .get_or_try_init(|| async {
                self.read_equality_deletes(file, working)
                    .await
                    .map(Arc::new)
            })
            .await?;
        Ok(Arc::clone(loaded))
    }

    async fn read_equality_deletes(
        &self,
        file: &DataFile,
        working: &Schema,
    ) -> Result<EqualityDeletes> {
        if file.file_format != DataFileFormat::Parquet {
            return Err(Error::unsupported(format!(
                "cannot read equality delete file `{}`: only Parquet is supported",
                file.file_path
            )));
        }
        let mut ids = file.equality_ids.clone().unwrap_or_default();
        if ids.is_empty() {
            return Err(Error::invalid(format!(
                "equality delete file `{}` has no equality_ids",
                file.file_path
            )));
        }
        ids.sort_unstable();
        ids.dedup();
        let fields = ids
            .iter()
            .map(|id| {
                working
                    .fields()
                    .iter()
                    .find(|f| f.id == *id)
                    .cloned()
                    .ok_or_else(|| {
                        Error::unsupported(format!(
                            "equality delete file `{}`: column id {id} is not a top-level column",
                            file.file_path
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let wanted: HashSet<i32> = ids.iter().copied().collect();
        let batches = self
            .read_whole(file, |f, _| {
                field_id(f).is_some_and(|id| wanted.contains(&id))
            })
            .await?;
        let mut keys = HashSet::new();
        for b in batches {
            let by_id: HashMap<i32, &ArrayRef> = b
                .schema_ref()
                .fields()
                .iter()
                .zip(b.columns())
                .filter_map(|(f, c)| field_id(f).map(|id| (id, c)))
                .collect();
            let cols = fields
                .iter()
                .map(|f| evolve_column(f, by_id.get(&f.id).copied(), b.num_rows(), false))
                .collect::<Result<Vec<_>>>()?;
            let converter = row_converter(&cols)?;
            let rows = converter
                .convert_columns(&cols)
                .map_err(|e| arrow_error("equality delete keys", e))?;
            for r in &rows {
                keys.insert(Box::<[u8]>::from(r.as_ref()));
            }
        }
        Ok(EqualityDeletes { ids, keys })
    }

    /// Reads the top-level columns of a (delete) file accepted by `keep(field, name)`.
    async fn read_whole(
        &self,
        file: &DataFile,
        keep: impl Fn(&arrow::datatypes::Field, &str) -> bool,
    ) -> Result<Vec<RecordBatch>> {
        let (reader, meta) = if let Ok(x) =
            self.open(&file.file_path, file.file_size_in_bytes).await
        {
            x
        } else {
            {
                // Delete files without ids and no mapping: read them by name.
                let mut reader = self
                    .inner
                    .io
                    .reader(&file.file_path, u64::try_from(file.file_size_in_bytes).ok())?;
                let meta = ArrowReaderMetadata::load_async(&mut reader, ArrowReaderOptions::new())
                    .await
                    .map_err(|e| parquet_error(&format!("read `{}`", file.file_path), e))?;
                (reader, meta)
            }
        };
        let roots: Vec<usize> = meta
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| keep(f, f.name()))
            .map(|(i, _)| i)
            .collect();
        let mask = ProjectionMask::roots(meta.parquet_schema(), roots);
        let stream = ParquetRecordBatchStreamBuilder::new_with_metadata(reader, meta)
            .with_projection(mask)
            .build()
            .map_err(|e| parquet_error(&format!("open `{}`", file.file_path), e))?;
        stream
            .try_collect()
            .await
            .map_err(|e| parquet_error(&format!("read `{}`", file.file_path), e))
    }
}

/// The byte offset where a row group starts.
fn rg_offset(rg: &RowGroupMetaData) -> u64 {
    let first = rg.columns().first().map_or(0, |c| {
        c.dictionary_page_offset()
            .map_or(c.data_page_offset(), |d| d.min(c.data_page_offset()))
    });
    u64::try_from(rg.file_offset().unwrap_or(first)).unwrap_or(0)
}

/// Whether a row group may hold rows matching the residual, by its statistics
/// (top-level primitive columns with field ids only).
fn row_group_may_match(
    rg: &RowGroupMetaData,
    meta: &ArrowReaderMetadata,
    schema: &Schema,
    metrics: &InclusiveMetricsEvaluator,
) -> bool {
    let mut values = ColumnMap::new();
    let mut nulls = ColumnMap::new();
    let mut lower = ColumnMap::new();
    let mut upper = ColumnMap::new();
    let descr = meta.parquet_schema();
    for (leaf, col) in rg.columns().iter().enumerate() {
        if col.column_descr().path().parts().len() != 1 {
            continue;
        }
        let root = descr.get_column_root_idx(leaf);
        let Some(id) = meta.schema().fields().get(root).and_then(|f| field_id(f)) else {
            continue;
        };
        let Some(ty) = schema
            .field_by_id(id)
            .and_then(|f| f.field_type.as_primitive().cloned())
        else {
            continue;
        };
        values.insert(id, col.num_values());
        let Some(stats) = col.statistics() else {
            continue;
        };
        if let Some(n) = stats.null_count_opt() {
            nulls.insert(id, i64::try_from(n).unwrap_or(i64::MAX));
        }
        if stats.is_min_max_deprecated() {
            continue;
        }
        let (lo, hi) = stats_bounds(stats, &ty);
        if let (Some(lo), Some(hi)) = (lo, hi) {
            lower.insert(id, lo);
            upper.insert(id, hi);
        }
    }
    let nans = ColumnMap::new();
    metrics.eval(&floe_spec::expr::ColumnStats {
        record_count: rg.num_rows(),
        value_counts: &values,
        null_value_counts: &nulls,
        nan_value_counts: &nans,
        lower_bounds: &lower,
        upper_bounds: &upper,
    })
}

/// A Parquet column chunk's min and max as Iceberg values of type `ty`.
fn stats_bounds(stats: &Statistics, ty: &PrimitiveType) -> (Option<Datum>, Option<Datum>) {
    use PrimitiveType as P;
    fn both<T>(
        min: Option<&T>,
        max: Option<&T>,
        f: impl Fn(&T) -> Option<Datum>,
    ) -> (Option<Datum>, Option<Datum>) {
        (min.and_then(&f), max.and_then(&f))
    }
    match stats {
        Statistics::Boolean(s) => both(s.min_opt(), s.max_opt(), |v| {
            matches!(ty, P::Boolean).then_some(Datum::Boolean(*v))
        }),
        Statistics::Int32(s) => both(s.min_opt(), s.max_opt(), |v| match ty {
            P::Int | P::Long => Some(Datum::Int(*v)),
            P::Date => Some(Datum::Date(*v)),
            P::Decimal { precision, scale } => Some(Datum::Decimal {
                unscaled: i128::from(*v),
                precision: *precision,
                scale: *scale,
            }),
            _ => None,
        }),
        Statistics::Int64(s) => both(s.min_opt(), s.max_opt(), |v| match ty {
            P::Long => Some(Datum::Long(*v)),
            P::Time => Some(Datum::Time(*v)),
            P::Timestamp => Some(Datum::Timestamp(*v)),
            P::Timestamptz => Some(Datum::Timestamptz(*v)),
            P::TimestampNs => Some(Datum::TimestampNs(*v)),
            P::TimestamptzNs => Some(Datum::TimestamptzNs(*v)),
            P::Decimal { precision, scale } => Some(Datum::Decimal {
                unscaled: i128::from(*v),
                precision: *precision,
                scale: *scale,
            }),
            _ => None,
        }),
        Statistics::Float(s) => both(s.min_opt(), s.max_opt(), |v| {
            (matches!(ty, P::Float | P::Double) && !v.is_nan()).then_some(Datum::Float(*v))
        }),
        Statistics::Double(s) => both(s.min_opt(), s.max_opt(), |v| {
            (matches!(ty, P::Double) && !v.is_nan()).then_some(Datum::Double(*v))
        }),
        Statistics::ByteArray(_) | Statistics::FixedLenByteArray(_) => {
            let conv = |b: &[u8]| -> Option<Datum> {
                match ty {
                    P::String => std::str::from_utf8(b).ok().map(|s| Datum::String(s.into())),
                    P::Binary => Some(Datum::Binary(b.to_vec())),
                    P::Fixed(_) => Some(Datum::Fixed(b.to_vec())),
                    P::Uuid => uuid::Uuid::from_slice(b).ok().map(Datum::Uuid),
                    P::Decimal { precision, scale } => Some(Datum::Decimal {
                        unscaled: decimal_from_be_bytes(b),
                        precision: *precision,
                        scale: *scale,
                    }),
                    _ => None,
                }
            };
            (
                stats.min_bytes_opt().and_then(conv),
                stats.max_bytes_opt().and_then(conv),
            )
        }
        Statistics::Int96(_) => (None, None),
    }
}

#[allow(clippy::too_many_arguments)]
fn process_batch(
    batch: &RecordBatch,
    positions: &[u64],
    task: &FileScanTask,
    working: &Schema,
    needed: &[NestedFieldRef],
    existing: &FileDeletes,
    added: Option<&FileDeletes>,
    output_schema: &ArrowSchemaRef,
    view_types: bool,
) -> Result<RecordBatch> {
    let n = batch.num_rows();
    let by_id: HashMap<i32, &ArrayRef> = batch
        .schema_ref()
        .fields()
        .iter()
        .zip(batch.columns())
        .filter_map(|(f, c)| field_id(f).map(|id| (id, c)))
        .collect();
    let mut top = HashMap::with_capacity(needed.len());
    for f in needed {
        top.insert(
            f.id,
            evolve_column(f, by_id.get(&f.id).copied(), n, view_types)?,
        );
    }
    let view = Batch {
        schema: working,
        top,
    };

    // The rows kept; `None` while all are (the common case: no deletes, no residual).
    let mut keep: Option<BooleanArray> = None;
    let mut and_keep = |mask: BooleanArray| {
        keep = Some(match keep.take() {
            None => mask,
            Some(k) => and_masks(&k, &mask),
        });
    };
    if !existing.is_empty() {
        and_keep(negate(&existing.mask(&view, positions)?));
    }
    if let Some(added) = added {
        and_keep(added.mask(&view, positions)?);
    }
    if !matches!(task.residual, BoundExpression::True) {
        let schema = &task.schema;
        let matched = predicate_eval::evaluate(&task.residual, n, &|r| {
            let (first, rest) = r
                .accessor
                .split_first()
                .ok_or_else(|| Error::invalid(format!("column `{r}` has an empty accessor")))?;
            let id = schema
                .fields()
                .get(*first)
                .map(|f| f.id)
                .ok_or_else(|| Error::invalid(format!("column `{r}` is not in the schema")))?;
            let col = view
                .top
                .get(&id)
                .ok_or_else(|| Error::invalid(format!("column `{r}` was not read")))?;
            predicate_eval::resolve_path(col, rest)
        })?;
        and_keep(fill_nulls(&matched, false));
    }

    let keep = keep.filter(|k| k.true_count() < n);
    let rows = keep.as_ref().map_or(n, BooleanArray::true_count);
    let columns =
        task.project_field_ids
            .iter()
            .map(|id| {
                let col =
                    match *id {
                        FILE_PATH_FIELD_ID => {
                            return Ok(Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                                task.data_file.file_path.as_str(),
                                rows,
                            ))) as ArrayRef);
                        }
                        ROW_POSITION_FIELD_ID => row_positions(positions),
                        _ => Arc::clone(view.top.get(id).ok_or_else(|| {
                            Error::invalid(format!("column id {id} was not read"))
                        })?),
                    };
                match &keep {
                    None => Ok(col),
                    Some(k) => filter(col.as_ref(), k).map_err(|e| arrow_error("filter rows", e)),
                }
            })
            .collect::<Result<Vec<_>>>()?;
    RecordBatch::try_new_with_options(
        Arc::clone(output_schema),
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(rows)),
    )
    .map_err(|e| arrow_error("assemble batch", e))
}

/// The output field of a projected id: a column of `schema` or a metadata column
/// (`_file`, `_pos`); `None` for an id that is neither.
fn output_field(
    schema: &Schema,
    id: i32,
    view_types: bool,
) -> Option<Result<arrow::datatypes::Field>> {
    let metadata = |name: &str, data_type: DataType| {
        Some(Ok(arrow::datatypes::Field::new(name, data_type, false)
            .with_metadata(HashMap::from([(
                FIELD_ID_KEY.to_string(),
                id.to_string(),
            )]))))
    };
    match id {
        FILE_PATH_FIELD_ID => metadata(FILE_PATH_NAME, DataType::Utf8),
        ROW_POSITION_FIELD_ID => metadata(ROW_POSITION_NAME, DataType::Int64),
        _ => schema.as_struct().field_by_id(id).map(|f| {
            let field = field_to_arrow(f)?;
            Ok(if view_types {
                let dt = view_type(field.data_type().clone());
                field.with_data_type(dt)
            } else {
                field
            })
        }),
    }
}

/// `meta` reading top-level string and binary columns as views.
fn with_view_types(meta: ArrowReaderMetadata, location: &str) -> Result<ArrowReaderMetadata> {
    let fields: Vec<arrow::datatypes::FieldRef> = meta
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let dt = view_type(f.data_type().clone());
            if &dt == f.data_type() {
                Arc::clone(f)
            } else {
                Arc::new(f.as_ref().clone().with_data_type(dt))
            }
        })
        .collect();
    if fields
        .iter()
        .zip(meta.schema().fields())
        .all(|(a, b)| Arc::ptr_eq(a, b))
    {
        return Ok(meta);
    }
    let hint = Arc::new(ArrowSchema::new_with_metadata(
        fields,
        meta.schema().metadata().clone(),
    ));
    ArrowReaderMetadata::try_new(
        Arc::clone(meta.metadata()),
        ArrowReaderOptions::new().with_schema(hint),
    )
    .map_err(|e| parquet_error(&format!("read `{location}` with view types"), e))
}

/// The `_pos` column of a batch's rows.
fn row_positions(positions: &[u64]) -> ArrayRef {
    Arc::new(Int64Array::from_iter_values(
        positions
            .iter()
            .map(|p| i64::try_from(*p).unwrap_or(i64::MAX)),
    ))
}

fn negate(mask: &BooleanArray) -> BooleanArray {
    BooleanArray::new(!mask.values(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_follow_skipped_row_groups() {
        let mut t = PositionTracker {
            ranges: vec![(0, 3), (10, 2)],
            range: 0,
            offset: 0,
        };
        assert_eq!(t.next(2), [0, 1]);
        assert_eq!(t.next(2), [2, 10]);
        assert_eq!(t.next(5), [11]);
        assert!(t.next(1).is_empty());
    }

    #[test]
    fn parquet_stats_become_iceberg_bounds() {
        let s = Statistics::int32(Some(1), Some(9), None, Some(0), false);
        assert_eq!(
            stats_bounds(&s, &PrimitiveType::Long),
            (Some(Datum::Int(1)), Some(Datum::Int(9)))
        );
        assert_eq!(
            stats_bounds(&s, &PrimitiveType::Date),
            (Some(Datum::Date(1)), Some(Datum::Date(9)))
        );
        let s = Statistics::double(Some(f64::NAN), Some(2.0), None, Some(0), false);
        assert_eq!(
            stats_bounds(&s, &PrimitiveType::Double),
            (None, Some(Datum::Double(2.0)))
        );
    }
}
