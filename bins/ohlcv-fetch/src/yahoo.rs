//! Yahoo Finance's v8 chart API: the request URL and the parsing of its answer.
//!
//! What the answer looks like, and its traps (`../shared/fixtures/real/PROVENANCE.md` §1):
//! - `timestamp[]` holds epoch seconds of each bar, usually the session's open, but the last bar
//!   of a live range carries the last trade's time. The trading date is the timestamp's date in
//!   the exchange's zone, `meta.exchangeTimezoneName`; `meta.gmtoffset` is the offset at capture
//!   time, wrong for half the year, and is never used.
//! - `indicators.quote[0]` holds `open/high/low/close/volume` arrays parallel to `timestamp`, in
//!   any key order, any slot possibly `null`; `indicators.adjclose[0].adjclose` the split- and
//!   dividend-adjusted close. Prices are float32 values printed as float64
//!   (`129.0399932861328`): each is read back as the shortest decimal that round-trips the
//!   float32 (`129.04`). Quote prices are already split-adjusted: splits are reported, never
//!   applied.
//! - `events.splits` / `events.dividends` are objects keyed by epoch strings; the `date` field
//!   inside is what counts.
//! - An unknown or delisted symbol answers `{"chart":{"result":null,"error":{…}}}` (HTTP 404).
//!   An answer without bars or without a currency is "no data", never an error of the parser.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Deserialize;
use tickerlake::config::YahooConfig;
use tickerlake::records::{Action, ActionKind, Bar, FetchErrorCode, Ticker};
use tickerlake::{Decimal, Symbol};

use crate::provider::{
    Asker, Fetched, Provider, Request, UP_TO_DATE_DAYS, common_judgement, excerpt, fail, retry,
};
use net::http::{Answer, Failure, Request as HttpRequest};
use net::polite::{Failed, Judged};

/// The provider name written into records.
pub const PROVIDER: &str = "yahoo";

/// Days requested beyond each end of the wanted range: a session's open can fall on the day
/// before in UTC (Sydney, Auckland) or after it (Honolulu-like zones west of UTC), and bars
/// outside the range are dropped by their exchange date anyway.
const MARGIN_DAYS: i64 = 2;

/// The chart request for `yahoo_symbol`, daily bars with dividends and splits, covering the
/// trading dates `start..=end` (both inclusive, in the exchange's zone).
pub fn chart_url(base_url: &str, yahoo_symbol: &str, start: NaiveDate, end: NaiveDate) -> String {
    let epoch = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp())
    };
    let period1 = epoch(start) - MARGIN_DAYS * 86_400;
    let period2 = epoch(end) + (1 + MARGIN_DAYS) * 86_400;
    format!(
        "{}/v8/finance/chart/{}?period1={period1}&period2={period2}&interval=1d&events=div%2Csplit&includeAdjustedClose=true",
        base_url.trim_end_matches('/'),
        encode_path_segment(yahoo_symbol),
    )
}

/// Percent-encodes what may not stand in a URL path segment (`^GSPC` → `%5EGSPC`).
fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'=') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What a chart answer says.
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    /// Bars (date-ordered, one per trading date, within the requested range) and actions.
    Data(ChartData),
    /// A well-formed answer with nothing to use.
    NoData(NoData),
    /// The API's own error object (an unknown or delisted symbol answers this way).
    Error { code: String, description: String },
}

/// Why an answer has nothing to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoData {
    /// A complete answer (meta, currency) without a bar dated in the range: on a range of a
    /// few days, simply no trading day yet.
    NoBarsInRange,
    /// No currency stated: prices of unknown unit are not data.
    NoCurrency,
    /// Neither a result nor an error.
    NoResult,
}

impl std::fmt::Display for NoData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NoData::NoBarsInRange => "no bar in the requested range",
            NoData::NoCurrency => "the answer states no currency",
            NoData::NoResult => "the answer has no result",
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    pub bars: Vec<Bar>,
    pub actions: Vec<Action>,
    /// The quote currency exactly as Yahoo states it (`GBp` is pence).
    pub currency: String,
    /// The exchange's IANA time zone.
    pub time_zone: String,
    /// Rows dropped because every price and the volume were null.
    pub empty_rows: usize,
    /// Dividends and splits that could not be read (what and why): skipped, never fatal.
    pub skipped_events: Vec<String>,
}

