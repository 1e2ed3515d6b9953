//! [`GroupCommitter`]: in-process group commit of append intents.
//!
//! # Group commit contract
//!
//! Intents are queued per table. One task per table (single flight) takes the queued
//! intents once the oldest has waited [`GroupCommitConfig::window`] or
//! [`GroupCommitConfig::max_intents`] are queued, and commits them as one group while
//! the next group collects:
//!
//! 1. The table and the progress of its writers are loaded. Each intent is checked
//!    (files inside the table location, partition arity of the default spec, known
//!    column ids, files exist). An intent whose `seq` is at or below its writer's stored
//!    last seq is a duplicate: it is answered with the stored snapshot id and
//!    `duplicate: true`. An intent whose `epoch` is below the stored one is fenced:
//!    `CommitFailed` for that intent only. A bad intent is `DataInvalid` for that
//!    intent only. An intent with [`AppendIntent::after_seq`] whose predecessor is
//!    neither the writer's stored last seq nor committed in the same group is
//!    `CommitFailed` too (nothing is committed behind a gap): a writer with several
//!    micro-batches in flight resubmits it once the predecessor is acknowledged.
//! 2. The data files of the remaining intents go into ONE fast-append snapshot
//!    (one new manifest, one manifest list; summary [`WATERMARK_SUMMARY_KEY`] = the
//!    table's low watermark). The newest small manifests are merged in tiers of
//!    [`GroupCommitConfig::merge_fan_in`] (see
//!    [`SnapshotUpdate::merge_newest_manifests`]), so the manifest list stays short
//!    however many groups are committed. The snapshot is committed with one
//!    `WriterProgressUpdate` per writer (its highest seq, its watermark never going
//!    backwards) in the same catalog transaction.
//! 3. A lost race (another process committed first) or a writer whose progress moved
//!    meanwhile (a duplicate or fence found inside the commit transaction, e.g. a retry
//!    sent to another replica) aborts the attempt; the group is re-checked against the
//!    newly loaded progress and rebased onto the new head (appends never conflict), up
//!    to [`GroupCommitConfig::max_attempts`] times within
//!    [`GroupCommitConfig::retry_timeout`]. The wait before a retry is drawn at random
//!    below a cap that doubles from 1 ms to 128 ms, so that a committer racing other
//!    processes (batch writers, other replicas) is not starved by their retry loops.
//! 4. Every intent gets its own answer: the snapshot id and sequence number of the
//!    group's snapshot. `CommitStateUnknown` is passed on to every intent of the group:
//!    the writer retries with the same seq and learns the outcome (duplicate or not).
//!
//! The answer to an intent is lost if its submitter stops waiting; the commit goes on
//! regardless (a writer that restarts reads its progress from the catalog).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use floe_catalog::{Catalog, CommitStatus, TableIdent, WriterProgress, WriterProgressUpdate};
use floe_spec::manifest::DataFile;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use super::intent::{
    AppendAck, AppendIntent, GROUP_SIZE_SUMMARY_KEY, WATERMARK_SUMMARY_KEY, check_against_table,
    check_shape,
};
use crate::error::{Error, ErrorKind, Result};
use crate::table::Table;
use crate::transaction::{MANIFEST_MERGE_ENABLED, SnapshotUpdate};
use crate::writer::default_store_path;

/// Settings of a [`GroupCommitter`].
#[derive(Debug, Clone)]
pub struct GroupCommitConfig {
    /// How long the oldest queued intent of a table waits for others (default 5 ms).
    pub window: Duration,
    /// The most intents in one group; a full group is committed at once (default 256).
    pub max_intents: usize,
    /// Commit attempts of one group before its intents fail (default 64).
    pub max_attempts: u32,
    /// The longest time one group spends retrying lost races before its intents fail
    /// (default 30 s).
    pub retry_timeout: Duration,
    /// Whether every data file is checked to exist before the commit (default true).
    pub check_files_exist: bool,
    /// Fan-in of the tiered merge of the newest small manifests (default 4; `None`:
    /// every group leaves its manifest as it is, unless the table sets
    /// `commit.manifest-merge.enabled`, then appends merge as batch appends do).
    pub merge_fan_in: Option<usize>,
}

