#!/usr/bin/env python3
"""qlib_adjusted_check.py - read a `qlib-bin --adjust qlib` store back through pyqlib and check
it against the raw bars it was made from, by the invariants of Qlib's Yahoo collector:

  $close / $factor = close, $open / $factor = open (high, low the same),
  $volume * $factor = volume, $adjclose = adj_close, and each series starts at $close = 1;
  a day without volume reads back as NaN prices.

Bars: NDJSON (a date's newest source_ts wins, as in the lake). Prints
`qlib adjusted: N values checked, M mismatches`; exit 0 only when M == 0.

    target/venv-qlib/bin/python tests/interop/qlib_adjusted_check.py --qlib-dir q --bars b.ndjson
"""

from __future__ import annotations

import argparse
import json
import math
import sys

REL = 2e-6  # a few float32 steps


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--qlib-dir", required=True)
    p.add_argument("--bars", action="append", required=True)
    args = p.parse_args()

    import numpy as np
    import qlib
    from qlib.data import D

    bars: dict[tuple[str, str], dict] = {}
    for path in args.bars:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                key = (r["symbol"], r["date"])
                if key not in bars or (r.get("source_ts") or "") >= (bars[key].get("source_ts") or ""):
                    bars[key] = r

    qlib.init(provider_uri=args.qlib_dir, region="us", kernels=1)
    fields = ["open", "high", "low", "close", "volume", "factor", "adjclose"]
    checked = mismatches = 0

    def check(ok: bool, what: str) -> None:
        nonlocal checked, mismatches
        checked += 1
        if not ok:
            mismatches += 1
            if mismatches <= 10:
                print(what)

    def near(a: float, b: float) -> bool:
        return abs(a - b) <= REL * max(abs(a), abs(b))

    by_symbol: dict[str, list[dict]] = {}
    for (s, _), r in sorted(bars.items()):
        by_symbol.setdefault(s, []).append(r)
    for symbol, rows in by_symbol.items():
        got = D.features([symbol], [f"${f}" for f in fields], freq="day").droplevel(0)
        got.columns = fields
        first = True
        for r in rows:
            day = got.loc[np.datetime64(r["date"])] if np.datetime64(r["date"]) in got.index else None
            tag = f"{symbol} {r['date']}"
            if day is None:
                check(False, f"{tag}: not in the store")
                continue
            volume = r.get("volume")
            if not volume or volume <= 0:
                check(math.isnan(day["close"]), f"{tag}: no volume, close {day['close']}")
                continue
            if r.get("close") is None or r.get("adj_close") is None:
                continue
            f = float(day["factor"])
            if first:
                check(float(day["close"]) == 1.0, f"{tag}: the first close is {day['close']}, not 1")
                first = False
            for name in ["open", "high", "low", "close"]:
                if r.get(name) is not None:
                    check(near(float(day[name]) / f, r[name]), f"{tag}: ${name}/$factor {float(day[name]) / f} != {r[name]}")
            check(near(float(day["volume"]) * f, volume), f"{tag}: $volume*$factor {float(day['volume']) * f} != {volume}")
            check(float(day["adjclose"]) == np.float32(r["adj_close"]), f"{tag}: $adjclose {day['adjclose']} != {r['adj_close']}")
    print(f"qlib adjusted: {checked} values checked, {mismatches} mismatches")
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
