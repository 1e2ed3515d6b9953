//! Writers: Arrow record batches → Iceberg data and delete files in Parquet, each
//! described by a [`DataFile`] with full Iceberg metrics.
//!
//! The layers, from the bottom:
//! - [`ParquetWriter`]: one Parquet file in an object store, whose schema carries the
//!   Iceberg field ids; on close, a [`DataFile`] with record count, size, split offsets,
//!   column sizes, value/null/NaN counts and truncated bounds ([`metrics`]).
//! - [`RollingFileWriter`]: a sequence of such files for one partition, starting a new
//!   file when the current one reaches `write.target-file-size-bytes`.
//! - [`PartitionedWriter`]: checks and aligns every batch to the table schema, splits it
//!   by partition ([`crate::arrow_transform::PartitionSplitter`]) and routes the rows to
//!   one rolling writer per partition (fan-out). An unpartitioned table has one. The
//!   partitions' files are encoded concurrently on Tokio tasks (at most
//!   [`PartitionedWriter::with_parallelism`] at once, default the cores).
//! - [`PositionDeleteWriter`] and [`EqualityDeleteWriter`]: delete files.
//!
//! Files go where a [`LocationGenerator`] says: `<data location>/<partition path>/
//! <uuid>-<n>.parquet`, the data location being `write.data.path` or
//! `<table location>/data`. Nothing is committed here: the [`DataFile`]s are what a
//! transaction adds to the table.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::collections::HashMap;
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch, StringArray};
//! use arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
//! use floe_spec::partition::PartitionSpec;
//! use floe_spec::schema::Schema;
//! use floe_spec::types::{NestedField, PrimitiveType, Type};
//! use floe_table::writer::{LocationGenerator, PartitionedWriter, WriterContext};
//! use object_store::memory::InMemory;
//!
//! let schema = Schema::builder()
//!     .with_fields(vec![
//!         NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
//!         NestedField::optional(2, "name", Type::Primitive(PrimitiveType::String)),
//!     ])
//!     .build()
//!     .unwrap();
//! let store = Arc::new(InMemory::new());
//! let properties = HashMap::new();
//! let context = Arc::new(WriterContext::for_data(&schema, &properties, None).unwrap());
//! let locations = Arc::new(
//!     LocationGenerator::for_table(store, "memory:///wh/t", &properties).unwrap(),
//! );
//! let mut writer =
//!     PartitionedWriter::try_new(context, &schema, &PartitionSpec::unpartitioned(), locations)
//!         .unwrap();
//! let batch = RecordBatch::try_new(
//!     Arc::new(ArrowSchema::new(vec![
//!         Field::new("id", DataType::Int64, false),
//!         Field::new("name", DataType::Utf8, true),
//!     ])),
//!     vec![
//!         Arc::new(Int64Array::from(vec![1, 2])),
//!         Arc::new(StringArray::from(vec![Some("a"), None])),
//!     ],
//! )
//! .unwrap();
//! writer.write(&batch).await.unwrap();
//! let files = writer.close().await.unwrap();
//! assert_eq!(files.len(), 1);
//! assert_eq!(files[0].record_count, 2);
//! assert!(files[0].file_path.starts_with("memory:///wh/t/data/"));
//! assert_eq!(files[0].null_value_counts[&2], 1);
//! # });
//! ```

mod encode;
pub mod equality_delete;
pub mod location;
pub mod metrics;
pub mod parquet;
pub mod partitioned;
pub mod position_delete;
pub mod rolling;

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use ::parquet::basic::{Compression, GzipLevel, ZstdLevel};
use ::parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};
use arrow::datatypes::{Schema as ArrowSchema, SchemaRef as ArrowSchemaRef};
use floe_spec::manifest::DataContentType;
use floe_spec::schema::Schema;
use floe_spec::sort::SortOrder;
use floe_spec::types::StructType;

