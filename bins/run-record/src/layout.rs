//! The data directory (its paths: [`tickerlake::runs::DataDir`]) and the one thing only the
//! pipeline does to it: claim it.
//!
//! A directory that is neither empty nor marked is never written into: the pipeline would mix its
//! files with someone else's.

use std::path::{Path, PathBuf};

pub use tickerlake::runs::{DataDir, MARKER};

use crate::Error;

/// `p` made absolute (against the working directory), as given when it cannot be.
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Makes the directory the pipeline's: creates it (and the marker) when it is missing or
/// empty; refuses one that holds anything without the marker (exit 2).
pub fn claim(data: &DataDir) -> Result<(), Error> {
    if data.is_ours() {
        return Ok(());
    }
    match std::fs::read_dir(&data.root) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(Error::Usage(format!(
                    "{}: a non-empty directory that is not a tickerlake data directory (no {MARKER}): \
                     give --data an empty or new directory, or create {MARKER} in it to adopt it",
                    data.root.display()
                )));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&data.root).map_err(|e| Error::write(&data.root, e))?;
        }
        Err(e) => return Err(Error::read(&data.root, e)),
    }
    let marker = serde_json::json!({
        "tickerlake": "data",
        "version": 1,
        "created_at": crate::clock::now_rfc3339(),
    });
    tickerlake::atomic::write_json_atomic(data.root.join(MARKER), &marker)
        .map_err(|e| Error::write(&data.root.join(MARKER), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_with_foreign_files_is_refused_and_an_empty_one_claimed() {
        let tmp = std::env::temp_dir().join(format!("run-record-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let fresh = DataDir::new(tmp.join("new"));
        claim(&fresh).expect("a new directory is claimed");
        assert!(fresh.is_ours());
        let foreign = tmp.join("foreign");
        std::fs::create_dir_all(&foreign).expect("mkdir");
        std::fs::write(foreign.join("thesis.tex"), "mine").expect("write");
        let err = claim(&DataDir::new(&foreign)).expect_err("not ours");
        assert!(
            err.to_string().contains("not a tickerlake data directory"),
            "{err}"
        );
        assert!(!foreign.join(MARKER).exists());
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
