//! tickers-filter through the binary: the notes' tests, the genuine 2025 symbol directory as
//! tickers-scrape reads it, several sources merged.

use tickerlake_tests::{WorkDir, fixture, ndjson_values};

fn symbols(out: &str) -> Vec<String> {
    ndjson_values(out)
        .iter()
        .map(|r| r["symbol"].as_str().unwrap().to_string())
        .collect()
}

fn lines(records: &[serde_json::Value]) -> String {
    records.iter().map(|r| format!("{r}\n")).collect()
}

fn report(w: &WorkDir) -> serde_json::Value {
    serde_json::from_str(&w.read("report.json")).unwrap()
}

#[test]
fn the_notes_three_tests_dollar_signs_preferred_series_and_b_over_a() {
    let w = WorkDir::new();
    // test_removes_dollar_signs: the source spelled them with $ (a listing's name never has one).
    let input = lines(&[
        serde_json::json!({"symbol": "AAPL"}),
        serde_json::json!({"symbol": "ABR-D", "source_symbol": "ABR$D"}),
        serde_json::json!({"symbol": "MSFT"}),
        serde_json::json!({"symbol": "ACR-C", "source_symbol": "ACR$C"}),
    ]);
    let run = w
        .cmd("tickers-filter")
        .args(["--report", "report.json"])
        .stdin(input)
        .succeeds();
    assert_eq!(symbols(&run.stdout()), ["AAPL", "MSFT"]);
    assert_eq!(report(&w)["rules"]["chars"], 2);
    // test_removes_preferred_series: no names, so the symbols decide.
    let input = lines(
        &["OXLC", "OXLCG", "OXLCI", "OXLCL", "AAPL"].map(|s| serde_json::json!({"symbol": s})),
    );
    let run = w
        .cmd("tickers-filter")
        .args(["--report", "report.json"])
        .stdin(input)
        .succeeds();
    assert_eq!(symbols(&run.stdout()), ["AAPL", "OXLC"]);
    assert_eq!(report(&w)["rules"]["preferred_series"], 3);
    // test_keeps_b_over_a, with the count.
    let input = lines(&["KELYA", "KELYB", "AAPL"].map(|s| serde_json::json!({"symbol": s})));
    let run = w
        .cmd("tickers-filter")
        .args(["--report", "report.json"])
        .stdin(input.clone())
        .succeeds();
    assert_eq!(symbols(&run.stdout()), ["AAPL", "KELYB"]);
    assert_eq!(report(&w)["rules"]["share_class"], 1);
    let run = w
        .cmd("tickers-filter")
        .arg("--keep-classes")
        .stdin(input)
        .succeeds();
    assert_eq!(symbols(&run.stdout()), ["AAPL", "KELYA", "KELYB"]);
}

/// The 2025-07-21 symbol directory as tickers-scrape names it.
fn scraped(w: &WorkDir) -> std::path::PathBuf {
    let run = w
        .cmd("tickers-scrape")
        .args(["nasdaqtrader", "--as-of", "2025-07-21", "--input"])
        .arg(fixture("real/nasdaqtrader/nasdaqlisted_20250721.txt"))
        .arg(fixture("real/nasdaqtrader/otherlisted_20250721.txt"))
        .succeeds();
    w.write("scraped.ndjson", run.stdout())
}

