//! The REST JSON form of expressions (`Expression` schemas of the REST OpenAPI
//! document, Java `ExpressionParser`).
//!
//! Written in the form every client and server reads (Java's `ExpressionParser`):
//! - constants as `true` / `false`;
//! - `{"type": "and" | "or", "left": .., "right": ..}`, `{"type": "not", "child": ..}`;
//! - `{"type": "is-null", "term": "col"}`, `{"type": "lt", "term": "col", "value": 5}`,
//!   `{"type": "in", "term": "col", "values": [1, 2]}`;
//! - a term is a column name, `{"type": "transform", "transform": "bucket[16]",
//!   "term": "id"}`, or (field ids only) `{"type": "reference", "id": 3}`.
//!
//! Also read: `{"type": "true"}` / `{"type": "false"}`, `{"type": "literal", "value":
//! true}`, references as `{"type": "reference", "name" | "term": "col"}`, the newer
//! `child` / `left` / `right` operand form (with the literal on either side of a
//! comparison), literals as `{"type": "literal", "value": .., "data-type"?: ..}` and
//! literal sets as `{"type": "literals", "values": [..], "data-type": ..}`.
//! Function applications (`{"type": "apply"}`) are rejected as unsupported.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::transform::Transform;
use crate::types::PrimitiveType;
use crate::values::Datum;

use super::Expression;
use super::predicate::{PredicateOperator, Reference, Term, UnboundLiteral, UnboundPredicate};

impl Expression {
    /// The REST JSON form.
    pub fn to_json(&self) -> Value {
        match self {
            Expression::True => Value::Bool(true),
            Expression::False => Value::Bool(false),
            Expression::And(l, r) => {
                json!({"type": "and", "left": l.to_json(), "right": r.to_json()})
            }
            Expression::Or(l, r) => {
                json!({"type": "or", "left": l.to_json(), "right": r.to_json()})
            }
            Expression::Not(c) => json!({"type": "not", "child": c.to_json()}),
            Expression::Predicate(p) => predicate_to_json(p),
        }
    }

    /// Reads the REST JSON form; errors name the unknown `type` or missing key.
    ///
    /// Accepted: `true` / `false` (also `{"type": "true"}`, `{"type": "literal",
    /// "value": true}`); `{"type": "and" | "or", "left", "right"}`; `{"type": "not",
    /// "child"}`; predicates `{"type": <op>, "term": <term>, "value": <literal>}` or
    /// `"values": [..]` (or the `child` / `left` / `right` operand form), where a term
    /// is a column name, `{"type": "reference", "name" | "term" | "id"}` or
    /// `{"type": "transform", "transform": "bucket[16]", "term": "id"}`, and a literal
    /// a JSON value or `{"type": "literal", "value", "data-type"?}`.
    pub fn from_json(v: &Value) -> Result<Expression> {
        match v {
            Value::Bool(true) => Ok(Expression::True),
            Value::Bool(false) => Ok(Expression::False),
            Value::Object(obj) => {
                let ty = obj.get("type").and_then(Value::as_str).ok_or_else(|| {
                    Error::invalid(format!("expression: missing string `type` in {v}"))
                })?;
                let child = |key: &str| -> Result<Expression> {
                    let c = obj.get(key).ok_or_else(|| {
                        Error::invalid(format!("expression `{ty}`: missing `{key}`"))
                    })?;
                    Expression::from_json(c)
                };
                match ty {
                    "true" => Ok(Expression::True),
                    "false" => Ok(Expression::False),
                    "literal" => match obj.get("value") {
                        Some(Value::Bool(true)) => Ok(Expression::True),
                        Some(Value::Bool(false)) => Ok(Expression::False),
                        _ => Err(Error::invalid(format!(
                            "a literal expression must have a boolean `value`, got {v}"
                        ))),
                    },
                    "and" => Ok(Expression::And(
                        Box::new(child("left")?),
                        Box::new(child("right")?),
                    )),
                    "or" => Ok(Expression::Or(
                        Box::new(child("left")?),
                        Box::new(child("right")?),
                    )),
                    "not" => Ok(Expression::Not(Box::new(child("child")?))),
                    other => {
                        let op = PredicateOperator::parse(other).ok_or_else(|| {
                            Error::invalid(format!("unknown expression type `{other}`"))
                        })?;
                        predicate_from_json(op, obj).map(Expression::Predicate)
                    }
                }
            }
            other => Err(Error::invalid(format!(
                "an expression must be a boolean or an object, got {other}"
            ))),
        }
    }
}

impl Serialize for Expression {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Expression {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Expression::from_json(&v).map_err(de::Error::custom)
    }
}

