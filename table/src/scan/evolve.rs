//! Reading a file's columns in the table's read schema: columns matched by field id
//! (so renames are free), columns added after the file was written filled with their
//! `initial-default` or nulls, promoted types cast (int→long, float→double, decimal
//! precision), structs rebuilt child by child.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StructArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Fields};
use floe_spec::types::{NestedField, Type};

use super::arrow_types::{default_column, field_id, view_type};
use crate::arrow_schema::{field_to_arrow, type_to_arrow};
use crate::error::{Error, Result, arrow_error};

/// The column for `target`, from the file's column with the same id (`source`), or
/// its default when the file has none. With `view_types` a string or binary column
/// comes as `Utf8View` / `BinaryView` (top level only).
pub(crate) fn evolve_column(
    target: &NestedField,
    source: Option<&ArrayRef>,
    num_rows: usize,
    view_types: bool,
) -> Result<ArrayRef> {
    let Some(source) = source else {
        if target.required && target.initial_default.is_none() {
            return Err(Error::invalid(format!(
                "required column `{}` (id {}) is missing from the data file and has no initial-default",
                target.name, target.id
            )));
        }
        let column = default_column(target, num_rows)?;
        return match view_types.then(|| view_type(column.data_type().clone())) {
            Some(dt) if &dt != column.data_type() => {
                cast(&column, &dt).map_err(|e| arrow_error("default column", e))
            }
            _ => Ok(column),
        };
    };
    if let Type::Struct(st) = target.field_type.as_ref() {
        let s = source
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or_else(|| {
                Error::invalid(format!(
                    "column `{}` (id {}) is a struct in the table but {} in the file",
                    target.name,
                    target.id,
                    source.data_type()
                ))
            })?;
        let by_id: HashMap<i32, &ArrayRef> = s
            .fields()
            .iter()
            .zip(s.columns())
            .filter_map(|(f, c)| field_id(f).map(|id| (id, c)))
            .collect();
        let mut children = Vec::with_capacity(st.len());
        for child in st.fields() {
            // Children missing from the file are null, even when required: the
            // struct itself may be null.
            let src = by_id.get(&child.id).copied();
            let col = if src.is_none() && child.required && child.initial_default.is_none() {
                arrow::array::new_null_array(&type_to_arrow(&child.field_type)?, s.len())
            } else {
                evolve_column(child, src, s.len(), false)?
            };
            children.push(col);
        }
        let fields: Fields = st
            .fields()
            .iter()
            .map(|f| field_to_arrow(f).map(Arc::new))
            .collect::<Result<_>>()?;
        return StructArray::try_new(fields.clone(), children.clone(), s.nulls().cloned())
            .or_else(|_| {
                // A required child with nulls (under null parents): relax nullability.
                let relaxed: Fields = fields
                    .iter()
                    .map(|f| Arc::new(f.as_ref().clone().with_nullable(true)))
                    .collect();
                StructArray::try_new(relaxed, children, s.nulls().cloned())
            })
            .map(|a| Arc::new(a) as ArrayRef)
            .map_err(|e| arrow_error("rebuild struct column", e));
    }
    let dt = type_to_arrow(&target.field_type)?;
    let dt = if view_types { view_type(dt) } else { dt };
    if source.data_type() == &dt {
        return Ok(Arc::clone(source));
    }
    if matches!(dt, DataType::Null) {
        return Ok(Arc::new(arrow::array::NullArray::new(num_rows)));
    }
    cast(source.as_ref(), &dt).map_err(|e| {
        Error::invalid(format!(
            "cannot read column `{}` (id {}) of type {} as {}",
            target.name,
            target.id,
            source.data_type(),
            target.field_type
        ))
        .with_source(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float32Array, Int32Array, Int64Array, StringArray};
    use arrow::datatypes::Field;
    use floe_spec::types::{PrimitiveType, StructType};
    use floe_spec::values::{Datum, Literal};

    #[test]
    fn promotes_defaults_and_structs() {
        let long = NestedField::optional(1, "n", Type::Primitive(PrimitiveType::Long));
        let src: ArrayRef = Arc::new(Int32Array::from(vec![1, 2]));
        let out = evolve_column(&long, Some(&src), 2, false).unwrap();
        assert_eq!(
            out.as_any().downcast_ref::<Int64Array>().unwrap().values(),
            &[1, 2]
        );
        let dbl = NestedField::optional(2, "f", Type::Primitive(PrimitiveType::Double));
        let src: ArrayRef = Arc::new(Float32Array::from(vec![1.5]));
        assert_eq!(
            evolve_column(&dbl, Some(&src), 1, false)
                .unwrap()
                .data_type(),
            &DataType::Float64
        );
        let added = NestedField::optional(3, "a", Type::Primitive(PrimitiveType::String))
            .with_initial_default(Literal::Primitive(Datum::String("x".into())));
        let out = evolve_column(&added, None, 2, false).unwrap();
        assert_eq!(
            out.as_any().downcast_ref::<StringArray>().unwrap().value(1),
            "x"
        );
        let req = NestedField::required(4, "r", Type::Primitive(PrimitiveType::Int));
        assert!(
            evolve_column(&req, None, 1, false)
                .unwrap_err()
                .to_string()
                .contains("`r`")
        );

        // A struct whose child was renamed (matched by id) and which gained a child.
        let target = NestedField::optional(
            5,
            "s",
            Type::Struct(StructType::new(vec![
                NestedField::optional(6, "renamed", Type::Primitive(PrimitiveType::Long)),
                NestedField::optional(7, "new", Type::Primitive(PrimitiveType::Int)),
            ])),
        );
        let child = Field::new("old", DataType::Int32, true).with_metadata(HashMap::from([(
            crate::arrow_schema::FIELD_ID_KEY.to_string(),
            "6".to_string(),
        )]));
        let src: ArrayRef = Arc::new(StructArray::from(vec![(
            Arc::new(child),
            Arc::new(Int32Array::from(vec![9])) as ArrayRef,
        )]));
        let out = evolve_column(&target, Some(&src), 1, false).unwrap();
        let s = out.as_any().downcast_ref::<StructArray>().unwrap();
        assert_eq!(s.column(0).data_type(), &DataType::Int64);
        assert_eq!(s.column(1).null_count(), 1);
        assert_eq!(s.fields()[0].name(), "renamed");
    }
}
