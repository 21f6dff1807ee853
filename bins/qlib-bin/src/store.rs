//! The Qlib store on disk (`docs/qlib-format.md`): instrument names and directories,
//! the calendar, `all.txt`, the `.bin` files, and putting a new store in place in one step.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tickerlake::Symbol;

use crate::Error;
use crate::adjust::Carry;
use crate::cli::{Adjust, SymbolStyle};
use crate::options::InputOptions;

/// Windows device names, which Qlib's `code_to_fname` prefixes with `_qlib_` on every OS.
const DEVICE_NAMES: [&str; 24] = [
    "CON", "PRN", "AUX", "NUL", "COM0", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7",
    "COM8", "COM9", "LPT0", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// Names pandas reads back from `all.txt` as NaN (its default `na_values`, in upper case, as
/// symbols are): pyqlib's `D.instruments("all")` then fails on them.
const READ_AS_NA: [&str; 12] = [
    "NA", "NAN", "NULL", "NONE", "N/A", "#N/A", "#N/A N/A", "#NA", "<NA>", "-NAN", "1.#IND",
    "1.#QNAN",
];

/// Why a symbol cannot be an instrument.
#[derive(Debug, Clone, PartialEq)]
pub enum BadName {
    /// pandas reads it back from `all.txt` as a missing value.
    ReadAsNa(String),
    /// Not a safe name.
    Invalid(String),
}

impl std::fmt::Display for BadName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadName::ReadAsNa(name) => write!(
                f,
                "{name:?}: pandas reads this name back from instruments/all.txt as a missing \
                 value, and pyqlib then cannot list the instruments (--na-tickers skip leaves \
                 such tickers out)"
            ),
            BadName::Invalid(why) => f.write_str(why),
        }
    }
}

