//! Partition transforms on Arrow arrays, and splitting record batches by partition.
//!
//! [`transform_array`] applies an Iceberg [`Transform`] to a whole column at once and
//! returns a column of the transform's result type; every value equals what
//! [`Transform::apply`] gives for the same [`Datum`] (the tests check this row by row).
//! [`datum_at`] and [`datums_to_array`] convert between Arrow columns and [`Datum`]s.
//!
//! [`PartitionSplitter`] computes the partition tuple of every row of a batch under a
//! partition spec, and groups the rows of a batch by partition:
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch};
//! use floe_spec::partition::{PartitionField, PartitionSpec};
//! use floe_spec::schema::Schema;
//! use floe_spec::transform::Transform;
//! use floe_spec::types::{NestedField, PrimitiveType, Type};
//! use floe_spec::values::Datum;
//! use floe_table::arrow_schema::schema_to_arrow;
//! use floe_table::arrow_transform::PartitionSplitter;
//!
//! let schema = Schema::builder()
//!     .with_fields(vec![NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long))])
//!     .build()
//!     .unwrap();
//! let spec = PartitionSpec {
//!     spec_id: 0,
//!     fields: vec![PartitionField {
//!         source_id: 1,
//!         field_id: 1000,
//!         name: "id_trunc".into(),
//!         transform: Transform::Truncate(10),
//!     }],
//! };
//! let batch = RecordBatch::try_new(
//!     Arc::new(schema_to_arrow(&schema).unwrap()),
//!     vec![Arc::new(Int64Array::from(vec![1, 15, 3, 12]))],
//! )
//! .unwrap();
//! let splitter = PartitionSplitter::try_new(&spec, &schema).unwrap();
//! let parts = splitter.split(&batch).unwrap();
//! assert_eq!(parts.len(), 2);
//! assert_eq!(parts[0].partition, vec![Some(Datum::Long(0))]);
//! assert_eq!(parts[0].batch.num_rows(), 2);
//! assert_eq!(parts[1].partition, vec![Some(Datum::Long(10))]);
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, BinaryArray, BooleanArray, Date32Array,
    Decimal128Array, FixedSizeBinaryArray, Float32Array, Float64Array, Int32Array, Int64Array,
    PrimitiveArray, RecordBatch, StringArray, StructArray, Time64MicrosecondArray,
    TimestampMicrosecondArray, TimestampNanosecondArray, UInt32Array, make_array, new_null_array,
};
use arrow::buffer::NullBuffer;
use arrow::compute::take_record_batch;
use arrow::datatypes::{
    Date32Type, Decimal128Type, Int32Type, Int64Type, Time64MicrosecondType,
    TimestampMicrosecondType, TimestampNanosecondType,
};
use arrow::row::{RowConverter, SortField};
use floe_spec::partition::PartitionSpec;
use floe_spec::schema::Schema;
use floe_spec::transform::{Transform, truncate_str};
use floe_spec::types::PrimitiveType;
use floe_spec::values::{Datum, decimal_to_min_be_bytes};
use uuid::Uuid;

use crate::arrow_schema::primitive_to_arrow;
use crate::error::{Error, Result, arrow_error};

const MICROS_PER_HOUR: i64 = 3_600_000_000;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;
const NANOS_PER_MICRO: i64 = 1_000;
const NANOS_PER_HOUR: i64 = MICROS_PER_HOUR * NANOS_PER_MICRO;
const NANOS_PER_DAY: i64 = MICROS_PER_DAY * NANOS_PER_MICRO;

/// Murmur3 x86 32-bit with seed 0, as `bucket` uses it.
fn murmur3_32(data: &[u8]) -> i32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mix = |k: u32| k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
    let mut h: u32 = 0;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        h ^= mix(k);
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut k: u32 = 0;
        for (i, b) in rest.iter().enumerate() {
            k |= u32::from(*b) << (8 * i);
        }
        h ^= mix(k);
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h as i32
}

fn hash_long(v: i64) -> i32 {
    murmur3_32(&v.to_le_bytes())
}

