//! One Parquet file (`-o FILE`, or `-o -` for stdout), written atomically: bars from NDJSON on
//! all cores (one chunk → one column batch), bars from CSV, and the other record kinds.

use std::path::Path;

use lake::file::FileWriter;
use lake::records::{Columnar, RowBatchBuilder};
use lake::{BarBatchBuilder, ColumnTypes, LakeError, Rounded};
use tickerlake::io::input_paths;
use tickerlake::ndjson::{ReadError, Rejects};
use tickerlake::parallel::{Chunk, map_ordered};
use tickerlake::records::Bar;

use crate::cli::InputFormat;
use crate::input::{for_each_bar, ndjson_chunks};
use crate::{Error, Options, Summary, push, warn_rounded};
use tickerlake::records::BarRef;

/// Bars → one Parquet file, streamed in row groups; the file appears only if the whole input
/// was good.
pub(crate) fn write_file(opts: &Options, path: &Path) -> Result<(Summary, u64), Error> {
    let mut rejects = Rejects::to_path(opts.rejects.as_deref())?;
    let out = ParquetOut::open(path)?;
    let mut builder = BarBatchBuilder::new(opts.types, true);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Row groups are encoded and compressed on all cores while the next ones are parsed.
    let mut writer = FileWriter::parallel(out, builder.schema(), opts.write, threads)?;
    let mut summary = Summary::default();
    let (mut rounded, mut examples) = (0u64, Vec::new());
    match opts.format {
        // NDJSON: parsed and built into column batches on all cores.
        InputFormat::Ndjson => {
            for input_path in input_paths(&opts.inputs) {
                // A chunk becomes one batch.
                let (chunker, name) = ndjson_chunks(&input_path)?;
                let build = |chunk: &Chunk| build_chunk(chunk, &name, opts.types);
                map_ordered(
                    chunker,
                    threads,
                    build,
                    |built: Result<BuiltChunk, Error>| {
                        let built = built?;
                        // In input order: bad lines (to the rejects, or the end of the run) and the
                        // first price that does not fit decimal(18,6), whichever comes first.
                        for (line, e) in built.bad {
                            if let Some((oor_line, msg)) = &built.out_of_range
                                && *oor_line < line
                            {
                                return Err(Error::BadRow {
                                    input: name.clone(),
                                    line: *oor_line,
                                    message: msg.clone(),
                                });
                            }
                            rejects.handle(e)?;
                        }
                        if let Some((line, message)) = built.out_of_range {
                            return Err(Error::BadRow {
                                input: name.clone(),
                                line,
                                message,
                            });
                        }
                        summary.rows_in += built.batch.num_rows() as u64;
                        rounded += built.rounded;
                        examples.extend(built.examples);
                        writer.write(&built.batch)?;
                        Ok::<(), Error>(())
                    },
                )?;
            }
        }
        InputFormat::Csv => {
            let batch_rows = opts.write.row_group_rows.clamp(1, 65_536);
            for_each_bar(opts, &mut rejects, |bar, input, line| {
                summary.rows_in += 1;
                push(&mut builder, &bar, input, line)?;
                if builder.len() >= batch_rows {
                    writer.write(&builder.finish()?)?;
                }
                Ok(())
            })?;
            if !builder.is_empty() {
                writer.write(&builder.finish()?)?;
            }
            rounded = builder.rounded;
            examples = std::mem::take(&mut builder.rounded_examples);
        }
    }
    examples.truncate(5);
    warn_rounded(rounded, &examples, opts.strict)?;
    summary.prices_rounded = rounded;
    finish_file(writer, path, rejects, summary)
}

/// Puts a finished single file in place: the rejects file first (so the set-aside lines are
/// safe on disk before the output appears), then the Parquet footer and the rename.
fn finish_file(
    writer: FileWriter<ParquetOut>,
    path: &Path,
    rejects: Rejects,
    mut summary: Summary,
) -> Result<(Summary, u64), Error> {
    summary.rows_rejected = rejects.count();
    summary.rows_written = writer.rows();
    // An empty input never replaces a file that holds something (a fetch that died before its
    // first bar must not wipe yesterday's file); the temporary file goes with the writer.
    if summary.rows_written == 0 && std::fs::metadata(path).is_ok_and(|m| m.len() > 0) {
        return Err(Error::EmptyInput(format!(
            "{}: the input has no rows: an empty input never replaces a file that holds data \
             (remove the file first to write an empty one)",
            path.display()
        )));
    }
    let rejected = rejects.finish()?;
    let out = writer.finish()?;
    out.finish(path)?;
    summary.bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    summary.partitions_touched = 1;
    Ok((summary, rejected))
}

/// A chunk of NDJSON bars built into one column batch by a worker thread.
struct BuiltChunk {
    batch: arrow_array::RecordBatch,
    rounded: u64,
    examples: Vec<Rounded>,
    /// Bad lines with their line numbers, in order.
    bad: Vec<(u64, ReadError)>,
    /// The first value the file cannot hold (a price beyond decimal(18,6), a fractional volume
    /// in whole shares): its line and message.
    out_of_range: Option<(u64, String)>,
}