#[test]
fn the_real_directory_loses_its_preferreds_warrants_rights_units_and_notes_and_keeps_its_stocks() {
    let w = WorkDir::new();
    let input = scraped(&w);
    let run = w
        .cmd("tickers-filter")
        .arg(&input)
        .args(["--report", "report.json"])
        .succeeds();
    let kept = symbols(&run.stdout());
    let has = |s: &str| kept.binary_search(&s.to_string()).is_ok();
    // Real junk, each for its own rule.
    for gone in [
        "ABR-D", // Arbor Realty Trust 6.375% Series D Cumulative Redeemable Preferred Stock
        "ADC-A", // Depositary Shares, each representing 1/1,000th of a … Preferred Stock
        "OXLCN", // 7.125% Series 2029 Term Preferred Stock
        "AACIW", // Armada Acquisition Corp. II - Warrant
        "EVGOW", // Warrants, each whole warrant exercisable for one share of Class A Common Stock
        "AACBR", // Artius II Acquisition Inc. - Rights
        "AACBU", // Artius II Acquisition Inc. - Units
        "OXLCG", // Oxford Lane Capital Corp. - 7.95% Notes due 2032
        "AEFC",  // Aegon Funding Company LLC 5.10% Subordinated Notes due 2049
        "AFGB",  // American Financial Group, Inc. 5.875% Subordinated Debentures due 2059
        "AFOS",  // an ETF, without --keep-etfs
        "KELYA", // Kelly Services' class A beside its class B
        "BRK.A", // Berkshire's class A beside its class B
    ] {
        assert!(!has(gone), "{gone} kept");
    }
    // Real common stocks whose issuer or symbol looks like junk.
    for stays in [
        "PFBC", // Preferred Bank - Common Stock
        "HCC",  // Warrior Met Coal, Inc. Common Stock
        "UAL",  // United Airlines Holdings
        "FUNC", // First United Corporation
        "NESR", // National Energy Services Reunited Corp - Ordinary Shares
        "ABEV", // American Depositary Shares (Each representing 1 Common Share)
        "SNOW", // Snowflake Inc. Common Stock: a symbol ending in W
        "GWW",  // W.W. Grainger, Inc. Common Stock
        "ARW",  // Arrow Electronics, Inc. Common Stock
        "KELYB", "BRK.B", "GOOG", "GOOGL", "OXLC", "AAPL",
    ] {
        assert!(has(stays), "{stays} left out");
    }
    let r = report(&w);
    let rules = &r["rules"];
    // Every rule named, zero or not, and the counts add up.
    let left: u64 = rules
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(r["records"], 11546);
    assert_eq!(left + r["kept"].as_u64().unwrap(), 11546);
    assert_eq!(r["kept"], kept.len() as u64);
    // Pinned, as reviewed against the directory's names (docs/tickers-filter.md): a change to a
    // rule shows up here.
    let counts: Vec<(&str, u64)> = rules
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(
        counts,
        [
            ("chars", 0),
            ("test_issue", 0),
            ("preferred", 502),
            ("warrant", 411),
            ("right", 65),
            ("unit", 154),
            ("note", 205),
            ("preferred_series", 0),
            ("asset_type", 4344),
            ("exchange", 0),
            ("country", 0),
            ("share_class", 11),
        ]
    );
    assert_eq!(
        rules["test_issue"], 0,
        "tickers-scrape left the test issues out"
    );
    assert_eq!(r["markets"]["us"], kept.len() as u64);
    // --keep-etfs keeps the ETFs; the same input gives the same bytes.
    let etfs = w
        .cmd("tickers-filter")
        .arg(&input)
        .arg("--keep-etfs")
        .succeeds();
    assert!(symbols(&etfs.stdout()).contains(&"AFOS".to_string()));
    let again = w.cmd("tickers-filter").arg(&input).succeeds();
    assert!(again.stdout() == run.stdout());
    // --exchanges keeps one venue.
    let nyse = w
        .cmd("tickers-filter")
        .arg(&input)
        .args(["--exchanges", "XNYS"])
        .succeeds();
    let nyse = ndjson_values(&nyse.stdout());
    assert!(!nyse.is_empty() && nyse.iter().all(|r| r["exchange"] == "XNYS"));
}

