//! Exactly-once under faults: a stream writer is killed at random points — with rows
//! buffered, with its micro-batch written and its commit held, right after its commit
//! before the answer — and restarted from its stored progress, 50 times; the table
//! holds every input row exactly once, and killed (fenced) instances never commit.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use floe_catalog::{
    Catalog, CommitResult, LoadedTable, Namespace, NamespaceIdent, NamespacePropertiesUpdate,
    SqlCatalog, StagedTable, TableCommit, TableCreation, TableIdent, WriterProgress,
};
use floe_table::Table;
use floe_table::stream::{StreamWriter, StreamWriterConfig};
use tokio::sync::{Notify, oneshot};

use super::{Db, Env, assert_exactly_once, scan_ids};
use crate::transaction::batch;

/// What the next commit does.
pub enum Fault {
    /// Signals `entered`, then waits for `release` before committing.
    Hold {
        entered: oneshot::Sender<()>,
        release: Arc<Notify>,
    },
    /// Commits, signals `committed`, then waits a while before answering.
    AfterCommit { committed: oneshot::Sender<()> },
    /// Commits (if `commit`) or not, then answers `CommitStateUnknown`.
    Unknown { commit: bool },
}

/// A catalog whose next commit can be held or followed by a signal.
pub struct FaultCatalog {
    pub inner: Arc<SqlCatalog>,
    next: Mutex<Option<Fault>>,
}

impl std::fmt::Debug for FaultCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultCatalog").finish_non_exhaustive()
    }
}

impl FaultCatalog {
    pub fn new(inner: Arc<SqlCatalog>) -> Self {
        Self {
            inner,
            next: Mutex::new(None),
        }
    }

    /// Arms `fault` for the next commit.
    pub fn arm(&self, fault: Fault) {
        *self.next.lock().unwrap() = Some(fault);
    }
}

type R<T> = floe_catalog::Result<T>;

#[async_trait]
impl Catalog for FaultCatalog {
    async fn list_namespaces(&self, p: Option<&NamespaceIdent>) -> R<Vec<NamespaceIdent>> {
        self.inner.list_namespaces(p).await
    }
    async fn create_namespace(
        &self,
        n: &NamespaceIdent,
        p: HashMap<String, String>,
    ) -> R<Namespace> {
        self.inner.create_namespace(n, p).await
    }
    async fn load_namespace(&self, n: &NamespaceIdent) -> R<Namespace> {
        self.inner.load_namespace(n).await
    }
    async fn namespace_exists(&self, n: &NamespaceIdent) -> R<bool> {
        self.inner.namespace_exists(n).await
    }
    async fn update_namespace_properties(
        &self,
        n: &NamespaceIdent,
        r: Vec<String>,
        u: HashMap<String, String>,
    ) -> R<NamespacePropertiesUpdate> {
        self.inner.update_namespace_properties(n, r, u).await
    }
    async fn drop_namespace(&self, n: &NamespaceIdent) -> R<()> {
        self.inner.drop_namespace(n).await
    }
    async fn list_tables(&self, n: &NamespaceIdent) -> R<Vec<TableIdent>> {
        self.inner.list_tables(n).await
    }
    async fn create_table(&self, n: &NamespaceIdent, c: TableCreation) -> R<LoadedTable> {
        self.inner.create_table(n, c).await
    }
    async fn stage_create_table(&self, n: &NamespaceIdent, c: TableCreation) -> R<StagedTable> {
        self.inner.stage_create_table(n, c).await
    }
    async fn load_table(&self, t: &TableIdent) -> R<LoadedTable> {
        self.inner.load_table(t).await
    }
    async fn table_exists(&self, t: &TableIdent) -> R<bool> {
        self.inner.table_exists(t).await
    }
    async fn drop_table(&self, t: &TableIdent, purge: bool) -> R<()> {
        self.inner.drop_table(t, purge).await
    }
    async fn rename_table(&self, f: &TableIdent, t: &TableIdent) -> R<()> {
        self.inner.rename_table(f, t).await
    }
    async fn register_table(&self, t: &TableIdent, l: &str) -> R<LoadedTable> {
        self.inner.register_table(t, l).await
    }
    async fn commit(&self, c: Vec<TableCommit>, k: Option<String>) -> R<CommitResult> {
        let fault = self.next.lock().unwrap().take();
        match fault {
            None => self.inner.commit(c, k).await,
            Some(Fault::Hold { entered, release }) => {
                let _ = entered.send(());
                release.notified().await;
                self.inner.commit(c, k).await
            }
            Some(Fault::AfterCommit { committed }) => {
                let result = self.inner.commit(c, k).await;
                let _ = committed.send(());
                tokio::time::sleep(Duration::from_millis(100)).await;
                result
            }
            Some(Fault::Unknown { commit }) => {
                if commit {
                    self.inner.commit(c, k).await?;
                }
                Err(floe_catalog::Error::new(
                    floe_catalog::ErrorKind::CommitStateUnknown,
                    "injected: the commit outcome is unknown",
                ))
            }
        }
    }
    async fn writer_progress(&self, t: &TableIdent, w: &str) -> R<Option<WriterProgress>> {
        self.inner.writer_progress(t, w).await
    }
    async fn list_writers(&self, t: &TableIdent) -> R<Vec<WriterProgress>> {
        self.inner.list_writers(t).await
    }
    async fn open_writer(&self, t: &TableIdent, w: &str) -> R<WriterProgress> {
        self.inner.open_writer(t, w).await
    }
}

