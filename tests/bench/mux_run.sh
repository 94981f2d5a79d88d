#!/usr/bin/env bash
# Multiplexed polling against PostgreSQL (issue 15): MUX_TOPICS topics of one parameterised query
# (SELECT id, v FROM items WHERE id = :id, one watcher each, 1 s interval) polled by one livepolld,
# with `multiplex = 100` and then `multiplex = 0` in the same run (the same server and daemon, the
# two modes as two queries of the same SQL under different aliases, so pg_stat_statements tells
# them apart). Per mode, over MUX_WINDOW seconds: statements/s the server ran for the query
# (pg_stat_statements, reset at the window's start), polls/s and poll_statements/s (the daemon's
# counters), and livepolld and PostgreSQL CPU as % of one core; then, with the watchers still on,
# MUX_TRIALS committed writes to one of the topics' rows (lp_bench latency: libpq UPDATE in
# autocommit) -> its watcher's receipt, p50/p99. Prints a markdown report.
#
#   tests/bench/mux_run.sh [BUILD_DIR]     (default /work/main/build)
#
# Knobs: MUX_TOPICS (1000), MUX_WINDOW (s, 20), MUX_BATCH (the multiplexed mode's batch, 100),
# MUX_TRIALS (20).
# BENCH_SMOKE=1: 20 topics for 2 s, to check the script (the test command runs it so). Full-size
# runs (the issue's 10,000 topics on 3 nodes) are for a quiet machine.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PG_SH=$HERE/../pg/pg.sh
BUILD=${1:-/work/main/build}
LIVEPOLLD=$BUILD/daemon/livepolld
LIVEPOLL=$BUILD/cmd/livepoll
LP_BENCH=$BUILD/tests/bench/lp_bench
PLUGINS=$BUILD/plugins/lib
PSQL_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}/psql
source "$HERE/lib.sh"
if smoke; then MUX_TOPICS=20 MUX_WINDOW=2 MUX_TRIALS=2; fi
TOPICS=${MUX_TOPICS:-1000}
WINDOW=${MUX_WINDOW:-20}
BATCH=${MUX_BATCH:-100}
TRIALS=${MUX_TRIALS:-20}

