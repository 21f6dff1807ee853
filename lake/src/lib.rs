//! Parquet for tickerlake: the lake's column types, bar batches, file writing and reading, and
//! the Hive-partitioned lake itself (layout, atomic partition replacement, scanning).
//!
//! A crate of its own so that only the programs that need Arrow and Parquet compile them
//! (`to-parquet`, `qa-check`, `qlib-bin`, `ohlcv-fetch --since-lake`).

pub mod bars;
mod encode;
pub mod file;
pub mod lake;
pub mod records;
pub mod series;

pub use bars::{BarBatchBuilder, PriceType, Rounded, bar_schema, bars_from_batch};
pub use file::WriteOptions;
pub use lake::{LakeWriter, Layout, PartitionKey, ScanFilter, WriteSummary};

/// Errors of the lake layer.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error("{column}: {value} does not fit decimal(18,6) (at most 12 digits before the point)")]
    OutOfRange { column: &'static str, value: String },
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
    #[error("internal error: {0}")]
    Internal(&'static str),
}

impl LakeError {
    /// Adds the file the error happened in.
    pub fn in_file(self, path: &std::path::Path) -> LakeError {
        match self {
            LakeError::Io { .. } => self,
            other => LakeError::Corrupt(format!("{}: {other}", path.display())),
        }
    }
}
