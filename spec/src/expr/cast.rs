//! Converting predicate literals to a column's type: [`Datum::cast_to`].
//!
//! Conversions follow Java's `Literals.to` (int→long, long→int with a range check,
//! strings to dates, times, timestamps, uuids, decimals and hex binary, a long to a
//! timestamp as microseconds, ...), with one refinement: a value that falls *between*
//! two values of the target type (a decimal with more digits than the scale, a double
//! that is not exactly a float, a nanosecond timestamp compared to a microsecond
//! column) is reported as [`CastResult::Inexact`] so that binding can rewrite the
//! predicate exactly (`x < 1.234` on `decimal(9,2)` becomes `x <= 1.23`) instead of
//! rounding.

use serde_json::Value;

use crate::error::{Error, Result};
use crate::types::PrimitiveType;
use crate::values::{Datum, format_decimal};

const MICROS_PER_DAY: i64 = 86_400_000_000;
const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// The result of converting a literal to a column type.
#[derive(Debug, Clone, PartialEq)]
pub enum CastResult {
    /// The same value in the target type.
    Value(Datum),
    /// The value is greater than every value of the target type.
    AboveMax,
    /// The value is less than every value of the target type.
    BelowMin,
    /// The value lies strictly between `floor` and the next value of the target type.
    Inexact {
        /// The greatest value of the target type below the literal.
        floor: Datum,
    },
}

impl Datum {
    /// Converts this literal to a value of type `ty`, or an error naming the value and
    /// the type when there is no such conversion.
    pub fn cast_to(&self, ty: &PrimitiveType) -> Result<CastResult> {
        use PrimitiveType as P;
        let bad = || {
            Error::invalid(format!(
                "cannot convert {self} ({}) to {ty}",
                self.data_type()
            ))
        };
        let same = |d: Datum| Ok(CastResult::Value(d));
        match (self, ty) {
            (Datum::Boolean(b), P::Boolean) => same(Datum::Boolean(*b)),
            (Datum::Int(v), _) => match ty {
                P::Int => same(Datum::Int(*v)),
                P::Date => same(Datum::Date(*v)),
                _ => Datum::Long(i64::from(*v)).cast_to(ty),
            },
            (Datum::Long(v), _) => long_to(*v, ty).ok_or_else(bad),
            (Datum::Float(v), P::Float) => same(Datum::Float(*v)),
            (Datum::Float(v), _) => Datum::Double(f64::from(*v)).cast_to(ty),
            (Datum::Double(v), _) => double_to(*v, ty).ok_or_else(bad)?,
            (
                Datum::Decimal {
                    unscaled, scale, ..
                },
                P::Decimal {
                    precision,
                    scale: s,
                },
            ) => decimal_from_str(&format_decimal(*unscaled, *scale), *precision, *s),
            (Datum::Date(v), P::Date) => same(Datum::Date(*v)),
            (Datum::Time(v), P::Time) => same(Datum::Time(*v)),
            (Datum::Timestamp(v) | Datum::Timestamptz(v), _) => micros_to(*v, ty).ok_or_else(bad),
            (Datum::TimestampNs(v) | Datum::TimestamptzNs(v), _) => {
                nanos_to(*v, ty).ok_or_else(bad)
            }
            (Datum::String(s), _) => string_to(s, ty).map_err(|e| {
                Error::invalid(format!("cannot convert {self} to {ty}: {}", e.message()))
            }),
            (Datum::Uuid(u), P::Uuid) => same(Datum::Uuid(*u)),
            (Datum::Fixed(b) | Datum::Binary(b), P::Fixed(len)) if b.len() as u64 == *len => {
                same(Datum::Fixed(b.clone()))
            }
            (Datum::Fixed(b) | Datum::Binary(b), P::Binary) => same(Datum::Binary(b.clone())),
            _ => Err(bad()),
        }
    }
}

