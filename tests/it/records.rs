//! The record contracts through a real binary (`records check`).

use tickerlake::records::{Action, Bar, FetchError, Finding, Kind, Ticker};
use tickerlake_tests::{WorkDir, fixture, ndjson_values, shared, venv_python};

#[test]
fn every_record_kind_round_trips_byte_for_byte() {
    let w = WorkDir::new();
    for kind in ["tickers", "bars", "actions", "findings", "errors"] {
        let rel = format!("records/{kind}.ndjson");
        let input = std::fs::read_to_string(fixture(&rel)).unwrap();
        w.cmd("records")
            .args(["check", "--kind", kind])
            .stdin_fixture(&rel)
            .succeeds()
            .stderr_is_empty()
            .stdout_is(&input);
    }
}

#[test]
fn prices_keep_their_digits_and_nulls_survive() {
    let w = WorkDir::new();
    let line = r#"{"symbol":"AAPL","date":"2020-08-31","open":127.58,"high":131.0,"low":126.00,"close":129.04,"adj_close":125.82674,"volume":225702700.0,"provider":"yahoo","source_ts":"2025-02-20T06:47:42-05:00"}
{"symbol":"X","date":"2024-01-02","open":null,"close":"0.1","provider":"stooq"}
"#;
    let run = w.cmd("records").args(["check"]).stdin(line).succeeds();
    assert_eq!(
        run.stdout(),
        r#"{"symbol":"AAPL","date":"2020-08-31","open":127.58,"high":131,"low":126,"close":129.04,"adj_close":125.82674,"volume":225702700,"provider":"yahoo","source_ts":"2025-02-20T11:47:42Z"}
{"symbol":"X","date":"2024-01-02","open":null,"high":null,"low":null,"close":0.1,"adj_close":null,"volume":null,"provider":"stooq","source_ts":null}
"#
    );
}

#[test]
fn bad_input_names_file_line_field_and_exits_65() {
    let w = WorkDir::new();
    let good = std::fs::read_to_string(fixture("records/bars.ndjson")).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    let bad = lines[2].replace("\"open\":137.59", "\"open\":\"n/a\"");
    lines[2] = &bad;
    let input = w.write("in/bars.ndjson", lines.join("\n") + "\n");
    w.cmd("records")
        .args(["check", "--kind", "bars", "--log-format", "text"])
        .arg(&input)
        .fails_with(65)
        .stderr_contains(&format!("records: {}:3: open: ", input.display()))
        .stderr_contains("expected a decimal number");

    // Unknown key, missing key, bad date, path-unsafe symbol: each named.
    for (line, want) in [
        (
            r#"{"symbol":"A","date":"2024-01-02","adjclose":1,"provider":"p"}"#,
            "<stdin>:1: adjclose: unknown field",
        ),
        (
            r#"{"symbol":"A","provider":"p"}"#,
            "<stdin>:1: date: missing (required)",
        ),
        (
            r#"{"symbol":"A","date":"02/01/2024","provider":"p"}"#,
            "<stdin>:1: date: expected a date as YYYY-MM-DD",
        ),
        (
            r#"{"symbol":"../etc","date":"2024-01-02","provider":"p"}"#,
            "<stdin>:1: symbol: symbol \"../etc\" holds '/'",
        ),
        ("{\"symbol\":\"A\",", "<stdin>:1: invalid JSON"),
    ] {
        w.cmd("records")
            .args(["check", "--log-format", "text"])
            .stdin(format!("{line}\n"))
            .fails_with(65)
            .stderr_contains(want);
    }
}

