//! Namespaces in the SQL catalog.
//!
//! A namespace row is locked (a no-op `UPDATE` of its own row) before anything that
//! depends on it is checked or changed — creating a child or a table in it, updating its
//! properties, dropping it — so that, on PostgreSQL too, a drop and a concurrent create
//! inside the namespace are serialized and never leave an orphan.

use std::collections::HashMap;

use sqlx::{Any, Transaction};

use super::{SqlCatalog, now_ms, properties_from_json, text};
use crate::catalog::{Namespace, NamespacePropertiesUpdate};
use crate::error::{Error, ErrorKind, Result, db_error, err, is_unique_violation};
use crate::ident::NamespaceIdent;

/// The error for a missing namespace.
pub(crate) fn no_such_namespace(ns: &NamespaceIdent) -> Error {
    err(
        ErrorKind::NoSuchNamespace,
        format!("namespace does not exist: {ns}"),
    )
}

/// Locks a namespace row for the rest of the transaction; `NoSuchNamespace` if absent.
pub(crate) async fn lock_namespace(
    tx: &mut Transaction<'static, Any>,
    ns: &NamespaceIdent,
) -> Result<()> {
    let done =
        sqlx::query("UPDATE floe_namespaces SET properties = properties WHERE namespace = $1")
            .bind(ns.key())
            .execute(&mut **tx)
            .await
            .map_err(|e| db_error("lock namespace", e))?;
    if done.rows_affected() == 0 {
        return Err(no_such_namespace(ns));
    }
    Ok(())
}

impl SqlCatalog {
    pub(super) async fn list_namespaces_impl(
        &self,
        parent: Option<&NamespaceIdent>,
    ) -> Result<Vec<NamespaceIdent>> {
        let parent_key = match parent {
            Some(p) => {
                self.load_namespace_impl(p).await?;
                p.key()
            }
            None => String::new(),
        };
        let rows = sqlx::query(
            "SELECT namespace FROM floe_namespaces WHERE parent = $1 ORDER BY namespace",
        )
        .bind(parent_key)
        .fetch_all(&self.inner.pool)
        .await
        .map_err(|e| db_error("list namespaces", e))?;
        rows.iter()
            .map(|r| NamespaceIdent::from_key(&text(r, "namespace")?))
            .collect()
    }

    pub(super) async fn create_namespace_impl(
        &self,
        ns: &NamespaceIdent,
        properties: HashMap<String, String>,
    ) -> Result<Namespace> {
        let ns = NamespaceIdent::new(ns.levels().to_vec())?;
        let json = serde_json::to_string(&properties)
            .map_err(|e| Error::new(ErrorKind::Unexpected, "properties to JSON").with_source(e))?;
        let mut tx = self.begin().await?;
        let parent_key = match ns.parent() {
            Some(parent) => {
                lock_namespace(&mut tx, &parent).await?;
                parent.key()
            }
            None => String::new(),
        };
        let inserted = sqlx::query(
            "INSERT INTO floe_namespaces (namespace, parent, properties, created_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(ns.key())
        .bind(parent_key)
        .bind(json)
        .bind(now_ms())
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(err(
                    ErrorKind::AlreadyExists,
                    format!("namespace already exists: {ns}"),
                ));
            }
            Err(e) => return Err(db_error("create namespace", e)),
        }
        tx.commit()
            .await
            .map_err(|e| db_error("commit create namespace", e))?;
        Ok(Namespace {
            ident: ns,
            properties,
        })
    }

    pub(super) async fn load_namespace_impl(&self, ns: &NamespaceIdent) -> Result<Namespace> {
        let ns = NamespaceIdent::new(ns.levels().to_vec())?;
        let row = sqlx::query("SELECT properties FROM floe_namespaces WHERE namespace = $1")
            .bind(ns.key())
            .fetch_optional(&self.inner.pool)
            .await
            .map_err(|e| db_error("load namespace", e))?;
        let Some(row) = row else {
            return Err(no_such_namespace(&ns));
        };
        Ok(Namespace {
            properties: properties_from_json(&text(&row, "properties")?)?,
            ident: ns,
        })
    }

    pub(super) async fn update_namespace_properties_impl(
        &self,
        ns: &NamespaceIdent,
        removals: Vec<String>,
        updates: HashMap<String, String>,
    ) -> Result<NamespacePropertiesUpdate> {
        if let Some(both) = removals.iter().find(|k| updates.contains_key(*k)) {
            return Err(Error::invalid(format!(
                "property `{both}` is both removed and updated"
            )));
        }
        let mut tx = self.begin().await?;
        lock_namespace(&mut tx, ns).await?;
        let row = sqlx::query("SELECT properties FROM floe_namespaces WHERE namespace = $1")
            .bind(ns.key())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| db_error("load namespace", e))?;
        let mut props = properties_from_json(&text(&row, "properties")?)?;
        let mut result = NamespacePropertiesUpdate::default();
        for key in removals {
            if props.remove(&key).is_some() {
                result.removed.push(key);
            } else {
                result.missing.push(key);
            }
        }
        for (key, value) in updates {
            props.insert(key.clone(), value);
            result.updated.push(key);
        }
        result.updated.sort();
        let json = serde_json::to_string(&props)
            .map_err(|e| Error::new(ErrorKind::Unexpected, "properties to JSON").with_source(e))?;
        sqlx::query("UPDATE floe_namespaces SET properties = $1 WHERE namespace = $2")
            .bind(json)
            .bind(ns.key())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("update namespace properties", e))?;
        tx.commit()
            .await
            .map_err(|e| db_error("commit namespace properties", e))?;
        Ok(result)
    }

    pub(super) async fn drop_namespace_impl(&self, ns: &NamespaceIdent) -> Result<()> {
        let mut tx = self.begin().await?;
        lock_namespace(&mut tx, ns).await?;
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM floe_tables WHERE namespace = $1) AS tables, \
                    (SELECT COUNT(*) FROM floe_namespaces WHERE parent = $1) AS children",
        )
        .bind(ns.key())
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| db_error("count namespace contents", e))?;
        let tables = super::int(&row, "tables")?;
        let children = super::int(&row, "children")?;
        if tables > 0 || children > 0 {
            return Err(err(
                ErrorKind::NamespaceNotEmpty,
                format!(
                    "namespace {ns} is not empty: it holds {tables} table(s) and {children} namespace(s)"
                ),
            ));
        }
        sqlx::query("DELETE FROM floe_namespaces WHERE namespace = $1")
            .bind(ns.key())
            .execute(&mut *tx)
            .await
            .map_err(|e| db_error("drop namespace", e))?;
        tx.commit()
            .await
            .map_err(|e| db_error("commit drop namespace", e))?;
        Ok(())
    }
}
