//! Writing and reading one Parquet file.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use crate::LakeError;
use crate::encode::{EncodedColumn, Route, RowGroupEncoder};
use arrow_array::cast::AsArray;
use arrow_array::{Array, RecordBatch};
use arrow_schema::{Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::arrow_writer::{ArrowRowGroupWriterFactory, ArrowWriterOptions};
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter, add_encoded_arrow_schema_to_metadata};
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::{
    EnabledStatistics, WriterProperties, WriterPropertiesBuilder, WriterVersion,
};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::{ColumnPath, SchemaDescriptor};

/// How files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteOptions {
    /// zstd level, 1–22.
    pub zstd_level: i32,
    /// Rows per row group.
    pub row_group_rows: usize,
}

impl Default for WriteOptions {
    fn default() -> WriteOptions {
        WriteOptions {
            zstd_level: 3,
            row_group_rows: 1 << 17,
        }
    }
}

/// zstd, statistics down to the page (which also writes the column and offset index, the
/// "page index" engines prune with), dictionaries for repeated strings, and a fixed
/// `created_by`, so that the same rows always give the same bytes.
pub fn writer_properties(opts: WriteOptions) -> Result<WriterProperties, LakeError> {
    Ok(writer_properties_builder(opts)?.build())
}

fn writer_properties_builder(opts: WriteOptions) -> Result<WriterPropertiesBuilder, LakeError> {
    let mut b = WriterProperties::builder()
        // Dictionaries only where values repeat (symbols, providers, codes, names); prices,
        // volumes, dates and timestamps are nearly all distinct, so a dictionary there is
        // hashing work thrown away when the writer falls back to plain encoding.
        .set_dictionary_enabled(true);
    for column in NO_DICTIONARY {
        b = b.set_column_dictionary_enabled(ColumnPath::from(*column), false);
    }
    Ok(b.set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(opts.zstd_level)?))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(opts.row_group_rows.max(1)))
        .set_created_by(
            concat!("tickerlake ", env!("CARGO_PKG_VERSION"), " (parquet-rs)").to_string(),
        ))
}

/// Columns of mostly distinct values.
const NO_DICTIONARY: &[&str] = &[
    "date",
    "open",
    "high",
    "low",
    "close",
    "adj_close",
    "volume",
    "vwap",
    "transactions",
    "source_ts",
    "ratio",
    "amount",
    "market_cap",
    "ts",
    "message",
];

/// Streams batches into a Parquet file on any writer, in row groups of exactly
/// `row_group_rows` rows (the last one shorter), so the bytes depend only on the rows and the
/// options, never on how the rows arrived or how many threads encoded them.
///
/// With [`FileWriter::parallel`], each full row group is encoded and compressed on the rayon
/// pool, its columns in parallel, while the caller goes on producing the next one; finished
/// row groups are appended in order. At most `threads` row groups are being encoded at once,
/// which bounds memory.
pub struct FileWriter<W: Write + Send> {
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    encoder: Arc<RowGroupEncoder>,
    row_group_rows: usize,
    /// Rows of the row group being gathered.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    /// Row groups handed out so far (the index of the next one).
    row_groups: usize,
    /// Row groups being encoded, oldest first.
    in_flight: VecDeque<Receiver<Result<Vec<EncodedColumn>, ParquetError>>>,
    /// 0: encode on the calling thread.
    threads: usize,
    rows: u64,
}

impl<W: Write + Send> FileWriter<W> {
    /// A writer that encodes on the calling thread (for small files, and for callers that are
    /// parallel already).
    pub fn new(out: W, schema: SchemaRef, opts: WriteOptions) -> Result<FileWriter<W>, LakeError> {
        FileWriter::with_threads(out, schema, opts, 0)
    }

    /// A writer that encodes up to `threads` row groups at once on the rayon pool.
    pub fn parallel(
        out: W,
        schema: SchemaRef,
        opts: WriteOptions,
        threads: usize,
    ) -> Result<FileWriter<W>, LakeError> {
        FileWriter::with_threads(out, schema, opts, threads.max(1))
    }

    fn with_threads(
        out: W,
        schema: SchemaRef,
        opts: WriteOptions,
        threads: usize,
    ) -> Result<FileWriter<W>, LakeError> {
        let level = ZstdLevel::try_new(opts.zstd_level)?;
        let routes = schema
            .fields()
            .iter()
            .map(|f| Route::for_type(f.data_type(), level))
            .collect();
        FileWriter::open(
            out,
            schema,
            opts,
            writer_properties_builder(opts)?,
            routes,
            threads,
        )
    }

