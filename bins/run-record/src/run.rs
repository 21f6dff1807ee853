//! A run's record from begin to end: `begin` makes the run directory and pings the heartbeat,
//! `step` adds each program's result, `end` gathers the facts (universe, QA, watermarks), pings
//! the heartbeat with the exit code and commits: `metadata.json`, a line in
//! `runs/index.ndjson`, `runs/latest.json` and `state/watermarks.json`, each written atomically and
//! `latest.json` last.
//!
//! The files a step leaves in the run directory by name: `<step>.summary.json` (each program's
//! `--summary` or `--report`), `qa.summary.json` (read into the record's `qa`),
//! `universe.delta.ndjson` (tickers-filter's `--delta`, read into `universe.changes`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, Utc};

use crate::layout::{DataDir, absolute};
use crate::{Error, alerts, clock, facts, heartbeat, snapshot};
use tickerlake::runs::{Heartbeat, Output, RunRecord, SCHEMA, Status, Step};

/// `run-record begin`.
#[derive(Debug, Clone)]
pub struct Begin {
    pub data: PathBuf,
    pub pipeline: String,
    pub as_of: Option<NaiveDate>,
    pub log: Option<PathBuf>,
    pub config_file: Option<PathBuf>,
    /// How the heartbeat is pinged.
    pub client: net::http::ClientConfig,
    /// Record runs still `running` as failed first (the caller holds the pipeline's lock, so
    /// none of them can be running).
    pub close_abandoned: bool,
}

/// Makes the run directory and its first record; returns the directory and the as-of date.
pub fn begin(opts: &Begin) -> Result<(PathBuf, NaiveDate), Error> {
    let data = DataDir::new(&opts.data);
    crate::layout::claim(&data)?;
    if opts.close_abandoned {
        close_abandoned(&data)?;
    }
    let now = Utc::now();
    let run_id = tickerlake::logging::run_id().to_string();
    if run_id.is_empty() || run_id.contains(['/', '\\', '\0']) || run_id.starts_with('.') {
        return Err(Error::Usage(format!(
            "RUN_ID {:?} cannot name a run directory",
            tickerlake::echo::echo(&run_id)
        )));
    }
    let as_of = opts
        .as_of
        .unwrap_or_else(|| clock::last_closed_session(now));
    let dir = data.runs().join(format!("{}_{run_id}", now.date_naive()));
    if dir.exists() {
        return Err(Error::Usage(format!(
            "{}: a run with this RUN_ID exists already: every run needs its own",
            dir.display()
        )));
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
    let mut record = RunRecord {
        schema: SCHEMA.into(),
        run_id: run_id.clone(),
        pipeline: opts.pipeline.clone(),
        trigger: std::env::var("TICKERLAKE_TRIGGER")
            .ok()
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "manual".into()),
        tickerlake_version: env!("CARGO_PKG_VERSION").into(),
        host: hostname(),
        started_at: clock::rfc3339(now),
        finished_at: None,
        seconds: None,
        status: Status::Running,
        exit_code: None,
        as_of: as_of.to_string(),
        log: opts
            .log
            .as_deref()
            .map(|l| data.relative(l))
            .unwrap_or_default(),
        steps: Vec::new(),
        universe: None,
        qa: None,
        watermarks: BTreeMap::new(),
        alerts: Vec::new(),
        heartbeat: Heartbeat::default(),
        config: snapshot::snapshot(config_path(opts.config_file.as_deref()).as_deref()),
    };
    let meta = dir.join("metadata.json");
    record.write(&meta)?;
    let hc = std::env::var(heartbeat::ENV).ok();
    if let Some(result) = heartbeat::ping(hc.as_deref(), "start", &run_id, &opts.client) {
        match result {
            Ok(status) => record.heartbeat.start = Some(i64::from(status)),
            Err(e) => record.heartbeat.error = Some(e),
        }
        record.write(&meta)?;
    }
    Ok((dir, as_of))
}

/// Runs whose record still says `running` when no run can be (killed with SIGKILL, the machine
/// stopped): recorded as failed, and given their index line, so that the status view sees them.
fn close_abandoned(data: &DataDir) -> Result<(), Error> {
    for name in data.run_dirs()? {
        let meta = data.runs().join(&name).join("metadata.json");
        let Ok(mut record) = RunRecord::read(&meta) else {
            continue;
        };
        if record.status != Status::Running {
            continue;
        }
        tracing::warn!(
            run = %record.run_id,
            "a run that never finished (killed, or the machine stopped): recorded as failed"
        );
        record.status = Status::Fail;
        record.write(&meta)?;
        append_index(data, &record, &name)?;
    }
    Ok(())
}

