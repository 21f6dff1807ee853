//! Daily-bar providers behind one trait. A provider turns one symbol's request into bars and
//! actions with as many requests as it needs (pages, reference data), each asked through the
//! shared politeness ([`Asker`]); a [`Chain`] of them (`--provider a,b`) falls back per symbol.

use chrono::NaiveDate;
use tickerlake::Symbol;
use tickerlake::records::{Action, ActionKind, Bar, FetchErrorCode, Ticker};

use crate::raw::RawDir;
use net::http::{Answer, Failure, Request as HttpRequest};
use net::polite::{Breaker, Failed, Judged, RateLimiter, RetryPolicy, Tries, fetch_with_retries};

/// One symbol's fetch: the ticker (its symbol, venue and currency) and the trading dates wanted
/// (both ends inclusive, in the exchange's zone).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub ticker: Ticker,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Request {
    pub fn symbol(&self) -> &Symbol {
        &self.ticker.symbol
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
pub const UP_TO_DATE_DAYS: i64 = 7;

pub trait Provider: Sync {
    /// Written into every record's `provider`.
    fn name(&self) -> &'static str;
    /// The provider's symbol for a ticker, or why there is none (a venue it has no symbol for:
    /// never guessed as another listing).
    fn provider_symbol(&self, ticker: &Ticker) -> Result<String, String>;
    /// Fetches `request` as `symbol` (the provider's), every request through `ask`.
    fn fetch(
        &self,
        request: &Request,
        symbol: &str,
        ask: &mut Asker<'_>,
    ) -> Result<Fetched, Failed>;
    /// Whether an action of this kind changes the prices the provider gives for the days
    /// before it (so a new one means the stored history is at another scale).
    fn restated_by(&self, kind: ActionKind) -> bool;
}

/// Who served a symbol.
#[derive(Debug, Clone, Copy)]
pub struct Served {
    pub provider: &'static str,
    /// Whether a new split / dividend restates this provider's history.
    pub split_restates: bool,
    pub dividend_restates: bool,
}

impl Served {
    pub fn restated_by(&self, kind: ActionKind) -> bool {
        match kind {
            ActionKind::Split => self.split_restates,
            ActionKind::Dividend => self.dividend_restates,
        }
    }
}

/// How a request is sent (through the run's clients and proxies).
pub type Send<'a> = dyn Fn(&HttpRequest<'_>) -> Result<Answer, Failure> + Sync + 'a;

/// A provider's politeness: its own rate limit and circuit breaker (one provider being down
/// never holds back the next in a chain).
pub struct Lane {
    pub provider: Box<dyn Provider>,
    pub rate: RateLimiter,
    pub breaker: Breaker,
}

/// Asks one symbol's requests: each waits its turn in the provider's rate, is retried on the
/// schedule (a longer `Retry-After` honoured), counts toward the provider's breaker, and with
/// `--raw-dir` every 200 answer is kept.
pub struct Asker<'a> {
    send: &'a Send<'a>,
    retry: &'a RetryPolicy,
    provider: &'static str,
    rate: &'a RateLimiter,
    breaker: &'a Breaker,
    raw: Option<&'a RawDir>,
    /// What kept answers are named after (a symbol's safe file name).
    raw_name: String,
    /// Requests and retries so far.
    pub tries: Tries,
    answers: u32,
}

