//! Server-side scan planning: `POST .../tables/{table}/plan`, `GET`/`DELETE
//! .../plan/{plan-id}` and `POST .../tables/{table}/tasks`.
//!
//! Planning runs the table crate's planner (`floe_table::scan`) over the table's
//! current metadata, with the server's parsed-manifest cache, and answers synchronously
//! with `status: completed`, the file scan tasks and the distinct delete files they
//! reference (`delete-file-references` are indexes into `delete-files`). No plan is
//! kept after the answer, so fetching or cancelling a plan id, or fetching a plan
//! task, answers 404 (`NoSuchPlanIdException`, `NoSuchPlanTaskException`).
//!
//! Column statistics (`column-sizes`, `value-counts`, bounds, ...) are sent only for
//! the columns named in `stats-fields`, as the OpenAPI document says; without it, none.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use floe_spec::expr::{BoundExpression, BoundPredicate, Expression};
use floe_spec::manifest::DataFile;
use floe_spec::table_metadata::TableMetadata;
use floe_spec::types::StructType;
use floe_table::scan::{FileScanTask, ManifestCache, TableScanBuilder};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::app::{AppState, json_response};
use crate::error::{ApiError, ApiResult};
use crate::rest::extract::IcebergJson;

/// The body of `POST .../plan` (`PlanTableScanRequest`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct PlanTableScanRequest {
    /// The snapshot to scan (the current one of `main` when absent).
    #[serde(default)]
    pub snapshot_id: Option<i64>,
    /// The columns to read (all when absent).
    #[serde(default)]
    pub select: Option<Vec<String>>,
    /// The row filter (Iceberg expression JSON).
    #[serde(default)]
    pub filter: Option<Value>,
    /// Whether names match case-sensitively (default true).
    #[serde(default = "default_true")]
    pub case_sensitive: bool,
    /// Whether to read in the snapshot's schema instead of the current one.
    #[serde(default)]
    pub use_snapshot_schema: bool,
    /// Incremental scan: appends after this snapshot (exclusive).
    #[serde(default)]
    pub start_snapshot_id: Option<i64>,
    /// Incremental scan: appends up to this snapshot (inclusive).
    #[serde(default)]
    pub end_snapshot_id: Option<i64>,
    /// The columns whose statistics are sent with each data file.
    #[serde(default)]
    pub stats_fields: Option<Vec<String>>,
    /// A hint of how many rows the client needs (ignored: every task is returned).
    #[serde(default)]
    pub min_rows_requested: Option<i64>,
}

fn default_true() -> bool {
    true
}

/// The body of `POST .../tasks` (`FetchScanTasksRequest`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FetchScanTasksRequest {
    /// The plan task to fetch.
    pub plan_task: String,
}

fn no_such_plan(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NoSuchPlanIdException",
        format!("no plan with id `{id}`: Floe plans synchronously and keeps no plans"),
    )
}

fn unsupported(message: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "UnsupportedOperationException",
        message,
    )
}

/// `POST .../tables/{table}/plan`.
pub(crate) async fn plan_table_scan(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    IcebergJson(req): IcebergJson<PlanTableScanRequest>,
) -> ApiResult<Response> {
    let ident = super::routes::table(&state, &params)?;
    let loaded = state.catalog().load_table(&ident).await?;
    let io = state
        .file_io()
        .ok_or_else(|| unsupported("this server's catalog does not support scan planning"))?;
    let filter = match &req.filter {
        None | Some(Value::Null) => Expression::True,
        Some(v) => Expression::from_json(v)
            .map_err(|e| ApiError::bad_request(format!("invalid filter: {}", e.message())))?,
    };
    let incremental = req.start_snapshot_id.is_some() || req.end_snapshot_id.is_some();
    if incremental && req.snapshot_id.is_some() {
        return Err(ApiError::bad_request(
            "snapshot-id cannot be combined with start-snapshot-id / end-snapshot-id",
        ));
    }
    if req.start_snapshot_id.is_some() && req.end_snapshot_id.is_none() {
        return Err(ApiError::bad_request(
            "start-snapshot-id needs end-snapshot-id",
        ));
    }
    let cache: Arc<dyn ManifestCache> = Arc::new(state.caches().manifests.clone());
    let mut builder = TableScanBuilder::new(Arc::clone(&loaded.metadata), io)
        .case_sensitive(req.case_sensitive)
        .use_snapshot_schema(req.use_snapshot_schema)
        .filter(filter)
        .with_manifest_cache(cache);
    if let Some(columns) = &req.select {
        builder = builder.select(columns.iter().cloned());
    }
    if let Some(id) = req.snapshot_id {
        builder = builder.snapshot_id(id);
    }
    let (tasks, delete_files) = if incremental {
        let scan = builder.appends_between(req.start_snapshot_id, req.end_snapshot_id)?;
        (scan.plan_files().await?, Vec::new())
    } else {
        let plan = builder.build()?.plan().await?;
        (plan.tasks, plan.delete_files)
    };
    let stats = stats_field_ids(&loaded.metadata, &req)?;
    let body = completed_body(&loaded.metadata, &tasks, &delete_files, stats.as_ref())?;
    state.metrics().record_plan(tasks.len());
    Ok(json_response(
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
    ))
}

