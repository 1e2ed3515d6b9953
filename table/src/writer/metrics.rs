//! Iceberg column metrics of written Parquet files, as Java's `ParquetMetrics` and
//! `MetricsConfig` compute them.
//!
//! - Which metrics: [`MetricsMode`] per column from table properties
//!   (`write.metadata.metrics.default`, default `truncate(16)`;
//!   `write.metadata.metrics.column.<name>`; the first
//!   `write.metadata.metrics.max-inferred-column-defaults` (100) top-level columns only
//!   when no default is set; sorted columns at least `truncate(16)`), see
//!   [`MetricsConfig`].
//! - Column sizes: compressed bytes of every leaf column chunk, summed over row groups
//!   (every leaf, also inside lists and maps, unless its mode is `none`).
//! - Value, null and NaN counts and bounds: for leaf columns outside lists and maps (Java
//!   drops all metrics of repeated fields). Counts and bounds come from the Parquet
//!   column-chunk statistics; NaN counts are counted while writing (Parquet statistics
//!   leave NaNs out of min/max, as Iceberg bounds must).
//! - Bounds are truncated per mode: strings to L code points and binaries to L bytes;
//!   an upper bound is the truncated prefix with its last code point (byte) incremented,
//!   dropped if no character (byte) can be incremented ([`truncate_string_max`],
//!   [`truncate_binary_max`]).

use std::collections::HashMap;
use std::hash::BuildHasher;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{Float32Type, Float64Type};
use floe_spec::manifest::DataFile;
use floe_spec::schema::Schema;
use floe_spec::sort::SortOrder;
use floe_spec::transform::truncate_str;
use floe_spec::types::{PrimitiveType, StructType, Type};
use floe_spec::values::{Datum, decimal_from_be_bytes};
use parquet::file::metadata::ParquetMetaData;
use parquet::file::statistics::Statistics;
use uuid::Uuid;

/// Table property: the default metrics mode.
pub const METRICS_DEFAULT: &str = "write.metadata.metrics.default";
/// Table property prefix: the metrics mode of one column (`…column.<full name>`).
pub const METRICS_COLUMN_PREFIX: &str = "write.metadata.metrics.column.";
/// Table property: how many top-level columns get the default mode when no default is
/// set (the others get `none`).
pub const METRICS_MAX_INFERRED_COLUMNS: &str =
    "write.metadata.metrics.max-inferred-column-defaults";
/// Default of [`METRICS_MAX_INFERRED_COLUMNS`].
pub const METRICS_MAX_INFERRED_COLUMNS_DEFAULT: usize = 100;

/// Which metrics of a column are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MetricsMode {
    /// Nothing, not even the column size.
    None,
    /// Column size, value, null and NaN counts.
    Counts,
    /// Counts, and bounds with strings and binaries truncated to this length.
    Truncate(usize),
    /// Counts and full bounds.
    Full,
}

impl MetricsMode {
    /// The default mode, `truncate(16)`.
    pub const DEFAULT: MetricsMode = MetricsMode::Truncate(16);

    /// Parses `none`, `counts`, `truncate(N)` (N > 0) or `full`, ignoring case and
    /// surrounding spaces.
    pub fn parse(s: &str) -> Option<MetricsMode> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "none" => Some(Self::None),
            "counts" => Some(Self::Counts),
            "full" => Some(Self::Full),
            _ => t
                .strip_prefix("truncate(")
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|n| n.trim().parse::<usize>().ok())
                .filter(|n| *n > 0)
                .map(Self::Truncate),
        }
    }

    /// The truncation length of bounds, `None` when the mode keeps no bounds.
    fn bound_length(self) -> Option<usize> {
        match self {
            Self::None | Self::Counts => None,
            Self::Truncate(n) => Some(n),
            Self::Full => Some(usize::MAX),
        }
    }
}

/// The metrics mode of every column of a table, from its properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    default: MetricsMode,
    columns: HashMap<String, MetricsMode>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            default: MetricsMode::DEFAULT,
            columns: HashMap::new(),
        }
    }
}

