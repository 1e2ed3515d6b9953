//! Manifest lists: the Avro file a snapshot points to, listing its manifests with
//! counts and partition summaries.
//!
//! - [`ManifestListWriter`] writes a list for a snapshot, assigning the snapshot's
//!   sequence number to manifests written for it (those with
//!   [`UNASSIGNED_SEQUENCE_NUMBER`]) and, in v3, first row ids to data manifests.
//! - [`ManifestList::parse`] reads lists of every format version (v1 lists carry no
//!   sequence numbers: they read as 0).
//!
//! Partition summary bounds are stored as Appendix D bytes; typing them needs the
//! partition type of each manifest's spec, which the caller passes in
//! ([`ManifestList::partition_types`] computes them from table metadata).

use std::collections::HashMap;

use apache_avro::Schema as AvroSchema;

use crate::error::{Error, Result};
use crate::manifest::avro_schema::manifest_list_schema;
use crate::manifest::{
    AvroCodec, Container, ContainerWriter, Cursor, ManifestContentType, Names,
    UNASSIGNED_SEQUENCE_NUMBER, field_id, put_array, put_bool, put_int, put_long, put_opt_bytes,
    put_opt_long, put_str, put_union_branch, read_array, read_opt_bool, read_opt_bytes,
    read_opt_int, read_opt_long, read_opt_str, skip,
};
use crate::table_metadata::{FormatVersion, TableMetadata};
use crate::types::{PrimitiveType, StructType};
use crate::values::Datum;

/// Summary of one partition field over all files of a manifest (manifest-list field
/// 508), used to skip whole manifests during planning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSummary {
    /// Whether any file has a null value for the field (509).
    pub contains_null: bool,
    /// Whether any file has a NaN value for the field (518), if known.
    pub contains_nan: Option<bool>,
    /// Lowest non-null, non-NaN value (510), if any.
    pub lower_bound: Option<Datum>,
    /// Highest non-null, non-NaN value (511), if any.
    pub upper_bound: Option<Datum>,
}

/// One entry of a manifest list: a manifest and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestFile {
    /// Location of the manifest (500).
    pub manifest_path: String,
    /// Its length in bytes (501).
    pub manifest_length: i64,
    /// The partition spec of its files (502).
    pub partition_spec_id: i32,
    /// Data or delete files (517; v1: data).
    pub content: ManifestContentType,
    /// Sequence number of the snapshot that added it (515); v1 lists read as 0;
    /// [`UNASSIGNED_SEQUENCE_NUMBER`] until a manifest list assigns it.
    pub sequence_number: i64,
    /// Lowest data sequence number of its live files (516); same conventions.
    pub min_sequence_number: i64,
    /// The snapshot that added it (503); [`UNASSIGNED_SEQUENCE_NUMBER`] until assigned.
    pub added_snapshot_id: i64,
    /// ADDED entries (504); may be absent in v1 lists.
    pub added_files_count: Option<i32>,
    /// EXISTING entries (505).
    pub existing_files_count: Option<i32>,
    /// DELETED entries (506).
    pub deleted_files_count: Option<i32>,
    /// Rows of ADDED entries (512).
    pub added_rows_count: Option<i64>,
    /// Rows of EXISTING entries (513).
    pub existing_rows_count: Option<i64>,
    /// Rows of DELETED entries (514).
    pub deleted_rows_count: Option<i64>,
    /// One summary per partition field (507), if known.
    pub partitions: Option<Vec<FieldSummary>>,
    /// Encryption key metadata (519).
    pub key_metadata: Option<Vec<u8>>,
    /// v3: first row id of the manifest's data files without one (520).
    pub first_row_id: Option<i64>,
}

impl ManifestFile {
    /// Whether the manifest has ADDED entries (true when unknown).
    pub fn has_added_files(&self) -> bool {
        self.added_files_count.is_none_or(|n| n > 0)
    }

    /// Whether the manifest has EXISTING entries (true when unknown).
    pub fn has_existing_files(&self) -> bool {
        self.existing_files_count.is_none_or(|n| n > 0)
    }

    /// Whether the manifest has DELETED entries (true when unknown).
    pub fn has_deleted_files(&self) -> bool {
        self.deleted_files_count.is_none_or(|n| n > 0)
    }
}

/// The key-value metadata of a manifest list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestListMetadata {
    /// `snapshot-id`.
    pub snapshot_id: Option<i64>,
    /// `parent-snapshot-id` (`"null"` ⇒ `None`).
    pub parent_snapshot_id: Option<i64>,
    /// `sequence-number` (absent in v1 ⇒ `None`).
    pub sequence_number: Option<i64>,
    /// `format-version` (absent ⇒ v1).
    pub format_version: FormatVersion,
}

