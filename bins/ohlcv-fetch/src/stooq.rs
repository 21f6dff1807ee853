//! Stooq's daily CSV download (`/q/d/l/?s=aapl.us&i=d`): a free, key-less provider, mostly a
//! fallback.
//!
//! What the answer looks like, and its traps (`../shared/fixtures/real/PROVENANCE.md` §9):
//! - a header `Date,Open,High,Low,Close,Volume` in English or `Data,Otwarcie,Najwyzszy,
//!   Najnizszy,Zamkniecie,Wolumen` in Polish (columns found by name; `OpenInt` and others
//!   ignored; indices and currencies have no volume column: null volume, never 0);
//! - prices already split- **and dividend-adjusted**, and re-adjusted over time: they are
//!   written as `close` and `adj_close` alike, and Stooq reports no splits or dividends;
//! - during a session the last row is today's, with the prices so far: not a close, so a row
//!   dated on or after the exchange's today is dropped until its session has closed;
//! - an unknown symbol (or a range without data) answers `No data` (`Brak danych`) with
//!   status 200, and a key over its daily quota answers `Exceeded the daily hits limit`;
//! - no currency: it comes from the universe, else from the venue.

use chrono::NaiveDate;
use tickerlake::config::Stooq as StooqConfig;
use tickerlake::listing;
use tickerlake::records::{ActionKind, Bar, FetchErrorCode, Ticker};
use tickerlake::{Decimal, Symbol};

use crate::provider::{
    Asker, Fetched, Provider, Request, UP_TO_DATE_DAYS, common_judgement, excerpt, fail, retry,
};
use net::http::Request as HttpRequest;
use net::polite::{Failed, Judged};

/// The provider name written into records.
pub const PROVIDER: &str = "stooq";

/// A market Stooq serves: its symbol suffix, the currency of its prices, its time zone and the
/// local time its session closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Market {
    pub suffix: &'static str,
    pub currency: &'static str,
    pub zone: &'static str,
    pub close: (i8, i8),
}

const US: Market = Market {
    suffix: ".us",
    currency: "USD",
    zone: "America/New_York",
    close: (16, 0),
};

/// Markets by tickerlake venue suffix (`listing::VENUES`); Warsaw's symbols carry no suffix at
/// Stooq. London prices are in pence, as the exchange quotes them.
const MARKETS: &[(&str, Market)] = &[
    (
        "DE",
        Market {
            suffix: ".de",
            currency: "EUR",
            zone: "Europe/Berlin",
            close: (17, 30),
        },
    ),
    (
        "L",
        Market {
            suffix: ".uk",
            currency: "GBp",
            zone: "Europe/London",
            close: (16, 30),
        },
    ),
    (
        "T",
        Market {
            suffix: ".jp",
            currency: "JPY",
            zone: "Asia/Tokyo",
            close: (15, 30),
        },
    ),
    (
        "HK",
        Market {
            suffix: ".hk",
            currency: "HKD",
            zone: "Asia/Hong_Kong",
            close: (16, 10),
        },
    ),
    (
        "WA",
        Market {
            suffix: "",
            currency: "PLN",
            zone: "Europe/Warsaw",
            close: (17, 5),
        },
    ),
    (
        "BD",
        Market {
            suffix: ".hu",
            currency: "HUF",
            zone: "Europe/Budapest",
            close: (17, 5),
        },
    ),
];

/// After a session's close, the minutes before its row is taken as the day's close (the
/// closing auction and Stooq's own delay).
const CLOSE_GRACE_MINUTES: i64 = 30;

