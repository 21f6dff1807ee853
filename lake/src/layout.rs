//! The lake on disk: its marker, its two layouts and their partitions.
//!
//! Layouts (`docs/lake.md`):
//! - `symbol-year` (default for bars): `symbol=<SYM>/year=<YYYY>/part-0.parquet`, one symbol per
//!   file, `symbol` and `year` only in the path. `<SYM>` is [`Symbol::file_name`], so path-unsafe
//!   symbols cannot escape the lake.
//! - `year-month` (all symbols of a month per file, for all-symbols-per-date loads):
//!   `year=<YYYY>/month=<MM>/part-0.parquet`, with a `symbol` column.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::Datelike;
use tickerlake::Symbol;
use tickerlake::records::Bar;

use crate::LakeError;
use crate::bars::{ColumnTypes, PriceType, VolumeType};

/// The data file of a partition.
pub const FILE_NAME: &str = "part-0.parquet";

/// The lock file a writer holds (hidden from `*.parquet` globs).
pub const LOCK_FILE: &str = ".tickerlake.lock";

/// The file that says a directory is a tickerlake lake (its format and layout): written by the
/// first writer, read before anything is read or written. Hidden, so Spark, DuckDB and pyarrow
/// skip it.
pub const MARKER_FILE: &str = ".tickerlake-lake.json";

/// What the marker says.
const MARKER_FORMAT: &str = "tickerlake.lake/1";

/// Whether `root` is a lake: it has a valid marker, or — written before the marker existed —
/// no marker but the writer's lock file.
pub fn is_lake(root: &Path) -> bool {
    match marker_problem(root) {
        Some(None) => true,
        Some(Some(_)) => false,
        None => root.join(LOCK_FILE).is_file(),
    }
}

/// `None` without a marker; `Some(None)` for a valid one; `Some(Some(why))` for a file of that
/// name that is not our marker (another tool's, or damaged).
fn marker_problem(root: &Path) -> Option<Option<String>> {
    let path = root.join(MARKER_FILE);
    let meta = fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() {
        return Some(Some(format!("its {MARKER_FILE} is not a plain file")));
    }
    let text = match fs::read(&path) {
        Ok(t) => t,
        Err(e) => return Some(Some(format!("{MARKER_FILE} cannot be read: {e}"))),
    };
    Some(marker_problem_of(&text))
}

/// What is wrong with a marker's bytes, if anything.
pub(crate) fn marker_problem_of(text: &[u8]) -> Option<String> {
    let value = serde_json::from_slice::<serde_json::Value>(text).ok();
    let text_of = |key: &str| {
        value
            .as_ref()
            .and_then(|v| v.get(key).and_then(|f| f.as_str()).map(str::to_string))
    };
    let format = text_of("format");
    let complete = matches!(
        text_of("layout").as_deref(),
        Some("symbol-year" | "year-month")
    ) && matches!(
        text_of("price_type").as_deref(),
        Some("decimal" | "float64")
    ) && match value.as_ref().and_then(|v| v.get("volume_type")) {
        // Lakes made before volumes could be fractional do not say: int64.
        None => true,
        Some(t) => matches!(t.as_str(), Some("int64" | "float64")),
    };
    match format.as_deref() {
        Some(MARKER_FORMAT) if complete => None,
        Some(MARKER_FORMAT) => Some(format!(
            "its {MARKER_FILE} lacks a known layout, price_type or volume_type"
        )),
        Some(other) => Some(format!(
            "its {MARKER_FILE} says format {}, not {MARKER_FORMAT}",
            tickerlake::echo::echo(other)
        )),
        None => Some(format!("its {MARKER_FILE} is not a tickerlake lake marker")),
    }
}

/// The layout and column types a valid marker states.
pub(crate) fn marker_says(text: &[u8]) -> Option<(Layout, ColumnTypes)> {
    let v: serde_json::Value = serde_json::from_slice(text).ok()?;
    let layout = match v.get("layout")?.as_str()? {
        "symbol-year" => Layout::SymbolYear,
        "year-month" => Layout::YearMonth,
        _ => return None,
    };
    let prices = match v.get("price_type")?.as_str()? {
        "decimal" => PriceType::Decimal,
        "float64" => PriceType::Float64,
        _ => return None,
    };
    let volume = match v.get("volume_type").map(|t| t.as_str()) {
        None | Some(Some("int64")) => VolumeType::Int64,
        Some(Some("float64")) => VolumeType::Float64,
        _ => return None,
    };
    Some((layout, ColumnTypes { prices, volume }))
}

