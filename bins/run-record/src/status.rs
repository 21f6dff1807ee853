//! `run-record status` (`pipeline.sh status`, `make status`): per dataset the runs, success rate,
//! records written, watermark and last QA colour; then the last run's steps. Read from
//! `runs/index.ndjson`, `runs/latest.json` and `state/watermarks.json` only — no run directory is
//! opened, so the view is instant however many runs there were.
//!
//! Status words always carry a symbol; colour only on a terminal and never with `NO_COLOR`.

use std::fmt::Write as _;

use crate::Error;
use crate::layout::DataDir;
use crate::metadata::{IndexLine, RunRecord, Status};
use tickerlake::ExitCode;

/// The datasets, in the order shown, and the steps that write each.
const DATASETS: &[(&str, &[&str])] = &[
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

/// One dataset's line.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DatasetView {
    pub dataset: String,
    pub runs: u64,
    pub ok: u64,
    pub success_pct: Option<f64>,
    pub records: i64,
    pub watermark: Option<String>,
    pub last_qa: Option<String>,
    /// How the dataset's steps went in the last run that had any.
    pub last: Option<Status>,
}

/// What the view shows, also printed as JSON with `--json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct View {
    pub data_dir: String,
    pub runs: usize,
    pub datasets: Vec<DatasetView>,
    pub last_run: Option<RunRecord>,
    /// Lines of `runs/index.ndjson` that could not be read (skipped).
    pub unreadable_lines: usize,
}

impl View {
    /// The exit status the view stands for: 0 the last run was ok (green) and so was the last
    /// run of every dataset (a failed night stays visible after a green backup), 1 otherwise,
    /// 66 there is no run yet.
    pub fn exit_code(&self) -> ExitCode {
        if self
            .datasets
            .iter()
            .any(|d| d.last.is_some_and(|s| s != Status::Ok))
        {
            return ExitCode::Findings;
        }
        match self.last_run.as_ref().map(|r| r.status) {
            Some(Status::Ok) => ExitCode::Success,
            Some(_) => ExitCode::Findings,
            // Runs, but none whose record can be read: not green.
            None if self.runs > 0 => ExitCode::Findings,
            None => ExitCode::NoInput,
        }
    }
}

