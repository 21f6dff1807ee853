//! One GET, classified: an answer (any status, with its body and `Retry-After`), or a failure
//! that never produced one (timeout, connection refused or reset, a body cut short).
//!
//! Statuses are answers, not errors: what a 429 or a 404 means is the caller's decision.

use std::time::Duration;

use tickerlake::config::ProxyUrl;

/// Largest body read (a 10-year daily chart is ~300 KB).
const MAX_BODY: u64 = 32 << 20;

/// An HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// `Retry-After`, in seconds or as an HTTP date (a value that is neither is absent; one too
    /// large to represent is the longest wait there is).
    pub retry_after: Option<Duration>,
    /// The address that answered, after redirects.
    pub url: String,
    /// Whether the body's end was marked by a `Content-Length` or chunked encoding. An unmarked
    /// body ends where the server closed the connection, and a reset there reads as a close:
    /// such a body cannot be known to be whole. (A body ureq decompressed reads as unmarked:
    /// ureq drops its `Content-Length`; ask for `Accept-Encoding: identity` to see it.)
    pub framed: bool,
}

/// What to ask for: a GET, or a POST of a form (what a page's "Download" button sends).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub url: &'a str,
    /// An `application/x-www-form-urlencoded` body: the request is a POST.
    pub form: Option<&'a str>,
    /// A JSON body (`application/json`): the request is a POST (webhooks, bot APIs).
    pub json: Option<&'a str>,
    /// Headers besides the client's (a User-Agent of its own replaces the client's).
    pub headers: &'a [(String, String)],
}

impl<'a> Request<'a> {
    pub fn get(url: &'a str) -> Request<'a> {
        Request {
            url,
            form: None,
            json: None,
            headers: &[],
        }
    }
}

/// A request that got no complete answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("connection failed: {0}")]
    Net(String),
    #[error("the body was cut short: {0}")]
    Truncated(String),
    /// The proxy itself could not be reached or refused the tunnel.
    #[error("proxy failed: {0}")]
    Proxy(String),
    /// A request no retry can help: a redirect loop or one to nowhere, a body over the size
    /// limit, an address that cannot be sent.
    #[error("{0}")]
    Final(String),
}

/// How requests are made.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub user_agent: String,
    pub connect_timeout: Duration,
    /// The whole request, body included.
    pub timeout: Duration,
    /// `http://host:port` or `socks5://…`; `None`: direct (environment proxies are not used,
    /// so a run does exactly what its flags and config say).
    pub proxy: Option<ProxyUrl>,
}

impl ClientConfig {
    /// From `config.yaml`'s `http:` section, direct (proxies are [`crate::proxies::Clients`]'s).
    pub fn from_http(http: &tickerlake::config::Http) -> ClientConfig {
        ClientConfig {
            user_agent: http.user_agent.clone(),
            connect_timeout: http.connect_timeout.0,
            timeout: http.timeout.0,
            proxy: None,
        }
    }
}

/// A client with its connection pool.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    proxied: bool,
}

impl Client {
    pub fn new(cfg: &ClientConfig) -> Result<Client, String> {
        let proxy = match &cfg.proxy {
            Some(url) => Some(
                ureq::Proxy::new(url.expose())
                    .map_err(|e| format!("proxy {}: {e}", url.redacted()))?,
            ),
            None => None,
        };
        let config = ureq::Agent::config_builder()
            .user_agent(&cfg.user_agent)
            .timeout_connect(Some(cfg.connect_timeout))
            .timeout_global(Some(cfg.timeout))
            .http_status_as_error(false)
            .proxy(proxy)
            .build();
        Ok(Client {
            agent: config.into(),
            proxied: cfg.proxy.is_some(),
        })
    }

    /// GETs `url`.
    pub fn get(&self, url: &str) -> Result<Answer, Failure> {
        self.send(&Request::get(url))
    }