impl MetricsConfig {
    /// One mode for every column.
    pub fn uniform(mode: MetricsMode) -> Self {
        Self {
            default: mode,
            columns: HashMap::new(),
        }
    }

    /// The configuration Java's `MetricsConfig.forTable` derives: invalid modes in the
    /// properties are ignored (falling back to the default), as Java does.
    pub fn from_properties<S: BuildHasher>(
        properties: &HashMap<String, String, S>,
        schema: &Schema,
        sort_order: Option<&SortOrder>,
    ) -> Self {
        let max_inferred = properties
            .get(METRICS_MAX_INFERRED_COLUMNS)
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(METRICS_MAX_INFERRED_COLUMNS_DEFAULT);
        let mut columns = HashMap::new();
        let default = if let Some(configured) = properties.get(METRICS_DEFAULT) {
            MetricsMode::parse(configured).unwrap_or(MetricsMode::DEFAULT)
        } else if schema.fields().len() <= max_inferred {
            MetricsMode::DEFAULT
        } else {
            for field in &schema.fields()[..max_inferred] {
                for id in ids_under(field.id, &field.field_type) {
                    if let Some(name) = schema.name_by_id(id) {
                        columns.insert(name.to_string(), MetricsMode::DEFAULT);
                    }
                }
            }
            MetricsMode::None
        };
        if let Some(order) = sort_order {
            let sorted_mode = match default {
                MetricsMode::None | MetricsMode::Counts => MetricsMode::Truncate(16),
                other => other,
            };
            for f in &order.fields {
                if f.transform.preserves_order()
                    && let Some(name) = schema.name_by_id(f.source_id)
                {
                    columns.insert(name.to_string(), sorted_mode);
                }
            }
        }
        for (key, value) in properties {
            if let Some(column) = key.strip_prefix(METRICS_COLUMN_PREFIX) {
                let mode = MetricsMode::parse(value).unwrap_or(default);
                columns.insert(column.to_string(), mode);
            }
        }
        Self { default, columns }
    }

    /// The mode of the column with this full dotted name.
    pub fn mode(&self, column: &str) -> MetricsMode {
        self.columns.get(column).copied().unwrap_or(self.default)
    }

    /// The default mode.
    pub fn default_mode(&self) -> MetricsMode {
        self.default
    }
}

fn ids_under(id: i32, t: &Type) -> Vec<i32> {
    let mut out = vec![id];
    for child in t.child_fields() {
        out.extend(ids_under(child.id, &child.field_type));
    }
    out
}

/// A leaf (primitive) column of the rows a writer writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Leaf {
    pub ty: PrimitiveType,
    pub mode: MetricsMode,
    /// Inside a list or a map: only the column size is kept.
    pub repeated: bool,
}

/// Every leaf column of `row_type` by field id, with its metrics mode.
pub(crate) fn index_leaves(row_type: &StructType, config: &MetricsConfig) -> HashMap<i32, Leaf> {
    fn visit(
        t: &Type,
        id: i32,
        name: &str,
        repeated: bool,
        config: &MetricsConfig,
        out: &mut HashMap<i32, Leaf>,
    ) {
        match t {
            Type::Primitive(p) => {
                out.insert(
                    id,
                    Leaf {
                        ty: p.clone(),
                        mode: config.mode(name),
                        repeated,
                    },
                );
            }
            Type::Struct(s) => {
                for f in s.fields() {
                    visit(
                        &f.field_type,
                        f.id,
                        &format!("{name}.{}", f.name),
                        repeated,
                        config,
                        out,
                    );
                }
            }
            Type::List(l) => {
                let f = &l.element_field;
                visit(
                    &f.field_type,
                    f.id,
                    &format!("{name}.element"),
                    true,
                    config,
                    out,
                );
            }
            Type::Map(m) => {
                for (f, n) in [(&m.key_field, "key"), (&m.value_field, "value")] {
                    visit(
                        &f.field_type,
                        f.id,
                        &format!("{name}.{n}"),
                        true,
                        config,
                        out,
                    );
                }
            }
        }
    }
    let mut out = HashMap::new();
    for f in row_type.fields() {
        visit(&f.field_type, f.id, &f.name, false, config, &mut out);
    }
    out
}

