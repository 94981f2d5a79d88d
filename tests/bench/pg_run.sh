#!/usr/bin/env bash
# livepolld benchmarks against PostgreSQL through the postgres plugin (libpqxx). Each scenario gets
# its own throwaway PostgreSQL 15 (tests/pg/pg.sh: private port on 127.0.0.1, fsync off,
# pg_stat_statements loaded) and its own livepolld (ipc:// endpoints in a temp folder); lp_bench is
# the load client. Prints a markdown report.
#
#   tests/bench/pg_run.sh [BUILD_DIR]       (default /work/main/build-pgbench)
#
# Needs the targets livepolld, livepoll, lp_bench and postgres_plugin built in BUILD_DIR, and the
# postgresql package (server binaries in /usr/lib/postgresql/15/bin, psql). Scenarios:
#   1. latency from a committed write (libpq UPDATE in autocommit, lp_bench latency --pg-dsn) to the
#      watcher's receipt, query interval 100 ms, PGB_TRIALS trials; random pauses of 0..200 ms
#      between trials (two whole intervals, so writes land at uniform phases of the poll schedule);
#   2. PGB_TOPICS (1000) distinct topics (SELECT id, v FROM items WHERE id = :id over a 1,000-row
#      table, one watcher each) at a 1 s interval: polls per second over PGB_WINDOW seconds (sum of
#      the `polls` column of `livepoll subs`), daemon CPU (utime+stime of livepolld) and PostgreSQL
#      CPU (utime+stime of the postmaster and all its children, plus the postmaster's cutime+cstime,
#      i.e. backends that exited and were reaped in the window), as % of one core;
#   3. PGB_WATCHERS (1000) watchers over PGB_HOT_TOPICS (10) topics at 1 s for PGB_WINDOW seconds:
#      executions of the topic query counted by pg_stat_statements (reset at the window's start)
#      against watchers x intervals, the cost if every watcher polled for itself.
# Knobs (environment): PGB_WINDOW (s, 30), PGB_TRIALS (200), PGB_TOPICS (1000), PGB_WATCHERS (1000),
# PGB_HOT_TOPICS (10), PGB_MAX_CONCURRENT (the source's max_concurrent = pool size, 4: the default),
# PGB_KEEP (a folder to copy logs/JSON into).
# Benchmarks measure: timings never fail the run. The exit status is non-zero only when a scenario
# could not run at all (server or daemon did not start).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PG_SH=$HERE/../pg/pg.sh
BUILD=${1:-/work/main/build-pgbench}
LIVEPOLLD=$BUILD/daemon/livepolld
LIVEPOLL=$BUILD/cmd/livepoll
LP_BENCH=$BUILD/tests/bench/lp_bench
PLUGINS=$BUILD/plugins/lib
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PSQL_BIN=$PG_BIN/psql
source "$HERE/lib.sh"
if smoke; then  # tiny loads for seconds: the script checks itself (the test command runs it so)
  PGB_WINDOW=2 PGB_TRIALS=5 PGB_TOPICS=10 PGB_WATCHERS=10 PGB_HOT_TOPICS=2
fi
WINDOW=${PGB_WINDOW:-30}
TRIALS=${PGB_TRIALS:-200}
TOPICS=${PGB_TOPICS:-1000}
WATCHERS=${PGB_WATCHERS:-1000}
HOT=${PGB_HOT_TOPICS:-10}
MAXC=${PGB_MAX_CONCURRENT:-4}

for f in "$LIVEPOLLD" "$LIVEPOLL" "$LP_BENCH" "$PLUGINS/postgres.so" "$PG_SH" "$PSQL_BIN"; do
  [ -e "$f" ] || { echo "pg_run.sh: missing $f (build livepolld livepoll lp_bench postgres_plugin in $BUILD)" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "pg_run.sh: needs jq" >&2; exit 2; }

