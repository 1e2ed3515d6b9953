//! Arrow helpers of the scan reader: field ids of Arrow fields, literals as one-row
//! arrays, and default columns. The Iceberg ↔ Arrow type mapping itself is
//! [`crate::arrow_schema`]'s.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryArray, BinaryViewArray, BooleanArray, Date32Array, Decimal128Array,
    FixedSizeBinaryArray, Float32Array, Float64Array, Int32Array, Int64Array, NullArray,
    StringArray, StringViewArray, Time64MicrosecondArray, TimestampMicrosecondArray,
    TimestampNanosecondArray, UInt32Array, new_null_array,
};
use arrow::datatypes::{DataType, Field, TimeUnit};
use floe_spec::types::NestedField;
use floe_spec::values::{Datum, Literal};

use crate::arrow_schema::type_to_arrow;
use crate::error::{Error, Result, arrow_error};

/// The Iceberg field id of an Arrow field, if it has a valid one.
pub(crate) fn field_id(f: &Field) -> Option<i32> {
    crate::arrow_schema::arrow_field_id(f).ok().flatten()
}

/// A one-row array holding `d`, of Arrow type `dt` (the column's type).
pub(crate) fn datum_to_array(d: &Datum, dt: &DataType) -> Result<ArrayRef> {
    let mismatch = || {
        Error::invalid(format!(
            "value {d} cannot be represented as Arrow type {dt}"
        ))
    };
    Ok(match (d, dt) {
        (Datum::Boolean(v), DataType::Boolean) => Arc::new(BooleanArray::from(vec![*v])),
        (Datum::Int(v), DataType::Int32) => Arc::new(Int32Array::from(vec![*v])),
        (Datum::Int(v), DataType::Int64) => Arc::new(Int64Array::from(vec![i64::from(*v)])),
        (Datum::Long(v), DataType::Int64) => Arc::new(Int64Array::from(vec![*v])),
        (Datum::Float(v), DataType::Float32) => Arc::new(Float32Array::from(vec![*v])),
        (Datum::Float(v), DataType::Float64) => Arc::new(Float64Array::from(vec![f64::from(*v)])),
        (Datum::Double(v), DataType::Float64) => Arc::new(Float64Array::from(vec![*v])),
        (Datum::Decimal { unscaled, .. }, DataType::Decimal128(p, s)) => Arc::new(
            Decimal128Array::from(vec![*unscaled])
                .with_precision_and_scale(*p, *s)
                .map_err(|e| arrow_error("decimal literal", e))?,
        ),
        (Datum::Date(v), DataType::Date32) => Arc::new(Date32Array::from(vec![*v])),
        (Datum::Time(v), DataType::Time64(TimeUnit::Microsecond)) => {
            Arc::new(Time64MicrosecondArray::from(vec![*v]))
        }
        (
            Datum::Timestamp(v) | Datum::Timestamptz(v),
            DataType::Timestamp(TimeUnit::Microsecond, tz),
        ) => Arc::new(TimestampMicrosecondArray::from(vec![*v]).with_timezone_opt(tz.clone())),
        (
            Datum::TimestampNs(v) | Datum::TimestamptzNs(v),
            DataType::Timestamp(TimeUnit::Nanosecond, tz),
        ) => Arc::new(TimestampNanosecondArray::from(vec![*v]).with_timezone_opt(tz.clone())),
        (Datum::String(v), DataType::Utf8) => Arc::new(StringArray::from(vec![v.as_str()])),
        (Datum::String(v), DataType::Utf8View) => Arc::new(StringViewArray::from(vec![v.as_str()])),
        (Datum::Uuid(v), DataType::FixedSizeBinary(16)) => Arc::new(
            FixedSizeBinaryArray::try_from_iter(std::iter::once(v.as_bytes().to_vec()))
                .map_err(|e| arrow_error("uuid literal", e))?,
        ),
        (Datum::Fixed(v) | Datum::Binary(v), DataType::FixedSizeBinary(_)) => Arc::new(
            FixedSizeBinaryArray::try_from_iter(std::iter::once(v.clone()))
                .map_err(|e| arrow_error("fixed literal", e))?,
        ),
        (Datum::Binary(v) | Datum::Fixed(v), DataType::Binary) => {
            Arc::new(BinaryArray::from(vec![v.as_slice()]))
        }
        (Datum::Binary(v) | Datum::Fixed(v), DataType::BinaryView) => {
            Arc::new(BinaryViewArray::from(vec![v.as_slice()]))
        }
        _ => return Err(mismatch()),
    })
}

