//! Iceberg ⇄ Arrow schemas, and checking and aligning record batches to a table schema.
//!
//! Field ids travel in Arrow field metadata under [`FIELD_ID_KEY`] (`PARQUET:field_id`),
//! the key arrow-rs's Parquet writer turns into Parquet field ids and that PyIceberg and
//! iceberg-rust use too.
//!
//! | Iceberg | Arrow |
//! |---|---|
//! | `boolean` | `Boolean` |
//! | `int` / `long` | `Int32` / `Int64` |
//! | `float` / `double` | `Float32` / `Float64` |
//! | `decimal(P,S)` | `Decimal128(P,S)` |
//! | `date` | `Date32` |
//! | `time` | `Time64(µs)` |
//! | `timestamp` / `timestamptz` | `Timestamp(µs, None)` / `Timestamp(µs, "+00:00")` |
//! | `timestamp_ns` / `timestamptz_ns` | `Timestamp(ns, None)` / `Timestamp(ns, "+00:00")` |
//! | `string` | `Utf8` (`LargeUtf8`, `Utf8View` accepted on input) |
//! | `uuid` | `FixedSizeBinary(16)` |
//! | `fixed[L]` | `FixedSizeBinary(L)` |
//! | `binary` | `Binary` (`LargeBinary`, `BinaryView` accepted on input) |
//! | `unknown` | `Null` |
//! | `struct` / `list` / `map` | `Struct` / `List` (item `element`) / `Map` (entries `key_value`) |
//!
//! A `required` Iceberg field is a non-nullable Arrow field.
//!
//! ```
//! use floe_spec::schema::Schema;
//! use floe_spec::types::{NestedField, PrimitiveType, Type};
//! use floe_table::arrow_schema::{arrow_to_schema, schema_to_arrow, FieldIds};
//!
//! let schema = Schema::builder()
//!     .with_fields(vec![
//!         NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
//!         NestedField::optional(2, "name", Type::Primitive(PrimitiveType::String)),
//!     ])
//!     .build()
//!     .unwrap();
//! let arrow = schema_to_arrow(&schema).unwrap();
//! assert_eq!(arrow.field(0).metadata()["PARQUET:field_id"], "1");
//! assert!(!arrow.field(0).is_nullable());
//! let back = arrow_to_schema(&arrow, FieldIds::FromMetadata).unwrap();
//! assert_eq!(back, schema);
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeListArray, LargeListArray, ListArray, MapArray, RecordBatch,
    RecordBatchOptions, StructArray, new_null_array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{
    DataType, Field, FieldRef, Fields, Schema as ArrowSchema, SchemaRef as ArrowSchemaRef, TimeUnit,
};
use floe_spec::schema::Schema;
use floe_spec::types::{ListType, MapType, NestedField, PrimitiveType, StructType, Type};

use crate::error::{Error, Result, arrow_error};

/// The Arrow field metadata key holding the Iceberg field id.
pub const FIELD_ID_KEY: &str = "PARQUET:field_id";
/// The time zone written for `timestamptz` columns.
pub const UTC_TIME_ZONE: &str = "+00:00";
/// Name of the item field of Arrow lists.
pub const LIST_ELEMENT_NAME: &str = "element";
/// Name of the entries struct of Arrow maps.
pub const MAP_ENTRIES_NAME: &str = "key_value";
/// Name of the key field of Arrow maps.
pub const MAP_KEY_NAME: &str = "key";
/// Name of the value field of Arrow maps.
pub const MAP_VALUE_NAME: &str = "value";

/// Converts an Iceberg schema to an Arrow schema whose fields carry their ids.
pub fn schema_to_arrow(schema: &Schema) -> Result<ArrowSchema> {
    let fields = schema
        .fields()
        .iter()
        .map(|f| field_to_arrow(f))
        .collect::<Result<Vec<_>>>()?;
    Ok(ArrowSchema::new(fields))
}

/// Converts an Iceberg field (with its id) to an Arrow field.
pub fn field_to_arrow(field: &NestedField) -> Result<Field> {
    let data_type = type_to_arrow(&field.field_type)?;
    Ok(
        Field::new(field.name.clone(), data_type, !field.required).with_metadata(HashMap::from([
            (FIELD_ID_KEY.to_string(), field.id.to_string()),
        ])),
    )
}

