//! Upserts into the lake, atomically.
//!
//! An upsert merges the new rows with the rows already in each touched partition, keeps one row
//! per (symbol, date) by the rules of [`crate::dedupe`], sorts, and stages the new file next to
//! the old one. Nothing is replaced until [`LakeWriter::commit`]; each replacement is a rename,
//! so a crash leaves every partition at its old or its new content. A partition whose new bytes
//! equal its old bytes is not rewritten, so rerunning the same input leaves a byte-identical
//! lake.
//!
//! A lake this run creates is built whole beside its directory and swapped in with one rename at
//! the commit: readers see no lake, then all of it, and a first load of thousands of symbols
//! costs one rename instead of one per symbol.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use tickerlake::records::Bar;

use crate::bars::{BarBatchBuilder, ColumnTypes};
use crate::dedupe::dedupe_counting;
use crate::file::{WriteOptions, to_bytes};
use crate::layout::{
    LOCK_FILE, Layout, MARKER_FILE, PartitionKey, claim_for_writing, hive_dirs, io_err, is_lake,
    partitions,
};
use crate::scan::read_partition_file;
use crate::{LakeError, Rounded};

/// Removes staged files that a killed run left behind (only the lock holder may).
pub(crate) fn remove_stale_temps(root: &Path) -> Result<(), LakeError> {
    let is_temp = |n: &str| n.starts_with(".part-0.parquet.") && n.ends_with(".tmp");
    let mut dirs = Vec::new();
    for (_, sdir) in hive_dirs(root, "symbol")? {
        dirs.extend(hive_dirs(&sdir, "year")?.into_iter().map(|(_, d)| d));
    }
    for (_, ydir) in hive_dirs(root, "year")? {
        dirs.extend(hive_dirs(&ydir, "month")?.into_iter().map(|(_, d)| d));
    }
    for d in dirs {
        for entry in fs::read_dir(&d).map_err(io_err(&d))? {
            let entry = entry.map_err(io_err(&d))?;
            if entry.file_name().to_str().is_some_and(is_temp) {
                let p = entry.path();
                fs::remove_file(&p).map_err(io_err(&p))?;
                tracing::info!(file = %p.display(), "removed a staged file left by an interrupted run");
            }
        }
    }
    Ok(())
}

/// What a lake write did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WriteSummary {
    /// Partitions whose file was replaced or created.
    pub partitions_touched: u64,
    /// Of those, partitions that did not exist before.
    pub partitions_created: u64,
    /// Partitions that received rows but whose content did not change (not rewritten).
    pub partitions_unchanged: u64,
    /// Rows in the partitions written (after merging and deduplication).
    pub rows_written: u64,
    /// Bytes of the files written.
    pub bytes_written: u64,
    /// Prices rounded to 6 decimals.
    pub prices_rounded: u64,
    /// Rows whose newer version had nulls where the stored one had values: those values kept.
    pub nulls_kept: u64,
}

struct Staged {
    file: StagedFile,
    target: PathBuf,
    existed: bool,
    rows: u64,
    bytes: u64,
}

/// Where a partition's new file waits for the commit.
enum StagedFile {
    /// A hidden temporary file next to its target, renamed over it.
    Beside(tempfile::TempPath),
    /// The file at its final name in the staging directory, in a top-level directory that the
    /// lake does not have yet: that directory moves into the lake whole.
    InStaging(PathBuf),
}

impl StagedFile {
    fn path(&self) -> &Path {
        match self {
            StagedFile::Beside(temp) => temp,
            StagedFile::InStaging(path) => path,
        }
    }
}

/// A directory beside the lake, on the same file system, where the top-level directories the
/// lake does not have yet (a new symbol's `symbol=…`, a new `year=…`) are built whole, to be
/// renamed into the lake at the commit: one rename per new symbol rather than one per
/// partition, which on a first load of thousands of partitions is a good part of the run. A
/// crash leaves it outside the lake, where no reader looks; the next writer removes it.
struct Staging {
    dir: tickerlake::staging::StagingDir,
    /// The lake's top-level directories when the writer started.
    existing_tops: BTreeSet<String>,
    /// New top-level directories built in `dir`.
    new_tops: BTreeSet<String>,
}

impl Staging {
    /// A staging directory for the lake at `root`, or `None` where one cannot be made beside
    /// it on the same file system (the lake is a mount point, or its parent is read-only):
    /// partitions are then staged next to their targets.
    fn create(root: &Path, existing_tops: BTreeSet<String>) -> Option<Staging> {
        use std::os::unix::fs::MetadataExt;
        let dir = tickerlake::staging::StagingDir::create(root).ok()?;
        let same_fs = match (fs::metadata(dir.path()), fs::metadata(root)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev(),
            _ => false,
        };
        same_fs.then_some(Staging {
            dir,
            existing_tops,
            new_tops: BTreeSet::new(),
        })
    }
}

/// Upserts bars into a lake. Partitions are staged as hidden temporary files next to their
/// targets (or, under a top-level directory the lake does not have yet, in a [`Staging`]
/// directory beside the lake) and replaced only on [`LakeWriter::commit`]; dropping the writer
/// without committing removes the staged files and any directory it created, leaving the lake
/// as it was.
pub struct LakeWriter {
    /// Held (locked) for the writer's life.
    _lock: fs::File,
    root: PathBuf,
    layout: Layout,
    types: ColumnTypes,
    opts: WriteOptions,
    staged: BTreeMap<PartitionKey, Staged>,
    unchanged: BTreeSet<PartitionKey>,
    /// Partitions that had a file when the writer started.
    existing: BTreeSet<PartitionKey>,
    created_dirs: Vec<PathBuf>,
    rounded: u64,
    rounded_examples: Vec<Rounded>,
    nulls_kept: u64,
    /// A file-system flush running while the load goes on (see `start_background_sync`).
    background_sync: Option<std::thread::JoinHandle<()>>,
    /// Where partitions of new top-level directories are built (see [`Staging`]).
    staging: Option<Staging>,
    /// The lake's directory, when this writer made it (its device and inode): nothing of anyone
    /// else's should be in it, so the commit may swap in the staging directory whole.
    created_root: Option<DirId>,
}

