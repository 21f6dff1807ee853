#!/usr/bin/env python3
"""A pipeline data directory at full scale for the lake-status benchmark, grown from the four
real nights of fixtures/status/nights (their run records, findings and fetch errors are the
templates): a 10,000-ticker fetch state and a year of nightly runs (365 run directories with
metadata.json, one line each in runs/index.ndjson), the newest run's QA findings (lag, missing
dates, null fields, zero volume, price jumps) and fetch dead letters at the sizes a bad night of
a 10,000-ticker universe has, and a monthly universe run with its status changes.

Deterministic (--seed). Usage: gen_status.py -o DIR [--symbols 10000] [--runs 365]
"""

import argparse
import copy
import datetime as dt
import json
import os
import random
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIXTURE = os.path.join(ROOT, "fixtures", "status", "nights")


def load_runs():
    runs = []
    with open(os.path.join(FIXTURE, "runs", "index.ndjson")) as f:
        for line in f:
            line = json.loads(line)
            d = os.path.join(FIXTURE, "runs", line["dir"])
            with open(os.path.join(d, "metadata.json")) as m:
                runs.append((line, json.load(m), d))
    return runs


def ndjson(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--symbols", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=365)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    runs = load_runs()
    # Templates: the full demo night (all), a warn night and the failed night.
    tmpl_all = next(r for r in runs if r[0]["pipeline"] == "all")
    tmpl_nights = [r for r in runs if r[0]["pipeline"] == "nightly"]
    findings_tmpl = []
    errors_tmpl = []
    delta_tmpl = []
    for _, _, d in runs:
        findings_tmpl += ndjson(os.path.join(d, "qa.findings.ndjson"))
        errors_tmpl += ndjson(os.path.join(d, "fetch.errors.ndjson"))
        delta_tmpl += ndjson(os.path.join(d, "universe.delta.ndjson"))
    if os.path.exists(a.out):
        shutil.rmtree(a.out)
    os.makedirs(os.path.join(a.out, "runs"))
    os.makedirs(os.path.join(a.out, "state"))
    shutil.copy(os.path.join(FIXTURE, ".tickerlake-data.json"), a.out)
    symbols = [f"S{i:05d}" for i in range(a.symbols)]
    last = dt.date(2026, 12, 1)
    # Weekdays back from `last`: one nightly run each.
    days = []
    d = last
    while len(days) < a.runs:
        if d.weekday() < 5:
            days.append(d)
        d -= dt.timedelta(days=1)
    days.reverse()
    index = []
    for n, day in enumerate(days):
        monthly = day.day <= 3 and (n == 0 or days[n - 1].month != day.month)
        line, meta, _ = tmpl_all if monthly else tmpl_nights[n % len(tmpl_nights)]
        meta = copy.deepcopy(meta)
        line = copy.deepcopy(line)
        run_id = f"{day:%Y%m%d}T010002Z-{n:06x}"
        name = f"{day:%Y-%m-%d}_{run_id}"
        started = f"{day + dt.timedelta(days=1):%Y-%m-%d}T01:00:02.000Z"
        finished = f"{day + dt.timedelta(days=1):%Y-%m-%d}T01:{10 + n % 40:02d}:11.000Z"
        for doc in (meta, line):
            doc["run_id"] = run_id
            doc["as_of"] = f"{day:%Y-%m-%d}"
            doc["started_at"] = started
            doc["finished_at"] = finished
        line["dir"] = name
        for s in meta["steps"]:
            if s["name"] == "fetch" and s["counts"]:
                s["counts"]["requested"] = a.symbols
                s["counts"]["failed"] = rnd.randint(0, 120)
                s["counts"]["ok"] = a.symbols - s["counts"]["failed"]
                s["counts"]["p50_latency_ms"] = rnd.randint(300, 900)
                s["counts"]["p95_latency_ms"] = rnd.randint(1500, 14000)
        if meta.get("universe"):
            meta["universe"]["active"] = a.symbols
            if monthly:
                meta["universe"]["changes"] = {"new": rnd.randint(20, 90), "delisted": rnd.randint(10, 80)}
        if meta.get("qa"):
            for c in meta["qa"]["checks"].values():
                c["findings"] = c["findings"] * a.symbols // 40
                c["symbols"] = c["symbols"] * a.symbols // 40
        rd = os.path.join(a.out, "runs", name)
        os.makedirs(rd)
        with open(os.path.join(rd, "metadata.json"), "w") as f:
            json.dump(meta, f, indent=2)
        index.append(line)
        if monthly:
            with open(os.path.join(rd, "universe.delta.ndjson"), "w") as f:
                for i in range(meta["universe"]["changes"]["new"]):
                    f.write(json.dumps({"symbol": f"N{n}{i:04d}", "from": "none", "to": "active",
                                        "date": f"{day:%Y-%m-%d}", "reason": "new listing"}) + "\n")
                for i in range(meta["universe"]["changes"]["delisted"]):
                    f.write(json.dumps({"symbol": rnd.choice(symbols), "from": "active", "to": "delisted",
                                        "date": f"{day:%Y-%m-%d}", "reason": "no longer listed"}) + "\n")
    # The newest run: a bad night's findings and dead letters, from the real ones' shapes.
    newest = os.path.join(a.out, "runs", index[-1]["dir"])
    by_check = {}
    for f in findings_tmpl:
        by_check.setdefault(f["check"], f)
    sizes = {"lag": 600, "missing_dates": 300, "null_fields": 80, "zero_volume": 150, "price_jump": 12}
    with open(os.path.join(newest, "qa.findings.ndjson"), "w") as out:
        for check, count in sizes.items():
            base = by_check.get(check) or by_check.get("lag")
            for i in range(count):
                f = copy.deepcopy(base)
                f["check"] = check
                f["symbol"] = symbols[rnd.randrange(a.symbols)]
                f["run_id"] = index[-1]["run_id"]
                out.write(json.dumps(f) + "\n")
    if errors_tmpl:
        with open(os.path.join(newest, "fetch.errors.ndjson"), "w") as out:
            for i in range(120):
                e = copy.deepcopy(errors_tmpl[i % len(errors_tmpl)])
                e["symbol"] = symbols[rnd.randrange(a.symbols)]
                out.write(json.dumps(e) + "\n")
    with open(os.path.join(a.out, "runs", "index.ndjson"), "w") as f:
        for line in index:
            f.write(json.dumps(line, separators=(",", ":")) + "\n")
    shutil.copy(os.path.join(newest, "metadata.json"), os.path.join(a.out, "runs", "latest.json"))
    state = {"version": 1, "symbols": {}}
    for i, s in enumerate(symbols):
        behind = 0 if rnd.random() < 0.93 else rnd.choice([1, 2, 3, 5, 8, 12, 30])
        state["symbols"][s] = {
            "status": "ok" if behind < 3 else "error",
            "last_fetched_date": f"{last - dt.timedelta(days=behind):%Y-%m-%d}",
            "consecutive_failures": 0 if behind < 3 else behind,
            "last_error": None,
            "latency_ms": rnd.randint(100, 3000),
            "dead_lettered_on": None,
        }
    with open(os.path.join(a.out, "state", "fetch.json"), "w") as f:
        json.dump(state, f)
    shutil.copy(os.path.join(FIXTURE, "state", "watermarks.json"), os.path.join(a.out, "state"))
    print(f"{a.out}: {a.symbols} symbols, {len(index)} runs")


if __name__ == "__main__":
    main()
