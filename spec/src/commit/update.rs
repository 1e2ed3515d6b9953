//! Commit updates: the changes a commit applies to table metadata, in order (REST
//! `TableUpdate`, Java `MetadataUpdate`).
//!
//! JSON form: `{"action": "set-current-schema", "schema-id": -1}`. An unknown `action` is
//! rejected while parsing ([`ErrorKind::DataInvalid`](crate::ErrorKind), REST 400) with an
//! error that names it. Encryption-key and view updates parse but are rejected by
//! [`TableUpdate::apply`] as unsupported.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::commit::builder::TableMetadataBuilder;
use crate::error::{Error, Result};
use crate::partition::UnboundPartitionSpec;
use crate::schema::Schema;
use crate::snapshot::{Snapshot, SnapshotReference, SnapshotRetention};
use crate::sort::SortOrder;
use crate::table_metadata::{PartitionStatisticsFile, StatisticsFile};

/// The kind of a reference in a `set-snapshot-ref` update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefType {
    /// A branch.
    Branch,
    /// A tag.
    Tag,
}

/// One change to table metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum TableUpdate {
    /// Sets the table UUID (only when creating a table).
    #[serde(rename = "assign-uuid")]
    AssignUuid {
        /// The new UUID.
        uuid: Uuid,
    },
    /// Upgrades the format version (never downgrades).
    #[serde(rename_all = "kebab-case")]
    UpgradeFormatVersion {
        /// The new format version.
        format_version: i32,
    },
    /// Adds a schema (its id is reassigned by the catalog).
    #[serde(rename_all = "kebab-case")]
    AddSchema {
        /// The schema.
        schema: Schema,
        /// Deprecated: the client's idea of the last column id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_column_id: Option<i32>,
    },
    /// Sets the current schema (`-1` = the last schema added in this commit).
    #[serde(rename_all = "kebab-case")]
    SetCurrentSchema {
        /// The schema id.
        schema_id: i32,
    },
    /// Adds a partition spec, bound against the current schema.
    #[serde(rename = "add-spec")]
    AddSpec {
        /// The spec; missing field ids are assigned by the catalog.
        spec: UnboundPartitionSpec,
    },
    /// Sets the default partition spec (`-1` = the last spec added in this commit).
    #[serde(rename_all = "kebab-case")]
    SetDefaultSpec {
        /// The spec id.
        spec_id: i32,
    },
    /// Adds a sort order.
    #[serde(rename_all = "kebab-case")]
    AddSortOrder {
        /// The sort order.
        sort_order: SortOrder,
    },
    /// Sets the default sort order (`-1` = the last order added in this commit).
    #[serde(rename_all = "kebab-case")]
    SetDefaultSortOrder {
        /// The order id.
        sort_order_id: i64,
    },
    /// Adds a snapshot.
    AddSnapshot {
        /// The snapshot.
        snapshot: Snapshot,
    },
    /// Creates or moves a branch or tag.
    #[serde(rename_all = "kebab-case")]
    SetSnapshotRef {
        /// The ref name.
        ref_name: String,
        /// Branch or tag.
        #[serde(rename = "type")]
        ref_type: RefType,
        /// The snapshot it points to.
        snapshot_id: i64,
        /// Branch retention: snapshots to keep.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min_snapshots_to_keep: Option<i32>,
        /// Branch retention: max snapshot age.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_snapshot_age_ms: Option<i64>,
        /// Max age of the ref itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_ref_age_ms: Option<i64>,
    },
    /// Removes snapshots (and refs pointing at them, and their statistics).
    #[serde(rename_all = "kebab-case")]
    RemoveSnapshots {
        /// The snapshot ids.
        snapshot_ids: Vec<i64>,
    },
    /// Removes a branch or tag.
    #[serde(rename_all = "kebab-case")]
    RemoveSnapshotRef {
        /// The ref name.
        ref_name: String,
    },
    /// Sets the table location.
    SetLocation {
        /// The new location.
        location: String,
    },
    /// Sets table properties.
    SetProperties {
        /// The properties to set (Java also reads the old name `updated`).
        #[serde(alias = "updated")]
        updates: HashMap<String, String>,
    },
    /// Removes table properties.
    RemoveProperties {
        /// The keys to remove (Java also reads the old name `removed`).
        #[serde(alias = "removed")]
        removals: Vec<String>,
    },
    /// Sets the statistics file of a snapshot.
    #[serde(rename_all = "kebab-case")]
    SetStatistics {
        /// Deprecated: the snapshot id, equal to `statistics.snapshot-id`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        snapshot_id: Option<i64>,
        /// The statistics file.
        statistics: StatisticsFile,
    },
    /// Removes the statistics file of a snapshot.
    #[serde(rename_all = "kebab-case")]
    RemoveStatistics {
        /// The snapshot id.
        snapshot_id: i64,
    },
    /// Sets the partition statistics file of a snapshot.
    #[serde(rename_all = "kebab-case")]
    SetPartitionStatistics {
        /// The partition statistics file.
        partition_statistics: PartitionStatisticsFile,
    },
    /// Removes the partition statistics file of a snapshot.
    #[serde(rename_all = "kebab-case")]
    RemovePartitionStatistics {
        /// The snapshot id.
        snapshot_id: i64,
    },
    /// Removes partition specs (never the default one).
    #[serde(rename_all = "kebab-case")]
    RemovePartitionSpecs {
        /// The spec ids.
        spec_ids: Vec<i32>,
    },
    /// Removes schemas (never the current one).
    #[serde(rename_all = "kebab-case")]
    RemoveSchemas {
        /// The schema ids.
        schema_ids: Vec<i32>,
    },
    /// Adds an encryption key (not supported by Floe).
    #[serde(rename_all = "kebab-case")]
    AddEncryptionKey {
        /// The key, kept as JSON.
        encryption_key: Value,
    },
    /// Removes an encryption key (not supported by Floe).
    #[serde(rename_all = "kebab-case")]
    RemoveEncryptionKey {
        /// The key id.
        key_id: String,
    },
    /// A view update (not valid on tables).
    #[serde(rename_all = "kebab-case")]
    AddViewVersion {
        /// The view version, kept as JSON.
        view_version: Value,
    },
    /// A view update (not valid on tables).
    #[serde(rename_all = "kebab-case")]
    SetCurrentViewVersion {
        /// The view version id.
        view_version_id: i32,
    },
}

