//! Nasdaq Trader's symbol directory: `nasdaqlisted.txt` (Nasdaq's own listings),
//! `otherlisted.txt` (every other US venue) and `nasdaqtraded.txt` (all of them in one file).
//!
//! Pipe-delimited, a header line, then one row per security, then a `File Creation Time:` footer
//! whose field count varies between the files (never relied on). LF or CRLF. The files are told
//! apart by their headers, and columns are found by name, so a reordered or widened file still
//! reads; a file without the columns read here, without its footer (a cut download) or with a
//! row of another width is a structure error. Test issues are left out and counted; venue codes
//! map to MICs, an unknown one is kept as a warning (the row stays, without an exchange).

use std::collections::HashSet;

use tickerlake::listing::{self, Spelling};
use tickerlake::records::AssetType;

use crate::source::{Context, Parsed, RawFile, StructureError, clean_name, decode};

/// Which of the three files a header is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `nasdaqlisted.txt`.
    Listed,
    /// `otherlisted.txt`.
    Other,
    /// `nasdaqtraded.txt`.
    Traded,
}

impl Layout {
    fn columns(self) -> &'static [&'static str] {
        match self {
            Layout::Listed => &[
                "Symbol",
                "Security Name",
                "Market Category",
                "Test Issue",
                "ETF",
            ],
            Layout::Other => &[
                "ACT Symbol",
                "Security Name",
                "Exchange",
                "CQS Symbol",
                "ETF",
                "Test Issue",
                "NASDAQ Symbol",
            ],
            Layout::Traded => &[
                "Symbol",
                "Security Name",
                "Listing Exchange",
                "ETF",
                "Test Issue",
                "CQS Symbol",
                "NASDAQ Symbol",
            ],
        }
    }

    fn file(self) -> &'static str {
        match self {
            Layout::Listed => "nasdaqlisted.txt",
            Layout::Other => "otherlisted.txt",
            Layout::Traded => "nasdaqtraded.txt",
        }
    }
}

/// The MIC of a Nasdaq Trader venue code (`Exchange`, `Listing Exchange`).
pub fn venue_code(code: &str) -> Option<&'static str> {
    Some(match code {
        "Q" => "XNAS",
        "N" => "XNYS",
        "A" => "XASE",
        "P" => "ARCX",
        "Z" => "BATS",
        "V" => "IEXG",
        "M" => "XCHI",
        _ => return None,
    })
}

/// One file read into rows, its footer checked.
struct Table<'a> {
    layout: Layout,
    /// Each of the layout's columns and its position, found by name.
    columns: Vec<(&'static str, usize)>,
    /// (line number, fields).
    rows: Vec<(usize, Vec<&'a str>)>,
}

impl Table<'_> {
    /// The position of one of the layout's columns (all were found, or the file was refused).
    fn col(&self, name: &str) -> usize {
        self.columns
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, i)| *i)
    }
}

fn read_table<'a>(file: &RawFile, text: &'a str) -> Result<Table<'a>, StructureError> {
    let bad = |why: String| StructureError::new(&file.name, why);
    let mut lines = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header_line)) = lines.next() else {
        return Err(bad("empty: no header line".into()));
    };
    let header: Vec<&str> = header_line.split('|').map(str::trim).collect();
    let has = |name: &str| header.iter().any(|h| h.eq_ignore_ascii_case(name));
    let layout = if has("Nasdaq Traded") || has("Listing Exchange") {
        Layout::Traded
    } else if has("ACT Symbol") {
        Layout::Other
    } else {
        Layout::Listed
    };
    let position = |name: &str| header.iter().position(|h| h.eq_ignore_ascii_case(name));
    let columns: Vec<(&'static str, usize)> = layout
        .columns()
        .iter()
        .filter_map(|c| position(c).map(|i| (*c, i)))
        .collect();
    let missing: Vec<&str> = layout
        .columns()
        .iter()
        .copied()
        .filter(|c| position(c).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(bad(format!(
            "not the Nasdaq Trader symbol directory's {} layout: no {} column (header {})",
            layout.file(),
            missing.join(", "),
            tickerlake::echo::echo(header_line)
        )));
    }
    let mut rows = Vec::new();
    let mut footer = false;
    for (line, text) in lines {
        if footer {
            return Err(bad(format!(
                "line {line}: data after the File Creation Time footer"
            )));
        }
        if text.trim_start().starts_with("File Creation Time") {
            footer = true;
            continue;
        }
        let fields: Vec<&str> = text.split('|').collect();
        if fields.len() != header.len() {
            return Err(bad(format!(
                "line {line}: {} fields, the header has {}",
                fields.len(),
                header.len()
            )));
        }
        rows.push((line, fields));
    }
    if !footer {
        return Err(bad(
            "no File Creation Time footer: the file is cut short".into()
        ));
    }
    if rows.is_empty() {
        return Err(bad("no rows between the header and the footer".into()));
    }
    Ok(Table {
        layout,
        columns,
        rows,
    })
}

