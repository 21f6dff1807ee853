//! Bars from NDJSON or CSV inputs, with bad lines going through the rejects sink.

use std::io::BufRead;
use std::path::Path;

use tickerlake::io::{Input, input_paths};
use tickerlake::ndjson::{ReadError, Rejects};
use tickerlake::parallel::{Chunk, Chunker, map_ordered};
use tickerlake::records::Bar;
use tickerlake::records::BarRef;

use crate::cli::InputFormat;
use crate::{Error, Options};

type Reader = Box<dyn BufRead + Send>;

/// What a provider's CSV download leaves out, given on the command line (`--symbol`,
/// `--provider`): filled in where the file has no such column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvFill {
    pub symbol: Option<String>,
    pub provider: Option<String>,
}

/// One CSV input's bars (NDJSON goes through [`for_each_bar`], on all cores).
pub struct CsvBars {
    name: String,
    reader: csv::Reader<Reader>,
    headers: csv::StringRecord,
    /// The bar field of each column (`Adj Close` → `adj_close`).
    fields: Vec<String>,
    fill: CsvFill,
    /// The row as read, then as text.
    raw: csv::ByteRecord,
    record: csv::StringRecord,
    line: u64,
    /// Whether a rejected row has gone out yet: the first one carries the header line, so
    /// that the rejects file is a CSV file that can be fixed and fed again.
    rejected_any: bool,
}

impl CsvBars {
    pub fn open(path: &Path, fill: &CsvFill) -> Result<CsvBars, Error> {
        let input = Input::open(path)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            // Rows of the wrong length are checked here, so that they reach the rejects
            // whole rather than as a bare parse error.
            .flexible(true)
            .from_reader(input.reader);
        let headers = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                return Err(Error::BadRow {
                    input: input.name,
                    line: 1,
                    message: format!("CSV header: {e}"),
                });
            }
        };
        // A BOM from a spreadsheet would otherwise become part of the first column name.
        let headers: csv::StringRecord = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                if i == 0 {
                    h.trim_start_matches('\u{feff}')
                } else {
                    h
                }
            })
            .collect();
        let fields: Vec<String> = headers
            .iter()
            .map(tickerlake::csv_cells::bar_field)
            .collect();
        let bad_header = |message: String| Error::BadRow {
            input: input.name.clone(),
            line: 1,
            message: format!("CSV header: {message}"),
        };
        for (i, f) in fields.iter().enumerate() {
            if fields[..i].contains(f) {
                return Err(bad_header(format!("two columns are {f}")));
            }
        }
        for (field, given, flag) in [
            ("symbol", &fill.symbol, "--symbol SYM"),
            ("provider", &fill.provider, "--provider NAME"),
        ] {
            if !fields.iter().any(|f| f == field) && given.is_none() {
                return Err(bad_header(format!(
                    "no {field} column (a provider's download: give {flag})"
                )));
            }
        }
        Ok(CsvBars {
            name: input.name,
            reader,
            fields,
            fill: fill.clone(),
            headers,
            raw: csv::ByteRecord::new(),
            record: csv::StringRecord::new(),
            line: 1,
            rejected_any: false,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Line of the bar last returned.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The next good bar; bad lines go to `rejects` (or end the run when there is none).
    pub fn next_bar(&mut self, rejects: &mut Rejects) -> Result<Option<Bar>, Error> {
        loop {
            match self.next() {
                None => return Ok(None),
                Some(Ok(bar)) => return Ok(Some(bar)),
                Some(Err(e)) => rejects.handle(e)?,
            }
        }
    }

    fn next(&mut self) -> Option<Result<Bar, tickerlake::ndjson::ReadError>> {
        use tickerlake::ndjson::ReadError;
        loop {
            if self.raw.is_empty() {
                self.raw = std::mem::take(&mut self.record).into_byte_record();
            }
            match self.reader.read_byte_record(&mut self.raw) {
                Ok(false) => return None,
                Ok(true) => {}
                Err(e) => {
                    // An I/O error or a quote that never closes: no row to keep.
                    let line = e.position().map_or(self.line + 1, |p| p.line());
                    self.line = line;
                    return Some(Err(ReadError::bad(
                        &self.name,
                        line,
                        None,
                        format!("invalid CSV: {e}"),
                        Vec::new(),
                    )));
                }
            }
            self.line = self.raw.position().map_or(self.line + 1, |p| p.line());
            if self.raw.iter().all(|f| f.trim_ascii().is_empty()) {
                continue;
            }
            let structural = if self.raw.as_slice().len() > tickerlake::ndjson::DEFAULT_MAX_LINE {
                Some(format!(
                    "a row of {} bytes, longer than the {} MiB a record may take",
                    self.raw.as_slice().len(),
                    tickerlake::ndjson::DEFAULT_MAX_LINE >> 20
                ))
            } else if self.raw.len() != self.headers.len() {
                Some(format!(
                    "invalid CSV: {} fields, the header has {}",
                    self.raw.len(),
                    self.headers.len()
                ))
            } else {
                // The row's buffers move between the two forms rather than being copied.
                match csv::StringRecord::from_byte_record(std::mem::take(&mut self.raw)) {
                    Ok(record) => {
                        self.record = record;
                        None
                    }
                    Err(e) => {
                        let message = format!("invalid CSV: {}", e.utf8_error());
                        self.raw = e.into_byte_record();
                        Some(message)
                    }
                }
            };
            if let Some(message) = structural {
                let raw = csv_line(
                    (!self.rejected_any).then_some(self.headers.as_byte_record()),
                    &self.raw,
                );
                self.rejected_any = true;
                return Some(Err(ReadError::bad(
                    &self.name, self.line, None, message, raw,
                )));
            }
            // The first rejected row carries the header line: the rejects file is then a CSV
            // file that can be fixed and fed again.
            let with_header = !self.rejected_any;
            let headers = &self.headers;
            let bad = |field: Option<String>, message: String, record: &csv::StringRecord| {
                let raw = csv_line(
                    with_header.then_some(headers.as_byte_record()),
                    record.as_byte_record(),
                );
                ReadError::bad(&self.name, self.line, field, message, raw)
            };
            // The row as the record's JSON object, decoded by the same rules as an NDJSON line:
            // the same field names in errors, the same missing values.
            let mut object = serde_json::Map::with_capacity(self.fields.len() + 2);
            for (field, cell) in self.fields.iter().zip(self.record.iter()) {
                let value = if tickerlake::csv_cells::is_missing(cell) {
                    serde_json::Value::Null
                } else {
                    serde_json::Value::String(cell.trim().to_string())
                };
                object.insert(field.clone(), value);
            }
            for (field, given) in [
                ("symbol", &self.fill.symbol),
                ("provider", &self.fill.provider),
            ] {
                if let Some(v) = given {
                    object
                        .entry(field)
                        .or_insert_with(|| serde_json::Value::String(v.clone()));
                }
            }
            let result = tickerlake::ndjson::decode_object::<Bar>(object)
                .map_err(|(field, message)| bad(field, message, &self.record));
            if result.is_err() {
                self.rejected_any = true;
            }
            return Some(result);
        }
    }
}

/// A row as a CSV line (without its line ending), after the header line if one is given: what
/// goes to the rejects file, which can then be fixed and fed again.
fn csv_line(header: Option<&csv::ByteRecord>, row: &csv::ByteRecord) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    if let Some(h) = header {
        let _ = w.write_byte_record(h);
    }
    let _ = w.write_byte_record(row);
    let mut raw = w.into_inner().unwrap_or_default();
    if raw.last() == Some(&b'\n') {
        raw.pop();
    }
    raw
}

