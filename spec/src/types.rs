//! Iceberg data types: primitives, and the nested struct, list and map types whose
//! fields carry ids.
//!
//! The JSON form follows the spec's Appendix C: primitives are strings (`"long"`,
//! `"decimal(10,2)"`, `"fixed[16]"`), nested types are objects.
//!
//! ```
//! use floe_spec::types::{NestedField, PrimitiveType, Type};
//! let f = NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long));
//! let json = serde_json::to_string(&f).unwrap();
//! assert_eq!(json, r#"{"id":1,"name":"id","required":true,"type":"long"}"#);
//! ```

use std::fmt;
use std::sync::Arc;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::values::Literal;

/// The highest field id a table column may have; ids above are reserved for metadata
/// columns such as `_file` and `_pos`.
pub const MAX_FIELD_ID: i32 = 2_147_483_447;
/// Field id of the `_pos` metadata column: a row's position in its data file (long),
/// counted over every row the file holds, deleted or not.
pub const ROW_POSITION_FIELD_ID: i32 = i32::MAX - 2;
/// Name of the `_pos` metadata column.
pub const ROW_POSITION_NAME: &str = "_pos";
/// Field id of the `_file` metadata column: the path of a row's data file (string).
pub const FILE_PATH_FIELD_ID: i32 = i32::MAX - 1;
/// Name of the `_file` metadata column.
pub const FILE_PATH_NAME: &str = "_file";
/// Largest precision of a decimal.
pub const MAX_DECIMAL_PRECISION: u32 = 38;

/// A primitive (non-nested) Iceberg type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PrimitiveType {
    /// `boolean`
    Boolean,
    /// `int`: 32-bit signed integer.
    Int,
    /// `long`: 64-bit signed integer.
    Long,
    /// `float`: 32-bit IEEE 754.
    Float,
    /// `double`: 64-bit IEEE 754.
    Double,
    /// `decimal(P,S)`: fixed-point with precision `P` (≤ 38) and scale `S`.
    Decimal {
        /// Total number of digits.
        precision: u32,
        /// Digits after the point.
        scale: u32,
    },
    /// `date`: days since 1970-01-01.
    Date,
    /// `time`: microseconds since midnight.
    Time,
    /// `timestamp`: microseconds since the epoch, without zone.
    Timestamp,
    /// `timestamptz`: microseconds since the epoch, UTC.
    Timestamptz,
    /// `timestamp_ns` (v3): nanoseconds since the epoch, without zone.
    TimestampNs,
    /// `timestamptz_ns` (v3): nanoseconds since the epoch, UTC.
    TimestamptzNs,
    /// `string`: UTF-8.
    String,
    /// `uuid`
    Uuid,
    /// `fixed[L]`: exactly `L` bytes.
    Fixed(u64),
    /// `binary`: any number of bytes.
    Binary,
    /// `unknown` (v3): a column whose values are always null.
    Unknown,
}

impl PrimitiveType {
    /// Whether a column of this type may be changed to `target` by schema evolution
    /// (int→long, float→double, decimal precision widening with the same scale).
    pub fn can_promote_to(&self, target: &PrimitiveType) -> bool {
        match (self, target) {
            (a, b) if a == b => true,
            (Self::Int, Self::Long) | (Self::Float, Self::Double) => true,
            (
                Self::Decimal {
                    precision: p1,
                    scale: s1,
                },
                Self::Decimal {
                    precision: p2,
                    scale: s2,
                },
            ) => s1 == s2 && p2 >= p1,
            (Self::Unknown, _) => true,
            _ => false,
        }
    }

    /// Whether values of this type are floating point (they cannot be identifier fields
    /// and may be NaN).
    pub fn is_floating(&self) -> bool {
        matches!(self, Self::Float | Self::Double)
    }

