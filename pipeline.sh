#!/usr/bin/env bash
# pipeline.sh — tickerlake's runs: the monthly universe, the nightly bars, the weekly training
# set, and backups. Cron-first, exit-code gating: each step runs only if the one before it
# succeeded, every run leaves a record (DATA/runs/<date>_<run_id>/metadata.json), and a failure
# alerts and exits with the failing program's code. docs/pipeline.md has the whole story.
set -euo pipefail

readonly PROG=pipeline.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE

usage() {
  cat <<'EOF'
Usage: pipeline.sh [OPTIONS] COMMAND

Commands:
  universe   scrape the listings, filter them against the previous universe, and write the
             new version DATA/universe/<date>.ndjson (latest.ndjson points at it); a failed
             scrape keeps the previous universe
  nightly    fetch the universe's new bars (from the lake's last date), upsert them into the
             lake, run the QA gate, update the Qlib store; a stale universe stops it first
  training   a stratified sample of filter.target_stocks (filter.failed_pct of them delisted),
             fetched over pipeline.training.date_range into DATA/training/v<N>_<date>/
  all        universe, nightly, training, each only if the one before succeeded
  status     lake-status: datasets, KPIs, the last run's steps (exit 0 green, 1 yellow, 2 red);
             every run also rebuilds the dashboard, DATA/site/index.html, and its JSON
  backup     lake, universes, training sets, state, runs and config into
             <pipeline.backup.dir>/<date>/, verified by reading the archive back; with
             pipeline.backup.s3 also copied to s3://BUCKET/PREFIX/<date>/ and read back

Options:
  --data DIR       data directory [default: pipeline.data_dir, ./data]
  --config FILE    configuration [default: $TICKERLAKE_CONFIG, else ./config.yaml]
  --as-of DATE     the trading session (nightly) or the day (universe, training) the run is
                   about [default: the last closed New York session; today]
  --days-back N    nightly: fetch the last N days for every symbol (a backfill)
  --dry-run        print the plan (each command, its inputs and outputs) and run nothing
  --demo           offline, on the bundled recordings: the replay server on 127.0.0.1 answers
                   for every listing source and Yahoo; --config defaults to demo/config.yaml
                   (data in ./demo-data)
  -h, --help       this help

Examples:
  pipeline.sh all --demo                     # the whole chain once, offline (make demo)
  pipeline.sh nightly --dry-run              # what tonight would run
  pipeline.sh nightly --days-back 7          # a week's backfill after an outage
  pipeline.sh status                         # how the last runs went
  make cron                                  # the crontab lines for the notes' schedule

Environment: RUN_ID (default: generated), TICKERLAKE_BIN (directory of the programs; default:
PATH, else target/release or target/debug beside this script), ALERT_WEBHOOK, TELEGRAM_TOKEN +
TELEGRAM_CHAT_ID, ALERT_COMMAND (alerts), HC_URL (the dead man's switch), TICKERLAKE_TRIGGER
(cron or manual, recorded).

Exit status: 0 done (warnings are in the record), the failing program's code otherwise (see
docs/exit-codes.md), 2 usage, 75 another run holds the lock.
EOF
}

die() { # die CODE MESSAGE
  printf '%s: %s\n' "$PROG" "$2" >&2
  exit "$1"
}

# What the script itself needs: bash 5 ($EPOCHREALTIME times the steps), flock (util-linux),
# GNU date (date arithmetic for retention), mkfifo, tar.
[[ -n ${EPOCHREALTIME:-} ]] || die 69 "bash 5 or newer is needed (this is bash $BASH_VERSION)"
for tool in flock date mkfifo tar sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || die 69 "$tool is needed (Debian: coreutils, util-linux, tar)"
done
date -u -d "2026-01-01 -1 days" +%F >/dev/null 2>&1 || die 69 "GNU date is needed (date -d)"

# --- arguments ---------------------------------------------------------------------------------
COMMAND="" DATA_ARG="" CONFIG_ARG="" AS_OF_ARG="" DAYS_BACK="" DRY_RUN=0 DEMO=0
while (($#)); do
  case $1 in
    -h | --help) usage; exit 0 ;;
    --dry-run) DRY_RUN=1 ;;
    --demo) DEMO=1 ;;
    --data) (($# > 1)) || die 2 "--data needs a directory"; DATA_ARG=$2; shift ;;
    --data=*) DATA_ARG=${1#*=} ;;
    --config) (($# > 1)) || die 2 "--config needs a file"; CONFIG_ARG=$2; shift ;;
    --config=*) CONFIG_ARG=${1#*=} ;;
    --as-of) (($# > 1)) || die 2 "--as-of needs a date"; AS_OF_ARG=$2; shift ;;
    --as-of=*) AS_OF_ARG=${1#*=} ;;
    --days-back) (($# > 1)) || die 2 "--days-back needs a number"; DAYS_BACK=$2; shift ;;
    --days-back=*) DAYS_BACK=${1#*=} ;;
    -*) die 2 "unknown option $1 (see --help)" ;;
    *)
      [[ -z $COMMAND ]] || die 2 "one command at a time ($COMMAND, then $1)"
      COMMAND=$1
      ;;
  esac
  shift
done
case $COMMAND in
  universe | nightly | training | all | status | backup) ;;
  "") usage >&2; exit 2 ;;
  *) die 2 "unknown command $COMMAND (universe, nightly, training, all, status, backup)" ;;