#[test]
fn sources_merge_into_one_record_per_listing_and_unknown_fields_pass_through() {
    let w = WorkDir::new();
    let directory = scraped(&w);
    let sp500 = w
        .cmd("tickers-scrape")
        .args(["sp500", "--as-of", "2025-07-21", "--input"])
        .arg(fixture(
            "real/wikipedia/List_of_SP_500_companies_rev1250356709_2024-10-09.html",
        ))
        .succeeds();
    let mut tagged = ndjson_values(&sp500.stdout());
    tagged[0]["x_note"] = "mine".into();
    let first = tagged[0]["symbol"].as_str().unwrap().to_string();
    let sp500 = w.write("sp500.ndjson", lines(&tagged));
    // The index table first on the command line: precedence, not order, decides.
    let run = w
        .cmd("tickers-filter")
        .arg(&sp500)
        .arg(&directory)
        .args(["--report", "report.json"])
        .succeeds();
    let out = ndjson_values(&run.stdout());
    let aapl = out.iter().find(|r| r["symbol"] == "AAPL").unwrap();
    assert_eq!(aapl["source"], "nasdaqtrader");
    assert_eq!(aapl["exchange"], "XNAS");
    assert_eq!(
        aapl["sector"], "Information Technology",
        "filled from the table"
    );
    assert_eq!(aapl["indexes"], serde_json::json!(["sp500"]));
    let tagged_out = out.iter().find(|r| r["symbol"] == first.as_str()).unwrap();
    assert_eq!(tagged_out["x_note"], "mine");
    let r = report(&w);
    assert_eq!(r["by_source"]["sp500"], 503);
    assert!(r["merged"].as_u64().unwrap() >= 490, "{}", r["merged"]);
    assert!(r["indexes"]["sp500"].as_u64().unwrap() >= 490);

    // A line that is no Ticker stops the run, naming it; with --rejects it is set aside.
    let bad = w.write(
        "bad.ndjson",
        "{\"symbol\":\"AAPL\"}\n{\"symbol\":\"no way\"}\n",
    );
    w.cmd("tickers-filter")
        .arg(&bad)
        .fails_with(65)
        .stderr_contains("bad.ndjson:2");
    let run = w
        .cmd("tickers-filter")
        .arg(&bad)
        .args(["--rejects", "rejects.ndjson"])
        .fails_with(1);
    assert_eq!(symbols(&run.stdout()), ["AAPL"]);
    assert_eq!(w.read("rejects.ndjson"), "{\"symbol\":\"no way\"}\n");
    w.cmd("tickers-filter")
        .args(["--exchanges", "NOPE"])
        .stdin("")
        .fails_with(2);
}

/// The 2025-07-21 directory without the listings named, scraped as of `as_of`.
fn month(
    w: &WorkDir,
    tag: &str,
    as_of: &str,
    without: &[&str],
    keep_share: Option<usize>,
) -> std::path::PathBuf {
    let listed =
        std::fs::read_to_string(fixture("real/nasdaqtrader/nasdaqlisted_20250721.txt")).unwrap();
    let mut lines: Vec<&str> = listed
        .lines()
        .filter(|l| !without.iter().any(|s| l.starts_with(&format!("{s}|"))))
        .collect();
    if let Some(keep) = keep_share {
        // Half a listing that still looks whole: header, the first rows, the footer.
        let footer = lines.pop().unwrap();
        lines.truncate(keep);
        lines.push(footer);
    }
    let path = w.write(&format!("nasdaqlisted-{tag}.txt"), lines.join("\n") + "\n");
    let run = w
        .cmd("tickers-scrape")
        .args(["nasdaqtrader", "--as-of", as_of, "--input"])
        .arg(&path)
        .arg(fixture("real/nasdaqtrader/otherlisted_20250721.txt"))
        .succeeds();
    w.write(&format!("scraped-{tag}.ndjson"), run.stdout())
}

fn by_symbol(path: &std::path::Path) -> std::collections::BTreeMap<String, serde_json::Value> {
    ndjson_values(&std::fs::read_to_string(path).unwrap())
        .into_iter()
        .map(|r| (r["symbol"].as_str().unwrap().to_string(), r))
        .collect()
}