/// Why an answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not a chart answer: {0}")]
    Json(String),
    #[error("{field}: {message}")]
    Field {
        field: &'static str,
        message: String,
    },
}

fn field_error(field: &'static str, message: impl Into<String>) -> ParseError {
    ParseError::Field {
        field,
        message: message.into(),
    }
}

#[derive(Deserialize)]
struct Envelope {
    chart: ChartBody,
}

#[derive(Deserialize)]
struct ChartBody {
    #[serde(default)]
    result: Option<Vec<ChartResult>>,
    #[serde(default)]
    error: Option<ApiError>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
struct ChartResult {
    #[serde(default)]
    meta: Option<Meta>,
    #[serde(default)]
    timestamp: Option<Vec<Option<i64>>>,
    #[serde(default)]
    indicators: Option<Indicators>,
    #[serde(default)]
    events: Option<Events>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    currency: Option<String>,
    #[serde(default, rename = "exchangeTimezoneName")]
    exchange_timezone_name: Option<String>,
}

#[derive(Deserialize)]
struct Indicators {
    #[serde(default)]
    quote: Vec<Quote>,
    #[serde(default)]
    adjclose: Vec<AdjClose>,
}

#[derive(Deserialize, Default)]
struct Quote {
    #[serde(default)]
    open: Vec<Option<f64>>,
    #[serde(default)]
    high: Vec<Option<f64>>,
    #[serde(default)]
    low: Vec<Option<f64>>,
    #[serde(default)]
    close: Vec<Option<f64>>,
    #[serde(default)]
    volume: Vec<Option<f64>>,
}

#[derive(Deserialize, Default)]
struct AdjClose {
    #[serde(default)]
    adjclose: Vec<Option<f64>>,
}

/// Events are read one by one (a malformed one is skipped and reported, never costs the bars).
#[derive(Deserialize, Default)]
struct Events {
    #[serde(default)]
    dividends: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(default)]
    splits: Option<BTreeMap<String, serde_json::Value>>,
}

#[derive(Deserialize)]
struct Dividend {
    amount: Option<f64>,
    date: Option<i64>,
    #[serde(default)]
    currency: Option<String>,
}

#[derive(Deserialize)]
struct Split {
    date: Option<i64>,
    #[serde(default)]
    numerator: Option<f64>,
    #[serde(default)]
    denominator: Option<f64>,
    #[serde(default, rename = "splitRatio")]
    split_ratio: Option<String>,
}

