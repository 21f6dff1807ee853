//! Conventions every program shares: help with examples, version, quiet success, closed pipes,
//! config errors.

use tickerlake_tests::{WorkDir, bin, fixture};

#[test]
fn help_has_examples_and_version_prints() {
    let w = WorkDir::new();
    for prog in [
        "ohlcv-fetch",
        "qa-check",
        "qlib-bin",
        "records",
        "replay-server",
        "tickers-filter",
        "tickers-scrape",
        "to-parquet",
        "run-record",
        "docgen",
    ] {
        w.cmd(prog)
            .arg("--help")
            .succeeds()
            .stdout_contains("Examples:");
        w.cmd(prog)
            .arg("--version")
            .succeeds()
            .stdout_contains(env!("CARGO_PKG_VERSION"));
        w.cmd(prog).arg("-h").succeeds();
    }
}

/// `prog … | head -1` under `set -o pipefail` exits 0: a closed pipe is success.
#[test]
fn closed_pipe_is_success() {
    let w = WorkDir::new();
    // Big enough to overflow the pipe buffer, so the writer really meets the closed pipe.
    let line = std::fs::read_to_string(fixture("records/bars.ndjson")).unwrap();
    let big = line.repeat(20_000);
    let input = w.write("big.ndjson", big);
    let script = format!(
        "set -euo pipefail; '{}' check '{}' | head -1 > first.ndjson; echo done",
        bin("records").display(),
        input.display()
    );
    let out = w.bash(&script);
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "done\n");
    assert!(
        out.stderr.is_empty(),
        "a closed pipe must be silent: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        w.read("first.ndjson"),
        format!("{}\n", line.lines().next().unwrap())
    );

    // The lake read back, cut short.
    let script = format!(
        "set -euo pipefail; '{tp}' '{input}' --lake lake; '{tp}' --cat --lake lake | head -1 > first-cat.ndjson",
        tp = bin("to-parquet").display(),
        input = w.write("some.ndjson", line.repeat(2_000)).display()
    );
    let out = w.bash(&script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.read("first-cat.ndjson").lines().count(), 1);

    // Findings cut short: 20,000 zero-volume days, one finding each.
    let zero: String = (0..20_000)
        .map(|i| {
            let d = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + chrono::Days::new(i);
            format!(
                "{{\"symbol\":\"Z\",\"date\":\"{d}\",\"open\":1,\"high\":1,\"low\":1,\"close\":1,\"adj_close\":1,\"volume\":0,\"provider\":\"yahoo\"}}\n"
            )
        })
        .collect();
    let script = format!(
        "set -euo pipefail; '{}' --checks zero_volume '{}' | head -1 > first-finding.ndjson",
        bin("qa-check").display(),
        w.write("zero.ndjson", zero).display()
    );
    let out = w.bash(&script);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(w.read("first-finding.ndjson").contains("zero_volume"));

    // --help | head too.
    let script = format!(
        "set -euo pipefail; '{}' --help | head -1 >/dev/null",
        bin("records").display()
    );
    let out = w.bash(&script);
    assert!(out.status.success());
}

#[test]
fn broken_config_is_78_naming_file_and_key() {
    let w = WorkDir::new();
    w.write("bad.yaml", "fetch:\n  workers: 0\n");
    w.cmd("records")
        .args(["check", "--config", "bad.yaml", "--log-format", "text"])
        .stdin("")
        .fails_with(78)
        .stderr_contains("bad.yaml: fetch.workers: 0 is out of range");
    w.write("config.yaml", "fetch:\n  wrokers: 3\n");
    w.cmd("records")
        .args(["check", "--log-format", "text"])
        .stdin("")
        .fails_with(78)
        .stderr_contains("config.yaml: fetch.wrokers: unknown setting");
    w.write(
        "secret.yaml",
        "providers:\n  polygon:\n    api_key: ${TL_TEST_KEY}\n",
    );
    w.cmd("records")
        .args(["check", "--config", "secret.yaml", "--log-format", "text"])
        .stdin("")
        .fails_with(78)
        .stderr_contains("TL_TEST_KEY is not set");
    w.cmd("records")
        .args(["check", "--config", "missing.yaml"])
        .stdin("")
        .fails_with(78);
    // The repository's own config.yaml loads.
    w.cmd("records")
        .args(["check", "--config"])
        .arg(tickerlake_tests::repo_root().join("config.yaml"))
        .stdin("")
        .succeeds()
        .stderr_is_empty();
}

