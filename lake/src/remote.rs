//! A lake in an S3 bucket: the same layout and marker under a prefix
//! (`s3://bucket/prefix/symbol=AAPL/year=2024/part-0.parquet`), so Spark (`s3a://`), DuckDB
//! (httpfs), polars and pyarrow read it as they read the local one.
//!
//! Reading lists the prefix once (ListObjectsV2, every page), then GETs the partitions it
//! needs; a symbol's last date comes from its newest file's footer alone (a range GET of the
//! file's tail). Writing replaces each changed partition with one PUT — conditional on the ETag
//! it was read with (`If-Match`; `If-None-Match: *` for a new one), so a second writer to the
//! same partition is detected where the server supports conditional writes.

use std::time::Duration;

use bytes::Bytes;
use chrono::NaiveDate;
use tickerlake::Symbol;
use tickerlake::config::S3Endpoint;

use crate::LakeError;
use crate::bars::ColumnTypes;
use crate::layout::{FILE_NAME, Layout, MARKER_FILE, PartitionKey, canonical_year};

/// Bytes read from a file's end for its footer: partitions are small, most footers are read
/// whole with the file's last rows.
const TAIL_BYTES: u64 = 64 << 10;

/// A lake under `s3://bucket/prefix`.
pub struct S3Lake {
    store: objstore::Store,
    bucket: String,
    prefix: String,
    /// Requests in flight at once.
    pub workers: usize,
}

/// A partition object as listed.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: PartitionKey,
    pub size: u64,
    pub etag: Option<String>,
}

impl S3Lake {
    pub fn open(
        bucket: &str,
        prefix: &str,
        endpoint: &S3Endpoint,
        timeout: Duration,
    ) -> Result<S3Lake, LakeError> {
        let store = objstore::Store::new(&objstore::S3Config {
            endpoint: endpoint.endpoint.clone(),
            region: endpoint.region.clone(),
            bucket: bucket.to_string(),
            access_key_id: endpoint.access_key_id.clone(),
            secret_access_key: endpoint.secret_access_key.clone(),
            session_token: endpoint.session_token.clone(),
            path_style: endpoint.path_style,
            timeout,
        })
        .map_err(LakeError::Config)?;
        Ok(S3Lake {
            store,
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
            workers: endpoint.workers.max(1),
        })
    }

    /// `s3://bucket/prefix`.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    fn object(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    /// The object key of a partition's file.
    pub fn partition_object(&self, key: &PartitionKey) -> String {
        self.object(&format!("{key}/{FILE_NAME}"))
    }

    /// `s3://bucket/prefix/symbol=…/year=…/part-0.parquet`, for messages.
    pub fn partition_url(&self, key: &PartitionKey) -> String {
        format!("s3://{}/{}", self.bucket, self.partition_object(key))
    }

    /// One request about `object`, retried on the store's schedule (see
    /// [`objstore::Store::retrying`]: a store that is down is given up on, not tried object
    /// after object).
    fn retrying<T>(
        &self,
        object: &str,
        mut call: impl FnMut() -> Result<T, objstore::StoreError>,
    ) -> Result<T, objstore::StoreError> {
        self.store.retrying(object, |_| call())
    }

