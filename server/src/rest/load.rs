//! `loadTable` and the load answers of create and register: the body, its ETag and
//! the `304 Not Modified` path.
//!
//! A load of an unchanged table is answered without a database round trip, without
//! the object store and without JSON work:
//!
//! 1. the table's current metadata location comes from the server's
//!    [`TablePointers`](crate::pointers::TablePointers) (see there for the guarantee:
//!    a commit through this process is seen by the next load; one by another process
//!    within the pointer TTL), together with the two ETags of that location computed
//!    once ([`LoadPointer`]);
//! 2. `If-None-Match` is compared with the ETag: a match is a `304` without body;
//! 3. the body for (location, snapshots mode, encoding) comes from the load-result
//!    cache as a [`Bytes`] clone (no copy): serialized, and gzipped for clients that
//!    accept gzip, once per metadata file.
//!
//! A metadata file is immutable, so a location names its content: the ETag is a hash
//! of the location and the snapshots mode.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use floe_catalog::LoadedTable;
use floe_spec::ErrorKind;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::app::{AppState, json_body};
use crate::error::{ApiError, ApiResult};
use crate::rest::model::LoadTableResult;
use crate::rest::routes::table;

/// Which snapshots a load returns (`snapshots=all|refs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SnapshotMode {
    /// Every snapshot.
    All,
    /// The snapshots that refs point at.
    Refs,
}

impl SnapshotMode {
    fn parse(query: &HashMap<String, String>) -> ApiResult<Self> {
        match query.get("snapshots").map(String::as_str) {
            None | Some("") => Ok(Self::All),
            Some(s) if s.eq_ignore_ascii_case("all") => Ok(Self::All),
            Some(s) if s.eq_ignore_ascii_case("refs") => Ok(Self::Refs),
            Some(other) => Err(ApiError::bad_request(format!(
                "invalid snapshots mode `{other}`: expected `all` or `refs`"
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Refs => "refs",
        }
    }

    /// The load-result cache key of the answer in this mode and encoding.
    fn cache_key(self, gzip: bool) -> &'static str {
        match (self, gzip) {
            (Self::All, false) => "all",
            (Self::Refs, false) => "refs",
            (Self::All, true) => "all+gzip",
            (Self::Refs, true) => "refs+gzip",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::All => 0,
            Self::Refs => 1,
        }
    }
}

/// The ETag of a load answer: a hash of the metadata location and the snapshot mode
/// (metadata files are immutable, so the location names the content).
pub(crate) fn etag(metadata_location: &str, mode: SnapshotMode) -> String {
    let mut h = Sha256::new();
    h.update(metadata_location.as_bytes());
    h.update([0]);
    h.update(mode.as_str().as_bytes());
    let digest = h.finalize();
    let hex = digest[..16].iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    format!("\"{hex}\"")
}

fn if_none_match_hits(headers: &HeaderMap, etag: &[u8]) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .map(|t| {
            let t = t.trim_ascii();
            t.strip_prefix(b"W/").unwrap_or(t)
        })
        .any(|t| t == b"*" || t == etag)
}

/// Whether the request accepts a gzip-encoded answer (`Accept-Encoding: gzip` with a
/// non-zero quality).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let zero = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            coding.eq_ignore_ascii_case("gzip") && !zero
        })
}

/// The metadata JSON of a table, with only ref heads in `snapshots` for `refs` mode.
pub(crate) fn metadata_value(table: &LoadedTable, mode: SnapshotMode) -> ApiResult<Value> {
    let mut value = table.metadata.to_json_value()?;
    if mode == SnapshotMode::Refs {
        let heads: Vec<i64> = table
            .metadata
            .refs()
            .values()
            .map(|r| r.snapshot_id)
            .collect();
        if let Some(Value::Array(snapshots)) = value.get_mut("snapshots") {
            snapshots.retain(|s| {
                s.get("snapshot-id")
                    .and_then(Value::as_i64)
                    .is_some_and(|id| heads.contains(&id))
            });
        }
    }
    Ok(value)
}

