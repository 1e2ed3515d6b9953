//! PyIceberg 0.12 reads a table Floe wrote with appends, a delete, an overwrite, a
//! position delete and schema evolution: same rows.
//!
//! The interpreter is `FLOE_TEST_PYTHON` (set by `scripts/test`); without it the tests
//! fail.

use floe_spec::expr::Reference;
use floe_spec::types::{PrimitiveType, Type};
use floe_spec::values::Datum;
use floe_table::transaction::SchemaUpdate;

use super::{a_and_b, file_of};
use crate::common::{Env, add_position_deletes, batch, ids_of, pyiceberg_scan, scan_ids};

#[tokio::test]
async fn pyiceberg_reads_a_table_floe_changed() {
    let env = Env::sqlite().await;
    let t = a_and_b(&env, &[]).await;
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
    let a = file_of(&t, "a").await;
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
    assert_eq!(scan_ids(&t).await.len(), 12);

    let doc = pyiceberg_scan(t.metadata_location().unwrap());
    let ids = ids_of(&doc);
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

    let env = Env::sqlite().await;
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
    let old_b = file_of(&t, "b").await.file_path;
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
    assert_eq!(scan_ids(&t).await, expected);

    let doc = pyiceberg_scan(t.metadata_location().unwrap());
    assert_eq!(ids_of(&doc), expected);
    for r in doc["rows"].as_array().unwrap() {
        assert_eq!(r["v"].as_i64(), Some(r["id"].as_i64().unwrap() * 10), "{r}");
    }
}
