#!/usr/bin/env python3
"""Synthetic Yahoo chart answers for the ohlcv-fetch benchmark: N symbols x D weekdays of daily
bars, shaped like the genuine recordings in fixtures/real/yahoo_chart/ (float32 prices printed as
float64, an adjclose array, meta with currency and exchangeTimezoneName), plus the replay-server
routes that serve them with a fixed latency and a Ticker universe naming them.

Deterministic for a seed. Usage:
  gen_yahoo.py --symbols 1000 --days 2520 --latency 50ms --seed 1 -o target/bench-data/yahoo
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import struct


def f32(x: float) -> float:
    """x rounded to the nearest float32, as Yahoo stores prices."""
    return struct.unpack("f", struct.pack("f", x))[0]


def weekdays(n: int, end: datetime.date) -> list[datetime.date]:
    days, d = [], end
    while len(days) < n:
        if d.weekday() < 5:
            days.append(d)
        d -= datetime.timedelta(days=1)
    return days[::-1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--symbols", type=int, default=1000)
    ap.add_argument("--days", type=int, default=2520)
    ap.add_argument("--latency", default="50ms")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end", default="2024-12-31")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    os.makedirs(os.path.join(a.out, "chart"), exist_ok=True)
    days = weekdays(a.days, datetime.date.fromisoformat(a.end))
    # 15:00Z is the same New York date all year (10:00 EST, 11:00 EDT).
    stamps = [int(datetime.datetime(d.year, d.month, d.day, 15, tzinfo=datetime.timezone.utc).timestamp())
              for d in days]
    routes, universe = ["routes:"], []
    for i in range(a.symbols):
        sym = f"S{i:04d}"
        price = rng.uniform(5, 500)
        o, h, l, c, adj, v = [], [], [], [], [], []
        for _ in days:
            prev = price
            price = max(0.5, price * (1 + rng.gauss(0, 0.02)))
            hi, lo = max(prev, price) * (1 + abs(rng.gauss(0, 0.005))), min(prev, price) * (1 - abs(rng.gauss(0, 0.005)))
            o.append(f32(round(prev, 2)))
            h.append(f32(round(hi, 2)))
            l.append(f32(round(lo, 2)))
            c.append(f32(round(price, 2)))
            adj.append(f32(price * 0.97))
            v.append(rng.randint(10_000, 50_000_000))
        body = {"chart": {"result": [{
            "meta": {"currency": "USD", "symbol": sym, "exchangeName": "NMS", "instrumentType": "EQUITY",
                     "gmtoffset": -18000, "timezone": "EST", "exchangeTimezoneName": "America/New_York",
                     "dataGranularity": "1d", "range": ""},
            "timestamp": stamps,
            "indicators": {"quote": [{"open": o, "high": h, "low": l, "close": c, "volume": v}],
                           "adjclose": [{"adjclose": adj}]},
        }], "error": None}}
        with open(os.path.join(a.out, "chart", f"{sym}.json"), "w") as f:
            json.dump(body, f, separators=(",", ":"))
        routes += [f"  - path: /v8/finance/chart/{sym}",
                   f"    file: chart/{sym}.json",
                   "    headers: { Content-Type: application/json }",
                   f"    faults: {{ delay: {a.latency} }}"]
        universe.append(json.dumps({"symbol": sym, "exchange": "XNAS"}))
    with open(os.path.join(a.out, "routes.yaml"), "w") as f:
        f.write("\n".join(routes) + "\n")
    with open(os.path.join(a.out, "universe.ndjson"), "w") as f:
        f.write("\n".join(universe) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
