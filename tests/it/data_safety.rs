//! Regression tests for the ways a program could lose data or pass bad data silently: each
//! tries to break one rule through the real binaries.

use tickerlake_tests::{WorkDir, floats};

/// One Bar NDJSON line.
fn bar(symbol: &str, date: &str, close: f64) -> String {
    format!(
        "{{\"symbol\":\"{symbol}\",\"date\":\"{date}\",\"open\":10,\"high\":11,\"low\":9,\
         \"close\":{close},\"adj_close\":{close},\"volume\":1000,\"provider\":\"yahoo\",\
         \"source_ts\":null}}\n"
    )
}

// ---- qlib-bin: a store is never shortened or emptied ----

#[test]
fn qlib_update_never_shortens_a_symbols_stored_history() {
    let w = WorkDir::new();
    let hist: String = [
        ("2024-01-02", 10.0),
        ("2024-01-03", 10.5),
        ("2024-01-04", 11.0),
    ]
    .iter()
    .map(|(d, c)| bar("XYZ", d, *c))
    .collect();
    w.write("hist.ndjson", &hist);
    w.write("fix.ndjson", bar("XYZ", "2024-01-02", 10.1));
    w.cmd("qlib-bin")
        .args(["all", "hist.ndjson", "-o", "q"])
        .succeeds();
    let before = std::fs::read(w.join("q/features/xyz/close.day.bin")).unwrap();
    let all_txt = w.read("q/instruments/all.txt");
    // A one-row restatement on the first stored day is not a whole history: the symbol waits.
    w.cmd("qlib-bin")
        .args(["update", "fix.ndjson", "-o", "q"])
        .fails_with(1)
        .stderr_contains("XYZ: restated, but the input spans 2024-01-02 to 2024-01-02");
    let after = std::fs::read(w.join("q/features/xyz/close.day.bin")).unwrap();
    assert_eq!(floats(&after).len(), 4, "start index + three days");
    assert_eq!(after, before);
    assert_eq!(w.read("q/instruments/all.txt"), all_txt);
    // A history with a hole in the middle is no whole history either.
    let holed: String = [("2024-01-02", 10.1), ("2024-01-04", 11.0)]
        .iter()
        .map(|(d, c)| bar("XYZ", d, *c))
        .collect();
    w.write("holed.ndjson", holed);
    w.cmd("qlib-bin")
        .args(["update", "holed.ndjson", "-o", "q"])
        .fails_with(1)
        .stderr_contains("XYZ: its history lacks 2024-01-03");
    assert_eq!(
        std::fs::read(w.join("q/features/xyz/close.day.bin")).unwrap(),
        before
    );
    // The whole restated history rewrites it, every day kept.
    let whole: String = [
        ("2024-01-02", 10.1),
        ("2024-01-03", 10.5),
        ("2024-01-04", 11.0),
    ]
    .iter()
    .map(|(d, c)| bar("XYZ", d, *c))
    .collect();
    w.write("whole.ndjson", whole);
    w.cmd("qlib-bin")
        .args(["update", "whole.ndjson", "-o", "q"])
        .succeeds();
    let after = floats(&std::fs::read(w.join("q/features/xyz/close.day.bin")).unwrap());
    assert_eq!(after.len(), 4);
    assert!(after[1..].iter().all(|v| v.is_finite()), "{after:?}");
}

#[test]
fn qlib_all_refuses_to_replace_a_store_with_nothing() {
    let w = WorkDir::new();
    let hist: String = ["AAA", "BBB", "CCC", "DDD"]
        .iter()
        .flat_map(|s| [bar(s, "2024-01-02", 10.0), bar(s, "2024-01-03", 10.5)])
        .collect();
    w.write("hist.ndjson", &hist);
    w.cmd("qlib-bin")
        .args(["all", "hist.ndjson", "-o", "q"])
        .succeeds();
    let all_txt = w.read("q/instruments/all.txt");
    std::fs::create_dir_all(w.join("empty_dir")).unwrap();
    std::fs::create_dir_all(w.join("not_a_lake/sub")).unwrap();
    let tries: Vec<Vec<&str>> = vec![
        vec!["all", "-o", "q", "--force", "-"],
        vec![
            "all",
            "-o",
            "q",
            "--force",
            "hist.ndjson",
            "--symbols",
            "TYPO",
        ],
        vec![
            "all",
            "-o",
            "q",
            "--force",
            "hist.ndjson",
            "--from",
            "2030-01-01",
        ],
    ];
    for args in &tries {
        w.cmd("qlib-bin")
            .args(args)
            .stdin("")
            .fails_with(65)
            .stderr_contains("no bars");
        assert_eq!(w.read("q/instruments/all.txt"), all_txt, "{args:?}");
    }
    for lake in ["empty_dir", "not_a_lake"] {
        w.cmd("qlib-bin")
            .args(["all", "-o", "q", "--force", "--lake", lake])
            .fails_with(66)
            .stderr_contains("not a tickerlake lake");
        assert_eq!(w.read("q/instruments/all.txt"), all_txt, "{lake}");
    }
    // Far fewer instruments than the store holds: refused unless said so.
    w.write("one.ndjson", bar("AAA", "2024-01-02", 10.0));
    w.cmd("qlib-bin")
        .args(["all", "-o", "q", "--force", "one.ndjson"])
        .fails_with(65)
        .stderr_contains("--allow-shrink");
    assert_eq!(w.read("q/instruments/all.txt"), all_txt);
    w.cmd("qlib-bin")
        .args(["all", "-o", "q", "--force", "--allow-shrink", "one.ndjson"])
        .succeeds();
    assert_eq!(w.read("q/instruments/all.txt").lines().count(), 1);
}

// ---- secrets from the environment are never printed ----

#[test]
fn a_config_value_from_the_environment_is_never_echoed_in_any_program() {
    let w = WorkDir::new();
    let cases = [
        "qa:\n  fail_on: ${SECRET}\n",
        "lake:\n  price_type: ${SECRET}\n",
        "lake:\n  zstd_level: ${SECRET}\n",
        "http:\n  timeout: ${SECRET}\n",
        "qlib:\n  fields: [\"${SECRET}\"]\n",
        "fetch:\n  yahoo:\n    overrides: ${SECRET}\n",
        "fetch:\n  yahoo:\n    base_url: ${SECRET}\n",
    ];
    for (k, text) in cases.iter().enumerate() {
        let config = w.write(&format!("c{k}.yaml"), text);
        for program in ["to-parquet", "qa-check", "qlib-bin", "ohlcv-fetch"] {
            for format in ["text", "json"] {
                let run = w
                    .cmd(program)
                    .arg("--config")
                    .arg(&config)
                    .args(["--log-format", format])
                    .arg("--help")
                    .env("SECRET", "hunter2")
                    .run();
                assert!(!run.stdout().contains("hunter2") && !run.stderr().contains("hunter2"));
                let args: &[&str] = if program == "qlib-bin" {
                    &["all", "-o", "q", "-"]
                } else {
                    &[]
                };
                let run = w
                    .cmd(program)
                    .args(args)
                    .arg("--config")
                    .arg(&config)
                    .args(["--log-format", format])
                    .env("SECRET", "hunter2")
                    .stdin("")
                    .fails_with(78);
                assert!(
                    !run.stderr().contains("hunter2") && run.stderr().contains("${SECRET}"),
                    "{program} {text}: {}",
                    run.stderr()
                );
            }
        }
    }
}

// ---- a full disk is an I/O error (74), not bad input ----

