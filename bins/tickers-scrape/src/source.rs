//! What every listing source is: raw files in, structure checked, Ticker records out — or a
//! structure error and no records at all, never a half-parsed listing.

use chrono::NaiveDate;
use tickerlake::records::Ticker;

/// One raw download (or a file given with `--input`), as it came.
#[derive(Debug, Clone)]
pub struct RawFile {
    /// Its path or URL, for messages.
    pub name: String,
    pub bytes: Vec<u8>,
}

pub use tickerlake::scrape_status::Counts;

/// A source's records, each listing once, and its counts.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub tickers: Vec<Ticker>,
    pub counts: Counts,
}

/// The files do not have the structure the parser relies on (a header renamed or missing, no
/// footer, a row of the wrong width): the source yields nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {why}")]
pub struct StructureError {
    pub file: String,
    pub why: String,
}

impl StructureError {
    pub fn new(file: &str, why: impl Into<String>) -> StructureError {
        StructureError {
            file: file.to_string(),
            why: why.into(),
        }
    }
}

/// What a parse needs to know besides the bytes.
#[derive(Debug, Clone)]
pub struct Context {
    /// The source's name in `config.yaml` (the records' `source`).
    pub source: String,
    /// `first_seen` and `last_seen` of every record.
    pub as_of: NaiveDate,
}

impl Context {
    /// An active US-dollar ticker of this source, seen today.
    pub fn ticker(&self, name: tickerlake::Symbol) -> Ticker {
        let mut t = Ticker::new(name);
        t.source = Some(self.source.clone());
        t.first_seen = Some(self.as_of);
        t.last_seen = Some(self.as_of);
        t
    }
}

/// A row left out, for the warnings.
/// `at` is where in the file: a line number, or `data[7]` in a JSON document. The symbol is
/// echoed once, whether or not the reason already quotes it.
pub fn report_bad_symbol(
    file: &str,
    at: &dyn std::fmt::Display,
    text: &str,
    why: &dyn std::fmt::Display,
) {
    let (shown, why) = (tickerlake::echo::echo(text), why.to_string());
    if why.starts_with(&shown) {
        tracing::warn!("{file}:{at}: symbol {why}: left out");
    } else {
        tracing::warn!("{file}:{at}: symbol {shown}: {why}: left out");
    }
}

/// The text of a listing file: UTF-8 (a byte-order mark dropped), else ISO-8859-1, which every
/// byte decodes as (older exports are Latin-1, and `Børs` must not become mojibake). A file that
/// is UTF-8 in places and not in others is neither: decoding it either way would garble names.
pub fn decode(file: &RawFile) -> Result<std::borrow::Cow<'_, str>, StructureError> {
    let bytes = file
        .bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(&file.bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(std::borrow::Cow::Borrowed(text)),
        Err(e) => {
            let lossy = String::from_utf8_lossy(bytes);
            if lossy
                .chars()
                .any(|c| !c.is_ascii() && c != char::REPLACEMENT_CHARACTER)
            {
                return Err(StructureError::new(
                    &file.name,
                    format!(
                        "UTF-8 in places but not at byte {}: neither UTF-8 nor ISO-8859-1",
                        e.valid_up_to()
                    ),
                ));
            }
            Ok(std::borrow::Cow::Owned(
                bytes.iter().map(|&b| char::from(b)).collect(),
            ))
        }
    }
}

/// Warns of a second row naming a listing (the first is kept).
pub fn report_duplicate(file: &str, at: &dyn std::fmt::Display, name: &tickerlake::Symbol) {
    tracing::warn!("{file}:{at}: {name} again: the first row naming it is kept");
}

/// Every record of delimited text (quoted fields allowed, rows of any width) with its line
/// number, blank lines left out.
pub fn delimited(
    file: &RawFile,
    text: &str,
    delimiter: u8,
) -> Result<Vec<(u64, Vec<String>)>, StructureError> {
    // Files without a footer end with a line ending: a download cut inside its last row has
    // none.
    if !text.is_empty() && !text.ends_with(['\n', '\r']) {
        return Err(StructureError::new(
            &file.name,
            "the last line has no line ending: the file is cut short",
        ));
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            StructureError::new(
                &file.name,
                format!("not {}-separated text: {e}", char::from(delimiter)),
            )
        })?;
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        out.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(out)
}

