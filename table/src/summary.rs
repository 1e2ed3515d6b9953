//! Snapshot summaries (spec Appendix F): what a snapshot added and removed, and the
//! table totals after it.
//!
//! A [`SummaryBuilder`] collects the files a snapshot adds and removes; [`SummaryBuilder::build`]
//! turns them into the summary's string properties, with `total-*` = the previous
//! snapshot's total + added − removed (totals are left out when the previous snapshot
//! has none, as Java does for tables written by engines that skip them).
//!
//! ```
//! use std::collections::HashMap;
//! use floe_spec::manifest::{DataFile, DataFileFormat};
//! use floe_table::summary::SummaryBuilder;
//!
//! let mut b = SummaryBuilder::default();
//! b.add_file(&DataFile::new(DataFileFormat::Parquet, "s3://b/t/data/a.parquet", 10, 100), 0);
//! let props = b.build(Some(&HashMap::new()));
//! assert_eq!(props["added-records"], "10");
//! assert_eq!(props["total-records"], "10");
//! assert_eq!(props["changed-partition-count"], "1");
//! ```

use std::collections::{HashMap, HashSet};

use floe_spec::manifest::{DataContentType, DataFile};
use floe_spec::values::Datum;

/// Counts of the files a snapshot adds or removes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Counts {
    data_files: i64,
    delete_files: i64,
    position_delete_files: i64,
    equality_delete_files: i64,
    records: i64,
    files_size: i64,
    position_deletes: i64,
    equality_deletes: i64,
}

impl Counts {
    fn add(&mut self, file: &DataFile) {
        self.files_size = self.files_size.saturating_add(file.file_size_in_bytes);
        match file.content {
            DataContentType::Data => {
                self.data_files += 1;
                self.records = self.records.saturating_add(file.record_count);
            }
            DataContentType::PositionDeletes => {
                self.delete_files += 1;
                self.position_delete_files += 1;
                self.position_deletes = self.position_deletes.saturating_add(file.record_count);
            }
            DataContentType::EqualityDeletes => {
                self.delete_files += 1;
                self.equality_delete_files += 1;
                self.equality_deletes = self.equality_deletes.saturating_add(file.record_count);
            }
        }
    }
}

/// Collects a snapshot's added and removed files and builds its summary properties.
#[derive(Debug, Clone, Default)]
pub struct SummaryBuilder {
    added: Counts,
    removed: Counts,
    partitions: HashSet<(i32, Vec<Option<Datum>>)>,
    extra: HashMap<String, String>,
}

/// Summary keys of totals, with the added and removed keys they follow.
const TOTALS: [(&str, &str, &str); 6] = [
    ("total-data-files", "added-data-files", "deleted-data-files"),
    (
        "total-delete-files",
        "added-delete-files",
        "removed-delete-files",
    ),
    ("total-records", "added-records", "deleted-records"),
    ("total-files-size", "added-files-size", "removed-files-size"),
    (
        "total-position-deletes",
        "added-position-deletes",
        "removed-position-deletes",
    ),
    (
        "total-equality-deletes",
        "added-equality-deletes",
        "removed-equality-deletes",
    ),
];

impl SummaryBuilder {
    /// Records a file added by the snapshot (`spec_id` is its partition spec).
    pub fn add_file(&mut self, file: &DataFile, spec_id: i32) {
        self.added.add(file);
        self.partitions.insert((spec_id, file.partition.clone()));
    }

    /// Records a file removed by the snapshot.
    pub fn remove_file(&mut self, file: &DataFile, spec_id: i32) {
        self.removed.add(file);
        self.partitions.insert((spec_id, file.partition.clone()));
    }

    /// Sets an extra summary property (`manifests-created`, `engine-name`, ...).
    pub fn set(&mut self, key: &str, value: &impl ToString) {
        self.extra.insert(key.to_string(), value.to_string());
    }

