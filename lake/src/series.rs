//! Per-symbol daily series read from the lake straight into plain numbers: what the analytical
//! readers (`qa-check`, `qlib-bin`) want — one symbol's whole history at a time, in symbol order,
//! with no `Bar` records and no string per row. Symbols are read on several threads, a bounded
//! number ahead of the one being handed out, so memory stays a few symbols' worth.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use tickerlake::Symbol;

pub use tickerlake::series::{DayRow, SymbolSeries};

use crate::LakeError;
use crate::bars::days_since_epoch;
use crate::layout::PartitionKey;
use crate::location::Partitions;
use crate::scan::{ScanFilter, scan_source};

/// Symbols read ahead of the one being handed out, per reading thread.
const READ_AHEAD_PER_THREAD: usize = 4;

/// Where the analytical readers take their bars from: NDJSON files (none, or `-`, is stdin) or
/// the lake. One type, one filter, for every program that reads bars symbol by symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BarSource {
    Ndjson(Vec<PathBuf>),
    Lake(crate::Lake),
}

impl BarSource {
    /// Calls `each` with the rows of every symbol `filter` wants, dated inside its range, in
    /// input order (NDJSON) or symbol order (the lake), decoding and reading on `threads`
    /// threads. A symbol with no row left is not handed out.
    pub fn for_each_symbol<E: From<LakeError> + From<tickerlake::Error> + Send>(
        &self,
        filter: &ScanFilter,
        threads: usize,
        mut each: impl FnMut(SymbolSeries) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            BarSource::Lake(lake) => {
                lake.with(|source| for_each_symbol_in(source, filter, threads, each))
            }
            BarSource::Ndjson(inputs) => {
                let (from, to) = (
                    filter.from.map(days_since_epoch),
                    filter.to.map(days_since_epoch),
                );
                tickerlake::series::for_each_symbol(inputs, threads, |mut s| {
                    if !filter.symbols.is_empty() && !filter.symbols.contains(&s.symbol) {
                        return Ok(());
                    }
                    if from.is_some() || to.is_some() {
                        s.rows.retain(|r| {
                            from.is_none_or(|f| r.date >= f) && to.is_none_or(|t| r.date <= t)
                        });
                    }
                    if s.rows.is_empty() {
                        return Ok(());
                    }
                    each(s)
                })
            }
        }
    }
}

/// Calls `each` with the series of every symbol in the lake that `filter` wants, in symbol order,
/// reading on `threads` threads. Partitions are pruned by the symbol and year in their path and
/// row groups by their `date` statistics; only the columns of [`DayRow`] are decoded. Stops at
/// the first error, of a file or of `each`.
pub fn for_each_symbol<E: From<LakeError>>(
    root: &Path,
    filter: &ScanFilter,
    threads: usize,
    each: impl FnMut(SymbolSeries) -> Result<(), E>,
) -> Result<(), E> {
    for_each_symbol_in(&crate::location::Dir(root), filter, threads, each)
}

