//! `ohlcv-fetch`: incremental daily bars from a provider (Yahoo Finance first), streamed as Bar
//! records grouped by symbol.
//!
//! Built in steps (issue 5). So far: the Yahoo chart answer parser ([`yahoo`]), the mapping from
//! canonical tickers to Yahoo symbols ([`symbols`]), one classified GET ([`http`]), the
//! politeness every worker shares: rate limit, retry schedule with `Retry-After`, circuit
//! breaker ([`polite`]), and the provider trait with Yahoo behind it, which turns each answer
//! into bars, "up to date", a retry or a dead-letter code ([`provider`]). The program itself
//! comes when it can fetch a universe end to end.

pub mod http;
pub mod polite;
pub mod provider;
pub mod symbols;
pub mod yahoo;
