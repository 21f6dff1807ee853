//! Command line of `qa-check`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use tickerlake::cli::{CommonArgs, Program};

const EXAMPLES: &str = "\
Examples:
  # Nightly gate: QA the lake after the fetch; Qlib is only updated when nothing is critical.
  qa-check --lake data/lake --universe universe.ndjson --state data/state/fetch.json \\
      --actions actions.ndjson --summary qa-summary.json > findings.ndjson \\
    && qlib-bin update --lake data/lake -o data/qlib

  # Check a fetch before it goes into the lake.
  ohlcv-fetch --symbols AAPL,MSFT --days-back 30 | qa-check --as-of 2024-06-28

  # Only some checks, over the whole history rather than the last 30 trading days.
  qa-check --checks missing_dates,ohlc,duplicate --full-history bars.ndjson

  # A market without a built-in calendar: trading days inferred from the symbols' bars.
  qa-check --calendar infer --lake data/lake-xetra

  # Validate a training set (stock count, years of history, min price and volume...).
  qa-check --profile training --lake data/lake --from 2015-01-01

  # Findings into Parquet, for DuckDB.
  qa-check --lake data/lake | to-parquet --kind findings -o findings.parquet

Checks (ids in findings, --checks and qa.severity in config.yaml):
  lag            a symbol's last bar more than qa.lag_trading_days trading days before --as-of
                 (critical when more than qa.lag_critical_pct % of the universe lags)
  missing_dates  a trading day without a bar between a symbol's first and last bar
  null_fields    a null price or volume
  zero_volume    volume 0 on a trading day
  price_jump     |close/prev_close - 1| above qa.price_jump_pct %, no split or dividend explaining it
  iqr_jump       a daily return beyond the symbol's quartiles +- qa.iqr_k x IQR (info)
  volume_spike   z-score of log volume against the previous qa.volume_window bars > qa.volume_z (info)
  ohlc           high < max(open, close), low > min(open, close), or a price <= 0
  duplicate      more than one bar for (symbol, date)
  fetch_error    consecutive_failures >= qa.fetch_error_failures in the fetch state (--state)
  coverage       share of the active universe (--universe) with fresh data < qa.coverage_min_pct
  freshness      newest bar more than qa.freshness_days days before --as-of
  negative_volume  a volume below 0
  future_date    a bar dated after --as-of
  training:      stock_count, history_years, all_null_column, min_price, min_volume

Exit status: 0 no finding at or above qa.fail_on (critical), 1 at least one, 2 usage (also:
--checks names no check), 65 unreadable input or no bars at all, 66 input missing, 74 I/O error,
78 bad configuration.";

/// Data-quality checks over daily bars: findings as NDJSON on stdout, an exit status cron can
/// gate on.
#[derive(Debug, Parser)]
#[command(name = "qa-check", version, after_long_help = EXAMPLES)]
pub struct Cli {
    #[command(flatten)]
    pub input: lake::cli::BarInputArgs,

    /// Splits and dividends (Action NDJSON, as ohlcv-fetch --actions writes them): a jump they
    /// explain is no price_jump
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
    pub actions: Option<PathBuf>,

    /// The fetch state of ohlcv-fetch (--state), for fetch_error
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
    pub state: Option<PathBuf>,

    /// The ticker universe (Ticker NDJSON): its active tickers are the universe of lag and
    /// coverage, and their exchange picks the calendar
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
    pub universe: Option<PathBuf>,

    /// The day the data should be current to [default: today, UTC]
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,

    /// Run only these checks (comma-separated ids) instead of the profile's
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub checks: Vec<String>,

    /// Which set of checks runs
    #[arg(long, value_enum, default_value_t = Profile::Nightly)]
    pub profile: Profile,

    /// Trading calendar [default: the universe's exchange calendar if they share one built-in
    /// (XNYS for Nasdaq, NYSE, Arca...), infer for other exchanges, xnys without --universe]
    #[arg(long, value_enum)]
    pub calendar: Option<CalendarArg>,

    /// missing_dates over each symbol's whole history, not only its last
    /// qa.missing_dates_window trading days
    #[arg(long)]
    pub full_history: bool,

    /// Also write the per-check summary as JSON to FILE
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::SideFile)]
    pub summary: Option<PathBuf>,

    #[command(flatten)]
    pub common: CommonArgs,
}

impl Program for Cli {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Profile {
    /// The nightly gate: lag, missing_dates, null_fields, zero_volume, price_jump, iqr_jump,
    /// volume_spike, ohlc, duplicate, fetch_error, coverage, freshness, negative_volume,
    /// future_date
    Nightly,
    /// Training-set validation: stock_count, history_years, all_null_column, min_price,
    /// min_volume, and the row checks (missing_dates, null_fields, zero_volume, price_jump, ohlc,
    /// duplicate, negative_volume, future_date)
    Training,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CalendarArg {
    /// NYSE / Nasdaq holidays and special closures
    Xnys,
    /// A day is a trading day when qa.infer_min_share_pct % of the symbols listed then have a bar
    Infer,
}
