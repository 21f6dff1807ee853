//! Listing names: one name per listing, unique across venues, and the one place where the
//! spellings of the sources become canonical symbols.
//!
//! The same letters name different securities on different venues (`AIR` is AAR Corp on the
//! NYSE and Airbus on Euronext Paris), so a symbol alone is not a key. A listing's *name* — what
//! the Ticker and Bar records carry in `symbol`, what the lake partitions, the fetch state and the
//! Qlib store are keyed by — is (ADR 0008, `docs/records.md`):
//!
//! - on a US venue: its canonical symbol as it stands (`AAPL`, `BRK.B`, `ABR-D`);
//! - on any other venue: its local symbol, dots turned into dashes, then `.` and the venue's
//!   suffix from [`VENUES`] — the suffix Yahoo and most data vendors use (`AIR.PA`, `OCDO.L`,
//!   `SAP.DE`, `BT-A.L`);
//! - indices, futures and currencies (`^GSPC`, `ES=F`, `EURUSD=X`) as they are: they belong to no
//!   venue.
//!
//! [`split`] maps a name back to its local symbol and venue. A name is read as non-US only when it
//! has exactly one dot and what follows is a suffix of the table; a US share class whose letter
//! is also a venue suffix (`XYZ.L` would read as London) is refused by [`name`], never merged.

use crate::records::AssetType;
use crate::symbol::{Symbol, SymbolError};

/// A venue outside the US: its ISO 10383 MIC, the suffix of its listings' names and its country.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Venue {
    pub mic: &'static str,
    /// Without the dot (`PA`).
    pub suffix: &'static str,
    /// ISO 3166-1 alpha-2.
    pub country: &'static str,
}

const fn v(mic: &'static str, suffix: &'static str, country: &'static str) -> Venue {
    Venue {
        mic,
        suffix,
        country,
    }
}

/// Venues outside the US whose listings tickerlake names. Several MICs of one exchange (its
/// regulated market, growth and access segments) share the exchange's suffix, as they share its
/// symbol space; the first MIC of a suffix is the one a name maps back to. TSX Venture (`.V`) is
/// left out: `V` is also a US share-class letter (`MKC.V`).
pub const VENUES: &[Venue] = &[
    v("XLON", "L", "GB"),
    v("XETR", "DE", "DE"),
    v("XFRA", "F", "DE"),
    v("XPAR", "PA", "FR"),
    v("ALXP", "PA", "FR"),
    v("XMLI", "PA", "FR"),
    v("XAMS", "AS", "NL"),
    v("ALXA", "AS", "NL"),
    v("TNLA", "AS", "NL"),
    v("XBRU", "BR", "BE"),
    v("ALXB", "BR", "BE"),
    v("MLXB", "BR", "BE"),
    v("ENXB", "BR", "BE"),
    v("XLIS", "LS", "PT"),
    v("ALXL", "LS", "PT"),
    v("ENXL", "LS", "PT"),
    v("XMSM", "IR", "IE"),
    v("XESM", "IR", "IE"),
    v("XOSL", "OL", "NO"),
    v("XOAS", "OL", "NO"),
    v("MERK", "OL", "NO"),
    v("XSTO", "ST", "SE"),
    v("XHEL", "HE", "FI"),
    v("XCSE", "CO", "DK"),
    v("XICE", "IC", "IS"),
    v("XSWX", "SW", "CH"),
    v("XMIL", "MI", "IT"),
    v("XMAD", "MC", "ES"),
    v("XWBO", "VI", "AT"),
    v("XWAR", "WA", "PL"),
    v("XPRA", "PR", "CZ"),
    v("XBUD", "BD", "HU"),
    v("XATH", "AT", "GR"),
    v("XIST", "IS", "TR"),
    v("XTAE", "TA", "IL"),
    v("XJSE", "JO", "ZA"),
    v("XTSE", "TO", "CA"),
    v("XMEX", "MX", "MX"),
    v("BVMF", "SA", "BR"),
    v("XASX", "AX", "AU"),
    v("XNZE", "NZ", "NZ"),
    v("XHKG", "HK", "HK"),
    v("XTKS", "T", "JP"),
    v("XKRX", "KS", "KR"),
    v("XTAI", "TW", "TW"),
    v("XSES", "SI", "SG"),
    v("XNSE", "NS", "IN"),
    v("XBOM", "BO", "IN"),
    v("XSHG", "SS", "CN"),
    v("XSHE", "SZ", "CN"),
];

