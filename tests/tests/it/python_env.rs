//! The PyIceberg venv and fixture work: the interop tests rest on these.

use std::ffi::OsStr;
use std::path::Path;

use crate::python::{fixture_expected as expected, local_path, run_script};

#[test]
fn pyiceberg_fixture_writes_expected_json() {
    let expected = expected();
    let location = expected["metadata_location"].as_str().unwrap();
    let metadata = local_path(location);
    assert!(
        metadata.is_file(),
        "metadata file {} does not exist",
        metadata.display()
    );
    assert_eq!(expected["pyiceberg_version"], "0.12.0");
    assert_eq!(expected["format_version"], 2);
    assert_eq!(expected["metadata"]["format-version"], 2);

    // 3 appends, the delete (one delete + one overwrite snapshot), the final append
    let snapshots = expected["snapshots"].as_array().unwrap();
    let operations: Vec<&str> = snapshots
        .iter()
        .map(|s| s["operation"].as_str().unwrap())
        .collect();
    assert_eq!(
        operations,
        [
            "append",
            "append",
            "append",
            "delete",
            "overwrite",
            "append"
        ]
    );
    for (i, s) in snapshots.iter().enumerate() {
        assert_eq!(s["sequence_number"], i as u64 + 1);
        assert!(local_path(s["manifest_list"].as_str().unwrap()).is_file());
    }
    assert_eq!(
        expected["current_snapshot_id"],
        snapshots.last().unwrap()["snapshot_id"]
    );
    assert_eq!(expected["final_row_count"], 95);
    for path in expected["manifests"].as_object().unwrap().keys() {
        assert!(local_path(path).is_file(), "manifest {path} does not exist");
    }
}

#[test]
fn pyiceberg_reads_its_own_table() {
    let expected = expected();
    let location = expected["metadata_location"].as_str().unwrap();
    let read = run_script(
        "pyiceberg_read.py",
        &[OsStr::new(location), OsStr::new("--scan")],
    );
    assert_eq!(read["table_uuid"], expected["table_uuid"]);
    assert_eq!(read["current_snapshot_id"], expected["current_snapshot_id"]);
    assert_eq!(read["row_count"], expected["final_row_count"]);
    assert_eq!(read["rows"], expected["final_rows"]);
    let manifests = read["manifests"].as_array().unwrap();
    assert!(!manifests.is_empty());
    for m in manifests {
        let path = m["manifest_path"].as_str().unwrap();
        assert_eq!(
            m["entries"], expected["manifests"][path]["entries"],
            "entries of {path}"
        );
    }
    assert!(Path::new(&local_path(location)).is_file());
}
