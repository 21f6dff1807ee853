//! Alerts: the messages `lake-status --alerts` decided a run deserves, sent on every configured
//! channel.
//!
//! Each channel gets the messages as decided (at most `pipeline.alerts.max_per_run`: a longer
//! input is cut there, and a digest's held-back keys are recorded as such). A 429
//! is waited out (`Retry-After`, Telegram's `retry_after`) up to `max_retry_after`; 5xx and network
//! failures are retried twice; anything else is final. A failed send is logged and recorded and
//! never fails the run.
//!
//! Channels come from the environment only: `ALERT_WEBHOOK` (a Slack-compatible incoming
//! webhook: `{"text": …}`), `TELEGRAM_TOKEN` + `TELEGRAM_CHAT_ID` (Bot API `sendMessage`, plain
//! text: no Markdown to trip on `BRK-B`), `ALERT_COMMAND` (run by `sh -c`, the message on stdin:
//! ntfy, apprise, mail…). Webhook URLs and tokens are secrets: no log line, error or record holds
//! them.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tickerlake::config::Alerts as Settings;

use crate::clock;
use tickerlake::runs::{AlertMessage, AlertSent};

/// A configured channel.
#[derive(Clone)]
pub enum Channel {
    Webhook {
        url: String,
    },
    Telegram {
        api: String,
        token: String,
        chat: String,
    },
    Command {
        command: String,
    },
}

impl Channel {
    pub fn name(&self) -> &'static str {
        match self {
            Channel::Webhook { .. } => "webhook",
            Channel::Telegram { .. } => "telegram",
            Channel::Command { .. } => "command",
        }
    }

    /// The secrets an error message must never show.
    fn secrets(&self) -> Vec<&str> {
        match self {
            Channel::Webhook { url } => vec![url.as_str()],
            Channel::Telegram { token, .. } => vec![token.as_str()],
            Channel::Command { .. } => vec![],
        }
    }
}

/// The channels the environment configures (`env` is `std::env::var` outside tests).
pub fn channels(settings: &Settings, env: &dyn Fn(&str) -> Option<String>) -> Vec<Channel> {
    let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let mut out = Vec::new();
    if let Some(url) = get("ALERT_WEBHOOK") {
        out.push(Channel::Webhook { url });
    }
    match (get("TELEGRAM_TOKEN"), get("TELEGRAM_CHAT_ID")) {
        (Some(token), Some(chat)) => out.push(Channel::Telegram {
            api: settings.telegram_api.trim_end_matches('/').to_string(),
            token,
            chat,
        }),
        (Some(_), None) | (None, Some(_)) => tracing::warn!(
            "TELEGRAM_TOKEN and TELEGRAM_CHAT_ID go together: Telegram alerts are off"
        ),
        (None, None) => {}
    }
    if let Some(command) = get("ALERT_COMMAND") {
        out.push(Channel::Command { command });
    }
    out
}

/// Sends the messages on every channel; returns what happened, for the record.
pub fn send_all(
    channels: &[Channel],
    messages: &[AlertMessage],
    settings: &Settings,
    client: &net::http::ClientConfig,
) -> Vec<AlertSent> {
    let mut out = Vec::new();
    let max = settings.max_per_run.max(1) as usize;
    if messages.len() > max {
        tracing::warn!(
            messages = messages.len(),
            max,
            "more alert lines than pipeline.alerts.max_per_run: the rest are not sent"
        );
    }
    let messages = &messages[..messages.len().min(max)];
    if messages.is_empty() {
        return out;
    }
    let client = net::http::Client::new(client);
    for channel in channels {
        for m in messages {
            let (outcome, status, attempts, error) = match &client {
                Ok(client) => send_one(client, channel, &m.text, settings),
                Err(e) => ("failed", None, 0, Some(e.clone())),
            };
            if outcome == "failed" {
                tracing::warn!(
                    channel = channel.name(),
                    key = %m.key,
                    error = error.as_deref().unwrap_or(""),
                    "an alert could not be sent (the run goes on)"
                );
            } else {
                tracing::info!(channel = channel.name(), key = %m.key, "alert sent");
            }
            out.push(AlertSent {
                key: m.key.clone(),
                channel: channel.name().into(),
                sent_at: clock::now_rfc3339(),
                outcome: outcome.into(),
                status,
                attempts,
                error,
                text: m.text.clone(),
            });
            for key in &m.held {
                out.push(AlertSent {
                    key: key.clone(),
                    channel: channel.name().into(),
                    sent_at: clock::now_rfc3339(),
                    outcome: "held_back".into(),
                    status: None,
                    attempts: 0,
                    error: None,
                    text: format!("counted in the digest sent on {}", channel.name()),
                });
            }
        }
    }
    out
}

/// Attempts a send may take: the first and two retries (429s waited out count as attempts).
const ATTEMPTS: u32 = 3;

