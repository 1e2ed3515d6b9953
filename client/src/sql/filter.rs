//! DataFusion filter expressions → Floe (Iceberg) row filters, for push-down into scan
//! planning.
//!
//! Only `column <op> literal` shapes convert: comparisons, `IS [NOT] NULL`, `IN`
//! lists, `BETWEEN`, `LIKE 'prefix%'`, and `AND`/`OR` of those. A conversion is
//! **exact** when the scan returns exactly the rows SQL would keep: the reader checks
//! every task's residual row by row with three-valued logic that agrees with SQL for
//! `=`, `<`, `<=`, `>`, `>=`, `IN`, `IS [NOT] NULL` and prefix matches on non-float
//! columns. It is **inexact** (DataFusion filters again) for `!=`, `NOT IN` and `NOT
//! LIKE` (Iceberg keeps nulls for them, SQL does not), and for an `AND` of which only
//! one side converts. Float and double columns never convert: SQL orders NaN above
//! every number while Iceberg treats comparisons with NaN as unknown.

use arrow::datatypes::{DataType, Schema as ArrowSchema, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::{BinaryExpr, Expr, Operator};
use floe_spec::expr::{Expression, Reference};
use floe_spec::values::Datum;

/// A converted filter and whether the scan applies it exactly.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The Floe filter.
    pub expr: Expression,
    /// Whether the scan returns exactly the rows SQL keeps for the filter.
    pub exact: bool,
}

/// Converts a DataFusion filter over `schema`'s columns; `None` when no part of it
/// can be pushed down.
pub fn convert(expr: &Expr, schema: &ArrowSchema) -> Option<Converted> {
    match expr {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match op {
            Operator::And => match (convert(left, schema), convert(right, schema)) {
                (Some(l), Some(r)) => Some(Converted {
                    expr: l.expr.and(r.expr),
                    exact: l.exact && r.exact,
                }),
                (Some(one), None) | (None, Some(one)) => Some(Converted {
                    expr: one.expr,
                    exact: false,
                }),
                (None, None) => None,
            },
            Operator::Or => {
                let l = convert(left, schema)?;
                let r = convert(right, schema)?;
                Some(Converted {
                    expr: l.expr.or(r.expr),
                    exact: l.exact && r.exact,
                })
            }
            _ => comparison(left, *op, right, schema),
        },
        Expr::IsNull(inner) => {
            let (name, _) = column(inner, schema)?;
            Some(Converted {
                expr: Reference::new(name).is_null(),
                exact: true,
            })
        }
        Expr::IsNotNull(inner) => {
            let (name, _) = column(inner, schema)?;
            Some(Converted {
                expr: Reference::new(name).not_null(),
                exact: true,
            })
        }
        Expr::InList(list) => {
            let (name, ty) = column(&list.expr, schema)?;
            let mut values = Vec::with_capacity(list.list.len());
            for item in &list.list {
                // A null in the list: SQL's IN is then never false, only true or
                // unknown; leave such lists to DataFusion.
                values.push(literal(item, ty)?);
            }
            let r = Reference::new(name);
            Some(if list.negated {
                Converted {
                    expr: r.is_not_in(values),
                    exact: false,
                }
            } else {
                Converted {
                    expr: r.is_in(values),
                    exact: true,
                }
            })
        }
        Expr::Between(b) => {
            let (name, ty) = column(&b.expr, schema)?;
            let low = literal(&b.low, ty)?;
            let high = literal(&b.high, ty)?;
            let r = Reference::new(name);
            Some(if b.negated {
                Converted {
                    expr: r.less_than(low).or(r.greater_than(high)),
                    exact: true,
                }
            } else {
                Converted {
                    expr: r.greater_than_or_eq(low).and(r.less_than_or_eq(high)),
                    exact: true,
                }
            })
        }
        Expr::Like(like) if !like.case_insensitive && like.escape_char.is_none() => {
            let (name, ty) = column(&like.expr, schema)?;
            if !matches!(
                ty,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            ) {
                return None;
            }
            let prefix = like_prefix(&like.pattern)?;
            let r = Reference::new(name);
            Some(if like.negated {
                Converted {
                    expr: r.not_starts_with(prefix),
                    exact: false,
                }
            } else {
                Converted {
                    expr: r.starts_with(prefix),
                    exact: true,
                }
            })
        }
        _ => None,
    }
}

/// `col <op> literal` or `literal <op> col`.
fn comparison(left: &Expr, op: Operator, right: &Expr, schema: &ArrowSchema) -> Option<Converted> {
    let (name, value, op) = if let Some((name, ty)) = column(left, schema) {
        (name, literal(right, ty)?, op)
    } else {
        let (name, ty) = column(right, schema)?;
        (name, literal(left, ty)?, op.swap()?)
    };
    let r = Reference::new(name);
    let (expr, exact) = match op {
        Operator::Eq => (r.equal_to(value), true),
        Operator::NotEq => (r.not_equal_to(value), false),
        Operator::Lt => (r.less_than(value), true),
        Operator::LtEq => (r.less_than_or_eq(value), true),
        Operator::Gt => (r.greater_than(value), true),
        Operator::GtEq => (r.greater_than_or_eq(value), true),
        _ => return None,
    };
    Some(Converted { expr, exact })
}