impl Default for GroupCommitConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_millis(5),
            max_intents: 256,
            max_attempts: 64,
            retry_timeout: Duration::from_secs(30),
            check_files_exist: true,
            merge_fan_in: Some(4),
        }
    }
}

/// Counters of a [`GroupCommitter`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupCommitStats {
    /// Intents answered.
    pub intents: u64,
    /// Snapshots committed.
    pub commits: u64,
    /// Intents answered as duplicates.
    pub duplicates: u64,
    /// Commit attempts lost to another writer (then rebased).
    pub retries: u64,
}

/// Gathers the append intents of a table into group commits; see the module docs.
/// Cheap to clone: clones share the queues.
#[derive(Clone)]
pub struct GroupCommitter {
    shared: Arc<Shared>,
}

struct Shared {
    catalog: Arc<dyn Catalog>,
    store: Arc<dyn ObjectStore>,
    config: GroupCommitConfig,
    queues: Mutex<HashMap<TableIdent, Arc<Queue>>>,
    stats: Mutex<GroupCommitStats>,
}

#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    full: Notify,
}

#[derive(Default)]
struct QueueState {
    pending: Vec<Pending>,
    running: bool,
}

struct Pending {
    intent: AppendIntent,
    arrived: Instant,
    reply: oneshot::Sender<Answer>,
}

/// Why an intent was not committed (see [`GroupCommitter::submit_in_order`]).
#[derive(Debug)]
pub enum Refusal {
    /// Its `after_seq` predecessor was not committed (yet): it may be resubmitted
    /// once the predecessor is.
    Gap(Error),
    /// Any other failure.
    Failed(Error),
}

impl Refusal {
    /// The error, whatever the reason.
    pub fn into_error(self) -> Error {
        match self {
            Self::Gap(e) | Self::Failed(e) => e,
        }
    }
}

/// The answer to one intent.
pub(crate) type Answer = std::result::Result<AppendAck, Refusal>;

impl Pending {
    fn answer(self, result: Result<AppendAck>) {
        // The submitter may have stopped waiting: the answer is then dropped.
        let _ = self.reply.send(result.map_err(Refusal::Failed));
    }

    fn refuse_gap(self, e: Error) {
        let _ = self.reply.send(Err(Refusal::Gap(e)));
    }
}

impl fmt::Debug for GroupCommitter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupCommitter")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The same error for several intents (errors are not `Clone`).
fn shared_error(e: &Error) -> Error {
    Error::new(e.kind(), e.to_string())
}

