//! [`apply_commit`]: the pure commit function (Java `CatalogHandlers.updateTable`).

use crate::commit::builder::TableMetadataBuilder;
use crate::commit::requirement::TableRequirement;
use crate::commit::update::TableUpdate;
use crate::error::{Error, ErrorKind, Result};
use crate::table_metadata::{FormatVersion, MetadataLog, TableMetadata};

/// The result of [`apply_commit`].
#[derive(Debug, Clone, PartialEq)]
pub struct CommitOutcome {
    /// The new metadata (the current one when nothing changed).
    pub metadata: TableMetadata,
    /// Whether anything changed. When false the catalog answers with the current
    /// metadata and writes no file.
    pub changed: bool,
    /// The effective changes, in order.
    pub changes: Vec<TableUpdate>,
    /// Metadata-log entries trimmed away by `write.metadata.previous-versions-max`.
    pub expired_metadata_logs: Vec<MetadataLog>,
}

/// Applies a commit to the current metadata of a table (`None` = the table does not
/// exist; `current_location` = the file it was read from, which joins the metadata log).
///
/// All requirements are checked first (any failure: `CommitFailed`, nothing applied),
/// then the updates are applied in order and the result is finalized at `now_ms`. A
/// commit with `assert-create` creates the table: it must be the only requirement and
/// `current` must be `None`. Without `assert-create`, `current == None` is a
/// `NoSuchTable` error. See the module docs for the atomicity contract.
pub fn apply_commit(
    current: Option<&TableMetadata>,
    current_location: Option<&str>,
    requirements: &[TableRequirement],
    updates: &[TableUpdate],
    now_ms: i64,
) -> Result<CommitOutcome> {
    let is_create = requirements
        .iter()
        .any(|r| matches!(r, TableRequirement::AssertCreate));
    if is_create && requirements.len() > 1 {
        let others: Vec<&str> = requirements
            .iter()
            .filter(|r| !matches!(r, TableRequirement::AssertCreate))
            .map(TableRequirement::name)
            .collect();
        return Err(Error::invalid(format!(
            "invalid create requirements: assert-create must be the only requirement, got also {others:?}"
        )));
    }
    for requirement in requirements {
        requirement.check(current)?;
    }
    let mut builder = match current {
        Some(meta) => match current_location {
            Some(loc) => TableMetadataBuilder::new_from(meta, loc),
            None => TableMetadataBuilder::from(meta),
        },
        None if is_create => {
            // Start at the requested format version so that v1 creates are no downgrade.
            let version = updates
                .iter()
                .find_map(|u| match u {
                    TableUpdate::UpgradeFormatVersion { format_version } => {
                        Some(FormatVersion::try_from(i64::from(*format_version)))
                    }
                    _ => None,
                })
                .transpose()?
                .unwrap_or(FormatVersion::V2);
            TableMetadataBuilder::empty(version)
        }
        None => {
            return Err(Error::new(
                ErrorKind::NoSuchTable,
                "the table does not exist; only a commit with assert-create can create it",
            ));
        }
    };
    for (i, update) in updates.iter().enumerate() {
        update.apply(&mut builder).map_err(|e| {
            let msg = format!("update {i} ({}): {}", update.action(), e.message());
            Error::new(e.kind(), msg)
        })?;
    }
    let built = builder.build(now_ms)?;
    Ok(CommitOutcome {
        changed: !built.changes.is_empty(),
        metadata: built.metadata,
        changes: built.changes,
        expired_metadata_logs: built.expired_metadata_logs,
    })
}
