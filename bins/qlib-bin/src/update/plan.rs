//! Planning one symbol's update against the store: its new days appended in place, its rows
//! inside the stored range compared, a restated history flagged, a new symbol or field written
//! whole.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::adjust::{self, Carry};
use crate::cli::Adjust;
use crate::input::Instrument;
use crate::store;

use super::stored::{HeldFile, StoredFile};

/// A write into `features/`, made after every symbol is planned and checked (so a refused run
/// writes nothing, and leaves no marker).
#[derive(Debug)]
pub(super) enum Write {
    /// New days appended in place past the committed calendar, where no reader looks: `bytes` at
    /// byte `offset`, and what a killed update left after them cut off (`cut` when the file is
    /// longer).
    Tail {
        path: PathBuf,
        /// The file, still open from planning (when the process may keep that many open).
        file: Option<HeldFile>,
        offset: u64,
        bytes: Vec<u8>,
        cut: bool,
    },
    /// A new file (a new symbol's, or a new field's), written beside and renamed in.
    Whole { path: PathBuf, bytes: Vec<u8> },
    /// A symbol's files rewritten together: its directory is built beside (with links to the
    /// files it keeps) and swapped in at once, so a reader never sees fields of two versions.
    Symbol {
        name: String,
        dir: PathBuf,
        /// (file name, bytes).
        files: Vec<(String, Vec<u8>)>,
    },
}

/// What one symbol's update writes and found.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub(super) writes: Vec<Write>,
    /// Files appended to in place.
    pub(super) tails: u64,
    /// Calendar positions of the first and last stored value after the update.
    pub(super) span: Option<(usize, usize)>,
    pub(super) appended: u64,
    /// Dates whose values differ from the store: (date, field, stored, given), first few.
    pub(super) changed: Vec<(i32, String, f32, f32)>,
    pub(super) changed_rows: u64,
    pub(super) rewritten: bool,
    /// `--adjust qlib`: the adjusted history moved (or `--rewrite-changed`); the symbol needs its
    /// whole history.
    pub(super) restated: bool,
    /// `--adjust qlib`: restated, and its whole history was not at hand: left as it was.
    pub(super) waiting: bool,
    /// `--adjust qlib`: where the series stands after the update.
    pub(super) carry: Option<Carry>,
}

/// What every symbol's plan shares.
pub(super) struct Context<'a> {
    pub(super) dir: &'a Path,
    pub(super) fields: &'a [String],
    /// The fields a whole-history rewrite writes: this run's, and the store's other adjusted
    /// ones (left alone they would keep the old scale).
    pub(super) rewrite_fields: &'a [String],
    /// The calendar after the update.
    pub(super) calendar: &'a [i32],
    /// The length of the calendar on disk: what readers see.
    pub(super) committed: usize,
    /// Each instrument's span in `all.txt`, as calendar positions.
    pub(super) spans: &'a std::collections::HashMap<String, (usize, usize)>,
    pub(super) adjust: Adjust,
    pub(super) rewrite_changed: bool,
}

impl Context<'_> {
    /// Whether a day without a row carries the day before's value (`$factor` under
    /// `--adjust qlib`, as Qlib's collector forward-fills it over its calendar) or is NaN.
    pub(super) fn carries_gaps(&self, field: &str) -> bool {
        self.adjust == Adjust::Qlib && field == "factor"
    }
}

pub(super) fn same(a: f32, b: f32) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// Equal up to float32 rounding of a value computed from a recovered scale.
fn close_enough(a: f32, b: f32) -> bool {
    same(a, b) || (a - b).abs() <= 4.0 * f32::EPSILON * a.abs().max(b.abs())
}

