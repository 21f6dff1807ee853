//! ohlcv-fetch's other providers through the binary: Polygon's REST API and Stooq against the
//! replay server serving their genuine answers (pages cut from a genuine answer, a 429, a
//! refused key), the fallback chain, and a restatement across a genuine 4:1 split.

use replay_server::{ReplayServer, Routes};
use tickerlake_tests::{WorkDir, fixture, ndjson_values};

fn serve(yaml: &str) -> ReplayServer {
    ReplayServer::start(
        Routes::from_yaml(yaml).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap()
}

fn config(w: &WorkDir) -> std::path::PathBuf {
    w.write(
        "config.yaml",
        "http:\n  timeout: 2s\nfetch:\n  backoff: [20ms, 40ms]\n  breaker_failures: 5\n  rate: 1000\nproviders:\n  polygon:\n    api_key: ${POLYGON_API_KEY:-}\n    rate: 1000/s\n  stooq:\n    rate: 1000/s\n",
    )
}

const KEY: &str = "pk-test-9f3a-do-not-print";

/// The genuine aggregates answer cut in two pages, the first pointing at the second the way
/// the API does (`next_url` with a cursor); files in `w`.
fn aggs_pages(w: &WorkDir, base_url: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let body = std::fs::read_to_string(fixture(
        "real/polygon_rest/v2_aggs_AAPL_1_day_2023-01-01_2023-01-10_asc.body.json",
    ))
    .unwrap();
    let whole: serde_json::Value = serde_json::from_str(&body).unwrap();
    let results = whole["results"].as_array().unwrap();
    let mut first = whole.clone();
    first["results"] = serde_json::Value::Array(results[..4].to_vec());
    first["resultsCount"] = 4.into();
    first["next_url"] = format!(
        "{base_url}/v2/aggs/ticker/AAPL/range/1/day/2023-01-01/2023-01-10?cursor=bGltaXQ9NA"
    )
    .into();
    let mut second = whole.clone();
    second["results"] = serde_json::Value::Array(results[4..].to_vec());
    second["resultsCount"] = 2.into();
    (
        w.write("page1.json", first.to_string()),
        w.write("page2.json", second.to_string()),
    )
}

#[test]
fn polygon_rest_follows_pages_through_a_429_and_never_shows_the_key() {
    let w = WorkDir::new();
    // The server's address is needed inside the pages: start it on a port, then add routes.
    let probe = serve("routes: []");
    let base = probe.base_url();
    drop(probe);
    let (page1, page2) = aggs_pages(&w, &base);
    let real = fixture("real/polygon_rest");
    let yaml = format!(
        r#"
routes:
  - name: page 2
    path: /v2/aggs/ticker/AAPL/range/1/day/2023-01-01/2023-01-10
    query: {{ cursor: "*" }}
    file: {page2}
  - name: page 1
    path: /v2/aggs/ticker/AAPL/range/1/day/2023-01-01/2023-01-10
    query: {{ adjusted: "true", sort: asc }}
    file: {page1}
    faults: {{ sequence: [429] }}
  - name: splits
    path: /v3/reference/splits
    file: {real}/v3_reference_splits.json
  - name: dividends
    path: /v3/reference/dividends
    file: {real}/v3_reference_dividends.json
  - name: refused
    path: /v2/aggs/ticker/MSFT/range/1/day/2023-01-01/2023-01-10
    status: 401
    body: '{{"status":"ERROR","request_id":"x","error":"Unknown API Key"}}'
"#,
        page1 = page1.display(),
        page2 = page2.display(),
        real = real.display(),
    );
    let addr = base.trim_start_matches("http://").parse().unwrap();
    let s = ReplayServer::start(Routes::from_yaml(&yaml).unwrap(), addr).unwrap();
    let fetch = |symbols: &str| {
        w.cmd("ohlcv-fetch")
            .arg("--config")
            .arg(config(&w))
            .env("POLYGON_API_KEY", KEY)
            .args(["--provider", "polygon-rest", "--symbols", symbols])
            .args(["--start", "2023-01-01", "--end", "2023-01-10"])
            .args(["--base-url", &base])
            .args(["--actions", "actions.ndjson", "--summary", "summary.json"])
            .args(["--state", "state.json", "-v"])
    };
    let run = fetch("AAPL").succeeds();
    let bars = ndjson_values(&run.stdout());
    // Every bar of the genuine answer, across both pages, in order.
    let dates: Vec<&str> = bars.iter().map(|b| b["date"].as_str().unwrap()).collect();
    assert_eq!(
        dates,
        [
            "2023-01-03",
            "2023-01-04",
            "2023-01-05",
            "2023-01-06",
            "2023-01-09",
            "2023-01-10"
        ]
    );
    assert_eq!(bars[0]["volume"], 112117471);
    assert_eq!(bars[0]["provider"], "polygon");
    assert_eq!(bars[0]["transactions"], 1021065);
    // The 429 retried, then page 1, page 2, splits and dividends for AAPL.
    let log = s.requests();
    let names: Vec<&str> = log.iter().filter_map(|r| r.route.as_deref()).collect();
    assert_eq!(names, ["page 1", "page 1", "page 2", "splits", "dividends"]);
    assert_eq!(log[0].status, Some(429));
    assert!(log[3].target.contains("ticker=AAPL"), "{}", log[3].target);
    // The mocks hold other tickers' actions only: none is AAPL's.
    assert_eq!(w.read("actions.ndjson"), "");
    let summary: serde_json::Value = serde_json::from_str(&w.read("summary.json")).unwrap();
    assert_eq!(summary["providers"]["polygon"], 1);
    assert_eq!(summary["retries"], 1);
    let state = w.read("state.json");
    assert!(
        state.contains("\"provider\": \"polygon\"") || state.contains("\"provider\":\"polygon\""),
        "{state}"
    );
    // The key is in no address, log line, summary or state.
    for text in [run.stderr(), w.read("summary.json"), state] {
        assert!(!text.contains(KEY), "{text}");
    }
    assert!(log.iter().all(|r| !r.target.contains(KEY)));

    // A refused key stops the run: exit 78, said plainly, the key not echoed.
    let run = fetch("MSFT").fails_with(78);
    assert!(run.stderr().contains("POLYGON_API_KEY"), "{}", run.stderr());
    assert!(!run.stderr().contains(KEY));
    // No key at all: 78 before any request.
    let before = s.requests().len();
    let aapl_with = |config: &std::path::Path| {
        w.cmd("ohlcv-fetch")
            .arg("--config")
            .arg(config)
            .args(["--provider", "polygon-rest", "--symbols", "AAPL"])
            .args(["--days-back", "3", "--base-url", &base])
    };
    aapl_with(&config(&w))
        .fails_with(78)
        .stderr_contains("POLYGON_API_KEY");
    assert_eq!(s.requests().len(), before);
    // A key written into config.yaml is refused, never used nor shown.
    let literal = w.write(
        "literal.yaml",
        format!("providers:\n  polygon:\n    api_key: {KEY}\n"),
    );
    let run = aapl_with(&literal).fails_with(78);
    assert!(
        run.stderr().contains("environment only"),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains(KEY));
    assert_eq!(s.requests().len(), before);
}

#[test]
fn a_symbol_yahoo_fails_is_fetched_from_stooq_and_the_state_says_so() {
    let w = WorkDir::new();
    let stooq = fixture("real/stooq/aapl_us_d_1984-09-07_2026-02-03.csv");
    let s = serve(&format!(
        r#"
routes:
  - path: /v8/finance/chart/AAPL
    status: 404
    body: '{{"chart":{{"result":null,"error":{{"code":"Not Found","description":"No data found, symbol may be delisted"}}}}}}'
  - path: /q/d/l/
    query: {{ s: aapl.us, i: d }}
    file: {}
"#,
        stooq.display()
    ));
    // Both providers on the one replay server.
    let cfg = w.write(
        "config.yaml",
        format!(
            "http:\n  timeout: 2s\nfetch:\n  backoff: [20ms]\n  rate: 1000\n  yahoo:\n    base_url: {0}\nproviders:\n  stooq:\n    base_url: {0}\n    rate: 1000/s\n",
            s.base_url()
        ),
    );
    let run = w
        .cmd("ohlcv-fetch")
        .arg("--config")
        .arg(&cfg)
        .args(["--provider", "yahoo,stooq", "--symbols", "AAPL"])
        .args(["--start", "2026-01-26", "--end", "2026-01-30"])
        .args(["--state", "state.json", "--summary", "summary.json"])
        .succeeds();
    let bars = ndjson_values(&run.stdout());
    assert_eq!(bars.len(), 5);
    assert!(bars.iter().all(|b| b["provider"] == "stooq"));
    // Stooq's prices are adjusted already: close and adj_close agree; its currency is the venue's.
    assert!(
        bars.iter()
            .all(|b| b["close"] == b["adj_close"] && b["currency"] == "USD")
    );
    let summary: serde_json::Value = serde_json::from_str(&w.read("summary.json")).unwrap();
    assert_eq!(summary["fell_back"], 1);
    assert_eq!(summary["providers"]["stooq"], 1);
    let state: serde_json::Value = serde_json::from_str(&w.read("state.json")).unwrap();
    assert_eq!(state["symbols"]["AAPL"]["provider"], "stooq");
    let log = s.requests();
    assert!(log[1].target.contains("s=aapl.us") && log[1].target.contains("d1=20260126"));
}

/// Yahoo's answers either side of AAPL's 4:1 split of 2020-08-31: the genuine recording of
/// 2020-08-31 … 2020-11-06 (split-adjusted, with the split) with the three sessions before it
/// added from the genuine 2022 download (split-adjusted too), and what Yahoo served before the
/// split for those three sessions: the same prices times four, volumes divided by four.
fn split_pair(w: &WorkDir) -> (std::path::PathBuf, std::path::PathBuf) {
    let rec: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(
            "real/yahoo_chart/AAPL_1d_2020-08-31_2020-11-07_split4to1.body.json",
        ))
        .unwrap(),
    )
    .unwrap();
    let csv = std::fs::read_to_string(fixture("real/yahoo_v7_csv/AAPL_1980-12-12_2022-04-07.csv"))
        .unwrap();
    // Date,Open,High,Low,Close,Adj Close,Volume; sessions open at 13:30 UTC in summer.
    let days = [
        ("2020-08-26", 1598448600i64),
        ("2020-08-27", 1598535000),
        ("2020-08-28", 1598621400),
    ];
    let rows: Vec<Vec<f64>> = days
        .iter()
        .map(|(d, _)| {
            let line = csv.lines().find(|l| l.starts_with(d)).unwrap();
            line.split(',')
                .skip(1)
                .map(|x| x.parse().unwrap())
                .collect()
        })
        .collect();
    let chart = |scale: f64, with_recording: bool| {
        let mut out = rec.clone();
        let r = &mut out["chart"]["result"][0];
        let mut ts: Vec<serde_json::Value> = days.iter().map(|(_, t)| (*t).into()).collect();
        let col = |i: usize, f: f64| -> Vec<serde_json::Value> {
            rows.iter().map(|row| (row[i] * f).into()).collect()
        };
        let mut q: serde_json::Map<String, serde_json::Value> = serde_json::Map::new();
        q.insert("open".into(), col(0, scale).into());
        q.insert("high".into(), col(1, scale).into());
        q.insert("low".into(), col(2, scale).into());
        q.insert("close".into(), col(3, scale).into());
        q.insert(
            "volume".into(),
            rows.iter()
                .map(|row| ((row[5] / scale).round() as i64).into())
                .collect::<Vec<serde_json::Value>>()
                .into(),
        );
        let mut adj = col(4, scale);
        if with_recording {
            ts.extend(r["timestamp"].as_array().unwrap().iter().cloned());
            for k in ["open", "high", "low", "close", "volume"] {
                let mut v = q[k].as_array().unwrap().clone();
                v.extend(
                    r["indicators"]["quote"][0][k]
                        .as_array()
                        .unwrap()
                        .iter()
                        .cloned(),
                );
                q.insert(k.into(), v.into());
            }
            adj.extend(
                r["indicators"]["adjclose"][0]["adjclose"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .cloned(),
            );
        } else {
            r.as_object_mut().unwrap().remove("events");
        }
        r["timestamp"] = ts.into();
        r["indicators"]["quote"][0] = q.into();
        r["indicators"]["adjclose"][0]["adjclose"] = adj.into();
        out.to_string()
    };
    (
        w.write("before.json", chart(4.0, false)),
        w.write("after.json", chart(1.0, true)),
    )
}

