//! The table metadata JSON codec (spec §Table Metadata and Appendix C).
//!
//! **Reading** accepts format versions 1, 2 and 3, plain or gzip-compressed (the
//! `.gz.metadata.json` files; recognised by the gzip magic bytes `1f 8b`):
//!
//! - v1 tables may use the legacy single `schema` and `partition-spec` (a bare field
//!   array whose field ids may be missing) instead of `schemas` and `partition-specs`;
//!   `table-uuid` (a random one is assigned, as Java does), `last-partition-id`
//!   (computed), `sort-orders` (unsorted) and snapshot `sequence-number`s (0) may be
//!   missing. Snapshots that embed a `manifests` list instead of a `manifest-list` are
//!   rejected as unsupported.
//! - v2 and v3 need every field the spec marks required; v3 also needs `next-row-id`.
//! - `current-snapshot-id` of −1 or `null` means no current snapshot. When `main` is
//!   missing from `refs` (or `refs` is absent) but a current snapshot is set, a `main`
//!   branch pointing at it is created.
//! - `null` optional collections read as empty. Unknown top-level fields are rejected,
//!   except a short allow-list of fields older writers emitted (see
//!   [`IGNORED_FIELDS`]). Non-empty `encryption-keys` are rejected as unsupported:
//!   Floe cannot carry them, and dropping them would make an encrypted table
//!   unreadable.
//! - The parsed metadata is checked with [`TableMetadata::validate`].
//!
//! Every error names the offending field.
//!
//! **Writing** uses the table's own format version, with the fields in the order Java's
//! `TableMetadataParser` writes them, `{}`/`[]` for empty collections (never `null`),
//! and deterministic ordering (ids, names and keys sorted). `current-snapshot-id` is
//! written as −1 when there is none in v1/v2 and as `null` in v3, like Java. v1 tables
//! also carry the legacy `schema` and `partition-spec` keys, because PyIceberg's v1
//! model requires `schema`; v2 and v3 tables never do.
//!
//! ```
//! use floe_spec::table_metadata::TableMetadata;
//!
//! let json = r#"{
//!   "format-version": 2,
//!   "table-uuid": "9c12d441-03fe-4693-9a96-a0705ddf69c1",
//!   "location": "s3://bucket/db/t",
//!   "last-sequence-number": 0,
//!   "last-updated-ms": 1700000000000,
//!   "last-column-id": 1,
//!   "current-schema-id": 0,
//!   "schemas": [{"type": "struct", "schema-id": 0, "fields": [
//!     {"id": 1, "name": "id", "required": true, "type": "long"}]}],
//!   "default-spec-id": 0,
//!   "partition-specs": [{"spec-id": 0, "fields": []}],
//!   "last-partition-id": 999,
//!   "default-sort-order-id": 0,
//!   "sort-orders": [{"order-id": 0, "fields": []}],
//!   "current-snapshot-id": -1
//! }"#;
//! let metadata = TableMetadata::from_json_str(json)?;
//! assert_eq!(metadata.current_snapshot_id(), None);
//! let back = TableMetadata::from_json_slice(&metadata.to_json_vec()?)?;
//! assert_eq!(back, metadata);
//! # Ok::<(), floe_spec::Error>(())
//! ```

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, PoisonError};

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    FormatVersion, MetadataLog, PartitionStatisticsFile, SnapshotLog, StatisticsFile, TableMetadata,
};
use crate::error::{Error, Result};
use crate::partition::{
    PARTITION_DATA_ID_START, PartitionField, PartitionSpec, UnboundPartitionField,
    UnboundPartitionSpec,
};
use crate::schema::Schema;
use crate::snapshot::{MAIN_BRANCH, Operation, Snapshot, SnapshotRef, SnapshotReference, Summary};
use crate::sort::SortOrder;

/// Top-level fields that other writers have put in metadata files and that Floe reads
/// without keeping: `row-lineage`, the flag Java's 1.9 development builds wrote into v3
/// metadata (every v3 table tracks row lineage now).
///
/// The legacy v1 keys `schema` and `partition-spec`, which old Java versions also wrote
/// into v2 files, are accepted and ignored in v2/v3, as Java does; so are
/// `last-sequence-number` in v1 and `next-row-id` before v3.
pub const IGNORED_FIELDS: &[&str] = &["row-lineage"];

