//! The page's charts as inline SVG: grouped bars (and histograms), lines with a threshold, a
//! sparkline and a heat grid. No library and no script: each chart is a string, the same bytes
//! for the same numbers, coloured by CSS classes the page's two themes define. Every chart has
//! `role="img"`, a `<title>` and a `<desc>`; the page puts its numbers in a table beside it.

use std::fmt::Write as _;

/// Text made safe for HTML and SVG.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One series: its name (legend) and CSS class (`c1`…`c4`).
pub struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub values: Vec<Option<f64>>,
}

const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

fn open(id: &str, title: &str, desc: &str) -> String {
    format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" \
        ><title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        escape(title),
        escape(desc)
    )
}

/// A round upper bound for the axis, split in four round steps: 1, 2, 4, 8 or 10 times a power
/// of ten (so that counts of 4 or more get whole ticks).
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 4.0;
    }
    let p = 10f64.powf(max.log10().floor());
    for m in [1.0, 2.0, 4.0, 8.0] {
        if max <= m * p {
            return m * p;
        }
    }
    10.0 * p
}

/// A number as an axis or a tooltip shows it: at most two decimals, no trailing zeros.
fn num(v: f64) -> String {
    let text = format!("{v:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.to_string()
    }
}

fn axes(out: &mut String, max: f64, labels: &[String]) {
    let plot_h = H - TOP - BOTTOM;
    for i in 0..=4 {
        let v = max * f64::from(i) / 4.0;
        let y = TOP + plot_h - plot_h * f64::from(i) / 4.0;
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 4.0,
            y + 4.0,
            num(v)
        );
    }
    let n = labels.len().max(1);
    let step = (W - LEFT - RIGHT) / n as f64;
    // At most ~12 labels: every k-th one.
    let every = n.div_ceil(12);
    for (i, l) in labels.iter().enumerate() {
        if i % every != 0 && i != n - 1 {
            continue;
        }
        let x = LEFT + step * (i as f64 + 0.5);
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            H - BOTTOM + 16.0,
            escape(l)
        );
    }
}

