//! The test table's schema (`id` long required, `cat` string, `v` long) and its rows:
//! batches, data files written but not committed, and the ids a scan reads back.

use std::ops::Range;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::Int64Type;
use floe_spec::manifest::DataFile;
use floe_spec::schema::Schema;
use floe_spec::types::{NestedField, PrimitiveType, Type};
use floe_table::Table;
use floe_table::arrow_schema::schema_to_arrow;

pub fn schema() -> Schema {
    Schema::builder()
        .with_fields(vec![
            NestedField::required(1, "id", Type::Primitive(PrimitiveType::Long)),
            NestedField::optional(2, "cat", Type::Primitive(PrimitiveType::String)),
            NestedField::optional(3, "v", Type::Primitive(PrimitiveType::Long)),
        ])
        .build()
        .unwrap()
}

/// Rows `ids` in category `cat` (v = id * 10), in the table's current schema.
pub fn batch(table: &Table, ids: Range<i64>, cat: &str) -> RecordBatch {
    let arrow = Arc::new(schema_to_arrow(table.schema()).unwrap());
    let n = ids.clone().count();
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(ids.clone())),
        Arc::new(StringArray::from(vec![cat; n])),
        Arc::new(Int64Array::from_iter_values(ids.map(|i| i * 10))),
    ];
    // Columns added by schema evolution: nulls.
    for f in arrow.fields().iter().skip(3) {
        columns.push(arrow::array::new_null_array(f.data_type(), n));
    }
    RecordBatch::try_new(arrow, columns).unwrap()
}

/// Writes rows as data files of `table` (not committed).
pub async fn write(table: &Table, ids: Range<i64>, cat: &str) -> Vec<DataFile> {
    let mut tx = table.new_transaction();
    tx.write_batches(&[batch(table, ids, cat)]).await.unwrap()
}

/// The `id`s of the current snapshot's rows, read with the scan engine (deletes
/// applied), sorted.
pub async fn scan_ids(table: &Table) -> Vec<i64> {
    let batches = table
        .scan()
        .select(["id"])
        .build()
        .unwrap()
        .to_arrow()
        .await
        .unwrap();
    let mut ids: Vec<i64> = batches
        .iter()
        .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
        .collect();
    ids.sort_unstable();
    ids
}