impl LakeWriter {
    pub fn new(
        root: impl Into<PathBuf>,
        layout: Layout,
        types: ColumnTypes,
        opts: WriteOptions,
    ) -> Result<LakeWriter, LakeError> {
        let root = root.into();
        if root.exists() && !root.is_dir() {
            return Err(LakeError::NotOurs {
                path: root.display().to_string(),
                found: "a file".into(),
            });
        }
        // Claimed before the lock file is created in it (which would make it look like a lake).
        let mut created_root = None;
        if !root.exists() || !is_lake(&root) {
            created_root = make_dir(&root).map_err(io_err(&root))?;
            claim_for_writing(&root, layout, types)?;
        }
        fs::create_dir_all(&root).map_err(io_err(&root))?;
        // Absolute, so that creating each staged file does not look up the working directory.
        let root = std::path::absolute(&root).map_err(io_err(&root))?;
        // One writer at a time: two runs merging into the same partitions would each replace
        // the other's rows. The lock goes with the process, even on kill -9.
        let lock_path = root.join(LOCK_FILE);
        let lock = tickerlake::staging::lock(&lock_path)
            .map_err(io_err(&lock_path))?
            .ok_or_else(|| LakeError::Locked(root.display().to_string()))?;
        let other = match layout {
            Layout::SymbolYear => "year",
            Layout::YearMonth => "symbol",
        };
        if !hive_dirs(&root, other)?.is_empty() {
            return Err(LakeError::LayoutMismatch {
                root: root.display().to_string(),
                found: other,
            });
        }
        claim_for_writing(&root, layout, types)?;
        remove_stale_temps(&root)?;
        // The one rule for what a killed run left: its staging directory goes.
        tickerlake::staging::remove_abandoned(&root);
        let top_key = match layout {
            Layout::SymbolYear => "symbol",
            Layout::YearMonth => "year",
        };
        let existing_tops = hive_dirs(&root, top_key)?
            .into_iter()
            .filter_map(|(_, d)| Some(d.file_name()?.to_str()?.to_string()))
            .collect();
        let staging = Staging::create(&root, existing_tops);
        // The partitions there are (the lock keeps them so for the run), so that a partition
        // being written needs no look-up to know whether it is new.
        let existing: BTreeSet<PartitionKey> = partitions(&root)?.into_iter().collect();
        // One price type and one volume type per lake: a lake mixing decimal and float64 files
        // (or int64 and float64 volumes) is what readers trip on. The marker says which (a lake
        // made before it recorded volumes holds int64), and so do the files.
        let marked = fs::read(root.join(crate::layout::MARKER_FILE))
            .ok()
            .and_then(|t| crate::layout::marker_says(&t));
        if let Some((_, has)) = marked
            && has.volume != types.volume
        {
            return Err(LakeError::VolumeTypeMismatch {
                root: root.display().to_string(),
                found: has.volume.as_str().into(),
            });
        }
        if let Some(key) = existing.first() {
            let path = key.file(&root);
            let f = fs::File::open(&path).map_err(io_err(&path))?;
            let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
                .map_err(|e| LakeError::from(e).in_file(&path))?;
            let want = crate::bars::bar_schema(types, false);
            let type_of = |schema: &arrow_schema::Schema, column: &str| {
                schema
                    .field_with_name(column)
                    .ok()
                    .map(|f| f.data_type().clone())
            };
            for column in ["open", "volume"] {
                let found = type_of(builder.schema(), column);
                if found.is_some() && found != type_of(&want, column) {
                    let root = root.display().to_string();
                    let found = format!("{}", found.unwrap_or(arrow_schema::DataType::Null));
                    return Err(if column == "open" {
                        LakeError::PriceTypeMismatch { root, found }
                    } else {
                        LakeError::VolumeTypeMismatch {
                            root,
                            found: found.to_lowercase(),
                        }
                    });
                }
            }
        }
        Ok(LakeWriter {
            _lock: lock,
            root,
            layout,
            types,
            opts,
            staged: BTreeMap::new(),
            unchanged: BTreeSet::new(),
            existing,
            created_dirs: Vec::new(),
            rounded: 0,
            nulls_kept: 0,
            rounded_examples: Vec::new(),
            background_sync: None,
            staging,
            created_root,
        })
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Prices rounded so far, with the first few.
    pub fn rounded(&self) -> (u64, &[Rounded]) {
        (self.rounded, &self.rounded_examples)
    }

    /// Merges `rows` (all of partition `key`, in input order) into the partition and stages the
    /// result. May be called again for the same partition (input that is not grouped); the rows
    /// of later calls count as later input.
    pub fn upsert(&mut self, key: &PartitionKey, rows: Vec<Bar>) -> Result<(), LakeError> {
        self.upsert_many(vec![(key.clone(), rows)], 1)
    }

    /// [`LakeWriter::upsert`] for many partitions at once (each key at most once), merged,
    /// encoded, compressed and staged on `threads` threads.
    pub fn upsert_many(
        &mut self,
        jobs: Vec<(PartitionKey, Vec<Bar>)>,
        threads: usize,
    ) -> Result<(), LakeError> {
        let jobs: Vec<Job<'_>> =
            jobs.into_iter()
                .filter(|(_, rows)| !rows.is_empty())
                .map(|(key, rows)| {
                    let target = key.file(&self.root);
                    let (base, existed) = match self.staged.get(&key) {
                        Some(s) => (Some(s.file.path().to_path_buf()), s.existed),
                        None => {
                            let existed = self.existing.contains(&key);
                            (existed.then(|| target.clone()), existed)
                        }
                    };
                    let staging_root = self.staging.as_ref().and_then(|st| {
                        (!st.existing_tops.contains(&key.top())).then(|| st.dir.path())
                    });
                    Job {
                        key,
                        rows,
                        target,
                        base,
                        existed,
                        staging_root,
                        ctx: self.context(),
                    }
                })
                .collect();
        let results = run_parallel(jobs, threads, Job::run);
        // Directories created by jobs that succeeded are recorded even if another job failed,
        // so that an abandoned run removes them.
        for done in results.iter().flatten() {
            self.created_dirs.extend(done.created_dirs.iter().cloned());
        }
        for result in results {
            let done = result?;
            self.rounded += done.rounded;
            self.nulls_kept += done.nulls_kept;
            for r in done.rounded_examples {
                if self.rounded_examples.len() < 5 {
                    self.rounded_examples.push(r);
                }
            }
            match done.staged {
                None => {
                    // Dropping an earlier staging deletes its temp file.
                    self.staged.remove(&done.key);
                    self.unchanged.insert(done.key);
                }
                Some(staged) => {
                    self.unchanged.remove(&done.key);
                    if let (Some(st), StagedFile::InStaging(_)) = (&mut self.staging, &staged.file)
                    {
                        st.new_tops.insert(done.key.top());
                    }
                    // Replacing an earlier staging of the same partition deletes its temp file.
                    self.staged.insert(done.key, staged);
                }
            }
        }
        self.start_background_sync();
        Ok(())
    }

    /// Starts writing the staged files to disk while the load goes on, on a bulk load.
    ///
    /// The commit's first flush must wait for every staged byte to reach the disk; started
    /// early, most of that writing overlaps with encoding the partitions that follow, and the
    /// commit waits only for the rest. One flush at a time; its result does not matter (the
    /// commit's own flush is the one that counts, and reports).
    fn start_background_sync(&mut self) {
        if self.staged.len() < SYNCFS_FROM
            || self
                .background_sync
                .as_ref()
                .is_some_and(|h| !h.is_finished())
        {
            return;
        }
        let root = self.root.clone();
        self.background_sync = std::thread::Builder::new()
            .name("lake-sync".into())
            .spawn(move || {
                let _ = sync_file_system(&root);
            })
            .ok();
    }

    fn context(&self) -> JobContext<'_> {
        JobContext {
            root: &self.root,
            layout: self.layout,
            types: self.types,
            opts: self.opts,
        }
    }

