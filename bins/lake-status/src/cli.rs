//! Command line of `lake-status`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use tickerlake::cli::{CommonArgs, LocalPath, Program};

const EXAMPLES: &str = "\
Examples:
  # Is tonight OK? Datasets, the seven KPIs, the last run's steps (exit 0 green, 1 yellow, 2 red).
  lake-status --data data

  # Cron: mail the view only when something is wrong.
  lake-status --data data > status.txt || mail -s 'tickerlake: look' me < status.txt

  # The dashboard: one self-contained page, and the same data as JSON files for scripts.
  lake-status --data data --html data/site --json data/site
  xdg-open data/site/index.html
  jq '.kpis[] | select(.colour == \"red\")' data/site/summary.json

  # The alerts the last run deserves, one JSON line each (pipeline.sh sends them).
  lake-status --data data --alerts

The page, summary.json and the terminal view read only what the pipeline wrote under the data
directory: runs/index.ndjson, the run directories (metadata.json, qa.findings.ndjson,
fetch.errors.ndjson, universe.delta.ndjson), state/fetch.json and state/watermarks.json, and the
lake for price/<SYM>.json. A piece that is missing shows as \"no data yet\", never as green.

Exit status: 0 green (or no data yet), 1 yellow, 2 red, 3 the data directory (or its run index)
cannot be read; --json and --html too. With --alerts: 0 once decided, 65 the newest run's record
cannot be read, 66 a --run directory without a record.
2 is also a command line error, or an output directory holding files that are not the
dashboard's (the message says which); 74 an output that cannot be written, 78 bad configuration.";

/// The nightly dashboard: a terminal view of the pipeline's data directory, its JSON files and
/// one self-contained HTML page, and the alerts a run deserves
#[derive(Debug, Parser)]
#[command(name = "lake-status", version, after_help = EXAMPLES, max_term_width = 100)]
pub struct Cli {
    /// The pipeline's data directory [default: pipeline.data_dir]
    #[arg(long, value_name = "DIR", value_parser = LocalPath)]
    pub data: Option<PathBuf>,

    /// Write summary.json, tickers/lagging.json, qa/failures.json, fetch/errors.json,
    /// universe/delta.json, runs/index.json and price/<SYM>.json into DIR
    #[arg(long, value_name = "DIR", value_parser = LocalPath)]
    pub json: Option<PathBuf>,

    /// Write the dashboard, DIR/index.html: one file, no network access of any kind
    #[arg(long, value_name = "DIR", value_parser = LocalPath)]
    pub html: Option<PathBuf>,

    /// Print the alerts a run deserves as JSON lines (changes of state, at most
    /// pipeline.alerts.max_per_run, the last a digest) instead of the view
    #[arg(long, conflicts_with_all = ["json", "html"])]
    pub alerts: bool,

    /// With --alerts: the run directory [default: the newest run]
    #[arg(long, value_name = "DIR", value_parser = LocalPath, requires = "alerts")]
    pub run: Option<PathBuf>,

    /// The time the view is made at (RFC 3339), for reproducible pages [default: now]
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,

    /// Write the JSON Schemas of the JSON files (status-*.schema.json) into DIR and exit
    #[arg(long, value_name = "DIR", value_parser = LocalPath, exclusive = true)]
    pub schemas: Option<PathBuf>,

    /// Colour in the terminal view: auto (a terminal without NO_COLOR), always, never
    #[arg(long, value_enum, default_value_t = Colour::Auto, value_name = "WHEN")]
    pub colour: Colour,

    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Colour {
    Auto,
    Always,
    Never,
}

impl Program for Cli {
    fn common(&self) -> &CommonArgs {
        &self.common
    }
}

fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("expected an RFC 3339 time like 2026-12-03T06:00:00Z: {e}"))
}
