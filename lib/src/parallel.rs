//! Both cores on one NDJSON stream: the input is cut into chunks of whole lines, the chunks are
//! processed on worker threads, and the results come back **in input order**, so output,
//! rejects and the first error are exactly what a sequential run gives. Memory is bounded: at
//! most eight chunks per worker are read and not yet delivered.
//!
//! Each chunk is processed with an ordinary [`NdjsonReader`] that knows the chunk's first line
//! number, so every message still says `file:line`.

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use crate::error::Error;
use crate::ndjson::NdjsonReader;

/// A run of whole lines of one input.
pub struct Chunk {
    /// Line number of the chunk's first line, minus one (what the reader starts counting from).
    pub lines_before: u64,
    pub bytes: Vec<u8>,
}

impl Chunk {
    /// The chunk as text, if it is all UTF-8. Checked once for the whole chunk (much faster than
    /// line by line), so that the lines cut from it need no check of their own: see
    /// [`line_text`].
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.bytes).ok()
    }

    /// A reader over this chunk whose line numbers are the input's.
    pub fn reader<'a>(&'a self, name: &str, max_line: usize) -> NdjsonReader<&'a [u8]> {
        NdjsonReader::new(&self.bytes[..], name)
            .with_max_line(max_line)
            .starting_after_line(self.lines_before)
    }
}

/// `line` as text without checking it again, when it is a slice of the chunk whose text is
/// `text` ([`Chunk::text`]); `None` for any other slice (such as a line the reader had to copy).
pub fn line_text<'a>(text: &'a str, line: &[u8]) -> Option<&'a str> {
    // Address arithmetic only: a slice lying inside the chunk's buffer is part of it.
    let start = (line.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    text.get(start..start.checked_add(line.len())?)
}

/// Cuts an input into [`Chunk`]s of whole lines: each block the input delivers (at most the
/// reader's buffer, 64 KiB for [`crate::io::Input`]) becomes a chunk as soon as it holds a
/// complete line, so a slow producer's lines are not held back (or, with
/// [`Chunker::with_min_bytes`], once the chunk is big enough). A line longer than `max_line` is
/// cut to `max_line + 1` bytes (the reader then reports it as too long) and the rest of it
/// skipped, so one endless line cannot take all memory.
pub struct Chunker<R> {
    input: R,
    name: String,
    pending: Pending,
    /// Lines handed out so far.
    lines: u64,
    done: bool,
    /// A chunk is handed out once it holds at least this many bytes of complete lines.
    min_bytes: usize,
}

/// Bytes read and not yet handed out.
struct Pending {
    max_line: usize,
    /// Complete lines, then possibly the start of an unfinished line.
    bytes: Vec<u8>,
    /// Length of the complete lines at the start of `bytes`, and how many they are.
    complete: usize,
    complete_lines: u64,
    /// Bytes kept of the unfinished line; inside an over-long line, drop until its newline.
    line_len: usize,
    skipping: bool,
}

impl Pending {
    /// Takes in a block the input delivered.
    fn absorb(&mut self, block: &[u8]) {
        let from = self.bytes.len();
        self.bytes.extend_from_slice(block);
        self.absorb_appended(from);
    }

    /// Where the lines of `block` end, when none of them is too long (the usual case): how
    /// many newlines, where the unfinished line starts and how long it is (with the part
    /// already kept). Newlines are found with SIMD. `None`: go line by line.
    fn scan(&self, block: &[u8]) -> Option<(u64, usize, usize)> {
        if self.skipping {
            return None;
        }
        let cap = self.max_line + 1;
        let mut line_start = 0;
        let mut carried = self.line_len; // bytes of the current line already kept
        let mut newlines = 0u64;
        for at in memchr::memchr_iter(b'\n', block) {
            if at - line_start + carried > cap {
                return None;
            }
            carried = 0;
            newlines += 1;
            line_start = at + 1;
        }
        let tail = block.len() - line_start + carried;
        (tail < cap).then_some((newlines, line_start, tail))
    }

