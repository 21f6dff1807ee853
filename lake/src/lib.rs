//! Parquet for tickerlake: the lake's column types, bar batches, file writing and reading, and
//! the Hive-partitioned lake itself.
//!
//! - [`bars`]: the bar schema (decimal(18,6) or float64 prices) and bar batches, both ways;
//! - [`file`]: one Parquet file, written with one zstd context per thread, and read back;
//! - [`layout`]: the lake on disk — its marker, its layouts, its partitions;
//! - [`dedupe`]: which version of a (symbol, date) the lake keeps;
//! - [`writer`]: atomic upserts of partitions;
//! - [`location`]: where a lake is (a directory or an S3 prefix) and reading its partitions;
//! - [`remote`]: the lake on S3: listing, footers by range GETs, conditional PUTs;
//! - [`remote_writer`]: upserts into a lake on S3, staged locally and PUT at commit;
//! - [`scan`]: filtered reads, last dates from footers;
//! - [`series`]: each symbol's rows for the analytical readers, on all cores;
//! - [`records`]: the other record kinds as one Parquet file each;
//! - [`cli`]: the flags of every program that reads bars (files or `--lake`, and the filter).
//!
//! A crate of its own so that only the programs that need Arrow and Parquet compile them
//! (`to-parquet`, `qa-check`, `qlib-bin`, `ohlcv-fetch --since-lake`).

pub mod bars;
pub mod cli;
pub mod dedupe;
mod encode;
pub mod file;
pub mod layout;
pub mod location;
pub mod records;
pub mod remote;
pub mod remote_writer;
pub mod scan;
pub mod series;
pub mod writer;

pub use bars::{
    BarBatchBuilder, ColumnTypes, PriceType, Rounded, VolumeType, bar_schema, bars_from_batch,
};
pub use file::WriteOptions;
pub use layout::{Layout, PartitionKey, check_readable, is_lake, partitions};
pub use location::Lake;
pub use scan::{ScanFilter, last_dates, read_partition, scan, scan_lake};
pub use writer::{LakeWriter, WriteSummary};

/// Errors of the lake layer.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("{column}: {value} does not fit decimal(18,6) (at most 12 digits before the point)")]
    OutOfRange { column: &'static str, value: String },
    #[error(
        "volume: {value} is fractional and this lake holds whole shares (int64): write fractional \
         volumes into a lake made with --volume-type float64 (lake.volume_type)"
    )]
    FractionalVolume { value: String },
    #[error(
        "volume: {value} is beyond 2^53, where a float64 volume column no longer holds every \
         whole share: this lake would round it"
    )]
    VolumeBeyondFloat { value: i64 },
    #[error("column {0} is missing")]
    MissingColumn(&'static str),
    #[error("column {0} has an unexpected type")]
    ColumnType(&'static str),
    #[error("{0}")]
    Corrupt(String),
    #[error(transparent)]
    Arrow(#[from] arrow_schema::ArrowError),
    #[error(transparent)]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{0}: another run is writing this lake (it holds .tickerlake.lock); try again when it has finished"
    )]
    Locked(String),
    #[error(
        "{root} already holds a lake with {found}= partitions at the top: another --partition-by; use a separate directory"
    )]
    LayoutMismatch { root: String, found: &'static str },
    #[error(
        "{root} holds prices as {found}: write it with the same --price-type (or into a new lake)"
    )]
    PriceTypeMismatch { root: String, found: String },
    #[error(
        "{root} holds volumes as {found}: write it with the same --volume-type (or into a new lake)"
    )]
    VolumeTypeMismatch { root: String, found: String },
    #[error("{path}: {why}")]
    NotALake { path: String, why: String },
    #[error(
        "{path}: not a tickerlake lake and not empty (it holds {found:?}): not writing into it; \
         give a new or empty directory, or the lake itself"
    )]
    NotOurs { path: String, found: String },
    #[error("internal error: {0}")]
    Internal(&'static str),
    #[error(transparent)]
    Store(#[from] objstore::StoreError),
    #[error("{0}")]
    Config(String),
}

impl tickerlake::HasExitCode for LakeError {
    /// One mapping for every program: a missing lake or one that is not a lake 66, an I/O
    /// failure (a full disk included) 74, a lake another run writes 75, a lake of another
    /// layout or price type (or a directory that is not ours) 2, anything wrong with the data 65.
    fn exit_code(&self) -> tickerlake::ExitCode {
        use tickerlake::ExitCode;
        match self {
            LakeError::NotALake { .. } => ExitCode::NoInput,
            LakeError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ExitCode::NoInput
            }
            LakeError::Io { .. } => ExitCode::IoErr,
            LakeError::Parquet(e) if io_cause(e).is_some() => ExitCode::IoErr,
            LakeError::Arrow(arrow_schema::ArrowError::IoError(..)) => ExitCode::IoErr,
            LakeError::Locked(_) => ExitCode::TempFail,
            LakeError::Config(_) => ExitCode::Config,
            LakeError::Store(e) => e.exit_code(),
            LakeError::LayoutMismatch { .. }
            | LakeError::PriceTypeMismatch { .. }
            | LakeError::VolumeTypeMismatch { .. }
            | LakeError::NotOurs { .. } => ExitCode::Usage,
            LakeError::OutOfRange { .. }
            | LakeError::FractionalVolume { .. }
            | LakeError::VolumeBeyondFloat { .. }
            | LakeError::MissingColumn(_)
            | LakeError::ColumnType(_)
            | LakeError::Corrupt(_)
            | LakeError::Arrow(_)
            | LakeError::Parquet(_)
            | LakeError::Internal(_) => ExitCode::DataErr,
        }
    }
}

/// The I/O error under a Parquet error (writing a file to a full disk comes back this way).
fn io_cause(e: &parquet::errors::ParquetError) -> Option<&std::io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        if let Some(parquet::errors::ParquetError::External(inner)) =
            err.downcast_ref::<parquet::errors::ParquetError>()
            && let Some(io) = inner.downcast_ref::<std::io::Error>()
        {
            return Some(io);
        }
        cur = err.source();
    }
    None
}

impl LakeError {
    /// Adds the file the error happened in.
    pub fn in_file(self, path: &std::path::Path) -> LakeError {
        match self {
            LakeError::Io { .. }
            | LakeError::NotALake { .. }
            | LakeError::NotOurs { .. }
            | LakeError::Store(_)
            | LakeError::Config(_) => self,
            // A failed read or write (a full disk) stays an I/O error, not a corrupt file.
            LakeError::Parquet(parquet::errors::ParquetError::External(inner)) => {
                match inner.downcast::<std::io::Error>() {
                    Ok(source) => LakeError::Io {
                        path: path.display().to_string(),
                        source: *source,
                    },
                    Err(inner) => LakeError::Corrupt(format!(
                        "{}: {}",
                        path.display(),
                        parquet::errors::ParquetError::External(inner)
                    )),
                }
            }
            LakeError::Arrow(arrow_schema::ArrowError::IoError(message, source)) => LakeError::Io {
                path: path.display().to_string(),
                source: std::io::Error::new(source.kind(), message),
            },
            other => LakeError::Corrupt(format!("{}: {other}", path.display())),
        }
    }
}