/// The Stooq symbol of a ticker and its market, or why there is none.
pub fn stooq_symbol(ticker: &Ticker, cfg: &StooqConfig) -> Result<(String, Market), String> {
    let name = ticker.symbol.as_str();
    if let Some(mapped) = cfg.overrides.get(name) {
        return Ok((mapped.clone(), market_of(mapped)));
    }
    if name.starts_with('^') || name.contains('=') {
        return Err(format!(
            "Stooq names indices and futures its own way: map {name} in providers.stooq.overrides"
        ));
    }
    if let Some(mic) = ticker.exchange.as_deref()
        && let Some(why) = listing::check_name(name, mic)
    {
        return Err(why);
    }
    match listing::split(name) {
        (local, Some(venue)) => {
            let market = MARKETS
                .iter()
                .find(|(s, _)| *s == venue.suffix)
                .map(|(_, m)| *m)
                .ok_or_else(|| format!("Stooq has no daily data for {} listings", venue.mic))?;
            Ok((format!("{}{}", local.to_lowercase(), market.suffix), market))
        }
        // BRK.B → brk-b.us, as Stooq spells share classes.
        (us, None) => Ok((format!("{}.us", us.to_lowercase().replace('.', "-")), US)),
    }
}

/// The market of a Stooq symbol (an override's): by its suffix; none is Warsaw's.
fn market_of(symbol: &str) -> Market {
    let lower = symbol.to_lowercase();
    if lower.starts_with('^') {
        return US;
    }
    MARKETS
        .iter()
        .map(|(_, m)| *m)
        .chain([US])
        .filter(|m| !m.suffix.is_empty())
        .find(|m| lower.ends_with(m.suffix))
        .unwrap_or(MARKETS[4].1)
}

/// The download for `symbol` covering `start..=end`.
pub fn csv_url(base_url: &str, symbol: &str, start: NaiveDate, end: NaiveDate) -> String {
    let mut encoded = String::with_capacity(symbol.len());
    for b in symbol.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!(
        "{}/q/d/l/?s={encoded}&d1={}&d2={}&i=d",
        base_url.trim_end_matches('/'),
        start.format("%Y%m%d"),
        end.format("%Y%m%d"),
    )
}

/// What a download says.
#[derive(Debug, Clone, PartialEq)]
pub enum Download {
    /// Bars in the range, date-ordered; how many rows were dropped as an unfinished session.
    Bars { bars: Vec<Bar>, unfinished: usize },
    /// `No data`: an unknown symbol, or no trading day in the range.
    NoData,
    /// The daily quota is spent.
    QuotaExceeded,
}

/// Why a download could not be read: the line (1 is the header) and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, {field}: {message}")]
pub struct ParseError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

fn parse_error(line: u64, field: &str, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        field: field.to_string(),
        message: message.into(),
    }
}

/// Where a download's rows are cut: the exchange's today, and whether its session has closed
/// (plus a grace period). Rows after today, or of today before then, are not closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoff {
    pub today: NaiveDate,
    pub closed: bool,
}

