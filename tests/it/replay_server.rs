//! The replay server as a CLI: port on stdout, request log, idle exit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use tickerlake_tests::{WorkDir, bin, fixture, ndjson_values};

fn http_get(port: u16, target: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn serves_recordings_logs_requests_and_exits_when_idle() {
    let w = WorkDir::new();
    let mut child = Command::new(bin("replay-server"))
        .arg(fixture("replay/yahoo.yaml"))
        .args(["--log", "requests.ndjson", "--idle-exit", "1s"])
        .current_dir(w.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port: u16 = first
        .trim()
        .parse()
        .expect("the port on the first stdout line");

    let ok = http_get(port, "/v8/finance/chart/AAPL?interval=1d&range=6mo");
    assert!(
        ok.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        ok.chars().take(80).collect::<String>()
    );
    let recorded =
        std::fs::read_to_string(fixture("real/yahoo_chart/AAPL_1d_6mo_20251029.json")).unwrap();
    assert!(ok.ends_with(&recorded));
    assert!(http_get(port, "/nope").starts_with("HTTP/1.1 404"));

    let status = child.wait().unwrap(); // exits by itself after 1 s idle
    assert!(status.success());
    let log = ndjson_values(&w.read("requests.ndjson"));
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["route"], "AAPL 6mo");
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[1]["route"], serde_json::Value::Null);
    assert!(log[0]["ts"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn bad_routes_file_is_reported() {
    let w = WorkDir::new();
    w.write(
        "routes.yaml",
        "routes:\n  - path: /x\n    file: missing.json\n",
    );
    w.cmd("replay-server")
        .args(["routes.yaml", "--log-format", "text"])
        .fails_with(65)
        .stderr_contains("missing.json does not exist");
    w.cmd("replay-server").args(["nope.yaml"]).fails_with(66);
    w.cmd("replay-server")
        .arg(fixture("replay/yahoo.yaml"))
        .args(["--bind", "0.0.0.0", "--log-format", "text"])
        .fails_with(2)
        .stderr_contains("only binds loopback");
}