impl GroupCommitter {
    /// A committer of tables of `catalog` whose files live in `store`.
    pub fn new(
        catalog: Arc<dyn Catalog>,
        store: Arc<dyn ObjectStore>,
        config: GroupCommitConfig,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                catalog,
                store,
                config,
                queues: Mutex::new(HashMap::new()),
                stats: Mutex::new(GroupCommitStats::default()),
            }),
        }
    }

    /// The catalog.
    pub fn catalog(&self) -> &Arc<dyn Catalog> {
        &self.shared.catalog
    }

    /// The object store of the tables' files.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.shared.store
    }

    /// The settings.
    pub fn config(&self) -> &GroupCommitConfig {
        &self.shared.config
    }

    /// Counters since the committer was made.
    pub fn stats(&self) -> GroupCommitStats {
        *lock(&self.shared.stats)
    }

    /// Submits an intent and waits for its answer: the snapshot that holds it (or held
    /// it, for a duplicate). A fenced writer gets `CommitFailed`, a bad intent
    /// `DataInvalid`; neither affects the other intents of the group. Needs a Tokio
    /// runtime (the group task is spawned on it).
    pub async fn submit(&self, intent: AppendIntent) -> Result<AppendAck> {
        let rx = self.enqueue(intent)?;
        match rx.await {
            Ok(answer) => answer.map_err(Refusal::into_error),
            Err(_) => Err(lost_answer()),
        }
    }

    /// [`GroupCommitter::submit`] telling a refusal because the intent's
    /// [`AppendIntent::after_seq`] predecessor is not committed ([`Refusal::Gap`]: the
    /// intent may be resubmitted once the predecessor is acknowledged) from any other
    /// failure: what a server passes on to remote pipelined writers.
    pub async fn submit_in_order(
        &self,
        intent: AppendIntent,
    ) -> std::result::Result<AppendAck, Refusal> {
        let rx = self.enqueue(intent).map_err(Refusal::Failed)?;
        match rx.await {
            Ok(answer) => answer,
            Err(_) => Err(Refusal::Failed(lost_answer())),
        }
    }

    /// Queues an intent at once (intents enqueued one after the other by one caller
    /// join the table's queue in that order) and returns the channel of its answer.
    pub(crate) fn enqueue(&self, intent: AppendIntent) -> Result<oneshot::Receiver<Answer>> {
        check_shape(&intent)?;
        let (tx, rx) = oneshot::channel();
        let queue = {
            let mut queues = lock(&self.shared.queues);
            Arc::clone(queues.entry(intent.table.clone()).or_default())
        };
        let table = intent.table.clone();
        let spawn = {
            let mut state = lock(&queue.state);
            state.pending.push(Pending {
                intent,
                arrived: Instant::now(),
                reply: tx,
            });
            if state.pending.len() >= self.shared.config.max_intents {
                queue.full.notify_one();
            }
            !std::mem::replace(&mut state.running, true)
        };
        if spawn {
            let shared = Arc::clone(&self.shared);
            tokio::spawn(run_queue(shared, table, queue));
        }
        Ok(rx)
    }
}

/// The error of an intent whose group task ended without answering.
pub(crate) fn lost_answer() -> Error {
    Error::new(
        ErrorKind::CommitStateUnknown,
        "the group commit task ended without answering: the append may or may not have been committed",
    )
}

/// The single-flight task of one table: commits groups while intents are queued.
async fn run_queue(shared: Arc<Shared>, table: TableIdent, queue: Arc<Queue>) {
    let window = shared.config.window;
    let max = shared.config.max_intents.max(1);
    loop {
        let (oldest, len) = {
            let mut state = lock(&queue.state);
            match state.pending.first() {
                None => {
                    state.running = false;
                    return;
                }
                Some(p) => (p.arrived, state.pending.len()),
            }
        };
        if len < max {
            tokio::select! {
                () = tokio::time::sleep_until(oldest + window) => {}
                () = queue.full.notified() => {}
            }
        }
        let group: Vec<Pending> = {
            let mut state = lock(&queue.state);
            let n = state.pending.len().min(max);
            state.pending.drain(..n).collect()
        };
        if !group.is_empty() {
            // In its own task: should a commit panic, its submitters hear an unknown
            // outcome (their answer channels drop) and the queue goes on.
            let shared = Arc::clone(&shared);
            let table = table.clone();
            let done = tokio::spawn(async move { commit_group(&shared, &table, group).await });
            let _ = done.await;
        }
    }
}

/// What the stored progress says about an intent.
enum Verdict {
    New,
    Duplicate(Option<i64>),
    Fenced(i64),
}

fn verdict(intent: &AppendIntent, stored: Option<&WriterProgress>) -> Verdict {
    match stored {
        Some(p) if intent.epoch < p.epoch => Verdict::Fenced(p.epoch),
        Some(p) if intent.seq <= p.last_seq => Verdict::Duplicate(p.snapshot_id),
        _ => Verdict::New,
    }
}

fn ack_for(table: &Table, snapshot_id: Option<i64>, duplicate: bool) -> AppendAck {
    let sequence_number = snapshot_id
        .and_then(|id| table.snapshot(id))
        .map_or(-1, |s| s.sequence_number);
    AppendAck {
        snapshot_id: snapshot_id.unwrap_or(-1),
        sequence_number,
        duplicate,
    }
}

