//! Partition transforms: their names, result types and how they map values.
//!
//! The JSON and display form is the spec's: `identity`, `bucket[N]`, `truncate[W]`,
//! `year`, `month`, `day`, `hour`, `void`.
//!
//! [`Transform::apply`] maps a source value to its partition value exactly as the Java
//! reference implementation does (spec "Partition Transforms" and Appendix B), and
//! [`Transform::to_human_string`] renders a partition value the way Java's
//! `Transform.toHumanString` does, for partition paths.
//!
//! ```
//! use floe_spec::transform::Transform;
//! use floe_spec::values::Datum;
//! let day = Transform::Day.apply(&Datum::Timestamp(1_510_871_468_000_000)).unwrap();
//! assert_eq!(day, Some(Datum::Date(17_486)));
//! assert_eq!(Transform::Day.to_human_string(day.as_ref()), "2017-11-16");
//! assert_eq!(
//!     Transform::Bucket(16).apply(&Datum::String("iceberg".into())).unwrap(),
//!     Some(Datum::Int(1_210_000_089 % 16)),
//! );
//! ```

use std::fmt::{self, Write as _};
use std::str::FromStr;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, ErrorKind, Result};
use crate::types::PrimitiveType;
use crate::values::{Datum, decimal_to_min_be_bytes};

/// A partition or sort transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transform {
    /// The value itself.
    Identity,
    /// `bucket[N]`: Murmur3 hash of the value modulo N.
    Bucket(u32),
    /// `truncate[W]`: the value truncated to width W.
    Truncate(u32),
    /// Years from 1970.
    Year,
    /// Months from 1970-01.
    Month,
    /// Days from 1970-01-01.
    Day,
    /// Hours from 1970-01-01 00:00.
    Hour,
    /// Always null.
    Void,
    /// A transform this version does not know; kept so metadata round-trips.
    Unknown,
}

impl FromStr for Transform {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim();
        let param = |prefix: &str| -> Option<Result<u32>> {
            let inner = t.strip_prefix(prefix)?.strip_suffix(']')?;
            Some(
                inner
                    .trim()
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| Error::invalid(format!("invalid transform parameter in `{s}`"))),
            )
        };
        if let Some(n) = param("bucket[") {
            return Ok(Transform::Bucket(n?));
        }
        if let Some(w) = param("truncate[") {
            return Ok(Transform::Truncate(w?));
        }
        Ok(match t {
            "identity" => Transform::Identity,
            "year" => Transform::Year,
            "month" => Transform::Month,
            "day" => Transform::Day,
            "hour" => Transform::Hour,
            "void" => Transform::Void,
            "unknown" => Transform::Unknown,
            _ => return Err(Error::invalid(format!("unknown transform `{s}`"))),
        })
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transform::Identity => f.write_str("identity"),
            Transform::Bucket(n) => write!(f, "bucket[{n}]"),
            Transform::Truncate(w) => write!(f, "truncate[{w}]"),
            Transform::Year => f.write_str("year"),
            Transform::Month => f.write_str("month"),
            Transform::Day => f.write_str("day"),
            Transform::Hour => f.write_str("hour"),
            Transform::Void => f.write_str("void"),
            Transform::Unknown => f.write_str("unknown"),
        }
    }
}

impl Serialize for Transform {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Transform {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(de::Error::custom)
    }
}

impl Transform {
    /// The type of the transform's result for a source column of type `source`, or an
    /// error naming the pair if the transform cannot apply to that type.
    pub fn result_type(&self, source: &PrimitiveType) -> Result<PrimitiveType> {
        use PrimitiveType as P;
        let bad = || {
            Error::invalid(format!(
                "transform {self} cannot be applied to type {source}"
            ))
        };
        match self {
            Transform::Identity | Transform::Unknown => Ok(source.clone()),
            Transform::Void => Ok(source.clone()),
            Transform::Bucket(_) => match source {
                P::Int
                | P::Long
                | P::Decimal { .. }
                | P::Date
                | P::Time
                | P::Timestamp
                | P::Timestamptz
                | P::TimestampNs
                | P::TimestamptzNs
                | P::String
                | P::Uuid
                | P::Fixed(_)
                | P::Binary => Ok(P::Int),
                _ => Err(bad()),
            },
            Transform::Truncate(_) => match source {
                P::Int | P::Long | P::Decimal { .. } | P::String | P::Binary => Ok(source.clone()),
                _ => Err(bad()),
            },
            Transform::Year | Transform::Month => match source {
                P::Date | P::Timestamp | P::Timestamptz | P::TimestampNs | P::TimestamptzNs => {
                    Ok(P::Int)
                }
                _ => Err(bad()),
            },
            Transform::Day => match source {
                P::Date | P::Timestamp | P::Timestamptz | P::TimestampNs | P::TimestamptzNs => {
                    Ok(P::Date)
                }
                _ => Err(bad()),
            },
            Transform::Hour => match source {
                P::Timestamp | P::Timestamptz | P::TimestampNs | P::TimestamptzNs => Ok(P::Int),
                _ => Err(bad()),
            },
        }
    }
}

const NANOS_PER_MICRO: i64 = 1_000;
const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_HOUR: i64 = 3_600 * MICROS_PER_SECOND;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;
const NANOS_PER_HOUR: i64 = MICROS_PER_HOUR * NANOS_PER_MICRO;
const NANOS_PER_DAY: i64 = MICROS_PER_DAY * NANOS_PER_MICRO;
const EPOCH_YEAR: i64 = 1970;

/// The 32-bit hash of a value that `bucket[N]` uses: Murmur3 x86 32-bit with seed 0 over
/// the bytes Appendix B of the spec assigns to each type.
///
/// `int`, `long`, `date`, `time` and the timestamps hash as an 8-byte little-endian long
/// (so an `int` column promoted to `long` keeps its buckets); `timestamp_ns` and
/// `timestamptz_ns` are floored to microseconds first; `string` hashes its UTF-8 bytes,
/// `uuid` its 16 big-endian bytes, `fixed` and `binary` their bytes, and `decimal` the
/// minimal big-endian two's-complement bytes of its unscaled value (independent of the
/// scale). `boolean`, `float` and `double` cannot be bucketed, but hash as the spec's
/// second table says so that the function is total: `false`/`true` as the long 0/1 (the
/// spec's `hashInt`, whose test value needs the 8-byte form, like `date`), floats widened
/// to double and hashed as their IEEE bits (NaN canonical, −0.0 as 0.0).
pub fn bucket_hash(value: &Datum) -> Result<i32> {
    match value {
        Datum::Int(v) | Datum::Date(v) => hash_long(i64::from(*v)),
        Datum::Long(v) | Datum::Time(v) | Datum::Timestamp(v) | Datum::Timestamptz(v) => {
            hash_long(*v)
        }
        Datum::TimestampNs(v) | Datum::TimestamptzNs(v) => hash_long(v.div_euclid(NANOS_PER_MICRO)),
        Datum::Decimal { unscaled, .. } => murmur3_32(&decimal_to_min_be_bytes(*unscaled)),
        Datum::String(s) => murmur3_32(s.as_bytes()),
        Datum::Uuid(u) => murmur3_32(u.as_bytes()),
        Datum::Fixed(b) | Datum::Binary(b) => murmur3_32(b),
        Datum::Boolean(b) => hash_long(i64::from(*b)),
        Datum::Float(f) => hash_long(double_to_long_bits(f64::from(*f))),
        Datum::Double(f) => hash_long(double_to_long_bits(*f)),
    }
}

fn hash_long(v: i64) -> Result<i32> {
    murmur3_32(&v.to_le_bytes())
}

/// IEEE 754 bits with NaN canonicalized and −0.0 mapped to 0.0 (Appendix B note 5).
fn double_to_long_bits(f: f64) -> i64 {
    if f.is_nan() {
        0x7ff8_0000_0000_0000
    } else if f == 0.0 {
        0
    } else {
        f.to_bits() as i64
    }
}

