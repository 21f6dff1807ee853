//! Polygon.io's REST API: daily aggregates, splits and dividends.
//!
//! What the answers look like, and their traps (`../shared/fixtures/real/PROVENANCE.md` §8):
//! - aggregates: `{"ticker","resultsCount","adjusted","results":[{v,vw,o,c,h,l,t,n}],"status",
//!   "next_url"?}`; `t` is **milliseconds** at midnight New York time of the bar's day; `v` can
//!   come in exponent notation (`1.12117471e+08`) and is absent for index tickers (`I:NDX`):
//!   null, not 0; `results` is absent when there is nothing;
//! - a long answer is cut into pages: `next_url` is the next page's full address (the key is
//!   not in it), followed until absent;
//! - splits: `{"execution_date","split_from","split_to","ticker"}`, new shares per old share
//!   `split_to / split_from`; dividends: `cash_amount`, `ex_dividend_date`, `currency` (not in
//!   every answer);
//! - tickers in the CTA/CQS spelling (`BRK.B`, `ABRpD`), indices with an `I:` prefix.
//!
//! The key (`${POLYGON_API_KEY}`) goes in an `Authorization` header, never in a URL, so no
//! logged address or kept answer holds it; a refused key stops the run (exit 78).

use chrono::NaiveDate;
use serde::Deserialize;
use tickerlake::config::Polygon as PolygonConfig;
use tickerlake::listing;
use tickerlake::records::{Action, ActionKind, Bar, FetchErrorCode, Ticker};
use tickerlake::{Decimal, Symbol};

use crate::provider::{
    Asker, Fetched, Provider, Request, UP_TO_DATE_DAYS, common_judgement, excerpt, fail, retry,
};
use net::http::{Answer, Failure, Request as HttpRequest};
use net::polite::{Failed, Judged};

/// The provider name written into records.
pub const PROVIDER: &str = "polygon";

/// Results per page asked for (the API's maximum for aggregates is 50,000).
const AGGS_LIMIT: u32 = 50_000;
const REFERENCE_LIMIT: u32 = 1000;
/// Pages followed for one question before the answer is called endless.
const MAX_PAGES: u32 = 10_000;

/// The zone of Polygon's US day boundaries.
const NEW_YORK: &str = "America/New_York";

/// Why an answer could not be read: the JSON path of the field, and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ParseError {
    pub field: String,
    pub message: String,
}

fn parse_error(field: impl Into<String>, message: impl Into<String>) -> ParseError {
    ParseError {
        field: field.into(),
        message: message.into(),
    }
}

/// One page of aggregates.
#[derive(Debug, Clone, PartialEq)]
pub struct AggsPage {
    /// Bars dated in the asked range, in the order sent.
    pub bars: Vec<Bar>,
    pub next_url: Option<String>,
}

#[derive(Deserialize)]
struct AggsBody {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    results: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    next_url: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Before any history Polygon serves (its stocks begin in the 2000s): a time before it is
/// damage (a zero, seconds where milliseconds belong), never a bar of 1970.
const EARLIEST_YEAR: i32 = 1980;

/// A trading day from an epoch in milliseconds: its date in New York. Times before
/// [`EARLIEST_YEAR`] or after `latest` are damage.
fn ny_date(ms: i64, field: &str, latest: NaiveDate) -> Result<NaiveDate, ParseError> {
    let ts = jiff::Timestamp::from_millisecond(ms)
        .map_err(|e| parse_error(field, format!("{ms} is no time: {e}")))?;
    let zone = jiff::tz::TimeZone::get(NEW_YORK).unwrap_or(jiff::tz::TimeZone::UTC);
    let d = ts.to_zoned(zone).date();
    let date = NaiveDate::from_ymd_opt(
        i32::from(d.year()),
        u32::try_from(d.month()).unwrap_or(1),
        u32::try_from(d.day()).unwrap_or(1),
    )
    .ok_or_else(|| parse_error(field, format!("{ms} is no date")))?;
    if date.year() < EARLIEST_YEAR || date > latest {
        return Err(parse_error(
            field,
            format!("{ms} ms is {date}, outside {EARLIEST_YEAR} to {latest}: a damaged time"),
        ));
    }
    Ok(date)
}

use chrono::Datelike;

fn number(row: &serde_json::Value, key: &str, i: usize) -> Result<Option<f64>, ParseError> {
    match row.get(key) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| {
                parse_error(
                    format!("results[{i}].{key}"),
                    format!(
                        "expected a number, found {}",
                        tickerlake::echo::shorten(&v.to_string())
                    ),
                )
            }),
    }
}

