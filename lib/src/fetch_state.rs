//! The fetch state (`--state FILE`): per symbol, how its last runs went, and the dead-letter list.
//!
//! A symbol that fails on `fetch.dead_letter_after` runs in a row (default 3) goes to the
//! dead-letter list and is skipped from then on, until `--retry-dlq`, or until the universe
//! lists it again with a `last_seen` newer than the day it was dead-lettered (the listing is
//! alive after all). The file is JSON, replaced atomically at the end of each run.

use std::collections::BTreeMap;
use std::path::Path;

use crate::records::{FetchErrorCode, Ticker};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Where a symbol stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolStatus {
    #[default]
    Ok,
    /// Failed on its last run(s), not yet dead-lettered.
    Error,
    /// On the dead-letter list: skipped.
    Dlq,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolState {
    pub status: SymbolStatus,
    /// The newest bar date fetched so far.
    #[serde(default, with = "crate::records::date_format::option")]
    pub last_fetched_date: Option<NaiveDate>,
    /// Runs in a row on which the symbol failed.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// The last failure: its code and message.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Time of the last fetch, waits included.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// When it went to the dead-letter list.
    #[serde(default, with = "crate::records::date_format::option")]
    pub dead_lettered_on: Option<NaiveDate>,
    /// The provider that served it last (`--provider a,b` falls back per symbol).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Splits and dividends seen in recent fetches (`YYYY-MM-DD split`, `YYYY-MM-DD
    /// dividend`): one not among them inside a fetched window restates the symbol's history.
    /// Only the last [`ACTIONS_KEPT_DAYS`] days are kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    /// When its whole history was last fetched again because of a new split or dividend.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::records::date_format::option"
    )]
    pub restated_on: Option<NaiveDate>,
}

/// Days of actions the state remembers: more than any look-back or actions window.
pub const ACTIONS_KEPT_DAYS: u64 = 400;

/// How the state names an action: its date and kind.
pub fn action_key(action: &crate::records::Action) -> String {
    let kind = match action.action {
        crate::records::ActionKind::Split => "split",
        crate::records::ActionKind::Dividend => "dividend",
    };
    format!("{} {kind}", action.date)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub version: u32,
    pub symbols: BTreeMap<String, SymbolState>,
}

impl Default for State {
    fn default() -> State {
        State {
            version: 1,
            symbols: BTreeMap::new(),
        }
    }
}

/// Why the state file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a fetch state file: {message}")]
    Bad { path: String, message: String },
}

impl crate::HasExitCode for StateError {
    /// A state file that cannot be read or written is an I/O error (74); one that is not a
    /// state file is bad data (65).
    fn exit_code(&self) -> crate::ExitCode {
        match self {
            StateError::Io { .. } => crate::ExitCode::IoErr,
            StateError::Bad { .. } => crate::ExitCode::DataErr,
        }
    }
}

