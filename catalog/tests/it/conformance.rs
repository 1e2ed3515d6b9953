//! The catalog conformance suite: the same checks on every implementation of
//! [`Catalog`] — `SqlCatalog` on SQLite and PostgreSQL (this crate's tests) and
//! `RestCatalog` against a running `floe serve` (floe-client's tests, which include this
//! file with `#[path]`). A backend plugs in through [`Harness`]; the
//! [`conformance_tests!`] macro declares one test per check.
//!
//! Checks that only a SQL catalog can make (its cache statistics, external-location
//! settings, writer progress inside a commit) stay in `suite.rs`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use floe_catalog::{
    Catalog, CommitStatus, ErrorKind, LoadedTable, NamespaceIdent, TableCommit, TableCreation,
    TableIdent,
};
use floe_spec::commit::{TableRequirement, TableUpdate};
use floe_spec::schema::Schema;
use floe_spec::snapshot::{Operation, Snapshot, SnapshotReference, Summary};
use floe_spec::table_metadata::TableMetadata;
use floe_spec::types::{NestedField, PrimitiveType, Type};

/// A catalog under test, with the warehouse behind it on the local disk.
pub trait Harness {
    /// A new handle on the catalog (its own connections).
    async fn catalog(&self) -> Arc<dyn Catalog>;
    /// The warehouse folder.
    fn warehouse_dir(&self) -> &Path;
    /// The warehouse root as table locations spell it (`file:///…`).
    fn warehouse_root(&self) -> String;
    /// Whether commit results tell `Unchanged` and `Replayed` apart from `Committed`
    /// (the REST API does not).
    fn exact_commit_status(&self) -> bool;
    /// Forgets idempotency keys recorded before `before_ms` (a backend maintenance
    /// job); returns how many.
    async fn expire_idempotency_keys(&self, before_ms: i64) -> u64;
}

/// Declares one `#[tokio::test]` per conformance check, each on a harness made by the
/// async function `$new`.
macro_rules! conformance_tests {
    ($new:path) => {
        $crate::conformance::conformance_tests!(@each $new;
            namespaces,
            namespace_errors,
            table_lifecycle,
            table_errors,
            rename,
            drop_and_purge,
            register,
            locations,
            commit_and_requirements,
            staged_create,
            multi_table_atomicity,
            idempotency_key,
            metadata_log_cleanup,
        );
    };
    (@each $new:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let h = $new().await;
                $crate::conformance::$name(&h).await;
            }
        )*
    };
}
pub(crate) use conformance_tests;

// ---- helpers ----

pub fn ns(levels: &[&str]) -> NamespaceIdent {
    NamespaceIdent::new(levels.iter().copied()).unwrap()
}

pub fn tid(levels: &[&str], name: &str) -> TableIdent {
    TableIdent::new(ns(levels), name).unwrap()
}

pub fn schema() -> Schema {
    Schema::builder()
        .with_fields([
            NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
            NestedField::optional(2, "data", Type::Primitive(PrimitiveType::String)),
        ])
        .build()
        .unwrap()
}