/// US venues (operating and segment MICs): their listings' names carry no suffix.
pub const US_VENUES: &[&str] = &[
    "XNAS", "XNGS", "XNMS", "XNCM", "XNYS", "XASE", "ARCX", "XARC", "BATS", "BATY", "EDGA", "EDGX",
    "IEXG", "XCHI", "XCIS", "XPHL", "XBOS", "MEMX", "LTSE", "XOTC", "OTCM", "PINX", "OOTC", "EXPM",
];

/// The venue of a MIC, if it is one of [`VENUES`].
pub fn venue(mic: &str) -> Option<&'static Venue> {
    VENUES.iter().find(|v| v.mic == mic)
}

/// The venue a name suffix maps back to (the first MIC of that suffix).
pub fn venue_of_suffix(suffix: &str) -> Option<&'static Venue> {
    VENUES.iter().find(|v| v.suffix == suffix)
}

pub fn is_us_venue(mic: &str) -> bool {
    US_VENUES.contains(&mic)
}

/// The market a listing counts under in summaries (the notes' `us`, `swedish`…): `us` on a US
/// venue, and for a name without a venue's suffix; else its venue's country, in lower case (`fr`,
/// `se`). `exchange` (a MIC) wins over the name's suffix.
pub fn market(name: &str, exchange: Option<&str>) -> String {
    match exchange.and_then(venue).or_else(|| split(name).1) {
        Some(v) => v.country.to_ascii_lowercase(),
        None => "us".into(),
    }
}

/// A name's local symbol and its venue (`AIR.PA` → `AIR`, Euronext Paris); a US name, an index
/// or a future has no venue (`BRK.B` → `BRK.B`, none).
pub fn split(name: &str) -> (&str, Option<&'static Venue>) {
    if name.starts_with('^') || name.contains('=') {
        return (name, None);
    }
    match name.split_once('.') {
        Some((local, suffix)) if !suffix.contains('.') && !local.is_empty() => {
            match venue_of_suffix(suffix) {
                Some(v) => (local, Some(v)),
                None => (name, None),
            }
        }
        _ => (name, None),
    }
}

/// Why a listing has no name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error(transparent)]
    Symbol(#[from] SymbolError),
    #[error(
        "{mic}: a venue outside the US with no suffix in tickerlake's venue table (docs/records.md)"
    )]
    UnknownVenue { mic: String },
    #[error("{local} on {mic}: only letters, digits and dashes name a listing outside the US")]
    NotPlain { local: String, mic: String },
    #[error(
        "{name} on a US venue would read as a listing on {venue_mic} (.{suffix}): ambiguous, \
         not named"
    )]
    Ambiguous {
        name: String,
        venue_mic: &'static str,
        suffix: &'static str,
    },
}

/// The name of the listing of canonical symbol `local` on venue `mic` (none: a US venue, or one
/// not stated, as for `--symbols AAPL`).
pub fn name(local: &str, mic: Option<&str>) -> Result<Symbol, NameError> {
    match mic.map(|m| (m, venue(m))) {
        Some((m, Some(v))) => {
            let local = local.replace('.', "-");
            // `^` and `=` mark indices and futures, `&` and `_` no venue's symbols: a name that
            // would not read back as this venue's is refused, never written.
            if !local
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(NameError::NotPlain {
                    local,
                    mic: m.to_string(),
                });
            }
            Ok(Symbol::parse(&format!("{local}.{}", v.suffix))?)
        }
        Some((m, None)) if !is_us_venue(m) => Err(NameError::UnknownVenue { mic: m.to_string() }),
        _ => {
            let symbol = Symbol::parse(local)?;
            if let (_, Some(v)) = split(symbol.as_str()) {
                return Err(NameError::Ambiguous {
                    name: symbol.as_str().to_string(),
                    venue_mic: v.mic,
                    suffix: v.suffix,
                });
            }
            Ok(symbol)
        }
    }
}