/// Days from the epoch to a proleptic Gregorian `(year, month)`.
fn year_month_from_days(days: i64) -> (i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month)
}

fn wrong_array(source: &PrimitiveType, array: &dyn Array) -> Error {
    Error::invalid(format!(
        "an Arrow array of type {} does not hold Iceberg {source} values",
        array.data_type()
    ))
}

fn prim<'a, T: ArrowPrimitiveType>(
    array: &'a dyn Array,
    source: &PrimitiveType,
) -> Result<&'a PrimitiveArray<T>> {
    array
        .as_primitive_opt::<T>()
        .ok_or_else(|| wrong_array(source, array))
}

/// The array as the canonical Arrow type of `source` (cast when it is e.g. `LargeUtf8`).
fn canonical(array: &dyn Array, source: &PrimitiveType) -> Result<ArrayRef> {
    let target = primitive_to_arrow(source)?;
    let array = make_array(array.to_data());
    if *array.data_type() == target {
        return Ok(array);
    }
    arrow::compute::cast(&array, &target)
        .map_err(|e| arrow_error(&format!("reading an Arrow array as {source}"), e))
}

/// Applies `transform` to every value of `array`, whose values have Iceberg type
/// `source`. The result has the Arrow type of the transform's result type
/// ([`Transform::result_type`]); nulls stay null, and `void` gives all nulls.
///
/// Errors: a transform that does not apply to `source`, an array that does not hold
/// `source` values, or a result out of range (e.g. `hour` of a timestamp 250,000 years
/// away).
pub fn transform_array(
    transform: Transform,
    source: &PrimitiveType,
    array: &dyn Array,
) -> Result<ArrayRef> {
    let result_type = transform.result_type(source)?;
    let array = canonical(array, source)?;
    let array = array.as_ref();
    let out_of_range = || {
        Error::invalid(format!(
            "transform {transform} of a {source} value is out of range of its result type"
        ))
    };
    let nulls = array.logical_nulls();
    let out: ArrayRef = match transform {
        Transform::Identity => make_array(array.to_data()),
        Transform::Void => new_null_array(&primitive_to_arrow(&result_type)?, array.len()),
        Transform::Unknown => {
            return Err(Error::unsupported(format!(
                "cannot apply an unknown transform to {source} values"
            )));
        }
        Transform::Bucket(n) => {
            if n == 0 {
                return Err(Error::invalid(
                    "transform bucket[0] is invalid: the bucket count must be > 0",
                ));
            }
            let hashes = bucket_hashes(source, array)?;
            let values: Vec<i32> = hashes
                .into_iter()
                .map(|h| (((h & i32::MAX) as u32) % n) as i32)
                .collect();
            Arc::new(Int32Array::new(values.into(), nulls))
        }
        Transform::Truncate(w) => {
            if w == 0 {
                return Err(Error::invalid(
                    "transform truncate[0] is invalid: the width must be > 0",
                ));
            }
            truncate_array(source, array, w, &out_of_range)?
        }
        Transform::Year | Transform::Month | Transform::Day | Transform::Hour => {
            time_array(transform, source, array, &out_of_range)?
        }
    };
    Ok(out)
}

