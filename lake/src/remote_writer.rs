//! Upserts into a lake on S3, with the local lake's semantics: each partition merged with what is
//! stored (the newest answer for a date wins, a null never erases a value), a partition whose
//! bytes would not change not written, a rerun byte-identical. Merged partitions are staged in a
//! local spool directory (bounded memory) and only PUT once the whole input has been read and
//! found good; each PUT replaces one partition object whole, conditional on the ETag it was read
//! with, so a second writer to the same partition fails the run (exit 75) instead of silently
//! replacing the other's rows — where the server supports conditional writes. Hosts that split a
//! universe with `tickers-filter --shard` write disjoint partitions and never meet.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use tickerlake::records::Bar;

use crate::bars::{ColumnTypes, PriceType};
use crate::file::WriteOptions;
use crate::layout::{Layout, PartitionKey};
use crate::remote::S3Lake;
use crate::scan::read_partition_bytes;
use crate::writer::{WriteSummary, merge_and_encode, run_parallel};
use crate::{LakeError, Rounded};

struct Staged {
    spool: PathBuf,
    condition: objstore::Condition,
    existed: bool,
    rows: u64,
    bytes: u64,
}

/// A write to a lake on S3; nothing is replaced before [`S3LakeWriter::commit`].
pub struct S3LakeWriter<'a> {
    lake: &'a S3Lake,
    layout: Layout,
    types: ColumnTypes,
    opts: WriteOptions,
    /// Each partition's ETag as listed when the writer started (`None`: the server gave none).
    existing: BTreeMap<PartitionKey, Option<String>>,
    staged: BTreeMap<PartitionKey, Staged>,
    unchanged: BTreeSet<PartitionKey>,
    spool: tempfile::TempDir,
    spooled: usize,
    rounded: u64,
    rounded_examples: Vec<Rounded>,
    nulls_kept: u64,
}