/// The instrument name written in `all.txt` for a symbol.
pub fn instrument_name(symbol: &str, style: SymbolStyle) -> Result<String, BadName> {
    let upper = symbol.trim().to_uppercase();
    let name = match style {
        SymbolStyle::Canonical => upper,
        // Yahoo's spelling: a name outside the US keeps its venue suffix (`AIR.PA`, `BT-A.L`).
        SymbolStyle::Qlib => match tickerlake::listing::split(&upper) {
            (_, Some(_)) => upper,
            (_, None) => upper.replace('.', "-"),
        },
    };
    if READ_AS_NA.contains(&name.as_str()) {
        return Err(BadName::ReadAsNa(name));
    }
    // The symbol rules keep names to letters, digits and . - _ ^ = &: safe as a directory.
    Symbol::parse(&name)
        .map(|_| name.clone())
        .map_err(|e| BadName::Invalid(format!("{symbol:?}: {e}")))
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
/// instrument's first date to its last, NaN where it has no value — or, with `carry_gaps`, the
/// value of the day before (what Qlib's collector gives `$factor` on a day without a row).
pub fn bin_bytes(
    calendar: &[i32],
    dates: &[i32],
    values: &[f32],
    carry_gaps: bool,
) -> Result<Vec<u8>, String> {
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
    let mut last = f32::NAN;
    for day in &calendar[start..=end] {
        // Dates are a subset of the calendar, in order: walk both.
        let v = if dates.get(k) == Some(day) {
            k += 1;
            values[k - 1]
        } else if carry_gaps {
            last
        } else {
            f32::NAN
        };
        last = v;
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

/// The watermark: what the store holds, for `update --since-watermark`.
pub const WATERMARK: &str = ".tickerlake/watermark.json";

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Watermark {
    pub version: u32,
    /// The calendar's last date.
    pub last_date: Option<String>,
    pub symbols: u64,
    pub fields: Vec<String>,
    /// `lake:DIR`, or the input files.
    pub source: String,
    /// How the values were made (absent in a version 1 watermark: written as given).
    #[serde(default)]
    pub adjust: Option<Adjust>,
}

impl Watermark {
    pub fn of(
        calendar: &[i32],
        symbols: usize,
        fields: &[String],
        input: &InputOptions,
        adjust: Adjust,
    ) -> Watermark {
        let source = match &input.lake {
            Some(tickerlake::cli::LakeLocation::Dir(dir)) => format!(
                "lake:{}",
                std::path::absolute(dir)
                    .unwrap_or_else(|_| dir.clone())
                    .display()
            ),
            Some(s3) => format!("lake:{s3}"),
            None if input.inputs.is_empty() => "stdin".to_string(),
            None => input
                .inputs
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(" "),
        };
        Watermark {
            version: 1,
            last_date: calendar.last().map(|d| crate::day_text(*d)),
            symbols: symbols as u64,
            fields: fields.to_vec(),
            source,
            adjust: Some(adjust),
        }
    }

    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        let mut v =
            serde_json::to_vec_pretty(self).map_err(|e| Error::Data(format!("watermark: {e}")))?;
        v.push(b'\n');
        Ok(v)
    }

    /// The store's watermark, if it has one.
    pub fn load(dir: &Path) -> Result<Option<Watermark>, Error> {
        let path = dir.join(WATERMARK);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Error::Data(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(open_err(&path, e)),
        }
    }
}

/// Where each symbol's adjusted series stands (`--adjust qlib`): what `update` continues from.
pub const ADJUST_STATE: &str = ".tickerlake/adjust.json";

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdjustState {
    pub version: u32,
    /// By instrument name.
    pub symbols: std::collections::BTreeMap<String, Carry>,
    /// Symbols whose adjusted history was restated and that wait for their whole history.
    #[serde(default, skip_serializing_if = "std::collections::BTreeSet::is_empty")]
    pub waiting: std::collections::BTreeSet<String>,
}

impl AdjustState {
    pub fn to_json(&self) -> Result<Vec<u8>, Error> {
        let mut v =
            serde_json::to_vec(self).map_err(|e| Error::Data(format!("adjust state: {e}")))?;
        v.push(b'\n');
        Ok(v)
    }

    /// The store's state; empty when it has none.
    pub fn load(dir: &Path) -> Result<AdjustState, Error> {
        let path = dir.join(ADJUST_STATE);
        let state: AdjustState = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::Data(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(AdjustState::default()),
            Err(e) => return Err(open_err(&path, e)),
        };
        // A scale, close or factor that is not a positive number would write inf or NaN into
        // every new day: a damaged state is refused, not continued.
        for (name, c) in &state.symbols {
            for (what, v) in [("c0", c.c0), ("close", c.close), ("f", c.f)] {
                if let Some(v) = v
                    && !(v.is_finite() && v > 0.0)
                {
                    return Err(Error::Data(format!(
                        "{}: {name}: {what} is {v}, not a positive number: the adjustment state \
                         is damaged; a full export (qlib-bin all --force) rebuilds it",
                        path.display()
                    )));
                }
            }
        }
        Ok(state)
    }
}

fn open_err(path: &Path, source: io::Error) -> Error {
    Error::Lib(tickerlake::Error::Open {
        path: path.display().to_string(),
        source,
    })
}

/// Holds the store for one writer at a time (released when the process ends, even on kill -9).
pub fn lock(dir: &Path) -> Result<fs::File, Error> {
    let meta = dir.join(".tickerlake");
    fs::create_dir_all(&meta).map_err(|e| io_err(&meta, e))?;
    let path = meta.join("lock");
    tickerlake::staging::lock(&path)
        .map_err(|e| io_err(&path, e))?
        .ok_or_else(|| Error::Locked(dir.display().to_string()))
}

/// How many values (not NaN) the store holds in `field`'s files of `instruments`; a file that
/// is missing counts none. Read on all cores.
pub fn count_values(
    dir: &Path,
    instruments: &[(String, i32, i32)],
    field: &str,
) -> Result<u64, Error> {
    use rayon::prelude::*;
    instruments
        .par_iter()
        .map(|(name, _, _)| {
            let path = dir
                .join("features")
                .join(feature_dir(name))
                .join(format!("{field}.day.bin"));
            match fs::read(&path) {
                Ok(bytes) => Ok(bytes
                    .chunks_exact(4)
                    .skip(1)
                    .filter(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite())
                    .count() as u64),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
                Err(e) => Err(open_err(&path, e)),
            }
        })
        .sum()
}

/// `calendars/day.txt` of a store.
pub fn read_calendar(dir: &Path) -> Result<Vec<i32>, Error> {
    let path = dir.join("calendars/day.txt");
    let text = fs::read_to_string(&path).map_err(|e| open_err(&path, e))?;
    let mut out = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let d = tickerlake::records::date_format::parse(t.get(..10).unwrap_or(t)).map_err(|e| {
            Error::Bad {
                input: path.display().to_string(),
                line: k as u64 + 1,
                field: "date".into(),
                message: e,
            }
        })?;
        out.push(tickerlake::series::days_since_epoch(d));
    }
    if !out.windows(2).all(|w| w[0] < w[1]) {
        return Err(Error::Data(format!(
            "{}: the dates are not strictly increasing",
            path.display()
        )));
    }
    Ok(out)
}

/// `instruments/all.txt` of a store: (name, first, last) lines, in file order.
pub fn read_instruments(dir: &Path) -> Result<Vec<(String, i32, i32)>, Error> {
    let path = dir.join("instruments/all.txt");
    let text = fs::read_to_string(&path).map_err(|e| open_err(&path, e))?;
    let mut out = Vec::new();
    for (k, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |m: &str| Error::Bad {
            input: path.display().to_string(),
            line: k as u64 + 1,
            field: "instrument".into(),
            message: m.to_string(),
        };
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            return Err(bad("expected NAME<TAB>start<TAB>end"));
        }
        let day = |t: &str| {
            tickerlake::records::date_format::parse(t.trim().get(..10).unwrap_or(t))
                .map(tickerlake::series::days_since_epoch)
                .map_err(|e| bad(&e))
        };
        out.push((cols[0].to_string(), day(cols[1])?, day(cols[2])?));
    }
    Ok(out)
}

