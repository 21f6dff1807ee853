//! What every program does alike: the same failure gives the same exit code in each, the bar
//! filter flags choose the same bars in each reader, and a URL where a local path is expected
//! is a usage error before anything is touched.

use tickerlake_tests::WorkDir;

const BAR: &str = "{\"symbol\":\"AAA\",\"date\":\"2024-01-02\",\"open\":10,\"high\":11,\"low\":9,\"close\":10.5,\"adj_close\":10.5,\"volume\":1000,\"provider\":\"yahoo\",\"source_ts\":null}\n";

/// Each program's command that reads the lake at `lake`.
fn lake_readers(lake: &str) -> Vec<(&'static str, Vec<String>)> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        ("to-parquet", s(&["--cat", "--lake", lake])),
        ("qa-check", s(&["--lake", lake, "--as-of", "2024-01-02"])),
        ("qlib-bin", s(&["all", "-o", "q", "--lake", lake])),
        (
            "ohlcv-fetch",
            s(&[
                "--symbols",
                "AAA",
                "--since-lake",
                lake,
                "--base-url",
                "http://127.0.0.1:9",
            ]),
        ),
    ]
}

#[test]
fn the_same_failure_exits_with_the_same_code_in_every_program() {
    let w = WorkDir::new();
    w.write("bars.ndjson", BAR);
    w.cmd("to-parquet")
        .args(["--lake", "lake", "bars.ndjson"])
        .succeeds();
    // A missing input file: 66.
    for (program, args) in [
        ("to-parquet", vec!["-o", "x.parquet", "missing.ndjson"]),
        ("qa-check", vec!["missing.ndjson"]),
        ("qlib-bin", vec!["all", "-o", "q", "missing.ndjson"]),
        ("ohlcv-fetch", vec!["missing.ndjson", "--days-back", "3"]),
        ("records", vec!["check", "missing.ndjson"]),
        ("tickers-scrape", vec!["sec", "--input", "missing.json"]),
    ] {
        let run = w.cmd(program).args(&args).run();
        assert_eq!(run.code(), Some(66), "{program} {args:?}: {}", run.stderr());
    }
    // A missing lake, and a directory that is not one: 66.
    std::fs::create_dir_all(w.join("not_a_lake/x")).unwrap();
    for lake in ["no_such_lake", "not_a_lake"] {
        for (program, args) in lake_readers(lake) {
            let run = w.cmd(program).args(&args).run();
            assert_eq!(run.code(), Some(66), "{program} {args:?}: {}", run.stderr());
        }
    }
    // A lake whose partition is not Parquet: bad data, 65, in every reader.
    let part = w.join("lake/symbol=AAA/year=2024/part-0.parquet");
    let good = std::fs::read(&part).unwrap();
    std::fs::write(&part, b"not parquet at all").unwrap();
    for (program, args) in lake_readers("lake") {
        let run = w.cmd(program).args(&args).run();
        assert_eq!(run.code(), Some(65), "{program} {args:?}: {}", run.stderr());
    }
    std::fs::write(&part, good).unwrap();
    // A configuration that does not load: 78; an unknown flag: 2.
    w.write("bad.yaml", "qa:\n  fail_on: loud\n");
    for program in [
        "to-parquet",
        "qa-check",
        "qlib-bin",
        "ohlcv-fetch",
        "records",
        "tickers-scrape",
    ] {
        let args: &[&str] = match program {
            "qlib-bin" => &["all", "-o", "q", "bars.ndjson"],
            "records" => &["check", "bars.ndjson"],
            "tickers-scrape" => &["sec", "--input", "bars.ndjson"],
            "ohlcv-fetch" => &["--symbols", "AAA", "--days-back", "3"],
            _ => &["bars.ndjson"],
        };
        let run = w
            .cmd(program)
            .args(args)
            .args(["--config", "bad.yaml"])
            .run();
        assert_eq!(run.code(), Some(78), "{program}: {}", run.stderr());
        let run = w.cmd(program).args(args).arg("--no-such-flag").run();
        assert_eq!(run.code(), Some(2), "{program}: {}", run.stderr());
    }
}

