//! The run record, `runs/<date>_<run_id>/metadata.json` (schema `tickerlake.run/1`, JSON Schema in
//! `docs/schemas/run.schema.json`), and the one-line summary of it appended to `runs/index.ndjson`.
//!
//! All times are RFC 3339 UTC with `Z`; dates are ISO. A record is written when the run begins
//! (`status: running`) and rewritten atomically at each step and at the end; a run is complete
//! only when `finished_at` is set.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Error;

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
        serde_json::from_slice(&bytes).map_err(|e| Error::Data(format!("{}: {e}", path.display())))
    }

    pub fn write(&self, path: &Path) -> Result<(), Error> {
        tickerlake::atomic::write_json_atomic(path, self).map_err(|e| Error::write(path, e))
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