/// Converts an Iceberg type to an Arrow type (nested fields carry their ids).
pub fn type_to_arrow(t: &Type) -> Result<DataType> {
    Ok(match t {
        Type::Primitive(p) => primitive_to_arrow(p)?,
        Type::Struct(s) => DataType::Struct(struct_to_arrow(s)?),
        Type::List(l) => DataType::List(Arc::new(field_to_arrow(&l.element_field)?)),
        Type::Map(m) => {
            let entries = Field::new(
                MAP_ENTRIES_NAME,
                DataType::Struct(Fields::from(vec![
                    field_to_arrow(&m.key_field)?,
                    field_to_arrow(&m.value_field)?,
                ])),
                false,
            );
            DataType::Map(Arc::new(entries), false)
        }
    })
}

fn struct_to_arrow(s: &StructType) -> Result<Fields> {
    Ok(Fields::from(
        s.fields()
            .iter()
            .map(|f| field_to_arrow(f))
            .collect::<Result<Vec<_>>>()?,
    ))
}

/// Converts an Iceberg primitive type to its Arrow type.
pub fn primitive_to_arrow(p: &PrimitiveType) -> Result<DataType> {
    let utc = || Some(Arc::<str>::from(UTC_TIME_ZONE));
    Ok(match p {
        PrimitiveType::Boolean => DataType::Boolean,
        PrimitiveType::Int => DataType::Int32,
        PrimitiveType::Long => DataType::Int64,
        PrimitiveType::Float => DataType::Float32,
        PrimitiveType::Double => DataType::Float64,
        PrimitiveType::Decimal { precision, scale } => {
            let p = u8::try_from(*precision)
                .map_err(|_| Error::invalid(format!("decimal precision {precision} too large")))?;
            let s = i8::try_from(*scale)
                .map_err(|_| Error::invalid(format!("decimal scale {scale} too large")))?;
            DataType::Decimal128(p, s)
        }
        PrimitiveType::Date => DataType::Date32,
        PrimitiveType::Time => DataType::Time64(TimeUnit::Microsecond),
        PrimitiveType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, None),
        PrimitiveType::Timestamptz => DataType::Timestamp(TimeUnit::Microsecond, utc()),
        PrimitiveType::TimestampNs => DataType::Timestamp(TimeUnit::Nanosecond, None),
        PrimitiveType::TimestamptzNs => DataType::Timestamp(TimeUnit::Nanosecond, utc()),
        PrimitiveType::String => DataType::Utf8,
        PrimitiveType::Uuid => DataType::FixedSizeBinary(16),
        PrimitiveType::Fixed(len) => DataType::FixedSizeBinary(
            i32::try_from(*len)
                .map_err(|_| Error::invalid(format!("fixed length {len} is too large")))?,
        ),
        PrimitiveType::Binary => DataType::Binary,
        PrimitiveType::Unknown => DataType::Null,
    })
}

/// How [`arrow_to_schema`] gets field ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldIds {
    /// Read them from the [`FIELD_ID_KEY`] metadata of every field; a field without one
    /// is an error naming it.
    FromMetadata,
    /// Ignore any ids in the metadata and assign fresh ones from 1, top-level fields
    /// first and nested levels after (the order a catalog assigns when creating a table).
    AssignFresh,
}

/// Converts an Arrow schema to an Iceberg schema (schema id 0).
///
/// Besides the types of the table in the module docs, input may use `Int8`, `Int16`,
/// `UInt8`, `UInt16` (as `int`), `UInt32` (as `long`), `LargeUtf8`, `Utf8View`,
/// `LargeBinary`, `BinaryView`, `LargeList`, `FixedSizeList` and dictionaries of any of
/// them. A timestamp's zone must be absent or UTC. A `FixedSizeBinary(16)` becomes
/// `fixed[16]` unless the field has the `arrow.uuid` extension type.
pub fn arrow_to_schema(schema: &ArrowSchema, ids: FieldIds) -> Result<Schema> {
    let mut next_id = 0;
    let fields = schema
        .fields()
        .iter()
        .map(|f| arrow_field_to_iceberg(f, "", ids, &mut next_id))
        .collect::<Result<Vec<_>>>()?;
    let built = Schema::builder().with_fields(fields).build()?;
    match ids {
        FieldIds::FromMetadata => Ok(built),
        FieldIds::AssignFresh => {
            let mut n = 0;
            let (fresh, _) = built.reassign_field_ids(|| {
                n += 1;
                n
            })?;
            Ok(fresh)
        }
    }
}