/// A marker's bytes.
pub(crate) fn marker_bytes(layout: Layout, types: ColumnTypes) -> Result<Vec<u8>, LakeError> {
    let marker = serde_json::json!({
        "format": MARKER_FORMAT,
        "layout": match layout {
            Layout::SymbolYear => "symbol-year",
            Layout::YearMonth => "year-month",
        },
        "price_type": match types.prices {
            PriceType::Decimal => "decimal",
            PriceType::Float64 => "float64",
        },
        "volume_type": types.volume.as_str(),
    });
    let mut bytes =
        serde_json::to_vec_pretty(&marker).map_err(|_| LakeError::Internal("marker"))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Checks that `root` is a lake before it is read: a directory that is missing, or is not a
/// lake (a lake's parent, a Qlib store, an empty directory), is [`LakeError::NotALake`] (exit
/// 66), never read as a lake with no rows.
pub fn check_readable(root: &Path) -> Result<(), LakeError> {
    if !root.is_dir() {
        return Err(LakeError::NotALake {
            path: root.display().to_string(),
            why: if root.exists() {
                "not a directory".into()
            } else {
                "no such directory".into()
            },
        });
    }
    if let Some(Some(why)) = marker_problem(root) {
        return Err(LakeError::NotALake {
            path: root.display().to_string(),
            why,
        });
    }
    if is_lake(root) {
        return Ok(());
    }
    Err(LakeError::NotALake {
        path: root.display().to_string(),
        why: format!(
            "not a tickerlake lake (no {MARKER_FILE}){}",
            lake_below_hint(root)
        ),
    })
}

/// ` (DIR/lake is one)` when a directory just below `root` is a lake: the usual slip is giving
/// the lake's parent.
fn lake_below_hint(root: &Path) -> String {
    let Ok(entries) = fs::read_dir(root) else {
        return String::new();
    };
    let mut below: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        // Not a hidden one: a writer's staging directory holds a marker too.
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .filter(|p| p.is_dir() && is_lake(p))
        .collect();
    below.sort();
    match below.first() {
        Some(p) => format!("; {} is one", p.display()),
        None => String::new(),
    }
}

/// Makes `root` a lake for a writer: a new or empty directory gets the marker; a lake written
/// before the marker existed gets it too; any other directory is refused
/// ([`LakeError::NotOurs`]), so nothing is ever written into a directory that is not ours.
pub(crate) fn claim_for_writing(
    root: &Path,
    layout: Layout,
    types: ColumnTypes,
) -> Result<(), LakeError> {
    match marker_problem(root) {
        Some(None) => return Ok(()),
        Some(Some(why)) => {
            return Err(LakeError::NotOurs {
                path: root.display().to_string(),
                found: why,
            });
        }
        None => {}
    }
    let legacy = root.join(LOCK_FILE).is_file();
    if !legacy {
        // A run killed while it wrote the marker leaves the marker's temporary file: ours, and
        // no reason to refuse the directory (a run claiming it at the same moment may be
        // writing it, so it is left where it is).
        let leftover = |name: &str| {
            name.strip_prefix(&format!(".{MARKER_FILE}."))
                .is_some_and(|rest| rest.ends_with(".tmp"))
        };
        let mut entries = fs::read_dir(root).map_err(io_err(root))?.filter(|e| {
            !e.as_ref()
                .is_ok_and(|e| leftover(&e.file_name().to_string_lossy()))
        });
        if let Some(entry) = entries.next() {
            let entry = entry.map_err(io_err(root))?;
            return Err(LakeError::NotOurs {
                path: root.display().to_string(),
                found: entry
                    .file_name()
                    .to_string_lossy()
                    .chars()
                    .take(64)
                    .collect(),
            });
        }
    }
    let bytes = marker_bytes(layout, types)?;
    let path = root.join(MARKER_FILE);
    tickerlake::atomic::write_atomic(&path, &bytes).map_err(io_err(&path))
}

/// How bars are split into partitions (`to-parquet --partition-by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Layout {
    /// symbol=<SYM>/year=<YYYY>/part-0.parquet
    #[default]
    #[value(name = "symbol,year")]
    SymbolYear,
    /// year=<YYYY>/month=<MM>/part-0.parquet, with a symbol column
    #[value(name = "year,month")]
    YearMonth,
}

