//! Schema evolution with Java `SchemaUpdate` semantics: add columns (also inside
//! structs, list elements and map values), rename, drop, widen types by the promotion
//! rules, make required columns optional, reorder, set identifier fields. The result is
//! `add-schema` + `set-current-schema`.
//!
//! Columns are named by their full dotted names, resolved when the update is applied
//! against the schema as changed by the preceding operations of the same update. New
//! columns get ids from the table's `last-column-id + 1` (their nested fields too).
//! Incompatible changes — adding a required column, making a column required — need
//! [`SchemaUpdate::allow_incompatible_changes`].

use std::sync::Arc;

use floe_spec::commit::{LAST_ADDED, TableMetadataBuilder};
use floe_spec::schema::Schema;
use floe_spec::types::{ListType, MapType, NestedField, PrimitiveType, StructType, Type};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
enum SchemaOp {
    Add {
        parent: Option<String>,
        name: String,
        field_type: Type,
        required: bool,
        doc: Option<String>,
    },
    Rename(String, String),
    Delete(String),
    UpdateType(String, PrimitiveType),
    Optional(String),
    Require(String),
    Doc(String, String),
    MoveFirst(String),
    MoveBefore(String, String),
    MoveAfter(String, String),
    Identifier(Vec<String>),
}

/// A schema change, built from operations applied in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaUpdate {
    ops: Vec<SchemaOp>,
    allow_incompatible: bool,
}

/// Visits every struct's field list, bottom-up; `owner` is the id of the field whose
/// type (or element or value) the struct is, 0 for the top level.
fn map_struct(
    st: &StructType,
    owner: i32,
    f: &mut dyn FnMut(i32, &mut Vec<NestedField>) -> Result<()>,
) -> Result<Vec<NestedField>> {
    let mut fields: Vec<NestedField> = st.fields().iter().map(|x| (**x).clone()).collect();
    for field in &mut fields {
        let ty = map_type(&field.field_type, field.id, f)?;
        *field.field_type = ty;
    }
    f(owner, &mut fields)?;
    Ok(fields)
}

fn map_type(
    ty: &Type,
    owner: i32,
    f: &mut dyn FnMut(i32, &mut Vec<NestedField>) -> Result<()>,
) -> Result<Type> {
    Ok(match ty {
        Type::Struct(s) => Type::Struct(StructType::new(map_struct(s, owner, f)?)),
        Type::List(l) => {
            let mut e = (*l.element_field).clone();
            e.field_type = Box::new(map_type(&e.field_type, e.id, f)?);
            Type::List(ListType {
                element_field: Arc::new(e),
            })
        }
        Type::Map(m) => {
            let mut k = (*m.key_field).clone();
            k.field_type = Box::new(map_type(&k.field_type, k.id, f)?);
            let mut v = (*m.value_field).clone();
            v.field_type = Box::new(map_type(&v.field_type, v.id, f)?);
            Type::Map(MapType {
                key_field: Arc::new(k),
                value_field: Arc::new(v),
            })
        }
        Type::Primitive(_) => ty.clone(),
    })
}

/// Gives every field of a new column's type a fresh id.
fn assign_ids(t: &Type, next: &mut dyn FnMut() -> i32) -> Type {
    match t {
        Type::Primitive(_) => t.clone(),
        Type::Struct(s) => Type::Struct(StructType::new(
            s.fields()
                .iter()
                .map(|x| {
                    let mut x = (**x).clone();
                    x.id = next();
                    x.field_type = Box::new(assign_ids(&x.field_type, next));
                    x
                })
                .collect(),
        )),
        Type::List(l) => {
            let mut e = (*l.element_field).clone();
            e.id = next();
            e.field_type = Box::new(assign_ids(&e.field_type, next));
            Type::List(ListType {
                element_field: Arc::new(e),
            })
        }
        Type::Map(m) => {
            let mut k = (*m.key_field).clone();
            k.id = next();
            let mut v = (*m.value_field).clone();
            v.id = next();
            k.field_type = Box::new(assign_ids(&k.field_type, next));
            v.field_type = Box::new(assign_ids(&v.field_type, next));
            Type::Map(MapType {
                key_field: Arc::new(k),
                value_field: Arc::new(v),
            })
        }
    }
}

