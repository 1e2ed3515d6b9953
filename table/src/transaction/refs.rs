//! Branches and tags: create, replace, remove (with retention), roll back a branch,
//! set the current snapshot.

use floe_spec::commit::TableMetadataBuilder;
use floe_spec::snapshot::{MAIN_BRANCH, SnapshotReference, SnapshotRetention};

use crate::error::{Error, Result};
use crate::table::ancestors;

#[derive(Debug, Clone, PartialEq, Eq)]
enum RefOp {
    Create(SnapshotReference),
    Replace(SnapshotReference),
    Remove,
    Rollback(i64),
    SetCurrent(i64),
}

/// A change to one branch or tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    name: String,
    op: RefOp,
}

impl RefUpdate {
    /// Creates branch `name` at `snapshot_id` (it must not exist).
    pub fn create_branch(name: impl Into<String>, snapshot_id: i64) -> Self {
        Self {
            name: name.into(),
            op: RefOp::Create(SnapshotReference::branch(snapshot_id)),
        }
    }

    /// Creates tag `name` at `snapshot_id` (it must not exist).
    pub fn create_tag(name: impl Into<String>, snapshot_id: i64) -> Self {
        Self {
            name: name.into(),
            op: RefOp::Create(SnapshotReference {
                snapshot_id,
                retention: SnapshotRetention::tag(),
            }),
        }
    }

    /// Creates a branch or tag with explicit retention (it must not exist).
    pub fn create(name: impl Into<String>, reference: SnapshotReference) -> Self {
        Self {
            name: name.into(),
            op: RefOp::Create(reference),
        }
    }

    /// Points an existing branch or tag at another snapshot, with new retention
    /// (the kind must stay the same).
    pub fn replace(name: impl Into<String>, reference: SnapshotReference) -> Self {
        Self {
            name: name.into(),
            op: RefOp::Replace(reference),
        }
    }

    /// Removes a branch or tag (never `main`).
    pub fn remove(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            op: RefOp::Remove,
        }
    }

    /// Rolls `main` back to an ancestor of its current snapshot.
    pub fn rollback_to(snapshot_id: i64) -> Self {
        Self {
            name: MAIN_BRANCH.to_string(),
            op: RefOp::Rollback(snapshot_id),
        }
    }

    /// Makes any snapshot of the table the head of `main`.
    pub fn set_current_snapshot(snapshot_id: i64) -> Self {
        Self {
            name: MAIN_BRANCH.to_string(),
            op: RefOp::SetCurrent(snapshot_id),
        }
    }

    /// The branch or tag changed.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn apply(&self, builder: &mut TableMetadataBuilder) -> Result<()> {
        let md = builder.current();
        let name = &self.name;
        let existing = md.refs().get(name).cloned();
        let known = |id: i64| {
            if md.snapshot_by_id(id).is_some() {
                Ok(())
            } else {
                Err(Error::invalid(format!(
                    "ref `{name}`: unknown snapshot {id}"
                )))
            }
        };
        match &self.op {
            RefOp::Create(r) => {
                known(r.snapshot_id)?;
                if existing.is_some() {
                    return Err(Error::new(
                        crate::error::ErrorKind::AlreadyExists,
                        format!("ref `{name}` already exists"),
                    ));
                }
                builder.set_ref(name, r.clone())
            }
            RefOp::Replace(r) => {
                known(r.snapshot_id)?;
                let Some(old) = existing else {
                    return Err(Error::invalid(format!("ref `{name}` does not exist")));
                };
                if old.is_branch() != r.is_branch() {
                    return Err(Error::invalid(format!(
                        "ref `{name}`: cannot replace a {} with a {}",
                        if old.is_branch() { "branch" } else { "tag" },
                        if r.is_branch() { "branch" } else { "tag" }
                    )));
                }
                builder.set_ref(name, r.clone())
            }
            RefOp::Remove => {
                if name == MAIN_BRANCH {
                    return Err(Error::invalid("cannot remove the `main` branch"));
                }
                if existing.is_none() {
                    return Err(Error::invalid(format!("ref `{name}` does not exist")));
                }
                builder.remove_ref(name)
            }
            RefOp::Rollback(id) => {
                known(*id)?;
                let current = existing.as_ref().map(|r| r.snapshot_id);
                if !ancestors(md, current).iter().any(|s| s.snapshot_id == *id) {
                    return Err(Error::invalid(format!(
                        "cannot roll back `{name}` to snapshot {id}: it is not an ancestor of the current snapshot"
                    )));
                }
                let retention = existing.map_or_else(SnapshotRetention::branch, |r| r.retention);
                builder.set_ref(
                    name,
                    SnapshotReference {
                        snapshot_id: *id,
                        retention,
                    },
                )
            }
            RefOp::SetCurrent(id) => {
                known(*id)?;
                let retention = existing.map_or_else(SnapshotRetention::branch, |r| r.retention);
                builder.set_ref(
                    name,
                    SnapshotReference {
                        snapshot_id: *id,
                        retention,
                    },
                )
            }
        }
    }
}
