//! `to-parquet`: records → one Parquet file or a Hive-partitioned lake with atomic upserts, and
//! `--cat` back out as NDJSON. The lake logic lives in the `lake` crate, shared with the programs
//! that read the lake.
//!
//! - [`cli`]: the command line; [`options`] turns it (with `config.yaml`) into [`Options`];
//! - `input`: bars from NDJSON (on all cores) or CSV (the record's columns or a provider's
//!   download), bad lines to the rejects sink;
//! - `file`: one Parquet file, written atomically (bars and the other record kinds);
//! - `upsert`: the lake, grouped input streamed, other orders buffered and spilled;
//! - `cat`: a file or the lake back out as NDJSON, checked on the way.

mod cat;
pub mod cli;
mod file;
mod input;
mod upsert;

use std::path::PathBuf;
use std::time::Instant;

use lake::{BarBatchBuilder, ColumnTypes, LakeError, Layout, Rounded, ScanFilter, WriteOptions};
use serde::Serialize;
use tickerlake::config::Config;
use tickerlake::records::{Action, Bar, FetchError, Finding, Kind, Ticker};
use tickerlake::{ExitCode, HasExitCode};

use crate::cat::{cat_files, cat_lake, cat_rows};
use crate::cli::{Cli, InputFormat};
use crate::file::{write_file, write_rows};
use crate::input::CsvFill;
use crate::upsert::write_lake;

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
    /// An input without a row, where a file with data would be replaced.
    #[error("{0}")]
    EmptyInput(String),
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Lib(e) => e.exit_code(),
            Error::Lake(e) => e.exit_code(),
            Error::BadRow { .. } | Error::Strict { .. } | Error::EmptyInput(_) => ExitCode::DataErr,
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
    /// Column types of prices and volumes.
    pub types: ColumnTypes,
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
    Lake(lake::Lake, Layout),
    CatFiles(Vec<PathBuf>, ScanFilter),
    CatLake(lake::Lake, ScanFilter),
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
    let types = ColumnTypes {
        prices: cli.price_type.unwrap_or(config.lake.price_type),
        volume: cli.volume_type.unwrap_or(config.lake.volume_type),
    };
    let write = WriteOptions {
        zstd_level: cli.zstd_level.unwrap_or(config.lake.zstd_level),
        row_group_rows: cli
            .row_group_rows
            .map_or(config.lake.row_group_rows, |n| n as usize),
    };
    let layout = cli.partition_by;
    let target = if cli.cat {
        let filter = cli.filter.filter();
        match (&cli.lake, cli.inputs.is_empty()) {
            (Some(loc), true) => Target::CatLake(lake::Lake::open(loc, config)?, filter),
            (None, false) => Target::CatFiles(cli.inputs.clone(), filter),
            _ => {
                return Err(Error::Usage(
                    "--cat reads either --lake DIR or Parquet files, not both and not neither"
                        .into(),
                ));
            }
        }
    } else if cli.filter.is_given() {
        return Err(Error::Usage(
            "--symbols, --from and --to choose the bars --cat streams: they go with --cat".into(),
        ));
    } else {
        match (&cli.output, &cli.lake) {
            (Some(f), None) => Target::File(f.clone()),
            (None, Some(loc)) => Target::Lake(lake::Lake::open(loc, config)?, layout),
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
    protected.extend(
        cli.lake
            .iter()
            .filter_map(|l| l.dir().map(std::path::Path::to_path_buf)),
    );
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
        types,
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
        Target::CatLake(lake, filter) => return cat_lake(lake, filter),
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
        Target::Lake(lake, layout) => write_lake(opts, lake, *layout)?,
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

pub(crate) fn warn_rounded(count: u64, examples: &[Rounded], strict: bool) -> Result<(), Error> {
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

pub(crate) fn push(
    builder: &mut BarBatchBuilder,
    bar: &Bar,
    input: &str,
    line: u64,
) -> Result<(), Error> {
    builder.push(bar).map_err(|e| match e {
        LakeError::OutOfRange { .. }
        | LakeError::FractionalVolume { .. }
        | LakeError::VolumeBeyondFloat { .. } => Error::BadRow {
            input: input.to_string(),
            line,
            message: e.to_string(),
        },
        other => Error::Lake(other),
    })
}
