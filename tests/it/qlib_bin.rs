//! `qlib-bin` through the binary: byte-identical to Qlib's own dump_bin on the golden trees,
//! bars from NDJSON and the lake, and a store that is replaced whole or not at all.

use std::collections::BTreeMap;
use std::path::Path;

use tickerlake_tests::{WorkDir, floats, gen_bars, shared};

/// Every file below `dir`, relative path → bytes, without our own `.tickerlake/` (the
/// watermark, which Qlib's trees do not have).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut t = tree_with_watermark(dir);
    t.retain(|k, _| !k.starts_with(".tickerlake"));
    t
}

/// Every file but the lock (which the first writer creates).
fn tree_with_watermark(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut t = every_file(dir);
    t.remove(".tickerlake/lock");
    t
}

/// Asserts two trees hold the same files, naming the first that differs (not dumping bytes).
fn assert_same_tree(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in b {
        if a[path] != *bytes && !path.ends_with(".bin") {
            panic!(
                "{path} differs:\n{}\nvs\n{}",
                String::from_utf8_lossy(&a[path]),
                String::from_utf8_lossy(bytes)
            );
        }
        if a[path] != *bytes {
            let (x, y) = (floats(&a[path]), floats(bytes));
            let k = (0..x.len().min(y.len())).find(|&k| x[k].to_bits() != y[k].to_bits());
            panic!(
                "{path} differs: {} vs {} values, first at {k:?}: {:?} vs {:?}",
                x.len(),
                y.len(),
                k.map(|k| x[k]),
                k.map(|k| y[k])
            );
        }
    }
}

