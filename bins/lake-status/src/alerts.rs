//! Which alerts a run deserves (`--alerts`): told on a change of state, repeated while a problem
//! stays, and within a budget.
//!
//! A run states, for each thing it looked at, whether it is a problem (the rules are
//! `pipeline.alerts` in `config.yaml`): a failed step (the pipeline failing, QA crashing),
//! a QA check over its rule (`lag` above `lag_pct` % of the universe, any finding of a critical
//! check), a proxy that failed (`proxy_fallback`), the fetch's p95 latency above `latency_p95`
//! on `latency_runs` fetching runs in a row. Against the earlier runs that looked at the same
//! thing:
//!
//! - a problem that was not one before is told (`new`);
//! - one that stays is told again every `repeat_every` runs (`repeat`), quiet in between;
//! - one that went away is named in the run's digest (`recovered`), never a message of its own;
//! - at most `max_per_run` messages: when there are more (or recoveries to tell), the last one
//!   is a digest naming the rest.
//!
//! The decision is a function of the run records only, so deciding twice gives the same lines.

use std::collections::BTreeMap;

use tickerlake::config::Alerts as Rules;
use tickerlake::runs::{AlertMessage, Status};

use crate::read::Run;

/// One thing a run found wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub key: String,
    /// 1: a step failed; 2: data is red; 3: a warning worth a message.
    pub priority: u8,
    pub text: String,
}

/// What a run looked at: each key it evaluated, with the problem when there is one.
pub fn states(run: &Run, before: &[Run], rules: &Rules) -> BTreeMap<String, Option<Problem>> {
    let r = &run.record;
    let who = format!("tickerlake {} {} on {}", r.pipeline, r.run_id, r.host);
    let mut out = BTreeMap::new();
    let checks = qa_states(run, rules, &who);
    // QA failing its gate (exit 1, its summary written) is its checks' news when one of them
    // tells it; otherwise (a warn-level gate, critical checks not alerting) the failed step
    // does: a failed run always says something.
    let checks_tell = checks.values().any(Option::is_some);
    for step in &r.steps {
        if step.status == Status::Skipped {
            continue;
        }
        let gate = step.name == "qa" && step.exit_code == 1 && r.qa.is_some() && checks_tell;
        let problem = (step.status == Status::Fail && !gate).then(|| {
            let meaning = u8::try_from(step.exit_code)
                .ok()
                .and_then(tickerlake::ExitCode::from_code)
                .map_or("unknown", |c| c.name());
            Problem {
                key: format!("step:{}", step.name),
                priority: 1,
                text: format!(
                    "{who}: step {} failed (exit {} {meaning}); as of {}. Log: {}",
                    step.name, step.exit_code, r.as_of, r.log
                ),
            }
        });
        out.insert(format!("step:{}", step.name), problem);
    }
    out.extend(checks);
    fetch_states(run, before, rules, &who, &mut out);
    out
}

/// The QA checks' states of a run.
fn qa_states(run: &Run, rules: &Rules, who: &str) -> BTreeMap<String, Option<Problem>> {
    let r = &run.record;
    let mut out = BTreeMap::new();
    if let Some(qa) = &r.qa {
        for (name, c) in &qa.checks {
            let critical = rules.critical_checks && c.severity == "critical" && c.findings > 0;
            let lagging = name == "lag" && c.share_pct > rules.lag_pct;
            let problem = (critical || lagging).then(|| Problem {
                key: format!("qa:{name}"),
                priority: 2,
                text: format!(
                    "{who}: QA {name}: {} finding(s), {} symbol(s) ({:.1} % of the universe), severity {}{}; as of {}.",
                    c.findings,
                    c.symbols,
                    c.share_pct,
                    c.severity,
                    if lagging {
                        format!(", more than {} % lagging", rules.lag_pct)
                    } else {
                        String::new()
                    },
                    r.as_of
                ),
            });
            out.insert(format!("qa:{name}"), problem);
        }
    }
    out
}

