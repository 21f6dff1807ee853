//! `ohlcv-fetch`: daily bars from providers (Yahoo Finance, Stooq, Polygon's REST API and flat
//! files) for a ticker universe, streamed as Bar records grouped by symbol, with splits and
//! dividends and a dead-letter list beside them.
//!
//! - [`provider`]: the provider trait, each provider's rate and breaker ([`provider::Lane`]),
//!   the politeness every request goes through ([`provider::Asker`]) and the fallback chain;
//! - [`yahoo`]: the chart answer parser (exchange dates, float32 prices, nulls, events) and the
//!   Yahoo provider;
//! - [`symbols`]: canonical ticker → Yahoo symbol;
//! - [`stooq`]: Stooq's CSV download (English or Polish headers, an unfinished session's row);
//! - [`polygon_rest`]: Polygon's aggregates (pages), splits and dividends, the key in a header;
//! - [`flatfiles`]: Polygon's day files from S3 or `--input`, date-driven;
//! - [`volume`]: volumes as providers spell them;
//! - HTTP, the shared rate limit, the retry schedule honouring `Retry-After`, the circuit breaker
//!   and proxy rotation: the `net` crate (`tickers-scrape` asks the same way);
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
