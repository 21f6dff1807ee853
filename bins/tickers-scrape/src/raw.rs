//! `--raw-dir DIR`: every download kept as it came, as `DIR/<YYYY-MM-DD>/<source>/<file>`, so a
//! run can be replayed (`tickers-scrape NAME --input DIR/…/*`) and audited against the digests
//! in the status file.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use crate::source::RawFile;

pub struct RawDir {
    /// `DIR/<date>`.
    day: PathBuf,
}

impl RawDir {
    pub fn new(root: &Path, date: NaiveDate) -> RawDir {
        RawDir {
            day: root.join(date.to_string()),
        }
    }

    /// Keeps `file` of `source`, replacing an earlier download of the day atomically (never
    /// through a symbolic link put in its place: what it points to is not ours).
    pub fn keep(&self, source: &str, file: &RawFile) -> std::io::Result<PathBuf> {
        let dir = self.day.join(source);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(&file.name);
        if path
            .symlink_metadata()
            .is_ok_and(|m| !m.file_type().is_file())
        {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{}: there, and not a regular file: not replaced",
                    path.display()
                ),
            ));
        }
        tickerlake::atomic::write_atomic(&path, &file.bytes)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downloads_are_kept_by_day_source_and_name_and_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let raw = RawDir::new(dir.path(), "2025-07-21".parse().unwrap());
        let file = |bytes: &[u8]| RawFile {
            name: "nasdaqlisted.txt".into(),
            bytes: bytes.to_vec(),
        };
        let path = raw.keep("nasdaqtrader", &file(b"first")).unwrap();
        assert_eq!(
            path,
            dir.path().join("2025-07-21/nasdaqtrader/nasdaqlisted.txt")
        );
        raw.keep("nasdaqtrader", &file(b"second")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        // Nothing but the file in its directory: no temporary left behind.
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
        // A link in a download's place is not written through.
        let outside = dir.path().join("outside.txt");
        std::fs::write(&outside, b"mine").unwrap();
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&outside, &path).unwrap();
        assert!(raw.keep("nasdaqtrader", &file(b"third")).is_err());
        assert_eq!(std::fs::read(&outside).unwrap(), b"mine");
    }
}
