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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    /// Nothing usable came back.
    Failed { code: FetchCode, message: String },
    /// The page came back, but the link to the file was not on it: the page has drifted.
    NoLink(String),
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
            client: ClientConfig {
                user_agent: config.http.user_agent.clone(),
                connect_timeout: config.http.connect_timeout.0,
                timeout: config.http.timeout.0,
                proxy: None,
            },
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
    ) -> Result<Vec<RawFile>, Fetch> {
        let mut headers: Vec<(String, String)> = source
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
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
        let mut files = Vec::new();
        for d in source.downloads() {
            let file = d.file_name();
            let body = match &d.link {
                None => self.one(index, &file, &d.url, d.form.as_deref(), &headers)?,
                Some(link) => {
                    let page =
                        self.one(index, &format!("{file} (its page)"), &d.url, None, &headers)?;
                    let Some(url) = find_link(&page, &d.url, link) else {
                        return Err(Fetch::NoLink(format!(
                            "{file}: its page has no link to a file named {link}"
                        )));
                    };
                    self.one(index, &file, &url, None, &headers)?
                }
            };
            files.push(RawFile {
                name: file,
                bytes: body,
            });
        }
        Ok(files)
    }

    /// One file, with retries; `what` names it in messages.
    fn one(
        &self,
        index: usize,
        what: &str,
        url: &str,
        form: Option<&str>,
        headers: &[(String, String)],
    ) -> Result<Vec<u8>, Fetch> {
        let host = host_of(url);
        let get = |url: &str| -> Result<Answer, Failure> {
            self.wait_for(&host);
            let answer = self.clients.send(index, &Request { url, form, headers });
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
fn judge(label: &str, answer: Result<Answer, Failure>) -> Judged<Vec<u8>, FetchCode> {
    let a = match answer {
        Ok(a) => a,
        Err(e) => {
            return Judged::Retry {
                code: FetchCode::Net,
                message: format!("{label}: {e}"),
                once: false,
            };
        }
    };
    match a.status {
        200..=299 => Judged::Done(a.body),
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

/// The address of the first link on `page` (fetched from `page_url`) whose path ends in the file
/// name `link`, compared case-insensitively (releases change the case).
pub fn find_link(page: &[u8], page_url: &str, link: &str) -> Option<String> {
    let text = String::from_utf8_lossy(page);
    let html = scraper::Html::parse_document(&text);
    let anchors = scraper::Selector::parse("a[href]").ok()?;
    html.select(&anchors)
        .filter_map(|a| a.value().attr("href"))
        .map(str::trim)
        .find(|href| {
            let path = href.split(['?', '#']).next().unwrap_or("");
            let last = path.rsplit('/').next().unwrap_or("");
            last.eq_ignore_ascii_case(link)
        })
        .map(|href| resolve(page_url, href))
}

/// `href` as an absolute URL, read on the page at `base`.
fn resolve(base: &str, href: &str) -> String {
    if href.starts_with("http://") || href.starts_with("https://") {
        return href.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let origin_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..origin_end]);
    if let Some(other_host) = href.strip_prefix("//") {
        return format!("{scheme}://{other_host}");
    }
    if href.starts_with('/') {
        return format!("{origin}{href}");
    }
    // Relative to the page's directory.
    let path = rest[origin_end..].split(['?', '#']).next().unwrap_or("");
    let dir = match path.rfind('/') {
        Some(k) => &path[..=k],
        None => "/",
    };
    format!("{origin}{dir}{href}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_by_file_name_whatever_their_case_and_resolved() {
        let page = br#"<html><body>
            <a href="/resource/blob/1528/0f1e/data/t7-xetr-instrumentsStatic.csv">static</a>
            <!-- <a href="/old/t7-xetr-allTradableInstruments.csv">old</a> -->
            <a href="/resource/blob/1528/a31c/data/T7-XETR-allTradableInstruments.csv?x=1&amp;y=2">all</a>
        </body></html>"#;
        let base = "https://www.example.com/cash-en/trading/Downloads";
        assert_eq!(
            find_link(page, base, "t7-xetr-allTradableInstruments.csv").as_deref(),
            Some(
                "https://www.example.com/resource/blob/1528/a31c/data/\
                 T7-XETR-allTradableInstruments.csv?x=1&y=2"
            )
        );
        assert_eq!(find_link(page, base, "nothing.csv"), None);
        assert_eq!(
            resolve(base, "x/f.csv"),
            "https://www.example.com/cash-en/trading/x/f.csv"
        );
        assert_eq!(
            resolve(base, "//cdn.example.net/f.csv"),
            "https://cdn.example.net/f.csv"
        );
        assert_eq!(
            resolve("http://127.0.0.1:9/p", "/f.csv"),
            "http://127.0.0.1:9/f.csv"
        );
        assert_eq!(resolve("http://h", "f.csv"), "http://h/f.csv");
        assert_eq!(
            host_of("https://Www.Sec.gov/files/x.json"),
            "https://www.sec.gov"
        );
    }
}
