//! Everything the views show, read once from the data directory.
//!
//! Only the newest `status.history_runs` run records are opened (plus the universe runs of the
//! last `status.universe_months`), so a year of nights costs what the window costs. A file that
//! is missing is "no data yet"; a file that cannot be parsed is logged and treated as missing —
//! the view never fails on what a crashed run left behind. Only a data directory that cannot be
//! read at all is an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use tickerlake::config::Config;
use tickerlake::fetch_state::State;
use tickerlake::runs::{DataDir, IndexLine, RunRecord, Status, Watermark};
use tickerlake::{FetchError, Finding};

/// A universe status change (tickers-filter `--delta`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Transition {
    pub symbol: String,
    /// `none` for a new listing.
    pub from: String,
    pub to: String,
    pub date: String,
    #[serde(default)]
    pub reason: String,
}

/// A run record and where it lives.
#[derive(Debug, Clone)]
pub struct Run {
    pub dir: PathBuf,
    pub record: RunRecord,
}

impl Run {
    pub fn step(&self, name: &str) -> Option<&tickerlake::runs::Step> {
        self.record.steps.iter().find(|s| s.name == name)
    }

    /// Whether the run's fetch asked the provider at all (every symbol up to date: it did not,
    /// and its latency says nothing).
    pub fn made_requests(&self) -> bool {
        self.step("fetch").is_some_and(|s| {
            s.counts.get("ok").copied().unwrap_or(0) + s.counts.get("failed").copied().unwrap_or(0)
                > 0
        })
    }

    /// Whether the step ran to a result: it left its summary (a QA that failed the gate with
    /// critical findings did; one that crashed, or was skipped, did not). Its files are then
    /// this run's word.
    pub fn ran(&self, name: &str) -> bool {
        self.step(name)
            .is_some_and(|s| s.status != Status::Skipped && !s.counts.is_empty())
    }
}

/// The data directory as the views see it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub data: DataDir,
    /// Every line of `runs/index.ndjson`, oldest first.
    pub index: Vec<IndexLine>,
    pub unreadable_lines: usize,
    /// The newest `status.history_runs` run records, oldest first.
    pub history: Vec<Run>,
    /// Universe runs of the last `status.universe_months` months, oldest first.
    pub universe_runs: Vec<Run>,
    pub watermarks: BTreeMap<String, Watermark>,
    pub fetch_state: Option<State>,
    /// The newest run whose QA ran, and its findings (in the file's order).
    pub qa: Option<(usize, Vec<Finding>)>,
    /// The newest run whose fetch ran, and its dead-letter records.
    pub fetch: Option<(usize, Vec<FetchError>)>,
    /// Status changes dated in the 30 days before the as-of date.
    pub changes_30d: Option<Vec<Transition>>,
    /// The newest index line's run directory, when its record cannot be read.
    pub newest_unreadable: Option<String>,
}

/// Why there is nothing to show: the directory cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {why}")]
pub struct Unreadable {
    pub path: String,
    pub why: String,
}

impl Snapshot {
    pub fn latest(&self) -> Option<&Run> {
        self.history.last()
    }

    /// The trading session the newest run is about.
    pub fn as_of(&self) -> Option<NaiveDate> {
        self.latest()
            .and_then(|r| NaiveDate::parse_from_str(&r.record.as_of, "%Y-%m-%d").ok())
    }

    pub fn qa_run(&self) -> Option<(&Run, &[Finding])> {
        self.qa
            .as_ref()
            .map(|(i, f)| (&self.history[*i], f.as_slice()))
    }

    pub fn fetch_run(&self) -> Option<(&Run, &[FetchError])> {
        self.fetch
            .as_ref()
            .map(|(i, e)| (&self.history[*i], e.as_slice()))
    }
}

