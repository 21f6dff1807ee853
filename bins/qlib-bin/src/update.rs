//! `qlib-bin update`: what Qlib's `dump_update` means, not what it does.
//!
//! The calendar grows by the input dates after its last date. Each symbol's new values land at
//! their calendar positions, with NaN from the symbol's stored last position up to each new one
//! (a stale symbol, or a day missing from one symbol's batch, stays aligned; dump_update appends
//! values back to back and shifts them). A new symbol or a new field starts at its true
//! position. Rows dated inside a symbol's stored range are compared with the store: identical
//! ones (a fetch's lookback days) are fine, different ones are reported, or with
//! `--rewrite-changed` the symbol's files are rewritten whole — never dropped in silence, never
//! appended twice.
//!
//! Safety: new feature files are written beside the old ones, flushed, and renamed in; then the
//! calendar, then `all.txt`, then the watermark, each replaced atomically. Readers clip to the
//! calendar, so until the calendar is replaced they see the old store; after a crash, a second
//! `update` with the same input finds the values already in place and completes the rest.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use tickerlake::config::Config;

use crate::cli::UpdateArgs;
use crate::input::Instrument;
use crate::store::{self, Watermark};
use crate::{Error, Summary, day_text};

/// What one symbol's update writes and found.
#[derive(Debug, Default)]
struct Outcome {
    /// (final path, bytes).
    files: Vec<(PathBuf, Vec<u8>)>,
    /// Calendar positions of the first and last stored value after the update.
    span: Option<(usize, usize)>,
    appended: u64,
    /// Dates whose values differ from the store: (date, field, stored, given), first few.
    changed: Vec<(i32, String, f32, f32)>,
    changed_rows: u64,
    rewritten: bool,
}

fn same(a: f32, b: f32) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