impl State {
    /// The state at `path`; a missing file is a first run.
    pub fn load(path: &Path) -> Result<State, StateError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(source) => {
                return Err(StateError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        let state: State = serde_json::from_slice(&bytes).map_err(|e| StateError::Bad {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        if state.version != 1 {
            return Err(StateError::Bad {
                path: path.display().to_string(),
                message: format!("version {} (this program writes 1)", state.version),
            });
        }
        Ok(state)
    }

    /// Replaces the file atomically.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        crate::atomic::write_json_atomic(path, self).map_err(|source| StateError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// Whether `ticker` is on the dead-letter list and stays skipped.
    pub fn skips(&self, ticker: &Ticker, retry_dlq: bool) -> bool {
        let Some(s) = self.symbols.get(ticker.symbol.as_str()) else {
            return false;
        };
        if s.status != SymbolStatus::Dlq || retry_dlq {
            return false;
        }
        // Listed again by a newer universe than the one it failed in: give it another chance.
        !matches!((ticker.last_seen, s.dead_lettered_on), (Some(seen), Some(dlq)) if seen > dlq)
    }

    /// A successful fetch (bars or up to date) by `provider`.
    pub fn record_ok(
        &mut self,
        symbol: &str,
        newest: Option<NaiveDate>,
        latency_ms: u64,
        provider: &str,
    ) {
        let s = self.symbols.entry(symbol.to_string()).or_default();
        s.provider = Some(provider.to_string());
        s.status = SymbolStatus::Ok;
        s.consecutive_failures = 0;
        s.last_error = None;
        s.dead_lettered_on = None;
        s.latency_ms = Some(latency_ms);
        s.last_fetched_date = s.last_fetched_date.max(newest);
    }

    /// Whether `symbol`'s remembered actions include `action`.
    pub fn knows_action(&self, symbol: &str, action: &crate::records::Action) -> bool {
        let key = action_key(action);
        self.symbols
            .get(symbol)
            .is_some_and(|s| s.actions.contains(&key))
    }

    /// Remembers `actions` of `symbol`, forgetting those older than [`ACTIONS_KEPT_DAYS`]
    /// before `until` (the fetch's last day).
    pub fn remember_actions(
        &mut self,
        symbol: &str,
        actions: &[crate::records::Action],
        until: NaiveDate,
    ) {
        let horizon = until - chrono::Days::new(ACTIONS_KEPT_DAYS);
        let s = self.symbols.entry(symbol.to_string()).or_default();
        s.actions
            .extend(actions.iter().filter(|a| a.date >= horizon).map(action_key));
        s.actions.retain(|k| {
            k.get(..10)
                .and_then(|d| d.parse::<NaiveDate>().ok())
                .is_some_and(|d| d >= horizon)
        });
        s.actions.sort();
        s.actions.dedup();
    }

    /// Notes that `symbol`'s whole history was fetched again on `today`.
    pub fn record_restatement(&mut self, symbol: &str, today: NaiveDate) {
        self.symbols
            .entry(symbol.to_string())
            .or_default()
            .restated_on = Some(today);
    }

    /// A failed fetch; `true` when it puts the symbol on the dead-letter list.
    pub fn record_failure(
        &mut self,
        symbol: &str,
        code: FetchErrorCode,
        message: &str,
        latency_ms: u64,
        dead_letter_after: u32,
        today: NaiveDate,
    ) -> bool {
        let s = self.symbols.entry(symbol.to_string()).or_default();
        s.consecutive_failures += 1;
        s.latency_ms = Some(latency_ms);
        let code = serde_json::to_value(code)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        s.last_error = Some(format!("{code}: {message}"));
        if s.consecutive_failures >= dead_letter_after.max(1) && s.status != SymbolStatus::Dlq {
            s.status = SymbolStatus::Dlq;
            s.dead_lettered_on = Some(today);
            true
        } else {
            if s.status != SymbolStatus::Dlq {
                s.status = SymbolStatus::Error;
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Symbol;

    fn ticker(symbol: &str, last_seen: Option<&str>) -> Ticker {
        let mut t = Ticker::new(Symbol::parse(symbol).unwrap());
        t.last_seen = last_seen.map(|d| d.parse().unwrap());
        t
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn three_failing_runs_dead_letter_a_symbol_and_a_success_clears_it() {
        let mut st = State::default();
        let fail = |st: &mut State, d: &str| {
            st.record_failure("X", FetchErrorCode::NotFound, "gone", 10, 3, day(d))
        };
        assert!(!fail(&mut st, "2024-01-01"));
        assert!(!fail(&mut st, "2024-01-02"));
        assert_eq!(st.symbols["X"].status, SymbolStatus::Error);
        assert!(fail(&mut st, "2024-01-03"));
        assert_eq!(st.symbols["X"].status, SymbolStatus::Dlq);
        assert_eq!(
            st.symbols["X"].last_error.as_deref(),
            Some("NOTFOUND: gone")
        );
        assert!(st.skips(&ticker("X", None), false));
        assert!(!st.skips(&ticker("X", None), true), "--retry-dlq");
        // A universe that lists it again after it was dead-lettered brings it back.
        assert!(st.skips(&ticker("X", Some("2024-01-03")), false));
        assert!(!st.skips(&ticker("X", Some("2024-01-10")), false));
        // Failing again while dead-lettered does not move its date.
        assert!(!fail(&mut st, "2024-01-10"));
        assert_eq!(st.symbols["X"].dead_lettered_on, Some(day("2024-01-03")));
        st.record_ok("X", Some(day("2024-01-09")), 5, "yahoo");
        let s = &st.symbols["X"];
        assert_eq!((s.status, s.consecutive_failures), (SymbolStatus::Ok, 0));
        assert_eq!(s.last_fetched_date, Some(day("2024-01-09")));
        assert!(!st.skips(&ticker("X", None), false));
    }

    #[test]
    fn the_file_round_trips_and_a_broken_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert_eq!(State::load(&path).unwrap(), State::default());
        let mut st = State::default();
        st.record_ok("AAPL", Some(day("2024-01-05")), 120, "stooq");
        st.record_failure(
            "GONE",
            FetchErrorCode::NotFound,
            "gone",
            30,
            3,
            day("2024-01-05"),
        );
        st.save(&path).unwrap();
        assert_eq!(State::load(&path).unwrap(), st);
        std::fs::write(
            &path,
            "{\"version\":1,\"symbols\":{\"A\":{\"status\":\"maybe\"}}}",
        )
        .unwrap();
        let e = State::load(&path).unwrap_err().to_string();
        assert!(e.contains("not a fetch state file"), "{e}");
    }
}
