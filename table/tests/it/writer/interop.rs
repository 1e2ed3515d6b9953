//! PyIceberg 0.12 reads a table whose data files, position delete file, manifests and
//! metadata Floe wrote.
//!
//! The Python interpreter is `FLOE_TEST_PYTHON`, which `scripts/test` sets to the
//! PyIceberg venv it creates; without it the test fails.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use floe_spec::commit::TableMetadataBuilder;
use floe_spec::manifest::{ManifestContentType, ManifestMetadata, ManifestWriter};
use floe_spec::manifest_list::{ManifestFile, ManifestListWriter};
use floe_spec::partition::{UnboundPartitionField, UnboundPartitionSpec};
use floe_spec::schema::Schema;
use floe_spec::snapshot::{Operation, Snapshot, SnapshotReference, Summary};
use floe_spec::sort::SortOrder;
use floe_spec::table_metadata::{FormatVersion, TableMetadata};
use floe_spec::transform::Transform;
use floe_spec::types::{NestedField, PrimitiveType, Type};
use floe_table::arrow_schema::schema_to_arrow;
use floe_table::writer::{
    LocationGenerator, PartitionedWriter, PositionDeleteWriter, WriterContext, default_store_path,
};
use object_store::local::LocalFileSystem;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::{props, rt};
use crate::common::pyiceberg_scan;

async fn put(store: &Arc<dyn ObjectStore>, location: &str, bytes: Vec<u8>) {
    store
        .put(
            &default_store_path(location).unwrap(),
            PutPayload::from(bytes),
        )
        .await
        .unwrap();
}

async fn manifest(
    store: &Arc<dyn ObjectStore>,
    md: &TableMetadata,
    content: ManifestContentType,
    snapshot_id: i64,
    files: Vec<floe_spec::manifest::DataFile>,
    location: &str,
) -> ManifestFile {
    let mut w = ManifestWriter::new(
        ManifestMetadata {
            schema: md.current_schema().clone(),
            partition_spec: md.default_partition_spec().as_ref().clone(),
            format_version: FormatVersion::V2,
            content,
        },
        Some(snapshot_id),
    );
    for f in files {
        w.add(f).unwrap();
    }
    let (bytes, entry) = w.finish(location).unwrap();
    put(store, location, bytes).await;
    entry
}

fn snapshot(id: i64, parent: Option<i64>, seq: i64, list: &str, op: Operation) -> Snapshot {
    Snapshot {
        snapshot_id: id,
        parent_snapshot_id: parent,
        sequence_number: seq,
        timestamp_ms: 1_700_000_000_000 + seq,
        manifest_list: list.to_string(),
        summary: Summary {
            operation: op,
            additional_properties: HashMap::new(),
        },
        schema_id: Some(0),
        first_row_id: None,
        added_rows: None,
        key_id: None,
    }
}