/// A parsed manifest list.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestList {
    /// The list's metadata.
    pub metadata: ManifestListMetadata,
    /// The manifests, in file order.
    pub entries: Vec<ManifestFile>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListField {
    Path,
    Length,
    SpecId,
    Content,
    SequenceNumber,
    MinSequenceNumber,
    SnapshotId,
    AddedFiles,
    ExistingFiles,
    DeletedFiles,
    AddedRows,
    ExistingRows,
    DeletedRows,
    Partitions,
    KeyMetadata,
    FirstRowId,
    Skip,
}

impl ListField {
    fn from_id(id: i32) -> Self {
        match id {
            500 => Self::Path,
            501 => Self::Length,
            502 => Self::SpecId,
            517 => Self::Content,
            515 => Self::SequenceNumber,
            516 => Self::MinSequenceNumber,
            503 => Self::SnapshotId,
            504 => Self::AddedFiles,
            505 => Self::ExistingFiles,
            506 => Self::DeletedFiles,
            512 => Self::AddedRows,
            513 => Self::ExistingRows,
            514 => Self::DeletedRows,
            507 => Self::Partitions,
            519 => Self::KeyMetadata,
            520 => Self::FirstRowId,
            _ => Self::Skip,
        }
    }

    fn from_name(name: &str) -> Self {
        match name {
            "manifest_path" => Self::Path,
            "manifest_length" => Self::Length,
            "partition_spec_id" => Self::SpecId,
            "content" => Self::Content,
            "sequence_number" => Self::SequenceNumber,
            "min_sequence_number" => Self::MinSequenceNumber,
            "added_snapshot_id" => Self::SnapshotId,
            "added_files_count" | "added_data_files_count" => Self::AddedFiles,
            "existing_files_count" | "existing_data_files_count" => Self::ExistingFiles,
            "deleted_files_count" | "deleted_data_files_count" => Self::DeletedFiles,
            "added_rows_count" => Self::AddedRows,
            "existing_rows_count" => Self::ExistingRows,
            "deleted_rows_count" => Self::DeletedRows,
            "partitions" => Self::Partitions,
            "key_metadata" => Self::KeyMetadata,
            "first_row_id" => Self::FirstRowId,
            _ => Self::Skip,
        }
    }
}

fn meta_i64(c: &Container<'_>, key: &str) -> Result<Option<i64>> {
    match c.meta_str(key)? {
        None | Some("null") => Ok(None),
        Some(s) => s.trim().parse().map(Some).map_err(|_| {
            Error::invalid(format!(
                "manifest list metadata `{key}` is not a number: `{s}`"
            ))
        }),
    }
}

/// Raw bounds of one summary, typed once the spec is known.
type RawSummary = (bool, Option<bool>, Option<Vec<u8>>, Option<Vec<u8>>);

fn read_summaries<'s>(
    cur: &mut Cursor<'_>,
    s: &'s AvroSchema,
    names: &Names<'s>,
) -> Result<Option<Vec<RawSummary>>> {
    let mut out = Vec::new();
    let present = read_array(cur, s, names, |c, item, n| {
        let AvroSchema::Record(r) = names.resolve(item)? else {
            bail_invalid!("partition summaries must be records");
        };
        out.reserve(n);
        let mut summary: RawSummary = (false, None, None, None);
        for f in &r.fields {
            let id = field_id(f);
            let which = id.map_or(f.name.as_str(), |id| match id {
                509 => "contains_null",
                518 => "contains_nan",
                510 => "lower_bound",
                511 => "upper_bound",
                _ => "",
            });
            match which {
                "contains_null" => summary.0 = read_opt_bool(c, &f.schema, names)?.unwrap_or(false),
                "contains_nan" => summary.1 = read_opt_bool(c, &f.schema, names)?,
                "lower_bound" => {
                    summary.2 = read_opt_bytes(c, &f.schema, names)?.map(<[u8]>::to_vec);
                }
                "upper_bound" => {
                    summary.3 = read_opt_bytes(c, &f.schema, names)?.map(<[u8]>::to_vec);
                }
                _ => skip(c, &f.schema, names)?,
            }
        }
        out.push(summary);
        Ok(())
    })?;
    Ok(present.then_some(out))
}

