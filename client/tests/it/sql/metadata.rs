//! Metadata tables and time travel.

use super::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_tables_describe_the_table() {
    let fx = Fixture::new().await;
    let data = rows(200);
    create_and_fill(&fx, "db.t", true, &data, 2).await;
    fx.run("DELETE FROM db.t WHERE region = 'eu'").await;
    let table = fx.table("db", "t").await;
    let md = table.metadata();

    let snaps = fx
        .run("SELECT snapshot_id, parent_id, operation FROM db.t$snapshots ORDER BY committed_at")
        .await;
    let ids = column_strings(&snaps, 0);
    assert_eq!(ids.len(), md.snapshots().len());
    assert_eq!(
        ids.last().unwrap(),
        &md.current_snapshot_id().unwrap().to_string()
    );
    assert_eq!(column_strings(&snaps, 2)[..2], ["append", "append"]);

    let history = fx
        .run("SELECT snapshot_id, is_current_ancestor FROM db.t$history")
        .await;
    assert_eq!(column_strings(&history, 0).len(), md.snapshot_log().len());
    assert!(column_strings(&history, 1).iter().all(|v| v == "true"));

    // Files: every live data file, partition paths, row counts adding up.
    let live = table.live_entries(None).await.unwrap();
    let files = fx
        .run("SELECT file_path, partition, record_count FROM db.t$files ORDER BY file_path")
        .await;
    let mut want: Vec<String> = live.iter().map(|e| e.data_file.file_path.clone()).collect();
    want.sort();
    assert_eq!(column_strings(&files, 0), want);
    assert!(
        column_strings(&files, 1)
            .iter()
            .all(|p| p.starts_with("region=") && p != "region=eu")
    );
    let remaining = data.iter().filter(|r| r.region != "eu").count() as i64;
    assert_eq!(
        scalar_i64(&fx.run("SELECT sum(record_count) FROM db.t$files").await),
        remaining
    );

    let parts = fx
        .run("SELECT partition, record_count FROM db.t$partitions ORDER BY partition")
        .await;
    assert_eq!(
        column_strings(&parts, 0),
        ["region=apac", "region=latam", "region=us"]
    );
    for (p, c) in column_strings(&parts, 0)
        .iter()
        .zip(column_strings(&parts, 1))
    {
        let region = p.trim_start_matches("region=");
        let n = data.iter().filter(|r| r.region == region).count();
        assert_eq!(c, n.to_string(), "{p}");
    }

    let manifests = fx.run("SELECT path FROM db.t$manifests").await;
    assert_eq!(
        column_strings(&manifests, 0).len(),
        table.manifests(None).await.unwrap().len()
    );

    let refs = fx
        .run("SELECT name, type, snapshot_id FROM db.t$refs")
        .await;
    assert_eq!(column_strings(&refs, 0), ["main"]);
    assert_eq!(column_strings(&refs, 1), ["BRANCH"]);

    let e = fx
        .session
        .query("SELECT * FROM db.t$nope")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("$snapshots"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_travel_by_snapshot_id_and_timestamp() {
    let fx = Fixture::new().await;
    let data = rows(300);
    create_and_fill(&fx, "db.t", false, &data[..100], 1).await;
    let first = fx.table("db", "t").await;
    let first_id = first.current_snapshot().unwrap().snapshot_id;
    let first_ts = first.current_snapshot().unwrap().timestamp_ms;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    fx.run(&format!("INSERT INTO db.t VALUES {}", values(&data[100..])))
        .await;
    fx.run("DELETE FROM db.t WHERE id < 10").await;

    let got = to_rows(
        &fx.run(&format!("SELECT * FROM snapshot('db.t', {first_id})"))
            .await,
    );
    assert_eq!(got, data[..100].to_vec());
    let n = scalar_i64(
        &fx.run(&format!(
            "SELECT count(*) FROM as_of('db.t', {})",
            first_ts + 5
        ))
        .await,
    );
    assert_eq!(n, 100);
    let iso = chrono::DateTime::from_timestamp_millis(first_ts + 5)
        .unwrap()
        .format("%Y-%m-%d %H:%M:%S%.3f")
        .to_string();
    let n = scalar_i64(
        &fx.run(&format!("SELECT count(*) FROM as_of('db.t', '{iso}')"))
            .await,
    );
    assert_eq!(n, 100);
    assert_eq!(scalar_i64(&fx.run("SELECT count(*) FROM db.t").await), 290);

    let e = fx
        .session
        .query("SELECT * FROM snapshot('db.t', 1)")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no snapshot 1"), "{e}");
    let e = fx
        .session
        .query("SELECT * FROM as_of('db.t', '1970-01-01')")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no snapshot at or before"), "{e}");
    let e = fx
        .session
        .query(&format!(
            "INSERT INTO snapshot('db.t', {first_id}) VALUES (1, 'x', 1.0, 1)"
        ))
        .await
        .unwrap_err();
    assert!(!e.to_string().is_empty());
}
