//! Encoding a row group's column chunks, with one zstd context per thread.
//!
//! parquet-rs gives every column writer a zstd compression context and a decompression
//! context of its own. Creating one runs the CPUID instruction (zstd checks for BMI2 each
//! time), and inside a virtual machine each CPUID is a trap to the hypervisor: writing a
//! lake of 20,000 small partitions spent about an eighth of its CPU time creating contexts
//! for columns of a few hundred values.
//!
//! So numeric columns take another road here: parquet-rs encodes their pages (levels,
//! values, statistics, page index, all as before) with compression switched off, and
//! [`ZstdPages`] compresses each page with a context kept per thread before it is written;
//! the chunk's metadata then names zstd. Every other column (strings, dictionaries, nested
//! types) goes through parquet-rs' Arrow writer unchanged. The bytes are exactly the ones
//! parquet-rs would write itself (tested below), so readers see no difference.

use std::cell::RefCell;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int32Type, Int64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema};
use bytes::Bytes;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowColumnWriter, compute_leaves};
use parquet::basic::{Compression, Type as PhysicalType, ZstdLevel};
use parquet::column::page::{CompressedPage, Page, PageWriteSpec, PageWriter};
use parquet::column::writer::{ColumnCloseResult, ColumnWriter, get_column_writer};
use parquet::data_type::DataType as ParquetType;
use parquet::errors::{ParquetError, Result};
use parquet::file::properties::WriterPropertiesPtr;
use parquet::file::writer::{SerializedPageWriter, SerializedRowGroupWriter, TrackedWrite};
use parquet::schema::types::{ColumnDescPtr, SchemaDescriptor};
use rayon::prelude::*;

/// How one column of a file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// parquet-rs' Arrow writer, with the codec the writer properties name.
    Arrow,
    /// parquet-rs encodes uncompressed (the properties must say so), [`ZstdPages`]
    /// compresses at this level.
    Zstd(ZstdLevel),
}

impl Route {
    /// [`Route::Zstd`] for a flat numeric column, [`Route::Arrow`] for everything else.
    pub(crate) fn for_type(data_type: &DataType, level: ZstdLevel) -> Route {
        match data_type {
            DataType::Int32
            | DataType::Int64
            | DataType::Date32
            | DataType::Float32
            | DataType::Float64
            | DataType::Timestamp(_, _) => Route::Zstd(level),
            DataType::Decimal128(precision, _) if *precision <= 18 => Route::Zstd(level),
            _ => Route::Arrow,
        }
    }
}

/// One encoded column chunk, ready to be appended to its row group.
pub(crate) enum EncodedColumn {
    Arrow(ArrowColumnChunk),
    Zstd(Bytes, ColumnCloseResult),
}

impl EncodedColumn {
    pub(crate) fn append_to<W: std::io::Write + Send>(
        self,
        row_group: &mut SerializedRowGroupWriter<'_, W>,
    ) -> Result<()> {
        match self {
            EncodedColumn::Arrow(chunk) => chunk.append_to_row_group(row_group),
            EncodedColumn::Zstd(bytes, close) => row_group.append_column(&bytes, close),
        }
    }
}

/// What encoding a row group needs besides its rows: the file's schemas, properties and
/// the route of each field.
pub(crate) struct RowGroupEncoder {
    schema: Arc<Schema>,
    descriptors: Vec<ColumnDescPtr>,
    props: WriterPropertiesPtr,
    routes: Vec<Route>,
    /// Parquet leaf columns of each field: one, or several for a nested type.
    leaves: Vec<usize>,
}

impl RowGroupEncoder {
    /// `routes` has one entry per field; a field with more than one leaf column (a nested
    /// type) always goes the Arrow way.
    pub(crate) fn new(
        schema: Arc<Schema>,
        parquet: &SchemaDescriptor,
        props: WriterPropertiesPtr,
        mut routes: Vec<Route>,
    ) -> RowGroupEncoder {
        let mut leaves = vec![0; schema.fields().len()];
        for leaf in 0..parquet.num_columns() {
            if let Some(n) = leaves.get_mut(parquet.get_column_root_idx(leaf)) {
                *n += 1;
            }
        }
        routes.resize(leaves.len(), Route::Arrow);
        for (route, &n) in routes.iter_mut().zip(&leaves) {
            if n != 1 {
                *route = Route::Arrow;
            }
        }
        RowGroupEncoder {
            schema,
            descriptors: parquet.columns().to_vec(),
            props,
            routes,
            leaves,
        }
    }

