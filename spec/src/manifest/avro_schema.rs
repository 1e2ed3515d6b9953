//! The Avro writer schemas of manifests and manifest lists, built as the JSON Java's
//! `AvroSchemaUtil` produces: every field carries `field-id`, optional fields are
//! `["null", T]` with `"default": null`, lists carry `element-id`, int-keyed maps are
//! arrays of `k{key-id}_v{value-id}` records with `"logicalType": "map"`, and record
//! names are `manifest_entry`, `r2`, `r102`, `manifest_file` and `r508`.

use std::collections::HashSet;
use std::fmt::Write;

use serde_json::{Value, json};

use crate::table_metadata::FormatVersion;
use crate::types::{PrimitiveType, StructType, Type};

/// Bytes of the `fixed` holding a decimal of `precision` digits (Java's
/// `TypeUtil.decimalRequiredBytes`).
pub(crate) fn decimal_required_bytes(precision: u32) -> usize {
    let limit = 10u128.saturating_pow(precision);
    (1..=16usize)
        .find(|&b| limit <= 1u128 << (8 * b - 1))
        .unwrap_or(16)
}

/// Makes a name valid in Avro the way Java's `AvroSchemaUtil.sanitize` does: a leading
/// digit becomes `_d`, other invalid characters `_xHH`.
pub(crate) fn sanitize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        let ok = c.is_ascii_alphabetic() || c == '_' || (i > 0 && c.is_ascii_digit());
        if ok {
            out.push(c);
        } else if c.is_ascii_digit() {
            out.push('_');
            out.push(c);
        } else {
            let _ = write!(out, "_x{:X}", c as u32);
        }
    }
    out
}

fn field(name: &str, id: i32, ty: Value) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("name".into(), Value::from(name));
    m.insert("type".into(), ty);
    m.insert("field-id".into(), Value::from(id));
    Value::Object(m)
}

fn opt_field(name: &str, id: i32, ty: Value) -> Value {
    let mut m = serde_json::Map::new();
    m.insert("name".into(), Value::from(name));
    m.insert("type".into(), Value::Array(vec![Value::from("null"), ty]));
    m.insert("default".into(), Value::Null);
    m.insert("field-id".into(), Value::from(id));
    Value::Object(m)
}

fn int_map(key_id: i32, value_id: i32, value: &str) -> Value {
    json!({
        "type": "array",
        "logicalType": "map",
        "items": {
            "type": "record",
            "name": format!("k{key_id}_v{value_id}"),
            "fields": [field("key", key_id, json!("int")), field("value", value_id, json!(value))],
        },
    })
}

fn list(element_id: i32, element: &str) -> Value {
    json!({"type": "array", "items": element, "element-id": element_id})
}

/// The Avro schema of a primitive Iceberg type; named types already emitted are
/// referred to by name.
fn primitive(p: &PrimitiveType, named: &mut HashSet<String>) -> Value {
    let mut named_type = |name: String, def: Value| {
        if named.insert(name.clone()) {
            def
        } else {
            Value::from(name)
        }
    };
    match p {
        PrimitiveType::Boolean => json!("boolean"),
        PrimitiveType::Int => json!("int"),
        PrimitiveType::Long => json!("long"),
        PrimitiveType::Float => json!("float"),
        PrimitiveType::Double => json!("double"),
        PrimitiveType::Date => json!({"type": "int", "logicalType": "date"}),
        PrimitiveType::Time => json!({"type": "long", "logicalType": "time-micros"}),
        PrimitiveType::Timestamp => {
            json!({"type": "long", "logicalType": "timestamp-micros", "adjust-to-utc": false})
        }
        PrimitiveType::Timestamptz => {
            json!({"type": "long", "logicalType": "timestamp-micros", "adjust-to-utc": true})
        }
        PrimitiveType::TimestampNs => {
            json!({"type": "long", "logicalType": "timestamp-nanos", "adjust-to-utc": false})
        }
        PrimitiveType::TimestamptzNs => {
            json!({"type": "long", "logicalType": "timestamp-nanos", "adjust-to-utc": true})
        }
        PrimitiveType::String => json!("string"),
        PrimitiveType::Binary => json!("bytes"),
        PrimitiveType::Unknown => json!("null"),
        PrimitiveType::Uuid => named_type(
            "uuid_fixed".into(),
            json!({"type": "fixed", "name": "uuid_fixed", "size": 16, "logicalType": "uuid"}),
        ),
        PrimitiveType::Fixed(len) => {
            let name = format!("fixed_{len}");
            named_type(
                name.clone(),
                json!({"type": "fixed", "name": name, "size": len}),
            )
        }
        PrimitiveType::Decimal { precision, scale } => {
            let name = format!("decimal_{precision}_{scale}");
            named_type(
                name.clone(),
                json!({
                    "type": "fixed",
                    "name": name,
                    "size": decimal_required_bytes(*precision),
                    "logicalType": "decimal",
                    "precision": precision,
                    "scale": scale,
                }),
            )
        }
    }
}