esac
if [[ -n $AS_OF_ARG && ! $AS_OF_ARG =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
  die 2 "--as-of $AS_OF_ARG: expected YYYY-MM-DD"
fi
if [[ -n $DAYS_BACK && ! $DAYS_BACK =~ ^[1-9][0-9]{0,4}$ ]]; then
  die 2 "--days-back $DAYS_BACK: expected a number of days from 1"
fi
if ((DEMO)) && [[ -z $CONFIG_ARG ]]; then
  CONFIG_ARG=$HERE/demo/config.yaml
fi
if [[ -n $CONFIG_ARG ]]; then
  [[ -f $CONFIG_ARG ]] || die 66 "--config $CONFIG_ARG: no such file"
  CONFIG_ARG=$(cd "$(dirname "$CONFIG_ARG")" && pwd)/$(basename "$CONFIG_ARG")
  export TICKERLAKE_CONFIG=$CONFIG_ARG
fi

# --- the programs ------------------------------------------------------------------------------
PROGRAMS=(tickers-scrape tickers-filter ohlcv-fetch to-parquet qa-check qlib-bin run-record lake-status)
find_bin() {
  if [[ -n ${TICKERLAKE_BIN:-} ]]; then
    printf '%s\n' "$TICKERLAKE_BIN"
    return
  fi
  if command -v run-record >/dev/null 2>&1; then
    dirname "$(command -v run-record)"
    return
  fi
  local d
  for d in "$HERE/target/release" "$HERE/target/debug"; do
    if [[ -x $d/run-record ]]; then
      printf '%s\n' "$d"
      return
    fi
  done
  die 69 "the tickerlake programs are not built: make build (or make install), or set TICKERLAKE_BIN"
}
BIN=$(find_bin)
((DEMO)) && PROGRAMS+=(replay-server)
for p in "${PROGRAMS[@]}"; do
  [[ -x $BIN/$p ]] || die 69 "$BIN/$p is missing: make build (or set TICKERLAKE_BIN)"
done

# --- settings (one source: run-record reads config.yaml) ---------------------------------------
declare -A S=()
settings_args=(settings)
[[ -n $DATA_ARG ]] && settings_args+=(--data "$DATA_ARG")
settings_text=$("$BIN/run-record" "${settings_args[@]}") || exit $?
while IFS='=' read -r key value; do
  S[$key]=$value
done <<<"$settings_text"
DATA=${S[data_dir]}

if [[ $COMMAND == status ]]; then
  exec "$BIN/lake-status" --data "$DATA"
fi

TODAY=${S[today]}
DAY=${AS_OF_ARG:-$TODAY}
# A date the data cannot be about yet is refused before anything runs: a nightly run about an
# unfinished session would store it as final, a universe dated ahead would outlive every check.
if [[ -n $AS_OF_ARG ]]; then
  date -u -d "$AS_OF_ARG" +%F >/dev/null 2>&1 || die 2 "--as-of $AS_OF_ARG: not a date"
  case $COMMAND in
    nightly | all)
      [[ ! $AS_OF_ARG > ${S[session]} ]] ||
        die 2 "--as-of $AS_OF_ARG: that session has not closed yet (the last closed one is ${S[session]})"
      ;;
    *)
      [[ ! $AS_OF_ARG > $TODAY ]] || die 2 "--as-of $AS_OF_ARG: after today ($TODAY)"
      ;;
  esac
fi

# --- one run at a time, one id, one log --------------------------------------------------------
if [[ -z ${RUN_ID:-} ]]; then
  RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
fi
# One id reaches every program, names the run's directory and log, and goes into JSON as it is.
[[ $RUN_ID =~ ^[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}$ ]] ||
  die 2 "RUN_ID ${RUN_ID:0:40}: expected 1 to 64 letters, digits, . _ : + - (starting with a letter or digit)"
export RUN_ID
export TICKERLAKE_LOG_FORMAT=json
LOG=${S[logs_dir]}/${TODAY}_${RUN_ID}.log
RUN_DIR="" AS_OF="" FAILED_STEP="" FINAL_RC=0 STOP=0
TTY=0
[[ -t 2 ]] && TTY=1

say() { # progress on a terminal; quiet under cron
  ((TTY)) && printf '%s\n' "$*" >&2
  return 0
}

