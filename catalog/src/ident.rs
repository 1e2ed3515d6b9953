//! Namespace and table identifiers, and the rules every name must follow.
//!
//! A namespace is a non-empty list of levels (`["sales", "eu"]`), a table is a namespace
//! and a name. Every level and name is checked by [`validate_name`]: not empty, at most
//! [`MAX_NAME_LEN`] bytes, not `.` or `..`, and no `/`, `\` or control characters —
//! names become path segments of table locations, so they must not escape them.
//!
//! ```
//! use floe_catalog::{NamespaceIdent, TableIdent};
//! let ns = NamespaceIdent::new(["sales", "eu"]).unwrap();
//! let t = TableIdent::new(ns.clone(), "orders").unwrap();
//! assert_eq!(t.to_string(), "sales.eu.orders");
//! assert!(NamespaceIdent::new(["../etc"]).is_err());
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The longest namespace level or table name, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// The most levels a namespace may have.
pub const MAX_NAMESPACE_DEPTH: usize = 16;

/// Checks one namespace level or table name; `what` names it in the error.
pub fn validate_name(what: &str, name: &str) -> Result<()> {
    let bad = |why: &str| {
        Err(Error::invalid(format!(
            "invalid {what} `{}`: {why}",
            name.escape_debug()
        )))
    };
    if name.is_empty() {
        return Err(Error::invalid(format!("invalid {what}: it is empty")));
    }
    if name.len() > MAX_NAME_LEN {
        return bad(&format!(
            "longer than {MAX_NAME_LEN} bytes ({} bytes)",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return bad("`.` and `..` are not allowed");
    }
    if name.contains("..") {
        return bad("`..` is not allowed");
    }
    if name.contains('/') || name.contains('\\') {
        return bad("`/` and `\\` are not allowed");
    }
    if name.chars().any(char::is_control) {
        return bad("control characters are not allowed");
    }
    if name.trim() != name {
        return bad("leading or trailing white space is not allowed");
    }
    Ok(())
}

/// A namespace: one or more levels, outermost first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "Vec<String>", into = "Vec<String>")]
pub struct NamespaceIdent(Vec<String>);

impl NamespaceIdent {
    /// A namespace from its levels; every level is validated.
    pub fn new<I, S>(levels: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let levels: Vec<String> = levels.into_iter().map(Into::into).collect();
        if levels.is_empty() {
            return Err(Error::invalid("invalid namespace: it has no levels"));
        }
        if levels.len() > MAX_NAMESPACE_DEPTH {
            return Err(Error::invalid(format!(
                "invalid namespace: more than {MAX_NAMESPACE_DEPTH} levels"
            )));
        }
        for level in &levels {
            validate_name("namespace level", level)?;
        }
        Ok(Self(levels))
    }

    /// A namespace from a dotted string (`"sales.eu"`), as PyIceberg writes them.
    pub fn from_dotted(s: &str) -> Result<Self> {
        Self::new(s.split('.'))
    }

    /// The levels, outermost first.
    pub fn levels(&self) -> &[String] {
        &self.0
    }

    /// The parent namespace, `None` for a top-level one.
    pub fn parent(&self) -> Option<NamespaceIdent> {
        (self.0.len() > 1).then(|| Self(self.0[..self.0.len() - 1].to_vec()))
    }

    /// A child namespace; `level` is validated.
    pub fn child(&self, level: &str) -> Result<NamespaceIdent> {
        let mut levels = self.0.clone();
        levels.push(level.to_owned());
        Self::new(levels)
    }

    /// The levels joined by `/` (the path of the namespace under the warehouse).
    pub fn to_path(&self) -> String {
        self.0.join("/")
    }

    /// The storage key: levels joined by the unit separator (0x1F), which no level may
    /// contain, so the key is unambiguous.
    pub(crate) fn key(&self) -> String {
        self.0.join("\u{1f}")
    }

    /// The inverse of [`Self::key`].
    pub(crate) fn from_key(key: &str) -> Result<Self> {
        Self::new(key.split('\u{1f}'))
    }
}

impl TryFrom<Vec<String>> for NamespaceIdent {
    type Error = Error;

    fn try_from(levels: Vec<String>) -> Result<Self> {
        Self::new(levels)
    }
}

impl From<NamespaceIdent> for Vec<String> {
    fn from(ns: NamespaceIdent) -> Self {
        ns.0
    }
}

impl fmt::Display for NamespaceIdent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

/// A table: its namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TableIdent {
    /// The namespace.
    pub namespace: NamespaceIdent,
    /// The table name (validated when built with [`TableIdent::new`]).
    pub name: String,
}

impl TableIdent {
    /// A table identifier; the name is validated.
    pub fn new(namespace: NamespaceIdent, name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        validate_name("table name", &name)?;
        Ok(Self { namespace, name })
    }

    /// A table identifier from namespace levels and a name, e.g. `(["db"], "t")`.
    pub fn from_parts<I, S>(namespace: I, name: impl Into<String>) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(NamespaceIdent::new(namespace)?, name)
    }

    /// Re-checks the name (fields are public, so a value may bypass [`Self::new`]).
    pub fn validate(&self) -> Result<()> {
        validate_name("table name", &self.name)
    }
}

impl fmt::Display for TableIdent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.namespace, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_validated() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a\\b",
            "a\u{0}b",
            "a\nb",
            "x..y",
            " a",
            &"x".repeat(256),
        ] {
            assert!(
                validate_name("name", bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
        for good in ["a", "a.b", "sales_2024", "Ünïcode", &"x".repeat(255)] {
            validate_name("name", good).unwrap();
        }
    }

    #[test]
    fn namespace_key_round_trips() {
        let ns = NamespaceIdent::new(["a", "b.c"]).unwrap();
        assert_eq!(NamespaceIdent::from_key(&ns.key()).unwrap(), ns);
        assert_eq!(ns.parent().unwrap(), NamespaceIdent::new(["a"]).unwrap());
        assert!(NamespaceIdent::new(Vec::<String>::new()).is_err());
    }
}
