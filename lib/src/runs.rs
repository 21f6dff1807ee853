//! The pipeline's data directory and its run records, written by `run-record` and read by
//! `lake-status`.
//!
//! ```text
//! DATA/.tickerlake-data.json     the marker: this directory is a pipeline's
//! DATA/lake/                     the Parquet lake (to-parquet)
//! DATA/qlib/                     the Qlib store (qlib-bin)
//! DATA/universe/<date>.ndjson    versioned universes, latest.ndjson -> the newest
//! DATA/training/v<N>_<date>/     versioned training sets
//! DATA/runs/<date>_<run_id>/     one directory per run: metadata.json and the steps' files
//! DATA/runs/index.ndjson         one line per finished run
//! DATA/runs/latest.json          the last finished run's metadata.json
//! DATA/state/                    fetch.json, scrape-status.json, watermarks.json
//! DATA/raw/                      raw downloads (scrapes/<date>/, bars/<date>/), purged after N days
//! DATA/logs/<date>_<run_id>.log  each run's JSON log lines
//! ```
//!
//! The run record, `runs/<date>_<run_id>/metadata.json` (schema `tickerlake.run/1`, JSON Schema in
//! `docs/schemas/run.schema.json`), and the one-line summary of it appended to `runs/index.ndjson`.
//! All times are RFC 3339 UTC with `Z`; dates are ISO. A record is written when the run begins
//! (`status: running`) and rewritten atomically at each step and at the end; a run is complete
//! only when `finished_at` is set.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A run file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: cannot write: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
}

impl Error {
    pub fn read(path: &Path, source: std::io::Error) -> Error {
        Error::Read {
            path: path.display().to_string(),
            source,
        }
    }
    pub fn write(path: &Path, source: std::io::Error) -> Error {
        Error::Write {
            path: path.display().to_string(),
            source,
        }
    }
}

/// The marker file's name.
pub const MARKER: &str = ".tickerlake-data.json";

/// The paths of one data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn lake(&self) -> PathBuf {
        self.root.join("lake")
    }
    pub fn qlib(&self) -> PathBuf {
        self.root.join("qlib")
    }
    pub fn universe_dir(&self) -> PathBuf {
        self.root.join("universe")
    }
    /// The newest universe (a symbolic link to `<date>.ndjson`).
    pub fn universe_latest(&self) -> PathBuf {
        self.universe_dir().join("latest.ndjson")
    }
    pub fn training_dir(&self) -> PathBuf {
        self.root.join("training")
    }
    pub fn runs(&self) -> PathBuf {
        self.root.join("runs")
    }
    pub fn index(&self) -> PathBuf {
        self.runs().join("index.ndjson")
    }
    pub fn latest_run(&self) -> PathBuf {
        self.runs().join("latest.json")
    }
    pub fn state(&self) -> PathBuf {
        self.root.join("state")
    }
    pub fn watermarks(&self) -> PathBuf {
        self.state().join("watermarks.json")
    }
    pub fn fetch_state(&self) -> PathBuf {
        self.state().join("fetch.json")
    }
    pub fn raw(&self) -> PathBuf {
        self.root.join("raw")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// `path` relative to the data directory when it lies inside it.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// Whether the directory carries the marker.
    pub fn is_ours(&self) -> bool {
        self.root.join(MARKER).is_file()
    }

    /// The run directories' names (`<date>_<run_id>`), oldest first.
    pub fn run_dirs(&self) -> Result<Vec<String>, Error> {
        let runs = self.runs();
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&runs) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::read(&runs, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::read(&runs, e))?;
            if entry.path().join("metadata.json").is_file()
                && let Some(name) = entry.file_name().to_str()
            {
                out.push(name.to_string());
            }
        }
        out.sort();
        Ok(out)
    }

    /// `runs/index.ndjson`, oldest first, and how many lines could not be read (a line torn by
    /// a crash spoils itself, never the rest). No index yet: no lines.
    pub fn read_index(&self) -> Result<(Vec<IndexLine>, usize), Error> {
        let path = self.index();
        // A FIFO or a device in its place would hang or flood the reader.
        if std::fs::metadata(&path).is_ok_and(|m| !m.is_file()) {
            return Err(Error::read(
                &path,
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
            ));
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
            Err(e) => return Err(Error::read(&path, e)),
        };
        let mut lines = Vec::new();
        let mut unreadable = 0;
        for (n, line) in String::from_utf8_lossy(&bytes).lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<IndexLine>(line) {
                Ok(l) => lines.push(l),
                Err(e) => {
                    unreadable += 1;
                    tracing::warn!(file = %path.display(), line = n + 1, error = %e, "an index line that cannot be read: skipped");
                }
            }
        }
        Ok((lines, unreadable))
    }

    /// `state/watermarks.json`'s datasets (none when it is missing or unreadable).
    pub fn stored_watermarks(&self) -> BTreeMap<String, Watermark> {
        let path = self.watermarks();
        if std::fs::metadata(&path).is_ok_and(|m| !m.is_file()) {
            tracing::warn!(file = %path.display(), "not a regular file: no watermarks shown");
            return BTreeMap::new();
        }
        let Ok(bytes) = std::fs::read(&path) else {
            return BTreeMap::new();
        };
        match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(v) => match serde_json::from_value(v["datasets"].clone()) {
                Ok(d) => d,
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "watermarks of another shape: none shown");
                    BTreeMap::new()
                }
            },
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "watermarks that are not JSON: none shown");
                BTreeMap::new()
            }
        }
    }
}

