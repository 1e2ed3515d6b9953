//! Evaluating a bound row filter over an Arrow record batch with Arrow's compute
//! kernels, with the null and NaN semantics of `floe_spec::expr`:
//!
//! - `<`, `<=`, `>`, `>=` are unknown (null) for null and NaN values;
//! - `=`, `in`, `starts-with` are false for them, and `!=`, `not-in`,
//!   `not-starts-with` true;
//! - `is-null`, `not-null`, `is-nan`, `not-nan` are never unknown;
//! - `and`, `or`, `not` follow SQL's three-valued logic (Kleene).
//!
//! A row is kept when the result is true.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, Float32Array, Float64Array};
use arrow::buffer::BooleanBuffer;
use arrow::compute::kernels::cmp;
use arrow::compute::kernels::comparison::starts_with;
use arrow::compute::{and_kleene, is_not_null, is_null, not, nullif, or_kleene};
use arrow::datatypes::DataType;
use floe_spec::expr::{BoundExpression, BoundPredicate, BoundReference, PredicateOperator as Op};

use super::arrow_types::datum_to_array;
use crate::error::{Error, Result, arrow_error};

/// Resolves a bound column to its values in the batch (nulls of enclosing structs
/// included).
pub(crate) type ColumnResolver<'a> = dyn Fn(&BoundReference) -> Result<ArrayRef> + 'a;

/// Evaluates `expr` over `num_rows` rows; true = the row matches, false or null = it
/// does not.
pub(crate) fn evaluate(
    expr: &BoundExpression,
    num_rows: usize,
    column: &ColumnResolver<'_>,
) -> Result<BooleanArray> {
    let k = |e| arrow_error("filter evaluation", e);
    Ok(match expr {
        BoundExpression::True => BooleanArray::from(vec![true; num_rows]),
        BoundExpression::False => BooleanArray::from(vec![false; num_rows]),
        BoundExpression::And(l, r) => and_kleene(
            &evaluate(l, num_rows, column)?,
            &evaluate(r, num_rows, column)?,
        )
        .map_err(k)?,
        BoundExpression::Or(l, r) => or_kleene(
            &evaluate(l, num_rows, column)?,
            &evaluate(r, num_rows, column)?,
        )
        .map_err(k)?,
        BoundExpression::Not(e) => not(&evaluate(e, num_rows, column)?).map_err(k)?,
        BoundExpression::Predicate(p) => predicate(p, &column(p.term())?)?,
    })
}

/// Replaces nulls (unknown) with `value`.
pub(crate) fn fill_nulls(a: &BooleanArray, value: bool) -> BooleanArray {
    match a.nulls() {
        None => a.clone(),
        Some(n) => {
            let valid = n.inner();
            let values = if value {
                a.values() | &!valid
            } else {
                a.values() & valid
            };
            BooleanArray::new(values, None)
        }
    }
}

/// Which values are NaN (false for null and non-float values).
fn nan_mask(col: &dyn Array) -> Option<BooleanArray> {
    let values: BooleanBuffer = match col.data_type() {
        DataType::Float32 => col
            .as_any()
            .downcast_ref::<Float32Array>()?
            .values()
            .iter()
            .map(|v| v.is_nan())
            .collect(),
        DataType::Float64 => col
            .as_any()
            .downcast_ref::<Float64Array>()?
            .values()
            .iter()
            .map(|v| v.is_nan())
            .collect(),
        _ => return None,
    };
    Some(fill_nulls(
        &BooleanArray::new(values, col.nulls().cloned()),
        false,
    ))
}