/// `GET .../plan/{plan-id}`.
pub(crate) async fn fetch_planning_result(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
) -> ApiResult<Response> {
    let ident = super::routes::table(&state, &params)?;
    super::routes::require_table(&state, &ident).await?;
    Err(no_such_plan(
        params.get("plan-id").map_or("", String::as_str),
    ))
}

/// `DELETE .../plan/{plan-id}`.
pub(crate) async fn cancel_planning(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
) -> ApiResult<StatusCode> {
    let ident = super::routes::table(&state, &params)?;
    super::routes::require_table(&state, &ident).await?;
    Err(no_such_plan(
        params.get("plan-id").map_or("", String::as_str),
    ))
}

/// `POST .../tasks`.
pub(crate) async fn fetch_scan_tasks(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    IcebergJson(req): IcebergJson<FetchScanTasksRequest>,
) -> ApiResult<Response> {
    let ident = super::routes::table(&state, &params)?;
    super::routes::require_table(&state, &ident).await?;
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "NoSuchPlanTaskException",
        format!(
            "no plan task `{}`: Floe returns every file scan task in the plan answer",
            req.plan_task
        ),
    ))
}

/// The field ids named by `stats-fields` (`None`: send no statistics).
fn stats_field_ids(
    metadata: &TableMetadata,
    req: &PlanTableScanRequest,
) -> ApiResult<Option<HashSet<i32>>> {
    let Some(names) = &req.stats_fields else {
        return Ok(None);
    };
    let schema = metadata.current_schema();
    let mut ids = HashSet::new();
    for name in names {
        let field = if req.case_sensitive {
            schema.field_by_name(name)
        } else {
            schema.field_by_name_case_insensitive(name)
        }
        .ok_or_else(|| {
            ApiError::bad_request(format!("stats-fields: no column `{name}` in the table"))
        })?;
        ids.insert(field.id);
    }
    Ok(Some(ids))
}

/// A data file with only the statistics of `keep` (none when `None`).
fn with_stats(file: &DataFile, keep: Option<&HashSet<i32>>) -> DataFile {
    let mut f = file.clone();
    let keeps = |id: &i32| keep.is_some_and(|k| k.contains(id));
    f.column_sizes.retain(|id, _| keeps(id));
    f.value_counts.retain(|id, _| keeps(id));
    f.null_value_counts.retain(|id, _| keeps(id));
    f.nan_value_counts.retain(|id, _| keeps(id));
    f.lower_bounds.retain(|id, _| keeps(id));
    f.upper_bounds.retain(|id, _| keeps(id));
    f
}

