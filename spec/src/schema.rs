//! Schemas: a struct of fields with a `schema-id`, identifier fields, and indexes to
//! find any field by id or by its full dotted name.
//!
//! ```
//! use floe_spec::schema::Schema;
//! use floe_spec::types::{NestedField, PrimitiveType, Type};
//! let schema = Schema::builder()
//!     .with_fields(vec![
//!         NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
//!         NestedField::optional(2, "name", Type::Primitive(PrimitiveType::String)),
//!     ])
//!     .with_identifier_field_ids([1])
//!     .build()
//!     .unwrap();
//! assert_eq!(schema.field_by_name("name").unwrap().id, 2);
//! assert_eq!(schema.highest_field_id(), 2);
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::types::{
    ListType, MAX_FIELD_ID, MapType, NestedField, NestedFieldRef, StructType, Type, type_from_json,
    type_to_json,
};

/// A shared schema.
pub type SchemaRef = Arc<Schema>;

/// A table schema.
#[derive(Debug, Clone)]
pub struct Schema {
    schema_id: i32,
    struct_type: StructType,
    identifier_field_ids: Vec<i32>,
    id_to_field: HashMap<i32, NestedFieldRef>,
    name_to_id: HashMap<String, i32>,
    lower_name_to_id: HashMap<String, i32>,
    id_to_name: HashMap<i32, String>,
    id_to_accessor: HashMap<i32, Vec<usize>>,
    highest_field_id: i32,
}

impl PartialEq for Schema {
    fn eq(&self, other: &Self) -> bool {
        self.schema_id == other.schema_id
            && self.struct_type == other.struct_type
            && self.identifier_field_ids == other.identifier_field_ids
    }
}

impl Eq for Schema {}

impl Schema {
    /// A builder for a schema.
    pub fn builder() -> SchemaBuilder {
        SchemaBuilder::default()
    }

    /// The schema id.
    pub fn schema_id(&self) -> i32 {
        self.schema_id
    }

    /// The top-level struct.
    pub fn as_struct(&self) -> &StructType {
        &self.struct_type
    }

    /// The top-level fields.
    pub fn fields(&self) -> &[NestedFieldRef] {
        self.struct_type.fields()
    }

    /// Ids of the identifier fields (the row key).
    pub fn identifier_field_ids(&self) -> &[i32] {
        &self.identifier_field_ids
    }

    /// The highest field id anywhere in the schema (0 if none).
    pub fn highest_field_id(&self) -> i32 {
        self.highest_field_id
    }

    /// Any field, at any depth, by id.
    pub fn field_by_id(&self, id: i32) -> Option<&NestedFieldRef> {
        self.id_to_field.get(&id)
    }

    /// Any field by its full dotted name (`a.b.c`; list elements as `l.element`, map
    /// keys and values as `m.key`, `m.value`).
    pub fn field_by_name(&self, name: &str) -> Option<&NestedFieldRef> {
        self.name_to_id
            .get(name)
            .and_then(|id| self.id_to_field.get(id))
    }

    /// Like [`Schema::field_by_name`], ignoring ASCII case.
    pub fn field_by_name_case_insensitive(&self, name: &str) -> Option<&NestedFieldRef> {
        self.lower_name_to_id
            .get(&name.to_lowercase())
            .and_then(|id| self.id_to_field.get(id))
    }

    /// The full dotted name of a field.
    pub fn name_by_id(&self, id: i32) -> Option<&str> {
        self.id_to_name.get(&id).map(String::as_str)
    }

    /// Positions from the top-level struct down to the field, through nested structs
    /// only (fields inside lists and maps have no accessor).
    pub fn accessor_by_id(&self, id: i32) -> Option<&[usize]> {
        self.id_to_accessor.get(&id).map(Vec::as_slice)
    }

