//! The crash-safe part of an update: the marker that stands while feature files are written,
//! whole files and rewritten symbols swapped in, and what the next run does after a kill.

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::Error;
use crate::store::{self, AdjustState};

use super::plan::{Outcome, Write};
use super::stored::{HeldFile, StoredFile};
use super::{TEMP_DIR, UNDER_WAY, read_err, write_err};

/// Puts up the marker of an update under way (before the first byte of a feature file is
/// written).
pub(super) fn mark_under_way(dir: &Path, under_way: &UnderWay) -> Result<(), Error> {
    let marker = dir.join(UNDER_WAY);
    if let Some(p) = marker.parent() {
        fs::create_dir_all(p).map_err(|e| write_err(p, e))?;
    }
    let json = serde_json::to_vec(under_way).map_err(|e| Error::Data(e.to_string()))?;
    tickerlake::atomic::write_atomic(&marker, &json).map_err(|e| write_err(&marker, e))
}

/// What the marker of an update under way says: the symbols it rewrites whole.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(super) struct UnderWay {
    pub(super) rewritten: Vec<String>,
}

/// Writes the feature files: tails in place, new files beside and renamed in, rewritten
/// symbols' directories built beside and swapped in; one flush before the renames and one
/// after, under the marker that a next run cleans up after.
pub(super) fn write_features(dir: &Path, outcomes: &[Outcome]) -> Result<(), Error> {
    let all: Vec<&Write> = outcomes.iter().flat_map(|o| &o.writes).collect();
    if all.is_empty() {
        return Ok(());
    }
    let under_way = UnderWay {
        rewritten: all
            .iter()
            .filter_map(|w| match w {
                Write::Symbol { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect(),
    };
    // The marker goes up before the first byte is written.
    mark_under_way(dir, &under_way)?;
    // New days in place, past the calendar on disk (invisible until it moves).
    all.par_iter().try_for_each(|w| match w {
        Write::Tail {
            path,
            file,
            offset,
            bytes,
            cut,
        } => append_at(path, file.as_ref(), *offset, bytes, *cut),
        _ => Ok(()),
    })?;
    let writes: Vec<&Write> = all
        .into_iter()
        .filter(|w| !matches!(w, Write::Tail { .. }))
        .collect();
    if writes.is_empty() {
        // The appends are durable before the calendar moves.
        return store::sync_tree_of(dir);
    }
    let temp_dir = dir.join(TEMP_DIR);
    fs::create_dir_all(&temp_dir).map_err(|e| write_err(&temp_dir, e))?;
    // The directories of new symbols, each once.
    let parents: BTreeSet<&Path> = writes
        .iter()
        .filter_map(|w| match w {
            Write::Whole { path, .. } => path.parent(),
            Write::Symbol { .. } | Write::Tail { .. } => None,
        })
        .collect();
    parents
        .par_iter()
        .try_for_each(|d| fs::create_dir_all(d).map_err(|e| write_err(d, e)))?;
    let temp_of = |k: usize| temp_dir.join(format!("{k}"));
    writes
        .par_iter()
        .enumerate()
        .try_for_each(|(k, w)| match w {
            Write::Whole { bytes, .. } => {
                let temp = temp_of(k);
                fs::write(&temp, bytes).map_err(|e| write_err(&temp, e))
            }
            Write::Symbol { dir, files, .. } => build_symbol_dir(&temp_of(k), dir, files),
            Write::Tail { .. } => Ok(()),
        })?;
    store::sync_tree_of(dir)?;
    {
        writes
            .par_iter()
            .enumerate()
            .try_for_each(|(k, w)| match w {
                Write::Whole { path, .. } => {
                    fs::rename(temp_of(k), path).map_err(|e| write_err(path, e))
                }
                Write::Symbol { dir, .. } => swap_symbol_dir(&temp_of(k), dir),
                Write::Tail { .. } => Ok(()),
            })?;
        store::sync_tree_of(dir)?;
    }
    Ok(())
}

/// Writes `bytes` at `offset` of the feature file at `path` (through `held`, its handle from
/// planning, when there is one), then cuts what lies after them (`cut`: a killed update left
/// more).
fn append_at(
    path: &Path,
    held: Option<&HeldFile>,
    offset: u64,
    bytes: &[u8],
    cut: bool,
) -> Result<(), Error> {
    let opened;
    let file = match held {
        Some(h) => h.file(),
        None => {
            opened = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| write_err(path, e))?;
            &opened
        }
    };
    super::stored::write_at(file, bytes, offset).map_err(|e| write_err(path, e))?;
    if cut {
        file.set_len(offset + bytes.len() as u64)
            .map_err(|e| write_err(path, e))?;
    }
    Ok(())
}

/// A rewritten symbol's new directory at `temp`: its new files, and links to the files of
/// `dir` it keeps (fields this run does not write).
fn build_symbol_dir(temp: &Path, dir: &Path, files: &[(String, Vec<u8>)]) -> Result<(), Error> {
    fs::create_dir(temp).map_err(|e| write_err(temp, e))?;
    for (name, bytes) in files {
        let path = temp.join(name);
        fs::write(&path, bytes).map_err(|e| write_err(&path, e))?;
    }
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(read_err(dir, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| read_err(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if files.iter().any(|(n, _)| *n == name) || !entry.path().is_file() {
            continue;
        }
        let target = temp.join(&name);
        if fs::hard_link(entry.path(), &target).is_err() {
            fs::copy(entry.path(), &target).map_err(|e| write_err(&target, e))?;
        }
    }
    Ok(())
}

/// Puts a rewritten symbol's directory in place in one step (the old one goes).
fn swap_symbol_dir(temp: &Path, dir: &Path) -> Result<(), Error> {
    if dir.is_dir() {
        store::exchange(temp, dir)?;
        fs::remove_dir_all(temp).map_err(|e| write_err(temp, e))
    } else {
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).map_err(|e| write_err(parent, e))?;
        }
        fs::rename(temp, dir).map_err(|e| write_err(dir, e))
    }
}

/// After a killed update: every feature file cut back to the calendar on disk (what the killed
/// run wrote past it is not part of the store), its temporary files removed. A symbol it was
/// rewriting whole may be in its new version or its old, and its saved state in either: it
/// waits for its whole history (`--adjust qlib`), as a restated symbol does.
pub(super) fn finish_interrupted(dir: &Path) -> Result<(), Error> {
    let under_way: UnderWay = fs::read(dir.join(UNDER_WAY))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    if !under_way.rewritten.is_empty() && dir.join(store::ADJUST_STATE).exists() {
        let mut state = AdjustState::load(dir)?;
        for name in &under_way.rewritten {
            state.symbols.remove(name);
            state.waiting.insert(name.clone());
        }
        let path = dir.join(store::ADJUST_STATE);
        tickerlake::atomic::write_atomic(&path, &state.to_json()?)
            .map_err(|e| write_err(&path, e))?;
    }
    let calendar = store::read_calendar(dir)?;
    let features = dir.join("features");
    let dirs: Vec<PathBuf> = match fs::read_dir(&features) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(read_err(&features, e)),
    };
    dirs.par_iter().try_for_each(|d| -> Result<(), Error> {
        let Ok(entries) = fs::read_dir(d) else {
            return Ok(());
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "bin") {
                continue;
            }
            if let Some(s) = StoredFile::open(&path, calendar.len(), None)? {
                if s.start >= calendar.len() {
                    // A new symbol's or field's file, all of it past the calendar.
                    drop(s);
                    fs::remove_file(&path).map_err(|e| write_err(&path, e))?;
                    continue;
                }
                let end = 4 + 4 * s.len as u64;
                let size = s.file.metadata().map_err(|e| read_err(&path, e))?.len();
                if size > end {
                    drop(s);
                    OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .and_then(|f| f.set_len(end))
                        .map_err(|e| write_err(&path, e))?;
                }
            }
        }
        Ok(())
    })?;
    let temp_dir = dir.join(TEMP_DIR);
    if temp_dir.exists() {
        fs::remove_dir_all(&temp_dir).map_err(|e| write_err(&temp_dir, e))?;
    }
    // The temporary files of the atomic replacements it was killed in (`.day.txt.XXXX.tmp`);
    // the lock says no other run is writing them.
    for sub in ["calendars", "instruments", ".tickerlake"] {
        let Ok(entries) = fs::read_dir(dir.join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') && name.ends_with(".tmp") {
                let path = entry.path();
                fs::remove_file(&path).map_err(|e| write_err(&path, e))?;
            }
        }
    }
    store::sync_tree_of(dir)?;
    tracing::info!("cut the feature files back to the calendar after an interrupted update");
    remove_marker(dir)
}

pub(super) fn remove_marker(dir: &Path) -> Result<(), Error> {
    let marker = dir.join(UNDER_WAY);
    match fs::remove_file(&marker) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(write_err(&marker, e)),
    }
    let temp_dir = dir.join(TEMP_DIR);
    let _ = fs::remove_dir(&temp_dir);
    tickerlake::atomic::sync_dir(&dir.join(".tickerlake")).map_err(|e| write_err(dir, e))
}
