//! Scan planning and reading over tables built in-process.

// Test helpers panic on failure like the tests themselves.
#![allow(
    clippy::unwrap_used,
    clippy::many_single_char_names,
    clippy::items_after_statements
)]

mod fixture;
mod parallel;
mod pyiceberg;

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array, StringArray};
use arrow::datatypes::DataType;
use floe_spec::expr::Reference;
use floe_spec::partition::{UnboundPartitionField, UnboundPartitionSpec};
use floe_spec::schema::Schema;
use floe_spec::snapshot::Operation;
use floe_spec::transform::Transform;
use floe_spec::types::{NestedField, PrimitiveType, Type};
use floe_spec::values::Datum;
use floe_table::scan::{ChangeType, DEFAULT_NAME_MAPPING};
use futures::TryStreamExt;

use fixture::{Fixture, batch, longs, sorted_longs, strings};

fn p(t: PrimitiveType) -> Type {
    Type::Primitive(t)
}

/// id long, name string, cat string, x double; partitioned by identity(cat).
fn table() -> Fixture {
    let schema = Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", p(PrimitiveType::Long)),
            NestedField::optional(2, "name", p(PrimitiveType::String)),
            NestedField::optional(3, "cat", p(PrimitiveType::String)),
            NestedField::optional(4, "x", p(PrimitiveType::Double)),
        ])
        .build()
        .unwrap();
    let spec = UnboundPartitionSpec {
        spec_id: None,
        fields: vec![UnboundPartitionField {
            source_id: 3,
            field_id: None,
            name: "cat".into(),
            transform: Transform::Identity,
        }],
    };
    Fixture::new(schema, spec)
}

/// The `name` column alone (keys of equality deletes on `name`).
fn name_only_schema() -> Schema {
    Schema::builder()
        .with_fields(vec![NestedField::optional(
            2,
            "name",
            p(PrimitiveType::String),
        )])
        .build()
        .unwrap()
}

fn rows(f: &Fixture, ids: &[i64], cat: &str) -> arrow::array::RecordBatch {
    let names: Vec<Option<String>> = ids.iter().map(|i| Some(format!("n{i}"))).collect();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(ids.to_vec())),
        Arc::new(StringArray::from(names)),
        Arc::new(StringArray::from(vec![cat; ids.len()])),
        Arc::new(Float64Array::from(
            ids.iter().map(|i| *i as f64).collect::<Vec<_>>(),
        )),
    ];
    batch(&f.schema(), cols)
}

async fn add(f: &mut Fixture, ids: &[i64], cat: &str) -> floe_spec::manifest::DataFile {
    let b = rows(f, ids, cat);
    f.data_file(&b, vec![Some(Datum::String(cat.into()))], None)
        .await
}

