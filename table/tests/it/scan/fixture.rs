//! Test tables built in-process: Parquet files with field ids written with arrow-rs,
//! metrics computed here, manifests, manifest lists and metadata from `floe-spec`, all
//! in an in-memory object store.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
use bytes::Bytes;
use floe_spec::commit::{LAST_ADDED, TableMetadataBuilder};
use floe_spec::manifest::{
    DataContentType, DataFile, DataFileFormat, ManifestContentType, ManifestMetadata,
    ManifestWriter,
};
use floe_spec::manifest_list::ManifestListWriter;
use floe_spec::partition::UnboundPartitionSpec;
use floe_spec::schema::{Schema, SchemaRef};
use floe_spec::snapshot::{Operation, Snapshot, SnapshotReference, SnapshotRetention, Summary};
use floe_spec::sort::SortOrder;
use floe_spec::table_metadata::{FormatVersion, TableMetadata};
use floe_spec::types::{PrimitiveType, Type};
use floe_spec::values::Datum;
use floe_table::scan::{ObjectStoreFileRead, TableScanBuilder};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

pub const LOCATION: &str = "memory://bucket/t";
pub const FILE_PATH_ID: i32 = 2_147_483_546;
pub const POS_ID: i32 = 2_147_483_545;

#[derive(Debug, Clone)]
struct Tracked {
    file: DataFile,
    seq: i64,
    snapshot_id: i64,
    spec_id: i32,
}

pub struct Fixture {
    pub store: Arc<InMemory>,
    pub io: Arc<ObjectStoreFileRead>,
    pub metadata: Arc<TableMetadata>,
    live: Vec<Tracked>,
    next_id: i64,
    pub now: i64,
    files: usize,
}

pub fn field_with_id(name: &str, dt: DataType, nullable: bool, id: i32) -> Field {
    Field::new(name, dt, nullable).with_metadata(HashMap::from([(
        "PARQUET:field_id".to_string(),
        id.to_string(),
    )]))
}

/// A batch whose columns are the given schema's top-level fields, in order.
pub fn batch(schema: &Schema, columns: Vec<ArrayRef>) -> RecordBatch {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .zip(&columns)
        .map(|(f, c)| field_with_id(&f.name, c.data_type().clone(), !f.required, f.id))
        .collect();
    RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), columns).unwrap()
}

fn datums(col: &dyn Array, ty: &PrimitiveType) -> Vec<Option<Datum>> {
    let any = col.as_any();
    (0..col.len())
        .map(|i| {
            if col.is_null(i) {
                return None;
            }
            Some(match ty {
                PrimitiveType::Int => Datum::Int(any.downcast_ref::<Int32Array>()?.value(i)),
                PrimitiveType::Long => Datum::Long(any.downcast_ref::<Int64Array>()?.value(i)),
                PrimitiveType::Double => {
                    Datum::Double(any.downcast_ref::<Float64Array>()?.value(i))
                }
                PrimitiveType::String => {
                    Datum::String(any.downcast_ref::<StringArray>()?.value(i).to_string())
                }
                _ => return None,
            })
        })
        .collect()
}

/// The Iceberg metrics of a batch (value, null, NaN counts and bounds per column).
fn metrics(file: &mut DataFile, schema: &Schema, b: &RecordBatch) {
    for (f, col) in schema.fields().iter().zip(b.columns()) {
        let Type::Primitive(ty) = f.field_type.as_ref() else {
            continue;
        };
        let values = datums(col.as_ref(), ty);
        file.value_counts.insert(f.id, values.len() as i64);
        file.null_value_counts
            .insert(f.id, values.iter().filter(|v| v.is_none()).count() as i64);
        if ty.is_floating() {
            file.nan_value_counts.insert(
                f.id,
                values.iter().flatten().filter(|v| v.is_nan()).count() as i64,
            );
        }
        let present: Vec<&Datum> = values.iter().flatten().filter(|v| !v.is_nan()).collect();
        if let (Some(lo), Some(hi)) = (present.iter().min(), present.iter().max()) {
            file.lower_bounds.insert(f.id, (*lo).clone());
            file.upper_bounds.insert(f.id, (*hi).clone());
        }
    }
}

impl Fixture {
    pub fn new(schema: Schema, spec: UnboundPartitionSpec) -> Self {
        Self::with_properties(schema, spec, HashMap::new())
    }

    pub fn with_properties(
        schema: Schema,
        spec: UnboundPartitionSpec,
        properties: HashMap<String, String>,
    ) -> Self {
        let b = TableMetadataBuilder::new_table(
            schema,
            spec,
            SortOrder::unsorted(),
            LOCATION.to_string(),
            properties,
        )
        .unwrap();
        let now = 1_700_000_000_000;
        let metadata = b.build(now).unwrap().metadata;
        let store = Arc::new(InMemory::new());
        let io = Arc::new(ObjectStoreFileRead::new(
            Arc::clone(&store) as Arc<dyn ObjectStore>
        ));
        Self {
            store,
            io,
            metadata: Arc::new(metadata),
            live: Vec::new(),
            next_id: 1000,
            now,
            files: 0,
        }
    }

