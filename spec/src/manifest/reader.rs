//! [`Manifest::parse`]: reads a manifest by walking its own writer schema.
//!
//! The writer schema's fields are matched to Iceberg fields once per file, by
//! `field-id` (by name when a writer left ids out); unknown fields are skipped, so files
//! of every format version and writer parse. Records are decoded straight into
//! [`ManifestEntry`] values.
//!
//! Column bounds are typed with the manifest's own `schema`; a bound of a column id that
//! is not a primitive column of that schema is dropped.

use std::collections::HashMap;
use std::sync::Arc;

use apache_avro::Schema as AvroSchema;
use serde_json::Value;

use super::{
    Container, Cursor, DataContentType, DataFile, DataFileFormat, Manifest, ManifestContentType,
    ManifestEntry, ManifestMetadata, ManifestStatus, Names, Raw, field_id, read_array,
    read_opt_bytes, read_opt_int, read_opt_long, read_opt_str, skip,
};
use crate::error::{Error, Result};
use crate::manifest::avro_io::{read_int_map, read_raw};
use crate::partition::{PARTITION_DATA_ID_START, PartitionField, PartitionSpec};
use crate::schema::Schema;
use crate::table_metadata::FormatVersion;
use crate::transform::Transform;
use crate::types::PrimitiveType;
use crate::values::Datum;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryField {
    Status,
    SnapshotId,
    SequenceNumber,
    FileSequenceNumber,
    DataFile,
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileField {
    Content,
    FilePath,
    FileFormat,
    Partition,
    RecordCount,
    FileSize,
    ColumnSizes,
    ValueCounts,
    NullValueCounts,
    NanValueCounts,
    LowerBounds,
    UpperBounds,
    KeyMetadata,
    SplitOffsets,
    EqualityIds,
    SortOrderId,
    ReferencedDataFile,
    FirstRowId,
    ContentOffset,
    ContentSize,
    Skip,
}

impl EntryField {
    fn from_id(id: i32) -> Self {
        match id {
            0 => Self::Status,
            1 => Self::SnapshotId,
            3 => Self::SequenceNumber,
            4 => Self::FileSequenceNumber,
            2 => Self::DataFile,
            _ => Self::Skip,
        }
    }

    fn from_name(name: &str) -> Self {
        match name {
            "status" => Self::Status,
            "snapshot_id" => Self::SnapshotId,
            "sequence_number" => Self::SequenceNumber,
            "file_sequence_number" => Self::FileSequenceNumber,
            "data_file" => Self::DataFile,
            _ => Self::Skip,
        }
    }
}

impl FileField {
    fn from_id(id: i32) -> Self {
        match id {
            134 => Self::Content,
            100 => Self::FilePath,
            101 => Self::FileFormat,
            102 => Self::Partition,
            103 => Self::RecordCount,
            104 => Self::FileSize,
            108 => Self::ColumnSizes,
            109 => Self::ValueCounts,
            110 => Self::NullValueCounts,
            137 => Self::NanValueCounts,
            125 => Self::LowerBounds,
            128 => Self::UpperBounds,
            131 => Self::KeyMetadata,
            132 => Self::SplitOffsets,
            135 => Self::EqualityIds,
            140 => Self::SortOrderId,
            143 => Self::ReferencedDataFile,
            142 => Self::FirstRowId,
            144 => Self::ContentOffset,
            145 => Self::ContentSize,
            _ => Self::Skip,
        }
    }

    fn from_name(name: &str) -> Self {
        match name {
            "content" => Self::Content,
            "file_path" => Self::FilePath,
            "file_format" => Self::FileFormat,
            "partition" => Self::Partition,
            "record_count" => Self::RecordCount,
            "file_size_in_bytes" => Self::FileSize,
            "column_sizes" => Self::ColumnSizes,
            "value_counts" => Self::ValueCounts,
            "null_value_counts" => Self::NullValueCounts,
            "nan_value_counts" => Self::NanValueCounts,
            "lower_bounds" => Self::LowerBounds,
            "upper_bounds" => Self::UpperBounds,
            "key_metadata" => Self::KeyMetadata,
            "split_offsets" => Self::SplitOffsets,
            "equality_ids" => Self::EqualityIds,
            "sort_order_id" => Self::SortOrderId,
            "referenced_data_file" => Self::ReferencedDataFile,
            "first_row_id" => Self::FirstRowId,
            "content_offset" => Self::ContentOffset,
            "content_size_in_bytes" => Self::ContentSize,
            _ => Self::Skip,
        }
    }
}

/// A compiled writer-schema field: what it is, its name (for errors), its schema.
struct Slot<'s, F> {
    field: F,
    name: &'s str,
    schema: &'s AvroSchema,
}