fn bucket_hashes(source: &PrimitiveType, array: &dyn Array) -> Result<Vec<i32>> {
    use PrimitiveType as P;
    Ok(match source {
        P::Int => prim::<Int32Type>(array, source)?
            .values()
            .iter()
            .map(|v| hash_long(i64::from(*v)))
            .collect(),
        P::Date => prim::<Date32Type>(array, source)?
            .values()
            .iter()
            .map(|v| hash_long(i64::from(*v)))
            .collect(),
        P::Long => prim::<Int64Type>(array, source)?
            .values()
            .iter()
            .map(|v| hash_long(*v))
            .collect(),
        P::Time => prim::<Time64MicrosecondType>(array, source)?
            .values()
            .iter()
            .map(|v| hash_long(*v))
            .collect(),
        P::Timestamp | P::Timestamptz => prim::<TimestampMicrosecondType>(array, source)?
            .values()
            .iter()
            .map(|v| hash_long(*v))
            .collect(),
        P::TimestampNs | P::TimestamptzNs => prim::<TimestampNanosecondType>(array, source)?
            .values()
            .iter()
            .map(|v| hash_long(v.div_euclid(NANOS_PER_MICRO)))
            .collect(),
        P::Decimal { .. } => prim::<Decimal128Type>(array, source)?
            .values()
            .iter()
            .map(|v| murmur3_32(&decimal_to_min_be_bytes(*v)))
            .collect(),
        P::String => {
            let a = array
                .as_string_opt::<i32>()
                .ok_or_else(|| wrong_array(source, array))?;
            (0..a.len())
                .map(|i| murmur3_32(a.value(i).as_bytes()))
                .collect()
        }
        P::Binary => {
            let a = array
                .as_binary_opt::<i32>()
                .ok_or_else(|| wrong_array(source, array))?;
            (0..a.len()).map(|i| murmur3_32(a.value(i))).collect()
        }
        P::Uuid | P::Fixed(_) => {
            let a = array
                .as_fixed_size_binary_opt()
                .ok_or_else(|| wrong_array(source, array))?;
            (0..a.len()).map(|i| murmur3_32(a.value(i))).collect()
        }
        other => {
            return Err(Error::invalid(format!(
                "transform bucket cannot be applied to type {other}"
            )));
        }
    })
}

fn truncate_array(
    source: &PrimitiveType,
    array: &dyn Array,
    width: u32,
    out_of_range: &dyn Fn() -> Error,
) -> Result<ArrayRef> {
    use PrimitiveType as P;
    let nulls = array.logical_nulls();
    Ok(match source {
        P::Int => {
            let w = i64::from(width);
            let values: Vec<i32> = prim::<Int32Type>(array, source)?
                .values()
                .iter()
                .map(|v| (i64::from(*v) - i64::from(*v).rem_euclid(w)) as i32)
                .collect();
            Arc::new(Int32Array::new(values.into(), nulls))
        }
        P::Long => {
            let w = i128::from(width);
            let values: Vec<i64> = prim::<Int64Type>(array, source)?
                .values()
                .iter()
                .map(|v| (i128::from(*v) - i128::from(*v).rem_euclid(w)) as i64)
                .collect();
            Arc::new(Int64Array::new(values.into(), nulls))
        }
        P::Decimal { precision, scale } => {
            let a = prim::<Decimal128Type>(array, source)?;
            let w = i128::from(width);
            let mut values = Vec::with_capacity(a.len());
            for (i, v) in a.values().iter().enumerate() {
                let t = v.checked_sub(v.rem_euclid(w));
                match t {
                    Some(t) => values.push(t),
                    None if a.is_null(i) => values.push(0),
                    None => return Err(out_of_range()),
                }
            }
            let out = Decimal128Array::new(values.into(), nulls)
                .with_precision_and_scale(*precision as u8, *scale as i8)
                .map_err(|e| arrow_error("truncating decimals", e))?;
            Arc::new(out)
        }
        P::String => {
            let a = array
                .as_string_opt::<i32>()
                .ok_or_else(|| wrong_array(source, array))?;
            let out: StringArray = a
                .iter()
                .map(|v| v.map(|s| truncate_str(s, width as usize)))
                .collect();
            Arc::new(out)
        }
        P::Binary => {
            let a = array
                .as_binary_opt::<i32>()
                .ok_or_else(|| wrong_array(source, array))?;
            let out: BinaryArray = a
                .iter()
                .map(|v| v.map(|b| &b[..b.len().min(width as usize)]))
                .collect();
            Arc::new(out)
        }
        other => {
            return Err(Error::invalid(format!(
                "transform truncate[{width}] cannot be applied to type {other}"
            )));
        }
    })
}

