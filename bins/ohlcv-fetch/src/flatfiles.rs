//! Polygon's flat files: `us_stocks_sip/day_aggs_v1/<YYYY>/<MM>/<YYYY-MM-DD>.csv.gz` on an S3
//! endpoint, one file per trading day holding every ticker's bar. So this provider is
//! date-driven: the days after the lake's watermark, each file streamed through gzip and
//! filtered to the universe, bars then handed on symbol by symbol.
//!
//! What a file looks like, and its traps (`../shared/fixtures/real/PROVENANCE.md` §7):
//! - header `ticker,volume,open,close,high,low,window_start,transactions` (columns found by
//!   name), tickers in the CQS spelling (`BRK.B`, `ABRpD`), unsorted;
//! - `window_start` is **nanoseconds** since the epoch; its New York date is the bar's, and
//!   must be the file's day: a damaged time is refused with file, line and field, never read as
//!   a 1970 date;
//! - volumes may be written as floats;
//! - prices are as traded (not adjusted): there is nothing to restate;
//! - a file appears hours after the close; weekends and holidays have none.
//!
//! Days missing from the bucket: on a weekend or a holiday, no trading day; on a trading day
//! less than [`PUBLISH_GRACE_DAYS`] before `--end`, not published yet — that day and the ones after it wait for the next run, so the lake's
//! watermark never passes a gap; on an older trading day, missing (said, exit 75).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Serialize;
use tickerlake::calendar::Calendar;
use tickerlake::config::Polygon as PolygonConfig;
use tickerlake::records::{Bar, FetchErrorCode};
use tickerlake::{Decimal, Symbol};

use crate::polygon_rest::{PROVIDER, symbol_of};

/// Days before `--end` (today, nightly) within which a trading day's missing file is "not
/// published yet".
pub const PUBLISH_GRACE_DAYS: u64 = 3;

/// What the run read, for the summary.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct DayFiles {
    /// Day files read, and their rows.
    pub read: u64,
    pub rows: u64,
    /// Rows whose ticker tickerlake cannot name (test symbols, odd spellings): skipped.
    pub skipped_rows: u64,
    /// Weekdays without a file that are holidays.
    pub holidays: Vec<String>,
    /// Recent trading days without a file yet: they and the days after them wait.
    pub not_published: Vec<String>,
    /// Older trading days without a file.
    pub missing: Vec<String>,
    /// Days held back behind a day not published or not read.
    pub held_back: u64,
    /// `--input` files of days outside `--start`..`--end`: not read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub outside: Vec<String>,
    /// Symbols handed on.
    pub symbols: u64,
}

/// Why day files could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FlatError {
    /// A damaged file: its name, the line (1 is the header), the field.
    #[error("{file}:{line}: {field}: {message}")]
    Damaged {
        file: String,
        line: u64,
        field: String,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
    /// An input that is not a file.
    #[error("{0}")]
    NoInput(String),
    /// The store refused the keys.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Config(String),
}

impl tickerlake::HasExitCode for FlatError {
    fn exit_code(&self) -> tickerlake::ExitCode {
        use tickerlake::ExitCode;
        match self {
            FlatError::Damaged { .. } => ExitCode::DataErr,
            FlatError::Io { source, .. } => tickerlake::exit::io_exit_code(source),
            FlatError::NoInput(_) => ExitCode::NoInput,
            FlatError::Usage(_) => ExitCode::Usage,
            FlatError::Refused(_) | FlatError::Config(_) => ExitCode::Config,
        }
    }
}

/// One ticker's row of a day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayBar {
    pub date: NaiveDate,
    pub open: Option<Decimal>,
    pub high: Option<Decimal>,
    pub low: Option<Decimal>,
    pub close: Option<Decimal>,
    pub volume: Option<tickerlake::Volume>,
    pub transactions: Option<i64>,
}