    /// Parses the JSON string form (`"long"`, `"decimal(10, 2)"`, `"fixed[16]"`).
    pub fn parse(s: &str) -> Result<Self> {
        let t = s.trim();
        let simple = match t {
            "boolean" => Some(Self::Boolean),
            "int" | "integer" => Some(Self::Int),
            "long" => Some(Self::Long),
            "float" => Some(Self::Float),
            "double" => Some(Self::Double),
            "date" => Some(Self::Date),
            "time" => Some(Self::Time),
            "timestamp" => Some(Self::Timestamp),
            "timestamptz" => Some(Self::Timestamptz),
            "timestamp_ns" => Some(Self::TimestampNs),
            "timestamptz_ns" => Some(Self::TimestamptzNs),
            "string" => Some(Self::String),
            "uuid" => Some(Self::Uuid),
            "binary" => Some(Self::Binary),
            "unknown" => Some(Self::Unknown),
            _ => None,
        };
        if let Some(p) = simple {
            return Ok(p);
        }
        if let Some(inner) = t.strip_prefix("decimal(").and_then(|r| r.strip_suffix(')')) {
            let (p, s) = inner
                .split_once(',')
                .ok_or_else(|| Error::invalid(format!("invalid decimal type `{s}`")))?;
            let precision: u32 = p
                .trim()
                .parse()
                .map_err(|_| Error::invalid(format!("invalid decimal precision in `{s}`")))?;
            let scale: u32 = s
                .trim()
                .parse()
                .map_err(|_| Error::invalid(format!("invalid decimal scale in `{s}`")))?;
            if precision == 0 || precision > MAX_DECIMAL_PRECISION || scale > precision {
                return Err(Error::invalid(format!(
                    "decimal precision must be 1..=38 and scale ≤ precision, got `{s}`"
                )));
            }
            return Ok(Self::Decimal { precision, scale });
        }
        if let Some(inner) = t.strip_prefix("fixed[").and_then(|r| r.strip_suffix(']')) {
            let len: u64 = inner
                .trim()
                .parse()
                .map_err(|_| Error::invalid(format!("invalid fixed length in `{s}`")))?;
            return Ok(Self::Fixed(len));
        }
        if t == "variant" || t.starts_with("geometry") || t.starts_with("geography") {
            return Err(Error::unsupported(format!(
                "the v3 type `{s}` is not supported by Floe yet"
            )));
        }
        Err(Error::invalid(format!("unknown type `{s}`")))
    }
}

impl fmt::Display for PrimitiveType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Boolean => f.write_str("boolean"),
            Self::Int => f.write_str("int"),
            Self::Long => f.write_str("long"),
            Self::Float => f.write_str("float"),
            Self::Double => f.write_str("double"),
            Self::Decimal { precision, scale } => write!(f, "decimal({precision}, {scale})"),
            Self::Date => f.write_str("date"),
            Self::Time => f.write_str("time"),
            Self::Timestamp => f.write_str("timestamp"),
            Self::Timestamptz => f.write_str("timestamptz"),
            Self::TimestampNs => f.write_str("timestamp_ns"),
            Self::TimestamptzNs => f.write_str("timestamptz_ns"),
            Self::String => f.write_str("string"),
            Self::Uuid => f.write_str("uuid"),
            Self::Fixed(l) => write!(f, "fixed[{l}]"),
            Self::Binary => f.write_str("binary"),
            Self::Unknown => f.write_str("unknown"),
        }
    }
}

impl Serialize for PrimitiveType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PrimitiveType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PrimitiveType::parse(&s).map_err(de::Error::custom)
    }
}

/// Any Iceberg type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Type {
    /// A primitive type.
    Primitive(PrimitiveType),
    /// A struct of named fields.
    Struct(StructType),
    /// A list of elements.
    List(ListType),
    /// A map from keys to values.
    Map(MapType),
}

impl Type {
    /// The primitive type, if this is one.
    pub fn as_primitive(&self) -> Option<&PrimitiveType> {
        match self {
            Type::Primitive(p) => Some(p),
            _ => None,
        }
    }

