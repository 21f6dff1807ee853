//! Every fault of the replay server, exercised over real sockets with a minimal HTTP client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use replay_server::{ReplayServer, Routes};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn server(yaml: &str) -> ReplayServer {
    let mut routes = Routes::from_yaml(yaml).expect("routes parse");
    routes.root = fixtures().join("replay");
    routes.check().expect("routes check");
    ReplayServer::start(routes, "127.0.0.1:0".parse().unwrap()).expect("server starts")
}

#[derive(Debug)]
struct Resp {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    content_length: Option<usize>,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn parse(raw: &[u8]) -> Resp {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let content_length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap());
    Resp {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
        content_length,
    }
}

/// One request on a fresh connection; the raw bytes received or the socket error.
fn fetch_raw(addr: SocketAddr, target: &str) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: faults-test\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)?;
    Ok(out)
}

fn get(addr: SocketAddr, target: &str) -> Resp {
    parse(&fetch_raw(addr, target).expect("request succeeds"))
}

const AAPL: &str = "routes:\n  - path: /v8/finance/chart/AAPL\n    query: { interval: 1d }\n    file: ../real/yahoo_chart/AAPL_1d_6mo_20251029.json\n";

fn recorded() -> Vec<u8> {
    std::fs::read(fixtures().join("real/yahoo_chart/AAPL_1d_6mo_20251029.json")).unwrap()
}

#[test]
fn serves_recordings_byte_for_byte_and_matches_query() {
    let s = server(AAPL);
    let r = get(s.addr(), "/v8/finance/chart/AAPL?period1=1&interval=1d");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, recorded());
    assert_eq!(r.header("content-type"), Some("application/json"));
    // Wrong query value, missing parameter, unknown path: no route.
    assert_eq!(
        get(s.addr(), "/v8/finance/chart/AAPL?interval=1wk").status,
        404
    );
    assert_eq!(get(s.addr(), "/v8/finance/chart/AAPL").status, 404);
    assert_eq!(
        get(s.addr(), "/v8/finance/chart/MSFT?interval=1d").status,
        404
    );
    let log = s.wait_for_requests(4);
    assert_eq!(log.len(), 4);
    assert_eq!(log[0].route.as_deref(), Some("/v8/finance/chart/AAPL"));
    assert_eq!(log[0].user_agent.as_deref(), Some("faults-test"));
    assert_eq!(log[3].route, None);
}

#[test]
fn status_sequence_with_retry_after_then_normal() {
    let s = server(&format!(
        "{AAPL}    faults:\n      sequence: [429, 429, 503, 200]\n      retry_after: 7\n"
    ));
    let statuses: Vec<(u16, Option<String>)> = (0..5)
        .map(|_| {
            let r = get(s.addr(), "/v8/finance/chart/AAPL?interval=1d");
            (r.status, r.header("retry-after").map(str::to_string))
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            (429, Some("7".into())),
            (429, Some("7".into())),
            (503, Some("7".into())),
            (200, None),
            (200, None)
        ]
    );
    let faults: Vec<Option<String>> = s
        .wait_for_requests(5)
        .into_iter()
        .map(|r| r.fault)
        .collect();
    assert_eq!(
        faults,
        vec![
            Some("429".into()),
            Some("429".into()),
            Some("503".into()),
            None,
            None
        ]
    );
}

#[test]
fn seeded_failure_rate_is_reproducible() {
    let yaml =
        format!("{AAPL}    faults:\n      fail_rate: 0.3\n      fail_with: 500\n      seed: 42\n");
    let run = || {
        let s = server(&yaml);
        (0..100)
            .map(|_| get(s.addr(), "/v8/finance/chart/AAPL?interval=1d").status)
            .collect::<Vec<u16>>()
    };
    let a = run();
    assert_eq!(a, run(), "same seed, same failures");
    let failed = a.iter().filter(|&&st| st == 500).count();
    assert!(
        (15..=45).contains(&failed),
        "{failed} failures of 100 at rate 0.3"
    );
    assert!(a.iter().all(|&st| st == 200 || st == 500));
}

#[test]
fn fixed_and_random_delays() {
    let s = server(&format!("{AAPL}    faults:\n      delay: 150ms\n"));
    let t = Instant::now();
    assert_eq!(
        get(s.addr(), "/v8/finance/chart/AAPL?interval=1d").status,
        200
    );
    assert!(t.elapsed() >= Duration::from_millis(150));
    let e = &s.wait_for_requests(1)[0];
    assert!(e.end_ms - e.start_ms >= 150.0, "{e:?}");

    let s = server(&format!(
        "{AAPL}    faults:\n      delay: [20ms, 60ms]\n      seed: 3\n"
    ));
    for _ in 0..5 {
        get(s.addr(), "/v8/finance/chart/AAPL?interval=1d");
    }
    for e in s.wait_for_requests(5) {
        let took = e.end_ms - e.start_ms;
        assert!((20.0..200.0).contains(&took), "{took} ms");
    }
}

