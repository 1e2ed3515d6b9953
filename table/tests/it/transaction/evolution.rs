//! Schema and partition-spec evolution, properties, branches and tags, rollback.

use floe_spec::snapshot::{SnapshotReference, SnapshotRetention};
use floe_spec::transform::Transform;
use floe_spec::types::{ListType, NestedField, PrimitiveType, StructType, Type};
use floe_table::ErrorKind;
use floe_table::transaction::{RefUpdate, SchemaUpdate, SnapshotUpdate, SpecUpdate};

use super::{live_records, summary};
use crate::common::{Env, batch, write};

fn p(t: PrimitiveType) -> Type {
    Type::Primitive(t)
}

#[tokio::test]
async fn schema_evolution_follows_java_rules() {
    let env = Env::sqlite().await;
    let t = env.create("t", true, &[]).await;
    let t = t.append(vec![batch(&t, 0..5, "a")]).await.unwrap();
    let mut tx = t.new_transaction();
    tx.update_schema(
        SchemaUpdate::new()
            .add_column(
                "point",
                Type::Struct(StructType::new(vec![
                    NestedField::required(100, "x", p(PrimitiveType::Double)),
                    NestedField::required(101, "y", p(PrimitiveType::Double)),
                ])),
            )
            .add_column(
                "tags",
                Type::List(ListType::new(200, p(PrimitiveType::String), false)),
            )
            .add_nested_column("point", "z", p(PrimitiveType::Float))
            .rename_column("v", "value")
            .make_column_optional("id")
            .move_first("cat")
            .move_after("value", "point"),
    );
    let t = tx.commit().await.unwrap();
    let s = t.schema();
    assert_eq!(s.schema_id(), 1);
    let names: Vec<&str> = s.fields().iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, vec!["cat", "id", "point", "value", "tags"]);
    assert_eq!(s.field_by_name("point").unwrap().id, 4);
    assert_eq!(s.field_by_name("point.x").unwrap().id, 5);
    assert_eq!(s.field_by_name("point.y").unwrap().id, 6);
    assert_eq!(s.field_by_name("tags").unwrap().id, 7);
    assert_eq!(s.field_by_name("tags.element").unwrap().id, 8);
    assert_eq!(s.field_by_name("point.z").unwrap().id, 9);
    assert_eq!(s.field_by_name("value").unwrap().id, 3);
    assert!(!s.field_by_name("id").unwrap().required);
    assert!(!s.field_by_name("point").unwrap().required);
    assert_eq!(t.metadata().last_column_id(), 9);
    assert_eq!(t.metadata().schemas().len(), 2);

    // Widen, drop, identifier fields.
    let mut tx = t.new_transaction();
    tx.update_schema(
        SchemaUpdate::new()
            .update_column("point.z", PrimitiveType::Double)
            .delete_column("tags")
            .add_required_column("key", p(PrimitiveType::Long), None)
            .allow_incompatible_changes()
            .set_identifier_fields(["key"]),
    );
    let t = tx.commit().await.unwrap();
    let s = t.schema();
    assert_eq!(
        *s.field_by_name("point.z").unwrap().field_type,
        p(PrimitiveType::Double)
    );
    assert!(s.field_by_name("tags").is_none());
    assert_eq!(s.identifier_field_ids(), &[10]);

    // Invalid changes: nothing committed.
    let location = t.metadata_location().unwrap().to_string();
    for bad in [
        SchemaUpdate::new().update_column("value", PrimitiveType::Int),
        SchemaUpdate::new().update_column("cat", PrimitiveType::Long),
        SchemaUpdate::new().add_required_column("r", p(PrimitiveType::Int), None),
        SchemaUpdate::new().add_column("cat", p(PrimitiveType::Int)),
        SchemaUpdate::new().rename_column("nope", "x"),
        SchemaUpdate::new().delete_column("cat"),
        SchemaUpdate::new().delete_column("key"),
    ] {
        let mut tx = t.new_transaction();
        tx.update_schema(bad.clone());
        let err = tx.commit().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DataInvalid, "{bad:?}: {err}");
    }
    let mut again = env.load("t").await;
    again.refresh().await.unwrap();
    assert_eq!(again.metadata_location(), Some(location.as_str()));

    // New data is written with the new schema and old data stays.
    let t = t.append(vec![batch_with_key(&t)]).await.unwrap();
    assert_eq!(live_records(&t).await, 6);
    assert_eq!(t.current_snapshot().unwrap().schema_id, Some(2));
}

