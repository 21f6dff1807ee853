//! The checks: their ids and severities, and the per-symbol pass over one symbol's history.
//!
//! [`analyze`] sees one symbol's rows at a time (as the input groups them) and finds what needs
//! only that symbol: duplicates, nulls, broken OHLC, unexplained jumps, statistical outliers and
//! the training-set rules. What needs the trading calendar (`missing_dates`, `zero_volume` on a
//! trading day, `lag`) is finished by [`crate::calendar`] once the calendar is known, and what needs
//! the whole set (`coverage`, `freshness`, `fetch_error`, `stock_count`) at the end.

use std::collections::HashMap;

use lake::series::DayRow;
use serde_json::{Map, Value, json};
use tickerlake::config::Qa;
use tickerlake::records::{ActionKind, Severity};
use tickerlake::series::{PRICE_NAMES, day_text};
use tickerlake::{Symbol, Volume};

/// A check, by its id in findings, `--checks` and `qa.severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    Lag,
    MissingDates,
    NullFields,
    ZeroVolume,
    PriceJump,
    IqrJump,
    VolumeSpike,
    Ohlc,
    Duplicate,
    FetchError,
    Coverage,
    Freshness,
    NegativeVolume,
    FutureDate,
    StockCount,
    HistoryYears,
    AllNullColumn,
    MinPrice,
    MinVolume,
}

impl Check {
    pub const ALL: [Check; 19] = [
        Check::Lag,
        Check::MissingDates,
        Check::NullFields,
        Check::ZeroVolume,
        Check::PriceJump,
        Check::IqrJump,
        Check::VolumeSpike,
        Check::Ohlc,
        Check::Duplicate,
        Check::FetchError,
        Check::Coverage,
        Check::Freshness,
        Check::NegativeVolume,
        Check::FutureDate,
        Check::StockCount,
        Check::HistoryYears,
        Check::AllNullColumn,
        Check::MinPrice,
        Check::MinVolume,
    ];

    /// The nightly gate (`--profile nightly`, the default): the first fourteen.
    pub fn nightly() -> &'static [Check] {
        &Check::ALL[..14]
    }

    /// The training-set validation (`--profile training`): the set's shape and the row checks a
    /// model would train on; nothing about how recent the data is.
    pub const TRAINING: [Check; 13] = [
        Check::StockCount,
        Check::HistoryYears,
        Check::AllNullColumn,
        Check::MinPrice,
        Check::MinVolume,
        Check::MissingDates,
        Check::NullFields,
        Check::ZeroVolume,
        Check::PriceJump,
        Check::Ohlc,
        Check::Duplicate,
        Check::NegativeVolume,
        Check::FutureDate,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Check::Lag => "lag",
            Check::MissingDates => "missing_dates",
            Check::NullFields => "null_fields",
            Check::ZeroVolume => "zero_volume",
            Check::PriceJump => "price_jump",
            Check::IqrJump => "iqr_jump",
            Check::VolumeSpike => "volume_spike",
            Check::Ohlc => "ohlc",
            Check::Duplicate => "duplicate",
            Check::FetchError => "fetch_error",
            Check::Coverage => "coverage",
            Check::Freshness => "freshness",
            Check::NegativeVolume => "negative_volume",
            Check::FutureDate => "future_date",
            Check::StockCount => "stock_count",
            Check::HistoryYears => "history_years",
            Check::AllNullColumn => "all_null_column",
            Check::MinPrice => "min_price",
            Check::MinVolume => "min_volume",
        }
    }

    pub fn parse(id: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.id() == id)
    }

    /// Built-in severity (the notes' §5.2 and §5.8): 🔥 checks are critical, the anomaly
    /// heuristics info, the rest warn. `qa.severity` overrides it.
    pub fn default_severity(self) -> Severity {
        match self {
            Check::PriceJump
            | Check::FetchError
            | Check::Coverage
            | Check::Freshness
            | Check::NegativeVolume
            | Check::FutureDate
            | Check::StockCount
            | Check::HistoryYears
            | Check::AllNullColumn
            | Check::MinPrice
            | Check::MinVolume => Severity::Critical,
            Check::IqrJump | Check::VolumeSpike => Severity::Info,
            Check::Lag
            | Check::MissingDates
            | Check::NullFields
            | Check::ZeroVolume
            | Check::Ohlc
            | Check::Duplicate => Severity::Warn,
        }
    }
}

