//! The REST `DataFile` / `ContentFile` JSON (OpenAPI `ContentFile`, Java
//! `ContentFileParser`), used by server-side scan planning and Floe's append API.
//!
//! Count maps are `{"keys": [ids], "values": [longs]}`. Bounds are written as
//! `{"keys": [ids], "values": [single values]}` with the JSON single-value form of the
//! column's type. On read, a bound that is not a valid single value of its type but is
//! a hex string is read as the hex of its Appendix D bytes (what Java's
//! `ContentFileParser` writes). Bounds of column ids not in the schema are dropped.

use serde_json::{Map, Value, json};

use super::{ColumnMap, DataContentType, DataFile, DataFileFormat};
use crate::error::{Error, Result};
use crate::schema::Schema;
use crate::types::{PrimitiveType, StructType};
use crate::values::Datum;

fn count_map(m: &ColumnMap<i64>) -> Value {
    json!({
        "keys": m.keys().collect::<Vec<_>>(),
        "values": m.values().collect::<Vec<_>>(),
    })
}

fn bound_map(m: &ColumnMap<Datum>) -> Value {
    json!({
        "keys": m.keys().collect::<Vec<_>>(),
        "values": m.values().map(Datum::to_json).collect::<Vec<_>>(),
    })
}

fn get_i64(obj: &Map<String, Value>, key: &str) -> Result<Option<i64>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            Error::invalid(format!("data file `{key}` must be an integer, got {v}"))
        }),
    }
}

fn get_i32(obj: &Map<String, Value>, key: &str) -> Result<Option<i32>> {
    get_i64(obj, key)?
        .map(|v| {
            i32::try_from(v)
                .map_err(|_| Error::invalid(format!("data file `{key}` {v} does not fit an int")))
        })
        .transpose()
}

fn get_str<'a>(obj: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v) => Err(Error::invalid(format!(
            "data file `{key}` must be a string, got {v}"
        ))),
    }
}

fn required<T>(v: Option<T>, key: &str) -> Result<T> {
    v.ok_or_else(|| Error::invalid(format!("data file has no `{key}`")))
}

/// The `keys` and `values` arrays of a map object.
fn map_arrays<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
) -> Result<Option<(&'a [Value], &'a [Value])>> {
    let m = match obj.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(m)) => m,
        Some(v) => {
            bail_invalid!("data file `{key}` must be an object with keys and values, got {v}")
        }
    };
    let arr = |k: &str| -> Result<&'a [Value]> {
        match m.get(k) {
            Some(Value::Array(a)) => Ok(a.as_slice()),
            None | Some(Value::Null) => Ok(&[]),
            Some(v) => Err(Error::invalid(format!(
                "data file `{key}`.`{k}` must be an array, got {v}"
            ))),
        }
    };
    let (keys, values) = (arr("keys")?, arr("values")?);
    if keys.len() != values.len() {
        bail_invalid!(
            "data file `{key}` has {} keys but {} values",
            keys.len(),
            values.len()
        );
    }
    Ok(Some((keys, values)))
}

fn map_key(k: &Value, key: &str) -> Result<i32> {
    k.as_i64()
        .and_then(|n| i32::try_from(n).ok())
        .ok_or_else(|| Error::invalid(format!("data file `{key}` has a non-integer key {k}")))
}

fn read_counts(obj: &Map<String, Value>, key: &str) -> Result<ColumnMap<i64>> {
    let Some((keys, values)) = map_arrays(obj, key)? else {
        return Ok(ColumnMap::new());
    };
    keys.iter()
        .zip(values)
        .map(|(k, v)| {
            let v = v.as_i64().ok_or_else(|| {
                Error::invalid(format!("data file `{key}` has a non-integer value {v}"))
            })?;
            Ok((map_key(k, key)?, v))
        })
        .collect()
}