fn price(row: &serde_json::Value, key: &str, i: usize) -> Result<Option<Decimal>, ParseError> {
    number(row, key, i)?
        .map(|x| {
            Decimal::from_f64(x)
                .map_err(|e| parse_error(format!("results[{i}].{key}"), e.to_string()))
        })
        .transpose()
}

/// Reads a page of aggregates for `symbol`, keeping bars dated `start..=end`.
pub fn parse_aggs(
    body: &[u8],
    symbol: &Symbol,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<AggsPage, ParseError> {
    let page: AggsBody = serde_json::from_slice(body)
        .map_err(|e| parse_error("body", format!("not an aggregates answer: {e}")))?;
    match page.status.as_deref() {
        Some("OK" | "DELAYED") => {}
        other => {
            let why = page.error.or(page.message).unwrap_or_default();
            return Err(parse_error(
                "status",
                format!(
                    "{:?}: {}",
                    other.unwrap_or(""),
                    tickerlake::echo::shorten(&why)
                ),
            ));
        }
    }
    // A day past --end cannot be a bar yet; one more covers New York being behind UTC.
    let latest = end.max(chrono::Utc::now().date_naive()) + chrono::Days::new(1);
    let mut bars: Vec<Bar> = Vec::new();
    for (i, row) in page.results.unwrap_or_default().iter().enumerate() {
        let t = row
            .get("t")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| parse_error(format!("results[{i}].t"), "missing or not an integer"))?;
        let date = ny_date(t, &format!("results[{i}].t"), latest)?;
        if date < start || date > end {
            continue;
        }
        let volume = number(row, "v", i)?
            .map(|v| {
                crate::volume::from_f64(v).map_err(|e| parse_error(format!("results[{i}].v"), e))
            })
            .transpose()?;
        let transactions = number(row, "n", i)?
            .map(|v| {
                crate::volume::count_from_f64(v)
                    .map_err(|e| parse_error(format!("results[{i}].n"), e))
            })
            .transpose()?;
        if let Some(last) = bars.last()
            && date <= last.date
        {
            return Err(parse_error(
                format!("results[{i}].t"),
                format!(
                    "{date} does not follow {}: bars must be ascending, one per day",
                    last.date
                ),
            ));
        }
        bars.push(Bar {
            symbol: symbol.clone(),
            date,
            open: price(row, "o", i)?,
            high: price(row, "h", i)?,
            low: price(row, "l", i)?,
            close: price(row, "c", i)?,
            adj_close: None,
            volume,
            vwap: price(row, "vw", i)?,
            transactions,
            currency: Some("USD".into()),
            provider: PROVIDER.into(),
            source_ts: None,
        });
    }
    Ok(AggsPage {
        bars,
        next_url: page.next_url.filter(|u| !u.is_empty()),
    })
}

#[derive(Deserialize)]
struct ReferenceBody {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    results: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    next_url: Option<String>,
}

/// One page of splits or dividends.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionsPage {
    pub actions: Vec<Action>,
    /// Tickers that name no listing tickerlake can spell (skipped).
    pub skipped: Vec<String>,
    pub next_url: Option<String>,
}

