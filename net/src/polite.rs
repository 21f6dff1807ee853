//! Politeness shared by every worker: the request rate, the retry schedule and the circuit
//! breaker.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tickerlake::records::FetchErrorCode;

use crate::http::{Answer, Failure};

/// The codes a program files its failures under (`YF429`, `SCRAPENET`…): what a failure that
/// was never tried, because the circuit breaker is open, is filed as.
pub trait FailureCode: Copy {
    /// Nothing answered.
    const UNREACHABLE: Self;
}

impl FailureCode for FetchErrorCode {
    const UNREACHABLE: Self = FetchErrorCode::Net;
}

/// At most `rate` requests per second over all workers: a token bucket holding one token, so
/// no window of any length ever sees more than its share (a request waits for its slot).
pub struct RateLimiter {
    interval: Duration,
    next: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// `rate` requests per second; 0 or less, or not finite: no limit.
    pub fn new(rate: f64) -> RateLimiter {
        let interval = if rate.is_finite() && rate > 0.0 {
            Duration::from_secs_f64(1.0 / rate)
        } else {
            Duration::ZERO
        };
        RateLimiter {
            interval,
            next: Mutex::new(None),
        }
    }

    /// Waits for the next request slot.
    pub fn acquire(&self) {
        if self.interval.is_zero() {
            return;
        }
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.interval);
            slot
        };
        let now = Instant::now();
        if slot > now {
            std::thread::sleep(slot - now);
        }
    }
}

/// Opens after `threshold` failed requests in a row over all symbols: the provider is down (or
/// has banned us), and hammering it helps nobody. Any success closes it again.
pub struct Breaker {
    threshold: u32,
    failures: AtomicU32,
}

impl Breaker {
    /// `threshold` 0: never opens.
    pub fn new(threshold: u32) -> Breaker {
        Breaker {
            threshold,
            failures: AtomicU32::new(0),
        }
    }

    pub fn record(&self, ok: bool) {
        if ok {
            self.failures.store(0, Ordering::Relaxed);
        } else {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn is_open(&self) -> bool {
        self.threshold > 0 && self.failures.load(Ordering::Relaxed) >= self.threshold
    }
}

/// What one answer means for the item being fetched.
pub enum Judged<T, C = FetchErrorCode> {
    /// Done: the parsed result.
    Done(T),
    /// Worth another try.
    Retry {
        code: C,
        message: String,
        /// Retried once only (a 200 without data), however long the schedule.
        once: bool,
    },
    /// Final: no retry can help (not found, an answer that cannot be read).
    Fail { code: C, message: String },
}

/// A fetch that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed<C = FetchErrorCode> {
    pub code: C,
    pub attempts: u32,
    pub message: String,
    /// The breaker opened: the run stops, this symbol was not really tried to the end.
    pub breaker_open: bool,
}

/// Counts of a fetch, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tries {
    pub attempts: u32,
    pub retries: u32,
}

/// When to retry: one wait per retry; a longer `Retry-After` wins, up to a cap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait before each retry; as many retries as steps.
    pub steps: Vec<Duration>,
    /// The longest `Retry-After` honoured: a provider asking for more (a day, say) fails the
    /// symbol at once instead of silently holding a cron job for that long.
    pub max_retry_after: Duration,
    /// The setting that holds the cap, named when a provider asks for more.
    pub cap_setting: &'static str,
}

impl RetryPolicy {
    /// `steps`, with the default cap (five minutes, `fetch.max_retry_after`).
    pub fn steps(steps: &[Duration]) -> RetryPolicy {
        RetryPolicy {
            steps: steps.to_vec(),
            max_retry_after: Duration::from_secs(300),
            cap_setting: "fetch.max_retry_after",
        }
    }
}

