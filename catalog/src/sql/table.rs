//! Tables in the SQL catalog: create (plain and staged), load, list, drop, rename,
//! register, and writer progress reads. Commits live in [`super::commit`].

use std::sync::Arc;

use floe_spec::commit::{TableMetadataBuilder, TableRequirement};
use floe_spec::partition::UnboundPartitionSpec;
use floe_spec::sort::SortOrder;
use floe_spec::table_metadata::TableMetadata;

use super::namespace::{lock_namespace, no_such_namespace};
use super::{SqlCatalog, int, now_ms, opt_int, text};
use crate::catalog::{LoadedTable, StagedTable, TableCommit, TableCreation, WriterProgress};
use crate::error::{Error, ErrorKind, Result, db_error, err, is_unique_violation};
use crate::ident::{NamespaceIdent, TableIdent};

/// Table property: whether dropping with purge deletes files (default true).
pub const PROPERTY_GC_ENABLED: &str = "gc.enabled";

/// A table's catalog row.
#[derive(Debug, Clone)]
pub(crate) struct TableRow {
    pub table_id: String,
    pub metadata_location: String,
    pub version: i64,
}

/// The error for a missing table.
pub(crate) fn no_such_table(table: &TableIdent) -> Error {
    err(
        ErrorKind::NoSuchTable,
        format!("table does not exist: {table}"),
    )
}

/// The error for an existing table.
pub(crate) fn table_exists(table: &TableIdent) -> Error {
    err(
        ErrorKind::AlreadyExists,
        format!("table already exists: {table}"),
    )
}

impl SqlCatalog {
    /// The catalog row of a table, if it exists.
    pub(crate) async fn table_row(&self, table: &TableIdent) -> Result<Option<TableRow>> {
        let row = sqlx::query(
            "SELECT table_id, metadata_location, version FROM floe_tables WHERE namespace = $1 AND name = $2",
        )
        .bind(table.namespace.key())
        .bind(&table.name)
        .fetch_optional(&self.inner.pool)
        .await
        .map_err(|e| db_error("load table row", e))?;
        row.map(|r| {
            Ok(TableRow {
                table_id: text(&r, "table_id")?,
                metadata_location: text(&r, "metadata_location")?,
                version: int(&r, "version")?,
            })
        })
        .transpose()
    }

    pub(super) async fn list_tables_impl(&self, ns: &NamespaceIdent) -> Result<Vec<TableIdent>> {
        self.load_namespace_impl(ns).await?;
        let rows = sqlx::query("SELECT name FROM floe_tables WHERE namespace = $1 ORDER BY name")
            .bind(ns.key())
            .fetch_all(&self.inner.pool)
            .await
            .map_err(|e| db_error("list tables", e))?;
        rows.iter()
            .map(|r| {
                Ok(TableIdent {
                    namespace: ns.clone(),
                    name: text(r, "name")?,
                })
            })
            .collect()
    }

    pub(super) async fn load_table_impl(&self, table: &TableIdent) -> Result<LoadedTable> {
        table.validate()?;
        let row = self
            .table_row(table)
            .await?
            .ok_or_else(|| no_such_table(table))?;
        let metadata = self.read_metadata(&row.metadata_location).await?;
        Ok(LoadedTable {
            ident: table.clone(),
            metadata_location: Some(row.metadata_location),
            metadata,
        })
    }

    pub(super) async fn stage_create_table_impl(
        &self,
        ns: &NamespaceIdent,
        creation: TableCreation,
    ) -> Result<StagedTable> {
        let ident = TableIdent::new(ns.clone(), creation.name.clone())?;
        if !self.namespace_exists_quick(ns).await? {
            return Err(no_such_namespace(ns));
        }
        if self.table_row(&ident).await?.is_some() {
            return Err(table_exists(&ident));
        }
        let location = match &creation.location {
            Some(loc) => self.inner.warehouse.check_location(loc)?,
            None => self
                .inner
                .warehouse
                .default_table_location(ns, &creation.name),
        };
        let builder = TableMetadataBuilder::new_table(
            creation.schema,
            creation.partition_spec.unwrap_or(UnboundPartitionSpec {
                spec_id: None,
                fields: Vec::new(),
            }),
            creation.sort_order.unwrap_or_else(SortOrder::unsorted),
            location,
            creation.properties,
        )?;
        let updates = builder.changes().to_vec();
        let built = builder.build(now_ms())?;
        Ok(StagedTable {
            table: LoadedTable {
                ident,
                metadata_location: None,
                metadata: Arc::new(built.metadata),
            },
            updates,
        })
    }

    pub(super) async fn create_table_impl(
        &self,
        ns: &NamespaceIdent,
        creation: TableCreation,
    ) -> Result<LoadedTable> {
        let staged = self.stage_create_table_impl(ns, creation).await?;
        let commit = TableCommit::new(
            staged.table.ident,
            vec![TableRequirement::AssertCreate],
            staged.updates,
        );
        let mut result = self.commit_impl(vec![commit], None, true).await?;
        result
            .tables
            .pop()
            .ok_or_else(|| err(ErrorKind::Unexpected, "create returned no table"))
    }

