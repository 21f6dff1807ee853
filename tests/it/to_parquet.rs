//! `to-parquet` through the binary: single file, lake, upserts, --cat, bad input, crashes, and
//! real clients (DuckDB, pyarrow) reading what it wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tickerlake::records::Bar;
use tickerlake_tests::{WorkDir, fixture, gen_bars, venv_python};

fn parse_bars(text: &str) -> Vec<Bar> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Expected lake content, computed independently of the lake crate: one bar per (symbol, date),
/// newest source_ts (null oldest), ties to the later line; sorted by symbol then date.
fn deduped(bars: &[Bar]) -> Vec<Bar> {
    let mut best: BTreeMap<(String, chrono::NaiveDate), (usize, &Bar)> = BTreeMap::new();
    for (i, b) in bars.iter().enumerate() {
        let key = (b.symbol.to_string(), b.date);
        let better = match best.get(&key) {
            None => true,
            Some((_, old)) => {
                (b.source_ts.is_some(), b.source_ts) >= (old.source_ts.is_some(), old.source_ts)
            }
        };
        if better {
            best.insert(key, (i, b));
        }
    }
    best.into_values().map(|(_, b)| b.clone()).collect()
}

/// The lake read back as NDJSON.
fn cat_lake(w: &WorkDir, lake: &str) -> String {
    w.cmd("to-parquet")
        .args(["--cat", "--lake", lake])
        .succeeds()
        .stdout()
}

