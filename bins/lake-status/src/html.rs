//! The dashboard page: one self-contained `index.html` (askama template
//! `templates/index.html`, checked when the program is built).
//!
//! Everything is rendered here, so the page reads the same with scripts off; the one inline
//! script (`assets/page.js`, a few KB) only sorts tables, exports CSV, switches the theme and
//! shows the stale banner. The data is embedded once per JSON twin as
//! `<script type="application/json" id="<file>">`, byte for byte the file `--json` writes. A
//! Content-Security-Policy `<meta>` allows nothing from anywhere: no fetch, no image, no font —
//! only inline styles and the one script, by its SHA-256.

use askama::Template;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use tickerlake::runs::Status;

use crate::report::{Colour, Kpi, Report};
use crate::svg::{self, Cell as HeatCell, Series};
use crate::text::{group, seconds, size};

/// The page's script.
pub const SCRIPT: &str = include_str!("../assets/page.js");

#[derive(Template)]
#[template(path = "index.html")]
struct Page<'a> {
    csp: String,
    version: &'static str,
    health_class: &'static str,
    health_symbol: &'static str,
    health_word: &'static str,
    as_of: String,
    run_line: String,
    run_id: String,
    data_dir: &'a str,
    generated_at: &'a str,
    stale_visible: bool,
    stale_text: String,
    reasons: &'a [String],
    kpis: Vec<Card>,
    sections: Vec<Section>,
    blocks: &'a [Block],
    script: &'static str,
}

struct Card {
    key: String,
    label: String,
    value_text: String,
    value_attr: String,
    colour: &'static str,
    symbol: &'static str,
    word: &'static str,
    share_text: String,
    threshold: String,
    as_of: String,
    panel: String,
    spark: String,
}

struct Section {
    id: &'static str,
    title: &'static str,
    intro: String,
    empty: Option<String>,
    charts: Vec<Chart>,
    tables: Vec<Table>,
}

struct Chart {
    svg: String,
    numbers: Table,
}

pub struct Header {
    name: &'static str,
    numeric: bool,
}

struct Table {
    id: &'static str,
    caption: String,
    headers: Vec<Header>,
    rows: Vec<Vec<Cell>>,
    empty: String,
    note: String,
}

struct Cell {
    text: String,
    sort: String,
    class: &'static str,
}

/// One embedded JSON document: its twin file's name and bytes.
pub struct Block {
    pub file: String,
    pub json: String,
}

fn text(t: impl Into<String>) -> Cell {
    Cell {
        text: t.into(),
        sort: String::new(),
        class: "",
    }
}

fn number(n: Option<u64>) -> Cell {
    Cell {
        text: n.map_or_else(|| "–".into(), |v| group(v as i64)),
        sort: n.map_or_else(|| "-1".into(), |v| v.to_string()),
        class: "num",
    }
}

fn float(v: Option<f64>, unit: &str) -> Cell {
    Cell {
        text: v.map_or_else(|| "–".into(), |x| format!("{x:.2}{unit}")),
        sort: v.map_or_else(|| "-1".into(), |x| format!("{x}")),
        class: "num",
    }
}

fn h(name: &'static str) -> Header {
    Header {
        name,
        numeric: false,
    }
}

fn n(name: &'static str) -> Header {
    Header {
        name,
        numeric: true,
    }
}

fn note(shown: usize, total: u64, source: Option<&str>) -> String {
    match source {
        Some(src) if total > shown as u64 => {
            format!("The first {shown} of {total}; all of them in {src}.")
        }
        Some(src) => format!("From {src}."),
        None => String::new(),
    }
}

fn colour_class(c: Colour) -> &'static str {
    c.name()
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Ok => "green",
        Status::Warn | Status::Running => "yellow",
        Status::Fail => "red",
        Status::Skipped => "unknown",
    }
}