fn find(schema: &Schema, name: &str, what: &str) -> Result<i32> {
    schema.field_by_name(name).map(|f| f.id).ok_or_else(|| {
        Error::invalid(format!(
            "update schema: cannot {what} missing column `{name}`"
        ))
    })
}

impl SchemaUpdate {
    /// An empty update.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows adding required columns and making optional columns required.
    #[must_use]
    pub fn allow_incompatible_changes(mut self) -> Self {
        self.allow_incompatible = true;
        self
    }

    /// Adds an optional top-level column (the ids inside `field_type` are reassigned).
    #[must_use]
    pub fn add_column(mut self, name: impl Into<String>, field_type: Type) -> Self {
        self.ops.push(SchemaOp::Add {
            parent: None,
            name: name.into(),
            field_type,
            required: false,
            doc: None,
        });
        self
    }

    /// Adds an optional column inside `parent` (a struct, or a list or map of structs).
    #[must_use]
    pub fn add_nested_column(
        mut self,
        parent: impl Into<String>,
        name: impl Into<String>,
        field_type: Type,
    ) -> Self {
        self.ops.push(SchemaOp::Add {
            parent: Some(parent.into()),
            name: name.into(),
            field_type,
            required: false,
            doc: None,
        });
        self
    }

    /// Adds a required top-level column (needs
    /// [`Self::allow_incompatible_changes`]: existing rows have no value).
    #[must_use]
    pub fn add_required_column(
        mut self,
        name: impl Into<String>,
        field_type: Type,
        doc: Option<String>,
    ) -> Self {
        self.ops.push(SchemaOp::Add {
            parent: None,
            name: name.into(),
            field_type,
            required: true,
            doc,
        });
        self
    }

    /// Renames a column (the last part of its name).
    #[must_use]
    pub fn rename_column(mut self, name: impl Into<String>, new_name: impl Into<String>) -> Self {
        self.ops
            .push(SchemaOp::Rename(name.into(), new_name.into()));
        self
    }

    /// Drops a column.
    #[must_use]
    pub fn delete_column(mut self, name: impl Into<String>) -> Self {
        self.ops.push(SchemaOp::Delete(name.into()));
        self
    }

    /// Widens a primitive column (int→long, float→double, decimal precision).
    #[must_use]
    pub fn update_column(mut self, name: impl Into<String>, new_type: PrimitiveType) -> Self {
        self.ops.push(SchemaOp::UpdateType(name.into(), new_type));
        self
    }

    /// Makes a required column optional.
    #[must_use]
    pub fn make_column_optional(mut self, name: impl Into<String>) -> Self {
        self.ops.push(SchemaOp::Optional(name.into()));
        self
    }

    /// Makes an optional column required (incompatible).
    #[must_use]
    pub fn require_column(mut self, name: impl Into<String>) -> Self {
        self.ops.push(SchemaOp::Require(name.into()));
        self
    }

    /// Sets a column's doc.
    #[must_use]
    pub fn update_column_doc(mut self, name: impl Into<String>, doc: impl Into<String>) -> Self {
        self.ops.push(SchemaOp::Doc(name.into(), doc.into()));
        self
    }

    /// Moves a column first within its struct.
    #[must_use]
    pub fn move_first(mut self, name: impl Into<String>) -> Self {
        self.ops.push(SchemaOp::MoveFirst(name.into()));
        self
    }

    /// Moves a column right before `other` (same struct).
    #[must_use]
    pub fn move_before(mut self, name: impl Into<String>, other: impl Into<String>) -> Self {
        self.ops
            .push(SchemaOp::MoveBefore(name.into(), other.into()));
        self
    }

    /// Moves a column right after `other` (same struct).
    #[must_use]
    pub fn move_after(mut self, name: impl Into<String>, other: impl Into<String>) -> Self {
        self.ops
            .push(SchemaOp::MoveAfter(name.into(), other.into()));
        self
    }

