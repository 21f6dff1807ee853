//! lake-status on data directories the real pipeline made: the demo's nights and a night whose
//! fetch failed. The JSON files are checked against their schemas, the page without a browser
//! (its KPI cards against summary.json, its embedded blocks against their twin files, nothing
//! loaded from anywhere), and the bytes are the same for the same data and `--now`.

use std::path::Path;

use serde_json::Value;
use tickerlake_tests::{WorkDir, repo_root};

use crate::pipeline::{
    FAILING_NIGHT, assert_valid, demo, demo_config, demo_server, read_json, server,
};

/// The JSON files and their schemas.
const DOCS: [(&str, &str); 6] = [
    ("summary.json", "status-summary.schema.json"),
    ("tickers/lagging.json", "status-lagging.schema.json"),
    ("qa/failures.json", "status-failures.schema.json"),
    ("fetch/errors.json", "status-errors.schema.json"),
    ("universe/delta.json", "status-delta.schema.json"),
    ("runs/index.json", "status-runs.schema.json"),
];

/// Everything a page and its JSON twins must be, whatever the data.
pub(crate) fn assert_dashboard(site: &Path) {
    for (file, schema) in DOCS {
        assert_valid(&site.join(file), schema);
    }
    for entry in std::fs::read_dir(site.join("price"))
        .into_iter()
        .flatten()
        .flatten()
    {
        assert_valid(&entry.path(), "status-price.schema.json");
    }
    let html = std::fs::read_to_string(site.join("index.html")).unwrap();
    let doc = scraper::Html::parse_document(&html);
    let sel = |s: &str| scraper::Selector::parse(s).unwrap();
    // Each embedded block is its twin file, byte for byte.
    let mut blocks = 0;
    for script in doc.select(&sel("script[type=\"application/json\"]")) {
        let file = script.value().attr("id").unwrap();
        let twin = std::fs::read_to_string(site.join(file)).unwrap();
        assert_eq!(
            script.inner_html(),
            twin,
            "the page's {file} is not the file's"
        );
        blocks += 1;
    }
    assert_eq!(blocks, DOCS.len());
    // Each KPI card shows summary.json's value and colour.
    let summary = read_json(&site.join("summary.json"));
    let kpis = summary["kpis"].as_array().unwrap();
    assert_eq!(kpis.len(), 7);
    for k in kpis {
        let key = k["key"].as_str().unwrap();
        let card = doc
            .select(&sel(&format!("a.card[data-kpi=\"{key}\"]")))
            .next()
            .unwrap_or_else(|| panic!("no card for {key}"));
        let value = card.value().attr("data-value").unwrap();
        match k["value"].as_u64() {
            Some(v) => assert_eq!(value, v.to_string(), "{key}"),
            None => {
                assert_eq!(value, "", "{key}");
                assert!(card.text().any(|t| t.contains("no data yet")), "{key}");
            }
        }
        assert_eq!(
            card.value().attr("data-colour"),
            k["colour"].as_str(),
            "{key}"
        );
        // The threshold is written on the card, not hidden in a tooltip.
        let threshold = k["threshold"].as_str().unwrap();
        assert!(
            card.text().any(|t| t.contains(threshold)),
            "{key}: {threshold}"
        );
        // Colour is never the only signal.
        assert!(
            card.text()
                .any(|t| ["✔", "▲", "✖", "?", "ℹ"].iter().any(|s| t.contains(s))),
            "{key}"
        );
    }
    // Nothing is loaded from anywhere: no URL in any src or href, a CSP that allows nothing.
    for el in doc.select(&sel("[src], [href]")) {
        for attr in ["src", "href"] {
            if let Some(v) = el.value().attr(attr) {
                assert!(!v.contains("://") && !v.starts_with("//"), "{attr}={v}");
            }
        }
    }
    let csp = doc
        .select(&sel("meta[http-equiv=\"Content-Security-Policy\"]"))
        .next()
        .unwrap()
        .value()
        .attr("content")
        .unwrap()
        .to_string();
    assert!(csp.starts_with("default-src 'none';"), "{csp}");
    let scripts: Vec<_> = doc.select(&sel("script:not([type])")).collect();
    assert_eq!(scripts.len(), 1, "one inline script");
    assert!(scripts[0].inner_html().len() < 4096, "a few KB of script");
    // Every chart is an image with a title.
    for svg in doc.select(&sel("svg.chart")) {
        assert_eq!(svg.value().attr("role"), Some("img"));
        assert!(svg.select(&sel("title")).next().is_some());
    }
}