/// The update of one instrument against the store in `dir`, on the new calendar.
fn plan(
    dir: &Path,
    name: &str,
    inst: &Instrument,
    fields: &[String],
    calendar: &[i32],
    rewrite: bool,
) -> Result<Outcome, Error> {
    let feature_dir = dir.join("features").join(store::feature_dir(name));
    // Input rows as calendar positions (dates off the calendar were refused before).
    let idx: Vec<usize> = inst
        .dates
        .iter()
        .filter_map(|d| calendar.binary_search(d).ok())
        .collect();
    let mut out = Outcome::default();
    let mut stored_fields = Vec::with_capacity(fields.len());
    let mut changed_dates: BTreeSet<usize> = BTreeSet::new();
    for (f, field) in fields.iter().enumerate() {
        let path = feature_dir.join(format!("{field}.day.bin"));
        let stored = store::read_bin(&path)?;
        if let Some((start, vals)) = &stored {
            for (k, &i) in idx.iter().enumerate() {
                let v = inst.values[f][k];
                let old = if i >= *start {
                    vals.get(i - start).copied()
                } else {
                    None
                };
                let inside = i < start + vals.len();
                if inside && !old.is_some_and(|o| same(o, v)) {
                    changed_dates.insert(i);
                    if out.changed.len() < 5 {
                        out.changed
                            .push((calendar[i], field.clone(), old.unwrap_or(f32::NAN), v));
                    }
                }
            }
        }
        stored_fields.push((path, stored));
    }
    out.changed_rows = changed_dates.len() as u64;
    out.rewritten = rewrite && !changed_dates.is_empty();
    for (f, (path, stored)) in stored_fields.into_iter().enumerate() {
        let given = &inst.values[f];
        let (start, values) = match stored {
            // Rewrite: the stored values and every given one, over both ranges.
            Some((start, vals)) if out.rewritten => {
                let lo = idx.first().map_or(start, |&i| i.min(start));
                let hi = idx
                    .last()
                    .map_or(start + vals.len(), |&i| (i + 1).max(start + vals.len()));
                let mut merged = vec![f32::NAN; hi - lo];
                merged[start - lo..start - lo + vals.len()].copy_from_slice(&vals);
                for (k, &i) in idx.iter().enumerate() {
                    merged[i - lo] = given[k];
                }
                out.appended += idx.len() as u64;
                (lo, merged)
            }
            // Append: NaN from the stored end up to each new row's position.
            Some((start, mut vals)) => {
                let before = vals.len();
                for (k, &i) in idx.iter().enumerate() {
                    if i >= start + vals.len() {
                        vals.resize(i - start, f32::NAN);
                        vals.push(given[k]);
                        out.appended += 1;
                    }
                }
                if vals.len() == before {
                    record_span(&mut out, start, before);
                    continue;
                }
                (start, vals)
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
                out.appended += idx.len() as u64;
                (lo, vals)
            }
        };
        record_span(&mut out, start, values.len());
        out.files.push((path, store::bin_from(start, &values)));
    }
    Ok(out)
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
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not a Qlib store (run qlib-bin all first)",
            ),
        }));
    }
    let old_calendar = store::read_calendar(dir)?;
    let instruments_before = store::read_instruments(dir)?;
    let watermark = Watermark::load(dir)?;
    let from = match (&watermark, args.since_watermark) {
        (Some(w), true) => w
            .last_date
            .as_deref()
            .and_then(|d| tickerlake::records::date_format::parse(d).ok())
            .and_then(|d| d.succ_opt()),
        (None, true) => {
            return Err(Error::Usage(format!(
                "{}: no watermark ({}): run without --since-watermark",
                dir.display(),
                store::WATERMARK
            )));
        }
        _ => None,
    };
    let (fields, instruments) = crate::read_input(&args.input, config, from)?;
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
    let off: Vec<String> = named
        .iter()
        .flat_map(|(n, i)| {
            i.dates
                .iter()
                .filter(|d| **d <= last && old_calendar.binary_search(d).is_err())
                .map(move |d| format!("{n} {}", day_text(*d)))
        })
        .take(5)
        .collect();
    if !off.is_empty() {
        return Err(Error::Data(format!(
            "rows dated inside the store's calendar on days it does not have ({}): a full \
             export (qlib-bin all --force) rebuilds the calendar",
            off.join(", ")
        )));
    }
    let mut calendar = old_calendar.clone();
    calendar.extend_from_slice(&new_days);

    let outcomes: Vec<Outcome> = named
        .par_iter()
        .map(|(name, inst)| plan(dir, name, inst, &fields, &calendar, args.rewrite_changed))
        .collect::<Result<_, _>>()?;

    // Feature files: written beside, flushed, renamed in.
    let suffix = format!(".tmp-{}", std::process::id());
    let tmp_of = |p: &Path| {
        let mut s = p.as_os_str().to_owned();
        s.push(&suffix);
        PathBuf::from(s)
    };
    let files: Vec<&(PathBuf, Vec<u8>)> = outcomes.iter().flat_map(|o| &o.files).collect();
    // Each directory once: a new symbol's is made; a known one loses the temporary files of an
    // update that was killed before it renamed them.
    let dirs: Vec<&Path> = files
        .iter()
        .filter_map(|(p, _)| p.parent())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    dirs.par_iter().try_for_each(|d| {
        if d.is_dir() {
            remove_stale_temps(d)
        } else {
            fs::create_dir_all(d).map_err(|e| write_err(d, e))
        }
    })?;
    let written = files.par_iter().try_for_each(|(path, bytes)| {
        let tmp = tmp_of(path);
        fs::write(&tmp, bytes).map_err(|e| write_err(&tmp, e))
    });
    let flushed = written.and_then(|()| store::sync_tree_of(dir));
    if let Err(e) = flushed {
        for (path, _) in &files {
            let _ = fs::remove_file(tmp_of(path));
        }
        return Err(e);
    }
    files
        .par_iter()
        .try_for_each(|(path, _)| fs::rename(tmp_of(path), path).map_err(|e| write_err(path, e)))?;
    // The renames are durable before the calendar moves: one flush, not a sync per directory.
    if !files.is_empty() {
        store::sync_tree_of(dir)?;
    }

    // Then the calendar, then all.txt, then the watermark.
    if !new_days.is_empty() {
        let path = dir.join("calendars/day.txt");
        tickerlake::atomic::write_atomic(&path, store::calendar_text(&calendar).as_bytes())
            .map_err(|e| write_err(&path, e))?;
    }
    let spans: HashMap<&str, (usize, usize)> = named
        .iter()
        .zip(&outcomes)
        .filter_map(|((n, _), o)| o.span.map(|s| (n.as_str(), s)))
        .collect();
    let known: BTreeSet<&str> = instruments_before
        .iter()
        .map(|(n, _, _)| n.as_str())
        .collect();
    let mut lines: Vec<(String, i32, i32)> = instruments_before
        .iter()
        .map(|(n, a, b)| match spans.get(n.as_str()) {
            Some(&(x, y)) => (n.clone(), (*a).min(calendar[x]), (*b).max(calendar[y])),
            None => (n.clone(), *a, *b),
        })
        .collect();
    let mut new_symbols = 0u64;
    for (n, _) in &named {
        if !known.contains(n.as_str())
            && let Some(&(x, y)) = spans.get(n.as_str())
        {
            lines.push((n.clone(), calendar[x], calendar[y]));
            new_symbols += 1;
        }
    }
    let path = dir.join("instruments/all.txt");
    tickerlake::atomic::write_atomic(&path, store::instruments_text(&lines).as_bytes())
        .map_err(|e| write_err(&path, e))?;
    let mut all_fields = watermark.map(|w| w.fields).unwrap_or_default();
    for f in &fields {
        if !all_fields.contains(f) {
            all_fields.push(f.clone());
        }
    }
    let mark = Watermark::of(&calendar, lines.len(), &all_fields, &args.input);
    let path = dir.join(store::WATERMARK);
    if let Some(p) = path.parent() {
        fs::create_dir_all(p).map_err(|e| write_err(p, e))?;
    }
    tickerlake::atomic::write_atomic(&path, &mark.to_json()?).map_err(|e| write_err(&path, e))?;

    let changed_rows: u64 = outcomes.iter().map(|o| o.changed_rows).sum();
    let rewritten = outcomes.iter().filter(|o| o.rewritten).count() as u64;
    if changed_rows > rewritten_rows(&outcomes) {
        let examples: Vec<String> = named
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| !o.rewritten)
            .flat_map(|((n, _), o)| {
                o.changed.iter().map(move |(d, f, old, new)| {
                    format!("{n} {} {f}: stored {old}, given {new}", day_text(*d))
                })
            })
            .take(5)
            .collect();
        tracing::warn!(
            rows = changed_rows - rewritten_rows(&outcomes),
            "{} row(s) dated inside their symbol's stored range differ from the store and were \
             not applied ({}); --rewrite-changed rewrites those symbols whole",
            changed_rows - rewritten_rows(&outcomes),
            examples.join("; ")
        );
    }
    Ok(Summary {
        symbols: outcomes.iter().filter(|o| !o.files.is_empty()).count() as u64,
        new_symbols,
        fields,
        values: outcomes.iter().map(|o| o.appended).sum(),
        calendar_days: calendar.len() as u64,
        new_days: new_days.len() as u64,
        files: files.len() as u64,
        changed_rows,
        rewritten_symbols: rewritten,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Removes `*.bin.tmp-PID` files in `dir` (an interrupted update's; ours do not exist yet).
fn remove_stale_temps(dir: &Path) -> Result<(), Error> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(write_err(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| write_err(dir, e))?;
        if entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.contains(".bin.tmp-"))
        {
            let p = entry.path();
            fs::remove_file(&p).map_err(|e| write_err(&p, e))?;
        }
    }
    Ok(())
}

fn rewritten_rows(outcomes: &[Outcome]) -> u64 {
    outcomes
        .iter()
        .filter(|o| o.rewritten)
        .map(|o| o.changed_rows)
        .sum()
}

fn write_err(path: &Path, source: std::io::Error) -> Error {
    Error::Lib(tickerlake::Error::Write {
        name: path.display().to_string(),
        source,
    })
}
