//! tickers-scrape through the binary on genuine listings (`fixtures/real/`): exact records,
//! names and spellings, the status file, and what a drifted or shrunken listing does.

use tickerlake_tests::{WorkDir, fixture, ndjson_values};

fn listed() -> String {
    fixture("real/nasdaqtrader/nasdaqlisted_20250721.txt")
        .display()
        .to_string()
}

fn other() -> String {
    fixture("real/nasdaqtrader/otherlisted_20250721.txt")
        .display()
        .to_string()
}

fn by_symbol<'a>(records: &'a [serde_json::Value], symbol: &str) -> &'a serde_json::Value {
    records
        .iter()
        .find(|r| r["symbol"] == symbol)
        .unwrap_or_else(|| panic!("no {symbol}"))
}

#[test]
fn the_nasdaq_trader_directory_becomes_a_checked_sorted_universe() {
    let w = WorkDir::new();
    let run = w
        .cmd("tickers-scrape")
        .args([
            "nasdaqtrader",
            "--as-of",
            "2025-07-21",
            "--status",
            "status.json",
        ])
        .args(["--input", &other(), &listed()])
        .succeeds()
        .stderr_is_empty();
    let records = ndjson_values(&run.stdout());
    // 4,973 + 6,606 rows, 8 + 25 test issues left out; every other row named.
    assert_eq!(records.len(), 4973 + 6606 - 33);
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["symbol"].as_str().unwrap())
        .collect();
    assert!(names.windows(2).all(|p| p[0] < p[1]), "sorted, each once");
    for test_issue in ["ZAZZT", "ZXYZ.A", "ATEST", "CTEST.L", "NTEST"] {
        assert!(!names.contains(&test_issue), "{test_issue}");
    }
    let aapl = by_symbol(&records, "AAPL");
    assert_eq!(aapl["name"], "Apple Inc. - Common Stock");
    assert_eq!(aapl["exchange"], "XNAS");
    assert_eq!(aapl["asset_type"], "stock");
    assert_eq!(aapl["source"], "nasdaqtrader");
    assert_eq!(aapl["first_seen"], "2025-07-21");
    assert_eq!(aapl["status"], "active");
    assert!(aapl.get("source_symbol").is_none());
    for (name, spelled, exchange, asset) in [
        ("BRK.B", None, "XNYS", "stock"),
        ("ABR-D", None, "XNYS", "preferred"),
        ("AACT.WS", Some("AACT+"), "XNYS", "warrant"),
        ("AACT.U", Some("AACT="), "XNYS", "unit"),
        ("CELG.R", Some("CELG^"), "XNYS", "right"),
        ("NE.WS.A", Some("NE+A"), "XNYS", "warrant"),
        ("BFEB", None, "BATS", "etf"),
    ] {
        let r = by_symbol(&records, name);
        assert_eq!(r["source_symbol"].as_str(), spelled, "{name}");
        assert_eq!(r["exchange"], exchange, "{name}");
        assert_eq!(r["asset_type"], asset, "{name}");
    }
    // Names lose their padding; the records pass their contract.
    assert!(records.iter().all(|r| {
        let n = r["name"].as_str().unwrap();
        n == n.trim() && !n.contains("  ")
    }));
    w.write("universe.ndjson", run.stdout());
    w.cmd("records")
        .args(["check", "--kind", "tickers", "universe.ndjson"])
        .succeeds();
    // The status: ok, the counts, each file's size and sha256.
    let status: serde_json::Value = serde_json::from_str(&w.read("status.json")).unwrap();
    let s = &status["sources"]["nasdaqtrader"];
    assert_eq!(s["status"], "ok");
    assert_eq!(s["records"], records.len());
    assert_eq!(
        (s["rows"].as_u64(), s["test_issues"].as_u64()),
        (Some(11579), Some(33))
    );
    assert_eq!(s["last_good"]["records"], records.len());
    let sha = w.bash(&format!("sha256sum {}", listed()));
    let sha = String::from_utf8_lossy(&sha.stdout);
    let files = s["files"].as_array().unwrap();
    assert_eq!(files[1]["sha256"], sha.split_whitespace().next().unwrap());
    assert_eq!(files[1]["bytes"], 303_688);
}