impl<'a> Asker<'a> {
    pub fn new(
        send: &'a Send<'a>,
        retry: &'a RetryPolicy,
        lane: &'a Lane,
        raw: Option<&'a RawDir>,
        raw_name: String,
    ) -> Asker<'a> {
        Asker {
            send,
            retry,
            provider: lane.provider.name(),
            rate: &lane.rate,
            breaker: &lane.breaker,
            raw,
            raw_name,
            tries: Tries::default(),
            answers: 0,
        }
    }

    /// Sends `request` until `judge` is satisfied or the schedule runs out. `ext` names the
    /// kept answer's format (`json`, `csv`).
    pub fn ask<T>(
        &mut self,
        request: &HttpRequest<'_>,
        ext: &str,
        mut judge: impl FnMut(Result<Answer, Failure>) -> Judged<T>,
    ) -> Result<T, Failed> {
        let send = self.send;
        let get = |url: &str| send(&HttpRequest { url, ..*request });
        self.answers += 1;
        let name = if self.answers == 1 {
            format!("{}.{}.{ext}", self.raw_name, self.provider)
        } else {
            format!("{}.{}.{}.{ext}", self.raw_name, self.provider, self.answers)
        };
        let raw = self.raw;
        let (result, tries) = fetch_with_retries(
            &get,
            request.url,
            self.retry,
            self.rate,
            self.breaker,
            |answer| {
                if let (Some(raw), Ok(a)) = (raw, &answer)
                    && a.status == 200
                {
                    keep_raw(raw, &name, &a.body);
                }
                judge(answer)
            },
        );
        self.tries.attempts += tries.attempts;
        self.tries.retries += tries.retries;
        result
    }
}

fn keep_raw(raw: &RawDir, name: &str, body: &[u8]) {
    match raw.keep(name, body) {
        Ok((path, sha256)) => {
            tracing::info!(file = %path.display(), %sha256, "raw answer kept");
        }
        Err(e) => {
            raw.note_failure();
            tracing::error!("--raw-dir: the answer {name} could not be kept: {e}");
        }
    }
}

/// `Judged::Retry` with `code`.
pub fn retry<T>(code: FetchErrorCode, message: impl Into<String>) -> Judged<T> {
    Judged::Retry {
        code,
        message: message.into(),
        once: false,
    }
}

/// `Judged::Fail` with `code`.
pub fn fail<T>(code: FetchErrorCode, message: impl Into<String>) -> Judged<T> {
    Judged::Fail {
        code,
        message: message.into(),
    }
}

/// A short, printable excerpt of a body, for messages.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(120)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What every provider makes of a request that got no answer, and of the statuses that mean
/// the same everywhere (429, 5xx, 401/403); `Ok` hands the answer on for the provider's own
/// reading.
pub fn common_judgement<T>(answer: Result<Answer, Failure>) -> Result<Answer, Judged<T>> {
    let answer = match answer {
        Ok(a) => a,
        Err(Failure::Timeout(m)) => return Err(retry(FetchErrorCode::Timeout, m)),
        Err(e @ (Failure::Net(_) | Failure::Truncated(_) | Failure::Proxy(_))) => {
            return Err(retry(FetchErrorCode::Net, e.to_string()));
        }
        Err(Failure::Final(m)) => return Err(fail(FetchErrorCode::Net, m)),
    };
    match answer.status {
        429 => Err(retry(FetchErrorCode::Yf429, "HTTP 429: rate limited")),
        500..=599 => Err(retry(
            FetchErrorCode::Http5xx,
            format!("HTTP {}: {}", answer.status, excerpt(&answer.body)),
        )),
        _ => Ok(answer),
    }
}

/// The providers of a run, in the order they are asked.
pub struct Chain {
    pub lanes: Vec<Lane>,
}

/// A symbol's fetch through the chain.
pub struct Outcome {
    /// The data and the provider that gave it, or the last provider's failure (its message
    /// naming every provider's).
    pub result: Result<(Fetched, Served), Failed>,
    pub tries: Tries,
    /// Providers that failed before one answered.
    pub fell_back: u32,
}

impl Chain {
    /// Whether every provider's breaker is open: nothing is left to ask.
    pub fn all_down(&self) -> bool {
        self.lanes.iter().all(|l| l.breaker.is_open())
    }

