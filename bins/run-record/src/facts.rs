//! What the run's programs left behind, read back for the record: the universe's size, qa-check's
//! verdict, the watermark of each dataset, the whole numbers of a `--summary`.
//!
//! Every reader is forgiving in one way only: a file that is not there is "no data" (`None`),
//! never a failed run record. A file that is there and unreadable is an error worth a log line,
//! and still not a reason to lose the record.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use serde_json::Value;
use tickerlake::records::{Status as Listing, Ticker};

use crate::layout::DataDir;
use tickerlake::runs::{QaCheck, QaFacts, UniverseFacts, Watermark};

/// Size and SHA-256 (hex, as `sha256sum` prints it) of a file, read in one pass.
pub fn file_digest(path: &Path) -> std::io::Result<(u64, String)> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut std::fs::File::open(path)?, &mut hasher)?;
    Ok((bytes, format!("{:x}", hasher.finalize())))
}

/// The whole numbers at the top of a program's `--summary` JSON (`rows_written`, `failed`…).
pub fn summary_counts(path: &Path) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    let Some(Value::Object(map)) = read_json(path) else {
        return out;
    };
    for (k, v) in map {
        if let Some(n) = v.as_i64() {
            out.insert(k, n);
        }
    }
    out
}

fn read_json(path: &Path) -> Option<Value> {
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "a summary that is not JSON: left out of the record");
            None
        }
    }
}

/// The universe at `path` (`universe/<date>.ndjson`), with the status changes in `delta`.
pub fn universe(data: &DataDir, path: &Path, delta: Option<&Path>) -> Option<UniverseFacts> {
    let resolved = std::fs::canonicalize(path).ok()?;
    let version = resolved.file_stem()?.to_str()?.to_string();
    let file = std::fs::File::open(&resolved).ok()?;
    let mut facts = UniverseFacts {
        version,
        path: data.relative(&resolved),
        total: 0,
        active: 0,
        delisted: 0,
        archived: 0,
        by_market: BTreeMap::new(),
        changes: None,
    };
    for line in std::io::BufReader::new(file).lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let Ok(t) = serde_json::from_str::<Ticker>(&line) else {
            continue;
        };
        facts.total += 1;
        match t.status {
            Listing::Active => {
                facts.active += 1;
                let market = tickerlake::listing::market(t.symbol.as_str(), t.exchange.as_deref());
                *facts.by_market.entry(market).or_insert(0) += 1;
            }
            Listing::Delisted => facts.delisted += 1,
            Listing::Archived => facts.archived += 1,
        }
    }
    if let Some(delta) = delta
        && let Ok(text) = std::fs::read_to_string(delta)
    {
        let mut changes = BTreeMap::new();
        for line in text.lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let kind = match (v["from"].as_str(), v["to"].as_str()) {
                (Some("none"), _) => "new",
                (Some("delisted" | "archived"), Some("active")) => "relisted",
                (_, Some(to)) => to,
                _ => continue,
            };
            *changes.entry(kind.to_string()).or_insert(0) += 1;
        }
        facts.changes = Some(changes);
    }
    Some(facts)
}

/// qa-check's `--summary`.
pub fn qa(data: &DataDir, path: &Path) -> Option<QaFacts> {
    let v = read_json(path)?;
    let mut checks = BTreeMap::new();
    let mut worst = 0;
    let rank = |c: &str| match c {
        "red" => 2,
        "yellow" => 1,
        _ => 0,
    };
    for c in v["checks"].as_array()? {
        let colour = c["colour"].as_str().unwrap_or("grey").to_string();
        worst = worst.max(rank(&colour));
        checks.insert(
            c["check"].as_str()?.to_string(),
            QaCheck {
                severity: c["severity"].as_str().unwrap_or("").to_string(),
                findings: c["findings"].as_u64().unwrap_or(0),
                symbols: c["symbols"].as_u64().unwrap_or(0),
                share_pct: c["share_pct"].as_f64().unwrap_or(0.0),
                colour,
            },
        );
    }
    Some(QaFacts {
        summary: data.relative(path),
        overall: ["green", "yellow", "red"][worst].to_string(),
        findings: v["findings"].as_u64().unwrap_or(0),
        failing: v["failing"].as_u64().unwrap_or(0),
        checks,
    })
}

