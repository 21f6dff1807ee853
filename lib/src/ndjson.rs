//! Streaming NDJSON: one record per line, read from any `BufRead`, written to any `Write`.
//!
//! Errors name the place: `bars.ndjson:12: open: expected a decimal number, found string "x"`.
//! Blank lines are skipped, a UTF-8 byte-order mark on the first line is ignored, `\r\n` endings
//! are accepted, and a line longer than the cap is an error, not an out-of-memory. With a
//! [`Rejects`] sink a bad line is written there verbatim and reading goes on; without one it
//! stops the program (exit 65).

use std::io::{self, BufRead, Write};
use std::path::Path;

use serde::Serialize;

use crate::error::Error;
use crate::io::Output;
use crate::records::{FieldError, Record};

/// Default longest line, in bytes. A daily bar is ~200 bytes; a ticker with a long name ~500.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

/// A line that is not a valid record: where, which field, what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RecordError {
    /// The input's name (file path or `<stdin>`).
    pub input: String,
    pub line: u64,
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The message may quote the offending value whole (serde's, csv's): cut it short.
        let message = crate::echo::shorten(&self.message);
        match &self.field {
            // A field named by the input (an unknown key) may be as long as the line.
            Some(field) => write!(
                f,
                "{}:{}: {}: {}",
                self.input,
                self.line,
                crate::echo::cut(field),
                message
            ),
            None => write!(f, "{}:{}: {}", self.input, self.line, message),
        }
    }
}

/// A rejected line: the error and the raw bytes (verbatim, without the line ending).
#[derive(Debug)]
pub struct BadLine {
    pub error: RecordError,
    pub raw: Vec<u8>,
}

/// Streams lines and records out of one input.
pub struct NdjsonReader<R> {
    input: R,
    name: String,
    line: u64,
    buf: Vec<u8>,
    max_line: usize,
    bytes: u64,
    /// Length of the line last returned straight from the input's buffer, consumed on the
    /// next call.
    borrowed: usize,
}

/// Where the next line is, when the input's buffer holds all of it.
enum Next {
    /// The line is `start..end` of the buffer; `used` bytes with its line ending.
    Line {
        start: usize,
        end: usize,
        used: usize,
    },
    /// A blank line of `used` bytes.
    Blank { used: usize },
    /// Not in the buffer as a whole (or too long): read it piece by piece.
    Slow,
}

/// Why reading stopped: an I/O error (fatal) or a bad line (rejectable).
#[derive(Debug)]
pub enum ReadError {
    Io(Error),
    Bad(BadLine),
}

impl ReadError {
    /// A bad line of `input`: where, which field, why, and the raw bytes to set aside.
    pub fn bad(
        input: &str,
        line: u64,
        field: Option<String>,
        message: String,
        raw: Vec<u8>,
    ) -> ReadError {
        ReadError::Bad(BadLine {
            error: RecordError {
                input: input.to_string(),
                line,
                field,
                message,
            },
            raw,
        })
    }
}

impl<R: BufRead> NdjsonReader<R> {
    pub fn new(input: R, name: impl Into<String>) -> NdjsonReader<R> {
        NdjsonReader {
            input,
            name: name.into(),
            line: 0,
            buf: Vec::with_capacity(512),
            max_line: DEFAULT_MAX_LINE,
            bytes: 0,
            borrowed: 0,
        }
    }

