//! A fresh PostgreSQL schema for one test, dropped at the end (also when the test
//! panics): the catalog URL selects it with `search_path`. The server is
//! `FLOE_TEST_POSTGRES_URL` (required: a PostgreSQL test fails when it is unset).
//!
//! Shared by the tests of floe-catalog, floe-table, floe-server and the workspace
//! (included with `#[path]`). Usable from synchronous and asynchronous tests: the
//! statements run on a thread of their own.

/// A schema `<prefix>_<pid>_<uuid>` on the test server.
pub struct PgSchema {
    base: String,
    schema: String,
    url: String,
}

impl PgSchema {
    /// Creates the schema.
    pub fn new(prefix: &str) -> Self {
        let base = std::env::var("FLOE_TEST_POSTGRES_URL").unwrap_or_else(|_| {
            panic!(
                "FLOE_TEST_POSTGRES_URL is not set: the PostgreSQL tests need a PostgreSQL \
                 server. Run `scripts/test`, which starts one and sets \
                 FLOE_TEST_POSTGRES_URL=postgres://floe:floe@127.0.0.1:5432/floe_test"
            )
        });
        let schema = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        if let Err(e) = execute(&base, format!("CREATE SCHEMA {schema}")) {
            panic!("cannot create schema {schema} on FLOE_TEST_POSTGRES_URL={base}: {e}");
        }
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        Self { base, schema, url }
    }

    /// The catalog URL: the server's, with the schema as `search_path`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let _ = execute(
            &self.base,
            format!("DROP SCHEMA IF EXISTS {} CASCADE", self.schema),
        );
    }
}

/// Runs one statement on `base` from a thread of its own (the caller may be inside a
/// runtime).
fn execute(base: &str, sql: String) -> Result<(), String> {
    let base = base.to_owned();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        rt.block_on(async move {
            use sqlx::Connection;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&base)
                .await
                .map_err(|e| e.to_string())?;
            let result = sqlx::query(&sql).execute(&mut conn).await;
            let _ = conn.close().await;
            result.map(drop).map_err(|e| e.to_string())
        })
    })
    .join()
    .unwrap_or_else(|_| Err("the statement's thread panicked".into()))
}