fn type_summaries(raw: Vec<RawSummary>, partition_type: &StructType) -> Result<Vec<FieldSummary>> {
    if raw.len() != partition_type.len() {
        bail_invalid!(
            "manifest list has {} partition summaries for a spec with {} fields",
            raw.len(),
            partition_type.len()
        );
    }
    raw.into_iter()
        .zip(partition_type.fields())
        .map(|((contains_null, contains_nan, lower, upper), f)| {
            let ty = f
                .field_type
                .as_primitive()
                .cloned()
                .unwrap_or(PrimitiveType::Unknown);
            let typed = |b: Option<Vec<u8>>| -> Result<Option<Datum>> {
                b.map(|b| {
                    Datum::from_bytes(&b, &ty).map_err(|e| {
                        Error::invalid(format!(
                            "partition summary bound of `{}`: {}",
                            f.name,
                            e.message()
                        ))
                    })
                })
                .transpose()
            };
            Ok(FieldSummary {
                contains_null,
                contains_nan,
                lower_bound: typed(lower)?,
                upper_bound: typed(upper)?,
            })
        })
        .collect()
}

impl ManifestList {
    /// The partition type of every spec of the table, for [`ManifestList::parse`]: each
    /// spec bound to the current schema, or to the newest schema it binds to.
    pub fn partition_types(metadata: &TableMetadata) -> HashMap<i32, StructType> {
        let mut schemas: Vec<_> = metadata.schemas().values().collect();
        schemas.sort_by_key(|s| std::cmp::Reverse(s.schema_id()));
        let current = metadata.current_schema();
        metadata
            .partition_specs()
            .iter()
            .filter_map(|(id, spec)| {
                std::iter::once(current)
                    .chain(schemas.iter().copied())
                    .find_map(|s| spec.partition_type(s).ok())
                    .map(|t| (*id, t))
            })
            .collect()
    }

    /// Parses a manifest list. `partition_types` gives the partition type of each spec
    /// id, to type the summary bounds; manifests of a spec not in the map get
    /// `partitions: None`. v1 lists read sequence numbers as 0 and content as data.
    pub fn parse(bytes: &[u8], partition_types: &HashMap<i32, StructType>) -> Result<ManifestList> {
        let c = Container::parse(bytes, "manifest list")?;
        let format_version = match meta_i64(&c, "format-version")? {
            None => FormatVersion::V1,
            Some(n) => FormatVersion::try_from(n)?,
        };
        let metadata = ManifestListMetadata {
            snapshot_id: meta_i64(&c, "snapshot-id")?,
            parent_snapshot_id: meta_i64(&c, "parent-snapshot-id")?,
            sequence_number: meta_i64(&c, "sequence-number")?,
            format_version,
        };
        let names = Names::new(&c.schema)?;
        let AvroSchema::Record(top) = &*c.schema else {
            bail_invalid!("manifest list: the Avro schema must be a record");
        };
        let slots: Vec<(ListField, &str, &AvroSchema)> = top
            .fields
            .iter()
            .map(|f| {
                (
                    field_id(f).map_or_else(|| ListField::from_name(&f.name), ListField::from_id),
                    f.name.as_str(),
                    &f.schema,
                )
            })
            .collect();
        for (required, name) in [
            (ListField::Path, "manifest_path (500)"),
            (ListField::Length, "manifest_length (501)"),
            (ListField::SpecId, "partition_spec_id (502)"),
            (ListField::SnapshotId, "added_snapshot_id (503)"),
        ] {
            if !slots.iter().any(|s| s.0 == required) {
                bail_invalid!("manifest list Avro schema has no field `{name}`");
            }
        }
        let mut entries = Vec::new();
        c.for_each_record(|cur| {
            let mut m = ManifestFile {
                manifest_path: String::new(),
                manifest_length: 0,
                partition_spec_id: 0,
                content: ManifestContentType::Data,
                sequence_number: 0,
                min_sequence_number: 0,
                added_snapshot_id: 0,
                added_files_count: None,
                existing_files_count: None,
                deleted_files_count: None,
                added_rows_count: None,
                existing_rows_count: None,
                deleted_rows_count: None,
                partitions: None,
                key_metadata: None,
                first_row_id: None,
            };
            let mut raw_summaries = None;
            let mut seen_path = false;
            for &(field, name, s) in &slots {
                let ctx = |e: Error| {
                    Error::invalid(format!("manifest list field `{name}`: {}", e.message()))
                };
                let null = || Error::invalid(format!("manifest list field `{name}` is null"));
                let long = |cur: &mut Cursor<'_>| read_opt_long(cur, s, &names).map_err(ctx);
                let int = |cur: &mut Cursor<'_>| read_opt_int(cur, s, &names).map_err(ctx);
                match field {
                    ListField::Path => {
                        m.manifest_path = read_opt_str(cur, s, &names)
                            .map_err(ctx)?
                            .ok_or_else(null)?
                            .to_string();
                        seen_path = true;
                    }
                    ListField::Length => m.manifest_length = long(cur)?.ok_or_else(null)?,
                    ListField::SpecId => m.partition_spec_id = int(cur)?.ok_or_else(null)?,
                    ListField::Content => {
                        if let Some(v) = int(cur)? {
                            m.content = ManifestContentType::from_i32(v).map_err(ctx)?;
                        }
                    }
                    ListField::SequenceNumber => m.sequence_number = long(cur)?.unwrap_or(0),
                    ListField::MinSequenceNumber => {
                        m.min_sequence_number = long(cur)?.unwrap_or(0);
                    }
                    ListField::SnapshotId => m.added_snapshot_id = long(cur)?.ok_or_else(null)?,
                    ListField::AddedFiles => m.added_files_count = int(cur)?,
                    ListField::ExistingFiles => m.existing_files_count = int(cur)?,
                    ListField::DeletedFiles => m.deleted_files_count = int(cur)?,
                    ListField::AddedRows => m.added_rows_count = long(cur)?,
                    ListField::ExistingRows => m.existing_rows_count = long(cur)?,
                    ListField::DeletedRows => m.deleted_rows_count = long(cur)?,
                    ListField::Partitions => {
                        raw_summaries = read_summaries(cur, s, &names).map_err(ctx)?;
                    }
                    ListField::KeyMetadata => {
                        m.key_metadata = read_opt_bytes(cur, s, &names)
                            .map_err(ctx)?
                            .map(<[u8]>::to_vec);
                    }
                    ListField::FirstRowId => m.first_row_id = long(cur)?,
                    ListField::Skip => skip(cur, s, &names).map_err(ctx)?,
                }
            }
            if !seen_path {
                bail_invalid!("manifest list entry has no manifest_path");
            }
            if raw_summaries.as_ref().is_some_and(Vec::is_empty) {
                m.partitions = Some(Vec::new());
            } else if let (Some(raw), Some(pt)) =
                (raw_summaries, partition_types.get(&m.partition_spec_id))
            {
                m.partitions = Some(type_summaries(raw, pt).map_err(|e| {
                    Error::invalid(format!("manifest `{}`: {}", m.manifest_path, e.message()))
                })?);
            }
            entries.push(m);
            Ok(())
        })?;
        Ok(ManifestList { metadata, entries })
    }
}

