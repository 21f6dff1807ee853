//! Both cores on one NDJSON stream: the input is cut into chunks of whole lines, the chunks are
//! processed on worker threads, and the results come back **in input order**, so output,
//! rejects and the first error are exactly what a sequential run gives. Memory is bounded: at
//! most four chunks per worker are read and not yet delivered.
//!
//! Each chunk is processed with an ordinary [`NdjsonReader`] that knows the chunk's first line
//! number, so every message still says `file:line`.

use std::collections::BTreeMap;
use std::io::{self, BufRead};
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
    /// A reader over this chunk whose line numbers are the input's.
    pub fn reader<'a>(&'a self, name: &str, max_line: usize) -> NdjsonReader<&'a [u8]> {
        NdjsonReader::new(&self.bytes[..], name)
            .with_max_line(max_line)
            .starting_after_line(self.lines_before)
    }
}

/// Cuts an input into [`Chunk`]s of whole lines: each block the input delivers (at most the
/// reader's buffer, 64 KiB for [`crate::io::Input`]) becomes a chunk as soon as it holds a
/// complete line, so a slow producer's lines are not held back. A line longer than `max_line` is
/// cut to `max_line + 1` bytes (the reader then reports it as too long) and the rest of it
/// skipped, so one endless line cannot take all memory.
pub struct Chunker<R> {
    input: R,
    name: String,
    max_line: usize,
    /// Complete lines not yet handed out, then possibly the start of an unfinished line.
    pending: Vec<u8>,
    /// Length of the complete lines at the start of `pending`, and how many they are.
    complete: usize,
    complete_lines: u64,
    /// Bytes kept of the unfinished line; inside an over-long line, drop until its newline.
    line_len: usize,
    skipping: bool,
    /// Lines handed out so far.
    lines: u64,
    done: bool,
}

impl<R: BufRead> Chunker<R> {
    pub fn new(input: R, name: impl Into<String>, max_line: usize) -> Chunker<R> {
        Chunker {
            input,
            name: name.into(),
            max_line: max_line.max(1),
            pending: Vec::new(),
            complete: 0,
            complete_lines: 0,
            line_len: 0,
            skipping: false,
            lines: 0,
            done: false,
        }
    }

    /// The next chunk, `None` at the end of the input.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, Error> {
        loop {
            if self.done {
                if self.pending.is_empty() {
                    return Ok(None);
                }
                // The rest, ending with a last line that has no newline.
                let partial = u64::from(self.complete < self.pending.len());
                let chunk = Chunk {
                    lines_before: self.lines,
                    bytes: std::mem::take(&mut self.pending),
                };
                self.lines += self.complete_lines + partial;
                self.complete = 0;
                self.complete_lines = 0;
                return Ok(Some(chunk));
            }
            let available = crate::ndjson::fill(&mut self.input, &self.name)?;
            if available.is_empty() {
                self.done = true;
                continue;
            }
            let len = available.len();
            let cap = self.max_line + 1;
            let mut rest = available;
            while !rest.is_empty() {
                let (part, newline) = match rest.iter().position(|&b| b == b'\n') {
                    Some(i) => (&rest[..i], true),
                    None => (rest, false),
                };
                if !self.skipping {
                    let keep = part.len().min(cap.saturating_sub(self.line_len));
                    self.pending.extend_from_slice(&part[..keep]);
                    self.line_len += keep;
                    self.skipping = self.line_len >= cap;
                }
                if newline {
                    self.pending.push(b'\n');
                    self.complete = self.pending.len();
                    self.complete_lines += 1;
                    self.line_len = 0;
                    self.skipping = false;
                    rest = &rest[part.len() + 1..];
                } else {
                    rest = &[];
                }
            }
            self.input.consume(len);
            if self.complete > 0 {
                let unfinished = self.pending.split_off(self.complete);
                let bytes = std::mem::replace(&mut self.pending, unfinished);
                let chunk = Chunk {
                    lines_before: self.lines,
                    bytes,
                };
                self.lines += self.complete_lines;
                self.complete = 0;
                self.complete_lines = 0;
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
    let window = threads * 4;
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

    fn chunks(text: &[u8], max_line: usize) -> Vec<Chunk> {
        let mut c = Chunker::new(std::io::BufReader::with_capacity(4, text), "t", max_line);
        let mut out = Vec::new();
        while let Some(ch) = c.next_chunk().unwrap() {
            out.push(ch);
        }
        out
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
