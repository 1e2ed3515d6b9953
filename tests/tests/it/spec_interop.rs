//! `floe-spec` against PyIceberg 0.12, both directions: Floe parses every metadata file,
//! manifest list and manifest PyIceberg wrote, and PyIceberg reads what Floe writes.

use std::collections::HashMap;
use std::ffi::OsStr;

use floe_spec::table_metadata::TableMetadata;
use serde_json::Value;

use crate::python::{fixture_expected as expected, local_path, pyiceberg_fixture, run_script};

fn read_metadata(location: &str) -> TableMetadata {
    let bytes = std::fs::read(local_path(location))
        .unwrap_or_else(|e| panic!("cannot read {location}: {e}"));
    TableMetadata::from_json_slice(&bytes)
        .unwrap_or_else(|e| panic!("Floe cannot parse PyIceberg's {location}: {e}"))
}

fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64()
}

#[test]
fn floe_parses_every_pyiceberg_metadata_file() {
    let expected = expected();
    let steps = expected["steps"].as_array().unwrap();
    assert!(steps.len() >= 7, "fixture has {} steps", steps.len());
    let mut uuid = None;
    for step in steps {
        let location = step["metadata_location"].as_str().unwrap();
        let m = read_metadata(location);
        assert_eq!(
            m.current_snapshot_id(),
            as_i64(&step["snapshot_id"]),
            "current snapshot after step {}",
            step["step"]
        );
        assert_eq!(
            i64::from(m.current_schema_id()),
            step["schema_id"].as_i64().unwrap(),
            "schema after step {}",
            step["step"]
        );
        let u = m.table_uuid();
        assert_eq!(*uuid.get_or_insert(u), u, "table uuid changed");
    }

    let m = read_metadata(expected["metadata_location"].as_str().unwrap());
    assert_eq!(m.format_version().number(), 2);
    assert_eq!(
        m.table_uuid().to_string(),
        expected["table_uuid"].as_str().unwrap()
    );
    assert_eq!(m.location(), expected["location"].as_str().unwrap());
    assert_eq!(
        m.last_sequence_number(),
        expected["last_sequence_number"].as_i64().unwrap()
    );
    assert_eq!(
        i64::from(m.last_column_id()),
        expected["last_column_id"].as_i64().unwrap()
    );
    assert_eq!(
        i64::from(m.last_partition_id()),
        expected["last_partition_id"].as_i64().unwrap()
    );
    assert_eq!(
        m.current_snapshot_id(),
        as_i64(&expected["current_snapshot_id"])
    );

    // Schemas: Floe's JSON of each schema equals PyIceberg's.
    let schemas = expected["schemas"].as_array().unwrap();
    assert_eq!(m.schemas().len(), schemas.len());
    for s in schemas {
        let id = s["schema-id"].as_i64().unwrap() as i32;
        let ours = m.schema_by_id(id).unwrap().to_json();
        assert_eq!(normalize(&ours), normalize(s), "schema {id}");
    }
    // Partition specs.
    let specs = expected["partition_specs"].as_array().unwrap();
    for s in specs {
        let id = s["spec-id"].as_i64().unwrap() as i32;
        let ours = serde_json::to_value(&**m.partition_spec_by_id(id).unwrap()).unwrap();
        assert_eq!(normalize(&ours), normalize(s), "partition spec {id}");
    }
    // Snapshots: ids, parents, sequence numbers, manifest lists, summaries.
    let snapshots = expected["snapshots"].as_array().unwrap();
    assert_eq!(m.snapshots().len(), snapshots.len());
    for s in snapshots {
        let id = s["snapshot_id"].as_i64().unwrap();
        let ours = m.snapshot_by_id(id).unwrap();
        assert_eq!(ours.parent_snapshot_id, as_i64(&s["parent_snapshot_id"]));
        assert_eq!(ours.sequence_number, s["sequence_number"].as_i64().unwrap());
        assert_eq!(ours.timestamp_ms, s["timestamp_ms"].as_i64().unwrap());
        assert_eq!(ours.manifest_list, s["manifest_list"].as_str().unwrap());
        assert_eq!(
            ours.summary.operation.as_str(),
            s["operation"].as_str().unwrap()
        );
        let summary: HashMap<String, String> =
            serde_json::from_value(s["summary"].clone()).unwrap();
        for (k, v) in &summary {
            if k != "operation" {
                assert_eq!(
                    ours.summary.additional_properties.get(k),
                    Some(v),
                    "summary {k} of {id}"
                );
            }
        }
    }
    // Metadata log.
    let log = expected["metadata_log"].as_array().unwrap();
    assert_eq!(m.metadata_log().len(), log.len());
    for (ours, theirs) in m.metadata_log().iter().zip(log) {
        assert_eq!(
            ours.metadata_file,
            theirs["metadata-file"].as_str().unwrap()
        );
        assert_eq!(ours.timestamp_ms, theirs["timestamp-ms"].as_i64().unwrap());
    }
}