/// Whether `name` is the name of a listing on `mic` (the check the Ticker contract makes):
/// `None` when it is, else why not.
pub fn check_name(name: &str, mic: &str) -> Option<String> {
    let (local, named) = split(name);
    match (venue(mic), named) {
        (Some(v), Some(n)) if n.suffix == v.suffix => None,
        (Some(v), _) => Some(format!(
            "a listing on {mic} is named with the venue's suffix: {}.{} (listing names, \
             docs/records.md)",
            local.replace('.', "-"),
            v.suffix
        )),
        (None, Some(n)) if is_us_venue(mic) => Some(format!(
            "{name} reads as a listing on {} (.{}), not on {mic}",
            n.mic, n.suffix
        )),
        (None, _) => None,
    }
}

/// How a source spells US symbols (`table.spelling` in `config.yaml` names one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Spelling {
    /// Canonical already (Wikipedia's tables, `tickers-scrape`'s own output): `BRK.B`, `ABR-D`.
    Canonical,
    /// Nasdaq's integrated symbology (Nasdaq Trader's `NASDAQ Symbol` column): `ABR-D`, `BRK.B`,
    /// `AACT+` warrant, `NE+A` warrant series, `AACT=` unit, `CELG^` right, `#` when issued,
    /// `*` called.
    NasdaqIntegrated,
    /// CTA/CQS symbology (`CQS Symbol`): `ABRpD`, `BRK.B`, `AACT.WS`, `NE.WS.A`, `AACT.U`,
    /// `CELGr`, `w` when issued.
    Cqs,
    /// Nasdaq's ACT symbology (`ACT Symbol`): `ABR$D`, `BRK.B`, `AACT.W`, `AACT.U`, `CELG.R`.
    /// `.A` after a root is a share class *or* a warrant series: use another column where there
    /// is one.
    Act,
    /// The SEC's and Yahoo's hyphens: `BRK-B`, `CMS-PB`, `ETI-P`, `AACT-WT`, `GRP-UN`, `CELG-RI`.
    Hyphens,
    /// The Nasdaq screener: `ABR^D`, `BRK/B`, `/WS`, `/U`, `/R`.
    Screener,
}

/// A US symbol in canonical form, and what its suffix says about the security.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical {
    pub symbol: Symbol,
    /// Preferred, warrant, right or unit when the spelling says so; `None` for a plain or
    /// class symbol.
    pub asset_type: Option<AssetType>,
}