    /// The first provider's name (the one failures are booked to when no provider was asked).
    pub fn first_name(&self) -> &'static str {
        self.lanes.first().map_or("none", |l| l.provider.name())
    }

    /// Fetches one symbol: each provider in turn until one gives data or "up to date"; a
    /// provider whose breaker is open is passed over.
    pub fn fetch(
        &self,
        send: &Send<'_>,
        request: &Request,
        retry: &RetryPolicy,
        raw: Option<&RawDir>,
    ) -> Outcome {
        let mut tries = Tries::default();
        let mut failures: Vec<(&'static str, Failed)> = Vec::new();
        // The lake already reaches --end (a second run the same night, look-back 0).
        if request.start > request.end {
            let served = Served {
                provider: self.first_name(),
                split_restates: false,
                dividend_restates: false,
            };
            return Outcome {
                result: Ok((Fetched::UpToDate, served)),
                tries,
                fell_back: 0,
            };
        }
        for lane in &self.lanes {
            let name = lane.provider.name();
            if lane.breaker.is_open() {
                failures.push((
                    name,
                    Failed {
                        code: FetchErrorCode::Net,
                        attempts: 0,
                        message: "not tried: the provider failed every recent request (circuit \
                                  breaker open)"
                            .into(),
                        breaker_open: true,
                    },
                ));
                continue;
            }
            let symbol = match lane.provider.provider_symbol(&request.ticker) {
                Ok(s) => s,
                Err(why) => {
                    failures.push((
                        name,
                        Failed {
                            code: FetchErrorCode::NotFound,
                            attempts: 0,
                            message: format!("not requested: {why}"),
                            breaker_open: false,
                        },
                    ));
                    continue;
                }
            };
            let mut ask = Asker::new(send, retry, lane, raw, request.symbol().file_name());
            let got = lane.provider.fetch(request, &symbol, &mut ask);
            tries.attempts += ask.tries.attempts;
            tries.retries += ask.tries.retries;
            match got {
                Ok(fetched) => {
                    let p = &lane.provider;
                    let served = Served {
                        provider: name,
                        split_restates: p.restated_by(ActionKind::Split),
                        dividend_restates: p.restated_by(ActionKind::Dividend),
                    };
                    return Outcome {
                        result: Ok((fetched, served)),
                        tries,
                        fell_back: failures.len() as u32,
                    };
                }
                Err(failed) => failures.push((name, failed)),
            }
        }
        let fell_back = failures.len().saturating_sub(1) as u32;
        Outcome {
            result: Err(merge_failures(failures)),
            tries,
            fell_back,
        }
    }
}