/// The largest decompressed size accepted from a gzip-compressed metadata file.
pub const MAX_DECOMPRESSED_METADATA_BYTES: u64 = 512 * 1024 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The `current-snapshot-id` Java writes in v1/v2 when there is no current snapshot.
const NO_SNAPSHOT_ID: i64 = -1;

impl TableMetadata {
    /// Reads table metadata from JSON bytes, plain or gzip-compressed. Errors name the
    /// offending field; an unsupported format version or feature gives an
    /// [`crate::ErrorKind::FeatureUnsupported`] error, anything else
    /// [`crate::ErrorKind::DataInvalid`].
    pub fn from_json_slice(bytes: &[u8]) -> Result<TableMetadata> {
        if bytes.starts_with(&GZIP_MAGIC) {
            let plain = gunzip(bytes)?;
            return Self::from_json_text(&plain);
        }
        Self::from_json_text(bytes)
    }

    /// Reads table metadata from a JSON string.
    pub fn from_json_str(json: &str) -> Result<TableMetadata> {
        Self::from_json_text(json.as_bytes())
    }

    /// Reads the top-level object with each field's value left as raw JSON text, so that
    /// every field is deserialized straight into its type (no `Value` tree); anything
    /// but an object goes through [`Self::from_json_value`] for its error.
    fn from_json_text(bytes: &[u8]) -> Result<TableMetadata> {
        match serde_json::from_slice::<HashMap<String, &RawValue>>(bytes) {
            Ok(map) => parse_object(Fields::new(
                map.into_iter()
                    .map(|(k, v)| (k, FieldValue::Raw(v)))
                    .collect(),
            )),
            Err(_) => Self::from_json_value(serde_json::from_slice(bytes)?),
        }
    }

    /// Reads table metadata from a parsed JSON value (e.g. the `metadata` of a REST
    /// `LoadTableResult`).
    pub fn from_json_value(value: Value) -> Result<TableMetadata> {
        match value {
            Value::Object(map) => parse_object(Fields::from_map(map)),
            other => Err(Error::invalid(format!(
                "table metadata must be a JSON object, got {}",
                json_kind(&other)
            ))),
        }
    }

    /// The metadata as JSON bytes, ready to be written as a `.metadata.json` file.
    pub fn to_json_vec(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(&TableMetadataWire::from(self)).map_err(|e| {
            Error::new(
                crate::ErrorKind::Unexpected,
                "cannot serialize table metadata",
            )
            .with_source(e)
        })
    }

    /// The metadata as gzip-compressed JSON bytes, for a `.gz.metadata.json` file.
    pub fn to_json_gzip_vec(&self) -> Result<Vec<u8>> {
        let json = self.to_json_vec()?;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder
            .write_all(&json)
            .and_then(|()| encoder.finish())
            .map_err(|e| {
                Error::new(crate::ErrorKind::Unexpected, "cannot gzip table metadata")
                    .with_source(e)
            })
    }

    /// The metadata as a JSON value (fields in the order they are written).
    pub fn to_json_value(&self) -> Result<Value> {
        serde_json::to_value(TableMetadataWire::from(self)).map_err(|e| {
            Error::new(
                crate::ErrorKind::Unexpected,
                "cannot serialize table metadata",
            )
            .with_source(e)
        })
    }
}

impl Serialize for TableMetadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        TableMetadataWire::from(self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TableMetadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let map = Map::<String, Value>::deserialize(deserializer)?;
        parse_object(Fields::from_map(map)).map_err(de::Error::custom)
    }
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(MAX_DECOMPRESSED_METADATA_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::invalid("table metadata: malformed gzip data").with_source(e))?;
    if out.len() as u64 > MAX_DECOMPRESSED_METADATA_BYTES {
        return Err(Error::invalid(format!(
            "table metadata: gzip data inflates to more than {MAX_DECOMPRESSED_METADATA_BYTES} bytes"
        )));
    }
    Ok(out)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------

/// The value of a top-level field: parsed already (read from a `Value`), or raw JSON
/// text (read from bytes), deserialized only when the field is taken.
enum FieldValue<'a> {
    Parsed(Value),
    Raw(&'a RawValue),
}

