//! Maintenance policies from table properties.
//!
//! | Property | Default | Meaning |
//! |---|---|---|
//! | `floe.maintenance.enabled` | `true` | `false`: the scheduler leaves the table alone (manual requests still run) |
//! | `floe.maintenance.compact.min-small-files` | `10` | compact when at least this many live data files are small |
//! | `floe.maintenance.compact.small-file-bytes` | ¾ of `write.target-file-size-bytes` (512 MiB) | a data file below this size is small |
//! | `floe.maintenance.compact.max-delete-ratio` | `0.2` | compact when delete files / data files reaches this (and there are delete files) |
//! | `floe.maintenance.rewrite-manifests.min-manifests` | `5` | rewrite manifests when the current snapshot has at least this many |
//! | `floe.maintenance.expire-snapshots.max-snapshots` | `100` | expire when the table holds more snapshots than this |
//! | `floe.maintenance.expire-snapshots.max-age-ms` | `history.expire.max-snapshot-age-ms` (5 days) | expire when the oldest snapshot is older than this |
//! | `floe.maintenance.expire-snapshots.retain-last` | `history.expire.min-snapshots-to-keep` (1) | snapshots an expiry keeps at least |
//! | `floe.maintenance.remove-orphan-files.interval-ms` | `86400000` (1 day) | remove orphan files at most this often (`0` = never by the scheduler) |
//!
//! The defaults suit a stream that commits every few seconds: small files are folded
//! after ten commits, manifests after five, and snapshots beyond a hundred are expired.
//! A property that does not parse is an error naming it; the scheduler then skips the
//! table and logs the error.
//!
//! ```
//! use std::collections::HashMap;
//! use floe_server::maintenance::policy::Policy;
//! let props = HashMap::from([("floe.maintenance.compact.min-small-files".to_owned(), "4".to_owned())]);
//! let p = Policy::from_properties(&props).unwrap();
//! assert_eq!(p.compact_min_small_files, 4);
//! assert!(p.enabled);
//! ```

use std::collections::HashMap;
use std::str::FromStr;

/// Property: whether the scheduler maintains the table.
pub const ENABLED: &str = "floe.maintenance.enabled";
/// Property: small data files that trigger compaction.
pub const COMPACT_MIN_SMALL_FILES: &str = "floe.maintenance.compact.min-small-files";
/// Property: the size below which a data file is small.
pub const COMPACT_SMALL_FILE_BYTES: &str = "floe.maintenance.compact.small-file-bytes";
/// Property: delete files per data file that trigger compaction.
pub const COMPACT_MAX_DELETE_RATIO: &str = "floe.maintenance.compact.max-delete-ratio";
/// Property: manifests that trigger a manifest rewrite.
pub const REWRITE_MANIFESTS_MIN_MANIFESTS: &str =
    "floe.maintenance.rewrite-manifests.min-manifests";
/// Property: snapshots that trigger expiry.
pub const EXPIRE_MAX_SNAPSHOTS: &str = "floe.maintenance.expire-snapshots.max-snapshots";
/// Property: snapshot age that triggers expiry.
pub const EXPIRE_MAX_AGE_MS: &str = "floe.maintenance.expire-snapshots.max-age-ms";
/// Property: snapshots an expiry keeps.
pub const EXPIRE_RETAIN_LAST: &str = "floe.maintenance.expire-snapshots.retain-last";
/// Property: how often orphan files are removed.
pub const ORPHAN_INTERVAL_MS: &str = "floe.maintenance.remove-orphan-files.interval-ms";

const TARGET_FILE_SIZE: &str = "write.target-file-size-bytes";
const DEFAULT_TARGET_FILE_SIZE: i64 = 512 * 1024 * 1024;
const HISTORY_MAX_AGE: &str = "history.expire.max-snapshot-age-ms";
const DEFAULT_MAX_AGE_MS: i64 = 5 * 24 * 3600 * 1000;
const HISTORY_MIN_KEEP: &str = "history.expire.min-snapshots-to-keep";

