//! Values: [`Datum`] (a typed primitive value) and [`Literal`] (any value, nested too).
//!
//! Two serializations from the spec live here:
//! - the single-value **binary** form of Appendix D, used for column bounds in manifests
//!   ([`Datum::to_bytes`], [`Datum::from_bytes`]);
//! - the single-value **JSON** form of Appendix C, used for defaults, REST data files and
//!   predicates ([`Datum::to_json`], [`Datum::from_json`], [`Literal::to_json`]).
//!
//! ```
//! use floe_spec::types::PrimitiveType;
//! use floe_spec::values::Datum;
//! let d = Datum::Decimal { unscaled: 1420, precision: 9, scale: 2 };
//! assert_eq!(d.to_json(), serde_json::json!("14.20"));
//! assert_eq!(Datum::from_json(&serde_json::json!("14.20"), &d.data_type()).unwrap(), d);
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::types::{PrimitiveType, Type};

const UNIX_EPOCH_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("1970-01-01 is a date"),
};

/// A primitive value together with its Iceberg type.
///
/// Equality, ordering and hashing follow Iceberg: floats compare by total order
/// (−0.0 < +0.0, NaN greatest), values of different types are unequal and order by
/// type.
#[derive(Debug, Clone)]
pub enum Datum {
    /// `boolean`
    Boolean(bool),
    /// `int`
    Int(i32),
    /// `long`
    Long(i64),
    /// `float`
    Float(f32),
    /// `double`
    Double(f64),
    /// `decimal(P,S)` as its unscaled value.
    Decimal {
        /// The unscaled value: 14.20 with scale 2 is 1420.
        unscaled: i128,
        /// Precision of the type.
        precision: u32,
        /// Scale of the type.
        scale: u32,
    },
    /// `date`: days from 1970-01-01.
    Date(i32),
    /// `time`: microseconds from midnight.
    Time(i64),
    /// `timestamp`: microseconds from the epoch.
    Timestamp(i64),
    /// `timestamptz`: microseconds from the epoch, UTC.
    Timestamptz(i64),
    /// `timestamp_ns`: nanoseconds from the epoch.
    TimestampNs(i64),
    /// `timestamptz_ns`: nanoseconds from the epoch, UTC.
    TimestamptzNs(i64),
    /// `string`
    String(String),
    /// `uuid`
    Uuid(Uuid),
    /// `fixed[L]`: exactly L bytes.
    Fixed(Vec<u8>),
    /// `binary`
    Binary(Vec<u8>),
}

impl Datum {
    /// The Iceberg type of this value.
    pub fn data_type(&self) -> PrimitiveType {
        match self {
            Datum::Boolean(_) => PrimitiveType::Boolean,
            Datum::Int(_) => PrimitiveType::Int,
            Datum::Long(_) => PrimitiveType::Long,
            Datum::Float(_) => PrimitiveType::Float,
            Datum::Double(_) => PrimitiveType::Double,
            Datum::Decimal {
                precision, scale, ..
            } => PrimitiveType::Decimal {
                precision: *precision,
                scale: *scale,
            },
            Datum::Date(_) => PrimitiveType::Date,
            Datum::Time(_) => PrimitiveType::Time,
            Datum::Timestamp(_) => PrimitiveType::Timestamp,
            Datum::Timestamptz(_) => PrimitiveType::Timestamptz,
            Datum::TimestampNs(_) => PrimitiveType::TimestampNs,
            Datum::TimestamptzNs(_) => PrimitiveType::TimestamptzNs,
            Datum::String(_) => PrimitiveType::String,
            Datum::Uuid(_) => PrimitiveType::Uuid,
            Datum::Fixed(b) => PrimitiveType::Fixed(b.len() as u64),
            Datum::Binary(_) => PrimitiveType::Binary,
        }
    }

    fn type_rank(&self) -> u8 {
        match self {
            Datum::Boolean(_) => 0,
            Datum::Int(_) => 1,
            Datum::Long(_) => 2,
            Datum::Float(_) => 3,
            Datum::Double(_) => 4,
            Datum::Decimal { .. } => 5,
            Datum::Date(_) => 6,
            Datum::Time(_) => 7,
            Datum::Timestamp(_) => 8,
            Datum::Timestamptz(_) => 9,
            Datum::TimestampNs(_) => 10,
            Datum::TimestamptzNs(_) => 11,
            Datum::String(_) => 12,
            Datum::Uuid(_) => 13,
            Datum::Fixed(_) => 14,
            Datum::Binary(_) => 15,
        }
    }

