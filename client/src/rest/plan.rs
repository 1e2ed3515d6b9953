//! Server-side scan planning through the Iceberg REST API: [`RestCatalog::plan_scan`].
//!
//! The scan is configured and checked locally ([`TableScan`]: snapshot, read schema,
//! projection, bound filter); planning is asked of the server with
//! `POST .../tables/{table}/plan` (`PlanTableScanRequest`: `snapshot-id`, `select`,
//! `filter` as Iceberg expression JSON, `case-sensitive`, `use-snapshot-schema`), and
//! the answer (`PlanTableScanResult`) is turned into floe-table
//! [`FileScanTask`]s that the table crate's reader reads with deletes applied:
//!
//! - `completed`: `file-scan-tasks` (each `data-file`, its `delete-file-references`
//!   as indexes into the same answer's `delete-files`, and its `residual-filter`,
//!   the scan's filter when absent) and `plan-tasks`, each fetched with
//!   `POST .../tasks` (`FetchScanTasksResult`, which may hold more plan tasks).
//! - `submitted`: the plan id is polled with `GET .../plan/{plan-id}` (waits doubling
//!   from 50 ms to 2 s) until it is completed, failed or cancelled; after
//!   [`PLANNING_TIMEOUT`] the plan is cancelled (`DELETE .../plan/{plan-id}`) and the
//!   scan fails.
//! - `failed` and `cancelled`: an error naming the request and the server's message.
//!
//! When the server does not plan, [`RestCatalog::plan_scan`] answers `None` and the
//! caller plans client-side: the plan endpoint is not in the config's `endpoints`, or
//! the server answers it with 404 (not a missing table) or 406/501
//! (`NotImplementedException`, `UnsupportedOperationException`). The catalog then
//! remembers not to ask again. Any other failure (a missing table, a server error, an
//! answer that is not a planning result) is an error, never a silent fallback.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use floe_catalog::TableIdent;
use floe_spec::expr::{BoundExpression, Expression};
use floe_spec::manifest::{DataContentType, DataFile};
use floe_spec::table_metadata::TableMetadata;
use floe_spec::types::StructType;
use floe_spec::{Error, ErrorKind, Result};
use floe_table::scan::{FileScanTask, TableScan};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::rest::RestCatalog;
use crate::rest::http::{Answer, Call};
use crate::rest::model::ErrorModel;

/// `POST .../plan`: plan a table scan.
pub const PLAN_ENDPOINT: &str = "/namespaces/{namespace}/tables/{table}/plan";
/// `GET .../plan/{plan-id}`: the result of an asynchronous plan.
pub const PLAN_RESULT_ENDPOINT: &str = "/namespaces/{namespace}/tables/{table}/plan/{plan-id}";
/// `POST .../tasks`: the file scan tasks of a plan task.
pub const TASKS_ENDPOINT: &str = "/namespaces/{namespace}/tables/{table}/tasks";

/// How long a submitted (asynchronous) plan is polled before it is cancelled.
pub const PLANNING_TIMEOUT: Duration = Duration::from_mins(5);

/// The body of `POST .../plan` (`PlanTableScanRequest`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PlanTableScanRequest {
    /// The snapshot to scan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<i64>,
    /// The columns to read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub select: Option<Vec<String>>,
    /// The row filter (Iceberg expression JSON); absent: every row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<Value>,
    /// Whether names match case-sensitively.
    pub case_sensitive: bool,
    /// Whether the snapshot's schema is read instead of the current one.
    pub use_snapshot_schema: bool,
    /// The columns whose statistics the data files should carry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stats_fields: Option<Vec<String>>,
}