impl FieldValue<'_> {
    fn is_null(&self) -> bool {
        match self {
            Self::Parsed(v) => v.is_null(),
            Self::Raw(r) => r.get() == "null",
        }
    }

    /// What kind of JSON value this is, for error messages.
    fn kind(&self) -> &'static str {
        match self {
            Self::Parsed(v) => json_kind(v),
            Self::Raw(r) => match r.get().as_bytes().first() {
                Some(b'n') => "null",
                Some(b't' | b'f') => "a boolean",
                Some(b'"') => "a string",
                Some(b'[') => "an array",
                Some(b'{') => "an object",
                _ => "a number",
            },
        }
    }

    /// Deserializes the value as a `T`, naming field `key` in the error.
    fn decode<T: DeserializeOwned>(self, key: &str) -> Result<T> {
        match self {
            Self::Parsed(v) => serde_json::from_value(v).map_err(|e| field_error(key, &e)),
            Self::Raw(r) => serde_json::from_str(r.get()).map_err(|e| field_error(key, &e)),
        }
    }

    /// The elements of an array, each still unparsed where this value was.
    fn into_items(self, key: &str) -> Result<Vec<Self>> {
        let not_array = |kind: &str| field_error(key, &format!("expected an array, got {kind}"));
        match self {
            Self::Parsed(Value::Array(items)) => Ok(items.into_iter().map(Self::Parsed).collect()),
            Self::Raw(r) if r.get().starts_with('[') => {
                let items: Vec<&RawValue> =
                    serde_json::from_str(r.get()).map_err(|e| field_error(key, &e))?;
                Ok(items.into_iter().map(Self::Raw).collect())
            }
            other => Err(not_array(other.kind())),
        }
    }
}

/// The top-level fields of a metadata object, taken one at a time so that every error
/// names its field and the leftovers are the unknown fields.
struct Fields<'a> {
    map: HashMap<String, FieldValue<'a>>,
    version: u8,
}

impl<'a> Fields<'a> {
    fn new(map: HashMap<String, FieldValue<'a>>) -> Self {
        Self { map, version: 0 }
    }

    fn from_map(map: Map<String, Value>) -> Self {
        Self::new(
            map.into_iter()
                .map(|(k, v)| (k, FieldValue::Parsed(v)))
                .collect(),
        )
    }

    /// The raw value of `key`; `null` counts as absent.
    fn raw(&mut self, key: &str) -> Option<FieldValue<'a>> {
        self.map.remove(key).filter(|v| !v.is_null())
    }

    /// The value of an optional field.
    fn take<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>> {
        self.raw(key).map(|v| v.decode(key)).transpose()
    }

    /// The value of a required field.
    fn require<T: DeserializeOwned>(&mut self, key: &str) -> Result<T> {
        self.take(key)?.ok_or_else(|| self.missing(key))
    }

    fn missing(&self, key: &str) -> Error {
        Error::invalid(format!(
            "table metadata: required field `{key}` is missing or null (format-version {})",
            self.version
        ))
        .with_context("field", key)
    }
}

fn field_error(key: &str, e: &dyn std::fmt::Display) -> Error {
    Error::invalid(format!("table metadata: field `{key}` is invalid: {e}"))
        .with_context("field", key)
}