fn predicate(p: &BoundPredicate, col: &ArrayRef) -> Result<BooleanArray> {
    let k = |e| arrow_error("filter evaluation", e);
    let n = col.len();
    let nan = nan_mask(col.as_ref());
    let is_nan = || {
        nan.clone()
            .unwrap_or_else(|| BooleanArray::from(vec![false; n]))
    };
    match p {
        BoundPredicate::Unary { op, .. } => Ok(match op {
            Op::IsNull => is_null(col.as_ref()).map_err(k)?,
            Op::NotNull => is_not_null(col.as_ref()).map_err(k)?,
            Op::IsNan => is_nan(),
            Op::NotNan => not(&is_nan()).map_err(k)?,
            other => return Err(unsupported(*other)),
        }),
        BoundPredicate::Literal { op, literal, .. } => {
            let scalar = arrow::array::Scalar::new(datum_to_array(literal, col.data_type())?);
            let ordered = |r: BooleanArray| -> Result<BooleanArray> {
                // NaN compares above everything in Arrow's total order; Iceberg says
                // unknown.
                match &nan {
                    Some(m) => {
                        let out = nullif(&r, m).map_err(k)?;
                        Ok(out
                            .as_any()
                            .downcast_ref::<BooleanArray>()
                            .cloned()
                            .unwrap_or(r))
                    }
                    None => Ok(r),
                }
            };
            Ok(match op {
                Op::LessThan => ordered(cmp::lt(col, &scalar).map_err(k)?)?,
                Op::LessThanOrEq => ordered(cmp::lt_eq(col, &scalar).map_err(k)?)?,
                Op::GreaterThan => ordered(cmp::gt(col, &scalar).map_err(k)?)?,
                Op::GreaterThanOrEq => ordered(cmp::gt_eq(col, &scalar).map_err(k)?)?,
                Op::Eq => fill_nulls(&cmp::eq(col, &scalar).map_err(k)?, false),
                Op::NotEq => fill_nulls(&cmp::neq(col, &scalar).map_err(k)?, true),
                Op::StartsWith => fill_nulls(&starts_with(col, &scalar).map_err(k)?, false),
                Op::NotStartsWith => {
                    not(&fill_nulls(&starts_with(col, &scalar).map_err(k)?, false)).map_err(k)?
                }
                other => return Err(unsupported(*other)),
            })
        }
        BoundPredicate::Set { op, literals, .. } => {
            let mut found = BooleanArray::from(vec![false; n]);
            for l in literals {
                let scalar = arrow::array::Scalar::new(datum_to_array(l, col.data_type())?);
                let eq = fill_nulls(&cmp::eq(col, &scalar).map_err(k)?, false);
                found = or_kleene(&found, &eq).map_err(k)?;
            }
            Ok(match op {
                Op::In => found,
                Op::NotIn => not(&found).map_err(k)?,
                other => return Err(unsupported(*other)),
            })
        }
    }
}

fn unsupported(op: Op) -> Error {
    Error::unsupported(format!("row filter operator `{op}` in this position"))
}

/// `a AND b` where both are null-free masks.
pub(crate) fn and_masks(a: &BooleanArray, b: &BooleanArray) -> BooleanArray {
    BooleanArray::new(a.values() & b.values(), None)
}