#[test]
fn truncated_body_announces_more_than_it_sends() {
    let s = server(&format!(
        "{AAPL}    faults:\n      sequence: [truncate]\n      truncate_at: 100\n"
    ));
    let r = get(s.addr(), "/v8/finance/chart/AAPL?interval=1d");
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 100);
    assert_eq!(r.content_length, Some(recorded().len()));
    assert_eq!(&r.body[..], &recorded()[..100]);
    assert_eq!(s.wait_for_requests(1)[0].fault.as_deref(), Some("truncate"));
    // The next request gets the whole body.
    assert_eq!(
        get(s.addr(), "/v8/finance/chart/AAPL?interval=1d").body,
        recorded()
    );
}

#[test]
fn reset_closes_without_an_answer() {
    let s = server(&format!("{AAPL}    faults:\n      sequence: [reset]\n"));
    match fetch_raw(s.addr(), "/v8/finance/chart/AAPL?interval=1d") {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        Ok(bytes) => assert!(bytes.is_empty(), "got {} bytes", bytes.len()),
    }
    let log = s.wait_for_requests(1);
    assert_eq!(log[0].status, None);
    assert_eq!(log[0].fault.as_deref(), Some("reset"));
    assert_eq!(
        get(s.addr(), "/v8/finance/chart/AAPL?interval=1d").status,
        200
    );
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let s = server(&format!("{AAPL}    faults:\n      sequence: [429]\n"));
    let mut c = TcpStream::connect(s.addr()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let body_len = recorded().len();
    let mut got = Vec::new();
    for close in [false, true] {
        let extra = if close { "Connection: close\r\n" } else { "" };
        write!(
            c,
            "GET /v8/finance/chart/AAPL?interval=1d HTTP/1.1\r\nHost: x\r\n{extra}\r\n"
        )
        .unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        // Read until one whole response (head + Content-Length bytes) is in.
        loop {
            let n = c.read(&mut chunk).unwrap();
            buf.extend_from_slice(&chunk[..n]);
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let r = parse(&buf);
                if buf.len() - p - 4 >= r.content_length.unwrap() {
                    got.push(r);
                    break;
                }
            }
            assert!(n > 0, "connection closed early");
        }
    }
    assert_eq!(got[0].status, 429);
    assert_eq!(got[1].status, 200);
    assert_eq!(got[1].body.len(), body_len);
}

#[test]
fn log_shows_concurrency() {
    let s = server(&format!("{AAPL}    faults:\n      delay: 200ms\n"));
    let addr = s.addr();
    let threads: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(move || get(addr, "/v8/finance/chart/AAPL?interval=1d").status))
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap(), 200);
    }
    let log = s.wait_for_requests(4);
    assert_eq!(log.len(), 4);
    // Highest number of requests in flight at once, from the logged intervals.
    let peak = log
        .iter()
        .map(|a| {
            log.iter()
                .filter(|b| b.start_ms <= a.start_ms && a.start_ms < b.end_ms)
                .count()
        })
        .max()
        .unwrap();
    assert!(peak >= 2, "requests were served one at a time: {log:?}");
}

#[test]
fn refuses_non_loopback_and_bad_routes() {
    let routes = Routes::from_yaml(AAPL).unwrap();
    assert!(ReplayServer::start(routes, "0.0.0.0:0".parse().unwrap()).is_err());
    let mut r = Routes::from_yaml("routes:\n  - path: /x\n    file: nope.json\n").unwrap();
    r.root = fixtures().join("replay");
    assert!(r.check().unwrap_err().contains("does not exist"));
    let r = Routes::from_yaml("routes:\n  - path: /x\n    faults: { fail_rate: 2 }\n").unwrap();
    assert!(r.check().is_err());
}

#[test]
fn bundled_yahoo_routes_load() {
    let routes = Routes::from_file(&fixtures().join("replay/yahoo.yaml")).unwrap();
    let s = ReplayServer::start(routes, "127.0.0.1:0".parse().unwrap()).unwrap();
    let r = get(
        s.addr(),
        "/v8/finance/chart/WSU.DE?interval=1d&period1=1691107200&period2=1691539200",
    );
    assert_eq!(r.status, 200);
    assert!(String::from_utf8_lossy(&r.body).contains("\"currency\":\"EUR\""));
}

#[test]
fn malformed_and_unsupported_requests_get_an_answer() {
    let s = server(AAPL);
    let send = |raw: &[u8]| {
        let mut c = TcpStream::connect(s.addr()).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c.write_all(raw).unwrap();
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        parse(&out)
    };
    assert_eq!(send(b"NOT HTTP AT ALL\r\n\r\n").status, 400);
    assert_eq!(send(b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n").status, 501);
    // HEAD: the headers of a GET, no body.
    let r = send(
        b"HEAD /v8/finance/chart/AAPL?interval=1d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.content_length, Some(recorded().len()));
}

#[test]
fn route_files_that_cannot_work_are_refused() {
    for (yaml, why) in [
        ("routes:\n  - path: /x\n    status: 99\n", "status"),
        (
            "routes:\n  - path: /x\n    faults: { sequence: [truncate] }\n",
            "truncate",
        ),
        (
            "routes:\n  - path: /x\n    body: hi\n    headers: { Content-Length: \"5\" }\n",
            "Content-Length",
        ),
        (
            "routes:\n  - path: /x\n    body: hi\n    headers: { \"X-A\": \"1\\r\\nX-B: 2\" }\n",
            "valid header",
        ),
    ] {
        let r = Routes::from_yaml(yaml).unwrap();
        let err = r.check().unwrap_err();
        assert!(err.contains(why), "{yaml}: {err}");
    }
}