    /// Replaces every staged partition (one rename each) and syncs the directories.
    pub fn commit(mut self) -> Result<WriteSummary, LakeError> {
        let mut summary = WriteSummary {
            partitions_unchanged: self.unchanged.len() as u64,
            prices_rounded: self.rounded,
            nulls_kept: self.nulls_kept,
            ..WriteSummary::default()
        };
        let staged: Vec<Staged> = std::mem::take(&mut self.staged).into_values().collect();
        if let Some(h) = self.background_sync.take() {
            let _ = h.join();
        }
        let staging = self.staging.take();
        // A lake this run created, every partition of it built in the staging directory: the
        // staging directory gets the marker and a lock of its own (held until the end) and
        // becomes the lake in one swap (step 2).
        let whole = match (&staging, self.created_root) {
            (Some(st), Some(id))
                if !st.new_tops.is_empty()
                    && staged
                        .iter()
                        .all(|s| matches!(s.file, StagedFile::InStaging(_))) =>
            {
                prepare_whole(&self.root, st.dir.path()).map(|lock| (lock, id))
            }
            _ => None,
        };
        // A bulk load flushes the whole file system twice (syncfs: one journal commit each)
        // rather than syncing every file and directory on its own, which for thousands of
        // partitions is most of the run. If syncfs is unavailable or fails, the per-file path
        // runs and names the file at fault.
        let bulk = staged.len() >= SYNCFS_FROM && sync_file_system(&self.root).is_ok();
        // 1. Every staged file's data reaches the disk before any rename: a power cut can then
        //    never leave a renamed, empty file. Many at once, so the file system can group the
        //    journal commits (fsync waits for the disk, not the CPU). A new top-level directory
        //    also needs its directories' entries on disk before it moves into the lake.
        if !bulk {
            let mut staged_dirs = BTreeSet::new();
            let mut files: Vec<PathBuf> =
                staged.iter().map(|s| s.file.path().to_path_buf()).collect();
            if let (Some(st), Some(_)) = (&staging, &whole) {
                staged_dirs.insert(st.dir.path().to_path_buf());
                files.push(st.dir.path().join(MARKER_FILE));
            }
            if let Some(st) = &staging {
                for s in &staged {
                    if let StagedFile::InStaging(p) = &s.file {
                        staged_dirs.extend(
                            p.ancestors()
                                .skip(1)
                                .take_while(|d| *d != st.dir.path())
                                .map(Path::to_path_buf),
                        );
                    }
                }
            }
            for r in run_parallel(files, IO_THREADS, |p: PathBuf| {
                fs::File::open(&p)
                    .and_then(|f| f.sync_all())
                    .map_err(io_err(&p))
            }) {
                r?;
            }
            for r in run_parallel(
                staged_dirs.into_iter().collect(),
                IO_THREADS,
                |d: PathBuf| tickerlake::atomic::sync_dir(&d).map_err(io_err(&d)),
            ) {
                r?;
            }
        }
        // 2. The renames: each partition switches from its old to its new content at once, a
        //    new top-level directory with all its partitions. They are independent of each
        //    other, so a bulk load does them on a few threads.
        let mut dirs = BTreeSet::new();
        let mut beside = Vec::with_capacity(staged.len());
        for s in staged {
            summary.partitions_touched += 1;
            summary.partitions_created += u64::from(!s.existed);
            summary.rows_written += s.rows;
            summary.bytes_written += s.bytes;
            if let StagedFile::Beside(temp) = s.file {
                if let Some(d) = s.target.parent() {
                    dirs.insert(d.to_path_buf());
                }
                beside.push((temp, s.target));
            }
        }
        let rename_threads = if beside.len() >= SYNCFS_FROM {
            RENAME_THREADS
        } else {
            1
        };
        for r in run_parallel(
            beside,
            rename_threads,
            |(temp, target): (tempfile::TempPath, PathBuf)| {
                temp.persist(&target).map_err(|e| LakeError::Io {
                    path: target.display().to_string(),
                    source: e.error,
                })
            },
        ) {
            r?;
        }
        let swapped = match (&staging, &whole) {
            (Some(st), Some((_, id))) => swap_in_whole(&self.root, *id, st.dir.path()),
            _ => false,
        };
        if swapped {
            if let Some(parent) = self.root.parent() {
                dirs.insert(parent.to_path_buf());
            }
        } else if let Some(st) = &staging {
            let moves: Vec<(PathBuf, PathBuf)> = st
                .new_tops
                .iter()
                .map(|top| (st.dir.path().join(top), self.root.join(top)))
                .collect();
            if !moves.is_empty() {
                dirs.insert(self.root.clone());
            }
            let threads = if moves.len() >= SYNCFS_FROM {
                RENAME_THREADS
            } else {
                1
            };
            for r in run_parallel(moves, threads, |(from, to): (PathBuf, PathBuf)| {
                fs::rename(&from, &to).map_err(io_err(&to))
            }) {
                r?;
            }
        }
        // The staging directory holds what was the lake's directory (its marker and lock), or
        // nothing but the marker and lock copied for a swap that did not happen. Only those are
        // removed: anything else found there is not this run's, and is set aside, never removed.
        if let Some(st) = staging
            && let Err(kept) = st.dir.remove_emptied(&self.root, &[MARKER_FILE, LOCK_FILE])
        {
            tracing::warn!(
                dir = %kept.display(),
                "files someone put in the new lake's directory while it was written are kept here"
            );
        }
        // 3. The directories that got new entries (renamed files, created directories), each once.
        for d in std::mem::take(&mut self.created_dirs) {
            if let Some(p) = d.parent() {
                dirs.insert(p.to_path_buf());
            }
            dirs.insert(d);
        }
        let synced = bulk && sync_file_system(&self.root).is_ok();
        // The lake's lock of the swapped-in directory is held until everything is on disk.
        let _whole = whole;
        if synced {
            return Ok(summary);
        }
        for r in run_parallel(dirs.into_iter().collect(), IO_THREADS, |d: PathBuf| {
            tickerlake::atomic::sync_dir(&d).map_err(io_err(&d))
        }) {
            r?;
        }
        Ok(summary)
    }
}