/// The lower bound of strings truncated to `len` code points: the prefix itself.
pub fn truncate_string_min(s: &str, len: usize) -> &str {
    truncate_str(s, len)
}

/// An upper bound of strings truncated to `len` code points: `s` itself if short enough,
/// else its first `len` code points with the last one that can be incremented
/// incremented (skipping surrogates) and the ones after it dropped; `None` if every code
/// point of the prefix is U+10FFFF.
pub fn truncate_string_max(s: &str, len: usize) -> Option<String> {
    let prefix = truncate_str(s, len);
    if prefix.len() == s.len() {
        return Some(s.to_string());
    }
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = u32::from(last) + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The lower bound of binaries truncated to `len` bytes: the prefix itself.
pub fn truncate_binary_min(b: &[u8], len: usize) -> &[u8] {
    &b[..b.len().min(len)]
}

/// An upper bound of binaries truncated to `len` bytes: `b` itself if short enough, else
/// its first `len` bytes with the last byte below 0xFF incremented and the ones after it
/// dropped; `None` if all of the prefix is 0xFF.
pub fn truncate_binary_max(b: &[u8], len: usize) -> Option<Vec<u8>> {
    if b.len() <= len {
        return Some(b.to_vec());
    }
    let mut prefix = b[..len].to_vec();
    while let Some(last) = prefix.pop() {
        if last < 0xFF {
            prefix.push(last + 1);
            return Some(prefix);
        }
    }
    None
}

/// NaN counts of float and double columns outside lists and maps, counted batch by batch.
#[derive(Debug, Clone, Default)]
pub(crate) struct NanCounts {
    counts: HashMap<i32, i64>,
}

impl NanCounts {
    /// Counts the NaNs of `batch`, whose columns follow `row_type`.
    pub fn update(&mut self, row_type: &StructType, batch: &RecordBatch) {
        for (f, col) in row_type.fields().iter().zip(batch.columns()) {
            self.visit(&f.field_type, f.id, col, None);
        }
    }

    fn visit(&mut self, t: &Type, id: i32, array: &ArrayRef, parent: Option<&NullBuffer>) {
        match t {
            Type::Primitive(PrimitiveType::Float | PrimitiveType::Double) => {
                let nulls = NullBuffer::union(array.logical_nulls().as_ref(), parent);
                let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
                let n = if let Some(a) = array.as_primitive_opt::<Float32Type>() {
                    a.values()
                        .iter()
                        .enumerate()
                        .filter(|(i, v)| v.is_nan() && valid(*i))
                        .count()
                } else if let Some(a) = array.as_primitive_opt::<Float64Type>() {
                    a.values()
                        .iter()
                        .enumerate()
                        .filter(|(i, v)| v.is_nan() && valid(*i))
                        .count()
                } else {
                    0
                };
                *self.counts.entry(id).or_default() += n as i64;
            }
            Type::Struct(s) => {
                if let Some(sa) = array.as_struct_opt() {
                    let nulls = NullBuffer::union(sa.nulls(), parent);
                    for (f, col) in s.fields().iter().zip(sa.columns()) {
                        self.visit(&f.field_type, f.id, col, nulls.as_ref());
                    }
                }
            }
            _ => {}
        }
    }

    /// The NaN count of a column (0 if it had none).
    pub fn get(&self, id: i32) -> i64 {
        self.counts.get(&id).copied().unwrap_or(0)
    }
}

/// A min or max value from Parquet statistics.
enum StatValue<'a> {
    Bool(bool),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    Bytes(&'a [u8]),
}

fn stat_to_datum(v: &StatValue<'_>, ty: &PrimitiveType) -> Option<Datum> {
    use PrimitiveType as P;
    Some(match (ty, v) {
        (P::Boolean, StatValue::Bool(b)) => Datum::Boolean(*b),
        (P::Int, StatValue::I32(v)) => Datum::Int(*v),
        (P::Long, StatValue::I64(v)) => Datum::Long(*v),
        (P::Long, StatValue::I32(v)) => Datum::Long(i64::from(*v)),
        (P::Float, StatValue::F32(v)) => Datum::Float(*v),
        (P::Double, StatValue::F64(v)) => Datum::Double(*v),
        (P::Double, StatValue::F32(v)) => Datum::Double(f64::from(*v)),
        (P::Decimal { precision, scale }, v) => Datum::Decimal {
            unscaled: match v {
                StatValue::I32(x) => i128::from(*x),
                StatValue::I64(x) => i128::from(*x),
                StatValue::Bytes(b) if !b.is_empty() && b.len() <= 16 => decimal_from_be_bytes(b),
                _ => return None,
            },
            precision: *precision,
            scale: *scale,
        },
        (P::Date, StatValue::I32(v)) => Datum::Date(*v),
        (P::Time, StatValue::I64(v)) => Datum::Time(*v),
        (P::Timestamp, StatValue::I64(v)) => Datum::Timestamp(*v),
        (P::Timestamptz, StatValue::I64(v)) => Datum::Timestamptz(*v),
        (P::TimestampNs, StatValue::I64(v)) => Datum::TimestampNs(*v),
        (P::TimestamptzNs, StatValue::I64(v)) => Datum::TimestamptzNs(*v),
        (P::String, StatValue::Bytes(b)) => Datum::String(std::str::from_utf8(b).ok()?.to_string()),
        (P::Uuid, StatValue::Bytes(b)) => Datum::Uuid(Uuid::from_slice(b).ok()?),
        (P::Fixed(l), StatValue::Bytes(b)) if b.len() as u64 == *l => Datum::Fixed(b.to_vec()),
        (P::Binary, StatValue::Bytes(b)) => Datum::Binary(b.to_vec()),
        _ => return None,
    })
}

fn min_max(stats: &Statistics) -> Option<(StatValue<'_>, StatValue<'_>)> {
    macro_rules! pair {
        ($s:expr, $variant:ident, $conv:expr) => {
            match ($s.min_opt(), $s.max_opt()) {
                (Some(a), Some(b)) => {
                    Some((StatValue::$variant($conv(a)), StatValue::$variant($conv(b))))
                }
                _ => None,
            }
        };
    }
    match stats {
        Statistics::Boolean(s) => pair!(s, Bool, |v: &bool| *v),
        Statistics::Int32(s) => pair!(s, I32, |v: &i32| *v),
        Statistics::Int64(s) => pair!(s, I64, |v: &i64| *v),
        Statistics::Float(s) => pair!(s, F32, |v: &f32| *v),
        Statistics::Double(s) => pair!(s, F64, |v: &f64| *v),
        Statistics::ByteArray(s) => match (s.min_opt(), s.max_opt()) {
            (Some(a), Some(b)) => Some((StatValue::Bytes(a.data()), StatValue::Bytes(b.data()))),
            _ => None,
        },
        Statistics::FixedLenByteArray(s) => match (s.min_opt(), s.max_opt()) {
            (Some(a), Some(b)) => Some((StatValue::Bytes(a.data()), StatValue::Bytes(b.data()))),
            _ => None,
        },
        Statistics::Int96(_) => None,
    }
}

fn truncate_lower(d: Datum, len: usize) -> Datum {
    match d {
        Datum::String(s) => Datum::String(truncate_string_min(&s, len).to_string()),
        Datum::Binary(b) => Datum::Binary(truncate_binary_min(&b, len).to_vec()),
        other => other,
    }
}

fn truncate_upper(d: Datum, len: usize) -> Option<Datum> {
    Some(match d {
        Datum::String(s) => Datum::String(truncate_string_max(&s, len)?),
        Datum::Binary(b) => Datum::Binary(truncate_binary_max(&b, len)?),
        other => other,
    })
}

/// Per-column running state while reading the footer.
#[derive(Default)]
struct ColumnAcc {
    values: i64,
    nulls: i64,
    stats_missing: bool,
    lower: Option<Datum>,
    upper: Option<Datum>,
}

/// Fills the metrics of `file` (column sizes, counts, bounds, split offsets and record
/// count) from the footer of the Parquet file just written.
pub(crate) fn fill_metrics(
    file: &mut DataFile,
    metadata: &ParquetMetaData,
    leaves: &HashMap<i32, Leaf>,
    nans: &NanCounts,
) {
    let mut acc: HashMap<i32, ColumnAcc> = HashMap::new();
    let mut split_offsets = Vec::with_capacity(metadata.num_row_groups());
    for rg in metadata.row_groups() {
        if let Some(first) = rg.columns().first() {
            let start = match first.dictionary_page_offset() {
                Some(d) if d > 0 && d < first.data_page_offset() => d,
                _ => first.data_page_offset(),
            };
            split_offsets.push(start);
        }
        for chunk in rg.columns() {
            let info = chunk.column_descr().self_type().get_basic_info();
            if !info.has_id() {
                continue;
            }
            let id = info.id();
            let Some(leaf) = leaves.get(&id) else {
                continue;
            };
            if leaf.mode == MetricsMode::None {
                continue;
            }
            *file.column_sizes.entry(id).or_default() += chunk.compressed_size();
            if leaf.repeated {
                continue;
            }
            let a = acc.entry(id).or_default();
            let Some(stats) = chunk.statistics() else {
                a.stats_missing = true;
                continue;
            };
            let Some(nulls) = stats.null_count_opt() else {
                a.stats_missing = true;
                continue;
            };
            a.values += chunk.num_values();
            a.nulls += nulls as i64;
            if leaf.mode.bound_length().is_none() {
                continue;
            }
            if let Some((min, max)) = min_max(stats) {
                if let Some(min) = stat_to_datum(&min, &leaf.ty)
                    && a.lower.as_ref().is_none_or(|l| min < *l)
                {
                    a.lower = Some(min);
                }
                if let Some(max) = stat_to_datum(&max, &leaf.ty)
                    && a.upper.as_ref().is_none_or(|u| max > *u)
                {
                    a.upper = Some(max);
                }
            }
        }
    }
    split_offsets.sort_unstable();
    file.split_offsets = Some(split_offsets);
    file.record_count = metadata.file_metadata().num_rows();
    for (id, a) in acc {
        let Some(leaf) = leaves.get(&id) else {
            continue;
        };
        if a.stats_missing {
            continue;
        }
        file.value_counts.insert(id, a.values);
        file.null_value_counts.insert(id, a.nulls);
        if leaf.ty.is_floating() {
            file.nan_value_counts.insert(id, nans.get(id));
        }
        let Some(len) = leaf.mode.bound_length() else {
            continue;
        };
        if a.lower.as_ref().is_some_and(Datum::is_nan)
            || a.upper.as_ref().is_some_and(Datum::is_nan)
        {
            continue;
        }
        if let Some(lower) = a.lower.map(|d| truncate_lower(d, len)) {
            file.lower_bounds.insert(id, lower);
        }
        if let Some(upper) = a.upper.and_then(|d| truncate_upper(d, len)) {
            file.upper_bounds.insert(id, upper);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse() {
        assert_eq!(MetricsMode::parse("none"), Some(MetricsMode::None));
        assert_eq!(MetricsMode::parse(" Counts "), Some(MetricsMode::Counts));
        assert_eq!(MetricsMode::parse("full"), Some(MetricsMode::Full));
        assert_eq!(
            MetricsMode::parse("truncate(8)"),
            Some(MetricsMode::Truncate(8))
        );
        assert_eq!(MetricsMode::parse("truncate(0)"), None);
        assert_eq!(MetricsMode::parse("truncate(x)"), None);
        assert_eq!(MetricsMode::parse("most"), None);
    }

    #[test]
    fn string_truncation_edges() {
        assert_eq!(truncate_string_min("abc", 16), "abc");
        assert_eq!(truncate_string_min("abcdef", 3), "abc");
        assert_eq!(truncate_string_max("abc", 3).as_deref(), Some("abc"));
        assert_eq!(truncate_string_max("abcdef", 3).as_deref(), Some("abd"));
        // Multi-byte code points count as one.
        assert_eq!(truncate_string_min("日本語テキスト", 2), "日本");
        assert_eq!(
            truncate_string_max("日本語テキスト", 2).as_deref(),
            Some("日札")
        );
        // The last code point is the maximum: increment the one before.
        assert_eq!(
            truncate_string_max("a\u{10FFFF}zz", 2).as_deref(),
            Some("b")
        );
        // Nothing can be incremented: no bound.
        assert_eq!(truncate_string_max("\u{10FFFF}\u{10FFFF}z", 2), None);
        // Incrementing into the surrogate range skips it.
        assert_eq!(
            truncate_string_max("\u{D7FF}zz", 1).as_deref(),
            Some("\u{E000}")
        );
    }

    #[test]
    fn binary_truncation_edges() {
        assert_eq!(truncate_binary_min(&[1, 2, 3], 2), &[1, 2]);
        assert_eq!(truncate_binary_max(&[1, 2], 2), Some(vec![1, 2]));
        assert_eq!(truncate_binary_max(&[1, 2, 3], 2), Some(vec![1, 3]));
        assert_eq!(truncate_binary_max(&[1, 0xFF, 3], 2), Some(vec![2]));
        assert_eq!(truncate_binary_max(&[0xFF, 0xFF, 3], 2), None);
    }

    #[test]
    fn config_from_properties() {
        use floe_spec::types::NestedField;
        let fields: Vec<NestedField> = (1..=5)
            .map(|i| NestedField::optional(i, format!("c{i}"), Type::Primitive(PrimitiveType::Int)))
            .collect();
        let schema = Schema::builder().with_fields(fields).build().unwrap();
        let props = |kv: &[(&str, &str)]| -> HashMap<String, String> {
            kv.iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect()
        };
        let c = MetricsConfig::from_properties(&props(&[]), &schema, None);
        assert_eq!(c.mode("c1"), MetricsMode::Truncate(16));
        let c = MetricsConfig::from_properties(
            &props(&[
                (METRICS_DEFAULT, "counts"),
                ("write.metadata.metrics.column.c2", "full"),
                ("write.metadata.metrics.column.c3", "bogus"),
            ]),
            &schema,
            None,
        );
        assert_eq!(c.mode("c1"), MetricsMode::Counts);
        assert_eq!(c.mode("c2"), MetricsMode::Full);
        assert_eq!(c.mode("c3"), MetricsMode::Counts);
        // Wide tables: only the first N columns get the default.
        let c = MetricsConfig::from_properties(
            &props(&[(METRICS_MAX_INFERRED_COLUMNS, "2")]),
            &schema,
            None,
        );
        assert_eq!(c.mode("c2"), MetricsMode::Truncate(16));
        assert_eq!(c.mode("c3"), MetricsMode::None);
        // Sorted columns get at least truncate(16).
        let order = SortOrder {
            order_id: 1,
            fields: vec![floe_spec::sort::SortField {
                transform: floe_spec::transform::Transform::Identity,
                source_id: 4,
                direction: floe_spec::sort::SortDirection::Asc,
                null_order: floe_spec::sort::NullOrder::NullsFirst,
            }],
        };
        let c = MetricsConfig::from_properties(
            &props(&[(METRICS_DEFAULT, "none")]),
            &schema,
            Some(&order),
        );
        assert_eq!(c.mode("c1"), MetricsMode::None);
        assert_eq!(c.mode("c4"), MetricsMode::Truncate(16));
    }
}
