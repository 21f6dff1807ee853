//! Euronext's equities list (the download behind the "Download" button of live.euronext.com):
//! `;`-separated, UTF-8 with a byte-order mark or ISO-8859-1 in older exports, metadata lines
//! (one field each) between the header and the data in newer exports and none in older ones,
//! columns by name, `-` for a missing value. `Market` names the venue (a list names several: the
//! first is taken); a market tickerlake cannot name listings on is left out with a warning —
//! named without its venue, it would collide with a US listing.

use std::collections::HashSet;

use tickerlake::records::AssetType;

use crate::source::{
    Context, Parsed, RawFile, StructureError, VenueRow, cell, decode, delimited, find_columns,
    venue_ticker,
};

/// The MIC of a Euronext market name (`Euronext Growth Paris`), without its suffixes
/// (`- Multi-currency Trading`).
pub fn market_mic(market: &str) -> Option<&'static str> {
    let first = market.split(',').next().unwrap_or("").trim();
    let base = first.split(" - ").next().unwrap_or("").trim();
    let lower = base.to_lowercase();
    Some(match lower.as_str() {
        "euronext paris" => "XPAR",
        "euronext growth paris" => "ALXP",
        "euronext access paris" => "XMLI",
        "euronext amsterdam" => "XAMS",
        "euronext growth amsterdam" => "ALXA",
        "euronext access amsterdam" => "TNLA",
        "euronext brussels" => "XBRU",
        "euronext growth brussels" => "ALXB",
        "euronext access brussels" => "MLXB",
        "euronext lisbon" => "XLIS",
        "euronext growth lisbon" => "ALXL",
        "euronext access lisbon" => "ENXL",
        "euronext dublin" => "XMSM",
        "euronext growth dublin" => "XESM",
        "oslo børs" | "oslo bors" | "euronext oslo børs" => "XOSL",
        "euronext expand oslo" | "oslo axess" => "XOAS",
        "euronext growth oslo" | "merkur market" => "MERK",
        "euronext milan" => "XMIL",
        _ => return None,
    })
}

pub fn parse(files: &[RawFile], cx: &Context) -> Result<Parsed, StructureError> {
    let mut out = Parsed::default();
    let mut seen = HashSet::new();
    let mut unknown = HashSet::new();
    for file in files {
        read_file(file, cx, &mut out, &mut seen, &mut unknown)?;
    }
    Ok(out)
}

fn read_file(
    file: &RawFile,
    cx: &Context,
    out: &mut Parsed,
    seen: &mut HashSet<tickerlake::Symbol>,
    unknown: &mut HashSet<String>,
) -> Result<(), StructureError> {
    let bad = |why: String| StructureError::new(&file.name, why);
    let text = decode(file)?;
    let records = delimited(file, &text, b';')?;
    let Some(((_, header), rows)) = records.split_first() else {
        return Err(bad("empty: no header line".into()));
    };
    let [name_col, isin_col, symbol_col, market_col] =
        find_columns(header, ["Name", "ISIN", "Symbol", "Market"])
            .map_err(|e| bad(format!("not a Euronext equities list: {e}")))?;
    let currency_col = find_columns(header, ["Currency"]).ok().map(|[c]| c);
    // Newer exports put metadata lines (one field each) before the data.
    let data: Vec<_> = rows.iter().skip_while(|(_, r)| r.len() == 1).collect();
    if data.is_empty() {
        return Err(bad("no rows after the header".into()));
    }
    for (line, row) in data {
        if row.len() != header.len() {
            return Err(bad(format!(
                "line {line}: {} fields, the header has {}",
                row.len(),
                header.len()
            )));
        }
        out.counts.rows += 1;
        let Some(symbol) = cell(&row[symbol_col]) else {
            out.counts.bad_symbols += 1;
            crate::source::report_bad_symbol(&file.name, line, "", &"no symbol");
            continue;
        };
        let market = row[market_col].trim();
        let Some(mic) = market_mic(market) else {
            out.counts.unknown_venues += 1;
            if unknown.insert(market.to_string()) {
                tracing::warn!(
                    "{}:{line}: market {} is not one tickerlake names listings on: its rows are \
                     left out",
                    file.name,
                    tickerlake::echo::echo(market)
                );
            }
            continue;
        };
        let row = VenueRow {
            file: &file.name,
            line: *line,
            symbol,
            mic,
            name: cell(&row[name_col]),
            isin: cell(&row[isin_col]),
            currency: currency_col.and_then(|c| cell(&row[c])),
            asset_type: AssetType::Stock,
        };
        let Some(ticker) = venue_ticker(row, cx, out, seen) else {
            continue;
        };
        out.tickers.push(ticker);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> Context {
        Context {
            source: "euronext".into(),
            as_of: chrono::NaiveDate::from_ymd_opt(2026, 8, 4).unwrap(),
        }
    }

    const HEADER: &str = "Name;ISIN;Symbol;Market;Currency;\"Open Price\"\n";

    #[test]
    fn new_and_old_exports_read_alike_in_either_encoding() {
        let new = format!(
            "\u{FEFF}{HEADER}\"European Equities\"\n\"04 Aug 2026\"\n2CRSI;FR0013341781;AL2SI;\"Euronext Growth Paris\";EUR;26.60\n\"AB SCIENCE\";FR0010557264;AB;\"Euronext Paris, Brussels\";EUR;-\n"
        );
        let mut old = HEADER.as_bytes().to_vec();
        old.extend_from_slice(b"NORSK B\xD8RS;NO0000000001;NBX;\"Oslo B\xF8rs\";NOK;1\n");
        for (bytes, want) in [
            (
                new.into_bytes(),
                vec![("AL2SI.PA", "ALXP"), ("AB.PA", "XPAR")],
            ),
            (old, vec![("NBX.OL", "XOSL")]),
        ] {
            let p = parse(
                &[RawFile {
                    name: "e.csv".into(),
                    bytes,
                }],
                &cx(),
            )
            .unwrap();
            let got: Vec<(&str, &str)> = p
                .tickers
                .iter()
                .map(|t| (t.symbol.as_str(), t.exchange.as_deref().unwrap()))
                .collect();
            assert_eq!(got, want);
        }
    }

    #[test]
    fn a_renamed_column_or_a_ragged_row_is_a_structure_error() {
        for (text, why) in [
            ("Name;ISIN;Ticker;Market\nA;B;C;D\n", "Symbol"),
            (
                "Name;ISIN;Symbol;Market\nA;FR0013341781;AL2SI\n",
                "3 fields",
            ),
            ("Name;ISIN;Symbol;Market\n", "no rows"),
            ("", "empty"),
        ] {
            let e = parse(
                &[RawFile {
                    name: "e.csv".into(),
                    bytes: text.as_bytes().to_vec(),
                }],
                &cx(),
            )
            .unwrap_err();
            assert!(e.to_string().contains(why), "{why}: {e}");
        }
    }
}
