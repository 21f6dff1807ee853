//! A small HTTP/1.1 server on the loopback interface that replays recorded responses and injects
//! faults, so every network feature of tickerlake is tested offline against genuine data.
//!
//! Routes come from a mapping file (YAML, see `docs/replay-server.md`): a request matches a route
//! by method, path and selected query parameters, and is answered from a recorded file. Per
//! route, faults can be injected: a status sequence (`[429, 429, 200]`), `Retry-After`, a seeded
//! random failure rate, a fixed or random delay, a truncated body, a connection reset. Every
//! request is logged with its arrival and completion times, so tests can assert rate limits and
//! concurrency.
//!
//! Request parsing is `httparse`'s; the server owns its sockets because a truncated body or a
//! reset needs control of the connection itself (see `docs/adr/0002-replay-server.md`).

pub mod cli;
pub mod synthetic;

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tickerlake::config::Span;

/// Longest request head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Connections served at once; more are closed at once.
const MAX_CONNECTIONS: usize = 256;
/// An idle keep-alive connection is closed after this.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    Routes { path: String, message: String },
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("refusing to listen on {0}: the replay server only binds loopback addresses")]
    NotLoopback(IpAddr),
}

impl tickerlake::HasExitCode for Error {
    fn exit_code(&self) -> tickerlake::ExitCode {
        match self {
            Error::Routes { .. } => tickerlake::ExitCode::DataErr,
            Error::Io { source, .. } => tickerlake::exit::io_exit_code(source),
            Error::NotLoopback(_) => tickerlake::ExitCode::Usage,
        }
    }
}

/// The mapping file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Routes {
    /// Other mapping files whose routes come first (relative to this file), so one server can
    /// answer for several recorded sites (the offline demo).
    #[serde(default)]
    pub include: Vec<PathBuf>,
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Directory that `file:` paths are relative to (the mapping file's directory).
    #[serde(skip)]
    pub root: PathBuf,
}

/// One route: what it matches and how it answers.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Name in the request log (default: the path).
    #[serde(default)]
    pub name: Option<String>,
    /// HTTP method (default GET).
    #[serde(default)]
    pub method: Option<String>,
    /// Exact request path, e.g. `/v8/finance/chart/AAPL`; a trailing `*` matches any rest
    /// (`/v8/finance/chart/*`).
    pub path: String,
    /// Query parameters that must be present with these values (`"*"`: any value). Other
    /// parameters are ignored.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Response body from a file, relative to the mapping file.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Response body given inline.
    #[serde(default)]
    pub body: Option<String>,
    /// Status of a normal answer (default 200).
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub faults: Faults,
    /// Generate the answer instead of replaying one (for symbols without a recording; labelled
    /// synthetic in the answer itself). The path's `*` part is the symbol.
    #[serde(default)]
    pub synthetic: Option<synthetic::Synthetic>,
}

impl Route {
    /// Whether `path` is this route's: equal, or starting with the part before a trailing `*`.
    fn matches_path(&self, path: &str) -> bool {
        match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix) && path.len() > prefix.len(),
            None => self.path == path,
        }
    }
}

/// Faults injected on a route.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// One step per request, in order; after the last, requests get the normal answer.
    #[serde(default)]
    pub sequence: Vec<Step>,
    /// `Retry-After` value (seconds) sent with fault statuses 429 and 503.
    #[serde(default)]
    pub retry_after: Option<u32>,
    /// Probability (0–1) that a request past the sequence fails with `fail_with`.
    #[serde(default)]
    pub fail_rate: f64,
    /// What a random failure is (default 503).
    #[serde(default)]
    pub fail_with: Option<Step>,
    /// Seed of the random failures and random delays (default 0): same seed, same faults.
    #[serde(default)]
    pub seed: u64,
    /// Wait before answering: a duration (`150ms`) or a `[min, max]` range drawn per request.
    #[serde(default)]
    pub delay: Option<Delay>,
    /// Body bytes sent by a `truncate` step before the connection closes (default: half).
    #[serde(default)]
    pub truncate_at: Option<usize>,
}