/// The update of one instrument against the store.
pub(super) fn plan(
    cx: &Context<'_>,
    name: &str,
    inst: &Instrument,
    carry: Option<&Carry>,
    waiting: bool,
) -> Result<Outcome, Error> {
    if waiting {
        // Restated earlier and still without its whole history: nothing is appended to it.
        return Ok(Outcome {
            restated: true,
            ..Outcome::default()
        });
    }
    let feature_dir = cx.dir.join("features").join(store::feature_dir(name));
    let paths: Vec<PathBuf> = cx
        .fields
        .iter()
        .map(|f| feature_dir.join(format!("{f}.day.bin")))
        .collect();
    let stored: Vec<Option<StoredFile>> = paths
        .iter()
        .map(|p| StoredFile::open(p, cx.committed, cx.spans.get(name).copied()))
        .collect::<Result<_, _>>()?;
    // Input rows as calendar positions (dates off the calendar were refused before).
    let idx: Vec<usize> = inst
        .dates
        .iter()
        .filter_map(|d| cx.calendar.binary_search(d).ok())
        .collect();
    let mut out = Outcome::default();
    let values: Vec<Vec<f32>> = match cx.adjust {
        Adjust::None => inst.values.clone(),
        Adjust::Qlib => {
            // Rows up to the state's date are only compared with the store, adjusted from a
            // state recovered from it; the rows after continue the saved state exactly.
            // The saved state is trusted only where the files end on its day (a killed run may
            // have left them ahead of it).
            let end = stored.iter().flatten().map(StoredFile::end).max();
            let end_date = end.and_then(|e| e.checked_sub(1)).map(|e| cx.calendar[e]);
            let carry = carry.filter(|c| end_date == Some(c.date));
            let seen = carry.map_or(0, |c| inst.dates.partition_point(|d| *d <= c.date));
            let (old_rows, new_rows) = inst.raw.split_at(seen);
            let recovered = if old_rows.is_empty() && carry.is_some() {
                None
            } else {
                recover_carry(cx, name, &paths, &stored, idx.first().copied(), carry)?
            };
            let (mut values, after_old) = adjust::adjust(old_rows, recovered.as_ref(), cx.fields);
            let prefix = carry.copied().unwrap_or(after_old);
            let (new_values, after) = adjust::adjust(new_rows, Some(&prefix), cx.fields);
            for (all, new) in values.iter_mut().zip(new_values) {
                all.extend(new);
            }
            out.carry = Some(if new_rows.is_empty() { prefix } else { after });
            values
        }
    };

    // Rows inside a file's stored range (or before its start) are compared with it.
    let mut changed_dates: BTreeSet<usize> = BTreeSet::new();
    let mut price_changed = false;
    for (f, field) in cx.fields.iter().enumerate() {
        let Some(s) = &stored[f] else { continue };
        if cx.adjust == Adjust::Qlib && field == "change" {
            // Derived from the closes, which are compared; the first row's depends on a close
            // recovered from the store.
            continue;
        }
        let inside: Vec<(usize, usize)> = idx
            .iter()
            .enumerate()
            .filter(|(_, i)| **i < s.end())
            .map(|(k, i)| (k, *i))
            .collect();
        let (Some(lo), Some(hi)) = (
            inside.iter().map(|p| p.1).filter(|i| *i >= s.start).min(),
            inside.iter().map(|p| p.1).max(),
        ) else {
            // Only rows before the file's start: all changed (history the store never had,
            // not a restatement of what it has).
            for (k, i) in inside {
                note_change(
                    &mut out,
                    &mut changed_dates,
                    cx,
                    i,
                    field,
                    f32::NAN,
                    values[f][k],
                );
            }
            continue;
        };
        let old = s.values(lo, hi + 1, &paths[f])?;
        for (k, i) in inside {
            let was = if i >= lo { old[i - lo] } else { f32::NAN };
            let given = values[f][k];
            let equal = match cx.adjust {
                Adjust::None => i >= s.start && same(was, given),
                Adjust::Qlib => i >= s.start && close_enough(was, given),
            };
            if !equal {
                // A stored price that moved (a NaN that got a value is a revision of the day).
                price_changed |= field != "volume" && was.is_finite();
                note_change(&mut out, &mut changed_dates, cx, i, field, was, given);
            }
        }
    }
    out.changed_rows = changed_dates.len() as u64;
    if out.changed_rows > 0 {
        match cx.adjust {
            // A stored price that moved is a restated history (a split or a dividend changes
            // every earlier adjusted price); a volume alone, or a day that had no price, is a
            // revision of that day (Yahoo's last day's volume grows after the close), reported
            // like any other.
            Adjust::Qlib if price_changed || cx.rewrite_changed => {
                out.restated = true;
                return Ok(out);
            }
            Adjust::Qlib => {}
            Adjust::None if cx.rewrite_changed => {
                return merge_whole(cx, name, &paths, &stored, &idx, &values, out);
            }
            Adjust::None => {}
        }
    }

    for (f, s) in stored.into_iter().enumerate() {
        let given = &values[f];
        match s {
            Some(s) => {
                // NaN from the stored end up to each new row's position.
                let new: Vec<(usize, f32)> = idx
                    .iter()
                    .zip(given)
                    .filter(|(i, _)| **i >= s.end())
                    .map(|(i, v)| (*i, *v))
                    .collect();
                let Some(&(last, _)) = new.last() else {
                    record_span(&mut out, s.start, s.len);
                    continue;
                };
                let mut tail = vec![f32::NAN; last + 1 - s.end()];
                let mut filled = vec![false; tail.len()];
                for (i, v) in &new {
                    tail[i - s.end()] = *v;
                    filled[i - s.end()] = true;
                }
                if cx.carries_gaps(&cx.fields[f]) {
                    // The days between carry the value before them, from the stored last one.
                    let mut prev = match s.end().checked_sub(1) {
                        Some(e) if e >= s.start && s.len > 0 => s.values(e, e + 1, &paths[f])?[0],
                        _ => f32::NAN,
                    };
                    for (v, row) in tail.iter_mut().zip(&filled) {
                        if !row {
                            *v = prev;
                        }
                        prev = *v;
                    }
                }
                out.appended += new.len() as u64;
                record_span(&mut out, s.start, last + 1 - s.start);
                let end = s.end();
                out.writes.push(s.into_tail(end, &tail, &paths[f]));
                out.tails += 1;
            }
            // A new symbol or a new field: its true start, gaps as NaN.
            None => {
                let (Some(&lo), Some(&hi)) = (idx.first(), idx.last()) else {
                    continue;
                };
                let mut vals = vec![f32::NAN; hi - lo + 1];
                for (k, &i) in idx.iter().enumerate() {
                    vals[i - lo] = given[k];
                }
                if cx.carries_gaps(&cx.fields[f]) {
                    let mut at = idx.iter().peekable();
                    let mut prev = f32::NAN;
                    for (p, v) in vals.iter_mut().enumerate() {
                        if at.peek() == Some(&&(lo + p)) {
                            at.next();
                        } else {
                            *v = prev;
                        }
                        prev = *v;
                    }
                }
                out.appended += idx.len() as u64;
                record_span(&mut out, lo, vals.len());
                out.writes.push(Write::Whole {
                    path: paths[f].clone(),
                    bytes: store::bin_from(lo, &vals),
                });
            }
        }
    }
    Ok(out)
}

