//! `config.yaml`: every setting documented in the file at the repository root.
//!
//! Loading is strict: unknown keys are errors (a typo must not silently fall back to a
//! default), values are range-checked, and `${VAR}` / `${VAR:-default}` are substituted from the
//! environment inside string values (`$${` writes a literal `${`). A variable without a default
//! that is not set (or empty) is an error naming it. Substituted text becomes whatever type the
//! setting has (`workers: ${WORKERS:-6}` is a number; a secret `007` stays the string `007`).
//!
//! Precedence, highest first: command-line flag > environment variable (`TICKERLAKE_…`, shown
//! in each program's `--help`) > config file > built-in default. Flags and environment are
//! merged by each program's clap definition; this module supplies the last two.
//!
//! Secrets are [`Secret`]s: their `Debug` and `Display` print `<redacted>`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

/// Where the configuration comes from when `--config` is not given.
pub const DEFAULT_PATH: &str = "config.yaml";

/// Environment variable that names the config file.
pub const ENV_PATH: &str = "TICKERLAKE_CONFIG";

/// A configuration problem. Exit code 78.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {key}{message}")]
pub struct ConfigError {
    pub file: String,
    /// Dotted path of the offending key, with a trailing `: ` when present.
    pub key: String,
    pub message: String,
}

impl ConfigError {
    fn new(file: &str, key: &str, message: impl Into<String>) -> ConfigError {
        let key = if key.is_empty() || key == "." {
            String::new()
        } else {
            format!("{key}: ")
        };
        ConfigError {
            file: file.to_string(),
            key,
            message: message.into(),
        }
    }
}

/// A secret value (API key, password). Never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "<empty>"
        } else {
            "<redacted>"
        })
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        // A numeric key substituted from the environment arrives as a number.
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Secret(s)),
            Value::Number(n) => Ok(Secret(n.to_string())),
            Value::Null => Ok(Secret::default()),
            _ => Err(serde::de::Error::custom("expected a string")),
        }
    }
}

/// A proxy URL. It may carry a password (`socks5://user:pass@host:1080`), so `Debug` and
/// messages show it with the user information replaced by `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl(String);

impl ProxyUrl {
    pub fn new(url: impl Into<String>) -> ProxyUrl {
        ProxyUrl(url.into())
    }

    /// The URL itself, for the one place that connects through it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any `user:password@` replaced by `***@`.
    pub fn redacted(&self) -> String {
        let (scheme, rest) = self.0.split_once("://").unwrap_or(("", &self.0));
        let host_start = rest.find('/').unwrap_or(rest.len());
        match rest[..host_start].rfind('@') {
            Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
            None => self.0.clone(),
        }
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.redacted())
    }
}

impl<'de> Deserialize<'de> for ProxyUrl {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ProxyUrl, D::Error> {
        String::deserialize(d).map(ProxyUrl)
    }
}

/// A duration written as `250ms`, `10s`, `2m`, `1h` (a bare number is seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub Duration);

impl Span {
    pub fn parse(text: &str) -> Result<Span, String> {
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("expected a duration like 10s, 250ms or 2m, found {text:?}"))?;
        let secs = match unit.trim() {
            "ms" => value / 1000.0,
            "" | "s" => value,
            "m" | "min" => value * 60.0,
            "h" => value * 3600.0,
            _ => {
                return Err(format!(
                    "unknown duration unit in {text:?} (use ms, s, m or h)"
                ));
            }
        };
        if !(secs.is_finite() && (0.0..=7.0 * 86400.0).contains(&secs)) {
            return Err(format!("duration {text:?} is out of range (0 to 7 days)"));
        }
        Ok(Span(Duration::from_secs_f64(secs)))
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Span, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Span::parse(&s).map_err(serde::de::Error::custom),
            Value::Number(n) => Span::parse(&n.to_string()).map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom("expected a duration like 10s")),
        }
    }
}

/// A request rate: `5/min`, `2/s`, `100/h`, or a bare number of requests per second.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate(pub f64);

impl Rate {
    /// The slowest and fastest rates accepted, per second (one an hour; a thousand a second).
    pub const RANGE: (f64, f64) = (1.0 / 3600.0, 1000.0);

    pub fn parse(text: &str) -> Result<Rate, String> {
        let t = text.trim();
        let (num, per) = t.split_once('/').unwrap_or((t, "s"));
        let value: f64 = num.trim().parse().map_err(|_| {
            format!("expected a rate like 5/min, 2/s or 0.5 (per second), found {text:?}")
        })?;
        let seconds = match per.trim() {
            "s" | "sec" | "second" => 1.0,
            "m" | "min" | "minute" => 60.0,
            "h" | "hour" => 3600.0,
            _ => {
                return Err(format!(
                    "unknown rate unit in {text:?} (use /s, /min or /h)"
                ));
            }
        };
        let per_second = value / seconds;
        let (lo, hi) = Rate::RANGE;
        if !(per_second.is_finite() && (lo..=hi).contains(&per_second)) {
            return Err(format!(
                "rate {text:?} is out of range (one an hour to 1000 a second)"
            ));
        }
        Ok(Rate(per_second))
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Rate::parse(&s).map_err(serde::de::Error::custom),
            Value::Number(n) => Rate::parse(&n.to_string()).map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom("expected a rate like 5/min")),
        }
    }
}

/// A daily-bar provider of `ohlcv-fetch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProviderName {
    Yahoo,
    Stooq,
    PolygonRest,
    PolygonFlatfiles,
}

impl ProviderName {
    pub const ALL: [ProviderName; 4] = [
        ProviderName::Yahoo,
        ProviderName::Stooq,
        ProviderName::PolygonRest,
        ProviderName::PolygonFlatfiles,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderName::Yahoo => "yahoo",
            ProviderName::Stooq => "stooq",
            ProviderName::PolygonRest => "polygon-rest",
            ProviderName::PolygonFlatfiles => "polygon-flatfiles",
        }
    }

    /// A comma-separated list of providers, in the order they are asked: known names, each
    /// once; the flat files (one file per day for every ticker) only alone.
    pub fn parse_list(text: &str) -> Result<Vec<ProviderName>, String> {
        let mut out: Vec<ProviderName> = Vec::new();
        for part in text.split(',') {
            let name = part.trim();
            let p = ProviderName::ALL
                .into_iter()
                .find(|p| p.as_str() == name)
                .ok_or_else(|| {
                    format!(
                        "unknown provider {:?} (known: yahoo, stooq, polygon-rest, polygon-flatfiles)",
                        crate::echo::shorten(name)
                    )
                })?;
            if out.contains(&p) {
                return Err(format!("provider {name} is listed twice"));
            }
            out.push(p);
        }
        if out.contains(&ProviderName::PolygonFlatfiles) && out.len() > 1 {
            return Err(
                "polygon-flatfiles fetches whole days for every ticker and cannot be chained \
                 with per-symbol providers: give it alone"
                    .into(),
            );
        }
        Ok(out)
    }
}

impl fmt::Display for ProviderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Log verbosity when no `-v`/`-q` is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    #[default]
    Warn,
    Info,
    Debug,
    Trace,
}