/// Reads a page of `/v3/reference/splits` or `/v3/reference/dividends`.
pub fn parse_actions(body: &[u8], kind: ActionKind) -> Result<ActionsPage, ParseError> {
    let page: ReferenceBody = serde_json::from_slice(body)
        .map_err(|e| parse_error("body", format!("not a reference answer: {e}")))?;
    if let Some(s) = page.status.as_deref()
        && s != "OK"
    {
        return Err(parse_error(
            "status",
            format!("{:?}", tickerlake::echo::shorten(s)),
        ));
    }
    let mut out = ActionsPage {
        actions: Vec::new(),
        skipped: Vec::new(),
        next_url: page.next_url.filter(|u| !u.is_empty()),
    };
    for (i, row) in page.results.unwrap_or_default().iter().enumerate() {
        let field = |k: &str| format!("results[{i}].{k}");
        let ticker = row
            .get("ticker")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| parse_error(field("ticker"), "missing"))?;
        let Some(symbol) = symbol_of(ticker) else {
            out.skipped.push(ticker.to_string());
            continue;
        };
        let date_key = match kind {
            ActionKind::Split => "execution_date",
            ActionKind::Dividend => "ex_dividend_date",
        };
        let date_text = row
            .get(date_key)
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| parse_error(field(date_key), "missing"))?;
        let date = tickerlake::records::date_format::parse(date_text)
            .map_err(|e| parse_error(field(date_key), e))?;
        let action = match kind {
            ActionKind::Split => {
                let from = number(row, "split_from", i)?;
                let to = number(row, "split_to", i)?;
                let (Some(from), Some(to)) = (from, to) else {
                    return Err(parse_error(
                        field("split_from"),
                        "a split needs split_from and split_to",
                    ));
                };
                if !(from > 0.0 && to > 0.0) {
                    return Err(parse_error(
                        field("split_to"),
                        format!("expected a positive ratio, found {to}:{from}"),
                    ));
                }
                let ratio = Decimal::from_f64(to / from)
                    .map_err(|e| parse_error(field("split_to"), e.to_string()))?;
                Action {
                    symbol,
                    date,
                    action: ActionKind::Split,
                    ratio: Some(ratio),
                    amount: None,
                    currency: None,
                    provider: PROVIDER.into(),
                }
            }
            ActionKind::Dividend => {
                let amount = number(row, "cash_amount", i)?
                    .ok_or_else(|| parse_error(field("cash_amount"), "missing"))?;
                let amount = Decimal::from_f64(amount)
                    .map_err(|e| parse_error(field("cash_amount"), e.to_string()))?;
                Action {
                    symbol,
                    date,
                    action: ActionKind::Dividend,
                    ratio: None,
                    amount: Some(amount),
                    currency: row
                        .get("currency")
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_string),
                    provider: PROVIDER.into(),
                }
            }
        };
        out.actions.push(action);
    }
    Ok(out)
}

/// The canonical symbol of a Polygon ticker (`ABRpD` → `ABR-D`, `I:NDX` → `^NDX`); `None` for
/// one tickerlake cannot name.
pub fn symbol_of(ticker: &str) -> Option<Symbol> {
    if let Some(index) = ticker.strip_prefix("I:") {
        return Symbol::parse(&format!("^{index}")).ok();
    }
    listing::canonical(ticker, listing::Spelling::Cqs)
        .ok()
        .map(|c| c.symbol)
}

/// The Polygon ticker of a listing: US names in the CQS spelling, indices as `I:…`.
pub fn polygon_ticker(ticker: &Ticker) -> Result<String, String> {
    let name = ticker.symbol.as_str();
    if let Some(index) = name.strip_prefix('^') {
        return Ok(format!("I:{index}"));
    }
    if name.contains('=') {
        return Err("Polygon's stocks API has no futures or currencies".into());
    }
    if let (_, Some(venue)) = listing::split(name) {
        return Err(format!(
            "Polygon's stocks API covers US listings, not {}",
            venue.mic
        ));
    }
    if let Some(mic) = ticker.exchange.as_deref()
        && !listing::is_us_venue(mic)
    {
        return Err(format!(
            "Polygon's stocks API covers US listings, not {mic}"
        ));
    }
    listing::cqs_spelled(name).ok_or_else(|| format!("{name} has no Polygon spelling"))
}

/// Percent-encodes a path segment (`I:NDX` keeps its colon; Polygon reads it).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Polygon's REST API as a provider.
#[derive(Clone)]
pub struct PolygonRest {
    base_url: String,
    /// The `Authorization` header; its value is the key.
    auth: Vec<(String, String)>,
    adjusted: bool,
    /// Dividends too, per symbol (`--actions` without `--actions-window`).
    dividends: bool,
}

impl PolygonRest {
    /// `base_url` overrides the configured host. Without a key there is nothing to ask.
    pub fn new(
        config: &PolygonConfig,
        base_url: Option<String>,
        dividends: bool,
    ) -> Result<PolygonRest, String> {
        // The key comes from the environment only: a value written into config.yaml (not
        // `${POLYGON_API_KEY}`) is refused, never used nor echoed.
        let env_key = std::env::var("POLYGON_API_KEY").unwrap_or_default();
        if !config.api_key.is_empty() && config.api_key.expose() != env_key {
            return Err(
                "providers.polygon.api_key must be ${POLYGON_API_KEY}: the key comes from the \
                 environment only, never written into config.yaml"
                    .into(),
            );
        }
        if env_key.is_empty() {
            return Err(
                "POLYGON_API_KEY is not set: the key of your Polygon account comes from the \
                 environment"
                    .into(),
            );
        }
        Ok(PolygonRest {
            base_url: base_url
                .unwrap_or_else(|| config.base_url.clone())
                .trim_end_matches('/')
                .to_string(),
            auth: vec![("Authorization".into(), format!("Bearer {env_key}"))],
            adjusted: config.adjusted,
            dividends,
        })
    }

