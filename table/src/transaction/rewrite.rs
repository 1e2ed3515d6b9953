//! Rewriting data files of which only some rows match a delete filter (copy-on-write):
//! the file is read with the deletes that apply to it, the rows for which the filter is
//! not true (false or unknown) are written to new data files of the default spec, and
//! the old file is removed by the same snapshot.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, StructArray};
use arrow::compute::filter_record_batch;
use floe_spec::expr::{BoundExpression, Expression};
use floe_spec::manifest::DataFile;
use floe_spec::schema::Schema;
use floe_spec::table_metadata::TableMetadata;
use futures::TryStreamExt;

use crate::arrow_transform::datum_at;
use crate::error::{Error, ErrorKind, Result, arrow_error};
use crate::scan::{ObjectStoreFileRead, TableScanBuilder};
use crate::table::Storage;
use crate::writer::{LocationGenerator, PartitionedWriter, WriterContext};

/// The column of field `id` in a batch of `schema` rows (through nested structs).
fn column(batch: &RecordBatch, schema: &Schema, id: i32) -> Option<ArrayRef> {
    let path = schema.accessor_by_id(id)?;
    let (first, rest) = path.split_first()?;
    let mut array = batch.columns().get(*first)?.clone();
    for pos in rest {
        let s = array.as_any().downcast_ref::<StructArray>()?;
        array = s.columns().get(*pos)?.clone();
    }
    Some(array)
}

/// Which rows to keep: those for which `filter` is not true.
fn keep_mask(
    batch: &RecordBatch,
    schema: &Schema,
    filter: &BoundExpression,
) -> Result<BooleanArray> {
    let mut ids = Vec::new();
    filter.for_each_predicate(&mut |p| ids.push(p.term().field_id()));
    let mut columns = Vec::new();
    for id in ids {
        let array = column(batch, schema, id).ok_or_else(|| {
            Error::unsupported(format!(
                "rewrite: cannot evaluate the filter on column {id} (inside a list or map)"
            ))
        })?;
        let ty = schema
            .field_by_id(id)
            .and_then(|f| f.field_type.as_primitive().cloned())
            .ok_or_else(|| Error::invalid(format!("rewrite: column {id} is not primitive")))?;
        columns.push((id, array, ty));
    }
    let mut keep = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let value = |id: i32| {
            columns
                .iter()
                .find(|(i, _, _)| *i == id)
                .and_then(|(_, a, ty)| datum_at(a.as_ref(), row, ty).ok().flatten())
        };
        keep.push(filter.eval_three_valued(&value) != Some(true));
    }
    Ok(BooleanArray::from(keep))
}

/// Rewrites `files` (live in snapshot `snapshot_id` of `metadata`) without the rows
/// matching `filter`; returns the new data files (none when every row matched).
pub(crate) async fn rewrite_without(
    storage: &Storage,
    metadata: &TableMetadata,
    snapshot_id: i64,
    files: &[DataFile],
    filter: &Expression,
    created: &mut Vec<String>,
) -> Result<Vec<DataFile>> {
    let paths: HashSet<&str> = files.iter().map(|f| f.file_path.as_str()).collect();
    let metadata = Arc::new(metadata.clone());
    let io = Arc::new(ObjectStoreFileRead::new(storage.store().clone()));
    let scan = TableScanBuilder::new(metadata.clone(), io)
        .snapshot_id(snapshot_id)
        .build()?;
    let tasks: Vec<_> = scan
        .plan_files()
        .await?
        .into_iter()
        .filter(|t| paths.contains(t.data_file.file_path.as_str()))
        .collect();
    if tasks.len() != paths.len() {
        return Err(Error::new(
            ErrorKind::Unexpected,
            "rewrite: some files to rewrite are not in the snapshot's scan plan",
        ));
    }
    let schema = scan.read_schema().clone();
    let bound = filter.rewrite_not().bind(&schema, true)?;
    let batches: Vec<RecordBatch> = scan.reader()?.read(tasks).try_collect().await?;

    let context = Arc::new(WriterContext::for_data(
        &schema,
        metadata.properties(),
        Some(metadata.default_sort_order().as_ref()).filter(|o| o.order_id != 0),
    )?);
    let locations = Arc::new(LocationGenerator::for_table(
        storage.store().clone(),
        metadata.location(),
        metadata.properties(),
    )?);
    let mut writer = PartitionedWriter::try_new(
        context,
        &schema,
        metadata.default_partition_spec(),
        locations,
    )?;
    for batch in &batches {
        let mask = keep_mask(batch, &schema, &bound)?;
        let kept = filter_record_batch(batch, &mask)
            .map_err(|e| arrow_error("filtering rows to keep", e))?;
        if kept.num_rows() > 0
            && let Err(e) = writer.write(&kept).await
        {
            writer.abort().await.ok();
            return Err(e);
        }
    }
    let out = writer.close().await?;
    created.extend(out.iter().map(|f| f.file_path.clone()));
    Ok(out)
}