/// [`for_each_symbol`] of a lake's partitions, wherever they are.
pub fn for_each_symbol_in<E: From<LakeError>>(
    source: &dyn Partitions,
    filter: &ScanFilter,
    threads: usize,
    mut each: impl FnMut(SymbolSeries) -> Result<(), E>,
) -> Result<(), E> {
    let keys = source.partitions()?;
    let mut by_symbol: BTreeMap<&Symbol, Vec<&PartitionKey>> = BTreeMap::new();
    let mut months = false;
    for key in &keys {
        match key {
            PartitionKey::SymbolYear(s, y) => {
                if (filter.symbols.is_empty() || filter.symbols.contains(s))
                    && filter.from.is_none_or(|f| *y >= chrono::Datelike::year(&f))
                    && filter.to.is_none_or(|t| *y <= chrono::Datelike::year(&t))
                {
                    by_symbol.entry(s).or_default().push(key);
                }
            }
            PartitionKey::YearMonth(..) => months = true,
        }
    }
    if months {
        // Every symbol is in every month file: the whole selection is read, then split.
        return month_lake(source, filter, each);
    }
    let jobs: Vec<(&Symbol, Vec<&PartitionKey>)> = by_symbol.into_iter().collect();
    let (from, to) = (
        filter.from.map(days_since_epoch),
        filter.to.map(days_since_epoch),
    );
    let read = |files: &[&PartitionKey]| -> Result<Vec<DayRow>, LakeError> {
        let mut rows = Vec::new();
        for key in files {
            let name = source.name(key);
            read_file(source.read(key)?, Path::new(&name), from, to, &mut rows)?;
        }
        Ok(rows)
    };
    let threads = threads.clamp(1, jobs.len().max(1));
    if threads == 1 {
        for (symbol, files) in &jobs {
            let rows = read(files)?;
            if !rows.is_empty() {
                each(SymbolSeries {
                    symbol: (*symbol).clone(),
                    rows,
                })?;
            }
        }
        return Ok(());
    }
    // Workers take the next symbol while it is less than `window` ahead of the one handed out;
    // the calling thread hands them out in order.
    let window = threads * READ_AHEAD_PER_THREAD;
    struct Shared {
        next: usize,
        delivered: usize,
        stop: bool,
    }
    let shared = Mutex::new(Shared {
        next: 0,
        delivered: 0,
        stop: false,
    });
    let turn = Condvar::new();
    let lock = || shared.lock().unwrap_or_else(|e| e.into_inner());
    let (tx, rx) = std::sync::mpsc::channel::<(usize, Result<Vec<DayRow>, LakeError>)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (jobs, read, lock, turn) = (&jobs, &read, &lock, &turn);
            scope.spawn(move || {
                loop {
                    let i = {
                        let mut s = lock();
                        while !s.stop && s.next < jobs.len() && s.next >= s.delivered + window {
                            s = turn.wait(s).unwrap_or_else(|e| e.into_inner());
                        }
                        if s.stop || s.next >= jobs.len() {
                            break;
                        }
                        s.next += 1;
                        s.next - 1
                    };
                    if tx.send((i, read(&jobs[i].1))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut ready: BTreeMap<usize, Result<Vec<DayRow>, LakeError>> = BTreeMap::new();
        let mut want = 0;
        let result = (|| {
            while want < jobs.len() {
                while let Some(rows) = ready.remove(&want) {
                    let rows = rows?;
                    if !rows.is_empty() {
                        each(SymbolSeries {
                            symbol: jobs[want].0.clone(),
                            rows,
                        })?;
                    }
                    want += 1;
                    lock().delivered = want;
                    turn.notify_all();
                }
                if want == jobs.len() {
                    break;
                }
                match rx.recv() {
                    Ok((i, rows)) => {
                        ready.insert(i, rows);
                    }
                    // Every worker ended early: only after a stop, which returned already.
                    Err(_) => break,
                }
            }
            Ok(())
        })();
        lock().stop = true;
        turn.notify_all();
        drop(rx);
        result
    })
}

fn month_lake<E: From<LakeError>>(
    source: &dyn Partitions,
    filter: &ScanFilter,
    mut each: impl FnMut(SymbolSeries) -> Result<(), E>,
) -> Result<(), E> {
    let mut pending: Option<SymbolSeries> = None;
    let mut result = Ok(());
    scan_source(source, filter, |bars| {
        for bar in bars {
            let row = DayRow::of(&bar.as_ref());
            match &mut pending {
                Some(s) if s.symbol == bar.symbol => s.rows.push(row),
                _ => {
                    if let Some(done) = pending.replace(SymbolSeries {
                        symbol: bar.symbol.clone(),
                        rows: vec![row],
                    }) && result.is_ok()
                    {
                        result = each(done);
                    }
                }
            }
        }
        Ok(())
    })?;
    result?;
    if let Some(done) = pending {
        each(done)?;
    }
    Ok(())
}

/// The [`DayRow`]s of one symbol-year file within `from..=to` (days since the epoch), appended.
fn read_file(
    bytes: bytes::Bytes,
    path: &Path,
    from: Option<i32>,
    to: Option<i32>,
    out: &mut Vec<DayRow>,
) -> Result<(), LakeError> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Date32Type, Decimal128Type, Float64Type, TimestampMillisecondType};
    use arrow_array::{Array, ArrayRef};
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::statistics::Statistics;

    let in_file = |e: LakeError| e.in_file(path);
    // A partition is a few kB to a few hundred: read whole, it costs one read(2) instead of a
    // dup, a seek and reads per column chunk (the `File` reader's way), which made the kernel
    // time of a 20,000-partition scan as large as the decoding.
    let meta = parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&bytes)
        .map_err(|e| in_file(LakeError::from(e)))?;
    let schema = meta.file_metadata().schema_descr();
    let index = |name: &str| (0..schema.num_columns()).find(|&i| schema.column(i).name() == name);
    const COLUMNS: [&str; 8] = [
        "date",
        "open",
        "high",
        "low",
        "close",
        "adj_close",
        "volume",
        "source_ts",
    ];
    let wanted: Vec<usize> = COLUMNS.iter().filter_map(|c| index(c)).collect();
    let Some(date_col) = index("date") else {
        return Err(in_file(LakeError::MissingColumn("date")));
    };
    let groups: Vec<usize> = (0..meta.num_row_groups())
        .filter(|&i| match meta.row_group(i).column(date_col).statistics() {
            Some(Statistics::Int32(s)) => match (s.min_opt(), s.max_opt()) {
                (Some(lo), Some(hi)) => {
                    from.is_none_or(|f| *hi >= f) && to.is_none_or(|t| *lo <= t)
                }
                _ => true,
            },
            _ => true,
        })
        .collect();
    if groups.is_empty() {
        return Ok(());
    }
    let rows: i64 = groups.iter().map(|&i| meta.row_group(i).num_rows()).sum();
    // Batches as big as the file, not the 64 k-row default: buffers sized for 64 k rows per
    // column, for a year of ~252 rows, cost page faults by the thousand.
    let batch_rows = usize::try_from(rows).unwrap_or(1).clamp(1, 65_536);
    let mask = ProjectionMask::roots(schema, wanted.iter().copied());
    let reader = if own_pages::handles(&meta, &groups, &wanted) {
        own_pages::reader(bytes, &meta, groups, mask, batch_rows)
    } else {
        // The Arrow schema hint is skipped: the Parquet types say all these columns need, and
        // decoding the hint per file is measurable over thousands of files.
        let options =
            parquet::arrow::arrow_reader::ArrowReaderOptions::new().with_skip_arrow_metadata(true);
        ParquetRecordBatchReaderBuilder::try_new_with_options(bytes, options).and_then(|b| {
            b.with_projection(mask)
                .with_row_groups(groups)
                .with_batch_size(batch_rows)
                .build()
        })
    }
    .map_err(|e| in_file(LakeError::from(e)))?;
    for batch in reader {
        let batch = batch.map_err(|e| in_file(LakeError::from(e)))?;
        let n = batch.num_rows();
        let dates = batch
            .column_by_name("date")
            .and_then(|c| c.as_primitive_opt::<Date32Type>())
            .ok_or_else(|| in_file(LakeError::ColumnType("date")))?;
        // A price column as f64 values, NaN for null (and for an older file without it).
        let prices = |name: &'static str| -> Result<Vec<f64>, LakeError> {
            let Some(c) = batch.column_by_name(name) else {
                return Ok(vec![f64::NAN; n]);
            };
            let c: &ArrayRef = c;
            if let Some(a) = c.as_primitive_opt::<Decimal128Type>() {
                let scale = match a.data_type() {
                    arrow_schema::DataType::Decimal128(_, s) => *s,
                    _ => 0,
                };
                let div = 10f64.powi(i32::from(scale));
                Ok((0..n)
                    .map(|i| {
                        if a.is_null(i) {
                            f64::NAN
                        } else {
                            // Exact below 2^53 units; division rounds correctly.
                            a.value(i) as f64 / div
                        }
                    })
                    .collect())
            } else if let Some(a) = c.as_primitive_opt::<Float64Type>() {
                Ok((0..n)
                    .map(|i| if a.is_null(i) { f64::NAN } else { a.value(i) })
                    .collect())
            } else {
                Err(LakeError::ColumnType(name))
            }
        };
        let [open, high, low, close, adj] = [
            prices("open").map_err(in_file)?,
            prices("high").map_err(in_file)?,
            prices("low").map_err(in_file)?,
            prices("close").map_err(in_file)?,
            prices("adj_close").map_err(in_file)?,
        ];
        let volume = crate::bars::volumes(&batch).map_err(in_file)?;
        let ts = match batch.column_by_name("source_ts") {
            Some(c) => Some(
                c.as_primitive_opt::<TimestampMillisecondType>()
                    .ok_or_else(|| in_file(LakeError::ColumnType("source_ts")))?,
            ),
            None => None,
        };
        out.reserve(n);
        for i in 0..n {
            if dates.is_null(i) {
                return Err(in_file(LakeError::ColumnType("date")));
            }
            let date = dates.value(i);
            if from.is_some_and(|f| date < f) || to.is_some_and(|t| date > t) {
                continue;
            }
            out.push(DayRow {
                date,
                open: open[i],
                high: high[i],
                low: low[i],
                close: close[i],
                adj_close: adj[i],
                volume: volume(i).map_err(in_file)?,
                source_ts: ts.and_then(|a| (!a.is_null(i)).then(|| a.value(i))),
            });
        }
    }
    Ok(())
}

