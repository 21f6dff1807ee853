//! `ohlcv-fetch`: daily bars from a provider (Yahoo Finance first) for a ticker universe,
//! streamed as Bar records grouped by symbol, with splits and dividends and a dead-letter list
//! beside them.
//!
//! - [`yahoo`]: the chart answer parser (exchange dates, float32 prices, nulls, events);
//! - [`symbols`]: canonical ticker → Yahoo symbol;
//! - HTTP, the shared rate limit, the retry schedule honouring `Retry-After`, the circuit breaker
//!   and proxy rotation: the `net` crate (`tickers-scrape` asks the same way);
//! - [`provider`]: the provider trait, Yahoo behind it: each answer judged into bars, "up to
//!   date", a retry or a dead-letter code;
//! - [`workers`]: many symbols on `--workers` threads, results streamed in completion order;
//! - the per-symbol state file and the dead-letter list: `tickerlake::fetch_state` (qa-check reads it);
//! - [`raw`]: `--raw-dir`, the provider's answers kept as they came;
//! - [`cli`] and [`options`]: the command line, and the options it becomes with `config.yaml`;
//! - [`app`]: the program.

pub mod app;
pub mod cli;
pub mod flatfiles;
pub mod options;
pub mod polygon_rest;
pub mod provider;
pub mod raw;
pub mod stooq;
pub mod symbols;
pub mod volume;
pub mod workers;
pub mod yahoo;

pub use app::{Error, run};
pub use cli::Cli;