#[test]
fn nasdaqtraded_with_crlf_and_the_secs_hyphens_name_the_same_securities() {
    let w = WorkDir::new();
    let traded = w
        .cmd("tickers-scrape")
        .args(["nasdaqtraded", "--input"])
        .arg(fixture("real/nasdaqtrader/nasdaqtraded_2021-12-31.txt"))
        .succeeds();
    let traded = ndjson_values(&traded.stdout());
    assert_eq!(traded.len(), 11773 - 34);
    // Nasdaq Traded = N does not mean unlisted.
    assert_eq!(by_symbol(&traded, "BRK.A")["exchange"], "XNYS");
    let sec = w
        .cmd("tickers-scrape")
        .args(["sec", "--input"])
        .arg(fixture(
            "real/sec/company_tickers_exchange_commit2025-08-24.json",
        ))
        .succeeds();
    let sec = ndjson_values(&sec.stdout());
    assert_eq!(sec.len(), 10069);
    let brk = by_symbol(&sec, "BRK.B");
    assert_eq!(
        (brk["source_symbol"].as_str(), brk["exchange"].as_str()),
        (Some("BRK-B"), Some("XNYS"))
    );
    assert_eq!(by_symbol(&sec, "NE.WS.A")["source_symbol"], "NE-WTA");
    // One security, one name, whichever source spelled it.
    for name in ["BRK.B", "BF.B", "AAPL"] {
        by_symbol(&traded, name);
        by_symbol(&sec, name);
    }
}

#[test]
fn a_drifted_listing_yields_nothing_and_says_so_in_its_status() {
    let w = WorkDir::new();
    // A good run first: the status remembers it.
    w.cmd("tickers-scrape")
        .args([
            "nasdaqtrader",
            "--status",
            "status.json",
            "--input",
            &listed(),
            &other(),
        ])
        .succeeds();
    let text = std::fs::read_to_string(other()).unwrap();
    // Cut at a line's end, as a download that stopped between rows is.
    let cut = &text[..=text[..text.len() / 2].rfind('\n').unwrap()];
    let renamed = text.replacen("NASDAQ Symbol", "Nasdaq Ticker", 1);
    for (name, bytes, why) in [
        ("renamed.txt", renamed.as_str(), "no NASDAQ Symbol column"),
        ("cut.txt", cut, "footer"),
    ] {
        let path = w.write(name, bytes);
        let run = w
            .cmd("tickers-scrape")
            .args([
                "nasdaqtrader",
                "--status",
                "status.json",
                "--input",
                &listed(),
            ])
            .arg(&path)
            .fails_with(65)
            .stderr_contains(why);
        assert_eq!(run.stdout(), "", "no half-parsed listing");
        let status: serde_json::Value = serde_json::from_str(&w.read("status.json")).unwrap();
        let s = &status["sources"]["nasdaqtrader"];
        assert_eq!(s["status"], "structure_error");
        assert_eq!(s["code"], "SCRAPE404");
        assert_eq!(s["records"], 0);
        // The last good run stays for the next run's guard.
        assert_eq!(s["last_good"]["records"], 4973 + 6606 - 33);
    }
}

