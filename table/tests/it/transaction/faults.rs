//! Commit outcomes injected by a catalog wrapper: lost races are retried with a new
//! manifest list and the lost attempts' files are cleaned up; `CommitStateUnknown` is
//! neither retried nor cleaned up; other failures clean up everything the transaction
//! wrote.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use floe_catalog::{
    Catalog, CommitResult, LoadedTable, Namespace, NamespaceIdent, NamespacePropertiesUpdate,
    SqlCatalog, StagedTable, TableCommit, TableCreation, TableIdent, WriterProgress,
};
use floe_table::{Error, ErrorKind, Table};

use super::{Env, batch, live_records};

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Fail with this kind without committing.
    Before(ErrorKind),
    /// Commit, then answer CommitStateUnknown.
    UnknownAfter,
}

#[derive(Debug)]
struct FaultyCatalog {
    inner: Arc<SqlCatalog>,
    faults: Mutex<VecDeque<Fault>>,
    commits: Mutex<usize>,
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
    async fn rename_table(&self, a: &TableIdent, b: &TableIdent) -> R<()> {
        self.inner.rename_table(a, b).await
    }
    async fn register_table(&self, t: &TableIdent, l: &str) -> R<LoadedTable> {
        self.inner.register_table(t, l).await
    }
    async fn commit(&self, c: Vec<TableCommit>, key: Option<String>) -> R<CommitResult> {
        *self.commits.lock().unwrap() += 1;
        let fault = self.faults.lock().unwrap().pop_front();
        match fault {
            Some(Fault::Before(kind)) => Err(Error::new(kind, "injected")),
            Some(Fault::UnknownAfter) => {
                self.inner.commit(c, key).await?;
                Err(Error::new(
                    ErrorKind::CommitStateUnknown,
                    "injected: timeout",
                ))
            }
            None => self.inner.commit(c, key).await,
        }
    }
    async fn writer_progress(&self, t: &TableIdent, w: &str) -> R<Option<WriterProgress>> {
        self.inner.writer_progress(t, w).await
    }
    async fn list_writers(&self, t: &TableIdent) -> R<Vec<WriterProgress>> {
        self.inner.list_writers(t).await
    }
}

async fn faulty(env: &Env, faults: &[Fault]) -> (Table, Arc<FaultyCatalog>) {
    let plain = env.create("t", false, &[]).await;
    plain.append(vec![batch(&plain, 0..5, "a")]).await.unwrap();
    let catalog = Arc::new(FaultyCatalog {
        inner: env.catalog.clone(),
        faults: Mutex::new(faults.iter().copied().collect()),
        commits: Mutex::new(0),
    });
    let store = env.catalog.warehouse().store().clone();
    let t = Table::load(catalog.clone(), &Env::ident("t"), store)
        .await
        .unwrap();
    (t, catalog)
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
    let env = Env::new().await;
    let fails = [Fault::Before(ErrorKind::CommitFailed); 2];
    let (t, catalog) = faulty(&env, &fails).await;
    let before = files(&t);
    let t = t.append(vec![batch(&t, 5..8, "a")]).await.unwrap();
    assert_eq!(*catalog.commits.lock().unwrap(), 3);
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
    for fault in [
        Fault::Before(ErrorKind::CommitStateUnknown),
        Fault::UnknownAfter,
    ] {
        let env = Env::new().await;
        let (t, catalog) = faulty(&env, &[fault]).await;
        let before = avro_and_parquet(&files(&t)).len();
        let err = t.append(vec![batch(&t, 5..8, "a")]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::CommitStateUnknown, "{err}");
        assert_eq!(*catalog.commits.lock().unwrap(), 1, "no retry");
        assert_eq!(
            avro_and_parquet(&files(&t)).len(),
            before + 3,
            "the files may be committed: kept"
        );
        let mut check = env.load("t").await;
        check.refresh().await.unwrap();
        let expected = if matches!(fault, Fault::UnknownAfter) {
            8
        } else {
            5
        };
        assert_eq!(live_records(&check).await, expected);
    }
}

#[tokio::test]
async fn other_failures_clean_up_everything_written() {
    let env = Env::new().await;
    let (t, _) = faulty(&env, &[Fault::Before(ErrorKind::Io)]).await;
    let before = files(&t);
    let err = t.append(vec![batch(&t, 5..8, "a")]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert_eq!(files(&t), before, "data file, manifest and list deleted");
}
