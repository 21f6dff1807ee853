//! ohlcv-fetch through the binary, against the replay server serving genuine recordings with
//! injected faults; assertions on the records and on the server's request log.

use replay_server::{LoggedRequest, ReplayServer, Routes};
use tickerlake_tests::{WorkDir, fixture, ndjson_values};

fn serve(routes: &str) -> ReplayServer {
    let dir = fixture("real/yahoo_chart");
    let yaml = routes.replace("$DIR", &dir.display().to_string());
    ReplayServer::start(
        Routes::from_yaml(&yaml).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap()
}

/// Retries in milliseconds, a short timeout, a breaker after 5 failures in a row.
fn config(w: &WorkDir) -> std::path::PathBuf {
    w.write(
        "config.yaml",
        "http:\n  timeout: 2s\nfetch:\n  backoff: [20ms, 40ms, 60ms]\n  breaker_failures: 5\n  rate: 1000\n",
    )
}

/// Most requests in flight at once, from the log's start and end times.
fn max_in_flight(log: &[LoggedRequest]) -> usize {
    let mut edges: Vec<(f64, i32)> = log
        .iter()
        .flat_map(|r| [(r.start_ms, 1), (r.end_ms, -1)])
        .collect();
    // An end before a start at the same instant: touching is not overlapping.
    edges.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut most) = (0i32, 0i32);
    for (_, d) in edges {
        now += d;
        most = most.max(now);
    }
    most as usize
}