    /// Accounts for bytes appended to `bytes` from `from` on: all at once when no line in them
    /// is too long (the usual case), else line by line.
    fn absorb_appended(&mut self, from: usize) {
        match self.scan(&self.bytes[from..]) {
            Some((newlines, line_start, tail)) => {
                let after = self.bytes.len() - from - line_start;
                self.commit(newlines, after, tail);
            }
            None => {
                let block = self.bytes.split_off(from);
                self.absorb_by_line(&block);
            }
        }
    }

    /// `newlines` more complete lines, of which the last ends `after` bytes before the end of
    /// `bytes`; the unfinished line is `tail` bytes long.
    fn commit(&mut self, newlines: u64, after: usize, tail: usize) {
        if newlines > 0 {
            self.complete = self.bytes.len() - after;
            self.complete_lines += newlines;
        }
        self.line_len = tail;
    }

    /// Line by line, cutting over-long lines.
    fn absorb_by_line(&mut self, block: &[u8]) {
        let cap = self.max_line + 1;
        let mut rest = block;
        while !rest.is_empty() {
            let (part, newline) = match memchr::memchr(b'\n', rest) {
                Some(i) => (&rest[..i], true),
                None => (rest, false),
            };
            if !self.skipping {
                let keep = part.len().min(cap.saturating_sub(self.line_len));
                self.bytes.extend_from_slice(&part[..keep]);
                self.line_len += keep;
                self.skipping = self.line_len >= cap;
            }
            if newline {
                self.bytes.push(b'\n');
                self.complete = self.bytes.len();
                self.complete_lines += 1;
                self.line_len = 0;
                self.skipping = false;
                rest = &rest[part.len() + 1..];
            } else {
                rest = &[];
            }
        }
    }

    /// The complete lines and how many they are; the unfinished line stays, in a buffer with
    /// room for `room` more bytes.
    fn take_complete(&mut self, room: usize) -> (Vec<u8>, u64) {
        let mut unfinished = Vec::with_capacity(room + self.bytes.len() - self.complete);
        unfinished.extend_from_slice(&self.bytes[self.complete..]);
        self.bytes.truncate(self.complete);
        let lines = self.complete_lines;
        self.complete = 0;
        self.complete_lines = 0;
        (std::mem::replace(&mut self.bytes, unfinished), lines)
    }
}

impl<R: BufRead> Chunker<R> {
    pub fn new(input: R, name: impl Into<String>, max_line: usize) -> Chunker<R> {
        Chunker {
            input,
            name: name.into(),
            pending: Pending {
                max_line: max_line.max(1),
                bytes: Vec::new(),
                complete: 0,
                complete_lines: 0,
                line_len: 0,
                skipping: false,
            },
            lines: 0,
            done: false,
            min_bytes: 1,
        }
    }

    /// Hands out a chunk only once it holds `bytes` bytes of complete lines (or the input
    /// ended), rather than as soon as it holds one line: for consumers that batch anyway and
    /// would rather have big chunks than prompt ones, whatever block sizes a pipe delivers.
    #[must_use]
    pub fn with_min_bytes(mut self, bytes: usize) -> Chunker<R> {
        self.min_bytes = bytes.max(1);
        self
    }