    /// The struct type, if this is one.
    pub fn as_struct(&self) -> Option<&StructType> {
        match self {
            Type::Struct(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is a primitive type.
    pub fn is_primitive(&self) -> bool {
        matches!(self, Type::Primitive(_))
    }

    /// The fields directly under this type (struct fields, the list element, or the map
    /// key and value).
    pub fn child_fields(&self) -> Vec<&NestedField> {
        match self {
            Type::Primitive(_) => Vec::new(),
            Type::Struct(s) => s.fields().iter().map(AsRef::as_ref).collect(),
            Type::List(l) => vec![l.element_field.as_ref()],
            Type::Map(m) => vec![m.key_field.as_ref(), m.value_field.as_ref()],
        }
    }
}

impl From<PrimitiveType> for Type {
    fn from(p: PrimitiveType) -> Self {
        Type::Primitive(p)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Primitive(p) => p.fmt(f),
            Type::Struct(s) => {
                f.write_str("struct<")?;
                for (i, field) in s.fields().iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {}", field.name, field.field_type)?;
                }
                f.write_str(">")
            }
            Type::List(l) => write!(f, "list<{}>", l.element_field.field_type),
            Type::Map(m) => write!(
                f,
                "map<{}, {}>",
                m.key_field.field_type, m.value_field.field_type
            ),
        }
    }
}

/// A shared field.
pub type NestedFieldRef = Arc<NestedField>;

/// A field of a struct, or the element of a list, or the key or value of a map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NestedField {
    /// The field id, unique within a schema.
    pub id: i32,
    /// The field name (`element`, `key`, `value` for list and map children).
    pub name: String,
    /// Whether a value must be present.
    pub required: bool,
    /// The field's type.
    pub field_type: Box<Type>,
    /// Documentation.
    pub doc: Option<String>,
    /// The value of the field in rows written before it was added (v3).
    pub initial_default: Option<Literal>,
    /// The value writers use when none is given (v3).
    pub write_default: Option<Literal>,
}

impl NestedField {
    /// A new field.
    pub fn new(id: i32, name: impl Into<String>, field_type: Type, required: bool) -> Self {
        Self {
            id,
            name: name.into(),
            required,
            field_type: Box::new(field_type),
            doc: None,
            initial_default: None,
            write_default: None,
        }
    }

    /// A new required field.
    pub fn required(id: i32, name: impl Into<String>, field_type: Type) -> Self {
        Self::new(id, name, field_type, true)
    }

    /// A new optional field.
    pub fn optional(id: i32, name: impl Into<String>, field_type: Type) -> Self {
        Self::new(id, name, field_type, false)
    }

    /// Sets the doc string.
    #[must_use]
    pub fn with_doc(mut self, doc: impl Into<String>) -> Self {
        self.doc = Some(doc.into());
        self
    }

    /// Sets the initial default.
    #[must_use]
    pub fn with_initial_default(mut self, value: Literal) -> Self {
        self.initial_default = Some(value);
        self
    }

    /// Sets the write default.
    #[must_use]
    pub fn with_write_default(mut self, value: Literal) -> Self {
        self.write_default = Some(value);
        self
    }

    fn to_json_map(&self) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), Value::from(self.id));
        m.insert("name".into(), Value::from(self.name.clone()));
        m.insert("required".into(), Value::from(self.required));
        m.insert("type".into(), type_to_json(&self.field_type));
        if let Some(doc) = &self.doc {
            m.insert("doc".into(), Value::from(doc.clone()));
        }
        if let Some(v) = &self.initial_default {
            m.insert("initial-default".into(), v.to_json());
        }
        if let Some(v) = &self.write_default {
            m.insert("write-default".into(), v.to_json());
        }
        m
    }

    fn from_json_value(v: &Value) -> Result<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::invalid(format!("a field must be a JSON object, got {v}")))?;
        let id = get_i32(obj, "id", "field")?;
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::invalid(format!("field {id}: missing string `name`")))?
            .to_string();
        let required = obj
            .get("required")
            .and_then(Value::as_bool)
            .ok_or_else(|| Error::invalid(format!("field `{name}`: missing boolean `required`")))?;
        let ty = obj
            .get("type")
            .ok_or_else(|| Error::invalid(format!("field `{name}`: missing `type`")))?;
        let field_type = type_from_json(ty)
            .map_err(|e| Error::invalid(format!("field `{name}`: {}", e.message())))?;
        let doc = match obj.get("doc") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => bail_invalid!("field `{name}`: `doc` must be a string, got {other}"),
        };
        let parse_default = |key: &str| -> Result<Option<Literal>> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => Literal::from_json(v, &field_type).map(Some).map_err(|e| {
                    Error::invalid(format!("field `{name}` `{key}`: {}", e.message()))
                }),
            }
        };
        let initial_default = parse_default("initial-default")?;
        let write_default = parse_default("write-default")?;
        Ok(Self {
            id,
            name,
            required,
            field_type: Box::new(field_type),
            doc,
            initial_default,
            write_default,
        })
    }
}

impl Serialize for NestedField {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let m = self.to_json_map();
        let mut map = s.serialize_map(Some(m.len()))?;
        for (k, v) in &m {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for NestedField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        NestedField::from_json_value(&v).map_err(de::Error::custom)
    }
}

