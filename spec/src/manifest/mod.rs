//! Manifests: the Avro files listing a snapshot's data and delete files with their
//! partition values and column metrics.
//!
//! - [`ManifestWriter`] builds a manifest's bytes (IO-free) and the
//!   [`ManifestFile`](crate::manifest_list::ManifestFile) entry describing it for the
//!   manifest list.
//! - [`Manifest::parse`] reads manifests written by Java, PyIceberg, iceberg-rust or
//!   Floe, v1 to v3, resolving fields by field id (by name when a writer left ids out).
//! - [`Manifest::inherit_from`] applies the spec's inheritance of snapshot ids, sequence
//!   numbers and first row ids from the manifest-list entry.
//! - [`DataFile::to_rest_json`] / [`DataFile::from_rest_json`]: the REST `DataFile` JSON.
//!
//! ```
//! use std::sync::Arc;
//! use floe_spec::manifest::*;
//! use floe_spec::partition::PartitionSpec;
//! use floe_spec::schema::Schema;
//! use floe_spec::table_metadata::FormatVersion;
//! use floe_spec::types::{NestedField, PrimitiveType, Type};
//!
//! let schema = Schema::builder()
//!     .with_fields(vec![NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long))])
//!     .build()
//!     .unwrap();
//! let metadata = ManifestMetadata {
//!     schema: Arc::new(schema),
//!     partition_spec: PartitionSpec::unpartitioned(),
//!     format_version: FormatVersion::V2,
//!     content: ManifestContentType::Data,
//! };
//! let mut writer = ManifestWriter::new(metadata, Some(7));
//! writer.add(DataFile::new(DataFileFormat::Parquet, "s3://b/t/data/a.parquet", 10, 1024)).unwrap();
//! let (bytes, list_entry) = writer.finish("s3://b/t/metadata/m0.avro").unwrap();
//! assert_eq!(list_entry.added_files_count, Some(1));
//!
//! let manifest = Manifest::parse(&bytes).unwrap();
//! assert_eq!(manifest.entries[0].data_file.record_count, 10);
//! assert_eq!(manifest.entries[0].status, ManifestStatus::Added);
//! ```

mod avro_io;
pub(crate) mod avro_schema;
mod column_map;
mod reader;
mod rest_json;
mod writer;

use std::fmt;

use crate::error::{Error, Result};
use crate::partition::PartitionSpec;
use crate::schema::SchemaRef;
use crate::table_metadata::FormatVersion;
use crate::values::Datum;

pub use avro_io::AvroCodec;
pub use column_map::{ColumnMap, Entry as ColumnMapEntry, Iter as ColumnMapIter};
pub use writer::ManifestWriter;

pub(crate) use avro_io::{Container, put_array, put_opt_int};
pub(crate) use avro_io::{
    ContainerWriter, Cursor, Names, Raw, field_id, put_bool, put_bytes, put_int, put_long,
    put_opt_bytes, put_opt_long, put_str, put_union_branch, read_array, read_opt_bool,
    read_opt_bytes, read_opt_int, read_opt_long, read_opt_str, skip,
};

/// A sequence number or snapshot id not assigned yet: manifests written for a commit
/// carry it until the manifest list assigns the commit's values (Java's
/// `ManifestWriter.UNASSIGNED_SEQ`).
pub const UNASSIGNED_SEQUENCE_NUMBER: i64 = -1;

/// What a data or delete file holds (data file field 134).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DataContentType {
    /// Table rows.
    #[default]
    Data = 0,
    /// Position deletes (or a deletion vector).
    PositionDeletes = 1,
    /// Equality deletes.
    EqualityDeletes = 2,
}

impl DataContentType {
    /// The REST JSON name: `data`, `position-deletes`, `equality-deletes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Data => "data",
            Self::PositionDeletes => "position-deletes",
            Self::EqualityDeletes => "equality-deletes",
        }
    }

    /// From the Avro int.
    pub fn from_i32(v: i32) -> Result<Self> {
        match v {
            0 => Ok(Self::Data),
            1 => Ok(Self::PositionDeletes),
            2 => Ok(Self::EqualityDeletes),
            other => Err(Error::invalid(format!(
                "invalid data file content {other}, expected 0, 1 or 2"
            ))),
        }
    }

    /// From the REST JSON name (case-insensitive; `_` accepted for `-`).
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "data" => Ok(Self::Data),
            "position-deletes" => Ok(Self::PositionDeletes),
            "equality-deletes" => Ok(Self::EqualityDeletes),
            _ => Err(Error::invalid(format!("invalid data file content `{s}`"))),
        }
    }
}

