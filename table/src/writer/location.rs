//! Where new data and delete files go, and the object-store path of a location.
//!
//! File names follow Java and PyIceberg: `<data location>/<partition path>/<write
//! uuid>-<n>.parquet`, where the data location is `write.data.path` or `<table
//! location>/data`, the partition path is [`PartitionSpec::partition_path`]
//! (`name=value/…`, absent for unpartitioned tables), the uuid is fixed per generator
//! (one write) and `n` counts the files of the generator.
//!
//! [`PartitionSpec::partition_path`]: floe_spec::partition::PartitionSpec::partition_path

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use object_store::ObjectStore;
use object_store::path::Path;
use uuid::Uuid;

use floe_catalog::io::ObjectLocation;

use super::WRITE_DATA_PATH;
use crate::error::Result;
use crate::io::FileIO;
pub use crate::io::OutputFile;

/// Maps a full location (`s3://bucket/a/b`) to the path of the object in the store.
pub type PathResolver = Arc<dyn Fn(&str) -> Result<Path> + Send + Sync>;

/// The object-store path of a location: the part after `scheme://authority/` for URLs
/// (`s3://bucket/a/b` → `a/b`, `file:///tmp/t` → `tmp/t`), the path without its leading
/// `/` for plain absolute paths; verbatim, as [`FileIO`] and Iceberg's FileIOs use it
/// ([`ObjectLocation`]).
pub fn default_store_path(location: &str) -> Result<Path> {
    Ok(ObjectLocation::parse(location)?.key().clone())
}

/// Hands out new file locations under a data location.
pub struct LocationGenerator {
    store: Arc<dyn ObjectStore>,
    data_location: String,
    resolve: PathResolver,
    write_id: Uuid,
    counter: AtomicU64,
}

impl fmt::Debug for LocationGenerator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocationGenerator")
            .field("data_location", &self.data_location)
            .field("write_id", &self.write_id)
            .finish_non_exhaustive()
    }
}

impl LocationGenerator {
    /// Files under `data_location`, stored in `store` at the paths `resolve` gives.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        data_location: impl Into<String>,
        resolve: PathResolver,
    ) -> Self {
        let data_location: String = data_location.into();
        Self {
            store,
            data_location: data_location.trim_end_matches('/').to_string(),
            resolve,
            write_id: Uuid::now_v7(),
            counter: AtomicU64::new(0),
        }
    }

    /// Files of the table at `table_location`: under `write.data.path` if set, else
    /// `<table location>/data`; store paths by [`default_store_path`].
    pub fn for_table<S: BuildHasher>(
        store: Arc<dyn ObjectStore>,
        table_location: &str,
        properties: &HashMap<String, String, S>,
    ) -> Result<Self> {
        let generator = Self::new(
            store,
            data_location(table_location, properties),
            Arc::new(default_store_path),
        );
        // Fail early on a location the store cannot address.
        (generator.resolve)(&generator.data_location)?;
        Ok(generator)
    }

    /// Files of the table at `table_location` (like [`Self::for_table`]), written
    /// through `io`: the store is the one `io` uses for the data location.
    pub fn for_table_io<S: BuildHasher>(
        io: &FileIO,
        table_location: &str,
        properties: &HashMap<String, String, S>,
    ) -> Result<Self> {
        let data_location = data_location(table_location, properties);
        let store = io.store(&data_location)?;
        Ok(Self::new(
            store,
            data_location,
            Arc::new(default_store_path),
        ))
    }

    /// The data location (without a trailing `/`).
    pub fn data_location(&self) -> &str {
        &self.data_location
    }

    /// The store files are written to.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The store path of a location, by this generator's resolver.
    pub fn resolve(&self, location: &str) -> Result<Path> {
        (self.resolve)(location)
    }

    /// A new Parquet file, in the partition directory if one is given.
    pub fn new_file(&self, partition_path: Option<&str>) -> Result<OutputFile> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let name = format!("{}-{n:05}.parquet", self.write_id);
        let location = match partition_path {
            Some(p) if !p.is_empty() => format!("{}/{p}/{name}", self.data_location),
            _ => format!("{}/{name}", self.data_location),
        };
        let path = (self.resolve)(&location)?;
        Ok(OutputFile {
            store: self.store.clone(),
            path,
            location,
        })
    }
}

/// The data location of a table: `write.data.path` (without a trailing `/`) or `<table
/// location>/data`.
pub fn data_location<S: BuildHasher>(
    table_location: &str,
    properties: &HashMap<String, String, S>,
) -> String {
    match properties.get(WRITE_DATA_PATH) {
        Some(p) if !p.trim().is_empty() => p.trim().trim_end_matches('/').to_string(),
        _ => format!("{}/data", table_location.trim_end_matches('/')),
    }
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;

    use super::*;

    #[test]
    fn store_paths() {
        assert_eq!(
            default_store_path("s3://bucket/a/b").unwrap().as_ref(),
            "a/b"
        );
        assert_eq!(
            default_store_path("file:///tmp/t").unwrap().as_ref(),
            "tmp/t"
        );
        assert_eq!(default_store_path("/tmp/t/").unwrap().as_ref(), "tmp/t");
        assert_eq!(
            default_store_path("memory:///x/p=a%2Fb").unwrap().as_ref(),
            "x/p=a%2Fb"
        );
    }

    #[test]
    fn names_and_data_path() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let g =
            LocationGenerator::for_table(store.clone(), "s3://b/wh/t/", &HashMap::new()).unwrap();
        let a = g.new_file(Some("d=2024-01-01")).unwrap();
        let b = g.new_file(None).unwrap();
        assert!(a.location.starts_with("s3://b/wh/t/data/d=2024-01-01/"));
        assert!(a.location.ends_with("-00000.parquet"));
        assert!(b.location.ends_with("-00001.parquet"));
        assert_eq!(a.path.as_ref(), a.location.strip_prefix("s3://b/").unwrap());
        let props = HashMap::from([(WRITE_DATA_PATH.to_string(), "s3://other/d/".to_string())]);
        let g = LocationGenerator::for_table(store, "s3://b/wh/t", &props).unwrap();
        assert_eq!(g.data_location(), "s3://other/d");
        assert!(
            g.new_file(None)
                .unwrap()
                .location
                .starts_with("s3://other/d/")
        );
    }
}
