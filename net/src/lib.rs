//! HTTP for the network programs (`ohlcv-fetch`, `tickers-scrape`): one way to ask, to wait and to
//! give up, so that every program is as polite to a provider as the others and fails the same way.
//!
//! - [`http`]: one request (a GET, or a POST of a form), classified into an answer (any status,
//!   with its `Retry-After`) or a failure that got none;
//! - [`polite`]: the shared request rate, the retry schedule honouring `Retry-After`, the circuit
//!   breaker;
//! - [`proxies`]: rotation through HTTP/SOCKS proxies (`http.proxies`), falling back to direct.

pub mod http;
pub mod polite;
pub mod proxies;
