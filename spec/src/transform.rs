//! Partition transforms: their names, result types and how they map values.
//!
//! The JSON and display form is the spec's: `identity`, `bucket[N]`, `truncate[W]`,
//! `year`, `month`, `day`, `hour`, `void`.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::types::PrimitiveType;

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