/// Requests `url` until `judge` is satisfied, on the retry policy's schedule (one wait per
/// retry; a longer `Retry-After` wins, up to the policy's cap), within the shared rate and
/// breaker.
pub fn fetch_with_retries<T, C: FailureCode>(
    get: &dyn Fn(&str) -> Result<Answer, Failure>,
    url: &str,
    policy: &RetryPolicy,
    rate: &RateLimiter,
    breaker: &Breaker,
    mut judge: impl FnMut(Result<Answer, Failure>) -> Judged<T, C>,
) -> (Result<T, Failed<C>>, Tries) {
    let mut tries = Tries::default();
    let mut retried_once = false;
    loop {
        if breaker.is_open() {
            let failed = Failed {
                code: C::UNREACHABLE,
                attempts: tries.attempts.max(1),
                message:
                    "not tried: the provider failed every recent request (circuit breaker open)"
                        .into(),
                breaker_open: true,
            };
            return (Err(failed), tries);
        }
        rate.acquire();
        tries.attempts += 1;
        let result = get(url);
        let retry_after = match &result {
            Ok(a) => a.retry_after,
            Err(_) => None,
        };
        let judged = judge(result);
        let (code, message, once) = match judged {
            Judged::Done(v) => {
                breaker.record(true);
                return (Ok(v), tries);
            }
            Judged::Fail { code, message } => {
                // The provider answered: it is up, whatever this symbol's trouble.
                breaker.record(true);
                let failed = Failed {
                    code,
                    attempts: tries.attempts,
                    message,
                    breaker_open: false,
                };
                return (Err(failed), tries);
            }
            Judged::Retry {
                code,
                message,
                once,
            } => {
                breaker.record(once);
                (code, message, once)
            }
        };
        let backoff = &policy.steps;
        let retry_no = tries.retries as usize;
        let allowed = if once {
            !retried_once
        } else {
            retry_no < backoff.len()
        };
        if !allowed {
            let failed = Failed {
                code,
                attempts: tries.attempts,
                message,
                breaker_open: false,
            };
            return (Err(failed), tries);
        }
        if let Some(asked) = retry_after.filter(|r| *r > policy.max_retry_after) {
            let failed = Failed {
                code,
                attempts: tries.attempts,
                message: format!(
                    "{message}; the provider asked to wait {} s before retrying (Retry-After), \
                     more than {} ({} s): not waiting",
                    asked.as_secs(),
                    policy.cap_setting,
                    policy.max_retry_after.as_secs()
                ),
                breaker_open: false,
            };
            return (Err(failed), tries);
        }
        retried_once |= once;
        let step = backoff
            .get(retry_no)
            .or(backoff.last())
            .copied()
            .unwrap_or(Duration::ZERO);
        let wait = retry_after.map_or(step, |r| r.max(step));
        if retry_after.is_some_and(|r| r > step && r >= Duration::from_secs(1)) {
            // A wait the provider chose: said at the default level, so a slow night is explained.
            // The message names the item; the URL may hold a host from the environment.
            tracing::warn!(
                "{message}: waiting {} s before retrying, as the provider's Retry-After asks",
                wait.as_secs()
            );
        }
        tries.retries += 1;
        std::thread::sleep(wait);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Client, ClientConfig};
    use replay_server::{ReplayServer, Routes};

    fn server(yaml: &str) -> ReplayServer {
        let routes = Routes::from_yaml(yaml).unwrap();
        ReplayServer::start(routes, "127.0.0.1:0".parse().unwrap()).unwrap()
    }

    fn client() -> Client {
        Client::new(&ClientConfig {
            user_agent: "t".into(),
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_millis(500),
            proxy: None,
        })
        .unwrap()
    }

    fn get() -> impl Fn(&str) -> Result<Answer, Failure> {
        let c = client();
        move |url: &str| c.get(url)
    }

    /// 200 is done, 404 final, everything else retried.
    fn judge(r: Result<Answer, Failure>) -> Judged<Vec<u8>> {
        match r {
            Ok(a) if a.status == 200 => Judged::Done(a.body),
            Ok(a) if a.status == 404 => Judged::Fail {
                code: FetchErrorCode::NotFound,
                message: "not found".into(),
            },
            Ok(a) if a.status == 429 => Judged::Retry {
                code: FetchErrorCode::Yf429,
                message: "429".into(),
                once: false,
            },
            Ok(a) => Judged::Retry {
                code: FetchErrorCode::Http5xx,
                message: a.status.to_string(),
                once: false,
            },
            Err(e) => Judged::Retry {
                code: FetchErrorCode::Net,
                message: e.to_string(),
                once: false,
            },
        }
    }

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_429_storm_then_success_and_retry_after_is_honoured() {
        let s = server(
            r#"
routes:
  - path: /x
    body: "ok"
    faults: { sequence: [429, 429, 503, truncate, 200], retry_after: 1 }
"#,
        );
        let (rate, breaker) = (RateLimiter::new(0.0), Breaker::new(0));
        let backoff = [MS * 10, MS * 10, MS * 10, MS * 10];
        let (got, tries) = fetch_with_retries(
            &get(),
            &format!("{}/x", s.base_url()),
            &RetryPolicy::steps(&backoff),
            &rate,
            &breaker,
            judge,
        );
        assert_eq!(got.unwrap(), b"ok");
        assert_eq!(
            tries,
            Tries {
                attempts: 5,
                retries: 4
            }
        );
        // Retry-After: 1 s after each 429 and the 503, instead of the 10 ms step.
        let log = s.wait_for_requests(5);
        for w in log.windows(2).take(3) {
            let gap = w[1].start_ms - w[0].end_ms;
            assert!(
                gap >= 990.0,
                "waited only {gap} ms after a Retry-After of 1 s"
            );
        }
        let gap = log[4].start_ms - log[3].end_ms;
        assert!(
            gap < 900.0,
            "the truncated answer has no Retry-After: {gap} ms"
        );
    }

    #[test]
    fn retries_stop_at_the_end_of_the_schedule_and_not_found_is_not_retried() {
        let s = server(
            r#"
routes:
  - path: /down
    body: "x"
    faults: { fail_rate: 1.0, fail_with: 500, seed: 1 }
  - path: /gone
    status: 404
    body: "{}"
"#,
        );
        let (rate, breaker) = (RateLimiter::new(0.0), Breaker::new(0));
        let backoff = [MS, MS * 2, MS * 3];
        let (got, tries) = fetch_with_retries(
            &get(),
            &format!("{}/down", s.base_url()),
            &RetryPolicy::steps(&backoff),
            &rate,
            &breaker,
            judge,
        );
        let failed = got.unwrap_err();
        assert_eq!((failed.code, failed.attempts), (FetchErrorCode::Http5xx, 4));
        assert_eq!(tries.retries, 3);
        let (got, tries) = fetch_with_retries(
            &get(),
            &format!("{}/gone", s.base_url()),
            &RetryPolicy::steps(&backoff),
            &rate,
            &breaker,
            judge,
        );
        assert_eq!(got.unwrap_err().code, FetchErrorCode::NotFound);
        assert_eq!(tries.attempts, 1);
    }

    #[test]
    fn an_empty_answer_is_retried_once() {
        let s = server("routes:\n  - path: /e\n    body: \"\"\n");
        let (rate, breaker) = (RateLimiter::new(0.0), Breaker::new(0));
        let (got, tries) = fetch_with_retries(
            &get(),
            &format!("{}/e", s.base_url()),
            &RetryPolicy::steps(&[MS, MS, MS]),
            &rate,
            &breaker,
            |_| -> Judged<()> {
                Judged::Retry {
                    code: FetchErrorCode::YfEmpty,
                    message: "no data".into(),
                    once: true,
                }
            },
        );
        assert_eq!(got.unwrap_err().code, FetchErrorCode::YfEmpty);
        assert_eq!(tries.attempts, 2);
    }

    #[test]
    fn the_breaker_opens_after_consecutive_failures_and_stops_requests() {
        let s = server("routes:\n  - path: /x\n    status: 503\n    body: down\n");
        let (rate, breaker) = (RateLimiter::new(0.0), Breaker::new(3));
        let url = format!("{}/x", s.base_url());
        let (got, _) = fetch_with_retries(
            &get(),
            &url,
            &RetryPolicy::steps(&[MS; 10]),
            &rate,
            &breaker,
            judge,
        );
        let failed = got.unwrap_err();
        assert!(failed.breaker_open);
        assert_eq!(
            s.wait_for_requests(3).len(),
            3,
            "no request once the breaker is open"
        );
        let (got, tries) = fetch_with_retries(
            &get(),
            &url,
            &RetryPolicy::steps(&[MS; 10]),
            &rate,
            &breaker,
            judge,
        );
        assert!(got.unwrap_err().breaker_open);
        assert_eq!(tries.attempts, 0);
        assert_eq!(s.requests().len(), 3);
    }

    #[test]
    fn the_rate_is_never_exceeded_over_any_window() {
        let limiter = std::sync::Arc::new(RateLimiter::new(50.0));
        let started = Instant::now();
        let times = std::sync::Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..10 {
                        limiter.acquire();
                        times.lock().unwrap().push(started.elapsed());
                    }
                });
            }
        });
        let mut times = times.into_inner().unwrap();
        times.sort();
        // 40 requests at 50/s: the i-th request never goes before i × 20 ms (a sleeping
        // thread wakes late, never early, so this holds however loaded the machine is).
        for (i, t) in times.iter().enumerate() {
            let slot = Duration::from_millis(20 * i as u64);
            assert!(
                *t + Duration::from_millis(1) >= slot,
                "request {i} at {t:?}, slot {slot:?}"
            );
        }
    }
}
