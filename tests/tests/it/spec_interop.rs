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
