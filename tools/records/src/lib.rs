//! `records`: checks NDJSON streams against the tickerlake record contracts, writes them back
//! in canonical form, and prints the JSON Schemas. A developer tool (not installed) that also
//! proves the shared plumbing through a real binary: `file:line: field:` errors, exit 65,
//! `--rejects`, quiet success, and a closed pipe that is not an error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Parser, Subcommand};
use tickerlake::cli::{CommonArgs, Program};
use tickerlake::io::{Input, Output, hint_if_stdin_is_tty, input_paths};
use tickerlake::ndjson::{NdjsonWriter, ReadError, Rejects, encode_line};
use tickerlake::parallel::{Chunk, Chunker, map_ordered};
use tickerlake::progress::Progress;
use tickerlake::records::{Action, Bar, FetchError, Finding, Kind, Record, Ticker};
use tickerlake::{Error, ExitCode};

const EXAMPLES: &str = "\
Examples:
  # Check bars, stop at the first bad line with file:line: field: what was expected (exit 65).
  records check --kind bars bars.ndjson

  # Keep going: bad lines go verbatim to rejects.ndjson, good ones to stdout in canonical form
  # (exit 1 when any line was set aside).
  records check --kind bars --rejects rejects.ndjson part-*.ndjson > clean.ndjson

  # Pass tickers through, keeping keys the contract does not know.
  records check --kind tickers --keep-unknown universe.ndjson | head -1

  # The JSON Schema of a record, or all of them into docs/schemas/.
  records schema --kind bars
  records schema --dir docs/schemas";

/// Check, normalise and describe tickerlake NDJSON records.
#[derive(Debug, Parser)]
#[command(name = "records", version, after_long_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate records and write them back in canonical form (stdout by default)
    Check {
        /// Record kind
        #[arg(long, value_enum, default_value_t = Kind::Bars)]
        kind: Kind,
        /// Input files; none or - reads stdin
        #[arg(value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
        inputs: Vec<PathBuf>,
        /// Write valid records here instead of stdout (atomically)
        #[arg(short, long, value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
        output: Option<PathBuf>,
        /// Set bad lines aside in FILE (verbatim) and go on, instead of stopping at the first
        #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
        rejects: Option<PathBuf>,
        /// Keep keys the contract does not know (pass-through mode) instead of rejecting them
        #[arg(long)]
        keep_unknown: bool,
        /// Longest accepted line in bytes
        #[arg(long, value_name = "BYTES", default_value_t = tickerlake::ndjson::DEFAULT_MAX_LINE)]
        max_line: usize,
        /// Worker threads [default: the number of cores]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
        threads: Option<u16>,
    },
    /// Print the JSON Schema of a record kind, or write every schema into a directory
    Schema {
        #[arg(
            long,
            value_enum,
            required_unless_present = "dir",
            conflicts_with = "dir"
        )]
        kind: Option<Kind>,
        /// Write <kind>.schema.json for every kind into DIR
        #[arg(long, value_name = "DIR", value_parser = tickerlake::cli::LocalPath)]
        dir: Option<PathBuf>,
    },
}

impl Program for Cli {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

/// Options of `records check`, free of clap types.
pub struct CheckOptions<'a> {
    pub kind: Kind,
    pub inputs: &'a [PathBuf],
    pub output: Option<&'a Path>,
    pub rejects: Option<&'a Path>,
    pub keep_unknown: bool,
    pub max_line: usize,
    /// No progress bar (`-q`).
    pub quiet: bool,
    /// Worker threads (1: no extra threads).
    pub threads: usize,
}

/// Counts of one `check` run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CheckSummary {
    pub records: u64,
    pub rejected: u64,
}

pub fn run(cli: Cli, _config: tickerlake::config::Config) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Check {
            kind,
            inputs,
            output,
            rejects,
            keep_unknown,
            max_line,
            threads,
        } => {
            if rejects.is_some()
                && tickerlake::io::same_destination(rejects.as_deref(), output.as_deref())
            {
                return Err(Error::Usage(
                    "--rejects and the output (-o, default stdout) must be different places".into(),
                ));
            }
            tickerlake::io::refuse_outputs_over_inputs(
                &[("--rejects", rejects.as_deref()), ("-o", output.as_deref())],
                &inputs,
            )?;
            hint_if_stdin_is_tty("records", &inputs, cli.common.quiet);
            let opts = CheckOptions {
                kind,
                inputs: &inputs,
                output: output.as_deref(),
                rejects: rejects.as_deref(),
                keep_unknown,
                max_line,
                quiet: cli.common.quiet,
                threads: threads
                    .map(usize::from)
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            };
            let started = Instant::now();
            let summary = check(&opts)?;
            tracing::info!(
                kind = kind.name(),
                records = summary.records,
                rejected = summary.rejected,
                seconds = started.elapsed().as_secs_f64(),
                "checked"
            );
            // Lines set aside make the result partial: exit 1, so cron can tell.
            Ok(if summary.rejected > 0 {
                ExitCode::Findings
            } else {
                ExitCode::Success
            })
        }
        Command::Schema {
            kind: Some(kind), ..
        } => {
            let mut out = Output::stdout();
            let name = out.name();
            out.write_all(kind.json_schema().as_bytes())
                .map_err(|source| Error::Write { name, source })?;
            out.finish()?;
            Ok(ExitCode::Success)
        }
        Command::Schema { dir: Some(dir), .. } => {
            for kind in Kind::ALL {
                let path = dir.join(format!("{}.schema.json", kind.name()));
                tickerlake::atomic::write_atomic(&path, kind.json_schema().as_bytes()).map_err(
                    |source| Error::Create {
                        path: path.display().to_string(),
                        source,
                    },
                )?;
            }
            Ok(ExitCode::Success)
        }
        Command::Schema { .. } => Ok(ExitCode::Usage),
    }
}

