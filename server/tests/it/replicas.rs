//! Two server replicas (two routers, each with its own catalog handle and group
//! committer) sharing one PostgreSQL database: 8 stream writers appending through the
//! REST extension (alternating replicas, reopening on the other replica midway) and 4
//! batch writers (appends and overwrites through the table crate) on one table, while a
//! reader checks that every scan is a committed snapshot. Nothing lost, nothing
//! duplicated; the low watermark never goes backwards once every writer reported one.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::array::{Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use floe_catalog::{Catalog, NamespaceIdent, SqlCatalog, TableIdent};
use floe_server::app::{AppState, Settings, router};
use floe_spec::expr::Reference;
use floe_spec::values::Datum;
use floe_table::Table;
use floe_table::writer::{LocationGenerator, PartitionedWriter, WriterContext};
use http_body_util::BodyExt;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::common::create_table_body;

/// A fresh PostgreSQL schema, dropped at the end (the catalog crate's test fixture).
#[path = "../../../catalog/tests/it/pg_schema.rs"]
mod pg_schema;
use pg_schema::PgSchema;

const TABLE: &str = "/v1/namespaces/db/tables/t";
const STREAM_WRITERS: i64 = 8;
const BATCHES: i64 = 12;
const ROWS: i64 = 10;
const BATCH_WRITERS: i64 = 4;

struct Replica {
    app: Router,
    catalog: Arc<SqlCatalog>,
}

impl Replica {
    async fn new(url: &str, warehouse: &str) -> Self {
        let catalog = Arc::new(
            SqlCatalog::builder(url, warehouse)
                .max_connections(4)
                .build()
                .await
                .unwrap(),
        );
        let app = router(AppState::for_sql_catalog(
            Arc::clone(&catalog),
            Settings::default(),
        ));
        Self { app, catalog }
    }

    async fn call(&self, method: Method, uri: &str, body: &Value) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap();
        let response = self.app.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn table(&self) -> Table {
        let ident = TableIdent::new(NamespaceIdent::new(["db"]).unwrap(), "t").unwrap();
        let store = self.catalog.warehouse().store().clone();
        Table::load(self.catalog.clone(), &ident, store)
            .await
            .unwrap()
    }
}

fn rows(ids: &[i64], data: &str) -> RecordBatch {
    RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("data", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from(ids.to_vec())),
            Arc::new(StringArray::from(vec![data; ids.len()])),
        ],
    )
    .unwrap()
}

/// Writes rows as data files of the table; returns their REST JSON.
async fn data_files(table: &Table, ids: &[i64]) -> Vec<Value> {
    let md = table.metadata();
    let schema = md.current_schema();
    let spec = md.default_partition_spec();
    let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new());
    let properties = HashMap::new();
    let context = Arc::new(WriterContext::for_data(schema, &properties, None).unwrap());
    let locations =
        Arc::new(LocationGenerator::for_table(store, md.location(), &properties).unwrap());
    let mut writer = PartitionedWriter::try_new(context, schema, spec, locations).unwrap();
    writer.write(&rows(ids, "stream")).await.unwrap();
    let ptype = spec.partition_type(schema).unwrap();
    writer
        .close()
        .await
        .unwrap()
        .iter()
        .map(|f| f.to_rest_json(spec.spec_id, &ptype))
        .collect()
}