impl DayBar {
    pub fn to_bar(&self, symbol: &Symbol) -> Bar {
        Bar {
            symbol: symbol.clone(),
            date: self.date,
            open: self.open,
            high: self.high,
            low: self.low,
            close: self.close,
            adj_close: None,
            volume: self.volume,
            vwap: None,
            transactions: self.transactions,
            currency: Some("USD".into()),
            provider: PROVIDER.into(),
            source_ts: None,
        }
    }
}

/// A day file, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Day {
    pub date: NaiveDate,
    pub rows: Vec<(Symbol, DayBar)>,
    pub skipped: u64,
}

/// The day a file's name says (`2024-03-28.csv.gz`, `2024-03-28.csv`), if it says one.
pub fn date_of_name(name: &str) -> Option<NaiveDate> {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.get(..10)?.parse().ok()
}

/// Reads a day file (gzip or plain, told by its first bytes), keeping the rows `wanted` says
/// yes to. Every row must be of `day` when given, else of the first row's day.
pub fn read_day(
    mut input: impl Read,
    file: &str,
    day: Option<NaiveDate>,
    wanted: &dyn Fn(&Symbol) -> bool,
) -> Result<Day, FlatError> {
    let mut magic = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match input.read(&mut magic[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(FlatError::Io {
                    path: file.to_string(),
                    source,
                });
            }
        }
    }
    let head = std::io::Cursor::new(magic[..got].to_vec()).chain(input);
    if magic[..got] == [0x1f, 0x8b] {
        parse_day(flate2::read::MultiGzDecoder::new(head), file, day, wanted)
    } else {
        parse_day(head, file, day, wanted)
    }
}

fn damaged(file: &str, line: u64, field: &str, message: impl Into<String>) -> FlatError {
    FlatError::Damaged {
        file: file.to_string(),
        line,
        field: field.to_string(),
        message: message.into(),
    }
}

fn parse_day(
    input: impl Read,
    file: &str,
    day: Option<NaiveDate>,
    wanted: &dyn Fn(&Symbol) -> bool,
) -> Result<Day, FlatError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| csv_error(file, &e, "header"))?
        .clone();
    let column = |name: &str| {
        headers.iter().position(|h| {
            h.trim()
                .trim_start_matches('\u{feff}')
                .eq_ignore_ascii_case(name)
        })
    };
    let need = |name: &str| {
        column(name).ok_or_else(|| {
            damaged(
                file,
                1,
                name,
                format!(
                    "no {name} column in the header {:?}: not a day-aggregates file",
                    tickerlake::echo::shorten(&headers.iter().collect::<Vec<_>>().join(","))
                ),
            )
        })
    };
    let cols = [
        need("ticker")?,
        need("volume")?,
        need("open")?,
        need("close")?,
        need("high")?,
        need("low")?,
        need("window_start")?,
    ];
    let transactions_col = column("transactions");
    // A day past tomorrow cannot have a file yet.
    let latest = chrono::Utc::now().date_naive() + chrono::Days::new(1);
    let mut out = Day {
        date: day.unwrap_or(NaiveDate::MIN),
        rows: Vec::new(),
        skipped: 0,
    };
    let mut date_known = day.is_some();
    // A ticker's line, to refuse a second row for it: one of the two would be dropped unseen.
    let mut lines_of: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(csv_error(file, &e, "row")),
        }
        let line = record.position().map_or(0, |p| p.line());
        let cell = |i: usize| record.get(i).unwrap_or("").trim();
        let ns_text = cell(cols[6]);
        let ns: i64 = ns_text.parse().map_err(|_| {
            damaged(
                file,
                line,
                "window_start",
                format!(
                    "expected nanoseconds since the epoch, found {:?}",
                    tickerlake::echo::shorten(ns_text)
                ),
            )
        })?;
        let date = ny_date_of_nanos(ns).filter(|d| d.year() >= 1990 && *d <= latest);
        let Some(date) = date else {
            return Err(damaged(
                file,
                line,
                "window_start",
                format!("{ns} ns is no trading day between 1990 and {latest}: a damaged time"),
            ));
        };
        if !date_known {
            out.date = date;
            date_known = true;
        }
        if date != out.date {
            return Err(damaged(
                file,
                line,
                "window_start",
                format!("{ns} ns is {date}, in the file of {}", out.date),
            ));
        }
        let ticker = cell(cols[0]);
        if let Some(first) = lines_of.insert(ticker.to_string(), line) {
            return Err(damaged(
                file,
                line,
                "ticker",
                format!(
                    "{} has a second row in the day (the first is line {first})",
                    tickerlake::echo::echo(ticker)
                ),
            ));
        }
        let Some(symbol) = symbol_of(ticker) else {
            out.skipped += 1;
            continue;
        };
        if !wanted(&symbol) {
            continue;
        }
        let price = |i: usize, field: &str| -> Result<Option<Decimal>, FlatError> {
            let t = cell(i);
            if tickerlake::csv_cells::is_missing(t) {
                return Ok(None);
            }
            t.parse::<Decimal>()
                .map(Some)
                .map_err(|e| damaged(file, line, field, e.to_string()))
        };
        let volume =
            crate::volume::parse(cell(cols[1])).map_err(|e| damaged(file, line, "volume", e))?;
        out.rows.push((
            symbol,
            DayBar {
                date,
                volume,
                open: price(cols[2], "open")?,
                close: price(cols[3], "close")?,
                high: price(cols[4], "high")?,
                low: price(cols[5], "low")?,
                transactions: match transactions_col {
                    Some(i) => crate::volume::parse_count(cell(i))
                        .map_err(|e| damaged(file, line, "transactions", e))?,
                    None => None,
                },
            },
        ));
    }
    if !date_known {
        return Err(damaged(
            file,
            1,
            "window_start",
            "no rows and no date in the file's name: which day is it?",
        ));
    }
    Ok(out)
}