    /// Sets the identifier fields (the row key).
    #[must_use]
    pub fn set_identifier_fields<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Self {
        self.ops.push(SchemaOp::Identifier(
            names.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// The new schema for `current` with columns from `last_column_id + 1`.
    pub fn apply_to(&self, current: &Schema, last_column_id: i32) -> Result<Schema> {
        let mut schema = current.clone();
        let mut next_id = last_column_id;
        let mut identifiers: Vec<i32> = current.identifier_field_ids().to_vec();
        for op in &self.ops {
            let edit = |f: &mut dyn FnMut(i32, &mut Vec<NestedField>) -> Result<()>| {
                map_struct(schema.as_struct(), 0, f)
            };
            let fields = match op {
                SchemaOp::Add {
                    parent,
                    name,
                    field_type,
                    required,
                    doc,
                } => {
                    if *required && !self.allow_incompatible {
                        return Err(Error::invalid(format!(
                            "update schema: incompatible change: cannot add required column `{name}` \
                             (existing rows have no value; allow incompatible changes)"
                        )));
                    }
                    if name.contains('.') {
                        return Err(Error::invalid(format!(
                            "update schema: cannot add column `{name}` with a `.` in its name; use a parent"
                        )));
                    }
                    let owner = match parent {
                        None => 0,
                        Some(p) => {
                            let pf = schema.field_by_name(p).ok_or_else(|| {
                                Error::invalid(format!(
                                    "update schema: cannot add column `{name}` to missing parent `{p}`"
                                ))
                            })?;
                            match pf.field_type.as_ref() {
                                Type::Struct(_) => pf.id,
                                Type::List(l)
                                    if matches!(*l.element_field.field_type, Type::Struct(_)) =>
                                {
                                    l.element_field.id
                                }
                                Type::Map(m)
                                    if matches!(*m.value_field.field_type, Type::Struct(_)) =>
                                {
                                    m.value_field.id
                                }
                                other => {
                                    return Err(Error::invalid(format!(
                                        "update schema: cannot add column `{name}` to `{p}` of type {other}: not a struct"
                                    )));
                                }
                            }
                        }
                    };
                    next_id += 1;
                    let id = next_id;
                    let field_type = assign_ids(field_type, &mut || {
                        next_id += 1;
                        next_id
                    });
                    let mut field = NestedField::new(id, name.clone(), field_type, *required);
                    field.doc.clone_from(doc);
                    let mut added = false;
                    let fields = edit(&mut |o, fields| {
                        if o == owner {
                            if fields.iter().any(|x| x.name == *name) {
                                return Err(Error::invalid(format!(
                                    "update schema: cannot add column `{name}`: it already exists"
                                )));
                            }
                            fields.push(field.clone());
                            added = true;
                        }
                        Ok(())
                    })?;
                    if !added {
                        return Err(Error::invalid(format!(
                            "update schema: cannot add column `{name}`: parent not found"
                        )));
                    }
                    fields
                }
                SchemaOp::Rename(from, to) => {
                    let id = find(&schema, from, "rename")?;
                    edit(&mut |_, fields| {
                        if fields.iter().any(|x| x.id == id) {
                            if fields.iter().any(|x| x.name == *to && x.id != id) {
                                return Err(Error::invalid(format!(
                                    "update schema: cannot rename `{from}` to `{to}`: the name is taken"
                                )));
                            }
                            for x in fields.iter_mut().filter(|x| x.id == id) {
                                x.name.clone_from(to);
                            }
                        }
                        Ok(())
                    })?
                }
                SchemaOp::Delete(name) => {
                    let id = find(&schema, name, "delete")?;
                    if identifiers.contains(&id)
                        && !self
                            .ops
                            .iter()
                            .any(|o| matches!(o, SchemaOp::Identifier(_)))
                    {
                        return Err(Error::invalid(format!(
                            "update schema: cannot delete identifier field `{name}`"
                        )));
                    }
                    identifiers.retain(|i| *i != id);
                    edit(&mut |_, fields| {
                        fields.retain(|x| x.id != id);
                        Ok(())
                    })?
                }
                SchemaOp::UpdateType(name, new_type) => {
                    let id = find(&schema, name, "update")?;
                    edit(&mut |_, fields| {
                        for x in fields.iter_mut().filter(|x| x.id == id) {
                            let Some(old) = x.field_type.as_primitive() else {
                                return Err(Error::invalid(format!(
                                    "update schema: cannot change the type of nested column `{name}`"
                                )));
                            };
                            if !old.can_promote_to(new_type) {
                                return Err(Error::invalid(format!(
                                    "update schema: cannot change column `{name}` from {old} to {new_type}"
                                )));
                            }
                            *x.field_type = Type::Primitive(new_type.clone());
                        }
                        Ok(())
                    })?
                }
                SchemaOp::Optional(name) | SchemaOp::Require(name) => {
                    let required = matches!(op, SchemaOp::Require(_));
                    if required && !self.allow_incompatible {
                        return Err(Error::invalid(format!(
                            "update schema: incompatible change: cannot make `{name}` required"
                        )));
                    }
                    let id = find(&schema, name, "update")?;
                    edit(&mut |_, fields| {
                        for x in fields.iter_mut().filter(|x| x.id == id) {
                            x.required = required;
                        }
                        Ok(())
                    })?
                }
                SchemaOp::Doc(name, doc) => {
                    let id = find(&schema, name, "update")?;
                    edit(&mut |_, fields| {
                        for x in fields.iter_mut().filter(|x| x.id == id) {
                            x.doc = Some(doc.clone());
                        }
                        Ok(())
                    })?
                }
                SchemaOp::MoveFirst(name)
                | SchemaOp::MoveBefore(name, _)
                | SchemaOp::MoveAfter(name, _) => {
                    let id = find(&schema, name, "move")?;
                    let other = match op {
                        SchemaOp::MoveBefore(_, o) | SchemaOp::MoveAfter(_, o) => {
                            let oid = find(&schema, o, "move relative to")?;
                            if oid == id {
                                return Err(Error::invalid(format!(
                                    "update schema: cannot move `{name}` relative to itself"
                                )));
                            }
                            Some(oid)
                        }
                        _ => None,
                    };
                    edit(&mut |_, fields| {
                        let Some(pos) = fields.iter().position(|x| x.id == id) else {
                            return Ok(());
                        };
                        let moved = fields.remove(pos);
                        let at = match (op, other) {
                            (SchemaOp::MoveFirst(_), _) => 0,
                            (_, Some(oid)) => {
                                let p = fields.iter().position(|x| x.id == oid).ok_or_else(|| {
                                    Error::invalid(format!(
                                        "update schema: cannot move `{name}`: the other column is in another struct"
                                    ))
                                })?;
                                if matches!(op, SchemaOp::MoveAfter(..)) {
                                    p + 1
                                } else {
                                    p
                                }
                            }
                            _ => 0,
                        };
                        fields.insert(at, moved);
                        Ok(())
                    })?
                }
                SchemaOp::Identifier(names) => {
                    identifiers = names
                        .iter()
                        .map(|n| find(&schema, n, "use as identifier the"))
                        .collect::<Result<_>>()?;
                    schema.fields().iter().map(|x| (**x).clone()).collect()
                }
            };
            let kept: Vec<i32> = identifiers.clone();
            schema = Schema::builder()
                .with_schema_id(current.schema_id())
                .with_fields(fields)
                .with_identifier_field_ids(kept)
                .build()
                .map_err(|e| Error::invalid(format!("update schema: {}", e.message())))?;
        }
        Ok(schema)
    }

    pub(crate) fn apply(&self, builder: &mut TableMetadataBuilder) -> Result<()> {
        let md = builder.current();
        let schema = self.apply_to(md.current_schema(), md.last_column_id())?;
        let spec = md.default_partition_spec();
        for f in &spec.fields {
            if schema.field_by_id(f.source_id).is_none() {
                return Err(Error::invalid(format!(
                    "update schema: cannot delete column {} used by partition field `{}`",
                    md.current_schema().name_by_id(f.source_id).unwrap_or("?"),
                    f.name
                )));
            }
        }
        builder.add_schema(&schema, None)?;
        builder.set_current_schema(LAST_ADDED)
    }
}
