//! `GET /openapi.json`: an OpenAPI 3 document of what Floe serves, generated from the
//! same route table the router and `GET /v1/config` use ([`ENDPOINTS`] and
//! [`SERVICE_ROUTES`]), so the three cannot drift apart.
//!
//! Iceberg endpoints are documented once, under `/v1/{prefix}/...` with the operation
//! ids of the Iceberg REST OpenAPI document; Floe serves each of them without the
//! prefix segment too (`/v1/namespaces`), which the `prefix` parameter says.
//!
//! ```
//! let doc = floe_server::rest::openapi::document();
//! assert_eq!(doc["openapi"], "3.0.3");
//! assert!(doc["paths"]["/v1/{prefix}/namespaces"]["get"].is_object());
//! ```

use std::sync::OnceLock;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::routes::{ENDPOINTS, SERVICE_ROUTES};
use crate::app::{json_body, json_response};

/// The path parameters of an OpenAPI path template, in order.
fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

fn parameter(name: &str) -> Value {
    let description = match name {
        "prefix" => {
            "The catalog prefix. Floe advertises none and also serves every path without this segment (`/v1/namespaces`)."
        }
        "namespace" => "Namespace levels joined by 0x1F (`%1F`), each level percent-encoded.",
        "table" => "The table name, percent-encoded.",
        "plan-id" => "A plan id (Floe plans synchronously, so none is ever pending).",
        "writer-id" => "A stream writer id (Floe extension), percent-encoded.",
        "id" => "A maintenance task id.",
        _ => "",
    };
    json!({
        "name": name,
        "in": "path",
        "required": true,
        "description": description,
        "schema": {"type": "string"},
    })
}

fn responses(ok: u16) -> Value {
    let ok_response = if ok == 204 {
        json!({"description": "Success, no content"})
    } else {
        json!({"description": "Success", "content": {"application/json": {"schema": {"type": "object"}}}})
    };
    let error = json!({"$ref": "#/components/responses/IcebergError"});
    json!({
        ok.to_string(): ok_response,
        "400": error.clone(),
        "401": error.clone(),
        "404": error.clone(),
        "default": error,
    })
}

fn operation(method: &str, path: &str, operation_id: &str, ok: u16, tag: &str) -> Value {
    let mut op = Map::new();
    op.insert("operationId".into(), Value::from(operation_id));
    op.insert("tags".into(), json!([tag]));
    let params: Vec<Value> = path_parameters(path).into_iter().map(parameter).collect();
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    if method == "POST" {
        let content_type = if path == "/v1/oauth/tokens" {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        op.insert(
            "requestBody".into(),
            json!({"required": true, "content": {content_type: {"schema": {"type": "object"}}}}),
        );
    }
    op.insert("responses".into(), responses(ok));
    Value::Object(op)
}

/// The OpenAPI document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    let mut add = |method: &str, path: String, op: Value| {
        let entry = paths
            .entry(path)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(method.to_ascii_lowercase(), op);
        }
    };
    for r in SERVICE_ROUTES {
        let tag = if r.path.starts_with("/v1/") {
            "Iceberg REST catalog"
        } else {
            "Floe"
        };
        let mut op = operation(r.method, r.path, r.operation, r.ok, tag);
        if r.public
            && let Value::Object(m) = &mut op
        {
            m.insert("security".into(), json!([]));
        }
        add(r.method, r.path.to_owned(), op);
    }
    for e in ENDPOINTS {
        let path = format!("/v1/{{prefix}}{}", e.path);
        let tag = if e.path.contains("maintenance") {
            "Maintenance"
        } else if e.path.contains("/plan") || e.path.ends_with("/tasks") {
            "Scan planning"
        } else {
            "Iceberg REST catalog"
        };
        let op = operation(e.method, &path, e.operation, e.ok, tag);
        add(e.method, path, op);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Floe REST catalog",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The Apache Iceberg REST catalog endpoints Floe implements (the same list GET /v1/config advertises in `endpoints`) and Floe's own: /health, /metrics, /openapi.json.",
        },
        "servers": [{"url": "/"}],
        "security": [{"BearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "BearerAuth": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {
                "IcebergErrorResponse": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {
                        "type": "object",
                        "required": ["message", "type", "code"],
                        "properties": {
                            "message": {"type": "string"},
                            "type": {"type": "string", "example": "NoSuchTableException"},
                            "code": {"type": "integer", "minimum": 400, "maximum": 600},
                            "stack": {"type": "array", "items": {"type": "string"}},
                        },
                    }},
                },
            },
            "responses": {
                "IcebergError": {
                    "description": "An Iceberg error",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IcebergErrorResponse"}}},
                },
            },
        },
    })
}

/// `GET /openapi.json` (the document is built once).
pub(crate) async fn serve() -> Response {
    static BODY: OnceLock<Option<axum::body::Bytes>> = OnceLock::new();
    match BODY.get_or_init(|| serde_json::to_vec(&document()).ok().map(Into::into)) {
        Some(body) => json_body(StatusCode::OK, body.clone()),
        None => json_response(StatusCode::INTERNAL_SERVER_ERROR, b"{}".to_vec()),
    }
}

/// The (method, path) pairs the document describes, with Iceberg paths also in their
/// unprefixed form: what
/// [`crate::rest::routes::served_routes`] must equal.
pub fn documented_routes(doc: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, methods) in paths {
            for method in methods.as_object().into_iter().flat_map(Map::keys) {
                let m = method.to_ascii_uppercase();
                out.push((m.clone(), path.clone()));
                if let Some(rest) = path.strip_prefix("/v1/{prefix}") {
                    out.push((m, format!("/v1{rest}")));
                }
            }
        }
    }
    out
}
