//! Iceberg error answers mapped to Floe's error kinds.
//!
//! The `type` of an Iceberg error body decides the kind (`NoSuchTableException` →
//! [`ErrorKind::NoSuchTable`], ...); without a known type the HTTP status does. A
//! server failure (5xx) on a commit is [`ErrorKind::CommitStateUnknown`]: the commit may
//! have happened, so the caller must reload before retrying. Every error names the
//! method and URL of the request and the server's message; an answer that is not an
//! Iceberg error body is described by its status and the start of its text.
//!
//! ```
//! use floe_client::rest::error::kind_of;
//! use floe_spec::ErrorKind;
//! assert_eq!(kind_of(404, "NoSuchTableException", false), ErrorKind::NoSuchTable);
//! assert_eq!(kind_of(503, "", true), ErrorKind::CommitStateUnknown);
//! assert_eq!(kind_of(409, "", false), ErrorKind::AlreadyExists);
//! ```

use floe_spec::{Error, ErrorKind};

use crate::rest::model::ErrorResponse;

/// The kind of an error answer with `status` and Iceberg `error_type`; `commit` says
/// whether the request was a commit (a 5xx then has an unknown outcome).
pub fn kind_of(status: u16, error_type: &str, commit: bool) -> ErrorKind {
    if commit && (status >= 500 || error_type == "CommitStateUnknownException") {
        return ErrorKind::CommitStateUnknown;
    }
    match error_type {
        "NoSuchNamespaceException" => return ErrorKind::NoSuchNamespace,
        "NoSuchTableException" | "NoSuchIcebergTableException" => {
            return ErrorKind::NoSuchTable;
        }
        "NoSuchViewException" => return ErrorKind::NoSuchView,
        "AlreadyExistsException" => return ErrorKind::AlreadyExists,
        "NamespaceNotEmptyException" => return ErrorKind::NamespaceNotEmpty,
        "CommitFailedException" => return ErrorKind::CommitFailed,
        "CommitStateUnknownException" => return ErrorKind::CommitStateUnknown,
        "BadRequestException"
        | "ValidationException"
        | "IllegalArgumentException"
        | "UnprocessableEntityException" => return ErrorKind::DataInvalid,
        "UnsupportedOperationException" | "NotImplementedException" => {
            return ErrorKind::FeatureUnsupported;
        }
        "NotFoundException" => return ErrorKind::NotFound,
        _ => {}
    }
    match status {
        400 | 401 | 403 | 413 | 422 => ErrorKind::DataInvalid,
        404 => ErrorKind::NotFound,
        406 | 405 | 501 => ErrorKind::FeatureUnsupported,
        409 if commit => ErrorKind::CommitFailed,
        409 => ErrorKind::AlreadyExists,
        _ => ErrorKind::Io,
    }
}

/// The start of a body for a message: at most 200 characters, control characters
/// escaped.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(200).collect();
    if text.chars().count() > 200 {
        out.push('…');
    }
    out.escape_debug().to_string()
}

/// The error of an answer with a non-success `status` to `method url`.
pub(crate) fn from_answer(
    method: &str,
    url: &str,
    status: u16,
    body: &[u8],
    commit: bool,
) -> Error {
    let (kind, message) = if let Ok(parsed) = serde_json::from_slice::<ErrorResponse>(body) {
        let error_type = if parsed.error.error_type.is_empty() {
            "no error type"
        } else {
            parsed.error.error_type.as_str()
        };
        (
            kind_of(status, &parsed.error.error_type, commit),
            format!(
                "{method} {url}: {} ({error_type}, HTTP {status})",
                parsed.error.message
            ),
        )
    } else {
        let what = if body.is_empty() {
            "an empty body".to_owned()
        } else {
            format!("a body that is not an Iceberg error: \"{}\"", snippet(body))
        };
        (
            kind_of(status, "", commit),
            format!("{method} {url}: HTTP {status} with {what}"),
        )
    };
    let message = if status == 401 || status == 403 {
        format!("not authorized: {message}")
    } else {
        message
    };
    Error::new(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_and_statuses_map_to_kinds() {
        let body = br#"{"error":{"message":"table db.t exists","type":"AlreadyExistsException","code":409}}"#;
        let e = from_answer("POST", "http://h/v1/x", 409, body, false);
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert!(e.message().contains("table db.t exists"), "{e}");
        assert!(e.message().contains("POST http://h/v1/x"), "{e}");
        let e = from_answer("POST", "http://h/c", 409, b"", true);
        assert_eq!(e.kind(), ErrorKind::CommitFailed);
        let e = from_answer("GET", "http://h/c", 502, b"<html>bad gateway</html>", false);
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(e.message().contains("<html>bad gateway"), "{e}");
        let e = from_answer("GET", "http://h/c", 401, b"", false);
        assert!(e.message().starts_with("not authorized"), "{e}");
        assert_eq!(snippet(&[b'x'; 300]).chars().count(), 201);
    }
}