/// A top-level column of a type that pushes down, with its name and Arrow type.
fn column<'a>(expr: &Expr, schema: &'a ArrowSchema) -> Option<(String, &'a DataType)> {
    let Expr::Column(c) = expr else {
        return None;
    };
    let field = schema.field_with_name(&c.name).ok()?;
    let ty = field.data_type();
    let supported = matches!(
        ty,
        DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Date32
            | DataType::Decimal128(_, _)
            | DataType::Timestamp(TimeUnit::Microsecond | TimeUnit::Nanosecond, _)
    );
    supported.then(|| (c.name.clone(), ty))
}

/// A non-null literal as a Floe datum of the column's type family.
fn literal(expr: &Expr, column: &DataType) -> Option<Datum> {
    let Expr::Literal(value, _) = expr else {
        return None;
    };
    let tz = |tz: &Option<std::sync::Arc<str>>| tz.is_some();
    let datum = match (value, column) {
        (ScalarValue::Boolean(Some(v)), DataType::Boolean) => Datum::Boolean(*v),
        (ScalarValue::Int8(Some(v)), _) => Datum::Int(i32::from(*v)),
        (ScalarValue::Int16(Some(v)), _) => Datum::Int(i32::from(*v)),
        (ScalarValue::Int32(Some(v)), _) => Datum::Int(*v),
        (ScalarValue::Int64(Some(v)), _) => Datum::Long(*v),
        (
            ScalarValue::Utf8(Some(v))
            | ScalarValue::LargeUtf8(Some(v))
            | ScalarValue::Utf8View(Some(v)),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View,
        ) => Datum::String(v.clone()),
        (ScalarValue::Date32(Some(v)), DataType::Date32) => Datum::Date(*v),
        (ScalarValue::Decimal128(Some(v), p, s), DataType::Decimal128(_, _)) if *s >= 0 => {
            Datum::Decimal {
                unscaled: *v,
                precision: u32::from(*p),
                scale: (*s).try_into().ok()?,
            }
        }
        (
            ScalarValue::TimestampMicrosecond(Some(v), lit_tz),
            DataType::Timestamp(TimeUnit::Microsecond, col_tz),
        ) if tz(lit_tz) == tz(col_tz) => {
            if tz(col_tz) {
                Datum::Timestamptz(*v)
            } else {
                Datum::Timestamp(*v)
            }
        }
        (
            ScalarValue::TimestampNanosecond(Some(v), lit_tz),
            DataType::Timestamp(TimeUnit::Nanosecond, col_tz),
        ) if tz(lit_tz) == tz(col_tz) => {
            if tz(col_tz) {
                Datum::TimestamptzNs(*v)
            } else {
                Datum::TimestampNs(*v)
            }
        }
        _ => return None,
    };
    // Integer literals only against integer columns (binding casts int ↔ long).
    let int_ok = !matches!(datum, Datum::Int(_) | Datum::Long(_))
        || matches!(
            column,
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
        );
    int_ok.then_some(datum)
}

/// The prefix of a `LIKE 'prefix%'` pattern without other wildcards.
fn like_prefix(pattern: &Expr) -> Option<String> {
    let Expr::Literal(
        ScalarValue::Utf8(Some(p))
        | ScalarValue::LargeUtf8(Some(p))
        | ScalarValue::Utf8View(Some(p)),
        _,
    ) = pattern
    else {
        return None;
    };
    let prefix = p.strip_suffix('%')?;
    if prefix.is_empty() || prefix.contains(['%', '_', '\\']) {
        return None;
    }
    Some(prefix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::Field;
    use datafusion::logical_expr::{col, lit};

    fn schema() -> ArrowSchema {
        ArrowSchema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("x", DataType::Float64, true),
        ])
    }

    #[test]
    fn converts_comparisons_and_reports_exactness() {
        let s = schema();
        let c = convert(&col("id").lt(lit(5i64)), &s).unwrap();
        assert_eq!(c.expr.to_string(), "id < 5");
        assert!(c.exact);
        let c = convert(&lit(5i64).lt(col("id")), &s).unwrap();
        assert_eq!(c.expr.to_string(), "id > 5");
        let c = convert(&col("id").not_eq(lit(5i64)), &s).unwrap();
        assert!(!c.exact);
        let c = convert(&col("name").like(lit("ab%")), &s).unwrap();
        assert!(c.exact, "{}", c.expr);
        assert!(convert(&col("name").like(lit("a_b%")), &s).is_none());
        assert!(convert(&col("x").gt(lit(1.0)), &s).is_none());
        let c = convert(&col("id").gt(lit(1i64)).and(col("x").gt(lit(1.0))), &s).unwrap();
        assert!(!c.exact);
        assert!(convert(&col("id").gt(lit(1i64)).or(col("x").gt(lit(1.0))), &s).is_none());
        assert!(convert(&col("id").eq(lit("a")), &s).is_none());
    }
}
