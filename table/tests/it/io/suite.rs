//! The FileIO conformance suite: public test functions that every backend runs, each on
//! a fresh `root` folder (like object_store's `integration.rs`). They panic on failure.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
use bytes::Bytes;
use floe_spec::partition::PartitionSpec;
use floe_spec::schema::Schema;
use floe_spec::types::{NestedField, PrimitiveType, Type};
use floe_table::ErrorKind;
use floe_table::io::FileIO;
use floe_table::writer::{LocationGenerator, ParquetWriter, PartitionedWriter, WriterContext};
use futures::TryStreamExt;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use tokio::io::AsyncWriteExt;

fn bytes(s: &str) -> Bytes {
    Bytes::from(s.to_owned())
}

/// Every file under `prefix`: location → size.
async fn listing(io: &FileIO, prefix: &str) -> BTreeMap<String, u64> {
    io.list(prefix)
        .map_ok(|f| (f.location, f.size))
        .try_collect()
        .await
        .unwrap()
}

/// Write, read back, overwrite.
pub async fn write_read_overwrite(io: &FileIO, root: &str) {
    let location = format!("{root}/a.bin");
    io.write(&location, bytes("first")).await.unwrap();
    assert_eq!(io.read(&location).await.unwrap(), bytes("first"));
    io.write(&location, bytes("second, longer")).await.unwrap();
    assert_eq!(io.read(&location).await.unwrap(), bytes("second, longer"));
    // An empty file is a file.
    let empty = format!("{root}/empty");
    io.write(&empty, Bytes::new()).await.unwrap();
    assert!(io.read(&empty).await.unwrap().is_empty());
    assert_eq!(io.size(&empty).await.unwrap(), 0);
    // The handles do the same.
    let out = io.new_output(format!("{root}/handle.bin")).unwrap();
    out.write(bytes("via handle")).await.unwrap();
    assert!(out.exists().await.unwrap());
    let input = out.to_input_file();
    assert_eq!(input.location(), format!("{root}/handle.bin"));
    assert_eq!(input.read().await.unwrap(), bytes("via handle"));
    assert_eq!(input.size().await.unwrap(), 10);
}

/// Byte ranges: inside, at the edges, cut at the end, past the end.
pub async fn read_range(io: &FileIO, root: &str) {
    let location = format!("{root}/digits");
    io.write(&location, bytes("0123456789")).await.unwrap();
    for (range, want) in [
        (0..10, "0123456789"),
        (0..1, "0"),
        (3..7, "3456"),
        (9..10, "9"),
        (5..1000, "56789"),
    ] {
        assert_eq!(
            io.read_range(&location, range.clone()).await.unwrap(),
            bytes(want),
            "range {range:?}"
        );
    }
    let input = io.new_input(&location).unwrap().with_size(10);
    assert_eq!(input.read_range(2..4).await.unwrap(), bytes("23"));
    assert!(io.read_range(&location, 20..30).await.is_err());
    #[allow(clippy::reversed_empty_ranges)]
    let backwards = 7..3;
    assert_eq!(
        io.read_range(&location, backwards)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::DataInvalid
    );
}

/// head, size and exists.
pub async fn head_size_exists(io: &FileIO, root: &str) {
    let location = format!("{root}/h/file.json");
    assert!(!io.exists(&location).await.unwrap());
    let before = chrono::Utc::now() - chrono::Duration::minutes(5);
    io.write(&location, bytes("{\"a\":1}")).await.unwrap();
    assert!(io.exists(&location).await.unwrap());
    let head = io.head(&location).await.unwrap();
    assert_eq!(head.location, location);
    assert_eq!(head.size, 7);
    assert!(head.last_modified > before, "{head:?}");
    assert_eq!(io.size(&location).await.unwrap(), 7);
    // A folder is not a file.
    assert!(!io.exists(&format!("{root}/h")).await.unwrap());
}

/// A missing object is `NotFound` for reads, `false` for exists, fine for deletes.
pub async fn missing_objects(io: &FileIO, root: &str) {
    let location = format!("{root}/missing/nothing.bin");
    for e in [
        io.read(&location).await.unwrap_err(),
        io.read_range(&location, 0..1).await.unwrap_err(),
        io.head(&location).await.unwrap_err(),
        io.size(&location).await.unwrap_err(),
        io.new_input(&location).unwrap().read().await.unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert!(e.to_string().contains(&location), "{e}");
    }
    assert!(!io.exists(&location).await.unwrap());
    io.delete(&location).await.unwrap();
    assert_eq!(io.delete_many([&location]).await.unwrap(), 1);
    assert!(listing(io, &format!("{root}/missing")).await.is_empty());
}