impl PlanTableScanRequest {
    /// The request for a checked scan of a table with `metadata`: its snapshot, its
    /// output columns and its bound filter, by the read schema's full column names
    /// (so `case-sensitive` is true).
    pub fn for_scan(metadata: &TableMetadata, scan: &TableScan) -> Result<Self> {
        let schema = scan.read_schema();
        let mut select = Vec::with_capacity(scan.projected_field_ids().len());
        for id in scan.projected_field_ids() {
            let field = schema.field_by_id(*id).ok_or_else(|| {
                Error::new(
                    ErrorKind::Unexpected,
                    format!("scan planning: column id {id} is not in the read schema"),
                )
            })?;
            select.push(field.name.clone());
        }
        let filter = match scan.filter() {
            BoundExpression::True => None,
            f => Some(f.unbind()?.to_json()),
        };
        Ok(Self {
            snapshot_id: scan.snapshot().map(|s| s.snapshot_id),
            select: Some(select),
            filter,
            case_sensitive: true,
            use_snapshot_schema: schema.schema_id() != metadata.current_schema_id(),
            stats_fields: None,
        })
    }
}

/// A planning answer (`PlanTableScanResult` or `FetchPlanningResult`), by `status`.
#[derive(Debug, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
enum PlanningResult {
    Completed {
        #[serde(flatten)]
        tasks: ScanTasks,
    },
    Submitted {
        #[serde(rename = "plan-id", default)]
        plan_id: Option<String>,
    },
    Failed {
        error: ErrorModel,
    },
    Cancelled {},
}

/// `ScanTasks` (also the `FetchScanTasksResult`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct ScanTasks {
    #[serde(default)]
    delete_files: Vec<Value>,
    #[serde(default)]
    file_scan_tasks: Vec<FileScanTaskModel>,
    #[serde(default)]
    plan_tasks: Vec<String>,
}

/// One `FileScanTask` of an answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct FileScanTaskModel {
    data_file: Value,
    #[serde(default)]
    delete_file_references: Vec<i64>,
    #[serde(default)]
    residual_filter: Option<Value>,
}

/// The body of `POST .../tasks`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
struct FetchScanTasksRequest<'a> {
    plan_task: &'a str,
}

/// Turns answers into tasks of one scan.
struct TaskMaker<'a> {
    metadata: &'a TableMetadata,
    scan: &'a TableScan,
    partition_types: HashMap<i32, StructType>,
    out: Vec<FileScanTask>,
}

impl<'a> TaskMaker<'a> {
    fn new(metadata: &'a TableMetadata, scan: &'a TableScan) -> Self {
        Self {
            metadata,
            scan,
            partition_types: HashMap::new(),
            out: Vec::new(),
        }
    }

    fn partition_type(&mut self, spec_id: i32) -> Result<StructType> {
        if let Some(t) = self.partition_types.get(&spec_id) {
            return Ok(t.clone());
        }
        let spec = self
            .metadata
            .partition_spec_by_id(spec_id)
            .ok_or_else(|| Error::invalid(format!("the table has no partition spec {spec_id}")))?;
        let t = spec.partition_type(self.metadata.current_schema())?;
        self.partition_types.insert(spec_id, t.clone());
        Ok(t)
    }

    fn content_file(&mut self, v: &Value) -> Result<(i32, DataFile)> {
        let spec_id = match v.get("spec-id") {
            Some(id) => id
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .ok_or_else(|| Error::invalid(format!("`spec-id` {id} is not a spec id")))?,
            None => return Err(Error::invalid("the file has no `spec-id`")),
        };
        let ptype = self.partition_type(spec_id)?;
        let file = DataFile::from_rest_json(v, self.metadata.current_schema(), &ptype)?;
        Ok((spec_id, file))
    }