    /// Whether this is a float or double NaN.
    pub fn is_nan(&self) -> bool {
        match self {
            Datum::Float(f) => f.is_nan(),
            Datum::Double(f) => f.is_nan(),
            _ => false,
        }
    }

    /// The single-value binary serialization of Appendix D.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Datum::Boolean(b) => vec![u8::from(*b)],
            Datum::Int(v) | Datum::Date(v) => v.to_le_bytes().to_vec(),
            Datum::Long(v)
            | Datum::Time(v)
            | Datum::Timestamp(v)
            | Datum::Timestamptz(v)
            | Datum::TimestampNs(v)
            | Datum::TimestamptzNs(v) => v.to_le_bytes().to_vec(),
            Datum::Float(v) => v.to_le_bytes().to_vec(),
            Datum::Double(v) => v.to_le_bytes().to_vec(),
            Datum::Decimal { unscaled, .. } => decimal_to_min_be_bytes(*unscaled),
            Datum::String(s) => s.as_bytes().to_vec(),
            Datum::Uuid(u) => u.as_bytes().to_vec(),
            Datum::Fixed(b) | Datum::Binary(b) => b.clone(),
        }
    }

    /// Reads the single-value binary serialization of Appendix D for type `ty`.
    ///
    /// For promoted columns the width is inferred from the length: 4 bytes for a
    /// `long` column read as an `int` bound, 4 bytes for a `double` read as `float`.
    pub fn from_bytes(bytes: &[u8], ty: &PrimitiveType) -> Result<Datum> {
        let bad = || {
            Error::invalid(format!(
                "invalid {}-byte binary value for type {ty}",
                bytes.len()
            ))
        };
        let le4 = |b: &[u8]| -> Result<[u8; 4]> { b.try_into().map_err(|_| bad()) };
        let le8 = |b: &[u8]| -> Result<[u8; 8]> { b.try_into().map_err(|_| bad()) };
        Ok(match ty {
            PrimitiveType::Boolean => match bytes {
                [0] => Datum::Boolean(false),
                [1] => Datum::Boolean(true),
                _ => return Err(bad()),
            },
            PrimitiveType::Int => Datum::Int(i32::from_le_bytes(le4(bytes)?)),
            PrimitiveType::Date => Datum::Date(i32::from_le_bytes(le4(bytes)?)),
            PrimitiveType::Long => {
                if bytes.len() == 4 {
                    Datum::Long(i64::from(i32::from_le_bytes(le4(bytes)?)))
                } else {
                    Datum::Long(i64::from_le_bytes(le8(bytes)?))
                }
            }
            PrimitiveType::Float => Datum::Float(f32::from_le_bytes(le4(bytes)?)),
            PrimitiveType::Double => {
                if bytes.len() == 4 {
                    Datum::Double(f64::from(f32::from_le_bytes(le4(bytes)?)))
                } else {
                    Datum::Double(f64::from_le_bytes(le8(bytes)?))
                }
            }
            PrimitiveType::Time => Datum::Time(i64::from_le_bytes(le8(bytes)?)),
            PrimitiveType::Timestamp => Datum::Timestamp(i64::from_le_bytes(le8(bytes)?)),
            PrimitiveType::Timestamptz => Datum::Timestamptz(i64::from_le_bytes(le8(bytes)?)),
            PrimitiveType::TimestampNs => Datum::TimestampNs(i64::from_le_bytes(le8(bytes)?)),
            PrimitiveType::TimestamptzNs => Datum::TimestamptzNs(i64::from_le_bytes(le8(bytes)?)),
            PrimitiveType::Decimal { precision, scale } => {
                if bytes.is_empty() || bytes.len() > 16 {
                    return Err(bad());
                }
                Datum::Decimal {
                    unscaled: decimal_from_be_bytes(bytes),
                    precision: *precision,
                    scale: *scale,
                }
            }
            PrimitiveType::String => Datum::String(
                String::from_utf8(bytes.to_vec())
                    .map_err(|_| Error::invalid("string bound is not valid UTF-8"))?,
            ),
            PrimitiveType::Uuid => Datum::Uuid(Uuid::from_slice(bytes).map_err(|_| bad())?),
            PrimitiveType::Fixed(len) => {
                if bytes.len() as u64 != *len {
                    return Err(bad());
                }
                Datum::Fixed(bytes.to_vec())
            }
            PrimitiveType::Binary => Datum::Binary(bytes.to_vec()),
            PrimitiveType::Unknown => {
                return Err(Error::invalid("type unknown has no non-null values"));
            }
        })
    }

    /// The single-value JSON serialization of Appendix C.
    pub fn to_json(&self) -> Value {
        match self {
            Datum::Boolean(b) => Value::from(*b),
            Datum::Int(v) => Value::from(*v),
            Datum::Long(v) => Value::from(*v),
            Datum::Float(v) => float_json(f64::from(*v)),
            Datum::Double(v) => float_json(*v),
            Datum::Decimal {
                unscaled, scale, ..
            } => Value::from(format_decimal(*unscaled, *scale)),
            Datum::Date(d) => Value::from(date_to_string(*d)),
            Datum::Time(t) => Value::from(time_to_string(*t)),
            Datum::Timestamp(t) => Value::from(timestamp_to_string(*t, 6, false)),
            Datum::Timestamptz(t) => Value::from(timestamp_to_string(*t, 6, true)),
            Datum::TimestampNs(t) => Value::from(timestamp_to_string(*t, 9, false)),
            Datum::TimestamptzNs(t) => Value::from(timestamp_to_string(*t, 9, true)),
            Datum::String(s) => Value::from(s.clone()),
            Datum::Uuid(u) => Value::from(u.hyphenated().to_string()),
            Datum::Fixed(b) | Datum::Binary(b) => Value::from(hex_upper(b)),
        }
    }

    /// Reads the single-value JSON serialization of Appendix C for type `ty`.
    pub fn from_json(v: &Value, ty: &PrimitiveType) -> Result<Datum> {
        let bad = || Error::invalid(format!("invalid JSON value {v} for type {ty}"));
        Ok(match ty {
            PrimitiveType::Boolean => Datum::Boolean(v.as_bool().ok_or_else(bad)?),
            PrimitiveType::Int => Datum::Int(
                v.as_i64()
                    .and_then(|n| i32::try_from(n).ok())
                    .ok_or_else(bad)?,
            ),
            PrimitiveType::Long => Datum::Long(v.as_i64().ok_or_else(bad)?),
            PrimitiveType::Float => Datum::Float(json_float(v).ok_or_else(bad)? as f32),
            PrimitiveType::Double => Datum::Double(json_float(v).ok_or_else(bad)?),
            PrimitiveType::Decimal { precision, scale } => {
                let s = v.as_str().ok_or_else(bad)?;
                Datum::Decimal {
                    unscaled: parse_decimal(s, *scale)?,
                    precision: *precision,
                    scale: *scale,
                }
            }
            PrimitiveType::Date => Datum::Date(parse_date(v.as_str().ok_or_else(bad)?)?),
            PrimitiveType::Time => Datum::Time(parse_time(v.as_str().ok_or_else(bad)?)?),
            PrimitiveType::Timestamp => {
                Datum::Timestamp(parse_timestamp(v.as_str().ok_or_else(bad)?, false, false)?)
            }
            PrimitiveType::Timestamptz => {
                Datum::Timestamptz(parse_timestamp(v.as_str().ok_or_else(bad)?, true, false)?)
            }
            PrimitiveType::TimestampNs => {
                Datum::TimestampNs(parse_timestamp(v.as_str().ok_or_else(bad)?, false, true)?)
            }
            PrimitiveType::TimestamptzNs => {
                Datum::TimestamptzNs(parse_timestamp(v.as_str().ok_or_else(bad)?, true, true)?)
            }
            PrimitiveType::String => Datum::String(v.as_str().ok_or_else(bad)?.to_string()),
            PrimitiveType::Uuid => {
                Datum::Uuid(Uuid::parse_str(v.as_str().ok_or_else(bad)?).map_err(|_| bad())?)
            }
            PrimitiveType::Fixed(len) => {
                let b = parse_hex(v.as_str().ok_or_else(bad)?).ok_or_else(bad)?;
                if b.len() as u64 != *len {
                    return Err(bad());
                }
                Datum::Fixed(b)
            }
            PrimitiveType::Binary => {
                Datum::Binary(parse_hex(v.as_str().ok_or_else(bad)?).ok_or_else(bad)?)
            }
            PrimitiveType::Unknown => return Err(bad()),
        })
    }
}

