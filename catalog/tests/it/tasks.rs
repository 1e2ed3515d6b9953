//! The maintenance task queue on SQLite and PostgreSQL: enqueue and dedupe, claims by
//! concurrent workers (never the same task twice), the global running limit, lease
//! expiry and heartbeats, retries with backoff, and claim order (urgent, debt, aging).
//! Time is a manual clock, so leases and backoffs are exact.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use floe_catalog::sql::tasks::{
    NewTask, PRIORITY_URGENT, QueueConfig, TaskFilter, TaskQueue, TaskStatus,
};
use serde_json::json;

use crate::common::{Fixture, on_both, tid};

/// A manual clock starting at a fixed time.
fn clock() -> (Arc<AtomicI64>, QueueConfig) {
    let now = Arc::new(AtomicI64::new(1_700_000_000_000));
    let c = Arc::clone(&now);
    let config = QueueConfig {
        lease: Duration::from_secs(30),
        max_running: 100,
        backoff_base: Duration::from_secs(1),
        backoff_max: Duration::from_mins(1),
        aging: Duration::from_secs(10),
        clock: Some(Arc::new(move || c.load(Ordering::SeqCst))),
    };
    (now, config)
}

async fn queue(fx: &Fixture, config: QueueConfig) -> TaskQueue {
    TaskQueue::new(fx.catalog().await, config)
}