    /// Sends `request`: a GET, or a POST of its form.
    pub fn send(&self, request: &Request<'_>) -> Result<Answer, Failure> {
        let posted = match (request.form, request.json) {
            (Some(form), _) => Some(("application/x-www-form-urlencoded", form)),
            (None, Some(json)) => Some(("application/json", json)),
            (None, None) => None,
        };
        let sent = match posted {
            Some((content_type, form)) => {
                let mut builder = self
                    .agent
                    .post(request.url)
                    .header("content-type", content_type);
                for (name, value) in request.headers {
                    builder = builder.header(name, value);
                }
                builder.send(form)
            }
            None => {
                let mut builder = self.agent.get(request.url);
                for (name, value) in request.headers {
                    builder = builder.header(name, value);
                }
                builder.call()
            }
        };
        let mut response = sent.map_err(|e| classify(&e, self.proxied))?;
        let status = response.status().as_u16();
        let headers = response.headers();
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
        // ureq drops the Content-Length of a body it decompresses: such a body reads as
        // unframed (though a cut compressed stream would fail to decode).
        let framed =
            headers.contains_key("content-length") || headers.contains_key("transfer-encoding");
        let url = ureq::ResponseExt::get_uri(&response).to_string();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| match classify(&e, false) {
                // Anything that breaks the body after the status line: the answer is incomplete.
                Failure::Net(m) => Failure::Truncated(m),
                other => other,
            })?;
        Ok(Answer {
            status,
            body,
            retry_after,
            url,
            framed,
        })
    }
}

/// `Retry-After`: delay-seconds (`120`; a fraction rounds up, a number too large to hold is the
/// longest wait) or an HTTP date (a date passed is no wait). Anything else: none.
pub fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(v.parse::<u64>().unwrap_or(u64::MAX)));
    }
    if let Ok(secs) = v.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Some(Duration::from_secs(secs.ceil().min(u64::MAX as f64) as u64));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let now = chrono::DateTime::<chrono::Utc>::from(now);
    Some((when.to_utc() - now).to_std().unwrap_or(Duration::ZERO))
}

