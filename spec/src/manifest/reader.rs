//! [`Manifest::parse`]: reads a manifest by walking its own writer schema.
//!
//! The writer schema's fields are matched to Iceberg fields once per file, by
//! `field-id` (by name when a writer left ids out); unknown fields are skipped, so files
//! of every format version and writer parse. Records are decoded straight into
//! [`ManifestEntry`] values.
//!
//! Column bounds are typed with the manifest's own `schema`; a bound of a column id that
//! is not a primitive column of that schema is dropped.

use std::sync::{Arc, OnceLock};

use apache_avro::Schema as AvroSchema;
use serde_json::Value;

use super::{
    ColumnMap, Container, Cursor, DataContentType, DataFile, DataFileFormat, Manifest,
    ManifestContentType, ManifestEntry, ManifestMetadata, ManifestStatus, Names, Raw, field_id,
    skip,
};
use crate::error::{Error, Result};
use crate::manifest::avro_io::{ParsedCache, Prim, Scalar};
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

/// A compiled writer-schema field: what to do with it and its name (for errors).
struct Slot<'s, Op> {
    op: Op,
    name: &'s str,
}

/// What to do with a field of `manifest_entry`.
enum EntryOp<'s> {
    Status(Scalar),
    SnapshotId(Scalar),
    SequenceNumber(Scalar),
    FileSequenceNumber(Scalar),
    DataFile,
    Skip(&'s AvroSchema),
}

/// Which count map of a data file.
#[derive(Debug, Clone, Copy)]
enum CountMap {
    ColumnSizes,
    Values,
    Nulls,
    Nans,
}