impl PartialEq for Datum {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Datum {}

impl PartialOrd for Datum {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Datum {
    fn cmp(&self, other: &Self) -> Ordering {
        use Datum as D;
        match (self, other) {
            (D::Boolean(a), D::Boolean(b)) => a.cmp(b),
            (D::Int(a), D::Int(b)) | (D::Date(a), D::Date(b)) => a.cmp(b),
            (D::Long(a), D::Long(b))
            | (D::Time(a), D::Time(b))
            | (D::Timestamp(a), D::Timestamp(b))
            | (D::Timestamptz(a), D::Timestamptz(b))
            | (D::TimestampNs(a), D::TimestampNs(b))
            | (D::TimestamptzNs(a), D::TimestamptzNs(b)) => a.cmp(b),
            (D::Float(a), D::Float(b)) => a.total_cmp(b),
            (D::Double(a), D::Double(b)) => a.total_cmp(b),
            (
                D::Decimal {
                    unscaled: a,
                    precision: pa,
                    scale: sa,
                },
                D::Decimal {
                    unscaled: b,
                    precision: pb,
                    scale: sb,
                },
            ) => (sa, a, pa).cmp(&(sb, b, pb)),
            (D::String(a), D::String(b)) => a.cmp(b),
            (D::Uuid(a), D::Uuid(b)) => a.cmp(b),
            (D::Fixed(a), D::Fixed(b)) | (D::Binary(a), D::Binary(b)) => a.cmp(b),
            _ => self.type_rank().cmp(&other.type_rank()),
        }
    }
}

impl Hash for Datum {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.type_rank().hash(state);
        match self {
            Datum::Boolean(v) => v.hash(state),
            Datum::Int(v) | Datum::Date(v) => v.hash(state),
            Datum::Long(v)
            | Datum::Time(v)
            | Datum::Timestamp(v)
            | Datum::Timestamptz(v)
            | Datum::TimestampNs(v)
            | Datum::TimestamptzNs(v) => v.hash(state),
            Datum::Float(v) => v.to_bits().hash(state),
            Datum::Double(v) => v.to_bits().hash(state),
            Datum::Decimal {
                unscaled,
                precision,
                scale,
            } => (unscaled, precision, scale).hash(state),
            Datum::String(s) => s.hash(state),
            Datum::Uuid(u) => u.hash(state),
            Datum::Fixed(b) | Datum::Binary(b) => b.hash(state),
        }
    }
}

impl fmt::Display for Datum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_json() {
            Value::String(s) => write!(f, "'{s}'"),
            other => write!(f, "{other}"),
        }
    }
}

