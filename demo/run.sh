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
REPLAY_LOG=$ROOT/target/demo-replay.ndjson

for p in replay-server run-record tickers-scrape ohlcv-fetch; do
  [[ -x $BIN/$p ]] || { echo "demo: $BIN/$p is not built: make build" >&2; exit 69; }
done

mkdir -p "$ROOT/target"
: >"$REPLAY_LOG"
PORT_FILE=$(mktemp)
"$BIN/replay-server" fixtures/replay/demo.yaml --log "$REPLAY_LOG" --idle-exit 2m --max-time 30m \
  >"$PORT_FILE" 2>"$ROOT/target/demo-replay.stderr" &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -f "$PORT_FILE"' EXIT
for _ in $(seq 1 100); do
  [[ -s $PORT_FILE ]] && break
  sleep 0.05
done
[[ -s $PORT_FILE ]] || { echo "demo: the replay server did not start (target/demo-replay.stderr)" >&2; exit 69; }
REPLAY_BASE="http://127.0.0.1:$(head -1 "$PORT_FILE")"
export REPLAY_BASE

first=1
[[ -e $DATA/runs/index.ndjson ]] && first=0
echo "demo: replay server at $REPLAY_BASE; pipeline.sh all into ${DATA#"$ROOT"/} ($( ((first)) && echo 'first run' || echo 'an incremental night'))"
rc=0
"$ROOT/pipeline.sh" all --config "$CONFIG" --data "$DATA" || rc=$?

echo
"$BIN/run-record" status --config "$CONFIG" --data "$DATA" || true
echo
echo "Universe (latest) by source:"
grep -o '"source":"[^"]*"' "$DATA/universe/latest.ndjson" | sort | uniq -c | sort -rn |
  awk '{ sub(/"source":"/, "", $2); sub(/"$/, "", $2); printf "  %-16s %7d\n", $2, $1 }'
synthetic=$(grep -c '"route":"synthetic yahoo chart"' "$REPLAY_LOG" || true)
recorded=$(grep '"target":"/v8/finance/chart/' "$REPLAY_LOG" | grep -vc '"route":"synthetic yahoo chart"' || true)
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
exit "$rc"