pub use self::equality_delete::EqualityDeleteWriter;
pub use self::location::{LocationGenerator, OutputFile, default_store_path};
pub use self::metrics::{MetricsConfig, MetricsMode};
pub use self::parquet::ParquetWriter;
pub use self::partitioned::PartitionedWriter;
pub use self::position_delete::PositionDeleteWriter;
pub use self::rolling::RollingFileWriter;
use crate::arrow_schema::field_to_arrow;
use crate::error::{Error, Result};

/// The CPUs this process may use (read once): how many partition files are encoded at
/// once by default, and the bound of the threads that encode one file's columns.
pub(crate) fn cpus() -> usize {
    static CPUS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CPUS
        .get_or_init(|| std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get))
}

/// Table property: Parquet compression codec (`zstd`, `snappy`, `gzip`, `uncompressed`).
pub const PARQUET_COMPRESSION: &str = "write.parquet.compression-codec";
/// Default of [`PARQUET_COMPRESSION`], as Java (since 1.4) and PyIceberg.
pub const PARQUET_COMPRESSION_DEFAULT: &str = "zstd";
/// Table property (Floe's own): Parquet codec of the micro-batch files that stream
/// writers write (same names as [`PARQUET_COMPRESSION`]). When neither it nor
/// [`PARQUET_COMPRESSION`] is set, stream writers write
/// [`STREAM_PARQUET_COMPRESSION_DEFAULT`]; see [`WriterConfig::for_micro_batches`].
pub const STREAM_PARQUET_COMPRESSION: &str = "floe.stream.parquet.compression-codec";
/// Default of [`STREAM_PARQUET_COMPRESSION`]: `snappy`.
pub const STREAM_PARQUET_COMPRESSION_DEFAULT: &str = "snappy";
/// Table property: compression level (codec specific).
pub const PARQUET_COMPRESSION_LEVEL: &str = "write.parquet.compression-level";
/// Table property: target row group size in bytes.
pub const PARQUET_ROW_GROUP_SIZE_BYTES: &str = "write.parquet.row-group-size-bytes";
/// Default of [`PARQUET_ROW_GROUP_SIZE_BYTES`]: 128 MiB.
pub const PARQUET_ROW_GROUP_SIZE_BYTES_DEFAULT: usize = 128 * 1024 * 1024;
/// Table property: target page size in bytes.
pub const PARQUET_PAGE_SIZE_BYTES: &str = "write.parquet.page-size-bytes";
/// Default of [`PARQUET_PAGE_SIZE_BYTES`]: 1 MiB.
pub const PARQUET_PAGE_SIZE_BYTES_DEFAULT: usize = 1024 * 1024;
/// Table property: most rows in a page.
pub const PARQUET_PAGE_ROW_LIMIT: &str = "write.parquet.page-row-limit";
/// Default of [`PARQUET_PAGE_ROW_LIMIT`].
pub const PARQUET_PAGE_ROW_LIMIT_DEFAULT: usize = 20_000;
/// Table property: dictionary page size limit in bytes.
pub const PARQUET_DICT_SIZE_BYTES: &str = "write.parquet.dict-size-bytes";
/// Default of [`PARQUET_DICT_SIZE_BYTES`]: 2 MiB.
pub const PARQUET_DICT_SIZE_BYTES_DEFAULT: usize = 2 * 1024 * 1024;
/// Table property: target size of data files.
pub const TARGET_FILE_SIZE_BYTES: &str = "write.target-file-size-bytes";
/// Default of [`TARGET_FILE_SIZE_BYTES`]: 512 MiB.
pub const TARGET_FILE_SIZE_BYTES_DEFAULT: u64 = 512 * 1024 * 1024;
/// Table property: target size of delete files.
pub const DELETE_TARGET_FILE_SIZE_BYTES: &str = "write.delete.target-file-size-bytes";
/// Default of [`DELETE_TARGET_FILE_SIZE_BYTES`]: 64 MiB.
pub const DELETE_TARGET_FILE_SIZE_BYTES_DEFAULT: u64 = 64 * 1024 * 1024;
/// Table property: where data files go instead of `<table location>/data`.
pub const WRITE_DATA_PATH: &str = "write.data.path";

