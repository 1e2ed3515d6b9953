//! Reading the table PyIceberg writes (`tests/interop/pyiceberg_write.py`: partitioned,
//! three appends, a copy-on-write delete, schema evolution, one more append) and
//! comparing with the rows PyIceberg reads back.
//!
//! The interpreter is `FLOE_TEST_PYTHON` (set by `scripts/test`); without it the test
//! fails.

use std::sync::Arc;

use arrow::array::{
    Array, BooleanArray, Float64Array, Int32Array, Int64Array, RecordBatch, StringArray,
};
use floe_spec::expr::Reference;
use floe_spec::table_metadata::TableMetadata;
use floe_spec::values::Datum;
use floe_table::scan::{FileRead, ObjectStoreFileRead, TableScanBuilder};
use object_store::local::LocalFileSystem;
use serde_json::Value;

use crate::common::run_python;

fn column<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> &'a T {
    b.column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"))
        .as_any()
        .downcast_ref::<T>()
        .unwrap_or_else(|| {
            panic!(
                "column {name} has type {}",
                b.column_by_name(name).unwrap().data_type()
            )
        })
}

/// `(id, category, quantity, price, active, note)` of every row, as JSON values.
fn rows(batches: &[RecordBatch]) -> Vec<Value> {
    let mut out = Vec::new();
    for b in batches {
        let id = column::<Int64Array>(b, "id");
        let cat = column::<StringArray>(b, "category");
        let qty = column::<Int32Array>(b, "quantity");
        let price = column::<Float64Array>(b, "price");
        let active = column::<BooleanArray>(b, "active");
        let note = column::<StringArray>(b, "note");
        for i in 0..b.num_rows() {
            out.push(serde_json::json!([
                id.value(i),
                (!cat.is_null(i)).then(|| cat.value(i)),
                (!qty.is_null(i)).then(|| qty.value(i)),
                (!price.is_null(i)).then(|| price.value(i)),
                (!active.is_null(i)).then(|| active.value(i)),
                (!note.is_null(i)).then(|| note.value(i)),
            ]));
        }
    }
    out.sort_by_key(|v| v[0].as_i64());
    out
}

fn expected_rows(expected: &Value, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut out: Vec<Value> = expected["final_rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| keep(r))
        .map(|r| {
            serde_json::json!([
                r["id"],
                r["category"],
                r["quantity"],
                r["price"],
                r["active"],
                r["note"]
            ])
        })
        .collect();
    out.sort_by_key(|v| v[0].as_i64());
    out
}

#[tokio::test]
async fn reads_the_table_pyiceberg_wrote() {
    let dir = std::env::temp_dir().join(format!("floe-scan-pyiceberg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let summary = run_python("pyiceberg_write.py", [&dir]);
    let expected: Value =
        serde_json::from_slice(&std::fs::read(summary["expected"].as_str().unwrap()).unwrap())
            .unwrap();

    let io = Arc::new(ObjectStoreFileRead::new(Arc::new(LocalFileSystem::new())));
    let location = summary["metadata_location"].as_str().unwrap();
    let bytes = io.read(location).await.unwrap();
    let metadata = Arc::new(TableMetadata::from_json_slice(&bytes).unwrap());

    let scan = TableScanBuilder::new(Arc::clone(&metadata), io.clone())
        .build()
        .unwrap();
    let got = rows(&scan.to_arrow().await.unwrap());
    assert_eq!(
        got.len() as u64,
        expected["final_row_count"].as_u64().unwrap()
    );
    assert_eq!(got, expected_rows(&expected, |_| true));

    // A filtered read (partition pruning on category, residual on id).
    let scan = TableScanBuilder::new(Arc::clone(&metadata), io.clone())
        .filter(
            Reference::new("category")
                .equal_to(Datum::String("a".into()))
                .and(Reference::new("id").greater_than_or_eq(Datum::Long(50))),
        )
        .build()
        .unwrap();
    let got = rows(&scan.to_arrow().await.unwrap());
    assert_eq!(
        got,
        expected_rows(&expected, |r| r["category"] == "a"
            && r["id"].as_i64() >= Some(50))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
