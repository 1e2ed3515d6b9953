//! Position and equality delete files.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, StructArray};
use arrow::datatypes::{DataType, Int64Type};
use floe_spec::manifest::DataContentType;
use floe_spec::schema::Schema;
use floe_spec::types::{ListType, NestedField, PrimitiveType, StructType, Type};
use floe_spec::values::Datum;
use floe_table::arrow_schema::schema_to_arrow;
use floe_table::writer::position_delete::{DELETE_FILE_PATH_ID, DELETE_POS_ID};
use floe_table::writer::{EqualityDeleteWriter, LocationGenerator, PositionDeleteWriter};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use parquet::basic::Repetition;

use super::{TABLE_LOCATION, assert_leaf_ids, props, read_file, rt};

fn locations() -> (Arc<dyn ObjectStore>, Arc<LocationGenerator>) {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let g = LocationGenerator::for_table(store.clone(), TABLE_LOCATION, &props(&[])).unwrap();
    (store, Arc::new(g))
}

#[test]
fn position_deletes_are_sorted_with_the_iceberg_schema() {
    let (store, locations) = locations();
    rt().block_on(async {
        let mut w = PositionDeleteWriter::try_new(
            &props(&[]),
            locations,
            vec![Some(Datum::Int(3))],
            Some("b=3".into()),
        )
        .unwrap();
        let long_path = format!(
            "s3://bucket/{}/b.parquet",
            "very-long-directory-name".repeat(5)
        );
        w.delete_positions(&long_path, [9, 2, 2, 5]);
        w.delete("s3://bucket/a.parquet", 7);
        w.write_batch(
            &RecordBatch::try_from_iter(vec![
                ("pos", Arc::new(Int64Array::from(vec![1, 0])) as ArrayRef),
                (
                    "file_path",
                    Arc::new(StringArray::from(vec!["s3://bucket/a.parquet"; 2])),
                ),
            ])
            .unwrap(),
        )
        .unwrap();
        let files = w.close().await.unwrap();
        assert_eq!(files.len(), 1);
        let f = &files[0];
        assert_eq!(f.content, DataContentType::PositionDeletes);
        assert_eq!(f.record_count, 6, "duplicates are dropped");
        assert_eq!(f.partition, vec![Some(Datum::Int(3))]);
        assert!(
            f.file_path
                .starts_with(&format!("{TABLE_LOCATION}/data/b=3/"))
        );
        assert_eq!(f.referenced_data_file, None, "two data files");
        assert_eq!(f.sort_order_id, None);
        assert_eq!(
            f.lower_bounds[&DELETE_FILE_PATH_ID],
            Datum::String("s3://bucket/a.parquet".into())
        );
        assert_eq!(
            f.upper_bounds[&DELETE_FILE_PATH_ID],
            Datum::String(long_path.clone()),
            "full, untruncated"
        );
        assert_eq!(f.lower_bounds[&DELETE_POS_ID], Datum::Long(0));
        assert_eq!(f.upper_bounds[&DELETE_POS_ID], Datum::Long(9));
        let (batches, metadata) = read_file(&store, &f.file_path).await;
        assert_leaf_ids(&metadata, &[DELETE_FILE_PATH_ID, DELETE_POS_ID]);
        let descr = metadata.file_metadata().schema_descr();
        for col in descr.columns() {
            assert_eq!(
                col.self_type().get_basic_info().repetition(),
                Repetition::REQUIRED
            );
        }
        assert_eq!(descr.column(0).name(), "file_path");
        assert_eq!(descr.column(1).name(), "pos");
        let b = &batches[0];
        let paths: Vec<&str> = b.column(0).as_string::<i32>().iter().flatten().collect();
        let pos: Vec<i64> = b.column(1).as_primitive::<Int64Type>().values().to_vec();
        assert_eq!(paths[..3], ["s3://bucket/a.parquet"; 3]);
        assert_eq!(pos, vec![0, 1, 7, 2, 5, 9]);
        assert!(paths[3..].iter().all(|p| *p == long_path));
    });
}