async fn enqueue_claim_complete(fx: &Fixture) {
    let (_, config) = clock();
    let q = queue(fx, config).await;
    let t = tid(&["db", "eu"], "events");
    let e = q
        .enqueue(
            NewTask::new(t.clone(), "compact")
                .options(json!({"target-file-size-bytes": 1024}))
                .debt(7),
        )
        .await
        .unwrap();
    assert!(!e.deduplicated);
    let task = q.get(e.task_id).await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Queued);
    assert_eq!(task.table, t);
    assert_eq!(task.options, json!({"target-file-size-bytes": 1024}));
    assert_eq!((task.debt, task.attempts, task.dry_run), (7, 0, false));

    let claimed = q.claim("w1").await.unwrap().unwrap();
    assert_eq!(claimed.task_id, e.task_id);
    assert_eq!(claimed.status, TaskStatus::Running);
    assert_eq!(claimed.attempts, 1);
    assert_eq!(claimed.lease_owner.as_deref(), Some("w1"));
    assert!(
        q.claim("w2").await.unwrap().is_none(),
        "nothing else to claim"
    );
    assert!(q.heartbeat(e.task_id, "w1").await.unwrap());
    assert!(
        !q.heartbeat(e.task_id, "w2").await.unwrap(),
        "w2 holds no lease"
    );
    assert!(!q.complete(e.task_id, "w2", &json!({})).await.unwrap());
    assert!(
        q.complete(e.task_id, "w1", &json!({"rewritten": 3}))
            .await
            .unwrap()
    );
    let done = q.get(e.task_id).await.unwrap().unwrap();
    assert_eq!(done.status, TaskStatus::Succeeded);
    assert_eq!(done.result, Some(json!({"rewritten": 3})));
    assert!(done.finished_at_ms.is_some());
    assert!(q.get(e.task_id + 1000).await.unwrap().is_none());

    let listed = q
        .list(&TaskFilter {
            table: Some(t.clone()),
            ..TaskFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let other = q
        .list(&TaskFilter {
            table: Some(tid(&["db"], "events")),
            ..TaskFilter::default()
        })
        .await
        .unwrap();
    assert!(other.is_empty());
    let succeeded = q
        .list(&TaskFilter {
            status: Some(TaskStatus::Succeeded),
            action: Some("compact".into()),
            ..TaskFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(succeeded.len(), 1);
    // Bad input.
    assert!(q.enqueue(NewTask::new(t.clone(), "")).await.is_err());
    assert!(
        q.enqueue(NewTask::new(t, "compact").options(json!([1])))
            .await
            .is_err()
    );
}

async fn dedupe_per_table_and_action(fx: &Fixture) {
    let (_, config) = clock();
    let q = queue(fx, config).await;
    let t = tid(&["db"], "t");
    let first = q
        .enqueue(NewTask::new(t.clone(), "compact").debt(1))
        .await
        .unwrap();
    let again = q
        .enqueue(
            NewTask::new(t.clone(), "compact")
                .debt(5)
                .priority(PRIORITY_URGENT),
        )
        .await
        .unwrap();
    assert_eq!(again.task_id, first.task_id);
    assert!(again.deduplicated);
    let task = q.get(first.task_id).await.unwrap().unwrap();
    assert_eq!((task.debt, task.priority), (5, PRIORITY_URGENT), "raised");
    // Lower values do not lower it.
    q.enqueue(NewTask::new(t.clone(), "compact").debt(2))
        .await
        .unwrap();
    assert_eq!(q.get(first.task_id).await.unwrap().unwrap().debt, 5);

    let other_action = q
        .enqueue(NewTask::new(t.clone(), "expire-snapshots"))
        .await
        .unwrap();
    assert!(!other_action.deduplicated);
    let other_table = q
        .enqueue(NewTask::new(tid(&["db"], "u"), "compact"))
        .await
        .unwrap();
    assert!(!other_table.deduplicated);
    let dry = q
        .enqueue(NewTask::new(t.clone(), "compact").dry_run(true))
        .await
        .unwrap();
    assert!(!dry.deduplicated, "dry runs are not deduplicated");

    // Still one while running; a new one once it is done.
    let claimed = q.claim("w").await.unwrap().unwrap();
    assert_eq!(claimed.task_id, first.task_id, "urgent first");
    let while_running = q.enqueue(NewTask::new(t.clone(), "compact")).await.unwrap();
    assert_eq!(while_running.task_id, first.task_id);
    q.complete(first.task_id, "w", &json!({})).await.unwrap();
    let after = q.enqueue(NewTask::new(t, "compact")).await.unwrap();
    assert!(!after.deduplicated);
    assert_ne!(after.task_id, first.task_id);
}

async fn concurrent_enqueues_dedupe(fx: &Fixture) {
    let (_, config) = clock();
    let mut handles = Vec::new();
    for _ in 0..8 {
        let q = TaskQueue::new(
            fx.builder().max_connections(2).build().await.unwrap(),
            config.clone(),
        );
        handles.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..5 {
                let e = q
                    .enqueue(NewTask::new(tid(&["db"], &format!("t{i}")), "compact"))
                    .await
                    .unwrap();
                ids.push(e.task_id);
            }
            ids
        }));
    }
    let mut per_table: Vec<HashSet<i64>> = vec![HashSet::new(); 5];
    for h in handles {
        for (i, id) in h.await.unwrap().into_iter().enumerate() {
            per_table[i].insert(id);
        }
    }
    for (i, ids) in per_table.iter().enumerate() {
        assert_eq!(ids.len(), 1, "table t{i} got one task, not {ids:?}");
    }
    let q = queue(fx, config).await;
    assert_eq!(q.list(&TaskFilter::default()).await.unwrap().len(), 5);
}

const TASKS: usize = 60;
const CLAIMERS: usize = 8;

