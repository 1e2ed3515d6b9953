//! The synchronous half of a Parquet file: Arrow batches encoded into row groups in an
//! in-memory buffer, through arrow-rs's column writers, with the columns of a large batch
//! encoded on several threads.
//!
//! arrow-rs's `ArrowWriter` encodes a batch's columns one after the other on the calling
//! thread. [`ParquetEncoder`] does what it does (same schema conversion, same
//! `WriterProperties`, same row-group limits) with the column writers split between the
//! calling thread and scoped helper threads: each top-level field (its leaf columns
//! together) is one piece of work, the costliest first, taken from a shared queue. Closing
//! a row group's column writers (the last page and the dictionary page of every column,
//! compressed) is spread the same way. Small batches stay on the calling thread.
//!
//! The bytes of finished row groups wait in a buffer that [`ParquetEncoder::take_buffer`]
//! drains (the caller uploads them); the footer comes with [`ParquetEncoder::finish`].

use std::cmp::Reverse;
use std::ops::Range;
use std::sync::Mutex;

use ::parquet::arrow::ArrowWriter;
use ::parquet::arrow::arrow_writer::{
    ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use ::parquet::file::metadata::ParquetMetaData;
use ::parquet::file::properties::WriterProperties;
use ::parquet::file::writer::SerializedFileWriter;
use arrow::array::{Array, RecordBatch};
use arrow::datatypes::SchemaRef;

use crate::error::{Error, ErrorKind, Result, parquet_error};

/// The least Arrow bytes in a batch (or estimated encoded bytes in a row group being
/// closed) worth a second thread: encoding 1 MiB takes a few milliseconds, starting a
/// thread some 50 µs.
const MIN_BYTES_PER_THREAD: usize = 1 << 20;

/// How many threads an encoder may use.
#[derive(Debug, Clone, Copy)]
struct Parallelism {
    /// At most this many.
    threads: usize,
    /// One per this many bytes of work.
    min_bytes: usize,
}

impl Parallelism {
    /// How many threads work on pieces of `total` bytes in all.
    fn threads_for(self, total: usize) -> usize {
        (total / self.min_bytes.max(1)).clamp(1, self.threads.max(1))
    }
}

/// Encodes one Parquet file into memory, row group by row group.
pub(crate) struct ParquetEncoder {
    file: SerializedFileWriter<Vec<u8>>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// The column writers (leaf columns) of each top-level field, in order.
    field_leaves: Vec<Range<usize>>,
    in_progress: Option<RowGroup>,
    max_row_group_rows: Option<usize>,
    max_row_group_bytes: Option<usize>,
    /// Set when an encoding step failed part way: the column writers may then disagree
    /// on the rows they hold, so the file must not be finished.
    failed: bool,
    parallelism: Parallelism,
}

/// The row group being encoded.
struct RowGroup {
    writers: Vec<ArrowColumnWriter>,
    rows: usize,
}

impl RowGroup {
    fn estimated_bytes(&self) -> usize {
        self.writers
            .iter()
            .map(ArrowColumnWriter::get_estimated_total_bytes)
            .sum()
    }
}

impl ParquetEncoder {
    /// Starts a file of rows of `schema` (whose fields carry their Parquet field ids)
    /// written with `properties`.
    pub(crate) fn try_new(schema: SchemaRef, properties: WriterProperties) -> Result<Self> {
        // A limit of 0 would never let a row in: taken as no limit.
        let max_row_group_rows = properties.max_row_group_row_count().filter(|&n| n > 0);
        let max_row_group_bytes = properties.max_row_group_bytes().filter(|&n| n > 0);
        // `ArrowWriter` converts the schema and stores the Arrow schema in the footer
        // metadata, as a plain arrow-rs file has it; then it hands over its parts.
        let (file, factory) = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties))
            .and_then(ArrowWriter::into_serialized_writer)
            .map_err(|e| parquet_error("starting a file", e))?;
        let descr = file.schema_descr();
        // Leaves are numbered depth-first, so each field's leaves are consecutive.
        let mut leaf_counts = vec![0usize; schema.fields().len()];
        for leaf in 0..descr.num_columns() {
            let root = descr.get_column_root_idx(leaf);
            *leaf_counts.get_mut(root).ok_or_else(|| {
                Error::new(
                    ErrorKind::Unexpected,
                    format!("Parquet leaf column {leaf} has no top-level Arrow field {root}"),
                )
            })? += 1;
        }
        let mut next = 0;
        let field_leaves = leaf_counts
            .into_iter()
            .map(|count| {
                next += count;
                next - count..next
            })
            .collect();
        Ok(Self {
            file,
            factory,
            schema,
            field_leaves,
            in_progress: None,
            max_row_group_rows,
            max_row_group_bytes,
            failed: false,
            parallelism: Parallelism {
                // The CPUs this process may use, at most 8.
                threads: super::cpus().min(8),
                min_bytes: MIN_BYTES_PER_THREAD,
            },
        })
    }

    /// The same, encoding on at most `threads` threads (1: all on the calling thread),
    /// one per `min_bytes` of work.
    #[cfg(test)]
    fn with_parallelism(mut self, threads: usize, min_bytes: usize) -> Self {
        self.parallelism = Parallelism { threads, min_bytes };
        self
    }

    /// Bytes of the file produced so far (header and finished row groups).
    pub(crate) fn bytes_written(&self) -> usize {
        self.file.bytes_written()
    }

    /// The estimated encoded size of the row group being encoded.
    pub(crate) fn in_progress_size(&self) -> usize {
        self.in_progress
            .as_ref()
            .map_or(0, RowGroup::estimated_bytes)
    }

    /// Takes the file's bytes produced so far and not taken yet.
    pub(crate) fn take_buffer(&mut self) -> Result<Vec<u8>> {
        self.file.flush().map_err(|e| {
            Error::new(ErrorKind::Io, "buffering Parquet output failed").with_source(e)
        })?;
        Ok(std::mem::take(self.file.inner_mut()))
    }

    /// Encodes `batch` (which has the file's schema), starting new row groups where the
    /// limits of the properties call for it, as `ArrowWriter::write` does.
    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        self.check_usable()?;
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let row_group = match &mut self.in_progress {
            Some(row_group) => row_group,
            slot => slot.insert(RowGroup {
                writers: self
                    .factory
                    .create_column_writers(self.file.flushed_row_groups().len())
                    .map_err(|e| parquet_error("starting a row group", e))?,
                rows: 0,
            }),
        };
        let rows = batch.num_rows();
        if let Some(max_rows) = self.max_row_group_rows
            && row_group.rows + rows > max_rows
        {
            let fit = max_rows.saturating_sub(row_group.rows);
            return self.write_split(batch, fit);
        }
        // With rows buffered, their average encoded size tells how many more fit under
        // the byte limit; the batch is split there.
        if let Some(max_bytes) = self.max_row_group_bytes
            && row_group.rows > 0
        {
            let current = row_group.estimated_bytes();
            if current >= max_bytes {
                self.flush()?;
                return self.write(batch);
            }
            if let Some(per_row) = current.checked_div(row_group.rows).filter(|&b| b > 0) {
                let fit = (max_bytes - current) / per_row;
                if rows > fit {
                    return self.write_split(batch, fit);
                }
            }
        }
        if let Err(e) = encode_batch(
            &mut row_group.writers,
            &self.schema,
            &self.field_leaves,
            batch,
            self.parallelism,
        ) {
            self.failed = true;
            return Err(e);
        }
        row_group.rows += rows;
        let full = self
            .max_row_group_rows
            .is_some_and(|max| row_group.rows >= max)
            || self
                .max_row_group_bytes
                .is_some_and(|max| row_group.estimated_bytes() >= max);
        if full {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the first `fit` rows of `batch` into the current row group (none: the row
    /// group is finished first), then the rest.
    fn write_split(&mut self, batch: &RecordBatch, fit: usize) -> Result<()> {
        if fit == 0 {
            self.flush()?;
            return self.write(batch);
        }
        self.write(&batch.slice(0, fit))?;
        self.write(&batch.slice(fit, batch.num_rows() - fit))
    }

    /// Finishes the row group being encoded, if any: its column chunks go to the buffer.
    pub(crate) fn flush(&mut self) -> Result<()> {
        self.check_usable()?;
        let Some(row_group) = self.in_progress.take() else {
            return Ok(());
        };
        let result = self.write_row_group(row_group);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    /// Closes the column writers of `row_group` (on several threads if it is large) and
    /// appends their chunks to the file as one row group.
    fn write_row_group(&mut self, row_group: RowGroup) -> Result<()> {
        let costs: Vec<usize> = row_group
            .writers
            .iter()
            .map(ArrowColumnWriter::get_estimated_total_bytes)
            .collect();
        let threads = self.parallelism.threads_for(costs.iter().sum());
        let items = costs.into_iter().zip(row_group.writers).collect();
        let chunks = in_parallel(items, threads, |writer: ArrowColumnWriter| {
            writer
                .close()
                .map_err(|e| parquet_error("closing a column chunk", e))
        })?;
        let failed = |e| parquet_error("writing a row group", e);
        let mut out = self.file.next_row_group().map_err(failed)?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut out).map_err(failed)?;
        }
        out.close().map_err(failed)?;
        Ok(())
    }

    /// Finishes the file: the last row group, then the footer. The buffer then holds the
    /// rest of the file; the metadata describes all of it.
    pub(crate) fn finish(&mut self) -> Result<ParquetMetaData> {
        self.flush()?;
        self.file
            .finish()
            .map_err(|e| parquet_error("writing the footer", e))
    }

    fn check_usable(&self) -> Result<()> {
        if self.failed {
            return Err(Error::new(
                ErrorKind::Unexpected,
                "the Parquet file cannot be continued after an encoding error",
            ));
        }
        Ok(())
    }
}