    /// All field ids in the schema.
    pub fn field_ids(&self) -> impl Iterator<Item = i32> + '_ {
        self.id_to_field.keys().copied()
    }

    /// A copy of this schema with another id.
    #[must_use]
    pub fn with_schema_id(&self, schema_id: i32) -> Schema {
        let mut s = self.clone();
        s.schema_id = schema_id;
        s
    }

    /// Whether the two schemas have the same fields and identifier fields (ignoring ids
    /// of the schemas themselves).
    pub fn same_fields(&self, other: &Schema) -> bool {
        self.struct_type == other.struct_type
            && self.identifier_field_ids == other.identifier_field_ids
    }

    /// A builder holding this schema's fields, to change them.
    pub fn into_builder(self) -> SchemaBuilder {
        SchemaBuilder {
            schema_id: self.schema_id,
            fields: self.struct_type.fields().to_vec(),
            identifier_field_ids: self.identifier_field_ids,
        }
    }

    /// The schema with every field id assigned afresh, in depth-first order starting at
    /// `next_id()`: what a catalog does when creating a table. Identifier field ids are
    /// remapped. Returns the new schema and the map old id → new id.
    pub fn reassign_field_ids(
        &self,
        mut next_id: impl FnMut() -> i32,
    ) -> Result<(Schema, HashMap<i32, i32>)> {
        let mut map = HashMap::new();
        let fields = reassign_struct(&self.struct_type, &mut next_id, &mut map);
        let identifier_field_ids = self
            .identifier_field_ids
            .iter()
            .map(|id| {
                map.get(id).copied().ok_or_else(|| {
                    Error::invalid(format!("identifier field {id} is not in the schema"))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let schema = Schema::builder()
            .with_schema_id(self.schema_id)
            .with_field_refs(fields.fields().to_vec())
            .with_identifier_field_ids(identifier_field_ids)
            .build()?;
        Ok((schema, map))
    }
}

fn reassign_struct(
    s: &StructType,
    next_id: &mut impl FnMut() -> i32,
    map: &mut HashMap<i32, i32>,
) -> StructType {
    // Ids of one level are assigned before the ids of nested levels, as Java does.
    let new_ids: Vec<i32> = s
        .fields()
        .iter()
        .map(|f| {
            let id = next_id();
            map.insert(f.id, id);
            id
        })
        .collect();
    let fields = s
        .fields()
        .iter()
        .zip(new_ids)
        .map(|(f, id)| {
            let mut nf = (**f).clone();
            nf.id = id;
            nf.field_type = Box::new(reassign_type(&f.field_type, next_id, map));
            Arc::new(nf)
        })
        .collect();
    StructType::from_refs(fields)
}

fn reassign_type(t: &Type, next_id: &mut impl FnMut() -> i32, map: &mut HashMap<i32, i32>) -> Type {
    match t {
        Type::Primitive(_) => t.clone(),
        Type::Struct(s) => Type::Struct(reassign_struct(s, next_id, map)),
        Type::List(l) => {
            let id = next_id();
            map.insert(l.element_field.id, id);
            let element = reassign_type(&l.element_field.field_type, next_id, map);
            let mut lt = ListType::new(id, element, l.element_field.required);
            Arc::make_mut(&mut lt.element_field)
                .doc
                .clone_from(&l.element_field.doc);
            Type::List(lt)
        }
        Type::Map(m) => {
            let key_id = next_id();
            map.insert(m.key_field.id, key_id);
            let value_id = next_id();
            map.insert(m.value_field.id, value_id);
            let key = reassign_type(&m.key_field.field_type, next_id, map);
            let value = reassign_type(&m.value_field.field_type, next_id, map);
            Type::Map(MapType::new(
                key_id,
                key,
                value_id,
                value,
                m.value_field.required,
            ))
        }
    }
}

/// Builds a [`Schema`], checking ids and identifier fields.
#[derive(Debug, Default, Clone)]
pub struct SchemaBuilder {
    schema_id: i32,
    fields: Vec<NestedFieldRef>,
    identifier_field_ids: Vec<i32>,
}

impl SchemaBuilder {
    /// Sets the schema id (default 0).
    #[must_use]
    pub fn with_schema_id(mut self, id: i32) -> Self {
        self.schema_id = id;
        self
    }

    /// Adds top-level fields.
    #[must_use]
    pub fn with_fields(mut self, fields: impl IntoIterator<Item = NestedField>) -> Self {
        self.fields.extend(fields.into_iter().map(Arc::new));
        self
    }

    /// Adds shared top-level fields.
    #[must_use]
    pub fn with_field_refs(mut self, fields: impl IntoIterator<Item = NestedFieldRef>) -> Self {
        self.fields.extend(fields);
        self
    }

    /// Sets the identifier field ids.
    #[must_use]
    pub fn with_identifier_field_ids(mut self, ids: impl IntoIterator<Item = i32>) -> Self {
        self.identifier_field_ids = ids.into_iter().collect();
        self
    }

    /// Builds and validates: field ids unique and in range, names unique per struct,
    /// identifier fields required non-float primitives not inside a list, map or
    /// optional struct.
    pub fn build(self) -> Result<Schema> {
        let struct_type = StructType::from_refs(self.fields);
        let mut schema = Schema {
            schema_id: self.schema_id,
            struct_type,
            identifier_field_ids: self.identifier_field_ids,
            id_to_field: HashMap::new(),
            name_to_id: HashMap::new(),
            lower_name_to_id: HashMap::new(),
            id_to_name: HashMap::new(),
            id_to_accessor: HashMap::new(),
            highest_field_id: 0,
        };
        let mut index = Indexer::default();
        index.visit_struct(&schema.struct_type, "", &[], true)?;
        schema.highest_field_id = index.id_to_field.keys().copied().max().unwrap_or(0);
        schema.id_to_field = index.id_to_field;
        schema.name_to_id = index.name_to_id;
        schema.lower_name_to_id = index.lower_name_to_id;
        schema.id_to_name = index.id_to_name;
        schema.id_to_accessor = index.id_to_accessor;
        for id in &schema.identifier_field_ids {
            let field = schema.id_to_field.get(id).ok_or_else(|| {
                Error::invalid(format!(
                    "identifier field id {id} is not a field of the schema"
                ))
            })?;
            let name = schema.id_to_name.get(id).cloned().unwrap_or_default();
            if !field.required {
                bail_invalid!("identifier field `{name}` must be required");
            }
            match field.field_type.as_primitive() {
                Some(p) if !p.is_floating() => {}
                _ => bail_invalid!(
                    "identifier field `{name}` must be a non-floating-point primitive, got {}",
                    field.field_type
                ),
            }
            if !index.identifier_ok.contains(id) {
                bail_invalid!(
                    "identifier field `{name}` must not be nested in a list, map or optional struct"
                );
            }
        }
        Ok(schema)
    }
}

#[derive(Default)]
struct Indexer {
    id_to_field: HashMap<i32, NestedFieldRef>,
    name_to_id: HashMap<String, i32>,
    lower_name_to_id: HashMap<String, i32>,
    id_to_name: HashMap<i32, String>,
    id_to_accessor: HashMap<i32, Vec<usize>>,
    identifier_ok: std::collections::HashSet<i32>,
}

impl Indexer {
    fn add(&mut self, f: &NestedFieldRef, name: String) -> Result<()> {
        if f.id < 0 || f.id > MAX_FIELD_ID {
            bail_invalid!("field `{name}` has id {} outside 0..={MAX_FIELD_ID}", f.id);
        }
        if let Some(prev) = self.id_to_field.insert(f.id, f.clone()) {
            bail_invalid!(
                "field id {} is used twice (by `{}` and `{name}`)",
                f.id,
                prev.name
            );
        }
        if self.name_to_id.insert(name.clone(), f.id).is_some() {
            bail_invalid!("field name `{name}` is used twice");
        }
        self.lower_name_to_id.insert(name.to_lowercase(), f.id);
        self.id_to_name.insert(f.id, name);
        Ok(())
    }

    fn visit_struct(
        &mut self,
        s: &StructType,
        prefix: &str,
        path: &[usize],
        accessible: bool,
    ) -> Result<()> {
        for (pos, f) in s.fields().iter().enumerate() {
            if f.name.is_empty() {
                bail_invalid!("field {} has an empty name", f.id);
            }
            let name = if prefix.is_empty() {
                f.name.clone()
            } else {
                format!("{prefix}.{}", f.name)
            };
            self.add(f, name.clone())?;
            let mut p = path.to_vec();
            p.push(pos);
            if accessible {
                self.id_to_accessor.insert(f.id, p.clone());
                self.identifier_ok.insert(f.id);
            }
            self.visit_type(
                &f.field_type,
                &name,
                &p,
                accessible && f.required,
                accessible,
            )?;
        }
        Ok(())
    }

    fn visit_type(
        &mut self,
        t: &Type,
        name: &str,
        path: &[usize],
        identifier_ok: bool,
        accessible: bool,
    ) -> Result<()> {
        match t {
            Type::Primitive(_) => Ok(()),
            Type::Struct(s) => {
                let before: Vec<i32> = self.identifier_ok.iter().copied().collect();
                self.visit_struct(s, name, path, accessible)?;
                if !identifier_ok {
                    let keep: std::collections::HashSet<i32> = before.into_iter().collect();
                    self.identifier_ok.retain(|id| keep.contains(id));
                }
                Ok(())
            }
            Type::List(l) => {
                let f = &l.element_field;
                let n = format!("{name}.element");
                self.add(f, n.clone())?;
                self.visit_type(&f.field_type, &n, path, false, false)
            }
            Type::Map(m) => {
                let k = &m.key_field;
                let kn = format!("{name}.key");
                self.add(k, kn.clone())?;
                self.visit_type(&k.field_type, &kn, path, false, false)?;
                let v = &m.value_field;
                let vn = format!("{name}.value");
                self.add(v, vn.clone())?;
                self.visit_type(&v.field_type, &vn, path, false, false)
            }
        }
    }
}

impl Serialize for Schema {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl Schema {
    /// The JSON form: `{"type":"struct","schema-id":..,"identifier-field-ids":..,"fields":..}`.
    pub fn to_json(&self) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("type".into(), Value::from("struct"));
        m.insert("schema-id".into(), Value::from(self.schema_id));
        m.insert(
            "identifier-field-ids".into(),
            Value::from(self.identifier_field_ids.clone()),
        );
        let Value::Object(st) = type_to_json(&Type::Struct(self.struct_type.clone())) else {
            unreachable!("a struct serializes to an object")
        };
        if let Some(fields) = st.get("fields") {
            m.insert("fields".into(), fields.clone());
        }
        Value::Object(m)
    }

    /// Reads the JSON form. `schema-id` defaults to 0 (v1 metadata may omit it).
    pub fn from_json(v: &Value) -> Result<Schema> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::invalid(format!("a schema must be a JSON object, got {v}")))?;
        match obj.get("type") {
            Some(Value::String(t)) if t == "struct" => {}
            None => {}
            Some(other) => bail_invalid!("schema: `type` must be \"struct\", got {other}"),
        }
        let schema_id = match obj.get("schema-id") {
            None | Some(Value::Null) => 0,
            Some(x) => x
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| {
                    Error::invalid(format!("schema: `schema-id` must be an integer, got {x}"))
                })?,
        };
        let identifier_field_ids = match obj.get("identifier-field-ids") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_i64()
                        .and_then(|n| i32::try_from(n).ok())
                        .ok_or_else(|| {
                            Error::invalid(format!("schema: bad identifier field id {x}"))
                        })
                })
                .collect::<Result<Vec<_>>>()?,
            Some(other) => {
                bail_invalid!("schema: `identifier-field-ids` must be an array, got {other}")
            }
        };
        let mut st = obj.clone();
        st.insert("type".into(), Value::from("struct"));
        let Type::Struct(struct_type) = type_from_json(&Value::Object(st))
            .map_err(|e| Error::invalid(format!("schema {schema_id}: {}", e.message())))?
        else {
            unreachable!("parsed as a struct")
        };
        Schema::builder()
            .with_schema_id(schema_id)
            .with_field_refs(struct_type.fields().to_vec())
            .with_identifier_field_ids(identifier_field_ids)
            .build()
    }
}