async fn concurrent_claimers_never_share(fx: &Fixture) {
    let q = queue(fx, QueueConfig::default()).await;
    let q = TaskQueue::new(
        q.catalog().clone(),
        QueueConfig {
            max_running: 1000,
            ..QueueConfig::default()
        },
    );
    for i in 0..TASKS {
        q.enqueue(NewTask::new(tid(&["db"], &format!("t{i}")), "compact"))
            .await
            .unwrap();
    }
    let seen = Arc::new(Mutex::new(HashSet::new()));
    let mut handles = Vec::new();
    for w in 0..CLAIMERS {
        // Separate handles and pools, as separate worker processes would have.
        let q = TaskQueue::new(
            fx.builder().max_connections(2).build().await.unwrap(),
            q.config().clone(),
        );
        let seen = Arc::clone(&seen);
        handles.push(tokio::spawn(async move {
            let worker = format!("w{w}");
            let mut mine = 0;
            while let Some(task) = q.claim(&worker).await.unwrap() {
                assert!(
                    seen.lock().unwrap().insert(task.task_id),
                    "task {} claimed twice",
                    task.task_id
                );
                assert_eq!(task.attempts, 1);
                tokio::task::yield_now().await;
                assert!(q.complete(task.task_id, &worker, &json!({})).await.unwrap());
                mine += 1;
            }
            mine
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    assert_eq!(total, TASKS);
    assert_eq!(seen.lock().unwrap().len(), TASKS);
    let done = q
        .list(&TaskFilter {
            status: Some(TaskStatus::Succeeded),
            limit: Some(1000),
            ..TaskFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(done.len(), TASKS);
}

async fn global_running_limit(fx: &Fixture) {
    let (_, config) = clock();
    let config = QueueConfig {
        max_running: 2,
        ..config
    };
    let q = queue(fx, config.clone()).await;
    for i in 0..5 {
        q.enqueue(NewTask::new(tid(&["db"], &format!("t{i}")), "compact"))
            .await
            .unwrap();
    }
    // Concurrent claimers on separate pools: exactly two get a task.
    let mut handles = Vec::new();
    for w in 0..6 {
        let q = TaskQueue::new(
            fx.builder().max_connections(1).build().await.unwrap(),
            config.clone(),
        );
        handles.push(tokio::spawn(async move {
            q.claim(&format!("w{w}")).await.unwrap()
        }));
    }
    let mut claimed = Vec::new();
    for h in handles {
        if let Some(t) = h.await.unwrap() {
            claimed.push(t);
        }
    }
    assert_eq!(claimed.len(), 2, "the global limit holds under concurrency");
    let first = &claimed[0];
    q.complete(
        first.task_id,
        first.lease_owner.as_deref().unwrap(),
        &json!({}),
    )
    .await
    .unwrap();
    assert!(q.claim("late").await.unwrap().is_some(), "a slot freed up");
    assert!(q.claim("later").await.unwrap().is_none());
}

async fn lease_expiry_and_heartbeats(fx: &Fixture) {
    let (now, config) = clock();
    let q = queue(fx, config).await;
    let id = q
        .enqueue(NewTask::new(tid(&["db"], "t"), "compact"))
        .await
        .unwrap()
        .task_id;
    let a = q.claim("a").await.unwrap().unwrap();
    assert_eq!(a.task_id, id);
    // A heartbeat 20 s in keeps the lease 30 s past it.
    now.fetch_add(20_000, Ordering::SeqCst);
    assert!(q.heartbeat(id, "a").await.unwrap());
    now.fetch_add(20_000, Ordering::SeqCst);
    assert!(q.claim("b").await.unwrap().is_none(), "lease still live");
    // Past the lease: worker a died; b reclaims.
    now.fetch_add(11_000, Ordering::SeqCst);
    let b = q.claim("b").await.unwrap().unwrap();
    assert_eq!(b.task_id, id);
    assert_eq!(b.attempts, 2);
    assert_eq!(b.lease_owner.as_deref(), Some("b"));
    assert!(!q.heartbeat(id, "a").await.unwrap(), "a lost its lease");
    assert!(!q.complete(id, "a", &json!({"by": "a"})).await.unwrap());
    assert_eq!(q.fail(id, "a", "late").await.unwrap(), None);
    assert!(q.complete(id, "b", &json!({"by": "b"})).await.unwrap());
    let task = q.get(id).await.unwrap().unwrap();
    assert_eq!(task.result, Some(json!({"by": "b"})));

    // A lease that expires on the last attempt fails the task.
    let id = q
        .enqueue(NewTask::new(tid(&["db"], "t"), "compact").max_attempts(1))
        .await
        .unwrap()
        .task_id;
    q.claim("c").await.unwrap().unwrap();
    now.fetch_add(31_000, Ordering::SeqCst);
    assert!(q.claim("d").await.unwrap().is_none());
    let task = q.get(id).await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Failed);
    assert!(task.error.unwrap().contains("lease expired"));
}

async fn retries_with_backoff(fx: &Fixture) {
    let (now, config) = clock();
    let q = queue(fx, config).await;
    let id = q
        .enqueue(NewTask::new(tid(&["db"], "t"), "compact").max_attempts(3))
        .await
        .unwrap()
        .task_id;
    q.claim("w").await.unwrap().unwrap();
    assert_eq!(
        q.fail(id, "w", "boom 1").await.unwrap(),
        Some(TaskStatus::Queued)
    );
    let task = q.get(id).await.unwrap().unwrap();
    assert_eq!(task.error.as_deref(), Some("boom 1"));
    assert_eq!(task.not_before_ms, now.load(Ordering::SeqCst) + 1_000);
    assert!(q.claim("w").await.unwrap().is_none(), "backing off 1 s");
    now.fetch_add(1_000, Ordering::SeqCst);
    let second = q.claim("w").await.unwrap().unwrap();
    assert_eq!(second.attempts, 2);
    assert_eq!(
        q.fail(id, "w", "boom 2").await.unwrap(),
        Some(TaskStatus::Queued)
    );
    now.fetch_add(1_999, Ordering::SeqCst);
    assert!(q.claim("w").await.unwrap().is_none(), "backing off 2 s");
    now.fetch_add(1, Ordering::SeqCst);
    assert_eq!(q.claim("w").await.unwrap().unwrap().attempts, 3);
    assert_eq!(
        q.fail(id, "w", "boom 3").await.unwrap(),
        Some(TaskStatus::Failed)
    );
    now.fetch_add(3_600_000, Ordering::SeqCst);
    assert!(q.claim("w").await.unwrap().is_none(), "failed for good");
    let task = q.get(id).await.unwrap().unwrap();
    assert_eq!(task.status, TaskStatus::Failed);
    assert_eq!(task.error.as_deref(), Some("boom 3"));
    assert!(task.finished_at_ms.is_some());
    // A failed task does not block a new one.
    let again = q
        .enqueue(NewTask::new(tid(&["db"], "t"), "compact"))
        .await
        .unwrap();
    assert!(!again.deduplicated);
}

async fn claim_order_urgent_debt_aging(fx: &Fixture) {
    let (now, config) = clock();
    let q = queue(fx, config).await;
    // Old, no debt: waits 100 s before the others arrive (10 points of aging).
    let old = q
        .enqueue(NewTask::new(tid(&["db"], "old"), "compact"))
        .await
        .unwrap()
        .task_id;
    now.fetch_add(100_000, Ordering::SeqCst);
    let low = q
        .enqueue(NewTask::new(tid(&["db"], "low"), "compact").debt(5))
        .await
        .unwrap()
        .task_id;
    let high = q
        .enqueue(NewTask::new(tid(&["db"], "high"), "compact").debt(50))
        .await
        .unwrap()
        .task_id;
    let urgent = q
        .enqueue(NewTask::new(tid(&["db"], "urgent"), "compact").priority(PRIORITY_URGENT))
        .await
        .unwrap()
        .task_id;
    let mut order = Vec::new();
    while let Some(t) = q.claim("w").await.unwrap() {
        order.push(t.task_id);
        q.complete(t.task_id, "w", &json!({})).await.unwrap();
    }
    // urgent; then high (50); old (0 + 10 aged) beats low (5 + 0).
    assert_eq!(order, vec![urgent, high, old, low]);
}

/// The commit path notifies subscribers of the tables it moved (the scheduler's hook).
async fn commit_notifications(fx: &Fixture) {
    let catalog = fx.catalog().await;
    let mut commits = catalog.subscribe_commits();
    let loaded = crate::common::table(&catalog).await;
    assert_eq!(commits.recv().await.unwrap(), loaded.ident, "create");
    let commit = crate::common::append_commit(&loaded.ident, &loaded.metadata, 1);
    floe_catalog::Catalog::commit_table(&catalog, commit)
        .await
        .unwrap();
    assert_eq!(commits.recv().await.unwrap(), loaded.ident, "append");
    // A commit that changes nothing notifies nobody.
    let unchanged = floe_catalog::TableCommit::new(loaded.ident.clone(), vec![], vec![]);
    floe_catalog::Catalog::commit_table(&catalog, unchanged)
        .await
        .unwrap();
    assert!(commits.try_recv().is_err());
}

on_both!(
    commit_notifications,
    enqueue_claim_complete,
    dedupe_per_table_and_action,
    concurrent_enqueues_dedupe,
    concurrent_claimers_never_share,
    global_running_limit,
    lease_expiry_and_heartbeats,
    retries_with_backoff,
    claim_order_urgent_debt_aging,
);
