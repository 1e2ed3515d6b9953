//! Concurrent `UPDATE`, `DELETE` and `INSERT` statements on one table, copy-on-write
//! and merge-on-read: each statement either commits whole or fails with a conflict,
//! and the table ends as the successful statements say — no lost update, no row
//! twice, every acknowledged insert once.

use std::collections::HashMap;

use futures::future::join_all;

use super::common::*;

/// What one concurrent statement does.
#[derive(Debug, Clone)]
enum Statement {
    /// `amount + 1` for the rows of a region.
    Bump(&'static str),
    /// Deletes the rows of a region whose id is a multiple of 3.
    DeleteThirds(&'static str),
    /// Inserts one row (region `other`).
    Insert(i64),
}

impl Statement {
    fn sql(&self) -> String {
        match self {
            Self::Bump(r) => format!("UPDATE db.t SET amount = amount + 1 WHERE region = '{r}'"),
            Self::DeleteThirds(r) => {
                format!("DELETE FROM db.t WHERE region = '{r}' AND id % 3 = 0")
            }
            Self::Insert(id) => format!("INSERT INTO db.t VALUES ({id}, 'other', 1.0, 0)"),
        }
    }

    fn region(&self) -> &str {
        match self {
            Self::Bump(r) | Self::DeleteThirds(r) => r,
            Self::Insert(_) => "other",
        }
    }
}

async fn check_concurrent_statements(merge_on_read: bool) {
    let fx = Fixture::new().await;
    let start = rows(400);
    create_and_fill(&fx, "db.t", true, &start, 4).await;
    if merge_on_read {
        let mut tx = fx.table("db", "t").await.new_transaction();
        tx.set_properties([("write.delete.mode", "merge-on-read")]);
        tx.commit().await.unwrap();
    }
    // Two bumps per region, a delete in two regions, four inserts: 14 statements.
    let mut statements = Vec::new();
    for r in REGIONS {
        statements.push(Statement::Bump(r));
        statements.push(Statement::Bump(r));
    }
    statements.push(Statement::DeleteThirds(REGIONS[0]));
    statements.push(Statement::DeleteThirds(REGIONS[1]));
    for k in 0..4 {
        statements.push(Statement::Insert(1000 + k));
    }
    let runs = statements.iter().map(|s| {
        let session = fx.session.clone();
        let sql = s.sql();
        async move {
            tokio::spawn(async move { session.query(&sql).await.map(|_| ()) })
                .await
                .unwrap()
        }
    });
    let outcomes = join_all(runs).await;

    let mut expected = start.clone();
    let mut won_by_region: HashMap<String, usize> = HashMap::new();
    for (s, outcome) in statements.iter().zip(&outcomes) {
        match outcome {
            Ok(()) => {
                *won_by_region.entry(s.region().to_string()).or_default() += 1;
                match s {
                    Statement::Bump(r) => {
                        for row in expected.iter_mut().filter(|row| row.region == *r) {
                            row.amount += 1.0;
                        }
                    }
                    Statement::DeleteThirds(r) => {
                        expected.retain(|row| !(row.region == *r && row.id % 3 == 0));
                    }
                    Statement::Insert(id) => expected.push(Row {
                        id: *id,
                        region: "other".into(),
                        amount: 1.0,
                        day: 0,
                    }),
                }
            }
            Err(e) => {
                assert!(
                    !matches!(s, Statement::Insert(_)),
                    "inserts always commit (appends rebase): {e}"
                );
                assert!(
                    e.to_string().contains("conflicting files"),
                    "{}: not a conflict: {e}",
                    s.sql()
                );
            }
        }
    }
    // The first statement to commit in a region never conflicts.
    for r in REGIONS {
        assert!(
            won_by_region.get(r).copied().unwrap_or(0) >= 1,
            "no statement on region {r} committed: {outcomes:?}"
        );
    }
    expected.sort_by_key(|r| r.id);
    let mut got = to_rows(&fx.run("SELECT * FROM db.t").await);
    got.sort_by_key(|r| r.id);
    assert_eq!(got.len(), expected.len(), "rows lost or duplicated");
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g.id, e.id);
        assert_eq!(g.region, e.region);
        assert_eq!(g.day, e.day);
        assert!((g.amount - e.amount).abs() < 1e-9, "{g:?} vs {e:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_statements_copy_on_write() {
    check_concurrent_statements(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_statements_merge_on_read() {
    check_concurrent_statements(true).await;
}