#[test]
fn a_new_split_restates_the_whole_history_and_qa_stays_quiet() {
    let w = WorkDir::new();
    let (before, after) = split_pair(&w);
    // The first night ends 2020-08-28 (period2 = 2020-08-31 00:00 UTC): the answer before the
    // split; every later question: the answer after it.
    let s = serve(&format!(
        r#"
routes:
  - name: before
    path: /v8/finance/chart/AAPL
    query: {{ period2: "1598832000" }}
    file: {}
  - name: after
    path: /v8/finance/chart/AAPL
    file: {}
"#,
        before.display(),
        after.display()
    ));
    let night = |lake: &str, state: bool, args: &[&str]| {
        let mut fetch = w
            .cmd("ohlcv-fetch")
            .arg("--config")
            .arg(config(&w))
            .args(["--symbols", "AAPL", "--base-url", &s.base_url()])
            .args(["--summary", "summary.json"])
            .args(args);
        if state {
            fetch = fetch.args(["--state", &format!("{lake}.state.json")]);
        }
        let bars = fetch.succeeds().stdout();
        w.cmd("to-parquet")
            .args(["--lake", lake])
            .stdin(bars)
            .succeeds();
    };
    for (lake, state) in [("restated", true), ("mixed", false)] {
        night(
            lake,
            state,
            &["--start", "2020-08-26", "--end", "2020-08-28"],
        );
        night(
            lake,
            state,
            // The look-back re-fetches the last stored session only: what is stored before it
            // stays at the old scale unless the history is restated.
            &[
                "--since-lake",
                lake,
                "--lookback",
                "1",
                "--end",
                "2020-09-04",
            ],
        );
    }
    let summary: serde_json::Value = serde_json::from_str(&w.read("summary.json")).unwrap();
    assert_eq!(summary["restated"], 0, "the run without state cannot tell");
    let state: serde_json::Value = serde_json::from_str(&w.read("restated.state.json")).unwrap();
    assert!(
        state["symbols"]["AAPL"]["restated_on"].is_string(),
        "{state}"
    );
    assert!(
        state["symbols"]["AAPL"]["actions"]
            .as_array()
            .unwrap()
            .contains(&"2020-08-31 split".into())
    );
    // The restated lake holds the three sessions before the split at the new scale.
    let cat = w
        .cmd("to-parquet")
        .args(["--cat", "--lake", "restated", "--to", "2020-08-28"])
        .succeeds()
        .stdout();
    let closes: Vec<String> = ndjson_values(&cat)
        .iter()
        .map(|b| b["close"].to_string())
        .collect();
    assert_eq!(closes, ["126.522499", "125.010002", "124.807503"]);
    // qa-check: the restated lake has no jump; the one kept at two scales has the split's.
    let jumps = |lake: &str| {
        let findings = w
            .cmd("qa-check")
            .args(["--lake", lake, "--checks", "price_jump"])
            .run()
            .stdout();
        ndjson_values(&findings)
            .iter()
            .filter(|f| f["check"] == "price_jump")
            .count()
    };
    assert_eq!(jumps("restated"), 0);
    assert_eq!(jumps("mixed"), 1);
    // The whole history was asked for once, by the restating night.
    let whole: Vec<_> = s
        .requests()
        .into_iter()
        .filter(|r| r.target.contains("period1=-"))
        .collect();
    assert_eq!(whole.len(), 1, "{whole:?}");
}

