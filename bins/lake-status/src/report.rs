//! The documents every view is made from: `summary.json` with the seven KPIs and one document
//! per panel (the notes' API shapes, written as static files by `--json`, embedded in the page by
//! `--html`, printed in part by the terminal view). JSON Schemas in `docs/schemas/status-*.json`.
//!
//! Colours come from thresholds (`status.kpis`), never from a change; a KPI whose source is
//! missing, or whose step did not run in the newest run that had it, is `unknown` ("no data
//! yet"), never green. Lists are capped at `status.table_rows`, with their full count and the
//! run file that holds them all.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, Utc};
use schemars::JsonSchema;
use serde::Serialize;
use tickerlake::config::{Config, Threshold};
use tickerlake::runs::{IndexLine, Status};
use tickerlake::{Bar, FetchError, Finding};

use crate::read::{Run, Snapshot, Transition};

/// The schema name of every document.
pub const SCHEMA: &str = "tickerlake.status/1";

/// A health colour. `unknown`: no data (grey), `info`: a number without a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    Unknown,
    Info,
    Green,
    Yellow,
    Red,
}

impl Colour {
    pub fn word(self) -> &'static str {
        match self {
            Colour::Unknown => "no data",
            Colour::Info => "info",
            Colour::Green => "ok",
            Colour::Yellow => "warn",
            Colour::Red => "fail",
        }
    }
    /// The symbol printed with the word, so that colour is never the only signal.
    pub fn symbol(self) -> &'static str {
        match self {
            Colour::Unknown => "?",
            Colour::Info => "ℹ",
            Colour::Green => "✔",
            Colour::Yellow => "▲",
            Colour::Red => "✖",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Colour::Unknown => "unknown",
            Colour::Info => "info",
            Colour::Green => "green",
            Colour::Yellow => "yellow",
            Colour::Red => "red",
        }
    }
    pub fn of_status(s: Status) -> Colour {
        match s {
            Status::Ok | Status::Skipped => Colour::Green,
            Status::Warn | Status::Running => Colour::Yellow,
            Status::Fail => Colour::Red,
        }
    }
    fn of_qa(c: &str) -> Colour {
        match c {
            "green" => Colour::Green,
            "yellow" => Colour::Yellow,
            "red" => Colour::Red,
            _ => Colour::Unknown,
        }
    }
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "tickerlake status summary (tickerlake.status/1)")]
pub struct Summary {
    pub schema: String,
    pub generated_at: String,
    /// The trading session the newest run is about.
    pub as_of: Option<String>,
    pub run: Option<RunBrief>,
    /// The worst of the newest run's status, the KPIs and the datasets' last runs.
    pub health: Colour,
    /// Why `health` is not green.
    pub reasons: Vec<String>,
    /// The newest run finished longer ago than `status.stale_after` before `generated_at`.
    pub stale: bool,
    pub stale_after_hours: f64,
    pub kpis: Vec<Kpi>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunBrief {
    pub run_id: String,
    pub pipeline: String,
    pub status: Status,
    pub exit_code: Option<i32>,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub tickerlake_version: String,
    pub log: String,
}

/// One summary card.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Kpi {
    /// `total_active`, `new_30d`, `delisted_30d`, `lag_2d`, `missing_dates`, `fetch_errors`,
    /// `price_jumps_7d`.
    pub key: String,
    pub label: String,
    /// Absent: no data yet.
    pub value: Option<u64>,
    /// The value as a share (%) of `share_of`, where one is known.
    pub share_pct: Option<f64>,
    /// What the share is of: the universe QA checked, the symbols the fetch asked for.
    pub share_of: String,
    pub colour: Colour,
    /// The rule the colour came from, as printed on the card.
    pub threshold: String,
    /// The threshold's bounds: green up to the first, yellow up to the second, red above
    /// (absent for a card without one).
    pub bounds: Option<[f64; 2]>,
    /// The session the value is about.
    pub as_of: Option<String>,
    /// Where the number comes from.
    pub source: String,
    /// The page's panel that explains it.
    pub panel: String,
    /// The value in the runs of the history window, oldest first (null: not measured).
    pub history: Vec<Option<f64>>,
}

