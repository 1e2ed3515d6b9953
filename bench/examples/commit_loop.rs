//! A loop of catalog commits on one table, for profilers (`perf record`, `strace -c -f`):
//!
//! ```text
//! cargo run --release -p floe-bench --example commit_loop -- DB_URL WAREHOUSE_DIR [COMMITS] [SNAPSHOTS]
//! ```
//!
//! Creates a fresh table in `DB_URL` (`sqlite:///tmp/x.db`, `postgres://...`), grows it to
//! `SNAPSHOTS` snapshots (metadata-only snapshots: no manifest lists are written), then
//! times `COMMITS` set-properties commits on one writer and prints commits/s and the
//! p50/p99 latency.

use std::collections::HashMap;
use std::time::Instant;

use floe_catalog::{Catalog, NamespaceIdent, SqlCatalog, TableCommit, TableCreation};
use floe_spec::commit::{TableRequirement, TableUpdate};
use floe_spec::snapshot::{Operation, Snapshot, SnapshotReference, Summary};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(url), Some(warehouse)) = (args.first(), args.get(1)) else {
        return Err("usage: commit_loop DB_URL WAREHOUSE_DIR [COMMITS] [SNAPSHOTS]".into());
    };
    let commits: usize = args.get(2).map_or(Ok(1000), |s| s.parse())?;
    let snapshots: i64 = args.get(3).map_or(Ok(0), |s| s.parse())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        std::fs::create_dir_all(warehouse)?;
        let catalog = SqlCatalog::connect(url, warehouse).await?;
        let ns = NamespaceIdent::new(["loop"])?;
        if !catalog.namespace_exists(&ns).await? {
            catalog.create_namespace(&ns, HashMap::new()).await?;
        }
        let name = format!("t{}", uuid::Uuid::new_v4().simple());
        let table = catalog
            .create_table(&ns, TableCreation::new(name, floe_bench::data::schema()?))
            .await?;
        let ident = table.ident.clone();
        let start = Instant::now();
        let mut parent = None;
        for id in 1..=snapshots {
            let snapshot = Snapshot {
                snapshot_id: id,
                parent_snapshot_id: parent,
                sequence_number: id,
                timestamp_ms: table.metadata.last_updated_ms() + id,
                manifest_list: format!("{}/metadata/snap-{id}.avro", table.metadata.location()),
                summary: Summary {
                    operation: Operation::Append,
                    additional_properties: HashMap::from([
                        ("added-data-files".to_owned(), "1".to_owned()),
                        ("total-records".to_owned(), (id * 100).to_string()),
                    ]),
                },
                schema_id: Some(0),
                first_row_id: None,
                added_rows: None,
                key_id: None,
            };
            catalog
                .commit_table(TableCommit::new(
                    ident.clone(),
                    vec![],
                    vec![
                        TableUpdate::AddSnapshot { snapshot },
                        TableUpdate::set_snapshot_ref("main", &SnapshotReference::branch(id)),
                    ],
                ))
                .await?;
            parent = Some(id);
        }
        if snapshots > 0 {
            println!(
                "grew to {snapshots} snapshots: {:.3} ms per commit",
                start.elapsed().as_secs_f64() * 1e3 / snapshots as f64
            );
        }
        let mut latencies = Vec::with_capacity(commits);
        let start = Instant::now();
        for i in 0..commits {
            let t = Instant::now();
            catalog
                .commit_table(TableCommit::new(
                    ident.clone(),
                    vec![TableRequirement::AssertTableUuid {
                        uuid: table.metadata.table_uuid(),
                    }],
                    vec![TableUpdate::SetProperties {
                        updates: HashMap::from([("k".to_owned(), format!("v{i}"))]),
                    }],
                ))
                .await?;
            latencies.push(t.elapsed().as_secs_f64());
        }
        let wall = start.elapsed().as_secs_f64();
        latencies.sort_by(f64::total_cmp);
        let q = |p: f64| latencies[((latencies.len() - 1) as f64 * p) as usize] * 1e3;
        println!(
            "{commits} set-properties commits: {:.0} commits/s, p50 {:.3} ms, p99 {:.3} ms",
            commits as f64 / wall,
            q(0.5),
            q(0.99)
        );
        catalog.close().await;
        Ok(())
    })
}