/// Reads a metadata object of any supported format version.
fn parse_object(mut f: Fields<'_>) -> Result<TableMetadata> {
    let version_number = match f.raw("format-version") {
        None => {
            return Err(Error::invalid(
                "table metadata: required field `format-version` is missing",
            )
            .with_context("field", "format-version"));
        }
        Some(v) => {
            let v: Value = v.decode("format-version")?;
            v.as_i64().ok_or_else(|| {
                field_error(
                    "format-version",
                    &format!("expected an integer, got {}", json_kind(&v)),
                )
            })?
        }
    };
    let format_version = FormatVersion::try_from(version_number)?;
    f.version = format_version.number();
    let v1 = format_version == FormatVersion::V1;

    let table_uuid = if v1 {
        f.take::<Uuid>("table-uuid")?.unwrap_or_else(Uuid::new_v4)
    } else {
        f.require("table-uuid")?
    };
    let location: String = f.require("location")?;
    let last_sequence_number = if v1 {
        // Java reads v1 tables with sequence number 0, whatever the file says.
        f.map.remove("last-sequence-number");
        0
    } else {
        f.require("last-sequence-number")?
    };
    let last_updated_ms: i64 = f.require("last-updated-ms")?;
    let last_column_id: i32 = f.require("last-column-id")?;

    let (schemas, current_schema_id) = read_schemas(&mut f, v1)?;
    let (specs, default_spec_id) = read_specs(&mut f, v1)?;
    let last_partition_id = match f.take::<i32>("last-partition-id")? {
        Some(id) => id,
        None if v1 => specs
            .iter()
            .filter_map(PartitionSpec::highest_field_id)
            .max()
            .unwrap_or(PARTITION_DATA_ID_START - 1),
        None => return Err(f.missing("last-partition-id")),
    };
    let (sort_orders, default_sort_order_id) = match f.take::<Vec<SortOrder>>("sort-orders")? {
        Some(orders) => (orders, f.require::<i64>("default-sort-order-id")?),
        None if v1 => {
            // Like Java: without `sort-orders` the table is unsorted.
            f.take::<i64>("default-sort-order-id")?;
            (vec![SortOrder::unsorted()], SortOrder::UNSORTED_ORDER_ID)
        }
        None => return Err(f.missing("sort-orders")),
    };
    let properties: HashMap<String, String> = f.take("properties")?.unwrap_or_default();
    let current_snapshot_id = f
        .take::<i64>("current-snapshot-id")?
        .filter(|id| *id != NO_SNAPSHOT_ID);
    let next_row_id = if format_version >= FormatVersion::V3 {
        Some(f.require::<i64>("next-row-id")?)
    } else {
        // Java ignores it before v3.
        f.take::<i64>("next-row-id")?;
        None
    };
    read_encryption_keys(&mut f)?;

    let mut refs: HashMap<String, SnapshotReference> = f.take("refs")?.unwrap_or_default();
    if let Some(id) = current_snapshot_id
        && !refs.contains_key(MAIN_BRANCH)
    {
        refs.insert(MAIN_BRANCH.to_string(), SnapshotReference::branch(id));
    }

    let snapshots = match f.raw("snapshots") {
        None => Vec::new(),
        Some(v) => v
            .into_items("snapshots")?
            .into_iter()
            .enumerate()
            .map(|(i, v)| read_snapshot(i, v, format_version))
            .collect::<Result<Vec<_>>>()?,
    };
    let statistics: Vec<StatisticsFile> = f.take("statistics")?.unwrap_or_default();
    let partition_statistics: Vec<PartitionStatisticsFile> =
        f.take("partition-statistics")?.unwrap_or_default();
    let snapshot_log: Vec<SnapshotLog> = f.take("snapshot-log")?.unwrap_or_default();
    let metadata_log: Vec<MetadataLog> = f.take("metadata-log")?.unwrap_or_default();

    let mut unknown: Vec<&str> = f
        .map
        .keys()
        .map(String::as_str)
        .filter(|k| !IGNORED_FIELDS.contains(k))
        .collect();
    unknown.sort_unstable();
    if let Some(first) = unknown.first() {
        let list = unknown
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::invalid(format!(
            "table metadata: unknown field {list} (format-version {})",
            f.version
        ))
        .with_context("field", *first));
    }

    let metadata = TableMetadata {
        format_version,
        table_uuid,
        location,
        last_sequence_number,
        last_updated_ms,
        last_column_id,
        schemas: index("schemas", schemas, Schema::schema_id)?,
        current_schema_id,
        partition_specs: index("partition-specs", specs, |s| s.spec_id)?,
        default_spec_id,
        last_partition_id,
        properties,
        current_snapshot_id,
        snapshots: index("snapshots", snapshots, |s| s.snapshot_id)?,
        snapshot_log,
        metadata_log,
        sort_orders: index("sort-orders", sort_orders, |o| o.order_id)?,
        default_sort_order_id,
        refs,
        statistics,
        partition_statistics,
        next_row_id,
        snapshot_json: SnapshotJsonCache::default(),
    };
    metadata.validate()?;
    Ok(metadata)
}

/// Builds an id → item map, rejecting a repeated id.
fn index<K, T>(field: &str, items: Vec<T>, id: impl Fn(&T) -> K) -> Result<HashMap<K, Arc<T>>>
where
    K: Eq + Hash + std::fmt::Display,
{
    let mut map = HashMap::with_capacity(items.len());
    for item in items {
        let key = id(&item);
        if map.contains_key(&key) {
            return Err(field_error(
                field,
                &format!("id {key} appears more than once"),
            ));
        }
        map.insert(key, Arc::new(item));
    }
    Ok(map)
}