/// The position of each of `wanted` in `header`, by name, case-insensitively; the error names
/// the missing ones.
pub fn find_columns<const N: usize>(
    header: &[String],
    wanted: [&str; N],
) -> Result<[usize; N], String> {
    let mut out = [0; N];
    let mut missing = Vec::new();
    for (k, name) in wanted.iter().enumerate() {
        match header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
        {
            Some(i) => out[k] = i,
            None => missing.push(*name),
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(format!("no {} column", missing.join(", ")))
    }
}

/// A cell that says "no value": empty, `-`, `n/a` and the like.
pub fn cell(text: &str) -> Option<&str> {
    let t = text.trim();
    (!(t.is_empty() || t == "-" || tickerlake::csv_cells::is_missing(t))).then_some(t)
}

/// What a row of a venue's own list says of one listing (Euronext, Xetra).
pub struct VenueRow<'a> {
    pub file: &'a str,
    pub line: u64,
    /// The local symbol (`AL2SI`, `SAP`).
    pub symbol: &'a str,
    pub mic: &'a str,
    pub name: Option<&'a str>,
    pub isin: Option<&'a str>,
    pub currency: Option<&'a str>,
    pub asset_type: tickerlake::records::AssetType,
}

/// A listing outside the US from its venue's list: named with the venue's suffix, its ISIN and
/// currency checked (a bad one left out with a warning, the listing kept). A symbol that names
/// nothing, or a listing named before in this source, is counted and warned of: `None`.
pub fn venue_ticker(
    row: VenueRow<'_>,
    cx: &Context,
    out: &mut Parsed,
    seen: &mut std::collections::HashSet<tickerlake::Symbol>,
) -> Option<tickerlake::records::Ticker> {
    use tickerlake::listing;
    let name = match tickerlake::Symbol::parse(row.symbol)
        .map_err(listing::NameError::from)
        .and_then(|s| listing::name(s.as_str(), Some(row.mic)))
    {
        Ok(n) => n,
        Err(e) => {
            out.counts.bad_symbols += 1;
            report_bad_symbol(row.file, &row.line, row.symbol, &e);
            return None;
        }
    };
    if !seen.insert(name.clone()) {
        out.counts.duplicates += 1;
        report_duplicate(row.file, &row.line, &name);
        return None;
    }
    let mut ticker = cx.ticker(name);
    ticker.source_symbol = Some(row.symbol.to_string());
    ticker.name = row.name.and_then(clean_name);
    ticker.exchange = Some(row.mic.to_string());
    ticker.asset_type = Some(row.asset_type);
    ticker.country = listing::venue(row.mic).map(|v| v.country.to_string());
    ticker.currency = row
        .currency
        .filter(|c| tickerlake::records::check_currency(c).is_ok())
        .map(str::to_string);
    ticker.isin = row
        .isin
        .and_then(|isin| match tickerlake::records::check_isin(isin) {
            Ok(()) => Some(isin.to_string()),
            Err(e) => {
                tracing::warn!("{}:{}: {e}: the ISIN is left out", row.file, row.line);
                None
            }
        });
    Some(ticker)
}

/// A security name as listed, its runs of white space made one space and its ends trimmed.
pub fn clean_name(text: &str) -> Option<String> {
    let name = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!name.is_empty()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_utf8_or_latin1_never_mojibake() {
        let raw = |b: &[u8]| RawFile {
            name: "f".into(),
            bytes: b.to_vec(),
        };
        assert_eq!(decode(&raw(b"\xEF\xBB\xBFName;ISIN")).unwrap(), "Name;ISIN");
        assert_eq!(decode(&raw("Børs".as_bytes())).unwrap(), "Børs");
        assert_eq!(decode(&raw(b"B\xF8rs")).unwrap(), "Børs");
        // UTF-8 here, a stray Latin-1 byte there: refused, not garbled.
        let mut mixed = "Børs;".as_bytes().to_vec();
        mixed.push(0xF8);
        assert!(decode(&raw(&mixed)).is_err());
    }

    #[test]
    fn names_lose_their_padding() {
        assert_eq!(
            clean_name(" Floor15  ETF   April ").as_deref(),
            Some("Floor15 ETF April")
        );
        assert_eq!(clean_name("   "), None);
    }
}
