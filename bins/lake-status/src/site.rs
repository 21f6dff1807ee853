//! The output directories of `--json` and `--html`: made the dashboard's with a marker, every
//! file replaced atomically, and never a directory that holds someone else's files.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::Error;

/// The marker file's name.
pub const MARKER: &str = ".tickerlake-site";

/// Makes `dir` the dashboard's: creates it (and the marker) when missing or empty; refuses one
/// that holds anything without the marker.
pub fn claim(dir: &Path) -> Result<(), Error> {
    if dir.join(MARKER).is_file() {
        return Ok(());
    }
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::NotOurs(format!(
                    "{}: a non-empty directory that is not a lake-status output (no {MARKER}): \
                     give an empty or new directory",
                    dir.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        }
        Err(e) => return Err(Error::write(dir, e)),
    }
    write(
        dir,
        MARKER,
        b"lake-status output: files here are replaced on every run\n",
    )
}

/// Replaces `root/rel` with `bytes` (temporary file and rename), creating its directories. A
/// symbolic link on the way (a directory or the file itself) is refused: it would point the
/// write, or a clean-up, outside the dashboard's directory.
pub fn write(root: &Path, rel: &str, bytes: &[u8]) -> Result<(), Error> {
    let mut path = root.to_path_buf();
    for part in Path::new(rel).components() {
        path.push(part);
        refuse_link(root, &path)?;
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, e))?;
    }
    tickerlake::atomic::write_atomic(&path, bytes).map_err(|e| Error::write(&path, e))
}

fn refuse_link(root: &Path, path: &Path) -> Result<(), Error> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(Error::NotOurs(format!(
            "{}: a symbolic link inside {}: lake-status writes only its own files, never through a link",
            path.display(),
            root.display()
        ))),
        _ => Ok(()),
    }
}

/// A document as the files and the page hold it: compact JSON (keys in the structs' order; `jq .`
/// pretty-prints it), one line and a newline, with
/// `<`, `>`, `&` and U+2028/U+2029 escaped, so the same bytes are safe inside a `<script>` element.
pub fn json<T: Serialize>(doc: &T) -> String {
    let text = serde_json::to_string(doc).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('\n');
    out
}

/// Removes the `price/*.json` files of symbols no longer named (only inside a claimed directory,
/// never through a link).
pub fn prune_prices(dir: &Path, keep: &[PathBuf]) -> Result<(), Error> {
    let price = dir.join("price");
    refuse_link(dir, &price)?;
    let Ok(entries) = std::fs::read_dir(&price) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let regular = entry.file_type().is_ok_and(|t| t.is_file());
        if regular && path.extension().is_some_and(|e| e == "json") && !keep.contains(&path) {
            std::fs::remove_file(&path).map_err(|e| Error::write(&path, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_safe_inside_a_script_element_and_still_the_same_value() {
        let v = serde_json::json!({"t": "</script><b>&\u{2028}"});
        let text = json(&v);
        assert!(!text.contains("</script>"));
        assert!(!text.contains('\u{2028}'));
        let back: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(back, v);
    }
}