/// The genuine day-aggregates sample's tickers and closes: the universe of the generated day
/// files below.
fn sample_tickers() -> Vec<(String, f64)> {
    let text = std::fs::read_to_string(fixture(
        "real/polygon_flatfiles/us_stocks_sip_day_aggs_v1_sample_2023-03-28.csv",
    ))
    .unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[3].parse().unwrap())
        })
        .collect()
}

/// One generated row, in the real files' format (`ticker,volume,open,close,high,low,
/// window_start,transactions`; window_start in nanoseconds at 16:00 New York time). Prices are
/// generated, not real: a walk from the sample's close.
fn day_row(ticker: &str, close: f64, day: chrono::NaiveDate) -> String {
    use chrono::Datelike;
    let k = day.num_days_from_ce() as f64 + ticker.len() as f64;
    let c = close * (1.0 + 0.01 * ((k % 7.0) - 3.0));
    let (o, h, l) = (c * 0.995, c * 1.01, c * 0.985);
    // 20:00 UTC is 16:00 in New York from March to November.
    let ns = day.and_hms_opt(20, 0, 0).unwrap().and_utc().timestamp() as i128 * 1_000_000_000;
    let volume = 1000 + (k as i64 * 37) % 90_000;
    format!(
        "{ticker},{volume},{o:.4},{c:.4},{h:.4},{l:.4},{ns},{}",
        volume / 50
    )
}

