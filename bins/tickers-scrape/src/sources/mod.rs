//! One module per kind of listing source (`scrape.sources.<name>.kind` in `config.yaml`).

pub mod euronext;
pub mod html_table;
pub mod list;
pub mod nasdaqtrader;
pub mod screener;
pub mod sec;
pub mod xetra;