fn batch_with_key(t: &floe_table::Table) -> arrow::array::RecordBatch {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int64Array, StringArray, new_null_array};
    let arrow = Arc::new(floe_table::arrow_schema::schema_to_arrow(t.schema()).unwrap());
    let cols: Vec<ArrayRef> = arrow
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "cat" => Arc::new(StringArray::from(vec!["a"])) as ArrayRef,
            "key" | "id" | "value" => Arc::new(Int64Array::from(vec![7_i64])) as ArrayRef,
            _ => new_null_array(f.data_type(), 1),
        })
        .collect();
    arrow::array::RecordBatch::try_new(arrow, cols).unwrap()
}

#[tokio::test]
async fn partition_spec_evolution_and_properties() {
    let env = Env::sqlite().await;
    let t = env.create("t", true, &[]).await;
    let t = t.append(vec![batch(&t, 0..5, "a")]).await.unwrap();
    let mut tx = t.new_transaction();
    tx.update_spec(
        SpecUpdate::new()
            .add_field("id", Transform::Bucket(4))
            .rename_field("cat", "category"),
    );
    tx.set_properties([("owner", "etl"), ("x", "1")]);
    let t = tx.commit().await.unwrap();
    let spec = t.spec();
    assert_eq!(spec.spec_id, 1);
    let fields: Vec<(&str, i32)> = spec
        .fields
        .iter()
        .map(|f| (f.name.as_str(), f.field_id))
        .collect();
    assert_eq!(fields, vec![("category", 1000), ("id_bucket_4", 1001)]);
    assert_eq!(t.metadata().last_partition_id(), 1001);
    assert_eq!(t.properties()["owner"], "etl");

    // Writes use the new spec; old files keep theirs.
    let t = t.append(vec![batch(&t, 10..20, "b")]).await.unwrap();
    let specs: std::collections::BTreeSet<i32> = t
        .manifests(None)
        .await
        .unwrap()
        .iter()
        .map(|m| m.partition_spec_id)
        .collect();
    assert_eq!(specs.into_iter().collect::<Vec<_>>(), vec![0, 1]);
    assert_eq!(live_records(&t).await, 15);

    let mut tx = t.new_transaction();
    tx.update_spec(SpecUpdate::new().remove_field("id_bucket_4"));
    tx.remove_properties(["x"]);
    let t = tx.commit().await.unwrap();
    assert_eq!(t.spec().fields.len(), 1);
    assert!(!t.properties().contains_key("x"));

    let mut tx = t.new_transaction();
    tx.update_spec(SpecUpdate::new().add_field("nope", Transform::Identity));
    assert_eq!(
        tx.commit().await.unwrap_err().kind(),
        ErrorKind::DataInvalid
    );
}