/// The view type of a string or binary type (`Utf8View`, `BinaryView`); other types
/// unchanged.
pub(crate) fn view_type(dt: DataType) -> DataType {
    match dt {
        DataType::Utf8 | DataType::LargeUtf8 => DataType::Utf8View,
        DataType::Binary | DataType::LargeBinary => DataType::BinaryView,
        other => other,
    }
}

/// The non-view type of a view type (`Utf8`, `Binary`); other types unchanged.
pub(crate) fn unview_type(dt: &DataType) -> Option<DataType> {
    match dt {
        DataType::Utf8View => Some(DataType::Utf8),
        DataType::BinaryView => Some(DataType::Binary),
        _ => None,
    }
}

/// `n` copies of a field's `initial-default`, or `n` nulls when it has none (a column
/// added after a file was written).
pub(crate) fn default_column(field: &NestedField, n: usize) -> Result<ArrayRef> {
    let dt = type_to_arrow(&field.field_type)?;
    match field.initial_default.as_ref().and_then(Literal::as_datum) {
        Some(d) => {
            let one = datum_to_array(d, &dt)?;
            let idx = UInt32Array::from(vec![0u32; n]);
            arrow::compute::take(&one, &idx, None).map_err(|e| arrow_error("default column", e))
        }
        None if dt == DataType::Null => Ok(Arc::new(NullArray::new(n))),
        None => Ok(new_null_array(&dt, n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Array;
    use arrow::datatypes::Schema as ArrowSchema;
    use floe_spec::schema::Schema;
    use floe_spec::types::{ListType, MapType, PrimitiveType, StructType, Type};

    #[test]
    fn converts_nested_schema_with_ids() {
        let schema = Schema::builder()
            .with_fields(vec![
                NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
                NestedField::optional(
                    2,
                    "s",
                    Type::Struct(StructType::new(vec![NestedField::optional(
                        3,
                        "x",
                        Type::Primitive(PrimitiveType::Timestamptz),
                    )])),
                ),
                NestedField::optional(
                    4,
                    "l",
                    Type::List(ListType::new(
                        5,
                        Type::Primitive(PrimitiveType::String),
                        false,
                    )),
                ),
                NestedField::optional(
                    6,
                    "m",
                    Type::Map(MapType::new(
                        7,
                        Type::Primitive(PrimitiveType::String),
                        8,
                        Type::Primitive(PrimitiveType::Int),
                        false,
                    )),
                ),
            ])
            .build()
            .unwrap();
        let a = ArrowSchema::new(
            schema
                .fields()
                .iter()
                .map(|f| crate::arrow_schema::field_to_arrow(f).unwrap())
                .collect::<Vec<_>>(),
        );
        assert_eq!(a.field(0).data_type(), &DataType::Int64);
        assert!(!a.field(0).is_nullable());
        assert_eq!(field_id(a.field(0)), Some(1));
        let DataType::Struct(children) = a.field(1).data_type() else {
            panic!("struct expected")
        };
        assert_eq!(field_id(&children[0]), Some(3));
        assert!(matches!(a.field(2).data_type(), DataType::List(e) if field_id(e) == Some(5)));
        assert!(matches!(a.field(3).data_type(), DataType::Map(..)));
    }

    #[test]
    fn literals_and_defaults() {
        let a = datum_to_array(&Datum::Int(3), &DataType::Int64).unwrap();
        assert_eq!(a.data_type(), &DataType::Int64);
        assert!(datum_to_array(&Datum::String("x".into()), &DataType::Int32).is_err());
        let f = NestedField::optional(9, "d", Type::Primitive(PrimitiveType::Int))
            .with_initial_default(Literal::Primitive(Datum::Int(7)));
        let col = default_column(&f, 3).unwrap();
        let col = col.as_any().downcast_ref::<Int32Array>().unwrap();
        assert_eq!(col.values(), &[7, 7, 7]);
        let g = NestedField::optional(10, "e", Type::Primitive(PrimitiveType::String));
        assert_eq!(default_column(&g, 2).unwrap().null_count(), 2);
    }
}
