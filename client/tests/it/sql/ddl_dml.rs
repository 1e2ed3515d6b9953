//! Writes: INSERT, CREATE TABLE [AS SELECT], DROP TABLE, DELETE and UPDATE on
//! partitioned and unpartitioned tables, against rows computed in the test.

use super::common::*;

async fn check_insert_delete_update(partitioned: bool) {
    let fx = Fixture::new().await;
    let mut data = rows(600);
    create_and_fill(&fx, "db.t", partitioned, &data, 3).await;
    assert_eq!(
        fx.snapshot_count("db", "t").await,
        3,
        "one snapshot per INSERT"
    );

    // INSERT … SELECT from the table itself.
    let n = scalar_i64(
        &fx.run("INSERT INTO db.t SELECT id + 1000, region, amount, day FROM db.t WHERE id < 50")
            .await,
    );
    assert_eq!(n, 50);
    let extra: Vec<Row> = data
        .iter()
        .filter(|r| r.id < 50)
        .map(|r| Row {
            id: r.id + 1000,
            ..r.clone()
        })
        .collect();
    data.extend(extra);
    data.sort_by_key(|r| r.id);
    assert_eq!(to_rows(&fx.run("SELECT * FROM db.t").await), data);

    // DELETE with a pushed-down predicate and one that is not.
    let n = scalar_i64(
        &fx.run("DELETE FROM db.t WHERE region = 'eu' AND id < 300")
            .await,
    );
    let before = data.len();
    data.retain(|r| !(r.region == "eu" && r.id < 300));
    assert_eq!(n as usize, before - data.len());
    let n = scalar_i64(&fx.run("DELETE FROM db.t WHERE id % 7 = 1").await);
    let before = data.len();
    data.retain(|r| r.id % 7 != 1);
    assert_eq!(n as usize, before - data.len());
    assert_eq!(to_rows(&fx.run("SELECT * FROM db.t").await), data);

    // UPDATE, moving rows between partitions too.
    let n = scalar_i64(
        &fx.run(
            "UPDATE db.t SET amount = amount + 1000, region = 'moved' WHERE day = 2 AND id > 100",
        )
        .await,
    );
    let mut changed = 0;
    for r in &mut data {
        if r.day == 2 && r.id > 100 {
            r.amount += 1000.0;
            r.region = "moved".into();
            changed += 1;
        }
    }
    assert_eq!(n, changed);
    assert_eq!(to_rows(&fx.run("SELECT * FROM db.t").await), data);

    // A DELETE matching nothing commits nothing.
    let snaps = fx.snapshot_count("db", "t").await;
    assert_eq!(
        scalar_i64(&fx.run("DELETE FROM db.t WHERE id > 1000000").await),
        0
    );
    assert_eq!(fx.snapshot_count("db", "t").await, snaps);

    // DELETE without WHERE empties the table.
    fx.run("DELETE FROM db.t").await;
    assert_eq!(scalar_i64(&fx.run("SELECT count(*) FROM db.t").await), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_delete_update_unpartitioned() {
    check_insert_delete_update(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insert_delete_update_partitioned() {
    check_insert_delete_update(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_with_subquery_deletes_exactly_the_matching_rows() {
    for partitioned in [false, true] {
        let fx = Fixture::new().await;
        let mut data = rows(400);
        create_and_fill(&fx, "db.t", partitioned, &data, 2).await;
        fx.run("CREATE TABLE db.bad (id BIGINT)").await;
        fx.run("INSERT INTO db.bad VALUES (3), (10), (399), (12345)")
            .await;
        let n = scalar_i64(
            &fx.run("DELETE FROM db.t WHERE id IN (SELECT id FROM db.bad)")
                .await,
        );
        assert_eq!(n, 3);
        data.retain(|r| ![3, 10, 399].contains(&r.id));
        assert_eq!(to_rows(&fx.run("SELECT * FROM db.t").await), data);

        // Combined with another predicate, and NOT IN.
        let n = scalar_i64(
            &fx.run("DELETE FROM db.t WHERE region = 'us' AND id NOT IN (SELECT id FROM db.bad WHERE id > 100)")
                .await,
        );
        let before = data.len();
        data.retain(|r| r.region != "us");
        assert_eq!(n as usize, before - data.len());
        assert_eq!(to_rows(&fx.run("SELECT * FROM db.t").await), data);

        // UPDATE with a subquery.
        fx.run("UPDATE db.t SET day = 99 WHERE id IN (SELECT id + 1 FROM db.bad)")
            .await;
        for r in &mut data {
            if [4, 11, 400, 12346].contains(&r.id) {
                r.day = 99;
            }
        }
        assert_eq!(to_rows(&fx.run("SELECT * FROM db.t").await), data);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_table_as_select_and_drop() {
    let fx = Fixture::new().await;
    let data = rows(300);
    create_and_fill(&fx, "db.src", false, &data, 1).await;
    let n = scalar_i64(
        &fx.run(
            "CREATE TABLE db.copy PARTITION BY (day) AS SELECT * FROM db.src WHERE amount < 50",
        )
        .await,
    );
    let want: Vec<Row> = data.iter().filter(|r| r.amount < 50.0).cloned().collect();
    assert_eq!(n as usize, want.len());
    assert_eq!(to_rows(&fx.run("SELECT * FROM db.copy").await), want);
    let t = fx.table("db", "copy").await;
    assert_eq!(t.spec().fields.len(), 1);
    assert!(t.schema().field_by_name("id").unwrap().required);

    // IF NOT EXISTS on an existing table is a no-op; without it an error.
    fx.run("CREATE TABLE IF NOT EXISTS db.copy (x INT)").await;
    let e = fx
        .session
        .query("CREATE TABLE db.copy (x INT)")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");

    // Transforms and properties.
    fx.run(
        "CREATE TABLE other.events (id BIGINT, ts TIMESTAMP, name VARCHAR) \
         WITH ('write.target-file-size-bytes' = '1048576') \
         PARTITION BY (day(ts), bucket(4, id), truncate(2, name))",
    )
    .await;
    fx.run(
        "INSERT INTO other.events VALUES (1, TIMESTAMP '2026-01-02 10:00:00', 'alpha'), \
         (2, TIMESTAMP '2026-01-03 11:00:00', 'beta')",
    )
    .await;
    let got = fx
        .run("SELECT id, CAST(ts AS VARCHAR) FROM other.events WHERE ts >= TIMESTAMP '2026-01-03 00:00:00'")
        .await;
    assert_eq!(column_strings(&got, 0), ["2"]);
    let events = fx.table("other", "events").await;
    assert_eq!(events.spec().fields.len(), 3);
    assert_eq!(
        events
            .properties()
            .get("write.target-file-size-bytes")
            .map(String::as_str),
        Some("1048576")
    );

    fx.run("DROP TABLE db.copy").await;
    let e = fx.session.query("SELECT * FROM db.copy").await.unwrap_err();
    assert!(e.to_string().contains("copy"), "{e}");
    fx.run("DROP TABLE IF EXISTS db.copy").await;
    let e = fx.session.query("DROP TABLE db.copy").await.unwrap_err();
    assert!(e.to_string().contains("not found"), "{e}");
}

/// `(data files, position delete files)` of the current snapshot.
async fn file_counts(fx: &Fixture) -> (i64, i64) {
    let data = scalar_i64(
        &fx.run("SELECT count(*) FROM db.t$files WHERE content = 0")
            .await,
    );
    let deletes = scalar_i64(
        &fx.run("SELECT count(*) FROM db.t$files WHERE content = 1")
            .await,
    );
    (data, deletes)
}

async fn check_merge_on_read(partitioned: bool) {
    let fx = Fixture::new().await;
    let mut data = rows(600);
    create_and_fill(&fx, "db.t", partitioned, &data, 3).await;
    let mut tx = fx.table("db", "t").await.new_transaction();
    tx.set_properties([("write.delete.mode", "merge-on-read")]);
    tx.commit().await.unwrap();
    let (data_files, deletes) = file_counts(&fx).await;
    assert_eq!(deletes, 0);
    let original = column_strings(&fx.run("SELECT file_path FROM db.t$files").await, 0);

    // UPDATE: the old rows are position-deleted, the new rows are new data files; no
    // data file is rewritten.
    let n = scalar_i64(
        &fx.run(
            "UPDATE db.t SET amount = amount + 1000, region = 'moved' WHERE day = 2 AND id > 100",
        )
        .await,
    );
    let mut changed = 0;
    for r in &mut data {
        if r.day == 2 && r.id > 100 {
            r.amount += 1000.0;
            r.region = "moved".into();
            changed += 1;
        }
    }
    assert_eq!(n, changed);
    let (after_data, after_deletes) = file_counts(&fx).await;
    assert!(after_deletes > 0, "position delete files were written");
    assert!(after_data > data_files, "the updated rows are new files");
    let old_paths = scalar_i64(
        &fx.run("SELECT count(*) FROM db.t$files WHERE content = 0 AND record_count > 0")
            .await,
    );
    assert_eq!(old_paths, after_data);
    assert_eq!(to_rows(&fx.run("SELECT * FROM db.t").await), data);
    assert_eq!(
        scalar_i64(
            &fx.run("SELECT count(*) FROM db.t WHERE region = 'moved'")
                .await
        ),
        changed
    );

    // A DELETE touching only the UPDATE's new files (unpartitioned, the UPDATE's own
    // delete files already apply to them): more position deletes, no rewrite.
    let n = scalar_i64(
        &fx.run("DELETE FROM db.t WHERE region = 'moved' AND id % 2 = 0")
            .await,
    );
    let before = data.len();
    data.retain(|r| !(r.region == "moved" && r.id % 2 == 0));
    assert_eq!(n as usize, before - data.len());
    let (d2, del2) = file_counts(&fx).await;
    assert_eq!(d2, after_data, "no data file rewritten");
    assert!(del2 > after_deletes);
    assert_eq!(to_rows(&fx.run("SELECT * FROM db.t").await), data);

    // Files that already have deletes get more: positions count every row of the file,
    // deleted or not. Rows deleted before are not counted again.
    let n = scalar_i64(&fx.run("DELETE FROM db.t WHERE id % 7 = 1").await);
    let before = data.len();
    data.retain(|r| r.id % 7 != 1);
    assert_eq!(n as usize, before - data.len());
    assert_eq!(to_rows(&fx.run("SELECT * FROM db.t").await), data);
    let n = scalar_i64(
        &fx.run("UPDATE db.t SET amount = amount * 2 WHERE id % 5 = 0")
            .await,
    );
    let mut changed = 0;
    for r in &mut data {
        if r.id % 5 == 0 {
            r.amount *= 2.0;
            changed += 1;
        }
    }
    assert_eq!(n, changed);
    assert_eq!(to_rows(&fx.run("SELECT * FROM db.t").await), data);
    let n = scalar_i64(
        &fx.run("DELETE FROM db.t WHERE id IN (SELECT id FROM db.t WHERE amount > 50 AND day = 3)")
            .await,
    );
    let before = data.len();
    data.retain(|r| !(r.amount > 50.0 && r.day == 3));
    assert_eq!(n as usize, before - data.len());
    assert_eq!(to_rows(&fx.run("SELECT * FROM db.t").await), data);
    assert_eq!(
        scalar_i64(&fx.run("SELECT count(*) FROM db.t").await) as usize,
        data.len()
    );
    let (d3, _) = file_counts(&fx).await;
    assert!(d3 >= data_files, "merge-on-read rewrote no data file");
    let old_files_kept = scalar_i64(
        &fx.run(&format!(
            "SELECT count(*) FROM db.t$files WHERE content = 0 AND file_path IN ({})",
            original
                .iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .await,
    );
    assert_eq!(
        old_files_kept as usize,
        original.len(),
        "every original data file is still live"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_on_read_unpartitioned() {
    check_merge_on_read(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_on_read_partitioned() {
    check_merge_on_read(true).await;
}
