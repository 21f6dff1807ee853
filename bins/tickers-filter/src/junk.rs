//! The junk rules: what is not a common stock (or an ETF the user keeps) leaves the universe,
//! each for one rule, counted.
//!
//! What a security is comes from, in this order: its security name (Nasdaq Trader's `Arbor
//! Realty Trust 6.375% Series D Cumulative Redeemable Preferred Stock`, `EVgo Inc. - Warrants`),
//! its `asset_type` (set by the source from its own flags and spellings), and only when neither
//! says anything, its symbol's shape. A name is read for the *security's* words, never the
//! issuer's: `Preferred Bank - Common Stock`, `United Airlines`, `Unit Corporation Common Stock`
//! and `Warrior Met Coal` are common stocks.

use std::collections::HashSet;

use tickerlake::records::{AssetType, Ticker};

/// Why a listing left the universe, in the order the rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A character of `filter.junk_chars` in its name or source spelling (`ABR$D`).
    Chars,
    /// An exchange's test issue (`NASDAQ TEST STOCK`).
    TestIssue,
    Preferred,
    Warrant,
    Right,
    Unit,
    /// Notes, debentures, bonds.
    Note,
    /// Another base symbol's series (`OXLCG` beside `OXLC`), for listings without a name.
    PreferredSeries,
    /// An asset type not kept (an ETF without `--keep-etfs`, a fund, other).
    AssetType,
    /// A venue not kept (`--exchanges`).
    Exchange,
    /// A country not kept (`--countries`).
    Country,
    /// Another share class of the same issuer was kept.
    ShareClass,
}

impl Rule {
    pub const ALL: [Rule; 12] = [
        Rule::Chars,
        Rule::TestIssue,
        Rule::Preferred,
        Rule::Warrant,
        Rule::Right,
        Rule::Unit,
        Rule::Note,
        Rule::PreferredSeries,
        Rule::AssetType,
        Rule::Exchange,
        Rule::Country,
        Rule::ShareClass,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Rule::Chars => "chars",
            Rule::TestIssue => "test_issue",
            Rule::Preferred => "preferred",
            Rule::Warrant => "warrant",
            Rule::Right => "right",
            Rule::Unit => "unit",
            Rule::Note => "note",
            Rule::PreferredSeries => "preferred_series",
            Rule::AssetType => "asset_type",
            Rule::Exchange => "exchange",
            Rule::Country => "country",
            Rule::ShareClass => "share_class",
        }
    }
}

/// What the rules keep.
#[derive(Debug, Clone)]
pub struct Keep {
    pub junk_chars: Vec<char>,
    pub asset_types: Vec<AssetType>,
    /// Empty: every venue.
    pub exchanges: Vec<String>,
    /// Empty: every country.
    pub countries: Vec<String>,
}

/// What a security name says the security is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameSays {
    Common,
    Junk(Rule),
    Nothing,
}

/// Words that end an issuer's name: a junk word right before one is part of the name
/// (`Unit Corporation`, `Rights Group`).
const CORPORATE: [&str; 16] = [
    "corp",
    "corporation",
    "inc",
    "incorporated",
    "company",
    "co",
    "ltd",
    "limited",
    "group",
    "holdings",
    "holding",
    "plc",
    "llc",
    "bank",
    "bancorp",
    "technologies",
];