TMP=$(mktemp -d /tmp/lp-pgbench.XXXXXX)
PIDS=()       # every process this script started, stopped by pid on exit
PG_STATES=()  # every pg.sh state folder, stopped on exit
cleanup() {
  local p s
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for s in "${PG_STATES[@]}"; do
    cp "$s/run/server.log" "$s.server.log" 2>/dev/null || true
    "$PG_SH" stop "$s" >/dev/null 2>&1 || echo "pg_run.sh: could not stop the server of $s" >&2
  done
  if [ -n "${PGB_KEEP:-}" ]; then mkdir -p "$PGB_KEEP" && cp -r "$TMP"/. "$PGB_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "pg_run.sh: line $LINENO failed: $BASH_COMMAND" >&2' ERR

# 1000 watchers are 1000 connections on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

CLK_TCK=$(getconf CLK_TCK)
NOTES=()
note() { NOTES+=("$*"); echo "pg_run.sh: $*" >&2; }

# pg_cpu_ticks POSTMASTER_PID: utime+stime of the postmaster and of every child of it (backends,
# checkpointer, walwriter, ...) plus the postmaster's cutime+cstime (children that exited).
# Processes come and go while cat reads: its "no such file" status must not fail the pipeline.
pg_cpu_ticks() {
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$1" '
    { pid = $1; sub(/^.*\) /, "") }
    pid == pm { s += $12 + $13 + $14 + $15; next }
    $2 == pm { s += $12 + $13 }
    END { print s + 0 }'
}
pg_nprocs() { { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v pm="$1" '{ sub(/^.*\) /, "") } $2 == pm { n++ } END { print n + 0 }'; }
pct() {  # TICKS SECONDS -> % of one core
  awk -v t="$1" -v hz="$CLK_TCK" -v s="$2" 'BEGIN {printf "%.1f", 100 * t / hz / s}'
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b - a) / 1000}'; }

# start_pg NAME: a fresh server with the bench tables; sets DSN, PGSTATE, POSTMASTER.
start_pg() {
  PGSTATE=$TMP/$1-pg
  PG_STATES+=("$PGSTATE")
  "$PG_SH" start "$PGSTATE" >"$TMP/$1-pg.start.log" 2>&1 || {
    cat "$TMP/$1-pg.start.log" >&2
    echo "pg_run.sh: PostgreSQL ($1) did not start" >&2
    exit 1
  }
  DSN=$(cat "$PGSTATE/dsn")
  POSTMASTER=$(head -1 "$PGSTATE/run/data/postmaster.pid")
  psql_q "CREATE TABLE items(id int PRIMARY KEY, v bigint NOT NULL);
          INSERT INTO items SELECT g, g FROM generate_series(0, 999) g;
          CREATE TABLE lat(id int PRIMARY KEY, v bigint NOT NULL);
          INSERT INTO lat VALUES (1, 0);" >/dev/null
  psql_q "VACUUM ANALYZE items" >/dev/null
  psql_q "VACUUM ANALYZE lat" >/dev/null
}
psql_q() { "$PSQL_BIN" "$DSN" -v ON_ERROR_STOP=1 -qAtX -c "$1"; }

# start_daemon NAME: a daemon over the current server's DSN; sets DPID, CLIENT, ADMIN.
start_daemon() {
  local name=$1
  CLIENT=ipc://$TMP/$name-client
  ADMIN=ipc://$TMP/$name-admin
  cat >"$TMP/$name.conf" <<EOF
[node]
name = pgbench-$name
client_bind = $CLIENT
admin_bind = $ADMIN
client_timeout = 10s
linger = 5s

[source.pg]
plugin = postgres
dsn = $DSN
max_concurrent = $MAXC

# (1) the latency table lp_bench writes; default jitter (0.1), as in run.sh.
[query.lat]
source = pg
sql = SELECT id, v FROM lat WHERE id = :id
params = id
key = id
interval = 100ms

# (2, 3) one row by id, 1 s, default jitter.
[query.item]
source = pg
sql = SELECT id, v FROM items WHERE id = :id
params = id
key = id
interval = 1s
EOF
  "$LIVEPOLLD" --config "$TMP/$name.conf" --plugin-dir "$PLUGINS" 2>"$TMP/$name.log" &
  DPID=$!
  PIDS+=("$DPID")
  local i
  for i in $(seq 1 100); do
    if "$LIVEPOLL" -c "$ADMIN" --timeout 200ms status >/dev/null 2>&1; then return 0; fi
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.1
  done
  echo "pg_run.sh: livepolld ($name) did not start; log:" >&2
  cat "$TMP/$name.log" >&2
  exit 1
}