/// A table's current metadata location with the ETags of its answers, computed once
/// per location; what the server's table-pointer cache holds.
#[derive(Debug)]
pub struct LoadPointer {
    location: Arc<str>,
    /// By [`SnapshotMode::index`].
    etags: [HeaderValue; 2],
}

impl LoadPointer {
    fn new(location: &str) -> ApiResult<Self> {
        let tag = |mode| {
            HeaderValue::from_str(&etag(location, mode)).map_err(|e| {
                ApiError::from(
                    floe_spec::Error::new(ErrorKind::Unexpected, "invalid ETag").with_source(e),
                )
            })
        };
        Ok(Self {
            location: Arc::from(location),
            etags: [tag(SnapshotMode::All)?, tag(SnapshotMode::Refs)?],
        })
    }

    fn etag(&self, mode: SnapshotMode) -> &HeaderValue {
        &self.etags[mode.index()]
    }
}

fn unexpected(what: &'static str, e: impl std::error::Error + Send + Sync + 'static) -> ApiError {
    ApiError::from(floe_spec::Error::new(ErrorKind::Unexpected, what).with_source(e))
}

/// The serialized `LoadTableResult` of `table` in `mode`.
fn serialize(table: &LoadedTable, mode: SnapshotMode) -> ApiResult<Bytes> {
    let metadata = metadata_value(table, mode)?;
    let bytes = serde_json::to_vec(&LoadTableResult {
        metadata_location: table.metadata_location.as_deref(),
        metadata: &metadata,
        config: BTreeMap::new(),
        storage_credentials: Vec::new(),
    })
    .map_err(|e| unexpected("cannot serialize the answer", e))?;
    Ok(Bytes::from(bytes))
}

fn gzip(plain: &[u8]) -> ApiResult<Bytes> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut encoder, plain)
        .and_then(|()| encoder.finish())
        .map(Bytes::from)
        .map_err(|e| unexpected("cannot gzip the answer", e))
}

/// Builds (and caches) the body of the load answer of `table` (whose current
/// location `pointer` names) in `mode`, gzipped or not, after a cache miss for it;
/// the gzipped body compresses the plain one, itself cached or built.
fn build_body(
    state: &AppState,
    pointer: &LoadPointer,
    table: &LoadedTable,
    mode: SnapshotMode,
    gzipped: bool,
) -> ApiResult<Bytes> {
    let cache = &state.caches().load_results;
    let cached_plain = if gzipped {
        cache.get_at(&pointer.location, mode.cache_key(false))
    } else {
        None
    };
    let plain = if let Some(plain) = cached_plain {
        plain
    } else {
        let plain = serialize(table, mode)?;
        cache.insert_at(&pointer.location, mode.cache_key(false), plain.clone());
        plain
    };
    if !gzipped {
        return Ok(plain);
    }
    let zipped = gzip(&plain)?;
    cache.insert_at(&pointer.location, mode.cache_key(true), zipped.clone());
    Ok(zipped)
}

