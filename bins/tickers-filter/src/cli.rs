//! Command line of `tickers-filter`.

use std::path::PathBuf;

use clap::Parser;
use tickerlake::cli::{CommonArgs, Program};

const EXAMPLES: &str = "\
Examples:
  # The monthly universe: every source scraped, merged and cleaned.
  tickers-scrape --status data/scrape-status.json | tickers-filter > data/universe.ndjson

  # US common stocks and ETFs on Nasdaq and the NYSE only, with the report as JSON.
  tickers-filter scraped.ndjson --keep-etfs --exchanges XNAS,XNYS --report filter-report.json \\
      > universe.ndjson

  # Next month: statuses carried over, delistings only with evidence, the changes listed.
  tickers-scrape --status scrape-status.json > scraped.ndjson
  tickers-filter scraped.ndjson --previous universe.ndjson --status scrape-status.json \
      --delta delta.ndjson > universe.next.ndjson && mv universe.next.ndjson universe.ndjson

  # A training universe: 1500 listings stratified by market cap, 10 % of them delisted ones.
  tickers-filter universe.ndjson --target 1500 --failed-pct 10 --seed 7 > training.ndjson

  # Four cron hosts, each fetching its quarter of the universe.
  tickers-filter universe.ndjson --shard 2/4 | ohlcv-fetch --days-back 5 > bars-2.ndjson

  # Bad lines set aside instead of stopping the run.
  tickers-filter scraped.ndjson --rejects rejects.ndjson > universe.ndjson

Rules, in order (each listing leaves for the first that applies, counted in the report):
  chars             a character of filter.junk_chars in its name or source spelling (ABR$D)
  test_issue        an exchange's test issue (NASDAQ TEST STOCK)
  preferred, warrant, right, unit, note
                    from the security's name (Arbor Realty Trust 6.375% Series D Cumulative
                    Redeemable Preferred Stock; EVgo Inc. - Warrants), else its asset_type, else
                    (no name) its symbol: a five-letter Nasdaq symbol ending W, R or U
  preferred_series  a listed base symbol plus one letter, for listings without a name (OXLCG
                    beside OXLC)
  asset_type        not in filter.asset_types (stock; --keep-etfs adds etf)
  exchange, country not in --exchanges / --countries (filter.exchanges, filter.countries)
  share_class       another class of the same issuer is kept (KELYB over KELYA, BRK.B over
                    BRK.A: filter.class_preference; --keep-classes keeps them all)
A name that says common stock (Preferred Bank - Common Stock) is a common stock whatever its
issuer is called.

Several sources' records of one listing become one: the first source in
filter.source_precedence wins, the others fill its empty fields and add their index tags.
Fields the Ticker contract does not know are passed through.

Lifecycle (--previous): a listing gone from a source that was read whole (its --status entry ok,
or without --status: the source gave records) is delisted, with the date and the reason; a
source that failed delists nothing. More than filter.max_delist_pct of one source's listings
vanishing at once is refused: they keep their status and the run ends 75.

Exit status: 0 done, 2 usage, 65 a bad input line (file:line: field: what was expected; with
--rejects the run goes on and ends 1), 66 an input missing, 74 I/O error, 75 a mass delisting
refused, 78 bad configuration.";

/// A clean ticker universe from scraped listings: sources merged, junk and extra share classes
/// left out, every rule counted; Ticker NDJSON on stdout, sorted by name.
#[derive(Debug, Parser)]
#[command(name = "tickers-filter", version, after_long_help = EXAMPLES)]
pub struct Cli {
    /// Ticker NDJSON files (- or none: stdin); several are merged
    #[arg(value_name = "INPUT", value_parser = tickerlake::cli::LocalPath)]
    pub inputs: Vec<PathBuf>,

    /// Keep ETFs too (adds etf to filter.asset_types)
    #[arg(long)]
    pub keep_etfs: bool,

    /// Keep only these venues (MICs), replacing filter.exchanges
    #[arg(long, value_name = "MIC,…", value_delimiter = ',')]
    pub exchanges: Vec<String>,

    /// Keep only these countries (ISO 3166 alpha-2), replacing filter.countries
    #[arg(long, value_name = "CC,…", value_delimiter = ',')]
    pub countries: Vec<String>,

    /// Keep every share class of an issuer
    #[arg(long)]
    pub keep_classes: bool,

    /// The previous universe (this program's output): statuses carried over, new listings
    /// active, listings gone from a source read whole delisted, old delistings archived
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
    pub previous: Option<PathBuf>,

    /// tickers-scrape's status file: only a source whose status is ok delists [default: a
    /// source that gave records this run]
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
    pub status: Option<PathBuf>,

    /// ohlcv-fetch's state file: a listing gone from its source is delisted only once its
    /// fetch has also failed filter.delist_after_failed_nights nights in a row
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
    pub state: Option<PathBuf>,

    /// The day of the run: first_seen, last_seen and every transition [default: today, UTC]
    #[arg(long, value_name = "DATE", value_parser = tickerlake::records::date_format::parse)]
    pub as_of: Option<chrono::NaiveDate>,

    /// Delist even when more than filter.max_delist_pct of a source's listings vanished at once
    #[arg(long)]
    pub accept_mass_delisting: bool,

    /// Write the status changes (symbol, from, to, date, reason) as NDJSON to FILE
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::SideFile)]
    pub delta: Option<PathBuf>,

    /// Only a sample of N listings, stratified by market cap [default N: filter.target_stocks]
    #[arg(long, value_name = "N", num_args = 0..=1, conflicts_with = "sample")]
    pub target: Option<Option<usize>>,

    /// Percent of a --target sample drawn from delisted and archived listings
    /// [default: filter.failed_pct]
    #[arg(long, value_name = "P", requires = "target")]
    pub failed_pct: Option<f64>,

    /// Only N listings drawn by seeded hash alone (the notes' test mode)
    /// [default N: filter.sample_size]
    #[arg(long, value_name = "N", num_args = 0..=1)]
    pub sample: Option<Option<usize>>,

    /// Leave listings without a market cap out of a --target sample (counted), instead of their
    /// own bucket (filter.no_market_cap)
    #[arg(long, requires = "target")]
    pub exclude_no_cap: bool,

    /// The seed of --target and --sample: the same seed, the same sample
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,

    /// Only part I of N of the universe (a stable split by name, for N hosts), e.g. 1/4
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,

    /// Also write the report as JSON to FILE
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::SideFile)]
    pub report: Option<PathBuf>,

    /// Write input lines that are not Ticker records to FILE and go on (exit 1 at the end)
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::LocalPath)]
    pub rejects: Option<PathBuf>,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// `I/N`, 1 ≤ I ≤ N.
fn parse_shard(text: &str) -> Result<(u64, u64), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(i, n)| Some((i.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?)));
    match parsed {
        Some((i, n)) if (1..=n).contains(&i) && n <= 1_000_000 => Ok((i, n)),
        _ => Err(format!(
            "expected I/N with 1 <= I <= N (1/4: the first of four parts), found {}",
            tickerlake::echo::echo(text)
        )),
    }
}

impl Program for Cli {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}
