//! What every writer of a directory of data shares: one writer at a time, work built beside the
//! target, one rule for what a killed run left behind, and one file-system flush.
//!
//! - [`lock`]: an OS lock on a file, held for the writer's life and released even on `kill -9`.
//! - [`StagingDir`]: `PARENT/.NAME.tickerlake-staging-PID-STAMP/`, beside the target on the same
//!   file system, removed when dropped unless it was moved into place.
//! - [`remove_abandoned`]: the one cleanup rule — a staging directory whose process is gone was
//!   left by a killed run, and the next writer (holding the lock) removes it.
//! - [`sync_file_system`]: every dirty page of a file system at once (`syncfs`).
//! - [`exchange`]: two directories swapped in one step, for a new version built beside its
//!   target.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Takes the exclusive lock on `path` (created if missing). `Ok(None)`: another process holds
/// it.
pub fn lock(path: &Path) -> io::Result<Option<fs::File>> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(fs::TryLockError::WouldBlock) => Ok(None),
        Err(fs::TryLockError::Error(e)) => Err(e),
    }
}

/// The name prefix of `target`'s staging directories.
fn prefix(target: &Path) -> Option<String> {
    let name = target.file_name()?.to_str()?;
    Some(format!(".{name}.tickerlake-staging-"))
}

/// A directory beside `target` where a new version of it (or new parts of it) is built.
#[derive(Debug)]
pub struct StagingDir {
    path: PathBuf,
    keep: bool,
}

impl StagingDir {
    /// Creates `PARENT/.NAME.tickerlake-staging-PID-STAMP/` beside `target`.
    pub fn create(target: &Path) -> io::Result<StagingDir> {
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let prefix = prefix(target)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no directory name"))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = parent.join(format!("{prefix}{}-{stamp}", std::process::id()));
        fs::create_dir(&path)?;
        Ok(StagingDir { path, keep: false })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory was moved into place (or holds what must stay): not removed on drop.
    pub fn keep(&mut self) {
        self.keep = true;
    }

    /// Removes the directory, which should hold nothing now but the files named `ours` (those
    /// go). If something else is in it (not of this run), nothing of that is removed: the
    /// directory is renamed to `PARENT/NAME.kept-PID-STAMP` beside `target`, outside the
    /// staging names that a later run cleans up, and that path is returned.
    pub fn remove_emptied(mut self, target: &Path, ours: &[&str]) -> Result<(), PathBuf> {
        self.keep = true;
        for name in ours {
            let _ = fs::remove_file(self.path.join(name));
        }
        if fs::remove_dir(&self.path).is_ok() || !self.path.exists() {
            return Ok(());
        }
        let name = target
            .file_name()
            .map_or_else(|| "lake".into(), |n| n.to_string_lossy().into_owned());
        let suffix = self
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.rsplit_once("-staging-"))
            .map_or("", |(_, rest)| rest)
            .to_string();
        let kept = self.path.with_file_name(format!("{name}.kept-{suffix}"));
        match fs::rename(&self.path, &kept) {
            Ok(()) => Err(kept),
            Err(_) => Err(self.path.clone()),
        }
    }
}

impl Drop for StagingDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// Removes the staging directories of `target` whose process is gone: what a killed run left.
/// Call it holding the target's lock. A directory of a live process (another run's) is left.
pub fn remove_abandoned(target: &Path) {
    let (Some(parent), Some(prefix)) = (target.parent(), prefix(target)) else {
        return;
    };
    let parent = if parent.as_os_str().is_empty() {
        Path::new(".")
    } else {
        parent
    };
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        let abandoned = match pid {
            Some(p) => p != std::process::id() && !process_alive(p),
            // Not of our naming: left alone.
            None => false,
        };
        if abandoned && entry.file_type().is_ok_and(|t| t.is_dir()) {
            let p = entry.path();
            if fs::remove_dir_all(&p).is_ok() {
                tracing::info!(dir = %p.display(), "removed the staging directory of an interrupted run");
            }
        }
    }
}