fn bound_value(v: &Value, ty: &PrimitiveType) -> Result<Datum> {
    match Datum::from_json(v, ty) {
        Ok(d) => Ok(d),
        Err(e) => {
            // Java's ContentFileParser writes the hex of the Appendix D bytes.
            if let Ok(Datum::Binary(bytes)) = Datum::from_json(v, &PrimitiveType::Binary) {
                Datum::from_bytes(&bytes, ty)
            } else {
                Err(e)
            }
        }
    }
}

fn read_bounds(obj: &Map<String, Value>, key: &str, schema: &Schema) -> Result<ColumnMap<Datum>> {
    let Some((keys, values)) = map_arrays(obj, key)? else {
        return Ok(ColumnMap::new());
    };
    let mut out = ColumnMap::with_capacity(keys.len());
    for (k, v) in keys.iter().zip(values) {
        let id = map_key(k, key)?;
        let Some(ty) = schema
            .field_by_id(id)
            .and_then(|f| f.field_type.as_primitive())
        else {
            continue;
        };
        let d = bound_value(v, ty).map_err(|e| {
            Error::invalid(format!("data file `{key}` of column {id}: {}", e.message()))
        })?;
        out.insert(id, d);
    }
    Ok(out)
}

fn read_list<T>(
    obj: &Map<String, Value>,
    key: &str,
    f: impl Fn(&Value) -> Option<T>,
) -> Result<Option<Vec<T>>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                f(x).ok_or_else(|| Error::invalid(format!("data file `{key}` has a bad item {x}")))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(v) => Err(Error::invalid(format!(
            "data file `{key}` must be an array, got {v}"
        ))),
    }
}

impl DataFile {
    /// The REST JSON form, for a file of partition spec `spec_id` whose partition
    /// tuple has type `partition_type`. Empty maps and absent optional fields are
    /// left out.
    pub fn to_rest_json(&self, spec_id: i32, partition_type: &StructType) -> Value {
        let mut m = Map::new();
        m.insert("spec-id".into(), Value::from(spec_id));
        m.insert("content".into(), Value::from(self.content.as_str()));
        m.insert("file-path".into(), Value::from(self.file_path.clone()));
        m.insert("file-format".into(), Value::from(self.file_format.as_str()));
        let partition: Vec<Value> = (0..partition_type.len())
            .map(|i| {
                self.partition
                    .get(i)
                    .and_then(Option::as_ref)
                    .map_or(Value::Null, Datum::to_json)
            })
            .collect();
        m.insert("partition".into(), Value::Array(partition));
        m.insert(
            "file-size-in-bytes".into(),
            Value::from(self.file_size_in_bytes),
        );
        m.insert("record-count".into(), Value::from(self.record_count));
        for (key, map) in [
            ("column-sizes", &self.column_sizes),
            ("value-counts", &self.value_counts),
            ("null-value-counts", &self.null_value_counts),
            ("nan-value-counts", &self.nan_value_counts),
        ] {
            if !map.is_empty() {
                m.insert(key.into(), count_map(map));
            }
        }
        for (key, map) in [
            ("lower-bounds", &self.lower_bounds),
            ("upper-bounds", &self.upper_bounds),
        ] {
            if !map.is_empty() {
                m.insert(key.into(), bound_map(map));
            }
        }
        if let Some(k) = &self.key_metadata {
            m.insert("key-metadata".into(), Datum::Binary(k.clone()).to_json());
        }
        if let Some(s) = &self.split_offsets {
            m.insert("split-offsets".into(), Value::from(s.clone()));
        }
        if let Some(e) = &self.equality_ids {
            m.insert("equality-ids".into(), Value::from(e.clone()));
        }
        if let Some(s) = self.sort_order_id {
            m.insert("sort-order-id".into(), Value::from(s));
        }
        if let Some(r) = self.first_row_id {
            m.insert("first-row-id".into(), Value::from(r));
        }
        if let Some(r) = &self.referenced_data_file {
            m.insert("referenced-data-file".into(), Value::from(r.clone()));
        }
        if let Some(o) = self.content_offset {
            m.insert("content-offset".into(), Value::from(o));
        }
        if let Some(s) = self.content_size_in_bytes {
            m.insert("content-size-in-bytes".into(), Value::from(s));
        }
        Value::Object(m)
    }