/// The field id in the metadata of an Arrow field, if it has one.
pub fn arrow_field_id(field: &Field) -> Result<Option<i32>> {
    match field.metadata().get(FIELD_ID_KEY) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| {
            Error::invalid(format!(
                "field `{}` has an invalid field id `{v}` in its `{FIELD_ID_KEY}` metadata",
                field.name()
            ))
        }),
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn take_id(field: &Field, path: &str, ids: FieldIds, next_id: &mut i32) -> Result<i32> {
    match ids {
        FieldIds::AssignFresh => {
            *next_id += 1;
            Ok(*next_id)
        }
        FieldIds::FromMetadata => arrow_field_id(field)?.ok_or_else(|| {
            Error::invalid(format!(
                "Arrow field `{path}` has no Iceberg field id (metadata key `{FIELD_ID_KEY}`)"
            ))
        }),
    }
}

fn arrow_field_to_iceberg(
    field: &Field,
    prefix: &str,
    ids: FieldIds,
    next_id: &mut i32,
) -> Result<NestedField> {
    let path = join(prefix, field.name());
    let id = take_id(field, &path, ids, next_id)?;
    let is_uuid = field
        .metadata()
        .get("ARROW:extension:name")
        .is_some_and(|n| n == "arrow.uuid");
    let t = arrow_type_to_iceberg(field.data_type(), is_uuid, &path, ids, next_id)?;
    Ok(NestedField::new(
        id,
        field.name().clone(),
        t,
        !field.is_nullable(),
    ))
}

fn arrow_type_to_iceberg(
    dt: &DataType,
    is_uuid: bool,
    path: &str,
    ids: FieldIds,
    next_id: &mut i32,
) -> Result<Type> {
    let prim = |p: PrimitiveType| Ok(Type::Primitive(p));
    match dt {
        DataType::Boolean => prim(PrimitiveType::Boolean),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => {
            prim(PrimitiveType::Int)
        }
        DataType::Int64 | DataType::UInt32 => prim(PrimitiveType::Long),
        DataType::Float32 => prim(PrimitiveType::Float),
        DataType::Float64 => prim(PrimitiveType::Double),
        DataType::Decimal128(p, s) if *s >= 0 && u32::from(*p) <= 38 => {
            prim(PrimitiveType::Decimal {
                precision: u32::from(*p),
                scale: *s as u32,
            })
        }
        DataType::Date32 => prim(PrimitiveType::Date),
        DataType::Time64(TimeUnit::Microsecond) => prim(PrimitiveType::Time),
        DataType::Timestamp(unit @ (TimeUnit::Microsecond | TimeUnit::Nanosecond), tz) => {
            let with_zone = match tz.as_deref() {
                None => false,
                Some(z) if is_utc(z) => true,
                Some(z) => {
                    return Err(Error::invalid(format!(
                        "column `{path}`: timestamps with time zone `{z}` are not supported, \
                         only UTC (`+00:00`) or none"
                    )));
                }
            };
            prim(match (unit, with_zone) {
                (TimeUnit::Microsecond, false) => PrimitiveType::Timestamp,
                (TimeUnit::Microsecond, true) => PrimitiveType::Timestamptz,
                (_, false) => PrimitiveType::TimestampNs,
                (_, true) => PrimitiveType::TimestamptzNs,
            })
        }
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => prim(PrimitiveType::String),
        DataType::FixedSizeBinary(16) if is_uuid => prim(PrimitiveType::Uuid),
        DataType::FixedSizeBinary(n) if *n >= 0 => prim(PrimitiveType::Fixed(*n as u64)),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            prim(PrimitiveType::Binary)
        }
        DataType::Null => prim(PrimitiveType::Unknown),
        DataType::Dictionary(_, value) => arrow_type_to_iceberg(value, is_uuid, path, ids, next_id),
        DataType::Struct(fields) => {
            let fields = fields
                .iter()
                .map(|f| arrow_field_to_iceberg(f, path, ids, next_id))
                .collect::<Result<Vec<_>>>()?;
            Ok(Type::Struct(StructType::new(fields)))
        }
        DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
            let element = arrow_field_to_iceberg(item, path, ids, next_id)?;
            Ok(Type::List(ListType::new(
                element.id,
                *element.field_type,
                element.required,
            )))
        }
        DataType::Map(entries, _) => {
            let DataType::Struct(kv) = entries.data_type() else {
                return Err(Error::invalid(format!(
                    "column `{path}`: map entries must be a struct"
                )));
            };
            if kv.len() != 2 {
                return Err(Error::invalid(format!(
                    "column `{path}`: map entries must have a key and a value field"
                )));
            }
            let key = arrow_field_to_iceberg(&kv[0], path, ids, next_id)?;
            let value = arrow_field_to_iceberg(&kv[1], path, ids, next_id)?;
            Ok(Type::Map(MapType::new(
                key.id,
                *key.field_type,
                value.id,
                *value.field_type,
                value.required,
            )))
        }
        other => Err(Error::unsupported(format!(
            "column `{path}`: Arrow type {other} has no Iceberg equivalent"
        ))),
    }
}