/// Which checks run, and how.
#[derive(Debug, Clone)]
pub struct Rules {
    pub enabled: [bool; Check::ALL.len()],
    pub severity: [Severity; Check::ALL.len()],
    pub qa: Qa,
    /// `--as-of`, in days since the epoch: a bar dated after it is `future_date`.
    pub as_of: i32,
}

impl Rules {
    pub fn new(checks: &[Check], qa: &Qa) -> Result<Rules, String> {
        let mut enabled = [false; Check::ALL.len()];
        for c in checks {
            enabled[*c as usize] = true;
        }
        let mut severity = Check::ALL.map(Check::default_severity);
        for (id, s) in &qa.severity {
            let c = Check::parse(id).ok_or_else(|| {
                format!(
                    "qa.severity: unknown check {id:?} (known: {})",
                    Check::ALL.map(Check::id).join(", ")
                )
            })?;
            severity[c as usize] = *s;
        }
        Ok(Rules {
            enabled,
            severity,
            qa: qa.clone(),
            as_of: i32::MAX,
        })
    }

    pub fn on(&self, c: Check) -> bool {
        self.enabled[c as usize]
    }

    pub fn severity(&self, c: Check) -> Severity {
        self.severity[c as usize]
    }
}

/// A finding before it gets its run id: `date` in days since the epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub check: Check,
    pub severity: Severity,
    pub symbol: Option<Symbol>,
    pub date: Option<i32>,
    pub details: Map<String, Value>,
}

/// A split or dividend, as the jump checks use it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Event {
    pub date: i32,
    pub kind: ActionKind,
    /// Split: new shares per old share. Dividend: the amount per share.
    pub value: f64,
}

/// What the per-symbol pass leaves for the calendar and the end of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct SymbolReport {
    pub symbol: Symbol,
    /// Findings that need no calendar, in date order.
    pub hits: Vec<Hit>,
    /// Dates with a bar, sorted, one each.
    pub dates: Vec<i32>,
    /// Dates whose bar has volume 0 (a finding only on a trading day).
    pub zero_volume: Vec<i32>,
}

impl SymbolReport {
    pub fn first(&self) -> Option<i32> {
        self.dates.first().copied()
    }

    pub fn last(&self) -> Option<i32> {
        self.dates.last().copied()
    }
}

/// A price as JSON: a number, or null.
fn num(x: f64) -> Value {
    if x.is_finite() { json!(x) } else { Value::Null }
}

