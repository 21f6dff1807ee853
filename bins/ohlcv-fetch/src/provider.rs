//! Daily-bar providers behind one trait, so Polygon and Stooq slot in beside Yahoo without
//! touching the workers, the retries or the output.

use chrono::NaiveDate;
use tickerlake::Symbol;
use tickerlake::config::YahooConfig;
use tickerlake::records::{Action, Bar, FetchErrorCode, Ticker};

use crate::raw::RawDir;
use crate::yahoo::{self, Chart, NoData};
use net::http::{Answer, Failure};
use net::polite::{Breaker, Failed, Judged, RateLimiter, Tries, fetch_with_retries};

/// One symbol's fetch: the canonical symbol records carry, the provider's own symbol, and the
/// trading dates wanted (both ends inclusive, in the exchange's zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub symbol: Symbol,
    /// The provider's symbol, or why the ticker cannot be asked for (the symbol then fails
    /// without a request).
    pub provider_symbol: Result<String, String>,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Request {
    /// The provider's symbol, for messages.
    pub fn name(&self) -> &str {
        self.provider_symbol
            .as_deref()
            .unwrap_or(self.symbol.as_str())
    }
}

/// What a symbol's fetch gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// Bars (date-ordered, one per date) and corporate actions.
    Data {
        bars: Vec<Bar>,
        actions: Vec<Action>,
    },
    /// No trading day in the range yet: not an error.
    UpToDate,
}

/// Ranges up to this many days without a bar are "up to date" (a weekend, a long holiday
/// weekend); a longer range that comes back empty is a provider that had nothing to say.
const UP_TO_DATE_DAYS: i64 = 7;

pub trait Provider: Sync {
    /// Written into every record's `provider`.
    fn name(&self) -> &'static str;
    /// The provider's symbol for a ticker, or why there is none (a venue it has no symbol for:
    /// never guessed as another listing).
    fn provider_symbol(&self, ticker: &Ticker) -> Result<String, String>;
    fn url(&self, request: &Request) -> String;
    /// What an answer to `request` means.
    fn judge(&self, request: &Request, answer: Result<Answer, Failure>) -> Judged<Fetched>;
}

/// Yahoo Finance's chart API.
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
}

fn retry(code: FetchErrorCode, message: impl Into<String>) -> Judged<Fetched> {
    Judged::Retry {
        code,
        message: message.into(),
        once: false,
    }
}

/// A short, printable excerpt of a body, for messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(120)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Provider for Yahoo {
    fn name(&self) -> &'static str {
        yahoo::PROVIDER
    }

    fn provider_symbol(&self, ticker: &Ticker) -> Result<String, String> {
        crate::symbols::yahoo_symbol(ticker, &self.config)
    }

    fn url(&self, request: &Request) -> String {
        yahoo::chart_url(
            &self.base_url,
            request.provider_symbol.as_deref().unwrap_or_default(),
            request.start,
            request.end,
        )
    }

    fn judge(&self, request: &Request, answer: Result<Answer, Failure>) -> Judged<Fetched> {
        let answer = match answer {
            Ok(a) => a,
            Err(Failure::Timeout(m)) => return retry(FetchErrorCode::Timeout, m),
            Err(e @ (Failure::Net(_) | Failure::Truncated(_) | Failure::Proxy(_))) => {
                return retry(FetchErrorCode::Net, e.to_string());
            }
            Err(Failure::Final(m)) => {
                return Judged::Fail {
                    code: FetchErrorCode::Net,
                    message: m,
                };
            }
        };
        match answer.status {
            200 => {}
            429 => return retry(FetchErrorCode::Yf429, "HTTP 429: rate limited"),
            500..=599 => {
                return retry(
                    FetchErrorCode::Http5xx,
                    format!("HTTP {}: {}", answer.status, excerpt(&answer.body)),
                );
            }
            404 => {
                let why = match yahoo::parse_chart(
                    &answer.body,
                    &request.symbol,
                    request.start,
                    request.end,
                ) {
                    Ok(Chart::Error { description, .. }) if !description.is_empty() => description,
                    _ => excerpt(&answer.body),
                };
                return Judged::Fail {
                    code: FetchErrorCode::NotFound,
                    message: format!("{} not found: {why}", request.name()),
                };
            }
            status => {
                // 401/403 (refused), 400…: asking again the same way will not help tonight.
                return Judged::Fail {
                    code: FetchErrorCode::Net,
                    message: format!("HTTP {status}: {}", excerpt(&answer.body)),
                };
            }
        }
        match yahoo::parse_chart(&answer.body, &request.symbol, request.start, request.end) {
            Ok(Chart::Data(d)) => {
                for what in &d.skipped_events {
                    tracing::warn!(symbol = %request.symbol, "an event Yahoo sent could not be read and is skipped: {what}");
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
                message: format!("{}: {why}", request.name()),
                once: true,
            },
            Ok(Chart::Error { code, description }) => Judged::Fail {
                code: if code.eq_ignore_ascii_case("not found") {
                    FetchErrorCode::NotFound
                } else {
                    FetchErrorCode::Parse
                },
                message: format!("{}: {code}: {description}", request.name()),
            },
            Err(e) => retry(FetchErrorCode::Parse, format!("{}: {e}", request.name())),
        }
    }
}