fn answer(body: Bytes, etag: &HeaderValue, gzipped: bool) -> Response {
    let mut response = json_body(StatusCode::OK, body);
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag.clone());
    if gzipped {
        // The compression layer leaves an answer that is already encoded alone.
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// The load answer (`snapshots=all`, not gzipped: the compression layer applies) of
/// a table just created, staged or registered.
pub(crate) fn load_result(state: &AppState, table: &LoadedTable) -> ApiResult<Response> {
    let mode = SnapshotMode::All;
    let Some(location) = &table.metadata_location else {
        // A staged table has no metadata file yet: nothing to cache or tag.
        return Ok(json_body(StatusCode::OK, serialize(table, mode)?));
    };
    let pointer = LoadPointer::new(location)?;
    let cached = state
        .caches()
        .load_results
        .get_at(&pointer.location, mode.cache_key(false));
    let body = match cached {
        Some(body) => body,
        None => build_body(state, &pointer, table, mode, false)?,
    };
    Ok(answer(body, pointer.etag(mode), false))
}

/// `GET .../tables/{table}`: see the module documentation.
pub(crate) async fn load_table(
    State(state): State<AppState>,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let ident = table(&state, &params)?;
    let mode = SnapshotMode::parse(&query)?;
    let pointers = state.table_pointers();
    let (pointer, mut loaded) = match pointers.get(&ident) {
        Ok(pointer) => (pointer, None),
        Err(ticket) => {
            let loaded = state.catalog().load_table(&ident).await?;
            let Some(location) = &loaded.metadata_location else {
                // Not from a SQL catalog: no location to cache or tag by.
                return Ok(json_body(StatusCode::OK, serialize(&loaded, mode)?));
            };
            let pointer = Arc::new(LoadPointer::new(location)?);
            pointers.insert(&ident, Arc::clone(&pointer), ticket);
            (pointer, Some(loaded))
        }
    };
    let tag = pointer.etag(mode);
    if if_none_match_hits(&headers, tag.as_bytes()) {
        let mut response = StatusCode::NOT_MODIFIED.into_response();
        response.headers_mut().insert(header::ETAG, tag.clone());
        return Ok(response);
    }
    let gzipped = accepts_gzip(&headers);
    let cache = &state.caches().load_results;
    if let Some(body) = cache.get_at(&pointer.location, mode.cache_key(gzipped)) {
        return Ok(answer(body, tag, gzipped));
    }
    // The body is not cached (evicted, or never built in this mode): it needs the
    // metadata, read through the catalog (which may have moved on since the pointer
    // was cached: then the answer is the newer table's).
    let (pointer, loaded) = if let Some(loaded) = loaded.take() {
        (pointer, loaded)
    } else {
        let loaded = state.catalog().load_table(&ident).await?;
        let Some(location) = &loaded.metadata_location else {
            return Ok(json_body(StatusCode::OK, serialize(&loaded, mode)?));
        };
        let pointer = if *location == *pointer.location {
            pointer
        } else {
            Arc::new(LoadPointer::new(location)?)
        };
        (pointer, loaded)
    };
    let body = build_body(&state, &pointer, &loaded, mode, gzipped)?;
    Ok(answer(body, pointer.etag(mode), gzipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etags_differ_by_location_and_mode() {
        let a = etag("file:///a/00001.metadata.json", SnapshotMode::All);
        assert_ne!(a, etag("file:///a/00002.metadata.json", SnapshotMode::All));
        assert_ne!(a, etag("file:///a/00001.metadata.json", SnapshotMode::Refs));
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_str(&format!("W/{a}, \"x\"")).unwrap(),
        );
        assert!(if_none_match_hits(&h, a.as_bytes()));
        assert!(!if_none_match_hits(
            &h,
            etag("file:///a/00002.metadata.json", SnapshotMode::All).as_bytes()
        ));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(if_none_match_hits(&h, a.as_bytes()));
    }

    #[test]
    fn snapshot_modes_parse_case_insensitively() {
        let q = |v: &str| HashMap::from([("snapshots".to_owned(), v.to_owned())]);
        assert_eq!(SnapshotMode::parse(&q("REFS")).unwrap(), SnapshotMode::Refs);
        assert_eq!(SnapshotMode::parse(&q("all")).unwrap(), SnapshotMode::All);
        assert_eq!(
            SnapshotMode::parse(&HashMap::new()).unwrap(),
            SnapshotMode::All
        );
        assert!(SnapshotMode::parse(&q("some")).is_err());
    }

    #[test]
    fn gzip_acceptance() {
        let h = |v: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(v));
            h
        };
        assert!(accepts_gzip(&h("gzip, deflate")));
        assert!(accepts_gzip(&h("br;q=1, GZIP;q=0.5")));
        assert!(!accepts_gzip(&h("gzip;q=0")));
        assert!(!accepts_gzip(&h("identity")));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