/// The bytes of a `.bin` file from its start index and values.
pub fn bin_from(start: usize, values: &[f32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 * (values.len() + 1));
    out.extend_from_slice(&(start as f32).to_le_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
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
    staging: tickerlake::staging::StagingDir,
    target: PathBuf,
}

impl Staging {
    pub fn new(target: &Path) -> Result<Staging, Error> {
        // A symlinked store is replaced where it lives; the link stays a link.
        let target = match fs::canonicalize(target) {
            Ok(real) => real,
            Err(_) => std::path::absolute(target).map_err(|e| io_err(target, e))?,
        };
        let parent = target.parent().ok_or_else(|| {
            Error::Usage(format!("{}: not a directory to write", target.display()))
        })?;
        fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
        // The one rule for what a killed run left: its staging directory goes.
        tickerlake::staging::remove_abandoned(&target);
        let staging =
            tickerlake::staging::StagingDir::create(&target).map_err(|e| io_err(parent, e))?;
        Ok(Staging {
            dir: staging.path().to_path_buf(),
            staging,
            target,
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
        // Moved into place (or already removed, holding the old store).
        self.staging.keep();
        Ok(())
    }
}

fn io_err(path: &Path, source: io::Error) -> Error {
    Error::Lib(tickerlake::Error::Write {
        name: path.display().to_string(),
        source,
    })
}

/// Flushes what was written below `dir`: one file-system sync on Linux, else every file and
/// directory.
pub fn sync_tree_of(dir: &Path) -> Result<(), Error> {
    sync_tree(dir)
}

/// Flushes the new store: one file-system sync where there is one (`syncfs`), else every file
/// and directory.
fn sync_tree(dir: &Path) -> Result<(), Error> {
    if tickerlake::staging::sync_file_system(dir).is_ok() {
        return Ok(());
    }
    sync_each(dir)
}

fn sync_each(dir: &Path) -> Result<(), Error> {
    for entry in fs::read_dir(dir).map_err(|e| io_err(dir, e))? {
        let path = entry.map_err(|e| io_err(dir, e))?.path();
        if path.is_dir() {
            sync_each(&path)?;
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
pub(crate) fn exchange(a: &Path, b: &Path) -> Result<(), Error> {
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
pub(crate) fn exchange(a: &Path, b: &Path) -> Result<(), Error> {
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
        // A listing outside the US keeps its venue suffix, as Yahoo (and its collector) has it.
        assert_eq!(
            instrument_name("BT-A.L", SymbolStyle::Qlib).unwrap(),
            "BT-A.L"
        );
        assert_eq!(feature_dir("AIR.PA"), "air.pa");
        assert_eq!(feature_dir("PRN"), "_qlib_prn");
        assert_eq!(feature_dir("LPT1"), "_qlib_lpt1");
        assert_eq!(feature_dir("BRK-B"), "brk-b");
        assert_eq!(feature_dir("PRNX"), "prnx");
        for na in ["NA", "na", "Null", "N/A", "NaN"] {
            let e = instrument_name(na, SymbolStyle::Canonical).unwrap_err();
            assert!(e.to_string().contains("missing value"), "{e}");
        }
        assert!(instrument_name("../X", SymbolStyle::Canonical).is_err());
        assert!(instrument_name("A/B", SymbolStyle::Canonical).is_err());
        assert!(instrument_name(".X", SymbolStyle::Canonical).is_err());
    }

    #[test]
    fn bin_layout_start_index_then_values_with_nan_gaps() {
        let calendar = [10, 11, 12, 13, 14];
        let b = bin_bytes(&calendar, &[11, 13, 14], &[1.0, 3.0, 4.0], false).unwrap();
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
        assert!(bin_bytes(&calendar, &[15], &[1.0], false).is_err());
        let filled = bin_bytes(&calendar, &[11, 13, 14], &[1.0, 3.0, 4.0], true).unwrap();
        assert_eq!(
            &filled[8..12],
            &1.0f32.to_le_bytes(),
            "the gap carries the day before"
        );
    }
}