fn card(k: &Kpi) -> Card {
    Card {
        key: k.key.clone(),
        label: k.label.clone(),
        value_text: k
            .value
            .map_or_else(|| "no data yet".into(), |v| group(v as i64)),
        value_attr: k.value.map_or_else(String::new, |v| v.to_string()),
        colour: colour_class(k.colour),
        symbol: k.colour.symbol(),
        word: k.colour.word(),
        share_text: k
            .share_pct
            .map_or_else(String::new, |p| format!("{p:.2} % of {}", k.share_of)),
        threshold: k.threshold.clone(),
        as_of: k.as_of.clone().unwrap_or_else(|| "–".into()),
        panel: k.panel.clone(),
        spark: if k.history.iter().flatten().count() > 1 {
            svg::sparkline(&format!("{}: the last runs", k.label), &k.history)
        } else {
            String::new()
        },
    }
}

/// The Content-Security-Policy: nothing from anywhere but inline styles and this script.
pub fn csp(script: &str) -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(script.as_bytes()));
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{hash}'; \
         base-uri 'none'; form-action 'none'"
    )
}

pub fn render(report: &Report, blocks: &[Block]) -> Result<String, askama::Error> {
    let s = &report.summary;
    let run_line = s.run.as_ref().map_or_else(
        || "no run yet".to_string(),
        |r| {
            format!(
                "last run {} ({}): {} exit {}, finished {}",
                r.run_id,
                r.pipeline,
                r.status.badge(),
                r.exit_code.map_or_else(|| "–".into(), |c| c.to_string()),
                r.finished_at.as_deref().unwrap_or("–")
            )
        },
    );
    let failed = s.run.as_ref().is_some_and(|r| r.status == Status::Fail);
    let stale_text = match (&s.as_of, failed) {
        (Some(day), true) => format!("The newest run failed: data as of {day}."),
        (Some(day), false) => format!(
            "Stale: no run has finished in the last {} h; data as of {day}.",
            s.stale_after_hours
        ),
        (None, _) => "No run has finished yet.".into(),
    };
    let page = Page {
        csp: csp(SCRIPT),
        version: env!("CARGO_PKG_VERSION"),
        health_class: colour_class(s.health),
        health_symbol: s.health.symbol(),
        health_word: if s.health == Colour::Unknown {
            "no data yet"
        } else {
            s.health.word()
        },
        as_of: s.as_of.clone().unwrap_or_else(|| "–".into()),
        run_line,
        run_id: s
            .run
            .as_ref()
            .map_or_else(|| "–".into(), |r| r.run_id.clone()),
        data_dir: &report.data_dir,
        generated_at: &s.generated_at,
        stale_visible: failed || s.stale,
        stale_text,
        reasons: &s.reasons,
        kpis: s.kpis.iter().map(card).collect(),
        sections: vec![
            universe(report),
            timeliness(report),
            completeness(report),
            quality(report),
            fetch(report),
            history(report),
        ],
        blocks,
        script: SCRIPT,
    };
    page.render()
}

fn findings_table(
    report: &Report,
    id: &'static str,
    check: &str,
    caption: &str,
    detail: &dyn Fn(&serde_json::Map<String, serde_json::Value>) -> Vec<Cell>,
    detail_headers: Vec<Header>,
) -> Table {
    let f = &report.failures;
    let rows: Vec<Vec<Cell>> = f
        .findings
        .iter()
        .filter(|x| x.check == check)
        .map(|x| {
            let mut row = vec![
                text(x.symbol.as_ref().map_or("–", |s| s.as_str())),
                text(x.date.map_or_else(|| "–".into(), |d| d.to_string())),
            ];
            row.extend(detail(&x.details));
            row
        })
        .collect();
    let total = f
        .checks
        .iter()
        .find(|c| c.check == check)
        .map_or(rows.len() as u64, |c| c.findings);
    let mut headers = vec![h("symbol"), h("date")];
    headers.extend(detail_headers);
    Table {
        id,
        caption: caption.to_string(),
        headers,
        note: if rows.is_empty() {
            String::new()
        } else {
            note(rows.len(), total, f.source.as_deref())
        },
        empty: if f.run_id.is_some() {
            format!("No {check} finding in the last QA.")
        } else {
            "No data yet: QA has not run.".into()
        },
        rows,
    }
}