fn time_array(
    transform: Transform,
    source: &PrimitiveType,
    array: &dyn Array,
    out_of_range: &dyn Fn() -> Error,
) -> Result<ArrayRef> {
    use PrimitiveType as P;
    let nulls = array.logical_nulls();
    // (days, hours) of each value; hours only for timestamps.
    let (days, hours): (Vec<i64>, Option<Vec<i64>>) = match source {
        P::Date => (
            prim::<Date32Type>(array, source)?
                .values()
                .iter()
                .map(|d| i64::from(*d))
                .collect(),
            None,
        ),
        P::Timestamp | P::Timestamptz => {
            let v = prim::<TimestampMicrosecondType>(array, source)?.values();
            if transform == Transform::Hour {
                (
                    Vec::new(),
                    Some(v.iter().map(|us| us.div_euclid(MICROS_PER_HOUR)).collect()),
                )
            } else {
                (
                    v.iter().map(|us| us.div_euclid(MICROS_PER_DAY)).collect(),
                    None,
                )
            }
        }
        P::TimestampNs | P::TimestamptzNs => {
            let v = prim::<TimestampNanosecondType>(array, source)?.values();
            if transform == Transform::Hour {
                (
                    Vec::new(),
                    Some(v.iter().map(|ns| ns.div_euclid(NANOS_PER_HOUR)).collect()),
                )
            } else {
                (
                    v.iter().map(|ns| ns.div_euclid(NANOS_PER_DAY)).collect(),
                    None,
                )
            }
        }
        other => {
            return Err(Error::invalid(format!(
                "transform {transform} cannot be applied to type {other}"
            )));
        }
    };
    let units: Vec<i64> = match transform {
        Transform::Hour => hours.ok_or_else(|| {
            Error::invalid(format!("transform hour cannot be applied to type {source}"))
        })?,
        Transform::Day => days,
        Transform::Year => days
            .into_iter()
            .map(|d| year_month_from_days(d).0 - 1970)
            .collect(),
        _ => days
            .into_iter()
            .map(|d| {
                let (y, m) = year_month_from_days(d);
                (y - 1970) * 12 + m - 1
            })
            .collect(),
    };
    let mut values = Vec::with_capacity(units.len());
    for (i, u) in units.into_iter().enumerate() {
        match i32::try_from(u) {
            Ok(v) => values.push(v),
            Err(_) if nulls.as_ref().is_some_and(|n| n.is_null(i)) => values.push(0),
            Err(_) => return Err(out_of_range()),
        }
    }
    Ok(if transform == Transform::Day {
        Arc::new(Date32Array::new(values.into(), nulls))
    } else {
        Arc::new(Int32Array::new(values.into(), nulls))
    })
}