/// Reads a chart answer for `symbol` (the canonical symbol the records carry), keeping the bars
/// and actions dated `start..=end` in the exchange's zone.
pub fn parse_chart(
    body: &[u8],
    symbol: &Symbol,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Chart, ParseError> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| ParseError::Json(e.to_string()))?;
    let result = match envelope.chart.result {
        Some(results) if !results.is_empty() => results.into_iter().next(),
        _ => None,
    };
    let Some(result) = result else {
        return Ok(match envelope.chart.error {
            Some(e) => Chart::Error {
                code: e.code.unwrap_or_default(),
                description: e.description.unwrap_or_default(),
            },
            None => Chart::NoData(NoData::NoResult),
        });
    };
    let meta = result
        .meta
        .ok_or_else(|| field_error("chart.result[0].meta", "missing"))?;
    let Some(currency) = meta.currency.filter(|c| !c.trim().is_empty()) else {
        return Ok(Chart::NoData(NoData::NoCurrency));
    };
    let time_zone_name = meta
        .exchange_timezone_name
        .ok_or_else(|| field_error("meta.exchangeTimezoneName", "missing"))?;
    let zone = jiff::tz::TimeZone::get(&time_zone_name).map_err(|e| {
        field_error(
            "meta.exchangeTimezoneName",
            format!("{time_zone_name:?} is not a known IANA time zone: {e}"),
        )
    })?;
    let local_date = |epoch: i64, field: &'static str| -> Result<NaiveDate, ParseError> {
        let ts = jiff::Timestamp::from_second(epoch)
            .map_err(|e| field_error(field, format!("{epoch} is not a time: {e}")))?;
        let d = ts.to_zoned(zone.clone()).date();
        NaiveDate::from_ymd_opt(
            i32::from(d.year()),
            u32::from(d.month() as u8),
            u32::from(d.day() as u8),
        )
        .ok_or_else(|| field_error(field, format!("{epoch} has no calendar date")))
    };
    let in_range = |d: NaiveDate| start <= d && d <= end;

    let timestamps = result.timestamp.unwrap_or_default();
    let (quote, adjclose) = match result.indicators {
        Some(i) => (
            i.quote.into_iter().next().unwrap_or_default(),
            i.adjclose.into_iter().next().unwrap_or_default(),
        ),
        None => (Quote::default(), AdjClose::default()),
    };
    for (name, len) in [
        ("open", quote.open.len()),
        ("high", quote.high.len()),
        ("low", quote.low.len()),
        ("close", quote.close.len()),
        ("volume", quote.volume.len()),
        ("adjclose", adjclose.adjclose.len()),
    ] {
        // An array may be absent (then every value is null), never of another length.
        if len != 0 && len != timestamps.len() {
            return Err(field_error(
                "indicators",
                format!(
                    "{name} has {len} values for {} timestamps",
                    timestamps.len()
                ),
            ));
        }
    }
    let at = |v: &[Option<f64>], i: usize| v.get(i).copied().flatten();

    // One bar per exchange date; a date seen twice (Yahoo repeats the live bar) keeps the
    // later row.
    let mut by_date: BTreeMap<NaiveDate, Bar> = BTreeMap::new();
    let mut empty_rows = 0;
    for (i, ts) in timestamps.iter().enumerate() {
        let Some(ts) = *ts else { continue };
        let date = local_date(ts, "timestamp")?;
        if !in_range(date) {
            continue;
        }
        let price =
            |v: &[Option<f64>], name: &'static str| -> Result<Option<Decimal>, ParseError> {
                at(v, i).map(|x| price_decimal(x, name)).transpose()
            };
        let bar = Bar {
            symbol: symbol.clone(),
            date,
            open: price(&quote.open, "open")?,
            high: price(&quote.high, "high")?,
            low: price(&quote.low, "low")?,
            close: price(&quote.close, "close")?,
            adj_close: price(&adjclose.adjclose, "adjclose")?,
            volume: at(&quote.volume, i)
                .map(|x| crate::volume::from_f64(x).map_err(|e| field_error("volume", e)))
                .transpose()?,
            vwap: None,
            transactions: None,
            currency: Some(currency.clone()),
            provider: PROVIDER.to_string(),
            source_ts: None,
        };
        if bar.open.is_none()
            && bar.high.is_none()
            && bar.low.is_none()
            && bar.close.is_none()
            && bar.adj_close.is_none()
            && bar.volume.is_none()
        {
            empty_rows += 1;
            continue;
        }
        by_date.insert(date, bar);
    }

    let mut actions = Vec::new();
    let mut skipped_events = Vec::new();
    let events = result.events.unwrap_or_default();
    for (key, value) in events.dividends.unwrap_or_default() {
        let dividend = serde_json::from_value::<Dividend>(value)
            .map_err(|e| e.to_string())
            .and_then(|d| match (d.date, d.amount) {
                (Some(epoch), Some(amount)) => Ok((epoch, amount, d.currency)),
                _ => Err("no date or no amount".to_string()),
            });
        let (epoch, amount, own_currency) = match dividend {
            Ok(d) => d,
            Err(why) => {
                skipped_events.push(format!("dividend {key}: {why}"));
                continue;
            }
        };
        let date = local_date(epoch, "events.dividends.date")?;
        if !in_range(date) {
            continue;
        }
        let amount = match Decimal::from_f64(amount) {
            Ok(a) if !a.is_negative() => a,
            _ => {
                skipped_events.push(format!("dividend {key}: amount {amount}"));
                continue;
            }
        };
        actions.push(Action {
            symbol: symbol.clone(),
            date,
            action: ActionKind::Dividend,
            ratio: None,
            amount: Some(amount),
            currency: Some(own_currency.unwrap_or_else(|| currency.clone())),
            provider: PROVIDER.to_string(),
        });
    }
    for (key, value) in events.splits.unwrap_or_default() {
        let split = serde_json::from_value::<Split>(value).map_err(|e| e.to_string());
        let (epoch, ratio) = match split.and_then(|s| {
            let epoch = s.date.ok_or("no date")?;
            Ok((epoch, split_ratio(&s).map_err(|e| e.to_string())?))
        }) {
            Ok(v) => v,
            Err(why) => {
                skipped_events.push(format!("split {key}: {why}"));
                continue;
            }
        };
        let date = local_date(epoch, "events.splits.date")?;
        if !in_range(date) {
            continue;
        }
        actions.push(Action {
            symbol: symbol.clone(),
            date,
            action: ActionKind::Split,
            ratio: Some(ratio),
            amount: None,
            currency: None,
            provider: PROVIDER.to_string(),
        });
    }
    actions.sort_by_key(|a| (a.date, a.action as u8));

    if by_date.is_empty() {
        return Ok(Chart::NoData(NoData::NoBarsInRange));
    }
    Ok(Chart::Data(ChartData {
        bars: by_date.into_values().collect(),
        actions,
        currency,
        time_zone: time_zone_name,
        empty_rows,
        skipped_events,
    }))
}

