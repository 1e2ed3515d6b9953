//! The commit protocol: requirements, updates, the metadata builder, and the pure
//! commit function that catalogs and the REST server call.
//!
//! A commit is `(requirements, updates)` against one table (REST `CommitTableRequest`).
//! [`apply_commit`] turns the current metadata and a commit into new metadata, without
//! IO:
//!
//! 1. **All** requirements are checked against the current metadata first; any failure
//!    is an [`ErrorKind::CommitFailed`](crate::ErrorKind) error (REST 409) and nothing is
//!    applied.
//! 2. The updates are applied **in order** on a [`TableMetadataBuilder`]; an invalid
//!    update fails the whole commit ([`ErrorKind::DataInvalid`](crate::ErrorKind), 400),
//!    an update built on a stale table (sequence number, first row id, snapshot
//!    timestamp) fails with `CommitFailed` so the client refreshes and retries.
//! 3. The builder finalizes the metadata (`last-updated-ms`, metadata log, snapshot
//!    log) and [`TableMetadata::validate`]s it.
//!
//! # Atomicity contract
//!
//! `apply_commit` is a pure function: it either returns a complete, valid new metadata
//! or an error, and never changes its inputs. Atomicity of the commit as a whole is the
//! catalog's job, by compare-and-swap on the metadata pointer:
//!
//! - read the current metadata and its location `L`;
//! - call `apply_commit`; if [`CommitOutcome::changed`] is false, answer with the
//!   current metadata and write nothing;
//! - otherwise write the new metadata to a **new** file (never overwrite one:
//!   [`metadata_file_location`] with the next version and a fresh UUID);
//! - swap the pointer from `L` to the new file only if it still is `L`. If the swap
//!   loses, reload, and call `apply_commit` again (requirements are re-checked against
//!   the new current metadata, so a conflicting concurrent change fails with 409
//!   instead of being overwritten); the new file of the lost attempt is garbage.
//! - only after a successful swap may the files of
//!   [`CommitOutcome::expired_metadata_logs`] be deleted (when
//!   `write.metadata.delete-after-commit.enabled`).
//!
//! A commit whose requirements include `assert-create` creates the table: `current` must
//! be `None`, `assert-create` must be the only requirement, and the updates must add a
//! schema, a partition spec and a sort order and set the location (PyIceberg's staged
//! create). The catalog then inserts the pointer only if the table still does not exist.

mod apply;
mod bind;
mod builder;
mod create;
mod requirement;
mod update;

pub use apply::{CommitOutcome, apply_commit};
pub use builder::{LAST_ADDED, TableMetadataBuildResult, TableMetadataBuilder};
pub use requirement::TableRequirement;
pub use update::{RefType, TableUpdate};

use uuid::Uuid;

/// Table property: the format version of a new table (reserved: never stored).
pub const PROPERTY_FORMAT_VERSION: &str = "format-version";

/// Table property: how many previous metadata files the metadata log keeps.
pub const PROPERTY_METADATA_PREVIOUS_VERSIONS_MAX: &str = "write.metadata.previous-versions-max";

/// Default of [`PROPERTY_METADATA_PREVIOUS_VERSIONS_MAX`].
pub const DEFAULT_METADATA_PREVIOUS_VERSIONS_MAX: i64 = 100;

/// Table property: whether metadata files that leave the metadata log are deleted after
/// a commit (default false).
pub const PROPERTY_METADATA_DELETE_AFTER_COMMIT_ENABLED: &str =
    "write.metadata.delete-after-commit.enabled";

/// Table property: whether metadata files are written gzip-compressed (`gzip`) or not
/// (`none`, the default).
pub const PROPERTY_METADATA_COMPRESSION: &str = "write.metadata.compression-codec";

/// Properties that are derived from the metadata and never stored in `properties`
/// (Java `TableProperties.RESERVED_PROPERTIES`).
pub const RESERVED_PROPERTIES: &[&str] = &[
    "format-version",
    "uuid",
    "snapshot-count",
    "current-snapshot-id",
    "current-snapshot-summary",
    "current-snapshot-timestamp-ms",
    "current-schema",
    "default-partition-spec",
    "default-sort-order",
];

/// The location of metadata file `version` of a table:
/// `<location>/metadata/<%05d version>-<uuid>.metadata.json` (`.gz.metadata.json` when
/// gzip-compressed).
pub fn metadata_file_location(
    table_location: &str,
    version: u64,
    uuid: Uuid,
    gzip: bool,
) -> String {
    let ext = if gzip {
        ".gz.metadata.json"
    } else {
        ".metadata.json"
    };
    format!(
        "{}/metadata/{version:05}-{uuid}{ext}",
        table_location.trim_end_matches('/')
    )
}

/// The version of a metadata file from its path: `00042-<uuid>.metadata.json` ⇒ 42;
/// also Hadoop-style `v42.metadata.json` (and the `.gz.metadata.json` forms). `None`
/// when the name has neither form.
pub fn parse_metadata_version(path: &str) -> Option<u64> {
    let name = path.rsplit('/').next()?;
    let stem = name.strip_suffix(".metadata.json")?;
    let stem = stem.strip_suffix(".gz").unwrap_or(stem);
    let digits = if let Some(rest) = stem.strip_prefix('v')
        && !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit())
    {
        rest
    } else {
        let (digits, uuid) = stem.split_once('-')?;
        if uuid.is_empty() {
            return None;
        }
        digits
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests;