/// The format of a data or delete file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DataFileFormat {
    /// Apache Avro.
    Avro,
    /// Apache ORC.
    Orc,
    /// Apache Parquet.
    Parquet,
    /// Puffin (deletion vectors).
    Puffin,
}

impl DataFileFormat {
    /// The lowercase name written to manifests and REST JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Avro => "avro",
            Self::Orc => "orc",
            Self::Parquet => "parquet",
            Self::Puffin => "puffin",
        }
    }

    /// Parses a format name, ignoring ASCII case (Java writes `PARQUET`).
    pub fn parse(s: &str) -> Result<Self> {
        [Self::Avro, Self::Orc, Self::Parquet, Self::Puffin]
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::invalid(format!("unknown file format `{s}`")))
    }
}

impl fmt::Display for DataFileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of a manifest entry (field 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ManifestStatus {
    /// The file was added by an earlier snapshot and is still live.
    Existing = 0,
    /// The file was added by the manifest's snapshot.
    Added = 1,
    /// The file was removed by the manifest's snapshot.
    Deleted = 2,
}

impl ManifestStatus {
    /// From the Avro int.
    pub fn from_i32(v: i32) -> Result<Self> {
        match v {
            0 => Ok(Self::Existing),
            1 => Ok(Self::Added),
            2 => Ok(Self::Deleted),
            other => Err(Error::invalid(format!(
                "invalid manifest entry status {other}, expected 0, 1 or 2"
            ))),
        }
    }
}

/// What a manifest tracks (manifest-list field 517, manifest metadata `content`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ManifestContentType {
    /// Data files.
    #[default]
    Data = 0,
    /// Delete files.
    Deletes = 1,
}

impl ManifestContentType {
    /// The name in manifest metadata: `data` or `deletes`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Data => "data",
            Self::Deletes => "deletes",
        }
    }

    /// From the manifest metadata name.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "data" => Ok(Self::Data),
            "deletes" => Ok(Self::Deletes),
            other => Err(Error::invalid(format!(
                "invalid manifest content `{other}`, expected `data` or `deletes`"
            ))),
        }
    }

    /// From the manifest-list int.
    pub fn from_i32(v: i32) -> Result<Self> {
        match v {
            0 => Ok(Self::Data),
            1 => Ok(Self::Deletes),
            other => Err(Error::invalid(format!(
                "invalid manifest content {other}, expected 0 or 1"
            ))),
        }
    }
}

/// A data or delete file as tracked by a manifest (the `data_file` struct, field 2).
///
/// Metrics are [`ColumnMap`]s keyed by column field id (iterating in id order). Bounds are typed by the column's type in the
/// manifest's schema.
#[derive(Debug, Clone, PartialEq)]
pub struct DataFile {
    /// What the file holds (134).
    pub content: DataContentType,
    /// Full URI of the file (100).
    pub file_path: String,
    /// File format (101).
    pub file_format: DataFileFormat,
    /// Partition values in partition-spec field order (102); `None` is null.
    pub partition: Vec<Option<Datum>>,
    /// Number of rows, or of deletes for delete files (103).
    pub record_count: i64,
    /// File size (104).
    pub file_size_in_bytes: i64,
    /// Column id → bytes on disk (108).
    pub column_sizes: ColumnMap<i64>,
    /// Column id → values incl. nulls and NaNs (109).
    pub value_counts: ColumnMap<i64>,
    /// Column id → nulls (110).
    pub null_value_counts: ColumnMap<i64>,
    /// Column id → NaNs (137).
    pub nan_value_counts: ColumnMap<i64>,
    /// Column id → lower bound (125).
    pub lower_bounds: ColumnMap<Datum>,
    /// Column id → upper bound (128).
    pub upper_bounds: ColumnMap<Datum>,
    /// Encryption key metadata (131).
    pub key_metadata: Option<Vec<u8>>,
    /// Split offsets, ascending (132).
    pub split_offsets: Option<Vec<i64>>,
    /// Field ids of equality delete columns (135).
    pub equality_ids: Option<Vec<i32>>,
    /// Sort order id (140).
    pub sort_order_id: Option<i32>,
    /// The one data file all deletes of this delete file refer to (143).
    pub referenced_data_file: Option<String>,
    /// v3: row id of the first row (142).
    pub first_row_id: Option<i64>,
    /// v3 deletion vectors: blob offset in the Puffin file (144).
    pub content_offset: Option<i64>,
    /// v3 deletion vectors: blob length (145).
    pub content_size_in_bytes: Option<i64>,
}