/// `lake-status --html SITE --json SITE --now NOW` on `data`; its exit status.
pub(crate) fn render_site(w: &WorkDir, data: &Path, site: &Path, now: &str) -> i32 {
    w.cmd("lake-status")
        .arg("--config")
        .arg(demo_config())
        .arg("--data")
        .arg(data)
        .arg("--html")
        .arg(site)
        .arg("--json")
        .arg(site)
        .args(["--now", now])
        .run()
        .code()
        .unwrap_or(-1)
}

#[test]
fn the_demo_nights_dashboard_is_schema_valid_self_contained_and_reproducible() {
    let w = WorkDir::new();
    let s = demo_server();
    let data = w.join("data");
    demo(&w, "all", &data, &s.base_url()).succeeds();
    demo(&w, "nightly", &data, &s.base_url()).succeeds();
    // pipeline.sh rebuilt the page after each run.
    assert!(data.join("site/index.html").is_file());
    assert_dashboard(&data.join("site"));

    let site = w.join("site");
    assert_eq!(render_site(&w, &data, &site, "2026-12-03T06:00:00Z"), 0);
    assert_dashboard(&site);
    let first = std::fs::read(site.join("index.html")).unwrap();
    assert_eq!(render_site(&w, &data, &site, "2026-12-03T06:00:00Z"), 0);
    assert_eq!(
        first,
        std::fs::read(site.join("index.html")).unwrap(),
        "same data, same bytes"
    );

    let summary = read_json(&site.join("summary.json"));
    assert_eq!(summary["health"], "green", "{summary:#}");
    assert_eq!(summary["generated_at"], "2026-12-03T06:00:00Z");
    let runs = read_json(&site.join("runs/index.json"));
    assert_eq!(runs["total"], 2);
    assert_eq!(runs["runs"].as_array().unwrap().len(), 2);
    let lagging = read_json(&site.join("tickers/lagging.json"));
    assert_eq!(lagging["symbols"], 40, "the demo's nightly sample");

    // make dashboard: the same page, by hand, and its path (`-o build`: the binaries are built;
    // a cargo inside the test run could rebuild them under the other tests' feet).
    std::fs::remove_dir_all(data.join("site")).unwrap();
    let make = std::process::Command::new("make")
        .args(["-s", "-o", "build"])
        .arg("-C")
        .arg(repo_root())
        .arg("dashboard")
        .arg(format!("DATA={}", data.display()))
        .arg(format!("CONFIG={}", demo_config().display()))
        .output()
        .unwrap();
    assert!(
        make.status.success(),
        "{}",
        String::from_utf8_lossy(&make.stderr)
    );
    let printed = String::from_utf8_lossy(&make.stdout);
    assert!(
        printed.trim_end().ends_with("/site/index.html"),
        "{printed}"
    );
    assert_dashboard(&data.join("site"));

    // The terminal view agrees and is quiet about colour when piped.
    let view = w
        .cmd("lake-status")
        .arg("--config")
        .arg(demo_config())
        .arg("--data")
        .arg(&data)
        .succeeds()
        .stdout();
    assert!(view.contains("✔ green"), "{view}");
    assert!(!view.contains('\u{1b}'), "no colour on a pipe:\n{view}");
    for label in ["Total active tickers", "Lag > 2 trading days", "bars_daily"] {
        assert!(view.contains(label), "{label}\n{view}");
    }
}

