//! Command-line conventions shared by every program, and the one entry point their `main`s call.
//!
//! `main.rs` is `tickerlake::cli::main("prog", prog::run)` with `run(cli, config)`. The helper parses the
//! arguments (usage errors exit 2, `--help`/`--version` exit 0), sets up logging, runs, and turns
//! the result into an exit status: the error printed once as `prog: message: cause`, a closed
//! pipe treated as success, never a panic or a `Debug` dump.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{ArgAction, Args, Parser};

use crate::config::{Config, LogFormat};
use crate::error::is_broken_pipe;
use crate::exit::{ExitCode, HasExitCode};
use crate::logging;

/// The value parser of every file or directory argument: a local path, as given (not UTF-8
/// included). A URL (`s3://bucket/lake`, `https://…`, `file:///…`) is refused at parse time
/// (exit 2) — read as a path it would silently become a local directory named `s3:`. Lakes take
/// `s3://` through [`LakeArg`].
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalPath;

impl clap::builder::TypedValueParser for LocalPath {
    type Value = PathBuf;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<PathBuf, clap::Error> {
        let name = || {
            arg.map_or_else(
                || "a path".to_string(),
                |a| match a.get_long() {
                    Some(l) => format!("--{l}"),
                    None => a.get_id().to_string(),
                },
            )
        };
        if value.is_empty() {
            // An empty path would mean the current directory to some calls and nothing to others.
            let message = format!("{}: an empty path\n", name());
            return Err(
                clap::Error::raw(clap::error::ErrorKind::ValueValidation, message).with_cmd(cmd),
            );
        }
        if let Some(text) = value.to_str()
            && let Some(scheme) = url_scheme(text)
        {
            let name = name();
            let message = format!(
                "{name}: {}: a {scheme}:// URL, and only local paths (or - for stdin/stdout) are \
                 supported here\n",
                crate::echo::echo(text)
            );
            return Err(
                clap::Error::raw(clap::error::ErrorKind::ValueValidation, message).with_cmd(cmd),
            );
        }
        Ok(PathBuf::from(value))
    }
}

/// The value parser of a side output (`--summary`, `--report`, `--delta`): a local file, never
/// `-` or stdout — stdout carries the program's records, and a JSON document in the middle of
/// them would spoil both. Exit 2.
#[derive(Debug, Clone, Copy, Default)]
pub struct SideFile;

impl clap::builder::TypedValueParser for SideFile {
    type Value = PathBuf;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<PathBuf, clap::Error> {
        let path = LocalPath.parse_ref(cmd, arg, value)?;
        if crate::io::is_stdio(&path) || crate::io::is_stdout_alias(&path) {
            let name = arg
                .and_then(|a| a.get_long())
                .map_or_else(|| "a side output".to_string(), |l| format!("--{l}"));
            let message = format!(
                "{name}: {}: a file (stdout carries the records)\n",
                path.display()
            );
            return Err(
                clap::Error::raw(clap::error::ErrorKind::ValueValidation, message).with_cmd(cmd),
            );
        }
        Ok(path)
    }
}

