#!/usr/bin/env python3
"""tickerlake benchmarks: our programs against their named peers, same data, same run.

Each job is one whole process (start-up included), run alternately with its peers, REPEAT
times; the table gives the median wall time and the median peak RSS. Figures are written to
bench/results/<date>-<machine>.md and printed.

Jobs:
  ndjson-check   `records check --kind bars` on S: stream every line through the Bar contract
                 (strict decode, validation, exact decimals) and write it back canonically,
                 on all cores.
                 Peers: DuckDB and pyarrow parsing the same file into memory with an explicit
                 schema (../shared/bench/anchors_run.py parse), and the tightest plain-Python
                 pass over the bytes (anchors_run.py bytes) as a floor.
  qa-ndjson      `qa-check` on L NDJSON (all the nightly checks, --calendar infer, --full-history)
                 against the same checks as one DuckDB script (anchors_run.py qa --tool duckdb,
                 ../shared/bench/qa_checks.sql: six of them) and polars.
  qa-lake        the same on the L lake (20,000 partitions, written by to-parquet once):
                 DuckDB and polars reading it with hive partitioning.
  qlib-bin       qlib-bin all on S against Qlib's dump_bin.py dump_all, and a one-day update of a
                 5,000-symbol store.
  tickers-scrape Nasdaq Trader's symbol directory of 2025-07-21 (nasdaqlisted + otherlisted,
                 11,579 securities, fixtures/real/nasdaqtrader/) parsed, checked and written as
                 Ticker NDJSON (target: well under 100 ms), beside pandas reading the same two
                 pipe-delimited files and writing them as JSON lines (no checks, no names).
  tickers-filter 100,000 listings grown from the genuine ones (bench/gen_tickers.py: the 2025
                 Nasdaq Trader directory, the SEC's list, Euronext, Xetra, renamed copies with
                 seeded market caps) merged, filtered, lifecycle-merged with last month's
                 universe and sampled (--target 1500 --failed-pct 10); target well under 1 s.
                 Beside pandas reading the same NDJSON, deduplicating, filtering names by one
                 regular expression and writing it back (no lifecycle, no sample).
  ohlcv-fetch    1,000 symbols x 10 years of Yahoo chart answers (bench/gen_yahoo.py) through
                 the replay server with 50 ms latency and 8 workers, against the ideal
                 1,000 x 0.05 s / 8 = 6.25 s.
  polygon-flatfiles
                 a month of full-market Polygon day files (11,000 tickers x 21 days, generated in
                 the real files' format by bench/gen_flatfiles.py) served by a local S3 server
                 (s3s-fs), fetched by `ohlcv-fetch --provider polygon-flatfiles --all-tickers`
                 and written by `to-parquet` into a lake on disk and one on S3, against what
                 quantmini does (bench/peer_flatfiles.py: boto3 downloads, polars parses and
                 writes the same lake). Target: at least 2x faster, peak RSS below the peer's.
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


def run_once(cmd: list[str], clean: str | None = None, ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one process. `clean` is removed first (untimed); `ok`:
    the exit codes that are an answer, not a failure."""
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
    if code not in ok:
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