    /// The next chunk, `None` at the end of the input.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, Error> {
        loop {
            if self.done {
                if self.pending.bytes.is_empty() {
                    return Ok(None);
                }
                // The rest, ending with a last line that has no newline.
                let partial = u64::from(self.pending.complete < self.pending.bytes.len());
                let complete_lines = self.pending.complete_lines;
                let chunk = Chunk {
                    lines_before: self.lines,
                    bytes: std::mem::take(&mut self.pending.bytes),
                };
                self.lines += complete_lines + partial;
                self.pending.complete = 0;
                self.pending.complete_lines = 0;
                return Ok(Some(chunk));
            }
            let len = if self.min_bytes > 1 {
                // Big chunks wanted: read straight into the chunk's buffer, saving a copy.
                let from = self.pending.bytes.len();
                let want = self.min_bytes.max(1 << 16);
                self.pending.bytes.reserve(want);
                let read = (&mut self.input)
                    .take(want as u64)
                    .read_to_end(&mut self.pending.bytes)
                    .map_err(|source| Error::Read {
                        name: self.name.clone(),
                        source,
                    })?;
                if read > 0 {
                    self.pending.absorb_appended(from);
                }
                read
            } else {
                let available = crate::ndjson::fill(&mut self.input, &self.name)?;
                let len = available.len();
                if len > 0 {
                    self.pending.absorb(available);
                    self.input.consume(len);
                }
                len
            };
            if len == 0 {
                self.done = true;
                continue;
            }
            if self.pending.complete > 0 && self.pending.complete >= self.min_bytes {
                let (bytes, lines) = self.pending.take_complete(self.min_bytes.max(len));
                let chunk = Chunk {
                    lines_before: self.lines,
                    bytes,
                };
                self.lines += lines;
                return Ok(Some(chunk));
            }
        }
    }
}

/// Runs `work` over every chunk of `chunker` on `threads` worker threads and feeds the results to
/// `sink` in input order, on the calling thread. Stops at the first error of `sink` or of the
/// input and returns it, without waiting for more input: the reading thread is left to end
/// when its input does (or with the process).
pub fn map_ordered<R, O, W, S, E>(
    mut chunker: Chunker<R>,
    threads: usize,
    work: W,
    mut sink: S,
) -> Result<(), E>
where
    R: BufRead + Send + 'static,
    O: Send,
    W: Fn(&Chunk) -> O + Sync,
    S: FnMut(O) -> Result<(), E>,
    E: From<Error> + Send,
{
    if threads <= 1 {
        while let Some(chunk) = chunker.next_chunk()? {
            sink(work(&chunk))?;
        }
        return Ok(());
    }
    // At most `window` chunks are read and not yet delivered: memory stays bounded even when one
    // chunk is slow and the others pile up behind it.
    let window = threads * 8;
    let (credit_tx, credit_rx) = sync_channel::<()>(window);
    for _ in 0..window {
        let _ = credit_tx.send(());
    }
    let (chunk_tx, chunk_rx) = sync_channel::<(u64, Chunk)>(window);
    let reader = std::thread::Builder::new()
        .name("ndjson-reader".into())
        .spawn(move || read_chunks(&mut chunker, &credit_rx, &chunk_tx))
        .map_err(|source| {
            E::from(Error::Read {
                name: "<thread>".into(),
                source,
            })
        })?;
    let stop = AtomicBool::new(false);
    let chunk_rx = Mutex::new(chunk_rx);
    let delivered = std::thread::scope(|scope| {
        let (out_tx, out_rx) = sync_channel::<(u64, O)>(window);
        for _ in 0..threads {
            let tx = out_tx.clone();
            let (work, stop, rx) = (&work, &stop, &chunk_rx);
            scope.spawn(move || worker(rx, &tx, work, stop));
        }
        drop(out_tx);
        let result = deliver_in_order(&out_rx, &mut sink, &credit_tx);
        if result.is_err() {
            stop.store(true, Ordering::SeqCst);
        }
        drop(out_rx);
        result
    });
    delivered?;
    // Every chunk was delivered, so the reader has ended: collect its verdict.
    match reader.join() {
        Ok(r) => r.map_err(E::from),
        Err(_) => Err(E::from(Error::Read {
            name: "<thread>".into(),
            source: io::Error::other("reader thread panicked"),
        })),
    }
}

fn read_chunks<R: BufRead>(
    chunker: &mut Chunker<R>,
    credits: &Receiver<()>,
    tx: &SyncSender<(u64, Chunk)>,
) -> Result<(), Error> {
    let mut seq = 0;
    loop {
        if credits.recv().is_err() {
            return Ok(()); // the consumer stopped early
        }
        let Some(chunk) = chunker.next_chunk()? else {
            return Ok(());
        };
        if tx.send((seq, chunk)).is_err() {
            return Ok(());
        }
        seq += 1;
    }
}