/// A directory's identity (device, inode): the same path may name another directory later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DirId(u64, u64);

impl DirId {
    #[cfg(unix)]
    fn of(path: &Path) -> Option<DirId> {
        use std::os::unix::fs::MetadataExt;
        let m = fs::symlink_metadata(path).ok()?;
        m.is_dir().then(|| DirId(m.dev(), m.ino()))
    }

    #[cfg(not(unix))]
    fn of(_path: &Path) -> Option<DirId> {
        None
    }
}

/// Makes the lake's directory (and its parents), with its identity when this call made it
/// (`None`: it was there already, made by someone else).
fn make_dir(root: &Path) -> std::io::Result<Option<DirId>> {
    if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    match fs::create_dir(root) {
        Ok(()) => Ok(DirId::of(root)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && root.is_dir() => Ok(None),
        Err(e) => Err(e),
    }
}

/// `dir` is the directory this writer made and holds only its marker and lock.
fn only_ours(dir: &Path, id: DirId) -> bool {
    DirId::of(dir) == Some(id)
        && fs::read_dir(dir).is_ok_and(|entries| {
            entries.into_iter().all(|e| {
                e.is_ok_and(|e| {
                    let name = e.file_name();
                    name == MARKER_FILE || name == LOCK_FILE
                })
            })
        })
}

/// Gives the staging directory what the lake's directory has (the marker, and a lock of its own,
/// returned held), so that it can become the lake. `None` if it cannot: the new top-level
/// directories are then moved in one by one.
fn prepare_whole(root: &Path, staging: &Path) -> Option<fs::File> {
    fs::copy(root.join(MARKER_FILE), staging.join(MARKER_FILE)).ok()?;
    tickerlake::staging::lock(&staging.join(LOCK_FILE)).ok()?
}

/// Swaps the staging directory (the whole new lake) with the lake's directory, if that is still
/// the directory this writer made (`id`) with nothing in it but the marker and lock. `false`:
/// nothing changed, and the caller moves the parts in one by one. What was the lake's directory
/// ends at the staging path; if it turns out to hold something else after all (put there in the
/// instant between the look and the swap), it is swapped back.
fn swap_in_whole(root: &Path, id: DirId, staging: &Path) -> bool {
    if !only_ours(root, id) || tickerlake::staging::exchange(staging, root).is_err() {
        return false;
    }
    if only_ours(staging, id) {
        return true;
    }
    // Swapped back: the caller then moves the new directories in one by one. If that fails,
    // the lake stands whole and what was put in the old directory stays at the staging path,
    // where the commit's clean-up sets it aside.
    tickerlake::staging::exchange(staging, root).is_err()
}

/// Staged files from which one file-system flush beats syncing each file.
const SYNCFS_FROM: usize = 64;

use tickerlake::staging::sync_file_system;

/// Threads for the renames of a bulk load: a rename is a few microseconds of kernel work.
const RENAME_THREADS: usize = 2;

/// Threads for fsync, which waits on the disk rather than the CPU.
const IO_THREADS: usize = 16;

#[derive(Clone, Copy)]
struct JobContext<'a> {
    root: &'a Path,
    layout: Layout,
    types: ColumnTypes,
    opts: WriteOptions,
}

/// One partition to merge and stage.
struct Job<'a> {
    key: PartitionKey,
    rows: Vec<Bar>,
    target: PathBuf,
    /// The file holding the partition's current rows: its staged file or its target (none for
    /// a new partition).
    base: Option<PathBuf>,
    existed: bool,
    /// The staging directory, when the partition's top-level directory is new to the lake.
    staging_root: Option<&'a Path>,
    ctx: JobContext<'a>,
}

struct JobDone {
    key: PartitionKey,
    /// `None`: the partition's content did not change.
    staged: Option<Staged>,
    created_dirs: Vec<PathBuf>,
    rounded: u64,
    rounded_examples: Vec<Rounded>,
    nulls_kept: u64,
}

