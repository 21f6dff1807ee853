//! Bar NDJSON in, one symbol's whole history out at a time.
//!
//! Lines are decoded on all cores (`tickerlake::parallel`) into plain rows; the calling thread
//! stitches each symbol's rows together across chunks and files and hands the symbol on when the
//! next one starts, so memory holds one symbol's history, not the input. A symbol whose bars
//! come back after other symbols' is an error (sorting first is the caller's call: `to-parquet`
//! and the lake give grouped bars), never a silently split history.

use std::collections::HashSet;
use std::path::PathBuf;

use lake::series::{DayRow, SymbolSeries};
use tickerlake::Symbol;
use tickerlake::io::input_paths;
use tickerlake::ndjson::ReadError;
use tickerlake::parallel::{Chunk, Chunker, map_ordered};
use tickerlake::records::{Bar, BarRef};

use crate::Error;

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
    let mut reader = chunk.reader(name, tickerlake::ndjson::DEFAULT_MAX_LINE);
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
                let fast = match text.and_then(|t| tickerlake::parallel::line_text(t, bytes)) {
                    Some(l) => BarRef::decode_fast_text(l),
                    None => BarRef::decode_fast(bytes),
                };
                match fast
                    .filter(|b| b.validate().is_ok())
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

/// Calls `each` with every symbol's rows, in input order, on `threads` decoding threads.
pub fn for_each_symbol(
    inputs: &[PathBuf],
    threads: usize,
    mut each: impl FnMut(SymbolSeries) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut current: Option<SymbolSeries> = None;
    let mut done: HashSet<Symbol> = HashSet::new();
    for path in input_paths(inputs) {
        let input = tickerlake::io::Input::open(&path)?;
        let name = input.name.clone();
        let chunker = Chunker::new(
            input.reader,
            name.clone(),
            tickerlake::ndjson::DEFAULT_MAX_LINE,
        )
        .with_min_bytes(CHUNK_BYTES);
        let decode = |chunk: &Chunk| decode_chunk(chunk, &name);
        map_ordered(chunker, threads, decode, |decoded: DecodedChunk| {
            for (symbol, line, rows) in decoded.runs {
                match &mut current {
                    Some(s) if s.symbol == symbol => s.rows.extend(rows),
                    _ => {
                        if done.contains(&symbol) {
                            return Err(Error::Ungrouped {
                                input: name.clone(),
                                line,
                                symbol: symbol.to_string(),
                            });
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
                Some(ReadError::Bad(bad)) => Err(Error::Lib(bad.error.into())),
                Some(ReadError::Io(e)) => Err(Error::Lib(e)),
                None => Ok(()),
            }
        })?;
    }
    if let Some(last) = current {
        each(last)?;
    }
    Ok(())
}