impl TableUpdate {
    /// The REST name of the update (its `action`).
    pub fn action(&self) -> &'static str {
        match self {
            Self::AssignUuid { .. } => "assign-uuid",
            Self::UpgradeFormatVersion { .. } => "upgrade-format-version",
            Self::AddSchema { .. } => "add-schema",
            Self::SetCurrentSchema { .. } => "set-current-schema",
            Self::AddSpec { .. } => "add-spec",
            Self::SetDefaultSpec { .. } => "set-default-spec",
            Self::AddSortOrder { .. } => "add-sort-order",
            Self::SetDefaultSortOrder { .. } => "set-default-sort-order",
            Self::AddSnapshot { .. } => "add-snapshot",
            Self::SetSnapshotRef { .. } => "set-snapshot-ref",
            Self::RemoveSnapshots { .. } => "remove-snapshots",
            Self::RemoveSnapshotRef { .. } => "remove-snapshot-ref",
            Self::SetLocation { .. } => "set-location",
            Self::SetProperties { .. } => "set-properties",
            Self::RemoveProperties { .. } => "remove-properties",
            Self::SetStatistics { .. } => "set-statistics",
            Self::RemoveStatistics { .. } => "remove-statistics",
            Self::SetPartitionStatistics { .. } => "set-partition-statistics",
            Self::RemovePartitionStatistics { .. } => "remove-partition-statistics",
            Self::RemovePartitionSpecs { .. } => "remove-partition-specs",
            Self::RemoveSchemas { .. } => "remove-schemas",
            Self::AddEncryptionKey { .. } => "add-encryption-key",
            Self::RemoveEncryptionKey { .. } => "remove-encryption-key",
            Self::AddViewVersion { .. } => "add-view-version",
            Self::SetCurrentViewVersion { .. } => "set-current-view-version",
        }
    }

    /// The `set-snapshot-ref` update for `reference` named `name`.
    pub fn set_snapshot_ref(name: impl Into<String>, reference: &SnapshotReference) -> Self {
        let (ref_type, min_snapshots_to_keep, max_snapshot_age_ms, max_ref_age_ms) =
            match &reference.retention {
                SnapshotRetention::Branch {
                    min_snapshots_to_keep,
                    max_snapshot_age_ms,
                    max_ref_age_ms,
                } => (
                    RefType::Branch,
                    *min_snapshots_to_keep,
                    *max_snapshot_age_ms,
                    *max_ref_age_ms,
                ),
                SnapshotRetention::Tag { max_ref_age_ms } => {
                    (RefType::Tag, None, None, *max_ref_age_ms)
                }
            };
        Self::SetSnapshotRef {
            ref_name: name.into(),
            ref_type,
            snapshot_id: reference.snapshot_id,
            min_snapshots_to_keep,
            max_snapshot_age_ms,
            max_ref_age_ms,
        }
    }

    /// Applies the update to `builder` (which records it). Errors: invalid updates are
    /// [`ErrorKind::DataInvalid`](crate::ErrorKind); updates built from a stale view of
    /// the table (sequence number, first row id) are
    /// [`ErrorKind::CommitFailed`](crate::ErrorKind); encryption keys and view updates are
    /// [`ErrorKind::FeatureUnsupported`](crate::ErrorKind).
    pub fn apply(&self, builder: &mut TableMetadataBuilder) -> Result<()> {
        match self {
            Self::AssignUuid { uuid } => builder.assign_uuid(*uuid),
            Self::UpgradeFormatVersion { format_version } => {
                builder.upgrade_format_version(i64::from(*format_version).try_into()?)
            }
            Self::AddSchema {
                schema,
                last_column_id,
            } => builder.add_schema(schema, *last_column_id),
            Self::SetCurrentSchema { schema_id } => builder.set_current_schema(*schema_id),
            Self::AddSpec { spec } => builder.add_partition_spec(spec),
            Self::SetDefaultSpec { spec_id } => builder.set_default_partition_spec(*spec_id),
            Self::AddSortOrder { sort_order } => builder.add_sort_order(sort_order),
            Self::SetDefaultSortOrder { sort_order_id } => {
                builder.set_default_sort_order(*sort_order_id)
            }
            Self::AddSnapshot { snapshot } => builder.add_snapshot(snapshot.clone()),
            Self::SetSnapshotRef {
                ref_name,
                ref_type,
                snapshot_id,
                min_snapshots_to_keep,
                max_snapshot_age_ms,
                max_ref_age_ms,
            } => {
                let retention = match ref_type {
                    RefType::Branch => SnapshotRetention::Branch {
                        min_snapshots_to_keep: *min_snapshots_to_keep,
                        max_snapshot_age_ms: *max_snapshot_age_ms,
                        max_ref_age_ms: *max_ref_age_ms,
                    },
                    RefType::Tag => {
                        if min_snapshots_to_keep.is_some() || max_snapshot_age_ms.is_some() {
                            return Err(Error::invalid(format!(
                                "set-snapshot-ref: tag `{ref_name}` cannot have \
                                 min-snapshots-to-keep or max-snapshot-age-ms"
                            )));
                        }
                        SnapshotRetention::Tag {
                            max_ref_age_ms: *max_ref_age_ms,
                        }
                    }
                };
                builder.set_ref(
                    ref_name,
                    SnapshotReference {
                        snapshot_id: *snapshot_id,
                        retention,
                    },
                )
            }
            Self::RemoveSnapshots { snapshot_ids } => builder.remove_snapshots(snapshot_ids),
            Self::RemoveSnapshotRef { ref_name } => builder.remove_ref(ref_name),
            Self::SetLocation { location } => builder.set_location(location),
            Self::SetProperties { updates } => builder.set_properties(updates),
            Self::RemoveProperties { removals } => builder.remove_properties(removals),
            Self::SetStatistics {
                snapshot_id,
                statistics,
            } => {
                if let Some(id) = snapshot_id
                    && *id != statistics.snapshot_id
                {
                    return Err(Error::invalid(format!(
                        "set-statistics: snapshot-id {id} differs from the statistics file's \
                         snapshot-id {}",
                        statistics.snapshot_id
                    )));
                }
                builder.set_statistics(statistics.clone())
            }
            Self::RemoveStatistics { snapshot_id } => builder.remove_statistics(*snapshot_id),
            Self::SetPartitionStatistics {
                partition_statistics,
            } => builder.set_partition_statistics(partition_statistics.clone()),
            Self::RemovePartitionStatistics { snapshot_id } => {
                builder.remove_partition_statistics(*snapshot_id)
            }
            Self::RemovePartitionSpecs { spec_ids } => builder.remove_partition_specs(spec_ids),
            Self::RemoveSchemas { schema_ids } => builder.remove_schemas(schema_ids),
            Self::AddEncryptionKey { .. } | Self::RemoveEncryptionKey { .. } => {
                Err(Error::unsupported(format!(
                    "table update `{}` is not supported: Floe does not support table encryption",
                    self.action()
                )))
            }
            Self::AddViewVersion { .. } | Self::SetCurrentViewVersion { .. } => {
                Err(Error::unsupported(format!(
                    "table update `{}` is a view update and cannot be applied to a table",
                    self.action()
                )))
            }
        }
    }
}
