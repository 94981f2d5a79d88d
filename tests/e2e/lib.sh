# Shared helpers for the end-to-end tests: real livepolld and livepoll processes on ipc://
# endpoints in a private temporary folder, cleaned up on any exit.
# Needs LIVEPOLLD, LIVEPOLL and LIVEPOLL_PLUGIN_DIR (tests/CMakeLists.txt sets them).
set -euo pipefail

: "${LIVEPOLLD:?}" "${LIVEPOLL:?}" "${LIVEPOLL_PLUGIN_DIR:?}"
E2E_TMP=$(mktemp -d /tmp/lp-e2e-XXXXXX)
E2E_PIDS=()

e2e_cleanup() {
  local pid
  # LIVEPOLL_E2E_KEEP=DIR keeps a copy of the test's folder (logs, outputs) for a post-mortem.
  if [[ -n ${LIVEPOLL_E2E_KEEP:-} ]]; then mkdir -p "$LIVEPOLL_E2E_KEEP" && cp -r "$E2E_TMP"/. "$LIVEPOLL_E2E_KEEP"/ 2>/dev/null || true; fi
  for pid in "${E2E_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${E2E_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  local log
  for log in "$E2E_TMP"/*.log; do  # daemon.log, or one per node in the cluster tests
    [[ -f $log ]] || continue
    echo "--- $(basename "$log") (last 20 lines) ---" >&2
    tail -20 "$log" >&2
  done
  exit 1
}

ADMIN="ipc://$E2E_TMP/admin"
CLIENT="ipc://$E2E_TMP/client"
export LIVEPOLL_CONNECT="$ADMIN"

# start_daemon CONFIG [ARGS...]: starts livepolld and waits until its admin endpoint answers.
start_daemon() {
  local config=$1; shift
  "$LIVEPOLLD" --config "$config" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" \
    --admin-bind "$ADMIN" --client-bind "$CLIENT" "$@" >"$E2E_TMP/daemon.log" 2>&1 &
  DAEMON_PID=$!
  E2E_PIDS+=("$DAEMON_PID")
  local i
  for i in $(seq 1 100); do
    if "$LIVEPOLL" --timeout 200ms status >/dev/null 2>&1; then return 0; fi
    kill -0 "$DAEMON_PID" 2>/dev/null || fail "livepolld exited at start-up"
    sleep 0.1
  done
  fail "livepolld did not answer within 10 s"
}

# sql DB STATEMENTS: runs SQL against an SQLite file (the test's stand-in for an application).
sql() { sqlite3 -cmd ".timeout 5000" "$1" "$2"; }

# wait_for SECONDS DESCRIPTION COMMAND...: retries COMMAND every 0.1 s until it succeeds.
wait_for() {
  local seconds=$1 what=$2; shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    ((SECONDS < deadline)) || fail "timed out after ${seconds}s waiting for: $what"
    sleep 0.1
  done
}

# has_lines FILE N: FILE exists and has at least N lines (for wait_for).
has_lines() { [[ -f "$1" ]] && (($(wc -l <"$1") >= $2)); }

# subs_field TOPIC COLUMN: a column of `livepoll subs` for TOPIC (TSV with a header).
subs_field() {
  "$LIVEPOLL" subs --header | awk -F'\t' -v topic="$1" -v col="$2" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
    $1 == topic { print $c }'
}