struct Plan<'s> {
    entry: Vec<Slot<'s, EntryField>>,
    file: Vec<Slot<'s, FileField>>,
    /// Per writer partition field: the position in the partition tuple and its type.
    partition: Vec<Slot<'s, Option<(usize, PrimitiveType)>>>,
    names: Names<'s>,
}

fn record_fields<'s>(
    s: &'s AvroSchema,
    names: &Names<'s>,
    what: &str,
) -> Result<&'s [apache_avro::schema::RecordField]> {
    match names.resolve(s)? {
        AvroSchema::Record(r) => Ok(&r.fields),
        other => bail_invalid!(
            "manifest: `{what}` must be an Avro record, found a {}",
            super::avro_io::kind(other)
        ),
    }
}

fn compile<'s>(
    schema: &'s AvroSchema,
    partition_type: &[(i32, String, PrimitiveType)],
) -> Result<Plan<'s>> {
    let names = Names::new(schema)?;
    let top = record_fields(schema, &names, "manifest_entry")?;
    let entry: Vec<Slot<'s, EntryField>> = top
        .iter()
        .map(|f| Slot {
            field: field_id(f).map_or_else(|| EntryField::from_name(&f.name), EntryField::from_id),
            name: f.name.as_str(),
            schema: &f.schema,
        })
        .collect();
    for (required, name) in [
        (EntryField::Status, "status (0)"),
        (EntryField::DataFile, "data_file (2)"),
    ] {
        if !entry.iter().any(|s| s.field == required) {
            bail_invalid!("manifest Avro schema has no field `{name}`");
        }
    }
    let file_schema = entry
        .iter()
        .find(|s| s.field == EntryField::DataFile)
        .map(|s| s.schema)
        .ok_or_else(|| Error::invalid("manifest Avro schema has no field `data_file`"))?;
    let file: Vec<Slot<'s, FileField>> = record_fields(file_schema, &names, "data_file")?
        .iter()
        .map(|f| Slot {
            field: field_id(f).map_or_else(|| FileField::from_name(&f.name), FileField::from_id),
            name: f.name.as_str(),
            schema: &f.schema,
        })
        .collect();
    for (required, name) in [
        (FileField::FilePath, "file_path (100)"),
        (FileField::FileFormat, "file_format (101)"),
        (FileField::RecordCount, "record_count (103)"),
        (FileField::FileSize, "file_size_in_bytes (104)"),
    ] {
        if !file.iter().any(|s| s.field == required) {
            bail_invalid!("manifest Avro schema has no data_file field `{name}`");
        }
    }
    let mut partition = Vec::new();
    if let Some(p) = file.iter().find(|s| s.field == FileField::Partition) {
        for f in record_fields(p.schema, &names, "partition")? {
            let iceberg_name = f
                .custom_attributes
                .get("iceberg-field-name")
                .and_then(Value::as_str)
                .unwrap_or(&f.name);
            let target = match field_id(f) {
                Some(id) => partition_type.iter().position(|(pid, _, _)| *pid == id),
                None => partition_type
                    .iter()
                    .position(|(_, n, _)| n == iceberg_name),
            };
            partition.push(Slot {
                field: target.and_then(|i| partition_type.get(i).map(|(_, _, t)| (i, t.clone()))),
                name: f.name.as_str(),
                schema: &f.schema,
            });
        }
    }
    Ok(Plan {
        entry,
        file,
        partition,
        names,
    })
}

