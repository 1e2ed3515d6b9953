//! The `Floe` facade: append then scan with filters, snapshots and time travel — on an
//! embedded catalog in a temporary folder and through a running server.

use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use floe_client::Floe;
use floe_spec::ErrorKind;
use floe_spec::expr::Reference;
use floe_spec::values::Datum;

use crate::common::Db;
use crate::server::TestServer;

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
    ]))
}

fn batch(ids: &[i64]) -> RecordBatch {
    let names: Vec<String> = ids.iter().map(|i| format!("n{i}")).collect();
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(names)),
        ],
    )
    .unwrap()
}

/// The sorted ids of a scan's batches.
fn ids(batches: &[RecordBatch]) -> Vec<i64> {
    let mut out: Vec<i64> = batches
        .iter()
        .flat_map(|b| {
            let col = b
                .column_by_name("id")
                .unwrap()
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .clone();
            (0..col.len()).map(move |i| col.value(i))
        })
        .collect();
    out.sort_unstable();
    out
}

async fn append_scan_time_travel(floe: &Floe) {
    floe.create_namespace("db").await.unwrap();
    let table = floe.create_table("db.events", &schema()).await.unwrap();
    assert!(table.current_snapshot().is_none());
    let first = table.append(vec![batch(&[1, 2, 3])]).await.unwrap();
    let first_snapshot = first.current_snapshot().unwrap().clone();
    let second = first.append(vec![batch(&[4, 5, 6])]).await.unwrap();

    // A fresh load sees both appends.
    let loaded = floe.table("db.events").await.unwrap();
    assert_eq!(loaded.metadata().snapshots().len(), 2);
    assert_eq!(
        loaded.current_snapshot().map(|s| s.snapshot_id),
        second.current_snapshot().map(|s| s.snapshot_id)
    );
    let all = loaded.scan().build().unwrap().to_arrow().await.unwrap();
    assert_eq!(ids(&all), [1, 2, 3, 4, 5, 6]);

    // Filters and projections.
    let scan = loaded
        .scan()
        .filter(Reference::new("id").greater_than(Datum::Long(4)))
        .select(["id"])
        .build()
        .unwrap();
    let some = scan.to_arrow().await.unwrap();
    assert_eq!(ids(&some), [5, 6]);
    assert!(some.iter().all(|b| b.num_columns() == 1));

    // Time travel: by snapshot id, and by time.
    let then = loaded
        .scan()
        .snapshot_id(first_snapshot.snapshot_id)
        .build()
        .unwrap();
    assert_eq!(ids(&then.to_arrow().await.unwrap()), [1, 2, 3]);
    let then = loaded
        .scan()
        .as_of(first_snapshot.timestamp_ms)
        .build()
        .unwrap();
    assert_eq!(ids(&then.to_arrow().await.unwrap()), [1, 2, 3]);
    assert!(loaded.scan().snapshot_id(424_242).build().is_err());

    assert_eq!(
        floe.list_tables("db").await.unwrap(),
        vec![crate::common::tid(&["db"], "events")]
    );
    let e = floe.table("db.nope").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoSuchTable);
    assert!(floe.table("nodot").await.is_err());
    floe.drop_table("db.events", true).await.unwrap();
    floe.drop_namespace("db").await.unwrap();
    assert!(floe.list_namespaces(None).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let floe = Floe::connect(dir.path().to_str().unwrap()).await.unwrap();
    append_scan_time_travel(&floe).await;
    assert!(dir.path().join("catalog.db").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_sqlite_uri() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!(
        "sqlite://{}?warehouse={}",
        dir.path().join("c.db").display(),
        dir.path().join("wh").display()
    );
    let floe = Floe::connect(&uri).await.unwrap();
    append_scan_time_travel(&floe).await;
    assert!(dir.path().join("wh").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_rest_server() {
    let server = TestServer::start(Db::Sqlite).await;
    let floe = Floe::connect(&server.uri).await.unwrap();
    append_scan_time_travel(&floe).await;
}

#[path = "../../examples/embedded.rs"]
#[allow(dead_code)]
mod embedded_example;

#[test]
fn embedded_example_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().display().to_string();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let first = rt.block_on(embedded_example::run(&path)).unwrap();
    assert!(first.contains("rows with id > 1 now: 2"), "{first}");
    assert!(first.contains(": 2\n"), "{first}");
    // Again on the same folder: the table is found and grows.
    let second = rt.block_on(embedded_example::run(&path)).unwrap();
    assert!(second.contains("rows with id > 1 now: 4"), "{second}");
    assert_eq!(second.matches("snapshot ").count(), 4 + 1, "{second}");
}
