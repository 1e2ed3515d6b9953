//! The test harness: a router over a `SqlCatalog` on a temporary SQLite file, and
//! request helpers.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use floe_catalog::SqlCatalog;
use floe_server::app::{AppState, Settings, router};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// A server over a fresh catalog; the folder lives as long as the value.
pub struct TestServer {
    pub app: Router,
    pub state: AppState,
    pub catalog: Arc<SqlCatalog>,
    /// The catalog database's URL (to open another handle on it).
    pub db_url: String,
    /// The warehouse folder.
    pub warehouse: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// An answer: status, headers and the body parsed as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// Asserts an Iceberg error body of `status` and `error_type`; returns the message.
    #[track_caller]
    pub fn assert_error(&self, status: u16, error_type: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(
            self.body["error"]["type"], error_type,
            "body: {}",
            self.text
        );
        assert_eq!(self.body["error"]["code"], status, "body: {}", self.text);
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

impl TestServer {
    pub async fn new() -> Self {
        Self::with_settings(Settings::default()).await
    }

    pub async fn with_settings(settings: Settings) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
        let warehouse = dir.path().join("warehouse");
        let catalog = SqlCatalog::connect(&url, warehouse.to_str().unwrap())
            .await
            .unwrap();
        let catalog = Arc::new(catalog);
        let state = AppState::for_sql_catalog(Arc::clone(&catalog), settings);
        Self {
            app: router(state.clone()),
            state,
            catalog,
            db_url: url,
            warehouse,
            _dir: dir,
        }
    }

    pub async fn send(&self, req: Request<Body>) -> Answer {
        let response = self.app.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Answer {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&v).unwrap())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).unwrap()).await
    }

    pub async fn raw(&self, method: Method, uri: &str, body: &str) -> Answer {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        self.send(req).await
    }

    pub async fn get(&self, uri: &str) -> Answer {
        self.call(Method::GET, uri, None).await
    }

    pub async fn post(&self, uri: &str, body: Value) -> Answer {
        self.call(Method::POST, uri, Some(body)).await
    }

    pub async fn create_namespace(&self, levels: &[&str]) {
        let a = self
            .post(
                "/v1/namespaces",
                serde_json::json!({"namespace": levels, "properties": {}}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }

    pub async fn create_table(&self, ns_path: &str, name: &str) -> Answer {
        let a = self
            .post(
                &format!("/v1/namespaces/{ns_path}/tables"),
                create_table_body(name, false),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
        a
    }
}

/// A PyIceberg-shaped create-table body: two columns, partitioned by `bucket(4, id)`.
pub fn create_table_body(name: &str, stage: bool) -> Value {
    serde_json::json!({
        "name": name,
        "schema": {"type": "struct", "schema-id": 0, "identifier-field-ids": [], "fields": [
            {"id": 1, "name": "id", "type": "long", "required": true},
            {"id": 2, "name": "data", "type": "string", "required": false}
        ]},
        "partition-spec": {"spec-id": 0, "fields": [
            {"source-id": 1, "field-id": 1000, "name": "id_bucket", "transform": "bucket[4]"}
        ]},
        "write-order": {"order-id": 0, "fields": []},
        "stage-create": stage,
        "properties": {"owner": "test"}
    })
}

impl TestServer {
    /// Posts a create-table body without asserting success.
    pub async fn create_table_body_raw(&self, ns_path: &str, body: Value) -> Answer {
        self.post(&format!("/v1/namespaces/{ns_path}/tables"), body)
            .await
    }
}