fn detail_num(d: &serde_json::Map<String, serde_json::Value>, k: &str) -> Cell {
    match d.get(k).and_then(serde_json::Value::as_f64) {
        Some(v) => Cell {
            text: if v.fract() == 0.0 {
                group(v as i64)
            } else {
                format!("{v:.2}")
            },
            sort: format!("{v}"),
            class: "num",
        },
        None => Cell {
            text: "–".into(),
            sort: "-1".into(),
            class: "num",
        },
    }
}

fn detail_text(d: &serde_json::Map<String, serde_json::Value>, k: &str) -> Cell {
    text(match d.get(k) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(", "),
        Some(v) if !v.is_null() => v.to_string(),
        _ => "–".into(),
    })
}

fn universe(report: &Report) -> Section {
    let d = &report.delta;
    let labels: Vec<String> = d.months.iter().map(|m| m.month.clone()).collect();
    let mut charts = Vec::new();
    if d.recorded && !d.months.is_empty() {
        charts.push(Chart {
            svg: svg::bars(
                "universe-chart",
                "New and delisted listings per month",
                &format!(
                    "New and delisted listings in the universe runs of the last {} months.",
                    d.months.len()
                ),
                &labels,
                &[
                    Series {
                        name: "new",
                        class: "c1",
                        values: d.months.iter().map(|m| Some(m.new as f64)).collect(),
                    },
                    Series {
                        name: "delisted",
                        class: "c2",
                        values: d.months.iter().map(|m| Some(m.delisted as f64)).collect(),
                    },
                ],
            ),
            numbers: Table {
                id: "universe-months",
                caption: String::new(),
                headers: vec![
                    h("month"),
                    n("new"),
                    n("delisted"),
                    n("archived"),
                    n("relisted"),
                ],
                rows: d
                    .months
                    .iter()
                    .map(|m| {
                        vec![
                            text(m.month.clone()),
                            number(Some(m.new)),
                            number(Some(m.delisted)),
                            number(Some(m.archived)),
                            number(Some(m.relisted)),
                        ]
                    })
                    .collect(),
                empty: String::new(),
                note: String::new(),
            },
        });
    }
    let rows: Vec<Vec<Cell>> = d
        .changes
        .iter()
        .map(|t| {
            vec![
                text(t.symbol.clone()),
                text(t.from.clone()),
                text(t.to.clone()),
                text(t.date.clone()),
                text(t.reason.clone()),
            ]
        })
        .collect();
    Section {
        id: "universe",
        title: "Universe health",
        intro: String::new(),
        empty: (!d.recorded).then(|| {
            "No data yet: no universe run has recorded its changes in the window (the first universe has none).".into()
        }),
        tables: vec![Table {
            id: "universe-delta",
            caption: "Status changes in the last 30 days".into(),
            headers: vec![h("symbol"), h("from"), h("to"), h("date"), h("reason")],
            note: if rows.is_empty() {
                String::new()
            } else {
                note(rows.len(), d.total, Some("universe/delta.json"))
            },
            empty: "No status change in the last 30 days.".into(),
            rows,
        }],
        charts,
    }
}

