//! The JSON bodies of the Iceberg REST catalog API, as the client writes and reads
//! them (names from the OpenAPI document, `rest-catalog-open-api.yaml`).
//!
//! Answers are read leniently (unknown fields are ignored, optional members default to
//! empty; the lists that are the answer are required) so that any Iceberg REST
//! catalog's answers parse; requests carry exactly the fields of the spec. Table metadata is kept as raw JSON here and parsed by
//! [`floe_spec::table_metadata::TableMetadata::from_json_str`].
//!
//! ```
//! use floe_client::rest::model::ErrorResponse;
//! let e: ErrorResponse = serde_json::from_str(
//!     r#"{"error":{"message":"no table db.t","type":"NoSuchTableException","code":404}}"#,
//! ).unwrap();
//! assert_eq!(e.error.error_type, "NoSuchTableException");
//! ```

use std::collections::HashMap;

use floe_spec::commit::{TableRequirement, TableUpdate};
use floe_spec::partition::UnboundPartitionSpec;
use floe_spec::schema::Schema;
use floe_spec::sort::SortOrder;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// `GET /v1/config` answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ConfigResponse {
    /// Properties the client's own settings override.
    #[serde(default)]
    pub defaults: HashMap<String, String>,
    /// Properties that override the client's settings.
    #[serde(default)]
    pub overrides: HashMap<String, String>,
    /// The endpoints the server implements (`"GET /v1/{prefix}/namespaces"`); `None`
    /// when the server does not say (then the spec's default set is assumed).
    #[serde(default)]
    pub endpoints: Option<Vec<String>>,
    /// How long the server remembers idempotency keys (ISO-8601), if it honours them.
    #[serde(default)]
    pub idempotency_key_lifetime: Option<String>,
}

/// An Iceberg error answer: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorResponse {
    /// The error.
    pub error: ErrorModel,
}

/// The `error` member of an error answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ErrorModel {
    /// What went wrong.
    #[serde(default)]
    pub message: String,
    /// The Java exception simple name (`NoSuchTableException`, ...).
    #[serde(rename = "type", default)]
    pub error_type: String,
    /// The HTTP status.
    #[serde(default)]
    pub code: u16,
}

/// `POST /v1/oauth/tokens` answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// `bearer`.
    #[serde(default)]
    pub token_type: Option<String>,
    /// Seconds until it expires.
    #[serde(default)]
    pub expires_in: Option<u64>,
}

/// An OAuth2 error answer (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OAuthErrorResponse {
    /// `invalid_client`, `invalid_request`, ...
    pub error: String,
    /// A description.
    #[serde(default)]
    pub error_description: Option<String>,
}

/// `POST /namespaces` body.
#[derive(Debug, Clone, Serialize)]
pub struct CreateNamespaceRequest<'a> {
    /// The namespace levels.
    pub namespace: &'a [String],
    /// Its properties.
    pub properties: &'a HashMap<String, String>,
}

/// `POST /namespaces` and `GET /namespaces/{ns}` answer.
#[derive(Debug, Clone, Deserialize)]
pub struct NamespaceResponse {
    /// The namespace levels.
    pub namespace: Vec<String>,
    /// Its properties (absent means none).
    #[serde(default)]
    pub properties: Option<HashMap<String, String>>,
}

/// `GET /namespaces` answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ListNamespacesResponse {
    /// The namespaces, each as its full list of levels (required: an answer without
    /// it is not a namespace list).
    pub namespaces: Vec<Vec<String>>,
    /// The token of the next page.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// `POST /namespaces/{ns}/properties` body.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateNamespacePropertiesRequest<'a> {
    /// Keys to remove.
    pub removals: &'a [String],
    /// Keys to set.
    pub updates: &'a HashMap<String, String>,
}

/// `POST /namespaces/{ns}/properties` answer.
#[derive(Debug, Clone, Deserialize)]
pub struct UpdateNamespacePropertiesResponse {
    /// Keys set.
    #[serde(default)]
    pub updated: Vec<String>,
    /// Keys removed.
    #[serde(default)]
    pub removed: Vec<String>,
    /// Keys to remove that were not there.
    #[serde(default)]
    pub missing: Option<Vec<String>>,
}

/// A table identifier: `{"namespace": ["db"], "name": "t"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableIdentifier {
    /// The namespace levels.
    pub namespace: Vec<String>,
    /// The table name.
    pub name: String,
}

/// `GET /namespaces/{ns}/tables` answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ListTablesResponse {
    /// The tables (required, like `namespaces`).
    pub identifiers: Vec<TableIdentifier>,
    /// The token of the next page.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

/// `POST /namespaces/{ns}/tables` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CreateTableRequest<'a> {
    /// The table name.
    pub name: &'a str,
    /// The location; the server picks one when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<&'a str>,
    /// The schema.
    pub schema: &'a Schema,
    /// The partition spec.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_spec: Option<&'a UnboundPartitionSpec>,
    /// The sort order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_order: Option<&'a SortOrder>,
    /// Only build the metadata (create through a commit later).
    pub stage_create: bool,
    /// Table properties.
    pub properties: &'a HashMap<String, String>,
}

/// `POST /namespaces/{ns}/register` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct RegisterTableRequest<'a> {
    /// The table name.
    pub name: &'a str,
    /// The metadata file.
    pub metadata_location: &'a str,
}

/// `LoadTableResult` (create, load, register) and the commit answer.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LoadTableResponse {
    /// The current metadata file (`null` for a staged create).
    #[serde(default)]
    pub metadata_location: Option<String>,
    /// The metadata, parsed later.
    pub metadata: Box<RawValue>,
    /// Table-specific client configuration (FileIO properties).
    #[serde(default)]
    pub config: Option<HashMap<String, String>>,
}

/// `POST /namespaces/{ns}/tables/{t}` body, and one entry of a transaction.
#[derive(Debug, Clone, Serialize)]
pub struct CommitTableRequest<'a> {
    /// The table.
    pub identifier: TableIdentifier,
    /// Requirements.
    pub requirements: &'a [TableRequirement],
    /// Updates.
    pub updates: &'a [TableUpdate],
}

/// `POST /transactions/commit` body.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CommitTransactionRequest<'a> {
    /// One entry per table.
    pub table_changes: Vec<CommitTableRequest<'a>>,
}

/// `POST /tables/rename` body.
#[derive(Debug, Clone, Serialize)]
pub struct RenameTableRequest {
    /// The table to rename.
    pub source: TableIdentifier,
    /// Its new identifier.
    pub destination: TableIdentifier,
}