/// The fetch's states: a proxy that failed, latency over its limit run after run.
fn fetch_states(
    run: &Run,
    before: &[Run],
    rules: &Rules,
    who: &str,
    out: &mut BTreeMap<String, Option<Problem>>,
) {
    let r = &run.record;
    if run.ran("fetch")
        && let Some(step) = run.step("fetch")
    {
        let get = |k: &str| step.counts.get(k).copied().unwrap_or(0);
        if rules.proxy_fallback {
            let dropped = get("proxies_dropped");
            out.insert(
                "fetch:proxy".into(),
                (dropped > 0).then(|| Problem {
                    key: "fetch:proxy".into(),
                    priority: 3,
                    text: format!(
                        "{who}: {dropped} proxy(ies) failed; their symbols were fetched direct; as of {}.",
                        r.as_of
                    ),
                }),
            );
        }
        let limit = rules.latency_p95.0.as_millis() as i64;
        if rules.latency_runs > 0 && run.made_requests() {
            // This run and the fetching runs before it that made requests, newest first.
            let p95s: Vec<i64> = std::iter::once(run)
                .chain(before.iter().rev())
                .filter(|x| x.ran("fetch") && x.made_requests())
                .filter_map(|x| {
                    x.step("fetch")
                        .map(|s| s.counts.get("p95_latency_ms").copied().unwrap_or(0))
                })
                .take(rules.latency_runs as usize)
                .collect();
            let slow = p95s.len() == rules.latency_runs as usize && p95s.iter().all(|p| *p > limit);
            out.insert(
                "fetch:latency".into(),
                slow.then(|| Problem {
                    key: "fetch:latency".into(),
                    priority: 3,
                    text: format!(
                        "{who}: fetch p95 latency above {:.1} s on {} fetching runs in a row (now {:.1} s); as of {}.",
                        limit as f64 / 1000.0,
                        rules.latency_runs,
                        p95s.first().copied().unwrap_or(0) as f64 / 1000.0,
                        r.as_of
                    ),
                }),
            );
        }
    }
}

