//! The Nasdaq stock screener: the source of market capitalisation, sector and industry for
//! `tickers-filter`'s samples. Three shapes, told apart by their first byte and header:
//!
//! - the API's JSON: rows under `data.rows` (the `download=true` request) or `data.table.rows`,
//!   or the rows alone; every field a string (`"$3.43"`, `"8761976.00"`, `"176,769,790,631"`,
//!   `""`);
//! - the "Download CSV" export: `Symbol,Name,Last Sale,…,Market Cap,Country,IPO Year,…,Sector,
//!   Industry`, no quoting, symbols padded with spaces at times;
//! - the older company list: every field quoted, a trailing comma on every line, CRLF,
//!   `$653.17M` / `$5.56B` caps and `n/a` for missing.
//!
//! Symbols are spelled `ABR^D` (preferred) and `BRK/B` (class). The screener lists US listings
//! without their venue: records have no `exchange`. A market cap of 0 is the screener's "not
//! known" (SPACs, funds), never a value.

use std::collections::HashSet;

use serde_json::Value;
use tickerlake::listing::{self, Spelling};

use crate::source::{
    Context, Parsed, RawFile, StructureError, cell, clean_name, decode, delimited, find_columns,
};

/// A market capitalisation as the screener writes it: `8761976.00`, `176,769,790,631`,
/// `$653.17M`, `$5.56B`; `None` for `n/a`, empty, 0 or anything else.
pub fn market_cap(text: &str) -> Option<f64> {
    let t = cell(text)?.trim_start_matches('$');
    // Thousands separators group three digits: `1,2,3` is no number.
    let (whole, fraction) = t.split_once('.').unwrap_or((t, ""));
    if fraction.contains(',') {
        return None;
    }
    if whole.contains(',')
        && whole
            .split(',')
            .skip(1)
            .any(|g| g.len() != 3 || !g.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let t = t.replace(',', "");
    let (number, scale) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let scale = match c.to_ascii_uppercase() {
                'K' => 1e3,
                'M' => 1e6,
                'B' => 1e9,
                'T' => 1e12,
                _ => return None,
            };
            (&t[..i], scale)
        }
        _ => (t.as_str(), 1.0),
    };
    let number = number.trim();
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return None;
    }
    // `$2.01B` is 2,010,000,000, not 2009999999.9999998.
    let v = number.parse::<f64>().ok()? * scale;
    let v = if scale > 1.0 { v.round() } else { v };
    (v.is_finite() && v >= 1.0).then_some(v)
}

/// One row, whatever the shape.
struct Row<'a> {
    symbol: &'a str,
    name: Option<&'a str>,
    market_cap: Option<&'a str>,
    sector: Option<&'a str>,
    industry: Option<&'a str>,
}

pub fn parse(files: &[RawFile], cx: &Context) -> Result<Parsed, StructureError> {
    let mut out = Parsed::default();
    let mut seen = HashSet::new();
    for file in files {
        let text = decode(file)?;
        if text.trim_start().starts_with(['[', '{']) {
            read_json(file, &text, cx, &mut out, &mut seen)?;
        } else {
            read_csv(file, &text, cx, &mut out, &mut seen)?;
        }
    }
    Ok(out)
}

fn read_json(
    file: &RawFile,
    text: &str,
    cx: &Context,
    out: &mut Parsed,
    seen: &mut HashSet<tickerlake::Symbol>,
) -> Result<(), StructureError> {
    let bad = |why: String| StructureError::new(&file.name, why);
    let doc: Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let rows = doc
        .as_array()
        .or_else(|| doc.pointer("/data/rows").and_then(Value::as_array))
        .or_else(|| doc.pointer("/data/table/rows").and_then(Value::as_array))
        .ok_or_else(|| bad("no rows: neither data.rows nor data.table.rows".into()))?;
    if rows.is_empty() {
        return Err(bad("no rows".into()));
    }
    for (k, row) in rows.iter().enumerate() {
        let field = |name: &str| row.get(name).and_then(Value::as_str);
        // Every field is a string today; a number is read as the number it is.
        let cap_number = row
            .get("marketCap")
            .and_then(Value::as_f64)
            .map(|n| format!("{n}"));
        let Some(symbol) = field("symbol") else {
            return Err(bad(format!("row {k}: no \"symbol\" string")));
        };
        add(
            file,
            k + 1,
            Row {
                symbol,
                name: field("name"),
                market_cap: field("marketCap").or(cap_number.as_deref()),
                sector: field("sector"),
                industry: field("industry"),
            },
            cx,
            out,
            seen,
        );
    }
    Ok(())
}

fn read_csv(
    file: &RawFile,
    text: &str,
    cx: &Context,
    out: &mut Parsed,
    seen: &mut HashSet<tickerlake::Symbol>,
) -> Result<(), StructureError> {
    let bad = |why: String| StructureError::new(&file.name, why);
    let records = delimited(file, text, b',')?;
    let Some(((_, header), rows)) = records.split_first() else {
        return Err(bad("empty: no header line".into()));
    };
    let [symbol_col, name_col] = find_columns(header, ["Symbol", "Name"])
        .map_err(|e| bad(format!("not a Nasdaq screener export: {e}")))?;
    let cap_col = find_columns(header, ["Market Cap"])
        .or_else(|_| find_columns(header, ["MarketCap"]))
        .map_err(|_| bad("not a Nasdaq screener export: no Market Cap column".into()))?[0];
    let sector_col = find_columns(header, ["Sector"]).ok().map(|[c]| c);
    let industry_col = find_columns(header, ["Industry"]).ok().map(|[c]| c);
    if rows.is_empty() {
        return Err(bad("no rows after the header".into()));
    }
    for (line, row) in rows {
        if row.len() != header.len() {
            return Err(bad(format!(
                "line {line}: {} fields, the header has {}",
                row.len(),
                header.len()
            )));
        }
        add(
            file,
            *line as usize,
            Row {
                symbol: &row[symbol_col],
                name: Some(&row[name_col]),
                market_cap: Some(&row[cap_col]),
                sector: sector_col.map(|c| row[c].as_str()),
                industry: industry_col.map(|c| row[c].as_str()),
            },
            cx,
            out,
            seen,
        );
    }
    Ok(())
}

