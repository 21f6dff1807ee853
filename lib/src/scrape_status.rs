//! `tickers-scrape`'s status file (`--status`): per source, how its last run went — the
//! "scrape_status" of the notes. `tickers-scrape` writes it and reads its last good runs back
//! for the row-count guard; `tickers-filter` reads it as the evidence that a source was read
//! whole before it delists anything.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What a source's parse keeps beside the records.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Counts {
    /// Data rows read.
    pub rows: u64,
    /// Test issues left out (Nasdaq Trader's `Test Issue = Y`).
    pub test_issues: u64,
    /// Rows whose symbol is no symbol after canonicalisation: reported, skipped.
    pub bad_symbols: u64,
    /// Rows whose venue code the source table does not know: kept, without an exchange.
    pub unknown_venues: u64,
    /// Rows naming a listing already listed by this source: the first is kept.
    pub duplicates: u64,
    /// Instruments the source marks inactive: left out.
    pub inactive: u64,
}

/// How a source's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    StructureError,
    FetchError,
}

/// Error codes of the status file (and the logs).
pub const STRUCTURE: &str = "SCRAPE404";
pub const SHRANK: &str = "SCRAPEROWS";

/// One raw file: where it came from, its size and digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDigest {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// The last run that parsed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoodRun {
    pub as_of: chrono::NaiveDate,
    pub records: u64,
}

/// One source's entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceStatus {
    pub kind: String,
    pub status: Outcome,
    pub as_of: chrono::NaiveDate,
    /// Ticker records it gave.
    pub records: u64,
    #[serde(flatten)]
    pub counts: Counts,
    pub files: Vec<FileDigest>,
    pub seconds: f64,
    pub code: Option<String>,
    pub message: Option<String>,
    /// The run the guard compares with: this one when it parsed, else the last one that did.
    pub last_good: Option<GoodRun>,
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatusFile {
    pub sources: BTreeMap<String, SourceStatus>,
}

impl StatusFile {
    /// The file at `path`; none yet is an empty one (`tickers-scrape`'s first run). A file that
    /// is there but unreadable is an error: the guard must not be skipped by accident.
    pub fn load(path: &Path) -> Result<StatusFile, StatusError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(StatusFile::default());
            }
            Err(source) => {
                return Err(StatusError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        serde_json::from_slice(&bytes).map_err(|e| StatusError::Bad {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    pub fn save(&self, path: &Path) -> Result<(), crate::Error> {
        crate::cli::write_summary(path, self)
    }
}

/// Why the status file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("{path}: read error: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a tickers-scrape status file ({message}); move it aside to start afresh")]
    Bad { path: String, message: String },
}

impl crate::HasExitCode for StatusError {
    /// Unreadable: an I/O error (74); not a status file: bad data (65).
    fn exit_code(&self) -> crate::ExitCode {
        match self {
            StatusError::Io { .. } => crate::ExitCode::IoErr,
            StatusError::Bad { .. } => crate::ExitCode::DataErr,
        }
    }
}
