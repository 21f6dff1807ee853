//! The status file (`--status`): per source, how its last run went, and the last good run the
//! row-count guard compares with. Replaced atomically; sources not in this run keep their entry.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::source::Counts;

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
    /// The file at `path`; none yet is an empty one. A file that is there but unreadable is an
    /// error: the guard must not be skipped by accident.
    pub fn load(path: &Path) -> Result<StatusFile, Error> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(StatusFile::default());
            }
            Err(source) => {
                return Err(Error::Lib(tickerlake::Error::Read {
                    name: path.display().to_string(),
                    source,
                }));
            }
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::Data(format!(
                "{}: not a tickers-scrape status file ({e}); move it aside to start afresh",
                path.display()
            ))
        })
    }

    pub fn save(&self, path: &Path) -> Result<(), Error> {
        tickerlake::cli::write_summary(path, self).map_err(Error::Lib)
    }
}

/// Waits for and takes the lock of the status file at `path` (`.NAME.lock` beside it), held
/// while the file is read, updated and replaced.
pub fn lock(path: &Path) -> Result<std::fs::File, Error> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lock = path.with_file_name(format!(".{name}.lock"));
    let io = |source| {
        Error::Lib(tickerlake::Error::Create {
            path: lock.display().to_string(),
            source,
        })
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(io)?;
    file.lock().map_err(io)?;
    Ok(file)
}

/// The row-count guard: `records` against the last good run's, below `ratio` of it is a
/// structure error (a listing delivered in part would read as delistings downstream).
pub fn guard(records: u64, last: Option<&GoodRun>, ratio: f64) -> Option<String> {
    let last = last?;
    let floor = (last.records as f64 * ratio).ceil() as u64;
    (records < floor).then(|| {
        format!(
            "{records} records, fewer than {:.0} % of the {} of the last good run ({}): \
             scrape.min_rows_ratio",
            ratio * 100.0,
            last.records,
            last.as_of
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_refuses_a_listing_that_shrank() {
        let last = GoodRun {
            as_of: chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
            records: 1000,
        };
        assert!(guard(800, Some(&last), 0.8).is_none());
        assert!(guard(799, Some(&last), 0.8).unwrap().contains("1000"));
        assert!(guard(10, None, 0.8).is_none());
        assert!(guard(0, Some(&last), 0.0).is_none());
    }
}