/// Any Iceberg value: a primitive, or a struct, list or map of values. `None` entries are
/// nulls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Literal {
    /// A primitive value.
    Primitive(Datum),
    /// Struct field values, in field order.
    Struct(Vec<(i32, Option<Literal>)>),
    /// List elements.
    List(Vec<Option<Literal>>),
    /// Map entries.
    Map(Vec<(Literal, Option<Literal>)>),
}

impl Literal {
    /// The JSON single-value form: structs are objects keyed by field id, maps are
    /// `{"keys": [...], "values": [...]}`.
    pub fn to_json(&self) -> Value {
        match self {
            Literal::Primitive(d) => d.to_json(),
            Literal::Struct(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(id, v)| {
                        (
                            id.to_string(),
                            v.as_ref().map_or(Value::Null, Literal::to_json),
                        )
                    })
                    .collect(),
            ),
            Literal::List(items) => Value::Array(
                items
                    .iter()
                    .map(|v| v.as_ref().map_or(Value::Null, Literal::to_json))
                    .collect(),
            ),
            Literal::Map(entries) => {
                let keys = entries.iter().map(|(k, _)| k.to_json()).collect();
                let values = entries
                    .iter()
                    .map(|(_, v)| v.as_ref().map_or(Value::Null, Literal::to_json))
                    .collect();
                serde_json::json!({ "keys": Value::Array(keys), "values": Value::Array(values) })
            }
        }
    }

    /// Reads the JSON single-value form for type `ty`.
    pub fn from_json(v: &Value, ty: &Type) -> Result<Literal> {
        match ty {
            Type::Primitive(p) => Datum::from_json(v, p).map(Literal::Primitive),
            Type::Struct(s) => {
                let obj = v.as_object().ok_or_else(|| {
                    Error::invalid(format!("a struct value must be an object, got {v}"))
                })?;
                let mut out = Vec::with_capacity(s.len());
                for f in s.fields() {
                    let value = match obj.get(&f.id.to_string()) {
                        None | Some(Value::Null) => None,
                        Some(x) => Some(Literal::from_json(x, &f.field_type)?),
                    };
                    out.push((f.id, value));
                }
                Ok(Literal::Struct(out))
            }
            Type::List(l) => {
                let arr = v.as_array().ok_or_else(|| {
                    Error::invalid(format!("a list value must be an array, got {v}"))
                })?;
                arr.iter()
                    .map(|x| match x {
                        Value::Null => Ok(None),
                        x => Literal::from_json(x, &l.element_field.field_type).map(Some),
                    })
                    .collect::<Result<Vec<_>>>()
                    .map(Literal::List)
            }
            Type::Map(m) => {
                let keys = v.get("keys").and_then(Value::as_array);
                let values = v.get("values").and_then(Value::as_array);
                let (Some(keys), Some(values)) = (keys, values) else {
                    bail_invalid!(
                        "a map value must be {{\"keys\": [...], \"values\": [...]}}, got {v}"
                    );
                };
                if keys.len() != values.len() {
                    bail_invalid!(
                        "map value has {} keys but {} values",
                        keys.len(),
                        values.len()
                    );
                }
                let mut out = Vec::with_capacity(keys.len());
                for (k, val) in keys.iter().zip(values) {
                    let key = Literal::from_json(k, &m.key_field.field_type)?;
                    let value = match val {
                        Value::Null => None,
                        x => Some(Literal::from_json(x, &m.value_field.field_type)?),
                    };
                    out.push((key, value));
                }
                Ok(Literal::Map(out))
            }
        }
    }

    /// The primitive value, if this is one.
    pub fn as_datum(&self) -> Option<&Datum> {
        match self {
            Literal::Primitive(d) => Some(d),
            _ => None,
        }
    }
}