/// `schemas` + `current-schema-id`, or (v1) the legacy single `schema`.
fn read_schemas(f: &mut Fields, v1: bool) -> Result<(Vec<Schema>, i32)> {
    let legacy = f.raw("schema");
    let Some(schemas) = f.take::<Vec<Schema>>("schemas")? else {
        if !v1 {
            return Err(f.missing("schemas"));
        }
        let Some(legacy) = legacy else {
            return Err(Error::invalid(
                "table metadata: format-version 1 needs `schemas` or the legacy `schema`; both are missing",
            )
            .with_context("field", "schemas"));
        };
        let schema: Schema = legacy.decode("schema")?;
        // Java ignores `current-schema-id` without `schemas`.
        f.take::<i32>("current-schema-id")?;
        let id = schema.schema_id();
        return Ok((vec![schema], id));
    };
    let current = match f.take::<i32>("current-schema-id")? {
        Some(id) => id,
        None if v1 => match legacy {
            Some(legacy) => legacy.decode::<Schema>("schema")?.schema_id(),
            None => return Err(f.missing("current-schema-id")),
        },
        None => return Err(f.missing("current-schema-id")),
    };
    Ok((schemas, current))
}

/// `partition-specs` + `default-spec-id`, or (v1) the legacy `partition-spec` fields.
fn read_specs(f: &mut Fields, v1: bool) -> Result<(Vec<PartitionSpec>, i32)> {
    let legacy = f.raw("partition-spec");
    if let Some(specs) = f.raw("partition-specs") {
        let default_spec_id: i32 = f.require("default-spec-id")?;
        let specs = if v1 {
            specs
                .decode::<Vec<UnboundPartitionSpec>>("partition-specs")?
                .into_iter()
                .map(|s| {
                    let id = s.spec_id.ok_or_else(|| {
                        field_error("partition-specs", &"a spec has no `spec-id`")
                    })?;
                    Ok(bind_v1_spec(id, s.fields))
                })
                .collect::<Result<Vec<_>>>()?
        } else {
            specs.decode("partition-specs")?
        };
        return Ok((specs, default_spec_id));
    }
    if !v1 {
        return Err(f.missing("partition-specs"));
    }
    let Some(legacy) = legacy else {
        return Err(Error::invalid(
            "table metadata: format-version 1 needs `partition-specs` or the legacy `partition-spec`; both are missing",
        )
        .with_context("field", "partition-specs"));
    };
    let fields: Vec<UnboundPartitionField> = legacy.decode("partition-spec")?;
    // Java ignores `default-spec-id` without `partition-specs`: the spec is spec 0.
    f.take::<i32>("default-spec-id")?;
    Ok((vec![bind_v1_spec(0, fields)], 0))
}

/// A v1 spec whose fields may lack ids: missing ids continue after the highest id seen
/// so far in the spec, starting at 1000 (what Java's spec builder does).
fn bind_v1_spec(spec_id: i32, fields: Vec<UnboundPartitionField>) -> PartitionSpec {
    let mut last = PARTITION_DATA_ID_START - 1;
    let fields = fields
        .into_iter()
        .map(|u| {
            let field_id = u.field_id.unwrap_or(last.saturating_add(1));
            last = last.max(field_id);
            PartitionField {
                source_id: u.source_id,
                field_id,
                name: u.name,
                transform: u.transform,
            }
        })
        .collect();
    PartitionSpec { spec_id, fields }
}

/// Accepts `encryption-keys` only when there are none.
fn read_encryption_keys(f: &mut Fields) -> Result<()> {
    let keys = match f.raw("encryption-keys") {
        None => return Ok(()),
        Some(v) => v.decode::<Value>("encryption-keys")?,
    };
    match keys {
        Value::Array(keys) if keys.is_empty() => Ok(()),
        Value::Array(keys) => Err(Error::unsupported(format!(
            "table metadata: `encryption-keys` ({} keys) are not supported: Floe does not \
             implement table encryption and cannot keep the keys",
            keys.len()
        ))
        .with_context("field", "encryption-keys")),
        other => Err(field_error(
            "encryption-keys",
            &format!("expected an array, got {}", json_kind(&other)),
        )),
    }
}

