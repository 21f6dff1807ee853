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
use tickerlake::ndjson::{NdjsonReader, NdjsonWriter, Rejects};
use tickerlake::progress::Progress;
use tickerlake::records::{Action, Bar, FetchError, Finding, Kind, Record, Ticker};
use tickerlake::{Error, ExitCode};

const EXAMPLES: &str = "\
Examples:
  # Check bars, stop at the first bad line with file:line: field: what was expected (exit 65).
  records check --kind bars bars.ndjson

  # Keep going: bad lines go verbatim to rejects.ndjson, good ones to stdout in canonical form.
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
        #[arg(value_name = "FILE")]
        inputs: Vec<PathBuf>,
        /// Write valid records here instead of stdout (atomically)
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Set bad lines aside in FILE (verbatim) and go on, instead of stopping at the first
        #[arg(long, value_name = "FILE")]
        rejects: Option<PathBuf>,
        /// Keep keys the contract does not know (pass-through mode) instead of rejecting them
        #[arg(long)]
        keep_unknown: bool,
        /// Longest accepted line in bytes
        #[arg(long, value_name = "BYTES", default_value_t = tickerlake::ndjson::DEFAULT_MAX_LINE)]
        max_line: usize,
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
        #[arg(long, value_name = "DIR")]
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
        } => {
            hint_if_stdin_is_tty("records", &inputs);
            let opts = CheckOptions {
                kind,
                inputs: &inputs,
                output: output.as_deref(),
                rejects: rejects.as_deref(),
                keep_unknown,
                max_line,
                quiet: cli.common.quiet,
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
            Ok(ExitCode::Success)
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
    let mut done = 0;
    for path in paths {
        let input = Input::open(&path)?;
        let mut reader = NdjsonReader::new(input.reader, input.name).with_max_line(opts.max_line);
        loop {
            let item = if opts.keep_unknown {
                reader
                    .next_record_with_extra::<T>()
                    .map(|r| r.map(Checked::Extra))
            } else {
                reader.next_record::<T>().map(|r| r.map(Checked::Plain))
            };
            let Some(item) = item else { break };
            match item {
                Ok(Checked::Plain(rec)) => writer.write(&rec)?,
                Ok(Checked::Extra(rec)) => writer.write(&rec)?,
                Err(e) => rejects.handle(e)?,
            }
            if reader.line_number() % 4096 == 0 {
                progress.set_position(done + reader.bytes_read());
            }
        }
        done += reader.bytes_read();
    }
    progress.finish();
    let records = writer.written();
    writer.into_inner()?.finish()?;
    let rejected = rejects.finish()?;
    Ok(CheckSummary { records, rejected })
}

enum Checked<T> {
    Plain(T),
    Extra(tickerlake::ndjson::WithExtra<T>),
}
