//! Bad input: a clear error, and nothing committed or left behind.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema as ArrowSchema};
use floe_spec::expr::Reference;
use floe_spec::values::Datum;
use floe_table::ErrorKind;
use floe_table::transaction::RefUpdate;

use crate::common::{Env, batch};

fn files_under(env: &Env) -> usize {
    fn walk(p: &std::path::Path) -> usize {
        std::fs::read_dir(p).map_or(0, |rd| {
            rd.flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() { walk(&p) } else { 1 }
                })
                .sum()
        })
    }
    walk(std::path::Path::new(&env.warehouse))
}

#[tokio::test]
async fn bad_input_is_a_clear_error_with_nothing_committed() {
    let env = Env::sqlite().await;
    let t = env.create("t", true, &[]).await;
    let t = t.append(vec![batch(&t, 0..5, "a")]).await.unwrap();
    let location = t.metadata_location().unwrap().to_string();
    let files_before = files_under(&env);

    // A batch whose schema does not match the table.
    let wrong = RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("nope", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from(vec![1])) as ArrayRef,
            Arc::new(StringArray::from(vec!["x"])),
        ],
    )
    .unwrap();
    let err = t.append(vec![wrong]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataInvalid, "{err}");
    assert!(err.to_string().contains("nope"), "{err}");

    // A type that cannot be converted.
    let wrong_type = RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("cat", DataType::Int32, true),
        ])),
        vec![
            Arc::new(Int64Array::from(vec![1])) as ArrayRef,
            Arc::new(Int32Array::from(vec![1])),
        ],
    )
    .unwrap();
    let err = t.append(vec![wrong_type]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataInvalid, "{err}");

    // A null in a required column.
    let nulls = RecordBatch::try_new(
        Arc::new(ArrowSchema::new(vec![
            Field::new("id", DataType::Int64, true),
            Field::new("cat", DataType::Utf8, true),
        ])),
        vec![
            Arc::new(Int64Array::from(vec![Some(1), None])) as ArrayRef,
            Arc::new(StringArray::from(vec!["a", "a"])),
        ],
    )
    .unwrap();
    let err = t.append(vec![nulls]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataInvalid, "{err}");
    assert!(err.to_string().contains("id"), "{err}");

    // A filter on a missing column.
    let err = t
        .delete(Reference::new("missing").equal_to(Datum::Long(1)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataInvalid, "{err}");
    assert!(err.to_string().contains("missing"), "{err}");
    let err = t
        .overwrite(
            Reference::new("missing").equal_to(Datum::Long(1)),
            vec![batch(&t, 10..12, "a")],
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DataInvalid, "{err}");

    // Unknown snapshot, unknown ref.
    let mut tx = t.new_transaction();
    tx.rollback_to(42);
    let err = tx.commit().await.unwrap_err();
    assert!(err.to_string().contains("42"), "{err}");
    let mut tx = t.new_transaction();
    tx.update_ref(RefUpdate::create_tag("t1", 42));
    assert_eq!(
        tx.commit().await.unwrap_err().kind(),
        ErrorKind::DataInvalid
    );
    let mut tx = t.new_transaction();
    tx.update_ref(RefUpdate::remove("no-such-ref"));
    let err = tx.commit().await.unwrap_err();
    assert!(err.to_string().contains("no-such-ref"), "{err}");
    assert!(t.live_entries(Some(42)).await.is_err());

    let mut again = env.load("t").await;
    again.refresh().await.unwrap();
    assert_eq!(again.metadata_location(), Some(location.as_str()));
    assert_eq!(files_under(&env), files_before, "no file left behind");
}