    /// Asks `first` and every page after it, handing each body to `read`, which returns the
    /// next page's address. Pages must stay on the API's host: the key is never sent elsewhere.
    fn pages(
        &self,
        ask: &mut Asker<'_>,
        first: String,
        mut read: impl FnMut(&[u8]) -> Result<Option<String>, ParseError>,
    ) -> Result<(), Failed> {
        let mut url = first;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..MAX_PAGES {
            let request = HttpRequest {
                headers: &self.auth,
                ..HttpRequest::get(&url)
            };
            let next = ask.ask(&request, "json", |answer| {
                let answer = match judge_status(answer) {
                    Ok(a) => a,
                    Err(j) => return j,
                };
                match read(&answer.body) {
                    Ok(next) => Judged::Done(next),
                    Err(e) => retry(FetchErrorCode::Parse, e.to_string()),
                }
            })?;
            let Some(next) = next else { return Ok(()) };
            if !next.starts_with(&format!("{}/", self.base_url)) {
                return Err(failed(
                    FetchErrorCode::Parse,
                    format!(
                        "next_url leaves {} ({}): not followed, the key stays with the API",
                        self.base_url,
                        tickerlake::echo::shorten(&next)
                    ),
                ));
            }
            if !seen.insert(next.clone()) {
                return Err(failed(
                    FetchErrorCode::Parse,
                    "next_url repeats a page already read",
                ));
            }
            url = next;
        }
        Err(failed(
            FetchErrorCode::Parse,
            format!("more than {MAX_PAGES} pages"),
        ))
    }

    fn actions(
        &self,
        ask: &mut Asker<'_>,
        kind: ActionKind,
        ticker: Option<&str>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Action>, Failed> {
        let (path, date_key) = match kind {
            ActionKind::Split => ("splits", "execution_date"),
            ActionKind::Dividend => ("dividends", "ex_dividend_date"),
        };
        let mut url = format!(
            "{}/v3/reference/{path}?{date_key}.gte={from}&{date_key}.lte={to}&limit={REFERENCE_LIMIT}",
            self.base_url
        );
        if let Some(t) = ticker {
            url.push_str(&format!("&ticker={}", encode(t)));
        }
        let mut out = Vec::new();
        let mut skipped = 0usize;
        self.pages(ask, url, |body| {
            let page = parse_actions(body, kind)?;
            skipped += page.skipped.len();
            out.extend(page.actions);
            Ok(page.next_url)
        })?;
        if skipped > 0 {
            tracing::debug!(skipped, "{path}: tickers without a tickerlake name skipped");
        }
        // The reference endpoints answer any ticker when one is asked for a company's other
        // classes too: only the asked one's count.
        if let Some(t) = ticker {
            out.retain(|a| polygon_ticker(&Ticker::new(a.symbol.clone())).is_ok_and(|p| p == t));
        }
        Ok(out)
    }

    /// Splits and dividends of every ticker dated `from..=to` (announced ones included).
    pub fn market_actions(
        &self,
        ask: &mut Asker<'_>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Action>, Failed> {
        let mut all = self.actions(ask, ActionKind::Split, None, from, to)?;
        all.extend(self.actions(ask, ActionKind::Dividend, None, from, to)?);
        all.sort_by(|a, b| (&a.symbol, a.date).cmp(&(&b.symbol, b.date)));
        Ok(all)
    }
}

fn failed(code: FetchErrorCode, message: impl Into<String>) -> Failed {
    Failed {
        code,
        attempts: 1,
        message: message.into(),
        breaker_open: false,
    }
}

/// Polygon's statuses: a refused key stops everything (and its body is not echoed); others as
/// every provider's.
fn judge_status<T>(answer: Result<Answer, Failure>) -> Result<Answer, Judged<T>> {
    let answer = common_judgement(answer)?;
    match answer.status {
        200 => Ok(answer),
        401 | 403 => Err(fail(
            FetchErrorCode::Auth,
            format!(
                "Polygon refused the API key (HTTP {}): check POLYGON_API_KEY and the plan's access",
                answer.status
            ),
        )),
        404 => Err(fail(FetchErrorCode::NotFound, "not found (HTTP 404)")),
        status => Err(fail(
            FetchErrorCode::Net,
            format!("HTTP {status}: {}", excerpt(&answer.body)),
        )),
    }
}

impl Provider for PolygonRest {
    fn name(&self) -> &'static str {
        PROVIDER
    }