/// Reads a security name: the security's own words (after Nasdaq's ` - `, else the whole name),
/// and of the phrases below the first one there. A common-stock phrase first is a common stock
/// (`American Depositary Shares (Each representing 1 Common Share)`), a junk phrase first is
/// junk (`Warrants, each exercisable for one share of Class A Common Stock`).
pub fn read_name(name: &str) -> NameSays {
    let lower = name.to_lowercase();
    if contains_words(&lower, &["test", "stock"])
        || contains_words(&lower, &["test", "issue"])
        || contains_words(&lower, &["test", "symbol"])
    {
        return NameSays::Junk(Rule::TestIssue);
    }
    let security = match lower.split_once(" - ") {
        Some((_, after)) => after,
        None => lower.as_str(),
    };
    let words = words(security);
    let has_coupon_or_maturity = security.contains('%')
        || words
            .windows(2)
            .any(|w| w[0] == "due" && w[1].len() == 4 && w[1].bytes().all(|b| b.is_ascii_digit()));
    let common_at = |k: usize| {
        matches!(words[k], "common" | "ordinary")
            && matches!(
                words.get(k + 1).copied(),
                Some("stock" | "stocks" | "share" | "shares" | "unit" | "units")
            )
    };
    // A fund's common shares, whatever the fund invests in (`Nuveen Preferred Securities &
    // Income Opportunities Fund Common Shares`, `Western Asset Bond Fund`): words before `fund`
    // name the fund.
    let fund = words.iter().position(|w| *w == "fund");
    if let Some(f) = fund
        && (f..words.len()).any(common_at)
    {
        return NameSays::Common;
    }
    let first_own_word = fund.map_or(0, |f| f + 1);
    for (i, w) in words.iter().enumerate().skip(first_own_word) {
        let next = words.get(i + 1).copied().unwrap_or("");
        let prev = if i > 0 { words[i - 1] } else { "" };
        let after = |k: usize| words.get(i + k).copied().unwrap_or("");
        // American depositary shares or receipts are the equity of a foreign issuer, whatever
        // they represent (Itau's preferred shares, Santander Brasil's units).
        if *w == "american" && (next.starts_with("depositar") || next.starts_with("depositor")) {
            return NameSays::Common;
        }
        // `Series A Preferred`, `Cumulative Preferred`: a preferred security's own words.
        let preferred_before = prev.len() == 1
            || matches!(
                prev,
                "cumulative"
                    | "noncumulative"
                    | "perpetual"
                    | "redeemable"
                    | "convertible"
                    | "term"
                    | "participating"
                    | "exchangeable"
            );
        let part_of_issuer = CORPORATE.contains(&next);
        let says = match *w {
            // `Common Stock Purchase Warrants` are warrants.
            // A partnership's `Common Units` are its equity (`Cheniere Energy Partners, LP
            // Common Units`).
            "common"
                if matches!(
                    next,
                    "stock" | "stocks" | "share" | "shares" | "unit" | "units"
                ) =>
            {
                match words.iter().skip(i + 2).take(3).find_map(|w| match *w {
                    "warrant" | "warrants" => Some(Rule::Warrant),
                    "right" | "rights" => Some(Rule::Right),
                    "unit" | "units" => Some(Rule::Unit),
                    _ => None,
                }) {
                    Some(rule) => NameSays::Junk(rule),
                    None => NameSays::Common,
                }
            }
            "ordinary" if matches!(next, "share" | "shares" | "stock") => NameSays::Common,
            // `Pfd Ser E`: the directory's abbreviation.
            "pfd" | "pfds" => NameSays::Junk(Rule::Preferred),
            "preferred" | "preference"
                if preferred_before
                    || matches!(
                        next,
                        "" | "stock"
                            | "stocks"
                            | "share"
                            | "shares"
                            | "securities"
                            | "units"
                            | "series"
                    ) =>
            {
                NameSays::Junk(Rule::Preferred)
            }
            "warrant" | "warrants" if !part_of_issuer => NameSays::Junk(Rule::Warrant),
            // `representing the right to receive …` describes a depositary share.
            "right" | "rights" if !part_of_issuer && prev != "the" => NameSays::Junk(Rule::Right),
            // A partnership's or a trust's units are its equity (`Limited Partnership Units`,
            // `Depositary Units representing Limited Partner Interests`, `Trust Units`,
            // `Beneficial Unit Certificates`).
            "unit" | "units"
                if matches!(
                    prev,
                    "partnership" | "trust" | "depositary" | "beneficial" | "royalty" | "operating"
                ) || (next == "representing"
                    && matches!(after(2), "limited" | "partnership")) =>
            {
                NameSays::Common
            }
            "unit" | "units" if !part_of_issuer => NameSays::Junk(Rule::Unit),
            // `Depositary Shares` of a US issuer are slices of a preferred share.
            "depositary" | "depository"
                if matches!(next, "shares" | "share") && prev != "american" =>
            {
                NameSays::Junk(Rule::Preferred)
            }
            // Exchange-traded notes.
            "etn" | "etns" => NameSays::Junk(Rule::Note),
            // Euronext's warrants: bons de souscription d'actions.
            "bsa" | "bsaar" | "bsar" => NameSays::Junk(Rule::Warrant),
            "certificates" | "certs" | "ctf" | "ctfs" | "strats" | "corts"
                if has_coupon_or_maturity =>
            {
                NameSays::Junk(Rule::Note)
            }
            "note" | "notes" | "debenture" | "debentures" | "bond" | "bonds"
                if has_coupon_or_maturity && !part_of_issuer =>
            {
                NameSays::Junk(Rule::Note)
            }
            _ => continue,
        };
        return says;
    }
    NameSays::Nothing
}

