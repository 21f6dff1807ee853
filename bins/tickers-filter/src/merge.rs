//! Several sources' records of one listing made one: the record of the source that comes first
//! in `filter.source_precedence` wins, the others fill its empty fields (`market_cap`, `sector`,
//! `isin`… from the screener or an index table) and add their index tags; the listing was seen
//! from the earliest `first_seen` to the latest `last_seen` of them.

use std::collections::BTreeMap;

use tickerlake::ndjson::WithExtra;
use tickerlake::records::Ticker;

pub type Record = WithExtra<Ticker>;

/// Where a source stands: its position in the precedence list, then unnamed sources by name,
/// then records without a source.
fn rank<'a>(precedence: &[String], source: Option<&'a str>) -> (usize, Option<&'a str>) {
    match source {
        Some(s) => match precedence.iter().position(|p| p == s) {
            Some(k) => (k, None),
            None => (precedence.len(), Some(s)),
        },
        None => (precedence.len() + 1, None),
    }
}

/// One record per name, sorted by name; and how many records were merged into another.
/// Of two records of one source, the newer (`last_seen`) wins, then the one whose JSON sorts
/// first: the result never depends on the order of the inputs.
pub fn merge(records: Vec<Record>, precedence: &[String]) -> (Vec<Record>, u64) {
    // Positions are sorted, not the records: a record is a few hundred bytes to move.
    let mut order: Vec<u32> = (0..records.len() as u32).collect();
    order.sort_unstable_by(|&i, &j| {
        let (a, b) = (&records[i as usize], &records[j as usize]);
        a.record
            .symbol
            .as_str()
            .cmp(b.record.symbol.as_str())
            .then_with(|| {
                rank(precedence, a.record.source.as_deref())
                    .cmp(&rank(precedence, b.record.source.as_deref()))
            })
            .then_with(|| b.record.last_seen.cmp(&a.record.last_seen))
            // Rare (one source listing a name twice on one day): the JSON decides.
            .then_with(|| {
                let json = |r: &Record| serde_json::to_string(r).unwrap_or_default();
                json(a).cmp(&json(b))
            })
            .then(i.cmp(&j))
    });
    let mut slots: Vec<Option<Record>> = records.into_iter().map(Some).collect();
    let mut out: Vec<Record> = Vec::with_capacity(slots.len());
    let mut merged = 0;
    for r in order.into_iter().filter_map(|k| slots[k as usize].take()) {
        match out.last_mut() {
            Some(first) if first.record.symbol == r.record.symbol => {
                fill(first, r);
                merged += 1;
            }
            _ => out.push(r),
        }
    }
    (out, merged)
}

/// The descriptive fields `a` lacks, taken from `b` (`source_symbol` is a source's own
/// spelling and never taken; index tags, dates and status are the caller's to decide).
pub fn fill_empty_fields(a: &mut Ticker, b: &mut Ticker) {
    fn take<T>(mine: &mut Option<T>, theirs: &mut Option<T>) {
        if mine.is_none() {
            *mine = theirs.take();
        }
    }
    take(&mut a.name, &mut b.name);
    take(&mut a.exchange, &mut b.exchange);
    take(&mut a.asset_type, &mut b.asset_type);
    take(&mut a.currency, &mut b.currency);
    take(&mut a.country, &mut b.country);
    take(&mut a.isin, &mut b.isin);
    take(&mut a.market_cap, &mut b.market_cap);
    take(&mut a.sector, &mut b.sector);
    take(&mut a.industry, &mut b.industry);
}

/// `into` keeps what it has and takes what it lacks from `other`.
fn fill(into: &mut Record, other: Record) {
    let (a, mut b) = (&mut into.record, other.record);
    fill_empty_fields(a, &mut b);
    for tag in b.indexes {
        if !a.indexes.contains(&tag) {
            a.indexes.push(tag);
        }
    }
    a.indexes.sort();
    a.first_seen = match (a.first_seen, b.first_seen) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    };
    a.last_seen = match (a.last_seen, b.last_seen) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, y) => x.or(y),
    };
    let extra: BTreeMap<String, serde_json::Value> = other.extra.into_iter().collect();
    for (k, v) in extra {
        into.extra.entry(k).or_insert(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(json: serde_json::Value) -> Record {
        let mut object = json.as_object().unwrap().clone();
        let extra_keys: Vec<String> = object
            .keys()
            .filter(|k| k.starts_with("x_"))
            .cloned()
            .collect();
        let mut extra = serde_json::Map::new();
        for k in extra_keys {
            extra.insert(k.clone(), object.remove(&k).unwrap());
        }
        WithExtra {
            record: serde_json::from_value(serde_json::Value::Object(object)).unwrap(),
            extra,
        }
    }

    #[test]
    fn the_first_source_wins_and_the_others_fill_in() {
        let precedence = ["nasdaqtrader".to_string(), "sec".into(), "sp500".into()];
        let records = vec![
            rec(
                serde_json::json!({"symbol": "AAPL", "source": "sp500", "name": "Apple Inc.",
                "sector": "Information Technology", "indexes": ["sp500"], "first_seen": "2025-07-01"}),
            ),
            rec(
                serde_json::json!({"symbol": "AAPL", "source": "nasdaq-screener", "market_cap": 3.4e12,
                "x_note": "kept"}),
            ),
            rec(
                serde_json::json!({"symbol": "AAPL", "source": "nasdaqtrader",
                "name": "Apple Inc. - Common Stock", "exchange": "XNAS", "first_seen": "2025-07-21"}),
            ),
            rec(serde_json::json!({"symbol": "AA", "source": "sec"})),
        ];
        let (out, merged) = merge(records, &precedence);
        assert_eq!(merged, 2);
        assert_eq!(out.len(), 2);
        let aapl = &out[1].record;
        assert_eq!(aapl.source.as_deref(), Some("nasdaqtrader"));
        assert_eq!(aapl.name.as_deref(), Some("Apple Inc. - Common Stock"));
        assert_eq!(aapl.sector.as_deref(), Some("Information Technology"));
        assert_eq!(aapl.market_cap, Some(3.4e12));
        assert_eq!(aapl.indexes, ["sp500"]);
        assert_eq!(aapl.first_seen.unwrap().to_string(), "2025-07-01");
        assert_eq!(out[1].extra["x_note"], "kept");
    }
}
