//! Index-constituent tables in HTML pages (Wikipedia's S&P 500 and Nasdaq-100 lists, in the
//! desktop skin or the REST API's Parsoid HTML, and other sites' tables): one generic reader, its
//! table and columns named in `config.yaml`.
//!
//! The table is found by the header names it must have (and its `id` when one is given), never
//! by its position: pages change their markup over the years. The header row is the first row
//! with `<th>` cells. A cell is read as its text nodes only — never comments, footnote
//! references (`<sup class="reference">`), hidden elements, styles or scripts — then cleaned of
//! footnote markers (`[4]`, `[a]`) and runs of white space; entities are decoded by the parser.
//! A row of another width than the header is a structure error.

use std::collections::HashSet;

use scraper::{ElementRef, Html, Node, Selector};
use tickerlake::config::HtmlTable;
use tickerlake::listing::{self, Spelling};
use tickerlake::records::AssetType;

use crate::source::{Context, Parsed, RawFile, StructureError, clean_name, decode};

/// Whether an element's text is not part of the cell as a reader sees it.
fn hidden(el: &scraper::node::Element) -> bool {
    let classes = el.attr("class").unwrap_or("");
    let style: String = el
        .attr("style")
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    // A table inside a cell is its own table, not the cell's text.
    matches!(el.name(), "style" | "script" | "template" | "table")
        || (el.name() == "sup" && classes.split_whitespace().any(|c| c == "reference"))
        || classes
            .split_whitespace()
            .any(|c| c == "sortkey" || c == "noprint")
        || style.contains("display:none")
        || style.contains("visibility:hidden")
        || el.attr("hidden").is_some()
        || el.attr("aria-hidden") == Some("true")
}

/// The visible text under `el`, depth first, without recursion (a page may nest elements
/// thousands deep).
fn push_text(el: ElementRef<'_>, out: &mut String) {
    let mut stack: Vec<_> = el.children().rev().collect();
    while let Some(node) = stack.pop() {
        match node.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(e) if !hidden(e) => {
                if e.name() == "br" {
                    out.push(' ');
                }
                stack.extend(node.children().rev());
            }
            _ => {}
        }
    }
}