/// One partition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PartitionKey {
    SymbolYear(Symbol, i32),
    YearMonth(i32, u32),
}

impl PartitionKey {
    pub fn of(layout: Layout, bar: &Bar) -> PartitionKey {
        match layout {
            Layout::SymbolYear => PartitionKey::SymbolYear(bar.symbol.clone(), bar.date.year()),
            Layout::YearMonth => PartitionKey::YearMonth(bar.date.year(), bar.date.month()),
        }
    }

    /// Whether `bar` belongs to this partition.
    pub fn holds(&self, bar: &Bar) -> bool {
        match self {
            PartitionKey::SymbolYear(s, y) => *y == bar.date.year() && *s == bar.symbol,
            PartitionKey::YearMonth(y, m) => *y == bar.date.year() && *m == bar.date.month(),
        }
    }

    /// The partition's top-level directory in the lake (`symbol=AAPL`, `year=2024`).
    pub fn top(&self) -> String {
        match self {
            PartitionKey::SymbolYear(s, _) => format!("symbol={}", s.file_name()),
            PartitionKey::YearMonth(y, _) => format!("year={y}"),
        }
    }

    /// Directory of the partition below the lake root.
    pub fn dir(&self, root: &Path) -> PathBuf {
        let inner = match self {
            PartitionKey::SymbolYear(_, y) => format!("year={y}"),
            PartitionKey::YearMonth(_, m) => format!("month={m:02}"),
        };
        root.join(self.top()).join(inner)
    }

    pub fn file(&self, root: &Path) -> PathBuf {
        self.dir(root).join(FILE_NAME)
    }

    /// The symbol stored in the path, for layouts without a symbol column.
    pub fn symbol(&self) -> Option<&Symbol> {
        match self {
            PartitionKey::SymbolYear(s, _) => Some(s),
            PartitionKey::YearMonth(..) => None,
        }
    }
}

impl std::fmt::Display for PartitionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PartitionKey::SymbolYear(s, y) => write!(f, "symbol={}/year={y}", s.file_name()),
            PartitionKey::YearMonth(y, m) => write!(f, "year={y}/month={m:02}"),
        }
    }
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> LakeError + '_ {
    move |source| LakeError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The `key=value` directories below `dir` whose key is `key`, as (value, path), sorted by path.
pub(crate) fn hive_dirs(dir: &Path, key: &str) -> Result<Vec<(String, PathBuf)>, LakeError> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io_err(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(value) = name.strip_prefix(key).and_then(|r| r.strip_prefix('='))
            && entry.file_type().map_err(io_err(dir))?.is_dir()
        {
            out.push((value.to_string(), entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// A `year=` value as this crate writes it (`2024`, not `02024` or `+2024`).
pub(crate) fn canonical_year(text: &str) -> Option<i32> {
    text.parse::<i32>().ok().filter(|y| y.to_string() == text)
}

/// The partitions of a lake, in key order, for one layout (detected from the directories).
pub fn partitions(root: &Path) -> Result<Vec<PartitionKey>, LakeError> {
    check_readable(root)?;
    let mut keys = Vec::new();
    for (sym, dir) in hive_dirs(root, "symbol")? {
        let Some(symbol) = Symbol::from_file_name(&sym) else {
            tracing::warn!(dir = %dir.display(), "not a symbol directory written by tickerlake; skipped");
            continue;
        };
        for (year, ydir) in hive_dirs(&dir, "year")? {
            if let Some(y) = canonical_year(&year)
                && ydir.join(FILE_NAME).is_file()
            {
                keys.push(PartitionKey::SymbolYear(symbol.clone(), y));
            }
        }
    }
    for (year, ydir) in hive_dirs(root, "year")? {
        let Some(y) = canonical_year(&year) else {
            continue;
        };
        for (month, mdir) in hive_dirs(&ydir, "month")? {
            if let Ok(m) = month.parse::<u32>()
                && (1..=12).contains(&m)
                && format!("{m:02}") == month
                && mdir.join(FILE_NAME).is_file()
            {
                keys.push(PartitionKey::YearMonth(y, m));
            }
        }
    }
    keys.sort();
    Ok(keys)
}
