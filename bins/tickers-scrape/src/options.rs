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
    /// Its kind as `config.yaml` spells it (for the status file).
    pub kind_name: String,
    pub inputs: Vec<PathBuf>,
    pub as_of: NaiveDate,
    pub status: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub verbose: bool,
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
    let kind_name = match source.kind {
        SourceKind::Nasdaqtrader => "nasdaqtrader",
        SourceKind::NasdaqtraderTraded => "nasdaqtrader-traded",
        SourceKind::Sec => "sec",
        SourceKind::Euronext => "euronext",
        SourceKind::Xetra => "xetra",
        SourceKind::NasdaqScreener => "nasdaq-screener",
    };
    Ok(Options {
        source: cli.source.clone(),
        kind: source.kind,
        kind_name: kind_name.to_string(),
        inputs: cli.input.clone(),
        as_of: cli.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive()),
        status: cli.status.clone(),
        summary: cli.summary.clone(),
        verbose: cli.common.verbose > 0,
    })
}
