//! The run's options, free of clap types: the flags with `config.yaml`'s values where a flag
//! was not given, built once, then taken by everything below.

use std::path::PathBuf;

use chrono::NaiveDate;
use tickerlake::config::{Config, ProviderName, ProxyUrl};

use crate::cli::Cli;
use net::polite::RetryPolicy;

#[derive(Debug, Clone)]
pub struct Options {
    /// Ticker NDJSON files; none or `-` is stdin (unless `symbols`).
    pub inputs: Vec<PathBuf>,
    /// `--symbols`, as given.
    pub symbols: Vec<String>,
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
    pub days_back: Option<u32>,
    /// The lake whose last dates start each symbol (a directory or `s3://…`).
    pub since_lake: Option<tickerlake::cli::LakeLocation>,
    /// Days re-fetched before each symbol's last stored bar.
    pub lookback_days: u32,
    /// The providers, in the order each symbol asks them.
    pub providers: Vec<ProviderName>,
    /// The first provider's base URL, when not the configured one.
    pub base_url: Option<String>,
    /// Day files to read instead of downloading them (`polygon-flatfiles`).
    pub day_files: Vec<PathBuf>,
    /// Every ticker of the day files, not a universe's.
    pub all_tickers: bool,
    /// Polygon's splits and dividends for a window around `--end`, market-wide.
    pub actions_window: bool,
    pub workers: usize,
    /// Requests per second over all workers, each provider (`--rate`); else each provider's
    /// configured rate.
    pub rate: Option<f64>,
    pub retry: RetryPolicy,
    pub proxies: Vec<ProxyUrl>,
    pub rotate_every: usize,
    pub actions: Option<PathBuf>,
    pub errors: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub retry_dlq: bool,
    /// Delisted and archived tickers are fetched too.
    pub include_delisted: bool,
    pub max_universe_age: Option<u32>,
    pub raw_dir: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    pub quiet: bool,
}

impl Options {
    pub fn new(cli: &Cli, config: &Config) -> Result<Options, crate::Error> {
        let providers = match &cli.provider {
            Some(list) => ProviderName::parse_list(list).map_err(crate::Error::Usage)?,
            None => {
                ProviderName::parse_list(&config.fetch.provider).map_err(crate::Error::Config)?
            }
        };
        Ok(Options {
            providers,
            day_files: cli.input.clone(),
            all_tickers: cli.all_tickers,
            actions_window: cli.actions_window,
            inputs: cli.inputs.clone(),
            symbols: cli.symbols.clone(),
            start: cli.start,
            end: cli.end,
            days_back: cli.days_back,
            since_lake: cli.since_lake.clone(),
            lookback_days: cli.lookback.unwrap_or(config.fetch.lookback_days),
            base_url: cli.base_url.clone(),
            workers: cli.workers.unwrap_or(config.fetch.workers).max(1) as usize,
            rate: cli.rate,
            retry: RetryPolicy {
                steps: config.fetch.backoff.iter().map(|s| s.0).collect(),
                max_retry_after: config.fetch.max_retry_after.0,
                cap_setting: "fetch.max_retry_after",
            },
            // --proxy replaces http.proxies.
            proxies: if cli.proxy.is_empty() {
                config.http.proxies.clone()
            } else {
                cli.proxy.iter().map(ProxyUrl::new).collect()
            },
            rotate_every: cli.rotate_every.unwrap_or(config.fetch.rotate_every) as usize,
            actions: cli.actions.clone(),
            errors: cli.errors.clone(),
            state: cli.state.clone(),
            retry_dlq: cli.retry_dlq,
            include_delisted: cli.include_delisted,
            max_universe_age: cli.max_universe_age,
            raw_dir: cli.raw_dir.clone(),
            summary: cli.summary.clone(),
            quiet: cli.common.quiet,
        })
    }
}