    pub fn schema(&self) -> SchemaRef {
        Arc::clone(self.metadata.current_schema())
    }

    pub fn scan(&self) -> TableScanBuilder {
        TableScanBuilder::new(Arc::clone(&self.metadata), self.io.clone())
    }

    async fn put(&self, location: &str, bytes: Vec<u8>) {
        let path = Path::parse(location.trim_start_matches("memory://bucket/")).unwrap();
        self.store
            .put(&path, Bytes::from(bytes).into())
            .await
            .unwrap();
    }

    fn next_path(&mut self, kind: &str) -> String {
        self.files += 1;
        format!("{LOCATION}/data/{kind}-{:03}.parquet", self.files)
    }

    async fn write_parquet(
        &mut self,
        kind: &str,
        b: &RecordBatch,
        rows_per_group: Option<usize>,
    ) -> (String, i64) {
        let path = self.next_path(kind);
        let mut props = WriterProperties::builder();
        if let Some(n) = rows_per_group {
            props = props.set_max_row_group_row_count(Some(n));
        }
        let mut buf = Vec::new();
        let mut w = ArrowWriter::try_new(&mut buf, b.schema(), Some(props.build())).unwrap();
        w.write(b).unwrap();
        w.close().unwrap();
        let size = buf.len() as i64;
        self.put(&path, buf).await;
        (path, size)
    }

    /// Writes a data file (columns in the current schema's order) with its metrics.
    pub async fn data_file(
        &mut self,
        b: &RecordBatch,
        partition: Vec<Option<Datum>>,
        rows_per_group: Option<usize>,
    ) -> DataFile {
        let (path, size) = self.write_parquet("data", b, rows_per_group).await;
        let mut f = DataFile::new(DataFileFormat::Parquet, path, b.num_rows() as i64, size)
            .with_partition(partition);
        metrics(&mut f, &self.schema(), b);
        f
    }