/// What one request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// This status; the recorded body for 2xx, a short text body otherwise.
    Status(u16),
    /// Headers with the full `Content-Length`, part of the body, then the connection closes.
    Truncate,
    /// The connection is reset (TCP RST) without an answer.
    Reset,
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => n
                .as_u64()
                .filter(|s| (200..=599).contains(s))
                .map(|s| Step::Status(s as u16))
                .ok_or_else(|| serde::de::Error::custom(format!("{n} is not an HTTP status"))),
            serde_json::Value::String(s) => match s.as_str() {
                "truncate" => Ok(Step::Truncate),
                "reset" => Ok(Step::Reset),
                other => other
                    .parse::<u16>()
                    .ok()
                    .filter(|s| (200..=599).contains(s))
                    .map(Step::Status)
                    .ok_or_else(|| {
                        serde::de::Error::custom(format!(
                            "expected a status, \"truncate\" or \"reset\", found {other:?}"
                        ))
                    }),
            },
            other => Err(serde::de::Error::custom(format!(
                "expected a status, \"truncate\" or \"reset\", found {other}"
            ))),
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Status(s) => write!(f, "{s}"),
            Step::Truncate => f.write_str("truncate"),
            Step::Reset => f.write_str("reset"),
        }
    }
}

/// A fixed delay or a random one in a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delay {
    Fixed(Duration),
    Between(Duration, Duration),
}

impl<'de> Deserialize<'de> for Delay {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Delay, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(Span),
            Two(Span, Span),
        }
        match Raw::deserialize(d)? {
            Raw::One(s) => Ok(Delay::Fixed(s.0)),
            Raw::Two(a, b) if a.0 <= b.0 => Ok(Delay::Between(a.0, b.0)),
            Raw::Two(..) => Err(serde::de::Error::custom(
                "delay range: min must not exceed max",
            )),
        }
    }
}

impl Routes {
    /// Reads a mapping file; `file:` paths are resolved against its directory.
    pub fn from_file(path: &Path) -> Result<Routes, Error> {
        Routes::from_file_at(path, 0)
    }

    fn from_file_at(path: &Path, depth: usize) -> Result<Routes, Error> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: name.clone(),
            source,
        })?;
        let mut routes = Routes::from_yaml(&text).map_err(|message| Error::Routes {
            path: name.clone(),
            message,
        })?;
        routes.root = path.parent().map(Path::to_path_buf).unwrap_or_default();
        routes.check().map_err(|message| Error::Routes {
            path: name.clone(),
            message,
        })?;
        let mut included = Vec::new();
        for inc in std::mem::take(&mut routes.include) {
            let inc_path = routes.root.join(&inc);
            if depth >= 8 {
                return Err(Error::Routes {
                    path: name,
                    message: format!("includes nested deeper than 8 ({})", inc.display()),
                });
            }
            let mut other = Routes::from_file_at(&inc_path, depth + 1)?;
            for r in &mut other.routes {
                // Bodies stay relative to the file that names them (made absolute, so that the
                // including file's directory does not apply twice).
                if let Some(f) = &r.file {
                    let joined = other.root.join(f);
                    r.file = Some(std::path::absolute(&joined).unwrap_or(joined));
                }
            }
            included.append(&mut other.routes);
        }
        included.append(&mut routes.routes);
        routes.routes = included;
        Ok(routes)
    }

    pub fn from_yaml(text: &str) -> Result<Routes, String> {
        serde_saphyr::from_str::<Routes>(text).map_err(|e| e.to_string())
    }

    /// Checks that every body exists and every rate is a probability.
    pub fn check(&self) -> Result<(), String> {
        for (i, r) in self.routes.iter().enumerate() {
            let at = format!("routes[{i}] ({})", r.path);
            if !r.path.starts_with('/') {
                return Err(format!("{at}: path must start with '/'"));
            }
            if r.file.is_some() && r.body.is_some() {
                return Err(format!("{at}: give file or body, not both"));
            }
            if r.synthetic.is_some() && (r.file.is_some() || r.body.is_some()) {
                return Err(format!("{at}: a synthetic route has no file or body"));
            }
            if r.synthetic.is_some() && !r.path.ends_with('*') {
                return Err(format!(
                    "{at}: a synthetic route's path ends with * (the symbol)"
                ));
            }
            if r.path.trim_end_matches('*').contains('*') {
                return Err(format!("{at}: * may only end a path"));
            }
            if let Some(f) = &r.file {
                let p = self.root.join(f);
                if !p.is_file() {
                    return Err(format!("{at}: file {} does not exist", p.display()));
                }
            }
            if !(0.0..=1.0).contains(&r.faults.fail_rate) {
                return Err(format!("{at}: fail_rate must be between 0 and 1"));
            }
            if let Some(st) = r.status
                && !(200..=599).contains(&st)
            {
                return Err(format!("{at}: status {st} is not between 200 and 599"));
            }
            let empty = r.file.is_none() && r.body.as_deref().is_none_or(str::is_empty);
            let truncates = r.faults.sequence.contains(&Step::Truncate)
                || r.faults.fail_with == Some(Step::Truncate);
            if truncates && empty {
                return Err(format!("{at}: a truncate fault needs a body to cut"));
            }
            for (k, v) in &r.headers {
                let framing = ["content-length", "transfer-encoding", "connection"]
                    .iter()
                    .any(|f| k.eq_ignore_ascii_case(f));
                if framing {
                    return Err(format!(
                        "{at}: header {k} is set by the server (it frames the response)"
                    ));
                }
                if k.is_empty() || k.contains([':', '\r', '\n', ' ']) || v.contains(['\r', '\n']) {
                    return Err(format!("{at}: header {k:?} is not a valid header line"));
                }
            }
        }
        Ok(())
    }
}

