//! Which delete files apply to a data file (the spec's *Scan Planning* rules, as
//! Java's `DeleteFileIndex`):
//!
//! - a deletion vector applies to the data file it references when the data file's
//!   data sequence number is ≤ the vector's; it hides position delete files;
//! - a position delete file applies to data files of the same spec and partition with
//!   data sequence number ≤ its own, narrowed by `referenced_data_file` or by the
//!   bounds of its `file_path` column;
//! - an equality delete file applies to data files with data sequence number < its own,
//!   of the same spec and partition, or to every data file when its spec is
//!   unpartitioned (global deletes).

use std::collections::HashMap;
use std::sync::Arc;

use floe_spec::manifest::{DataContentType, DataFile, DataFileFormat};
use floe_spec::values::Datum;

/// Field id of the `file_path` column of position delete files.
pub(crate) const POS_DELETE_FILE_PATH_ID: i32 = 2_147_483_546;
/// Field id of the `pos` column of position delete files.
pub(crate) const POS_DELETE_POS_ID: i32 = 2_147_483_545;

/// A live delete file with its data sequence number and spec.
#[derive(Debug, Clone)]
pub(crate) struct IndexedDelete {
    pub(crate) file: Arc<DataFile>,
    pub(crate) seq: i64,
}

type PartitionKey = (i32, Vec<Option<Datum>>);

/// The live delete files of a snapshot, indexed for lookup per data file.
#[derive(Debug, Default)]
pub(crate) struct DeleteFileIndex {
    global_eq: Vec<IndexedDelete>,
    eq_by_partition: HashMap<PartitionKey, Vec<IndexedDelete>>,
    pos_by_partition: HashMap<PartitionKey, Vec<IndexedDelete>>,
    pos_by_path: HashMap<String, Vec<IndexedDelete>>,
    dvs: HashMap<String, Vec<IndexedDelete>>,
}

impl DeleteFileIndex {
    /// Indexes delete files: `(file, data sequence number, spec id, spec unpartitioned)`.
    pub(crate) fn new(deletes: impl IntoIterator<Item = (Arc<DataFile>, i64, i32, bool)>) -> Self {
        let mut index = Self::default();
        for (file, seq, spec_id, unpartitioned) in deletes {
            let d = IndexedDelete {
                file: Arc::clone(&file),
                seq,
            };
            match file.content {
                DataContentType::Data => {}
                DataContentType::EqualityDeletes => {
                    if unpartitioned {
                        index.global_eq.push(d);
                    } else {
                        index
                            .eq_by_partition
                            .entry((spec_id, file.partition.clone()))
                            .or_default()
                            .push(d);
                    }
                }
                DataContentType::PositionDeletes => {
                    if file.file_format == DataFileFormat::Puffin {
                        if let Some(path) = &file.referenced_data_file {
                            index.dvs.entry(path.clone()).or_default().push(d);
                        }
                    } else if let Some(path) = &file.referenced_data_file {
                        index.pos_by_path.entry(path.clone()).or_default().push(d);
                    } else {
                        index
                            .pos_by_partition
                            .entry((spec_id, file.partition.clone()))
                            .or_default()
                            .push(d);
                    }
                }
            }
        }
        index
    }

    /// Whether the index holds no delete file.
    pub(crate) fn is_empty(&self) -> bool {
        self.global_eq.is_empty()
            && self.eq_by_partition.is_empty()
            && self.pos_by_partition.is_empty()
            && self.pos_by_path.is_empty()
            && self.dvs.is_empty()
    }

    /// The delete files that apply to `data` (data sequence number `data_seq`, spec
    /// `spec_id`), each once, equality deletes after position deletes.
    pub(crate) fn for_data_file(
        &self,
        data: &DataFile,
        data_seq: i64,
        spec_id: i32,
    ) -> Vec<IndexedDelete> {
        let mut out = Vec::new();
        let key = (spec_id, data.partition.clone());
        let dv: Vec<_> = self
            .dvs
            .get(&data.file_path)
            .into_iter()
            .flatten()
            .filter(|d| data_seq <= d.seq)
            .cloned()
            .collect();
        if dv.is_empty() {
            let by_path = self.pos_by_path.get(&data.file_path).into_iter().flatten();
            let by_partition = self
                .pos_by_partition
                .get(&key)
                .into_iter()
                .flatten()
                .filter(|d| path_in_bounds(&d.file, &data.file_path));
            out.extend(
                by_path
                    .chain(by_partition)
                    .filter(|d| data_seq <= d.seq)
                    .cloned(),
            );
        } else {
            out.extend(dv);
        }
        out.extend(
            self.global_eq
                .iter()
                .chain(self.eq_by_partition.get(&key).into_iter().flatten())
                .filter(|d| data_seq < d.seq)
                .cloned(),
        );
        out
    }
}