/// A struct: an ordered list of fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StructType {
    fields: Vec<NestedFieldRef>,
}

impl StructType {
    /// A struct with these fields.
    pub fn new(fields: Vec<NestedField>) -> Self {
        Self {
            fields: fields.into_iter().map(Arc::new).collect(),
        }
    }

    /// A struct from shared fields.
    pub fn from_refs(fields: Vec<NestedFieldRef>) -> Self {
        Self { fields }
    }

    /// The fields, in order.
    pub fn fields(&self) -> &[NestedFieldRef] {
        &self.fields
    }

    /// The direct child with this id.
    pub fn field_by_id(&self, id: i32) -> Option<&NestedFieldRef> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// The direct child with this name.
    pub fn field_by_name(&self, name: &str) -> Option<&NestedFieldRef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Number of direct children.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the struct has no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// A list type: one element field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListType {
    /// The element field, named `element`.
    pub element_field: NestedFieldRef,
}

impl ListType {
    /// A list whose elements have `element_id` and `element_type`.
    pub fn new(element_id: i32, element_type: Type, element_required: bool) -> Self {
        Self {
            element_field: Arc::new(NestedField::new(
                element_id,
                "element",
                element_type,
                element_required,
            )),
        }
    }
}

/// A map type: a key field and a value field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapType {
    /// The key field, named `key`, always required.
    pub key_field: NestedFieldRef,
    /// The value field, named `value`.
    pub value_field: NestedFieldRef,
}

impl MapType {
    /// A map from `key_type` to `value_type`.
    pub fn new(
        key_id: i32,
        key_type: Type,
        value_id: i32,
        value_type: Type,
        value_required: bool,
    ) -> Self {
        Self {
            key_field: Arc::new(NestedField::required(key_id, "key", key_type)),
            value_field: Arc::new(NestedField::new(
                value_id,
                "value",
                value_type,
                value_required,
            )),
        }
    }
}

fn get_i32(obj: &serde_json::Map<String, Value>, key: &str, what: &str) -> Result<i32> {
    let v = obj
        .get(key)
        .ok_or_else(|| Error::invalid(format!("{what}: missing `{key}`")))?;
    v.as_i64()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| Error::invalid(format!("{what}: `{key}` must be a 32-bit integer, got {v}")))
}

fn get_bool(obj: &serde_json::Map<String, Value>, key: &str, what: &str) -> Result<bool> {
    obj.get(key)
        .and_then(Value::as_bool)
        .ok_or_else(|| Error::invalid(format!("{what}: missing boolean `{key}`")))
}

/// Serializes a type to its JSON form.
pub fn type_to_json(t: &Type) -> Value {
    match t {
        Type::Primitive(p) => Value::from(p.to_string()),
        Type::Struct(s) => {
            let mut m = serde_json::Map::new();
            m.insert("type".into(), Value::from("struct"));
            m.insert(
                "fields".into(),
                Value::Array(
                    s.fields()
                        .iter()
                        .map(|f| Value::Object(f.to_json_map()))
                        .collect(),
                ),
            );
            Value::Object(m)
        }
        Type::List(l) => {
            let mut m = serde_json::Map::new();
            m.insert("type".into(), Value::from("list"));
            m.insert("element-id".into(), Value::from(l.element_field.id));
            m.insert("element".into(), type_to_json(&l.element_field.field_type));
            m.insert(
                "element-required".into(),
                Value::from(l.element_field.required),
            );
            Value::Object(m)
        }
        Type::Map(mt) => {
            let mut m = serde_json::Map::new();
            m.insert("type".into(), Value::from("map"));
            m.insert("key-id".into(), Value::from(mt.key_field.id));
            m.insert("key".into(), type_to_json(&mt.key_field.field_type));
            m.insert("value-id".into(), Value::from(mt.value_field.id));
            m.insert("value".into(), type_to_json(&mt.value_field.field_type));
            m.insert(
                "value-required".into(),
                Value::from(mt.value_field.required),
            );
            Value::Object(m)
        }
    }
}

