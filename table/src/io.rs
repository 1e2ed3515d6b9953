//! FileIO: the one way table code reads and writes files.
//!
//! A [`FileIO`] serves every location of a table — data and delete files, manifests,
//! manifest lists, metadata — whatever store it lives in. The store is chosen by the
//! scheme of the location, as the catalog's [`Warehouse`] chooses it (the URL → store
//! mapping lives there, once):
//!
//! | location | store |
//! |---|---|
//! | `/abs/path`, `file:///abs/path`, `file:/abs/path` | local file system |
//! | `memory:///…` | in memory (one store per `FileIO`) |
//! | `s3://`, `s3a://`, `s3n://bucket/…` | S3 (cargo feature `s3`, on by default) |
//! | `gs://bucket/…` | Google Cloud Storage (feature `gcs`) |
//! | `abfs://`, `abfss://`, `az://…` | Azure (feature `azure`) |
//!
//! Stores are built on first use, one per scheme and bucket, from the FileIO properties
//! under their Iceberg names (`s3.endpoint`, `s3.access-key-id`, `s3.secret-access-key`,
//! `s3.session-token`, `s3.region`, `client.region`, `s3.path-style-access`; see
//! [`floe_catalog::io::object_store_options`]); credentials not given there come from the
//! environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`).
//!
//! The object key of a location is its path after `scheme://bucket/`, verbatim
//! ([`ObjectLocation`]), as Java's `S3FileIO` and PyIceberg use it, so files written by
//! one engine are found by the others.
//!
//! Errors: a missing object is [`ErrorKind::NotFound`], a [`FileIO::write_new`] onto an
//! existing object is [`ErrorKind::AlreadyExists`], a location no store serves is
//! [`ErrorKind::FeatureUnsupported`], a malformed location is
//! [`ErrorKind::DataInvalid`]; other store failures are [`ErrorKind::Io`].
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use floe_table::io::FileIO;
//! use futures::TryStreamExt;
//!
//! let io = FileIO::from_location("memory:///wh", [("s3.region", "us-east-1")]).unwrap();
//! io.write_new("memory:///wh/t/a.json", "{}".into()).await.unwrap();
//! assert!(io.write_new("memory:///wh/t/a.json", "{}".into()).await.is_err());
//! assert_eq!(&io.read("memory:///wh/t/a.json").await.unwrap()[..], b"{}");
//! let files: Vec<_> = io.list("memory:///wh/t").try_collect().await.unwrap();
//! assert_eq!(files[0].location, "memory:///wh/t/a.json");
//! assert_eq!(files[0].size, 2);
//! # });
//! ```

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use floe_catalog::Warehouse;
use floe_catalog::io::ObjectLocation;
use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{GetOptions, GetRange};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, MetadataSuffixFetch};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

use crate::error::{Error, ErrorKind, Result};

/// How many store chunks [`FileIO::delete_many`] deletes at once (the stores bound their
/// own concurrency within a chunk: S3 sends one bulk request per 1,000 keys).
const DELETE_CHUNK: usize = 1000;

/// Maps an object_store failure on `location` to a table error.
fn store_error(what: &str, location: &str, e: object_store::Error) -> Error {
    let kind = match &e {
        object_store::Error::NotFound { .. } => ErrorKind::NotFound,
        object_store::Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
        object_store::Error::InvalidPath { .. } => ErrorKind::DataInvalid,
        object_store::Error::NotSupported { .. }
        | object_store::Error::NotImplemented { .. }
        | object_store::Error::UnknownConfigurationKey { .. } => ErrorKind::FeatureUnsupported,
        _ => ErrorKind::Io,
    };
    let message = match kind {
        ErrorKind::NotFound => format!("{what}: no such file"),
        ErrorKind::AlreadyExists => format!("{what}: the file exists already"),
        _ => format!("{what} failed"),
    };
    Error::new(kind, message)
        .with_context("location", location)
        .with_source(e)
}

/// A file found by [`FileIO::list`] or [`FileIO::head`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The full location, spelled like the location it was asked under.
    pub location: String,
    /// Size in bytes.
    pub size: u64,
    /// When the file was last written.
    pub last_modified: DateTime<Utc>,
}