    /// Adds the file scan tasks of one answer; returns its plan tasks.
    fn add(&mut self, answer: ScanTasks, what: &str) -> Result<Vec<String>> {
        let bad = |part: String, e: &Error| {
            Error::new(
                ErrorKind::Io,
                format!("{what}: {part} is invalid: {}", e.message()),
            )
        };
        let mut deletes = Vec::with_capacity(answer.delete_files.len());
        for (i, v) in answer.delete_files.iter().enumerate() {
            let (_, file) = self
                .content_file(v)
                .map_err(|e| bad(format!("delete-files[{i}]"), &e))?;
            if file.content == DataContentType::Data {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "{what}: delete-files[{i}] (`{}`) is a data file, not a delete file",
                        file.file_path
                    ),
                ));
            }
            deletes.push(Arc::new(file));
        }
        let schema = Arc::clone(self.scan.read_schema());
        let project = self.scan.projected_field_ids().to_vec();
        for (i, t) in answer.file_scan_tasks.into_iter().enumerate() {
            let part = format!("file-scan-tasks[{i}]");
            let (spec_id, data) = self
                .content_file(&t.data_file)
                .map_err(|e| bad(format!("{part}.data-file"), &e))?;
            if data.content != DataContentType::Data {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "{what}: {part}.data-file (`{}`) is not a data file",
                        data.file_path
                    ),
                ));
            }
            let mut task_deletes = Vec::with_capacity(t.delete_file_references.len());
            for r in &t.delete_file_references {
                let d = usize::try_from(*r)
                    .ok()
                    .and_then(|r| deletes.get(r))
                    .ok_or_else(|| {
                        Error::new(
                            ErrorKind::Io,
                            format!(
                                "{what}: {part} references delete file {r}, but the answer has {} delete files",
                                deletes.len()
                            ),
                        )
                    })?;
                task_deletes.push(Arc::clone(d));
            }
            // Position deletes first, as client-side planning orders them.
            task_deletes.sort_by_key(|d| d.content != DataContentType::PositionDeletes);
            let residual = match &t.residual_filter {
                None | Some(Value::Null) => self.scan.filter().clone(),
                Some(v) => Expression::from_json(v)
                    .and_then(|e| e.rewrite_not().bind(&schema, true))
                    .map_err(|e| bad(format!("{part}.residual-filter"), &e))?,
            };
            let length = u64::try_from(data.file_size_in_bytes).unwrap_or(0);
            self.out.push(FileScanTask {
                data_file: Arc::new(data),
                // The REST API does not carry sequence numbers: the server already
                // matched the delete files to the data file.
                data_sequence_number: 0,
                deletes: task_deletes,
                spec_id,
                residual,
                schema: Arc::clone(&schema),
                project_field_ids: project.clone(),
                start: 0,
                length,
            });
        }
        Ok(answer.plan_tasks)
    }
}

/// Whether an error answer to `POST .../plan` means the server does not plan scans.
fn planning_not_offered(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::FeatureUnsupported | ErrorKind::NotFound
    )
}

impl RestCatalog {
    /// Whether the server advertises scan planning (`POST .../plan`) and has not
    /// answered it as not implemented.
    pub fn offers_scan_planning(&self) -> bool {
        self.supports("POST", PLAN_ENDPOINT) && !self.planning_refused().load(Ordering::Relaxed)
    }

