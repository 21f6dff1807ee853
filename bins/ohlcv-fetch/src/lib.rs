//! `ohlcv-fetch`: incremental daily bars from a provider (Yahoo Finance first), streamed as Bar
//! records grouped by symbol.
//!
//! Built in steps (issue 5); so far the pieces that need no network: the Yahoo chart answer
//! parser ([`yahoo`]) and the mapping from canonical tickers to Yahoo symbols ([`symbols`]).

pub mod http;
pub mod symbols;
pub mod yahoo;