    #[must_use]
    pub fn with_max_line(mut self, max_line: usize) -> NdjsonReader<R> {
        self.max_line = max_line.max(1);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Numbers lines as if `lines` lines came before this input (for a chunk of a bigger one).
    #[must_use]
    pub fn starting_after_line(mut self, lines: u64) -> NdjsonReader<R> {
        self.line = lines;
        self
    }

    /// Bytes consumed from the input so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// Number of the line last returned (1-based).
    pub fn line_number(&self) -> u64 {
        self.line
    }

    fn bad(&self, field: Option<String>, message: String, raw: Vec<u8>) -> ReadError {
        ReadError::bad(&self.name, self.line, field, message, raw)
    }

    /// Reads one physical line into `self.buf`, at most `max_line` bytes of it kept.
    /// Returns `None` at end of input, `Some(true)` if the line was cut.
    fn read_physical_line(&mut self) -> Result<Option<bool>, Error> {
        self.buf.clear();
        let mut any = false;
        let mut cut = false;
        loop {
            let available = fill(&mut self.input, &self.name)?;
            if available.is_empty() {
                return Ok(any.then_some(cut));
            }
            any = true;
            let (chunk, done) = match memchr_newline(available) {
                Some(i) => (&available[..i], Some(i + 1)),
                None => (available, None),
            };
            // One byte more than the cap: the `\r` of a CRLF line that is exactly at the cap.
            let room = (self.max_line + 1).saturating_sub(self.buf.len());
            if chunk.len() > room {
                cut = true;
            }
            self.buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let used = done.unwrap_or(available.len());
            self.input.consume(used);
            self.bytes += used as u64;
            if done.is_some() {
                return Ok(Some(cut));
            }
        }
    }

    /// The next non-blank line (without its line ending), or `None` at the end.
    pub fn next_line(&mut self) -> Option<Result<&[u8], ReadError>> {
        // Most lines lie whole in the input's buffer: hand them out from there, uncopied.
        loop {
            self.input.consume(std::mem::take(&mut self.borrowed));
            let next = match self.input.fill_buf() {
                Ok(available) => locate(available, self.line == 0, self.max_line),
                Err(_) => Next::Slow, // the slow path retries and reports
            };
            match next {
                Next::Blank { used } => {
                    self.input.consume(used);
                    self.bytes += used as u64;
                    self.line += 1;
                }
                Next::Line { start, end, used } => {
                    self.borrowed = used;
                    self.bytes += used as u64;
                    self.line += 1;
                    return match self.input.fill_buf() {
                        Ok(available) => Some(Ok(&available[start..end])),
                        Err(source) => Some(Err(ReadError::Io(Error::Read {
                            name: self.name.clone(),
                            source,
                        }))),
                    };
                }
                Next::Slow => break,
            }
        }
        loop {
            let cut = match self.read_physical_line() {
                Ok(None) => return None,
                Ok(Some(cut)) => cut,
                Err(e) => return Some(Err(ReadError::Io(e))),
            };
            self.line += 1;
            let content = content(&self.buf, self.line == 1);
            self.buf.truncate(content.end);
            self.buf.drain(..content.start);
            if cut || self.buf.len() > self.max_line {
                self.buf.truncate(self.max_line);
                let raw = std::mem::take(&mut self.buf);
                let msg = format!(
                    "line is longer than {} bytes (the limit); only its start is kept",
                    self.max_line
                );
                return Some(Err(self.bad(None, msg, raw)));
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return Some(Ok(&self.buf));
        }
    }

    /// The next record of type `T`, decoded strictly (unknown keys are errors) and validated.
    pub fn next_record<T: Record>(&mut self) -> Option<Result<T, ReadError>> {
        let result = match self.next_line()? {
            Ok(bytes) => {
                decode::<T>(bytes).map_err(|(field, message)| (field, message, bytes.to_vec()))
            }
            Err(e) => return Some(Err(e)),
        };
        Some(result.map_err(|(field, message, raw)| self.bad(field, message, raw)))
    }

    /// Decodes and validates `line` as the line last returned by [`NdjsonReader::next_line`]
    /// (for callers that try a fast path on the line first): errors name this line.
    pub fn decode_line<T: Record>(&self, line: &[u8]) -> Result<T, ReadError> {
        decode::<T>(line).map_err(|(field, message)| self.bad(field, message, line.to_vec()))
    }

    /// Like [`NdjsonReader::next_record`] but keeps unknown keys next to the record, for
    /// programs that pass records through.
    pub fn next_record_with_extra<T: Record>(&mut self) -> Option<Result<WithExtra<T>, ReadError>> {
        let result = match self.next_line()? {
            Ok(bytes) => decode_with_extra::<T>(bytes)
                .map_err(|(field, message)| (field, message, bytes.to_vec())),
            Err(e) => return Some(Err(e)),
        };
        Some(result.map_err(|(field, message, raw)| self.bad(field, message, raw)))
    }
}

/// Finds the next line in `available` if it lies there whole and is not too long.
fn locate(available: &[u8], first_line: bool, max_line: usize) -> Next {
    let Some(newline) = memchr::memchr(b'\n', available) else {
        return Next::Slow;
    };
    let std::ops::Range { start, end } = content(&available[..newline], first_line);
    if end - start > max_line {
        return Next::Slow;
    }
    let used = newline + 1;
    if available[start..end].iter().all(u8::is_ascii_whitespace) {
        Next::Blank { used }
    } else {
        Next::Line { start, end, used }
    }
}

/// The part of a physical line (without its `\n`) that is the line: without a byte-order mark
/// on the first line and without the `\r` of a CRLF ending.
fn content(line: &[u8], first_line: bool) -> std::ops::Range<usize> {
    let start = if first_line && line.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let end = if line.len() > start && line.ends_with(b"\r") {
        line.len() - 1
    } else {
        line.len()
    };
    start..end
}

/// The reader's next block of bytes (empty at the end), retrying interrupted reads.
pub(crate) fn fill<'a, R: BufRead>(input: &'a mut R, name: &str) -> Result<&'a [u8], Error> {
    loop {
        match input.fill_buf() {
            // Re-borrow on success: returning `b` from inside the loop would keep `input`
            // borrowed across iterations.
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => {
                return Err(Error::Read {
                    name: name.to_string(),
                    source,
                });
            }
        }
    }
    input.fill_buf().map_err(|source| Error::Read {
        name: name.to_string(),
        source,
    })
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', bytes)
}