/// The per-symbol pass. `rows` are the symbol's bars in input order; `events` its splits and
/// dividends, sorted by date.
pub fn analyze(
    symbol: Symbol,
    mut rows: Vec<DayRow>,
    events: &[Event],
    rules: &Rules,
) -> SymbolReport {
    let dups = tickerlake::series::dedupe(&mut rows);
    let mut hits: Vec<Hit> = Vec::new();
    let hit = |check: Check, date: Option<i32>, details: Map<String, Value>| Hit {
        check,
        severity: rules.severity(check),
        symbol: Some(symbol.clone()),
        date,
        details,
    };
    if rules.on(Check::Duplicate) {
        for (date, copies, differ) in &dups {
            let mut d = Map::new();
            d.insert("copies".into(), json!(copies));
            d.insert("fields_differ".into(), json!(differ));
            hits.push(hit(Check::Duplicate, Some(*date), d));
        }
    }
    // A column null on every row is one the source does not supply (Stooq has no adjusted
    // close): said once, as info, not as a null on every day. The close itself is never "not
    // supplied": bars without closes are nulls to report.
    let mut unsupplied: Vec<&str> = Vec::new();
    if rules.on(Check::NullFields) && rows.len() >= 2 && rows.iter().any(|r| !r.close.is_nan()) {
        for (k, name) in PRICE_NAMES.iter().enumerate() {
            if *name != "close" && rows.iter().all(|r| r.prices()[k].is_nan()) {
                unsupplied.push(name);
            }
        }
        if rows.iter().all(|r| r.volume.is_none()) {
            unsupplied.push("volume");
        }
        if !unsupplied.is_empty() {
            let mut d = Map::new();
            d.insert("fields".into(), json!(unsupplied));
            d.insert("not_supplied".into(), json!(true));
            d.insert("rows".into(), json!(rows.len()));
            hits.push(Hit {
                severity: Severity::Info,
                ..hit(Check::NullFields, rows.first().map(|r| r.date), d)
            });
        }
    }
    let mut zero_volume = Vec::new();
    for r in &rows {
        if rules.on(Check::NullFields) {
            let mut missing: Vec<&str> = PRICE_NAMES
                .iter()
                .zip(r.prices())
                .filter(|(n, p)| p.is_nan() && !unsupplied.contains(n))
                .map(|(n, _)| *n)
                .collect();
            if r.volume.is_none() && !unsupplied.contains(&"volume") {
                missing.push("volume");
            }
            if !missing.is_empty() {
                let mut d = Map::new();
                d.insert("fields".into(), json!(missing));
                hits.push(hit(Check::NullFields, Some(r.date), d));
            }
        }
        if r.volume.is_some_and(Volume::is_zero) {
            zero_volume.push(r.date);
        }
        if rules.on(Check::NegativeVolume)
            && let Some(v) = r.volume.filter(|v| v.is_negative())
        {
            let mut d = Map::new();
            d.insert("volume".into(), json!(v));
            hits.push(hit(Check::NegativeVolume, Some(r.date), d));
        }
        if rules.on(Check::FutureDate) && r.date > rules.as_of {
            let mut d = Map::new();
            d.insert(
                "as_of".into(),
                json!(tickerlake::series::day_text(rules.as_of)),
            );
            hits.push(hit(Check::FutureDate, Some(r.date), d));
        }
        if rules.on(Check::Ohlc)
            && let Some(rule) = ohlc_violation(r)
        {
            let mut d = Map::new();
            d.insert("rule".into(), json!(rule));
            for (n, p) in PRICE_NAMES.iter().zip(r.prices()) {
                d.insert((*n).into(), num(p));
            }
            hits.push(hit(Check::Ohlc, Some(r.date), d));
        }
    }
    if rules.on(Check::PriceJump) || rules.on(Check::IqrJump) {
        jumps(&rows, events, rules, &mut |c, date, d| {
            hits.push(hit(c, Some(date), d))
        });
    }
    if rules.on(Check::VolumeSpike) {
        volume_spikes(&rows, rules, &mut |date, d| {
            hits.push(hit(Check::VolumeSpike, Some(date), d))
        });
    }
    training(&rows, rules, &mut |c, date, d| hits.push(hit(c, date, d)));
    // Date order, then check order: the output is the same however the checks ran.
    hits.sort_by_key(|h| (h.date, h.check));
    SymbolReport {
        symbol,
        hits,
        dates: rows.iter().map(|r| r.date).collect(),
        zero_volume,
    }
}

/// Which OHLC rule a bar breaks, if any. Null prices are left to `null_fields`.
pub fn ohlc_violation(r: &DayRow) -> Option<&'static str> {
    if r.prices().iter().any(|p| *p <= 0.0) {
        return Some("price <= 0");
    }
    let (top, bottom) = match (r.open.is_nan(), r.close.is_nan()) {
        (false, false) => (r.open.max(r.close), r.open.min(r.close)),
        (true, false) => (r.close, r.close),
        (false, true) => (r.open, r.open),
        (true, true) => (r.low, r.high), // only high >= low can be checked
    };
    if r.high < top {
        Some("high < max(open, close)")
    } else if r.low > bottom {
        Some("low > min(open, close)")
    } else {
        None
    }
}