/// Writes a snapshot's manifest list, IO-free.
#[derive(Debug)]
pub struct ManifestListWriter {
    format_version: FormatVersion,
    snapshot_id: i64,
    parent_snapshot_id: Option<i64>,
    sequence_number: i64,
    codec: AvroCodec,
    first_row_id: Option<i64>,
    next_row_id: Option<i64>,
    manifests: Vec<ManifestFile>,
}

impl ManifestListWriter {
    /// A writer for the list of snapshot `snapshot_id` with sequence number
    /// `sequence_number` (ignored in v1).
    pub fn new(
        format_version: FormatVersion,
        snapshot_id: i64,
        parent_snapshot_id: Option<i64>,
        sequence_number: i64,
    ) -> Self {
        Self {
            format_version,
            snapshot_id,
            parent_snapshot_id,
            sequence_number,
            codec: AvroCodec::default(),
            first_row_id: None,
            next_row_id: None,
            manifests: Vec::new(),
        }
    }

    /// Sets the compression codec (default deflate).
    #[must_use]
    pub fn with_codec(mut self, codec: AvroCodec) -> Self {
        self.codec = codec;
        self
    }

    /// v3: the snapshot's `first-row-id`; data manifests without a first row id get
    /// consecutive ranges from it (sized by their added + existing rows).
    #[must_use]
    pub fn with_first_row_id(mut self, first_row_id: i64) -> Self {
        self.first_row_id = Some(first_row_id);
        self.next_row_id = Some(first_row_id);
        self
    }

    /// v3: the row id after the last one assigned so far (the table's next
    /// `next-row-id`), if first row ids are assigned.
    pub fn next_row_id(&self) -> Option<i64> {
        self.next_row_id
    }