/// serde_json appends " at line L column C" to its messages; our messages say where themselves.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => message[..i].to_string(),
        _ => message.to_string(),
    }
}

/// Turns a decoding error into (field, what was expected).
fn describe(path: &serde_path_to_error::Path, err: &serde_json::Error) -> (Option<String>, String) {
    let mut message = strip_location(&err.to_string());
    let path = path.to_string();
    let mut field = (path != "." && !path.is_empty()).then_some(path);
    // Missing and unknown keys are reported at the level of their object; name the key itself.
    for prefix in ["missing field `", "unknown field `"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            if let Some(end) = rest.find('`') {
                let key = rest[..end].to_string();
                let tail = rest[end + 1..].trim_start_matches(", ").to_string();
                let what = if prefix.starts_with("missing") {
                    "missing (required)".to_string()
                } else {
                    format!("unknown field, {tail}")
                };
                // serde_path_to_error already ends the path with an unknown key.
                field = Some(match field {
                    Some(p) if p == key || p.ends_with(&format!(".{key}")) => p,
                    Some(parent) => format!("{parent}.{key}"),
                    None => key,
                });
                message = what;
            }
            break;
        }
    }
    if err.classify() == serde_json::error::Category::Syntax
        || err.classify() == serde_json::error::Category::Eof
    {
        message = format!("invalid JSON: {message} (column {})", err.column());
        field = None;
    }
    (field, message)
}

/// A syntax error, with its column (the line is known to the caller).
fn invalid_json(e: serde_json::Error) -> (Option<String>, String) {
    (
        None,
        format!(
            "invalid JSON: {} (column {})",
            strip_location(&e.to_string()),
            e.column()
        ),
    )
}

pub(crate) fn decode<T: Record>(bytes: &[u8]) -> Result<T, (Option<String>, String)> {
    match T::decode_fast(bytes) {
        Some(value) => {
            value.validate().map_err(field_error)?;
            Ok(value)
        }
        None => strict_decode(bytes),
    }
}

/// Decodes with serde, naming the field of the first error; validates.
pub(crate) fn strict_decode<T: Record>(bytes: &[u8]) -> Result<T, (Option<String>, String)> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    // Fast path without path tracking; a bad line is decoded again to name its field.
    let value = match T::deserialize(&mut de) {
        Ok(v) => v,
        Err(_) => {
            let mut de = serde_json::Deserializer::from_slice(bytes);
            let mut track = serde_path_to_error::Track::new();
            let e =
                match T::deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track)) {
                    Err(e) => e,
                    Ok(_) => return Err((None, "record could not be decoded".to_string())),
                };
            return Err(describe(&track.path(), &e));
        }
    };
    de.end().map_err(invalid_json)?;
    value.validate().map_err(field_error)?;
    Ok(value)
}

/// Decodes a record from a JSON object built by a reader of another format (a CSV row), with
/// the same rules and the same (field, message) errors as an NDJSON line.
pub fn decode_object<T: Record>(
    object: serde_json::Map<String, serde_json::Value>,
) -> Result<T, (Option<String>, String)> {
    let mut track = serde_path_to_error::Track::new();
    let record = T::deserialize(serde_path_to_error::Deserializer::new(
        serde_json::Value::Object(object),
        &mut track,
    ))
    .map_err(|e| describe(&track.path(), &e))?;
    record.validate().map_err(field_error)?;
    Ok(record)
}