/// The stores of a [`FileIO`], by store root (`s3://bucket/`).
struct Inner {
    properties: HashMap<String, String>,
    stores: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

/// Reads and writes the files of tables in object stores; cheap to clone (shared
/// stores). See the [module docs](self).
#[derive(Clone)]
pub struct FileIO {
    inner: Arc<Inner>,
}

impl fmt::Debug for FileIO {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stores: Vec<String> = self
            .inner
            .stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        // Property values may be secrets: show the keys only.
        let mut keys: Vec<&String> = self.inner.properties.keys().collect();
        keys.sort();
        f.debug_struct("FileIO")
            .field("stores", &stores)
            .field("property_keys", &keys)
            .finish()
    }
}

impl FileIO {
    /// A FileIO with FileIO `properties` (Iceberg names, e.g. `s3.endpoint`); stores are
    /// built when a location first needs them.
    pub fn new<I, K, V>(properties: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            inner: Arc::new(Inner {
                properties: properties
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
                stores: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A FileIO for files under `location` (a warehouse or table location), with FileIO
    /// `properties`; the store of `location` is built now, so an unsupported scheme or
    /// a bad option fails here.
    pub fn from_location<I, K, V>(location: &str, properties: I) -> Result<Self>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let io = Self::new(properties);
        io.store(location)?;
        Ok(io)
    }

    /// A FileIO that serves the catalog warehouse's locations with the warehouse's own
    /// store (other locations get stores built from the environment).
    pub fn from_warehouse(warehouse: &Warehouse) -> Result<Self> {
        Self::new(std::iter::empty::<(String, String)>())
            .with_store(&warehouse.root(), warehouse.store().clone())
    }

    /// Serves the store of `location` (its scheme and bucket) with `store`: for tests
    /// and for stores built by hand.
    pub fn with_store(self, location: &str, store: Arc<dyn ObjectStore>) -> Result<Self> {
        let root = ObjectLocation::parse(location)?.store_root();
        self.inner
            .stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(root, store);
        Ok(self)
    }

    /// The FileIO properties.
    pub fn properties(&self) -> &HashMap<String, String> {
        &self.inner.properties
    }

    /// The store that serves `location`, built on first use.
    pub fn store(&self, location: &str) -> Result<Arc<dyn ObjectStore>> {
        Ok(self.resolve(location)?.0)
    }

    /// The object-store path of `location` (its path, verbatim).
    pub fn path(&self, location: &str) -> Result<Path> {
        Ok(ObjectLocation::parse(location)?.key().clone())
    }

    /// The store and the path of `location`.
    pub fn resolve(&self, location: &str) -> Result<(Arc<dyn ObjectStore>, Path)> {
        let parsed = ObjectLocation::parse(location)?;
        let root = parsed.store_root();
        let mut stores = self
            .inner
            .stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(store) = stores.get(&root) {
            return Ok((store.clone(), parsed.key().clone()));
        }
        // Building a store does no IO (cloud clients connect on first request).
        let store = Warehouse::with_properties(&root, &self.inner.properties)
            .map_err(|e| {
                let message = match parsed.scheme() {
                    "s3" => "S3 locations need floe-table's cargo feature `s3`",
                    "gs" => "gs:// locations need floe-table's cargo feature `gcs`",
                    "az" | "abfs" | "abfss" | "adl" | "azure" => {
                        "Azure locations need floe-table's cargo feature `azure`"
                    }
                    _ => "no object store for this location",
                };
                Error::new(e.kind(), message)
                    .with_context("location", location)
                    .with_source(e)
            })?
            .store()
            .clone();
        stores.insert(root, store.clone());
        Ok((store, parsed.key().clone()))
    }

    /// A handle to read the file at `location`.
    pub fn new_input(&self, location: impl Into<String>) -> Result<InputFile> {
        let location = location.into();
        let (store, path) = self.resolve(&location)?;
        Ok(InputFile {
            store,
            path,
            location,
            size: None,
        })
    }

    /// A handle to write the file at `location`.
    pub fn new_output(&self, location: impl Into<String>) -> Result<OutputFile> {
        let location = location.into();
        let (store, path) = self.resolve(&location)?;
        Ok(OutputFile {
            store,
            path,
            location,
        })
    }

    /// Reads a whole file.
    pub async fn read(&self, location: &str) -> Result<Bytes> {
        self.new_input(location)?.read().await
    }

    /// Reads the bytes `range` of a file; a range that starts past the end is an error.
    pub async fn read_range(&self, location: &str, range: Range<u64>) -> Result<Bytes> {
        self.new_input(location)?.read_range(range).await
    }

    /// The size and modification time of a file.
    pub async fn head(&self, location: &str) -> Result<FileInfo> {
        let (store, path) = self.resolve(location)?;
        let meta = store
            .head(&path)
            .await
            .map_err(|e| store_error("head", location, e))?;
        Ok(FileInfo {
            location: location.to_owned(),
            size: meta.size,
            last_modified: meta.last_modified,
        })
    }

    /// The size of a file in bytes.
    pub async fn size(&self, location: &str) -> Result<u64> {
        Ok(self.head(location).await?.size)
    }

    /// Whether a file exists.
    pub async fn exists(&self, location: &str) -> Result<bool> {
        match self.head(location).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Writes a file, replacing any file at `location`.
    pub async fn write(&self, location: &str, bytes: Bytes) -> Result<()> {
        self.new_output(location)?.write(bytes).await
    }

    /// Writes a new file; if a file exists at `location` already it is left alone and
    /// the error is [`ErrorKind::AlreadyExists`] (create-if-absent, atomic on every
    /// store: S3 sends `If-None-Match: *`).
    pub async fn write_new(&self, location: &str, bytes: Bytes) -> Result<()> {
        self.new_output(location)?.write_new(bytes).await
    }

    /// Deletes a file; a missing file is not an error.
    pub async fn delete(&self, location: &str) -> Result<()> {
        let (store, path) = self.resolve(location)?;
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(store_error("delete", location, e)),
        }
    }

    /// Deletes many files, with each store's bulk delete (S3: 1,000 keys a request) and
    /// bounded concurrency; missing files are not an error. Returns how many locations
    /// were deleted (or were missing already); the first failure stops the rest.
    pub async fn delete_many<I, S>(&self, locations: I) -> Result<usize>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        // Group by store (in first-seen order).
        let mut by_store: Vec<(Arc<dyn ObjectStore>, Vec<Path>)> = Vec::new();
        let mut roots: HashMap<String, usize> = HashMap::new();
        for location in locations {
            let location = location.as_ref();
            let parsed = ObjectLocation::parse(location)?;
            let store = self.store(location)?;
            let i = *roots.entry(parsed.store_root()).or_insert_with(|| {
                by_store.push((store, Vec::new()));
                by_store.len() - 1
            });
            by_store[i].1.push(parsed.key().clone());
        }
        let mut deleted = 0;
        for (store, paths) in by_store {
            for chunk in paths.chunks(DELETE_CHUNK) {
                let requests: Vec<object_store::Result<Path>> =
                    chunk.iter().cloned().map(Ok).collect();
                let mut results = store.delete_stream(stream::iter(requests).boxed());
                while let Some(result) = results.next().await {
                    match result {
                        Ok(_) | Err(object_store::Error::NotFound { .. }) => deleted += 1,
                        // The store's error names the object.
                        Err(e) => return Err(store_error("delete_many", &store.to_string(), e)),
                    }
                }
            }
        }
        Ok(deleted)
    }

    /// Every file under `prefix` (a folder: `…/t/data` lists `…/t/data/x` but not
    /// `…/t/data2/x`), recursively, in no particular order. Locations are spelled with
    /// the prefix as given.
    pub fn list(&self, prefix: &str) -> BoxStream<'static, Result<FileInfo>> {
        let (store, path) = match self.resolve(prefix) {
            Ok(found) => found,
            Err(e) => return stream::once(async { Err(e) }).boxed(),
        };
        let base = prefix.trim_end_matches('/').to_owned();
        let key_prefix = path.as_ref().to_owned();
        store
            .list(Some(&path))
            .map(move |meta| {
                let meta: ObjectMeta = meta.map_err(|e| store_error("list", &base, e))?;
                let key = meta.location.as_ref();
                let rest = key
                    .strip_prefix(key_prefix.as_str())
                    .unwrap_or(key)
                    .trim_start_matches('/');
                Ok(FileInfo {
                    location: format!("{base}/{rest}"),
                    size: meta.size,
                    last_modified: meta.last_modified,
                })
            })
            .boxed()
    }