/// What to do with a field of `data_file`.
enum FileOp<'s> {
    Content(Scalar),
    FilePath(Scalar),
    FileFormat(Scalar),
    Partition,
    RecordCount(Scalar),
    FileSize(Scalar),
    Counts(CountMap, Nullable<MapLayout<'s>>),
    /// Lower (`true`) or upper bounds.
    Bounds(bool, Nullable<MapLayout<'s>>),
    KeyMetadata(Scalar),
    SplitOffsets(Nullable<ArrayLayout>),
    EqualityIds(Nullable<ArrayLayout>),
    SortOrderId(Scalar),
    ReferencedDataFile(Scalar),
    FirstRowId(Scalar),
    ContentOffset(Scalar),
    ContentSize(Scalar),
    Skip(&'s AvroSchema),
}

/// A value that may be null: per union branch (or for the one schema when it is not a
/// union), `None` for `null`, else how to read the value.
struct Nullable<T> {
    union: bool,
    branches: Box<[Option<T>]>,
}

impl<T> Nullable<T> {
    fn compile<'s>(
        s: &'s AvroSchema,
        names: &Names<'s>,
        mut value: impl FnMut(&'s AvroSchema) -> Result<T>,
        nested_union: impl Fn() -> T,
    ) -> Result<Self> {
        let mut branch = |v: &'s AvroSchema| -> Result<Option<T>> {
            Ok(match names.resolve(v)? {
                AvroSchema::Null => None,
                AvroSchema::Union(_) => Some(nested_union()),
                other => Some(value(other)?),
            })
        };
        Ok(match names.resolve(s)? {
            AvroSchema::Union(u) => Self {
                union: true,
                branches: u
                    .variants()
                    .iter()
                    .map(&mut branch)
                    .collect::<Result<_>>()?,
            },
            other => Self {
                union: false,
                branches: Box::new([branch(other)?]),
            },
        })
    }

    /// Reads the union branch (if any): `None` for null.
    #[inline]
    fn read(&self, cur: &mut Cursor<'_>) -> Result<Option<&T>> {
        let idx = if self.union { cur.len_prefix()? } else { 0 };
        self.branches
            .get(idx)
            .map(Option::as_ref)
            .ok_or_else(|| Error::invalid(format!("Avro union branch {idx} does not exist")))
    }
}

/// How an int-keyed map is stored.
enum MapLayout<'s> {
    /// Iceberg's array of key/value records: each record field in order.
    Records(Box<[MapPart<'s>]>),
    /// The common case of `Records`: exactly a required `int` key, then the value.
    KeyValue(Prim),
    /// An Avro map with decimal string keys, and its value.
    AvroMap(Scalar),
    /// Not a map: reading a non-null value is this error.
    Invalid(String),
}

enum MapPart<'s> {
    Key(Scalar),
    Value(Scalar),
    Skip(&'s AvroSchema),
}

impl<'s> MapLayout<'s> {
    fn compile(s: &'s AvroSchema, names: &Names<'s>) -> Result<Self> {
        Ok(match s {
            AvroSchema::Array(a) => {
                let AvroSchema::Record(r) = names.resolve(&a.items)? else {
                    return Ok(Self::Invalid(
                        "a map stored as an array must hold key/value records".into(),
                    ));
                };
                let pos = |name: &str| r.fields.iter().position(|f| f.name == name);
                let (Some(ki), Some(vi)) = (pos("key"), pos("value")) else {
                    return Ok(Self::Invalid(format!(
                        "map record `{}` lacks a `key` or `value` field",
                        r.name
                    )));
                };
                let parts: Box<[MapPart<'s>]> = r
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(i, f)| {
                        Ok(if i == ki {
                            MapPart::Key(Scalar::compile(&f.schema, names)?)
                        } else if i == vi {
                            MapPart::Value(Scalar::compile(&f.schema, names)?)
                        } else {
                            MapPart::Skip(&f.schema)
                        })
                    })
                    .collect::<Result<_>>()?;
                match &*parts {
                    [
                        MapPart::Key(Scalar::One(Prim::Int)),
                        MapPart::Value(Scalar::One(value)),
                    ] => Self::KeyValue(*value),
                    _ => Self::Records(parts),
                }
            }
            AvroSchema::Map(m) => Self::AvroMap(Scalar::compile(&m.types, names)?),
            other => Self::Invalid(format!(
                "expected a map, found a {}",
                super::avro_io::kind(other)
            )),
        })
    }

    fn nullable(s: &'s AvroSchema, names: &Names<'s>) -> Result<Nullable<Self>> {
        Nullable::compile(
            s,
            names,
            |v| Self::compile(v, names),
            || Self::Invalid("Avro unions cannot nest".into()),
        )
    }
}

/// How an array of primitives is stored.
enum ArrayLayout {
    Items(Scalar),
    Invalid(String),
}

impl ArrayLayout {
    fn nullable<'s>(s: &'s AvroSchema, names: &Names<'s>) -> Result<Nullable<Self>> {
        Nullable::compile(
            s,
            names,
            |v| {
                Ok(match v {
                    AvroSchema::Array(a) => Self::Items(Scalar::compile(&a.items, names)?),
                    other => Self::Invalid(format!(
                        "expected an array, found a {}",
                        super::avro_io::kind(other)
                    )),
                })
            },
            || Self::Invalid("Avro unions cannot nest".into()),
        )
    }
}

/// A partition field of the writer: where its value goes (position in the partition
/// tuple and type) and how it is encoded, or skipped.
enum PartitionOp<'s> {
    Value(usize, PrimitiveType, Scalar),
    Skip(&'s AvroSchema),
}

/// Column id → primitive type of the manifest's schema, for typing bounds without a
/// hash lookup per bound.
enum ColumnTypes<'m> {
    /// Indexed by id (ids are small in practice).
    Dense(Vec<Option<&'m PrimitiveType>>),
    /// Sorted by id.
    Sparse(Vec<(i32, &'m PrimitiveType)>),
}

impl<'m> ColumnTypes<'m> {
    const DENSE_LIMIT: i32 = 1 << 16;

    fn new(schema: &'m Schema) -> Self {
        let mut cols: Vec<(i32, &'m PrimitiveType)> = schema
            .field_ids()
            .filter_map(|id| {
                let ty = schema.field_by_id(id)?.field_type.as_primitive()?;
                Some((id, ty))
            })
            .collect();
        let max = cols.iter().map(|(id, _)| *id).max().unwrap_or(0);
        if cols.iter().all(|(id, _)| *id >= 0) && max < Self::DENSE_LIMIT {
            let mut dense = vec![None; max as usize + 1];
            for (id, ty) in cols {
                if let Some(slot) = dense.get_mut(id as usize) {
                    *slot = Some(ty);
                }
            }
            Self::Dense(dense)
        } else {
            cols.sort_unstable_by_key(|(id, _)| *id);
            Self::Sparse(cols)
        }
    }

    #[inline]
    fn get(&self, id: i32) -> Option<&'m PrimitiveType> {
        match self {
            Self::Dense(v) => usize::try_from(id)
                .ok()
                .and_then(|i| v.get(i).copied().flatten()),
            Self::Sparse(v) => v
                .binary_search_by_key(&id, |(i, _)| *i)
                .ok()
                .and_then(|i| v.get(i).map(|(_, t)| *t)),
        }
    }
}

struct Plan<'s> {
    entry: Vec<Slot<'s, EntryOp<'s>>>,
    file: Vec<Slot<'s, FileOp<'s>>>,
    partition: Vec<Slot<'s, PartitionOp<'s>>>,
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

fn compile_entry_op<'s>(
    field: EntryField,
    s: &'s AvroSchema,
    names: &Names<'s>,
) -> Result<EntryOp<'s>> {
    let scalar = || Scalar::compile(s, names);
    Ok(match field {
        EntryField::Status => EntryOp::Status(scalar()?),
        EntryField::SnapshotId => EntryOp::SnapshotId(scalar()?),
        EntryField::SequenceNumber => EntryOp::SequenceNumber(scalar()?),
        EntryField::FileSequenceNumber => EntryOp::FileSequenceNumber(scalar()?),
        EntryField::DataFile => EntryOp::DataFile,
        EntryField::Skip => EntryOp::Skip(s),
    })
}

fn compile_file_op<'s>(
    field: FileField,
    s: &'s AvroSchema,
    names: &Names<'s>,
) -> Result<FileOp<'s>> {
    let scalar = || Scalar::compile(s, names);
    let counts = |c: CountMap| Ok::<_, Error>(FileOp::Counts(c, MapLayout::nullable(s, names)?));
    Ok(match field {
        FileField::Content => FileOp::Content(scalar()?),
        FileField::FilePath => FileOp::FilePath(scalar()?),
        FileField::FileFormat => FileOp::FileFormat(scalar()?),
        FileField::Partition => FileOp::Partition,
        FileField::RecordCount => FileOp::RecordCount(scalar()?),
        FileField::FileSize => FileOp::FileSize(scalar()?),
        FileField::ColumnSizes => counts(CountMap::ColumnSizes)?,
        FileField::ValueCounts => counts(CountMap::Values)?,
        FileField::NullValueCounts => counts(CountMap::Nulls)?,
        FileField::NanValueCounts => counts(CountMap::Nans)?,
        FileField::LowerBounds => FileOp::Bounds(true, MapLayout::nullable(s, names)?),
        FileField::UpperBounds => FileOp::Bounds(false, MapLayout::nullable(s, names)?),
        FileField::KeyMetadata => FileOp::KeyMetadata(scalar()?),
        FileField::SplitOffsets => FileOp::SplitOffsets(ArrayLayout::nullable(s, names)?),
        FileField::EqualityIds => FileOp::EqualityIds(ArrayLayout::nullable(s, names)?),
        FileField::SortOrderId => FileOp::SortOrderId(scalar()?),
        FileField::ReferencedDataFile => FileOp::ReferencedDataFile(scalar()?),
        FileField::FirstRowId => FileOp::FirstRowId(scalar()?),
        FileField::ContentOffset => FileOp::ContentOffset(scalar()?),
        FileField::ContentSize => FileOp::ContentSize(scalar()?),
        FileField::Skip => FileOp::Skip(s),
    })
}