#[test]
fn a_failed_night_is_red_everywhere_and_its_alert_is_decided_once() {
    let w = WorkDir::new();
    let s = server(FAILING_NIGHT);
    let data = w.join("data");
    demo(&w, "universe", &data, &s.base_url()).succeeds();
    demo(&w, "nightly", &data, &s.base_url()).run().code_is(69);
    let site = w.join("site");
    assert_eq!(
        render_site(&w, &data, &site, "2026-12-03T06:00:00Z"),
        2,
        "red"
    );
    assert_dashboard(&site);
    let summary = read_json(&site.join("summary.json"));
    assert_eq!(summary["health"], "red");
    let kpi = |key: &str| -> Value {
        summary["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["key"] == key)
            .unwrap()
            .clone()
    };
    // QA did not run: its cards are grey "no data yet", never green.
    assert_eq!(kpi("lag_2d")["colour"], "unknown");
    assert_eq!(kpi("lag_2d")["value"], Value::Null);
    assert_eq!(kpi("price_jumps_7d")["colour"], "unknown");
    // The banner is in the HTML itself (no script needed): the newest run failed.
    let html = std::fs::read_to_string(site.join("index.html")).unwrap();
    let doc = scraper::Html::parse_document(&html);
    let banner = doc
        .select(&scraper::Selector::parse("#stale").unwrap())
        .next()
        .unwrap();
    assert!(banner.value().attr("hidden").is_none(), "the banner shows");
    assert!(banner.text().any(|t| t.contains("failed")));

    // The alert: decided for the failed run, one line; deciding again gives the same.
    let decide = || {
        w.cmd("lake-status")
            .arg("--config")
            .arg(demo_config())
            .arg("--data")
            .arg(&data)
            .arg("--alerts")
            .succeeds()
            .stdout()
    };
    let lines = decide();
    assert_eq!(lines, decide());
    let msgs: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(msgs.len(), 1, "{lines}");
    assert_eq!(msgs[0]["key"], "step:fetch");
    assert_eq!(msgs[0]["kind"], "new");
    // A second failed night in a row is quiet.
    demo(&w, "nightly", &data, &s.base_url()).run().code_is(69);
    assert_eq!(decide(), "", "still red: no message");
}

#[test]
fn a_directory_with_nothing_yet_renders_no_data_and_a_foreign_output_is_refused() {
    let w = WorkDir::new();
    let data = w.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let site = w.join("site");
    assert_eq!(render_site(&w, &data, &site, "2026-12-03T06:00:00Z"), 0);
    assert_dashboard(&site);
    let summary = read_json(&site.join("summary.json"));
    assert_eq!(summary["health"], "unknown");
    assert!(
        summary["kpis"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["colour"] == "unknown" && k["value"].is_null()),
        "{summary:#}"
    );
    // An output directory holding someone else's files is never written into.
    let foreign = w.join("docs");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("index.html"), "my page").unwrap();
    w.cmd("lake-status")
        .arg("--data")
        .arg(&data)
        .arg("--html")
        .arg(&foreign)
        .run()
        .code_is(2)
        .stderr_contains("not a lake-status output");
    assert_eq!(
        std::fs::read_to_string(foreign.join("index.html")).unwrap(),
        "my page"
    );
    // A data directory that does not exist: 3.
    w.cmd("lake-status")
        .arg("--data")
        .arg(w.join("nowhere"))
        .run()
        .code_is(3);
}