fn field_error(e: FieldError) -> (Option<String>, String) {
    (Some(e.field.to_string()), e.expected)
}

/// A record plus the keys its contract does not know, kept in their input order.
#[derive(Debug, Clone, PartialEq)]
pub struct WithExtra<T> {
    pub record: T,
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl<T: Serialize> Serialize for WithExtra<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error as _, SerializeMap};
        let known = serde_json::to_value(&self.record).map_err(S::Error::custom)?;
        let serde_json::Value::Object(known) = known else {
            return Err(S::Error::custom("a record must serialize to a JSON object"));
        };
        let mut map = serializer.serialize_map(Some(known.len() + self.extra.len()))?;
        for (k, v) in known.iter().chain(self.extra.iter()) {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// Top-level keys of a record type, from its schema (computed once per type).
pub fn record_fields<T: Record>() -> std::sync::Arc<Vec<String>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    type FieldsByKind = HashMap<&'static str, Arc<Vec<String>>>;
    static CACHE: OnceLock<Mutex<FieldsByKind>> = OnceLock::new();
    let mut cache = CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    Arc::clone(cache.entry(T::KIND).or_insert_with(|| {
        let schema = schemars::schema_for!(T);
        Arc::new(
            schema
                .get("properties")
                .and_then(|p| p.as_object())
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default(),
        )
    }))
}

