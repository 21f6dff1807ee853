//! Both cores on one NDJSON stream: the input is cut into chunks of whole lines, the chunks are
//! processed on worker threads, and the results come back **in input order**, so output,
//! rejects and the first error are exactly what a sequential run gives. Memory is bounded: at
//! most a few chunks per worker are in flight.
//!
//! Each chunk is processed with an ordinary [`NdjsonReader`] that knows the chunk's first line
//! number, so every message still says `file:line`.

use std::collections::BTreeMap;
use std::io::{self, BufRead};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use crate::error::Error;
use crate::ndjson::NdjsonReader;

/// Default chunk size: big enough to amortise the hand-offs, small enough to keep memory low.
pub const DEFAULT_CHUNK_BYTES: usize = 1 << 20;

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

/// Cuts an input into [`Chunk`]s of about `chunk_bytes`, always at a line end. A line longer
/// than `max_line` is cut to `max_line + 1` bytes (the reader then reports it as too long) and the
/// rest of it skipped, so one endless line cannot take all memory.
pub struct Chunker<R> {
    input: R,
    name: String,
    chunk_bytes: usize,
    max_line: usize,
    lines: u64,
    done: bool,
}

impl<R: BufRead> Chunker<R> {
    pub fn new(
        input: R,
        name: impl Into<String>,
        chunk_bytes: usize,
        max_line: usize,
    ) -> Chunker<R> {
        Chunker {
            input,
            name: name.into(),
            chunk_bytes: chunk_bytes.max(1),
            max_line: max_line.max(1),
            lines: 0,
            done: false,
        }
    }

    /// The next chunk, `None` at the end of the input.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, Error> {
        if self.done {
            return Ok(None);
        }
        let mut bytes = Vec::with_capacity(self.chunk_bytes + 4096);
        let lines_before = self.lines;
        let mut line_len = 0usize; // bytes of the current (unfinished) line kept so far
        let mut skipping = false; // inside an over-long line: drop bytes until its newline
        loop {
            let available = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(Error::Read {
                        name: self.name.clone(),
                        source,
                    });
                }
            };
            if available.is_empty() {
                self.done = true;
                if line_len > 0 || skipping {
                    self.lines += 1;
                }
                break;
            }
            let mut used = 0;
            let mut stop = false;
            while used < available.len() {
                let rest = &available[used..];
                match rest.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        let keep = if skipping {
                            0
                        } else {
                            i.min((self.max_line + 1).saturating_sub(line_len))
                        };
                        bytes.extend_from_slice(&rest[..keep]);
                        bytes.push(b'\n');
                        used += i + 1;
                        self.lines += 1;
                        line_len = 0;
                        skipping = false;
                        if bytes.len() >= self.chunk_bytes {
                            stop = true;
                            break;
                        }
                    }
                    None => {
                        if !skipping {
                            let keep = rest.len().min((self.max_line + 1).saturating_sub(line_len));
                            bytes.extend_from_slice(&rest[..keep]);
                            line_len += keep;
                            if line_len > self.max_line {
                                skipping = true;
                            }
                        }
                        used = available.len();
                    }
                }
            }
            self.input.consume(used);
            if stop {
                break;
            }
        }
        if bytes.is_empty() && self.done {
            return Ok(None);
        }
        Ok(Some(Chunk {
            lines_before,
            bytes,
        }))
    }
}