/// Lower-case words: letters and digits, split at anything else.
fn words(text: &str) -> Vec<&str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect()
}

fn contains_words(lower: &str, phrase: &[&str]) -> bool {
    words(lower).windows(phrase.len()).any(|w| w == phrase)
}

/// The rule that drops `t`, if one does; `listed` holds every name of the universe (for the
/// series rule).
pub fn rule_for(t: &Ticker, keep: &Keep, listed: &HashSet<&str>) -> Option<Rule> {
    let spellings = [Some(t.symbol.as_str()), t.source_symbol.as_deref()];
    if spellings
        .iter()
        .flatten()
        .any(|s| s.contains(keep.junk_chars.as_slice()))
    {
        return Some(Rule::Chars);
    }
    // An ETF's name tells what it holds (`Preferred Securities and Income ETF`), not what it is.
    let from_name = match (&t.name, t.asset_type) {
        (Some(_), Some(AssetType::Etf)) => NameSays::Nothing,
        (Some(name), _) => read_name(name),
        (None, _) => NameSays::Nothing,
    };
    match from_name {
        NameSays::Junk(rule) => return Some(rule),
        NameSays::Common => {}
        NameSays::Nothing => {
            if let Some(rule) = t.asset_type.and_then(junk_type) {
                return Some(rule);
            }
            // A name that says nothing of the security (the SEC's are the issuer's) leaves the
            // symbol to tell: a fifth letter W, R or U; the series rule only without a name.
            if let Some(rule) = symbol_shape(t, listed, t.name.is_none()) {
                return Some(rule);
            }
        }
    }
    if let Some(a) = t.asset_type {
        // A name that says common stock outweighs a source's guess of preferred or warrant.
        let effective = if from_name == NameSays::Common && junk_type(a).is_some() {
            AssetType::Stock
        } else {
            a
        };
        if !keep.asset_types.contains(&effective) {
            return Some(Rule::AssetType);
        }
    }
    if !keep.exchanges.is_empty()
        && !t
            .exchange
            .as_ref()
            .is_some_and(|e| keep.exchanges.contains(e))
    {
        return Some(Rule::Exchange);
    }
    if !keep.countries.is_empty()
        && !t
            .country
            .as_ref()
            .is_some_and(|c| keep.countries.contains(c))
    {
        return Some(Rule::Country);
    }
    None
}

fn junk_type(a: AssetType) -> Option<Rule> {
    match a {
        AssetType::Preferred => Some(Rule::Preferred),
        AssetType::Warrant => Some(Rule::Warrant),
        AssetType::Right => Some(Rule::Right),
        AssetType::Unit => Some(Rule::Unit),
        AssetType::Note => Some(Rule::Note),
        _ => None,
    }
}