    /// Encodes and compresses one row group, column by column (on the rayon pool when
    /// `parallel`), in column order. `writers` are the Arrow writers of every leaf column,
    /// from the file's factory; those of [`Route::Zstd`] fields are not used.
    pub(crate) fn encode(
        &self,
        batches: &[RecordBatch],
        writers: Vec<ArrowColumnWriter>,
        parallel: bool,
    ) -> Result<Vec<EncodedColumn>> {
        // One Arrow field can be several Parquet leaf columns (nested types): group the
        // writers by field, in order.
        let mut writers = writers.into_iter();
        let mut leaf = 0;
        let mut tasks = Vec::with_capacity(self.leaves.len());
        for (i, (&leaves, &route)) in self.leaves.iter().zip(&self.routes).enumerate() {
            let group: Vec<ArrowColumnWriter> = writers.by_ref().take(leaves).collect();
            tasks.push((i, leaf, route, group));
            leaf += leaves;
        }
        let encode =
            |(i, leaf, route, group): (usize, usize, Route, Vec<ArrowColumnWriter>)| match route {
                Route::Zstd(level) => {
                    let descr = self.descriptors.get(leaf).ok_or_else(|| {
                        ParquetError::General(format!("no Parquet column {leaf}"))
                    })?;
                    let arrays: Vec<&ArrayRef> = batches.iter().map(|b| b.column(i)).collect();
                    let (bytes, close) = encode_zstd(descr, &self.props, level, &arrays)?;
                    Ok(vec![EncodedColumn::Zstd(bytes, close)])
                }
                Route::Arrow => encode_arrow(self.schema.field(i), i, batches, group),
            };
        let encoded: Vec<Vec<EncodedColumn>> = if parallel {
            tasks.into_par_iter().map(encode).collect::<Result<_>>()?
        } else {
            tasks.into_iter().map(encode).collect::<Result<_>>()?
        };
        Ok(encoded.into_iter().flatten().collect())
    }
}

fn encode_arrow(
    field: &arrow_schema::Field,
    i: usize,
    batches: &[RecordBatch],
    mut group: Vec<ArrowColumnWriter>,
) -> Result<Vec<EncodedColumn>> {
    for batch in batches {
        for (writer, leaf) in group
            .iter_mut()
            .zip(compute_leaves(field, batch.column(i))?)
        {
            writer.write(&leaf)?;
        }
    }
    group
        .into_iter()
        .map(|w| w.close().map(EncodedColumn::Arrow))
        .collect()
}

/// One numeric column chunk: encoded by parquet-rs, compressed by [`ZstdPages`].
fn encode_zstd(
    descr: &ColumnDescPtr,
    props: &WriterPropertiesPtr,
    level: ZstdLevel,
    arrays: &[&ArrayRef],
) -> Result<(Bytes, ColumnCloseResult)> {
    let mut sink = TrackedWrite::new(Vec::new());
    let close = {
        let pages = ZstdPages {
            out: SerializedPageWriter::new(&mut sink),
            level: level.compression_level(),
        };
        let mut writer = get_column_writer(Arc::clone(descr), Arc::clone(props), Box::new(pages));
        for array in arrays {
            write_array(&mut writer, array.as_ref(), descr.max_def_level())?;
        }
        writer.close()?
    };
    let metadata = close
        .metadata
        .into_builder()
        .set_compression(Compression::ZSTD(level))
        .build()?;
    let close = ColumnCloseResult { metadata, ..close };
    Ok((Bytes::from(sink.into_inner()?), close))
}