fn add(
    file: &RawFile,
    line: usize,
    row: Row<'_>,
    cx: &Context,
    out: &mut Parsed,
    seen: &mut HashSet<tickerlake::Symbol>,
) {
    out.counts.rows += 1;
    let symbol = row.symbol.trim();
    let name = match listing::canonical(symbol, Spelling::Screener)
        .map_err(|e| e.to_string())
        .and_then(|c| {
            listing::name(c.symbol.as_str(), None)
                .map(|n| (n, c.asset_type))
                .map_err(|e| e.to_string())
        }) {
        Ok(n) => n,
        Err(e) => {
            out.counts.bad_symbols += 1;
            crate::source::report_bad_symbol(&file.name, &line, symbol, &e);
            return;
        }
    };
    let (name, asset_type) = name;
    if !seen.insert(name.clone()) {
        out.counts.duplicates += 1;
        crate::source::report_duplicate(&file.name, &line, &name);
        return;
    }
    let mut ticker = cx.ticker(name);
    if symbol != ticker.symbol.as_str() {
        ticker.source_symbol = Some(symbol.to_string());
    }
    ticker.name = row.name.and_then(cell).and_then(clean_name);
    ticker.asset_type = asset_type;
    ticker.market_cap = row.market_cap.and_then(market_cap);
    ticker.currency = Some("USD".into());
    ticker.country = Some("US".into());
    ticker.sector = row.sector.and_then(cell).and_then(clean_name);
    ticker.industry = row.industry.and_then(cell).and_then(clean_name);
    out.tickers.push(ticker);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> Context {
        Context {
            source: "nasdaq-screener".into(),
            as_of: chrono::NaiveDate::from_ymd_opt(2024, 5, 8).unwrap(),
        }
    }

    #[test]
    fn market_caps_in_every_spelling() {
        for (text, want) in [
            ("8761976.00", Some(8_761_976.0)),
            ("176,769,790,631", Some(176_769_790_631.0)),
            ("$653.17M", Some(653.17e6)),
            ("$5.56B", Some(5.56e9)),
            ("$9M", Some(9e6)),
            ("n/a", None),
            ("", None),
            ("0.00", None),
            ("-", None),
            ("$1Q", None),
            ("NaN", None),
            ("$2.01B", Some(2_010_000_000.0)),
            ("1,2,3", None),
            ("1.234,56", None),
            ("1e300", None),
        ] {
            assert_eq!(market_cap(text), want, "{text:?}");
        }
    }

    #[test]
    fn the_three_shapes_read_alike() {
        let csv = "Symbol,Name,Last Sale,Market Cap,Sector,Industry\nBRK/B ,Berkshire B,$1,\"1,000\",Finance,Insurers\nABR^D,Arbor D,$2,,,\n";
        let api = r#"{"data":{"rows":[{"symbol":"BRK/B","name":"Berkshire B","marketCap":"1,000","sector":"Finance","industry":"Insurers"},{"symbol":"ABR^D","name":"Arbor D","marketCap":"","sector":"","industry":""}]}}"#;
        let table = r#"{"data":{"table":{"rows":[{"symbol":"BRK/B","name":"Berkshire B","marketCap":"1,000"},{"symbol":"ABR^D","name":"Arbor D","marketCap":""}]}}}"#;
        let legacy = "\"Symbol\",\"Name\",\"MarketCap\",\"Sector\",\"industry\",\r\n\"BRK/B     \",\"Berkshire B\",\"$1K\",\"Finance\",\"Insurers\",\r\n\"ABR^D\",\"Arbor D\",\"n/a\",\"n/a\",\"n/a\",\r\n";
        for text in [csv, api, table, legacy] {
            let p = parse(
                &[RawFile {
                    name: "s".into(),
                    bytes: text.as_bytes().to_vec(),
                }],
                &cx(),
            )
            .unwrap_or_else(|e| panic!("{text}: {e}"));
            let names: Vec<&str> = p.tickers.iter().map(|t| t.symbol.as_str()).collect();
            assert_eq!(names, ["BRK.B", "ABR-D"], "{text}");
            assert_eq!(p.tickers[0].market_cap, Some(1000.0), "{text}");
            assert_eq!(p.tickers[0].source_symbol.as_deref(), Some("BRK/B"));
            assert_eq!(p.tickers[1].market_cap, None);
            assert_eq!(p.tickers[1].sector, None);
        }
    }

    #[test]
    fn another_shape_is_a_structure_error() {
        for (text, why) in [
            ("Ticker,Name,Market Cap\nA,B,1\n", "Symbol"),
            ("Symbol,Name\nA,B\n", "Market Cap"),
            (r#"{"data":{"headers":{}}}"#, "data.rows"),
            ("[]", "no rows"),
            ("[{\"name\":\"x\"}]", "symbol"),
            ("Symbol,Name,Market Cap\nA,B\n", "2 fields"),
        ] {
            let e = parse(
                &[RawFile {
                    name: "s".into(),
                    bytes: text.as_bytes().to_vec(),
                }],
                &cx(),
            )
            .unwrap_err();
            assert!(e.to_string().contains(why), "{why}: {e}");
        }
    }
}
