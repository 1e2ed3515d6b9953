//! The load path's caches (table pointers, load results) against commits: a commit
//! through the server (REST, or the server's own catalog handle) is seen by the very
//! next load; a commit by another catalog handle on the same database within the
//! pointer TTL (at once with a zero TTL); the ETag changes with the metadata file and
//! `304` is answered only for the current one; under concurrent writers every writer
//! reads its own writes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use floe_catalog::{Catalog, SqlCatalog, TableCommit, TableIdent};
use floe_server::app::Settings;
use floe_spec::commit::TableUpdate;
use serde_json::{Value, json};

use crate::common::{Answer, TestServer};

const TABLE: &str = "/v1/namespaces/db/tables/t";

async fn server(ttl: Duration) -> TestServer {
    let s = TestServer::with_settings(Settings {
        table_pointer_ttl: ttl,
        ..Settings::default()
    })
    .await;
    s.create_namespace(&["db"]).await;
    s.create_table("db", "t").await;
    s
}

fn ident() -> TableIdent {
    TableIdent::from_parts(vec!["db".to_owned()], "t").unwrap()
}

fn set_property(key: &str, value: &str) -> Value {
    json!({"requirements": [], "updates": [
        {"action": "set-properties", "updates": {key: value}}
    ]})
}

/// A commit of `key=value` through `catalog` directly (not through the REST API).
async fn commit_directly(catalog: &SqlCatalog, key: &str, value: &str) -> String {
    let update = TableUpdate::SetProperties {
        updates: HashMap::from([(key.to_owned(), value.to_owned())]),
    };
    let done = catalog
        .commit(vec![TableCommit::new(ident(), vec![], vec![update])], None)
        .await
        .unwrap();
    done.tables[0].metadata_location.clone().unwrap()
}

async fn load(s: &TestServer, if_none_match: Option<&str>) -> Answer {
    let mut req = Request::builder().uri(TABLE);
    if let Some(tag) = if_none_match {
        req = req.header(header::IF_NONE_MATCH, tag);
    }
    s.send(req.body(Body::empty()).unwrap()).await
}

fn location(a: &Answer) -> String {
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    a.body["metadata-location"].as_str().unwrap().to_owned()
}

fn etag(a: &Answer) -> String {
    a.headers[header::ETAG].to_str().unwrap().to_owned()
}

fn property(a: &Answer, key: &str) -> Option<String> {
    a.body["metadata"]["properties"][key]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test]
