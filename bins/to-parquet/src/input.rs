//! Bars from NDJSON or CSV inputs, with bad lines going through the rejects sink.

use std::io::BufRead;
use std::path::Path;

use tickerlake::io::Input;
use tickerlake::ndjson::{BadLine, NdjsonReader, RecordError, Rejects};
use tickerlake::records::{Bar, Record};

use crate::Error;
use crate::cli::InputFormat;

type Reader = Box<dyn BufRead + Send>;

/// One input's bars.
pub enum BarSource {
    Ndjson(NdjsonReader<Reader>),
    Csv(CsvBars),
}

pub struct CsvBars {
    name: String,
    reader: csv::Reader<Reader>,
    headers: csv::StringRecord,
    /// The row as read, then as text.
    raw: csv::ByteRecord,
    record: csv::StringRecord,
    line: u64,
    /// Whether a rejected row has gone out yet: the first one carries the header line, so
    /// that the rejects file is a CSV file that can be fixed and fed again.
    rejected_any: bool,
}

impl BarSource {
    pub fn open(path: &Path, format: InputFormat) -> Result<BarSource, Error> {
        let input = Input::open(path)?;
        Ok(match format {
            InputFormat::Ndjson => BarSource::Ndjson(NdjsonReader::new(input.reader, input.name)),
            InputFormat::Csv => {
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
                BarSource::Csv(CsvBars {
                    name: input.name,
                    reader,
                    headers,
                    raw: csv::ByteRecord::new(),
                    record: csv::StringRecord::new(),
                    line: 1,
                    rejected_any: false,
                })
            }
        })
    }

    pub fn name(&self) -> &str {
        match self {
            BarSource::Ndjson(r) => r.name(),
            BarSource::Csv(c) => &c.name,
        }
    }

    /// Line of the bar last returned.
    pub fn line(&self) -> u64 {
        match self {
            BarSource::Ndjson(r) => r.line_number(),
            BarSource::Csv(c) => c.line,
        }
    }

    /// The next good bar; bad lines go to `rejects` (or end the run when there is none).
    pub fn next_bar(&mut self, rejects: &mut Rejects) -> Result<Option<Bar>, Error> {
        loop {
            let item = match self {
                BarSource::Ndjson(r) => r.next_record::<Bar>(),
                BarSource::Csv(c) => c.next(),
            };
            match item {
                None => return Ok(None),
                Some(Ok(bar)) => return Ok(Some(bar)),
                Some(Err(e)) => rejects.handle(e)?,
            }
        }
    }
}

impl CsvBars {
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
                    return Some(Err(ReadError::Bad(BadLine {
                        error: RecordError {
                            input: self.name.clone(),
                            line,
                            field: None,
                            message: format!("invalid CSV: {e}"),
                        },
                        raw: Vec::new(),
                    })));
                }
            }
            self.line = self.raw.position().map_or(self.line + 1, |p| p.line());
            if self.raw.iter().all(|f| f.trim_ascii().is_empty()) {
                continue;
            }
            let structural = if self.raw.len() != self.headers.len() {
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
                return Some(Err(ReadError::Bad(BadLine {
                    error: RecordError {
                        input: self.name.clone(),
                        line: self.line,
                        field: None,
                        message,
                    },
                    raw,
                })));
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
                ReadError::Bad(BadLine {
                    error: RecordError {
                        input: self.name.clone(),
                        line: self.line,
                        field,
                        message,
                    },
                    raw,
                })
            };
            let result = match self.record.deserialize::<Bar>(Some(&self.headers)) {
                Ok(bar) => match bar.validate() {
                    Ok(()) => Ok(bar),
                    Err(fe) => Err(bad(Some(fe.field.to_string()), fe.expected, &self.record)),
                },
                Err(e) => {
                    let (field, message) = match e.kind() {
                        csv::ErrorKind::Deserialize { err, .. } => (
                            err.field()
                                .and_then(|i| self.headers.get(i as usize))
                                .map(str::to_string),
                            err.kind().to_string(),
                        ),
                        _ => (None, e.to_string()),
                    };
                    // serde names unknown and missing columns in its message.
                    let field = field.or_else(|| {
                        ["unknown field `", "missing field `"].iter().find_map(|p| {
                            message
                                .strip_prefix(p)
                                .and_then(|r| r.split('`').next())
                                .map(str::to_string)
                        })
                    });
                    Err(bad(field, message, &self.record))
                }
            };
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
