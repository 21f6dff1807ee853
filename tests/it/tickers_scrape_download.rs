//! tickers-scrape downloading its sources from the replay server (genuine listings at the paths
//! the sites serve them from, `fixtures/replay/listings.yaml`), with injected faults: the
//! records, the status file, the raw snapshots and the server's request log.

use std::path::PathBuf;

use replay_server::{ReplayServer, Routes};
use sha2::{Digest, Sha256};
use tickerlake_tests::{WorkDir, fixture, ndjson_values};

/// The listings routes, each `(after, insert)` edit applied to the YAML first (faults).
fn serve(edits: &[(&str, &str)]) -> ReplayServer {
    let mut text = std::fs::read_to_string(fixture("replay/listings.yaml")).unwrap();
    for (after, insert) in edits {
        assert!(text.contains(after), "{after}");
        text = text.replacen(after, &format!("{after}{insert}"), 1);
    }
    let mut routes = Routes::from_yaml(&text).unwrap();
    routes.root = fixture("replay");
    ReplayServer::start(routes, "127.0.0.1:0".parse().unwrap()).unwrap()
}

/// Every kind of source, downloading from `base`; no pauses, retries in milliseconds.
fn config(w: &WorkDir, base: &str, pause: &str) -> PathBuf {
    let text = format!(
        r#"http:
  timeout: 5s
scrape:
  pause: {pause}
  backoff: [10ms, 10ms, 10ms]
  sources:
    nasdaqtrader:
      kind: nasdaqtrader
      downloads:
        - {{url: "{base}/dynamic/SymDir/nasdaqlisted.txt"}}
        - {{url: "{base}/dynamic/SymDir/otherlisted.txt"}}
    nasdaqtraded:
      kind: nasdaqtrader-traded
      downloads: [{{url: "{base}/dynamic/SymDir/nasdaqtraded.txt"}}]
    sec:
      kind: sec
      user_agent: tickerlake-tests ops@example.com
      downloads: [{{url: "{base}/files/company_tickers_exchange.json"}}]
    euronext:
      kind: euronext
      downloads:
        - url: "{base}/en/pd_es/data/stocks/download?mics=dm_all_stock"
          form: "args[fe_type]=csv&args[fe_decimal_separator]=.&args[fe_date_format]=d/m/Y"
          name: euronext_equities.csv
    xetra:
      kind: xetra
      downloads:
        - {{url: "{base}/cash-en/trading/Tradable-Instruments-Xetra/Downloads", link: t7-xetr-allTradableInstruments.csv}}
    nasdaq-screener:
      kind: nasdaq-screener
      headers: {{Accept: "application/json, text/plain, */*"}}
      downloads: [{{url: "{base}/api/screener/stocks?tableonly=true&download=true", name: screener.json}}]
    sp500:
      kind: html-table
      downloads: [{{url: "{base}/wiki/List_of_S%26P_500_companies", name: sp500.html}}]
      table:
        headers: [Symbol, Security, GICS Sector]
        columns: {{symbol: Symbol, name: Security, sector: GICS Sector}}
        index: sp500
    nasdaq100:
      kind: html-table
      downloads: [{{url: "{base}/nasdaq100", name: nasdaq100.html}}]
      table:
        headers: [Symbol, Company]
        columns: {{symbol: Symbol, name: Company}}
        index: ndx
    watchlist:
      kind: list
      tickers:
        - {{symbol: AIR, exchange: XPAR, groups: [europe]}}
"#
    );
    w.write("config.yaml", text)
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

#[test]
fn every_source_downloaded_through_a_503_and_a_429_checked_kept_and_statused() {
    let w = WorkDir::new();
    let s = serve(&[
        (
            "file: ../real/nasdaqtrader/nasdaqlisted_20250721.txt\n",
            "    faults: { sequence: [503] }\n",
        ),
        (
            "file: ../real/sec/company_tickers_exchange_commit2025-08-24.json\n",
            "    faults: { sequence: [429], retry_after: 1 }\n",
        ),
    ]);
    let cfg = config(&w, &s.base_url(), "[0s, 0s]");
    let run = w
        .cmd("tickers-scrape")
        .arg("--config")
        .arg(&cfg)
        .args(["--as-of", "2025-07-21", "--status", "status.json"])
        .args(["--raw-dir", "raw", "--summary", "summary.json"])
        .succeeds();
    let records = ndjson_values(&run.stdout());
    // Sorted by name, then source; one listing per source that lists it.
    let keys: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            (
                r["symbol"].as_str().unwrap().to_string(),
                r["source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(keys, sorted);
    let sources_of = |name: &str| -> Vec<&str> {
        keys.iter()
            .filter(|(n, _)| n == name)
            .map(|(_, s)| s.as_str())
            .collect()
    };
    assert_eq!(
        sources_of("AAPL"),
        ["nasdaq100", "nasdaqtraded", "nasdaqtrader", "sec", "sp500"],
        "AAPL is no AMEX listing"
    );
    assert_eq!(sources_of("AIR.PA"), ["euronext", "watchlist"]);
    assert_eq!(sources_of("AIR"), ["nasdaqtraded", "nasdaqtrader", "sec"]);
    assert_eq!(sources_of("SAP.DE"), ["xetra"]);
    assert!(records.iter().all(|r| r["first_seen"] == "2025-07-21"));

    // The status file: every source ok, the digests those of the genuine files.
    let status: serde_json::Value = serde_json::from_str(&w.read("status.json")).unwrap();
    let genuine = [
        (
            "nasdaqtrader",
            "nasdaqlisted.txt",
            "real/nasdaqtrader/nasdaqlisted_20250721.txt",
        ),
        (
            "nasdaqtrader",
            "otherlisted.txt",
            "real/nasdaqtrader/otherlisted_20250721.txt",
        ),
        (
            "sec",
            "company_tickers_exchange.json",
            "real/sec/company_tickers_exchange_commit2025-08-24.json",
        ),
        (
            "euronext",
            "euronext_equities.csv",
            "real/euronext/Euronext_Equities_Paris_2026-08-04.csv",
        ),
        (
            "xetra",
            "t7-xetr-allTradableInstruments.csv",
            "real/xetra/t7-xetr-allTradableInstruments_2019-04-18.csv",
        ),
        (
            "nasdaq-screener",
            "screener.json",
            "real/nasdaq_screener/screener_rows_exchange-amex_2025-02-01.json",
        ),
        (
            "sp500",
            "sp500.html",
            "real/wikipedia/List_of_SP_500_companies_rev1250356709_2024-10-09.html",
        ),
    ];
    for (source, file, real) in genuine {
        let entry = &status["sources"][source];
        assert_eq!(entry["status"], "ok", "{source}: {entry}");
        let bytes = std::fs::read(fixture(real)).unwrap();
        let kept = entry["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == file)
            .unwrap_or_else(|| panic!("{source}: no {file} in {entry}"));
        assert_eq!(kept["sha256"], sha256(&bytes), "{source}/{file}");
        assert_eq!(kept["bytes"], bytes.len() as u64);
        // The raw snapshot is the file as it came.
        let raw = std::fs::read(w.join(&format!("raw/2025-07-21/{source}/{file}"))).unwrap();
        assert!(raw == bytes, "raw/2025-07-21/{source}/{file} differs");
    }
    assert_eq!(status["sources"]["watchlist"]["status"], "ok");
    assert_eq!(status["sources"]["sp500"]["records"], 503);

    // The request log: the 503 and the 429 retried, the Retry-After waited out, the form
    // posted, the SEC's User-Agent its own.
    let log = s.requests();
    let to = |path: &str| -> Vec<&replay_server::LoggedRequest> {
        log.iter().filter(|r| r.target.starts_with(path)).collect()
    };
    let listed = to("/dynamic/SymDir/nasdaqlisted.txt");
    assert_eq!(
        listed.iter().map(|r| r.status).collect::<Vec<_>>(),
        [Some(503), Some(200)]
    );
    let sec = to("/files/company_tickers_exchange.json");
    assert_eq!(
        sec.iter().map(|r| r.status).collect::<Vec<_>>(),
        [Some(429), Some(200)]
    );
    let waited = sec[1].start_ms - sec[0].end_ms;
    assert!(
        waited >= 990.0,
        "Retry-After: 1 honoured: waited {waited} ms"
    );
    assert!(
        sec.iter()
            .all(|r| r.user_agent.as_deref() == Some("tickerlake-tests ops@example.com"))
    );
    assert!(listed.iter().all(|r| {
        r.user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("tickerlake/"))
    }));
    let euronext = to("/en/pd_es/data/stocks/download");
    assert_eq!((euronext.len(), euronext[0].method.as_str()), (1, "POST"));
    assert_eq!(
        to("/resource/blob/").len(),
        1,
        "the link on the page followed"
    );

    // The summary: per source, and the universe's listings counted once.
    let summary: serde_json::Value = serde_json::from_str(&w.read("summary.json")).unwrap();
    let totals = &summary["totals"];
    let names: std::collections::BTreeSet<&str> = keys.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(totals["total"], names.len() as u64);
    assert_eq!(totals["indexes"]["sp500"], 503);
    assert_eq!(totals["indexes"]["ndx"], 101);
    let per_market: u64 = totals["markets"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(per_market, names.len() as u64);
    for market in ["us", "fr", "de"] {
        assert!(totals["markets"][market].as_u64().unwrap() > 0, "{market}");
    }
    let sources = summary["sources"].as_array().unwrap();
    assert_eq!(sources.len(), 9);
    let retries: Vec<(&str, u64)> = sources
        .iter()
        .map(|s| {
            (
                s["source"].as_str().unwrap(),
                s["retries"].as_u64().unwrap(),
            )
        })
        .filter(|(_, r)| *r > 0)
        .collect();
    assert_eq!(retries, [("nasdaqtrader", 1), ("sec", 1)]);
    assert_eq!(summary["records"], records.len() as u64);

    // Replayed from the raw snapshots, a source gives the same records.
    let replay = w
        .cmd("tickers-scrape")
        .args(["nasdaqtrader", "--as-of", "2025-07-21", "--input"])
        .arg(w.join("raw/2025-07-21/nasdaqtrader/nasdaqlisted.txt"))
        .arg(w.join("raw/2025-07-21/nasdaqtrader/otherlisted.txt"))
        .succeeds();
    let from_raw = ndjson_values(&replay.stdout());
    let downloaded: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["source"] == "nasdaqtrader")
        .collect();
    assert_eq!(from_raw.iter().collect::<Vec<_>>(), downloaded);
}

#[test]
fn a_failed_source_is_its_status_and_the_others_are_written() {
    let w = WorkDir::new();
    // The SEC refuses (403); Xetra's page lacks the link the entry looks for; the rest answer.
    let s = serve(&[(
        "file: ../real/sec/company_tickers_exchange_commit2025-08-24.json\n",
        "    status: 403\n",
    )]);
    let text = std::fs::read_to_string(config(&w, &s.base_url(), "[0s, 0s]"))
        .unwrap()
        .replace(
            "link: t7-xetr-allTradableInstruments.csv",
            "link: t7-xetr-allTradableInstruments-v2.csv",
        );
    let cfg = w.write("config.yaml", text);
    let run = w
        .cmd("tickers-scrape")
        .arg("--config")
        .arg(&cfg)
        .args(["nasdaqtrader", "sec", "xetra", "--status", "status.json"])
        .fails_with(75)
        .stderr_contains("SCRAPEHTTP")
        .stderr_contains("user_agent");
    let records = ndjson_values(&run.stdout());
    assert!(records.iter().all(|r| r["source"] == "nasdaqtrader"));
    assert!(!records.is_empty());
    let status: serde_json::Value = serde_json::from_str(&w.read("status.json")).unwrap();
    let sources = &status["sources"];
    assert_eq!(sources["nasdaqtrader"]["status"], "ok");
    assert_eq!(
        (&sources["sec"]["status"], &sources["sec"]["code"]),
        (&"fetch_error".into(), &"SCRAPEHTTP".into())
    );
    assert_eq!(
        (&sources["xetra"]["status"], &sources["xetra"]["code"]),
        (&"structure_error".into(), &"SCRAPE404".into())
    );
    // The page that lacks the link is what the status describes, to see what changed.
    assert_eq!(
        sources["xetra"]["files"][0]["name"],
        "t7-xetr-allTradableInstruments-v2.csv.page.html"
    );
    // A refusal is not retried; the page was read once.
    assert_eq!(
        s.requests()
            .iter()
            .filter(|r| r.target.starts_with("/files/"))
            .count(),
        1
    );
    // The SEC's last good run is kept for the guard: a failed run is not a good run.
    assert!(sources["sec"]["last_good"].is_null());

    // Every source failing its structure check: 65, nothing written.
    let run = w
        .cmd("tickers-scrape")
        .arg("--config")
        .arg(&cfg)
        .args(["xetra"])
        .fails_with(65);
    assert_eq!(run.stdout(), "");

    // Nothing reachable: 69.
    let port = s.addr().port();
    drop(s);
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace(&format!("127.0.0.1:{port}"), "127.0.0.1:1");
    let cfg = w.write("config.yaml", text);
    let run = w
        .cmd("tickers-scrape")
        .arg("--config")
        .arg(&cfg)
        .args(["nasdaqtrader", "sec", "--status", "status.json"])
        .fails_with(69)
        .stderr_contains("SCRAPENET");
    assert_eq!(run.stdout(), "");
    let status: serde_json::Value = serde_json::from_str(&w.read("status.json")).unwrap();
    // The failed run replaced the entry's status, and kept its last good run.
    assert_eq!(status["sources"]["nasdaqtrader"]["status"], "fetch_error");
    assert!(
        status["sources"]["nasdaqtrader"]["last_good"]["records"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[test]
fn requests_to_one_host_are_paused_and_a_missing_download_list_is_a_config_error() {
    let w = WorkDir::new();
    let s = serve(&[]);
    let cfg = config(&w, &s.base_url(), "[300ms, 400ms]");
    w.cmd("tickers-scrape")
        .arg("--config")
        .arg(&cfg)
        .args(["nasdaqtrader", "sp500"])
        .succeeds();
    let log = s.requests();
    assert_eq!(log.len(), 3);
    for pair in log.windows(2) {
        let gap = pair[1].start_ms - pair[0].end_ms;
        assert!(gap >= 295.0, "{gap} ms between two requests to one host");
    }
    // An index table that names no page can only be read from files.
    let cfg = w.write(
        "bare.yaml",
        "scrape:\n  sources:\n    ftse:\n      kind: html-table\n      table:\n        headers: [EPIC]\n        columns: {symbol: EPIC}\n        exchange: XLON\n",
    );
    w.cmd("tickers-scrape")
        .arg("--config")
        .arg(&cfg)
        .arg("ftse")
        .fails_with(78)
        .stderr_contains("downloads");
    // --input is for one source, and downloads nothing to keep.
    w.cmd("tickers-scrape")
        .args(["nasdaqtrader", "sec", "--input", "x.txt"])
        .fails_with(2);
    w.cmd("tickers-scrape")
        .args(["sec", "--raw-dir", "raw", "--input"])
        .arg(fixture(
            "real/sec/company_tickers_exchange_commit2025-08-24.json",
        ))
        .fails_with(2);
}

/// How a raw server ends one answer.
#[derive(Clone, Copy)]
enum Ending {
    /// The first `n` bytes, then a reset (a close that loses what was in flight).
    ResetAfter(usize),
    /// The whole body, then a close.
    Close,
}

/// A server that answers each connection with `200`, no `Content-Length` (the body ends where
/// the connection does), and `body` ended as the next of `endings` says; the last ending repeats.
fn close_delimited_server(
    body: Vec<u8>,
    endings: Vec<Ending>,
) -> (String, std::thread::JoinHandle<usize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(false).unwrap();
    let handle = std::thread::spawn(move || {
        let mut served = 0;
        listener.set_nonblocking(true).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut idle_since = std::time::Instant::now();
        while std::time::Instant::now() < deadline {
            let (mut stream, _) = match listener.accept() {
                Ok(s) => s,
                Err(_) if served > 0 && idle_since.elapsed().as_millis() > 1500 => break,
                Err(_) => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                }
            };
            stream.set_nonblocking(false).unwrap();
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let ending = endings[served.min(endings.len() - 1)];
            served += 1;
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nConnection: close\r\n\r\n",
            );
            match ending {
                Ending::ResetAfter(n) => {
                    let _ = stream.write_all(&body[..n]);
                    let _ = stream.flush();
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    socket2::SockRef::from(&stream)
                        .set_linger(Some(std::time::Duration::ZERO))
                        .unwrap();
                }
                Ending::Close => {
                    let _ = stream.write_all(&body);
                }
            }
            drop(stream);
            idle_since = std::time::Instant::now();
        }
        served
    });
    (base, handle)
}

#[test]
fn a_file_whose_end_is_a_closed_connection_is_taken_only_when_two_downloads_agree() {
    let w = WorkDir::new();
    let csv = std::fs::read(fixture(
        "real/euronext/Euronext_Equities_Paris_2026-08-04.csv",
    ))
    .unwrap();
    let whole = w
        .cmd("tickers-scrape")
        .args(["euronext", "--as-of", "2025-07-21", "--input"])
        .arg(fixture(
            "real/euronext/Euronext_Equities_Paris_2026-08-04.csv",
        ))
        .succeeds()
        .stdout();
    // A line boundary near the middle: the half would parse as a shorter listing.
    let half = csv[..csv.len() / 2]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    let config = |base: &str| {
        w.write(
            "c.yaml",
            format!(
                "scrape:\n  pause: [0s, 0s]\n  backoff: [10ms, 10ms]\n  sources:\n    euronext:\n      kind: euronext\n      downloads: [{{url: \"{base}/download\", form: \"args[fe_type]=csv\"}}]\n"
            ),
        )
    };
    // Reset half-way, then whole twice: the whole file, after three downloads.
    let (base, server) = close_delimited_server(
        csv.clone(),
        vec![Ending::ResetAfter(half), Ending::Close, Ending::Close],
    );
    let run = w
        .cmd("tickers-scrape")
        .arg("--config")
        .arg(config(&base))
        .args(["euronext", "--as-of", "2025-07-21", "--status", "s.json"])
        .succeeds();
    assert!(run.stdout() == whole, "the whole listing, not half of it");
    // Three connections at least (a reset that beats the head to the client is one more).
    assert!(server.join().unwrap() >= 3);
    // Reset at a different place each time: never two alike, never taken.
    let (base, server) = close_delimited_server(
        csv.clone(),
        vec![
            Ending::ResetAfter(half),
            Ending::ResetAfter(half / 2),
            Ending::ResetAfter(half / 3),
        ],
    );
    let run = w
        .cmd("tickers-scrape")
        .arg("--config")
        .arg(config(&base))
        .args(["euronext", "--status", "s.json"])
        .fails_with(69)
        .stderr_contains("SCRAPENET");
    assert_eq!(run.stdout(), "");
    // Three connections at least (a reset that beats the head to the client is one more).
    assert!(server.join().unwrap() >= 3);
    let status: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert_eq!(status["sources"]["euronext"]["code"], "SCRAPENET");
    // An empty path is no path.
    w.cmd("tickers-scrape")
        .args(["euronext", "--raw-dir", ""])
        .fails_with(2)
        .stderr_contains("empty path");
}
