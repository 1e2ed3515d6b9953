//! The [`Runner`] that runs tasks with the table actions of `floe-table`
//! ([`floe_table::maintenance`]): it loads the table, builds the action from the
//! task's options (checked again against [`Action::options`]), runs it (as a dry run
//! when the task is one) and returns its result as JSON.
//!
//! | Action | Builder | Options |
//! |---|---|---|
//! | `compact` | `RewriteDataFiles` | `target-file-size-bytes`, `min-file-size-bytes`, `min-input-files`, `rewrite-all` |
//! | `expire-snapshots` | `ExpireSnapshots` | `older-than-ms`, `retain-last`, `snapshot-ids`, `clean-expired-files` |
//! | `remove-orphan-files` | `RemoveOrphanFiles` | `older-than-ms` (default: 3 days ago) |
//! | `rewrite-manifests` | `RewriteManifests` | `target-manifest-size-bytes` |

use std::sync::Arc;

use floe_catalog::sql::tasks::Task;
use floe_catalog::{Catalog, SqlCatalog};
use floe_table::Table;
use floe_table::maintenance::{
    ExpireSnapshots, RemoveOrphanFiles, RewriteDataFiles, RewriteManifests,
};
use serde_json::{Map, Value};

use super::action::Action;
use super::worker::{RunFuture, Runner};

/// Whether this build can run `action` (every action, now that `floe-table` has them
/// all; kept so that the REST handler and the scheduler ask one place).
pub fn runnable(action: Action) -> bool {
    Action::ALL.contains(&action)
}

/// The runner over `catalog`'s tables.
pub fn action_runner(catalog: Arc<SqlCatalog>) -> Runner {
    Arc::new(move |task: Task| -> RunFuture {
        let catalog = Arc::clone(&catalog);
        // A task of its own, so that a panic in an action fails the task (with the
        // panic's message) instead of ending the worker loop.
        let handle = tokio::spawn(run(catalog, task));
        Box::pin(async move {
            handle
                .await
                .map_err(|e| format!("the maintenance task panicked or was cancelled: {e}"))?
        })
    })
}

fn count(options: &Map<String, Value>, key: &str) -> Option<u64> {
    options.get(key).and_then(Value::as_u64)
}

fn flag(options: &Map<String, Value>, key: &str) -> Option<bool> {
    options.get(key).and_then(Value::as_bool)
}

async fn run(catalog: Arc<SqlCatalog>, task: Task) -> Result<Value, String> {
    let action = Action::parse(&task.action)?;
    if !runnable(action) {
        return Err(format!("action {action} is not available in this build"));
    }
    let empty = Map::new();
    let options = task.options.as_object().unwrap_or(&empty);
    action.check_options(options)?;
    let store = Arc::clone(catalog.warehouse().store());
    let dyn_catalog: Arc<dyn Catalog> = catalog;
    let table = Table::load(dyn_catalog, &task.table, store)
        .await
        .map_err(|e| e.to_string())?;
    let value = match action {
        Action::Compact => {
            let mut a = RewriteDataFiles::new(&table).dry_run(task.dry_run);
            if let Some(n) = count(options, "target-file-size-bytes") {
                a = a.target_file_size_bytes(n);
            }
            if let Some(n) = count(options, "min-file-size-bytes") {
                a = a.min_file_size_bytes(n);
            }
            if let Some(n) = count(options, "min-input-files") {
                a = a.min_input_files(usize::try_from(n).unwrap_or(usize::MAX));
            }
            if let Some(b) = flag(options, "rewrite-all") {
                a = a.rewrite_all(b);
            }
            let result = a.execute().await.map_err(|e| e.to_string())?;
            if result.failed_groups > 0 && result.committed_groups == 0 {
                return Err(format!(
                    "compaction of {}: all {} groups gave way to concurrent commits",
                    task.table, result.failed_groups
                ));
            }
            serde_json::to_value(result)
        }
        Action::ExpireSnapshots => {
            let mut a = ExpireSnapshots::new(&table).dry_run(task.dry_run);
            if let Some(t) = options.get("older-than-ms").and_then(Value::as_i64) {
                a = a.older_than_ms(t);
            }
            if let Some(n) = count(options, "retain-last") {
                a = a.retain_last(i32::try_from(n).unwrap_or(i32::MAX));
            }
            if let Some(ids) = options.get("snapshot-ids").and_then(Value::as_array) {
                a = a.expire_snapshot_ids(ids.iter().filter_map(Value::as_i64));
            }
            if let Some(b) = flag(options, "clean-expired-files") {
                a = a.clean_expired_files(b);
            }
            serde_json::to_value(a.execute().await.map_err(|e| e.to_string())?)
        }
        Action::RemoveOrphanFiles => {
            let mut a = RemoveOrphanFiles::new(&table).dry_run(task.dry_run);
            if let Some(t) = options.get("older-than-ms").and_then(Value::as_i64) {
                a = a.older_than_ms(t);
            }
            serde_json::to_value(a.execute().await.map_err(|e| e.to_string())?)
        }
        Action::RewriteManifests => {
            let mut a = RewriteManifests::new(&table).dry_run(task.dry_run);
            if let Some(n) = options
                .get("target-manifest-size-bytes")
                .and_then(Value::as_i64)
            {
                a = a.target_size_bytes(n);
            }
            serde_json::to_value(a.execute().await.map_err(|e| e.to_string())?)
        }
    };
    value.map_err(|e| format!("cannot serialize the result of {action}: {e}"))
}