/// The value at `row` of an array holding Iceberg `ty` values, `None` if null.
pub fn datum_at(array: &dyn Array, row: usize, ty: &PrimitiveType) -> Result<Option<Datum>> {
    use PrimitiveType as P;
    if row >= array.len() {
        return Err(Error::invalid(format!(
            "row {row} is out of range of an array of {} rows",
            array.len()
        )));
    }
    if array.is_null(row) || *ty == P::Unknown {
        return Ok(None);
    }
    Ok(Some(match ty {
        P::Boolean => Datum::Boolean(
            array
                .as_boolean_opt()
                .ok_or_else(|| wrong_array(ty, array))?
                .value(row),
        ),
        P::Int => Datum::Int(prim::<Int32Type>(array, ty)?.value(row)),
        P::Long => Datum::Long(prim::<Int64Type>(array, ty)?.value(row)),
        P::Float => Datum::Float(prim::<arrow::datatypes::Float32Type>(array, ty)?.value(row)),
        P::Double => Datum::Double(prim::<arrow::datatypes::Float64Type>(array, ty)?.value(row)),
        P::Decimal { precision, scale } => Datum::Decimal {
            unscaled: prim::<Decimal128Type>(array, ty)?.value(row),
            precision: *precision,
            scale: *scale,
        },
        P::Date => Datum::Date(prim::<Date32Type>(array, ty)?.value(row)),
        P::Time => Datum::Time(prim::<Time64MicrosecondType>(array, ty)?.value(row)),
        P::Timestamp => Datum::Timestamp(prim::<TimestampMicrosecondType>(array, ty)?.value(row)),
        P::Timestamptz => {
            Datum::Timestamptz(prim::<TimestampMicrosecondType>(array, ty)?.value(row))
        }
        P::TimestampNs => {
            Datum::TimestampNs(prim::<TimestampNanosecondType>(array, ty)?.value(row))
        }
        P::TimestamptzNs => {
            Datum::TimestamptzNs(prim::<TimestampNanosecondType>(array, ty)?.value(row))
        }
        P::String => match array.data_type() {
            arrow::datatypes::DataType::LargeUtf8 => {
                Datum::String(array.as_string::<i64>().value(row).to_owned())
            }
            arrow::datatypes::DataType::Utf8View => {
                Datum::String(array.as_string_view().value(row).to_owned())
            }
            _ => Datum::String(
                array
                    .as_string_opt::<i32>()
                    .ok_or_else(|| wrong_array(ty, array))?
                    .value(row)
                    .to_owned(),
            ),
        },
        P::Uuid => {
            let b = array
                .as_fixed_size_binary_opt()
                .ok_or_else(|| wrong_array(ty, array))?
                .value(row);
            Datum::Uuid(Uuid::from_slice(b).map_err(|_| wrong_array(ty, array))?)
        }
        P::Fixed(_) => Datum::Fixed(
            array
                .as_fixed_size_binary_opt()
                .ok_or_else(|| wrong_array(ty, array))?
                .value(row)
                .to_vec(),
        ),
        P::Binary => match array.data_type() {
            arrow::datatypes::DataType::LargeBinary => {
                Datum::Binary(array.as_binary::<i64>().value(row).to_vec())
            }
            arrow::datatypes::DataType::BinaryView => {
                Datum::Binary(array.as_binary_view().value(row).to_vec())
            }
            _ => Datum::Binary(
                array
                    .as_binary_opt::<i32>()
                    .ok_or_else(|| wrong_array(ty, array))?
                    .value(row)
                    .to_vec(),
            ),
        },
        P::Unknown => return Ok(None),
    }))
}

/// An Arrow array (of the canonical Arrow type of `ty`) holding `values`. Errors name a
/// value whose type is not `ty`.
pub fn datums_to_array(values: &[Option<Datum>], ty: &PrimitiveType) -> Result<ArrayRef> {
    use PrimitiveType as P;
    let bad = |d: &Datum| Error::invalid(format!("value {d} is not of type {ty}"));
    macro_rules! collect {
        ($arr:ty, $pat:pat => $v:expr) => {{
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    None => None,
                    Some($pat) => Some($v),
                    Some(d) => return Err(bad(d)),
                });
            }
            Arc::new(out.into_iter().collect::<$arr>()) as ArrayRef
        }};
    }
    Ok(match ty {
        P::Boolean => collect!(BooleanArray, Datum::Boolean(b) => *b),
        P::Int => collect!(Int32Array, Datum::Int(v) => *v),
        P::Long => collect!(Int64Array, Datum::Long(v) => *v),
        P::Float => collect!(Float32Array, Datum::Float(v) => *v),
        P::Double => collect!(Float64Array, Datum::Double(v) => *v),
        P::Decimal { precision, scale } => {
            let a = collect!(Decimal128Array, Datum::Decimal { unscaled, .. } => *unscaled);
            Arc::new(
                a.as_primitive::<Decimal128Type>()
                    .clone()
                    .with_precision_and_scale(*precision as u8, *scale as i8)
                    .map_err(|e| arrow_error("building a decimal array", e))?,
            )
        }
        P::Date => collect!(Date32Array, Datum::Date(v) => *v),
        P::Time => collect!(Time64MicrosecondArray, Datum::Time(v) => *v),
        P::Timestamp => collect!(TimestampMicrosecondArray, Datum::Timestamp(v) => *v),
        P::Timestamptz => {
            let a = collect!(TimestampMicrosecondArray, Datum::Timestamptz(v) => *v);
            Arc::new(
                a.as_primitive::<TimestampMicrosecondType>()
                    .clone()
                    .with_timezone(crate::arrow_schema::UTC_TIME_ZONE),
            )
        }
        P::TimestampNs => collect!(TimestampNanosecondArray, Datum::TimestampNs(v) => *v),
        P::TimestamptzNs => {
            let a = collect!(TimestampNanosecondArray, Datum::TimestamptzNs(v) => *v);
            Arc::new(
                a.as_primitive::<TimestampNanosecondType>()
                    .clone()
                    .with_timezone(crate::arrow_schema::UTC_TIME_ZONE),
            )
        }
        P::String => collect!(StringArray, Datum::String(s) => s.as_str()),
        P::Binary => collect!(BinaryArray, Datum::Binary(b) => b.as_slice()),
        P::Uuid => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    None => None,
                    Some(Datum::Uuid(u)) => Some(u.as_bytes().to_vec()),
                    Some(d) => return Err(bad(d)),
                });
            }
            Arc::new(
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(out.into_iter(), 16)
                    .map_err(|e| arrow_error("building a uuid array", e))?,
            )
        }
        P::Fixed(len) => {
            let mut out = Vec::with_capacity(values.len());
            for v in values {
                out.push(match v {
                    None => None,
                    Some(Datum::Fixed(b)) if b.len() as u64 == *len => Some(b.clone()),
                    Some(d) => return Err(bad(d)),
                });
            }
            let size = i32::try_from(*len)
                .map_err(|_| Error::invalid(format!("fixed length {len} is too large")))?;
            Arc::new(
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(out.into_iter(), size)
                    .map_err(|e| arrow_error("building a fixed array", e))?,
            )
        }
        P::Unknown => new_null_array(&arrow::datatypes::DataType::Null, values.len()),
    })
}

