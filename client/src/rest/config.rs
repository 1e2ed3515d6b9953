//! The configuration handshake (`GET /v1/config`) and the URLs of the catalog.
//!
//! The client's properties are merged as the REST spec says: the server's `defaults`,
//! then the client's own properties, then the server's `overrides`. From the result
//! come `uri` (the base URL), `prefix` (a path segment after `/v1`), and Floe's
//! `namespace-separator` is not needed: namespaces are always sent with the spec's
//! unit separator 0x1F (`%1F`). `endpoints` says which operations the server offers;
//! a server that does not say is assumed to offer the spec's default set (no HEAD
//! existence checks, no scan planning, no Floe extensions).
//!
//! ```
//! use floe_client::rest::config::Endpoints;
//! let all = Endpoints::parse(Some(vec!["GET /v1/{prefix}/namespaces".into()]));
//! assert!(all.supports("GET", "/namespaces"));
//! assert!(!all.supports("HEAD", "/namespaces/{namespace}"));
//! assert!(Endpoints::parse(None).supports("POST", "/transactions/commit"));
//! ```

use std::collections::{HashMap, HashSet};

use floe_catalog::NamespaceIdent;
use floe_spec::{Error, Result};
use url::Url;

/// The endpoints a server offers (paths after `/v1/{prefix}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    set: HashSet<String>,
}

/// What a server that does not list its endpoints is assumed to offer (the spec's
/// default set, as the Java client assumes it).
const DEFAULT_ENDPOINTS: &[&str] = &[
    "GET /namespaces",
    "POST /namespaces",
    "GET /namespaces/{namespace}",
    "DELETE /namespaces/{namespace}",
    "POST /namespaces/{namespace}/properties",
    "GET /namespaces/{namespace}/tables",
    "POST /namespaces/{namespace}/tables",
    "GET /namespaces/{namespace}/tables/{table}",
    "POST /namespaces/{namespace}/tables/{table}",
    "DELETE /namespaces/{namespace}/tables/{table}",
    "POST /namespaces/{namespace}/register",
    "POST /namespaces/{namespace}/tables/{table}/metrics",
    "POST /tables/rename",
    "POST /transactions/commit",
];

impl Endpoints {
    /// The endpoints of a config answer (`None`: the default set).
    pub fn parse(advertised: Option<Vec<String>>) -> Self {
        let set = match advertised {
            None => DEFAULT_ENDPOINTS.iter().map(|s| (*s).to_owned()).collect(),
            Some(list) => list
                .iter()
                .filter_map(|e| {
                    let (method, path) = e.trim().split_once(' ')?;
                    let path = path.trim();
                    let path = path
                        .strip_prefix("/v1/{prefix}")
                        .or_else(|| path.strip_prefix("/v1"))
                        .unwrap_or(path);
                    Some(format!("{} {path}", method.to_ascii_uppercase()))
                })
                .collect(),
        };
        Self { set }
    }

    /// Whether `method path` (path after `/v1/{prefix}`) is offered.
    pub fn supports(&self, method: &str, path: &str) -> bool {
        self.set.contains(&format!("{method} {path}"))
    }

    /// Every offered endpoint, sorted (`"GET /namespaces"`).
    pub fn list(&self) -> Vec<String> {
        let mut v: Vec<String> = self.set.iter().cloned().collect();
        v.sort();
        v
    }
}

/// The merged configuration of a connected client.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// The base URL (`uri`, possibly overridden by the server).
    pub base: Url,
    /// The path prefix after `/v1`, if the server gave one.
    pub prefix: Option<String>,
    /// The merged properties.
    pub properties: HashMap<String, String>,
    /// The endpoints the server offers.
    pub endpoints: Endpoints,
    /// The server honours `Idempotency-Key` on commits.
    pub idempotency_keys: bool,
}

/// `base` with `segments` appended as encoded path segments.
pub(crate) fn join(base: &Url, segments: &[&str]) -> Result<Url> {
    let mut url = base.clone();
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| Error::invalid(format!("catalog URI `{base}` cannot have a path")))?;
        path.pop_if_empty();
        for s in segments {
            path.push(s);
        }
    }
    Ok(url)
}

/// Parses a catalog URI (`http://` or `https://`).
pub(crate) fn parse_base(uri: &str) -> Result<Url> {
    let url = Url::parse(uri.trim())
        .map_err(|e| Error::invalid(format!("invalid catalog URI `{uri}`: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid(format!(
            "invalid catalog URI `{uri}`: the scheme must be http or https"
        )));
    }
    Ok(url)
}

impl RestConfig {
    /// A URL under `/v1/{prefix}/`.
    pub(crate) fn url(&self, segments: &[&str]) -> Result<Url> {
        let mut all: Vec<&str> = vec!["v1"];
        if let Some(p) = &self.prefix {
            all.extend(p.split('/').filter(|s| !s.is_empty()));
        }
        all.extend_from_slice(segments);
        join(&self.base, &all)
    }

    /// The `{namespace}` path segment: levels joined by 0x1F (encoded `%1F` by the
    /// URL).
    pub(crate) fn namespace_segment(ns: &NamespaceIdent) -> String {
        ns.levels().join("\u{1f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_namespaces_and_prefixes() {
        let config = RestConfig {
            base: parse_base("http://h:1/api/").unwrap(),
            prefix: Some("wh 1".into()),
            properties: HashMap::new(),
            endpoints: Endpoints::parse(None),
            idempotency_keys: false,
        };
        let ns = NamespaceIdent::new(["a", "b c"]).unwrap();
        let seg = RestConfig::namespace_segment(&ns);
        let url = config.url(&["namespaces", &seg, "tables", "t"]).unwrap();
        assert_eq!(
            url.as_str(),
            "http://h:1/api/v1/wh%201/namespaces/a%1Fb%20c/tables/t"
        );
        assert!(parse_base("ftp://h").is_err());
        assert!(parse_base("not a url").is_err());
    }

    #[test]
    fn endpoints_accept_both_forms() {
        let e = Endpoints::parse(Some(vec![
            "HEAD /v1/{prefix}/namespaces/{namespace}".into(),
            "get /v1/namespaces".into(),
        ]));
        assert!(e.supports("HEAD", "/namespaces/{namespace}"));
        assert!(e.supports("GET", "/namespaces"));
        assert_eq!(e.list().len(), 2);
    }
}
