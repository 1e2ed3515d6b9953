//! Metadata tables: `ns."t$snapshots"`, `$history`, `$files`, `$manifests`,
//! `$partitions` and `$refs` for every table.
//!
//! Named `<table>$<kind>` (the Trino/Flink spelling; Spark writes `t.snapshots`, which
//! SQL cannot tell apart from a table `snapshots` in a namespace `t`). DataFusion's
//! default dialect accepts `$` inside identifiers, so `SELECT * FROM db.t$snapshots`
//! works unquoted. Each is built from the table's metadata (and, for files, manifests
//! and partitions, the current snapshot's manifests) when the query is planned.
//!
//! | table | columns |
//! |---|---|
//! | `$snapshots` | `committed_at`, `snapshot_id`, `parent_id`, `operation`, `manifest_list`, `summary` (JSON) |
//! | `$history` | `made_current_at`, `snapshot_id`, `parent_id`, `is_current_ancestor` |
//! | `$files` | `content` (0 data, 1 position deletes, 2 equality deletes), `file_path`, `file_format`, `spec_id`, `partition`, `record_count`, `file_size_in_bytes` |
//! | `$manifests` | `content`, `path`, `length`, `partition_spec_id`, `added_snapshot_id`, `added_data_files_count`, `existing_data_files_count`, `deleted_data_files_count` |
//! | `$partitions` | `partition`, `spec_id`, `record_count`, `file_count`, `total_data_file_size_in_bytes`, `delete_file_count` |
//! | `$refs` | `name`, `type`, `snapshot_id`, `max_reference_age_in_ms`, `min_snapshots_to_keep`, `max_snapshot_age_in_ms` |
//!
//! `partition` is the Hive-style path of the partition tuple (`region=eu/day=2024-01-02`,
//! empty for an unpartitioned table).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanArray, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::common::Result;
use datafusion::datasource::MemTable;
use floe_spec::manifest::{DataContentType, DataFile};
use floe_spec::snapshot::SnapshotRetention;
use floe_table::Table;

use super::error::{plan_err, to_df};

/// The metadata tables of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataTable {
    /// `$snapshots`: every snapshot of the table.
    Snapshots,
    /// `$history`: when each snapshot became current.
    History,
    /// `$files`: the live data and delete files of the current snapshot.
    Files,
    /// `$manifests`: the manifests of the current snapshot.
    Manifests,
    /// `$partitions`: row and file counts per partition of the current snapshot.
    Partitions,
    /// `$refs`: branches and tags.
    Refs,
}

impl MetadataTable {
    /// Every metadata table.
    pub const ALL: [MetadataTable; 6] = [
        MetadataTable::Snapshots,
        MetadataTable::History,
        MetadataTable::Files,
        MetadataTable::Manifests,
        MetadataTable::Partitions,
        MetadataTable::Refs,
    ];

    /// The suffix after `$`.
    pub fn name(self) -> &'static str {
        match self {
            MetadataTable::Snapshots => "snapshots",
            MetadataTable::History => "history",
            MetadataTable::Files => "files",
            MetadataTable::Manifests => "manifests",
            MetadataTable::Partitions => "partitions",
            MetadataTable::Refs => "refs",
        }
    }

    /// Splits `t$kind` into the table name and the metadata table; `None` for a name
    /// without `$`.
    pub fn parse(name: &str) -> Option<Result<(&str, MetadataTable)>> {
        let (table, kind) = name.rsplit_once('$')?;
        Some(
            MetadataTable::ALL
                .into_iter()
                .find(|k| k.name().eq_ignore_ascii_case(kind))
                .map(|k| (table, k))
                .ok_or_else(|| {
                    plan_err(format!(
                        "unknown metadata table `${kind}` of `{table}`: expected one of \
                         $snapshots, $history, $files, $manifests, $partitions, $refs"
                    ))
                }),
        )
    }

    /// The rows of this metadata table for `table`.
    pub async fn build(self, table: &Table) -> Result<MemTable> {
        let batch = match self {
            MetadataTable::Snapshots => snapshots(table)?,
            MetadataTable::History => history(table)?,
            MetadataTable::Files => files(table).await?,
            MetadataTable::Manifests => manifests(table).await?,
            MetadataTable::Partitions => partitions(table).await?,
            MetadataTable::Refs => refs(table)?,
        };
        MemTable::try_new(batch.schema(), vec![vec![batch]])
    }
}

fn ts_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into()))
}

fn batch(fields: Vec<Field>, columns: Vec<ArrayRef>) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}