/// A cell's text: its visible text nodes, footnote markers and runs of spaces gone.
pub fn cell_text(el: ElementRef<'_>) -> String {
    let mut raw = String::new();
    push_text(el, &mut raw);
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw.as_str();
    // `[4]`, `[a]`, `[note 1]`: short bracketed markers are footnotes, not text.
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(']') {
            Some(close)
                if close <= 8
                    && after[..close]
                        .chars()
                        .all(|c| c.is_alphanumeric() || c == ' ') =>
            {
                rest = &after[close + 1..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    clean_name(&out).unwrap_or_default()
}

/// The rows of a table (its own, not those of tables nested in it), as their cells.
fn rows<'a>(table: ElementRef<'a>) -> Vec<Vec<ElementRef<'a>>> {
    let mut out = Vec::new();
    let mut visit = |tr: ElementRef<'a>| {
        let cells: Vec<ElementRef<'a>> = tr
            .children()
            .filter_map(ElementRef::wrap)
            .filter(|c| matches!(c.value().name(), "td" | "th"))
            .collect();
        out.push(cells);
    };
    for child in table.children().filter_map(ElementRef::wrap) {
        match child.value().name() {
            "tr" => visit(child),
            // A footer's rows are totals and notes, not constituents.
            "thead" | "tbody" => {
                for tr in child.children().filter_map(ElementRef::wrap) {
                    if tr.value().name() == "tr" {
                        visit(tr);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

pub fn parse(files: &[RawFile], spec: &HtmlTable, cx: &Context) -> Result<Parsed, StructureError> {
    let mut out = Parsed::default();
    let mut seen = HashSet::new();
    let tables =
        Selector::parse("table").map_err(|e| StructureError::new("table", e.to_string()))?;
    for file in files {
        let bad = |why: String| StructureError::new(&file.name, why);
        let text = decode(file)?;
        let doc = Html::parse_document(&text);
        let mut found = None;
        let mut seen_headers = Vec::new();
        for table in doc.select(&tables) {
            if spec
                .id
                .as_deref()
                .is_some_and(|id| table.value().id() != Some(id))
            {
                continue;
            }
            let rows = rows(table);
            let Some(at) = rows
                .iter()
                .position(|r| r.iter().any(|c| c.value().name() == "th"))
            else {
                continue;
            };
            let header: Vec<String> = rows[at].iter().map(|c| cell_text(*c)).collect();
            let has = |h: &str| header.iter().any(|x| x.eq_ignore_ascii_case(h));
            if spec.headers.iter().all(|h| has(h)) && has(&spec.columns.symbol) {
                found = Some((header, rows[at + 1..].to_vec()));
                break;
            }
            seen_headers.push(header.join("|"));
        }
        let Some((header, body)) = found else {
            return Err(bad(format!(
                "no table{} with the headers {} (tables seen: {})",
                spec.id
                    .as_deref()
                    .map(|id| format!(" with id {id:?}"))
                    .unwrap_or_default(),
                spec.headers.join(", "),
                if seen_headers.is_empty() {
                    "none".to_string()
                } else {
                    tickerlake::echo::cut(&seen_headers.join("; "))
                }
            )));
        };
        let col = |name: &Option<String>| {
            name.as_deref()
                .and_then(|n| header.iter().position(|h| h.eq_ignore_ascii_case(n)))
        };
        let symbol_col = col(&Some(spec.columns.symbol.clone())).unwrap_or(0);
        let (name_col, sector_col, industry_col, isin_col) = (
            col(&spec.columns.name),
            col(&spec.columns.sector),
            col(&spec.columns.industry),
            col(&spec.columns.isin),
        );
        for (wanted, found) in [
            (&spec.columns.name, name_col),
            (&spec.columns.sector, sector_col),
            (&spec.columns.industry, industry_col),
            (&spec.columns.isin, isin_col),
        ] {
            if let (Some(w), None) = (wanted, found) {
                return Err(bad(format!("the table has no {w:?} column")));
            }
        }
        let data: Vec<&Vec<ElementRef<'_>>> = body
            .iter()
            .filter(|r| !r.is_empty() && !r.iter().all(|c| c.value().name() == "th"))
            .collect();
        if data.is_empty() {
            return Err(bad("the table has no rows".into()));
        }
        for (k, row) in data.iter().enumerate() {
            let at = format!("table row {}", k + 1);
            if row.len() != header.len() {
                return Err(bad(format!(
                    "{at}: {} cells, the header has {}",
                    row.len(),
                    header.len()
                )));
            }
            out.counts.rows += 1;
            let text = cell_text(row[symbol_col]);
            let mut local = match &spec.strip_suffix {
                Some(s) => text.strip_suffix(s.as_str()).unwrap_or(&text),
                None => &text,
            };
            // A page that writes the venue's names already (`VOD.L` on an XLON table).
            if let Some(mic) = spec.exchange.as_deref()
                && let (bare, Some(v)) = listing::split(local)
                && listing::venue(mic).is_some_and(|w| w.suffix == v.suffix)
            {
                local = bare;
            }
            let named = listing::canonical(local, spec.spelling.unwrap_or(Spelling::Canonical))
                .map_err(|e| e.to_string())
                .and_then(|c| {
                    listing::name(c.symbol.as_str(), spec.exchange.as_deref())
                        .map_err(|e| e.to_string())
                });
            let name = match named {
                Ok(n) => n,
                Err(e) => {
                    out.counts.bad_symbols += 1;
                    tracing::warn!(
                        "{}: {at}: symbol {}: {e}: left out",
                        file.name,
                        tickerlake::echo::echo(&text)
                    );
                    continue;
                }
            };
            if !seen.insert(name.clone()) {
                out.counts.duplicates += 1;
                crate::source::report_duplicate(&file.name, &at, &name);
                continue;
            }
            let get = |c: Option<usize>| c.map(|c| cell_text(row[c])).filter(|t| !t.is_empty());
            let mut t = cx.ticker(name);
            if text != t.symbol.as_str() {
                t.source_symbol = Some(text.clone());
            }
            t.name = get(name_col);
            t.sector = get(sector_col);
            t.industry = get(industry_col);
            t.isin = get(isin_col).filter(|i| tickerlake::records::check_isin(i).is_ok());
            t.exchange = spec.exchange.clone();
            t.currency = spec.currency.clone();
            t.country = spec.country.clone();
            t.asset_type = Some(AssetType::Stock);
            t.indexes = spec.index.iter().cloned().collect();
            out.tickers.push(t);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickerlake::config::HtmlColumns;

    fn spec() -> HtmlTable {
        HtmlTable {
            id: None,
            headers: vec!["Symbol".into(), "Security".into()],
            columns: HtmlColumns {
                symbol: "Symbol".into(),
                name: Some("Security".into()),
                sector: Some("Sector".into()),
                industry: None,
                isin: None,
            },
            exchange: None,
            currency: Some("USD".into()),
            country: Some("US".into()),
            index: Some("sp500".into()),
            strip_suffix: None,
            spelling: None,
        }
    }

    fn parse_html(html: &str, spec: &HtmlTable) -> Result<Parsed, StructureError> {
        let cx = Context {
            source: "t".into(),
            as_of: chrono::NaiveDate::from_ymd_opt(2024, 10, 9).unwrap(),
        };
        parse(
            &[RawFile {
                name: "page.html".into(),
                bytes: html.as_bytes().to_vec(),
            }],
            spec,
            &cx,
        )
    }

    const PAGE: &str = r##"<html><body>
<table class="other"><tr><th>Symbol</th><th>Weight</th></tr><tr><td>SPY</td><td>1</td></tr></table>
<table class="wikitable sortable" id="constituents"><tbody>
<tr><th><a href="/wiki/Ticker_symbol">Symbol</a>
</th><th>Security</th><th>Sector<sup class="reference"><a href="#n">[1]</a></sup></th></tr>
<tr><td><a href="https://www.nyse.com/quote/XNYS:BRK.B">BRK.B</a>
</td><td>Berkshire&#160;Hathaway<!-- a comment --></td><td>Financials[4]</td></tr>
<tr><td>AT&amp;T<span style="display: none">hidden</span></td><td>AT&amp;T   Inc.</td><td>Telecom<sup class="reference">[a]</sup></td></tr>
<tr><td>MMM</td><td>3M<br>Company</td><td>Industrials</td></tr>
</tbody></table></body></html>"##;

    #[test]
    fn the_table_is_found_by_its_headers_and_read_as_a_reader_sees_it() {
        let p = parse_html(PAGE, &spec()).unwrap();
        let names: Vec<&str> = p.tickers.iter().map(|t| t.symbol.as_str()).collect();
        // AT&T is no symbol: left out, counted.
        assert_eq!(names, ["BRK.B", "MMM"]);
        assert_eq!(p.counts.bad_symbols, 1);
        assert_eq!(p.tickers[0].name.as_deref(), Some("Berkshire Hathaway"));
        assert_eq!(p.tickers[0].sector.as_deref(), Some("Financials"));
        assert_eq!(p.tickers[1].name.as_deref(), Some("3M Company"));
        assert_eq!(p.tickers[0].indexes, ["sp500"]);
    }

    #[test]
    fn a_table_that_moved_or_changed_is_a_structure_error() {
        let mut by_id = spec();
        by_id.id = Some("members".into());
        let renamed = PAGE.replace(">Security<", ">Company<");
        let ragged = PAGE.replace("<td>MMM</td>", "<td>MMM</td><td>extra</td>");
        for (html, spec, why) in [
            (PAGE.to_string(), by_id, "id \"members\""),
            (renamed, spec(), "Security"),
            (ragged, spec(), "4 cells"),
            ("<html></html>".to_string(), spec(), "tables seen: none"),
        ] {
            let e = parse_html(&html, &spec).unwrap_err();
            assert!(e.to_string().contains(why), "{why}: {e}");
        }
    }

    #[test]
    fn a_page_that_spells_classes_with_hyphens_is_read_in_its_spelling() {
        let mut s = spec();
        s.columns.sector = None;
        s.spelling = Some(Spelling::Hyphens);
        let html = "<table><tr><th>Symbol</th><th>Security</th></tr><tr><td>BRK-B</td><td>Berkshire</td></tr><tr><td>BF-B</td><td>Brown-Forman</td></tr></table>";
        let p = parse_html(html, &s).unwrap();
        let names: Vec<&str> = p.tickers.iter().map(|t| t.symbol.as_str()).collect();
        assert_eq!(names, ["BRK.B", "BF.B"]);
        assert_eq!(p.tickers[0].source_symbol.as_deref(), Some("BRK-B"));
    }

    #[test]
    fn a_venue_table_written_with_its_venues_names_reads_as_them() {
        let mut s = spec();
        s.exchange = Some("XLON".into());
        s.columns.sector = None;
        let html = "<table><tr><th>Symbol</th><th>Security</th></tr><tr><td>VOD.L</td><td>Vodafone</td></tr><tr><td>BP</td><td>BP</td></tr><tfoot><tr><td>SUM</td><td>-</td></tr></tfoot></table>";
        let p = parse_html(html, &s).unwrap();
        let names: Vec<&str> = p.tickers.iter().map(|t| t.symbol.as_str()).collect();
        assert_eq!(names, ["VOD.L", "BP.L"]);
    }

    #[test]
    fn text_nested_thousands_deep_is_read_without_recursion() {
        let deep = format!(
            "<table><tr><th>Symbol</th><th>Security</th><th>Sector</th></tr><tr><td>AAPL</td><td>{}Apple{}</td><td>Tech</td></tr></table>",
            "<span>".repeat(60_000),
            "</span>".repeat(60_000)
        );
        let p = parse_html(&deep, &spec()).unwrap();
        assert_eq!(p.tickers[0].name.as_deref(), Some("Apple"));
    }

    #[test]
    fn a_venue_table_strips_the_pages_suffix_and_names_with_the_venues() {
        let mut s = spec();
        s.exchange = Some("XLON".into());
        s.strip_suffix = Some(".L".into());
        s.columns.sector = None;
        let html = "<table><tr><th>Symbol</th><th>Security</th></tr><tr><td>BT.A.L</td><td>BT Group</td></tr><tr><td>VOD.L</td><td>Vodafone</td></tr></table>";
        let p = parse_html(html, &s).unwrap();
        let names: Vec<&str> = p.tickers.iter().map(|t| t.symbol.as_str()).collect();
        assert_eq!(names, ["BT-A.L", "VOD.L"]);
    }
}
