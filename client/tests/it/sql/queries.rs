//! Reads: projection, filter and limit push-down, pruning, statistics, on partitioned
//! and unpartitioned tables, against rows computed in the test.

use super::common::*;

const N: i64 = 2_000;

type RowFilter = Box<dyn Fn(&Row) -> bool>;

async fn check_reads(partitioned: bool) {
    let fx = Fixture::new().await;
    let data = rows(N);
    create_and_fill(&fx, "db.t", partitioned, &data, 8).await;

    // Everything.
    let all = to_rows(&fx.run("SELECT id, region, amount, day FROM db.t").await);
    assert_eq!(all, data);

    // Filters of every push-down shape, each against the same filter in Rust.
    let cases: Vec<(&str, RowFilter)> = vec![
        ("id < 100", Box::new(|r| r.id < 100)),
        (
            "id >= 1500 AND day = 3",
            Box::new(|r| r.id >= 1500 && r.day == 3),
        ),
        ("region = 'eu'", Box::new(|r| r.region == "eu")),
        (
            "region IN ('us', 'apac') AND id BETWEEN 10 AND 400",
            Box::new(|r| (r.region == "us" || r.region == "apac") && (10..=400).contains(&r.id)),
        ),
        ("region <> 'eu'", Box::new(|r| r.region != "eu")),
        (
            "region LIKE 'la%'",
            Box::new(|r| r.region.starts_with("la")),
        ),
        ("amount > 50.0", Box::new(|r| r.amount > 50.0)),
        (
            "id = 7 OR region = 'apac'",
            Box::new(|r| r.id == 7 || r.region == "apac"),
        ),
        (
            "id % 3 = 0 AND id < 300",
            Box::new(|r| r.id % 3 == 0 && r.id < 300),
        ),
    ];
    for (filter, f) in &cases {
        let got = to_rows(
            &fx.run(&format!(
                "SELECT id, region, amount, day FROM db.t WHERE {filter}"
            ))
            .await,
        );
        let want: Vec<Row> = data.iter().filter(|r| f(r)).cloned().collect();
        assert_eq!(got, want, "WHERE {filter}");
        let count = scalar_i64(
            &fx.run(&format!("SELECT count(*) FROM db.t WHERE {filter}"))
                .await,
        );
        assert_eq!(count, want.len() as i64, "count WHERE {filter}");
    }

    // Projection in another order; aggregates.
    let got = fx
        .run("SELECT day, id FROM db.t WHERE id < 3 ORDER BY id")
        .await;
    assert_eq!(column_strings(&got, 0), ["0", "1", "2"]);
    assert_eq!(column_strings(&got, 1), ["0", "1", "2"]);
    let sum: i64 = data.iter().map(|r| r.id).sum();
    assert_eq!(scalar_i64(&fx.run("SELECT sum(id) FROM db.t").await), sum);
    assert_eq!(scalar_i64(&fx.run("SELECT count(*) FROM db.t").await), N);

    // Limit.
    let got = fx.run("SELECT id FROM db.t LIMIT 5").await;
    assert_eq!(
        got.iter()
            .map(arrow::array::RecordBatch::num_rows)
            .sum::<usize>(),
        5
    );
    let got = fx.run("SELECT id FROM db.t WHERE id < 100 LIMIT 7").await;
    let ids = column_strings(&got, 0);
    assert_eq!(ids.len(), 7);
    assert!(ids.iter().all(|i| i.parse::<i64>().unwrap() < 100));

    // Pruning: 8 inserts wrote 8 files per partition value present in each.
    let all_files = fx.files_read("SELECT id FROM db.t").await;
    let some_files = fx.files_read("SELECT id FROM db.t WHERE id < 100").await;
    assert!(
        some_files >= 1 && some_files < all_files,
        "{some_files} of {all_files}"
    );
    if partitioned {
        let eu = fx
            .files_read("SELECT id FROM db.t WHERE region = 'eu'")
            .await;
        assert_eq!(eu * 4, all_files, "one region of four");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_with_pushdown_unpartitioned() {
    check_reads(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_with_pushdown_partitioned() {
    check_reads(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exact_filters_leave_no_filter_above_the_scan() {
    let fx = Fixture::new().await;
    create_and_fill(&fx, "db.t", true, &rows(100), 2).await;
    let plan = |sql: &'static str| {
        let fx = &fx;
        async move {
            let df = fx.session.sql(sql).await.unwrap();
            let p = df.create_physical_plan().await.unwrap();
            datafusion::physical_plan::displayable(p.as_ref())
                .indent(true)
                .to_string()
        }
    };
    let exact = plan("SELECT id FROM db.t WHERE region = 'eu' AND id < 10").await;
    assert!(!exact.contains("FilterExec"), "{exact}");
    let inexact = plan("SELECT id FROM db.t WHERE region <> 'eu'").await;
    assert!(inexact.contains("FilterExec"), "{inexact}");
    let unsupported = plan("SELECT id FROM db.t WHERE id % 2 = 0").await;
    assert!(unsupported.contains("FilterExec"), "{unsupported}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_come_from_the_snapshot() {
    let fx = Fixture::new().await;
    create_and_fill(&fx, "db.t", false, &rows(300), 3).await;
    let table = fx.table("db", "t").await;
    let provider = fx.session.catalog().provider(table).unwrap();
    let stats = datafusion::datasource::TableProvider::statistics(&provider).unwrap();
    assert_eq!(
        stats.num_rows,
        datafusion::common::stats::Precision::Exact(300)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_are_schemas_and_listed() {
    let fx = Fixture::new().await;
    create_and_fill(&fx, "a.t1", false, &rows(3), 1).await;
    create_and_fill(&fx, "b.t2", false, &rows(3), 1).await;
    let got = fx
        .run("SELECT table_schema, table_name FROM information_schema.tables WHERE table_catalog = 'floe' AND table_schema IN ('a', 'b') ORDER BY table_schema")
        .await;
    assert_eq!(column_strings(&got, 1), ["t1", "t2"]);
}
