//! Findings out: the calendar-dependent and whole-set checks, the per-check tally, the summary
//! (`--summary`, and a table on a terminal) and the exit status.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};

use chrono::NaiveDate;
use lake::bars::date_from_days;
use serde::Serialize;
use serde_json::{Map, Value, json};
use tickerlake::fetch_state::State;
use tickerlake::io::Output;
use tickerlake::ndjson::NdjsonWriter;
use tickerlake::records::{Finding, Severity, Ticker};
use tickerlake::{ExitCode, Symbol};

use crate::calendar::TradingDays;
use crate::checks::{Check, Hit, Rules, SymbolReport};
use crate::{Error, Options};
use tickerlake::series::day_text;

/// A symbol's findings once the calendar is known: its own, plus `missing_dates` and
/// `zero_volume` on trading days, in date order.
pub fn calendar_hits(report: SymbolReport, days: &mut TradingDays, opts: &Options) -> Vec<Hit> {
    let rules = &opts.rules;
    let SymbolReport {
        symbol,
        mut hits,
        dates,
        zero_volume,
    } = report;
    let hit = |check: Check, date: i32, details: Map<String, Value>| Hit {
        check,
        severity: rules.severity(check),
        symbol: Some(symbol.clone()),
        date: Some(date),
        details,
    };
    if rules.on(Check::ZeroVolume) {
        for d in zero_volume {
            if days.is_trading(d) {
                hits.push(hit(Check::ZeroVolume, d, Map::new()));
            }
        }
    }
    if rules.on(Check::MissingDates)
        && let (Some(&first), Some(&last)) = (dates.first(), dates.last())
    {
        let from = if opts.full_history {
            first
        } else {
            days.window_start(last, rules.qa.missing_dates_window)
                .max(first)
        };
        // Walk the trading days and the symbol's dates together; a run of missing days is one
        // gap, reported on each of its days.
        let expected = days.range(from, last);
        let mut have = dates.iter().copied().peekable();
        let mut gap: Vec<i32> = Vec::new();
        let mut gaps: Vec<Vec<i32>> = Vec::new();
        for &d in expected {
            while have.next_if(|x| *x < d).is_some() {}
            if have.peek() == Some(&d) {
                if !gap.is_empty() {
                    gaps.push(std::mem::take(&mut gap));
                }
            } else {
                gap.push(d);
            }
        }
        for g in gaps {
            for &d in &g {
                let mut details = Map::new();
                details.insert("gap_start".into(), json!(day_text(g[0])));
                details.insert("gap_end".into(), json!(day_text(g[g.len() - 1])));
                details.insert("gap_trading_days".into(), json!(g.len()));
                hits.push(hit(Check::MissingDates, d, details));
            }
        }
    }
    hits.sort_by_key(|h| (h.date, h.check));
    hits
}

/// What the whole-set checks look at.
pub struct WholeSet<'a> {
    pub as_of: i32,
    /// Each symbol of the input and its last bar date.
    pub symbols: &'a [(Symbol, Option<i32>)],
    pub universe: Option<&'a [Ticker]>,
    pub state: Option<&'a State>,
}

