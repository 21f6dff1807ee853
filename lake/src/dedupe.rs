//! One row per (symbol, date): which of several versions of a bar the lake keeps.
//!
//! The newest `source_ts` wins, ties go to the later input, a null `source_ts` is older than
//! any — field by field: a null in the newer bar never erases a value the older one has.

use tickerlake::records::Bar;

/// Keeps one bar per (symbol, date): the newest `source_ts`, the later one on a tie — field by
/// field, a null in the newer bar never erases a value the older one has (see
/// [`keep_stored_values`]). `rows` is in input order (older input first). The result is sorted
/// by symbol, then date.
pub fn dedupe_sorted(rows: Vec<Bar>) -> Vec<Bar> {
    dedupe_counting(rows).0
}

/// [`dedupe_sorted`], with the number of bars in which a null left an older value in place.
pub fn dedupe_counting(rows: Vec<Bar>) -> (Vec<Bar>, u64) {
    // Already in strictly increasing (symbol, date) order, as a partition of grouped input
    // is: nothing to sort, nothing to drop.
    if rows
        .windows(2)
        .all(|w| (w[0].symbol.as_str(), w[0].date) < (w[1].symbol.as_str(), w[1].date))
    {
        return (rows, 0);
    }
    sort_and_dedupe(rows)
}

/// The newer bar of a (symbol, date), with each field it has no value for taken from the older
/// one: a re-fetched day whose answer lacks the quote arrays must not erase the prices the lake
/// holds. Returns whether a value was kept that way.
pub fn keep_stored_values(newer: &mut Bar, older: &Bar) -> bool {
    fn keep<T: Clone>(new: &mut Option<T>, old: &Option<T>) -> bool {
        if new.is_none() && old.is_some() {
            *new = old.clone();
            true
        } else {
            false
        }
    }
    let mut kept = false;
    kept |= keep(&mut newer.open, &older.open);
    kept |= keep(&mut newer.high, &older.high);
    kept |= keep(&mut newer.low, &older.low);
    kept |= keep(&mut newer.close, &older.close);
    kept |= keep(&mut newer.adj_close, &older.adj_close);
    kept |= keep(&mut newer.volume, &older.volume);
    kept |= keep(&mut newer.vwap, &older.vwap);
    kept |= keep(&mut newer.transactions, &older.transactions);
    kept |= keep(&mut newer.currency, &older.currency);
    kept
}

pub(crate) fn sort_and_dedupe(rows: Vec<Bar>) -> (Vec<Bar>, u64) {
    let mut indexed: Vec<(usize, Bar)> = rows.into_iter().enumerate().collect();
    // Group equal keys together, the winner last: by source_ts (None first) at the millisecond
    // precision the lake stores, so that the winner does not depend on whether a row was staged
    // in between; then input order.
    let ms = |b: &Bar| b.source_ts.map(|t| t.timestamp_millis());
    indexed.sort_by(|(ia, a), (ib, b)| {
        (a.symbol.as_str(), a.date, ms(a), ia).cmp(&(b.symbol.as_str(), b.date, ms(b), ib))
    });
    let mut out: Vec<Bar> = Vec::with_capacity(indexed.len());
    let mut kept = 0u64;
    let mut kept_this = false;
    for (_, mut bar) in indexed {
        match out.last_mut() {
            Some(last) if last.symbol == bar.symbol && last.date == bar.date => {
                kept_this |= keep_stored_values(&mut bar, last);
                *last = bar;
            }
            _ => {
                kept += u64::from(kept_this);
                kept_this = false;
                out.push(bar);
            }
        }
    }
    kept += u64::from(kept_this);
    (out, kept)
}
