//! PyIceberg 0.12 reads a table Floe wrote with appends, a delete, an overwrite, a
//! position delete and schema evolution: same rows.
//!
//! The interpreter is `FLOE_TEST_PYTHON` (set by `scripts/test`); without it the test
//! fails.

use std::path::PathBuf;
use std::process::Command;

use floe_spec::expr::Reference;
use floe_spec::types::{PrimitiveType, Type};
use floe_spec::values::Datum;
use floe_table::transaction::SchemaUpdate;
use serde_json::Value;

use super::operations::add_position_deletes;
use super::{Env, batch};

pub(crate) fn python() -> PathBuf {
    match std::env::var_os("FLOE_TEST_PYTHON").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => panic!(
            "FLOE_TEST_PYTHON is not set: run scripts/test, which creates the PyIceberg venv"
        ),
    }
}

/// What `pyiceberg_read.py METADATA --scan` prints.
pub(crate) fn pyiceberg_scan(python: &PathBuf, metadata_location: &str) -> Value {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/pyiceberg_read.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(metadata_location)
        .arg("--scan")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "PyIceberg failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub(crate) fn ids_of(doc: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn pyiceberg_reads_a_table_floe_changed() {
    let python = python();
    let env = Env::new().await;
    let t = env.create("t", true, &[]).await;
    let t = t
        .append(vec![batch(&t, 0..10, "a"), batch(&t, 10..20, "b")])
        .await
        .unwrap();
    let t = t.append(vec![batch(&t, 20..25, "c")]).await.unwrap();
    let t = t
        .delete(Reference::new("cat").equal_to(Datum::String("c".into())))
        .await
        .unwrap();
    let t = t
        .overwrite(
            Reference::new("cat").equal_to(Datum::String("b".into())),
            vec![batch(&t, 100..103, "b")],
        )
        .await
        .unwrap();
    let a = t
        .live_entries(None)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.data_file.partition == vec![Some(Datum::String("a".into()))])
        .unwrap()
        .data_file;
    let t = add_position_deletes(&t, &a, &[0, 9]).await.unwrap();
    let mut tx = t.new_transaction();
    tx.update_schema(SchemaUpdate::new().add_column("extra", Type::Primitive(PrimitiveType::Int)));
    let t = tx.commit().await.unwrap();
    let t = t.append(vec![batch(&t, 200..202, "d")]).await.unwrap();
    // Copy-on-write: the `d` file is rewritten without id 201.
    let t = t
        .delete(Reference::new("id").greater_than_or_eq(Datum::Long(201)))
        .await
        .unwrap();
    assert_eq!(super::scan_ids(&t).await.len(), 12);

    let doc = pyiceberg_scan(&python, t.metadata_location().unwrap());
    let mut ids: Vec<i64> = doc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    let mut expected: Vec<i64> = (1..9).chain(100..103).chain(200..201).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected);
    assert_eq!(doc["row_count"], expected.len());
    for r in doc["rows"].as_array().unwrap() {
        assert_eq!(r["v"].as_i64(), Some(r["id"].as_i64().unwrap() * 10), "{r}");
    }
    let snapshots = doc["snapshots"].as_array().unwrap();
    assert_eq!(snapshots.len(), 7);
    assert_eq!(doc["last_sequence_number"], 7);
}

#[tokio::test]
async fn pyiceberg_reads_merged_manifests_evolved_specs_and_rewrites() {
    use floe_spec::transform::Transform;
    use floe_table::transaction::{SnapshotUpdate, SpecUpdate};

    let python = python();
    let env = Env::new().await;
    let t = env
        .create(
            "t",
            true,
            &[
                ("commit.manifest-merge.enabled", "true"),
                ("commit.manifest.min-count-to-merge", "2"),
            ],
        )
        .await;
    let t = t.append(vec![batch(&t, 0..10, "a")]).await.unwrap();
    let t = t.append(vec![batch(&t, 10..20, "b")]).await.unwrap();
    assert_eq!(t.manifests(None).await.unwrap().len(), 1, "merged");
    let mut tx = t.new_transaction();
    tx.update_spec(SpecUpdate::new().add_field("id", Transform::Bucket(2)));
    let t = tx.commit().await.unwrap();
    let t = t.append(vec![batch(&t, 20..30, "c")]).await.unwrap();
    // Compaction of `b` into the new spec.
    let old_b = t
        .live_entries(None)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.data_file.partition.first() == Some(&Some(Datum::String("b".into()))))
        .unwrap()
        .data_file
        .file_path;
    let mut tx = t.new_transaction();
    let compacted = tx.write_batches(&[batch(&t, 10..20, "b")]).await.unwrap();
    tx.add(
        SnapshotUpdate::rewrite()
            .delete_data_file(old_b)
            .add_data_files(compacted),
    );
    let t = tx.commit().await.unwrap();
    // Copy-on-write delete across specs.
    let t = t
        .delete(Reference::new("id").greater_than_or_eq(Datum::Long(25)))
        .await
        .unwrap();
    let expected: Vec<i64> = (0..25).collect();
    assert_eq!(super::scan_ids(&t).await, expected);

    let doc = pyiceberg_scan(&python, t.metadata_location().unwrap());
    assert_eq!(ids_of(&doc), expected);
    for r in doc["rows"].as_array().unwrap() {
        assert_eq!(r["v"].as_i64(), Some(r["id"].as_i64().unwrap() * 10), "{r}");
    }
}