/// `proxied`: the connection goes to a proxy, so failing to connect is the proxy's failure.
fn classify(e: &ureq::Error, proxied: bool) -> Failure {
    match e {
        ureq::Error::ConnectProxyFailed(_) => Failure::Proxy(e.to_string()),
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound if proxied => {
            Failure::Proxy(e.to_string())
        }
        // Through a proxy, the only name resolved here is the proxy's own.
        ureq::Error::Timeout(ureq::Timeout::Resolve) if proxied => Failure::Proxy(e.to_string()),
        ureq::Error::Io(io) if proxied && io.to_string().contains("failed to lookup address") => {
            Failure::Proxy(e.to_string())
        }
        ureq::Error::TooManyRedirects => {
            Failure::Final("too many redirects (a redirect loop?)".into())
        }
        ureq::Error::RedirectFailed => Failure::Final(
            "a redirect that leads nowhere (no Location, or not an http(s) address)".into(),
        ),
        ureq::Error::BadUri(_) | ureq::Error::Http(_) => {
            Failure::Final(format!("an address that cannot be requested: {e}"))
        }
        ureq::Error::BodyExceedsLimit(limit) => Failure::Final(format!(
            "the body is larger than {} MiB: not a listing",
            limit >> 20
        )),
        ureq::Error::Io(io) if proxied && io.kind() == std::io::ErrorKind::ConnectionRefused => {
            Failure::Proxy(e.to_string())
        }
        ureq::Error::Timeout(_) => Failure::Timeout(e.to_string()),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            Failure::Timeout(e.to_string())
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Failure::Truncated(e.to_string())
        }
        _ => Failure::Net(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replay_server::{ReplayServer, Routes};

    fn server(yaml: &str) -> ReplayServer {
        let routes = Routes::from_yaml(yaml).unwrap();
        ReplayServer::start(routes, "127.0.0.1:0".parse().unwrap()).unwrap()
    }

    fn client(timeout_ms: u64) -> Client {
        Client::new(&ClientConfig {
            user_agent: "tickerlake-test".into(),
            connect_timeout: Duration::from_secs(2),
            timeout: Duration::from_millis(timeout_ms),
            proxy: None,
        })
        .unwrap()
    }

    #[test]
    fn statuses_are_answers_with_their_retry_after() {
        let s = server(
            r#"
routes:
  - path: /x
    body: "fine"
    faults: { sequence: [429, 503], retry_after: 7 }
"#,
        );
        let c = client(2000);
        let url = format!("{}/x", s.base_url());
        let a = c.get(&url).unwrap();
        assert_eq!(
            (a.status, a.retry_after),
            (429, Some(Duration::from_secs(7)))
        );
        let a = c.get(&url).unwrap();
        assert_eq!(a.status, 503);
        let a = c.get(&url).unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, &b"fine"[..]));
        let missing = c.get(&format!("{}/nothing", s.base_url())).unwrap();
        assert_eq!(missing.status, 404);
        // The agent string goes out with every request.
        let log = s.wait_for_requests(4);
        assert_eq!(log.len(), 4);
        assert!(
            log.iter()
                .all(|r| r.user_agent.as_deref() == Some("tickerlake-test"))
        );
    }

    #[test]
    fn a_form_is_posted_and_a_request_user_agent_replaces_the_clients() {
        let s = server(
            r#"
routes:
  - path: /download
    method: POST
    body: "Name;ISIN"
"#,
        );
        let c = client(2000);
        let url = format!("{}/download", s.base_url());
        let headers = [("User-Agent".to_string(), "me me@example.com".to_string())];
        let posted = c
            .send(&Request {
                url: &url,
                form: Some("args[fe_type]=csv"),
                json: None,
                headers: &headers,
            })
            .unwrap();
        assert_eq!(
            (posted.status, posted.body.as_slice()),
            (200, &b"Name;ISIN"[..])
        );
        // The route answers POSTs only: a GET of the same URL is not it.
        assert_eq!(c.get(&url).unwrap().status, 404);
        let log = s.wait_for_requests(2);
        assert_eq!(log[0].method, "POST");
        assert_eq!(log[0].user_agent.as_deref(), Some("me me@example.com"));
        assert_eq!(log[1].user_agent.as_deref(), Some("tickerlake-test"));
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let secs = |v: &str| parse_retry_after(v, now).map(|d| d.as_secs());
        assert_eq!(secs("120"), Some(120));
        assert_eq!(secs(" 7 "), Some(7));
        assert_eq!(secs("1.5"), Some(2));
        assert_eq!(secs("18446744073709551616"), Some(u64::MAX));
        // 2023-11-14T22:13:20Z is `now`; a date an hour on, and one passed.
        assert_eq!(secs("Tue, 14 Nov 2023 23:13:20 GMT"), Some(3600));
        assert_eq!(secs("Mon, 13 Nov 2023 00:00:00 GMT"), Some(0));
        assert_eq!(secs("soon"), None);
        assert_eq!(secs("-3"), None);
    }

    #[test]
    fn redirects_end_where_they_answer_and_a_loop_is_final() {
        let s = server(
            r#"
routes:
  - path: /old
    status: 302
    headers: { Location: /new/place }
    body: ""
  - path: /new/place
    body: "here"
  - path: /loop
    status: 302
    headers: { Location: /loop }
    body: ""
"#,
        );
        let c = client(2000);
        let a = c.get(&format!("{}/old", s.base_url())).unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, &b"here"[..]));
        assert_eq!(a.url, format!("{}/new/place", s.base_url()));
        assert!(a.framed, "the replay server sends a Content-Length");
        assert!(matches!(
            c.get(&format!("{}/loop", s.base_url())),
            Err(Failure::Final(_))
        ));
    }

    #[test]
    fn timeouts_resets_and_short_bodies_are_failures() {
        let s = server(
            r#"
routes:
  - path: /slow
    body: "late"
    faults: { delay: 1500ms }
  - path: /cut
    body: "0123456789012345678901234567890123456789"
    faults: { sequence: [truncate], truncate_at: 10 }
  - path: /reset
    body: "never"
    faults: { sequence: [reset] }
"#,
        );
        let c = client(300);
        let base = s.base_url();
        assert!(matches!(
            c.get(&format!("{base}/slow")),
            Err(Failure::Timeout(_))
        ));
        assert!(matches!(
            c.get(&format!("{base}/cut")),
            Err(Failure::Truncated(_))
        ));
        assert!(matches!(
            c.get(&format!("{base}/reset")),
            Err(Failure::Net(_) | Failure::Truncated(_))
        ));
        // Refused: nothing listens on the port any more.
        let port = s.addr().port();
        drop(s);
        assert!(matches!(
            c.get(&format!("http://127.0.0.1:{port}/x")),
            Err(Failure::Net(_) | Failure::Timeout(_))
        ));
    }
}
