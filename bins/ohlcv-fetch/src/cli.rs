//! Command line of `ohlcv-fetch`.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::Parser;
use tickerlake::cli::{CommonArgs, Program};

const EXAMPLES: &str = "\
Examples:
  # Nightly: each symbol from the day after its last stored bar (3 days re-fetched for
  # revisions), into the lake; failures on the dead-letter list.
  ohlcv-fetch --since-lake data/lake --errors dead-letter.ndjson universe.ndjson \
      | to-parquet --lake data/lake

  # A universe's last two weeks of daily bars.
  ohlcv-fetch --days-back 14 universe.ndjson > bars.ndjson

  # A few symbols over a fixed range (both dates inclusive, exchange dates), with their
  # splits and dividends and the dead-letter list beside the bars.
  ohlcv-fetch --symbols AAPL,BRK.B,AIR.PA --start 2020-01-01 --end 2020-12-31 \\
      --actions actions.ndjson --errors errors.ndjson > bars.ndjson

  # Against a mirror or the replay server.
  ohlcv-fetch --symbols AAPL --days-back 30 --base-url http://127.0.0.1:8080

  # Polygon's REST API (the key from $POLYGON_API_KEY), Stooq for any symbol it fails.
  ohlcv-fetch --provider polygon-rest,stooq --symbols AAPL,MSFT --days-back 30 > bars.ndjson

  # Every ticker of Polygon day files you downloaded yourself (gzip or plain), into a lake.
  ohlcv-fetch --provider polygon-flatfiles --all-tickers --input day_aggs/2024-04-*.csv.gz \\
      | to-parquet --lake data/lake

Input: Ticker records (NDJSON; only `symbol` is required: the listing's name, AAPL, BRK.B on a US
venue, AIR.PA, BT-A.L elsewhere); tickers whose status is delisted or archived are skipped (unless --include-delisted). Output: Bar records on stdout, each
symbol's bars together and in date order, written as each symbol completes.