/// `(id, data)` of every row of the table's current snapshot, and the snapshot's
/// total-records.
async fn scan(table: &Table) -> (Vec<(i64, String)>, i64) {
    let Some(snapshot) = table.current_snapshot() else {
        return (Vec::new(), 0);
    };
    let total: i64 = snapshot.summary.additional_properties["total-records"]
        .parse()
        .unwrap();
    let batches = table.scan().build().unwrap().to_arrow().await.unwrap();
    let mut out = Vec::new();
    for b in batches {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let data = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        for i in 0..ids.len() {
            out.push((ids.value(i), data.value(i).to_owned()));
        }
    }
    (out, total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_one_postgres() {
    let pg = PgSchema::new("floe_replicas");
    let dir = tempfile::tempdir().unwrap();
    let warehouse = dir.path().join("wh").display().to_string();
    let replicas = Arc::new([
        Replica::new(pg.url(), &warehouse).await,
        Replica::new(pg.url(), &warehouse).await,
    ]);
    let (s, _) = replicas[0]
        .call(
            Method::POST,
            "/v1/namespaces",
            &json!({"namespace": ["db"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let mut create = create_table_body("t", false);
    create["properties"] = json!({
        "commit.retry.num-retries": "50",
        "commit.retry.min-wait-ms": "1",
        "commit.retry.max-wait-ms": "20",
    });
    let (s, b) = replicas[1]
        .call(Method::POST, "/v1/namespaces/db/tables", &create)
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");

    let done = Arc::new(AtomicBool::new(false));
    // The reader: every scan is a whole committed snapshot; the low watermark never
    // goes backwards once all stream writers reported one.
    let reader = {
        let replicas = Arc::clone(&replicas);
        let done = Arc::clone(&done);
        tokio::spawn(async move {
            let mut low = i64::MIN;
            let mut scans = 0;
            while !done.load(Ordering::Relaxed) {
                let r = &replicas[scans % 2];
                let table = r.table().await;
                let (rows, total) = scan(&table).await;
                assert_eq!(
                    rows.len() as i64,
                    total,
                    "a scan is not a committed snapshot"
                );
                let mut ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
                ids.sort_unstable();
                ids.dedup();
                assert_eq!(ids.len(), rows.len(), "a row is present twice");
                let (s, w) = r
                    .call(Method::GET, &format!("{TABLE}/writers"), &json!({}))
                    .await;
                assert_eq!(s, StatusCode::OK, "{w}");
                let writers = w["writers"].as_array().unwrap();
                let reported = writers
                    .iter()
                    .filter(|x| !x["watermark-ms"].is_null())
                    .count();
                if reported as i64 == STREAM_WRITERS {
                    let now = w["low-watermark-ms"].as_i64().unwrap();
                    assert!(
                        now >= low,
                        "the low watermark went back from {low} to {now}"
                    );
                    low = now;
                }
                scans += 1;
            }
            scans
        })
    };

    let mut tasks = Vec::new();
    for w in 0..STREAM_WRITERS {
        let replicas = Arc::clone(&replicas);
        tasks.push(tokio::spawn(async move {
            let id = format!("s{w}");
            let mut replica = (w % 2) as usize;
            let mut epoch = 0;
            let mut seq = 0;
            for b in 0..BATCHES {
                if b == 0 || b == BATCHES / 2 {
                    // (Re)open, the second time on the other replica.
                    if b > 0 {
                        replica = 1 - replica;
                    }
                    let r = &replicas[replica];
                    let (s, opened) = r
                        .call(Method::POST, &format!("{TABLE}/writers/{id}"), &json!({}))
                        .await;
                    assert_eq!(s, StatusCode::OK, "{opened}");
                    epoch = opened["epoch"].as_i64().unwrap();
                    seq = opened["last-seq"].as_i64().unwrap() + 1;
                    assert_eq!(seq, b, "writer {id} resumes at batch {b}");
                }
                let r = &replicas[replica];
                let table = r.table().await;
                let start = (w * BATCHES + b) * ROWS;
                let ids: Vec<i64> = (start..start + ROWS).collect();
                let files = data_files(&table, &ids).await;
                let body = json!({"writer-id": id, "epoch": epoch, "seq": seq,
                    "watermark-ms": 1000 * b + w, "data-files": files});
                let (s, ack) = r
                    .call(Method::POST, &format!("{TABLE}/appends"), &body)
                    .await;
                assert_eq!(s, StatusCode::OK, "{ack}");
                assert_eq!(ack["duplicate"], false);
                seq += 1;
            }
        }));
    }
    for k in 0..BATCH_WRITERS {
        let replicas = Arc::clone(&replicas);
        tasks.push(tokio::spawn(async move {
            let r = &replicas[(k % 2) as usize];
            let base = 1_000_000 + k * 1_000;
            let mine = format!("batch-{k}");
            let ids: Vec<i64> = (base..base + ROWS).collect();
            let table = r.table().await;
            table.append(vec![rows(&ids, &mine)]).await.unwrap();
            for round in 0..3_i64 {
                // Replace this writer's rows (same ids), then append fresh ones.
                let table = r.table().await;
                table
                    .overwrite(
                        Reference::new("data").equal_to(Datum::String(mine.clone())),
                        vec![rows(&ids, &mine)],
                    )
                    .await
                    .unwrap();
                let extra: Vec<i64> =
                    (base + 100 + round * ROWS..base + 100 + (round + 1) * ROWS).collect();
                let table = r.table().await;
                table
                    .append(vec![rows(&extra, &format!("extra-{k}"))])
                    .await
                    .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    done.store(true, Ordering::Relaxed);
    assert!(reader.await.unwrap() > 0);

    let table = replicas[0].table().await;
    let (rows, total) = scan(&table).await;
    assert_eq!(rows.len() as i64, total);
    let mut ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
    ids.sort_unstable();
    let mut expected: Vec<i64> = (0..STREAM_WRITERS * BATCHES * ROWS).collect();
    for k in 0..BATCH_WRITERS {
        let base = 1_000_000 + k * 1_000;
        expected.extend(base..base + ROWS);
        expected.extend(base + 100..base + 100 + 3 * ROWS);
    }
    expected.sort_unstable();
    assert_eq!(ids, expected, "rows lost or duplicated");
    // Every stream writer ended at its last batch, in its second epoch.
    let writers = replicas[1]
        .catalog
        .list_writers(table.ident())
        .await
        .unwrap();
    assert_eq!(writers.len() as i64, STREAM_WRITERS);
    for w in writers {
        assert_eq!((w.epoch, w.last_seq), (2, BATCHES - 1), "{w:?}");
    }
}
