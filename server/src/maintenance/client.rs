//! The client side of `floe maintenance`: asks a running server (over HTTP, with
//! `reqwest`) to run an action, and follows the task until it ends.
//!
//! ```no_run
//! # async fn demo() -> Result<(), String> {
//! use floe_server::maintenance::client::MaintenanceClient;
//! let client = MaintenanceClient::new("http://127.0.0.1:8181", None)?;
//! let id = client.request("db.events", "compact", serde_json::Map::new(), false).await?;
//! let task = client.wait(id, std::time::Duration::from_millis(500), |t| eprintln!("{}", t["status"])).await?;
//! println!("{}", task["result"]);
//! # Ok(()) }
//! ```

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Map, Value};

/// A client of one server's maintenance endpoints.
#[derive(Debug, Clone)]
pub struct MaintenanceClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// Percent-encodes one path segment.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Splits `ns.sub.table` into namespace levels and the table name.
pub fn split_table(name: &str) -> Result<(Vec<String>, String), String> {
    match name.rsplit_once('.') {
        Some((ns, table)) if !ns.is_empty() && !table.is_empty() => {
            Ok((ns.split('.').map(str::to_owned).collect(), table.to_owned()))
        }
        _ => Err(format!(
            "invalid table `{name}`: expected `namespace.table` (levels separated by dots)"
        )),
    }
}

impl MaintenanceClient {
    /// A client of the server at `base` (`http://host:port`), with a bearer token.
    pub fn new(base: &str, token: Option<String>) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_mins(1))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Result<Value, String> {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let response = req
            .send()
            .await
            .map_err(|e| format!("cannot reach the server at {}: {e}", self.base))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| {
            format!("the server answered {status} with a body that is not JSON: {e}")
        })?;
        if status.is_success() {
            Ok(body)
        } else {
            let message = body["error"]["message"].as_str().unwrap_or("no message");
            Err(format!("the server answered {status}: {message}"))
        }
    }

    /// Requests `action` on `table` (`ns.table`); returns the task id.
    pub async fn request(
        &self,
        table: &str,
        action: &str,
        options: Map<String, Value>,
        dry_run: bool,
    ) -> Result<i64, String> {
        let (levels, name) = split_table(table)?;
        let ns: Vec<String> = levels.iter().map(|l| encode(l)).collect();
        let url = format!(
            "{}/v1/namespaces/{}/tables/{}/maintenance",
            self.base,
            ns.join("%1F"),
            encode(&name)
        );
        let mut body = options;
        body.insert("action".into(), Value::from(action));
        if dry_run {
            body.insert("dry-run".into(), Value::Bool(true));
        }
        let answer = self.send(self.http.post(url).json(&body)).await?;
        answer["task-id"]
            .as_i64()
            .ok_or_else(|| format!("the server's answer has no task id: {answer}"))
    }

    /// One task.
    pub async fn task(&self, id: i64) -> Result<Value, String> {
        self.send(
            self.http
                .get(format!("{}/v1/maintenance/tasks/{id}", self.base)),
        )
        .await
    }

    /// The newest tasks.
    pub async fn list(&self, limit: u32) -> Result<Value, String> {
        self.send(
            self.http
                .get(format!("{}/v1/maintenance/tasks?limit={limit}", self.base)),
        )
        .await
    }

    /// Polls a task every `every` until it succeeds (its JSON) or fails (an error with
    /// its message); `progress` sees each poll.
    pub async fn wait(
        &self,
        id: i64,
        every: Duration,
        mut progress: impl FnMut(&Value),
    ) -> Result<Value, String> {
        loop {
            let task = self.task(id).await?;
            progress(&task);
            match task["status"].as_str() {
                Some("succeeded") => return Ok(task),
                Some("failed") => {
                    return Err(format!(
                        "task {id} failed after {} attempts: {}",
                        task["attempts"],
                        task["error"].as_str().unwrap_or("no error recorded")
                    ));
                }
                _ => tokio::time::sleep(every).await,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names_split_at_the_last_dot() {
        assert_eq!(
            split_table("a.b.t").unwrap(),
            (vec!["a".to_owned(), "b".to_owned()], "t".to_owned())
        );
        assert!(split_table("t").is_err());
        assert!(split_table(".t").is_err());
        assert!(split_table("a.").is_err());
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
