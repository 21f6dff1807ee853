//! The run's options, free of clap types: built once from the command line and `config.yaml`.

use std::path::PathBuf;

use chrono::NaiveDate;
use tickerlake::config::{Config, ScrapeSource, SourceKind};

use crate::Error;
use crate::cli::Cli;
use crate::download::Settings;

/// One source of the run.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Its name in `scrape.sources`.
    pub name: String,
    pub source: ScrapeSource,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// In the order they run (the names' order, or `scrape.sources` order).
    pub sources: Vec<Planned>,
    /// The one source's files, instead of downloading them.
    pub inputs: Vec<PathBuf>,
    pub as_of: NaiveDate,
    pub status: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub raw_dir: Option<PathBuf>,
    pub verbose: bool,
    /// Accept a listing far shorter than its last good run.
    pub allow_shrink: bool,
    pub min_rows_ratio: f64,
    pub download: Settings,
}

pub fn options(cli: &Cli, config: &Config) -> Result<Options, Error> {
    let all = &config.scrape.sources;
    let names: Vec<String> = if cli.sources.is_empty() {
        let enabled: Vec<String> = all
            .iter()
            .filter(|(_, s)| s.enabled)
            .map(|(n, _)| n.clone())
            .collect();
        if enabled.is_empty() {
            return Err(Error::Usage(
                "no source of scrape.sources is enabled: name the sources to run".into(),
            ));
        }
        enabled
    } else {
        let mut names = Vec::new();
        for n in &cli.sources {
            if !names.contains(n) {
                names.push(n.clone());
            }
        }
        names
    };
    let mut sources = Vec::new();
    for name in names {
        let Some(source) = all.get(&name) else {
            let known: Vec<&str> = all.keys().map(String::as_str).collect();
            return Err(Error::Usage(format!(
                "{}: no such source in scrape.sources (known: {})",
                tickerlake::echo::echo(&name),
                known.join(", ")
            )));
        };
        sources.push(Planned {
            name,
            source: source.clone(),
        });
    }
    if !cli.input.is_empty() {
        let [one] = sources.as_slice() else {
            return Err(Error::Usage(format!(
                "--input holds the files of one source, named before it (tickers-scrape sec \
                 --input company_tickers_exchange.json); named: {}",
                if cli.sources.is_empty() {
                    "none".to_string()
                } else {
                    sources
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            )));
        };
        if one.source.kind == SourceKind::List {
            return Err(Error::Usage(format!(
                "{}: a list keeps its tickers in config.yaml: no --input",
                one.name
            )));
        }
        if cli.raw_dir.is_some() {
            return Err(Error::Usage(
                "--raw-dir keeps downloads, and --input downloads nothing".into(),
            ));
        }
    } else {
        for p in &sources {
            if p.source.kind != SourceKind::List && p.source.downloads().is_empty() {
                return Err(Error::Config(format!(
                    "scrape.sources: {}: nothing to download: give its page under downloads: \
                     [{{url: …}}], or its files with --input",
                    p.name
                )));
            }
        }
    }
    if let Some(p) = &cli.raw_dir
        && (tickerlake::io::is_stdio(p) || tickerlake::io::is_stdout_alias(p))
    {
        return Err(Error::Usage(format!(
            "--raw-dir {}: a directory on disk, not a stream",
            p.display()
        )));
    }
    if let Some(p) = &cli.status
        && p.is_dir()
    {
        return Err(Error::Usage(format!(
            "--status {}: a file (it is read back by the next run)",
            p.display()
        )));
    }
    if let Some(p) = &cli.raw_dir
        && p.exists()
        && !p.is_dir()
    {
        return Err(Error::Usage(format!(
            "--raw-dir {}: not a directory",
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
        sources,
        inputs: cli.input.clone(),
        as_of: cli.as_of.unwrap_or_else(|| chrono::Utc::now().date_naive()),
        status: cli.status.clone(),
        summary: cli.summary.clone(),
        raw_dir: cli.raw_dir.clone(),
        verbose: cli.common.verbose > 0,
        allow_shrink: cli.allow_shrink,
        min_rows_ratio: config.scrape.min_rows_ratio,
        download: Settings::from_config(config),
    })
}
