//! The status file (`--status`): per source, how its last run went, and the last good run the
//! row-count guard compares with. Replaced atomically; sources not in this run keep their entry.

use std::path::Path;

use crate::Error;

pub use tickerlake::scrape_status::{
    FileDigest, GoodRun, Outcome, SHRANK, STRUCTURE, SourceStatus, StatusFile,
};

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