/// A table's maintenance policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The scheduler maintains the table.
    pub enabled: bool,
    /// Small data files that trigger compaction.
    pub compact_min_small_files: u64,
    /// Data files below this size are small.
    pub compact_small_file_bytes: i64,
    /// Delete files per data file that trigger compaction.
    pub compact_max_delete_ratio: f64,
    /// Manifests that trigger a rewrite.
    pub rewrite_min_manifests: u64,
    /// More snapshots than this trigger expiry.
    pub expire_max_snapshots: u64,
    /// A snapshot older than this triggers expiry.
    pub expire_max_age_ms: i64,
    /// Snapshots an expiry keeps.
    pub expire_retain_last: u64,
    /// Orphan removal at most this often; 0 = never.
    pub orphan_interval_ms: i64,
}

fn get<T: FromStr>(props: &HashMap<String, String>, key: &str, default: T) -> Result<T, String> {
    match props.get(key) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("table property `{key}` has an invalid value `{v}`")),
    }
}

impl Policy {
    /// The policy of a table with `props`.
    pub fn from_properties(props: &HashMap<String, String>) -> Result<Self, String> {
        let target: i64 = get(props, TARGET_FILE_SIZE, DEFAULT_TARGET_FILE_SIZE)?;
        let max_age: i64 = get(props, HISTORY_MAX_AGE, DEFAULT_MAX_AGE_MS)?;
        let min_keep: u64 = get(props, HISTORY_MIN_KEEP, 1)?;
        let policy = Self {
            enabled: get(props, ENABLED, true)?,
            compact_min_small_files: get(props, COMPACT_MIN_SMALL_FILES, 10)?,
            compact_small_file_bytes: get(props, COMPACT_SMALL_FILE_BYTES, target / 4 * 3)?,
            compact_max_delete_ratio: get(props, COMPACT_MAX_DELETE_RATIO, 0.2)?,
            rewrite_min_manifests: get(props, REWRITE_MANIFESTS_MIN_MANIFESTS, 5)?,
            expire_max_snapshots: get(props, EXPIRE_MAX_SNAPSHOTS, 100)?,
            expire_max_age_ms: get(props, EXPIRE_MAX_AGE_MS, max_age)?,
            expire_retain_last: get(props, EXPIRE_RETAIN_LAST, min_keep)?,
            orphan_interval_ms: get(props, ORPHAN_INTERVAL_MS, 86_400_000)?,
        };
        if policy.compact_min_small_files < 2 {
            return Err(format!(
                "table property `{COMPACT_MIN_SMALL_FILES}` must be at least 2"
            ));
        }
        if policy.rewrite_min_manifests < 2 {
            return Err(format!(
                "table property `{REWRITE_MANIFESTS_MIN_MANIFESTS}` must be at least 2"
            ));
        }
        if policy.expire_retain_last < 1 {
            return Err(format!(
                "table property `{EXPIRE_RETAIN_LAST}` must be at least 1"
            ));
        }
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_follow_iceberg_properties() {
        let p = Policy::from_properties(&HashMap::new()).unwrap();
        assert!(p.enabled);
        assert_eq!(p.compact_small_file_bytes, 384 * 1024 * 1024);
        assert_eq!(p.expire_max_age_ms, DEFAULT_MAX_AGE_MS);
        assert_eq!(p.expire_retain_last, 1);
        let p = Policy::from_properties(&props(&[
            ("write.target-file-size-bytes", "1000"),
            ("history.expire.max-snapshot-age-ms", "60000"),
            ("history.expire.min-snapshots-to-keep", "3"),
            ("floe.maintenance.enabled", "false"),
        ]))
        .unwrap();
        assert!(!p.enabled);
        assert_eq!(p.compact_small_file_bytes, 750);
        assert_eq!(p.expire_max_age_ms, 60_000);
        assert_eq!(p.expire_retain_last, 3);
    }

    #[test]
    fn bad_values_name_the_property() {
        let e = Policy::from_properties(&props(&[(COMPACT_MIN_SMALL_FILES, "many")])).unwrap_err();
        assert!(
            e.contains(COMPACT_MIN_SMALL_FILES) && e.contains("many"),
            "{e}"
        );
        assert!(Policy::from_properties(&props(&[(ENABLED, "maybe")])).is_err());
        assert!(
            Policy::from_properties(&props(&[(REWRITE_MANIFESTS_MIN_MANIFESTS, "1")])).is_err()
        );
    }
}