fn planned_paths(tasks: &[floe_table::scan::FileScanTask]) -> Vec<String> {
    let mut v: Vec<String> = tasks
        .iter()
        .map(|t| {
            t.data_file
                .file_path
                .rsplit('/')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn snapshot_pinning_refs_and_time_travel() {
    let mut f = table();
    // An empty table plans and reads nothing.
    let plan = f.scan().await.unwrap();
    assert!(plan.tasks.is_empty() && plan.snapshot_id.is_none());
    assert!(
        f.scan()
            .build()
            .unwrap()
            .to_arrow()
            .await
            .unwrap()
            .is_empty()
    );

    let a = add(&mut f, &[1, 2, 3], "a").await;
    let s1 = f.commit(Operation::Append, vec![a], &[]).await;
    let t1 = f.now;
    let scan1 = f.scan().build().unwrap();
    let b = add(&mut f, &[4, 5], "b").await;
    let s2 = f.commit(Operation::Append, vec![b], &[]).await;
    f.tag("v1", s1);

    // A scan built before the second commit never sees it.
    assert_eq!(
        sorted_longs(&scan1.to_arrow().await.unwrap(), "id"),
        [1, 2, 3]
    );
    let by_id = f.scan().snapshot_id(s1).build().unwrap();
    assert_eq!(by_id.plan_files().await.unwrap().len(), 1);
    assert_eq!(
        sorted_longs(&by_id.to_arrow().await.unwrap(), "id"),
        [1, 2, 3]
    );
    let current = f.scan().build().unwrap();
    assert_eq!(current.snapshot().unwrap().snapshot_id, s2);
    assert_eq!(
        sorted_longs(&current.to_arrow().await.unwrap(), "id"),
        [1, 2, 3, 4, 5]
    );
    let tag = f.scan().use_ref("v1").build().unwrap();
    assert_eq!(tag.snapshot().unwrap().snapshot_id, s1);
    let branch = f.scan().use_ref("main").build().unwrap();
    assert_eq!(branch.snapshot().unwrap().snapshot_id, s2);
    let as_of = f.scan().as_of(t1 + 10).build().unwrap();
    assert_eq!(as_of.snapshot().unwrap().snapshot_id, s1);
    assert_eq!(
        f.scan()
            .as_of(f.now)
            .build()
            .unwrap()
            .snapshot()
            .unwrap()
            .snapshot_id,
        s2
    );

    // Bad input.
    let e = f.scan().as_of(t1 - 1).build().unwrap_err();
    assert!(e.to_string().contains("no snapshot at or before"), "{e}");
    let e = f.scan().snapshot_id(42).build().unwrap_err();
    assert!(e.to_string().contains("snapshot 42"), "{e}");
    let e = f.scan().use_ref("nope").build().unwrap_err();
    assert!(e.to_string().contains("`nope`"), "{e}");
    let e = f
        .scan()
        .filter(Reference::new("missing").equal_to(Datum::Long(1)))
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("missing"), "{e}");
    let e = f.scan().select(["id", "nope"]).build().unwrap_err();
    assert!(e.to_string().contains("`nope`"), "{e}");
}

#[tokio::test]
async fn prunes_files_by_partition_and_metrics() {
    let mut f = table();
    let a = add(&mut f, &[1, 2, 3], "a").await;
    let b = add(&mut f, &[4, 5, 6], "b").await;
    let c = add(&mut f, &[100, 150, 200], "b").await;
    f.commit(Operation::Append, vec![a, b, c], &[]).await;

    let plan = |filter| {
        let s = f.scan().filter(filter).build().unwrap();
        async move { planned_paths(&s.plan_files().await.unwrap()) }
    };
    assert_eq!(
        plan(Reference::new("cat").equal_to(Datum::String("b".into()))).await,
        ["data-002.parquet", "data-003.parquet"]
    );
    assert_eq!(
        plan(Reference::new("id").greater_than(Datum::Long(50))).await,
        ["data-003.parquet"]
    );
    assert!(
        plan(
            Reference::new("cat")
                .equal_to(Datum::String("a".into()))
                .and(Reference::new("id").greater_than(Datum::Long(50)))
        )
        .await
        .is_empty()
    );
    assert_eq!(plan(Reference::new("cat").is_null()).await.len(), 0);
    assert_eq!(
        plan(Reference::new("name").starts_with("n1")).await,
        ["data-001.parquet", "data-003.parquet"]
    );

    // Rows are filtered exactly, and columns selected in order.
    let s = f
        .scan()
        .select(["name", "id"])
        .filter(Reference::new("id").greater_than_or_eq(Datum::Long(150)))
        .build()
        .unwrap();
    let out = s.to_arrow().await.unwrap();
    assert_eq!(out[0].schema().field(0).name(), "name");
    assert_eq!(sorted_longs(&out, "id"), [150, 200]);
    // Case-insensitive names.
    let s = f
        .scan()
        .case_sensitive(false)
        .select(["ID"])
        .filter(Reference::new("CAT").equal_to(Datum::String("a".into())))
        .build()
        .unwrap();
    assert_eq!(sorted_longs(&s.to_arrow().await.unwrap(), "id"), [1, 2, 3]);

    // A residual `OR` over two columns, neither side decided by the file's metrics, with
    // only `id` selected: both sides' columns are read to evaluate it.
    let s = f
        .scan()
        .select(["id"])
        .filter(
            Reference::new("name")
                .equal_to(Datum::String("n5".into()))
                .or(Reference::new("x").greater_than(Datum::Double(149.0))),
        )
        .build()
        .unwrap();
    assert_eq!(
        sorted_longs(&s.to_arrow().await.unwrap(), "id"),
        [5, 150, 200]
    );
}

#[tokio::test]
async fn row_groups_are_pruned_by_statistics() {
    let mut f = table();
    let b = rows(&f, &[1, 2, 3, 4, 5, 6], "a");
    let file = f
        .data_file(&b, vec![Some(Datum::String("a".into()))], Some(2))
        .await;
    f.commit(Operation::Append, vec![file], &[]).await;
    let scan = f
        .scan()
        .filter(Reference::new("id").greater_than_or_eq(Datum::Long(5)))
        .build()
        .unwrap();
    let tasks = scan.plan_files().await.unwrap();
    let reader = scan.reader().unwrap();
    let out: Vec<_> = reader.read(tasks).try_collect().await.unwrap();
    assert_eq!(sorted_longs(&out, "id"), [5, 6]);
    let stats = reader.stats();
    assert_eq!((stats.row_groups_read, stats.row_groups_skipped), (1, 2));
}

#[tokio::test]
async fn residual_filter_nan_and_null_semantics() {
    let mut f = table();
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
        Arc::new(StringArray::from(vec![
            Some("a"),
            None,
            Some("c"),
            Some("d"),
        ])),
        Arc::new(StringArray::from(vec!["a"; 4])),
        Arc::new(Float64Array::from(vec![
            Some(1.0),
            Some(f64::NAN),
            None,
            Some(5.0),
        ])),
    ];
    let b = batch(&f.schema(), cols);
    let file = f
        .data_file(&b, vec![Some(Datum::String("a".into()))], None)
        .await;
    f.commit(Operation::Append, vec![file], &[]).await;
    let ids = |filter| {
        let s = f.scan().filter(filter).build().unwrap();
        async move { sorted_longs(&s.to_arrow().await.unwrap(), "id") }
    };
    let x = Reference::new("x");
    assert_eq!(ids(x.less_than(Datum::Double(3.0))).await, [1]);
    assert_eq!(ids(!x.less_than(Datum::Double(3.0))).await, [4]);
    assert_eq!(ids(x.not_equal_to(Datum::Double(1.0))).await, [2, 3, 4]);
    assert_eq!(ids(x.is_nan()).await, [2]);
    assert_eq!(ids(x.not_nan()).await, [1, 3, 4]);
    assert_eq!(ids(x.is_null()).await, [3]);
    let name = Reference::new("name");
    assert_eq!(
        ids(name.not_equal_to(Datum::String("a".into()))).await,
        [2, 3, 4]
    );
    assert_eq!(
        ids(name.is_not_in([Datum::String("a".into()), Datum::String("c".into())])).await,
        [2, 4]
    );
    assert_eq!(ids(name.not_starts_with("c")).await, [1, 2, 4]);
    assert_eq!(
        ids(name.is_null().or(x.greater_than(Datum::Double(4.0)))).await,
        [2, 4]
    );
}

#[tokio::test]
async fn deletes_follow_sequence_number_rules() {
    let mut f = table();
    let cat = || vec![Some(Datum::String("a".into()))];
    let mut b = rows(&f, &[1, 2, 3, 4, 5], "a");
    // Row 5 has a null name.
    let mut cols = b.columns().to_vec();
    cols[1] = Arc::new(StringArray::from(vec![
        Some("n1"),
        Some("n2"),
        Some("n3"),
        Some("n4"),
        None,
    ]));
    b = batch(&f.schema(), cols);
    let a = f.data_file(&b, cat(), None).await;
    let a_path = a.file_path.clone();
    f.commit(Operation::Append, vec![a], &[]).await;

    // Commit 2: delete position 0 of a, id = 3, and name = null (null equals null).
    let pos = f.pos_deletes(&[(a_path.as_str(), 0)], cat()).await;
    let id_schema = Schema::builder()
        .with_fields(vec![NestedField::required(1, "id", p(PrimitiveType::Long))])
        .build()
        .unwrap();
    let eq_id = f
        .eq_deletes(
            &batch(&id_schema, vec![Arc::new(Int64Array::from(vec![3]))]),
            vec![1],
            cat(),
        )
        .await;
    let name_schema = name_only_schema();
    let eq_null = f
        .eq_deletes(
            &batch(
                &name_schema,
                vec![Arc::new(StringArray::from(vec![None::<&str>]))],
            ),
            vec![2],
            cat(),
        )
        .await;
    f.commit(Operation::Delete, vec![pos, eq_id, eq_null], &[])
        .await;
    let s2 = f.scan().build().unwrap();
    assert_eq!(sorted_longs(&s2.to_arrow().await.unwrap(), "id"), [2, 4]);

    // Commit 3, in one snapshot: new data b (ids 3, 7, 8), an equality delete of id 7
    // (same sequence number: does not apply to b) and a position delete of b's row 2
    // (same sequence number: applies). The older id = 3 delete does not apply to b.
    let b = add(&mut f, &[3, 7, 8], "a").await;
    let b_path = b.file_path.clone();
    let eq7 = f
        .eq_deletes(
            &batch(&id_schema, vec![Arc::new(Int64Array::from(vec![7]))]),
            vec![1],
            cat(),
        )
        .await;
    let pos_b = f.pos_deletes(&[(b_path.as_str(), 2)], cat()).await;
    f.commit(Operation::Overwrite, vec![b, eq7, pos_b], &[])
        .await;
    let scan = f.scan().build().unwrap();
    let plan = scan.plan().await.unwrap();
    assert_eq!(plan.delete_files.len(), 5);
    let for_b = plan
        .tasks
        .iter()
        .find(|t| t.data_file.file_path == b_path)
        .unwrap();
    // b gets only its position delete: equality deletes of seq ≤ its own do not apply.
    assert_eq!(for_b.deletes.len(), 1);
    assert_eq!(
        sorted_longs(&scan.to_arrow().await.unwrap(), "id"),
        [2, 3, 4, 7]
    );
    // The pinned earlier scan is unchanged.
    assert_eq!(sorted_longs(&s2.to_arrow().await.unwrap(), "id"), [2, 4]);
    // A filter together with deletes.
    let s = f
        .scan()
        .filter(Reference::new("id").greater_than(Datum::Long(2)))
        .build()
        .unwrap();
    assert_eq!(sorted_longs(&s.to_arrow().await.unwrap(), "id"), [3, 4, 7]);
}

#[tokio::test]
async fn reads_across_schema_evolution_by_field_id() {
    let schema = Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", p(PrimitiveType::Int)),
            NestedField::optional(2, "name", p(PrimitiveType::String)),
        ])
        .build()
        .unwrap();
    let mut f = Fixture::new(
        schema,
        UnboundPartitionSpec {
            spec_id: None,
            fields: vec![],
        },
    );
    let b = batch(
        &f.schema(),
        vec![
            Arc::new(Int32Array::from(vec![1, 2])),
            Arc::new(StringArray::from(vec!["x", "y"])),
        ],
    );
    let old = f.data_file(&b, vec![], None).await;
    f.commit(Operation::Append, vec![old], &[]).await;

    // Promote id to long, rename name to full_name, add a column.
    let evolved = Schema::builder()
        .with_schema_id(1)
        .with_fields(vec![
            NestedField::required(1, "id", p(PrimitiveType::Long)),
            NestedField::optional(2, "full_name", p(PrimitiveType::String)),
            NestedField::optional(3, "extra", p(PrimitiveType::String)),
        ])
        .build()
        .unwrap();
    f.evolve(&evolved);
    let b = batch(
        &f.schema(),
        vec![
            Arc::new(Int64Array::from(vec![3])),
            Arc::new(StringArray::from(vec!["z"])),
            Arc::new(StringArray::from(vec!["e"])),
        ],
    );
    let new = f.data_file(&b, vec![], None).await;
    f.commit(Operation::Append, vec![new], &[]).await;

    let out = f.scan().build().unwrap().to_arrow().await.unwrap();
    assert!(
        out.iter()
            .all(|b| b.schema().field(0).data_type() == &DataType::Int64)
    );
    let mut got: Vec<(Option<i64>, Option<String>, Option<String>)> = longs(&out, "id")
        .into_iter()
        .zip(strings(&out, "full_name"))
        .zip(strings(&out, "extra"))
        .map(|((a, b), c)| (a, b, c))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (Some(1), Some("x".into()), None),
            (Some(2), Some("y".into()), None),
            (Some(3), Some("z".into()), Some("e".into())),
        ]
    );
    // Filters use the new names and types, on old files too.
    let s = f
        .scan()
        .filter(Reference::new("full_name").equal_to(Datum::String("y".into())))
        .build()
        .unwrap();
    assert_eq!(sorted_longs(&s.to_arrow().await.unwrap(), "id"), [2]);
    let s = f
        .scan()
        .filter(Reference::new("extra").is_null())
        .build()
        .unwrap();
    assert_eq!(sorted_longs(&s.to_arrow().await.unwrap(), "id"), [1, 2]);
}