fn partition_value(raw: Raw<'_>, ty: &PrimitiveType) -> Result<Option<Datum>> {
    let mismatch = || {
        Error::invalid(format!(
            "Avro {} value cannot be read as type {ty}",
            raw.kind()
        ))
    };
    let int = |v: i64| i32::try_from(v).map_err(|_| mismatch());
    Ok(Some(match (raw, ty) {
        (Raw::Null, _) => return Ok(None),
        (Raw::Boolean(b), PrimitiveType::Boolean) => Datum::Boolean(b),
        (Raw::Int(v), PrimitiveType::Int) => Datum::Int(v),
        (Raw::Long(v), PrimitiveType::Int) => Datum::Int(int(v)?),
        (Raw::Int(v), PrimitiveType::Date) => Datum::Date(v),
        (Raw::Long(v), PrimitiveType::Date) => Datum::Date(int(v)?),
        (Raw::Int(v), p) => long_datum(i64::from(v), p).ok_or_else(mismatch)?,
        (Raw::Long(v), p) => long_datum(v, p).ok_or_else(mismatch)?,
        (Raw::Float(v), PrimitiveType::Float) => Datum::Float(v),
        (Raw::Float(v), PrimitiveType::Double) => Datum::Double(f64::from(v)),
        (Raw::Double(v), PrimitiveType::Double) => Datum::Double(v),
        (Raw::Str(s), PrimitiveType::String) => Datum::String(s.to_string()),
        (Raw::Str(s), PrimitiveType::Uuid) => {
            Datum::Uuid(uuid::Uuid::parse_str(s).map_err(|_| mismatch())?)
        }
        (Raw::Bytes(b), PrimitiveType::String) => Datum::String(
            String::from_utf8(b.to_vec()).map_err(|_| Error::invalid("string is not UTF-8"))?,
        ),
        (Raw::Bytes(b), PrimitiveType::Binary) => Datum::Binary(b.to_vec()),
        (
            Raw::Bytes(b),
            PrimitiveType::Fixed(_) | PrimitiveType::Uuid | PrimitiveType::Decimal { .. },
        ) => Datum::from_bytes(b, ty)?,
        _ => return Err(mismatch()),
    }))
}

fn long_datum(v: i64, ty: &PrimitiveType) -> Option<Datum> {
    Some(match ty {
        PrimitiveType::Long => Datum::Long(v),
        PrimitiveType::Time => Datum::Time(v),
        PrimitiveType::Timestamp => Datum::Timestamp(v),
        PrimitiveType::Timestamptz => Datum::Timestamptz(v),
        PrimitiveType::TimestampNs => Datum::TimestampNs(v),
        PrimitiveType::TimestamptzNs => Datum::TimestamptzNs(v),
        _ => return None,
    })
}

/// Decoding context shared by all records of a file.
struct Ctx<'s> {
    plan: Plan<'s>,
    schema: &'s Schema,
    partition_len: usize,
}

