//! Deterministic test data: the benchmark table's schema, and a table metadata JSON
//! document with many snapshots, written as plain JSON text so that neither side's
//! writer shapes the input both sides parse.

use serde_json::{Value, json};

/// A small deterministic generator (SplitMix64): same seed, same data, on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `lo..hi` (`hi > lo`).
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo) as u64) as i64
    }

    /// A positive `i64` (snapshot ids are random positive longs).
    pub fn positive_i64(&mut self) -> i64 {
        (self.next_u64() >> 1) as i64
    }

    /// 32 lowercase hex digits.
    pub fn hex32(&mut self) -> String {
        format!("{:016x}{:016x}", self.next_u64(), self.next_u64())
    }

    /// A UUID-shaped string (version 4 bits set).
    pub fn uuid(&mut self) -> String {
        let h = self.hex32();
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }
}

/// Table location used in every generated path.
pub const LOCATION: &str = "s3://warehouse/analytics/events";

/// The benchmark table: ten columns of the common kinds (ids, a timestamp, strings, a
/// double with NaN counts, an int, a boolean, a date), as Iceberg schema JSON.
pub fn schema_json() -> Value {
    json!({
        "type": "struct",
        "schema-id": 0,
        "identifier-field-ids": [1],
        "fields": [
            {"id": 1, "name": "event_id", "required": true, "type": "long"},
            {"id": 2, "name": "event_ts", "required": true, "type": "timestamptz"},
            {"id": 3, "name": "user_id", "required": false, "type": "long"},
            {"id": 4, "name": "event_type", "required": false, "type": "string"},
            {"id": 5, "name": "amount", "required": false, "type": "double"},
            {"id": 6, "name": "quantity", "required": false, "type": "int"},
            {"id": 7, "name": "country", "required": false, "type": "string"},
            {"id": 8, "name": "is_valid", "required": false, "type": "boolean"},
            {"id": 9, "name": "user_agent", "required": false, "type": "string"},
            {"id": 10, "name": "event_date", "required": false, "type": "date"}
        ]
    })
}

/// Partitioned by `day(event_ts)` and `identity(country)`.
pub fn partition_spec_json() -> Value {
    json!({
        "spec-id": 0,
        "fields": [
            {"name": "event_ts_day", "transform": "day", "source-id": 2, "field-id": 1000},
            {"name": "country", "transform": "identity", "source-id": 7, "field-id": 1001}
        ]
    })
}

/// Country codes used as partition values and string bounds.
pub const COUNTRIES: [&str; 20] = [
    "AR", "AU", "BR", "CA", "CN", "DE", "ES", "FR", "GB", "IN", "IT", "JP", "KR", "MX", "NL", "PL",
    "SE", "TR", "US", "ZA",
];

/// 2024-01-01 00:00:00 UTC in milliseconds.
pub const EPOCH_2024_MS: i64 = 1_704_067_200_000;