/// Parses a type from its JSON form, with an error that names what was wrong.
pub fn type_from_json(v: &Value) -> Result<Type> {
    match v {
        Value::String(s) => Ok(Type::Primitive(PrimitiveType::parse(s)?)),
        Value::Object(obj) => {
            let kind = obj
                .get("type")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::invalid("nested type: missing string `type`"))?;
            match kind {
                "struct" => {
                    let fields = obj
                        .get("fields")
                        .and_then(Value::as_array)
                        .ok_or_else(|| Error::invalid("struct type: missing array `fields`"))?;
                    let fields = fields
                        .iter()
                        .map(NestedField::from_json_value)
                        .collect::<Result<Vec<_>>>()?;
                    Ok(Type::Struct(StructType::new(fields)))
                }
                "list" => {
                    let id = get_i32(obj, "element-id", "list type")?;
                    let element = obj
                        .get("element")
                        .ok_or_else(|| Error::invalid("list type: missing `element`"))?;
                    let required = get_bool(obj, "element-required", "list type")?;
                    Ok(Type::List(ListType::new(
                        id,
                        type_from_json(element)?,
                        required,
                    )))
                }
                "map" => {
                    let key_id = get_i32(obj, "key-id", "map type")?;
                    let value_id = get_i32(obj, "value-id", "map type")?;
                    let key = obj
                        .get("key")
                        .ok_or_else(|| Error::invalid("map type: missing `key`"))?;
                    let value = obj
                        .get("value")
                        .ok_or_else(|| Error::invalid("map type: missing `value`"))?;
                    let required = get_bool(obj, "value-required", "map type")?;
                    Ok(Type::Map(MapType::new(
                        key_id,
                        type_from_json(key)?,
                        value_id,
                        type_from_json(value)?,
                        required,
                    )))
                }
                other => Err(Error::invalid(format!("unknown nested type `{other}`"))),
            }
        }
        other => Err(Error::invalid(format!(
            "a type must be a string or an object, got {other}"
        ))),
    }
}

impl Serialize for Type {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        type_to_json(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Type {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        type_from_json(&v).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitive_round_trip() {
        for s in [
            "boolean",
            "int",
            "long",
            "float",
            "double",
            "decimal(9, 2)",
            "date",
            "time",
            "timestamp",
            "timestamptz",
            "timestamp_ns",
            "timestamptz_ns",
            "string",
            "uuid",
            "fixed[16]",
            "binary",
        ] {
            let p = PrimitiveType::parse(s).unwrap();
            assert_eq!(p.to_string(), s);
        }
        assert_eq!(
            PrimitiveType::parse("decimal(10, 2)").unwrap(),
            PrimitiveType::Decimal {
                precision: 10,
                scale: 2
            }
        );
    }

    #[test]
    fn bad_types_are_named() {
        let e = PrimitiveType::parse("varchar").unwrap_err();
        assert!(e.to_string().contains("varchar"));
        assert!(PrimitiveType::parse("decimal(39,2)").is_err());
        assert!(PrimitiveType::parse("decimal(3,4)").is_err());
        assert!(PrimitiveType::parse("fixed[x]").is_err());
    }

    #[test]
    fn nested_json_round_trip() {
        let json = r#"{"type":"struct","fields":[
            {"id":1,"name":"tags","required":false,"type":{"type":"list","element-id":3,"element":"string","element-required":true}},
            {"id":2,"name":"attrs","required":true,"type":{"type":"map","key-id":4,"key":"string","value-id":5,"value":"long","value-required":false}, "doc":"d"}
        ]}"#;
        let t: Type = serde_json::from_str(json).unwrap();
        let back = serde_json::to_value(&t).unwrap();
        let t2: Type = serde_json::from_value(back).unwrap();
        assert_eq!(t, t2);
        assert_eq!(
            t.to_string(),
            "struct<tags: list<string>, attrs: map<string, long>>"
        );
    }

    #[test]
    fn missing_keys_are_named() {
        let e =
            serde_json::from_str::<NestedField>(r#"{"id":1,"name":"x","type":"int"}"#).unwrap_err();
        assert!(e.to_string().contains("required"), "{e}");
    }

    #[test]
    fn promotions() {
        use PrimitiveType::*;
        assert!(Int.can_promote_to(&Long));
        assert!(Float.can_promote_to(&Double));
        assert!(!Long.can_promote_to(&Int));
        assert!(
            Decimal {
                precision: 9,
                scale: 2
            }
            .can_promote_to(&Decimal {
                precision: 18,
                scale: 2
            })
        );
        assert!(
            !Decimal {
                precision: 9,
                scale: 2
            }
            .can_promote_to(&Decimal {
                precision: 18,
                scale: 3
            })
        );
    }
}
