//! Commit outcomes injected by a catalog wrapper: lost races are retried with a new
//! manifest list and the lost attempts' files are cleaned up; `CommitStateUnknown` is
//! neither retried nor cleaned up; other failures clean up everything the transaction
//! wrote.

use std::sync::Arc;

use floe_table::{ErrorKind, Table};

use super::live_records;
use crate::common::{Env, Fault, FaultyCatalog, batch};

/// Table `t` with rows 0..5, through a catalog whose next commits meet `faults`.
async fn faulty(env: &Env, faults: Vec<Fault>) -> (Table, Arc<FaultyCatalog>) {
    let plain = env.create("t", false, &[]).await;
    plain.append(vec![batch(&plain, 0..5, "a")]).await.unwrap();
    let catalog = FaultyCatalog::new(env.catalog.clone());
    for fault in faults {
        catalog.arm(fault);
    }
    (catalog.table(&Env::ident("t")).await, catalog)
}

/// Files under the table folder (`data` and `metadata`), relative names.
fn files(t: &Table) -> Vec<String> {
    fn walk(p: &std::path::Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    let root = t.location().trim_start_matches("file://").to_string();
    let mut out = Vec::new();
    walk(std::path::Path::new(&root), &mut out);
    out.sort();
    out
}

fn avro_and_parquet(files: &[String]) -> Vec<&String> {
    files
        .iter()
        .filter(|f| {
            std::path::Path::new(f)
                .extension()
                .is_some_and(|e| e == "avro" || e == "parquet")
        })
        .collect()
}

#[tokio::test]
async fn lost_races_are_retried_and_their_files_cleaned_up() {
    let env = Env::sqlite().await;
    let fails = vec![
        Fault::Fail(ErrorKind::CommitFailed),
        Fault::Fail(ErrorKind::CommitFailed),
    ];
    let (t, catalog) = faulty(&env, fails).await;
    let before = files(&t);
    let t = t.append(vec![batch(&t, 5..8, "a")]).await.unwrap();
    assert_eq!(catalog.commits(), 3);
    let head = t.current_snapshot().unwrap();
    assert!(
        head.manifest_list
            .contains(&format!("snap-{}-3-", head.snapshot_id)),
        "{}",
        head.manifest_list
    );
    let after = files(&t);
    let new: Vec<&String> = after.iter().filter(|f| !before.contains(f)).collect();
    // One data file, one manifest, one manifest list (+ the metadata JSON).
    assert_eq!(
        avro_and_parquet(&after).len() - avro_and_parquet(&before).len(),
        3,
        "{new:?}"
    );
    assert_eq!(live_records(&t).await, 8);
}

#[tokio::test]
async fn commit_state_unknown_is_not_retried_nor_cleaned_up() {
    // The fault, and the rows the table holds after it.
    for (fault, expected) in [
        (Fault::Fail(ErrorKind::CommitStateUnknown), 5),
        (Fault::Unknown { commit: true }, 8),
    ] {
        let env = Env::sqlite().await;
        let (t, catalog) = faulty(&env, vec![fault]).await;
        let before = avro_and_parquet(&files(&t)).len();
        let err = t.append(vec![batch(&t, 5..8, "a")]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CommitStateUnknown, "{err}");
        assert_eq!(catalog.commits(), 1, "no retry");
        assert_eq!(
            avro_and_parquet(&files(&t)).len(),
            before + 3,
            "the files may be committed: kept"
        );
        let mut check = env.load("t").await;
        check.refresh().await.unwrap();
        assert_eq!(live_records(&check).await, expected);
    }
}

#[tokio::test]
async fn other_failures_clean_up_everything_written() {
    let env = Env::sqlite().await;
    let (t, _) = faulty(&env, vec![Fault::Fail(ErrorKind::Io)]).await;
    let before = files(&t);
    let err = t.append(vec![batch(&t, 5..8, "a")]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(files(&t), before, "data file, manifest and list deleted");
}