pub fn view(data: &DataDir) -> Result<View, Error> {
    let index_path = data.index();
    let mut lines: Vec<IndexLine> = Vec::new();
    let mut unreadable = 0;
    match std::fs::read(&index_path) {
        Ok(bytes) => {
            // A stray byte spoils its line, never the view.
            let text = String::from_utf8_lossy(&bytes);
            for (n, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<IndexLine>(line) {
                    Ok(l) => lines.push(l),
                    Err(e) => {
                        unreadable += 1;
                        tracing::warn!(file = %index_path.display(), line = n + 1, error = %e, "an index line that cannot be read: skipped");
                    }
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::read(&index_path, e)),
    }
    // The last run: latest.json, else the record of the index's last line.
    let latest = data.latest_run();
    let mut last_run = None;
    if latest.is_file() {
        match RunRecord::read(&latest) {
            Ok(r) => last_run = Some(r),
            Err(e) => {
                tracing::warn!(error = %e, "runs/latest.json cannot be read: the index's last run is shown")
            }
        }
    }
    if last_run.is_none()
        && let Some(line) = lines.last()
    {
        match RunRecord::read(&data.runs().join(&line.dir).join("metadata.json")) {
            Ok(r) => last_run = Some(r),
            Err(e) => tracing::warn!(error = %e, "the last run's record cannot be read"),
        }
    }
    let watermarks = crate::facts::stored_watermarks(data);
    let mut datasets = Vec::new();
    for (name, steps) in DATASETS {
        let mut d = DatasetView {
            dataset: (*name).to_string(),
            runs: 0,
            ok: 0,
            success_pct: None,
            records: 0,
            watermark: watermarks.get(*name).map(|w| w.date.clone()),
            last_qa: None,
            last: None,
        };
        for line in &lines {
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
            d.records += line.records.get(*name).copied().unwrap_or(0);
            if *name == "bars_daily" && line.qa_overall.is_some() {
                d.last_qa = line.qa_overall.clone();
            }
        }
        if d.runs > 0 {
            d.success_pct = Some((d.ok as f64 * 1000.0 / d.runs as f64).round() / 10.0);
        }
        datasets.push(d);
    }
    Ok(View {
        data_dir: data.root.display().to_string(),
        runs: lines.len(),
        datasets,
        last_run,
        unreadable_lines: unreadable,
    })
}

/// The view as text; `colour` for a terminal.
pub fn render(view: &View, colour: bool) -> String {
    let paint = |s: &str, status: Option<Status>| -> String {
        let code = match status {
            Some(Status::Ok) => "32",
            Some(Status::Warn) => "33",
            Some(Status::Fail) => "31",
            _ => return s.to_string(),
        };
        if colour {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let qa_badge = |c: &str| -> (String, Option<Status>) {
        match c {
            "green" => ("✔ green".into(), Some(Status::Ok)),
            "yellow" => ("▲ yellow".into(), Some(Status::Warn)),
            "red" => ("✖ red".into(), Some(Status::Fail)),
            other => (format!("? {other}"), None),
        }
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "tickerlake data: {}  ({} run{})",
        view.data_dir,
        view.runs,
        if view.runs == 1 { "" } else { "s" }
    );
    if view.runs == 0 && view.last_run.is_none() {
        let _ = writeln!(
            out,
            "no runs yet: pipeline.sh all (or make demo) makes the first"
        );
        return out;
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<12} {:>5} {:>5} {:>8} {:>12}  {:<12} {:<10} last QA",
        "dataset", "runs", "ok", "success", "records", "watermark", "last run"
    );
    for d in &view.datasets {
        let success = d
            .success_pct
            .map_or_else(|| "–".to_string(), |p| format!("{p:.1}%"));
        let qa = d.last_qa.as_deref().map_or_else(
            || "–".to_string(),
            |c| {
                let (text, st) = qa_badge(c);
                paint(&text, st)
            },
        );
        let _ = writeln!(
            out,
            "{:<12} {:>5} {:>5} {:>8} {:>12}  {:<12} {} {}",
            d.dataset,
            d.runs,
            d.ok,
            success,
            group(d.records),
            d.watermark.as_deref().unwrap_or("no data"),
            d.last.map_or_else(
                || format!("{:<10}", "–"),
                |s| paint(&format!("{:<10}", s.badge()), Some(s))
            ),
            qa
        );
    }
    if let Some(r) = &view.last_run {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "last run {} ({}, {}): {} exit {} as of {}, started {}, {}",
            r.run_id,
            r.pipeline,
            r.trigger,
            paint(r.status.badge(), Some(r.status)),
            r.exit_code.map_or_else(|| "–".into(), |c| c.to_string()),
            r.as_of,
            r.started_at,
            r.seconds.map_or_else(|| "unfinished".into(), seconds),
        );
        let _ = writeln!(
            out,
            "{:<16} {:<10} {:>5} {:>9}  counts",
            "step", "status", "exit", "seconds"
        );
        for s in &r.steps {
            let keys = key_counts(&s.name);
            let counts = s
                .counts
                .iter()
                .filter(|(k, _)| keys.is_empty() || keys.contains(&k.as_str()))
                .take(6)
                .map(|(k, v)| format!("{k} {}", group(*v)))
                .collect::<Vec<_>>()
                .join(", ");
            let badge = format!("{:<10}", s.status.badge());
            let _ = writeln!(
                out,
                "{:<16} {} {:>5} {:>9.1}  {}",
                s.name,
                paint(&badge, Some(s.status)),
                s.exit_code,
                s.seconds,
                counts
            );
        }
        if !r.log.is_empty() {
            let _ = writeln!(out, "log: {}", r.log);
        }
        let sent = r.alerts.iter().filter(|a| a.outcome == "sent").count();
        let failed = r.alerts.iter().filter(|a| a.outcome == "failed").count();
        if !r.alerts.is_empty() {
            let _ = writeln!(out, "alerts: {sent} sent, {failed} failed to send");
        }
    }
    if view.unreadable_lines > 0 {
        let _ = writeln!(
            out,
            "warning: {} line(s) of runs/index.ndjson could not be read",
            view.unreadable_lines
        );
    }
    out
}

/// The counts worth a glance, per step (others: the first few).
fn key_counts(step: &str) -> &'static [&'static str] {
    match step {
        "scrape" => &["records"],
        "filter" | "training-sample" => &["records", "kept"],
        "fetch" | "training-fetch" => &["requested", "ok", "failed", "bars", "p95_latency_ms"],
        "to-parquet" | "training-set" => &["rows_written", "partitions_touched"],
        "qa" | "training-qa" => &["symbols", "findings", "failing"],
        "qlib" => &["symbols", "new_days"],
        _ => &[],
    }
}

fn seconds(s: f64) -> String {
    if s >= 60.0 {
        format!(
            "{}m{:02}s",
            (s / 60.0).floor(),
            (s % 60.0).round() as u64 % 60
        )
    } else {
        format!("{s:.1}s")
    }
}

/// 12345678 → "12,345,678".
fn group(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(1234), "1,234");
        assert_eq!(group(-1234567), "-1,234,567");
        assert_eq!(seconds(75.0), "1m15s");
    }
}