/// Where a lake is: a local directory, or a prefix in an S3 bucket (`s3://bucket/prefix`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LakeLocation {
    Dir(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl LakeLocation {
    /// A path, or an `s3://bucket[/prefix]` URL (a bucket name as S3 allows one; the prefix
    /// without empty, `.` or `..` segments). Other URLs are refused.
    pub fn parse(text: &str) -> Result<LakeLocation, String> {
        if text.is_empty() {
            return Err("an empty path".into());
        }
        let Some(scheme) = url_scheme(text) else {
            return Ok(LakeLocation::Dir(PathBuf::from(text)));
        };
        if !scheme.eq_ignore_ascii_case("s3") {
            return Err(format!(
                "{}: a {scheme}:// URL; a lake is a directory or s3://bucket/prefix",
                crate::echo::echo(text)
            ));
        }
        let rest = &text[scheme.len() + 3..];
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && !bucket.starts_with(['-', '.'])
            && !bucket.ends_with(['-', '.']);
        if !bucket_ok {
            return Err(format!(
                "{}: {:?} is not a bucket name (3 to 63 lower-case letters, digits, dots and hyphens)",
                crate::echo::echo(text),
                crate::echo::shorten(bucket)
            ));
        }
        let prefix = prefix.trim_end_matches('/');
        if !prefix.is_empty()
            && prefix
                .split('/')
                .any(|seg| seg.is_empty() || seg == "." || seg == ".." || seg.contains('\\'))
        {
            return Err(format!(
                "{}: the prefix has an empty, . or .. segment",
                crate::echo::echo(text)
            ));
        }
        Ok(LakeLocation::S3 {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// The local directory, when the lake is one.
    pub fn dir(&self) -> Option<&Path> {
        match self {
            LakeLocation::Dir(d) => Some(d),
            LakeLocation::S3 { .. } => None,
        }
    }
}

impl std::fmt::Display for LakeLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LakeLocation::Dir(d) => write!(f, "{}", d.display()),
            LakeLocation::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            LakeLocation::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// A `--lake` value: a directory or `s3://bucket/prefix` ([`LakeLocation::parse`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct LakeArg;

impl clap::builder::TypedValueParser for LakeArg {
    type Value = LakeLocation;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<LakeLocation, clap::Error> {
        let name = arg
            .and_then(|a| a.get_long())
            .map_or_else(|| "a lake".to_string(), |l| format!("--{l}"));
        let parsed = match value.to_str() {
            Some(text) => LakeLocation::parse(text),
            None => Ok(LakeLocation::Dir(PathBuf::from(value))),
        };
        parsed.map_err(|why| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("{name}: {why}\n"),
            )
            .with_cmd(cmd)
        })
    }
}

/// The scheme of `text` when it reads as a URL (`scheme://…`, the scheme letters first, then
/// letters, digits, `+`, `-` or `.`).
fn url_scheme(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// Flags every program has. Flatten into the program's clap struct with `#[command(flatten)]`.
/// They are listed last, after the program's own, in every command and subcommand.
#[derive(Debug, Clone, Args)]
#[command(next_display_order = 1000)]
pub struct CommonArgs {
    /// Configuration file [default: $TICKERLAKE_CONFIG, else ./config.yaml if present]
    #[arg(long, value_name = "FILE", global = true, value_parser = LocalPath)]
    pub config: Option<PathBuf>,

    /// Log format on stderr: text on a terminal, JSON Lines otherwise
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        env = "TICKERLAKE_LOG_FORMAT",
        global = true
    )]
    pub log_format: Option<LogFormat>,

    /// More log output: -v info, -vv debug, -vvv trace
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

/// A program's parsed command line.
pub trait Program: Parser {
    fn common(&self) -> &CommonArgs;
}

/// Runs a program and returns its exit status.
///
/// Parses the command line, loads the configuration (a broken config file is exit 78 for every
/// program, never silently ignored), sets up logging, runs, and maps the result to a status.
///
/// `run` returns an [`ExitCode`], or a program's own status that converts into a process status
/// (`lake-status`'s health: 0 green, 1 yellow, 2 red, 3 unreadable).
pub fn main<P, E, S>(
    program: &'static str,
    run: impl FnOnce(P, Config) -> Result<S, E>,
) -> std::process::ExitCode
where
    P: Program,
    E: std::error::Error + HasExitCode + 'static,
    S: Into<std::process::ExitCode>,
{
    let args = match P::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Success
            };
            // A usage error on a JSON Lines stream is one JSON line like any other error.
            if e.use_stderr() && usage_errors_as_json() {
                let text = e.render().to_string();
                logging::error_line(program, text.trim_end(), code);
                return code.into();
            }
            // `--help | head` closes the pipe: nothing to report. Help that cannot be written
            // (a full disk) is an I/O error.
            return match e.print() {
                Err(io) if io.kind() != std::io::ErrorKind::BrokenPipe => ExitCode::IoErr.into(),
                _ => code.into(),
            };
        }
    };
    let common = args.common().clone();
    let config = Config::load(common.config.as_deref());
    let logging = config
        .as_ref()
        .map(|c| c.logging.clone())
        .unwrap_or_default();
    let json = logging::is_json(common.log_format.unwrap_or(logging.format));
    logging::init(
        program,
        logging::level_for(common.quiet, common.verbose, logging.level),
        json,
    );
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            report(program, &e, ExitCode::Config, json);
            return ExitCode::Config.into();
        }
    };

    match run(args, config) {
        Ok(code) => code.into(),
        Err(e) if is_broken_pipe(&e) => ExitCode::Success.into(),
        Err(e) => {
            let code = e.exit_code();
            report(program, &e, code, json);
            code.into()
        }
    }
}

