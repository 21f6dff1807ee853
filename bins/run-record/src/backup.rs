//! `s3-backup`: the night's verified archive copied to an S3 prefix, as
//! `<prefix>/<date>/<archive>` with a `SHA256SUMS` beside it, read back and compared before it
//! counts, and the prefix's days older than the retention removed. The prefix is claimed with a
//! `.tickerlake-backups` object, like the local backup directory: a prefix holding anything else
//! is not ours and nothing is written into it.

use std::io::Write;
use std::path::Path;

use chrono::NaiveDate;
use sha2::{Digest, Sha256};
use tickerlake::cli::LakeLocation;
use tickerlake::config::Config;

use crate::Error;

/// The object that marks a prefix as tickerlake's backups.
const MARKER: &str = ".tickerlake-backups";

pub fn to_s3(
    config: &Config,
    archive: &Path,
    to: &LakeLocation,
    date: NaiveDate,
    keep: u32,
) -> Result<(), Error> {
    let LakeLocation::S3 { bucket, prefix } = to else {
        return Err(Error::Usage(format!(
            "--to {to}: expected an s3://bucket/prefix URL"
        )));
    };
    // Retention counts back from --date: a zero or a day in the future would remove the
    // backups that are there, today's included.
    if keep == 0 {
        return Err(Error::Usage(
            "--keep 0 would remove the backup just written: keep at least 1 day".into(),
        ));
    }
    let tomorrow = chrono::Utc::now().date_naive() + chrono::Days::new(1);
    if date > tomorrow {
        return Err(Error::Usage(format!(
            "--date {date} is in the future: retention from it would remove today's backups"
        )));
    }
    let endpoint = config.lake.s3.resolve(&|name| std::env::var(name).ok());
    let store = objstore::Store::new(&objstore::S3Config {
        endpoint: endpoint.endpoint,
        region: endpoint.region,
        bucket: bucket.clone(),
        access_key_id: endpoint.access_key_id,
        secret_access_key: endpoint.secret_access_key,
        session_token: endpoint.session_token,
        path_style: endpoint.path_style,
        timeout: config.http.timeout.0,
    })
    .map_err(Error::Config)?;
    let under = if prefix.is_empty() {
        String::new()
    } else {
        format!("{prefix}/")
    };
    let key = |rel: &str| format!("{under}{rel}");
    // Every request is retried on the store's schedule (a store that is down is given up on).
    // Ours, or empty (then claimed); anything else is refused.
    let marker = key(MARKER);
    match store.retrying(&marker, |s| s.get(&marker)) {
        Ok(_) => {}
        Err(objstore::StoreError::NotFound(_)) => {
            if let Some(first) = store.retrying(&under, |s| s.list_first(&under))? {
                return Err(Error::Usage(format!(
                    "{to} holds {first:?}, which is not a tickerlake backup: give pipeline.backup.s3 another prefix"
                )));
            }
            store.retrying(&marker, |s| s.put(&marker, b"", &objstore::Condition::None))?;
        }
        Err(e) => return Err(e.into()),
    }
    let name = archive
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::Usage(format!("{}: not a file name", archive.display())))?;
    let local = sha256_of_file(archive)?;
    let object = key(&format!("{date}/{name}"));
    store.retrying(&object, |s| s.put_file(&object, archive))?;
    // Read back whole and compared: a copy that differs never counts as the day's backup.
    let hasher = store.retrying(&object, |s| {
        let mut hasher = HashingWriter(Sha256::new());
        s.get_to(&object, &mut hasher).map(|()| hasher)
    })?;
    let remote = hex(&hasher.0.finalize());
    if remote != local {
        return Err(Error::Write {
            path: store.url(&object),
            source: std::io::Error::other(format!(
                "read back with SHA-256 {remote}, the archive has {local}"
            )),
        });
    }
    let sums = key(&format!("{date}/SHA256SUMS"));
    let line = format!("{local}  {name}\n");
    store.retrying(&sums, |s| {
        s.put(&sums, line.as_bytes(), &objstore::Condition::None)
    })?;
    tracing::info!("backup {} copied and verified", store.url(&object));
    // Keep the last `keep` days (today's included).
    let cutoff = date - chrono::Days::new(u64::from(keep));
    for o in store.retrying(&under, |s| s.list(&under))? {
        let Some(rest) = o.key.strip_prefix(&under) else {
            continue;
        };
        let Some((day, _)) = rest.split_once('/') else {
            continue;
        };
        if day.parse::<NaiveDate>().is_ok_and(|d| d <= cutoff) {
            store.retrying(&o.key, |s| s.delete(&o.key))?;
            tracing::info!("backup {} removed (retention)", store.url(&o.key));
        }
    }
    Ok(())
}

fn sha256_of_file(path: &Path) -> Result<String, Error> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
    let mut hasher = HashingWriter(Sha256::new());
    std::io::copy(&mut file, &mut hasher).map_err(|e| Error::read(path, e))?;
    Ok(hex(&hasher.0.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

struct HashingWriter(Sha256);

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