/// One top-level field of a batch and the column writers of its leaves.
struct FieldWork<'a> {
    field: &'a arrow::datatypes::Field,
    column: &'a arrow::array::ArrayRef,
    writers: &'a mut [ArrowColumnWriter],
}

impl FieldWork<'_> {
    fn encode(self) -> Result<()> {
        let what = || format!("encoding column {}", self.field.name());
        let leaves =
            compute_leaves(self.field, self.column).map_err(|e| parquet_error(&what(), e))?;
        if leaves.len() != self.writers.len() {
            return Err(Error::new(
                ErrorKind::Unexpected,
                format!(
                    "field {} has {} Parquet leaf columns, its writer {}",
                    self.field.name(),
                    leaves.len(),
                    self.writers.len()
                ),
            ));
        }
        for (leaf, writer) in leaves.iter().zip(self.writers.iter_mut()) {
            writer.write(leaf).map_err(|e| parquet_error(&what(), e))?;
        }
        Ok(())
    }
}

/// Encodes every column of `batch` into `writers`, the fields spread over threads by
/// their Arrow size.
fn encode_batch(
    writers: &mut [ArrowColumnWriter],
    schema: &SchemaRef,
    field_leaves: &[Range<usize>],
    batch: &RecordBatch,
    parallelism: Parallelism,
) -> Result<()> {
    let mut rest = writers;
    let mut items = Vec::with_capacity(field_leaves.len());
    for ((field, column), leaves) in schema
        .fields()
        .iter()
        .zip(batch.columns())
        .zip(field_leaves)
    {
        let take = leaves.len().min(rest.len());
        let (mine, tail) = std::mem::take(&mut rest).split_at_mut(take);
        rest = tail;
        let work = FieldWork {
            field: field.as_ref(),
            column,
            writers: mine,
        };
        items.push((column.get_array_memory_size(), work));
    }
    let total = items.iter().map(|(cost, _)| cost).sum();
    in_parallel(items, parallelism.threads_for(total), FieldWork::encode).map(|_| ())
}