/// A snapshot as any format version writes it.
#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct SnapshotJson {
    snapshot_id: i64,
    #[serde(default)]
    parent_snapshot_id: Option<i64>,
    #[serde(default)]
    sequence_number: Option<i64>,
    timestamp_ms: i64,
    #[serde(default)]
    manifest_list: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<SummaryJson>,
    #[serde(default)]
    schema_id: Option<i32>,
    #[serde(default)]
    first_row_id: Option<i64>,
    #[serde(default)]
    added_rows: Option<i64>,
    #[serde(default)]
    key_id: Option<String>,
}

/// A snapshot summary as written: its entries in order, values of any JSON type (only
/// strings are valid; [`read_summary`] names the first that is not).
struct SummaryJson(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for SummaryJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> de::Visitor<'de> for Visit {
            type Value = SummaryJson;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a summary object")
            }
            fn visit_map<A: de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> std::result::Result<SummaryJson, A::Error> {
                let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(16).min(64));
                while let Some(entry) = access.next_entry::<String, Value>()? {
                    entries.push(entry);
                }
                Ok(SummaryJson(entries))
            }
        }
        deserializer.deserialize_map(Visit)
    }
}

fn read_snapshot(index: usize, value: FieldValue<'_>, version: FormatVersion) -> Result<Snapshot> {
    let at = format!("snapshots[{index}]");
    let s: SnapshotJson = value.decode(&at)?;
    let id = s.snapshot_id;
    let bad = |msg: String| field_error(&at, &format!("snapshot {id}: {msg}"));
    let manifest_list = match (s.manifest_list, s.manifests) {
        (Some(list), _) => list,
        (None, Some(_)) if version == FormatVersion::V1 => {
            return Err(Error::unsupported(format!(
                "table metadata: snapshot {id} embeds a legacy v1 `manifests` list instead of \
                 a `manifest-list` file; such snapshots are not supported"
            ))
            .with_context("field", at));
        }
        (None, _) => return Err(bad("required field `manifest-list` is missing".into())),
    };
    let summary = match s.summary {
        Some(SummaryJson(entries)) => read_summary(entries).map_err(bad)?,
        // v1 summaries are optional; iceberg-rust reads them as appends too.
        None if version == FormatVersion::V1 => Summary::default(),
        None => return Err(bad("required field `summary` is missing".into())),
    };
    if version >= FormatVersion::V3 && s.first_row_id.is_some() && s.added_rows.is_none() {
        return Err(bad(
            "`added-rows` is required when `first-row-id` is set".into()
        ));
    }
    Ok(Snapshot {
        snapshot_id: id,
        parent_snapshot_id: s.parent_snapshot_id,
        // Java writes no sequence number when it is 0 (v1, and v1 snapshots of upgraded
        // tables), so a missing one is 0 in every version.
        sequence_number: s.sequence_number.unwrap_or(0),
        timestamp_ms: s.timestamp_ms,
        manifest_list,
        summary,
        schema_id: s.schema_id,
        first_row_id: s.first_row_id,
        added_rows: s.added_rows,
        key_id: s.key_id,
    })
}

fn parse_operation(value: &str) -> std::result::Result<Operation, String> {
    [
        Operation::Append,
        Operation::Replace,
        Operation::Overwrite,
        Operation::Delete,
    ]
    .into_iter()
    .find(|op| op.as_str() == value)
    .ok_or_else(|| format!("unknown summary operation `{value}`"))
}

fn read_summary(entries: Vec<(String, Value)>) -> std::result::Result<Summary, String> {
    let valid = entries.iter().all(|(key, value)| match value {
        Value::String(v) => key != "operation" || parse_operation(v).is_ok(),
        _ => false,
    });
    if !valid {
        // Read it as a JSON object reads (a repeated key keeps its last value) to name
        // the first invalid entry.
        return read_summary_map(entries.into_iter().collect());
    }
    // A summary without `operation` reads as an overwrite, like Java.
    let mut operation = Operation::Overwrite;
    let mut additional_properties = HashMap::with_capacity(entries.len());
    for (key, value) in entries {
        let Value::String(value) = value else {
            continue;
        };
        if key == "operation" {
            operation = parse_operation(&value)?;
        } else {
            additional_properties.insert(key, value);
        }
    }
    Ok(Summary {
        operation,
        additional_properties,
    })
}