/// The schema name every record carries.
pub const SCHEMA: &str = "tickerlake.run/1";

/// How a run or a step went.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Everything asked for was done.
    Ok,
    /// Done, with a partial result the next step can live with (some symbols failed, a
    /// listing source missed, non-critical QA findings).
    Warn,
    /// The step failed and the chain stopped.
    Fail,
    /// Not run, because a step before it failed (or there was nothing to do).
    Skipped,
    /// Begun and not finished (or abandoned: see its log).
    Running,
}

impl Status {
    /// The word with a symbol, readable without colour.
    pub fn badge(self) -> &'static str {
        match self {
            Status::Ok => "✔ ok",
            Status::Warn => "▲ warn",
            Status::Fail => "✖ fail",
            Status::Skipped => "– skipped",
            Status::Running => "… running",
        }
    }
}

/// `runs/<date>_<run_id>/metadata.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "tickerlake run record (tickerlake.run/1)")]
pub struct RunRecord {
    /// Always `tickerlake.run/1`.
    pub schema: String,
    /// `$RUN_ID`, also in every program's JSON log lines and the heartbeat pings.
    pub run_id: String,
    /// `universe`, `nightly`, `training`, `all` or `backup`.
    pub pipeline: String,
    /// `cron` (set `TICKERLAKE_TRIGGER=cron` in the crontab, as `make cron` does) or `manual`.
    pub trigger: String,
    pub tickerlake_version: String,
    pub host: String,
    pub started_at: String,
    /// Set when the run ended; absent while it runs.
    pub finished_at: Option<String>,
    pub seconds: Option<f64>,
    pub status: Status,
    /// The pipeline's exit code; absent while it runs.
    pub exit_code: Option<i32>,
    /// The trading session the run is about (distinct from when it ran).
    pub as_of: String,
    /// The run's JSON log (every program's stderr).
    pub log: String,
    pub steps: Vec<Step>,
    /// The universe the run used or made.
    pub universe: Option<UniverseFacts>,
    /// qa-check's summary of this run, when it ran.
    pub qa: Option<QaFacts>,
    /// The last complete date of each dataset after the run.
    pub watermarks: BTreeMap<String, Watermark>,
    /// What was sent, held back or failed to send.
    pub alerts: Vec<AlertSent>,
    /// The dead man's switch pings (HTTP status; absent when `HC_URL` is not set).
    pub heartbeat: Heartbeat,
    pub config: ConfigSnapshot,
}

/// One step: one program (or a pipe of two).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    /// `scrape`, `filter`, `fetch`, `to-parquet`, `qa`, `qlib`…
    pub name: String,
    /// The command as run (secrets never appear on a command line: they come from the
    /// environment).
    pub argv: Vec<String>,
    pub started_at: String,
    pub finished_at: String,
    pub seconds: f64,
    pub exit_code: i32,
    pub status: Status,
    /// The whole numbers of the program's `--summary` (rows, symbols, failures…).
    pub counts: BTreeMap<String, i64>,
    /// The program's summary file, relative to the data directory.
    pub summary: Option<String>,
    /// Files the step wrote, relative to the data directory, with size and SHA-256.
    pub outputs: Vec<Output>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Output {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// The universe's size by status and market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UniverseFacts {
    /// The universe file's date (`universe/<date>.ndjson`).
    pub version: String,
    pub path: String,
    pub total: u64,
    pub active: u64,
    pub delisted: u64,
    pub archived: u64,
    /// Active listings per market (`us`, `fr`, `de`…).
    pub by_market: BTreeMap<String, u64>,
    /// Status changes the universe step made in this run (`new`, `delisted`, `archived`,
    /// `relisted`), when it ran.
    pub changes: Option<BTreeMap<String, u64>>,
}

/// qa-check's verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QaFacts {
    pub summary: String,
    /// The worst colour of the checks: `green`, `yellow` or `red`.
    pub overall: String,
    pub findings: u64,
    /// Findings at or above `qa.fail_on`.
    pub failing: u64,
    pub checks: BTreeMap<String, QaCheck>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct QaCheck {
    pub severity: String,
    pub findings: u64,
    pub symbols: u64,
    pub share_pct: f64,
    pub colour: String,
}