impl Ctx<'_> {
    fn decode_entry(&self, cur: &mut Cursor<'_>) -> Result<ManifestEntry> {
        let names = &self.plan.names;
        let mut status = None;
        let mut snapshot_id = None;
        let mut sequence_number = None;
        let mut file_sequence_number = None;
        let mut data_file = None;
        for slot in &self.plan.entry {
            let ctx = |e: Error| {
                Error::invalid(format!("manifest entry `{}`: {}", slot.name, e.message()))
            };
            match slot.field {
                EntryField::Status => {
                    status = read_opt_int(cur, slot.schema, names).map_err(ctx)?;
                }
                EntryField::SnapshotId => {
                    snapshot_id = read_opt_long(cur, slot.schema, names).map_err(ctx)?;
                }
                EntryField::SequenceNumber => {
                    sequence_number = read_opt_long(cur, slot.schema, names).map_err(ctx)?;
                }
                EntryField::FileSequenceNumber => {
                    file_sequence_number = read_opt_long(cur, slot.schema, names).map_err(ctx)?;
                }
                EntryField::DataFile => data_file = Some(self.decode_file(cur)?),
                EntryField::Skip => skip(cur, slot.schema, names).map_err(ctx)?,
            }
        }
        let status = status.ok_or_else(|| Error::invalid("manifest entry: `status` is null"))?;
        Ok(ManifestEntry {
            status: ManifestStatus::from_i32(status)?,
            snapshot_id,
            sequence_number,
            file_sequence_number,
            data_file: data_file
                .ok_or_else(|| Error::invalid("manifest entry: `data_file` is missing"))?,
        })
    }

    fn bound(&self, id: i32, bytes: &[u8]) -> Result<Option<Datum>> {
        let Some(ty) = self
            .schema
            .field_by_id(id)
            .and_then(|f| f.field_type.as_primitive())
        else {
            return Ok(None);
        };
        Datum::from_bytes(bytes, ty)
            .map(Some)
            .map_err(|e| Error::invalid(format!("bound of column {id}: {}", e.message())))
    }

    fn decode_file(&self, cur: &mut Cursor<'_>) -> Result<DataFile> {
        let names = &self.plan.names;
        let mut content = DataContentType::Data;
        let mut file_path = None;
        let mut file_format = None;
        let mut record_count = None;
        let mut file_size = None;
        let mut file = DataFile::new(DataFileFormat::Parquet, String::new(), 0, 0);
        file.partition = vec![None; self.partition_len];
        for slot in &self.plan.file {
            let ctx =
                |e: Error| Error::invalid(format!("data_file `{}`: {}", slot.name, e.message()));
            let s = slot.schema;
            let counts = |cur: &mut Cursor<'_>, m: &mut HashMap<i32, i64>| {
                read_int_map(
                    cur,
                    s,
                    names,
                    |c, vs| read_opt_long(c, vs, names),
                    |k, v, n| {
                        m.reserve(n);
                        m.insert(k, v);
                    },
                )
                .map_err(ctx)
            };
            let bounds = |cur: &mut Cursor<'_>, m: &mut HashMap<i32, Datum>| {
                let mut err = None;
                read_int_map(
                    cur,
                    s,
                    names,
                    |c, vs| read_opt_bytes(c, vs, names),
                    |k, v, n| match self.bound(k, v) {
                        Ok(Some(d)) => {
                            m.reserve(n);
                            m.insert(k, d);
                        }
                        Ok(None) => {}
                        Err(e) => err = Some(e),
                    },
                )
                .map_err(ctx)?;
                err.map_or(Ok(()), |e| Err(ctx(e)))
            };
            match slot.field {
                FileField::Content => {
                    if let Some(c) = read_opt_int(cur, s, names).map_err(ctx)? {
                        content = DataContentType::from_i32(c).map_err(ctx)?;
                    }
                }
                FileField::FilePath => {
                    file_path = read_opt_str(cur, s, names).map_err(ctx)?;
                }
                FileField::FileFormat => {
                    if let Some(f) = read_opt_str(cur, s, names).map_err(ctx)? {
                        file_format = Some(DataFileFormat::parse(f).map_err(ctx)?);
                    }
                }
                FileField::Partition => self.decode_partition(cur, &mut file.partition)?,
                FileField::RecordCount => {
                    record_count = read_opt_long(cur, s, names).map_err(ctx)?;
                }
                FileField::FileSize => file_size = read_opt_long(cur, s, names).map_err(ctx)?,
                FileField::ColumnSizes => counts(cur, &mut file.column_sizes)?,
                FileField::ValueCounts => counts(cur, &mut file.value_counts)?,
                FileField::NullValueCounts => counts(cur, &mut file.null_value_counts)?,
                FileField::NanValueCounts => counts(cur, &mut file.nan_value_counts)?,
                FileField::LowerBounds => bounds(cur, &mut file.lower_bounds)?,
                FileField::UpperBounds => bounds(cur, &mut file.upper_bounds)?,
                FileField::KeyMetadata => {
                    file.key_metadata = read_opt_bytes(cur, s, names)
                        .map_err(ctx)?
                        .map(<[u8]>::to_vec);
                }
                FileField::SplitOffsets => {
                    let mut v = Vec::new();
                    let present = read_array(cur, s, names, |c, is, n| {
                        v.reserve(n);
                        v.push(
                            read_opt_long(c, is, names)?
                                .ok_or_else(|| Error::invalid("null element in split_offsets"))?,
                        );
                        Ok(())
                    })
                    .map_err(ctx)?;
                    file.split_offsets = present.then_some(v);
                }
                FileField::EqualityIds => {
                    let mut v = Vec::new();
                    let present = read_array(cur, s, names, |c, is, n| {
                        v.reserve(n);
                        v.push(
                            read_opt_int(c, is, names)?
                                .ok_or_else(|| Error::invalid("null element in equality_ids"))?,
                        );
                        Ok(())
                    })
                    .map_err(ctx)?;
                    file.equality_ids = present.then_some(v);
                }
                FileField::SortOrderId => {
                    file.sort_order_id = read_opt_int(cur, s, names).map_err(ctx)?;
                }
                FileField::ReferencedDataFile => {
                    file.referenced_data_file = read_opt_str(cur, s, names)
                        .map_err(ctx)?
                        .map(str::to_string);
                }
                FileField::FirstRowId => {
                    file.first_row_id = read_opt_long(cur, s, names).map_err(ctx)?;
                }
                FileField::ContentOffset => {
                    file.content_offset = read_opt_long(cur, s, names).map_err(ctx)?;
                }
                FileField::ContentSize => {
                    file.content_size_in_bytes = read_opt_long(cur, s, names).map_err(ctx)?;
                }
                FileField::Skip => skip(cur, s, names).map_err(ctx)?,
            }
        }
        let missing = |name: &str| Error::invalid(format!("data_file: `{name}` is null"));
        file.content = content;
        file.file_path = file_path.ok_or_else(|| missing("file_path"))?.to_string();
        file.file_format = file_format.ok_or_else(|| missing("file_format"))?;
        file.record_count = record_count.ok_or_else(|| missing("record_count"))?;
        file.file_size_in_bytes = file_size.ok_or_else(|| missing("file_size_in_bytes"))?;
        Ok(file)
    }

    fn decode_partition(&self, cur: &mut Cursor<'_>, out: &mut [Option<Datum>]) -> Result<()> {
        let names = &self.plan.names;
        for slot in &self.plan.partition {
            let ctx = |e: Error| {
                Error::invalid(format!("partition field `{}`: {}", slot.name, e.message()))
            };
            match &slot.field {
                Some((i, ty)) => {
                    let raw = read_raw(cur, slot.schema, names).map_err(ctx)?;
                    let v = partition_value(raw, ty).map_err(ctx)?;
                    if let Some(o) = out.get_mut(*i) {
                        *o = v;
                    }
                }
                None => skip(cur, slot.schema, names).map_err(ctx)?,
            }
        }
        Ok(())
    }
}