fn note_change(
    out: &mut Outcome,
    dates: &mut BTreeSet<usize>,
    cx: &Context<'_>,
    i: usize,
    field: &str,
    was: f32,
    given: f32,
) {
    dates.insert(i);
    if out.changed.len() < 5 {
        out.changed
            .push((cx.calendar[i], field.to_string(), was, given));
    }
}

/// `--rewrite-changed` (values as given): the stored values and every given one, over both
/// ranges, each file rewritten whole.
fn merge_whole(
    cx: &Context<'_>,
    name: &str,
    paths: &[PathBuf],
    stored_files: &[Option<StoredFile>],
    idx: &[usize],
    values: &[Vec<f32>],
    mut out: Outcome,
) -> Result<Outcome, Error> {
    out.rewritten = true;
    let mut files = Vec::with_capacity(paths.len());
    for (f, path) in paths.iter().enumerate() {
        // What the committed calendar sees of the file.
        let stored = match &stored_files[f] {
            Some(s) => Some((s.start, s.values(s.start, s.end(), path)?)),
            None => None,
        };
        let (lo, hi) = match &stored {
            Some((start, vals)) => (
                idx.first().map_or(*start, |&i| i.min(*start)),
                idx.last()
                    .map_or(start + vals.len(), |&i| (i + 1).max(start + vals.len())),
            ),
            None => match (idx.first(), idx.last()) {
                (Some(&a), Some(&b)) => (a, b + 1),
                _ => continue,
            },
        };
        let mut merged = vec![f32::NAN; hi - lo];
        if let Some((start, vals)) = &stored {
            merged[start - lo..start - lo + vals.len()].copy_from_slice(vals);
        }
        for (k, &i) in idx.iter().enumerate() {
            // A null never erases a stored value.
            if values[f][k].is_finite() || merged[i - lo].is_nan() {
                merged[i - lo] = values[f][k];
            }
        }
        out.appended += idx.len() as u64;
        record_span(&mut out, lo, merged.len());
        files.push((file_name(path), store::bin_from(lo, &merged)));
    }
    out.writes.push(Write::Symbol {
        name: name.to_string(),
        dir: cx.dir.join("features").join(store::feature_dir(name)),
        files,
    });
    Ok(out)
}