log_line() { # log_line LEVEL MESSAGE: one JSON line in the run's log, like the programs'
  [[ -n $RUN_DIR ]] || return 0
  local msg=$2
  msg=${msg//\\/\\\\}
  msg=${msg//\"/\\\"}
  msg=${msg//$'\n'/\\n}
  msg=${msg//$'\t'/\\t}
  printf '{"ts":"%s","level":"%s","program":"pipeline.sh","run_id":"%s","msg":"%s"}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$1" "$RUN_ID" "$msg" >>"$LOG"
}

if ((!DRY_RUN)); then
  "$BIN/run-record" claim --data "$DATA" || exit $?
  mkdir -p "${S[logs_dir]}" "${S[state_dir]}" "${S[runs_dir]}"
  LOCK=$DATA/.pipeline.lock
  exec 9>>"$LOCK"
  # A backup and the nightly run are both scheduled at 01:00: whichever comes second waits for
  # the other (up to 3 h) — the backup should hold the night, the night must not be lost to a
  # backup. Any other overlap is a run too many: it stops at once.
  if ! flock -n 9; then
    holder=$(head -c 200 "$LOCK" 2>/dev/null || true)
    if [[ $COMMAND == backup || $holder == *", backup since "* ]]; then
      say "waiting for the run that holds $LOCK (${holder:-unknown holder})"
      flock -w 10800 9 || die 75 "another run held $LOCK for 3 hours (${holder:-unknown holder}): this one stops"
    else
      die 75 "another run holds $LOCK (${holder:-unknown holder}): this one stops; run it again later"
    fi
  fi
  printf 'pid %s, run %s, %s since %s\n' "$$" "$RUN_ID" "$COMMAND" "$(date -u +%FT%TZ)" >"$LOCK"
fi

# The programs running now (a step, or both sides of a pipe): a signal to the run reaches them.
CHILDREN=()
forward_stop() {
  local p
  for p in "${CHILDREN[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
}

# wait_for PID: sets WAITED to its exit code; a wait cut short by a signal waits again.
wait_for() {
  local rc
  while :; do
    rc=0
    wait "$1" || rc=$?
    if ((rc > 128)) && kill -0 "$1" 2>/dev/null; then
      continue
    fi
    WAITED=$rc
    return 0
  done
}

# --demo: the replay server on 127.0.0.1 (genuine recordings; synthetic bars, labelled, for
# symbols without one), its request log in the run directory.
REPLAY_PID=""
start_replay_server() {
  local port_file=$RUN_DIR/replay.port
  "$BIN/replay-server" "$HERE/fixtures/replay/demo.yaml" --log "$RUN_DIR/replay.requests.ndjson" \
    --idle-exit 5m --max-time 2h >"$port_file" 2>>"$LOG" 9>&- &
  REPLAY_PID=$!
  local _
  for _ in $(seq 1 200); do
    [[ -s $port_file ]] && break
    kill -0 "$REPLAY_PID" 2>/dev/null || break
    sleep 0.05
  done
  if [[ ! -s $port_file ]]; then
    log_line error "the replay server did not start"
    FAILED_STEP=replay-server FINAL_RC=69
    exit 69
  fi
  REPLAY_BASE="http://127.0.0.1:$(head -1 "$port_file")"
  export REPLAY_BASE
  log_line info "demo: replay server at $REPLAY_BASE"
}

finish() {
  local rc=$?
  ((FINAL_RC)) && rc=$FINAL_RC
  trap - EXIT
  if [[ -n $REPLAY_PID ]]; then
    kill "$REPLAY_PID" 2>/dev/null || true
    wait "$REPLAY_PID" 2>/dev/null || true
  fi
  if [[ -n $RUN_DIR ]]; then
    log_line info "run ended with exit code $rc"
    "$BIN/run-record" end --run "$RUN_DIR" --exit "$rc" 2>>"$LOG" 9>&- ||
      printf '%s: the run record could not be finished (see %s)\n' "$PROG" "$LOG" >&2
    # The dashboard after every run (its exit status is the data's health: 0-2 are fine here),
    # then the alerts the run deserves, decided by lake-status, sent and recorded by run-record.
    local st=0
    "$BIN/lake-status" --data "$DATA" --html "$DATA/site" --json "$DATA/site" 2>>"$LOG" 9>&- || st=$?
    ((st <= 2)) || printf '%s: the dashboard could not be rebuilt (exit %s, see %s)\n' "$PROG" "$st" "$LOG" >&2
    "$BIN/lake-status" --data "$DATA" --alerts --run "$RUN_DIR" 2>>"$LOG" 9>&- |
      "$BIN/run-record" alert --run "$RUN_DIR" 2>>"$LOG" 9>&- ||
      printf '%s: the alerts could not be decided or sent (see %s)\n' "$PROG" "$LOG" >&2
  fi
  if ((STOP)); then
    printf '%s: %s interrupted (exit %s); log: %s; pipeline.sh status --data %s\n' "$PROG" \
      "$COMMAND" "$rc" "$LOG" "$DATA" >&2
  elif ((rc != 0)); then
    printf '%s: %s failed%s (exit %s); log: %s; pipeline.sh status --data %s\n' "$PROG" "$COMMAND" \
      "${FAILED_STEP:+ at $FAILED_STEP}" "$rc" "${LOG}" "$DATA" >&2
  fi
  exit "$rc"
}

if ((!DRY_RUN)); then
  trap finish EXIT
  # Interrupted: the step running ends (its output atomic either way) and is recorded, then the
  # chain stops with 130 or 143 and the record is finished.
  trap 'STOP=130; forward_stop' INT
  trap 'STOP=143; forward_stop' TERM
  begin_args=(begin --data "$DATA" --pipeline "$COMMAND" --log "$LOG" --close-abandoned)
  [[ -n $AS_OF_ARG ]] && begin_args+=(--as-of "$AS_OF_ARG")
  begin_text=$("$BIN/run-record" "${begin_args[@]}" 2>>"$LOG" 9>&-) || exit $?
  while IFS='=' read -r key value; do
    case $key in
      run_dir) RUN_DIR=$value ;;
      as_of) AS_OF=$value ;;
    esac
  done <<<"$begin_text"
  log_line info "$COMMAND begins (as of $AS_OF, data $DATA)"
  if ((DEMO)); then
    start_replay_server
  fi
else
  AS_OF=${AS_OF_ARG:-${S[session]}}
  RUN_DIR="${S[runs_dir]}/${TODAY}_${RUN_ID}"
  printf '# pipeline.sh %s --dry-run: the plan (nothing is run)\n' "$COMMAND"
  printf '# data %s, as of %s, run %s, log %s\n' "$DATA" "$AS_OF" "$RUN_ID" "$LOG"
fi

# --- steps -------------------------------------------------------------------------------------
# judge STEP CODE: ok, warn (a partial result the chain goes on with) or fail (the chain stops).
judge() {
  case $1:$2 in
    *:0) echo ok ;;
    filter:1 | fetch:1 | fetch:75) echo warn ;; # rejects set aside; some symbols failed
    training-fetch:1 | training-fetch:75) echo warn ;;
    *) echo fail ;;
  esac
}