    /// The summary properties (without `operation`). `previous` is the summary of the
    /// parent snapshot (`Some(empty)` for a table without snapshots); totals are computed
    /// from it, and left out when it lacks them.
    pub fn build(&self, previous: Option<&HashMap<String, String>>) -> HashMap<String, String> {
        let mut out = self.extra.clone();
        let mut put = |k: &str, v: i64| {
            if v > 0 {
                out.insert(k.to_string(), v.to_string());
            }
        };
        let (a, r) = (&self.added, &self.removed);
        put("added-data-files", a.data_files);
        put("deleted-data-files", r.data_files);
        put("added-delete-files", a.delete_files);
        put("removed-delete-files", r.delete_files);
        put("added-position-delete-files", a.position_delete_files);
        put("removed-position-delete-files", r.position_delete_files);
        put("added-equality-delete-files", a.equality_delete_files);
        put("removed-equality-delete-files", r.equality_delete_files);
        put("added-records", a.records);
        put("deleted-records", r.records);
        put("added-files-size", a.files_size);
        put("removed-files-size", r.files_size);
        put("added-position-deletes", a.position_deletes);
        put("removed-position-deletes", r.position_deletes);
        put("added-equality-deletes", a.equality_deletes);
        put("removed-equality-deletes", r.equality_deletes);
        out.insert(
            "changed-partition-count".to_string(),
            self.partitions.len().to_string(),
        );
        set_totals(&mut out, previous);
        out
    }
}

/// Sets the `total-*` properties of a summary that already holds its `added-*` and
/// `removed-*`/`deleted-*` counts: `total = previous total + added − removed`, where
/// `previous` is the summary of the parent snapshot (`Some(empty)` for a table without
/// snapshots). A total the parent lacks is removed, as [`SummaryBuilder::build`] leaves
/// it out.
///
/// This is how a snapshot moved onto another parent (a rebased append) gets its totals
/// from its new parent.
///
/// ```
/// use std::collections::HashMap;
/// use floe_table::summary::set_totals;
///
/// let mut s = HashMap::from([
///     ("added-records".to_string(), "5".to_string()),
///     ("total-records".to_string(), "5".to_string()),
/// ]);
/// let parent = HashMap::from([("total-records".to_string(), "40".to_string())]);
/// set_totals(&mut s, Some(&parent));
/// assert_eq!(s["total-records"], "45");
/// ```
#[allow(clippy::implicit_hasher)] // summaries are plain `HashMap`s
pub fn set_totals(
    summary: &mut HashMap<String, String>,
    previous: Option<&HashMap<String, String>>,
) {
    let previous_is_empty = previous.is_some_and(HashMap::is_empty);
    for (total, added, removed) in TOTALS {
        let prev = match previous.and_then(|p| p.get(total)) {
            Some(v) => v.parse::<i64>().ok(),
            None if previous_is_empty => Some(0),
            None => None,
        };
        let Some(prev) = prev else {
            summary.remove(total);
            continue;
        };
        let get = |k: &str| {
            summary
                .get(k)
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0)
        };
        let value = prev
            .saturating_add(get(added))
            .saturating_sub(get(removed))
            .max(0);
        summary.insert(total.to_string(), value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use floe_spec::manifest::DataFileFormat;

    use super::*;

    #[test]
    fn totals_follow_the_previous_snapshot() {
        let mut b = SummaryBuilder::default();
        let f = DataFile::new(DataFileFormat::Parquet, "a", 5, 50);
        let d = DataFile::new(DataFileFormat::Parquet, "d", 2, 20)
            .with_content(DataContentType::PositionDeletes);
        b.add_file(&f, 0);
        b.add_file(&d, 0);
        let prev: HashMap<String, String> = [
            ("total-records", "10"),
            ("total-data-files", "1"),
            ("total-delete-files", "0"),
            ("total-files-size", "100"),
            ("total-position-deletes", "0"),
            ("total-equality-deletes", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let s = b.build(Some(&prev));
        assert_eq!(s["total-records"], "15");
        assert_eq!(s["total-data-files"], "2");
        assert_eq!(s["total-delete-files"], "1");
        assert_eq!(s["total-position-deletes"], "2");
        assert_eq!(s["total-files-size"], "170");
        assert_eq!(s["added-position-delete-files"], "1");
        let s = b.build(Some(&HashMap::from([(
            "total-records".to_string(),
            "1".to_string(),
        )])));
        assert!(!s.contains_key("total-data-files"));
    }
}