# stop_daemon NAME: records counters and the log's warnings/errors, then SIGTERM and a bounded wait.
STATS_ROWS=()
stop_daemon() {
  local name=$1 stats
  stats=$(stats_json || echo '{}')
  echo "$stats" >"$TMP/$name.stats.json"
  "$LIVEPOLL" -c "$ADMIN" --header subs >"$TMP/$name.subs.tsv" 2>/dev/null || true
  local malformed dropped slow sent
  malformed=$(echo "$stats" | jq -r '.frames_malformed // "?"')
  dropped=$(echo "$stats" | jq -r '.clients_dropped // "?"')
  slow=$(echo "$stats" | jq -r '.updates_dropped_slow_client // "?"')
  sent=$(echo "$stats" | jq -r '.updates_sent // "?"')
  local perr
  perr=$(echo "$stats" | jq -r '[to_entries[] | select(.key | test("fail|error")) | "\(.key)=\(.value)"] | join(" ") | if . == "" then "-" else . end')
  [ "$malformed" = 0 ] || note "$name: frames_malformed = $malformed (expected 0)"
  kill -TERM "$DPID" 2>/dev/null || true
  local i rc=running
  for i in $(seq 1 100); do
    if ! kill -0 "$DPID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  if kill -0 "$DPID" 2>/dev/null; then
    note "$name: livepolld did not exit within 10s of SIGTERM; killed"
    kill -KILL "$DPID" 2>/dev/null || true
  fi
  wait "$DPID" && rc=0 || rc=$?
  [ "$rc" = 0 ] || note "$name: livepolld exited with status $rc after SIGTERM"
  local warns
  warns=$(grep -ciE 'warn|error' "$TMP/$name.log" || true)
  [ "$warns" = 0 ] || note "$name: daemon log has $warns warn/error lines, first: $(grep -iE 'warn|error' "$TMP/$name.log" | head -1)"
  STATS_ROWS+=("| $name | $malformed | $dropped | $slow | $sent | $perr | $warns | $rc |")
}

# ---- machine ------------------------------------------------------------------------------------
NPROC=$(nproc)
MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM_GB=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
KERNEL=$(uname -r)
PG_VER=$("$PG_BIN/postgres" --version | awk '{print $3}')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
PQXX_VER=$(dpkg-query -W -f '${Version}' 'libpqxx-6.4' 2>/dev/null || echo '?')

# ---- 1. write -> receipt latency at 100 ms -------------------------------------------------------
start_pg s1
start_daemon s1
"$LP_BENCH" latency --connect "$CLIENT" --pg-dsn "$DSN" --query lat --trials "$TRIALS" \
  --gap-ms 200 --json >"$TMP/s1.json" 2>"$TMP/s1.err" || note "1: lp_bench latency failed: $(cat "$TMP/s1.err")"
[ -s "$TMP/s1.err" ] && note "1: lp_bench stderr: $(head -3 "$TMP/s1.err" | tr '\n' ' ')"
S1_JSON=$(cat "$TMP/s1.json")
[ -n "$S1_JSON" ] || S1_JSON='{}'
stop_daemon s1

# ---- 2. TOPICS distinct topics at 1 s: polls/s, daemon and PostgreSQL CPU ------------------------
start_pg s2
start_daemon s2
sleep 2
ci0=$(cpu_ticks "$DPID"); pi0=$(pg_cpu_ticks "$POSTMASTER"); ti0=$(now_ms)
sleep 5
ci1=$(cpu_ticks "$DPID"); pi1=$(pg_cpu_ticks "$POSTMASTER"); ti1=$(now_ms)
S2_IDLE_SECS=$(secs "$ti0" "$ti1")
S2_IDLE_D=$(pct $((ci1 - ci0)) "$S2_IDLE_SECS")
S2_IDLE_PG=$(pct $((pi1 - pi0)) "$S2_IDLE_SECS")
"$LP_BENCH" watchers --connect "$CLIENT" --clients "$TOPICS" --topics-per-client 1 \
  --distinct-topics "$TOPICS" --query item --param 'id={t}' --seconds $((WINDOW + 120)) --json \
  >"$TMP/s2.json" 2>"$TMP/s2.err" &