/// One served request, as logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// Arrival, RFC 3339 UTC with microseconds.
    pub ts: String,
    /// Arrival and completion, milliseconds since the server started.
    pub start_ms: f64,
    pub end_ms: f64,
    pub method: String,
    /// Request target as sent (path and query).
    pub target: String,
    /// Route that answered (`None`: no route matched, 404).
    pub route: Option<String>,
    /// Status sent (`None` for a reset).
    pub status: Option<u16>,
    /// Fault injected, if any: a status from the sequence or the random rate, `truncate`, `reset`.
    pub fault: Option<String>,
    pub user_agent: Option<String>,
    /// The request body (text, at most 64 KiB kept), when there was one: what a client posted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

/// Request body bytes kept for the log.
const MAX_LOGGED_BODY: usize = 64 * 1024;

struct RouteState {
    route: Route,
    body: Vec<u8>,
    hits: usize,
    rng: fastrand::Rng,
}

struct Shared {
    routes: Vec<Mutex<RouteState>>,
    log: Mutex<Vec<LoggedRequest>>,
    log_sink: Option<Mutex<Box<dyn Write + Send>>>,
    started: Instant,
    last_request: Mutex<Instant>,
    connections: AtomicUsize,
    stop: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking connection thread must not take the whole server down with a poisoned lock.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running replay server. Stops when dropped.
pub struct ReplayServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

/// What the server decided to send.
enum Answer {
    Full {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    Truncated {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        keep: usize,
    },
    Reset,
}

impl ReplayServer {
    /// Starts serving `routes` on `bind` (`127.0.0.1:0` picks a free port).
    pub fn start(routes: Routes, bind: SocketAddr) -> Result<ReplayServer, Error> {
        ReplayServer::start_with_log(routes, bind, None)
    }

