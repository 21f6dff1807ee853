//! Command line of `to-parquet`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use lake::Layout;
use tickerlake::cli::{CommonArgs, Program};
use tickerlake::config::{PriceType, VolumeType};
use tickerlake::records::Kind;

const EXAMPLES: &str = "\
Examples:
  # Nightly: fetched bars into the lake, merging with what is there (atomic per partition).
  ohlcv-fetch --since-lake data/lake < universe.ndjson | to-parquet --lake data/lake

  # One file, prices as float64 for pandas.
  to-parquet bars.ndjson -o bars.parquet --price-type float64

  # All symbols of a month per file, for all-symbols-per-date loads.
  to-parquet flat-file-bars.ndjson --lake data/by-month --partition-by year,month

  # CSV with a header of record field names; bad lines set aside instead of stopping the run.
  to-parquet --input-format csv bars.csv --lake data/lake --rejects bad.csv

  # A night's QA findings as one file; read it back.
  qa-check --lake data/lake | to-parquet --kind findings -o findings.parquet
  to-parquet --cat --kind findings findings.parquet

  # Read the lake back as NDJSON.
  to-parquet --cat --lake data/lake --symbols AAPL --from 2024-01-01 | jq -c .

  # The lake on S3 (AWS, MinIO, R2…): the same layout, each changed partition one PUT.
  AWS_ENDPOINT_URL=http://127.0.0.1:9000 to-parquet --lake s3://market/lake < bars.ndjson

Exit status: 0 done, 1 lines were set aside with --rejects, 2 usage, 65 bad input (nothing in
the lake is replaced), 66 input missing, 74 I/O error, 78 bad configuration.";

/// Records → one Parquet file or a Hive-partitioned lake (symbol=…/year=…), with atomic upserts;
/// --cat streams a file or lake back out as NDJSON.
#[derive(Debug, Parser)]
#[command(name = "to-parquet", version, after_long_help = EXAMPLES)]
pub struct Cli {
    /// Input files (NDJSON or CSV; with --cat, Parquet files); none or - reads stdin
    #[arg(value_name = "INPUT", value_parser = tickerlake::cli::LocalPath)]
    pub inputs: Vec<PathBuf>,

    /// Record kind of the input
    #[arg(long, value_enum, default_value_t = Kind::Bars)]
    pub kind: Kind,

    /// Input format (CSV: bars only; the record's column names, or a provider's download such
    /// as Yahoo's Date,Open,High,Low,Close,Adj Close,Volume or Stooq's Date,Open,…,Volume)
    #[arg(long, value_enum, default_value_t = InputFormat::Ndjson)]
    pub input_format: InputFormat,

    /// CSV without a symbol column: the symbol of every row
    #[arg(long, value_name = "SYM")]
    pub symbol: Option<String>,

    /// CSV without a provider column: the provider of every row (yahoo, stooq…)
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,

    /// Write one Parquet file (atomically)
    #[arg(short, long, value_name = "FILE", conflicts_with = "lake", value_parser = tickerlake::cli::LocalPath)]
    pub output: Option<PathBuf>,

    /// Write into (or, with --cat, read) the Hive-partitioned lake in DIR, or on S3 at
    /// s3://BUCKET/PREFIX (endpoint and keys: lake.s3 in config.yaml, else AWS_ENDPOINT_URL,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION)
    #[arg(long, value_name = "DIR", value_parser = tickerlake::cli::LakeArg)]
    pub lake: Option<tickerlake::cli::LakeLocation>,

    /// Partition keys of the lake
    #[arg(long, value_enum, value_name = "KEYS", default_value_t = Layout::SymbolYear)]
    pub partition_by: Layout,

    /// Price column type [default: lake.price_type in the config, decimal]
    #[arg(long, value_enum, value_name = "TYPE")]
    pub price_type: Option<PriceType>,

    /// Volume column type: int64 (whole shares) or float64 (fractional shares kept, as Polygon's
    /// flat files and Stooq sometimes count them) [default: lake.volume_type in the config, int64]
    #[arg(long, value_enum, value_name = "TYPE")]
    pub volume_type: Option<VolumeType>,

    /// zstd compression level, 1-22 [default: lake.zstd_level, 3]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i32).range(1..=22))]
    pub zstd_level: Option<i32>,

    /// Rows per row group [default: lake.row_group_rows, 131072]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1024..=16_777_216))]
    pub row_group_rows: Option<u64>,

    /// Exit 65 (writing nothing) if a price has more than 6 decimals, instead of rounding it
    #[arg(long)]
    pub strict: bool,

    /// Set bad input lines aside in FILE and go on (exit 1 if any)
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
    pub rejects: Option<PathBuf>,

    /// Memory for rows waiting to be written to the lake before they are flushed (e.g. 512M, 2G)
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    pub max_memory: u64,

    /// Also write the summary as JSON to FILE
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::SideFile)]
    pub summary: Option<PathBuf>,

    /// Stream a Parquet file (INPUT) or the lake (--lake) back out as NDJSON
    #[arg(long)]
    pub cat: bool,

    #[command(flatten, next_help_heading = "With --cat")]
    pub filter: lake::cli::BarFilterArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

impl Program for Cli {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    Ndjson,
    Csv,
}

/// `512M`, `2G`, `1500000` (bytes).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(format!("unknown size unit in {s:?} (use K, M or G)")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("expected a size like 512M, found {s:?}"))?;
    n.checked_mul(mult)
        .filter(|&v| v >= 1 << 20)
        .ok_or_else(|| format!("{s:?}: at least 1M"))
}