#[test]
fn months_of_listings_delist_only_with_evidence_relist_and_archive() {
    let w = WorkDir::new();
    let filter = |input: &std::path::Path, previous: Option<&str>, as_of: &str, out: &str| {
        let mut cmd = w.cmd("tickers-filter").arg(input).args(["--as-of", as_of]);
        if let Some(p) = previous {
            cmd = cmd.args(["--previous", p, "--delta", "delta.ndjson"]);
        }
        let run = cmd.args(["--report", "report.json"]).run();
        w.write(out, run.stdout());
        run
    };
    // Month 1: every listing new.
    let m1 = month(&w, "m1", "2025-07-21", &[], None);
    filter(&m1, None, "2025-07-21", "u1.ndjson").code_is(0);
    let u1 = by_symbol(&w.join("u1.ndjson"));
    assert!(
        u1.values()
            .all(|r| r["status"] == "active" && r["first_seen"] == "2025-07-21")
    );
    // Month 2: three listings gone from a directory read whole.
    let gone = ["ACIW", "FUNC", "PFBC"];
    let m2 = month(&w, "m2", "2025-08-21", &gone, None);
    filter(&m2, Some("u1.ndjson"), "2025-08-21", "u2.ndjson").code_is(0);
    let u2 = by_symbol(&w.join("u2.ndjson"));
    for s in gone {
        let r = &u2[s];
        assert_eq!(
            (
                r["status"].as_str(),
                r["delisted_on"].as_str(),
                r["delisted_reason"].as_str()
            ),
            (
                Some("delisted"),
                Some("2025-08-21"),
                Some("absent from nasdaqtrader")
            ),
            "{s}"
        );
        assert_eq!(r["last_seen"], "2025-07-21");
    }
    assert_eq!(u2["AAPL"]["last_seen"], "2025-08-21");
    assert_eq!(u2["AAPL"]["first_seen"], "2025-07-21");
    let delta = ndjson_values(&w.read("delta.ndjson"));
    assert_eq!(delta.len(), 3);
    assert!(
        delta
            .iter()
            .all(|d| d["from"] == "active" && d["to"] == "delisted")
    );
    // With ohlcv-fetch's state, the notes' stricter rule: gone from the listing and failing to
    // fetch for seven nights in a row; the others wait, active.
    let state = w.write(
        "fetch-state.json",
        r#"{"version": 1, "symbols": {"ACIW": {"status": "dlq", "consecutive_failures": 7},
            "FUNC": {"status": "error", "consecutive_failures": 2}}}"#,
    );
    let strict = w
        .cmd("tickers-filter")
        .arg(&m2)
        .args(["--previous", "u1.ndjson", "--state"])
        .arg(&state)
        .args(["--as-of", "2025-08-21", "--report", "report.json"])
        .succeeds();
    let strict = ndjson_values(&strict.stdout());
    let status_of = |s: &str| {
        strict.iter().find(|r| r["symbol"] == s).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(
        [status_of("ACIW"), status_of("FUNC"), status_of("PFBC")],
        ["delisted", "active", "active"]
    );
    assert_eq!(report(&w)["lifecycle"]["awaiting_fetch_failures"], 2);
    w.cmd("tickers-filter")
        .arg(&m2)
        .args(["--previous", "u1.ndjson", "--state", "no-such-state.json"])
        .fails_with(66);
    // Month 3: the scrape failed — nothing to read, and its status says so: nothing delisted.
    let empty = w.write("empty.ndjson", "");
    let status = w.write(
        "status.json",
        r#"{"sources": {"nasdaqtrader": {"kind": "nasdaqtrader", "status": "structure_error",
            "as_of": "2025-09-21", "records": 0, "files": [], "seconds": 0.1,
            "code": "SCRAPE404"}}}"#,
    );
    let run = w
        .cmd("tickers-filter")
        .arg(&empty)
        .args(["--previous", "u2.ndjson", "--status"])
        .arg(&status)
        .args(["--as-of", "2025-09-21", "--report", "report.json"])
        .succeeds();
    let u3 = ndjson_values(&run.stdout());
    assert_eq!(u3.len(), u2.len());
    assert_eq!(u3.iter().filter(|r| r["status"] == "delisted").count(), 3);
    let report: serde_json::Value = serde_json::from_str(&w.read("report.json")).unwrap();
    assert!(
        report["lifecycle"]["unconfirmed"]["nasdaqtrader"]
            .as_u64()
            .unwrap()
            > 5000
    );
    // A half-delivered directory: the guard refuses the mass delisting (75), statuses kept.
    let half = month(&w, "half", "2025-09-21", &[], Some(2000));
    let run = filter(&half, Some("u2.ndjson"), "2025-09-21", "u3.ndjson").code_is(75);
    assert!(run.stderr().contains("max_delist_pct"), "{}", run.stderr());
    let u3 = by_symbol(&w.join("u3.ndjson"));
    // ACIW and FUNC are in the half that came, listed again; PFBC, of the other half, stays
    // delisted; nothing else is.
    let delisted: Vec<&String> = u3
        .iter()
        .filter(|(_, r)| r["status"] == "delisted")
        .map(|(s, _)| s)
        .collect();
    assert_eq!(delisted, ["PFBC"]);
    assert_eq!(u3["ACIW"]["status"], "active");
    assert_eq!(
        u3["ZVRA"]["status"], "active",
        "a listing of the missing half stays active"
    );
    // Month 4: the three listed again.
    let m4 = month(&w, "m4", "2025-10-21", &[], None);
    filter(&m4, Some("u2.ndjson"), "2025-10-21", "u4.ndjson").code_is(0);
    let u4 = by_symbol(&w.join("u4.ndjson"));
    for s in gone {
        assert_eq!(u4[s]["status"], "active", "{s}");
        assert!(u4[s].get("delisted_on").is_none(), "{s}");
        assert_eq!(u4[s]["first_seen"], "2025-07-21");
    }
    let delta = ndjson_values(&w.read("delta.ndjson"));
    assert_eq!(delta.len(), 3);
    assert!(
        delta
            .iter()
            .all(|d| d["from"] == "delisted" && d["to"] == "active")
    );
    // Two years on, a listing still delisted is archived.
    let later = month(&w, "later", "2027-08-23", &gone, None);
    filter(&later, Some("u2.ndjson"), "2027-08-23", "u5.ndjson").code_is(0);
    let u5 = by_symbol(&w.join("u5.ndjson"));
    for s in gone {
        assert_eq!(u5[s]["status"], "archived", "{s}");
    }
}

