//! Delete files committed as row deltas: position deletes of rows of a data file, and
//! equality deletes of ids.

use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch};
use floe_spec::manifest::DataFile;
use floe_table::Table;
use floe_table::transaction::SnapshotUpdate;
use floe_table::writer::{EqualityDeleteWriter, LocationGenerator, PositionDeleteWriter};

fn locations(t: &Table) -> Arc<LocationGenerator> {
    Arc::new(LocationGenerator::for_table(t.store().clone(), t.location(), t.properties()).unwrap())
}

/// Commits `deletes` as a row delta, validating that `referenced` data files still
/// exist.
async fn commit_row_delta(
    t: &Table,
    deletes: Vec<DataFile>,
    referenced: Vec<String>,
) -> floe_table::Result<Table> {
    let mut u = SnapshotUpdate::row_delta();
    for d in deletes {
        u = u.add_delete_file(d);
    }
    let mut tx = t.new_transaction();
    tx.add(u.validate_data_files_exist(referenced));
    tx.commit().await
}

/// Commits position deletes of `rows` of `file`.
pub async fn add_position_deletes(
    t: &Table,
    file: &DataFile,
    rows: &[i64],
) -> floe_table::Result<Table> {
    let path = t
        .spec()
        .partition_path(t.schema(), &file.partition)
        .unwrap();
    let mut w = PositionDeleteWriter::try_new(
        t.properties(),
        locations(t),
        file.partition.clone(),
        Some(path).filter(|p| !p.is_empty()),
    )
    .unwrap();
    w.delete_positions(&file.file_path, rows.iter().copied());
    let deletes = w.close().await.unwrap();
    commit_row_delta(t, deletes, vec![file.file_path.clone()]).await
}

/// Commits equality deletes of `ids` (column `id`) on an unpartitioned table (global
/// deletes).
pub async fn add_equality_deletes(t: &Table, ids: &[i64]) -> floe_table::Result<Table> {
    let mut w = EqualityDeleteWriter::try_new(
        t.schema(),
        vec![1],
        t.properties(),
        locations(t),
        Vec::new(),
        None,
    )
    .unwrap();
    let batch = RecordBatch::try_new(
        w.arrow_schema().clone(),
        vec![Arc::new(Int64Array::from(ids.to_vec()))],
    )
    .unwrap();
    w.write(&batch).await.unwrap();
    let deletes = w.close().await.unwrap();
    commit_row_delta(t, deletes, Vec::new()).await
}