    /// Every file under `prefix`, collected.
    pub async fn list_all(&self, prefix: &str) -> Result<Vec<FileInfo>> {
        self.list(prefix).try_collect().await
    }

    /// A Parquet reader for the file at `location` (arrow-rs's
    /// `ParquetRecordBatchStreamBuilder::new(reader)` reads it with range requests).
    pub fn parquet_reader(&self, location: &str) -> Result<ParquetFileReader> {
        Ok(self.new_input(location)?.parquet_reader())
    }
}

/// A file to read: the store, the path in it and the full location.
#[derive(Clone)]
pub struct InputFile {
    store: Arc<dyn ObjectStore>,
    path: Path,
    location: String,
    size: Option<u64>,
}

impl fmt::Debug for InputFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputFile")
            .field("location", &self.location)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl InputFile {
    /// The file at `path` of `store`, known by `location`.
    pub(crate) fn in_store(store: Arc<dyn ObjectStore>, path: Path, location: String) -> Self {
        Self {
            store,
            path,
            location,
            size: None,
        }
    }

    /// The full location.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Records the size when it is known already (a manifest says it), which saves a
    /// request when reading Parquet footers.
    #[must_use]
    pub fn with_size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// The size in bytes (asks the store unless known).
    pub async fn size(&self) -> Result<u64> {
        match self.size {
            Some(size) => Ok(size),
            None => Ok(self
                .store
                .head(&self.path)
                .await
                .map_err(|e| store_error("head", &self.location, e))?
                .size),
        }
    }

    /// Whether the file exists.
    pub async fn exists(&self) -> Result<bool> {
        match self.store.head(&self.path).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(store_error("head", &self.location, e)),
        }
    }

    /// Reads the whole file.
    pub async fn read(&self) -> Result<Bytes> {
        let got = self
            .store
            .get(&self.path)
            .await
            .map_err(|e| store_error("read", &self.location, e))?;
        got.bytes()
            .await
            .map_err(|e| store_error("read", &self.location, e))
    }

    /// Reads the bytes `range`.
    pub async fn read_range(&self, range: Range<u64>) -> Result<Bytes> {
        if range.start > range.end {
            return Err(Error::invalid(format!(
                "read_range: bad range {}..{}",
                range.start, range.end
            ))
            .with_context("location", &self.location));
        }
        self.store
            .get_range(&self.path, range)
            .await
            .map_err(|e| store_error("read_range", &self.location, e))
    }

    /// A Parquet reader (range requests through the store; with a known size the footer
    /// is read without asking for the size first).
    pub fn parquet_reader(&self) -> ParquetFileReader {
        ParquetFileReader {
            file: self.clone(),
            footer_hint: DEFAULT_FOOTER_HINT,
            whole: None,
        }
    }
}