/// The `r102` partition record for a partition type.
fn partition_record(partition_type: &StructType) -> Value {
    let mut named = HashSet::new();
    let fields: Vec<Value> = partition_type
        .fields()
        .iter()
        .map(|f| {
            let p = f
                .field_type
                .as_primitive()
                .cloned()
                .unwrap_or(PrimitiveType::Unknown);
            let avro_name = sanitize_name(&f.name);
            let mut v = if p == PrimitiveType::Unknown {
                json!({"name": avro_name, "type": "null", "default": null, "field-id": f.id})
            } else {
                opt_field(&avro_name, f.id, primitive(&p, &mut named))
            };
            if avro_name != f.name
                && let Some(obj) = v.as_object_mut()
            {
                obj.insert("iceberg-field-name".into(), Value::from(f.name.clone()));
            }
            v
        })
        .collect();
    json!({"type": "record", "name": "r102", "fields": fields})
}

/// The `manifest_entry` schema for a format version and partition type.
pub(crate) fn manifest_entry_schema(version: FormatVersion, partition_type: &StructType) -> Value {
    let partition = partition_record(partition_type);
    let mut file_fields = Vec::new();
    if version >= FormatVersion::V2 {
        file_fields.push(field("content", 134, json!("int")));
    }
    file_fields.push(field("file_path", 100, json!("string")));
    file_fields.push(field("file_format", 101, json!("string")));
    file_fields.push(field("partition", 102, partition));
    file_fields.push(field("record_count", 103, json!("long")));
    file_fields.push(field("file_size_in_bytes", 104, json!("long")));
    if version == FormatVersion::V1 {
        file_fields.push(field("block_size_in_bytes", 105, json!("long")));
    }
    file_fields.push(opt_field("column_sizes", 108, int_map(117, 118, "long")));
    file_fields.push(opt_field("value_counts", 109, int_map(119, 120, "long")));
    file_fields.push(opt_field(
        "null_value_counts",
        110,
        int_map(121, 122, "long"),
    ));
    file_fields.push(opt_field(
        "nan_value_counts",
        137,
        int_map(138, 139, "long"),
    ));
    file_fields.push(opt_field("lower_bounds", 125, int_map(126, 127, "bytes")));
    file_fields.push(opt_field("upper_bounds", 128, int_map(129, 130, "bytes")));
    file_fields.push(opt_field("key_metadata", 131, json!("bytes")));
    file_fields.push(opt_field("split_offsets", 132, list(133, "long")));
    if version >= FormatVersion::V2 {
        file_fields.push(opt_field("equality_ids", 135, list(136, "int")));
    }
    file_fields.push(opt_field("sort_order_id", 140, json!("int")));
    if version >= FormatVersion::V3 {
        file_fields.push(opt_field("first_row_id", 142, json!("long")));
    }
    if version >= FormatVersion::V2 {
        file_fields.push(opt_field("referenced_data_file", 143, json!("string")));
    }
    if version >= FormatVersion::V3 {
        file_fields.push(opt_field("content_offset", 144, json!("long")));
        file_fields.push(opt_field("content_size_in_bytes", 145, json!("long")));
    }
    let data_file = json!({"type": "record", "name": "r2", "fields": file_fields});
    let mut fields = vec![
        field("status", 0, json!("int")),
        opt_field("snapshot_id", 1, json!("long")),
    ];
    if version >= FormatVersion::V2 {
        fields.push(opt_field("sequence_number", 3, json!("long")));
        fields.push(opt_field("file_sequence_number", 4, json!("long")));
    }
    fields.push(field("data_file", 2, data_file));
    json!({"type": "record", "name": "manifest_entry", "fields": fields})
}

