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
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_once(cmd: list[str], clean: str | None = None) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one process. `clean` is removed first (untimed)."""
    if clean:
        shutil.rmtree(clean, ignore_errors=True)
        if os.path.exists(clean):
            os.remove(clean)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode(errors="replace") if p.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code}: {err[-2000:]}")
    return wall, usage.ru_maxrss / 1024.0


def settle(paths: list[str | None], seconds: float) -> None:
    """Removes a round's outputs together, syncs, and lets the deleted inodes age (see the note
    written under the lake tables)."""
    for p in paths:
        if p:
            shutil.rmtree(p, ignore_errors=True)
            if os.path.exists(p):
                os.remove(p)
    os.sync()
    time.sleep(seconds)


def du(path: str) -> int:
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


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
    ap.add_argument("--sizes", default="S", help="comma-separated: S (500 symbols), L (2000 symbols)")
    ap.add_argument("--jobs", default="ndjson-check,to-parquet-file,to-parquet-lake")
    ap.add_argument("--settle", type=float, default=65.0,
                    help="seconds to wait, after removing a round's lakes and syncing, before the round runs (0: don't)")
    ap.add_argument("--all-peers", action="store_true",
                    help="also run the slow peers (DuckDB py, pyarrow: 44-66 s per run) on the L lake")
    a = ap.parse_args()

    py = sys.executable
    gen = os.path.join(a.shared, "bench", "gen_bars.py")
    anchors = os.path.join(a.shared, "bench", "anchors_run.py")
    os.makedirs(a.data, exist_ok=True)
    sizes = {"S": 500, "L": 2000}
    inputs = {}
    for size in a.sizes.split(","):
        path = os.path.join(a.data, f"bars_{size}.ndjson")
        if not os.path.exists(path):
            print(f"generating {path} ({size}: {sizes[size]} symbols x 2520 days, seed 1)", file=sys.stderr)
            subprocess.run([py, gen, "--symbols", str(sizes[size]), "--days", "2520", "--seed", "1", "-o", path + ".tmp"], check=True)
            os.replace(path + ".tmp", path)
        inputs[size] = path

    release = os.path.join(ROOT, "target", "release")
    records = os.path.join(release, "records")
    to_parquet = os.path.join(release, "to-parquet")
    duckdb_cli = os.path.join(os.path.dirname(py), "duckdb")
    out = os.path.join(a.data, "out")
    os.makedirs(out, exist_ok=True)

    def duck_sql(mode, src, dst):
        sql = subprocess.run([py, anchors, "sql", "convert", "--fmt", "ndjson", "--mode", mode, src, dst],
                             check=True, capture_output=True, text=True).stdout
        # One script per job and size: the jobs of every size are set up before any runs.
        stem = os.path.splitext(os.path.basename(src))[0]
        path = os.path.join(out, f"duck_{mode}_{stem}.sql")
        with open(path, "w") as f:
            f.write(sql)
        return path

    jobs = {}
    for size, src in inputs.items():
        mb = os.path.getsize(src) / 1e6
        rows = sizes[size] * 2520
        title = f"{size} NDJSON, {rows:,} rows, {mb:.0f} MB"
        jobs[f"ndjson-check {size}"] = (title, mb, [
            ("tickerlake `records check` (all cores)", [records, "check", "--kind", "bars", src], None),
            ("DuckDB 2.0 parse (py)", [py, anchors, "parse", "--tool", "duckdb", src], None),
            ("pyarrow parse", [py, anchors, "parse", "--tool", "pyarrow", src], None),
            ("plain-Python byte pass (floor)", [py, anchors, "bytes", src], None),
        ])
        f = lambda n: os.path.join(out, n)
        jobs[f"to-parquet-file {size}"] = (title + " -> one Parquet file (float64 prices)", mb, [
            ("tickerlake `to-parquet -o`", [to_parquet, src, "-o", f("tl.parquet"), "--price-type", "float64"], f("tl.parquet")),
            ("tickerlake, decimal(18,6)", [to_parquet, src, "-o", f("tl-dec.parquet")], f("tl-dec.parquet")),
            ("DuckDB CLI 1.5.6", [duckdb_cli, "-f", duck_sql("file", src, f("duck.parquet"))], f("duck.parquet")),
            ("DuckDB 2.0 (py)", [py, anchors, "convert", "--tool", "duckdb", "--fmt", "ndjson", "--mode", "file", src, f("duckpy.parquet")], f("duckpy.parquet")),
            ("pyarrow", [py, anchors, "convert", "--tool", "pyarrow", "--fmt", "ndjson", "--mode", "file", src, f("pa.parquet")], f("pa.parquet")),
            ("polars", [py, anchors, "convert", "--tool", "polars", "--fmt", "ndjson", "--mode", "file", src, f("pl.parquet")], f("pl.parquet")),
        ])
        lake_cmds = [
            ("tickerlake `to-parquet --lake`", [to_parquet, src, "--lake", f("tl-lake"), "--price-type", "float64"], f("tl-lake")),
            ("tickerlake, decimal(18,6)", [to_parquet, src, "--lake", f("tl-lake-dec")], f("tl-lake-dec")),
            ("DuckDB CLI 1.5.6", [duckdb_cli, "-f", duck_sql("lake", src, f("duck-lake"))], f("duck-lake")),
            ("DuckDB 2.0 (py)", [py, anchors, "convert", "--tool", "duckdb", "--fmt", "ndjson", "--mode", "lake", src, f("duckpy-lake")], f("duckpy-lake")),
            ("pyarrow", [py, anchors, "convert", "--tool", "pyarrow", "--fmt", "ndjson", "--mode", "lake", src, f("pa-lake")], f("pa-lake")),
            ("polars", [py, anchors, "convert", "--tool", "polars", "--fmt", "ndjson", "--mode", "lake", src, f("pl-lake")], f("pl-lake")),
        ]
        if size == "L" and not a.all_peers:
            lake_cmds = [c for c in lake_cmds if c[0] not in ("DuckDB 2.0 (py)", "pyarrow")]
        jobs[f"to-parquet-lake {size}"] = (title + f" -> lake ({sizes[size] * 10:,} partitions, float64 prices)", mb, lake_cmds)
    wanted = set(a.jobs.split(","))
    jobs = {k: v for k, v in jobs.items() if k.split(" ")[0] in wanted}

    lines = [
        f"# Benchmarks, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine()}. Medians of {a.repeat} alternating runs, whole process, page cache warm.",
        "",
    ]
    settled = []
    for job, (title, mb, cmds) in jobs.items():
        lake = job.startswith("to-parquet-lake")
        for _, cmd, clean in cmds:  # warm the page cache and the interpreters
            run_once(cmd, clean)
        walls: dict[str, list[float]] = {n: [] for n, _, _ in cmds}
        rss: dict[str, list[float]] = {n: [] for n, _, _ in cmds}
        sizes_out: dict[str, int] = {}
        for round_no in range(a.repeat):
            if lake and a.settle > 0:
                settle([c for _, _, c in cmds], a.settle)
                settled.append(job)
            # Each round starts with the next program, so that none always runs first after
            # the settle (or always last, on a page cache the others have churned).
            k = round_no % len(cmds)
            for name, cmd, clean in cmds[k:] + cmds[:k]:
                w, r = run_once(cmd, clean)
                walls[name].append(w)
                rss[name].append(r)
                if clean:
                    sizes_out[name] = du(clean)
        ours = statistics.median(walls[cmds[0][0]])
        lines += [f"## {job.split(' ')[0]}: {title}", "",
                  "| program | median s | MB/s | peak RSS MiB | output MB | time vs tickerlake |", "|---|---|---|---|---|---|"]
        for name, _, _ in cmds:
            m = statistics.median(walls[name])
            o = f"{sizes_out[name] / 1e6:.1f}" if name in sizes_out else "-"
            lines.append(f"| {name} | {m:.2f} | {mb / m:.0f} | {statistics.median(rss[name]):.0f} | {o} | {m / ours:.2f}x |")
        lines.append("")
    if settled:
        lines += [f"Lake jobs: before each round every program's previous lake was removed, the file system synced, and "
                  f"the bench waited {a.settle:.0f} s. On this VM's journal-less ext4, creating inodes within about a minute "
                  f"of deleting many (kernel `recently_deleted()`) costs several times as much, and whichever program ran "
                  f"right after a deletion paid for it (42,000 empty files and directories: 1.4 s normally, 9.6-11.9 s "
                  f"right after deleting as many).", ""]
    text = "\n".join(lines)
    print(text)
    out_dir = os.path.join(HERE, "results")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, f"{datetime.date.today().isoformat()}-{platform.node() or 'machine'}.md")
    # A day's runs go into one file, the latest last; an earlier run is never overwritten.
    before = ""
    if os.path.exists(out):
        with open(out) as f:
            before = f.read().rstrip("\n") + "\n\n"
    with open(out + ".tmp", "w") as f:
        f.write(before + text + "\n")
    os.replace(out + ".tmp", out)
    print(f"written to {os.path.relpath(out, ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
