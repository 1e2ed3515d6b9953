//! Floe in one process: an embedded catalog (SQLite and a local warehouse) in a folder,
//! a table, two appends, a filtered scan and a read of the first snapshot.
//!
//! ```text
//! cargo run -p floe-client --example embedded [DATA_DIR]
//! ```
//!
//! Without `DATA_DIR` it works in a temporary folder that is removed at the end.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use floe_client::Floe;
use floe_spec::expr::Reference;
use floe_spec::values::Datum;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let temp = tempfile::tempdir()?;
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| temp.path().display().to_string());
    let summary = run(&dir).await?;
    println!("{summary}");
    Ok(())
}

/// Runs the tour on the data folder `dir`; returns what it saw.
pub async fn run(dir: &str) -> Result<String, Box<dyn std::error::Error>> {
    let mut out = String::new();
    let floe = Floe::connect(dir).await?;

    if floe.list_namespaces(None).await?.is_empty() {
        floe.create_namespace("shop").await?;
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("item", DataType::Utf8, true),
    ]));
    let table = match floe.table("shop.orders").await {
        Ok(t) => t,
        Err(_) => floe.create_table("shop.orders", &schema).await?,
    };

    let batch = |ids: Vec<i64>, items: Vec<&str>| {
        RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(StringArray::from(items)),
            ],
        )
    };
    let table = table
        .append(vec![batch(vec![1, 2], vec!["apple", "pear"])?])
        .await?;
    let first = table
        .current_snapshot()
        .map(|s| s.snapshot_id)
        .ok_or("no snapshot after an append")?;
    let table = table.append(vec![batch(vec![3], vec!["fig"])?]).await?;

    let big = table
        .scan()
        .filter(Reference::new("id").greater_than(Datum::Long(1)))
        .build()?
        .to_arrow()
        .await?;
    let rows: usize = big.iter().map(RecordBatch::num_rows).sum();
    writeln!(out, "rows with id > 1 now: {rows}")?;

    let then = table.scan().snapshot_id(first).build()?.to_arrow().await?;
    let rows: usize = then.iter().map(RecordBatch::num_rows).sum();
    writeln!(out, "rows in snapshot {first}: {rows}")?;
    for s in table.history() {
        writeln!(out, "snapshot {} at {} ms", s.snapshot_id, s.timestamp_ms)?;
    }
    Ok(out)
}
