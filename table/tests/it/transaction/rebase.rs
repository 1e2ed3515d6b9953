//! Catalog-side rebase of blind appends ([`AppendRebaser`]): commits built against a
//! stale branch head, as an unmodified Iceberg client sends them, are captured by a
//! catalog wrapper that does not commit, then committed through the rebaser after other
//! writers moved the head. Appends land on top of the head with the next sequence
//! number, inherited by their files, and totals from the new parent; anything else
//! stays a `CommitFailed`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use floe_catalog::{Catalog, TableCommit};
use floe_spec::commit::TableUpdate;
use floe_spec::expr::Reference;
use floe_spec::snapshot::Operation;
use floe_spec::table_metadata::FormatVersion;
use floe_spec::values::Datum;
use floe_table::io::FileIO;
use floe_table::transaction::{AppendRebase, AppendRebaser, COMMIT_REBASE_APPENDS, rebase_append};
use floe_table::{ErrorKind, Table};

use super::{live_records, summary};
use crate::common::{Env, FaultyCatalog, batch, scan_ids};

/// The table `name` as of now, through a catalog that captures commits instead of
/// making them.
async fn capturing(env: &Env, name: &str) -> (Table, Arc<FaultyCatalog>) {
    let catalog = FaultyCatalog::capturing(env.catalog.clone());
    (catalog.table(&Env::ident(name)).await, catalog)
}

/// The commit of an append of `ids` (category `cat`) against the head of table `name`
/// as it is now; nothing is committed.
async fn stale_append(env: &Env, name: &str, ids: std::ops::Range<i64>, cat: &str) -> TableCommit {
    let (t, catalog) = capturing(env, name).await;
    t.append(vec![batch(&t, ids, cat)]).await.unwrap();
    let mut captured = catalog.take_captured();
    assert_eq!(captured.len(), 1);
    captured.pop().unwrap()
}

fn rebaser(env: &Env) -> AppendRebaser {
    let io = FileIO::from_warehouse(env.catalog.warehouse()).unwrap();
    AppendRebaser::new(env.catalog.clone(), io)
}

/// Names of the manifest lists written by rebases in the table's metadata folder.
fn rebase_lists(t: &Table) -> Vec<String> {
    let dir = format!("{}/metadata", t.location().trim_start_matches("file://"));
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("-rebase-"))
        .collect();
    out.sort();
    out
}

/// Checks the chain of `main`: parents, strictly growing sequence numbers that every
/// live file inherited from its snapshot, and running totals.
async fn check_chain(t: &Table) {
    let md = t.metadata();
    let chain = t.ancestors(t.current_snapshot().unwrap().snapshot_id);
    assert_eq!(chain.len(), md.snapshots().len(), "one line of history");
    let mut seqs: Vec<i64> = chain.iter().map(|s| s.sequence_number).collect();
    seqs.reverse();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert_eq!(*seqs.last().unwrap(), md.last_sequence_number());
    let by_id: HashMap<i64, i64> = chain
        .iter()
        .map(|s| (s.snapshot_id, s.sequence_number))
        .collect();
    for e in t.live_entries(None).await.unwrap() {
        let added_by = e.snapshot_id.unwrap();
        assert_eq!(e.sequence_number, Some(by_id[&added_by]), "{e:?}");
    }
    for m in t.manifests(None).await.unwrap() {
        assert_eq!(m.sequence_number, by_id[&m.added_snapshot_id]);
    }
    let mut records = 0;
    let mut files = 0;
    for s in chain.iter().rev() {
        let p = &s.summary.additional_properties;
        records += p["added-records"].parse::<i64>().unwrap();
        files += p["added-data-files"].parse::<i64>().unwrap();
        assert_eq!(p["total-records"], records.to_string(), "{p:?}");
        assert_eq!(p["total-data-files"], files.to_string(), "{p:?}");
    }
    assert_eq!(records, live_records(t).await);
}