fn csv_error(file: &str, e: &csv::Error, field: &str) -> FlatError {
    let line = e.position().map_or(0, |p| p.line());
    if let csv::ErrorKind::Io(io) = e.kind() {
        // A gzip stream cut short or corrupt reads as an I/O error of the decoder.
        return damaged(file, line, "gzip", io.to_string());
    }
    damaged(file, line, field, e.to_string())
}

/// The New York date of an instant in nanoseconds.
fn ny_date_of_nanos(ns: i64) -> Option<NaiveDate> {
    if ns <= 0 {
        return None;
    }
    let ts = jiff::Timestamp::from_nanosecond(i128::from(ns)).ok()?;
    let zone = jiff::tz::TimeZone::get("America/New_York").ok()?;
    let d = ts.to_zoned(zone).date();
    NaiveDate::from_ymd_opt(
        i32::from(d.year()),
        u32::try_from(d.month()).ok()?,
        u32::try_from(d.day()).ok()?,
    )
}

/// Where day files come from.
pub enum Source<'a> {
    /// Files the user has (`--input`), and the first day they must cover (`--start`), if any.
    Files(&'a [PathBuf], Option<NaiveDate>),
    /// The flat-files bucket: keys under `prefix`.
    Bucket {
        store: &'a objstore::Store,
        prefix: &'a str,
        workers: usize,
    },
}

/// The S3 key of a day's file.
pub fn day_key(prefix: &str, day: NaiveDate) -> String {
    format!(
        "{}/{:04}/{:02}/{day}.csv.gz",
        prefix.trim_end_matches('/'),
        day.year(),
        day.month()
    )
}

/// What a day's download came to.
enum Fetch {
    Read(Day),
    Absent,
    /// Not read after every retry (the reason).
    Failed(String),
}