for f in "$LIVEPOLLD" "$LIVEPOLL" "$LP_BENCH" "$PLUGINS/postgres.so" "$PG_SH" "$PSQL_BIN"; do
  [ -e "$f" ] || { echo "mux_run.sh: missing $f (build livepolld livepoll lp_bench postgres_plugin in $BUILD)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "mux_run.sh: needs jq" >&2; exit 2; }

TMP=$(mktemp -d /tmp/lp-muxbench.XXXXXX)
PIDS=()
PGSTATE=$TMP/pg
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  "$PG_SH" stop "$PGSTATE" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# pg_cpu_ticks POSTMASTER_PID: utime+stime of the postmaster and its children, plus the
# postmaster's cutime+cstime (children that exited).
pg_cpu_ticks() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$1" '
    { pid = $1; sub(/^.*\) /, "") }
    pid == pm { s += $12 + $13 + $14 + $15; next }
    $2 == pm { s += $12 + $13 }
    END { print s + 0 }'
}
pct() { awk -v t="$1" -v hz="$CLK_TCK" -v s="$2" 'BEGIN {printf "%.1f", 100 * t / hz / s}'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN {printf "%.1f", n / s}'; }
psql_q() { "$PSQL_BIN" "$DSN" -v ON_ERROR_STOP=1 -qAtX -c "$1"; }

"$PG_SH" start "$PGSTATE" >"$TMP/pg.start.log" 2>&1 || { cat "$TMP/pg.start.log" >&2; exit 1; }
DSN=$(cat "$PGSTATE/dsn")
POSTMASTER=$(head -1 "$PGSTATE/run/data/postmaster.pid")
# lat: lp_bench latency's table (it writes the row id = 1, one of the topics).
psql_q "CREATE TABLE lat(id int PRIMARY KEY, v bigint NOT NULL);
        INSERT INTO lat SELECT g, g FROM generate_series(0, 9999) g;" >/dev/null
psql_q "VACUUM ANALYZE lat" >/dev/null

CLIENT=ipc://$TMP/client
ADMIN=ipc://$TMP/admin
cat >"$TMP/livepolld.conf" <<CONF
[node]
name = muxbench
client_bind = $CLIENT
admin_bind = $ADMIN
client_timeout = 10s
linger = 1s
[source.pg]
plugin = postgres
dsn = $DSN
[query.item_mux]
source = pg
sql = SELECT mux.id, mux.v FROM lat AS mux WHERE mux.id = :id
params = id
key = id
interval = 1s
multiplex = $BATCH
[query.item_solo]
source = pg
sql = SELECT solo.id, solo.v FROM lat AS solo WHERE solo.id = :id
params = id
key = id
interval = 1s
multiplex = 0
CONF
"$LIVEPOLLD" --config "$TMP/livepolld.conf" --plugin-dir "$PLUGINS" 2>"$TMP/livepolld.log" &
DPID=$!
PIDS+=("$DPID")
wait_until 10 "$LIVEPOLL" -c "$ADMIN" --timeout 200ms status >/dev/null 2>&1 ||
  { echo "mux_run.sh: livepolld did not start:" >&2; cat "$TMP/livepolld.log" >&2; exit 1; }

ROWS=()
# measure MODE QUERY ALIAS: TOPICS watchers of QUERY, then the window's figures as a report row.
measure() {
  local mode=$1 query=$2 alias=$3
  "$LP_BENCH" watchers --connect "$CLIENT" --clients "$TOPICS" --topics-per-client 1 \
    --distinct-topics "$TOPICS" --query "$query" --param 'id={t}' --seconds $((WINDOW + 120)) \
    --json >"$TMP/$mode.json" 2>"$TMP/$mode.err" &
  local bench=$!
  PIDS+=("$bench")
  wait_until 120 subscribers_are "$TOPICS" ||
    { echo "mux_run.sh: $mode: only $(info_value subscribers)/$TOPICS subscribed" >&2; exit 1; }
  sleep 3  # every topic polled, the batches formed
  local s0 s1 c0 c1 pc0 pc1 t0 t1 secs execs te0 te1
  psql_q "SELECT pg_stat_statements_reset()" >/dev/null
  te0=$(now_ms)
  sleep 1  # the psql backend above exits and is reaped before the CPU window
  s0=$(stats_json); c0=$(cpu_ticks "$DPID"); pc0=$(pg_cpu_ticks "$POSTMASTER"); t0=$(now_ms)
  sleep "$WINDOW"
  s1=$(stats_json); c1=$(cpu_ticks "$DPID"); pc1=$(pg_cpu_ticks "$POSTMASTER"); t1=$(now_ms)
  execs=$(psql_q "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
                  WHERE query LIKE '%FROM lat AS $alias WHERE%'")
  te1=$(now_ms)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 1000}')
  local exec_secs
  exec_secs=$(awk -v a="$te0" -v b="$te1" 'BEGIN {printf "%.2f", (b - a) / 1000}')
  local polls stmts
  polls=$(($(j "$s1" .polls) - $(j "$s0" .polls)))
  stmts=$(($(j "$s1" .poll_statements) - $(j "$s0" .poll_statements)))
  # Write -> watcher latency, the watchers still on: gaps of 0..2 intervals (lp_bench latency).
  local lat p50 p99
  "$LP_BENCH" latency --connect "$CLIENT" --pg-dsn "$DSN" --query "$query" --trials "$TRIALS" \
    --gap-ms 2000 --json >"$TMP/$mode.lat.json" 2>"$TMP/$mode.lat.err" ||
    { echo "mux_run.sh: $mode: lp_bench latency failed: $(cat "$TMP/$mode.lat.err")" >&2; exit 1; }
  lat=$(cat "$TMP/$mode.lat.json")
  p50=$(j "$lat" '.p50_ms | if . == null then "?" else (. * 10 | round / 10) end')
  p99=$(j "$lat" '.p99_ms | if . == null then "?" else (. * 10 | round / 10) end')
  ROWS+=("| $mode | $TOPICS | $(rate "$execs" "$exec_secs") | $(rate "$polls" "$secs") | $(rate "$stmts" "$secs") | $(pct $((c1 - c0)) "$secs") | $(pct $((pc1 - pc0)) "$secs") | $p50 / $p99 |")
  kill -TERM "$bench" 2>/dev/null || true
  wait "$bench" 2>/dev/null || true
  wait_until 30 subscribers_are 0 || true
  sleep 2  # linger: the pollers stop before the next mode
}
measure "multiplex = $BATCH" item_mux mux
measure "multiplex = 0" item_solo solo

report <<REPORT
### Multiplexed polling against PostgreSQL ($(nproc) cores, $TOPICS topics of one query at 1 s, ${WINDOW} s windows)

| mode | topics | statements/s (pg_stat_statements) | polls/s | poll_statements/s | livepolld CPU % | PostgreSQL CPU % | write → watcher p50 / p99 ms |
| --- | --- | --- | --- | --- | --- | --- | --- |
$(printf '%s\n' "${ROWS[@]}")

Command: \`tests/bench/mux_run.sh $BUILD\` (MUX_TOPICS=$TOPICS MUX_WINDOW=$WINDOW MUX_BATCH=$BATCH MUX_TRIALS=$TRIALS).
REPORT