/// A column resolver over top-level columns keyed by position in a schema: follows a
/// bound reference's accessor through structs, adding the parents' nulls.
pub(crate) fn resolve_path(top: &ArrayRef, accessor: &[usize]) -> Result<ArrayRef> {
    let mut current = Arc::clone(top);
    for pos in accessor {
        let s = current
            .as_any()
            .downcast_ref::<arrow::array::StructArray>()
            .ok_or_else(|| Error::invalid("filter reference through a non-struct column"))?;
        let child = s
            .columns()
            .get(*pos)
            .cloned()
            .ok_or_else(|| Error::invalid("filter reference to a missing struct field"))?;
        current = match s.nulls() {
            Some(parent) => {
                let nulls = arrow::buffer::NullBuffer::union(Some(parent), child.nulls());
                let data = child
                    .to_data()
                    .into_builder()
                    .nulls(nulls)
                    .build()
                    .map_err(|e| arrow_error("struct field nulls", e))?;
                arrow::array::make_array(data)
            }
            None => child,
        };
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use floe_spec::expr::Reference;
    use floe_spec::schema::Schema;
    use floe_spec::types::{NestedField, PrimitiveType, Type};
    use floe_spec::values::Datum;

    fn schema() -> Schema {
        Schema::builder()
            .with_fields(vec![
                NestedField::optional(1, "x", Type::Primitive(PrimitiveType::Double)),
                NestedField::optional(2, "s", Type::Primitive(PrimitiveType::String)),
                NestedField::optional(3, "l", Type::Primitive(PrimitiveType::Long)),
            ])
            .build()
            .unwrap()
    }

    fn run(filter: &floe_spec::expr::Expression) -> Vec<Option<bool>> {
        let x: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(1.0),
            Some(f64::NAN),
            None,
            Some(5.0),
        ]));
        let s: ArrayRef = Arc::new(StringArray::from(vec![
            Some("abc"),
            Some("b"),
            None,
            Some("ab"),
        ]));
        let l: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(2), None, Some(3)]));
        let bound = filter.bind(&schema(), true).unwrap();
        let out = evaluate(&bound, 4, &|r: &BoundReference| {
            Ok(match r.field_id() {
                1 => Arc::clone(&x),
                2 => Arc::clone(&s),
                _ => Arc::clone(&l),
            })
        })
        .unwrap();
        out.iter().collect()
    }

    #[test]
    fn nan_and_null_semantics() {
        let x = Reference::new("x");
        assert_eq!(
            run(&x.less_than(Datum::Double(3.0))),
            [Some(true), None, None, Some(false)]
        );
        assert_eq!(
            run(&x.greater_than(Datum::Double(3.0))),
            [Some(false), None, None, Some(true)]
        );
        assert_eq!(
            run(&x.equal_to(Datum::Double(1.0))),
            [Some(true), Some(false), Some(false), Some(false)]
        );
        assert_eq!(
            run(&x.not_equal_to(Datum::Double(1.0))),
            [Some(false), Some(true), Some(true), Some(true)]
        );
        assert_eq!(
            run(&x.is_nan()),
            [Some(false), Some(true), Some(false), Some(false)]
        );
        assert_eq!(
            run(&x.not_nan()),
            [Some(true), Some(false), Some(true), Some(true)]
        );
        assert_eq!(
            run(&x.is_null()),
            [Some(false), Some(false), Some(true), Some(false)]
        );
        // NOT (x < 3) is unknown for NaN and null.
        assert_eq!(
            run(&!x.less_than(Datum::Double(3.0))),
            [Some(false), None, None, Some(true)]
        );
    }

    #[test]
    fn strings_sets_and_logic() {
        let s = Reference::new("s");
        assert_eq!(
            run(&s.starts_with("ab")),
            [Some(true), Some(false), Some(false), Some(true)]
        );
        assert_eq!(
            run(&s.not_starts_with("ab")),
            [Some(false), Some(true), Some(true), Some(false)]
        );
        let l = Reference::new("l");
        assert_eq!(
            run(&l.is_in([Datum::Long(1), Datum::Long(3)])),
            [Some(true), Some(false), Some(false), Some(true)]
        );
        assert_eq!(
            run(&l.is_not_in([Datum::Long(1), Datum::Long(3)])),
            [Some(false), Some(true), Some(true), Some(false)]
        );
        assert_eq!(
            run(&l.greater_than(Datum::Long(1)).or(s.is_null())),
            [Some(false), Some(true), Some(true), Some(true)]
        );
        assert_eq!(
            run(&l.greater_than(Datum::Long(1)).and(s.not_null())),
            [Some(false), Some(true), Some(false), Some(true)]
        );
    }

    #[test]
    fn fill_and_masks() {
        let a = BooleanArray::from(vec![Some(true), None, Some(false)]);
        assert_eq!(
            fill_nulls(&a, true).iter().collect::<Vec<_>>(),
            [Some(true), Some(true), Some(false)]
        );
        assert_eq!(
            fill_nulls(&a, false).iter().collect::<Vec<_>>(),
            [Some(true), Some(false), Some(false)]
        );
        let m = and_masks(&BooleanArray::from(vec![true; 3]), &fill_nulls(&a, false));
        assert_eq!(m.true_count(), 1);
    }
}