/// Converts an untyped JSON literal of a REST predicate to type `ty`: the spec's
/// single-value JSON form of `ty` first, then Java's untyped rules (an integer is a
/// long, a fractional number a double, a string a string).
pub(crate) fn json_literal_to(v: &Value, ty: &PrimitiveType) -> Result<CastResult> {
    match v {
        Value::Bool(b) => Datum::Boolean(*b).cast_to(ty),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Datum::Long(i).cast_to(ty)
            } else if let Some(f) = n.as_f64() {
                Datum::Double(f).cast_to(ty)
            } else {
                Err(Error::invalid(format!("unsupported JSON number {n}")))
            }
        }
        Value::String(s) => match Datum::from_json(v, ty) {
            Ok(d) => Ok(CastResult::Value(d)),
            Err(_) => Datum::String(s.clone()).cast_to(ty),
        },
        other => Err(Error::invalid(format!(
            "a predicate literal must be a number, string or boolean, got {other}"
        ))),
    }
}

fn range_i32(v: i64, f: impl FnOnce(i32) -> Datum) -> CastResult {
    match i32::try_from(v) {
        Ok(x) => CastResult::Value(f(x)),
        Err(_) if v > 0 => CastResult::AboveMax,
        Err(_) => CastResult::BelowMin,
    }
}

fn checked_scale(v: i64, factor: i64, f: impl FnOnce(i64) -> Datum) -> CastResult {
    match v.checked_mul(factor) {
        Some(x) => CastResult::Value(f(x)),
        None if v > 0 => CastResult::AboveMax,
        None => CastResult::BelowMin,
    }
}

/// A floor division result: exact, or inexact with the floor.
fn floor_div(v: i64, by: i64, f: impl Fn(i64) -> Option<Datum>) -> Option<CastResult> {
    let q = v.div_euclid(by);
    let d = f(q)?;
    Some(if v.rem_euclid(by) == 0 {
        CastResult::Value(d)
    } else {
        CastResult::Inexact { floor: d }
    })
}

fn long_to(v: i64, ty: &PrimitiveType) -> Option<CastResult> {
    use PrimitiveType as P;
    Some(match ty {
        P::Int => range_i32(v, Datum::Int),
        P::Long => CastResult::Value(Datum::Long(v)),
        P::Date => range_i32(v, Datum::Date),
        P::Float => int_to_float(v, true),
        P::Double => int_to_float(v, false),
        P::Time => {
            if v < 0 {
                CastResult::BelowMin
            } else if v >= MICROS_PER_DAY {
                CastResult::AboveMax
            } else {
                CastResult::Value(Datum::Time(v))
            }
        }
        P::Timestamp => CastResult::Value(Datum::Timestamp(v)),
        P::Timestamptz => CastResult::Value(Datum::Timestamptz(v)),
        P::TimestampNs => checked_scale(v, 1000, Datum::TimestampNs),
        P::TimestamptzNs => checked_scale(v, 1000, Datum::TimestamptzNs),
        P::Decimal { precision, scale } => {
            return decimal_from_str(&v.to_string(), *precision, *scale).ok();
        }
        _ => return None,
    })
}

/// An integer as a float or double: exact, or inexact between two floats.
fn int_to_float(v: i64, single: bool) -> CastResult {
    let exact = i128::from(v);
    if single {
        let f = v as f32;
        let back = f as i128;
        if back == exact {
            CastResult::Value(Datum::Float(f))
        } else {
            let floor = if back > exact { f.next_down() } else { f };
            CastResult::Inexact {
                floor: Datum::Float(floor),
            }
        }
    } else {
        let f = v as f64;
        let back = f as i128;
        if back == exact {
            CastResult::Value(Datum::Double(f))
        } else {
            let floor = if back > exact { f.next_down() } else { f };
            CastResult::Inexact {
                floor: Datum::Double(floor),
            }
        }
    }
}

