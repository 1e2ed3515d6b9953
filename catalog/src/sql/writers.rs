//! Stream writers in the SQL catalog: opening a writer takes a new epoch.
//!
//! # Fencing contract
//!
//! [`SqlCatalog::open_writer_impl`] runs one transaction that first locks the table's
//! row (`UPDATE floe_tables SET version = version`, the same row every commit swaps)
//! and then bumps — or creates at epoch 1 — the writer's row of
//! `floe_writer_progress`. Commits check and record writer progress after locking the
//! table row too (see the commit module), so an open and a commit of the same table
//! serialize: a commit that records a batch of epoch `e` either commits before the open
//! (the open then returns that batch as `last_seq`) or sees the new epoch and is refused
//! as fenced. No batch of an older instance can slip in after the open.

use super::table::no_such_table;
use super::{SqlCatalog, int, now_ms, opt_int, text};
use crate::catalog::WriterProgress;
use crate::error::{Error, Result, db_error};
use crate::ident::{TableIdent, validate_name};

impl SqlCatalog {
    /// Opens `writer_id` on `table`: see [`crate::Catalog::open_writer`].
    pub(super) async fn open_writer_impl(
        &self,
        table: &TableIdent,
        writer_id: &str,
    ) -> Result<WriterProgress> {
        table.validate()?;
        validate_name("writer id", writer_id)?;
        let row = self
            .table_row(table)
            .await?
            .ok_or_else(|| no_such_table(table))?;
        let now = now_ms();
        let mut tx = self.begin().await?;
        let locked = sqlx::query("UPDATE floe_tables SET version = version WHERE table_id = $1")
            .bind(&row.table_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("lock table row", e))?;
        if locked.rows_affected() != 1 {
            // Dropped since it was looked up.
            return Err(no_such_table(table));
        }
        let stored = sqlx::query(
            "INSERT INTO floe_writer_progress (table_id, writer_id, epoch, last_seq, snapshot_id, watermark, updated_at_ms) \
             VALUES ($1, $2, 1, -1, NULL, NULL, $3) \
             ON CONFLICT (table_id, writer_id) DO UPDATE SET epoch = floe_writer_progress.epoch + 1, \
             updated_at_ms = excluded.updated_at_ms \
             RETURNING writer_id, epoch, last_seq, snapshot_id, watermark, updated_at_ms",
        )
        .bind(&row.table_id)
        .bind(writer_id)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| db_error("open writer", e))?;
        let progress = WriterProgress {
            writer_id: text(&stored, "writer_id")?,
            epoch: int(&stored, "epoch")?,
            last_seq: int(&stored, "last_seq")?,
            snapshot_id: opt_int(&stored, "snapshot_id")?,
            watermark: opt_int(&stored, "watermark")?,
            updated_at_ms: int(&stored, "updated_at_ms")?,
        };
        tx.commit().await.map_err(|e| {
            Error::new(
                crate::ErrorKind::CommitStateUnknown,
                format!(
                    "the catalog database failed while opening writer `{writer_id}` of {table}"
                ),
            )
            .with_source(e)
        })?;
        Ok(progress)
    }
}