#[test]
fn a_url_where_a_local_path_is_expected_is_a_usage_error_and_creates_nothing() {
    // Lakes take s3:// (tests/it/lake_s3.rs); every other path argument is local.
    let w = WorkDir::new();
    w.write("bars.ndjson", BAR);
    for url in [
        "s3://bucket/lake",
        "https://example.invalid/x",
        "file:///tmp/x",
        "gs://b/k",
    ] {
        let cases: Vec<(&str, Vec<&str>)> = vec![
            ("to-parquet", vec!["--lake", url, "bars.ndjson"]),
            ("to-parquet", vec!["-o", url, "bars.ndjson"]),
            ("to-parquet", vec!["--cat", "--lake", url]),
            ("to-parquet", vec![url]),
            (
                "to-parquet",
                vec!["--lake", "lake", "--rejects", url, "bars.ndjson"],
            ),
            ("qa-check", vec!["--lake", url]),
            ("qa-check", vec![url]),
            ("qa-check", vec!["bars.ndjson", "--summary", url]),
            ("qlib-bin", vec!["all", "-o", url, "bars.ndjson"]),
            ("qlib-bin", vec!["update", "-o", "q", "--lake", url]),
            ("ohlcv-fetch", vec!["--symbols", "AAA", "--since-lake", url]),
            ("ohlcv-fetch", vec![url, "--days-back", "3"]),
            (
                "ohlcv-fetch",
                vec!["--symbols", "AAA", "--days-back", "3", "--errors", url],
            ),
            ("records", vec!["check", url]),
            ("tickers-scrape", vec!["sec", "--input", url]),
            (
                "tickers-scrape",
                vec!["sec", "--input", "bars.ndjson", "--status", url],
            ),
            ("records", vec!["check", "bars.ndjson", "-o", url]),
            (
                "to-parquet",
                vec!["--config", url, "bars.ndjson", "-o", "x.parquet"],
            ),
        ];
        for (program, args) in cases {
            let lake_flag = args
                .windows(2)
                .any(|a| (a[0] == "--lake" || a[0] == "--since-lake") && a[1] == url);
            if lake_flag {
                // A lake may be on S3; any other URL is refused as a lake.
                if !url.starts_with("s3://") {
                    w.cmd(program)
                        .args(&args)
                        .fails_with(2)
                        .stderr_contains("a lake is a directory or s3://bucket/prefix");
                }
                continue;
            }
            w.cmd(program)
                .args(&args)
                .fails_with(2)
                .stderr_contains("only local paths");
        }
    }
    let left: Vec<String> = std::fs::read_dir(w.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["bars.ndjson"], "something was created");
}

