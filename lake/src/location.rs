//! Where a lake is — a directory or an S3 prefix — and what reading one takes from it: its
//! partitions and each partition file's bytes. The readers (`scan`, `series`, last dates) work on
//! [`Partitions`], so a lake on S3 is read by the same code as one on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use chrono::NaiveDate;
use tickerlake::Symbol;
use tickerlake::cli::LakeLocation;

use crate::LakeError;
use crate::layout::{PartitionKey, io_err};
use crate::remote::S3Lake;

/// A lake's partitions and their files.
pub trait Partitions: Sync {
    /// The partitions, in key order, after checking the place is a lake.
    fn partitions(&self) -> Result<Vec<PartitionKey>, LakeError>;
    /// A partition's file, whole.
    fn read(&self, key: &PartitionKey) -> Result<Bytes, LakeError>;
    /// A partition file's path or URL, for messages.
    fn name(&self, key: &PartitionKey) -> String;
}

/// A lake in a local directory.
pub struct Dir<'a>(pub &'a Path);

impl Partitions for Dir<'_> {
    fn partitions(&self) -> Result<Vec<PartitionKey>, LakeError> {
        crate::layout::partitions(self.0)
    }

    fn read(&self, key: &PartitionKey) -> Result<Bytes, LakeError> {
        let path = key.file(self.0);
        std::fs::read(&path).map(Bytes::from).map_err(io_err(&path))
    }

    fn name(&self, key: &PartitionKey) -> String {
        key.file(self.0).display().to_string()
    }
}

impl Partitions for S3Lake {
    fn partitions(&self) -> Result<Vec<PartitionKey>, LakeError> {
        S3Lake::partitions(self)
    }

    fn read(&self, key: &PartitionKey) -> Result<Bytes, LakeError> {
        S3Lake::read(self, key)
    }

    fn name(&self, key: &PartitionKey) -> String {
        self.partition_url(key)
    }
}

/// A lake to read: a directory, or an `s3://` prefix with its bucket opened.
#[derive(Clone)]
pub struct Lake {
    location: LakeLocation,
    s3: Option<Arc<S3Lake>>,
}

impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lake({})", self.location)
    }
}

impl PartialEq for Lake {
    fn eq(&self, other: &Lake) -> bool {
        self.location == other.location
    }
}

impl Eq for Lake {}

impl std::fmt::Display for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.location.fmt(f)
    }
}

impl Lake {
    /// A local lake.
    pub fn dir(path: impl Into<PathBuf>) -> Lake {
        Lake {
            location: LakeLocation::Dir(path.into()),
            s3: None,
        }
    }

    /// The lake at `location`; an `s3://` one with the endpoint and keys of `config`'s
    /// `lake.s3` and the environment (`AWS_*`). Nothing is requested yet.
    pub fn open(
        location: &LakeLocation,
        config: &tickerlake::config::Config,
    ) -> Result<Lake, LakeError> {
        let s3 = match location {
            LakeLocation::Dir(_) => None,
            LakeLocation::S3 { bucket, prefix } => {
                let endpoint = config.lake.s3.resolve(&|name| std::env::var(name).ok());
                Some(Arc::new(S3Lake::open(
                    bucket,
                    prefix,
                    &endpoint,
                    config.http.timeout.0,
                )?))
            }
        };
        Ok(Lake {
            location: location.clone(),
            s3,
        })
    }

    pub fn location(&self) -> &LakeLocation {
        &self.location
    }

    /// The local directory, when the lake is one.
    pub fn local(&self) -> Option<&Path> {
        self.location.dir()
    }

    /// The S3 lake, when the lake is one.
    pub fn s3(&self) -> Option<&S3Lake> {
        self.s3.as_deref()
    }

    /// Calls `f` with the lake's partitions.
    pub fn with<R>(&self, f: impl FnOnce(&dyn Partitions) -> R) -> R {
        match (&self.s3, self.location.dir()) {
            (Some(s3), _) => f(s3.as_ref()),
            (None, Some(dir)) => f(&Dir(dir)),
            (None, None) => f(&Dir(Path::new(""))),
        }
    }

    /// Refuses a place that is not a lake (exit 66), before anything is read.
    pub fn check_readable(&self) -> Result<(), LakeError> {
        match (&self.s3, self.location.dir()) {
            (Some(s3), _) => s3.check_readable(),
            (None, Some(dir)) => crate::layout::check_readable(dir),
            (None, None) => Err(LakeError::Internal("lake")),
        }
    }

    /// Each symbol's last stored date, from footers only.
    pub fn last_dates(
        &self,
        symbols: &std::collections::BTreeSet<Symbol>,
    ) -> Result<std::collections::BTreeMap<Symbol, NaiveDate>, LakeError> {
        match (&self.s3, self.location.dir()) {
            (Some(s3), _) => s3.last_dates(symbols),
            (None, Some(dir)) => crate::scan::last_dates(dir, symbols),
            (None, None) => Err(LakeError::Internal("lake")),
        }
    }
}
