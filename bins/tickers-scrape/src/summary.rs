//! The run's summary (stderr, `--summary FILE`): per source its status and counts, and the
//! universe's totals as the notes' `metadata.json` keeps them — listings per market (`us`, and
//! each other venue's country: `fr`, `de`, `se`…), per index or group tag (`sp500`), and in all.
//! A listing several sources list counts once.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use tickerlake::ExitCode;
use tickerlake::records::Ticker;

use crate::SourceRun;
use crate::options::Planned;
use crate::source::Counts;
use crate::status::Outcome;

/// One source's line.
#[derive(Debug, Clone, Serialize)]
pub struct SourceSummary {
    pub source: String,
    pub kind: &'static str,
    pub status: Outcome,
    /// `SCRAPE404`, `SCRAPEROWS`, `SCRAPENET`, `SCRAPEHTTP` when it failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub records: u64,
    #[serde(flatten)]
    pub counts: Counts,
    /// Requests retried while downloading it (429, 5xx, timeouts).
    pub retries: u32,
    /// Records per venue (MIC; `none` without one).
    pub by_exchange: BTreeMap<String, u64>,
    /// Records per index or group tag (`sp500`, `ndx`, a list's groups).
    pub by_index: BTreeMap<String, u64>,
    pub seconds: f64,
}

impl SourceSummary {
    pub fn new(p: &Planned, run: &SourceRun, seconds: f64) -> SourceSummary {
        let tickers = &run.tickers;
        let mut by_exchange = BTreeMap::new();
        for t in tickers {
            *by_exchange
                .entry(t.exchange.clone().unwrap_or_else(|| "none".into()))
                .or_insert(0) += 1;
        }
        let mut by_index = BTreeMap::new();
        for tag in tickers.iter().flat_map(|t| &t.indexes) {
            *by_index.entry(tag.clone()).or_insert(0) += 1;
        }
        SourceSummary {
            source: p.name.clone(),
            kind: p.source.kind.name(),
            status: run.outcome,
            code: run.code.clone(),
            records: tickers.len() as u64,
            counts: run.counts.clone(),
            retries: run.retries,
            by_exchange,
            by_index,
            seconds,
        }
    }
}

/// Distinct listings of the universe.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Per market: `us`, else the venue's country in lower case.
    pub markets: BTreeMap<String, u64>,
    /// Per index or group tag.
    pub indexes: BTreeMap<String, u64>,
    pub total: u64,
}

impl Totals {
    /// Over `tickers`, sorted by name.
    pub fn of(tickers: &[Ticker]) -> Totals {
        let mut totals = Totals::default();
        let mut tags: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut previous: Option<&str> = None;
        for t in tickers {
            for tag in &t.indexes {
                tags.entry(tag).or_default().insert(t.symbol.as_str());
            }
            if previous == Some(t.symbol.as_str()) {
                continue;
            }
            previous = Some(t.symbol.as_str());
            totals.total += 1;
            *totals
                .markets
                .entry(tickerlake::listing::market(
                    t.symbol.as_str(),
                    t.exchange.as_deref(),
                ))
                .or_insert(0) += 1;
        }
        totals.indexes = tags
            .into_iter()
            .map(|(tag, names)| (tag.to_string(), names.len() as u64))
            .collect();
        totals
    }
}

/// The whole run.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub sources: Vec<SourceSummary>,
    pub totals: Totals,
    /// Records written (a listing per source that lists it).
    pub records: u64,
    pub seconds: f64,
}

impl Summary {
    pub fn new(sources: Vec<SourceSummary>, tickers: &[Ticker], seconds: f64) -> Summary {
        Summary {
            sources,
            totals: Totals::of(tickers),
            records: tickers.len() as u64,
            seconds,
        }
    }

    /// On stderr: a line per source and one for the universe (on a terminal, or with -v).
    pub fn print(&self, verbose: bool) {
        for s in &self.sources {
            let status = match (s.status, &s.code) {
                (Outcome::Ok, _) => String::new(),
                (_, Some(code)) => format!(" — {} {code}", status_name(s.status)),
                (_, None) => format!(" — {}", status_name(s.status)),
            };
            let text = format!(
                "tickers-scrape: {}: {} records ({} rows, {} test issues, {} bad symbols, {} \
                 unknown venues), {:.2} s{status}",
                s.source,
                s.records,
                s.counts.rows,
                s.counts.test_issues,
                s.counts.bad_symbols,
                s.counts.unknown_venues,
                s.seconds
            );
            tickerlake::cli::print_summary(&text, s, verbose);
        }
        let t = &self.totals;
        let parts: Vec<String> = t
            .markets
            .iter()
            .chain(&t.indexes)
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let text = format!(
            "tickers-scrape: universe: {} listings ({}), {} records, {:.2} s",
            t.total,
            parts.join(", "),
            self.records,
            self.seconds
        );
        tickerlake::cli::print_summary(&text, &self.totals, verbose);
    }

    /// 0 every source ok; 65 every source failed its structure check; 69 no source could be
    /// downloaded; 75 any other failure (the others' records are written).
    pub fn exit_code(&self) -> ExitCode {
        let failed: Vec<Outcome> = self
            .sources
            .iter()
            .map(|s| s.status)
            .filter(|s| *s != Outcome::Ok)
            .collect();
        if failed.is_empty() {
            ExitCode::Success
        } else if failed.len() < self.sources.len() {
            ExitCode::TempFail
        } else if failed.iter().all(|s| *s == Outcome::StructureError) {
            ExitCode::DataErr
        } else if failed.iter().all(|s| *s == Outcome::FetchError) {
            ExitCode::Unavailable
        } else {
            ExitCode::TempFail
        }
    }
}

fn status_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Ok => "ok",
        Outcome::StructureError => "structure_error",
        Outcome::FetchError => "fetch_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticker(symbol: &str, exchange: Option<&str>, indexes: &[&str]) -> Ticker {
        let mut t: Ticker = serde_json::from_value(serde_json::json!({
            "symbol": symbol,
            "first_seen": "2025-07-21",
            "last_seen": "2025-07-21",
            "status": "active",
        }))
        .unwrap();
        t.exchange = exchange.map(str::to_string);
        t.indexes = indexes.iter().map(|s| s.to_string()).collect();
        t
    }

    #[test]
    fn totals_count_each_listing_once_per_market_and_index() {
        // AAPL from three sources, AIR on two venues, SAP.DE from a list without its venue.
        let tickers = [
            ticker("AAPL", Some("XNAS"), &[]),
            ticker("AAPL", None, &["sp500", "ndx"]),
            ticker("AAPL", Some("XNAS"), &["ndx"]),
            ticker("AIR", Some("XNYS"), &[]),
            ticker("AIR.PA", Some("XPAR"), &[]),
            ticker("BRK.B", None, &["sp500"]),
            ticker("SAP.DE", None, &["europe"]),
        ];
        let t = Totals::of(&tickers);
        assert_eq!(t.total, 5);
        let markets: Vec<(&str, u64)> = t.markets.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(markets, [("de", 1), ("fr", 1), ("us", 3)]);
        let indexes: Vec<(&str, u64)> = t.indexes.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(indexes, [("europe", 1), ("ndx", 1), ("sp500", 2)]);
    }
}