/// Writes one array into a column writer of the matching physical type, the way
/// parquet-rs' Arrow writer maps Arrow types to Parquet ones.
fn write_array(writer: &mut ColumnWriter<'_>, array: &dyn Array, max_def: i16) -> Result<()> {
    let physical = writer_type(writer);
    let mismatch = || {
        ParquetError::General(format!(
            "cannot write {} to a {physical} column",
            array.data_type()
        ))
    };
    match writer {
        ColumnWriter::Int32ColumnWriter(w) => match array.data_type() {
            DataType::Int32 => write_values(
                w,
                array.as_primitive::<Int32Type>().values(),
                array,
                max_def,
            ),
            DataType::Date32 => write_values(
                w,
                array.as_primitive::<Date32Type>().values(),
                array,
                max_def,
            ),
            DataType::Decimal128(_, _) => {
                let values: Vec<i32> = array
                    .as_primitive::<Decimal128Type>()
                    .values()
                    .iter()
                    .map(|v| *v as i32)
                    .collect();
                write_values(w, &values, array, max_def)
            }
            _ => Err(mismatch()),
        },
        ColumnWriter::Int64ColumnWriter(w) => match array.data_type() {
            DataType::Int64 => write_values(
                w,
                array.as_primitive::<Int64Type>().values(),
                array,
                max_def,
            ),
            DataType::Timestamp(_, _) => {
                // Every timestamp unit is an i64 count: the values buffer as it is.
                let data = array.to_data();
                let values = data
                    .buffers()
                    .first()
                    .map(|b| b.typed_data::<i64>())
                    .and_then(|v| v.get(data.offset()..data.offset() + data.len()))
                    .ok_or_else(mismatch)?;
                write_values(w, values, array, max_def)
            }
            DataType::Decimal128(_, _) => {
                let values: Vec<i64> = array
                    .as_primitive::<Decimal128Type>()
                    .values()
                    .iter()
                    .map(|v| *v as i64)
                    .collect();
                write_values(w, &values, array, max_def)
            }
            _ => Err(mismatch()),
        },
        ColumnWriter::FloatColumnWriter(w) if array.data_type() == &DataType::Float32 => {
            write_values(
                w,
                array.as_primitive::<Float32Type>().values(),
                array,
                max_def,
            )
        }
        ColumnWriter::DoubleColumnWriter(w) if array.data_type() == &DataType::Float64 => {
            write_values(
                w,
                array.as_primitive::<Float64Type>().values(),
                array,
                max_def,
            )
        }
        _ => Err(mismatch()),
    }
}

fn writer_type(writer: &ColumnWriter<'_>) -> PhysicalType {
    match writer {
        ColumnWriter::BoolColumnWriter(_) => PhysicalType::BOOLEAN,
        ColumnWriter::Int32ColumnWriter(_) => PhysicalType::INT32,
        ColumnWriter::Int64ColumnWriter(_) => PhysicalType::INT64,
        ColumnWriter::Int96ColumnWriter(_) => PhysicalType::INT96,
        ColumnWriter::FloatColumnWriter(_) => PhysicalType::FLOAT,
        ColumnWriter::DoubleColumnWriter(_) => PhysicalType::DOUBLE,
        ColumnWriter::ByteArrayColumnWriter(_) => PhysicalType::BYTE_ARRAY,
        ColumnWriter::FixedLenByteArrayColumnWriter(_) => PhysicalType::FIXED_LEN_BYTE_ARRAY,
    }
}

/// `values` are the array's value slots, nulls included; Parquet gets the non-null ones and
/// a definition level per row.
fn write_values<T: ParquetType>(
    writer: &mut parquet::column::writer::ColumnWriterImpl<'_, T>,
    values: &[T::T],
    array: &dyn Array,
    max_def: i16,
) -> Result<()>
where
    T::T: Copy,
{
    match (array.logical_nulls(), max_def) {
        (None, 0) => writer.write_batch(values, None, None)?,
        (None, _) => writer.write_batch(values, Some(&vec![max_def; values.len()]), None)?,
        (Some(_), 0) => {
            return Err(ParquetError::General(
                "a null in a column that does not allow nulls".into(),
            ));
        }
        (Some(nulls), _) => {
            let levels: Vec<i16> = nulls
                .iter()
                .map(|valid| if valid { max_def } else { 0 })
                .collect();
            let present: Vec<T::T> = nulls
                .valid_indices()
                .filter_map(|i| values.get(i).copied())
                .collect();
            writer.write_batch(&present, Some(&levels), None)?
        }
    };
    Ok(())
}

