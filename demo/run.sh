#!/usr/bin/env bash
# The offline demo (make demo): the replay server on 127.0.0.1 answers for every listing source
# and for Yahoo — genuine recordings from fixtures/real/, and for the symbols no recording
# covers, synthetic daily bars that say so (meta.exchangeName SYNTHETIC) — and pipeline.sh all
# runs the whole chain against it into demo-data/: universe, nightly, training. No network.
# Run it again: the second run is an incremental night (only the days after the lake's last bar
# are asked for).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BIN=${TICKERLAKE_BIN:-$ROOT/target/debug}
export TICKERLAKE_BIN=$BIN
DATA=${DEMO_DATA:-$ROOT/demo-data}
CONFIG=$ROOT/demo/config.yaml

for p in replay-server run-record lake-status tickers-scrape ohlcv-fetch; do
  [[ -x $BIN/$p ]] || { echo "demo: $BIN/$p is not built: make build" >&2; exit 69; }
done

first=1
[[ -e $DATA/runs/index.ndjson ]] && first=0
echo "demo: pipeline.sh all --demo into ${DATA#"$ROOT"/} ($( ((first)) && echo 'first run' || echo 'an incremental night'))"
rc=0
"$ROOT/pipeline.sh" all --demo --config "$CONFIG" --data "$DATA" || rc=$?
last_dir=$(tail -1 "$DATA/runs/index.ndjson" 2>/dev/null | sed -n 's/.*"dir":"\([^"]*\)".*/\1/p')
RUN=$DATA/runs/$last_dir
REPLAY_LOG=$RUN/replay.requests.ndjson

echo
"$BIN/lake-status" --config "$CONFIG" --data "$DATA" || true
echo
echo "Universe (latest) by source:"
grep -o '"source":"[^"]*"' "$DATA/universe/latest.ndjson" | sort | uniq -c | sort -rn |
  awk '{ sub(/"source":"/, "", $2); sub(/"$/, "", $2); printf "  %-16s %7d\n", $2, $1 }'
synthetic=$(grep -c '"route":"synthetic yahoo chart"' "$REPLAY_LOG" 2>/dev/null || true)
recorded=$(grep '"target":"/v8/finance/chart/' "$REPLAY_LOG" 2>/dev/null | grep -vc '"route":"synthetic yahoo chart"' || true)
echo "Yahoo answers this run: $recorded recorded, $synthetic synthetic (labelled SYNTHETIC; fixtures/real/PROVENANCE.md)"
echo "Lake: ${DATA#"$ROOT"/}/lake ($(find "$DATA/lake" -name '*.parquet' | wc -l) Parquet partitions)"
echo "Qlib: ${DATA#"$ROOT"/}/qlib ($(wc -l <"$DATA/qlib/instruments/all.txt" 2>/dev/null || echo 0) instruments)"
sets=$(find "$DATA/training" -mindepth 1 -maxdepth 1 -name 'v*_*' -printf '%f ' 2>/dev/null | tr ' ' '\n' | sort -V | tr '\n' ' ')
echo "Training sets: ${sets:-none}"
echo
echo "Query it:"
echo "  duckdb -c \"SELECT symbol, count(*) AS bars, max(date) AS last FROM read_parquet('${DATA#"$ROOT"/}/lake/**/*.parquet', hive_partitioning=true) GROUP BY 1 ORDER BY 1 LIMIT 5\""
echo "  python3 -c \"import pyarrow.dataset as ds; t = ds.dataset('${DATA#"$ROOT"/}/lake', partitioning='hive').to_table(); print(t.num_rows, 'bars')\""
echo "  target/debug/to-parquet --cat --lake ${DATA#"$ROOT"/}/lake | head -3"
if [[ -x $ROOT/.venv/bin/python ]]; then
  echo
  echo "(with make test's .venv) the lake read by DuckDB:"
  "$ROOT/.venv/bin/python" - "$DATA/lake" <<'EOF' || true
import sys, duckdb
lake = sys.argv[1]
q = f"SELECT count(DISTINCT symbol) AS symbols, count(*) AS bars, min(date) AS first, max(date) AS last FROM read_parquet('{lake}/**/*.parquet', hive_partitioning=true)"
print(duckdb.sql(q))
EOF
fi
echo
echo "The dashboard (one file, opens offline): ${DATA#"$ROOT"/}/site/index.html"
echo "  its data as JSON for scripts: ${DATA#"$ROOT"/}/site/summary.json and the panels beside it"
exit "$rc"