pub(super) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `--adjust qlib`, a symbol rewritten from its whole history: every field file anew.
pub(super) fn plan_history(
    cx: &Context<'_>,
    name: &str,
    inst: &Instrument,
) -> Result<Outcome, Error> {
    let feature_dir = cx.dir.join("features").join(store::feature_dir(name));
    let (values, carry) = adjust::adjust(&inst.raw, None, cx.rewrite_fields);
    let mut out = Outcome {
        rewritten: true,
        carry: Some(carry),
        ..Outcome::default()
    };
    let mut files = Vec::with_capacity(cx.rewrite_fields.len());
    for (field, vals) in cx.rewrite_fields.iter().zip(&values) {
        let bytes = store::bin_bytes(cx.calendar, &inst.dates, vals, cx.carries_gaps(field))
            .map_err(|e| Error::Data(format!("{name}: {e}")))?;
        files.push((format!("{field}.day.bin"), bytes));
        out.appended += vals.len() as u64;
    }
    out.writes.push(Write::Symbol {
        name: name.to_string(),
        dir: feature_dir,
        files,
    });
    let pos = |d: Option<&i32>| d.and_then(|d| cx.calendar.binary_search(d).ok());
    if let (Some(a), Some(b)) = (pos(inst.dates.first()), pos(inst.dates.last())) {
        out.span = Some((a, b));
    }
    Ok(out)
}

/// The state of a symbol's adjusted series right before calendar position `first` (or at its
/// end), from the store: the last close is `$close / $factor`, the factor `$factor × C0`, and
/// C0 — when the adjustment state does not have it (a store Qlib's collector wrote) —
/// `$adjclose / $close`. Float32 precision: used for the rows an update only compares, or when
/// the saved state does not match the files. `None` for a symbol the store does not have.
fn recover_carry(
    cx: &Context<'_>,
    name: &str,
    paths: &[PathBuf],
    stored: &[Option<StoredFile>],
    first: Option<usize>,
    carry: Option<&Carry>,
) -> Result<Option<Carry>, Error> {
    if stored.iter().all(Option::is_none) {
        return Ok(None);
    }
    let file = |field: &str| -> Option<(&StoredFile, &Path)> {
        let f = cx.fields.iter().position(|x| x == field)?;
        stored[f].as_ref().map(|s| (s, paths[f].as_path()))
    };
    let (Some((close, close_path)), Some((factor, factor_path))) = (file("close"), file("factor"))
    else {
        return Err(Error::Data(format!(
            "{name}: --adjust qlib continues a series from the store's $close and $factor, and \
             the store has no such files for it (qlib-bin all --force rebuilds the store)"
        )));
    };
    let adj = file("adjclose");
    let hi = first
        .unwrap_or(usize::MAX)
        .min(close.end())
        .min(factor.end());
    let start = close.start.max(factor.start);
    // The last 64 days first (the usual case: the day before), then the whole series.
    for lo in [hi.saturating_sub(64).max(start), start] {
        if lo >= hi {
            break;
        }
        let closes = close.values(lo, hi, close_path)?;
        let factors = factor.values(lo, hi, factor_path)?;
        let valid =
            |k: &usize| closes[*k].is_finite() && factors[*k].is_finite() && factors[*k] != 0.0;
        let Some(k) = (0..closes.len()).rev().find(valid) else {
            continue;
        };
        let c0 = match carry.and_then(|c| c.c0) {
            Some(c0) => c0,
            None => {
                // The scale from a day with an adjusted close: $adjclose / $close.
                let Some((adj, adj_path)) = adj.filter(|(a, _)| a.start <= lo && a.end() >= hi)
                else {
                    return Err(Error::Data(format!(
                        "{name}: the store has no adjustment state for it and no $adjclose to \
                         recover its scale from (qlib-bin all --force rebuilds the store)"
                    )));
                };
                let adjs = adj.values(lo, hi, adj_path)?;
                match (0..=k)
                    .rev()
                    .find(|&j| adjs[j].is_finite() && closes[j].is_finite())
                {
                    Some(j) => f64::from(adjs[j]) / f64::from(closes[j]),
                    None => continue,
                }
            }
        };
        return Ok(Some(Carry {
            date: cx.calendar[lo + k],
            c0: Some(c0),
            close: Some(f64::from(closes[k]) / f64::from(factors[k])),
            f: Some(f64::from(factors[k]) * c0),
        }));
    }
    // Nothing valid before `first`: the series goes on from its scale alone.
    Ok(Some(Carry {
        date: hi.checked_sub(1).map_or(i32::MIN, |i| cx.calendar[i]),
        c0: carry.and_then(|c| c.c0),
        close: None,
        f: None,
    }))
}

fn record_span(out: &mut Outcome, start: usize, len: usize) {
    if len == 0 {
        return;
    }
    let (a, b) = (start, start + len - 1);
    out.span = Some(match out.span {
        Some((x, y)) => (x.min(a), y.max(b)),
        None => (a, b),
    });
}