pub fn creation(name: &str) -> TableCreation {
    TableCreation::new(name, schema())
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// The commit a writer sends to append snapshot `id` on top of `meta`'s main branch.
pub fn append_commit(ident: &TableIdent, meta: &TableMetadata, id: i64) -> TableCommit {
    let parent = meta.current_snapshot_id();
    let snapshot = Snapshot {
        snapshot_id: id,
        parent_snapshot_id: parent,
        sequence_number: meta.last_sequence_number() + 1,
        timestamp_ms: now_ms().max(meta.last_updated_ms()),
        manifest_list: format!("{}/metadata/snap-{id}-1-x.avro", meta.location()),
        summary: Summary {
            operation: Operation::Append,
            additional_properties: HashMap::new(),
        },
        schema_id: Some(meta.current_schema_id()),
        first_row_id: None,
        added_rows: None,
        key_id: None,
    };
    TableCommit::new(
        ident.clone(),
        vec![TableRequirement::AssertRefSnapshotId {
            r#ref: "main".into(),
            snapshot_id: parent,
        }],
        vec![
            TableUpdate::AddSnapshot { snapshot },
            TableUpdate::set_snapshot_ref("main", &SnapshotReference::branch(id)),
        ],
    )
}

/// Creating table `db.out` at a location outside the warehouse is refused.
pub async fn refuses_outside_location(c: &dyn Catalog) {
    let mut outside = creation("out");
    outside.location = Some("/tmp/floe-not-the-warehouse/out".into());
    assert_kind(
        c.create_table(&ns(&["db"]), outside).await,
        ErrorKind::DataInvalid,
    );
}

/// A commit that sets one property (a metadata-only change).
pub fn set_property(ident: &TableIdent, key: &str, value: &str) -> TableCommit {
    TableCommit::new(
        ident.clone(),
        vec![],
        vec![TableUpdate::SetProperties {
            updates: HashMap::from([(key.to_owned(), value.to_owned())]),
        }],
    )
}

/// Creates namespace `db` and table `db.t`.
pub async fn table(catalog: &dyn Catalog) -> LoadedTable {
    catalog
        .create_namespace(&ns(&["db"]), HashMap::new())
        .await
        .unwrap();
    catalog
        .create_table(&ns(&["db"]), creation("t"))
        .await
        .unwrap()
}

/// Asserts that `result` failed with `kind`.
#[track_caller]
pub fn assert_kind<T: std::fmt::Debug>(result: floe_catalog::Result<T>, kind: ErrorKind) {
    match result {
        Ok(v) => panic!("expected a {kind:?} error, got Ok({v:?})"),
        Err(e) => assert_eq!(e.kind(), kind, "unexpected error: {e}"),
    }
}

/// Files under a folder, recursively.
pub fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

// ---- checks ----

pub async fn namespaces<H: Harness>(h: &H) {
    let c = h.catalog().await;
    let c = c.as_ref();
    let props = HashMap::from([("owner".to_owned(), "ana".to_owned())]);
    let created = c
        .create_namespace(&ns(&["a"]), props.clone())
        .await
        .unwrap();
    assert_eq!(created.properties, props);
    c.create_namespace(&ns(&["b"]), HashMap::new())
        .await
        .unwrap();
    c.create_namespace(&ns(&["a", "x"]), HashMap::new())
        .await
        .unwrap();
    c.create_namespace(&ns(&["a", "x", "deep"]), HashMap::new())
        .await
        .unwrap();

    assert_eq!(
        c.list_namespaces(None).await.unwrap(),
        vec![ns(&["a"]), ns(&["b"])]
    );
    assert_eq!(
        c.list_namespaces(Some(&ns(&["a"]))).await.unwrap(),
        vec![ns(&["a", "x"])]
    );
    assert!(
        c.list_namespaces(Some(&ns(&["b"])))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        c.load_namespace(&ns(&["a"])).await.unwrap().properties,
        props
    );
    assert!(c.namespace_exists(&ns(&["a", "x"])).await.unwrap());
    assert!(!c.namespace_exists(&ns(&["zzz"])).await.unwrap());

    let update = c
        .update_namespace_properties(
            &ns(&["a"]),
            vec!["owner".into(), "nope".into()],
            HashMap::from([("k".to_owned(), "v".to_owned())]),
        )
        .await
        .unwrap();
    assert_eq!(update.updated, vec!["k".to_owned()]);
    assert_eq!(update.removed, vec!["owner".to_owned()]);
    assert_eq!(update.missing, vec!["nope".to_owned()]);
    assert_eq!(
        c.load_namespace(&ns(&["a"])).await.unwrap().properties,
        HashMap::from([("k".to_owned(), "v".to_owned())])
    );

    c.drop_namespace(&ns(&["a", "x", "deep"])).await.unwrap();
    c.drop_namespace(&ns(&["a", "x"])).await.unwrap();
    c.drop_namespace(&ns(&["a"])).await.unwrap();
    assert_eq!(c.list_namespaces(None).await.unwrap(), vec![ns(&["b"])]);
}

pub async fn namespace_errors<H: Harness>(h: &H) {
    let c = h.catalog().await;
    let c = c.as_ref();
    c.create_namespace(&ns(&["a"]), HashMap::new())
        .await
        .unwrap();
    assert_kind(
        c.create_namespace(&ns(&["a"]), HashMap::new()).await,
        ErrorKind::AlreadyExists,
    );
    assert_kind(
        c.load_namespace(&ns(&["nope"])).await,
        ErrorKind::NoSuchNamespace,
    );
    assert_kind(
        c.drop_namespace(&ns(&["nope"])).await,
        ErrorKind::NoSuchNamespace,
    );
    assert_kind(
        c.list_namespaces(Some(&ns(&["nope"]))).await,
        ErrorKind::NoSuchNamespace,
    );
    assert_kind(
        c.create_namespace(&ns(&["nope", "child"]), HashMap::new())
            .await,
        ErrorKind::NoSuchNamespace,
    );
    assert_kind(
        c.update_namespace_properties(&ns(&["nope"]), vec![], HashMap::new())
            .await,
        ErrorKind::NoSuchNamespace,
    );
    assert_kind(
        c.update_namespace_properties(
            &ns(&["a"]),
            vec!["k".into()],
            HashMap::from([("k".to_owned(), "v".to_owned())]),
        )
        .await,
        ErrorKind::DataInvalid,
    );
    // Not empty: a child namespace, then a table.
    c.create_namespace(&ns(&["a", "b"]), HashMap::new())
        .await
        .unwrap();
    assert_kind(
        c.drop_namespace(&ns(&["a"])).await,
        ErrorKind::NamespaceNotEmpty,
    );
    c.drop_namespace(&ns(&["a", "b"])).await.unwrap();
    c.create_table(&ns(&["a"]), creation("t")).await.unwrap();
    assert_kind(
        c.drop_namespace(&ns(&["a"])).await,
        ErrorKind::NamespaceNotEmpty,
    );
    // Invalid identifiers never reach the database.
    for bad in ["", "..", "a/b", "a\u{7}b"] {
        assert!(NamespaceIdent::new([bad]).is_err(), "{bad:?}");
    }
    assert_kind(
        c.create_table(&ns(&["a"]), creation("x/y")).await,
        ErrorKind::DataInvalid,
    );
    let sneaky = TableIdent {
        namespace: ns(&["a"]),
        name: "..".into(),
    };
    assert_kind(c.load_table(&sneaky).await, ErrorKind::DataInvalid);
}

pub async fn table_lifecycle<H: Harness>(h: &H) {
    let c = h.catalog().await;
    let c = c.as_ref();
    let t = table(c).await;
    let location = t.metadata_location.clone().unwrap();
    assert!(location.contains("/db/t/metadata/00000-"), "{location}");
    assert!(location.ends_with(".metadata.json"));
    let meta = &t.metadata;
    assert_eq!(meta.location(), format!("{}/db/t", h.warehouse_root()));
    assert_eq!(meta.current_schema().fields().len(), 2);
    assert!(meta.current_snapshot_id().is_none());

    let loaded = c.load_table(&tid(&["db"], "t")).await.unwrap();
    assert_eq!(loaded.metadata_location.as_deref(), Some(location.as_str()));
    assert_eq!(loaded.metadata.table_uuid(), meta.table_uuid());
    assert!(c.table_exists(&tid(&["db"], "t")).await.unwrap());
    assert!(!c.table_exists(&tid(&["db"], "u")).await.unwrap());

    c.create_table(&ns(&["db"]), creation("a")).await.unwrap();
    assert_eq!(
        c.list_tables(&ns(&["db"])).await.unwrap(),
        vec![tid(&["db"], "a"), tid(&["db"], "t")]
    );

    // The metadata file on disk is what the catalog returns.
    let path = url::Url::parse(&location).unwrap().to_file_path().unwrap();
    let on_disk =
        floe_spec::table_metadata::TableMetadata::from_json_slice(&std::fs::read(path).unwrap())
            .unwrap();
    assert_eq!(&on_disk, loaded.metadata.as_ref());

    // A second handle (another pool) sees the same table.
    let other = h.catalog().await;
    assert_eq!(
        other
            .load_table(&tid(&["db"], "t"))
            .await
            .unwrap()
            .metadata_location,
        Some(location)
    );
}

pub async fn table_errors<H: Harness>(h: &H) {
    let c = h.catalog().await;
    let c = c.as_ref();
    table(c).await;
    assert_kind(
        c.create_table(&ns(&["db"]), creation("t")).await,
        ErrorKind::AlreadyExists,
    );
    assert_kind(
        c.create_table(&ns(&["nope"]), creation("t")).await,
        ErrorKind::NoSuchNamespace,
    );
    assert_kind(
        c.stage_create_table(&ns(&["nope"]), creation("t")).await,
        ErrorKind::NoSuchNamespace,
    );
    assert_kind(
        c.load_table(&tid(&["db"], "nope")).await,
        ErrorKind::NoSuchTable,
    );
    assert_kind(
        c.list_tables(&ns(&["nope"])).await,
        ErrorKind::NoSuchNamespace,
    );
    assert_kind(
        c.drop_table(&tid(&["db"], "nope"), false).await,
        ErrorKind::NoSuchTable,
    );
    assert_kind(
        c.commit_table(set_property(&tid(&["db"], "nope"), "k", "v"))
            .await,
        ErrorKind::NoSuchTable,
    );
    let wrong_uuid = TableCommit::new(
        tid(&["db"], "t"),
        vec![TableRequirement::AssertTableUuid {
            uuid: uuid::Uuid::new_v4(),
        }],
        vec![],
    );
    assert_kind(c.commit_table(wrong_uuid).await, ErrorKind::CommitFailed);
    // Error kinds carry the Iceberg REST error types.
    assert_eq!(ErrorKind::NoSuchTable.rest_type(), "NoSuchTableException");
    assert_eq!(ErrorKind::CommitFailed.http_status(), 409);
}

pub async fn rename<H: Harness>(h: &H) {
    let c = h.catalog().await;
    let c = c.as_ref();
    let t = table(c).await;
    c.create_namespace(&ns(&["other"]), HashMap::new())
        .await
        .unwrap();
    c.create_table(&ns(&["db"]), creation("taken"))
        .await
        .unwrap();

    assert_kind(
        c.rename_table(&tid(&["db"], "t"), &tid(&["db"], "taken"))
            .await,
        ErrorKind::AlreadyExists,
    );
    assert_kind(
        c.rename_table(&tid(&["db"], "nope"), &tid(&["db"], "x"))
            .await,
        ErrorKind::NoSuchTable,
    );
    assert_kind(
        c.rename_table(&tid(&["db"], "t"), &tid(&["missing"], "x"))
            .await,
        ErrorKind::NoSuchNamespace,
    );

    c.rename_table(&tid(&["db"], "t"), &tid(&["other"], "moved"))
        .await
        .unwrap();
    assert!(!c.table_exists(&tid(&["db"], "t")).await.unwrap());
    let moved = c.load_table(&tid(&["other"], "moved")).await.unwrap();
    assert_eq!(moved.metadata_location, t.metadata_location);
    assert_eq!(moved.metadata.table_uuid(), t.metadata.table_uuid());
    // Commits keep working under the new name.
    c.commit_table(set_property(&tid(&["other"], "moved"), "k", "v"))
        .await
        .unwrap();
}

pub async fn drop_and_purge<H: Harness>(h: &H) {
    let c = h.catalog().await;
    let c = c.as_ref();
    let t = table(c).await;
    let folder = h.warehouse_dir().join("db").join("t");
    c.commit_table(set_property(&t.ident, "k", "v"))
        .await
        .unwrap();
    assert_eq!(files_under(&folder).len(), 2);

    // Without purge the files stay.
    c.drop_table(&t.ident, false).await.unwrap();
    assert!(!c.table_exists(&t.ident).await.unwrap());
    assert_eq!(files_under(&folder).len(), 2);

    // With purge they go.
    let t2 = c.create_table(&ns(&["db"]), creation("p")).await.unwrap();
    c.commit_table(set_property(&t2.ident, "k", "v"))
        .await
        .unwrap();
    let folder2 = h.warehouse_dir().join("db").join("p");
    assert_eq!(files_under(&folder2).len(), 2);
    c.drop_table(&t2.ident, true).await.unwrap();
    assert!(files_under(&folder2).is_empty());
    assert_kind(c.load_table(&t2.ident).await, ErrorKind::NoSuchTable);
    // The namespace is empty again.
    c.drop_namespace(&ns(&["db"])).await.unwrap();
}

pub async fn register<H: Harness>(h: &H) {
    let c = h.catalog().await;
    let c = c.as_ref();
    let t = table(c).await;
    let location = t.metadata_location.clone().unwrap();
    c.drop_table(&t.ident, false).await.unwrap();

    let back = c
        .register_table(&tid(&["db"], "again"), &location)
        .await
        .unwrap();
    assert_eq!(back.metadata.table_uuid(), t.metadata.table_uuid());
    assert_eq!(back.metadata_location.as_deref(), Some(location.as_str()));
    let loaded = c.load_table(&tid(&["db"], "again")).await.unwrap();
    assert_eq!(loaded.metadata.table_uuid(), t.metadata.table_uuid());

    assert_kind(
        c.register_table(&tid(&["db"], "again"), &location).await,
        ErrorKind::AlreadyExists,
    );
    assert_kind(
        c.register_table(&tid(&["nope"], "x"), &location).await,
        ErrorKind::NoSuchNamespace,
    );
    assert_kind(
        c.register_table(&tid(&["db"], "outside"), "/etc/passwd.metadata.json")
            .await,
        ErrorKind::DataInvalid,
    );
    // Commits continue the version numbering of the registered file.
    let next = c
        .commit_table(set_property(&tid(&["db"], "again"), "k", "v"))
        .await
        .unwrap();
    assert!(next.metadata_location.unwrap().contains("/metadata/00001-"));
}

pub async fn locations<H: Harness>(h: &H) {
    let c = h.catalog().await;
    let c = c.as_ref();
    c.create_namespace(&ns(&["db"]), HashMap::new())
        .await
        .unwrap();
    refuses_outside_location(c).await;
    let mut escape = creation("esc");
    escape.location = Some(format!("{}/../escape", h.warehouse_dir().display()));
    assert_kind(
        c.create_table(&ns(&["db"]), escape).await,
        ErrorKind::DataInvalid,
    );

    let mut custom = creation("custom");
    let wanted = format!("{}/custom/place/", h.warehouse_root());
    custom.location = Some(wanted.clone());
    let t = c.create_table(&ns(&["db"]), custom).await.unwrap();
    assert_eq!(t.metadata.location(), wanted.trim_end_matches('/'));

    // A set-location outside the warehouse is refused at commit.
    let bad = TableCommit::new(
        t.ident.clone(),
        vec![],
        vec![floe_spec::commit::TableUpdate::SetLocation {
            location: "file:///elsewhere".into(),
        }],
    );
    assert_kind(c.commit_table(bad).await, ErrorKind::DataInvalid);
}

pub async fn commit_and_requirements<H: Harness>(h: &H) {
    let c = h.catalog().await;
    let c = c.as_ref();
    let t = table(c).await;
    let v0 = t.metadata_location.clone().unwrap();

    let t1 = c
        .commit_table(set_property(&t.ident, "k", "v"))
        .await
        .unwrap();
    let v1 = t1.metadata_location.clone().unwrap();
    assert!(v1.contains("/metadata/00001-"), "{v1}");
    assert_eq!(
        t1.metadata.properties().get("k").map(String::as_str),
        Some("v")
    );
    assert_eq!(t1.metadata.metadata_log().last().unwrap().metadata_file, v0);

    // No effective change: same file, nothing written.
    let result = c
        .commit(vec![set_property(&t.ident, "k", "v")], None)
        .await
        .unwrap();
    if h.exact_commit_status() {
        assert_eq!(result.status, CommitStatus::Unchanged);
    }
    assert_eq!(
        result.tables[0].metadata_location.as_deref(),
        Some(v1.as_str())
    );

    // Appends with the requirement a writer sends.
    let a1 = c
        .commit_table(append_commit(&t.ident, &t1.metadata, 11))
        .await
        .unwrap();
    assert_eq!(a1.metadata.current_snapshot_id(), Some(11));
    // A stale writer (built on t1, main has moved) fails its requirement.
    assert_kind(
        c.commit_table(append_commit(&t.ident, &t1.metadata, 12))
            .await,
        ErrorKind::CommitFailed,
    );
    let a2 = c
        .commit_table(append_commit(&t.ident, &a1.metadata, 12))
        .await
        .unwrap();
    assert_eq!(a2.metadata.current_snapshot_id(), Some(12));
    assert_eq!(a2.metadata.last_sequence_number(), 2);
    let loaded = c.load_table(&t.ident).await.unwrap();
    assert_eq!(loaded.metadata_location, a2.metadata_location);
    assert_eq!(loaded.metadata.snapshots().len(), 2);

    // gzip metadata files when the table asks for them.
    let gz = c
        .commit_table(set_property(
            &t.ident,
            "write.metadata.compression-codec",
            "gzip",
        ))
        .await
        .unwrap();
    assert!(
        gz.metadata_location
            .as_deref()
            .unwrap()
            .ends_with(".gz.metadata.json")
    );
    let fresh = h.catalog().await;
    assert_eq!(
        fresh.load_table(&t.ident).await.unwrap().metadata.as_ref(),
        gz.metadata.as_ref()
    );
}

pub async fn staged_create<H: Harness>(h: &H) {
    let c = h.catalog().await;
    let c = c.as_ref();
    c.create_namespace(&ns(&["db"]), HashMap::new())
        .await
        .unwrap();
    let staged = c
        .stage_create_table(&ns(&["db"]), creation("s"))
        .await
        .unwrap();
    assert!(staged.table.metadata_location.is_none());
    assert!(!c.table_exists(&tid(&["db"], "s")).await.unwrap());
    assert!(files_under(h.warehouse_dir()).is_empty());

    let commit = TableCommit::new(
        tid(&["db"], "s"),
        vec![TableRequirement::AssertCreate],
        staged.updates.clone(),
    );
    let created = c.commit_table(commit.clone()).await.unwrap();
    assert!(
        created
            .metadata_location
            .unwrap()
            .contains("/metadata/00000-")
    );
    assert_eq!(
        created.metadata.current_schema().fields().len(),
        staged.table.metadata.current_schema().fields().len()
    );
    assert!(c.table_exists(&tid(&["db"], "s")).await.unwrap());
    // A second create of the same name fails its assert-create requirement.
    assert_kind(c.commit_table(commit).await, ErrorKind::CommitFailed);
    assert_kind(
        c.stage_create_table(&ns(&["db"]), creation("s")).await,
        ErrorKind::AlreadyExists,
    );
}

pub async fn multi_table_atomicity<H: Harness>(h: &H) {
    let c = h.catalog().await;
    let c = c.as_ref();
    let a = table(c).await;
    let b = c.create_table(&ns(&["db"]), creation("b")).await.unwrap();
    let bad_b = TableCommit::new(
        b.ident.clone(),
        vec![TableRequirement::AssertTableUuid {
            uuid: uuid::Uuid::new_v4(),
        }],
        vec![],
    );
    assert_kind(
        c.commit_tables(vec![set_property(&a.ident, "k", "v"), bad_b])
            .await,
        ErrorKind::CommitFailed,
    );
    // Nothing moved, nothing left behind.
    assert_eq!(
        c.load_table(&a.ident).await.unwrap().metadata_location,
        a.metadata_location
    );
    assert_eq!(
        c.load_table(&b.ident).await.unwrap().metadata_location,
        b.metadata_location
    );
    assert_eq!(files_under(h.warehouse_dir()).len(), 2);

    // A table that does not exist fails the whole commit too.
    assert_kind(
        c.commit_tables(vec![
            set_property(&a.ident, "k", "v"),
            set_property(&tid(&["db"], "nope"), "k", "v"),
        ])
        .await,
        ErrorKind::NoSuchTable,
    );
    assert_eq!(
        c.load_table(&a.ident).await.unwrap().metadata_location,
        a.metadata_location
    );

    // All good: both move.
    let done = c
        .commit_tables(vec![
            append_commit(&a.ident, &a.metadata, 1),
            set_property(&b.ident, "x", "y"),
        ])
        .await
        .unwrap();
    assert_eq!(done.len(), 2);
    assert_eq!(
        c.load_table(&a.ident)
            .await
            .unwrap()
            .metadata
            .current_snapshot_id(),
        Some(1)
    );
    assert_eq!(
        c.load_table(&b.ident)
            .await
            .unwrap()
            .metadata
            .properties()
            .get("x")
            .map(String::as_str),
        Some("y")
    );
    assert_kind(
        c.commit_tables(vec![
            set_property(&a.ident, "k", "v"),
            set_property(&a.ident, "k", "w"),
        ])
        .await,
        ErrorKind::DataInvalid,
    );
}

pub async fn idempotency_key<H: Harness>(h: &H) {
    let c = h.catalog().await;
    let c = c.as_ref();
    let t = table(c).await;
    let first = c
        .commit(
            vec![append_commit(&t.ident, &t.metadata, 7)],
            Some("req-1".into()),
        )
        .await
        .unwrap();
    assert_eq!(first.status, CommitStatus::Committed);
    // The same request again (e.g. the answer was lost): the first result, no change.
    let again = c
        .commit(
            vec![append_commit(&t.ident, &t.metadata, 7)],
            Some("req-1".into()),
        )
        .await
        .unwrap();
    if h.exact_commit_status() {
        assert_eq!(again.status, CommitStatus::Replayed);
    }
    assert_eq!(
        again.tables[0].metadata_location,
        first.tables[0].metadata_location
    );
    // Also through another handle.
    let other = h.catalog().await;
    let third = other
        .commit(vec![set_property(&t.ident, "k", "v")], Some("req-1".into()))
        .await
        .unwrap();
    if h.exact_commit_status() {
        assert_eq!(third.status, CommitStatus::Replayed);
    }
    let now = c.load_table(&t.ident).await.unwrap();
    assert_eq!(now.metadata_location, first.tables[0].metadata_location);
    assert_eq!(now.metadata.snapshots().len(), 1);
    assert!(now.metadata.properties().get("k").is_none());
    // Expired keys are forgotten: the request is new again.
    assert_eq!(h.expire_idempotency_keys(now_ms() + 1).await, 1);
    let fresh = c
        .commit(vec![set_property(&t.ident, "k", "v")], Some("req-1".into()))
        .await
        .unwrap();
    assert_eq!(fresh.status, CommitStatus::Committed);
}

pub async fn metadata_log_cleanup<H: Harness>(h: &H) {
    let c = h.catalog().await;
    let c = c.as_ref();
    let t = table(c).await;
    let mut props = HashMap::new();
    props.insert(
        "write.metadata.previous-versions-max".to_owned(),
        "1".to_owned(),
    );
    props.insert(
        "write.metadata.delete-after-commit.enabled".to_owned(),
        "true".to_owned(),
    );
    let commit = TableCommit::new(
        t.ident.clone(),
        vec![],
        vec![floe_spec::commit::TableUpdate::SetProperties { updates: props }],
    );
    c.commit_table(commit).await.unwrap();
    for i in 0..3 {
        c.commit_table(set_property(&t.ident, "i", &i.to_string()))
            .await
            .unwrap();
    }
    let loaded = c.load_table(&t.ident).await.unwrap();
    assert_eq!(loaded.metadata.metadata_log().len(), 1);
    // The current file and the one previous file the log keeps; older ones are gone.
    let files = files_under(&h.warehouse_dir().join("db/t/metadata"));
    assert_eq!(files.len(), 2, "{files:?}");
}
