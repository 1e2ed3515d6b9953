//! [`ManifestWriter`]: builds the bytes of a manifest and its manifest-list entry.

use super::ColumnMap;

use super::avro_schema::{check_partition_type, decimal_required_bytes, manifest_entry_schema};
use super::{
    AvroCodec, ContainerWriter, DataContentType, DataFile, ManifestContentType, ManifestEntry,
    ManifestMetadata, ManifestStatus, UNASSIGNED_SEQUENCE_NUMBER, put_array, put_bool, put_bytes,
    put_int, put_long, put_opt_bytes, put_opt_int, put_opt_long, put_str, put_union_branch,
};
use crate::error::{Error, Result};
use crate::manifest_list::{FieldSummary, ManifestFile};
use crate::table_metadata::FormatVersion;
use crate::types::{PrimitiveType, StructType};
use crate::values::Datum;

/// `block_size_in_bytes` written to v1 manifests (Java writes 64 MiB).
const V1_BLOCK_SIZE: i64 = 64 * 1024 * 1024;

/// Writes one manifest, IO-free: collect entries, then [`ManifestWriter::finish`] returns
/// the Avro bytes and the [`ManifestFile`] to put in a manifest list.
///
/// Like Java's writer, ADDED entries are written with null sequence numbers (inherited
/// from the manifest list), and the returned [`ManifestFile`] has
/// `sequence_number` = [`UNASSIGNED_SEQUENCE_NUMBER`]; `min_sequence_number` is the
/// lowest explicit data sequence number of a live entry, or unassigned too. The
/// [`ManifestListWriter`](crate::manifest_list::ManifestListWriter) replaces unassigned
/// values with the snapshot's sequence number. Without a snapshot id,
/// `added_snapshot_id` is unassigned (−1) and filled in by the manifest-list writer.
#[derive(Debug)]
pub struct ManifestWriter {
    metadata: ManifestMetadata,
    snapshot_id: Option<i64>,
    partition_type: std::result::Result<StructType, String>,
    codec: AvroCodec,
    entries: Vec<ManifestEntry>,
    added: (i32, i64),
    existing: (i32, i64),
    deleted: (i32, i64),
    min_sequence_number: Option<i64>,
    summaries: Vec<FieldSummary>,
}

impl ManifestWriter {
    /// A writer for a manifest with this metadata, for the snapshot `snapshot_id`
    /// (written into ADDED and DELETED entries; `None` leaves them to inheritance).
    pub fn new(metadata: ManifestMetadata, snapshot_id: Option<i64>) -> Self {
        let partition_type = metadata
            .partition_spec
            .partition_type(&metadata.schema)
            .and_then(|t| check_partition_type(&t).map(|()| t))
            .map_err(|e| e.message().to_string());
        let n = partition_type.as_ref().map_or(0, StructType::len);
        Self {
            metadata,
            snapshot_id,
            partition_type,
            codec: AvroCodec::default(),
            entries: Vec::new(),
            added: (0, 0),
            existing: (0, 0),
            deleted: (0, 0),
            min_sequence_number: None,
            summaries: vec![
                FieldSummary {
                    contains_nan: Some(false),
                    ..FieldSummary::default()
                };
                n
            ],
        }
    }

    /// Sets the compression codec (default deflate).
    #[must_use]
    pub fn with_codec(mut self, codec: AvroCodec) -> Self {
        self.codec = codec;
        self
    }

    /// The manifest's metadata.
    pub fn metadata(&self) -> &ManifestMetadata {
        &self.metadata
    }

    /// Number of entries so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry was added yet.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a file added by this snapshot (status ADDED, sequence numbers inherited).
    pub fn add(&mut self, data_file: DataFile) -> Result<()> {
        self.add_entry(ManifestEntry {
            status: ManifestStatus::Added,
            snapshot_id: self.snapshot_id,
            sequence_number: None,
            file_sequence_number: None,
            data_file,
        })
    }