#[test]
fn secrets_are_never_printed() {
    let w = WorkDir::new();
    w.write(
        "c.yaml",
        "providers:\n  polygon:\n    api_key: ${TL_TEST_KEY}\nfetch:\n  workers: 999\n",
    );
    let run = w
        .cmd("records")
        .args([
            "check",
            "--config",
            "c.yaml",
            "-vvv",
            "--log-format",
            "text",
        ])
        .env("TL_TEST_KEY", "sk-live-0123456789")
        .stdin("")
        .fails_with(78);
    assert!(!run.stderr().contains("sk-live"), "{}", run.stderr());
}

#[test]
fn verbose_logs_go_to_stderr_and_quiet_success_is_silent() {
    let w = WorkDir::new();
    let run = w
        .cmd("records")
        .args(["check", "-v", "--log-format", "text"])
        .stdin_fixture("records/bars.ndjson")
        .succeeds();
    assert!(
        run.stderr().contains("INFO  records: checked"),
        "{}",
        run.stderr()
    );
    assert!(run.stderr().contains("records=8"), "{}", run.stderr());
    w.cmd("records")
        .args(["check"])
        .stdin_fixture("records/bars.ndjson")
        .succeeds()
        .stderr_is_empty();
}

/// A bad line from a producer that keeps its pipe open: the program reports it and exits at
/// once instead of waiting for the producer to close. (Output is block-buffered, as for grep.)
#[test]
fn streams_without_waiting_for_the_producer() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    for threads in ["1", "2"] {
        let mut child = Command::new(bin("records"))
            .args(["check", "--threads", threads, "--log-format", "text"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"{\"symbol\":\"A\",\"date\":\"2024-01-02\",\"provider\":\"p\"}\n{\"symbol\":\"A\"}\n").unwrap();
        stdin.flush().unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "threads={threads}: still waiting for more input"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        drop(stdin);
        assert_eq!(status.code(), Some(65), "threads={threads}");
        let mut out = String::new();
        std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
        assert_eq!(
            out.lines().count(),
            1,
            "the good line before the bad one is written"
        );
    }
}

/// flag > environment > config file > default, shown on the log format and level.
#[test]
fn flag_beats_environment_beats_config_file() {
    let w = WorkDir::new();
    w.write("config.yaml", "logging:\n  format: text\n  level: info\n");
    let bars = || {
        w.cmd("records")
            .arg("check")
            .stdin_fixture("records/bars.ndjson")
    };
    // The config file: text lines at info level (stderr is a pipe, where the default is JSON).
    let run = bars().succeeds();
    assert!(
        run.stderr().contains("INFO  records: checked"),
        "{}",
        run.stderr()
    );
    // The environment beats the file.
    let run = bars().env("TICKERLAKE_LOG_FORMAT", "json").succeeds();
    assert!(run.stderr().starts_with("{\"ts\":"), "{}", run.stderr());
    // The flag beats the environment; -q beats the configured level.
    bars()
        .env("TICKERLAKE_LOG_FORMAT", "json")
        .args(["--log-format", "text", "-q"])
        .succeeds()
        .stderr_is_empty();
    let run = bars()
        .env("TICKERLAKE_LOG_FORMAT", "json")
        .args(["--log-format", "text"])
        .succeeds();
    assert!(
        run.stderr().contains("INFO  records: checked"),
        "{}",
        run.stderr()
    );
    // TICKERLAKE_CONFIG picks another file; --config beats it.
    w.write("other.yaml", "logging:\n  level: error\n");
    bars()
        .env("TICKERLAKE_CONFIG", "other.yaml")
        .succeeds()
        .stderr_is_empty();
    let run = bars()
        .env("TICKERLAKE_CONFIG", "other.yaml")
        .args(["--config", "config.yaml"])
        .succeeds();
    assert!(
        run.stderr().contains("records: checked"),
        "{}",
        run.stderr()
    );
}

/// A side output (`--summary`, `--report`, `--delta`) is a file: `-` would put a JSON document
/// in the middle of the records on stdout. Refused before any work, exit 2.
#[test]
fn side_outputs_are_files_never_stdout() {
    let w = WorkDir::new();
    for (prog, args) in [
        ("ohlcv-fetch", &["--symbols", "AAPL", "--summary", "-"][..]),
        ("qa-check", &["--summary", "-", "x.ndjson"][..]),
        (
            "qlib-bin",
            &["all", "x.ndjson", "-o", "q", "--summary", "/dev/stdout"][..],
        ),
        (
            "to-parquet",
            &["x.ndjson", "-o", "x.parquet", "--summary", "-"][..],
        ),
        ("tickers-scrape", &["watchlist", "--summary", "-"][..]),
        ("tickers-filter", &["--report", "-"][..]),
        (
            "tickers-filter",
            &["--previous", "p.ndjson", "--delta", "-"][..],
        ),
    ] {
        w.cmd(prog)
            .args(args)
            .stdin("")
            .fails_with(2)
            .stderr_contains("a file (stdout carries the records)");
    }
}