impl DataFile {
    /// A data file with no partition values and no metrics.
    pub fn new(
        file_format: DataFileFormat,
        file_path: impl Into<String>,
        record_count: i64,
        file_size_in_bytes: i64,
    ) -> Self {
        Self {
            content: DataContentType::Data,
            file_path: file_path.into(),
            file_format,
            partition: Vec::new(),
            record_count,
            file_size_in_bytes,
            column_sizes: ColumnMap::new(),
            value_counts: ColumnMap::new(),
            null_value_counts: ColumnMap::new(),
            nan_value_counts: ColumnMap::new(),
            lower_bounds: ColumnMap::new(),
            upper_bounds: ColumnMap::new(),
            key_metadata: None,
            split_offsets: None,
            equality_ids: None,
            sort_order_id: None,
            referenced_data_file: None,
            first_row_id: None,
            content_offset: None,
            content_size_in_bytes: None,
        }
    }

    /// Sets the partition values.
    #[must_use]
    pub fn with_partition(mut self, partition: Vec<Option<Datum>>) -> Self {
        self.partition = partition;
        self
    }

    /// Sets the content type.
    #[must_use]
    pub fn with_content(mut self, content: DataContentType) -> Self {
        self.content = content;
        self
    }
}

/// One entry of a manifest: a file and its status.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestEntry {
    /// Whether the file was added, is existing, or was deleted.
    pub status: ManifestStatus,
    /// The snapshot that added or deleted the file; `None` ⇒ inherited from the
    /// manifest list (the manifest's `added_snapshot_id`).
    pub snapshot_id: Option<i64>,
    /// Data sequence number; `None` ⇒ inherited for ADDED entries (v1: 0).
    pub sequence_number: Option<i64>,
    /// File sequence number; `None` ⇒ inherited for ADDED entries (v1: 0).
    pub file_sequence_number: Option<i64>,
    /// The file.
    pub data_file: DataFile,
}

impl ManifestEntry {
    /// Whether the file is live (added or existing).
    pub fn is_alive(&self) -> bool {
        self.status != ManifestStatus::Deleted
    }

    /// Applies the spec's inheritance from the manifest-list entry of its manifest: a
    /// null snapshot id becomes the manifest's `added_snapshot_id`; null sequence
    /// numbers of ADDED entries (of any entry when the manifest's sequence number is 0,
    /// i.e. v1) become the manifest's `sequence_number`.
    pub fn inherit(&mut self, manifest: &crate::manifest_list::ManifestFile) {
        if self.snapshot_id.is_none() {
            self.snapshot_id = Some(manifest.added_snapshot_id);
        }
        let seq = manifest.sequence_number;
        let inherit = seq == 0 || self.status == ManifestStatus::Added;
        if inherit {
            if self.sequence_number.is_none() {
                self.sequence_number = Some(seq);
            }
            if self.file_sequence_number.is_none() {
                self.file_sequence_number = Some(seq);
            }
        }
    }
}

/// The key-value metadata of a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestMetadata {
    /// The table schema the manifest was written with (`schema`, `schema-id`).
    pub schema: SchemaRef,
    /// The partition spec of all files in the manifest (`partition-spec`,
    /// `partition-spec-id`).
    pub partition_spec: PartitionSpec,
    /// The table format version (`format-version`).
    pub format_version: FormatVersion,
    /// Data or delete files (`content`).
    pub content: ManifestContentType,
}

/// A parsed manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The manifest's metadata.
    pub metadata: ManifestMetadata,
    /// The entries, in file order.
    pub entries: Vec<ManifestEntry>,
}

impl Manifest {
    /// Applies inheritance from the manifest's manifest-list entry to every entry (see
    /// [`ManifestEntry::inherit`]), and, when the manifest has a `first_row_id` (v3),
    /// assigns first row ids to data files that have none: the manifest's value plus the
    /// record counts of the preceding such files.
    pub fn inherit_from(&mut self, manifest: &crate::manifest_list::ManifestFile) {
        let mut next_row_id = manifest.first_row_id;
        for e in &mut self.entries {
            e.inherit(manifest);
            if let Some(next) = next_row_id.as_mut()
                && e.data_file.content == DataContentType::Data
                && e.data_file.first_row_id.is_none()
            {
                e.data_file.first_row_id = Some(*next);
                *next = next.saturating_add(e.data_file.record_count);
            }
        }
    }

    /// The entries with inheritance applied (see [`Manifest::inherit_from`]).
    pub fn into_entries_inheriting(
        mut self,
        manifest: &crate::manifest_list::ManifestFile,
    ) -> Vec<ManifestEntry> {
        self.inherit_from(manifest);
        self.entries
    }
}

#[cfg(test)]
mod tests;