impl Job<'_> {
    fn run(self) -> Result<JobDone, LakeError> {
        let Job {
            key,
            rows,
            target,
            base,
            existed,
            staging_root,
            ctx,
        } = self;
        let stored = match &base {
            Some(base) => read_partition_file(base, &key)?,
            None => Vec::new(),
        };
        let encoded = merge_and_encode(stored, rows, ctx.layout, ctx.types, ctx.opts)?;
        let mut done = JobDone {
            key,
            staged: None,
            created_dirs: Vec::new(),
            rounded: encoded.rounded,
            rounded_examples: encoded.rounded_examples,
            nulls_kept: encoded.nulls_kept,
        };
        let merged_rows = encoded.rows;
        let bytes = encoded.bytes;
        // Equal to what is on disk (even after an earlier staging in this run changed it):
        // nothing to replace.
        if existed && fs::read(&target).map_err(io_err(&target))? == bytes {
            return Ok(done);
        }
        if let Some(staging_root) = staging_root {
            // Outside the lake: written at its final name, without a temporary file of its own
            // (an earlier staging of the partition in this run is overwritten in place).
            let path = done.key.file(staging_root);
            let dir = done.key.dir(staging_root);
            // Parent first: the top-level directory is new far more often than not, and a
            // `mkdir` that fails for want of its parent costs a directory search of its own.
            for d in [dir.parent().unwrap_or(staging_root), &dir] {
                match fs::create_dir(d) {
                    Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                        return Err(io_err(d)(e));
                    }
                    _ => {}
                }
            }
            fs::write(&path, &bytes).map_err(io_err(&path))?;
            done.staged = Some(Staged {
                file: StagedFile::InStaging(path),
                target,
                existed,
                rows: merged_rows,
                bytes: bytes.len() as u64,
            });
            return Ok(done);
        }
        let dir = done.key.dir(ctx.root);
        // Remember every level created, to remove them if the run is abandoned.
        done.created_dirs = create_dirs(&dir, ctx.root)?;
        let staged = tempfile::Builder::new()
            .prefix(".part-0.parquet.")
            .suffix(".tmp")
            .permissions(file_mode())
            .tempfile_in(&dir)
            .map_err(io_err(&dir))
            .and_then(|mut temp| {
                // Synced at commit, all files at once.
                temp.write_all(&bytes).map_err(io_err(temp.path()))?;
                Ok(temp)
            });
        let temp = match staged {
            Ok(temp) => temp,
            Err(e) => {
                // The temp file is gone with its handle; the directories made for it go too.
                remove_empty_dirs(&done.created_dirs);
                return Err(e);
            }
        };
        done.staged = Some(Staged {
            file: StagedFile::Beside(temp.into_temp_path()),
            target,
            existed,
            rows: merged_rows,
            bytes: bytes.len() as u64,
        });
        Ok(done)
    }
}

/// A partition's file, made: the stored rows and the new ones merged (the newest answer for a
/// date wins, a null never erases a value), encoded and compressed.
pub(crate) struct Encoded {
    pub bytes: Vec<u8>,
    pub rows: u64,
    pub rounded: u64,
    pub rounded_examples: Vec<Rounded>,
    pub nulls_kept: u64,
}

pub(crate) fn merge_and_encode(
    mut stored: Vec<Bar>,
    rows: Vec<Bar>,
    layout: Layout,
    types: ColumnTypes,
    opts: WriteOptions,
) -> Result<Encoded, LakeError> {
    // A new partition has nothing stored: its rows are taken as they are, not copied.
    let all = if stored.is_empty() {
        rows
    } else {
        stored.extend(rows);
        stored
    };
    let (merged, nulls_kept) = dedupe_counting(all);
    let mut builder = BarBatchBuilder::with_capacity(
        types,
        layout == Layout::YearMonth,
        merged.len().min(opts.row_group_rows.max(1)),
    );
    let mut batches = Vec::new();
    for chunk in merged.chunks(opts.row_group_rows.max(1)) {
        for bar in chunk {
            builder.push(bar)?;
        }
        batches.push(builder.finish()?);
    }
    Ok(Encoded {
        bytes: to_bytes(builder.schema(), &batches, opts)?,
        rows: merged.len() as u64,
        rounded: builder.rounded,
        rounded_examples: std::mem::take(&mut builder.rounded_examples),
        nulls_kept,
    })
}

/// Creates `dir` and any missing parents up to `root`, by trying `mkdir` first (one system call
/// when only the last level is missing, as for a new year of a known symbol). Returns the
/// directories it created, outermost first.
fn create_dirs(dir: &Path, root: &Path) -> Result<Vec<PathBuf>, LakeError> {
    match fs::create_dir(dir) {
        Ok(()) => Ok(vec![dir.to_path_buf()]),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(Vec::new()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir != root => {
            let parent = dir.parent().ok_or_else(|| io_err(dir)(e))?;
            let mut created = create_dirs(parent, root)?;
            match fs::create_dir(dir) {
                Ok(()) => created.push(dir.to_path_buf()),
                // Another job of this run made it meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    remove_empty_dirs(&created);
                    return Err(io_err(dir)(e));
                }
            }
            Ok(created)
        }
        Err(e) => Err(io_err(dir)(e)),
    }
}

/// Removes directories this run created, innermost first, where they are still empty (another
/// job of the run may have put its own files in them).
fn remove_empty_dirs(dirs: &[PathBuf]) {
    for d in dirs.iter().rev() {
        let _ = fs::remove_dir(d);
    }
}

/// Runs `f` over `items` on up to `threads` threads; results in input order.
pub(crate) fn run_parallel<T: Send, R: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return items.into_iter().map(f).collect();
    }
    let n = items.len();
    let queue = std::sync::Mutex::new(items.into_iter().enumerate());
    let results = std::sync::Mutex::new(Vec::with_capacity(n));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some((i, item)) = next else { break };
                    let r = f(item);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, r));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

impl Drop for LakeWriter {
    fn drop(&mut self) {
        // Not committed: the staged files go (TempPath removes them), then the directories this
        // run created, deepest first, if they are empty.
        self.staged.clear();
        // Deepest first (parallel jobs may have recorded a parent before its child).
        let mut dirs = std::mem::take(&mut self.created_dirs);
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        dirs.dedup();
        for d in dirs {
            let _ = fs::remove_dir(&d);
        }
    }
}