/// Every file below `root` with its bytes (directories too), sorted.
fn tree(root: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.push((p.clone(), None));
                stack.push(p);
            } else {
                out.push((p.clone(), Some(std::fs::read(&p).unwrap())));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn single_file_round_trips_and_real_clients_read_it() {
    let w = WorkDir::new();
    let input = fixture("records/bars.ndjson");
    for prices in ["decimal", "float64"] {
        let file = format!("bars-{prices}.parquet");
        w.cmd("to-parquet")
            .arg(&input)
            .args(["-o", &file, "--price-type", prices])
            .succeeds()
            .stderr_is_empty();
        let cat = w.cmd("to-parquet").args(["--cat", &file]).succeeds();
        assert_eq!(
            cat.stdout(),
            std::fs::read_to_string(&input).unwrap(),
            "{prices}"
        );
        tickerlake_tests::check_parquet("file", w.join(&file), &input, &[prices], &[]);
    }
}

#[test]
fn lake_from_generated_bars_matches_input_deduped_and_sorted() {
    let w = WorkDir::new();
    // Faults include duplicates with a later source_ts, nulls and gaps.
    let input = gen_bars(
        &w,
        "bars.ndjson",
        &[
            "--symbols",
            "12",
            "--days",
            "600",
            "--seed",
            "3",
            "--inject-faults",
        ],
    );
    let expect = deduped(&parse_bars(&w.read("bars.ndjson")));
    for prices in ["decimal", "float64"] {
        let lake = format!("lake-{prices}");
        w.cmd("to-parquet")
            .arg(&input)
            .args(["--lake", &lake, "--price-type", prices])
            .succeeds()
            .stderr_is_empty();
        let cat = w
            .cmd("to-parquet")
            .args(["--cat", "--lake", &lake])
            .succeeds();
        let got = parse_bars(&cat.stdout());
        assert_eq!(got.len(), expect.len());
        if prices == "decimal" {
            assert_eq!(
                got, expect,
                "--cat of the lake equals the input, deduped and sorted"
            );
        }
        tickerlake_tests::check_parquet("lake", w.join(&lake), &input, &[prices], &[]);
        // Partitions: symbol=<SYM>/year=<YYYY>/part-0.parquet and nothing else.
        for (p, _) in tree(&w.join(&lake)) {
            let rel = p
                .strip_prefix(w.join(&lake))
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if rel == ".tickerlake.lock" || rel == ".tickerlake-lake.json" {
                continue; // the writers' lock and the lake's marker, hidden from readers
            }
            let parts: Vec<&str> = rel.split('/').collect();
            assert!(parts[0].starts_with("symbol="), "{rel}");
            if parts.len() > 1 {
                assert!(parts[1].starts_with("year="), "{rel}");
            }
            if parts.len() > 2 {
                assert_eq!(parts[2], "part-0.parquet", "{rel}");
            }
        }
    }
}

#[test]
fn year_month_lake_reads_the_same() {
    let w = WorkDir::new();
    let input = gen_bars(
        &w,
        "bars.ndjson",
        &["--symbols", "5", "--days", "120", "--seed", "9"],
    );
    w.cmd("to-parquet")
        .arg(&input)
        .args(["--lake", "bymonth", "--partition-by", "year,month"])
        .succeeds();
    assert!(
        w.join("bymonth/year=2016/month=01/part-0.parquet")
            .is_file()
    );
    let cat = w
        .cmd("to-parquet")
        .args(["--cat", "--lake", "bymonth"])
        .succeeds();
    assert_eq!(
        parse_bars(&cat.stdout()),
        deduped(&parse_bars(&w.read("bars.ndjson")))
    );
}

#[test]
fn rerunning_the_same_input_leaves_a_byte_identical_lake() {
    let w = WorkDir::new();
    let input = gen_bars(
        &w,
        "bars.ndjson",
        &[
            "--symbols",
            "8",
            "--days",
            "700",
            "--seed",
            "5",
            "--inject-faults",
        ],
    );
    w.cmd("to-parquet")
        .arg(&input)
        .args(["--lake", "lake"])
        .succeeds();
    let before = tree(&w.join("lake"));
    let run = w
        .cmd("to-parquet")
        .arg(&input)
        .args(["--lake", "lake", "--summary", "s.json"])
        .succeeds();
    assert!(run.stderr().is_empty());
    assert_eq!(tree(&w.join("lake")), before);
    let s: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert_eq!(s["partitions_touched"], 0, "{s}");
    assert!(s["partitions_unchanged"].as_u64().unwrap() > 0, "{s}");
}

#[test]
fn newest_source_ts_wins_and_untouched_partitions_stay() {
    let w = WorkDir::new();
    let first = "{\"symbol\":\"AAPL\",\"date\":\"2024-01-02\",\"close\":185.64,\"provider\":\"yahoo\",\"source_ts\":\"2024-01-02T21:00:00Z\"}\n\
                 {\"symbol\":\"MSFT\",\"date\":\"2024-01-02\",\"close\":370.87,\"provider\":\"yahoo\",\"source_ts\":\"2024-01-02T21:00:00Z\"}\n";
    w.cmd("to-parquet")
        .args(["--lake", "lake"])
        .stdin(first)
        .succeeds();
    let msft = std::fs::read(w.join("lake/symbol=MSFT/year=2024/part-0.parquet")).unwrap();
    let msft_mtime = std::fs::metadata(w.join("lake/symbol=MSFT/year=2024/part-0.parquet"))
        .unwrap()
        .modified()
        .unwrap();
    let later = "{\"symbol\":\"AAPL\",\"date\":\"2024-01-02\",\"close\":185.5,\"provider\":\"yahoo\",\"source_ts\":\"2024-01-01T21:00:00Z\"}\n\
                 {\"symbol\":\"AAPL\",\"date\":\"2024-01-02\",\"close\":185.7,\"provider\":\"yahoo\",\"source_ts\":\"2024-01-03T21:00:00Z\"}\n\
                 {\"symbol\":\"AAPL\",\"date\":\"2024-01-03\",\"close\":184.25,\"provider\":\"yahoo\",\"source_ts\":null}\n";
    w.cmd("to-parquet")
        .args(["--lake", "lake"])
        .stdin(later)
        .succeeds();
    let cat = w
        .cmd("to-parquet")
        .args(["--cat", "--lake", "lake", "--symbols", "AAPL"])
        .succeeds();
    let closes: Vec<String> = parse_bars(&cat.stdout())
        .iter()
        .map(|b| format!("{} {}", b.date, b.close.unwrap()))
        .collect();
    assert_eq!(closes, vec!["2024-01-02 185.7", "2024-01-03 184.25"]);
    assert_eq!(
        std::fs::read(w.join("lake/symbol=MSFT/year=2024/part-0.parquet")).unwrap(),
        msft
    );
    assert_eq!(
        std::fs::metadata(w.join("lake/symbol=MSFT/year=2024/part-0.parquet"))
            .unwrap()
            .modified()
            .unwrap(),
        msft_mtime
    );
    // --from/--to filter.
    let cat = w
        .cmd("to-parquet")
        .args([
            "--cat",
            "--lake",
            "lake",
            "--from",
            "2024-01-03",
            "--to",
            "2024-01-03",
        ])
        .succeeds();
    assert_eq!(parse_bars(&cat.stdout()).len(), 1);
}

#[test]
fn bad_input_stops_before_anything_is_replaced() {
    let w = WorkDir::new();
    let input = gen_bars(
        &w,
        "bars.ndjson",
        &["--symbols", "6", "--days", "300", "--seed", "2"],
    );
    w.cmd("to-parquet")
        .arg(&input)
        .args(["--lake", "lake"])
        .succeeds();
    let before = tree(&w.join("lake"));
    // Rewrite every partition's values, with one bad line near the end.
    let text = w
        .read("bars.ndjson")
        .replace("\"provider\":\"yahoo\"", "\"provider\":\"stooq\"");
    let mut lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    lines[n - 3] = "{\"symbol\":\"ZZZ\",\"date\":\"2024-13-01\",\"provider\":\"stooq\"}";
    let bad = w.write("bad.ndjson", lines.join("\n") + "\n");
    w.cmd("to-parquet")
        .arg(&bad)
        .args(["--lake", "lake", "--log-format", "text"])
        .fails_with(65)
        .stderr_contains(&format!("{}:{}: date: ", bad.display(), n - 2));
    assert_eq!(
        tree(&w.join("lake")),
        before,
        "a failed run leaves the lake untouched"
    );
    // With --rejects the good lines go in and the run says it was partial.
    w.cmd("to-parquet")
        .arg(&bad)
        .args(["--lake", "lake", "--rejects", "rejects.ndjson"])
        .fails_with(1);
    assert_eq!(w.read("rejects.ndjson").lines().count(), 1);
    assert_ne!(tree(&w.join("lake")), before);
    // A single file is not created either.
    w.cmd("to-parquet")
        .arg(&bad)
        .args(["-o", "one.parquet"])
        .fails_with(65);
    assert!(!w.join("one.parquet").exists());
}

#[test]
fn path_unsafe_symbols_cannot_escape_the_lake() {
    let w = WorkDir::new();
    w.cmd("to-parquet")
        .args(["--lake", "lake/inner", "--log-format", "text"])
        .stdin("{\"symbol\":\"../../evil\",\"date\":\"2024-01-02\",\"provider\":\"p\"}\n")
        .fails_with(65)
        .stderr_contains("symbol: symbol \"../../evil\" holds '/'");
    let input = "{\"symbol\":\"CON\",\"date\":\"2024-01-02\",\"close\":1,\"provider\":\"p\"}\n{\"symbol\":\"^GSPC\",\"date\":\"2024-01-02\",\"close\":4742.83,\"provider\":\"p\"}\n";
    w.cmd("to-parquet")
        .args(["--lake", "lake/inner"])
        .stdin(input)
        .succeeds();
    let names: Vec<String> = tree(&w.join("lake"))
        .iter()
        .map(|(p, _)| {
            p.strip_prefix(w.path())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert!(
        names.iter().all(|n| n.starts_with("lake/inner")),
        "{names:?}"
    );
    assert!(
        names.contains(&"lake/inner/symbol=%43ON/year=2024/part-0.parquet".to_string()),
        "{names:?}"
    );
    let cat = w
        .cmd("to-parquet")
        .args(["--cat", "--lake", "lake/inner"])
        .succeeds();
    assert_eq!(cat.stdout().lines().count(), 2);
    assert!(cat.stdout().contains("\"symbol\":\"^GSPC\""));
}

#[test]
fn extra_decimals_are_rounded_half_to_even_or_refused() {
    let w = WorkDir::new();
    let input = "{\"symbol\":\"A\",\"date\":\"2024-01-02\",\"close\":1.0000005,\"open\":2.0000015,\"provider\":\"p\"}\n";
    let run = w
        .cmd("to-parquet")
        .args([
            "-o",
            "a.parquet",
            "--log-format",
            "text",
            "--summary",
            "s.json",
        ])
        .stdin(input)
        .succeeds();
    assert!(
        run.stderr()
            .contains("prices with more than 6 decimals rounded"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr().contains("A 2024-01-02 open=2.0000015"),
        "{}",
        run.stderr()
    );
    let s: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert_eq!(s["prices_rounded"], 2);
    let cat = w.cmd("to-parquet").args(["--cat", "a.parquet"]).succeeds();
    assert!(
        cat.stdout().contains("\"open\":2.000002,") && cat.stdout().contains("\"close\":1,"),
        "{}",
        cat.stdout()
    );
    w.cmd("to-parquet")
        .args(["-o", "b.parquet", "--strict"])
        .stdin(input)
        .fails_with(65);
    assert!(!w.join("b.parquet").exists());
    // Out of range for decimal(18,6): a bar the contract refuses, with its line, in one file as
    // in the lake (with --rejects it is rejected like any other bad line).
    w.cmd("to-parquet")
        .args(["-o", "c.parquet", "--log-format", "text", "--rejects", "r.ndjson"])
        .stdin("not json\n{\"symbol\":\"A\",\"date\":\"2024-01-02\",\"close\":1,\"provider\":\"p\"}\n{\"symbol\":\"A\",\"date\":\"2024-01-03\",\"close\":1e13,\"provider\":\"p\"}\n")
        .fails_with(1)
        .stderr_contains("<stdin>:3: close: expected a price with at most 12 digits");
    assert_eq!(w.read("r.ndjson").lines().count(), 2);
    w.cmd("to-parquet")
        .args(["-o", "d.parquet", "--log-format", "text"])
        .stdin("{\"symbol\":\"A\",\"date\":\"2024-01-03\",\"close\":1e13,\"provider\":\"p\"}\n")
        .fails_with(65)
        .stderr_contains("<stdin>:1: close: ");
    assert!(!w.join("d.parquet").exists());
    w.cmd("to-parquet")
        .args(["--lake", "lake", "--log-format", "text"])
        .stdin("{\"symbol\":\"A\",\"date\":\"2024-01-02\",\"close\":1e13,\"provider\":\"p\"}\n")
        .fails_with(65)
        .stderr_contains("<stdin>:1: close: ");
}

#[test]
fn csv_input_gives_the_same_lake() {
    let w = WorkDir::new();
    let csv = gen_bars(
        &w,
        "bars.csv",
        &[
            "--symbols",
            "4",
            "--days",
            "200",
            "--seed",
            "4",
            "--format",
            "csv",
            "--inject-faults",
        ],
    );
    let ndjson = gen_bars(
        &w,
        "bars.ndjson",
        &[
            "--symbols",
            "4",
            "--days",
            "200",
            "--seed",
            "4",
            "--inject-faults",
        ],
    );
    w.cmd("to-parquet")
        .arg(&csv)
        .args(["--input-format", "csv", "--lake", "from-csv"])
        .succeeds();
    w.cmd("to-parquet")
        .arg(&ndjson)
        .args(["--lake", "from-ndjson"])
        .succeeds();
    let a = cat_lake(&w, "from-csv");
    let b = cat_lake(&w, "from-ndjson");
    assert_eq!(a, b);
    // Rejected rows keep the header, so the rejects file can be fixed and fed again.
    w.write(
        "mixed.csv",
        "symbol,date,close,provider\nA,2024-01-02,1.5,p\nA,2024-13-02,1.5,p\nB,2024-01-02,x,p\n",
    );
    w.cmd("to-parquet")
        .args([
            "mixed.csv",
            "--input-format",
            "csv",
            "-o",
            "m.parquet",
            "--rejects",
            "bad-rows.csv",
        ])
        .fails_with(1);
    assert_eq!(
        w.read("bad-rows.csv"),
        "symbol,date,close,provider\nA,2024-13-02,1.5,p\nB,2024-01-02,x,p\n"
    );
    // Rows a CSV parser chokes on (too few or too many fields, bytes that are not UTF-8) are
    // set aside whole too, with their line.
    w.write(
        "ragged.csv",
        b"symbol,date,close,provider\nA,2024-01-02,1.5,p\nA,2024-01-03,1.5\nA,2024-01-04,1.5,p,extra\nA,2024-01-05,1.5,\xffp\nA,2024-01-08,1.6,p\n",
    );
    w.cmd("to-parquet")
        .args([
            "ragged.csv",
            "--input-format",
            "csv",
            "-o",
            "r.parquet",
            "--rejects",
            "ragged-rows.csv",
            "--log-format",
            "text",
        ])
        .fails_with(1)
        .stderr_contains("ragged.csv:3")
        .stderr_contains("3 fields, the header has 4");
    assert_eq!(
        std::fs::read(w.join("ragged-rows.csv")).unwrap(),
        b"symbol,date,close,provider\nA,2024-01-03,1.5\nA,2024-01-04,1.5,p,extra\nA,2024-01-05,1.5,\xffp\n".to_vec()
    );
    let kept = w
        .cmd("to-parquet")
        .args(["--cat", "r.parquet"])
        .succeeds()
        .stdout();
    assert_eq!(kept.lines().count(), 2, "{kept}");
    w.write(
        "bad.csv",
        "symbol,date,close,provider,colour\nA,2024-01-02,1.5,p,red\n",
    );
    w.cmd("to-parquet")
        .args([
            "bad.csv",
            "--input-format",
            "csv",
            "-o",
            "x.parquet",
            "--log-format",
            "text",
        ])
        .fails_with(65)
        .stderr_contains("bad.csv:2: colour: unknown field");
}

#[test]
fn a_killed_run_leaves_every_partition_old_or_new_and_a_rerun_completes() {
    use std::process::{Command, Stdio};
    let w = WorkDir::new();
    let v1 = gen_bars(
        &w,
        "v1.ndjson",
        &["--symbols", "80", "--days", "1000", "--seed", "11"],
    );
    let v2_text = w
        .read("v1.ndjson")
        .replace("\"provider\":\"yahoo\"", "\"provider\":\"stooq\"");
    let v2 = w.write("v2.ndjson", v2_text);
    w.cmd("to-parquet")
        .arg(&v1)
        .args(["--lake", "lake"])
        .succeeds();
    let old = tree(&w.join("lake"));
    // The lake as it must end up.
    w.cmd("to-parquet")
        .arg(&v1)
        .args(["--lake", "expected"])
        .succeeds();
    w.cmd("to-parquet")
        .arg(&v2)
        .args(["--lake", "expected"])
        .succeeds();
    let new = tree(&w.join("expected"));
    let rel =
        |t: &[(PathBuf, Option<Vec<u8>>)], root: &Path| -> BTreeMap<PathBuf, Option<Vec<u8>>> {
            t.iter()
                .map(|(p, b)| (p.strip_prefix(root).unwrap().to_path_buf(), b.clone()))
                .collect()
        };
    let (old, new) = (rel(&old, &w.join("lake")), rel(&new, &w.join("expected")));
    for delay_ms in [20u64, 80, 250] {
        let mut child = Command::new(tickerlake_tests::bin("to-parquet"))
            .arg(&v2)
            .args(["--lake", "lake"])
            .current_dir(w.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let now = rel(&tree(&w.join("lake")), &w.join("lake"));
        for (path, bytes) in &now {
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(".tmp"))
            {
                continue; // a staged file the kill left behind: hidden, never read
            }
            assert!(
                old.get(path) == Some(bytes) || new.get(path) == Some(bytes),
                "after a kill at {delay_ms} ms, {} is neither its old nor its new content",
                path.display()
            );
        }
    }
    w.cmd("to-parquet")
        .arg(&v2)
        .args(["--lake", "lake"])
        .succeeds();
    let done: BTreeMap<PathBuf, Option<Vec<u8>>> = rel(&tree(&w.join("lake")), &w.join("lake"))
        .into_iter()
        .filter(|(p, _)| !p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert_eq!(done, new, "a rerun completes the interrupted upsert");

    // A first load builds new symbols beside the lake and moves each in whole: killed at any
    // point, the lake holds only complete partitions, and a rerun completes it and removes
    // what the killed runs left beside it.
    for delay_ms in [20u64, 80, 250] {
        let mut child = Command::new(tickerlake_tests::bin("to-parquet"))
            .arg(&v1)
            .args(["--lake", "fresh"])
            .current_dir(w.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        if !w.join("fresh").exists() {
            continue; // killed before it made the lake's directory
        }
        for (path, bytes) in rel(&tree(&w.join("fresh")), &w.join("fresh")) {
            if path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().ends_with(".tmp"))
            {
                continue;
            }
            assert_eq!(
                old.get(&path),
                Some(&bytes),
                "after a kill at {delay_ms} ms, {} is not its new content",
                path.display()
            );
        }
    }
    w.cmd("to-parquet")
        .arg(&v1)
        .args(["--lake", "fresh"])
        .succeeds();
    let fresh: BTreeMap<PathBuf, Option<Vec<u8>>> = rel(&tree(&w.join("fresh")), &w.join("fresh"))
        .into_iter()
        .filter(|(p, _)| !p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert_eq!(fresh, old, "a rerun completes the interrupted first load");
    let left: Vec<_> = std::fs::read_dir(w.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".fresh."))
        .collect();
    assert!(left.is_empty(), "left beside the lake: {left:?}");
}

#[test]
fn unsorted_input_spills_and_gives_the_same_lake() {
    let w = WorkDir::new();
    let input = gen_bars(
        &w,
        "bars.ndjson",
        &[
            "--symbols",
            "30",
            "--days",
            "500",
            "--seed",
            "8",
            "--inject-faults",
        ],
    );
    // Interleave the symbols: date-major order, as a per-day flat file would come.
    let mut lines: Vec<String> = w.read("bars.ndjson").lines().map(str::to_string).collect();
    lines.sort_by_key(|l| {
        let b: Bar = serde_json::from_str(l).unwrap();
        b.date
    });
    let shuffled = w.write("by-date.ndjson", lines.join("\n") + "\n");
    w.cmd("to-parquet")
        .arg(&input)
        .args(["--lake", "grouped"])
        .succeeds();
    // 1 MiB of pending rows: several spills, merged through the staged partitions.
    w.cmd("to-parquet")
        .arg(&shuffled)
        .args([
            "--lake",
            "spilled",
            "--max-memory",
            "1M",
            "--summary",
            "s.json",
        ])
        .succeeds();
    let a = cat_lake(&w, "grouped");
    let b = cat_lake(&w, "spilled");
    assert_eq!(a, b);
    let s: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert_eq!(s["partitions_created"], s["partitions_touched"]);
}

#[test]
fn every_record_kind_goes_to_one_file_and_back() {
    let w = WorkDir::new();
    for kind in ["actions", "tickers", "findings", "errors", "bars"] {
        let input = fixture(&format!("records/{kind}.ndjson"));
        let file = format!("{kind}.parquet");
        w.cmd("to-parquet")
            .args(["--kind", kind])
            .arg(&input)
            .args(["-o", &file])
            .succeeds()
            .stderr_is_empty();
        let cat = w
            .cmd("to-parquet")
            .args(["--cat", "--kind", kind, &file])
            .succeeds();
        assert_eq!(
            cat.stdout(),
            std::fs::read_to_string(&input).unwrap(),
            "{kind}"
        );
    }
    // DuckDB reads them with the right types.
    let python = venv_python().expect("no .venv");
    let script = r#"
import duckdb
def types(f):
    return {n: t for n, t, *_ in duckdb.sql(f"describe select * from '{f}'").fetchall()}
t = types("errors.parquet")
assert t["ts"] == "TIMESTAMP WITH TIME ZONE" and t["attempts"] == "BIGINT", t
t = types("actions.parquet")
assert t["amount"] == "DECIMAL(18,6)" and t["date"] == "DATE", t
assert types("tickers.parquet")["indexes"] == "VARCHAR[]"
v = duckdb.sql("""select json_extract_string(details, '$.lagging') from 'findings.parquet' where "check" = 'lag'""").fetchall()
assert v == [("412",)], v
"#;
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .current_dir(w.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Only bars have a lake.
    w.cmd("to-parquet")
        .args([
            "--kind",
            "tickers",
            "--lake",
            "lake",
            "--log-format",
            "text",
        ])
        .stdin("")
        .fails_with(2)
        .stderr_contains("--lake holds bars");
}

#[test]
fn one_writer_at_a_time_and_one_layout_per_directory() {
    let w = WorkDir::new();
    let input = fixture("records/bars.ndjson");
    w.cmd("to-parquet")
        .arg(&input)
        .args(["--lake", "lake"])
        .succeeds();
    // Another process holds the lock: exit 75, nothing changed.
    let before = tree(&w.join("lake"));
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(w.join("lake/.tickerlake.lock"))
        .unwrap();
    lock.lock().unwrap();
    w.cmd("to-parquet")
        .arg(&input)
        .args(["--lake", "lake", "--log-format", "text"])
        .fails_with(75)
        .stderr_contains("another run is writing this lake");
    drop(lock);
    assert_eq!(tree(&w.join("lake")), before);
    // A staged file left by a killed run is removed by the next run.
    let stale = w.join("lake/symbol=AAPL/year=2020/.part-0.parquet.XXXXXX.tmp");
    std::fs::write(&stale, b"half").unwrap();
    w.cmd("to-parquet")
        .arg(&input)
        .args(["--lake", "lake"])
        .succeeds();
    assert!(!stale.exists());
    // The other layout is refused.
    w.cmd("to-parquet")
        .arg(&input)
        .args([
            "--lake",
            "lake",
            "--partition-by",
            "year,month",
            "--log-format",
            "text",
        ])
        .fails_with(2)
        .stderr_contains("another --partition-by");
    // The other price type is refused too.
    w.cmd("to-parquet")
        .arg(&input)
        .args([
            "--lake",
            "lake",
            "--price-type",
            "float64",
            "--log-format",
            "text",
        ])
        .fails_with(2)
        .stderr_contains("same --price-type");
    // A partition file can be read on its own.
    let cat = w
        .cmd("to-parquet")
        .args(["--cat", "lake/symbol=AAPL/year=2020/part-0.parquet"])
        .succeeds();
    assert_eq!(cat.stdout().lines().count(), 5);
}

#[test]
fn a_damaged_partition_stops_the_upsert_with_its_name_and_the_lake_stays_as_it_was() {
    let w = WorkDir::new();
    let input = gen_bars(
        &w,
        "bars.ndjson",
        &["--symbols", "40", "--days", "400", "--seed", "7"],
    );
    w.cmd("to-parquet")
        .arg(&input)
        .args(["--lake", "lake"])
        .succeeds();
    // One partition of a symbol in the middle of the input, damaged on disk.
    let mut files: Vec<PathBuf> = tree(&w.join("lake"))
        .into_iter()
        .filter(|(p, bytes)| bytes.is_some() && p.extension().is_some_and(|e| e == "parquet"))
        .map(|(p, _)| p)
        .collect();
    files.sort();
    let damaged = files[files.len() / 2].clone();
    std::fs::write(&damaged, b"PAR1 not a parquet file").unwrap();
    let before = tree(&w.join("lake"));
    // Every row rewritten, in many small batches: the partitions after the damaged one are
    // encoded while later input is still being read, and none of it may land.
    let text = w
        .read("bars.ndjson")
        .replace("\"provider\":\"yahoo\"", "\"provider\":\"stooq\"");
    let changed = w.write("changed.ndjson", text);
    w.cmd("to-parquet")
        .arg(&changed)
        .args([
            "--lake",
            "lake",
            "--max-memory",
            "1M",
            "--log-format",
            "text",
        ])
        .fails_with(65)
        .stderr_contains(&damaged.display().to_string());
    assert_eq!(tree(&w.join("lake")), before, "the lake is as it was");
}
