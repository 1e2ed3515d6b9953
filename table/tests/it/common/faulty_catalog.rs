//! A catalog wrapper for fault injection: commits go to a real [`SqlCatalog`] unless a
//! fault is armed for them (fail, hold, answer late, answer `CommitStateUnknown`), or
//! the wrapper captures commits instead of making them. Everything else is forwarded.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use floe_catalog::{
    Catalog, CommitResult, CommitStatus, Error, ErrorKind, LoadedTable, Namespace, NamespaceIdent,
    NamespacePropertiesUpdate, SqlCatalog, StagedTable, TableCommit, TableCreation, TableIdent,
    WriterProgress,
};
use floe_table::Table;
use tokio::sync::{Notify, oneshot};

/// What one commit does, armed with [`FaultyCatalog::arm`].
pub enum Fault {
    /// Fails with this kind without committing.
    Fail(ErrorKind),
    /// Commits (if `commit`) or not, then answers `CommitStateUnknown`.
    Unknown { commit: bool },
    /// Signals `entered`, then waits for `release` before committing.
    Hold {
        entered: oneshot::Sender<()>,
        release: Arc<Notify>,
    },
    /// Commits, signals `committed`, then waits a while before answering.
    AfterCommit { committed: oneshot::Sender<()> },
}

/// A catalog whose next commits meet the armed faults, in order; commits without a
/// fault are made, or captured by a [`FaultyCatalog::capturing`] one.
pub struct FaultyCatalog {
    inner: Arc<SqlCatalog>,
    faults: Mutex<VecDeque<Fault>>,
    commits: AtomicUsize,
    injected: AtomicUsize,
    capture: bool,
    captured: Mutex<Vec<TableCommit>>,
}

impl std::fmt::Debug for FaultyCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyCatalog").finish_non_exhaustive()
    }
}

impl FaultyCatalog {
    pub fn new(inner: Arc<SqlCatalog>) -> Arc<Self> {
        Self::with(inner, false)
    }

    /// A catalog that records commits instead of making them, answering as if they
    /// were made: the transaction keeps its files, and the test holds the request a
    /// client would have sent ([`FaultyCatalog::take_captured`]).
    pub fn capturing(inner: Arc<SqlCatalog>) -> Arc<Self> {
        Self::with(inner, true)
    }

    fn with(inner: Arc<SqlCatalog>, capture: bool) -> Arc<Self> {
        Arc::new(Self {
            inner,
            faults: Mutex::new(VecDeque::new()),
            commits: AtomicUsize::new(0),
            injected: AtomicUsize::new(0),
            capture,
            captured: Mutex::new(Vec::new()),
        })
    }

    /// Table `ident` loaded through this catalog.
    pub async fn table(self: &Arc<Self>, ident: &TableIdent) -> Table {
        let store = self.inner.warehouse().store().clone();
        Table::load(self.clone(), ident, store).await.unwrap()
    }

    /// Arms `fault` for the first commit that meets no fault armed before it.
    pub fn arm(&self, fault: Fault) {
        self.faults.lock().unwrap().push_back(fault);
    }

    /// Arms a [`Fault::Hold`] for the next commit: returns the signal that it was
    /// entered and the notification that releases it.
    pub fn hold(&self) -> (oneshot::Receiver<()>, Arc<Notify>) {
        let (entered, entered_rx) = oneshot::channel();
        let release = Arc::new(Notify::new());
        self.arm(Fault::Hold {
            entered,
            release: release.clone(),
        });
        (entered_rx, release)
    }

    /// How many commits were asked for (each attempt counts).
    pub fn commits(&self) -> usize {
        self.commits.load(Ordering::SeqCst)
    }

    /// How many commits met an armed fault.
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::SeqCst)
    }

    /// The commits captured so far, oldest first; the list is emptied.
    pub fn take_captured(&self) -> Vec<TableCommit> {
        std::mem::take(&mut *self.captured.lock().unwrap())
    }

    async fn capture(&self, c: Vec<TableCommit>) -> R<CommitResult> {
        let mut tables = Vec::new();
        for t in &c {
            tables.push(self.inner.load_table(&t.ident).await?);
        }
        self.captured.lock().unwrap().extend(c);
        Ok(CommitResult {
            status: CommitStatus::Committed,
            tables,
        })
    }
}

type R<T> = floe_catalog::Result<T>;

#[async_trait]
impl Catalog for FaultyCatalog {
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
    async fn rename_table(&self, from: &TableIdent, to: &TableIdent) -> R<()> {
        self.inner.rename_table(from, to).await
    }
    async fn register_table(&self, t: &TableIdent, l: &str) -> R<LoadedTable> {
        self.inner.register_table(t, l).await
    }
    async fn commit(&self, c: Vec<TableCommit>, key: Option<String>) -> R<CommitResult> {
        self.commits.fetch_add(1, Ordering::SeqCst);
        let fault = self.faults.lock().unwrap().pop_front();
        if fault.is_some() {
            self.injected.fetch_add(1, Ordering::SeqCst);
        }
        match fault {
            None if self.capture => self.capture(c).await,
            None => self.inner.commit(c, key).await,
            Some(Fault::Fail(kind)) => Err(Error::new(kind, "injected")),
            Some(Fault::Unknown { commit }) => {
                if commit {
                    self.inner.commit(c, key).await?;
                }
                Err(Error::new(
                    ErrorKind::CommitStateUnknown,
                    "injected: the commit outcome is unknown",
                ))
            }
            Some(Fault::Hold { entered, release }) => {
                let _ = entered.send(());
                release.notified().await;
                self.inner.commit(c, key).await
            }
            Some(Fault::AfterCommit { committed }) => {
                let result = self.inner.commit(c, key).await;
                let _ = committed.send(());
                tokio::time::sleep(Duration::from_millis(100)).await;
                result
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
