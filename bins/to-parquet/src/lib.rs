//! `to-parquet`: records → one Parquet file or a Hive-partitioned lake with atomic upserts, and
//! `--cat` back out as NDJSON. The lake logic lives in the `lake` crate, shared with the programs
//! that read the lake.

pub mod cli;
mod input;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use lake::file::FileWriter;
use lake::records::{Columnar, RowBatchBuilder};
use lake::{
    BarBatchBuilder, LakeError, LakeWriter, Layout, PartitionKey, PriceType, Rounded, ScanFilter,
    WriteOptions,
};
use serde::Serialize;
use tickerlake::config::Config;
use tickerlake::io::{Output, input_paths};
use tickerlake::ndjson::{NdjsonWriter, ReadError, Rejects};
use tickerlake::parallel::{Chunk, Chunker, map_ordered};
use tickerlake::records::{Action, Bar, BarRef, FetchError, Finding, Kind, Ticker};
use tickerlake::{ExitCode, HasExitCode, Symbol};

use crate::cli::{Cli, InputFormat};
use crate::input::{BarSource, CsvFill};

/// Everything that ends a run early.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Lib(#[from] tickerlake::Error),
    #[error("{0}")]
    Lake(#[from] LakeError),
    #[error("{input}:{line}: {message}")]
    BadRow {
        input: String,
        line: u64,
        message: String,
    },
    #[error("{count} price(s) have more than 6 decimals (--strict), e.g. {examples}")]
    Strict { count: u64, examples: String },
    #[error("{0}")]
    Usage(String),
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Lib(e) => e.exit_code(),
            Error::Lake(e) => e.exit_code(),
            Error::BadRow { .. } | Error::Strict { .. } => ExitCode::DataErr,
            Error::Usage(_) => ExitCode::Usage,
        }
    }
}

/// The run's options, free of clap types.
#[derive(Debug, Clone)]
pub struct Options {
    pub kind: Kind,
    pub inputs: Vec<PathBuf>,
    pub format: InputFormat,
    /// CSV: columns a provider's download leaves out.
    pub csv_fill: CsvFill,
    pub target: Target,
    pub prices: PriceType,
    pub write: WriteOptions,
    pub strict: bool,
    pub rejects: Option<PathBuf>,
    pub max_memory: u64,
    pub summary: Option<PathBuf>,
    pub verbose_summary: bool,
}

#[derive(Debug, Clone)]
pub enum Target {
    File(PathBuf),
    Lake(PathBuf, Layout),
    CatFiles(Vec<PathBuf>, ScanFilter),
    CatLake(PathBuf, ScanFilter),
}

/// The summary at the end of a write.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Summary {
    pub rows_in: u64,
    pub rows_rejected: u64,
    pub rows_written: u64,
    pub partitions_touched: u64,
    pub partitions_created: u64,
    pub partitions_unchanged: u64,
    pub prices_rounded: u64,
    /// Lake upserts: rows whose newer version had nulls where the lake had values (kept).
    pub nulls_kept: u64,
    pub bytes: u64,
    pub seconds: f64,
}