/// `price_jump` and `iqr_jump`: day-over-day close changes, between consecutive bars with a close.
fn jumps(
    rows: &[DayRow],
    events: &[Event],
    rules: &Rules,
    emit: &mut dyn FnMut(Check, i32, Map<String, Value>),
) {
    let limit = rules.qa.price_jump_pct / 100.0;
    // (row index, previous row index, return) for consecutive closes.
    let mut moves: Vec<(usize, usize, f64)> = Vec::with_capacity(rows.len());
    let mut prev: Option<usize> = None;
    for (i, r) in rows.iter().enumerate() {
        if !(r.close.is_finite() && r.close > 0.0) {
            continue;
        }
        if let Some(p) = prev {
            moves.push((i, p, r.close / rows[p].close - 1.0));
        }
        prev = Some(i);
    }
    // Returns across a split or dividend are not the stock's own moves: kept out of the IQR.
    let acted = |i: usize, p: usize| -> Vec<&Event> {
        let (lo, hi) = (rows[p].date, rows[i].date);
        let start = events.partition_point(|e| e.date <= lo);
        events[start..]
            .iter()
            .take_while(|e| e.date <= hi)
            .collect()
    };
    let mut jumped = vec![false; moves.len()];
    let mut with_action = vec![false; moves.len()];
    for (k, &(i, p, ret)) in moves.iter().enumerate() {
        let acts = acted(i, p);
        with_action[k] = !acts.is_empty();
        if ret.abs() <= limit {
            continue;
        }
        // What the close would have been without the actions: a k:1 split divides the
        // unadjusted price by k, a dividend takes its amount off.
        let mut explained_close = rows[i].close;
        for e in &acts {
            match e.kind {
                ActionKind::Split => explained_close *= e.value,
                ActionKind::Dividend => explained_close += e.value,
            }
        }
        let explained = !acts.is_empty() && (explained_close / rows[p].close - 1.0).abs() <= limit;
        if explained {
            continue;
        }
        jumped[k] = true;
        if rules.on(Check::PriceJump) {
            let mut d = Map::new();
            d.insert("close".into(), num(rows[i].close));
            d.insert("prev_close".into(), num(rows[p].close));
            d.insert("prev_date".into(), json!(day_text(rows[p].date)));
            d.insert("change_pct".into(), json!(round4(ret * 100.0)));
            d.insert("threshold_pct".into(), json!(rules.qa.price_jump_pct));
            if !acts.is_empty() {
                d.insert(
                    "actions".into(),
                    json!(
                        acts.iter()
                            .map(
                                |e| json!({"date": day_text(e.date), "action": match e.kind {
                                ActionKind::Split => "split",
                                ActionKind::Dividend => "dividend",
                            }, "value": e.value})
                            )
                            .collect::<Vec<_>>()
                    ),
                );
            }
            emit(Check::PriceJump, rows[i].date, d);
        }
    }
    if !rules.on(Check::IqrJump) {
        return;
    }
    let mut sample: Vec<f64> = moves
        .iter()
        .zip(&with_action)
        .filter(|(_, a)| !**a)
        .map(|(m, _)| m.2)
        .collect();
    // Quartiles of fewer returns than a month's say little about a symbol.
    if sample.len() < MIN_IQR_RETURNS {
        return;
    }
    let (q1, q3) = quartiles(&mut sample);
    let iqr = q3 - q1;
    let (lo, hi) = (q1 - rules.qa.iqr_k * iqr, q3 + rules.qa.iqr_k * iqr);
    for (k, &(i, _, ret)) in moves.iter().enumerate() {
        // A price_jump is already reported; a move across an action is the action's.
        if jumped[k] || with_action[k] || (lo..=hi).contains(&ret) {
            continue;
        }
        let mut d = Map::new();
        d.insert("change_pct".into(), json!(round4(ret * 100.0)));
        d.insert("q1_pct".into(), json!(round4(q1 * 100.0)));
        d.insert("q3_pct".into(), json!(round4(q3 * 100.0)));
        d.insert(
            "fence_pct".into(),
            json!([round4(lo * 100.0), round4(hi * 100.0)]),
        );
        emit(Check::IqrJump, rows[i].date, d);
    }
}