impl From<Datum> for Literal {
    fn from(d: Datum) -> Self {
        Literal::Primitive(d)
    }
}

fn float_json(v: f64) -> Value {
    if v.is_finite() {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    } else if v.is_nan() {
        Value::from("NaN")
    } else if v > 0.0 {
        Value::from("Infinity")
    } else {
        Value::from("-Infinity")
    }
}

fn json_float(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

/// Minimal big-endian two's-complement bytes of an unscaled decimal.
pub fn decimal_to_min_be_bytes(v: i128) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 15 {
        let b = bytes[start];
        let next = bytes[start + 1];
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    bytes[start..].to_vec()
}

/// Reads big-endian two's-complement bytes (1 to 16 of them) as an `i128`.
pub fn decimal_from_be_bytes(bytes: &[u8]) -> i128 {
    let fill = if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        0xff
    } else {
        0x00
    };
    let mut buf = [fill; 16];
    let n = bytes.len().min(16);
    buf[16 - n..].copy_from_slice(&bytes[bytes.len() - n..]);
    i128::from_be_bytes(buf)
}

/// Formats an unscaled decimal with `scale` digits after the point (`1420`, 2 → `14.20`).
pub fn format_decimal(unscaled: i128, scale: u32) -> String {
    if scale == 0 {
        return unscaled.to_string();
    }
    let neg = unscaled < 0;
    let digits = unscaled.unsigned_abs().to_string();
    let scale = scale as usize;
    let padded = if digits.len() <= scale {
        format!("{}{digits}", "0".repeat(scale - digits.len() + 1))
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{}{int}.{frac}", if neg { "-" } else { "" })
}

/// Parses a decimal string (`"14.20"`, `"-3"`, `"2E+2"`) into its unscaled value at
/// `scale`. Digits beyond the scale are an error, not rounded.
pub fn parse_decimal(s: &str, scale: u32) -> Result<i128> {
    let bad = || Error::invalid(format!("invalid decimal `{s}` for scale {scale}"));
    let t = s.trim();
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], t[i + 1..].parse::<i32>().map_err(|_| bad())?),
        None => (t, 0),
    };
    let (neg, m) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int, frac) = m.split_once('.').unwrap_or((m, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let digits = format!("{int}{frac}");
    // value = digits * 10^(exp - frac.len()); want value * 10^scale
    let shift = i64::from(exp) - frac.len() as i64 + i64::from(scale);
    let mut unscaled: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse::<i128>().map_err(|_| bad())?
    };
    if shift >= 0 {
        for _ in 0..shift {
            unscaled = unscaled.checked_mul(10).ok_or_else(bad)?;
        }
    } else {
        for _ in 0..(-shift) {
            if unscaled % 10 != 0 {
                return Err(bad());
            }
            unscaled /= 10;
        }
    }
    Ok(if neg { -unscaled } else { unscaled })
}

