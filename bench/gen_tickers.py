#!/usr/bin/env python3
"""A ticker universe of N listings grown from genuine scraped listings, for tickers-filter's bench.

Reads Ticker NDJSON (tickers-scrape's output of the real listings in fixtures/real/) and writes:
- OUT: N records, the genuine ones first, then copies named anew (a digit after the local
  symbol: AAPL -> AAPL7, AIR.PA -> AIR7.PA) keeping their names, venues and asset types, so that
  the junk rules meet the real mix; 70 % of them get a seeded log-normal market cap;
- PREV: last month's universe for --previous: the same listings less 1 % that are new this
  month, plus 0.5 % that vanished (to be delisted) and 2 % delisted long ago (for --failed-pct
  and archiving).
"""

from __future__ import annotations

import argparse
import json
import math
import random


def renamed(symbol: str, k: int) -> str:
    local, dot, suffix = symbol.partition(".")
    # A US class (BRK.B) or a venue suffix (AIR.PA): the digits go after the first part.
    return f"{local}{k}{dot}{suffix}"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", required=True)
    ap.add_argument("--previous", required=True)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    base, seen = [], set()
    for path in a.inputs:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if r["symbol"] not in seen:
                    seen.add(r["symbol"])
                    base.append(r)
    out = []
    k = 0
    while len(out) < a.n:
        for r in base:
            if len(out) >= a.n:
                break
            r = dict(r)
            if k:
                r["symbol"] = renamed(r["symbol"], k)
                r.pop("source_symbol", None)
                if r["symbol"] in seen:
                    continue
                seen.add(r["symbol"])
            if rnd.random() < 0.7:
                r["market_cap"] = round(math.exp(rnd.gauss(20.5, 2.2)), 2)
            r["first_seen"] = r["last_seen"] = "2025-08-21"
            out.append(r)
        k += 1
    prev = []
    for r in out:
        if rnd.random() < 0.01:
            continue  # new this month
        p = dict(r, first_seen="2025-07-21", last_seen="2025-07-21")
        prev.append(p)
    for i in range(a.n // 200):
        prev.append({"symbol": f"ZZGONE{i}", "name": f"Vanished Corp {i} - Common Stock",
                     "exchange": "XNAS", "asset_type": "stock", "source": "nasdaqtrader",
                     "status": "active", "first_seen": "2024-01-02", "last_seen": "2025-07-21"})
    for i in range(a.n // 50):
        prev.append({"symbol": f"ZZOLD{i}", "name": f"Failed Inc {i} - Common Stock",
                     "exchange": "XNYS", "asset_type": "stock", "source": "nasdaqtrader",
                     "status": "delisted", "first_seen": "2015-01-02", "last_seen": "2023-03-01",
                     "delisted_on": "2023-04-01", "delisted_reason": "absent from nasdaqtrader",
                     "market_cap": round(math.exp(rnd.gauss(19.5, 2.0)), 2)})
    with open(a.o, "w") as f:
        for r in out:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
    with open(a.previous, "w") as f:
        for r in prev:
            f.write(json.dumps(r, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
