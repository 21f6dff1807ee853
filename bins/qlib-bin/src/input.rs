//! Inputs → instruments: one symbol's dates and its field values as float32, the precision of
//! the store. Bars come from NDJSON or the lake (one symbol at a time); CSV as dump_bin reads it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lake::series::{DayRow, SymbolSeries};
use tickerlake::io::input_paths;

use crate::Error;
use crate::adjust::{self, RawRow};

/// What the values of an instrument are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `--adjust none`: the values as given.
    AsGiven,
    /// `--adjust qlib`: a whole series adjusted as Qlib's Yahoo collector adjusts it.
    Qlib,
    /// The raw rows kept for `update --adjust qlib`, which adjusts them against the store.
    Raw,
}

/// One symbol, ready to write: dates sorted and unique, a column of values per field.
#[derive(Debug, Clone, PartialEq)]
pub struct Instrument {
    /// The symbol as the input spells it (before the symbol style is applied).
    pub symbol: String,
    pub dates: Vec<i32>,
    /// `values[f][k]`: field `f` on `dates[k]`; NaN for null (empty for [`Shape::Raw`]).
    pub values: Vec<Vec<f32>>,
    /// The rows as given ([`Shape::Raw`] only).
    pub raw: Vec<RawRow>,
    /// Where the adjusted series stands after its last row ([`Shape::Qlib`] only).
    pub carry: Option<adjust::Carry>,
}

impl Instrument {
    /// Builds the instrument of a symbol's raw rows (sorted, one per date).
    fn of_raw(symbol: String, raw: Vec<RawRow>, fields: &[String], shape: Shape) -> Instrument {
        let dates = raw.iter().map(|r| r.date).collect();
        match shape {
            Shape::Raw => Instrument {
                symbol,
                dates,
                values: Vec::new(),
                raw,
                carry: None,
            },
            _ => {
                let (values, carry) = adjust::adjust(&raw, None, fields);
                Instrument {
                    symbol,
                    dates,
                    values,
                    raw: Vec::new(),
                    carry: Some(carry),
                }
            }
        }
    }
}

fn raw_row(r: &DayRow) -> RawRow {
    RawRow {
        date: r.date,
        open: r.open,
        high: r.high,
        low: r.low,
        close: r.close,
        adjclose: r.adj_close,
        volume: r.volume.map_or(f64::NAN, tickerlake::Volume::as_f64),
    }
}

/// The fields a Bar provides.
pub const BAR_FIELDS: [&str; 8] = [
    "open", "high", "low", "close", "volume", "factor", "adjclose", "change",
];

/// A bar field's values from a symbol's rows (deduplicated, in date order). `factor` is
/// `adj_close / close` (what the bars' adjusted close implies), `adjclose` the adjusted close,
/// `change` the close's change from the previous bar, as Qlib's Yahoo data defines it.
fn bar_field(name: &str, rows: &[DayRow]) -> Vec<f32> {
    let of = |f: &dyn Fn(&DayRow) -> f64| rows.iter().map(|r| f(r) as f32).collect();
    match name {
        "open" => of(&|r| r.open),
        "high" => of(&|r| r.high),
        "low" => of(&|r| r.low),
        "close" => of(&|r| r.close),
        "adjclose" => of(&|r| r.adj_close),
        "volume" => rows
            .iter()
            .map(|r| r.volume.map_or(f32::NAN, |v| v.as_f64() as f32))
            .collect(),
        "factor" => of(&|r| {
            let f = r.adj_close / r.close;
            if f.is_finite() { f } else { f64::NAN }
        }),
        // "change" (the only other name `fields_for_bars` lets through): against the last
        // close there was, as Qlib's collector computes it on a forward-filled close.
        _ => {
            let mut prev = f64::NAN;
            rows.iter()
                .map(|r| {
                    let c = r.close / prev - 1.0;
                    if r.close.is_finite() {
                        prev = r.close;
                    }
                    if c.is_finite() { c as f32 } else { f32::NAN }
                })
                .collect()
        }
    }
}

/// Checks the field names asked for bars.
pub fn fields_for_bars(fields: &[String]) -> Result<Vec<String>, Error> {
    let mut out: Vec<String> = Vec::new();
    for f in fields {
        let f = f.to_lowercase();
        if !BAR_FIELDS.contains(&f.as_str()) {
            return Err(Error::Usage(format!(
                "--fields: bars have no field {f:?} (known: {})",
                BAR_FIELDS.join(", ")
            )));
        }
        if !out.contains(&f) {
            out.push(f);
        }
    }
    Ok(out)
}