/// Copies `from` into `to`, recursively.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                let rel = entry
                    .path()
                    .strip_prefix(dir)
                    .unwrap()
                    .display()
                    .to_string();
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// The terminal view, the JSON files, the page and each night's alert decisions for the four
/// nights of fixtures/status/nights (made by the real pipeline: fixtures/status/make-nights.sh),
/// against tests/golden/lake-status/. `TICKERLAKE_BLESS=1` rewrites the golden files.
#[test]
fn golden_views_of_four_real_nights() {
    let w = WorkDir::new();
    copy_tree(
        &repo_root().join("fixtures/status/nights"),
        &w.join("nights"),
    );
    let now = "2026-12-02T06:00:00Z";
    let mut got: Vec<(String, Vec<u8>)> = Vec::new();
    let config = demo_config();
    let config = config.to_str().unwrap();
    let view = w
        .cmd("lake-status")
        .args(["--config", config, "--data", "nights", "--now", now])
        .run();
    assert_eq!(view.code(), Some(2), "the last night failed: red");
    got.push(("view.txt".into(), view.out.stdout.clone()));
    assert_eq!(
        w.cmd("lake-status")
            .args(["--config", config, "--data", "nights", "--now", now])
            .args(["--html", "site", "--json", "site"])
            .run()
            .code(),
        Some(2)
    );
    let site = w.join("site");
    assert_dashboard(&site);
    for f in files(&site) {
        if f != ".tickerlake-site" {
            got.push((format!("site/{f}"), std::fs::read(site.join(&f)).unwrap()));
        }
    }
    let index: Vec<Value> = std::fs::read_to_string(w.join("nights/runs/index.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(index.len(), 4);
    let mut alerts = String::new();
    for line in &index {
        let dir = format!("nights/runs/{}", line["dir"].as_str().unwrap());
        let decided = w
            .cmd("lake-status")
            .args([
                "--config", config, "--data", "nights", "--alerts", "--run", &dir,
            ])
            .succeeds()
            .stdout();
        alerts.push_str(&format!(
            "# {} ({})\n{decided}",
            line["run_id"].as_str().unwrap(),
            line["as_of"].as_str().unwrap()
        ));
    }
    got.push(("alerts.txt".into(), alerts.into_bytes()));

    let golden = repo_root().join("tests/golden/lake-status");
    let bless = std::env::var_os("TICKERLAKE_BLESS").is_some_and(|v| v == "1");
    if bless {
        let _ = std::fs::remove_dir_all(&golden);
    }
    let mut stale = Vec::new();
    for (name, bytes) in &got {
        let path = golden.join(name);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, bytes).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
            stale.push(name.clone());
        }
    }
    if !bless {
        let expected: Vec<String> = files(&golden);
        let mut names: Vec<String> = got.iter().map(|(n, _)| n.clone()).collect();
        names.sort();
        assert_eq!(names, expected, "the set of golden files");
    }
    assert!(
        stale.is_empty(),
        "differ from tests/golden/lake-status (TICKERLAKE_BLESS=1 to accept): {stale:?}"
    );
}

/// A copy of the four nights to damage.
fn nights(w: &WorkDir, name: &str) -> std::path::PathBuf {
    let dir = w.join(name);
    copy_tree(&repo_root().join("fixtures/status/nights"), &dir);
    dir
}

fn decide(w: &WorkDir, data: &Path) -> tickerlake_tests::Run {
    w.cmd("lake-status")
        .arg("--config")
        .arg(demo_config())
        .arg("--data")
        .arg(data)
        .arg("--alerts")
        .run()
}