/// Whether stderr is a JSON Lines stream before the command line could be parsed: the
/// `--log-format` flag as given, else `$TICKERLAKE_LOG_FORMAT`, else JSON when stderr is not a
/// terminal (the `auto` default).
fn usage_errors_as_json() -> bool {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let flag = args.iter().enumerate().find_map(|(k, a)| {
        if a == "--log-format" {
            args.get(k + 1).cloned()
        } else {
            a.strip_prefix("--log-format=").map(str::to_string)
        }
    });
    let choice = flag.or_else(|| std::env::var("TICKERLAKE_LOG_FORMAT").ok());
    match choice.as_deref() {
        Some("json") => true,
        Some("text") => false,
        _ => !std::io::IsTerminal::is_terminal(&std::io::stderr()),
    }
}

/// Writes a run's summary as JSON to `path`, atomically (`--summary FILE`).
pub fn write_summary<T: serde::Serialize + ?Sized>(
    path: &std::path::Path,
    summary: &T,
) -> Result<(), crate::Error> {
    crate::atomic::write_json_atomic(path, summary).map_err(|source| crate::Error::Create {
        path: path.display().to_string(),
        source,
    })
}

/// The end-of-run summary line on stderr, quiet under cron: shown on a terminal or with `-v`
/// (`show`), as a plain line or, when stderr carries JSON Lines, as one of them (with the
/// summary's figures as fields). `--summary FILE` ([`write_summary`]) keeps it always.
pub fn print_summary<T: serde::Serialize + ?Sized>(text: &str, summary: &T, show: bool) {
    if show || std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        let fields = match serde_json::to_value(summary) {
            Ok(serde_json::Value::Object(m)) if logging::stderr_is_json() => m,
            _ => serde_json::Map::new(),
        };
        logging::info_line(text, fields);
    }
}

pub use crate::echo::echo;

/// The error and its causes on one line, each cause once.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cur = err.source();
    while let Some(cause) = cur {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
        cur = cause.source();
    }
    text
}

fn report(program: &str, err: &(dyn std::error::Error + 'static), code: ExitCode, json: bool) {
    let text = crate::echo::shorten(&error_chain(err));
    if json {
        tracing::error!(exit_code = code.code(), "{text}");
    } else {
        // stderr may be closed too; nothing more can be done then.
        let _ = writeln!(std::io::stderr(), "{program}: {text}");
    }
}

#[cfg(test)]
mod lake_location_tests {
    use super::LakeLocation;

    #[test]
    fn a_lake_is_a_directory_or_an_s3_prefix() {
        assert_eq!(
            LakeLocation::parse("data/lake").unwrap(),
            LakeLocation::Dir("data/lake".into())
        );
        let s3 = LakeLocation::parse("s3://market-data/lake/bars/").unwrap();
        assert_eq!(
            s3,
            LakeLocation::S3 {
                bucket: "market-data".into(),
                prefix: "lake/bars".into()
            }
        );
        assert_eq!(s3.to_string(), "s3://market-data/lake/bars");
        assert_eq!(
            LakeLocation::parse("s3://b12").unwrap().to_string(),
            "s3://b12"
        );
        for bad in [
            "s3://Bad_Bucket/x",
            "s3://ab/x",
            "s3://bucket/a//b",
            "s3://bucket/../x",
            "gs://b/k",
            "",
        ] {
            assert!(LakeLocation::parse(bad).is_err(), "{bad}");
        }
    }
}