/// Parquet and file-size settings from table properties.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterConfig {
    /// Compression codec (with its level).
    pub compression: Compression,
    /// Target row group size in bytes.
    pub row_group_size_bytes: usize,
    /// Target page size in bytes.
    pub page_size_bytes: usize,
    /// Most rows in a page.
    pub page_row_limit: usize,
    /// Dictionary page size limit in bytes.
    pub dict_size_bytes: usize,
    /// A file is closed and a new one started once it reaches this size.
    pub target_file_size_bytes: u64,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            compression: Compression::ZSTD(ZstdLevel::default()),
            row_group_size_bytes: PARQUET_ROW_GROUP_SIZE_BYTES_DEFAULT,
            page_size_bytes: PARQUET_PAGE_SIZE_BYTES_DEFAULT,
            page_row_limit: PARQUET_PAGE_ROW_LIMIT_DEFAULT,
            dict_size_bytes: PARQUET_DICT_SIZE_BYTES_DEFAULT,
            target_file_size_bytes: TARGET_FILE_SIZE_BYTES_DEFAULT,
        }
    }
}

fn parse_size<T: std::str::FromStr + PartialOrd + Default, S: BuildHasher>(
    properties: &HashMap<String, String, S>,
    key: &str,
    default: T,
) -> Result<T> {
    match properties.get(key) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<T>() {
            Ok(n) if n > T::default() => Ok(n),
            _ => Err(Error::invalid(format!(
                "table property `{key}` must be a positive integer, got `{v}`"
            ))),
        },
    }
}

/// The codec named by table property `key` (`zstd`, `snappy`, `gzip`, `uncompressed`),
/// at `level` (from [`PARQUET_COMPRESSION_LEVEL`]) or the codec's default.
fn parse_compression(key: &str, codec: &str, level: Option<&String>) -> Result<Compression> {
    let bad_level = |l: &String| {
        Error::invalid(format!(
            "table property `{PARQUET_COMPRESSION_LEVEL}` = `{l}` is not a valid level for codec `{codec}`"
        ))
    };
    Ok(match codec.trim().to_ascii_lowercase().as_str() {
        "zstd" => match level {
            None => Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()),
            Some(l) => Compression::ZSTD(
                l.trim()
                    .parse()
                    .ok()
                    .and_then(|n| ZstdLevel::try_new(n).ok())
                    .ok_or_else(|| bad_level(l))?,
            ),
        },
        "gzip" => match level {
            None => Compression::GZIP(GzipLevel::default()),
            Some(l) => Compression::GZIP(
                l.trim()
                    .parse()
                    .ok()
                    .and_then(|n| GzipLevel::try_new(n).ok())
                    .ok_or_else(|| bad_level(l))?,
            ),
        },
        "snappy" => Compression::SNAPPY,
        "uncompressed" | "none" => Compression::UNCOMPRESSED,
        other => {
            return Err(Error::unsupported(format!(
                "table property `{key}` = `{other}`: Floe writes zstd, snappy, gzip or \
                 uncompressed Parquet"
            )));
        }
    })
}

impl WriterConfig {
    /// The settings for data files from table properties. Errors name a property whose
    /// value is not valid.
    pub fn from_properties<S: BuildHasher>(
        properties: &HashMap<String, String, S>,
    ) -> Result<Self> {
        let codec = properties
            .get(PARQUET_COMPRESSION)
            .map_or(PARQUET_COMPRESSION_DEFAULT, String::as_str);
        let compression = parse_compression(
            PARQUET_COMPRESSION,
            codec,
            properties.get(PARQUET_COMPRESSION_LEVEL),
        )?;
        Ok(Self {
            compression,
            row_group_size_bytes: parse_size(
                properties,
                PARQUET_ROW_GROUP_SIZE_BYTES,
                PARQUET_ROW_GROUP_SIZE_BYTES_DEFAULT,
            )?,
            page_size_bytes: parse_size(
                properties,
                PARQUET_PAGE_SIZE_BYTES,
                PARQUET_PAGE_SIZE_BYTES_DEFAULT,
            )?,
            page_row_limit: parse_size(
                properties,
                PARQUET_PAGE_ROW_LIMIT,
                PARQUET_PAGE_ROW_LIMIT_DEFAULT,
            )?,
            dict_size_bytes: parse_size(
                properties,
                PARQUET_DICT_SIZE_BYTES,
                PARQUET_DICT_SIZE_BYTES_DEFAULT,
            )?,
            target_file_size_bytes: parse_size(
                properties,
                TARGET_FILE_SIZE_BYTES,
                TARGET_FILE_SIZE_BYTES_DEFAULT,
            )?,
        })
    }