#[tokio::test]
async fn files_without_field_ids_need_a_name_mapping() {
    let schema = Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", p(PrimitiveType::Long)),
            NestedField::optional(2, "name", p(PrimitiveType::String)),
        ])
        .build()
        .unwrap();
    let mapping = r#"[{"field-id": 1, "names": ["id"]}, {"field-id": 2, "names": ["name"]}]"#;
    for with_mapping in [true, false] {
        let props = if with_mapping {
            HashMap::from([(DEFAULT_NAME_MAPPING.to_string(), mapping.to_string())])
        } else {
            HashMap::new()
        };
        let mut f = Fixture::with_properties(
            schema.clone(),
            UnboundPartitionSpec {
                spec_id: None,
                fields: vec![],
            },
            props,
        );
        let b = batch(
            &f.schema(),
            vec![
                Arc::new(Int64Array::from(vec![7, 8])),
                Arc::new(StringArray::from(vec!["a", "b"])),
            ],
        );
        let file = f.data_file_without_ids(&b).await;
        f.commit(Operation::Append, vec![file], &[]).await;
        let res = f.scan().build().unwrap().to_arrow().await;
        if with_mapping {
            assert_eq!(sorted_longs(&res.unwrap(), "id"), [7, 8]);
        } else {
            let e = res.unwrap_err();
            assert!(e.to_string().contains("name mapping"), "{e}");
        }
    }
}

