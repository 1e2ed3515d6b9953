//! Files decoded in parallel (one Tokio task per open file): the rows come out in the
//! same order as decoding one file at a time, with deletes and the residual filter
//! applied, and a file that cannot be read fails the scan with its name.

use arrow::array::RecordBatch;
use floe_spec::expr::Reference;
use floe_spec::snapshot::Operation;
use floe_spec::values::Datum;
use floe_table::scan::ArrowReaderBuilder;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;

use super::fixture::{Fixture, longs};
use super::{rows, table};

/// 12 files of 1,000 rows, 4 row groups each, in 3 partitions, and a position delete.
async fn many_files() -> Fixture {
    let mut f = table();
    let mut files = Vec::new();
    for k in 0..12i64 {
        let ids: Vec<i64> = (k * 1000..(k + 1) * 1000).collect();
        let cat = ["a", "b", "c"][(k % 3) as usize];
        let b = rows(&f, &ids, cat);
        files.push(
            f.data_file(&b, vec![Some(Datum::String(cat.into()))], Some(250))
                .await,
        );
    }
    let first = files[0].file_path.clone();
    f.commit(Operation::Append, files, &[]).await;
    let del = f
        .pos_deletes(
            &[(first.as_str(), 3), (first.as_str(), 700)],
            vec![Some(Datum::String("a".into()))],
        )
        .await;
    f.commit(Operation::Delete, vec![del], &[]).await;
    f
}

async fn read(f: &Fixture, parallel: bool, filter: bool) -> floe_table::Result<Vec<RecordBatch>> {
    let mut scan = f.scan().with_batch_size(300);
    if filter {
        scan = scan.filter(Reference::new("x").greater_than_or_eq(Datum::Double(2_500.0)));
    }
    let scan = scan.build()?;
    let tasks = scan.plan_files().await?;
    let reader = ArrowReaderBuilder::new(f.io.clone())
        .with_table_metadata(&f.metadata)?
        .with_concurrency(4)
        .with_batch_size(Some(300))
        .with_parallel_decode(parallel)
        .build();
    reader.read(tasks).try_collect().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_decoding_keeps_the_sequential_order() {
    let f = many_files().await;
    for filter in [false, true] {
        let seq = read(&f, false, filter).await.unwrap();
        let par = read(&f, true, filter).await.unwrap();
        let (s, p) = (longs(&seq, "id"), longs(&par, "id"));
        assert_eq!(s, p, "filter {filter}");
        assert_eq!(
            seq.iter().map(RecordBatch::num_rows).collect::<Vec<_>>(),
            par.iter().map(RecordBatch::num_rows).collect::<Vec<_>>()
        );
        let expected = if filter { 12_000 - 2_500 } else { 12_000 - 2 };
        assert_eq!(p.len(), expected, "filter {filter}");
        // The scan's own reader (parallel by default) gives the same rows.
        let mut b = f.scan();
        if filter {
            b = b.filter(Reference::new("x").greater_than_or_eq(Datum::Double(2_500.0)));
        }
        let all = b.build().unwrap().to_arrow().await.unwrap();
        let mut a = longs(&all, "id");
        let mut sorted = s.clone();
        a.sort();
        sorted.sort();
        assert_eq!(a, sorted);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_file_fails_the_parallel_scan_naming_it() {
    let f = many_files().await;
    let tasks = f.scan().build().unwrap().plan_files().await.unwrap();
    let gone = tasks[5].data_file.file_path.clone();
    f.store
        .delete(&Path::parse(gone.trim_start_matches("memory://bucket/")).unwrap())
        .await
        .unwrap();
    let e = read(&f, true, false).await.unwrap_err();
    assert!(
        e.to_string().contains(gone.rsplit('/').next().unwrap()),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dropping_a_parallel_scan_early_stops_it() {
    let f = many_files().await;
    let tasks = f.scan().build().unwrap().plan_files().await.unwrap();
    let reader = ArrowReaderBuilder::new(f.io.clone())
        .with_concurrency(8)
        .with_batch_size(Some(100))
        .build();
    let mut stream = reader.read(tasks);
    let first = stream.try_next().await.unwrap().unwrap();
    // The first 100 rows of the first file, one of them deleted.
    assert_eq!(first.num_rows(), 99);
    drop(stream);
    // The runtime is not left with work: a new scan still reads everything.
    let again = read(&f, true, false).await.unwrap();
    assert_eq!(
        again.iter().map(RecordBatch::num_rows).sum::<usize>(),
        11_998
    );
}
