//! `lake-status`: the nightly dashboard. It reads what the pipeline wrote under the data
//! directory and renders it three ways — a terminal view whose exit status cron can gate on,
//! JSON files for scripts, and one self-contained HTML page — and decides which alerts a run
//! deserves.
//!
//! - [`cli`]: the command line;
//! - [`read`]: the data directory, read once (runs, findings, fetch state, universe changes);
//! - [`report`]: the documents every view is made of (`summary.json` and the panels), with
//!   the KPIs' colours from their thresholds;
//! - [`terminal`]: the terminal view;
//! - [`html`] and [`svg`]: the page and its charts;
//! - [`site`]: the output directories, written atomically;
//! - [`text`]: numbers, sizes, durations, and data made safe to print;
//! - [`alerts`]: which alerts a run deserves.

pub mod alerts;
pub mod cli;
pub mod html;
pub mod read;
pub mod report;
pub mod site;
pub mod svg;
pub mod terminal;
pub mod text;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use tickerlake::config::Config;
use tickerlake::{ExitCode, HasExitCode};

use crate::cli::{Cli, Colour as ColourWhen};
use crate::report::{Colour, Report};

/// Everything that ends a lake-status call early (an unreadable data directory is not one: it
/// is a status, exit 3).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot write: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    /// An output directory that holds other files.
    #[error("{0}")]
    NotOurs(String),
    #[error("{0}")]
    NoInput(String),
    /// A run record that cannot be read where one is needed.
    #[error("{0}")]
    Data(String),
    #[error("{0}")]
    Render(String),
}

impl Error {
    pub fn write(path: &Path, source: std::io::Error) -> Error {
        Error::Write {
            path: path.display().to_string(),
            source,
        }
    }
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Write { source, .. } => match source.kind() {
                std::io::ErrorKind::BrokenPipe => ExitCode::Success,
                _ => ExitCode::IoErr,
            },
            Error::NotOurs(_) => ExitCode::Usage,
            Error::NoInput(_) => ExitCode::NoInput,
            Error::Data(_) => ExitCode::DataErr,
            Error::Render(_) => ExitCode::IoErr,
        }
    }
}

/// What the view found: the exit status cron gates on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// 0: green, or nothing to judge yet.
    Green,
    /// 1: something needs a look.
    Yellow,
    /// 2: something is wrong.
    Red,
    /// 3: the data directory cannot be read.
    Unreadable,
}

impl From<Colour> for Health {
    fn from(c: Colour) -> Health {
        match c {
            Colour::Red => Health::Red,
            Colour::Yellow => Health::Yellow,
            _ => Health::Green,
        }
    }
}

impl From<Health> for std::process::ExitCode {
    fn from(h: Health) -> std::process::ExitCode {
        std::process::ExitCode::from(match h {
            Health::Green => 0,
            Health::Yellow => 1,
            Health::Red => 2,
            Health::Unreadable => 3,
        })
    }
}

pub fn run(cli: Cli, config: Config) -> Result<Health, Error> {
    if let Some(dir) = &cli.schemas {
        std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        for (name, schema) in report::schemas() {
            let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
            text.push('\n');
            site::write(dir, &format!("{name}.schema.json"), text.as_bytes())?;
        }
        return Ok(Health::Green);
    }
    let data = cli
        .data
        .clone()
        .unwrap_or_else(|| config.pipeline.data_dir.clone());
    let now = cli.now.unwrap_or_else(chrono::Utc::now);
    let snap = match read::read(&data, &config) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(
                "{}: the data directory cannot be read",
                text::clean(&e.to_string())
            );
            return Ok(Health::Unreadable);
        }
    };
    if cli.alerts {
        let lines = decide_alerts(&snap, cli.run.as_deref(), &config)?;
        let mut text = String::new();
        for m in &lines {
            text.push_str(&serde_json::to_string(m).unwrap_or_default());
            text.push('\n');
        }
        print_out(&text)?;
        return Ok(Health::Green);
    }
    let report = report::build(&snap, &config, now);
    if cli.json.is_none() && cli.html.is_none() {
        let colour = match cli.colour {
            ColourWhen::Always => true,
            ColourWhen::Never => false,
            ColourWhen::Auto => {
                std::io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        };
        let last = snap.latest().map(|r| &r.record);
        print_out(&terminal::render(&report, last, colour))?;
    } else {
        write_outputs(
            &snap,
            &report,
            &config,
            cli.json.as_deref(),
            cli.html.as_deref(),
        )?;
    }
    Ok(report.summary.health.into())
}