fn compile<'s>(
    schema: &'s AvroSchema,
    partition_type: &[(i32, String, PrimitiveType)],
) -> Result<Plan<'s>> {
    let names = Names::new(schema)?;
    let top = record_fields(schema, &names, "manifest_entry")?;
    let entry_fields: Vec<(EntryField, &'s apache_avro::schema::RecordField)> = top
        .iter()
        .map(|f| {
            let field =
                field_id(f).map_or_else(|| EntryField::from_name(&f.name), EntryField::from_id);
            (field, f)
        })
        .collect();
    for (required, name) in [
        (EntryField::Status, "status (0)"),
        (EntryField::DataFile, "data_file (2)"),
    ] {
        if !entry_fields.iter().any(|(f, _)| *f == required) {
            bail_invalid!("manifest Avro schema has no field `{name}`");
        }
    }
    let file_schema = entry_fields
        .iter()
        .find(|(f, _)| *f == EntryField::DataFile)
        .map(|(_, f)| &f.schema)
        .ok_or_else(|| Error::invalid("manifest Avro schema has no field `data_file`"))?;
    let file_fields: Vec<(FileField, &'s apache_avro::schema::RecordField)> =
        record_fields(file_schema, &names, "data_file")?
            .iter()
            .map(|f| {
                let field =
                    field_id(f).map_or_else(|| FileField::from_name(&f.name), FileField::from_id);
                (field, f)
            })
            .collect();
    for (required, name) in [
        (FileField::FilePath, "file_path (100)"),
        (FileField::FileFormat, "file_format (101)"),
        (FileField::RecordCount, "record_count (103)"),
        (FileField::FileSize, "file_size_in_bytes (104)"),
    ] {
        if !file_fields.iter().any(|(f, _)| *f == required) {
            bail_invalid!("manifest Avro schema has no data_file field `{name}`");
        }
    }
    let mut partition = Vec::new();
    if let Some((_, p)) = file_fields.iter().find(|(f, _)| *f == FileField::Partition) {
        for f in record_fields(&p.schema, &names, "partition")? {
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
            let op = match target.and_then(|i| partition_type.get(i).map(|(_, _, t)| (i, t))) {
                Some((i, ty)) => {
                    PartitionOp::Value(i, ty.clone(), Scalar::compile(&f.schema, &names)?)
                }
                None => PartitionOp::Skip(&f.schema),
            };
            partition.push(Slot {
                op,
                name: f.name.as_str(),
            });
        }
    }
    let entry = entry_fields
        .into_iter()
        .map(|(field, f)| {
            Ok(Slot {
                op: compile_entry_op(field, &f.schema, &names)?,
                name: f.name.as_str(),
            })
        })
        .collect::<Result<_>>()?;
    let file = file_fields
        .into_iter()
        .map(|(field, f)| {
            Ok(Slot {
                op: compile_file_op(field, &f.schema, &names)?,
                name: f.name.as_str(),
            })
        })
        .collect::<Result<_>>()?;
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

/// Reads an optional int-keyed map into `map` (pre-sized from each block's count):
/// `convert` turns a key and its raw value into the stored value, `None` to leave the
/// pair out. Pairs with a null key are left out.
fn read_int_map<'a, 's, T>(
    cur: &mut Cursor<'a>,
    layout: &Nullable<MapLayout<'s>>,
    names: &Names<'s>,
    map: &mut ColumnMap<T>,
    mut convert: impl FnMut(i32, Raw<'a>) -> Result<Option<T>>,
) -> Result<()> {
    let Some(layout) = layout.read(cur)? else {
        return Ok(());
    };
    match layout {
        MapLayout::Records(parts) => loop {
            let n = cur.block_count()?;
            if n == 0 {
                return Ok(());
            }
            map.reserve(n.min(cur.remaining()));
            for _ in 0..n {
                let mut key = None;
                let mut val = Raw::Null;
                for part in parts {
                    match part {
                        MapPart::Key(s) => key = s.opt_int(cur)?,
                        MapPart::Value(s) => val = s.read(cur)?,
                        MapPart::Skip(s) => skip(cur, s, names)?,
                    }
                }
                if let Some(k) = key
                    && let Some(v) = convert(k, val)?
                {
                    map.insert(k, v);
                }
            }
        },
        MapLayout::KeyValue(value) => loop {
            let n = cur.block_count()?;
            if n == 0 {
                return Ok(());
            }
            map.reserve(n.min(cur.remaining()));
            // The value encodings Iceberg writers use, read without dispatching per value.
            match value {
                Prim::Long => {
                    for _ in 0..n {
                        let k = cur.int()?;
                        if let Some(v) = convert(k, Raw::Long(cur.long()?))? {
                            map.insert(k, v);
                        }
                    }
                }
                Prim::Bytes => {
                    for _ in 0..n {
                        let k = cur.int()?;
                        if let Some(v) = convert(k, Raw::Bytes(cur.bytes()?))? {
                            map.insert(k, v);
                        }
                    }
                }
                _ => {
                    for _ in 0..n {
                        let k = cur.int()?;
                        if let Some(v) = convert(k, value.read(cur)?)? {
                            map.insert(k, v);
                        }
                    }
                }
            }
        },
        MapLayout::AvroMap(value) => loop {
            let n = cur.block_count()?;
            if n == 0 {
                return Ok(());
            }
            map.reserve(n.min(cur.remaining()));
            for _ in 0..n {
                let k = cur.str()?;
                let k: i32 = k
                    .parse()
                    .map_err(|_| Error::invalid(format!("map key `{k}` is not an int")))?;
                if let Some(v) = convert(k, value.read(cur)?)? {
                    map.insert(k, v);
                }
            }
        },
        MapLayout::Invalid(msg) => Err(Error::invalid(msg.clone())),
    }
}

/// Reads an optional array of primitives; `None` when null.
fn read_list<'a, T>(
    cur: &mut Cursor<'a>,
    layout: &Nullable<ArrayLayout>,
    mut item: impl FnMut(&Scalar, &mut Cursor<'a>) -> Result<T>,
) -> Result<Option<Vec<T>>> {
    let Some(layout) = layout.read(cur)? else {
        return Ok(None);
    };
    let scalar = match layout {
        ArrayLayout::Items(s) => s,
        ArrayLayout::Invalid(msg) => return Err(Error::invalid(msg.clone())),
    };
    let mut out = Vec::new();
    loop {
        let n = cur.block_count()?;
        if n == 0 {
            return Ok(Some(out));
        }
        out.reserve(n.min(cur.remaining()));
        for _ in 0..n {
            out.push(item(scalar, cur)?);
        }
    }
}

#[inline]
fn count_value(_key: i32, raw: Raw<'_>) -> Result<Option<i64>> {
    match raw {
        Raw::Null => Ok(None),
        Raw::Int(v) => Ok(Some(i64::from(v))),
        Raw::Long(v) => Ok(Some(v)),
        other => bail_invalid!("expected a long, found a {}", other.kind()),
    }
}

/// Decoding context shared by all records of a file.
struct Ctx<'s, 'm> {
    plan: Plan<'s>,
    columns: ColumnTypes<'m>,
    partition_len: usize,
}

impl Ctx<'_, '_> {
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
            match &slot.op {
                EntryOp::Status(s) => status = s.opt_int(cur).map_err(ctx)?,
                EntryOp::SnapshotId(s) => snapshot_id = s.opt_long(cur).map_err(ctx)?,
                EntryOp::SequenceNumber(s) => sequence_number = s.opt_long(cur).map_err(ctx)?,
                EntryOp::FileSequenceNumber(s) => {
                    file_sequence_number = s.opt_long(cur).map_err(ctx)?;
                }
                EntryOp::DataFile => data_file = Some(self.decode_file(cur)?),
                EntryOp::Skip(s) => skip(cur, s, names).map_err(ctx)?,
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

    #[inline]
    fn bound(&self, id: i32, raw: Raw<'_>) -> Result<Option<Datum>> {
        let bytes = match raw {
            Raw::Null => return Ok(None),
            Raw::Bytes(b) => b,
            other => bail_invalid!("expected bytes, found a {}", other.kind()),
        };
        let Some(ty) = self.columns.get(id) else {
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
            match &slot.op {
                FileOp::Content(s) => {
                    if let Some(c) = s.opt_int(cur).map_err(ctx)? {
                        content = DataContentType::from_i32(c).map_err(ctx)?;
                    }
                }
                FileOp::FilePath(s) => file_path = s.opt_str(cur).map_err(ctx)?,
                FileOp::FileFormat(s) => {
                    if let Some(f) = s.opt_str(cur).map_err(ctx)? {
                        file_format = Some(DataFileFormat::parse(f).map_err(ctx)?);
                    }
                }
                FileOp::Partition => self.decode_partition(cur, &mut file.partition)?,
                FileOp::RecordCount(s) => record_count = s.opt_long(cur).map_err(ctx)?,
                FileOp::FileSize(s) => file_size = s.opt_long(cur).map_err(ctx)?,
                FileOp::Counts(which, layout) => {
                    let map = match which {
                        CountMap::ColumnSizes => &mut file.column_sizes,
                        CountMap::Values => &mut file.value_counts,
                        CountMap::Nulls => &mut file.null_value_counts,
                        CountMap::Nans => &mut file.nan_value_counts,
                    };
                    read_int_map(cur, layout, names, map, count_value).map_err(ctx)?;
                }
                FileOp::Bounds(lower, layout) => {
                    let map = if *lower {
                        &mut file.lower_bounds
                    } else {
                        &mut file.upper_bounds
                    };
                    read_int_map(cur, layout, names, map, |k, raw| self.bound(k, raw))
                        .map_err(ctx)?;
                }
                FileOp::KeyMetadata(s) => {
                    file.key_metadata = s.opt_bytes(cur).map_err(ctx)?.map(<[u8]>::to_vec);
                }
                FileOp::SplitOffsets(layout) => {
                    file.split_offsets = read_list(cur, layout, |s, c| {
                        s.opt_long(c)?
                            .ok_or_else(|| Error::invalid("null element in split_offsets"))
                    })
                    .map_err(ctx)?;
                }
                FileOp::EqualityIds(layout) => {
                    file.equality_ids = read_list(cur, layout, |s, c| {
                        s.opt_int(c)?
                            .ok_or_else(|| Error::invalid("null element in equality_ids"))
                    })
                    .map_err(ctx)?;
                }
                FileOp::SortOrderId(s) => file.sort_order_id = s.opt_int(cur).map_err(ctx)?,
                FileOp::ReferencedDataFile(s) => {
                    file.referenced_data_file = s.opt_str(cur).map_err(ctx)?.map(str::to_string);
                }
                FileOp::FirstRowId(s) => file.first_row_id = s.opt_long(cur).map_err(ctx)?,
                FileOp::ContentOffset(s) => file.content_offset = s.opt_long(cur).map_err(ctx)?,
                FileOp::ContentSize(s) => {
                    file.content_size_in_bytes = s.opt_long(cur).map_err(ctx)?;
                }
                FileOp::Skip(s) => skip(cur, s, names).map_err(ctx)?,
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
            match &slot.op {
                PartitionOp::Value(i, ty, s) => {
                    let raw = s.read(cur).map_err(ctx)?;
                    let v = partition_value(raw, ty).map_err(ctx)?;
                    if let Some(o) = out.get_mut(*i) {
                        *o = v;
                    }
                }
                PartitionOp::Skip(s) => skip(cur, s, names).map_err(ctx)?,
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

/// The process-wide cache of the Iceberg schemas in manifest headers, by JSON text.
fn table_schemas() -> &'static ParsedCache<Schema> {
    static CACHE: std::sync::OnceLock<ParsedCache<Schema>> = std::sync::OnceLock::new();
    CACHE.get_or_init(ParsedCache::new)
}

fn parse_metadata(c: &Container<'_>) -> Result<ManifestMetadata> {
    let mut schema = table_schemas().get_or_parse(required_meta(c, "schema")?, |text| {
        let schema_json: Value = serde_json::from_str(text)
            .map_err(|e| Error::invalid(format!("manifest metadata `schema`: {e}")))?;
        Schema::from_json(&schema_json)
            .map_err(|e| Error::invalid(format!("manifest metadata `schema`: {}", e.message())))
    })?;
    if let Some(id) = c.meta_str("schema-id")? {
        let id: i32 = id.trim().parse().map_err(|_| {
            Error::invalid(format!(
                "manifest metadata `schema-id` is not an int: `{id}`"
            ))
        })?;
        if id != schema.schema_id() {
            schema = Arc::new(Schema::clone(&schema).with_schema_id(id));
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
        schema,
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
    ///
    /// A large manifest (over 512 KiB) is decoded on several threads, one per 256 KiB up
    /// to the CPUs this process may use, each taking a run of Avro blocks; the result is
    /// the same as one pass, errors included.
    pub fn parse(bytes: &[u8]) -> Result<Manifest> {
        Self::parse_in_threads(bytes, None)
    }

    /// [`Manifest::parse`] on `threads` threads at most (`None`: as many as the body's
    /// size calls for).
    pub(crate) fn parse_in_threads(bytes: &[u8], threads: Option<usize>) -> Result<Manifest> {
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
            columns: ColumnTypes::new(&metadata.schema),
            partition_len: ptype.len(),
        };
        let threads = threads.unwrap_or_else(|| decode_threads(c.body_len()));
        let entries = decode_entries(&c, &ctx, threads)?;
        Ok(Manifest { metadata, entries })
    }
}

/// The least body bytes (compressed) worth a thread of their own: about 3 ms of
/// decoding, against some 50 µs to start a thread.
const MIN_BYTES_PER_THREAD: usize = 256 << 10;

/// How many threads decode a manifest body of `len` bytes: one per
/// [`MIN_BYTES_PER_THREAD`], at most the number of CPUs this process may use (at most 8).
fn decode_threads(len: usize) -> usize {
    static CPUS: OnceLock<usize> = OnceLock::new();
    let cpus =
        *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(8)));
    (len / MIN_BYTES_PER_THREAD).clamp(1, cpus)
}

/// Decodes every entry of the container, in file order. With `threads > 1` the body is
/// split into runs of blocks (see [`Container::split_points`]) decoded on scoped threads;
/// the runs are checked to meet exactly at the split points, and if one does not (a
/// split point guessed inside a block) the whole body is decoded again in one pass.
fn decode_entries(
    c: &Container<'_>,
    ctx: &Ctx<'_, '_>,
    threads: usize,
) -> Result<Vec<ManifestEntry>> {
    // Pre-size from the block headers, bounded by the input size in case they lie.
    let capacity = c.record_count_hint().min(c.body_len() / 32 + 1);
    let points = c.split_points(threads);
    let decode_run = |start: usize, end: usize, share: usize| {
        let mut entries = Vec::with_capacity(share);
        let ended = c.for_each_record_in(start, end, |cur| {
            entries.push(ctx.decode_entry(cur)?);
            Ok(())
        })?;
        Ok::<_, Error>((entries, ended))
    };
    if points.len() <= 2 {
        return decode_run(0, c.body_len(), capacity).map(|(entries, _)| entries);
    }
    let runs: Vec<(usize, usize)> = points.windows(2).map(|w| (w[0], w[1])).collect();
    let share = |(start, end): (usize, usize)| {
        capacity.saturating_mul(end - start) / c.body_len().max(1) + 1
    };
    let results = std::thread::scope(|scope| {
        let spawned: Vec<_> = runs
            .iter()
            .skip(1)
            .map(|&run| {
                let handle = std::thread::Builder::new()
                    .name("floe-manifest-decode".into())
                    .spawn_scoped(scope, move || decode_run(run.0, run.1, share(run)));
                (run, handle.ok())
            })
            .collect();
        let mut results = vec![decode_run(runs[0].0, runs[0].1, share(runs[0]))];
        for (run, handle) in spawned {
            results.push(match handle.map(std::thread::ScopedJoinHandle::join) {
                Some(Ok(result)) => result,
                Some(Err(_)) => Err(Error::new(
                    crate::error::ErrorKind::Unexpected,
                    "a manifest decoding thread panicked",
                )),
                // The thread could not start: decode its run here.
                None => decode_run(run.0, run.1, share(run)),
            });
        }
        results
    });
    let mut entries: Vec<ManifestEntry> = Vec::new();
    for (result, &(_, end)) in results.into_iter().zip(&runs) {
        // Every run starts where a block starts: the first by definition, each later one
        // because the run before ended exactly there. So an error is the one a single
        // pass would meet first.
        let (run_entries, ended) = result?;
        if ended != end {
            return decode_run(0, c.body_len(), capacity).map(|(entries, _)| entries);
        }
        if entries.is_empty() {
            entries = run_entries;
        } else {
            entries.extend(run_entries);
        }
    }
    Ok(entries)
}
