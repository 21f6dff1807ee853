//! The dashboard in a real browser: Debian's Chromium, headless, opening the page from disk with
//! the flags a root, offline machine needs, driven over the DevTools protocol (a WebSocket on
//! 127.0.0.1; no driver, no download). `.ci/run` installs `chromium` and `fonts-dejavu-core`.
//!
//! Asserted: zero console errors, exceptions and CSP violations; the KPI values and colours in
//! the rendered DOM equal summary.json; a click on a column header sorts the table and says so
//! (`aria-sort`); dark mode renders dark; the stale banner shows for an old run; and, as a
//! control, a page that does load something is caught. Screenshots of both themes go to
//! `target/dashboard-light.png` and `target/dashboard-dark.png` (look at them).

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tickerlake_tests::{WorkDir, repo_root};
use tungstenite::stream::MaybeTlsStream;

use crate::lake_status::render_site;
use crate::pipeline::{demo, demo_server, read_json};

const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium and one page of it.
struct Browser {
    child: Child,
    ws: tungstenite::WebSocket<MaybeTlsStream<TcpStream>>,
    session: String,
    next_id: u64,
    /// Console errors, exceptions and log errors seen so far.
    errors: Vec<String>,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn launch() -> Browser {
        assert!(
            Path::new(CHROMIUM).is_file(),
            "{CHROMIUM} is missing: apt install chromium fonts-dejavu-core (.ci/run does it)"
        );
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                // Root cannot sandbox; a closed network: nothing may try to phone home.
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID" on stderr.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split("DevTools listening on ").nth(1) {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("Chromium printed its DevTools address");
        let (ws, _) = tungstenite::connect(url.as_str()).unwrap();
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        }
        let mut b = Browser {
            child,
            ws,
            session: String::new(),
            next_id: 0,
            errors: Vec::new(),
            _profile: profile,
        };
        let target = b.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let attached = b.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target["targetId"], "flatten": true}),
        );
        b.session = attached["sessionId"].as_str().unwrap().to_string();
        for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
            b.page(domain, json!({}));
        }
        b.page(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        );
        b
    }

    /// Sends a command and waits for its answer; events met meanwhile are looked at.
    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(tungstenite::Message::text(msg.to_string()))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let m = self.read();
            if m["id"] == id {
                assert!(m.get("error").is_none(), "{method}: {m}");
                return m["result"].clone();
            }
        }
        panic!("{method}: no answer");
    }

    fn page(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.call(Some(&session), method, params)
    }

    fn read(&mut self) -> Value {
        let msg = self.ws.read().unwrap();
        let Ok(text) = msg.to_text() else {
            return Value::Null;
        };
        let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        match v["method"].as_str() {
            Some("Runtime.exceptionThrown") => self
                .errors
                .push(format!("exception: {}", v["params"]["exceptionDetails"])),
            Some("Runtime.consoleAPICalled")
                if matches!(v["params"]["type"].as_str(), Some("error" | "assert")) =>
            {
                self.errors
                    .push(format!("console: {}", v["params"]["args"]))
            }
            Some("Log.entryAdded") if v["params"]["entry"]["level"] == "error" => self
                .errors
                .push(format!("log: {}", v["params"]["entry"]["text"])),
            _ => {}
        }
        v
    }

    /// Opens `url` and waits for its load event.
    fn open(&mut self, url: &str) {
        self.page("Page.navigate", json!({"url": url}));
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.read()["method"] == "Page.loadEventFired" {
                return;
            }
        }
        panic!("{url}: no load event");
    }

    /// Evaluates a JavaScript expression in the page, returning its JSON value.
    fn eval(&mut self, expr: &str) -> Value {
        let r = self.page(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(r.get("exceptionDetails").is_none(), "{expr}: {r}");
        r["result"]["value"].clone()
    }

    fn dark(&mut self, on: bool) {
        self.page(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": if on { "dark" } else { "light" }}]}),
        );
    }

    /// A full-page PNG into `path`.
    fn screenshot(&mut self, path: &Path) {
        let metrics = self.page("Page.getLayoutMetrics", json!({}));
        let size = &metrics["cssContentSize"];
        let shot = self.page(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap().display())
}

/// The cards as the browser rendered them: (key, data-value, data-colour, shown value).
const CARDS: &str = "JSON.stringify([...document.querySelectorAll('a.card')].map(c => \
    [c.dataset.kpi, c.dataset.value, c.dataset.colour, c.querySelector('.value').textContent]))";

#[test]
fn the_dashboard_in_chromium_has_no_error_matches_its_json_sorts_and_has_a_dark_theme() {
    let w = WorkDir::new();
    let s = demo_server();
    let data = w.join("data");
    demo(&w, "all", &data, &s.base_url()).succeeds();
    demo(&w, "nightly", &data, &s.base_url()).succeeds();
    let site = w.join("site");
    render_site(&w, &data, &site, "2026-12-03T06:00:00Z");
    let page = site.join("index.html");
    let mut b = Browser::launch();
    b.dark(false);
    b.open(&file_url(&page));

    let html = b.eval("({ok: document.documentElement.dataset.jsOk, errors: document.documentElement.dataset.jsErrors, csp: document.documentElement.dataset.cspViolations})");
    assert_eq!(
        html,
        json!({"ok": "1", "errors": "0", "csp": "0"}),
        "{:#?}",
        b.errors
    );

    // The KPI cards in the rendered DOM are summary.json's.
    let summary = read_json(&site.join("summary.json"));
    let cards: Vec<Vec<String>> = serde_json::from_str(b.eval(CARDS).as_str().unwrap()).unwrap();
    let kpis = summary["kpis"].as_array().unwrap();
    assert_eq!(cards.len(), kpis.len());
    for (card, k) in cards.iter().zip(kpis) {
        assert_eq!(card[0], k["key"].as_str().unwrap());
        assert_eq!(
            card[1],
            k["value"]
                .as_u64()
                .map_or_else(String::new, |v| v.to_string())
        );
        assert_eq!(card[2], k["colour"].as_str().unwrap());
    }

    // A click on a header sorts the table and says which way.
    let sorted = |b: &mut Browser| -> Value {
        b.eval(
            "(() => { const t = document.getElementById('datasets'); \
             const th = t.tHead.rows[0].cells[4]; th.querySelector('button').click(); \
             return {sort: th.getAttribute('aria-sort'), \
                     keys: [...t.tBodies[0].rows].map(r => Number(r.cells[4].dataset.sort))}; })()",
        )
    };
    let up = sorted(&mut b);
    assert_eq!(up["sort"], "ascending");
    let keys: Vec<i64> = serde_json::from_value(up["keys"].clone()).unwrap();
    assert!(keys.windows(2).all(|p| p[0] <= p[1]), "{keys:?}");
    assert!(keys.first() < keys.last(), "the rows moved: {keys:?}");
    let down = sorted(&mut b);
    assert_eq!(down["sort"], "descending");
    let keys: Vec<i64> = serde_json::from_value(down["keys"].clone()).unwrap();
    assert!(keys.windows(2).all(|p| p[0] >= p[1]), "{keys:?}");

    // A fresh green run: no banner.
    assert_eq!(
        b.eval("document.getElementById('stale').hidden"),
        json!(true)
    );
    let root = repo_root().join("target");
    b.screenshot(&root.join("dashboard-light.png"));
    let light_bg = b.eval("getComputedStyle(document.body).backgroundColor");

    // Dark: the system's preference, and the toggle back to light.
    b.dark(true);
    b.open(&file_url(&page));
    let dark_bg = b.eval("getComputedStyle(document.body).backgroundColor");
    assert_ne!(light_bg, dark_bg);
    assert_eq!(dark_bg, json!("rgb(21, 24, 28)"));
    b.screenshot(&root.join("dashboard-dark.png"));
    b.eval("document.getElementById('theme').click()");
    assert_eq!(
        b.eval("getComputedStyle(document.body).backgroundColor"),
        light_bg
    );
    assert_eq!(
        b.eval("document.documentElement.dataset.jsErrors"),
        json!("0")
    );
    assert!(b.errors.is_empty(), "console errors: {:#?}", b.errors);

    // The control: something loaded from elsewhere is a CSP violation the page counts and the
    // browser logs — the check above would have seen one.
    b.eval("new Promise(r => { const i = new Image(); i.onerror = r; i.src = 'http://127.0.0.1:9/x.png'; document.body.append(i); setTimeout(r, 500); })");
    assert_eq!(
        b.eval("document.documentElement.dataset.cspViolations"),
        json!("1")
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while b.errors.is_empty() && Instant::now() < deadline {
        b.eval("1");
    }
    assert!(
        b.errors
            .iter()
            .any(|e| e.contains("Content Security Policy")),
        "{:#?}",
        b.errors
    );
}

#[test]
fn an_old_run_shows_the_stale_banner_in_chromium() {
    let w = WorkDir::new();
    let s = demo_server();
    let data = w.join("data");
    demo(&w, "universe", &data, &s.base_url()).succeeds();
    // The run finished three days ago, as far as the page can tell.
    let site = w.join("site");
    render_site(&w, &data, &site, "2026-12-03T06:00:00Z");
    let summary_path = site.join("summary.json");
    let mut summary = read_json(&summary_path);
    let old = (chrono::Utc::now() - chrono::Duration::days(3))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    summary["run"]["finished_at"] = json!(old);
    let page = std::fs::read_to_string(site.join("index.html")).unwrap();
    let embedded = std::fs::read_to_string(&summary_path).unwrap();
    let aged: PathBuf = site.join("aged.html");
    std::fs::write(
        &aged,
        page.replace(
            &embedded,
            &format!("{}\n", serde_json::to_string(&summary).unwrap()),
        ),
    )
    .unwrap();
    let mut b = Browser::launch();
    b.open(&file_url(&aged));
    assert_eq!(
        b.eval("document.getElementById('stale').hidden"),
        json!(false)
    );
    let text = b.eval("document.getElementById('stale').textContent");
    assert!(text.as_str().unwrap().contains("days ago"), "{text}");
    assert!(b.errors.is_empty(), "{:#?}", b.errors);
}