#[test]
fn recorded_symbols_become_canonical_bars_actions_and_a_dead_letter_list() {
    let w = WorkDir::new();
    let s = serve(
        r#"
routes:
  - path: /v8/finance/chart/AAPL
    query: { interval: 1d, events: "*" }
    file: $DIR/AAPL_1d_2020-08-31_2020-11-07_split4to1.body.json
  - path: /v8/finance/chart/WSU.DE
    query: { interval: 1d }
    file: $DIR/WSU.DE_1d_2023-08-04_2023-08-09.body.json
  - path: /v8/finance/chart/GONE
    status: 404
    body: '{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}'
"#,
    );
    let universe = w.write(
        "universe.ndjson",
        concat!(
            "{\"symbol\":\"AAPL\",\"exchange\":\"XNAS\"}\n",
            "{\"symbol\":\"WSU.DE\",\"exchange\":\"XETR\"}\n",
            "{\"symbol\":\"GONE\",\"exchange\":\"XNYS\"}\n",
            "{\"symbol\":\"OLD\",\"status\":\"delisted\"}\n",
        ),
    );
    let run = w
        .cmd("ohlcv-fetch")
        .arg("--config")
        .arg(config(&w))
        .arg(&universe)
        .args(["--start", "2020-01-01", "--end", "2023-12-31"])
        .args(["--base-url", &s.base_url()])
        .args(["--actions", "actions.ndjson", "--errors", "errors.ndjson"])
        .args(["--summary", "summary.json", "--log-format", "text"])
        .fails_with(75);
    let bars = ndjson_values(&run.stdout());
    assert_eq!(bars.len(), 49 + 3);
    // Each symbol's bars together, in date order, under the canonical symbol.
    let groups: Vec<&[serde_json::Value]> =
        bars.chunk_by(|a, b| a["symbol"] == b["symbol"]).collect();
    assert_eq!(groups.len(), 2, "symbols interleaved");
    for group in groups {
        let dates: Vec<&str> = group.iter().map(|b| b["date"].as_str().unwrap()).collect();
        assert!(dates.windows(2).all(|d| d[0] < d[1]), "{dates:?}");
    }
    let aapl = bars
        .iter()
        .find(|b| b["symbol"] == "AAPL" && b["date"] == "2020-08-31")
        .unwrap();
    assert_eq!(aapl["close"], serde_json::json!(129.04));
    assert_eq!(aapl["currency"], "USD");
    assert!(
        aapl["source_ts"].is_string(),
        "the fetch time is the bar's source_ts"
    );
    let wsu = bars.iter().find(|b| b["symbol"] == "WSU.DE").unwrap();
    assert_eq!(
        (wsu["date"].as_str(), wsu["currency"].as_str()),
        (Some("2023-08-04"), Some("EUR"))
    );

    let actions = ndjson_values(&w.read("actions.ndjson"));
    let kinds: Vec<(&str, &str)> = actions
        .iter()
        .map(|a| (a["action"].as_str().unwrap(), a["date"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("split", "2020-08-31"), ("dividend", "2020-11-06")]);
    assert_eq!(actions[0]["ratio"], serde_json::json!(4));

    let errors = ndjson_values(&w.read("errors.ndjson"));
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (errors[0]["symbol"].as_str(), errors[0]["code"].as_str()),
        (Some("GONE"), Some("NOTFOUND"))
    );
    assert_eq!(errors[0]["attempts"], 1, "not found is not retried");

    let summary: serde_json::Value = serde_json::from_str(&w.read("summary.json")).unwrap();
    assert_eq!(
        summary["requested"], 3,
        "the delisted ticker is not fetched"
    );
    assert_eq!(
        (summary["ok"].as_u64(), summary["failed"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(summary["bars"], 52);
    // Yahoo symbols on the wire: the XETR suffix.
    let log = s.wait_for_requests(3);
    assert!(
        log.iter()
            .any(|r| r.target.starts_with("/v8/finance/chart/WSU.DE?"))
    );
    assert_eq!(log.len(), 3);
}

#[test]
fn a_429_storm_is_ridden_out_within_the_rate_and_the_workers() {
    let w = WorkDir::new();
    let mut routes = String::from("routes:\n");
    for i in 0..6 {
        routes.push_str(&format!(
            "  - path: /v8/finance/chart/S{i}\n    file: $DIR/WSU.DE_1d_2023-08-04_2023-08-09.body.json\n    faults: {{ sequence: [429, 429], retry_after: 1, delay: 30ms }}\n"
        ));
    }
    let s = serve(&routes);
    let symbols: Vec<String> = (0..6).map(|i| format!("S{i}")).collect();
    let run = w
        .cmd("ohlcv-fetch")
        .arg("--config")
        .arg(config(&w))
        .args(["--symbols", &symbols.join(",")])
        .args(["--start", "2023-08-01", "--end", "2023-08-31"])
        .args([
            "--base-url",
            &s.base_url(),
            "--workers",
            "2",
            "--rate",
            "10",
        ])
        .succeeds();
    assert_eq!(ndjson_values(&run.stdout()).len(), 6 * 3);
    // A request is logged once its answer is sent: the client may have ended first.
    let log = s.wait_for_requests(18);
    assert_eq!(log.len(), 18, "two 429s and one answer per symbol");
    assert!(
        max_in_flight(&log) <= 2,
        "more than --workers requests at once"
    );
    // 10 requests per second: the i-th request never starts before i × 100 ms after the
    // first. The server sees a request some time after the client sends it (connection
    // set-up, a thread to schedule on a busy 2-core CI machine), so each observed start
    // may be late by up to SEEN_LATE; a burst would still show as requests ~0 ms apart.
    const SEEN_LATE: f64 = 50.0;
    let mut starts: Vec<f64> = log.iter().map(|r| r.start_ms).collect();
    starts.sort_by(f64::total_cmp);
    for (i, t) in starts.iter().enumerate() {
        assert!(
            *t - starts[0] >= 100.0 * i as f64 - SEEN_LATE,
            "request {i} at {t} ms, the first at {} ms",
            starts[0]
        );
    }
    // Retry-After: 1 s between a symbol's tries, not the 20 ms of the schedule.
    for sym in &symbols {
        let mine: Vec<&LoggedRequest> = log
            .iter()
            .filter(|r| r.target.starts_with(&format!("/v8/finance/chart/{sym}?")))
            .collect();
        for pair in mine.windows(2) {
            assert!(
                pair[1].start_ms - pair[0].end_ms >= 990.0,
                "{sym}: retried too soon"
            );
        }
    }
}

#[test]
fn a_provider_that_is_down_stops_the_run_with_69() {
    let w = WorkDir::new();
    let symbols: Vec<String> = (0..20).map(|i| format!("D{i}")).collect();
    let mut routes = String::from("routes:\n");
    for sym in &symbols {
        routes.push_str(&format!(
            "  - path: /v8/finance/chart/{sym}\n    status: 503\n    body: down\n"
        ));
    }
    let s = serve(&routes);
    let run = w
        .cmd("ohlcv-fetch")
        .arg("--config")
        .arg(config(&w))
        .args(["--symbols", &symbols.join(",")])
        .args([
            "--days-back",
            "10",
            "--base-url",
            &s.base_url(),
            "--workers",
            "1",
        ])
        .args(["--log-format", "text"])
        .fails_with(69);
    assert!(run.stderr().contains("circuit breaker"), "{}", run.stderr());
    // Five failures in a row open the breaker: no hammering of a dead provider.
    assert!(s.requests().len() <= 6, "{} requests", s.requests().len());
}

#[test]
fn since_lake_asks_only_for_the_missing_days_and_the_lake_ends_with_each_bar_once() {
    let w = WorkDir::new();
    let s = serve(
        r#"
routes:
  - path: /v8/finance/chart/AAPL
    query: { interval: 1d }
    file: $DIR/AAPL_1d_2020-08-31_2020-11-07_split4to1.body.json
"#,
    );
    let cfg = config(&w);
    let fetch = |args: &[&str]| {
        w.cmd("ohlcv-fetch")
            .arg("--config")
            .arg(&cfg)
            .args(["--symbols", "AAPL", "--base-url", &s.base_url()])
            .args(args)
            .args(["--summary", "summary.json"])
            .succeeds()
            .stdout()
    };
    let store = |bars: String| {
        w.cmd("to-parquet")
            .args(["--lake", "lake"])
            .stdin(bars)
            .succeeds();
    };
    // The first night: September.
    store(fetch(&["--start", "2020-08-01", "--end", "2020-09-30"]));
    // The next: from the day after the last stored bar (2020-09-30), less 3 days of lookback.
    let bars = fetch(&[
        "--since-lake",
        "lake",
        "--lookback",
        "3",
        "--end",
        "2020-11-06",
    ]);
    let target = s.wait_for_requests(2).last().unwrap().target.clone();
    // 2020-09-28 less the two-day margin: 2020-09-26T00:00Z.
    assert!(target.contains("period1=1601078400&"), "{target}");
    let dates: Vec<String> = ndjson_values(&bars)
        .iter()
        .map(|b| b["date"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(dates.first().map(String::as_str), Some("2020-09-28"));
    assert_eq!(dates.last().map(String::as_str), Some("2020-11-06"));
    store(bars);
    // Every recorded bar exactly once in the lake.
    let all = w
        .cmd("to-parquet")
        .args(["--cat", "--lake", "lake"])
        .succeeds()
        .stdout();
    let dates: Vec<String> = ndjson_values(&all)
        .iter()
        .map(|b| b["date"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(dates.len(), 49);
    let unique: std::collections::BTreeSet<&String> = dates.iter().collect();
    assert_eq!(unique.len(), 49);
    // Nothing new on a third night: only the lookback days come back, and that is up to date.
    fetch(&["--since-lake", "lake", "--end", "2020-11-06"]);
    let summary: serde_json::Value = serde_json::from_str(&w.read("summary.json")).unwrap();
    assert_eq!(
        (summary["up_to_date"].as_u64(), summary["ok"].as_u64()),
        (Some(1), Some(0))
    );
}

#[test]
fn a_symbol_failing_three_runs_in_a_row_is_dead_lettered_and_skipped() {
    let w = WorkDir::new();
    let s = serve(
        r#"
routes:
  - path: /v8/finance/chart/WSU.DE
    query: { interval: 1d }
    file: $DIR/WSU.DE_1d_2023-08-04_2023-08-09.body.json
"#,
    );
    let universe = w.write(
        "universe.ndjson",
        "{\"symbol\":\"WSU.DE\",\"exchange\":\"XETR\"}\n{\"symbol\":\"GONE\"}\n",
    );
    let cfg = config(&w);
    let night = |code: i32| {
        w.cmd("ohlcv-fetch")
            .arg("--config")
            .arg(&cfg)
            .arg(&universe)
            .args(["--start", "2023-08-01", "--end", "2023-08-31"])
            .args(["--base-url", &s.base_url(), "--state", "state.json"])
            .args(["--summary", "summary.json"])
            .fails_with(code);
        serde_json::from_str::<serde_json::Value>(&w.read("summary.json")).unwrap()
    };
    for run in 1..=3 {
        let summary = night(75);
        assert_eq!(summary["dead_lettered"], u64::from(run == 3), "run {run}");
    }
    let state: serde_json::Value = serde_json::from_str(&w.read("state.json")).unwrap();
    assert_eq!(state["symbols"]["GONE"]["status"], "dlq");
    assert_eq!(state["symbols"]["GONE"]["consecutive_failures"], 3);
    assert_eq!(state["symbols"]["WSU.DE"]["status"], "ok");
    assert_eq!(
        state["symbols"]["WSU.DE"]["last_fetched_date"],
        "2023-08-08"
    );
    // The fourth night skips it: nothing failed, exit 0.
    let requests_before = s.wait_for_requests(6).len();
    let summary = night(0);
    assert_eq!(summary["skipped_dead_letter"], 1);
    let log = s.wait_for_requests(requests_before + 1);
    assert!(
        !log[requests_before..]
            .iter()
            .any(|r| r.target.contains("/GONE?"))
    );
}

#[test]
fn a_stale_universe_is_refused_before_any_request() {
    let w = WorkDir::new();
    let s = serve("routes: []\n");
    let universe = w.write(
        "universe.ndjson",
        "{\"symbol\":\"AAPL\",\"last_seen\":\"2020-01-02\"}\n",
    );
    w.cmd("ohlcv-fetch")
        .arg("--config")
        .arg(config(&w))
        .arg(&universe)
        .args(["--days-back", "5", "--base-url", &s.base_url()])
        .args(["--max-universe-age", "35d", "--log-format", "text"])
        .fails_with(78)
        .stderr_contains("--max-universe-age 35d");
    assert!(s.requests().is_empty());
}

#[test]
fn a_closed_pipe_ends_the_run_quietly_with_0() {
    let w = WorkDir::new();
    let symbols: Vec<String> = (0..12).map(|i| format!("P{i}")).collect();
    let mut routes = String::from("routes:\n");
    for sym in &symbols {
        routes.push_str(&format!(
            "  - path: /v8/finance/chart/{sym}\n    file: $DIR/AAPL_1d_6mo_20251029.json\n"
        ));
    }
    let s = serve(&routes);
    let script = format!(
        "set -euo pipefail; '{}' --config '{}' --symbols {} --start 2025-01-01 --end 2025-12-31 --base-url {} --workers 2 | head -1 > first.ndjson; echo done",
        tickerlake_tests::bin("ohlcv-fetch").display(),
        config(&w).display(),
        symbols.join(","),
        s.base_url()
    );
    let out = w.bash(&script);
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(ndjson_values(&w.read("first.ndjson")).len(), 1);
}

#[test]
fn raw_answers_are_kept_as_they_came() {
    let w = WorkDir::new();
    let s = serve(
        r#"
routes:
  - path: /v8/finance/chart/WSU.DE
    query: { interval: 1d }
    file: $DIR/WSU.DE_1d_2023-08-04_2023-08-09.body.json
"#,
    );
    let universe = w.write(
        "u.ndjson",
        "{\"symbol\":\"WSU.DE\",\"exchange\":\"XETR\"}\n",
    );
    w.cmd("ohlcv-fetch")
        .arg("--config")
        .arg(config(&w))
        .arg(&universe)
        .args(["--start", "2023-08-01", "--end", "2023-08-31"])
        .args([
            "--base-url",
            &s.base_url(),
            "--raw-dir",
            "raw",
            "-v",
            "--log-format",
            "json",
        ])
        .succeeds()
        .stderr_contains("sha256");
    let out = w.bash("gzip -dc raw/*/WSU.DE.yahoo.json.gz");
    assert!(out.status.success());
    let recorded = std::fs::read(fixture(
        "real/yahoo_chart/WSU.DE_1d_2023-08-04_2023-08-09.body.json",
    ))
    .unwrap();
    assert_eq!(out.stdout, recorded);
}

#[test]
fn a_proxy_that_fails_is_dropped_with_a_warning_and_its_symbols_go_direct() {
    let w = WorkDir::new();
    let s = serve(
        r#"
routes:
  - path: /v8/finance/chart/WSU.DE
    query: { interval: 1d }
    file: $DIR/WSU.DE_1d_2023-08-04_2023-08-09.body.json
"#,
    );
    let universe = w.write(
        "u.ndjson",
        "{\"symbol\":\"WSU.DE\",\"exchange\":\"XETR\"}\n",
    );
    // Nothing listens on port 1: the proxy cannot be reached.
    let summary = w.join("summary.json");
    let run = w
        .cmd("ohlcv-fetch")
        .arg("--config")
        .arg(config(&w))
        .arg(&universe)
        .arg("--summary")
        .arg(&summary)
        .args(["--start", "2023-08-01", "--end", "2023-08-31"])
        .args(["--base-url", &s.base_url()])
        .args([
            "--proxy",
            "http://bob:s3cret@127.0.0.1:1",
            "--log-format",
            "text",
        ])
        .succeeds();
    assert_eq!(ndjson_values(&run.stdout()).len(), 3);
    let err = run.stderr();
    assert!(err.contains("proxy failed"), "{err}");
    assert!(err.contains("***@127.0.0.1:1"), "{err}");
    assert!(
        !err.contains("s3cret"),
        "the proxy password was printed: {err}"
    );
    assert_eq!(s.wait_for_requests(1).len(), 1);
    // The summary counts the fallback (the dashboard's and the alerts' "proxy fallback").
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).expect("summary")).expect("json");
    assert_eq!(summary["proxies_dropped"], 1, "{summary}");
    assert_eq!(summary["ok"], 1, "{summary}");
}

#[test]
fn a_night_killed_mid_way_and_rerun_stores_every_bar_exactly_once() {
    use std::process::{Command, Stdio};
    let w = WorkDir::new();
    let symbols: Vec<String> = (0..10).map(|i| format!("K{i}")).collect();
    let mut routes = String::from("routes:\n");
    for sym in &symbols {
        routes.push_str(&format!(
            "  - path: /v8/finance/chart/{sym}\n    file: $DIR/AAPL_1d_6mo_20251029.json\n    faults: {{ delay: 100ms }}\n"
        ));
    }
    let s = serve(&routes);
    let cfg = config(&w);
    let fetch_args = |since_lake: bool| {
        let mut a = vec![
            "--config".to_string(),
            cfg.display().to_string(),
            "--symbols".into(),
            symbols.join(","),
            "--end".into(),
            "2025-12-31".into(),
            "--base-url".into(),
            s.base_url(),
            "--workers".into(),
            "2".into(),
        ];
        if since_lake {
            // Stored symbols from their last bar on, the others whole.
            a.extend(["--since-lake".into(), "lake".into()]);
        } else {
            a.extend(["--start".into(), "2025-01-01".into()]);
        }
        a
    };
    std::fs::create_dir(w.join("lake")).unwrap();
    // Killed while symbols are still coming: to-parquet stores what it got whole, or nothing.
    let mut fetch = Command::new(tickerlake_tests::bin("ohlcv-fetch"))
        .args(fetch_args(false))
        .current_dir(w.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let store = Command::new(tickerlake_tests::bin("to-parquet"))
        .args(["--lake", "lake"])
        .current_dir(w.path())
        .stdin(fetch.stdout.take().unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(350));
    let _ = fetch.kill(); // SIGKILL
    let _ = fetch.wait();
    let _ = store.wait_with_output();
    // The rerun picks up from the lake.
    let rerun = format!(
        "set -euo pipefail; '{}' {} | '{}' --lake lake",
        tickerlake_tests::bin("ohlcv-fetch").display(),
        fetch_args(true).join(" "),
        tickerlake_tests::bin("to-parquet").display()
    );
    let out = w.bash(&rerun);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = w
        .cmd("to-parquet")
        .args(["--cat", "--lake", "lake"])
        .succeeds()
        .stdout();
    let bars = ndjson_values(&all);
    let mut keys = std::collections::BTreeSet::new();
    for b in &bars {
        let key = (b["symbol"].to_string(), b["date"].to_string());
        assert!(keys.insert(key.clone()), "{key:?} stored twice");
    }
    assert_eq!(
        bars.len(),
        symbols.len() * 127,
        "every recorded bar of every symbol"
    );
}

#[test]
fn a_currency_other_than_the_universe_says_is_kept_and_said_out_loud() {
    let w = WorkDir::new();
    let s = serve(
        r#"
routes:
  - path: /v8/finance/chart/WSU.DE
    query: { interval: 1d }
    file: $DIR/WSU.DE_1d_2023-08-04_2023-08-09.body.json
"#,
    );
    let universe = w.write(
        "u.ndjson",
        "{\"symbol\":\"WSU.DE\",\"exchange\":\"XETR\",\"currency\":\"GBP\"}\n",
    );
    let run = w
        .cmd("ohlcv-fetch")
        .arg("--config")
        .arg(config(&w))
        .arg(&universe)
        .args(["--start", "2023-08-01", "--end", "2023-08-31"])
        .args(["--base-url", &s.base_url(), "--log-format", "text"])
        .succeeds()
        .stderr_contains("the provider quotes EUR, the universe says GBP");
    let bars = ndjson_values(&run.stdout());
    assert!(bars.iter().all(|b| b["currency"] == "EUR"));
}

/// A minimal HTTP CONNECT proxy on 127.0.0.1: tunnels each connection to the host it names and
/// keeps every byte the client sent through it, to see which requests it carried.
struct TunnelProxy {
    port: u16,
    seen: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
}

impl TunnelProxy {
    fn start() -> TunnelProxy {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::net::{TcpListener, TcpStream};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(client.try_clone().unwrap());
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                            break;
                        }
                    }
                    let upstream = TcpStream::connect(&target).unwrap();
                    let mut to_client = client.try_clone().unwrap();
                    to_client
                        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                        .unwrap();
                    let mut up_reader = upstream.try_clone().unwrap();
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut up_reader, &mut to_client);
                    });
                    let mut up_writer = upstream;
                    let mut buf = [0u8; 8192];
                    // What the reader already buffered, then the rest of the stream.
                    let pending = reader.buffer().to_vec();
                    log.lock().unwrap().extend_from_slice(&pending);
                    let _ = up_writer.write_all(&pending);
                    let mut inner = reader.into_inner();
                    while let Ok(n) = inner.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        log.lock().unwrap().extend_from_slice(&buf[..n]);
                        if up_writer.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        TunnelProxy { port, seen }
    }

    fn carried(&self, symbol: &str) -> bool {
        let seen = String::from_utf8_lossy(&self.seen.lock().unwrap()).into_owned();
        seen.contains(&format!("/v8/finance/chart/{symbol}?"))
    }
}

#[test]
fn symbols_rotate_through_the_proxies_in_blocks_of_rotate_every() {
    let w = WorkDir::new();
    let symbols: Vec<String> = (0..6).map(|i| format!("R{i}")).collect();
    let mut routes = String::from("routes:\n");
    for sym in &symbols {
        routes.push_str(&format!(
            "  - path: /v8/finance/chart/{sym}\n    file: $DIR/WSU.DE_1d_2023-08-04_2023-08-09.body.json\n"
        ));
    }
    let s = serve(&routes);
    let (p1, p2) = (TunnelProxy::start(), TunnelProxy::start());
    let run = w
        .cmd("ohlcv-fetch")
        .arg("--config")
        .arg(config(&w))
        .args(["--symbols", &symbols.join(",")])
        .args(["--start", "2023-08-01", "--end", "2023-08-31"])
        .args(["--base-url", &s.base_url(), "--workers", "1"])
        .args(["--proxy", &format!("http://127.0.0.1:{}", p1.port)])
        .args(["--proxy", &format!("http://127.0.0.1:{}", p2.port)])
        .args(["--rotate-every", "2"])
        .succeeds();
    assert_eq!(ndjson_values(&run.stdout()).len(), 6 * 3);
    assert_eq!(s.wait_for_requests(6).len(), 6);
    let through: Vec<(bool, bool)> = symbols
        .iter()
        .map(|sym| (p1.carried(sym), p2.carried(sym)))
        .collect();
    let (one, two) = ((true, false), (false, true));
    assert_eq!(through, [one, one, two, two, one, one]);
}

#[test]
fn one_symbol_on_two_venues_is_two_listings_through_fetch_lake_and_qlib() {
    // AIR is AAR Corp on the NYSE and Airbus on Euronext Paris: two names, two series, from
    // the request to the Qlib store. (Genuine answers of other symbols stand in for them.)
    let w = WorkDir::new();
    let s = serve(
        r#"
routes:
  - path: /v8/finance/chart/AIR
    file: $DIR/AAPL_1d_2020-08-31_2020-11-07_split4to1.body.json
  - path: /v8/finance/chart/AIR.PA
    file: $DIR/WSU.DE_1d_2023-08-04_2023-08-09.body.json
"#,
    );
    let universe = w.write(
        "universe.ndjson",
        concat!(
            "{\"symbol\":\"AIR\",\"exchange\":\"XNYS\"}\n",
            "{\"symbol\":\"AIR.PA\",\"exchange\":\"XPAR\"}\n",
        ),
    );
    let run = w
        .cmd("ohlcv-fetch")
        .arg("--config")
        .arg(config(&w))
        .arg(&universe)
        .args(["--start", "2020-01-01", "--end", "2023-12-31"])
        .args(["--base-url", &s.base_url(), "--state", "state.json"])
        .succeeds();
    let bars = ndjson_values(&run.stdout());
    let count = |name: &str| bars.iter().filter(|b| b["symbol"] == name).count();
    assert_eq!((count("AIR"), count("AIR.PA")), (49, 3));
    let state: serde_json::Value = serde_json::from_str(&w.read("state.json")).unwrap();
    assert!(state["symbols"]["AIR"].is_object() && state["symbols"]["AIR.PA"].is_object());
    w.write("bars.ndjson", run.stdout());
    w.cmd("to-parquet")
        .args(["--lake", "lake", "bars.ndjson"])
        .succeeds();
    assert!(w.join("lake/symbol=AIR").is_dir() && w.join("lake/symbol=AIR.PA").is_dir());
    for style in ["canonical", "qlib"] {
        let store = format!("q-{style}");
        w.cmd("qlib-bin")
            .args([
                "all",
                "--lake",
                "lake",
                "--symbol-style",
                style,
                "-o",
                &store,
            ])
            .succeeds();
        let names: Vec<String> = w
            .read(&format!("{store}/instruments/all.txt"))
            .lines()
            .map(|l| l.split('\t').next().unwrap().to_string())
            .collect();
        assert_eq!(names, ["AIR", "AIR.PA"], "{style}");
        let close =
            |dir: &str| std::fs::read(w.join(&format!("{store}/features/{dir}/close.day.bin")));
        assert_ne!(close("air").unwrap(), close("air.pa").unwrap());
    }
    // A universe that names the Paris listing without its suffix is refused before any request:
    // fetched as "AIR" it would get the NYSE listing's prices.
    let bad = w.write("bad.ndjson", "{\"symbol\":\"AIR\",\"exchange\":\"XPAR\"}\n");
    let before = s.requests().len();
    w.cmd("ohlcv-fetch")
        .arg("--config")
        .arg(config(&w))
        .arg(&bad)
        .args(["--base-url", &s.base_url(), "--days-back", "5"])
        .fails_with(65)
        .stderr_contains("AIR.PA");
    assert_eq!(s.requests().len(), before);
}

#[test]
fn a_symbol_whose_lake_reaches_the_end_is_up_to_date_without_a_request() {
    let w = WorkDir::new();
    w.cmd("to-parquet")
        .arg(fixture("records/bars.ndjson"))
        .args(["--lake", "lake"])
        .succeeds();
    // Port 1 refuses every connection: a request would fail the symbol.
    let run = w
        .cmd("ohlcv-fetch")
        .args([
            "--symbols",
            "AAPL",
            "--since-lake",
            "lake",
            "--lookback",
            "0",
        ])
        .args(["--end", "2020-09-04", "--summary", "summary.json"])
        .args(["--base-url", "http://127.0.0.1:1"])
        .succeeds();
    assert!(run.stdout().is_empty());
    let summary: serde_json::Value = serde_json::from_str(&w.read("summary.json")).unwrap();
    assert_eq!(
        (summary["up_to_date"].as_u64(), summary["failed"].as_u64()),
        (Some(1), Some(0))
    );
}