fn is_utc(zone: &str) -> bool {
    matches!(
        zone,
        "+00:00" | "UTC" | "utc" | "Z" | "Etc/UTC" | "+0000" | "+00" | "GMT" | "Etc/GMT"
    )
}

/// Checks that `batch` can be written to a table with `schema`, and returns it aligned
/// to the table's Arrow schema ([`schema_to_arrow`]): columns in table order (matched by
/// name), types converted where Iceberg allows it, field ids in the metadata.
///
/// Columns are matched by name at every level. Accepted conversions: any integer type
/// that fits into `int`/`long` (`Int8`, `Int16`, `UInt8`, `UInt16` → `int`; those and
/// `Int32`, `UInt32` → `long`), `float` → `double`, a decimal of the same scale and
/// smaller precision, `LargeUtf8`/`Utf8View` → `string`, `LargeBinary`/`BinaryView` →
/// `binary`, timestamps with a UTC zone spelt differently, `LargeList`, and dictionary
/// encoded columns. A missing optional column is filled with nulls.
///
/// Errors, each naming the column by its full dotted name: a missing required column,
/// a column the table does not have, a type that cannot be converted, a null in a
/// required column.
pub fn align_batch(batch: &RecordBatch, schema: &Schema) -> Result<RecordBatch> {
    let target = Arc::new(schema_to_arrow(schema)?);
    align_batch_to(batch, schema, &target)
}

/// [`align_batch`] with the table's Arrow schema already converted (it must be
/// `schema_to_arrow(schema)`).
pub fn align_batch_to(
    batch: &RecordBatch,
    schema: &Schema,
    target: &ArrowSchemaRef,
) -> Result<RecordBatch> {
    align_struct_batch(batch, schema.as_struct(), target)
}