/// With view types, strings come as `Utf8View`, also a column added after the file
/// was written (nulls), and filters and string equality deletes still apply.
#[tokio::test]
async fn view_types_read_strings_as_views() {
    use arrow::array::{Array, StringViewArray};
    let mut f = table();
    let cat = || vec![Some(Datum::String("a".into()))];
    let b = rows(&f, &[1, 2, 3, 4, 5], "a");
    let a = f.data_file(&b, cat(), None).await;
    f.commit(Operation::Append, vec![a], &[]).await;
    let name_schema = name_only_schema();
    let eq = f
        .eq_deletes(
            &batch(&name_schema, vec![Arc::new(StringArray::from(vec!["n2"]))]),
            vec![2],
            cat(),
        )
        .await;
    f.commit(Operation::Delete, vec![eq], &[]).await;
    let mut evolved: Vec<NestedField> = f
        .schema()
        .fields()
        .iter()
        .map(|x| x.as_ref().clone())
        .collect();
    evolved.push(NestedField::optional(5, "tag", p(PrimitiveType::String)));
    f.evolve(&Schema::builder().with_fields(evolved).build().unwrap());

    let scan = f
        .scan()
        .select(["name", "tag"])
        .filter(
            Reference::new("name")
                .starts_with("n")
                .and(Reference::new("name").is_in([
                    Datum::String("n1".into()),
                    Datum::String("n2".into()),
                    Datum::String("n4".into()),
                ])),
        )
        .with_view_types(true)
        .build()
        .unwrap();
    let out = scan.to_arrow().await.unwrap();
    let mut names = Vec::new();
    for b in &out {
        assert_eq!(b.schema().field(0).data_type(), &DataType::Utf8View);
        assert_eq!(b.schema().field(1).data_type(), &DataType::Utf8View);
        let n = b
            .column(0)
            .as_any()
            .downcast_ref::<StringViewArray>()
            .unwrap();
        let t = b
            .column(1)
            .as_any()
            .downcast_ref::<StringViewArray>()
            .unwrap();
        for i in 0..b.num_rows() {
            assert!(t.is_null(i));
            names.push(n.value(i).to_string());
        }
    }
    names.sort();
    // n2 is deleted by its string key; n3 and n5 fail the filter.
    assert_eq!(names, ["n1", "n4"]);
}