    /// Adds manifests. Unassigned sequence numbers (and snapshot ids) become this list's;
    /// a manifest with an unassigned sequence number must have been added by this
    /// snapshot.
    pub fn add_manifests(
        &mut self,
        manifests: impl IntoIterator<Item = ManifestFile>,
    ) -> Result<()> {
        for mut m in manifests {
            if m.added_snapshot_id == UNASSIGNED_SEQUENCE_NUMBER {
                m.added_snapshot_id = self.snapshot_id;
            }
            if m.sequence_number == UNASSIGNED_SEQUENCE_NUMBER {
                if m.added_snapshot_id != self.snapshot_id {
                    bail_invalid!(
                        "manifest `{}` has no sequence number but was added by snapshot {}, not {}",
                        m.manifest_path,
                        m.added_snapshot_id,
                        self.snapshot_id
                    );
                }
                m.sequence_number = self.sequence_number;
            }
            if m.min_sequence_number == UNASSIGNED_SEQUENCE_NUMBER {
                m.min_sequence_number = self.sequence_number;
            }
            if self.format_version >= FormatVersion::V3
                && m.content == ManifestContentType::Data
                && m.first_row_id.is_none()
                && let Some(next) = self.next_row_id.as_mut()
            {
                m.first_row_id = Some(*next);
                let rows = m
                    .added_rows_count
                    .unwrap_or(0)
                    .saturating_add(m.existing_rows_count.unwrap_or(0));
                *next = next.saturating_add(rows);
            }
            self.manifests.push(m);
        }
        Ok(())
    }

    /// Encodes the list.
    pub fn finish(self) -> Result<Vec<u8>> {
        let v = self.format_version;
        let schema = manifest_list_schema(v).to_string();
        let mut kv = vec![
            ("snapshot-id", self.snapshot_id.to_string()),
            (
                "parent-snapshot-id",
                self.parent_snapshot_id
                    .map_or_else(|| "null".to_string(), |p| p.to_string()),
            ),
        ];
        if v >= FormatVersion::V2 {
            kv.push(("sequence-number", self.sequence_number.to_string()));
        }
        kv.push(("format-version", v.number().to_string()));
        if v >= FormatVersion::V3
            && let Some(first) = self.first_row_id
        {
            kv.push(("first-row-id", first.to_string()));
        }
        let mut w = ContainerWriter::new(&schema, &kv, self.codec);
        for m in &self.manifests {
            encode_manifest_file(w.record_buf(), m, v);
            w.end_record()?;
        }
        w.finish()
    }
}

fn put_summaries(buf: &mut Vec<u8>, partitions: Option<&Vec<FieldSummary>>) {
    put_union_branch(buf, partitions.is_some());
    if let Some(p) = partitions {
        put_array(buf, p, |b, s| {
            put_bool(b, s.contains_null);
            put_union_branch(b, s.contains_nan.is_some());
            if let Some(nan) = s.contains_nan {
                put_bool(b, nan);
            }
            put_opt_bytes(b, s.lower_bound.as_ref().map(Datum::to_bytes).as_deref());
            put_opt_bytes(b, s.upper_bound.as_ref().map(Datum::to_bytes).as_deref());
        });
    }
}

fn encode_manifest_file(buf: &mut Vec<u8>, m: &ManifestFile, v: FormatVersion) {
    put_str(buf, &m.manifest_path);
    put_long(buf, m.manifest_length);
    put_int(buf, m.partition_spec_id);
    if v == FormatVersion::V1 {
        put_long(buf, m.added_snapshot_id);
        crate::manifest::put_opt_int(buf, m.added_files_count);
        crate::manifest::put_opt_int(buf, m.existing_files_count);
        crate::manifest::put_opt_int(buf, m.deleted_files_count);
        put_summaries(buf, m.partitions.as_ref());
        put_opt_long(buf, m.added_rows_count);
        put_opt_long(buf, m.existing_rows_count);
        put_opt_long(buf, m.deleted_rows_count);
        put_opt_bytes(buf, m.key_metadata.as_deref());
        return;
    }
    put_int(buf, m.content as i32);
    put_long(buf, m.sequence_number);
    put_long(buf, m.min_sequence_number);
    put_long(buf, m.added_snapshot_id);
    put_int(buf, m.added_files_count.unwrap_or(0));
    put_int(buf, m.existing_files_count.unwrap_or(0));
    put_int(buf, m.deleted_files_count.unwrap_or(0));
    put_long(buf, m.added_rows_count.unwrap_or(0));
    put_long(buf, m.existing_rows_count.unwrap_or(0));
    put_long(buf, m.deleted_rows_count.unwrap_or(0));
    put_summaries(buf, m.partitions.as_ref());
    put_opt_bytes(buf, m.key_metadata.as_deref());
    if v >= FormatVersion::V3 {
        put_opt_long(buf, m.first_row_id);
    }
}