# step NAME [--in FILE]... [--out FILE]... [--summary FILE] [--stdout FILE] -- COMMAND...
# Runs one program (stderr into the run's log), records it, and sets STEP_STATUS and STEP_RC.
step() {
  local name=$1 summary="" stdout="" ins=() outs=()
  shift
  while [[ $1 != -- ]]; do
    case $1 in
      --in) ins+=("$2") ;;
      --out) outs+=("$2") ;;
      --summary) summary=$2 ;;
      --stdout) stdout=$2; outs+=("$2") ;;
    esac
    shift 2
  done
  shift
  if ((DRY_RUN)); then
    printf '\n# %s: in %s; out %s\n' "$name" "${ins[*]:-(none)}" "${outs[*]:-(none)}"
    printf '%q ' "$@"
    [[ -n $stdout ]] && printf '> %q' "$stdout"
    printf '\n'
    STEP_STATUS=ok STEP_RC=0
    return 0
  fi
  say "• $name …"
  log_line info "step $name: $*"
  local t0=$EPOCHREALTIME rc
  # In the background and waited for, so that a signal reaches the program (not only after
  # it ends); fd 9 (the run's lock) closed, so that nothing the program leaves behind holds it.
  if [[ -n $stdout ]]; then
    "$@" >"$stdout" 2>>"$LOG" 9>&- &
  else
    "$@" 2>>"$LOG" 9>&- &
  fi
  CHILDREN=($!)
  wait_for "$!"
  rc=$WAITED
  CHILDREN=()
  local t1=$EPOCHREALTIME
  record_step "$name" "$rc" "$t0" "$t1" "$summary" "${#outs[@]}" "${outs[@]}" -- "$@"
}

# record_step NAME RC T0 T1 SUMMARY N OUT... -- ARGV...
record_step() {
  local name=$1 rc=$2 t0=$3 t1=$4 summary=$5 n=$6
  shift 6
  local out_args=() i
  for ((i = 0; i < n; i++)); do
    out_args+=(--output "$1")
    shift
  done
  shift # --
  STEP_RC=$rc
  STEP_STATUS=$(judge "$name" "$rc")
  local sum_args=()
  [[ -n $summary && -f $summary ]] && sum_args=(--summary "$summary")
  "$BIN/run-record" step --run "$RUN_DIR" --name "$name" --status "$STEP_STATUS" --exit "$rc" \
    --started "$t0" --finished "$t1" "${sum_args[@]}" "${out_args[@]}" -- "$@" 2>>"$LOG" 9>&- ||
    log_line warn "step $name could not be recorded"
  say "  $name: $STEP_STATUS (exit $rc, $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s)"
  local level=info
  [[ $STEP_STATUS == warn ]] && level=warn
  [[ $STEP_STATUS == fail ]] && level=error
  log_line "$level" "step $name: $STEP_STATUS, exit $rc"
  if [[ $STEP_STATUS == fail ]]; then
    FAILED_STEP=$name
  fi
}