/// A quote price: the shortest decimal of the float32 it was, when it was one; otherwise (a
/// value a float32 cannot hold) the shortest decimal of the float64.
fn price_decimal(x: f64, field: &'static str) -> Result<Decimal, ParseError> {
    let narrow = x as f32;
    let d = if f64::from(narrow) == x {
        Decimal::from_f32(narrow)
    } else {
        Decimal::from_f64(x)
    };
    d.map_err(|e| field_error(field, e.to_string()))
}

/// New shares per old share: `numerator / denominator`, or the `"4:1"` text when the numbers
/// are missing.
fn split_ratio(s: &Split) -> Result<Decimal, ParseError> {
    let (num, den) = match (s.numerator, s.denominator) {
        (Some(n), Some(d)) => (n, d),
        _ => {
            let text = s.split_ratio.as_deref().unwrap_or("");
            let parsed = text
                .split_once([':', '/'])
                .and_then(|(n, d)| Some((n.trim().parse().ok()?, d.trim().parse().ok()?)));
            parsed.ok_or_else(|| field_error("events.splits", format!("no ratio in {text:?}")))?
        }
    };
    if !(num > 0.0 && den > 0.0 && num.is_finite() && den.is_finite()) {
        return Err(field_error(
            "events.splits",
            format!("expected a positive ratio, found {num}:{den}"),
        ));
    }
    // Exact when the denominator divides a power of ten (4:1, 1:10, 3:2); otherwise the
    // shortest decimal of the quotient (2:3 → 0.6666666666666666).
    Decimal::from_f64(num / den).map_err(|e| field_error("events.splits", e.to_string()))
}

/// Yahoo Finance's chart API as a provider.
pub struct Yahoo {
    base_url: String,
    config: YahooConfig,
}

impl Yahoo {
    /// `base_url` overrides the configured host (tests, mirrors).
    pub fn new(config: YahooConfig, base_url: Option<String>) -> Yahoo {
        Yahoo {
            base_url: base_url.unwrap_or_else(|| config.base_url.clone()),
            config,
        }
    }