#[cfg(target_os = "linux")]
fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Without /proc, a staging directory is never assumed abandoned.
#[cfg(not(target_os = "linux"))]
fn process_alive(_pid: u32) -> bool {
    true
}

/// Swaps two directories (or files) at once (`renameat2` with `RENAME_EXCHANGE`): each path
/// then names what the other did. Fails, changing nothing, where the file system cannot
/// (callers then fall back to moving the parts one by one).
#[cfg(target_os = "linux")]
pub fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
pub fn exchange(_a: &Path, _b: &Path) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Flushes every dirty page and all metadata of the file system holding `dir` (one journal
/// commit instead of an fsync per file).
#[cfg(target_os = "linux")]
pub fn sync_file_system(dir: &Path) -> io::Result<()> {
    let d = fs::File::open(dir)?;
    rustix::fs::syncfs(&d).map_err(io::Error::from)
}

#[cfg(not(target_os = "linux"))]
pub fn sync_file_system(_dir: &Path) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_writer_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let held = lock(&path).unwrap();
        assert!(held.is_some());
        // A second open file description of the same file cannot take it.
        assert!(lock(&path).unwrap().is_none());
        drop(held);
        assert!(lock(&path).unwrap().is_some());
    }

    #[test]
    fn an_emptied_staging_directory_goes_and_a_stranger_s_file_is_set_aside_not_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("store");
        let s = StagingDir::create(&target).unwrap();
        fs::write(s.path().join("lock"), "").unwrap();
        let p = s.path().to_path_buf();
        assert_eq!(s.remove_emptied(&target, &["lock", "marker"]), Ok(()));
        assert!(!p.exists());

        let s = StagingDir::create(&target).unwrap();
        fs::write(s.path().join("lock"), "").unwrap();
        fs::write(s.path().join("theirs.txt"), "keep me").unwrap();
        let kept = s.remove_emptied(&target, &["lock"]).unwrap_err();
        assert_eq!(
            fs::read_to_string(kept.join("theirs.txt")).unwrap(),
            "keep me"
        );
        assert!(!kept.join("lock").exists());
        // Not a staging name: a later run's clean-up leaves it alone.
        assert!(
            kept.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("store.kept-")
        );
        remove_abandoned(&target);
        assert!(kept.join("theirs.txt").is_file());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn exchange_swaps_two_directories_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::create_dir_all(a.join("sub")).unwrap();
        fs::create_dir(&b).unwrap();
        fs::write(b.join("f"), "b's").unwrap();
        exchange(&a, &b).unwrap();
        assert!(b.join("sub").is_dir() && !b.join("f").exists());
        assert_eq!(fs::read_to_string(a.join("f")).unwrap(), "b's");
        // Nothing to swap with: an error, and nothing moved.
        assert!(exchange(&a, &dir.path().join("none")).is_err());
        assert!(a.join("f").is_file());
    }

    #[test]
    fn staging_beside_the_target_is_removed_unless_kept_and_abandoned_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("store");
        let s = StagingDir::create(&target).unwrap();
        let p = s.path().to_path_buf();
        assert!(p.is_dir() && p.parent() == Some(dir.path()));
        drop(s);
        assert!(!p.exists());
        // A dead process's staging (pid 0 is never a process of ours) goes; a live one stays;
        // another target's and a name not of our making stay.
        let dead = dir.path().join(".store.tickerlake-staging-4294967294-1");
        let live = dir.path().join(format!(
            ".store.tickerlake-staging-{}-1",
            std::process::id()
        ));
        let other = dir.path().join(".store2.tickerlake-staging-4294967294-1");
        let odd = dir.path().join(".store.tickerlake-staging-x");
        for d in [&dead, &live, &other, &odd] {
            fs::create_dir(d).unwrap();
        }
        remove_abandoned(&target);
        assert!(!dead.exists());
        assert!(live.exists() && other.exists() && odd.exists());
    }
}
