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
//! so values past the calendar's end are invisible. Every symbol is planned (its files opened
//! and checked) before anything is written, so a damaged store is refused with nothing written
//! and no marker. Then a marker file goes up; new days are appended in place past the old
//! calendar's end (a few bytes written instead of a copy of the file); new files are written beside and
//! renamed in, rewritten symbols' directories swapped in whole; one flush; then the calendar,
//! `all.txt`, the adjustment state and the watermark, each replaced atomically; the marker
//! comes down. A run that finds the marker cuts every file back to the calendar before it
//! starts, so what a killed run wrote past it is gone, and a second update with the same input
//! completes the first.
//!
//! - `stored`: a feature file as the committed calendar sees it, read and appended in place;
//! - `plan`: one symbol's update against the store (appends, comparisons, new files);
//! - `restate`: a restated symbol rewritten from a history that covers it, or left waiting;
//! - `commit`: the marker, whole files and symbol directories swapped in, recovery after a kill.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::Path;
use std::time::Instant;

use rayon::prelude::*;
use tickerlake::config::Config;

use crate::adjust;
use crate::cli::Adjust;
use crate::input::{Instrument, Shape};
use crate::options::UpdateOptions;
use crate::store::{self, AdjustState, Watermark};
use crate::{Error, Summary, day_text};

mod commit;
mod plan;
mod restate;
mod stored;

use commit::{finish_interrupted, remove_marker, write_features};
use plan::{Context, Outcome, plan};
use restate::rewrite_restated;

/// Present while an update is under way (see the module notes).
pub(super) const UNDER_WAY: &str = ".tickerlake/update-under-way";
/// Whole files are written here, then renamed into `features/`.
pub(super) const TEMP_DIR: &str = ".tickerlake/tmp";

pub fn update(args: &UpdateOptions, config: &Config) -> Result<Summary, Error> {
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
    let spans = store_spans(&old_calendar, &instruments_before)?;
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
        spans: &spans,
        adjust,
        rewrite_changed: args.rewrite_changed,
    };
    // Planning reads and checks; it writes nothing. A damaged feature file is refused before
    // the marker goes up (with write_features): a marker would make the next run take the
    // damage for a killed run's leftovers and cut files to the calendar.
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

