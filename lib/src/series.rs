//! Daily series as plain numbers, one symbol's whole history at a time: what the analytical
//! programs (`qa-check`, `qlib-bin`) read, from Bar NDJSON here and from the lake in
//! `lake::series`.
//!
//! NDJSON lines are decoded on all cores (`crate::parallel`) into [`DayRow`]s; the calling thread
//! stitches each symbol's rows together across chunks and files and hands the symbol on when the
//! next one starts, so memory holds one symbol's history, not the input. A symbol whose bars
//! come back after other symbols' is a data error naming the line, never a silently split
//! history.

use std::collections::HashSet;
use std::path::PathBuf;

use chrono::{Datelike, NaiveDate};

use crate::error::Error;
use crate::io::input_paths;
use crate::ndjson::{ReadError, RecordError};
use crate::parallel::{Chunk, Chunker, map_ordered};
use crate::records::{Bar, BarRef};
use crate::symbol::Symbol;

/// Days from 0001-01-01 to 1970-01-01.
const UNIX_EPOCH_CE_DAYS: i32 = 719_163;

/// Days since 1970-01-01 (Arrow's `date32`).
pub fn days_since_epoch(d: NaiveDate) -> i32 {
    d.num_days_from_ce() - UNIX_EPOCH_CE_DAYS
}

/// `2024-01-05` for a day count since 1970-01-01 (the count itself when out of range).
pub fn day_text(days: i32) -> String {
    date_from_days(days).map_or_else(|| days.to_string(), |d| d.to_string())
}

/// The date of a day count since 1970-01-01.
pub fn date_from_days(days: i32) -> Option<NaiveDate> {
    NaiveDate::from_num_days_from_ce_opt(days.checked_add(UNIX_EPOCH_CE_DAYS)?)
}

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
    pub volume: Option<crate::Volume>,
    pub source_ts: Option<i64>,
}