fn double_to(v: f64, ty: &PrimitiveType) -> Option<Result<CastResult>> {
    use PrimitiveType as P;
    Some(match ty {
        P::Double => Ok(CastResult::Value(Datum::Double(v))),
        P::Float => Ok(if v.is_nan() || v.is_infinite() {
            CastResult::Value(Datum::Float(v as f32))
        } else if v > f64::from(f32::MAX) {
            CastResult::AboveMax
        } else if v < -f64::from(f32::MAX) {
            CastResult::BelowMin
        } else {
            let f = v as f32;
            let back = f64::from(f);
            if back == v {
                CastResult::Value(Datum::Float(f))
            } else {
                let floor = if back > v { f.next_down() } else { f };
                CastResult::Inexact {
                    floor: Datum::Float(floor),
                }
            }
        }),
        P::Decimal { precision, scale } => {
            if !v.is_finite() {
                return None;
            }
            // `{:e}` prints the shortest digits that read back as `v`, like Java's
            // `BigDecimal.valueOf(double)`.
            decimal_from_str(&format!("{v:e}"), *precision, *scale)
        }
        _ => return None,
    })
}

fn micros_to(v: i64, ty: &PrimitiveType) -> Option<CastResult> {
    use PrimitiveType as P;
    Some(match ty {
        P::Timestamp => CastResult::Value(Datum::Timestamp(v)),
        P::Timestamptz => CastResult::Value(Datum::Timestamptz(v)),
        P::TimestampNs => checked_scale(v, 1000, Datum::TimestampNs),
        P::TimestamptzNs => checked_scale(v, 1000, Datum::TimestamptzNs),
        P::Date => floor_div(v, MICROS_PER_DAY, |d| {
            i32::try_from(d).ok().map(Datum::Date)
        })?,
        _ => return None,
    })
}

fn nanos_to(v: i64, ty: &PrimitiveType) -> Option<CastResult> {
    use PrimitiveType as P;
    Some(match ty {
        P::TimestampNs => CastResult::Value(Datum::TimestampNs(v)),
        P::TimestamptzNs => CastResult::Value(Datum::TimestamptzNs(v)),
        P::Timestamp => floor_div(v, 1000, |m| Some(Datum::Timestamp(m)))?,
        P::Timestamptz => floor_div(v, 1000, |m| Some(Datum::Timestamptz(m)))?,
        P::Date => floor_div(v, NANOS_PER_DAY, |d| i32::try_from(d).ok().map(Datum::Date))?,
        _ => return None,
    })
}

fn string_to(s: &str, ty: &PrimitiveType) -> Result<CastResult> {
    use PrimitiveType as P;
    match ty {
        P::String => Ok(CastResult::Value(Datum::String(s.to_string()))),
        P::Decimal { precision, scale } => decimal_from_str(s, *precision, *scale),
        P::Date
        | P::Time
        | P::Timestamp
        | P::Timestamptz
        | P::TimestampNs
        | P::TimestamptzNs
        | P::Uuid
        | P::Fixed(_)
        | P::Binary => {
            let t = if matches!(ty, P::Fixed(_) | P::Binary) {
                s.to_ascii_uppercase()
            } else {
                s.to_string()
            };
            Datum::from_json(&Value::String(t), ty).map(CastResult::Value)
        }
        _ => Err(Error::invalid(format!("no conversion from string to {ty}"))),
    }
}

