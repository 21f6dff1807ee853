//! S3-compatible object storage (AWS, MinIO, Ceph, R2, Polygon's flat files): a thin layer over
//! `rust-s3`'s blocking client (no async runtime) that turns its answers into what the
//! programs decide on — not found, refused credentials, worth a retry, failed — with messages
//! that never hold a secret (an S3 error body is reduced to its `Code` and `Message`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use s3::Bucket;
use s3::creds::Credentials;
use s3::error::S3Error;
use s3::region::Region;
use tickerlake::config::Secret;

/// Where a bucket is and how to sign for it.
#[derive(Debug, Clone)]
pub struct S3Config {
    /// `https://files.polygon.io`, `http://127.0.0.1:9000`…
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
    /// For temporary credentials (`AWS_SESSION_TOKEN`); empty otherwise.
    pub session_token: Secret,
    /// `endpoint/bucket/key` addresses (MinIO, Ceph, local servers) rather than
    /// `bucket.endpoint/key`.
    pub path_style: bool,
    pub timeout: Duration,
}

/// Why a request to the store did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("{0}: no such object")]
    NotFound(String),
    /// 401/403: wrong keys, a signature the server does not accept, no access.
    #[error("{key}: the store refused the credentials (HTTP {status} {code})")]
    Refused {
        key: String,
        status: u16,
        code: String,
    },
    /// 5xx, 408, 429 or a connection failure: another try may succeed.
    #[error("{key}: {why}")]
    Transient { key: String, why: String },
    #[error("{key}: {why}")]
    Failed { key: String, why: String },
    /// 412 (or 409): the object changed since its ETag was read — another writer.
    #[error("{0}: changed by another writer since it was read (HTTP 412)")]
    Changed(String),
    /// The bucket does not exist at the endpoint: a setting to fix, not an object missing.
    #[error("{0}: no such bucket at this endpoint (check the bucket and endpoint settings)")]
    NoSuchBucket(String),
}

impl StoreError {
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Transient { .. })
    }

    /// The exit status every program gives for it (`docs/exit-codes.md`).
    pub fn exit_code(&self) -> tickerlake::ExitCode {
        use tickerlake::ExitCode;
        match self {
            StoreError::NotFound(_) => ExitCode::NoInput,
            StoreError::Refused { .. } | StoreError::NoSuchBucket(_) => ExitCode::Config,
            StoreError::Transient { .. } => ExitCode::Unavailable,
            StoreError::Changed(_) => ExitCode::TempFail,
            StoreError::Failed { .. } => ExitCode::IoErr,
        }
    }
}

/// An object in a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    pub etag: Option<String>,
}

/// When a PUT may replace what is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Always.
    None,
    /// Only the version read (its ETag): S3 conditional writes.
    IfMatch(String),
    /// Only when there is no object yet.
    IfAbsent,
}

/// Objects above this go up in 8 MiB parts (multipart upload); conditions apply to single PUTs.
pub const MULTIPART_FROM: usize = 8 << 20;

/// How [`Store::retrying`] retries a request that may pass (5xx, 429, a connection failure), and
/// when it stops trying a store that is down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// The waits before the second, third… try of one request.
    pub waits: Vec<Duration>,
    /// Requests in a row, over the whole store (all threads), that failed after every wait,
    /// after which every later one fails at once: a store that is down is not tried object
    /// after object, each with every wait, for the rest of the run. A short outage that a
    /// request's own retries outlast does not count.
    pub give_up_after: u32,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            waits: vec![
                Duration::from_millis(200),
                Duration::from_secs(1),
                Duration::from_secs(4),
            ],
            give_up_after: 3,
        }
    }
}

/// A bucket.
pub struct Store {
    bucket: Box<Bucket>,
    /// `s3://bucket` and the endpoint, for messages.
    label: String,
    endpoint: String,
    retry: Retry,
    /// Requests in a row that failed after every wait (reset by any answer).
    failing: AtomicU32,
}

impl Store {
    pub fn new(cfg: &S3Config) -> Result<Store, String> {
        // rust-s3's TLS (rustls through attohttpc) and ureq's both compile rustls in, with two
        // crypto providers: name one for the process, or the first HTTPS request panics.
        let _ = rustls::crypto::ring::default_provider().install_default();
        check_settings(cfg)?;
        // Retries are the caller's, on its own schedule.
        s3::set_retries(0);
        let region = Region::Custom {
            region: cfg.region.clone(),
            endpoint: cfg.endpoint.trim_end_matches('/').to_string(),
        };
        let (key, secret) = (cfg.access_key_id.expose(), cfg.secret_access_key.expose());
        let creds = if key.is_empty() && secret.is_empty() {
            Credentials::anonymous()
        } else {
            let token = cfg.session_token.expose();
            let token = (!token.is_empty()).then_some(token);
            Credentials::new(Some(key), Some(secret), None, token, None)
        }
        .map_err(|e| format!("S3 credentials: {e}"))?;
        let mut bucket = Bucket::new(&cfg.bucket, region, creds)
            .map_err(|e| format!("s3://{}: {}", cfg.bucket, summary(&e)))?;
        if cfg.path_style {
            bucket = bucket.with_path_style();
        }
        bucket.set_request_timeout(Some(cfg.timeout));
        Ok(Store {
            bucket,
            label: format!("s3://{}", cfg.bucket),
            endpoint: cfg.endpoint.clone(),
            retry: Retry::default(),
            failing: AtomicU32::new(0),
        })
    }

