#!/usr/bin/env python3
"""qlib_adjust_parity.py - compare a `qlib-bin --adjust qlib` store with what Qlib's own Yahoo
collector makes of the same bars.

For each symbol of the bars (Bar NDJSON; a date's newest source_ts wins, as in the lake), run
Qlib's `YahooNormalize1d.normalize` (scripts/data_collector/yahoo/collector.py of a Qlib
source tree, imported as is) on `date symbol open high low close volume adjclose`, with the
store's calendar as its benchmark calendar, and read the store back through pyqlib
(`D.features`). Every value of
open high low close volume factor adjclose change is compared as float32, the precision Qlib
stores (dump_bin writes `astype("<f")`). Prints `adjust parity: N values checked, M
mismatches (largest relative difference R)`; exit 0 only when M == 0.

Needs pyqlib and the collector's imports (yahooquery, beautifulsoup4, baostock) in the Python
that runs it, and a Qlib source tree matching the pyqlib version:
    git -C qlib archive v0.9.7 scripts | tar -x -C target/qlib-src-0.9.7
    target/venv-qlib/bin/pip install yahooquery beautifulsoup4 baostock
    target/venv-qlib/bin/python bench/qlib_adjust_parity.py --bars bars.ndjson \\
        --qlib-dir q --qlib-scripts target/qlib-src-0.9.7/scripts
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import warnings

import numpy as np
import pandas as pd

FIELDS = ["open", "high", "low", "close", "volume", "factor", "adjclose", "change"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bars", required=True)
    p.add_argument("--qlib-dir", required=True)
    p.add_argument("--qlib-scripts", required=True, help="scripts/ of a Qlib source tree")
    p.add_argument("--symbol-sub", default="", help="e.g. '.=-' as for --symbol-style qlib")
    args = p.parse_args()
    warnings.simplefilter("ignore", FutureWarning)

    scripts = Path(args.qlib_scripts).resolve()
    sys.path.insert(0, str(scripts))
    sys.path.insert(0, str(scripts / "data_collector" / "yahoo"))
    import collector  # noqa: E402  (Qlib's own code)
    import qlib  # noqa: E402
    from qlib.data import D  # noqa: E402

    qlib.init(provider_uri=args.qlib_dir, region="us", kernels=1)
    # The store's calendar stands for the collector's benchmark calendar (^GSPC's days): a
    # symbol's missing days become rows of NaN, with the factor carried forward.
    calendar = list(D.calendar(freq="day"))

    class Normalize(collector.YahooNormalize1d):
        def _get_calendar_list(self):
            return calendar

    normalize = Normalize(date_field_name="date", symbol_field_name="symbol")
    rows = [json.loads(line) for line in open(args.bars) if line.strip()]
    bars = pd.DataFrame(rows)
    bars = bars.sort_values(["symbol", "date", "source_ts"]).drop_duplicates(
        ["symbol", "date"], keep="last"
    )
    bars = bars.rename(columns={"adj_close": "adjclose"})
    for c in ["open", "high", "low", "close", "adjclose", "volume"]:
        bars[c] = pd.to_numeric(bars[c], errors="coerce").astype("float64")

    checked = mismatches = 0
    worst = 0.0
    sub = args.symbol_sub.split("=") if args.symbol_sub else None
    for symbol, frame in bars.groupby("symbol", sort=True):
        frame = frame[["date", "symbol", "open", "high", "low", "close", "volume", "adjclose"]]
        want = normalize.normalize(frame.reset_index(drop=True)).set_index("date")
        want.index = pd.to_datetime(want.index)
        name = symbol.replace(sub[0], sub[1]) if sub else symbol
        got = D.features([name], [f"${f}" for f in FIELDS], freq="day")
        got = got.droplevel(0)
        got.columns = FIELDS
        for f in FIELDS:
            w = want[f].astype("float32")
            g = got[f].reindex(w.index)
            for date, a, b in zip(w.index, w.to_numpy(), g.to_numpy()):
                checked += 1
                if np.isnan(a) and np.isnan(b):
                    continue
                if a != b:
                    rel = abs(float(a) - float(b)) / max(abs(float(a)), 1e-30)
                    worst = max(worst, rel)
                    if mismatches < 10:
                        print(f"{symbol} {date.date()} {f}: collector {a!r}, store {b!r}")
                    mismatches += 1
    print(
        f"adjust parity: {checked} values checked, {mismatches} mismatches "
        f"(largest relative difference {worst:.3g})"
    )
    return 0 if mismatches == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