    async fn namespace_exists_quick(&self, ns: &NamespaceIdent) -> Result<bool> {
        match self.load_namespace_impl(ns).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NoSuchNamespace => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub(super) async fn register_table_impl(
        &self,
        table: &TableIdent,
        metadata_location: &str,
    ) -> Result<LoadedTable> {
        table.validate()?;
        let metadata_location = self.inner.warehouse.check_location(metadata_location)?;
        if self.table_row(table).await?.is_some() {
            return Err(table_exists(table));
        }
        let metadata = self
            .read_metadata(&metadata_location)
            .await
            .map_err(|e| Error::invalid(format!("cannot register {table}: {e}")))?;
        self.inner.warehouse.check_location(metadata.location())?;
        let mut tx = self.begin().await?;
        lock_namespace(&mut tx, &table.namespace).await?;
        let now = now_ms();
        let inserted = sqlx::query(
            "INSERT INTO floe_tables (table_id, namespace, name, metadata_location, version, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, 0, $5, $5)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(table.namespace.key())
        .bind(&table.name)
        .bind(&metadata_location)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(table_exists(table)),
            Err(e) => return Err(db_error("register table", e)),
        }
        tx.commit()
            .await
            .map_err(|e| db_error("commit register table", e))?;
        Ok(LoadedTable {
            ident: table.clone(),
            metadata_location: Some(metadata_location),
            metadata,
        })
    }

    pub(super) async fn drop_table_impl(&self, table: &TableIdent, purge: bool) -> Result<()> {
        table.validate()?;
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "DELETE FROM floe_tables WHERE namespace = $1 AND name = $2 RETURNING table_id, metadata_location",
        )
        .bind(table.namespace.key())
        .bind(&table.name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| db_error("drop table", e))?;
        let Some(row) = row else {
            return Err(no_such_table(table));
        };
        let table_id = text(&row, "table_id")?;
        let metadata_location = text(&row, "metadata_location")?;
        sqlx::query("DELETE FROM floe_writer_progress WHERE table_id = $1")
            .bind(&table_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("drop writer progress", e))?;
        tx.commit()
            .await
            .map_err(|e| db_error("commit drop table", e))?;
        if purge {
            self.purge_files(table, &metadata_location).await?;
        }
        Ok(())
    }

    /// Deletes the files of a dropped table: its whole folder when it lies inside the
    /// warehouse, else only its metadata files. Nothing when `gc.enabled` is false.
    async fn purge_files(&self, table: &TableIdent, metadata_location: &str) -> Result<()> {
        let metadata = match self.read_metadata(metadata_location).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(%table, error = %e, "purge: cannot read the metadata; deleting the metadata file only");
                return self.inner.warehouse.delete(metadata_location).await;
            }
        };
        if metadata
            .properties()
            .get(PROPERTY_GC_ENABLED)
            .is_some_and(|v| v.eq_ignore_ascii_case("false"))
        {
            tracing::info!(%table, "purge skipped: gc.enabled is false");
            return Ok(());
        }
        let warehouse = &self.inner.warehouse;
        let inside = warehouse
            .clone()
            .allow_external_locations(false)
            .check_location(metadata.location())
            .is_ok();
        if inside {
            let n = warehouse.delete_prefix(metadata.location()).await?;
            tracing::info!(%table, files = n, "purged table files");
        } else {
            delete_metadata_files(warehouse, &metadata, metadata_location).await?;
        }
        Ok(())
    }

    pub(super) async fn rename_table_impl(&self, from: &TableIdent, to: &TableIdent) -> Result<()> {
        from.validate()?;
        to.validate()?;
        let mut tx = self.begin().await?;
        lock_namespace(&mut tx, &to.namespace).await?;
        let updated = sqlx::query(
            "UPDATE floe_tables SET namespace = $1, name = $2, updated_at_ms = $3 WHERE namespace = $4 AND name = $5",
        )
        .bind(to.namespace.key())
        .bind(&to.name)
        .bind(now_ms())
        .bind(from.namespace.key())
        .bind(&from.name)
        .execute(&mut *tx)
        .await;
        match updated {
            Ok(done) if done.rows_affected() == 0 => return Err(no_such_table(from)),
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(table_exists(to)),
            Err(e) => return Err(db_error("rename table", e)),
        }
        tx.commit()
            .await
            .map_err(|e| db_error("commit rename table", e))?;
        Ok(())
    }

    pub(super) async fn writers_impl(
        &self,
        table: &TableIdent,
        writer_id: Option<&str>,
    ) -> Result<Vec<WriterProgress>> {
        table.validate()?;
        let row = self
            .table_row(table)
            .await?
            .ok_or_else(|| no_such_table(table))?;
        let rows = sqlx::query(
            "SELECT writer_id, epoch, last_seq, snapshot_id, watermark, updated_at_ms FROM floe_writer_progress \
             WHERE table_id = $1 AND ($2 = '' OR writer_id = $2) ORDER BY writer_id",
        )
        .bind(&row.table_id)
        .bind(writer_id.unwrap_or(""))
        .fetch_all(&self.inner.pool)
        .await
        .map_err(|e| db_error("read writer progress", e))?;
        rows.iter()
            .map(|r| {
                Ok(WriterProgress {
                    writer_id: text(r, "writer_id")?,
                    epoch: int(r, "epoch")?,
                    last_seq: int(r, "last_seq")?,
                    snapshot_id: opt_int(r, "snapshot_id")?,
                    watermark: opt_int(r, "watermark")?,
                    updated_at_ms: int(r, "updated_at_ms")?,
                })
            })
            .collect()
    }
}

/// Deletes the current metadata file and those of the metadata log.
async fn delete_metadata_files(
    warehouse: &crate::io::Warehouse,
    metadata: &TableMetadata,
    current: &str,
) -> Result<()> {
    warehouse.delete(current).await?;
    for entry in metadata.metadata_log() {
        if let Err(e) = warehouse.delete(&entry.metadata_file).await {
            tracing::warn!(file = %entry.metadata_file, error = %e, "purge: cannot delete metadata file");
        }
    }
    Ok(())
}