impl Cutoff {
    /// The cutoff at `now` for `market`.
    pub fn at(now: jiff::Timestamp, market: &Market) -> Cutoff {
        let zone = jiff::tz::TimeZone::get(market.zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let local = now.to_zoned(zone);
        let minutes = i64::from(local.hour()) * 60 + i64::from(local.minute());
        let close = i64::from(market.close.0) * 60 + i64::from(market.close.1);
        let d = local.date();
        Cutoff {
            today: NaiveDate::from_ymd_opt(
                i32::from(d.year()),
                u32::try_from(d.month()).unwrap_or(1),
                u32::try_from(d.day()).unwrap_or(1),
            )
            .unwrap_or(NaiveDate::MIN),
            closed: minutes >= close + CLOSE_GRACE_MINUTES,
        }
    }

    fn is_final(&self, date: NaiveDate) -> bool {
        date < self.today || (date == self.today && self.closed)
    }
}

/// Reads a download: bars for `symbol` dated `start..=end`, in `currency`.
pub fn parse_csv(
    body: &[u8],
    symbol: &Symbol,
    start: NaiveDate,
    end: NaiveDate,
    currency: &str,
    cutoff: Cutoff,
) -> Result<Download, ParseError> {
    let text = std::str::from_utf8(body)
        .map_err(|e| parse_error(1, "body", format!("not UTF-8 text: {e}")))?;
    let text = text.trim_start_matches('\u{feff}');
    let first = text.trim_start().lines().next().unwrap_or("").trim();
    let lower = first.to_lowercase();
    if lower.starts_with("no data") || lower.starts_with("brak danych") || text.trim().is_empty() {
        return Ok(Download::NoData);
    }
    if lower.contains("exceeded the daily hits limit") || lower.contains("przekroczony dzienny") {
        return Ok(Download::QuotaExceeded);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| parse_error(1, "header", e.to_string()))?
        .clone();
    let column = |field: &str| {
        headers
            .iter()
            .position(|h| tickerlake::csv_cells::bar_field(h) == field)
    };
    let need = |field: &'static str| {
        column(field).ok_or_else(|| {
            parse_error(
                1,
                field,
                format!(
                    "no {field} column in the header {:?}",
                    tickerlake::echo::shorten(&headers.iter().collect::<Vec<_>>().join(","))
                ),
            )
        })
    };
    let (date_col, open_col, high_col, low_col, close_col) = (
        need("date")?,
        need("open")?,
        need("high")?,
        need("low")?,
        need("close")?,
    );
    let volume_col = column("volume");
    let mut bars: Vec<Bar> = Vec::new();
    let mut unfinished = 0;
    for row in reader.records() {
        let row = row.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            parse_error(line, "row", e.to_string())
        })?;
        let line = row.position().map_or(0, |p| p.line());
        let cell = |i: usize| row.get(i).unwrap_or("").trim();
        let date_text = cell(date_col);
        let date = tickerlake::records::date_format::parse(date_text)
            .map_err(|e| parse_error(line, "date", e))?;
        if !cutoff.is_final(date) {
            unfinished += 1;
            continue;
        }
        if date < start || date > end {
            continue;
        }
        let price = |i: usize, field: &str| -> Result<Option<Decimal>, ParseError> {
            let t = cell(i);
            if tickerlake::csv_cells::is_missing(t) {
                return Ok(None);
            }
            t.parse::<Decimal>()
                .map(Some)
                .map_err(|e| parse_error(line, field, e.to_string()))
        };
        let close = price(close_col, "close")?;
        let volume = match volume_col {
            Some(i) => crate::volume::parse(cell(i)).map_err(|e| parse_error(line, "volume", e))?,
            None => None,
        };
        if let Some(last) = bars.last()
            && date <= last.date
        {
            return Err(parse_error(
                line,
                "date",
                format!(
                    "{date} does not follow {}: rows must be ascending",
                    last.date
                ),
            ));
        }
        bars.push(Bar {
            symbol: symbol.clone(),
            date,
            open: price(open_col, "open")?,
            high: price(high_col, "high")?,
            low: price(low_col, "low")?,
            close,
            // Stooq's prices are split- and dividend-adjusted already.
            adj_close: close,
            volume,
            vwap: None,
            transactions: None,
            currency: Some(currency.to_string()),
            provider: PROVIDER.to_string(),
            source_ts: None,
        });
    }
    Ok(Download::Bars { bars, unfinished })
}

/// Stooq's daily download as a provider.
pub struct Stooq {
    base_url: String,
    config: StooqConfig,
}

impl Stooq {
    /// `base_url` overrides the configured host (tests, mirrors).
    pub fn new(config: StooqConfig, base_url: Option<String>) -> Stooq {
        Stooq {
            base_url: base_url.unwrap_or_else(|| config.base_url.clone()),
            config,
        }
    }
}

impl Provider for Stooq {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn provider_symbol(&self, ticker: &Ticker) -> Result<String, String> {
        stooq_symbol(ticker, &self.config).map(|(s, _)| s)
    }

    /// Stooq reports no actions; its history is re-adjusted as they happen.
    fn restated_by(&self, _kind: ActionKind) -> bool {
        false
    }