/// The messages `run` deserves, given the runs before it (oldest first).
pub fn decide(run: &Run, before: &[Run], rules: &Rules) -> Vec<AlertMessage> {
    let now = states(run, before, rules);
    // Each earlier run's states, newest first, computed against the runs before it.
    let earlier: Vec<BTreeMap<String, Option<Problem>>> = (0..before.len())
        .rev()
        .map(|i| states(&before[i], &before[..i], rules))
        .collect();
    let mut tell: Vec<(Problem, &'static str, usize)> = Vec::new();
    let mut recovered = Vec::new();
    for (key, state) in &now {
        // Runs in a row, newest first, that looked at `key` and found it a problem.
        let mut streak = 0usize;
        for e in &earlier {
            match e.get(key) {
                None => continue,
                Some(Some(_)) => streak += 1,
                Some(None) => break,
            }
        }
        match state {
            Some(p) if streak == 0 => tell.push((p.clone(), "new", 0)),
            Some(p)
                if rules.repeat_every > 0 && streak.is_multiple_of(rules.repeat_every as usize) =>
            {
                tell.push((p.clone(), "repeat", streak))
            }
            Some(_) => {}
            None if streak > 0 => recovered.push(key.clone()),
            None => {}
        }
    }
    tell.sort_by(|a, b| a.0.priority.cmp(&b.0.priority).then(a.0.key.cmp(&b.0.key)));
    let r = &run.record;
    let message = |(p, kind, streak): &(Problem, &'static str, usize)| AlertMessage {
        key: p.key.clone(),
        kind: (*kind).to_string(),
        priority: p.priority,
        text: if *kind == "repeat" {
            format!("still, {} runs in a row: {}", streak + 1, p.text)
        } else {
            p.text.clone()
        },
        held: Vec::new(),
        recovered: Vec::new(),
        run_id: r.run_id.clone(),
    };
    let max = rules.max_per_run.max(1) as usize;
    let needs_digest = tell.len() > max || !recovered.is_empty();
    if !needs_digest {
        return tell.iter().map(message).map(plain).collect();
    }
    let room = if tell.len() >= max {
        max - 1
    } else {
        tell.len()
    };
    let mut out: Vec<AlertMessage> = tell[..room].iter().map(message).collect();
    let held: Vec<String> = tell[room..].iter().map(|t| t.0.key.clone()).collect();
    let mut parts = Vec::new();
    if !held.is_empty() {
        parts.push(format!(
            "+{} more held back (this run's alert budget): {}",
            held.len(),
            list(&held)
        ));
    }
    if !recovered.is_empty() {
        parts.push(format!("recovered: {}", list(&recovered)));
    }
    out.push(AlertMessage {
        key: "digest".into(),
        kind: "digest".into(),
        priority: tell[room..].iter().map(|t| t.0.priority).min().unwrap_or(3),
        text: format!(
            "tickerlake {} {} on {}: {}; as of {}.",
            r.pipeline,
            r.run_id,
            r.host,
            parts.join("; "),
            r.as_of
        ),
        held,
        recovered,
        run_id: r.run_id.clone(),
    });
    out.into_iter().map(plain).collect()
}

/// A message without control characters (they come from the run records, and go to chat
/// clients and terminals).
fn plain(mut m: AlertMessage) -> AlertMessage {
    m.text = crate::text::clean(&m.text);
    m
}

fn list(keys: &[String]) -> String {
    let mut text = keys
        .iter()
        .take(8)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if keys.len() > 8 {
        text.push_str(", …");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use tickerlake::runs::{ConfigSnapshot, Heartbeat, QaCheck, QaFacts, RunRecord, Step};

    /// A nightly run: its fetch and QA steps, and the QA checks given as (name, severity,
    /// findings, share %).
    fn night(n: u32, fetch: Status, checks: &[(&str, &str, u64, f64)]) -> Run {
        let step = |name: &str, status: Status, counts: &[(&str, i64)]| Step {
            name: name.into(),
            argv: Vec::new(),
            started_at: String::new(),
            finished_at: String::new(),
            seconds: 1.0,
            exit_code: if status == Status::Fail { 69 } else { 0 },
            status,
            counts: counts.iter().map(|(k, v)| ((*k).to_string(), *v)).collect(),
            summary: None,
            outputs: Vec::new(),
        };
        let qa_status = if fetch == Status::Fail {
            Status::Skipped
        } else {
            Status::Ok
        };
        let qa = (qa_status == Status::Ok).then(|| QaFacts {
            summary: String::new(),
            overall: "green".into(),
            findings: 0,
            failing: 0,
            checks: checks
                .iter()
                .map(|(name, severity, findings, share)| {
                    (
                        (*name).to_string(),
                        QaCheck {
                            severity: (*severity).into(),
                            findings: *findings,
                            symbols: *findings,
                            share_pct: *share,
                            colour: "green".into(),
                        },
                    )
                })
                .collect(),
        });
        Run {
            dir: format!("runs/2026-11-{n:02}_r{n}").into(),
            record: RunRecord {
                schema: tickerlake::runs::SCHEMA.into(),
                run_id: format!("r{n}"),
                pipeline: "nightly".into(),
                trigger: "cron".into(),
                tickerlake_version: "0".into(),
                host: "box".into(),
                started_at: format!("2026-11-{n:02}T01:00:00Z"),
                finished_at: Some(format!("2026-11-{n:02}T01:10:00Z")),
                seconds: Some(600.0),
                status: fetch,
                exit_code: Some(0),
                as_of: format!("2026-11-{n:02}"),
                log: "logs/x.log".into(),
                steps: vec![
                    step(
                        "fetch",
                        fetch,
                        &[("ok", 10), ("failed", 0), ("p95_latency_ms", 12_000)],
                    ),
                    step("qa", qa_status, &[("findings", 0)]),
                ],
                universe: None,
                qa,
                watermarks: BTreeMap::new(),
                alerts: Vec::new(),
                heartbeat: Heartbeat::default(),
                config: ConfigSnapshot {
                    path: None,
                    sha256: None,
                    snapshot: serde_json::Value::Null,
                },
            },
        }
    }

    fn keys(m: &[AlertMessage]) -> Vec<String> {
        m.iter().map(|a| format!("{}:{}", a.kind, a.key)).collect()
    }

    fn rules() -> Rules {
        Rules {
            latency_runs: 0,
            ..Rules::default()
        }
    }

    #[test]
    fn first_red_alerts_the_second_is_quiet_and_green_again_is_a_recovery() {
        let jump = [("price_jump", "critical", 2, 0.1)];
        let calm = [("price_jump", "critical", 0, 0.0)];
        let runs = [
            night(1, Status::Ok, &calm),
            night(2, Status::Ok, &jump),
            night(3, Status::Ok, &jump),
            night(4, Status::Ok, &calm),
        ];
        let r = rules();
        assert!(decide(&runs[0], &[], &r).is_empty(), "green: nothing");
        assert_eq!(
            keys(&decide(&runs[1], &runs[..1], &r)),
            ["new:qa:price_jump"]
        );
        assert!(
            decide(&runs[2], &runs[..2], &r).is_empty(),
            "still red: quiet"
        );
        let back = decide(&runs[3], &runs[..3], &r);
        assert_eq!(keys(&back), ["digest:digest"]);
        assert_eq!(back[0].recovered, ["qa:price_jump"]);
        assert!(
            back[0].text.contains("recovered: qa:price_jump"),
            "{}",
            back[0].text
        );
    }

    #[test]
    fn a_problem_that_stays_is_told_again_every_n_runs() {
        let lag = [("lag", "warn", 600, 6.0)];
        let runs: Vec<Run> = (1..=7).map(|n| night(n, Status::Ok, &lag)).collect();
        let r = rules();
        let told: Vec<usize> = (0..runs.len())
            .filter(|&i| !decide(&runs[i], &runs[..i], &r).is_empty())
            .collect();
        // New on the first, again on the fourth and seventh (repeat_every 3).
        assert_eq!(told, [0, 3, 6]);
        assert_eq!(decide(&runs[3], &runs[..3], &r)[0].kind, "repeat");
    }

    #[test]
    fn a_flood_of_problems_gives_exactly_the_budget_with_a_digest() {
        let flood = [
            ("price_jump", "critical", 5, 0.1),
            ("fetch_error", "critical", 40, 1.0),
            ("lag", "critical", 900, 9.0),
            ("coverage", "critical", 1, 0.0),
            ("freshness", "critical", 3, 0.0),
        ];
        let runs = [night(1, Status::Ok, &[]), night(2, Status::Ok, &flood)];
        let out = decide(&runs[1], &runs[..1], &rules());
        assert_eq!(out.len(), 3, "{out:#?}");
        assert_eq!(out[2].key, "digest");
        assert_eq!(out[2].held.len(), 3);
        assert!(out[2].text.contains("+3 more held back"), "{}", out[2].text);
    }

    #[test]
    fn a_failed_step_comes_first_and_a_skipped_qa_is_neither_red_nor_a_recovery() {
        let jump = [("price_jump", "critical", 2, 0.1)];
        let runs = [night(1, Status::Ok, &jump), night(2, Status::Fail, &[])];
        let out = decide(&runs[1], &runs[..1], &rules());
        assert_eq!(keys(&out), ["new:step:fetch"]);
        assert!(
            out[0].text.contains("exit 69 unavailable"),
            "{}",
            out[0].text
        );
    }

    #[test]
    fn qa_failing_its_gate_is_told_once_by_its_checks_else_by_the_step() {
        let gate = |checks: &[(&str, &str, u64, f64)]| {
            let mut run = night(2, Status::Ok, checks);
            let qa = run
                .record
                .steps
                .iter_mut()
                .find(|s| s.name == "qa")
                .unwrap();
            qa.status = Status::Fail;
            qa.exit_code = 1;
            run
        };
        let before = [night(1, Status::Ok, &[])];
        // A critical finding: its check tells it; no second message about the step.
        let run = gate(&[("price_jump", "critical", 2, 0.1)]);
        assert_eq!(
            keys(&decide(&run, &before, &rules())),
            ["new:qa:price_jump"]
        );
        // A gate no check rule tells (a warn-level finding with qa.fail_on: warn): the step.
        let run = gate(&[("zero_volume", "warn", 3, 0.2)]);
        assert_eq!(keys(&decide(&run, &before, &rules())), ["new:step:qa"]);
        // Control characters from a record never reach a chat client.
        let mut run = night(2, Status::Fail, &[]);
        run.record.host = "box\u{1b}]0;x\u{7}\u{9b}".into();
        let out = decide(&run, &before, &rules());
        assert!(
            !out[0].text.chars().any(char::is_control),
            "{:?}",
            out[0].text
        );
    }

    #[test]
    fn slow_fetches_alert_only_after_the_configured_run_count() {
        let r = Rules::default();
        let runs: Vec<Run> = (1..=3).map(|n| night(n, Status::Ok, &[])).collect();
        assert!(decide(&runs[0], &[], &r).is_empty());
        assert!(decide(&runs[1], &runs[..1], &r).is_empty());
        assert_eq!(
            keys(&decide(&runs[2], &runs[..2], &r)),
            ["new:fetch:latency"]
        );
    }
}