impl<'de> Deserialize<'de> for Schema {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Schema::from_json(&v).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::PrimitiveType;

    fn sample() -> Schema {
        let json = r#"{"type":"struct","schema-id":3,"identifier-field-ids":[1],"fields":[
          {"id":1,"name":"id","required":true,"type":"long"},
          {"id":2,"name":"loc","required":false,"type":{"type":"struct","fields":[
             {"id":3,"name":"lat","required":true,"type":"double"},
             {"id":4,"name":"tags","required":false,"type":{"type":"list","element-id":5,"element":"string","element-required":true}}]}},
          {"id":6,"name":"props","required":false,"type":{"type":"map","key-id":7,"key":"string","value-id":8,"value":"int","value-required":false}}
        ]}"#;
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn lookups() {
        let s = sample();
        assert_eq!(s.schema_id(), 3);
        assert_eq!(s.highest_field_id(), 8);
        assert_eq!(s.field_by_name("loc.lat").unwrap().id, 3);
        assert_eq!(s.field_by_name("loc.tags.element").unwrap().id, 5);
        assert_eq!(s.field_by_name("props.value").unwrap().id, 8);
        assert_eq!(s.field_by_name_case_insensitive("LOC.LAT").unwrap().id, 3);
        assert_eq!(s.name_by_id(7), Some("props.key"));
        assert_eq!(s.accessor_by_id(3), Some(&[1usize, 0][..]));
        assert_eq!(s.accessor_by_id(5), None);
    }

    #[test]
    fn json_round_trip() {
        let s = sample();
        let back: Schema = serde_json::from_value(s.to_json()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn duplicate_ids_rejected() {
        let e = Schema::builder()
            .with_fields(vec![
                NestedField::required(1, "a", PrimitiveType::Int.into()),
                NestedField::required(1, "b", PrimitiveType::Int.into()),
            ])
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("used twice"), "{e}");
    }

    #[test]
    fn identifier_rules() {
        let base = || {
            Schema::builder().with_fields(vec![
                NestedField::optional(1, "a", PrimitiveType::Int.into()),
                NestedField::required(2, "f", PrimitiveType::Double.into()),
                NestedField::optional(
                    3,
                    "s",
                    Type::Struct(StructType::new(vec![NestedField::required(
                        4,
                        "x",
                        PrimitiveType::Int.into(),
                    )])),
                ),
            ])
        };
        assert!(base().with_identifier_field_ids([1]).build().is_err());
        assert!(base().with_identifier_field_ids([2]).build().is_err());
        assert!(base().with_identifier_field_ids([4]).build().is_err());
        assert!(base().with_identifier_field_ids([9]).build().is_err());
        assert!(base().build().is_ok());
    }

    #[test]
    fn reassign_ids_breadth_first() {
        let s = sample();
        let mut next = 0;
        let (fresh, map) = s
            .reassign_field_ids(|| {
                next += 1;
                next
            })
            .unwrap();
        // Top-level fields take 1..=3, then nested ones.
        assert_eq!(fresh.field_by_name("id").unwrap().id, 1);
        assert_eq!(fresh.field_by_name("loc").unwrap().id, 2);
        assert_eq!(fresh.field_by_name("props").unwrap().id, 3);
        assert_eq!(fresh.identifier_field_ids(), &[map[&1]]);
        assert_eq!(fresh.highest_field_id(), 8);
    }
}
