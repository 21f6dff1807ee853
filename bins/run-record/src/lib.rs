//! `run-record`: the pipeline's memory. `pipeline.sh` calls it around every program it runs, so
//! that each night leaves a record a person, a dashboard or a script can read: what ran, how it
//! went, what the data looks like after it, who was told.
//!
//! - [`cli`]: the command line;
//! - [`layout`]: the data directory, its paths and its marker;
//! - [`run`]: begin, step, end;
//! - [`facts`]: the universe, QA verdict, watermarks and summary counts, read back from files;
//! - [`alerts`]: the channels, and sending what `lake-status --alerts` decided;
//! - [`heartbeat`]: the `HC_URL` dead man's switch;
//! - [`snapshot`]: the configuration as written, secrets redacted;
//! - [`training`]: a training set's metadata, config copy and notes;
//! - [`clock`]: times, and the session a run is about.

pub mod alerts;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod facts;
pub mod heartbeat;
pub mod layout;
pub mod run;
pub mod snapshot;
pub mod training;

use std::io::Write;
use std::path::Path;

use tickerlake::config::Config;
use tickerlake::{ExitCode, HasExitCode};

use crate::cli::{Cli, Command, StepStatus};
use crate::layout::{DataDir, absolute};
use tickerlake::runs::Status;

/// Everything that ends a run-record call early.
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
    #[error("{0}")]
    Data(String),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Store(#[from] objstore::StoreError),
    #[error("{0}")]
    Config(String),
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

impl From<tickerlake::runs::Error> for Error {
    fn from(e: tickerlake::runs::Error) -> Error {
        use tickerlake::runs::Error as R;
        match e {
            R::Read { path, source } => Error::Read { path, source },
            R::Write { path, source } => Error::Write { path, source },
            R::Parse { path, message } => Error::Data(format!("{path}: {message}")),
        }
    }
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            Error::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ExitCode::NoInput
            }
            Error::Read { source, .. } | Error::Write { source, .. } => {
                tickerlake::exit::io_exit_code(source)
            }
            Error::Data(_) => ExitCode::DataErr,
            Error::Usage(_) => ExitCode::Usage,
            Error::Config(_) => ExitCode::Config,
            Error::Store(e) => e.exit_code(),
        }
    }
}

pub fn run(cli: Cli, config: Config) -> Result<ExitCode, Error> {
    match cli.command {
        Command::Settings { data } => {
            let text = settings(&config, data.as_deref())?;
            print_out(&text)?;
            Ok(ExitCode::Success)
        }
        Command::Claim { data } => {
            crate::layout::claim(&DataDir::new(data))?;
            Ok(ExitCode::Success)
        }
        Command::Begin {
            data,
            pipeline,
            as_of,
            log,
            close_abandoned,
        } => {
            let (dir, as_of) = run::begin(&run::Begin {
                data,
                pipeline,
                as_of,
                log,
                close_abandoned,
                config_file: cli.common.config.clone(),
                client: notify_client(&config),
            })?;
            print_out(&format!(
                "run_dir={}\nas_of={as_of}\n",
                one_line(&absolute(&dir))?
            ))?;
            Ok(ExitCode::Success)
        }
        Command::Step {
            run,
            name,
            status,
            exit_code,
            started,
            finished,
            summary,
            output,
            argv,
        } => {
            run::step(&run::StepArgs {
                run,
                name,
                status: match status {
                    StepStatus::Ok => Status::Ok,
                    StepStatus::Warn => Status::Warn,
                    StepStatus::Fail => Status::Fail,
                    StepStatus::Skipped => Status::Skipped,
                },
                exit_code,
                started,
                finished,
                summary,
                outputs: output,
                argv,
            })?;
            Ok(ExitCode::Success)
        }
        Command::End { run, exit_code } => {
            run::end(&run::End {
                run,
                exit_code,
                client: notify_client(&config),
            })?;
            Ok(ExitCode::Success)
        }
        Command::Alert { run } => {
            let mut input = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut input)
                .map_err(|e| Error::read(Path::new("stdin"), e))?;
            run::alert(
                &run::Alert {
                    run,
                    settings: config.pipeline.alerts.clone(),
                    client: notify_client(&config),
                },
                &input,
            )?;
            Ok(ExitCode::Success)
        }
        Command::TrainingSet { run, dir, name } => {
            training::write(&run, &dir, &name)?;
            Ok(ExitCode::Success)
        }
        Command::S3Backup {
            archive,
            to,
            date,
            keep,
        } => {
            backup::to_s3(&config, &archive, &to, date, keep)?;
            Ok(ExitCode::Success)
        }
        Command::Schema { dir } => {
            std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
            for (name, schema) in tickerlake::runs::schemas() {
                let path = dir.join(format!("{name}.schema.json"));
                let mut text = serde_json::to_string_pretty(&schema)
                    .map_err(|e| Error::Data(e.to_string()))?;
                text.push('\n');
                tickerlake::atomic::write_atomic(&path, text.as_bytes())
                    .map_err(|e| Error::write(&path, e))?;
            }
            Ok(ExitCode::Success)
        }
    }
}

