//! Name mapping (`schema.name-mapping.default`): field ids for files written without
//! them, by column name (the spec's *Column Projection* rules).
//!
//! The mapping is a JSON list of `{"field-id": 1, "names": ["id", "ID"], "fields":
//! [...]}` objects; nested `fields` map the children of structs (and the element, key
//! and value of lists and maps).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, Schema as ArrowSchema};
use serde_json::Value;

use crate::arrow_schema::FIELD_ID_KEY;
use crate::error::{Error, Result};

/// The table property holding the default name mapping.
pub const DEFAULT_NAME_MAPPING: &str = "schema.name-mapping.default";

/// One level of a name mapping: names → (field id, children).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NameMapping {
    by_name: HashMap<String, (Option<i32>, NameMapping)>,
}

impl NameMapping {
    /// Parses the JSON form.
    pub fn from_json(json: &str) -> Result<Self> {
        let v: Value = serde_json::from_str(json)
            .map_err(|e| Error::invalid("invalid name mapping JSON").with_source(e))?;
        Self::from_value(&v)
    }

    fn from_value(v: &Value) -> Result<Self> {
        let list = v
            .as_array()
            .ok_or_else(|| Error::invalid("name mapping must be a JSON list"))?;
        let mut by_name = HashMap::new();
        for item in list {
            let id = item
                .get("field-id")
                .and_then(Value::as_i64)
                .and_then(|n| i32::try_from(n).ok());
            let children = match item.get("fields") {
                Some(f) if !f.is_null() => Self::from_value(f)?,
                _ => Self::default(),
            };
            let names = item
                .get("names")
                .and_then(Value::as_array)
                .ok_or_else(|| Error::invalid("name mapping entry without `names`"))?;
            for n in names.iter().filter_map(Value::as_str) {
                by_name.insert(n.to_string(), (id, children.clone()));
            }
        }
        Ok(Self { by_name })
    }

    /// Annotates an Arrow schema without field ids with the mapped ids (unmapped
    /// fields keep no id and are never read).
    pub(crate) fn apply(&self, schema: &ArrowSchema) -> ArrowSchema {
        ArrowSchema::new_with_metadata(
            self.apply_fields(schema.fields()),
            schema.metadata().clone(),
        )
    }

    fn apply_fields(&self, fields: &Fields) -> Fields {
        fields
            .iter()
            .map(|f| Arc::new(self.apply_field(f)))
            .collect()
    }

    fn apply_field(&self, f: &Field) -> Field {
        let Some((id, children)) = self.by_name.get(f.name()) else {
            return f.clone();
        };
        let data_type = match f.data_type() {
            DataType::Struct(c) => DataType::Struct(children.apply_fields(c)),
            DataType::List(e) => DataType::List(Arc::new(children.apply_field(e))),
            DataType::LargeList(e) => DataType::LargeList(Arc::new(children.apply_field(e))),
            DataType::Map(e, sorted) => DataType::Map(Arc::new(children.apply_field(e)), *sorted),
            other => other.clone(),
        };
        let mut metadata = f.metadata().clone();
        if let Some(id) = id {
            metadata.insert(FIELD_ID_KEY.to_string(), id.to_string());
        }
        f.clone().with_data_type(data_type).with_metadata(metadata)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::arrow_types::field_id;

    #[test]
    fn maps_names_to_ids() {
        let m = NameMapping::from_json(
            r#"[{"field-id": 1, "names": ["id", "ID"]},
                {"field-id": 2, "names": ["s"], "fields": [{"field-id": 3, "names": ["x"]}]}]"#,
        )
        .unwrap();
        let schema = ArrowSchema::new(vec![
            Field::new("ID", DataType::Int64, false),
            Field::new(
                "s",
                DataType::Struct(Fields::from(vec![Field::new("x", DataType::Utf8, true)])),
                true,
            ),
            Field::new("other", DataType::Int32, true),
        ]);
        let out = m.apply(&schema);
        assert_eq!(field_id(out.field(0)), Some(1));
        assert_eq!(field_id(out.field(1)), Some(2));
        let DataType::Struct(c) = out.field(1).data_type() else {
            panic!("struct")
        };
        assert_eq!(field_id(&c[0]), Some(3));
        assert_eq!(field_id(out.field(2)), None);
        assert!(NameMapping::from_json("{").is_err());
        assert!(NameMapping::from_json("[{\"field-id\": 1}]").is_err());
    }
}
