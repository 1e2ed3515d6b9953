//! Sending requests: authentication, retries with backoff, and answers turned into
//! errors that name the request.
//!
//! Which requests are retried: any request whose connection could not be opened (it
//! never reached the server); reads (GET, HEAD) also on a lost answer, 429, 502, 503
//! and 504; commits only when they carry an `Idempotency-Key` that the server
//! honours (it advertises `idempotency-key-lifetime`), so that a repeat returns the
//! first result instead of committing twice. Other writes are sent once. Waits double
//! from the initial backoff (100 ms by default), with up to 50% random jitter.
//!
//! A 401 with OAuth2 credentials fetches a new token and sends the request once more.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use floe_spec::{Error, ErrorKind, Result};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use url::Url;

use crate::rest::auth::{Auth, transport};
use crate::rest::error::{from_answer, snippet};

/// How requests are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (1 = no retry).
    pub max_attempts: u32,
    /// The wait before the first retry; doubles each time.
    pub initial_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(100),
        }
    }
}

/// One request.
#[derive(Debug)]
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    pub body: Option<Vec<u8>>,
    /// A commit: 5xx means an unknown outcome.
    pub commit: bool,
    /// Sent as `Idempotency-Key`; with `retry_writes`, makes the commit retryable.
    pub idempotency_key: Option<String>,
    /// The server honours idempotency keys.
    pub retry_writes: bool,
    /// An error status returned as an answer (its body read by the caller).
    pub accept_status: Option<u16>,
}

impl Call {
    pub(crate) fn new(method: Method, url: Url) -> Self {
        Self {
            method,
            url,
            body: None,
            commit: false,
            idempotency_key: None,
            retry_writes: false,
            accept_status: None,
        }
    }

    pub(crate) fn json<T: serde::Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        self.body = Some(serde_json::to_vec(body).map_err(|e| {
            Error::new(
                ErrorKind::Unexpected,
                format!("cannot serialize the body of {} {}", self.method, self.url),
            )
            .with_source(e)
        })?);
        Ok(self)
    }

    fn idempotent(&self) -> bool {
        matches!(self.method, Method::GET | Method::HEAD)
            || (self.retry_writes && self.idempotency_key.is_some())
    }
}

/// An answer with a success status.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Bytes,
    pub method: Method,
    pub url: Url,
}

impl Answer {
    /// The body parsed as `T`; garbage is an error naming the request and the body.
    pub(crate) fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "{} {}: the answer is not a valid {what} ({e}); it starts with \"{}\"",
                    self.method,
                    self.url,
                    snippet(&self.body)
                ),
            )
        })
    }
}

/// The HTTP side of a REST catalog client.
#[derive(Debug)]
pub(crate) struct Http {
    pub client: reqwest::Client,
    pub auth: Auth,
    pub retry: RetryPolicy,
    pub headers: HeaderMap,
}

impl Http {
    pub(crate) fn new(
        client: reqwest::Client,
        auth: Auth,
        retry: RetryPolicy,
        extra_headers: &HashMap<String, String>,
    ) -> Result<Self> {
        let mut headers = HeaderMap::new();
        for (k, v) in extra_headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| Error::invalid(format!("invalid header name `{k}`")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| Error::invalid(format!("invalid value for header `{k}`")))?;
            headers.insert(name, value);
        }
        Ok(Self {
            client,
            auth,
            retry,
            headers,
        })
    }

    /// Sends `call`; a success answer (2xx, or 304) is returned, anything else is an
    /// error. With `not_found_ok`, a 404 is returned as an answer too.
    pub(crate) async fn send(&self, call: &Call, not_found_ok: bool) -> Result<Answer> {
        let mut attempt = 0u32;
        let mut refreshed = false;
        let mut stale: Option<String> = None;
        loop {
            attempt += 1;
            let auth = self.auth.header(&self.client, stale.as_deref()).await?;
            let mut request = self
                .client
                .request(call.method.clone(), call.url.clone())
                .headers(self.headers.clone());
            if let Some(a) = &auth {
                request = request.header(AUTHORIZATION, a);
            }
            if let Some(key) = &call.idempotency_key {
                request = request.header("Idempotency-Key", key);
            }
            if let Some(body) = &call.body {
                request = request
                    .header(CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let can_retry = attempt < self.retry.max_attempts;
            let result = request.send().await;
            let response = match result {
                Ok(r) => r,
                Err(e) => {
                    // A connection never opened reached no server: safe to repeat.
                    if can_retry && (e.is_connect() || call.idempotent()) {
                        self.backoff(attempt).await;
                        continue;
                    }
                    let kind = if call.commit && !e.is_connect() {
                        ErrorKind::CommitStateUnknown
                    } else {
                        ErrorKind::Io
                    };
                    return Err(Error::new(
                        kind,
                        format!(
                            "{} {}: cannot reach the catalog server: {}",
                            call.method,
                            call.url,
                            transport(&e)
                        ),
                    ));
                }
            };
            let status = response.status().as_u16();
            let body = match response.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    if can_retry && call.idempotent() {
                        self.backoff(attempt).await;
                        continue;
                    }
                    let kind = if call.commit {
                        ErrorKind::CommitStateUnknown
                    } else {
                        ErrorKind::Io
                    };
                    return Err(Error::new(
                        kind,
                        format!(
                            "{} {}: the answer was cut off: {}",
                            call.method,
                            call.url,
                            transport(&e)
                        ),
                    ));
                }
            };
            if (200..300).contains(&status)
                || status == 304
                || (not_found_ok && status == 404)
                || call.accept_status == Some(status)
            {
                return Ok(Answer {
                    status,
                    body,
                    method: call.method.clone(),
                    url: call.url.clone(),
                });
            }
            if status == 401 && !refreshed && self.auth.can_refresh() {
                refreshed = true;
                stale = self.auth.current_token().await;
                attempt -= 1;
                continue;
            }
            if can_retry && matches!(status, 429 | 502 | 503 | 504) && call.idempotent() {
                self.backoff(attempt).await;
                continue;
            }
            return Err(from_answer(
                call.method.as_str(),
                call.url.as_str(),
                status,
                &body,
                call.commit,
            ));
        }
    }

    async fn backoff(&self, attempt: u32) {
        let base = self
            .retry
            .initial_backoff
            .saturating_mul(1 << attempt.saturating_sub(1).min(10));
        let jitter = base.mul_f64(fastrand_fraction() * 0.5);
        tokio::time::sleep(base + jitter).await;
    }
}

/// A fraction in [0, 1) from the clock's nanoseconds (jitter needs no better).
fn fastrand_fraction() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    f64::from(nanos % 1000) / 1000.0
}
