//! The command-line flags of every program that reads bars: where they come from (files or
//! `--lake`) and which of them (`--symbols`, `--from`, `--to`). Flatten them into a command line;
//! symbols and dates are checked as they are parsed, so a bad one is a usage error naming the
//! flag.

use std::path::PathBuf;

use tickerlake::Symbol;

use crate::scan::ScanFilter;
use crate::series::BarSource;

/// `--symbols`, `--from` and `--to`.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct BarFilterArgs {
    /// Only these symbols (comma-separated)
    #[arg(long, value_name = "SYMBOLS", value_delimiter = ',', value_parser = symbol_arg)]
    pub symbols: Vec<Symbol>,

    /// Only bars on or after this date (YYYY-MM-DD)
    #[arg(long, value_name = "DATE", value_parser = date_arg)]
    pub from: Option<chrono::NaiveDate>,

    /// Only bars on or before this date (YYYY-MM-DD)
    #[arg(long, value_name = "DATE", value_parser = date_arg)]
    pub to: Option<chrono::NaiveDate>,
}

impl BarFilterArgs {
    /// The filter these flags ask for.
    pub fn filter(&self) -> ScanFilter {
        ScanFilter {
            symbols: self.symbols.iter().cloned().collect(),
            from: self.from,
            to: self.to,
        }
    }

    /// Whether any of the flags was given.
    pub fn is_given(&self) -> bool {
        *self != BarFilterArgs::default()
    }
}

/// The bar input of the analytical readers: NDJSON files or `--lake DIR`, and the filter.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct BarInputArgs {
    /// Input files, each symbol's bars together (as ohlcv-fetch and to-parquet --cat write
    /// them); none or - reads stdin
    #[arg(value_name = "INPUT", conflicts_with = "lake", value_parser = tickerlake::cli::LocalPath)]
    pub inputs: Vec<PathBuf>,

    /// Read the bars from the Hive-partitioned lake in DIR, or on S3 at s3://BUCKET/PREFIX
    /// (endpoint and keys: lake.s3 in config.yaml, else AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID…)
    #[arg(long, value_name = "DIR", value_parser = tickerlake::cli::LakeArg)]
    pub lake: Option<tickerlake::cli::LakeLocation>,

    #[command(flatten)]
    pub filter: BarFilterArgs,
}

impl BarInputArgs {
    /// `--lake` when given (an `s3://` one opened with `config`'s endpoint and keys), else the
    /// input files.
    pub fn source(
        &self,
        config: &tickerlake::config::Config,
    ) -> Result<BarSource, crate::LakeError> {
        Ok(match &self.lake {
            Some(location) => BarSource::Lake(crate::Lake::open(location, config)?),
            None => BarSource::Ndjson(self.inputs.clone()),
        })
    }
}

/// A `--symbols` item: a symbol (`brk.b` reads as `BRK.B`); an empty item is an error, not "all".
pub fn symbol_arg(text: &str) -> Result<Symbol, String> {
    Symbol::parse_lenient(text).map_err(|e| e.to_string())
}

/// A `YYYY-MM-DD` flag.
pub fn date_arg(text: &str) -> Result<chrono::NaiveDate, String> {
    tickerlake::records::date_format::parse(text)
}