#[tokio::test]
async fn branches_tags_and_rollback() {
    let env = Env::sqlite().await;
    let t = env.create("t", false, &[]).await;
    let t = t.append(vec![batch(&t, 0..5, "a")]).await.unwrap();
    let s1 = t.current_snapshot().unwrap().snapshot_id;
    let t = t.append(vec![batch(&t, 5..10, "a")]).await.unwrap();
    let s2 = t.current_snapshot().unwrap().snapshot_id;

    let mut tx = t.new_transaction();
    tx.update_ref(RefUpdate::create_branch("dev", s1));
    tx.update_ref(RefUpdate::create(
        "v1",
        SnapshotReference {
            snapshot_id: s2,
            retention: SnapshotRetention::Tag {
                max_ref_age_ms: Some(86_400_000),
            },
        },
    ));
    let t = tx.commit().await.unwrap();
    assert_eq!(t.snapshot_for_ref("dev").unwrap().snapshot_id, s1);
    assert_eq!(
        t.metadata().refs()["v1"].retention,
        SnapshotRetention::Tag {
            max_ref_age_ms: Some(86_400_000)
        }
    );

    // Write to the branch: main does not move.
    let files = write(&t, 100..103, "a").await;
    let mut tx = t.new_transaction();
    tx.add(
        SnapshotUpdate::fast_append()
            .add_data_files(files)
            .to_branch("dev"),
    );
    let t = tx.commit().await.unwrap();
    let dev = t.snapshot_for_ref("dev").unwrap().clone();
    assert_eq!(dev.parent_snapshot_id, Some(s1));
    assert_eq!(dev.sequence_number, 3);
    assert_eq!(t.current_snapshot().unwrap().snapshot_id, s2);
    assert_eq!(summary(&t, "total-records").as_deref(), Some("10"));
    assert_eq!(dev.summary.additional_properties["total-records"], "8");

    // Committing to a tag is refused.
    let files = write(&t, 200..201, "a").await;
    let mut tx = t.new_transaction();
    tx.add(
        SnapshotUpdate::fast_append()
            .add_data_files(files)
            .to_branch("v1"),
    );
    assert_eq!(
        tx.commit().await.unwrap_err().kind(),
        ErrorKind::DataInvalid
    );

    // Rollback main to s1, then set it to the dev head.
    let mut tx = t.new_transaction();
    tx.rollback_to(s1);
    let t = tx.commit().await.unwrap();
    assert_eq!(t.current_snapshot().unwrap().snapshot_id, s1);
    let mut tx = t.new_transaction();
    tx.rollback_to(s2);
    let err = tx.commit().await.unwrap_err();
    assert!(err.to_string().contains("not an ancestor"), "{err}");
    let mut tx = t.new_transaction();
    tx.set_current_snapshot(dev.snapshot_id);
    let t = tx.commit().await.unwrap();
    assert_eq!(live_records(&t).await, 8);

    // Replace and remove refs.
    let mut tx = t.new_transaction();
    tx.update_ref(RefUpdate::replace(
        "dev",
        SnapshotReference {
            snapshot_id: s2,
            retention: SnapshotRetention::Branch {
                min_snapshots_to_keep: Some(3),
                max_snapshot_age_ms: None,
                max_ref_age_ms: None,
            },
        },
    ));
    tx.update_ref(RefUpdate::remove("v1"));
    let t = tx.commit().await.unwrap();
    assert_eq!(t.snapshot_for_ref("dev").unwrap().snapshot_id, s2);
    assert!(!t.metadata().refs().contains_key("v1"));
    let mut tx = t.new_transaction();
    tx.update_ref(RefUpdate::remove("main"));
    assert!(tx.commit().await.is_err());
}

#[tokio::test]
async fn cherry_pick_publishes_an_append_from_a_branch_once() {
    let env = Env::sqlite().await;
    let t = env.create("t", false, &[]).await;
    let t = t.append(vec![batch(&t, 0..5, "a")]).await.unwrap();
    let s1 = t.current_snapshot().unwrap().snapshot_id;
    let mut tx = t.new_transaction();
    tx.update_ref(RefUpdate::create_branch("audit", s1));
    let t = tx.commit().await.unwrap();
    let files = write(&t, 100..103, "a").await;
    let mut tx = t.new_transaction();
    tx.add(
        SnapshotUpdate::fast_append()
            .add_data_files(files)
            .to_branch("audit"),
    );
    let t = tx.commit().await.unwrap();
    let staged = t.snapshot_for_ref("audit").unwrap().snapshot_id;
    let t = t.append(vec![batch(&t, 5..7, "a")]).await.unwrap();

    let mut tx = t.new_transaction();
    tx.cherry_pick(staged).await.unwrap();
    let t = tx.commit().await.unwrap();
    assert_eq!(live_records(&t).await, 10);
    assert_eq!(summary(&t, "source-snapshot-id"), Some(staged.to_string()));
    let mut tx = t.new_transaction();
    assert!(tx.cherry_pick(staged).await.is_err(), "picked twice");
    assert!(tx.cherry_pick(42).await.is_err());
}