# gate: stop the chain after a failed step, with its exit code (65 when it exited 0 but its
# output was refused).
gate() {
  if ((STOP)); then
    log_line warn "interrupted (signal): the chain stops after ${FAILED_STEP:-the step that was running}"
    FINAL_RC=$STOP
    exit "$STOP"
  fi
  if [[ $STEP_STATUS == fail ]]; then
    local rc=$STEP_RC
    ((rc == 0)) && rc=65
    FINAL_RC=$rc
    exit "$rc"
  fi
}

# A step the pipeline itself fails (no universe, an empty output): recorded like a program's.
fail_step() { # fail_step NAME CODE MESSAGE
  log_line error "$1: $3"
  printf '%s: %s: %s\n' "$PROG" "$1" "$3" >&2
  if ((!DRY_RUN)); then
    local t=$EPOCHREALTIME
    record_step "$1" "$2" "$t" "$t" "" 0 -- "$PROG" "$1"
  fi
  STEP_STATUS=fail STEP_RC=$2
  gate
}

# --- universe ----------------------------------------------------------------------------------
run_universe() {
  COMPLETED=0
  local udir=${S[universe_dir]} state=${S[state_dir]}
  local listings=$RUN_DIR/listings.ndjson
  local sources=()
  [[ -n ${S[sources]} ]] && read -r -a sources <<<"${S[sources]}"
  ((DRY_RUN)) || mkdir -p "$udir" "${S[raw_dir]}/scrapes"
  step scrape --out "$state/scrape-status.json" --out "${S[raw_dir]}/scrapes/" \
    --summary "$RUN_DIR/scrape.summary.json" --stdout "$listings" -- \
    "$BIN/tickers-scrape" "${sources[@]}" --status "$state/scrape-status.json" \
    --raw-dir "${S[raw_dir]}/scrapes" --summary "$RUN_DIR/scrape.summary.json"
  # A scrape that failed, even in part (75: some sources), keeps the previous universe: without
  # a source, other sources' records of its listings lack what it says of them (an ETF flag).
  gate
  # The lifecycle (statuses carried over, delistings with evidence) needs a previous universe;
  # the first has none.
  local previous=()
  if [[ -e ${S[universe_latest]} ]] || ((DRY_RUN)); then
    previous=(--previous "${S[universe_latest]}" --status "$state/scrape-status.json"
      --delta "$RUN_DIR/universe.delta.ndjson")
    [[ -f $state/fetch.json ]] && previous+=(--state "$state/fetch.json")
  fi
  local version=$udir/$DAY.ndjson tmp=$udir/.$DAY.ndjson.tmp
  step filter --in "$listings" --in "${S[universe_latest]}" --out "$version" \
    --summary "$RUN_DIR/filter.summary.json" --stdout "$tmp" -- \
    "$BIN/tickers-filter" "$listings" "${previous[@]}" --as-of "$DAY" \
    --report "$RUN_DIR/filter.summary.json"
  ((DRY_RUN)) && return 0
  if [[ $STEP_STATUS == fail ]] || ((STOP)); then
    rm -f "$tmp"
    gate
  fi
  if [[ ! -s $tmp ]]; then
    rm -f "$tmp"
    fail_step universe-install 65 "tickers-filter wrote an empty universe: the previous one stays"
  fi
  # Install: the version by rename, then latest.ndjson by renaming a new link over it.
  mv -f "$tmp" "$version" || fail_step universe-install 74 "$version could not be put in place"
  if ! { ln -sfn "$DAY.ndjson" "$udir/.latest.tmp" && mv -fT "$udir/.latest.tmp" "${S[universe_latest]}"; }; then
    fail_step universe-install 74 "latest.ndjson could not be pointed at $DAY.ndjson"
  fi
  log_line info "universe $version installed as latest"
  COMPLETED=1
}

