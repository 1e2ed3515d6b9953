//! Floe's stream extensions of the REST API: group-committed appends and stream
//! writers.
//!
//! - `POST /v1/{prefix}/namespaces/{namespace}/tables/{table}/appends` — an append
//!   intent: `{"writer-id", "epoch", "seq", "watermark-ms"?, "after-seq"?,
//!   "data-files": [REST DataFile JSON, as in scan planning]}`. The server gathers the intents that arrive
//!   for a table within a short window (`floe serve --group-commit-window-ms`, or until
//!   `--group-commit-max` intents) into one snapshot (see `floe_table::stream`) and
//!   answers each with `{"snapshot-id", "sequence-number", "duplicate"}`. A batch whose
//!   seq was committed before answers the original snapshot with `"duplicate": true`;
//!   a fenced writer (an epoch older than the writer's current one) gets 409
//!   `CommitFailedException`; a bad body or data file (unknown field, a file outside
//!   the table location, a spec id or partition arity not of the default spec, a
//!   missing file) gets 400 `BadRequestException` naming what is wrong.
//!
//!   `after-seq` (optional) is for writers with several micro-batches in flight: the
//!   seq this micro-batch directly follows (`-1`: the writer's first). The intent
//!   commits only if that seq is the writer's last committed one or commits in the
//!   same group, so a failed micro-batch never leaves a gap behind a later one.
//!   Otherwise it gets 409 [`PREDECESSOR_NOT_COMMITTED`] (nothing committed): the
//!   writer sends it again once the predecessor is acknowledged. An `after-seq`
//!   below -1 or not below `seq` is a 400. Without `after-seq`, any seq above the
//!   last committed one is accepted.
//! - `GET .../tables/{table}/writers` — the progress of every writer of the table:
//!   `{"writers": [{"writer-id", "epoch", "last-seq", "snapshot-id", "watermark-ms",
//!   "updated-at-ms"}], "low-watermark-ms"}` where the low watermark is the minimum
//!   over the writers that reported one (`null` when none did).
//! - `POST .../tables/{table}/writers/{writer-id}` — opens a writer for a remote stream
//!   writer: takes the next epoch (fencing older instances) and answers the writer's
//!   progress in the listing's form; the writer resumes at `last-seq + 1` with that
//!   epoch.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use floe_catalog::WriterProgress;
use floe_spec::manifest::DataFile;
use floe_table::stream::{AppendIntent, Refusal};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app::{AppState, json_response};
use crate::error::{ApiError, ApiResult};
use crate::rest::extract::IcebergJson;

/// The body of `POST .../appends`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct AppendFilesRequest {
    /// The stream writer.
    pub writer_id: String,
    /// Its epoch (from opening the writer).
    pub epoch: i64,
    /// The micro-batch sequence number.
    pub seq: i64,
    /// Event-time watermark (ms) up to which the writer's data is complete.
    #[serde(default)]
    pub watermark_ms: Option<i64>,
    /// The seq this micro-batch directly follows (`-1`: the writer's first); see the
    /// module docs.
    #[serde(default)]
    pub after_seq: Option<i64>,
    /// The data files (REST `DataFile` JSON).
    pub data_files: Vec<Value>,
}

/// The answer of `POST .../appends`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct AppendFilesResponse {
    /// The snapshot that holds the batch.
    pub snapshot_id: i64,
    /// Its sequence number.
    pub sequence_number: i64,
    /// Whether the batch had been committed before (nothing added now).
    pub duplicate: bool,
}

/// One writer in the answers of the writer endpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct WriterProgressModel {
    /// The writer.
    pub writer_id: String,
    /// Its current epoch.
    pub epoch: i64,
    /// Its last committed micro-batch (-1: none yet).
    pub last_seq: i64,
    /// The snapshot of that micro-batch.
    pub snapshot_id: Option<i64>,
    /// Its last reported watermark (ms).
    pub watermark_ms: Option<i64>,
    /// When its progress was last recorded (ms since the Unix epoch).
    pub updated_at_ms: i64,
}

impl From<WriterProgress> for WriterProgressModel {
    fn from(p: WriterProgress) -> Self {
        Self {
            writer_id: p.writer_id,
            epoch: p.epoch,
            last_seq: p.last_seq,
            snapshot_id: p.snapshot_id,
            watermark_ms: p.watermark,
            updated_at_ms: p.updated_at_ms,
        }
    }
}

