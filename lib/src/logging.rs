//! Logs on stderr through `tracing`: human text on a terminal, JSON Lines otherwise. Every line
//! carries `ts`, `level`, `program`, `run_id` and the event's structured fields. Quiet by
//! default: only warnings and errors, so cron mails nothing when all went well.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::{LogFormat, LogLevel};

static RUN_ID: OnceLock<String> = OnceLock::new();

/// The program and whether its stderr carries JSON Lines, once logging is set up.
static STREAM: OnceLock<(&'static str, bool)> = OnceLock::new();

/// Whether this program's stderr is a JSON Lines stream: anything else written there (a summary
/// line, a table) must then be a JSON line too, or not be written.
pub fn stderr_is_json() -> bool {
    STREAM.get().is_some_and(|(_, json)| *json)
}

/// One log line as JSON: `ts`, `level`, `program`, `run_id`, `msg`, then `fields` (never
/// overriding those five). The one shape every JSON line on stderr has.
fn json_line(
    level: &str,
    program: &str,
    message: &str,
    fields: serde_json::Map<String, serde_json::Value>,
) -> String {
    let mut line = serde_json::Map::new();
    line.insert(
        "ts".into(),
        chrono::Utc::now()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            .into(),
    );
    line.insert("level".into(), level.into());
    line.insert("program".into(), program.into());
    line.insert("run_id".into(), run_id().into());
    line.insert("msg".into(), message.into());
    for (k, v) in fields {
        line.entry(k).or_insert(v);
    }
    serde_json::to_string(&line).unwrap_or_default()
}

/// One `error` JSON line on stderr, before logging is set up (a command line that does not
/// parse).
pub fn error_line(program: &str, message: &str, code: crate::ExitCode) {
    use std::io::Write as _;
    let mut fields = serde_json::Map::new();
    fields.insert("exit_code".into(), code.code().into());
    let _ = writeln!(
        std::io::stderr(),
        "{}",
        json_line("error", program, message, fields)
    );
}

/// Writes `message` on stderr as an `info` line in the stream's format, whatever the log level
/// (the end-of-run summary, asked for with `-v` or shown on a terminal).
pub fn info_line(message: &str, fields: serde_json::Map<String, serde_json::Value>) {
    use std::io::Write as _;
    let (program, json) = STREAM.get().copied().unwrap_or(("tickerlake", false));
    let text = if json {
        json_line("info", program, message, fields)
    } else {
        message.to_string()
    };
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// The id of this run: `$RUN_ID` when the caller (cron wrapper, `pipeline.sh`) sets one, so all
/// programs of a pipeline share it; otherwise made up from the time and the process id.
pub fn run_id() -> &'static str {
    RUN_ID.get_or_init(|| match std::env::var("RUN_ID") {
        Ok(v) if !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()) => v,
        _ => {
            let now = chrono::Utc::now();
            format!("{}-{:x}", now.format("%Y%m%dT%H%M%SZ"), std::process::id())
        }
    })
}

/// The level to log at, from `-q`/`-v` (which win) or the configured level.
pub fn level_for(quiet: bool, verbose: u8, configured: LogLevel) -> Level {
    if quiet {
        return Level::ERROR;
    }
    let base = match configured {
        LogLevel::Error => 0,
        LogLevel::Warn => 1,
        LogLevel::Info => 2,
        LogLevel::Debug => 3,
        LogLevel::Trace => 4,
    };
    let level = if verbose == 0 {
        base
    } else {
        base.max(1 + verbose.min(3))
    };
    match level {
        0 => Level::ERROR,
        1 => Level::WARN,
        2 => Level::INFO,
        3 => Level::DEBUG,
        _ => Level::TRACE,
    }
}

/// Whether log lines are JSON for this format choice.
pub fn is_json(format: LogFormat) -> bool {
    match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    }
}

/// Installs the global subscriber. Safe to call twice (the second call does nothing).
pub fn init(program: &'static str, level: Level, json: bool) {
    let _ = STREAM.set((program, json));
    let subscriber = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // A stderr that cannot be written (full, closed) must not turn into a panic: the
        // subscriber would report its own write error with eprintln!, which panics then.
        .log_internal_errors(false)
        .with_max_level(level)
        .event_format(LineFormat { program, json })
        .finish();
    let _ = tracing::subscriber::set_global_default(subscriber);
}

struct LineFormat {
    program: &'static str,
    json: bool,
}

#[derive(Default)]
struct Fields {
    message: String,
    rest: serde_json::Map<String, serde_json::Value>,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            self.message = text;
        } else {
            self.rest
                .insert(field.name().to_string(), serde_json::Value::String(text));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.rest.insert(field.name().to_string(), value.into());
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.rest.insert(field.name().to_string(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.rest.insert(field.name().to_string(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.rest.insert(field.name().to_string(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.rest.insert(field.name().to_string(), value.into());
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "error",
        Level::WARN => "warn",
        Level::INFO => "info",
        Level::DEBUG => "debug",
        Level::TRACE => "trace",
    }
}

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let level = level_name(event.metadata().level());
        if self.json {
            let text = json_line(level, self.program, &fields.message, fields.rest);
            writeln!(writer, "{text}")
        } else {
            let mut text = format!(
                "{ts} {:<5} {}: {}",
                level.to_uppercase(),
                self.program,
                fields.message
            );
            for (k, v) in fields.rest {
                match v {
                    serde_json::Value::String(s) => write!(text, " {k}={s}")?,
                    other => write!(text, " {k}={other}")?,
                }
            }
            writeln!(writer, "{text}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbosity_flags_override_config() {
        assert_eq!(level_for(false, 0, LogLevel::Warn), Level::WARN);
        assert_eq!(level_for(false, 1, LogLevel::Warn), Level::INFO);
        assert_eq!(level_for(false, 2, LogLevel::Warn), Level::DEBUG);
        assert_eq!(level_for(false, 9, LogLevel::Warn), Level::TRACE);
        assert_eq!(level_for(true, 3, LogLevel::Debug), Level::ERROR);
        assert_eq!(level_for(false, 0, LogLevel::Info), Level::INFO);
        assert_eq!(level_for(false, 0, LogLevel::Error), Level::ERROR);
        assert_eq!(level_for(false, 1, LogLevel::Error), Level::INFO);
    }

    #[test]
    fn run_id_is_stable_and_printable() {
        let a = run_id();
        assert_eq!(a, run_id());
        assert!(!a.is_empty() && a.bytes().all(|b| b.is_ascii_graphic()));
    }
}