/// Days from the epoch to an ISO date string.
pub fn date_to_string(days: i32) -> String {
    UNIX_EPOCH_DATE
        .checked_add_signed(chrono::Duration::days(i64::from(days)))
        .map_or_else(|| days.to_string(), |d| d.format("%Y-%m-%d").to_string())
}

fn parse_date(s: &str) -> Result<i32> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| Error::invalid(format!("invalid date `{s}`, expected YYYY-MM-DD")))?;
    Ok((d - UNIX_EPOCH_DATE).num_days() as i32)
}

fn time_to_string(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let frac = micros.rem_euclid(1_000_000);
    NaiveTime::from_num_seconds_from_midnight_opt(secs as u32, (frac * 1000) as u32).map_or_else(
        || micros.to_string(),
        |t| t.format("%H:%M:%S%.6f").to_string(),
    )
}

fn parse_time(s: &str) -> Result<i64> {
    let t = NaiveTime::parse_from_str(s, "%H:%M:%S%.f")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .map_err(|_| Error::invalid(format!("invalid time `{s}`, expected HH:MM:SS.ffffff")))?;
    Ok(i64::from(t.num_seconds_from_midnight()) * 1_000_000 + i64::from(t.nanosecond() / 1000))
}

fn timestamp_to_string(v: i64, digits: u32, tz: bool) -> String {
    let per_sec = if digits == 9 {
        1_000_000_000
    } else {
        1_000_000
    };
    let secs = v.div_euclid(per_sec);
    let sub = v.rem_euclid(per_sec);
    let nanos = if digits == 9 { sub } else { sub * 1000 };
    let Some(dt) = DateTime::from_timestamp(secs, nanos as u32) else {
        return v.to_string();
    };
    let fmt = if digits == 9 {
        "%Y-%m-%dT%H:%M:%S%.9f"
    } else {
        "%Y-%m-%dT%H:%M:%S%.6f"
    };
    let base = dt.naive_utc().format(fmt).to_string();
    if tz { format!("{base}+00:00") } else { base }
}