fn timeliness(report: &Report) -> Section {
    let l = &report.lagging;
    let labels: Vec<String> = l.histogram.iter().map(|b| b.label.clone()).collect();
    let charts = if l.symbols.is_some() {
        vec![Chart {
            svg: svg::bars(
                "lag-chart",
                "Symbols by trading days behind",
                &format!(
                    "How many of the {} symbols of the fetch state are 0, 1, 2… {} behind the as-of date.",
                    l.symbols.unwrap_or(0),
                    l.calendar
                ),
                &labels,
                &[Series {
                    name: "symbols",
                    class: "c1",
                    values: l.histogram.iter().map(|b| Some(b.count as f64)).collect(),
                }],
            ),
            numbers: Table {
                id: "lag-bins",
                caption: String::new(),
                headers: vec![h("days behind"), n("symbols")],
                rows: l
                    .histogram
                    .iter()
                    .map(|b| vec![text(b.label.clone()), number(Some(b.count))])
                    .collect(),
                empty: String::new(),
                note: String::new(),
            },
        }]
    } else {
        Vec::new()
    };
    let rows: Vec<Vec<Cell>> = l
        .lagging
        .iter()
        .map(|r| {
            vec![
                text(r.symbol.clone()),
                text(r.last_date.clone().unwrap_or_else(|| "never".into())),
                number(r.days_behind),
                text(r.fetch_status.clone()),
            ]
        })
        .collect();
    Section {
        id: "timeliness",
        title: "Data timeliness",
        intro: format!(
            "Days behind are {} between a symbol's last fetched bar and the as-of date; more than {} is lagging.",
            l.calendar, l.threshold_days
        ),
        empty: l
            .symbols
            .is_none()
            .then(|| "No data yet: there is no fetch state (state/fetch.json).".into()),
        charts,
        tables: vec![Table {
            id: "lagging",
            caption: format!("Lagging symbols ({})", l.total),
            headers: vec![
                h("symbol"),
                h("last bar"),
                n("days behind"),
                h("fetch status"),
            ],
            note: if rows.is_empty() {
                String::new()
            } else {
                note(rows.len(), l.total, Some("tickers/lagging.json"))
            },
            empty: if l.symbols.is_some() {
                "No symbol lags.".into()
            } else {
                "No data yet.".into()
            },
            rows,
        }],
    }
}

fn checks_chart(report: &Report, id: &str, names: &[&str], title: &str) -> Option<Chart> {
    let rows: Vec<_> = report
        .failures
        .checks
        .iter()
        .filter(|c| names.contains(&c.check.as_str()))
        .collect();
    if rows.is_empty() {
        return None;
    }
    Some(Chart {
        svg: svg::bars(
            id,
            title,
            &format!(
                "Findings per check in QA of run {}.",
                report.failures.run_id.as_deref().unwrap_or("–")
            ),
            &rows.iter().map(|c| c.check.clone()).collect::<Vec<_>>(),
            &[Series {
                name: "findings",
                class: "c1",
                values: rows.iter().map(|c| Some(c.findings as f64)).collect(),
            }],
        ),
        numbers: Table {
            id: "checks",
            caption: String::new(),
            headers: vec![
                h("check"),
                h("severity"),
                n("findings"),
                n("symbols"),
                n("share"),
                h("colour"),
            ],
            rows: rows
                .iter()
                .map(|c| {
                    vec![
                        text(c.check.clone()),
                        text(c.severity.clone()),
                        number(Some(c.findings)),
                        number(Some(c.symbols)),
                        float(Some(c.share_pct), " %"),
                        Cell {
                            text: format!("{} {}", c.colour.symbol(), c.colour.name()),
                            sort: c.colour.name().into(),
                            class: colour_class(c.colour),
                        },
                    ]
                })
                .collect(),
            empty: String::new(),
            note: String::new(),
        },
    })
}

/// Which QA a panel shows.
fn qa_intro(report: &Report) -> String {
    let f = &report.failures;
    match (&f.run_id, &f.as_of) {
        (Some(run), Some(day)) => format!("From the newest QA: run {run}, as of {day}."),
        _ => String::new(),
    }
}

fn completeness(report: &Report) -> Section {
    let no_qa = report.failures.run_id.is_none();
    Section {
        id: "completeness",
        title: "Completeness & integrity",
        intro: qa_intro(report),
        empty: no_qa.then(|| "No data yet: QA has not run.".into()),
        charts: checks_chart(
            report,
            "completeness-chart",
            &[
                "missing_dates",
                "null_fields",
                "ohlc",
                "duplicate",
                "coverage",
                "freshness",
            ],
            "Completeness and integrity findings",
        )
        .into_iter()
        .collect(),
        tables: vec![
            findings_table(
                report,
                "missing-dates",
                "missing_dates",
                "Missing dates",
                &|d| {
                    vec![
                        detail_num(d, "gap_trading_days"),
                        detail_text(d, "gap_start"),
                        detail_text(d, "gap_end"),
                    ]
                },
                vec![n("sessions missing"), h("from"), h("to")],
            ),
            findings_table(
                report,
                "null-fields",
                "null_fields",
                "Null fields",
                &|d| vec![detail_text(d, "fields")],
                vec![h("fields")],
            ),
        ],
    }
}