fn murmur3_32(mut bytes: &[u8]) -> Result<i32> {
    murmur3::murmur3_32(&mut bytes, 0)
        .map(|h| h as i32)
        .map_err(|e| Error::new(ErrorKind::Unexpected, "murmur3 hash failed").with_source(e))
}

/// `v` truncated to a multiple of `width`, rounding toward negative infinity.
///
/// Like Java, the result wraps around for the few values within `width` of `i32::MIN`.
fn truncate_i32(v: i32, width: u32) -> i32 {
    let w = i64::from(width);
    (i64::from(v) - i64::from(v).rem_euclid(w)) as i32
}

/// `v` truncated to a multiple of `width` (wrapping near `i64::MIN`, like Java).
fn truncate_i64(v: i64, width: u32) -> i64 {
    let w = i128::from(width);
    (i128::from(v) - i128::from(v).rem_euclid(w)) as i64
}

/// The longest prefix of `s` with at most `max_code_points` Unicode code points.
pub fn truncate_str(s: &str, max_code_points: usize) -> &str {
    match s.char_indices().nth(max_code_points) {
        Some((end, _)) => s.get(..end).unwrap_or(s),
        None => s,
    }
}

/// Days from the epoch to a proleptic Gregorian `(year, month, day)`; total for every
/// `i64` whose magnitude is below about 2^62 (callers pass far smaller values).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Howard Hinnant's `civil_from_days`, eras of 400 years starting on March 1st.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// Days and (for timestamps) hours from the epoch of a temporal value, floored.
fn epoch_days_and_hours(value: &Datum) -> Option<(i64, Option<i64>)> {
    match value {
        Datum::Date(d) => Some((i64::from(*d), None)),
        Datum::Timestamp(us) | Datum::Timestamptz(us) => Some((
            us.div_euclid(MICROS_PER_DAY),
            Some(us.div_euclid(MICROS_PER_HOUR)),
        )),
        Datum::TimestampNs(ns) | Datum::TimestamptzNs(ns) => Some((
            ns.div_euclid(NANOS_PER_DAY),
            Some(ns.div_euclid(NANOS_PER_HOUR)),
        )),
        _ => None,
    }
}

impl Transform {
    /// The partition value of `value`: `Ok(None)` for `void`, an error naming the
    /// transform and the type if the transform cannot take values of that type (or is
    /// [`Transform::Unknown`]), or the value is out of range of the result type.
    ///
    /// The results match the Java reference implementation bit for bit: `bucket[N]` is
    /// `(bucket_hash(v) & i32::MAX) % N`; `truncate[W]` rounds numbers toward negative
    /// infinity (decimals on the unscaled value), keeps at most W code points of a string
    /// and at most W bytes of a binary; `year`, `month`, `day` and `hour` count whole units
    /// from 1970-01-01T00:00 (negative before it), `day` as a [`Datum::Date`].
    pub fn apply(&self, value: &Datum) -> Result<Option<Datum>> {
        self.result_type(&value.data_type())?;
        let out_of_range = || {
            Error::invalid(format!(
                "transform {self} of value {value} is out of range of its result type"
            ))
        };
        let datum = match self {
            Transform::Identity => value.clone(),
            Transform::Void => return Ok(None),
            Transform::Unknown => {
                return Err(Error::unsupported(format!(
                    "cannot apply an unknown transform to value {value}"
                )));
            }
            Transform::Bucket(n) => {
                if *n == 0 {
                    bail_invalid!("transform bucket[0] is invalid: the bucket count must be > 0");
                }
                let h = bucket_hash(value)? & i32::MAX;
                Datum::Int(((h as u32) % n) as i32)
            }
            Transform::Truncate(w) => {
                if *w == 0 {
                    bail_invalid!("transform truncate[0] is invalid: the width must be > 0");
                }
                match value {
                    Datum::Int(v) => Datum::Int(truncate_i32(*v, *w)),
                    Datum::Long(v) => Datum::Long(truncate_i64(*v, *w)),
                    Datum::Decimal {
                        unscaled,
                        precision,
                        scale,
                    } => Datum::Decimal {
                        unscaled: unscaled
                            .checked_sub(unscaled.rem_euclid(i128::from(*w)))
                            .ok_or_else(out_of_range)?,
                        precision: *precision,
                        scale: *scale,
                    },
                    Datum::String(s) => Datum::String(truncate_str(s, *w as usize).to_owned()),
                    Datum::Binary(b) => {
                        Datum::Binary(b.iter().take(*w as usize).copied().collect())
                    }
                    _ => return Err(self.cannot_apply(value)),
                }
            }
            Transform::Year | Transform::Month | Transform::Day | Transform::Hour => {
                let (days, hours) =
                    epoch_days_and_hours(value).ok_or_else(|| self.cannot_apply(value))?;
                let n = match self {
                    Transform::Hour => hours.ok_or_else(|| self.cannot_apply(value))?,
                    Transform::Day => days,
                    _ => {
                        let (year, month, _) = civil_from_days(days);
                        let years = year - EPOCH_YEAR;
                        if *self == Transform::Year {
                            years
                        } else {
                            years * 12 + i64::from(month) - 1
                        }
                    }
                };
                let n = i32::try_from(n).map_err(|_| out_of_range())?;
                if *self == Transform::Day {
                    Datum::Date(n)
                } else {
                    Datum::Int(n)
                }
            }
        };
        Ok(Some(datum))
    }

    /// [`Transform::apply`] for a nullable value: null maps to null.
    pub fn apply_opt(&self, value: Option<&Datum>) -> Result<Option<Datum>> {
        match value {
            Some(v) => self.apply(v),
            None => Ok(None),
        }
    }

    fn cannot_apply(self, value: &Datum) -> Error {
        Error::invalid(format!(
            "transform {self} cannot be applied to type {}",
            value.data_type()
        ))
    }

    /// Whether the transform is monotonic: `a < b` implies `apply(a) <= apply(b)`.
    /// True for `identity`, `truncate` and the time transforms.
    pub fn preserves_order(&self) -> bool {
        matches!(
            self,
            Transform::Identity
                | Transform::Truncate(_)
                | Transform::Year
                | Transform::Month
                | Transform::Day
                | Transform::Hour
        )
    }

    /// Hours in the unit of a time transform (Java `ChronoUnit` estimated durations).
    fn granularity_hours(self) -> Option<u32> {
        match self {
            Transform::Hour => Some(1),
            Transform::Day => Some(24),
            Transform::Month => Some(730),
            Transform::Year => Some(8_765),
            _ => None,
        }
    }

    /// Whether data ordered by this transform is also ordered by `other`, as Java's
    /// `Transform.satisfiesOrderOf`: `identity` satisfies every order-preserving
    /// transform; `truncate[W]` satisfies `truncate[V]` for `V <= W`; a time transform
    /// satisfies any coarser-or-equal one (`hour` ⇒ `day` ⇒ `month` ⇒ `year`);
    /// `bucket[N]` and `void` only themselves; an unknown transform nothing.
    pub fn satisfies_order_of(&self, other: &Transform) -> bool {
        match self {
            Transform::Identity => other.preserves_order(),
            Transform::Truncate(w) => matches!(other, Transform::Truncate(v) if v <= w),
            Transform::Year | Transform::Month | Transform::Day | Transform::Hour => {
                match (self.granularity_hours(), other.granularity_hours()) {
                    (Some(mine), Some(theirs)) => mine <= theirs,
                    _ => false,
                }
            }
            Transform::Bucket(_) | Transform::Void => self == other,
            Transform::Unknown => false,
        }
    }

    /// The name used to detect that a spec partitions one column twice in the same way:
    /// `time` for every time transform (a column may have only one), otherwise the
    /// transform's own name (`bucket[16]`).
    pub fn dedup_name(&self) -> String {
        match self {
            Transform::Year | Transform::Month | Transform::Day | Transform::Hour => {
                "time".to_owned()
            }
            _ => self.to_string(),
        }
    }

