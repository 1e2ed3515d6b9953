//! Authentication: a static bearer token, or OAuth2 client credentials exchanged for
//! short-lived tokens at the token endpoint (`POST /v1/oauth/tokens` by default,
//! `oauth2-server-uri` to use another).
//!
//! An OAuth2 token is fetched on first use and fetched again when 90% of its lifetime
//! has passed (`expires_in` of the token answer), and whenever the server answers 401
//! (the token was revoked, or the server restarted with another key): the request is
//! then sent once more with the new token. Concurrent requests share one fetch.
//!
//! ```
//! use floe_client::rest::auth::Credentials;
//! let c = Credentials::from_credential("app:s3cret", "catalog");
//! assert!(matches!(c, Credentials::ClientCredentials { ref client_id, .. } if client_id == "app"));
//! ```

use std::fmt;
use std::time::{Duration, Instant};

use floe_spec::{Error, ErrorKind, Result};
use tokio::sync::Mutex;
use url::Url;

use crate::rest::error::snippet;
use crate::rest::model::{OAuthErrorResponse, TokenResponse};

/// How a client proves who it is.
#[derive(Clone, Default)]
pub enum Credentials {
    /// No authentication.
    #[default]
    None,
    /// A static bearer token.
    Token(String),
    /// OAuth2 client credentials.
    ClientCredentials {
        /// The client id.
        client_id: String,
        /// The client secret.
        client_secret: String,
        /// The scope asked for.
        scope: String,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Token(_) => f.write_str("Token(***)"),
            Self::ClientCredentials {
                client_id, scope, ..
            } => f
                .debug_struct("ClientCredentials")
                .field("client_id", client_id)
                .field("scope", scope)
                .finish_non_exhaustive(),
        }
    }
}

impl Credentials {
    /// Client credentials from the Iceberg `credential` property: `client_id:secret`,
    /// or a bare secret (empty client id).
    pub fn from_credential(credential: &str, scope: &str) -> Self {
        let (client_id, client_secret) = credential.split_once(':').unwrap_or(("", credential));
        Self::ClientCredentials {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            scope: scope.to_owned(),
        }
    }
}

/// A token and when to fetch the next one.
struct Cached {
    token: String,
    refresh_at: Option<Instant>,
}

/// The authenticator of one client: credentials, token endpoint and current token.
pub(crate) struct Auth {
    credentials: Credentials,
    token_url: Url,
    current: Mutex<Option<Cached>>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("credentials", &self.credentials)
            .field("token_url", &self.token_url.as_str())
            .finish_non_exhaustive()
    }
}

impl Auth {
    pub(crate) fn new(credentials: Credentials, token_url: Url) -> Self {
        Self {
            credentials,
            token_url,
            current: Mutex::new(None),
        }
    }

    /// Whether a 401 can be cured by fetching a new token.
    pub(crate) fn can_refresh(&self) -> bool {
        matches!(self.credentials, Credentials::ClientCredentials { .. })
    }

    /// The `Authorization` header value, fetching a token when there is none, it is
    /// due for refresh, or `stale` (the token the server just refused) is current.
    pub(crate) async fn header(
        &self,
        http: &reqwest::Client,
        stale: Option<&str>,
    ) -> Result<Option<String>> {
        match &self.credentials {
            Credentials::None => Ok(None),
            Credentials::Token(t) => Ok(Some(format!("Bearer {t}"))),
            Credentials::ClientCredentials {
                client_id,
                client_secret,
                scope,
            } => {
                let mut current = self.current.lock().await;
                let fresh = current.as_ref().is_some_and(|c| {
                    c.refresh_at.is_none_or(|at| Instant::now() < at)
                        && stale.is_none_or(|s| s != c.token)
                });
                if !fresh {
                    *current = Some(self.fetch(http, client_id, client_secret, scope).await?);
                }
                Ok(current.as_ref().map(|c| format!("Bearer {}", c.token)))
            }
        }
    }

    /// The token sent with the last request (to tell the refresh which one failed).
    pub(crate) async fn current_token(&self) -> Option<String> {
        self.current.lock().await.as_ref().map(|c| c.token.clone())
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        client_id: &str,
        client_secret: &str,
        scope: &str,
    ) -> Result<Cached> {
        let url = self.token_url.as_str();
        let fail = |what: String| {
            Error::new(
                ErrorKind::DataInvalid,
                format!("OAuth2 token request to {url} failed: {what}"),
            )
        };
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_secret", client_secret),
            ("scope", scope),
        ];
        if !client_id.is_empty() {
            form.push(("client_id", client_id));
        }
        let started = Instant::now();
        let answer = http
            .post(self.token_url.clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("OAuth2 token request to {url} failed: {}", transport(&e)),
                )
            })?;
        let status = answer.status().as_u16();
        let body = answer.bytes().await.map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("OAuth2 token request to {url}: reading the answer failed: {e}"),
            )
        })?;
        if !(200..300).contains(&status) {
            let what = match serde_json::from_slice::<OAuthErrorResponse>(&body) {
                Ok(e) => format!(
                    "HTTP {status}: {}{}",
                    e.error,
                    e.error_description
                        .map(|d| format!(" ({d})"))
                        .unwrap_or_default()
                ),
                Err(_) => format!("HTTP {status}: \"{}\"", snippet(&body)),
            };
            return Err(fail(what));
        }
        let token: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            fail(format!(
                "the answer is not a token response ({e}): \"{}\"",
                snippet(&body)
            ))
        })?;
        let refresh_at = token
            .expires_in
            .map(|secs| started + Duration::from_millis(secs.saturating_mul(900)));
        Ok(Cached {
            token: token.access_token,
            refresh_at,
        })
    }
}

/// A transport error with its causes (reqwest's own message is terse).
pub(crate) fn transport(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
