//! `pipeline.sh` end to end: the real script and programs against the replay server on
//! 127.0.0.1 (genuine listings, synthetic bars for symbols without a recording), with the demo's
//! configuration — the chain, its gates, its records, its alerts and heartbeat, its lock, its
//! dry run, its backups.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use replay_server::{ReplayServer, Routes};
use serde_json::Value;
use tickerlake_tests::{Cmd, WorkDir, bin, repo_root, venv_python};

pub(crate) fn demo_config() -> PathBuf {
    repo_root().join("demo/config.yaml")
}

/// A replay server answering with `routes` (YAML; its one `include:` names a file of
/// fixtures/replay).
pub(crate) fn server(routes: &str) -> ReplayServer {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("routes.yaml");
    let fixtures = repo_root().join("fixtures/replay");
    let text = routes.replace("include: [", &format!("include: [{}/", fixtures.display()));
    std::fs::write(&path, text).unwrap();
    let routes = Routes::from_file(&path).unwrap();
    // Bodies are read when the server starts: the mapping file may go.
    ReplayServer::start(routes, "127.0.0.1:0".parse().unwrap()).unwrap()
}

/// The demo's server: every listing, the Yahoo recordings, synthetic bars for the rest.
pub(crate) fn demo_server() -> ReplayServer {
    let routes = Routes::from_file(&repo_root().join("fixtures/replay/demo.yaml")).unwrap();
    ReplayServer::start(routes, "127.0.0.1:0".parse().unwrap()).unwrap()
}

/// `pipeline.sh CMD --config demo/config.yaml --data DATA` against the replay server at `base`.
pub(crate) fn demo(w: &WorkDir, cmd: &str, data: &Path, base: &str) -> Cmd {
    w.pipeline()
        .arg(cmd)
        .arg("--config")
        .arg(demo_config())
        .arg("--data")
        .arg(data)
        .env("REPLAY_BASE", base)
}

/// Whether nothing holds `lock` now.
fn lock_is_free(lock: &Path) -> bool {
    std::process::Command::new("flock")
        .arg("-n")
        .arg(lock)
        .arg("true")
        .status()
        .unwrap()
        .success()
}

/// `lock` held by another process for `secs` seconds (or until it is killed: with --no-fork the
/// holder is the sleep itself); returns once it holds.
fn hold_lock(lock: &Path, secs: u32) -> std::process::Child {
    let holder = std::process::Command::new("flock")
        .arg("--no-fork")
        .arg(lock)
        .args(["sleep", &secs.to_string()])
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if !lock_is_free(lock) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    holder
}

