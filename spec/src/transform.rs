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
/// second table says (`hashInt(0|1)`; the float widened to double, NaN canonical, −0.0 as
/// 0.0) so that the function is total.
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
        Datum::Boolean(b) => murmur3_32(&i32::from(*b).to_le_bytes()),
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