fn quality(report: &Report) -> Section {
    let no_qa = report.failures.run_id.is_none();
    Section {
        id: "quality",
        title: "Volume & price quality",
        intro: qa_intro(report),
        empty: no_qa.then(|| "No data yet: QA has not run.".into()),
        charts: checks_chart(
            report,
            "quality-chart",
            &[
                "zero_volume",
                "price_jump",
                "iqr_jump",
                "volume_spike",
                "negative_volume",
            ],
            "Volume and price findings",
        )
        .into_iter()
        .collect(),
        tables: vec![
            findings_table(
                report,
                "price-jumps",
                "price_jump",
                "Unexplained price jumps",
                &|d| {
                    vec![
                        detail_num(d, "change_pct"),
                        detail_num(d, "prev_close"),
                        detail_num(d, "close"),
                        text(
                            if d.get("actions")
                                .is_some_and(|a| a.as_array().is_some_and(|a| !a.is_empty()))
                            {
                                "corporate action nearby (not explaining it)"
                            } else {
                                "none"
                            },
                        ),
                    ]
                },
                vec![
                    n("change %"),
                    n("previous close"),
                    n("close"),
                    h("corporate action"),
                ],
            ),
            findings_table(
                report,
                "zero-volume",
                "zero_volume",
                "Zero volume",
                &|d| vec![detail_num(d, "volume")],
                vec![n("volume")],
            ),
        ],
    }
}

fn fetch(report: &Report) -> Section {
    let e = &report.errors;
    let labels: Vec<String> = e.nights.iter().map(|x| x.as_of.clone()).collect();
    let mut charts = Vec::new();
    if !e.nights.is_empty() {
        let secs = |v: Option<u64>| v.map(|ms| ms as f64 / 1000.0);
        charts.push(Chart {
            svg: svg::lines(
                "latency-chart",
                "Fetch latency per run (seconds)",
                &format!(
                    "p50 and p95 latency of each fetching run; the dashed line is the {} s alert threshold. A gap: no request was made.",
                    e.latency_threshold_ms as f64 / 1000.0
                ),
                &labels,
                &[
                    Series {
                        name: "p50",
                        class: "c1",
                        values: e.nights.iter().map(|x| secs(x.p50_ms)).collect(),
                    },
                    Series {
                        name: "p95",
                        class: "c2",
                        values: e.nights.iter().map(|x| secs(x.p95_ms)).collect(),
                    },
                ],
                Some(("alert threshold", e.latency_threshold_ms as f64 / 1000.0)),
            ),
            numbers: nights_table(report),
        });
        charts.push(Chart {
            svg: svg::lines(
                "errors-chart",
                "Symbols not fetched per run",
                "Symbols each fetching run could not fetch: failed, or not tried once the circuit breaker opened.",
                &labels,
                &[Series {
                    name: "not fetched",
                    class: "c2",
                    values: e
                        .nights
                        .iter()
                        .map(|x| Some((x.failed + x.not_tried) as f64))
                        .collect(),
                }],
                None,
            ),
            numbers: nights_table(report),
        });
    }
    let rows: Vec<Vec<Cell>> = e
        .errors
        .iter()
        .map(|x| {
            vec![
                text(x.symbol.as_str()),
                text(
                    serde_json::to_value(x.code)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default(),
                ),
                number(Some(u64::from(x.attempts))),
                text(x.message.clone()),
            ]
        })
        .collect();
    Section {
        id: "fetch",
        title: "Fetch & API health",
        intro: String::new(),
        empty: e
            .nights
            .is_empty()
            .then(|| "No data yet: no fetch has run.".into()),
        charts,
        tables: vec![Table {
            id: "fetch-errors",
            caption: match (e.requested, e.failed, e.not_tried) {
                (Some(r), Some(f), t) => format!(
                    "The last fetch: {} of {r} symbols not fetched ({f} failed, {} not tried); its dead-letter records",
                    f + t.unwrap_or(0),
                    t.unwrap_or(0)
                ),
                _ => "The last fetch's dead-letter records".into(),
            },
            headers: vec![h("symbol"), h("error"), n("attempts"), h("message")],
            note: if rows.is_empty() {
                String::new()
            } else {
                note(rows.len(), e.total, e.source.as_deref())
            },
            empty: if e.run_id.is_some() {
                "No fetch error in the last fetch.".into()
            } else {
                "No data yet.".into()
            },
            rows,
        }],
    }
}