fn write_day(dir: &std::path::Path, day: chrono::NaiveDate, tickers: &[(String, f64)]) {
    use chrono::Datelike;
    let mut text = String::from("ticker,volume,open,close,high,low,window_start,transactions");
    // Files are not sorted by ticker: reversed here.
    for (t, c) in tickers.iter().rev() {
        text.push('\n');
        text.push_str(&day_row(t, *c, day));
    }
    let path = dir.join(format!(
        "flatfiles/us_stocks_sip/day_aggs_v1/{}/{:02}/{day}.csv.gz",
        day.year(),
        day.month()
    ));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut gz = flate2_writer(std::fs::File::create(&path).unwrap());
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    gz.finish().unwrap();
}

fn flate2_writer(f: std::fs::File) -> flate2::write::GzEncoder<std::fs::File> {
    flate2::write::GzEncoder::new(f, flate2::Compression::default())
}

fn weekdays(from: &str, to: &str) -> Vec<chrono::NaiveDate> {
    use chrono::Datelike;
    let (from, to): (chrono::NaiveDate, chrono::NaiveDate) =
        (from.parse().unwrap(), to.parse().unwrap());
    from.iter_days()
        .take_while(|d| *d <= to)
        .filter(|d| d.weekday().number_from_monday() <= 5)
        .collect()
}