/// Why a source's text is no symbol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpellingError {
    #[error("{shown}: {why}")]
    Unreadable { shown: String, why: &'static str },
    #[error(transparent)]
    Symbol(#[from] SymbolError),
}

/// The canonical form of a US symbol as a source spells it (surrounding white space trimmed):
/// share classes `.A` (`BRK.B`), preferreds `-` and the series (`ABR-D`; `ETI-` without one),
/// warrants `.WS` (`AACT.WS`, a series `NE.WS.A`), units `.U`, rights `.R`, when issued `.WI`
/// after the rest, called `.CL`. The table is in `docs/records.md`.
pub fn canonical(text: &str, spelling: Spelling) -> Result<Canonical, SpellingError> {
    let (root, parts) = parse(text.trim(), spelling)?;
    let mut out = root.to_string();
    let mut asset_type = None;
    let mut when_issued = false;
    for part in parts {
        match part {
            Part::Class(c) => {
                out.push('.');
                out.push_str(c);
            }
            Part::Preferred(series) => {
                out.push('-');
                out.push_str(series);
                asset_type = Some(AssetType::Preferred);
            }
            Part::Warrant(series) => {
                out.push_str(".WS");
                if !series.is_empty() {
                    out.push('.');
                    out.push_str(series);
                }
                asset_type = Some(AssetType::Warrant);
            }
            Part::Unit => {
                out.push_str(".U");
                asset_type = Some(AssetType::Unit);
            }
            Part::Right => {
                out.push_str(".R");
                asset_type = Some(AssetType::Right);
            }
            Part::WhenIssued => when_issued = true,
            Part::Called => out.push_str(".CL"),
        }
    }
    if when_issued {
        out.push_str(".WI");
    }
    Ok(Canonical {
        symbol: Symbol::parse(&out)?,
        asset_type,
    })
}

/// How a spelling writes each suffix piece after the root: the text before a class letter, a
/// preferred series, a warrant series (and before the series when there is one), and the
/// whole text of a unit, a right, when-issued and called.
struct Suffixes {
    class: &'static str,
    preferred: &'static str,
    warrant: &'static str,
    warrant_series: &'static str,
    unit: &'static str,
    right: &'static str,
    when_issued: &'static str,
    called: &'static str,
}

/// The SEC's and Yahoo's hyphens.
const HYPHENS: Suffixes = Suffixes {
    class: "-",
    preferred: "-P",
    warrant: "-WT",
    warrant_series: "",
    unit: "-UN",
    right: "-RI",
    when_issued: "-WI",
    called: "-CL",
};

/// CTA/CQS (and Polygon).
const CQS: Suffixes = Suffixes {
    class: ".",
    preferred: "p",
    warrant: ".WS",
    warrant_series: ".",
    unit: ".U",
    right: "r",
    when_issued: "w",
    called: ".CL",
};

/// A canonical symbol written with `suffixes`; `None` when it is not in canonical form.
fn respelled(symbol: &str, suffixes: &Suffixes) -> Option<String> {
    let (root, parts) = parse(symbol, Spelling::Canonical).ok()?;
    let mut out = root.to_string();
    for part in parts {
        let (before, series) = match part {
            Part::Class(c) => (suffixes.class, c),
            Part::Preferred(series) => (suffixes.preferred, series),
            Part::Warrant(series) => {
                out.push_str(suffixes.warrant);
                let sep = if series.is_empty() {
                    ""
                } else {
                    suffixes.warrant_series
                };
                (sep, series)
            }
            Part::Unit => (suffixes.unit, ""),
            Part::Right => (suffixes.right, ""),
            Part::WhenIssued => (suffixes.when_issued, ""),
            Part::Called => (suffixes.called, ""),
        };
        out.push_str(before);
        out.push_str(series);
    }
    Some(out)
}

/// A canonical US symbol in the hyphen spelling of the SEC and Yahoo (`BRK.B` → `BRK-B`,
/// `ABR-D` → `ABR-PD`, `ETI-` → `ETI-P`, `AACT.WS` → `AACT-WT`, `GRP.U` → `GRP-UN`, `CELG.R` →
/// `CELG-RI`); `None` when it is not in canonical form.
pub fn hyphenated(symbol: &str) -> Option<String> {
    respelled(symbol, &HYPHENS)
}

/// A canonical US symbol in the CTA/CQS spelling, which Polygon uses too (`BRK.B` → `BRK.B`,
/// `ABR-D` → `ABRpD`, `AACT.WS` → `AACT.WS`, `NE.WS.A` → `NE.WS.A`, `CELG.R` → `CELGr`, `X.WI`
/// → `Xw`); `None` when it is not in canonical form.
pub fn cqs_spelled(symbol: &str) -> Option<String> {
    respelled(symbol, &CQS)
}

/// The root and the suffix pieces of `text` as `spelling` writes it.
fn parse(text: &str, spelling: Spelling) -> Result<(&str, Vec<Part<'_>>), SpellingError> {
    let bad = |why: &'static str| SpellingError::Unreadable {
        shown: crate::echo::echo(text),
        why,
    };
    let root_end = match spelling {
        // CQS suffix letters are lower case after an upper-case root.
        Spelling::Cqs => text
            .char_indices()
            .find(|(_, c)| matches!(c, '.' | 'p' | 'r' | 'w'))
            .map_or(text.len(), |(i, _)| i),
        _ => text
            .char_indices()
            .find(|(_, c)| !c.is_ascii_alphanumeric())
            .map_or(text.len(), |(i, _)| i),
    };
    let (root, rest) = text.split_at(root_end);
    if root.is_empty() {
        return Err(bad("no root symbol before the suffix"));
    }
    if !root
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(bad("expected an upper-case root"));
    }
    let parts = suffix_parts(rest, spelling).ok_or_else(|| bad("an unknown suffix"))?;
    // One share class at most, one kind of security at most, each marker once.
    let kind = |p: &Part<'_>| match p {
        Part::Class(_) => 0,
        Part::Preferred(_) | Part::Warrant(_) | Part::Unit | Part::Right => 1,
        Part::WhenIssued => 2,
        Part::Called => 3,
    };
    let mut seen = [false; 4];
    for p in &parts {
        if std::mem::replace(&mut seen[kind(p)], true) {
            return Err(bad("a suffix that says two things of one kind"));
        }
    }
    Ok((root, parts))
}

