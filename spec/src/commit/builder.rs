//! [`TableMetadataBuilder`]: the one place where table metadata changes. Every method
//! changes the state and records the [`TableUpdate`] it stands for; the recorded list is
//! the REST commit body, and [`TableMetadataBuilder::build`] finalizes the new metadata.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use uuid::Uuid;

use crate::commit::update::TableUpdate;
use crate::commit::{
    DEFAULT_METADATA_PREVIOUS_VERSIONS_MAX, PROPERTY_FORMAT_VERSION,
    PROPERTY_METADATA_PREVIOUS_VERSIONS_MAX, RESERVED_PROPERTIES,
};
use crate::error::{Error, Result};
use crate::partition::{PARTITION_DATA_ID_START, UnboundPartitionSpec};
use crate::schema::Schema;
use crate::snapshot::{MAIN_BRANCH, Snapshot, SnapshotReference};
use crate::sort::SortOrder;
use crate::table_metadata::{
    FormatVersion, MetadataLog, PartitionStatisticsFile, SnapshotLog, StatisticsFile, TableMetadata,
};
use crate::transform::Transform;
use crate::types::{MAX_FIELD_ID, PrimitiveType};

/// `-1` in `set-current-schema`, `set-default-spec` and `set-default-sort-order`: the
/// last one added by this builder.
pub const LAST_ADDED: i32 = -1;

/// Clock skew tolerated between snapshot timestamps and `last-updated-ms` (as Java).
const ONE_MINUTE_MS: i64 = 60_000;

/// Snapshot-log timestamp meaning "the commit time", filled in by `build`.
const PENDING_TIMESTAMP: i64 = i64::MIN;

/// Placeholder for a current schema, default spec or default order not yet chosen.
const UNSET_ID: i32 = -1;

/// The result of [`TableMetadataBuilder::build`].
#[derive(Debug, Clone, PartialEq)]
pub struct TableMetadataBuildResult {
    /// The new metadata (the previous metadata itself when nothing changed).
    pub metadata: TableMetadata,
    /// The effective changes, in order: the REST commit body.
    pub changes: Vec<TableUpdate>,
    /// Metadata-log entries dropped by `write.metadata.previous-versions-max`: their
    /// files may be deleted once the commit succeeded, if
    /// `write.metadata.delete-after-commit.enabled`.
    pub expired_metadata_logs: Vec<MetadataLog>,
}

/// Builds new table metadata from existing metadata or for a new table, recording every
/// change as a [`TableUpdate`]. Rules follow Java's `TableMetadata.Builder`.
#[derive(Debug, Clone)]
pub struct TableMetadataBuilder {
    base: Option<TableMetadata>,
    previous_location: Option<String>,
    metadata: TableMetadata,
    changes: Vec<TableUpdate>,
    last_added_schema_id: Option<i32>,
    last_added_spec_id: Option<i32>,
    last_added_order_id: Option<i64>,
    /// Ids whose addition was recorded: only those may be recorded as `-1`, so that
    /// the recorded changes replay to the same result.
    recorded_schema_ids: HashSet<i32>,
    recorded_spec_ids: HashSet<i32>,
    recorded_order_ids: HashSet<i64>,
    added_snapshot_ids: HashSet<i64>,
    removed_snapshots: bool,
}

impl From<&TableMetadata> for TableMetadataBuilder {
    /// A builder starting from `metadata` whose file location is unknown (no
    /// metadata-log entry is added on build).
    fn from(metadata: &TableMetadata) -> Self {
        Self {
            base: Some(metadata.clone()),
            previous_location: None,
            metadata: metadata.clone(),
            changes: Vec::new(),
            last_added_schema_id: None,
            last_added_spec_id: None,
            last_added_order_id: None,
            recorded_schema_ids: HashSet::new(),
            recorded_spec_ids: HashSet::new(),
            recorded_order_ids: HashSet::new(),
            added_snapshot_ids: HashSet::new(),
            removed_snapshots: false,
        }
    }
}

impl TableMetadataBuilder {
    /// A builder starting from `metadata`, read from the file `current_location`; on
    /// build that file becomes the newest metadata-log entry.
    pub fn new_from(metadata: &TableMetadata, current_location: impl Into<String>) -> Self {
        let mut b = Self::from(metadata);
        b.previous_location = Some(current_location.into());
        b
    }