#[test]
fn samples_are_stratified_exact_seeded_and_shards_split_the_universe() {
    let w = WorkDir::new();
    let directory = scraped(&w);
    let screener = w
        .cmd("tickers-scrape")
        .args(["nasdaq-screener", "--as-of", "2025-07-21", "--input"])
        .arg(fixture(
            "real/nasdaq_screener/nasdaq_screener_export_2024-05-08.csv",
        ))
        .succeeds();
    let screener = w.write("screener.ndjson", screener.stdout());
    let universe = w
        .cmd("tickers-filter")
        .arg(&directory)
        .arg(&screener)
        .succeeds();
    let universe_path = w.write("universe.ndjson", universe.stdout());
    let all = by_symbol(&universe_path);
    let sample = |args: &[&str]| {
        let run = w
            .cmd("tickers-filter")
            .arg(&universe_path)
            .args(args)
            .args(["--report", "report.json"])
            .run();
        (symbols(&run.stdout()), report(&w), run)
    };
    let (s7, r7, _) = sample(&["--target", "300", "--seed", "7"]);
    assert_eq!(s7.len(), 300);
    assert!(s7.iter().all(|s| all.contains_key(s)));
    // Quotas proportional to the buckets, rounded by largest remainder: within one of the exact
    // share, summing to the target; each bucket drew its quota.
    let buckets = r7["sample"]["buckets"].as_object().unwrap();
    let total: u64 = buckets
        .values()
        .map(|b| b["listings"].as_u64().unwrap())
        .sum();
    assert_eq!(total, all.len() as u64);
    let mut quota_sum = 0;
    for (name, b) in buckets {
        let (listings, quota) = (
            b["listings"].as_u64().unwrap(),
            b["quota"].as_u64().unwrap(),
        );
        let exact = listings as f64 * 300.0 / total as f64;
        assert!(
            (quota as f64 - exact).abs() < 1.0,
            "{name}: {quota} for {exact}"
        );
        assert_eq!(b["drawn"], quota);
        quota_sum += quota;
    }
    assert_eq!(quota_sum, 300);
    assert!(buckets.contains_key("active us unknown"), "{buckets:?}");
    // Drawn where the report says: each listing's cap in its bucket.
    let in_large = s7
        .iter()
        .filter(|s| {
            all[*s]["market_cap"]
                .as_f64()
                .is_some_and(|c| (10e9..200e9).contains(&c))
        })
        .count() as u64;
    assert_eq!(
        in_large,
        buckets["active us 3 10e9-200e9"]["quota"].as_u64().unwrap()
    );
    // Same seed, same sample, whatever the input order; another seed, another sample.
    let shuffled: String = {
        let text = std::fs::read_to_string(&universe_path).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.reverse();
        lines.join("\n") + "\n"
    };
    let reversed = w.write("reversed.ndjson", shuffled);
    let again = w
        .cmd("tickers-filter")
        .arg(&reversed)
        .args(["--target", "300", "--seed", "7"])
        .succeeds();
    assert_eq!(symbols(&again.stdout()), s7);
    let (s8, _, _) = sample(&["--target", "300", "--seed", "8"]);
    assert_ne!(s8, s7);
    // Without a market cap: left out and counted when asked, never drawn silently.
    let (excluded, r, _) = sample(&["--target", "300", "--exclude-no-cap"]);
    assert_eq!(excluded.len(), 300);
    assert!(excluded.iter().all(|s| all[s]["market_cap"].is_number()));
    assert_eq!(
        r["sample"]["no_cap_excluded"],
        buckets["active us unknown"]["listings"]
    );
    // The test mode: N by seeded hash.
    let (plain, _, _) = sample(&["--sample", "25", "--seed", "7"]);
    assert_eq!(plain.len(), 25);
    // Shards: disjoint, and together the universe.
    let mut union = Vec::new();
    for part in 1..=3 {
        let (s, _, _) = sample(&["--shard", &format!("{part}/3")]);
        assert!(!s.is_empty());
        union.extend(s);
    }
    union.sort();
    let names: Vec<String> = all.keys().cloned().collect();
    assert_eq!(union, names);
    let (_, _, bad) = sample(&["--shard", "4/3"]);
    assert_eq!(bad.code(), Some(2));
}

