//! The SEC's `company_tickers_exchange.json`: `{"fields":["cik","name","ticker","exchange"],
//! "data":[[320193,"Apple Inc.","AAPL","Nasdaq"],…]}`, the official US list. Tickers are spelled
//! with hyphens (`BRK-B`, `CMS-PB`, `GRP-UN`); a missing exchange is `null` or `""`. Fields are
//! found by name in `fields`; a file without them, or a row of another width or type, is a
//! structure error.

use std::collections::HashSet;

use crate::source::{Context, Parsed, RawFile, StructureError, clean_name, decode};
use serde_json::Value;
use tickerlake::listing::{self, Spelling};

/// The MIC of an SEC exchange name.
pub fn exchange_mic(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_uppercase().as_str() {
        "NASDAQ" => "XNAS",
        "NYSE" => "XNYS",
        "NYSE AMERICAN" | "NYSE MKT" | "AMEX" => "XASE",
        "NYSE ARCA" | "ARCA" => "ARCX",
        "CBOE" | "BATS" => "BATS",
        "OTC" => "OTCM",
        _ => return None,
    })
}

pub fn parse(files: &[RawFile], cx: &Context) -> Result<Parsed, StructureError> {
    let [file] = files else {
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        return Err(StructureError::new(
            &names.join(", "),
            format!(
                "expected one company_tickers_exchange.json, found {} files",
                files.len()
            ),
        ));
    };
    let bad = |why: String| StructureError::new(&file.name, why);
    let text = decode(file)?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let fields: Vec<&str> = doc
        .get("fields")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no \"fields\" array".into()))?
        .iter()
        .map(|f| f.as_str().unwrap_or(""))
        .collect();
    let col = |name: &str| {
        fields
            .iter()
            .position(|f| f.eq_ignore_ascii_case(name))
            .ok_or_else(|| bad(format!("no {name:?} in \"fields\" ({fields:?})")))
    };
    let (name_col, ticker_col, exchange_col) = (col("name")?, col("ticker")?, col("exchange")?);
    let cik_col = col("cik")?;
    for name in ["cik", "name", "ticker", "exchange"] {
        if fields
            .iter()
            .filter(|f| f.eq_ignore_ascii_case(name))
            .count()
            > 1
        {
            return Err(bad(format!("{name:?} twice in \"fields\"")));
        }
    }
    let data = doc
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no \"data\" array".into()))?;
    if data.is_empty() {
        return Err(bad("no rows in \"data\"".into()));
    }
    let mut out = Parsed::default();
    let mut seen = HashSet::new();
    let mut unknown = HashSet::new();
    for (k, row) in data.iter().enumerate() {
        let at = || format!("data[{k}]");
        let row = row
            .as_array()
            .filter(|r| r.len() == fields.len())
            .ok_or_else(|| bad(format!("{}: not a row of {} fields", at(), fields.len())))?;
        let text = row[ticker_col]
            .as_str()
            .ok_or_else(|| bad(format!("{}: the ticker is not a string", at())))?;
        if !row[cik_col].is_u64() {
            return Err(bad(format!("{}: the cik is not a number", at())));
        }
        if !(row[name_col].is_string() || row[name_col].is_null()) {
            return Err(bad(format!("{}: the name is not a string", at())));
        }
        let exchange = match &row[exchange_col] {
            Value::Null => None,
            Value::String(s) if s.trim().is_empty() => None,
            Value::String(s) => Some(s.trim()),
            _ => return Err(bad(format!("{}: the exchange is not a string", at()))),
        };
        out.counts.rows += 1;
        let mic = exchange.and_then(exchange_mic);
        if let (Some(e), None) = (exchange, mic) {
            out.counts.unknown_venues += 1;
            if unknown.insert(e.to_string()) {
                tracing::warn!(
                    "{}: {}: exchange {} is not one tickerlake maps to a MIC: the row is kept \
                     without an exchange",
                    file.name,
                    at(),
                    tickerlake::echo::echo(e)
                );
            }
        }
        let canonical = match listing::canonical(text, Spelling::Hyphens) {
            Ok(c) => c,
            Err(e) => {
                out.counts.bad_symbols += 1;
                crate::source::report_bad_symbol(&file.name, &at(), text, &e);
                continue;
            }
        };
        let name = match listing::name(canonical.symbol.as_str(), mic) {
            Ok(n) => n,
            Err(e) => {
                out.counts.bad_symbols += 1;
                crate::source::report_bad_symbol(&file.name, &at(), text, &e);
                continue;
            }
        };
        if !seen.insert(name.clone()) {
            out.counts.duplicates += 1;
            crate::source::report_duplicate(&file.name, &format!("data[{k}]"), &name);
            continue;
        }
        let mut ticker = cx.ticker(name);
        if text.trim() != ticker.symbol.as_str() {
            ticker.source_symbol = Some(text.trim().to_string());
        }
        ticker.name = row[name_col].as_str().and_then(clean_name);
        ticker.exchange = mic.map(str::to_string);
        // The SEC lists issuers' tickers, funds included: only a suffix says what it is.
        ticker.asset_type = canonical.asset_type;
        ticker.currency = Some("USD".into());
        ticker.country = Some("US".into());
        out.tickers.push(ticker);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickerlake::records::AssetType;

    fn cx() -> Context {
        Context {
            source: "sec".into(),
            as_of: chrono::NaiveDate::from_ymd_opt(2025, 8, 24).unwrap(),
        }
    }

    fn raw(text: &str) -> Vec<RawFile> {
        vec![RawFile {
            name: "sec.json".into(),
            bytes: text.as_bytes().to_vec(),
        }]
    }

    #[test]
    fn hyphen_tickers_become_canonical_names() {
        let p = parse(
            &raw(r#"{"fields":["cik","name","ticker","exchange"],"data":[[1067983,"BERKSHIRE HATHAWAY INC","BRK-B","NYSE"],[1,"Arbor","ABR-PD","NYSE"],[2,"X Corp","XCO",null],[3,"Y","YY",""],[4,"Z","ZZ","Moon"],[5,"bad","A B","NYSE"]]}"#),
            &cx(),
        )
        .unwrap();
        let names: Vec<&str> = p.tickers.iter().map(|t| t.symbol.as_str()).collect();
        assert_eq!(names, ["BRK.B", "ABR-D", "XCO", "YY", "ZZ"]);
        assert_eq!(p.tickers[0].source_symbol.as_deref(), Some("BRK-B"));
        assert_eq!(p.tickers[0].exchange.as_deref(), Some("XNYS"));
        assert_eq!(p.tickers[1].asset_type, Some(AssetType::Preferred));
        assert_eq!(p.tickers[2].exchange, None);
        assert_eq!(p.counts.unknown_venues, 1);
        assert_eq!(p.counts.bad_symbols, 1);
    }

    #[test]
    fn another_shape_is_a_structure_error() {
        for (text, why) in [
            (
                r#"{"fields":["cik","name","symbol","exchange"],"data":[]}"#,
                "ticker",
            ),
            (r#"{"0":{"cik_str":320193,"ticker":"AAPL"}}"#, "fields"),
            (
                r#"{"fields":["cik","name","ticker","exchange"],"data":[[1,"A","A"]]}"#,
                "4 fields",
            ),
            (
                r#"{"fields":["cik","name","ticker","exchange"],"data":[]}"#,
                "no rows",
            ),
            (
                r#"{"fields":["cik","name","ticker","exchange"],"data":[[1,"A",7,"NYSE"]]}"#,
                "string",
            ),
            ("{\"fields\":[\"cik\"", "JSON"),
        ] {
            let e = parse(&raw(text), &cx()).unwrap_err();
            assert!(e.to_string().contains(why), "{why}: {e}");
        }
    }
}
