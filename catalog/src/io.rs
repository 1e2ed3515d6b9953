//! The warehouse: where table files live, and the object store that reads and writes
//! them.
//!
//! A [`Warehouse`] is a root URL (`file:///srv/wh`, `s3://bucket/wh`, `gs://...`,
//! `az://...`, `memory:///`) and the [`ObjectStore`] that serves it. A plain path is a
//! local folder (created if missing). Table locations are URLs under the root:
//! the default location of `db.t` is `<warehouse>/db/t`, and a table may not be created
//! or registered outside the root unless external locations are allowed.
//!
//! Metadata files are written with [`PutMode::Create`] (create-if-absent): a file, once
//! written, is never replaced.
//!
//! The object behind a location is found the way Iceberg's own FileIOs (Java's
//! `S3FileIO`, PyIceberg's `PyArrowFileIO`) find it: [`ObjectLocation`] takes the text
//! after `scheme://authority/` as the object key, verbatim (no percent-decoding), so a
//! partition folder `p=a%2Fb` is the key `p=a%2Fb` for every engine. Store options may
//! be given under their Iceberg FileIO names (`s3.endpoint`, `s3.access-key-id`, ...;
//! see [`object_store_options`]).
//!
//! ```
//! # fn main() -> floe_catalog::Result<()> {
//! use floe_catalog::{NamespaceIdent, Warehouse};
//! let wh = Warehouse::new("memory:///wh")?;
//! let ns = NamespaceIdent::new(["db"])?;
//! assert_eq!(wh.default_table_location(&ns, "t"), "memory:///wh/db/t");
//! assert!(wh.check_location("memory:///wh/db/t").is_ok());
//! assert!(wh.check_location("memory:///elsewhere/t").is_err());
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use url::Url;

use crate::error::{Error, ErrorKind, Result, store_error};
use crate::ident::NamespaceIdent;

/// The warehouse root and the object store behind it.
#[derive(Clone)]
pub struct Warehouse {
    root: Url,
    store: Arc<dyn ObjectStore>,
    allow_external_locations: bool,
}

impl fmt::Debug for Warehouse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Warehouse")
            .field("root", &self.root.as_str())
            .field("store", &self.store.to_string())
            .field("allow_external_locations", &self.allow_external_locations)
            .finish()
    }
}

/// Parses a warehouse or table location: a URL, or an absolute local path.
fn parse_location(location: &str) -> Result<Url> {
    let bad = |why: String| {
        Error::invalid(format!(
            "invalid location `{}`: {why}",
            location.escape_debug()
        ))
    };
    if location.chars().any(char::is_control) {
        return Err(bad("control characters are not allowed".into()));
    }
    if location.contains("://") {
        let url = Url::parse(location).map_err(|e| bad(e.to_string()))?;
        if url
            .path()
            .split('/')
            .any(|seg| seg == ".." || seg == "%2E%2E")
        {
            return Err(bad("`..` is not allowed".into()));
        }
        Ok(url)
    } else if location.starts_with('/') {
        if location.split('/').any(|seg| seg == "..") {
            return Err(bad("`..` is not allowed".into()));
        }
        Url::from_file_path(location).map_err(|()| bad("not an absolute path".into()))
    } else {
        Err(bad(
            "expected a URL (`s3://...`, `file:///...`) or an absolute path".into(),
        ))
    }
}

/// Iceberg FileIO properties for S3 and the object_store options they become
/// ([`object_store_options`]).
const S3_PROPERTIES: [(&str, &str); 6] = [
    ("s3.endpoint", "aws_endpoint"),
    ("s3.access-key-id", "aws_access_key_id"),
    ("s3.secret-access-key", "aws_secret_access_key"),
    ("s3.session-token", "aws_session_token"),
    ("s3.region", "aws_region"),
    ("client.region", "aws_region"),
];

