#!/usr/bin/env python3
"""Generates a month of Polygon flat files for the benchmark, in the real files' format.

  gen_flatfiles.py -o DIR [--tickers 11000] [--start 2024-04-01] [--days 21] [--seed 1]

Writes DIR/flatfiles/us_stocks_sip/day_aggs_v1/YYYY/MM/YYYY-MM-DD.csv.gz for `--days` weekdays
from `--start` (April 2024 has no NYSE holiday): the bucket layout of Polygon's flat files, as
s3s-fs serves a directory (one folder per bucket). Each file has the real header
`ticker,volume,open,close,high,low,window_start,transactions`, one row per ticker in no
particular order, prices with up to 4 decimals, `window_start` in nanoseconds (16:00 New York
time), gzip-compressed. Tickers look like the market's (1 to 5 letters, some class shares
`BRK.B`, preferreds `ABRpD`, warrants `.WS`); prices are a seeded random walk per ticker:
generated, not real, and labelled so here. Standard library only.
"""

import argparse
import datetime
import gzip
import os
import random
import string


def tickers(n, rng):
    seen = set()
    out = []
    letters = string.ascii_uppercase
    while len(out) < n:
        root = "".join(rng.choice(letters) for _ in range(rng.choice([1, 2, 3, 3, 4, 4, 4, 5])))
        kind = rng.random()
        if kind < 0.02:
            t = f"{root}.{rng.choice('AB')}"
        elif kind < 0.05:
            t = f"{root}p{rng.choice('ABCD')}"
        elif kind < 0.07:
            t = f"{root}.WS"
        else:
            t = root
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--tickers", type=int, default=11000)
    ap.add_argument("--start", default="2024-04-01")
    ap.add_argument("--days", type=int, default=21)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    names = tickers(a.tickers, rng)
    price = {t: rng.uniform(2, 400) for t in names}
    base_volume = {t: int(10 ** rng.uniform(3, 7.5)) for t in names}
    day = datetime.date.fromisoformat(a.start)
    written = 0
    while written < a.days:
        if day.weekday() < 5:
            # 16:00 in New York is 20:00 UTC from March to November.
            ns = int(datetime.datetime(day.year, day.month, day.day, 20, tzinfo=datetime.timezone.utc).timestamp()) * 10**9
            rows = []
            order = names[:]
            rng.shuffle(order)
            for t in order:
                p0 = price[t]
                c = max(0.01, p0 * (1 + rng.gauss(0, 0.02)))
                o = max(0.01, p0 * (1 + rng.gauss(0, 0.005)))
                h = max(o, c) * (1 + abs(rng.gauss(0, 0.01)))
                lo = min(o, c) * (1 - abs(rng.gauss(0, 0.01)))
                price[t] = c
                v = max(1, int(base_volume[t] * rng.uniform(0.5, 1.5)))
                rows.append(f"{t},{v},{o:.4f},{c:.4f},{h:.4f},{lo:.4f},{ns},{max(1, v // 120)}")
            path = os.path.join(a.out, "flatfiles", "us_stocks_sip", "day_aggs_v1",
                                f"{day.year:04d}", f"{day.month:02d}", f"{day.isoformat()}.csv.gz")
            os.makedirs(os.path.dirname(path), exist_ok=True)
            body = "ticker,volume,open,close,high,low,window_start,transactions\n" + "\n".join(rows) + "\n"
            with gzip.open(path + ".tmp", "wb", compresslevel=6) as f:
                f.write(body.encode())
            os.replace(path + ".tmp", path)
            written += 1
        day += datetime.timedelta(days=1)


if __name__ == "__main__":
    main()