/// One field of a [`PartitionSplitter`].
#[derive(Debug, Clone)]
struct SplitField {
    transform: Transform,
    /// Positions from the batch's top level down to the source column, through structs;
    /// `None` for a void field whose source is gone or nested in a list or map.
    accessor: Option<Vec<usize>>,
    source_type: PrimitiveType,
    result_type: PrimitiveType,
}

/// The rows of a batch that share one partition tuple.
#[derive(Debug, Clone)]
pub struct PartitionedBatch {
    /// The partition tuple, in partition spec field order.
    pub partition: Vec<Option<Datum>>,
    /// The rows (in their original relative order).
    pub batch: RecordBatch,
}

/// Computes partition tuples of rows of record batches aligned to a table schema (see
/// [`crate::arrow_schema::align_batch`]) under one partition spec.
#[derive(Debug, Clone)]
pub struct PartitionSplitter {
    fields: Vec<SplitField>,
}

impl PartitionSplitter {
    /// A splitter for `spec` on `schema`. Errors name a partition field whose source
    /// column is missing or whose transform does not apply to the source type.
    pub fn try_new(spec: &PartitionSpec, schema: &Schema) -> Result<Self> {
        let partition_type = spec.partition_type(schema)?;
        let mut fields = Vec::with_capacity(spec.fields.len());
        for (f, pt) in spec.fields.iter().zip(partition_type.fields()) {
            let result_type = pt.field_type.as_primitive().cloned().ok_or_else(|| {
                Error::invalid(format!("partition field `{}` is not primitive", f.name))
            })?;
            let source = schema
                .field_by_id(f.source_id)
                .and_then(|s| s.field_type.as_primitive().cloned());
            let accessor = schema.accessor_by_id(f.source_id).map(<[usize]>::to_vec);
            if f.transform != Transform::Void && (source.is_none() || accessor.is_none()) {
                return Err(Error::invalid(format!(
                    "partition field `{}`: source column {} is not a primitive column \
                     outside lists and maps",
                    f.name, f.source_id
                )));
            }
            fields.push(SplitField {
                transform: f.transform,
                accessor: if f.transform == Transform::Void {
                    None
                } else {
                    accessor
                },
                source_type: source.unwrap_or(PrimitiveType::Int),
                result_type,
            });
        }
        Ok(Self { fields })
    }