/// Maps Iceberg FileIO properties to object_store builder options.
///
/// - `s3.endpoint`, `s3.access-key-id`, `s3.secret-access-key`, `s3.session-token`,
///   `s3.region` (or `client.region`) become `aws_endpoint`, `aws_access_key_id`, ...;
///   an `http://` endpoint also sets `aws_allow_http`.
/// - `s3.path-style-access` = `true` becomes `aws_virtual_hosted_style_request` = `false`
///   (and the reverse).
/// - Keys that already are object_store options (`aws_*`, `google_*`, `azure_*`) pass
///   through unchanged; everything else is ignored.
///
/// ```
/// let opts = floe_catalog::io::object_store_options([
///     ("s3.endpoint", "http://127.0.0.1:9000"),
///     ("s3.path-style-access", "true"),
///     ("write.format.default", "parquet"),
/// ]);
/// assert!(opts.contains(&("aws_endpoint".into(), "http://127.0.0.1:9000".into())));
/// assert!(opts.contains(&("aws_allow_http".into(), "true".into())));
/// assert!(opts.contains(&("aws_virtual_hosted_style_request".into(), "false".into())));
/// assert_eq!(opts.len(), 3);
/// ```
pub fn object_store_options<I, K, V>(properties: I) -> Vec<(String, String)>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut options = Vec::new();
    for (key, value) in properties {
        let (key, value) = (key.as_ref(), value.as_ref().trim());
        if let Some((_, option)) = S3_PROPERTIES.iter().find(|(k, _)| *k == key) {
            if key == "s3.endpoint" && value.to_ascii_lowercase().starts_with("http://") {
                options.push(("aws_allow_http".to_owned(), "true".to_owned()));
            }
            options.push(((*option).to_owned(), value.to_owned()));
        } else if key == "s3.path-style-access" {
            let path_style = value.eq_ignore_ascii_case("true");
            options.push((
                "aws_virtual_hosted_style_request".to_owned(),
                (!path_style).to_string(),
            ));
        } else if ["aws_", "google_", "azure_"]
            .iter()
            .any(|p| key.starts_with(p))
        {
            options.push((key.to_owned(), value.to_owned()));
        }
    }
    options
}

/// A location split into the store that serves it and the object key in that store.
///
/// - `scheme://authority/key` → scheme (lower case; `s3a` and `s3n` are `s3`),
///   authority (bucket, container), and the rest as the key, verbatim.
/// - `/abs/path`, `file:///abs/path` and Hadoop's `file:/abs/path` → the local file
///   system, key `abs/path`.
///
/// Relative paths, `.`/`..` or empty segments and control characters are rejected.
///
/// ```
/// use floe_catalog::io::ObjectLocation;
/// let l = ObjectLocation::parse("s3a://bucket/wh/t/data/p=a%2Fb/f.parquet").unwrap();
/// assert_eq!((l.scheme(), l.authority()), ("s3", "bucket"));
/// assert_eq!(l.key().as_ref(), "wh/t/data/p=a%2Fb/f.parquet");
/// assert_eq!(l.store_root(), "s3://bucket/");
/// let l = ObjectLocation::parse("/tmp/my table/f").unwrap();
/// assert_eq!((l.scheme(), l.key().as_ref()), ("file", "tmp/my table/f"));
/// assert!(ObjectLocation::parse("s3://bucket/a/../b").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectLocation {
    scheme: String,
    authority: String,
    key: Path,
}