bench=$!
PIDS+=("$bench")
tj0=$(now_ms)
wait_until 60 subscribers_are "$TOPICS" || note "2: only $(info_value subscribers)/$TOPICS subscribed after 60s"
S2_JOIN_S=$(secs "$tj0" "$(now_ms)")
sleep 5  # every topic polled a few times, snapshots delivered, pool connections open
S2_TOPICS=$(info_value topics)
S2_SUBS=$(info_value subscribers)
psql_q "SELECT pg_stat_statements_reset()" >/dev/null
te0=$(now_ms)
sleep 1  # the psql backend above exits and is reaped before the CPU window
c0=$(cpu_ticks "$DPID"); pc0=$(pg_cpu_ticks "$POSTMASTER"); t0=$(now_ms); p0=$(subs_sum polls)
S2_PGPROCS=$(pg_nprocs "$POSTMASTER")
sleep "$WINDOW"
c1=$(cpu_ticks "$DPID"); pc1=$(pg_cpu_ticks "$POSTMASTER"); t1=$(now_ms); p1=$(subs_sum polls)
te1=$(now_ms)
S2_EXEC=$(psql_q "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '%FROM items WHERE id%'")
S2_SECS=$(secs "$t0" "$t1")
S2_POLLS=$((p1 - p0))
S2_RATE=$(awk -v p="$S2_POLLS" -v s="$S2_SECS" 'BEGIN {printf "%.1f", p / s}')
S2_EXEC_RATE=$(awk -v p="$S2_EXEC" -v s="$(secs "$te0" "$te1")" 'BEGIN {printf "%.1f", p / s}')
S2_PER_TOPIC=$(awk -v p="$S2_POLLS" -v s="$S2_SECS" -v n="$TOPICS" 'BEGIN {printf "%.3f", p / s / n}')
S2_D=$(pct $((c1 - c0)) "$S2_SECS")
S2_PG=$(pct $((pc1 - pc0)) "$S2_SECS")
S2_D_US=$(awk -v t="$((c1 - c0))" -v hz="$CLK_TCK" -v p="$S2_POLLS" 'BEGIN {if (p > 0) printf "%.0f", 1e6 * t / hz / p; else print "n/a"}')
S2_PG_US=$(awk -v t="$((pc1 - pc0))" -v hz="$CLK_TCK" -v p="$S2_POLLS" 'BEGIN {if (p > 0) printf "%.0f", 1e6 * t / hz / p; else print "n/a"}')
kill -TERM "$bench"
wait "$bench" || note "2: lp_bench exited non-zero"
S2_JSON=$(cat "$TMP/s2.json")
stop_daemon s2

# ---- 3. WATCHERS watchers over HOT topics at 1 s: executions vs watchers x intervals --------------
start_pg s3
start_daemon s3
"$LP_BENCH" watchers --connect "$CLIENT" --clients "$WATCHERS" --topics-per-client 1 \
  --distinct-topics "$HOT" --query item --param 'id={t}' --seconds $((WINDOW + 120)) --json \
  >"$TMP/s3.json" 2>"$TMP/s3.err" &
bench=$!
PIDS+=("$bench")
wait_until 60 subscribers_are "$WATCHERS" || note "3: only $(info_value subscribers)/$WATCHERS subscribed after 60s"
sleep 3
S3_TOPICS=$(info_value topics)
S3_SUBS=$(info_value subscribers)
psql_q "SELECT pg_stat_statements_reset()" >/dev/null
t0=$(now_ms); p0=$(subs_sum polls)
sleep "$WINDOW"
t1=$(now_ms); p1=$(subs_sum polls)
S3_EXEC=$(psql_q "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE '%FROM items WHERE id%'")
psql_q "SELECT calls, query FROM pg_stat_statements ORDER BY calls DESC LIMIT 10" >"$TMP/s3.pgss.txt" 2>&1 || true
S3_SECS=$(secs "$t0" "$t1")
S3_POLLS=$((p1 - p0))
S3_NAIVE=$(awk -v w="$WATCHERS" -v s="$S3_SECS" 'BEGIN {printf "%.0f", w * s}')  # 1 s interval
S3_FACTOR=$(awk -v n="$S3_NAIVE" -v e="$S3_EXEC" 'BEGIN {if (e > 0) printf "%.1f", n / e; else print "n/a"}')
S3_PER=$(awk -v e="$S3_EXEC" -v s="$S3_SECS" -v t="$HOT" 'BEGIN {printf "%.3f", e / (t * s)}')
kill -TERM "$bench"
wait "$bench" || note "3: lp_bench exited non-zero"
S3_JSON=$(cat "$TMP/s3.json")
stop_daemon s3