fn required_meta<'a>(c: &Container<'a>, key: &str) -> Result<&'a str> {
    c.meta_str(key)?
        .ok_or_else(|| Error::invalid(format!("manifest metadata has no `{key}` key")))
}

/// Parses the `partition-spec` metadata: a JSON array of partition fields (v1 fields
/// may lack `field-id`: they get 1000, 1001, … by position).
fn parse_spec_fields(json: &str) -> Result<Vec<PartitionField>> {
    let v: Value = serde_json::from_str(json)
        .map_err(|e| Error::invalid(format!("manifest metadata `partition-spec`: {e}")))?;
    let fields = match &v {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("fields") {
            Some(Value::Array(a)) => a,
            _ => bail_invalid!("manifest metadata `partition-spec` has no `fields` array"),
        },
        other => bail_invalid!("manifest metadata `partition-spec` must be an array, got {other}"),
    };
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let bad = |what: &str| {
                Error::invalid(format!(
                    "manifest metadata `partition-spec` field {i}: {what}"
                ))
            };
            let source_id = f
                .get("source-id")
                .and_then(Value::as_i64)
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| bad("missing integer `source-id`"))?;
            let field_id = match f.get("field-id") {
                None | Some(Value::Null) => PARTITION_DATA_ID_START + i as i32,
                Some(x) => x
                    .as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(|| bad("`field-id` must be an integer"))?,
            };
            let name = f
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("missing string `name`"))?
                .to_string();
            let transform: Transform = f
                .get("transform")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("missing string `transform`"))?
                .parse()?;
            Ok(PartitionField {
                source_id,
                field_id,
                name,
                transform,
            })
        })
        .collect()
}