fn term_to_json(t: &Term) -> Value {
    match t {
        Term::Reference(r) => Value::from(r.name()),
        Term::FieldId(id) => json!({"type": "reference", "id": id}),
        Term::Transform {
            transform,
            reference,
        } => json!({
            "type": "transform",
            "transform": transform.to_string(),
            "term": reference.name(),
        }),
    }
}

fn predicate_to_json(p: &UnboundPredicate) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), Value::from(p.op().as_str()));
    m.insert("term".into(), term_to_json(p.term()));
    if p.op().is_set() {
        m.insert(
            "values".into(),
            Value::Array(p.literals().iter().map(UnboundLiteral::to_json).collect()),
        );
    } else if let Some(l) = p.literal() {
        m.insert("value".into(), l.to_json());
    }
    Value::Object(m)
}

/// The legacy `term` form: a column name, a reference object or a transform object.
fn term_from_json(v: &Value) -> Result<Term> {
    match v {
        Value::String(s) => Ok(Term::Reference(Reference::new(s.clone()))),
        Value::Object(obj) => match obj.get("type").and_then(Value::as_str) {
            Some("reference") => reference_from_json(obj),
            Some("transform") => {
                let transform: Transform = obj
                    .get("transform")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Error::invalid("transform term: missing string `transform`"))?
                    .parse()?;
                let inner = obj
                    .get("term")
                    .ok_or_else(|| Error::invalid("transform term: missing `term`"))?;
                match term_from_json(inner)? {
                    Term::Reference(reference) => Ok(Term::Transform {
                        transform,
                        reference,
                    }),
                    other => Err(Error::invalid(format!(
                        "transform term: `term` must name a column, got {other}"
                    ))),
                }
            }
            Some("apply") => Err(Error::unsupported(
                "function applications (`apply`) in expressions are not supported",
            )),
            Some(other) => Err(Error::invalid(format!("unknown term type `{other}`"))),
            None => Err(Error::invalid(format!(
                "term: missing string `type` in {v}"
            ))),
        },
        other => Err(Error::invalid(format!(
            "a term must be a string or an object, got {other}"
        ))),
    }
}

fn reference_from_json(obj: &Map<String, Value>) -> Result<Term> {
    if let Some(name) = obj
        .get("name")
        .or_else(|| obj.get("term"))
        .and_then(Value::as_str)
    {
        return Ok(Term::Reference(Reference::new(name)));
    }
    if let Some(id) = obj.get("id") {
        let id = id
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| Error::invalid(format!("reference: invalid field id {id}")))?;
        return Ok(Term::FieldId(id));
    }
    Err(Error::invalid(
        "reference: needs a string `name` (or `term`) or an integer `id`",
    ))
}

/// An operand of the newer `child` / `left` / `right` form.
enum Operand {
    Term(Term),
    Literal(UnboundLiteral),
}

fn operand_from_json(v: &Value) -> Result<Operand> {
    match v {
        Value::Object(obj) => match obj.get("type").and_then(Value::as_str) {
            Some("literal") => literal_from_json(v).map(Operand::Literal),
            _ => term_from_json(v).map(Operand::Term),
        },
        _ => literal_from_json(v).map(Operand::Literal),
    }
}

fn literal_from_json(v: &Value) -> Result<UnboundLiteral> {
    match v {
        Value::Object(obj) => {
            match obj.get("type").and_then(Value::as_str) {
                Some("literal") => {}
                _ => {
                    bail_invalid!("a literal must be a value or {{\"type\": \"literal\"}}, got {v}")
                }
            }
            let value = obj
                .get("value")
                .ok_or_else(|| Error::invalid(format!("literal: missing `value` in {v}")))?;
            match obj.get("data-type") {
                None | Some(Value::Null) => primitive_json(value),
                Some(t) => typed_literal(value, t),
            }
        }
        other => primitive_json(other),
    }
}

fn primitive_json(v: &Value) -> Result<UnboundLiteral> {
    match v {
        Value::Bool(_) | Value::Number(_) | Value::String(_) => Ok(UnboundLiteral::Json(v.clone())),
        other => Err(Error::invalid(format!(
            "a literal must be a number, string or boolean, got {other}"
        ))),
    }
}

fn typed_literal(value: &Value, data_type: &Value) -> Result<UnboundLiteral> {
    let ty = PrimitiveType::parse(data_type.as_str().ok_or_else(|| {
        Error::invalid(format!(
            "literal: `data-type` must be a string, got {data_type}"
        ))
    })?)?;
    Datum::from_json(value, &ty).map(UnboundLiteral::Typed)
}

