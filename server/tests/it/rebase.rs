//! The server rebases blind appends: a PyIceberg-shaped append commit (manifest with
//! ADDED entries that inherit their sequence number, manifest list keeping the parent's
//! manifests, `assert-ref-snapshot-id` on `main`) sent after the head moved is put on
//! top of the head instead of answering 409 — through `POST .../tables/{t}` and
//! `POST /transactions/commit`, also with many at once. Other commits, and appends on a
//! table with `floe.commit.rebase-appends=false`, still get 409.

use std::sync::Arc;

use axum::http::StatusCode;
use floe_catalog::{Catalog, NamespaceIdent, TableIdent};
use floe_spec::commit::{TableRequirement, TableUpdate};
use floe_spec::manifest::{
    DataFile, DataFileFormat, ManifestContentType, ManifestEntry, ManifestMetadata, ManifestStatus,
    ManifestWriter,
};
use floe_spec::manifest_list::{ManifestList, ManifestListWriter};
use floe_spec::snapshot::{Operation, SnapshotReference, SnapshotRetention, Summary};
use floe_spec::values::Datum;
use floe_table::io::FileIO;
use floe_table::summary::SummaryBuilder;
use serde_json::{Value, json};

use crate::common::TestServer;

const RECORDS: i64 = 10;

fn ident() -> TableIdent {
    TableIdent::new(NamespaceIdent::new(["db"]).unwrap(), "t").unwrap()
}

async fn server() -> TestServer {
    let s = TestServer::new().await;
    s.create_namespace(&["db"]).await;
    s.create_table("db", "t").await;
    s
}

/// Writes what an Iceberg client writes for an append of one data file against the
/// head of `db.t` as it is now (a manifest and a manifest list), and returns the commit
/// request it would send. Nothing is committed.
async fn stale_append(s: &TestServer, operation: Operation) -> Value {
    let md = s.catalog.load_table(&ident()).await.unwrap().metadata;
    let io = FileIO::from_warehouse(s.catalog.warehouse()).unwrap();
    let id = (uuid::Uuid::new_v4().as_u64_pair().0 >> 2) as i64 + 1;
    let location = md.location().trim_end_matches('/');
    let file = DataFile::new(
        DataFileFormat::Parquet,
        format!("{location}/data/{id}.parquet"),
        RECORDS,
        100,
    )
    .with_partition(vec![Some(Datum::Int(0))]);
    let mut manifest = ManifestWriter::new(
        ManifestMetadata {
            schema: md.current_schema().clone(),
            partition_spec: md.default_partition_spec().as_ref().clone(),
            format_version: md.format_version(),
            content: ManifestContentType::Data,
        },
        Some(id),
    );
    manifest
        .add_entry(ManifestEntry {
            status: ManifestStatus::Added,
            snapshot_id: Some(id),
            sequence_number: None,
            file_sequence_number: None,
            data_file: file.clone(),
        })
        .unwrap();
    let manifest_path = format!("{location}/metadata/{}-m0.avro", uuid::Uuid::new_v4());
    let (bytes, manifest) = manifest.finish(&manifest_path).unwrap();
    io.write_new(&manifest_path, bytes.into()).await.unwrap();

    let head = md.current_snapshot().cloned();
    let sequence_number = md.last_sequence_number() + 1;
    let mut list = ManifestListWriter::new(
        md.format_version(),
        id,
        head.as_ref().map(|h| h.snapshot_id),
        sequence_number,
    );
    list.add_manifests([manifest]).unwrap();
    if let Some(h) = &head {
        let bytes = io.read(&h.manifest_list).await.unwrap();
        let types = ManifestList::partition_types(&md);
        list.add_manifests(ManifestList::parse(&bytes, &types).unwrap().entries)
            .unwrap();
    }
    let list_path = format!(
        "{location}/metadata/snap-{id}-1-{}.avro",
        uuid::Uuid::new_v4()
    );
    io.write_new(&list_path, list.finish().unwrap().into())
        .await
        .unwrap();

    let mut summary = SummaryBuilder::default();
    summary.add_file(&file, md.default_spec_id());
    let empty = std::collections::HashMap::new();
    let previous = head
        .as_ref()
        .map_or(&empty, |h| &h.summary.additional_properties);
    let snapshot = floe_spec::snapshot::Snapshot {
        snapshot_id: id,
        parent_snapshot_id: head.as_ref().map(|h| h.snapshot_id),
        sequence_number,
        timestamp_ms: md.last_updated_ms() + 1,
        manifest_list: list_path,
        summary: Summary {
            operation,
            additional_properties: summary.build(Some(previous)),
        },
        schema_id: Some(md.current_schema_id()),
        first_row_id: None,
        added_rows: None,
        key_id: None,
    };
    let requirements = vec![
        TableRequirement::AssertRefSnapshotId {
            r#ref: "main".into(),
            snapshot_id: head.as_ref().map(|h| h.snapshot_id),
        },
        TableRequirement::AssertTableUuid {
            uuid: md.table_uuid(),
        },
    ];
    let updates = vec![
        TableUpdate::AddSnapshot { snapshot },
        TableUpdate::set_snapshot_ref(
            "main",
            &SnapshotReference {
                snapshot_id: id,
                retention: SnapshotRetention::branch(),
            },
        ),
    ];
    json!({
        "identifier": {"namespace": ["db"], "name": "t"},
        "requirements": requirements,
        "updates": updates,
    })
}