    /// Plans `scan` of table `ident` (whose metadata is `metadata`) on the server; see
    /// the module docs. `None`: the server does not plan scans, plan client-side.
    pub async fn plan_scan(
        &self,
        ident: &TableIdent,
        metadata: &TableMetadata,
        scan: &TableScan,
    ) -> Result<Option<Vec<FileScanTask>>> {
        if !self.offers_scan_planning() {
            return Ok(None);
        }
        if scan.snapshot().is_none() {
            // A table without snapshots has nothing to plan.
            return Ok(Some(Vec::new()));
        }
        let request = PlanTableScanRequest::for_scan(metadata, scan)?;
        let url = self.table_url(ident, &["plan"])?;
        let call = Call::new(Method::POST, url).json(&request)?;
        let answer = match self.send(call).await {
            Ok(a) => a,
            Err(e) if planning_not_offered(&e) => {
                self.planning_refused().store(true, Ordering::Relaxed);
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let mut maker = TaskMaker::new(metadata, scan);
        let mut pending = match answer.json::<PlanningResult>("scan plan (PlanTableScanResult)")? {
            PlanningResult::Completed { tasks } => maker.add(tasks, &describe(&answer))?,
            PlanningResult::Submitted { plan_id } => {
                let plan_id = plan_id.ok_or_else(|| {
                    Error::new(
                        ErrorKind::Io,
                        format!(
                            "{}: the answer has status `submitted` but no `plan-id`",
                            describe(&answer)
                        ),
                    )
                })?;
                let tasks = self.await_plan(ident, &plan_id).await?;
                maker.add(tasks, &format!("plan {plan_id} of {ident}"))?
            }
            PlanningResult::Failed { error } => return Err(failed(&answer, &error)),
            PlanningResult::Cancelled {} => return Err(cancelled(&describe(&answer))),
        };
        while let Some(task) = pending.pop() {
            let url = self.table_url(ident, &["tasks"])?;
            let call =
                Call::new(Method::POST, url).json(&FetchScanTasksRequest { plan_task: &task })?;
            let answer = self.send(call).await?;
            let tasks: ScanTasks = answer.json("scan tasks (FetchScanTasksResult)")?;
            pending.extend(maker.add(tasks, &describe(&answer))?);
        }
        Ok(Some(maker.out))
    }

    /// Polls a submitted plan until it is no longer `submitted`.
    async fn await_plan(&self, ident: &TableIdent, plan_id: &str) -> Result<ScanTasks> {
        let url = self.table_url(ident, &["plan", plan_id])?;
        let deadline = tokio::time::Instant::now() + PLANNING_TIMEOUT;
        let mut wait = Duration::from_millis(50);
        loop {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(2));
            let answer = self.send(Call::new(Method::GET, url.clone())).await?;
            match answer.json::<PlanningResult>("planning result (FetchPlanningResult)")? {
                PlanningResult::Completed { tasks } => return Ok(tasks),
                PlanningResult::Submitted { .. } => {}
                PlanningResult::Failed { error } => return Err(failed(&answer, &error)),
                PlanningResult::Cancelled {} => return Err(cancelled(&describe(&answer))),
            }
            if tokio::time::Instant::now() >= deadline {
                // Best effort: the server may drop the plan on its own.
                let _ = self.send(Call::new(Method::DELETE, url.clone())).await;
                return Err(Error::new(
                    ErrorKind::Io,
                    format!(
                        "GET {url}: plan {plan_id} of {ident} was not completed within {} s; it was cancelled",
                        PLANNING_TIMEOUT.as_secs()
                    ),
                ));
            }
        }
    }
}

fn describe(answer: &Answer) -> String {
    format!("{} {}", answer.method, answer.url)
}

fn failed(answer: &Answer, error: &ErrorModel) -> Error {
    let kind = crate::rest::error::kind_of(error.code, &error.error_type, false);
    Error::new(
        kind,
        format!(
            "{}: scan planning failed: {} ({}, code {})",
            describe(answer),
            error.message,
            if error.error_type.is_empty() {
                "no error type"
            } else {
                error.error_type.as_str()
            },
            error.code
        ),
    )
}

fn cancelled(what: &str) -> Error {
    Error::new(
        ErrorKind::Io,
        format!("{what}: the server cancelled scan planning"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planning_answers_parse_by_status() {
        let v: PlanningResult = serde_json::from_str(
            r#"{"status":"completed","plan-id":"p","file-scan-tasks":[{"data-file":{},"delete-file-references":[0]}],"delete-files":[{}],"plan-tasks":["t1"]}"#,
        )
        .unwrap();
        match v {
            PlanningResult::Completed { tasks } => {
                assert_eq!(tasks.file_scan_tasks.len(), 1);
                assert_eq!(tasks.delete_files.len(), 1);
                assert_eq!(tasks.plan_tasks, ["t1"]);
            }
            other => panic!("{other:?}"),
        }
        let v: PlanningResult =
            serde_json::from_str(r#"{"status":"submitted","plan-id":"p1"}"#).unwrap();
        assert!(matches!(v, PlanningResult::Submitted { plan_id: Some(p) } if p == "p1"));
        let v: PlanningResult = serde_json::from_str(
            r#"{"status":"failed","error":{"message":"boom","type":"ServiceFailureException","code":500}}"#,
        )
        .unwrap();
        assert!(matches!(v, PlanningResult::Failed { error } if error.message == "boom"));
        assert!(matches!(
            serde_json::from_str::<PlanningResult>(r#"{"status":"cancelled"}"#).unwrap(),
            PlanningResult::Cancelled {}
        ));
        let e = serde_json::from_str::<PlanningResult>(r#"{"status":"done"}"#).unwrap_err();
        assert!(e.to_string().contains("done"), "{e}");
        assert!(serde_json::from_str::<PlanningResult>(r#"{"tasks":[]}"#).is_err());
    }
}
