//! Request and response bodies of the Iceberg REST catalog API, with the exact JSON
//! names of the OpenAPI document (`rest-catalog-open-api.yaml`).
//!
//! Request bodies reject unknown fields (`deny_unknown_fields`): a misspelled field is
//! a 400 that names it rather than a silently ignored option. Every field that
//! PyIceberg, the Java client or iceberg-rust send is declared. Response maps and lists
//! are always present (`{}` / `[]`, never `null`): PyIceberg calls `.update()` on
//! `defaults` and `overrides`.
//!
//! ```
//! use floe_server::rest::model::CreateNamespaceRequest;
//! let req: CreateNamespaceRequest = serde_json::from_str(r#"{"namespace":["db"]}"#).unwrap();
//! assert!(req.properties.is_empty());
//! assert!(serde_json::from_str::<CreateNamespaceRequest>(r#"{"namespace":["db"],"x":1}"#).is_err());
//! ```

use std::collections::{BTreeMap, HashMap};

use floe_spec::commit::{TableRequirement, TableUpdate};
use floe_spec::partition::UnboundPartitionSpec;
use floe_spec::schema::Schema;
use floe_spec::sort::SortOrder;
use floe_spec::table_metadata::TableMetadata;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `GET /v1/config` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct CatalogConfig {
    /// Properties the client may override.
    pub defaults: BTreeMap<String, String>,
    /// Properties that override the client's.
    pub overrides: BTreeMap<String, String>,
    /// The endpoints this server implements (`"GET /v1/{prefix}/namespaces"`, ...).
    pub endpoints: Vec<String>,
    /// How long idempotency keys are remembered (ISO-8601 duration), if supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key_lifetime: Option<String>,
}

/// `POST /namespaces` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateNamespaceRequest {
    /// The namespace levels.
    pub namespace: Vec<String>,
    /// Its properties.
    #[serde(default)]
    pub properties: HashMap<String, String>,
}

/// `POST /namespaces` and `GET /namespaces/{ns}` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamespaceResponse {
    /// The namespace levels.
    pub namespace: Vec<String>,
    /// Its properties (`{}` when none).
    pub properties: BTreeMap<String, String>,
}

/// `GET /namespaces` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ListNamespacesResponse {
    /// Full paths of the namespaces (`[["a","b"]]`).
    pub namespaces: Vec<Vec<String>>,
    /// The token of the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `POST /namespaces/{ns}/properties` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateNamespacePropertiesRequest {
    /// Keys to remove.
    #[serde(default)]
    pub removals: Vec<String>,
    /// Keys to set.
    #[serde(default)]
    pub updates: HashMap<String, String>,
}

/// `POST /namespaces/{ns}/properties` answer (`missing` is required by PyIceberg).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateNamespacePropertiesResponse {
    /// Keys that were set.
    pub updated: Vec<String>,
    /// Keys that were removed.
    pub removed: Vec<String>,
    /// Keys asked to be removed that were not there.
    pub missing: Vec<String>,
}

/// A table identifier in JSON: `{"namespace": ["db"], "name": "t"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableIdentifier {
    /// The namespace levels.
    pub namespace: Vec<String>,
    /// The table name.
    pub name: String,
}

/// `GET /namespaces/{ns}/tables` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ListTablesResponse {
    /// The tables.
    pub identifiers: Vec<TableIdentifier>,
    /// The token of the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `POST /namespaces/{ns}/tables` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CreateTableRequest {
    /// The table name.
    pub name: String,
    /// The table location; the warehouse default when absent.
    #[serde(default)]
    pub location: Option<String>,
    /// The schema (ids are reassigned).
    pub schema: Schema,
    /// The partition spec; unpartitioned when absent.
    #[serde(default)]
    pub partition_spec: Option<UnboundPartitionSpec>,
    /// The sort order; unsorted when absent.
    #[serde(default)]
    pub write_order: Option<SortOrder>,
    /// Return the metadata without creating the table (create via commit later).
    #[serde(default)]
    pub stage_create: bool,
    /// Table properties.
    #[serde(default)]
    pub properties: HashMap<String, String>,
}

/// `POST /namespaces/{ns}/register` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RegisterTableRequest {
    /// The table name.
    pub name: String,
    /// The metadata file to register.
    pub metadata_location: String,
    /// Replace an existing table of that name.
    #[serde(default)]
    pub overwrite: bool,
}

/// A credential for the files under `prefix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageCredential {
    /// The location prefix it applies to.
    pub prefix: String,
    /// FileIO properties.
    pub config: BTreeMap<String, String>,
}

/// `LoadTableResult`: the answer of create, load and register.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct LoadTableResult<'a> {
    /// The current metadata file; `null` for a staged create.
    pub metadata_location: Option<&'a str>,
    /// The metadata.
    pub metadata: &'a Value,
    /// Table-specific client configuration.
    pub config: BTreeMap<String, String>,
    /// Vended storage credentials.
    pub storage_credentials: Vec<StorageCredential>,
}

