//! Request extraction with Iceberg error answers: JSON bodies, namespace path segments
//! and query flags.
//!
//! - [`IcebergJson`] reads the body (within the configured limit: over it is 413) and
//!   parses it; malformed JSON, wrong types, unknown fields and unknown update actions
//!   are 400 `BadRequestException` with serde's message, which names the field.
//! - [`split_namespace`] decodes a `{namespace}` path segment: levels joined by the
//!   unit separator 0x1F (`%1F` on the wire, what PyIceberg and Java send by default)
//!   or by the separator the server advertises.
//! - [`parse_bool`] reads `purgeRequested=False` the way Java's `Boolean.parseBoolean`
//!   does (PyIceberg sends Python's `str(bool)`).
//!
//! ```
//! use floe_server::rest::extract::{parse_bool, split_namespace};
//! assert_eq!(split_namespace("a\u{1f}b", None), vec!["a", "b"]);
//! assert_eq!(split_namespace("a.b", Some(".")), vec!["a", "b"]);
//! assert!(!parse_bool(Some("False")));
//! assert!(parse_bool(Some("TRUE")));
//! ```

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The unit separator, the default namespace separator of the REST spec.
pub const UNIT_SEPARATOR: char = '\u{1f}';

/// A JSON request body parsed with Iceberg error answers.
#[derive(Debug, Clone)]
pub struct IcebergJson<T>(pub T);

/// The configured request body limit, for the 413 message (an extension set by the
/// router).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

impl<S, T> FromRequest<S> for IcebergJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = req.extensions().get::<BodyLimit>().map_or(0, |l| l.0);
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large(limit)
            } else {
                ApiError::bad_request(format!(
                    "cannot read the request body: {}",
                    rejection.body_text()
                ))
            }
        })?;
        parse_json(&bytes).map(IcebergJson)
    }
}

/// Parses a JSON request body; errors are 400 `BadRequestException` with serde's
/// message.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("malformed request body: {e}")))
}

/// Splits a decoded `{namespace}` path segment into its levels: on 0x1F always, and on
/// `separator` too when the server advertises one.
pub fn split_namespace(segment: &str, separator: Option<&str>) -> Vec<String> {
    let levels = segment.split(UNIT_SEPARATOR);
    match separator {
        Some(sep) if !sep.is_empty() && sep != "\u{1f}" => levels
            .flat_map(|l| l.split(sep))
            .map(str::to_owned)
            .collect(),
        _ => levels.map(str::to_owned).collect(),
    }
}

/// Java's `Boolean.parseBoolean`: `true` in any case is true, anything else (or
/// nothing) false.
pub fn parse_bool(value: Option<&str>) -> bool {
    value.is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purge_requested_forms() {
        for (v, want) in [
            (Some("True"), true),
            (Some("true"), true),
            (Some("False"), false),
            (Some("false"), false),
            (Some("yes"), false),
            (None, false),
        ] {
            assert_eq!(parse_bool(v), want, "{v:?}");
        }
    }

    #[test]
    fn namespaces_split() {
        assert_eq!(split_namespace("a", None), vec!["a"]);
        assert_eq!(
            split_namespace("a\u{1f}b\u{1f}c", None),
            vec!["a", "b", "c"]
        );
        assert_eq!(
            split_namespace("a\u{1f}b::c", Some("::")),
            vec!["a", "b", "c"]
        );
    }

    #[test]
    fn json_errors_are_bad_requests() {
        let e = parse_json::<serde_json::Value>(b"{nope").unwrap_err();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(e.message().contains("malformed request body"));
        assert!(parse_json::<serde_json::Value>(b"  ").is_err());
    }
}
