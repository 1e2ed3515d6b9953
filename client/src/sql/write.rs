//! Writing a stream of record batches into a Floe table: [`FloeSink`] (what `INSERT`
//! runs) and [`append_stream`].
//!
//! Batches are aligned to the table schema by column name, split by the table's
//! partition spec and written as rolling Parquet files while they arrive; one commit
//! at the end adds them (a fast append, or an overwrite replacing every row). On any
//! error — a batch that does not fit the schema, a null in a required column, a failed
//! commit — the files written are deleted and nothing is committed.

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::common::Result;
use datafusion::datasource::sink::DataSink;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType};
use floe_spec::expr::Expression;
use floe_spec::manifest::DataFile;
use floe_table::Table;
use floe_table::transaction::SnapshotUpdate;
use floe_table::writer::{LocationGenerator, PartitionedWriter, WriterContext, default_store_path};
use futures::StreamExt;
use object_store::ObjectStoreExt;

use super::error::to_df;

/// What a write committed.
#[derive(Debug, Clone)]
pub struct WriteOutcome {
    /// The table as committed.
    pub table: Table,
    /// The rows written.
    pub rows: u64,
}

/// Writes `batches` into `table` and commits them in one snapshot: an append, or with
/// `overwrite` a replacement of every row.
pub async fn append_stream(
    table: &Table,
    mut batches: SendableRecordBatchStream,
    overwrite: bool,
) -> Result<WriteOutcome> {
    let mut writer = new_writer(table)?;
    let mut rows = 0u64;
    while let Some(batch) = batches.next().await {
        let written = match batch {
            Ok(b) => {
                rows += b.num_rows() as u64;
                writer.write(&b).await.map_err(to_df)
            }
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            writer.abort().await.ok();
            return Err(e);
        }
    }
    let files = writer.close().await.map_err(to_df)?;
    let paths: Vec<String> = files.iter().map(|f| f.file_path.clone()).collect();
    match commit_files(table, files, overwrite).await {
        Ok(table) => Ok(WriteOutcome { table, rows }),
        Err(e) => {
            if e.kind() != floe_spec::ErrorKind::CommitStateUnknown {
                delete_files(table, &paths).await;
            }
            Err(to_df(e))
        }
    }
}

/// A writer of data files in the table's current schema and default partition spec.
pub(crate) fn new_writer(table: &Table) -> Result<PartitionedWriter> {
    let md = table.metadata().clone();
    let schema = md.current_schema();
    let context = Arc::new(
        WriterContext::for_data(
            schema,
            md.properties(),
            Some(md.default_sort_order().as_ref()).filter(|o| o.order_id != 0),
        )
        .map_err(to_df)?,
    );
    let locations = Arc::new(
        LocationGenerator::for_table(table.store().clone(), md.location(), md.properties())
            .map_err(to_df)?,
    );
    PartitionedWriter::try_new(context, schema, md.default_partition_spec(), locations)
        .map_err(to_df)
}

async fn commit_files(
    table: &Table,
    files: Vec<DataFile>,
    overwrite: bool,
) -> floe_table::Result<Table> {
    let mut tx = table.new_transaction();
    if overwrite {
        tx.add(
            SnapshotUpdate::overwrite()
                .delete_where(Expression::True)
                .add_data_files(files),
        );
    } else if files.is_empty() {
        return Ok(table.clone());
    } else {
        tx.fast_append(files);
    }
    tx.commit().await
}

/// Deletes files written by a failed write (best effort).
pub(crate) async fn delete_files(table: &Table, paths: &[String]) {
    for p in paths {
        if let Ok(path) = default_store_path(p) {
            table.store().delete(&path).await.ok();
        }
    }
}

/// The sink of `INSERT INTO` / `INSERT OVERWRITE` on a Floe table.
#[derive(Debug)]
pub struct FloeSink {
    table: Table,
    schema: SchemaRef,
    overwrite: bool,
}

impl FloeSink {
    /// A sink appending to (or with `overwrite`, replacing the rows of) `table`.
    pub fn new(table: Table, schema: SchemaRef, overwrite: bool) -> Self {
        Self {
            table,
            schema,
            overwrite,
        }
    }
}

impl DisplayAs for FloeSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FloeSink: table={}, mode={}",
            self.table.ident(),
            if self.overwrite {
                "overwrite"
            } else {
                "append"
            }
        )
    }
}

#[async_trait]
impl DataSink for FloeSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        // Writes start from the newest metadata (a stale provider would only add
        // a retry).
        let mut table = self.table.clone();
        table.refresh().await.map_err(to_df)?;
        Ok(append_stream(&table, data, self.overwrite).await?.rows)
    }
}
