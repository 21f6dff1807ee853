//! The run's options, free of clap types: built once from the command line and `config.yaml`.

use std::path::PathBuf;

use chrono::NaiveDate;
use tickerlake::config::{Config, SourceKind};

use crate::Error;
use crate::cli::Cli;

#[derive(Debug, Clone)]
pub struct Options {
    /// The source's name in `scrape.sources`.
    pub source: String,
    pub kind: SourceKind,
    pub inputs: Vec<PathBuf>,
    /// Kind `list`: its tickers.
    pub listed: Vec<tickerlake::config::ListedTicker>,
    /// Kind `html-table`: its table.
    pub table: Option<tickerlake::config::HtmlTable>,
    pub as_of: NaiveDate,
    pub status: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub verbose: bool,
    /// Accept a listing far shorter than its last good run.
    pub allow_shrink: bool,
}

pub fn options(cli: &Cli, config: &Config) -> Result<Options, Error> {
    let Some(source) = config.scrape.sources.get(&cli.source) else {
        let known: Vec<&str> = config.scrape.sources.keys().map(String::as_str).collect();
        return Err(Error::Usage(format!(
            "{}: no such source in scrape.sources (known: {})",
            tickerlake::echo::echo(&cli.source),
            known.join(", ")
        )));
    };
    match (source.kind, cli.input.is_empty()) {
        (SourceKind::List, false) => {
            return Err(Error::Usage(format!(
                "{}: a list keeps its tickers in config.yaml: no --input",
                cli.source
            )));
        }
        (SourceKind::List, true) | (_, false) => {}
        (_, true) => {
            return Err(Error::Usage(format!(
                "{}: tickers-scrape reads listings from files: give its files with --input",
                cli.source
            )));
        }
    }
    if let Some(p) = &cli.status
        && (tickerlake::io::is_stdio(p) || tickerlake::io::is_stdout_alias(p) || p.is_dir())
    {
        return Err(Error::Usage(format!(
            "--status {}: a file (it is read back by the next run)",
            p.display()
        )));
    }
    if cli
        .input
        .iter()
        .filter(|p| tickerlake::io::is_stdio(p))
        .count()
        > 1
    {
        return Err(Error::Usage("--input: stdin (-) can be read once".into()));
    }
    Ok(Options {
        source: cli.source.clone(),
        kind: source.kind,
        inputs: cli.input.clone(),
        listed: source.tickers.clone(),
        table: source.table.clone(),
        as_of: cli.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive()),
        status: cli.status.clone(),
        summary: cli.summary.clone(),
        verbose: cli.common.verbose > 0,
        allow_shrink: cli.allow_shrink,
    })
}