    /// A partition value (a result of this transform) as Java's
    /// `Transform.toHumanString` writes it in partition paths: `null` for null,
    /// `2017` / `2017-11` / `2017-11-16` / `2017-11-16-22` for year / month / day /
    /// hour, and for other transforms by type: ISO dates, times and timestamps
    /// (`2017-11-16T22:31:08.123+00:00` for `timestamptz`), base64 for `fixed` and
    /// `binary`, Java's `toString` for numbers (`1.0E10`, decimals as `BigDecimal`).
    pub fn to_human_string(&self, value: Option<&Datum>) -> String {
        let Some(v) = value else {
            return "null".to_owned();
        };
        match (self, v) {
            (Transform::Void, _) => "null".to_owned(),
            (Transform::Year, Datum::Int(y)) => human_year(i64::from(*y)),
            (Transform::Month, Datum::Int(m)) => human_month(i64::from(*m)),
            (Transform::Day, Datum::Int(d) | Datum::Date(d)) => human_day(i64::from(*d)),
            (Transform::Hour, Datum::Int(h)) => human_hour(i64::from(*h)),
            _ => human_value(v),
        }
    }
}

/// Java `String.format("%04d", year)`: at least four digits, `-` counted in the width.
fn human_year(years_from_epoch: i64) -> String {
    format!("{:04}", EPOCH_YEAR + years_from_epoch)
}

fn human_month(months_from_epoch: i64) -> String {
    format!(
        "{:04}-{:02}",
        EPOCH_YEAR + months_from_epoch.div_euclid(12),
        1 + months_from_epoch.rem_euclid(12)
    )
}

fn human_day(days_from_epoch: i64) -> String {
    let (y, m, d) = civil_from_days(days_from_epoch);
    format!("{y:04}-{m:02}-{d:02}")
}

fn human_hour(hours_from_epoch: i64) -> String {
    let (y, m, d) = civil_from_days(hours_from_epoch.div_euclid(24));
    format!(
        "{y:04}-{m:02}-{d:02}-{:02}",
        hours_from_epoch.rem_euclid(24)
    )
}

/// A primitive value as Java's `Transform.toHumanString(type, value)` writes it.
fn human_value(v: &Datum) -> String {
    match v {
        Datum::Boolean(b) => b.to_string(),
        Datum::Int(i) => i.to_string(),
        Datum::Long(l) => l.to_string(),
        Datum::Float(f) => java_float_string(f64::from(*f), &format!("{:e}", f.abs())),
        Datum::Double(f) => java_float_string(*f, &format!("{:e}", f.abs())),
        Datum::Decimal {
            unscaled, scale, ..
        } => java_big_decimal_string(*unscaled, *scale),
        Datum::Date(d) => human_day(i64::from(*d)),
        Datum::Time(us) => java_local_time_string(*us),
        Datum::Timestamp(us) => iso_timestamp(*us, 1_000, false),
        Datum::Timestamptz(us) => iso_timestamp(*us, 1_000, true),
        Datum::TimestampNs(ns) => iso_timestamp(*ns, 1, false),
        Datum::TimestamptzNs(ns) => iso_timestamp(*ns, 1, true),
        Datum::String(s) => s.clone(),
        Datum::Uuid(u) => u.hyphenated().to_string(),
        Datum::Fixed(b) | Datum::Binary(b) => base64(b),
    }
}