#[test]
fn position_deletes_of_one_file_reference_it() {
    let (_, locations) = locations();
    rt().block_on(async {
        let mut w =
            PositionDeleteWriter::try_new(&props(&[]), locations.clone(), vec![], None).unwrap();
        w.delete_positions("s3://bucket/only.parquet", [3, 1]);
        let files = w.close().await.unwrap();
        assert_eq!(
            files[0].referenced_data_file.as_deref(),
            Some("s3://bucket/only.parquet")
        );
        // No deletes, no files.
        let w =
            PositionDeleteWriter::try_new(&props(&[]), locations.clone(), vec![], None).unwrap();
        assert!(w.close().await.unwrap().is_empty());
        // Negative positions are refused.
        let mut w = PositionDeleteWriter::try_new(&props(&[]), locations, vec![], None).unwrap();
        w.delete("s3://bucket/x.parquet", -1);
        let e = w.close().await.unwrap_err();
        assert!(e.to_string().contains("x.parquet"), "{e}");
    });
}

fn table_schema() -> Schema {
    Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
            NestedField::optional(2, "name", Type::Primitive(PrimitiveType::String)),
            NestedField::optional(
                3,
                "s",
                Type::Struct(StructType::new(vec![
                    NestedField::optional(4, "a", Type::Primitive(PrimitiveType::String)),
                    NestedField::optional(5, "b", Type::Primitive(PrimitiveType::Long)),
                ])),
            ),
            NestedField::optional(
                6,
                "l",
                Type::List(ListType::new(7, Type::Primitive(PrimitiveType::Long), true)),
            ),
        ])
        .build()
        .unwrap()
}

#[test]
fn equality_deletes_project_the_table_schema() {
    let schema = table_schema();
    let (store, locations) = locations();
    rt().block_on(async {
        let mut w = EqualityDeleteWriter::try_new(
            &schema,
            vec![1, 4],
            &props(&[]),
            locations.clone(),
            vec![],
            None,
        )
        .unwrap();
        // The delete rows: id and s.a only, with the table's ids.
        assert_eq!(w.row_type().fields().len(), 2);
        let arrow = schema_to_arrow(&schema).unwrap();
        let DataType::Struct(s_fields) = arrow.field(2).data_type().clone() else {
            panic!()
        };
        let s = StructArray::new(
            s_fields,
            vec![
                Arc::new(StringArray::from(vec![Some("k1"), None])) as ArrayRef,
                Arc::new(Int64Array::from(vec![1, 2])),
            ],
            None,
        );
        let rows = RecordBatch::try_new(
            Arc::new(arrow.clone()),
            vec![
                Arc::new(Int64Array::from(vec![10, 20])) as ArrayRef,
                Arc::new(StringArray::from(vec![Some("n"), None])),
                Arc::new(s),
                arrow::array::new_null_array(arrow.field(3).data_type(), 2),
            ],
        )
        .unwrap();
        w.write_rows(&rows).await.unwrap();
        let files = w.close().await.unwrap();
        let f = &files[0];
        assert_eq!(f.content, DataContentType::EqualityDeletes);
        assert_eq!(f.equality_ids, Some(vec![1, 4]));
        assert_eq!(f.record_count, 2);
        assert_eq!(f.lower_bounds[&1], Datum::Long(10));
        assert_eq!(f.upper_bounds[&4], Datum::String("k1".into()));
        let (batches, metadata) = read_file(&store, &f.file_path).await;
        assert_leaf_ids(&metadata, &[1, 4]);
        assert_eq!(batches[0].num_columns(), 2);
        assert_eq!(batches[0].column(1).as_struct().column(0).null_count(), 1);
    });
    // Bad equality fields are named.
    let e = EqualityDeleteWriter::try_new(
        &schema,
        vec![99],
        &props(&[]),
        locations.clone(),
        vec![],
        None,
    )
    .unwrap_err();
    assert!(e.to_string().contains("99"), "{e}");
    let e = EqualityDeleteWriter::try_new(
        &schema,
        vec![7],
        &props(&[]),
        locations.clone(),
        vec![],
        None,
    )
    .unwrap_err();
    assert!(e.to_string().contains("`l.element`"), "{e}");
    let e = EqualityDeleteWriter::try_new(&schema, vec![3], &props(&[]), locations, vec![], None)
        .unwrap_err();
    assert!(e.to_string().contains("`s`"), "{e}");
}