/// What a security's name says it is, where its symbol does not (`… - Units`, `… - Warrant`).
fn asset_type_from_name(name: &str) -> Option<AssetType> {
    // Nasdaq describes the security after the issuer: "Apple Inc. - Common Stock".
    let description = name.rsplit_once(" - ").map_or(name, |(_, d)| d);
    let words: Vec<String> = description
        .split(|c: char| !c.is_ascii_alphanumeric())
        .map(str::to_ascii_lowercase)
        .collect();
    let said = |w: &[&str]| words.iter().any(|x| w.contains(&x.as_str()));
    if said(&["warrant", "warrants"]) {
        Some(AssetType::Warrant)
    } else if said(&["unit", "units"]) {
        Some(AssetType::Unit)
    } else if said(&["right", "rights"]) {
        Some(AssetType::Right)
    } else if said(&["preferred"]) {
        Some(AssetType::Preferred)
    } else if said(&["notes", "note", "debentures"]) {
        Some(AssetType::Note)
    } else {
        None
    }
}

/// Parses the files of one source: `nasdaqlisted` and `otherlisted` together (kind
/// `nasdaqtrader`), or `nasdaqtraded` alone (`nasdaqtrader-traded`).
pub fn parse(files: &[RawFile], traded: bool, cx: &Context) -> Result<Parsed, StructureError> {
    let texts: Vec<_> = files.iter().map(decode).collect::<Result<_, _>>()?;
    let mut tables = Vec::new();
    for (file, text) in files.iter().zip(&texts) {
        tables.push((file, read_table(file, text)?));
    }
    let layouts: Vec<Layout> = tables.iter().map(|(_, t)| t.layout).collect();
    let wanted: &[Layout] = if traded {
        &[Layout::Traded]
    } else {
        &[Layout::Listed, Layout::Other]
    };
    for w in wanted {
        let n = layouts.iter().filter(|l| *l == w).count();
        if n != 1 {
            let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
            return Err(StructureError::new(
                &names.join(", "),
                format!("expected one {} among the files, found {n}", w.file()),
            ));
        }
    }
    if let Some(extra) = layouts.iter().find(|l| !wanted.contains(l)) {
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        return Err(StructureError::new(
            &names.join(", "),
            format!("{} is not a file of this source", extra.file()),
        ));
    }
    let mut out = Parsed::default();
    let mut seen = HashSet::new();
    let mut unknown_codes = HashSet::new();
    for (file, table) in &tables {
        read_rows(file, table, cx, &mut out, &mut seen, &mut unknown_codes);
    }
    Ok(out)
}

