//! Snapshots, their summaries, and references (branches and tags).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A shared snapshot.
pub type SnapshotRef = Arc<Snapshot>;

/// The name of the main branch.
pub const MAIN_BRANCH: &str = "main";

/// What a snapshot did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    /// Only data files were added.
    #[default]
    Append,
    /// Files were replaced without changing the data (compaction, manifest rewrite).
    Replace,
    /// Data files were added and removed in a logical overwrite.
    Overwrite,
    /// Data files were removed or delete files added.
    Delete,
}

impl Operation {
    /// The summary string of this operation.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Append => "append",
            Operation::Replace => "replace",
            Operation::Overwrite => "overwrite",
            Operation::Delete => "delete",
        }
    }
}

/// A snapshot summary: the operation and string properties (counts and totals, see the
/// spec's Appendix F).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Summary {
    /// The operation.
    pub operation: Operation,
    /// Other summary properties.
    #[serde(flatten)]
    pub additional_properties: HashMap<String, String>,
}

/// One snapshot of the table: the state of its data at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Snapshot {
    /// Unique id (a random positive long).
    pub snapshot_id: i64,
    /// The parent, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_snapshot_id: Option<i64>,
    /// The data sequence number of files this snapshot added (0 in v1).
    #[serde(default)]
    pub sequence_number: i64,
    /// When the snapshot was created, ms from the epoch.
    pub timestamp_ms: i64,
    /// Location of the manifest list.
    pub manifest_list: String,
    /// The summary.
    pub summary: Summary,
    /// The current schema when the snapshot was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_id: Option<i32>,
    /// v3: the first row id assigned to rows added by this snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_row_id: Option<i64>,
    /// v3: the number of rows added by this snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_rows: Option<i64>,
    /// v3: the encryption key id of the manifest list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// A named reference to a snapshot: a branch or a tag, with retention settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SnapshotReference {
    /// The snapshot the reference points to.
    pub snapshot_id: i64,
    /// Branch or tag, and its retention.
    #[serde(flatten)]
    pub retention: SnapshotRetention,
}

/// The kind of a reference and its retention settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SnapshotRetention {
    /// A branch: a line of snapshots that writers extend.
    #[serde(rename_all = "kebab-case")]
    Branch {
        /// Keep at least this many snapshots of the branch when expiring.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_snapshots_to_keep: Option<i32>,
        /// Expire snapshots of the branch older than this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_snapshot_age_ms: Option<i64>,
        /// Drop the branch when its head is older than this (never for `main`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ref_age_ms: Option<i64>,
    },
    /// A tag: a fixed name for one snapshot.
    #[serde(rename_all = "kebab-case")]
    Tag {
        /// Drop the tag when it is older than this.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ref_age_ms: Option<i64>,
    },
}

impl SnapshotRetention {
    /// A branch with no retention overrides.
    pub fn branch() -> Self {
        SnapshotRetention::Branch {
            min_snapshots_to_keep: None,
            max_snapshot_age_ms: None,
            max_ref_age_ms: None,
        }
    }

    /// A tag with no retention override.
    pub fn tag() -> Self {
        SnapshotRetention::Tag {
            max_ref_age_ms: None,
        }
    }
}

impl SnapshotReference {
    /// A branch reference with default retention.
    pub fn branch(snapshot_id: i64) -> Self {
        Self {
            snapshot_id,
            retention: SnapshotRetention::branch(),
        }
    }

    /// Whether this is a branch.
    pub fn is_branch(&self) -> bool {
        matches!(self.retention, SnapshotRetention::Branch { .. })
    }
}