    /// Adds a file that stays live, keeping the snapshot that added it and its
    /// sequence numbers.
    pub fn existing(
        &mut self,
        data_file: DataFile,
        snapshot_id: i64,
        sequence_number: i64,
        file_sequence_number: Option<i64>,
    ) -> Result<()> {
        self.add_entry(ManifestEntry {
            status: ManifestStatus::Existing,
            snapshot_id: Some(snapshot_id),
            sequence_number: Some(sequence_number),
            file_sequence_number,
            data_file,
        })
    }

    /// Adds a file removed by this snapshot, keeping its sequence numbers.
    pub fn delete(
        &mut self,
        data_file: DataFile,
        sequence_number: i64,
        file_sequence_number: Option<i64>,
    ) -> Result<()> {
        self.add_entry(ManifestEntry {
            status: ManifestStatus::Deleted,
            snapshot_id: self.snapshot_id,
            sequence_number: Some(sequence_number),
            file_sequence_number,
            data_file,
        })
    }

    /// Adds an entry as is, after checking it fits the manifest: partition values of the
    /// spec's types, content matching the manifest's content, equality ids on equality
    /// deletes, explicit sequence numbers on EXISTING and DELETED entries (v2+).
    pub fn add_entry(&mut self, entry: ManifestEntry) -> Result<()> {
        let partition_type = self
            .partition_type
            .as_ref()
            .map_err(|m| Error::invalid(m.clone()))?;
        let file = &entry.data_file;
        let path = &file.file_path;
        match (self.metadata.content, file.content) {
            (ManifestContentType::Data, DataContentType::Data)
            | (
                ManifestContentType::Deletes,
                DataContentType::PositionDeletes | DataContentType::EqualityDeletes,
            ) => {}
            (m, c) => bail_invalid!(
                "file `{path}` with content {} cannot go into a {} manifest",
                c.as_str(),
                m.as_str()
            ),
        }
        if file.record_count < 0 || file.file_size_in_bytes < 0 {
            bail_invalid!(
                "file `{path}` has a negative record_count ({}) or file_size_in_bytes ({})",
                file.record_count,
                file.file_size_in_bytes
            );
        }
        if file.content == DataContentType::EqualityDeletes && file.equality_ids.is_none() {
            bail_invalid!("equality delete file `{path}` has no equality_ids");
        }
        if self.metadata.format_version >= FormatVersion::V2
            && entry.status != ManifestStatus::Added
            && entry.sequence_number.is_none()
        {
            bail_invalid!(
                "{:?} entry for `{path}` needs an explicit sequence number",
                entry.status
            );
        }
        if file.partition.len() != partition_type.len() {
            bail_invalid!(
                "file `{path}` has {} partition values, spec {} has {} fields",
                file.partition.len(),
                self.metadata.partition_spec.spec_id,
                partition_type.len()
            );
        }
        for (value, field) in file.partition.iter().zip(partition_type.fields()) {
            if let (Some(d), Some(ty)) = (value, field.field_type.as_primitive())
                && d.data_type() != *ty
            {
                bail_invalid!(
                    "file `{path}`: partition value {d} of field `{}` must have type {ty}, not {}",
                    field.name,
                    d.data_type()
                );
            }
        }
        // Counts and summaries.
        let counter = match entry.status {
            ManifestStatus::Added => &mut self.added,
            ManifestStatus::Existing => &mut self.existing,
            ManifestStatus::Deleted => &mut self.deleted,
        };
        counter.0 = counter.0.saturating_add(1);
        counter.1 = counter.1.saturating_add(file.record_count);
        if entry.is_alive()
            && let Some(seq) = entry.sequence_number
        {
            self.min_sequence_number = Some(self.min_sequence_number.map_or(seq, |m| m.min(seq)));
        }
        for (acc, value) in self.summaries.iter_mut().zip(&file.partition) {
            update_summary(acc, value.as_ref());
        }
        self.entries.push(entry);
        Ok(())
    }