/// Runs `f` on every item on up to `threads` threads, the calling thread among them, the
/// costliest items first, and returns the results in the items' order (an error: the
/// first item's in that order that failed). A thread that cannot be started leaves its
/// share to the others.
fn in_parallel<T: Send, R: Send>(
    items: Vec<(usize, T)>,
    threads: usize,
    f: impl Fn(T) -> Result<R> + Sync,
) -> Result<Vec<R>> {
    let count = items.len();
    if threads <= 1 || count <= 1 {
        return items.into_iter().map(|(_, item)| f(item)).collect();
    }
    let mut queue: Vec<(usize, usize, T)> = items
        .into_iter()
        .enumerate()
        .map(|(i, (cost, item))| (cost, i, item))
        .collect();
    queue.sort_by_key(|&(cost, i, _)| (Reverse(cost), i));
    let queue = Mutex::new(queue.into_iter());
    let work = || {
        let mut done = Vec::new();
        // A poisoned queue (a thread panicked holding it) ends the work; the missing
        // results are reported below.
        while let Some((_, i, item)) = queue.lock().ok().and_then(|mut q| q.next()) {
            done.push((i, f(item)));
        }
        done
    };
    let mut done = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads.min(count))
            .filter_map(|_| {
                std::thread::Builder::new()
                    .name("floe-parquet-encode".into())
                    .spawn_scoped(scope, work)
                    .ok()
            })
            .collect();
        // A panic on this thread is caught like one on a helper: an error, not a crash.
        let mut done =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)).unwrap_or_default();
        for helper in helpers {
            if let Ok(mut theirs) = helper.join() {
                done.append(&mut theirs);
            }
        }
        done
    });
    if done.len() != count {
        return Err(Error::new(
            ErrorKind::Unexpected,
            "a Parquet encoding thread panicked",
        ));
    }
    done.sort_unstable_by_key(|&(i, _)| i);
    done.into_iter().map(|(_, result)| result).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use arrow::array::{ArrayRef, Float64Array, Int64Array, ListArray, StringArray, StructArray};
    use arrow::datatypes::{DataType, Field, Fields, Int64Type, Schema};
    use bytes::Bytes;

    use super::*;

    fn schema() -> SchemaRef {
        let point = Fields::from(vec![
            Field::new("x", DataType::Float64, false),
            Field::new("y", DataType::Float64, true),
        ]);
        Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
            Field::new("point", DataType::Struct(point), true),
            Field::new_list("tags", Field::new_list_field(DataType::Int64, true), true),
        ]))
    }

    fn batch(start: i64, rows: usize) -> RecordBatch {
        let ids: Vec<i64> = (start..start + rows as i64).collect();
        let names: StringArray = ids
            .iter()
            .map(|i| (i % 7 != 0).then(|| format!("name-{}", i * 7919 % 10_007)))
            .collect();
        let x: ArrayRef = Arc::new(Float64Array::from_iter_values(
            ids.iter().map(|&i| i as f64),
        ));
        let y: Float64Array = ids
            .iter()
            .map(|&i| (i % 3 != 0).then_some(i as f64 / 3.0))
            .collect();
        let y: ArrayRef = Arc::new(y);
        let DataType::Struct(point_fields) = schema().field(2).data_type().clone() else {
            unreachable!("the schema's point is a struct")
        };
        let point = StructArray::new(point_fields, vec![x, y], None);
        let tags = ListArray::from_iter_primitive::<Int64Type, _, _>(
            ids.iter()
                .map(|&i| (i % 5 != 0).then(|| (0..i % 4).map(move |t| Some(i + t)))),
        );
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int64Array::from(ids)),
                Arc::new(names),
                Arc::new(point),
                Arc::new(tags),
            ],
        )
        .unwrap()
    }

    fn properties(max_row_group_bytes: Option<usize>) -> WriterProperties {
        WriterProperties::builder()
            .set_max_row_group_row_count(None)
            .set_max_row_group_bytes(max_row_group_bytes)
            .build()
    }

    /// Writes `batches` with `threads` threads, and the bytes of the whole file.
    fn encode(threads: usize, props: WriterProperties, batches: &[RecordBatch]) -> Vec<u8> {
        let mut encoder = ParquetEncoder::try_new(schema(), props)
            .unwrap()
            .with_parallelism(threads, 16 << 10);
        let mut out = Vec::new();
        for b in batches {
            encoder.write(b).unwrap();
            out.extend(encoder.take_buffer().unwrap());
        }
        let metadata = encoder.finish().unwrap();
        out.extend(encoder.take_buffer().unwrap());
        assert_eq!(
            metadata.file_metadata().num_rows() as usize,
            batches.iter().map(RecordBatch::num_rows).sum::<usize>()
        );
        out
    }

    fn read(bytes: Vec<u8>) -> (Vec<RecordBatch>, usize) {
        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes)).unwrap();
        let row_groups = reader.metadata().num_row_groups();
        (
            reader
                .build()
                .unwrap()
                .collect::<std::result::Result<_, _>>()
                .unwrap(),
            row_groups,
        )
    }

    #[test]
    fn several_threads_write_the_same_file_as_one() {
        // Batches of some 200 kB: several threads at one per 16 KiB.
        let batches: Vec<RecordBatch> = (0..4).map(|i| batch(i * 4_000, 4_000)).collect();
        assert!(batches[0].get_array_memory_size() > 8 * (16 << 10));
        for limit in [None, Some(64 << 10)] {
            let one = encode(1, properties(limit), &batches);
            for threads in [2, 3, 8] {
                let many = encode(threads, properties(limit), &batches);
                assert_eq!(many, one, "{threads} threads, row-group limit {limit:?}");
            }
            let (read_back, row_groups) = read(one);
            let rows: usize = read_back.iter().map(RecordBatch::num_rows).sum();
            assert_eq!(rows, 16_000);
            let all = arrow::compute::concat_batches(&schema(), &read_back).unwrap();
            let want = arrow::compute::concat_batches(&schema(), &batches).unwrap();
            assert_eq!(all, want);
            if limit.is_some() {
                assert!(row_groups > 1, "{row_groups} row groups");
            } else {
                assert_eq!(row_groups, 1);
            }
        }
    }

    #[test]
    fn row_groups_split_where_arrow_writer_splits_them() {
        let batches: Vec<RecordBatch> = (0..6).map(|i| batch(i * 2_000, 2_000)).collect();
        let props = || {
            WriterProperties::builder()
                .set_max_row_group_row_count(Some(5_000))
                .set_max_row_group_bytes(Some(40 << 10))
                .build()
        };
        let ours = encode(2, props(), &batches);
        let mut theirs = ArrowWriter::try_new(Vec::new(), schema(), Some(props())).unwrap();
        for b in &batches {
            theirs.write(b).unwrap();
        }
        let theirs = theirs.into_inner().unwrap();
        assert_eq!(ours, theirs);
        let (_, row_groups) = read(ours);
        assert!(row_groups >= 3, "{row_groups} row groups");
    }

    #[test]
    fn work_runs_once_per_item_and_results_keep_their_order() {
        let calls = AtomicUsize::new(0);
        let items: Vec<(usize, usize)> = (0..50).map(|i| ((i * 37) % 11, i)).collect();
        let out = in_parallel(items, 4, |i| {
            calls.fetch_add(1, Ordering::Relaxed);
            Ok(i * 2)
        })
        .unwrap();
        assert_eq!(out, (0..50).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(calls.load(Ordering::Relaxed), 50);
        let err = in_parallel((0..10).map(|i| (i, i)).collect(), 3, |i| {
            if i % 4 == 3 {
                Err(Error::new(ErrorKind::DataInvalid, format!("item {i}")))
            } else {
                Ok(i)
            }
        })
        .unwrap_err();
        assert_eq!(err.message(), "item 3");
    }

    #[test]
    fn a_panicking_thread_is_an_error() {
        let err = in_parallel((0..8).map(|i| (1, i)).collect(), 2, |i| {
            assert!(i != 5, "boom");
            Ok(i)
        });
        assert!(err.is_err());
    }

    #[test]
    fn an_encoding_error_stops_the_file() {
        let mut encoder = ParquetEncoder::try_new(schema(), properties(None)).unwrap();
        encoder.write(&batch(0, 100)).unwrap();
        // A batch whose `name` column is not a string column.
        let bad_schema = Arc::new(Schema::new(
            schema()
                .fields()
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    if i == 1 {
                        Arc::new(Field::new("name", DataType::Int64, true))
                    } else {
                        f.clone()
                    }
                })
                .collect::<Vec<_>>(),
        ));
        let good = batch(100, 100);
        let mut columns = good.columns().to_vec();
        columns[1] = Arc::new(Int64Array::from(vec![1; 100]));
        let bad = RecordBatch::try_new(bad_schema, columns).unwrap();
        assert!(encoder.write(&bad).is_err());
        let err = encoder.finish().unwrap_err();
        assert!(err.message().contains("cannot be continued"), "{err}");
    }
}