/// `lag`, `fetch_error`, `coverage`, `freshness` and `stock_count`.
pub fn set_hits(set: &WholeSet<'_>, days: &mut TradingDays, rules: &Rules) -> Vec<Hit> {
    let mut out = Vec::new();
    let qa = &rules.qa;
    let last: HashMap<&Symbol, Option<i32>> = set.symbols.iter().map(|(s, d)| (s, *d)).collect();
    // The universe of lag and coverage: the active tickers, else every symbol of the input.
    let universe: Vec<&Symbol> = match set.universe {
        Some(u) => u.iter().map(|t| &t.symbol).collect(),
        None => set.symbols.iter().map(|(s, _)| s).collect(),
    };
    let mut lagging: Vec<(&Symbol, Option<i32>, usize)> = Vec::new();
    for s in &universe {
        let l = last.get(s).copied().flatten();
        let behind = match l {
            Some(d) => days.behind(d, set.as_of),
            None => usize::MAX,
        };
        if behind > qa.lag_trading_days as usize {
            lagging.push((s, l, behind));
        }
    }
    let share = |n: usize| {
        if universe.is_empty() {
            0.0
        } else {
            n as f64 * 100.0 / universe.len() as f64
        }
    };
    if rules.on(Check::Lag) {
        let lag_share = share(lagging.len());
        let severity = if lag_share > qa.lag_critical_pct {
            rules.severity(Check::Lag).max(Severity::Critical)
        } else {
            rules.severity(Check::Lag)
        };
        for (s, l, behind) in &lagging {
            let mut d = Map::new();
            d.insert(
                "last_date".into(),
                l.map_or(Value::Null, |x| json!(day_text(x))),
            );
            d.insert(
                "trading_days_behind".into(),
                if *behind == usize::MAX {
                    Value::Null
                } else {
                    json!(behind)
                },
            );
            d.insert("threshold".into(), json!(qa.lag_trading_days));
            d.insert("lagging_share_pct".into(), json!(round2(lag_share)));
            out.push(Hit {
                check: Check::Lag,
                severity,
                symbol: Some((*s).clone()),
                date: Some(set.as_of),
                details: d,
            });
        }
    }
    if rules.on(Check::FetchError)
        && let Some(state) = set.state
    {
        let active: Option<std::collections::HashSet<&str>> = set
            .universe
            .map(|u| u.iter().map(|t| t.symbol.as_str()).collect());
        for (sym, st) in &state.symbols {
            if st.consecutive_failures < qa.fetch_error_failures
                || active.as_ref().is_some_and(|a| !a.contains(sym.as_str()))
            {
                continue;
            }
            let Ok(symbol) = Symbol::parse(sym) else {
                continue;
            };
            let mut d = Map::new();
            d.insert(
                "consecutive_failures".into(),
                json!(st.consecutive_failures),
            );
            d.insert("status".into(), json!(st.status));
            d.insert("last_error".into(), json!(st.last_error));
            d.insert(
                "last_fetched_date".into(),
                json!(st.last_fetched_date.map(|x| x.to_string())),
            );
            out.push(Hit {
                check: Check::FetchError,
                severity: rules.severity(Check::FetchError),
                symbol: Some(symbol),
                date: Some(set.as_of),
                details: d,
            });
        }
    }
    let whole = |check: Check, details: Map<String, Value>| Hit {
        check,
        severity: rules.severity(check),
        symbol: None,
        date: Some(set.as_of),
        details,
    };
    if rules.on(Check::Coverage)
        && let Some(u) = set.universe
    {
        let fresh = u.len() - lagging.len();
        let pct = share(fresh);
        if pct < qa.coverage_min_pct {
            let mut d = Map::new();
            d.insert("active".into(), json!(u.len()));
            d.insert("fresh".into(), json!(fresh));
            d.insert("share_pct".into(), json!(round2(pct)));
            d.insert("threshold_pct".into(), json!(qa.coverage_min_pct));
            d.insert(
                "stale_examples".into(),
                json!(
                    lagging
                        .iter()
                        .take(10)
                        .map(|(s, _, _)| s.as_str())
                        .collect::<Vec<_>>()
                ),
            );
            out.push(whole(Check::Coverage, d));
        }
    }
    if rules.on(Check::Freshness) {
        let newest = set.symbols.iter().filter_map(|(_, d)| *d).max();
        let age = newest.map(|n| set.as_of - n);
        if age.is_none_or(|a| a > qa.freshness_days as i32) {
            let mut d = Map::new();
            d.insert(
                "newest_date".into(),
                newest.map_or(Value::Null, |n| json!(day_text(n))),
            );
            d.insert("days_old".into(), json!(age));
            d.insert("threshold_days".into(), json!(qa.freshness_days));
            out.push(whole(Check::Freshness, d));
        }
    }
    if rules.on(Check::StockCount) && qa.training.stocks > 0 {
        let n = set.symbols.len();
        if n != qa.training.stocks as usize {
            let mut d = Map::new();
            d.insert("stocks".into(), json!(n));
            d.insert("expected".into(), json!(qa.training.stocks));
            out.push(whole(Check::StockCount, d));
        }
    }
    out
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Per check: findings, distinct symbols, highest severity.
#[derive(Debug, Clone, Default)]
struct Tally {
    findings: u64,
    symbols: u64,
    last_symbol: Option<Symbol>,
    worst: Option<Severity>,
}

/// Writes findings as they come and keeps the tally.
pub struct Findings {
    out: NdjsonWriter<Output>,
    tally: Vec<Tally>,
    run_id: String,
    fail_on: Severity,
}

/// The run's facts for the summary.
#[derive(Debug, Clone)]
pub struct Summary {
    pub rows: u64,
    pub symbols: u64,
    pub universe: Option<u64>,
    pub calendar: &'static str,
    pub as_of: NaiveDate,
    pub seconds: f64,
}

#[derive(Debug, Serialize)]
struct CheckLine {
    check: &'static str,
    severity: Severity,
    findings: u64,
    symbols: u64,
    share_pct: f64,
    colour: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct SummaryFile<'a> {
    run_id: &'a str,
    as_of: String,
    calendar: &'a str,
    rows: u64,
    symbols: u64,
    universe: Option<u64>,
    findings: u64,
    failing: u64,
    fail_on: Severity,
    exit_status: u8,
    seconds: f64,
    checks: Vec<CheckLine>,
}

impl Findings {
    pub fn stdout(rules: &Rules) -> Findings {
        Findings {
            out: NdjsonWriter::new(Output::stdout(), "<stdout>"),
            tally: vec![Tally::default(); Check::ALL.len()],
            run_id: tickerlake::logging::run_id().to_string(),
            fail_on: rules.qa.fail_on,
        }
    }

    pub fn write(&mut self, hits: Vec<Hit>) -> Result<(), Error> {
        for h in hits {
            let t = &mut self.tally[h.check as usize];
            t.findings += 1;
            if h.symbol.is_some() && h.symbol != t.last_symbol {
                t.symbols += 1;
                t.last_symbol.clone_from(&h.symbol);
            }
            t.worst = t.worst.max(Some(h.severity));
            let finding = Finding {
                check: h.check.id().to_string(),
                severity: h.severity,
                symbol: h.symbol,
                date: h.date.and_then(date_from_days),
                details: h.details,
                run_id: self.run_id.clone(),
            };
            self.out.write(&finding)?;
        }
        Ok(())
    }

    /// Flushes the findings, writes the summary and returns the exit status.
    pub fn finish(self, summary: Summary, opts: &Options) -> Result<ExitCode, Error> {
        let Findings {
            out,
            tally,
            run_id,
            fail_on,
        } = self;
        out.into_inner()?.finish()?;
        let universe = summary.universe.unwrap_or(summary.symbols);
        let mut lines = Vec::new();
        let (mut total, mut failing) = (0u64, 0u64);
        let mut failed_checks = Vec::new();
        for c in &opts.checks {
            let t = &tally[*c as usize];
            total += t.findings;
            let severity = t.worst.unwrap_or(opts.rules.severity(*c));
            if t.worst.is_some_and(|w| crate::fails(w, fail_on)) {
                failing += t.findings;
                failed_checks.push(format!("{} {}", c.id(), t.findings));
            }
            let share_pct = if universe == 0 {
                0.0
            } else {
                round2(t.symbols as f64 * 100.0 / universe as f64)
            };
            let skipped = match c {
                Check::Coverage if opts.universe.is_none() => Some("needs --universe"),
                Check::FetchError if opts.state.is_none() => Some("needs --state"),
                Check::StockCount if opts.rules.qa.training.stocks == 0 => {
                    Some("qa.training.stocks is 0")
                }
                _ => None,
            };
            lines.push(CheckLine {
                check: c.id(),
                severity,
                findings: t.findings,
                symbols: t.symbols,
                share_pct,
                colour: colour(*c, t.findings, share_pct, t.worst),
                skipped,
            });
        }
        let code = if failing > 0 {
            ExitCode::Findings
        } else {
            ExitCode::Success
        };
        let file = SummaryFile {
            run_id: &run_id,
            as_of: summary.as_of.to_string(),
            calendar: summary.calendar,
            rows: summary.rows,
            symbols: summary.symbols,
            universe: summary.universe,
            findings: total,
            failing,
            fail_on,
            exit_status: code.code(),
            seconds: (summary.seconds * 1000.0).round() / 1000.0,
            checks: lines,
        };
        if let Some(path) = &opts.summary {
            tickerlake::cli::write_summary(path, &file)?;
        }
        let stderr = std::io::stderr();
        // The table is for a person at a terminal; a JSON Lines stream gets none.
        if !opts.quiet && stderr.is_terminal() && !tickerlake::logging::stderr_is_json() {
            let _ = stderr.lock().write_all(table(&file).as_bytes());
        }
        if failing > 0 {
            tracing::error!(
                findings = failing,
                "{failing} finding(s) at or above {}: {}",
                severity_name(fail_on),
                failed_checks.join(", ")
            );
        }
        Ok(code)
    }
}

fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warn => "warn",
        Severity::Critical => "critical",
    }
}