    /// Encodes the manifest. Returns its bytes and its manifest-list entry (length =
    /// bytes length, counts, partition summaries; sequence number unassigned).
    pub fn finish(self, manifest_path: &str) -> Result<(Vec<u8>, ManifestFile)> {
        let partition_type = self.partition_type.map_err(Error::invalid)?;
        let md = &self.metadata;
        let version = md.format_version;
        if version == FormatVersion::V1 && md.content == ManifestContentType::Deletes {
            return Err(Error::invalid("v1 tables have no delete manifests"));
        }
        let schema_json = manifest_entry_schema(version, &partition_type).to_string();
        let spec_fields = serde_json::to_string(&md.partition_spec.fields)?;
        let kv = [
            ("schema", md.schema.to_json().to_string()),
            ("schema-id", md.schema.schema_id().to_string()),
            ("partition-spec", spec_fields),
            ("partition-spec-id", md.partition_spec.spec_id.to_string()),
            ("format-version", md.format_version.number().to_string()),
            ("content", md.content.as_str().to_string()),
        ];
        let mut w = ContainerWriter::new(&schema_json, &kv, self.codec);
        let types: Vec<PrimitiveType> = partition_type
            .fields()
            .iter()
            .map(|f| {
                f.field_type
                    .as_primitive()
                    .cloned()
                    .unwrap_or(PrimitiveType::Unknown)
            })
            .collect();
        for e in &self.entries {
            encode_entry(w.record_buf(), e, version, &types)?;
            w.end_record()?;
        }
        let bytes = w.finish()?;
        let manifest = ManifestFile {
            manifest_path: manifest_path.to_string(),
            manifest_length: bytes.len() as i64,
            partition_spec_id: md.partition_spec.spec_id,
            content: md.content,
            sequence_number: UNASSIGNED_SEQUENCE_NUMBER,
            min_sequence_number: self
                .min_sequence_number
                .unwrap_or(UNASSIGNED_SEQUENCE_NUMBER),
            added_snapshot_id: self.snapshot_id.unwrap_or(UNASSIGNED_SEQUENCE_NUMBER),
            added_files_count: Some(self.added.0),
            existing_files_count: Some(self.existing.0),
            deleted_files_count: Some(self.deleted.0),
            added_rows_count: Some(self.added.1),
            existing_rows_count: Some(self.existing.1),
            deleted_rows_count: Some(self.deleted.1),
            partitions: Some(self.summaries),
            key_metadata: None,
            first_row_id: None,
        };
        Ok((bytes, manifest))
    }
}

fn update_summary(acc: &mut FieldSummary, value: Option<&Datum>) {
    match value {
        None => acc.contains_null = true,
        Some(d) if d.is_nan() => acc.contains_nan = Some(true),
        Some(d) => {
            if acc.lower_bound.as_ref().is_none_or(|l| d < l) {
                acc.lower_bound = Some(d.clone());
            }
            if acc.upper_bound.as_ref().is_none_or(|u| d > u) {
                acc.upper_bound = Some(d.clone());
            }
        }
    }
}

fn put_count_map(buf: &mut Vec<u8>, m: &ColumnMap<i64>) {
    put_union_branch(buf, !m.is_empty());
    if !m.is_empty() {
        put_array(buf, m.as_slice(), |b, (k, v)| {
            put_int(b, *k);
            put_long(b, *v);
        });
    }
}

fn put_bound_map(buf: &mut Vec<u8>, m: &ColumnMap<Datum>) {
    put_union_branch(buf, !m.is_empty());
    if !m.is_empty() {
        put_array(buf, m.as_slice(), |b, (k, v)| {
            put_int(b, *k);
            put_bytes(b, &v.to_bytes());
        });
    }
}

