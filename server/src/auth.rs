//! Bearer-token authentication: static tokens from the configuration, and short-lived
//! tokens signed by the server for OAuth2 client-credentials clients
//! (`POST /v1/oauth/tokens`).
//!
//! A signed token is `floe1.<payload>.<signature>`: the payload is base64url JSON
//! `{"sub": client_id, "exp": unix_seconds}` and the signature HMAC-SHA256 of
//! `floe1.<payload>` under the server's signing key (random per process unless
//! configured, so that several replicas accept each other's tokens). Static tokens and
//! client secrets are compared in constant time.
//!
//! Authentication is on as soon as a static token or an OAuth client is configured.
//!
//! ```
//! use floe_server::auth::{Auth, AuthConfig, Verdict};
//! let auth = Auth::new(AuthConfig {
//!     tokens: vec!["s3cret".into()],
//!     clients: vec![("app".into(), "pw".into())],
//!     signing_key: Some(b"key".to_vec()),
//!     token_ttl_secs: 60,
//! });
//! assert_eq!(auth.verify("s3cret", 0), Verdict::Valid);
//! let token = auth.issue_token("app", "pw", 1_000).unwrap();
//! assert_eq!(auth.verify(&token, 1_010), Verdict::Valid);
//! assert_eq!(auth.verify(&token, 1_061), Verdict::Expired);
//! assert_eq!(auth.verify("nope", 0), Verdict::Invalid);
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

const TOKEN_PREFIX: &str = "floe1.";

/// The authentication settings.
#[derive(Clone, Default)]
pub struct AuthConfig {
    /// Static bearer tokens.
    pub tokens: Vec<String>,
    /// OAuth2 clients: `(client_id, client_secret)`.
    pub clients: Vec<(String, String)>,
    /// The HMAC key of issued tokens; random when `None`.
    pub signing_key: Option<Vec<u8>>,
    /// How long an issued token is valid, in seconds.
    pub token_ttl_secs: u64,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("tokens", &self.tokens.len())
            .field("clients", &self.clients.len())
            .field("token_ttl_secs", &self.token_ttl_secs)
            .finish_non_exhaustive()
    }
}

/// The result of checking a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The token is accepted.
    Valid,
    /// A token this server signed, past its expiry.
    Expired,
    /// Not a token of this server.
    Invalid,
}

/// Why a token request was refused (an OAuth2 error code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// Unknown client or wrong secret (`invalid_client`).
    InvalidClient,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
}

/// The authenticator: static tokens, OAuth clients and the signing key.
pub struct Auth {
    token_digests: Vec<[u8; 32]>,
    clients: Vec<(String, [u8; 32])>,
    key: Vec<u8>,
    ttl_secs: u64,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("enabled", &self.enabled())
            .finish_non_exhaustive()
    }
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

impl Auth {
    /// An authenticator for `config`.
    pub fn new(config: AuthConfig) -> Self {
        let key = config.signing_key.unwrap_or_else(|| {
            let mut key = Vec::with_capacity(32);
            key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
            key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
            key
        });
        Self {
            token_digests: config.tokens.iter().map(|t| digest(t)).collect(),
            clients: config
                .clients
                .iter()
                .map(|(id, secret)| (id.clone(), digest(secret)))
                .collect(),
            key,
            ttl_secs: config.token_ttl_secs.max(1),
        }
    }

    /// Whether requests must carry a token.
    pub fn enabled(&self) -> bool {
        !self.token_digests.is_empty() || !self.clients.is_empty()
    }

    /// Whether OAuth2 client credentials are configured.
    pub fn has_clients(&self) -> bool {
        !self.clients.is_empty()
    }

    /// The lifetime of issued tokens, in seconds.
    pub fn token_ttl_secs(&self) -> u64 {
        self.ttl_secs
    }

    /// Checks a bearer token at `now_secs` (unix seconds).
    pub fn verify(&self, token: &str, now_secs: u64) -> Verdict {
        let presented = digest(token);
        let mut is_static = subtle::Choice::from(0);
        for d in &self.token_digests {
            is_static |= d.ct_eq(&presented);
        }
        if bool::from(is_static) {
            return Verdict::Valid;
        }
        match self.verify_signed(token) {
            Some(claims) if claims.exp > now_secs => Verdict::Valid,
            Some(_) => Verdict::Expired,
            None => Verdict::Invalid,
        }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length.
        HmacSha256::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!())
    }

    fn verify_signed(&self, token: &str) -> Option<Claims> {
        let rest = token.strip_prefix(TOKEN_PREFIX)?;
        let (payload, signature) = rest.split_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut mac = self.mac();
        mac.update(TOKEN_PREFIX.as_bytes());
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).ok()?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        serde_json::from_slice(&payload).ok()
    }

    /// Issues a token for a client whose secret matches, valid from `now_secs` for the
    /// configured lifetime.
    pub fn issue_token(
        &self,
        client_id: &str,
        client_secret: &str,
        now_secs: u64,
    ) -> Result<String, TokenError> {
        let presented = digest(client_secret);
        let known = self
            .clients
            .iter()
            .any(|(id, secret)| id == client_id && bool::from(secret.ct_eq(&presented)));
        if !known {
            return Err(TokenError::InvalidClient);
        }
        let claims = Claims {
            sub: client_id.to_owned(),
            exp: now_secs + self.ttl_secs,
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let mut mac = self.mac();
        mac.update(TOKEN_PREFIX.as_bytes());
        mac.update(payload.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        Ok(format!("{TOKEN_PREFIX}{payload}.{signature}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(key: &[u8]) -> Auth {
        Auth::new(AuthConfig {
            tokens: vec![],
            clients: vec![("c".into(), "s".into())],
            signing_key: Some(key.to_vec()),
            token_ttl_secs: 100,
        })
    }

    #[test]
    fn tampered_or_foreign_tokens_are_invalid() {
        let a = auth(b"k1");
        let t = a.issue_token("c", "s", 0).unwrap();
        assert_eq!(a.verify(&t, 50), Verdict::Valid);
        assert_eq!(auth(b"k2").verify(&t, 50), Verdict::Invalid);
        let mut bad = t.clone();
        bad.insert(8, 'x');
        assert_eq!(a.verify(&bad, 50), Verdict::Invalid);
        assert_eq!(
            a.issue_token("c", "wrong", 0),
            Err(TokenError::InvalidClient)
        );
        assert_eq!(a.issue_token("x", "s", 0), Err(TokenError::InvalidClient));
    }

    #[test]
    fn disabled_without_tokens_or_clients() {
        assert!(!Auth::new(AuthConfig::default()).enabled());
        assert!(auth(b"k").enabled());
    }
}