    /// A builder for a table that does not exist yet: the updates must add a schema, a
    /// partition spec, a sort order and set the location (create via commit). The UUID
    /// is the one assigned by `assign-uuid`, else a new random one.
    pub fn empty(format_version: FormatVersion) -> Self {
        let metadata = TableMetadata {
            format_version,
            table_uuid: Uuid::nil(),
            location: String::new(),
            last_sequence_number: 0,
            last_updated_ms: 0,
            last_column_id: 0,
            schemas: HashMap::new(),
            current_schema_id: UNSET_ID,
            partition_specs: HashMap::new(),
            default_spec_id: UNSET_ID,
            last_partition_id: PARTITION_DATA_ID_START - 1,
            properties: HashMap::new(),
            current_snapshot_id: None,
            snapshots: HashMap::new(),
            snapshot_log: Vec::new(),
            metadata_log: Vec::new(),
            sort_orders: HashMap::new(),
            default_sort_order_id: i64::from(UNSET_ID),
            refs: HashMap::new(),
            statistics: Vec::new(),
            partition_statistics: Vec::new(),
            next_row_id: (format_version >= FormatVersion::V3).then_some(0),
            snapshot_json: crate::table_metadata::SnapshotJsonCache::default(),
        };
        Self {
            base: None,
            previous_location: None,
            metadata,
            changes: Vec::new(),
            last_added_schema_id: None,
            last_added_spec_id: None,
            last_added_order_id: None,
            recorded_schema_ids: HashSet::new(),
            recorded_spec_ids: HashSet::new(),
            recorded_order_ids: HashSet::new(),
            added_snapshot_ids: HashSet::new(),
            removed_snapshots: false,
        }
    }

    /// The metadata as changed so far (not finalized: see [`Self::build`]).
    pub fn current(&self) -> &TableMetadata {
        &self.metadata
    }

    /// The changes recorded so far.
    pub fn changes(&self) -> &[TableUpdate] {
        &self.changes
    }

    /// Whether the builder creates a new table.
    pub fn is_create(&self) -> bool {
        self.base.is_none()
    }

    pub(crate) fn record(&mut self, update: TableUpdate) {
        self.changes.push(update);
    }

    /// `assign-uuid`: only allowed when creating a table, or with the current UUID (a
    /// no-op).
    pub fn assign_uuid(&mut self, uuid: Uuid) -> Result<()> {
        if uuid == self.metadata.table_uuid {
            return Ok(());
        }
        if self.base.is_some() {
            return Err(Error::invalid(format!(
                "assign-uuid: cannot change the uuid of an existing table from {} to {uuid}",
                self.metadata.table_uuid
            )));
        }
        self.metadata.table_uuid = uuid;
        self.record(TableUpdate::AssignUuid { uuid });
        Ok(())
    }

    /// `upgrade-format-version`: never downgrades; upgrading to v3 starts `next-row-id`
    /// at 0.
    pub fn upgrade_format_version(&mut self, version: FormatVersion) -> Result<()> {
        let current = self.metadata.format_version;
        if version < current {
            return Err(Error::invalid(format!(
                "upgrade-format-version: cannot downgrade a v{} table to v{}",
                current.number(),
                version.number()
            )));
        }
        if version == current {
            return Ok(());
        }
        self.metadata.format_version = version;
        if version >= FormatVersion::V3 && self.metadata.next_row_id.is_none() {
            self.metadata.next_row_id = Some(0);
        }
        self.record(TableUpdate::UpgradeFormatVersion {
            format_version: i32::from(version.number()),
        });
        Ok(())
    }

    /// `add-schema`: reuses the id of an identical schema, else takes the highest id
    /// plus one (the client's id is ignored); `last-column-id` becomes the maximum of
    /// the old one, the schema's highest field id and `last_column_id`.
    pub fn add_schema(&mut self, schema: &Schema, last_column_id: Option<i32>) -> Result<()> {
        check_schema_for_version(schema, self.metadata.format_version)?;
        if schema.highest_field_id() > MAX_FIELD_ID {
            return Err(Error::invalid(format!(
                "add-schema: field id {} is above the maximum {MAX_FIELD_ID}",
                schema.highest_field_id()
            )));
        }
        let old_last = self.metadata.last_column_id;
        let new_last = old_last
            .max(schema.highest_field_id())
            .max(last_column_id.unwrap_or(0));
        let existing = self
            .metadata
            .schemas
            .values()
            .filter(|s| s.same_fields(schema))
            .map(|s| s.schema_id())
            .min();
        if let Some(id) = existing {
            self.last_added_schema_id = Some(id);
            if new_last == old_last {
                return Ok(());
            }
            self.metadata.last_column_id = new_last;
            let schema = schema.with_schema_id(id);
            self.recorded_schema_ids.insert(id);
            self.record(TableUpdate::AddSchema {
                schema,
                last_column_id: Some(new_last),
            });
            return Ok(());
        }
        let id = self.metadata.schemas.keys().max().map_or(Ok(0), |m| {
            m.checked_add(1)
                .ok_or_else(|| Error::invalid("add-schema: schema ids are exhausted"))
        })?;
        let schema = schema.with_schema_id(id);
        self.metadata.last_column_id = new_last;
        self.metadata.schemas.insert(id, Arc::new(schema.clone()));
        self.last_added_schema_id = Some(id);
        self.recorded_schema_ids.insert(id);
        self.record(TableUpdate::AddSchema {
            schema,
            last_column_id: Some(new_last),
        });
        Ok(())
    }