pub fn read(data: &Path, config: &Config) -> Result<Snapshot, Unreadable> {
    let unreadable = |why: String| Unreadable {
        path: data.display().to_string(),
        why,
    };
    match std::fs::metadata(data) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(unreadable("not a directory".into())),
        Err(e) => return Err(unreadable(e.to_string())),
    }
    if let Err(e) = std::fs::read_dir(data) {
        return Err(unreadable(e.to_string()));
    }
    let dir = DataDir::new(data);
    let (mut index, unreadable_lines) = dir.read_index().map_err(|e| Unreadable {
        path: dir.index().display().to_string(),
        why: e.to_string(),
    })?;
    // A line whose run directory is not a name under runs/ is not one of ours: not counted.
    index.retain(|l| {
        let ok = plain_name(&l.dir);
        if !ok {
            tracing::warn!(dir = %crate::text::clean(&l.dir), "an index line whose run directory is not a name under runs/: left out");
        }
        ok
    });
    // One line per run (a line written twice counts once: the last), in the order the runs
    // started, whatever order the lines are in.
    let mut seen = std::collections::HashSet::new();
    index.reverse();
    index.retain(|l| seen.insert(l.run_id.clone()));
    index.reverse();
    index.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    let window = config.status.history_runs.max(1) as usize;
    let mut history = Vec::new();
    let mut newest_unreadable = None;
    let first = index.len().saturating_sub(window);
    for (i, line) in index.iter().enumerate().skip(first) {
        match open_run(&dir, &line.dir) {
            Some(run) if run.record.run_id == line.run_id => history.push(run),
            Some(run) => {
                tracing::warn!(
                    dir = %line.dir,
                    index = %line.run_id,
                    record = %run.record.run_id,
                    "a run record whose run id is not its index line's: left out"
                );
                if i + 1 == index.len() {
                    newest_unreadable = Some(line.dir.clone());
                }
            }
            None if i + 1 == index.len() => newest_unreadable = Some(line.dir.clone()),
            None => {}
        }
    }
    // A run that ended after the index was last read (or whose line was torn): latest.json.
    if regular_file(&dir.latest_run())
        && let Ok(latest) = RunRecord::read(&dir.latest_run())
        && !history.iter().any(|r| r.record.run_id == latest.run_id)
        && history
            .last()
            .is_none_or(|r| r.record.started_at <= latest.started_at)
    {
        let name = format!(
            "{}_{}",
            latest.started_at.get(..10).unwrap_or(""),
            latest.run_id
        );
        history.push(Run {
            dir: dir.runs().join(name),
            record: latest,
        });
    }
    // latest.json stood in for the newest line's record: the newest run is shown after all.
    if history
        .last()
        .zip(index.last())
        .is_some_and(|(r, l)| r.record.run_id == l.run_id)
    {
        newest_unreadable = None;
    }
    let as_of = history
        .last()
        .and_then(|r| NaiveDate::parse_from_str(&r.record.as_of, "%Y-%m-%d").ok());
    let months = i64::from(config.status.universe_months.max(1));
    // The universe runs of the window: monthly by schedule; a few more a month are read, no
    // more (an index of a thousand reruns must not cost a thousand records).
    let universe_runs: Vec<Run> = match as_of {
        Some(day) => {
            let since = day - Duration::days(months * 31);
            let mut runs: Vec<Run> = index
                .iter()
                .rev()
                .filter(|l| l.steps.iter().any(|s| s.name == "filter"))
                .filter(|l| {
                    NaiveDate::parse_from_str(&l.as_of, "%Y-%m-%d").is_ok_and(|d| d >= since)
                })
                .take(months as usize * 5)
                // A universe run of the history window is read already.
                .filter_map(
                    |l| match history.iter().find(|r| r.record.run_id == l.run_id) {
                        Some(r) => Some(r.clone()),
                        None => open_run(&dir, &l.dir),
                    },
                )
                .collect();
            runs.reverse();
            runs
        }
        None => Vec::new(),
    };
    let changes_30d =
        as_of.and_then(|day| changes_since(&universe_runs, day - Duration::days(30), day));
    let qa = history
        .iter()
        .rposition(|r| r.ran("qa"))
        .map(|i| (i, read_ndjson(&history[i].dir.join("qa.findings.ndjson"))));
    let fetch = history
        .iter()
        .rposition(|r| r.ran("fetch"))
        .map(|i| (i, read_ndjson(&history[i].dir.join("fetch.errors.ndjson"))));
    let fetch_state = if regular_file(&dir.fetch_state()) {
        match State::load(&dir.fetch_state()) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "the fetch state cannot be read: timeliness shows no data");
                None
            }
        }
    } else {
        None
    };
    Ok(Snapshot {
        newest_unreadable,
        watermarks: dir.stored_watermarks(),
        data: dir,
        index,
        unreadable_lines,
        history,
        universe_runs,
        fetch_state,
        qa,
        fetch,
        changes_30d,
    })
}