/// `POST /namespaces/{ns}/tables/{t}` body (also one entry of a transaction).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitTableRequest {
    /// The table (required inside a transaction, optional for a single commit).
    #[serde(default)]
    pub identifier: Option<TableIdentifier>,
    /// Assertions about the current table.
    #[serde(default)]
    pub requirements: Vec<TableRequirement>,
    /// Changes, applied in order.
    #[serde(default)]
    pub updates: Vec<TableUpdate>,
}

/// `POST /namespaces/{ns}/tables/{t}` answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct CommitTableResponse<'a> {
    /// The new metadata file.
    pub metadata_location: &'a str,
    /// The new metadata.
    pub metadata: &'a Value,
}

/// `POST /transactions/commit` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CommitTransactionRequest {
    /// One commit per table, all applied atomically.
    pub table_changes: Vec<CommitTableRequest>,
}

/// `POST /tables/rename` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenameTableRequest {
    /// The table to rename.
    pub source: TableIdentifier,
    /// Its new identifier.
    pub destination: TableIdentifier,
}

/// The kind of a metrics report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportType {
    /// A scan report.
    ScanReport,
    /// A commit report.
    CommitReport,
}

impl ReportType {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ScanReport => "scan-report",
            Self::CommitReport => "commit-report",
        }
    }
}

/// `POST /namespaces/{ns}/tables/{t}/metrics` body: a scan or commit report (fields of
/// both kinds; the server only counts them).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ReportMetricsRequest {
    /// `scan-report` or `commit-report`.
    pub report_type: ReportType,
    /// The table name.
    pub table_name: String,
    /// The snapshot scanned or committed.
    pub snapshot_id: i64,
    /// Scan: the filter expression.
    #[serde(default)]
    pub filter: Option<Value>,
    /// Scan: the schema id.
    #[serde(default)]
    pub schema_id: Option<i32>,
    /// Scan: projected field ids.
    #[serde(default)]
    pub projected_field_ids: Option<Vec<i32>>,
    /// Scan: projected field names.
    #[serde(default)]
    pub projected_field_names: Option<Vec<String>>,
    /// Commit: the sequence number.
    #[serde(default)]
    pub sequence_number: Option<i64>,
    /// Commit: the operation.
    #[serde(default)]
    pub operation: Option<String>,
    /// The metrics.
    pub metrics: Value,
    /// Extra metadata.
    #[serde(default)]
    pub metadata: Option<HashMap<String, String>>,
}

/// `POST /v1/oauth/tokens` form body (client credentials; other grants are refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct OAuthTokenRequest {
    /// `client_credentials`.
    #[serde(default)]
    pub grant_type: String,
    /// The client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The client secret.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The requested scope (echoed back).
    #[serde(default)]
    pub scope: Option<String>,
}

/// `POST /v1/oauth/tokens` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthTokenResponse {
    /// The bearer token.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// `urn:ietf:params:oauth:token-type:access_token`.
    pub issued_token_type: String,
    /// The granted scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// An OAuth2 error answer (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `unsupported_grant_type`, ...
    pub error: String,
    /// A human-readable description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// Serializes metadata for a response body.
pub fn metadata_json(metadata: &TableMetadata) -> floe_spec::Result<Value> {
    metadata.to_json_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyiceberg_create_table_body_parses() {
        let body = r#"{"name":"t","schema":{"type":"struct","schema-id":0,"identifier-field-ids":[],
            "fields":[{"id":1,"name":"id","type":"long","required":false}]},
            "partition-spec":{"spec-id":0,"fields":[]},"write-order":{"order-id":0,"fields":[]},
            "stage-create":false,"properties":{}}"#;
        let req: CreateTableRequest = serde_json::from_str(body).unwrap();
        assert_eq!(req.name, "t");
        assert!(!req.stage_create);
    }

    #[test]
    fn unknown_fields_are_named() {
        let e = serde_json::from_str::<RenameTableRequest>(
            r#"{"source":{"namespace":["a"],"name":"t"},"destination":{"namespace":["a"],"name":"u"},"force":true}"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `force`"), "{e}");
    }

    #[test]
    fn config_maps_are_never_null() {
        let c = CatalogConfig {
            defaults: BTreeMap::new(),
            overrides: BTreeMap::new(),
            endpoints: vec![],
            idempotency_key_lifetime: None,
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["defaults"], serde_json::json!({}));
        assert_eq!(v["overrides"], serde_json::json!({}));
    }

    #[test]
    fn update_properties_response_has_missing() {
        let v = serde_json::to_value(UpdateNamespacePropertiesResponse {
            updated: vec![],
            removed: vec![],
            missing: vec!["k".into()],
        })
        .unwrap();
        assert_eq!(v["missing"], serde_json::json!(["k"]));
    }
}