    /// `set-current-schema` (`-1` = the last schema added by this builder).
    pub fn set_current_schema(&mut self, schema_id: i32) -> Result<()> {
        let id = resolve_last_added(
            schema_id,
            self.last_added_schema_id,
            "set-current-schema",
            "schema",
        )?;
        if id == self.metadata.current_schema_id {
            return Ok(());
        }
        if !self.metadata.schemas.contains_key(&id) {
            return Err(Error::invalid(format!(
                "set-current-schema: unknown schema id {id}"
            )));
        }
        self.metadata.current_schema_id = id;
        let recorded = recorded_id(id, self.last_added_schema_id, &self.recorded_schema_ids);
        self.record(TableUpdate::SetCurrentSchema {
            schema_id: recorded,
        });
        Ok(())
    }

    fn current_schema_for(&self, action: &str) -> Result<Arc<Schema>> {
        self.metadata
            .schemas
            .get(&self.metadata.current_schema_id)
            .cloned()
            .ok_or_else(|| Error::invalid(format!("{action}: the table has no current schema yet")))
    }

    /// `add-spec`: binds `spec` to the current schema, reuses an equivalent spec, else
    /// adds it with the highest spec id plus one. Missing field ids are assigned: in v2+
    /// the id of an identical (source, transform) field of an earlier spec, else
    /// `last-partition-id` + 1, ...; in v1 they must be sequential from 1000.
    pub fn add_partition_spec(&mut self, spec: &UnboundPartitionSpec) -> Result<()> {
        let schema = self.current_schema_for("add-spec")?;
        let v1 = self.metadata.format_version == FormatVersion::V1;
        let given: HashSet<i32> = spec.fields.iter().filter_map(|f| f.field_id).collect();
        let mut reusable: HashMap<(i32, Transform), i32> = HashMap::new();
        if !v1 {
            for s in self.metadata.partition_specs.values() {
                for f in &s.fields {
                    let e = reusable
                        .entry((f.source_id, f.transform))
                        .or_insert(f.field_id);
                    *e = (*e).max(f.field_id);
                }
            }
        }
        let mut used = given.clone();
        let mut next = self
            .metadata
            .last_partition_id
            .max(given.iter().copied().max().unwrap_or(0));
        let mut overflow = false;
        let bound = spec.bind_with(&schema, 0, |i, f| {
            if v1 {
                return PARTITION_DATA_ID_START.saturating_add(i32::try_from(i).unwrap_or(0));
            }
            if let Some(id) = reusable.get(&(f.source_id, f.transform))
                && used.insert(*id)
            {
                return *id;
            }
            next = next.checked_add(1).unwrap_or_else(|| {
                overflow = true;
                next
            });
            used.insert(next);
            next
        })?;
        if overflow {
            return Err(Error::invalid(
                "add-spec: partition field ids are exhausted",
            ));
        }
        if v1
            && bound.fields.iter().enumerate().any(|(i, f)| {
                i64::from(f.field_id) != i64::from(PARTITION_DATA_ID_START) + i as i64
            })
        {
            return Err(Error::invalid(format!(
                "add-spec: a v1 spec must use sequential field ids from {PARTITION_DATA_ID_START}, got {:?}",
                bound.fields.iter().map(|f| f.field_id).collect::<Vec<_>>()
            )));
        }
        let existing = self
            .metadata
            .partition_specs
            .values()
            .filter(|s| s.is_equivalent(&bound))
            .map(|s| s.spec_id)
            .min();
        if let Some(id) = existing {
            self.last_added_spec_id = Some(id);
            return Ok(());
        }
        let id = self
            .metadata
            .partition_specs
            .keys()
            .max()
            .map_or(Ok(0), |m| {
                m.checked_add(1)
                    .ok_or_else(|| Error::invalid("add-spec: spec ids are exhausted"))
            })?;
        let mut bound = bound;
        bound.spec_id = id;
        if let Some(max) = bound.highest_field_id() {
            self.metadata.last_partition_id = self.metadata.last_partition_id.max(max);
        }
        self.metadata
            .partition_specs
            .insert(id, Arc::new(bound.clone()));
        self.last_added_spec_id = Some(id);
        self.recorded_spec_ids.insert(id);
        self.record(TableUpdate::AddSpec {
            spec: UnboundPartitionSpec::from(bound),
        });
        Ok(())
    }