fn snapshot_id(commit: &Value) -> i64 {
    commit["updates"][0]["snapshot"]["snapshot-id"]
        .as_i64()
        .unwrap()
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .unwrap()
        .parse()
        .unwrap()
}

/// Checks that `main` is one chain of append snapshots with growing sequence numbers
/// and running totals; returns its snapshot ids, oldest first.
async fn chain(s: &TestServer) -> Vec<i64> {
    let md = s.catalog.load_table(&ident()).await.unwrap().metadata;
    let mut out = Vec::new();
    let mut next = md.current_snapshot_id();
    while let Some(id) = next {
        let snap = md.snapshot_by_id(id).unwrap();
        out.push(snap);
        next = snap.parent_snapshot_id;
    }
    out.reverse();
    assert_eq!(out.len(), md.snapshots().len(), "one line of history");
    for (i, snap) in out.iter().enumerate() {
        let n = i as i64 + 1;
        assert_eq!(snap.sequence_number, n);
        let p = &snap.summary.additional_properties;
        assert_eq!(p["total-records"], (n * RECORDS).to_string(), "{p:?}");
        assert_eq!(p["total-data-files"], n.to_string(), "{p:?}");
    }
    out.iter().map(|s| s.snapshot_id).collect()
}

#[tokio::test]
async fn stale_appends_are_rebased_instead_of_refused() {
    let s = server().await;
    let first = stale_append(&s, Operation::Append).await;
    let a = stale_append(&s, Operation::Append).await;
    let b = stale_append(&s, Operation::Append).await;
    for c in [&first, &a, &b] {
        let answer = s.post("/v1/namespaces/db/tables/t", c.clone()).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
    let ids = chain(&s).await;
    assert_eq!(ids, [&first, &a, &b].map(snapshot_id));
    let md = s.catalog.load_table(&ident()).await.unwrap().metadata;
    let head = md.current_snapshot().unwrap();
    assert!(
        head.manifest_list.contains("-rebase-"),
        "{}",
        head.manifest_list
    );
    let io = FileIO::from_warehouse(s.catalog.warehouse()).unwrap();
    let list = ManifestList::parse(
        &io.read(&head.manifest_list).await.unwrap(),
        &ManifestList::partition_types(&md),
    )
    .unwrap();
    let seqs: Vec<i64> = list.entries.iter().map(|m| m.sequence_number).collect();
    assert_eq!(
        seqs,
        [3, 2, 1],
        "own manifest first, with the new sequence number"
    );
    assert_eq!(list.metadata.sequence_number, Some(3));
    let m = s.get("/metrics").await.text;
    assert_eq!(metric(&m, "floe_commits_rebased_total"), 2, "{m}");
    assert_eq!(metric(&m, "floe_commit_conflicts_total"), 0, "{m}");
    assert_eq!(metric(&m, "floe_commits_total"), 3, "{m}");
}

#[tokio::test]
async fn multi_table_transactions_rebase_appends_too() {
    let s = server().await;
    let a = stale_append(&s, Operation::Append).await;
    let b = stale_append(&s, Operation::Append).await;
    s.post("/v1/namespaces/db/tables/t", a.clone()).await;
    let answer = s
        .post("/v1/transactions/commit", json!({"table-changes": [b]}))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(chain(&s).await, [&a, &b].map(snapshot_id));
}

#[tokio::test]
async fn other_commits_and_tables_that_opt_out_still_get_409() {
    let s = server().await;
    let seed = stale_append(&s, Operation::Append).await;
    s.post("/v1/namespaces/db/tables/t", seed).await;
    let overwrite = stale_append(&s, Operation::Overwrite).await;
    let mut with_schema = stale_append(&s, Operation::Append).await;
    with_schema["requirements"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "assert-current-schema-id", "current-schema-id": 5}));
    let moved = stale_append(&s, Operation::Append).await;
    let answer = s.post("/v1/namespaces/db/tables/t", moved.clone()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    for c in [overwrite, with_schema, moved] {
        let answer = s.post("/v1/namespaces/db/tables/t", c).await;
        let message = answer.assert_error(409, "CommitFailedException");
        assert!(message.contains("Requirement failed"), "{message}");
    }

    // Rebase off: a stale append is a 409 that names the property.
    let uuid = s
        .catalog
        .load_table(&ident())
        .await
        .unwrap()
        .metadata
        .table_uuid();
    let set = s
        .post(
            "/v1/namespaces/db/tables/t",
            json!({
                "requirements": [{"type": "assert-table-uuid", "uuid": uuid}],
                "updates": [{"action": "set-properties",
                             "updates": {"floe.commit.rebase-appends": "false"}}]
            }),
        )
        .await;
    assert_eq!(set.status, StatusCode::OK, "{}", set.text);
    let a = stale_append(&s, Operation::Append).await;
    let b = stale_append(&s, Operation::Append).await;
    s.post("/v1/namespaces/db/tables/t", a).await;
    let answer = s.post("/v1/namespaces/db/tables/t", b).await;
    answer.assert_error(409, "CommitFailedException");
    assert!(
        answer.text.contains("floe.commit.rebase-appends"),
        "{}",
        answer.text
    );
    let m = s.get("/metrics").await.text;
    assert_eq!(metric(&m, "floe_commit_conflicts_total"), 4, "{m}");
    assert_eq!(metric(&m, "floe_commits_rebased_total"), 0, "{m}");
    assert_eq!(chain(&s).await.len(), 3, "seed, moved, a");
}

const WRITERS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_concurrent_stale_appends_all_succeed() {
    let s = Arc::new(server().await);
    let mut commits = Vec::new();
    for _ in 0..WRITERS {
        commits.push(stale_append(&s, Operation::Append).await);
    }
    let tasks: Vec<_> = commits
        .iter()
        .cloned()
        .map(|c| {
            let s = Arc::clone(&s);
            tokio::spawn(async move { s.post("/v1/namespaces/db/tables/t", c).await })
        })
        .collect();
    for t in tasks {
        let answer = t.await.unwrap();
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
    let mut ids = chain(&s).await;
    ids.sort_unstable();
    let mut want: Vec<i64> = commits.iter().map(snapshot_id).collect();
    want.sort_unstable();
    assert_eq!(ids, want, "every append exactly once");
    let m = s.get("/metrics").await.text;
    assert_eq!(metric(&m, "floe_commit_conflicts_total"), 0, "{m}");
    assert_eq!(
        metric(&m, "floe_commits_rebased_total"),
        WRITERS as u64 - 1,
        "{m}"
    );
}
