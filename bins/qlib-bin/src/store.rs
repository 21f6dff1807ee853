//! The Qlib store on disk (`../shared/notes/qlib-format.md`): instrument names and directories,
//! the calendar, `all.txt`, the `.bin` files, and putting a new store in place in one step.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tickerlake::Symbol;

use crate::Error;
use crate::cli::SymbolStyle;

/// Windows device names, which Qlib's `code_to_fname` prefixes with `_qlib_` on every OS.
const DEVICE_NAMES: [&str; 24] = [
    "CON", "PRN", "AUX", "NUL", "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7",
    "COM8", "COM9", "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Names pandas reads back from `all.txt` as NaN (its default `na_values`, upper case, plus the
/// ones the issue names): pyqlib's `D.instruments("all")` then fails on them.
const READ_AS_NA: [&str; 12] = [
    "NA", "NAN", "NULL", "NONE", "N/A", "#N/A", "#N/A N/A", "#NA", "<NA>", "-NAN", "1.#IND",
    "1.#QNAN",
];

/// The instrument name written in `all.txt` for a symbol.
pub fn instrument_name(symbol: &str, style: SymbolStyle) -> Result<String, String> {
    let upper = symbol.trim().to_uppercase();
    let name = match style {
        SymbolStyle::Canonical => upper,
        SymbolStyle::Qlib => upper.replace('.', "-"),
    };
    if READ_AS_NA.contains(&name.as_str()) {
        return Err(format!(
            "{name:?}: pandas reads this name back from instruments/all.txt as a missing value, \
             and pyqlib then cannot list the instruments; leave it out with --symbols"
        ));
    }
    // The symbol rules keep names to letters, digits and . - _ ^ = &: safe as a directory.
    Symbol::parse(&name)
        .map(|_| name.clone())
        .map_err(|e| format!("{symbol:?}: {e}"))
}

/// The `features/` directory of an instrument: Qlib's `code_to_fname(name).lower()`.
pub fn feature_dir(name: &str) -> String {
    if DEVICE_NAMES.contains(&name.to_uppercase().as_str()) {
        format!("_qlib_{name}").to_lowercase()
    } else {
        name.to_lowercase()
    }
}

/// One `.bin` file: float32 start index, then one float32 per calendar day from the
/// instrument's first date to its last, NaN where it has no value.
pub fn bin_bytes(calendar: &[i32], dates: &[i32], values: &[f32]) -> Result<Vec<u8>, String> {
    let (Some(&first), Some(&last)) = (dates.first(), dates.last()) else {
        return Ok(Vec::new());
    };
    let start = calendar
        .binary_search(&first)
        .map_err(|_| "first date not in the calendar".to_string())?;
    let end = calendar
        .binary_search(&last)
        .map_err(|_| "last date not in the calendar".to_string())?;
    let mut out = Vec::with_capacity(4 * (end - start + 2));
    out.extend_from_slice(&(start as f32).to_le_bytes());
    let mut k = 0;
    for day in &calendar[start..=end] {
        // Dates are a subset of the calendar, in order: walk both.
        let v = if dates.get(k) == Some(day) {
            k += 1;
            values[k - 1]
        } else {
            f32::NAN
        };
        out.extend_from_slice(&v.to_le_bytes());
    }
    if k != dates.len() {
        return Err("a date is not in the calendar".into());
    }
    Ok(out)
}

/// `%Y-%m-%d` lines.
pub fn calendar_text(calendar: &[i32]) -> String {
    let mut s = String::with_capacity(calendar.len() * 11);
    for d in calendar {
        s.push_str(&crate::day_text(*d));
        s.push('\n');
    }
    s
}

/// `NAME\tstart\tend` lines, in the order given.
pub fn instruments_text(rows: &[(String, i32, i32)]) -> String {
    let mut s = String::new();
    for (name, a, b) in rows {
        s.push_str(&format!(
            "{name}\t{}\t{}\n",
            crate::day_text(*a),
            crate::day_text(*b)
        ));
    }
    s
}

/// Whether a directory looks like a Qlib store (what `--force` may replace).
pub fn looks_like_store(dir: &Path) -> bool {
    ["calendars", "instruments", "features"]
        .iter()
        .any(|d| dir.join(d).is_dir())
}

/// A new store being built next to its final place (same file system), invisible to readers.
pub struct Staging {
    pub dir: PathBuf,
    target: PathBuf,
    done: bool,
}

impl Staging {
    pub fn new(target: &Path) -> Result<Staging, Error> {
        let target = std::path::absolute(target).map_err(|e| io_err(target, e))?;
        let parent = target.parent().ok_or_else(|| {
            Error::Usage(format!("{}: not a directory to write", target.display()))
        })?;
        fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = parent.join(format!(
            ".{name}.tickerlake-staging-{}-{stamp}",
            std::process::id()
        ));
        fs::create_dir(&dir).map_err(|e| io_err(&dir, e))?;
        Ok(Staging {
            dir,
            target,
            done: false,
        })
    }

    /// Writes a file of the new store (it becomes durable at [`Staging::commit`]).
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<(), Error> {
        let path = self.dir.join(rel);
        if let Some(p) = path.parent() {
            fs::create_dir_all(p).map_err(|e| io_err(p, e))?;
        }
        let mut f = fs::File::create(&path).map_err(|e| io_err(&path, e))?;
        f.write_all(bytes).map_err(|e| io_err(&path, e))
    }

    /// Makes the new store durable and puts it in place of the old one in one step; the old
    /// one is then removed.
    pub fn commit(mut self) -> Result<(), Error> {
        sync_tree(&self.dir)?;
        let target = self.target.clone();
        match fs::symlink_metadata(&target) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::rename(&self.dir, &target).map_err(|e| io_err(&target, e))?;
            }
            Err(e) => return Err(io_err(&target, e)),
            Ok(_) => {
                if fs::read_dir(&target)
                    .map_err(|e| io_err(&target, e))?
                    .next()
                    .is_none()
                {
                    fs::remove_dir(&target).map_err(|e| io_err(&target, e))?;
                    fs::rename(&self.dir, &target).map_err(|e| io_err(&target, e))?;
                } else {
                    exchange(&self.dir, &target)?;
                    // The staging path now holds the old store.
                    fs::remove_dir_all(&self.dir).map_err(|e| io_err(&self.dir, e))?;
                }
            }
        }
        if let Some(parent) = target.parent() {
            tickerlake::atomic::sync_dir(parent).map_err(|e| io_err(parent, e))?;
        }
        self.done = true;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

fn io_err(path: &Path, source: io::Error) -> Error {
    Error::Lib(tickerlake::Error::Write {
        name: path.display().to_string(),
        source,
    })
}

/// Flushes the new store: one file-system sync on Linux, else every file and directory.
#[cfg(target_os = "linux")]
fn sync_tree(dir: &Path) -> Result<(), Error> {
    let d = fs::File::open(dir).map_err(|e| io_err(dir, e))?;
    rustix::fs::syncfs(&d).map_err(|e| io_err(dir, io::Error::from(e)))
}

#[cfg(not(target_os = "linux"))]
fn sync_tree(dir: &Path) -> Result<(), Error> {
    for entry in fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let path = entry.map_err(|e| io_err(dir, e))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            fs::File::open(&path)
                .and_then(|f| f.sync_all())
                .map_err(|e| io_err(&path, e))?;
        }
    }
    tickerlake::atomic::sync_dir(dir).map_err(|e| io_err(dir, e))
}