/// Whether a position delete file's `file_path` bounds admit `path` (missing bounds
/// admit every path; truncated bounds stay correct: a truncated lower bound is a
/// prefix, a truncated upper bound was incremented).
fn path_in_bounds(delete: &DataFile, path: &str) -> bool {
    let lower_ok = match delete.lower_bounds.get(&POS_DELETE_FILE_PATH_ID) {
        Some(Datum::String(lower)) => path >= lower.as_str(),
        _ => true,
    };
    let upper_ok = match delete.upper_bounds.get(&POS_DELETE_FILE_PATH_ID) {
        Some(Datum::String(upper)) => path <= upper.as_str(),
        _ => true,
    };
    lower_ok && upper_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(path: &str, part: i32) -> DataFile {
        DataFile::new(DataFileFormat::Parquet, path, 10, 100)
            .with_partition(vec![Some(Datum::Int(part))])
    }

    fn del(path: &str, content: DataContentType, part: Option<i32>) -> Arc<DataFile> {
        let f = DataFile::new(DataFileFormat::Parquet, path, 1, 10)
            .with_content(content)
            .with_partition(part.map(|p| vec![Some(Datum::Int(p))]).unwrap_or_default());
        Arc::new(f)
    }

    fn paths(v: &[IndexedDelete]) -> Vec<&str> {
        v.iter().map(|d| d.file.file_path.as_str()).collect()
    }

    #[test]
    fn sequence_number_and_partition_rules() {
        let pos = del("pos", DataContentType::PositionDeletes, Some(1));
        let eq = del("eq", DataContentType::EqualityDeletes, Some(1));
        let global = del("global", DataContentType::EqualityDeletes, None);
        let index =
            DeleteFileIndex::new([(pos, 5, 0, false), (eq, 5, 0, false), (global, 7, 1, true)]);
        // Same commit (seq 5): position delete applies, equality delete does not.
        assert_eq!(
            paths(&index.for_data_file(&data("a", 1), 5, 0)),
            ["pos", "global"]
        );
        // Older data: all apply.
        assert_eq!(
            paths(&index.for_data_file(&data("a", 1), 4, 0)),
            ["pos", "global", "eq"]
        );
        // Other partition: only the global one.
        assert_eq!(paths(&index.for_data_file(&data("a", 2), 4, 0)), ["global"]);
        // Other spec, same tuple: only the global one.
        assert_eq!(paths(&index.for_data_file(&data("a", 1), 4, 3)), ["global"]);
        // Newer data: nothing.
        assert!(index.for_data_file(&data("a", 1), 8, 0).is_empty());
    }

    #[test]
    fn referenced_file_bounds_and_dvs() {
        let mut bounded = DataFile::new(DataFileFormat::Parquet, "bounded", 1, 10)
            .with_content(DataContentType::PositionDeletes)
            .with_partition(vec![Some(Datum::Int(1))]);
        bounded
            .lower_bounds
            .insert(POS_DELETE_FILE_PATH_ID, Datum::String("m".into()));
        bounded
            .upper_bounds
            .insert(POS_DELETE_FILE_PATH_ID, Datum::String("n".into()));
        let mut referenced = DataFile::new(DataFileFormat::Parquet, "ref", 1, 10)
            .with_content(DataContentType::PositionDeletes);
        referenced.referenced_data_file = Some("z".into());
        let index = DeleteFileIndex::new([
            (Arc::new(bounded), 3, 0, false),
            (Arc::new(referenced), 3, 0, false),
        ]);
        assert_eq!(
            paths(&index.for_data_file(&data("mz", 1), 1, 0)),
            ["bounded"]
        );
        assert!(index.for_data_file(&data("a", 1), 1, 0).is_empty());
        assert_eq!(paths(&index.for_data_file(&data("z", 1), 1, 0)), ["ref"]);

        let mut dv = DataFile::new(DataFileFormat::Puffin, "dv", 1, 10)
            .with_content(DataContentType::PositionDeletes);
        dv.referenced_data_file = Some("mz".into());
        let mut bounded2 = DataFile::new(DataFileFormat::Parquet, "pos", 1, 10)
            .with_content(DataContentType::PositionDeletes)
            .with_partition(vec![Some(Datum::Int(1))]);
        bounded2.referenced_data_file = None;
        let index = DeleteFileIndex::new([
            (Arc::new(dv), 3, 0, false),
            (Arc::new(bounded2), 3, 0, false),
        ]);
        assert_eq!(paths(&index.for_data_file(&data("mz", 1), 1, 0)), ["dv"]);
        assert!(!index.is_empty());
    }
}