impl<'a> S3LakeWriter<'a> {
    /// Claims the prefix (an empty one becomes a lake of `layout` and `types`; one holding
    /// anything else is refused) and lists its partitions.
    pub fn new(
        lake: &'a S3Lake,
        layout: Layout,
        types: ColumnTypes,
        opts: WriteOptions,
    ) -> Result<S3LakeWriter<'a>, LakeError> {
        let (has_layout, has) = lake.claim_for_writing(layout, types)?;
        if has_layout != layout {
            return Err(LakeError::LayoutMismatch {
                root: lake.url(),
                found: match has_layout {
                    Layout::SymbolYear => "symbol",
                    Layout::YearMonth => "year",
                },
            });
        }
        if has.prices != types.prices {
            return Err(LakeError::PriceTypeMismatch {
                root: lake.url(),
                found: match has.prices {
                    PriceType::Decimal => "decimal(18,6)".into(),
                    PriceType::Float64 => "float64".into(),
                },
            });
        }
        if has.volume != types.volume {
            return Err(LakeError::VolumeTypeMismatch {
                root: lake.url(),
                found: has.volume.as_str().into(),
            });
        }
        let existing = lake
            .listing()?
            .into_iter()
            .map(|l| (l.key, l.etag))
            .collect();
        let spool = tempfile::Builder::new()
            .prefix("tickerlake-s3-")
            .tempdir()
            .map_err(|source| LakeError::Io {
                path: std::env::temp_dir().display().to_string(),
                source,
            })?;
        Ok(S3LakeWriter {
            lake,
            layout,
            types,
            opts,
            existing,
            staged: BTreeMap::new(),
            unchanged: BTreeSet::new(),
            spool,
            spooled: 0,
            rounded: 0,
            rounded_examples: Vec::new(),
            nulls_kept: 0,
        })
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// Merges each partition's rows with what is stored (or staged earlier in this run) and
    /// stages the result, on `threads` threads at least (the requests wait on the network).
    pub fn upsert_many(
        &mut self,
        jobs: Vec<(PartitionKey, Vec<Bar>)>,
        threads: usize,
    ) -> Result<(), LakeError> {
        struct Job {
            key: PartitionKey,
            rows: Vec<Bar>,
            spool: PathBuf,
            /// A file staged earlier in this run for the partition.
            staged: Option<PathBuf>,
            listed: Option<Option<String>>,
        }
        let mut work = Vec::new();
        for (key, rows) in jobs.into_iter().filter(|(_, rows)| !rows.is_empty()) {
            self.spooled += 1;
            work.push(Job {
                spool: self.spool.path().join(format!("{}.parquet", self.spooled)),
                staged: self.staged.get(&key).map(|s| s.spool.clone()),
                listed: self.existing.get(&key).cloned(),
                key,
                rows,
            });
        }
        let (lake, layout, types, opts) = (self.lake, self.layout, self.types, self.opts);
        let threads = threads.max(lake.workers);
        let results = run_parallel(work, threads, |mut job: Job| {
            let name = lake.partition_url(&job.key);
            // What the partition holds now: this run's staged file, else the object (and the
            // ETag it was read with).
            let (stored, stored_bytes, etag) = match (&job.staged, &job.listed) {
                (Some(path), _) => {
                    let bytes = std::fs::read(path).map_err(|source| LakeError::Io {
                        path: path.display().to_string(),
                        source,
                    })?;
                    let bars = read_partition_bytes(bytes.clone().into(), &name, &job.key)?;
                    (bars, None, None)
                }
                (None, Some(_)) => match lake.read_tagged(&job.key)? {
                    Some((bytes, etag)) => {
                        let bars = read_partition_bytes(bytes.clone(), &name, &job.key)?;
                        (bars, Some(bytes), etag)
                    }
                    None => (Vec::new(), None, None),
                },
                (None, None) => (Vec::new(), None, None),
            };
            let rows = std::mem::take(&mut job.rows);
            let encoded = merge_and_encode(stored, rows, layout, types, opts)?;
            let unchanged = match (&job.staged, &stored_bytes) {
                (Some(path), _) => std::fs::read(path).is_ok_and(|b| b == encoded.bytes),
                (None, Some(object)) => object.as_ref() == encoded.bytes.as_slice(),
                (None, None) => false,
            };
            if !unchanged {
                std::fs::write(&job.spool, &encoded.bytes).map_err(|source| LakeError::Io {
                    path: job.spool.display().to_string(),
                    source,
                })?;
            }
            Ok::<_, LakeError>((job, encoded, unchanged, stored_bytes.is_some(), etag))
        });
        for result in results {
            let (job, encoded, unchanged, read_object, etag) = result?;
            self.rounded += encoded.rounded;
            self.nulls_kept += encoded.nulls_kept;
            for r in encoded.rounded_examples {
                if self.rounded_examples.len() < 5 {
                    self.rounded_examples.push(r);
                }
            }
            if unchanged {
                if job.staged.is_none() {
                    self.unchanged.insert(job.key);
                }
                continue;
            }
            self.unchanged.remove(&job.key);
            let existed = job.listed.is_some();
            // The condition is the one of the object as first read in this run.
            let condition = match self.staged.remove(&job.key) {
                Some(earlier) => {
                    let _ = std::fs::remove_file(&earlier.spool);
                    earlier.condition
                }
                None => match (existed, read_object, etag) {
                    (true, true, Some(etag)) => objstore::Condition::IfMatch(etag),
                    (true, _, _) => objstore::Condition::None,
                    (false, _, _) => objstore::Condition::IfAbsent,
                },
            };
            self.staged.insert(
                job.key,
                Staged {
                    spool: job.spool,
                    condition,
                    existed,
                    rows: encoded.rows,
                    bytes: encoded.bytes.len() as u64,
                },
            );
        }
        Ok(())
    }

    /// PUTs every staged partition. A partition another writer changed since it was read
    /// fails the run (exit 75; the partitions already put hold merged rows, a rerun completes
    /// the rest).
    pub fn commit(self) -> Result<WriteSummary, LakeError> {
        let mut summary = WriteSummary {
            partitions_unchanged: self.unchanged.len() as u64,
            prices_rounded: self.rounded,
            nulls_kept: self.nulls_kept,
            ..WriteSummary::default()
        };
        let lake = self.lake;
        let staged: Vec<(PartitionKey, Staged)> = self.staged.into_iter().collect();
        for (_, s) in &staged {
            summary.partitions_touched += 1;
            summary.partitions_created += u64::from(!s.existed);
            summary.rows_written += s.rows;
            summary.bytes_written += s.bytes;
        }
        let results = run_parallel(staged, lake.workers, |(key, s): (PartitionKey, Staged)| {
            let bytes = std::fs::read(&s.spool).map_err(|source| LakeError::Io {
                path: s.spool.display().to_string(),
                source,
            })?;
            lake.write(&key, &bytes, &s.condition)
        });
        for r in results {
            r?;
        }
        drop(self.spool);
        Ok(summary)
    }
}