fn build_chunk(chunk: &Chunk, name: &str, types: ColumnTypes) -> Result<BuiltChunk, Error> {
    let mut reader = chunk.reader(name, tickerlake::ndjson::DEFAULT_MAX_LINE);
    // Bars take 150-250 bytes a line: room for all of them, so no column grows while built.
    let mut builder = BarBatchBuilder::with_capacity(types, true, chunk.bytes.len() / 128 + 16);
    let mut bad = Vec::new();
    let mut out_of_range = None;
    let text = chunk.text();
    while let Some(line) = reader.next_line() {
        let pushed = match line {
            // The common spelling goes straight from the line into the columns; anything else
            // through the strict decoder, which also words the errors.
            Ok(bytes) => match BarRef::decode_valid(text, bytes) {
                Some(bar) => builder.push_ref(&bar),
                None => {
                    let bytes = bytes.to_vec();
                    match reader.decode_line::<Bar>(&bytes) {
                        Ok(bar) => builder.push(&bar),
                        Err(e) => {
                            bad.push((reader.line_number(), e));
                            continue;
                        }
                    }
                }
            },
            Err(e) => {
                let line = match &e {
                    ReadError::Bad(b) => b.error.line,
                    ReadError::Io(_) => reader.line_number(),
                };
                bad.push((line, e));
                continue;
            }
        };
        if let Err(e) = pushed {
            match e {
                LakeError::OutOfRange { .. }
                | LakeError::FractionalVolume { .. }
                | LakeError::VolumeBeyondFloat { .. } => {
                    out_of_range = Some((reader.line_number(), e.to_string()));
                    break;
                }
                other => return Err(Error::Lake(other)),
            }
        }
    }
    let batch = builder.finish()?;
    Ok(BuiltChunk {
        batch,
        rounded: builder.rounded,
        examples: std::mem::take(&mut builder.rounded_examples),
        bad,
        out_of_range,
    })
}

/// Records of the small kinds → one file.
pub(crate) fn write_rows<T: Columnar>(
    opts: &Options,
    path: &Path,
) -> Result<(Summary, u64), Error> {
    let mut rejects = Rejects::to_path(opts.rejects.as_deref())?;
    let out = ParquetOut::open(path)?;
    let mut builder = RowBatchBuilder::new(opts.kind, opts.types.prices);
    let mut writer = FileWriter::new(out, builder.schema(), opts.write)?;
    let mut summary = Summary::default();
    for input_path in input_paths(&opts.inputs) {
        let input = tickerlake::io::Input::open(&input_path)?;
        let mut reader = tickerlake::ndjson::NdjsonReader::new(input.reader, input.name);
        while let Some(item) = reader.next_record::<T>() {
            match item {
                Ok(record) => {
                    summary.rows_in += 1;
                    builder.push(&record).map_err(|e| match e {
                        LakeError::OutOfRange { .. } => Error::BadRow {
                            input: reader.name().to_string(),
                            line: reader.line_number(),
                            message: e.to_string(),
                        },
                        other => Error::Lake(other),
                    })?;
                    if builder.len() >= 65_536 {
                        writer.write(&builder.finish()?)?;
                    }
                }
                Err(e) => rejects.handle(e)?,
            }
        }
    }
    if !builder.is_empty() {
        writer.write(&builder.finish()?)?;
    }
    if builder.rounded > 0 && opts.strict {
        return Err(Error::Strict {
            count: builder.rounded,
            examples: "see the input".into(),
        });
    }
    if builder.rounded > 0 {
        tracing::warn!(
            count = builder.rounded,
            "amounts or ratios with more than 6 decimals rounded half-to-even to decimal(18,6)"
        );
    }
    summary.prices_rounded = builder.rounded;
    finish_file(writer, path, rejects, summary)
}

/// A single file is flushed to disk in the background after every this many bytes, so that a
/// large file's last fsync does not keep the run waiting on the disk.
const WRITEBACK_BYTES: u64 = 16 << 20;

/// Where a single Parquet file goes: a file replaced atomically, or stdout (`-`). Not the
/// library's [`Output`]: the Parquet writer needs a `Send` writer, and a stdout lock is not one.
enum ParquetOut {
    File(tickerlake::atomic::AtomicFile),
    Stdout(std::io::BufWriter<std::io::Stdout>),
}

impl ParquetOut {
    fn open(path: &Path) -> Result<ParquetOut, Error> {
        if path.as_os_str() == "-" {
            return Ok(ParquetOut::Stdout(std::io::BufWriter::with_capacity(
                1 << 16,
                std::io::stdout(),
            )));
        }
        tickerlake::atomic::AtomicFile::create(path)
            .and_then(|f| f.flush_in_background(WRITEBACK_BYTES))
            .map(ParquetOut::File)
            .map_err(|source| {
                Error::Lib(tickerlake::Error::Create {
                    path: path.display().to_string(),
                    source,
                })
            })
    }

    fn finish(self, path: &Path) -> Result<(), Error> {
        use std::io::Write;
        match self {
            ParquetOut::File(f) => f.commit(),
            ParquetOut::Stdout(mut w) => w.flush(),
        }
        .map_err(|source| {
            Error::Lib(tickerlake::Error::Write {
                name: path.display().to_string(),
                source,
            })
        })
    }
}

impl std::io::Write for ParquetOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            ParquetOut::File(f) => f.write(buf),
            ParquetOut::Stdout(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            ParquetOut::File(f) => f.flush(),
            ParquetOut::Stdout(w) => w.flush(),
        }
    }
}
