//! The minimal file access scans need: whole-file reads (manifest lists, manifests)
//! and ranged readers for Parquet (both implementations hand out
//! [`crate::io::ParquetFileReader`]s).
//!
//! [`FileRead`] is implemented by [`crate::FileIO`] (the table's file access) and by
//! [`ObjectStoreFileRead`], which serves any `object_store::ObjectStore` with a function that
//! maps a location string (`s3://bucket/t/data/a.parquet`) to an object-store path.
//!
//! ```
//! use std::sync::Arc;
//! use floe_table::scan::{FileRead, ObjectStoreFileRead};
//! use object_store::memory::InMemory;
//!
//! let io = ObjectStoreFileRead::new(Arc::new(InMemory::new()));
//! assert_eq!(io.path("memory://bucket/t/a.avro").unwrap().as_ref(), "t/a.avro");
//! ```

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::async_reader::AsyncFileReader;

use crate::error::{Error, ErrorKind, Result};
use crate::io::InputFile;

/// Reads the files of a table.
pub trait FileRead: Send + Sync + fmt::Debug {
    /// Reads a whole file.
    fn read(&self, location: &str) -> BoxFuture<'static, Result<Bytes>>;

    /// A ranged reader for a Parquet file; `file_size` (from the manifest) saves a
    /// `HEAD` request when known.
    fn reader(&self, location: &str, file_size: Option<u64>) -> Result<Box<dyn AsyncFileReader>>;
}

/// Maps a location to an object-store path.
pub type PathMapper = Arc<dyn Fn(&str) -> Result<Path> + Send + Sync>;

/// [`FileRead`] over an `object_store::ObjectStore`.
#[derive(Clone)]
pub struct ObjectStoreFileRead {
    store: Arc<dyn ObjectStore>,
    to_path: PathMapper,
}

impl fmt::Debug for ObjectStoreFileRead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreFileRead")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

/// The default location mapping: drops `scheme://authority` (the bucket) and leading
/// slashes, so `s3://b/t/x` and `file:///t/x` both become `t/x`, and a bare `/t/x`
/// becomes `t/x`.
pub fn default_path(location: &str) -> Result<Path> {
    let rest = match location.split_once("://") {
        Some((_, after)) => {
            if let Some(stripped) = after.strip_prefix('/') {
                stripped
            } else {
                after.split_once('/').map_or("", |(_, p)| p)
            }
        }
        None => location,
    };
    Path::parse(rest.trim_start_matches('/'))
        .map_err(|e| Error::invalid(format!("invalid file location `{location}`")).with_source(e))
}

impl ObjectStoreFileRead {
    /// Reads from `store`, mapping locations with [`default_path`].
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            to_path: Arc::new(default_path),
        }
    }

    /// Reads from `store`, mapping locations with `to_path`.
    pub fn with_mapper(
        store: Arc<dyn ObjectStore>,
        to_path: impl Fn(&str) -> Result<Path> + Send + Sync + 'static,
    ) -> Self {
        Self {
            store,
            to_path: Arc::new(to_path),
        }
    }

    /// The object-store path of a location.
    pub fn path(&self, location: &str) -> Result<Path> {
        (self.to_path)(location)
    }
}

fn store_error(location: &str, e: object_store::Error) -> Error {
    let kind = match e {
        object_store::Error::NotFound { .. } => ErrorKind::DataInvalid,
        _ => ErrorKind::Io,
    };
    Error::new(kind, format!("cannot read `{location}`")).with_source(e)
}

impl FileRead for ObjectStoreFileRead {
    fn read(&self, location: &str) -> BoxFuture<'static, Result<Bytes>> {
        let store = Arc::clone(&self.store);
        let location = location.to_string();
        let path = self.path(&location);
        Box::pin(async move {
            let path = path?;
            let got = store
                .get(&path)
                .await
                .map_err(|e| store_error(&location, e))?;
            got.bytes().await.map_err(|e| store_error(&location, e))
        })
    }

    fn reader(&self, location: &str, file_size: Option<u64>) -> Result<Box<dyn AsyncFileReader>> {
        let mut input = InputFile::in_store(
            Arc::clone(&self.store),
            self.path(location)?,
            location.into(),
        );
        if let Some(size) = file_size {
            input = input.with_size(size);
        }
        Ok(Box::new(input.parquet_reader()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_mapping() {
        assert_eq!(
            default_path("s3://b/t/x.parquet").unwrap().as_ref(),
            "t/x.parquet"
        );
        assert_eq!(default_path("file:///tmp/t/x").unwrap().as_ref(), "tmp/t/x");
        assert_eq!(default_path("/tmp/t/x").unwrap().as_ref(), "tmp/t/x");
        assert_eq!(default_path("rel/x").unwrap().as_ref(), "rel/x");
    }
}