/// `tickers/lagging.json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "tickerlake lagging tickers (tickerlake.status/1)")]
pub struct Lagging {
    pub schema: String,
    pub as_of: Option<String>,
    /// Trading days behind above which a symbol lags (`qa.lag_trading_days`).
    pub threshold_days: u32,
    /// How days are counted: New York Stock Exchange sessions.
    pub calendar: String,
    /// Symbols in the fetch state (absent: no fetch state yet).
    pub symbols: Option<u64>,
    pub histogram: Vec<Bin>,
    pub total: u64,
    pub truncated: bool,
    pub source: Option<String>,
    /// The lagging symbols, most behind first.
    pub lagging: Vec<LagRow>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Bin {
    pub label: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LagRow {
    pub symbol: String,
    pub last_date: Option<String>,
    /// Absent: never fetched.
    pub days_behind: Option<u64>,
    /// `ok`, `failed` or `dead`: the fetch state's word.
    pub fetch_status: String,
}

/// `qa/failures.json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "tickerlake QA failures (tickerlake.status/1)")]
pub struct Failures {
    pub schema: String,
    pub as_of: Option<String>,
    pub run_id: Option<String>,
    pub overall: Colour,
    pub checks: Vec<CheckRow>,
    /// Findings in the run's file.
    pub total: u64,
    pub truncated: bool,
    /// The run's findings file, relative to the data directory.
    pub source: Option<String>,
    /// The first `status.table_rows` findings of each check.
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CheckRow {
    pub check: String,
    pub severity: String,
    pub findings: u64,
    pub symbols: u64,
    pub share_pct: f64,
    pub colour: Colour,
}

/// `fetch/errors.json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "tickerlake fetch errors (tickerlake.status/1)")]
pub struct Errors {
    pub schema: String,
    pub as_of: Option<String>,
    pub run_id: Option<String>,
    pub requested: Option<u64>,
    pub failed: Option<u64>,
    pub not_tried: Option<u64>,
    /// Dead-letter records in the run's file.
    pub total: u64,
    pub truncated: bool,
    pub source: Option<String>,
    pub errors: Vec<FetchError>,
    /// The p95 latency above which the fetch is slow (`pipeline.alerts.latency_p95`).
    pub latency_threshold_ms: u64,
    /// The fetching runs of the 30 days before `as_of`, oldest first.
    pub nights: Vec<Night>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Night {
    pub run_id: String,
    pub as_of: String,
    pub requested: u64,
    pub failed: u64,
    /// Not tried: the circuit breaker had opened.
    pub not_tried: u64,
    /// Absent when no request was made (every symbol up to date).
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub proxies_dropped: u64,
}

/// `universe/delta.json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "tickerlake universe changes (tickerlake.status/1)")]
pub struct Delta {
    pub schema: String,
    pub as_of: Option<String>,
    /// Changes per month, oldest first (`status.universe_months`).
    pub months: Vec<Month>,
    /// Whether any universe run in the window recorded its changes (false: no data yet).
    pub recorded: bool,
    /// Changes in the 30 days before `as_of`.
    pub total: u64,
    pub truncated: bool,
    pub changes: Vec<Transition>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Month {
    /// `YYYY-MM`.
    pub month: String,
    pub new: u64,
    pub delisted: u64,
    pub archived: u64,
    pub relisted: u64,
}

/// `runs/index.json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "tickerlake run history (tickerlake.status/1)")]
pub struct Runs {
    pub schema: String,
    /// Runs in `runs/index.ndjson`.
    pub total: u64,
    /// Lines of the index that could not be read.
    pub unreadable_lines: u64,
    pub datasets: Vec<Dataset>,
    /// The step names of the heat map's rows, in pipeline order.
    pub steps: Vec<String>,
    /// The newest `status.history_runs` runs, oldest first.
    pub runs: Vec<IndexLine>,
}

/// One dataset's line in the terminal view and the page.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Dataset {
    pub dataset: String,
    pub runs: u64,
    pub ok: u64,
    pub success_pct: Option<f64>,
    /// `bars_daily`: bars fetched over all runs; the others: what the newest run that made the
    /// dataset counted (listings kept, symbols exported, bars in the set).
    pub records: i64,
    /// Bytes on disk when the newest run ended.
    pub bytes: Option<u64>,
    pub watermark: Option<String>,
    pub last_qa: Option<Colour>,
    /// How the dataset's steps went in the last run that had any.
    pub last: Option<Status>,
}

/// `price/<SYM>.json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "tickerlake price slice (tickerlake.status/1)")]
pub struct Price {
    pub schema: String,
    pub symbol: String,
    /// The last `status.price_bars` bars in the lake, oldest first.
    pub bars: Vec<Bar>,
}

/// Every document, made once.
#[derive(Debug, Clone)]
pub struct Report {
    pub summary: Summary,
    pub lagging: Lagging,
    pub failures: Failures,
    pub errors: Errors,
    pub delta: Delta,
    pub runs: Runs,
    /// Symbols named in the findings, for `price/<SYM>.json`.
    pub price_symbols: Vec<String>,
    pub data_dir: String,
}

/// The datasets, in the order shown, and the steps that write each.
pub const DATASETS: &[(&str, &[&str])] = &[
    ("universe", &["scrape", "filter", "universe-install"]),
    (
        "bars_daily",
        &["universe-age", "sample", "fetch", "to-parquet", "qa"],
    ),
    ("qlib", &["qlib"]),
    (
        "training",
        &[
            "training-sample",
            "training-fetch",
            "training-set",
            "training-read",
            "training-qa",
            "training-install",
        ],
    ),
    ("backups", &["backup", "verify"]),
];

pub fn build(snap: &Snapshot, config: &Config, now: DateTime<Utc>) -> Report {
    let rows = config.status.table_rows as usize;
    let as_of = snap.latest().map(|r| r.record.as_of.clone());
    let runs = runs(snap);
    let lagging = lagging(snap, config, rows);
    let failures = failures(snap, rows);
    let errors = errors(snap, config, rows);
    let delta = delta(snap, config, rows);
    let kpis = kpis(snap, config);
    let mut reasons = Vec::new();
    let mut health = Colour::Green;
    let mut worse = |c: Colour, why: String| {
        if c >= Colour::Yellow {
            reasons.push(why);
        }
        health = health.max(c);
    };
    if let Some(r) = snap.latest() {
        let c = Colour::of_status(r.record.status);
        let which = if snap.newest_unreadable.is_some() {
            "the run shown"
        } else {
            "the newest run"
        };
        worse(
            c,
            format!(
                "{which} ({} {}) is {}",
                r.record.pipeline,
                r.record.run_id,
                r.record.status.badge()
            ),
        );
    }
    for d in &runs.datasets {
        if let Some(s) = d.last {
            worse(
                Colour::of_status(s),
                format!("{}: its last run is {}", d.dataset, s.badge()),
            );
        }
    }
    for k in &kpis {
        if matches!(k.colour, Colour::Yellow | Colour::Red) {
            worse(
                k.colour,
                format!(
                    "{} is {} ({}; {})",
                    k.label,
                    k.colour.name(),
                    k.value.map_or("–".into(), |v| v.to_string()),
                    k.threshold
                ),
            );
        }
    }
    let stale_after = config.status.stale_after.0;
    let finished = snap
        .latest()
        .and_then(|r| r.record.finished_at.as_deref())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    let stale = finished.is_some_and(|t| {
        now.signed_duration_since(t.with_timezone(&Utc))
            .to_std()
            .is_ok_and(|age| age > stale_after)
    });
    if stale {
        worse(
            Colour::Yellow,
            format!(
                "the newest run finished more than {} h ago",
                stale_after.as_secs_f64() / 3600.0
            ),
        );
    }
    if let Some(dir) = &snap.newest_unreadable {
        reasons.push(format!(
            "the newest run's record (runs/{dir}/metadata.json) cannot be read{}",
            if snap.latest().is_some() {
                ": the run shown is the one before it"
            } else {
                ""
            }
        ));
        health = health.max(Colour::Yellow);
    }
    if snap.latest().is_none() && snap.newest_unreadable.is_none() {
        health = Colour::Unknown;
    }
    let mut price_symbols: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for f in &failures.findings {
        if let Some(s) = &f.symbol
            && price_symbols.len() < config.status.price_symbols as usize
            && seen.insert(s.as_str().to_string())
        {
            price_symbols.push(s.as_str().to_string());
        }
    }
    Report {
        summary: Summary {
            schema: SCHEMA.into(),
            generated_at: now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            as_of,
            run: snap.latest().map(|r| RunBrief {
                run_id: r.record.run_id.clone(),
                pipeline: r.record.pipeline.clone(),
                status: r.record.status,
                exit_code: r.record.exit_code,
                started_at: r.record.started_at.clone(),
                finished_at: r.record.finished_at.clone(),
                tickerlake_version: r.record.tickerlake_version.clone(),
                log: r.record.log.clone(),
            }),
            health,
            reasons,
            stale,
            stale_after_hours: stale_after.as_secs_f64() / 3600.0,
            kpis,
        },
        lagging,
        failures,
        errors,
        delta,
        runs,
        price_symbols,
        data_dir: snap.data.root.display().to_string(),
    }
}

/// Green up to `t.green`, yellow up to `t.yellow`, red above.
pub fn by_threshold(v: f64, t: &Threshold) -> Colour {
    if v <= t.green {
        Colour::Green
    } else if v <= t.yellow {
        Colour::Yellow
    } else {
        Colour::Red
    }
}

fn threshold_text(t: &Threshold, unit: &str) -> String {
    let n = |v: f64| {
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v}")
        }
    };
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" ({unit})")
    };
    if t.green == t.yellow {
        format!("green ≤ {}, red above{unit}", n(t.green))
    } else {
        format!(
            "green ≤ {}, yellow ≤ {}, red above{unit}",
            n(t.green),
            n(t.yellow)
        )
    }
}

