//! The FileIO conformance suite ([`suite`]) run on every backend: a local folder, memory,
//! and S3 against a real S3-protocol server on loopback (`moto_server`, which
//! `scripts/test` starts; the endpoint comes from `FLOE_TEST_S3_ENDPOINT` and the
//! bucket from `FLOE_TEST_S3_BUCKET`, default `warehouse`). The S3 tests fail, never
//! skip, when no endpoint is given.

// Test helpers: a panic is a failed test.
#![allow(clippy::unwrap_used)]

pub mod suite;

use floe_table::io::FileIO;
use uuid::Uuid;

/// A FileIO and a fresh root folder in it; the guard keeps a temp dir alive.
pub struct Backend {
    pub io: FileIO,
    pub root: String,
    _dir: Option<tempfile::TempDir>,
}

/// A temp folder on the local file system, addressed by plain paths.
pub fn local() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let root = format!("{}/wh", dir.path().display());
    Backend {
        io: FileIO::from_location(&root, std::iter::empty::<(String, String)>()).unwrap(),
        root,
        _dir: Some(dir),
    }
}

/// An in-memory store.
pub fn memory() -> Backend {
    let root = format!("memory:///wh/{}", Uuid::now_v7());
    Backend {
        io: FileIO::from_location(&root, std::iter::empty::<(String, String)>()).unwrap(),
        root,
        _dir: None,
    }
}

/// S3 on the endpoint in `FLOE_TEST_S3_ENDPOINT`, under a fresh prefix of the bucket.
pub fn s3() -> Backend {
    let endpoint = std::env::var("FLOE_TEST_S3_ENDPOINT").unwrap_or_default();
    assert!(
        !endpoint.trim().is_empty(),
        "FLOE_TEST_S3_ENDPOINT is not set: the FileIO suite needs an S3-protocol server. \
         Run `bash scripts/test` (it starts moto_server on loopback), or start one \
         (`moto_server -H 127.0.0.1 -p 9000`, then create the bucket) and set \
         FLOE_TEST_S3_ENDPOINT=http://127.0.0.1:9000 and FLOE_TEST_S3_BUCKET=warehouse"
    );
    let bucket = std::env::var("FLOE_TEST_S3_BUCKET")
        .ok()
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "warehouse".to_owned());
    let root = format!("s3://{bucket}/fileio-it/{}", Uuid::now_v7());
    let io = FileIO::from_location(
        &root,
        [
            ("s3.endpoint", endpoint.as_str()),
            ("s3.access-key-id", "testing"),
            ("s3.secret-access-key", "testing"),
            ("s3.region", "us-east-1"),
            ("s3.path-style-access", "true"),
        ],
    )
    .unwrap();
    Backend {
        io,
        root,
        _dir: None,
    }
}

/// One test per suite function for a backend.
macro_rules! conformance {
    ($backend:ident) => {
        mod $backend {
            conformance!(@tests $backend,
                write_read_overwrite,
                read_range,
                head_size_exists,
                missing_objects,
                write_new_is_create_if_absent,
                list_is_recursive_by_folder,
                delete_and_delete_many,
                special_names,
                large_object_multipart,
                aborted_upload_leaves_nothing,
                parquet_through_file_io,
            );
        }
    };
    (@tests $backend:ident, $($name:ident,)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                let backend = super::$backend();
                super::suite::$name(&backend.io, &backend.root).await;
            }
        )*
    };
}

conformance!(local);
conformance!(memory);
conformance!(s3);

/// A FileIO built from the catalog's warehouse uses the warehouse's own store.
#[tokio::test]
async fn from_catalog_warehouse() {
    let warehouse = floe_catalog::Warehouse::new("memory:///wh").unwrap();
    warehouse
        .write_new("memory:///wh/db/t/metadata/v1.json", b"{}".to_vec())
        .await
        .unwrap();
    let io = FileIO::from_warehouse(&warehouse).unwrap();
    assert_eq!(
        &io.read("memory:///wh/db/t/metadata/v1.json").await.unwrap()[..],
        b"{}"
    );
    suite::write_read_overwrite(&io, "memory:///wh/other").await;
    assert!(warehouse.exists("memory:///wh/other/a.bin").await.unwrap());
}