/// Green, yellow or red, by the notes' §5.6: `lag` by the share of the universe lagging
/// (≤ 1 % / ≤ 5 % / more), fetch errors by count (≤ 50 / ≤ 100 / more), the row checks by count
/// (≤ 200 / ≤ 500 / more). Info checks never go red (they are not counted in red banners); the
/// whole-set and training checks are red when they fail.
pub fn colour(
    check: Check,
    findings: u64,
    share_pct: f64,
    worst: Option<Severity>,
) -> &'static str {
    let by = |v: f64, green: f64, yellow: f64| {
        if v <= green {
            "green"
        } else if v <= yellow {
            "yellow"
        } else {
            "red"
        }
    };
    match check {
        Check::Lag => by(share_pct, 1.0, 5.0),
        Check::FetchError => by(findings as f64, 50.0, 100.0),
        Check::MissingDates
        | Check::NullFields
        | Check::ZeroVolume
        | Check::PriceJump
        | Check::Ohlc
        | Check::Duplicate => by(findings as f64, 200.0, 500.0),
        Check::IqrJump | Check::VolumeSpike => match by(findings as f64, 200.0, 500.0) {
            "red" => "yellow",
            c => c,
        },
        // A bar no source should give: red at the first one.
        Check::Coverage
        | Check::Freshness
        | Check::NegativeVolume
        | Check::FutureDate
        | Check::StockCount
        | Check::HistoryYears
        | Check::AllNullColumn
        | Check::MinPrice
        | Check::MinVolume => {
            if worst.is_some() {
                "red"
            } else {
                "green"
            }
        }
    }
}

