//! `--raw-dir DIR`: every answer a provider gave with data, kept gzip-compressed as
//! `DIR/<run date>/<symbol>.<provider>[.<n>].<json|csv>.gz` (`n` counts a symbol's further
//! answers: pages, reference data), with its SHA-256 logged, so a surprising bar can be traced
//! to exactly what the provider sent, and re-parsed later.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

pub struct RawDir {
    dir: PathBuf,
    /// Answers that could not be kept: the run goes on (the bars are the point), but ends with
    /// exit 74 — the archive the user asked for is incomplete.
    failed: std::sync::atomic::AtomicU64,
}

impl RawDir {
    /// The run's directory, `root/<date>/`, created now.
    pub fn create(root: &Path, date: NaiveDate) -> std::io::Result<RawDir> {
        let dir = root.join(date.to_string());
        std::fs::create_dir_all(&dir)?;
        Ok(RawDir {
            dir,
            failed: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Notes an answer that could not be kept.
    pub fn note_failure(&self) {
        self.failed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Answers that could not be kept so far.
    pub fn failures(&self) -> u64 {
        self.failed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Keeps `body` as `name` + `.gz` (a symbol's safe file name first; replacing an earlier
    /// answer of this run, atomically) and returns its path and the SHA-256 of the uncompressed
    /// body, in hex.
    pub fn keep(&self, name: &str, body: &[u8]) -> std::io::Result<(PathBuf, String)> {
        let path = self.dir.join(format!("{name}.gz"));
        let mut gz = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::new(6));
        gz.write_all(body)?;
        let bytes = gz.finish()?;
        tickerlake::atomic::write_atomic(&path, &bytes)?;
        let digest = Sha256::digest(body);
        let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
        Ok((path, hex))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use tickerlake::Symbol;

    #[test]
    fn answers_are_kept_compressed_under_the_run_date_with_their_digest() {
        let dir = tempfile::tempdir().unwrap();
        let raw = RawDir::create(dir.path(), "2024-01-05".parse().unwrap()).unwrap();
        let body = br#"{"chart":{"result":null,"error":null}}"#;
        let (path, sha) = raw
            .keep(
                &format!("{}.yahoo.json", Symbol::parse("BRK.B").unwrap().file_name()),
                body,
            )
            .unwrap();
        assert!(path.starts_with(dir.path().join("2024-01-05")));
        assert!(path.to_string_lossy().ends_with(".json.gz"));
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, body);
        // sha256 of the body, as `sha256sum` prints it.
        assert_eq!(sha.len(), 64);
        assert_eq!(
            RawDir::create(dir.path(), "2024-01-05".parse().unwrap())
                .unwrap()
                .keep("X.yahoo.json", b"")
                .unwrap()
                .1,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