#[test]
fn a_failed_share_of_the_sample_comes_from_delisted_listings() {
    let w = WorkDir::new();
    let m1 = month(&w, "m1", "2025-07-21", &[], None);
    let u1 = w
        .cmd("tickers-filter")
        .arg(&m1)
        .args(["--as-of", "2025-07-21"])
        .succeeds();
    w.write("u1.ndjson", u1.stdout());
    // 60 listings gone in a month: over the 5 % guard, accepted on purpose.
    let gone: Vec<String> = ndjson_values(&u1.stdout())
        .iter()
        .filter(|r| r["exchange"] == "XNAS")
        .step_by(40)
        .take(60)
        .map(|r| r["symbol"].as_str().unwrap().to_string())
        .collect();
    let gone_refs: Vec<&str> = gone.iter().map(String::as_str).collect();
    let m2 = month(&w, "m2", "2025-08-21", &gone_refs, None);
    let u2 = w
        .cmd("tickers-filter")
        .arg(&m2)
        .args([
            "--as-of",
            "2025-08-21",
            "--previous",
            "u1.ndjson",
            "--accept-mass-delisting",
        ])
        .succeeds();
    let u2_path = w.write("u2.ndjson", u2.stdout());
    // (sample size, delisted listings in it) for a failed share.
    let draw = |pct: &str| {
        let run = w
            .cmd("tickers-filter")
            .arg(&u2_path)
            .args([
                "--target",
                "200",
                "--failed-pct",
                pct,
                "--report",
                "report.json",
            ])
            .succeeds();
        let sample = ndjson_values(&run.stdout());
        let failed = sample.iter().filter(|r| r["status"] == "delisted").count();
        (sample.len(), failed)
    };
    assert_eq!(draw("10"), (200, 20));
    // Asking for more failed listings than there are: all of them, the rest active, said.
    assert_eq!(draw("50"), (200, 60));
    assert_eq!(report(&w)["sample"]["failed_short"], 40);
}