/// The last resort, for a US listing with neither a name nor a telling asset type: another
/// listed base symbol plus one letter is its series (`OXLCG` beside `OXLC`: the notes' rule),
/// and a five-letter Nasdaq symbol's fifth letter W, R or U is a warrant, a right or a unit.
fn symbol_shape(t: &Ticker, listed: &HashSet<&str>, series: bool) -> Option<Rule> {
    let s = t.symbol.as_str();
    if !s.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let us = t
        .exchange
        .as_deref()
        .is_none_or(tickerlake::listing::is_us_venue);
    if !us {
        return None;
    }
    if s.len() == 5 && t.exchange.as_deref().is_none_or(|e| e == "XNAS") {
        match s.as_bytes()[4] {
            b'W' => return Some(Rule::Warrant),
            b'R' => return Some(Rule::Right),
            b'U' => return Some(Rule::Unit),
            _ => {}
        }
    }
    if series && s.len() >= 4 && listed.contains(&s[..s.len() - 1]) {
        return Some(Rule::PreferredSeries);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn no_name_makes_the_reader_panic(name in "\\PC{0,80}") {
            let _ = read_name(&name);
        }
    }

    #[test]
    fn names_are_read_for_the_securitys_words_not_the_issuers() {
        use NameSays::*;
        for (name, says) in [
            ("Preferred Bank - Common Stock", Common),
            ("United Airlines Holdings, Inc. - Common Stock", Common),
            ("Unit Corporation Common Stock", Common),
            ("Warrior Met Coal, Inc. Common Stock", Common),
            ("Warrantee Inc. - American Depositary Shares", Common),
            (
                "Ambev S.A. American Depositary Shares (Each representing 1 Common Share)",
                Common,
            ),
            (
                "EVgo Inc. - Warrants, each whole warrant exercisable for one share of Class A \
                 Common Stock at an exercise price of $11.50",
                Junk(Rule::Warrant),
            ),
            (
                "Arbor Realty Trust 6.375% Series D Cumulative Redeemable Preferred Stock",
                Junk(Rule::Preferred),
            ),
            (
                "Agree Realty Corporation Depositary Shares, each representing 1/1,000th of a \
                 4.250% Series A Cumulative Redeemable Preferred Stock",
                Junk(Rule::Preferred),
            ),
            ("Artius II Acquisition Inc. - Rights", Junk(Rule::Right)),
            ("Aimei Health Technology Co., Ltd - Unit", Junk(Rule::Unit)),
            (
                "Aegon Funding Company LLC 5.10% Subordinated Notes due 2049",
                Junk(Rule::Note),
            ),
            (
                "American Financial Group, Inc. 5.875% Subordinated Debentures due 2059",
                Junk(Rule::Note),
            ),
            ("NASDAQ TEST STOCK", Junk(Rule::TestIssue)),
            ("John Hancock Pfd Income Fund II", Nothing),
            (
                "Brookfield Business Partners L.P. Limited Partnership Units",
                Common,
            ),
            (
                "Icahn Enterprises L.P. - Depositary Units representing Limited Partner Interests",
                Common,
            ),
            ("MV Oil Trust Units of Beneficial Interests", Common),
            ("Permian Basin Royalty Trust Trust Units", Common),
            ("Cadiz, Inc. - Depositary Shares", Junk(Rule::Preferred)),
            (
                "iPath Series B S&P 500 VIX Short-Term Futures ETN",
                Junk(Rule::Note),
            ),
            ("ABIVAX BSA", Junk(Rule::Warrant)),
            (
                "Synthetic Fixed-Income Securities 6.375% STRATS",
                Junk(Rule::Note),
            ),
            (
                "Bank of America Corporation Non Cumulative Perpetual Conv Pfd Ser L",
                Junk(Rule::Preferred),
            ),
            (
                "Itau Unibanco Banco Holding SA American Depositary Shares (Each repstg 500 \
                 Preferred shares)",
                Common,
            ),
            (
                "Banco Santander Brasil SA American Depositary Shares, each representing one unit",
                Common,
            ),
            (
                "Nuveen Preferred Securities & Income Opportunities Fund Common Shares",
                Common,
            ),
            (
                "Iron Horse Acquisitions Corp. - one right to one-fifth (1/5) of one share of \
                 common stock",
                Junk(Rule::Right),
            ),
            (
                "Alliance Resource Partners, L.P. - Common Units Representing Limited Partnership \
                 Interests",
                Common,
            ),
            (
                "Presidio Property Trust, Inc. - Series A Common Stock Purchase Warrants",
                Junk(Rule::Warrant),
            ),
            (
                "XYZ Capital Trust 7% Series A Preferred",
                Junk(Rule::Preferred),
            ),
            ("Preferred Apartment Communities Inc Common Stock", Common),
            ("First Trust United Kingdom AlphaDEX Fund", Nothing),
        ] {
            assert_eq!(read_name(name), says, "{name}");
        }
    }
}