#[tokio::test]
async fn stale_appends_are_rebased_onto_the_current_head() {
    let env = Env::sqlite().await;
    let t = env.create("t", true, &[]).await;
    t.append(vec![batch(&t, 0..5, "seed")]).await.unwrap();
    let a = stale_append(&env, "t", 10..13, "a").await;
    let b = stale_append(&env, "t", 20..24, "b").await;
    let c = stale_append(&env, "t", 30..35, "a").await;
    let rebaser = rebaser(&env);

    let done = rebaser.commit(vec![a.clone()], None).await.unwrap();
    assert_eq!(done.rebases, 0, "the head had not moved");
    // Without the rebaser, the stale append is refused.
    let err = env.catalog.commit(vec![b.clone()], None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CommitFailed);
    let done = rebaser.commit(vec![b], None).await.unwrap();
    assert_eq!(done.rebases, 1);
    let done = rebaser.commit(vec![c], None).await.unwrap();
    assert_eq!(done.rebases, 1);

    let t = env.load("t").await;
    let mut want: Vec<i64> = (0..5).chain(10..13).chain(20..24).chain(30..35).collect();
    want.sort_unstable();
    assert_eq!(scan_ids(&t).await, want, "every row exactly once");
    assert_eq!(t.metadata().snapshots().len(), 4);
    assert_eq!(t.metadata().last_sequence_number(), 4);
    check_chain(&t).await;
    let head = t.current_snapshot().unwrap();
    assert_eq!(head.summary.operation, Operation::Append);
    assert_eq!(summary(&t, "manifests-kept").as_deref(), Some("3"));
    assert_eq!(summary(&t, "changed-partition-count").as_deref(), Some("1"));
    assert_eq!(summary(&t, "total-files-size"), {
        let size: i64 = t
            .live_entries(None)
            .await
            .unwrap()
            .iter()
            .map(|e| e.data_file.file_size_in_bytes)
            .sum();
        Some(size.to_string())
    });
    // The snapshot-log follows the chain.
    let log: Vec<i64> = t.history().iter().map(|l| l.snapshot_id).collect();
    let mut chain: Vec<i64> = t
        .ancestors(head.snapshot_id)
        .iter()
        .map(|s| s.snapshot_id)
        .collect();
    chain.reverse();
    assert_eq!(log, chain);
    // Two rebased snapshots, two rebase lists: none left over.
    assert_eq!(rebase_lists(&t).len(), 2);
    assert!(head.manifest_list.contains("-rebase-"));
}

#[tokio::test]
async fn a_stale_append_onto_a_table_that_got_its_first_snapshot() {
    let env = Env::sqlite().await;
    env.create("t", false, &[]).await;
    let a = stale_append(&env, "t", 0..3, "a").await;
    let b = stale_append(&env, "t", 3..5, "a").await;
    let rebaser = rebaser(&env);
    rebaser.commit(vec![a], None).await.unwrap();
    assert_eq!(rebaser.commit(vec![b], None).await.unwrap().rebases, 1);
    let t = env.load("t").await;
    assert_eq!(scan_ids(&t).await, (0..5).collect::<Vec<_>>());
    check_chain(&t).await;
}

#[tokio::test]
async fn the_table_property_turns_rebase_off() {
    let env = Env::sqlite().await;
    let t = env
        .create("t", false, &[(COMMIT_REBASE_APPENDS, "false")])
        .await;
    t.append(vec![batch(&t, 0..2, "a")]).await.unwrap();
    let a = stale_append(&env, "t", 10..12, "a").await;
    let b = stale_append(&env, "t", 20..22, "a").await;
    let rebaser = rebaser(&env);
    rebaser.commit(vec![a], None).await.unwrap();
    let err = rebaser.commit(vec![b], None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CommitFailed, "{err}");
    assert!(err.to_string().contains(COMMIT_REBASE_APPENDS), "{err}");
    let t = env.load("t").await;
    assert_eq!(scan_ids(&t).await, vec![0, 1, 10, 11]);
    assert!(rebase_lists(&t).is_empty());
}

#[tokio::test]
async fn other_stale_commits_stay_conflicts() {
    let env = Env::sqlite().await;
    let t = env.create("t", true, &[]).await;
    t.append(vec![batch(&t, 0..4, "a"), batch(&t, 4..8, "b")])
        .await
        .unwrap();
    let rebaser = rebaser(&env);

    // A delete and an overwrite against a stale head.
    let (stale, catalog) = capturing(&env, "t").await;
    stale
        .delete(Reference::new("cat").equal_to(Datum::String("a".into())))
        .await
        .unwrap();
    let delete = catalog.take_captured().pop().unwrap();
    let (stale, catalog) = capturing(&env, "t").await;
    stale
        .overwrite(
            Reference::new("cat").equal_to(Datum::String("b".into())),
            vec![batch(&stale, 40..42, "b")],
        )
        .await
        .unwrap();
    let overwrite = catalog.take_captured().pop().unwrap();
    // An append that also sets a property, and one that also asserts a schema that
    // changed meanwhile.
    let (stale, catalog) = capturing(&env, "t").await;
    let mut tx = stale.new_transaction();
    tx.append_batches(&[batch(&stale, 50..52, "c")])
        .await
        .unwrap();
    tx.set_properties([("owner", "x")]);
    tx.commit().await.unwrap();
    let with_property = catalog.take_captured().pop().unwrap();
    let mut with_schema = stale_append(&env, "t", 60..62, "c").await;
    with_schema
        .requirements
        .push(floe_spec::commit::TableRequirement::AssertCurrentSchemaId {
            current_schema_id: 7,
        });
    let retried = stale_append(&env, "t", 70..72, "c").await;

    // Move the head.
    let mover = stale_append(&env, "t", 100..101, "z").await;
    rebaser.commit(vec![mover], None).await.unwrap();
    rebaser.commit(vec![retried.clone()], None).await.unwrap();

    for (what, commit) in [
        ("delete", delete),
        ("overwrite", overwrite),
        ("append + set-properties", with_property),
        ("append + stale schema", with_schema),
        ("already committed", retried),
    ] {
        let err = rebaser.commit(vec![commit], None).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CommitFailed, "{what}: {err}");
        assert!(
            err.message().contains("Requirement failed"),
            "{what}: {err}"
        );
    }
    let t = env.load("t").await;
    let mut want: Vec<i64> = (0..8).chain(70..72).chain(100..101).collect();
    want.sort_unstable();
    assert_eq!(scan_ids(&t).await, want, "nothing else was committed");
    assert_eq!(rebase_lists(&t).len(), 1, "refused rebases leave no list");
}