#[test]
fn no_false_delisting_from_set_aside_lines_short_inputs_lost_venues_or_index_tables() {
    let w = WorkDir::new();
    let m1 = month(&w, "m1", "2025-07-21", &[], None);
    let sp500 = w
        .cmd("tickers-scrape")
        .args(["sp500", "--as-of", "2025-07-21", "--input"])
        .arg(fixture(
            "real/wikipedia/List_of_SP_500_companies_rev1250356709_2024-10-09.html",
        ))
        .succeeds();
    let sp500 = w.write("sp500.ndjson", sp500.stdout());
    let u1 = w
        .cmd("tickers-filter")
        .arg(&m1)
        .arg(&sp500)
        .args(["--as-of", "2025-07-21"])
        .succeeds();
    w.write("u1.ndjson", u1.stdout());
    let delisted = |out: &str| -> Vec<String> {
        ndjson_values(out)
            .iter()
            .filter(|r| r["status"] != "active")
            .map(|r| r["symbol"].as_str().unwrap().to_string())
            .collect()
    };
    let next = |input: &[&std::path::Path], extra: &[&str]| {
        let mut cmd = w.cmd("tickers-filter");
        for i in input {
            cmd = cmd.arg(i);
        }
        cmd.args(["--previous", "u1.ndjson", "--as-of", "2025-08-21"])
            .args(extra)
            .run()
    };
    // A line set aside: nothing is delisted, not even the listing on that line.
    let text = std::fs::read_to_string(&m1).unwrap();
    let broken = text.replacen("{\"symbol\":\"AAPL\"", "{\"symbol\":\"aapl\"", 1);
    assert_ne!(broken, text);
    let broken = w.write("broken.ndjson", broken);
    let run = next(&[&broken, &sp500], &["--rejects", "rejects.ndjson"]).code_is(1);
    assert_eq!(delisted(&run.stdout()), Vec::<String>::new());
    // An input shorter than the status file says the source gave: not read whole.
    let short: String = text
        .lines()
        .take(11_300)
        .map(|l| format!("{l}\n"))
        .collect();
    let short = w.write("short.ndjson", short);
    let status = w.write(
        "status.json",
        r#"{"sources": {"nasdaqtrader": {"kind": "nasdaqtrader", "status": "ok",
            "as_of": "2025-07-21", "records": 11546, "files": [], "seconds": 0.1}}}"#,
    );
    let run = next(&[&short, &sp500], &["--status", status.to_str().unwrap()]).code_is(0);
    assert_eq!(delisted(&run.stdout()), Vec::<String>::new());
    // A whole venue lost from a file that is otherwise whole: under 5 % of the source, but
    // all of the venue: refused.
    let no_amex: String = text
        .lines()
        .filter(|l| !l.contains("\"exchange\":\"XASE\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let no_amex = w.write("no-amex.ndjson", no_amex);
    let run = next(&[&no_amex, &sp500], &[]).code_is(75);
    assert_eq!(delisted(&run.stdout()), Vec::<String>::new());
    assert!(
        run.stderr().contains("nasdaqtrader XASE"),
        "{}",
        run.stderr()
    );
    // Leaving an index is no delisting; the tag goes when the index table ran, and stays when
    // it did not.
    let without_aapl: String = std::fs::read_to_string(&sp500)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("{\"symbol\":\"AAPL\""))
        .map(|l| format!("{l}\n"))
        .collect();
    let sp500_less = w.write("sp500-less.ndjson", without_aapl);
    let run = next(&[&m1, &sp500_less], &[]).code_is(0);
    let out = ndjson_values(&run.stdout());
    let aapl = out.iter().find(|r| r["symbol"] == "AAPL").unwrap();
    assert_eq!(
        (aapl["status"].as_str(), aapl.get("indexes")),
        (Some("active"), None)
    );
    let run = next(&[&m1], &[]).code_is(0);
    let out = ndjson_values(&run.stdout());
    let aapl = out.iter().find(|r| r["symbol"] == "AAPL").unwrap();
    assert_eq!(aapl["indexes"], serde_json::json!(["sp500"]));
    // A sp500-only listing (not in the directory) stays when the table drops it.
    assert_eq!(delisted(&run.stdout()), Vec::<String>::new());
}

#[test]
fn the_same_listings_in_any_order_give_the_same_bytes_and_the_newest_of_a_source_wins() {
    let w = WorkDir::new();
    let scrape = |file: &str, as_of: &str, out: &str| {
        let run = w
            .cmd("tickers-scrape")
            .args(["nasdaq-screener", "--as-of", as_of, "--input"])
            .arg(fixture(file))
            .succeeds();
        w.write(out, run.stdout())
    };
    let older = scrape(
        "real/nasdaq_screener/nasdaq_screener_export_2024-05-08.csv",
        "2024-05-08",
        "a.ndjson",
    );
    let newer = scrape(
        "real/nasdaq_screener/screener_rows_exchange-amex_2025-02-01.json",
        "2025-02-01",
        "b.ndjson",
    );
    let ab = w
        .cmd("tickers-filter")
        .arg(&older)
        .arg(&newer)
        .succeeds()
        .stdout();
    let ba = w
        .cmd("tickers-filter")
        .arg(&newer)
        .arg(&older)
        .succeeds()
        .stdout();
    assert!(ab == ba, "the order of the inputs changed the output");
    let mut lines: Vec<String> = std::fs::read_to_string(&older)
        .unwrap()
        .lines()
        .chain(std::fs::read_to_string(&newer).unwrap().lines())
        .map(str::to_string)
        .collect();
    lines.reverse();
    let shuffled = w.write("shuffled.ndjson", lines.join("\n") + "\n");
    let again = w.cmd("tickers-filter").arg(&shuffled).succeeds().stdout();
    assert!(again == ab, "shuffled lines changed the output");
    // A listing both screens list: the newer screen's figures.
    let both = ndjson_values(&ab)
        .into_iter()
        .find(|r| r["last_seen"] == "2025-02-01" && r["first_seen"] == "2024-05-08")
        .expect("a listing in both screens");
    let symbol = both["symbol"].as_str().unwrap();
    let in_newer = ndjson_values(&std::fs::read_to_string(&newer).unwrap())
        .into_iter()
        .find(|r| r["symbol"] == symbol)
        .unwrap();
    assert_eq!(both["market_cap"], in_newer["market_cap"]);
}