/// The configuration file the programs read: `--config`, else `$TICKERLAKE_CONFIG`, else
/// `./config.yaml` when it exists.
fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| {
            std::env::var(tickerlake::config::ENV_PATH)
                .ok()
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| {
            let p = PathBuf::from(tickerlake::config::DEFAULT_PATH);
            p.is_file().then_some(p)
        })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// `run-record step`.
#[derive(Debug, Clone)]
pub struct StepArgs {
    pub run: PathBuf,
    pub name: String,
    pub status: Status,
    pub exit_code: i32,
    pub started: f64,
    pub finished: f64,
    pub summary: Option<PathBuf>,
    pub outputs: Vec<PathBuf>,
    pub argv: Vec<String>,
}

/// Adds one step to the run's record.
pub fn step(opts: &StepArgs) -> Result<(), Error> {
    let meta = opts.run.join("metadata.json");
    let mut record = RunRecord::read(&meta)?;
    let data = data_of(&opts.run);
    let counts = opts
        .summary
        .as_deref()
        .map(facts::summary_counts)
        .unwrap_or_default();
    let mut outputs = Vec::new();
    for path in &opts.outputs {
        if let Some(o) = output(&data, path) {
            outputs.push(o);
        }
    }
    record.steps.push(Step {
        name: opts.name.clone(),
        argv: opts.argv.clone(),
        started_at: clock::from_epoch(opts.started).unwrap_or_default(),
        finished_at: clock::from_epoch(opts.finished).unwrap_or_default(),
        seconds: ((opts.finished - opts.started).max(0.0) * 1000.0).round() / 1000.0,
        exit_code: opts.exit_code,
        status: opts.status,
        counts,
        summary: opts
            .summary
            .as_deref()
            .filter(|p| p.is_file())
            .map(|p| data.relative(&absolute(p))),
        outputs,
    });
    Ok(record.write(&meta)?)
}

/// The data directory a run directory belongs to (`DATA/runs/<run>`).
fn data_of(run: &Path) -> DataDir {
    let run = absolute(run);
    DataDir::new(
        run.parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default(),
    )
}

/// Size and SHA-256 of a file a step wrote (a directory or a missing file: none).
fn output(data: &DataDir, path: &Path) -> Option<Output> {
    let resolved = std::fs::canonicalize(path).ok()?;
    if !resolved.is_file() {
        return None;
    }
    let (bytes, sha256) = facts::file_digest(&resolved).ok()?;
    Some(Output {
        path: data.relative(&resolved),
        bytes,
        sha256,
    })
}

/// `run-record end`.
#[derive(Debug, Clone)]
pub struct End {
    pub run: PathBuf,
    pub exit_code: i32,
    /// How the heartbeat is pinged.
    pub client: net::http::ClientConfig,
}

/// Finishes the run's record and commits it; returns the run's status.
pub fn end(opts: &End) -> Result<Status, Error> {
    let meta = opts.run.join("metadata.json");
    let mut record = RunRecord::read(&meta)?;
    let data = data_of(&opts.run);
    let now = Utc::now();
    record.finished_at = Some(clock::rfc3339(now));
    record.seconds = chrono::DateTime::parse_from_rfc3339(&record.started_at)
        .ok()
        .map(|s| ((now - s.with_timezone(&Utc)).num_milliseconds() as f64 / 1000.0).max(0.0));
    record.exit_code = Some(opts.exit_code);
    record.status = if opts.exit_code != 0 || record.steps.iter().any(|s| s.status == Status::Fail)
    {
        Status::Fail
    } else if record.steps.iter().any(|s| s.status == Status::Warn) {
        Status::Warn
    } else {
        Status::Ok
    };
    let delta = opts.run.join("universe.delta.ndjson");
    record.universe = facts::universe(
        &data,
        &data.universe_latest(),
        delta.is_file().then_some(delta.as_path()),
    );
    record.qa = facts::qa(&data, &opts.run.join("qa.summary.json"));
    if record.status == Status::Ok && record.qa.as_ref().is_some_and(|q| q.overall == "yellow") {
        record.status = Status::Warn;
    }
    record.watermarks = facts::watermarks(&data, record.universe.as_ref());

    let hc = std::env::var(heartbeat::ENV).ok();
    if let Some(result) = heartbeat::ping(
        hc.as_deref(),
        &opts.exit_code.clamp(0, 255).to_string(),
        &record.run_id,
        &opts.client,
    ) {
        match result {
            Ok(status) => record.heartbeat.end = Some(i64::from(status)),
            Err(e) => record.heartbeat.error = Some(e),
        }
    }

    record.write(&meta)?;
    let dir_name = opts
        .run
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    append_index(&data, &record, &dir_name)?;
    write_watermarks(&data, &record)?;
    let latest = data.latest_run();
    record.write(&latest)?;
    Ok(record.status)
}