    /// Reads the REST JSON form. Bounds are typed by `schema`, partition values by
    /// `partition_type` (the type of the spec named by `spec-id`, which the caller
    /// resolves). A missing `partition` is allowed only for an unpartitioned spec.
    pub fn from_rest_json(
        v: &Value,
        schema: &Schema,
        partition_type: &StructType,
    ) -> Result<DataFile> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::invalid(format!("a data file must be a JSON object, got {v}")))?;
        let content = match get_str(obj, "content")? {
            Some(s) => DataContentType::parse(s)?,
            None => DataContentType::Data,
        };
        let file_path = required(get_str(obj, "file-path")?, "file-path")?.to_string();
        let file_format =
            DataFileFormat::parse(required(get_str(obj, "file-format")?, "file-format")?)?;
        let partition = match obj.get("partition") {
            None | Some(Value::Null) if partition_type.is_empty() => Vec::new(),
            None | Some(Value::Null) => bail_invalid!(
                "data file `{file_path}` has no `partition` but the spec has {} fields",
                partition_type.len()
            ),
            Some(Value::Array(a)) => {
                if a.len() != partition_type.len() {
                    bail_invalid!(
                        "data file `{file_path}` has {} partition values, the spec has {} fields",
                        a.len(),
                        partition_type.len()
                    );
                }
                a.iter()
                    .zip(partition_type.fields())
                    .map(|(x, f)| {
                        if x.is_null() {
                            return Ok(None);
                        }
                        let ty = f.field_type.as_primitive().ok_or_else(|| {
                            Error::invalid(format!("partition field `{}` is not primitive", f.name))
                        })?;
                        Datum::from_json(x, ty).map(Some).map_err(|e| {
                            Error::invalid(format!("partition field `{}`: {}", f.name, e.message()))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?
            }
            Some(other) => bail_invalid!("data file `partition` must be an array, got {other}"),
        };
        let key_metadata = match obj.get("key-metadata") {
            None | Some(Value::Null) => None,
            Some(x) => match Datum::from_json(x, &PrimitiveType::Binary) {
                Ok(Datum::Binary(b)) => Some(b),
                _ => bail_invalid!("data file `key-metadata` must be a hex string, got {x}"),
            },
        };
        Ok(DataFile {
            content,
            file_path,
            file_format,
            partition,
            record_count: required(get_i64(obj, "record-count")?, "record-count")?,
            file_size_in_bytes: required(
                get_i64(obj, "file-size-in-bytes")?,
                "file-size-in-bytes",
            )?,
            column_sizes: read_counts(obj, "column-sizes")?,
            value_counts: read_counts(obj, "value-counts")?,
            null_value_counts: read_counts(obj, "null-value-counts")?,
            nan_value_counts: read_counts(obj, "nan-value-counts")?,
            lower_bounds: read_bounds(obj, "lower-bounds", schema)?,
            upper_bounds: read_bounds(obj, "upper-bounds", schema)?,
            key_metadata,
            split_offsets: read_list(obj, "split-offsets", Value::as_i64)?,
            equality_ids: read_list(obj, "equality-ids", |x| {
                x.as_i64().and_then(|n| i32::try_from(n).ok())
            })?,
            sort_order_id: get_i32(obj, "sort-order-id")?,
            referenced_data_file: get_str(obj, "referenced-data-file")?.map(str::to_string),
            first_row_id: get_i64(obj, "first-row-id")?,
            content_offset: get_i64(obj, "content-offset")?,
            content_size_in_bytes: get_i64(obj, "content-size-in-bytes")?,
        })
    }
}