fn literals_from_json(v: &Value) -> Result<Vec<UnboundLiteral>> {
    match v {
        Value::Array(items) => items.iter().map(literal_from_json).collect(),
        Value::Object(obj) if obj.get("type").and_then(Value::as_str) == Some("literals") => {
            let values = obj
                .get("values")
                .and_then(Value::as_array)
                .ok_or_else(|| Error::invalid("literals: missing array `values`"))?;
            let t = obj
                .get("data-type")
                .ok_or_else(|| Error::invalid("literals: missing `data-type`"))?;
            values.iter().map(|x| typed_literal(x, t)).collect()
        }
        other => Err(Error::invalid(format!(
            "`values` must be an array of literals, got {other}"
        ))),
    }
}

fn predicate_from_json(
    op: PredicateOperator,
    obj: &Map<String, Value>,
) -> Result<UnboundPredicate> {
    let has = |k: &str| obj.contains_key(k);
    // The operand: legacy `term`, or `child` (unary and set) / `left` (comparisons).
    let single_term = || -> Result<Term> {
        if let Some(t) = obj.get("term") {
            return term_from_json(t);
        }
        let c = obj
            .get("child")
            .ok_or_else(|| Error::invalid(format!("predicate `{op}`: missing `term`")))?;
        match c {
            Value::String(s) => Ok(Term::Reference(Reference::new(s.clone()))),
            other => match operand_from_json(other)? {
                Operand::Term(t) => Ok(t),
                Operand::Literal(_) => Err(Error::invalid(format!(
                    "predicate `{op}`: `child` must be a reference, got {other}"
                ))),
            },
        }
    };
    if op.is_unary() {
        if has("value") || has("values") || has("right") {
            bail_invalid!("predicate `{op}` takes no value");
        }
        return UnboundPredicate::new(op, single_term()?, Vec::new());
    }
    if op.is_set() {
        if has("value") {
            bail_invalid!("predicate `{op}` takes `values`, not `value`");
        }
        let values = obj
            .get("values")
            .ok_or_else(|| Error::invalid(format!("predicate `{op}`: missing `values`")))?;
        return UnboundPredicate::new(op, single_term()?, literals_from_json(values)?);
    }
    if has("values") {
        bail_invalid!("predicate `{op}` takes `value`, not `values`");
    }
    if let Some(t) = obj.get("term") {
        let value = obj
            .get("value")
            .ok_or_else(|| Error::invalid(format!("predicate `{op}`: missing `value`")))?;
        return UnboundPredicate::new(op, term_from_json(t)?, vec![literal_from_json(value)?]);
    }
    let (Some(left), Some(right)) = (obj.get("left"), obj.get("right")) else {
        bail_invalid!("predicate `{op}`: needs `term` and `value` (or `left` and `right`)");
    };
    match (operand_from_json(left)?, operand_from_json(right)?) {
        (Operand::Term(t), Operand::Literal(l)) => UnboundPredicate::new(op, t, vec![l]),
        (Operand::Literal(l), Operand::Term(t)) => {
            let flipped = op.flip().ok_or_else(|| {
                Error::invalid(format!(
                    "predicate `{op}`: the column must be on the left, got {left} and {right}"
                ))
            })?;
            UnboundPredicate::new(flipped, t, vec![l])
        }
        // A bare column name on the left of a literal.
        (Operand::Literal(UnboundLiteral::Json(Value::String(name))), Operand::Literal(l)) => {
            UnboundPredicate::new(op, Term::Reference(Reference::new(name)), vec![l])
        }
        _ => Err(Error::invalid(format!(
            "predicate `{op}`: needs one column and one literal, got {left} and {right}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::needless_pass_by_value)]
    fn parse(v: Value) -> Expression {
        Expression::from_json(&v).unwrap()
    }

    #[allow(clippy::needless_pass_by_value)]
    fn err(v: Value) -> String {
        Expression::from_json(&v).unwrap_err().to_string()
    }

    #[test]
    fn round_trip_every_shape() {
        let cases = [
            json!(true),
            json!(false),
            json!({"type": "and", "left": {"type": "lt", "term": "a", "value": 5},
                   "right": {"type": "is-null", "term": "b"}}),
            json!({"type": "or", "left": true, "right": {"type": "not-null", "term": "b"}}),
            json!({"type": "not", "child": {"type": "is-nan", "term": "f"}}),
            json!({"type": "not-nan", "term": "f"}),
            json!({"type": "lt-eq", "term": "a", "value": -3}),
            json!({"type": "gt", "term": "a", "value": 1.5}),
            json!({"type": "gt-eq", "term": "a", "value": "2024-01-01"}),
            json!({"type": "eq", "term": "a.b", "value": true}),
            json!({"type": "not-eq", "term": "a", "value": "x"}),
            json!({"type": "starts-with", "term": "s", "value": "pre"}),
            json!({"type": "not-starts-with", "term": "s", "value": "pre"}),
            json!({"type": "in", "term": "a", "values": [1, 2, 3]}),
            json!({"type": "not-in", "term": "a", "values": ["x", "y"]}),
            json!({"type": "in", "term": "a", "values": []}),
            json!({"type": "eq", "term": {"type": "transform", "transform": "bucket[16]", "term": "id"}, "value": 3}),
            json!({"type": "lt", "term": {"type": "transform", "transform": "day", "term": "ts"}, "value": 19000}),
            json!({"type": "is-null", "term": {"type": "reference", "id": 7}}),
        ];
        for c in cases {
            let e = parse(c.clone());
            assert_eq!(e.to_json(), c, "{e}");
            let text = serde_json::to_string(&e).unwrap();
            let back: Expression = serde_json::from_str(&text).unwrap();
            assert_eq!(back, e);
        }
    }

    #[test]
    fn typed_literals_serialize_as_json_values() {
        let e = Reference::new("d")
            .equal_to(Datum::Date(17486))
            .and(Reference::new("b").is_in([Datum::Binary(vec![1, 0xab]), Datum::Binary(vec![])]));
        assert_eq!(
            e.to_json(),
            json!({"type": "and",
                   "left": {"type": "eq", "term": "d", "value": "2017-11-16"},
                   "right": {"type": "in", "term": "b", "values": ["01AB", ""]}})
        );
    }

    #[test]
    fn alternative_forms() {
        assert_eq!(parse(json!({"type": "true"})), Expression::True);
        assert_eq!(parse(json!({"type": "false"})), Expression::False);
        assert_eq!(
            parse(json!({"type": "literal", "value": true})),
            Expression::True
        );
        let expected = parse(json!({"type": "lt", "term": "a", "value": 5}));
        for v in [
            json!({"type": "lt", "term": {"type": "reference", "term": "a"}, "value": 5}),
            json!({"type": "lt", "term": "a", "value": {"type": "literal", "value": 5}}),
            json!({"type": "lt", "left": {"type": "reference", "name": "a"}, "right": 5}),
            json!({"type": "gt", "left": 5, "right": {"type": "reference", "name": "a"}}),
            json!({"type": "LT", "term": "a", "value": 5}),
        ] {
            assert_eq!(parse(v.clone()), expected, "{v}");
        }
        assert_eq!(
            parse(json!({"type": "is-null", "child": {"type": "reference", "name": "a"}})),
            Reference::new("a").is_null()
        );
        assert_eq!(
            parse(
                json!({"type": "in", "child": {"type": "reference", "name": "a"}, "values": [1, 2]})
            ),
            parse(json!({"type": "in", "term": "a", "values": [1, 2]}))
        );
        // Typed literals keep their type.
        assert_eq!(
            parse(
                json!({"type": "eq", "term": "d", "value": {"type": "literal", "value": "2017-11-16", "data-type": "date"}})
            ),
            Reference::new("d").equal_to(Datum::Date(17486))
        );
        assert_eq!(
            parse(
                json!({"type": "in", "term": "x", "values": {"type": "literals", "values": [1, 2], "data-type": "long"}})
            ),
            Reference::new("x").is_in([Datum::Long(1), Datum::Long(2)])
        );
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(err(json!({"type": "like", "term": "a", "value": "x"})).contains("`like`"));
        assert!(err(json!({"type": "lt", "term": "a"})).contains("missing `value`"));
        assert!(err(json!({"type": "in", "term": "a", "value": 1})).contains("`values`"));
        assert!(
            err(json!({"type": "is-null", "term": "a", "value": 1})).contains("takes no value")
        );
        assert!(err(json!({"type": "and", "left": true})).contains("missing `right`"));
        assert!(err(json!({"type": "not"})).contains("missing `child`"));
        assert!(err(json!({"term": "a"})).contains("type"));
        assert!(err(json!(3)).contains("boolean or an object"));
        assert!(err(json!({"type": "eq", "term": "a", "value": null})).contains("literal"));
        assert!(err(json!({"type": "eq", "term": "a", "value": [1]})).contains("literal"));
        assert!(
            err(json!({"type": "eq", "term": {"type": "weird"}, "value": 1})).contains("`weird`")
        );
        assert!(
            err(json!({"type": "eq", "term": {"type": "transform", "transform": "bogus", "term": "a"}, "value": 1}))
                .contains("bogus")
        );
        assert!(
            err(json!({"type": "starts-with", "left": "x", "right": {"type": "reference", "name": "a"}}))
                .contains("left")
        );
        let e = Expression::from_json(&json!({"type": "eq",
            "left": {"type": "apply", "function": "lower", "arguments": []}, "right": "x"}))
        .unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::FeatureUnsupported);
        assert!(serde_json::from_str::<Expression>(r#"{"type":"nope"}"#).is_err());
    }
}