/// A format v2 table metadata document with `snapshots` append snapshots in one chain
/// (each with a full summary and a manifest list), the snapshot log of all of them, a
/// metadata log of the last 100 files (the default `write.metadata.previous-versions-max`)
/// and `main` on the last snapshot. Deterministic for a given count.
pub fn table_metadata_json(snapshots: usize) -> Vec<u8> {
    let mut rng = Rng::new(0x5EED_0000_0000_0001 ^ snapshots as u64);
    let table_uuid = rng.uuid();
    let mut snaps = Vec::with_capacity(snapshots);
    let mut snapshot_log = Vec::with_capacity(snapshots);
    let mut parent: Option<i64> = None;
    let (mut total_records, mut total_size, mut total_files) = (0i64, 0i64, 0i64);
    let mut ts = EPOCH_2024_MS;
    for seq in 1..=snapshots as i64 {
        let id = rng.positive_i64();
        ts += rng.range(30_000, 90_000);
        let files = rng.range(1, 40);
        let records = files * rng.range(10_000, 1_000_000);
        let size = records * rng.range(20, 60);
        total_files += files;
        total_records += records;
        total_size += size;
        let mut snap = json!({
            "snapshot-id": id,
            "sequence-number": seq,
            "timestamp-ms": ts,
            "manifest-list": format!(
                "{LOCATION}/metadata/snap-{id}-1-{}.avro",
                rng.uuid()
            ),
            "summary": {
                "operation": "append",
                "added-data-files": files.to_string(),
                "added-records": records.to_string(),
                "added-files-size": size.to_string(),
                "changed-partition-count": rng.range(1, 20).to_string(),
                "total-records": total_records.to_string(),
                "total-files-size": total_size.to_string(),
                "total-data-files": total_files.to_string(),
                "total-delete-files": "0",
                "total-position-deletes": "0",
                "total-equality-deletes": "0",
                "engine-name": "floe-bench",
                "engine-version": "0.1.0"
            },
            "schema-id": 0
        });
        if let (Some(p), Some(obj)) = (parent, snap.as_object_mut()) {
            obj.insert("parent-snapshot-id".to_owned(), json!(p));
        }
        snaps.push(snap);
        snapshot_log.push(json!({"snapshot-id": id, "timestamp-ms": ts}));
        parent = Some(id);
    }
    let first_logged = snapshots.saturating_sub(100);
    let metadata_log: Vec<Value> = (first_logged..snapshots)
        .map(|i| {
            json!({
                "metadata-file": format!("{LOCATION}/metadata/{i:05}-{}.metadata.json", rng.uuid()),
                "timestamp-ms": EPOCH_2024_MS + i as i64 * 60_000
            })
        })
        .collect();
    let mut doc = json!({
        "format-version": 2,
        "table-uuid": table_uuid,
        "location": LOCATION,
        "last-sequence-number": snapshots,
        "last-updated-ms": ts,
        "last-column-id": 10,
        "current-schema-id": 0,
        "schemas": [schema_json()],
        "default-spec-id": 0,
        "partition-specs": [partition_spec_json()],
        "last-partition-id": 1001,
        "default-sort-order-id": 1,
        "sort-orders": [
            {"order-id": 0, "fields": []},
            {"order-id": 1, "fields": [
                {"transform": "identity", "source-id": 2, "direction": "asc", "null-order": "nulls-first"}
            ]}
        ],
        "properties": {
            "write.format.default": "parquet",
            "write.parquet.compression-codec": "zstd",
            "commit.retry.num-retries": "4",
            "owner": "floe-bench"
        },
        "snapshots": snaps,
        "statistics": [],
        "partition-statistics": [],
        "snapshot-log": snapshot_log,
        "metadata-log": metadata_log
    });
    if let (Some(p), Some(obj)) = (parent, doc.as_object_mut()) {
        obj.insert("current-snapshot-id".to_owned(), json!(p));
        obj.insert(
            "refs".to_owned(),
            json!({"main": {"snapshot-id": p, "type": "branch"}}),
        );
    }
    serde_json::to_vec(&doc).unwrap_or_default()
}

/// The benchmark table's schema as a Floe [`Schema`](floe_spec::schema::Schema).
pub fn schema() -> crate::harness::Result<floe_spec::schema::Schema> {
    Ok(floe_spec::schema::Schema::from_json(&schema_json())?)
}

/// The benchmark table's partition spec as a Floe
/// [`PartitionSpec`](floe_spec::partition::PartitionSpec).
pub fn partition_spec() -> crate::harness::Result<floe_spec::partition::PartitionSpec> {
    Ok(serde_json::from_value(partition_spec_json())?)
}

/// Days from 1970-01-01 to 2024-01-01.
const DAY_2024_01_01: i32 = 19_723;

