//! Downloading a source's files, politely: one source after another, a random pause between two
//! requests to the same host (`scrape.pause`), retries on 429, 5xx and timeouts on the
//! `scrape.backoff` schedule honouring `Retry-After`, proxies as `ohlcv-fetch` uses them. A file
//! whose address changes with every release is found as the link of that name on its page.
//!
//! URLs are never logged or written to the status file: a user's may carry a key.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use net::http::{Answer, ClientConfig, Failure, Request};
use net::polite::{Breaker, FailureCode, Judged, RateLimiter, RetryPolicy, fetch_with_retries};
use net::proxies::Clients;
use tickerlake::config::{Config, ScrapeSource};

use crate::source::RawFile;

/// Why a source's files could not be had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchCode {
    /// No answer: refused, reset, timed out, cut short.
    Net,
    /// An answer that is no file: 4xx, or 429/5xx after every retry.
    Http,
}

impl FetchCode {
    /// As the status file and the logs write it.
    pub fn as_str(self) -> &'static str {
        match self {
            FetchCode::Net => "SCRAPENET",
            FetchCode::Http => "SCRAPEHTTP",
        }
    }
}

impl FailureCode for FetchCode {
    const UNREACHABLE: Self = FetchCode::Net;
}

/// A source whose files could not be had.
#[derive(Debug, Clone)]
pub enum Fetch {
    /// Nothing usable came back.
    Failed { code: FetchCode, message: String },
    /// The page came back, but the link to the file was not on it: the page has drifted. The
    /// pages read so far are kept (`--raw-dir`, the status file) to see what changed.
    NoLink {
        message: String,
        pages: Vec<RawFile>,
    },
}

/// A source's downloads.
#[derive(Debug, Clone, Default)]
pub struct Downloaded {
    /// What the source parses.
    pub files: Vec<RawFile>,
    /// Pages read to find them (`link:`), kept beside them as `<file>.page.html`.
    pub pages: Vec<RawFile>,
}

/// How requests are made, from `config.yaml`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub client: ClientConfig,
    pub proxies: Vec<tickerlake::config::ProxyUrl>,
    pub policy: RetryPolicy,
    /// Shortest and longest pause between two requests to one host.
    pub pause: (Duration, Duration),
}

impl Settings {
    pub fn from_config(config: &Config) -> Settings {
        let [shortest, longest] = config.scrape.pause;
        Settings {
            client: ClientConfig::from_http(&config.http),
            proxies: config.http.proxies.clone(),
            policy: RetryPolicy {
                steps: config.scrape.backoff.iter().map(|s| s.0).collect(),
                max_retry_after: config.scrape.max_retry_after.0,
                cap_setting: "scrape.max_retry_after",
            },
            pause: (shortest.0, longest.0),
        }
    }
}

/// The run's downloader: one client per proxy, the hosts' last requests.
pub struct Downloader {
    clients: Clients,
    policy: RetryPolicy,
    pause: (Duration, Duration),
    /// When each host last finished answering.
    last: RefCell<HashMap<String, Instant>>,
    /// `http.user_agent`.
    default_agent: String,
    /// Retries of this run, for the summary.
    pub retries: std::cell::Cell<u32>,
}

impl Downloader {
    pub fn new(settings: &Settings) -> Result<Downloader, String> {
        // One source per block: a source's files all go through one proxy.
        let clients = Clients::new(&settings.client, &settings.proxies, 1)?;
        Ok(Downloader {
            clients,
            policy: settings.policy.clone(),
            pause: settings.pause,
            last: RefCell::new(HashMap::new()),
            default_agent: settings.client.user_agent.clone(),
            retries: std::cell::Cell::new(0),
        })
    }

