//! `qlib-bin update`: what Qlib's `dump_update` means, not what it does.
//!
//! The calendar grows by the input dates after its last date. Each symbol's new values land at
//! their calendar positions, with NaN from the symbol's stored last position up to each new one
//! (a stale symbol, or a day missing from one symbol's batch, stays aligned; dump_update appends
//! values back to back and shifts them). A new symbol or a new field starts at its true
//! position. Rows dated inside a symbol's stored range are compared with the store: identical
//! ones (a fetch's lookback days) are fine; different ones are reported, or with
//! `--rewrite-changed` the symbol's files are rewritten whole — never dropped in silence, never
//! appended twice. With `--adjust qlib` a difference there means the adjusted history moved (a
//! split or a dividend restates every earlier adjusted close), and the symbol is rewritten whole
//! from its whole history (the input's, or the lake's), never chain-linked onto stale values.
//!
//! Safety. The calendar is the commit point: Qlib reads a feature file only over the calendar,
//! so values past the calendar's end are invisible. A marker file goes up first. New days are
//! appended in place past the old calendar's end while each symbol is planned (one open per
//! file, a few bytes written instead of a copy of the file); new files are written beside and
//! renamed in, rewritten symbols' directories swapped in whole; one flush; then the calendar,
//! `all.txt`, the adjustment state and the watermark, each replaced atomically; the marker
//! comes down. A run that finds the marker cuts every file back to the calendar before it
//! starts, so what a killed run wrote past it is gone, and a second update with the same input
//! completes the first.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use tickerlake::config::Config;

use crate::adjust::{self, Carry};
use crate::cli::{Adjust, UpdateArgs};
use crate::input::{Instrument, Shape};
use crate::store::{self, AdjustState, Watermark};
use crate::{Error, Summary, day_text};

/// Present while an update is under way (see the module notes).
const UNDER_WAY: &str = ".tickerlake/update-under-way";
/// Whole files are written here, then renamed into `features/`.
const TEMP_DIR: &str = ".tickerlake/tmp";

/// A write into `features/` made after every symbol is planned (appends are made while
/// planning, in place past the committed calendar).
#[derive(Debug)]
enum Write {
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
struct Outcome {
    writes: Vec<Write>,
    /// Files appended to in place.
    tails: u64,
    /// Calendar positions of the first and last stored value after the update.
    span: Option<(usize, usize)>,
    appended: u64,
    /// Dates whose values differ from the store: (date, field, stored, given), first few.
    changed: Vec<(i32, String, f32, f32)>,
    changed_rows: u64,
    rewritten: bool,
    /// `--adjust qlib`: the adjusted history moved (or `--rewrite-changed`); the symbol needs its
    /// whole history.
    restated: bool,
    /// `--adjust qlib`: restated, and its whole history was not at hand: left as it was.
    waiting: bool,
    /// `--adjust qlib`: where the series stands after the update.
    carry: Option<Carry>,
}

/// What every symbol's plan shares.
struct Context<'a> {
    dir: &'a Path,
    fields: &'a [String],
    /// The fields a whole-history rewrite writes: this run's, and the store's other adjusted
    /// ones (left alone they would keep the old scale).
    rewrite_fields: &'a [String],
    /// The calendar after the update.
    calendar: &'a [i32],
    /// The length of the calendar on disk: what readers see.
    committed: usize,
    adjust: Adjust,
    rewrite_changed: bool,
}

impl Context<'_> {
    /// Whether a day without a row carries the day before's value (`$factor` under
    /// `--adjust qlib`, as Qlib's collector forward-fills it over its calendar) or is NaN.
    fn carries_gaps(&self, field: &str) -> bool {
        self.adjust == Adjust::Qlib && field == "factor"
    }
}

/// A feature file as the committed calendar sees it.
struct StoredFile {
    file: File,
    /// Bytes.
    size: u64,
    start: usize,
    /// Values inside the committed calendar (a killed update may have left more).
    len: usize,
}