/// Encodes a partition value of type `ty` (its type was checked on add).
fn put_datum(buf: &mut Vec<u8>, d: &Datum, ty: &PrimitiveType) -> Result<()> {
    match d {
        Datum::Boolean(b) => put_bool(buf, *b),
        Datum::Int(v) | Datum::Date(v) => put_int(buf, *v),
        Datum::Long(v)
        | Datum::Time(v)
        | Datum::Timestamp(v)
        | Datum::Timestamptz(v)
        | Datum::TimestampNs(v)
        | Datum::TimestamptzNs(v) => put_long(buf, *v),
        Datum::Float(v) => buf.extend_from_slice(&v.to_le_bytes()),
        Datum::Double(v) => buf.extend_from_slice(&v.to_le_bytes()),
        Datum::String(s) => put_str(buf, s),
        Datum::Binary(b) => put_bytes(buf, b),
        Datum::Fixed(b) => buf.extend_from_slice(b),
        Datum::Uuid(u) => buf.extend_from_slice(u.as_bytes()),
        Datum::Decimal { unscaled, .. } => {
            let PrimitiveType::Decimal { precision, .. } = ty else {
                bail_invalid!("decimal value {d} for a {ty} partition field");
            };
            let size = decimal_required_bytes(*precision);
            if size < 16 {
                let half = 1i128 << (8 * size - 1);
                if *unscaled < -half || *unscaled >= half {
                    bail_invalid!("decimal value {d} does not fit precision {precision}");
                }
            }
            let be = unscaled.to_be_bytes();
            buf.extend_from_slice(be.get(16 - size..).unwrap_or(&be));
        }
    }
    Ok(())
}

fn encode_entry(
    buf: &mut Vec<u8>,
    e: &ManifestEntry,
    version: FormatVersion,
    partition_types: &[PrimitiveType],
) -> Result<()> {
    let f = &e.data_file;
    put_int(buf, e.status as i32);
    put_opt_long(buf, e.snapshot_id);
    if version >= FormatVersion::V2 {
        put_opt_long(buf, e.sequence_number);
        put_opt_long(buf, e.file_sequence_number);
        put_int(buf, f.content as i32);
    }
    put_str(buf, &f.file_path);
    put_str(buf, f.file_format.as_str());
    for (value, ty) in f.partition.iter().zip(partition_types) {
        if *ty == PrimitiveType::Unknown {
            continue;
        }
        put_union_branch(buf, value.is_some());
        if let Some(d) = value {
            put_datum(buf, d, ty)?;
        }
    }
    put_long(buf, f.record_count);
    put_long(buf, f.file_size_in_bytes);
    if version == FormatVersion::V1 {
        put_long(buf, V1_BLOCK_SIZE);
    }
    put_count_map(buf, &f.column_sizes);
    put_count_map(buf, &f.value_counts);
    put_count_map(buf, &f.null_value_counts);
    put_count_map(buf, &f.nan_value_counts);
    put_bound_map(buf, &f.lower_bounds);
    put_bound_map(buf, &f.upper_bounds);
    put_opt_bytes(buf, f.key_metadata.as_deref());
    put_union_branch(buf, f.split_offsets.is_some());
    if let Some(offsets) = &f.split_offsets {
        put_array(buf, offsets, |b, v| put_long(b, *v));
    }
    if version >= FormatVersion::V2 {
        put_union_branch(buf, f.equality_ids.is_some());
        if let Some(ids) = &f.equality_ids {
            put_array(buf, ids, |b, v| put_int(b, *v));
        }
    }
    put_opt_int(buf, f.sort_order_id);
    if version >= FormatVersion::V3 {
        put_opt_long(buf, f.first_row_id);
    }
    if version >= FormatVersion::V2 {
        super::avro_io::put_opt_str(buf, f.referenced_data_file.as_deref());
    }
    if version >= FormatVersion::V3 {
        put_opt_long(buf, f.content_offset);
        put_opt_long(buf, f.content_size_in_bytes);
    }
    Ok(())
}