pub fn options(cli: &Cli, config: &Config) -> Result<Options, Error> {
    let prices = cli.price_type.unwrap_or(config.lake.price_type);
    let write = WriteOptions {
        zstd_level: cli.zstd_level.unwrap_or(config.lake.zstd_level),
        row_group_rows: cli
            .row_group_rows
            .map_or(config.lake.row_group_rows, |n| n as usize),
    };
    let layout = cli.partition_by;
    let target = if cli.cat {
        let mut filter = ScanFilter {
            symbols: tickerlake::symbol::parse_list(&cli.symbols).map_err(Error::Usage)?,
            ..ScanFilter::default()
        };
        let date = |flag: &str, v: &Option<String>| -> Result<Option<chrono::NaiveDate>, Error> {
            v.as_deref()
                .map(|t| {
                    tickerlake::records::date_format::parse(t)
                        .map_err(|e| Error::Usage(format!("{flag}: {e}")))
                })
                .transpose()
        };
        filter.from = date("--from", &cli.from)?;
        filter.to = date("--to", &cli.to)?;
        match (&cli.lake, cli.inputs.is_empty()) {
            (Some(dir), true) => Target::CatLake(dir.clone(), filter),
            (None, false) => Target::CatFiles(cli.inputs.clone(), filter),
            _ => {
                return Err(Error::Usage(
                    "--cat reads either --lake DIR or Parquet files, not both and not neither"
                        .into(),
                ));
            }
        }
    } else {
        match (&cli.output, &cli.lake) {
            (Some(f), None) => Target::File(f.clone()),
            (None, Some(d)) => Target::Lake(d.clone(), layout),
            _ => {
                return Err(Error::Usage(
                    "give -o FILE (one file) or --lake DIR (the lake)".into(),
                ));
            }
        }
    };
    if let (Some(r), Target::File(f)) = (&cli.rejects, &target)
        && tickerlake::io::same_destination(Some(r), Some(f))
    {
        return Err(Error::Usage(
            "--rejects and -o must be different files".into(),
        ));
    }
    let output = match &target {
        Target::File(f) => Some(f.as_path()),
        _ => None,
    };
    let mut protected = cli.inputs.clone();
    protected.extend(cli.lake.iter().cloned());
    tickerlake::io::refuse_outputs_over_inputs(
        &[
            ("--rejects", cli.rejects.as_deref()),
            ("-o", output),
            ("--summary", cli.summary.as_deref()),
        ],
        &protected,
    )?;
    let kind = cli.kind;
    if kind != Kind::Bars {
        if matches!(target, Target::Lake(..) | Target::CatLake(..)) {
            return Err(Error::Usage(format!(
                "--lake holds bars; write {} with -o FILE",
                kind.name()
            )));
        }
        if cli.input_format == InputFormat::Csv {
            return Err(Error::Usage(format!(
                "CSV input is for bars; give {} as NDJSON",
                kind.name()
            )));
        }
    }
    if (cli.symbol.is_some() || cli.provider.is_some()) && cli.input_format != InputFormat::Csv {
        return Err(Error::Usage(
            "--symbol and --provider fill in a CSV's missing columns: they go with \
             --input-format csv"
                .into(),
        ));
    }
    if let Some(s) = &cli.symbol {
        tickerlake::Symbol::parse(s).map_err(|e| Error::Usage(format!("--symbol: {e}")))?;
    }
    Ok(Options {
        kind,
        inputs: cli.inputs.clone(),
        format: cli.input_format,
        csv_fill: CsvFill {
            symbol: cli.symbol.clone(),
            provider: cli.provider.clone(),
        },
        target,
        prices,
        write,
        strict: cli.strict,
        rejects: cli.rejects.clone(),
        max_memory: cli.max_memory,
        summary: cli.summary.clone(),
        verbose_summary: cli.common.verbose > 0,
    })
}

pub fn run(cli: Cli, config: Config) -> Result<ExitCode, Error> {
    let opts = options(&cli, &config)?;
    if !matches!(opts.target, Target::CatFiles(..) | Target::CatLake(..)) {
        tickerlake::io::hint_if_stdin_is_tty("to-parquet", &opts.inputs, cli.common.quiet);
    }
    execute(&opts)
}

/// Runs with parsed options.
pub fn execute(opts: &Options) -> Result<ExitCode, Error> {
    let started = Instant::now();
    let (mut summary, rejected) = match &opts.target {
        Target::CatLake(dir, filter) => return cat_lake(dir, filter),
        Target::CatFiles(files, filter) => {
            return match opts.kind {
                Kind::Bars => cat_files(files, filter),
                Kind::Actions => cat_rows::<Action>(files),
                Kind::Tickers => cat_rows::<Ticker>(files),
                Kind::Findings => cat_rows::<Finding>(files),
                Kind::Errors => cat_rows::<FetchError>(files),
            };
        }
        Target::File(path) => match opts.kind {
            Kind::Bars => write_file(opts, path)?,
            Kind::Actions => write_rows::<Action>(opts, path)?,
            Kind::Tickers => write_rows::<Ticker>(opts, path)?,
            Kind::Findings => write_rows::<Finding>(opts, path)?,
            Kind::Errors => write_rows::<FetchError>(opts, path)?,
        },
        Target::Lake(dir, layout) => write_lake(opts, dir, *layout)?,
    };
    summary.seconds = started.elapsed().as_secs_f64();
    report(opts, &summary)?;
    Ok(if rejected > 0 {
        ExitCode::Findings
    } else {
        ExitCode::Success
    })
}