const MIN_IQR_RETURNS: usize = 20;

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// First and third quartiles, linearly interpolated between order statistics (numpy's and
/// pandas' default). `v` is reordered.
pub fn quartiles(v: &mut [f64]) -> (f64, f64) {
    (quantile(v, 0.25), quantile(v, 0.75))
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let frac = pos - lo as f64;
    let (_, a, rest) = v.select_nth_unstable_by(lo, f64::total_cmp);
    let a = *a;
    if frac == 0.0 || rest.is_empty() {
        return a;
    }
    let b = rest.iter().copied().fold(f64::INFINITY, f64::min);
    a + (b - a) * frac
}

/// `volume_spike`: the z-score of a day's log volume against the `qa.volume_window` bars with
/// volume before it. Volume is log-normal: a z-score of raw volume fires on ordinary busy days,
/// one of log volume > 5 means a day several times the usual (≈ 10× for a typical stock).
fn volume_spikes(rows: &[DayRow], rules: &Rules, emit: &mut dyn FnMut(i32, Map<String, Value>)) {
    let window = rules.qa.volume_window as usize;
    let min = (window / 3).max(MIN_VOLUME_HISTORY);
    let logs: Vec<(i32, f64, Volume)> = rows
        .iter()
        .filter_map(|r| match r.volume {
            Some(v) if v.as_f64() > 0.0 => Some((r.date, v.as_f64().ln(), v)),
            _ => None,
        })
        .collect();
    // Running sums over the window, shifted by a typical value against cancellation.
    let shift = logs.first().map_or(0.0, |l| l.1);
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for (t, &(date, x, volume)) in logs.iter().enumerate() {
        let n = t.min(window);
        if n >= min {
            let mean = s1 / n as f64;
            let var = (s2 / n as f64 - mean * mean).max(0.0) * n as f64 / (n - 1) as f64;
            let sd = var.sqrt();
            if sd > 1e-9 {
                let z = (x - shift - mean) / sd;
                if z > rules.qa.volume_z {
                    let mut d = Map::new();
                    d.insert("volume".into(), json!(volume));
                    d.insert(
                        "typical_volume".into(),
                        json!(((mean + shift).exp()).round()),
                    );
                    d.insert("z".into(), json!(round4(z)));
                    d.insert("window".into(), json!(n));
                    emit(date, d);
                }
            }
        }
        let y = x - shift;
        s1 += y;
        s2 += y * y;
        if t >= window {
            let old = logs[t - window].1 - shift;
            s1 -= old;
            s2 -= old * old;
        }
    }
}

const MIN_VOLUME_HISTORY: usize = 10;

/// The per-symbol rules of `--profile training` (the notes' `validate_output`).
fn training(
    rows: &[DayRow],
    rules: &Rules,
    emit: &mut dyn FnMut(Check, Option<i32>, Map<String, Value>),
) {
    let t = &rules.qa.training;
    if rules.on(Check::HistoryYears) {
        let mut years: Vec<i32> = rows
            .iter()
            .filter_map(|r| lake::bars::date_from_days(r.date))
            .map(|d| chrono::Datelike::year(&d))
            .collect();
        years.dedup();
        if years.len() < t.min_years as usize {
            let mut d = Map::new();
            d.insert("years".into(), json!(years.len()));
            d.insert("min_years".into(), json!(t.min_years));
            emit(Check::HistoryYears, rows.first().map(|r| r.date), d);
        }
    }
    if rules.on(Check::AllNullColumn) && !rows.is_empty() {
        let mut cols: Vec<&str> = PRICE_NAMES
            .iter()
            .enumerate()
            .filter(|(k, _)| rows.iter().all(|r| r.prices()[*k].is_nan()))
            .map(|(_, n)| *n)
            .collect();
        if rows.iter().all(|r| r.volume.is_none()) {
            cols.push("volume");
        }
        if !cols.is_empty() {
            let mut d = Map::new();
            d.insert("columns".into(), json!(cols));
            emit(Check::AllNullColumn, None, d);
        }
    }
    // One finding per symbol, on its first offending day, with how many days offend.
    let mut below =
        |check: Check, bad: &dyn Fn(&DayRow) -> bool, value: &dyn Fn(&DayRow) -> f64| {
            let offending: Vec<&DayRow> = rows.iter().filter(|r| bad(r)).collect();
            if let Some(first) = offending.first() {
                let lowest = offending
                    .iter()
                    .map(|r| value(r))
                    .fold(f64::INFINITY, f64::min);
                let mut d = Map::new();
                d.insert("days".into(), json!(offending.len()));
                d.insert("lowest".into(), json!(lowest));
                d.insert(
                    "minimum".into(),
                    if check == Check::MinPrice {
                        json!(t.min_price)
                    } else {
                        json!(t.min_volume)
                    },
                );
                emit(check, Some(first.date), d);
            }
        };
    if rules.on(Check::MinPrice) {
        below(Check::MinPrice, &|r| r.close < t.min_price, &|r| r.close);
    }
    if rules.on(Check::MinVolume) {
        below(
            Check::MinVolume,
            &|r| r.volume.is_some_and(|v| v.as_f64() < t.min_volume as f64),
            &|r| r.volume.map_or(f64::NAN, Volume::as_f64),
        );
    }
}