fn pct(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| (part as f64 * 10000.0 / whole as f64).round() / 100.0)
}

fn kpis(snap: &Snapshot, config: &Config) -> Vec<Kpi> {
    let k = &config.status.kpis;
    let history = &snap.history;
    // The universe: the newest run that recorded one.
    let uni_run = history.iter().rev().find(|r| r.record.universe.is_some());
    let active = uni_run.and_then(|r| r.record.universe.as_ref().map(|u| u.active));
    let uni_as_of = uni_run.and_then(|r| r.record.universe.as_ref().map(|u| u.version.clone()));
    let previous_active = uni_run.and_then(|latest| {
        let version = latest.record.universe.as_ref()?.version.clone();
        history
            .iter()
            .rev()
            .filter_map(|r| r.record.universe.as_ref())
            .find(|u| u.version != version)
            .map(|u| u.active)
    });
    let series =
        |f: &dyn Fn(&Run) -> Option<f64>| -> Vec<Option<f64>> { history.iter().map(f).collect() };
    let mut out = Vec::new();

    // Total active.
    let (colour, threshold) = match (active, previous_active) {
        (Some(a), Some(p))
            if p > 0 && (a as f64) < p as f64 * (1.0 - k.active_drop_pct / 100.0) =>
        {
            (
                Colour::Red,
                format!(
                    "red when it falls by more than {} % from the previous universe ({p})",
                    k.active_drop_pct
                ),
            )
        }
        (Some(_), _) => (
            Colour::Info,
            format!(
                "red when it falls by more than {} % from the previous universe",
                k.active_drop_pct
            ),
        ),
        (None, _) => (Colour::Unknown, "no universe yet".into()),
    };
    out.push(Kpi {
        key: "total_active".into(),
        label: "Total active tickers".into(),
        value: active,
        share_pct: None,
        share_of: String::new(),
        colour,
        threshold,
        bounds: None,
        as_of: uni_as_of.clone(),
        source: "the universe (run metadata: universe.active)".into(),
        panel: "universe".into(),
        history: series(&|r| r.record.universe.as_ref().map(|u| u.active as f64)),
    });

    // New and delisted in 30 days.
    let changes = snap.changes_30d.as_ref();
    let count = |kind: &str| -> Option<u64> {
        changes.map(|c| {
            c.iter()
                .filter(|t| match kind {
                    "new" => t.from == "none",
                    _ => t.to == kind,
                })
                .count() as u64
        })
    };
    let new = count("new");
    out.push(Kpi {
        key: "new_30d".into(),
        label: "New (30 d)".into(),
        value: new,
        share_pct: new.zip(active).and_then(|(n, a)| pct(n, a)),
        share_of: "the active universe".into(),
        colour: if new.is_some() {
            Colour::Info
        } else {
            Colour::Unknown
        },
        threshold: "information: no threshold".into(),
        bounds: None,
        as_of: snap.as_of().map(|d| d.to_string()),
        source: "universe.delta.ndjson of the universe runs in 30 days".into(),
        panel: "universe".into(),
        history: Vec::new(),
    });
    let delisted = count("delisted");
    out.push(Kpi {
        key: "delisted_30d".into(),
        label: "Delisted (30 d)".into(),
        value: delisted,
        share_pct: delisted.zip(active).and_then(|(n, a)| pct(n, a)),
        share_of: "the active universe".into(),
        colour: delisted.map_or(Colour::Unknown, |v| by_threshold(v as f64, &k.delisted_30d)),
        threshold: threshold_text(&k.delisted_30d, ""),
        bounds: Some([k.delisted_30d.green, k.delisted_30d.yellow]),
        as_of: snap.as_of().map(|d| d.to_string()),
        source: "universe.delta.ndjson of the universe runs in 30 days".into(),
        panel: "universe".into(),
        history: Vec::new(),
    });

    // QA-based cards: the newest run with a QA step; unknown when that step did not run.
    // The nightly cards speak of the newest night (a nightly or an `all` run): a step that did
    // not run in it leaves its cards grey, whatever an older night measured.
    let night = history
        .iter()
        .rev()
        .find(|r| matches!(r.record.pipeline.as_str(), "nightly" | "all"));
    let qa_run = night.filter(|r| r.record.qa.is_some());
    let qa_ran = qa_run.is_some();
    let qa_check = |name: &str| -> Option<&tickerlake::runs::QaCheck> {
        qa_run?.record.qa.as_ref()?.checks.get(name)
    };
    let qa_as_of = qa_run.map(|r| r.record.as_of.clone());
    let not_run = |what: &str| match night {
        Some(n) => format!(
            "; {what} did not run in the newest night (as of {})",
            n.record.as_of
        ),
        None => "; no night has run yet".to_string(),
    };
    let qa_note = if qa_ran { String::new() } else { not_run("QA") };
    let lag = qa_check("lag");
    out.push(Kpi {
        key: "lag_2d".into(),
        label: format!("Lag > {} trading days", config.qa.lag_trading_days),
        value: lag.map(|c| c.symbols),
        share_pct: lag.map(|c| c.share_pct),
        share_of: "the universe QA checked".into(),
        colour: lag.map_or(Colour::Unknown, |c| by_threshold(c.share_pct, &k.lag_pct)),
        threshold: threshold_text(&k.lag_pct, "% of the universe"),
        bounds: Some([k.lag_pct.green, k.lag_pct.yellow]),
        as_of: qa_as_of.clone(),
        source: format!("qa-check: lag{qa_note}"),
        panel: "timeliness".into(),
        history: series(&|r| {
            r.record
                .qa
                .as_ref()
                .and_then(|q| q.checks.get("lag"))
                .map(|c| c.share_pct)
        }),
    });
    let missing = qa_check("missing_dates");
    out.push(Kpi {
        key: "missing_dates".into(),
        label: "Tickers with missing dates".into(),
        value: missing.map(|c| c.symbols),
        share_pct: missing.map(|c| c.share_pct),
        share_of: "the universe QA checked".into(),
        colour: missing.map_or(Colour::Unknown, |c| {
            by_threshold(c.symbols as f64, &k.missing_dates)
        }),
        threshold: threshold_text(&k.missing_dates, "tickers"),
        bounds: Some([k.missing_dates.green, k.missing_dates.yellow]),
        as_of: qa_as_of.clone(),
        source: format!("qa-check: missing_dates{qa_note}"),
        panel: "completeness".into(),
        history: series(&|r| {
            r.record
                .qa
                .as_ref()
                .and_then(|q| q.checks.get("missing_dates"))
                .map(|c| c.symbols as f64)
        }),
    });

    // Fetch errors: the newest night's fetch; symbols the circuit breaker left untried count.
    let fetch_run = night.filter(|r| r.ran("fetch"));
    let fetch_counts = fetch_run.and_then(|r| r.step("fetch")).map(|s| &s.counts);
    let not_fetched = |c: &std::collections::BTreeMap<String, i64>| {
        (c.get("failed").copied().unwrap_or(0) + c.get("not_tried").copied().unwrap_or(0)).max(0)
    };
    let failed = fetch_counts.map(|c| not_fetched(c) as u64);
    let requested = fetch_counts.and_then(|c| c.get("requested").map(|n| (*n).max(0) as u64));
    out.push(Kpi {
        key: "fetch_errors".into(),
        label: "Fetch errors (last night)".into(),
        value: failed,
        share_pct: failed.zip(requested).and_then(|(f, r)| pct(f, r)),
        share_of: "the symbols the fetch asked for".into(),
        colour: failed.map_or(Colour::Unknown, |v| by_threshold(v as f64, &k.fetch_errors)),
        threshold: threshold_text(&k.fetch_errors, "symbols not fetched"),
        bounds: Some([k.fetch_errors.green, k.fetch_errors.yellow]),
        as_of: fetch_run.map(|r| r.record.as_of.clone()),
        source: format!(
            "ohlcv-fetch summary: failed + not_tried{}",
            if fetch_run.is_some() {
                String::new()
            } else {
                not_run("the fetch")
            }
        ),
        panel: "fetch".into(),
        history: series(&|r| {
            r.ran("fetch")
                .then(|| r.step("fetch").map(|s| not_fetched(&s.counts) as f64))
                .flatten()
        }),
    });

    // Price jumps in 7 days: distinct (symbol, date) findings of the newest QA.
    let findings_of_night = snap
        .qa_run()
        .filter(|(r, _)| qa_run.is_some_and(|q| q.record.run_id == r.record.run_id));
    let jumps = match findings_of_night {
        Some((r, findings)) => {
            let since = NaiveDate::parse_from_str(&r.record.as_of, "%Y-%m-%d")
                .ok()
                .map(|d| d - Duration::days(7));
            Some(
                findings
                    .iter()
                    .filter(|f| f.check == "price_jump")
                    .filter(|f| match (f.date, since) {
                        (Some(d), Some(s)) => d > s,
                        _ => true,
                    })
                    .count() as u64,
            )
        }
        None => None,
    };
    out.push(Kpi {
        key: "price_jumps_7d".into(),
        label: "Price-jump anomalies (7 d)".into(),
        value: jumps,
        share_pct: None,
        share_of: String::new(),
        colour: jumps.map_or(Colour::Unknown, |v| by_threshold(v as f64, &k.price_jumps)),
        threshold: threshold_text(&k.price_jumps, ""),
        bounds: Some([k.price_jumps.green, k.price_jumps.yellow]),
        as_of: qa_as_of,
        source: format!("qa-check: price_jump findings dated in the last 7 days{qa_note}"),
        panel: "quality".into(),
        history: series(&|r| {
            r.record
                .qa
                .as_ref()
                .and_then(|q| q.checks.get("price_jump"))
                .map(|c| c.findings as f64)
        }),
    });
    out
}