async fn commits_through_the_server_are_seen_by_the_next_load() {
    // A TTL far longer than the test: only invalidation can make a load fresh.
    let s = server(Duration::from_mins(10)).await;
    let first = load(&s, None).await;
    let (loc0, tag0) = (location(&first), etag(&first));
    assert_eq!(load(&s, Some(&tag0)).await.status, StatusCode::NOT_MODIFIED);
    let (hits, _) = s.state.table_pointers().hits_and_misses();
    assert!(
        hits >= 1,
        "the second load is answered from the pointer cache"
    );

    // A REST commit.
    let a = s.post(TABLE, set_property("k", "1")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let committed = a.body["metadata-location"].as_str().unwrap().to_owned();
    let a = load(&s, Some(&tag0)).await;
    assert_eq!(location(&a), committed);
    assert_ne!(committed, loc0);
    assert_eq!(property(&a, "k").as_deref(), Some("1"));
    let tag1 = etag(&a);
    assert_ne!(tag1, tag0);
    let a = load(&s, Some(&tag1)).await;
    assert_eq!(a.status, StatusCode::NOT_MODIFIED);
    assert_eq!(etag(&a), tag1);
    assert!(a.text.is_empty());

    // A commit through the server's catalog handle (as the group committer and
    // maintenance do).
    let committed = commit_directly(&s.catalog, "k", "2").await;
    let a = load(&s, Some(&tag1)).await;
    assert_eq!(location(&a), committed);
    assert_eq!(property(&a, "k").as_deref(), Some("2"));
    // The refs mode and the gzip encoding follow too.
    let a = s.get(&format!("{TABLE}?snapshots=refs")).await;
    assert_eq!(location(&a), committed);
    let req = Request::builder()
        .uri(TABLE)
        .header(header::ACCEPT_ENCODING, "gzip")
        .body(Body::empty())
        .unwrap();
    let zipped = s.send(req).await;
    assert_eq!(zipped.headers[header::CONTENT_ENCODING], "gzip");
    let plain = load(&s, None).await;
    assert_eq!(location(&plain), committed);
    assert_eq!(zipped.headers[header::ETAG], etag(&plain).as_str());

    // Drop and re-create under the same name: the new table, not the old pointer.
    let a = s.call(axum::http::Method::DELETE, TABLE, None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    load(&s, None)
        .await
        .assert_error(404, "NoSuchTableException");
    s.create_table("db", "t").await;
    let a = load(&s, None).await;
    assert_eq!(property(&a, "k"), None);

    // Rename away: the old name is gone at once, the new one loads.
    let a = s
        .post(
            "/v1/tables/rename",
            json!({"source": {"namespace": ["db"], "name": "t"},
                   "destination": {"namespace": ["db"], "name": "u"}}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.text);
    load(&s, None)
        .await
        .assert_error(404, "NoSuchTableException");
    assert_eq!(
        s.get("/v1/namespaces/db/tables/u").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn commits_by_another_handle_are_seen_within_the_ttl() {
    let ttl = Duration::from_millis(300);
    let s = server(ttl).await;
    let other = SqlCatalog::connect(&s.db_url, s.warehouse.to_str().unwrap())
        .await
        .unwrap();
    let tag0 = etag(&load(&s, None).await);
    let committed = commit_directly(&other, "by", "other").await;
    let done = Instant::now();
    // Within the TTL the old pointer may still answer; from the TTL on, never.
    tokio::time::sleep(ttl).await;
    let a = load(&s, Some(&tag0)).await;
    assert!(done.elapsed() >= ttl);
    assert_eq!(location(&a), committed);
    assert_eq!(property(&a, "by").as_deref(), Some("other"));
    assert_ne!(etag(&a), tag0);
}

#[tokio::test]
async fn with_a_zero_ttl_the_next_load_sees_another_handles_commit() {
    let s = server(Duration::ZERO).await;
    let other = SqlCatalog::connect(&s.db_url, s.warehouse.to_str().unwrap())
        .await
        .unwrap();
    for i in 0..3 {
        let tag = etag(&load(&s, None).await);
        assert_eq!(load(&s, Some(&tag)).await.status, StatusCode::NOT_MODIFIED);
        let committed = commit_directly(&other, "i", &i.to_string()).await;
        let a = load(&s, Some(&tag)).await;
        assert_eq!(location(&a), committed);
        assert_ne!(etag(&a), tag);
    }
    assert_eq!(s.state.table_pointers().hits_and_misses().0, 0);
}

/// 6 writers commit through the server while 3 readers load with `If-None-Match`:
/// after each acknowledged commit its writer's next load shows it (read your
/// writes); every 304 was for the ETag of a location that was current at some point
/// and at the end the answer is the catalog's row, with every write.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_read_their_writes() {
    const WRITERS: usize = 6;
    const COMMITS: usize = 4;
    let s = Arc::new(server(Duration::from_mins(10)).await);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..3 {
        let (s, stop) = (Arc::clone(&s), Arc::clone(&stop));
        readers.push(tokio::spawn(async move {
            let mut seen: Vec<(String, String)> = Vec::new(); // (etag, location)
            let mut tag: Option<String> = None;
            let mut not_modified = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let a = load(&s, tag.as_deref()).await;
                if a.status == StatusCode::NOT_MODIFIED {
                    assert_eq!(Some(etag(&a)), tag);
                    not_modified += 1;
                } else {
                    let loc = location(&a);
                    tag = Some(etag(&a));
                    seen.push((etag(&a), loc));
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            (seen, not_modified)
        }));
    }
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let s = Arc::clone(&s);
        writers.push(tokio::spawn(async move {
            let key = format!("w{w}");
            for n in 0..COMMITS {
                let value = n.to_string();
                let mut attempts = 0;
                loop {
                    let a = s.post(TABLE, set_property(&key, &value)).await;
                    if a.status == StatusCode::OK {
                        break;
                    }
                    attempts += 1;
                    assert!(
                        a.status == StatusCode::CONFLICT && attempts < 50,
                        "{}: {}",
                        a.status,
                        a.text
                    );
                }
                let a = load(&s, None).await;
                assert_eq!(
                    property(&a, &key).as_deref(),
                    Some(value.as_str()),
                    "writer {w} does not read its commit {n}"
                );
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut locations = Vec::new();
    for r in readers {
        let (seen, _) = r.await.unwrap();
        locations.extend(seen);
    }
    let row = s.catalog.load_table(&ident()).await.unwrap();
    let current = row.metadata_location.unwrap();
    let a = load(&s, None).await;
    assert_eq!(location(&a), current);
    for w in 0..WRITERS {
        assert_eq!(
            property(&a, &format!("w{w}")).as_deref(),
            Some((COMMITS - 1).to_string().as_str())
        );
    }
    // Every ETag seen named one location; stale ETags get a full answer now.
    let mut by_tag: HashMap<String, String> = HashMap::new();
    for (tag, loc) in &locations {
        assert_eq!(
            by_tag.entry(tag.clone()).or_insert_with(|| loc.clone()),
            loc
        );
    }
    for (tag, loc) in by_tag {
        let a = load(&s, Some(&tag)).await;
        if loc == current {
            assert_eq!(a.status, StatusCode::NOT_MODIFIED);
        } else {
            assert_eq!(location(&a), current);
        }
    }
}
