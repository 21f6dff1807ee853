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
    /// `Retry-After` in seconds (the HTTP-date form is read as absent).
    pub retry_after: Option<Duration>,
}

/// What to ask for: a GET, or a POST of a form (what a page's "Download" button sends).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub url: &'a str,
    /// An `application/x-www-form-urlencoded` body: the request is a POST.
    pub form: Option<&'a str>,
    /// Headers besides the client's (a User-Agent of its own replaces the client's).
    pub headers: &'a [(String, String)],
}

impl<'a> Request<'a> {
    pub fn get(url: &'a str) -> Request<'a> {
        Request {
            url,
            form: None,
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
        let sent = match request.form {
            Some(form) => {
                let mut builder = self
                    .agent
                    .post(request.url)
                    .header("content-type", "application/x-www-form-urlencoded");
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
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
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
        })
    }
}

/// `proxied`: the connection goes to a proxy, so failing to connect is the proxy's failure.
fn classify(e: &ureq::Error, proxied: bool) -> Failure {
    match e {
        ureq::Error::ConnectProxyFailed(_) => Failure::Proxy(e.to_string()),
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound if proxied => {
            Failure::Proxy(e.to_string())
        }
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