# --- nightly -----------------------------------------------------------------------------------
run_nightly() {
  COMPLETED=0
  local universe=${S[universe_latest]} lake=${S[lake]} state=${S[state_dir]}
  if ((!DRY_RUN)) && [[ ! -e $universe ]]; then
    fail_step fetch 66 "no universe yet ($universe): run pipeline.sh universe first"
  fi
  ((DRY_RUN)) || check_universe_age "$universe"
  local list=$universe
  if [[ ${S[sample]} != 0 ]]; then
    list=$RUN_DIR/fetch-list.ndjson
    step sample --in "$universe" --out "$list" --stdout "$list" -- \
      "$BIN/tickers-filter" "$universe" --sample "${S[sample]}" --as-of "$DAY"
    gate
  fi
  if ((!DRY_RUN)) && [[ ! -e $lake/.tickerlake-lake.json ]]; then
    # A new lake, so that the fetch can read it (empty: every symbol's whole history).
    "$BIN/to-parquet" --lake "$lake" </dev/null 2>>"$LOG" 9>&-
  fi
  local range=(--since-lake "$lake")
  if [[ -n $DAYS_BACK ]]; then
    range=(--days-back "$DAYS_BACK")
    if ((!DRY_RUN)) && ! compgen -G "$lake/symbol=*" >/dev/null; then
      # Later nights start from each symbol's last bar: they never reach further back.
      log_line warn "--days-back $DAYS_BACK on an empty lake: each symbol gets only $DAYS_BACK days of history"
      printf '%s: warning: --days-back %s on an empty lake: each symbol gets only %s days of history (a plain nightly run fetches whole histories)\n' \
        "$PROG" "$DAYS_BACK" "$DAYS_BACK" >&2
    fi
  fi
  local raw=()
  [[ ${S[keep_raw_bars]} == true ]] && raw=(--raw-dir "${S[raw_dir]}/bars")
  local fetch=("$BIN/ohlcv-fetch" "$list" "${range[@]}" --end "$AS_OF" --state "$state/fetch.json"
    --max-universe-age "${S[universe_max_age_days]}" --errors "$RUN_DIR/fetch.errors.ndjson"
    --actions "$RUN_DIR/actions.ndjson" --summary "$RUN_DIR/fetch.summary.json" "${raw[@]}")
  local upsert=("$BIN/to-parquet" --lake "$lake" --summary "$RUN_DIR/to-parquet.summary.json")
  pipe_steps fetch "$RUN_DIR/fetch.summary.json" to-parquet "$RUN_DIR/to-parquet.summary.json" \
    "$list" "$lake" "" -- "${fetch[@]}" -- "${upsert[@]}"
  # A night run again for a past session checks the lake as it stood then (bars after it are
  # later nights', not this one's future).
  local upto=()
  [[ -n $AS_OF_ARG ]] && upto=(--to "$AS_OF")
  step qa --in "$lake" --out "$RUN_DIR/qa.findings.ndjson" --summary "$RUN_DIR/qa.summary.json" \
    --stdout "$RUN_DIR/qa.findings.ndjson" -- \
    "$BIN/qa-check" --lake "$lake" "${upto[@]}" --universe "$list" --state "$state/fetch.json" \
    --as-of "$AS_OF" --actions "$RUN_DIR/actions.ndjson" --summary "$RUN_DIR/qa.summary.json"
  gate # the QA gate: a critical finding keeps the bad bars out of the Qlib store
  local qlib=${S[qlib]}
  if [[ -e $qlib/.tickerlake/watermark.json ]]; then
    step qlib --in "$lake" --out "$qlib" --summary "$RUN_DIR/qlib.summary.json" -- \
      "$BIN/qlib-bin" update --lake "$lake" --since-watermark -o "$qlib" \
      --summary "$RUN_DIR/qlib.summary.json"
  else
    step qlib --in "$lake" --out "$qlib" --summary "$RUN_DIR/qlib.summary.json" -- \
      "$BIN/qlib-bin" all --lake "$lake" -o "$qlib" --summary "$RUN_DIR/qlib.summary.json"
  fi
  gate
  COMPLETED=1
}