    /// Number of partition fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the spec has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The partition columns of `batch`: one array per partition field, of the Arrow type
    /// of the field's result type.
    pub fn partition_arrays(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        self.fields
            .iter()
            .map(|f| match &f.accessor {
                None => Ok(new_null_array(
                    &primitive_to_arrow(&f.result_type)?,
                    batch.num_rows(),
                )),
                Some(path) => {
                    let source = source_column(batch, path)?;
                    transform_array(f.transform, &f.source_type, source.as_ref())
                }
            })
            .collect()
    }

    /// The partition tuple of every row of `batch`.
    pub fn partition_values(&self, batch: &RecordBatch) -> Result<Vec<Vec<Option<Datum>>>> {
        let arrays = self.partition_arrays(batch)?;
        (0..batch.num_rows())
            .map(|row| self.tuple_at(&arrays, row))
            .collect()
    }

    fn tuple_at(&self, arrays: &[ArrayRef], row: usize) -> Result<Vec<Option<Datum>>> {
        arrays
            .iter()
            .zip(&self.fields)
            .map(|(a, f)| datum_at(a.as_ref(), row, &f.result_type))
            .collect()
    }

    /// Groups the rows of `batch` by partition tuple, in order of first appearance. An
    /// empty batch gives no groups; a batch whose rows share one partition is returned
    /// whole, without copying.
    pub fn split(&self, batch: &RecordBatch) -> Result<Vec<PartitionedBatch>> {
        if batch.num_rows() == 0 {
            return Ok(Vec::new());
        }
        if self.fields.is_empty() {
            return Ok(vec![PartitionedBatch {
                partition: Vec::new(),
                batch: batch.clone(),
            }]);
        }
        let arrays = self.partition_arrays(batch)?;
        let converter = RowConverter::new(
            arrays
                .iter()
                .map(|a| SortField::new(a.data_type().clone()))
                .collect(),
        )
        .map_err(|e| arrow_error("encoding partition values", e))?;
        let rows = converter
            .convert_columns(&arrays)
            .map_err(|e| arrow_error("encoding partition values", e))?;
        let mut groups: HashMap<arrow::row::Row<'_>, usize> = HashMap::new();
        let mut members: Vec<Vec<u32>> = Vec::new();
        for i in 0..batch.num_rows() {
            let g = *groups.entry(rows.row(i)).or_insert_with(|| {
                members.push(Vec::new());
                members.len() - 1
            });
            members[g].push(i as u32);
        }
        let single = members.len() == 1;
        members
            .into_iter()
            .map(|rows| {
                let partition = self.tuple_at(&arrays, rows[0] as usize)?;
                let batch = if single {
                    batch.clone()
                } else {
                    take_record_batch(batch, &UInt32Array::from(rows))
                        .map_err(|e| arrow_error("splitting a batch by partition", e))?
                };
                Ok(PartitionedBatch { partition, batch })
            })
            .collect()
    }
}

/// The column at `path` (positions through structs), with the nulls of enclosing
/// structs applied.
fn source_column(batch: &RecordBatch, path: &[usize]) -> Result<ArrayRef> {
    let missing = || {
        Error::invalid(format!(
            "the record batch has no column at position {path:?}; align it to the table \
             schema first"
        ))
    };
    let (&first, rest) = path.split_first().ok_or_else(missing)?;
    if first >= batch.num_columns() {
        return Err(missing());
    }
    let mut current = batch.column(first).clone();
    let mut parent_nulls: Option<NullBuffer> = None;
    for &pos in rest {
        let s: &StructArray = current.as_struct_opt().ok_or_else(missing)?;
        parent_nulls = NullBuffer::union(parent_nulls.as_ref(), s.nulls());
        if pos >= s.num_columns() {
            return Err(missing());
        }
        current = s.column(pos).clone();
    }
    if let Some(pn) = parent_nulls {
        let nulls = NullBuffer::union(Some(&pn), current.logical_nulls().as_ref());
        let data = current
            .to_data()
            .into_builder()
            .nulls(nulls)
            .build()
            .map_err(|e| arrow_error("reading a nested partition source column", e))?;
        current = make_array(data);
    }
    Ok(current)
}

#[cfg(test)]
mod tests;
