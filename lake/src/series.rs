//! Per-symbol daily series read from the lake straight into plain numbers: what the analytical
//! readers (`qa-check`, `qlib-bin`) want — one symbol's whole history at a time, in symbol order,
//! with no `Bar` records and no string per row. Symbols are read on several threads, a bounded
//! number ahead of the one being handed out, so memory stays a few symbols' worth.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};

use tickerlake::Symbol;

use crate::LakeError;
use crate::bars::days_since_epoch;
use crate::lake::{PartitionKey, ScanFilter, partitions, scan};

/// One day of a symbol. Prices are `NaN` where the bar has null; `date` is days since
/// 1970-01-01 (Arrow's `date32`); `source_ts` is milliseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayRow {
    pub date: i32,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub adj_close: f64,
    pub volume: Option<i64>,
    pub source_ts: Option<i64>,
}

impl DayRow {
    /// The row of a bar.
    pub fn of(bar: &tickerlake::records::BarRef<'_>) -> DayRow {
        let price = |p: Option<tickerlake::Decimal>| p.map_or(f64::NAN, |d| d.to_f64());
        DayRow {
            date: days_since_epoch(bar.date),
            open: price(bar.open),
            high: price(bar.high),
            low: price(bar.low),
            close: price(bar.close),
            adj_close: price(bar.adj_close),
            volume: bar.volume,
            source_ts: bar.source_ts.map(|t| t.timestamp_millis()),
        }
    }
}

/// A symbol's rows, in date order (as the lake stores them: one row per date).
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolSeries {
    pub symbol: Symbol,
    pub rows: Vec<DayRow>,
}

/// Symbols read ahead of the one being handed out, per reading thread.
const READ_AHEAD_PER_THREAD: usize = 4;

/// Calls `each` with the series of every symbol in the lake that `filter` wants, in symbol order,
/// reading on `threads` threads. Partitions are pruned by the symbol and year in their path and
/// row groups by their `date` statistics; only the columns of [`DayRow`] are decoded. Stops at
/// the first error, of a file or of `each`.
pub fn for_each_symbol<E: From<LakeError>>(
    root: &Path,
    filter: &ScanFilter,
    threads: usize,
    mut each: impl FnMut(SymbolSeries) -> Result<(), E>,
) -> Result<(), E> {
    let keys = partitions(root)?;
    let mut by_symbol: BTreeMap<&Symbol, Vec<PathBuf>> = BTreeMap::new();
    let mut months = false;
    for key in &keys {
        match key {
            PartitionKey::SymbolYear(s, y) => {
                if (filter.symbols.is_empty() || filter.symbols.contains(s))
                    && filter.from.is_none_or(|f| *y >= chrono::Datelike::year(&f))
                    && filter.to.is_none_or(|t| *y <= chrono::Datelike::year(&t))
                {
                    by_symbol.entry(s).or_default().push(key.file(root));
                }
            }
            PartitionKey::YearMonth(..) => months = true,
        }
    }
    if months {
        // Every symbol is in every month file: the whole selection is read, then split.
        return month_lake(root, filter, each);
    }
    let jobs: Vec<(&Symbol, Vec<PathBuf>)> = by_symbol.into_iter().collect();
    let (from, to) = (
        filter.from.map(days_since_epoch),
        filter.to.map(days_since_epoch),
    );
    let read = |files: &[PathBuf]| -> Result<Vec<DayRow>, LakeError> {
        let mut rows = Vec::new();
        for f in files {
            read_file(f, from, to, &mut rows)?;
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
    root: &Path,
    filter: &ScanFilter,
    mut each: impl FnMut(SymbolSeries) -> Result<(), E>,
) -> Result<(), E> {
    let mut pending: Option<SymbolSeries> = None;
    let mut result = Ok(());
    scan(root, filter, |bars| {
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
    path: &Path,
    from: Option<i32>,
    to: Option<i32>,
    out: &mut Vec<DayRow>,
) -> Result<(), LakeError> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{
        Date32Type, Decimal128Type, Float64Type, Int64Type, TimestampMillisecondType,
    };
    use arrow_array::{Array, ArrayRef};
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::statistics::Statistics;

    let in_file = |e: LakeError| e.in_file(path);
    // A partition is a few kB to a few hundred: read whole, it costs one read(2) instead of a
    // dup, a seek and reads per column chunk (the `File` reader's way), which made the kernel
    // time of a 20,000-partition scan as large as the decoding.
    let bytes = fs::read(path).map_err(|source| LakeError::Io {
        path: path.display().to_string(),
        source,
    })?;
    // The Arrow schema hint is skipped: the Parquet types say all these columns need, and
    // decoding the hint per file is measurable over thousands of files.
    let options =
        parquet::arrow::arrow_reader::ArrowReaderOptions::new().with_skip_arrow_metadata(true);
    let builder =
        ParquetRecordBatchReaderBuilder::try_new_with_options(bytes::Bytes::from(bytes), options)
            .map_err(|e| in_file(LakeError::from(e)))?;
    let meta = builder.metadata().clone();
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
    let mask = ProjectionMask::roots(schema, wanted);
    let reader = builder
        .with_projection(mask)
        .with_row_groups(groups)
        // Batches as big as the file, not the 64 k-row default: buffers sized for 64 k rows per
        // column, for a year of ~252 rows, cost page faults by the thousand.
        .with_batch_size(usize::try_from(rows).unwrap_or(1).clamp(1, 65_536))
        .build()
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
        let volume = match batch.column_by_name("volume") {
            Some(c) => Some(
                c.as_primitive_opt::<Int64Type>()
                    .ok_or_else(|| in_file(LakeError::ColumnType("volume")))?,
            ),
            None => None,
        };
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
                volume: volume.and_then(|a| (!a.is_null(i)).then(|| a.value(i))),
                source_ts: ts.and_then(|a| (!a.is_null(i)).then(|| a.value(i))),
            });
        }
    }
    Ok(())
}
