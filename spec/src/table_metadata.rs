//! Table metadata: the JSON document a catalog row points to.
//!
//! [`TableMetadata`] is the clean domain type; it is read from v1, v2 and v3 JSON
//! ([`TableMetadata::from_json_slice`], plain or gzip-compressed) and written in the
//! table's own format version ([`TableMetadata::to_json_vec`]). The codec lives in the
//! private `json` submodule; its rules are listed there and on those functions.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::partition::PartitionSpecRef;
use crate::schema::SchemaRef;
use crate::snapshot::{MAIN_BRANCH, SnapshotRef, SnapshotReference};
use crate::sort::SortOrderRef;

mod json;

pub(crate) use json::SnapshotJsonCache;
pub use json::{IGNORED_FIELDS, MAX_DECOMPRESSED_METADATA_BYTES};

/// Table format versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FormatVersion {
    /// Version 1: analytic tables.
    V1 = 1,
    /// Version 2: row-level deletes.
    V2 = 2,
    /// Version 3: row lineage, deletion vectors, new types.
    V3 = 3,
}

impl FormatVersion {
    /// The version number.
    pub fn number(self) -> u8 {
        self as u8
    }
}

impl TryFrom<i64> for FormatVersion {
    type Error = crate::Error;

    fn try_from(v: i64) -> crate::Result<Self> {
        match v {
            1 => Ok(FormatVersion::V1),
            2 => Ok(FormatVersion::V2),
            3 => Ok(FormatVersion::V3),
            other => Err(crate::Error::unsupported(format!(
                "unsupported table format-version {other}"
            ))),
        }
    }
}

/// An entry of the snapshot log: when a snapshot became current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SnapshotLog {
    /// The snapshot.
    pub snapshot_id: i64,
    /// When it became current.
    pub timestamp_ms: i64,
}

/// An entry of the metadata log: a previous metadata file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct MetadataLog {
    /// Location of the previous metadata file.
    pub metadata_file: String,
    /// Its `last-updated-ms`.
    pub timestamp_ms: i64,
}

/// A Puffin statistics file of a snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct StatisticsFile {
    /// The snapshot the statistics describe.
    pub snapshot_id: i64,
    /// Location of the Puffin file.
    pub statistics_path: String,
    /// Size of the file.
    pub file_size_in_bytes: i64,
    /// Size of the footer.
    pub file_footer_size_in_bytes: i64,
    /// Base64 key metadata for encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_metadata: Option<String>,
    /// The blobs in the file.
    #[serde(default)]
    pub blob_metadata: Vec<BlobMetadata>,
}

/// Metadata of one blob in a statistics file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct BlobMetadata {
    /// The blob type, e.g. `apache-datasketches-theta-v1`.
    #[serde(rename = "type")]
    pub blob_type: String,
    /// The snapshot the blob was computed from.
    pub snapshot_id: i64,
    /// The sequence number of that snapshot.
    pub sequence_number: i64,
    /// The fields the blob covers.
    pub fields: Vec<i32>,
    /// Other properties.
    #[serde(default, skip_serializing_if = "HashMap::is_empty")]
    pub properties: HashMap<String, String>,
}

/// A partition statistics file of a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PartitionStatisticsFile {
    /// The snapshot.
    pub snapshot_id: i64,
    /// Location of the file.
    pub statistics_path: String,
    /// Size of the file.
    pub file_size_in_bytes: i64,
}

/// The metadata of a table at one version. Immutable: changes go through
/// [`crate::commit`], which produces a new value.
#[derive(Debug, Clone, PartialEq)]
pub struct TableMetadata {
    pub(crate) format_version: FormatVersion,
    pub(crate) table_uuid: Uuid,
    pub(crate) location: String,
    pub(crate) last_sequence_number: i64,
    pub(crate) last_updated_ms: i64,
    pub(crate) last_column_id: i32,
    pub(crate) schemas: HashMap<i32, SchemaRef>,
    pub(crate) current_schema_id: i32,
    pub(crate) partition_specs: HashMap<i32, PartitionSpecRef>,
    pub(crate) default_spec_id: i32,
    pub(crate) last_partition_id: i32,
    pub(crate) properties: HashMap<String, String>,
    pub(crate) current_snapshot_id: Option<i64>,
    pub(crate) snapshots: HashMap<i64, SnapshotRef>,
    pub(crate) snapshot_log: Vec<SnapshotLog>,
    pub(crate) metadata_log: Vec<MetadataLog>,
    pub(crate) sort_orders: HashMap<i64, SortOrderRef>,
    pub(crate) default_sort_order_id: i64,
    pub(crate) refs: HashMap<String, SnapshotReference>,
    pub(crate) statistics: Vec<StatisticsFile>,
    pub(crate) partition_statistics: Vec<PartitionStatisticsFile>,
    /// v3 only.
    pub(crate) next_row_id: Option<i64>,
    /// Serialized snapshots, shared with the metadata this one was built from.
    pub(crate) snapshot_json: SnapshotJsonCache,
}

