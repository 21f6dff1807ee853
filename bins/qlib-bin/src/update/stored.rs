//! A feature file as the committed calendar sees it: opened once, read and appended through one
//! handle, past the calendar's end where no reader looks.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::Error;

use super::plan::Write;
use super::read_err;

/// A feature file as the committed calendar sees it.
pub(super) struct StoredFile {
    pub(super) file: File,
    /// Bytes.
    pub(super) size: u64,
    pub(super) start: usize,
    /// Values inside the committed calendar (a killed update may have left more).
    pub(super) len: usize,
}

impl StoredFile {
    /// Opens a feature file of an instrument whose `all.txt` span lies at calendar positions
    /// `span` (when known): a file whose start lies outside it, whose size is no whole number
    /// of values, or that is shorter than its header is a damaged store (65), never a position
    /// to write from.
    pub(super) fn open(
        path: &Path,
        committed: usize,
        span: Option<(usize, usize)>,
    ) -> Result<Option<StoredFile>, Error> {
        // Read and write: the new days are appended through the same handle.
        let file = match open_read_write(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(read_err(path, e)),
        };
        let size = file.metadata().map_err(|e| read_err(path, e))?.len();
        let damaged = |why: String| {
            Err(Error::Data(format!(
                "{}: {why}: the store is damaged; a full export (qlib-bin all --force) rebuilds it",
                path.display()
            )))
        };
        if size < 4 || (size - 4) % 4 != 0 {
            return damaged(format!(
                "{size} bytes, not a start index and whole float32 values"
            ));
        }
        let mut head = [0u8; 4];
        read_at(&file, &mut head, 0).map_err(|e| read_err(path, e))?;
        let start = f32::from_le_bytes(head);
        let values = (size - 4) / 4;
        if let Some((first, last)) = span
            && start.is_finite()
        {
            if !(first as f32 <= start && start <= last as f32) {
                return damaged(format!(
                    "start index {start}, outside the instrument's span in all.txt (calendar \
                     positions {first} to {last})"
                ));
            }
            // Values past the calendar are left only by a killed update, whose marker makes
            // the next run cut them first: here they mean a damaged file.
            if start as u64 + values > committed as u64 {
                return damaged(format!(
                    "start index {start} and {values} values, past the calendar's {committed} \
                     days"
                ));
            }
        }
        // The first value's position must lie inside the calendar on disk (a start past it is
        // a damaged file, never a position to index with).
        if !(start.is_finite() && start >= 0.0 && start.fract() == 0.0)
            || (start as usize) >= committed.max(1)
        {
            return damaged(format!(
                "not a Qlib feature file of this store (start index {start}, {size} bytes, \
                 {committed} calendar days)"
            ));
        }
        let start = start as usize;
        let len = (((size - 4) / 4) as usize).min(committed.saturating_sub(start));
        Ok(Some(StoredFile {
            file,
            size,
            start,
            len,
        }))
    }

    pub(super) fn end(&self) -> usize {
        self.start + self.len
    }

    /// Writes `values` at calendar position `from` (past the committed calendar, where no reader
    /// looks), and cuts off whatever a killed update left after them. The handle goes with the
    /// write while the process may hold it open, so the file is not opened a second time.
    pub(super) fn into_tail(self, from: usize, values: &[f32], path: &Path) -> Write {
        let mut bytes = Vec::with_capacity(4 * values.len());
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        let offset = 4 + 4 * (from - self.start) as u64;
        let end = offset + bytes.len() as u64;
        Write::Tail {
            path: path.to_path_buf(),
            file: HeldFile::hold(self.file),
            offset,
            bytes,
            cut: self.size > end,
        }
    }

    /// The stored values at calendar positions `lo..hi` (inside the stored range).
    pub(super) fn values(&self, lo: usize, hi: usize, path: &Path) -> Result<Vec<f32>, Error> {
        let mut bytes = vec![0u8; 4 * (hi - lo)];
        read_at(&self.file, &mut bytes, 4 + 4 * (lo - self.start) as u64)
            .map_err(|e| read_err(path, e))?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

/// Opens a feature file to read and write, without updating its access time where the system
/// allows: reading 40,000 files would otherwise dirty 40,000 inodes in the journal only to say
/// they were read (the write updates the modification time anyway).
#[cfg(target_os = "linux")]
fn open_read_write(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = rustix::fs::OFlags::NOATIME.bits() as i32;
    match OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(flags)
        .open(path)
    {
        // O_NOATIME is for the file's owner only.
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            OpenOptions::new().read(true).write(true).open(path)
        }
        other => other,
    }
}

#[cfg(not(target_os = "linux"))]
fn open_read_write(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// A feature file kept open from its planning to its write. An update of a large store plans
/// every symbol before it writes one, so the handles it may hold are counted against the
/// process's limit on open files (raised to the hard limit once); past that, the write opens
/// the file again.
#[derive(Debug)]
pub(super) struct HeldFile(File);

/// Handles left for everything else: the lake or input being read, rayon's threads, stdio.
const HANDLES_KEPT_FREE: u64 = 256;

static HELD: AtomicUsize = AtomicUsize::new(0);

impl HeldFile {
    fn hold(file: File) -> Option<HeldFile> {
        static BUDGET: OnceLock<usize> = OnceLock::new();
        let budget = *BUDGET.get_or_init(open_files_budget);
        if HELD.fetch_add(1, Ordering::Relaxed) < budget {
            Some(HeldFile(file))
        } else {
            HELD.fetch_sub(1, Ordering::Relaxed);
            None
        }
    }

    pub(super) fn file(&self) -> &File {
        &self.0
    }
}

impl Drop for HeldFile {
    fn drop(&mut self) {
        HELD.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How many feature files an update may keep open: the soft limit on open files, raised to the
/// hard limit (a process may do that unprivileged), less what the rest of the run needs.
#[cfg(target_os = "linux")]
fn open_files_budget() -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    // Far more than any store has files per run; the kernel refuses "infinity" for this one.
    const CEILING: u64 = 1 << 20;
    let limit = getrlimit(Resource::Nofile);
    let wanted = limit.maximum.unwrap_or(CEILING).min(CEILING);
    if limit.current.is_some_and(|c| c < wanted) {
        let raised = Rlimit {
            current: Some(wanted),
            maximum: limit.maximum,
        };
        if setrlimit(Resource::Nofile, raised).is_err() {
            tracing::debug!("could not raise the open-files limit to {wanted}");
        }
    }
    let soft = getrlimit(Resource::Nofile).current.unwrap_or(CEILING);
    soft.min(CEILING).saturating_sub(HANDLES_KEPT_FREE) as usize
}

#[cfg(not(target_os = "linux"))]
fn open_files_budget() -> usize {
    0
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(unix)]
pub(super) fn write_at(file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(mut file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

#[cfg(not(unix))]
pub(super) fn write_at(mut file: &File, buf: &[u8], offset: u64) -> io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(buf)
}
