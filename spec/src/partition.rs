//! Partition specs: how a table's rows are grouped into partitions by transforms of
//! source columns.
//!
//! JSON form: `{"spec-id": 0, "fields": [{"source-id": 1, "field-id": 1000, "name":
//! "id_bucket", "transform": "bucket[16]"}]}`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::Schema;
use crate::transform::Transform;
use crate::types::{NestedField, PrimitiveType, StructType, Type};
use crate::values::Datum;

/// Partition field ids start here; the last-partition-id of an unpartitioned table is
/// one less.
pub const PARTITION_DATA_ID_START: i32 = 1000;

/// A shared partition spec.
pub type PartitionSpecRef = Arc<PartitionSpec>;

/// One field of a partition spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PartitionField {
    /// The schema field the transform reads.
    pub source_id: i32,
    /// The partition field id (≥ 1000, unique across all specs of a table).
    pub field_id: i32,
    /// The partition field name.
    pub name: String,
    /// The transform.
    pub transform: Transform,
}

/// A partition spec.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub struct PartitionSpec {
    /// The spec id.
    pub spec_id: i32,
    /// The fields, in order.
    pub fields: Vec<PartitionField>,
}

impl PartitionSpec {
    /// The unpartitioned spec with id 0.
    pub fn unpartitioned() -> Self {
        Self::default()
    }

    /// Whether no field partitions data (no fields, or only `void` ones).
    pub fn is_unpartitioned(&self) -> bool {
        self.fields.iter().all(|f| f.transform == Transform::Void)
    }

    /// The highest partition field id, if there is a field.
    pub fn highest_field_id(&self) -> Option<i32> {
        self.fields.iter().map(|f| f.field_id).max()
    }

    /// The struct type of partition tuples under this spec for `schema`: one optional
    /// field per partition field, with the partition field id and name and the
    /// transform's result type. Errors name a missing or non-primitive source column.
    pub fn partition_type(&self, schema: &Schema) -> Result<StructType> {
        let mut fields = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            let source = schema.field_by_id(f.source_id).ok_or_else(|| {
                Error::invalid(format!(
                    "partition field `{}` refers to source column {} which is not in schema {}",
                    f.name,
                    f.source_id,
                    schema.schema_id()
                ))
            })?;
            let ty = match source.field_type.as_primitive() {
                Some(p) => f.transform.result_type(p)?,
                // A void transform of a dropped or nested column stays valid.
                None if f.transform == Transform::Void => crate::types::PrimitiveType::Int,
                None => {
                    return Err(Error::invalid(format!(
                        "partition field `{}` has a non-primitive source column `{}`",
                        f.name, source.name
                    )));
                }
            };
            fields.push(NestedField::optional(
                f.field_id,
                f.name.clone(),
                Type::Primitive(ty),
            ));
        }
        Ok(StructType::new(fields))
    }

    /// The distinct source column ids of the fields, in field order.
    pub fn source_ids(&self) -> Vec<i32> {
        let mut ids: Vec<i32> = Vec::with_capacity(self.fields.len());
        for f in &self.fields {
            if !ids.contains(&f.source_id) {
                ids.push(f.source_id);
            }
        }
        ids
    }

    /// The relative path of a partition, as Java's `PartitionSpec.partitionToPath`:
    /// `name=value` per field joined by `/`, where the value is the transform's human
    /// string ([`Transform::to_human_string`], `null` for null) and both name and value
    /// are encoded like Java's `URLEncoder` (UTF-8, space as `+`).
    ///
    /// `values` is the partition tuple in the spec's field order. Errors name a field
    /// whose value does not have the type the transform produces (a `day` value may be an
    /// `int` as well as a `date`), or a tuple of the wrong length.
    pub fn partition_path(&self, schema: &Schema, values: &[Option<Datum>]) -> Result<String> {
        if values.len() != self.fields.len() {
            bail_invalid!(
                "partition tuple has {} values but spec {} has {} fields",
                values.len(),
                self.spec_id,
                self.fields.len()
            );
        }
        let partition_type = self.partition_type(schema)?;
        let mut path = String::new();
        for ((field, value), ty) in self.fields.iter().zip(values).zip(partition_type.fields()) {
            if let (Some(v), Some(expected)) = (value, ty.field_type.as_primitive()) {
                let actual = v.data_type();
                let day_as_int = field.transform == Transform::Day && actual == PrimitiveType::Int;
                if field.transform != Transform::Void && actual != *expected && !day_as_int {
                    bail_invalid!(
                        "partition field `{}` ({}) expects a value of type {expected}, got {v} of type {actual}",
                        field.name,
                        field.transform
                    );
                }
            }
            if !path.is_empty() {
                path.push('/');
            }
            url_encode_into(&mut path, &field.name);
            path.push('=');
            url_encode_into(&mut path, &field.transform.to_human_string(value.as_ref()));
        }
        Ok(path)
    }

    /// Whether the two specs partition the same way (same fields, ignoring spec ids).
    pub fn is_equivalent(&self, other: &PartitionSpec) -> bool {
        self.fields.len() == other.fields.len()
            && self.fields.iter().zip(&other.fields).all(|(a, b)| {
                a.source_id == b.source_id && a.transform == b.transform && a.name == b.name
            })
    }
}