    fn fetch(
        &self,
        request: &Request,
        symbol: &str,
        ask: &mut Asker<'_>,
    ) -> Result<Fetched, Failed> {
        let market = stooq_symbol(&request.ticker, &self.config).map_or(US, |(_, m)| m);
        let currency = request
            .ticker
            .currency
            .clone()
            .unwrap_or_else(|| market.currency.to_string());
        let url = csv_url(&self.base_url, symbol, request.start, request.end);
        let short_range = (request.end - request.start).num_days() < UP_TO_DATE_DAYS;
        ask.ask(&HttpRequest::get(&url), "csv", |answer| {
            let answer = match common_judgement(answer) {
                Ok(a) => a,
                Err(judged) => return judged,
            };
            if answer.status == 404 {
                return fail(FetchErrorCode::NotFound, "not found (HTTP 404)");
            }
            if answer.status != 200 {
                return fail(
                    FetchErrorCode::Net,
                    format!("HTTP {}: {}", answer.status, excerpt(&answer.body)),
                );
            }
            let cutoff = Cutoff::at(jiff::Timestamp::now(), &market);
            match parse_csv(
                &answer.body,
                request.symbol(),
                request.start,
                request.end,
                &currency,
                cutoff,
            ) {
                Ok(Download::Bars { bars, unfinished }) => {
                    if unfinished > 0 {
                        tracing::debug!(
                            symbol = %request.symbol(),
                            "a row of a session not yet closed is left for a later run"
                        );
                    }
                    if bars.is_empty() {
                        return no_data(short_range);
                    }
                    Judged::Done(Fetched::Data {
                        bars,
                        actions: Vec::new(),
                    })
                }
                Ok(Download::NoData) => no_data(short_range),
                Ok(Download::QuotaExceeded) => fail(
                    FetchErrorCode::Yf429,
                    "Stooq's daily download limit is spent: try again tomorrow",
                ),
                Err(e) => retry(FetchErrorCode::Parse, format!("the download: {e}")),
            }
        })
        .map_err(|mut failed| {
            failed.message = format!("{symbol}: {}", failed.message);
            failed
        })
    }
}

