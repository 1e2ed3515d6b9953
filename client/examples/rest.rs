//! Floe over HTTP: connect to `floe serve` (or any Iceberg REST catalog), list what is
//! there and read a table's newest rows.
//!
//! ```text
//! floe serve &                                   # http://127.0.0.1:8181
//! cargo run -p floe-client --example rest -- http://127.0.0.1:8181 [namespace.table]
//! ```
//!
//! Set `FLOE_TOKEN` for a static bearer token, or `FLOE_CREDENTIAL=id:secret` for OAuth2
//! client credentials.

use arrow::array::RecordBatch;
use floe_client::Floe;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8181".to_owned());
    let mut builder = Floe::builder(&uri);
    if let Ok(token) = std::env::var("FLOE_TOKEN") {
        builder = builder.token(token);
    }
    if let Ok(credential) = std::env::var("FLOE_CREDENTIAL") {
        builder = builder.property("credential", credential);
    }
    let floe = builder.connect().await?;
    for ns in floe.list_namespaces(None).await? {
        for table in floe.list_tables(&ns.to_string()).await? {
            println!("{table}");
        }
    }
    if let Some(name) = std::env::args().nth(2) {
        let table = floe.table(&name).await?;
        let batches = table.scan().build()?.to_arrow().await?;
        let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
        println!(
            "{name}: {rows} rows, {} snapshots",
            table.metadata().snapshots().len()
        );
    }
    Ok(())
}