    /// Like [`ReplayServer::start`], also writing each log entry as a JSON line to `sink`.
    pub fn start_with_log(
        routes: Routes,
        bind: SocketAddr,
        sink: Option<Box<dyn Write + Send>>,
    ) -> Result<ReplayServer, Error> {
        if !bind.ip().is_loopback() {
            return Err(Error::NotLoopback(bind.ip()));
        }
        let mut states = Vec::with_capacity(routes.routes.len());
        for route in routes.routes {
            let body = match (&route.file, &route.body) {
                (Some(f), _) => {
                    let p = routes.root.join(f);
                    std::fs::read(&p).map_err(|source| Error::Io {
                        path: p.display().to_string(),
                        source,
                    })?
                }
                (None, Some(b)) => b.clone().into_bytes(),
                (None, None) => Vec::new(),
            };
            let rng = fastrand::Rng::with_seed(route.faults.seed);
            states.push(Mutex::new(RouteState {
                route,
                body,
                hits: 0,
                rng,
            }));
        }
        let listener = TcpListener::bind(bind).map_err(|source| Error::Io {
            path: bind.to_string(),
            source,
        })?;
        let addr = listener.local_addr().map_err(|source| Error::Io {
            path: bind.to_string(),
            source,
        })?;
        let shared = Arc::new(Shared {
            routes: states,
            log: Mutex::new(Vec::new()),
            log_sink: sink.map(Mutex::new),
            started: Instant::now(),
            last_request: Mutex::new(Instant::now()),
            connections: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = std::thread::Builder::new()
            .name("replay-accept".into())
            .spawn(move || accept_loop(listener, accept_shared))
            .map_err(|source| Error::Io {
                path: "thread".into(),
                source,
            })?;
        Ok(ReplayServer {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request served so far, in completion order.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).clone()
    }

    /// The requests logged, once there are at least `n` (or after two seconds): a request is
    /// logged when its response is finished, which a client may see before the log does.
    pub fn wait_for_requests(&self, n: usize) -> Vec<LoggedRequest> {
        let deadline = std::time::Instant::now() + Duration::from_secs(2);
        loop {
            let log = self.requests();
            if log.len() >= n || std::time::Instant::now() >= deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// The requests logged after the first `seen` ones.
    pub fn requests_since(&self, seen: usize) -> Vec<LoggedRequest> {
        lock(&self.shared.log)
            .get(seen..)
            .map(<[LoggedRequest]>::to_vec)
            .unwrap_or_default()
    }

    /// Time since the last request arrived (or since the start).
    pub fn idle_for(&self) -> Duration {
        lock(&self.shared.last_request).elapsed()
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        if shared.connections.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            continue; // dropped: closed
        }
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let conn_shared = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("replay-conn".into())
            .spawn(move || {
                let _ = serve_connection(stream, &conn_shared);
                conn_shared.connections.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            shared.connections.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

struct Head {
    method: String,
    target: String,
    close: bool,
    content_length: usize,
    chunked: bool,
    user_agent: Option<String>,
}

/// A request the server cannot take: answered with this status, then the connection closes.
struct Refusal(u16);

/// Reads one request head; `None` when the client closed the connection, a [`Refusal`] for a
/// request that cannot be parsed.
type HeadResult = Result<Option<(Head, usize)>, Refusal>;

fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<HeadResult> {
    let mut chunk = [0u8; 4096];
    loop {
        if !buf.is_empty() {
            let mut headers = [httparse::EMPTY_HEADER; 64];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(buf) {
                Ok(httparse::Status::Complete(len)) => {
                    let header = |name: &str| {
                        req.headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case(name))
                            .map(|h| String::from_utf8_lossy(h.value).into_owned())
                    };
                    let connection = header("connection")
                        .unwrap_or_default()
                        .to_ascii_lowercase();
                    let close = connection.contains("close") || req.version == Some(0);
                    let content_length = header("content-length")
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    let chunked = header("transfer-encoding")
                        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
                    let head = Head {
                        method: req.method.unwrap_or("GET").to_string(),
                        target: req.path.unwrap_or("/").to_string(),
                        close,
                        content_length,
                        chunked,
                        user_agent: header("user-agent"),
                    };
                    return Ok(Ok(Some((head, len))));
                }
                Ok(httparse::Status::Partial) => {}
                Err(httparse::Error::TooManyHeaders) => return Ok(Err(Refusal(431))),
                Err(_) => return Ok(Err(Refusal(400))),
            }
        }
        if buf.len() > MAX_HEAD {
            return Ok(Err(Refusal(431)));
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(Ok(None));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn serve_connection(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    // A client that stops reading must not hold a connection slot for ever.
    stream.set_write_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(4096);
    loop {
        let (head, used) = match read_head(&mut stream, &mut buf)? {
            Ok(Some(h)) => h,
            Ok(None) => return Ok(()),
            Err(Refusal(status)) => {
                let body = format!("replay-server: {} {}\n", status, reason(status));
                return write_response(&mut stream, status, &[], body.as_bytes(), body.len(), true);
            }
        };
        if head.chunked {
            let body = b"replay-server: chunked request bodies are not supported\n";
            return write_response(&mut stream, 501, &[], body, body.len(), true);
        }
        buf.drain(..used);
        // Read the request body: logged (what a client posted), never answered from.
        let mut remaining = head.content_length;
        let mut posted: Vec<u8> = Vec::new();
        while remaining > 0 {
            if !buf.is_empty() {
                let take = remaining.min(buf.len());
                let room = MAX_LOGGED_BODY.saturating_sub(posted.len()).min(take);
                posted.extend_from_slice(&buf[..room]);
                buf.drain(..take);
                remaining -= take;
                continue;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            let take = remaining.min(n);
            let room = MAX_LOGGED_BODY.saturating_sub(posted.len()).min(take);
            posted.extend_from_slice(&chunk[..room]);
            remaining -= take;
            buf.extend_from_slice(&chunk[take..n]);
        }
        let start = shared.started.elapsed();
        *lock(&shared.last_request) = Instant::now();
        let ts = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let (route, fault, delay, answer) = decide(shared, &head);
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let (status, keep_open) = match &answer {
            Answer::Full {
                status,
                headers,
                body,
            } => {
                // No body for HEAD, 204 and 304 (the length still says what GET would send).
                let bodiless =
                    head.method.eq_ignore_ascii_case("HEAD") || *status == 204 || *status == 304;
                let sent: &[u8] = if bodiless { &[] } else { body };
                let length = if *status == 204 || *status == 304 {
                    0
                } else {
                    body.len()
                };
                write_response(&mut stream, *status, headers, sent, length, head.close)?;
                (Some(*status), !head.close)
            }
            Answer::Truncated {
                status,
                headers,
                body,
                keep,
            } => {
                write_response(
                    &mut stream,
                    *status,
                    headers,
                    &body[..*keep],
                    body.len(),
                    true,
                )?;
                let _ = stream.shutdown(Shutdown::Write);
                (Some(*status), false)
            }
            Answer::Reset => {
                // SO_LINGER 0: close() sends RST instead of FIN.
                let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
                (None, false)
            }
        };
        let entry = LoggedRequest {
            ts,
            start_ms: start.as_secs_f64() * 1000.0,
            end_ms: shared.started.elapsed().as_secs_f64() * 1000.0,
            method: head.method,
            target: head.target,
            route,
            status,
            fault,
            user_agent: head.user_agent,
            body: (!posted.is_empty()).then(|| String::from_utf8_lossy(&posted).into_owned()),
        };
        if let Some(sink) = &shared.log_sink
            && let Ok(line) = serde_json::to_string(&entry)
        {
            let mut w = lock(sink);
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
        lock(&shared.log).push(entry);
        if !keep_open {
            return Ok(());
        }
    }
}

fn write_response(
    stream: &mut TcpStream,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    content_length: usize,
    close: bool,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    if headers.is_empty() {
        head.push_str("Content-Type: text/plain; charset=utf-8\r\n");
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {content_length}\r\n"));
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    let mut out = Vec::with_capacity(head.len() + body.len());
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
    stream.write_all(&out)?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Splits `path?query` and decodes the query parameters.
pub fn split_target(target: &str) -> (String, BTreeMap<String, String>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut params = BTreeMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        params.insert(
            percent_decode(&k.replace('+', " ")),
            percent_decode(&v.replace('+', " ")),
        );
    }
    // In a path, `+` is a plus (form encoding applies to the query only).
    (percent_decode(path), params)
}

fn percent_decode(s: &str) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let decoded = match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => Some(hi * 16 + lo),
            _ => None,
        };
        match (decoded, bytes[i]) {
            (Some(b), _) => {
                out.push(b);
                i += 3;
            }
            (None, b) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn content_type_for(route: &Route) -> &'static str {
    let ext = route
        .file
        .as_ref()
        .and_then(|f| f.extension())
        .and_then(|e| e.to_str())
        .unwrap_or("");
    match ext {
        "json" => "application/json",
        "csv" => "text/csv",
        "html" | "htm" => "text/html; charset=utf-8",
        "gz" => "application/gzip",
        _ => "text/plain; charset=utf-8",
    }
}

/// Picks the route, the fault and the answer for a request.
fn decide(shared: &Shared, head: &Head) -> (Option<String>, Option<String>, Duration, Answer) {
    let (path, params) = split_target(&head.target);
    for state in &shared.routes {
        let mut st = lock(state);
        let r = &st.route;
        // HEAD is answered like GET, without the body.
        let method = if head.method.eq_ignore_ascii_case("HEAD") {
            "GET"
        } else {
            head.method.as_str()
        };
        let method_ok = r
            .method
            .as_deref()
            .unwrap_or("GET")
            .eq_ignore_ascii_case(method);
        let query_ok = r
            .query
            .iter()
            .all(|(k, want)| params.get(k).is_some_and(|got| want == "*" || got == want));
        if !(method_ok && r.matches_path(&path) && query_ok) {
            continue;
        }
        let name = r.name.clone().unwrap_or_else(|| r.path.clone());
        let hit = st.hits;
        st.hits += 1;
        let faults = st.route.faults.clone();
        let delay = match faults.delay {
            None => Duration::ZERO,
            Some(Delay::Fixed(d)) => d,
            Some(Delay::Between(lo, hi)) => {
                let span = (hi - lo).as_micros() as u64;
                lo + Duration::from_micros(if span == 0 { 0 } else { st.rng.u64(0..=span) })
            }
        };
        let step = if let Some(step) = faults.sequence.get(hit) {
            Some(*step)
        } else if faults.fail_rate > 0.0 && st.rng.f64() < faults.fail_rate {
            Some(faults.fail_with.unwrap_or(Step::Status(503)))
        } else {
            None
        };
        let mut normal_status = st.route.status.unwrap_or(200);
        let mut body = st.body.clone();
        if let Some(kind) = st.route.synthetic {
            let rest = &path[st.route.path.len() - 1..];
            let (status, generated) = kind.answer(rest, &params, chrono::Utc::now().date_naive());
            normal_status = status;
            body = generated;
        }
        let mut headers: Vec<(String, String)> = Vec::new();
        let has_ct = st
            .route
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"));
        if !has_ct {
            headers.push(("Content-Type".into(), content_type_for(&st.route).into()));
        }
        headers.extend(st.route.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        if st.route.synthetic.is_some() {
            headers.push(("X-Replay-Synthetic".into(), "true".into()));
        }
        let fault = step
            .filter(|s| *s != Step::Status(normal_status))
            .map(|s| s.to_string());
        let answer = match step.unwrap_or(Step::Status(normal_status)) {
            Step::Reset => Answer::Reset,
            Step::Truncate => {
                let keep = faults
                    .truncate_at
                    .unwrap_or(body.len() / 2)
                    .min(body.len().saturating_sub(1));
                Answer::Truncated {
                    status: normal_status,
                    headers,
                    body,
                    keep,
                }
            }
            Step::Status(s) if s == normal_status || (200..300).contains(&s) => Answer::Full {
                status: s,
                headers,
                body,
            },
            Step::Status(s) => {
                let mut h = vec![(
                    "Content-Type".to_string(),
                    "text/plain; charset=utf-8".to_string(),
                )];
                if let (Some(secs), true) = (faults.retry_after, s == 429 || s == 503) {
                    h.push(("Retry-After".into(), secs.to_string()));
                }
                Answer::Full {
                    status: s,
                    headers: h,
                    body: format!("replay-server: injected {s} {}\n", reason(s)).into_bytes(),
                }
            }
        };
        return (Some(name), fault, delay, answer);
    }
    let body = format!(
        "replay-server: no route for {} {}\n",
        head.method, head.target
    )
    .into_bytes();
    (
        None,
        None,
        Duration::ZERO,
        Answer::Full {
            status: 404,
            headers: vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            body,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parsing() {
        let (p, q) = split_target("/v8/finance/chart/BRK-B?period1=1&events=div%7Csplit&x");
        assert_eq!(p, "/v8/finance/chart/BRK-B");
        assert_eq!(q.get("events").map(String::as_str), Some("div|split"));
        assert_eq!(q.get("x").map(String::as_str), Some(""));
        assert_eq!(percent_decode("%5EGSPC"), "^GSPC");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        let (p, q) = split_target("/a+b?q=x+y");
        assert_eq!(p, "/a+b");
        assert_eq!(q.get("q").map(String::as_str), Some("x y"));
    }

    #[test]
    fn steps_parse() {
        let r = Routes::from_yaml("routes:\n  - path: /x\n    faults:\n      sequence: [429, \"503\", reset, truncate]\n      delay: [10ms, 20ms]\n").unwrap();
        assert_eq!(
            r.routes[0].faults.sequence,
            vec![
                Step::Status(429),
                Step::Status(503),
                Step::Reset,
                Step::Truncate
            ]
        );
        assert_eq!(
            r.routes[0].faults.delay,
            Some(Delay::Between(
                Duration::from_millis(10),
                Duration::from_millis(20)
            ))
        );
        assert!(
            Routes::from_yaml("routes:\n  - path: /x\n    faults:\n      sequence: [99]\n")
                .is_err()
        );
        assert!(Routes::from_yaml("routes:\n  - path: /x\n    bogus: 1\n").is_err());
    }
}