Exit status: 0 every symbol fetched or up to date, 2 usage, 65 bad input, 66 input missing,
69 the provider is down (circuit breaker open), 74 I/O error, 75 some symbols failed (the
others' data is complete and written; see --errors), 78 bad configuration.";

/// Daily OHLCV bars for a ticker universe from Yahoo Finance, Polygon (REST or flat files) or
/// Stooq, with retries, a shared rate limit, fallback between providers and a dead-letter list.
#[derive(Debug, Parser)]
#[command(name = "ohlcv-fetch", version, after_long_help = EXAMPLES)]
pub struct Cli {
    /// Ticker record files (NDJSON); none or - reads stdin (unless --symbols is given)
    #[arg(value_name = "INPUT", value_parser = tickerlake::cli::LocalPath)]
    pub inputs: Vec<PathBuf>,

    /// Fetch these canonical symbols instead of reading tickers (comma-separated)
    #[arg(long, value_name = "SYMS", value_delimiter = ',')]
    pub symbols: Vec<String>,

    /// First trading date to fetch (exchange date)
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub start: Option<NaiveDate>,

    /// Last trading date to fetch, inclusive [default: today]
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub end: Option<NaiveDate>,

    /// Fetch the N days up to --end (instead of --start)
    #[arg(long, value_name = "N", conflicts_with = "start")]
    pub days_back: Option<u32>,

    /// Start each symbol the day after its last bar in the lake at DIR (read from Parquet
    /// footers), less --lookback days; symbols the lake lacks get their whole history.
    /// --start or --days-back override both
    #[arg(long, value_name = "DIR", value_parser = tickerlake::cli::LakeArg)]
    pub since_lake: Option<tickerlake::cli::LakeLocation>,

    /// Days re-fetched before each symbol's last stored bar, to pick up revisions
    /// [default: fetch.lookback_days]
    #[arg(long, value_name = "N", requires = "since_lake")]
    pub lookback: Option<u32>,

    /// Providers, asked in this order per symbol (the next when one fails): yahoo, stooq,
    /// polygon-rest; or polygon-flatfiles alone [default: fetch.provider]
    #[arg(long, value_name = "NAME[,NAME…]")]
    pub provider: Option<String>,

    /// The first provider's base URL, http:// or https://, without a query string (a mirror,
    /// the replay server) [default: its base_url in config.yaml]
    #[arg(long, value_name = "URL", value_parser = base_url)]
    pub base_url: Option<String>,

    /// polygon-flatfiles: read these day files (YYYY-MM-DD.csv.gz or plain CSV, as downloaded
    /// by any S3 client) instead of downloading them; repeat or list several
    #[arg(long, value_name = "FILE", num_args = 1.., value_parser = tickerlake::cli::LocalPath)]
    pub input: Vec<PathBuf>,

    /// polygon-flatfiles: every ticker in the day files, without a universe
    #[arg(long)]
    pub all_tickers: bool,

    /// Polygon's splits and dividends from providers.polygon.actions_back_days before --end to
    /// actions_ahead_days after it (announced ones too), market-wide in a few requests, for
    /// the universe's symbols, into --actions
    #[arg(long, requires = "actions")]
    pub actions_window: bool,

    /// Concurrent symbol fetches [default: fetch.workers]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub workers: Option<u32>,

    /// Requests over all workers, per provider: 2 or 2/s, 5/min, 100/h [default: fetch.rate,
    /// providers.*.rate]
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Write splits and dividends to FILE (NDJSON Action records)
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
    pub actions: Option<PathBuf>,

    /// Write symbols that failed to FILE (NDJSON FetchError records: the dead-letter list)
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
    pub errors: Option<PathBuf>,

    /// Keep per-symbol fetch state in FILE (JSON, replaced atomically): failures in a row, the
    /// dead-letter list (symbols failing on fetch.dead_letter_after runs in a row are skipped)
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
    pub state: Option<PathBuf>,

    /// Fetch dead-lettered symbols again (with --state)
    #[arg(long, requires = "state")]
    pub retry_dlq: bool,

    /// Fetch tickers whose status is delisted or archived too (a training set's failed share:
    /// their history, as far as the provider still has it)
    #[arg(long)]
    pub include_delisted: bool,

    /// Refuse (exit 78, before any request) a universe whose newest last_seen is older than
    /// this many days (35d)
    #[arg(long, value_name = "AGE", value_parser = parse_days)]
    pub max_universe_age: Option<u32>,

    /// Fetch through this HTTP or SOCKS proxy (repeat for several; replaces http.proxies).
    /// Symbols rotate through them in blocks of --rotate-every; a proxy that fails is dropped
    /// with a warning and its symbols go direct
    #[arg(long, value_name = "URL")]
    pub proxy: Vec<String>,

    /// Symbols per proxy before the next one takes over (0: all through the first)
    /// [default: fetch.rotate_every]
    #[arg(long, value_name = "N")]
    pub rotate_every: Option<u32>,

    /// Keep every answer with data as DIR/<date>/<symbol>.json.gz (its SHA-256 logged at -v)
    #[arg(long, value_name = "DIR", value_parser = tickerlake::cli::LocalPath)]
    pub raw_dir: Option<PathBuf>,

    /// Also write the run's summary to FILE as JSON
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

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    tickerlake::records::date_format::parse(s)
}

/// `35d` or `35`: a number of days.
fn parse_days(s: &str) -> Result<u32, String> {
    s.trim()
        .strip_suffix('d')
        .unwrap_or(s.trim())
        .parse()
        .map_err(|_| format!("expected a number of days like 35d, found {s:?}"))
}

/// A request rate (`2`, `2/s`, `5/min`), as the config file writes one, in requests per second.
fn parse_rate(s: &str) -> Result<f64, String> {
    tickerlake::config::Rate::parse(s).map(|r| r.0)
}

/// `--base-url`, checked as the config file's base URLs are (exit 2, before any request).
fn base_url(text: &str) -> Result<String, String> {
    tickerlake::config::check_base_url(text).map(|()| text.to_string())
}