    /// Retries on another schedule (`fetch.backoff` for the flat files).
    pub fn with_retry(mut self, retry: Retry) -> Store {
        self.retry = retry;
        self
    }

    /// Runs `call` (one request about `key`), trying again after each wait while it fails in a
    /// way that may pass. Once [`Retry::give_up_after`] requests in a row have failed after
    /// every wait, the store is taken as down: requests still waiting and every later call fail
    /// at once, as [`StoreError::Transient`].
    pub fn retrying<T>(
        &self,
        key: &str,
        mut call: impl FnMut(&Store) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut waits = self.retry.waits.iter();
        loop {
            let failing = self.failing.load(Ordering::Relaxed);
            if failing >= self.retry.give_up_after.max(1) {
                return Err(StoreError::Transient {
                    key: self.url(key),
                    why: format!(
                        "not tried: the last {failing} requests to {} failed after every retry \
                         (the store is down or unreachable); try again later",
                        self.label
                    ),
                });
            }
            match call(self) {
                Err(e) if e.is_transient() => match waits.next() {
                    Some(w) => {
                        tracing::debug!("{e}: retrying in {} ms", w.as_millis());
                        std::thread::sleep(*w);
                    }
                    None => {
                        self.failing.fetch_add(1, Ordering::Relaxed);
                        return Err(e);
                    }
                },
                other => {
                    self.failing.store(0, Ordering::Relaxed);
                    return other;
                }
            }
        }
    }

    /// The endpoint, for messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// `s3://bucket/key`, for messages.
    pub fn url(&self, key: &str) -> String {
        format!("{}/{}", self.label, key.trim_start_matches('/'))
    }

    /// The whole object at `key`.
    pub fn get(&self, key: &str) -> Result<Vec<u8>, StoreError> {
        let mut body = Vec::new();
        match self.bucket.get_object_to_writer(key, &mut body) {
            Ok(200..=299) => Ok(body),
            Ok(status) => Err(self.classify(key, status, &String::from_utf8_lossy(&body))),
            Err(e) => Err(self.error(key, &e)),
        }
    }

    /// The object at `key` and its ETag.
    pub fn get_tagged(&self, key: &str) -> Result<(Vec<u8>, Option<String>), StoreError> {
        match self.bucket.get_object(key) {
            Ok(r) if (200..300).contains(&r.status_code()) => {
                let etag = header(&r.headers(), "etag");
                Ok((r.as_slice().to_vec(), etag))
            }
            Ok(r) => {
                Err(self.classify(key, r.status_code(), &String::from_utf8_lossy(r.as_slice())))
            }
            Err(e) => Err(self.error(key, &e)),
        }
    }

    /// Bytes `start..=end` of the object at `key`.
    pub fn get_range(&self, key: &str, start: u64, end: u64) -> Result<Vec<u8>, StoreError> {
        if start > end {
            return Ok(Vec::new());
        }
        match self.bucket.get_object_range(key, start, Some(end)) {
            Ok(r) if (200..300).contains(&r.status_code()) => Ok(r.as_slice().to_vec()),
            Ok(r) => {
                Err(self.classify(key, r.status_code(), &String::from_utf8_lossy(r.as_slice())))
            }
            Err(e) => Err(self.error(key, &e)),
        }
    }