#[tokio::test]
async fn rebase_append_explains_refusals() {
    let env = Env::sqlite().await;
    let t = env.create("t", false, &[]).await;
    t.append(vec![batch(&t, 0..2, "a")]).await.unwrap();
    let io = FileIO::from_warehouse(env.catalog.warehouse()).unwrap();
    let stale = stale_append(&env, "t", 2..4, "a").await;
    // The head has not moved: nothing to rebase.
    let current = env.load("t").await.metadata().clone();
    match rebase_append(&io, &current, &stale).await.unwrap() {
        AppendRebase::Refused(why) => assert!(why.contains("has not moved"), "{why}"),
        AppendRebase::Rebased(_) => panic!("rebased although the head did not move"),
    }
    rebaser(&env)
        .commit(vec![stale_append(&env, "t", 9..10, "a").await], None)
        .await
        .unwrap();
    let current = env.load("t").await.metadata().clone();
    // A manifest list outside the table.
    let mut outside = stale.clone();
    if let TableUpdate::AddSnapshot { snapshot } = &mut outside.updates[0] {
        snapshot.manifest_list = "/etc/passwd".into();
    }
    match rebase_append(&io, &current, &outside).await.unwrap() {
        AppendRebase::Refused(why) => assert!(why.contains("outside"), "{why}"),
        AppendRebase::Rebased(_) => panic!("read a list outside the table"),
    }
    // A parent that does not match the asserted head.
    let mut orphan = stale.clone();
    if let TableUpdate::AddSnapshot { snapshot } = &mut orphan.updates[0] {
        snapshot.parent_snapshot_id = Some(42);
    }
    match rebase_append(&io, &current, &orphan).await.unwrap() {
        AppendRebase::Refused(why) => assert!(why.contains("parent"), "{why}"),
        AppendRebase::Rebased(_) => panic!("rebased a snapshot with a foreign parent"),
    }
    // The real thing.
    match rebase_append(&io, &current, &stale).await.unwrap() {
        AppendRebase::Rebased(r) => {
            let TableUpdate::AddSnapshot { snapshot } = &r.commit.updates[0] else {
                panic!("{:?}", r.commit.updates)
            };
            assert_eq!(snapshot.parent_snapshot_id, current.current_snapshot_id());
            assert_eq!(snapshot.sequence_number, current.last_sequence_number() + 1);
            assert_eq!(snapshot.manifest_list, r.manifest_list);
            assert_eq!(snapshot.summary.additional_properties["total-records"], "5");
        }
        AppendRebase::Refused(why) => panic!("refused: {why}"),
    }
}

#[tokio::test]
async fn v3_rebased_appends_get_fresh_row_ids() {
    let env = Env::sqlite().await;
    let t = env.create("t", false, &[("format-version", "3")]).await;
    assert_eq!(t.metadata().format_version(), FormatVersion::V3);
    t.append(vec![batch(&t, 0..5, "a")]).await.unwrap();
    let a = stale_append(&env, "t", 10..13, "a").await;
    let b = stale_append(&env, "t", 20..24, "a").await;
    let rebaser = rebaser(&env);
    rebaser.commit(vec![a], None).await.unwrap();
    assert_eq!(rebaser.commit(vec![b], None).await.unwrap().rebases, 1);
    let t = env.load("t").await;
    assert_eq!(t.metadata().next_row_id(), Some(12));
    let head = t.current_snapshot().unwrap();
    assert_eq!(head.first_row_id, Some(8));
    assert_eq!(head.added_rows, Some(4));
    let mut ranges: Vec<(i64, i64)> = t
        .live_entries(None)
        .await
        .unwrap()
        .iter()
        .map(|e| (e.data_file.first_row_id.unwrap(), e.data_file.record_count))
        .collect();
    ranges.sort_unstable();
    assert_eq!(
        ranges,
        vec![(0, 5), (5, 3), (8, 4)],
        "row ids do not overlap"
    );
    check_chain(&t).await;
}