#[test]
fn a_listing_far_shorter_than_its_last_good_run_is_refused() {
    let w = WorkDir::new();
    w.cmd("tickers-scrape")
        .args([
            "nasdaqtrader",
            "--status",
            "status.json",
            "--input",
            &listed(),
            &other(),
        ])
        .succeeds();
    // otherlisted delivered with a tenth of its rows (header, rows, footer intact).
    let text = std::fs::read_to_string(other()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let short: Vec<&str> = std::iter::once(lines[0])
        .chain(lines[1..lines.len() - 1].iter().step_by(10).copied())
        .chain(std::iter::once(*lines.last().unwrap()))
        .collect();
    let path = w.write("short.txt", short.join("\n") + "\n");
    let run = w
        .cmd("tickers-scrape")
        .args([
            "nasdaqtrader",
            "--status",
            "status.json",
            "--input",
            &listed(),
        ])
        .arg(&path)
        .fails_with(65)
        .stderr_contains("min_rows_ratio");
    assert_eq!(run.stdout(), "");
    let status: serde_json::Value = serde_json::from_str(&w.read("status.json")).unwrap();
    assert_eq!(status["sources"]["nasdaqtrader"]["code"], "SCRAPEROWS");
    // Without the status file there is nothing to compare with: it parses.
    w.cmd("tickers-scrape")
        .args(["nasdaqtrader", "--input", &listed()])
        .arg(&path)
        .succeeds();
}

#[test]
fn a_scraped_universe_feeds_the_fetch_under_its_names() {
    // The first link of the chain: the directory's universe is what ohlcv-fetch reads.
    let w = WorkDir::new();
    let run = w
        .cmd("tickers-scrape")
        .args(["nasdaqtrader", "--input", &listed(), &other()])
        .succeeds();
    let universe: String = run
        .stdout()
        .lines()
        .filter(|l| l.contains("\"symbol\":\"BRK.B\"") || l.contains("\"symbol\":\"ABR-D\""))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(universe.lines().count(), 2);
    w.write("universe.ndjson", universe);
    // Not reachable on purpose: the requests it would make are named in its errors.
    let fetch = w
        .cmd("ohlcv-fetch")
        .args([
            "universe.ndjson",
            "--days-back",
            "3",
            "--errors",
            "errors.ndjson",
        ])
        .args(["--base-url", "http://127.0.0.1:9"])
        .arg("--config")
        .arg(w.write(
            "c.yaml",
            "http:\n  timeout: 1s\n  connect_timeout: 1s\nfetch:\n  backoff: [10ms]\n",
        ))
        .run();
    assert_ne!(fetch.code(), Some(65), "{}", fetch.stderr());
    let errors = ndjson_values(&w.read("errors.ndjson"));
    let symbols: Vec<&str> = errors
        .iter()
        .map(|e| e["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(symbols.len(), 2, "{errors:?}");
    assert!(symbols.contains(&"BRK.B") && symbols.contains(&"ABR-D"));
}

#[test]
fn euronext_and_xetra_listings_are_named_with_their_venues() {
    let w = WorkDir::new();
    let run = w
        .cmd("tickers-scrape")
        .args(["euronext", "--as-of", "2026-08-04", "--input"])
        .arg(fixture(
            "real/euronext/Euronext_Equities_Paris_2026-08-04.csv",
        ))
        .succeeds();
    let eu = ndjson_values(&run.stdout());
    assert_eq!(eu.len(), 770);
    let ac = by_symbol(&eu, "AC.PA");
    assert_eq!(
        (
            ac["source_symbol"].as_str(),
            ac["exchange"].as_str(),
            ac["currency"].as_str()
        ),
        (Some("AC"), Some("XPAR"), Some("EUR"))
    );
    assert_eq!(ac["isin"], "FR0000120404");
    // The same ISIN in another currency is another listing.
    assert_eq!(by_symbol(&eu, "ACMC.PA")["currency"], "USD");
    // Euronext Growth Paris: its own MIC, Paris's suffix.
    assert_eq!(by_symbol(&eu, "AL2SI.PA")["exchange"], "ALXP");
    // `-` is a missing value, never a value.
    assert!(eu.iter().all(|r| r["name"] != "-" && r["currency"] != "-"));
    let run = w
        .cmd("tickers-scrape")
        .args(["xetra", "--input"])
        .arg(fixture(
            "real/xetra/t7-xetr-allTradableInstruments_2019-04-18.csv",
        ))
        .succeeds();
    let xe = ndjson_values(&run.stdout());
    // 2,577 instruments, one without a Mnemonic.
    assert_eq!(xe.len(), 2576);
    let sap = by_symbol(&xe, "SAP.DE");
    assert_eq!(
        (
            sap["exchange"].as_str(),
            sap["asset_type"].as_str(),
            sap["isin"].as_str()
        ),
        (Some("XETR"), Some("stock"), Some("DE0007164600"))
    );
    assert_eq!(by_symbol(&xe, "VOW3.DE")["country"], "DE");
    for records in [&eu, &xe] {
        w.write("u.ndjson", ndjson_of(records));
        w.cmd("records")
            .args(["check", "--kind", "tickers", "u.ndjson"])
            .succeeds();
    }
}

fn ndjson_of(records: &[serde_json::Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

#[test]
fn air_on_the_nyse_and_on_euronext_paris_are_two_series_from_scrape_to_qlib() {
    let w = WorkDir::new();
    let us = w
        .cmd("tickers-scrape")
        .args(["nasdaqtrader", "--input", &listed(), &other()])
        .succeeds();
    let paris = w
        .cmd("tickers-scrape")
        .args(["euronext", "--input"])
        .arg(fixture(
            "real/euronext/Euronext_Equities_Paris_2026-08-04.csv",
        ))
        .succeeds();
    let air: Vec<serde_json::Value> = ndjson_values(&us.stdout())
        .into_iter()
        .chain(ndjson_values(&paris.stdout()))
        .filter(|r| r["symbol"] == "AIR" || r["symbol"] == "AIR.PA")
        .collect();
    assert_eq!(air.len(), 2, "{air:?}");
    assert_eq!(by_symbol(&air, "AIR")["exchange"], "XNYS");
    assert_eq!(by_symbol(&air, "AIR.PA")["exchange"], "XPAR");
    w.write("universe.ndjson", ndjson_of(&air));
    // Genuine Yahoo answers of other symbols stand in for the two.
    let dir = fixture("real/yahoo_chart");
    let routes = format!(
        "routes:\n  - path: /v8/finance/chart/AIR\n    file: {d}/AAPL_1d_2020-08-31_2020-11-07_split4to1.body.json\n  - path: /v8/finance/chart/AIR.PA\n    file: {d}/WSU.DE_1d_2023-08-04_2023-08-09.body.json\n",
        d = dir.display()
    );
    let server = replay_server::ReplayServer::start(
        replay_server::Routes::from_yaml(&routes).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    let fetch = w
        .cmd("ohlcv-fetch")
        .args([
            "universe.ndjson",
            "--start",
            "2020-01-01",
            "--end",
            "2023-12-31",
        ])
        .args(["--base-url", &server.base_url()])
        .succeeds();
    let targets: Vec<String> = server.requests().iter().map(|r| r.target.clone()).collect();
    assert!(
        targets
            .iter()
            .any(|t| t.starts_with("/v8/finance/chart/AIR.PA?"))
    );
    assert!(
        targets
            .iter()
            .any(|t| t.starts_with("/v8/finance/chart/AIR?"))
    );
    w.write("bars.ndjson", fetch.stdout());
    w.cmd("to-parquet")
        .args(["--lake", "lake", "bars.ndjson"])
        .succeeds();
    w.cmd("qlib-bin")
        .args(["all", "--lake", "lake", "-o", "qlib"])
        .succeeds();
    let instruments = w.read("qlib/instruments/all.txt");
    let names: Vec<&str> = instruments
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(names, ["AIR", "AIR.PA"]);
    let close =
        |d: &str| std::fs::read(w.join(&format!("qlib/features/{d}/close.day.bin"))).unwrap();
    assert_ne!(close("air"), close("air.pa"));
}

#[test]
fn the_screener_in_its_three_shapes_gives_caps_sectors_and_canonical_names() {
    let w = WorkDir::new();
    let scrape = |rel: &str| {
        let run = w
            .cmd("tickers-scrape")
            .args(["nasdaq-screener", "--input"])
            .arg(fixture(rel))
            .succeeds();
        ndjson_values(&run.stdout())
    };
    let export = scrape("real/nasdaq_screener/nasdaq_screener_export_2024-05-08.csv");
    assert_eq!(export.len(), 7090);
    let brk = by_symbol(&export, "BRK.B");
    assert_eq!(brk["source_symbol"], "BRK/B");
    assert_eq!(brk["market_cap"], 893_489_915_914.0);
    let abr = by_symbol(&export, "ABR-D");
    assert_eq!(
        (abr["source_symbol"].as_str(), abr["asset_type"].as_str()),
        (Some("ABR^D"), Some("preferred"))
    );
    assert!(abr.get("market_cap").is_none() && abr.get("sector").is_none());
    // Padded symbols lose their padding.
    by_symbol(&export, "SAND");
    let agilent = by_symbol(&export, "A");
    assert_eq!(
        (agilent["sector"].as_str(), agilent["industry"].as_str()),
        (Some("Industrials"), Some("Electrical Products"))
    );
    // The API's rows, under data.rows (stored alone) and data.table.rows with separators.
    let amex = scrape("real/nasdaq_screener/screener_rows_exchange-amex_2025-02-01.json");
    assert_eq!(amex.len(), 297);
    let staples =
        scrape("real/nasdaq_screener/screener_stocks_large_consumer_staples_2024-06-19.body.json");
    assert_eq!(staples.len(), 32);
    assert_eq!(by_symbol(&staples, "FMX")["market_cap"], 176_769_790_631.0);
    // The old company list: quoted, trailing commas, CRLF, $M/$B caps, n/a.
    let legacy =
        scrape("real/nasdaq_companylist_legacy/companylist_nasdaq_dollarM_commit2019-05-12.csv");
    assert_eq!(legacy.len(), 3461);
    assert_eq!(by_symbol(&legacy, "YI")["market_cap"], 653.17e6);
    assert_eq!(
        by_symbol(&legacy, "BLIN")["name"],
        by_symbol(&legacy, "BLIN")["name"].as_str().unwrap().trim()
    );
    for records in [&export, &amex, &staples, &legacy] {
        w.write("u.ndjson", ndjson_of(records));
        w.cmd("records")
            .args(["check", "--kind", "tickers", "u.ndjson"])
            .succeeds();
    }
}

fn euronext_text() -> String {
    std::fs::read_to_string(fixture(
        "real/euronext/Euronext_Equities_Paris_2026-08-04.csv",
    ))
    .unwrap()
}

#[test]
fn a_listing_that_is_cut_drifted_or_mixed_never_passes_as_a_short_one() {
    let w = WorkDir::new();
    let eu = euronext_text();
    let xetra = std::fs::read_to_string(fixture(
        "real/xetra/t7-xetr-allTradableInstruments_2019-04-18.csv",
    ))
    .unwrap();
    // A UTF-8 row (Børs) and a Latin-1 one (B\xF8rs) in one file.
    let mut mixed = eu.clone().into_bytes();
    mixed.extend_from_slice(
        "NBX;FR0013341781;NBX;\"Oslo Børs\";NOK;1;1;1;1;-;CET;1;1;1;-\n".as_bytes(),
    );
    mixed.extend_from_slice(b"ODD;FR0013341781;ODD;\"Oslo B\xF8rs\";NOK;1;1;1;1;-;CET;1;1;1;-\n");
    let cases: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        // Cut inside its last row: the row keeps its width, but loses its line ending.
        (
            "euronext",
            "cut.csv",
            eu.as_bytes()[..94937].to_vec(),
            "cut short",
        ),
        // Every row's market renamed: a few rows read, most not.
        (
            "euronext",
            "renamed.csv",
            eu.replace("\"Euronext Paris\"", "\"EN Paris\"")
                .replace("\"Euronext Growth Paris\"", "\"EN Growth Paris\"")
                .into_bytes(),
            "drifted",
        ),
        // The venue column's values changed: nothing reads.
        (
            "xetra",
            "mic.csv",
            xetra.replace(";XETR;", ";XETRA;").into_bytes(),
            "no records",
        ),
        // UTF-8 with a stray Latin-1 byte.
        (
            "euronext",
            "mixed.csv",
            mixed,
            "neither UTF-8 nor ISO-8859-1",
        ),
    ];
    for (source, name, bytes, why) in cases {
        let path = w.write(name, bytes);
        let run = w
            .cmd("tickers-scrape")
            .args([source, "--input"])
            .arg(&path)
            .fails_with(65)
            .stderr_contains(why);
        assert_eq!(run.stdout(), "", "{name}");
    }
}

#[test]
fn every_record_out_passes_its_contract_or_is_left_out_with_a_warning() {
    let w = WorkDir::new();
    let eu = euronext_text();
    let header = eu.lines().next().unwrap();
    let long_name = "X".repeat(2_000_000);
    let body: String = [
        format!("{header}\n"),
        // Index and future markers, a name of 2 MB, a control character: none reads back.
        "A=B;FR0013341781;A=B;\"Euronext Paris\";EUR;-;-;-;-;-;CET;-;-;-;-\n".into(),
        "IDX;FR0013341781;^IDX;\"Euronext Paris\";EUR;-;-;-;-;-;CET;-;-;-;-\n".into(),
        format!("{long_name};FR0013341781;LONG;\"Euronext Paris\";EUR;-;-;-;-;-;CET;-;-;-;-\n"),
        "BAD\u{1b}NAME;FR0013341781;CTRL;\"Euronext Paris\";EUR;-;-;-;-;-;CET;-;-;-;-\n".into(),
    ]
    .concat()
        + &eu
            .lines()
            .skip(4)
            .take(20)
            .map(|l| format!("{l}\n"))
            .collect::<String>();
    let path = w.write("odd.csv", body);
    let run = w
        .cmd("tickers-scrape")
        .args(["euronext", "--input"])
        .arg(&path)
        .succeeds()
        .stderr_contains("left out");
    let records = ndjson_values(&run.stdout());
    assert_eq!(records.len(), 20);
    w.write("u.ndjson", run.stdout());
    w.cmd("records")
        .args(["check", "--kind", "tickers", "u.ndjson"])
        .succeeds();
}

#[test]
fn runs_sharing_a_status_file_keep_each_others_entries() {
    let w = WorkDir::new();
    let bin = tickerlake_tests::bin("tickers-scrape");
    let script = format!(
        "for i in 1 2 3; do\n\
         {b} nasdaqtrader --status s.json --input {l} {o} > /dev/null &\n\
         {b} sec --status s.json --input {s} > /dev/null &\n\
         {b} euronext --status s.json --input {e} > /dev/null &\n\
         wait\n\
         done",
        b = bin.display(),
        l = listed(),
        o = other(),
        s = fixture("real/sec/company_tickers_exchange_commit2025-08-24.json").display(),
        e = fixture("real/euronext/Euronext_Equities_Paris_2026-08-04.csv").display(),
    );
    let out = w.bash(&script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    for source in ["nasdaqtrader", "sec", "euronext"] {
        assert_eq!(
            status["sources"][source]["status"], "ok",
            "{source}: {status}"
        );
    }
}

#[test]
fn the_status_is_written_even_when_the_reader_stops_early() {
    let w = WorkDir::new();
    let out = w.bash(&format!(
        "set -o pipefail; {} nasdaqtrader --status s.json --summary m.json --input {} {} | head -1",
        tickerlake_tests::bin("tickers-scrape").display(),
        listed(),
        other()
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert_eq!(status["sources"]["nasdaqtrader"]["status"], "ok");
    assert!(w.join("m.json").is_file());
    // stdin read twice, or a status file that is stdout: usage errors.
    w.cmd("tickers-scrape")
        .args(["sec", "--input", "-", "-"])
        .fails_with(2);
    w.cmd("tickers-scrape")
        .args(["sec", "--status", "-", "--input"])
        .arg(fixture(
            "real/sec/company_tickers_exchange_commit2025-08-24.json",
        ))
        .fails_with(2)
        .stderr_contains("--status");
}

#[test]
fn index_tables_are_read_from_genuine_pages_by_their_headers() {
    let w = WorkDir::new();
    let run = w
        .cmd("tickers-scrape")
        .args(["sp500", "--input"])
        .arg(fixture(
            "real/wikipedia/List_of_SP_500_companies_rev1250356709_2024-10-09.html",
        ))
        .succeeds();
    let sp = ndjson_values(&run.stdout());
    // The constituents table, not the changes table below it.
    assert_eq!(sp.len(), 503);
    let brk = by_symbol(&sp, "BRK.B");
    assert_eq!(brk["name"], "Berkshire Hathaway");
    assert_eq!(brk["sector"], "Financials");
    assert_eq!(brk["industry"], "Multi-Sector Holdings");
    assert_eq!(brk["indexes"], serde_json::json!(["sp500"]));
    // Entities decoded, no footnote markers left.
    assert_eq!(by_symbol(&sp, "T")["name"], "AT&T");
    assert!(
        sp.iter()
            .all(|r| !r["name"].as_str().unwrap().contains('['))
    );
    for both in ["GOOG", "GOOGL", "FOX", "FOXA", "BF.B"] {
        by_symbol(&sp, both);
    }
    let run = w
        .cmd("tickers-scrape")
        .args(["nasdaq100", "--input"])
        .arg(fixture(
            "real/slickcharts/slickcharts_nasdaq100_by_weight_asof_2024-02-12.html",
        ))
        .succeeds();
    let ndx = ndjson_values(&run.stdout());
    // The constituents, not the second table's four ETFs.
    assert_eq!(ndx.len(), 101);
    assert!(
        ndx.iter()
            .all(|r| r["symbol"] != "SPY" && r["symbol"] != "QQQ")
    );
    assert_eq!(by_symbol(&ndx, "MSFT")["name"], "Microsoft Corp");
    for records in [&sp, &ndx] {
        w.write("u.ndjson", ndjson_of(records));
        w.cmd("records")
            .args(["check", "--kind", "tickers", "u.ndjson"])
            .succeeds();
    }
    // A page whose table lost a header the entry relies on yields nothing.
    let page = std::fs::read_to_string(fixture(
        "real/wikipedia/List_of_SP_500_companies_rev1250356709_2024-10-09.html",
    ))
    .unwrap()
    .replacen("<th>GICS Sub-Industry</th>", "<th>Sub-Industry</th>", 1);
    let path = w.write("drifted.html", page);
    let run = w
        .cmd("tickers-scrape")
        .args(["sp500", "--input"])
        .arg(&path)
        .fails_with(65)
        .stderr_contains("GICS Sub-Industry");
    assert_eq!(run.stdout(), "");
}

#[test]
fn a_list_edited_to_fewer_tickers_and_a_shrink_accepted_on_purpose_pass() {
    let w = WorkDir::new();
    let config = |n: usize| {
        let entries: String = ["AAPL", "MSFT", "NVDA", "AMZN"][..n]
            .iter()
            .map(|s| format!("        - {{symbol: {s}, exchange: XNAS}}\n"))
            .collect();
        w.write(
            &format!("c{n}.yaml"),
            format!("scrape:\n  sources:\n    mine:\n      kind: list\n      tickers:\n{entries}"),
        )
    };
    for n in [4, 2] {
        w.cmd("tickers-scrape")
            .args(["mine", "--status", "s.json", "--config"])
            .arg(config(n))
            .succeeds();
    }
    // A listing that shrank is refused, then accepted when the user says so.
    w.cmd("tickers-scrape")
        .args([
            "nasdaqtrader",
            "--status",
            "s.json",
            "--input",
            &listed(),
            &other(),
        ])
        .succeeds();
    let small = w.write("listed-only.txt", std::fs::read(listed()).unwrap());
    let empty_other = w.write(
        "other-few.txt",
        "ACT Symbol|Security Name|Exchange|CQS Symbol|ETF|Round Lot Size|Test Issue|NASDAQ Symbol\nAIR|AAR Corp. Common Stock|N|AIR|N|100|N|AIR\nFile Creation Time: 0721202521:31||||||\n",
    );
    w.cmd("tickers-scrape")
        .args(["nasdaqtrader", "--status", "s.json", "--input"])
        .args([&small, &empty_other])
        .fails_with(65);
    w.cmd("tickers-scrape")
        .args([
            "nasdaqtrader",
            "--status",
            "s.json",
            "--allow-shrink",
            "--input",
        ])
        .args([&small, &empty_other])
        .succeeds();
    let status: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert_eq!(
        status["sources"]["nasdaqtrader"]["last_good"]["records"],
        4965 + 1
    );
    // A table entry whose venue or currency is no code is a configuration error.
    let bad = w.write(
        "bad.yaml",
        "scrape:\n  sources:\n    t:\n      kind: html-table\n      table:\n        headers: [Symbol]\n        columns: {symbol: Symbol}\n        exchange: MARS\n",
    );
    w.cmd("tickers-scrape")
        .args(["t", "--input", "x.html", "--config"])
        .arg(&bad)
        .fails_with(78)
        .stderr_contains("MARS");
}