    fn provider_symbol(&self, ticker: &Ticker) -> Result<String, String> {
        polygon_ticker(ticker)
    }

    /// Adjusted aggregates are split-adjusted only; unadjusted ones never change.
    fn restated_by(&self, kind: ActionKind) -> bool {
        self.adjusted && kind == ActionKind::Split
    }

    fn fetch(
        &self,
        request: &Request,
        symbol: &str,
        ask: &mut Asker<'_>,
    ) -> Result<Fetched, Failed> {
        let url = format!(
            "{}/v2/aggs/ticker/{}/range/1/day/{}/{}?adjusted={}&sort=asc&limit={AGGS_LIMIT}",
            self.base_url,
            encode(symbol),
            request.start,
            request.end,
            self.adjusted
        );
        let mut bars: Vec<Bar> = Vec::new();
        let named = |mut f: Failed| {
            f.message = format!("{symbol}: {}", f.message);
            f
        };
        self.pages(ask, url, |body| {
            let page = parse_aggs(body, request.symbol(), request.start, request.end)?;
            if let (Some(last), Some(first)) = (bars.last(), page.bars.first())
                && first.date <= last.date
            {
                return Err(parse_error(
                    "results[0].t",
                    format!(
                        "a page starts at {} before the last page's {}",
                        first.date, last.date
                    ),
                ));
            }
            bars.extend(page.bars);
            Ok(page.next_url)
        })
        .map_err(named)?;
        // Index aggregates come without a currency's meaning for volume; prices are points.
        if symbol.starts_with("I:") {
            for b in &mut bars {
                b.currency = None;
            }
        }
        let mut actions = Vec::new();
        if !symbol.starts_with("I:") && (self.adjusted || self.dividends) {
            actions = self
                .actions(
                    ask,
                    ActionKind::Split,
                    Some(symbol),
                    request.start,
                    request.end,
                )
                .map_err(named)?;
            if self.dividends {
                actions.extend(
                    self.actions(
                        ask,
                        ActionKind::Dividend,
                        Some(symbol),
                        request.start,
                        request.end,
                    )
                    .map_err(named)?,
                );
            }
            for a in &mut actions {
                a.symbol = request.symbol().clone();
            }
            actions.sort_by_key(|a| a.date);
        }
        if bars.is_empty() {
            if (request.end - request.start).num_days() < UP_TO_DATE_DAYS {
                return Ok(Fetched::UpToDate);
            }
            return Err(named(failed(
                FetchErrorCode::YfEmpty,
                "no aggregates in the range (an unknown ticker, or none traded)",
            )));
        }
        Ok(Fetched::Data { bars, actions })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/real/polygon_rest")
            .join(name);
        std::fs::read(path).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_genuine_aggregates_read_as_new_york_days_with_exact_volumes() {
        let body = fixture("v2_aggs_AAPL_1_day_2023-01-01_2023-01-10_asc.body.json");
        let aapl = Symbol::parse("AAPL").unwrap();
        let page = parse_aggs(&body, &aapl, day("2023-01-01"), day("2023-01-10")).unwrap();
        assert_eq!(page.next_url, None);
        let dates: Vec<String> = page.bars.iter().map(|b| b.date.to_string()).collect();
        assert_eq!(
            dates,
            [
                "2023-01-03",
                "2023-01-04",
                "2023-01-05",
                "2023-01-06",
                "2023-01-09",
                "2023-01-10"
            ]
        );
        let first = &page.bars[0];
        assert_eq!(first.volume, Some(tickerlake::Volume::Whole(112_117_471)));
        assert_eq!(first.open.unwrap().to_string(), "130.28");
        assert_eq!(first.close.unwrap().to_string(), "125.07");
        assert_eq!(first.vwap.unwrap().to_string(), "125.725");
        assert_eq!(first.transactions, Some(1_021_065));
        assert_eq!(first.adj_close, None);
        assert_eq!(first.provider, "polygon");
        // A narrower range keeps its days only.
        let page = parse_aggs(&body, &aapl, day("2023-01-05"), day("2023-01-06")).unwrap();
        assert_eq!(page.bars.len(), 2);
    }

    #[test]
    fn damaged_aggregates_are_refused_with_the_field_never_as_1970() {
        let aapl = Symbol::parse("AAPL").unwrap();
        let parse = |s: &str| parse_aggs(s.as_bytes(), &aapl, day("1900-01-01"), day("2030-01-01"));
        let e = parse(r#"{"status":"OK","results":[{"o":1,"h":1,"l":1,"c":1,"v":1,"t":0}]}"#)
            .unwrap_err();
        assert_eq!(e.field, "results[0].t");
        assert!(e.message.contains("damaged"), "{e}");
        // Seconds where milliseconds belong read as January 1970: refused the same way.
        let e = parse(r#"{"status":"OK","results":[{"c":1,"t":1672722000}]}"#).unwrap_err();
        assert_eq!(e.field, "results[0].t");
        let e = parse(r#"{"status":"OK","results":[{"c":"x","t":1672722000000}]}"#).unwrap_err();
        assert_eq!(e.field, "results[0].c");
        let e =
            parse(r#"{"status":"OK","results":[{"c":1,"v":-2,"t":1672722000000}]}"#).unwrap_err();
        assert_eq!(e.field, "results[0].v");
        // A fractional volume is kept as sent; a fractional trade count is damage.
        let p = parse(r#"{"status":"OK","results":[{"c":1,"v":2.5,"t":1672722000000}]}"#).unwrap();
        assert_eq!(p.bars[0].volume, Some(tickerlake::Volume::Fractional(2.5)));
        let e =
            parse(r#"{"status":"OK","results":[{"c":1,"n":2.5,"t":1672722000000}]}"#).unwrap_err();
        assert_eq!(e.field, "results[0].n");
        let e = parse(r#"{"status":"ERROR","error":"Unknown API Key"}"#).unwrap_err();
        assert_eq!(e.field, "status");
        // An index: no volume is null volume.
        let ndx = Symbol::parse("^NDX").unwrap();
        let p = parse_aggs(
            br#"{"status":"OK","results":[{"o":1,"h":2,"l":0.5,"c":1.5,"t":1672722000000}],"next_url":"https://x/v2/p2"}"#,
            &ndx,
            day("2023-01-01"),
            day("2023-01-31"),
        )
        .unwrap();
        assert_eq!(p.bars[0].volume, None);
        assert_eq!(p.next_url.as_deref(), Some("https://x/v2/p2"));
        // Nothing at all (a holiday): no bars, not an error.
        assert!(
            parse(r#"{"status":"OK","resultsCount":0}"#)
                .unwrap()
                .bars
                .is_empty()
        );
    }

    #[test]
    fn the_genuine_reference_answers_become_actions() {
        let splits =
            parse_actions(&fixture("v3_reference_splits.json"), ActionKind::Split).unwrap();
        let googl = splits
            .actions
            .iter()
            .find(|a| a.symbol.as_str() == "GOOGL")
            .unwrap();
        assert_eq!(googl.date, day("2022-07-18"));
        assert_eq!(googl.ratio.unwrap().to_string(), "20");
        let brw = splits
            .actions
            .iter()
            .find(|a| a.symbol.as_str() == "BRW")
            .unwrap();
        assert_eq!(brw.ratio.unwrap().to_string(), "0.5");
        let dividends = parse_actions(
            &fixture("v3_reference_dividends.json"),
            ActionKind::Dividend,
        )
        .unwrap();
        assert!(!dividends.actions.is_empty());
        assert!(
            dividends
                .actions
                .iter()
                .all(|a| a.amount.is_some() && a.ratio.is_none())
        );
    }

    #[test]
    fn tickers_are_spelled_the_cqs_way() {
        let t = |s: &str| polygon_ticker(&Ticker::new(Symbol::parse(s).unwrap()));
        assert_eq!(t("BRK.B").unwrap(), "BRK.B");
        assert_eq!(t("ABR-D").unwrap(), "ABRpD");
        assert_eq!(t("^NDX").unwrap(), "I:NDX");
        assert!(t("SAP.DE").is_err());
        assert_eq!(symbol_of("ABRpD").unwrap().as_str(), "ABR-D");
        assert_eq!(symbol_of("I:NDX").unwrap().as_str(), "^NDX");
    }
}