#[test]
fn an_old_scrape_a_padded_one_or_one_with_rows_set_aside_proves_no_delisting() {
    let w = WorkDir::new();
    let m1 = month(&w, "m1", "2025-07-21", &[], None);
    let m2 = month(&w, "m2", "2025-08-21", &[], None);
    let u2 = w
        .cmd("tickers-filter")
        .arg(&m2)
        .args(["--as-of", "2025-08-21"])
        .succeeds();
    w.write("u2.ndjson", u2.stdout());
    let status = |as_of: &str, records: u64, bad: u64| {
        w.write(
            "s.json",
            format!(
                r#"{{"sources": {{"nasdaqtrader": {{"kind": "nasdaqtrader", "status": "ok", "as_of": "{as_of}", "records": {records}, "bad_symbols": {bad}, "files": [], "seconds": 0.1}}}}}}"#
            ),
        )
    };
    let delisted = |run: &tickerlake_tests::Run| -> usize {
        ndjson_values(&run.stdout())
            .iter()
            .filter(|r| r["status"] == "delisted")
            .count()
    };
    // July's scrape, with July's status, after August's universe: no evidence of anything.
    let s = status("2025-07-21", 11546, 0);
    let run = w
        .cmd("tickers-filter")
        .arg(&m1)
        .args(["--previous", "u2.ndjson", "--status"])
        .arg(&s)
        .args(["--as-of", "2025-09-21"])
        .succeeds();
    assert_eq!(delisted(&run), 0);
    // --as-of before the previous universe: refused.
    w.cmd("tickers-filter")
        .arg(&m2)
        .args(["--previous", "u2.ndjson", "--as-of", "2025-07-21"])
        .fails_with(2);
    // September's directory short of 250 listings, padded back to its count with duplicates.
    let m3 = month(&w, "m3", "2025-09-21", &[], None);
    let text = std::fs::read_to_string(&m3).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut padded: Vec<&str> = lines[250..].to_vec();
    padded.extend(&lines[250..500]);
    let padded = w.write("padded.ndjson", padded.join("\n") + "\n");
    let s = status("2025-09-21", lines.len() as u64, 0);
    let run = w
        .cmd("tickers-filter")
        .arg(&padded)
        .args(["--previous", "u2.ndjson", "--status"])
        .arg(&s)
        .args(["--as-of", "2025-09-21"])
        .succeeds();
    assert_eq!(delisted(&run), 0);
    // A scrape that set a row aside (a bad symbol) does not know all its listings.
    let short: String = lines[1..].iter().map(|l| format!("{l}\n")).collect();
    let short = w.write("short.ndjson", short);
    let s = status("2025-09-21", lines.len() as u64 - 1, 1);
    let run = w
        .cmd("tickers-filter")
        .arg(&short)
        .args(["--previous", "u2.ndjson", "--status"])
        .arg(&s)
        .args(["--as-of", "2025-09-21"])
        .succeeds();
    assert_eq!(delisted(&run), 0);
    // The same without the bad row: the one listing gone is delisted.
    let s = status("2025-09-21", lines.len() as u64 - 1, 0);
    let run = w
        .cmd("tickers-filter")
        .arg(&short)
        .args(["--previous", "u2.ndjson", "--status"])
        .arg(&s)
        .args(["--as-of", "2025-09-21"])
        .succeeds();
    assert!(delisted(&run) <= 1);
}