fn read_summary_map(map: Map<String, Value>) -> std::result::Result<Summary, String> {
    let mut operation = Operation::Overwrite;
    let mut additional_properties = HashMap::with_capacity(map.len());
    for (key, value) in map {
        let Value::String(value) = value else {
            return Err(format!(
                "summary value of `{key}` must be a string, got {}",
                json_kind(&value)
            ));
        };
        if key == "operation" {
            operation = parse_operation(&value)?;
        } else {
            additional_properties.insert(key, value);
        }
    }
    Ok(Summary {
        operation,
        additional_properties,
    })
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// The written form of table metadata, borrowing from a [`TableMetadata`]: fields in
/// Java's order, version-specific fields only where their version has them.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct TableMetadataWire<'a> {
    format_version: u8,
    table_uuid: Uuid,
    location: &'a str,
    /// v2+.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_sequence_number: Option<i64>,
    last_updated_ms: i64,
    last_column_id: i32,
    /// v1 only: the current schema, for older readers.
    #[serde(skip_serializing_if = "Option::is_none")]
    schema: Option<&'a Schema>,
    current_schema_id: i32,
    schemas: Vec<&'a Schema>,
    /// v1 only: the default spec's fields, for older readers.
    #[serde(skip_serializing_if = "Option::is_none")]
    partition_spec: Option<&'a [PartitionField]>,
    default_spec_id: i32,
    partition_specs: Vec<&'a PartitionSpec>,
    last_partition_id: i32,
    default_sort_order_id: i64,
    sort_orders: Vec<&'a SortOrder>,
    properties: BTreeMap<&'a str, &'a str>,
    /// Always written: −1 for none in v1/v2, `null` in v3.
    current_snapshot_id: Option<i64>,
    /// v3+.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_row_id: Option<i64>,
    refs: BTreeMap<&'a str, &'a SnapshotReference>,
    snapshots: SnapshotsWire<'a>,
    statistics: &'a [StatisticsFile],
    partition_statistics: &'a [PartitionStatisticsFile],
    snapshot_log: &'a [SnapshotLog],
    metadata_log: &'a [MetadataLog],
}

/// The JSON text of each snapshot of a table, shared by a metadata value and every
/// value built from it (clones share it), so that writing the metadata file of a commit
/// serializes only the snapshots that are new: the others are copied as text. An entry
/// holds the snapshot it was written from and is used only for that very snapshot
/// (`Arc::ptr_eq`) in the same format family (v1 or not); each write keeps only the
/// snapshots it wrote. Not part of the metadata's value: equality ignores it.
#[derive(Clone, Default)]
pub(crate) struct SnapshotJsonCache(Arc<Mutex<HashMap<i64, CachedSnapshotJson>>>);

#[derive(Clone)]
struct CachedSnapshotJson {
    snapshot: SnapshotRef,
    v1: bool,
    json: Arc<RawValue>,
}

impl PartialEq for SnapshotJsonCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for SnapshotJsonCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SnapshotJsonCache")
    }
}

/// The `snapshots` array, written through the [`SnapshotJsonCache`].
struct SnapshotsWire<'a> {
    snapshots: Vec<&'a SnapshotRef>,
    v1: bool,
    cache: &'a SnapshotJsonCache,
}

impl Serialize for SnapshotsWire<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeSeq};
        let mut cache = self.cache.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut kept = HashMap::with_capacity(self.snapshots.len());
        let mut seq = serializer.serialize_seq(Some(self.snapshots.len()))?;
        for &s in &self.snapshots {
            let json = match cache.get(&s.snapshot_id) {
                Some(c) if c.v1 == self.v1 && Arc::ptr_eq(&c.snapshot, s) => Arc::clone(&c.json),
                _ => {
                    let text = serde_json::to_string(&SnapshotWire::new(s, self.v1))
                        .map_err(S::Error::custom)?;
                    Arc::from(RawValue::from_string(text).map_err(S::Error::custom)?)
                }
            };
            seq.serialize_element(&*json)?;
            kept.insert(
                s.snapshot_id,
                CachedSnapshotJson {
                    snapshot: Arc::clone(s),
                    v1: self.v1,
                    json,
                },
            );
        }
        *cache = kept;
        seq.end()
    }
}