/// Log line format on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human text when stderr is a terminal, JSON Lines otherwise.
    #[default]
    Auto,
    Text,
    Json,
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub logging: Logging,
    pub http: Http,
    pub fetch: Fetch,
    pub providers: Providers,
    pub lake: Lake,
    pub qa: Qa,
    pub qlib: Qlib,
    pub scrape: Scrape,
    pub filter: Filter,
    pub pipeline: Pipeline,
    pub status: Status,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Logging {
    pub level: LogLevel,
    pub format: LogFormat,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Http {
    pub user_agent: String,
    pub connect_timeout: Span,
    pub timeout: Span,
    /// HTTP or SOCKS proxies to rotate through (`http://host:3128`, `socks5://host:1080`).
    pub proxies: Vec<ProxyUrl>,
}

impl Default for Http {
    fn default() -> Http {
        Http {
            user_agent: concat!("tickerlake/", env!("CARGO_PKG_VERSION")).to_string(),
            connect_timeout: Span(Duration::from_secs(10)),
            timeout: Span(Duration::from_secs(30)),
            proxies: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fetch {
    pub provider: String,
    pub workers: u32,
    /// Requests per second, shared by all workers.
    pub rate: f64,
    /// Wait before each retry; the number of entries is the number of retries.
    pub backoff: Vec<Span>,
    /// The longest `Retry-After` honoured; a provider asking for more fails the symbol.
    pub max_retry_after: Span,
    pub lookback_days: u32,
    /// Switch proxy every N symbols (0 = never).
    pub rotate_every: u32,
    /// Consecutive failed requests, over all symbols, that open the circuit breaker.
    pub breaker_failures: u32,
    /// Nights a symbol may fail in a row before it goes to the dead-letter list.
    pub dead_letter_after: u32,
    pub yahoo: YahooConfig,
}

impl Default for Fetch {
    fn default() -> Fetch {
        Fetch {
            provider: "yahoo".into(),
            workers: 6,
            rate: 2.0,
            backoff: [10, 30, 120, 600]
                .iter()
                .map(|s| Span(Duration::from_secs(*s)))
                .collect(),
            max_retry_after: Span(Duration::from_secs(300)),
            lookback_days: 3,
            rotate_every: 400,
            breaker_failures: 20,
            dead_letter_after: 3,
            yahoo: YahooConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct YahooConfig {
    pub base_url: String,
    /// Name → Yahoo symbol, for the cases no rule covers.
    pub overrides: BTreeMap<String, String>,
    /// The venue suffixes this key held are part of the listing names now (`AIR.PA`); a config
    /// that still has it is told so.
    #[serde(default)]
    pub suffixes: Option<serde::de::IgnoredAny>,
}

impl Default for YahooConfig {
    fn default() -> YahooConfig {
        YahooConfig {
            base_url: "https://query1.finance.yahoo.com".into(),
            overrides: BTreeMap::new(),
            suffixes: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Providers {
    pub polygon: Polygon,
    pub stooq: Stooq,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Polygon {
    /// From `${POLYGON_API_KEY}`: sent in a header, never in a URL.
    pub api_key: Secret,
    pub base_url: String,
    /// The REST API's request rate (the free tier allows 5 a minute).
    pub rate: Rate,
    /// Split-adjusted aggregates (Polygon's `adjusted`).
    pub adjusted: bool,
    /// Days back and ahead of `--end` that `--actions-window` asks splits and dividends for.
    pub actions_back_days: u32,
    pub actions_ahead_days: u32,
    /// Flat files (S3): endpoint, bucket, region, the day files' folder, and keys.
    pub s3_endpoint: String,
    pub s3_bucket: String,
    pub s3_region: String,
    pub s3_prefix: String,
    pub s3_access_key_id: Secret,
    pub s3_secret_access_key: Secret,
    /// Day files downloaded at once.
    pub s3_workers: u32,
}

impl Default for Polygon {
    fn default() -> Polygon {
        Polygon {
            api_key: Secret::default(),
            base_url: "https://api.polygon.io".into(),
            rate: Rate(5.0 / 60.0),
            adjusted: true,
            actions_back_days: 30,
            actions_ahead_days: 90,
            s3_endpoint: "https://files.polygon.io".into(),
            s3_bucket: "flatfiles".into(),
            s3_region: "us-east-1".into(),
            s3_prefix: "us_stocks_sip/day_aggs_v1".into(),
            s3_access_key_id: Secret::default(),
            s3_secret_access_key: Secret::default(),
            s3_workers: 4,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Stooq {
    pub base_url: String,
    pub rate: Rate,
    /// Listing name → Stooq symbol, for what no rule covers (indices: `^GSPC: ^spx`).
    pub overrides: BTreeMap<String, String>,
}

impl Default for Stooq {
    fn default() -> Stooq {
        Stooq {
            base_url: "https://stooq.com".into(),
            rate: Rate(1.0),
            overrides: BTreeMap::new(),
        }
    }
}

/// Column type of prices in Parquet: `lake.price_type`, `to-parquet --price-type`, and what the
/// lake's marker records.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum PriceType {
    /// decimal(18,6): exact
    #[default]
    Decimal,
    /// float64: what pandas reads natively
    Float64,
}

/// Column type of volumes in Parquet: `lake.volume_type`, `to-parquet --volume-type`, and what
/// the lake's marker records. Whole shares unless a source counts fractional ones.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum VolumeType {
    /// int64: whole shares; a fractional volume is refused
    #[default]
    Int64,
    /// float64: fractional shares kept as the source says them
    Float64,
}

impl VolumeType {
    /// The name config.yaml, the flag and the lake's marker use.
    pub fn as_str(self) -> &'static str {
        match self {
            VolumeType::Int64 => "int64",
            VolumeType::Float64 => "float64",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lake {
    pub price_type: PriceType,
    pub volume_type: VolumeType,
    pub zstd_level: i32,
    pub row_group_rows: usize,
    /// Where an `s3://` lake's bucket is and how to sign for it.
    pub s3: LakeS3,
}

impl Default for Lake {
    fn default() -> Lake {
        Lake {
            price_type: PriceType::Decimal,
            volume_type: VolumeType::Int64,
            zstd_level: 3,
            row_group_rows: 1 << 17,
            s3: LakeS3::default(),
        }
    }
}

/// An `s3://` lake's endpoint and keys. Empty settings fall back to the environment variables
/// every S3 tool reads (`AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`, `AWS_REGION` /
/// `AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), then
/// to AWS itself (`https://s3.<region>.amazonaws.com`, `us-east-1`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LakeS3 {
    pub endpoint: String,
    pub region: String,
    /// `endpoint/bucket/key` addresses (MinIO, Ceph, R2, local servers); default: yes when an
    /// endpoint is given, no for AWS.
    pub path_style: Option<bool>,
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
    pub session_token: Secret,
    /// Requests in flight at once (reads and writes of partitions).
    pub workers: u32,
}

impl Default for LakeS3 {
    fn default() -> LakeS3 {
        LakeS3 {
            endpoint: String::new(),
            region: String::new(),
            path_style: None,
            access_key_id: Secret::default(),
            secret_access_key: Secret::default(),
            session_token: Secret::default(),
            workers: 8,
        }
    }
}

/// [`LakeS3`] with the environment's fallbacks applied.
#[derive(Debug, Clone)]
pub struct S3Endpoint {
    pub endpoint: String,
    pub region: String,
    pub path_style: bool,
    pub access_key_id: Secret,
    pub secret_access_key: Secret,
    pub session_token: Secret,
    pub workers: usize,
}

impl LakeS3 {
    /// The settings, each empty one taken from `env` (the process's environment in programs).
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> S3Endpoint {
        let pick = |own: &str, names: &[&str]| -> Option<String> {
            if !own.is_empty() {
                return Some(own.to_string());
            }
            names
                .iter()
                .find_map(|n| env(n).filter(|v| !v.trim().is_empty()))
        };
        let region = pick(&self.region, &["AWS_REGION", "AWS_DEFAULT_REGION"])
            .unwrap_or_else(|| "us-east-1".into());
        let given = pick(&self.endpoint, &["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]);
        let secret =
            |own: &Secret, name: &str| Secret::new(pick(own.expose(), &[name]).unwrap_or_default());
        S3Endpoint {
            path_style: self.path_style.unwrap_or(given.is_some()),
            endpoint: given.unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com")),
            region,
            access_key_id: secret(&self.access_key_id, "AWS_ACCESS_KEY_ID"),
            secret_access_key: secret(&self.secret_access_key, "AWS_SECRET_ACCESS_KEY"),
            session_token: secret(&self.session_token, "AWS_SESSION_TOKEN"),
            workers: self.workers.max(1) as usize,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Qa {
    /// Lowest severity that makes `qa-check` exit 1.
    pub fail_on: crate::records::Severity,
    pub lag_trading_days: u32,
    pub lag_critical_pct: f64,
    pub missing_dates_window: u32,
    pub price_jump_pct: f64,
    pub iqr_k: f64,
    pub volume_z: f64,
    /// Bars of history before a day that its volume z-score is measured against.
    pub volume_window: u32,
    pub fetch_error_failures: u32,
    /// `coverage`: lowest share (%) of active tickers with fresh data.
    pub coverage_min_pct: f64,
    /// `freshness`: most calendar days the newest bar may be older than `--as-of`.
    pub freshness_days: u32,
    /// `--calendar infer`: share (%) of the symbols listed on a day that must have a bar for
    /// the day to count as a trading day.
    pub infer_min_share_pct: f64,
    /// Severity of each check's findings, by check id (the built-in severities otherwise).
    pub severity: BTreeMap<String, crate::records::Severity>,
    pub training: QaTraining,
}

impl Default for Qa {
    fn default() -> Qa {
        Qa {
            fail_on: crate::records::Severity::Critical,
            lag_trading_days: 2,
            lag_critical_pct: 5.0,
            missing_dates_window: 30,
            price_jump_pct: 75.0,
            iqr_k: 3.0,
            volume_z: 5.0,
            volume_window: 60,
            fetch_error_failures: 3,
            coverage_min_pct: 95.0,
            freshness_days: 14,
            infer_min_share_pct: 50.0,
            severity: BTreeMap::new(),
            training: QaTraining::default(),
        }
    }
}

/// `qa-check --profile training`: what a training set must hold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QaTraining {
    /// Symbols the set must have (0: any number).
    pub stocks: u32,
    /// Distinct calendar years of history each symbol needs.
    pub min_years: u32,
    /// Lowest close allowed.
    pub min_price: f64,
    /// Lowest volume allowed.
    pub min_volume: i64,
}

impl Default for QaTraining {
    fn default() -> QaTraining {
        QaTraining {
            stocks: 0,
            min_years: 10,
            min_price: 1.0,
            min_volume: 50_000,
        }
    }
}

/// How qlib-bin writes values: `qlib.adjust`, `qlib-bin --adjust`, and what a store remembers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Adjust {
    /// Qlib's Yahoo collector normalization (prices adjusted and scaled, factor, change)
    #[default]
    Qlib,
    /// The values as given (bars: factor = adj_close / close; CSV: every column as it is)
    None,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Qlib {
    pub fields: Vec<String>,
    pub adjust: Adjust,
    /// `qlib-bin all --force` refuses a new store with more than this share (percent) fewer
    /// instruments than the one it replaces, unless `--allow-shrink`.
    pub max_shrink_pct: f64,
}

impl Default for Qlib {
    fn default() -> Qlib {
        Qlib {
            fields: [
                "open", "high", "low", "close", "volume", "factor", "adjclose", "change",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            adjust: Adjust::Qlib,
            max_shrink_pct: 20.0,
        }
    }
}

/// The User-Agent of the shipped `nasdaq-screener` entry: api.nasdaq.com answers browsers only.
pub const BROWSER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";

/// `tickers-scrape`: the listing sources and the guard against a listing that shrank.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scrape {
    /// A source whose row count falls below this share of its previous good run (in the
    /// `--status` file) is treated as a structure error: a half-delivered listing must not read
    /// as delistings.
    pub min_rows_ratio: f64,
    /// A random pause, from the first to the second span, between two requests to one host.
    pub pause: [Span; 2],
    /// Wait before each retry of a download; the number of entries is the number of retries.
    pub backoff: Vec<Span>,
    /// The longest `Retry-After` honoured; a site asking for more fails the source at once.
    pub max_retry_after: Span,
    /// The sources by name (`tickers-scrape NAME`).
    pub sources: BTreeMap<String, ScrapeSource>,
}

/// One file a source downloads.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Download {
    pub url: String,
    /// Sent as an `application/x-www-form-urlencoded` POST (what a page's "Download" button
    /// posts), instead of a GET.
    #[serde(default)]
    pub form: Option<String>,
    /// `url` is a page: the file is the link on it whose file name is this (case-insensitive),
    /// for files whose address changes with every release.
    #[serde(default)]
    pub link: Option<String>,
    /// The file's name under `--raw-dir` [default: the last segment of the URL's path].
    #[serde(default)]
    pub name: Option<String>,
}

impl Download {
    fn get(url: &str, name: &str) -> Download {
        Download {
            url: url.into(),
            form: None,
            link: None,
            name: Some(name.into()),
        }
    }

    /// The file's name under `--raw-dir`.
    pub fn file_name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let path = self.url.split(['?', '#']).next().unwrap_or("");
        let after_host = path.splitn(4, '/').nth(3).unwrap_or("");
        let last = after_host.rsplit('/').find(|s| !s.is_empty()).unwrap_or("");
        let name: String = self
            .link
            .as_deref()
            .unwrap_or(last)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        match name.trim_start_matches('.') {
            "" => "download".into(),
            n => n.to_string(),
        }
    }
}

/// One listing source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeSource {
    pub kind: SourceKind,
    /// Whether a run without names includes it.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Kind `list`: the hand-kept tickers.
    #[serde(default)]
    pub tickers: Vec<ListedTicker>,
    /// Kind `html-table`: which table, which columns, what the listings are.
    #[serde(default)]
    pub table: Option<HtmlTable>,
    /// The files to download [default: the kind's official files; an html-table names its page].
    #[serde(default)]
    pub downloads: Option<Vec<Download>>,
    /// The User-Agent of this source's requests [default: http.user_agent]. The SEC answers only
    /// requests whose User-Agent names a contact (`Jane Doe jane@example.com`).
    #[serde(default)]
    pub user_agent: Option<String>,
    /// More request headers (`Accept`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl ScrapeSource {
    /// What the source downloads: its own list, else its kind's official files.
    pub fn downloads(&self) -> Vec<Download> {
        match &self.downloads {
            Some(d) => d.clone(),
            None => self.kind.default_downloads(),
        }
    }
}

/// An index table in an HTML page (`kind: html-table`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlTable {
    /// The table's `id`, when it has one to rely on.
    #[serde(default)]
    pub id: Option<String>,
    /// Header names the table must have (pages change their markup: never its position).
    pub headers: Vec<String>,
    pub columns: HtmlColumns,
    /// The venue of every listing (`XLON` for the FTSE 100); none for US tables.
    #[serde(default)]
    pub exchange: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    /// The records' `indexes` tag (`sp500`).
    #[serde(default)]
    pub index: Option<String>,
    /// A suffix the page writes after each symbol and the symbol does not have (`.L`).
    #[serde(default)]
    pub strip_suffix: Option<String>,
    /// How the page spells US symbols: `canonical` (`BRK.B`, Wikipedia's), `hyphens`
    /// (`BRK-B`, Yahoo's), `screener` (`BRK/B`)… [default: canonical]
    #[serde(default)]
    pub spelling: Option<crate::listing::Spelling>,
}

/// Which header holds each field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlColumns {
    pub symbol: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub sector: Option<String>,
    #[serde(default)]
    pub industry: Option<String>,
    #[serde(default)]
    pub isin: Option<String>,
}

/// A ticker of a hand-kept list (`kind: list`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListedTicker {
    /// The canonical symbol (`BRK.B`), or the listing's name (`SAP.DE`).
    pub symbol: String,
    #[serde(default)]
    pub name: Option<String>,
    /// ISO 10383 MIC; outside the US the name gets the venue's suffix (`SAP` on XETR is `SAP.DE`).
    #[serde(default)]
    pub exchange: Option<String>,
    #[serde(default)]
    pub asset_type: Option<crate::records::AssetType>,
    #[serde(default)]
    pub currency: Option<String>,
    /// Groups, written as the records' `indexes` tags (`tickers-filter` and `qa-check` select by
    /// them).
    #[serde(default)]
    pub groups: Vec<String>,
}

fn yes() -> bool {
    true
}

/// The kinds of listing source `tickers-scrape` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// Nasdaq Trader's symbol directory: `nasdaqlisted.txt` and `otherlisted.txt`.
    Nasdaqtrader,
    /// Nasdaq Trader's `nasdaqtraded.txt`: every US venue in one file.
    NasdaqtraderTraded,
    /// The SEC's `company_tickers_exchange.json`.
    Sec,
    /// Euronext's equities list download.
    Euronext,
    /// Deutsche Börse's all tradable instruments list for Xetra.
    Xetra,
    /// The Nasdaq stock screener (API JSON or CSV export): market caps, sectors, industries.
    NasdaqScreener,
    /// A hand-kept list in this file (`tickers:`).
    List,
    /// A table of an HTML page (`table:`): index constituents.
    HtmlTable,
}

impl SourceKind {
    /// The files a source of this kind downloads unless its entry names others.
    pub fn default_downloads(self) -> Vec<Download> {
        const SYMDIR: &str = "https://www.nasdaqtrader.com/dynamic/SymDir";
        match self {
            SourceKind::Nasdaqtrader => vec![
                Download::get(&format!("{SYMDIR}/nasdaqlisted.txt"), "nasdaqlisted.txt"),
                Download::get(&format!("{SYMDIR}/otherlisted.txt"), "otherlisted.txt"),
            ],
            SourceKind::NasdaqtraderTraded => vec![Download::get(
                &format!("{SYMDIR}/nasdaqtraded.txt"),
                "nasdaqtraded.txt",
            )],
            SourceKind::Sec => vec![Download::get(
                "https://www.sec.gov/files/company_tickers_exchange.json",
                "company_tickers_exchange.json",
            )],
            SourceKind::Euronext => vec![Download {
                url: "https://live.euronext.com/en/pd_es/data/stocks/download?mics=dm_all_stock"
                    .into(),
                form: Some(
                    "args[initialLetter]=&args[fe_type]=csv&args[fe_layout]=ver\
                     &args[fe_decimal_separator]=.&args[fe_date_format]=d/m/Y"
                        .into(),
                ),
                link: None,
                name: Some("euronext_equities.csv".into()),
            }],
            SourceKind::Xetra => vec![Download {
                url: "https://www.cashmarket.deutsche-boerse.com/cash-en/trading/\
                      Tradable-Instruments-Xetra/Downloads"
                    .into(),
                form: None,
                link: Some("t7-xetr-allTradableInstruments.csv".into()),
                name: Some("t7-xetr-allTradableInstruments.csv".into()),
            }],
            SourceKind::NasdaqScreener => vec![Download::get(
                "https://api.nasdaq.com/api/screener/stocks?tableonly=true&limit=25&offset=0\
                 &download=true",
                "screener.json",
            )],
            SourceKind::List | SourceKind::HtmlTable => Vec::new(),
        }
    }

    /// The kind as `config.yaml` spells it.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Nasdaqtrader => "nasdaqtrader",
            SourceKind::NasdaqtraderTraded => "nasdaqtrader-traded",
            SourceKind::Sec => "sec",
            SourceKind::Euronext => "euronext",
            SourceKind::Xetra => "xetra",
            SourceKind::NasdaqScreener => "nasdaq-screener",
            SourceKind::List => "list",
            SourceKind::HtmlTable => "html-table",
        }
    }
}

/// `tickers-filter`: which listings make the universe.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Filter {
    /// A listing whose name or source spelling holds one of these characters is left out
    /// (`ABR$D`: the notes' preferred spelling).
    pub junk_chars: String,
    /// Which source's record of a listing wins when several list it; sources not named come
    /// after, by name.
    pub source_precedence: Vec<String>,
    /// Of one issuer's share classes (`KELYA`/`KELYB`, `BRK.A`/`BRK.B`), the class kept: the first
    /// of these letters that is listed.
    pub class_preference: Vec<String>,
    /// Asset types kept (`--keep-etfs` adds `etf`); a listing without one is kept.
    pub asset_types: Vec<crate::records::AssetType>,
    /// Venues kept (MICs); empty: all.
    pub exchanges: Vec<String>,
    /// Countries kept (ISO 3166 alpha-2); empty: all.
    pub countries: Vec<String>,
    /// More than this share (%) of a source's active listings vanishing in one run is refused
    /// as a delisting (a half-delivered listing), unless `--accept-mass-delisting`.
    pub max_delist_pct: f64,
    /// A listing delisted this many months ago is archived.
    pub archive_after_months: u32,
    /// Sources whose absence is a delisting: exchange listings, not index tables (leaving the
    /// S&P 500 is no delisting) or screens (a query's result, not a listing).
    pub listing_sources: Vec<String>,
    /// With `--state` (ohlcv-fetch's): a listing gone from its source is delisted only once its
    /// fetch has also failed this many nights in a row (the notes' rule).
    pub delist_after_failed_nights: u32,
    /// `--target` without a number: the sample's size (the notes' `target_stocks`).
    pub target_stocks: u32,
    /// Percent of a `--target` sample drawn from delisted and archived listings (the notes'
    /// `failed_stock_pct`, 0.10).
    pub failed_pct: f64,
    /// `--sample` without a number: the notes' test-mode size.
    pub sample_size: u32,
    /// Market-cap bucket upper bounds per market (`us`, `se`…), MIC (`xsto`) or `default`.
    pub market_cap_thresholds: BTreeMap<String, Vec<f64>>,
    /// Listings without a market cap in a `--target` sample: their own bucket, or left out.
    pub no_market_cap: NoMarketCap,
}

/// What a stratified sample does with listings without a market cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoMarketCap {
    /// Their own bucket (`unknown`), with its proportional quota.
    Bucket,
    /// Left out of the sample, counted.
    Exclude,
}

/// `pipeline.sh`: where the data lives, the gates between steps, retention, backups, alerts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Pipeline {
    /// Lake, universes, runs, state and logs all live under this directory (`--data`).
    pub data_dir: PathBuf,
    /// The universe step's sources (tickers-scrape names); empty: every enabled source.
    pub sources: Vec<String>,
    /// The nightly step refuses, before any request, a universe older than this many days.
    pub universe_max_age_days: u32,
    /// The nightly step fetches a seeded sample of this many active listings (the notes' test
    /// mode); 0: the whole universe.
    pub sample: u32,
    /// Days a run's log is kept under `logs/`.
    pub log_retention_days: u32,
    /// Days raw downloads are kept under `raw/`.
    pub raw_retention_days: u32,
    /// Keep every fetched answer under `raw/bars/<date>/` (ohlcv-fetch --raw-dir).
    pub keep_raw_bars: bool,
    pub training: PipelineTraining,
    pub backup: Backup,
    pub alerts: Alerts,
}

impl Default for Pipeline {
    fn default() -> Pipeline {
        Pipeline {
            data_dir: PathBuf::from("data"),
            sources: Vec::new(),
            universe_max_age_days: 35,
            sample: 0,
            log_retention_days: 14,
            raw_retention_days: 7,
            keep_raw_bars: false,
            training: PipelineTraining::default(),
            backup: Backup::default(),
            alerts: Alerts::default(),
        }
    }
}

/// The training step: a stratified sample (`filter.target_stocks`, `filter.failed_pct`) fetched
/// over a fixed range into one versioned Parquet file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineTraining {
    /// First and last day of the training set's bars (both inclusive).
    pub date_range: Vec<chrono::NaiveDate>,
    /// The sample's seed: the same seed over the same universe, the same tickers.
    pub seed: u64,
}

impl Default for PipelineTraining {
    fn default() -> PipelineTraining {
        let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default();
        PipelineTraining {
            date_range: vec![day(2015, 1, 1), day(2024, 12, 31)],
            seed: 0,
        }
    }
}

/// `pipeline.sh backup`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Backup {
    /// Archives go to `<dir>/<date>/`.
    pub dir: PathBuf,
    /// Days an archive is kept.
    pub retention_days: u32,
    /// Also copied to this S3 prefix (`s3://bucket/prefix`; empty: not), with the same days
    /// kept; endpoint and keys as the lake's (`lake.s3`, `AWS_*`).
    pub s3: String,
}

impl Default for Backup {
    fn default() -> Backup {
        Backup {
            dir: PathBuf::from("backups"),
            retention_days: 7,
            s3: String::new(),
        }
    }
}

/// Alerts a run sends (channels from the environment: `ALERT_WEBHOOK`, `TELEGRAM_TOKEN` +
/// `TELEGRAM_CHAT_ID`, `ALERT_COMMAND`) and its dead man's switch (`HC_URL`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Alerts {
    /// Messages per run and channel; the last one says how many more were held back.
    pub max_per_run: u32,
    /// One send (a request, or ALERT_COMMAND) may take this long.
    pub timeout: Span,
    /// The longest Retry-After honoured before a send is given up.
    pub max_retry_after: Span,
    /// Telegram's Bot API (a mirror or a test server elsewhere).
    pub telegram_api: String,
    /// A problem still there is told again every this many runs (1: every run).
    pub repeat_every: u32,
    /// Alert when more than this share (%) of the universe lags (qa-check's `lag`).
    pub lag_pct: f64,
    /// Alert on any finding of a check whose severity is critical (price jumps, fetch errors…).
    pub critical_checks: bool,
    /// Alert when a proxy failed and its symbols went direct (the notes' VPN fallback).
    pub proxy_fallback: bool,
    /// Alert when the fetch's p95 latency is above this…
    pub latency_p95: Span,
    /// …on this many fetching runs in a row (0: never).
    pub latency_runs: u32,
}

impl Default for Alerts {
    fn default() -> Alerts {
        Alerts {
            max_per_run: 3,
            timeout: Span(Duration::from_secs(10)),
            max_retry_after: Span(Duration::from_secs(60)),
            telegram_api: "https://api.telegram.org".into(),
            repeat_every: 3,
            lag_pct: 5.0,
            critical_checks: true,
            proxy_fallback: true,
            latency_p95: Span(Duration::from_secs(10)),
            latency_runs: 3,
        }
    }
}

/// `lake-status`: how much history the page shows and the KPI cards' thresholds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Status {
    /// Runs in the run history (heat map, latency and error lines); the index keeps them all.
    pub history_runs: u32,
    /// Months of new and delisted listings in the universe panel.
    pub universe_months: u32,
    /// Rows in each table of the page and the JSON files (the run's files hold them all).
    pub table_rows: u32,
    /// Bars in each `price/<SYM>.json`.
    pub price_bars: u32,
    /// Symbols that get a `price/<SYM>.json` (those named first in the findings).
    pub price_symbols: u32,
    /// The page warns when the newest run finished longer ago than this.
    pub stale_after: Span,
    pub kpis: Kpis,
}

impl Default for Status {
    fn default() -> Status {
        Status {
            history_runs: 90,
            universe_months: 12,
            table_rows: 100,
            price_bars: 60,
            price_symbols: 50,
            stale_after: Span(Duration::from_secs(26 * 3600)),
            kpis: Kpis::default(),
        }
    }
}

/// A KPI's colour: green up to `green`, yellow up to `yellow`, red above.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    pub green: f64,
    pub yellow: f64,
}