/// A small deterministic random source (the seed is printed on failure).
pub struct Lcg(u64);

impl Lcg {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

const CHUNK: i64 = 10;
const CHUNKS: i64 = 300;
const LIVES: usize = 50;

/// Writes chunk `k` (rows `k*CHUNK..`) as one micro-batch.
async fn write_chunk(w: &StreamWriter, table: &Table, k: i64) {
    let cat = if k % 3 == 0 { "a" } else { "b" };
    w.write(&batch(table, k * CHUNK..(k + 1) * CHUNK, cat))
        .await
        .unwrap();
}

async fn killed_and_restarted(db: Db, seed: u64) {
    let env = Env::new(db).await;
    let table = env.create("t", true).await;
    let faults = Arc::new(FaultCatalog::new(env.catalog.clone()));
    let catalog: Arc<dyn Catalog> = faults.clone();
    let store = env.catalog.warehouse().store().clone();
    let table = Table::load(catalog.clone(), table.ident(), store)
        .await
        .unwrap();
    let committer = env.committer_on(catalog.clone(), 1);
    let config = StreamWriterConfig {
        max_rows: usize::MAX,
        max_bytes: usize::MAX,
        max_delay: Duration::from_hours(1),
        ..StreamWriterConfig::new("stream-1")
    };
    let mut rng = Lcg(seed);
    let mut last_epoch = 0;
    for _life in 0..LIVES {
        let w = StreamWriter::open(table.clone(), committer.clone(), config.clone())
            .await
            .unwrap();
        assert!(
            w.epoch() > last_epoch,
            "seed {seed}: the epoch did not grow"
        );
        last_epoch = w.epoch();
        let mut next = w.next_seq();
        // Some clean micro-batches, then a kill at a random point.
        for _ in 0..rng.below(3) {
            write_chunk(&w, &table, next).await;
            w.flush().await.unwrap();
            next += 1;
        }
        write_chunk(&w, &table, next).await;
        match rng.below(4) {
            // Killed with rows buffered.
            0 => w.abort(),
            // Killed with the micro-batch written and its commit held.
            1 | 2 => {
                let (entered, entered_rx) = oneshot::channel();
                let release = Arc::new(Notify::new());
                faults.arm(Fault::Hold {
                    entered,
                    release: release.clone(),
                });
                let flush = tokio::spawn(async move {
                    let _ = w.flush().await;
                    w
                });
                entered_rx.await.unwrap();
                flush.abort();
                if rng.below(2) == 0 {
                    // Released before the restart: the batch may commit.
                    release.notify_one();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                } else {
                    // Released after the restart opened: the old epoch is fenced.
                    let restarted =
                        StreamWriter::open(table.clone(), committer.clone(), config.clone())
                            .await
                            .unwrap();
                    last_epoch = restarted.epoch();
                    let resume = restarted.next_seq();
                    release.notify_one();
                    // The restarted instance commits its next batch; the zombie's
                    // batch never shows up.
                    write_chunk(&restarted, &table, resume).await;
                    restarted.flush().await.unwrap();
                    let progress = catalog
                        .writer_progress(table.ident(), "stream-1")
                        .await
                        .unwrap()
                        .unwrap();
                    assert_eq!(
                        progress.last_seq, resume,
                        "seed {seed}: a fenced zombie committed"
                    );
                    assert_eq!(progress.epoch, restarted.epoch());
                    restarted.abort();
                }
            }
            // Killed after the commit, before the answer.
            _ => {
                let (committed, committed_rx) = oneshot::channel();
                faults.arm(Fault::AfterCommit { committed });
                let flush = tokio::spawn(async move {
                    let _ = w.flush().await;
                    w
                });
                committed_rx.await.unwrap();
                flush.abort();
            }
        }
    }
    // The last instance finishes the input.
    let w = StreamWriter::open(table.clone(), committer.clone(), config.clone())
        .await
        .unwrap();
    let mut next = w.next_seq();
    assert!(next < CHUNKS, "seed {seed}: more chunks needed");
    while next < CHUNKS {
        write_chunk(&w, &table, next).await;
        if next % 4 == 3 || next == CHUNKS - 1 {
            // Several chunks per micro-batch now: the seq no longer maps to a chunk,
            // which is fine for the last instance.
            w.flush().await.unwrap();
        }
        next += 1;
    }
    w.close().await.unwrap();
    let table = Table::load(
        catalog.clone(),
        table.ident(),
        env.catalog.warehouse().store().clone(),
    )
    .await
    .unwrap();
    let ids = scan_ids(&table).await;
    assert_exactly_once(&ids, CHUNKS * CHUNK);
    // Killed instances whose commits were held until after a restart never committed:
    // every micro-batch of the table is a whole chunk or a run of chunks.
    assert_eq!(ids.len() as i64, CHUNKS * CHUNK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_and_restarted_sqlite() {
    killed_and_restarted(Db::Sqlite, 0x5eed_0001).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_and_restarted_postgres() {
    killed_and_restarted(Db::Postgres, 0x5eed_0002).await;
}