/// The written form of a snapshot, in Java's field order.
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct SnapshotWire<'a> {
    /// Omitted in v1.
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_number: Option<i64>,
    snapshot_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_snapshot_id: Option<i64>,
    timestamp_ms: i64,
    summary: SummaryWire<'a>,
    manifest_list: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    schema_id: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_row_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    added_rows: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<&'a str>,
}

impl<'a> SnapshotWire<'a> {
    fn new(s: &'a Snapshot, v1: bool) -> Self {
        SnapshotWire {
            sequence_number: (!v1).then_some(s.sequence_number),
            snapshot_id: s.snapshot_id,
            parent_snapshot_id: s.parent_snapshot_id,
            timestamp_ms: s.timestamp_ms,
            summary: SummaryWire(&s.summary),
            manifest_list: &s.manifest_list,
            schema_id: s.schema_id,
            first_row_id: s.first_row_id,
            added_rows: s.added_rows,
            key_id: s.key_id.as_deref(),
        }
    }
}

/// A summary: `operation` first, then the other properties sorted by key (written
/// straight from the summary: one sorted vector, no map built per snapshot).
struct SummaryWire<'a>(&'a Summary);

impl Serialize for SummaryWire<'_> {
    fn serialize<S: serde::Serializer>(
        &self,
        serializer: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut properties: Vec<(&str, &str)> = self
            .0
            .additional_properties
            .iter()
            .filter(|(k, _)| k.as_str() != "operation")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        properties.sort_unstable_by_key(|(k, _)| *k);
        let mut map = serializer.serialize_map(Some(properties.len() + 1))?;
        map.serialize_entry("operation", &self.0.operation)?;
        for (k, v) in properties {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

fn sorted_by_key<K: Ord + Copy, T>(map: &HashMap<K, Arc<T>>) -> Vec<&T> {
    let mut items: Vec<(K, &T)> = map.iter().map(|(k, v)| (*k, v.as_ref())).collect();
    items.sort_unstable_by_key(|(k, _)| *k);
    items.into_iter().map(|(_, v)| v).collect()
}

impl<'a> From<&'a TableMetadata> for TableMetadataWire<'a> {
    fn from(m: &'a TableMetadata) -> Self {
        let v1 = m.format_version == FormatVersion::V1;
        let v3 = m.format_version >= FormatVersion::V3;
        let mut snapshots: Vec<&SnapshotRef> = m.snapshots.values().collect();
        snapshots.sort_unstable_by_key(|s| (s.sequence_number, s.timestamp_ms, s.snapshot_id));
        TableMetadataWire {
            format_version: m.format_version.number(),
            table_uuid: m.table_uuid,
            location: &m.location,
            last_sequence_number: (!v1).then_some(m.last_sequence_number),
            last_updated_ms: m.last_updated_ms,
            last_column_id: m.last_column_id,
            schema: if v1 {
                m.schemas.get(&m.current_schema_id).map(AsRef::as_ref)
            } else {
                None
            },
            current_schema_id: m.current_schema_id,
            schemas: sorted_by_key(&m.schemas),
            partition_spec: if v1 {
                m.partition_specs
                    .get(&m.default_spec_id)
                    .map(|s| s.fields.as_slice())
            } else {
                None
            },
            default_spec_id: m.default_spec_id,
            partition_specs: sorted_by_key(&m.partition_specs),
            last_partition_id: m.last_partition_id,
            default_sort_order_id: m.default_sort_order_id,
            sort_orders: sorted_by_key(&m.sort_orders),
            properties: m
                .properties
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect(),
            current_snapshot_id: if v3 {
                m.current_snapshot_id
            } else {
                Some(m.current_snapshot_id.unwrap_or(NO_SNAPSHOT_ID))
            },
            next_row_id: if v3 { m.next_row_id } else { None },
            refs: m.refs.iter().map(|(k, v)| (k.as_str(), v)).collect(),
            snapshots: SnapshotsWire {
                snapshots,
                v1,
                cache: &m.snapshot_json,
            },
            statistics: &m.statistics,
            partition_statistics: &m.partition_statistics,
            snapshot_log: &m.snapshot_log,
            metadata_log: &m.metadata_log,
        }
    }
}

#[cfg(test)]
mod tests;
