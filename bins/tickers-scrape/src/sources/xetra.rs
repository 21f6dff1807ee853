//! Deutsche Börse's "all tradable instruments" list for Xetra
//! (`t7-xetr-allTradableInstruments.csv`): `;`-separated, preamble lines (`Market:;XETR`,
//! `Date Last Update:;…`) before the header, 120-odd columns that grow between releases and
//! change case — every column is found by name, case-insensitively. `Mnemonic` is the Xetra
//! symbol; `Instrument Type` CS, ETF, ETC, ETN, OTHER; inactive instruments are left out.

use std::collections::HashSet;

use tickerlake::listing;
use tickerlake::records::AssetType;

use crate::source::{
    Context, Parsed, RawFile, StructureError, VenueRow, cell, decode, delimited, find_columns,
    venue_ticker,
};

/// The header is within the first few lines, after the preamble.
const HEADER_WITHIN: usize = 10;

pub fn asset_type(instrument_type: &str) -> AssetType {
    match instrument_type.trim().to_ascii_uppercase().as_str() {
        "CS" => AssetType::Stock,
        "ETF" => AssetType::Etf,
        "ETN" => AssetType::Note,
        _ => AssetType::Other,
    }
}

pub fn parse(files: &[RawFile], cx: &Context) -> Result<Parsed, StructureError> {
    let mut out = Parsed::default();
    let mut seen = HashSet::new();
    for file in files {
        read_file(file, cx, &mut out, &mut seen)?;
    }
    Ok(out)
}

fn read_file(
    file: &RawFile,
    cx: &Context,
    out: &mut Parsed,
    seen: &mut HashSet<tickerlake::Symbol>,
) -> Result<(), StructureError> {
    let bad = |why: String| StructureError::new(&file.name, why);
    let text = decode(file)?;
    let records = delimited(file, &text, b';')?;
    let wanted = [
        "Instrument",
        "ISIN",
        "Mnemonic",
        "Instrument Type",
        "Instrument Status",
    ];
    let Some(at) = records
        .iter()
        .take(HEADER_WITHIN)
        .position(|(_, r)| find_columns(r, wanted).is_ok())
    else {
        let first = records
            .first()
            .map(|(_, r)| r.join(";"))
            .unwrap_or_default();
        let why = records
            .iter()
            .take(HEADER_WITHIN)
            .find_map(|(_, r)| find_columns(r, wanted).err().filter(|_| r.len() > 5))
            .unwrap_or_else(|| "no header line".into());
        return Err(bad(format!(
            "not Xetra's all tradable instruments list: {why} (starts {})",
            tickerlake::echo::echo(&first)
        )));
    };
    let header = &records[at].1;
    let [name_col, isin_col, symbol_col, type_col, status_col] =
        find_columns(header, wanted).map_err(bad)?;
    let mic_col = find_columns(header, ["MIC Code"]).ok().map(|[c]| c);
    let currency_col = find_columns(header, ["Currency"])
        .or_else(|_| find_columns(header, ["Settlement Currency"]))
        .ok()
        .map(|[c]| c);
    let rows = &records[at + 1..];
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
        out.counts.rows += 1;
        if row[status_col].trim().eq_ignore_ascii_case("inactive") {
            out.counts.inactive += 1;
            continue;
        }
        let mic = mic_col.and_then(|c| cell(&row[c])).unwrap_or("XETR");
        if listing::venue(mic).is_none() {
            out.counts.unknown_venues += 1;
            continue;
        }
        let Some(symbol) = cell(&row[symbol_col]) else {
            out.counts.bad_symbols += 1;
            crate::source::report_bad_symbol(&file.name, line, "", &"no Mnemonic");
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
            asset_type: asset_type(&row[type_col]),
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
            source: "xetra".into(),
            as_of: chrono::NaiveDate::from_ymd_opt(2019, 4, 18).unwrap(),
        }
    }

    fn parse_text(text: &str) -> Result<Parsed, StructureError> {
        parse(
            &[RawFile {
                name: "x.csv".into(),
                bytes: text.as_bytes().to_vec(),
            }],
            &cx(),
        )
    }

    #[test]
    fn columns_are_found_by_name_whatever_their_case_or_place() {
        for text in [
            "Market:;XETR\nDate Last Update:;18.04.2019\nInstrument Status;instrument;ISIN;Mnemonic;MIC Code;Instrument Type;Settlement Currency\nactive;SAP SE  O.N.;DE0007164600;SAP;XETR;CS;EUR\ninactive;OLD AG;DE0007164600;OLD;XETR;CS;EUR\nactive;X;DE0007164600;;XETR;CS;EUR\n",
            "Market:;XETR\nDate Last Update:;18.04.2019\nMnemonic;ISIN;Instrument Type;INSTRUMENT;Instrument status;Extra\nSAP;DE0007164600;CS;SAP SE  O.N.;Active;x\nOLD;DE0007164600;CS;OLD AG;Inactive;y\n;DE0007164600;CS;X;active;z\n",
        ] {
            let p = parse_text(text).unwrap();
            assert_eq!(p.tickers.len(), 1);
            let t = &p.tickers[0];
            assert_eq!(t.symbol.as_str(), "SAP.DE");
            assert_eq!(t.name.as_deref(), Some("SAP SE O.N."));
            assert_eq!(t.exchange.as_deref(), Some("XETR"));
            assert_eq!(t.asset_type, Some(AssetType::Stock));
            assert_eq!((p.counts.inactive, p.counts.bad_symbols), (1, 1));
        }
    }

    #[test]
    fn a_list_without_its_columns_is_a_structure_error() {
        for (text, why) in [
            (
                "Market:;XETR\nInstrument;ISIN;Ticker;Instrument Type;Instrument Status;A\nX;Y;Z;CS;active;1\n",
                "Mnemonic",
            ),
            (
                "Market:;XETR\nInstrument;ISIN;Mnemonic;Instrument Type;Instrument Status\nX;Y\n",
                "2 fields",
            ),
            ("", "no header"),
        ] {
            let e = parse_text(text).unwrap_err();
            assert!(e.to_string().contains(why), "{why}: {e}");
        }
    }
}