    /// `set-default-spec` (`-1` = the last spec added by this builder).
    pub fn set_default_partition_spec(&mut self, spec_id: i32) -> Result<()> {
        let id = resolve_last_added(spec_id, self.last_added_spec_id, "set-default-spec", "spec")?;
        if id == self.metadata.default_spec_id {
            return Ok(());
        }
        if !self.metadata.partition_specs.contains_key(&id) {
            return Err(Error::invalid(format!(
                "set-default-spec: unknown partition spec id {id}"
            )));
        }
        self.metadata.default_spec_id = id;
        let recorded = recorded_id(id, self.last_added_spec_id, &self.recorded_spec_ids);
        self.record(TableUpdate::SetDefaultSpec { spec_id: recorded });
        Ok(())
    }

    /// `add-sort-order`: checks the order against the current schema, reuses an
    /// equivalent order, else adds it with the highest order id plus one (ids start at
    /// 1; 0 is the unsorted order).
    pub fn add_sort_order(&mut self, order: &SortOrder) -> Result<()> {
        if !order.is_unsorted() {
            let schema = self.current_schema_for("add-sort-order")?;
            order.check_compatible(&schema)?;
        }
        let existing = self
            .metadata
            .sort_orders
            .values()
            .filter(|o| o.is_equivalent(order))
            .map(|o| o.order_id)
            .min();
        if let Some(id) = existing {
            self.last_added_order_id = Some(id);
            return Ok(());
        }
        let id = if order.is_unsorted() {
            SortOrder::UNSORTED_ORDER_ID
        } else {
            self.metadata
                .sort_orders
                .keys()
                .max()
                .copied()
                .unwrap_or(0)
                .max(0)
                .checked_add(1)
                .ok_or_else(|| Error::invalid("add-sort-order: order ids are exhausted"))?
        };
        let bound = SortOrder {
            order_id: id,
            fields: order.fields.clone(),
        };
        self.metadata
            .sort_orders
            .insert(id, Arc::new(bound.clone()));
        self.last_added_order_id = Some(id);
        self.recorded_order_ids.insert(id);
        self.record(TableUpdate::AddSortOrder { sort_order: bound });
        Ok(())
    }

    /// `set-default-sort-order` (`-1` = the last order added by this builder).
    pub fn set_default_sort_order(&mut self, order_id: i64) -> Result<()> {
        let id = resolve_last_added(
            order_id,
            self.last_added_order_id,
            "set-default-sort-order",
            "sort order",
        )?;
        if id == self.metadata.default_sort_order_id {
            return Ok(());
        }
        if !self.metadata.sort_orders.contains_key(&id) {
            return Err(Error::invalid(format!(
                "set-default-sort-order: unknown sort order id {id}"
            )));
        }
        self.metadata.default_sort_order_id = id;
        let recorded = recorded_id(id, self.last_added_order_id, &self.recorded_order_ids);
        self.record(TableUpdate::SetDefaultSortOrder {
            sort_order_id: recorded,
        });
        Ok(())
    }