    /// The settings for delete files: as for data files, with the target size from
    /// `write.delete.target-file-size-bytes`.
    pub fn for_deletes<S: BuildHasher>(properties: &HashMap<String, String, S>) -> Result<Self> {
        let mut c = Self::from_properties(properties)?;
        c.target_file_size_bytes = parse_size(
            properties,
            DELETE_TARGET_FILE_SIZE_BYTES,
            DELETE_TARGET_FILE_SIZE_BYTES_DEFAULT,
        )?;
        Ok(c)
    }

    /// The settings for a stream writer's micro-batch files: as for data files, with
    /// the codec of [`STREAM_PARQUET_COMPRESSION`] if set, else the table's own
    /// [`PARQUET_COMPRESSION`] if set, else [`STREAM_PARQUET_COMPRESSION_DEFAULT`].
    ///
    /// Why not the table's default zstd: a micro-batch file holds a few thousand rows
    /// and lives until compaction rewrites it with the table's codec, while zstd sets up
    /// a compression and a decompression context for every column chunk of every file
    /// (each probing the CPU with `cpuid`, which traps on virtual machines): 9% of a
    /// 16-writer stream's CPU time, against 3% for snappy's whole compression.
    pub fn for_micro_batches<S: BuildHasher>(
        properties: &HashMap<String, String, S>,
    ) -> Result<Self> {
        let mut c = Self::from_properties(properties)?;
        if let Some(codec) = properties.get(STREAM_PARQUET_COMPRESSION) {
            c.compression = parse_compression(STREAM_PARQUET_COMPRESSION, codec, None)?;
        } else if !properties.contains_key(PARQUET_COMPRESSION) {
            c.compression = parse_compression(
                STREAM_PARQUET_COMPRESSION,
                STREAM_PARQUET_COMPRESSION_DEFAULT,
                None,
            )?;
        }
        Ok(c)
    }

    /// The arrow-rs Parquet writer properties.
    pub fn parquet_properties(&self) -> WriterProperties {
        self.properties_builder().build()
    }

    fn properties_builder(&self) -> WriterPropertiesBuilder {
        WriterProperties::builder()
            .set_compression(self.compression)
            .set_max_row_group_bytes(Some(self.row_group_size_bytes))
            .set_max_row_group_row_count(None)
            .set_data_page_size_limit(self.page_size_bytes)
            .set_data_page_row_count_limit(self.page_row_limit)
            .set_dictionary_page_size_limit(self.dict_size_bytes)
            .set_created_by(format!("Floe {}", env!("CARGO_PKG_VERSION")))
    }
}

/// What the files of a writer hold: the Iceberg row type with its field ids, its Arrow
/// schema, the content type, and the settings. Shared by every file of a writer.
#[derive(Debug, Clone)]
pub struct WriterContext {
    row_type: StructType,
    arrow_schema: ArrowSchemaRef,
    config: WriterConfig,
    leaves: HashMap<i32, metrics::Leaf>,
    statistics_truncate_length: Option<usize>,
    content: DataContentType,
    equality_ids: Option<Vec<i32>>,
    sort_order_id: Option<i32>,
}