fn nights_table(report: &Report) -> Table {
    let ms = |v: Option<u64>| Cell {
        text: v.map_or_else(|| "–".into(), |x| format!("{:.2}", x as f64 / 1000.0)),
        sort: v.map_or_else(|| "-1".into(), |x| x.to_string()),
        class: "num",
    };
    Table {
        id: "nights",
        caption: String::new(),
        headers: vec![
            h("as of"),
            h("run"),
            n("requested"),
            n("failed"),
            n("not tried"),
            n("p50 s"),
            n("p95 s"),
        ],
        rows: report
            .errors
            .nights
            .iter()
            .map(|x| {
                vec![
                    text(x.as_of.clone()),
                    text(x.run_id.clone()),
                    number(Some(x.requested)),
                    number(Some(x.failed)),
                    number(Some(x.not_tried)),
                    ms(x.p50_ms),
                    ms(x.p95_ms),
                ]
            })
            .collect(),
        empty: String::new(),
        note: String::new(),
    }
}

fn history(report: &Report) -> Section {
    let r = &report.runs;
    let columns: Vec<String> = r.runs.iter().map(|x| x.as_of.clone()).collect();
    let cells: Vec<Vec<Option<HeatCell>>> = r
        .runs
        .iter()
        .map(|run| {
            r.steps
                .iter()
                .map(|name| {
                    run.steps.iter().find(|s| &s.name == name).map(|s| {
                        let (class, mark) = match s.status {
                            Status::Ok => ("ok", "✓"),
                            Status::Warn => ("warn", "!"),
                            Status::Fail => ("fail", "✕"),
                            Status::Skipped => ("skipped", "–"),
                            Status::Running => ("running", "…"),
                        };
                        HeatCell {
                            class,
                            mark,
                            title: format!(
                                "{} · {} · {}: {} (exit {}, {})",
                                run.as_of,
                                run.run_id,
                                name,
                                s.status.badge(),
                                s.exit_code,
                                seconds(s.seconds)
                            ),
                        }
                    })
                })
                .collect()
        })
        .collect();
    let mut charts = Vec::new();
    if !r.runs.is_empty() {
        charts.push(Chart {
            svg: svg::heat(
                "runs-chart",
                "Run history: steps by run",
                "Each column a run (newest on the right), each row a step: ✓ ok, ! warn, ✕ fail, – skipped.",
                &columns,
                &r.steps,
                &cells,
            ),
            numbers: Table {
                id: "runs-numbers",
                caption: String::new(),
                headers: vec![h("as of"), h("run"), h("pipeline"), h("status"), n("exit"), n("seconds")],
                rows: r
                    .runs
                    .iter()
                    .map(|x| {
                        vec![
                            text(x.as_of.clone()),
                            text(x.run_id.clone()),
                            text(x.pipeline.clone()),
                            Cell {
                                text: x.status.badge().into(),
                                sort: String::new(),
                                class: status_class(x.status),
                            },
                            Cell {
                                text: x.exit_code.map_or_else(|| "–".into(), |c| c.to_string()),
                                sort: x.exit_code.unwrap_or(-1).to_string(),
                                class: "num",
                            },
                            float(x.seconds, ""),
                        ]
                    })
                    .collect(),
                empty: String::new(),
                note: String::new(),
            },
        });
    }
    let rows: Vec<Vec<Cell>> = r
        .datasets
        .iter()
        .map(|d| {
            vec![
                text(d.dataset.clone()),
                number(Some(d.runs)),
                number(Some(d.ok)),
                float(d.success_pct, " %"),
                Cell {
                    text: group(d.records),
                    sort: d.records.to_string(),
                    class: "num",
                },
                Cell {
                    text: d.bytes.map_or_else(|| "–".into(), size),
                    sort: d.bytes.unwrap_or(0).to_string(),
                    class: "num",
                },
                text(d.watermark.clone().unwrap_or_else(|| "no data".into())),
                d.last.map_or_else(
                    || text("–"),
                    |s| Cell {
                        text: s.badge().into(),
                        sort: String::new(),
                        class: status_class(s),
                    },
                ),
                d.last_qa.map_or_else(
                    || text("–"),
                    |c| Cell {
                        text: format!("{} {}", c.symbol(), c.name()),
                        sort: c.name().into(),
                        class: colour_class(c),
                    },
                ),
            ]
        })
        .collect();
    Section {
        id: "runs",
        title: "Runs",
        intro: format!(
            "{} run(s) recorded; the newest {} shown.{}",
            r.total,
            r.runs.len(),
            if r.unreadable_lines > 0 {
                format!(
                    " {} line(s) of runs/index.ndjson could not be read and are left out.",
                    r.unreadable_lines
                )
            } else {
                String::new()
            }
        ),
        empty: r
            .runs
            .is_empty()
            .then(|| "No data yet: no run has finished.".into()),
        charts,
        tables: vec![Table {
            id: "datasets",
            caption: "Datasets".into(),
            headers: vec![
                h("dataset"),
                n("runs"),
                n("ok"),
                n("success"),
                n("records"),
                n("size"),
                h("watermark"),
                h("last run"),
                h("last QA"),
            ],
            rows,
            empty: String::new(),
            note: String::new(),
        }],
    }
}