/// Runs `work` over every chunk of `chunker` on `threads` worker threads and feeds the results to
/// `sink` in input order, on the calling thread. Stops at the first error of `sink` (or of the
/// input) and returns it; the workers are then shut down.
pub fn map_ordered<R, O, W, S, E>(
    mut chunker: Chunker<R>,
    threads: usize,
    work: W,
    mut sink: S,
) -> Result<(), E>
where
    R: BufRead + Send,
    O: Send,
    W: Fn(&Chunk) -> O + Sync,
    S: FnMut(O) -> Result<(), E>,
    E: From<Error> + Send,
{
    let threads = threads.max(1);
    if threads == 1 {
        while let Some(chunk) = chunker.next_chunk()? {
            sink(work(&chunk))?;
        }
        return Ok(());
    }
    std::thread::scope(|scope| {
        // Bounded queues: the reader runs at most 2 chunks per worker ahead of the sink.
        let (chunk_tx, chunk_rx) = sync_channel::<(u64, Chunk)>(threads * 2);
        let (out_tx, out_rx) = sync_channel::<(u64, O)>(threads * 2);
        let chunk_rx = Arc::new(Mutex::new(chunk_rx));
        let reader = scope.spawn(move || read_chunks(&mut chunker, chunk_tx));
        for _ in 0..threads {
            let rx = Arc::clone(&chunk_rx);
            let tx = out_tx.clone();
            let work = &work;
            scope.spawn(move || worker(&rx, &tx, work));
        }
        // Only the workers may hold these now, so that they going away stops the reader.
        drop(chunk_rx);
        drop(out_tx);
        let result = deliver_in_order(&out_rx, &mut sink);
        // On an early stop, dropping the receiver makes the workers and the reader stop too.
        drop(out_rx);
        let read_result = reader.join().unwrap_or(Ok(()));
        result?;
        read_result.map_err(E::from)
    })
}

fn read_chunks<R: BufRead>(
    chunker: &mut Chunker<R>,
    tx: SyncSender<(u64, Chunk)>,
) -> Result<(), Error> {
    let mut seq = 0;
    while let Some(chunk) = chunker.next_chunk()? {
        if tx.send((seq, chunk)).is_err() {
            return Ok(()); // the consumer stopped early
        }
        seq += 1;
    }
    Ok(())
}

fn worker<O, W: Fn(&Chunk) -> O>(
    rx: &Mutex<Receiver<(u64, Chunk)>>,
    tx: &SyncSender<(u64, O)>,
    work: &W,
) {
    loop {
        let next = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok((seq, chunk)) = next else { return };
        if tx.send((seq, work(&chunk))).is_err() {
            return;
        }
    }
}

fn deliver_in_order<O, S, E>(rx: &Receiver<(u64, O)>, sink: &mut S) -> Result<(), E>
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
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ndjson::ReadError;
    use crate::records::Bar;

    fn chunks(text: &[u8], size: usize, max_line: usize) -> Vec<Chunk> {
        let mut c = Chunker::new(text, "t", size, max_line);
        let mut out = Vec::new();
        while let Some(ch) = c.next_chunk().unwrap() {
            out.push(ch);
        }
        out
    }

    #[test]
    fn chunks_hold_whole_lines_and_count_them() {
        let text = b"a\nbb\n\nccc\ndddd";
        let cs = chunks(text, 3, 100);
        let joined: Vec<u8> = cs.iter().flat_map(|c| c.bytes.clone()).collect();
        assert_eq!(joined, b"a\nbb\n\nccc\ndddd".to_vec());
        for c in &cs[..cs.len() - 1] {
            assert_eq!(c.bytes.last(), Some(&b'\n'));
        }
        assert_eq!(cs[0].lines_before, 0);
        assert_eq!(cs[1].lines_before, 2);
    }

    #[test]
    fn endless_lines_are_cut() {
        let mut text = vec![b'x'; 10_000];
        text.extend_from_slice(b"\nok\n");
        let cs = chunks(&text, 64, 100);
        let joined: Vec<u8> = cs.iter().flat_map(|c| c.bytes.clone()).collect();
        assert_eq!(joined.len(), 101 + 1 + 3);
        let mut r = cs[0].reader("t", 100);
        assert!(matches!(r.next_line(), Some(Err(ReadError::Bad(_)))));
    }

    const LINE: &str = r#"{"symbol":"AAPL","date":"2024-01-02","open":1.5,"provider":"yahoo"}"#;

    fn run(text: &str, threads: usize) -> Result<Vec<String>, Error> {
        let chunker = Chunker::new(text.as_bytes(), "in.ndjson", 100, 1 << 20);
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