/// The watermark of each dataset the directory holds: `bars_daily` (the lake's newest bar, from
/// Parquet footers), `qlib` (qlib-bin's own watermark), `universe` (`universe`: the newest
/// version, as [`universe`] read it) and `training` (the newest version's date).
pub fn watermarks(data: &DataDir, universe: Option<&UniverseFacts>) -> BTreeMap<String, Watermark> {
    let mut out = BTreeMap::new();
    let lake = data.lake();
    if lake::layout::is_lake(&lake) {
        match lake::scan::last_dates(&lake, &Default::default()) {
            Ok(last) if !last.is_empty() => {
                if let Some(max) = last.values().max() {
                    out.insert(
                        "bars_daily".into(),
                        Watermark {
                            date: max.to_string(),
                            symbols: Some(last.len() as u64),
                            symbols_at_date: Some(
                                last.values().filter(|d| *d == max).count() as u64
                            ),
                            path: data.relative(&lake),
                            bytes: None,
                        },
                    );
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(lake = %lake.display(), error = %e, "the lake's watermark could not be read")
            }
        }
    }
    let qlib_mark = data.qlib().join(".tickerlake").join("watermark.json");
    if let Some(v) = read_json(&qlib_mark)
        && let Some(date) = v["last_date"].as_str()
    {
        out.insert(
            "qlib".into(),
            Watermark {
                date: date.to_string(),
                symbols: v["symbols"].as_u64(),
                symbols_at_date: None,
                path: data.relative(&data.qlib()),
                bytes: None,
            },
        );
    }
    if let Some(u) = universe {
        out.insert(
            "universe".into(),
            Watermark {
                date: u.version.clone(),
                symbols: Some(u.active),
                symbols_at_date: None,
                path: u.path.clone(),
                bytes: None,
            },
        );
    }
    if let Some((name, date)) = newest_training(data) {
        let path = data.training_dir().join(&name);
        let symbols = read_json(&path.join("metadata.json")).and_then(|v| v["symbols"].as_u64());
        out.insert(
            "training".into(),
            Watermark {
                date,
                symbols,
                symbols_at_date: None,
                path: data.relative(&path),
                bytes: None,
            },
        );
    }
    for w in out.values_mut() {
        w.bytes = Some(disk_bytes(&data.root.join(&w.path)));
    }
    out
}

/// The bytes of a file, or of every file under a directory (links not followed).
fn disk_bytes(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(t) if t.is_file() => total += entry.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

/// The newest training set: `v<N>_<date>` with the highest N, and its date.
pub fn newest_training(data: &DataDir) -> Option<(String, String)> {
    let mut best: Option<(u64, String, String)> = None;
    for entry in std::fs::read_dir(data.training_dir()).ok()?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((v, date)) = parse_version(&name) else {
            continue;
        };
        if !entry.path().join("metadata.json").is_file() {
            continue;
        }
        if best.as_ref().is_none_or(|(n, ..)| v > *n) {
            best = Some((v, name, date));
        }
    }
    best.map(|(_, name, date)| (name, date))
}

/// `v12_2026-11-29` → (12, "2026-11-29").
pub fn parse_version(name: &str) -> Option<(u64, String)> {
    let rest = name.strip_prefix('v')?;
    let (n, date) = rest.split_once('_')?;
    let n: u64 = n.parse().ok()?;
    date.parse::<chrono::NaiveDate>().ok()?;
    Some((n, date.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_by_number_not_by_text() {
        assert_eq!(
            parse_version("v10_2026-01-04"),
            Some((10, "2026-01-04".into()))
        );
        assert_eq!(parse_version("v2_2026-13-01"), None);
        assert_eq!(parse_version("v_2026-01-01"), None);
        assert_eq!(parse_version("notes.md"), None);
    }
}