/// Whether `path` is a regular file (after links): a FIFO or a device is never opened.
pub fn regular_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// Whether `name` is one plain name (no `/`, no `.` or `..`, not absolute).
fn plain_name(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    !name.contains('/')
        && matches!(
            (parts.next(), parts.next()),
            (Some(std::path::Component::Normal(_)), None)
        )
}

fn open_run(dir: &DataDir, name: &str) -> Option<Run> {
    // A run directory is a name under runs/, never a path that leads elsewhere.
    if !plain_name(name) {
        return None;
    }
    let path = dir.runs().join(name);
    let meta = path.join("metadata.json");
    if !regular_file(&meta) {
        tracing::warn!(file = %crate::text::clean(&meta.display().to_string()), "a run record that is not a file: left out");
        return None;
    }
    match RunRecord::read(&meta) {
        Ok(record) => Some(Run { dir: path, record }),
        Err(e) => {
            tracing::warn!(error = %crate::text::clean(&e.to_string()), "a run record that cannot be read: left out");
            None
        }
    }
}

/// The transitions dated after `since` up to `until` (none when no universe run recorded its
/// changes at all: unknown, not zero).
fn changes_since(runs: &[Run], since: NaiveDate, until: NaiveDate) -> Option<Vec<Transition>> {
    let mut any = false;
    let mut out = Vec::new();
    for run in runs {
        let file = run.dir.join("universe.delta.ndjson");
        if run
            .record
            .universe
            .as_ref()
            .and_then(|u| u.changes.as_ref())
            .is_some()
            || file.is_file()
        {
            any = true;
        }
        let day = NaiveDate::parse_from_str(&run.record.as_of, "%Y-%m-%d").ok();
        if day.is_some_and(|d| d > since) {
            out.extend(read_ndjson::<Transition>(&file).into_iter().filter(|t| {
                NaiveDate::parse_from_str(&t.date, "%Y-%m-%d")
                    .is_ok_and(|d| d > since && d <= until)
            }));
        }
    }
    any.then_some(out)
}

/// The records of an NDJSON file; lines that are not records are logged and skipped (a run's
/// files are the pipeline's own, so a bad line is damage, not input to refuse).
pub fn read_ndjson<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    if !regular_file(path) {
        if path.exists() {
            tracing::warn!(file = %path.display(), "not a regular file: left out");
        }
        return Vec::new();
    }
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    // The library's reader: a line over its cap is a bad line, not an out-of-memory.
    let name = path.display().to_string();
    let mut reader = tickerlake::ndjson::NdjsonReader::new(std::io::BufReader::new(file), name);
    let mut out = Vec::new();
    let mut bad = 0usize;
    while let Some(line) = reader.next_line() {
        match line {
            Ok(line) => match serde_json::from_slice(line) {
                Ok(v) => out.push(v),
                Err(_) => bad += 1,
            },
            Err(tickerlake::ndjson::ReadError::Io(_)) => {
                bad += 1;
                break;
            }
            Err(_) => bad += 1,
        }
    }
    if bad > 0 {
        tracing::warn!(file = %path.display(), lines = bad, "lines that cannot be read: left out");
    }
    out
}