    /// Writes a data file whose Parquet schema has no field ids.
    pub async fn data_file_without_ids(&mut self, b: &RecordBatch) -> DataFile {
        let fields: Vec<Field> = b
            .schema()
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), f.data_type().clone(), f.is_nullable()))
            .collect();
        let plain =
            RecordBatch::try_new(Arc::new(ArrowSchema::new(fields)), b.columns().to_vec()).unwrap();
        let (path, size) = self.write_parquet("noids", &plain, None).await;
        DataFile::new(DataFileFormat::Parquet, path, b.num_rows() as i64, size)
    }

    /// Writes a position delete file.
    pub async fn pos_deletes(
        &mut self,
        rows: &[(&str, i64)],
        partition: Vec<Option<Datum>>,
    ) -> DataFile {
        let schema = Arc::new(ArrowSchema::new(vec![
            field_with_id("file_path", DataType::Utf8, false, FILE_PATH_ID),
            field_with_id("pos", DataType::Int64, false, POS_ID),
        ]));
        let b = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(
                    rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap();
        let (path, size) = self.write_parquet("pos-del", &b, None).await;
        DataFile::new(DataFileFormat::Parquet, path, rows.len() as i64, size)
            .with_content(DataContentType::PositionDeletes)
            .with_partition(partition)
    }

    /// Writes an equality delete file from a batch of delete keys (fields with ids).
    pub async fn eq_deletes(
        &mut self,
        b: &RecordBatch,
        ids: Vec<i32>,
        partition: Vec<Option<Datum>>,
    ) -> DataFile {
        let (path, size) = self.write_parquet("eq-del", b, None).await;
        let mut f = DataFile::new(DataFileFormat::Parquet, path, b.num_rows() as i64, size)
            .with_content(DataContentType::EqualityDeletes)
            .with_partition(partition);
        f.equality_ids = Some(ids);
        f
    }

    /// Commits a snapshot on `main` adding files and removing live files by path; the
    /// new snapshot's manifests list every live file (EXISTING), the added ones
    /// (ADDED) and the removed ones (DELETED). Returns the snapshot id.
    pub async fn commit(&mut self, op: Operation, add: Vec<DataFile>, remove: &[&str]) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        self.now += 1000;
        let seq = self.metadata.last_sequence_number() + 1;
        let parent = self.metadata.current_snapshot_id();
        let spec_id = self.metadata.default_spec_id();
        let mut writers: HashMap<(bool, i32), ManifestWriter> = HashMap::new();
        let metadata = Arc::clone(&self.metadata);
        fn writer<'a>(
            writers: &'a mut HashMap<(bool, i32), ManifestWriter>,
            metadata: &TableMetadata,
            id: i64,
            deletes: bool,
            spec_id: i32,
        ) -> &'a mut ManifestWriter {
            writers.entry((deletes, spec_id)).or_insert_with(|| {
                ManifestWriter::new(
                    ManifestMetadata {
                        schema: Arc::clone(metadata.current_schema()),
                        partition_spec: (**metadata.partition_spec_by_id(spec_id).unwrap()).clone(),
                        format_version: FormatVersion::V2,
                        content: if deletes {
                            ManifestContentType::Deletes
                        } else {
                            ManifestContentType::Data
                        },
                    },
                    Some(id),
                )
            })
        }
        let mut kept = Vec::new();
        for t in std::mem::take(&mut self.live) {
            let deletes = t.file.content != DataContentType::Data;
            if remove.contains(&t.file.file_path.as_str()) {
                writer(&mut writers, &metadata, id, deletes, t.spec_id)
                    .delete(t.file.clone(), t.seq, Some(t.seq))
                    .unwrap();
            } else {
                writer(&mut writers, &metadata, id, deletes, t.spec_id)
                    .existing(t.file.clone(), t.snapshot_id, t.seq, Some(t.seq))
                    .unwrap();
                kept.push(t);
            }
        }
        for f in add {
            let deletes = f.content != DataContentType::Data;
            writer(&mut writers, &metadata, id, deletes, spec_id)
                .add(f.clone())
                .unwrap();
            kept.push(Tracked {
                file: f,
                seq,
                snapshot_id: id,
                spec_id,
            });
        }
        self.live = kept;
        let mut list = ManifestListWriter::new(FormatVersion::V2, id, parent, seq);
        let mut n = 0;
        let mut keys: Vec<_> = writers.keys().copied().collect();
        keys.sort_unstable();
        for k in keys {
            let w = writers.remove(&k).unwrap();
            n += 1;
            let path = format!("{LOCATION}/metadata/{id}-m{n}.avro");
            let (bytes, entry) = w.finish(&path).unwrap();
            self.put(&path, bytes).await;
            list.add_manifests([entry]).unwrap();
        }
        let list_path = format!("{LOCATION}/metadata/snap-{id}.avro");
        self.put(&list_path, list.finish().unwrap()).await;
        let snapshot = Snapshot {
            snapshot_id: id,
            parent_snapshot_id: parent,
            sequence_number: seq,
            timestamp_ms: self.now,
            manifest_list: list_path,
            summary: Summary {
                operation: op,
                additional_properties: HashMap::new(),
            },
            schema_id: Some(self.metadata.current_schema_id()),
            first_row_id: None,
            added_rows: None,
            key_id: None,
        };
        let mut b = TableMetadataBuilder::new_from(
            &self.metadata,
            format!("{LOCATION}/metadata/v{id}.json"),
        );
        b.add_snapshot(snapshot).unwrap();
        b.set_ref("main", SnapshotReference::branch(id)).unwrap();
        self.metadata = Arc::new(b.build(self.now).unwrap().metadata);
        id
    }

    pub fn tag(&mut self, name: &str, snapshot_id: i64) {
        let mut b =
            TableMetadataBuilder::new_from(&self.metadata, format!("{LOCATION}/metadata/tag.json"));
        b.set_ref(
            name,
            SnapshotReference {
                snapshot_id,
                retention: SnapshotRetention::tag(),
            },
        )
        .unwrap();
        self.metadata = Arc::new(b.build(self.now).unwrap().metadata);
    }

    pub fn evolve(&mut self, schema: &Schema) {
        let mut b = TableMetadataBuilder::new_from(
            &self.metadata,
            format!("{LOCATION}/metadata/evolve.json"),
        );
        b.add_schema(schema, None).unwrap();
        b.set_current_schema(LAST_ADDED).unwrap();
        self.metadata = Arc::new(b.build(self.now).unwrap().metadata);
    }
}

/// The values of an Int64 column of every batch.
pub fn longs(batches: &[RecordBatch], name: &str) -> Vec<Option<i64>> {
    batches
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name(name).unwrap();
            let c = c.as_any().downcast_ref::<Int64Array>().unwrap();
            c.iter().collect::<Vec<_>>()
        })
        .collect()
}

/// The sorted non-null values of an Int64 column.
pub fn sorted_longs(batches: &[RecordBatch], name: &str) -> Vec<i64> {
    let mut v: Vec<i64> = longs(batches, name).into_iter().flatten().collect();
    v.sort_unstable();
    v
}

/// The values of a string column.
pub fn strings(batches: &[RecordBatch], name: &str) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| {
            let c = b.column_by_name(name).unwrap();
            let c = c.as_any().downcast_ref::<StringArray>().unwrap();
            c.iter().map(|s| s.map(str::to_string)).collect::<Vec<_>>()
        })
        .collect()
}