/// The `manifest_file` schema of a manifest list for a format version.
pub(crate) fn manifest_list_schema(version: FormatVersion) -> Value {
    let summary = json!({
        "type": "record",
        "name": "r508",
        "fields": [
            field("contains_null", 509, json!("boolean")),
            opt_field("contains_nan", 518, json!("boolean")),
            opt_field("lower_bound", 510, json!("bytes")),
            opt_field("upper_bound", 511, json!("bytes")),
        ],
    });
    let partitions = opt_field(
        "partitions",
        507,
        json!({"type": "array", "items": summary, "element-id": 508}),
    );
    let mut fields = vec![
        field("manifest_path", 500, json!("string")),
        field("manifest_length", 501, json!("long")),
        field("partition_spec_id", 502, json!("int")),
    ];
    if version == FormatVersion::V1 {
        fields.extend([
            field("added_snapshot_id", 503, json!("long")),
            opt_field("added_files_count", 504, json!("int")),
            opt_field("existing_files_count", 505, json!("int")),
            opt_field("deleted_files_count", 506, json!("int")),
            partitions,
            opt_field("added_rows_count", 512, json!("long")),
            opt_field("existing_rows_count", 513, json!("long")),
            opt_field("deleted_rows_count", 514, json!("long")),
            opt_field("key_metadata", 519, json!("bytes")),
        ]);
    } else {
        fields.extend([
            field("content", 517, json!("int")),
            field("sequence_number", 515, json!("long")),
            field("min_sequence_number", 516, json!("long")),
            field("added_snapshot_id", 503, json!("long")),
            field("added_files_count", 504, json!("int")),
            field("existing_files_count", 505, json!("int")),
            field("deleted_files_count", 506, json!("int")),
            field("added_rows_count", 512, json!("long")),
            field("existing_rows_count", 513, json!("long")),
            field("deleted_rows_count", 514, json!("long")),
            partitions,
            opt_field("key_metadata", 519, json!("bytes")),
        ]);
        if version >= FormatVersion::V3 {
            fields.push(opt_field("first_row_id", 520, json!("long")));
        }
    }
    json!({"type": "record", "name": "manifest_file", "fields": fields})
}

/// Whether a partition type is representable in a manifest (all fields primitive).
pub(crate) fn check_partition_type(partition_type: &StructType) -> crate::Result<()> {
    for f in partition_type.fields() {
        if !matches!(*f.field_type, Type::Primitive(_)) {
            bail_invalid!("partition field `{}` must have a primitive type", f.name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::NestedField;

    #[test]
    fn decimal_sizes_match_java() {
        // Java TypeUtil.decimalRequiredBytes: 1..2 → 1, 9 → 4, 18 → 8, 38 → 16.
        assert_eq!(decimal_required_bytes(1), 1);
        assert_eq!(decimal_required_bytes(2), 1);
        assert_eq!(decimal_required_bytes(3), 2);
        assert_eq!(decimal_required_bytes(9), 4);
        assert_eq!(decimal_required_bytes(10), 5);
        assert_eq!(decimal_required_bytes(18), 8);
        assert_eq!(decimal_required_bytes(38), 16);
    }

    #[test]
    fn sanitize_like_java() {
        assert_eq!(sanitize_name("id_bucket"), "id_bucket");
        assert_eq!(sanitize_name("1st"), "_1st");
        assert_eq!(sanitize_name("a-b"), "a_x2Db");
        assert_eq!(sanitize_name("a.b"), "a_x2Eb");
    }

    #[test]
    fn schemas_parse_and_keep_ids() {
        let pt = StructType::new(vec![
            NestedField::optional(1000, "u", Type::Primitive(PrimitiveType::Uuid)),
            NestedField::optional(1001, "u2", Type::Primitive(PrimitiveType::Uuid)),
            NestedField::optional(1002, "a-b", Type::Primitive(PrimitiveType::Timestamptz)),
        ]);
        for v in [FormatVersion::V1, FormatVersion::V2, FormatVersion::V3] {
            let json = manifest_entry_schema(v, &pt);
            let parsed = apache_avro::Schema::parse(&json).unwrap();
            let apache_avro::Schema::Record(r) = parsed else {
                panic!("not a record")
            };
            assert_eq!(r.name.name(), "manifest_entry");
            assert!(
                r.fields
                    .iter()
                    .all(|f| f.custom_attributes.contains_key("field-id"))
            );
            apache_avro::Schema::parse(&manifest_list_schema(v)).unwrap();
        }
        let text = manifest_entry_schema(FormatVersion::V2, &pt).to_string();
        assert!(text.contains(r#""logicalType":"map""#));
        assert!(text.contains(r#""name":"k117_v118""#));
        assert!(text.contains(r#""adjust-to-utc":true"#));
        assert!(text.contains(r#""iceberg-field-name":"a-b""#));
        // The second uuid refers to the first definition by name.
        assert_eq!(text.matches(r#""name":"uuid_fixed""#).count(), 1);
    }
}
