//! Commit requirements: assertions about the current table that must hold for a commit
//! to apply (REST `TableRequirement`, Java `UpdateRequirement`).
//!
//! JSON form: `{"type": "assert-ref-snapshot-id", "ref": "main", "snapshot-id": null}`.
//! A failed requirement is an [`ErrorKind::CommitFailed`](crate::ErrorKind) error (REST
//! 409): the client's view of the table is stale.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::table_metadata::TableMetadata;

/// One requirement of a commit, checked against the current metadata before any update
/// is applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum TableRequirement {
    /// The table must not exist yet (create via commit, staged create).
    AssertCreate,
    /// The table UUID must match.
    #[serde(rename = "assert-table-uuid")]
    AssertTableUuid {
        /// The expected UUID.
        uuid: Uuid,
    },
    /// A branch or tag must point to the given snapshot, or be absent when
    /// `snapshot-id` is null.
    #[serde(rename_all = "kebab-case")]
    AssertRefSnapshotId {
        /// The ref name.
        #[serde(rename = "ref")]
        r#ref: String,
        /// The expected snapshot, `null` = the ref must not exist (always serialized).
        #[serde(default)]
        snapshot_id: Option<i64>,
    },
    /// The table's `last-column-id` must match.
    #[serde(rename_all = "kebab-case")]
    AssertLastAssignedFieldId {
        /// The expected last assigned column id.
        last_assigned_field_id: i32,
    },
    /// The current schema id must match.
    #[serde(rename_all = "kebab-case")]
    AssertCurrentSchemaId {
        /// The expected current schema id.
        current_schema_id: i32,
    },
    /// The table's `last-partition-id` must match.
    #[serde(rename_all = "kebab-case")]
    AssertLastAssignedPartitionId {
        /// The expected last assigned partition field id.
        last_assigned_partition_id: i32,
    },
    /// The default partition spec id must match.
    #[serde(rename_all = "kebab-case")]
    AssertDefaultSpecId {
        /// The expected default spec id.
        default_spec_id: i32,
    },
    /// The default sort order id must match.
    #[serde(rename_all = "kebab-case")]
    AssertDefaultSortOrderId {
        /// The expected default sort order id.
        default_sort_order_id: i64,
    },
}

impl TableRequirement {
    /// The REST name of the requirement (`assert-create`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::AssertCreate => "assert-create",
            Self::AssertTableUuid { .. } => "assert-table-uuid",
            Self::AssertRefSnapshotId { .. } => "assert-ref-snapshot-id",
            Self::AssertLastAssignedFieldId { .. } => "assert-last-assigned-field-id",
            Self::AssertCurrentSchemaId { .. } => "assert-current-schema-id",
            Self::AssertLastAssignedPartitionId { .. } => "assert-last-assigned-partition-id",
            Self::AssertDefaultSpecId { .. } => "assert-default-spec-id",
            Self::AssertDefaultSortOrderId { .. } => "assert-default-sort-order-id",
        }
    }

    /// Checks the requirement against the current metadata (`None` = the table does not
    /// exist). A failure is an [`ErrorKind::CommitFailed`](crate::ErrorKind) error whose
    /// message names the requirement, the expected and the actual value.
    pub fn check(&self, current: Option<&TableMetadata>) -> Result<()> {
        let Some(meta) = current else {
            return match self {
                Self::AssertCreate
                | Self::AssertRefSnapshotId {
                    snapshot_id: None, ..
                } => Ok(()),
                _ => Err(Error::commit_failed(format!(
                    "Requirement failed: {}: the table does not exist",
                    self.name()
                ))),
            };
        };
        let mismatch = |what: &str, expected: String, actual: String| {
            Err(Error::commit_failed(format!(
                "Requirement failed: {}: {what} changed: expected {expected}, found {actual}",
                self.name()
            )))
        };
        match self {
            Self::AssertCreate => Err(Error::commit_failed(format!(
                "Requirement failed: {}: the table already exists (uuid {})",
                self.name(),
                meta.table_uuid
            ))),
            Self::AssertTableUuid { uuid } => {
                if *uuid == meta.table_uuid {
                    Ok(())
                } else {
                    mismatch("table uuid", uuid.to_string(), meta.table_uuid.to_string())
                }
            }
            Self::AssertRefSnapshotId { r#ref, snapshot_id } => {
                let actual = meta.refs.get(r#ref).map(|r| r.snapshot_id);
                match (snapshot_id, actual) {
                    (None, None) => Ok(()),
                    (Some(e), Some(a)) if *e == a => Ok(()),
                    (None, Some(a)) => Err(Error::commit_failed(format!(
                        "Requirement failed: {}: ref `{ref}` was created concurrently: expected \
                         no ref, found snapshot {a}",
                        self.name()
                    ))),
                    (Some(e), None) => Err(Error::commit_failed(format!(
                        "Requirement failed: {}: ref `{ref}` is missing: expected snapshot {e}, \
                         found no ref",
                        self.name()
                    ))),
                    (Some(e), Some(a)) => mismatch(
                        &format!("snapshot of ref `{ref}`"),
                        e.to_string(),
                        a.to_string(),
                    ),
                }
            }
            Self::AssertLastAssignedFieldId {
                last_assigned_field_id: e,
            } => check_eq(self, "last assigned field id", *e, meta.last_column_id),
            Self::AssertCurrentSchemaId {
                current_schema_id: e,
            } => check_eq(self, "current schema id", *e, meta.current_schema_id),
            Self::AssertLastAssignedPartitionId {
                last_assigned_partition_id: e,
            } => check_eq(
                self,
                "last assigned partition id",
                *e,
                meta.last_partition_id,
            ),
            Self::AssertDefaultSpecId { default_spec_id: e } => {
                check_eq(self, "default spec id", *e, meta.default_spec_id)
            }
            Self::AssertDefaultSortOrderId {
                default_sort_order_id: e,
            } => check_eq(
                self,
                "default sort order id",
                *e,
                meta.default_sort_order_id,
            ),
        }
    }
}

fn check_eq<T: Copy + PartialEq + std::fmt::Display>(
    req: &TableRequirement,
    what: &str,
    expected: T,
    actual: T,
) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::commit_failed(format!(
            "Requirement failed: {}: {what} changed: expected {expected}, found {actual}",
            req.name()
        )))
    }
}