/// One failure for a symbol every provider failed: the last provider's code, every provider's
/// message (one provider alone keeps its message as it was).
fn merge_failures(mut failures: Vec<(&'static str, Failed)>) -> Failed {
    if failures.len() == 1 {
        return failures.pop().map(|(_, f)| f).unwrap_or_else(no_provider);
    }
    let attempts = failures.iter().map(|(_, f)| f.attempts).sum();
    let message = failures
        .iter()
        .map(|(name, f)| format!("{name}: {}", f.message))
        .collect::<Vec<_>>()
        .join("; ");
    let breaker_open = failures.iter().all(|(_, f)| f.breaker_open);
    let Some((_, last)) = failures.pop() else {
        return no_provider();
    };
    Failed {
        code: last.code,
        attempts,
        message,
        breaker_open,
    }
}

fn no_provider() -> Failed {
    Failed {
        code: FetchErrorCode::NotFound,
        attempts: 0,
        message: "no provider to ask".into(),
        breaker_open: false,
    }
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

    fn request(symbol: &str, start: &str, end: &str) -> Request {
        let mut ticker = Ticker::new(Symbol::parse(symbol).unwrap());
        if symbol.contains(".DE") {
            ticker.exchange = Some("XETR".into());
        }
        Request {
            ticker,
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
        }
    }

    fn lane(provider: Box<dyn Provider>) -> Lane {
        Lane {
            provider,
            rate: RateLimiter::new(0.0),
            breaker: Breaker::new(0),
        }
    }

    fn yahoo(s: &ReplayServer) -> Lane {
        lane(Box::new(crate::yahoo::Yahoo::new(
            tickerlake::config::YahooConfig::default(),
            Some(s.base_url()),
        )))
    }

    fn fetch_with(chain: &Chain, r: &Request) -> (Result<Fetched, Failed>, Tries) {
        let ms = Duration::from_millis(5);
        let client = client();
        let send = |req: &HttpRequest<'_>| client.send(req);
        let out = chain.fetch(
            &send,
            r,
            &net::polite::RetryPolicy::steps(&[ms, ms, ms]),
            None,
        );
        (out.result.map(|(f, _)| f), out.tries)
    }

    fn fetch(s: &ReplayServer, r: &Request) -> (Result<Fetched, Failed>, Tries) {
        fetch_with(
            &Chain {
                lanes: vec![yahoo(s)],
            },
            r,
        )
    }

    #[test]
    fn recorded_answers_become_bars_under_the_canonical_symbol() {
        let s = replay("");
        let (got, tries) = fetch(&s, &request("WSU.DE", "2023-08-01", "2023-08-31"));
        let Ok(Fetched::Data { bars, actions }) = got else {
            panic!("{got:?}")
        };
        assert_eq!(bars.len(), 3);
        assert!(actions.is_empty());
        assert!(bars.iter().all(|b| b.symbol.as_str() == "WSU.DE"));
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
        let (got, tries) = fetch(&s, &request("AAPL", "2020-09-05", "2020-09-06"));
        assert_eq!(got.unwrap(), Fetched::UpToDate);
        assert_eq!(tries.attempts, 1);
        let (got, tries) = fetch(&s, &request("AAPL", "2021-01-01", "2021-06-30"));
        assert_eq!(got.unwrap_err().code, FetchErrorCode::YfEmpty);
        assert_eq!(tries.attempts, 2);
    }

    #[test]
    fn delisted_is_recorded_without_retrying() {
        let s = replay("");
        let (got, tries) = fetch(&s, &request("GONE", "2024-01-01", "2024-01-31"));
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
        let r = |sym: &str| request(sym, "2023-08-01", "2023-08-31");
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

    #[test]
    fn a_symbol_one_provider_fails_is_served_by_the_next_and_says_so() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/real");
        let s = replay(&format!(
            r#"
  - name: stooq
    path: /q/d/l/
    query: {{ s: aapl.us }}
    file: {}/stooq/aapl_us_d_1984-09-07_2026-02-03.csv
"#,
            dir.display()
        ));
        let stooq = lane(Box::new(crate::stooq::Stooq::new(
            tickerlake::config::Stooq::default(),
            Some(s.base_url()),
        )));
        let chain = Chain {
            lanes: vec![yahoo(&s), stooq],
        };
        let ms = Duration::from_millis(5);
        let client = client();
        let send = |req: &HttpRequest<'_>| client.send(req);
        let out = chain.fetch(
            &send,
            // The recorded Yahoo answer is of 2020: nothing in this range, so Yahoo fails.
            &request("AAPL", "2026-01-02", "2026-01-20"),
            &net::polite::RetryPolicy::steps(&[ms]),
            None,
        );
        let Ok((Fetched::Data { bars, .. }, served)) = out.result else {
            panic!("{:?}", out.result.err())
        };
        assert_eq!(served.provider, "stooq");
        assert!(!served.split_restates);
        assert_eq!(out.fell_back, 1);
        assert_eq!(bars[0].date.to_string(), "2026-01-02");
        assert_eq!(bars.last().unwrap().date.to_string(), "2026-01-20");
        assert!(bars.iter().all(|b| b.provider == "stooq"));
        // Yahoo twice (an empty answer is retried once), Stooq once.
        assert_eq!(out.tries.attempts, 3);
        // Both failing: one failure naming both.
        let (got, _) = fetch_with(&chain, &request("GONE", "2024-01-01", "2024-01-31"));
        let failed = got.unwrap_err();
        assert!(failed.message.starts_with("yahoo: "), "{}", failed.message);
        assert!(failed.message.contains("; stooq: "), "{}", failed.message);
    }
}
