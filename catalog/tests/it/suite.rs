//! The conformance suite: every catalog operation and error kind, on every backend.

use std::collections::HashMap;

use floe_catalog::{
    Catalog, CommitStatus, ErrorKind, NamespaceIdent, TableCommit, TableIdent, WriterProgressUpdate,
};
use floe_spec::commit::TableRequirement;

use crate::common::{
    Fixture, append_commit, assert_kind, creation, files_under, ns, set_property, table, tid,
};

crate::common::on_both!(
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
    writer_progress,
    metadata_cache,
    commits_start_from_cached_metadata,
    metadata_log_cleanup,
);

async fn namespaces(fx: &Fixture) {
    let c = fx.catalog().await;
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

async fn namespace_errors(fx: &Fixture) {
    let c = fx.catalog().await;
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

async fn table_lifecycle(fx: &Fixture) {
    let c = fx.catalog().await;
    let t = table(&c).await;
    let location = t.metadata_location.clone().unwrap();
    assert!(location.contains("/db/t/metadata/00000-"), "{location}");
    assert!(location.ends_with(".metadata.json"));
    let meta = &t.metadata;
    assert_eq!(meta.location(), format!("{}/db/t", c.warehouse().root()));
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
    let other = fx.catalog().await;
    assert_eq!(
        other
            .load_table(&tid(&["db"], "t"))
            .await
            .unwrap()
            .metadata_location,
        Some(location)
    );
}

async fn table_errors(fx: &Fixture) {
    let c = fx.catalog().await;
    table(&c).await;
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

async fn rename(fx: &Fixture) {
    let c = fx.catalog().await;
    let t = table(&c).await;
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

async fn drop_and_purge(fx: &Fixture) {
    let c = fx.catalog().await;
    let t = table(&c).await;
    let folder = fx.warehouse.path().join("db").join("t");
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
    let folder2 = fx.warehouse.path().join("db").join("p");
    assert_eq!(files_under(&folder2).len(), 2);
    c.drop_table(&t2.ident, true).await.unwrap();
    assert!(files_under(&folder2).is_empty());
    assert_kind(c.load_table(&t2.ident).await, ErrorKind::NoSuchTable);
    // The namespace is empty again.
    c.drop_namespace(&ns(&["db"])).await.unwrap();
}

async fn register(fx: &Fixture) {
    let c = fx.catalog().await;
    let t = table(&c).await;
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

async fn locations(fx: &Fixture) {
    let c = fx.catalog().await;
    c.create_namespace(&ns(&["db"]), HashMap::new())
        .await
        .unwrap();
    let mut outside = creation("out");
    outside.location = Some("/tmp/floe-not-the-warehouse/out".into());
    assert_kind(
        c.create_table(&ns(&["db"]), outside).await,
        ErrorKind::DataInvalid,
    );
    let mut escape = creation("esc");
    escape.location = Some(format!("{}/../escape", fx.warehouse_path()));
    assert_kind(
        c.create_table(&ns(&["db"]), escape).await,
        ErrorKind::DataInvalid,
    );

    let mut custom = creation("custom");
    let wanted = format!("{}/custom/place/", c.warehouse().root());
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

    // Unless the catalog allows external locations.
    let open = fx
        .builder()
        .allow_external_locations(true)
        .build()
        .await
        .unwrap();
    let ext_dir = tempfile::tempdir().unwrap();
    let mut ext = creation("ext");
    ext.location = Some(ext_dir.path().display().to_string());
    open.create_table(&ns(&["db"]), ext).await.unwrap();
    assert_eq!(files_under(ext_dir.path()).len(), 1);
}

async fn commit_and_requirements(fx: &Fixture) {
    let c = fx.catalog().await;
    let t = table(&c).await;
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
    assert_eq!(result.status, CommitStatus::Unchanged);
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
    let fresh = fx.catalog().await;
    assert_eq!(
        fresh.load_table(&t.ident).await.unwrap().metadata.as_ref(),
        gz.metadata.as_ref()
    );
}

async fn staged_create(fx: &Fixture) {
    let c = fx.catalog().await;
    c.create_namespace(&ns(&["db"]), HashMap::new())
        .await
        .unwrap();
    let staged = c
        .stage_create_table(&ns(&["db"]), creation("s"))
        .await
        .unwrap();
    assert!(staged.table.metadata_location.is_none());
    assert!(!c.table_exists(&tid(&["db"], "s")).await.unwrap());
    assert!(files_under(fx.warehouse.path()).is_empty());

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

async fn multi_table_atomicity(fx: &Fixture) {
    let c = fx.catalog().await;
    let a = table(&c).await;
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
    assert_eq!(files_under(fx.warehouse.path()).len(), 2);

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

async fn idempotency_key(fx: &Fixture) {
    let c = fx.catalog().await;
    let t = table(&c).await;
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
    assert_eq!(again.status, CommitStatus::Replayed);
    assert_eq!(
        again.tables[0].metadata_location,
        first.tables[0].metadata_location
    );
    // Also through another handle.
    let other = fx.catalog().await;
    let third = other
        .commit(vec![set_property(&t.ident, "k", "v")], Some("req-1".into()))
        .await
        .unwrap();
    assert_eq!(third.status, CommitStatus::Replayed);
    let now = c.load_table(&t.ident).await.unwrap();
    assert_eq!(now.metadata_location, first.tables[0].metadata_location);
    assert_eq!(now.metadata.snapshots().len(), 1);
    assert!(now.metadata.properties().get("k").is_none());
    // Expired keys are forgotten: the request is new again.
    assert_eq!(
        c.expire_idempotency_keys(crate::common::now_ms() + 1)
            .await
            .unwrap(),
        1
    );
    let fresh = c
        .commit(vec![set_property(&t.ident, "k", "v")], Some("req-1".into()))
        .await
        .unwrap();
    assert_eq!(fresh.status, CommitStatus::Committed);
}

async fn writer_progress(fx: &Fixture) {
    let c = fx.catalog().await;
    let t = table(&c).await;
    let wp = |epoch, seq, watermark| WriterProgressUpdate {
        writer_id: "stream-1".into(),
        epoch,
        seq,
        snapshot_id: None,
        watermark,
    };
    assert!(
        c.writer_progress(&t.ident, "stream-1")
            .await
            .unwrap()
            .is_none()
    );

    let r1 = c
        .commit(
            vec![
                append_commit(&t.ident, &t.metadata, 101).with_writer_progress(wp(
                    1,
                    1,
                    Some(1000),
                )),
            ],
            None,
        )
        .await
        .unwrap();
    assert_eq!(r1.status, CommitStatus::Committed);
    let p = c
        .writer_progress(&t.ident, "stream-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (p.epoch, p.last_seq, p.snapshot_id, p.watermark),
        (1, 1, Some(101), Some(1000))
    );

    // The same batch again: a duplicate, answered with the original snapshot.
    let head = r1.tables[0].metadata.clone();
    let dup = c
        .commit(
            vec![append_commit(&t.ident, &head, 102).with_writer_progress(wp(1, 1, Some(1000)))],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        dup.status,
        CommitStatus::Duplicate {
            writer_id: "stream-1".into(),
            seq: 1,
            snapshot_id: Some(101)
        }
    );
    let loaded = c.load_table(&t.ident).await.unwrap();
    assert_eq!(loaded.metadata.snapshots().len(), 1);

    // A restarted writer takes epoch 2; the old instance is fenced.
    let r2 = c
        .commit(
            vec![append_commit(&t.ident, &head, 103).with_writer_progress(wp(2, 2, None))],
            None,
        )
        .await
        .unwrap();
    assert_eq!(r2.status, CommitStatus::Committed);
    let head = r2.tables[0].metadata.clone();
    assert_kind(
        c.commit(
            vec![append_commit(&t.ident, &head, 104).with_writer_progress(wp(1, 3, None))],
            None,
        )
        .await,
        ErrorKind::CommitFailed,
    );
    let p = c
        .writer_progress(&t.ident, "stream-1")
        .await
        .unwrap()
        .unwrap();
    // The watermark is kept when a batch does not report one.
    assert_eq!(
        (p.epoch, p.last_seq, p.snapshot_id, p.watermark),
        (2, 2, Some(103), Some(1000))
    );

    // A second writer; list them.
    let second = WriterProgressUpdate {
        writer_id: "stream-2".into(),
        epoch: 0,
        seq: 0,
        snapshot_id: Some(104),
        watermark: None,
    };
    c.commit(
        vec![append_commit(&t.ident, &head, 104).with_writer_progress(second)],
        None,
    )
    .await
    .unwrap();
    let writers = c.list_writers(&t.ident).await.unwrap();
    assert_eq!(
        writers
            .iter()
            .map(|w| w.writer_id.as_str())
            .collect::<Vec<_>>(),
        ["stream-1", "stream-2"]
    );
    assert_kind(
        c.list_writers(&tid(&["db"], "nope")).await,
        ErrorKind::NoSuchTable,
    );
    // Dropping the table drops its writers.
    c.drop_table(&t.ident, false).await.unwrap();
    let again = c.create_table(&ns(&["db"]), creation("t")).await.unwrap();
    assert!(c.list_writers(&again.ident).await.unwrap().is_empty());
}

async fn metadata_cache(fx: &Fixture) {
    let c = fx.catalog().await;
    let t = table(&c).await;
    let before = c.cache_stats();
    for _ in 0..5 {
        c.load_table(&t.ident).await.unwrap();
    }
    let after = c.cache_stats();
    assert_eq!(after.hits - before.hits, 5);
    assert_eq!(after.misses, before.misses);
    // A fresh handle reads the file once, then hits.
    let other = fx.catalog().await;
    other.load_table(&t.ident).await.unwrap();
    other.load_table(&t.ident).await.unwrap();
    let s = other.cache_stats();
    assert_eq!((s.hits, s.misses), (1, 1));
}

/// A commit caches what it wrote under the new location, so the next commit (and load)
/// of the same catalog starts from memory: no metadata file is read again.
async fn commits_start_from_cached_metadata(fx: &Fixture) {
    let c = fx.catalog().await;
    let mut t = table(&c).await;
    let before = c.cache_stats();
    for i in 0..10 {
        let commit = if i % 2 == 0 {
            set_property(&t.ident, "k", &format!("v{i}"))
        } else {
            append_commit(&t.ident, &t.metadata, 100 + i)
        };
        t = c.commit_table(commit).await.unwrap();
    }
    let loaded = c.load_table(&t.ident).await.unwrap();
    let after = c.cache_stats();
    assert_eq!(after.misses, before.misses, "{before:?} -> {after:?}");
    assert!(after.hits >= before.hits + 11, "{before:?} -> {after:?}");
    assert_eq!(loaded.metadata_location, t.metadata_location);
    assert_eq!(loaded.metadata.snapshots().len(), 5);
    assert_eq!(
        loaded.metadata.properties().get("k").map(String::as_str),
        Some("v8")
    );
}

async fn metadata_log_cleanup(fx: &Fixture) {
    let c = fx.catalog().await;
    let t = table(&c).await;
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
    let files = files_under(&fx.warehouse.path().join("db/t/metadata"));
    assert_eq!(files.len(), 2, "{files:?}");
}
