//! A hand-kept universe in `config.yaml` (`kind: list`): a few tickers with their name, venue,
//! asset type and groups, for users who track a handful of names. Groups become the records'
//! `indexes` tags. Each entry is checked like a row of any other source: a symbol that is no
//! symbol, or a record its contract refuses, is left out with a warning and counted.

use std::collections::HashSet;

use tickerlake::Record;
use tickerlake::config::ListedTicker;
use tickerlake::listing::{self, Spelling};

use crate::source::{Context, Parsed, clean_name};

pub fn parse(entries: &[ListedTicker], cx: &Context) -> Parsed {
    let mut out = Parsed::default();
    let mut seen = HashSet::new();
    let place = format!("scrape.sources.{}", cx.source);
    for (k, e) in entries.iter().enumerate() {
        out.counts.rows += 1;
        let mic = e.exchange.as_deref().map(str::trim);
        // A name already (`SAP.DE` on XETR), or a symbol to name (`SAP` on XETR, `BRK.B`).
        let named = match mic {
            Some(m) if listing::split(e.symbol.trim()).1.is_some() => {
                match listing::check_name(e.symbol.trim(), m) {
                    None => tickerlake::Symbol::parse(e.symbol.trim()).map_err(|e| e.to_string()),
                    Some(why) => Err(why),
                }
            }
            _ => listing::canonical(&e.symbol, Spelling::Canonical)
                .map_err(|e| e.to_string())
                .and_then(|c| listing::name(c.symbol.as_str(), mic).map_err(|e| e.to_string())),
        };
        let name = match named {
            Ok(n) => n,
            Err(why) => {
                out.counts.bad_symbols += 1;
                crate::source::report_bad_symbol(&place, &(k + 1), &e.symbol, &why);
                continue;
            }
        };
        if !seen.insert(name.clone()) {
            out.counts.duplicates += 1;
            crate::source::report_duplicate(&place, &(k + 1), &name);
            continue;
        }
        let mut t = cx.ticker(name);
        t.name = e.name.as_deref().and_then(clean_name);
        t.exchange = mic.map(str::to_string);
        t.asset_type = e.asset_type;
        t.currency = e.currency.clone();
        t.country = mic.and_then(|m| {
            if listing::is_us_venue(m) {
                Some("US".to_string())
            } else {
                listing::venue(m).map(|v| v.country.to_string())
            }
        });
        t.indexes = e
            .groups
            .iter()
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        if let Err(err) = t.validate() {
            out.counts.bad_symbols += 1;
            tracing::warn!("{place}: entry {}: {err}: left out", k + 1);
            continue;
        }
        out.tickers.push(t);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickerlake::config::Config;

    #[test]
    fn the_shipped_watchlist_becomes_named_records_with_groups() {
        let config = Config::default();
        let list = &config.scrape.sources["watchlist"].tickers;
        let cx = Context {
            source: "watchlist".into(),
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
        };
        let p = parse(list, &cx);
        let names: Vec<&str> = p.tickers.iter().map(|t| t.symbol.as_str()).collect();
        assert_eq!(names, ["AAPL", "BRK.B", "SAP.DE", "AIR.PA"]);
        assert_eq!(p.tickers[2].indexes, ["tech", "europe"]);
        assert_eq!(p.tickers[2].country.as_deref(), Some("DE"));
    }

    #[test]
    fn a_bad_entry_is_left_out_and_counted() {
        let entry = |symbol: &str, exchange: Option<&str>, currency: Option<&str>| ListedTicker {
            symbol: symbol.into(),
            name: None,
            exchange: exchange.map(str::to_string),
            asset_type: None,
            currency: currency.map(str::to_string),
            groups: vec![],
        };
        let cx = Context {
            source: "l".into(),
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
        };
        let p = parse(
            &[
                entry("brk b", None, None),
                entry("SAP.DE", Some("XPAR"), None),
                entry("X", Some("MARS"), None),
                entry("Y", None, Some("euros")),
                entry("SAP.DE", Some("XETR"), None),
                entry("SAP", Some("XETR"), None),
            ],
            &cx,
        );
        let names: Vec<&str> = p.tickers.iter().map(|t| t.symbol.as_str()).collect();
        assert_eq!(names, ["SAP.DE"]);
        assert_eq!((p.counts.bad_symbols, p.counts.duplicates), (4, 1));
    }
}