fn parse_metadata(c: &Container<'_>) -> Result<ManifestMetadata> {
    let schema_json: Value = serde_json::from_str(required_meta(c, "schema")?)
        .map_err(|e| Error::invalid(format!("manifest metadata `schema`: {e}")))?;
    let mut schema = Schema::from_json(&schema_json)
        .map_err(|e| Error::invalid(format!("manifest metadata `schema`: {}", e.message())))?;
    if let Some(id) = c.meta_str("schema-id")? {
        let id: i32 = id.trim().parse().map_err(|_| {
            Error::invalid(format!(
                "manifest metadata `schema-id` is not an int: `{id}`"
            ))
        })?;
        if id != schema.schema_id() {
            schema = schema.with_schema_id(id);
        }
    }
    let fields = parse_spec_fields(required_meta(c, "partition-spec")?)?;
    let spec_id = match c.meta_str("partition-spec-id")? {
        Some(s) => s.trim().parse().map_err(|_| {
            Error::invalid(format!(
                "manifest metadata `partition-spec-id` is not an int: `{s}`"
            ))
        })?,
        None => 0,
    };
    let format_version = match c.meta_str("format-version")? {
        None => FormatVersion::V1,
        Some(s) => {
            let n: i64 = s.trim().parse().map_err(|_| {
                Error::invalid(format!(
                    "manifest metadata `format-version` is not a number: `{s}`"
                ))
            })?;
            FormatVersion::try_from(n)?
        }
    };
    let content = match c.meta_str("content")? {
        None => ManifestContentType::Data,
        Some(s) => ManifestContentType::parse(s)?,
    };
    Ok(ManifestMetadata {
        schema: Arc::new(schema),
        partition_spec: PartitionSpec { spec_id, fields },
        format_version,
        content,
    })
}

impl Manifest {
    /// Parses a manifest file. Requires the `schema` and `partition-spec` metadata;
    /// `partition-spec-id` defaults to 0, `format-version` to 1, `content` to `data`.
    /// Malformed input gives a [`crate::ErrorKind::DataInvalid`] error naming what was
    /// wrong.
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        let c = Container::parse(bytes, "manifest")?;
        let metadata = parse_metadata(&c)?;
        let partition_type = metadata
            .partition_spec
            .partition_type(&metadata.schema)
            .map_err(|e| Error::invalid(format!("manifest: {}", e.message())))?;
        let ptype: Vec<(i32, String, PrimitiveType)> = partition_type
            .fields()
            .iter()
            .map(|f| {
                (
                    f.id,
                    f.name.clone(),
                    f.field_type
                        .as_primitive()
                        .cloned()
                        .unwrap_or(PrimitiveType::Unknown),
                )
            })
            .collect();
        let ctx = Ctx {
            plan: compile(&c.schema, &ptype)?,
            schema: &metadata.schema,
            partition_len: ptype.len(),
        };
        let mut entries = Vec::new();
        c.for_each_record(|cur| {
            entries.push(ctx.decode_entry(cur)?);
            Ok(())
        })?;
        Ok(Manifest { metadata, entries })
    }
}