#[cfg(unix)]
fn file_mode() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o666)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedupe::{dedupe_sorted, sort_and_dedupe};
    use crate::scan::{ScanFilter, last_dates, read_partition_pruned, scan};
    use tickerlake::Symbol;

    fn bar(sym: &str, date: &str, close: &str, ts: Option<&str>) -> Bar {
        serde_json::from_str(&format!(
            r#"{{"symbol":"{sym}","date":"{date}","close":{close},"provider":"yahoo","source_ts":{}}}"#,
            ts.map_or("null".to_string(), |t| format!("\"{t}\""))
        ))
        .unwrap()
    }

    #[test]
    fn dedupe_takes_the_short_way_only_when_it_gives_the_same_rows() {
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..500 {
            let n = rng.usize(0..12);
            let sorted = rng.bool();
            let mut day = 1;
            let rows: Vec<Bar> = (0..n)
                .map(|_| {
                    day = if sorted {
                        day + rng.u32(0..2)
                    } else {
                        rng.u32(1..6)
                    };
                    let sym = ["A", "B"][usize::from(!sorted && rng.bool())];
                    let ts = rng
                        .bool()
                        .then(|| format!("2024-01-0{}T00:00:00Z", rng.u8(1..4)));
                    bar(
                        sym,
                        &format!("2024-02-{day:02}"),
                        &rng.u16(1..9).to_string(),
                        ts.as_deref(),
                    )
                })
                .collect();
            assert_eq!(dedupe_sorted(rows.clone()), sort_and_dedupe(rows).0);
        }
    }

    fn writer(root: &Path, layout: Layout) -> LakeWriter {
        LakeWriter::new(
            root,
            layout,
            ColumnTypes::default(),
            WriteOptions::default(),
        )
        .unwrap()
    }

    /// `rows` grouped by partition, in partition order.
    fn jobs(layout: Layout, rows: Vec<Bar>) -> Vec<(PartitionKey, Vec<Bar>)> {
        let mut groups: BTreeMap<PartitionKey, Vec<Bar>> = BTreeMap::new();
        for b in rows {
            groups
                .entry(PartitionKey::of(layout, &b))
                .or_default()
                .push(b);
        }
        groups.into_iter().collect()
    }

    fn write(root: &Path, layout: Layout, rows: Vec<Bar>) -> WriteSummary {
        let mut w = writer(root, layout);
        for (k, rows) in jobs(layout, rows) {
            w.upsert(&k, rows).unwrap();
        }
        w.commit().unwrap()
    }

    #[test]
    fn one_volume_type_per_lake_as_its_marker_and_files_say() {
        let dir = tempfile::tempdir().unwrap();
        let float = ColumnTypes {
            volume: crate::bars::VolumeType::Float64,
            ..ColumnTypes::default()
        };
        let mut fractional = bar("A", "2024-02-01", "10", None);
        fractional.volume = Some(tickerlake::Volume::Fractional(12.25));
        // A new lake records its volume type and keeps a fractional volume as it was.
        let root = dir.path().join("float");
        let mut w =
            LakeWriter::new(&root, Layout::SymbolYear, float, WriteOptions::default()).unwrap();
        let key = PartitionKey::of(Layout::SymbolYear, &fractional);
        w.upsert(&key, vec![fractional.clone()]).unwrap();
        w.commit().unwrap();
        let marker = fs::read_to_string(root.join(crate::layout::MARKER_FILE)).unwrap();
        assert!(marker.contains(r#""volume_type": "float64""#), "{marker}");
        assert_eq!(all(&root), vec![fractional]);
        let refused = LakeWriter::new(
            &root,
            Layout::SymbolYear,
            ColumnTypes::default(),
            WriteOptions::default(),
        );
        assert!(
            matches!(&refused, Err(LakeError::VolumeTypeMismatch { found, .. }) if found == "float64"),
            "{:?}",
            refused.err()
        );
        // A lake made before markers said (int64 files, no volume_type) is int64.
        let old = dir.path().join("old");
        write(
            &old,
            Layout::SymbolYear,
            vec![bar("A", "2024-02-01", "10", None)],
        );
        let path = old.join(crate::layout::MARKER_FILE);
        let text = fs::read_to_string(&path).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut v = v.as_object().unwrap().clone();
        v.remove("volume_type");
        fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        assert!(crate::layout::is_lake(&old));
        let refused = LakeWriter::new(&old, Layout::SymbolYear, float, WriteOptions::default());
        assert!(
            matches!(&refused, Err(LakeError::VolumeTypeMismatch { found, .. }) if found == "int64"),
            "{:?}",
            refused.err()
        );
        LakeWriter::new(
            &old,
            Layout::SymbolYear,
            ColumnTypes::default(),
            WriteOptions::default(),
        )
        .unwrap();
        // A volume_type that is not one of the two names is no marker of ours: neither read
        // as int64 nor written into.
        for bad in ["null", "12", r#""float32""#] {
            let text = format!(
                r#"{{"format":"tickerlake.lake/1","layout":"symbol-year","price_type":"decimal","volume_type":{bad}}}"#
            );
            assert!(
                crate::layout::marker_problem_of(text.as_bytes()).is_some(),
                "{bad}"
            );
        }
    }

    fn all(root: &Path) -> Vec<Bar> {
        let mut out = Vec::new();
        scan(root, &ScanFilter::default(), |b| {
            out.extend(b);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn newest_source_ts_wins_ties_go_to_later_input() {
        let rows = vec![
            bar("A", "2024-01-02", "1", Some("2024-01-02T21:00:00Z")),
            bar("A", "2024-01-02", "2", Some("2024-01-03T21:00:00Z")),
            bar("A", "2024-01-02", "3", Some("2024-01-02T22:00:00Z")),
            bar("A", "2024-01-03", "4", None),
            bar("A", "2024-01-03", "5", None),
            bar("A", "2024-01-04", "6", Some("2024-01-04T21:00:00Z")),
            bar("A", "2024-01-04", "7", None),
        ];
        let out = dedupe_sorted(rows);
        let closes: Vec<String> = out.iter().map(|b| b.close.unwrap().to_string()).collect();
        assert_eq!(closes, vec!["2", "5", "6"]);
        // Below the millisecond the lake keeps, timestamps tie: the later input wins, however
        // the rows were flushed.
        let rows = vec![
            bar("A", "2024-01-02", "1", Some("2024-01-02T21:00:00.0009Z")),
            bar("A", "2024-01-02", "2", Some("2024-01-02T21:00:00.0005Z")),
        ];
        assert_eq!(dedupe_sorted(rows)[0].close.unwrap().to_string(), "2");
    }

    #[test]
    fn upsert_merges_and_reruns_are_byte_identical() {
        for layout in [Layout::SymbolYear, Layout::YearMonth] {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path();
            let first = vec![
                bar("AAPL", "2023-12-29", "1", None),
                bar("AAPL", "2024-01-02", "2", None),
                bar("MSFT", "2024-01-02", "3", None),
            ];
            let s = write(root, layout, first.clone());
            assert_eq!(s.partitions_created, s.partitions_touched);
            let snapshot = |root: &Path| -> BTreeMap<PathBuf, Vec<u8>> {
                partitions(root)
                    .unwrap()
                    .iter()
                    .map(|k| (k.file(root), fs::read(k.file(root)).unwrap()))
                    .collect()
            };
            let before = snapshot(root);
            let again = write(root, layout, first.clone());
            assert_eq!(again.partitions_touched, 0, "{layout:?}");
            assert_eq!(snapshot(root), before);
            // A later fetch revises one day and adds one.
            let s = write(
                root,
                layout,
                vec![
                    bar("AAPL", "2024-01-02", "2.5", Some("2024-01-03T00:00:00Z")),
                    bar("AAPL", "2024-01-03", "3", None),
                ],
            );
            assert_eq!(s.partitions_touched, 1);
            let rows = all(root);
            let view: Vec<(String, String, String)> = rows
                .iter()
                .map(|b| {
                    (
                        b.symbol.to_string(),
                        b.date.to_string(),
                        b.close.unwrap().to_string(),
                    )
                })
                .collect();
            assert_eq!(
                view,
                vec![
                    ("AAPL".into(), "2023-12-29".into(), "1".into()),
                    ("AAPL".into(), "2024-01-02".into(), "2.5".into()),
                    ("AAPL".into(), "2024-01-03".into(), "3".into()),
                    ("MSFT".into(), "2024-01-02".into(), "3".into()),
                ]
            );
            let last = last_dates(root, &BTreeSet::new()).unwrap();
            assert_eq!(
                last.get(&Symbol::parse("AAPL").unwrap())
                    .map(|d| d.to_string())
                    .as_deref(),
                Some("2024-01-03")
            );
        }
    }

    #[test]
    fn an_abandoned_write_leaves_the_lake_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            Layout::SymbolYear,
            vec![bar("AAPL", "2024-01-02", "2", None)],
        );
        let before: Vec<_> = walk(root);
        {
            let mut w = LakeWriter::new(
                root,
                Layout::SymbolYear,
                ColumnTypes::default(),
                WriteOptions::default(),
            )
            .unwrap();
            let b = bar("AAPL", "2024-01-03", "3", None);
            w.upsert(&PartitionKey::of(Layout::SymbolYear, &b), vec![b])
                .unwrap();
            let n = bar("NEW", "2024-01-03", "3", None);
            w.upsert(&PartitionKey::of(Layout::SymbolYear, &n), vec![n])
                .unwrap();
            // dropped without commit
        }
        assert_eq!(walk(root), before);
    }

    /// Staging directories beside the lake at `root`.
    fn staging_dirs(root: &Path) -> Vec<PathBuf> {
        let prefix = format!(
            ".{}.tickerlake-staging-",
            root.file_name().unwrap().to_str().unwrap()
        );
        fs::read_dir(root.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&prefix))
            })
            .collect()
    }

    #[test]
    fn new_top_level_directories_are_built_beside_the_lake_and_moved_in_whole() {
        for layout in [Layout::SymbolYear, Layout::YearMonth] {
            let dir = tempfile::tempdir().unwrap();
            let (staged, beside) = (dir.path().join("staged"), dir.path().join("beside"));
            let rows = vec![
                bar("AAPL", "2023-12-29", "1", None),
                bar("AAPL", "2024-01-02", "2", None),
                bar("MSFT", "2024-01-02", "3", None),
                bar("MSFT", "2024-02-01", "4", None),
            ];
            // Every top-level directory already there (empty): each partition is staged next
            // to its target instead. Both ways give the same files.
            fs::create_dir_all(&beside).unwrap();
            claim_for_writing(&beside, layout, ColumnTypes::default()).unwrap();
            for b in &rows {
                fs::create_dir_all(beside.join(PartitionKey::of(layout, b).top())).unwrap();
            }
            let a = write(&staged, layout, rows.clone());
            let b = write(&beside, layout, rows.clone());
            assert_eq!(a, b);
            assert_eq!(a.partitions_created, a.partitions_touched);
            let rel = |root: &Path| -> Vec<(PathBuf, Vec<u8>)> {
                walk(root)
                    .into_iter()
                    .map(|(p, bytes)| (p.strip_prefix(root).unwrap().to_path_buf(), bytes))
                    .collect()
            };
            assert_eq!(rel(&staged), rel(&beside), "{layout:?}");
            assert!(staging_dirs(&staged).is_empty(), "staging left behind");
            // A later write mixes both: a new year of a known symbol, a new symbol.
            let more = vec![
                bar("AAPL", "2025-01-02", "5", None),
                bar("NVDA", "2025-01-02", "6", None),
            ];
            write(&staged, layout, more.clone());
            write(&beside, layout, more);
            assert_eq!(rel(&staged), rel(&beside), "{layout:?}");
            assert_eq!(all(&staged).len(), 6);
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_lake_this_run_creates_appears_whole_at_the_commit_and_a_stranger_s_file_is_kept() {
        use std::os::unix::fs::MetadataExt;
        let rows = || {
            // More partitions than the bulk path's threshold, and a few (the flushed path).
            let mut rows: Vec<Bar> = (0..80)
                .map(|i| bar(&format!("S{i:03}"), "2024-01-02", "1.5", None))
                .collect();
            rows.push(bar("S000", "2023-12-29", "1.25", None));
            rows
        };
        for n in [3, 81] {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("new/lake");
            let mut w = writer(&root, Layout::SymbolYear);
            let before = fs::metadata(&root).unwrap().ino();
            let rows = rows().into_iter().take(n).collect();
            w.upsert_many(jobs(Layout::SymbolYear, rows), 2).unwrap();
            // Until the commit a reader sees an empty lake: its marker and lock only.
            let mut names: Vec<String> = fs::read_dir(&root)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            assert_eq!(names, [MARKER_FILE, LOCK_FILE]);
            let marker = fs::read(root.join(MARKER_FILE)).unwrap();
            let summary = w.commit().unwrap();
            assert_eq!(summary.rows_written, n as u64);
            // One swap: a new directory holds the whole lake, the marker as it was.
            assert_ne!(fs::metadata(&root).unwrap().ino(), before, "n={n}");
            assert_eq!(fs::read(root.join(MARKER_FILE)).unwrap(), marker);
            assert_eq!(all(&root).len(), n);
            assert!(staging_dirs(&root).is_empty(), "staging left behind");
            // The lake is an ordinary lake for the next writer.
            write(
                &root,
                Layout::SymbolYear,
                vec![bar("S000", "2024-01-03", "2", None)],
            );
            assert_eq!(all(&root).len(), n + 1);
        }

        // A file someone else puts in the new lake's directory during the run stays there: the
        // new directories are then moved in one by one.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("lake");
        let mut w = writer(&root, Layout::SymbolYear);
        let before = fs::metadata(&root).unwrap().ino();
        w.upsert_many(jobs(Layout::SymbolYear, rows()), 2).unwrap();
        fs::write(root.join("NOTES.txt"), "mine").unwrap();
        w.commit().unwrap();
        assert_eq!(fs::read_to_string(root.join("NOTES.txt")).unwrap(), "mine");
        assert_eq!(fs::metadata(&root).unwrap().ino(), before);
        assert_eq!(all(&root).len(), 81);
        assert!(staging_dirs(&root).is_empty());

        // A directory the user made (empty, then claimed) keeps its identity: its owner, mode
        // and place are the user's.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("lake");
        fs::create_dir(&root).unwrap();
        let before = fs::metadata(&root).unwrap().ino();
        write(&root, Layout::SymbolYear, rows());
        assert_eq!(fs::metadata(&root).unwrap().ino(), before);
        assert_eq!(all(&root).len(), 81);
    }

    #[test]
    fn a_staging_directory_left_by_a_killed_run_is_removed_by_the_next_writer() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("lake");
        fs::create_dir(&root).unwrap();
        let stale = dir.path().join(".lake.tickerlake-staging-4294967294-1");
        fs::create_dir_all(stale.join("symbol=X/year=2024")).unwrap();
        fs::write(stale.join("symbol=X/year=2024/part-0.parquet"), b"half").unwrap();
        // Another lake's staging is not ours to remove.
        let other = dir.path().join(".lake2.tickerlake-staging-x");
        fs::create_dir(&other).unwrap();
        write(
            &root,
            Layout::SymbolYear,
            vec![bar("A", "2024-01-02", "1", None)],
        );
        assert!(!stale.exists());
        assert!(other.exists());
        assert!(staging_dirs(&root).is_empty());
        // An abandoned writer removes its own.
        {
            let mut w = LakeWriter::new(
                &root,
                Layout::SymbolYear,
                ColumnTypes::default(),
                WriteOptions::default(),
            )
            .unwrap();
            let n = bar("NEW", "2024-01-03", "3", None);
            w.upsert(&PartitionKey::of(Layout::SymbolYear, &n), vec![n])
                .unwrap();
            assert_eq!(staging_dirs(&root).len(), 1);
        }
        assert!(staging_dirs(&root).is_empty());
        assert!(!root.join("symbol=NEW").exists());
    }

    fn walk(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    out.push((p.clone(), Vec::new()));
                    stack.push(p);
                } else {
                    out.push((p.clone(), fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn row_groups_are_pruned_by_their_statistics() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let opts = WriteOptions {
            row_group_rows: 1024,
            ..WriteOptions::default()
        };
        let mut w = LakeWriter::new(root, Layout::YearMonth, ColumnTypes::default(), opts).unwrap();
        // 3000 rows in one month file: 3 row groups, sorted by symbol then date.
        let mut rows = Vec::new();
        for s in 0..100 {
            for d in 1..=30 {
                rows.push(bar(
                    &format!("S{s:03}"),
                    &format!("2024-04-{d:02}"),
                    "1",
                    None,
                ));
            }
        }
        let key = PartitionKey::YearMonth(2024, 4);
        w.upsert(&key, rows).unwrap();
        w.commit().unwrap();
        let filter = ScanFilter {
            symbols: [Symbol::parse("S099").unwrap()].into_iter().collect(),
            ..ScanFilter::default()
        };
        let read = read_partition_pruned(root, &key, &filter).unwrap();
        assert!(read.len() < 3000, "a row group without S099 was read");
        assert!(read.iter().filter(|b| b.symbol.as_str() == "S099").count() == 30);
        let mut got = Vec::new();
        scan(root, &filter, |b| {
            got.extend(b);
            Ok(())
        })
        .unwrap();
        assert_eq!(got.len(), 30);
    }

    #[test]
    fn unsafe_symbols_stay_inside_the_lake() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("lake");
        write(
            &root,
            Layout::SymbolYear,
            vec![
                bar("CON", "2024-01-02", "1", None),
                bar("^GSPC", "2024-01-02", "2", None),
            ],
        );
        let names: Vec<String> = fs::read_dir(&root)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.contains(&"symbol=%43ON".to_string()), "{names:?}");
        assert!(names.contains(&"symbol=%5EGSPC".to_string()), "{names:?}");
        assert_eq!(all(&root).len(), 2);
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "nothing outside the lake"
        );
    }
}