    /// Downloads the files of the source at position `index` of the run (its proxy slot).
    pub fn source_files(
        &self,
        index: usize,
        name: &str,
        source: &ScrapeSource,
    ) -> Result<Downloaded, Fetch> {
        let mut headers: Vec<(String, String)> = source
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // Uncompressed, unless the source says otherwise: ureq hides the length of a body it
        // decompresses, and a body without one is downloaded twice to be sure it is whole.
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("accept-encoding"))
        {
            headers.push(("Accept-Encoding".into(), "identity".into()));
        }
        if let Some(ua) = &source.user_agent {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("user-agent"));
            headers.push(("User-Agent".into(), ua.trim().to_string()));
        }
        let agent = source.user_agent.as_deref().unwrap_or(&self.default_agent);
        if source.kind == tickerlake::config::SourceKind::Sec && !agent.contains('@') {
            tracing::warn!(
                "{name}: the SEC answers only requests whose User-Agent names a contact (an \
                 e-mail address): set user_agent under scrape.sources.{name} in config.yaml"
            );
        }
        let mut got = Downloaded::default();
        for d in source.downloads() {
            let file = d.file_name();
            let body = match &d.link {
                None => {
                    self.one(index, &file, &d.url, d.form.as_deref(), &headers)?
                        .0
                }
                Some(link) => {
                    let page_name = format!("{file}.page.html");
                    let (page, page_url) = self.one(index, &page_name, &d.url, None, &headers)?;
                    let found = crate::link::links_named(&page, &page_url, link);
                    got.pages.push(RawFile {
                        name: page_name,
                        bytes: page,
                    });
                    let Some(url) = found.first() else {
                        return Err(Fetch::NoLink {
                            message: format!("{file}: its page has no link to a file named {link}"),
                            pages: got.pages,
                        });
                    };
                    if found.len() > 1 {
                        tracing::warn!(
                            "{name}: {file}: its page has {} links to a file of that name: the \
                             first is read",
                            found.len()
                        );
                    }
                    self.one(index, &file, url, None, &headers)?.0
                }
            };
            got.files.push(RawFile {
                name: file,
                bytes: body,
            });
        }
        Ok(got)
    }

    /// One file and the address that answered, with retries; `what` names it in messages. A
    /// body whose end the server did not mark is downloaded again, and taken only when two
    /// downloads in a row agree: a connection reset there reads as the end of the file. As many
    /// downloads again as the retry schedule has steps.
    fn one(
        &self,
        index: usize,
        what: &str,
        url: &str,
        form: Option<&str>,
        headers: &[(String, String)],
    ) -> Result<(Vec<u8>, String), Fetch> {
        let mut previous: Option<Vec<u8>> = None;
        let mut sizes = Vec::new();
        for _ in 0..=self.policy.steps.len().max(1) {
            let answer = self.one_answer(index, what, url, form, headers)?;
            if answer.framed || previous.as_ref() == Some(&answer.body) {
                return Ok((answer.body, answer.url));
            }
            sizes.push(answer.body.len().to_string());
            previous = Some(answer.body);
        }
        Err(Fetch::Failed {
            code: FetchCode::Net,
            message: format!(
                "{what}: the site ends the file by closing the connection (no Content-Length), \
                 and no two downloads in a row agreed ({} bytes): it cannot be known to be whole",
                sizes.join(", ")
            ),
        })
    }

    fn one_answer(
        &self,
        index: usize,
        what: &str,
        url: &str,
        form: Option<&str>,
        headers: &[(String, String)],
    ) -> Result<Answer, Fetch> {
        let host = host_of(url);
        let get = |url: &str| -> Result<Answer, Failure> {
            self.wait_for(&host);
            let answer = self.clients.send(
                index,
                &Request {
                    url,
                    form,
                    json: None,
                    headers,
                },
            );
            self.last.borrow_mut().insert(host.clone(), Instant::now());
            answer
        };
        // The line that reports the failure names the source.
        let label = what.to_string();
        let (result, tries) = fetch_with_retries(
            &get,
            url,
            &self.policy,
            &RateLimiter::new(0.0),
            &Breaker::new(0),
            |answer| judge(&label, answer),
        );
        self.retries.set(self.retries.get() + tries.retries);
        result.map_err(|f| Fetch::Failed {
            code: f.code,
            message: match f.attempts {
                1 => f.message,
                n => format!("{} (after {n} attempts)", f.message),
            },
        })
    }

    /// Sleeps out the pause since the host's last answer.
    fn wait_for(&self, host: &str) {
        let Some(last) = self.last.borrow().get(host).copied() else {
            return;
        };
        let (shortest, longest) = self.pause;
        let pause = if longest > shortest {
            shortest + (longest - shortest).mul_f64(fastrand::f64())
        } else {
            shortest
        };
        let since = last.elapsed();
        if pause > since {
            std::thread::sleep(pause - since);
        }
    }
}

/// What an answer means for a listing file.
fn judge(label: &str, answer: Result<Answer, Failure>) -> Judged<Answer, FetchCode> {
    let a = match answer {
        Ok(a) => a,
        Err(Failure::Final(why)) => {
            return Judged::Fail {
                code: FetchCode::Http,
                message: format!("{label}: {why}"),
            };
        }
        Err(e) => {
            return Judged::Retry {
                code: FetchCode::Net,
                message: format!("{label}: {e}"),
                once: false,
            };
        }
    };
    match a.status {
        200 | 203 => Judged::Done(a),
        s @ 200..=299 => Judged::Fail {
            code: FetchCode::Http,
            message: format!("{label}: HTTP {s}: an answer that is not the whole file"),
        },
        408 | 425 | 429 | 500..=599 => Judged::Retry {
            code: FetchCode::Http,
            message: format!("{label}: HTTP {}", a.status),
            once: false,
        },
        401 | 403 => Judged::Fail {
            code: FetchCode::Http,
            message: format!(
                "{label}: HTTP {}: the site refused the request (some sites answer only a \
                 User-Agent they accept: the SEC one naming a contact, api.nasdaq.com a browser's; \
                 set the source's user_agent in config.yaml)",
                a.status
            ),
        },
        s => Judged::Fail {
            code: FetchCode::Http,
            message: format!("{label}: HTTP {s}"),
        },
    }
}

/// `scheme://host[:port]` of a URL (the pause is per host).
fn host_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    format!("{scheme}://{}", host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_compared_without_case() {
        assert_eq!(
            host_of("https://Www.Sec.gov/files/x.json"),
            "https://www.sec.gov"
        );
        assert_eq!(host_of("http://127.0.0.1:9?q"), "http://127.0.0.1:9");
    }
}