#[test]
fn a_full_disk_is_exit_74_in_every_write_path() {
    let w = WorkDir::new();
    let bars: String = (1..=28)
        .map(|d| bar("AAA", &format!("2024-02-{d:02}"), 10.0 + f64::from(d)))
        .collect();
    w.write("bars.ndjson", &bars);
    w.cmd("to-parquet")
        .args(["--lake", "lake0", "bars.ndjson"])
        .succeeds();
    w.cmd("qlib-bin")
        .args(["all", "-o", "q0", "bars.ndjson"])
        .succeeds();
    w.write("more.ndjson", bar("AAA", "2024-03-01", 40.0));
    let bin = |p: &str| tickerlake_tests::bin(p).display().to_string();
    // stdout on a full device.
    for cmd in [
        format!("{} -o - bars.ndjson > /dev/full", bin("to-parquet")),
        format!(
            "{} --kind bars -o - bars.ndjson > /dev/full",
            bin("to-parquet")
        ),
        format!("{} check bars.ndjson > /dev/full", bin("records")),
        // Findings (the bars are old: lag and freshness) on a full stdout.
        format!("{} bars.ndjson > /dev/full", bin("qa-check")),
        format!("{} --cat --lake lake0 > /dev/full", bin("to-parquet")),
    ] {
        let out = w.bash(&cmd);
        assert_eq!(
            out.status.code(),
            Some(74),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A file that cannot grow (a file-size limit gives EFBIG, as a full disk gives ENOSPC).
    for (cmd, target) in [
        (
            format!("{} -o out.parquet bars.ndjson", bin("to-parquet")),
            "out.parquet",
        ),
        (
            format!("{} --lake lake bars.ndjson", bin("to-parquet")),
            "lake",
        ),
        (format!("{} all -o q bars.ndjson", bin("qlib-bin")), "q"),
    ] {
        let out = w.bash(&format!("trap '' XFSZ; ulimit -f 0; {cmd}"));
        assert_eq!(
            out.status.code(),
            Some(74),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!w.join(target).join("features").exists());
        assert!(!w.join(target).is_file());
    }
    // An update of a store and of a lake, and a summary file, on a disk that is full.
    for cmd in [
        format!("{} update -o q0 more.ndjson", bin("qlib-bin")),
        format!("{} --lake lake0 more.ndjson", bin("to-parquet")),
        format!(
            "{} bars.ndjson --summary s.json --checks ohlc",
            bin("qa-check")
        ),
    ] {
        let out = w.bash(&format!("trap '' XFSZ; ulimit -f 0; {cmd}"));
        assert_eq!(
            out.status.code(),
            Some(74),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Nothing of it landed: the stores read as before.
    w.cmd("to-parquet")
        .args(["--cat", "--lake", "lake0", "--from", "2024-03-01"])
        .succeeds()
        .stdout_is("");
    assert_eq!(w.read("q0/calendars/day.txt").lines().count(), 28);
}

// ---- ohlcv-fetch: one odd answer never loses the night ----

fn serve(routes: &str) -> replay_server::ReplayServer {
    replay_server::ReplayServer::start(
        replay_server::Routes::from_yaml(routes).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap()
}

fn fetch_config(w: &WorkDir, extra: &str) -> std::path::PathBuf {
    w.write(
        "fetch.yaml",
        format!("http:\n  timeout: 2s\nfetch:\n  backoff: [20ms, 40ms]\n  rate: 1000\n{extra}"),
    )
}

/// Ticker records listed on Xetra: `GOOD` is named `GOOD.DE`, as Yahoo knows it.
fn universe(w: &WorkDir, symbols: &[&str]) -> std::path::PathBuf {
    let text: String = symbols
        .iter()
        .map(|s| format!("{{\"symbol\":\"{s}.DE\",\"exchange\":\"XETR\"}}\n"))
        .collect();
    w.write("universe.ndjson", text)
}

/// A genuine recording with `edit` applied to its JSON.
fn edited_recording(w: &WorkDir, name: &str, edit: impl Fn(&mut serde_json::Value)) -> String {
    let text = std::fs::read_to_string(tickerlake_tests::fixture(
        "real/yahoo_chart/WSU.DE_1d_2023-08-04_2023-08-09.body.json",
    ))
    .unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(&mut v["chart"]["result"][0]);
    w.write(name, v.to_string()).display().to_string()
}

#[test]
fn an_answer_the_record_contract_refuses_fails_only_its_symbol() {
    let w = WorkDir::new();
    let good =
        tickerlake_tests::fixture("real/yahoo_chart/WSU.DE_1d_2023-08-04_2023-08-09.body.json");
    let odd_currency = edited_recording(&w, "cur.json", |r| {
        r["meta"]["currency"] = serde_json::json!("EURO");
    });
    let huge_price = edited_recording(&w, "huge.json", |r| {
        r["indicators"]["quote"][0]["close"][1] = serde_json::json!(1.5e13);
    });
    let s = serve(&format!(
        "routes:\n  - path: /v8/finance/chart/GOOD.DE\n    file: {}\n  - path: /v8/finance/chart/CUR.DE\n    file: {odd_currency}\n  - path: /v8/finance/chart/HUGE.DE\n    file: {huge_price}\n",
        good.display()
    ));
    let run = w
        .cmd("ohlcv-fetch")
        .arg("--config")
        .arg(fetch_config(&w, ""))
        .arg(universe(&w, &["GOOD", "CUR", "HUGE"]))
        .args(["--start", "2023-08-01", "--end", "2023-08-31"])
        .args(["--base-url", &s.base_url(), "--errors", "errors.ndjson"])
        .fails_with(75);
    w.write("bars.ndjson", run.stdout());
    let errors = tickerlake_tests::ndjson_values(&w.read("errors.ndjson"));
    let mut failed: Vec<(String, String)> = errors
        .iter()
        .map(|e| {
            (
                e["symbol"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        vec![
            ("CUR.DE".into(), "PARSE".into()),
            ("HUGE.DE".into(), "PARSE".into())
        ]
    );
    // The good symbol's bars flow into the lake; nothing of the odd ones was written.
    let bars = tickerlake_tests::ndjson_values(&w.read("bars.ndjson"));
    assert!(!bars.is_empty() && bars.iter().all(|b| b["symbol"] == "GOOD.DE"));
    w.cmd("to-parquet")
        .args(["--lake", "lake", "bars.ndjson"])
        .succeeds();
    w.cmd("records").args(["check", "bars.ndjson"]).succeeds();
}

#[test]
fn a_retry_after_beyond_the_cap_fails_the_symbol_at_once() {
    let w = WorkDir::new();
    let good =
        tickerlake_tests::fixture("real/yahoo_chart/WSU.DE_1d_2023-08-04_2023-08-09.body.json");
    let s = serve(&format!(
        "routes:\n  - path: /v8/finance/chart/SLOW.DE\n    file: {}\n    faults: {{ sequence: [429, 200], retry_after: 86400 }}\n  - path: /v8/finance/chart/OK.DE\n    file: {}\n    faults: {{ sequence: [503, 200], retry_after: 1 }}\n",
        good.display(),
        good.display()
    ));
    let started = std::time::Instant::now();
    let run = w
        .cmd("ohlcv-fetch")
        .arg("--config")
        .arg(fetch_config(&w, "  max_retry_after: 2s\n"))
        .arg(universe(&w, &["SLOW", "OK"]))
        .args(["--start", "2023-08-01", "--end", "2023-08-31"])
        .args(["--base-url", &s.base_url(), "--errors", "errors.ndjson"])
        .args(["--log-format", "text"])
        .run();
    assert!(started.elapsed().as_secs() < 60, "it waited");
    assert_ne!(run.code(), Some(0));
    let errors = tickerlake_tests::ndjson_values(&w.read("errors.ndjson"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["symbol"], "SLOW.DE");
    assert!(
        errors[0]["message"].as_str().unwrap().contains("86400 s"),
        "{errors:?}"
    );
    // The wait it did honour (1 s, within the cap) is said at the default level.
    assert!(run.stderr().contains("Retry-After"), "{}", run.stderr());
    assert!(
        tickerlake_tests::ndjson_values(&run.stdout())
            .iter()
            .any(|b| b["symbol"] == "OK.DE")
    );
}

// ---- a directory that is not a lake ----

#[test]
fn a_directory_that_is_not_a_lake_is_never_read_as_one_nor_written_into() {
    let w = WorkDir::new();
    w.write("bars.ndjson", bar("AAA", "2024-01-02", 10.0));
    w.cmd("to-parquet")
        .args(["--lake", "data/lake", "bars.ndjson"])
        .succeeds();
    // A Qlib store and a docs directory: not lakes.
    w.cmd("qlib-bin")
        .args(["all", "-o", "q", "bars.ndjson"])
        .succeeds();
    w.write("docs/readme.md", "# notes\n");
    for dir in ["data", "q", "docs", "missing"] {
        w.cmd("to-parquet")
            .args(["--cat", "--lake", dir])
            .fails_with(66)
            .stderr_contains(dir);
        w.cmd("qa-check").args(["--lake", dir]).fails_with(66);
        w.cmd("qlib-bin")
            .args(["all", "-o", "q2", "--lake", dir])
            .fails_with(66);
        w.cmd("ohlcv-fetch")
            .args([
                "--symbols",
                "AAA",
                "--since-lake",
                dir,
                "--base-url",
                "http://127.0.0.1:9",
            ])
            .fails_with(66);
    }
    // The lake's parent: the hint names the lake.
    w.cmd("to-parquet")
        .args(["--cat", "--lake", "data"])
        .fails_with(66)
        .stderr_contains("data/lake is one");
    let before_q = std::fs::read_dir(w.join("q")).unwrap().count();
    for dir in ["q", "docs", "data"] {
        w.cmd("to-parquet")
            .args(["--lake", dir, "bars.ndjson"])
            .fails_with(2)
            .stderr_contains("not a tickerlake lake");
    }
    assert_eq!(std::fs::read_dir(w.join("q")).unwrap().count(), before_q);
    assert!(!w.join("docs/symbol=AAA").exists());
    // A new or empty directory becomes a lake; the lake itself takes more.
    std::fs::create_dir_all(w.join("empty")).unwrap();
    for dir in ["empty", "new", "data/lake"] {
        w.cmd("to-parquet")
            .args(["--lake", dir, "bars.ndjson"])
            .succeeds();
        w.cmd("to-parquet")
            .args(["--cat", "--lake", dir])
            .succeeds()
            .stdout_contains("\"AAA\"");
    }
}

// ---- an upsert never replaces stored values with nulls ----

#[test]
fn an_upsert_never_replaces_stored_values_with_nulls() {
    let w = WorkDir::new();
    w.write(
        "day1.ndjson",
        "{\"symbol\":\"AAA\",\"date\":\"2024-01-02\",\"open\":10,\"high\":11,\"low\":9,\"close\":10.5,\"adj_close\":10.4,\"volume\":1000,\"currency\":\"USD\",\"provider\":\"yahoo\",\"source_ts\":\"2024-01-02T22:00:00Z\"}\n",
    );
    // The look-back re-fetch: the answer lacked the quote arrays, only volume and a newer time.
    w.write(
        "refetch.ndjson",
        "{\"symbol\":\"AAA\",\"date\":\"2024-01-02\",\"open\":null,\"high\":null,\"low\":null,\"close\":null,\"adj_close\":null,\"volume\":1200,\"provider\":\"yahoo\",\"source_ts\":\"2024-01-05T22:00:00Z\"}\n",
    );
    w.cmd("to-parquet")
        .args(["--lake", "lake", "day1.ndjson"])
        .succeeds();
    w.cmd("to-parquet")
        .args(["--lake", "lake", "refetch.ndjson", "--summary", "s.json"])
        .succeeds();
    let s: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert_eq!(s["nulls_kept"], 1);
    let cat = w
        .cmd("to-parquet")
        .args(["--cat", "--lake", "lake"])
        .succeeds();
    let rows = tickerlake_tests::ndjson_values(&cat.stdout());
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r["close"], 10.5);
    assert_eq!(r["open"], 10.0);
    assert_eq!(r["adj_close"], 10.4);
    assert_eq!(r["currency"], "USD");
    // The newer non-null value wins; the newer time is kept.
    assert_eq!(r["volume"], 1200);
    assert_eq!(r["source_ts"], "2024-01-05T22:00:00Z");
    // A newer value corrects an older one.
    w.write(
        "fix.ndjson",
        "{\"symbol\":\"AAA\",\"date\":\"2024-01-02\",\"close\":10.6,\"provider\":\"yahoo\",\"source_ts\":\"2024-01-06T22:00:00Z\"}\n",
    );
    w.cmd("to-parquet")
        .args(["--lake", "lake", "fix.ndjson"])
        .succeeds();
    let cat = w
        .cmd("to-parquet")
        .args(["--cat", "--lake", "lake"])
        .succeeds();
    let r = &tickerlake_tests::ndjson_values(&cat.stdout())[0];
    assert_eq!(
        (r["close"].as_f64(), r["open"].as_f64()),
        (Some(10.6), Some(10.0))
    );
}

// ---- the QA gate never passes vacuously ----

#[test]
fn the_qa_gate_never_passes_vacuously() {
    let w = WorkDir::new();
    for profile in ["nightly", "training"] {
        w.cmd("qa-check")
            .args(["--profile", profile])
            .stdin("")
            .fails_with(65)
            .stderr_contains("no bars");
    }
    let good: String = (2..=5)
        .map(|d| bar("AAA", &format!("2024-01-{d:02}"), 10.0))
        .collect();
    w.write("good.ndjson", &good);
    w.cmd("qa-check")
        .args(["good.ndjson", "--symbols", "ZZZ", "--as-of", "2024-01-05"])
        .fails_with(65);
    for checks in ["", ","] {
        w.cmd("qa-check")
            .args(["good.ndjson", "--checks", checks])
            .fails_with(2)
            .stderr_contains("no check");
    }
    // A negative volume and a bar from the future are critical findings.
    let bad = good.clone()
        + &bar("AAA", "2024-01-08", 10.0).replace("\"volume\":1000", "\"volume\":-5")
        + &bar("AAA", "9999-12-31", 10.0);
    w.write("bad.ndjson", bad);
    let run = w
        .cmd("qa-check")
        .args([
            "bad.ndjson",
            "--as-of",
            "2024-01-08",
            "--checks",
            "negative_volume,future_date",
        ])
        .fails_with(1);
    let findings = tickerlake_tests::ndjson_values(&run.stdout());
    let got: Vec<(&str, &str, &str)> = findings
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap(),
                f["date"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("negative_volume", "2024-01-08", "critical"),
            ("future_date", "9999-12-31", "critical")
        ]
    );
    // A bar after --as-of (not only far-future ones).
    w.cmd("qa-check")
        .args([
            "good.ndjson",
            "--as-of",
            "2024-01-04",
            "--checks",
            "future_date",
        ])
        .fails_with(1)
        .stdout_contains("2024-01-05");
}

// ---- two silent losses at the edges ----

#[test]
fn an_output_that_is_also_an_input_is_refused() {
    let w = WorkDir::new();
    let bars = bar("AAA", "2024-01-02", 10.0) + "not json\n";
    w.write("bars.ndjson", &bars);
    w.cmd("to-parquet")
        .args(["--lake", "lake", "bars.ndjson", "--rejects", "bars.ndjson"])
        .fails_with(2)
        .stderr_contains("also an input");
    w.cmd("to-parquet")
        .args(["-o", "./bars.ndjson", "bars.ndjson"])
        .fails_with(2);
    std::fs::hard_link(w.join("bars.ndjson"), w.join("link.ndjson")).unwrap();
    w.cmd("records")
        .args(["check", "bars.ndjson", "--rejects", "link.ndjson"])
        .fails_with(2);
    w.cmd("qa-check")
        .args(["bars.ndjson", "--summary", "bars.ndjson"])
        .fails_with(2);
    assert_eq!(w.read("bars.ndjson"), bars);
}

#[test]
fn values_a_bar_cannot_hold_in_a_foreign_parquet_file_are_an_error_not_nulls() {
    let w = WorkDir::new();
    let python = tickerlake_tests::venv_python().expect("make venv");
    for (name, value) in [
        ("nan", "float('nan')"),
        ("inf", "float('inf')"),
        ("big", "-1e300"),
    ] {
        let script = format!(
            "import pyarrow as pa, pyarrow.parquet as pq, datetime\n\
             t = pa.table({{'symbol': ['AAA', 'AAA'], 'date': [datetime.date(2024,1,2), datetime.date(2024,1,3)],\
             'close': pa.array([10.0, {value}], pa.float64()), 'provider': ['other', 'other']}})\n\
             pq.write_table(t, '{name}.parquet')\n"
        );
        let out = std::process::Command::new(&python)
            .args(["-c", &script])
            .current_dir(w.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let run = w
            .cmd("to-parquet")
            .args(["--cat", &format!("{name}.parquet")])
            .fails_with(65)
            .stderr_contains("close, row 2");
        assert!(
            run.stderr().contains(&format!("{name}.parquet")),
            "{}",
            run.stderr()
        );
    }
}

// ---- one log format per stream ----

#[test]
fn with_json_logs_every_stderr_line_is_json_summaries_included() {
    let w = WorkDir::new();
    w.write(
        "bars.ndjson",
        bar("AAA", "2024-01-02", 10.0) + &bar("AAA", "2024-01-03", 10.5),
    );
    let runs = [
        w.cmd("to-parquet")
            .args([
                "-v",
                "--log-format",
                "json",
                "--lake",
                "lake",
                "bars.ndjson",
            ])
            .succeeds(),
        w.cmd("to-parquet")
            .args([
                "-v",
                "--log-format",
                "json",
                "-o",
                "a.parquet",
                "bars.ndjson",
            ])
            .succeeds(),
        w.cmd("qlib-bin")
            .args([
                "-v",
                "--log-format",
                "json",
                "all",
                "-o",
                "q",
                "bars.ndjson",
            ])
            .succeeds(),
        w.cmd("qa-check")
            .args([
                "-v",
                "--log-format",
                "json",
                "bars.ndjson",
                "--as-of",
                "2024-01-03",
            ])
            .succeeds(),
    ];
    for (k, run) in runs.iter().enumerate() {
        let text = run.stderr();
        // The writers' summaries are there (qa-check's clean run says nothing).
        assert!(
            k == 3 || text.contains("rows written") || text.contains("calendar days"),
            "{text}"
        );
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            assert!(v["msg"].is_string() && v["level"].is_string(), "{line}");
        }
    }
}

// ---- CSV: the providers' downloads, the same missing values and errors as NDJSON ----

#[test]
fn provider_csv_downloads_are_accepted_with_symbol_and_provider() {
    let w = WorkDir::new();
    let yahoo = tickerlake_tests::fixture("real/yahoo_v7_csv/AAPL_1980-12-12_2022-04-07.csv");
    let stooq = tickerlake_tests::fixture("real/stooq/aapl_us_d_1984-09-07_2026-02-03.csv");
    // Without the columns the download lacks: refused, saying which flag fills them in.
    w.cmd("to-parquet")
        .args(["--input-format", "csv", "-o", "y.parquet"])
        .arg(&yahoo)
        .fails_with(65)
        .stderr_contains("--symbol SYM");
    for (file, provider) in [(&yahoo, "yahoo"), (&stooq, "stooq")] {
        // Every data row of the download (the header aside).
        let rows = std::fs::read_to_string(file).unwrap().lines().count() - 1;
        w.cmd("to-parquet")
            .args([
                "--input-format",
                "csv",
                "--symbol",
                "AAPL",
                "--provider",
                provider,
            ])
            .args(["--lake", provider, "--summary", "s.json"])
            .arg(file)
            .succeeds();
        let s: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
        assert_eq!(s["rows_written"], rows, "{provider}");
        let cat = w
            .cmd("to-parquet")
            .args([
                "--cat",
                "--lake",
                provider,
                "--from",
                "2020-01-02",
                "--to",
                "2020-01-02",
            ])
            .succeeds();
        let bars = tickerlake_tests::ndjson_values(&cat.stdout());
        assert_eq!(bars.len(), 1);
        assert_eq!(bars[0]["provider"], provider);
        assert!(bars[0]["close"].as_f64().unwrap() > 0.0);
        // Stooq has no adjusted close: null, not a refusal.
        assert_eq!(bars[0]["adj_close"].is_null(), provider == "stooq");
    }
    // The Polish headers of Stooq's Polish site name the same fields.
    w.write(
        "pl.csv",
        "Data,Otwarcie,Najwyzszy,Najnizszy,Zamkniecie,Wolumen\n2024-01-02,10,11,9,10.5,1200\n",
    );
    w.cmd("to-parquet")
        .args([
            "--input-format",
            "csv",
            "--symbol",
            "CDR.PL",
            "--provider",
            "stooq",
            "-o",
            "pl.parquet",
            "pl.csv",
        ])
        .succeeds();
    w.cmd("to-parquet")
        .args(["--symbol", "X", "-o", "n.parquet", "pl.csv"])
        .fails_with(2);
}

#[test]
fn csv_and_ndjson_agree_on_missing_values_and_name_the_field() {
    let w = WorkDir::new();
    w.write(
        "m.csv",
        "symbol,date,open,close,volume,provider\nA,2024-01-02,NA,null,,p\nA,2024-01-03,NaN,1.5,N/A,p\n",
    );
    let cat = |out: &str| {
        tickerlake_tests::ndjson_values(
            &w.cmd("to-parquet").args(["--cat", out]).succeeds().stdout(),
        )
    };
    w.cmd("to-parquet")
        .args(["--input-format", "csv", "-o", "m.parquet", "m.csv"])
        .succeeds();
    let rows = cat("m.parquet");
    assert!(rows[0]["open"].is_null() && rows[0]["close"].is_null() && rows[0]["volume"].is_null());
    assert!(rows[1]["open"].is_null() && rows[1]["close"] == 1.5);
    // The same rows as NDJSON nulls give the same file content.
    w.write(
        "m.ndjson",
        "{\"symbol\":\"A\",\"date\":\"2024-01-02\",\"open\":null,\"close\":null,\"volume\":null,\"provider\":\"p\"}\n{\"symbol\":\"A\",\"date\":\"2024-01-03\",\"open\":null,\"close\":1.5,\"volume\":null,\"provider\":\"p\"}\n",
    );
    w.cmd("to-parquet")
        .args(["-o", "n.parquet", "m.ndjson"])
        .succeeds();
    assert_eq!(cat("n.parquet"), rows);
    // Text in a number column: the file, the line and the column, as for NDJSON.
    w.write(
        "bad.csv",
        "symbol,date,open,close,provider\nA,2024-01-02,1,oops,p\n",
    );
    w.cmd("to-parquet")
        .args([
            "--input-format",
            "csv",
            "-o",
            "b.parquet",
            "bad.csv",
            "--log-format",
            "text",
        ])
        .fails_with(65)
        .stderr_contains("bad.csv:2: close: expected a decimal number, found \"oops\"");
    // A 3 MB field: refused as too long, and echoed short.
    let big = "9".repeat(3 << 20);
    w.write(
        "big.csv",
        format!("symbol,date,close,provider\nA,2024-01-02,{big},p\n"),
    );
    let run = w
        .cmd("to-parquet")
        .args(["--input-format", "csv", "-o", "b.parquet", "big.csv"])
        .fails_with(65);
    assert!(
        run.stderr().len() < 2_000,
        "{} bytes of stderr",
        run.stderr().len()
    );
    let mut huge_ndjson = bar("A", "2024-01-02", 1.0);
    huge_ndjson.insert_str(1, &format!("\"x\":\"{}\",", "y".repeat(500_000)));
    w.write("huge.ndjson", huge_ndjson);
    let run = w
        .cmd("to-parquet")
        .args(["-o", "h.parquet", "huge.ndjson"])
        .fails_with(65);
    assert!(
        run.stderr().len() < 2_000,
        "{} bytes of stderr",
        run.stderr().len()
    );
}

// ---- ohlcv-fetch: what it cannot ask for is said, never guessed ----

#[test]
fn base_urls_are_checked_before_any_request() {
    let w = WorkDir::new();
    for url in [
        "ftp://x",
        "http://127.0.0.1:9/x?key=1",
        "https://",
        "file:///etc",
    ] {
        w.cmd("ohlcv-fetch")
            .args(["--symbols", "AAA", "--days-back", "3", "--base-url", url])
            .fails_with(2)
            .stderr_contains("--base-url");
    }
}

#[test]
fn an_unknown_venue_fails_its_symbol_and_is_never_fetched_as_the_us_listing() {
    let w = WorkDir::new();
    let good =
        tickerlake_tests::fixture("real/yahoo_chart/WSU.DE_1d_2023-08-04_2023-08-09.body.json");
    // The US listing of the same letters answers too: it must not be asked.
    let s = serve(&format!(
        "routes:\n  - path: /v8/finance/chart/WSU.DE\n    file: {g}\n  - path: /v8/finance/chart/WSU\n    file: {g}\n",
        g = good.display()
    ));
    w.write(
        "universe2.ndjson",
        "{\"symbol\":\"WSU\",\"exchange\":\"MARS\"}\n",
    );
    let run = w
        .cmd("ohlcv-fetch")
        .arg("--config")
        .arg(fetch_config(&w, ""))
        .args([
            "universe2.ndjson",
            "--start",
            "2023-08-01",
            "--end",
            "2023-08-31",
        ])
        .args([
            "--base-url",
            &s.base_url(),
            "--errors",
            "errors.ndjson",
            "--log-format",
            "text",
        ])
        .fails_with(75)
        .stderr_contains("MARS");
    assert!(run.stdout().is_empty());
    let errors = tickerlake_tests::ndjson_values(&w.read("errors.ndjson"));
    assert_eq!(errors[0]["attempts"], 0);
    assert!(s.requests().is_empty(), "{:?}", s.requests());
    w.cmd("records")
        .args(["check", "--kind", "errors", "errors.ndjson"])
        .succeeds();
}

#[test]
fn a_column_the_source_does_not_supply_is_one_info_finding_not_a_null_per_row() {
    let w = WorkDir::new();
    let stooq = tickerlake_tests::fixture("real/stooq/aapl_us_d_1984-09-07_2026-02-03.csv");
    w.cmd("to-parquet")
        .args([
            "--input-format",
            "csv",
            "--symbol",
            "AAPL",
            "--provider",
            "stooq",
            "--lake",
            "lake",
        ])
        .arg(&stooq)
        .succeeds();
    let cat = w
        .cmd("to-parquet")
        .args(["--cat", "--lake", "lake"])
        .succeeds();
    w.write("stooq.ndjson", cat.stdout());
    let run = w
        .cmd("qa-check")
        .args([
            "stooq.ndjson",
            "--checks",
            "null_fields",
            "--as-of",
            "2026-02-03",
        ])
        .succeeds();
    let findings = tickerlake_tests::ndjson_values(&run.stdout());
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["severity"], "info");
    assert_eq!(
        findings[0]["details"]["fields"],
        serde_json::json!(["adj_close"])
    );
    // A null the source does supply elsewhere is still a finding of its day.
    let mut rows = tickerlake_tests::ndjson_values(&cat.stdout());
    rows[5]["close"] = serde_json::Value::Null;
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    w.write("holed.ndjson", text);
    let run = w
        .cmd("qa-check")
        .args([
            "holed.ndjson",
            "--checks",
            "null_fields",
            "--as-of",
            "2026-02-03",
        ])
        .succeeds();
    let findings = tickerlake_tests::ndjson_values(&run.stdout());
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert_eq!(
        findings[1]["details"]["fields"],
        serde_json::json!(["close"])
    );
}

// ---- the docs' examples run on the project's own example file ----

#[test]
fn small_inputs_are_regrouped_so_the_example_file_runs() {
    let w = WorkDir::new();
    let example = tickerlake_tests::fixture("records/bars.ndjson");
    // AAPL appears again after WSU.DE in the example file.
    w.cmd("qa-check")
        .arg(&example)
        .args([
            "--as-of",
            "2023-08-09",
            "--checks",
            "null_fields,ohlc,duplicate",
        ])
        .succeeds();
    w.cmd("qlib-bin")
        .args(["all", "-o", "q"])
        .arg(&example)
        .succeeds();
    let all = w.read("q/instruments/all.txt");
    assert!(
        all.starts_with("AAPL\t2020-08-31\t2020-09-04\nWSU.DE\t"),
        "{all}"
    );
    // A large input still has to come grouped (memory stays bounded), and says so.
    let mut big = String::with_capacity(9 << 20);
    let day = |k: usize| {
        chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + chrono::Days::new(k as u64)
    };
    for k in 0..60_000 {
        big.push_str(&bar("AAA", &day(k).to_string(), 10.0));
    }
    big.push_str(&bar("BBB", "2000-01-03", 10.0));
    for k in 60_000..100_500 {
        big.push_str(&bar("CCC", &day(k).to_string(), 10.0));
    }
    big.push_str(&bar("AAA", "2200-01-03", 10.0));
    w.write("big.ndjson", big);
    w.cmd("qa-check")
        .args(["big.ndjson", "--checks", "ohlc", "--log-format", "text"])
        .fails_with(65)
        .stderr_contains("AAA appears again after other symbols' bars");
}

// ---- the same classes, tried harder ----

/// Bars of `symbol` on the first `n` weekdays of 2024, closes 10, 10.5, 11…
fn days(symbol: &str, n: usize) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    let mut d = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
    while out.len() < n {
        if chrono::Datelike::weekday(&d).number_from_monday() <= 5 {
            let c = 10.0 + out.len() as f64 / 2.0;
            out.push(
                serde_json::json!({"symbol": symbol, "date": d.to_string(), "open": c,
                "high": c + 1.0, "low": c - 1.0, "close": c, "adj_close": c, "volume": 1000,
                "provider": "yahoo", "source_ts": null}),
            );
        }
        d = d.succ_opt().unwrap();
    }
    out
}

fn lines(rows: &[serde_json::Value]) -> String {
    rows.iter().map(|r| format!("{r}\n")).collect()
}

#[test]
fn a_history_of_null_rows_never_erases_stored_values() {
    let w = WorkDir::new();
    let hist = days("XYZ", 10);
    w.write("hist.ndjson", lines(&hist));
    // The whole span again, restated (every price halved), but the first days without values.
    let mut restated = hist.clone();
    for (k, r) in restated.iter_mut().enumerate() {
        for f in ["open", "high", "low", "close", "adj_close"] {
            r[f] = if k < 3 {
                serde_json::Value::Null
            } else {
                serde_json::json!(r[f].as_f64().unwrap() / 2.0)
            };
        }
        if k < 3 {
            r["volume"] = serde_json::Value::Null;
        }
    }
    w.write("restated.ndjson", lines(&restated));
    for adjust in ["qlib", "none"] {
        let q = format!("q-{adjust}");
        w.cmd("qlib-bin")
            .args(["all", "hist.ndjson", "-o", &q, "--adjust", adjust])
            .succeeds();
        let before = std::fs::read(w.join(&format!("{q}/features/xyz/close.day.bin"))).unwrap();
        let mut args = vec!["update", "restated.ndjson", "-o", q.as_str()];
        if adjust == "none" {
            args.push("--rewrite-changed");
        }
        let run = w.cmd("qlib-bin").args(&args).run();
        let after =
            floats(&std::fs::read(w.join(&format!("{q}/features/xyz/close.day.bin"))).unwrap());
        assert!(
            after[1..].iter().all(|v| v.is_finite()),
            "{adjust}: {after:?}"
        );
        if adjust == "qlib" {
            assert_eq!(run.code(), Some(1), "{}", run.stderr());
            assert_eq!(
                std::fs::read(w.join(&format!("{q}/features/xyz/close.day.bin"))).unwrap(),
                before
            );
        }
    }
}

#[test]
fn an_export_without_values_or_with_far_fewer_days_never_replaces_a_store() {
    let w = WorkDir::new();
    let rows: Vec<serde_json::Value> = ["AAA", "BBB", "CCC"]
        .iter()
        .flat_map(|s| days(s, 30))
        .collect();
    w.write("hist.ndjson", lines(&rows));
    w.cmd("qlib-bin")
        .args(["all", "hist.ndjson", "-o", "q"])
        .succeeds();
    let all = w.read("q/instruments/all.txt");
    let bare: String = ["AAA", "BBB", "CCC"]
        .iter()
        .map(|s| format!("{{\"symbol\":\"{s}\",\"date\":\"2024-01-02\",\"provider\":\"yahoo\"}}\n"))
        .collect();
    w.write("bare.ndjson", bare);
    w.cmd("qlib-bin")
        .args(["all", "--force", "bare.ndjson", "-o", "q"])
        .fails_with(65)
        .stderr_contains("not one value");
    // Every instrument, but one day of each.
    w.cmd("qlib-bin")
        .args([
            "all",
            "--force",
            "hist.ndjson",
            "--from",
            "2024-02-09",
            "-o",
            "q",
        ])
        .fails_with(65)
        .stderr_contains("instrument-days");
    assert_eq!(w.read("q/instruments/all.txt"), all);
}

#[test]
fn qlib_fields_never_leave_the_instrument_directory_and_a_damaged_file_is_no_panic() {
    let w = WorkDir::new();
    for name in ["../../../evil", "a/b", ".", &"x".repeat(300)] {
        w.write("esc.csv", format!("date,symbol,{name}\n2024-01-02,AAA,1\n"));
        w.cmd("qlib-bin")
            .args([
                "all",
                "--input-format",
                "csv",
                "--adjust",
                "none",
                "esc.csv",
                "-o",
                "qe",
            ])
            .fails_with(65)
            .stderr_contains("cannot be a Qlib field");
    }
    assert!(!w.join("evil.day.bin").exists() && !w.join("qe").exists());
    // A feature file whose start index lies past the calendar.
    w.write("hist.ndjson", lines(&days("AAA", 5)));
    w.cmd("qlib-bin")
        .args(["all", "hist.ndjson", "-o", "q"])
        .succeeds();
    for start in [0x4f80_0000u32, 0x4b00_0000] {
        let path = w.join("q/features/aaa/close.day.bin");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[..4].copy_from_slice(&start.to_le_bytes());
        std::fs::write(&path, bytes).unwrap();
        w.cmd("qlib-bin")
            .args(["update", "hist.ndjson", "-o", "q"])
            .fails_with(65)
            .stderr_contains("damaged");
    }
}

#[test]
fn duplicates_merge_field_by_field_in_every_reader_as_in_the_lake() {
    let w = WorkDir::new();
    w.write(
        "dup.ndjson",
        "{\"symbol\":\"AAA\",\"date\":\"2024-01-02\",\"open\":1,\"high\":2,\"low\":0.5,\"close\":1.5,\"adj_close\":1.4,\"volume\":100,\"provider\":\"yahoo\",\"source_ts\":\"2024-01-02T21:00:00Z\"}\n{\"symbol\":\"AAA\",\"date\":\"2024-01-02\",\"provider\":\"yahoo\",\"source_ts\":\"2024-01-05T21:00:00Z\"}\n",
    );
    w.cmd("qlib-bin")
        .args(["all", "--adjust", "none", "dup.ndjson", "-o", "qd"])
        .succeeds();
    w.cmd("to-parquet")
        .args(["dup.ndjson", "--lake", "ld"])
        .succeeds();
    w.cmd("qlib-bin")
        .args(["all", "--adjust", "none", "--lake", "ld", "-o", "ql"])
        .succeeds();
    for q in ["qd", "ql"] {
        let close =
            floats(&std::fs::read(w.join(&format!("{q}/features/aaa/close.day.bin"))).unwrap());
        assert_eq!(close[1..], [1.5], "{q}");
    }
}

#[test]
fn cat_never_passes_on_what_the_contract_refuses_nor_drops_a_column() {
    let w = WorkDir::new();
    let python = tickerlake_tests::venv_python().expect("make venv");
    let script = "import pyarrow as pa, pyarrow.parquet as pq, datetime as d\n\
        b = lambda **k: {**{'symbol': ['AAA'], 'date': pa.array([d.date(2024,1,2)], pa.date32()), 'close': pa.array([1.0]), 'provider': ['yahoo']}, **k}\n\
        pq.write_table(pa.table(b(currency=['US'])), 'cur.parquet')\n\
        pq.write_table(pa.table(b(provider=['Yahoo'])), 'prov.parquet')\n\
        pq.write_table(pa.table(b(close=pa.array([1e13]))), 'big.parquet')\n\
        pq.write_table(pa.table(b(adjclose=pa.array([1.0]))), 'extra.parquet')\n";
    let out = std::process::Command::new(&python)
        .args(["-c", script])
        .current_dir(w.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (file, says) in [
        ("cur.parquet", "currency"),
        ("prov.parquet", "provider"),
        ("big.parquet", "close"),
        ("extra.parquet", "adjclose"),
    ] {
        w.cmd("to-parquet")
            .args(["--cat", file])
            .fails_with(65)
            .stderr_contains(says);
    }
}

#[test]
fn a_qa_check_named_without_its_input_is_a_usage_error_and_valueless_bars_are_findings() {
    let w = WorkDir::new();
    w.write("bars.ndjson", lines(&days("AAA", 5)));
    for (check, needs) in [
        ("coverage", "--universe"),
        ("fetch_error", "--state"),
        ("stock_count", "qa.training.stocks"),
    ] {
        w.cmd("qa-check")
            .args(["bars.ndjson", "--as-of", "2024-01-05", "--checks", check])
            .fails_with(2)
            .stderr_contains(needs);
    }
    w.cmd("qa-check")
        .args(["--as-of", "2024-01-03"])
        .stdin("{\"symbol\":\"AAA\",\"date\":\"2024-01-02\",\"provider\":\"yahoo\"}\n{\"symbol\":\"AAA\",\"date\":\"2024-01-03\",\"provider\":\"yahoo\"}\n")
        .fails_with(65)
        .stderr_contains("not one with a price or a volume");
}

#[test]
fn no_output_lands_on_an_input_the_state_the_lake_or_the_store() {
    let w = WorkDir::new();
    let bars = lines(&days("AAA", 5));
    w.write("bars.ndjson", &bars);
    w.cmd("to-parquet")
        .args(["bars.ndjson", "--lake", "L"])
        .succeeds();
    w.cmd("qlib-bin")
        .args(["all", "bars.ndjson", "-o", "Q"])
        .succeeds();
    let part = "L/symbol=AAA/year=2024/part-0.parquet";
    let cases: Vec<(&str, Vec<&str>)> = vec![
        (
            "qlib-bin",
            vec!["all", "bars.ndjson", "-o", "Q2", "--summary", "bars.ndjson"],
        ),
        (
            "qlib-bin",
            vec![
                "update",
                "bars.ndjson",
                "-o",
                "Q",
                "--summary",
                "Q/calendars/day.txt",
            ],
        ),
        (
            "qlib-bin",
            vec!["all", "--lake", "L", "-o", "Q3", "--summary", part],
        ),
        (
            "qlib-bin",
            vec![
                "all",
                "--lake",
                "L",
                "-o",
                "Q3",
                "--summary",
                "L/.tickerlake-lake.json",
            ],
        ),
        (
            "to-parquet",
            vec!["bars.ndjson", "--lake", "L", "--summary", part],
        ),
        (
            "to-parquet",
            vec!["bars.ndjson", "--lake", "L", "--summary", "L/new.json"],
        ),
        ("qa-check", vec!["--lake", "L", "--summary", part]),
        (
            "ohlcv-fetch",
            vec![
                "--symbols",
                "AAA",
                "--days-back",
                "3",
                "--state",
                "st.json",
                "--errors",
                "st.json",
            ],
        ),
    ];
    w.write("st.json", "{\"version\":1,\"symbols\":{}}");
    for (program, args) in cases {
        w.cmd(program).args(&args).fails_with(2);
    }
    assert_eq!(w.read("bars.ndjson"), bars);
    w.cmd("to-parquet")
        .args(["--cat", "--lake", "L"])
        .succeeds();
    assert_eq!(w.read("st.json"), "{\"version\":1,\"symbols\":{}}");
}

#[test]
fn a_marker_that_is_not_ours_is_no_lake() {
    let w = WorkDir::new();
    w.write("bars.ndjson", lines(&days("AAA", 2)));
    for text in ["{\"format\":\"nope\"}", "", "not json"] {
        std::fs::create_dir_all(w.join("m")).unwrap();
        w.write("m/.tickerlake-lake.json", text);
        w.cmd("to-parquet")
            .args(["--cat", "--lake", "m"])
            .fails_with(66);
        w.cmd("to-parquet")
            .args(["bars.ndjson", "--lake", "m"])
            .fails_with(2);
        assert!(!w.join("m/symbol=AAA").exists());
    }
}

#[test]
fn a_rejected_lines_warning_is_short_whatever_the_line() {
    let w = WorkDir::new();
    w.write(
        "hk.ndjson",
        format!(
            "{{\"symbol\":\"AAA\",\"date\":\"2024-01-02\",\"{}\":1,\"provider\":\"yahoo\"}}\n",
            "x".repeat(900_000)
        ),
    );
    for program in ["to-parquet", "records"] {
        let args: &[&str] = if program == "records" {
            &["check"]
        } else {
            &["-o", "x.parquet"]
        };
        let run = w
            .cmd(program)
            .args(args)
            .args([
                "hk.ndjson",
                "--rejects",
                "rej.ndjson",
                "-v",
                "--log-format",
                "json",
            ])
            .fails_with(1);
        let longest = run.stderr().lines().map(str::len).max().unwrap_or(0);
        assert!(
            longest < 3_000,
            "{program}: a stderr line of {longest} bytes"
        );
    }
}

// ---- a second hostile pass ----

#[test]
fn a_damaged_store_is_refused_before_an_update_writes_anything() {
    let w = WorkDir::new();
    let rows: Vec<serde_json::Value> = ["AAA", "BBB"].iter().flat_map(|s| days(s, 20)).collect();
    w.write("hist.ndjson", lines(&rows));
    w.write("next.ndjson", lines(&days("AAA", 21)[20..]));
    let fresh = |w: &WorkDir| {
        let _ = std::fs::remove_dir_all(w.join("q"));
        w.cmd("qlib-bin")
            .args(["all", "hist.ndjson", "-o", "q"])
            .succeeds();
    };
    type Damage = Box<dyn Fn(&WorkDir)>;
    let damage: Vec<(&str, Damage)> = vec![
        (
            "an empty calendar",
            Box::new(|w: &WorkDir| {
                std::fs::write(w.join("q/calendars/day.txt"), "").unwrap();
            }),
        ),
        (
            "a start index inside the calendar but off the instrument's span",
            Box::new(|w: &WorkDir| {
                let p = w.join("q/features/aaa/close.day.bin");
                let mut b = std::fs::read(&p).unwrap();
                b[..4].copy_from_slice(&15f32.to_le_bytes());
                std::fs::write(&p, b).unwrap();
            }),
        ),
        (
            "values past the calendar without a killed run's marker",
            Box::new(|w: &WorkDir| {
                let p = w.join("q/features/aaa/close.day.bin");
                let mut b = std::fs::read(&p).unwrap();
                b.extend_from_slice(&1f32.to_le_bytes());
                std::fs::write(&p, b).unwrap();
            }),
        ),
        (
            "a calendar with a day cut out",
            Box::new(|w: &WorkDir| {
                let text = w.read("q/calendars/day.txt");
                let kept: String = text
                    .lines()
                    .enumerate()
                    .filter(|(k, _)| *k != 10)
                    .map(|(_, l)| format!("{l}\n"))
                    .collect();
                std::fs::write(w.join("q/calendars/day.txt"), kept).unwrap();
            }),
        ),
        (
            "a file of no whole number of values",
            Box::new(|w: &WorkDir| {
                let p = w.join("q/features/aaa/close.day.bin");
                let mut b = std::fs::read(&p).unwrap();
                b.extend_from_slice(&[0, 0]);
                std::fs::write(&p, b).unwrap();
            }),
        ),
        (
            "an empty feature file",
            Box::new(|w: &WorkDir| {
                std::fs::write(w.join("q/features/aaa/close.day.bin"), b"").unwrap();
            }),
        ),
        (
            "an adjustment state with a zero scale",
            Box::new(|w: &WorkDir| {
                let p = w.join("q/.tickerlake/adjust.json");
                let mut v: serde_json::Value =
                    serde_json::from_str(&w.read("q/.tickerlake/adjust.json")).unwrap();
                v["symbols"]["AAA"]["c0"] = serde_json::json!(0.0);
                std::fs::write(&p, v.to_string()).unwrap();
            }),
        ),
    ];
    for (what, damage) in damage {
        fresh(&w);
        damage(&w);
        let before = std::fs::read(w.join("q/features/bbb/close.day.bin")).unwrap();
        // Refused, and refused again: a refusal leaves no marker for the next run to take for
        // a killed run's leftovers (and cut files to the calendar).
        for _ in 0..2 {
            let run = w
                .cmd("qlib-bin")
                .args(["update", "next.ndjson", "-o", "q"])
                .run();
            assert_eq!(run.code(), Some(65), "{what}: {}", run.stderr());
            assert!(run.stderr().contains("damaged"), "{what}: {}", run.stderr());
            assert!(!w.join("q/.tickerlake/update-under-way").exists(), "{what}");
        }
        assert_eq!(
            std::fs::read(w.join("q/features/bbb/close.day.bin")).unwrap(),
            before,
            "{what}"
        );
    }
}

#[test]
fn an_export_whose_instruments_lost_their_values_never_replaces_a_store() {
    let w = WorkDir::new();
    let rows: Vec<serde_json::Value> = ["AAA", "BBB", "CCC", "DDD"]
        .iter()
        .flat_map(|s| days(s, 20))
        .collect();
    w.write("hist.ndjson", lines(&rows));
    w.cmd("qlib-bin")
        .args(["all", "hist.ndjson", "-o", "q"])
        .succeeds();
    let blank: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if r["symbol"] != "AAA" {
                for f in ["open", "high", "low", "close", "adj_close", "volume"] {
                    r[f] = serde_json::Value::Null;
                }
            }
            r
        })
        .collect();
    w.write("blank.ndjson", lines(&blank));
    w.cmd("qlib-bin")
        .args(["all", "--force", "blank.ndjson", "-o", "q"])
        .fails_with(65)
        .stderr_contains("with a close");
}

#[test]
fn stores_and_summaries_land_nowhere_they_would_replace_data() {
    let w = WorkDir::new();
    w.write("bars.ndjson", lines(&days("AAA", 5)));
    w.cmd("to-parquet")
        .args(["bars.ndjson", "--lake", "lake"])
        .succeeds();
    w.cmd("qlib-bin")
        .args(["all", "--lake", "lake", "-o", "lake/qq"])
        .fails_with(2);
    assert!(!w.join("lake/qq").exists());
    w.cmd("to-parquet")
        .args(["bars.ndjson", "-o", "o.parquet", "--summary", "o.parquet"])
        .fails_with(2)
        .stderr_contains("name the same file");
    w.cmd("replay-server").arg("s3://b/map.yaml").fails_with(2);
    // Nor inside a lake or a store this run creates.
    w.cmd("to-parquet")
        .args(["bars.ndjson", "--lake", "nl", "--summary", "nl/s.json"])
        .fails_with(2);
    w.cmd("to-parquet")
        .args([
            "bars.ndjson",
            "--lake",
            "nl",
            "--rejects",
            "nl/symbol=AAA/x.ndjson",
        ])
        .fails_with(2);
    w.cmd("qlib-bin")
        .args(["all", "bars.ndjson", "-o", "nq", "--summary", "nq/s.json"])
        .fails_with(2);
    assert!(!w.join("nl").exists() && !w.join("nq").exists());
}

#[test]
fn a_stderr_that_cannot_be_written_is_no_panic_and_help_that_cannot_be_is_74() {
    let w = WorkDir::new();
    w.write("empty.ndjson", "");
    let bin = |p: &str| tickerlake_tests::bin(p).display().to_string();
    for (cmd, code) in [
        (
            format!(
                "{} missing.ndjson --log-format json 2>/dev/full",
                bin("qa-check")
            ),
            66,
        ),
        (
            format!(
                "{} empty.ndjson --log-format json 2>/dev/full",
                bin("qa-check")
            ),
            65,
        ),
        (
            format!(
                "{} --cat missing.parquet --log-format text 2>/dev/full",
                bin("to-parquet")
            ),
            66,
        ),
        (format!("{} --help > /dev/full", bin("qlib-bin")), 74),
        (format!("{} --version > /dev/full", bin("records")), 74),
    ] {
        let out = w.bash(&cmd);
        assert_eq!(out.status.code(), Some(code), "{cmd}");
    }
}

#[test]
fn a_usage_error_on_a_json_stream_is_one_json_line() {
    let w = WorkDir::new();
    for program in [
        "qa-check",
        "to-parquet",
        "ohlcv-fetch",
        "records",
        "qlib-bin",
    ] {
        let run = w
            .cmd(program)
            .args(["--log-format", "json", "--no-such-flag"])
            .fails_with(2);
        let text = run.stderr();
        assert_eq!(text.lines().count(), 1, "{program}: {text}");
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["exit_code"], 2);
    }
}

#[test]
fn a_marker_that_is_a_directory_or_a_link_is_no_lake() {
    let w = WorkDir::new();
    w.write("bars.ndjson", lines(&days("AAA", 3)));
    w.cmd("to-parquet")
        .args(["bars.ndjson", "--lake", "g"])
        .succeeds();
    std::fs::remove_file(w.join("g/.tickerlake-lake.json")).unwrap();
    std::fs::create_dir(w.join("g/.tickerlake-lake.json")).unwrap();
    w.cmd("to-parquet")
        .args(["--cat", "--lake", "g"])
        .fails_with(66);
    w.cmd("to-parquet")
        .args(["bars.ndjson", "--lake", "g"])
        .fails_with(2);
    w.cmd("to-parquet")
        .args(["bars.ndjson", "--lake", "i"])
        .succeeds();
    std::fs::remove_file(w.join("i/.tickerlake-lake.json")).unwrap();
    std::os::unix::fs::symlink("/dev/null", w.join("i/.tickerlake-lake.json")).unwrap();
    w.cmd("qa-check").args(["--lake", "i"]).fails_with(66);
    w.write(
        "j/.tickerlake-lake.json",
        "{\"format\":\"tickerlake.lake/1\"}",
    );
    w.cmd("to-parquet")
        .args(["--cat", "--lake", "j"])
        .fails_with(66);
}

#[test]
fn a_run_killed_while_it_marked_a_new_lake_does_not_bar_the_next() {
    // The marker's temporary file is all a run killed at that moment leaves behind.
    let w = WorkDir::new();
    w.write("fresh/..tickerlake-lake.json.j7x0Ri.tmp", "{");
    w.write(
        "bars.ndjson",
        "{\"symbol\":\"AAA\",\"date\":\"2024-01-02\",\"close\":1,\"provider\":\"yahoo\"}\n",
    );
    w.cmd("to-parquet")
        .args(["--lake", "fresh", "bars.ndjson"])
        .succeeds();
    assert!(w.join("fresh/.tickerlake-lake.json").is_file());
    // Anything else still bars it.
    w.write("other/notes.txt", "mine");
    w.cmd("to-parquet")
        .args(["--lake", "other", "bars.ndjson"])
        .fails_with(2);
}

#[test]
fn an_empty_input_never_replaces_a_parquet_file_that_holds_data() {
    let w = WorkDir::new();
    let bars = w.write("bars.ndjson", bar("AAPL", "2024-01-02", 185.64));
    w.cmd("to-parquet")
        .arg(&bars)
        .args(["-o", "set.parquet"])
        .succeeds();
    let before = std::fs::read(w.join("set.parquet")).unwrap();
    w.cmd("to-parquet")
        .args(["-o", "set.parquet"])
        .stdin("")
        .run()
        .code_is(65)
        .stderr_contains("an empty input never replaces a file that holds data");
    assert_eq!(std::fs::read(w.join("set.parquet")).unwrap(), before);
    // A new file may be empty: that replaces nothing.
    w.cmd("to-parquet")
        .args(["-o", "empty.parquet"])
        .stdin("")
        .succeeds();
}