/// The answer of `GET .../writers`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ListWritersResponse {
    /// Every writer of the table, by id.
    pub writers: Vec<WriterProgressModel>,
    /// The minimum watermark over the writers that reported one.
    pub low_watermark_ms: Option<i64>,
}

/// The error `type` of a 409 answer to an intent whose `after-seq` predecessor is
/// not committed (yet): retry it once the predecessor is acknowledged.
pub const PREDECESSOR_NOT_COMMITTED: &str = "PredecessorNotCommittedException";

fn unsupported() -> ApiError {
    ApiError::new(
        StatusCode::NOT_ACCEPTABLE,
        "UnsupportedOperationException",
        "this server's catalog has no object store for group-committed appends",
    )
}

fn ok_json<T: Serialize>(body: &T) -> Response {
    json_response(StatusCode::OK, serde_json::to_vec(body).unwrap_or_default())
}

/// Reads the data files of an append body against the table's default spec.
fn data_files(
    metadata: &floe_spec::table_metadata::TableMetadata,
    files: &[Value],
) -> ApiResult<Vec<DataFile>> {
    let spec = metadata.default_partition_spec();
    let schema = metadata.current_schema();
    let partition_type = spec.partition_type(schema)?;
    let mut out = Vec::with_capacity(files.len());
    for (i, v) in files.iter().enumerate() {
        let bad = |m: String| ApiError::bad_request(format!("data-files[{i}]: {m}"));
        match v.get("spec-id") {
            None | Some(Value::Null) => {}
            Some(id) if id.as_i64() == Some(i64::from(spec.spec_id)) => {}
            Some(id) => {
                return Err(bad(format!(
                    "spec-id {id} is not the table's default partition spec {}",
                    spec.spec_id
                )));
            }
        }
        let file = DataFile::from_rest_json(v, schema, &partition_type)
            .map_err(|e| bad(e.message().to_owned()))?;
        out.push(file);
    }
    Ok(out)
}

/// `POST .../tables/{table}/appends`.
pub(crate) async fn append_files(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    IcebergJson(req): IcebergJson<AppendFilesRequest>,
) -> ApiResult<Response> {
    let ident = super::routes::table(&state, &params)?;
    let committer = state.group_committer().ok_or_else(unsupported)?;
    let loaded = state.catalog().load_table(&ident).await?;
    let files = data_files(&loaded.metadata, &req.data_files)?;
    let ack = committer
        .submit_in_order(AppendIntent {
            table: ident,
            writer_id: req.writer_id,
            epoch: req.epoch,
            seq: req.seq,
            watermark_ms: req.watermark_ms,
            after_seq: req.after_seq,
            data_files: files,
        })
        .await
        .map_err(|refusal| match refusal {
            Refusal::Gap(e) => {
                ApiError::new(StatusCode::CONFLICT, PREDECESSOR_NOT_COMMITTED, e.message())
            }
            Refusal::Failed(e) => ApiError::from(e),
        })?;
    Ok(ok_json(&AppendFilesResponse {
        snapshot_id: ack.snapshot_id,
        sequence_number: ack.sequence_number,
        duplicate: ack.duplicate,
    }))
}

/// `GET .../tables/{table}/writers`.
pub(crate) async fn list_writers(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
) -> ApiResult<Response> {
    let ident = super::routes::table(&state, &params)?;
    let writers = state.catalog().list_writers(&ident).await?;
    let low_watermark_ms = writers.iter().filter_map(|w| w.watermark).min();
    Ok(ok_json(&ListWritersResponse {
        writers: writers.into_iter().map(Into::into).collect(),
        low_watermark_ms,
    }))
}

/// `POST .../tables/{table}/writers/{writer-id}`.
pub(crate) async fn open_writer(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
) -> ApiResult<Response> {
    let ident = super::routes::table(&state, &params)?;
    let writer_id = params
        .get("writer-id")
        .ok_or_else(|| ApiError::bad_request("missing writer id"))?;
    let opened = state.catalog().open_writer(&ident, writer_id).await?;
    Ok(ok_json(&WriterProgressModel::from(opened)))
}