/// The `_pos` metadata column gives each row's position in its file, through deleted
/// rows, rows the residual drops and row groups the statistics skip; `_file` its path.
#[tokio::test]
async fn row_positions_count_every_row_of_the_file() {
    use floe_spec::types::{
        FILE_PATH_FIELD_ID, FILE_PATH_NAME, ROW_POSITION_FIELD_ID, ROW_POSITION_NAME,
    };
    let mut f = table();
    let cat = || vec![Some(Datum::String("a".into()))];
    let b = rows(&f, &[1, 2, 3, 4, 5, 6, 7], "a");
    let a = f.data_file(&b, cat(), Some(2)).await;
    let a_path = a.file_path.clone();
    f.commit(Operation::Append, vec![a], &[]).await;
    let pos = f
        .pos_deletes(&[(a_path.as_str(), 0), (a_path.as_str(), 4)], cat())
        .await;
    f.commit(Operation::Delete, vec![pos], &[]).await;

    let scan = f
        .scan()
        .select(["id"])
        .filter(Reference::new("id").greater_than_or_eq(Datum::Long(4)))
        .build()
        .unwrap();
    let mut tasks = scan.plan_files().await.unwrap();
    for t in &mut tasks {
        t.project_field_ids.push(ROW_POSITION_FIELD_ID);
        t.project_field_ids.push(FILE_PATH_FIELD_ID);
    }
    let reader = scan.reader().unwrap();
    let out: Vec<_> = reader.read(tasks).try_collect().await.unwrap();
    let schema = out[0].schema();
    assert_eq!(schema.field(1).name(), ROW_POSITION_NAME);
    assert_eq!(
        schema.field(1).metadata().get("PARQUET:field_id"),
        Some(&ROW_POSITION_FIELD_ID.to_string())
    );
    // Row group [1, 2] is skipped, id 3 fails the filter, id 5 (position 4) is deleted.
    assert_eq!(longs(&out, "id"), [Some(4), Some(6), Some(7)]);
    assert_eq!(longs(&out, ROW_POSITION_NAME), [Some(3), Some(5), Some(6)]);
    assert_eq!(strings(&out, FILE_PATH_NAME), vec![Some(a_path.clone()); 3]);
    assert_eq!(reader.stats().row_groups_skipped, 1);
}