/// The compact table for a terminal.
fn table(s: &SummaryFile<'_>) -> String {
    let paint = |c: &str, text: String| {
        let code = match c {
            "green" => "32",
            "yellow" => "33",
            _ => "31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    };
    let mut t = format!(
        "{:<16} {:<9} {:>9} {:>8} {:>8}\n",
        "check", "severity", "findings", "symbols", "share"
    );
    for l in &s.checks {
        let row = format!(
            "{:<16} {:<9} {:>9} {:>8} {:>7.2}%",
            l.check,
            severity_name(l.severity),
            l.findings,
            l.symbols,
            l.share_pct
        );
        match l.skipped {
            Some(why) => t.push_str(&format!("{row}  (skipped: {why})\n")),
            None => {
                t.push_str(&paint(l.colour, row));
                t.push('\n');
            }
        }
    }
    t.push_str(&format!(
        "{} symbols, {} rows, as of {}, calendar {}: {} findings, {} at or above {} -> exit {} ({:.2} s)\n",
        s.symbols,
        s.rows,
        s.as_of,
        s.calendar,
        s.findings,
        s.failing,
        severity_name(s.fail_on),
        s.exit_status,
        s.seconds
    ));
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_follow_the_notes() {
        assert_eq!(colour(Check::Lag, 10, 0.5, None), "green");
        assert_eq!(colour(Check::Lag, 10, 3.0, Some(Severity::Warn)), "yellow");
        assert_eq!(colour(Check::Lag, 10, 6.0, Some(Severity::Critical)), "red");
        assert_eq!(
            colour(Check::NullFields, 200, 0.0, Some(Severity::Warn)),
            "green"
        );
        assert_eq!(
            colour(Check::NullFields, 201, 0.0, Some(Severity::Warn)),
            "yellow"
        );
        assert_eq!(
            colour(Check::NullFields, 501, 0.0, Some(Severity::Warn)),
            "red"
        );
        assert_eq!(
            colour(Check::FetchError, 51, 0.0, Some(Severity::Critical)),
            "yellow"
        );
        assert_eq!(
            colour(Check::VolumeSpike, 10_000, 0.0, Some(Severity::Info)),
            "yellow"
        );
        assert_eq!(
            colour(Check::Freshness, 1, 0.0, Some(Severity::Critical)),
            "red"
        );
        assert_eq!(colour(Check::Freshness, 0, 0.0, None), "green");
    }
}
