//! The data directory: what lives where, and whether a directory is one.
//!
//! ```text
//! DATA/.tickerlake-data.json     the marker: this directory is a pipeline's
//! DATA/lake/                     the Parquet lake (to-parquet)
//! DATA/qlib/                     the Qlib store (qlib-bin)
//! DATA/universe/<date>.ndjson    versioned universes, latest.ndjson -> the newest
//! DATA/training/v<N>_<date>/     versioned training sets
//! DATA/runs/<date>_<run_id>/     one directory per run: metadata.json and the steps' files
//! DATA/runs/index.ndjson         one line per finished run
//! DATA/runs/latest.json          the last finished run's metadata.json
//! DATA/state/                    fetch.json, scrape-status.json, watermarks.json
//! DATA/raw/                      raw downloads (scrapes/<date>/, bars/<date>/), purged after N days
//! DATA/logs/<date>_<run_id>.log  each run's JSON log lines
//! ```
//!
//! A directory that is neither empty nor marked is never written into: the pipeline would mix its
//! files with someone else's.

use std::path::{Path, PathBuf};

use crate::Error;

/// `p` made absolute (against the working directory), as given when it cannot be.
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// The marker file's name.
pub const MARKER: &str = ".tickerlake-data.json";

/// The paths of one data directory.
#[derive(Debug, Clone)]
pub struct DataDir {
    pub root: PathBuf,
}

impl DataDir {
    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn lake(&self) -> PathBuf {
        self.root.join("lake")
    }
    pub fn qlib(&self) -> PathBuf {
        self.root.join("qlib")
    }
    pub fn universe_dir(&self) -> PathBuf {
        self.root.join("universe")
    }
    /// The newest universe (a symbolic link to `<date>.ndjson`).
    pub fn universe_latest(&self) -> PathBuf {
        self.universe_dir().join("latest.ndjson")
    }
    pub fn training_dir(&self) -> PathBuf {
        self.root.join("training")
    }
    pub fn runs(&self) -> PathBuf {
        self.root.join("runs")
    }
    pub fn index(&self) -> PathBuf {
        self.runs().join("index.ndjson")
    }
    pub fn latest_run(&self) -> PathBuf {
        self.runs().join("latest.json")
    }
    pub fn state(&self) -> PathBuf {
        self.root.join("state")
    }
    pub fn watermarks(&self) -> PathBuf {
        self.state().join("watermarks.json")
    }
    pub fn raw(&self) -> PathBuf {
        self.root.join("raw")
    }
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// `path` relative to the data directory when it lies inside it.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }

    /// Whether the directory carries the marker.
    pub fn is_ours(&self) -> bool {
        self.root.join(MARKER).is_file()
    }

    /// Makes the directory the pipeline's: creates it (and the marker) when it is missing or
    /// empty; refuses one that holds anything without the marker (exit 2).
    pub fn claim(&self) -> Result<(), Error> {
        if self.is_ours() {
            return Ok(());
        }
        match std::fs::read_dir(&self.root) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(Error::Usage(format!(
                        "{}: a non-empty directory that is not a tickerlake data directory (no {MARKER}): \
                         give --data an empty or new directory, or create {MARKER} in it to adopt it",
                        self.root.display()
                    )));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(&self.root).map_err(|e| Error::write(&self.root, e))?;
            }
            Err(e) => return Err(Error::read(&self.root, e)),
        }
        let marker = serde_json::json!({
            "tickerlake": "data",
            "version": 1,
            "created_at": crate::clock::now_rfc3339(),
        });
        tickerlake::atomic::write_json_atomic(self.root.join(MARKER), &marker)
            .map_err(|e| Error::write(&self.root.join(MARKER), e))
    }

    /// The run directories' names (`<date>_<run_id>`), oldest first.
    pub fn run_dirs(&self) -> Result<Vec<String>, Error> {
        let runs = self.runs();
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&runs) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(Error::read(&runs, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::read(&runs, e))?;
            if entry.path().join("metadata.json").is_file()
                && let Some(name) = entry.file_name().to_str()
            {
                out.push(name.to_string());
            }
        }
        out.sort();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_with_foreign_files_is_refused_and_an_empty_one_claimed() {
        let tmp = std::env::temp_dir().join(format!("run-record-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let fresh = DataDir::new(tmp.join("new"));
        fresh.claim().expect("a new directory is claimed");
        assert!(fresh.is_ours());
        let foreign = tmp.join("foreign");
        std::fs::create_dir_all(&foreign).expect("mkdir");
        std::fs::write(foreign.join("thesis.tex"), "mine").expect("write");
        let err = DataDir::new(&foreign).claim().expect_err("not ours");
        assert!(
            err.to_string().contains("not a tickerlake data directory"),
            "{err}"
        );
        assert!(!foreign.join(MARKER).exists());
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