#[cfg(test)]
mod tests {
    /// The template's colour pairs: `--name:light-dark(#light,#dark)`.
    fn palette() -> std::collections::BTreeMap<String, (String, String)> {
        let css = include_str!("../templates/index.html");
        let mut out = std::collections::BTreeMap::new();
        for part in css.split("--").skip(1) {
            let Some((name, rest)) = part.split_once(":light-dark(") else {
                continue;
            };
            let Some((pair, _)) = rest.split_once(')') else {
                continue;
            };
            if let Some((l, d)) = pair.split_once(',') {
                out.insert(name.to_string(), (l.to_string(), d.to_string()));
            }
        }
        out
    }

    /// WCAG 2 relative luminance of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap_or(0);
        let channel = |c: u32| {
            let c = f64::from(c & 0xff) / 255.0;
            if c <= 0.03928 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(v >> 16) + 0.7152 * channel(v >> 8) + 0.0722 * channel(v)
    }

    fn contrast(a: &str, b: &str) -> f64 {
        let (x, y) = (luminance(a), luminance(b));
        (x.max(y) + 0.05) / (x.min(y) + 0.05)
    }

    #[test]
    fn status_words_and_text_are_readable_in_both_themes() {
        let p = palette();
        // (text, background): each status badge, and text on the page and on a card.
        let pairs = [
            ("ok", "ok-bg"),
            ("warn", "warn-bg"),
            ("fail", "fail-bg"),
            ("unknown", "unknown-bg"),
            ("info", "info-bg"),
            ("fg", "bg"),
            ("fg", "card"),
            ("muted", "bg"),
            ("muted", "card"),
            ("fail", "bg"),
        ];
        for (fg, bg) in pairs {
            let (fl, fd) = &p[fg];
            let (bl, bd) = &p[bg];
            for (theme, f, b) in [("light", fl, bl), ("dark", fd, bd)] {
                let c = contrast(f, b);
                assert!(c >= 4.5, "{fg} on {bg}, {theme}: {c:.2} < 4.5 (WCAG AA)");
            }
        }
    }
}