    fn judge(&self, request: &Request, answer: Result<Answer, Failure>) -> Judged<Fetched> {
        let answer = match common_judgement(answer) {
            Ok(a) => a,
            Err(judged) => return judged,
        };
        let symbol = request.symbol();
        match answer.status {
            200 => {}
            404 => {
                let why = match parse_chart(&answer.body, symbol, request.start, request.end) {
                    Ok(Chart::Error { description, .. }) if !description.is_empty() => description,
                    _ => excerpt(&answer.body),
                };
                return fail(FetchErrorCode::NotFound, format!("not found: {why}"));
            }
            // 401/403 (refused), 400…: asking again the same way will not help tonight.
            status => {
                return fail(
                    FetchErrorCode::Net,
                    format!("HTTP {status}: {}", excerpt(&answer.body)),
                );
            }
        }
        match parse_chart(&answer.body, symbol, request.start, request.end) {
            Ok(Chart::Data(d)) => {
                for what in &d.skipped_events {
                    tracing::warn!(%symbol, "an event Yahoo sent could not be read and is skipped: {what}");
                }
                Judged::Done(Fetched::Data {
                    bars: d.bars,
                    actions: d.actions,
                })
            }
            Ok(Chart::NoData(NoData::NoBarsInRange))
                if (request.end - request.start).num_days() < UP_TO_DATE_DAYS =>
            {
                Judged::Done(Fetched::UpToDate)
            }
            Ok(Chart::NoData(why)) => Judged::Retry {
                code: FetchErrorCode::YfEmpty,
                message: why.to_string(),
                once: true,
            },
            Ok(Chart::Error { code, description }) => fail(
                if code.eq_ignore_ascii_case("not found") {
                    FetchErrorCode::NotFound
                } else {
                    FetchErrorCode::Parse
                },
                format!("{code}: {description}"),
            ),
            Err(e) => retry(FetchErrorCode::Parse, e.to_string()),
        }
    }
}

impl Provider for Yahoo {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn provider_symbol(&self, ticker: &Ticker) -> Result<String, String> {
        crate::symbols::yahoo_symbol(ticker, &self.config)
    }

    /// `close` is split-adjusted and `adj_close` split- and dividend-adjusted: both restate.
    fn restated_by(&self, _kind: ActionKind) -> bool {
        true
    }

