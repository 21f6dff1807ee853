//! `--adjust qlib`: a symbol whose adjusted history moved is rewritten whole from a history that
//! covers every stored value — the input's or the lake's — or else waits; nothing is chained
//! onto stale values, and nothing stored is shortened or erased.

use std::collections::HashMap;
use std::fs;
use std::io;

use rayon::prelude::*;
use tickerlake::config::Config;

use crate::input::{Instrument, Shape};
use crate::options::UpdateOptions;
use crate::store;
use crate::{Error, day_text};

use super::plan::{Context, Outcome, Write, plan_history};
use super::read_err;
use super::stored::StoredFile;

/// `--adjust qlib`: the symbols whose adjusted history moved are planned again from their whole
/// history — the input's when it reaches back to the symbol's first stored day, else the
/// lake's. Without either, a symbol is left as it was and waits (nothing is chain-linked onto
/// it) until an update brings its whole history.
pub(super) fn rewrite_restated(
    args: &UpdateOptions,
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
            let Some(stored) = StoredFile::open(&path, cx.committed, cx.spans.get(name).copied())?
            else {
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
        let Some(stored) = StoredFile::open(&path, cx.committed, cx.spans.get(name).copied())?
        else {
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
