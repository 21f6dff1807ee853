//! Share classes: when one issuer lists several classes, one is kept — the first letter of
//! `filter.class_preference` that is listed (the notes keep B over A), else the first class
//! alphabetically.
//!
//! Classes are recognised by the listing name's shape, on one venue:
//! - a dotted class on a US venue: `BRK.A` / `BRK.B`, `BF.A` / `BF.B`;
//! - a dashed class elsewhere: `ATCO-A.ST` / `ATCO-B.ST`;
//! - Nasdaq's fifth letter A, B or C: `KELYA` / `KELYB` — only when two such listings share the
//!   first four letters (a lone `ABCDA` is no class of anything).
//!
//! When both listings have a name, their first two words must agree: two issuers whose symbols
//! happen to rhyme keep both listings. `GOOG` / `GOOGL` have no class letter to read and are
//! both kept.

use std::collections::BTreeMap;

use crate::merge::Record;

/// `(issuer key, class letter)` of a name that has a class, else `None`.
fn class_of(r: &Record) -> Option<(String, char)> {
    let t = &r.record;
    let name = t.symbol.as_str();
    let venue = t.exchange.clone().unwrap_or_default();
    let (local, suffix) = match tickerlake::listing::split(name) {
        (local, Some(v)) => (local, Some(v.suffix)),
        (local, None) => (local, None),
    };
    let last = local.chars().last()?;
    if !last.is_ascii_uppercase() {
        return None;
    }
    let base = &local[..local.len() - 1];
    match suffix {
        None => {
            if let Some(b) = base.strip_suffix('.') {
                return Some((format!("{b}|{venue}|dot"), last));
            }
            let nasdaq = venue.is_empty() || venue == "XNAS";
            if local.len() == 5
                && nasdaq
                && matches!(last, 'A' | 'B' | 'C')
                && base.bytes().all(|b| b.is_ascii_uppercase())
            {
                return Some((format!("{base}|XNAS|fifth"), last));
            }
            None
        }
        Some(s) => base
            .strip_suffix('-')
            .map(|b| (format!("{b}|{s}|dash"), last)),
    }
}

/// The first two words of a security name (an article aside), for the same-issuer check.
fn first_word(r: &Record) -> Option<String> {
    let name = r.record.name.as_deref()?;
    let words: Vec<String> = name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| w != "the")
        .take(2)
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// The listings to drop (indexes into `records`): the classes not kept.
pub fn classes_to_drop(records: &[Record], preference: &[char]) -> Vec<usize> {
    let mut groups: BTreeMap<String, Vec<(usize, char)>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Some((key, class)) = class_of(r) {
            groups.entry(key).or_default().push((i, class));
        }
    }
    let mut drop = Vec::new();
    // A fifth letter is a class only beside another one: groups of one are no classes.
    for mut members in groups.into_values() {
        if members.len() < 2 {
            continue;
        }
        let words: Vec<Option<String>> = members
            .iter()
            .map(|(i, _)| first_word(&records[*i]))
            .collect();
        let named: Vec<&String> = words.iter().flatten().collect();
        if named.windows(2).any(|w| w[0] != w[1]) {
            continue;
        }
        members.sort_by_key(|(_, class)| {
            (
                preference
                    .iter()
                    .position(|p| p == class)
                    .unwrap_or(usize::MAX),
                *class,
            )
        });
        drop.extend(members[1..].iter().map(|(i, _)| *i));
    }
    drop.sort_unstable();
    drop
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickerlake::ndjson::WithExtra;

    fn rec(symbol: &str, exchange: Option<&str>, name: Option<&str>) -> Record {
        let mut t = tickerlake::records::Ticker::new(tickerlake::Symbol::parse(symbol).unwrap());
        t.exchange = exchange.map(str::to_string);
        t.name = name.map(str::to_string);
        WithExtra {
            record: t,
            extra: Default::default(),
        }
    }

    #[test]
    fn one_class_per_issuer_by_preference_on_one_venue() {
        let records = [
            rec("ATCO-A.ST", Some("XSTO"), None),
            rec("ATCO-B.ST", Some("XSTO"), None),
            rec(
                "BRK.A",
                Some("XNYS"),
                Some("Berkshire Hathaway Inc. Common Stock"),
            ),
            rec(
                "BRK.B",
                Some("XNYS"),
                Some("Berkshire Hathaway Inc. New Common Stock"),
            ),
            rec("GOOG", Some("XNAS"), None),
            rec("GOOGL", Some("XNAS"), None),
            // Same shape, different issuers: both stay.
            rec(
                "ABCDA",
                Some("XNAS"),
                Some("Alpha Corp - Class A Common Stock"),
            ),
            rec(
                "ABCDB",
                Some("XNAS"),
                Some("Beta Inc - Class B Common Stock"),
            ),
            // A lone fifth letter is no class.
            rec("WXYZA", Some("XNAS"), None),
            rec("MOG.A", Some("XNYS"), None),
            rec("MOG.B", Some("XNYS"), None),
            rec("MOG.C", Some("XNYS"), None),
        ];
        let dropped: Vec<&str> = classes_to_drop(&records, &['B', 'A'])
            .into_iter()
            .map(|i| records[i].record.symbol.as_str())
            .collect();
        assert_eq!(dropped, ["ATCO-A.ST", "BRK.A", "MOG.A", "MOG.C"]);
        // No preferred letter listed: the first alphabetically.
        let dropped: Vec<&str> = classes_to_drop(&records[10..], &['Z'])
            .into_iter()
            .map(|i| records[10 + i].record.symbol.as_str())
            .collect();
        assert_eq!(dropped, ["MOG.C"]);
    }
}