fn worker<O, W: Fn(&Chunk) -> O>(
    rx: &Mutex<Receiver<(u64, Chunk)>>,
    tx: &SyncSender<(u64, O)>,
    work: &W,
    stop: &AtomicBool,
) {
    loop {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let next = match rx.lock() {
            // A timeout, so that a stop is seen even while the reader waits for a slow input.
            Ok(guard) => guard.recv_timeout(Duration::from_millis(50)),
            Err(_) => return,
        };
        match next {
            Ok((seq, chunk)) => {
                if tx.send((seq, work(&chunk))).is_err() {
                    return;
                }
            }
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn deliver_in_order<O, S, E>(
    rx: &Receiver<(u64, O)>,
    sink: &mut S,
    credits: &SyncSender<()>,
) -> Result<(), E>
where
    S: FnMut(O) -> Result<(), E>,
{
    let mut next = 0u64;
    let mut waiting: BTreeMap<u64, O> = BTreeMap::new();
    for (seq, out) in rx.iter() {
        waiting.insert(seq, out);
        while let Some(out) = waiting.remove(&next) {
            sink(out)?;
            next += 1;
            let _ = credits.try_send(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndjson::ReadError;
    use crate::records::Bar;

    #[test]
    fn lines_of_a_checked_chunk_are_text_without_another_check() {
        let chunk = Chunk {
            lines_before: 0,
            bytes: "\u{feff}{\"a\":1}\r\n\n  {\"é\":2}\n{\"b\":3}"
                .as_bytes()
                .to_vec(),
        };
        let text = chunk.text().expect("UTF-8");
        let mut reader = chunk.reader("t", 100);
        let mut lines = Vec::new();
        while let Some(line) = reader.next_line() {
            let line = line.unwrap();
            // The last line, without a newline, is copied by the reader: not a slice.
            let got = line_text(text, line);
            if let Some(got) = got {
                assert_eq!(got.as_bytes(), line);
            }
            lines.push(got.map(str::to_string));
        }
        assert_eq!(
            lines,
            [Some("{\"a\":1}".into()), Some("  {\"é\":2}".into()), None]
        );
        // Bytes that are not part of the chunk are not looked up in it.
        assert_eq!(line_text(text, b"{\"a\":1}"), None);
        let elsewhere = text.as_bytes().to_vec();
        assert_eq!(line_text(text, &elsewhere[3..9]), None);
        // A chunk with a byte that is not UTF-8 has no text: its lines are checked one by one.
        let bad = Chunk {
            lines_before: 0,
            bytes: b"{\"a\":1}\n{\"b\":\"\xff\"}\n".to_vec(),
        };
        assert!(bad.text().is_none());
    }

    fn chunks(text: &[u8], max_line: usize) -> Vec<Chunk> {
        let mut c = Chunker::new(std::io::BufReader::with_capacity(4, text), "t", max_line);
        let mut out = Vec::new();
        while let Some(ch) = c.next_chunk().unwrap() {
            out.push(ch);
        }
        out
    }

    /// What chunking must produce: every line cut to `max_line + 1` bytes, nothing else changed.
    fn cut_lines(text: &[u8], max_line: usize) -> Vec<u8> {
        let parts: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
        let mut out = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            out.extend_from_slice(&part[..part.len().min(max_line + 1)]);
            if i + 1 < parts.len() {
                out.push(b'\n');
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn any_block_sizes_give_the_same_lines(
            text in proptest::collection::vec(proptest::sample::select(vec![b'a', b'b', b'\n']), 0..400),
            max_line in 1usize..40,
            capacity in 1usize..64,
            min_bytes in 1usize..100,
        ) {
            let mut c = Chunker::new(std::io::BufReader::with_capacity(capacity, &text[..]), "t", max_line)
                .with_min_bytes(min_bytes);
            let mut joined = Vec::new();
            let mut lines = 0u64;
            while let Some(ch) = c.next_chunk().unwrap() {
                proptest::prop_assert_eq!(ch.lines_before, lines);
                lines += ch.bytes.iter().filter(|&&b| b == b'\n').count() as u64;
                joined.extend_from_slice(&ch.bytes);
            }
            proptest::prop_assert_eq!(joined, cut_lines(&text, max_line));
        }
    }

    #[test]
    fn chunks_hold_whole_lines_and_count_them() {
        let text = b"a\nbb\n\nccc\ndddd";
        let cs = chunks(text, 100);
        let joined: Vec<u8> = cs.iter().flat_map(|c| c.bytes.clone()).collect();
        assert_eq!(joined, b"a\nbb\n\nccc\ndddd".to_vec());
        for c in &cs[..cs.len() - 1] {
            assert_eq!(c.bytes.last(), Some(&b'\n'));
        }
        assert_eq!(cs[0].lines_before, 0);
        assert_eq!(cs[0].bytes, b"a\n");
        assert_eq!(cs[1].lines_before, 1);
        let last = cs.last().unwrap();
        assert_eq!(last.bytes, b"dddd");
        assert_eq!(last.lines_before, 4);
    }

    #[test]
    fn endless_lines_are_cut() {
        let mut text = vec![b'x'; 10_000];
        text.extend_from_slice(b"\nok\n");
        let cs = chunks(&text, 100);
        let joined: Vec<u8> = cs.iter().flat_map(|c| c.bytes.clone()).collect();
        assert_eq!(joined.len(), 101 + 1 + 3);
        let mut r = cs[0].reader("t", 100);
        assert!(matches!(r.next_line(), Some(Err(ReadError::Bad(_)))));
    }

    const LINE: &str = r#"{"symbol":"AAPL","date":"2024-01-02","open":1.5,"provider":"yahoo"}"#;

    fn run(text: &str, threads: usize) -> Result<Vec<String>, Error> {
        let chunker = Chunker::new(
            std::io::BufReader::with_capacity(256, std::io::Cursor::new(text.as_bytes().to_vec())),
            "in.ndjson",
            1 << 20,
        );
        let mut out = Vec::new();
        map_ordered(
            chunker,
            threads,
            |chunk| {
                let mut r = chunk.reader("in.ndjson", 1 << 20);
                let mut res = Vec::new();
                while let Some(item) = r.next_record::<Bar>() {
                    res.push(
                        item.map(|b| format!("{}:{}", r.line_number(), b.date))
                            .map_err(|e| match e {
                                ReadError::Bad(b) => Error::Record(b.error),
                                ReadError::Io(e) => e,
                            }),
                    );
                }
                res
            },
            |res: Vec<Result<String, Error>>| {
                for r in res {
                    out.push(r?);
                }
                Ok::<(), Error>(())
            },
        )?;
        Ok(out)
    }

    #[test]
    fn results_come_back_in_order_with_true_line_numbers() {
        let text: String = (0..500)
            .map(|i| {
                format!(
                    "{}\n",
                    LINE.replace("01-02", &format!("{:02}-{:02}", i % 12 + 1, i % 28 + 1))
                )
            })
            .collect();
        let seq = run(&text, 1).unwrap();
        let par = run(&text, 4).unwrap();
        assert_eq!(seq, par);
        assert_eq!(par.len(), 500);
        assert!(par[0].starts_with("1:"));
        assert!(par[499].starts_with("500:"));
    }

    #[test]
    fn the_first_error_in_input_order_wins() {
        let mut lines: Vec<String> = (0..300).map(|_| LINE.to_string()).collect();
        lines[150] = "{bad".into();
        lines[250] = "{worse".into();
        let text = lines.join("\n");
        for threads in [1, 2, 4] {
            let err = run(&text, threads).unwrap_err().to_string();
            assert!(
                err.starts_with("in.ndjson:151: invalid JSON"),
                "{threads}: {err}"
            );
        }
    }
}
