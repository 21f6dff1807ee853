#!/usr/bin/env python3
"""tickerlake benchmarks: our programs against their named peers, same data, same run.

Each job is one whole process (start-up included), run alternately with its peers, REPEAT
times; the table gives the median wall time and the median peak RSS. Figures are written to
bench/results/<date>-<machine>.md and printed.

Jobs so far (issue 3, the shared plumbing):
  ndjson-check   `records check --kind bars` on S: stream every line through the Bar contract
                 (strict decode, validation, exact decimals) and write it back canonically,
                 on all cores.
                 Peers: DuckDB and pyarrow parsing the same file into memory with an explicit
                 schema (../shared/bench/anchors_run.py parse), and the tightest plain-Python
                 pass over the bytes (anchors_run.py bytes) as a floor.
Later issues add their job beside its peer.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_once(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one process."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code}: {err[-2000:]}")
    return wall, usage.ru_maxrss / 1024.0


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {cpu}, {mem:.0f} GiB, {platform.system()} {platform.release()}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--data", default=os.path.join(ROOT, "target", "bench-data"))
    a = ap.parse_args()

    py = sys.executable
    gen = os.path.join(a.shared, "bench", "gen_bars.py")
    anchors = os.path.join(a.shared, "bench", "anchors_run.py")
    os.makedirs(a.data, exist_ok=True)
    s_path = os.path.join(a.data, "bars_S.ndjson")
    if not os.path.exists(s_path):
        print(f"generating {s_path} (S: 500 symbols x 2520 days, seed 1)", file=sys.stderr)
        subprocess.run([py, gen, "--symbols", "500", "--days", "2520", "--seed", "1", "-o", s_path + ".tmp"], check=True)
        os.replace(s_path + ".tmp", s_path)
    size_mb = os.path.getsize(s_path) / 1e6
    rows = 500 * 2520

    records = os.path.join(ROOT, "target", "release", "records")
    jobs = {
        "ndjson-check": [
            ("tickerlake `records check` (2 threads)", [records, "check", "--kind", "bars", s_path]),
            ("DuckDB 2.0 parse (py)", [py, anchors, "parse", "--tool", "duckdb", s_path]),
            ("pyarrow parse", [py, anchors, "parse", "--tool", "pyarrow", s_path]),
            ("plain-Python byte pass (floor)", [py, anchors, "bytes", s_path]),
        ],
    }

    lines = [
        f"# Benchmarks, {datetime.date.today().isoformat()}",
        "",
        f"Machine: {machine()}. Medians of {a.repeat} alternating runs, whole process, page cache warm.",
        "",
    ]
    for job, cmds in jobs.items():
        for _, cmd in cmds:  # warm the page cache and the interpreters
            run_once(cmd)
        walls: dict[str, list[float]] = {n: [] for n, _ in cmds}
        rss: dict[str, list[float]] = {n: [] for n, _ in cmds}
        for _ in range(a.repeat):
            for name, cmd in cmds:
                w, r = run_once(cmd)
                walls[name].append(w)
                rss[name].append(r)
        ours = statistics.median(walls[cmds[0][0]])
        lines += [f"## {job}: S NDJSON, {rows:,} rows, {size_mb:.0f} MB", "",
                  "| program | median s | MB/s | peak RSS MiB | time vs tickerlake |", "|---|---|---|---|---|"]
        for name, _ in cmds:
            m = statistics.median(walls[name])
            lines.append(f"| {name} | {m:.2f} | {size_mb / m:.0f} | {statistics.median(rss[name]):.0f} | {m / ours:.2f}x |")
        lines.append("")
    text = "\n".join(lines)
    print(text)
    out_dir = os.path.join(HERE, "results")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, f"{datetime.date.today().isoformat()}-{platform.node() or 'machine'}.md")
    with open(out + ".tmp", "w") as f:
        f.write(text + "\n")
    os.replace(out + ".tmp", out)
    print(f"written to {os.path.relpath(out, ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