impl ObjectLocation {
    /// Splits `location`; see the type's docs.
    pub fn parse(location: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::invalid(format!(
                "invalid location `{}`: {why}",
                location.escape_debug()
            ))
        };
        if location.chars().any(char::is_control) {
            return Err(bad("control characters are not allowed"));
        }
        let (scheme, authority, key) = if let Some((scheme, rest)) = location.split_once("://") {
            let scheme = scheme.to_ascii_lowercase();
            if scheme.is_empty()
                || !scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            {
                return Err(bad("not a URL scheme"));
            }
            let (authority, key) = rest.split_once('/').unwrap_or((rest, ""));
            (scheme, authority, key)
        } else if let Some(path) = location.strip_prefix("file:") {
            // Hadoop writes local locations as `file:/abs/path`.
            let key = path
                .strip_prefix('/')
                .ok_or_else(|| bad("expected `file:/<absolute path>`"))?;
            ("file".to_owned(), "", key)
        } else if let Some(key) = location.strip_prefix('/') {
            ("file".to_owned(), "", key)
        } else {
            return Err(bad(
                "expected a URL (`s3://...`, `file:///...`) or an absolute path",
            ));
        };
        let scheme = match scheme.as_str() {
            "s3a" | "s3n" => "s3".to_owned(),
            _ => scheme,
        };
        if matches!(scheme.as_str(), "file" | "memory") && !authority.is_empty() {
            return Err(bad(
                "a local or memory location has no authority (use `file:///...`)",
            ));
        }
        let key = Path::parse(key.trim_end_matches('/'))
            .map_err(|e| bad("not a valid object key").with_source(e))?;
        Ok(Self {
            scheme,
            authority: authority.to_owned(),
            key,
        })
    }

    /// The scheme, lower case, `s3a`/`s3n` folded into `s3`; `file` for local paths.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The authority: bucket, container (`container@account.host` for `abfss`), or
    /// empty.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The object key in the store: the location's path, verbatim.
    pub fn key(&self) -> &Path {
        &self.key
    }

    /// The root URL of the store that serves this location: `scheme://authority/`.
    pub fn store_root(&self) -> String {
        format!("{}://{}/", self.scheme, self.authority)
    }

    /// Whether `other` is served by the same store.
    pub fn same_store(&self, other: &Self) -> bool {
        self.scheme == other.scheme && self.authority == other.authority
    }
}

/// A URL without a trailing `/` in its path, as a string.
fn trimmed(url: &Url) -> String {
    url.as_str().trim_end_matches('/').to_owned()
}

impl Warehouse {
    /// The warehouse at `location`: a URL (`file://`, `memory://`, and with the catalog
    /// features `s3://`, `gs://`, `az://`/`abfss://`) or a local path, which is created if
    /// it does not exist. Cloud stores read their credentials from the environment
    /// (`AWS_*`, `GOOGLE_*`, `AZURE_*`).
    pub fn new(location: &str) -> Result<Self> {
        Self::with_options(location, std::iter::empty::<(String, String)>())
    }

