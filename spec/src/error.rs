//! The one error type of `floe-spec`.
//!
//! Every fallible function in the crate returns [`Result`]. An [`Error`] carries an
//! [`ErrorKind`] that maps one to one onto the Iceberg REST error types (see
//! [`ErrorKind::rest_type`]), a human readable message that names what was wrong, and
//! optional context pairs and source error.

use std::fmt;

/// What went wrong, in the terms of the Iceberg REST error model.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Input that does not follow the Iceberg spec: malformed JSON or Avro, an unknown
    /// type or field, a bad identifier, an invalid value. REST: 400 `BadRequestException`.
    DataInvalid,
    /// Valid input asking for something Floe does not support. REST: 406
    /// `UnsupportedOperationException`.
    FeatureUnsupported,
    /// A commit requirement failed or a concurrent change conflicts. REST: 409
    /// `CommitFailedException`.
    CommitFailed,
    /// The outcome of a commit is not known. REST: 500 `CommitStateUnknownException`.
    CommitStateUnknown,
    /// The namespace does not exist. REST: 404 `NoSuchNamespaceException`.
    NoSuchNamespace,
    /// The table does not exist. REST: 404 `NoSuchTableException`.
    NoSuchTable,
    /// The view does not exist. REST: 404 `NoSuchViewException`.
    NoSuchView,
    /// The namespace, table or view already exists. REST: 409 `AlreadyExistsException`.
    AlreadyExists,
    /// The namespace still holds tables or views. REST: 409 `NamespaceNotEmptyException`.
    NamespaceNotEmpty,
    /// A file or object that does not exist (a data file, a manifest). REST: 404
    /// `NotFoundException`.
    NotFound,
    /// A storage or database failure. REST: 500 `ServiceFailureException`.
    Io,
    /// A broken invariant inside Floe. REST: 500 `ServiceFailureException`.
    Unexpected,
}

impl ErrorKind {
    /// The Java exception simple name that Iceberg REST clients expect in `error.type`.
    pub fn rest_type(self) -> &'static str {
        match self {
            Self::DataInvalid => "BadRequestException",
            Self::FeatureUnsupported => "UnsupportedOperationException",
            Self::CommitFailed => "CommitFailedException",
            Self::CommitStateUnknown => "CommitStateUnknownException",
            Self::NoSuchNamespace => "NoSuchNamespaceException",
            Self::NoSuchTable => "NoSuchTableException",
            Self::NoSuchView => "NoSuchViewException",
            Self::AlreadyExists => "AlreadyExistsException",
            Self::NamespaceNotEmpty => "NamespaceNotEmptyException",
            Self::NotFound => "NotFoundException",
            Self::Io | Self::Unexpected => "ServiceFailureException",
        }
    }

    /// The HTTP status code the REST server answers with for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            Self::DataInvalid => 400,
            Self::FeatureUnsupported => 406,
            Self::CommitFailed | Self::AlreadyExists | Self::NamespaceNotEmpty => 409,
            Self::NoSuchNamespace | Self::NoSuchTable | Self::NoSuchView | Self::NotFound => 404,
            Self::CommitStateUnknown | Self::Io | Self::Unexpected => 500,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rest_type())
    }
}

/// The error of `floe-spec`: a kind, a message, context and an optional source.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    context: Vec<(&'static str, String)>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            context: Vec::new(),
            source: None,
        }
    }

    /// Shorthand for an [`ErrorKind::DataInvalid`] error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::DataInvalid, message)
    }

    /// Shorthand for an [`ErrorKind::CommitFailed`] error.
    pub fn commit_failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::CommitFailed, message)
    }

    /// Shorthand for an [`ErrorKind::FeatureUnsupported`] error.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::FeatureUnsupported, message)
    }

    /// Adds a `key: value` pair of context (shown after the message).
    #[must_use]
    pub fn with_context(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.context.push((key, value.into()));
        self
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The context pairs.
    pub fn context(&self) -> &[(&'static str, String)] {
        &self.context
    }

    /// Whether retrying the same operation may succeed (a lost race, a storage hiccup).
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::CommitFailed | ErrorKind::Io)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if !self.context.is_empty() {
            f.write_str(" (")?;
            for (i, (k, v)) in self.context.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{k}: {v}")?;
            }
            f.write_str(")")?;
        }
        if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|s| s.as_ref() as &(dyn std::error::Error + 'static))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::invalid(format!(
            "malformed JSON at line {} column {}",
            e.line(),
            e.column()
        ))
        .with_source(e)
    }
}

impl From<apache_avro::Error> for Error {
    fn from(e: apache_avro::Error) -> Self {
        Error::invalid("malformed Avro").with_source(e)
    }
}

/// The result type of `floe-spec`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Returns early with an [`ErrorKind::DataInvalid`] error built by `format!`.
#[macro_export]
macro_rules! bail_invalid {
    ($($arg:tt)*) => {
        return Err($crate::Error::invalid(format!($($arg)*)))
    };
}
