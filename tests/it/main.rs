//! The one integration-test binary: runs the real programs on real fixtures.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests

mod browser;
mod calendar;
mod cli_conventions;
mod data_safety;
mod help;
mod lake_s3;
mod lake_status;
mod ohlcv_fetch;
mod one_shape;
mod pipeline;
mod providers;
mod qa_check;
mod qlib_bin;
mod records;
mod replay_server;
mod spark;
mod tickers_filter;
mod tickers_scrape;
mod tickers_scrape_download;
mod to_parquet;