#[tokio::test]
async fn multi_table_commits_are_rebased_table_by_table() {
    let env = Env::sqlite().await;
    for name in ["x", "y"] {
        let t = env.create(name, false, &[]).await;
        t.append(vec![batch(&t, 0..2, "a")]).await.unwrap();
    }
    let x = stale_append(&env, "x", 10..12, "a").await;
    let y = stale_append(&env, "y", 20..22, "a").await;
    // Only x moves: y's part goes through as sent.
    let rebaser = rebaser(&env);
    rebaser
        .commit(vec![stale_append(&env, "x", 5..6, "a").await], None)
        .await
        .unwrap();
    let done = rebaser.commit(vec![x, y], None).await.unwrap();
    assert_eq!(done.rebases, 1);
    assert_eq!(scan_ids(&env.load("x").await).await, vec![0, 1, 5, 10, 11]);
    assert_eq!(scan_ids(&env.load("y").await).await, vec![0, 1, 20, 21]);
    // A multi-table commit where one part is not an append: nothing is committed.
    let x = stale_append(&env, "x", 30..31, "a").await;
    let (stale_y, catalog) = capturing(&env, "y").await;
    stale_y
        .delete(Reference::new("id").equal_to(Datum::Long(0)))
        .await
        .unwrap();
    let y_delete = catalog.take_captured().pop().unwrap();
    rebaser
        .commit(vec![stale_append(&env, "x", 6..7, "a").await], None)
        .await
        .unwrap();
    rebaser
        .commit(vec![stale_append(&env, "y", 7..8, "a").await], None)
        .await
        .unwrap();
    let err = rebaser.commit(vec![x, y_delete], None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CommitFailed, "{err}");
    assert_eq!(
        scan_ids(&env.load("x").await).await,
        vec![0, 1, 5, 6, 10, 11]
    );
    assert_eq!(scan_ids(&env.load("y").await).await, vec![0, 1, 7, 20, 21]);
}

const WRITERS: usize = 12;

/// Many stale appends at once through two rebasers (two processes, in effect, each with
/// its own catalog handle): every append lands exactly once on one line of history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_stale_appends_all_land_exactly_once() {
    let env = Env::sqlite().await;
    let t = env.create("t", true, &[]).await;
    t.append(vec![batch(&t, 0..1, "seed")]).await.unwrap();
    let mut commits = Vec::new();
    for w in 0..WRITERS {
        let base = 1000 * (w as i64 + 1);
        commits.push(stale_append(&env, "t", base..base + 3, &format!("w{}", w % 3)).await);
    }
    let other = env.other_catalog().await;
    let rebasers = [
        rebaser(&env),
        AppendRebaser::new(
            other.clone(),
            FileIO::from_warehouse(other.warehouse()).unwrap(),
        ),
    ];
    let mut tasks = Vec::new();
    for (i, c) in commits.into_iter().enumerate() {
        let r = rebasers[i % 2].clone();
        tasks.push(tokio::spawn(async move { r.commit(vec![c], None).await }));
    }
    let mut rebased = 0;
    for task in tasks {
        let done = task.await.unwrap().unwrap();
        rebased += usize::from(done.rebases > 0);
    }
    assert!(rebased >= WRITERS - 1, "{rebased} rebased");
    let t = env.load("t").await;
    let mut want: Vec<i64> = vec![0];
    for w in 0..WRITERS {
        let base = 1000 * (w as i64 + 1);
        want.extend(base..base + 3);
    }
    want.sort_unstable();
    assert_eq!(scan_ids(&t).await, want, "every append exactly once");
    assert_eq!(t.metadata().snapshots().len(), WRITERS + 1);
    check_chain(&t).await;
    // Only the lists of committed rebases remain.
    let referenced: HashSet<String> = t
        .metadata()
        .snapshots()
        .values()
        .map(|s| s.manifest_list.rsplit('/').next().unwrap().to_string())
        .collect();
    for name in rebase_lists(&t) {
        assert!(referenced.contains(&name), "left over: {name}");
    }
}
