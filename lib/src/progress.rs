//! Progress bars on stderr, drawn only when stderr is a terminal (and not under `-q`): pipes, cron
//! and CI logs stay clean.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar that may be invisible. Every method is a no-op when it is.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Whether bars would be drawn now.
    pub fn enabled(quiet: bool) -> bool {
        !quiet
            && std::io::stderr().is_terminal()
            && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
    }

    /// A bar over `total` bytes (a spinner with a byte count when the total is unknown).
    pub fn bytes(label: &str, total: Option<u64>, quiet: bool) -> Progress {
        Progress::new(
            label,
            total,
            quiet,
            "{prefix} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            "{prefix} {spinner} {bytes} {bytes_per_sec}",
        )
    }

    /// A bar over `total` items (symbols, files).
    pub fn items(label: &str, total: Option<u64>, quiet: bool) -> Progress {
        Progress::new(
            label,
            total,
            quiet,
            "{prefix} {bar:30} {pos}/{len} {per_sec} eta {eta}",
            "{prefix} {spinner} {pos} {per_sec}",
        )
    }

    fn new(label: &str, total: Option<u64>, quiet: bool, bar: &str, spinner: &str) -> Progress {
        if !Progress::enabled(quiet) {
            return Progress { bar: None };
        }
        let pb = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
            None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        };
        let template = if total.is_some() { bar } else { spinner };
        if let Ok(style) = ProgressStyle::with_template(template) {
            pb.set_style(style);
        }
        pb.set_prefix(label.to_string());
        pb.enable_steady_tick(Duration::from_millis(200));
        Progress { bar: Some(pb) }
    }

    pub fn set_position(&self, pos: u64) {
        if let Some(b) = &self.bar {
            b.set_position(pos);
        }
    }

    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    /// Removes the bar from the screen.
    pub fn finish(mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