/// Whether `name` can be a Qlib field, and so a file name: lower-case letters, digits and `_`,
/// 1 to 64 of them.
pub fn is_field_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A symbol's bars (already filtered by the bar source) as an instrument: one row per date
/// (the newest `source_ts` wins, field by field, as in the lake).
pub fn from_series(series: SymbolSeries, fields: &[String], shape: Shape) -> Instrument {
    let SymbolSeries { symbol, mut rows } = series;
    tickerlake::series::dedupe(&mut rows);
    match shape {
        Shape::AsGiven => Instrument {
            symbol: symbol.to_string(),
            dates: rows.iter().map(|r| r.date).collect(),
            values: fields.iter().map(|f| bar_field(f, &rows)).collect(),
            raw: Vec::new(),
            carry: None,
        },
        _ => Instrument::of_raw(
            symbol.to_string(),
            rows.iter().map(raw_row).collect(),
            fields,
            shape,
        ),
    }
}

/// The raw-bar columns a CSV needs for `--adjust qlib` (Qlib's Yahoo collector's download
/// layout): `close` and `volume`; `open`, `high`, `low` and `adjclose` when it has them.
const RAW_COLUMNS: [(&str, &[&str]); 6] = [
    ("open", &["open"]),
    ("high", &["high"]),
    ("low", &["low"]),
    ("close", &["close"]),
    ("adjclose", &["adjclose", "adj_close", "adj close"]),
    ("volume", &["volume"]),
];