class FreshExt4:
    """A new ext4 file system with mkfs's defaults (journal on), loop-mounted for the lake jobs.

    The lakes then land on the file system most users have, freshly made for every run, instead
    of this VM's journal-less root ext4, where creating an inode costs whatever was deleted in
    the minutes before (see the note under the lake tables). Needs root and loop devices."""

    def __init__(self, image: str, mount: str, size: str = "16G"):
        self.image, self.mount, self.size = image, mount, size

    @staticmethod
    def possible() -> bool:
        return os.geteuid() == 0 and all(shutil.which(t) for t in ("mkfs.ext4", "mount", "umount")) \
            and os.path.exists("/dev/loop-control")

    def __enter__(self) -> str:
        self.__exit__()
        subprocess.run(["truncate", "-s", self.size, self.image], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", self.image], check=True)
        os.makedirs(self.mount, exist_ok=True)
        subprocess.run(["mount", "-o", "loop", self.image, self.mount], check=True)
        return self.mount

    def __exit__(self, *exc) -> None:
        if os.path.ismount(self.mount):
            subprocess.run(["umount", self.mount], check=False)
        if os.path.exists(self.image):
            os.remove(self.image)


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
    ap.add_argument("--settle", type=float, default=None,
                    help="seconds to wait, after removing a round's lakes and syncing, before the round runs "
                         "(default: 5 on a fresh ext4, 65 in --data)")
    ap.add_argument("--lake-fs", choices=["fresh-ext4", "data"], default=None,
                    help="where the lakes go: a new loop-mounted ext4 with its journal (default when running "
                         "as root with loop devices), or the --data directory")
    ap.add_argument("--qlib-python", default=None, help="python with pyqlib, fire, loguru (qlib-bin peer)")
    ap.add_argument("--qlib-src", default=None, help="Qlib source tree with scripts/dump_bin.py (qlib-bin peer)")
    ap.add_argument("--all-peers", action="store_true",
                    help="also run the slow peers (DuckDB py, pyarrow: 44-66 s per run) on the L lake")
    a = ap.parse_args()
    if a.lake_fs is None:
        a.lake_fs = "fresh-ext4" if FreshExt4.possible() else "data"
    if a.settle is None:
        a.settle = 5.0 if a.lake_fs == "fresh-ext4" else 65.0
    if a.lake_fs == "fresh-ext4":
        with FreshExt4(os.path.join(ROOT, "target", "bench-fs.img"), os.path.join(ROOT, "target", "bench-fs")) as lakes:
            return run(a, lakes)
    return run(a, None)


def fetch_job(a: argparse.Namespace, py: str, release: str) -> list[str]:
    """ohlcv-fetch: 1,000 symbols x 10 years of daily bars through the replay server,
    50 ms of latency per request, 8 workers. The peer is the ideal: 1,000 x 0.05 s / 8 = 6.25 s."""
    symbols, days, latency_s, workers = 1000, 2520, 0.05, 8
    data = os.path.join(a.data, "yahoo")
    if not os.path.exists(os.path.join(data, "universe.ndjson")):
        print(f"generating {data} ({symbols} symbols x {days} days of Yahoo chart answers)", file=sys.stderr)
        subprocess.run([py, os.path.join(HERE, "gen_yahoo.py"), "--symbols", str(symbols), "--days", str(days),
                        "--latency", f"{int(latency_s * 1000)}ms", "--seed", "1", "-o", data], check=True)
    cfg = os.path.join(data, "bench-config.yaml")
    with open(cfg, "w") as f:
        f.write(f"fetch:\n  rate: 1000\n  workers: {workers}\n")
    server = subprocess.Popen([os.path.join(release, "replay-server"), os.path.join(data, "routes.yaml"),
                               "--idle-exit", "120s"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = server.stdout.readline().strip() if server.stdout else ""
        if not port.isdigit():
            raise SystemExit("replay-server did not start")
        cmd = [os.path.join(release, "ohlcv-fetch"), "--config", cfg, os.path.join(data, "universe.ndjson"),
               "--start", "2015-01-01", "--end", "2024-12-31", "--base-url", f"http://127.0.0.1:{port}",
               "--workers", str(workers)]
        run_once(cmd)  # warm the server's and the page cache
        walls, rss = [], []
        for _ in range(a.repeat):
            w, r = run_once(cmd)
            walls.append(w)
            rss.append(r)
    finally:
        server.kill()
        server.wait()
    ideal = symbols * latency_s / workers
    m = statistics.median(walls)
    runs = " ".join(f"{w:.2f}" for w in sorted(walls))
    return [
        f"## ohlcv-fetch: {symbols:,} symbols x {days:,} days through the replay server, "
        f"{latency_s * 1000:.0f} ms latency per request, {workers} workers",
        "",
        "| program | median s | runs s | peak RSS MiB | time vs ideal |",
        "|---|---|---|---|---|",
        f"| tickerlake `ohlcv-fetch` | {m:.2f} | {runs} | {statistics.median(rss):.0f} | {m / ideal:.2f}x |",
        f"| ideal: {symbols:,} x {latency_s:.2f} s / {workers} | {ideal:.2f} | - | - | 1.00x |",
        "",
        f"Output: {symbols * days:,} bars to /dev/null; the server (same machine) serves "
        f"{du(os.path.join(data, 'chart')) / 1e6:.0f} MB of JSON. Target: within 1.15x of the ideal, "
        "peak RSS under 100 MiB.",
        "",
    ]


def flatfiles_job(a: argparse.Namespace, py: str, release: str, lakes: str | None) -> list[str]:
    """Polygon flat files: a month of full-market day files from a local S3 server into a lake on
    disk and on S3, ohlcv-fetch | to-parquet against boto3 + polars (quantmini's way)."""
    tickers, days, start, end = 11000, 21, "2024-04-01", "2024-04-29"
    data = os.path.join(a.data, "flatfiles")
    files = os.path.join(data, "flatfiles", "us_stocks_sip", "day_aggs_v1")
    if not os.path.isdir(files):
        print(f"generating {data} ({tickers:,} tickers x {days} days of day files)", file=sys.stderr)
        subprocess.run([py, os.path.join(HERE, "gen_flatfiles.py"), "--tickers", str(tickers), "--days",
                        str(days), "--start", start, "-o", data], check=True)
    s3s = shutil.which("s3s-fs")
    if not s3s:
        raise SystemExit("polygon-flatfiles: s3s-fs is missing (cargo install --locked s3s-fs@0.14.1 --features binary)")
    bucket_dir = os.path.join(data, "bench")
    os.makedirs(bucket_dir, exist_ok=True)
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    key, secret = "bench", "bench-secret"
    server = subprocess.Popen([s3s, "--host", "127.0.0.1", "--port", str(port), "--access-key", key,
                               "--secret-key", secret, data], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    env_keys = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
                "POLYGON_S3_ACCESS_KEY": key, "POLYGON_S3_SECRET_KEY": secret}
    saved = {k: os.environ.get(k) for k in env_keys}
    os.environ.update(env_keys)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        cfg = os.path.join(data, "bench-config.yaml")
        with open(cfg, "w") as f:
            f.write("providers:\n  polygon:\n"
                    f"    s3_endpoint: {endpoint}\n"
                    "    s3_access_key_id: ${POLYGON_S3_ACCESS_KEY}\n"
                    "    s3_secret_access_key: ${POLYGON_S3_SECRET_KEY}\n")
        fetch = [os.path.join(release, "ohlcv-fetch"), "--config", cfg, "--provider", "polygon-flatfiles",
                 "--all-tickers", "--start", start, "--end", end]
        to_parquet = os.path.join(release, "to-parquet")
        out = (lambda n: os.path.join(lakes, n)) if lakes else (lambda n: os.path.join(a.data, "out", n))
        os.makedirs(os.path.join(a.data, "out"), exist_ok=True)
        q = lambda parts: " ".join(subprocess.list2cmdline([p]) for p in parts)
        def ours(lake: str) -> list[str]:
            return ["bash", "-o", "pipefail", "-c",
                    f"{q(fetch)} | {q([to_parquet, '--config', cfg, '--lake', lake, '--price-type', 'float64'])}"]
        peer = os.path.join(HERE, "peer_flatfiles.py")
        def peer_cmd(lake: str) -> list[str]:
            return [py, peer, "--endpoint", endpoint, "--bucket", "flatfiles", "--prefix",
                    "us_stocks_sip/day_aggs_v1", "--start", start, "--end", end, "--out", lake]
        cases = [
            ("tickerlake `ohlcv-fetch | to-parquet --lake DIR`", ours(out("ff-tl")), out("ff-tl")),
            ("boto3 + polars (quantmini's way) -> DIR", peer_cmd(out("ff-peer")), out("ff-peer")),
            ("tickerlake `ohlcv-fetch | to-parquet --lake s3://`", ours("s3://bench/tl"), os.path.join(bucket_dir, "tl")),
            ("boto3 + polars + pyarrow S3 -> s3://", peer_cmd("s3://bench/peer"), os.path.join(bucket_dir, "peer")),
        ]
        walls: dict[str, list[float]] = {n: [] for n, _, _ in cases}
        rss: dict[str, list[float]] = {n: [] for n, _, _ in cases}
        for name, cmd, clean in cases:
            run_once(cmd, clean)  # warm
        # As the lake jobs: every round starts on outputs removed together, synced and left to
        # settle, and with the next program in turn, so that no program always pays for the
        # inodes the one before it deleted.
        for round_no in range(a.repeat):
            settle([c for _, _, c in cases], a.settle)
            k = round_no % len(cases)
            for name, cmd, clean in cases[k:] + cases[:k]:
                w, m = run_once(cmd, clean)
                walls[name].append(w)
                rss[name].append(m)
        # Each of our two processes' peak on its own (the pipeline's is at most their sum).
        ndjson = os.path.join(a.data, "out", "ff.ndjson")
        with open(ndjson, "wb") as f:
            t0 = time.perf_counter()
            p = subprocess.Popen(fetch, stdout=f, stderr=subprocess.DEVNULL)
            _, _, usage = os.wait4(p.pid, 0)
            fetch_s = time.perf_counter() - t0
        fetch_rss = usage.ru_maxrss / 1024.0
        _, tp_rss = run_once([to_parquet, ndjson, "--lake", out("ff-tl"), "--price-type", "float64"], out("ff-tl"))
        rows = sum(1 for _ in open(ndjson, "rb"))
        gz = du(files)
        partitions = sum(1 for _, _, fs in os.walk(out("ff-tl")) for f in fs if f.endswith(".parquet"))
    finally:
        server.kill()
        server.wait()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    lines = [f"## polygon-flatfiles: {tickers:,} tickers x {days} day files from a local S3 server into a lake",
             "", "| program | median s | fastest s | rows/s | peak RSS MiB | time vs tickerlake |", "|---|---|---|---|---|---|"]
    for i, (name, _, _) in enumerate(cases):
        m = statistics.median(walls[name])
        ours_m = statistics.median(walls[cases[i - i % 2][0]])
        lines.append(f"| {name} | {m:.2f} | {min(walls[name]):.2f} | {rows / m:,.0f} | {statistics.median(rss[name]):.0f} "
                     f"| {m / ours_m:.2f}x |")
    lines += ["", f"Input: {days} gzip day files, {gz / 1e6:.1f} MB, {rows:,} rows; output {partitions:,} partitions "
              f"(symbol=/year=, float64 prices). Our peak RSS is the larger process of the pipe (wait4); on their own, "
              f"ohlcv-fetch peaks at {fetch_rss:.0f} MiB ({fetch_s:.2f} s to NDJSON) and to-parquet at {tp_rss:.0f} MiB, "
              f"so the pipe's total is at most {fetch_rss + tp_rss:.0f} MiB. The S3 server is s3s-fs on the same "
              f"machine (its files on the same disk). Lakes on disk: {'a fresh ext4 made for the run' if lakes else 'under target/bench-data/out'}; "
              f"each round starts after every output was removed, synced and left {a.settle:.0f} s, with the next program in turn. "
              "Target: at least 2x faster than the peer, peak RSS below it.", ""]
    return lines


def scrape_job(a: argparse.Namespace, py: str, release: str) -> list[str]:
    """tickers-scrape on the 2025 Nasdaq Trader directory; pandas on the same files as a reference."""
    d = os.path.join(ROOT, "fixtures", "real", "nasdaqtrader")
    files = [os.path.join(d, "nasdaqlisted_20250721.txt"), os.path.join(d, "otherlisted_20250721.txt")]
    ours = [os.path.join(release, "tickers-scrape"), "nasdaqtrader", "--as-of", "2025-07-21", "--input", *files]
    peer = [py, "-c", "import sys, pandas as pd\n"
            "frames = [pd.read_csv(f, sep='|', dtype=str, keep_default_na=False, skipfooter=1, engine='python') "
            "for f in sys.argv[1:]]\n"
            "pd.concat(frames).to_json(sys.stdout, orient='records', lines=True)\n", *files]
    cmds = [("tickerlake `tickers-scrape nasdaqtrader`", ours), ("pandas read_csv + to_json (no checks)", peer)]
    return timed_table("## tickers-scrape: Nasdaq Trader directory, 2025-07-21 (11,579 securities, 800 KB)",
                       cmds, max(a.repeat, 10), 1000, "ms", "Whole process, start-up included. Target: well under 100 ms.")


def timed_table(title: str, cmds: list[tuple[str, list[str]]], rounds: int, scale: float, unit: str,
                footer: str, ok: tuple[int, ...] = (0,)) -> list[str]:
    """Runs each command once to warm, then `rounds` times alternating; a markdown table of medians."""
    walls: dict[str, list[float]] = {n: [] for n, _ in cmds}
    rss: dict[str, list[float]] = {n: [] for n, _ in cmds}
    for _, cmd in cmds:
        run_once(cmd, ok=ok)  # warm
    for _ in range(rounds):
        for name, cmd in cmds:
            w, m = run_once(cmd, ok=ok)
            walls[name].append(w)
            rss[name].append(m)
    ours_m = statistics.median(walls[cmds[0][0]])
    digits = 0 if scale > 1 else 2
    lines = [title, "", f"| program | median {unit} | fastest {unit} | peak RSS MiB | time vs tickerlake |",
             "|---|---|---|---|---|"]
    for name, _ in cmds:
        m = statistics.median(walls[name])
        lines.append(f"| {name} | {m * scale:.{digits}f} | {min(walls[name]) * scale:.{digits}f} "
                     f"| {statistics.median(rss[name]):.0f} | {m / ours_m:.2f}x |")
    lines += ["", footer, ""]
    return lines


def status_job(a: argparse.Namespace, py: str, release: str) -> list[str]:
    """lake-status on a 10,000-ticker data directory with a year of nightly runs (grown from the
    four real nights of fixtures/status/nights by gen_status.py): the terminal view, and the page
    with its JSON files. No peer: the target is well under 1 s."""
    data = os.path.join(a.data, "status-10k")
    if not os.path.exists(os.path.join(data, "runs", "index.ndjson")):
        subprocess.run([py, os.path.join(HERE, "gen_status.py"), "-o", data, "--symbols", "10000",
                        "--runs", "365"], check=True)
    site = os.path.join(a.data, "status-site")
    ls = os.path.join(release, "lake-status")
    now = ["--now", "2026-12-02T06:00:00Z"]
    cmds = [("tickerlake `lake-status --html --json` (page + 7 JSON kinds)",
             [ls, "--data", data, "--html", site, "--json", site, *now]),
            ("tickerlake `lake-status` (terminal view)", [ls, "--data", data, *now])]
    # The views exit 1 or 2 on a bad night: that is their answer, not a failure.
    lines = timed_table("## lake-status: 10,000 tickers, 365 nightly runs (90 in the page's window)",
                        cmds, max(a.repeat, 10), 1000, "ms", "", ok=(0, 1, 2))
    page = os.path.getsize(os.path.join(site, "index.html"))
    jsons = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(site) for f in fs if f.endswith(".json"))
    lines[-2] = (f"Page: index.html {page / 1024:.0f} KiB (one file, data embedded); JSON files {jsons / 1024:.0f} KiB. "
                 f"Input: {du(os.path.join(data, 'runs')) / 1e6:.1f} MB of run records, a fetch state of 10,000 symbols. "
                 "Whole process, start-up included. Target: well under 1 s.")
    return lines


def filter_job(a: argparse.Namespace, py: str, release: str) -> list[str]:
    """tickers-filter on 100,000 listings grown from the genuine ones, with last month's universe."""
    real = os.path.join(ROOT, "fixtures", "real")
    os.makedirs(a.data, exist_ok=True)
    gen_in = []
    for name, files in [
        ("nasdaqtrader", ["nasdaqtrader/nasdaqlisted_20250721.txt", "nasdaqtrader/otherlisted_20250721.txt"]),
        ("sec", ["sec/company_tickers_exchange_commit2025-08-24.json"]),
        ("euronext", ["euronext/Euronext_Equities_Paris_2026-08-04.csv"]),
        ("xetra", ["xetra/t7-xetr-allTradableInstruments_2019-04-18.csv"]),
    ]:
        path = os.path.join(a.data, f"scraped-{name}.ndjson")
        with open(path, "w") as f:
            subprocess.run([os.path.join(release, "tickers-scrape"), name, "--as-of", "2025-08-21", "--input",
                            *[os.path.join(real, x) for x in files]], stdout=f, check=True)
        gen_in.append(path)
    universe = os.path.join(a.data, "tickers_100k.ndjson")
    previous = os.path.join(a.data, "tickers_100k_previous.ndjson")
    subprocess.run([py, os.path.join(HERE, "gen_tickers.py"), *gen_in, "-n", "100000", "--seed", "1",
                    "-o", universe, "--previous", previous], check=True)
    report = os.path.join(a.data, "filter-report.json")
    ours = [os.path.join(release, "tickers-filter"), universe, "--previous", previous, "--as-of", "2025-08-21",
            "--target", "1500", "--failed-pct", "10", "--accept-mass-delisting", "--report", report]
    peer = [py, "-c", "import sys, pandas as pd\n"
            "df = pd.read_json(sys.argv[1], lines=True, dtype=False)\n"
            "df = df.drop_duplicates('symbol')\n"
            "junk = df['name'].fillna('').str.contains(r'(?i)\\b(?:warrants?|rights?|units?|preferred|notes?)\\b')\n"
            "df[~junk].sort_values('symbol').to_json(sys.stdout, orient='records', lines=True)\n", universe]
    cmds = [("tickerlake `tickers-filter` (merge, rules, lifecycle, sample)", ours),
            ("pandas read_json + dedupe + one regex + to_json", peer)]
    mb = os.path.getsize(universe) / 1e6
    return timed_table(f"## tickers-filter: 100,000 listings ({mb:.0f} MB) and last month's universe",
                       cmds, max(a.repeat, 5), 1, "s", "Whole process, start-up included. Target: well under 1 s.")


def qlib_jobs(a: argparse.Namespace, py: str, release: str, lakes: str | None) -> list[str]:
    """qlib-bin. Full export of S (500 symbols x 2,520 days) against Qlib's
    own scripts/dump_bin.py dump_all on the same bars as one CSV per symbol, and a one-day
    update of a 5,000-symbol store (target: under 1 s).

    The peer needs a Qlib source tree (--qlib-src, default target/qlib-src: `git archive` of
    microsoft/qlib's scripts/) and a Python with pyqlib, fire and loguru (--qlib-python, default
    target/venv-qlib/bin/python). Without them the export is measured alone and the table says so."""
    qbin = os.path.join(release, "qlib-bin")
    qpy = a.qlib_python or os.path.join(ROOT, "target", "venv-qlib", "bin", "python")
    qsrc = a.qlib_src or os.path.join(ROOT, "target", "qlib-src")
    dump_bin = os.path.join(qsrc, "scripts", "dump_bin.py")
    have_peer = os.path.exists(qpy) and os.path.exists(dump_bin)
    bars = os.path.join(a.data, "bars_S.ndjson")
    # Stores go where the lakes go: a fresh ext4 when the bench can make one (see the lake note).
    out = lakes or os.path.join(a.data, "out")
    os.makedirs(out, exist_ok=True)
    lines = ["## qlib-bin: S (500 symbols x 2,520 days) -> Qlib binary store, full export", "",
             "qlib-bin with its defaults: `--adjust qlib` (the Yahoo collector's normalization) and 8 fields "
             "(open high low close volume factor adjclose change); dump_all writes the 7 columns of the CSV as given.", ""]
    cmds = [("tickerlake `qlib-bin all`", [qbin, "all", bars, "-o", os.path.join(out, "tl-qlib")], os.path.join(out, "tl-qlib"))]
    if have_peer:
        csv_dir = os.path.join(a.data, "qcsv_S")
        if not os.path.isdir(csv_dir):
            subprocess.run([qpy, os.path.join(a.shared, "bench", "gen_qlib_csv.py"), "--symbols", "500", "--days", "2520",
                            "--seed", "1", "--out", csv_dir + ".tmp"], check=True)
            os.replace(csv_dir + ".tmp", csv_dir)
        # dump_bin imports its neighbours: it runs from its own directory.
        peer = ["/bin/sh", "-c", f"cd '{os.path.dirname(dump_bin)}' && exec '{qpy}' dump_bin.py dump_all "
                f"--data_path '{csv_dir}' --qlib_dir '{os.path.join(out, 'dumpbin-qlib')}' --freq day "
                "--exclude_fields date,symbol >/dev/null 2>&1"]
        cmds.append(("Qlib `dump_bin.py dump_all` (16 workers)", peer, os.path.join(out, "dumpbin-qlib")))
    for _, cmd, clean in cmds:
        run_once(cmd, clean)
    walls = {n: [] for n, _, _ in cmds}
    rss = {n: [] for n, _, _ in cmds}
    for r in range(a.repeat):
        k = r % len(cmds)
        for name, cmd, clean in cmds[k:] + cmds[:k]:
            # Each run starts with no other run's writes left to flush (qlib-bin syncs the
            # file system once before it swaps the store in).
            shutil.rmtree(clean, ignore_errors=True)
            os.sync()
            w, m = run_once(cmd, clean)
            walls[name].append(w)
            rss[name].append(m)
    ours = statistics.median(walls[cmds[0][0]])
    lines += ["| program | median s | runs s | peak RSS MiB (largest process) | time vs tickerlake |", "|---|---|---|---|---|"]
    for name, _, _ in cmds:
        m = statistics.median(walls[name])
        runs = " ".join(f"{w:.2f}" for w in sorted(walls[name]))
        lines.append(f"| {name} | {m:.2f} | {runs} | {statistics.median(rss[name]):.0f} | {m / ours:.2f}x |")
    if not have_peer:
        lines.append("| Qlib `dump_bin.py dump_all`, figure of record (../shared/bench/README.md) | 13.0 | - | 802 (PSS, tree) | "
                     f"{13.0 / ours:.2f}x |")
    lines += ["", "Target: at least 10x faster than dump_all, peak memory under 100 MiB.", ""]

    # A one-day update of 5,000 symbols.
    n_sym, n_days = 5000, 60
    base = os.path.join(out, f"qlib_update_{n_sym}")
    gen = os.path.join(a.shared, "bench", "gen_bars.py")
    src = os.path.join(a.data, f"bars_{n_sym}x{n_days}.ndjson")
    if not os.path.exists(src):
        subprocess.run([py, gen, "--symbols", str(n_sym), "--days", str(n_days), "--seed", "2", "-o", src + ".tmp"], check=True)
        os.replace(src + ".tmp", src)
    early, last = src + ".early", src + ".last"
    # Streamed, line by line: a child forked from a big bench process would report the
    # parent's pages as its own peak RSS.
    with open(src) as f:
        last_date = max(next(f).split('"date":"', 1)[1][:10] for _ in range(n_days))
    with open(src) as f, open(early, "w") as e, open(last, "w") as l:
        for r in f:
            (l if f'"date":"{last_date}"' in r else e).write(r)
    shutil.rmtree(base, ignore_errors=True)
    # Random tickers include NA, which pandas cannot read back from all.txt.
    subprocess.run([qbin, "all", early, "-o", base, "--na-tickers", "skip", "-q"], check=True)

    def updates(stored: str, args: list[str]) -> tuple[list[float], list[float]]:
        """Times `qlib-bin update ARGS` on a fresh copy of `stored` each run (copied and synced
        untimed)."""
        walls, rss = [], []
        for _ in range(a.repeat):
            store = stored + ".run"
            shutil.rmtree(store, ignore_errors=True)
            shutil.copytree(stored, store)
            os.sync()
            w, m = run_once([qbin, "update", *args, "-o", store, "--na-tickers", "skip", "-q"])
            walls.append(w)
            rss.append(m)
        return walls, rss

    walls_u, rss_u = updates(base, [last])
    # The nightly path: the same day from the lake, from the store's watermark on (that day is
    # read again to see restatements).
    lake = base + ".lake"
    lake_base = base + ".from-lake"
    tp = os.path.join(release, "to-parquet")
    for d in (lake, lake_base):
        shutil.rmtree(d, ignore_errors=True)
    subprocess.run([tp, "--lake", lake, early, "-q"], check=True)
    subprocess.run([qbin, "all", "--lake", lake, "-o", lake_base, "--na-tickers", "skip", "-q"], check=True)
    subprocess.run([tp, "--lake", lake, last, "-q"], check=True)
    walls_l, rss_l = updates(lake_base, ["--lake", lake, "--since-watermark"])
    m = statistics.median(walls_u)
    ml = statistics.median(walls_l)
    lines += [f"## qlib-bin: one-day update of a {n_sym:,}-symbol store ({n_days - 1} days stored, 8 fields, --adjust qlib)", "",
              "| program | median s | runs s | peak RSS MiB |", "|---|---|---|---|",
              f"| tickerlake `qlib-bin update` (the day's bars as NDJSON) | {m:.2f} | {' '.join(f'{w:.2f}' for w in sorted(walls_u))} | {statistics.median(rss_u):.0f} |",
              f"| tickerlake `qlib-bin update --lake --since-watermark` (reads 2 days of 5,000 partitions) | {ml:.2f} | {' '.join(f'{w:.2f}' for w in sorted(walls_l))} | {statistics.median(rss_l):.0f} |",
              "", "Target: under 1 s. Each run updates a fresh copy of the store (copied and synced untimed).", ""]
    return lines


def run(a: argparse.Namespace, lakes: str | None) -> int:

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
        lk = (lambda n: os.path.join(lakes, n)) if lakes else f
        jobs[f"to-parquet-file {size}"] = (title + " -> one Parquet file (float64 prices)", mb, [
            ("tickerlake `to-parquet -o`", [to_parquet, src, "-o", f("tl.parquet"), "--price-type", "float64"], f("tl.parquet")),
            ("tickerlake, decimal(18,6)", [to_parquet, src, "-o", f("tl-dec.parquet")], f("tl-dec.parquet")),
            ("DuckDB CLI 1.5.6", [duckdb_cli, "-f", duck_sql("file", src, f("duck.parquet"))], f("duck.parquet")),
            ("DuckDB 2.0 (py)", [py, anchors, "convert", "--tool", "duckdb", "--fmt", "ndjson", "--mode", "file", src, f("duckpy.parquet")], f("duckpy.parquet")),
            ("pyarrow", [py, anchors, "convert", "--tool", "pyarrow", "--fmt", "ndjson", "--mode", "file", src, f("pa.parquet")], f("pa.parquet")),
            ("polars", [py, anchors, "convert", "--tool", "polars", "--fmt", "ndjson", "--mode", "file", src, f("pl.parquet")], f("pl.parquet")),
        ])
        lake_cmds = [
            ("tickerlake `to-parquet --lake`", [to_parquet, src, "--lake", lk("tl-lake"), "--price-type", "float64"], lk("tl-lake")),
            ("tickerlake, decimal(18,6)", [to_parquet, src, "--lake", lk("tl-lake-dec")], lk("tl-lake-dec")),
            ("DuckDB CLI 1.5.6", [duckdb_cli, "-f", duck_sql("lake", src, lk("duck-lake"))], lk("duck-lake")),
            ("DuckDB 2.0 (py)", [py, anchors, "convert", "--tool", "duckdb", "--fmt", "ndjson", "--mode", "lake", src, lk("duckpy-lake")], lk("duckpy-lake")),
            ("pyarrow", [py, anchors, "convert", "--tool", "pyarrow", "--fmt", "ndjson", "--mode", "lake", src, lk("pa-lake")], lk("pa-lake")),
            ("polars", [py, anchors, "convert", "--tool", "polars", "--fmt", "ndjson", "--mode", "lake", src, lk("pl-lake")], lk("pl-lake")),
        ]
        if size == "L" and not a.all_peers:
            lake_cmds = [c for c in lake_cmds if c[0] not in ("DuckDB 2.0 (py)", "pyarrow")]
        jobs[f"to-parquet-lake {size}"] = (title + f" -> lake ({sizes[size] * 10:,} partitions, float64 prices)", mb, lake_cmds)
        # qa-check: the lake is made once per size (by to-parquet, decimal prices, the default).
        qa = os.path.join(release, "qa-check")
        last = ""
        with open(src, "rb") as fh:
            fh.seek(-400, os.SEEK_END)
            last = fh.read().decode().strip().split("\n")[-1]
        as_of = last.split('"date":"', 1)[1][:10]
        qa_args = ["--calendar", "infer", "--full-history", "--as-of", as_of]
        jobs[f"qa-ndjson {size}"] = (title + " -> QA findings", mb, [
            ("tickerlake `qa-check` (12 checks)", [qa, src, *qa_args], None),
            ("DuckDB 2.0 (py), qa_checks.sql", [py, anchors, "qa", "--tool", "duckdb", "--src", "ndjson", src, f("duck-qa.csv")], None),
            ("polars", [py, anchors, "qa", "--tool", "polars", "--src", "ndjson", src, f("pl-qa.csv")], None),
        ])
        lake_dir = os.path.join(a.data, f"lake_{size}")
        if "qa-lake" in a.jobs.split(",") and not os.path.isdir(lake_dir):
            print(f"writing {lake_dir} with to-parquet", file=sys.stderr)
            subprocess.run([to_parquet, src, "--lake", lake_dir + ".tmp"], check=True)
            os.replace(lake_dir + ".tmp", lake_dir)
        jobs[f"qa-lake {size}"] = (f"{size} lake ({sizes[size] * 10:,} partitions, decimal prices) -> QA findings", mb, [
            ("tickerlake `qa-check --lake` (12 checks)", [qa, "--lake", lake_dir, *qa_args], None),
            ("DuckDB 2.0 (py), qa_checks.sql", [py, anchors, "qa", "--tool", "duckdb", "--src", "lake", lake_dir, f("duck-qa-lake.csv")], None),
            ("polars", [py, anchors, "qa", "--tool", "polars", "--src", "lake", lake_dir, f("pl-qa-lake.csv")], None),
        ])
    wanted = set(a.jobs.split(","))
    jobs = {k: v for k, v in jobs.items() if k.split(" ")[0] in wanted}
    fetch_lines = fetch_job(a, py, release) if "ohlcv-fetch" in wanted else []
    fetch_lines += qlib_jobs(a, py, release, lakes) if "qlib-bin" in wanted else []
    fetch_lines += scrape_job(a, py, release) if "tickers-scrape" in wanted else []
    fetch_lines += filter_job(a, py, release) if "tickers-filter" in wanted else []
    fetch_lines += status_job(a, py, release) if "lake-status" in wanted else []
    fetch_lines += flatfiles_job(a, py, release, lakes) if "polygon-flatfiles" in wanted else []

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
                  "| program | median s | runs s | MB/s | peak RSS MiB | output MB | time vs tickerlake |",
                  "|---|---|---|---|---|---|---|"]
        for name, _, _ in cmds:
            m = statistics.median(walls[name])
            o = f"{sizes_out[name] / 1e6:.1f}" if name in sizes_out else "-"
            runs = " ".join(f"{w:.2f}" for w in sorted(walls[name]))
            lines.append(f"| {name} | {m:.2f} | {runs} | {mb / m:.0f} | {statistics.median(rss[name]):.0f} | {o} | {m / ours:.2f}x |")
        lines.append("")
    if settled and lakes:
        lines += [f"Lake jobs: the lakes were written to a new ext4 file system made for this run with mkfs.ext4's "
                  f"defaults (journal on), loop-mounted from an image in target/; before each round every program's "
                  f"previous lake was removed, the file system synced, and the bench waited {a.settle:.0f} s. "
                  f"Each round started with the next program.", ""]
    elif settled:
        lines += [f"Lake jobs: before each round every program's previous lake was removed, the file system synced, and "
                  f"the bench waited {a.settle:.0f} s; each round started with the next program. On this VM's journal-less "
                  f"ext4, creating inodes after deleting many (kernel `recently_deleted()`) costs several times as much, "
                  f"and more with every round: system time of the same run grew from 3 s to 11 s over four rounds.", ""]
    lines += fetch_lines
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