/// How many bytes at the end of a Parquet file are fetched at once to find the footer.
const DEFAULT_FOOTER_HINT: usize = 64 * 1024;

/// A Parquet file in an object store, read with range requests: arrow-rs's
/// [`AsyncFileReader`] for `ParquetRecordBatchStreamBuilder`, on the store and path of an
/// [`InputFile`] (what parquet's deprecated `ParquetObjectReader` did).
///
/// A file whose size is known and no larger than the footer hint is read whole, in one
/// request, when its footer is asked for; the column chunks are then cut from those
/// bytes. (Otherwise a small file costs a footer request and a chunk request: twice
/// the round trips to S3, and on local disks a blocking-pool hop each.)
#[derive(Debug, Clone)]
pub struct ParquetFileReader {
    file: InputFile,
    footer_hint: usize,
    /// The whole file, once read (small files only).
    whole: Option<Bytes>,
}

impl ParquetFileReader {
    /// How many bytes at the end of the file to fetch first for the footer (64 KiB by
    /// default; one request reads most footers).
    #[must_use]
    pub fn with_footer_hint(mut self, bytes: usize) -> Self {
        self.footer_hint = bytes.max(8);
        self
    }

    /// The file.
    pub fn file(&self) -> &InputFile {
        &self.file
    }
}