fn report(opts: &Options, s: &Summary) -> Result<(), Error> {
    let text = format!(
        "to-parquet: {} rows in, {} rejected, {} rows written, {} partitions touched ({} created, {} unchanged), {} prices rounded, {} rows kept stored values over nulls, {} bytes, {:.2} s",
        s.rows_in,
        s.rows_rejected,
        s.rows_written,
        s.partitions_touched,
        s.partitions_created,
        s.partitions_unchanged,
        s.prices_rounded,
        s.nulls_kept,
        s.bytes,
        s.seconds
    );
    tickerlake::cli::print_summary(&text, s, opts.verbose_summary);
    if let Some(path) = &opts.summary {
        tickerlake::cli::write_summary(path, s)?;
    }
    Ok(())
}

fn warn_rounded(count: u64, examples: &[Rounded], strict: bool) -> Result<(), Error> {
    if count == 0 {
        return Ok(());
    }
    let shown: Vec<String> = examples
        .iter()
        .map(|r| format!("{} {} {}={}", r.symbol, r.date, r.column, r.value))
        .collect();
    let shown = shown.join(", ");
    if strict {
        return Err(Error::Strict {
            count,
            examples: shown,
        });
    }
    tracing::warn!(
        count,
        "prices with more than 6 decimals rounded half-to-even to decimal(18,6), e.g. {shown}"
    );
    Ok(())
}

