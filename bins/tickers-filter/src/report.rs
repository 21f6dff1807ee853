//! The report (stderr with `-v` or on a terminal, `--report FILE`): records in per source, how
//! many were merged into another source's record of the same listing, what each rule left out
//! (every rule named, zero or not), and the universe kept per market and index tag.

use std::collections::BTreeMap;

use serde::Serialize;
use tickerlake::records::Ticker;

use crate::junk::Rule;
use crate::merge::Record;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Records read.
    pub records: u64,
    /// Records read per source (`none` without one).
    pub by_source: BTreeMap<String, u64>,
    /// Records merged into another source's record of the same listing.
    pub merged: u64,
    /// Listings each rule left out, in rule order.
    pub rules: BTreeMap<Rule, u64>,
    /// Listings left out per source (the record that won the merge) and rule.
    pub rules_by_source: BTreeMap<String, BTreeMap<Rule, u64>>,
    /// Listings kept.
    pub kept: u64,
    /// Listings kept per status (with `--previous`, delisted and archived ones stay).
    pub statuses: BTreeMap<&'static str, u64>,
    /// Listings kept per market: `us`, else the venue's country (`fr`, `se`).
    pub markets: BTreeMap<String, u64>,
    /// Listings kept per index or group tag.
    pub indexes: BTreeMap<String, u64>,
    /// With `--previous`: transitions, unconfirmed absences, refused mass delistings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<crate::lifecycle::Lifecycle>,
    /// With `--target`: per bucket, its listings, quota and draw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<crate::sample::SampleReport>,
    pub seconds: f64,
}

impl Report {
    pub fn new(records: &[Record]) -> Report {
        let mut r = Report {
            records: records.len() as u64,
            rules: Rule::ALL.iter().map(|rule| (*rule, 0)).collect(),
            ..Report::default()
        };
        for rec in records {
            *r.by_source.entry(source(&rec.record)).or_insert(0) += 1;
        }
        r
    }

    pub fn left_out(&mut self, t: &Ticker, rule: Rule) {
        *self.rules.entry(rule).or_insert(0) += 1;
        *self
            .rules_by_source
            .entry(source(t))
            .or_default()
            .entry(rule)
            .or_insert(0) += 1;
    }

    pub fn finish(&mut self, kept: &[Record], seconds: f64) {
        self.kept = kept.len() as u64;
        for r in kept {
            let t = &r.record;
            let status = t.status.name();
            *self.statuses.entry(status).or_insert(0) += 1;
            *self
                .markets
                .entry(tickerlake::listing::market(
                    t.symbol.as_str(),
                    t.exchange.as_deref(),
                ))
                .or_insert(0) += 1;
            for tag in &t.indexes {
                *self.indexes.entry(tag.clone()).or_insert(0) += 1;
            }
        }
        self.seconds = seconds;
    }

    /// One line on stderr (on a terminal, or with -v).
    pub fn print(&self, verbose: bool) {
        let left: Vec<String> = self
            .rules
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(rule, n)| format!("{} {n}", rule.name()))
            .collect();
        let markets: Vec<String> = self
            .markets
            .iter()
            .chain(&self.indexes)
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let text = format!(
            "tickers-filter: {} listings kept ({}) of {} records ({} merged); left out: {}; {:.2} s",
            self.kept,
            markets.join(", "),
            self.records,
            self.merged,
            if left.is_empty() {
                "none".to_string()
            } else {
                left.join(", ")
            },
            self.seconds
        );
        tickerlake::cli::print_summary(&text, self, verbose);
    }
}

fn source(t: &Ticker) -> String {
    t.source.clone().unwrap_or_else(|| "none".into())
}