    /// `add-snapshot`. Checks: the table has a schema, spec and order; the snapshot id
    /// is new; its schema exists; in v2+ its sequence number is above
    /// `last-sequence-number` unless it has no parent, and its timestamp is at most one
    /// minute before `last-updated-ms` (else `CommitFailed`: the client must refresh);
    /// in v3 `first-row-id` ≥ `next-row-id`, which then grows by `added-rows`.
    pub fn add_snapshot(&mut self, snapshot: Snapshot) -> Result<()> {
        let m = &self.metadata;
        let id = snapshot.snapshot_id;
        if m.schemas.is_empty() {
            return Err(Error::invalid(format!(
                "add-snapshot: cannot add snapshot {id} before a schema is added"
            )));
        }
        if m.partition_specs.is_empty() {
            return Err(Error::invalid(format!(
                "add-snapshot: cannot add snapshot {id} before a partition spec is added"
            )));
        }
        if m.sort_orders.is_empty() {
            return Err(Error::invalid(format!(
                "add-snapshot: cannot add snapshot {id} before a sort order is added"
            )));
        }
        if m.snapshots.contains_key(&id) {
            return Err(Error::invalid(format!(
                "add-snapshot: snapshot {id} already exists"
            )));
        }
        if let Some(schema_id) = snapshot.schema_id
            && !m.schemas.contains_key(&schema_id)
        {
            return Err(Error::invalid(format!(
                "add-snapshot: snapshot {id} refers to unknown schema {schema_id}"
            )));
        }
        if m.format_version >= FormatVersion::V2
            && snapshot.sequence_number <= m.last_sequence_number
            && snapshot.parent_snapshot_id.is_some()
        {
            return Err(Error::commit_failed(format!(
                "Cannot add snapshot {id} with sequence number {} older than last sequence number {}",
                snapshot.sequence_number, m.last_sequence_number
            )));
        }
        if self.base.is_some()
            && snapshot.timestamp_ms.saturating_add(ONE_MINUTE_MS) < m.last_updated_ms
        {
            return Err(Error::commit_failed(format!(
                "Cannot add snapshot {id}: its timestamp-ms {} is more than one minute before the \
                 table's last-updated-ms {}",
                snapshot.timestamp_ms, m.last_updated_ms
            )));
        }
        let mut next_row_id = m.next_row_id;
        if m.format_version >= FormatVersion::V3 {
            let first = snapshot.first_row_id.ok_or_else(|| {
                Error::invalid(format!(
                    "add-snapshot: snapshot {id} of a v3 table has no first-row-id"
                ))
            })?;
            let added = snapshot.added_rows.ok_or_else(|| {
                Error::invalid(format!(
                    "add-snapshot: snapshot {id} of a v3 table has no added-rows"
                ))
            })?;
            if added < 0 {
                return Err(Error::invalid(format!(
                    "add-snapshot: snapshot {id} has negative added-rows {added}"
                )));
            }
            let current = m.next_row_id.unwrap_or(0);
            if first < current {
                return Err(Error::commit_failed(format!(
                    "Cannot add snapshot {id}: first-row-id {first} is behind the table's next-row-id {current}"
                )));
            }
            next_row_id = Some(current.checked_add(added).ok_or_else(|| {
                Error::invalid(format!(
                    "add-snapshot: next-row-id overflows adding {added} rows of snapshot {id}"
                ))
            })?);
        }
        self.metadata.next_row_id = next_row_id;
        self.metadata.last_sequence_number = self
            .metadata
            .last_sequence_number
            .max(snapshot.sequence_number);
        self.metadata
            .snapshots
            .insert(id, Arc::new(snapshot.clone()));
        self.added_snapshot_ids.insert(id);
        self.record(TableUpdate::AddSnapshot { snapshot });
        Ok(())
    }

    /// `set-snapshot-ref`: the snapshot must exist and `main` must be a branch. Setting
    /// `main` moves the current snapshot and adds a snapshot-log entry (the snapshot's
    /// timestamp if it was added by this builder, else the commit time). Setting a ref
    /// to exactly what it is already is a no-op.
    pub fn set_ref(&mut self, name: &str, reference: SnapshotReference) -> Result<()> {
        if self.metadata.refs.get(name) == Some(&reference) {
            return Ok(());
        }
        let id = reference.snapshot_id;
        let Some(snapshot) = self.metadata.snapshots.get(&id) else {
            return Err(Error::invalid(format!(
                "set-snapshot-ref: cannot set ref `{name}` to unknown snapshot {id}"
            )));
        };
        if name.is_empty() {
            return Err(Error::invalid("set-snapshot-ref: empty ref name"));
        }
        if name == MAIN_BRANCH {
            if !reference.is_branch() {
                return Err(Error::invalid(
                    "set-snapshot-ref: `main` must be a branch, not a tag",
                ));
            }
            let ts = if self.added_snapshot_ids.contains(&id) {
                snapshot.timestamp_ms
            } else {
                PENDING_TIMESTAMP
            };
            self.metadata.current_snapshot_id = Some(id);
            self.metadata.snapshot_log.push(SnapshotLog {
                snapshot_id: id,
                timestamp_ms: ts,
            });
        }
        self.record(TableUpdate::set_snapshot_ref(name, &reference));
        self.metadata.refs.insert(name.to_string(), reference);
        Ok(())
    }

    /// `remove-snapshot-ref`: removing `main` clears the current snapshot. Removing a
    /// missing ref is a no-op.
    pub fn remove_ref(&mut self, name: &str) -> Result<()> {
        if self.metadata.refs.remove(name).is_some() {
            if name == MAIN_BRANCH {
                self.metadata.current_snapshot_id = None;
            }
            self.record(TableUpdate::RemoveSnapshotRef {
                ref_name: name.to_string(),
            });
        }
        Ok(())
    }

    /// `remove-snapshots`: drops the snapshots, their statistics, and the refs pointing
    /// at them. Unknown ids are ignored.
    pub fn remove_snapshots(&mut self, ids: &[i64]) -> Result<()> {
        let mut removed = Vec::new();
        for id in ids {
            if self.metadata.snapshots.remove(id).is_some() {
                removed.push(*id);
            }
        }
        if removed.is_empty() {
            return Ok(());
        }
        let gone: HashSet<i64> = removed.iter().copied().collect();
        self.metadata
            .statistics
            .retain(|s| !gone.contains(&s.snapshot_id));
        self.metadata
            .partition_statistics
            .retain(|s| !gone.contains(&s.snapshot_id));
        let mut dangling: Vec<String> = self
            .metadata
            .refs
            .iter()
            .filter(|(_, r)| gone.contains(&r.snapshot_id))
            .map(|(n, _)| n.clone())
            .collect();
        dangling.sort();
        for name in dangling {
            self.metadata.refs.remove(&name);
            if name == MAIN_BRANCH {
                self.metadata.current_snapshot_id = None;
            }
        }
        self.removed_snapshots = true;
        self.record(TableUpdate::RemoveSnapshots {
            snapshot_ids: removed,
        });
        Ok(())
    }