/// Fetches one symbol with the shared politeness; with `raw`, every 200 answer is kept.
pub fn fetch_symbol(
    provider: &dyn Provider,
    get: &dyn Fn(&str) -> Result<Answer, Failure>,
    request: &Request,
    retry: &net::polite::RetryPolicy,
    rate: &RateLimiter,
    breaker: &Breaker,
    raw: Option<&RawDir>,
) -> (Result<Fetched, Failed>, Tries) {
    if let Err(why) = &request.provider_symbol {
        let failed = Failed {
            code: FetchErrorCode::NotFound,
            attempts: 0,
            message: format!("not requested: {why}"),
            breaker_open: false,
        };
        return (Err(failed), Tries::default());
    }
    // The lake already reaches --end (a second run the same night, look-back 0): nothing to ask.
    if request.start > request.end {
        return (Ok(Fetched::UpToDate), Tries::default());
    }
    let url = provider.url(request);
    fetch_with_retries(get, &url, retry, rate, breaker, |answer| {
        if let (Some(raw), Ok(a)) = (raw, &answer)
            && a.status == 200
        {
            match raw.keep(&request.symbol, &a.body) {
                Ok((path, sha256)) => {
                    tracing::info!(symbol = %request.symbol, file = %path.display(), %sha256, "raw answer kept");
                }
                Err(e) => {
                    raw.note_failure();
                    tracing::error!(symbol = %request.symbol, "--raw-dir: the answer could not be kept: {e}");
                }
            }
        }
        provider.judge(request, answer)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use net::http::{Client, ClientConfig};
    use replay_server::{ReplayServer, Routes};
    use std::time::Duration;

    fn replay(extra: &str) -> ReplayServer {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/real");
        let yaml = format!(
            r#"
routes:
  - name: AAPL split window
    path: /v8/finance/chart/AAPL
    query: {{ interval: 1d }}
    file: {dir}/yahoo_chart/AAPL_1d_2020-08-31_2020-11-07_split4to1.body.json
    headers: {{ Content-Type: application/json }}
  - name: WSU.DE
    path: /v8/finance/chart/WSU.DE
    query: {{ interval: 1d }}
    file: {dir}/yahoo_chart/WSU.DE_1d_2023-08-04_2023-08-09.body.json
  - name: delisted
    path: /v8/finance/chart/GONE
    status: 404
    body: '{{"chart":{{"result":null,"error":{{"code":"Not Found","description":"No data found, symbol may be delisted"}}}}}}'
{extra}
"#,
            dir = dir.display(),
            extra = extra.replace("$DIR", &dir.display().to_string()),
        );
        ReplayServer::start(
            Routes::from_yaml(&yaml).unwrap(),
            "127.0.0.1:0".parse().unwrap(),
        )
        .unwrap()
    }

    fn client() -> Client {
        Client::new(&ClientConfig {
            user_agent: "t".into(),
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_millis(400),
            proxy: None,
        })
        .unwrap()
    }

    fn request(symbol: &str, provider_symbol: &str, start: &str, end: &str) -> Request {
        Request {
            symbol: Symbol::parse(symbol).unwrap(),
            provider_symbol: Ok(provider_symbol.into()),
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
        }
    }

    fn fetch(s: &ReplayServer, r: &Request) -> (Result<Fetched, Failed>, Tries) {
        let yahoo = Yahoo::new(YahooConfig::default(), Some(s.base_url()));
        let ms = Duration::from_millis(5);
        let client = client();
        fetch_symbol(
            &yahoo,
            &|url: &str| client.get(url),
            r,
            &net::polite::RetryPolicy::steps(&[ms, ms, ms]),
            &RateLimiter::new(0.0),
            &Breaker::new(0),
            None,
        )
    }

    #[test]
    fn recorded_answers_become_bars_under_the_canonical_symbol() {
        let s = replay("");
        let (got, tries) = fetch(&s, &request("WSU", "WSU.DE", "2023-08-01", "2023-08-31"));
        let Ok(Fetched::Data { bars, actions }) = got else {
            panic!("{got:?}")
        };
        assert_eq!(bars.len(), 3);
        assert!(actions.is_empty());
        assert!(bars.iter().all(|b| b.symbol.as_str() == "WSU"));
        assert_eq!(tries.attempts, 1);
        let target = s.wait_for_requests(1)[0].target.clone();
        assert!(
            target.starts_with("/v8/finance/chart/WSU.DE?period1="),
            "{target}"
        );
        assert!(target.contains("events=div%2Csplit") && target.contains("interval=1d"));
    }

    #[test]
    fn a_weekend_is_up_to_date_and_a_long_empty_range_is_yfempty_after_one_retry() {
        let s = replay("");
        // 2020-09-05/06 is a weekend: the recorded window has no bar there.
        let (got, tries) = fetch(&s, &request("AAPL", "AAPL", "2020-09-05", "2020-09-06"));
        assert_eq!(got.unwrap(), Fetched::UpToDate);
        assert_eq!(tries.attempts, 1);
        let (got, tries) = fetch(&s, &request("AAPL", "AAPL", "2021-01-01", "2021-06-30"));
        assert_eq!(got.unwrap_err().code, FetchErrorCode::YfEmpty);
        assert_eq!(tries.attempts, 2);
    }

    #[test]
    fn delisted_is_recorded_without_retrying() {
        let s = replay("");
        let (got, tries) = fetch(&s, &request("GONE", "GONE", "2024-01-01", "2024-01-31"));
        let failed = got.unwrap_err();
        assert_eq!(failed.code, FetchErrorCode::NotFound);
        assert!(
            failed.message.contains("symbol may be delisted"),
            "{}",
            failed.message
        );
        assert_eq!(tries.attempts, 1);
    }

    #[test]
    fn faults_are_retried_with_their_codes() {
        let s = replay(
            r#"
  - name: storm
    path: /v8/finance/chart/STORM
    body: "x"
    faults: { fail_rate: 1.0, fail_with: 429, seed: 3 }
  - name: broken
    path: /v8/finance/chart/BROKEN
    body: "<html>not json</html>"
  - name: slow
    path: /v8/finance/chart/SLOW
    body: "x"
    faults: { delay: 1s }
  - name: flaky
    path: /v8/finance/chart/FLAKY
    query: { interval: 1d }
    file: $DIR/yahoo_chart/WSU.DE_1d_2023-08-04_2023-08-09.body.json
    faults: { sequence: [503, truncate, reset] }
"#,
        );
        let r = |sym: &str| request(sym, sym, "2023-08-01", "2023-08-31");
        let code = |sym: &str| fetch(&s, &r(sym)).0.unwrap_err().code;
        assert_eq!(code("STORM"), FetchErrorCode::Yf429);
        assert_eq!(code("BROKEN"), FetchErrorCode::Parse);
        assert_eq!(code("SLOW"), FetchErrorCode::Timeout);
        // 503, a short body and a reset, then the recording: three retries, then bars.
        let (got, tries) = fetch(&s, &r("FLAKY"));
        assert!(matches!(got, Ok(Fetched::Data { .. })), "{got:?}");
        assert_eq!(
            tries,
            Tries {
                attempts: 4,
                retries: 3
            }
        );
    }
}