pub(crate) fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub(crate) fn index(data: &Path) -> Vec<Value> {
    std::fs::read_to_string(data.join("runs/index.ndjson"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub(crate) fn latest(data: &Path) -> Value {
    read_json(&data.join("runs/latest.json"))
}

fn step_names(record: &Value) -> Vec<String> {
    record["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

fn chart_requests(s: &ReplayServer, since: usize) -> Vec<String> {
    s.requests_since(since)
        .into_iter()
        .filter(|r| r.target.starts_with("/v8/finance/chart/"))
        .map(|r| r.target)
        .collect()
}

/// `period1` of a chart request, as a date.
fn period1(target: &str) -> chrono::NaiveDate {
    let (_, q) = replay_server::split_target(target);
    let secs: i64 = q["period1"].parse().unwrap();
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap()
        .date_naive()
}

/// Validates `doc` against `docs/schemas/<schema>` with the jsonschema package of make test's
/// venv.
pub(crate) fn assert_valid(doc: &Path, schema: &str) {
    let python =
        venv_python().expect("make venv (make test does it): jsonschema validates the run records");
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.Draft202012Validator.check_schema(schema)\n\
             jsonschema.validate(json.load(open(sys.argv[2])), schema, cls=jsonschema.Draft202012Validator)\n",
        )
        .arg(repo_root().join("docs/schemas").join(schema))
        .arg(doc)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} is not valid against {schema}:\n{}",
        doc.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn all_demo_twice_the_second_night_incremental_records_complete_and_valid() {
    let w = WorkDir::new();
    let data = w.join("data");
    // --demo: pipeline.sh starts the replay server itself (demo/config.yaml by default).
    let run = |w: &WorkDir| {
        w.pipeline()
            .args(["all", "--demo", "--data"])
            .arg(&data)
            .succeeds()
    };
    run(&w).stderr_is_empty();
    let first = latest(&data);
    assert_eq!(first["status"], "ok", "{first:#}");
    assert_eq!(
        step_names(&first),
        [
            "scrape",
            "filter",
            "sample",
            "fetch",
            "to-parquet",
            "qa",
            "qlib",
            "training-sample",
            "training-fetch",
            "training-set",
            "training-read",
            "training-qa"
        ]
    );
    let marks1 = read_json(&data.join("state/watermarks.json"));
    let bars_mark = marks1["datasets"]["bars_daily"]["date"]
        .as_str()
        .unwrap()
        .to_string();

    run(&w).stderr_is_empty();
    let second = latest(&data);
    assert_eq!(second["status"], "ok");
    assert_ne!(first["run_id"], second["run_id"], "every run its own id");
    let lines = index(&data);
    // The replay server's request log of the second run, in its run directory.
    let log = data
        .join("runs")
        .join(lines[1]["dir"].as_str().unwrap())
        .join("replay.requests.ndjson");
    let charts: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter_map(|r| r["target"].as_str().map(str::to_string))
        .filter(|t| t.starts_with("/v8/finance/chart/"))
        .collect();

    // Incremental: the second night asks only for days after the lake's last bar (the demo has
    // no look-back; a window has two days of slack), never a whole history. The same session
    // again: every symbol is up to date, nothing is asked for, nothing rewritten.
    assert!(!charts.is_empty(), "the training set is fetched again");
    let stored: chrono::NaiveDate = bars_mark.parse().unwrap();
    let nightly: Vec<_> = charts
        .iter()
        .filter(|t| period1(t) > chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap())
        .collect();
    for t in &nightly {
        assert!(
            period1(t) > stored - chrono::Days::new(2),
            "{t} re-fetches stored days"
        );
    }
    let counts = |name: &str| {
        second["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["counts"]
            .clone()
    };
    if second["as_of"] == first["as_of"] {
        assert!(
            nightly.is_empty(),
            "{nightly:?}: asked for what the lake holds"
        );
        assert_eq!(counts("fetch")["up_to_date"], 40);
        assert_eq!(counts("to-parquet")["partitions_touched"], 0);
    }

    // No duplicate bars: every (symbol, date) once.
    let cat = w
        .cmd("to-parquet")
        .args(["--cat", "--lake"])
        .arg(data.join("lake"))
        .succeeds()
        .stdout();
    let mut keys = BTreeSet::new();
    for line in cat.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let key = (v["symbol"].to_string(), v["date"].to_string());
        assert!(keys.insert(key.clone()), "duplicate bar {key:?}");
    }
    assert!(keys.len() > 10_000);

    // Watermarks never go back.
    let marks2 = read_json(&data.join("state/watermarks.json"));
    for (name, w1) in marks1["datasets"].as_object().unwrap() {
        let d1 = w1["date"].as_str().unwrap();
        let d2 = marks2["datasets"][name]["date"].as_str().unwrap();
        assert!(d2 >= d1, "{name}: {d1} -> {d2}");
    }

    // The records: two index lines, latest.json = the last run's metadata.json, every record
    // valid against its schema, every step with its counts.
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["run_id"], second["run_id"]);
    let dir = data.join("runs").join(lines[1]["dir"].as_str().unwrap());
    assert_eq!(read_json(&dir.join("metadata.json")), second);
    assert_valid(&dir.join("metadata.json"), "run.schema.json");
    assert_valid(&data.join("runs/latest.json"), "run.schema.json");
    for (i, _) in lines.iter().enumerate() {
        let one = w.write(
            &format!("index-{i}.json"),
            serde_json::to_string(&lines[i]).unwrap(),
        );
        assert_valid(&one, "run-index.schema.json");
    }
    assert_eq!(second["schema"], "tickerlake.run/1");
    assert_eq!(second["exit_code"], 0);
    assert_eq!(second["trigger"], "manual");
    assert!(second["as_of"].as_str().unwrap() <= second["started_at"].as_str().unwrap());
    let fetch = &second["steps"][3];
    assert_eq!(fetch["name"], "fetch");
    assert_eq!(fetch["counts"]["requested"], 40);
    assert!(fetch["argv"][0].as_str().unwrap().ends_with("ohlcv-fetch"));
    assert_eq!(
        second["universe"]["changes"]["new"],
        Value::Null,
        "nothing new the second time"
    );
    assert!(second["universe"]["active"].as_u64().unwrap() > 9_000);
    assert_eq!(second["qa"]["overall"], "green");
    assert!(second["config"]["sha256"].as_str().unwrap().len() == 64);
    assert!(second["log"].as_str().unwrap().starts_with("logs/"));
    assert!(data.join(second["log"].as_str().unwrap()).is_file());

    // Versions: one universe of the day (replaced), two training sets with their files.
    assert!(data.join("universe/latest.ndjson").is_file());
    for v in ["v1_", "v2_"] {
        let set = std::fs::read_dir(data.join("training"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(v))
            .unwrap_or_else(|| panic!("training set {v}*"));
        for f in [
            "bars.parquet",
            "tickers.ndjson",
            "config.yaml",
            "metadata.json",
            "notes.md",
        ] {
            assert!(set.join(f).is_file(), "{}/{f}", set.display());
        }
        let meta = read_json(&set.join("metadata.json"));
        assert_eq!(meta["qa_passed"], true);
        assert!(meta["files"][0]["sha256"].as_str().unwrap().len() == 64);
    }

    // The status view: exit 0 after a green run, the datasets and the steps.
    let status = w
        .pipeline()
        .args(["status", "--config"])
        .arg(demo_config())
        .arg("--data")
        .arg(&data)
        .succeeds()
        .stdout();
    for needle in [
        "bars_daily",
        "universe",
        "qlib",
        "training",
        "2 runs",
        "fetch",
        "✔ ok",
    ] {
        assert!(status.contains(needle), "{needle} missing from\n{status}");
    }
}

#[test]
fn the_run_and_status_schemas_in_docs_are_generated_from_the_types() {
    let w = WorkDir::new();
    w.cmd("run-record")
        .args(["schema", "--dir", "."])
        .succeeds();
    w.cmd("lake-status").args(["--schemas", "."]).succeeds();
    for name in [
        "run.schema.json",
        "run-index.schema.json",
        "status-summary.schema.json",
        "status-lagging.schema.json",
        "status-failures.schema.json",
        "status-errors.schema.json",
        "status-delta.schema.json",
        "status-runs.schema.json",
        "status-price.schema.json",
    ] {
        let fresh = w.read(name);
        let docs = std::fs::read_to_string(repo_root().join("docs/schemas").join(name))
            .unwrap_or_else(|_| panic!("docs/schemas/{name} missing: run `make schemas`"));
        assert_eq!(
            fresh, docs,
            "docs/schemas/{name} is stale: run `make schemas`"
        );
    }
}

/// Listings from the recordings; every chart request 503; a webhook that answers 429 then
/// 200; a Telegram API; a healthchecks endpoint.
pub(crate) const FAILING_NIGHT: &str = r#"
include: [listings.yaml]
routes:
  - name: chart down
    path: /v8/finance/chart/*
    status: 503
    body: "Service Unavailable"
  - name: webhook
    method: POST
    path: /services/T000/B000/SECRETHOOK
    body: ok
    faults: { sequence: [429], retry_after: 1 }
  - name: telegram
    method: POST
    path: /bot123:SECRETTOKEN/sendMessage
    body: '{"ok":true,"result":{"message_id":1}}'
    headers: { Content-Type: application/json }
  - name: hc start
    path: /hc/start
    body: OK
  - name: hc end
    path: /hc/*
    body: OK
"#;

#[test]
fn a_failing_step_stops_the_chain_alerts_every_channel_and_the_heartbeat_sees_it() {
    let w = WorkDir::new();
    let s = server(FAILING_NIGHT);
    let data = w.join("data");
    let base = s.base_url();
    // The demo's config, with Telegram's API on the stub.
    let config = std::fs::read_to_string(demo_config()).unwrap().replace(
        "  backup:\n",
        &format!("  alerts:\n    telegram_api: {base}\n  backup:\n"),
    );
    let config = w.write("config.yaml", config);
    w.pipeline()
        .arg("universe")
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .env("REPLAY_BASE", &base)
        .succeeds();
    let seen = s.requests().len();
    let run = w
        .pipeline()
        .arg("nightly")
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .env("REPLAY_BASE", &base)
        .env("RUN_ID", "night-1")
        .env(
            "ALERT_WEBHOOK",
            format!("{base}/services/T000/B000/SECRETHOOK"),
        )
        .env("TELEGRAM_TOKEN", "123:SECRETTOKEN")
        .env("TELEGRAM_CHAT_ID", "-100200")
        .env("ALERT_COMMAND", "cat > alert-command.txt")
        .env("HC_URL", format!("{base}/hc"))
        .run()
        .code_is(69);
    // Cron mails this: what failed, the code, where the log is.
    let run = run.stderr_contains("nightly failed at fetch (exit 69)");

    let record = latest(&data);
    assert_eq!(record["status"], "fail");
    assert_eq!(record["exit_code"], 69);
    assert_eq!(
        step_names(&record),
        ["sample", "fetch", "to-parquet"],
        "nothing after the failed fetch ran (the upsert of what arrived did)"
    );
    assert_eq!(record["steps"][1]["exit_code"], 69);
    assert_eq!(record["steps"][1]["status"], "fail");

    // The webhook: a 429 waited out (Retry-After 1 s), then 200; the same message twice.
    let requests = s.requests_since(seen);
    let hooks: Vec<_> = requests
        .iter()
        .filter(|r| r.route.as_deref() == Some("webhook"))
        .collect();
    assert_eq!(hooks.len(), 2, "{hooks:#?}");
    assert_eq!((hooks[0].status, hooks[1].status), (Some(429), Some(200)));
    assert!(
        hooks[1].start_ms - hooks[0].end_ms >= 900.0,
        "Retry-After honoured"
    );
    let body: Value = serde_json::from_str(hooks[1].body.as_deref().unwrap()).unwrap();
    let text = body["text"].as_str().unwrap();
    assert!(
        text.contains("step fetch failed (exit 69 unavailable)"),
        "{text}"
    );
    assert!(text.contains("night-1"), "{text}");
    // Telegram: plain text to the chat.
    let tg: Vec<_> = requests
        .iter()
        .filter(|r| r.route.as_deref() == Some("telegram"))
        .collect();
    assert_eq!(tg.len(), 1);
    let body: Value = serde_json::from_str(tg[0].body.as_deref().unwrap()).unwrap();
    assert_eq!(body["chat_id"], "-100200");
    assert!(
        body.get("parse_mode").is_none(),
        "plain text: BRK-B must not break Markdown"
    );
    // ALERT_COMMAND: the message on stdin.
    assert!(w.read("alert-command.txt").contains("step fetch failed"));
    // The record says what was sent.
    let alerts = record["alerts"].as_array().unwrap();
    let by_channel: BTreeMap<&str, (&str, u64)> = alerts
        .iter()
        .map(|a| {
            (
                a["channel"].as_str().unwrap(),
                (
                    a["outcome"].as_str().unwrap(),
                    a["attempts"].as_u64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(by_channel["webhook"], ("sent", 2));
    assert_eq!(by_channel["telegram"], ("sent", 1));
    assert_eq!(by_channel["command"].0, "sent");

    // The heartbeat: start, then the exit code, both with the run id.
    let hc: Vec<_> = requests
        .iter()
        .filter(|r| r.target.starts_with("/hc/"))
        .map(|r| r.target.as_str())
        .collect();
    assert_eq!(hc, ["/hc/start?rid=night-1", "/hc/69?rid=night-1"]);
    assert_eq!(record["heartbeat"]["start"], 200);
    assert_eq!(record["heartbeat"]["end"], 200);

    // Secrets: not in any file the run wrote, not on stderr.
    let out = w.bash(&format!(
        "grep -rl 'SECRETHOOK\\|SECRETTOKEN' '{}' || true",
        data.display()
    ));
    let leaks = String::from_utf8_lossy(&out.stdout);
    assert!(leaks.trim().is_empty(), "secrets written to {leaks}");
    assert!(!run.stderr().contains("SECRET"));
}

#[test]
fn an_alert_that_cannot_be_sent_never_fails_the_run_and_no_channel_sends_nothing() {
    let w = WorkDir::new();
    let s = server(FAILING_NIGHT);
    let data = w.join("data");
    demo(&w, "universe", &data, &s.base_url())
        .env("ALERT_WEBHOOK", "http://127.0.0.1:1/refused")
        .env("ALERT_COMMAND", "exit 7")
        .succeeds();
    let record = latest(&data);
    assert_eq!(record["status"], "ok");
    assert!(
        record["alerts"].as_array().unwrap().is_empty(),
        "a green run alerts no one"
    );
    // A failing night with a webhook that refuses connections: still the fetch's exit code.
    demo(&w, "nightly", &data, &s.base_url())
        .env("ALERT_WEBHOOK", "http://127.0.0.1:1/refused")
        .env("ALERT_COMMAND", "exit 7")
        .run()
        .code_is(69);
    let record = latest(&data);
    let outcomes: Vec<(&str, &str)> = record["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["channel"].as_str().unwrap(),
                a["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(outcomes, [("webhook", "failed"), ("command", "failed")]);
}

#[test]
fn a_second_run_while_one_holds_the_lock_exits_75_and_touches_nothing() {
    let w = WorkDir::new();
    let data = w.join("data");
    w.cmd("run-record")
        .arg("claim")
        .arg("--data")
        .arg(&data)
        .succeeds();
    let lock = data.join(".pipeline.lock");
    std::fs::write(&lock, "pid 1, run other, nightly since then\n").unwrap();
    let mut holder = hold_lock(&lock, 30);
    let run = w
        .pipeline()
        .arg("nightly")
        .arg("--config")
        .arg(demo_config())
        .arg("--data")
        .arg(&data)
        .run();
    let _ = holder.kill();
    let _ = holder.wait();
    run.code_is(75).stderr_contains("another run holds");
    assert!(!data.join("runs/index.ndjson").exists());
    assert_eq!(
        std::fs::read_dir(data.join("runs")).map_or(0, |d| d.count()),
        0
    );
}

#[test]
fn dry_run_prints_the_plan_and_runs_nothing() {
    let w = WorkDir::new();
    let s = demo_server();
    let data = w.join("data");
    let plan = w
        .pipeline()
        .args(["all", "--dry-run", "--days-back", "5", "--config"])
        .arg(demo_config())
        .arg("--data")
        .arg(&data)
        .env("REPLAY_BASE", s.base_url())
        .succeeds()
        .stdout();
    for needle in [
        "tickers-scrape",
        "tickers-filter",
        "ohlcv-fetch",
        "--days-back 5",
        "to-parquet --lake",
        "qa-check --lake",
        "qlib-bin",
        "--profile training",
        "# fetch | to-parquet: in ",
    ] {
        assert!(
            plan.contains(needle),
            "{needle} missing from the plan:\n{plan}"
        );
    }
    assert!(!data.exists(), "a dry run creates nothing");
    assert!(s.requests().is_empty(), "a dry run asks nothing");
}

#[test]
fn a_stale_universe_stops_the_night_before_any_request() {
    let w = WorkDir::new();
    let s = demo_server();
    let data = w.join("data");
    let old = (chrono::Utc::now().date_naive() - chrono::Days::new(60)).to_string();
    demo(&w, "universe", &data, &s.base_url())
        .args(["--as-of", &old])
        .succeeds();
    let seen = s.requests().len();
    demo(&w, "nightly", &data, &s.base_url())
        .run()
        .code_is(78)
        .stderr_contains("is 60 days old, more than pipeline.universe_max_age_days (35)");
    assert!(
        chart_requests(&s, seen).is_empty(),
        "not one request with a stale universe"
    );
    let record = latest(&data);
    assert_eq!(step_names(&record), ["universe-age"]);
    assert_eq!(record["exit_code"], 78);
    assert!(!data.join("lake").exists(), "nothing written");
}

#[test]
fn a_failed_scrape_keeps_the_previous_universe() {
    let w = WorkDir::new();
    let s = demo_server();
    let data = w.join("data");
    let day1 = (chrono::Utc::now().date_naive() - chrono::Days::new(1)).to_string();
    demo(&w, "universe", &data, &s.base_url())
        .args(["--as-of", &day1])
        .succeeds();
    let latest_link = data.join("universe/latest.ndjson");
    let before = std::fs::read(&latest_link).unwrap();
    let target = std::fs::read_link(&latest_link).unwrap();
    // Every source unreachable: tickers-scrape exits 69 and nothing is installed.
    w.pipeline()
        .arg("universe")
        .arg("--config")
        .arg(demo_config())
        .arg("--data")
        .arg(&data)
        .env("REPLAY_BASE", "http://127.0.0.1:1")
        .run()
        .code_is(69);
    assert_eq!(std::fs::read_link(&latest_link).unwrap(), target);
    assert_eq!(std::fs::read(&latest_link).unwrap(), before);
    let versions: Vec<_> = std::fs::read_dir(data.join("universe"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        versions.len(),
        2,
        "{versions:?}: the old version and latest, nothing else"
    );
    let record = latest(&data);
    assert_eq!(step_names(&record), ["scrape"]);
    assert_eq!(record["universe"]["version"], day1.as_str());
}

#[test]
fn backup_archives_reads_back_and_keeps_n_days() {
    let w = WorkDir::new();
    let s = demo_server();
    let data = w.join("data");
    demo(&w, "universe", &data, &s.base_url()).succeeds();
    // The demo config keeps backups in demo-backups, relative to the working directory.
    let root = w.join("demo-backups");
    std::fs::create_dir_all(root.join("2020-01-01")).unwrap();
    std::fs::write(root.join(".tickerlake-backups"), "").unwrap();
    w.pipeline()
        .arg("backup")
        .arg("--config")
        .arg(demo_config())
        .arg("--data")
        .arg(&data)
        .succeeds();
    let today = chrono::Utc::now().date_naive().to_string();
    let archive = root.join(&today).join(format!("tickerlake-{today}.tar.gz"));
    assert!(archive.is_file());
    assert!(
        !root.join("2020-01-01").exists(),
        "older than pipeline.backup.retention_days"
    );
    let sums = std::fs::read_to_string(root.join(&today).join("SHA256SUMS")).unwrap();
    assert!(sums.contains(&format!("tickerlake-{today}.tar.gz")));
    let listing = w.bash(&format!("tar -tzf '{}'", archive.display()));
    let listing = String::from_utf8_lossy(&listing.stdout);
    for part in [
        "universe/latest.ndjson",
        "state/scrape-status.json",
        "runs/index.ndjson",
        "config.yaml",
    ] {
        assert!(
            listing.lines().any(|l| l.ends_with(part)),
            "{part} not archived"
        );
    }
    let record = latest(&data);
    assert_eq!(step_names(&record), ["backup", "verify"]);
    assert_eq!(record["steps"][1]["status"], "ok");

    // A backup directory holding someone else's files is never written into.
    let w2 = WorkDir::new();
    std::fs::create_dir_all(w2.join("demo-backups")).unwrap();
    w2.write("demo-backups/thesis.tex", "mine");
    w2.pipeline()
        .arg("backup")
        .arg("--config")
        .arg(demo_config())
        .arg("--data")
        .arg(w2.join("data"))
        .run()
        .code_is(2);
    assert_eq!(
        std::fs::read_dir(w2.join("demo-backups")).unwrap().count(),
        1
    );
}

#[test]
fn a_data_directory_that_is_not_ours_is_refused_and_status_without_runs_says_so() {
    let w = WorkDir::new();
    let foreign = w.join("thesis");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("chapter1.tex"), "mine").unwrap();
    w.pipeline()
        .arg("nightly")
        .arg("--config")
        .arg(demo_config())
        .arg("--data")
        .arg(&foreign)
        .run()
        .code_is(2)
        .stderr_contains("not a tickerlake data directory");
    assert_eq!(
        std::fs::read_dir(&foreign).unwrap().count(),
        1,
        "nothing written"
    );
    w.pipeline()
        .arg("status")
        .arg("--config")
        .arg(demo_config())
        .arg("--data")
        .arg(w.join("missing"))
        .run()
        .code_is(3)
        .stderr_contains("cannot be read");
    // A data directory without a run yet: nothing wrong, nothing green either.
    std::fs::create_dir_all(w.join("empty")).unwrap();
    w.pipeline()
        .arg("status")
        .arg("--config")
        .arg(demo_config())
        .arg("--data")
        .arg(w.join("empty"))
        .run()
        .code_is(0)
        .stdout_contains("no data yet");
}

#[test]
fn pipeline_sh_and_the_demo_script_pass_shellcheck() {
    let status = std::process::Command::new("shellcheck")
        .arg(repo_root().join("pipeline.sh"))
        .arg(repo_root().join("demo/run.sh"))
        .arg(repo_root().join("fixtures/status/make-nights.sh"))
        .output()
        .expect("shellcheck is installed (Debian: apt install shellcheck; .ci/run does it)");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    let w = WorkDir::new();
    for (args, needle) in [
        (
            &["nightly", "--as-of", "yesterday"][..],
            "--as-of yesterday: expected YYYY-MM-DD",
        ),
        (
            &["nightly", "--days-back", "0"][..],
            "expected a number of days",
        ),
        (&["fortnightly"][..], "unknown command fortnightly"),
        (&["nightly", "--bogus"][..], "unknown option --bogus"),
    ] {
        w.pipeline()
            .args(args)
            .run()
            .code_is(2)
            .stderr_contains(needle);
    }
    w.pipeline().run().code_is(2);
    w.pipeline()
        .arg("--help")
        .succeeds()
        .stdout_contains("Examples:");
    let _ = bin("run-record");
}

#[test]
fn man_pages_and_completions_come_from_the_programs_own_definitions() {
    let w = WorkDir::new();
    w.cmd("docgen")
        .args(["man", "man"])
        .succeeds()
        .stderr_is_empty();
    w.cmd("docgen").args(["completions", "comp"]).succeeds();
    for program in [
        "tickers-scrape",
        "tickers-filter",
        "ohlcv-fetch",
        "to-parquet",
        "qa-check",
        "qlib-bin",
        "run-record",
        "lake-status",
    ] {
        let page = w.read(&format!("man/{program}.1"));
        assert!(
            page.contains(&format!(".TH {program} 1")),
            "{program}.1:\n{page}"
        );
        // The page is the --help: its options are there.
        assert!(page.contains("\\-\\-config"), "{program}.1 lacks --config");
        let bash = w.join(&format!("comp/bash/{program}"));
        let check = std::process::Command::new("bash")
            .arg("-n")
            .arg(&bash)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}: {}",
            bash.display(),
            String::from_utf8_lossy(&check.stderr)
        );
        assert!(w.join(&format!("comp/zsh/_{program}")).is_file());
        assert!(
            w.read(&format!("comp/fish/{program}.fish"))
                .contains(&format!("complete -c {program}"))
        );
    }
    // One page per subcommand, named as git names them.
    for sub in [
        "qlib-bin-all",
        "qlib-bin-update",
        "run-record-alert",
        "run-record-step",
    ] {
        assert!(w.join(&format!("man/{sub}.1")).is_file(), "{sub}.1");
    }
}

#[test]
fn make_cron_prints_the_notes_schedule_with_this_checkout() {
    let out = std::process::Command::new("make")
        .args(["-s", "--no-print-directory", "cron", "CONFIG=/etc/tl.yaml"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let root = repo_root().display().to_string();
    for (schedule, command) in [
        ("5 0 1 * *", "universe"),
        ("0 1 * * *", "nightly"),
        ("0 3 * * 0", "training"),
        ("0 1 * * *", "backup"),
    ] {
        let line = format!(
            "{schedule} cd {root} && ./pipeline.sh {command} --config /etc/tl.yaml >> cron.log 2>&1"
        );
        assert!(
            text.lines().any(|l| l == line),
            "{line:?} missing from\n{text}"
        );
    }
    assert!(text.contains("TICKERLAKE_TRIGGER=cron"));
}

#[test]
fn a_terminated_run_records_the_step_it_was_in_finishes_its_record_and_frees_the_lock() {
    let w = WorkDir::new();
    let s = server(
        "include: [listings.yaml]\nroutes:\n  - name: slow chart\n    path: /v8/finance/chart/*\n    synthetic: yahoo-chart\n    faults: { delay: 300ms }\n",
    );
    let data = w.join("data");
    let setup = |cmd: &str| {
        w.pipeline()
            .arg(cmd)
            .arg("--config")
            .arg(demo_config())
            .arg("--data")
            .arg(&data)
            .env("REPLAY_BASE", s.base_url())
    };
    setup("universe").succeeds();
    let child = setup("nightly")
        .into_command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // SIGTERM while the fetch runs (40 symbols, 4 workers, 300 ms an answer).
    let seen = s.requests().len();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while chart_requests(&s, seen).is_empty() && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nightly interrupted (exit 143)"));
    let record = latest(&data);
    assert_eq!(record["status"], "fail");
    assert_eq!(record["exit_code"], 143);
    assert_eq!(
        step_names(&record),
        ["sample", "fetch", "to-parquet"],
        "the step it was in, recorded"
    );
    // The lock is free: the next run goes ahead.
    assert!(lock_is_free(&data.join(".pipeline.lock")));
}

#[test]
fn a_run_with_more_alerts_than_the_budget_sends_three_the_last_a_digest() {
    let w = WorkDir::new();
    let s = server("routes:\n  - name: webhook\n    method: POST\n    path: /hook\n    body: ok\n");
    let data = w.join("data");
    let begun = w
        .cmd("run-record")
        .args([
            "begin",
            "--pipeline",
            "nightly",
            "--as-of",
            "2026-12-02",
            "--data",
        ])
        .arg(&data)
        .env("RUN_ID", "budget-1")
        .succeeds()
        .stdout();
    let run_dir = begun
        .lines()
        .find_map(|l| l.strip_prefix("run_dir="))
        .unwrap()
        .to_string();
    // A failed step and five red checks: six candidates.
    w.cmd("run-record")
        .args([
            "step", "--run", &run_dir, "--name", "qa", "--status", "fail", "--exit", "74",
        ])
        .args([
            "--started",
            "1764723600.0",
            "--finished",
            "1764723601.5",
            "--",
            "qa-check",
        ])
        .env("RUN_ID", "budget-1")
        .succeeds();
    let checks: Vec<Value> = ["lag", "price_jump", "coverage", "freshness", "fetch_error"]
        .iter()
        .map(|c| {
            serde_json::json!({"check": c, "severity": "critical", "findings": 9, "symbols": 9,
                               "share_pct": 22.5, "colour": "red"})
        })
        .collect();
    let summary = serde_json::json!({"findings": 45, "failing": 45, "rows": 10, "symbols": 40, "checks": checks});
    std::fs::write(
        Path::new(&run_dir).join("qa.summary.json"),
        summary.to_string(),
    )
    .unwrap();
    w.cmd("run-record")
        .args(["end", "--run", &run_dir, "--exit", "1"])
        .env("RUN_ID", "budget-1")
        .succeeds();
    // lake-status decides, run-record sends: pipeline.sh's pipe.
    let decided = w
        .cmd("lake-status")
        .arg("--data")
        .arg(&data)
        .args(["--alerts", "--run", &run_dir])
        .succeeds()
        .stdout();
    w.cmd("run-record")
        .args(["alert", "--run", &run_dir])
        .stdin(decided)
        .env("ALERT_WEBHOOK", format!("{}/hook", s.base_url()))
        .succeeds();
    let sent: Vec<String> = s
        .requests()
        .iter()
        .map(|r| {
            let v: Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
            v["text"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(sent.len(), 3, "{sent:#?}");
    assert!(
        sent[0].contains("step qa failed (exit 74 io_err)"),
        "{}",
        sent[0]
    );
    assert!(sent[1].contains("QA coverage: 9 finding(s)"), "{}", sent[1]);
    assert!(sent[2].contains("+4 more held back"), "{}", sent[2]);
    let record = latest(&data);
    let outcomes: Vec<&str> = record["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "sent",
            "sent",
            "sent",
            "held_back",
            "held_back",
            "held_back",
            "held_back"
        ]
    );
    assert_eq!(record["qa"]["overall"], "red");
    assert_eq!(record["status"], "fail");
}

#[test]
fn old_logs_and_raw_downloads_are_purged_by_the_date_in_their_names() {
    let w = WorkDir::new();
    let s = demo_server();
    let data = w.join("data");
    w.cmd("run-record")
        .arg("claim")
        .arg("--data")
        .arg(&data)
        .succeeds();
    let today = chrono::Utc::now().date_naive();
    let days_ago = |n: u64| (today - chrono::Days::new(n)).to_string();
    let old_log = data.join(format!("logs/{}_old-run.log", days_ago(15)));
    let recent_log = data.join(format!("logs/{}_recent-run.log", days_ago(13)));
    let old_raw = data.join(format!("raw/scrapes/{}/sec/x.json", days_ago(8)));
    let recent_raw = data.join(format!("raw/scrapes/{}/sec/x.json", days_ago(6)));
    for f in [&old_log, &recent_log, &old_raw, &recent_raw] {
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, "x").unwrap();
    }
    demo(&w, "universe", &data, &s.base_url()).succeeds();
    assert!(
        !old_log.exists(),
        "a log older than pipeline.log_retention_days (14)"
    );
    assert!(recent_log.exists());
    assert!(
        !old_raw.exists(),
        "raw downloads older than pipeline.raw_retention_days (7)"
    );
    assert!(recent_raw.exists());
    assert!(
        data.join(format!("raw/scrapes/{today}")).is_dir(),
        "today's downloads kept"
    );
}

#[test]
fn dates_the_data_cannot_be_about_yet_and_unusable_run_ids_are_refused_before_anything_runs() {
    let w = WorkDir::new();
    let data = w.join("data");
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Days::new(1)).to_string();
    for cmd in ["nightly", "universe", "training", "all"] {
        w.pipeline()
            .args([cmd, "--as-of", &tomorrow, "--config"])
            .arg(demo_config())
            .arg("--data")
            .arg(&data)
            .run()
            .code_is(2)
            .stderr_contains(&format!("--as-of {tomorrow}"));
    }
    w.pipeline()
        .args(["nightly", "--as-of", "2026-02-30"])
        .run()
        .code_is(2)
        .stderr_contains("not a date");
    for bad in ["a/b", "has space", "q\"uote", "ünï", &"x".repeat(65)] {
        w.pipeline()
            .args(["nightly", "--config"])
            .arg(demo_config())
            .arg("--data")
            .arg(&data)
            .env("RUN_ID", bad)
            .run()
            .code_is(2)
            .stderr_contains("RUN_ID");
    }
    assert!(!data.exists(), "nothing written");
}

#[test]
fn a_scrape_that_lost_a_source_keeps_the_previous_universe() {
    let w = WorkDir::new();
    let good = demo_server();
    let data = w.join("data");
    let day1 = (chrono::Utc::now().date_naive() - chrono::Days::new(1)).to_string();
    w.pipeline()
        .args(["universe", "--as-of", &day1, "--config"])
        .arg(demo_config())
        .arg("--data")
        .arg(&data)
        .env("REPLAY_BASE", good.base_url())
        .succeeds();
    let latest_link = data.join("universe/latest.ndjson");
    let before = std::fs::read(&latest_link).unwrap();
    // otherlisted.txt answers with its header and footer only: a structure failure of one
    // source; the SEC still lists those ETFs, without the flag that says they are ETFs.
    let dir = tempfile::tempdir().unwrap();
    let header_only = dir.path().join("otherlisted.txt");
    std::fs::write(
        &header_only,
        "ACT Symbol|Security Name|Exchange|CQS Symbol|ETF|Round Lot Size|Test Issue|NASDAQ Symbol\nFile Creation Time: 1203202600:00|||||||\n",
    )
    .unwrap();
    let real = repo_root().join("fixtures/real");
    let listings = std::fs::read_to_string(repo_root().join("fixtures/replay/listings.yaml"))
        .unwrap()
        .replace(
            "file: ../real/nasdaqtrader/otherlisted_20250721.txt",
            &format!("file: {}", header_only.display()),
        )
        .replace("file: ../real/", &format!("file: {}/", real.display()));
    let mapping = dir.path().join("routes.yaml");
    std::fs::write(&mapping, listings).unwrap();
    let mixed = ReplayServer::start(
        Routes::from_file(&mapping).unwrap(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .unwrap();
    demo(&w, "universe", &data, &mixed.base_url())
        .run()
        .code_is(75)
        .stderr_contains("universe failed at scrape (exit 75)");
    assert_eq!(
        std::fs::read(&latest_link).unwrap(),
        before,
        "the previous universe stays"
    );
    let record = latest(&data);
    assert_eq!(step_names(&record), ["scrape"]);
    assert_eq!(
        record["alerts"].as_array().unwrap().len(),
        0,
        "no channel configured"
    );
}

#[test]
fn what_an_alert_command_leaves_running_never_holds_the_next_runs_lock() {
    let w = WorkDir::new();
    let s = server(FAILING_NIGHT);
    let data = w.join("data");
    let run = |cmd: &str| {
        w.pipeline()
            .arg(cmd)
            .arg("--config")
            .arg(demo_config())
            .arg("--data")
            .arg(&data)
            .env("REPLAY_BASE", s.base_url())
            .env(
                "ALERT_COMMAND",
                "cat > /dev/null; (sleep 20 </dev/null >/dev/null 2>&1 &)",
            )
            .run()
    };
    run("universe").code_is(0);
    run("nightly").code_is(69);
    // The sleep the command left behind is still running: the next run is not locked out.
    run("nightly")
        .code_is(69)
        .stderr_contains("nightly failed at fetch");
}

#[test]
fn a_torn_index_line_never_swallows_the_next_run() {
    let w = WorkDir::new();
    let s = demo_server();
    let data = w.join("data");
    let run = || {
        demo(&w, "universe", &data, &s.base_url()).succeeds();
    };
    run();
    let index_path = data.join("runs/index.ndjson");
    let whole = std::fs::read(&index_path).unwrap();
    let mut torn = whole.clone();
    torn.extend_from_slice(&whole[..40]);
    torn.extend_from_slice(b"\xff");
    std::fs::write(&index_path, &torn).unwrap();
    std::fs::write(data.join("runs/latest.json"), "not json").unwrap();
    run();
    let text = String::from_utf8_lossy(&std::fs::read(&index_path).unwrap()).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(
        serde_json::from_str::<Value>(lines[2]).is_ok(),
        "the new run's line is whole"
    );
    // The status view skips the torn line and still shows both runs' results.
    std::fs::write(data.join("runs/latest.json"), "not json").unwrap();
    let out = w
        .pipeline()
        .arg("status")
        .arg("--config")
        .arg(demo_config())
        .arg("--data")
        .arg(&data)
        .succeeds()
        .stdout();
    assert!(out.contains("(2 runs)"), "{out}");
    assert!(out.contains("could not be read"), "{out}");
}

#[test]
fn a_night_and_a_backup_scheduled_together_wait_for_each_other() {
    let w = WorkDir::new();
    let data = w.join("data");
    w.cmd("run-record")
        .arg("claim")
        .arg("--data")
        .arg(&data)
        .succeeds();
    let lock = data.join(".pipeline.lock");
    std::fs::write(&lock, "pid 1, run r0, backup since 2026-12-03T01:00:00Z\n").unwrap();
    let mut holder = hold_lock(&lock, 2);
    // The night finds a backup holding the lock: it waits its turn instead of being lost.
    let started = std::time::Instant::now();
    w.pipeline()
        .arg("status")
        .arg("--demo")
        .arg("--data")
        .arg(&data)
        .run()
        .code_is(0);
    let s = demo_server();
    w.pipeline()
        .args(["universe", "--config"])
        .arg(demo_config())
        .arg("--data")
        .arg(&data)
        .env("REPLAY_BASE", s.base_url())
        .succeeds();
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1500),
        "it waited"
    );
    let _ = holder.wait();
}

#[test]
fn a_failed_night_stays_red_in_the_status_after_a_green_backup_and_a_killed_run_is_recorded_failed()
{
    let w = WorkDir::new();
    let s = server(FAILING_NIGHT);
    let data = w.join("data");
    let run = |cmd: &str| {
        w.pipeline()
            .arg(cmd)
            .arg("--config")
            .arg(demo_config())
            .arg("--data")
            .arg(&data)
            .env("REPLAY_BASE", s.base_url())
            .run()
    };
    run("universe").code_is(0);
    run("nightly").code_is(69);
    run("backup").code_is(0);
    let status = w
        .pipeline()
        .args(["status", "--config"])
        .arg(demo_config())
        .arg("--data")
        .arg(&data)
        .run()
        .code_is(2)
        .stdout();
    let bars = status
        .lines()
        .find(|l| l.starts_with("bars_daily"))
        .unwrap();
    assert!(bars.contains("✖ fail"), "{status}");
    // A run killed so hard that it left its record `running`: the next run records it failed.
    w.cmd("run-record")
        .args(["begin", "--pipeline", "nightly", "--data"])
        .arg(&data)
        .env("RUN_ID", "killed-hard")
        .succeeds();
    run("universe").code_is(0);
    let lines = index(&data);
    let killed = lines
        .iter()
        .find(|l| l["run_id"] == "killed-hard")
        .expect("an index line");
    assert_eq!(killed["status"], "fail");
}

#[test]
fn a_backfill_into_an_empty_lake_says_how_short_its_history_is() {
    let w = WorkDir::new();
    let s = demo_server();
    let data = w.join("data");
    demo(&w, "universe", &data, &s.base_url()).succeeds();
    demo(&w, "nightly", &data, &s.base_url())
        .args(["--days-back", "3"])
        .succeeds()
        .stderr_contains("--days-back 3 on an empty lake: each symbol gets only 3 days of history");
    // With bars in the lake, a backfill is what it says, quietly.
    demo(&w, "nightly", &data, &s.base_url())
        .args(["--days-back", "3"])
        .succeeds()
        .stderr_is_empty();
}

#[test]
fn a_backup_is_copied_to_s3_read_back_and_old_days_removed() {
    use tickerlake_tests::S3Server;
    let w = WorkDir::new();
    let s = demo_server();
    let data = w.join("data");
    demo(&w, "universe", &data, &s.base_url()).succeeds();
    // A bucket whose prefix already holds an old day of ours (s3s-fs: a file is an object).
    let root = w.join("s3");
    let old_day = root.join("backups/tl/2020-01-01");
    std::fs::create_dir_all(&old_day).unwrap();
    std::fs::write(root.join("backups/tl/.tickerlake-backups"), "").unwrap();
    std::fs::write(old_day.join("tickerlake-2020-01-01.tar.gz"), "old").unwrap();
    let s3 = S3Server::start(&root);
    let config = std::fs::read_to_string(demo_config()).unwrap().replace(
        "    dir: demo-backups\n",
        "    dir: demo-backups\n    s3: s3://backups/tl\n",
    );
    let config = w.write("s3-backup.yaml", config);
    w.pipeline()
        .arg("backup")
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .env("AWS_ENDPOINT_URL", s3.endpoint())
        .env("AWS_ACCESS_KEY_ID", S3Server::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", S3Server::SECRET_KEY)
        .succeeds();
    let today = chrono::Utc::now().date_naive().to_string();
    let name = format!("tickerlake-{today}.tar.gz");
    let local = std::fs::read(w.join("demo-backups").join(&today).join(&name)).unwrap();
    let remote = std::fs::read(root.join("backups/tl").join(&today).join(&name)).unwrap();
    assert_eq!(remote, local, "the S3 copy is the verified archive");
    let sums =
        std::fs::read_to_string(root.join("backups/tl").join(&today).join("SHA256SUMS")).unwrap();
    assert!(sums.ends_with(&format!("  {name}\n")), "{sums}");
    assert!(
        !old_day.join("tickerlake-2020-01-01.tar.gz").exists(),
        "older than pipeline.backup.retention_days"
    );
    let record = latest(&data);
    assert_eq!(step_names(&record), ["backup", "verify", "upload"]);
    // A prefix holding others' objects is not written into: the upload step fails, exit 2.
    std::fs::create_dir_all(root.join("backups/theirs")).unwrap();
    std::fs::write(root.join("backups/theirs/notes.txt"), "mine").unwrap();
    let theirs = w.write(
        "theirs.yaml",
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("s3://backups/tl", "s3://backups/theirs"),
    );
    w.pipeline()
        .arg("backup")
        .arg("--config")
        .arg(&theirs)
        .arg("--data")
        .arg(&data)
        .env("AWS_ENDPOINT_URL", s3.endpoint())
        .env("AWS_ACCESS_KEY_ID", S3Server::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", S3Server::SECRET_KEY)
        .fails_with(2);
    let left: Vec<String> = std::fs::read_dir(root.join("backups/theirs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert_eq!(left, ["notes.txt"]);
}

#[test]
fn an_s3_backup_retention_that_would_remove_todays_backup_is_refused_before_any_request() {
    let w = WorkDir::new();
    let archive = w.write("a.tar.gz", "x");
    for (keep, date) in [("0", "2026-01-01"), ("3", "2099-01-01")] {
        w.cmd("run-record")
            .arg("s3-backup")
            .arg(&archive)
            .args(["--to", "s3://backups/tl", "--date", date, "--keep", keep])
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .fails_with(2);
    }
}