/// `write_new` creates a file once; a second one is `AlreadyExists` and changes nothing.
pub async fn write_new_is_create_if_absent(io: &FileIO, root: &str) {
    let location = format!("{root}/metadata/00001-x.metadata.json");
    io.write_new(&location, bytes("one")).await.unwrap();
    let e = io.write_new(&location, bytes("two")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert!(e.to_string().contains(&location), "{e}");
    assert_eq!(io.read(&location).await.unwrap(), bytes("one"));
    // Concurrent creators: exactly one wins.
    let contested = format!("{root}/metadata/00002-x.metadata.json");
    let attempts = (0..8).map(|i| {
        let io = io.clone();
        let contested = contested.clone();
        async move {
            io.write_new(&contested, Bytes::from(vec![b'0' + i; 4]))
                .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let winners = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
        }
    }
    // Overwrite is still possible on purpose.
    io.write(&location, bytes("three")).await.unwrap();
    assert_eq!(io.read(&location).await.unwrap(), bytes("three"));
}

/// `list` is recursive and folder-based, with sizes and the prefix's spelling.
pub async fn list_is_recursive_by_folder(io: &FileIO, root: &str) {
    for (name, body) in [
        ("a/1", "x"),
        ("a/2", "yy"),
        ("a/b/3", "zzz"),
        ("ab/4", "wwww"),
    ] {
        io.write(&format!("{root}/{name}"), bytes(body))
            .await
            .unwrap();
    }
    let want: BTreeMap<String, u64> = [("a/1", 1), ("a/2", 2), ("a/b/3", 3)]
        .into_iter()
        .map(|(n, s)| (format!("{root}/{n}"), s))
        .collect();
    assert_eq!(listing(io, &format!("{root}/a")).await, want);
    assert_eq!(listing(io, &format!("{root}/a/")).await, want);
    assert_eq!(listing(io, root).await.len(), 4);
    assert!(listing(io, &format!("{root}/nope")).await.is_empty());
    let all = io.list_all(&format!("{root}/a/b")).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].location, format!("{root}/a/b/3"));
    assert!(all[0].last_modified > chrono::Utc::now() - chrono::Duration::minutes(5));
}

/// `delete` and `delete_many` (bulk; missing files are fine).
pub async fn delete_and_delete_many(io: &FileIO, root: &str) {
    let one = format!("{root}/single");
    io.write(&one, bytes("1")).await.unwrap();
    io.delete(&one).await.unwrap();
    assert!(!io.exists(&one).await.unwrap());

    let mut locations: Vec<String> = (0..25).map(|i| format!("{root}/many/f{i:03}")).collect();
    futures::future::try_join_all(locations.iter().map(|l| io.write(l, bytes("d"))))
        .await
        .unwrap();
    let keep = format!("{root}/keep/k");
    io.write(&keep, bytes("k")).await.unwrap();
    locations.push(format!("{root}/many/never-written"));
    assert_eq!(io.delete_many(&locations).await.unwrap(), 26);
    assert!(listing(io, &format!("{root}/many")).await.is_empty());
    assert!(io.exists(&keep).await.unwrap());
    assert_eq!(io.delete_many(Vec::<String>::new()).await.unwrap(), 0);
}

/// Spaces, unicode and Iceberg's escaped partition values are kept verbatim.
pub async fn special_names(io: &FileIO, root: &str) {
    let names = [
        "with space/file name.parquet",
        "ünïcødé/データ 📦.avro",
        "data/p=a%2Fb/q=x+y=z/f.parquet",
        "data/ts=2024-01-01T10%3A00/f(1)&[2].parquet",
    ];
    let mut want = BTreeMap::new();
    for (i, name) in names.iter().enumerate() {
        let location = format!("{root}/{name}");
        let body = format!("file {i}");
        io.write_new(&location, bytes(&body)).await.unwrap();
        assert_eq!(io.read(&location).await.unwrap(), bytes(&body), "{name}");
        assert!(io.exists(&location).await.unwrap(), "{name}");
        want.insert(location, body.len() as u64);
    }
    assert_eq!(listing(io, root).await, want);
    // `%2F` is a character of the name, not a folder separator.
    assert!(listing(io, &format!("{root}/data/p=a")).await.is_empty());
    let locations: Vec<&String> = want.keys().collect();
    assert_eq!(io.delete_many(locations).await.unwrap(), names.len());
    assert!(listing(io, root).await.is_empty());
}

