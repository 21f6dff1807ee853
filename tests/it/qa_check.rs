//! `qa-check` through the binary: injected faults found exactly, the genuine Yahoo data, the
//! whole-set checks, the lake, and the exit codes cron gates on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use replay_server::{ReplayServer, Routes};
use serde_json::Value;
use tickerlake_tests::{WorkDir, fixture, gen_bars, ndjson_values};

type Key = (String, String, String);

fn keys(findings: &[Value]) -> BTreeSet<Key> {
    findings
        .iter()
        .map(|f| {
            (
                f["symbol"].as_str().unwrap_or("").to_string(),
                f["date"].as_str().unwrap_or("").to_string(),
                f["check"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn by_check(set: &BTreeSet<Key>) -> BTreeMap<String, BTreeSet<Key>> {
    let mut m: BTreeMap<String, BTreeSet<Key>> = BTreeMap::new();
    for k in set {
        m.entry(k.2.clone()).or_default().insert(k.clone());
    }
    m
}

/// The last date of an NDJSON bar file.
fn last_date(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let v: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    v["date"].as_str().unwrap().to_string()
}

#[test]
fn injected_faults_are_found_and_nothing_else_at_size_s() {
    let w = WorkDir::new();
    // Size S: 500 symbols x 2,520 days, 25 faults of each kind.
    let truth_path = w.join("truth.ndjson");
    let bars = gen_bars(
        &w,
        "bars.ndjson",
        &[
            "--symbols",
            "500",
            "--days",
            "2520",
            "--seed",
            "1",
            "--inject-faults",
            "--truth",
            truth_path.to_str().unwrap(),
        ],
    );
    let as_of = last_date(&bars);
    let run = w
        .cmd("qa-check")
        .arg(&bars)
        .args(["--calendar", "infer", "--full-history", "--as-of", &as_of])
        .arg("--summary")
        .arg(w.join("summary.json"))
        .fails_with(1); // the price jumps are critical
    let findings = ndjson_values(&run.stdout());
    let truth = keys(&ndjson_values(&w.read("truth.ndjson")));
    assert_eq!(truth.len(), 150);
    // Every check at warn or above: exactly the truth (lag, freshness... find nothing).
    let gated: Vec<Value> = findings
        .iter()
        .filter(|f| f["severity"] != "info")
        .cloned()
        .collect();
    let got = by_check(&keys(&gated));
    let want = by_check(&truth);
    for (check, expected) in &want {
        let found = got.get(check).cloned().unwrap_or_default();
        let tp = found.intersection(expected).count();
        assert_eq!(
            (tp, found.len(), expected.len()),
            (expected.len(), expected.len(), expected.len()),
            "{check}: precision {}/{}, recall {}/{}",
            tp,
            found.len(),
            tp,
            expected.len()
        );
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    // The info heuristics flag only the random walk's own rare outliers: none on a fault.
    let info = keys(
        &findings
            .iter()
            .filter(|f| f["severity"] == "info")
            .cloned()
            .collect::<Vec<_>>(),
    );
    assert!(info.len() <= 20, "{} info findings", info.len());
    for (s, d, c) in &info {
        assert!(
            !truth.iter().any(|t| &t.0 == s && &t.1 == d),
            "{c} on an injected fault {s} {d}"
        );
    }
    // The summary agrees with stdout.
    let summary: Value = serde_json::from_str(&w.read("summary.json")).unwrap();
    let lines = std::fs::read_to_string(&bars).unwrap().lines().count();
    assert_eq!(summary["rows"], lines);
    assert_eq!(summary["exit_status"], 1);
    let pj = summary["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "price_jump")
        .unwrap();
    assert_eq!(
        (pj["findings"].as_u64(), pj["severity"].as_str()),
        (Some(25), Some("critical"))
    );
}

#[test]
fn the_lake_gives_the_same_findings_as_the_ndjson() {
    let w = WorkDir::new();
    let truth = w.join("truth.ndjson");
    gen_bars(
        &w,
        "bars.ndjson",
        &[
            "--symbols",
            "40",
            "--days",
            "600",
            "--seed",
            "3",
            "--inject-faults",
            "--truth",
            truth.to_str().unwrap(),
        ],
    );
    let bars = w.join("bars.ndjson");
    let as_of = last_date(&bars);
    let args = ["--calendar", "infer", "--full-history", "--as-of", &as_of];
    let from_ndjson = w.cmd("qa-check").arg(&bars).args(args).fails_with(1);
    w.cmd("to-parquet")
        .arg(&bars)
        .args(["--lake", "lake"])
        .succeeds();
    let from_lake = w
        .cmd("qa-check")
        .args(["--lake", "lake"])
        .args(args)
        .fails_with(1);
    let strip = |text: &str| -> Vec<Value> {
        ndjson_values(text)
            .into_iter()
            .map(|mut v| {
                v.as_object_mut().unwrap().remove("run_id");
                v
            })
            .collect()
    };
    let (a, b) = (strip(&from_ndjson.stdout()), strip(&from_lake.stdout()));
    // The lake holds one row per date (the newest copy): the duplicates are gone, the rest the same.
    let not_dup: Vec<&Value> = a.iter().filter(|f| f["check"] != "duplicate").collect();
    assert_eq!(not_dup, b.iter().collect::<Vec<_>>());
    assert!(a.iter().any(|f| f["check"] == "duplicate"));
    // --symbols and --from on the lake.
    let sym = a[0]["symbol"].as_str().unwrap().to_string();
    let one = w
        .cmd("qa-check")
        .args([
            "--lake",
            "lake",
            "--symbols",
            &sym,
            "--checks",
            "null_fields,ohlc",
        ])
        .args(["--calendar", "infer", "--as-of", &as_of])
        .run();
    for f in ndjson_values(&one.stdout()) {
        assert_eq!(f["symbol"], sym.as_str());
    }
}

/// The genuine Yahoo download CSV as Bar NDJSON (the test's adapter, not a product parser),
/// with an optional replacement volume for the last row.
fn yahoo_csv_bars(last_volume: Option<&str>) -> String {
    let text = std::fs::read_to_string(fixture("real/yahoo_v7_csv/AAPL_1980-12-12_2022-04-07.csv"))
        .unwrap();
    let lines: Vec<&str> = text.lines().skip(1).collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        let f: Vec<&str> = line.split(',').collect();
        let volume = match last_volume {
            Some(v) if i == lines.len() - 1 => v,
            _ => f[6],
        };
        out.push_str(&format!(
            "{{\"symbol\":\"AAPL\",\"date\":\"{}\",\"open\":{},\"high\":{},\"low\":{},\"close\":{},\"adj_close\":{},\"volume\":{},\"provider\":\"yahoo\"}}\n",
            f[0], f[1], f[2], f[3], f[4], f[5], volume
        ));
    }
    out
}

#[test]
fn genuine_yahoo_csv_the_no_trade_day_and_the_suspicious_volume() {
    let w = WorkDir::new();
    let run = w
        .cmd("qa-check")
        .args([
            "--calendar",
            "xnys",
            "--full-history",
            "--as-of",
            "2022-04-07",
        ])
        .stdin(yahoo_csv_bars(None))
        .succeeds();
    let f = ndjson_values(&run.stdout());
    let of = |check: &str| -> Vec<String> {
        f.iter()
            .filter(|x| x["check"] == check)
            .map(|x| x["date"].as_str().unwrap().to_string())
            .collect()
    };
    // 1981-08-10 traded nothing (volume 0, open = high = low = close): zero_volume, not ohlc.
    assert_eq!(of("zero_volume"), vec!["1981-08-10"]);
    assert!(of("ohlc").is_empty());
    // 41 years against the NYSE calendar, closures since 1972 included: no gap, no dup, no null.
    assert!(of("missing_dates").is_empty(), "{:?}", of("missing_dates"));
    assert!(of("duplicate").is_empty() && of("null_fields").is_empty());
    // Splits are already adjusted in Yahoo's closes: nothing moves 75 % in a day.
    assert!(of("price_jump").is_empty());
    // Big real moves are info (the 1987 crash, the 2000-09-29 profit warning).
    assert!(of("iqr_jump").contains(&"1987-10-19".to_string()));
    assert!(of("iqr_jump").contains(&"2000-09-29".to_string()));
    assert!(f.iter().all(|x| x["severity"] != "critical"));
    // The last day in this copy is an ordinary 77.5M: no spike.
    assert!(!of("volume_spike").contains(&"2022-04-07".to_string()));
    // The 775,177,000 the provenance note describes would be flagged.
    let run = w
        .cmd("qa-check")
        .args(["--checks", "volume_spike", "--as-of", "2022-04-07"])
        .stdin(yahoo_csv_bars(Some("775177000")))
        .succeeds();
    let spikes: Vec<Value> = ndjson_values(&run.stdout());
    let last = spikes
        .iter()
        .find(|x| x["date"] == "2022-04-07")
        .expect("no spike on 2022-04-07");
    assert_eq!(last["details"]["volume"], 775177000);
    assert!(last["details"]["z"].as_f64().unwrap() > 5.0);
}

#[test]
fn the_aapl_split_from_the_chart_api_raises_no_price_jump() {
    let w = WorkDir::new();
    let dir = fixture("real/yahoo_chart");
    let routes = format!(
        "routes:\n  - path: /v8/finance/chart/AAPL\n    file: {}/AAPL_1d_2020-08-31_2020-11-07_split4to1.body.json\n",
        dir.display()
    );
    let s = ReplayServer::start(
        Routes::from_yaml(&routes).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    let fetch = w
        .cmd("ohlcv-fetch")
        .args(["--symbols", "AAPL", "--base-url", &s.base_url()])
        .args(["--start", "2020-08-01", "--end", "2020-11-07"])
        .arg("--actions")
        .arg(w.join("actions.ndjson"))
        .succeeds();
    w.write("bars.ndjson", fetch.stdout());
    let actions = ndjson_values(&w.read("actions.ndjson"));
    assert!(
        actions
            .iter()
            .any(|a| a["action"] == "split" && a["date"] == "2020-08-31")
    );
    let qa = |extra: &[&str], input: &str| {
        w.cmd("qa-check")
            .arg(w.join(input))
            .args([
                "--checks",
                "price_jump,ohlc,null_fields,missing_dates",
                "--as-of",
                "2020-11-06",
            ])
            .args(extra)
            .run()
    };
    let run = qa(&[], "bars.ndjson");
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert!(run.stdout().is_empty(), "{}", run.stdout());
    // The same split in the genuine download CSV, made unadjusted (prices before the ex-date
    // x4, as a provider that does not adjust gives them): -74 %, under a 50 % threshold a
    // price_jump, unless the split from the chart API explains it.
    let unadjusted: String = ndjson_values(&yahoo_csv_bars(None))
        .into_iter()
        .filter(|b| ("2020-06-01".."2020-11-01").contains(&b["date"].as_str().unwrap()))
        .map(|mut b| {
            if b["date"].as_str().unwrap() < "2020-08-31" {
                for k in ["open", "high", "low", "close"] {
                    let x = b[k].as_f64().unwrap() * 4.0;
                    b[k] = serde_json::json!((x * 1e6).round() / 1e6);
                }
            }
            format!("{b}\n")
        })
        .collect();
    w.write("unadjusted.ndjson", unadjusted);
    w.write("strict.yaml", "qa:\n  price_jump_pct: 50\n");
    let cfg = w.join("strict.yaml");
    let cfg = cfg.to_str().unwrap();
    let run = qa(&["--config", cfg], "unadjusted.ndjson");
    assert_eq!(run.code(), Some(1), "{}", run.stdout());
    let f = ndjson_values(&run.stdout());
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0]["check"].as_str(), f[0]["date"].as_str()),
        (Some("price_jump"), Some("2020-08-31"))
    );
    let actions = w.join("actions.ndjson");
    let run = qa(
        &["--config", cfg, "--actions", actions.to_str().unwrap()],
        "unadjusted.ndjson",
    );
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
}

fn bar(sym: &str, date: &str, close: f64, volume: i64) -> String {
    format!(
        "{{\"symbol\":\"{sym}\",\"date\":\"{date}\",\"open\":{close},\"high\":{},\"low\":{},\"close\":{close},\"adj_close\":{close},\"volume\":{volume},\"provider\":\"yahoo\"}}\n",
        close + 1.0,
        close - 1.0
    )
}

#[test]
fn lag_coverage_freshness_and_fetch_errors_gate_the_chain() {
    let w = WorkDir::new();
    // XNYS, week of 2024-06-10. AAA and BBB are current on Friday the 14th; CCC stopped on
    // Monday the 10th (4 sessions behind); DDD is in the universe but has no bars.
    let mut input = String::new();
    for d in [
        "2024-06-10",
        "2024-06-11",
        "2024-06-12",
        "2024-06-13",
        "2024-06-14",
    ] {
        input.push_str(&bar("AAA", d, 10.0, 1000));
    }
    for d in [
        "2024-06-10",
        "2024-06-11",
        "2024-06-12",
        "2024-06-13",
        "2024-06-14",
    ] {
        input.push_str(&bar("BBB", d, 20.0, 1000));
    }
    input.push_str(&bar("CCC", "2024-06-10", 30.0, 1000));
    w.write("bars.ndjson", &input);
    w.write(
        "universe.ndjson",
        "{\"symbol\":\"AAA\",\"exchange\":\"XNAS\"}\n{\"symbol\":\"BBB\",\"exchange\":\"XNYS\"}\n{\"symbol\":\"CCC\",\"exchange\":\"XNAS\"}\n{\"symbol\":\"DDD\",\"exchange\":\"XNAS\"}\n{\"symbol\":\"OLD\",\"exchange\":\"XNAS\",\"status\":\"delisted\"}\n",
    );
    w.write(
        "state.json",
        r#"{"version":1,"symbols":{"DDD":{"status":"dlq","consecutive_failures":3,"last_error":"NOTFOUND: gone"},"BBB":{"status":"error","consecutive_failures":1}}}"#,
    );
    let run = w
        .cmd("qa-check")
        .arg("bars.ndjson")
        .args(["--universe", "universe.ndjson", "--state", "state.json"])
        .args(["--as-of", "2024-06-14", "--summary", "s.json"])
        .fails_with(1);
    let f = ndjson_values(&run.stdout());
    let get = |check: &str| -> Vec<&Value> { f.iter().filter(|x| x["check"] == check).collect() };
    let lag = get("lag");
    assert_eq!(lag.len(), 2, "{f:?}");
    assert_eq!(lag[0]["symbol"], "CCC");
    assert_eq!(lag[0]["details"]["trading_days_behind"], 4);
    assert_eq!(lag[1]["symbol"], "DDD");
    assert_eq!(lag[1]["details"]["last_date"], Value::Null);
    // 2 of 4 active lag: > 5 %, so lag is critical.
    assert!(lag.iter().all(|x| x["severity"] == "critical"));
    let cov = get("coverage");
    assert_eq!(cov.len(), 1);
    assert_eq!(cov[0]["details"]["share_pct"], 50.0);
    assert_eq!(cov[0]["symbol"], Value::Null);
    let fe = get("fetch_error");
    assert_eq!(fe.len(), 1);
    assert_eq!(fe[0]["symbol"], "DDD");
    assert!(get("freshness").is_empty());
    let s: Value = serde_json::from_str(&w.read("s.json")).unwrap();
    assert_eq!(s["calendar"], "xnys");
    assert_eq!(s["universe"], 4);
    let lag_line = s["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "lag")
        .unwrap();
    assert_eq!(lag_line["colour"], "red");
    assert_eq!(lag_line["share_pct"], 50.0);

    // Two weeks later nothing is fresh: freshness is critical too.
    let run = w
        .cmd("qa-check")
        .arg("bars.ndjson")
        .args(["--checks", "freshness", "--as-of", "2024-07-01"])
        .fails_with(1);
    let f = ndjson_values(&run.stdout());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["details"]["days_old"], 17);

    // A current set passes and says nothing under cron.
    let run = w
        .cmd("qa-check")
        .arg("bars.ndjson")
        .args(["--symbols", "AAA,BBB", "--as-of", "2024-06-14"])
        .succeeds();
    assert!(run.stdout().is_empty(), "{}", run.stdout());
    assert!(run.stderr().is_empty(), "{}", run.stderr());
}

#[test]
fn bad_input_is_65_with_file_and_line_and_usage_errors_are_2() {
    let w = WorkDir::new();
    w.write(
        "bad.ndjson",
        format!(
            "{}{{\"symbol\":\"AAA\",\"date\":\"2024-06-11\",\"close\":\"x\"}}\n",
            bar("AAA", "2024-06-10", 1.0, 1)
        ),
    );
    w.cmd("qa-check")
        .arg("bad.ndjson")
        .fails_with(65)
        .stderr_contains("bad.ndjson:2");
    // A symbol that comes back after another's bars: a small input is regrouped (a large one
    // is refused: data_safety::small_inputs_are_regrouped_so_the_example_file_runs).
    w.write(
        "ungrouped.ndjson",
        format!(
            "{}{}{}",
            bar("AAA", "2024-06-10", 1.0, 1),
            bar("BBB", "2024-06-10", 1.0, 1),
            bar("AAA", "2024-06-11", 1.0, 1)
        ),
    );
    let run = w
        .cmd("qa-check")
        .args(["ungrouped.ndjson", "--checks", "duplicate"])
        .succeeds();
    assert!(run.stdout().is_empty(), "{}", run.stdout());
    w.cmd("qa-check").arg("missing.ndjson").fails_with(66);
    w.cmd("qa-check")
        .args(["--lake", "no-such-lake"])
        .fails_with(66);
    w.cmd("qa-check")
        .args(["--state", "no-state.json", "--as-of", "2024-06-10"])
        .stdin(bar("AAA", "2024-06-10", 1.0, 1))
        .fails_with(66);
    w.cmd("qa-check")
        .args(["--checks", "ohcl"])
        .stdin("")
        .fails_with(2)
        .stderr_contains("unknown check")
        .stderr_contains("ohcl");
    w.write("cfg.yaml", "qa:\n  severity:\n    bogus: critical\n");
    w.cmd("qa-check")
        .args(["--config", "cfg.yaml"])
        .stdin("")
        .fails_with(78);
    // qa.severity raises a check: a broken bar then stops the chain.
    w.write("ohlc.yaml", "qa:\n  severity:\n    ohlc: critical\n");
    let mut broken = bar("AAA", "2024-06-10", 10.0, 5);
    broken = broken.replace("\"high\":11", "\"high\":9");
    w.cmd("qa-check")
        .args(["--config", "ohlc.yaml", "--checks", "ohlc"])
        .stdin(broken.clone())
        .fails_with(1)
        .stdout_contains("\"severity\":\"critical\"");
    w.cmd("qa-check")
        .args(["--checks", "ohlc"])
        .stdin(broken)
        .succeeds()
        .stdout_contains("\"check\":\"ohlc\"");
}

#[test]
fn training_profile_checks_the_set_shape() {
    let w = WorkDir::new();
    let mut input = String::new();
    // AAA: 3 years, a day under $1 and under 50k shares. BBB: a null-only adj_close.
    for (i, d) in ["2019-06-03", "2020-06-01", "2021-06-01"]
        .iter()
        .enumerate()
    {
        input.push_str(&bar("AAA", d, if i == 1 { 0.5 } else { 5.0 }, 100_000));
    }
    input.push_str(&bar("AAA", "2021-06-02", 5.0, 10));
    for d in ["2021-06-01", "2021-06-02"] {
        input.push_str(
            &bar("BBB", d, 50.0, 100_000).replace("\"adj_close\":50", "\"adj_close\":null"),
        );
    }
    w.write("bars.ndjson", &input);
    w.write(
        "t.yaml",
        "qa:\n  training:\n    stocks: 3\n    min_years: 2\n",
    );
    let run = w
        .cmd("qa-check")
        .args(["--config", "t.yaml", "--profile", "training", "--checks"])
        .arg("stock_count,history_years,all_null_column,min_price,min_volume")
        .arg("bars.ndjson")
        .fails_with(1);
    let f = ndjson_values(&run.stdout());
    let got: BTreeSet<(String, String)> = f
        .iter()
        .map(|x| {
            (
                x["check"].as_str().unwrap().to_string(),
                x["symbol"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(String, String)> = [
        ("min_price", "AAA"),
        ("min_volume", "AAA"),
        ("history_years", "BBB"),
        ("all_null_column", "BBB"),
        ("stock_count", ""),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want, "{f:?}");
}