/// The JSON documents by their file names, in the order the page embeds them.
pub fn documents(report: &Report) -> Vec<html::Block> {
    let block = |file: &str, json: String| html::Block {
        file: file.into(),
        json,
    };
    vec![
        block("summary.json", site::json(&report.summary)),
        block("tickers/lagging.json", site::json(&report.lagging)),
        block("qa/failures.json", site::json(&report.failures)),
        block("fetch/errors.json", site::json(&report.errors)),
        block("universe/delta.json", site::json(&report.delta)),
        block("runs/index.json", site::json(&report.runs)),
    ]
}

fn write_outputs(
    snap: &read::Snapshot,
    report: &Report,
    config: &Config,
    json: Option<&Path>,
    html_dir: Option<&Path>,
) -> Result<(), Error> {
    let blocks = documents(report);
    if let Some(dir) = json {
        site::claim(dir)?;
        for b in &blocks {
            site::write(dir, &b.file, b.json.as_bytes())?;
        }
        let mut written: Vec<PathBuf> = Vec::new();
        for p in report::prices(snap, report, config) {
            let rel = format!("price/{}.json", p.symbol);
            site::write(dir, &rel, site::json(&p).as_bytes())?;
            written.push(dir.join(rel));
        }
        site::prune_prices(dir, &written)?;
        tracing::info!(dir = %dir.display(), files = blocks.len() + written.len(), "JSON written");
    }
    if let Some(dir) = html_dir {
        site::claim(dir)?;
        let page = html::render(report, &blocks).map_err(|e| Error::Render(e.to_string()))?;
        let path = dir.join("index.html");
        site::write(dir, "index.html", page.as_bytes())?;
        tracing::info!(page = %path.display(), bytes = page.len(), "page written");
    }
    Ok(())
}

/// The alerts of the run in `run_dir` (default: the newest run).
fn decide_alerts(
    snap: &read::Snapshot,
    run_dir: Option<&Path>,
    config: &Config,
) -> Result<Vec<tickerlake::runs::AlertMessage>, Error> {
    let rules = &config.pipeline.alerts;
    if run_dir.is_none()
        && let Some(dir) = &snap.newest_unreadable
    {
        // Deciding for the run before it would tell its news again.
        return Err(Error::Data(format!(
            "{}: the newest run's record cannot be read: no alert decided (give --run)",
            snap.data.runs().join(dir).join("metadata.json").display()
        )));
    }
    let position = match run_dir {
        None => snap.history.len().checked_sub(1),
        Some(dir) => {
            let want = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
            snap.history
                .iter()
                .position(|r| std::path::absolute(&r.dir).unwrap_or_else(|_| r.dir.clone()) == want)
        }
    };
    match (position, run_dir) {
        (Some(i), _) => Ok(alerts::decide(&snap.history[i], &snap.history[..i], rules)),
        (None, None) => Ok(Vec::new()),
        (None, Some(dir)) => {
            // A run outside the history window (or not yet in the index): read it directly.
            let record = tickerlake::runs::RunRecord::read(&dir.join("metadata.json"))
                .map_err(|e| Error::NoInput(e.to_string()))?;
            let before: Vec<read::Run> = snap
                .history
                .iter()
                .filter(|r| r.record.started_at < record.started_at)
                .cloned()
                .collect();
            let run = read::Run {
                dir: dir.to_path_buf(),
                record,
            };
            Ok(alerts::decide(&run, &before, rules))
        }
    }
}

fn print_out(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::write(Path::new("stdout"), e))
}