/// The thresholds of the summary cards (the notes' §5.6). Total active and new listings have
/// none: they are information, not health.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Kpis {
    /// Total active turns red when it fell by more than this % from the previous universe.
    pub active_drop_pct: f64,
    /// Delisted in 30 days, listings.
    pub delisted_30d: Threshold,
    /// Share (%) of the universe more than `qa.lag_trading_days` behind.
    pub lag_pct: Threshold,
    /// Tickers with missing dates.
    pub missing_dates: Threshold,
    /// Symbols the last fetch failed.
    pub fetch_errors: Threshold,
    /// Unexplained price jumps in 7 days.
    pub price_jumps: Threshold,
}

impl Default for Kpis {
    fn default() -> Kpis {
        let t = |green, yellow| Threshold { green, yellow };
        Kpis {
            active_drop_pct: 5.0,
            delisted_30d: t(100.0, 500.0),
            lag_pct: t(1.0, 5.0),
            missing_dates: t(200.0, 500.0),
            fetch_errors: t(50.0, 100.0),
            price_jumps: t(0.0, 0.0),
        }
    }
}

impl Default for Filter {
    fn default() -> Filter {
        Filter {
            junk_chars: "$".into(),
            source_precedence: [
                "nasdaqtrader",
                "nasdaqtraded",
                "sec",
                "euronext",
                "xetra",
                "nasdaq-screener",
                "sp500",
                "nasdaq100",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            class_preference: vec!["B".into(), "A".into()],
            asset_types: vec![crate::records::AssetType::Stock],
            exchanges: Vec::new(),
            countries: Vec::new(),
            max_delist_pct: 5.0,
            archive_after_months: 24,
            listing_sources: ["nasdaqtrader", "nasdaqtraded", "sec", "euronext", "xetra"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            delist_after_failed_nights: 7,
            target_stocks: 1500,
            failed_pct: 10.0,
            sample_size: 200,
            market_cap_thresholds: [
                ("us", vec![2e9, 10e9, 200e9, 1e15]),
                ("se", vec![500e6, 2e9, 10e9, 1e15]),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
            no_market_cap: NoMarketCap::Bucket,
        }
    }
}

impl Default for Scrape {
    fn default() -> Scrape {
        let source = |kind, enabled| ScrapeSource {
            kind,
            enabled,
            tickers: Vec::new(),
            table: None,
            downloads: None,
            user_agent: None,
            headers: BTreeMap::new(),
        };
        let index_table =
            |url: &str, name: &str, headers: &[&str], columns: HtmlColumns, index: &str| {
                ScrapeSource {
                    kind: SourceKind::HtmlTable,
                    enabled: true,
                    downloads: Some(vec![Download::get(url, name)]),
                    user_agent: None,
                    headers: BTreeMap::new(),
                    tickers: Vec::new(),
                    table: Some(HtmlTable {
                        id: None,
                        headers: headers.iter().map(|h| h.to_string()).collect(),
                        columns,
                        exchange: None,
                        currency: Some("USD".into()),
                        country: Some("US".into()),
                        index: Some(index.into()),
                        strip_suffix: None,
                        spelling: None,
                    }),
                }
            };
        let listed = |symbol: &str, name: &str, exchange: &str, groups: &[&str]| ListedTicker {
            symbol: symbol.into(),
            name: Some(name.into()),
            exchange: Some(exchange.into()),
            asset_type: Some(crate::records::AssetType::Stock),
            currency: None,
            groups: groups.iter().map(|g| g.to_string()).collect(),
        };
        Scrape {
            min_rows_ratio: 0.8,
            pause: [Span(Duration::from_secs(1)), Span(Duration::from_secs(3))],
            backoff: [10, 60, 300]
                .iter()
                .map(|s| Span(Duration::from_secs(*s)))
                .collect(),
            max_retry_after: Span(Duration::from_secs(600)),
            sources: [
                ("nasdaqtrader", source(SourceKind::Nasdaqtrader, true)),
                (
                    "nasdaqtraded",
                    source(SourceKind::NasdaqtraderTraded, false),
                ),
                ("sec", source(SourceKind::Sec, true)),
                ("euronext", source(SourceKind::Euronext, true)),
                ("xetra", source(SourceKind::Xetra, true)),
                ("nasdaq-screener", {
                    // api.nasdaq.com answers browsers only.
                    let mut s = source(SourceKind::NasdaqScreener, true);
                    s.user_agent = Some(BROWSER_AGENT.into());
                    s.headers = [("Accept", "application/json, text/plain, */*")]
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    s
                }),
                (
                    "sp500",
                    index_table(
                        "https://en.wikipedia.org/wiki/List_of_S%26P_500_companies",
                        "List_of_S&P_500_companies.html",
                        &["Symbol", "Security", "GICS Sector"],
                        HtmlColumns {
                            symbol: "Symbol".into(),
                            name: Some("Security".into()),
                            sector: Some("GICS Sector".into()),
                            industry: Some("GICS Sub-Industry".into()),
                            isin: None,
                        },
                        "sp500",
                    ),
                ),
                (
                    "nasdaq100",
                    index_table(
                        "https://en.wikipedia.org/wiki/Nasdaq-100",
                        "Nasdaq-100.html",
                        &["Symbol", "Company"],
                        HtmlColumns {
                            symbol: "Symbol".into(),
                            name: Some("Company".into()),
                            sector: None,
                            industry: None,
                            isin: None,
                        },
                        "ndx",
                    ),
                ),
                (
                    "watchlist",
                    ScrapeSource {
                        kind: SourceKind::List,
                        table: None,
                        downloads: None,
                        user_agent: None,
                        headers: BTreeMap::new(),
                        enabled: false,
                        tickers: vec![
                            listed("AAPL", "Apple Inc.", "XNAS", &["tech", "core"]),
                            listed(
                                "BRK.B",
                                "Berkshire Hathaway Inc. Class B",
                                "XNYS",
                                &["core"],
                            ),
                            listed("SAP", "SAP SE", "XETR", &["tech", "europe"]),
                            listed("AIR", "Airbus SE", "XPAR", &["europe"]),
                        ],
                    },
                ),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        }
    }
}

impl Config {
    /// Loads `explicit`, else `$TICKERLAKE_CONFIG`, else `./config.yaml` if it exists, else the
    /// built-in defaults. An explicitly named file that is missing is an error.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        Config::load_with(explicit, &|k| std::env::var(k).ok())
    }

    /// [`Config::load`] with an injectable environment (tests).
    pub fn load_with(
        explicit: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let from_env = env(ENV_PATH).filter(|s| !s.is_empty()).map(PathBuf::from);
        let path = match explicit.map(Path::to_path_buf).or(from_env) {
            Some(p) => p,
            None if Path::new(DEFAULT_PATH).is_file() => PathBuf::from(DEFAULT_PATH),
            None => return Ok(Config::default()),
        };
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path)
            .map_err(|e| ConfigError::new(&name, "", format!("cannot read: {e}")))?;
        Config::from_yaml(&text, &name, env)
    }

    /// Parses, substitutes and validates a YAML document. `name` is used in errors.
    pub fn from_yaml(
        text: &str,
        name: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        // No source snippets in errors: the lines around a syntax error may hold a secret.
        let options = serde_saphyr::options! { strict_booleans: true, with_snippet: false };
        let mut tree: Value = if text.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_saphyr::from_str_with_options(text, options)
                .map_err(|e| ConfigError::new(name, "", format!("invalid YAML: {e}")))?
        };
        if tree.is_null() {
            tree = Value::Object(Default::default());
        }
        // Values that came from the environment may be secrets: no message echoes them.
        let mut used: Vec<(String, String)> = Vec::new();
        substitute_tree(&mut tree, "", env, &mut used)
            .map_err(|(key, msg)| ConfigError::new(name, &key, msg))?;
        let redacted = |key: &str, msg: String| ConfigError::new(name, key, redact(&msg, &used));
        let mut track = serde_path_to_error::Track::new();
        let config = Config::deserialize(serde_path_to_error::Deserializer::new(
            crate::lenient::Lenient(tree),
            &mut track,
        ))
        .map_err(|e| {
            let path = track.path().to_string();
            let msg = e.to_string();
            // Name the unknown key itself, not just its section.
            match msg
                .strip_prefix("unknown field `")
                .and_then(|r| r.split_once('`'))
            {
                Some((key, rest)) => {
                    let full = if path == "." {
                        key.to_string()
                    } else if path == key || path.ends_with(&format!(".{key}")) {
                        path
                    } else {
                        format!("{path}.{key}")
                    };
                    redacted(&full, format!("unknown setting{rest}"))
                }
                None => redacted(&path, msg),
            }
        })?;
        config.validate().map_err(|(key, msg)| redacted(key, msg))?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), (&'static str, String)> {
        fn range<T: PartialOrd + fmt::Display + Copy>(
            key: &'static str,
            v: T,
            lo: T,
            hi: T,
        ) -> Result<(), (&'static str, String)> {
            if v < lo || v > hi {
                Err((key, format!("{v} is out of range ({lo} to {hi})")))
            } else {
                Ok(())
            }
        }
        range("fetch.workers", self.fetch.workers, 1, 64)?;
        range("fetch.rate", self.fetch.rate, 0.01, 1000.0)?;
        range("fetch.lookback_days", self.fetch.lookback_days, 0, 366)?;
        range(
            "fetch.breaker_failures",
            self.fetch.breaker_failures,
            1,
            100_000,
        )?;
        range(
            "fetch.dead_letter_after",
            self.fetch.dead_letter_after,
            1,
            365,
        )?;
        if self.fetch.backoff.len() > 20 {
            return Err(("fetch.backoff", "at most 20 retries".into()));
        }
        ProviderName::parse_list(&self.fetch.provider).map_err(|e| ("fetch.provider", e))?;
        let polygon = &self.providers.polygon;
        range("providers.polygon.s3_workers", polygon.s3_workers, 1, 64)?;
        range(
            "providers.polygon.actions_back_days",
            polygon.actions_back_days,
            0,
            3660,
        )?;
        range(
            "providers.polygon.actions_ahead_days",
            polygon.actions_ahead_days,
            0,
            3660,
        )?;
        for (key, url) in [
            ("fetch.yahoo.base_url", &self.fetch.yahoo.base_url),
            (
                "providers.polygon.base_url",
                &self.providers.polygon.base_url,
            ),
            (
                "providers.polygon.s3_endpoint",
                &self.providers.polygon.s3_endpoint,
            ),
            ("providers.stooq.base_url", &self.providers.stooq.base_url),
        ] {
            check_base_url(url).map_err(|e| (key, e))?;
        }
        for p in &self.http.proxies {
            let ok = [
                "http://",
                "https://",
                "socks4://",
                "socks4a://",
                "socks5://",
                "socks5h://",
            ]
            .iter()
            .any(|s| p.expose().starts_with(s));
            if !ok {
                return Err((
                    "http.proxies",
                    format!(
                        "expected a proxy URL (http://, socks5://…), found {:?}",
                        p.redacted()
                    ),
                ));
            }
        }
        if self.fetch.yahoo.suffixes.is_some() {
            return Err((
                "fetch.yahoo.suffixes",
                "venue suffixes are part of the listing names now (a listing on Euronext Paris is \
                 named AIR.PA; docs/records.md): remove this key"
                    .into(),
            ));
        }
        range(
            "filter.max_delist_pct",
            self.filter.max_delist_pct,
            0.0,
            100.0,
        )?;
        range("filter.failed_pct", self.filter.failed_pct, 0.0, 100.0)?;
        for (market, bounds) in &self.filter.market_cap_thresholds {
            let ascending = bounds.windows(2).all(|w| w[0] < w[1]);
            if bounds.is_empty()
                || !ascending
                || bounds.iter().any(|b| !(b.is_finite() && *b > 0.0))
            {
                return Err((
                    "filter.market_cap_thresholds",
                    format!(
                        "{market}: expected rising positive upper bounds like [2e9, 10e9, 200e9, 1e15]"
                    ),
                ));
            }
            if market.chars().any(|c| c.is_ascii_uppercase()) {
                return Err((
                    "filter.market_cap_thresholds",
                    format!("{market}: markets and MICs are written in lower case (us, xsto)"),
                ));
            }
        }
        range(
            "filter.archive_after_months",
            self.filter.archive_after_months,
            1,
            1200,
        )?;
        for class in &self.filter.class_preference {
            if !(class.len() == 1 && class.bytes().all(|b| b.is_ascii_uppercase())) {
                return Err((
                    "filter.class_preference",
                    format!("expected share-class letters (B, A), found {class:?}"),
                ));
            }
        }
        for m in &self.filter.exchanges {
            if crate::listing::venue(m).is_none() && !crate::listing::is_us_venue(m) {
                return Err((
                    "filter.exchanges",
                    format!("{m:?} is no venue tickerlake names listings on"),
                ));
            }
        }
        for c in &self.filter.countries {
            if !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())) {
                return Err((
                    "filter.countries",
                    format!("expected ISO 3166 alpha-2 codes like US, found {c:?}"),
                ));
            }
        }
        range(
            "pipeline.universe_max_age_days",
            self.pipeline.universe_max_age_days,
            1,
            3650,
        )?;
        range(
            "pipeline.alerts.max_per_run",
            self.pipeline.alerts.max_per_run,
            1,
            100,
        )?;
        range(
            "pipeline.log_retention_days",
            self.pipeline.log_retention_days,
            1,
            3650,
        )?;
        range(
            "pipeline.raw_retention_days",
            self.pipeline.raw_retention_days,
            1,
            3650,
        )?;
        range(
            "pipeline.backup.retention_days",
            self.pipeline.backup.retention_days,
            1,
            3650,
        )?;
        match self.pipeline.training.date_range.as_slice() {
            [a, b] if a <= b => {}
            _ => {
                return Err((
                    "pipeline.training.date_range",
                    "expected [first, last] dates like [2015-01-01, 2024-12-31]".into(),
                ));
            }
        }
        check_base_url(&self.pipeline.alerts.telegram_api)
            .map_err(|e| ("pipeline.alerts.telegram_api", e))?;
        range(
            "pipeline.alerts.lag_pct",
            self.pipeline.alerts.lag_pct,
            0.0,
            100.0,
        )?;
        range(
            "pipeline.alerts.repeat_every",
            self.pipeline.alerts.repeat_every,
            0,
            365,
        )?;
        range(
            "pipeline.alerts.latency_runs",
            self.pipeline.alerts.latency_runs,
            0,
            365,
        )?;
        let st = &self.status;
        range("status.history_runs", st.history_runs, 1, 10_000)?;
        range("status.universe_months", st.universe_months, 1, 120)?;
        range("status.table_rows", st.table_rows, 1, 100_000)?;
        range("status.price_bars", st.price_bars, 1, 10_000)?;
        range("status.price_symbols", st.price_symbols, 0, 10_000)?;
        range(
            "status.kpis.active_drop_pct",
            st.kpis.active_drop_pct,
            0.0,
            100.0,
        )?;
        for (key, t) in [
            ("status.kpis.delisted_30d", st.kpis.delisted_30d),
            ("status.kpis.lag_pct", st.kpis.lag_pct),
            ("status.kpis.missing_dates", st.kpis.missing_dates),
            ("status.kpis.fetch_errors", st.kpis.fetch_errors),
            ("status.kpis.price_jumps", st.kpis.price_jumps),
        ] {
            if !(t.green >= 0.0 && t.green <= t.yellow && t.yellow.is_finite()) {
                return Err((
                    key,
                    format!(
                        "green {} and yellow {}: expected 0 <= green <= yellow",
                        t.green, t.yellow
                    ),
                ));
            }
        }
        if self.pipeline.data_dir.as_os_str().is_empty() {
            return Err(("pipeline.data_dir", "an empty path".into()));
        }
        if self
            .filter
            .junk_chars
            .chars()
            .any(|c| c.is_alphanumeric() || c == '.' || c == '-')
        {
            return Err((
                "filter.junk_chars",
                "letters, digits, . and - are part of every listing name: not junk".into(),
            ));
        }
        if !(self.scrape.min_rows_ratio >= 0.0 && self.scrape.min_rows_ratio <= 1.0) {
            return Err((
                "scrape.min_rows_ratio",
                format!(
                    "expected a share from 0 to 1, found {}",
                    self.scrape.min_rows_ratio
                ),
            ));
        }
        for (name, source) in &self.scrape.sources {
            if let Some(t) = &source.table {
                let mic_ok =
                    |m: &str| crate::listing::venue(m).is_some() || crate::listing::is_us_venue(m);
                if let Some(m) = &t.exchange
                    && !mic_ok(m)
                {
                    return Err((
                        "scrape.sources",
                        format!(
                            "{name}: table.exchange {m:?} is no venue tickerlake names listings on"
                        ),
                    ));
                }
                if let Some(c) = &t.currency
                    && let Err(e) = crate::records::check_currency(c)
                {
                    return Err(("scrape.sources", format!("{name}: table.currency: {e}")));
                }
                if let Some(c) = &t.country
                    && !(c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
                {
                    return Err((
                        "scrape.sources",
                        format!("{name}: table.country: expected an ISO 3166 alpha-2 code like US"),
                    ));
                }
                if t.strip_suffix.is_some() && t.exchange.is_none() {
                    return Err((
                        "scrape.sources",
                        format!(
                            "{name}: table.strip_suffix goes with table.exchange, the venue the suffix names"
                        ),
                    ));
                }
            }
            if (source.kind == SourceKind::HtmlTable) != source.table.is_some() {
                return Err((
                    "scrape.sources",
                    format!(
                        "{name}: table: belongs to, and is needed by, sources of kind html-table"
                    ),
                ));
            }
            match (source.kind, source.tickers.is_empty()) {
                (SourceKind::List, true) => {
                    return Err((
                        "scrape.sources",
                        format!("{name}: a list names its tickers under tickers:"),
                    ));
                }
                (SourceKind::List, false) | (_, true) => {}
                (_, false) => {
                    return Err((
                        "scrape.sources",
                        format!("{name}: tickers: belongs to sources of kind list"),
                    ));
                }
            }
        }
        let [pause_min, pause_max] = self.scrape.pause;
        if pause_min.0 > pause_max.0 {
            return Err((
                "scrape.pause",
                "expected [shortest, longest], the shortest first".into(),
            ));
        }
        if self.scrape.backoff.len() > 20 {
            return Err(("scrape.backoff", "at most 20 retries".into()));
        }
        for (name, source) in &self.scrape.sources {
            check_source_requests(source)
                .map_err(|e| ("scrape.sources", format!("{name}: {e}")))?;
        }
        for name in self.scrape.sources.keys() {
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
            {
                return Err((
                    "scrape.sources",
                    format!("{name:?}: a source name is lower-case letters, digits, - and _"),
                ));
            }
        }
        if self.http.user_agent.trim().is_empty() {
            return Err(("http.user_agent", "must not be empty".into()));
        }
        if self.http.timeout.0.is_zero() {
            return Err(("http.timeout", "must be > 0".into()));
        }
        if self.http.connect_timeout.0.is_zero() {
            return Err(("http.connect_timeout", "must be > 0".into()));
        }
        range("lake.zstd_level", self.lake.zstd_level, 1, 22)?;
        if !self.pipeline.backup.s3.is_empty() {
            match crate::cli::LakeLocation::parse(&self.pipeline.backup.s3) {
                Ok(crate::cli::LakeLocation::S3 { .. }) => {}
                Ok(_) => {
                    return Err((
                        "pipeline.backup.s3",
                        "expected an s3://bucket/prefix URL (pipeline.backup.dir is the local one)"
                            .into(),
                    ));
                }
                Err(e) => return Err(("pipeline.backup.s3", e)),
            }
        }
        if !self.lake.s3.endpoint.is_empty() {
            check_base_url(&self.lake.s3.endpoint).map_err(|e| ("lake.s3.endpoint", e))?;
        }
        // The flat files' bucket and prefix by the rules of an s3:// URL: a prefix with `..` or
        // empty segments would name other keys than the day files'.
        let polygon = &self.providers.polygon;
        let flat_files = format!("s3://{}/{}", polygon.s3_bucket, polygon.s3_prefix);
        if let Err(e) = crate::cli::LakeLocation::parse(&flat_files) {
            return Err(("providers.polygon.s3_bucket / s3_prefix", e));
        }
        range("lake.s3.workers", self.lake.s3.workers, 1, 64)?;
        range(
            "lake.row_group_rows",
            self.lake.row_group_rows,
            1024,
            16 << 20,
        )?;
        range("qa.lag_trading_days", self.qa.lag_trading_days, 1, 365)?;
        range("qa.lag_critical_pct", self.qa.lag_critical_pct, 0.0, 100.0)?;
        range(
            "qa.missing_dates_window",
            self.qa.missing_dates_window,
            1,
            10_000,
        )?;
        range("qa.price_jump_pct", self.qa.price_jump_pct, 1.0, 10_000.0)?;
        range("qa.iqr_k", self.qa.iqr_k, 0.1, 100.0)?;
        range("qa.volume_z", self.qa.volume_z, 0.1, 100.0)?;
        range(
            "qa.fetch_error_failures",
            self.qa.fetch_error_failures,
            1,
            365,
        )?;
        range("qa.volume_window", self.qa.volume_window, 5, 10_000)?;
        range("qa.coverage_min_pct", self.qa.coverage_min_pct, 0.0, 100.0)?;
        range("qa.freshness_days", self.qa.freshness_days, 1, 3650)?;
        range(
            "qa.infer_min_share_pct",
            self.qa.infer_min_share_pct,
            1.0,
            100.0,
        )?;
        range(
            "qa.training.min_price",
            self.qa.training.min_price,
            0.0,
            1e9,
        )?;
        range(
            "qa.training.min_volume",
            self.qa.training.min_volume,
            0,
            i64::MAX,
        )?;
        range("qlib.max_shrink_pct", self.qlib.max_shrink_pct, 0.0, 100.0)?;
        const QLIB_FIELDS: [&str; 9] = [
            "open", "high", "low", "close", "volume", "factor", "adjclose", "vwap", "change",
        ];
        for f in &self.qlib.fields {
            if !QLIB_FIELDS.contains(&f.as_str()) {
                return Err((
                    "qlib.fields",
                    format!("unknown field {f:?} (known: {})", QLIB_FIELDS.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

/// Checks a provider's base URL (`fetch.yahoo.base_url`, `--base-url`): `http://` or
/// `https://`, a host, and no query string or fragment (paths are appended to it, so a `?…`
/// would be glued into the path). One rule for the config file and the command line.
/// A source's downloads, User-Agent and headers: what can be sent.
fn check_source_requests(source: &ScrapeSource) -> Result<(), String> {
    let printable = |v: &str| !v.is_empty() && v.bytes().all(|b| (b' '..=b'~').contains(&b));
    if let Some(ua) = &source.user_agent
        && !printable(ua.trim())
    {
        return Err("user_agent: expected printable ASCII text".into());
    }
    for (k, v) in &source.headers {
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if k.is_empty() || !k.bytes().all(token) {
            return Err(format!(
                "headers: {:?} is no header name",
                crate::echo::echo(k)
            ));
        }
        if !printable(v) {
            return Err(format!("headers: {k}: expected printable ASCII text"));
        }
        // The framing and connection of a request are the client's to set.
        const CLIENTS: [&str; 10] = [
            "content-length",
            "transfer-encoding",
            "host",
            "connection",
            "keep-alive",
            "upgrade",
            "te",
            "trailer",
            "expect",
            "proxy-connection",
        ];
        if CLIENTS.contains(&k.to_ascii_lowercase().as_str()) {
            return Err(format!("headers: {k} is set by the client, not by config"));
        }
    }
    let downloads = source.downloads.as_deref().unwrap_or(&[]);
    if source.kind == SourceKind::List && !downloads.is_empty() {
        return Err("a list downloads nothing: no downloads:".into());
    }
    if source.downloads.is_some() && downloads.is_empty() && source.kind != SourceKind::List {
        return Err("downloads: an empty list: remove the key for the kind's own files".into());
    }
    let mut names = std::collections::BTreeSet::new();
    for d in downloads {
        check_url(&d.url).map_err(|e| format!("downloads: {e}"))?;
        if let Some(form) = &d.form
            && !printable(form)
        {
            return Err("downloads: form: expected URL-encoded printable ASCII".into());
        }
        if d.form.is_some() && d.link.is_some() {
            return Err(
                "downloads: a page whose link is followed is read with a GET: form \
                        and link do not go together"
                    .into(),
            );
        }
        if let Some(link) = &d.link
            && (link.is_empty() || link.contains(['/', '?', '#']))
        {
            return Err(
                "downloads: link: expected a file name (t7-xetr-allTradableInstruments.csv)".into(),
            );
        }
        let name = d.file_name();
        if name.is_empty()
            || name.contains(['/', '\\'])
            || name.chars().any(char::is_control)
            || name.starts_with('.')
            || name.len() > 200
        {
            return Err(format!(
                "downloads: name {:?}: expected a plain file name",
                crate::echo::echo(&name)
            ));
        }
        if !names.insert(name.to_lowercase()) {
            return Err(format!(
                "downloads: two files named {name:?} (give each a name: of its own)"
            ));
        }
    }
    Ok(())
}

/// An absolute http(s) URL without whitespace, with a port that is one. Messages show it
/// without its user, password and query (where keys go).
pub fn check_url(url: &str) -> Result<(), String> {
    let found = || crate::echo::echo(&redacted_url(url));
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &url[7..]
    } else if lower.starts_with("https://") {
        &url[8..]
    } else {
        return Err(format!(
            "expected an http:// or https:// URL, found {}",
            found()
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    if host_port.is_empty() || host_port.starts_with(':') {
        return Err(format!(
            "expected a host after the scheme, found {}",
            found()
        ));
    }
    let port = match host_port.strip_prefix('[') {
        Some(v6) => v6.split_once("]:").map(|(_, p)| p),
        None => host_port.rsplit_once(':').map(|(_, p)| p),
    };
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(format!(
            "expected a port from 0 to 65535, found {}",
            found()
        ));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("expected a URL without spaces, found {}", found()));
    }
    Ok(())
}

/// `url` without its user and password and its query: what messages may show.
pub fn redacted_url(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, url),
    };
    let (before_query, query) = match rest.split_once('?') {
        Some((b, _)) => (b, true),
        None => (rest, false),
    };
    let authority_end = before_query.find('/').unwrap_or(before_query.len());
    let (authority, path) = before_query.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => authority.to_string(),
    };
    let mut out = match scheme {
        Some(s) => format!("{s}://{authority}{path}"),
        None => format!("{authority}{path}"),
    };
    if query {
        out.push_str("?…");
    }
    out
}

/// A base URL: a URL as [`check_url`] wants it, without a query string or fragment (paths and
/// queries are added to it).
pub fn check_base_url(url: &str) -> Result<(), String> {
    check_url(url)?;
    if url.contains(['?', '#']) {
        return Err(format!(
            "expected a base URL without a query string or fragment (paths and queries are \
             added to it), found {}",
            crate::echo::echo(&redacted_url(url))
        ));
    }
    Ok(())
}

/// Substitutes `${VAR}` and `${VAR:-default}` in every string of the tree (keys are not
/// substituted) and drops keys whose value is null, so an emptied section (`qlib:` with every
/// line commented out) means "all defaults". Errors carry the dotted key path.
fn substitute_tree(
    v: &mut Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    used: &mut Vec<(String, String)>,
) -> Result<(), (String, String)> {
    match v {
        Value::String(s) => {
            *s = substitute_noting(s, env, used).map_err(|m| (path.to_string(), m))?;
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                substitute_tree(item, &format!("{path}[{i}]"), env, used)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            map.retain(|_, item| !item.is_null());
            for (k, item) in map.iter_mut() {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                substitute_tree(item, &p, env, used)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Expands the templates in one string.
pub fn substitute(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    substitute_noting(text, env, &mut Vec::new())
}

/// `message` with every value taken from the environment (`used`: variable, value) replaced by
/// `${VARIABLE}`: a setting's error says which variable held the bad value, never the value,
/// which may be a secret. A value is replaced wherever it stands (`x${S}y` is echoed as
/// `x${S}y`), plainly or as `{:?}` quotes it; one of fewer than four characters only where it
/// stands as a whole word (a `6` from `${WORKERS}` is not cut out of `64`).
pub fn redact(message: &str, used: &[(String, String)]) -> String {
    let mut out = message.to_string();
    let mut by_length: Vec<&(String, String)> =
        used.iter().filter(|(_, v)| !v.is_empty()).collect();
    by_length.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
    for (name, value) in by_length {
        // The value as it was given, as `{:?}` quotes it, and as the number a setting read it
        // as (`0009` is reported as 9).
        let mut forms = vec![value.clone(), value.escape_debug().to_string()];
        let trimmed = value.trim();
        forms.push(trimmed.to_string());
        if let Ok(i) = trimmed.parse::<i128>() {
            forms.push(i.to_string());
        }
        if let Ok(f) = trimmed.parse::<f64>() {
            forms.push(f.to_string());
        }
        for form in forms.iter().filter(|f| !f.is_empty()) {
            let with = format!("${{{name}}}");
            out = if form.chars().count() >= 4 {
                out.replace(form.as_str(), &with)
            } else {
                replace_words(&out, form, &with)
            };
        }
    }
    out
}

/// Replaces `word` in `text` where it is not part of a longer run of letters and digits.
fn replace_words(text: &str, word: &str, with: &str) -> String {
    let is_word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(i) = rest.find(word) {
        let prev = rest[..i].chars().next_back().or(before);
        let next = rest[i + word.len()..].chars().next();
        let starts_word = word.chars().next().is_some_and(char::is_alphanumeric);
        let ends_word = word.chars().next_back().is_some_and(char::is_alphanumeric);
        let inside_word = (starts_word && is_word(prev)) || (ends_word && is_word(next));
        let bounded = !inside_word;
        out.push_str(&rest[..i]);
        if bounded {
            out.push_str(with);
        } else {
            out.push_str(word);
        }
        before = word.chars().next_back();
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

/// [`substitute`], noting each variable used and its value.
fn substitute_noting(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    used: &mut Vec<(String, String)>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = tail;
            continue;
        }
        let Some(body_start) = after.strip_prefix("${") else {
            out.push('$');
            rest = &after[1..];
            continue;
        };
        let Some(end) = body_start.find('}') else {
            return Err(format!("unclosed ${{{}", name_prefix(body_start)));
        };
        let body = &body_start[..end];
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        let valid = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit();
        if !valid {
            // Show only what can be a name: the rest may be a pasted secret.
            return Err(format!(
                "${{{}…}} is not a valid environment variable name (letters, digits and _)",
                name_prefix(name)
            ));
        }
        match (env(name).filter(|v| !v.is_empty()), default) {
            (Some(v), _) => {
                out.push_str(&v);
                used.push((name.to_string(), v));
            }
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(format!(
                    "environment variable {name} is not set or is empty (and ${{{name}}} has no :-default)"
                ));
            }
        }
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The leading run of name characters: error messages must not echo what follows, which may
/// be a secret.
fn name_prefix(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end.min(64)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_yaml(text, "config.yaml", &env_of(env))
    }

    #[test]
    fn repository_config_yaml_loads_and_matches_defaults() {
        let text = include_str!("../../config.yaml");
        // Every documented value is the built-in one.
        let c = load(text, &[]).unwrap();
        assert_eq!(format!("{c:#?}"), format!("{:#?}", Config::default()));
        let c = load(text, &[("POLYGON_API_KEY", "k")]).unwrap();
        let d = Config::default();
        assert_eq!(c.fetch.workers, d.fetch.workers);
        assert_eq!(c.fetch.backoff, d.fetch.backoff);
        assert_eq!(c.fetch.yahoo.overrides, d.fetch.yahoo.overrides);
        assert_eq!(c.qa.price_jump_pct, d.qa.price_jump_pct);
        assert_eq!(c.qa.volume_window, d.qa.volume_window);
        assert_eq!(c.qa.infer_min_share_pct, d.qa.infer_min_share_pct);
        assert_eq!(c.qa.training.min_volume, d.qa.training.min_volume);
        assert!(c.qa.severity.is_empty());
        assert_eq!(c.qlib.fields, d.qlib.fields);
        assert_eq!(c.lake.row_group_rows, d.lake.row_group_rows);
        assert_eq!(c.http.timeout, d.http.timeout);
    }

    #[test]
    fn an_s3_lake_takes_what_config_leaves_empty_from_the_aws_names() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        // Nothing set: AWS itself, virtual-hosted, anonymous.
        let e = LakeS3::default().resolve(&env(&[]));
        assert_eq!(e.endpoint, "https://s3.us-east-1.amazonaws.com");
        assert!(!e.path_style && e.access_key_id.is_empty());
        // The environment every S3 tool reads; an endpoint means path-style.
        let e = LakeS3::default().resolve(&env(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9000"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "id"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ]));
        assert_eq!(
            (e.endpoint.as_str(), e.region.as_str()),
            ("http://127.0.0.1:9000", "eu-west-1")
        );
        assert!(e.path_style);
        assert_eq!(e.secret_access_key.expose(), "secret");
        // The S3-specific endpoint wins over the general one; config wins over both.
        let e = LakeS3::default().resolve(&env(&[
            ("AWS_ENDPOINT_URL", "http://a:1"),
            ("AWS_ENDPOINT_URL_S3", "http://b:2"),
            ("AWS_DEFAULT_REGION", "ap-south-1"),
        ]));
        assert_eq!(
            (e.endpoint.as_str(), e.region.as_str()),
            ("http://b:2", "ap-south-1")
        );
        let own = LakeS3 {
            endpoint: "https://r2.example".into(),
            path_style: Some(false),
            ..LakeS3::default()
        };
        let e = own.resolve(&env(&[("AWS_ENDPOINT_URL", "http://a:1")]));
        assert_eq!(e.endpoint, "https://r2.example");
        assert!(!e.path_style);
        // A backup prefix must be an s3:// URL.
        let err = load("pipeline:\n  backup:\n    s3: /tmp/x\n", &[]).unwrap_err();
        assert!(err.to_string().contains("pipeline.backup.s3"), "{err}");
    }

    #[test]
    fn provider_lists_and_rates_read_as_written() {
        use ProviderName::*;
        assert_eq!(
            ProviderName::parse_list("yahoo, stooq").unwrap(),
            [Yahoo, Stooq]
        );
        assert!(ProviderName::parse_list("yahoo,yahoo").is_err());
        assert!(ProviderName::parse_list("polygon-flatfiles,yahoo").is_err());
        assert!(
            ProviderName::parse_list("bloomberg")
                .unwrap_err()
                .contains("known:")
        );
        assert!((Rate::parse("5/min").unwrap().0 - 5.0 / 60.0).abs() < 1e-12);
        assert_eq!(Rate::parse("2/s").unwrap().0, 2.0);
        assert_eq!(Rate::parse("0.5").unwrap().0, 0.5);
        assert!(Rate::parse("0/s").is_err());
        assert!(Rate::parse("5/week").is_err());
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let c = load("", &[]).unwrap();
        assert_eq!(c.fetch.workers, 6);
        assert_eq!(c.fetch.backoff.len(), 4);
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = load("fetch:\n  wrokers: 3\n", &[]).unwrap_err();
        assert_eq!(e.key, "fetch.wrokers: ");
        assert!(
            e.to_string()
                .starts_with("config.yaml: fetch.wrokers: unknown setting"),
            "{e}"
        );
        let e = load("fetchh: {}\n", &[]).unwrap_err();
        assert!(e.to_string().contains("fetchh: unknown setting"), "{e}");
    }

    #[test]
    fn env_substitution_and_types() {
        let c = load(
            "fetch:\n  workers: ${W:-4}\n  rate: ${R}\n  yahoo:\n    base_url: \"http://${HOST}:${PORT:-80}/x\"\nproviders:\n  polygon:\n    api_key: ${KEY}\n",
            &[("R", "0.5"), ("HOST", "127.0.0.1"), ("KEY", "12345")],
        )
        .unwrap();
        assert_eq!(c.fetch.workers, 4);
        assert_eq!(c.fetch.rate, 0.5);
        assert_eq!(c.fetch.yahoo.base_url, "http://127.0.0.1:80/x");
        assert_eq!(c.providers.polygon.api_key.expose(), "12345");
    }

    #[test]
    fn missing_variable_is_an_error_naming_it() {
        let e = load(
            "providers:\n  polygon:\n    api_key: ${POLYGON_API_KEY}\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(e.key, "providers.polygon.api_key: ");
        assert!(e.message.contains("POLYGON_API_KEY is not set"), "{e}");
    }

    #[test]
    fn dollar_escapes_and_plain_dollars() {
        assert_eq!(substitute("a$${X}b", &env_of(&[])).unwrap(), "a${X}b");
        assert_eq!(substitute("cost $5", &env_of(&[])).unwrap(), "cost $5");
        assert!(substitute("${1X}", &env_of(&[])).is_err());
        assert!(substitute("${X", &env_of(&[])).is_err());
    }

    #[test]
    fn ranges_are_checked() {
        let e = load("fetch:\n  workers: 0\n", &[]).unwrap_err();
        assert!(
            e.to_string()
                .contains("fetch.workers: 0 is out of range (1 to 64)"),
            "{e}"
        );
        let e = load("fetch:\n  backoff: [10s, 5parsecs]\n", &[]).unwrap_err();
        assert!(e.to_string().contains("fetch.backoff[1]"), "{e}");
        let e = load("http:\n  proxies: [\"ftp://x\"]\n", &[]).unwrap_err();
        assert!(e.to_string().contains("http.proxies"), "{e}");
        let e = load("fetch:\n  workers: many\n", &[]).unwrap_err();
        assert!(e.to_string().contains("fetch.workers: "), "{e}");
    }

    #[test]
    fn substituted_text_takes_the_setting_type_only() {
        let c = load(
            "fetch:\n  workers: ${W}\n  rate: ${R}\nproviders:\n  polygon:\n    api_key: ${K}\n    s3_bucket: ${B}\nhttp:\n  user_agent: ${UA}\n",
            &[("W", "8"), ("R", "1.50"), ("K", "007"), ("B", "2024"), ("UA", "true")],
        )
        .unwrap();
        assert_eq!(c.fetch.workers, 8);
        assert_eq!(c.fetch.rate, 1.5);
        assert_eq!(c.providers.polygon.api_key.expose(), "007");
        assert_eq!(c.providers.polygon.s3_bucket, "2024");
        assert_eq!(c.http.user_agent, "true");
        let e = load("fetch:\n  workers: ${W}\n", &[("W", "six")]).unwrap_err();
        assert!(e.to_string().contains("fetch.workers"), "{e}");
    }

    #[test]
    fn a_sources_downloads_are_checked_and_named() {
        let source = |extra: &str| {
            load(
                &format!("scrape:\n  sources:\n    x:\n      kind: sec\n{extra}"),
                &[],
            )
        };
        let c = source("").unwrap();
        let d = c.scrape.sources["x"].downloads();
        assert_eq!(d[0].file_name(), "company_tickers_exchange.json");
        for (extra, says) in [
            ("      downloads: [{url: ftp://x/y}]\n", "http"),
            ("      downloads: []\n", "empty"),
            (
                "      downloads: [{url: \"http://h/p\", form: a=b, link: f.csv}]\n",
                "form and link",
            ),
            (
                "      downloads: [{url: \"http://h/a/f.txt\"}, {url: \"http://g/b/f.txt\"}]\n",
                "two files named \"f.txt\"",
            ),
            (
                "      downloads: [{url: \"http://h/\", name: ../up}]\n",
                "plain file name",
            ),
            ("      headers: {\"Bad Name\": x}\n", "no header name"),
            (
                "      headers: {Content-Length: \"5\"}\n",
                "set by the client",
            ),
            ("      downloads: [{url: \"http://h:99999/f\"}]\n", "port"),
            (
                "      downloads: [{url: \"http://h/f\", name: \"\"}]\n",
                "plain file name",
            ),
            (
                "      downloads: [{url: \"http://h/A.txt\"}, {url: \"http://h/b/a.txt\"}]\n",
                "two files named",
            ),
            ("      user_agent: \"caf\u{e9}\"\n", "printable ASCII"),
        ] {
            let e = source(extra).unwrap_err().to_string();
            assert!(
                e.contains("scrape.sources: x: ") && e.contains(says),
                "{extra}: {e}"
            );
        }
        // Names from the URL: its last path segment, the link's name, never empty or hidden.
        let named = |url: &str, link: Option<&str>| {
            Download {
                url: url.into(),
                form: None,
                link: link.map(str::to_string),
                name: None,
            }
            .file_name()
        };
        assert_eq!(
            named("https://h/a/nasdaqlisted.txt?x=1", None),
            "nasdaqlisted.txt"
        );
        assert_eq!(
            named("https://h/wiki/List_of_S%26P_500", None),
            "List_of_S_26P_500"
        );
        assert_eq!(named("https://h/", None), "download");
        assert_eq!(named("https://h/..", None), "download");
        assert_eq!(named("https://h/page", Some("t7.csv")), "t7.csv");
        // A URL's user, password and query are never echoed.
        let e = source("      downloads: [{url: \"htp://me:pw1@h/x?apikey=k2\"}]\n")
            .unwrap_err()
            .to_string();
        assert!(
            !e.contains("pw1") && !e.contains("k2") && e.contains("h/x"),
            "{e}"
        );
        for fine in [
            "HTTP://h/f",
            "http://[::1]/f",
            "http://[::1]:8080/f",
            "http://h:80/f",
        ] {
            assert_eq!(check_url(fine), Ok(()), "{fine}");
        }
        let e = load("scrape:\n  pause: [3s, 1s]\n", &[]).unwrap_err();
        assert!(e.to_string().contains("scrape.pause"), "{e}");
    }

    #[test]
    fn the_old_venue_suffix_table_is_refused_saying_where_suffixes_went() {
        let e = load("fetch:\n  yahoo:\n    suffixes:\n      XLON: .L\n", &[]).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("fetch.yahoo.suffixes") && e.contains("AIR.PA"),
            "{e}"
        );
    }

    #[test]
    fn values_from_the_environment_are_never_echoed_in_errors() {
        let cases = [
            "qa:\n  fail_on: ${SECRET}\n",
            "qa:\n  severity:\n    price_jump: ${SECRET}\n",
            "lake:\n  price_type: ${SECRET}\n",
            "lake:\n  zstd_level: ${SECRET}\n",
            "http:\n  timeout: ${SECRET}\n",
            "qlib:\n  fields: [close, \"${SECRET}\"]\n",
            "fetch:\n  yahoo:\n    overrides: ${SECRET}\n",
            "fetch:\n  yahoo:\n    base_url: ${SECRET}\n",
            "fetch:\n  yahoo:\n    base_url: \"ftp://${SECRET}/x\"\n",
            "fetch:\n  workers: ${SECRET}\n",
            "logging:\n  level: ${SECRET}\n",
            "qa:\n  lag_trading_days: x${SECRET}y\n",
            "http:\n  timeout: ${SECRET}s\n",
            "fetch:\n  backoff: [\"x${SECRET}y\"]\n",
            "fetch:\n  yahoo:\n    base_url: \"x${SECRET}y\"\n",
        ];
        for secret in ["hunter2", "0009", "99999", "a\"b"] {
            for text in cases {
                let e = match load(text, &[("SECRET", secret)]) {
                    Err(e) => e.to_string(),
                    // A number can be a valid setting: nothing to echo then.
                    Ok(_) if secret != "hunter2" => continue,
                    Ok(_) => panic!("{text}: hunter2 accepted"),
                };
                assert!(!e.contains(secret), "{text} with {secret}: {e}");
                let bare = secret.trim_start_matches('0');
                assert!(!e.contains(bare), "{text} with {secret}: {e}");
                assert!(e.contains("${SECRET}"), "{text}: {e}");
            }
        }
        // A value is cut out only as a whole word.
        assert_eq!(
            redact("6 is out of range (1 to 64)", &[("W".into(), "6".into())]),
            "${W} is out of range (1 to 64)"
        );
    }

    #[test]
    fn emptied_sections_mean_defaults() {
        let c = load(
            "qlib:\n  # fields: [close]\nfetch:\n  yahoo:\n    overrides:\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.qlib.fields, Config::default().qlib.fields);
    }

    #[test]
    fn proxy_passwords_are_redacted() {
        let c = load(
            "http:\n  proxies: [\"socks5://me:${P}@10.0.0.1:1080\"]\n",
            &[("P", "s3cr3t")],
        )
        .unwrap();
        assert_eq!(
            c.http.proxies[0].expose(),
            "socks5://me:s3cr3t@10.0.0.1:1080"
        );
        assert!(!format!("{c:?}").contains("s3cr3t"));
        let e = load(
            "http:\n  proxies: [\"ftp://me:${P}@host\"]\n",
            &[("P", "s3cr3t")],
        )
        .unwrap_err();
        assert!(!e.to_string().contains("s3cr3t"), "{e}");
        let e = load("providers:\n  polygon:\n    api_key: ${KEY-hunter2}\n", &[]).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = load("providers:\n  polygon:\n    api_key: \"hunter2\n", &[]).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn secrets_never_print() {
        let c = load(
            "providers:\n  polygon:\n    api_key: ${K}\n",
            &[("K", "hunter2-very-secret")],
        )
        .unwrap();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
        assert_eq!(format!("{}", c.providers.polygon.api_key), "<redacted>");
    }

    #[test]
    fn spans() {
        assert_eq!(Span::parse("250ms").unwrap().0, Duration::from_millis(250));
        assert_eq!(Span::parse("2m").unwrap().0, Duration::from_secs(120));
        assert_eq!(Span::parse("10").unwrap().0, Duration::from_secs(10));
        assert!(Span::parse("-1s").is_err());
        assert!(Span::parse("1y").is_err());
    }

    #[test]
    fn yaml_booleans_do_not_eat_symbols() {
        let c = load(
            "fetch:\n  yahoo:\n    overrides:\n      NO: NO.OL\n      ON: ON\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            c.fetch.yahoo.overrides.get("NO").map(String::as_str),
            Some("NO.OL")
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 3000, ..Default::default() })]
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = load(&s, &[]);
        }

        #[test]
        fn yaml_like_text_never_panics(s in "([a-z_]{1,8}:( [-\\[\\]{}a-z0-9.$:'\"]{0,12})?\n( {2,4}|- )?){0,10}") {
            let _ = load(&s, &[("X", "1")]);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let s = String::from_utf8_lossy(&b);
            let _ = load(&s, &[]);
        }
    }
}