/// Checks that every data file of `intent` exists.
async fn check_files_exist(store: &Arc<dyn ObjectStore>, intent: &AppendIntent) -> Result<()> {
    for f in &intent.data_files {
        let path = default_store_path(&f.file_path)?;
        match store.head(&path).await {
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => {
                return Err(Error::invalid(format!(
                    "writer `{}` seq {}: data file `{}` does not exist",
                    intent.writer_id, intent.seq, f.file_path
                )));
            }
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("cannot check that data file `{}` exists", f.file_path),
                )
                .with_source(e));
            }
        }
    }
    Ok(())
}

/// Commits one group; answers every intent of it.
async fn commit_group(shared: &Shared, ident: &TableIdent, group: Vec<Pending>) {
    let mut table = match Table::load(
        Arc::clone(&shared.catalog),
        ident,
        Arc::clone(&shared.store),
    )
    .await
    {
        Ok(t) => t,
        Err(e) => {
            for p in group {
                p.answer(Err(shared_error(&e)));
            }
            return;
        }
    };
    // Checks that do not depend on concurrent commits: once.
    let md = table.metadata().clone();
    let checks = futures::future::join_all(group.iter().map(|p| {
        let md = &md;
        async move {
            check_against_table(&p.intent, md)?;
            if shared.config.check_files_exist {
                check_files_exist(&shared.store, &p.intent).await?;
            }
            Ok::<(), Error>(())
        }
    }))
    .await;
    let mut live = Vec::with_capacity(group.len());
    for (p, checked) in group.into_iter().zip(checks) {
        match checked {
            Ok(()) => live.push(p),
            Err(e) => p.answer(Err(e)),
        }
    }
    let mut attempt = 0_u32;
    let started = Instant::now();
    while !live.is_empty() {
        attempt += 1;
        if attempt > 1 {
            lock(&shared.stats).retries += 1;
            tokio::time::sleep(retry_wait(attempt)).await;
            if let Err(e) = table.refresh().await {
                for p in live {
                    p.answer(Err(shared_error(&e)));
                }
                return;
            }
        }
        let timed_out = attempt > 1 && started.elapsed() > shared.config.retry_timeout;
        if attempt > shared.config.max_attempts.max(1) || timed_out {
            let e = Error::new(
                ErrorKind::CommitFailed,
                format!(
                    "group commit of {ident} lost the race against concurrent commits {} times \
                     in {} ms (limits: {} attempts, {} ms)",
                    attempt - 1,
                    started.elapsed().as_millis(),
                    shared.config.max_attempts,
                    shared.config.retry_timeout.as_millis()
                ),
            );
            for p in live {
                p.answer(Err(shared_error(&e)));
            }
            return;
        }
        live = match try_commit(shared, &mut table, live).await {
            Ok(()) => return,
            Err(retry) => retry,
        };
    }
}

/// The wait before attempt `attempt` (2 or more): uniformly random below a cap that
/// doubles from 1 ms to 128 ms ("full jitter", so that racing committers spread out).
fn retry_wait(attempt: u32) -> Duration {
    let cap_us = 1_000_u64 << attempt.saturating_sub(2).min(7);
    Duration::from_micros(uuid::Uuid::new_v4().as_u128() as u64 % cap_us)
}