#[tokio::test]
async fn incremental_append_and_changelog_scans() {
    let mut f = table();
    let a = add(&mut f, &[1, 2], "a").await;
    let a_path = a.file_path.clone();
    let s1 = f.commit(Operation::Append, vec![a], &[]).await;
    let b = add(&mut f, &[3, 4], "b").await;
    let b_path = b.file_path.clone();
    let s2 = f.commit(Operation::Append, vec![b], &[]).await;
    // Merge-on-read delete of id 3.
    let pos = f
        .pos_deletes(
            &[(b_path.as_str(), 0)],
            vec![Some(Datum::String("b".into()))],
        )
        .await;
    let s3 = f.commit(Operation::Delete, vec![pos], &[]).await;
    // Copy-on-write overwrite of file a: id 2 removed, id 1 rewritten.
    let c = add(&mut f, &[1], "a").await;
    let s4 = f
        .commit(Operation::Overwrite, vec![c], &[a_path.as_str()])
        .await;
    let e = add(&mut f, &[5], "a").await;
    let s5 = f.commit(Operation::Append, vec![e], &[]).await;

    let inc = f.scan().appends_between(Some(s1), None).unwrap();
    assert_eq!(inc.snapshots().len(), 4);
    assert_eq!(
        sorted_longs(&inc.to_arrow().await.unwrap(), "id"),
        [3, 4, 5]
    );
    let inc = f.scan().appends_between(None, Some(s2)).unwrap();
    assert_eq!(
        sorted_longs(&inc.to_arrow().await.unwrap(), "id"),
        [1, 2, 3, 4]
    );
    let inc = f
        .scan()
        .filter(Reference::new("id").greater_than(Datum::Long(4)))
        .appends_between(Some(s1), Some(s5))
        .unwrap();
    assert_eq!(inc.plan_files().await.unwrap().len(), 1);

    let log = f
        .scan()
        .select(["id"])
        .changelog_between(Some(s1), None)
        .unwrap();
    let out = log.to_arrow().await.unwrap();
    let mut changes: Vec<(i32, String, i64, i64)> = Vec::new();
    for b in &out {
        let ty = b.column_by_name("_change_type").unwrap();
        let ty = ty.as_any().downcast_ref::<StringArray>().unwrap();
        let ord = b.column_by_name("_change_ordinal").unwrap();
        let ord = ord.as_any().downcast_ref::<Int32Array>().unwrap();
        let snap = b.column_by_name("_commit_snapshot_id").unwrap();
        let snap = snap.as_any().downcast_ref::<Int64Array>().unwrap();
        let id = b.column_by_name("id").unwrap();
        let id = id.as_any().downcast_ref::<Int64Array>().unwrap();
        for i in 0..b.num_rows() {
            changes.push((
                ord.value(i),
                ty.value(i).to_string(),
                snap.value(i),
                id.value(i),
            ));
        }
    }
    changes.sort();
    let c = |o: i32, t: ChangeType, s: i64, id: i64| (o, t.as_str().to_string(), s, id);
    assert_eq!(
        changes,
        [
            c(0, ChangeType::Insert, s2, 3),
            c(0, ChangeType::Insert, s2, 4),
            c(1, ChangeType::Delete, s3, 3),
            c(2, ChangeType::Delete, s4, 1),
            c(2, ChangeType::Delete, s4, 2),
            c(2, ChangeType::Insert, s4, 1),
            c(3, ChangeType::Insert, s5, 5),
        ]
    );

    let e = f.scan().changelog_between(Some(s5), Some(s2)).unwrap_err();
    assert!(e.to_string().contains("not an ancestor"), "{e}");
    let e = f.scan().appends_between(Some(99), None).unwrap_err();
    assert!(e.to_string().contains("99"), "{e}");
}
