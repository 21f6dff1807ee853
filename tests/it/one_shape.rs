//! What every program does alike: the same failure gives the same exit code in each, and a URL
//! where a local path is expected is a usage error before anything is touched.

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
    ] {
        let args: &[&str] = match program {
            "qlib-bin" => &["all", "-o", "q", "bars.ndjson"],
            "records" => &["check", "bars.ndjson"],
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
            ("records", vec!["check", "bars.ndjson", "-o", url]),
            (
                "to-parquet",
                vec!["--config", url, "bars.ndjson", "-o", "x.parquet"],
            ),
        ];
        for (program, args) in cases {
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