/// Pages compressed with the thread's zstd context on their way into the chunk.
struct ZstdPages<'a> {
    out: SerializedPageWriter<'a, Vec<u8>>,
    level: i32,
}

impl PageWriter for ZstdPages<'_> {
    fn write_page(&mut self, page: CompressedPage) -> Result<PageWriteSpec> {
        let uncompressed_size = page.uncompressed_size();
        let compressed = match page.compressed_page() {
            Page::DataPage {
                buf,
                num_values,
                encoding,
                def_level_encoding,
                rep_level_encoding,
                statistics,
            } => Page::DataPage {
                buf: compress(buf, self.level)?,
                num_values: *num_values,
                encoding: *encoding,
                def_level_encoding: *def_level_encoding,
                rep_level_encoding: *rep_level_encoding,
                statistics: statistics.clone(),
            },
            Page::DictionaryPage {
                buf,
                num_values,
                encoding,
                is_sorted,
            } => Page::DictionaryPage {
                buf: compress(buf, self.level)?,
                num_values: *num_values,
                encoding: *encoding,
                is_sorted: *is_sorted,
            },
            // Only version 1 data pages are written (writer_properties); version 2 pages
            // compress their values alone and would need their own handling.
            Page::DataPageV2 { .. } => {
                return Err(ParquetError::General(
                    "data page v2 is not supported by the zstd page writer".into(),
                ));
            }
        };
        self.out
            .write_page(CompressedPage::new(compressed, uncompressed_size))
    }

    fn close(&mut self) -> Result<()> {
        self.out.close()
    }
}

thread_local! {
    static ZSTD: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
}