/// Each instrument's `all.txt` span as calendar positions; a span that is not on the calendar
/// (an emptied or cut calendar) is a damaged store, refused before anything is written.
fn store_spans(
    calendar: &[i32],
    instruments: &[(String, i32, i32)],
) -> Result<HashMap<String, (usize, usize)>, Error> {
    let mut out = HashMap::with_capacity(instruments.len());
    for (name, first, last) in instruments {
        match (calendar.binary_search(first), calendar.binary_search(last)) {
            (Ok(a), Ok(b)) if a <= b => {
                out.insert(name.clone(), (a, b));
            }
            _ => {
                return Err(Error::Data(format!(
                    "instruments/all.txt: {name} spans {} to {}, days calendars/day.txt ({} \
                     days) does not hold: the store is damaged; a full export (qlib-bin all \
                     --force) rebuilds it",
                    day_text(*first),
                    day_text(*last),
                    calendar.len()
                )));
            }
        }
    }
    Ok(out)
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

pub(super) fn read_err(path: &Path, source: io::Error) -> Error {
    Error::Lib(tickerlake::Error::Open {
        path: path.display().to_string(),
        source,
    })
}

pub(super) fn write_err(path: &Path, source: io::Error) -> Error {
    Error::Lib(tickerlake::Error::Write {
        name: path.display().to_string(),
        source,
    })
}

/// In-process table tests of the update's planning and recovery: a store written by `all`,
/// then one update per case, its summary and files checked.
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::path::{Path, PathBuf};

    use super::*;
    use crate::cli::{CalendarArg, InputFormat, NaTickers, SymbolStyle};
    use crate::options::{AllOptions, InputOptions, UpdateOptions};

    /// NDJSON of `symbol`'s bars on 2024-01-`days`, close = day.
    fn bars(symbol: &str, days: &[u32], volume: i64) -> String {
        days.iter()
            .map(|d| {
                format!(
                    "{{\"symbol\":\"{symbol}\",\"date\":\"2024-01-{d:02}\",\"open\":{d},\"high\":{d},\
                     \"low\":{d},\"close\":{d},\"adj_close\":{d},\"volume\":{volume},\
                     \"provider\":\"yahoo\",\"source_ts\":null}}\n"
                )
            })
            .collect()
    }

    fn input(file: PathBuf, store: &Path, adjust: Adjust) -> InputOptions {
        InputOptions {
            inputs: vec![file],
            lake: None,
            input_format: InputFormat::Ndjson,
            filter: lake::ScanFilter::default(),
            fields: vec!["close".into(), "volume".into(), "factor".into()],
            adjust: Some(adjust),
            symbol_style: SymbolStyle::Canonical,
            na_tickers: NaTickers::Refuse,
            output: store.to_path_buf(),
            summary: None,
        }
    }

    fn closes(store: &Path, symbol: &str) -> Vec<f32> {
        let bytes = std::fs::read(store.join(format!("features/{symbol}/close.day.bin"))).unwrap();
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    struct Case {
        name: &'static str,
        adjust: Adjust,
        rewrite_changed: bool,
        /// The update's input (the store holds AAA on 2024-01-02..05 at close = day).
        update: String,
        /// Values written (rows x the three fields).
        appended: u64,
        changed_rows: u64,
        waiting: u64,
        /// AAA's close file after the update: start index, then values (NaN as None).
        after: Vec<Option<f32>>,
    }

    #[test]
    fn planning_a_table_of_updates() {
        let n = |v: f32| Some(v);
        let cases = vec![
            Case {
                name: "new days append at their positions",
                adjust: Adjust::None,
                rewrite_changed: false,
                update: bars("AAA", &[8, 9], 100),
                appended: 6,
                changed_rows: 0,
                waiting: 0,
                after: vec![n(0.0), n(2.0), n(3.0), n(4.0), n(5.0), n(8.0), n(9.0)],
            },
            Case {
                name: "the look-back days equal to the store change nothing",
                adjust: Adjust::None,
                rewrite_changed: false,
                update: bars("AAA", &[4, 5, 8], 100),
                appended: 3,
                changed_rows: 0,
                waiting: 0,
                after: vec![n(0.0), n(2.0), n(3.0), n(4.0), n(5.0), n(8.0)],
            },
            Case {
                name: "a changed day is reported, not applied",
                adjust: Adjust::None,
                rewrite_changed: false,
                update: bars("AAA", &[5], 100).replace("\"close\":5", "\"close\":7"),
                appended: 0,
                changed_rows: 1,
                waiting: 0,
                after: vec![n(0.0), n(2.0), n(3.0), n(4.0), n(5.0)],
            },
            Case {
                name: "with --rewrite-changed it is applied, nulls keep stored values",
                adjust: Adjust::None,
                rewrite_changed: true,
                update: bars("AAA", &[4, 5], 100)
                    .replace("\"close\":5", "\"close\":7")
                    .replace("\"close\":4", "\"close\":null"),
                appended: 6,
                changed_rows: 2,
                waiting: 0,
                after: vec![n(0.0), n(2.0), n(3.0), n(4.0), n(7.0)],
            },
            Case {
                name: "a restated price without the whole history waits",
                adjust: Adjust::Qlib,
                rewrite_changed: false,
                update: bars("AAA", &[5, 8], 100).replace("\"adj_close\":5", "\"adj_close\":4"),
                appended: 0,
                changed_rows: 0,
                waiting: 1,
                after: vec![n(0.0), n(1.0), n(1.5), n(2.0), n(2.5)],
            },
        ];
        for case in cases {
            let dir = tempfile::tempdir().unwrap();
            let store = dir.path().join("q");
            let hist = dir.path().join("hist.ndjson");
            std::fs::write(&hist, bars("AAA", &[2, 3, 4, 5], 100)).unwrap();
            let all = AllOptions {
                input: input(hist, &store, case.adjust),
                force: false,
                allow_shrink: false,
                calendar: CalendarArg::Union,
            };
            crate::all(&all, &Config::default()).unwrap();
            let file = dir.path().join("update.ndjson");
            std::fs::write(&file, &case.update).unwrap();
            let opts = UpdateOptions {
                input: input(file, &store, case.adjust),
                since_watermark: false,
                rewrite_changed: case.rewrite_changed,
            };
            let s = update(&opts, &Config::default()).unwrap();
            assert_eq!(
                (s.values, s.changed_rows, s.waiting_symbols),
                (case.appended, case.changed_rows, case.waiting),
                "{}",
                case.name
            );
            let got: Vec<Option<f32>> = closes(&store, "aaa")
                .into_iter()
                .map(|v| (!v.is_nan()).then_some(v))
                .collect();
            assert_eq!(got, case.after, "{}", case.name);
        }
    }

    #[test]
    fn recovery_cuts_what_a_killed_update_wrote_past_the_calendar() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("q");
        let hist = dir.path().join("hist.ndjson");
        std::fs::write(&hist, bars("AAA", &[2, 3, 4], 100)).unwrap();
        let all = AllOptions {
            input: input(hist, &store, Adjust::None),
            force: false,
            allow_shrink: false,
            calendar: CalendarArg::Union,
        };
        crate::all(&all, &Config::default()).unwrap();
        let before = closes(&store, "aaa");
        // A killed update: its marker up, values appended past the calendar, nothing else.
        commit::mark_under_way(&store, &commit::UnderWay::default()).unwrap();
        let path = store.join("features/aaa/close.day.bin");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&99f32.to_le_bytes());
        std::fs::write(&path, bytes).unwrap();
        commit::finish_interrupted(&store).unwrap();
        assert_eq!(closes(&store, "aaa"), before);
        assert!(!store.join(UNDER_WAY).exists() || store.join(UNDER_WAY).is_file());
    }
}
