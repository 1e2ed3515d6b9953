//! A table's maintenance debt, measured cheaply: the snapshot list from the metadata,
//! the manifest count and file counts from the current manifest list (one small Avro
//! file), and — only when the counts say compaction may be due — file sizes from the
//! data manifests.
//!
//! [`TableDebt::due`] compares the debt with a [`Policy`] and returns the actions to
//! enqueue, each with a debt score (higher runs first among scheduled tasks).

use floe_spec::manifest::{DataContentType, ManifestContentType};
use floe_table::Table;

use super::action::Action;
use super::policy::Policy;

/// What a table owes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TableDebt {
    /// Live data files of the current snapshot.
    pub data_files: u64,
    /// Of those, the small ones (counted only when `data_files` reaches the policy's
    /// `min-small-files`; otherwise 0).
    pub small_files: u64,
    /// Bytes in the small files.
    pub small_file_bytes: u64,
    /// Live delete files of the current snapshot.
    pub delete_files: u64,
    /// Manifests of the current snapshot.
    pub manifests: u64,
    /// Snapshots in the metadata.
    pub snapshots: u64,
    /// Age of the oldest snapshot, in ms (0 without snapshots).
    pub oldest_snapshot_age_ms: i64,
}

fn count(n: Option<i32>) -> u64 {
    n.map_or(0, |n| u64::try_from(n).unwrap_or(0))
}

impl TableDebt {
    /// Measures `table` (as loaded) at `now_ms` under `policy`.
    pub async fn measure(table: &Table, policy: &Policy, now_ms: i64) -> floe_table::Result<Self> {
        let metadata = table.metadata();
        let snapshots = metadata.snapshots();
        let oldest = snapshots.values().map(|s| s.timestamp_ms).min();
        let mut debt = Self {
            snapshots: snapshots.len() as u64,
            oldest_snapshot_age_ms: oldest.map_or(0, |t| (now_ms - t).max(0)),
            ..Self::default()
        };
        let manifests = table.manifests(None).await?;
        debt.manifests = manifests.len() as u64;
        for m in &manifests {
            let live = count(m.added_files_count) + count(m.existing_files_count);
            match m.content {
                ManifestContentType::Data => debt.data_files += live,
                ManifestContentType::Deletes => debt.delete_files += live,
            }
        }
        if debt.data_files >= policy.compact_min_small_files {
            for m in manifests
                .iter()
                .filter(|m| m.content == ManifestContentType::Data)
            {
                for e in table.manifest_entries(m).await? {
                    let f = &e.data_file;
                    if e.is_alive()
                        && f.content == DataContentType::Data
                        && f.file_size_in_bytes < policy.compact_small_file_bytes
                    {
                        debt.small_files += 1;
                        debt.small_file_bytes += u64::try_from(f.file_size_in_bytes).unwrap_or(0);
                    }
                }
            }
        }
        Ok(debt)
    }

    /// The actions `policy` asks for, with their debt scores. Orphan removal is due
    /// when it last succeeded `orphan_age_ms` ago or longer (`None`: never ran).
    pub fn due(&self, policy: &Policy, orphan_age_ms: Option<i64>) -> Vec<(Action, i64)> {
        let score = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let mut out = Vec::new();
        let delete_ratio = if self.data_files == 0 {
            0.0
        } else {
            self.delete_files as f64 / self.data_files as f64
        };
        let delete_debt = self.delete_files > 0 && delete_ratio >= policy.compact_max_delete_ratio;
        if self.small_files >= policy.compact_min_small_files || delete_debt {
            out.push((
                Action::Compact,
                score(self.small_files + 4 * self.delete_files),
            ));
        }
        if self.manifests >= policy.rewrite_min_manifests {
            out.push((Action::RewriteManifests, score(self.manifests)));
        }
        let too_many = self.snapshots > policy.expire_max_snapshots;
        let too_old = self.snapshots > policy.expire_retain_last
            && self.oldest_snapshot_age_ms > policy.expire_max_age_ms;
        if too_many || too_old {
            out.push((
                Action::ExpireSnapshots,
                score(self.snapshots.saturating_sub(policy.expire_retain_last) / 10),
            ));
        }
        if policy.orphan_interval_ms > 0
            && orphan_age_ms.is_none_or(|age| age >= policy.orphan_interval_ms)
        {
            out.push((Action::RemoveOrphanFiles, 0));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn policy() -> Policy {
        Policy::from_properties(&HashMap::new()).unwrap()
    }

    #[test]
    fn nothing_due_on_a_healthy_table() {
        let debt = TableDebt {
            data_files: 3,
            manifests: 2,
            snapshots: 5,
            oldest_snapshot_age_ms: 1000,
            ..TableDebt::default()
        };
        assert_eq!(debt.due(&policy(), Some(1000)), vec![]);
    }

    #[test]
    fn each_threshold_triggers_its_action() {
        let p = policy();
        let small = TableDebt {
            data_files: 12,
            small_files: 10,
            ..TableDebt::default()
        };
        assert_eq!(small.due(&p, Some(0)), vec![(Action::Compact, 10)]);
        let deletes = TableDebt {
            data_files: 10,
            delete_files: 2,
            ..TableDebt::default()
        };
        assert_eq!(deletes.due(&p, Some(0)), vec![(Action::Compact, 8)]);
        let manifests = TableDebt {
            manifests: 5,
            ..TableDebt::default()
        };
        assert_eq!(
            manifests.due(&p, Some(0)),
            vec![(Action::RewriteManifests, 5)]
        );
        let many = TableDebt {
            snapshots: 101,
            ..TableDebt::default()
        };
        assert_eq!(many.due(&p, Some(0)), vec![(Action::ExpireSnapshots, 10)]);
        let old = TableDebt {
            snapshots: 2,
            oldest_snapshot_age_ms: p.expire_max_age_ms + 1,
            ..TableDebt::default()
        };
        assert_eq!(old.due(&p, Some(0)), vec![(Action::ExpireSnapshots, 0)]);
        let single_old = TableDebt {
            snapshots: 1,
            oldest_snapshot_age_ms: p.expire_max_age_ms + 1,
            ..TableDebt::default()
        };
        assert_eq!(single_old.due(&p, Some(0)), vec![], "keeps the last one");
        assert_eq!(
            TableDebt::default().due(&p, None),
            vec![(Action::RemoveOrphanFiles, 0)]
        );
        assert_eq!(
            TableDebt::default().due(&p, Some(p.orphan_interval_ms)),
            vec![(Action::RemoveOrphanFiles, 0)]
        );
    }
}