/// One zstd frame of `input`, exactly as parquet-rs' zstd codec writes it, from the
/// thread's own context.
fn compress(input: &[u8], level: i32) -> Result<Bytes> {
    ZSTD.with(|slot| {
        let mut slot = slot.borrow_mut();
        let compressor = match slot.as_mut() {
            Some(c) => {
                c.set_compression_level(level)?;
                c
            }
            None => slot.insert(zstd::bulk::Compressor::new(level)?),
        };
        let mut out = Vec::with_capacity(zstd::zstd_safe::compress_bound(input.len()));
        compressor.compress_to_buffer(input, &mut out)?;
        Ok(Bytes::from(out))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::{FileWriter, WriteOptions, to_bytes, writer_properties};
    use arrow_array::types::Int32Type as Key;
    use arrow_array::{
        Date32Array, Decimal128Array, DictionaryArray, Float32Array, Float64Array, Int32Array,
        Int64Array, StringArray, TimestampMillisecondArray,
    };
    use arrow_schema::{Field, TimeUnit};
    use parquet::arrow::ArrowWriter;

    /// Every type the zstd route takes, with nulls, NaN and negative values, beside the
    /// string and dictionary columns that stay on the Arrow route.
    fn batch(from: i32, rows: i32, seed: u64) -> RecordBatch {
        let mut rng = fastrand::Rng::with_seed(seed);
        let schema = Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8, false),
            Field::new("d", DataType::Date32, false),
            Field::new("i", DataType::Int32, true),
            Field::new("f", DataType::Float64, true),
            Field::new("g", DataType::Float32, true),
            Field::new("v", DataType::Int64, true),
            Field::new("p", DataType::Decimal128(18, 6), true),
            Field::new("q", DataType::Decimal128(9, 2), true),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                true,
            ),
            Field::new(
                "k",
                DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
                true,
            ),
        ]));
        let n = rows as usize;
        let mut maybe = |p: f64| rng.f64() >= p;
        let nulls: Vec<bool> = (0..n * 8).map(|_| maybe(0.1)).collect();
        let mut rng = fastrand::Rng::with_seed(seed + 1);
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                (0..n).map(|i| format!("S{}", i % 3)),
            )),
            Arc::new(Date32Array::from_iter_values(from..from + rows)),
            Arc::new(Int32Array::from_iter(
                (0..n).map(|i| nulls[i].then(|| rng.i32(-1000..1000))),
            )),
            Arc::new(Float64Array::from_iter((0..n).map(|i| {
                nulls[n + i].then(|| match rng.u8(0..50) {
                    0 => f64::NAN,
                    1 => -0.0,
                    _ => (rng.f64() - 0.3) * 1e4,
                })
            }))),
            Arc::new(Float32Array::from_iter(
                (0..n).map(|i| nulls[2 * n + i].then(|| rng.f32() * 100.0)),
            )),
            Arc::new(Int64Array::from_iter(
                (0..n).map(|i| nulls[3 * n + i].then(|| rng.i64(..))),
            )),
            Arc::new(
                Decimal128Array::from_iter((0..n).map(|i| {
                    nulls[4 * n + i].then(|| rng.i128(-999_999_999_999..999_999_999_999))
                }))
                .with_precision_and_scale(18, 6)
                .unwrap(),
            ),
            Arc::new(
                Decimal128Array::from_iter(
                    (0..n).map(|i| nulls[5 * n + i].then(|| rng.i128(-99_999_999..99_999_999))),
                )
                .with_precision_and_scale(9, 2)
                .unwrap(),
            ),
            Arc::new(
                TimestampMillisecondArray::from_iter(
                    (0..n).map(|i| nulls[6 * n + i].then(|| rng.i64(0..2_000_000_000_000))),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(DictionaryArray::<Key>::from_iter(
                (0..n).map(|i| nulls[7 * n + i].then(|| ["yahoo", "stooq"][i % 2])),
            )),
        ];
        RecordBatch::try_new(schema, columns).unwrap()
    }

    fn arrow_writer_bytes(
        batches: &[RecordBatch],
        props: parquet::file::properties::WriterProperties,
    ) -> Vec<u8> {
        let mut w = ArrowWriter::try_new(Vec::new(), batches[0].schema(), Some(props)).unwrap();
        for b in batches {
            w.write(b).unwrap();
        }
        w.into_inner().unwrap()
    }

    #[test]
    fn files_are_byte_identical_to_parquet_rs_own_writer() {
        for (level, rows, group) in [(3, 5000, 2048), (1, 300, 1 << 17), (9, 70_000, 30_000)] {
            let opts = WriteOptions {
                zstd_level: level,
                row_group_rows: group,
            };
            let batches = vec![batch(0, rows / 2, 7), batch(rows / 2, rows - rows / 2, 8)];
            let expected = arrow_writer_bytes(&batches, writer_properties(opts).unwrap());
            for threads in [None, Some(2)] {
                let mut w = match threads {
                    Some(t) => FileWriter::parallel(Vec::new(), batches[0].schema(), opts, t),
                    None => FileWriter::new(Vec::new(), batches[0].schema(), opts),
                }
                .unwrap();
                for b in &batches {
                    w.write(b).unwrap();
                }
                let ours = w.finish().unwrap();
                assert!(
                    ours == expected,
                    "level {level}, {rows} rows, {threads:?} threads"
                );
            }
        }
    }

    #[test]
    fn partitions_are_byte_identical_to_parquet_rs_own_writer() {
        let opts = WriteOptions::default();
        let batches = vec![batch(0, 252, 3)];
        let (props, _) =
            crate::file::partition_layout(&batches[0].schema(), &batches, opts).unwrap();
        let expected = arrow_writer_bytes(&batches, props.build());
        assert!(to_bytes(batches[0].schema(), &batches, opts).unwrap() == expected);
    }

    #[test]
    fn a_context_serves_files_of_every_level_in_turn() {
        // The thread's context is reused across levels: each file must still come out as a
        // fresh context at its own level would write it.
        let batches = vec![batch(0, 2000, 11)];
        for level in [3, 1, 19, 3, -5, 1] {
            let opts = WriteOptions {
                zstd_level: level,
                row_group_rows: 1 << 17,
            };
            let ours = to_bytes(batches[0].schema(), &batches, opts).unwrap();
            let (props, _) =
                crate::file::partition_layout(&batches[0].schema(), &batches, opts).unwrap();
            assert!(
                ours == arrow_writer_bytes(&batches, props.build()),
                "level {level}"
            );
        }
    }
}