/// Input block size handed to a decoding thread (and, for one file, built into one batch).
const CHUNK_BYTES: usize = 1 << 20;

/// An NDJSON input in 1 MiB chunks, read straight into their buffers, and its name.
pub(crate) type Chunks = Chunker<Box<dyn BufRead + Send>>;

/// Opens an NDJSON input (`-` is stdin) as chunks for the decoding threads; returns its name too.
pub(crate) fn ndjson_chunks(path: &Path) -> Result<(Chunks, String), Error> {
    let input = Input::open(path)?;
    let name = input.name.clone();
    let chunker = Chunker::new(
        input.reader,
        name.clone(),
        tickerlake::ndjson::DEFAULT_MAX_LINE,
    )
    .with_min_bytes(CHUNK_BYTES);
    Ok((chunker, name))
}

/// Calls `each` with every good bar of every input (with its input name and line), in input
/// order. NDJSON is parsed on all cores (`tickerlake::parallel`); bad lines go to `rejects` in
/// order, or end the run at the first one.
pub(crate) fn for_each_bar(
    opts: &Options,
    rejects: &mut Rejects,
    mut each: impl FnMut(Bar, &str, u64) -> Result<(), Error>,
) -> Result<(), Error> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for path in input_paths(&opts.inputs) {
        match opts.format {
            InputFormat::Csv => {
                let mut source = CsvBars::open(&path, &opts.csv_fill)?;
                while let Some(bar) = source.next_bar(rejects)? {
                    each(bar, source.name(), source.line())?;
                }
            }
            InputFormat::Ndjson => {
                let (chunker, name) = ndjson_chunks(&path)?;
                let decode = |chunk: &Chunk| decode_chunk(chunk, &name);
                map_ordered(chunker, threads, decode, |decoded: DecodedChunk| {
                    let mut bad = decoded.bad.into_iter().peekable();
                    for (i, (line, bar)) in decoded.bars.into_iter().enumerate() {
                        while let Some((_, e)) = bad.next_if(|(at, _)| *at <= i) {
                            rejects.handle(e)?;
                        }
                        each(bar, &name, line)?;
                    }
                    for (_, e) in bad {
                        rejects.handle(e)?;
                    }
                    Ok::<(), Error>(())
                })?;
            }
        }
    }
    Ok(())
}

/// A chunk's good bars with their line numbers, and its bad lines, each with the index of the
/// good bar it came before.
struct DecodedChunk {
    bars: Vec<(u64, Bar)>,
    bad: Vec<(usize, ReadError)>,
}

fn decode_chunk(chunk: &Chunk, name: &str) -> DecodedChunk {
    let mut reader = chunk.reader(name, tickerlake::ndjson::DEFAULT_MAX_LINE);
    let mut out = DecodedChunk {
        bars: Vec::with_capacity(chunk.bytes.len() / 150),
        bad: Vec::new(),
    };
    let text = chunk.text();
    while let Some(line) = reader.next_line() {
        let decoded = match line {
            Ok(bytes) => match BarRef::decode_valid(text, bytes) {
                Some(bar) => Ok(bar.to_bar()),
                None => {
                    let bytes = bytes.to_vec();
                    reader.decode_line::<Bar>(&bytes)
                }
            },
            Err(e) => Err(e),
        };
        match decoded {
            Ok(bar) => out.bars.push((reader.line_number(), bar)),
            Err(e) => out.bad.push((out.bars.len(), e)),
        }
    }
    out
}