/// CSV files as dump_bin reads them: a `date` column, a `symbol` column (else the file name is
/// the symbol). With [`Shape::AsGiven`] every other column (or those of `fields`) is a numeric
/// field written as given; otherwise the columns are raw bars (see [`RAW_COLUMNS`]) and
/// `fields` the adjusted fields to compute. A file may hold several symbols; a symbol's first
/// row of a date wins (dump_bin's `drop_duplicates`); rows outside `days` (first and last day,
/// each optional) are left out. Returns the field names (lower case) and the instruments in
/// input order.
pub fn read_csv(
    inputs: &[PathBuf],
    fields: &[String],
    shape: Shape,
    days: (Option<i32>, Option<i32>),
) -> Result<(Vec<String>, Vec<Instrument>), Error> {
    let mut names: Option<Vec<String>> = None;
    let mut order: Vec<String> = Vec::new();
    // A symbol's rows: as float32 values when written as given (as dump_bin keeps them, and
    // half the memory), else as raw bars.
    let mut given: HashMap<String, Vec<(i32, Vec<f32>)>> = HashMap::new();
    let mut raws: HashMap<String, Vec<RawRow>> = HashMap::new();
    for path in input_paths(inputs) {
        let input = tickerlake::io::Input::open(&path)?;
        let name = input.name.clone();
        let mut reader = csv::ReaderBuilder::new().from_reader(input.reader);
        let bad = |line: u64, field: &str, message: String| Error::Bad {
            input: name.clone(),
            line,
            field: field.to_string(),
            message,
        };
        let header: Vec<String> = reader
            .headers()
            .map_err(|e| bad(1, "header", e.to_string()))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        let col = |n: &str| header.iter().position(|h| h.eq_ignore_ascii_case(n));
        let date_col = col("date").ok_or_else(|| bad(1, "date", "no date column".into()))?;
        let symbol_col = col("symbol");
        // (column, name); a raw column the file lacks is None (NaN).
        let wanted: Vec<(Option<usize>, String)> = if shape != Shape::AsGiven {
            if let Some(i) = col("factor") {
                return Err(bad(
                    1,
                    &header[i],
                    "a factor column: these values look adjusted already (Qlib's normalize \
                     output); --adjust none writes them as given"
                        .into(),
                ));
            }
            let mut v = Vec::new();
            for (raw, aliases) in RAW_COLUMNS {
                let i = aliases.iter().find_map(|a| col(a));
                if i.is_none() && (raw == "close" || raw == "volume") {
                    return Err(bad(
                        1,
                        raw,
                        format!(
                            "--adjust qlib needs raw bars with a {raw} column (values already \
                             in Qlib's scale: --adjust none)"
                        ),
                    ));
                }
                v.push((i, raw.to_string()));
            }
            v
        } else if fields.is_empty() {
            header
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != date_col && Some(*i) != symbol_col)
                .map(|(i, h)| (Some(i), h.to_lowercase()))
                .collect()
        } else {
            let mut v = Vec::new();
            for f in fields {
                let i = col(f).ok_or_else(|| bad(1, f, format!("no {f:?} column")))?;
                v.push((Some(i), f.to_lowercase()));
            }
            v
        };
        let these: Vec<String> = if shape == Shape::AsGiven {
            wanted.iter().map(|(_, n)| n.clone()).collect()
        } else {
            fields.to_vec()
        };
        // A field becomes a file name (`<field>.day.bin`): only names that cannot leave the
        // instrument's directory, nor collide with Qlib's own naming.
        if let Some(bad_name) = these.iter().find(|f| !is_field_name(f)) {
            return Err(bad(
                1,
                "header",
                format!(
                    "{} cannot be a Qlib field (letters, digits and _, at most 64): leave the \
                     column out with --fields",
                    tickerlake::echo::echo(bad_name)
                ),
            ));
        }
        match &names {
            None => names = Some(these),
            Some(n) if *n == these => {}
            Some(n) => {
                return Err(bad(
                    1,
                    "header",
                    format!(
                        "fields {} differ from the first file's {}",
                        these.join(","),
                        n.join(",")
                    ),
                ));
            }
        }
        let stem_symbol = || -> String {
            Path::new(&name)
                .file_stem()
                .map(|s| s.to_string_lossy().to_uppercase())
                .unwrap_or_default()
        };
        for (k, record) in reader.records().enumerate() {
            let line = k as u64 + 2;
            let record = record.map_err(|e| bad(line, "", e.to_string()))?;
            let cell = |i: usize| record.get(i).unwrap_or("").trim();
            let date = tickerlake::records::date_format::parse(
                cell(date_col).get(..10).unwrap_or(cell(date_col)),
            )
            .map_err(|e| bad(line, "date", e))?;
            let date = lake::bars::days_since_epoch(date);
            if days.0.is_some_and(|from| date < from) || days.1.is_some_and(|to| date > to) {
                continue;
            }
            let symbol = match symbol_col {
                Some(i) => cell(i).to_uppercase(),
                None => stem_symbol(),
            };
            let mut values: Vec<f64> = Vec::with_capacity(wanted.len());
            for (i, field) in &wanted {
                let text = i.map_or("", cell);
                let v = if tickerlake::csv_cells::is_missing(text) {
                    f64::NAN
                } else {
                    text.parse::<f64>().map_err(|_| {
                        bad(
                            line,
                            field,
                            format!(
                                "expected a number, found {text:?} (a text column cannot be a \
                                 Qlib field; leave it out with --fields)"
                            ),
                        )
                    })?
                };
                values.push(v);
            }
            if !given.contains_key(&symbol) && !raws.contains_key(&symbol) {
                order.push(symbol.clone());
            }
            if shape == Shape::AsGiven {
                // Correctly rounded to f64, then to f32: what pandas + numpy store.
                let values = values.iter().map(|v| *v as f32).collect();
                given.entry(symbol).or_default().push((date, values));
            } else {
                raws.entry(symbol).or_default().push(RawRow {
                    date,
                    open: values[0],
                    high: values[1],
                    low: values[2],
                    close: values[3],
                    adjclose: values[4],
                    volume: values[5],
                });
            }
        }
    }
    let names = names.unwrap_or_default();
    let mut out = Vec::with_capacity(order.len());
    for symbol in order {
        if shape != Shape::AsGiven {
            let mut raw = raws.remove(&symbol).unwrap_or_default();
            raw.sort_by_key(|r| r.date); // stable: the first row of a date stays first
            raw.dedup_by_key(|r| r.date);
            out.push(Instrument::of_raw(symbol, raw, &names, shape));
            continue;
        }
        let mut rows = given.remove(&symbol).unwrap_or_default();
        rows.sort_by_key(|r| r.0);
        rows.dedup_by_key(|r| r.0);
        let mut values: Vec<Vec<f32>> = vec![Vec::with_capacity(rows.len()); names.len()];
        for (_, v) in &rows {
            for (f, x) in v.iter().enumerate() {
                values[f].push(*x);
            }
        }
        out.push(Instrument {
            symbol,
            dates: rows.iter().map(|r| r.0).collect(),
            values,
            raw: Vec::new(),
            carry: None,
        });
    }
    Ok((names, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(date: i32, close: f64, adj: f64, volume: Option<i64>) -> DayRow {
        DayRow {
            date,
            open: close,
            high: close,
            low: close,
            close,
            adj_close: adj,
            volume: volume.map(tickerlake::Volume::Whole),
            source_ts: None,
        }
    }

    #[test]
    fn bar_fields_factor_change_and_nulls() {
        let rows = [
            row(1, 100.0, 99.0, Some(61_169_613)),
            row(2, f64::NAN, 99.0, None),
            row(3, 110.0, 108.9, Some(5)),
        ];
        assert_eq!(bar_field("factor", &rows)[0], (99.0f64 / 100.0) as f32);
        assert!(bar_field("factor", &rows)[1].is_nan());
        // float32 cannot hold 61,169,613: dump_bin stores 61,169,612 too.
        assert_eq!(bar_field("volume", &rows)[0], 61_169_612.0);
        assert!(bar_field("volume", &rows)[1].is_nan());
        let change = bar_field("change", &rows);
        assert!(change[0].is_nan() && change[1].is_nan());
        assert_eq!(
            change[2],
            (110.0f64 / 100.0 - 1.0) as f32,
            "against the last close there was"
        );
        assert!(fields_for_bars(&["Close".into(), "vwap".into()]).is_err());
        assert_eq!(
            fields_for_bars(&["Close".into(), "close".into()]).unwrap(),
            ["close"]
        );
    }
}