    /// Like [`Self::new`], with object-store options (`aws_endpoint`, `aws_region`, ...)
    /// for cloud stores.
    pub fn with_options<I, K, V>(location: &str, options: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<String>,
    {
        let root = if location.contains("://") {
            parse_location(location)?
        } else {
            let path = std::path::absolute(location).map_err(|e| {
                Error::invalid(format!("invalid warehouse path `{location}`")).with_source(e)
            })?;
            std::fs::create_dir_all(&path).map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot create the warehouse folder {}", path.display()),
                )
                .with_source(e)
            })?;
            Url::from_directory_path(&path)
                .map_err(|()| Error::invalid(format!("invalid warehouse path `{location}`")))?
        };
        let store: Arc<dyn ObjectStore> = match root.scheme() {
            "file" => Arc::new(LocalFileSystem::new()),
            "memory" => Arc::new(InMemory::new()),
            scheme => {
                // object_store knows `s3a` but not Hadoop's `s3n`: both are S3.
                let mut store_url = root.clone();
                if scheme == "s3n" {
                    store_url =
                        Url::parse(&root.as_str().replacen("s3n://", "s3://", 1)).map_err(|e| {
                            Error::invalid(format!("invalid location `{root}`")).with_source(e)
                        })?;
                }
                let (store, _) = object_store::parse_url_opts(&store_url, options).map_err(|e| {
                    Error::unsupported(format!(
                        "no object store for warehouse `{root}` (is the catalog built with the `s3`, `gcs` or `azure` feature?)"
                    ))
                    .with_source(e)
                })?;
                Arc::from(store)
            }
        };
        Ok(Self::with_store(root, store))
    }

    /// Like [`Self::with_options`], with Iceberg FileIO properties (`s3.endpoint`,
    /// `s3.access-key-id`, ...) mapped by [`object_store_options`].
    pub fn with_properties<I, K, V>(location: &str, properties: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        Self::with_options(location, object_store_options(properties))
    }

    /// A warehouse at `root` served by `store` (tests inject in-memory or fault-injecting
    /// stores this way). Paths in `store` are the URL paths of locations.
    pub fn with_store(root: Url, store: Arc<dyn ObjectStore>) -> Self {
        Self {
            root,
            store,
            allow_external_locations: false,
        }
    }

    /// Allows (or forbids, the default) table locations outside the warehouse root.
    #[must_use]
    pub fn allow_external_locations(mut self, allow: bool) -> Self {
        self.allow_external_locations = allow;
        self
    }

    /// The root URL, without a trailing `/`.
    pub fn root(&self) -> String {
        trimmed(&self.root)
    }

    /// The object store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The default location of table `name` in `namespace`: `<root>/<ns levels>/<name>`.
    pub fn default_table_location(&self, namespace: &NamespaceIdent, name: &str) -> String {
        format!("{}/{}/{name}", self.root(), namespace.to_path())
    }

    /// Checks a table location: it must parse, and lie strictly inside the warehouse
    /// root unless external locations are allowed. Returns it normalized (no trailing
    /// `/`).
    pub fn check_location(&self, location: &str) -> Result<String> {
        let url = parse_location(location)?;
        let normalized = trimmed(&url);
        if self.allow_external_locations {
            return Ok(normalized);
        }
        let root = self.root();
        let inside = normalized
            .strip_prefix(&root)
            .is_some_and(|rest| rest.starts_with('/') && rest.len() > 1);
        if !inside {
            return Err(Error::invalid(format!(
                "location `{normalized}` is outside the warehouse `{root}` (the catalog does not allow external locations)"
            )));
        }
        Ok(normalized)
    }

    /// The root of the store that serves the warehouse, split like a location.
    pub fn store_location(&self) -> Result<ObjectLocation> {
        ObjectLocation::parse(self.root.as_str())
    }

    /// The object-store path of a location ([`ObjectLocation::key`]: the path verbatim,
    /// as Iceberg's FileIOs use it); the location must be served by this warehouse's
    /// store (same scheme and bucket).
    pub fn path(&self, location: &str) -> Result<Path> {
        let parsed = ObjectLocation::parse(location)?;
        if !parsed.same_store(&self.store_location()?) {
            return Err(Error::unsupported(format!(
                "location `{location}` is not served by the warehouse object store `{}`",
                self.root()
            )));
        }
        Ok(parsed.key)
    }

    /// Reads a whole file.
    pub async fn read(&self, location: &str) -> Result<Bytes> {
        let path = self.path(location)?;
        let got = self
            .store
            .get(&path)
            .await
            .map_err(|e| store_error("read", location, e))?;
        got.bytes()
            .await
            .map_err(|e| store_error("read", location, e))
    }

    /// Writes a new file; fails if one exists already (create-if-absent).
    pub async fn write_new(&self, location: &str, bytes: Vec<u8>) -> Result<()> {
        let path = self.path(location)?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&path, PutPayload::from(bytes), opts)
            .await
        {
            Ok(_) => Ok(()),
            Err(e @ object_store::Error::AlreadyExists { .. }) => Err(Error::new(
                ErrorKind::Unexpected,
                "object store: a new metadata file already exists",
            )
            .with_context("location", location)
            .with_source(e)),
            Err(e) => Err(store_error("write", location, e)),
        }
    }

    /// Deletes one file; a missing file is not an error.
    pub async fn delete(&self, location: &str) -> Result<()> {
        let path = self.path(location)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_error("delete", location, e)),
        }
    }

    /// Deletes every file under a location (a table's folder); returns how many.
    pub async fn delete_prefix(&self, location: &str) -> Result<usize> {
        let prefix = self.path(location)?;
        let files: Vec<Path> = self
            .store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|e| store_error("list", location, e))?;
        for file in &files {
            match self.store.delete(file).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_error("delete", file.as_ref(), e)),
            }
        }
        Ok(files.len())
    }

    /// Whether a file exists.
    pub async fn exists(&self, location: &str) -> Result<bool> {
        let path = self.path(location)?;
        match self.store.head(&path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(store_error("head", location, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_must_stay_inside_the_warehouse() {
        let wh = Warehouse::new("memory:///wh").unwrap();
        assert_eq!(
            wh.check_location("memory:///wh/a/b/").unwrap(),
            "memory:///wh/a/b"
        );
        for bad in [
            "memory:///wh",
            "memory:///wh2/a",
            "memory:///wh/../x",
            "memory:///other/wh/a",
            "s3://wh/a",
            "relative/path",
        ] {
            assert!(wh.check_location(bad).is_err(), "{bad} should be rejected");
        }
        let wh = wh.allow_external_locations(true);
        assert!(wh.check_location("memory:///elsewhere").is_ok());
    }

    #[test]
    fn keys_are_the_location_path_verbatim() {
        let wh = Warehouse::new("memory:///wh").unwrap();
        for (location, key) in [
            (
                "memory:///wh/t/data/p=a%2Fb/f.parquet",
                "wh/t/data/p=a%2Fb/f.parquet",
            ),
            ("memory:///wh/my table/ünï.json", "wh/my table/ünï.json"),
            ("memory:///wh/t/", "wh/t"),
        ] {
            assert_eq!(wh.path(location).unwrap().as_ref(), key, "{location}");
        }
        for bad in [
            "memory:///wh/a/../b",
            "memory:///wh//b",
            "memory:///wh/a\nb",
            "s3://b/k",
        ] {
            assert!(wh.path(bad).is_err(), "{bad} should be rejected");
        }
        for (location, scheme, authority, key) in [
            ("s3://b/k/x", "s3", "b", "k/x"),
            ("s3a://b/k", "s3", "b", "k"),
            ("S3N://b/k", "s3", "b", "k"),
            ("file:///tmp/x", "file", "", "tmp/x"),
            ("file:/tmp/x", "file", "", "tmp/x"),
            ("/tmp/x", "file", "", "tmp/x"),
            (
                "abfss://c@acct.dfs.core.windows.net/k",
                "abfss",
                "c@acct.dfs.core.windows.net",
                "k",
            ),
            ("gs://b", "gs", "b", ""),
        ] {
            let l = ObjectLocation::parse(location).unwrap();
            assert_eq!(
                (l.scheme(), l.authority(), l.key().as_ref()),
                (scheme, authority, key)
            );
        }
        for bad in [
            "relative/x",
            "file://host/x",
            "file:relative",
            "://x",
            "s 3://b/k",
        ] {
            assert!(
                ObjectLocation::parse(bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn iceberg_s3_properties_become_store_options() {
        let opts = object_store_options([
            ("s3.endpoint", "https://s3.example.com"),
            ("s3.access-key-id", "AK"),
            ("s3.secret-access-key", "SK"),
            ("s3.session-token", "T"),
            ("client.region", "eu-west-1"),
            ("s3.path-style-access", "false"),
            ("aws_conditional_put", "etag"),
            ("unrelated", "x"),
        ]);
        let expected: Vec<(String, String)> = [
            ("aws_endpoint", "https://s3.example.com"),
            ("aws_access_key_id", "AK"),
            ("aws_secret_access_key", "SK"),
            ("aws_session_token", "T"),
            ("aws_region", "eu-west-1"),
            ("aws_virtual_hosted_style_request", "true"),
            ("aws_conditional_put", "etag"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(opts, expected);
    }

    #[tokio::test]
    async fn write_new_is_create_if_absent() {
        let wh = Warehouse::new("memory:///wh").unwrap();
        wh.write_new("memory:///wh/t/f.json", b"1".to_vec())
            .await
            .unwrap();
        assert!(
            wh.write_new("memory:///wh/t/f.json", b"2".to_vec())
                .await
                .is_err()
        );
        assert_eq!(&wh.read("memory:///wh/t/f.json").await.unwrap()[..], b"1");
        assert_eq!(wh.delete_prefix("memory:///wh/t").await.unwrap(), 1);
        assert!(!wh.exists("memory:///wh/t/f.json").await.unwrap());
    }
}
