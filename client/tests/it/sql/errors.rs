//! Bad input: a clear error naming the problem, nothing committed.

use super::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_statements_fail_clearly_and_commit_nothing() {
    let fx = Fixture::new().await;
    create_and_fill(&fx, "db.t", true, &rows(50), 1).await;
    let snaps = fx.snapshot_count("db", "t").await;
    let cases = [
        ("SELEC * FROM db.t", "SELEC"),
        ("SELECT * FROM db.missing", "missing"),
        ("SELECT nope FROM db.t", "nope"),
        ("INSERT INTO db.t VALUES ('abc', 'eu', 1.0, 1)", "abc"),
        ("INSERT INTO db.t VALUES (NULL, 'eu', 1.0, 1)", "id"),
        ("INSERT INTO db.t (id) VALUES (1, 2)", "2"),
        ("DELETE FROM db.t WHERE nope = 1", "nope"),
        ("UPDATE db.t SET nope = 1", "nope"),
        ("UPDATE db.t SET id = 'x' WHERE id = 1", "x"),
        ("CREATE TABLE db.u (a INT) PARTITION BY (b)", "`b`"),
        (
            "CREATE TABLE db.u (a INT) PARTITION BY (frobnicate(a))",
            "frobnicate",
        ),
    ];
    for (sql, needle) in cases {
        let e = fx.session.query(sql).await.expect_err(sql).to_string();
        assert!(e.contains(needle), "{sql}: {e}");
        assert_eq!(fx.snapshot_count("db", "t").await, snaps, "{sql} committed");
    }
    assert_eq!(scalar_i64(&fx.run("SELECT count(*) FROM db.t").await), 50);
    assert!(fx.session.query("SELECT * FROM db.u").await.is_err());

    // A failing CREATE TABLE AS SELECT leaves no table behind.
    let e = fx
        .session
        .query("CREATE TABLE db.v AS SELECT CAST(region AS INT) AS r FROM db.t")
        .await
        .unwrap_err();
    assert!(!e.to_string().is_empty());
    assert!(fx.session.query("SELECT * FROM db.v").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_run_statements_in_order() {
    let fx = Fixture::new().await;
    let out = fx
        .session
        .run_script(
            "CREATE TABLE s.t (a INT); INSERT INTO s.t VALUES (1), (2); SELECT sum(a) FROM s.t",
        )
        .await
        .unwrap();
    assert_eq!(out.len(), 3);
    assert_eq!(scalar_i64(&out[2]), 3);
    assert!(fx.session.sql("SELECT 1; SELECT 2").await.is_err());
}