/// `n` data files of the benchmark table as a writer would report them after writing
/// Parquet: spread over 30 days and 20 countries (600 partitions, in day order), with
/// the full metrics a Parquet writer collects — column sizes, value and null counts for
/// all ten columns, NaN counts for the double, lower and upper bounds for every column
/// (strings truncated to 16 characters), split offsets — and a sort order id.
pub fn data_files(n: usize) -> Vec<floe_spec::manifest::DataFile> {
    use floe_spec::manifest::{ColumnMap, DataFile, DataFileFormat};
    use floe_spec::values::{Datum, date_to_string};

    const EVENT_TYPES: [&str; 6] = [
        "add_to_cart",
        "checkout",
        "login",
        "page_view",
        "purchase",
        "view_item",
    ];
    const AGENTS: [&str; 4] = [
        "Dalvik/2.1.0 (Li",
        "Mozilla/5.0 (Lin",
        "Mozilla/5.0 (Mac",
        "Mozilla/5.0 (Win",
    ];
    let mut rng = Rng::new(0xF10E_0000_0000_0002 ^ n as u64);
    let mut next_event_id: i64 = 1;
    (0..n)
        .map(|i| {
            let day = DAY_2024_01_01 + (i * 30 / n.max(1)) as i32;
            let country = COUNTRIES[rng.range(0, COUNTRIES.len() as i64) as usize];
            let records = rng.range(200_000, 5_000_000);
            let bytes_per_record = rng.range(20, 60);
            let size = records * bytes_per_record;
            let path = format!(
                "{LOCATION}/data/event_ts_day={}/country={country}/{:05}-{}-{}-{:05}.parquet",
                date_to_string(day),
                rng.range(0, 200),
                rng.range(0, 64),
                rng.uuid(),
                rng.range(1, 20)
            );
            let mut f =
                DataFile::new(DataFileFormat::Parquet, path, records, size).with_partition(vec![
                    Some(Datum::Date(day)),
                    Some(Datum::String(country.to_owned())),
                ]);
            // Column sizes: shares of the file, by column.
            let shares = [12, 10, 10, 6, 12, 6, 2, 1, 36, 5];
            f.column_sizes = (1..=10)
                .map(|c| (c, size * shares[c as usize - 1] / 100))
                .collect();
            f.value_counts = (1..=10).map(|c| (c, records)).collect();
            f.null_value_counts = (1..=10)
                .map(|c| {
                    let nulls = if c <= 2 {
                        0
                    } else {
                        rng.range(0, records / 20)
                    };
                    (c, nulls)
                })
                .collect();
            f.nan_value_counts = ColumnMap::from([(5, rng.range(0, 3))]);
            let day_start_us = i64::from(day) * 86_400_000_000;
            let ts_lo = day_start_us + rng.range(0, 3_600_000_000);
            let ts_hi = day_start_us + 86_400_000_000 - rng.range(1, 3_600_000_000);
            let event_type_lo = rng.range(0, 2) as usize;
            let event_type_hi = rng.range(4, 6) as usize;
            let agent_lo = rng.range(0, 2) as usize;
            f.lower_bounds = ColumnMap::from([
                (1, Datum::Long(next_event_id)),
                (2, Datum::Timestamptz(ts_lo)),
                (3, Datum::Long(rng.range(1, 10_000))),
                (4, Datum::String(EVENT_TYPES[event_type_lo].to_owned())),
                (5, Datum::Double(rng.range(1, 100) as f64 / 100.0)),
                (6, Datum::Int(1)),
                (7, Datum::String(country.to_owned())),
                (8, Datum::Boolean(false)),
                (9, Datum::String(AGENTS[agent_lo].to_owned())),
                (10, Datum::Date(day)),
            ]);
            f.upper_bounds = ColumnMap::from([
                (1, Datum::Long(next_event_id + records - 1)),
                (2, Datum::Timestamptz(ts_hi)),
                (3, Datum::Long(rng.range(100_000_000, 999_999_999))),
                (4, Datum::String(EVENT_TYPES[event_type_hi].to_owned())),
                (
                    5,
                    Datum::Double(rng.range(100_000, 1_000_000) as f64 / 100.0),
                ),
                (6, Datum::Int(rng.range(10, 100) as i32)),
                (7, Datum::String(country.to_owned())),
                (8, Datum::Boolean(true)),
                (9, Datum::String(AGENTS[agent_lo + 2].to_owned())),
                (10, Datum::Date(day)),
            ]);
            next_event_id += records;
            // Row groups of ~128 MB: an offset per row group.
            let groups = (size / 134_217_728 + 1).min(8);
            f.split_offsets = Some((0..groups).map(|g| 4 + g * 134_217_728).collect());
            f.sort_order_id = Some(0);
            f
        })
        .collect()
}