#[test]
fn flat_files_from_a_real_s3_server_through_a_holiday_a_late_day_and_a_503() {
    use tickerlake_tests::{FaultProxy, S3Server};
    let w = WorkDir::new();
    let root = w.join("s3");
    let tickers = sample_tickers();
    let late = "2024-04-02";
    for day in weekdays("2024-03-18", "2024-04-03") {
        // Good Friday (2024-03-29) has no file; 2024-04-02's appears late.
        if day.to_string() != "2024-03-29" && day.to_string() != late {
            write_day(&root, day, &tickers);
        }
    }
    let s3 = S3Server::start(&root);
    let proxy = FaultProxy::start(s3.port, 1, 503);
    let cfg = |endpoint: &str| {
        // Not config.yaml: to-parquet, run here too, would read it and miss the variables.
        w.write(
            "fetch.yaml",
            format!(
                "http:\n  timeout: 5s\nfetch:\n  backoff: [20ms, 40ms]\nproviders:\n  polygon:\n    s3_endpoint: {endpoint}\n    s3_access_key_id: ${{POLYGON_S3_ACCESS_KEY}}\n    s3_secret_access_key: ${{POLYGON_S3_SECRET_KEY}}\n    s3_workers: 3\n"
            ),
        )
    };
    let universe = w.write(
        "universe.ndjson",
        "{\"symbol\":\"SARK\"}\n{\"symbol\":\"BCC\"}\n{\"symbol\":\"EPC\"}\n{\"symbol\":\"CLDX\"}\n",
    );
    let fetch = |endpoint: &str, secret: &str| {
        w.cmd("ohlcv-fetch")
            .arg("--config")
            .arg(cfg(endpoint))
            .env("POLYGON_S3_ACCESS_KEY", S3Server::ACCESS_KEY)
            .env("POLYGON_S3_SECRET_KEY", secret)
            .args(["--provider", "polygon-flatfiles"])
            .arg(&universe)
            .args(["--summary", "summary.json", "--state", "state.json"])
    };
    let proxied = format!("http://127.0.0.1:{}", proxy.port);
    let run = fetch(&proxied, S3Server::SECRET_KEY)
        .args(["--start", "2024-03-18", "--end", "2024-04-03"])
        .succeeds();
    assert_eq!(proxy.failed.load(std::sync::atomic::Ordering::SeqCst), 1);
    let bars = ndjson_values(&run.stdout());
    let read: Vec<chrono::NaiveDate> = weekdays("2024-03-18", "2024-04-01")
        .into_iter()
        .filter(|d| d.to_string() != "2024-03-29")
        .collect();
    // Symbol order, each symbol's days in order, every value as the file has it.
    let mut want = Vec::new();
    for sym in ["BCC", "CLDX", "EPC", "SARK"] {
        let close = tickers.iter().find(|(t, _)| t == sym).unwrap().1;
        for day in &read {
            let f: Vec<String> = day_row(sym, close, *day)
                .split(',')
                .map(str::to_string)
                .collect();
            want.push((sym.to_string(), day.to_string(), f[3].clone(), f[1].clone()));
        }
    }
    let got: Vec<(String, String, String, String)> = bars
        .iter()
        .map(|b| {
            (
                b["symbol"].as_str().unwrap().to_string(),
                b["date"].as_str().unwrap().to_string(),
                format!("{:.4}", b["close"].as_f64().unwrap()),
                b["volume"].to_string(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert!(
        bars.iter()
            .all(|b| b["provider"] == "polygon" && b["adj_close"].is_null())
    );
    let summary: serde_json::Value = serde_json::from_str(&w.read("summary.json")).unwrap();
    let days = &summary["day_files"];
    assert_eq!(days["read"], read.len());
    assert_eq!(days["holidays"], serde_json::json!(["2024-03-29"]));
    assert_eq!(days["not_published"], serde_json::json!([late]));
    assert_eq!(days["held_back"], 1, "2024-04-03 waits behind the late day");
    w.cmd("to-parquet")
        .args(["--lake", "lake"])
        .stdin(run.stdout())
        .succeeds();

    // The late day appears: the next night reads it and the day after, from the lake's watermark.
    write_day(&root, late.parse().unwrap(), &tickers);
    let run = fetch(&s3.endpoint(), S3Server::SECRET_KEY)
        .args([
            "--since-lake",
            "lake",
            "--lookback",
            "0",
            "--end",
            "2024-04-03",
        ])
        .succeeds();
    let bars = ndjson_values(&run.stdout());
    assert_eq!(bars.len(), 4 * 2);
    assert!(
        bars.iter()
            .all(|b| b["date"] == late || b["date"] == "2024-04-03")
    );
    w.cmd("to-parquet")
        .args(["--lake", "lake"])
        .stdin(run.stdout())
        .succeeds();
    let all = w
        .cmd("to-parquet")
        .args(["--cat", "--lake", "lake"])
        .succeeds()
        .stdout();
    assert_eq!(ndjson_values(&all).len(), 4 * (read.len() + 2));

    // The same days from files the user downloaded (--input, gzip or plain) give the same bars.
    let local: Vec<std::path::PathBuf> = ["2024-04-02", "2024-04-03"]
        .iter()
        .map(|d| {
            root.join(format!(
                "flatfiles/us_stocks_sip/day_aggs_v1/2024/04/{d}.csv.gz"
            ))
        })
        .collect();
    let plain = w.join("2024-04-03.csv");
    let unzipped = w.bash(&format!(
        "gzip -dc {} > {}",
        local[1].display(),
        plain.display()
    ));
    assert!(unzipped.status.success());
    let from_files = w
        .cmd("ohlcv-fetch")
        .args(["--provider", "polygon-flatfiles"])
        .arg(&universe)
        .arg("--input")
        .arg(&local[0])
        .arg(&plain)
        .args(["--start", "2024-04-02", "--end", "2024-04-03"])
        .succeeds()
        .stdout();
    let strip = |text: &str| -> Vec<serde_json::Value> {
        ndjson_values(text)
            .into_iter()
            .map(|mut b| {
                b.as_object_mut().unwrap().remove("source_ts");
                b
            })
            .collect()
    };
    assert_eq!(strip(&from_files), strip(&run.stdout()));

    // A wrong secret: the server refuses the signature; exit 78, the secret never printed.
    let run = fetch(&s3.endpoint(), "not-the-secret")
        .args(["--start", "2024-03-18", "--end", "2024-03-19"])
        .fails_with(78);
    assert!(
        run.stderr().contains("SignatureDoesNotMatch"),
        "{}",
        run.stderr()
    );
    assert!(!run.stderr().contains("not-the-secret"));
    assert_eq!(run.stdout(), "");
}

#[test]
fn a_damaged_day_file_is_refused_with_file_line_and_field_and_nothing_is_written() {
    let w = WorkDir::new();
    let sample = std::fs::read_to_string(fixture(
        "real/polygon_flatfiles/us_stocks_sip_day_aggs_v1_sample_2023-03-28.csv",
    ))
    .unwrap();
    // The genuine sample with one window_start cut to seconds: it would read as 1970.
    let mut lines: Vec<String> = sample.lines().map(str::to_string).collect();
    lines[5] = lines[5].replace("1680033600000000000", "1680033600");
    let damaged = w.write("2023-03-28.csv", lines.join("\n"));
    let good = w.write(
        "2023-03-27.csv",
        sample.replace("1680033600000000000", "1679947200000000000"),
    );
    let run = w
        .cmd("ohlcv-fetch")
        .args([
            "--provider",
            "polygon-flatfiles",
            "--all-tickers",
            "--input",
        ])
        .arg(&good)
        .arg(&damaged)
        .args(["--start", "2023-03-27", "--end", "2023-03-28"])
        .fails_with(65);
    let err = run.stderr();
    assert!(err.contains("2023-03-28.csv:6: window_start:"), "{err}");
    assert!(!err.contains("1970-01-"), "{err}");
    assert_eq!(run.stdout(), "", "no day is written when one is damaged");
}

#[test]
fn fractional_volumes_are_kept_as_the_file_says_in_a_float64_volume_lake() {
    let w = WorkDir::new();
    let sample = std::fs::read_to_string(fixture(
        "real/polygon_flatfiles/us_stocks_sip_day_aggs_v1_sample_2023-03-28.csv",
    ))
    .unwrap();
    // The genuine day with fractional shares in some rows' volume, as newer files count them.
    let mut fractional = std::collections::BTreeMap::new();
    let lines: Vec<String> = sample
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut cols: Vec<String> = l.split(',').map(str::to_string).collect();
            // Plain tickers, whose symbol is the ticker.
            if i > 0 && i % 3 == 1 && cols[0].bytes().all(|b| b.is_ascii_uppercase()) {
                cols[1] = format!("{}.{:04}", cols[1], 1000 + i);
                fractional.insert(cols[0].clone(), cols[1].parse::<f64>().unwrap());
            }
            cols.join(",")
        })
        .collect();
    assert!(fractional.len() >= 3);
    let day = w.write("2023-03-28.csv", lines.join("\n") + "\n");
    let fetch = |config: Option<&std::path::Path>| {
        let mut cmd = w.cmd("ohlcv-fetch");
        if let Some(c) = config {
            cmd = cmd.arg("--config").arg(c);
        }
        cmd.args([
            "--provider",
            "polygon-flatfiles",
            "--all-tickers",
            "--input",
        ])
        .arg(&day)
        .args(["--start", "2023-03-28", "--end", "2023-03-28"])
    };
    // With the default whole-share lake, those symbols fail (the others flow): not the night.
    let run = fetch(None).fails_with(75);
    assert!(run.stderr().contains("volume") && run.stderr().contains("--volume-type float64"));
    let got = ndjson_values(&run.stdout());
    assert!(got.len() > 50);
    assert!(
        got.iter()
            .all(|b| !fractional.contains_key(b["symbol"].as_str().unwrap()))
    );
    // With lake.volume_type: float64 every bar comes, the fractions as the file says.
    let float = w.write("float.yaml", "lake:\n  volume_type: float64\n");
    let fetched = fetch(Some(&float)).succeeds().stdout();
    let bars = ndjson_values(&fetched);
    for b in &bars {
        let sym = b["symbol"].as_str().unwrap();
        if let Some(v) = fractional.get(sym) {
            assert_eq!(
                b["volume"].as_f64(),
                Some(*v),
                "{sym}: kept as the file says"
            );
        } else if sym.bytes().all(|b| b.is_ascii_uppercase()) {
            assert!(
                b["volume"].is_u64(),
                "{sym}: a whole volume stays an integer: {b}"
            );
        }
    }
    let kept = bars
        .iter()
        .filter(|b| fractional.contains_key(b["symbol"].as_str().unwrap()))
        .count();
    assert_eq!(kept, fractional.len());
    let input = w.write("bars.ndjson", &fetched);
    // A whole-share lake refuses the first fractional volume with its line, and holds nothing.
    let run = w
        .cmd("to-parquet")
        .arg(&input)
        .args(["--lake", "whole"])
        .fails_with(65);
    assert!(
        run.stderr().contains("bars.ndjson:") && run.stderr().contains("--volume-type float64"),
        "{}",
        run.stderr()
    );
    assert!(lake::partitions(&w.join("whole")).unwrap().is_empty());
    // A float64-volume lake keeps every value; real clients read them back.
    w.cmd("to-parquet")
        .arg(&input)
        .args(["--lake", "lake", "--volume-type", "float64"])
        .succeeds();
    tickerlake_tests::check_parquet("lake", w.join("lake"), &input, &["decimal", "float64"], &[]);
    let cat = w
        .cmd("to-parquet")
        .args(["--cat", "--lake", "lake"])
        .succeeds()
        .stdout();
    let key = |v: &serde_json::Value| v["symbol"].as_str().unwrap().to_string();
    // Every value back but source_ts, which the lake keeps to the millisecond.
    let strip = |mut v: Vec<serde_json::Value>| {
        for b in &mut v {
            b.as_object_mut().unwrap().remove("source_ts");
        }
        v.sort_by_key(key);
        v
    };
    assert!(
        strip(ndjson_values(&cat)) == strip(bars.clone()),
        "--cat differs"
    );
    // The lake's volume type is fixed: a writer expecting whole shares is refused.
    let run = w
        .cmd("to-parquet")
        .arg(&input)
        .args(["--lake", "lake"])
        .fails_with(2);
    assert!(
        run.stderr().contains("volumes as float64"),
        "{}",
        run.stderr()
    );
    // The readers take it: QA and the Qlib export see the fractional volume.
    w.cmd("qa-check")
        .args(["--lake", "lake", "--as-of", "2023-03-28"])
        .run();
    w.cmd("qlib-bin")
        .args(["all", "--lake", "lake", "-o", "qlib", "--adjust", "none"])
        .succeeds();
    let (sym, v) = fractional.iter().next().unwrap();
    let bin = std::fs::read(
        w.join("qlib/features")
            .join(sym.to_lowercase())
            .join("volume.day.bin"),
    )
    .unwrap();
    let stored = f32::from_le_bytes(bin[4..8].try_into().unwrap());
    assert_eq!(stored, *v as f32, "{sym}");
}