/// Pages read with one zstd decompression context per thread.
///
/// parquet-rs (60) creates a zstd compression and a decompression context for every column chunk
/// it reads; for a lake of small partitions that was half the CPU of a scan (ADR 0005 addendum).
/// Here parquet-rs reads the pages of a zstd column chunk as if they were uncompressed, a
/// [`PageReader`] decompresses them with the thread's context, and parquet-rs' Arrow decoding
/// does the rest, through its public [`RowGroups`] interface. Other codecs go the usual way.
///
/// [`PageReader`]: parquet::column::page::PageReader
/// [`RowGroups`]: parquet::arrow::arrow_reader::RowGroups
mod own_pages {
    use std::cell::RefCell;
    use std::sync::Arc;

    use bytes::Bytes;
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, RowGroups};
    use parquet::basic::Compression;
    use parquet::column::page::{Page, PageIterator, PageMetadata, PageReader};
    use parquet::errors::{ParquetError, Result};
    use parquet::file::metadata::{ParquetMetaData, RowGroupMetaData};
    use parquet::file::serialized_reader::SerializedPageReader;

    /// Whether every column chunk to read is zstd or uncompressed.
    pub fn handles(meta: &ParquetMetaData, groups: &[usize], columns: &[usize]) -> bool {
        groups.iter().all(|&g| {
            columns.iter().all(|&c| {
                matches!(
                    meta.row_group(g).column(c).compression(),
                    Compression::ZSTD(_) | Compression::UNCOMPRESSED
                )
            })
        })
    }

    pub fn reader(
        bytes: Bytes,
        meta: &ParquetMetaData,
        groups: Vec<usize>,
        mask: ProjectionMask,
        batch_rows: usize,
    ) -> Result<ParquetRecordBatchReader> {
        let levels = parquet::arrow::parquet_to_arrow_field_levels(
            meta.file_metadata().schema_descr(),
            mask,
            None,
        )?;
        let chunks = Chunks {
            bytes: Arc::new(bytes),
            meta,
            groups,
        };
        ParquetRecordBatchReader::try_new_with_row_groups(&levels, &chunks, batch_rows, None)
    }

    struct Chunks<'a> {
        bytes: Arc<Bytes>,
        meta: &'a ParquetMetaData,
        groups: Vec<usize>,
    }

    impl RowGroups for Chunks<'_> {
        fn num_rows(&self) -> usize {
            self.groups
                .iter()
                .map(|&g| usize::try_from(self.meta.row_group(g).num_rows()).unwrap_or(0))
                .sum()
        }

        fn column_chunks(&self, i: usize) -> Result<Box<dyn PageIterator>> {
            let mut readers: Vec<Result<Box<dyn PageReader>>> = Vec::new();
            for &g in &self.groups {
                let rg = self.meta.row_group(g);
                let chunk = rg.column(i);
                let zstd = matches!(chunk.compression(), Compression::ZSTD(_));
                // The pages as stored: parquet-rs makes no codec for an uncompressed chunk.
                let stored = chunk
                    .clone()
                    .into_builder()
                    .set_compression(Compression::UNCOMPRESSED)
                    .build()?;
                let rows = usize::try_from(rg.num_rows()).unwrap_or(0);
                let pages =
                    SerializedPageReader::new(Arc::clone(&self.bytes), &stored, rows, None)?;
                readers.push(Ok(Box::new(Unzstd { pages, zstd })));
            }
            Ok(Box::new(ChunkPages(readers.into_iter())))
        }

        fn row_groups(&self) -> Box<dyn Iterator<Item = &RowGroupMetaData> + '_> {
            Box::new(self.groups.iter().map(|&g| self.meta.row_group(g)))
        }

        fn metadata(&self) -> &ParquetMetaData {
            self.meta
        }
    }

    struct ChunkPages(std::vec::IntoIter<Result<Box<dyn PageReader>>>);

    impl Iterator for ChunkPages {
        type Item = Result<Box<dyn PageReader>>;
        fn next(&mut self) -> Option<Self::Item> {
            self.0.next()
        }
    }

    impl PageIterator for ChunkPages {}

    struct Unzstd {
        pages: SerializedPageReader<Bytes>,
        zstd: bool,
    }

    impl Iterator for Unzstd {
        type Item = Result<Page>;
        fn next(&mut self) -> Option<Self::Item> {
            self.get_next_page().transpose()
        }
    }

    impl PageReader for Unzstd {
        fn get_next_page(&mut self) -> Result<Option<Page>> {
            let page = self.pages.get_next_page()?;
            if !self.zstd {
                return Ok(page);
            }
            page.map(decompress_page).transpose()
        }

        fn peek_next_page(&mut self) -> Result<Option<PageMetadata>> {
            self.pages.peek_next_page()
        }

        fn skip_next_page(&mut self) -> Result<()> {
            self.pages.skip_next_page()
        }
    }

    fn decompress_page(page: Page) -> Result<Page> {
        Ok(match page {
            Page::DataPage {
                buf,
                num_values,
                encoding,
                def_level_encoding,
                rep_level_encoding,
                statistics,
            } => Page::DataPage {
                buf: decompress(&buf)?,
                num_values,
                encoding,
                def_level_encoding,
                rep_level_encoding,
                statistics,
            },
            // Version 2 keeps its levels uncompressed in front of the values.
            Page::DataPageV2 {
                buf,
                num_values,
                encoding,
                num_nulls,
                num_rows,
                def_levels_byte_len,
                rep_levels_byte_len,
                is_compressed: true,
                statistics,
            } => {
                let levels =
                    (def_levels_byte_len as usize).saturating_add(rep_levels_byte_len as usize);
                if levels > buf.len() {
                    return Err(ParquetError::General("invalid data page v2 header".into()));
                }
                let mut whole = buf[..levels].to_vec();
                if levels < buf.len() {
                    whole.extend_from_slice(&decompress(&buf[levels..])?);
                }
                Page::DataPageV2 {
                    buf: Bytes::from(whole),
                    num_values,
                    encoding,
                    num_nulls,
                    num_rows,
                    def_levels_byte_len,
                    rep_levels_byte_len,
                    is_compressed: false,
                    statistics,
                }
            }
            Page::DictionaryPage {
                buf,
                num_values,
                encoding,
                is_sorted,
            } => Page::DictionaryPage {
                buf: decompress(&buf)?,
                num_values,
                encoding,
                is_sorted,
            },
            other => other,
        })
    }

    thread_local! {
        static CONTEXT: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { RefCell::new(None) };
    }

    /// One zstd frame, with the thread's context when the frame states its size (zstd's and
    /// parquet-rs' writers always do), else by streaming.
    fn decompress(frame: &[u8]) -> Result<Bytes> {
        let external = |e: std::io::Error| ParquetError::External(Box::new(e));
        match zstd::zstd_safe::get_frame_content_size(frame) {
            Ok(Some(size)) => {
                let size = usize::try_from(size)
                    .map_err(|_| ParquetError::General("zstd frame too large".into()))?;
                CONTEXT.with(|cell| {
                    let mut slot = cell.borrow_mut();
                    let ctx = match slot.as_mut() {
                        Some(c) => c,
                        None => slot.insert(zstd::bulk::Decompressor::new().map_err(external)?),
                    };
                    ctx.decompress(frame, size)
                        .map(Bytes::from)
                        .map_err(external)
                })
            }
            _ => zstd::stream::decode_all(frame)
                .map(Bytes::from)
                .map_err(external),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bars::{ColumnTypes, PriceType, VolumeType};
    use crate::file::WriteOptions;
    use crate::layout::{Layout, partitions};
    use crate::scan::read_partition;
    use crate::writer::LakeWriter;
    use std::fs;
    use tickerlake::records::Bar;

    /// Random bars with nulls in every nullable column.
    fn bars(rng: &mut fastrand::Rng, symbol: &str, days: u32, fractional: bool) -> Vec<Bar> {
        let start = chrono::NaiveDate::from_ymd_opt(2019, 12, 20).unwrap_or_default();
        (0..days)
            .map(|i| {
                let price = |rng: &mut fastrand::Rng| {
                    if rng.u8(0..20) == 0 {
                        "null".to_string()
                    } else {
                        format!("{}.{:06}", rng.u32(0..5000), rng.u32(0..1_000_000))
                    }
                };
                let date = start + chrono::Days::new(u64::from(i));
                let volume = match rng.u8(0..20) {
                    0 => "null".to_string(),
                    1 if fractional => format!("{}.{:03}", rng.u32(0..1 << 20), rng.u16(1..1000)),
                    _ => rng.i64(0..1 << 40).to_string(),
                };
                let ts = if rng.bool() {
                    "null".to_string()
                } else {
                    format!("\"{date}T21:{:02}:00.{:03}Z\"", rng.u8(0..60), rng.u16(0..1000))
                };
                serde_json::from_str(&format!(
                    r#"{{"symbol":"{symbol}","date":"{date}","open":{},"high":{},"low":{},"close":{},"adj_close":{},"volume":{volume},"provider":"yahoo","source_ts":{ts}}}"#,
                    price(rng),
                    price(rng),
                    price(rng),
                    price(rng),
                    price(rng)
                ))
                .unwrap()
            })
            .collect()
    }

    type RowBits = (i32, [u64; 5], Option<tickerlake::Volume>, Option<i64>);

    fn bits(v: &[SymbolSeries]) -> Vec<(String, Vec<RowBits>)> {
        v.iter()
            .map(|s| {
                let rows = s
                    .rows
                    .iter()
                    .map(|r| {
                        let p = [r.open, r.high, r.low, r.close, r.adj_close].map(f64::to_bits);
                        (r.date, p, r.volume, r.source_ts)
                    })
                    .collect();
                (s.symbol.to_string(), rows)
            })
            .collect()
    }

    #[test]
    fn series_read_through_own_pages_equal_the_bars_the_lake_holds() {
        let mut rng = fastrand::Rng::with_seed(11);
        for (prices, volume) in [
            (PriceType::Decimal, VolumeType::Int64),
            (PriceType::Float64, VolumeType::Float64),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("lake");
            let types = ColumnTypes { prices, volume };
            let mut w =
                LakeWriter::new(&root, Layout::SymbolYear, types, WriteOptions::default()).unwrap();
            let mut all = Vec::new();
            for (sym, days) in [("AAA", 400), ("BRK.B", 30), ("Z", 1)] {
                all.extend(bars(&mut rng, sym, days, volume == VolumeType::Float64));
            }
            let keys: BTreeMap<PartitionKey, Vec<Bar>> =
                all.iter().fold(BTreeMap::new(), |mut m, b| {
                    m.entry(PartitionKey::of(Layout::SymbolYear, b))
                        .or_default()
                        .push(b.clone());
                    m
                });
            for (k, rows) in keys {
                w.upsert(&k, rows).unwrap();
            }
            w.commit().unwrap();
            let mut got = Vec::new();
            for threads in [1, 2] {
                got.clear();
                for_each_symbol::<LakeError>(&root, &ScanFilter::default(), threads, |s| {
                    got.push(s);
                    Ok(())
                })
                .unwrap();
                let mut want: Vec<SymbolSeries> = Vec::new();
                for key in partitions(&root).unwrap() {
                    let rows: Vec<DayRow> = read_partition(&root, &key)
                        .unwrap()
                        .iter()
                        .map(|b| DayRow::of(&b.as_ref()))
                        .collect();
                    match (want.last_mut(), key.symbol()) {
                        (Some(s), Some(sym)) if &s.symbol == sym => s.rows.extend(rows),
                        (_, Some(sym)) => want.push(SymbolSeries {
                            symbol: sym.clone(),
                            rows,
                        }),
                        _ => unreachable!(),
                    }
                }
                // NaN != NaN: compare the bits.
                assert_eq!(bits(&got), bits(&want), "{prices:?}, {threads} thread(s)");
                assert_eq!(got.len(), 3);
                assert_eq!(got.iter().map(|s| s.rows.len()).sum::<usize>(), 431);
            }
            // --from and --to prune by date inside the files too.
            let filter = ScanFilter {
                from: chrono::NaiveDate::from_ymd_opt(2020, 1, 1),
                to: chrono::NaiveDate::from_ymd_opt(2020, 1, 10),
                ..ScanFilter::default()
            };
            let mut dates = Vec::new();
            for_each_symbol::<LakeError>(&root, &filter, 2, |s| {
                dates.extend(s.rows.iter().map(|r| r.date));
                Ok(())
            })
            .unwrap();
            let (lo, hi) = (
                days_since_epoch(filter.from.unwrap()),
                days_since_epoch(filter.to.unwrap()),
            );
            assert!(!dates.is_empty() && dates.iter().all(|d| (lo..=hi).contains(d)));
        }
    }

    #[test]
    fn files_parquet_rs_compressed_itself_read_the_same_both_ways() {
        use arrow_array::{Date32Array, Float64Array, Int64Array, RecordBatch};
        use parquet::arrow::ArrowWriter;
        use parquet::basic::{Compression, ZstdLevel};
        use parquet::file::properties::{WriterProperties, WriterVersion};
        use std::sync::Arc;
        for (version, compression) in [
            (
                WriterVersion::PARQUET_2_0,
                Compression::ZSTD(ZstdLevel::try_new(3).unwrap()),
            ),
            (
                WriterVersion::PARQUET_1_0,
                Compression::ZSTD(ZstdLevel::default()),
            ),
            (WriterVersion::PARQUET_1_0, Compression::SNAPPY),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("f.parquet");
            let n = 300;
            let batch = RecordBatch::try_from_iter([
                (
                    "date",
                    Arc::new(Date32Array::from((0..n).collect::<Vec<i32>>())) as _,
                ),
                (
                    "close",
                    Arc::new(Float64Array::from(
                        (0..n)
                            .map(|i| (i % 7 != 0).then_some(f64::from(i) / 4.0))
                            .collect::<Vec<_>>(),
                    )) as _,
                ),
                (
                    "volume",
                    Arc::new(Int64Array::from(
                        (0..n)
                            .map(|i| (i % 5 != 0).then_some(i64::from(i) * 1000))
                            .collect::<Vec<_>>(),
                    )) as _,
                ),
            ])
            .unwrap();
            let props = WriterProperties::builder()
                .set_writer_version(version)
                .set_compression(compression)
                .set_dictionary_enabled(true)
                .set_max_row_group_row_count(Some(128))
                .build();
            let mut w = ArrowWriter::try_new(
                fs::File::create(&path).unwrap(),
                batch.schema(),
                Some(props),
            )
            .unwrap();
            w.write(&batch).unwrap();
            w.close().unwrap();
            let mut rows = Vec::new();
            let bytes = bytes::Bytes::from(fs::read(&path).unwrap());
            read_file(bytes, &path, Some(10), None, &mut rows).unwrap();
            assert_eq!(rows.len(), 290, "{version:?} {compression:?}");
            for r in &rows {
                let i = r.date;
                assert_eq!(r.close.is_nan(), i % 7 == 0);
                if i % 7 != 0 {
                    assert_eq!(r.close, f64::from(i) / 4.0);
                }
                assert_eq!(
                    r.volume,
                    (i % 5 != 0).then_some(tickerlake::Volume::Whole(i64::from(i) * 1000))
                );
                assert!(r.open.is_nan() && r.source_ts.is_none());
            }
        }
    }
}