/// Bars → one Parquet file, streamed in row groups; the file appears only if the whole input
/// was good.
fn write_file(opts: &Options, path: &Path) -> Result<(Summary, u64), Error> {
    let mut rejects = Rejects::to_path(opts.rejects.as_deref())?;
    let out = ParquetOut::open(path)?;
    let mut builder = BarBatchBuilder::new(opts.prices, true);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Row groups are encoded and compressed on all cores while the next ones are parsed.
    let mut writer = FileWriter::parallel(out, builder.schema(), opts.write, threads)?;
    let mut summary = Summary::default();
    let (mut rounded, mut examples) = (0u64, Vec::new());
    match opts.format {
        // NDJSON: parsed and built into column batches on all cores.
        InputFormat::Ndjson => {
            for input_path in input_paths(&opts.inputs) {
                let input = tickerlake::io::Input::open(&input_path)?;
                let name = input.name.clone();
                // 1 MiB chunks, read straight into their buffers: a chunk becomes one batch.
                let chunker = Chunker::new(
                    input.reader,
                    name.clone(),
                    tickerlake::ndjson::DEFAULT_MAX_LINE,
                )
                .with_min_bytes(CHUNK_BYTES);
                let build = |chunk: &Chunk| build_chunk(chunk, &name, opts.prices);
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
    let rejected = rejects.finish()?;
    let out = writer.finish()?;
    out.finish(path)?;
    summary.bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    summary.partitions_touched = 1;
    Ok((summary, rejected))
}

/// Input block size when one chunk becomes one column batch.
const CHUNK_BYTES: usize = 1 << 20;

/// A chunk of NDJSON bars built into one column batch by a worker thread.
struct BuiltChunk {
    batch: arrow_array::RecordBatch,
    rounded: u64,
    examples: Vec<Rounded>,
    /// Bad lines with their line numbers, in order.
    bad: Vec<(u64, ReadError)>,
    /// The first price that does not fit decimal(18,6): its line and message.
    out_of_range: Option<(u64, String)>,
}

fn build_chunk(chunk: &Chunk, name: &str, prices: PriceType) -> Result<BuiltChunk, Error> {
    let mut reader = chunk.reader(name, tickerlake::ndjson::DEFAULT_MAX_LINE);
    // Bars take 150-250 bytes a line: room for all of them, so no column grows while built.
    let mut builder = BarBatchBuilder::with_capacity(prices, true, chunk.bytes.len() / 128 + 16);
    let mut bad = Vec::new();
    let mut out_of_range = None;
    let text = chunk.text();
    while let Some(line) = reader.next_line() {
        let pushed = match line {
            // The common spelling goes straight from the line into the columns; anything else
            // through the strict decoder, which also words the errors.
            Ok(bytes) => match decode_fast(text, bytes).filter(|b| b.validate().is_ok()) {
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
                LakeError::OutOfRange { .. } => {
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
fn write_rows<T: Columnar>(opts: &Options, path: &Path) -> Result<(Summary, u64), Error> {
    let mut rejects = Rejects::to_path(opts.rejects.as_deref())?;
    let out = ParquetOut::open(path)?;
    let mut builder = RowBatchBuilder::new(opts.kind, opts.prices);
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

fn cat_rows<T: Columnar>(files: &[PathBuf]) -> Result<ExitCode, Error> {
    let out = Output::stdout();
    let name = out.name();
    let mut writer = NdjsonWriter::new(out, name);
    for path in files {
        if !path.is_file() {
            return Err(Error::Lib(tickerlake::Error::Open {
                path: path.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such Parquet file"),
            }));
        }
        for batch in lake::file::read_batches(path)? {
            let mut rows: Vec<T> = Vec::new();
            lake::records::records_from_batch(&batch, &mut rows).map_err(|e| e.in_file(path))?;
            for r in &rows {
                writer.write(r)?;
            }
        }
    }
    writer.into_inner()?.finish()?;
    Ok(ExitCode::Success)
}

fn push(builder: &mut BarBatchBuilder, bar: &Bar, input: &str, line: u64) -> Result<(), Error> {
    builder.push(bar).map_err(|e| match e {
        LakeError::OutOfRange { .. } => Error::BadRow {
            input: input.to_string(),
            line,
            message: e.to_string(),
        },
        other => Error::Lake(other),
    })
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

/// Rows waiting for their partition, with a rough size.
struct Pending {
    rows: BTreeMap<PartitionKey, Vec<Bar>>,
    /// The partition the latest rows went to, not yet in `rows`: input runs partition by
    /// partition, so most rows join it without a key to build or a map to search.
    run: Option<(PartitionKey, Vec<Bar>)>,
    bytes: u64,
}

impl Pending {
    fn push(&mut self, layout: Layout, bar: Bar) {
        self.bytes += BAR_BYTES;
        if let Some((key, rows)) = &mut self.run
            && key.holds(&bar)
        {
            rows.push(bar);
            return;
        }
        self.end_run();
        let key = PartitionKey::of(layout, &bar);
        // A symbol's year is at most ~260 bars: one allocation instead of nine doublings.
        let mut rows = Vec::with_capacity(RUN_CAPACITY);
        rows.push(bar);
        self.run = Some((key, rows));
    }

    fn end_run(&mut self) {
        use std::collections::btree_map::Entry;
        if let Some((key, mut rows)) = self.run.take() {
            match self.rows.entry(key) {
                Entry::Vacant(v) => {
                    v.insert(rows);
                }
                Entry::Occupied(o) => o.into_mut().append(&mut rows),
            }
        }
    }

    /// Every pending partition with its rows.
    fn take(&mut self) -> Vec<(PartitionKey, Vec<Bar>)> {
        self.end_run();
        self.bytes = 0;
        std::mem::take(&mut self.rows).into_iter().collect()
    }
}

/// Rows a new run of a partition has room for.
const RUN_CAPACITY: usize = 264;

/// Estimated heap and inline size of a bar in memory.
const BAR_BYTES: u64 = 256;

/// Bars → the lake. Input grouped by symbol (as `ohlcv-fetch` writes it) is written symbol by
/// symbol in one pass; any other order is buffered up to `--max-memory` and flushed into staged
/// partitions, which later flushes merge with. Nothing replaces a lake file before the whole
/// input has been read and found good.
fn write_lake(opts: &Options, dir: &Path, layout: Layout) -> Result<(Summary, u64), Error> {
    let mut rejects = Rejects::to_path(opts.rejects.as_deref())?;
    let mut writer = LakeWriter::new(dir, layout, opts.prices, opts.write)?;
    let mut pending = Pending {
        rows: BTreeMap::new(),
        run: None,
        bytes: 0,
    };
    let mut summary = Summary::default();
    let mut current: Option<Symbol> = None;
    let mut seen: std::collections::HashSet<Symbol> = std::collections::HashSet::new();
    let mut grouped = true;
    let (mut rounded, mut rounded_examples) = (0u64, Vec::new());
    for_each_bar(opts, &mut rejects, |bar, input, line| {
        summary.rows_in += 1;
        // Check every input price here, with its line: one that does not fit decimal(18,6) is
        // bad input; one with more than 6 decimals is counted (on the input, not on what
        // survives deduplication) and, under --strict, refused.
        if opts.prices == PriceType::Decimal {
            for (column, v) in [
                ("open", bar.open),
                ("high", bar.high),
                ("low", bar.low),
                ("close", bar.close),
                ("adj_close", bar.adj_close),
                ("vwap", bar.vwap),
            ] {
                let Some(d) = v else { continue };
                match lake::bars::to_units(d) {
                    None => {
                        let e = LakeError::OutOfRange {
                            column,
                            value: d.to_string(),
                        };
                        return Err(Error::BadRow {
                            input: input.to_string(),
                            line,
                            message: e.to_string(),
                        });
                    }
                    Some((_, true)) => {
                        if opts.strict {
                            return Err(Error::BadRow {
                                input: input.to_string(),
                                line,
                                message: format!(
                                    "{column}: {d} has more than 6 decimals (--strict)"
                                ),
                            });
                        }
                        rounded += 1;
                        if rounded_examples.len() < 5 {
                            rounded_examples.push(Rounded {
                                symbol: bar.symbol.to_string(),
                                date: bar.date,
                                column,
                                value: d,
                            });
                        }
                    }
                    Some((_, false)) => {}
                }
            }
        }
        // Grouped input: a symbol's partitions are complete when the next symbol starts, so
        // they are written then and memory holds one symbol. Once a symbol comes back, the
        // input is not grouped: rows then wait until --max-memory is reached.
        if grouped && layout == Layout::SymbolYear && current.as_ref() != Some(&bar.symbol) {
            if seen.contains(&bar.symbol) {
                grouped = false;
                tracing::debug!(symbol = %bar.symbol, "input is not grouped by symbol: buffering up to --max-memory");
            } else {
                if pending.bytes >= GROUPED_FLUSH_BYTES.min(opts.max_memory) {
                    flush(&mut writer, &mut pending)?;
                }
                seen.insert(bar.symbol.clone());
                current = Some(bar.symbol.clone());
            }
        }
        pending.push(layout, bar);
        if pending.bytes >= opts.max_memory {
            flush(&mut writer, &mut pending)?;
        }
        Ok(())
    })?;
    summary.rows_rejected = rejects.count();
    flush(&mut writer, &mut pending)?;
    warn_rounded(rounded, &rounded_examples, false)?;
    // The set-aside lines are safe on disk before any partition is replaced.
    let rejected = rejects.finish()?;
    let written = writer.commit()?;
    summary.rows_written = written.rows_written;
    summary.partitions_touched = written.partitions_touched;
    summary.partitions_created = written.partitions_created;
    summary.partitions_unchanged = written.partitions_unchanged;
    summary.prices_rounded = rounded;
    summary.nulls_kept = written.nulls_kept;
    summary.bytes = written.bytes_written;
    Ok((summary, rejected))
}

/// Calls `each` with every good bar of every input (with its input name and line), in input
/// order. NDJSON is parsed on all cores (`tickerlake::parallel`); bad lines go to `rejects` in
/// order, or end the run at the first one.
fn for_each_bar(
    opts: &Options,
    rejects: &mut Rejects,
    mut each: impl FnMut(Bar, &str, u64) -> Result<(), Error>,
) -> Result<(), Error> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    for path in input_paths(&opts.inputs) {
        match opts.format {
            InputFormat::Csv => {
                let mut source = BarSource::open(&path, opts.format, &opts.csv_fill)?;
                while let Some(bar) = source.next_bar(rejects)? {
                    each(bar, source.name(), source.line())?;
                }
            }
            InputFormat::Ndjson => {
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
            Ok(bytes) => match decode_fast(text, bytes).filter(|b| b.validate().is_ok()) {
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

/// The fast decoder on a line of a chunk whose text (`Chunk::text`) was checked as UTF-8
/// once, or on the line's bytes.
fn decode_fast<'a>(text: Option<&'a str>, line: &'a [u8]) -> Option<BarRef<'a>> {
    match text.and_then(|t| tickerlake::parallel::line_text(t, line)) {
        Some(line) => BarRef::decode_fast_text(line),
        None => BarRef::decode_fast(line),
    }
}

/// Merges and stages every pending partition, on all cores.
fn flush(writer: &mut LakeWriter, pending: &mut Pending) -> Result<(), Error> {
    let jobs = pending.take();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    writer.upsert_many(jobs, threads)?;
    Ok(())
}

/// Grouped input is flushed at a symbol boundary once this much is pending, so that partitions
/// are encoded many at a time (on all cores) while memory stays bounded.
const GROUPED_FLUSH_BYTES: u64 = 16 << 20;

fn cat_lake(dir: &Path, filter: &ScanFilter) -> Result<ExitCode, Error> {
    // A directory that is not a lake is refused before anything is written.
    lake::check_readable(dir)?;
    let out = Output::stdout();
    let name = out.name();
    let mut writer = NdjsonWriter::new(out, name);
    let mut failed: Option<tickerlake::Error> = None;
    lake::scan(dir, filter, |bars| {
        for b in &bars {
            if let Err(e) = writer.write(b) {
                failed = Some(e);
                return Err(LakeError::Internal("output closed"));
            }
        }
        Ok(())
    })
    .map_err(|e| match failed.take() {
        Some(out_err) => Error::Lib(out_err),
        None => Error::Lake(e),
    })?;
    writer.into_inner()?.finish()?;
    Ok(ExitCode::Success)
}

fn cat_files(files: &[PathBuf], filter: &ScanFilter) -> Result<ExitCode, Error> {
    let out = Output::stdout();
    let name = out.name();
    let mut writer = NdjsonWriter::new(out, name);
    for path in files {
        if !path.is_file() {
            return Err(Error::Lib(tickerlake::Error::Open {
                path: path.display().to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such Parquet file"),
            }));
        }
        let mut bars = Vec::new();
        let known = lake::bar_schema(lake::PriceType::Decimal, true);
        for batch in lake::file::read_batches(path)? {
            // A column no bar has would be dropped without a word: refused instead.
            if let Some(extra) = batch
                .schema()
                .fields()
                .iter()
                .find(|f| known.field_with_name(f.name()).is_err())
            {
                return Err(Error::Lake(LakeError::Corrupt(format!(
                    "{}: column {} is not a bar field ({}): --cat would drop it",
                    path.display(),
                    tickerlake::echo::echo(extra.name()),
                    known
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))));
            }
            // A lake partition file has its symbol in the path, not in a column.
            let symbol = path
                .components()
                .filter_map(|c| {
                    c.as_os_str()
                        .to_str()?
                        .strip_prefix("symbol=")
                        .and_then(Symbol::from_file_name)
                })
                .next_back();
            lake::bars_from_batch(&batch, symbol.as_ref(), &mut bars)
                .map_err(|e| e.in_file(path))?;
        }
        for (row, b) in bars.iter().enumerate() {
            // What --cat writes is what every program accepts: a foreign file's bar that breaks
            // the contract is named, not passed on.
            if let Err(e) = tickerlake::Record::validate(b) {
                return Err(Error::Lake(LakeError::Corrupt(format!(
                    "{}: row {}: {}: {}",
                    path.display(),
                    row + 1,
                    e.field,
                    e.expected
                ))));
            }
            if filter.wants(b) {
                writer.write(b)?;
            }
        }
    }
    writer.into_inner()?.finish()?;
    Ok(ExitCode::Success)
}