/// One message on one channel: (outcome, status, attempts, error).
fn send_one(
    client: &net::http::Client,
    channel: &Channel,
    text: &str,
    settings: &Settings,
) -> (&'static str, Option<i64>, u32, Option<String>) {
    let (url, body) = match channel {
        Channel::Command { command } => return run_command(command, text, settings.timeout.0),
        Channel::Webhook { url } => (url.clone(), serde_json::json!({ "text": text })),
        Channel::Telegram { api, token, chat } => (
            format!("{api}/bot{token}/sendMessage"),
            serde_json::json!({
                "chat_id": chat,
                "text": truncate(text, 4000),
                "link_preview_options": {"is_disabled": true},
            }),
        ),
    };
    let body = body.to_string();
    let hide = |msg: String| -> String {
        channel.secrets().iter().fold(msg, |m, s| {
            if s.is_empty() {
                m
            } else {
                m.replace(s, "<redacted>")
            }
        })
    };
    let mut last_status = None;
    let mut last_error = None;
    for attempt in 1..=ATTEMPTS {
        let request = net::http::Request {
            url: &url,
            form: None,
            json: Some(&body),
            headers: &[],
        };
        match client.send(&request) {
            Ok(answer) => {
                last_status = Some(i64::from(answer.status));
                let telegram_retry = telegram_retry_after(&answer.body);
                if (200..300).contains(&answer.status) {
                    if let Channel::Telegram { .. } = channel
                        && !telegram_ok(&answer.body)
                    {
                        last_error = Some(hide(telegram_description(&answer.body)));
                        return ("failed", last_status, attempt, last_error);
                    }
                    return ("sent", last_status, attempt, None);
                }
                if answer.status == 429 {
                    let wait = answer
                        .retry_after
                        .or(telegram_retry)
                        .unwrap_or(Duration::from_secs(1));
                    if wait > settings.max_retry_after.0 {
                        last_error = Some(format!(
                            "429: asked to wait {} s, more than pipeline.alerts.max_retry_after",
                            wait.as_secs()
                        ));
                        return ("failed", last_status, attempt, last_error);
                    }
                    last_error = Some("429 Too Many Requests".into());
                    if attempt < ATTEMPTS {
                        std::thread::sleep(wait);
                    }
                    continue;
                }
                let snippet = String::from_utf8_lossy(&answer.body);
                last_error = Some(hide(format!(
                    "HTTP {}: {}",
                    answer.status,
                    truncate(snippet.trim(), 120)
                )));
                if answer.status >= 500 && attempt < ATTEMPTS {
                    std::thread::sleep(Duration::from_secs(u64::from(attempt)));
                    continue;
                }
                return ("failed", last_status, attempt, last_error);
            }
            Err(e) => {
                last_error = Some(hide(e.to_string()));
                if attempt < ATTEMPTS {
                    std::thread::sleep(Duration::from_secs(u64::from(attempt)));
                }
            }
        }
    }
    ("failed", last_status, ATTEMPTS, last_error)
}

fn telegram_ok(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["ok"].as_bool())
        .unwrap_or(false)
}

fn telegram_description(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["description"].as_str().map(str::to_string))
        .unwrap_or_else(|| "Telegram answered without ok: true".into())
}

/// Telegram's `parameters.retry_after` (seconds) in a 429's body.
fn telegram_retry_after(body: &[u8]) -> Option<Duration> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v["parameters"]["retry_after"]
        .as_u64()
        .map(Duration::from_secs)
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// `sh -c COMMAND` with the message on stdin, in a process group of its own so that at
/// `timeout` it is killed with everything it started.
fn run_command(
    command: &str,
    text: &str,
    timeout: Duration,
) -> (&'static str, Option<i64>, u32, Option<String>) {
    use std::os::unix::process::CommandExt;
    let child = Command::new("sh")
        .arg("-c")
        .arg(command)
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            return (
                "failed",
                None,
                1,
                Some(format!("ALERT_COMMAND could not start: {e}")),
            );
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        // A command that does not read its stdin is its own business.
        let _ = stdin.write_all(text.as_bytes());
        let _ = stdin.write_all(b"\n");
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let code = status.code().map(i64::from);
                return if status.success() {
                    ("sent", code, 1, None)
                } else {
                    (
                        "failed",
                        code,
                        1,
                        Some(format!("ALERT_COMMAND exited with {status}")),
                    )
                };
            }
            Ok(None) if started.elapsed() > timeout => {
                // The group's id is the child's pid (process_group(0)); sh's own kill reaches it.
                let _ = Command::new("sh")
                    .arg("-c")
                    .arg(format!("kill -s KILL -- -{}", child.id()))
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                return (
                    "failed",
                    None,
                    1,
                    Some(format!(
                        "ALERT_COMMAND took longer than {} s: killed",
                        timeout.as_secs()
                    )),
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return ("failed", None, 1, Some(format!("ALERT_COMMAND: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_come_from_the_environment_only() {
        let settings = Settings::default();
        let env = |k: &str| match k {
            "ALERT_WEBHOOK" => Some("http://127.0.0.1:9/hook".to_string()),
            "TELEGRAM_TOKEN" => Some("123:abc".to_string()),
            _ => None,
        };
        let names: Vec<&str> = channels(&settings, &env)
            .iter()
            .map(Channel::name)
            .collect();
        assert_eq!(names, ["webhook"], "a token without a chat is no channel");
    }

    #[test]
    fn a_command_gets_the_message_on_stdin() {
        let dir = std::env::temp_dir().join(format!("run-record-alert-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let out = dir.join("got.txt");
        let cmd = format!("cat > '{}'", out.display());
        let (outcome, code, ..) = run_command(&cmd, "qa lag red", Duration::from_secs(5));
        assert_eq!((outcome, code), ("sent", Some(0)));
        assert_eq!(std::fs::read_to_string(&out).expect("read"), "qa lag red\n");
        let (outcome, ..) = run_command("exit 3", "x", Duration::from_secs(5));
        assert_eq!(outcome, "failed");
        // Killed at the timeout with what it started: the grandchild never writes.
        let late = dir.join("late.txt");
        let cmd = format!("(sleep 1; echo late > '{}') & sleep 5", late.display());
        let (outcome, _, _, error) = run_command(&cmd, "x", Duration::from_millis(200));
        assert_eq!(outcome, "failed");
        assert!(error.unwrap_or_default().contains("killed"));
        std::thread::sleep(Duration::from_millis(1500));
        assert!(!late.exists(), "the command's own children were killed too");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
