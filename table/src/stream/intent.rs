//! Append intents and their acknowledgements, and the checks an intent must pass
//! before it joins a group commit.

use std::collections::HashSet;

use floe_catalog::TableIdent;
use floe_spec::manifest::{DataContentType, DataFile};
use floe_spec::table_metadata::TableMetadata;

use crate::error::{Error, Result};

/// Snapshot summary key of the table's low watermark (ms): the minimum watermark over
/// the table's stream writers as recorded by the snapshot's commit.
pub const WATERMARK_SUMMARY_KEY: &str = "floe.watermark";

/// Snapshot summary key of the number of append intents a group commit gathered.
pub const GROUP_SIZE_SUMMARY_KEY: &str = "floe.group-size";

/// One micro-batch of one stream writer: data files to append to a table, with the
/// writer's `(id, epoch, seq)` that makes the append exactly-once.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendIntent {
    /// The table.
    pub table: TableIdent,
    /// The writer (stable across restarts).
    pub writer_id: String,
    /// The writer instance's epoch (from [`floe_catalog::Catalog::open_writer`]).
    pub epoch: i64,
    /// The micro-batch sequence number, strictly increasing per writer.
    pub seq: i64,
    /// Event-time watermark (ms) up to which the writer's data is complete.
    pub watermark_ms: Option<i64>,
    /// The seq this micro-batch directly follows (`-1`: the writer's first), for
    /// writers with several micro-batches in flight: the intent commits only if that
    /// seq is the writer's last committed one or commits in the same group, so a
    /// failed micro-batch never leaves a gap behind a later one. `None`: any seq above
    /// the last committed one is accepted.
    pub after_seq: Option<i64>,
    /// The data files (already written, inside the table location, of the table's
    /// default partition spec).
    pub data_files: Vec<DataFile>,
}

/// The answer to one [`AppendIntent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendAck {
    /// The snapshot that holds the batch (for a duplicate: the snapshot recorded when
    /// the batch was first committed, -1 when the catalog recorded none).
    pub snapshot_id: i64,
    /// That snapshot's sequence number (-1 when the snapshot is no longer in the
    /// table's metadata, e.g. expired).
    pub sequence_number: i64,
    /// Whether the batch had been committed before: nothing was added this time.
    pub duplicate: bool,
}

/// Checks what can be checked without the table: names and numbers.
pub(crate) fn check_shape(intent: &AppendIntent) -> Result<()> {
    intent.table.validate()?;
    floe_catalog::ident::validate_name("writer id", &intent.writer_id)?;
    if intent.epoch < 0 || intent.seq < 0 {
        return Err(Error::invalid(format!(
            "writer `{}`: epoch ({}) and seq ({}) must not be negative",
            intent.writer_id, intent.epoch, intent.seq
        )));
    }
    if let Some(after) = intent.after_seq
        && (after < -1 || after >= intent.seq)
    {
        return Err(Error::invalid(format!(
            "writer `{}` seq {}: after-seq {after} must be at least -1 and below the seq",
            intent.writer_id, intent.seq
        )));
    }
    let mut paths = HashSet::new();
    for f in &intent.data_files {
        if !paths.insert(f.file_path.as_str()) {
            return Err(Error::invalid(format!(
                "writer `{}` seq {}: data file `{}` appears twice",
                intent.writer_id, intent.seq, f.file_path
            )));
        }
        if f.content != DataContentType::Data {
            return Err(Error::invalid(format!(
                "writer `{}` seq {}: `{}` is not a data file (content {:?}); appends take data files only",
                intent.writer_id, intent.seq, f.file_path, f.content
            )));
        }
        if f.record_count < 0 || f.file_size_in_bytes < 0 {
            return Err(Error::invalid(format!(
                "writer `{}` seq {}: `{}` has a negative record count or file size",
                intent.writer_id, intent.seq, f.file_path
            )));
        }
    }
    Ok(())
}

/// Checks the files of an intent against the table: inside its location, of the
/// arity of the default partition spec, with statistics only for known columns.
pub(crate) fn check_against_table(intent: &AppendIntent, md: &TableMetadata) -> Result<()> {
    let location = md.location().trim_end_matches('/');
    let prefix = format!("{location}/");
    let spec = md.default_partition_spec();
    let schema = md.current_schema();
    for f in &intent.data_files {
        if !f.file_path.starts_with(&prefix) || f.file_path.contains("/../") {
            return Err(Error::invalid(format!(
                "writer `{}` seq {}: data file `{}` is outside the table location `{location}`",
                intent.writer_id, intent.seq, f.file_path
            )));
        }
        if f.partition.len() != spec.fields.len() {
            return Err(Error::invalid(format!(
                "writer `{}` seq {}: data file `{}` has {} partition values, but partition spec {} has {} fields",
                intent.writer_id,
                intent.seq,
                f.file_path,
                f.partition.len(),
                spec.spec_id,
                spec.fields.len()
            )));
        }
        let stats_ids = f
            .value_counts
            .keys()
            .chain(f.null_value_counts.keys())
            .chain(f.lower_bounds.keys())
            .chain(f.upper_bounds.keys());
        for id in stats_ids {
            if md.schemas().values().all(|s| s.field_by_id(*id).is_none()) {
                return Err(Error::invalid(format!(
                    "writer `{}` seq {}: data file `{}` has statistics for column id {id}, \
                     which is not a column of the table (schema {})",
                    intent.writer_id,
                    intent.seq,
                    f.file_path,
                    schema.schema_id()
                )));
            }
        }
    }
    Ok(())
}