/// One piece of a suffix.
#[derive(Debug, PartialEq, Eq)]
enum Part<'a> {
    Class(&'a str),
    Preferred(&'a str),
    Warrant(&'a str),
    Unit,
    Right,
    WhenIssued,
    Called,
}

fn is_series(s: &str) -> bool {
    !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// The pieces of `rest`, the text after the root; `None` for a suffix the spelling does not
/// have.
fn suffix_parts(rest: &str, spelling: Spelling) -> Option<Vec<Part<'_>>> {
    let mut parts = Vec::new();
    let mut rest = rest;
    while !rest.is_empty() {
        let (part, tail) = next_part(rest, spelling)?;
        parts.push(part);
        rest = tail;
    }
    Some(parts)
}

/// The first piece of a suffix and what follows it.
fn next_part(rest: &str, spelling: Spelling) -> Option<(Part<'_>, &str)> {
    // Up to the next marker of this spelling.
    let markers: &[char] = match spelling {
        Spelling::Canonical => &['.', '-'],
        Spelling::NasdaqIntegrated => &['.', '-', '+', '=', '^', '#', '*'],
        Spelling::Cqs => &['.', 'p', 'r', 'w'],
        Spelling::Act => &['.', '$'],
        Spelling::Hyphens => &['-', '.'],
        Spelling::Screener => &['^', '/', '.'],
    };
    let mut chars = rest.chars();
    let marker = chars.next()?;
    let body_and_tail = chars.as_str();
    let end = body_and_tail.find(markers).unwrap_or(body_and_tail.len());
    let (body, tail) = body_and_tail.split_at(end);
    let part = match (spelling, marker, body) {
        // Canonical.
        (Spelling::Canonical, '.', "WS") => Part::Warrant(""),
        (Spelling::Canonical, '.', "U") => Part::Unit,
        (Spelling::Canonical, '.', "R") => Part::Right,
        (Spelling::Canonical, '.', "WI") => Part::WhenIssued,
        (Spelling::Canonical, '.', "CL") => Part::Called,
        (Spelling::Canonical, '-', s) if s.is_empty() || is_series(s) => Part::Preferred(s),
        // Nasdaq integrated.
        (Spelling::NasdaqIntegrated, '-', s) if s.is_empty() || is_series(s) => Part::Preferred(s),
        (Spelling::NasdaqIntegrated, '+', s) if s.is_empty() || is_series(s) => Part::Warrant(s),
        (Spelling::NasdaqIntegrated, '=', "") => Part::Unit,
        (Spelling::NasdaqIntegrated, '^', "") => Part::Right,
        (Spelling::NasdaqIntegrated, '#', "") => Part::WhenIssued,
        (Spelling::NasdaqIntegrated, '*', "") => Part::Called,
        // CQS.
        (Spelling::Cqs, '.', "WS") => Part::Warrant(""),
        (Spelling::Cqs, '.', "U") => Part::Unit,
        (Spelling::Cqs, '.', "CL") => Part::Called,
        (Spelling::Cqs, 'p', s) if s.is_empty() || is_series(s) => Part::Preferred(s),
        (Spelling::Cqs, 'r', "") => Part::Right,
        (Spelling::Cqs, 'w', "") => Part::WhenIssued,
        // ACT.
        (Spelling::Act, '$', s) if s.is_empty() || is_series(s) => Part::Preferred(s),
        (Spelling::Act, '.', "W" | "WS") => Part::Warrant(""),
        (Spelling::Act, '.', "U") => Part::Unit,
        (Spelling::Act, '.', "R") => Part::Right,
        (Spelling::Act, '.', "CL") => Part::Called,
        // Hyphens (SEC, Yahoo).
        (Spelling::Hyphens, '-', "WT" | "WS") => Part::Warrant(""),
        (Spelling::Hyphens, '-', s)
            if s.len() == 3 && s.starts_with("WT") && is_series(&s[2..]) =>
        {
            Part::Warrant(&s[2..])
        }
        (Spelling::Hyphens, '-', "UN" | "U") => Part::Unit,
        (Spelling::Hyphens, '-', "RI" | "RT") => Part::Right,
        (Spelling::Hyphens, '-', "WI") => Part::WhenIssued,
        (Spelling::Hyphens, '-', "P") => Part::Preferred(""),
        (Spelling::Hyphens, '-', s) if s.len() >= 2 && s.starts_with('P') && is_series(&s[1..]) => {
            Part::Preferred(&s[1..])
        }
        (Spelling::Hyphens, '-', s) if s.len() == 1 && is_series(s) => Part::Class(s),
        // Screener.
        (Spelling::Screener, '^', s) if s.is_empty() || is_series(s) => Part::Preferred(s),
        (Spelling::Screener, '/', "WS" | "W") => Part::Warrant(""),
        (Spelling::Screener, '/', "U") => Part::Unit,
        (Spelling::Screener, '/', "R" | "RT") => Part::Right,
        (Spelling::Screener, '/', s) if s.len() == 1 && is_series(s) => Part::Class(s),
        // A share class, or a series after a warrant (`NE.WS.A`), in the dotted spellings.
        (
            Spelling::Canonical | Spelling::NasdaqIntegrated | Spelling::Cqs | Spelling::Act,
            '.',
            s,
        ) if s.len() == 1 && is_series(s) => Part::Class(s),
        _ => return None,
    };
    // A warrant's series in the dotted spellings: `.WS.A` is warrant series A, not a class.
    if let (Part::Warrant(""), Some(series)) = (&part, tail.strip_prefix('.'))
        && series.len() == 1
        && is_series(series)
    {
        return Some((Part::Warrant(series), ""));
    }
    Some((part, tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cqs_spelling_reads_back_to_the_same_canonical_symbol() {
        for canonical in [
            "BRK.B", "ABR-D", "ETI-", "AACT.WS", "NE.WS.A", "GRP.U", "CELG.R", "AAPL",
        ] {
            let cqs = cqs_spelled(canonical).unwrap();
            let back = super::canonical(&cqs, Spelling::Cqs).unwrap();
            assert_eq!(back.symbol.as_str(), canonical, "{cqs}");
        }
        assert_eq!(cqs_spelled("ABR-D").as_deref(), Some("ABRpD"));
        assert_eq!(cqs_spelled("CELG.R").as_deref(), Some("CELGr"));
    }

    #[test]
    fn every_spelling_of_one_security_has_one_canonical_form() {
        use Spelling::*;
        let cases: &[(&str, Spelling, &str, Option<AssetType>)] = &[
            // Berkshire B.
            ("BRK.B", Canonical, "BRK.B", None),
            ("BRK.B", NasdaqIntegrated, "BRK.B", None),
            ("BRK.B", Cqs, "BRK.B", None),
            ("BRK.B", Act, "BRK.B", None),
            ("BRK-B", Hyphens, "BRK.B", None),
            ("BRK/B", Screener, "BRK.B", None),
            // Arbor preferred D.
            (
                "ABR-D",
                NasdaqIntegrated,
                "ABR-D",
                Some(AssetType::Preferred),
            ),
            ("ABRpD", Cqs, "ABR-D", Some(AssetType::Preferred)),
            ("ABR$D", Act, "ABR-D", Some(AssetType::Preferred)),
            ("ABR-PD", Hyphens, "ABR-D", Some(AssetType::Preferred)),
            ("ABR^D", Screener, "ABR-D", Some(AssetType::Preferred)),
            ("ABR-D", Canonical, "ABR-D", Some(AssetType::Preferred)),
            // A preferred without a series.
            ("ETI-", NasdaqIntegrated, "ETI-", Some(AssetType::Preferred)),
            ("ETIp", Cqs, "ETI-", Some(AssetType::Preferred)),
            ("ETI$", Act, "ETI-", Some(AssetType::Preferred)),
            ("ETI-P", Hyphens, "ETI-", Some(AssetType::Preferred)),
            ("ETI^", Screener, "ETI-", Some(AssetType::Preferred)),
            // Warrants, a warrant series.
            (
                "AACT+",
                NasdaqIntegrated,
                "AACT.WS",
                Some(AssetType::Warrant),
            ),
            ("AACT.WS", Cqs, "AACT.WS", Some(AssetType::Warrant)),
            ("AACT.W", Act, "AACT.WS", Some(AssetType::Warrant)),
            ("AACT-WT", Hyphens, "AACT.WS", Some(AssetType::Warrant)),
            ("NE-WTA", Hyphens, "NE.WS.A", Some(AssetType::Warrant)),
            ("AACT.WS", Canonical, "AACT.WS", Some(AssetType::Warrant)),
            (
                "NE+A",
                NasdaqIntegrated,
                "NE.WS.A",
                Some(AssetType::Warrant),
            ),
            ("NE.WS.A", Cqs, "NE.WS.A", Some(AssetType::Warrant)),
            ("NE.WS.A", Canonical, "NE.WS.A", Some(AssetType::Warrant)),
            // Units.
            ("AACT=", NasdaqIntegrated, "AACT.U", Some(AssetType::Unit)),
            ("AACT.U", Cqs, "AACT.U", Some(AssetType::Unit)),
            ("AACT.U", Act, "AACT.U", Some(AssetType::Unit)),
            ("GRP-UN", Hyphens, "GRP.U", Some(AssetType::Unit)),
            // Rights, rights when issued.
            ("CELG^", NasdaqIntegrated, "CELG.R", Some(AssetType::Right)),
            ("CELGr", Cqs, "CELG.R", Some(AssetType::Right)),
            ("CELG.R", Act, "CELG.R", Some(AssetType::Right)),
            ("CELG-RI", Hyphens, "CELG.R", Some(AssetType::Right)),
            (
                "NXG^#",
                NasdaqIntegrated,
                "NXG.R.WI",
                Some(AssetType::Right),
            ),
            ("NXGrw", Cqs, "NXG.R.WI", Some(AssetType::Right)),
            // Plain, padded.
            ("AAPL", NasdaqIntegrated, "AAPL", None),
            ("  SAND   ", Screener, "SAND", None),
            ("7203", Canonical, "7203", None),
        ];
        for (text, spelling, want, asset) in cases {
            let got = canonical(text, *spelling)
                .unwrap_or_else(|e| panic!("{text:?} as {spelling:?}: {e}"));
            assert_eq!(got.symbol.as_str(), *want, "{text:?} as {spelling:?}");
            assert_eq!(got.asset_type, *asset, "{text:?} as {spelling:?}");
            // The canonical form reads back as itself.
            let again = canonical(want, Canonical).unwrap();
            assert_eq!(again.symbol.as_str(), *want, "{want:?} again");
        }
    }

    #[test]
    fn canonical_symbols_are_hyphenated_as_the_sec_and_yahoo_spell_them() {
        for (canonical_form, hyphens) in [
            ("AAPL", "AAPL"),
            ("BRK.B", "BRK-B"),
            ("ABR-D", "ABR-PD"),
            ("ETI-", "ETI-P"),
            ("AACT.WS", "AACT-WT"),
            ("GRP.U", "GRP-UN"),
            ("CELG.R", "CELG-RI"),
        ] {
            assert_eq!(hyphenated(canonical_form).as_deref(), Some(hyphens));
            // And back.
            let back = canonical(hyphens, Spelling::Hyphens).unwrap();
            assert_eq!(back.symbol.as_str(), canonical_form);
        }
        assert_eq!(hyphenated("VOLV B"), None);
    }

    #[test]
    fn text_that_is_no_symbol_is_an_error_never_a_guess() {
        use Spelling::*;
        for (text, spelling) in [
            ("", NasdaqIntegrated),
            ("-D", NasdaqIntegrated),
            ("abr", Canonical),
            ("ABR$D", NasdaqIntegrated),
            ("ABR+", Cqs),
            ("ABR.XYZ", Canonical),
            ("A B", Screener),
            ("ABR^D^", Screener),
            ("BRK-WXYZ", Hyphens),
            ("É", Act),
            ("ABR%", NasdaqIntegrated),
        ] {
            assert!(
                canonical(text, spelling).is_err(),
                "{text:?} as {spelling:?}: {:?}",
                canonical(text, spelling)
            );
        }
    }

    #[test]
    fn names_are_unique_across_venues_and_map_back() {
        let us = name("AIR", Some("XNYS")).unwrap();
        let paris = name("AIR", Some("XPAR")).unwrap();
        assert_eq!(us.as_str(), "AIR");
        assert_eq!(paris.as_str(), "AIR.PA");
        assert_ne!(us, paris);
        assert_eq!(split("AIR.PA"), ("AIR", venue("XPAR")));
        assert_eq!(split("AIR"), ("AIR", None));
        assert_eq!(name("BT.A", Some("XLON")).unwrap().as_str(), "BT-A.L");
        assert_eq!(split("BT-A.L"), ("BT-A", venue("XLON")));
        assert_eq!(name("SAP", Some("XETR")).unwrap().as_str(), "SAP.DE");
        // Segments share their exchange's suffix and map back to its main MIC.
        assert_eq!(name("AL2SI", Some("ALXP")).unwrap().as_str(), "AL2SI.PA");
        assert_eq!(split("AL2SI.PA").1.unwrap().mic, "XPAR");
        // US names: share classes, warrants and units keep their dots.
        for n in [
            "BRK.B", "MKC.V", "AACT.WS", "NE.WS.A", "AACT.U", "ABR-D", "^GSPC", "ES=F",
        ] {
            assert_eq!(split(n), (n, None), "{n}");
            assert_eq!(name(n, Some("XNYS")).unwrap().as_str(), n);
        }
        assert_eq!(name("AAPL", None).unwrap().as_str(), "AAPL");
        // A US class whose letter is a venue suffix would read as that venue: refused.
        assert!(matches!(
            name("XYZ.L", Some("XNYS")),
            Err(NameError::Ambiguous { .. })
        ));
        assert!(matches!(
            name("X", Some("XXXX")),
            Err(NameError::UnknownVenue { .. })
        ));
        // A name outside the US reads back as its venue's, or is not made.
        for local in ["A=B", "^GSPC", "M&T", "A_B"] {
            assert!(
                matches!(name(local, Some("XPAR")), Err(NameError::NotPlain { .. })),
                "{local}"
            );
        }
    }

    #[test]
    fn a_name_is_checked_against_its_venue() {
        assert_eq!(check_name("AIR.PA", "XPAR"), None);
        assert_eq!(check_name("AIR.PA", "ALXP"), None);
        assert_eq!(check_name("AIR", "XNYS"), None);
        assert_eq!(check_name("X", "ZZZZ"), None);
        assert!(check_name("AIR", "XPAR").unwrap().contains("AIR.PA"));
        assert!(check_name("AIR.L", "XPAR").unwrap().contains("AIR.PA"));
        assert!(check_name("BT.A", "XLON").unwrap().contains("BT-A.L"));
        assert!(check_name("AIR.PA", "XNYS").is_some());
    }

    #[test]
    fn every_venue_has_a_valid_mic_and_suffix_and_none_is_a_us_venue() {
        for v in VENUES {
            assert_eq!(v.mic.len(), 4, "{v:?}");
            assert!(!is_us_venue(v.mic), "{v:?}");
            assert!(
                v.suffix.bytes().all(|b| b.is_ascii_uppercase()) && !v.suffix.is_empty(),
                "{v:?}"
            );
            assert_eq!(VENUES.iter().filter(|w| w.mic == v.mic).count(), 1, "{v:?}");
            // No venue suffix is a canonical US suffix.
            assert!(!["WS", "U", "R", "WI", "CL"].contains(&v.suffix), "{v:?}");
        }
    }
}
