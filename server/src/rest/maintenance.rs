//! Floe's maintenance endpoints (a Floe extension of the Iceberg REST API):
//!
//! - `POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/maintenance` with
//!   `{"action": "compact" | "expire-snapshots" | "remove-orphan-files" |
//!   "rewrite-manifests", "dry-run"?: bool, <options>...}` enqueues an urgent task and
//!   answers 202 with `{"task-id", "deduplicated"}` (a task of the same table and
//!   action already queued or running is returned instead of a second one). Options
//!   are the action's ([`Action::options`]); an unknown action or option, or a value
//!   of the wrong type, is a 400 naming it.
//! - `GET /v1/{prefix}/maintenance/tasks` lists tasks, newest first, filtered by the
//!   query parameters `namespace` (levels joined by 0x1F) and `table`, `action`,
//!   `status`, `limit` (default 100).
//! - `GET /v1/{prefix}/maintenance/tasks/{id}`: one task with its state, attempts,
//!   error and result.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use floe_catalog::TableIdent;
use floe_catalog::sql::tasks::{NewTask, PRIORITY_URGENT, TaskFilter, TaskStatus};
use serde_json::{Value, json};

use super::extract::{IcebergJson, split_namespace};
use super::routes::{json, require_table, table};
use crate::app::AppState;
use crate::error::{ApiError, ApiResult};
use crate::maintenance::{Action, Maintenance};

fn maintenance(state: &AppState) -> ApiResult<&Maintenance> {
    state.maintenance().ok_or_else(|| {
        ApiError::for_status(
            StatusCode::NOT_ACCEPTABLE,
            "this catalog has no maintenance task queue",
        )
    })
}

/// `POST .../tables/{table}/maintenance`.
pub(crate) async fn request_maintenance(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    IcebergJson(body): IcebergJson<Value>,
) -> ApiResult<Response> {
    let m = maintenance(&state)?;
    let ident = table(&state, &params)?;
    let Value::Object(mut options) = body else {
        return Err(ApiError::bad_request(
            "a maintenance request must be a JSON object with an `action`",
        ));
    };
    let action = match options.remove("action") {
        Some(Value::String(a)) => Action::parse(&a).map_err(ApiError::bad_request)?,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`action` must be a string, got {other}"
            )));
        }
        None => {
            return Err(ApiError::bad_request(format!(
                "missing `action`: one of {}",
                Action::ALL.map(Action::as_str).join(", ")
            )));
        }
    };
    if !crate::maintenance::run::runnable(action) {
        return Err(ApiError::for_status(
            StatusCode::NOT_ACCEPTABLE,
            format!("maintenance action {action} is not available in this build"),
        ));
    }
    let dry_run = match options.remove("dry-run") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`dry-run` must be a boolean, got {other}"
            )));
        }
    };
    action
        .check_options(&options)
        .map_err(ApiError::bad_request)?;
    require_table(&state, &ident).await?;
    let task = NewTask::new(ident, action.as_str())
        .options(Value::Object(options))
        .priority(PRIORITY_URGENT)
        .dry_run(dry_run);
    let enqueued = m.queue().enqueue(task).await?;
    if !enqueued.deduplicated {
        m.metrics().record_enqueued(action, "request");
    }
    Ok(json(
        StatusCode::ACCEPTED,
        &json!({"task-id": enqueued.task_id, "deduplicated": enqueued.deduplicated}),
    ))
}

/// `GET .../maintenance/tasks`.
pub(crate) async fn list_tasks(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let m = maintenance(&state)?;
    for key in query.keys() {
        if !["namespace", "table", "action", "status", "limit"].contains(&key.as_str()) {
            return Err(ApiError::bad_request(format!(
                "unknown query parameter `{key}`: expected namespace, table, action, status or limit"
            )));
        }
    }
    let table = match (query.get("namespace"), query.get("table")) {
        (Some(ns), Some(name)) => {
            let levels = split_namespace(ns, state.settings().namespace_separator.as_deref());
            Some(TableIdent::from_parts(levels, name.as_str())?)
        }
        (None, None) => None,
        _ => {
            return Err(ApiError::bad_request("`namespace` and `table` go together"));
        }
    };
    let action = query
        .get("action")
        .map(|a| Action::parse(a).map(|a| a.as_str().to_owned()))
        .transpose()
        .map_err(ApiError::bad_request)?;
    let status = query
        .get("status")
        .map(|s| TaskStatus::parse(s))
        .transpose()?;
    let limit = query
        .get("limit")
        .map(|l| {
            l.parse::<u32>()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or_else(|| ApiError::bad_request(format!("invalid limit `{l}`: 1 to 1000")))
        })
        .transpose()?;
    let tasks = m
        .queue()
        .list(&TaskFilter {
            table,
            action,
            status,
            limit,
        })
        .await?;
    Ok(json(StatusCode::OK, &json!({"tasks": tasks})))
}

/// `GET .../maintenance/tasks/{id}`.
pub(crate) async fn get_task(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
) -> ApiResult<Response> {
    let m = maintenance(&state)?;
    let raw = params.get("id").map_or("", String::as_str);
    let id: i64 = raw
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid task id `{raw}`: an integer")))?;
    match m.queue().get(id).await? {
        Some(task) => Ok(json(StatusCode::OK, &task)),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFoundException",
            format!("maintenance task {id} does not exist"),
        )),
    }
}