/// Java `DateTimeFormatter.ISO_LOCAL_DATE_TIME` (plus `+00:00` for zoned types) of a
/// timestamp in units of `nanos_per_unit` nanoseconds: seconds always shown, the
/// fraction only if non-zero and without trailing zeros.
fn iso_timestamp(v: i64, nanos_per_unit: i64, with_zone: bool) -> String {
    let units_per_second = 1_000_000_000 / nanos_per_unit;
    let seconds = v.div_euclid(units_per_second);
    let nanos = v.rem_euclid(units_per_second) * nanos_per_unit;
    let (y, mo, d) = civil_from_days(seconds.div_euclid(86_400));
    let sod = seconds.rem_euclid(86_400);
    let year = if y > 9_999 {
        format!("+{y}")
    } else if y < 0 {
        format!("-{:04}", -y)
    } else {
        format!("{y:04}")
    };
    let mut out = format!(
        "{year}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3_600,
        sod / 60 % 60,
        sod % 60
    );
    if nanos != 0 {
        let digits = format!("{nanos:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    if with_zone {
        out.push_str("+00:00");
    }
    out
}

/// Java `LocalTime.toString()` of microseconds from midnight: `HH:mm`, then `:ss` if
/// seconds or fraction are non-zero, then the fraction in groups of three digits.
fn java_local_time_string(micros: i64) -> String {
    if !(0..MICROS_PER_DAY).contains(&micros) {
        return micros.to_string();
    }
    let seconds = micros / MICROS_PER_SECOND;
    let micro = micros % MICROS_PER_SECOND;
    let mut out = format!("{:02}:{:02}", seconds / 3_600, seconds / 60 % 60);
    if seconds % 60 != 0 || micro != 0 {
        let _ = write!(out, ":{:02}", seconds % 60);
        if micro % 1_000 == 0 && micro != 0 {
            let _ = write!(out, ".{:03}", micro / 1_000);
        } else if micro != 0 {
            let _ = write!(out, ".{micro:06}");
        }
    }
    out
}

/// Java `Double.toString` / `Float.toString` of `v`, given Rust's shortest round-trip
/// scientific form of `|v|` (`1.2345e-5`): plain decimal for 10^-3 <= |v| < 10^7 (with
/// at least one fractional digit), `d.dddE±n` otherwise.
fn java_float_string(v: f64, sci_abs: &str) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    if v == 0.0 {
        return format!("{sign}0.0");
    }
    let (mantissa, exp) = sci_abs.split_once('e').unwrap_or((sci_abs, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let abs = v.abs();
    if (1e-3..1e7).contains(&abs) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            let padded = format!("{digits:0<int_len$}");
            let (int, frac) = padded.split_at(int_len);
            let frac = if frac.is_empty() { "0" } else { frac };
            format!("{sign}{int}.{frac}")
        } else {
            let zeros = "0".repeat((-exp - 1) as usize);
            format!("{sign}0.{zeros}{digits}")
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

/// Java `BigDecimal.toString()` of `unscaled × 10^-scale` (scale ≥ 0): plain when the
/// adjusted exponent is at least −6, scientific (`1.5E-7`, `0E-10`) otherwise.
fn java_big_decimal_string(unscaled: i128, scale: u32) -> String {
    let digits = unscaled.unsigned_abs().to_string();
    let adjusted = digits.len() as i64 - 1 - i64::from(scale);
    if scale == 0 || adjusted >= -6 {
        return crate::values::format_decimal(unscaled, scale);
    }
    let sign = if unscaled < 0 { "-" } else { "" };
    let (first, rest) = digits.split_at(1);
    if rest.is_empty() {
        format!("{sign}{first}E{adjusted}")
    } else {
        format!("{sign}{first}.{rest}E{adjusted}")
    }
}

/// Standard base64 with padding (Java `Base64.getEncoder()`).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sextet = |n: u32, shift: u32| char::from(ALPHABET[((n >> shift) & 0x3f) as usize]);
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sextet(n, 18));
        out.push(sextet(n, 12));
        out.push(if chunk.len() > 1 { sextet(n, 6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(n, 0) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;
    use proptest::prelude::*;
    use serde_json::Value;
    use uuid::Uuid;

    fn parse(text: &str, ty: &PrimitiveType) -> Datum {
        Datum::from_json(&Value::from(text), ty).unwrap()
    }

    fn dec(unscaled: i128, precision: u32, scale: u32) -> Datum {
        Datum::Decimal {
            unscaled,
            precision,
            scale,
        }
    }

    fn apply(t: Transform, d: &Datum) -> Datum {
        t.apply(d).unwrap().unwrap()
    }

    /// Spec Appendix B, "32-bit Hash Requirements" (apache/iceberg format/spec.md).
    #[test]
    fn appendix_b_hash_test_values() {
        use PrimitiveType as P;
        let cases: Vec<(Datum, i32)> = vec![
            (Datum::Int(34), 2_017_239_379),
            (Datum::Long(34), 2_017_239_379),
            (dec(1420, 9, 2), -500_754_589),
            (parse("2017-11-16", &P::Date), -653_330_422),
            (parse("22:31:08", &P::Time), -662_762_989),
            (parse("2017-11-16T22:31:08", &P::Timestamp), -2_047_944_441),
            (
                parse("2017-11-16T22:31:08.000001", &P::Timestamp),
                -1_207_196_810,
            ),
            (
                parse("2017-11-16T14:31:08-08:00", &P::Timestamptz),
                -2_047_944_441,
            ),
            (
                parse("2017-11-16T14:31:08.000001-08:00", &P::Timestamptz),
                -1_207_196_810,
            ),
            (
                parse("2017-11-16T22:31:08", &P::TimestampNs),
                -2_047_944_441,
            ),
            (
                parse("2017-11-16T22:31:08.000001001", &P::TimestampNs),
                -1_207_196_810,
            ),
            (
                parse("2017-11-16T14:31:08-08:00", &P::TimestamptzNs),
                -2_047_944_441,
            ),
            (
                parse("2017-11-16T14:31:08.000001001-08:00", &P::TimestamptzNs),
                -1_207_196_810,
            ),
            (Datum::String("iceberg".into()), 1_210_000_089),
            (
                parse("f79c3e09-677c-4bbd-a479-3f349cb785e7", &P::Uuid),
                1_488_055_340,
            ),
            (Datum::Fixed(vec![0, 1, 2, 3]), -188_683_207),
            (Datum::Binary(vec![0, 1, 2, 3]), -188_683_207),
            // The second table: types that cannot be bucketed today.
            (Datum::Boolean(true), 1_392_991_556),
            (Datum::Float(1.0), -142_385_009),
            (Datum::Float(0.0), 1_669_671_676),
            (Datum::Float(-0.0), 1_669_671_676),
            (Datum::Double(1.0), -142_385_009),
            (Datum::Double(0.0), 1_669_671_676),
            (Datum::Double(-0.0), 1_669_671_676),
        ];
        for (value, expected) in cases {
            assert_eq!(bucket_hash(&value).unwrap(), expected, "hash of {value:?}");
        }
        // The UUID's bytes are big-endian, as the spec spells them out.
        let u = parse("f79c3e09-677c-4bbd-a479-3f349cb785e7", &P::Uuid);
        assert_eq!(
            u.to_bytes(),
            vec![
                0xF7, 0x9C, 0x3E, 0x09, 0x67, 0x7C, 0x4B, 0xBD, 0xA4, 0x79, 0x3F, 0x34, 0x9C, 0xB7,
                0x85, 0xE7
            ]
        );
        // NaN bit patterns are canonicalized.
        let other_nan = f64::from_bits(0x7ff0_0000_0000_0001);
        assert!(other_nan.is_nan());
        assert_eq!(
            bucket_hash(&Datum::Double(other_nan)).unwrap(),
            bucket_hash(&Datum::Double(f64::NAN)).unwrap()
        );
    }

    /// Spec "Truncate Transform Details" examples.
    #[test]
    fn spec_truncate_examples() {
        let t10 = Transform::Truncate(10);
        assert_eq!(apply(t10, &Datum::Int(1)), Datum::Int(0));
        assert_eq!(apply(t10, &Datum::Int(-1)), Datum::Int(-10));
        assert_eq!(apply(t10, &Datum::Long(1)), Datum::Long(0));
        assert_eq!(apply(t10, &Datum::Long(-1)), Datum::Long(-10));
        assert_eq!(
            apply(Transform::Truncate(50), &dec(1065, 9, 2)),
            dec(1050, 9, 2)
        );
        assert_eq!(
            apply(Transform::Truncate(3), &Datum::String("iceberg".into())),
            Datum::String("ice".into())
        );
        assert_eq!(
            apply(Transform::Truncate(3), &Datum::Binary(vec![1, 2, 3, 4, 5])),
            Datum::Binary(vec![1, 2, 3])
        );
    }

    /// Buckets for N = 1, 7, 16, 100, 1024 and i32::MAX, computed with PyIceberg 0.12.0
    /// (`BucketTransform(n).transform(type)(value)`).
    #[test]
    fn bucket_matches_pyiceberg() {
        use PrimitiveType as P;
        let cases: Vec<(Datum, [i32; 6])> = vec![
            (Datum::Int(0), [0, 1, 12, 76, 764, 1_669_671_676]),
            (Datum::Int(1), [0, 5, 4, 56, 324, 1_392_991_556]),
            (Datum::Int(-1), [0, 5, 8, 12, 232, 1_651_860_712]),
            (Datum::Int(34), [0, 1, 3, 79, 339, 2_017_239_379]),
            (Datum::Int(i32::MAX), [0, 6, 14, 6, 446, 1_819_228_606]),
            (Datum::Int(i32::MIN), [0, 6, 8, 56, 984, 74_448_856]),
            (Datum::Int(123_456_789), [0, 1, 1, 81, 561, 690_028_081]),
            (Datum::Long(i64::MAX), [0, 5, 15, 99, 191, 40_977_599]),
            (Datum::Long(i64::MIN), [0, 4, 5, 29, 805, 1_366_273_829]),
            (
                Datum::Long(1_234_567_890_123),
                [0, 5, 14, 2, 350, 1_740_798_302],
            ),
            (Datum::Date(17_486), [0, 6, 10, 26, 10, 1_494_153_226]),
            (Datum::Date(-719_162), [0, 3, 9, 73, 521, 581_067_273]),
            (Datum::Date(2_932_896), [0, 0, 9, 33, 697, 1_486_376_633]),
            (
                Datum::Time(81_068_000_000),
                [0, 2, 3, 59, 531, 1_484_720_659],
            ),
            (
                Datum::Time(86_399_999_999),
                [0, 6, 8, 56, 648, 1_641_029_256],
            ),
            (
                Datum::Timestamp(1_510_871_468_000_000),
                [0, 5, 7, 7, 263, 99_539_207],
            ),
            (
                Datum::Timestamp(1_510_871_468_000_001),
                [0, 1, 6, 38, 886, 940_286_838],
            ),
            (
                Datum::Timestamp(-62_135_596_800_000_000),
                [0, 2, 0, 28, 1008, 571_270_128],
            ),
            (Datum::Timestamptz(-1), [0, 5, 8, 12, 232, 1_651_860_712]),
            (
                Datum::TimestampNs(1_510_871_468_000_001_001),
                [0, 1, 6, 38, 886, 940_286_838],
            ),
            // −1 ns, −999 ns and −1000 ns all floor to −1 µs.
            (Datum::TimestampNs(-1), [0, 5, 8, 12, 232, 1_651_860_712]),
            (Datum::TimestampNs(-999), [0, 5, 8, 12, 232, 1_651_860_712]),
            (
                Datum::TimestamptzNs(-1000),
                [0, 5, 8, 12, 232, 1_651_860_712],
            ),
            (Datum::String(String::new()), [0, 0, 0, 0, 0, 0]),
            (
                Datum::String("iceberg".into()),
                [0, 4, 9, 89, 729, 1_210_000_089],
            ),
            (
                Datum::String("Ünïcödé 😀".into()),
                [0, 5, 8, 48, 520, 107_210_248],
            ),
            (
                Datum::String("a/b=c d".into()),
                [0, 2, 8, 20, 1000, 1_612_268_520],
            ),
            (
                parse("f79c3e09-677c-4bbd-a479-3f349cb785e7", &P::Uuid),
                [0, 2, 12, 40, 44, 1_488_055_340],
            ),
            (Datum::Uuid(Uuid::nil()), [0, 4, 8, 16, 504, 20_237_816]),
            (Datum::Binary(vec![]), [0, 0, 0, 0, 0, 0]),
            (
                Datum::Binary(vec![0, 1, 2, 3]),
                [0, 3, 9, 41, 57, 1_958_800_441],
            ),
            (
                Datum::Binary((0u8..50).collect()),
                [0, 2, 3, 47, 243, 284_514_547],
            ),
            (
                Datum::Fixed(vec![0, 1, 2, 3]),
                [0, 3, 9, 41, 57, 1_958_800_441],
            ),
            (dec(1420, 9, 2), [0, 3, 3, 59, 867, 1_646_729_059]),
            (dec(-1420, 9, 2), [0, 6, 7, 51, 775, 667_775_751]),
            (dec(0, 9, 2), [0, 6, 7, 27, 183, 1_364_076_727]),
            (dec(128, 9, 2), [0, 2, 5, 49, 661, 1_544_076_949]),
            (dec(-129, 9, 2), [0, 0, 1, 9, 81, 1_711_945_809]),
            (
                dec(123_456_789_012_345_678_901_234_567_890, 38, 10),
                [0, 0, 6, 50, 118, 807_672_950],
            ),
            (dec(-1, 38, 10), [0, 2, 13, 97, 269, 2_104_291_597]),
        ];
        let ns = [1u32, 7, 16, 100, 1024, i32::MAX as u32];
        for (value, expected) in cases {
            for (n, want) in ns.iter().zip(expected) {
                assert_eq!(
                    apply(Transform::Bucket(*n), &value),
                    Datum::Int(want),
                    "bucket[{n}] of {value:?}"
                );
            }
        }
    }

    /// Truncations computed with PyIceberg 0.12.0 (`TruncateTransform(w)`).
    #[test]
    fn truncate_matches_pyiceberg() {
        let cases: Vec<(u32, Datum, Datum)> = vec![
            (10, Datum::Int(0), Datum::Int(0)),
            (10, Datum::Int(10), Datum::Int(10)),
            (10, Datum::Int(-10), Datum::Int(-10)),
            (10, Datum::Int(7), Datum::Int(0)),
            (10, Datum::Int(i32::MAX), Datum::Int(2_147_483_640)),
            (10, Datum::Int(-2_147_483_640), Datum::Int(-2_147_483_640)),
            (3, Datum::Int(-7), Datum::Int(-9)),
            (3, Datum::Int(7), Datum::Int(6)),
            (3, Datum::Int(5), Datum::Int(3)),
            (
                10,
                Datum::Long(i64::MAX),
                Datum::Long(9_223_372_036_854_775_800),
            ),
            (
                10,
                Datum::Long(-9_223_372_036_854_775_800),
                Datum::Long(-9_223_372_036_854_775_800),
            ),
            (1000, Datum::Long(-1001), Datum::Long(-2000)),
            (1000, Datum::Long(1999), Datum::Long(1000)),
            (50, dec(-1065, 9, 2), dec(-1100, 9, 2)),
            (50, dec(0, 9, 2), dec(0, 9, 2)),
            (50, dec(-1, 9, 2), dec(-50, 9, 2)),
            (3, dec(10_001, 10, 4), dec(9_999, 10, 4)),
            (3, dec(-10_001, 10, 4), dec(-10_002, 10, 4)),
            (3, Datum::String("ab".into()), Datum::String("ab".into())),
            (
                3,
                Datum::String(String::new()),
                Datum::String(String::new()),
            ),
            (
                3,
                Datum::String("Ünïcödé".into()),
                Datum::String("Ünï".into()),
            ),
            (
                3,
                Datum::String("😀😀😀😀".into()),
                Datum::String("😀😀😀".into()),
            ),
            (1, Datum::String("😀x".into()), Datum::String("😀".into())),
            (3, Datum::Binary(vec![1]), Datum::Binary(vec![1])),
        ];
        for (w, value, expected) in cases {
            assert_eq!(
                apply(Transform::Truncate(w), &value),
                expected,
                "truncate[{w}] of {value:?}"
            );
        }
    }

    /// `[year, month, day, hour]` computed with PyIceberg 0.12.0; `None` where the
    /// transform does not apply (hour of a date).
    #[test]
    fn time_transforms_match_pyiceberg() {
        let cases: Vec<(Datum, [Option<i32>; 4])> = vec![
            (Datum::Date(0), [Some(0), Some(0), Some(0), None]),
            (Datum::Date(-1), [Some(-1), Some(-1), Some(-1), None]),
            (
                Datum::Date(17_486),
                [Some(47), Some(574), Some(17_486), None],
            ),
            (Datum::Date(-365), [Some(-1), Some(-12), Some(-365), None]),
            (Datum::Date(-366), [Some(-2), Some(-13), Some(-366), None]),
            (
                Datum::Date(-719_162),
                [Some(-1969), Some(-23_628), Some(-719_162), None],
            ),
            (
                Datum::Date(2_932_896),
                [Some(8029), Some(96_359), Some(2_932_896), None],
            ),
            (Datum::Date(59), [Some(0), Some(2), Some(59), None]),
            (Datum::Date(-306), [Some(-1), Some(-10), Some(-306), None]),
            (Datum::Timestamp(0), [Some(0), Some(0), Some(0), Some(0)]),
            (
                Datum::Timestamp(-1),
                [Some(-1), Some(-1), Some(-1), Some(-1)],
            ),
            (
                Datum::Timestamp(1_510_871_468_000_000),
                [Some(47), Some(574), Some(17_486), Some(419_686)],
            ),
            (
                Datum::Timestamp(-86_400_000_000),
                [Some(-1), Some(-1), Some(-1), Some(-24)],
            ),
            (
                Datum::Timestamp(-86_400_000_001),
                [Some(-1), Some(-1), Some(-2), Some(-25)],
            ),
            (
                Datum::Timestamp(-3_600_000_001),
                [Some(-1), Some(-1), Some(-1), Some(-2)],
            ),
            (
                Datum::Timestamp(-62_135_596_800_000_000),
                [
                    Some(-1969),
                    Some(-23_628),
                    Some(-719_162),
                    Some(-17_259_888),
                ],
            ),
            (
                Datum::Timestamp(253_402_300_799_999_999),
                [Some(8029), Some(96_359), Some(2_932_896), Some(70_389_527)],
            ),
            (
                Datum::Timestamp(951_782_400_000_000),
                [Some(30), Some(361), Some(11_016), Some(264_384)],
            ),
            (
                Datum::Timestamptz(1_510_842_668_000_000),
                [Some(47), Some(574), Some(17_486), Some(419_678)],
            ),
            (
                Datum::TimestampNs(1_510_871_468_000_001_001),
                [Some(47), Some(574), Some(17_486), Some(419_686)],
            ),
            (
                Datum::TimestampNs(-1),
                [Some(-1), Some(-1), Some(-1), Some(-1)],
            ),
            (
                Datum::TimestamptzNs(-86_400_000_000_001),
                [Some(-1), Some(-1), Some(-2), Some(-25)],
            ),
            (
                Datum::TimestampNs(i64::MAX),
                [Some(292), Some(3507), Some(106_751), Some(2_562_047)],
            ),
            (
                Datum::TimestampNs(i64::MIN),
                [Some(-293), Some(-3508), Some(-106_752), Some(-2_562_048)],
            ),
        ];
        let transforms = [
            Transform::Year,
            Transform::Month,
            Transform::Day,
            Transform::Hour,
        ];
        for (value, expected) in cases {
            for (t, want) in transforms.iter().zip(expected) {
                let got = t.apply(&value);
                match want {
                    Some(n) if *t == Transform::Day => {
                        assert_eq!(got.unwrap(), Some(Datum::Date(n)), "{t} of {value:?}");
                    }
                    Some(n) => assert_eq!(got.unwrap(), Some(Datum::Int(n)), "{t} of {value:?}"),
                    None => assert!(got.is_err(), "{t} of {value:?} should fail"),
                }
            }
        }
    }

    /// Java `TestTimestamps` / `TestDates` (apache/iceberg api/src/test).
    #[test]
    fn time_transforms_match_java_tests() {
        use PrimitiveType as P;
        let cases = [
            (
                parse("2017-12-01T10:12:55.038194", &P::Timestamp),
                [47, 575, 17_501, 420_034],
            ),
            (
                parse("1970-01-01T00:00:01.000001", &P::Timestamp),
                [0, 0, 0, 0],
            ),
            (
                parse("1969-12-31T23:59:59.999999", &P::Timestamp),
                [-1, -1, -1, -1],
            ),
            (
                parse("2017-12-01T10:12:55.038194789", &P::TimestampNs),
                [47, 575, 17_501, 420_034],
            ),
            (
                parse("1970-01-01T00:00:01.000000001", &P::TimestampNs),
                [0, 0, 0, 0],
            ),
            (
                parse("1969-12-31T23:59:59.999999999", &P::TimestampNs),
                [-1, -1, -1, -1],
            ),
        ];
        for (value, [y, m, d, h]) in cases {
            assert_eq!(apply(Transform::Year, &value), Datum::Int(y));
            assert_eq!(apply(Transform::Month, &value), Datum::Int(m));
            assert_eq!(apply(Transform::Day, &value), Datum::Date(d));
            assert_eq!(apply(Transform::Hour, &value), Datum::Int(h));
        }
        let date = parse("2017-12-01", &P::Date);
        assert_eq!(apply(Transform::Year, &date), Datum::Int(47));
        assert_eq!(apply(Transform::Month, &date), Datum::Int(575));
        assert_eq!(apply(Transform::Day, &date), Datum::Date(17_501));
    }

    #[test]
    fn identity_void_null_and_errors() {
        let v = Datum::Double(1.5);
        assert_eq!(Transform::Identity.apply(&v).unwrap(), Some(v.clone()));
        assert_eq!(Transform::Void.apply(&v).unwrap(), None);
        assert_eq!(Transform::Bucket(4).apply_opt(None).unwrap(), None);
        assert_eq!(Transform::Identity.apply_opt(None).unwrap(), None);
        assert_eq!(
            Transform::Truncate(2)
                .apply_opt(Some(&Datum::Int(3)))
                .unwrap(),
            Some(Datum::Int(2))
        );
        let err = Transform::Bucket(4).apply(&v).unwrap_err();
        assert!(
            err.message().contains("bucket[4]") && err.message().contains("double"),
            "{err}"
        );
        let err = Transform::Hour.apply(&Datum::Date(1)).unwrap_err();
        assert!(
            err.message().contains("hour") && err.message().contains("date"),
            "{err}"
        );
        let err = Transform::Truncate(3)
            .apply(&Datum::Fixed(vec![1]))
            .unwrap_err();
        assert!(err.message().contains("truncate[3]") && err.message().contains("fixed[1]"));
        assert!(Transform::Year.apply(&Datum::Time(0)).is_err());
        assert!(Transform::Day.apply(&Datum::String("x".into())).is_err());
        assert!(Transform::Unknown.apply(&Datum::Int(1)).is_err());
        // Hand-built zero parameters are rejected instead of dividing by zero.
        assert!(Transform::Bucket(0).apply(&Datum::Int(1)).is_err());
        assert!(Transform::Truncate(0).apply(&Datum::Int(1)).is_err());
        // Hours beyond the int range are an error, not a wrapped value.
        assert!(Transform::Hour.apply(&Datum::Timestamp(i64::MAX)).is_err());
        assert_eq!(
            apply(Transform::Day, &Datum::Timestamp(i64::MAX)),
            Datum::Date(106_751_991)
        );
    }

    #[test]
    fn order_relations_follow_java() {
        use Transform as T;
        for t in [
            T::Identity,
            T::Truncate(3),
            T::Year,
            T::Month,
            T::Day,
            T::Hour,
        ] {
            assert!(t.preserves_order(), "{t}");
        }
        for t in [T::Bucket(3), T::Void, T::Unknown] {
            assert!(!t.preserves_order(), "{t}");
        }
        assert!(T::Identity.satisfies_order_of(&T::Day));
        assert!(T::Identity.satisfies_order_of(&T::Truncate(4)));
        assert!(!T::Identity.satisfies_order_of(&T::Bucket(4)));
        assert!(T::Hour.satisfies_order_of(&T::Day));
        assert!(T::Hour.satisfies_order_of(&T::Year));
        assert!(T::Day.satisfies_order_of(&T::Month));
        assert!(T::Day.satisfies_order_of(&T::Day));
        assert!(T::Month.satisfies_order_of(&T::Year));
        assert!(!T::Day.satisfies_order_of(&T::Hour));
        assert!(!T::Year.satisfies_order_of(&T::Month));
        assert!(!T::Day.satisfies_order_of(&T::Identity));
        assert!(T::Truncate(10).satisfies_order_of(&T::Truncate(5)));
        assert!(T::Truncate(10).satisfies_order_of(&T::Truncate(10)));
        assert!(!T::Truncate(5).satisfies_order_of(&T::Truncate(10)));
        assert!(!T::Truncate(5).satisfies_order_of(&T::Identity));
        assert!(T::Bucket(4).satisfies_order_of(&T::Bucket(4)));
        assert!(!T::Bucket(4).satisfies_order_of(&T::Bucket(8)));
        assert!(T::Void.satisfies_order_of(&T::Void));
        assert!(!T::Unknown.satisfies_order_of(&T::Unknown));
        assert_eq!(T::Year.dedup_name(), "time");
        assert_eq!(T::Hour.dedup_name(), "time");
        assert_eq!(T::Bucket(16).dedup_name(), "bucket[16]");
        assert_eq!(T::Identity.dedup_name(), "identity");
    }

    /// Human strings: Java `TestIdentity`, `TestDates`, `TestTimestamps`, and values
    /// where PyIceberg 0.12.0's `to_human_string` agrees with Java.
    #[test]
    fn human_strings() {
        use PrimitiveType as P;
        let id = Transform::Identity;
        let h = |t: Transform, d: Datum| t.to_human_string(Some(&d));
        assert_eq!(id.to_human_string(None), "null");
        assert_eq!(Transform::Year.to_human_string(None), "null");
        assert_eq!(h(id, Datum::Binary(vec![1, 2, 3])), "AQID");
        assert_eq!(h(id, Datum::Fixed(vec![1, 2, 3])), "AQID");
        assert_eq!(h(id, Datum::Binary(vec![0, 1, 2, 3])), "AAECAw==");
        assert_eq!(h(id, Datum::Binary(vec![0xff, 0xfe])), "//4=");
        assert_eq!(h(id, Datum::Fixed(b"a".to_vec())), "YQ==");
        assert_eq!(h(id, Datum::Binary(vec![])), "");
        assert_eq!(h(id, parse("2017-12-01", &P::Date)), "2017-12-01");
        assert_eq!(h(id, Datum::Date(-719_162)), "0001-01-01");
        assert_eq!(h(id, parse("10:12:55.038194", &P::Time)), "10:12:55.038194");
        assert_eq!(h(id, Datum::Time(81_068_000_000)), "22:31:08");
        assert_eq!(
            h(
                id,
                parse("2017-12-01T10:12:55.038194-08:00", &P::Timestamptz)
            ),
            "2017-12-01T18:12:55.038194+00:00"
        );
        assert_eq!(
            h(id, parse("2017-12-01T10:12:55.038194", &P::Timestamp)),
            "2017-12-01T10:12:55.038194"
        );
        assert_eq!(
            h(id, Datum::Timestamp(1_510_871_468_000_000)),
            "2017-11-16T22:31:08"
        );
        assert_eq!(
            h(id, Datum::Timestamptz(1_510_871_468_000_000)),
            "2017-11-16T22:31:08+00:00"
        );
        assert_eq!(h(id, Datum::Long(-1_234_567_890_000)), "-1234567890000");
        assert_eq!(h(id, dec(1420, 9, 2)), "14.20");
        assert_eq!(h(id, dec(1, 38, 10)), "1E-10");
        assert_eq!(h(id, Datum::Float(1.5)), "1.5");
        assert_eq!(h(id, Datum::Double(1.0)), "1.0");
        assert_eq!(h(id, Datum::Boolean(true)), "true");
        assert_eq!(
            h(id, parse("f79c3e09-677c-4bbd-a479-3f349cb785e7", &P::Uuid)),
            "f79c3e09-677c-4bbd-a479-3f349cb785e7"
        );
        assert_eq!(h(id, Datum::String("a b/c=d?é".into())), "a b/c=d?é");
        assert_eq!(h(Transform::Bucket(16), Datum::Int(5)), "5");
        assert_eq!(
            h(Transform::Truncate(2), Datum::Binary(vec![0xfb, 0xff])),
            "+/8="
        );
        assert_eq!(h(Transform::Void, Datum::Int(5)), "null");

        let time_cases: Vec<(Transform, i32, &str)> = vec![
            (Transform::Year, 47, "2017"),
            (Transform::Year, -1, "1969"),
            (Transform::Year, 0, "1970"),
            (Transform::Year, -1971, "-001"),
            (Transform::Year, 8030, "10000"),
            (Transform::Month, 574, "2017-11"),
            (Transform::Month, 575, "2017-12"),
            (Transform::Month, -1, "1969-12"),
            (Transform::Month, -12, "1969-01"),
            (Transform::Month, -13, "1968-12"),
            (Transform::Month, 0, "1970-01"),
            (Transform::Day, 17_486, "2017-11-16"),
            (Transform::Day, -1, "1969-12-31"),
            (Transform::Day, -2, "1969-12-30"),
            (Transform::Day, -365, "1969-01-01"),
            (Transform::Day, -719_162, "0001-01-01"),
            (Transform::Hour, 419_686, "2017-11-16-22"),
            (Transform::Hour, 420_034, "2017-12-01-10"),
            (Transform::Hour, -1, "1969-12-31-23"),
            (Transform::Hour, -25, "1969-12-30-23"),
        ];
        for (t, v, want) in time_cases {
            assert_eq!(h(t, Datum::Int(v)), want, "{t} of {v}");
        }
        assert_eq!(h(Transform::Day, Datum::Date(17_486)), "2017-11-16");
        // Java TestTimestamps: negative timestamps render through the transform.
        let ts = parse("1969-12-30T10:12:55.038194", &P::Timestamp);
        for (t, want) in [
            (Transform::Year, "1969"),
            (Transform::Month, "1969-12"),
            (Transform::Day, "1969-12-30"),
            (Transform::Hour, "1969-12-30-10"),
        ] {
            assert_eq!(t.to_human_string(t.apply(&ts).unwrap().as_ref()), want);
        }
    }

    /// Human strings where Java and PyIceberg differ; these follow the Java sources:
    /// `LocalTime.toString` for times, `ISO_LOCAL_DATE_TIME` (trailing zeros of the
    /// fraction dropped) for timestamps, `Double.toString` and `BigDecimal.toString`.
    #[test]
    fn human_strings_java_specific() {
        let h = |d: Datum| Transform::Identity.to_human_string(Some(&d));
        assert_eq!(h(Datum::Time(81_060_000_000)), "22:31");
        assert_eq!(h(Datum::Time(0)), "00:00");
        assert_eq!(h(Datum::Time(81_068_123_000)), "22:31:08.123");
        assert_eq!(h(Datum::Time(81_068_100_000)), "22:31:08.100");
        assert_eq!(h(Datum::Time(81_068_000_001)), "22:31:08.000001");
        assert_eq!(
            h(Datum::Timestamp(1_510_871_468_100_000)),
            "2017-11-16T22:31:08.1"
        );
        assert_eq!(
            h(Datum::Timestamptz(1_510_871_468_123_000)),
            "2017-11-16T22:31:08.123+00:00"
        );
        assert_eq!(
            h(Datum::TimestampNs(1_510_871_468_000_001_001)),
            "2017-11-16T22:31:08.000001001"
        );
        assert_eq!(
            h(Datum::TimestamptzNs(-1)),
            "1969-12-31T23:59:59.999999999+00:00"
        );
        // ISO years: year 0 exists (1 BCE), earlier years are signed, later ones > 9999 too.
        assert_eq!(
            h(Datum::Timestamp(-62_135_596_800_000_001)),
            "0000-12-31T23:59:59.999999"
        );
        assert_eq!(
            h(Datum::Timestamp(-719_529 * MICROS_PER_DAY)),
            "-0001-12-31T00:00:00"
        );
        // ... but day transforms format the year with Java's `%04d`.
        assert_eq!(h(Datum::Date(-719_529)), "-001-12-31");
        assert_eq!(h(Datum::Date(2_932_897)), "10000-01-01");
        assert_eq!(
            h(Datum::Timestamp(253_402_300_800_000_000)),
            "+10000-01-01T00:00:00"
        );
        assert_eq!(h(Datum::Double(1e10)), "1.0E10");
        assert_eq!(h(Datum::Double(1e7)), "1.0E7");
        assert_eq!(h(Datum::Double(9_999_999.5)), "9999999.5");
        assert_eq!(h(Datum::Double(123.0)), "123.0");
        assert_eq!(h(Datum::Double(0.001)), "0.001");
        assert_eq!(h(Datum::Double(0.000_123)), "1.23E-4");
        assert_eq!(h(Datum::Double(-1.5e-10)), "-1.5E-10");
        assert_eq!(h(Datum::Double(-0.0)), "-0.0");
        assert_eq!(h(Datum::Double(f64::NAN)), "NaN");
        assert_eq!(h(Datum::Double(f64::NEG_INFINITY)), "-Infinity");
        assert_eq!(h(Datum::Float(0.1)), "0.1");
        assert_eq!(h(Datum::Float(1.0e-5)), "1.0E-5");
        assert_eq!(h(dec(0, 38, 10)), "0E-10");
        assert_eq!(h(dec(-15, 9, 8)), "-1.5E-7");
        assert_eq!(h(dec(1, 9, 7)), "1E-7");
        assert_eq!(h(dec(1, 9, 6)), "0.000001");
        assert_eq!(h(dec(-5, 9, 2)), "-0.05");
        assert_eq!(h(dec(123, 9, 0)), "123");
    }

    #[test]
    fn truncate_str_counts_code_points() {
        assert_eq!(truncate_str("iceberg", 3), "ice");
        assert_eq!(truncate_str("ab", 3), "ab");
        assert_eq!(truncate_str("😀😀", 1), "😀");
        assert_eq!(truncate_str("x", 0), "");
    }

    fn bucketable() -> impl Strategy<Value = Datum> {
        prop_oneof![
            any::<i32>().prop_map(Datum::Int),
            any::<i64>().prop_map(Datum::Long),
            (any::<i64>(), 0u32..10).prop_map(|(u, s)| dec(i128::from(u), 38, s)),
            any::<i32>().prop_map(Datum::Date),
            (0i64..86_400_000_000).prop_map(Datum::Time),
            any::<i64>().prop_map(Datum::Timestamp),
            any::<i64>().prop_map(Datum::TimestamptzNs),
            ".*".prop_map(Datum::String),
            any::<u128>().prop_map(|u| Datum::Uuid(Uuid::from_u128(u))),
            proptest::collection::vec(any::<u8>(), 1..40).prop_map(Datum::Fixed),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(Datum::Binary),
        ]
    }

    fn bucket_of(n: u32, d: &Datum) -> i32 {
        match apply(Transform::Bucket(n), d) {
            Datum::Int(b) => b,
            other => panic!("bucket result {other:?} is not an int"),
        }
    }

    // Timestamps within ±10,000 years of 1970, in microseconds.
    const TS_RANGE: i64 = 315_537_897_600_000_000;
    // Timestamps within ±290 years of 1970, in microseconds (nanoseconds fit an i64).
    const TS_NS_RANGE: i64 = 9_151_488_000_000_000;

    proptest! {
        #[test]
        fn bucket_in_range(d in bucketable(), n in 1u32..=i32::MAX as u32) {
            let b = bucket_of(n, &d);
            prop_assert!(b >= 0 && (b as u32) < n);
        }

        #[test]
        fn bucket_survives_promotion(v in any::<i32>(), n in 1u32..10_000) {
            // int → long promotion and date ↔ int keep buckets.
            prop_assert_eq!(bucket_of(n, &Datum::Int(v)), bucket_of(n, &Datum::Long(i64::from(v))));
            prop_assert_eq!(bucket_of(n, &Datum::Date(v)), bucket_of(n, &Datum::Int(v)));
        }

        #[test]
        fn bucket_equal_values_hash_equal(us in -TS_NS_RANGE..TS_NS_RANGE, sub in 0i64..1000, s in 0u32..10) {
            // A nanosecond timestamp hashes as the microsecond it falls in.
            let ns = us * 1000 + sub;
            prop_assert_eq!(
                bucket_hash(&Datum::TimestampNs(ns)).unwrap(),
                bucket_hash(&Datum::Timestamp(us)).unwrap()
            );
            prop_assert_eq!(
                bucket_hash(&Datum::TimestamptzNs(ns)).unwrap(),
                bucket_hash(&Datum::Timestamptz(us)).unwrap()
            );
            // The decimal hash does not depend on the scale or precision.
            prop_assert_eq!(
                bucket_hash(&dec(i128::from(us), 38, s)).unwrap(),
                bucket_hash(&dec(i128::from(us), 20, 0)).unwrap()
            );
            // Fixed and binary hash alike.
            let bytes = us.to_be_bytes().to_vec();
            prop_assert_eq!(
                bucket_hash(&Datum::Fixed(bytes.clone())).unwrap(),
                bucket_hash(&Datum::Binary(bytes)).unwrap()
            );
        }

        #[test]
        fn truncate_int_laws(v in (i32::MIN / 2)..i32::MAX, w in 1u32..100_000) {
            let t = Transform::Truncate(w);
            let Datum::Int(r) = apply(t, &Datum::Int(v)) else { panic!("not an int") };
            prop_assert!(r <= v);
            prop_assert!(i64::from(v) - i64::from(r) < i64::from(w));
            prop_assert_eq!(i64::from(r).rem_euclid(i64::from(w)), 0);
            prop_assert_eq!(apply(t, &Datum::Int(r)), Datum::Int(r));
            // The same on a promoted long column.
            prop_assert_eq!(apply(t, &Datum::Long(i64::from(v))), Datum::Long(i64::from(r)));
        }

        #[test]
        fn truncate_long_laws(v in (i64::MIN / 2)..i64::MAX, w in 1u32..=u32::MAX) {
            let t = Transform::Truncate(w);
            let Datum::Long(r) = apply(t, &Datum::Long(v)) else { panic!("not a long") };
            prop_assert!(r <= v);
            prop_assert!(i128::from(v) - i128::from(r) < i128::from(w));
            prop_assert_eq!(apply(t, &Datum::Long(r)), Datum::Long(r));
        }

        #[test]
        fn truncate_decimal_laws(v in any::<i64>(), w in 1u32..10_000, s in 0u32..10) {
            let t = Transform::Truncate(w);
            let Datum::Decimal { unscaled: r, precision, scale } = apply(t, &dec(i128::from(v), 38, s))
            else { panic!("not a decimal") };
            prop_assert_eq!((precision, scale), (38, s));
            prop_assert!(r <= i128::from(v));
            prop_assert!(i128::from(v) - r < i128::from(w));
            prop_assert_eq!(apply(t, &dec(r, 38, s)), dec(r, 38, s));
        }

        #[test]
        fn truncate_string_laws(s in ".{0,40}", w in 1u32..20) {
            let t = Transform::Truncate(w);
            let Datum::String(r) = apply(t, &Datum::String(s.clone())) else { panic!("not a string") };
            prop_assert!(s.starts_with(&r));
            prop_assert!(r.chars().count() <= w as usize);
            prop_assert_eq!(r.chars().count(), s.chars().count().min(w as usize));
            prop_assert_eq!(apply(t, &Datum::String(r.clone())), Datum::String(r));
        }

        #[test]
        fn truncate_binary_laws(b in proptest::collection::vec(any::<u8>(), 0..40), w in 1u32..50) {
            let Datum::Binary(r) = apply(Transform::Truncate(w), &Datum::Binary(b.clone()))
            else { panic!("not binary") };
            prop_assert!(b.starts_with(&r));
            prop_assert_eq!(r.len(), b.len().min(w as usize));
        }

        #[test]
        fn time_transforms_monotonic(a in -TS_RANGE..TS_RANGE, b in -TS_RANGE..TS_RANGE) {
            let (lo, hi) = (a.min(b), a.max(b));
            for t in [Transform::Year, Transform::Month, Transform::Day, Transform::Hour] {
                prop_assert!(apply(t, &Datum::Timestamp(lo)) <= apply(t, &Datum::Timestamp(hi)));
                prop_assert!(apply(t, &Datum::TimestamptzNs(lo / 100)) <= apply(t, &Datum::TimestamptzNs(hi / 100)));
            }
            let (dlo, dhi) = ((lo / 86_400_000_000) as i32, (hi / 86_400_000_000) as i32);
            for t in [Transform::Year, Transform::Month, Transform::Day] {
                prop_assert!(apply(t, &Datum::Date(dlo)) <= apply(t, &Datum::Date(dhi)));
            }
        }

        #[test]
        fn time_transforms_agree_with_dates(us in -TS_RANGE..TS_RANGE) {
            // day(ts) is the date of ts, and year/month of ts are those of that date.
            let Datum::Date(day) = apply(Transform::Day, &Datum::Timestamp(us)) else { panic!("not a date") };
            let date = Datum::Date(day);
            prop_assert_eq!(apply(Transform::Day, &date), date.clone());
            for t in [Transform::Year, Transform::Month] {
                prop_assert_eq!(apply(t, &Datum::Timestamp(us)), apply(t, &date));
            }
            // The date holds the timestamp: its first microsecond is ≤ ts < the next day's.
            let start = i64::from(day) * MICROS_PER_DAY;
            prop_assert!(start <= us && us < start + MICROS_PER_DAY);
            // hour(ts) lies within that day, and nanosecond timestamps agree.
            let Datum::Int(hour) = apply(Transform::Hour, &Datum::Timestamp(us)) else { panic!("not an int") };
            prop_assert_eq!(i64::from(hour).div_euclid(24), i64::from(day));
            if us.abs() < TS_NS_RANGE {
                let ns = Datum::TimestampNs(us * 1000 + 999);
                for t in [Transform::Year, Transform::Month, Transform::Day, Transform::Hour] {
                    prop_assert_eq!(apply(t, &ns), apply(t, &Datum::Timestamp(us)));
                }
            }
        }

        #[test]
        fn civil_dates_match_chrono(days in -719_528i64..=2_932_896) {
            // Years 0 to 9999: chrono writes others as `-0001` / `+10000`, Java as `-001` / `10000`.
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
            let d = epoch + chrono::Duration::days(days);
            let (y, m, dd) = civil_from_days(days);
            prop_assert_eq!((y, m, dd), (i64::from(d.year()), d.month(), d.day()));
            prop_assert_eq!(human_day(days), d.format("%Y-%m-%d").to_string());
        }

        #[test]
        fn month_and_year_human_strings_agree(days in -700_000i64..3_000_000) {
            let date = Datum::Date(days as i32);
            let human = human_day(days);
            let month = apply(Transform::Month, &date);
            let year = apply(Transform::Year, &date);
            prop_assert!(human.starts_with(&Transform::Month.to_human_string(Some(&month))));
            prop_assert!(human.starts_with(&Transform::Year.to_human_string(Some(&year))));
        }

        #[test]
        fn double_human_string_round_trips(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
            let s = Transform::Identity.to_human_string(Some(&Datum::Double(f)));
            let back: f64 = s.parse().unwrap();
            prop_assert_eq!(back.to_bits(), f.to_bits(), "{}", s);
            prop_assert!(s.contains('.'));
        }
    }
}
