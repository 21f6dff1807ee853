//! `ohlcv-fetch`: incremental daily bars from a provider (Yahoo Finance first), streamed as Bar
//! records grouped by symbol.
//!
//! Built in steps (issue 5). So far: the Yahoo chart answer parser ([`yahoo`]), the mapping from
//! canonical tickers to Yahoo symbols ([`symbols`]), one classified GET ([`http`]), and the
//! politeness every worker shares: rate limit, retry schedule with `Retry-After`, circuit
//! breaker ([`polite`]). The program itself comes when it can fetch a universe end to end.

pub mod http;
pub mod polite;
pub mod symbols;
pub mod yahoo;
