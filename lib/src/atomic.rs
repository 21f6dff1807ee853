//! Atomic file output: write to a temporary file in the target's directory, fsync it, rename it
//! over the target, fsync the directory. A crash or a kill at any point leaves either the old
//! file or the new one, never a torn mix, and a failed run leaves the previous good data.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A file being written that replaces `path` only on [`AtomicFile::commit`]. Dropping it without
/// committing deletes the temporary file and leaves `path` untouched.
pub struct AtomicFile {
    target: PathBuf,
    temp: BufWriter<tempfile::NamedTempFile>,
    writeback: Option<Writeback>,
}

/// Flushes a large file to disk while it is still being written, on a thread of its own, so
/// that the fsync before the rename finds little left to write and the run does not end
/// waiting on the disk.
///
/// The thread syncs a duplicate of the file's descriptor. That descriptor shares the file's
/// open file description, and Linux reports a writeback error to only one fsync per
/// description, so the thread keeps the first error it sees and [`AtomicFile::commit`] fails
/// with it.
struct Writeback {
    /// Bytes written since the last request.
    unsynced: u64,
    every: u64,
    requests: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<io::Result<()>>,
}

impl Writeback {
    fn start(file: File, every: u64) -> io::Result<Writeback> {
        let (requests, pending) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("writeback".into())
            .spawn(move || {
                let mut first_error = Ok(());
                while pending.recv().is_ok() {
                    // Requests that came in during the last sync are covered by this one.
                    while pending.try_recv().is_ok() {}
                    if let Err(e) = file.sync_data()
                        && first_error.is_ok()
                    {
                        first_error = Err(e);
                    }
                }
                first_error
            })?;
        Ok(Writeback {
            unsynced: 0,
            every,
            requests,
            thread,
        })
    }

    fn wrote(&mut self, n: usize) {
        self.unsynced += n as u64;
        if self.unsynced >= self.every {
            self.unsynced = 0;
            // A closed channel means the thread is gone; commit reports why.
            let _ = self.requests.send(());
        }
    }

    /// Waits for the thread and returns the first error it met.
    fn finish(self) -> io::Result<()> {
        drop(self.requests);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writeback thread panicked")))
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

impl AtomicFile {
    /// Starts writing a replacement for `path`. The directory must exist. A symlink is followed,
    /// so the file it points at is replaced, not the link. Only regular files (or new names)
    /// can be replaced: renaming over a device such as `/dev/null` would destroy it.
    pub fn create(path: impl Into<PathBuf>) -> io::Result<AtomicFile> {
        let mut target = path.into();
        if let Ok(meta) = std::fs::symlink_metadata(&target) {
            if meta.file_type().is_symlink() {
                target = std::fs::canonicalize(&target)?;
            }
            let meta = std::fs::metadata(&target)?;
            if !meta.is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a regular file: refusing to replace it",
                ));
            }
        }
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // tempfile creates 0600 files; a data file is for every reader the umask allows, and a
        // replaced file keeps its mode.
        let mode = std::fs::metadata(&target).map(|m| m.permissions()).ok();
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = builder.tempfile_in(parent_dir(&target))?;
        if let Some(mode) = mode {
            temp.as_file().set_permissions(mode)?;
        }
        Ok(AtomicFile {
            target,
            temp: BufWriter::with_capacity(1 << 16, temp),
            writeback: None,
        })
    }

    /// Starts flushing the file to disk on a background thread after every `every` bytes
    /// written, for large outputs: the fsync at [`commit`](Self::commit) then has only the
    /// last bytes left to write. Costs a thread; errors surface at `commit`.
    pub fn flush_in_background(mut self, every: u64) -> io::Result<AtomicFile> {
        let file = self.temp.get_ref().as_file().try_clone()?;
        self.writeback = Some(Writeback::start(file, every.max(1))?);
        Ok(self)
    }

    pub fn path(&self) -> &Path {
        &self.target
    }

    /// Flushes, fsyncs and renames the file into place, then fsyncs the directory so the
    /// rename itself survives a power cut.
    pub fn commit(self) -> io::Result<()> {
        let temp = self.temp.into_inner().map_err(|e| e.into_error())?;
        if let Some(writeback) = self.writeback {
            writeback.finish()?;
        }
        temp.as_file().sync_all()?;
        temp.persist(&self.target).map_err(|e| e.error)?;
        sync_dir(parent_dir(&self.target))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.temp.write(buf)?;
        if let Some(w) = &mut self.writeback {
            w.wrote(n);
        }
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.temp.write_all(buf)?;
        if let Some(w) = &mut self.writeback {
            w.wrote(buf.len());
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

/// Replaces `path` with `bytes` atomically.
pub fn write_atomic(path: impl Into<PathBuf>, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// Replaces `path` with `value` as pretty-printed JSON and a final newline, atomically (summary
/// and state files).
pub fn write_json_atomic<T: serde::Serialize + ?Sized>(
    path: impl Into<PathBuf>,
    value: &T,
) -> io::Result<()> {
    let mut json = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    json.push(b'\n');
    write_atomic(path, &json)
}

/// fsync a directory (no-op where directories cannot be opened for that).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_and_drop_keeps_old() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.ndjson");
        write_atomic(&p, b"old\n").unwrap();

        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"half-written").unwrap();
        drop(f); // a failed run
        assert_eq!(std::fs::read(&p).unwrap(), b"old\n");

        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"new\n").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new\n");

        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "temp files left: {leftovers:?}");
    }

    #[test]
    fn background_flushing_writes_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.bin");
        let bytes: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut f = AtomicFile::create(&p)
            .unwrap()
            .flush_in_background(10_000)
            .unwrap();
        for chunk in bytes.chunks(4093) {
            f.write_all(chunk).unwrap();
        }
        f.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), bytes);

        // Dropped without commit: nothing replaced, the thread ends.
        let mut f = AtomicFile::create(&p)
            .unwrap()
            .flush_in_background(10)
            .unwrap();
        f.write_all(b"never committed").unwrap();
        drop(f);
        assert_eq!(std::fs::read(&p).unwrap(), bytes);
    }

    #[test]
    fn never_replaces_devices_and_follows_symlinks() {
        assert!(AtomicFile::create("/dev/null").is_err());
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        write_atomic(&real, b"a").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"b").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&real).unwrap(), b"b");
    }

    #[test]
    #[cfg(unix)]
    fn new_files_follow_the_umask_and_replaced_files_keep_their_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new.txt");
        write_atomic(&p, b"x").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_ne!(
            mode, 0o600,
            "group/other readers must not be locked out (umask permitting)"
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&p, b"y").unwrap();
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
    }

    #[test]
    fn missing_directory_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        assert!(AtomicFile::create(dir.path().join("nope/x")).is_err());
    }
}