#[test]
fn an_index_that_lies_never_leads_outside_the_data_dir_nor_hides_the_newest_run() {
    let w = WorkDir::new();
    // A line naming a directory outside runs/ (absolute, or up and out) is left out.
    let outside = w.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    let data = nights(&w, "trav");
    let index = data.join("runs/index.ndjson");
    let mut text = std::fs::read_to_string(&index).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    let record = std::fs::read_to_string(
        data.join("runs")
            .join(last["dir"].as_str().unwrap())
            .join("metadata.json"),
    )
    .unwrap();
    std::fs::write(
        outside.join("metadata.json"),
        record.replace("night-4", "night-9"),
    )
    .unwrap();
    std::fs::write(
        outside.join("fetch.errors.ndjson"),
        "{\"symbol\":\"SECRET\",\"provider\":\"yahoo\",\"code\":\"HTTP5XX\",\"attempts\":1,\"message\":\"x\",\"run_id\":\"night-9\",\"ts\":\"2026-12-03T00:00:00Z\"}\n",
    )
    .unwrap();
    for dir in [outside.display().to_string(), "../../outside".to_string()] {
        let mut line = last.clone();
        line["run_id"] = "night-9".into();
        line["dir"] = dir.into();
        line["started_at"] = "2026-12-09T01:00:00Z".into();
        text.push_str(&format!("{line}\n"));
    }
    std::fs::write(&index, &text).unwrap();
    let site = w.join("site-trav");
    render_site(&w, &data, &site, "2026-12-02T06:00:00Z");
    let html = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(
        !html.contains("SECRET") && !html.contains("night-9"),
        "read outside the data dir"
    );
    // Nor counted: such a line is not one of the runs.
    assert_eq!(read_json(&site.join("runs/index.json"))["total"], 4);
    decide(&w, &data).code_is(0);

    // A line written twice counts once, and the newest run's alert is still decided.
    let data = nights(&w, "dup");
    let index = data.join("runs/index.ndjson");
    let mut text = std::fs::read_to_string(&index).unwrap();
    let last_line = text.lines().last().unwrap().to_string();
    text.push_str(&format!("{last_line}\n"));
    // And the lines out of order: the newest is the one that started last.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.reverse();
    std::fs::write(&index, lines.join("\n") + "\n").unwrap();
    let out = decide(&w, &data).code_is(0).stdout();
    assert!(out.contains("\"key\":\"step:fetch\""), "{out}");
    let view = w
        .cmd("lake-status")
        .arg("--data")
        .arg(&data)
        .run()
        .code_is(2)
        .stdout();
    assert!(
        view.contains("(4 runs)") && view.contains("last run night-4"),
        "{view}"
    );

    // The newest run's record unreadable: no alert decided for the run before it (65), and the
    // view says which record it could not read.
    let data = nights(&w, "gone");
    let name = serde_json::from_str::<Value>(
        std::fs::read_to_string(data.join("runs/index.ndjson"))
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap()["dir"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(data.join("runs").join(&name).join("metadata.json"), "{torn").unwrap();
    std::fs::remove_file(data.join("runs/latest.json")).unwrap();
    decide(&w, &data)
        .code_is(65)
        .stderr_contains("the newest run's record cannot be read");
    let view = w.cmd("lake-status").arg("--data").arg(&data).run().stdout();
    assert!(view.contains("the newest run's record (runs/"), "{view}");
}

#[test]
fn links_fifos_and_bad_thresholds_are_refused_and_nothing_outside_is_touched() {
    let w = WorkDir::new();
    let data = nights(&w, "nights");
    // A link inside the output directory would lead the write (or the clean-up) elsewhere.
    let site = w.join("site");
    render_site(&w, &data, &site, "2026-12-02T06:00:00Z");
    let victim = w.join("victim");
    std::fs::create_dir_all(&victim).unwrap();
    std::fs::write(victim.join("OLD.json"), "keep").unwrap();
    std::fs::write(victim.join("important.json"), "keep").unwrap();
    std::fs::remove_dir_all(site.join("price")).unwrap();
    std::os::unix::fs::symlink(&victim, site.join("price")).unwrap();
    assert_eq!(render_site(&w, &data, &site, "2026-12-02T06:00:00Z"), 2);
    std::fs::remove_file(site.join("price")).unwrap();
    std::fs::remove_file(site.join("summary.json")).unwrap();
    std::os::unix::fs::symlink(victim.join("important.json"), site.join("summary.json")).unwrap();
    w.cmd("lake-status")
        .arg("--data")
        .arg(&data)
        .arg("--json")
        .arg(&site)
        .run()
        .code_is(2)
        .stderr_contains("symbolic link");
    assert_eq!(
        std::fs::read_to_string(victim.join("OLD.json")).unwrap(),
        "keep"
    );
    assert_eq!(
        std::fs::read_to_string(victim.join("important.json")).unwrap(),
        "keep"
    );
    assert_eq!(
        std::fs::read_dir(&victim).unwrap().count(),
        2,
        "nothing written into it"
    );

    // A FIFO where the fetch state should be is not opened (it would wait for ever).
    let fifo = data.join("state/fetch.json");
    std::fs::remove_file(&fifo).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let started = std::time::Instant::now();
    w.cmd("lake-status")
        .arg("--data")
        .arg(&data)
        .run()
        .code_is(2);
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    // Thresholds that cannot be are a configuration error, not a green card.
    let config = w.write(
        "bad.yaml",
        "status:\n  kpis:\n    fetch_errors: { green: 50, yellow: 4 }\n",
    );
    w.cmd("lake-status")
        .arg("--config")
        .arg(&config)
        .arg("--data")
        .arg(&data)
        .run()
        .code_is(78)
        .stderr_contains("status.kpis.fetch_errors");
}