impl TableMetadata {
    /// The format version.
    pub fn format_version(&self) -> FormatVersion {
        self.format_version
    }

    /// The table UUID.
    pub fn table_uuid(&self) -> Uuid {
        self.table_uuid
    }

    /// The table's base location (no trailing `/`).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The highest sequence number assigned.
    pub fn last_sequence_number(&self) -> i64 {
        self.last_sequence_number
    }

    /// When the metadata was last changed, ms from the epoch.
    pub fn last_updated_ms(&self) -> i64 {
        self.last_updated_ms
    }

    /// The highest column id ever assigned.
    pub fn last_column_id(&self) -> i32 {
        self.last_column_id
    }

    /// All schemas by id.
    pub fn schemas(&self) -> &HashMap<i32, SchemaRef> {
        &self.schemas
    }

    /// A schema by id.
    pub fn schema_by_id(&self, id: i32) -> Option<&SchemaRef> {
        self.schemas.get(&id)
    }

    /// The current schema.
    pub fn current_schema(&self) -> &SchemaRef {
        self.schemas
            .get(&self.current_schema_id)
            .expect("validated metadata has its current schema")
    }

    /// The current schema id.
    pub fn current_schema_id(&self) -> i32 {
        self.current_schema_id
    }

    /// All partition specs by id.
    pub fn partition_specs(&self) -> &HashMap<i32, PartitionSpecRef> {
        &self.partition_specs
    }

    /// A partition spec by id.
    pub fn partition_spec_by_id(&self, id: i32) -> Option<&PartitionSpecRef> {
        self.partition_specs.get(&id)
    }

    /// The default partition spec (used by new writes).
    pub fn default_partition_spec(&self) -> &PartitionSpecRef {
        self.partition_specs
            .get(&self.default_spec_id)
            .expect("validated metadata has its default spec")
    }

    /// The default spec id.
    pub fn default_spec_id(&self) -> i32 {
        self.default_spec_id
    }

    /// The highest partition field id ever assigned.
    pub fn last_partition_id(&self) -> i32 {
        self.last_partition_id
    }

    /// Table properties.
    pub fn properties(&self) -> &HashMap<String, String> {
        &self.properties
    }

    /// The current snapshot id of `main`, if any.
    pub fn current_snapshot_id(&self) -> Option<i64> {
        self.current_snapshot_id
    }

    /// The current snapshot of `main`, if any.
    pub fn current_snapshot(&self) -> Option<&SnapshotRef> {
        self.current_snapshot_id
            .and_then(|id| self.snapshots.get(&id))
    }

    /// All snapshots by id.
    pub fn snapshots(&self) -> &HashMap<i64, SnapshotRef> {
        &self.snapshots
    }

    /// A snapshot by id.
    pub fn snapshot_by_id(&self, id: i64) -> Option<&SnapshotRef> {
        self.snapshots.get(&id)
    }

    /// The snapshot a ref points to.
    pub fn snapshot_for_ref(&self, name: &str) -> Option<&SnapshotRef> {
        self.refs
            .get(name)
            .and_then(|r| self.snapshots.get(&r.snapshot_id))
    }

    /// The snapshot log.
    pub fn snapshot_log(&self) -> &[SnapshotLog] {
        &self.snapshot_log
    }

    /// The metadata log.
    pub fn metadata_log(&self) -> &[MetadataLog] {
        &self.metadata_log
    }

    /// All sort orders by id.
    pub fn sort_orders(&self) -> &HashMap<i64, SortOrderRef> {
        &self.sort_orders
    }

    /// A sort order by id.
    pub fn sort_order_by_id(&self, id: i64) -> Option<&SortOrderRef> {
        self.sort_orders.get(&id)
    }

    /// The default sort order.
    pub fn default_sort_order(&self) -> &SortOrderRef {
        self.sort_orders
            .get(&self.default_sort_order_id)
            .expect("validated metadata has its default sort order")
    }

    /// The default sort order id.
    pub fn default_sort_order_id(&self) -> i64 {
        self.default_sort_order_id
    }

    /// Branches and tags by name.
    pub fn refs(&self) -> &HashMap<String, SnapshotReference> {
        &self.refs
    }

    /// Statistics files.
    pub fn statistics(&self) -> &[StatisticsFile] {
        &self.statistics
    }

    /// Partition statistics files.
    pub fn partition_statistics(&self) -> &[PartitionStatisticsFile] {
        &self.partition_statistics
    }

    /// v3: the next row id to assign.
    pub fn next_row_id(&self) -> Option<i64> {
        self.next_row_id
    }

    /// Whether `main` has a snapshot.
    pub fn has_main(&self) -> bool {
        self.refs.contains_key(MAIN_BRANCH)
    }
}