fn every_file(dir: &Path) -> BTreeMap<String, Vec<u8>> {
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

#[test]
fn full_export_is_byte_identical_to_qlibs_dump_all() {
    for case in [
        "fixtures/qlib-golden",
        "fixtures/qlib-golden/quirk_update_misalign",
    ] {
        let w = WorkDir::new();
        w.cmd("qlib-bin")
            .args([
                "all",
                "--input-format",
                "csv",
                "--adjust",
                "none",
                "-o",
                "qlib",
            ])
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
        .args(["all", "--adjust", "none", "-o", "from-ndjson"])
        .arg(&bars)
        .succeeds();
    w.cmd("to-parquet")
        .arg(&bars)
        .args(["--lake", "lake"])
        .succeeds();
    w.cmd("qlib-bin")
        .args([
            "all",
            "--adjust",
            "none",
            "--lake",
            "lake",
            "-o",
            "from-lake",
        ])
        .succeeds();
    let (a, b) = (tree(&w.join("from-ndjson")), tree(&w.join("from-lake")));
    assert_eq!(a, b);
    assert_eq!(a.len(), 30 * 8 + 2);
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

/// `qlib-bin all` on dump_bin's CSV, values as given (the golden fixtures' shape).
fn csv_all(w: &WorkDir) -> tickerlake_tests::Cmd {
    w.cmd("qlib-bin")
        .args(["all", "--input-format", "csv", "--adjust", "none"])
}

/// The golden CSV store of four instruments in `qlib`; returns the CSV files.
fn golden_store(w: &WorkDir) -> Vec<String> {
    let golden = csvs("fixtures/qlib-golden/input_all");
    csv_all(w).args(["-o", "qlib"]).args(&golden).succeeds();
    assert_eq!(w.read("qlib/instruments/all.txt").lines().count(), 4);
    golden
}

#[test]
fn a_store_is_replaced_only_with_force_and_then_holds_only_the_new_input() {
    let w = WorkDir::new();
    let golden = golden_store(&w);
    let before = tree(&w.join("qlib"));
    // Not empty: refused without --force, the store untouched.
    csv_all(&w)
        .args(["-o", "qlib"])
        .arg(&golden[0])
        .fails_with(2)
        .stderr_contains("--force");
    assert_eq!(tree(&w.join("qlib")), before);
    // With --force (and --allow-shrink: one instrument where there were four): only AAPL is
    // left, the other symbols' directories are gone, and no staging directory stays behind.
    csv_all(&w)
        .args(["--force", "--allow-shrink", "-o", "qlib"])
        .arg(&golden[0])
        .succeeds();
    let after = tree(&w.join("qlib"));
    assert!(
        after
            .keys()
            .all(|k| !k.contains("msft") && !k.contains("_qlib_prn"))
    );
    assert_eq!(w.read("qlib/instruments/all.txt").lines().count(), 1);
    let leftovers: Vec<_> = std::fs::read_dir(w.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("staging"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[cfg(unix)]
#[test]
fn a_store_behind_a_symlink_is_replaced_where_it_lives_and_the_link_stays() {
    let w = WorkDir::new();
    let golden = golden_store(&w);
    std::os::unix::fs::symlink(w.join("qlib"), w.join("link")).unwrap();
    csv_all(&w)
        .args(["--force", "--allow-shrink", "-o", "link"])
        .args(&golden[..2])
        .succeeds();
    assert!(
        std::fs::symlink_metadata(w.join("link"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(w.read("qlib/instruments/all.txt").lines().count(), 2);
}

#[test]
fn a_directory_that_is_not_a_store_is_never_replaced_even_with_force() {
    let w = WorkDir::new();
    let golden = csvs("fixtures/qlib-golden/input_all");
    w.write("home/notes.txt", "keep me");
    csv_all(&w)
        .args(["--force", "-o", "home"])
        .arg(&golden[0])
        .fails_with(2)
        .stderr_contains("not a Qlib store");
    assert_eq!(w.read("home/notes.txt"), "keep me");
}

#[test]
fn a_text_column_is_refused_naming_file_line_and_field_and_nothing_is_written() {
    let w = WorkDir::new();
    w.write(
        "text.csv",
        "date,symbol,close,sector\n2024-01-02,AAA,1.5,Tech\n",
    );
    csv_all(&w)
        .args(["-o", "new", "text.csv"])
        .fails_with(65)
        .stderr_contains("text.csv:2: sector: expected a number");
    assert!(!w.join("new").exists());
}

#[test]
fn a_ticker_pandas_reads_back_as_missing_is_refused_or_left_out_with_a_warning() {
    let w = WorkDir::new();
    w.write(
        "na.ndjson",
        "{\"symbol\":\"NA\",\"date\":\"2024-01-02\",\"close\":1,\"provider\":\"yahoo\"}\n",
    );
    w.cmd("qlib-bin")
        .args(["all", "-o", "new", "na.ndjson"])
        .fails_with(65)
        .stderr_contains("reads this name back from instruments/all.txt as a missing value");
    assert!(!w.join("new").exists());
    w.write(
        "na2.ndjson",
        "{\"symbol\":\"NA\",\"date\":\"2024-01-02\",\"close\":1,\"volume\":5,\"provider\":\"yahoo\"}\n{\"symbol\":\"NAB\",\"date\":\"2024-01-02\",\"close\":1,\"volume\":5,\"provider\":\"yahoo\"}\n",
    );
    w.cmd("qlib-bin")
        .args(["all", "--na-tickers", "skip", "-o", "skipped", "na2.ndjson"])
        .succeeds()
        .stderr_contains("left out 1 ticker(s)");
    assert_eq!(
        w.read("skipped/instruments/all.txt"),
        "NAB\t2024-01-02\t2024-01-02\n"
    );
}

#[test]
fn symbol_style_qlib_names_instruments_as_qlibs_us_collector_does() {
    let w = WorkDir::new();
    w.write(
        "brk.ndjson",
        "{\"symbol\":\"BRK.B\",\"date\":\"2024-01-02\",\"close\":400,\"adj_close\":400,\"volume\":5,\"provider\":\"yahoo\"}\n",
    );
    w.cmd("qlib-bin")
        .args(["all", "--symbol-style", "qlib", "-o", "brk", "brk.ndjson"])
        .succeeds();
    assert_eq!(
        w.read("brk/instruments/all.txt"),
        "BRK-B\t2024-01-02\t2024-01-02\n"
    );
    assert!(w.join("brk/features/brk-b/close.day.bin").is_file());
}

#[test]
fn a_bar_on_a_holiday_is_refused_under_the_xnys_calendar() {
    let w = WorkDir::new();
    w.write(
        "holiday.ndjson",
        "{\"symbol\":\"X\",\"date\":\"2024-12-25\",\"close\":1,\"provider\":\"yahoo\"}\n",
    );
    w.cmd("qlib-bin")
        .args(["all", "--calendar", "xnys", "-o", "new", "holiday.ndjson"])
        .fails_with(65)
        .stderr_contains("2024-12-25");
    assert!(!w.join("new").exists());
}

#[test]
fn update_is_byte_identical_to_dump_update_and_puts_values_at_the_right_dates() {
    let w = WorkDir::new();
    let g = "fixtures/qlib-golden";
    w.cmd("qlib-bin")
        .args([
            "all",
            "--input-format",
            "csv",
            "--adjust",
            "none",
            "-o",
            "qlib",
        ])
        .args(csvs(&format!("{g}/input_all")))
        .succeeds();
    // The update repeats 2024-02-29 with other values: reported, not applied (dump_update
    // ignores them too), so the tree is Qlib's byte for byte.
    let run = w
        .cmd("qlib-bin")
        .args([
            "update",
            "--input-format",
            "csv",
            "--adjust",
            "none",
            "-o",
            "qlib",
        ])
        .args(csvs(&format!("{g}/input_update")))
        .succeeds();
    assert!(
        run.stderr().contains("4 row(s) dated inside"),
        "{}",
        run.stderr()
    );
    assert!(
        run.stderr()
            .contains("AAPL 2024-02-29 close: stored 184.07, given 185.07")
    );
    let (ours, theirs) = (
        tree(&w.join("qlib")),
        tree(&shared(&format!("{g}/expected_after_update"))),
    );
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (path, bytes) in &theirs {
        assert!(ours[path] == *bytes, "{path} differs");
    }
    // The same update again changes nothing: nothing is appended twice.
    let again = w
        .cmd("qlib-bin")
        .args([
            "update",
            "--input-format",
            "csv",
            "--adjust",
            "none",
            "-o",
            "qlib",
        ])
        .args(csvs(&format!("{g}/input_update")))
        .succeeds();
    assert!(again.stderr().contains("4 row(s)"));
    assert_eq!(tree(&w.join("qlib")), ours);
    // --rewrite-changed takes the new 2024-02-29 values.
    w.cmd("qlib-bin")
        .args([
            "update",
            "--rewrite-changed",
            "--input-format",
            "csv",
            "-o",
            "qlib",
        ])
        .args(csvs(&format!("{g}/input_update")))
        .succeeds();
    let close = floats(&std::fs::read(w.join("qlib/features/aapl/close.day.bin")).unwrap());
    // 2024-02-29 is calendar index 40; value k sits at k + 1 after the start index.
    assert_eq!(close[41], 185.07f32);
    assert_eq!(close.len(), 1 + 46);

    // Qlib's misalignment case: the values land on their own dates.
    let q = "fixtures/qlib-golden/quirk_update_misalign";
    w.cmd("qlib-bin")
        .args([
            "all",
            "--input-format",
            "csv",
            "--adjust",
            "none",
            "-o",
            "quirk",
        ])
        .args(csvs(&format!("{q}/input_all")))
        .succeeds();
    w.cmd("qlib-bin")
        .args([
            "update",
            "--input-format",
            "csv",
            "--adjust",
            "none",
            "-o",
            "quirk",
        ])
        .args(csvs(&format!("{q}/input_update")))
        .succeeds();
    let nan = f32::NAN;
    for (dir, want) in [
        ("xx", vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, nan, 7.0]),
        ("yy", vec![0.0, 10.0, 20.0, nan, nan, 50.0, 60.0, 70.0]),
    ] {
        let got =
            floats(&std::fs::read(w.join(&format!("quirk/features/{dir}/close.day.bin"))).unwrap());
        let same = got.len() == want.len()
            && got
                .iter()
                .zip(&want)
                .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()));
        assert!(same, "{dir}: {got:?}, want {want:?}");
    }
}

#[test]
fn update_from_the_lake_since_the_watermark_equals_a_full_export() {
    let w = WorkDir::new();
    let bars = gen_bars(
        &w,
        "bars.ndjson",
        &["--symbols", "20", "--days", "260", "--seed", "7"],
    );
    // The first 200 days into the lake and the store; the rest later.
    let text = w.read("bars.ndjson");
    let (early, late): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        v["date"].as_str().unwrap() < "2016-10-14"
    });
    assert!(!early.is_empty() && !late.is_empty());
    w.write("early.ndjson", early.join("\n") + "\n");
    w.write("late.ndjson", late.join("\n") + "\n");
    w.cmd("to-parquet")
        .args(["early.ndjson", "--lake", "lake"])
        .succeeds();
    w.cmd("qlib-bin")
        .args(["all", "--lake", "lake", "-o", "qlib"])
        .succeeds();
    w.cmd("to-parquet")
        .args(["late.ndjson", "--lake", "lake"])
        .succeeds();
    let run = w
        .cmd("qlib-bin")
        .args([
            "update",
            "--lake",
            "lake",
            "--since-watermark",
            "-o",
            "qlib",
            "--summary",
            "s.json",
        ])
        .succeeds();
    assert!(run.stderr().is_empty(), "{}", run.stderr());
    w.cmd("qlib-bin")
        .args(["all", "--lake", "lake", "-o", "full"])
        .succeeds();
    assert_eq!(tree(&w.join("qlib")), tree(&w.join("full")));
    let s: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert_eq!(s["changed_rows"], 0);
    assert!(s["new_days"].as_u64().unwrap() > 0);
    let _ = bars;
}

#[test]
fn an_update_allowed_few_open_files_writes_the_same_store() {
    // An update keeps each appended file open from planning to writing, as many as the limit on
    // open files allows; past it, the file is opened again to be written. 60 symbols x 8 fields
    // under a limit of 400 takes both ways.
    let w = WorkDir::new();
    let bars = gen_bars(
        &w,
        "bars.ndjson",
        &["--symbols", "60", "--days", "40", "--seed", "9"],
    );
    let text = w.read("bars.ndjson");
    let last = text
        .lines()
        .map(|l| l.split("\"date\":\"").nth(1).unwrap()[..10].to_string())
        .max()
        .unwrap();
    let (early, late): (Vec<&str>, Vec<&str>) = text
        .lines()
        .partition(|l| !l.contains(&format!("\"date\":\"{last}\"")));
    w.write("early.ndjson", early.join("\n") + "\n");
    w.write("late.ndjson", late.join("\n") + "\n");
    for store in ["roomy", "tight"] {
        w.cmd("qlib-bin")
            .args(["all", "early.ndjson", "--na-tickers", "skip", "-o", store])
            .succeeds();
    }
    w.cmd("qlib-bin")
        .args([
            "update",
            "late.ndjson",
            "--na-tickers",
            "skip",
            "-o",
            "roomy",
        ])
        .succeeds();
    let qlib_bin = tickerlake_tests::bin("qlib-bin");
    let out = w.bash(&format!(
        "ulimit -n 400 && {} update late.ndjson --na-tickers skip -o tight",
        qlib_bin.display()
    ));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(tree(&w.join("tight")), tree(&w.join("roomy")));
    w.cmd("qlib-bin")
        .args(["all", "bars.ndjson", "--na-tickers", "skip", "-o", "full"])
        .succeeds();
    assert_eq!(tree(&w.join("tight")), tree(&w.join("full")));
    let _ = bars;
}

#[test]
fn a_killed_update_leaves_a_readable_store_and_a_rerun_completes_it() {
    let w = WorkDir::new();
    gen_bars(
        &w,
        "bars.ndjson",
        &["--symbols", "300", "--days", "120", "--seed", "9"],
    );
    let text = w.read("bars.ndjson");
    let (early, late): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        v["date"].as_str().unwrap() < "2016-06-01"
    });
    w.write("early.ndjson", early.join("\n") + "\n");
    w.write("late.ndjson", late.join("\n") + "\n");
    // A killed full export leaves only its staging directory, which the next run removes.
    let mut child = std::process::Command::new(tickerlake_tests::bin("qlib-bin"))
        .current_dir(w.path())
        .args(["all", "-o", "killed", "early.ndjson"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(30));
    let _ = child.kill();
    let _ = child.wait();
    w.cmd("qlib-bin")
        .args(["all", "--force", "-o", "killed", "early.ndjson"])
        .succeeds();
    let staging: Vec<String> = std::fs::read_dir(w.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains("tickerlake-staging"))
        .collect();
    assert!(staging.is_empty(), "{staging:?}");
    // The reference: an uninterrupted update.
    w.cmd("qlib-bin")
        .args(["all", "-o", "ref", "early.ndjson"])
        .succeeds();
    w.cmd("qlib-bin")
        .args(["update", "-o", "ref", "late.ndjson"])
        .succeeds();
    let reference = tree(&w.join("ref"));
    let old_calendar = {
        w.cmd("qlib-bin")
            .args(["all", "-o", "base", "early.ndjson"])
            .succeeds();
        w.read("base/calendars/day.txt")
    };
    for delay_ms in [5u64, 20, 60, 150] {
        let store = format!("s{delay_ms}");
        w.cmd("qlib-bin")
            .args(["all", "-o", &store, "early.ndjson"])
            .succeeds();
        let mut child = std::process::Command::new(tickerlake_tests::bin("qlib-bin"))
            .current_dir(w.path())
            .args(["update", "-o", &store, "late.ndjson"])
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever the moment: the calendar is the old one or the new one, whole, and every
        // instrument's files are whole float32 files.
        let cal = w.read(&format!("{store}/calendars/day.txt"));
        assert!(
            cal == old_calendar || cal == w.read("ref/calendars/day.txt"),
            "{delay_ms} ms"
        );
        for (path, bytes) in tree(&w.join(&store)) {
            if path.ends_with(".bin") {
                assert!(bytes.len() >= 4 && bytes.len() % 4 == 0, "{path}");
            }
        }
        // pyqlib reads a consistent store: the old days, or all of them.
        let bars: &[&str] = if cal == old_calendar {
            &["early.ndjson"]
        } else {
            &["early.ndjson", "late.ndjson"]
        };
        qlib_adjusted_check(&w, &store, bars);
        // A rerun completes it.
        w.cmd("qlib-bin")
            .args(["update", "-o", &store, "late.ndjson"])
            .succeeds();
        assert_eq!(tree(&w.join(&store)), reference, "{delay_ms} ms");
    }
}

#[test]
fn values_a_killed_update_wrote_past_the_calendar_are_cut_before_the_next() {
    let w = WorkDir::new();
    let bars = gen_bars(
        &w,
        "bars.ndjson",
        &["--symbols", "4", "--days", "30", "--seed", "6"],
    );
    w.cmd("qlib-bin")
        .args(["all", "-o", "q"])
        .arg(&bars)
        .succeeds();
    let before = tree(&w.join("q"));
    // A killed update appended to a symbol the next input does not have, then died.
    let (_, syms, _) = bar_rows(&w, "bars.ndjson");
    let victim = format!("q/features/{}/close.day.bin", syms[0].to_lowercase());
    let mut bytes = std::fs::read(w.join(&victim)).unwrap();
    bytes.extend_from_slice(&7.5f32.to_le_bytes());
    std::fs::write(w.join(&victim), bytes).unwrap();
    std::fs::write(w.join("q/.tickerlake/update-under-way"), "").unwrap();
    // ... and was killed while it replaced the calendar.
    std::fs::write(w.join("q/calendars/.day.txt.Ab12Cd.tmp"), "2016-01-01\n").unwrap();
    // The next update (another symbol, a new day) cuts it back first.
    w.write(
        "next.ndjson",
        format!(
            "{{\"symbol\":\"{}\",\"date\":\"2030-01-02\",\"open\":1,\"high\":1,\"low\":1,\"close\":1,\"adj_close\":1,\"volume\":5,\"provider\":\"yahoo\"}}\n",
            syms[1]
        ),
    );
    w.cmd("qlib-bin")
        .args(["update", "-o", "q", "next.ndjson"])
        .succeeds();
    let victim_rel = victim.trim_start_matches("q/");
    assert_eq!(tree(&w.join("q"))[victim_rel], before[victim_rel]);
    assert!(!w.join("q/.tickerlake/update-under-way").exists());
    assert!(!w.join("q/calendars/.day.txt.Ab12Cd.tmp").exists());

    // A run killed while it rewrote a symbol whole: the symbol may be in either version, so it
    // waits for its whole history.
    std::fs::write(
        w.join("q/.tickerlake/update-under-way"),
        format!("{{\"rewritten\":[\"{}\"]}}", syms[2]),
    )
    .unwrap();
    w.cmd("qlib-bin")
        .args(["update", "-o", "q", "next.ndjson"])
        .fails_with(1)
        .stderr_contains(&format!(
            "1 symbol(s) wait for their whole history ({})",
            syms[2]
        ));
    let state: serde_json::Value =
        serde_json::from_str(&w.read("q/.tickerlake/adjust.json")).unwrap();
    assert_eq!(state["waiting"][0], syms[2].as_str());
    assert!(state["symbols"].get(&syms[2]).is_none());
    // Its whole history brings it back.
    w.cmd("qlib-bin")
        .args(["update", "-o", "q"])
        .arg(&bars)
        .succeeds();
}

/// pyqlib itself reading the store, checked against the bars by `script`; returns the number
/// of values checked after asserting no mismatch.
fn pyqlib_check(w: &WorkDir, script: &Path, args: &[&str], store: &str, bars: &[&str]) -> u64 {
    let python = tickerlake_tests::qlib_python()
        .expect("no target/venv-qlib: run `make venv-qlib` (make test does)");
    let mut cmd = std::process::Command::new(python);
    cmd.current_dir(w.path())
        .arg(script)
        .args(["--qlib-dir", store])
        .args(args);
    for b in bars {
        cmd.args(["--bars", b]);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let last = text.lines().last().unwrap_or("");
    assert!(
        out.status.success() && last.ends_with(" 0 mismatches"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    last.split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// `qlib_check.py`: every value as given.
fn qlib_check(w: &WorkDir, store: &str, bars: &[&str]) -> u64 {
    let script = shared("bench/qlib_check.py");
    pyqlib_check(
        w,
        &script,
        &["--field-map", "adj_close=adjclose"],
        store,
        bars,
    )
}

/// `qlib_adjusted_check.py`: an `--adjust qlib` store by the collector's invariants.
fn qlib_adjusted_check(w: &WorkDir, store: &str, bars: &[&str]) -> u64 {
    let script = tickerlake_tests::repo_root().join("tests/interop/qlib_adjusted_check.py");
    pyqlib_check(w, &script, &[], store, bars)
}

#[test]
fn pyqlib_reads_back_every_value_after_all_and_after_an_update() {
    let w = WorkDir::new();
    gen_bars(
        &w,
        "bars.ndjson",
        &["--symbols", "20", "--days", "300", "--seed", "5"],
    );
    let rows: Vec<serde_json::Value> = w
        .read("bars.ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut syms: Vec<&str> = rows.iter().map(|r| r["symbol"].as_str().unwrap()).collect();
    syms.dedup();
    let mut dates: Vec<&str> = rows.iter().map(|r| r["date"].as_str().unwrap()).collect();
    dates.sort_unstable();
    dates.dedup();
    // After day 250: one symbol stops (stale), one appears on day 270 (new), one misses three
    // days (gaps inside the update).
    let (new, stale, gappy, cut) = (syms[0], syms[1], syms[2], dates[250]);
    let line = |r: &serde_json::Value| format!("{r}\n");
    let early: String = rows
        .iter()
        .filter(|r| r["date"].as_str().unwrap() < cut && r["symbol"] != new)
        .map(line)
        .collect();
    let late: String = rows
        .iter()
        .filter(|r| {
            let (s, d) = (r["symbol"].as_str().unwrap(), r["date"].as_str().unwrap());
            d >= cut
                && s != stale
                && !(s == gappy && dates[260..263].contains(&d))
                && !(s == new && d < dates[270])
        })
        .map(line)
        .collect();
    w.write("early.ndjson", early);
    w.write("late.ndjson", late);
    // As given, and with the default --adjust qlib (the collector's invariants).
    type Check = fn(&WorkDir, &str, &[&str]) -> u64;
    for (adjust, check) in [("none", qlib_check as Check), ("qlib", qlib_adjusted_check)] {
        w.cmd("qlib-bin")
            .args(["all", "--adjust", adjust, "-o", adjust, "early.ndjson"])
            .succeeds();
        check(&w, adjust, &["early.ndjson"]);
        w.cmd("qlib-bin")
            .args(["update", "-o", adjust, "late.ndjson"])
            .succeeds();
        let checked = check(&w, adjust, &["early.ndjson", "late.ndjson"]);
        assert!(checked > 30_000, "{adjust}: {checked}");
    }
}

/// Bars as JSON values, and the symbols and dates they hold (sorted).
fn bar_rows(w: &WorkDir, name: &str) -> (Vec<serde_json::Value>, Vec<String>, Vec<String>) {
    let rows: Vec<serde_json::Value> = w
        .read(name)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut syms: Vec<String> = rows
        .iter()
        .map(|r| r["symbol"].as_str().unwrap().to_string())
        .collect();
    syms.sort_unstable();
    syms.dedup();
    let mut dates: Vec<String> = rows
        .iter()
        .map(|r| r["date"].as_str().unwrap().to_string())
        .collect();
    dates.sort_unstable();
    dates.dedup();
    (rows, syms, dates)
}

fn ndjson_of<'a>(rows: impl Iterator<Item = &'a serde_json::Value>) -> String {
    rows.map(|r| format!("{r}\n")).collect()
}

#[test]
fn an_adjusted_update_is_bit_identical_to_a_full_export() {
    let w = WorkDir::new();
    gen_bars(
        &w,
        "bars.ndjson",
        &[
            "--symbols",
            "24",
            "--days",
            "300",
            "--seed",
            "8",
            "--inject-faults",
        ],
    );
    let (rows, syms, dates) = bar_rows(&w, "bars.ndjson");
    // A stale symbol, a new one, one with a gap in the update; the update re-reads the last
    // stored day (as --since-watermark does).
    let (new, stale, gappy) = (&syms[0], &syms[1], &syms[2]);
    let cut = &dates[250];
    let date = |r: &serde_json::Value| r["date"].as_str().unwrap().to_string();
    let sym = |r: &serde_json::Value| r["symbol"].as_str().unwrap().to_string();
    let early = ndjson_of(rows.iter().filter(|r| date(r) < *cut && sym(r) != *new));
    let late = ndjson_of(rows.iter().filter(|r| {
        let d = date(r);
        d >= dates[249] && sym(r) != *stale && !(sym(r) == *gappy && dates[260..263].contains(&d))
    }));
    let whole = ndjson_of(rows.iter().filter(|r| {
        let (d, s) = (date(r), sym(r));
        let left_out = (s == *stale && d >= *cut)
            || (s == *new && d < dates[249])
            || (s == *gappy && dates[260..263].contains(&d));
        !left_out
    }));
    w.write("early.ndjson", early);
    w.write("late.ndjson", late);
    w.write("whole.ndjson", whole);
    w.cmd("qlib-bin")
        .args(["all", "-o", "updated", "early.ndjson"])
        .succeeds();
    let run = w
        .cmd("qlib-bin")
        .args([
            "update",
            "-o",
            "updated",
            "late.ndjson",
            "--summary",
            "s.json",
        ])
        .succeeds();
    assert!(run.stderr().is_empty(), "{}", run.stderr());
    let summary: serde_json::Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert_eq!(summary["new_days"], 50);
    assert_eq!(summary["new_symbols"], 1);
    assert_eq!(summary["changed_rows"], 0, "the re-read day is the same");
    w.cmd("qlib-bin")
        .args(["all", "-o", "full", "whole.ndjson"])
        .succeeds();
    // all.txt: dump_update appends new instruments at the end, dump_all sorts them.
    let (mut a, mut b) = (tree(&w.join("updated")), tree(&w.join("full")));
    let sorted = |t: &mut BTreeMap<String, Vec<u8>>| {
        let text = String::from_utf8(t.remove("instruments/all.txt").unwrap()).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&mut a), sorted(&mut b));
    assert_same_tree(&a, &b);
    // Each series starts at close 1, and the state the next update continues from is the same.
    let close = floats(&b[&format!("features/{}/close.day.bin", syms[5].to_lowercase())]);
    assert_eq!(close[1], 1.0);
    let state = |d: &str| -> serde_json::Value {
        serde_json::from_str(&w.read(&format!("{d}/.tickerlake/adjust.json"))).unwrap()
    };
    assert_eq!(state("updated"), state("full"));
}

/// A dividend that restates one symbol's adjusted history, in a later fetch.
struct Restatement {
    w: WorkDir,
    /// The bars as first fetched.
    rows: Vec<serde_json::Value>,
    /// The same bars as fetched after the dividend.
    restated: Vec<serde_json::Value>,
    dates: Vec<String>,
    /// The restated symbol.
    hit: String,
    /// A symbol whose volume of the overlap day the late fetch revised.
    revised: String,
}

fn bar_date(r: &serde_json::Value) -> String {
    r["date"].as_str().unwrap().to_string()
}

/// Six symbols, 120 days: `early.ndjson` (days 0-99), `late.ndjson` (the restated fetch from day
/// 99 on, with another symbol's volume of day 99 revised), `restated.ndjson` (the restated fetch
/// whole), and `full`, a full export of the restated history.
fn restatement() -> Restatement {
    let w = WorkDir::new();
    gen_bars(
        &w,
        "bars.ndjson",
        &["--symbols", "6", "--days", "120", "--seed", "9"],
    );
    let (rows, syms, dates) = bar_rows(&w, "bars.ndjson");
    let hit = syms[3].clone();
    let revised = syms[1].clone();
    let ex_date = dates[105].clone();
    // A dividend on day 105 restates every earlier adjusted close of one symbol (x 0.97).
    let restated: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut r = r.clone();
            if r["symbol"] == hit.as_str() {
                if r["date"].as_str().unwrap() < ex_date.as_str() {
                    let adj = r["adj_close"].as_f64().unwrap();
                    r["adj_close"] = serde_json::json!((adj * 0.97 * 1e6).round() / 1e6);
                }
                r["source_ts"] = serde_json::json!("2031-01-01T00:00:00.000Z");
            }
            r
        })
        .collect();
    w.write(
        "early.ndjson",
        ndjson_of(rows.iter().filter(|r| bar_date(r) < dates[100])),
    );
    let late: Vec<serde_json::Value> = restated
        .iter()
        .filter(|r| bar_date(r) >= dates[99])
        .map(|r| {
            let mut r = r.clone();
            if r["symbol"] == revised.as_str() && bar_date(&r) == dates[99] {
                r["volume"] = serde_json::json!(r["volume"].as_i64().unwrap() + 1000);
            }
            r
        })
        .collect();
    w.write("late.ndjson", ndjson_of(late.iter()));
    w.write("restated.ndjson", ndjson_of(restated.iter()));
    w.cmd("qlib-bin")
        .args(["all", "-o", "full", "restated.ndjson"])
        .succeeds();
    Restatement {
        w,
        rows,
        restated,
        dates,
        hit,
        revised,
    }
}

impl Restatement {
    /// The restated symbol's feature files in a store.
    fn hit_files(&self, store: &str) -> Vec<Vec<u8>> {
        tree(&self.w.join(store))
            .into_iter()
            .filter(|(k, _)| k.starts_with(&format!("features/{}/", self.hit.to_lowercase())))
            .map(|(_, v)| v)
            .collect()
    }

    /// An update of `q` with `late.ndjson`: the restated symbol waits, the run exits 1.
    fn update_waits(&self) {
        let run = self
            .w
            .cmd("qlib-bin")
            .args(["update", "-o", "q", "late.ndjson", "--summary", "s.json"])
            .fails_with(1)
            .stderr_contains(&format!(
                "1 symbol(s) wait for their whole history ({})",
                self.hit
            ));
        // The revised volume is a revision of that day, reported, not a restated history.
        assert!(
            run.stderr()
                .contains(&format!("{} {} volume", self.revised, self.dates[99])),
            "{}",
            run.stderr()
        );
        let summary: serde_json::Value = serde_json::from_str(&self.w.read("s.json")).unwrap();
        assert_eq!(summary["waiting_symbols"], 1);
        assert_eq!(
            summary["new_days"].as_u64().unwrap() > 0,
            summary["files"] != 0
        );
    }
}

#[test]
fn a_restated_symbol_without_its_whole_history_waits_and_nothing_is_chained_onto_it() {
    let r = restatement();
    r.w.cmd("qlib-bin")
        .args(["all", "-o", "q", "early.ndjson"])
        .succeeds();
    let before = tree(&r.w.join("q"));
    let hit_before = r.hit_files("q");
    // The input starts after the symbol's first day: it cannot be rewritten. The others are
    // updated; it is left as it was, waits, and the run exits 1 — again on the next run
    // without its history.
    for _ in 0..2 {
        r.update_waits();
        assert!(r.hit_files("q") == hit_before);
        assert_ne!(
            tree(&r.w.join("q"))["calendars/day.txt"],
            before["calendars/day.txt"]
        );
    }
}

#[test]
fn a_waiting_symbol_is_rewritten_from_its_whole_history_when_it_comes() {
    let r = restatement();
    r.w.cmd("qlib-bin")
        .args(["all", "-o", "q", "early.ndjson"])
        .succeeds();
    r.update_waits();
    r.w.write(
        "late_and_history.ndjson",
        ndjson_of(
            r.restated
                .iter()
                .filter(|x| bar_date(x) >= r.dates[99] || x["symbol"] == r.hit.as_str()),
        ),
    );
    r.w.cmd("qlib-bin")
        .args([
            "update",
            "-o",
            "q",
            "late_and_history.ndjson",
            "--summary",
            "s.json",
        ])
        .succeeds();
    let summary: serde_json::Value = serde_json::from_str(&r.w.read("s.json")).unwrap();
    assert_eq!(summary["rewritten_symbols"], 1);
    assert_same_tree(&tree(&r.w.join("q")), &tree(&r.w.join("full")));
}

#[test]
fn the_nightly_update_rewrites_a_restated_symbol_from_the_lakes_whole_history() {
    // The nightly run reads from the watermark's day, sees the restatement there and takes the
    // symbol's whole history from the lake.
    let r = restatement();
    r.w.cmd("to-parquet")
        .args(["--lake", "lake", "early.ndjson"])
        .succeeds();
    r.w.cmd("qlib-bin")
        .args(["all", "--lake", "lake", "-o", "nightly"])
        .succeeds();
    let adjclose = format!("features/{}/adjclose.day.bin", r.hit.to_lowercase());
    let before = floats(&tree(&r.w.join("nightly"))[&adjclose]);
    r.w.cmd("to-parquet")
        .args(["--lake", "lake", "restated.ndjson"])
        .succeeds();
    r.w.cmd("qlib-bin")
        .args([
            "update",
            "--lake",
            "lake",
            "--since-watermark",
            "-o",
            "nightly",
        ])
        .succeeds();
    assert_same_tree(&tree(&r.w.join("nightly")), &tree(&r.w.join("full")));
    // The chain-linked alternative would differ: the restated symbol's early adjclose moved.
    assert_ne!(floats(&tree(&r.w.join("nightly"))[&adjclose])[1], before[1]);
}

#[test]
fn a_lake_that_starts_after_the_stored_history_leaves_a_restated_symbol_waiting() {
    let r = restatement();
    let (from, cut) = (&r.dates[50], &r.dates[100]);
    r.w.write(
        "recent.ndjson",
        ndjson_of(
            r.rows
                .iter()
                .filter(|x| bar_date(x) >= *from && bar_date(x) < *cut),
        ),
    );
    r.w.cmd("to-parquet")
        .args(["--lake", "short", "recent.ndjson"])
        .succeeds();
    r.w.cmd("qlib-bin")
        .args(["all", "-o", "longer", "early.ndjson"])
        .succeeds();
    let hit_before = r.hit_files("longer");
    r.w.write(
        "recent_restated.ndjson",
        ndjson_of(r.restated.iter().filter(|x| bar_date(x) >= *from)),
    );
    r.w.cmd("to-parquet")
        .args(["--lake", "short", "recent_restated.ndjson"])
        .succeeds();
    r.w.cmd("qlib-bin")
        .args([
            "update",
            "--lake",
            "short",
            "--since-watermark",
            "-o",
            "longer",
        ])
        .fails_with(1)
        .stderr_contains(&format!("{}: its history starts on {from}", r.hit));
    assert!(r.hit_files("longer") == hit_before);
}

#[test]
fn an_update_keeps_the_stores_adjustment_and_one_writer() {
    let w = WorkDir::new();
    let bars = gen_bars(
        &w,
        "bars.ndjson",
        &["--symbols", "3", "--days", "40", "--seed", "3"],
    );
    w.cmd("qlib-bin")
        .args(["all", "--adjust", "none", "-o", "q"])
        .arg(&bars)
        .succeeds();
    w.cmd("qlib-bin")
        .args(["update", "--adjust", "qlib", "-o", "q"])
        .arg(&bars)
        .fails_with(2)
        .stderr_contains("the store was written with --adjust none");
    let lock = std::fs::File::open(w.join("q/.tickerlake/lock"))
        .or_else(|_| {
            std::fs::create_dir_all(w.join("q/.tickerlake"))?;
            std::fs::File::create(w.join("q/.tickerlake/lock"))
        })
        .unwrap();
    lock.try_lock().unwrap();
    w.cmd("qlib-bin")
        .args(["update", "-o", "q"])
        .arg(&bars)
        .fails_with(75)
        .stderr_contains("another qlib-bin is writing this store");
    drop(lock);
    w.cmd("qlib-bin")
        .args(["update", "-o", "q"])
        .arg(&bars)
        .succeeds();
}