/// A dataset's last complete date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Watermark {
    /// The newest date the dataset holds (for a universe or a training set: its version date).
    pub date: String,
    /// Symbols in the dataset.
    pub symbols: Option<u64>,
    /// Symbols whose last bar is on `date`.
    pub symbols_at_date: Option<u64>,
    pub path: String,
    /// Bytes the dataset takes on disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

/// One alert message on one channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertSent {
    /// What it is about (`step:fetch:69`, `qa:lag:red`, `digest`).
    pub key: String,
    /// `webhook`, `telegram` or `command`.
    pub channel: String,
    pub sent_at: String,
    /// `sent`, `failed` or `held_back` (over the run's budget: counted in the last message).
    pub outcome: String,
    /// The HTTP status of the last attempt (or the command's exit code).
    pub status: Option<i64>,
    pub attempts: u32,
    /// Why a send failed (never a secret).
    pub error: Option<String>,
    pub text: String,
}

/// One message a run deserves, as `lake-status --alerts` prints it (a JSON line) and
/// `run-record alert` sends it on every channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertMessage {
    /// What it is about: `step:<name>`, `qa:<check>`, `fetch:proxy`, `fetch:latency`, `digest`.
    pub key: String,
    /// `new` (a change of state), `repeat` (still there) or `digest`.
    pub kind: String,
    /// 1 a step failed, 2 data is red, 3 a warning.
    pub priority: u8,
    pub text: String,
    /// For a digest: the keys held back by the run's budget.
    #[serde(default)]
    pub held: Vec<String>,
    /// For a digest: the keys that were problems and are no longer.
    #[serde(default)]
    pub recovered: Vec<String>,
    pub run_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Heartbeat {
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub error: Option<String>,
}

/// The configuration the run used, secrets redacted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfigSnapshot {
    /// The file read (absent: built-in defaults).
    pub path: Option<String>,
    /// SHA-256 of the file's bytes.
    pub sha256: Option<String>,
    /// The file as written (`${VAR}` references kept, never their values), secrets redacted.
    pub snapshot: serde_json::Value,
}

/// One line of `runs/index.ndjson`: enough for the run history without opening run directories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "tickerlake run index line (tickerlake.run/1)")]
pub struct IndexLine {
    pub run_id: String,
    pub pipeline: String,
    pub dir: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub seconds: Option<f64>,
    pub status: Status,
    pub exit_code: Option<i32>,
    pub as_of: String,
    pub qa_overall: Option<String>,
    /// Each step's name, status, exit code and seconds, in order.
    pub steps: Vec<StepBrief>,
    /// Records per dataset: `universe` listings kept, `bars_daily` and `training` bars fetched,
    /// `qlib` symbols exported.
    pub records: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StepBrief {
    pub name: String,
    pub status: Status,
    pub exit_code: i32,
    pub seconds: f64,
}

impl RunRecord {
    pub fn read(path: &Path) -> Result<RunRecord, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::read(path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Parse {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    pub fn write(&self, path: &Path) -> Result<(), Error> {
        crate::atomic::write_json_atomic(path, self).map_err(|e| Error::write(path, e))
    }

    /// The index line of a finished record; `dir` is the run directory's name.
    pub fn index_line(&self, dir: &str) -> IndexLine {
        let mut records = BTreeMap::new();
        for step in &self.steps {
            let (dataset, key) = match step.name.as_str() {
                "filter" => ("universe", "kept"),
                "fetch" => ("bars_daily", "bars"),
                "qlib" => ("qlib", "symbols"),
                "training-fetch" => ("training", "bars"),
                _ => continue,
            };
            if let Some(n) = step.counts.get(key) {
                *records.entry(dataset.to_string()).or_insert(0) += n;
            }
        }
        IndexLine {
            run_id: self.run_id.clone(),
            pipeline: self.pipeline.clone(),
            dir: dir.to_string(),
            started_at: self.started_at.clone(),
            finished_at: self.finished_at.clone(),
            seconds: self.seconds,
            status: self.status,
            exit_code: self.exit_code,
            as_of: self.as_of.clone(),
            qa_overall: self.qa.as_ref().map(|q| q.overall.clone()),
            steps: self
                .steps
                .iter()
                .map(|s| StepBrief {
                    name: s.name.clone(),
                    status: s.status,
                    exit_code: s.exit_code,
                    seconds: s.seconds,
                })
                .collect(),
            records,
        }
    }
}

/// The JSON Schemas of the run record and its index line.
pub fn schemas() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        (
            "run",
            serde_json::to_value(schemars::schema_for!(RunRecord)).unwrap_or_default(),
        ),
        (
            "run-index",
            serde_json::to_value(schemars::schema_for!(IndexLine)).unwrap_or_default(),
        ),
    ]
}