impl TableMetadata {
    /// Checks the invariants every table metadata must hold; errors name the broken
    /// one. Called after parsing and after every `apply`.
    pub fn validate(&self) -> crate::Result<()> {
        use crate::Error;
        if self.location.is_empty() {
            return Err(Error::invalid("table metadata: `location` is empty"));
        }
        if !self.schemas.contains_key(&self.current_schema_id) {
            return Err(Error::invalid(format!(
                "table metadata: current-schema-id {} is not in `schemas`",
                self.current_schema_id
            )));
        }
        for schema in self.schemas.values() {
            if schema.highest_field_id() > self.last_column_id {
                return Err(Error::invalid(format!(
                    "table metadata: schema {} has field id {} above last-column-id {}",
                    schema.schema_id(),
                    schema.highest_field_id(),
                    self.last_column_id
                )));
            }
        }
        if !self.partition_specs.contains_key(&self.default_spec_id) {
            return Err(Error::invalid(format!(
                "table metadata: default-spec-id {} is not in `partition-specs`",
                self.default_spec_id
            )));
        }
        for spec in self.partition_specs.values() {
            if let Some(max) = spec.highest_field_id()
                && max > self.last_partition_id
            {
                return Err(Error::invalid(format!(
                    "table metadata: partition spec {} has field id {max} above last-partition-id {}",
                    spec.spec_id, self.last_partition_id
                )));
            }
        }
        if !self.sort_orders.contains_key(&self.default_sort_order_id) {
            return Err(Error::invalid(format!(
                "table metadata: default-sort-order-id {} is not in `sort-orders`",
                self.default_sort_order_id
            )));
        }
        for (name, r) in &self.refs {
            if !self.snapshots.contains_key(&r.snapshot_id) {
                return Err(Error::invalid(format!(
                    "table metadata: ref `{name}` points to unknown snapshot {}",
                    r.snapshot_id
                )));
            }
        }
        let main = self.refs.get(MAIN_BRANCH).map(|r| r.snapshot_id);
        if main.is_some() && main != self.current_snapshot_id {
            return Err(Error::invalid(format!(
                "table metadata: current-snapshot-id {:?} differs from the main branch {:?}",
                self.current_snapshot_id, main
            )));
        }
        if let Some(id) = self.current_snapshot_id
            && !self.snapshots.contains_key(&id)
        {
            return Err(Error::invalid(format!(
                "table metadata: current-snapshot-id {id} is not in `snapshots`"
            )));
        }
        if self.format_version >= FormatVersion::V2 {
            for s in self.snapshots.values() {
                if s.sequence_number > self.last_sequence_number {
                    return Err(Error::invalid(format!(
                        "table metadata: snapshot {} has sequence-number {} above last-sequence-number {}",
                        s.snapshot_id, s.sequence_number, self.last_sequence_number
                    )));
                }
            }
        }
        if self.format_version >= FormatVersion::V3 && self.next_row_id.is_none() {
            return Err(Error::invalid(
                "table metadata: format-version 3 requires `next-row-id`",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
impl TableMetadata {
    /// A small valid table for tests in any module: schema 0 (`1: id long required`,
    /// `2: data string`), spec 0 bucketing `id` into 16 (field 1000), the unsorted order,
    /// no snapshots, location `s3://bucket/db/table`, and `next-row-id` 0 in v3.
    pub(crate) fn for_tests(format_version: FormatVersion) -> TableMetadata {
        use crate::partition::{PartitionField, PartitionSpec};
        use crate::schema::Schema;
        use crate::sort::SortOrder;
        use crate::transform::Transform;
        use crate::types::{NestedField, PrimitiveType};
        use std::sync::Arc;

        let schema = Schema::builder()
            .with_schema_id(0)
            .with_fields(vec![
                NestedField::required(1, "id", PrimitiveType::Long.into()),
                NestedField::optional(2, "data", PrimitiveType::String.into()),
            ])
            .build()
            .unwrap();
        let spec = PartitionSpec {
            spec_id: 0,
            fields: vec![PartitionField {
                source_id: 1,
                field_id: 1000,
                name: "id_bucket".into(),
                transform: Transform::Bucket(16),
            }],
        };
        TableMetadata {
            format_version,
            table_uuid: Uuid::from_u128(0x9c12_d441_03fe_4693_9a96_a070_5ddf_69c1),
            location: "s3://bucket/db/table".into(),
            last_sequence_number: 0,
            last_updated_ms: 1_700_000_000_000,
            last_column_id: 2,
            schemas: HashMap::from([(0, Arc::new(schema))]),
            current_schema_id: 0,
            partition_specs: HashMap::from([(0, Arc::new(spec))]),
            default_spec_id: 0,
            last_partition_id: 1000,
            properties: HashMap::new(),
            current_snapshot_id: None,
            snapshots: HashMap::new(),
            snapshot_log: Vec::new(),
            metadata_log: Vec::new(),
            sort_orders: HashMap::from([(0, Arc::new(SortOrder::unsorted()))]),
            default_sort_order_id: 0,
            refs: HashMap::new(),
            statistics: Vec::new(),
            partition_statistics: Vec::new(),
            next_row_id: (format_version >= FormatVersion::V3).then_some(0),
            snapshot_json: SnapshotJsonCache::default(),
        }
    }
}