#[test]
fn pyiceberg_reads_metadata_floe_rewrote() {
    let expected = expected();
    let m = read_metadata(expected["metadata_location"].as_str().unwrap());
    let dir = pyiceberg_fixture().join("floe-rewrite");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("00000-floe.metadata.json");
    std::fs::write(&path, m.to_json_vec().unwrap()).unwrap();
    let read = run_script(
        "pyiceberg_read.py",
        &[path.as_os_str(), OsStr::new("--scan")],
    );
    assert_eq!(read["table_uuid"], expected["table_uuid"]);
    assert_eq!(read["current_snapshot_id"], expected["current_snapshot_id"]);
    assert_eq!(read["row_count"], expected["final_row_count"]);
    assert_eq!(read["rows"], expected["final_rows"]);
}

/// JSON with object keys sorted and absent-vs-empty `identifier-field-ids` unified.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            let mut out = serde_json::Map::new();
            for k in keys {
                if k == "identifier-field-ids" && o[k].as_array().is_some_and(Vec::is_empty) {
                    continue;
                }
                out.insert(k.clone(), normalize(&o[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

fn read_bytes(location: &str) -> Vec<u8> {
    std::fs::read(local_path(location)).unwrap_or_else(|e| panic!("cannot read {location}: {e}"))
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// The JSON PyIceberg reports for a partition value, from a Floe `Datum`: dates as day
/// numbers, everything else in the single-value JSON form.
fn partition_json(d: Option<&floe_spec::values::Datum>) -> Value {
    use floe_spec::values::Datum;
    match d {
        None => Value::Null,
        Some(Datum::Date(days)) => Value::from(*days),
        Some(other) => other.to_json(),
    }
}

fn check_counts(ours: &ManifestFile, theirs: &Value, path: &str) {
    let pairs = [
        ("added_files_count", ours.added_files_count.map(i64::from)),
        (
            "existing_files_count",
            ours.existing_files_count.map(i64::from),
        ),
        (
            "deleted_files_count",
            ours.deleted_files_count.map(i64::from),
        ),
        ("added_rows_count", ours.added_rows_count),
        ("existing_rows_count", ours.existing_rows_count),
        ("deleted_rows_count", ours.deleted_rows_count),
    ];
    for (key, value) in pairs {
        assert_eq!(value, theirs[key].as_i64(), "{key} of {path}");
    }
}

use floe_spec::manifest::{Manifest, ManifestStatus};
use floe_spec::manifest_list::{ManifestFile, ManifestList};

#[test]
fn floe_parses_every_pyiceberg_manifest_list_and_manifest() {
    let expected = expected();
    let m = read_metadata(expected["metadata_location"].as_str().unwrap());
    let types = ManifestList::partition_types(&m);
    let mut lists = 0;
    let mut manifests: HashMap<String, ManifestFile> = HashMap::new();
    for s in expected["snapshots"].as_array().unwrap() {
        let list = ManifestList::parse(&read_bytes(s["manifest_list"].as_str().unwrap()), &types)
            .unwrap_or_else(|e| panic!("Floe cannot parse {}: {e}", s["manifest_list"]));
        assert_eq!(list.metadata.snapshot_id, s["snapshot_id"].as_i64());
        assert_eq!(
            list.metadata.parent_snapshot_id,
            s["parent_snapshot_id"].as_i64()
        );
        assert_eq!(list.metadata.sequence_number, s["sequence_number"].as_i64());
        let theirs = s["manifests"].as_array().unwrap();
        assert_eq!(list.entries.len(), theirs.len());
        for (ours, t) in list.entries.iter().zip(theirs) {
            let path = t["manifest_path"].as_str().unwrap();
            assert_eq!(ours.manifest_path, path);
            assert_eq!(ours.manifest_length, t["manifest_length"].as_i64().unwrap());
            assert_eq!(
                i64::from(ours.partition_spec_id),
                t["partition_spec_id"].as_i64().unwrap()
            );
            assert_eq!(ours.content as i64, t["content"].as_i64().unwrap());
            assert_eq!(ours.sequence_number, t["sequence_number"].as_i64().unwrap());
            assert_eq!(
                ours.min_sequence_number,
                t["min_sequence_number"].as_i64().unwrap()
            );
            assert_eq!(
                ours.added_snapshot_id,
                t["added_snapshot_id"].as_i64().unwrap()
            );
            check_counts(ours, t, path);
            let summaries = ours.partitions.as_ref().expect("partition summaries");
            let theirs = t["partitions"].as_array().unwrap();
            assert_eq!(summaries.len(), theirs.len());
            for (fs, tf) in summaries.iter().zip(theirs) {
                assert_eq!(fs.contains_null, tf["contains_null"].as_bool().unwrap());
                assert_eq!(fs.contains_nan, tf["contains_nan"].as_bool());
                let lower = fs.lower_bound.as_ref().map(|d| hex(&d.to_bytes()));
                let upper = fs.upper_bound.as_ref().map(|d| hex(&d.to_bytes()));
                assert_eq!(lower.as_deref(), tf["lower_bound"].as_str(), "{path}");
                assert_eq!(upper.as_deref(), tf["upper_bound"].as_str(), "{path}");
            }
            manifests.insert(path.to_string(), ours.clone());
        }
        lists += 1;
    }
    assert_eq!(lists, 6);

    let spec = m.default_partition_spec();
    let mut entries_checked = 0;
    for (path, t) in expected["manifests"].as_object().unwrap() {
        let manifest = Manifest::parse(&read_bytes(path))
            .unwrap_or_else(|e| panic!("Floe cannot parse manifest {path}: {e}"));
        assert_eq!(
            manifest.metadata.content as i64,
            t["content"].as_i64().unwrap()
        );
        assert_eq!(
            i64::from(manifest.metadata.partition_spec.spec_id),
            t["partition_spec_id"].as_i64().unwrap()
        );
        let list_entry = &manifests[path];
        let raw = manifest.entries.clone();
        let inherited = manifest.into_entries_inheriting(list_entry);
        let theirs = t["entries"].as_array().unwrap();
        assert_eq!(raw.len(), theirs.len(), "entries of {path}");
        for (ours, eff) in raw.iter().zip(&inherited) {
            // Entry order in rewritten manifests differs between runs: match by path.
            let te = theirs
                .iter()
                .find(|x| x["data_file"]["file_path"] == ours.data_file.file_path.as_str())
                .unwrap_or_else(|| {
                    panic!("{} not in PyIceberg's entries", ours.data_file.file_path)
                });
            let df = &te["data_file"];
            let status = match ours.status {
                ManifestStatus::Existing => 0,
                ManifestStatus::Added => 1,
                ManifestStatus::Deleted => 2,
            };
            assert_eq!(status, te["status"].as_i64().unwrap());
            assert_eq!(ours.snapshot_id, te["snapshot_id"].as_i64());
            assert_eq!(ours.sequence_number, te["sequence_number"].as_i64());
            assert_eq!(
                ours.file_sequence_number,
                te["file_sequence_number"].as_i64()
            );
            assert_eq!(eff.snapshot_id, te["effective_snapshot_id"].as_i64());
            assert_eq!(
                eff.sequence_number,
                te["effective_sequence_number"].as_i64()
            );
            assert_eq!(
                eff.file_sequence_number,
                te["effective_file_sequence_number"].as_i64()
            );
            let f = &ours.data_file;
            assert_eq!(f.content as i64, df["content"].as_i64().unwrap());
            assert_eq!(f.record_count, df["record_count"].as_i64().unwrap());
            assert_eq!(
                f.file_size_in_bytes,
                df["file_size_in_bytes"].as_i64().unwrap()
            );
            assert_eq!(
                f.file_format.as_str().to_uppercase(),
                df["file_format"].as_str().unwrap()
            );
            for (pf, value) in spec.fields.iter().zip(&f.partition) {
                assert_eq!(
                    partition_json(value.as_ref()),
                    df["partition"][&pf.name],
                    "partition {} of {}",
                    pf.name,
                    f.file_path
                );
            }
            for (key, map) in [
                ("column_sizes", &f.column_sizes),
                ("value_counts", &f.value_counts),
                ("null_value_counts", &f.null_value_counts),
                ("nan_value_counts", &f.nan_value_counts),
            ] {
                let theirs: HashMap<String, i64> =
                    serde_json::from_value(df[key].clone()).unwrap_or_default();
                let ours: HashMap<String, i64> =
                    map.iter().map(|(k, v)| (k.to_string(), *v)).collect();
                assert_eq!(ours, theirs, "{key} of {}", f.file_path);
            }
            for (key, map) in [
                ("lower_bounds", &f.lower_bounds),
                ("upper_bounds", &f.upper_bounds),
            ] {
                let theirs: HashMap<String, String> =
                    serde_json::from_value(df[key].clone()).unwrap_or_default();
                let ours: HashMap<String, String> = map
                    .iter()
                    .map(|(k, v)| (k.to_string(), hex(&v.to_bytes())))
                    .collect();
                assert_eq!(ours, theirs, "{key} of {}", f.file_path);
            }
            assert_eq!(
                f.split_offsets.clone().map_or(Value::Null, Value::from),
                df["split_offsets"]
            );
            entries_checked += 1;
        }
    }
    assert!(
        entries_checked > 40,
        "only {entries_checked} entries checked"
    );
}

/// Floe rewrites the current snapshot of PyIceberg's table with manifests, a manifest
/// list and a metadata file of its own (a `replace` snapshot whose live files are all
/// EXISTING), and PyIceberg reads them: the same entries, and the same rows.
#[test]
fn pyiceberg_reads_manifests_and_metadata_floe_wrote() {
    use floe_spec::commit::TableMetadataBuilder;
    use floe_spec::manifest::{ManifestMetadata, ManifestWriter};
    use floe_spec::manifest_list::ManifestListWriter;
    use floe_spec::snapshot::{Operation, Snapshot, SnapshotReference, Summary};

    let expected = expected();
    let location = expected["metadata_location"].as_str().unwrap();
    let m = read_metadata(location);
    let current = m.current_snapshot().unwrap().clone();
    let types = ManifestList::partition_types(&m);
    let list = ManifestList::parse(&read_bytes(&current.manifest_list), &types).unwrap();

    let new_id = current.snapshot_id + 1;
    let seq = m.last_sequence_number() + 1;
    let metadata_dir = local_path(location).parent().unwrap().to_path_buf();
    let dir_uri = location.rsplit_once('/').unwrap().0;
    let mut new_manifests = Vec::new();
    let mut live_paths = Vec::new();
    for (i, mf) in list.entries.iter().enumerate() {
        let manifest = Manifest::parse(&read_bytes(&mf.manifest_path)).unwrap();
        let mut writer = ManifestWriter::new(
            ManifestMetadata {
                schema: manifest.metadata.schema.clone(),
                partition_spec: manifest.metadata.partition_spec.clone(),
                format_version: manifest.metadata.format_version,
                content: manifest.metadata.content,
            },
            Some(new_id),
        );
        for e in manifest.into_entries_inheriting(mf) {
            if !e.is_alive() {
                continue;
            }
            live_paths.push(e.data_file.file_path.clone());
            writer
                .existing(
                    e.data_file,
                    e.snapshot_id.unwrap(),
                    e.sequence_number.unwrap(),
                    e.file_sequence_number,
                )
                .unwrap();
        }
        if writer.is_empty() {
            continue;
        }
        let name = format!("floe-{new_id}-m{i}.avro");
        let (bytes, file) = writer.finish(&format!("{dir_uri}/{name}")).unwrap();
        std::fs::write(metadata_dir.join(&name), bytes).unwrap();
        new_manifests.push(file);
    }
    let mut list_writer =
        ManifestListWriter::new(m.format_version(), new_id, Some(current.snapshot_id), seq);
    list_writer.add_manifests(new_manifests).unwrap();
    let list_name = format!("snap-{new_id}-floe.avro");
    std::fs::write(metadata_dir.join(&list_name), list_writer.finish().unwrap()).unwrap();

    let mut summary = Summary {
        operation: Operation::Replace,
        additional_properties: HashMap::new(),
    };
    for key in ["total-records", "total-data-files", "total-files-size"] {
        if let Some(v) = current.summary.additional_properties.get(key) {
            summary
                .additional_properties
                .insert(key.to_string(), v.clone());
        }
    }
    let mut builder = TableMetadataBuilder::new_from(&m, location);
    builder
        .add_snapshot(Snapshot {
            snapshot_id: new_id,
            parent_snapshot_id: Some(current.snapshot_id),
            sequence_number: seq,
            timestamp_ms: m.last_updated_ms() + 1,
            manifest_list: format!("{dir_uri}/{list_name}"),
            summary,
            schema_id: Some(m.current_schema_id()),
            first_row_id: None,
            added_rows: None,
            key_id: None,
        })
        .unwrap();
    builder
        .set_ref("main", SnapshotReference::branch(new_id))
        .unwrap();
    let built = builder.build(m.last_updated_ms() + 2).unwrap();
    let new_location =
        floe_spec::commit::metadata_file_location(m.location(), 99, uuid::Uuid::new_v4(), false);
    std::fs::write(
        local_path(&new_location),
        built.metadata.to_json_vec().unwrap(),
    )
    .unwrap();

    let read = run_script(
        "pyiceberg_read.py",
        &[OsStr::new(&new_location), OsStr::new("--scan")],
    );
    assert_eq!(read["current_snapshot_id"], Value::from(new_id));
    assert_eq!(read["last_sequence_number"], Value::from(seq));
    let read_entries: Vec<&Value> = read["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|mf| mf["entries"].as_array().unwrap())
        .collect();
    assert_eq!(read_entries.len(), live_paths.len());
    for e in &read_entries {
        assert_eq!(e["status"], 0, "entries are EXISTING");
        let path = e["data_file"]["file_path"].as_str().unwrap();
        assert!(live_paths.iter().any(|p| p == path), "{path} was not live");
    }
    assert_eq!(read["row_count"], expected["final_row_count"]);
    assert_eq!(read["rows"], expected["final_rows"]);
    // The metadata-log now records PyIceberg's last file.
    let log = read["metadata_model"]["metadata-log"].as_array().unwrap();
    assert_eq!(log.last().unwrap()["metadata-file"], Value::from(location));
}