impl StoredFile {
    fn open(path: &Path, committed: usize) -> Result<Option<StoredFile>, Error> {
        // Read and write: the new days are appended through the same handle.
        let file = match OpenOptions::new().read(true).write(true).open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(read_err(path, e)),
        };
        let size = file.metadata().map_err(|e| read_err(path, e))?.len();
        let mut head = [0u8; 4];
        read_at(&file, &mut head, 0).map_err(|e| read_err(path, e))?;
        let start = f32::from_le_bytes(head);
        // The first value's position must lie inside the calendar on disk (a start past it is
        // a damaged file, never a position to index with).
        if size < 4
            || !(start.is_finite() && start >= 0.0 && start.fract() == 0.0)
            || (start as usize) >= committed.max(1)
        {
            return Err(Error::Data(format!(
                "{}: not a Qlib feature file of this store (start index {start}, {size} bytes, \
                 {committed} calendar days): a full export (qlib-bin all --force) rebuilds it",
                path.display()
            )));
        }
        let start = start as usize;
        let len = (((size - 4) / 4) as usize).min(committed.saturating_sub(start));
        Ok(Some(StoredFile {
            file,
            size,
            start,
            len,
        }))
    }

    fn end(&self) -> usize {
        self.start + self.len
    }

    /// Writes `values` at calendar position `from` (past the committed calendar, where no reader
    /// looks), and cuts off whatever a killed update left after them.
    fn append(&self, from: usize, values: &[f32], path: &Path) -> Result<(), Error> {
        let mut bytes = Vec::with_capacity(4 * values.len());
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let offset = 4 + 4 * (from - self.start) as u64;
        write_at(&self.file, &bytes, offset).map_err(|e| write_err(path, e))?;
        let end = offset + bytes.len() as u64;
        if self.size > end {
            self.file.set_len(end).map_err(|e| write_err(path, e))?;
        }
        Ok(())
    }

    /// The stored values at calendar positions `lo..hi` (inside the stored range).
    fn values(&self, lo: usize, hi: usize, path: &Path) -> Result<Vec<f32>, Error> {
        let mut bytes = vec![0u8; 4 * (hi - lo)];
        read_at(&self.file, &mut bytes, 4 + 4 * (lo - self.start) as u64)
            .map_err(|e| read_err(path, e))?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

fn same(a: f32, b: f32) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// Equal up to float32 rounding of a value computed from a recovered scale.
fn close_enough(a: f32, b: f32) -> bool {
    same(a, b) || (a - b).abs() <= 4.0 * f32::EPSILON * a.abs().max(b.abs())
}

/// The update of one instrument against the store.
fn plan(
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
        .map(|p| StoredFile::open(p, cx.committed))
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

    for (f, s) in stored.iter().enumerate() {
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
                s.append(s.end(), &tail, &paths[f])?;
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

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `--adjust qlib`, a symbol rewritten from its whole history: every field file anew.
fn plan_history(cx: &Context<'_>, name: &str, inst: &Instrument) -> Result<Outcome, Error> {
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

pub fn update(args: &UpdateArgs, config: &Config) -> Result<Summary, Error> {
    let started = Instant::now();
    let dir = &args.input.output;
    if !store::looks_like_store(dir) {
        return Err(Error::Lib(tickerlake::Error::Open {
            path: dir.display().to_string(),
            source: io::Error::new(
                io::ErrorKind::NotFound,
                "not a Qlib store (run qlib-bin all first)",
            ),
        }));
    }
    let _lock = store::lock(dir)?;
    if dir.join(UNDER_WAY).exists() {
        finish_interrupted(dir)?;
    }
    let old_calendar = store::read_calendar(dir)?;
    let instruments_before = store::read_instruments(dir)?;
    let watermark = Watermark::load(dir)?;
    let stored_adjust = watermark.as_ref().map(|w| w.adjust.unwrap_or(Adjust::None));
    let adjust = match (args.input.adjust, stored_adjust) {
        (Some(a), Some(s)) if a != s => {
            return Err(Error::Usage(format!(
                "--adjust {}: the store was written with --adjust {} (values on another scale \
                 would be mixed in); qlib-bin all --force rebuilds it",
                adjust_name(a),
                adjust_name(s),
            )));
        }
        (Some(a), _) => a,
        (None, Some(s)) => s,
        (None, None) => crate::adjust_of(&args.input, config),
    };
    let from = match (&watermark, args.since_watermark) {
        // The watermark's day itself is read again: a restated adjusted close shows there.
        (Some(w), true) => w
            .last_date
            .as_deref()
            .and_then(|d| tickerlake::records::date_format::parse(d).ok()),
        (None, true) => {
            return Err(Error::Usage(format!(
                "{}: no watermark ({}): run without --since-watermark",
                dir.display(),
                store::WATERMARK
            )));
        }
        _ => None,
    };
    let shape = match adjust {
        Adjust::Qlib => Shape::Raw,
        Adjust::None => Shape::AsGiven,
    };
    let (fields, instruments) = crate::read_input(&args.input, config, from, shape)?;
    let named = crate::name_all(
        &fields,
        instruments,
        args.input.symbol_style,
        args.input.na_tickers,
    )?;

    // The calendar grows by the dates after its last; a date inside it that it lacks has no
    // position: refused before anything is written.
    let last = old_calendar.last().copied().unwrap_or(i32::MIN);
    let mut new_days: Vec<i32> = named
        .iter()
        .flat_map(|(_, i)| i.dates.iter().copied())
        .filter(|d| *d > last)
        .collect();
    new_days.sort_unstable();
    new_days.dedup();
    check_on_calendar(&named, &old_calendar)?;
    let mut calendar = old_calendar.clone();
    calendar.extend_from_slice(&new_days);

    let mut state = match adjust {
        Adjust::Qlib => AdjustState::load(dir)?,
        Adjust::None => AdjustState::default(),
    };
    let mut all_fields = watermark.map(|w| w.fields).unwrap_or_default();
    for f in &fields {
        if !all_fields.contains(f) {
            all_fields.push(f.clone());
        }
    }
    let mut rewrite_fields = fields.clone();
    for f in &all_fields {
        if adjust::FIELDS.contains(&f.as_str()) && !rewrite_fields.contains(f) {
            rewrite_fields.push(f.clone());
        }
    }
    let cx = Context {
        dir,
        fields: &fields,
        rewrite_fields: &rewrite_fields,
        calendar: &calendar,
        committed: old_calendar.len(),
        adjust,
        rewrite_changed: args.rewrite_changed,
    };
    // Planning appends the new days in place: the marker goes up first.
    if !named.is_empty() {
        mark_under_way(dir, &UnderWay::default())?;
    }
    let mut outcomes: Vec<Outcome> = named
        .par_iter()
        .map(|(name, inst)| {
            let waiting = state.waiting.contains(name);
            plan(&cx, name, inst, state.symbols.get(name), waiting)
        })
        .collect::<Result<_, _>>()?;
    rewrite_restated(
        args,
        config,
        &cx,
        &named,
        &instruments_before,
        &mut outcomes,
    )?;

    write_features(dir, &outcomes)?;

    // Then the calendar, then all.txt, the adjustment state and the watermark.
    if !new_days.is_empty() {
        let path = dir.join("calendars/day.txt");
        tickerlake::atomic::write_atomic(&path, store::calendar_text(&calendar).as_bytes())
            .map_err(|e| write_err(&path, e))?;
    }
    let (lines, new_symbols) = instrument_lines(&calendar, &instruments_before, &named, &outcomes);
    let path = dir.join("instruments/all.txt");
    tickerlake::atomic::write_atomic(&path, store::instruments_text(&lines).as_bytes())
        .map_err(|e| write_err(&path, e))?;
    if adjust == Adjust::Qlib {
        state.version = 1;
        for ((name, _), o) in named.iter().zip(&outcomes) {
            if let Some(c) = o.carry {
                state.symbols.insert(name.clone(), c);
            }
            if o.waiting {
                state.waiting.insert(name.clone());
            } else if o.rewritten {
                state.waiting.remove(name);
            }
        }
        let path = dir.join(store::ADJUST_STATE);
        tickerlake::atomic::write_atomic(&path, &state.to_json()?)
            .map_err(|e| write_err(&path, e))?;
    }
    let mark = Watermark::of(&calendar, lines.len(), &all_fields, &args.input, adjust);
    let path = dir.join(store::WATERMARK);
    tickerlake::atomic::write_atomic(&path, &mark.to_json()?).map_err(|e| write_err(&path, e))?;
    remove_marker(dir)?;

    let changed_rows: u64 = outcomes.iter().map(|o| o.changed_rows).sum();
    warn_changed(&named, &outcomes);
    if !state.waiting.is_empty() {
        let names: Vec<&str> = state.waiting.iter().take(10).map(String::as_str).collect();
        tracing::error!(
            symbols = state.waiting.len(),
            "{} symbol(s) wait for their whole history ({}{}): a split or a dividend restated \
             their adjusted prices, and --adjust qlib rewrites such a symbol whole rather than \
             chain it onto stale values; they are left as they were until an update brings \
             their whole history (--lake, or input from their first day)",
            state.waiting.len(),
            names.join(", "),
            if state.waiting.len() > 10 {
                ", …"
            } else {
                ""
            }
        );
    }
    Ok(Summary {
        symbols: outcomes
            .iter()
            .filter(|o| o.tails > 0 || !o.writes.is_empty())
            .count() as u64,
        new_symbols,
        fields,
        values: outcomes.iter().map(|o| o.appended).sum(),
        calendar_days: calendar.len() as u64,
        new_days: new_days.len() as u64,
        files: outcomes
            .iter()
            .map(|o| o.tails + o.writes.len() as u64)
            .sum(),
        changed_rows,
        rewritten_symbols: outcomes.iter().filter(|o| o.rewritten).count() as u64,
        waiting_symbols: state.waiting.len() as u64,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn adjust_name(a: Adjust) -> String {
    clap::ValueEnum::to_possible_value(&a).map_or_else(String::new, |v| v.get_name().to_string())
}

/// Rows dated inside the stored calendar on a day it lacks have no position.
fn check_on_calendar(named: &[(String, Instrument)], calendar: &[i32]) -> Result<(), Error> {
    let last = calendar.last().copied().unwrap_or(i32::MIN);
    let off: Vec<String> = named
        .iter()
        .flat_map(|(n, i)| {
            i.dates
                .iter()
                .filter(|d| **d <= last && calendar.binary_search(d).is_err())
                .map(move |d| format!("{n} {}", day_text(*d)))
        })
        .take(5)
        .collect();
    if off.is_empty() {
        return Ok(());
    }
    Err(Error::Data(format!(
        "rows dated inside the store's calendar on days it does not have ({}): a full export \
         (qlib-bin all --force) rebuilds the calendar",
        off.join(", ")
    )))
}

/// `--adjust qlib`: the symbols whose adjusted history moved are planned again from their whole
/// history — the input's when it reaches back to the symbol's first stored day, else the
/// lake's. Without either, a symbol is left as it was and waits (nothing is chain-linked onto
/// it) until an update brings its whole history.
fn rewrite_restated(
    args: &UpdateArgs,
    config: &Config,
    cx: &Context<'_>,
    named: &[(String, Instrument)],
    before: &[(String, i32, i32)],
    outcomes: &mut [Outcome],
) -> Result<(), Error> {
    let first_stored: HashMap<&str, i32> =
        before.iter().map(|(n, a, _)| (n.as_str(), *a)).collect();
    let last_stored: HashMap<&str, i32> = before.iter().map(|(n, _, b)| (n.as_str(), *b)).collect();
    let mut from_lake: Vec<usize> = Vec::new();
    for (k, (name, inst)) in named.iter().enumerate() {
        if !outcomes[k].restated {
            continue;
        }
        // The input is the symbol's history only if it spans every stored day.
        let whole = match (
            first_stored.get(name.as_str()),
            last_stored.get(name.as_str()),
            inst.dates.first(),
            inst.dates.last(),
        ) {
            (Some(a), Some(b), Some(d), Some(e)) => d <= a && e >= b,
            _ => false,
        };
        if whole {
            let first = first_stored.get(name.as_str()).copied();
            outcomes[k] = history_outcome(cx, name, Some(inst), first)?;
        } else {
            from_lake.push(k);
        }
    }
    if from_lake.is_empty() {
        return Ok(());
    }
    if args.input.lake.is_none() {
        for &k in &from_lake {
            let (name, inst) = &named[k];
            let stored =
                |m: &HashMap<&str, i32>| m.get(name.as_str()).map_or("?".into(), |d| day_text(*d));
            let given = |d: Option<&i32>| d.map_or("?".into(), |d| day_text(*d));
            tracing::warn!(
                "{name}: restated, but the input spans {} to {} of its stored {} to {}, and there \
                 is no --lake to read its whole history from: left as it was",
                given(inst.dates.first()),
                given(inst.dates.last()),
                stored(&first_stored),
                stored(&last_stored),
            );
        }
        for k in from_lake {
            outcomes[k] = Outcome {
                restated: true,
                waiting: true,
                ..Outcome::default()
            };
        }
        return Ok(());
    }
    // The restated symbols' whole history: the same input, filtered to them, from the start.
    let mut input = args.input.clone();
    input.filter.from = None;
    input.filter.symbols = from_lake
        .iter()
        .filter_map(|&k| tickerlake::Symbol::parse_lenient(&named[k].1.symbol).ok())
        .collect();
    let (_, history) = crate::read_input(&input, config, None, Shape::Raw)?;
    let mut by_name: HashMap<String, Instrument> = HashMap::new();
    for inst in history {
        if let Ok(n) = store::instrument_name(&inst.symbol, args.input.symbol_style) {
            by_name.insert(n, inst);
        }
    }
    let planned: Vec<(usize, Outcome)> = from_lake
        .par_iter()
        .map(|&k| {
            let name = &named[k].0;
            let first = first_stored.get(name.as_str()).copied();
            Ok((k, history_outcome(cx, name, by_name.get(name), first)?))
        })
        .collect::<Result<_, Error>>()?;
    for (k, o) in planned {
        outcomes[k] = o;
    }
    Ok(())
}

/// A restated symbol rewritten from `history` — when it reaches back to the symbol's first
/// stored day and every day of it is on the calendar — or else left waiting.
fn history_outcome(
    cx: &Context<'_>,
    name: &str,
    history: Option<&Instrument>,
    first_stored: Option<i32>,
) -> Result<Outcome, Error> {
    let waiting = |why: String| {
        tracing::warn!("{name}: {why}");
        Ok(Outcome {
            restated: true,
            waiting: true,
            ..Outcome::default()
        })
    };
    let Some(history) = history else {
        return waiting("no history to rewrite it from".into());
    };
    // Days before the store's calendar are not part of the store.
    let from = cx.calendar.first().copied().unwrap_or(i32::MIN);
    let skip = history.dates.partition_point(|d| *d < from);
    let trimmed = Instrument {
        symbol: history.symbol.clone(),
        dates: history.dates[skip..].to_vec(),
        values: Vec::new(),
        raw: history.raw[skip..].to_vec(),
        carry: None,
    };
    match (trimmed.dates.first(), first_stored) {
        (Some(d), Some(f)) if *d > f => {
            return waiting(format!(
                "its history starts on {}, after its first stored day {}: not rewritten from it",
                day_text(*d),
                day_text(f)
            ));
        }
        (None, _) => return waiting("no history to rewrite it from".into()),
        _ => {}
    }
    // An update never shortens what is stored: every day the store holds a value on must be
    // in the history the symbol is rewritten from.
    if let Some(d) = first_uncovered(cx, name, &trimmed.dates)? {
        return waiting(format!(
            "its history lacks {}, a day the store holds values for: not rewritten from it \
             (the store is never shortened)",
            day_text(d)
        ));
    }
    if let Some(d) = trimmed
        .dates
        .iter()
        .find(|d| cx.calendar.binary_search(d).is_err())
    {
        return waiting(format!(
            "its history has a bar on {}, a day the store's calendar does not have \
             (qlib-bin all --force rebuilds the calendar)",
            day_text(*d)
        ));
    }
    let outcome = plan_history(cx, name, &trimmed)?;
    // Nor does a null in the history erase a stored value.
    if let Some((day, field)) = first_erased(cx, name, &outcome)? {
        return waiting(format!(
            "its history has no {field} on {}, where the store holds one: not rewritten from it \
             (a stored value is never erased)",
            day_text(day)
        ));
    }
    Ok(outcome)
}

/// The first (day, field) where a rewrite would put NaN over a value the store holds.
fn first_erased(
    cx: &Context<'_>,
    name: &str,
    outcome: &Outcome,
) -> Result<Option<(i32, String)>, Error> {
    let dir = cx.dir.join("features").join(store::feature_dir(name));
    let mut first: Option<(i32, String)> = None;
    for write in &outcome.writes {
        let Write::Symbol { files, .. } = write else {
            continue;
        };
        for (file_name, bytes) in files {
            let path = dir.join(file_name);
            let Some(stored) = StoredFile::open(&path, cx.committed)? else {
                continue;
            };
            let old = stored.values(stored.start, stored.end(), &path)?;
            let new: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let Some((&new_start, new_values)) = new.split_first() else {
                continue;
            };
            let new_start = new_start as usize;
            for (k, v) in old.iter().enumerate() {
                let pos = stored.start + k;
                let kept = pos
                    .checked_sub(new_start)
                    .and_then(|i| new_values.get(i))
                    .is_some_and(|n| n.is_finite());
                if v.is_finite() && !kept {
                    let day = cx.calendar[pos];
                    let field = file_name.trim_end_matches(".day.bin").to_string();
                    if first.as_ref().is_none_or(|(d, _)| day < *d) {
                        first = Some((day, field));
                    }
                    break;
                }
            }
        }
    }
    Ok(first)
}

/// The first day on which the store holds a value of `name` (in any of its feature files)
/// that `dates` has no row for. `$factor` under `--adjust qlib` is skipped: it carries values
/// over days without a row.
fn first_uncovered(cx: &Context<'_>, name: &str, dates: &[i32]) -> Result<Option<i32>, Error> {
    let feature_dir = cx.dir.join("features").join(store::feature_dir(name));
    let entries = match fs::read_dir(&feature_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_err(&feature_dir, e)),
    };
    let mut first: Option<i32> = None;
    for entry in entries {
        let entry = entry.map_err(|e| read_err(&feature_dir, e))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(field) = file_name.strip_suffix(".day.bin") else {
            continue;
        };
        if cx.carries_gaps(field) {
            continue;
        }
        let path = entry.path();
        let Some(stored) = StoredFile::open(&path, cx.committed)? else {
            continue;
        };
        let values = stored.values(stored.start, stored.end(), &path)?;
        for (k, v) in values.iter().enumerate() {
            let day = cx.calendar[stored.start + k];
            if v.is_finite() && dates.binary_search(&day).is_err() {
                first = Some(first.map_or(day, |f| f.min(day)));
                break;
            }
        }
    }
    Ok(first)
}

/// Puts up the marker of an update under way (before the first byte of a feature file is
/// written).
fn mark_under_way(dir: &Path, under_way: &UnderWay) -> Result<(), Error> {
    let marker = dir.join(UNDER_WAY);
    if let Some(p) = marker.parent() {
        fs::create_dir_all(p).map_err(|e| write_err(p, e))?;
    }
    let json = serde_json::to_vec(under_way).map_err(|e| Error::Data(e.to_string()))?;
    tickerlake::atomic::write_atomic(&marker, &json).map_err(|e| write_err(&marker, e))
}

/// What the marker of an update under way says: the symbols it rewrites whole.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct UnderWay {
    rewritten: Vec<String>,
}

/// Writes the feature files: tails in place, new files beside and renamed in, rewritten
/// symbols' directories built beside and swapped in; one flush before the renames and one
/// after, under the marker that a next run cleans up after.
fn write_features(dir: &Path, outcomes: &[Outcome]) -> Result<(), Error> {
    let writes: Vec<&Write> = outcomes.iter().flat_map(|o| &o.writes).collect();
    if writes.is_empty() {
        // The appends made while planning are durable before the calendar moves.
        if outcomes.iter().any(|o| o.tails > 0) {
            store::sync_tree_of(dir)?;
        }
        return Ok(());
    }
    let under_way = UnderWay {
        rewritten: writes
            .iter()
            .filter_map(|w| match w {
                Write::Symbol { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect(),
    };
    mark_under_way(dir, &under_way)?;
    let temp_dir = dir.join(TEMP_DIR);
    fs::create_dir_all(&temp_dir).map_err(|e| write_err(&temp_dir, e))?;
    // The directories of new symbols, each once.
    let parents: BTreeSet<&Path> = writes
        .iter()
        .filter_map(|w| match w {
            Write::Whole { path, .. } => path.parent(),
            Write::Symbol { .. } => None,
        })
        .collect();
    parents
        .par_iter()
        .try_for_each(|d| fs::create_dir_all(d).map_err(|e| write_err(d, e)))?;
    let temp_of = |k: usize| temp_dir.join(format!("{k}"));
    writes
        .par_iter()
        .enumerate()
        .try_for_each(|(k, w)| match w {
            Write::Whole { bytes, .. } => {
                let temp = temp_of(k);
                fs::write(&temp, bytes).map_err(|e| write_err(&temp, e))
            }
            Write::Symbol { dir, files, .. } => build_symbol_dir(&temp_of(k), dir, files),
        })?;
    store::sync_tree_of(dir)?;
    {
        writes
            .par_iter()
            .enumerate()
            .try_for_each(|(k, w)| match w {
                Write::Whole { path, .. } => {
                    fs::rename(temp_of(k), path).map_err(|e| write_err(path, e))
                }
                Write::Symbol { dir, .. } => swap_symbol_dir(&temp_of(k), dir),
            })?;
        store::sync_tree_of(dir)?;
    }
    Ok(())
}

/// A rewritten symbol's new directory at `temp`: its new files, and links to the files of
/// `dir` it keeps (fields this run does not write).
fn build_symbol_dir(temp: &Path, dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), Error> {
    fs::create_dir(temp).map_err(|e| write_err(temp, e))?;
    for (name, bytes) in files {
        let path = temp.join(name);
        fs::write(&path, bytes).map_err(|e| write_err(&path, e))?;
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(read_err(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| read_err(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if files.iter().any(|(n, _)| *n == name) || !entry.path().is_file() {
            continue;
        }
        let target = temp.join(&name);
        if fs::hard_link(entry.path(), &target).is_err() {
            fs::copy(entry.path(), &target).map_err(|e| write_err(&target, e))?;
        }
    }
    Ok(())
}

/// Puts a rewritten symbol's directory in place in one step (the old one goes).
fn swap_symbol_dir(temp: &Path, dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        store::exchange(temp, dir)?;
        fs::remove_dir_all(temp).map_err(|e| write_err(temp, e))
    } else {
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).map_err(|e| write_err(parent, e))?;
        }
        fs::rename(temp, dir).map_err(|e| write_err(dir, e))
    }
}

/// After a killed update: every feature file cut back to the calendar on disk (what the killed
/// run wrote past it is not part of the store), its temporary files removed. A symbol it was
/// rewriting whole may be in its new version or its old, and its saved state in either: it
/// waits for its whole history (`--adjust qlib`), as a restated symbol does.
fn finish_interrupted(dir: &Path) -> Result<(), Error> {
    let under_way: UnderWay = fs::read(dir.join(UNDER_WAY))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if !under_way.rewritten.is_empty() && dir.join(store::ADJUST_STATE).exists() {
        let mut state = AdjustState::load(dir)?;
        for name in &under_way.rewritten {
            state.symbols.remove(name);
            state.waiting.insert(name.clone());
        }
        let path = dir.join(store::ADJUST_STATE);
        tickerlake::atomic::write_atomic(&path, &state.to_json()?)
            .map_err(|e| write_err(&path, e))?;
    }
    let calendar = store::read_calendar(dir)?;
    let features = dir.join("features");
    let dirs: Vec<PathBuf> = match fs::read_dir(&features) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(read_err(&features, e)),
    };
    dirs.par_iter().try_for_each(|d| -> Result<(), Error> {
        let Ok(entries) = fs::read_dir(d) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "bin") {
                continue;
            }
            if let Some(s) = StoredFile::open(&path, calendar.len())? {
                if s.start >= calendar.len() {
                    // A new symbol's or field's file, all of it past the calendar.
                    drop(s);
                    fs::remove_file(&path).map_err(|e| write_err(&path, e))?;
                    continue;
                }
                let end = 4 + 4 * s.len as u64;
                let size = s.file.metadata().map_err(|e| read_err(&path, e))?.len();
                if size > end {
                    drop(s);
                    OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .and_then(|f| f.set_len(end))
                        .map_err(|e| write_err(&path, e))?;
                }
            }
        }
        Ok(())
    })?;
    let temp_dir = dir.join(TEMP_DIR);
    if temp_dir.exists() {
        fs::remove_dir_all(&temp_dir).map_err(|e| write_err(&temp_dir, e))?;
    }
    // The temporary files of the atomic replacements it was killed in (`.day.txt.XXXX.tmp`);
    // the lock says no other run is writing them.
    for sub in ["calendars", "instruments", ".tickerlake"] {
        let Ok(entries) = fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let path = entry.path();
                fs::remove_file(&path).map_err(|e| write_err(&path, e))?;
            }
        }
    }
    store::sync_tree_of(dir)?;
    tracing::info!("cut the feature files back to the calendar after an interrupted update");
    remove_marker(dir)
}

fn remove_marker(dir: &Path) -> Result<(), Error> {
    let marker = dir.join(UNDER_WAY);
    match fs::remove_file(&marker) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(write_err(&marker, e)),
    }
    let temp_dir = dir.join(TEMP_DIR);
    let _ = fs::remove_dir(&temp_dir);
    tickerlake::atomic::sync_dir(&dir.join(".tickerlake")).map_err(|e| write_err(dir, e))
}

/// `all.txt` after the update: known symbols' spans widened, new symbols added.
fn instrument_lines(
    calendar: &[i32],
    before: &[(String, i32, i32)],
    named: &[(String, Instrument)],
    outcomes: &[Outcome],
) -> (Vec<(String, i32, i32)>, u64) {
    let spans: HashMap<&str, (usize, usize, bool)> = named
        .iter()
        .zip(outcomes)
        .filter_map(|((n, _), o)| o.span.map(|(a, b)| (n.as_str(), (a, b, o.rewritten))))
        .collect();
    let known: BTreeSet<&str> = before.iter().map(|(n, _, _)| n.as_str()).collect();
    let mut lines: Vec<(String, i32, i32)> = before
        .iter()
        .map(|(n, a, b)| match spans.get(n.as_str()) {
            Some(&(x, y, _)) => (n.clone(), (*a).min(calendar[x]), (*b).max(calendar[y])),
            None => (n.clone(), *a, *b),
        })
        .collect();
    let mut new_symbols = 0u64;
    for (n, _) in named {
        if !known.contains(n.as_str())
            && let Some(&(x, y, _)) = spans.get(n.as_str())
        {
            lines.push((n.clone(), calendar[x], calendar[y]));
            new_symbols += 1;
        }
    }
    (lines, new_symbols)
}

/// Rows that differ from the store and were not applied.
fn warn_changed(named: &[(String, Instrument)], outcomes: &[Outcome]) {
    let left: u64 = outcomes
        .iter()
        .filter(|o| !o.rewritten)
        .map(|o| o.changed_rows)
        .sum();
    if left == 0 {
        return;
    }
    let examples: Vec<String> = named
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| !o.rewritten)
        .flat_map(|((n, _), o)| {
            o.changed.iter().map(move |(d, f, old, new)| {
                format!("{n} {} {f}: stored {old}, given {new}", day_text(*d))
            })
        })
        .take(5)
        .collect();
    tracing::warn!(
        rows = left,
        "{left} row(s) dated inside their symbol's stored range differ from the store and were \
         not applied ({}); --rewrite-changed rewrites those symbols whole",
        examples.join("; ")
    );
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(unix)]
fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

#[cfg(not(unix))]
fn write_at(mut file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(buf)
}

fn read_err(path: &Path, source: io::Error) -> Error {
    Error::Lib(tickerlake::Error::Open {
        path: path.display().to_string(),
        source,
    })
}

fn write_err(path: &Path, source: io::Error) -> Error {
    Error::Lib(tickerlake::Error::Write {
        name: path.display().to_string(),
        source,
    })
}