    /// The marker's bytes; `None` when there is none.
    fn marker(&self) -> Result<Option<Vec<u8>>, LakeError> {
        let key = self.object(MARKER_FILE);
        match self.retrying(&key, || self.store.get(&key)) {
            Ok(b) => Ok(Some(b)),
            Err(objstore::StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks that the prefix is a lake before it is read: no marker (an empty prefix, a
    /// lake's parent) is [`LakeError::NotALake`] (exit 66), never a lake with no rows.
    pub fn check_readable(&self) -> Result<(), LakeError> {
        let why = match self.marker()? {
            None => format!("not a tickerlake lake (no {MARKER_FILE})"),
            Some(bytes) => match crate::layout::marker_problem_of(&bytes) {
                None => return Ok(()),
                Some(why) => why,
            },
        };
        Err(LakeError::NotALake {
            path: self.url(),
            why,
        })
    }

    /// Makes the prefix a lake of `layout` and `types` if it is empty; a prefix holding
    /// anything without our marker is not ours, and nothing is written into it. Returns the
    /// layout and column types the marker states.
    pub fn claim_for_writing(
        &self,
        layout: Layout,
        types: ColumnTypes,
    ) -> Result<(Layout, ColumnTypes), LakeError> {
        if let Some(bytes) = self.marker()? {
            if let Some(why) = crate::layout::marker_problem_of(&bytes) {
                return Err(LakeError::NotOurs {
                    path: self.url(),
                    found: why,
                });
            }
            return crate::layout::marker_says(&bytes).ok_or(LakeError::Internal("marker"));
        }
        let under = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        if let Some(first) = self.retrying(&under, || self.store.list_first(&under))? {
            return Err(LakeError::NotOurs {
                path: self.url(),
                found: first.chars().take(64).collect(),
            });
        }
        let bytes = crate::layout::marker_bytes(layout, types)?;
        let key = self.object(MARKER_FILE);
        match self.retrying(&key, || {
            self.store.put(&key, &bytes, &objstore::Condition::IfAbsent)
        }) {
            Ok(()) => Ok((layout, types)),
            // Another writer claimed it first: theirs stands, and says what the lake holds.
            Err(objstore::StoreError::Changed(_)) => {
                let theirs = self.marker()?.ok_or(LakeError::Internal("marker"))?;
                if let Some(why) = crate::layout::marker_problem_of(&theirs) {
                    return Err(LakeError::NotOurs {
                        path: self.url(),
                        found: why,
                    });
                }
                crate::layout::marker_says(&theirs).ok_or(LakeError::Internal("marker"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Every partition under the prefix, in key order (objects that are not partition files —
    /// the marker, other tools' files — are left out).
    pub fn listing(&self) -> Result<Vec<Listed>, LakeError> {
        let under = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let objects = self.retrying(&under, || self.store.list(&under))?;
        let mut out: Vec<Listed> = objects
            .into_iter()
            .filter_map(|o| {
                let rel = o.key.strip_prefix(&under)?;
                Some(Listed {
                    key: partition_of(rel)?,
                    size: o.size,
                    etag: o.etag,
                })
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// The partitions, after checking the prefix is a lake.
    pub fn partitions(&self) -> Result<Vec<PartitionKey>, LakeError> {
        self.check_readable()?;
        Ok(self.listing()?.into_iter().map(|l| l.key).collect())
    }

    /// A partition's file, whole.
    pub fn read(&self, key: &PartitionKey) -> Result<Bytes, LakeError> {
        let object = self.partition_object(key);
        Ok(Bytes::from(
            self.retrying(&object, || self.store.get(&object))?,
        ))
    }

    /// A partition's file and its ETag; `None` when there is none.
    pub fn read_tagged(
        &self,
        key: &PartitionKey,
    ) -> Result<Option<(Bytes, Option<String>)>, LakeError> {
        let object = self.partition_object(key);
        match self.retrying(&object, || self.store.get_tagged(&object)) {
            Ok((b, etag)) => Ok(Some((Bytes::from(b), etag))),
            Err(objstore::StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces a partition's file under `condition`.
    pub fn write(
        &self,
        key: &PartitionKey,
        bytes: &[u8],
        condition: &objstore::Condition,
    ) -> Result<(), LakeError> {
        let object = self.partition_object(key);
        self.retrying(&object, || self.store.put(&object, bytes, condition))?;
        Ok(())
    }

    /// The highest `date` in a partition of `size` bytes, from its footer (a range GET of the
    /// file's tail; a second one when the footer is longer).
    pub fn max_date(&self, listed: &Listed) -> Result<Option<NaiveDate>, LakeError> {
        use parquet::file::metadata::{FooterTail, ParquetMetaDataReader};
        let object = self.partition_object(&listed.key);
        let url = self.partition_url(&listed.key);
        let size = listed.size;
        let corrupt = |why: String| LakeError::Corrupt(format!("{url}: {why}"));
        if size < 12 {
            return Err(corrupt(format!("{size} bytes: not a Parquet file")));
        }
        let start = size.saturating_sub(TAIL_BYTES);
        let mut tail = self.retrying(&object, || self.store.get_range(&object, start, size - 1))?;
        let n = tail.len();
        let last8: [u8; 8] = tail[n.saturating_sub(8)..]
            .try_into()
            .map_err(|_| corrupt("a short read".into()))?;
        let footer = FooterTail::try_new(&last8).map_err(|e| corrupt(e.to_string()))?;
        let need = footer.metadata_length() as u64 + 8;
        if need > size {
            return Err(corrupt("the footer is longer than the file".into()));
        }
        if need > n as u64 {
            tail = self.retrying(&object, || {
                self.store.get_range(&object, size - need, size - 1)
            })?;
        }
        let n = tail.len();
        let meta_start = n - need as usize;
        let meta = ParquetMetaDataReader::decode_metadata(&tail[meta_start..n - 8])
            .map_err(|e| corrupt(e.to_string()))?;
        crate::scan::max_date_of(&meta).map_err(|e| corrupt(e.to_string()))
    }

    /// Each symbol's last stored date (`symbols` limits it; empty: all), from the footers of
    /// its newest year, read on [`S3Lake::workers`] threads.
    pub fn last_dates(
        &self,
        symbols: &std::collections::BTreeSet<Symbol>,
    ) -> Result<std::collections::BTreeMap<Symbol, NaiveDate>, LakeError> {
        self.check_readable()?;
        let listing = self.listing()?;
        let mut newest: std::collections::BTreeMap<&Symbol, &Listed> =
            std::collections::BTreeMap::new();
        let mut months = false;
        for l in &listing {
            match &l.key {
                PartitionKey::SymbolYear(s, y) => {
                    if symbols.is_empty() || symbols.contains(s) {
                        let e = newest.entry(s).or_insert(l);
                        if matches!(e.key, PartitionKey::SymbolYear(_, ey) if ey < *y) {
                            *e = l;
                        }
                    }
                }
                PartitionKey::YearMonth(..) => months = true,
            }
        }
        let mut out = std::collections::BTreeMap::new();
        let jobs: Vec<(&Symbol, &Listed)> = newest.into_iter().collect();
        let results = crate::writer::run_parallel(jobs, self.workers, |(s, l)| {
            self.max_date(l).map(|d| (s.clone(), d))
        });
        for r in results {
            if let (symbol, Some(d)) = r? {
                out.insert(symbol, d);
            }
        }
        if months {
            let filter = crate::scan::ScanFilter {
                symbols: symbols.clone(),
                ..Default::default()
            };
            crate::scan::scan_source(self, &filter, |bars| {
                for b in bars {
                    let e = out.entry(b.symbol).or_insert(b.date);
                    *e = (*e).max(b.date);
                }
                Ok(())
            })?;
        }
        Ok(out)
    }
}

/// The partition a relative object key names (`symbol=AAPL/year=2024/part-0.parquet`,
/// `year=2024/month=03/part-0.parquet`), as the local lake's directories would.
pub fn partition_of(rel: &str) -> Option<PartitionKey> {
    let mut parts = rel.split('/');
    let (first, second, file) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || file != FILE_NAME {
        return None;
    }
    if let (Some(sym), Some(year)) = (first.strip_prefix("symbol="), second.strip_prefix("year=")) {
        return Some(PartitionKey::SymbolYear(
            Symbol::from_file_name(sym)?,
            canonical_year(year)?,
        ));
    }
    let (year, month) = (first.strip_prefix("year=")?, second.strip_prefix("month=")?);
    let m: u32 = month.parse().ok()?;
    ((1..=12).contains(&m) && format!("{m:02}") == month)
        .then_some(PartitionKey::YearMonth(canonical_year(year)?, m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_name_the_partitions_the_directories_would() {
        let aapl = Symbol::parse("AAPL").unwrap();
        let k = partition_of("symbol=AAPL/year=2024/part-0.parquet").unwrap();
        assert_eq!(k, PartitionKey::SymbolYear(aapl, 2024));
        assert_eq!(
            partition_of("year=2024/month=03/part-0.parquet"),
            Some(PartitionKey::YearMonth(2024, 3))
        );
        for other in [
            "symbol=AAPL/year=2024/.part-0.parquet.x.tmp",
            "symbol=AAPL/year=02024/part-0.parquet",
            "year=2024/month=3/part-0.parquet",
            "symbol=AAPL/year=2024/extra/part-0.parquet",
            ".tickerlake-lake.json",
            "notes.txt",
        ] {
            assert_eq!(partition_of(other), None, "{other}");
        }
        let sym = Symbol::parse("^GSPC").unwrap();
        let key = PartitionKey::SymbolYear(sym, 2020);
        assert_eq!(partition_of(&format!("{key}/part-0.parquet")), Some(key));
    }
}