/// How alerts and heartbeat pings are sent: `http.user_agent`, direct (never through the fetch's
/// proxies), within `pipeline.alerts.timeout`.
fn notify_client(config: &Config) -> net::http::ClientConfig {
    let timeout = config.pipeline.alerts.timeout.0;
    net::http::ClientConfig {
        connect_timeout: timeout,
        timeout,
        ..net::http::ClientConfig::from_http(&config.http)
    }
}

fn print_out(text: &str) -> Result<(), Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Error::write(Path::new("stdout"), e))
}

/// A path as one line of KEY=VALUE output: a newline in it would forge another key.
fn one_line(p: &Path) -> Result<String, Error> {
    let s = p.display().to_string();
    if s.contains(['\n', '\r']) {
        return Err(Error::Usage(format!(
            "{}: a path with a line break cannot be handed to pipeline.sh",
            tickerlake::echo::echo(&s)
        )));
    }
    Ok(s)
}

/// The settings pipeline.sh works from, as KEY=VALUE lines: the data directory's paths (one
/// layout, defined in [`layout`]) and the `pipeline:` section of the configuration.
pub fn settings(config: &Config, data: Option<&Path>) -> Result<String, Error> {
    let p = &config.pipeline;
    let dir = DataDir::new(absolute(data.unwrap_or(&p.data_dir)));
    let mut lines: Vec<(&str, String)> = vec![
        ("data_dir", one_line(&dir.root)?),
        ("lake", one_line(&dir.lake())?),
        ("qlib", one_line(&dir.qlib())?),
        ("universe_dir", one_line(&dir.universe_dir())?),
        ("universe_latest", one_line(&dir.universe_latest())?),
        ("training_dir", one_line(&dir.training_dir())?),
        ("runs_dir", one_line(&dir.runs())?),
        ("state_dir", one_line(&dir.state())?),
        ("raw_dir", one_line(&dir.raw())?),
        ("logs_dir", one_line(&dir.logs())?),
        (
            "session",
            clock::last_closed_session(chrono::Utc::now()).to_string(),
        ),
        ("today", chrono::Utc::now().date_naive().to_string()),
        ("universe_max_age_days", p.universe_max_age_days.to_string()),
        ("sample", p.sample.to_string()),
        ("log_retention_days", p.log_retention_days.to_string()),
        ("raw_retention_days", p.raw_retention_days.to_string()),
        ("keep_raw_bars", p.keep_raw_bars.to_string()),
        ("sources", p.sources.join(" ")),
        ("target_stocks", config.filter.target_stocks.to_string()),
        ("training_seed", p.training.seed.to_string()),
        ("backup_dir", one_line(&absolute(&p.backup.dir))?),
        ("backup_retention_days", p.backup.retention_days.to_string()),
        ("backup_s3", p.backup.s3.clone()),
    ];
    if let [start, end] = p.training.date_range.as_slice() {
        lines.push(("training_start", start.to_string()));
        lines.push(("training_end", end.to_string()));
    }
    let mut out = String::new();
    for (k, v) in lines {
        out.push_str(k);
        out.push('=');
        out.push_str(&v);
        out.push('\n');
    }
    Ok(out)
}