    /// `set-location`: trailing slashes are dropped; the location must not be empty.
    pub fn set_location(&mut self, location: &str) -> Result<()> {
        let location = location.trim_end_matches('/');
        if location.is_empty() {
            return Err(Error::invalid("set-location: the location is empty"));
        }
        if location == self.metadata.location {
            return Ok(());
        }
        self.metadata.location = location.to_string();
        self.record(TableUpdate::SetLocation {
            location: location.to_string(),
        });
        Ok(())
    }

    /// `set-properties`: reserved properties are never stored; `format-version`
    /// upgrades the format version instead. Only properties whose value changes are
    /// recorded.
    pub fn set_properties(&mut self, updates: &HashMap<String, String>) -> Result<()> {
        if let Some(v) = updates.get(PROPERTY_FORMAT_VERSION) {
            let n: i64 = v.trim().parse().map_err(|_| {
                Error::invalid(format!(
                    "set-properties: `{PROPERTY_FORMAT_VERSION}` must be an integer, got `{v}`"
                ))
            })?;
            self.upgrade_format_version(FormatVersion::try_from(n)?)?;
        }
        let effective: HashMap<String, String> = updates
            .iter()
            .filter(|(k, v)| {
                !RESERVED_PROPERTIES.contains(&k.as_str())
                    && self.metadata.properties.get(*k) != Some(*v)
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if effective.is_empty() {
            return Ok(());
        }
        self.metadata
            .properties
            .extend(effective.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.record(TableUpdate::SetProperties { updates: effective });
        Ok(())
    }

    /// `remove-properties`: only keys that are present are removed and recorded.
    pub fn remove_properties(&mut self, removals: &[String]) -> Result<()> {
        let mut removed = Vec::new();
        for k in removals {
            if self.metadata.properties.remove(k).is_some() {
                removed.push(k.clone());
            }
        }
        if !removed.is_empty() {
            self.record(TableUpdate::RemoveProperties { removals: removed });
        }
        Ok(())
    }

    /// `set-statistics`: replaces the statistics file of its snapshot.
    pub fn set_statistics(&mut self, statistics: StatisticsFile) -> Result<()> {
        if self.metadata.statistics.contains(&statistics) {
            return Ok(());
        }
        self.metadata
            .statistics
            .retain(|s| s.snapshot_id != statistics.snapshot_id);
        self.metadata.statistics.push(statistics.clone());
        self.record(TableUpdate::SetStatistics {
            snapshot_id: Some(statistics.snapshot_id),
            statistics,
        });
        Ok(())
    }

    /// `remove-statistics`: a no-op when the snapshot has none.
    pub fn remove_statistics(&mut self, snapshot_id: i64) -> Result<()> {
        let before = self.metadata.statistics.len();
        self.metadata
            .statistics
            .retain(|s| s.snapshot_id != snapshot_id);
        if self.metadata.statistics.len() != before {
            self.record(TableUpdate::RemoveStatistics { snapshot_id });
        }
        Ok(())
    }

    /// `set-partition-statistics`: replaces the partition statistics file of its
    /// snapshot.
    pub fn set_partition_statistics(&mut self, file: PartitionStatisticsFile) -> Result<()> {
        if self.metadata.partition_statistics.contains(&file) {
            return Ok(());
        }
        self.metadata
            .partition_statistics
            .retain(|s| s.snapshot_id != file.snapshot_id);
        self.metadata.partition_statistics.push(file.clone());
        self.record(TableUpdate::SetPartitionStatistics {
            partition_statistics: file,
        });
        Ok(())
    }

    /// `remove-partition-statistics`: a no-op when the snapshot has none.
    pub fn remove_partition_statistics(&mut self, snapshot_id: i64) -> Result<()> {
        let before = self.metadata.partition_statistics.len();
        self.metadata
            .partition_statistics
            .retain(|s| s.snapshot_id != snapshot_id);
        if self.metadata.partition_statistics.len() != before {
            self.record(TableUpdate::RemovePartitionStatistics { snapshot_id });
        }
        Ok(())
    }

    /// `remove-partition-specs`: never the default spec; unknown ids are ignored.
    pub fn remove_partition_specs(&mut self, spec_ids: &[i32]) -> Result<()> {
        if spec_ids.contains(&self.metadata.default_spec_id) {
            return Err(Error::invalid(format!(
                "remove-partition-specs: cannot remove the default partition spec {}",
                self.metadata.default_spec_id
            )));
        }
        let removed: Vec<i32> = spec_ids
            .iter()
            .copied()
            .filter(|id| self.metadata.partition_specs.remove(id).is_some())
            .collect();
        if !removed.is_empty() {
            self.record(TableUpdate::RemovePartitionSpecs { spec_ids: removed });
        }
        Ok(())
    }

    /// `remove-schemas`: never the current schema; unknown ids are ignored.
    pub fn remove_schemas(&mut self, schema_ids: &[i32]) -> Result<()> {
        if schema_ids.contains(&self.metadata.current_schema_id) {
            return Err(Error::invalid(format!(
                "remove-schemas: cannot remove the current schema {}",
                self.metadata.current_schema_id
            )));
        }
        let removed: Vec<i32> = schema_ids
            .iter()
            .copied()
            .filter(|id| self.metadata.schemas.remove(id).is_some())
            .collect();
        if !removed.is_empty() {
            self.record(TableUpdate::RemoveSchemas {
                schema_ids: removed,
            });
        }
        Ok(())
    }

    /// Finalizes the metadata at commit time `now_ms`. Without changes, the base
    /// metadata is returned as is. Otherwise: the previous metadata file (when known)
    /// is appended to the metadata log, which is trimmed to
    /// `write.metadata.previous-versions-max` (default 100) entries, the trimmed ones
    /// reported; the snapshot log drops intermediate snapshots of this commit and the
    /// history before removed snapshots; `last-updated-ms` is `now_ms`, but never
    /// earlier than the newest log entry; the result must pass
    /// [`TableMetadata::validate`].
    pub fn build(self, now_ms: i64) -> Result<TableMetadataBuildResult> {
        if self.changes.is_empty()
            && let Some(base) = self.base
        {
            return Ok(TableMetadataBuildResult {
                metadata: base,
                changes: Vec::new(),
                expired_metadata_logs: Vec::new(),
            });
        }
        let Self {
            base,
            previous_location,
            mut metadata,
            changes,
            added_snapshot_ids,
            removed_snapshots,
            ..
        } = self;

        if base.is_none() {
            finish_create(&mut metadata)?;
        }
        let schema = metadata
            .schemas
            .get(&metadata.current_schema_id)
            .cloned()
            .ok_or_else(|| {
                Error::invalid(format!(
                    "table metadata: current-schema-id {} is not in `schemas`",
                    metadata.current_schema_id
                ))
            })?;
        if let Some(spec) = metadata.partition_specs.get(&metadata.default_spec_id) {
            spec.check_compatible(&schema)?;
        }
        if let Some(order) = metadata.sort_orders.get(&metadata.default_sort_order_id) {
            order.check_compatible(&schema)?;
        }

        // Metadata log.
        let mut expired = Vec::new();
        if let (Some(base), Some(prev)) = (&base, previous_location) {
            let max = metadata
                .properties
                .get(PROPERTY_METADATA_PREVIOUS_VERSIONS_MAX)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(DEFAULT_METADATA_PREVIOUS_VERSIONS_MAX)
                .max(1);
            let max = usize::try_from(max).unwrap_or(usize::MAX);
            let mut log = base.metadata_log.clone();
            if log.len() >= max {
                let cut = log.len() - max + 1;
                expired = log.drain(..cut).collect();
            }
            log.push(MetadataLog {
                metadata_file: prev,
                timestamp_ms: base.last_updated_ms,
            });
            metadata.metadata_log = log;
        }

        // Snapshot log: drop intermediate snapshots of this commit, and the history
        // before any entry whose snapshot was removed.
        let current = metadata.current_snapshot_id;
        let intermediate: HashSet<i64> = changes
            .iter()
            .filter_map(|c| match c {
                TableUpdate::SetSnapshotRef {
                    ref_name,
                    snapshot_id,
                    ..
                } if ref_name == MAIN_BRANCH
                    && added_snapshot_ids.contains(snapshot_id)
                    && Some(*snapshot_id) != current =>
                {
                    Some(*snapshot_id)
                }
                _ => None,
            })
            .collect();
        if !intermediate.is_empty() || removed_snapshots {
            let mut log = Vec::with_capacity(metadata.snapshot_log.len());
            for entry in &metadata.snapshot_log {
                if metadata.snapshots.contains_key(&entry.snapshot_id) {
                    if !intermediate.contains(&entry.snapshot_id) {
                        log.push(entry.clone());
                    }
                } else if removed_snapshots {
                    log.clear();
                }
            }
            if let (Some(cur), Some(last)) = (current, log.last())
                && last.snapshot_id != cur
            {
                return Err(Error::invalid(format!(
                    "table metadata: the latest snapshot-log entry ({}) is not the current snapshot ({cur})",
                    last.snapshot_id
                )));
            }
            metadata.snapshot_log = log;
        }

        let newest_log = metadata
            .snapshot_log
            .iter()
            .map(|e| e.timestamp_ms)
            .filter(|t| *t != PENDING_TIMESTAMP)
            .chain(metadata.metadata_log.iter().map(|e| e.timestamp_ms))
            .max();
        let last_updated = newest_log.map_or(now_ms, |t| t.max(now_ms));
        for entry in &mut metadata.snapshot_log {
            if entry.timestamp_ms == PENDING_TIMESTAMP {
                entry.timestamp_ms = last_updated;
            }
        }
        metadata.last_updated_ms = last_updated;
        metadata.validate()?;
        Ok(TableMetadataBuildResult {
            metadata,
            changes,
            expired_metadata_logs: expired,
        })
    }
}

/// Completes the metadata of a table created by commit: ids left unset fall back to 0
/// when that id exists (as Java's builder, whose ids start at 0), the UUID is generated
/// if none was assigned, and schema, spec, order and location must be present.
fn finish_create(metadata: &mut TableMetadata) -> Result<()> {
    if metadata.schemas.is_empty() {
        return Err(Error::invalid(
            "create table: the updates add no schema (add-schema is required)",
        ));
    }
    if metadata.partition_specs.is_empty() {
        return Err(Error::invalid(
            "create table: the updates add no partition spec (add-spec is required)",
        ));
    }
    if metadata.sort_orders.is_empty() {
        return Err(Error::invalid(
            "create table: the updates add no sort order (add-sort-order is required)",
        ));
    }
    if metadata.location.is_empty() {
        return Err(Error::invalid(
            "create table: the updates set no location (set-location is required)",
        ));
    }
    if metadata.current_schema_id == UNSET_ID && metadata.schemas.contains_key(&0) {
        metadata.current_schema_id = 0;
    }
    if metadata.default_spec_id == UNSET_ID && metadata.partition_specs.contains_key(&0) {
        metadata.default_spec_id = 0;
    }
    if metadata.default_sort_order_id == i64::from(UNSET_ID)
        && metadata.sort_orders.contains_key(&0)
    {
        metadata.default_sort_order_id = 0;
    }
    if metadata.table_uuid.is_nil() {
        metadata.table_uuid = Uuid::new_v4();
    }
    Ok(())
}

/// Rejects schemas that need a newer format version than `version` (v3 types and
/// initial defaults in v1/v2 tables), as Java's `Schema.checkCompatibility`.
fn check_schema_for_version(schema: &Schema, version: FormatVersion) -> Result<()> {
    if version >= FormatVersion::V3 {
        return Ok(());
    }
    let mut ids: Vec<i32> = schema.field_ids().collect();
    ids.sort_unstable();
    for id in ids {
        let Some(field) = schema.field_by_id(id) else {
            continue;
        };
        let name = schema.name_by_id(id).unwrap_or(&field.name);
        if let Some(p) = field.field_type.as_primitive()
            && matches!(
                p,
                PrimitiveType::TimestampNs | PrimitiveType::TimestamptzNs | PrimitiveType::Unknown
            )
        {
            return Err(Error::invalid(format!(
                "add-schema: column `{name}` has type {p}, which needs format version 3 (table is v{})",
                version.number()
            )));
        }
        if field.initial_default.is_some() {
            return Err(Error::invalid(format!(
                "add-schema: column `{name}` has an initial-default, which needs format version 3 (table is v{})",
                version.number()
            )));
        }
    }
    Ok(())
}

/// Resolves `-1` ([`LAST_ADDED`]) in a `set-current-schema` / `set-default-spec` /
/// `set-default-sort-order` update to the id this builder added last.
fn resolve_last_added<T>(requested: T, last_added: Option<T>, action: &str, what: &str) -> Result<T>
where
    T: Copy + PartialEq + From<i32>,
{
    if requested == T::from(LAST_ADDED) {
        last_added.ok_or_else(|| {
            Error::invalid(format!(
                "{action}: cannot set the last added {what} (-1): no {what} has been added"
            ))
        })
    } else {
        Ok(requested)
    }
}

/// The id to record in the update: `-1` when it names the one this builder added last and
/// recorded (so a replayed change list refers to what it adds), else the id itself.
fn recorded_id<T>(id: T, last_added: Option<T>, recorded: &HashSet<T>) -> T
where
    T: Copy + Eq + std::hash::Hash + From<i32>,
{
    if last_added == Some(id) && recorded.contains(&id) {
        T::from(LAST_ADDED)
    } else {
        id
    }
}
