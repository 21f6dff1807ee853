//! The terminal view: per dataset the runs, success rate, records, size, watermark and last QA
//! colour; the seven KPIs; the newest run's steps with exit codes and seconds. Every status is a
//! word with a symbol; colour only when asked for (a terminal without `NO_COLOR`).

use std::fmt::Write as _;

use tickerlake::runs::{RunRecord, Status};

use crate::report::{Colour, Report};
use crate::text::{clean, group, seconds, size};

/// The view fits 80 columns (only a long path or run id goes past).
const WIDTH: usize = 80;

pub fn render(report: &Report, last: Option<&RunRecord>, colour: bool) -> String {
    let paint = |s: &str, c: Colour| -> String {
        let code = match c {
            Colour::Green => "32",
            Colour::Yellow => "33",
            Colour::Red => "31",
            Colour::Unknown => "90",
            Colour::Info => "36",
        };
        if colour {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let badge = |c: Colour| format!("{} {}", c.symbol(), c.word());
    let status =
        |s: Status, width: usize| paint(&format!("{:<width$}", s.badge()), Colour::of_status(s));
    let s = &report.summary;
    let runs = &report.runs;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "tickerlake data: {}  ({} run{})  {}",
        clean(&report.data_dir),
        runs.total,
        if runs.total == 1 { "" } else { "s" },
        paint(
            &format!("{} {}", s.health.symbol(), s.health.name()),
            s.health
        ),
    );
    if s.stale {
        let text = format!(
            "stale: the newest run finished more than {} h before {}",
            s.stale_after_hours, s.generated_at
        );
        let _ = writeln!(out, "{}", paint(&text, Colour::Yellow));
    }
    let Some(r) = last else {
        let _ = writeln!(
            out,
            "no data yet: no run has finished (pipeline.sh all, or make demo, makes the first)"
        );
        for why in &s.reasons {
            out.push_str(&wrap(&format!("why: {}", clean(why)), "  "));
        }
        return out;
    };
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<10} {:>5} {:>7} {:>11} {:>9}  {:<10}  {:<9} last QA",
        "dataset", "runs", "success", "records", "size", "watermark", "last run"
    );
    for d in &runs.datasets {
        let success = d
            .success_pct
            .map_or_else(|| "–".to_string(), |p| format!("{p:.1}%"));
        let qa = d
            .last_qa
            .map_or_else(|| "–".to_string(), |c| paint(&badge(c), c));
        let _ = writeln!(
            out,
            "{:<10} {:>5} {:>7} {:>11} {:>9}  {:<10}  {} {}",
            d.dataset,
            d.runs,
            success,
            group(d.records),
            d.bytes.map_or_else(|| "–".to_string(), size),
            clean(d.watermark.as_deref().unwrap_or("no data")),
            d.last
                .map_or_else(|| format!("{:<9}", "–"), |st| status(st, 9)),
            qa
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<26} {:>7} {:>7}  {:<9} {:<10} ok≤ / warn≤",
        "KPI", "value", "share", "colour", "as of"
    );
    for k in &s.kpis {
        let bounds = k.bounds.map_or_else(
            || "–".to_string(),
            |[g, y]| {
                let unit = if k.key == "lag_2d" { " %" } else { "" };
                format!("{} / {}{unit}", number(g), number(y))
            },
        );
        let _ = writeln!(
            out,
            "{:<26} {:>7} {:>7}  {} {:<10} {}",
            k.label,
            k.value
                .map_or_else(|| "no data".into(), |v| group(v as i64)),
            k.share_pct
                .map_or_else(|| "–".into(), |p| format!("{p:.1}%")),
            paint(&format!("{:<9}", badge(k.colour)), k.colour),
            clean(k.as_of.as_deref().unwrap_or("–")),
            bounds
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "last run {} ({}, {}): {} exit {}",
        clean(&r.run_id),
        clean(&r.pipeline),
        clean(&r.trigger),
        paint(r.status.badge(), Colour::of_status(r.status)),
        r.exit_code.map_or_else(|| "–".into(), |c| c.to_string()),
    );
    let _ = writeln!(
        out,
        "  as of {}, started {}, {}",
        clean(&r.as_of),
        clean(&r.started_at),
        r.seconds.map_or_else(|| "unfinished".into(), seconds),
    );
    let _ = writeln!(
        out,
        "{:<16} {:<9} {:>5} {:>8}  counts",
        "step", "status", "exit", "seconds"
    );
    for st in &r.steps {
        let keys = key_counts(&st.name);
        let counts = st
            .counts
            .iter()
            .filter(|(k, _)| keys.is_empty() || keys.contains(&k.as_str()))
            .map(|(k, v)| format!("{} {}", clean(k), group(*v)))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "{:<16} {} {:>5} {:>8.1}  {}",
            clean(&st.name),
            status(st.status, 9),
            st.exit_code,
            st.seconds,
            truncate(&counts, WIDTH - 44)
        );
    }
    if !r.log.is_empty() {
        let _ = writeln!(out, "log: {}", clean(&r.log));
    }
    if !r.alerts.is_empty() {
        let sent = r.alerts.iter().filter(|a| a.outcome == "sent").count();
        let failed = r.alerts.iter().filter(|a| a.outcome == "failed").count();
        let _ = writeln!(out, "alerts: {sent} sent, {failed} failed to send");
    }
    if !s.reasons.is_empty() {
        let _ = writeln!(out);
        for why in &s.reasons {
            out.push_str(&wrap(
                &format!("why {}: {}", s.health.name(), clean(why)),
                "  ",
            ));
        }
    }
    if runs.unreadable_lines > 0 {
        let _ = writeln!(
            out,
            "warning: {} line(s) of runs/index.ndjson could not be read",
            runs.unreadable_lines
        );
    }
    out
}

/// `text` cut to `max` characters, with an ellipsis when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `text` wrapped at word boundaries to the view's width, continued lines indented.
fn wrap(text: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_string();
        } else if !line.is_empty() && !line.ends_with(' ') {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// 5.0 → "5", 0.5 → "0.5".
fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// The counts worth a glance, per step (others: the first few).
fn key_counts(step: &str) -> &'static [&'static str] {
    match step {
        "scrape" => &["records"],
        "filter" | "training-sample" => &["records", "kept"],
        "fetch" | "training-fetch" => &[
            "requested",
            "ok",
            "failed",
            "not_tried",
            "bars",
            "p95_latency_ms",
        ],
        "to-parquet" | "training-set" => &["rows_written", "partitions_touched"],
        "qa" | "training-qa" => &["symbols", "findings", "failing"],
        "qlib" => &["symbols", "new_days"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_cannot_drive_the_terminal_and_long_lines_wrap() {
        let long = "why: ".to_string() + &"word ".repeat(40);
        for line in wrap(long.trim_end(), "  ").lines() {
            assert!(line.chars().count() <= WIDTH, "{line}");
        }
        assert_eq!(truncate("abcdef", 4), "abc…");
    }
}
