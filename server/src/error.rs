//! The Iceberg REST error model, and the one place where Floe errors become HTTP
//! responses.
//!
//! Every error answer has the body `{"error": {"message", "type", "code"}}`, where
//! `type` is the simple name of the Java exception that Iceberg clients expect
//! (`NoSuchTableException`, `CommitFailedException`, ...) and `code` repeats the HTTP
//! status. [`ApiError::from`] maps a [`floe_spec::Error`] (which the catalog uses too)
//! by its [`ErrorKind`](floe_spec::ErrorKind): the kind decides status and type. Details
//! of server-side failures (5xx) are logged with the request's id and never sent.
//!
//! ```
//! use floe_server::error::ApiError;
//! let e = ApiError::from(floe_spec::Error::new(floe_spec::ErrorKind::NoSuchTable, "no table db.t"));
//! assert_eq!(e.status().as_u16(), 404);
//! assert_eq!(e.error_type(), "NoSuchTableException");
//! ```

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use floe_spec::ErrorKind;
use serde::{Deserialize, Serialize};

/// The `error` member of an Iceberg REST error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorModel {
    /// A human-readable message.
    pub message: String,
    /// The Java exception simple name (`NoSuchTableException`, ...).
    #[serde(rename = "type")]
    pub error_type: String,
    /// The HTTP status code.
    pub code: u16,
}

/// An Iceberg REST error body: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IcebergErrorResponse {
    /// The error.
    pub error: ErrorModel,
}

/// An error answer of the REST API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: StatusCode,
    error_type: &'static str,
    message: String,
}

/// The message sent instead of the details of a server-side failure.
pub const INTERNAL_MESSAGE: &str = "internal server error (details are in the server log)";

impl ApiError {
    /// An error with an explicit status, type and message.
    pub fn new(status: StatusCode, error_type: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error_type,
            message: message.into(),
        }
    }

    /// 400 `BadRequestException`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BadRequestException", message)
    }

    /// 401 `NotAuthorizedException`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "NotAuthorizedException", message)
    }

    /// 404 `NoSuchNamespaceException`.
    pub fn no_such_namespace(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NoSuchNamespaceException", message)
    }

    /// 404 `NoSuchTableException`.
    pub fn no_such_table(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NoSuchTableException", message)
    }

    /// 413 for a request body over the configured limit.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "BadRequestException",
            format!("request body is larger than the limit of {limit} bytes"),
        )
    }

    /// 422 `UnprocessableEntityException`.
    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UnprocessableEntityException",
            message,
        )
    }

    /// The error body for any status, with the type Iceberg clients expect for it
    /// (used for answers produced by middleware: timeouts, panics, unknown routes).
    pub fn for_status(status: StatusCode, message: impl Into<String>) -> Self {
        let error_type = match status.as_u16() {
            400 | 405 | 411 | 413 | 415 => "BadRequestException",
            401 | 419 => "NotAuthorizedException",
            403 => "ForbiddenException",
            404 => "NotFoundException",
            406 => "UnsupportedOperationException",
            409 => "AlreadyExistsException",
            422 => "UnprocessableEntityException",
            429 => "TooManyRequestsException",
            501 => "NotImplementedException",
            503 => "ServiceUnavailableException",
            _ if status.is_server_error() => "ServiceFailureException",
            _ => "RESTException",
        };
        Self::new(status, error_type, message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The Java exception simple name.
    pub fn error_type(&self) -> &'static str {
        self.error_type
    }

    /// The message sent to the client.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON body.
    pub fn body(&self) -> IcebergErrorResponse {
        IcebergErrorResponse {
            error: ErrorModel {
                message: self.message.clone(),
                error_type: self.error_type.to_owned(),
                code: self.status.as_u16(),
            },
        }
    }
}

impl From<floe_spec::Error> for ApiError {
    /// THE mapping from crate errors to the REST error model.
    fn from(e: floe_spec::Error) -> Self {
        let kind = e.kind();
        let status =
            StatusCode::from_u16(kind.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            // Details (paths, database errors) stay in the log.
            tracing::error!(error_type = kind.rest_type(), error = %e, "request failed");
            let message = if kind == ErrorKind::CommitStateUnknown {
                "the commit outcome is unknown: reload the table before retrying".to_owned()
            } else {
                INTERNAL_MESSAGE.to_owned()
            };
            return Self::new(status, kind.rest_type(), message);
        }
        Self::new(status, kind.rest_type(), e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.body()).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_iceberg_types() {
        let cases = [
            (ErrorKind::NoSuchNamespace, 404, "NoSuchNamespaceException"),
            (ErrorKind::NoSuchTable, 404, "NoSuchTableException"),
            (ErrorKind::AlreadyExists, 409, "AlreadyExistsException"),
            (
                ErrorKind::NamespaceNotEmpty,
                409,
                "NamespaceNotEmptyException",
            ),
            (ErrorKind::CommitFailed, 409, "CommitFailedException"),
            (ErrorKind::DataInvalid, 400, "BadRequestException"),
            (
                ErrorKind::FeatureUnsupported,
                406,
                "UnsupportedOperationException",
            ),
            (ErrorKind::Io, 500, "ServiceFailureException"),
        ];
        for (kind, status, ty) in cases {
            let e = ApiError::from(floe_spec::Error::new(kind, "boom /secret/path"));
            assert_eq!(e.status().as_u16(), status, "{kind:?}");
            assert_eq!(e.error_type(), ty);
            assert_eq!(e.body().error.code, status);
        }
    }

    #[test]
    fn server_errors_hide_details() {
        let e = ApiError::from(floe_spec::Error::new(ErrorKind::Io, "disk /srv/x failed"));
        assert!(!e.message().contains("/srv/x"));
        let e = ApiError::from(floe_spec::Error::new(
            ErrorKind::NoSuchTable,
            "no table a.b",
        ));
        assert!(e.message().contains("a.b"));
    }
}
