//! Writing and reading one Parquet file.

use std::fs::File;
use std::io::Write;
use std::path::Path;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::schema::types::ColumnPath;

use crate::LakeError;

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
        )
        .build())
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

/// Streams batches into a Parquet file on any writer.
pub struct FileWriter<W: Write + Send> {
    inner: ArrowWriter<W>,
    rows: u64,
}

impl<W: Write + Send> FileWriter<W> {
    pub fn new(out: W, schema: SchemaRef, opts: WriteOptions) -> Result<FileWriter<W>, LakeError> {
        Ok(FileWriter {
            inner: ArrowWriter::try_new(out, schema, Some(writer_properties(opts)?))?,
            rows: 0,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), LakeError> {
        self.rows += batch.num_rows() as u64;
        Ok(self.inner.write(batch)?)
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the footer and hands back the writer.
    pub fn finish(self) -> Result<W, LakeError> {
        Ok(self.inner.into_inner()?)
    }
}

/// Writes batches into an in-memory Parquet file.
pub fn to_bytes(
    schema: SchemaRef,
    batches: &[RecordBatch],
    opts: WriteOptions,
) -> Result<Vec<u8>, LakeError> {
    let mut w = FileWriter::new(Vec::new(), schema, opts)?;
    for b in batches {
        w.write(b)?;
    }
    w.finish()
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