    /// `props` as the options give them; columns routed [`Route::Zstd`] are switched to
    /// uncompressed here, as that route requires.
    fn open(
        out: W,
        schema: SchemaRef,
        opts: WriteOptions,
        mut props: WriterPropertiesBuilder,
        routes: Vec<Route>,
        threads: usize,
    ) -> Result<FileWriter<W>, LakeError> {
        for (field, route) in schema.fields().iter().zip(&routes) {
            if let Route::Zstd(_) = route {
                props = props.set_column_compression(
                    ColumnPath::from(field.name().as_str()),
                    Compression::UNCOMPRESSED,
                );
            }
        }
        // ArrowWriter sets up the file the way every reader expects (the Arrow schema in the
        // footer for types Parquet lacks, like time zones); its parts then do the work. The
        // Parquet schema and the encoded Arrow schema are made once per thread and schema,
        // not once per file (a lake writes thousands of files with one schema).
        let (parquet_schema, arrow_schema_kv) = file_schemas(&schema)?;
        let options = ArrowWriterOptions::new()
            .with_properties(
                props
                    .set_key_value_metadata(Some(vec![arrow_schema_kv]))
                    .build(),
            )
            .with_parquet_schema(parquet_schema)
            .with_skip_arrow_metadata(true);
        let arrow = ArrowWriter::try_new_with_options(out, Arc::clone(&schema), options)?;
        let (file, factory) = arrow.into_serialized_writer()?;
        let encoder = RowGroupEncoder::new(
            schema,
            file.schema_descr(),
            Arc::clone(file.properties()),
            routes,
        );
        Ok(FileWriter {
            file,
            factory,
            encoder: Arc::new(encoder),
            row_group_rows: opts.row_group_rows.max(1),
            pending: Vec::new(),
            pending_rows: 0,
            row_groups: 0,
            in_flight: VecDeque::new(),
            threads,
            rows: 0,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), LakeError> {
        self.rows += batch.num_rows() as u64;
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = (self.row_group_rows - self.pending_rows).min(batch.num_rows() - offset);
            self.pending.push(batch.slice(offset, take));
            self.pending_rows += take;
            offset += take;
            if self.pending_rows == self.row_group_rows {
                self.end_row_group()?;
            }
        }
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Encodes the gathered rows as the next row group.
    fn end_row_group(&mut self) -> Result<(), LakeError> {
        if self.pending_rows == 0 {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.pending);
        self.pending_rows = 0;
        let writers = self.factory.create_column_writers(self.row_groups)?;
        self.row_groups += 1;
        if self.threads == 0 {
            let columns = self.encoder.encode(&batches, writers, false)?;
            return self.append(columns);
        }
        let (tx, rx) = sync_channel(1);
        let encoder = Arc::clone(&self.encoder);
        rayon::spawn(move || {
            let _ = tx.send(encoder.encode(&batches, writers, true));
        });
        self.in_flight.push_back(rx);
        while self.in_flight.len() > self.threads {
            self.append_oldest()?;
        }
        Ok(())
    }

    fn append_oldest(&mut self) -> Result<(), LakeError> {
        let Some(rx) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let columns = rx
            .recv()
            .map_err(|_| ParquetError::General("a row group encoder stopped".into()))??;
        self.append(columns)
    }

    fn append(&mut self, columns: Vec<EncodedColumn>) -> Result<(), LakeError> {
        let mut row_group = self.file.next_row_group()?;
        for column in columns {
            column.append_to(&mut row_group)?;
        }
        row_group.close()?;
        Ok(())
    }

    /// Writes the last row group and the footer and hands back the writer.
    pub fn finish(mut self) -> Result<W, LakeError> {
        self.end_row_group()?;
        while !self.in_flight.is_empty() {
            self.append_oldest()?;
        }
        Ok(self.file.into_inner()?)
    }
}

thread_local! {
    static FILE_SCHEMAS: std::cell::RefCell<Option<(SchemaRef, SchemaDescriptor, KeyValue)>> =
        const { std::cell::RefCell::new(None) };
}

/// The Parquet schema of files of `schema`, and the footer entry holding the Arrow schema, as
/// `ArrowWriter` makes them; remembered for the thread's last schema.
fn file_schemas(schema: &SchemaRef) -> Result<(SchemaDescriptor, KeyValue), LakeError> {
    FILE_SCHEMAS.with(|cell| {
        let mut cached = cell.borrow_mut();
        if let Some((s, descr, kv)) = cached.as_ref()
            && (Arc::ptr_eq(s, schema) || s == schema)
        {
            return Ok((descr.clone(), kv.clone()));
        }
        let descr = ArrowSchemaConverter::new().convert(schema)?;
        let mut props = WriterProperties::builder().build();
        add_encoded_arrow_schema_to_metadata(schema, &mut props);
        let kv = props
            .key_value_metadata()
            .and_then(|m| m.first())
            .cloned()
            .ok_or_else(|| ParquetError::General("no Arrow schema entry".into()))?;
        *cached = Some((Arc::clone(schema), descr.clone(), kv.clone()));
        Ok((descr, kv))
    })
}

/// Writes batches into an in-memory Parquet file (a lake partition), on the calling thread.
///
/// A column with nothing to compress in this file (every value null, or one dictionary
/// value repeated) is stored uncompressed: zstd cannot shrink its few bytes of levels.
pub fn to_bytes(
    schema: SchemaRef,
    batches: &[RecordBatch],
    opts: WriteOptions,
) -> Result<Vec<u8>, LakeError> {
    let (props, routes) = partition_layout(&schema, batches, opts)?;
    let mut w = FileWriter::open(Vec::new(), schema, opts, props, routes, 0)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()
}

/// Rows below which a partition file is written uncompressed.
const SMALL_PARTITION_ROWS: usize = 64;

/// The properties and column routes of a partition file: trivial columns uncompressed.
pub(crate) fn partition_layout(
    schema: &Schema,
    batches: &[RecordBatch],
    opts: WriteOptions,
) -> Result<(WriterPropertiesBuilder, Vec<Route>), LakeError> {
    let level = ZstdLevel::try_new(opts.zstd_level)?;
    let mut props = writer_properties_builder(opts)?;
    let mut routes = Vec::with_capacity(schema.fields().len());
    // A partition of a few weeks' rows holds a few hundred bytes a column: zstd's tables cost
    // more time than they save bytes there.
    let small = batches.iter().map(RecordBatch::num_rows).sum::<usize>() < SMALL_PARTITION_ROWS;
    for (i, field) in schema.fields().iter().enumerate() {
        let trivial = small
            || batches.iter().all(|b| {
                let column = b.column(i);
                column.null_count() == column.len()
                    || column
                        .as_any_dictionary_opt()
                        .is_some_and(|d| d.values().len() <= 1)
            });
        if trivial {
            props = props.set_column_compression(
                ColumnPath::from(field.name().as_str()),
                Compression::UNCOMPRESSED,
            );
            routes.push(Route::Arrow);
        } else {
            routes.push(Route::for_type(field.data_type(), level));
        }
    }
    Ok((props, routes))
}

/// Every batch of a Parquet file.
pub fn read_batches(path: &Path) -> Result<Vec<RecordBatch>, LakeError> {
    let f = File::open(path).map_err(|source| LakeError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(|e| LakeError::from(e).in_file(path))?
        .with_batch_size(65_536)
        .build()?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| LakeError::from(e).in_file(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{ArrayRef, Int64Array, StringArray};
    use arrow_schema::{DataType, Field};
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn batch(from: i64, rows: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]));
        let n: ArrayRef = Arc::new(Int64Array::from_iter_values(from..from + rows));
        let s: ArrayRef = Arc::new(StringArray::from_iter(
            (from..from + rows).map(|i| (i % 7 != 0).then(|| format!("v{}", i % 13))),
        ));
        RecordBatch::try_new(schema, vec![n, s]).unwrap()
    }

    fn as_file(bytes: &[u8]) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    fn write(slices: &[i64], threads: Option<usize>, opts: WriteOptions) -> Vec<u8> {
        let schema = batch(0, 0).schema();
        let mut w = match threads {
            Some(t) => FileWriter::parallel(Vec::new(), schema, opts, t).unwrap(),
            None => FileWriter::new(Vec::new(), schema, opts).unwrap(),
        };
        let mut from = 0;
        for &rows in slices {
            w.write(&batch(from, rows)).unwrap();
            from += rows;
        }
        assert_eq!(w.rows(), from as u64);
        w.finish().unwrap()
    }

    #[test]
    fn row_groups_are_exact_and_bytes_do_not_depend_on_batches_or_threads() {
        let opts = WriteOptions {
            zstd_level: 3,
            row_group_rows: 1000,
        };
        let serial = write(&[2500], None, opts);
        for (slices, threads) in [
            (&[2500][..], Some(1)),
            (&[999, 1, 1000, 500][..], Some(2)),
            (&[1, 1, 2497, 1][..], Some(4)),
            (&[300; 8][..], None),
        ] {
            let total: i64 = slices.iter().sum();
            let bytes = write(slices, threads, opts);
            if total == 2500 {
                assert_eq!(bytes, serial, "{slices:?} on {threads:?} threads");
            }
        }
        let reader = SerializedFileReader::new(as_file(&serial)).unwrap();
        let rows: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(rows, vec![1000, 1000, 500]);
    }

    #[test]
    fn an_empty_file_is_still_a_parquet_file() {
        let bytes = write(&[], Some(2), WriteOptions::default());
        let reader = SerializedFileReader::new(as_file(&bytes)).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
    }
}