/// Appends `s` encoded as Java's `URLEncoder.encode(s, UTF_8)` does: ASCII letters,
/// digits and `.-*_` stay, space becomes `+`, every other byte of the UTF-8 form becomes
/// `%XY` (upper-case hex).
fn url_encode_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
        }
    }
}

/// A partition spec as sent by clients: field ids may be missing (assigned by the
/// catalog), and the spec id may be missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub struct UnboundPartitionSpec {
    /// The spec id, if the client chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_id: Option<i32>,
    /// The fields.
    #[serde(default)]
    pub fields: Vec<UnboundPartitionField>,
}

/// A partition field as sent by clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct UnboundPartitionField {
    /// The schema field the transform reads.
    pub source_id: i32,
    /// The partition field id, if the client chose one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_id: Option<i32>,
    /// The partition field name.
    pub name: String,
    /// The transform.
    pub transform: Transform,
}

impl From<PartitionSpec> for UnboundPartitionSpec {
    fn from(s: PartitionSpec) -> Self {
        Self {
            spec_id: Some(s.spec_id),
            fields: s
                .fields
                .into_iter()
                .map(|f| UnboundPartitionField {
                    source_id: f.source_id,
                    field_id: Some(f.field_id),
                    name: f.name,
                    transform: f.transform,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn schema() -> Schema {
        let p = |t: PrimitiveType| Type::Primitive(t);
        Schema::builder()
            .with_fields([
                NestedField::optional(1, "id", p(PrimitiveType::Long)),
                NestedField::optional(2, "ts", p(PrimitiveType::Timestamp)),
                NestedField::optional(3, "s", p(PrimitiveType::String)),
                NestedField::optional(4, "b", p(PrimitiveType::Binary)),
            ])
            .build()
            .unwrap()
    }

    fn field(source_id: i32, field_id: i32, transform: Transform, name: &str) -> PartitionField {
        PartitionField {
            source_id,
            field_id,
            name: name.to_owned(),
            transform,
        }
    }

    fn spec() -> PartitionSpec {
        PartitionSpec {
            spec_id: 3,
            fields: vec![
                field(1, 1000, Transform::Bucket(16), "id_bucket"),
                field(2, 1001, Transform::Hour, "ts hour"),
                field(3, 1002, Transform::Identity, "s"),
                field(3, 1003, Transform::Truncate(2), "s_trunc"),
                field(4, 1004, Transform::Identity, "b"),
                field(2, 1005, Transform::Day, "ts_day"),
            ],
        }
    }

    /// The same spec and tuple through PyIceberg 0.12.0's `partition_to_path` gives
    /// `…/s=a+b%2Fc%3Dd%3F%C3%A9%2B%25%2A~-_.%21/…`: Python's `quote_plus` keeps `~` and
    /// encodes `*`, Java's `URLEncoder` (followed here) does the opposite.
    #[test]
    fn partition_path_like_java() {
        let values = vec![
            Some(Datum::Int(5)),
            Some(Datum::Int(419_686)),
            Some(Datum::String("a b/c=d?é+%*~-_.!".into())),
            Some(Datum::String("a ".into())),
            Some(Datum::Binary(vec![0xfb, 0xff])),
            Some(Datum::Date(17_486)),
        ];
        assert_eq!(
            spec().partition_path(&schema(), &values).unwrap(),
            "id_bucket=5/ts+hour=2017-11-16-22/s=a+b%2Fc%3Dd%3F%C3%A9%2B%25*%7E-_.%21/\
             s_trunc=a+/b=%2B%2F8%3D/ts_day=2017-11-16"
        );
        assert_eq!(
            spec()
                .partition_path(&schema(), &[None, None, None, None, None, None])
                .unwrap(),
            "id_bucket=null/ts+hour=null/s=null/s_trunc=null/b=null/ts_day=null"
        );
        // A day may also arrive as an int.
        let mut as_int = values.clone();
        as_int[5] = Some(Datum::Int(-1));
        assert!(
            spec()
                .partition_path(&schema(), &as_int)
                .unwrap()
                .ends_with("/ts_day=1969-12-31")
        );
        assert_eq!(
            PartitionSpec::unpartitioned()
                .partition_path(&schema(), &[])
                .unwrap(),
            ""
        );
    }

    /// apache/iceberg `api/src/test/java/org/apache/iceberg/TestPartitionPaths.java`.
    #[test]
    fn partition_path_java_tests() {
        let p = |t: PrimitiveType| Type::Primitive(t);
        let schema = Schema::builder()
            .with_fields([
                NestedField::required(1, "id", p(PrimitiveType::Int)),
                NestedField::optional(2, "data", p(PrimitiveType::String)),
                NestedField::optional(3, "ts", p(PrimitiveType::Timestamp)),
                NestedField::optional(4, "\"esc\"#1", p(PrimitiveType::String)),
                NestedField::optional(5, "ts_ns", p(PrimitiveType::TimestamptzNs)),
            ])
            .build()
            .unwrap();
        let spec = PartitionSpec {
            spec_id: 0,
            fields: vec![
                field(3, 1000, Transform::Hour, "ts_hour"),
                field(1, 1001, Transform::Bucket(10), "id_bucket"),
            ],
        };
        let ts = Datum::from_json(
            &serde_json::json!("2017-12-01T10:12:55.038194"),
            &PrimitiveType::Timestamp,
        )
        .unwrap();
        let bucket = Transform::Bucket(10).apply(&Datum::Int(1)).unwrap();
        // 1392991556 % 10 (spec Appendix B: hash(1) = 1392991556).
        let expected = "ts_hour=2017-12-01-10/id_bucket=6";
        let values = [Transform::Hour.apply(&ts).unwrap(), bucket.clone()];
        assert_eq!(spec.partition_path(&schema, &values).unwrap(), expected);

        let tz_spec = PartitionSpec {
            spec_id: 0,
            fields: vec![
                field(5, 1000, Transform::Hour, "ts_hour"),
                field(1, 1001, Transform::Bucket(10), "id_bucket"),
            ],
        };
        let ts_ns = Datum::from_json(
            &serde_json::json!("2017-12-01T10:12:55.038194789-08:00"),
            &PrimitiveType::TimestamptzNs,
        )
        .unwrap();
        let values = [Transform::Hour.apply(&ts_ns).unwrap(), bucket];
        assert_eq!(
            tz_spec.partition_path(&schema, &values).unwrap(),
            "ts_hour=2017-12-01-18/id_bucket=6"
        );

        let escaped = PartitionSpec {
            spec_id: 0,
            fields: vec![
                field(2, 1000, Transform::Identity, "data"),
                field(2, 1001, Transform::Truncate(10), "data_trunc"),
            ],
        };
        let v = Some(Datum::String("a/b/c/d".into()));
        assert_eq!(
            escaped
                .partition_path(&schema, &[v.clone(), v.clone()])
                .unwrap(),
            "data=a%2Fb%2Fc%2Fd/data_trunc=a%2Fb%2Fc%2Fd"
        );
        let esc_name = PartitionSpec {
            spec_id: 0,
            fields: vec![field(4, 1000, Transform::Identity, "\"esc\"#1")],
        };
        assert_eq!(
            esc_name.partition_path(&schema, &[v]).unwrap(),
            "%22esc%22%231=a%2Fb%2Fc%2Fd"
        );
    }

    #[test]
    fn partition_path_from_applied_transforms() {
        let s = schema();
        let spec = spec();
        let row = [
            Datum::Long(34),
            Datum::Timestamp(1_510_871_468_000_000),
            Datum::String("iceberg".into()),
            Datum::String("iceberg".into()),
            Datum::Binary(vec![1, 2, 3]),
            Datum::Timestamp(1_510_871_468_000_000),
        ];
        let tuple: Vec<Option<Datum>> = spec
            .fields
            .iter()
            .zip(&row)
            .map(|(f, v)| f.transform.apply(v).unwrap())
            .collect();
        assert_eq!(
            spec.partition_path(&s, &tuple).unwrap(),
            "id_bucket=3/ts+hour=2017-11-16-22/s=iceberg/s_trunc=ic/b=AQID/ts_day=2017-11-16"
        );
    }

    #[test]
    fn partition_path_rejects_bad_tuples() {
        let s = schema();
        let err = spec().partition_path(&s, &[None]).unwrap_err();
        assert!(err.message().contains("1 values") && err.message().contains("6 fields"));
        let mut values = vec![None; 6];
        values[0] = Some(Datum::Long(5));
        let err = spec().partition_path(&s, &values).unwrap_err();
        assert!(
            err.message().contains("id_bucket") && err.message().contains("long"),
            "{err}"
        );
        let mut values = vec![None; 6];
        values[2] = Some(Datum::Int(1));
        assert!(spec().partition_path(&s, &values).is_err());
        let missing = PartitionSpec {
            spec_id: 1,
            fields: vec![field(9, 1000, Transform::Identity, "gone")],
        };
        assert!(missing.partition_path(&s, &[None]).is_err());
    }

    #[test]
    fn source_ids_are_distinct_in_field_order() {
        assert_eq!(spec().source_ids(), vec![1, 2, 3, 4]);
        assert!(PartitionSpec::unpartitioned().source_ids().is_empty());
    }

    /// Decodes `application/x-www-form-urlencoded` text (the inverse of Java's encoder).
    fn url_decode(s: &str) -> Option<String> {
        let mut out = Vec::new();
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = s.get(i + 1..i + 3)?;
                    out.push(u8::from_str_radix(hex, 16).ok()?);
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).ok()
    }

    proptest! {
        #[test]
        fn url_encoding_round_trips(s in ".{0,30}") {
            let mut encoded = String::new();
            url_encode_into(&mut encoded, &s);
            prop_assert!(encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b".-*_+%".contains(&b)));
            prop_assert_eq!(url_decode(&encoded), Some(s));
        }
    }
}