fn no_data(short_range: bool) -> Judged<Fetched> {
    if short_range {
        Judged::Done(Fetched::UpToDate)
    } else {
        Judged::Retry {
            code: FetchErrorCode::YfEmpty,
            message: "no data (an unknown symbol, or none in the range)".into(),
            once: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn sample() -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/real/stooq/aapl_us_d_1984-09-07_2026-02-03.csv");
        std::fs::read(path).unwrap()
    }

    const CLOSED: Cutoff = Cutoff {
        today: match NaiveDate::from_ymd_opt(2030, 1, 1) {
            Some(d) => d,
            None => NaiveDate::MIN,
        },
        closed: true,
    };

    fn bars(d: Download) -> Vec<Bar> {
        match d {
            Download::Bars { bars, .. } => bars,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_genuine_download_reads_whole_in_both_languages() {
        let body = sample();
        let aapl = Symbol::parse("AAPL").unwrap();
        let all = bars(
            parse_csv(
                &body,
                &aapl,
                day("1900-01-01"),
                day("2030-01-01"),
                "USD",
                CLOSED,
            )
            .unwrap(),
        );
        let rows = body.iter().filter(|b| **b == b'\n').count() - 1;
        assert_eq!(all.len(), rows);
        assert_eq!(all[0].date, day("1984-09-07"));
        assert_eq!(all[0].close.unwrap().to_string(), "0.0992653");
        assert_eq!(all[0].volume, Some(tickerlake::Volume::Whole(99_149_603)));
        let last = all.last().unwrap();
        assert_eq!(last.date, day("2026-02-03"));
        assert_eq!(last.close, last.adj_close);
        assert_eq!(last.currency.as_deref(), Some("USD"));
        assert_eq!(last.provider, "stooq");
        // The same file with Polish headers and CRLF reads the same.
        let text = String::from_utf8(body).unwrap().replacen(
            "Date,Open,High,Low,Close,Volume",
            "Data,Otwarcie,Najwyzszy,Najnizszy,Zamkniecie,Wolumen",
            1,
        );
        let polish = bars(
            parse_csv(
                text.replace('\n', "\r\n").as_bytes(),
                &aapl,
                day("1900-01-01"),
                day("2030-01-01"),
                "USD",
                CLOSED,
            )
            .unwrap(),
        );
        assert_eq!(polish, all);
        // A range keeps its rows only.
        let jan = bars(
            parse_csv(
                text.as_bytes(),
                &aapl,
                day("2026-01-01"),
                day("2026-01-31"),
                "USD",
                CLOSED,
            )
            .unwrap(),
        );
        assert!(jan.len() >= 19 && jan.len() <= 21, "{}", jan.len());
    }

    #[test]
    fn a_row_of_a_session_still_open_is_no_close() {
        let body = sample();
        let aapl = Symbol::parse("AAPL").unwrap();
        let open = Cutoff {
            today: day("2026-02-03"),
            closed: false,
        };
        let Download::Bars { bars, unfinished } = parse_csv(
            &body,
            &aapl,
            day("2026-01-01"),
            day("2026-02-03"),
            "USD",
            open,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(unfinished, 1);
        assert_eq!(bars.last().unwrap().date, day("2026-02-02"));
        // 21:00 UTC is 16:00 in New York in February: within the grace; 21:31 is past it.
        let at = |t: &str| Cutoff::at(t.parse().unwrap(), &US);
        assert!(!at("2026-02-03T21:00:00Z").closed);
        assert!(at("2026-02-03T21:31:00Z").closed);
        assert_eq!(at("2026-02-04T03:00:00Z").today, day("2026-02-03"));
    }

    #[test]
    fn damaged_downloads_name_line_and_field() {
        let aapl = Symbol::parse("AAPL").unwrap();
        let parse = |text: &str| {
            parse_csv(
                text.as_bytes(),
                &aapl,
                day("1900-01-01"),
                day("2030-01-01"),
                "USD",
                CLOSED,
            )
        };
        let e = parse(
            "Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n2024-01-03,1,2,x,1,5\n",
        )
        .unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (3, "low"));
        let e = parse("Date,Open,High,Low,Close\n1970-13-01,1,2,0.5,1.5\n").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (2, "date"));
        let e = parse("Date,Open,High,Low,Close\n2024-01-03,1,2,0.5,1.5\n2024-01-02,1,2,0.5,1.5\n")
            .unwrap_err();
        assert!(e.message.contains("ascending"), "{e}");
        let e = parse("Date,Open,High,Close\n2024-01-03,1,2,1.5\n").unwrap_err();
        assert_eq!(e.field, "low");
        let e = parse("Date,Open,High,Low,Close\n2024-01-03,1,2,1.5\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(parse("No data").unwrap(), Download::NoData);
        assert_eq!(parse("Brak danych\n").unwrap(), Download::NoData);
        assert_eq!(
            parse("Exceeded the daily hits limit").unwrap(),
            Download::QuotaExceeded
        );
        // An index without a volume column: null volume, never 0.
        let b = bars(parse("Date,Open,High,Low,Close\n2024-01-03,1,2,0.5,1.5\n").unwrap());
        assert_eq!(b[0].volume, None);
    }

    #[test]
    fn symbols_follow_stooq_spelling_and_refuse_what_it_lacks() {
        let cfg = StooqConfig::default();
        let sym = |s: &str| stooq_symbol(&Ticker::new(Symbol::parse(s).unwrap()), &cfg);
        assert_eq!(sym("AAPL").unwrap().0, "aapl.us");
        assert_eq!(sym("BRK.B").unwrap().0, "brk-b.us");
        assert_eq!(sym("SAP.DE").unwrap(), ("sap.de".into(), MARKETS[0].1));
        assert_eq!(sym("VOD.L").unwrap().1.currency, "GBp");
        assert_eq!(sym("PKN.WA").unwrap().0, "pkn");
        assert!(sym("AIR.PA").unwrap_err().contains("XPAR"));
        assert!(sym("^GSPC").unwrap_err().contains("overrides"));
        let mut cfg = StooqConfig::default();
        cfg.overrides.insert("^GSPC".into(), "^spx".into());
        let t = Ticker::new(Symbol::parse("^GSPC").unwrap());
        assert_eq!(stooq_symbol(&t, &cfg).unwrap().0, "^spx");
        assert_eq!(
            csv_url("http://h/", "^spx", day("2024-01-02"), day("2024-01-31")),
            "http://h/q/d/l/?s=%5Espx&d1=20240102&d2=20240131&i=d"
        );
    }
}