report <<EOF

## livepolld PostgreSQL benchmark ($(date -u +%Y-%m-%dT%H:%MZ))

Machine: $NPROC CPUs, $MODEL, ${MEM_GB} GiB RAM, Linux $KERNEL; PostgreSQL $PG_VER (fsync off,
local TCP 127.0.0.1), libpqxx $PQXX_VER; build: $BUILD. One PostgreSQL and one livepolld per
scenario, \`plugin = postgres\`, max_concurrent = $MAXC; load client lp_bench on the same cores.
Load average (1/5/15 min) at the start: $LOAD_START; at the end: $(cut -d' ' -f1-3 /proc/loadavg)
(anything above ~0.5 at the start means other work shared the cores).

| scenario | measure | value |
| --- | --- | --- |
| 1. committed write (libpq UPDATE, autocommit) -> watcher's receipt, 100 ms interval, $(j "$S1_JSON" '.trials // "?"') trials, gaps 0..200 ms | p50 | $(j "$S1_JSON" '.p50_ms // "?"') ms |
| | p90 | $(j "$S1_JSON" '.p90_ms // "?"') ms |
| | p99 | $(j "$S1_JSON" '.p99_ms // "?"') ms |
| | max (min, mean) | $(j "$S1_JSON" '"\(.max_ms) ms (\(.min_ms), \(.mean_ms))"') |
| | received / lost | $(j "$S1_JSON" '"\(.received) / \(.lost)"') |
| 2. $TOPICS distinct topics, 1 watcher each, 1 s interval, ${S2_SECS} s | topics / subscribers (daemon) | $S2_TOPICS / $S2_SUBS (joined in ${S2_JOIN_S} s) |
| | polls in window (subs) | $S2_POLLS |
| | polls per second | $S2_RATE ($S2_PER_TOPIC per topic per s) |
| | executions per second (pg_stat_statements) | $S2_EXEC_RATE |
| | livepolld CPU (idle before joins: ${S2_IDLE_D} %) | ${S2_D} % of one core ($S2_D_US µs per poll) |
| | PostgreSQL CPU, $S2_PGPROCS processes (idle: ${S2_IDLE_PG} %) | ${S2_PG} % of one core ($S2_PG_US µs per poll) |
| | subscriptions / errors / seq gaps (lp_bench) | $(j "$S2_JSON" '"\(.subscriptions) / \(.errors) / \(.seq_gaps)"') |
| 3. $WATCHERS watchers over $HOT topics, 1 s interval, ${S3_SECS} s | topics / subscribers (daemon) | $S3_TOPICS / $S3_SUBS |
| | executions (pg_stat_statements, reset at start) | $S3_EXEC |
| | polls in window (subs, cross-check) | $S3_POLLS |
| | watchers x intervals (one poll per watcher) | $S3_NAIVE |
| | load saved: factor | ${S3_FACTOR}x |
| | executions per topic per interval | $S3_PER |
| | subscriptions / errors / seq gaps (lp_bench) | $(j "$S3_JSON" '"\(.subscriptions) / \(.errors) / \(.seq_gaps)"') |

Daemon counters at the end of each scenario (admin \`stats\`), log warn/error lines, exit status:

| scenario | frames_malformed | clients_dropped | updates_dropped_slow_client | updates_sent | fail/error counters | log warn/error lines | exit after SIGTERM |
| --- | --- | --- | --- | --- | --- | --- | --- |
$(printf '%s\n' "${STATS_ROWS[@]}")

lp_bench output:
- 1: $S1_JSON
- 2: $S2_JSON
- 3: $S3_JSON
EOF
if [ ${#NOTES[@]} -gt 0 ]; then
  echo
  echo "Notes:"
  printf -- '- %s\n' "${NOTES[@]}"
fi