/// `run-record alert`.
#[derive(Debug, Clone)]
pub struct Alert {
    pub run: PathBuf,
    pub settings: tickerlake::config::Alerts,
    pub client: net::http::ClientConfig,
}

/// Sends the messages `lake-status --alerts` decided (one JSON line each, on `input`) on every
/// channel the environment configures, and records what happened in the run's `metadata.json`
/// (and `runs/latest.json` when it is the newest run).
pub fn alert(opts: &Alert, input: &str) -> Result<usize, Error> {
    let meta = opts.run.join("metadata.json");
    let mut record = RunRecord::read(&meta)?;
    let mut messages = Vec::new();
    for (n, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let m: tickerlake::runs::AlertMessage = serde_json::from_str(line).map_err(|e| {
            Error::Data(format!(
                "stdin: line {}: not an alert line of lake-status --alerts: {e}",
                n + 1
            ))
        })?;
        messages.push(m);
    }
    let env = |k: &str| std::env::var(k).ok();
    let channels = alerts::channels(&opts.settings, &env);
    if channels.is_empty() {
        if !messages.is_empty() {
            tracing::info!(
                alerts = messages.len(),
                "no alert channel configured (ALERT_WEBHOOK, TELEGRAM_TOKEN + TELEGRAM_CHAT_ID, ALERT_COMMAND): nothing sent"
            );
        }
        return Ok(0);
    }
    let sent = alerts::send_all(&channels, &messages, &opts.settings, &opts.client);
    let count = sent.iter().filter(|a| a.outcome == "sent").count();
    record.alerts.extend(sent);
    record.write(&meta)?;
    let data = data_of(&opts.run);
    let latest = data.latest_run();
    if RunRecord::read(&latest).is_ok_and(|l| l.run_id == record.run_id) {
        record.write(&latest)?;
    }
    Ok(count)
}

/// Appends the run's line to `runs/index.ndjson` in one write (the pipeline's lock is held).
fn append_index(data: &DataDir, record: &RunRecord, dir: &str) -> Result<(), Error> {
    let path = data.index();
    let mut line = serde_json::to_string(&record.index_line(dir))
        .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?;
    line.push('\n');
    // A line torn by a crash (or a full disk) must not swallow this one.
    if let Ok(bytes) = std::fs::read(&path)
        && bytes.last().is_some_and(|b| *b != b'\n')
    {
        tracing::warn!(file = %path.display(), "the index ended in a torn line: this run's line starts a new one");
        line.insert(0, '\n');
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| Error::write(&path, e))?;
    f.write_all(line.as_bytes())
        .and_then(|()| f.sync_data())
        .map_err(|e| Error::write(&path, e))
}

/// `state/watermarks.json`: the datasets' watermarks after this run. One that went back (a lake
/// restored from an older backup) is recorded as it is, with a warning.
fn write_watermarks(data: &DataDir, record: &RunRecord) -> Result<(), Error> {
    let path = data.watermarks();
    let previous = data.stored_watermarks();
    for (name, w) in &record.watermarks {
        if let Some(old) = previous.get(name)
            && w.date < old.date
        {
            tracing::warn!(dataset = %name, was = %old.date, now = %w.date, "a watermark went back");
        }
    }
    let mut datasets = previous;
    datasets.extend(record.watermarks.clone());
    let doc = serde_json::json!({
        "updated_at": record.finished_at,
        "run_id": record.run_id,
        "datasets": datasets,
    });
    std::fs::create_dir_all(data.state()).map_err(|e| Error::write(&data.state(), e))?;
    tickerlake::atomic::write_json_atomic(&path, &doc).map_err(|e| Error::write(&path, e))
}
