//! Golden `--help` texts: every program's help (and each subcommand's) is pinned in
//! `tests/golden/help/`, so a change to a flag, a default or an example shows up in review.
//! `TICKERLAKE_BLESS=1 cargo test help` rewrites the files from the programs; nothing else
//! ever does.

use tickerlake_tests::{WorkDir, repo_root};

/// (file name, program, arguments before `--help`).
const HELPS: [(&str, &str, &[&str]); 18] = [
    ("ohlcv-fetch", "ohlcv-fetch", &[]),
    ("to-parquet", "to-parquet", &[]),
    ("qa-check", "qa-check", &[]),
    ("qlib-bin", "qlib-bin", &[]),
    ("qlib-bin-all", "qlib-bin", &["all"]),
    ("qlib-bin-update", "qlib-bin", &["update"]),
    ("tickers-scrape", "tickers-scrape", &[]),
    ("tickers-filter", "tickers-filter", &[]),
    ("records", "records", &[]),
    ("records-check", "records", &["check"]),
    ("records-schema", "records", &["schema"]),
    ("replay-server", "replay-server", &[]),
    ("run-record", "run-record", &[]),
    ("run-record-step", "run-record", &["step"]),
    ("run-record-end", "run-record", &["end"]),
    ("run-record-alert", "run-record", &["alert"]),
    ("lake-status", "lake-status", &[]),
    ("docgen", "docgen", &[]),
];

#[test]
fn every_programs_help_is_the_golden_one() {
    let w = WorkDir::new();
    let bless = std::env::var_os("TICKERLAKE_BLESS").is_some_and(|v| v == "1");
    let dir = repo_root().join("tests/golden/help");
    let mut stale = Vec::new();
    for (name, program, args) in HELPS {
        let run = w
            .cmd(program)
            .args(args)
            .arg("--help")
            .env("COLUMNS", "100")
            .succeeds();
        let text = run.stdout();
        let path = dir.join(format!("{name}.txt"));
        if bless {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &text).unwrap();
            continue;
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_default();
        if golden != text {
            let first = golden
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(golden.lines().count().min(text.lines().count()));
            stale.push(format!(
                "{name}: differs from line {}:\n  golden: {:?}\n  now:    {:?}",
                first + 1,
                golden.lines().nth(first).unwrap_or(""),
                text.lines().nth(first).unwrap_or("")
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "help texts changed (review, then TICKERLAKE_BLESS=1 cargo test help):\n{}",
        stale.join("\n")
    );
}