/// The `completed` planning answer.
fn completed_body(
    metadata: &TableMetadata,
    tasks: &[FileScanTask],
    delete_files: &[Arc<DataFile>],
    stats: Option<&HashSet<i32>>,
) -> ApiResult<Value> {
    let mut partition_types: HashMap<i32, StructType> = HashMap::new();
    let mut partition_type = |spec_id: i32| -> ApiResult<StructType> {
        if let Some(t) = partition_types.get(&spec_id) {
            return Ok(t.clone());
        }
        let spec = metadata.partition_spec_by_id(spec_id).ok_or_else(|| {
            ApiError::from(floe_spec::Error::invalid(format!(
                "the table has no partition spec {spec_id}"
            )))
        })?;
        let t = spec.partition_type(metadata.current_schema())?;
        partition_types.insert(spec_id, t.clone());
        Ok(t)
    };
    // A delete file's spec: the spec of the first task that uses it.
    let index: HashMap<&str, usize> = delete_files
        .iter()
        .enumerate()
        .map(|(i, d)| (d.file_path.as_str(), i))
        .collect();
    let mut delete_specs: Vec<Option<i32>> = vec![None; delete_files.len()];
    let mut out_tasks = Vec::with_capacity(tasks.len());
    for t in tasks {
        let refs: Vec<usize> = t
            .deletes
            .iter()
            .filter_map(|d| index.get(d.file_path.as_str()).copied())
            .collect();
        for &i in &refs {
            delete_specs[i].get_or_insert(t.spec_id);
        }
        let ptype = partition_type(t.spec_id)?;
        let mut task = Map::new();
        task.insert(
            "data-file".into(),
            with_stats(&t.data_file, stats).to_rest_json(t.spec_id, &ptype),
        );
        if !refs.is_empty() {
            task.insert("delete-file-references".into(), json!(refs));
        }
        task.insert("residual-filter".into(), bound_to_json(&t.residual));
        out_tasks.push(Value::Object(task));
    }
    let mut deletes = Vec::with_capacity(delete_files.len());
    for (d, spec) in delete_files.iter().zip(&delete_specs) {
        let spec_id = spec.unwrap_or_else(|| metadata.default_spec_id());
        let ptype = partition_type(spec_id)?;
        deletes.push(with_stats(d, stats).to_rest_json(spec_id, &ptype));
    }
    Ok(json!({
        "status": "completed",
        "file-scan-tasks": out_tasks,
        "delete-files": deletes,
        "plan-tasks": [],
    }))
}

/// The REST JSON form of a bound expression (terms by their full column names).
pub fn bound_to_json(e: &BoundExpression) -> Value {
    match e {
        BoundExpression::True => Value::Bool(true),
        BoundExpression::False => Value::Bool(false),
        BoundExpression::And(l, r) => {
            json!({"type": "and", "left": bound_to_json(l), "right": bound_to_json(r)})
        }
        BoundExpression::Or(l, r) => {
            json!({"type": "or", "left": bound_to_json(l), "right": bound_to_json(r)})
        }
        BoundExpression::Not(c) => json!({"type": "not", "child": bound_to_json(c)}),
        BoundExpression::Predicate(p) => {
            let mut m = Map::new();
            m.insert("type".into(), Value::from(p.op().as_str()));
            m.insert("term".into(), Value::from(p.term().name.clone()));
            match p {
                BoundPredicate::Unary { .. } => {}
                BoundPredicate::Literal { literal, .. } => {
                    m.insert("value".into(), literal.to_json());
                }
                BoundPredicate::Set { literals, .. } => {
                    m.insert(
                        "values".into(),
                        Value::Array(
                            literals
                                .iter()
                                .map(floe_spec::values::Datum::to_json)
                                .collect(),
                        ),
                    );
                }
            }
            Value::Object(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use floe_spec::expr::Reference;
    use floe_spec::schema::Schema;
    use floe_spec::types::{NestedField, PrimitiveType, Type};
    use floe_spec::values::Datum;

    #[test]
    fn residuals_round_trip_through_json() {
        let schema = Schema::builder()
            .with_fields(vec![
                NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
                NestedField::optional(2, "data", Type::Primitive(PrimitiveType::String)),
            ])
            .build()
            .unwrap();
        let e = Reference::new("id")
            .less_than(Datum::Long(5))
            .and(Reference::new("data").is_null())
            .or(Reference::new("id").is_in([Datum::Long(7), Datum::Long(9)]));
        let bound = e.bind(&schema, true).unwrap();
        let json = bound_to_json(&bound);
        let back = Expression::from_json(&json)
            .unwrap()
            .bind(&schema, true)
            .unwrap();
        assert_eq!(back, bound);
        assert_eq!(bound_to_json(&BoundExpression::True), Value::Bool(true));
    }
}