fn read_rows(
    file: &RawFile,
    t: &Table<'_>,
    cx: &Context,
    out: &mut Parsed,
    seen: &mut HashSet<tickerlake::Symbol>,
    unknown_codes: &mut HashSet<String>,
) {
    let name_col = t.col("Security Name");
    let test_col = t.col("Test Issue");
    let etf_col = t.col("ETF");
    // The symbol columns, best first: Nasdaq's integrated symbology says the most, CQS next,
    // ACT last (its `.A` can be a warrant series).
    let symbol_cols: Vec<(usize, Spelling)> = match t.layout {
        Layout::Listed => vec![(t.col("Symbol"), Spelling::NasdaqIntegrated)],
        Layout::Other => vec![
            (t.col("NASDAQ Symbol"), Spelling::NasdaqIntegrated),
            (t.col("CQS Symbol"), Spelling::Cqs),
            (t.col("ACT Symbol"), Spelling::Act),
        ],
        Layout::Traded => vec![
            (t.col("NASDAQ Symbol"), Spelling::NasdaqIntegrated),
            (t.col("CQS Symbol"), Spelling::Cqs),
            (t.col("Symbol"), Spelling::Act),
        ],
    };
    let venue_col = match t.layout {
        Layout::Listed => None,
        Layout::Other => Some(t.col("Exchange")),
        Layout::Traded => Some(t.col("Listing Exchange")),
    };
    for (line, fields) in &t.rows {
        out.counts.rows += 1;
        if fields[test_col].trim().eq_ignore_ascii_case("Y") {
            out.counts.test_issues += 1;
            continue;
        }
        let Some((text, spelling)) = symbol_cols
            .iter()
            .map(|(c, s)| (fields[*c].trim(), *s))
            .find(|(text, _)| !text.is_empty())
        else {
            out.counts.bad_symbols += 1;
            crate::source::report_bad_symbol(&file.name, line, "", &"no symbol in any column");
            continue;
        };
        let mic = match venue_col {
            None => Some("XNAS"),
            Some(c) => {
                let code = fields[c].trim();
                let mic = venue_code(code);
                if mic.is_none() {
                    out.counts.unknown_venues += 1;
                    if unknown_codes.insert(code.to_string()) {
                        tracing::warn!(
                            "{}:{line}: venue code {} is not one Nasdaq Trader documented \
                             (Q N A P Z V M): the row is kept without an exchange",
                            file.name,
                            tickerlake::echo::echo(code)
                        );
                    }
                }
                mic
            }
        };
        let canonical = match listing::canonical(text, spelling) {
            Ok(c) => c,
            Err(e) => {
                out.counts.bad_symbols += 1;
                crate::source::report_bad_symbol(&file.name, line, text, &e);
                continue;
            }
        };
        let name = match listing::name(canonical.symbol.as_str(), mic) {
            Ok(n) => n,
            Err(e) => {
                out.counts.bad_symbols += 1;
                crate::source::report_bad_symbol(&file.name, line, text, &e);
                continue;
            }
        };
        if !seen.insert(name.clone()) {
            out.counts.duplicates += 1;
            crate::source::report_duplicate(&file.name, line, &name);
            continue;
        }
        let security = clean_name(fields[name_col]);
        let etf = fields[etf_col].trim() == "Y";
        let mut ticker = cx.ticker(name);
        ticker.asset_type = Some(if etf {
            AssetType::Etf
        } else {
            canonical
                .asset_type
                .or_else(|| security.as_deref().and_then(asset_type_from_name))
                .unwrap_or(AssetType::Stock)
        });
        if text != ticker.symbol.as_str() {
            ticker.source_symbol = Some(text.to_string());
        }
        ticker.name = security;
        ticker.exchange = mic.map(str::to_string);
        ticker.currency = Some("USD".into());
        ticker.country = Some("US".into());
        out.tickers.push(ticker);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> Context {
        Context {
            source: "nasdaqtrader".into(),
            as_of: chrono::NaiveDate::from_ymd_opt(2025, 7, 21).unwrap(),
        }
    }

    fn raw(name: &str, text: &str) -> RawFile {
        RawFile {
            name: name.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    const LISTED: &str = "Symbol|Security Name|Market Category|Test Issue|Financial Status|Round Lot Size|ETF|NextShares\nAAPL|Apple Inc. - Common Stock|Q|N|N|100|N|N\nAACBU|Artius II Acquisition Inc. - Units|G|N|N|100|N|N\nZAZZT|Tick Pilot Test Stock Class A Common Stock|G|Y|N|100||N\nFile Creation Time: 0721202521:31|||||||\n";
    const OTHER: &str = "ACT Symbol|Security Name|Exchange|CQS Symbol|ETF|Round Lot Size|Test Issue|NASDAQ Symbol\r\nABR$D|Arbor Realty Trust 6.375% Series D Preferred Stock|N|ABRpD|N|100|N|ABR-D\r\nBRK.B|Berkshire Hathaway Inc. Class B|N|BRK.B|N|100|N|BRK.B\r\nNE.A|Noble Corp Warrants Series A|N|NE.WS.A|N|100|N|NE+A\r\nXYZ|Some  Fund  |K|XYZ|Y|100|N|XYZ\r\nFile Creation Time: 0721202521:31||||||\r\n";

    #[test]
    fn both_directory_files_become_named_tickers_in_either_order_and_line_ending() {
        for files in [
            vec![raw("l", LISTED), raw("o", OTHER)],
            vec![raw("o", OTHER), raw("l", LISTED)],
        ] {
            let p = parse(&files, false, &cx()).unwrap();
            let names: Vec<&str> = p.tickers.iter().map(|t| t.symbol.as_str()).collect();
            assert!(
                names.contains(&"ABR-D") && names.contains(&"NE.WS.A"),
                "{names:?}"
            );
            assert_eq!(p.counts.rows, 7);
            assert_eq!(p.counts.test_issues, 1);
            assert_eq!(p.counts.unknown_venues, 1);
            let by = |n: &str| p.tickers.iter().find(|t| t.symbol.as_str() == n).unwrap();
            assert_eq!(by("AAPL").exchange.as_deref(), Some("XNAS"));
            assert_eq!(by("AACBU").asset_type, Some(AssetType::Unit));
            assert_eq!(by("ABR-D").asset_type, Some(AssetType::Preferred));
            assert_eq!(by("ABR-D").source_symbol, None);
            assert_eq!(by("NE.WS.A").asset_type, Some(AssetType::Warrant));
            assert_eq!(by("NE.WS.A").source_symbol.as_deref(), Some("NE+A"));
            assert_eq!(by("BRK.B").exchange.as_deref(), Some("XNYS"));
            // An unknown venue code keeps the row, without an exchange.
            assert_eq!(by("XYZ").exchange, None);
            assert_eq!(by("XYZ").asset_type, Some(AssetType::Etf));
            assert_eq!(by("XYZ").name.as_deref(), Some("Some Fund"));
        }
    }

    #[test]
    fn a_drifted_or_cut_file_is_a_structure_error_never_half_a_listing() {
        let renamed = OTHER.replace("NASDAQ Symbol", "Nasdaq Ticker");
        let cut = &LISTED[..LISTED.find("File Creation").unwrap()];
        let ragged = LISTED.replace("AAPL|Apple", "AAPL|X|Apple");
        for (files, why) in [
            (vec![raw("l", LISTED), raw("o", &renamed)], "NASDAQ Symbol"),
            (vec![raw("l", cut), raw("o", OTHER)], "footer"),
            (vec![raw("l", &ragged), raw("o", OTHER)], "fields"),
            (vec![raw("l", LISTED)], "otherlisted"),
            (
                vec![raw("l", LISTED), raw("l2", LISTED), raw("o", OTHER)],
                "found 2",
            ),
            (vec![raw("l", ""), raw("o", OTHER)], "empty"),
            (
                vec![
                    raw("l", &format!("{LISTED}AAPL|x|Q|N|N|100|N|N\n")),
                    raw("o", OTHER),
                ],
                "after",
            ),
        ] {
            let e = parse(&files, false, &cx()).unwrap_err();
            assert!(e.to_string().contains(why), "{why}: {e}");
        }
        let e = parse(&[raw("l", LISTED), raw("o", OTHER)], true, &cx()).unwrap_err();
        assert!(e.to_string().contains("nasdaqtraded"), "{e}");
    }
}