/// [`align_batch_to`] for rows of a struct type (which, unlike a [`Schema`], may use
/// reserved field ids, as delete files do).
pub fn align_struct_batch(
    batch: &RecordBatch,
    row_type: &StructType,
    target: &ArrowSchemaRef,
) -> Result<RecordBatch> {
    if row_type.len() != target.fields().len() {
        return Err(Error::invalid(
            "the Arrow schema does not match the row type it should be aligned to",
        ));
    }
    let columns = align_struct_columns(
        batch.schema().fields(),
        batch.columns(),
        row_type,
        target.fields(),
        None,
        "",
        batch.num_rows(),
    )?;
    RecordBatch::try_new_with_options(
        target.clone(),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(|e| arrow_error("aligning a record batch to the table schema", e))
}

/// Checks `batch` against the table schema without keeping the result (see
/// [`align_batch`] for what is checked).
pub fn check_batch(batch: &RecordBatch, schema: &Schema) -> Result<()> {
    align_batch(batch, schema).map(|_| ())
}

/// Aligns the children of a struct. `parent_nulls` are the nulls of the enclosing struct:
/// a required child may be null where its parent is.
fn align_struct_columns(
    in_fields: &Fields,
    in_columns: &[ArrayRef],
    iceberg: &StructType,
    out_fields: &Fields,
    parent_nulls: Option<&NullBuffer>,
    prefix: &str,
    len: usize,
) -> Result<Vec<ArrayRef>> {
    let mut by_name: HashMap<&str, usize> = HashMap::with_capacity(in_fields.len());
    for (i, f) in in_fields.iter().enumerate() {
        if by_name.insert(f.name().as_str(), i).is_some() {
            return Err(Error::invalid(format!(
                "column `{}` appears twice in the record batch",
                join(prefix, f.name())
            )));
        }
    }
    for f in in_fields {
        if iceberg.field_by_name(f.name()).is_none() {
            return Err(Error::invalid(format!(
                "column `{}` is not in the table schema",
                join(prefix, f.name())
            )));
        }
    }
    let mut out = Vec::with_capacity(iceberg.len());
    for (field, out_field) in iceberg.fields().iter().zip(out_fields.iter()) {
        let path = join(prefix, &field.name);
        if let Some(&i) = by_name.get(field.name.as_str()) {
            out.push(align_array(
                &in_columns[i],
                field,
                out_field,
                parent_nulls,
                &path,
            )?);
        } else if field.required {
            return Err(Error::invalid(format!(
                "required column `{path}` is missing from the record batch"
            )));
        } else {
            out.push(new_null_array(out_field.data_type(), len));
        }
    }
    Ok(out)
}

/// Nulls of `array` at positions where the parent is valid.
fn nulls_where_parent_valid(array: &dyn Array, parent: Option<&NullBuffer>) -> usize {
    match (array.logical_nulls(), parent) {
        (None, _) => 0,
        (Some(n), None) => n.null_count(),
        (Some(n), Some(p)) => n
            .iter()
            .zip(p.iter())
            .filter(|(valid, parent_valid)| !valid && *parent_valid)
            .count(),
    }
}

fn type_mismatch(path: &str, from: &DataType, to: &Type) -> Error {
    Error::invalid(format!(
        "column `{path}` has Arrow type {from}, which cannot be written to a column of type {to}"
    ))
}

fn align_array(
    array: &ArrayRef,
    field: &NestedField,
    out_field: &FieldRef,
    parent_nulls: Option<&NullBuffer>,
    path: &str,
) -> Result<ArrayRef> {
    if field.required && nulls_where_parent_valid(array.as_ref(), parent_nulls) > 0 {
        return Err(Error::invalid(format!(
            "required column `{path}` has {} null value(s)",
            nulls_where_parent_valid(array.as_ref(), parent_nulls)
        )));
    }
    let array = match array.data_type() {
        DataType::Dictionary(_, value) => {
            let value = value.as_ref().clone();
            arrow::compute::cast(array, &value)
                .map_err(|e| arrow_error(&format!("decoding dictionary column `{path}`"), e))?
        }
        _ => array.clone(),
    };
    let target = out_field.data_type();
    match (&*field.field_type, array.data_type()) {
        (Type::Primitive(p), dt) => {
            if dt == target {
                return Ok(array);
            }
            if !primitive_convertible(dt, p) {
                return Err(type_mismatch(path, dt, &field.field_type));
            }
            arrow::compute::cast(&array, target)
                .map_err(|e| arrow_error(&format!("converting column `{path}`"), e))
        }
        (Type::Struct(s), DataType::Struct(_)) => {
            let sa = array.as_struct();
            let DataType::Struct(out_children) = target else {
                return Err(type_mismatch(path, array.data_type(), &field.field_type));
            };
            let nulls = combine_nulls(sa.nulls(), parent_nulls);
            let children = align_struct_columns(
                sa.fields(),
                sa.columns(),
                s,
                out_children,
                nulls.as_ref(),
                path,
                sa.len(),
            )?;
            let out = StructArray::try_new_with_length(
                out_children.clone(),
                children,
                sa.nulls().cloned(),
                sa.len(),
            )
            .map_err(|e| arrow_error(&format!("building struct column `{path}`"), e))?;
            Ok(Arc::new(out))
        }
        (
            Type::List(l),
            DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..),
        ) => {
            let DataType::List(out_item) = target else {
                return Err(type_mismatch(path, array.data_type(), &field.field_type));
            };
            let (offsets, values, nulls) = list_parts(&array, path)?;
            let element_path = format!("{path}.element");
            let values = align_array(&values, &l.element_field, out_item, None, &element_path)?;
            let out = ListArray::try_new(out_item.clone(), offsets, values, nulls)
                .map_err(|e| arrow_error(&format!("building list column `{path}`"), e))?;
            Ok(Arc::new(out))
        }
        (Type::Map(m), DataType::Map(..)) => {
            let ma = array.as_map();
            let DataType::Map(out_entries, _) = target else {
                return Err(type_mismatch(path, array.data_type(), &field.field_type));
            };
            let DataType::Struct(out_kv) = out_entries.data_type() else {
                return Err(type_mismatch(path, array.data_type(), &field.field_type));
            };
            let entries = ma.entries();
            let key = align_array(
                entries.column(0),
                &m.key_field,
                &out_kv[0],
                None,
                &format!("{path}.key"),
            )?;
            let value = align_array(
                entries.column(1),
                &m.value_field,
                &out_kv[1],
                None,
                &format!("{path}.value"),
            )?;
            let entries = StructArray::try_new(out_kv.clone(), vec![key, value], None)
                .map_err(|e| arrow_error(&format!("building map column `{path}`"), e))?;
            let out = MapArray::try_new(
                out_entries.clone(),
                ma.offsets().clone(),
                entries,
                ma.nulls().cloned(),
                false,
            )
            .map_err(|e| arrow_error(&format!("building map column `{path}`"), e))?;
            Ok(Arc::new(out))
        }
        (t, dt) => Err(type_mismatch(path, dt, t)),
    }
}