# A universe older than pipeline.universe_max_age_days stops the night before any request (its
# date: the version it links to, else the file's modification day).
check_universe_age() {
  local file=$1 version born now
  version=$(readlink "$file" 2>/dev/null || true)
  version=${version##*/}
  version=${version%.ndjson}
  # Its name's date when that is a date, else the day the file was last written.
  if ! born=$(date -u -d "$version" +%s 2>/dev/null) || [[ ! $version =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]]; then
    version=$(date -u -r "$file" +%F)
    born=$(date -u -d "$version" +%s)
  fi
  now=$(date -u -d "$TODAY" +%s)
  local age max=${S[universe_max_age_days]}
  age=$(((now - born) / 86400))
  if ((age < 0)); then
    fail_step universe-age 65 "the universe ($version) is dated after today ($TODAY): refusing to trust it"
  fi
  if ((age > max)); then
    fail_step universe-age 78 "the universe ($version) is $age days old, more than pipeline.universe_max_age_days ($max): run pipeline.sh universe (the monthly step) first"
  fi
}

# pipe_steps A SUM_A B SUM_B IN OUT STDOUT -- CMD_A... -- CMD_B...: A | B (B's stdout into
# STDOUT, if given), each recorded with its own exit code (what A wrote before it failed is
# still upserted: a partial night commits).
pipe_steps() {
  local a=$1 sum_a=$2 b=$3 sum_b=$4 in=$5 out=$6 stdout=$7
  shift 8
  local cmd_a=() cmd_b=()
  while [[ $1 != -- ]]; do
    cmd_a+=("$1")
    shift
  done
  shift
  cmd_b=("$@")
  if ((DRY_RUN)); then
    printf '\n# %s | %s: in %s; out %s\n' "$a" "$b" "$in" "$out"
    printf '%q ' "${cmd_a[@]}"
    printf '\\\n  | '
    printf '%q ' "${cmd_b[@]}"
    [[ -n $stdout ]] && printf '> %q' "$stdout"
    printf '\n'
    STEP_STATUS=ok STEP_RC=0
    return 0
  fi
  say "• $a | $b …"
  log_line info "step $a: ${cmd_a[*]} | ${cmd_b[*]}"
  local t0=$EPOCHREALTIME rc_a rc_b pa pb
  # A named pipe instead of |: each side in the background with its own pid, so that each
  # exit code is known and a signal reaches both.
  local fifo=$RUN_DIR/.$a.pipe
  rm -f "$fifo"
  mkfifo "$fifo"
  "${cmd_b[@]}" <"$fifo" >"${stdout:-/dev/null}" 2>>"$LOG" 9>&- &
  pb=$!
  "${cmd_a[@]}" >"$fifo" 2>>"$LOG" 9>&- &
  pa=$!
  CHILDREN=("$pa" "$pb")
  wait_for "$pa"
  rc_a=$WAITED
  wait_for "$pb"
  rc_b=$WAITED
  CHILDREN=()
  rm -f "$fifo"
  local t1=$EPOCHREALTIME
  record_step "$a" "$rc_a" "$t0" "$t1" "$sum_a" 0 -- "${cmd_a[@]}"
  local status_a=$STEP_STATUS code_a=$STEP_RC
  record_step "$b" "$rc_b" "$t0" "$t1" "$sum_b" 0 -- "${cmd_b[@]}"
  gate # the upsert failed: nothing it would have written was written
  STEP_STATUS=$status_a STEP_RC=$code_a
  gate # the fetch failed (provider down): what arrived is in the lake, the chain stops
}

# --- training ----------------------------------------------------------------------------------
run_training() {
  COMPLETED=0
  local tdir=${S[training_dir]} universe=${S[universe_latest]}
  if ((!DRY_RUN)) && [[ ! -e $universe ]]; then
    fail_step training-sample 66 "no universe yet ($universe): run pipeline.sh universe first"
  fi
  local n=1 d v
  if [[ -d $tdir ]]; then
    for d in "$tdir"/v*_*; do
      [[ -e $d ]] || continue
      v=${d##*/v}
      v=${v%%_*}
      [[ $v =~ ^[0-9]+$ ]] && ((10#$v >= n)) && n=$((10#$v + 1))
    done
  fi
  local name=v${n}_$DAY
  local work=$tdir/.$name.tmp tickers=$RUN_DIR/training.tickers.ndjson
  if ((!DRY_RUN)); then
    # A set a failed run left half-made is never a version: it goes.
    rm -rf "$tdir"/.v*.tmp
    mkdir -p "$work"
  fi
  step training-sample --in "$universe" --out "$tickers" --summary "$RUN_DIR/training-sample.summary.json" \
    --stdout "$tickers" -- \
    "$BIN/tickers-filter" "$universe" --target "${S[target_stocks]}" --seed "${S[training_seed]}" \
    --as-of "$DAY" --report "$RUN_DIR/training-sample.summary.json"
  gate
  local fetch=("$BIN/ohlcv-fetch" "$tickers" --include-delisted --start "${S[training_start]}"
    --end "${S[training_end]}" --errors "$RUN_DIR/training.errors.ndjson"
    --summary "$RUN_DIR/training-fetch.summary.json")
  local write=("$BIN/to-parquet" -o "$work/bars.parquet"
    --summary "$RUN_DIR/training-set.summary.json")
  pipe_steps training-fetch "$RUN_DIR/training-fetch.summary.json" training-set \
    "$RUN_DIR/training-set.summary.json" "$tickers" "$tdir/$name/bars.parquet" "" -- \
    "${fetch[@]}" -- "${write[@]}"
  # The set read back and checked: what qa-check passes is what was written.
  local read=("$BIN/to-parquet" --cat "$work/bars.parquet")
  local check=("$BIN/qa-check" --profile training --as-of "${S[training_end]}"
    --summary "$RUN_DIR/training-qa.summary.json")
  pipe_steps training-read "" training-qa "$RUN_DIR/training-qa.summary.json" \
    "$work/bars.parquet" "$RUN_DIR/training-qa.findings.ndjson" \
    "$RUN_DIR/training-qa.findings.ndjson" -- "${read[@]}" -- "${check[@]}"
  if ((DRY_RUN)); then
    printf '\n# then: %s/%s/ with bars.parquet, tickers.ndjson, config.yaml, metadata.json, notes.md\n' \
      "$tdir" "$name"
    return 0
  fi
  if [[ $STEP_STATUS == fail ]]; then
    rm -rf "$work"
    gate
  fi
  cp "$tickers" "$work/tickers.ndjson"
  "$BIN/run-record" training-set --run "$RUN_DIR" --dir "$work" --name "$name" 2>>"$LOG" 9>&- || {
    rm -rf "$work"
    fail_step training-install 74 "the training set's metadata could not be written"
  }
  mv -T "$work" "$tdir/$name" ||
    fail_step training-install 74 "$work could not become $tdir/$name (is it there already?)"
  log_line info "training set $tdir/$name installed"
  COMPLETED=1
}

# --- backup ------------------------------------------------------------------------------------
run_backup() {
  COMPLETED=0
  local root=${S[backup_dir]} keep=${S[backup_retention_days]}
  local dest=$root/$TODAY archive="tickerlake-$TODAY.tar.gz"
  local parts=() p
  for p in lake qlib universe training state runs; do
    [[ -e $DATA/$p ]] && parts+=("$p")
  done
  local cfg=${TICKERLAKE_CONFIG:-}
  [[ -z $cfg && -f config.yaml ]] && cfg=$PWD/config.yaml
  local cfg_args=()
  [[ -n $cfg ]] && cfg_args=(-C "$(dirname "$cfg")" "$(basename "$cfg")")
  # This run's own directory is still being written: it is not part of the backup.
  local own=(--exclude "runs/${RUN_DIR##*/}")
  local tmp=$dest/.$archive.tmp
  if ((!DRY_RUN)); then
    if [[ -d $root && -n $(ls -A "$root") && ! -e $root/.tickerlake-backups ]]; then
      fail_step backup 2 "$root holds files that are not tickerlake backups: give pipeline.backup.dir another directory"
    fi
    mkdir -p "$dest"
    : >"$root/.tickerlake-backups"
  fi
  # Written under a temporary name and read back before it replaces anything: a backup that is
  # interrupted or differs never takes the place of the day's verified archive.
  step backup --in "$DATA" -- \
    tar -czf "$tmp" "${own[@]}" -C "$DATA" "${parts[@]}" "${cfg_args[@]}"
  if ((!DRY_RUN)) && [[ $STEP_STATUS == fail ]] || ((STOP)); then
    rm -f "$tmp"
    gate
  fi
  step verify --in "$dest/$archive" -- \
    tar -dzf "$tmp" "${own[@]}" -C "$DATA" "${parts[@]}" "${cfg_args[@]}"
  if ((DRY_RUN)); then
    printf '# then %s renamed into place with its SHA256SUMS; archives of days before the last %s removed\n' \
      "$archive" "$keep"
    return 0
  fi
  if [[ $STEP_STATUS == fail ]] || ((STOP)); then
    rm -f "$tmp"
    ((STEP_RC == 1)) && STEP_RC=74 # tar -d: the archive differs from the files
    gate
  fi
  local sum
  sum=$(sha256sum "$tmp")
  sum=${sum%% *}
  mv -f "$tmp" "$dest/$archive"
  printf '%s  %s\n' "$sum" "$archive" >"$dest/.SHA256SUMS.tmp"
  mv -f "$dest/.SHA256SUMS.tmp" "$dest/SHA256SUMS"
  log_line info "backup $dest/$archive verified and in place"
  # A copy off the machine: the same archive on S3, read back and compared, the same days kept.
  if [[ -n ${S[backup_s3]} ]]; then
    step upload --in "$dest/$archive" -- \
      "$BIN/run-record" s3-backup "$dest/$archive" --to "${S[backup_s3]}" --date "$TODAY" --keep "$keep"
    if [[ $STEP_STATUS == fail ]] || ((STOP)); then
      gate
    fi
  fi
  # Keep the last $keep days (today's included).
  local cutoff d n
  cutoff=$(date -u -d "$TODAY -$keep days" +%F)
  for d in "$root"/*/; do
    d=${d%/}
    n=${d##*/}
    if [[ $n =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ && ! $n > $cutoff ]]; then
      rm -rf -- "$d"
      log_line info "backup $n removed (pipeline.backup.retention_days $keep)"
    fi
  done
  COMPLETED=1
}

# --- retention: old logs and raw downloads, by the date in their names -------------------------
purge_old() {
  ((DRY_RUN)) && return 0
  local cutoff f n
  cutoff=$(date -u -d "$TODAY -${S[log_retention_days]} days" +%F)
  for f in "${S[logs_dir]}"/*.log; do
    [[ -e $f ]] || continue
    n=${f##*/}
    n=${n:0:10}
    [[ $n =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ && $n < $cutoff ]] && rm -f -- "$f"
  done
  cutoff=$(date -u -d "$TODAY -${S[raw_retention_days]} days" +%F)
  for f in "${S[raw_dir]}"/*/*/; do
    [[ -e $f ]] || continue
    f=${f%/}
    n=${f##*/}
    [[ $n =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ && $n < $cutoff ]] && rm -rf -- "$f"
  done
  return 0
}

# Each run function sets COMPLETED last: a function bash abandons half-way never counts.
COMPLETED=0
case $COMMAND in
  universe) run_universe ;;
  nightly) run_nightly ;;
  training) run_training ;;
  all)
    run_universe
    run_nightly
    run_training
    ;;
  backup) run_backup ;;
esac
# bash abandons a command on some errors (bad arithmetic) without exiting: never a green run then.
if ((!DRY_RUN && COMPLETED != 1)); then
  log_line error "the run stopped short (an error of pipeline.sh itself)"
  FAILED_STEP=${FAILED_STEP:-pipeline.sh} FINAL_RC=70
  exit 70
fi
purge_old
say "$COMMAND: done ($RUN_DIR)"