fn parquet_store_error(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

/// `range` of `whole`, or an error naming the file when it is out of bounds.
fn slice_of(whole: &Bytes, range: &Range<u64>, location: &str) -> parquet::errors::Result<Bytes> {
    let (start, end) = (
        usize::try_from(range.start).unwrap_or(usize::MAX),
        usize::try_from(range.end).unwrap_or(usize::MAX),
    );
    if start > end || end > whole.len() {
        return Err(ParquetError::General(format!(
            "`{location}`: byte range {}..{} is outside the file ({} bytes)",
            range.start,
            range.end,
            whole.len()
        )));
    }
    Ok(whole.slice(start..end))
}

impl AsyncFileReader for ParquetFileReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        if let Some(whole) = &self.whole {
            return futures::future::ready(slice_of(whole, &range, &self.file.location)).boxed();
        }
        async move {
            self.file
                .store
                .get_range(&self.file.path, range)
                .await
                .map_err(parquet_store_error)
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        if let Some(whole) = &self.whole {
            let sliced = ranges
                .iter()
                .map(|r| slice_of(whole, r, &self.file.location))
                .collect();
            return futures::future::ready(sliced).boxed();
        }
        async move {
            self.file
                .store
                .get_ranges(&self.file.path, &ranges)
                .await
                .map_err(parquet_store_error)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let mut reader = ParquetMetaDataReader::new()
                .with_prefetch_hint(Some(self.footer_hint))
                .with_metadata_options(options.map(|o| o.metadata_options().clone()));
            if let Some(o) = options {
                reader = reader
                    .with_column_index_policy(o.column_index_policy())
                    .with_offset_index_policy(o.offset_index_policy());
            }
            let metadata = match self.file.size {
                Some(size) if size <= self.footer_hint as u64 => {
                    if self.whole.is_none() {
                        let whole = self
                            .file
                            .store
                            .get_range(&self.file.path, 0..size)
                            .await
                            .map_err(parquet_store_error)?;
                        self.whole = Some(whole);
                    }
                    reader.load_and_finish(self, size).await?
                }
                Some(size) => reader.load_and_finish(self, size).await?,
                None => reader.load_via_suffix_and_finish(self).await?,
            };
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

impl MetadataSuffixFetch for &mut ParquetFileReader {
    fn fetch_suffix(&mut self, suffix: usize) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let options = GetOptions {
            range: Some(GetRange::Suffix(suffix as u64)),
            ..GetOptions::default()
        };
        async move {
            let got = self
                .file
                .store
                .get_opts(&self.file.path, options)
                .await
                .map_err(parquet_store_error)?;
            got.bytes().await.map_err(parquet_store_error)
        }
        .boxed()
    }
}

/// A file to write: the store, the path in it, and the full location recorded in
/// manifests.
#[derive(Clone)]
pub struct OutputFile {
    /// The object store.
    pub store: Arc<dyn ObjectStore>,
    /// The path of the object in the store.
    pub path: Path,
    /// The full location (`DataFile.file_path`).
    pub location: String,
}

impl fmt::Debug for OutputFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutputFile")
            .field("path", &self.path)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl OutputFile {
    /// The full location.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The size of the pieces a streaming writer hands to the store: 1 MiB on the local
    /// file system and in memory, else object_store's default of 10 MiB (multipart
    /// parts on S3 must be at least 5 MiB). On the local file system each piece is one
    /// `write` of a buffer that is cold by then; 10 MiB pieces cost a 1 M-row Parquet
    /// write about 12% more time than 1 MiB ones (kernel copy time), measured with
    /// `bench/examples/table_loop.rs`.
    pub fn upload_chunk_size(&self) -> usize {
        let local = self.location.starts_with('/')
            || self.location.starts_with("file:")
            || self.location.starts_with("memory:");
        if local { 1024 * 1024 } else { 10 * 1024 * 1024 }
    }

    /// Writes the file, replacing any file at the location.
    pub async fn write(&self, bytes: Bytes) -> Result<()> {
        self.store
            .put(&self.path, PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| store_error("write", &self.location, e))
    }

    /// Writes the file if none exists ([`FileIO::write_new`]).
    pub async fn write_new(&self, bytes: Bytes) -> Result<()> {
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        self.store
            .put_opts(&self.path, PutPayload::from(bytes), opts)
            .await
            .map(|_| ())
            .map_err(|e| store_error("write_new", &self.location, e))
    }

    /// Whether a file exists at the location.
    pub async fn exists(&self) -> Result<bool> {
        self.to_input_file().exists().await
    }

    /// A streaming writer: bytes are buffered and, past the buffer
    /// ([`Self::upload_chunk_size`]), uploaded in parts (S3 multipart upload). Write
    /// with `put` or `tokio::io::AsyncWriteExt`, then `shutdown()` to finish the file, or
    /// `abort()` to leave nothing behind. The file replaces any file at the location.
    pub fn writer(&self) -> BufWriter {
        BufWriter::with_capacity(
            self.store.clone(),
            self.path.clone(),
            self.upload_chunk_size(),
        )
    }

    /// The same file, to read back.
    pub fn to_input_file(&self) -> InputFile {
        InputFile {
            store: self.store.clone(),
            path: self.path.clone(),
            location: self.location.clone(),
            size: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn stores_by_scheme_and_bucket() {
        let io = FileIO::new([("s3.region", "us-east-1")]);
        // One in-memory store per FileIO, whatever the memory path.
        io.write("memory:///a/x", Bytes::from_static(b"1"))
            .await
            .unwrap();
        assert!(io.exists("memory:///a/x").await.unwrap());
        assert_eq!(io.path("memory:///a/x").unwrap().as_ref(), "a/x");
        // Plain paths and file URLs are the same local store.
        let local = io.store("/tmp/x").unwrap();
        assert!(Arc::ptr_eq(&local, &io.store("file:///tmp/y").unwrap()));
        assert!(Arc::ptr_eq(&local, &io.store("file:/tmp/z").unwrap()));
        assert!(!Arc::ptr_eq(&local, &io.store("memory:///a").unwrap()));
        for bad in ["relative/x", "memory:///a/../b", "memory:///a//b"] {
            let e = io.read(bad).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::DataInvalid, "{bad}: {e}");
        }
        let e = io.store("hdfs://nn/x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::FeatureUnsupported, "{e}");
    }

    #[cfg(feature = "s3")]
    #[test]
    fn s3_schemes_share_one_store_per_bucket() {
        let io = FileIO::new([
            ("s3.endpoint", "http://127.0.0.1:1"),
            ("s3.access-key-id", "k"),
            ("s3.secret-access-key", "s"),
            ("s3.region", "us-east-1"),
        ]);
        let a = io.store("s3://bucket/x").unwrap();
        assert!(Arc::ptr_eq(&a, &io.store("s3a://bucket/y").unwrap()));
        assert!(Arc::ptr_eq(&a, &io.store("s3n://bucket/z").unwrap()));
        assert!(!Arc::ptr_eq(&a, &io.store("s3://other/z").unwrap()));
        assert_eq!(
            io.path("s3a://bucket/x/p=a%2Fb").unwrap().as_ref(),
            "x/p=a%2Fb"
        );
        let debug = format!("{io:?}");
        assert!(!debug.contains("\"s\""), "secrets must not show: {debug}");
        // S3 multipart parts must be at least 5 MiB; local writes use smaller pieces.
        let s3 = io.new_output("s3://bucket/f.parquet").unwrap();
        assert!(s3.upload_chunk_size() >= 5 * 1024 * 1024);
        let local = io.new_output("file:///tmp/f.parquet").unwrap();
        assert_eq!(local.upload_chunk_size(), 1024 * 1024);
    }

    #[cfg(not(feature = "gcs"))]
    #[test]
    fn missing_cloud_features_are_named() {
        let e = FileIO::new(std::iter::empty::<(String, String)>())
            .store("gs://bucket/x")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::FeatureUnsupported, "{e}");
        assert!(e.to_string().contains("`gcs`"), "{e}");
    }
}

/// Scans read through [`FileIO`] like through any other [`FileRead`]: whole files for
/// manifest lists and manifests, ranged Parquet readers (sized from the manifest when
/// known, saving a `HEAD`).
impl crate::scan::FileRead for FileIO {
    fn read(&self, location: &str) -> futures::future::BoxFuture<'static, Result<Bytes>> {
        let io = self.clone();
        let location = location.to_string();
        Box::pin(async move { io.read(&location).await })
    }

    fn reader(
        &self,
        location: &str,
        file_size: Option<u64>,
    ) -> Result<Box<dyn parquet::arrow::async_reader::AsyncFileReader>> {
        let mut input = self.new_input(location)?;
        if let Some(size) = file_size {
            input = input.with_size(size);
        }
        Ok(Box::new(input.parquet_reader()))
    }
}

#[cfg(test)]
mod file_read_tests {
    use super::*;
    use crate::scan::FileRead;

    #[tokio::test]
    async fn scans_read_through_file_io() {
        let io = FileIO::new(HashMap::<String, String>::new());
        let location = "memory:///t/metadata/a.avro";
        io.write(location, Bytes::from_static(b"manifest bytes"))
            .await
            .unwrap();
        let read: &dyn FileRead = &io;
        assert_eq!(
            read.read(location).await.unwrap().as_ref(),
            b"manifest bytes"
        );
        assert!(read.read("memory:///t/missing.avro").await.is_err());
        assert!(read.reader(location, Some(14)).is_ok());
    }

    /// A Parquet file of `rows` rows of one Int64 column, in memory.
    fn parquet_bytes(rows: i64) -> Bytes {
        use arrow::array::{Int64Array, RecordBatch};
        let values = Int64Array::from_iter_values(0..rows);
        let batch = RecordBatch::try_from_iter([("v", Arc::new(values) as _)]).unwrap();
        let mut out = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        Bytes::from(out)
    }

    /// Reads the file through `FileRead::reader`, deleting it from the store once the
    /// footer is read: the rows come back only if nothing more was asked of the store.
    async fn rows_after_footer_then_delete(io: &FileIO, location: &str, size: u64) -> Result<i64> {
        use parquet::arrow::ParquetRecordBatchStreamBuilder;
        let reader = FileRead::reader(io, location, Some(size))?;
        let builder = ParquetRecordBatchStreamBuilder::new(reader)
            .await
            .map_err(|e| Error::new(ErrorKind::Io, "footer").with_source(e))?;
        io.delete(location).await?;
        let batches: Vec<_> = builder
            .build()
            .map_err(|e| Error::new(ErrorKind::Io, "build").with_source(e))?
            .try_collect()
            .await
            .map_err(|e| Error::new(ErrorKind::Io, "read").with_source(e))?;
        Ok(batches.iter().map(|b| b.num_rows() as i64).sum())
    }

    #[tokio::test]
    async fn small_parquet_files_are_read_whole_in_one_request() {
        let io = FileIO::new(HashMap::<String, String>::new());
        let small = parquet_bytes(100);
        assert!(small.len() <= DEFAULT_FOOTER_HINT);
        let location = "memory:///t/data/small.parquet";
        io.write(location, small.clone()).await.unwrap();
        let rows = rows_after_footer_then_delete(&io, location, small.len() as u64)
            .await
            .unwrap();
        assert_eq!(rows, 100);

        // A file larger than the hint is read by ranges: once deleted, its chunks fail.
        let big = parquet_bytes(100_000);
        assert!(big.len() > DEFAULT_FOOTER_HINT);
        let location = "memory:///t/data/big.parquet";
        io.write(location, big.clone()).await.unwrap();
        assert!(
            rows_after_footer_then_delete(&io, location, big.len() as u64)
                .await
                .is_err()
        );
    }

    #[test]
    fn ranges_outside_a_whole_file_are_errors_naming_it() {
        let whole = Bytes::from_static(b"0123456789");
        assert_eq!(slice_of(&whole, &(2..5), "f").unwrap().as_ref(), b"234");
        let e = slice_of(&whole, &(8..12), "s3://b/t/f.parquet").unwrap_err();
        assert!(e.to_string().contains("s3://b/t/f.parquet"), "{e}");
        assert!(e.to_string().contains("8..12"), "{e}");
    }
}
