//! The maintenance actions and their options as the REST API and the queue name them.
//!
//! Options are a flat JSON object beside `action` and `dry-run` in a request; each
//! action accepts the keys listed in [`Action::options`], and anything else is refused
//! with a message naming the key.
//!
//! ```
//! use floe_server::maintenance::Action;
//! let a = Action::parse("compact").unwrap();
//! assert_eq!(a.as_str(), "compact");
//! assert!(Action::parse("vacuum").is_err());
//! ```

use std::fmt;

use serde_json::{Map, Value};

/// A maintenance action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Bin-pack small data files (folding deletes) to the target file size.
    Compact,
    /// Expire old snapshots and delete the files only they reached.
    ExpireSnapshots,
    /// Delete files under the table location that no metadata references.
    RemoveOrphanFiles,
    /// Merge small manifests.
    RewriteManifests,
}

/// The type of an option value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    /// A non-negative integer.
    Count,
    /// A boolean.
    Bool,
    /// A list of integers.
    IntList,
}

impl OptionKind {
    fn check(self, value: &Value) -> bool {
        match self {
            Self::Count => value.as_i64().is_some_and(|n| n >= 0),
            Self::Bool => value.is_boolean(),
            Self::IntList => value
                .as_array()
                .is_some_and(|a| a.iter().all(|v| v.as_i64().is_some())),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Count => "a non-negative integer",
            Self::Bool => "a boolean",
            Self::IntList => "a list of integers",
        }
    }
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 4] = [
        Action::Compact,
        Action::ExpireSnapshots,
        Action::RemoveOrphanFiles,
        Action::RewriteManifests,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Compact => "compact",
            Self::ExpireSnapshots => "expire-snapshots",
            Self::RemoveOrphanFiles => "remove-orphan-files",
            Self::RewriteManifests => "rewrite-manifests",
        }
    }

    /// Parses a wire name.
    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown maintenance action `{s}`: expected one of {}",
                    Self::ALL.map(Action::as_str).join(", ")
                )
            })
    }

    /// The options the action accepts.
    pub fn options(self) -> &'static [(&'static str, OptionKind)] {
        match self {
            Self::Compact => &[
                ("target-file-size-bytes", OptionKind::Count),
                ("min-file-size-bytes", OptionKind::Count),
                ("min-input-files", OptionKind::Count),
                ("rewrite-all", OptionKind::Bool),
            ],
            Self::ExpireSnapshots => &[
                ("older-than-ms", OptionKind::Count),
                ("retain-last", OptionKind::Count),
                ("snapshot-ids", OptionKind::IntList),
                ("clean-expired-files", OptionKind::Bool),
            ],
            Self::RemoveOrphanFiles => &[("older-than-ms", OptionKind::Count)],
            Self::RewriteManifests => &[("target-manifest-size-bytes", OptionKind::Count)],
        }
    }

    /// Checks `options` against [`Self::options`]: every key known, every value of its
    /// type.
    pub fn check_options(self, options: &Map<String, Value>) -> Result<(), String> {
        for (key, value) in options {
            let Some((_, kind)) = self.options().iter().find(|(k, _)| k == key) else {
                let known: Vec<&str> = self.options().iter().map(|(k, _)| *k).collect();
                return Err(format!(
                    "unknown option `{key}` for action {self}: expected one of {}",
                    known.join(", ")
                ));
            };
            if !kind.check(value) {
                return Err(format!(
                    "option `{key}` of action {self} must be {}, got {value}",
                    kind.describe()
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Ok(a));
        }
        let e = Action::parse("vacuum").unwrap_err();
        assert!(
            e.contains("vacuum") && e.contains("rewrite-manifests"),
            "{e}"
        );
    }

    #[test]
    fn options_are_checked() {
        let ok = serde_json::json!({"retain-last": 5, "snapshot-ids": [1, 2]});
        assert!(
            Action::ExpireSnapshots
                .check_options(ok.as_object().unwrap())
                .is_ok()
        );
        let unknown = serde_json::json!({"retain": 5});
        let e = Action::ExpireSnapshots
            .check_options(unknown.as_object().unwrap())
            .unwrap_err();
        assert!(e.contains("`retain`") && e.contains("retain-last"), "{e}");
        let bad = serde_json::json!({"target-file-size-bytes": "big"});
        let e = Action::Compact
            .check_options(bad.as_object().unwrap())
            .unwrap_err();
        assert!(e.contains("non-negative integer"), "{e}");
        let negative = serde_json::json!({"min-input-files": -1});
        assert!(
            Action::Compact
                .check_options(negative.as_object().unwrap())
                .is_err()
        );
    }
}