fn decode_with_extra<T: Record>(bytes: &[u8]) -> Result<WithExtra<T>, (Option<String>, String)> {
    // Most lines have no key the contract does not know: decoded straight into the record, they
    // skip the JSON map and its hashing. Any other line, good or bad, takes the long way,
    // which keeps its unknown keys and says what is wrong with it.
    if let Ok(record) = decode::<T>(bytes) {
        return Ok(WithExtra {
            record,
            extra: serde_json::Map::new(),
        });
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(invalid_json)?;
    let serde_json::Value::Object(all) = value else {
        return Err((None, "expected a JSON object".to_string()));
    };
    let fields = record_fields::<T>();
    let fields = fields.as_slice();
    let (mut known, mut extra) = (serde_json::Map::new(), serde_json::Map::new());
    for (k, v) in all {
        if fields.contains(&k) {
            known.insert(k, v);
        } else {
            extra.insert(k, v);
        }
    }
    let mut track = serde_path_to_error::Track::new();
    let record = T::deserialize(serde_path_to_error::Deserializer::new(
        serde_json::Value::Object(known),
        &mut track,
    ))
    .map_err(|e| describe(&track.path(), &e))?;
    record.validate().map_err(field_error)?;
    Ok(WithExtra { record, extra })
}

/// Where bad lines go when a program runs with `--rejects FILE`.
pub struct Rejects {
    sink: Option<Output>,
    count: u64,
}

impl Rejects {
    /// No sink: the first bad line is fatal.
    pub fn none() -> Rejects {
        Rejects {
            sink: None,
            count: 0,
        }
    }

    /// Bad lines go to `path` (written atomically when the program finishes; `-` for stdout).
    pub fn to_path(path: Option<&Path>) -> Result<Rejects, Error> {
        Ok(Rejects {
            sink: path.map(|p| Output::open(Some(p))).transpose()?,
            count: 0,
        })
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn is_active(&self) -> bool {
        self.sink.is_some()
    }

    /// Keeps a bad line (and warns on stderr), or, with no sink, returns it as the error that
    /// stops the program.
    pub fn reject(&mut self, bad: BadLine) -> Result<(), Error> {
        let Some(sink) = self.sink.as_mut() else {
            return Err(Error::Record(bad.error));
        };
        tracing::warn!(input = %bad.error.input, line = bad.error.line, "rejected: {}", bad.error);
        let name = sink.name();
        sink.write_all(&bad.raw)
            .and_then(|()| sink.write_all(b"\n"))
            .map_err(|source| Error::Write { name, source })?;
        self.count += 1;
        Ok(())
    }

    /// Handles a [`ReadError`]: I/O errors are fatal, bad lines go through [`Rejects::reject`].
    pub fn handle(&mut self, err: ReadError) -> Result<(), Error> {
        match err {
            ReadError::Io(e) => Err(e),
            ReadError::Bad(bad) => self.reject(bad),
        }
    }

    /// Puts the rejects file in place.
    pub fn finish(self) -> Result<u64, Error> {
        if let Some(sink) = self.sink {
            sink.finish()?;
        }
        Ok(self.count)
    }
}

/// Appends one record and its newline to `buf` (for workers that encode in parallel).
pub fn encode_line<T: Serialize + ?Sized>(
    buf: &mut Vec<u8>,
    record: &T,
) -> Result<(), serde_json::Error> {
    serde_json::to_writer(&mut *buf, record)?;
    buf.push(b'\n');
    Ok(())
}

/// Writes records as NDJSON.
pub struct NdjsonWriter<W: Write> {
    out: W,
    name: String,
    written: u64,
    scratch: Vec<u8>,
}

impl<W: Write> NdjsonWriter<W> {
    pub fn new(out: W, name: impl Into<String>) -> NdjsonWriter<W> {
        NdjsonWriter {
            out,
            name: name.into(),
            written: 0,
            scratch: Vec::with_capacity(512),
        }
    }

    /// Writes one record and its newline.
    pub fn write<T: Serialize + ?Sized>(&mut self, record: &T) -> Result<(), Error> {
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, record).map_err(|e| Error::Write {
            name: self.name.clone(),
            source: io::Error::other(e),
        })?;
        self.scratch.push(b'\n');
        self.out
            .write_all(&self.scratch)
            .map_err(|source| Error::Write {
                name: self.name.clone(),
                source,
            })?;
        self.written += 1;
        Ok(())
    }

    /// Writes NDJSON that is already encoded (whole lines, `records` of them), e.g. by a worker
    /// thread.
    pub fn write_encoded(&mut self, bytes: &[u8], records: u64) -> Result<(), Error> {
        self.out.write_all(bytes).map_err(|source| Error::Write {
            name: self.name.clone(),
            source,
        })?;
        self.written += records;
        Ok(())
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flushes and hands back the inner writer.
    pub fn into_inner(mut self) -> Result<W, Error> {
        self.out.flush().map_err(|source| Error::Write {
            name: self.name.clone(),
            source,
        })?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Bar, Ticker};

    fn read_all<T: Record>(text: &[u8], rejects: &mut Rejects) -> Result<Vec<T>, Error> {
        let mut r = NdjsonReader::new(text, "bars.ndjson");
        let mut out = Vec::new();
        while let Some(res) = r.next_record::<T>() {
            match res {
                Ok(v) => out.push(v),
                Err(e) => rejects.handle(e)?,
            }
        }
        Ok(out)
    }

    const GOOD: &str = r#"{"symbol":"AAPL","date":"2024-01-02","open":1.5,"high":2,"low":1,"close":1.75,"adj_close":1.7,"volume":10,"provider":"yahoo","source_ts":null}"#;

    #[test]
    fn skips_blank_lines_bom_and_crlf() {
        let text = format!("\u{feff}{GOOD}\r\n\n   \n{GOOD}");
        let bars: Vec<Bar> = read_all(text.as_bytes(), &mut Rejects::none()).unwrap();
        assert_eq!(bars.len(), 2);
    }

    fn first_error(text: &str) -> String {
        match read_all::<Bar>(text.as_bytes(), &mut Rejects::none()) {
            Err(e) => e.to_string(),
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let e = first_error(&format!("{GOOD}\n\n{}\n", GOOD.replace("1.5", "\"abc\"")));
        assert!(e.starts_with("bars.ndjson:3: open: "), "{e}");
        assert!(e.contains("expected a decimal number"), "{e}");

        let e = first_error(&GOOD.replace("\"adj_close\"", "\"adjclose\""));
        assert!(
            e.starts_with("bars.ndjson:1: adjclose: unknown field, expected one of"),
            "{e}"
        );

        let e = first_error(&GOOD.replace("\"date\":\"2024-01-02\",", ""));
        assert_eq!(e, "bars.ndjson:1: date: missing (required)");

        let e = first_error("{\"symbol\": \n");
        assert!(e.starts_with("bars.ndjson:1: invalid JSON: "), "{e}");

        let e = first_error(&format!("{GOOD} trailing"));
        assert!(
            e.starts_with("bars.ndjson:1: invalid JSON: trailing characters"),
            "{e}"
        );

        let e = first_error(&GOOD.replace("yahoo", "Yahoo!"));
        assert!(
            e.starts_with("bars.ndjson:1: provider: expected a lower-case provider name"),
            "{e}"
        );

        let e = first_error("[1,2]");
        assert!(e.starts_with("bars.ndjson:1: "), "{e}");
    }

    #[test]
    fn long_lines_are_cut_and_reported() {
        let long = format!("{{\"symbol\":\"{}\"}}\n{GOOD}\n", "A".repeat(5000));
        let mut r = NdjsonReader::new(long.as_bytes(), "x").with_max_line(1000);
        match r.next_record::<Bar>() {
            Some(Err(ReadError::Bad(b))) => {
                assert_eq!(b.error.line, 1);
                assert_eq!(b.raw.len(), 1000);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(r.next_record::<Bar>(), Some(Ok(_))),
            "reading goes on after a long line"
        );
        assert_eq!(r.line_number(), 2);
    }

    #[test]
    fn a_crlf_line_exactly_at_the_cap_is_fine() {
        let line = format!("{GOOD}\r\n");
        let mut r = NdjsonReader::new(line.as_bytes(), "x").with_max_line(GOOD.len());
        assert!(matches!(r.next_record::<Bar>(), Some(Ok(_))));
        let mut r = NdjsonReader::new(line.as_bytes(), "x").with_max_line(GOOD.len() - 1);
        assert!(matches!(
            r.next_record::<Bar>(),
            Some(Err(ReadError::Bad(_)))
        ));
    }

    #[test]
    fn rejects_keep_bad_lines_verbatim() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rejects.ndjson");
        let bad = "{\"symbol\":\"../etc\",\"date\":\"2024-01-02\",\"provider\":\"p\"}";
        let text = format!("{GOOD}\n{bad}\nnot json\n{GOOD}\n");
        let mut rejects = Rejects::to_path(Some(&path)).unwrap();
        let bars: Vec<Bar> = read_all(text.as_bytes(), &mut rejects).unwrap();
        assert_eq!(bars.len(), 2);
        assert_eq!(rejects.finish().unwrap(), 2);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{bad}\nnot json\n")
        );
    }

    #[test]
    fn writer_round_trip() {
        let bars: Vec<Bar> =
            read_all(format!("{GOOD}\n").as_bytes(), &mut Rejects::none()).unwrap();
        let mut w = NdjsonWriter::new(Vec::new(), "mem");
        for b in &bars {
            w.write(b).unwrap();
        }
        let out = w.into_inner().unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), format!("{GOOD}\n"));
    }

    #[test]
    fn pass_through_keeps_unknown_keys() {
        let line = br#"{"symbol":"BRK.B","exchange":"XNYS","my_note":"keep me","score":3}"#;
        let mut r = NdjsonReader::new(&line[..], "t");
        let t = r.next_record_with_extra::<Ticker>().unwrap().unwrap();
        assert_eq!(t.extra.len(), 2);
        let out = serde_json::to_string(&t).unwrap();
        assert!(out.contains(r#""my_note":"keep me","score":3"#), "{out}");
        let bad = br#"{"symbol":"BRK.B","exchange":"nyse"}"#;
        let mut r = NdjsonReader::new(&bad[..], "t");
        match r.next_record_with_extra::<Ticker>() {
            Some(Err(ReadError::Bad(b))) => assert_eq!(b.error.field.as_deref(), Some("exchange")),
            other => panic!("{other:?}"),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let mut r = NdjsonReader::new(&bytes[..], "fuzz").with_max_line(128);
            let mut n = 0;
            while let Some(res) = r.next_record::<Bar>() {
                let _ = res;
                n += 1;
                proptest::prop_assert!(n <= bytes.len() + 1);
            }
            let mut r = NdjsonReader::new(&bytes[..], "fuzz");
            while let Some(res) = r.next_record_with_extra::<Ticker>() { let _ = res; }
        }

        #[test]
        fn json_like_lines_never_panic(s in r#"\{("[a-z_]{1,10}":("[A-Z0-9.^/-]{0,8}"|-?[0-9]{1,20}(\.[0-9]{0,20})?|null|\[\]|\{\}),?){0,12}\}"#) {
            let mut r = NdjsonReader::new(s.as_bytes(), "fuzz");
            while let Some(res) = r.next_record::<Bar>() { let _ = res; }
        }
    }
}