/// Splits and dividends by symbol, sorted by date.
pub type Events = HashMap<Symbol, Vec<Event>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn row(date: i32, close: f64, volume: i64) -> DayRow {
        DayRow {
            date,
            open: close,
            high: close * 1.01,
            low: close * 0.99,
            close,
            adj_close: close,
            volume: Some(Volume::Whole(volume)),
            source_ts: None,
        }
    }

    fn rules(checks: &[Check]) -> Rules {
        Rules::new(checks, &Qa::default()).unwrap()
    }

    fn sym() -> Symbol {
        Symbol::parse("ABC").unwrap()
    }

    fn ids(r: &SymbolReport) -> Vec<(&'static str, i32)> {
        r.hits
            .iter()
            .map(|h| (h.check.id(), h.date.unwrap_or(-1)))
            .collect()
    }

    #[test]
    fn the_newest_copy_of_a_day_wins_and_the_duplicate_is_reported_once() {
        let mut a = row(1, 10.0, 100);
        a.source_ts = Some(5);
        let mut b = row(1, 11.0, 100);
        b.source_ts = Some(9);
        let mut rows = vec![row(2, 10.0, 100), b, a];
        let dups = tickerlake::series::dedupe(&mut rows);
        assert_eq!(
            dups,
            vec![(1, 2, vec!["open", "high", "low", "close", "adj_close"])]
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0].close, 11.0,
            "newest source_ts wins whatever the order"
        );
        // Equal source_ts: the later input wins.
        let mut rows = vec![row(1, 10.0, 1), row(1, 12.0, 1)];
        tickerlake::series::dedupe(&mut rows);
        assert_eq!(rows[0].close, 12.0);
    }

    #[test]
    fn ohlc_rules() {
        let mut r = row(1, 10.0, 1);
        assert_eq!(ohlc_violation(&r), None);
        std::mem::swap(&mut r.high, &mut r.low);
        assert_eq!(ohlc_violation(&r), Some("high < max(open, close)"));
        let mut r = row(1, 10.0, 1);
        r.low = 10.5;
        r.high = 11.0;
        assert_eq!(ohlc_violation(&r), Some("low > min(open, close)"));
        let mut r = row(1, 10.0, 1);
        r.adj_close = 0.0;
        assert_eq!(ohlc_violation(&r), Some("price <= 0"));
        // Equal values are fine: a no-trade day has open = high = low = close.
        let mut r = row(1, 10.0, 0);
        (r.high, r.low) = (10.0, 10.0);
        assert_eq!(ohlc_violation(&r), None);
        // Nulls are null_fields' business.
        let mut r = row(1, 10.0, 1);
        r.open = f64::NAN;
        r.close = f64::NAN;
        assert_eq!(ohlc_violation(&r), None);
    }

    #[test]
    fn a_jump_is_critical_unless_a_split_or_dividend_explains_it() {
        let closes = [100.0, 101.0, 100.5, 20.0, 20.1, 20.2];
        let rows: Vec<DayRow> = closes
            .iter()
            .enumerate()
            .map(|(i, c)| row(i as i32, *c, 1000))
            .collect();
        let r = analyze(sym(), rows.clone(), &[], &rules(&[Check::PriceJump]));
        assert_eq!(ids(&r), vec![("price_jump", 3)]);
        assert_eq!(r.hits[0].severity, Severity::Critical);
        assert_eq!(r.hits[0].details["change_pct"], json!(-80.0995));
        let split = [Event {
            date: 3,
            kind: ActionKind::Split,
            value: 4.0,
        }];
        let r = analyze(sym(), rows.clone(), &split, &rules(&[Check::PriceJump]));
        assert!(
            r.hits.is_empty(),
            "a 4:1 split explains a fifth of the price"
        );
        // A split on another day does not.
        let elsewhere = [Event {
            date: 5,
            kind: ActionKind::Split,
            value: 4.0,
        }];
        let r = analyze(sym(), rows.clone(), &elsewhere, &rules(&[Check::PriceJump]));
        assert_eq!(ids(&r), vec![("price_jump", 3)]);
        // A special dividend of 75 explains the drop (20 + 75 is within 75 % of 100.5).
        let div = [Event {
            date: 3,
            kind: ActionKind::Dividend,
            value: 75.0,
        }];
        let r = analyze(sym(), rows, &div, &rules(&[Check::PriceJump]));
        assert!(r.hits.is_empty());
    }

    #[test]
    fn quartiles_interpolate_like_numpy() {
        let mut v = vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        // numpy.percentile([1..8], [25, 75]) = [2.75, 6.25]
        assert_eq!(quartiles(&mut v), (2.75, 6.25));
        let mut v = vec![5.0];
        assert_eq!(quartiles(&mut v), (5.0, 5.0));
    }

    #[test]
    fn iqr_and_volume_outliers_are_info_and_skip_reported_jumps() {
        let mut rows: Vec<DayRow> = (0..100)
            .map(|i| {
                row(
                    i,
                    100.0 * (1.0 + 0.01 * ((i % 7) as f64 - 3.0) / 3.0),
                    1000 + (i as i64 % 5) * 50,
                )
            })
            .collect();
        rows[50].close = 130.0; // +30 %: far outside the quartiles, below the hard 75 %
        rows[70].volume = Some(Volume::Whole(50_000));
        let r = analyze(
            sym(),
            rows,
            &[],
            &rules(&[Check::IqrJump, Check::VolumeSpike, Check::PriceJump]),
        );
        let got = ids(&r);
        assert!(got.contains(&("iqr_jump", 50)), "{got:?}");
        assert!(got.contains(&("volume_spike", 70)), "{got:?}");
        assert!(r.hits.iter().all(|h| h.severity == Severity::Info));
        assert!(!got.iter().any(|(c, _)| *c == "price_jump"));
    }

    #[test]
    fn nulls_name_their_fields() {
        let mut r = row(3, 10.0, 1);
        r.low = f64::NAN;
        r.volume = None;
        let rep = analyze(sym(), vec![r], &[], &rules(&[Check::NullFields]));
        assert_eq!(rep.hits[0].details["fields"], json!(["low", "volume"]));
    }

    #[test]
    fn the_nightly_profile_is_the_twelve_checks_and_the_two_contract_checks() {
        let ids: Vec<&str> = Check::nightly().iter().map(|c| c.id()).collect();
        assert_eq!(
            ids,
            [
                "lag",
                "missing_dates",
                "null_fields",
                "zero_volume",
                "price_jump",
                "iqr_jump",
                "volume_spike",
                "ohlc",
                "duplicate",
                "fetch_error",
                "coverage",
                "freshness",
                "negative_volume",
                "future_date"
            ]
        );
        for c in Check::ALL {
            assert_eq!(Check::parse(c.id()), Some(c));
        }
    }

    #[test]
    fn unknown_severity_keys_are_refused() {
        let mut qa = Qa::default();
        qa.severity.insert("ohcl".into(), Severity::Critical);
        let e = Rules::new(Check::nightly(), &qa).unwrap_err();
        assert!(e.contains("unknown check \"ohcl\""), "{e}");
    }
}