/// Swaps two directories in one step (renameat2 RENAME_EXCHANGE): a reader sees the old store
/// or the new one, never neither.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> Result<(), Error> {
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        a,
        rustix::fs::CWD,
        b,
        rustix::fs::RenameFlags::EXCHANGE,
    )
    .map_err(|e| io_err(b, io::Error::from(e)))
}

/// Without an exchange: the old store is moved aside, the new one in, for a moment neither.
#[cfg(not(target_os = "linux"))]
fn exchange(a: &Path, b: &Path) -> Result<(), Error> {
    let aside = a.with_extension("old");
    fs::rename(b, &aside).map_err(|e| io_err(b, e))?;
    fs::rename(a, b).map_err(|e| io_err(b, e))?;
    fs::rename(&aside, a).map_err(|e| io_err(a, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_directories_like_qlib() {
        assert_eq!(
            instrument_name("brk.b", SymbolStyle::Canonical).unwrap(),
            "BRK.B"
        );
        assert_eq!(
            instrument_name("BRK.B", SymbolStyle::Qlib).unwrap(),
            "BRK-B"
        );
        assert_eq!(feature_dir("PRN"), "_qlib_prn");
        assert_eq!(feature_dir("LPT1"), "_qlib_lpt1");
        assert_eq!(feature_dir("BRK-B"), "brk-b");
        assert_eq!(feature_dir("PRNX"), "prnx");
        for na in ["NA", "na", "Null", "N/A", "NaN"] {
            let e = instrument_name(na, SymbolStyle::Canonical).unwrap_err();
            assert!(e.contains("missing value"), "{e}");
        }
        assert!(instrument_name("../X", SymbolStyle::Canonical).is_err());
        assert!(instrument_name("A/B", SymbolStyle::Canonical).is_err());
        assert!(instrument_name(".X", SymbolStyle::Canonical).is_err());
    }

    #[test]
    fn bin_layout_start_index_then_values_with_nan_gaps() {
        let calendar = [10, 11, 12, 13, 14];
        let b = bin_bytes(&calendar, &[11, 13, 14], &[1.0, 3.0, 4.0]).unwrap();
        let f: Vec<f32> = b
            .chunks(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(f[0], 1.0);
        assert_eq!(f[1], 1.0);
        assert!(f[2].is_nan());
        assert_eq!(&f[3..], &[3.0, 4.0]);
        assert_eq!(
            &b[8..12],
            &[0x00, 0x00, 0xC0, 0x7F],
            "NaN as dump_bin writes it"
        );
        assert!(bin_bytes(&calendar, &[15], &[1.0]).is_err());
    }
}
