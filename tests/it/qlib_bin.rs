//! `qlib-bin` through the binary: byte-identical to Qlib's own dump_bin on the golden trees,
//! bars from NDJSON and the lake, and a store that is replaced whole or not at all.

use std::collections::BTreeMap;
use std::path::Path;

use tickerlake_tests::{WorkDir, gen_bars, shared};

/// Every file below `dir`, relative path → bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn csvs(dir: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(shared(dir))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".csv"))
        .collect();
    v.sort();
    v
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[test]
fn full_export_is_byte_identical_to_qlibs_dump_all() {
    for case in [
        "fixtures/qlib-golden",
        "fixtures/qlib-golden/quirk_update_misalign",
    ] {
        let w = WorkDir::new();
        w.cmd("qlib-bin")
            .args(["all", "--input-format", "csv", "-o", "qlib"])
            .args(csvs(&format!("{case}/input_all")))
            .succeeds()
            .stderr_is_empty();
        let ours = tree(&w.join("qlib"));
        let theirs = tree(&shared(&format!("{case}/expected_after_all")));
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "{case}: the same files"
        );
        for (path, bytes) in &theirs {
            assert!(ours[path] == *bytes, "{case}: {path} differs");
        }
    }
}

#[test]
fn bars_from_ndjson_and_from_the_lake_give_the_same_store() {
    let w = WorkDir::new();
    let bars = gen_bars(
        &w,
        "bars.ndjson",
        &["--symbols", "30", "--days", "300", "--seed", "4"],
    );
    w.cmd("qlib-bin")
        .args(["all", "-o", "from-ndjson"])
        .arg(&bars)
        .succeeds();
    w.cmd("to-parquet")
        .arg(&bars)
        .args(["--lake", "lake"])
        .succeeds();
    w.cmd("qlib-bin")
        .args(["all", "--lake", "lake", "-o", "from-lake"])
        .succeeds();
    let (a, b) = (tree(&w.join("from-ndjson")), tree(&w.join("from-lake")));
    assert_eq!(a, b);
    assert_eq!(a.len(), 30 * 7 + 2);
    // Spot check against the input: the first symbol's close and factor on its 10th day.
    let first: serde_json::Value =
        serde_json::from_str(w.read("bars.ndjson").lines().nth(9).unwrap()).unwrap();
    let sym = first["symbol"].as_str().unwrap().to_lowercase();
    let close = floats(&a[&format!("features/{sym}/close.day.bin")]);
    assert_eq!(close[0], 0.0, "start index");
    assert_eq!(close[10], first["close"].as_f64().unwrap() as f32);
    let factor = floats(&a[&format!("features/{sym}/factor.day.bin")]);
    let want = first["adj_close"].as_f64().unwrap() / first["close"].as_f64().unwrap();
    assert_eq!(factor[10], want as f32);
    assert_eq!(w.read("from-ndjson/calendars/day.txt").lines().count(), 300);
}

#[test]
fn a_store_is_replaced_whole_only_with_force_and_bad_input_writes_nothing() {
    let w = WorkDir::new();
    let golden = csvs("fixtures/qlib-golden/input_all");
    w.cmd("qlib-bin")
        .args(["all", "--input-format", "csv", "-o", "qlib"])
        .args(&golden)
        .succeeds();
    let before = tree(&w.join("qlib"));
    // Not empty: refused without --force, the store untouched.
    w.cmd("qlib-bin")
        .args(["all", "--input-format", "csv", "-o", "qlib"])
        .arg(&golden[0])
        .fails_with(2)
        .stderr_contains("--force");
    assert_eq!(tree(&w.join("qlib")), before);
    // With --force: only AAPL is left, the other symbols' directories are gone.
    w.cmd("qlib-bin")
        .args(["all", "--input-format", "csv", "--force", "-o", "qlib"])
        .arg(&golden[0])
        .succeeds();
    let after = tree(&w.join("qlib"));
    assert!(
        after
            .keys()
            .all(|k| !k.contains("msft") && !k.contains("_qlib_prn"))
    );
    assert_eq!(w.read("qlib/instruments/all.txt").lines().count(), 1);
    // No staging directory is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(w.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("staging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A directory that is not a store is never replaced.
    w.write("home/notes.txt", "keep me");
    w.cmd("qlib-bin")
        .args(["all", "--input-format", "csv", "--force", "-o", "home"])
        .arg(&golden[0])
        .fails_with(2)
        .stderr_contains("not a Qlib store");
    assert_eq!(w.read("home/notes.txt"), "keep me");

    // A text column: file, line and field named, nothing written.
    w.write(
        "text.csv",
        "date,symbol,close,sector\n2024-01-02,AAA,1.5,Tech\n",
    );
    w.cmd("qlib-bin")
        .args(["all", "--input-format", "csv", "-o", "new", "text.csv"])
        .fails_with(65)
        .stderr_contains("text.csv:2: sector: expected a number");
    assert!(!w.join("new").exists());
    // A ticker pandas reads as NaN from all.txt.
    w.write(
        "na.ndjson",
        "{\"symbol\":\"NA\",\"date\":\"2024-01-02\",\"close\":1,\"provider\":\"yahoo\"}\n",
    );
    w.cmd("qlib-bin")
        .args(["all", "-o", "new", "na.ndjson"])
        .fails_with(65)
        .stderr_contains("reads this name back from instruments/all.txt as a missing value");
    assert!(!w.join("new").exists());
    // --symbol-style qlib: BRK.B is written as BRK-B, like Qlib's US collector.
    w.write(
        "brk.ndjson",
        "{\"symbol\":\"BRK.B\",\"date\":\"2024-01-02\",\"close\":400,\"adj_close\":400,\"provider\":\"yahoo\"}\n",
    );
    w.cmd("qlib-bin")
        .args(["all", "--symbol-style", "qlib", "-o", "brk", "brk.ndjson"])
        .succeeds();
    assert_eq!(
        w.read("brk/instruments/all.txt"),
        "BRK-B\t2024-01-02\t2024-01-02\n"
    );
    assert!(w.join("brk/features/brk-b/close.day.bin").is_file());
    // A bar on a holiday under --calendar xnys.
    w.write(
        "holiday.ndjson",
        "{\"symbol\":\"X\",\"date\":\"2024-12-25\",\"close\":1,\"provider\":\"yahoo\"}\n",
    );
    w.cmd("qlib-bin")
        .args(["all", "--calendar", "xnys", "-o", "new", "holiday.ndjson"])
        .fails_with(65)
        .stderr_contains("2024-12-25");
}
