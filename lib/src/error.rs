//! The library's error type. Each variant knows its exit code.

use std::io;

use crate::config::ConfigError;
use crate::exit::{ExitCode, HasExitCode};
use crate::ndjson::RecordError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Open { path: String, source: io::Error },
    #[error("{path}: cannot create: {source}")]
    Create { path: String, source: io::Error },
    #[error("{name}: read error: {source}")]
    Read { name: String, source: io::Error },
    #[error("{name}: write error: {source}")]
    Write { name: String, source: io::Error },
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A combination of options that cannot work (exit 2).
    #[error("{0}")]
    Usage(String),
}

impl HasExitCode for Error {
    fn exit_code(&self) -> ExitCode {
        match self {
            // An input that does not exist or cannot be read (permissions, a directory): 66,
            // as sysexits' EX_NOINPUT says.
            Error::Open { .. } => ExitCode::NoInput,
            Error::Create { .. } | Error::Read { .. } | Error::Write { .. } => ExitCode::IoErr,
            Error::Record(_) => ExitCode::DataErr,
            Error::Config(_) => ExitCode::Config,
            Error::Usage(_) => ExitCode::Usage,
        }
    }
}

/// Whether an error, or any error it was caused by, is a closed pipe (`… | head`): the reader
/// has all it wants, which is success, not failure.
pub fn is_broken_pipe(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::BrokenPipe
        {
            return true;
        }
        if let Some(Error::Write { source, .. }) = e.downcast_ref::<Error>()
            && source.kind() == io::ErrorKind::BrokenPipe
        {
            return true;
        }
        cur = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_by_variant() {
        let nf = Error::Open {
            path: "x".into(),
            source: io::Error::new(io::ErrorKind::NotFound, "gone"),
        };
        assert_eq!(nf.exit_code(), ExitCode::NoInput);
        let pd = Error::Open {
            path: "x".into(),
            source: io::Error::new(io::ErrorKind::PermissionDenied, "no"),
        };
        assert_eq!(pd.exit_code(), ExitCode::NoInput);
        let w = Error::Write {
            name: "<stdout>".into(),
            source: io::Error::new(io::ErrorKind::BrokenPipe, "closed"),
        };
        assert_eq!(w.exit_code(), ExitCode::IoErr);
        assert!(is_broken_pipe(&w));
        assert!(!is_broken_pipe(&nf));
    }
}