fn snapshots(table: &Table) -> Result<RecordBatch> {
    let mut snaps: Vec<_> = table.metadata().snapshots().values().cloned().collect();
    snaps.sort_by_key(|s| (s.timestamp_ms, s.sequence_number));
    let summaries = snaps
        .iter()
        .map(|s| {
            let sorted: BTreeMap<_, _> = s.summary.additional_properties.iter().collect();
            serde_json::to_string(&sorted).unwrap_or_default()
        })
        .collect::<Vec<_>>();
    batch(
        vec![
            Field::new("committed_at", ts_type(), false),
            Field::new("snapshot_id", DataType::Int64, false),
            Field::new("parent_id", DataType::Int64, true),
            Field::new("operation", DataType::Utf8, false),
            Field::new("manifest_list", DataType::Utf8, false),
            Field::new("summary", DataType::Utf8, false),
        ],
        vec![
            Arc::new(
                TimestampMillisecondArray::from_iter_values(snaps.iter().map(|s| s.timestamp_ms))
                    .with_timezone("+00:00"),
            ),
            Arc::new(Int64Array::from_iter_values(
                snaps.iter().map(|s| s.snapshot_id),
            )),
            Arc::new(
                snaps
                    .iter()
                    .map(|s| s.parent_snapshot_id)
                    .collect::<Int64Array>(),
            ),
            Arc::new(StringArray::from_iter_values(
                snaps.iter().map(|s| s.summary.operation.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                snaps.iter().map(|s| s.manifest_list.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(summaries)),
        ],
    )
}

fn history(table: &Table) -> Result<RecordBatch> {
    let log = table.history();
    let ancestors: HashSet<i64> = table
        .metadata()
        .current_snapshot_id()
        .map(|id| table.ancestors(id).iter().map(|s| s.snapshot_id).collect())
        .unwrap_or_default();
    let parent = |id: i64| table.snapshot(id).and_then(|s| s.parent_snapshot_id);
    batch(
        vec![
            Field::new("made_current_at", ts_type(), false),
            Field::new("snapshot_id", DataType::Int64, false),
            Field::new("parent_id", DataType::Int64, true),
            Field::new("is_current_ancestor", DataType::Boolean, false),
        ],
        vec![
            Arc::new(
                TimestampMillisecondArray::from_iter_values(log.iter().map(|e| e.timestamp_ms))
                    .with_timezone("+00:00"),
            ),
            Arc::new(Int64Array::from_iter_values(
                log.iter().map(|e| e.snapshot_id),
            )),
            Arc::new(
                log.iter()
                    .map(|e| parent(e.snapshot_id))
                    .collect::<Int64Array>(),
            ),
            Arc::new(
                log.iter()
                    .map(|e| Some(ancestors.contains(&e.snapshot_id)))
                    .collect::<BooleanArray>(),
            ),
        ],
    )
}

/// The Hive-style path of a file's partition tuple.
fn partition_path(table: &Table, file: &DataFile, spec_id: i32) -> Result<String> {
    let md = table.metadata();
    let spec = md.partition_spec_by_id(spec_id).ok_or_else(|| {
        plan_err(format!(
            "table {} has no partition spec {spec_id}",
            table.ident()
        ))
    })?;
    if spec.fields.is_empty() {
        return Ok(String::new());
    }
    spec.partition_path(md.current_schema(), &file.partition)
        .map_err(to_df)
}

async fn files(table: &Table) -> Result<RecordBatch> {
    let mut rows = Vec::new();
    for m in table.manifests(None).await.map_err(to_df)? {
        for e in table.manifest_entries(&m).await.map_err(to_df)? {
            if e.is_alive() {
                let p = partition_path(table, &e.data_file, m.partition_spec_id)?;
                rows.push((e.data_file, m.partition_spec_id, p));
            }
        }
    }
    batch(
        vec![
            Field::new("content", DataType::Int32, false),
            Field::new("file_path", DataType::Utf8, false),
            Field::new("file_format", DataType::Utf8, false),
            Field::new("spec_id", DataType::Int32, false),
            Field::new("partition", DataType::Utf8, false),
            Field::new("record_count", DataType::Int64, false),
            Field::new("file_size_in_bytes", DataType::Int64, false),
        ],
        vec![
            Arc::new(Int32Array::from_iter_values(
                rows.iter().map(|r| r.0.content as i32),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.0.file_path.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.0.file_format.to_string()),
            )),
            Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.2.as_str()),
            )),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.0.record_count),
            )),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.0.file_size_in_bytes),
            )),
        ],
    )
}