    /// Every object under `prefix` (all pages).
    pub fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let pages = self
            .bucket
            .list(prefix.to_string(), None)
            .map_err(|e| self.error(prefix, &e))?;
        Ok(pages
            .into_iter()
            .flat_map(|p| p.contents)
            .map(|o| ObjectInfo {
                key: o.key,
                size: o.size,
                etag: o.e_tag,
            })
            .collect())
    }

    /// The first object under `prefix`, if any (one small listing page).
    pub fn list_first(&self, prefix: &str) -> Result<Option<String>, StoreError> {
        let (page, _) = self
            .bucket
            .list_page(prefix.to_string(), None, None, None, Some(1))
            .map_err(|e| self.error(prefix, &e))?;
        Ok(page.contents.into_iter().next().map(|o| o.key))
    }

    /// Replaces (or creates) the object at `key` with `body`, in one PUT when it is smaller than
    /// [`MULTIPART_FROM`] (under `condition`), else in parts.
    pub fn put(&self, key: &str, body: &[u8], condition: &Condition) -> Result<(), StoreError> {
        let result = if body.len() >= MULTIPART_FROM {
            let mut reader = body;
            self.bucket.put_object_stream(&mut reader, key)
        } else {
            let request = self.bucket.put_object_builder(key, body);
            let request = match condition {
                Condition::None => Ok(request),
                Condition::IfMatch(etag) => request.with_header("If-Match", etag),
                Condition::IfAbsent => request.with_header("If-None-Match", "*"),
            };
            request.and_then(|r| r.execute()).map(|r| r.status_code())
        };
        match result {
            Ok(200..=299) => Ok(()),
            // A PUT creates the object: only the bucket can be missing.
            Ok(404) => Err(StoreError::NoSuchBucket(self.label.clone())),
            Ok(status) => Err(self.classify(key, status, "")),
            Err(e) => Err(self.error(key, &e)),
        }
    }

    /// Uploads the file at `path` as `key`, streamed (in 8 MiB parts from that size up).
    pub fn put_file(&self, key: &str, path: &std::path::Path) -> Result<(), StoreError> {
        let mut file = std::fs::File::open(path).map_err(|e| StoreError::Failed {
            key: path.display().to_string(),
            why: e.to_string(),
        })?;
        match self.bucket.put_object_stream(&mut file, key) {
            Ok(200..=299) => Ok(()),
            Ok(status) => Err(self.classify(key, status, "")),
            Err(e) => Err(self.error(key, &e)),
        }
    }

    /// Streams the object at `key` into `out` (constant memory).
    pub fn get_to(
        &self,
        key: &str,
        out: &mut (dyn std::io::Write + Send),
    ) -> Result<(), StoreError> {
        match self.bucket.get_object_to_writer(key, out) {
            Ok(200..=299) => Ok(()),
            Ok(status) => Err(self.classify(key, status, "")),
            Err(e) => Err(self.error(key, &e)),
        }
    }

    /// Deletes the object at `key` (gone already is fine).
    pub fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.bucket.delete_object(key) {
            Ok(_) => Ok(()),
            Err(e) => match self.error(key, &e) {
                StoreError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    fn error(&self, key: &str, e: &S3Error) -> StoreError {
        match e {
            S3Error::HttpFailWithBody(status, body) => self.classify(key, *status, body),
            other => StoreError::Transient {
                key: self.url(key),
                why: summary(other),
            },
        }
    }

    fn classify(&self, key: &str, status: u16, body: &str) -> StoreError {
        let key = self.url(key);
        let code = xml_field(body, "Code").unwrap_or_default();
        match status {
            404 if code == "NoSuchBucket" => StoreError::NoSuchBucket(self.label.clone()),
            404 => StoreError::NotFound(key),
            409 | 412 => StoreError::Changed(key),
            401 | 403 => StoreError::Refused { key, status, code },
            408 | 429 | 500..=599 => StoreError::Transient {
                key,
                why: format!("HTTP {status} {code}").trim().to_string(),
            },
            _ => StoreError::Failed {
                key,
                why: format!(
                    "HTTP {status} {code}: {}",
                    xml_field(body, "Message").unwrap_or_default()
                )
                .trim()
                .to_string(),
            },
        }
    }
}

/// Settings no store could answer to are refused before any request (a typo in an endpoint
/// would otherwise be retried as an unreachable server): an `http(s)://host[:port]` endpoint, a
/// region and a bucket name of the characters S3 allows.
fn check_settings(cfg: &S3Config) -> Result<(), String> {
    let echo = tickerlake::echo::echo;
    let host = cfg
        .endpoint
        .strip_prefix("https://")
        .or_else(|| cfg.endpoint.strip_prefix("http://"))
        .map(|h| h.trim_end_matches('/'));
    let host_ok = |h: &str| {
        !h.is_empty()
            && h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
    };
    if !host.is_some_and(host_ok) {
        return Err(format!(
            "S3 endpoint {}: expected http(s)://host[:port], e.g. https://files.polygon.io",
            echo(&cfg.endpoint)
        ));
    }
    let region_ok = !cfg.region.is_empty()
        && cfg.region.len() <= 64
        && cfg
            .region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !region_ok {
        return Err(format!(
            "S3 region {}: expected a region name such as us-east-1",
            echo(&cfg.region)
        ));
    }
    let bucket_ok = (1..=255).contains(&cfg.bucket.len())
        && cfg.bucket != "."
        && cfg.bucket != ".."
        && cfg
            .bucket
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b));
    if !bucket_ok {
        return Err(format!(
            "S3 bucket {}: expected a bucket name (letters, digits, '.', '-', '_')",
            echo(&cfg.bucket)
        ));
    }
    Ok(())
}