/// Parses a decimal string (`"-12.5"`, `"1.5e3"`) as a value of
/// `decimal(precision, scale)`, exactly: out of range is `AboveMax` / `BelowMin`, more
/// fractional digits than the scale is `Inexact`.
pub(crate) fn decimal_from_str(s: &str, precision: u32, scale: u32) -> Result<CastResult> {
    let bad = || Error::invalid(format!("invalid decimal `{s}`"));
    let text = s.trim();
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (
            text.get(..i).ok_or_else(bad)?,
            text.get(i + 1..)
                .ok_or_else(bad)?
                .parse::<i64>()
                .map_err(|_| bad())?,
        ),
        None => (text, 0),
    };
    let (neg, body) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let digits = format!("{int}{frac}");
    // value = digits × 10^shift / 10^scale
    let shift = exp
        .checked_sub(frac.len() as i64)
        .and_then(|x| x.checked_add(i64::from(scale)))
        .ok_or_else(bad)?;
    let (q_digits, exact) = if shift >= 0 {
        if digits.bytes().all(|b| b == b'0') {
            (String::from("0"), true)
        } else if shift > 40 {
            // Certainly more than 38 digits.
            (String::from("1").repeat(40), true)
        } else {
            (format!("{digits}{}", "0".repeat(shift as usize)), true)
        }
    } else {
        let cut = usize::try_from(-shift).unwrap_or(usize::MAX);
        if cut >= digits.len() {
            (String::from("0"), digits.bytes().all(|b| b == b'0'))
        } else {
            let (quotient, rest) = digits.split_at(digits.len() - cut);
            (quotient.to_string(), rest.bytes().all(|b| b == b'0'))
        }
    };
    let q_digits = q_digits.trim_start_matches('0');
    let max = 10i128.pow(precision.min(38)) - 1;
    let too_big = if neg {
        CastResult::BelowMin
    } else {
        CastResult::AboveMax
    };
    if q_digits.len() > 38 {
        return Ok(too_big);
    }
    let q: i128 = if q_digits.is_empty() {
        0
    } else {
        q_digits.parse().map_err(|_| bad())?
    };
    let make = |unscaled: i128| Datum::Decimal {
        unscaled,
        precision,
        scale,
    };
    Ok(match (exact, neg) {
        (true, _) if q > max => too_big,
        (true, false) => CastResult::Value(make(q)),
        (true, true) => CastResult::Value(make(-q)),
        // (q, q+1): above the maximum once q reaches it.
        (false, false) if q >= max => CastResult::AboveMax,
        (false, false) => CastResult::Inexact { floor: make(q) },
        // (-(q+1), -q)
        (false, true) if q >= max => CastResult::BelowMin,
        (false, true) => CastResult::Inexact {
            floor: make(-(q + 1)),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use PrimitiveType as P;

    fn v(d: Datum) -> CastResult {
        CastResult::Value(d)
    }

    fn dec(unscaled: i128, precision: u32, scale: u32) -> Datum {
        Datum::Decimal {
            unscaled,
            precision,
            scale,
        }
    }

    #[test]
    fn integers() {
        assert_eq!(Datum::Int(5).cast_to(&P::Long).unwrap(), v(Datum::Long(5)));
        assert_eq!(Datum::Long(5).cast_to(&P::Int).unwrap(), v(Datum::Int(5)));
        assert_eq!(
            Datum::Long(3_000_000_000).cast_to(&P::Int).unwrap(),
            CastResult::AboveMax
        );
        assert_eq!(
            Datum::Long(-3_000_000_000).cast_to(&P::Int).unwrap(),
            CastResult::BelowMin
        );
        assert_eq!(Datum::Int(7).cast_to(&P::Date).unwrap(), v(Datum::Date(7)));
        assert_eq!(
            Datum::Long(1_000).cast_to(&P::Timestamp).unwrap(),
            v(Datum::Timestamp(1_000))
        );
        assert_eq!(
            Datum::Long(1_000).cast_to(&P::TimestamptzNs).unwrap(),
            v(Datum::TimestamptzNs(1_000_000))
        );
        assert_eq!(
            Datum::Long(i64::MAX).cast_to(&P::TimestampNs).unwrap(),
            CastResult::AboveMax
        );
        assert_eq!(
            Datum::Long(MICROS_PER_DAY).cast_to(&P::Time).unwrap(),
            CastResult::AboveMax
        );
        assert_eq!(
            Datum::Int(3).cast_to(&P::Double).unwrap(),
            v(Datum::Double(3.0))
        );
        // 2^24 + 1 is not a float.
        assert_eq!(
            Datum::Int(16_777_217).cast_to(&P::Float).unwrap(),
            CastResult::Inexact {
                floor: Datum::Float(16_777_216.0)
            }
        );
        assert_eq!(
            Datum::Int(12)
                .cast_to(&P::Decimal {
                    precision: 9,
                    scale: 2
                })
                .unwrap(),
            v(dec(1200, 9, 2))
        );
        assert_eq!(
            Datum::Long(1000)
                .cast_to(&P::Decimal {
                    precision: 3,
                    scale: 0
                })
                .unwrap(),
            CastResult::AboveMax
        );
        let e = Datum::Int(1).cast_to(&P::String).unwrap_err();
        assert!(e.to_string().contains("to string"), "{e}");
        assert!(Datum::Boolean(true).cast_to(&P::Int).is_err());
    }

    #[test]
    fn floating() {
        assert_eq!(
            Datum::Double(0.5).cast_to(&P::Float).unwrap(),
            v(Datum::Float(0.5))
        );
        let CastResult::Inexact {
            floor: Datum::Float(f),
        } = Datum::Double(0.1).cast_to(&P::Float).unwrap()
        else {
            panic!("0.1 is not a float");
        };
        assert!(f64::from(f) < 0.1 && f64::from(f.next_up()) > 0.1);
        assert_eq!(
            Datum::Double(1e300).cast_to(&P::Float).unwrap(),
            CastResult::AboveMax
        );
        assert_eq!(
            Datum::Double(-1e300).cast_to(&P::Float).unwrap(),
            CastResult::BelowMin
        );
        assert_eq!(
            Datum::Float(1.5).cast_to(&P::Double).unwrap(),
            v(Datum::Double(1.5))
        );
        assert_eq!(
            Datum::Double(1.25)
                .cast_to(&P::Decimal {
                    precision: 9,
                    scale: 2
                })
                .unwrap(),
            v(dec(125, 9, 2))
        );
        assert_eq!(
            Datum::Double(1.234)
                .cast_to(&P::Decimal {
                    precision: 9,
                    scale: 2
                })
                .unwrap(),
            CastResult::Inexact {
                floor: dec(123, 9, 2)
            }
        );
        assert!(Datum::Double(1.5).cast_to(&P::Int).is_err());
    }

    #[test]
    fn decimals() {
        let d92 = P::Decimal {
            precision: 9,
            scale: 2,
        };
        assert_eq!(decimal_from_str("14.2", 9, 2).unwrap(), v(dec(1420, 9, 2)));
        assert_eq!(
            decimal_from_str("-0.005", 9, 2).unwrap(),
            CastResult::Inexact {
                floor: dec(-1, 9, 2)
            }
        );
        assert_eq!(
            decimal_from_str("1.5e2", 9, 2).unwrap(),
            v(dec(15000, 9, 2))
        );
        assert_eq!(
            decimal_from_str("1e100", 9, 2).unwrap(),
            CastResult::AboveMax
        );
        assert_eq!(
            decimal_from_str("-1e100", 9, 2).unwrap(),
            CastResult::BelowMin
        );
        assert_eq!(
            decimal_from_str("9999999.999", 9, 2).unwrap(),
            CastResult::AboveMax
        );
        assert_eq!(
            decimal_from_str("9999999.99", 9, 2).unwrap(),
            v(dec(999_999_999, 9, 2))
        );
        assert_eq!(
            decimal_from_str("1e-300", 9, 2).unwrap(),
            CastResult::Inexact {
                floor: dec(0, 9, 2)
            }
        );
        assert!(decimal_from_str("1.2.3", 9, 2).is_err());
        assert!(decimal_from_str("abc", 9, 2).is_err());
        assert_eq!(
            dec(15, 5, 1).cast_to(&d92).unwrap(),
            v(dec(150, 9, 2)),
            "rescaled"
        );
        assert_eq!(
            Datum::String("3.14159".into()).cast_to(&d92).unwrap(),
            CastResult::Inexact {
                floor: dec(314, 9, 2)
            }
        );
    }

    #[test]
    fn strings_and_times() {
        assert_eq!(
            Datum::String("2017-11-16".into())
                .cast_to(&P::Date)
                .unwrap(),
            v(Datum::Date(17486))
        );
        assert_eq!(
            Datum::String("22:31:08.123456".into())
                .cast_to(&P::Time)
                .unwrap(),
            v(Datum::Time(81_068_123_456))
        );
        assert_eq!(
            Datum::String("2017-11-16T22:31:08.123456".into())
                .cast_to(&P::Timestamp)
                .unwrap(),
            v(Datum::Timestamp(1_510_871_468_123_456))
        );
        assert_eq!(
            Datum::String("2017-11-16T14:31:08.123456-08:00".into())
                .cast_to(&P::Timestamptz)
                .unwrap(),
            v(Datum::Timestamptz(1_510_871_468_123_456))
        );
        let u = "f79c3e09-677c-4bbd-a479-3f349cb785e7";
        assert!(matches!(
            Datum::String(u.into()).cast_to(&P::Uuid).unwrap(),
            CastResult::Value(Datum::Uuid(_))
        ));
        assert_eq!(
            Datum::String("0aff".into()).cast_to(&P::Binary).unwrap(),
            v(Datum::Binary(vec![0x0a, 0xff]))
        );
        assert!(Datum::String("0aff".into()).cast_to(&P::Fixed(3)).is_err());
        let e = Datum::String("yesterday".into())
            .cast_to(&P::Date)
            .unwrap_err();
        assert!(e.to_string().contains("yesterday"), "{e}");
        assert!(Datum::String("1".into()).cast_to(&P::Int).is_err());
        // Timestamps between units.
        assert_eq!(
            Datum::TimestampNs(1_500).cast_to(&P::Timestamp).unwrap(),
            CastResult::Inexact {
                floor: Datum::Timestamp(1)
            }
        );
        assert_eq!(
            Datum::TimestampNs(-1).cast_to(&P::Timestamp).unwrap(),
            CastResult::Inexact {
                floor: Datum::Timestamp(-1)
            }
        );
        assert_eq!(
            Datum::Timestamp(2 * MICROS_PER_DAY)
                .cast_to(&P::Date)
                .unwrap(),
            v(Datum::Date(2))
        );
        assert_eq!(
            Datum::Timestamp(5).cast_to(&P::Timestamptz).unwrap(),
            v(Datum::Timestamptz(5))
        );
        assert_eq!(
            Datum::Fixed(vec![1, 2]).cast_to(&P::Binary).unwrap(),
            v(Datum::Binary(vec![1, 2]))
        );
    }

    #[test]
    fn json_literals() {
        assert_eq!(
            json_literal_to(&serde_json::json!(5), &P::Int).unwrap(),
            v(Datum::Int(5))
        );
        assert_eq!(
            json_literal_to(&serde_json::json!(3_000_000_000_i64), &P::Int).unwrap(),
            CastResult::AboveMax
        );
        assert_eq!(
            json_literal_to(&serde_json::json!("NaN"), &P::Double)
                .unwrap()
                .clone(),
            match json_literal_to(&serde_json::json!("NaN"), &P::Double).unwrap() {
                CastResult::Value(d) if d.is_nan() => CastResult::Value(d),
                other => panic!("{other:?}"),
            }
        );
        assert_eq!(
            json_literal_to(
                &serde_json::json!("14.20"),
                &P::Decimal {
                    precision: 9,
                    scale: 2
                }
            )
            .unwrap(),
            v(dec(1420, 9, 2))
        );
        assert_eq!(
            json_literal_to(&serde_json::json!(true), &P::Boolean).unwrap(),
            v(Datum::Boolean(true))
        );
        assert!(json_literal_to(&serde_json::json!(null), &P::Int).is_err());
        assert!(json_literal_to(&serde_json::json!([1]), &P::Int).is_err());
        assert!(json_literal_to(&serde_json::json!(1.5), &P::Long).is_err());
    }
}
