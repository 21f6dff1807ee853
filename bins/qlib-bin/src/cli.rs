//! Command line of `qlib-bin`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tickerlake::cli::{CommonArgs, Program};

const EXAMPLES: &str = "\
Examples:
  # The whole lake into a new Qlib store.
  qlib-bin all --lake data/lake -o data/qlib

  # Replace an existing store (stale symbols and fields go; the old store stays readable until
  # the new one replaces it in one step).
  qlib-bin all --lake data/lake -o data/qlib --force

  # CSVs laid out for Qlib's dump_bin (date, symbol, numeric fields), one or many per symbol.
  qlib-bin all --input-format csv csv_dir/*.csv -o qlib_data

  # The nightly run: the new days from the lake (a split or dividend rewrites a symbol whole).
  qlib-bin update --lake data/lake --since-watermark -o data/qlib

  # Values as given (dump_bin's behaviour), not adjusted like Qlib's Yahoo collector.
  qlib-bin all --lake data/lake -o data/qlib-raw --adjust none

  # Bars straight from a fetch, Yahoo-style directory names (BRK.B -> BRK-B).
  ohlcv-fetch --symbols AAPL,BRK.B --days-back 400 | qlib-bin all -o qlib_data --symbol-style qlib

  # Read it with pyqlib.
  python -c 'import qlib; from qlib.data import D; qlib.init(provider_uri=\"qlib_data\");
             print(D.features([\"AAPL\"], [\"$close\", \"$factor\"]).tail())'

Exit status: 0 done, 1 update left restated symbols waiting for their whole history (the rest
is done), 2 usage (also: the output directory holds something and --force was not given, an
--adjust the store was not written with), 65 bad input (nothing is written; also: no bars at all,
or far fewer instruments than the store holds without --allow-shrink), 66 input missing,
74 I/O error, 75 another run is writing the store, 78 bad configuration.";

/// Bars to Microsoft Qlib's binary format (calendars/, instruments/, features/), laid out byte
/// for byte as Qlib's own dump_bin writes it, written whole and swapped in atomically.
#[derive(Debug, Parser)]
#[command(name = "qlib-bin", version, after_long_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub common: CommonArgs,
}

impl Program for Cli {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Full export (Qlib's dump_all): the calendar is the union of the input dates
    All(AllArgs),
    /// Append the new days to a store (what Qlib's dump_update means, at the right dates)
    Update(UpdateArgs),
}

/// Where the bars come from (both commands).
#[derive(Debug, Clone, Args)]
pub struct InputArgs {
    #[command(flatten)]
    pub bars: lake::cli::BarInputArgs,

    /// The Qlib store to write
    #[arg(short, long, value_name = "QLIB_DIR", value_parser = tickerlake::cli::LocalPath)]
    pub output: PathBuf,

    /// Format of the input files
    #[arg(long, value_enum, default_value_t = InputFormat::Ndjson)]
    pub input_format: InputFormat,

    /// Fields to write (comma-separated) [default: qlib.fields in config.yaml, open high low
    /// close volume factor adjclose change; CSV with --adjust none: every column but date and
    /// symbol]
    #[arg(long, value_name = "FIELDS", value_delimiter = ',')]
    pub fields: Vec<String>,

    /// Values: adjusted as Qlib's Yahoo collector adjusts them for its models (prices x
    /// adjclose/close, then every series scaled to start at close 1; $close/$factor is the raw
    /// close), or written as given [default: qlib.adjust in config.yaml, qlib; update: the
    /// store's]
    #[arg(long, value_enum, value_name = "HOW")]
    pub adjust: Option<Adjust>,

    /// Instrument names: the canonical symbol (BRK.B), or Qlib's Yahoo collector style (BRK-B)
    #[arg(long, value_enum, default_value_t = SymbolStyle::Canonical)]
    pub symbol_style: SymbolStyle,

    /// Tickers pandas reads back from all.txt as missing (NA, NULL, NAN, N/A…; pyqlib cannot
    /// list them): refuse the run, or leave them out with a warning
    #[arg(long, value_enum, default_value_t = NaTickers::Refuse)]
    pub na_tickers: NaTickers,

    /// Also write the summary as JSON to FILE
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::SideFile)]
    pub summary: Option<PathBuf>,
}

/// `--adjust`: one definition, in the library's configuration (`qlib.adjust`).
pub use tickerlake::config::Adjust;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NaTickers {
    /// Exit 65 naming them, writing nothing
    Refuse,
    /// Leave them out, with a warning naming them
    Skip,
}

#[derive(Debug, Clone, Args)]
pub struct AllArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Replace a store that is already there
    #[arg(long)]
    pub force: bool,

    /// With --force: replace the store even when the new one holds far fewer instruments
    /// (more than qlib.max_shrink_pct in config.yaml fewer; default: refuse, exit 65)
    #[arg(long, requires = "force")]
    pub allow_shrink: bool,

    /// Calendar: the union of the input dates (dump_all), or the NYSE's trading days from the
    /// first to the last date
    #[arg(long, value_enum, default_value_t = CalendarArg::Union)]
    pub calendar: CalendarArg,
}

#[derive(Debug, Clone, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// With --lake: read only the bars from the store's watermark (its last date) on; that
    /// day is read again to see whether a split or dividend restated the history
    #[arg(long, requires = "lake")]
    pub since_watermark: bool,

    /// Rows dated inside a symbol's stored range whose values differ from the store: rewrite
    /// that symbol's files whole with them (default: report them and leave the store as is;
    /// with --adjust qlib a changed symbol is always rewritten whole, from its whole history)
    #[arg(long)]
    pub rewrite_changed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// Bar records
    Ndjson,
    /// dump_bin's CSV: a date column, a symbol column (else the file name), numeric fields
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CalendarArg {
    /// Every date present in the input (what dump_all does)
    Union,
    /// NYSE / Nasdaq trading days (a bar on another day is an error)
    Xnys,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SymbolStyle {
    /// As the records spell it: BRK.B
    Canonical,
    /// As Qlib's Yahoo US collector spells it: BRK-B
    Qlib,
}