async fn manifests(table: &Table) -> Result<RecordBatch> {
    let ms = table.manifests(None).await.map_err(to_df)?;
    batch(
        vec![
            Field::new("content", DataType::Int32, false),
            Field::new("path", DataType::Utf8, false),
            Field::new("length", DataType::Int64, false),
            Field::new("partition_spec_id", DataType::Int32, false),
            Field::new("added_snapshot_id", DataType::Int64, false),
            Field::new("added_data_files_count", DataType::Int32, true),
            Field::new("existing_data_files_count", DataType::Int32, true),
            Field::new("deleted_data_files_count", DataType::Int32, true),
        ],
        vec![
            Arc::new(Int32Array::from_iter_values(
                ms.iter().map(|m| m.content as i32),
            )),
            Arc::new(StringArray::from_iter_values(
                ms.iter().map(|m| m.manifest_path.as_str()),
            )),
            Arc::new(Int64Array::from_iter_values(
                ms.iter().map(|m| m.manifest_length),
            )),
            Arc::new(Int32Array::from_iter_values(
                ms.iter().map(|m| m.partition_spec_id),
            )),
            Arc::new(Int64Array::from_iter_values(
                ms.iter().map(|m| m.added_snapshot_id),
            )),
            Arc::new(
                ms.iter()
                    .map(|m| m.added_files_count)
                    .collect::<Int32Array>(),
            ),
            Arc::new(
                ms.iter()
                    .map(|m| m.existing_files_count)
                    .collect::<Int32Array>(),
            ),
            Arc::new(
                ms.iter()
                    .map(|m| m.deleted_files_count)
                    .collect::<Int32Array>(),
            ),
        ],
    )
}

#[derive(Default)]
struct PartitionRow {
    records: i64,
    files: i64,
    bytes: i64,
    delete_files: i64,
}

async fn partitions(table: &Table) -> Result<RecordBatch> {
    let mut parts: BTreeMap<(String, i32), PartitionRow> = BTreeMap::new();
    for m in table.manifests(None).await.map_err(to_df)? {
        for e in table.manifest_entries(&m).await.map_err(to_df)? {
            if !e.is_alive() {
                continue;
            }
            let p = partition_path(table, &e.data_file, m.partition_spec_id)?;
            let row = parts.entry((p, m.partition_spec_id)).or_default();
            if e.data_file.content == DataContentType::Data {
                row.records += e.data_file.record_count;
                row.files += 1;
                row.bytes += e.data_file.file_size_in_bytes;
            } else {
                row.delete_files += 1;
            }
        }
    }
    let rows: Vec<_> = parts.into_iter().collect();
    batch(
        vec![
            Field::new("partition", DataType::Utf8, false),
            Field::new("spec_id", DataType::Int32, false),
            Field::new("record_count", DataType::Int64, false),
            Field::new("file_count", DataType::Int64, false),
            Field::new("total_data_file_size_in_bytes", DataType::Int64, false),
            Field::new("delete_file_count", DataType::Int64, false),
        ],
        vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| r.0.0.as_str()),
            )),
            Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.0.1))),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.1.records),
            )),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1.files))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1.bytes))),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|r| r.1.delete_files),
            )),
        ],
    )
}

fn refs(table: &Table) -> Result<RecordBatch> {
    let refs: BTreeMap<_, _> = table.metadata().refs().iter().collect();
    let mut names = Vec::new();
    let mut kinds = Vec::new();
    let mut ids = Vec::new();
    let mut max_ref = Vec::new();
    let mut min_keep = Vec::new();
    let mut max_age = Vec::new();
    for (name, r) in refs {
        names.push(name.clone());
        ids.push(r.snapshot_id);
        match &r.retention {
            SnapshotRetention::Branch {
                min_snapshots_to_keep,
                max_snapshot_age_ms,
                max_ref_age_ms,
            } => {
                kinds.push("BRANCH");
                max_ref.push(*max_ref_age_ms);
                min_keep.push(*min_snapshots_to_keep);
                max_age.push(*max_snapshot_age_ms);
            }
            SnapshotRetention::Tag { max_ref_age_ms } => {
                kinds.push("TAG");
                max_ref.push(*max_ref_age_ms);
                min_keep.push(None);
                max_age.push(None);
            }
        }
    }
    batch(
        vec![
            Field::new("name", DataType::Utf8, false),
            Field::new("type", DataType::Utf8, false),
            Field::new("snapshot_id", DataType::Int64, false),
            Field::new("max_reference_age_in_ms", DataType::Int64, true),
            Field::new("min_snapshots_to_keep", DataType::Int32, true),
            Field::new("max_snapshot_age_in_ms", DataType::Int64, true),
        ],
        vec![
            Arc::new(StringArray::from_iter_values(names)),
            Arc::new(StringArray::from_iter_values(kinds)),
            Arc::new(Int64Array::from_iter_values(ids)),
            Arc::new(Int64Array::from(max_ref)),
            Arc::new(Int32Array::from(min_keep)),
            Arc::new(Int64Array::from(max_age)),
        ],
    )
}