/// Downloads and reads one day's file, retried on the store's schedule (`fetch.backoff`; a store
/// that is down is given up on, not tried day after day).
fn fetch_day(
    store: &objstore::Store,
    prefix: &str,
    day: NaiveDate,
    wanted: &dyn Fn(&Symbol) -> bool,
) -> Result<Fetch, FlatError> {
    let key = day_key(prefix, day);
    match store.retrying(&key, |s| s.get(&key)) {
        Ok(body) => read_day(body.as_slice(), &store.url(&key), Some(day), wanted).map(Fetch::Read),
        Err(objstore::StoreError::NotFound(_)) => Ok(Fetch::Absent),
        Err(objstore::StoreError::Refused { status, code, .. }) => {
            Err(FlatError::Refused(format!(
                "{}: the flat-files endpoint refused the keys (HTTP {status} {code}): check \
             POLYGON_S3_ACCESS_KEY and POLYGON_S3_SECRET_KEY",
                store.url(&key)
            )))
        }
        Err(objstore::StoreError::NoSuchBucket(_)) => Err(FlatError::Config(format!(
            "{}: no such bucket at {}: check providers.polygon.s3_bucket and s3_endpoint",
            store.url(""),
            store.endpoint()
        ))),
        Err(e) => Ok(Fetch::Failed(e.to_string())),
    }
}

/// Reads the days `from..=to` (or the given files), keeping the rows `wanted` says yes to.
/// Returns the days read, in date order, and what happened to the others.
pub fn read_days(
    source: &Source<'_>,
    from: NaiveDate,
    to: NaiveDate,
    wanted: &(dyn Fn(&Symbol) -> bool + Sync),
) -> Result<(Vec<Day>, DayFiles), FlatError> {
    let mut report = DayFiles::default();
    let mut days = Vec::new();
    match source {
        Source::Files(paths, must_start) => {
            for path in paths.iter() {
                let name = path.display().to_string();
                if path.is_dir() {
                    return Err(FlatError::NoInput(format!(
                        "{name}: a directory, not a day file (give the files: DIR/*.csv.gz)"
                    )));
                }
                let file = std::fs::File::open(path).map_err(|source| FlatError::Io {
                    path: name.clone(),
                    source,
                })?;
                let day = read_day(
                    std::io::BufReader::with_capacity(1 << 16, file),
                    &name,
                    date_of_name(&name),
                    wanted,
                )?;
                if days.iter().any(|d: &Day| d.date == day.date) {
                    return Err(FlatError::Usage(format!(
                        "{name}: a second file for {}",
                        day.date
                    )));
                }
                days.push(day);
            }
            days.sort_by_key(|d| d.date);
            // Days outside --start..--end are left out, and said: a file given is never
            // dropped without a word.
            days.retain(|d| {
                let inside = d.date >= from && d.date <= to;
                if !inside {
                    tracing::warn!(date = %d.date, "a day file outside {from}..{to}: not read");
                    report.outside.push(d.date.to_string());
                }
                inside
            });
            // A trading day between the first day needed and the last file, without a file,
            // would be a hole behind the lake's watermark that no later night fills.
            if let (Some(first), Some(last)) = (days.first(), days.last()) {
                let start = must_start.map_or(first.date, |s| s.max(from).min(first.date));
                let have: std::collections::BTreeSet<NaiveDate> =
                    days.iter().map(|d| d.date).collect();
                for date in start.iter_days().take_while(|d| *d < last.date) {
                    if !have.contains(&date) && Calendar::Xnys.is_trading_day(date) {
                        tracing::warn!(%date, "no day file given for a trading day: the lake will miss that day");
                        report.missing.push(date.to_string());
                    }
                }
            }
        }
        Source::Bucket {
            store,
            prefix,
            workers,
        } => {
            let dates: Vec<NaiveDate> = from
                .iter_days()
                .take_while(|d| *d <= to)
                .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun))
                .collect();
            let fetched = download_all(store, prefix, &dates, (*workers).max(1), wanted)?;
            let calendar = Calendar::Xnys;
            let grace = to - chrono::Days::new(PUBLISH_GRACE_DAYS);
            let mut stop = false;
            for (date, fetched) in dates.iter().zip(fetched) {
                if stop {
                    report.held_back += 1;
                    continue;
                }
                match fetched {
                    Fetch::Read(day) => days.push(day),
                    Fetch::Absent if !calendar.is_trading_day(*date) => {
                        report.holidays.push(date.to_string());
                    }
                    Fetch::Absent if *date >= grace => {
                        tracing::info!(%date, "the day file is not published yet: it and the days after it wait for the next run");
                        report.not_published.push(date.to_string());
                        stop = true;
                    }
                    Fetch::Absent => {
                        tracing::warn!(%date, "no day file for a trading day: the lake will miss that day");
                        report.missing.push(date.to_string());
                    }
                    Fetch::Failed(why) => {
                        tracing::warn!(%date, "the day file could not be read ({why}): it and the days after it wait for the next run");
                        report.missing.push(date.to_string());
                        stop = true;
                    }
                }
            }
        }
    }
    report.read = days.len() as u64;
    report.rows = days.iter().map(|d| d.rows.len() as u64).sum();
    report.skipped_rows = days.iter().map(|d| d.skipped).sum();
    Ok((days, report))
}