fn combine_nulls(own: Option<&NullBuffer>, parent: Option<&NullBuffer>) -> Option<NullBuffer> {
    NullBuffer::union(own, parent)
}

/// Offsets (as i32), values and nulls of any Arrow list array. Values outside the ranges
/// of the offsets are sliced away so that checks on them only see real elements.
fn list_parts(
    array: &ArrayRef,
    path: &str,
) -> Result<(OffsetBuffer<i32>, ArrayRef, Option<NullBuffer>)> {
    let too_big = || {
        Error::invalid(format!(
            "list column `{path}` has more than 2^31 elements in one batch"
        ))
    };
    match array.data_type() {
        DataType::List(_) => {
            let la: &ListArray = array.as_list::<i32>();
            Ok(trim_list(la.offsets(), la.values(), la.nulls()))
        }
        DataType::LargeList(_) => {
            let la: &LargeListArray = array.as_list::<i64>();
            let offsets = la
                .offsets()
                .iter()
                .map(|o| i32::try_from(*o).map_err(|_| too_big()))
                .collect::<Result<Vec<_>>>()?;
            let offsets = OffsetBuffer::new(offsets.into());
            Ok(trim_list(&offsets, la.values(), la.nulls()))
        }
        DataType::FixedSizeList(_, size) => {
            let la: &FixedSizeListArray = array.as_fixed_size_list();
            let size = usize::try_from(*size).map_err(|_| too_big())?;
            let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(size, la.len()));
            let start = la.offset() * size;
            let values = la.values().slice(start, la.len() * size);
            Ok((offsets, values, la.nulls().cloned()))
        }
        other => Err(Error::invalid(format!(
            "column `{path}` has Arrow type {other}, expected a list"
        ))),
    }
}

fn trim_list(
    offsets: &OffsetBuffer<i32>,
    values: &ArrayRef,
    nulls: Option<&NullBuffer>,
) -> (OffsetBuffer<i32>, ArrayRef, Option<NullBuffer>) {
    let first = offsets.first().copied().unwrap_or(0);
    let last = offsets.last().copied().unwrap_or(0);
    let values = values.slice(first as usize, (last - first) as usize);
    let shifted: Vec<i32> = offsets.iter().map(|o| o - first).collect();
    (OffsetBuffer::new(shifted.into()), values, nulls.cloned())
}

/// Whether an Arrow column of type `dt` may be written to an Iceberg column of type `p`
/// (by an Arrow cast that loses nothing).
fn primitive_convertible(dt: &DataType, p: &PrimitiveType) -> bool {
    use DataType as D;
    use PrimitiveType as P;
    match (dt, p) {
        (D::Int8 | D::Int16 | D::Int32 | D::UInt8 | D::UInt16, P::Int)
        | (D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32, P::Long)
        | (D::Float32, P::Float)
        | (D::Float32 | D::Float64, P::Double)
        | (D::Utf8 | D::LargeUtf8 | D::Utf8View, P::String)
        | (D::Binary | D::LargeBinary | D::BinaryView, P::Binary)
        | (D::Date32, P::Date)
        | (D::Time64(TimeUnit::Microsecond), P::Time)
        | (D::Boolean, P::Boolean)
        | (D::Null, _) => true,
        (D::FixedSizeBinary(16), P::Uuid) => true,
        (D::FixedSizeBinary(n), P::Fixed(l)) => u64::try_from(*n).ok() == Some(*l),
        (D::Decimal128(ip, is), P::Decimal { precision, scale }) => {
            i64::from(*is) == i64::from(*scale) && u32::from(*ip) <= *precision
        }
        (D::Timestamp(TimeUnit::Microsecond, tz), P::Timestamp)
        | (D::Timestamp(TimeUnit::Nanosecond, tz), P::TimestampNs) => tz.is_none(),
        (D::Timestamp(TimeUnit::Microsecond, tz), P::Timestamptz)
        | (D::Timestamp(TimeUnit::Nanosecond, tz), P::TimestamptzNs) => {
            tz.as_deref().is_some_and(is_utc)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
