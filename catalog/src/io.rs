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
            _ => {
                let (store, _) = object_store::parse_url_opts(&root, options).map_err(|e| {
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

    /// The object-store path of a location; the location must be served by this
    /// warehouse's store (same scheme and bucket).
    pub fn path(&self, location: &str) -> Result<Path> {
        let url = parse_location(location)?;
        if url.scheme() != self.root.scheme() || url.host_str() != self.root.host_str() {
            return Err(Error::unsupported(format!(
                "location `{location}` is not served by the warehouse object store `{}`",
                self.root()
            )));
        }
        Path::from_url_path(url.path())
            .map_err(|e| Error::invalid(format!("invalid location `{location}`")).with_source(e))
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