fn parse_timestamp(s: &str, tz: bool, nanos: bool) -> Result<i64> {
    let bad = || Error::invalid(format!("invalid timestamp `{s}`"));
    let naive = if tz {
        DateTime::parse_from_rfc3339(s)
            .or_else(|_| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%:z"))
            .map_err(|_| bad())?
            .naive_utc()
    } else {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").map_err(|_| bad())?
    };
    let utc = naive.and_utc();
    if nanos {
        utc.timestamp_nanos_opt().ok_or_else(bad)
    } else {
        Ok(utc.timestamp_micros())
    }
}

fn hex_upper(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for byte in b {
        let _ = write!(s, "{byte:02X}");
    }
    s
}

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn appendix_d_known_values() {
        assert_eq!(Datum::Int(1).to_bytes(), vec![1, 0, 0, 0]);
        assert_eq!(Datum::Long(-1).to_bytes(), vec![0xff; 8]);
        assert_eq!(Datum::Boolean(true).to_bytes(), vec![1]);
        assert_eq!(
            Datum::String("iceberg".into()).to_bytes(),
            b"iceberg".to_vec()
        );
        // 14.20 → unscaled 1420 = 0x058C
        let d = Datum::Decimal {
            unscaled: 1420,
            precision: 9,
            scale: 2,
        };
        assert_eq!(d.to_bytes(), vec![0x05, 0x8c]);
        assert_eq!(decimal_to_min_be_bytes(-1), vec![0xff]);
        assert_eq!(decimal_to_min_be_bytes(128), vec![0x00, 0x80]);
        assert_eq!(decimal_to_min_be_bytes(-129), vec![0xff, 0x7f]);
        // A long column promoted from int keeps 4-byte bounds.
        assert_eq!(
            Datum::from_bytes(&[7, 0, 0, 0], &PrimitiveType::Long).unwrap(),
            Datum::Long(7)
        );
    }

    #[test]
    fn appendix_c_known_values() {
        assert_eq!(Datum::Date(17486).to_json(), Value::from("2017-11-16"));
        assert_eq!(
            Datum::Time(81_068_123_456).to_json(),
            Value::from("22:31:08.123456")
        );
        assert_eq!(
            Datum::Timestamp(1_510_871_468_123_456).to_json(),
            Value::from("2017-11-16T22:31:08.123456")
        );
        assert_eq!(
            Datum::Timestamptz(1_510_871_468_123_456).to_json(),
            Value::from("2017-11-16T22:31:08.123456+00:00")
        );
        assert_eq!(
            Datum::TimestampNs(1_510_871_468_123_456_789).to_json(),
            Value::from("2017-11-16T22:31:08.123456789")
        );
        assert_eq!(
            Datum::Binary(vec![0, 1, 2, 0xff]).to_json(),
            Value::from("000102FF")
        );
        assert_eq!(parse_decimal("2E+2", 0).unwrap(), 200);
        assert_eq!(parse_decimal("-0.05", 2).unwrap(), -5);
        assert!(parse_decimal("1.234", 2).is_err());
        assert_eq!(format_decimal(-5, 2), "-0.05");
        assert_eq!(
            Datum::from_json(
                &Value::from("2017-11-16T14:31:08.123456-08:00"),
                &PrimitiveType::Timestamptz
            )
            .unwrap(),
            Datum::Timestamptz(1_510_871_468_123_456)
        );
    }

    #[test]
    fn float_order_is_total() {
        assert!(Datum::Double(-0.0) < Datum::Double(0.0));
        assert!(Datum::Double(f64::NAN) > Datum::Double(f64::INFINITY));
        assert_eq!(Datum::Float(f32::NAN), Datum::Float(f32::NAN));
    }

    fn any_datum() -> impl Strategy<Value = Datum> {
        prop_oneof![
            any::<bool>().prop_map(Datum::Boolean),
            any::<i32>().prop_map(Datum::Int),
            any::<i64>().prop_map(Datum::Long),
            any::<f32>().prop_map(Datum::Float),
            any::<f64>().prop_map(Datum::Double),
            (any::<i64>(), 0u32..10).prop_map(|(u, s)| Datum::Decimal {
                unscaled: i128::from(u),
                precision: 38,
                scale: s
            }),
            (-100_000i32..100_000).prop_map(Datum::Date),
            (0i64..86_400_000_000).prop_map(Datum::Time),
            (-4_000_000_000_000_000i64..4_000_000_000_000_000).prop_map(Datum::Timestamp),
            (-4_000_000_000_000_000i64..4_000_000_000_000_000).prop_map(Datum::Timestamptz),
            any::<i64>().prop_map(Datum::TimestampNs),
            ".*".prop_map(Datum::String),
            any::<u128>().prop_map(|u| Datum::Uuid(Uuid::from_u128(u))),
            proptest::collection::vec(any::<u8>(), 1..20).prop_map(Datum::Fixed),
            proptest::collection::vec(any::<u8>(), 0..20).prop_map(Datum::Binary),
        ]
    }

    proptest! {
        #[test]
        fn binary_round_trip(d in any_datum()) {
            let back = Datum::from_bytes(&d.to_bytes(), &d.data_type()).unwrap();
            prop_assert_eq!(back, d);
        }

        #[test]
        fn json_round_trip(d in any_datum()) {
            let back = Datum::from_json(&d.to_json(), &d.data_type()).unwrap();
            prop_assert_eq!(back, d);
        }

        #[test]
        fn decimal_bytes_round_trip(v in any::<i128>()) {
            prop_assert_eq!(decimal_from_be_bytes(&decimal_to_min_be_bytes(v)), v);
        }
    }
}
