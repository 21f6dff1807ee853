//! The run's options, free of clap types: the flags with `config.yaml`'s values where a flag
//! was not given, built once, then taken by everything below.

use std::path::PathBuf;

use chrono::NaiveDate;
use tickerlake::config::{Config, ProxyUrl};

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
    pub since_lake: Option<PathBuf>,
    /// Days re-fetched before each symbol's last stored bar.
    pub lookback_days: u32,
    /// The provider's base URL, when not the configured one.
    pub base_url: Option<String>,
    pub workers: usize,
    /// Requests per second over all workers.
    pub rate: f64,
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
    pub fn new(cli: &Cli, config: &Config) -> Options {
        Options {
            inputs: cli.inputs.clone(),
            symbols: cli.symbols.clone(),
            start: cli.start,
            end: cli.end,
            days_back: cli.days_back,
            since_lake: cli.since_lake.clone(),
            lookback_days: cli.lookback.unwrap_or(config.fetch.lookback_days),
            base_url: cli.base_url.clone(),
            workers: cli.workers.unwrap_or(config.fetch.workers).max(1) as usize,
            rate: cli.rate.unwrap_or(config.fetch.rate),
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
        }
    }
}
