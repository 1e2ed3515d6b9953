//! Creating a table: fresh ids for the schema, spec and sort order, and the update list
//! of a staged create (Java `TableMetadata.newTableMetadata`, PyIceberg's
//! `create_table_transaction`).

use std::collections::HashMap;

use uuid::Uuid;

use crate::commit::builder::{LAST_ADDED, TableMetadataBuilder};
use crate::commit::update::TableUpdate;
use crate::commit::{PROPERTY_FORMAT_VERSION, RESERVED_PROPERTIES};
use crate::error::{Error, Result};
use crate::partition::{UnboundPartitionField, UnboundPartitionSpec};
use crate::schema::Schema;
use crate::sort::{SortField, SortOrder};
use crate::table_metadata::FormatVersion;

impl TableMetadataBuilder {
    /// A builder for a new table: column ids are assigned afresh from 1 (schema id 0),
    /// the spec and sort order are remapped to them, partition field ids start at 1000
    /// (spec id 0), the order id is 1 if sorted else 0, the format version comes from
    /// the `format-version` property (default 2), reserved properties are not stored,
    /// and the UUID is a new random one.
    ///
    /// The recorded changes are what PyIceberg sends for a staged create: `assign-uuid`,
    /// `upgrade-format-version`, `add-schema`, `set-current-schema -1`, `add-spec`,
    /// `set-default-spec -1`, `add-sort-order`, `set-default-sort-order -1`,
    /// `set-location`, `set-properties`.
    #[allow(clippy::needless_pass_by_value)] // owned inputs: the catalog hands them over
    pub fn new_table(
        schema: Schema,
        spec: UnboundPartitionSpec,
        sort_order: SortOrder,
        location: String,
        properties: HashMap<String, String>,
    ) -> Result<Self> {
        let format_version = match properties.get(PROPERTY_FORMAT_VERSION) {
            None => FormatVersion::V2,
            Some(v) => {
                let n: i64 = v.trim().parse().map_err(|_| {
                    Error::invalid(format!(
                        "create table: property `{PROPERTY_FORMAT_VERSION}` must be an integer, got `{v}`"
                    ))
                })?;
                FormatVersion::try_from(n)?
            }
        };

        let mut last = 0;
        let (fresh, ids) = schema.reassign_field_ids(|| {
            last += 1;
            last
        })?;
        let fresh = fresh.with_schema_id(0);
        let remap = |old: i32, what: &str| {
            ids.get(&old).copied().ok_or_else(|| {
                Error::invalid(format!(
                    "create table: {what} refers to source column {old}, which is not in the schema"
                ))
            })
        };
        let fields = spec
            .fields
            .iter()
            .map(|f| {
                Ok(UnboundPartitionField {
                    source_id: remap(f.source_id, &format!("partition field `{}`", f.name))?,
                    field_id: None,
                    name: f.name.clone(),
                    transform: f.transform,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let spec = UnboundPartitionSpec {
            spec_id: None,
            fields,
        };
        let order = SortOrder {
            order_id: 0,
            fields: sort_order
                .fields
                .iter()
                .map(|f| {
                    Ok(SortField {
                        source_id: remap(f.source_id, "sort field")?,
                        ..f.clone()
                    })
                })
                .collect::<Result<Vec<_>>>()?,
        };

        let mut b = Self::empty(format_version);
        b.assign_uuid(Uuid::new_v4())?;
        b.record(TableUpdate::UpgradeFormatVersion {
            format_version: i32::from(format_version.number()),
        });
        b.add_schema(&fresh, Some(last))?;
        b.set_current_schema(LAST_ADDED)?;
        b.add_partition_spec(&spec)?;
        b.set_default_partition_spec(LAST_ADDED)?;
        b.add_sort_order(&order)?;
        b.set_default_sort_order(i64::from(LAST_ADDED))?;
        b.set_location(&location)?;
        let persisted: HashMap<String, String> = properties
            .into_iter()
            .filter(|(k, _)| !RESERVED_PROPERTIES.contains(&k.as_str()))
            .collect();
        let before = b.changes().len();
        b.set_properties(&persisted)?;
        if b.changes().len() == before {
            // PyIceberg always sends set-properties, even when empty.
            b.record(TableUpdate::SetProperties { updates: persisted });
        }
        Ok(b)
    }
}