/// 12 MiB through the streaming writer: past its 10 MiB buffer, so a multipart upload.
pub async fn large_object_multipart(io: &FileIO, root: &str) {
    const MIB: usize = 1024 * 1024;
    let location = format!("{root}/large/blob.bin");
    let chunk: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
    let out = io.new_output(&location).unwrap();
    let mut writer = out.writer();
    for i in 0..12u8 {
        let mut part = chunk.clone();
        part[0] = i;
        writer.write_all(&part).await.unwrap();
    }
    writer.shutdown().await.unwrap();
    assert_eq!(io.size(&location).await.unwrap(), 12 * MIB as u64);
    // Across the first part boundary (10 MiB).
    let at = 10 * MIB as u64;
    let got = io.read_range(&location, at - 2..at + 2).await.unwrap();
    assert_eq!(&got[..], &[chunk[MIB - 2], chunk[MIB - 1], 10, chunk[1]]);
    let all = io.read(&location).await.unwrap();
    assert_eq!(all.len(), 12 * MIB);
    assert_eq!(all[11 * MIB], 11);
    assert_eq!(&all[11 * MIB + 1..], &chunk[1..]);
    // `put` works too, and a small streamed file is one plain upload.
    let small = io.new_output(format!("{root}/large/small.bin")).unwrap();
    let mut writer = small.writer();
    writer.put(bytes("abc")).await.unwrap();
    writer.put(bytes("def")).await.unwrap();
    writer.shutdown().await.unwrap();
    assert_eq!(io.read(small.location()).await.unwrap(), bytes("abcdef"));
}

/// An aborted streaming upload (after a part went out) leaves no file.
pub async fn aborted_upload_leaves_nothing(io: &FileIO, root: &str) {
    let location = format!("{root}/aborted/blob.bin");
    let mut writer = io.new_output(&location).unwrap().writer();
    writer
        .write_all(&vec![7u8; 11 * 1024 * 1024])
        .await
        .unwrap();
    writer.abort().await.unwrap();
    assert!(!io.exists(&location).await.unwrap());
    assert!(listing(io, &format!("{root}/aborted")).await.is_empty());
}

/// The Parquet writers write through the FileIO; its Parquet reader reads them back.
pub async fn parquet_through_file_io(io: &FileIO, root: &str) {
    let schema = Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
            NestedField::optional(2, "name", Type::Primitive(PrimitiveType::String)),
        ])
        .build()
        .unwrap();
    let batch = RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from((0..1000).collect::<Vec<i64>>())),
            Arc::new(StringArray::from(
                (0..1000)
                    .map(|i| (i % 3 != 0).then(|| format!("n{i}")))
                    .collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let properties = HashMap::new();
    let context = Arc::new(WriterContext::for_data(&schema, &properties, None).unwrap());
    let table = format!("{root}/db/my table");
    let locations = Arc::new(LocationGenerator::for_table_io(io, &table, &properties).unwrap());
    let mut writer = PartitionedWriter::try_new(
        context.clone(),
        &schema,
        &PartitionSpec::unpartitioned(),
        locations,
    )
    .unwrap();
    writer.write(&batch).await.unwrap();
    let files = writer.close().await.unwrap();
    assert_eq!(files.len(), 1);
    let file = &files[0];
    assert!(
        file.file_path.starts_with(&format!("{table}/data/")),
        "{}",
        file.file_path
    );
    assert_eq!(
        io.size(&file.file_path).await.unwrap(),
        file.file_size_in_bytes as u64
    );

    // One file by location, through the FileIO.
    let single = format!("{table}/data/single.parquet");
    let mut one = ParquetWriter::try_new_in(io, &single, context, Vec::new()).unwrap();
    one.write(&batch.slice(0, 10)).await.unwrap();
    assert_eq!(one.close().await.unwrap().record_count, 10);

    for (location, rows, size) in [
        (&file.file_path, 1000, Some(file.file_size_in_bytes as u64)),
        (&single, 10, None),
    ] {
        let mut input = io.new_input(location.as_str()).unwrap();
        if let Some(size) = size {
            input = input.with_size(size);
        }
        let stream = ParquetRecordBatchStreamBuilder::new(input.parquet_reader())
            .await
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = stream.try_collect().await.unwrap();
        let n: usize = batches.iter().map(RecordBatch::num_rows).sum();
        assert_eq!(n, rows, "{location}");
        // The convenience reader too.
        let builder = ParquetRecordBatchStreamBuilder::new(io.parquet_reader(location).unwrap())
            .await
            .unwrap();
        assert_eq!(builder.metadata().file_metadata().num_rows(), rows as i64);
    }
}