    fn fetch(
        &self,
        request: &Request,
        symbol: &str,
        ask: &mut Asker<'_>,
    ) -> Result<Fetched, Failed> {
        let url = chart_url(&self.base_url, symbol, request.start, request.end);
        ask.ask(&HttpRequest::get(&url), "json", |answer| {
            self.judge(request, answer)
        })
        .map_err(|mut failed| {
            failed.message = format!("{symbol}: {}", failed.message);
            failed
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/real/yahoo_chart")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn sym(s: &str) -> Symbol {
        Symbol::parse(s).unwrap()
    }

    fn data(chart: Chart) -> ChartData {
        match chart {
            Chart::Data(d) => d,
            other => panic!("expected data, got {other:?}"),
        }
    }

    fn d(s: &str) -> Option<Decimal> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn a_split_is_reported_and_never_applied() {
        let body = fixture("AAPL_1d_2020-08-31_2020-11-07_split4to1.body.json");
        let c =
            data(parse_chart(&body, &sym("AAPL"), date("2020-01-01"), date("2020-12-31")).unwrap());
        assert_eq!(c.bars.len(), 49);
        assert_eq!(c.currency, "USD");
        assert_eq!(c.time_zone, "America/New_York");
        let first = &c.bars[0];
        // The ex-split day, already split-adjusted: 129.04, not 516.16.
        assert_eq!(first.date, date("2020-08-31"));
        assert_eq!(first.close, d("129.04"));
        assert_eq!(first.open, d("127.58"));
        assert_eq!(first.high, d("131"));
        assert_eq!(first.low, d("126"));
        assert_eq!(first.volume, Some(tickerlake::Volume::Whole(225_702_700)));
        assert_eq!(first.currency.as_deref(), Some("USD"));
        assert_eq!(first.provider, "yahoo");
        // Dates strictly increasing, none on a weekend.
        use chrono::Datelike;
        for w in c.bars.windows(2) {
            assert!(w[0].date < w[1].date);
        }
        assert!(
            c.bars
                .iter()
                .all(|b| b.date.weekday().number_from_monday() <= 5)
        );
        assert_eq!(
            c.actions,
            vec![
                Action {
                    symbol: sym("AAPL"),
                    date: date("2020-08-31"),
                    action: ActionKind::Split,
                    ratio: d("4"),
                    amount: None,
                    currency: None,
                    provider: "yahoo".into(),
                },
                Action {
                    symbol: sym("AAPL"),
                    date: date("2020-11-06"),
                    action: ActionKind::Dividend,
                    ratio: None,
                    amount: d("0.205"),
                    currency: Some("USD".into()),
                    provider: "yahoo".into(),
                },
            ]
        );
        // The EST-to-EDT change does not move any date: 2020-11-02 (after the change) exists.
        assert!(c.bars.iter().any(|b| b.date == date("2020-11-02")));
    }

    #[test]
    fn xetra_dates_are_berlin_dates() {
        let body = fixture("WSU.DE_1d_2023-08-04_2023-08-09.body.json");
        let c =
            data(parse_chart(&body, &sym("WSU"), date("2023-08-01"), date("2023-08-31")).unwrap());
        let dates: Vec<String> = c.bars.iter().map(|b| b.date.to_string()).collect();
        assert_eq!(dates, ["2023-08-04", "2023-08-07", "2023-08-08"]);
        assert_eq!(c.currency, "EUR");
        assert_eq!(c.bars[0].close, d("34.45"));
        assert_eq!(c.bars[0].adj_close, d("32.632496"));
        assert_eq!(c.bars[1].close, d("34"));
        assert_eq!(c.bars[2].volume, Some(tickerlake::Volume::Whole(10_846)));
        // Records carry the canonical symbol, not Yahoo's.
        assert!(c.bars.iter().all(|b| b.symbol.as_str() == "WSU"));
    }

    #[test]
    fn the_live_last_bar_keeps_its_trading_date() {
        let body = fixture("AAPL_1d_6mo_20251029.json");
        let c =
            data(parse_chart(&body, &sym("AAPL"), date("2025-01-01"), date("2025-12-31")).unwrap());
        assert_eq!(c.bars.len(), 127);
        assert_eq!(c.bars[0].date, date("2025-04-30"));
        // Stamped 20:00:01Z, the last trade: still 2025-10-29 in New York.
        assert_eq!(c.bars.last().unwrap().date, date("2025-10-29"));
        let dividends = c
            .actions
            .iter()
            .filter(|a| a.action == ActionKind::Dividend)
            .count();
        assert_eq!(dividends, 2);
    }

    #[test]
    fn the_recordings_and_their_bodies_agree() {
        for (recording, body) in [
            (
                "AAPL_1d_2020-08-31_2020-11-07_split4to1.recording.json",
                "AAPL_1d_2020-08-31_2020-11-07_split4to1.body.json",
            ),
            (
                "WSU.DE_1d_2023-08-04_2023-08-09.recording.json",
                "WSU.DE_1d_2023-08-04_2023-08-09.body.json",
            ),
        ] {
            let wrapped: serde_json::Value = serde_json::from_slice(&fixture(recording)).unwrap();
            let inner = serde_json::to_vec(&wrapped["response"]["bodyJson"]).unwrap();
            let range = (date("2000-01-01"), date("2030-01-01"));
            assert_eq!(
                parse_chart(&inner, &sym("X"), range.0, range.1).unwrap(),
                parse_chart(&fixture(body), &sym("X"), range.0, range.1).unwrap()
            );
        }
    }

    #[test]
    fn the_range_is_inclusive_and_cuts_bars_and_actions() {
        let body = fixture("AAPL_1d_2020-08-31_2020-11-07_split4to1.body.json");
        let c =
            data(parse_chart(&body, &sym("AAPL"), date("2020-09-01"), date("2020-11-06")).unwrap());
        assert_eq!(c.bars.first().unwrap().date, date("2020-09-01"));
        assert_eq!(c.bars.last().unwrap().date, date("2020-11-06"));
        assert_eq!(c.actions.len(), 1, "the split on 08-31 is outside");
        let none =
            parse_chart(&body, &sym("AAPL"), date("2021-01-01"), date("2021-01-31")).unwrap();
        assert_eq!(none, Chart::NoData(NoData::NoBarsInRange));
    }

    fn minimal(meta: &str, timestamps: &str, quote: &str) -> Vec<u8> {
        format!(
            r#"{{"chart":{{"result":[{{"meta":{meta},"timestamp":{timestamps},"indicators":{{"quote":[{quote}],"adjclose":[{{"adjclose":[1.5,null,2.5]}}]}}}}],"error":null}}}}"#
        )
        .into_bytes()
    }

    #[test]
    fn nulls_stay_null_and_rows_with_nothing_are_dropped() {
        let body = minimal(
            r#"{"currency":"GBp","exchangeTimezoneName":"Europe/London"}"#,
            "[1704186000,1704272400,1704358800]",
            r#"{"volume":[100,null,null],"close":[1.5,null,null],"open":[null,null,2.0],"high":[1.5,null,2.0],"low":[1.5,null,2.0]}"#,
        );
        let c =
            data(parse_chart(&body, &sym("VOD"), date("2024-01-01"), date("2024-12-31")).unwrap());
        assert_eq!(c.bars.len(), 2);
        assert_eq!(c.empty_rows, 1);
        assert_eq!(c.bars[0].open, None);
        assert_eq!(c.bars[0].close, d("1.5"));
        assert_eq!(c.bars[1].volume, None);
        assert_eq!(c.bars[1].close, None);
        // Pence stay pence.
        assert_eq!(c.bars[0].currency.as_deref(), Some("GBp"));
    }

    #[test]
    fn no_bars_no_currency_or_an_api_error_are_answers_not_crashes() {
        let no_currency = minimal(
            r#"{"exchangeTimezoneName":"America/New_York"}"#,
            "[1704186000]",
            r#"{"close":[1.0]}"#,
        );
        assert!(matches!(
            parse_chart(
                &no_currency,
                &sym("A"),
                date("2024-01-01"),
                date("2024-12-31")
            ),
            Ok(Chart::NoData(_))
        ));
        let no_timestamps = br#"{"chart":{"result":[{"meta":{"currency":"USD","exchangeTimezoneName":"America/New_York"},"indicators":{"quote":[{}],"adjclose":[{}]}}],"error":null}}"#;
        assert!(matches!(
            parse_chart(
                no_timestamps,
                &sym("A"),
                date("2024-01-01"),
                date("2024-12-31")
            ),
            Ok(Chart::NoData(_))
        ));
        let not_found = br#"{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}"#;
        assert_eq!(
            parse_chart(not_found, &sym("A"), date("2024-01-01"), date("2024-12-31")).unwrap(),
            Chart::Error {
                code: "Not Found".into(),
                description: "No data found, symbol may be delisted".into()
            }
        );
    }

    #[test]
    fn broken_answers_are_errors_naming_what_is_wrong() {
        for (body, wanted) in [
            (
                &b"{\"chart\":{\"result\":[{\"meta\""[..],
                "not a chart answer",
            ),
            (&b"<html>rate limited</html>"[..], "not a chart answer"),
            (
                &minimal(
                    r#"{"currency":"USD","exchangeTimezoneName":"America/New_York"}"#,
                    "[1704186000,1704272400,1704358800]",
                    r#"{"close":[1.0]}"#,
                )[..],
                "close has 1 values for 3 timestamps",
            ),
            (
                &minimal(
                    r#"{"currency":"USD","exchangeTimezoneName":"Mars/Olympus"}"#,
                    "[1704186000,1704272400,1704358800]",
                    r#"{}"#,
                )[..],
                "not a known IANA time zone",
            ),
            (
                &minimal(
                    r#"{"currency":"USD","exchangeTimezoneName":"America/New_York"}"#,
                    "[1704186000,1704272400,1704358800]",
                    r#"{"volume":[-1.5,2,3]}"#,
                )[..],
                "volume: expected a volume ≥ 0, found -1.5",
            ),
        ] {
            let e = parse_chart(body, &sym("A"), date("2024-01-01"), date("2024-12-31"))
                .expect_err("an error");
            assert!(
                e.to_string().contains(wanted),
                "{e} does not say {wanted:?}"
            );
        }
    }

    #[test]
    fn a_malformed_event_is_skipped_and_reported_the_bars_stay() {
        let body = br#"{"chart":{"result":[{"meta":{"currency":"USD","exchangeTimezoneName":"America/New_York"},"timestamp":[1704205800],"indicators":{"quote":[{"close":[1.5]}]},"events":{"dividends":{"1":{"amount":"0.2","date":1704205800},"2":{"date":1704205800},"3":{"amount":0.24,"date":1704205800}},"splits":{"4":{"date":1704205800,"numerator":0,"denominator":1},"5":null}}}],"error":null}}"#;
        let c = data(parse_chart(body, &sym("A"), date("2024-01-01"), date("2024-12-31")).unwrap());
        assert_eq!(c.bars.len(), 1);
        assert_eq!(c.actions.len(), 1);
        assert_eq!(c.actions[0].amount, d("0.24"));
        assert_eq!(c.skipped_events.len(), 4, "{:?}", c.skipped_events);
        // Events: null, or absent, are no events.
        let body = br#"{"chart":{"result":[{"meta":{"currency":"USD","exchangeTimezoneName":"America/New_York"},"timestamp":[1704205800],"indicators":{"quote":[{"close":[1.5]}]},"events":{"dividends":null}}],"error":null}}"#;
        let c = data(parse_chart(body, &sym("A"), date("2024-01-01"), date("2024-12-31")).unwrap());
        assert!(c.actions.is_empty() && c.skipped_events.is_empty());
    }

    #[test]
    fn history_before_1970_has_its_dates() {
        // ^GSPC-like: 1962-01-02 14:30Z, a negative epoch.
        let body = br#"{"chart":{"result":[{"meta":{"currency":"USD","exchangeTimezoneName":"America/New_York"},"timestamp":[-252322200],"indicators":{"quote":[{"close":[70.96]}]}}],"error":null}}"#;
        let c = data(parse_chart(body, &sym("A"), date("1900-01-01"), date("2024-12-31")).unwrap());
        assert_eq!(c.bars[0].date, date("1962-01-02"));
    }

    #[test]
    fn a_date_seen_twice_keeps_the_later_row() {
        // The live bar repeated: 14:30Z open and 21:00Z last trade of the same New York day.
        let body = minimal(
            r#"{"currency":"USD","exchangeTimezoneName":"America/New_York"}"#,
            "[1704205800,1704229200,1704292200]",
            r#"{"close":[1.0,1.25,2.0]}"#,
        );
        let c =
            data(parse_chart(&body, &sym("A"), date("2024-01-01"), date("2024-12-31")).unwrap());
        assert_eq!(c.bars.len(), 2);
        assert_eq!(c.bars[0].close, d("1.25"));
    }

    #[test]
    fn float32_prices_read_back_as_their_short_decimals() {
        assert_eq!(price_decimal(129.0399932861328, "close").ok(), d("129.04"));
        assert_eq!(
            price_decimal(32.63249588012695, "close").ok(),
            d("32.632496")
        );
        // Not a float32: the float64's own shortest digits.
        assert_eq!(price_decimal(244.87, "close").ok(), d("244.87"));
        assert_eq!(price_decimal(0.1, "close").ok(), d("0.1"));
    }

    #[test]
    fn split_ratios() {
        let split = |n: Option<f64>, dd: Option<f64>, text: Option<&str>| Split {
            date: Some(0),
            numerator: n,
            denominator: dd,
            split_ratio: text.map(str::to_string),
        };
        assert_eq!(split_ratio(&split(Some(4.0), Some(1.0), None)).ok(), d("4"));
        assert_eq!(
            split_ratio(&split(Some(1.0), Some(10.0), None)).ok(),
            d("0.1")
        );
        assert_eq!(
            split_ratio(&split(Some(3.0), Some(2.0), None)).ok(),
            d("1.5")
        );
        assert_eq!(
            split_ratio(&split(None, None, Some("1:20"))).ok(),
            d("0.05")
        );
        assert!(split_ratio(&split(Some(0.0), Some(1.0), None)).is_err());
        assert!(split_ratio(&split(None, None, Some("n/a"))).is_err());
    }

    #[test]
    fn urls_ask_for_daily_bars_and_events_around_the_range() {
        let url = chart_url(
            "http://127.0.0.1:9/",
            "^GSPC",
            date("2024-01-02"),
            date("2024-01-05"),
        );
        assert_eq!(
            url,
            "http://127.0.0.1:9/v8/finance/chart/%5EGSPC?period1=1703980800&period2=1704672000&interval=1d&events=div%2Csplit&includeAdjustedClose=true"
        );
    }
}
