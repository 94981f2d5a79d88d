#!/usr/bin/env bash
# Large results against the event loop (issue 15 §3): three livepolld on 127.0.0.1 serve one
# query over a SQLite table of N rows whose every value changes each second (a writer runs
# `UPDATE big SET v = v + 1` once a second), polled every second and watched (`livepoll watch
# --json`) on two nodes. The owner hashes, diffs and encodes N rows a second; its heartbeats must
# keep their timing, or the others declare it dead and take the topic over again and again.
# For each N in LARGE_ROWS, for LARGE_SECS seconds, it reports:
#   - false suspicions: "member suspect" and "member down" lines in every node's log (none is
#     killed or paused: every one is false);
#   - the topic's epoch at the end (1 when its owner never changed) and its owner;
#   - the owner's event loop: the longest turn and the share of turns over 100 ms (`livepoll
#     stats`: loop_busy_ms_max, loop_busy_ms_le_100, loop_busy_count);
#   - updates each watcher printed, and the owner's RSS at the end.
#
#   tests/bench/large_run.sh [BUILD_DIR]     (default /work/main/build)
#
# Knobs: LARGE_ROWS ("50000 100000 200000 500000"), LARGE_SECS (20), BENCH_KEEP (a folder to copy
# the logs into). BENCH_SMOKE=1: 2,000 rows for 4 s. Needs livepolld, livepoll and the soci plugin
# in BUILD_DIR, and sqlite3.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # free_port, wait_until, report, smoke

BUILD=${1:-/work/main/build}
LIVEPOLLD=$BUILD/daemon/livepolld
LIVEPOLL=$BUILD/cmd/livepoll
PLUGINS=$BUILD/plugins/lib
if smoke; then
  ROWS_LIST=2000 SECS=4
else
  ROWS_LIST=${LARGE_ROWS:-50000 100000 200000 500000} SECS=${LARGE_SECS:-20}
fi
for f in "$LIVEPOLLD" "$LIVEPOLL" "$PLUGINS/soci.so"; do
  [ -e "$f" ] || { echo "large_run.sh: missing $f (build livepolld livepoll soci in $BUILD)" >&2; exit 2; }
done
command -v sqlite3 >/dev/null || { echo "large_run.sh: needs sqlite3" >&2; exit 2; }

TMP=$(mktemp -d /tmp/lp-bench-large.XXXXXX)
PIDS=()
stop_all() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_all
  if [ -n "${BENCH_KEEP:-}" ]; then mkdir -p "$BENCH_KEEP" && cp -r "$TMP"/. "$BENCH_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

lp() { local n=$1; shift; "$LIVEPOLL" -c "ipc://$RUN/$n.admin" --timeout 2s "$@"; }
stat_of() {  # stat_of STATS NODE NAME: NAME's value in STATS (the output of `livepoll stats`)
  echo "$1" | awk -F'\t' -v n="$2" -v k="$3" '$1 == n && $2 == k { print $3 }'
}

# run_one N: one cluster, one table of N rows, LARGE_SECS seconds; prints one report row.
run_one() {
  local rows=$1 n g r seeds="" owner epoch suspects downs busy_max busy_100 busy_all rss w2 w3
  RUN=$TMP/$rows
  mkdir -p "$RUN"
  local db=$RUN/big.db
  sqlite3 "$db" "PRAGMA journal_mode=WAL; CREATE TABLE big (id INTEGER PRIMARY KEY, v INTEGER);
    WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $rows)
    INSERT INTO big SELECT i, 0 FROM c;" >/dev/null
  cat >"$RUN/node.conf" <<CONF
[node]
max_message_size = 256MiB
max_result_bytes = 200MiB
max_result_rows = 2000000
client_queue_bytes = 512MiB
[source.db]
plugin = soci
dsn = sqlite3://db=$db
[query.big]
source = db
sql = SELECT id, v FROM big
key = id
interval = 1s
CONF
  for n in n1 n2 n3; do
    g=$(free_port); r=$(free_port)
    while [ "$r" = "$g" ]; do r=$(free_port); done
    "$LIVEPOLLD" --config "$RUN/node.conf" --plugin-dir "$PLUGINS" --name "$n" \
      --admin-bind "ipc://$RUN/$n.admin" --client-bind "ipc://$RUN/$n.client" \
      --gossip-bind "tcp://127.0.0.1:$g" --rpc-bind "tcp://127.0.0.1:$r" \
      ${seeds:+--join "$seeds"} >"$RUN/$n.log" 2>&1 &
    PIDS+=($!)
    eval "PID_$n=$!"
    seeds=${seeds:-127.0.0.1:$r}
  done
  for n in n1 n2 n3; do
    wait_until 15 sh -c "\"$LIVEPOLL\" -c ipc://$RUN/$n.admin --timeout 500ms members 2>/dev/null |
      grep -c alive | grep -qx 3" ||
      { echo "large_run.sh: the cluster did not form ($n): $(tail -3 "$RUN/$n.log")" >&2; return 1; }
  done
  # The writer: every value changes once a second.
  (while :; do sqlite3 "$db" "UPDATE big SET v = v + 1;" 2>/dev/null; sleep 1; done) &
  PIDS+=($!)
  "$LIVEPOLL" -c "ipc://$RUN/n2.admin" watch big --json >"$RUN/w2.out" 2>"$RUN/w2.err" &
  PIDS+=($!)
  "$LIVEPOLL" -c "ipc://$RUN/n3.admin" watch big --json >"$RUN/w3.out" 2>"$RUN/w3.err" &
  PIDS+=($!)
  sleep "$SECS"
  owner=$(lp n1 subs --json 2>/dev/null | jq -r 'select(.topic == "big") | .owner // empty' | head -1)
  epoch=$(lp n1 subs --json 2>/dev/null | jq -r 'select(.topic == "big") | .epoch // empty' | head -1)
  owner=${owner%%#*}
  suspects=$(cat "$RUN"/n?.log | grep -c "member suspect")
  downs=$(cat "$RUN"/n?.log | grep -c "member down")
  if [ -n "$owner" ]; then
    local stats
    stats=$(lp "$owner" stats 2>/dev/null)  # one reading: the counts keep growing
    busy_max=$(stat_of "$stats" "$owner" loop_busy_ms_max)
    busy_100=$(stat_of "$stats" "$owner" loop_busy_ms_le_100)
    busy_all=$(stat_of "$stats" "$owner" loop_busy_count)
    local pid_var=PID_$owner
    rss=$(awk '/VmRSS/ { print $2 }' "/proc/${!pid_var}/status" 2>/dev/null)
  fi
  w2=$(wc -l <"$RUN/w2.out")
  w3=$(wc -l <"$RUN/w3.out")
  stop_all
  local over="?"
  [ -n "${busy_all:-}" ] && [ -n "${busy_100:-}" ] && [ "$busy_all" -gt 0 ] &&
    over=$(awk -v a="$busy_all" -v b="$busy_100" 'BEGIN { printf "%.2f%%", 100 * (a - b) / a }')
  echo "| $rows | $suspects | $downs | ${owner:-?} | ${epoch:-?} | ${busy_max:-?} | $over | $w2 | $w3 | ${rss:-?} |"
}

echo "## Large results: $SECS s per size, every row changing each second, 3 nodes on 127.0.0.1"
echo
echo "| rows | suspicions | downs | owner | epoch | owner's longest loop turn (ms) | owner's turns over 100 ms | updates at watcher 2 | updates at watcher 3 | owner RSS (KiB) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for rows in $ROWS_LIST; do run_one "$rows" || exit 1; done