/// The (symbol, date) pairs of Bar NDJSON.
fn pairs(ndjson: &str) -> std::collections::BTreeSet<(String, String)> {
    tickerlake_tests::ndjson_values(ndjson)
        .iter()
        .map(|v| {
            (
                v["symbol"].as_str().unwrap().to_string(),
                v["date"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_bar_filter_flags_choose_the_same_bars_in_every_reader() {
    let w = WorkDir::new();
    tickerlake_tests::gen_bars(
        &w,
        "bars.ndjson",
        &["--symbols", "6", "--days", "400", "--seed", "3"],
    );
    w.cmd("to-parquet")
        .args(["--lake", "lake", "bars.ndjson"])
        .succeeds();
    let all = pairs(&w.read("bars.ndjson"));
    let symbols: Vec<String> = all.iter().map(|(s, _)| s.clone()).collect();
    let (a, b) = (symbols[0].clone(), symbols.last().unwrap().clone());
    // Across a year boundary, so that year pruning and the in-file date filter both matter.
    let (from, to) = ("2016-11-15", "2017-02-10");
    let filter = [
        "--symbols".to_string(),
        format!("{},{}", a.to_lowercase(), b),
        "--from".into(),
        from.into(),
        "--to".into(),
        to.into(),
    ];
    let wanted: std::collections::BTreeSet<(String, String)> = all
        .iter()
        .filter(|(s, d)| (*s == a || *s == b) && d.as_str() >= from && d.as_str() <= to)
        .cloned()
        .collect();
    assert!(wanted.len() > 80, "{}", wanted.len());

    // to-parquet --cat, from the lake and from a Parquet file.
    let cat = w
        .cmd("to-parquet")
        .args(["--cat", "--lake", "lake"])
        .args(&filter)
        .succeeds();
    assert_eq!(pairs(&cat.stdout()), wanted);
    w.cmd("to-parquet")
        .args(["-o", "bars.parquet", "bars.ndjson"])
        .succeeds();
    let cat = w
        .cmd("to-parquet")
        .args(["--cat", "bars.parquet"])
        .args(&filter)
        .succeeds();
    assert_eq!(pairs(&cat.stdout()), wanted);

    // qa-check counts the rows and symbols it read, from NDJSON and from the lake.
    for source in [&["bars.ndjson"][..], &["--lake", "lake"][..]] {
        w.cmd("qa-check")
            .args(source)
            .args(&filter)
            .args([
                "--checks",
                "duplicate",
                "--as-of",
                to,
                "--summary",
                "qa.json",
            ])
            .succeeds();
        let summary: serde_json::Value = serde_json::from_str(&w.read("qa.json")).unwrap();
        assert_eq!(summary["rows"], wanted.len(), "{source:?}");
        assert_eq!(summary["symbols"], 2, "{source:?}");
    }

    // qlib-bin: the store's calendar and instrument ranges, from NDJSON and from the lake.
    let days: std::collections::BTreeSet<&str> = wanted.iter().map(|(_, d)| d.as_str()).collect();
    for (store, source) in [
        ("q1", &["bars.ndjson"][..]),
        ("q2", &["--lake", "lake"][..]),
    ] {
        w.cmd("qlib-bin")
            .args(["all", "-o", store])
            .args(source)
            .args(&filter)
            .succeeds();
        let calendar = w.read(&format!("{store}/calendars/day.txt"));
        assert_eq!(
            calendar.lines().collect::<std::collections::BTreeSet<_>>(),
            days,
            "{store}"
        );
        let instruments = w.read(&format!("{store}/instruments/all.txt"));
        let names: Vec<&str> = instruments
            .lines()
            .map(|l| l.split('\t').next().unwrap())
            .collect();
        assert_eq!(names, [a.as_str(), b.as_str()], "{store}");
    }
}

#[test]
fn the_bar_filter_flags_without_cat_are_a_usage_error_in_to_parquet() {
    let w = WorkDir::new();
    w.write("bars.ndjson", BAR);
    for flag in [
        ["--symbols", "AAA"],
        ["--from", "2024-01-01"],
        ["--to", "2024-01-01"],
    ] {
        w.cmd("to-parquet")
            .args(["-o", "x.parquet", "bars.ndjson"])
            .args(flag)
            .fails_with(2)
            .stderr_contains("--cat");
        assert!(!w.join("x.parquet").exists());
    }
    // A bad date or an empty symbol is refused by every reader as it is parsed: 2.
    for (program, args) in [
        (
            "to-parquet",
            vec!["--cat", "x.parquet", "--to", "2024-13-01"],
        ),
        ("qa-check", vec!["bars.ndjson", "--to", "2024-13-01"]),
        (
            "qlib-bin",
            vec!["all", "-o", "q", "bars.ndjson", "--to", "yesterday"],
        ),
        ("qa-check", vec!["bars.ndjson", "--symbols", "AAA,,BBB"]),
    ] {
        let run = w.cmd(program).args(&args).run();
        assert_eq!(run.code(), Some(2), "{program} {args:?}: {}", run.stderr());
        assert!(run.stderr().contains("--"), "{}", run.stderr());
    }
    assert!(!w.join("q").exists());
}