fn header(headers: &std::collections::HashMap<String, String>, name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.clone())
}

/// An error without the request's details (an S3 error body can echo the string that was
/// signed): its kind and status only.
fn summary(e: &S3Error) -> String {
    match e {
        S3Error::HttpFailWithBody(status, body) => format!(
            "HTTP {status} {}",
            xml_field(body, "Code").unwrap_or_default()
        ),
        S3Error::Io(io) => format!("I/O: {io}"),
        other => {
            let text = other.to_string();
            tickerlake::echo::shorten(&text).to_string()
        }
    }
}

/// The text of the first `<name>…</name>` in an S3 error body, cut short.
fn xml_field(body: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find('<')? + start;
    Some(tickerlake::echo::shorten(body[start..end].trim()).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(endpoint: &str, region: &str, bucket: &str) -> S3Config {
        S3Config {
            endpoint: endpoint.into(),
            region: region.into(),
            bucket: bucket.into(),
            access_key_id: Secret::new("k"),
            secret_access_key: Secret::new("s"),
            session_token: Secret::default(),
            path_style: true,
            timeout: Duration::from_secs(1),
        }
    }

    #[test]
    fn settings_no_store_answers_to_are_refused_before_any_request() {
        for (endpoint, region, bucket, says) in [
            ("files.polygon.io", "us-east-1", "flatfiles", "S3 endpoint"),
            ("ftp://host", "us-east-1", "flatfiles", "S3 endpoint"),
            ("https://", "us-east-1", "flatfiles", "S3 endpoint"),
            (
                "https://user:pw@host",
                "us-east-1",
                "flatfiles",
                "S3 endpoint",
            ),
            ("https://host", "", "flatfiles", "S3 region"),
            ("https://host", "us east", "flatfiles", "S3 region"),
            ("https://host", "us-east-1", "", "S3 bucket"),
            ("https://host", "us-east-1", "..", "S3 bucket"),
            ("https://host", "us-east-1", "a/b", "S3 bucket"),
        ] {
            let e = Store::new(&config(endpoint, region, bucket)).err();
            assert!(
                e.as_deref().is_some_and(|e| e.starts_with(says)),
                "{endpoint} {region} {bucket}: {e:?}"
            );
        }
        for endpoint in [
            "https://files.polygon.io",
            "http://127.0.0.1:9000/",
            "http://[::1]:9000",
        ] {
            assert!(
                Store::new(&config(endpoint, "us-east-1", "flatfiles")).is_ok(),
                "{endpoint}"
            );
        }
    }

    #[test]
    fn a_store_failing_request_after_request_is_given_up_on() {
        let store = Store::new(&config("http://127.0.0.1:9", "us-east-1", "b"))
            .unwrap()
            .with_retry(Retry {
                waits: vec![Duration::ZERO; 3],
                give_up_after: 2,
            });
        let mut calls = 0;
        let mut down = |_: &Store| -> Result<(), StoreError> {
            calls += 1;
            Err(StoreError::Transient {
                key: "k".into(),
                why: "HTTP 503".into(),
            })
        };
        assert!(store.retrying("a", &mut down).is_err());
        assert!(store.retrying("b", &mut down).is_err());
        let e = store.retrying("c", &mut down).unwrap_err();
        assert_eq!(
            calls, 8,
            "4 tries of the first and of the second, none after"
        );
        assert!(
            e.to_string().contains("the store is down or unreachable"),
            "{e}"
        );
        assert_eq!(e.exit_code(), tickerlake::ExitCode::Unavailable);
        // Failures a request's own retries outlast do not count: a flaky store is not given up
        // on, however many there are.
        let flaky = Store::new(&config("http://127.0.0.1:9", "us-east-1", "b"))
            .unwrap()
            .with_retry(Retry {
                waits: vec![Duration::ZERO; 3],
                give_up_after: 1,
            });
        for _ in 0..10 {
            let mut tries = 0;
            let got = flaky.retrying("k", |_| {
                tries += 1;
                if tries < 3 {
                    Err(StoreError::Transient {
                        key: "k".into(),
                        why: "HTTP 503".into(),
                    })
                } else {
                    Ok(tries)
                }
            });
            assert_eq!(got, Ok(3));
        }
    }

    #[test]
    fn error_bodies_are_reduced_to_code_and_message() {
        let body = "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code>\
                    <Message>The request signature we calculated does not match</Message>\
                    <StringToSign>AWS4-HMAC-SHA256 secretish</StringToSign></Error>";
        assert_eq!(
            xml_field(body, "Code").as_deref(),
            Some("SignatureDoesNotMatch")
        );
        let e = summary(&S3Error::HttpFailWithBody(403, body.into()));
        assert_eq!(e, "HTTP 403 SignatureDoesNotMatch");
        assert!(!e.contains("secretish"));
    }
}