fn legend(out: &mut String, series: &[Series<'_>]) {
    let mut x = LEFT;
    for s in series {
        let _ = write!(
            out,
            "<rect class=\"{}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"10\" height=\"10\"/>\
             <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            s.class,
            H - 14.0,
            x + 14.0,
            H - 5.0,
            escape(s.name)
        );
        x += 24.0 + 7.0 * s.name.chars().count() as f64;
    }
}

/// Grouped bars: one group per label, one bar per series.
pub fn bars(id: &str, title: &str, desc: &str, labels: &[String], series: &[Series<'_>]) -> String {
    // Counts: at least 0–4, so that the ticks are whole.
    let max = nice_max(
        series
            .iter()
            .flat_map(|s| s.values.iter().flatten())
            .fold(0.0, |a: f64, b| a.max(*b)),
    )
    .max(4.0);
    let mut out = open(id, title, desc);
    axes(&mut out, max, labels);
    let plot_h = H - TOP - BOTTOM;
    let step = (W - LEFT - RIGHT) / labels.len().max(1) as f64;
    let bar_w = (step * 0.8) / series.len().max(1) as f64;
    for (i, l) in labels.iter().enumerate() {
        for (k, s) in series.iter().enumerate() {
            let Some(v) = s.values.get(i).copied().flatten() else {
                continue;
            };
            let h = plot_h * v / max;
            let x = LEFT + step * i as f64 + step * 0.1 + bar_w * k as f64;
            let _ = write!(
                out,
                "<rect class=\"{}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\"><title>{}: {} {}</title></rect>",
                s.class,
                TOP + plot_h - h,
                bar_w.max(1.0),
                escape(l),
                num(v),
                escape(s.name)
            );
        }
    }
    if series.len() > 1 {
        legend(&mut out, series);
    }
    out.push_str("</svg>");
    out
}

/// Lines over the labels, with an optional dashed threshold line.
pub fn lines(
    id: &str,
    title: &str,
    desc: &str,
    labels: &[String],
    series: &[Series<'_>],
    threshold: Option<(&str, f64)>,
) -> String {
    let top = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .copied()
        .chain(threshold.map(|t| t.1))
        .fold(0.0, f64::max);
    let max = nice_max(top);
    let mut out = open(id, title, desc);
    axes(&mut out, max, labels);
    let plot_h = H - TOP - BOTTOM;
    let step = (W - LEFT - RIGHT) / labels.len().max(1) as f64;
    let y_of = |v: f64| TOP + plot_h - plot_h * v / max;
    if let Some((name, v)) = threshold {
        let y = y_of(v);
        let _ = write!(
            out,
            "<line class=\"threshold\" x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\"><title>{}</title></line>",
            W - RIGHT,
            escape(name)
        );
    }
    for s in series {
        // A gap (no measure) breaks the line: it is never drawn as zero.
        let mut path = String::new();
        let mut pen_down = false;
        for (i, v) in s.values.iter().enumerate() {
            match v {
                Some(v) => {
                    let x = LEFT + step * (i as f64 + 0.5);
                    let _ = write!(
                        path,
                        "{}{x:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        y_of(*v)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !path.is_empty() {
            let _ = write!(
                out,
                "<path class=\"line {}\" d=\"{}\"><title>{}</title></path>",
                s.class,
                path.trim_end(),
                escape(s.name)
            );
        }
        for (i, v) in s.values.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    out,
                    "<circle class=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\"><title>{}: {} {}</title></circle>",
                    s.class,
                    LEFT + step * (i as f64 + 0.5),
                    y_of(*v),
                    escape(labels.get(i).map_or("", String::as_str)),
                    num(*v),
                    escape(s.name)
                );
            }
        }
    }
    legend(&mut out, series);
    out.push_str("</svg>");
    out
}

/// A small line of the last values (a KPI card's trend), no axes.
pub fn sparkline(title: &str, values: &[Option<f64>]) -> String {
    let (w, h) = (120.0, 28.0);
    let max = values.iter().flatten().copied().fold(0.0, f64::max);
    let min = values.iter().flatten().copied().fold(max, f64::min);
    let span = if max > min { max - min } else { 1.0 };
    let step = if values.len() > 1 {
        w / (values.len() - 1) as f64
    } else {
        0.0
    };
    let mut path = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let y = h - 2.0 - (h - 4.0) * (v - min) / span;
                let _ = write!(
                    path,
                    "{}{:.1},{y:.1} ",
                    if pen_down { "L" } else { "M" },
                    step * i as f64
                );
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    format!(
        "<svg class=\"spark\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\"><path d=\"{}\"/></svg>",
        escape(title),
        path.trim_end()
    )
}

/// One cell of the heat grid: its CSS class, a short mark and its tooltip.
pub struct Cell {
    pub class: &'static str,
    pub mark: &'static str,
    pub title: String,
}

/// Rows × columns of status cells (runs × steps), newest column on the right.
pub fn heat(
    id: &str,
    title: &str,
    desc: &str,
    columns: &[String],
    rows: &[String],
    cells: &[Vec<Option<Cell>>],
) -> String {
    let label_w = 120.0;
    let cell = ((W - label_w - RIGHT) / columns.len().max(1) as f64).clamp(4.0, 18.0);
    let height = TOP + cell * rows.len() as f64 + 34.0;
    let mut out = format!(
        "<svg class=\"chart heat\" viewBox=\"0 0 {W} {height:.1}\" role=\"img\" aria-labelledby=\"{id}-t {id}-d\" \
        ><title id=\"{id}-t\">{}</title><desc id=\"{id}-d\">{}</desc>",
        escape(title),
        escape(desc)
    );
    for (r, name) in rows.iter().enumerate() {
        let y = TOP + cell * r as f64;
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            label_w - 6.0,
            y + cell * 0.75,
            escape(name)
        );
        for (c, _) in columns.iter().enumerate() {
            let x = label_w + cell * c as f64;
            match cells
                .get(c)
                .and_then(|col| col.get(r))
                .and_then(Option::as_ref)
            {
                Some(v) => {
                    let _ = write!(
                        out,
                        "<rect class=\"cell {}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}</title></rect>",
                        v.class,
                        cell - 1.0,
                        cell - 1.0,
                        escape(&v.title)
                    );
                    if cell >= 12.0 && !v.mark.is_empty() {
                        let _ = write!(
                            out,
                            "<text class=\"mark\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                            x + (cell - 1.0) / 2.0,
                            y + cell * 0.72,
                            v.mark
                        );
                    }
                }
                None => {
                    let _ = write!(
                        out,
                        "<rect class=\"cell none\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{} · {}: not part of this run</title></rect>",
                        cell - 1.0,
                        cell - 1.0,
                        escape(&columns[c]),
                        escape(name)
                    );
                }
            }
        }
    }
    if let (Some(first), Some(last)) = (columns.first(), columns.last()) {
        // The oldest under the first column, the newest under the last (a line lower when the
        // grid is too narrow for both on one).
        let y = TOP + cell * rows.len() as f64 + 14.0;
        let end = label_w + cell * columns.len() as f64;
        let y_last = if end - label_w < 200.0 { y + 13.0 } else { y };
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{label_w:.1}\" y=\"{y:.1}\">{}</text>\
             <text class=\"tick\" x=\"{end:.1}\" y=\"{y_last:.1}\" text-anchor=\"end\">{} (newest)</text>",
            escape(first),
            escape(last)
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_round_up_and_gaps_break_lines() {
        assert_eq!(nice_max(0.0), 4.0);
        assert_eq!(nice_max(1.0), 1.0);
        assert_eq!(nice_max(7.0), 8.0);
        assert_eq!(nice_max(40.0), 40.0);
        assert_eq!(nice_max(120.0), 200.0);
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(num(3.0), "3");
        let svg = lines(
            "x",
            "t",
            "d",
            &["a".into(), "b".into(), "c".into()],
            &[Series {
                name: "p95",
                class: "c1",
                values: vec![Some(1.0), None, Some(3.0)],
            }],
            Some(("10 s", 10.0)),
        );
        // Two separate moves: the missing night is not drawn as zero.
        let d = svg
            .split(" d=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or("");
        assert_eq!(d.matches('M').count(), 2, "{d}");
        assert!(!d.contains('L'), "{d}");
        assert!(svg.contains("class=\"threshold\""));
        assert!(svg.contains("<title id=\"x-t\">t</title>"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
