//! Command line of `tickers-scrape`.

use std::path::PathBuf;

use clap::Parser;
use tickerlake::cli::{CommonArgs, Program};

const EXAMPLES: &str = "\
Examples:
  # The monthly universe: every enabled source downloaded, checked and parsed, the raw files
  # kept, the status read back by the next run's row-count guard.
  tickers-scrape --status data/scrape-status.json --raw-dir data/scrapes_raw \\
      > data/universe.ndjson

  # Two sources only, with the per-source summary as JSON.
  tickers-scrape sp500 nasdaq100 --summary scrape-summary.json > indexes.ndjson

  # Nasdaq Trader's symbol directory, downloaded by hand, into a universe file.
  tickers-scrape nasdaqtrader --input nasdaqlisted.txt otherlisted.txt > universe.ndjson

  # The SEC's list, with the status the next run's row-count guard reads.
  tickers-scrape sec --input company_tickers_exchange.json --status scrape-status.json \\
      > sec.ndjson

  # Straight into a fetch.
  tickers-scrape nasdaqtrader --input nasdaqlisted.txt otherlisted.txt \\
    | ohlcv-fetch --days-back 5 > bars.ndjson

Sources (scrape.sources in config.yaml; NAME is an entry there):
  nasdaqtrader         nasdaqlisted.txt and otherlisted.txt, told apart by their headers
  nasdaqtrader-traded  nasdaqtraded.txt
  sec                  company_tickers_exchange.json
  euronext             Euronext's equities list download (names AC.PA, AL2SI.PA)
  xetra                Deutsche Boerse's t7-xetr-allTradableInstruments.csv (names SAP.DE)
  nasdaq-screener      the Nasdaq screener's API JSON or CSV export (market cap, sector, industry)
  html-table           an index table in an HTML page (sp500: Wikipedia's list; nasdaq100)
  list                 a hand-kept list in config.yaml (the shipped watchlist: tickers-scrape watchlist)

Output: Ticker records of every source, sorted by name (the listing's name: BRK.B, ABR-D on US
venues, AC.PA elsewhere), then source, with source, first_seen = last_seen = --as-of and status
active; tickers-filter merges the sources. A source whose files do not have the structure it
relies on (a renamed or missing column, no footer, a row of another width) or whose row count
fell below scrape.min_rows_ratio of its last good run yields nothing: its status is
structure_error. One that cannot be downloaded (after the retries of scrape.backoff) is a
fetch_error. Either way the other sources still run.

Exit status: 0 every source parsed, 2 usage, 65 every source failed its structure check, 66 an
input missing, 69 no source could be downloaded, 74 I/O error (a raw file not kept), 75 some
sources failed (the others' records are written), 78 bad configuration.";

/// Ticker universes from exchange listings: Ticker NDJSON on stdout, a listing checked for its
/// structure before a row of it is parsed.
#[derive(Debug, Parser)]
#[command(name = "tickers-scrape", version, after_long_help = EXAMPLES)]
pub struct Cli {
    /// Sources, entries of scrape.sources in config.yaml [default: every enabled source]
    #[arg(value_name = "NAME")]
    pub sources: Vec<String>,

    /// Parse these files as the one NAME instead of downloading it (- reads stdin); none for a
    /// list
    #[arg(long, value_name = "FILE", num_args = 1.., value_parser = tickerlake::cli::LocalPath)]
    pub input: Vec<PathBuf>,

    /// Keep every download as DIR/<as-of date>/<source>/<file>, to replay or audit the run
    #[arg(long, value_name = "DIR", value_parser = tickerlake::cli::LocalPath)]
    pub raw_dir: Option<PathBuf>,

    /// The day of the listing: first_seen and last_seen of every record [default: today, UTC]
    #[arg(long, value_name = "DATE", value_parser = tickerlake::records::date_format::parse)]
    pub as_of: Option<chrono::NaiveDate>,

    /// Per-source status (JSON, replaced atomically): ok, structure_error or fetch_error, rows,
    /// the raw files' sha256; the row-count guard reads the last good run from it
    #[arg(long, value_name = "FILE", value_parser = tickerlake::cli::SideFile)]
    pub status: Option<PathBuf>,

    /// Accept a listing with fewer records than scrape.min_rows_ratio of its last good run (a
    /// venue that really delisted that many); it becomes the new last good run
    #[arg(long)]
    pub allow_shrink: bool,

    /// Also write the summary as JSON to FILE
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
