//! tickerlake: the thin library the tickerlake programs share.
//!
//! Only what two programs need lives here: the record contracts ([`records`]) and their exact
//! [`decimal`] prices, [`volume`]s kept as said and safe [`symbol`]s, the [`listing`] names unique across venues, streaming NDJSON I/O ([`ndjson`], [`io`]), atomic
//! file output ([`atomic`]), the fetch state `ohlcv-fetch` keeps and `qa-check` reads
//! ([`fetch_state`]), the pipeline's data directory and run records `run-record` writes and
//! `lake-status` reads ([`runs`]), `config.yaml` ([`config`]), CLI, logging and progress conventions
//! ([`cli`], [`logging`], [`progress`]), the exit codes ([`exit`]) and a [`stable_hash`] for
//! seeded draws.

pub mod atomic;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod csv_cells;
pub mod decimal;
pub mod echo;
pub mod error;
pub mod exit;
mod fast_bar;
pub mod fetch_state;
pub mod io;
mod lenient;
pub mod listing;
pub mod logging;
pub mod ndjson;
pub mod parallel;
pub mod progress;
pub mod records;
pub mod runs;
pub mod scrape_status;
pub mod series;
pub mod stable_hash;
pub mod staging;
pub mod symbol;
pub mod volume;

pub use decimal::Decimal;
pub use error::Error;
pub use exit::{ExitCode, HasExitCode};
pub use records::{Action, Bar, FetchError, Finding, Record, Ticker};
pub use symbol::Symbol;
pub use volume::Volume;