/// `tickers/lagging.json`: every symbol of the fetch state by NYSE sessions behind the as-of date.
fn lagging(snap: &Snapshot, config: &Config, rows: usize) -> Lagging {
    let threshold = config.qa.lag_trading_days;
    let as_of = snap.as_of();
    let labels = ["0", "1", "2", "3", "4", "5–9", "10+", "never"];
    let mut counts = [0u64; 8];
    let mut lagging = Vec::new();
    let cal = tickerlake::calendar::Calendar::Xnys;
    if let (Some(state), Some(day)) = (&snap.fetch_state, as_of) {
        for (sym, st) in &state.symbols {
            let behind = st
                .last_fetched_date
                .map(|d| cal.sessions_between(d, day) as u64);
            let bin = match behind {
                None => 7,
                Some(n @ 0..=4) => n as usize,
                Some(5..=9) => 5,
                Some(_) => 6,
            };
            counts[bin] += 1;
            if behind.is_none_or(|n| n > u64::from(threshold)) {
                lagging.push(LagRow {
                    symbol: sym.clone(),
                    last_date: st.last_fetched_date.map(|d| d.to_string()),
                    days_behind: behind,
                    fetch_status: serde_json::to_value(st.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                });
            }
        }
    }
    lagging.sort_by(|a, b| {
        b.days_behind
            .unwrap_or(u64::MAX)
            .cmp(&a.days_behind.unwrap_or(u64::MAX))
            .then_with(|| a.symbol.cmp(&b.symbol))
    });
    let total = lagging.len() as u64;
    lagging.truncate(rows);
    Lagging {
        schema: SCHEMA.into(),
        as_of: as_of.map(|d| d.to_string()),
        threshold_days: threshold,
        calendar: "NYSE sessions".into(),
        symbols: snap.fetch_state.as_ref().map(|s| s.symbols.len() as u64),
        histogram: labels
            .iter()
            .zip(counts)
            .map(|(l, c)| Bin {
                label: (*l).to_string(),
                count: c,
            })
            .collect(),
        truncated: total > lagging.len() as u64,
        total,
        source: snap
            .fetch_state
            .as_ref()
            .map(|_| snap.data.relative(&snap.data.fetch_state())),
        lagging,
    }
}

/// `qa/failures.json`: the newest QA's checks and the first findings of each.
fn failures(snap: &Snapshot, rows: usize) -> Failures {
    let Some((run, findings)) = snap.qa_run() else {
        return Failures {
            schema: SCHEMA.into(),
            as_of: None,
            run_id: None,
            overall: Colour::Unknown,
            checks: Vec::new(),
            total: 0,
            truncated: false,
            source: None,
            findings: Vec::new(),
        };
    };
    let qa = run.record.qa.as_ref();
    let checks: Vec<CheckRow> = qa
        .map(|q| {
            q.checks
                .iter()
                .map(|(name, c)| CheckRow {
                    check: name.clone(),
                    severity: c.severity.clone(),
                    findings: c.findings,
                    symbols: c.symbols,
                    share_pct: c.share_pct,
                    colour: Colour::of_qa(&c.colour),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut per_check: BTreeMap<&str, usize> = BTreeMap::new();
    let mut kept = Vec::new();
    for f in findings {
        let n = per_check.entry(f.check.as_str()).or_insert(0);
        *n += 1;
        if *n <= rows {
            kept.push(f.clone());
        }
    }
    let total = findings.len() as u64;
    Failures {
        schema: SCHEMA.into(),
        as_of: Some(run.record.as_of.clone()),
        run_id: Some(run.record.run_id.clone()),
        overall: qa.map_or(Colour::Unknown, |q| Colour::of_qa(&q.overall)),
        checks,
        truncated: total > kept.len() as u64,
        total,
        source: Some(snap.data.relative(&run.dir.join("qa.findings.ndjson"))),
        findings: kept,
    }
}

/// `fetch/errors.json`: the newest fetch's dead letters and the nights' counts and latency.
fn errors(snap: &Snapshot, config: &Config, rows: usize) -> Errors {
    // The last 30 days of fetching runs (the notes' 30-day error and latency lines).
    let since = snap.as_of().map(|d| d - Duration::days(30));
    let nights: Vec<Night> = snap
        .history
        .iter()
        .filter(|r| r.ran("fetch"))
        .filter(|r| {
            since.is_none_or(|s| {
                NaiveDate::parse_from_str(&r.record.as_of, "%Y-%m-%d").is_ok_and(|d| d > s)
            })
        })
        .filter_map(|r| {
            let c = &r.step("fetch")?.counts;
            let get = |k: &str| c.get(k).copied().unwrap_or(0).max(0) as u64;
            let asked = r.made_requests();
            Some(Night {
                run_id: r.record.run_id.clone(),
                as_of: r.record.as_of.clone(),
                requested: get("requested"),
                failed: get("failed"),
                not_tried: get("not_tried"),
                p50_ms: asked.then(|| get("p50_latency_ms")),
                p95_ms: asked.then(|| get("p95_latency_ms")),
                proxies_dropped: get("proxies_dropped"),
            })
        })
        .collect();
    let latency_threshold_ms = config.pipeline.alerts.latency_p95.0.as_millis() as u64;
    let Some((run, errs)) = snap.fetch_run() else {
        return Errors {
            schema: SCHEMA.into(),
            as_of: None,
            run_id: None,
            requested: None,
            failed: None,
            not_tried: None,
            total: 0,
            truncated: false,
            source: None,
            errors: Vec::new(),
            latency_threshold_ms,
            nights,
        };
    };
    let counts = run.step("fetch").map(|s| &s.counts);
    let get = |k: &str| counts.and_then(|c| c.get(k).map(|n| (*n).max(0) as u64));
    let total = errs.len() as u64;
    Errors {
        schema: SCHEMA.into(),
        as_of: Some(run.record.as_of.clone()),
        run_id: Some(run.record.run_id.clone()),
        requested: get("requested"),
        failed: get("failed"),
        not_tried: get("not_tried"),
        truncated: total > rows as u64,
        total,
        source: Some(snap.data.relative(&run.dir.join("fetch.errors.ndjson"))),
        errors: errs.iter().take(rows).cloned().collect(),
        latency_threshold_ms,
        nights,
    }
}

/// `universe/delta.json`: changes per month from the universe runs' records, and the last 30
/// days' changes from their delta files.
fn delta(snap: &Snapshot, config: &Config, rows: usize) -> Delta {
    let as_of = snap.as_of();
    let mut months: BTreeMap<String, Month> = BTreeMap::new();
    if let Some(day) = as_of {
        // The window's months, empty ones included, so the chart's axis is the calendar's.
        let mut m = day;
        for _ in 0..config.status.universe_months.max(1) {
            let key = m.format("%Y-%m").to_string();
            months.entry(key.clone()).or_insert(Month {
                month: key,
                new: 0,
                delisted: 0,
                archived: 0,
                relisted: 0,
            });
            m = m.with_day0(0).and_then(|d| d.pred_opt()).unwrap_or(m);
        }
    }
    for run in &snap.universe_runs {
        let Some(changes) = run
            .record
            .universe
            .as_ref()
            .and_then(|u| u.changes.as_ref())
        else {
            continue;
        };
        let key = run.record.as_of.get(..7).unwrap_or("").to_string();
        if let Some(m) = months.get_mut(&key) {
            let get = |k: &str| changes.get(k).copied().unwrap_or(0);
            m.new += get("new");
            m.delisted += get("delisted");
            m.archived += get("archived");
            m.relisted += get("relisted");
        }
    }
    let recorded = snap.changes_30d.is_some()
        || snap.universe_runs.iter().any(|r| {
            r.record
                .universe
                .as_ref()
                .is_some_and(|u| u.changes.is_some())
        });
    let mut changes = snap.changes_30d.clone().unwrap_or_default();
    changes.sort_by(|a, b| b.date.cmp(&a.date).then_with(|| a.symbol.cmp(&b.symbol)));
    let total = changes.len() as u64;
    changes.truncate(rows);
    Delta {
        schema: SCHEMA.into(),
        as_of: as_of.map(|d| d.to_string()),
        months: months.into_values().collect(),
        recorded,
        truncated: total > changes.len() as u64,
        total,
        changes,
    }
}

/// `runs/index.json`: the datasets' lines and the history window.
fn runs(snap: &Snapshot) -> Runs {
    let mut datasets = Vec::new();
    for (name, steps) in DATASETS {
        let mut d = Dataset {
            dataset: (*name).to_string(),
            runs: 0,
            ok: 0,
            success_pct: None,
            records: 0,
            bytes: snap.watermarks.get(*name).and_then(|w| w.bytes),
            watermark: snap.watermarks.get(*name).map(|w| w.date.clone()),
            last_qa: None,
            last: None,
        };
        for line in &snap.index {
            let mine: Vec<_> = line
                .steps
                .iter()
                .filter(|s| steps.contains(&s.name.as_str()))
                .collect();
            if mine.is_empty() {
                continue;
            }
            d.runs += 1;
            if mine
                .iter()
                .all(|s| matches!(s.status, Status::Ok | Status::Warn))
            {
                d.ok += 1;
            }
            d.last = Some(if mine.iter().any(|s| s.status == Status::Fail) {
                Status::Fail
            } else if mine.iter().any(|s| s.status == Status::Warn) {
                Status::Warn
            } else {
                Status::Ok
            });
            // Bars fetched add up over the nights; a universe, a Qlib export or a training
            // set is counted as its newest run made it.
            if let Some(n) = line.records.get(*name) {
                if *name == "bars_daily" {
                    d.records += n;
                } else {
                    d.records = *n;
                }
            }
            if *name == "bars_daily"
                && let Some(q) = &line.qa_overall
            {
                d.last_qa = Some(Colour::of_qa(q));
            }
        }
        if d.runs > 0 {
            d.success_pct = Some((d.ok as f64 * 1000.0 / d.runs as f64).round() / 10.0);
        }
        datasets.push(d);
    }
    let window: Vec<IndexLine> = snap
        .history
        .iter()
        .map(|r| {
            let dir = r
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            r.record.index_line(&dir)
        })
        .collect();
    // Step names in the order they first appear (pipeline order), across the window.
    let mut steps: Vec<String> = Vec::new();
    for line in &window {
        for s in &line.steps {
            if !steps.contains(&s.name) {
                steps.push(s.name.clone());
            }
        }
    }
    Runs {
        schema: SCHEMA.into(),
        total: snap.index.len() as u64,
        unreadable_lines: snap.unreadable_lines as u64,
        datasets,
        steps,
        runs: window,
    }
}

/// `price/<SYM>.json` for the symbols named in the findings: the last bars the lake holds.
pub fn prices(snap: &Snapshot, report: &Report, config: &Config) -> Vec<Price> {
    let lake = snap.data.lake();
    if report.price_symbols.is_empty() || !lake::layout::is_lake(&lake) {
        return Vec::new();
    }
    let symbols: BTreeSet<tickerlake::Symbol> = report
        .price_symbols
        .iter()
        .filter_map(|s| tickerlake::Symbol::parse(s).ok())
        .collect();
    let keep = config.status.price_bars.max(1) as usize;
    let filter = lake::scan::ScanFilter {
        symbols,
        // Enough calendar days for `keep` sessions, and a year boundary's partitions.
        from: snap
            .as_of()
            .map(|d| d - Duration::days(keep as i64 * 2 + 14)),
        to: snap.as_of(),
    };
    let mut by_symbol: BTreeMap<String, Vec<Bar>> = BTreeMap::new();
    let scanned = lake::scan::scan(&lake, &filter, |bars| {
        for b in bars {
            by_symbol
                .entry(b.symbol.as_str().to_string())
                .or_default()
                .push(b);
        }
        Ok(())
    });
    if let Err(e) = scanned {
        tracing::warn!(error = %e, "the lake cannot be read: no price slices");
        return Vec::new();
    }
    by_symbol
        .into_iter()
        .map(|(symbol, mut bars)| {
            bars.sort_by_key(|b| b.date);
            let cut = bars.len().saturating_sub(keep);
            Price {
                schema: SCHEMA.into(),
                symbol,
                bars: bars.split_off(cut),
            }
        })
        .collect()
}

/// The JSON Schemas of the documents, by file stem.
pub fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    let s = |v: schemars::Schema| serde_json::to_value(v).unwrap_or_default();
    vec![
        ("status-summary", s(schemars::schema_for!(Summary))),
        ("status-lagging", s(schemars::schema_for!(Lagging))),
        ("status-failures", s(schemars::schema_for!(Failures))),
        ("status-errors", s(schemars::schema_for!(Errors))),
        ("status-delta", s(schemars::schema_for!(Delta))),
        ("status-runs", s(schemars::schema_for!(Runs))),
        ("status-price", s(schemars::schema_for!(Price))),
    ]
}