/// Streams every input through the record contract of `opts.kind`.
pub fn check(opts: &CheckOptions<'_>) -> Result<CheckSummary, Error> {
    match opts.kind {
        Kind::Tickers => check_kind::<Ticker>(opts),
        Kind::Bars => check_kind::<Bar>(opts),
        Kind::Actions => check_kind::<Action>(opts),
        Kind::Findings => check_kind::<Finding>(opts),
        Kind::Errors => check_kind::<FetchError>(opts),
    }
}

fn check_kind<T: Record>(opts: &CheckOptions<'_>) -> Result<CheckSummary, Error> {
    let mut rejects = Rejects::to_path(opts.rejects)?;
    let out = Output::open(opts.output)?;
    let name = out.name();
    let mut writer = NdjsonWriter::new(out, name);
    let paths = input_paths(opts.inputs);
    // Total size when every input is a file; a spinner for stdin.
    let total = paths
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len())
        })
        .sum();
    let progress = Progress::bytes("records check", total, opts.quiet);
    let mut done = 0u64;
    for path in paths {
        let input = Input::open(&path)?;
        let name = input.name;
        let chunker = Chunker::new(input.reader, name.clone(), opts.max_line);
        let work = |chunk: &Chunk| check_chunk::<T>(chunk, &name, opts);
        map_ordered(chunker, opts.threads, work, |checked: CheckedChunk| {
            // Exactly what a sequential run does: good lines up to a bad one, then the bad one.
            let mut from = 0;
            for (at, bad) in checked.bad {
                writer.write_encoded(&checked.out[from..at], 0)?;
                from = at;
                rejects.handle(bad)?;
            }
            writer.write_encoded(&checked.out[from..], checked.records)?;
            done += checked.bytes;
            progress.set_position(done);
            Ok::<(), Error>(())
        })?;
    }
    progress.finish();
    let records = writer.written();
    writer.into_inner()?.finish()?;
    let rejected = rejects.finish()?;
    Ok(CheckSummary { records, rejected })
}

/// A checked chunk: the canonical lines, and each bad line with the output offset it sits at.
struct CheckedChunk {
    out: Vec<u8>,
    records: u64,
    bad: Vec<(usize, ReadError)>,
    bytes: u64,
}

fn check_chunk<T: Record>(chunk: &Chunk, name: &str, opts: &CheckOptions<'_>) -> CheckedChunk {
    let mut reader = chunk.reader(name, opts.max_line);
    let mut c = CheckedChunk {
        out: Vec::with_capacity(chunk.bytes.len() + chunk.bytes.len() / 8),
        records: 0,
        bad: Vec::new(),
        bytes: 0,
    };
    loop {
        let encoded = if opts.keep_unknown {
            match reader.next_record_with_extra::<T>() {
                None => break,
                Some(Ok(rec)) => encode_line(&mut c.out, &rec),
                Some(Err(e)) => {
                    c.bad.push((c.out.len(), e));
                    continue;
                }
            }
        } else {
            match reader.next_record::<T>() {
                None => break,
                Some(Ok(rec)) => encode_line(&mut c.out, &rec),
                Some(Err(e)) => {
                    c.bad.push((c.out.len(), e));
                    continue;
                }
            }
        };
        match encoded {
            Ok(()) => c.records += 1,
            // A record that cannot be encoded is a bug in its type, reported as bad data.
            Err(e) => {
                let error = ReadError::bad(
                    name,
                    reader.line_number(),
                    None,
                    format!("cannot encode: {e}"),
                    Vec::new(),
                );
                c.bad.push((c.out.len(), error));
            }
        }
    }
    c.bytes = chunk.bytes.len() as u64;
    c
}
