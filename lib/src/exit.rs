//! Exit codes shared by every tickerlake program (sysexits style).
//!
//! One table, documented in `docs/exit-codes.md`. Cron and Make gate on these numbers, so they
//! never change meaning. When a program meets several problems (parallel workers, a stream that
//! goes on after a bad record) it keeps the *worst* one, by [`ExitCode::merge`].

use std::fmt;

/// What a program tells its caller when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExitCode {
    /// 0: everything asked for was done.
    #[default]
    Success,
    /// 1: the program ran to the end but has findings or a partial result (where it defines one,
    /// e.g. QA findings at or above the gate severity, symbols that went to the dead-letter list).
    Findings,
    /// 2: the command line is wrong (unknown flag, missing argument, conflicting options).
    Usage,
    /// 65 (EX_DATAERR): input data is malformed or fails its record contract.
    DataErr,
    /// 66 (EX_NOINPUT): an input file or directory does not exist or cannot be opened.
    NoInput,
    /// 69 (EX_UNAVAILABLE): an upstream service is down (circuit breaker open, every request failed).
    Unavailable,
    /// 74 (EX_IOERR): reading or writing failed (disk full, permission denied while writing…).
    IoErr,
    /// 75 (EX_TEMPFAIL): a temporary failure: run again later (rate limited past every retry, lock held).
    TempFail,
    /// 78 (EX_CONFIG): the configuration file or environment is invalid.
    Config,
}

impl ExitCode {
    /// Every code, in table order.
    pub const ALL: [ExitCode; 9] = [
        ExitCode::Success,
        ExitCode::Findings,
        ExitCode::Usage,
        ExitCode::DataErr,
        ExitCode::NoInput,
        ExitCode::Unavailable,
        ExitCode::IoErr,
        ExitCode::TempFail,
        ExitCode::Config,
    ];

    /// The process status number.
    pub const fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Findings => 1,
            ExitCode::Usage => 2,
            ExitCode::DataErr => 65,
            ExitCode::NoInput => 66,
            ExitCode::Unavailable => 69,
            ExitCode::IoErr => 74,
            ExitCode::TempFail => 75,
            ExitCode::Config => 78,
        }
    }

    /// The code for a status number, if it is one of ours.
    pub fn from_code(code: u8) -> Option<ExitCode> {
        ExitCode::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Short name used in logs and summaries.
    pub const fn name(self) -> &'static str {
        match self {
            ExitCode::Success => "success",
            ExitCode::Findings => "findings",
            ExitCode::Usage => "usage",
            ExitCode::DataErr => "data_err",
            ExitCode::NoInput => "no_input",
            ExitCode::Unavailable => "unavailable",
            ExitCode::IoErr => "io_err",
            ExitCode::TempFail => "temp_fail",
            ExitCode::Config => "config",
        }
    }

    /// How bad a code is when two must be merged into one. Problems that mean "nothing could be
    /// trusted" (usage, configuration) outrank data problems, which outrank transient ones, which
    /// outrank findings. A retry-later (75) ranks below hard failures so that a scheduler does not
    /// blindly retry a run that also hit bad data.
    const fn rank(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Findings => 1,
            ExitCode::TempFail => 2,
            ExitCode::Unavailable => 3,
            ExitCode::DataErr => 4,
            ExitCode::NoInput => 5,
            ExitCode::IoErr => 6,
            ExitCode::Config => 7,
            ExitCode::Usage => 8,
        }
    }

    /// The worse of two codes. Commutative and associative, with `Success` as identity, so the
    /// results of parallel workers can be folded in any order.
    #[must_use]
    pub fn merge(self, other: ExitCode) -> ExitCode {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    pub fn is_success(self) -> bool {
        self == ExitCode::Success
    }
}

impl fmt::Display for ExitCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.name())
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(c: ExitCode) -> Self {
        std::process::ExitCode::from(c.code())
    }
}

/// An error that knows the exit code it should end the program with.
pub trait HasExitCode {
    fn exit_code(&self) -> ExitCode;
}

/// The exit code for an I/O error: a missing file is missing input, everything else an I/O error.
pub fn io_exit_code(err: &std::io::Error) -> ExitCode {
    match err.kind() {
        std::io::ErrorKind::NotFound => ExitCode::NoInput,
        _ => ExitCode::IoErr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_the_documented_ones() {
        let got: Vec<u8> = ExitCode::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(got, vec![0, 1, 2, 65, 66, 69, 74, 75, 78]);
    }

    #[test]
    fn from_code_inverts_code() {
        for c in ExitCode::ALL {
            assert_eq!(ExitCode::from_code(c.code()), Some(c));
        }
        assert_eq!(ExitCode::from_code(3), None);
    }

    #[test]
    fn merge_is_commutative_associative_with_identity() {
        for a in ExitCode::ALL {
            assert_eq!(a.merge(ExitCode::Success), a);
            assert_eq!(ExitCode::Success.merge(a), a);
            for b in ExitCode::ALL {
                assert_eq!(a.merge(b), b.merge(a));
                for c in ExitCode::ALL {
                    assert_eq!(a.merge(b).merge(c), a.merge(b.merge(c)));
                }
            }
        }
    }

    #[test]
    fn merge_keeps_the_worst() {
        assert_eq!(
            ExitCode::Findings.merge(ExitCode::DataErr),
            ExitCode::DataErr
        );
        assert_eq!(
            ExitCode::TempFail.merge(ExitCode::DataErr),
            ExitCode::DataErr
        );
        assert_eq!(
            ExitCode::Findings.merge(ExitCode::TempFail),
            ExitCode::TempFail
        );
        assert_eq!(ExitCode::Config.merge(ExitCode::IoErr), ExitCode::Config);
        assert_eq!(ExitCode::Usage.merge(ExitCode::Config), ExitCode::Usage);
    }

    #[test]
    fn docs_table_matches_enum() {
        let doc = include_str!("../../docs/exit-codes.md");
        for c in ExitCode::ALL {
            let row = format!("| {} | `{}` |", c.code(), c.name());
            assert!(
                doc.contains(&row),
                "docs/exit-codes.md lacks the row starting {row:?}"
            );
        }
    }
}