/// Downloads `dates` on `workers` threads; results in `dates`' order. The first error that is
/// the run's (refused keys, a damaged file) ends it.
fn download_all(
    store: &objstore::Store,
    prefix: &str,
    dates: &[NaiveDate],
    workers: usize,
    wanted: &(dyn Fn(&Symbol) -> bool + Sync),
) -> Result<Vec<Fetch>, FlatError> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<Fetch, FlatError>>>> =
        Mutex::new((0..dates.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.min(dates.len().max(1)) {
            scope.spawn(|| {
                loop {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(date) = dates.get(i) else { return };
                    let got = fetch_day(store, prefix, *date, wanted);
                    if got.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if let Ok(mut r) = results.lock() {
                        r[i] = Some(got);
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_default();
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Some(Ok(f)) => out.push(f),
            Some(Err(e)) => return Err(e),
            // Not started because another day ended the run: that error was returned above.
            None => out.push(Fetch::Failed("not read".into())),
        }
    }
    Ok(out)
}

/// Groups the days' rows by symbol (each symbol's bars in date order).
pub fn by_symbol(days: Vec<Day>) -> BTreeMap<Symbol, Vec<DayBar>> {
    // Hashed, then sorted once: a full-market month is a quarter of a million rows for some
    // 11,000 symbols, and an ordered map would compare symbols ~14 times a row.
    let mut out: std::collections::HashMap<Symbol, Vec<DayBar>> =
        std::collections::HashMap::with_capacity(
            days.iter().map(|d| d.rows.len()).max().unwrap_or(0),
        );
    for day in days {
        for (symbol, bar) in day.rows {
            out.entry(symbol).or_default().push(bar);
        }
    }
    out.into_iter().collect()
}

/// The flat-files bucket of `config`, its keys from the environment.
pub fn store(config: &PolygonConfig, timeout: Duration) -> Result<objstore::Store, FlatError> {
    // Empty settings come from the environment (the built-in defaults name the variables).
    let from_env = |own: &tickerlake::config::Secret, name: &str| {
        if own.is_empty() {
            tickerlake::config::Secret::new(std::env::var(name).unwrap_or_default())
        } else {
            own.clone()
        }
    };
    let key_id = from_env(&config.s3_access_key_id, "POLYGON_S3_ACCESS_KEY");
    let secret = from_env(&config.s3_secret_access_key, "POLYGON_S3_SECRET_KEY");
    if key_id.is_empty() || secret.is_empty() {
        return Err(FlatError::Config(
            "providers.polygon.s3_access_key_id / s3_secret_access_key are empty: set \
             POLYGON_S3_ACCESS_KEY and POLYGON_S3_SECRET_KEY (your Polygon flat-files keys), or \
             read files you have with --input"
                .into(),
        ));
    }
    objstore::Store::new(&objstore::S3Config {
        endpoint: config.s3_endpoint.clone(),
        region: config.s3_region.clone(),
        bucket: config.s3_bucket.clone(),
        access_key_id: key_id,
        secret_access_key: secret,
        session_token: tickerlake::config::Secret::default(),
        path_style: true,
        timeout,
    })
    .map_err(FlatError::Config)
}

/// A symbol in `days`' range that no file had: why.
pub fn absent_message(from: NaiveDate, to: NaiveDate) -> (FetchErrorCode, String) {
    (
        FetchErrorCode::NotFound,
        format!("not in the day files of {from} to {to} (not traded, or another spelling)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "../../fixtures/real/polygon_flatfiles/us_stocks_sip_day_aggs_v1_sample_2023-03-28.csv",
        );
        std::fs::read(path).unwrap()
    }

    fn all(_: &Symbol) -> bool {
        true
    }

    #[test]
    fn the_genuine_sample_reads_plain_and_gzipped() {
        let body = sample();
        let day = read_day(body.as_slice(), "sample.csv", None, &all).unwrap();
        assert_eq!(day.date, "2023-03-28".parse().unwrap());
        assert_eq!(day.rows.len() as u64 + day.skipped, 99);
        let (sym, bcc) = &day.rows[0];
        assert_eq!(sym.as_str(), "BCC");
        assert_eq!(bcc.volume, Some(tickerlake::Volume::Whole(248_274)));
        assert_eq!(bcc.open.unwrap().to_string(), "61.68");
        assert_eq!(bcc.close.unwrap().to_string(), "61.99");
        assert_eq!(bcc.high.unwrap().to_string(), "62.565");
        assert_eq!(bcc.transactions, Some(4073));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &body).unwrap();
        let zipped = gz.finish().unwrap();
        let again = read_day(
            zipped.as_slice(),
            "2023-03-28.csv.gz",
            date_of_name("2023-03-28.csv.gz"),
            &all,
        )
        .unwrap();
        assert_eq!(again, day);
        // Filtered to a universe.
        let only = read_day(body.as_slice(), "s", None, &|s: &Symbol| {
            s.as_str() == "SARK"
        })
        .unwrap();
        assert_eq!(only.rows.len(), 1);
    }

    #[test]
    fn damage_is_refused_with_file_line_and_field() {
        let text = String::from_utf8(sample()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // A window_start cut short reads as 1970: refused.
        let cut = lines[3].replace("1680033600000000000", "1680033600");
        let damaged_text = [lines[0], lines[1], lines[2], &cut].join("\n");
        let e = read_day(damaged_text.as_bytes(), "d.csv", None, &all).unwrap_err();
        let FlatError::Damaged { line, field, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!((*line, field.as_str()), (4, "window_start"));
        assert!(e.to_string().starts_with("d.csv:4: window_start:"), "{e}");
        // A row of another day in a day's file.
        let e = read_day(
            text.as_bytes(),
            "2023-03-29.csv",
            date_of_name("2023-03-29.csv"),
            &all,
        )
        .unwrap_err();
        assert!(e.to_string().contains("in the file of 2023-03-29"), "{e}");
        // A price that is no number.
        let bad = text.replacen("61.68", "6l.68", 1);
        let e = read_day(bad.as_bytes(), "b.csv", None, &all).unwrap_err();
        assert!(e.to_string().starts_with("b.csv:2: open:"), "{e}");
        // Not a day-aggregates file at all.
        let e = read_day("Date,Open\n2024-01-02,1\n".as_bytes(), "x.csv", None, &all).unwrap_err();
        assert!(e.to_string().contains("x.csv:1: ticker"), "{e}");
        // A gzip stream cut short.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
        let zipped = gz.finish().unwrap();
        let e = read_day(&zipped[..zipped.len() / 2], "c.csv.gz", None, &all).unwrap_err();
        assert!(e.to_string().contains("gzip"), "{e}");
    }

    #[test]
    fn a_ticker_twice_in_a_day_is_damage_not_a_silent_choice() {
        let text = String::from_utf8(sample()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // BCC again, with another close, as the last row.
        let again = lines[1].replace("61.99", "70.00");
        let doubled = [&lines[..], &[again.as_str()]].concat().join("\n");
        let e = read_day(doubled.as_bytes(), "d.csv", None, &all).unwrap_err();
        let want = format!(
            "d.csv:{}: ticker: \"BCC\" has a second row",
            lines.len() + 1
        );
        assert!(e.to_string().starts_with(&want), "{e}");
        assert!(e.to_string().contains("the first is line 2"), "{e}");
        // Also when the universe does not want it: the file is damaged all the same.
        let e = read_day(doubled.as_bytes(), "d.csv", None, &|_: &Symbol| false);
        assert!(e.is_err());
    }

    fn write_days(dir: &std::path::Path, days: &[&str]) -> Vec<PathBuf> {
        let text = String::from_utf8(sample()).unwrap();
        let ns_of = |day: &str| {
            let d: NaiveDate = day.parse().unwrap();
            // 04:00 UTC of the day (midnight New York in summer, as the files have it).
            d.and_hms_opt(4, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_nanos_opt()
                .unwrap()
        };
        days.iter()
            .map(|day| {
                let path = dir.join(format!("{day}.csv"));
                let body = text.replace("1680033600000000000", &ns_of(day).to_string());
                std::fs::write(&path, body).unwrap();
                path
            })
            .collect()
    }

    #[test]
    fn input_files_outside_the_range_are_said_and_a_gap_between_them_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        // Thu 2023-03-23, Mon 03-27 (Fri 03-24 not given), Tue 03-28, Wed 03-29 (after --end).
        let files = write_days(
            dir.path(),
            &["2023-03-23", "2023-03-27", "2023-03-28", "2023-03-29"],
        );
        let d = |t: &str| -> NaiveDate { t.parse().unwrap() };
        let (days, report) = read_days(
            &Source::Files(&files, None),
            d("2023-03-22"),
            d("2023-03-28"),
            &all,
        )
        .unwrap();
        let dates: Vec<String> = days.iter().map(|x| x.date.to_string()).collect();
        assert_eq!(dates, ["2023-03-23", "2023-03-27", "2023-03-28"]);
        assert_eq!(report.outside, ["2023-03-29"]);
        assert_eq!(report.missing, ["2023-03-24"], "the weekend is no gap");
        // --start before the first file: the trading days before it are missing too.
        let (_, report) = read_days(
            &Source::Files(&files[1..3], Some(d("2023-03-23"))),
            d("2023-03-23"),
            d("2023-03-28"),
            &all,
        )
        .unwrap();
        assert_eq!(report.missing, ["2023-03-23", "2023-03-24"]);
        // A directory is no day file: 66.
        let e = read_days(
            &Source::Files(&[dir.path().to_path_buf()], None),
            d("2023-03-22"),
            d("2023-03-28"),
            &all,
        )
        .unwrap_err();
        assert_eq!(
            tickerlake::HasExitCode::exit_code(&e),
            tickerlake::ExitCode::NoInput
        );
    }

    #[test]
    fn keys_follow_the_bucket_layout() {
        assert_eq!(
            day_key("us_stocks_sip/day_aggs_v1/", "2024-03-05".parse().unwrap()),
            "us_stocks_sip/day_aggs_v1/2024/03/2024-03-05.csv.gz"
        );
        assert_eq!(
            date_of_name("/x/2024/03/2024-03-05.csv.gz"),
            "2024-03-05".parse().ok()
        );
        assert_eq!(date_of_name("day.csv"), None);
    }
}