impl WriterContext {
    /// A context for files with rows of `row_type`. Field ids may be reserved ones (as in
    /// position delete files).
    pub fn new(
        row_type: StructType,
        config: WriterConfig,
        metrics: &MetricsConfig,
        content: DataContentType,
    ) -> Result<Self> {
        let fields = row_type
            .fields()
            .iter()
            .map(|f| field_to_arrow(f))
            .collect::<Result<Vec<_>>>()?;
        let leaves = metrics::index_leaves(&row_type, metrics);
        // Parquet statistics must hold at least what the bounds keep: whole values for
        // `full`, else enough bytes for the longest truncation (4 bytes per code point,
        // plus one more so that Parquet's own truncation never touches the kept prefix).
        let mut statistics_truncate_length = Some(64);
        for leaf in leaves.values() {
            match leaf.mode {
                MetricsMode::Full => statistics_truncate_length = None,
                MetricsMode::Truncate(n) => {
                    statistics_truncate_length = statistics_truncate_length
                        .map(|l: usize| l.max(n.saturating_mul(4).saturating_add(4)));
                }
                MetricsMode::None | MetricsMode::Counts => {}
            }
        }
        Ok(Self {
            statistics_truncate_length,
            row_type,
            arrow_schema: Arc::new(ArrowSchema::new(fields)),
            config,
            leaves,
            content,
            equality_ids: None,
            sort_order_id: None,
        })
    }

    /// A context for data files of a table: settings and metrics modes from the table
    /// properties, and the sort order (whose id is recorded in every file, and whose
    /// columns keep bounds even when the default mode drops them).
    pub fn for_data<S: BuildHasher>(
        schema: &Schema,
        properties: &HashMap<String, String, S>,
        sort_order: Option<&SortOrder>,
    ) -> Result<Self> {
        let config = WriterConfig::from_properties(properties)?;
        Self::for_data_with(schema, config, properties, sort_order)
    }

    /// A context for a stream writer's micro-batch files: as [`Self::for_data`], with
    /// the codec of [`WriterConfig::for_micro_batches`].
    pub fn for_micro_batches<S: BuildHasher>(
        schema: &Schema,
        properties: &HashMap<String, String, S>,
        sort_order: Option<&SortOrder>,
    ) -> Result<Self> {
        let config = WriterConfig::for_micro_batches(properties)?;
        Self::for_data_with(schema, config, properties, sort_order)
    }

    fn for_data_with<S: BuildHasher>(
        schema: &Schema,
        config: WriterConfig,
        properties: &HashMap<String, String, S>,
        sort_order: Option<&SortOrder>,
    ) -> Result<Self> {
        let metrics = MetricsConfig::from_properties(properties, schema, sort_order);
        let mut ctx = Self::new(
            schema.as_struct().clone(),
            config,
            &metrics,
            DataContentType::Data,
        )?;
        if let Some(order) = sort_order {
            ctx.sort_order_id = Some(i32::try_from(order.order_id).map_err(|_| {
                Error::invalid(format!("sort order id {} is out of range", order.order_id))
            })?);
        }
        Ok(ctx)
    }

    /// Sets the equality field ids written to every file.
    #[must_use]
    pub fn with_equality_ids(mut self, ids: Vec<i32>) -> Self {
        self.equality_ids = Some(ids);
        self
    }

    /// Sets the sort order id written to every file.
    #[must_use]
    pub fn with_sort_order_id(mut self, id: Option<i32>) -> Self {
        self.sort_order_id = id;
        self
    }

    /// Replaces the settings.
    #[must_use]
    pub fn with_config(mut self, config: WriterConfig) -> Self {
        self.config = config;
        self
    }

    /// The Iceberg type of the rows.
    pub fn row_type(&self) -> &StructType {
        &self.row_type
    }

    /// The Arrow schema of the rows (with field ids), which written batches must have.
    pub fn arrow_schema(&self) -> &ArrowSchemaRef {
        &self.arrow_schema
    }

    /// The settings.
    pub fn config(&self) -> &WriterConfig {
        &self.config
    }

    /// What the files hold.
    pub fn content(&self) -> DataContentType {
        self.content
    }

    /// The arrow-rs Parquet writer properties of the files.
    pub fn parquet_properties(&self) -> WriterProperties {
        self.config
            .properties_builder()
            .set_statistics_truncate_length(self.statistics_truncate_length)
            .build()
    }
}