/// One attempt: answers duplicates, fenced intents and the committed group; returns the
/// intents to retry after a lost race.
async fn try_commit(
    shared: &Shared,
    table: &mut Table,
    group: Vec<Pending>,
) -> std::result::Result<(), Vec<Pending>> {
    let ident = table.ident().clone();
    let stored: HashMap<String, WriterProgress> = match shared.catalog.list_writers(&ident).await {
        Ok(list) => list.into_iter().map(|w| (w.writer_id.clone(), w)).collect(),
        Err(e) => {
            for p in group {
                p.answer(Err(shared_error(&e)));
            }
            return Ok(());
        }
    };
    // Sort so that each writer's intents come in seq order.
    let mut group = group;
    group.sort_by(|a, b| {
        (a.intent.writer_id.as_str(), a.intent.seq)
            .cmp(&(b.intent.writer_id.as_str(), b.intent.seq))
    });
    let mut keep: Vec<Pending> = Vec::with_capacity(group.len());
    // Intents repeating a seq already in this group: answered like the first one.
    let mut twins: Vec<Pending> = Vec::new();
    let mut duplicates = 0_u64;
    for p in group {
        match verdict(&p.intent, stored.get(&p.intent.writer_id)) {
            Verdict::Duplicate(snapshot_id) => {
                duplicates += 1;
                p.answer(Ok(ack_for(table, snapshot_id, true)));
            }
            Verdict::Fenced(current) => {
                let e = Error::new(
                    ErrorKind::CommitFailed,
                    format!(
                        "writer `{}` of {ident} is fenced: epoch {} is older than the current epoch {current} \
                         (a newer instance of the writer was opened)",
                        p.intent.writer_id, p.intent.epoch
                    ),
                );
                p.answer(Err(e));
            }
            Verdict::New => {
                let same_writer = keep
                    .last()
                    .filter(|k| k.intent.writer_id == p.intent.writer_id);
                if let Some(after) = p.intent.after_seq {
                    let stored_last = stored.get(&p.intent.writer_id).map_or(-1, |s| s.last_seq);
                    let follows = after == stored_last
                        || same_writer
                            .is_some_and(|k| k.intent.seq == after || k.intent.seq == p.intent.seq);
                    if !follows {
                        let e = Error::new(
                            ErrorKind::CommitFailed,
                            format!(
                                "writer `{}` of {ident}: micro-batch {} must follow micro-batch {after}, \
                                 which is not committed (the last committed one is {stored_last})",
                                p.intent.writer_id, p.intent.seq
                            ),
                        );
                        p.refuse_gap(e);
                        continue;
                    }
                }
                match same_writer {
                    Some(k) if k.intent.seq == p.intent.seq => twins.push(p),
                    Some(k) if k.intent.epoch != p.intent.epoch => {
                        let e = Error::new(
                            ErrorKind::CommitFailed,
                            format!(
                                "writer `{}` of {ident}: epochs {} and {} in one group; the older is fenced",
                                p.intent.writer_id,
                                k.intent.epoch.min(p.intent.epoch),
                                k.intent.epoch.max(p.intent.epoch)
                            ),
                        );
                        if p.intent.epoch < k.intent.epoch {
                            p.answer(Err(e));
                        } else if let Some(old) = keep.pop() {
                            old.answer(Err(e));
                            keep.push(p);
                        }
                    }
                    _ => keep.push(p),
                }
            }
        }
    }
    if duplicates > 0 {
        let mut stats = lock(&shared.stats);
        stats.duplicates += duplicates;
        stats.intents += duplicates;
    }
    if keep.is_empty() {
        return Ok(());
    }
    let twin_count = twins.len();

    // Writer progress: one update per writer, its highest seq; watermarks never go
    // backwards.
    let mut progress: Vec<WriterProgressUpdate> = Vec::new();
    for p in &keep {
        let watermark = p.intent.watermark_ms;
        match progress.last_mut() {
            Some(last) if last.writer_id == p.intent.writer_id => {
                last.seq = last.seq.max(p.intent.seq);
                last.watermark = last.watermark.max(watermark);
            }
            _ => {
                let stored_wm = stored.get(&p.intent.writer_id).and_then(|s| s.watermark);
                progress.push(WriterProgressUpdate {
                    writer_id: p.intent.writer_id.clone(),
                    epoch: p.intent.epoch,
                    seq: p.intent.seq,
                    snapshot_id: None,
                    watermark: watermark.max(stored_wm),
                });
            }
        }
    }
    let mut watermarks: HashMap<&str, i64> = stored
        .iter()
        .filter_map(|(id, w)| w.watermark.map(|wm| (id.as_str(), wm)))
        .collect();
    for u in &progress {
        if let Some(wm) = u.watermark {
            watermarks.insert(u.writer_id.as_str(), wm);
        }
    }
    let low_watermark = watermarks.values().min().copied();

    let files: Vec<DataFile> = keep
        .iter()
        .flat_map(|p| p.intent.data_files.iter().cloned())
        .collect();
    let mut tx = table.new_transaction();
    let commit = if files.is_empty() {
        // Progress only (e.g. a watermark moving on an idle stream).
        floe_catalog::TableCommit::new(ident.clone(), Vec::new(), Vec::new())
    } else {
        let merge = table
            .properties()
            .get(MANIFEST_MERGE_ENABLED)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let mut update = match (merge, shared.config.merge_fan_in) {
            (true, _) => SnapshotUpdate::merge_append(),
            (false, Some(fan_in)) => SnapshotUpdate::fast_append().merge_newest_manifests(fan_in),
            (false, None) => SnapshotUpdate::fast_append(),
        }
        .add_data_files(files)
        .set_summary(GROUP_SIZE_SUMMARY_KEY, keep.len().to_string());
        if let Some(wm) = low_watermark {
            update = update.set_summary(WATERMARK_SUMMARY_KEY, wm.to_string());
        }
        tx.add(update);
        match tx.attempt().await {
            Ok(Some((commit, _))) => commit,
            Ok(None) => floe_catalog::TableCommit::new(ident.clone(), Vec::new(), Vec::new()),
            Err(e) => {
                tx.cleanup(&HashSet::new(), true).await;
                let all: Vec<Pending> = keep.into_iter().chain(twins).collect();
                return fail_or_retry(&e, all);
            }
        }
    };
    let mut commit = commit;
    commit.writer_progress = progress;
    let result = shared.catalog.commit(vec![commit], None).await;
    let all: Vec<Pending> = keep.into_iter().chain(twins).collect();
    match result {
        Ok(r) => match r.status {
            CommitStatus::Committed | CommitStatus::Unchanged => {
                let Some(loaded) = r.tables.into_iter().next() else {
                    let e = Error::new(
                        ErrorKind::Unexpected,
                        format!("commit of {ident} returned no table"),
                    );
                    for p in all {
                        p.answer(Err(shared_error(&e)));
                    }
                    return Ok(());
                };
                let snapshot = loaded
                    .metadata
                    .current_snapshot()
                    .map(|s| (s.snapshot_id, s.sequence_number));
                let (snapshot_id, sequence_number) = snapshot.unwrap_or((-1, -1));
                {
                    let mut stats = lock(&shared.stats);
                    stats.commits += u64::from(r.status == CommitStatus::Committed);
                    stats.intents += all.len() as u64;
                }
                let first_twin = all.len() - twin_count;
                for (i, p) in all.into_iter().enumerate() {
                    p.answer(Ok(AppendAck {
                        snapshot_id,
                        sequence_number,
                        duplicate: i >= first_twin,
                    }));
                }
                Ok(())
            }
            CommitStatus::Duplicate { .. } | CommitStatus::Replayed => {
                // A writer's progress moved meanwhile: re-check the group.
                tx.cleanup(&HashSet::new(), false).await;
                Err(all)
            }
        },
        Err(e) => {
            if e.kind() != ErrorKind::CommitStateUnknown {
                tx.cleanup(&HashSet::new(), false).await;
            }
            fail_or_retry(&e, all)
        }
    }
}

/// A lost race (or a fence found inside the transaction) is retried; any other error
/// answers every intent.
fn fail_or_retry(e: &Error, all: Vec<Pending>) -> std::result::Result<(), Vec<Pending>> {
    if e.kind() == ErrorKind::CommitFailed {
        return Err(all);
    }
    for p in all {
        p.answer(Err(shared_error(e)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_waits_stay_below_a_doubling_cap() {
        for attempt in 2..20_u32 {
            let cap = Duration::from_millis(1 << (attempt - 2).min(7));
            for _ in 0..50 {
                assert!(retry_wait(attempt) < cap, "attempt {attempt}");
            }
        }
        // Waits are spread out, not one fixed value.
        let waits: HashSet<Duration> = (0..50).map(|_| retry_wait(10)).collect();
        assert!(waits.len() > 10, "{waits:?}");
    }
}