#[test]
fn json_logs_carry_the_error_and_run_id() {
    let w = WorkDir::new();
    let run = w
        .cmd("records")
        .args(["check", "--log-format", "json"])
        .env("RUN_ID", "nightly-42")
        .stdin("{\"symbol\":\"A\"}\n")
        .fails_with(65);
    let logs = ndjson_values(&run.stderr());
    let last = logs.last().unwrap();
    assert_eq!(last["level"], "error");
    assert_eq!(last["program"], "records");
    assert_eq!(last["run_id"], "nightly-42");
    assert_eq!(last["exit_code"], 65);
    assert!(
        last["msg"]
            .as_str()
            .unwrap()
            .contains("<stdin>:1: date: missing"),
        "{last}"
    );
    assert!(last["ts"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn rejects_keep_bad_lines_and_the_run_goes_on() {
    let w = WorkDir::new();
    let input = "{\"symbol\":\"A\",\"date\":\"2024-01-02\",\"provider\":\"p\"}\nnot json at all\n{\"symbol\":\"a\",\"date\":\"2024-01-02\",\"provider\":\"p\"}\n{\"symbol\":\"B\",\"date\":\"2024-01-03\",\"provider\":\"p\"}\n";
    let run = w
        .cmd("records")
        .args([
            "check",
            "--rejects",
            "rejects.ndjson",
            "--log-format",
            "text",
        ])
        .stdin(input)
        .fails_with(1)
        .stderr_contains("<stdin>:2: invalid JSON")
        .stderr_contains("<stdin>:3: symbol:");
    assert_eq!(ndjson_values(&run.stdout()).len(), 2);
    assert_eq!(
        w.read("rejects.ndjson"),
        "not json at all\n{\"symbol\":\"a\",\"date\":\"2024-01-02\",\"provider\":\"p\"}\n"
    );
}

#[test]
fn a_failed_run_leaves_the_previous_output_intact() {
    let w = WorkDir::new();
    w.write("clean.ndjson", "previous good data\n");
    w.cmd("records")
        .args(["check", "-o", "clean.ndjson"])
        .stdin("{\"symbol\":\"A\",\"date\":\"2024-01-02\",\"provider\":\"p\"}\n{oops\n")
        .fails_with(65);
    assert_eq!(w.read("clean.ndjson"), "previous good data\n");
    let leftovers: Vec<_> = std::fs::read_dir(w.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers.len(),
        1,
        "temporary files left behind: {leftovers:?}"
    );

    w.cmd("records")
        .args(["check", "-o", "clean.ndjson"])
        .stdin_fixture("records/bars.ndjson")
        .succeeds()
        .stdout_is("");
    assert_eq!(
        w.read("clean.ndjson"),
        std::fs::read_to_string(fixture("records/bars.ndjson")).unwrap()
    );
}

#[test]
fn pass_through_mode_preserves_unknown_keys() {
    let w = WorkDir::new();
    let line =
        "{\"symbol\":\"AAPL\",\"exchange\":\"XNAS\",\"my_score\":0.93,\"tags\":[\"core\"]}\n";
    w.cmd("records")
        .args(["check", "--kind", "tickers"])
        .stdin(line)
        .fails_with(65)
        .stderr_contains("my_score: unknown field");
    let run = w
        .cmd("records")
        .args(["check", "--kind", "tickers", "--keep-unknown"])
        .stdin(line)
        .succeeds();
    let v = &ndjson_values(&run.stdout())[0];
    assert_eq!(v["my_score"], 0.93);
    assert_eq!(v["tags"][0], "core");
    assert_eq!(v["status"], "active");
}

#[test]
fn missing_input_is_66_and_bad_usage_is_2() {
    let w = WorkDir::new();
    w.cmd("records")
        .args(["check", "--rejects", "-"])
        .stdin("")
        .fails_with(2)
        .stderr_contains("must be different places");
    w.cmd("records")
        .args(["check", "--rejects", "x.ndjson", "-o", "x.ndjson"])
        .stdin("")
        .fails_with(2);
    std::fs::create_dir(w.join("adir")).unwrap();
    w.cmd("records").args(["check", "adir"]).fails_with(66);
    w.cmd("records")
        .args(["check", "nope.ndjson", "--log-format", "text"])
        .fails_with(66)
        .stderr_contains("nope.ndjson");
    w.cmd("records")
        .args(["check", "--kind", "candles"])
        .fails_with(2);
    w.cmd("records").args(["frobnicate"]).fails_with(2);
}

#[test]
fn schemas_in_docs_are_generated_from_the_types() {
    let w = WorkDir::new();
    w.cmd("records").args(["schema", "--dir", "."]).succeeds();
    for kind in Kind::ALL {
        let name = format!("{}.schema.json", kind.name());
        let generated = w.read(&name);
        let committed = std::fs::read_to_string(
            tickerlake_tests::repo_root()
                .join("docs/schemas")
                .join(&name),
        )
        .unwrap_or_else(|_| panic!("docs/schemas/{name} missing: run `make schemas`"));
        assert_eq!(
            generated, committed,
            "docs/schemas/{name} is stale: run `make schemas`"
        );
    }
    let run = w
        .cmd("records")
        .args(["schema", "--kind", "bars"])
        .succeeds();
    let schema: serde_json::Value = serde_json::from_str(&run.stdout()).unwrap();
    assert!(schema["properties"]["adj_close"].is_object());
    assert!(
        schema["required"]
            .as_array()
            .unwrap()
            .contains(&"provider".into())
    );
}

#[test]
fn generated_bars_pass_the_contract_and_round_trip() {
    let Some(python) = venv_python() else {
        panic!("no .venv: run `make venv` (make test does)");
    };
    let w = WorkDir::new();
    let out = std::process::Command::new(python)
        .arg(shared("bench/gen_bars.py"))
        .args([
            "--symbols",
            "40",
            "--days",
            "300",
            "--seed",
            "7",
            "--inject-faults",
            "-o",
        ])
        .arg(w.join("bars.ndjson"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let input = w.read("bars.ndjson");
    let run = w
        .cmd("records")
        .args(["check", "bars.ndjson"])
        .succeeds()
        .stderr_is_empty();
    let parse = |text: &str| -> Vec<Bar> {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let (before, after) = (parse(&input), parse(&run.stdout()));
    assert!(before.len() > 11_000, "{} bars", before.len());
    assert_eq!(before, after, "every value survives, nulls included");
    assert!(
        before.iter().any(|b| b.close.is_none() || b.open.is_none()),
        "the faults include nulls"
    );
    // Canonical text is a fixed point.
    w.cmd("records")
        .arg("check")
        .stdin(run.stdout())
        .succeeds()
        .stdout_is(&run.stdout());
}

#[test]
fn types_cover_the_fixture_kinds() {
    // The fixtures parse with the library types too (guards the fixtures themselves).
    let read = |k: &str| std::fs::read_to_string(fixture(&format!("records/{k}.ndjson"))).unwrap();
    for l in read("tickers").lines() {
        serde_json::from_str::<Ticker>(l).unwrap();
    }
    for l in read("actions").lines() {
        serde_json::from_str::<Action>(l).unwrap();
    }
    for l in read("findings").lines() {
        serde_json::from_str::<Finding>(l).unwrap();
    }
    for l in read("errors").lines() {
        serde_json::from_str::<FetchError>(l).unwrap();
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 48, ..Default::default() })]
    /// Arbitrary bytes into the real binary: a verdict (0 or 65), never a panic (101) or a hang.
    #[test]
    fn arbitrary_input_gets_a_verdict_never_a_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
        let w = WorkDir::new();
        let run = w.cmd("records").args(["check", "--log-format", "text"]).stdin(bytes).run();
        proptest::prop_assert!(matches!(run.code(), Some(0) | Some(65)), "exit {:?}: {}", run.code(), run.stderr());
    }
}

#[test]
fn dev_stdout_appends_to_a_redirected_file_instead_of_replacing_it() {
    let w = WorkDir::new();
    w.write("log.ndjson", "kept\n");
    let script = format!(
        "'{}' check --kind actions -o /dev/stdout < '{}' >> log.ndjson",
        tickerlake_tests::bin("records").display(),
        fixture("records/actions.ndjson").display()
    );
    let out = w.bash(&script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let actions = std::fs::read_to_string(fixture("records/actions.ndjson")).unwrap();
    assert_eq!(w.read("log.ndjson"), format!("kept\n{actions}"));
}

#[test]
fn device_outputs_are_written_not_replaced() {
    let w = WorkDir::new();
    let before = std::fs::metadata("/dev/null").unwrap();
    w.cmd("records")
        .args(["check", "--rejects", "/dev/null"])
        .stdin("{\"symbol\":\"A\",\"date\":\"2024-01-02\",\"provider\":\"p\"}\nbad\n")
        .fails_with(1);
    let after = std::fs::metadata("/dev/null").unwrap();
    use std::os::unix::fs::FileTypeExt;
    assert!(after.file_type().is_char_device(), "/dev/null was replaced");
    assert_eq!(
        std::os::unix::fs::MetadataExt::rdev(&before),
        std::os::unix::fs::MetadataExt::rdev(&after)
    );
}

#[test]
fn threads_change_nothing_but_speed() {
    let w = WorkDir::new();
    let line = std::fs::read_to_string(fixture("records/bars.ndjson")).unwrap();
    // ~3 MB: several chunks per worker, with bad lines in different chunks.
    let mut lines: Vec<String> = line.repeat(2_000).lines().map(str::to_string).collect();
    lines[7_001] = "{\"symbol\":\"A\"}".into();
    lines[15_999] = "garbage".into();
    let input = w.write("in.ndjson", lines.join("\n") + "\n");
    let run = |threads: &str, rejects: &str| {
        w.cmd("records")
            .args([
                "check",
                "--threads",
                threads,
                "--rejects",
                rejects,
                "--log-format",
                "text",
            ])
            .arg(&input)
            .fails_with(1)
    };
    let one = run("1", "r1.ndjson");
    let four = run("4", "r4.ndjson");
    assert_eq!(one.stdout(), four.stdout());
    assert_eq!(one.stderr().lines().count(), 2);
    assert_eq!(w.read("r1.ndjson"), w.read("r4.ndjson"));
    assert_eq!(w.read("r1.ndjson"), "{\"symbol\":\"A\"}\ngarbage\n");
    for threads in ["1", "3"] {
        w.cmd("records")
            .args(["check", "--threads", threads, "--log-format", "text"])
            .arg(&input)
            .fails_with(65)
            .stderr_contains(&format!(
                "{}:7002: date: missing (required)",
                input.display()
            ));
    }
}