impl DayRow {
    /// The row of a bar.
    pub fn of(bar: &BarRef<'_>) -> DayRow {
        let price = |p: Option<crate::Decimal>| p.map_or(f64::NAN, |d| d.to_f64());
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

/// The price fields of a [`DayRow`], in order.
pub const PRICE_NAMES: [&str; 5] = ["open", "high", "low", "close", "adj_close"];

impl DayRow {
    /// open, high, low, close, adj_close.
    pub fn prices(&self) -> [f64; 5] {
        [self.open, self.high, self.low, self.close, self.adj_close]
    }
}

/// Sorts a symbol's rows by date (input order kept among equal dates) and keeps one row per
/// date: the newest `source_ts` wins, ties go to the later input, field by field — a null in the
/// winner takes the newest value the other rows have, as the lake's upsert keeps it.
/// Returns, for each date that had more than one row, the copies and the fields that differ.
pub fn dedupe(rows: &mut Vec<DayRow>) -> Vec<(i32, usize, Vec<&'static str>)> {
    if !rows.windows(2).all(|w| w[0].date <= w[1].date) {
        rows.sort_by_key(|r| r.date); // stable
    }
    if rows.windows(2).all(|w| w[0].date < w[1].date) {
        return Vec::new();
    }
    let mut dups = Vec::new();
    let mut out: Vec<DayRow> = Vec::with_capacity(rows.len());
    let mut i = 0;
    while i < rows.len() {
        let mut j = i + 1;
        while j < rows.len() && rows[j].date == rows[i].date {
            j += 1;
        }
        let group = &rows[i..j];
        // Newest first: by source_ts, then the later input (a stable sort of the reversed group).
        let mut order: Vec<&DayRow> = group.iter().rev().collect();
        order.sort_by_key(|r| std::cmp::Reverse(r.source_ts.map_or(i128::MIN, i128::from)));
        let mut winner = *order[0];
        for older in &order[1..] {
            for (k, p) in older.prices().iter().enumerate() {
                let slot = match k {
                    0 => &mut winner.open,
                    1 => &mut winner.high,
                    2 => &mut winner.low,
                    3 => &mut winner.close,
                    _ => &mut winner.adj_close,
                };
                if slot.is_nan() && !p.is_nan() {
                    *slot = *p;
                }
            }
            if winner.volume.is_none() {
                winner.volume = older.volume;
            }
        }
        if group.len() > 1 {
            let mut differ = Vec::new();
            for (k, name) in PRICE_NAMES.iter().enumerate() {
                if group
                    .iter()
                    .any(|r| r.prices()[k].to_bits() != group[0].prices()[k].to_bits())
                {
                    differ.push(*name);
                }
            }
            if group.iter().any(|r| r.volume != group[0].volume) {
                differ.push("volume");
            }
            dups.push((rows[i].date, group.len(), differ));
        }
        out.push(winner);
        i = j;
    }
    *rows = out;
    dups
}

/// Input block size handed to a decoding thread.
const CHUNK_BYTES: usize = 1 << 20;

/// A chunk's rows as runs of one symbol, each with the line number of its first row.
struct DecodedChunk {
    runs: Vec<(Symbol, u64, Vec<DayRow>)>,
    /// The first bad line, if any: the run stops there.
    bad: Option<ReadError>,
}

/// Appends a row to the last run, or starts a run (line number to be filled in) and says so.
fn push(runs: &mut Vec<(Symbol, u64, Vec<DayRow>)>, symbol: &str, row: DayRow) -> Option<bool> {
    match runs.last_mut() {
        Some((s, _, rows)) if s.as_str() == symbol => {
            rows.push(row);
            Some(false)
        }
        _ => {
            runs.push((Symbol::parse(symbol).ok()?, 0, vec![row]));
            Some(true)
        }
    }
}

fn decode_chunk(chunk: &Chunk, name: &str) -> DecodedChunk {
    let mut reader = chunk.reader(name, crate::ndjson::DEFAULT_MAX_LINE);
    let mut out = DecodedChunk {
        runs: Vec::new(),
        bad: None,
    };
    let text = chunk.text();
    loop {
        let started = match reader.next_line() {
            None => break,
            Some(Err(e)) => {
                out.bad = Some(e);
                break;
            }
            Some(Ok(bytes)) => {
                match BarRef::decode_valid(text, bytes)
                    .and_then(|bar| push(&mut out.runs, bar.symbol, DayRow::of(&bar)))
                {
                    Some(started) => started,
                    None => {
                        // Anything but the common spelling goes through the strict decoder,
                        // which also words the error.
                        let bytes = bytes.to_vec();
                        match reader.decode_line::<Bar>(&bytes) {
                            Ok(bar) => push(
                                &mut out.runs,
                                bar.symbol.as_str(),
                                DayRow::of(&bar.as_ref()),
                            )
                            .unwrap_or(false),
                            Err(e) => {
                                out.bad = Some(e);
                                break;
                            }
                        }
                    }
                }
            }
        };
        if started && let Some(run) = out.runs.last_mut() {
            run.1 = reader.line_number();
        }
    }
    out
}

/// Rows held back to regroup an input whose symbols are not together: an input this small (a
/// hand-made example, a few days of a few symbols) is regrouped whatever its order; a larger
/// one must come grouped (as ohlcv-fetch and to-parquet --cat write it), so memory stays
/// bounded.
pub const REGROUP_ROWS: usize = 100_000;

/// Calls `each` with every symbol's rows, in order of first appearance, on `threads` decoding
/// threads. Each symbol's bars must come together, except in the first [`REGROUP_ROWS`] rows,
/// which are held and regrouped.
pub fn for_each_symbol<E: From<Error> + Send>(
    inputs: &[PathBuf],
    threads: usize,
    mut each: impl FnMut(SymbolSeries) -> Result<(), E>,
) -> Result<(), E> {
    let mut current: Option<SymbolSeries> = None;
    let mut done: HashSet<Symbol> = HashSet::new();
    // While few rows have come: every finished series, in first-appearance order.
    let mut held: Option<Vec<SymbolSeries>> = Some(Vec::new());
    let mut held_at: std::collections::HashMap<Symbol, usize> = std::collections::HashMap::new();
    let mut held_rows = 0usize;
    for path in input_paths(inputs) {
        let input = crate::io::Input::open(&path)?;
        let name = input.name.clone();
        let chunker = Chunker::new(input.reader, name.clone(), crate::ndjson::DEFAULT_MAX_LINE)
            .with_min_bytes(CHUNK_BYTES);
        let decode = |chunk: &Chunk| decode_chunk(chunk, &name);
        map_ordered(chunker, threads, decode, |decoded: DecodedChunk| {
            for (symbol, line, rows) in decoded.runs {
                if let Some(h) = held.as_mut() {
                    held_rows += rows.len();
                    let at = match held_at.get(&symbol) {
                        Some(&k) => {
                            h[k].rows.extend(rows);
                            k
                        }
                        None => {
                            held_at.insert(symbol.clone(), h.len());
                            h.push(SymbolSeries { symbol, rows });
                            h.len() - 1
                        }
                    };
                    if held_rows > REGROUP_ROWS {
                        // Large: from here on the input must come grouped. The series of this
                        // run may go on in the next rows; the others are finished.
                        let mut series = held.take().unwrap_or_default();
                        held_at.clear();
                        current = Some(series.remove(at));
                        for s in series {
                            done.insert(s.symbol.clone());
                            each(s)?;
                        }
                    }
                    continue;
                }
                match &mut current {
                    Some(s) if s.symbol == symbol => s.rows.extend(rows),
                    _ => {
                        if done.contains(&symbol) {
                            return Err(E::from(Error::Record(RecordError {
                                input: name.clone(),
                                line,
                                field: Some("symbol".into()),
                                message: format!(
                                    "{symbol} appears again after other symbols' bars: in an \
                                     input of more than {REGROUP_ROWS} rows each symbol's bars \
                                     must come together (as ohlcv-fetch and to-parquet --cat \
                                     write them); sort the input by symbol"
                                ),
                            })));
                        }
                        if let Some(prev) = current.take() {
                            done.insert(prev.symbol.clone());
                            each(prev)?;
                        }
                        current = Some(SymbolSeries { symbol, rows });
                    }
                }
            }
            match decoded.bad {
                Some(ReadError::Bad(bad)) => Err(E::from(Error::Record(bad.error))),
                Some(ReadError::Io(e)) => Err(E::from(e)),
                None => Ok(()),
            }
        })?;
    }
    for s in held.into_iter().flatten() {
        each(s)?;
    }
    if let Some(last) = current {
        each(last)?;
    }
    Ok(())
}