#[test]
fn pyiceberg_reads_floe_written_files() {
    let dir = std::env::temp_dir().join(format!("floe-table-interop-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let location = format!("file://{}", dir.display());

    let schema = Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
            NestedField::optional(2, "cat", Type::Primitive(PrimitiveType::String)),
            NestedField::optional(3, "ts", Type::Primitive(PrimitiveType::Timestamptz)),
            NestedField::optional(4, "x", Type::Primitive(PrimitiveType::Double)),
        ])
        .build()
        .unwrap();
    let spec = UnboundPartitionSpec {
        spec_id: None,
        fields: vec![
            UnboundPartitionField {
                source_id: 2,
                field_id: None,
                name: "cat".into(),
                transform: Transform::Identity,
            },
            UnboundPartitionField {
                source_id: 3,
                field_id: None,
                name: "ts_day".into(),
                transform: Transform::Day,
            },
        ],
    };
    let created = TableMetadataBuilder::new_table(
        schema,
        spec,
        SortOrder::unsorted(),
        location.clone(),
        HashMap::new(),
    )
    .unwrap()
    .build(1_700_000_000_000)
    .unwrap()
    .metadata;
    let schema = created.current_schema().clone();
    let spec = created.default_partition_spec().clone();

    let n = 1000_i64;
    let batch = RecordBatch::try_new(
        Arc::new(schema_to_arrow(&schema).unwrap()),
        vec![
            Arc::new(Int64Array::from_iter_values(0..n)) as ArrayRef,
            Arc::new(
                (0..n)
                    .map(|i| (i % 5 != 0).then(|| format!("c{}", i % 3)))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                (0..n)
                    .map(|i| Some(i * 3_600_000_000))
                    .collect::<TimestampMicrosecondArray>()
                    .with_timezone("+00:00"),
            ),
            Arc::new(
                (0..n)
                    .map(|i| Some(i as f64 / 2.0))
                    .collect::<Float64Array>(),
            ),
        ],
    )
    .unwrap();

    let (deleted, data_files, delete_files, store) = rt().block_on(async {
        let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new());
        let properties = props(&[("write.parquet.row-group-size-bytes", "4096")]);
        let context = Arc::new(WriterContext::for_data(&schema, &properties, None).unwrap());
        let locations =
            Arc::new(LocationGenerator::for_table(store.clone(), &location, &properties).unwrap());
        let mut w = PartitionedWriter::try_new(context, &schema, &spec, locations.clone()).unwrap();
        w.write(&batch.slice(0, 400)).await.unwrap();
        w.write(&batch.slice(400, 600)).await.unwrap();
        let data_files = w.close().await.unwrap();
        // Delete rows 0, 2 and 4 of the first data file.
        let target = &data_files[0];
        let mut d = PositionDeleteWriter::try_new(
            &properties,
            locations,
            target.partition.clone(),
            Some(spec.partition_path(&schema, &target.partition).unwrap()),
        )
        .unwrap();
        d.delete_positions(&target.file_path, [0, 2, 4]);
        let delete_files = d.close().await.unwrap();
        (3, data_files, delete_files, store)
    });
    assert!(
        data_files.len() > 5,
        "partitioned into {} files",
        data_files.len()
    );

    let metadata_location = rt().block_on(async {
        let md = &created;
        let m0 = manifest(
            &store,
            md,
            ManifestContentType::Data,
            1,
            data_files,
            &format!("{location}/metadata/m0.avro"),
        )
        .await;
        let mut list1 = ManifestListWriter::new(FormatVersion::V2, 1, None, 1);
        list1.add_manifests([m0.clone()]).unwrap();
        let list1_location = format!("{location}/metadata/snap-1.avro");
        put(&store, &list1_location, list1.finish().unwrap()).await;

        let m1 = manifest(
            &store,
            md,
            ManifestContentType::Deletes,
            2,
            delete_files,
            &format!("{location}/metadata/m1.avro"),
        )
        .await;
        let mut list2 = ManifestListWriter::new(FormatVersion::V2, 2, Some(1), 2);
        let mut m0 = m0;
        m0.added_snapshot_id = 1;
        m0.sequence_number = 1;
        m0.min_sequence_number = 1;
        list2.add_manifests([m0, m1]).unwrap();
        let list2_location = format!("{location}/metadata/snap-2.avro");
        put(&store, &list2_location, list2.finish().unwrap()).await;

        let mut b =
            TableMetadataBuilder::new_from(md, format!("{location}/metadata/00000.metadata.json"));
        b.add_snapshot(snapshot(1, None, 1, &list1_location, Operation::Append))
            .unwrap();
        b.set_ref("main", SnapshotReference::branch(1)).unwrap();
        b.add_snapshot(snapshot(
            2,
            Some(1),
            2,
            &list2_location,
            Operation::Overwrite,
        ))
        .unwrap();
        b.set_ref("main", SnapshotReference::branch(2)).unwrap();
        let md = b.build(1_700_000_000_100).unwrap().metadata;
        let metadata_location = format!("{location}/metadata/00001.metadata.json");
        put(&store, &metadata_location, md.to_json_vec().unwrap()).await;
        metadata_location
    });

    let doc = pyiceberg_scan(&metadata_location);
    assert_eq!(doc["row_count"], n - deleted);
    let rows = doc["rows"].as_array().unwrap();
    let mut ids: Vec<i64> = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len() as i64, n - deleted);
    for r in rows {
        let id = r["id"].as_i64().unwrap();
        let expected_cat = (id % 5 != 0).then(|| format!("c{}", id % 3));
        assert_eq!(
            r["cat"].as_str().map(str::to_string),
            expected_cat,
            "row {r}"
        );
        assert_eq!(r["x"].as_f64(), Some(id as f64 / 2.0));
    }
    std::fs::remove_dir_all(&dir).ok();
}
