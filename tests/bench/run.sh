#!/usr/bin/env bash
# livepolld benchmarks: starts a real livepolld per scenario (SQLite through the soci plugin, ipc://
# endpoints in a temp folder), drives it with lp_bench and prints a markdown report.
#
#   tests/bench/run.sh [BUILD_DIR]          (default /work/main/build-bench)
#
# Needs the targets livepolld, livepoll and lp_bench built in BUILD_DIR. Scenarios:
#   a. polls of one topic over a window, for 1 watcher and for BENCH_WATCHERS (1000) watchers,
#      while lp_bench writer changes the watched row every 250 ms (so every poll fans out a diff);
#   b. latency from a committed write to the watcher's receipt, 100 ms interval;
#   c. daemon RSS idle and with BENCH_MEM_CLIENTS x BENCH_MEM_TOPICS subscriptions (100 x 100);
#   d. daemon CPU over the window of (c), 1 s interval.
# Knobs (environment): BENCH_WINDOW (s, 10), BENCH_TRIALS (100), BENCH_WATCHERS (1000),
# BENCH_MEM_CLIENTS (100), BENCH_MEM_TOPICS (100), BENCH_KEEP (a folder to copy logs/JSON into).
# BENCH_SMOKE=1: every scenario with a tiny load for seconds, to check the script (the test command
# runs it so). Benchmarks measure: timings never fail the run. The exit status is non-zero when a
# scenario could not run at all (daemon did not start, subscriptions never established) or a
# figure could not be read (lib.sh: report).
set -euo pipefail

BUILD=${1:-/work/main/build-bench}
LIVEPOLLD=$BUILD/daemon/livepolld
LIVEPOLL=$BUILD/cmd/livepoll
LP_BENCH=$BUILD/tests/bench/lp_bench
PLUGINS=$BUILD/plugins/lib
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if smoke; then
  WINDOW=2 TRIALS=5 WATCHERS=10 MEM_CLIENTS=5 MEM_TOPICS=5
else
  WINDOW=${BENCH_WINDOW:-10}
  TRIALS=${BENCH_TRIALS:-100}
  WATCHERS=${BENCH_WATCHERS:-1000}
  MEM_CLIENTS=${BENCH_MEM_CLIENTS:-100}
  MEM_TOPICS=${BENCH_MEM_TOPICS:-100}
fi

for f in "$LIVEPOLLD" "$LIVEPOLL" "$LP_BENCH" "$PLUGINS/soci.so"; do
  [ -e "$f" ] || { echo "run.sh: missing $f (build livepolld livepoll lp_bench in $BUILD)" >&2; exit 2; }
done

TMP=$(mktemp -d /tmp/lp-bench.XXXXXX)
PIDS=()  # every process this script started, stopped by pid on exit
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${BENCH_KEEP:-}" ]; then mkdir -p "$BENCH_KEEP" && cp -r "$TMP"/. "$BENCH_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1000 watchers are 1000 connections on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

DB=$TMP/bench.db
"$LP_BENCH" initdb --db "$DB" --rows 1000 >/dev/null
CLK_TCK=$(getconf CLK_TCK)
NOTES=()
note() { NOTES+=("$*"); echo "run.sh: $*" >&2; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# start_daemon NAME: a daemon with the bench catalog on ipc endpoints; sets DPID, CLIENT, ADMIN.
start_daemon() {
  local name=$1
  CLIENT=ipc://$TMP/$name-client
  ADMIN=ipc://$TMP/$name-admin
  cat >"$TMP/$name.conf" <<EOF
[node]
name = bench-$name
client_bind = $CLIENT
admin_bind = $ADMIN
client_timeout = 10s
linger = 5s

[source.bench]
plugin = soci
dsn = sqlite3://db=$DB
max_concurrent = 4

# (a) one topic at 1 s; no jitter so that both runs count polls on the same schedule.
[query.one]
source = bench
sql = SELECT id, v FROM items WHERE id = :id
params = id
key = id
interval = 1s
jitter = 0

# (b) the latency table lp_bench writes.
[query.lat]
source = bench
sql = SELECT id, v FROM lat WHERE id = :id
params = id
key = id
interval = 100ms

# (c, d) many topics at 1 s with the default jitter.
[query.mem]
source = bench
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
  echo "run.sh: livepolld ($name) did not start; log:" >&2
  cat "$TMP/$name.log" >&2
  exit 1
}

# subs_value TOPIC COLUMN: a column of `livepoll subs` for one topic.
subs_value() {
  "$LIVEPOLL" -c "$ADMIN" --header subs | awk -F'\t' -v t="$1" -v c="$2" \
    'NR == 1 {for (i = 1; i <= NF; i++) if ($i == c) k = i; next} $1 == t {print $k}'
}

# stop_daemon NAME: records protocol counters, then SIGTERM and a bounded wait.
STATS_ROWS=()
stop_daemon() {
  local name=$1 stats
  stats=$(stats_json || echo '{}')
  echo "$stats" >"$TMP/$name.stats.json"
  local malformed unknown dropped slow sent
  malformed=$(echo "$stats" | jq -r '.frames_malformed // "?"')
  unknown=$(echo "$stats" | jq -r '.frames_unknown // "?"')
  dropped=$(echo "$stats" | jq -r '.clients_dropped // "?"')
  slow=$(echo "$stats" | jq -r '.updates_dropped_slow_client // "?"')
  sent=$(echo "$stats" | jq -r '.updates_sent // "?"')
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
  STATS_ROWS+=("| $name | $malformed | $unknown | $dropped | $slow | $sent | $rc |")
}

# ---- machine ------------------------------------------------------------------------------------
NPROC=$(nproc)
MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM_GB=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
KERNEL=$(uname -r)
SQLITE_VER=$(sqlite3 --version 2>/dev/null | awk '{print $1}' || echo '?')

# ---- a. polls per interval, 1 watcher vs WATCHERS watchers of one topic --------------------------
# scenario_a N: sets A_POLLS A_SECS A_CPU A_JSON
scenario_a() {
  local n=$1 name=a$1 topic='one?id=1'
  start_daemon "$name"
  # The watched row changes 4 times a second, so each poll publishes a diff to every watcher.
  "$LP_BENCH" writer --db "$DB" --sql 'UPDATE items SET v = v + 1 WHERE id = 1' --period-ms 250 \
    --json >"$TMP/$name.writer.json" &
  local writer=$!
  PIDS+=("$writer")
  "$LP_BENCH" watchers --connect "$CLIENT" --clients "$n" --topics-per-client 1 --query one \
    --param id=1 --distinct-topics 1 --seconds $((WINDOW + 60)) --json >"$TMP/$name.json" 2>"$TMP/$name.err" &
  local bench=$!
  PIDS+=("$bench")
  wait_until 30 subscribers_are "$n" || { note "$name: only $(info_value subscribers)/$n subscribed after 30s"; }
  sleep 1.5  # past the first poll
  local t0 p0 c0 t1 p1 c1
  t0=$(now_ms); p0=$(subs_value "$topic" polls); c0=$(cpu_ticks "$DPID")
  sleep "$WINDOW"
  t1=$(now_ms); p1=$(subs_value "$topic" polls); c1=$(cpu_ticks "$DPID")
  A_SUBS=$(subs_value "$topic" subscribers)
  # Writes stop, the last diff is delivered, then the daemon's count is compared with lp_bench's
  # (after the watchers leave, a later poll would still count sends to peers that are gone).
  kill -TERM "$writer"
  wait "$writer" || true
  sleep 1.5
  A_SENT=$(stats_json | jq -r '.updates_sent // "?"')
  kill -TERM "$bench"  # lp_bench prints its summary on SIGTERM
  wait "$bench" || note "$name: lp_bench exited non-zero"
  A_JSON=$(cat "$TMP/$name.json")
  stop_daemon "$name"
  A_POLLS=$((p1 - p0))
  A_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 1000}')
  A_CPU=$(awk -v t="$((c1 - c0))" -v hz="$CLK_TCK" -v s="$A_SECS" 'BEGIN {printf "%.1f", 100 * t / hz / s}')
}
scenario_a 1
A1_POLLS=$A_POLLS A1_SECS=$A_SECS A1_CPU=$A_CPU A1_JSON=$A_JSON A1_SUBS=$A_SUBS A1_SENT=$A_SENT
scenario_a "$WATCHERS"
AN_POLLS=$A_POLLS AN_SECS=$A_SECS AN_CPU=$A_CPU AN_JSON=$A_JSON AN_SUBS=$A_SUBS AN_SENT=$A_SENT
ratio() { awk -v p="$1" -v w="$2" -v s="$3" 'BEGIN {printf "%.4f", p / (w * s)}'; }
A1_RATIO=$(ratio "$A1_POLLS" 1 "$A1_SECS")
AN_RATIO=$(ratio "$AN_POLLS" "$WATCHERS" "$AN_SECS")
if [ "$A1_POLLS" = "$AN_POLLS" ]; then A_EQUAL=yes; else A_EQUAL="no ($A1_POLLS vs $AN_POLLS)"; fi

# ---- b. write-to-receipt latency at 100 ms -------------------------------------------------------
# Random pauses of 0..200 ms (two whole intervals) between trials put each write at a uniformly
# random phase of the poll schedule, so the expected median is about half an interval.
start_daemon b
"$LP_BENCH" latency --connect "$CLIENT" --db "$DB" --query lat --trials "$TRIALS" \
  --gap-ms 200 --json \
  >"$TMP/b.json" 2>"$TMP/b.err" || note "b: lp_bench latency failed: $(cat "$TMP/b.err")"
B_JSON=$(cat "$TMP/b.json")
stop_daemon b

# ---- c + d. memory and CPU with MEM_CLIENTS x MEM_TOPICS subscriptions ---------------------------
start_daemon c
sleep 2
C_IDLE=$(rss_kb "$DPID")
ci0=$(cpu_ticks "$DPID"); ti0=$(now_ms)
sleep 5
ci1=$(cpu_ticks "$DPID"); ti1=$(now_ms)
C_IDLE_CPU=$(awk -v t="$((ci1 - ci0))" -v hz="$CLK_TCK" -v ms="$((ti1 - ti0))" 'BEGIN {printf "%.1f", 100 * t / hz / (ms / 1000)}')
NSUBS=$((MEM_CLIENTS * MEM_TOPICS))
"$LP_BENCH" watchers --connect "$CLIENT" --clients "$MEM_CLIENTS" --topics-per-client "$MEM_TOPICS" \
  --distinct-topics "$MEM_TOPICS" --query mem --param 'id={t}' --seconds $((WINDOW + 120)) --json \
  >"$TMP/c.json" 2>"$TMP/c.err" &
bench=$!
PIDS+=("$bench")
tj0=$(now_ms)
wait_until 60 subscribers_are "$NSUBS" || note "c: only $(info_value subscribers)/$NSUBS subscribed after 60s"
C_JOIN_S=$(awk -v ms="$(($(now_ms) - tj0))" 'BEGIN {printf "%.1f", ms / 1000}')
sleep 3  # every topic polled at least once, snapshots delivered
C_LOADED=$(rss_kb "$DPID")
C_TOPICS=$(info_value topics)
C_SUBS=$(info_value subscribers)
c0=$(cpu_ticks "$DPID"); t0=$(now_ms); p0=$(subs_sum polls)
sleep "$WINDOW"
c1=$(cpu_ticks "$DPID"); t1=$(now_ms); p1=$(subs_sum polls)
C_LOADED_END=$(rss_kb "$DPID")
C_HWM=$(hwm_kb "$DPID")
D_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", (b - a) / 1000}')
D_CPU=$(awk -v t="$((c1 - c0))" -v hz="$CLK_TCK" -v s="$D_SECS" 'BEGIN {printf "%.1f", 100 * t / hz / s}')
D_POLLS=$((p1 - p0))
D_US_PER_POLL=$(awk -v t="$((c1 - c0))" -v hz="$CLK_TCK" -v p="$D_POLLS" 'BEGIN {if (p > 0) printf "%.0f", 1e6 * t / hz / p; else print "n/a"}')
kill -TERM "$bench"
wait "$bench" || note "c: lp_bench exited non-zero"
C_JSON=$(cat "$TMP/c.json")
stop_daemon c
C_PER_SUB=$(awk -v a="$C_IDLE" -v b="$C_LOADED" -v n="$NSUBS" 'BEGIN {printf "%.0f", (b - a) * 1024 / n}')

report <<EOF

## livepolld benchmark ($(date -u +%Y-%m-%dT%H:%MZ))

Machine: $NPROC CPUs, $MODEL, ${MEM_GB} GiB RAM, Linux $KERNEL, SQLite $SQLITE_VER; build: $BUILD.
Daemon: one livepolld per scenario, soci plugin over SQLite (WAL), ipc:// endpoints; load client lp_bench on the same machine.

| scenario | measure | value |
| --- | --- | --- |
| a. 1 watcher, 1 topic, 1 s interval (jitter 0), row updated every 250 ms | polls in ${A1_SECS} s | $A1_POLLS |
| | polls / (watchers x intervals) | $A1_RATIO |
| | updates received (lp_bench) / sent (daemon) | $(j "$A1_JSON" '.updates') / $A1_SENT |
| | daemon CPU | ${A1_CPU} % |
| a. $WATCHERS watchers, same topic and writes | polls in ${AN_SECS} s | $AN_POLLS |
| | polls / (watchers x intervals) | $AN_RATIO |
| | subscribers on the topic (subs) | $AN_SUBS |
| | subscriptions / errors / seq gaps (lp_bench) | $(j "$AN_JSON" '"\(.subscriptions) / \(.errors) / \(.seq_gaps)"') |
| | updates received (lp_bench) / sent (daemon) | $(j "$AN_JSON" '.updates') / $AN_SENT |
| | updates per watcher (1 watcher run: $(j "$A1_JSON" '.updates')) | $(j "$AN_JSON" --argjson n "$WATCHERS" '.updates / $n') |
| | daemon CPU | ${AN_CPU} % |
| | poll counts equal (1 vs $WATCHERS watchers) | $A_EQUAL |
| b. write -> receipt, 100 ms interval, $(j "$B_JSON" '.trials') trials | p50 | $(j "$B_JSON" '.p50_ms') ms |
| | p90 | $(j "$B_JSON" '.p90_ms') ms |
| | p99 | $(j "$B_JSON" '.p99_ms') ms |
| | max (min, mean) | $(j "$B_JSON" '"\(.max_ms) ms (\(.min_ms), \(.mean_ms))"') |
| | received / lost | $(j "$B_JSON" '"\(.received) / \(.lost)"') |
| c. RSS idle (catalog loaded, no clients) | VmRSS | $C_IDLE kB |
| c. RSS, $MEM_CLIENTS clients x $MEM_TOPICS topics = $NSUBS subscriptions over $C_TOPICS topics | VmRSS (after join / after window) | $C_LOADED kB / $C_LOADED_END kB (VmHWM $C_HWM kB) |
| | subscriptions (daemon info / lp_bench) | $C_SUBS / $(j "$C_JSON" '.subscriptions') |
| | time to establish all | ${C_JOIN_S} s |
| | per-subscription increment | $C_PER_SUB bytes |
| d. daemon CPU idle (no clients) | utime+stime / wall | ${C_IDLE_CPU} % |
| d. daemon CPU, (c) load, 1 s interval, ${D_SECS} s | utime+stime / wall | ${D_CPU} % of one CPU |
| | polls in window | $D_POLLS |
| | CPU per poll (all daemon work / polls) | $D_US_PER_POLL us |

Protocol counters at the end of each scenario (livepolld admin \`stats\`):

| scenario | frames_malformed | frames_unknown | clients_dropped | updates_dropped_slow_client | updates_sent | exit after SIGTERM |
| --- | --- | --- | --- | --- | --- | --- |
$(printf '%s\n' "${STATS_ROWS[@]}")

lp_bench output:
- a1: $A1_JSON
- a$WATCHERS: $AN_JSON
- b: $B_JSON
- c: $C_JSON
EOF
if [ ${#NOTES[@]} -gt 0 ]; then
  echo
  echo "Notes:"
  printf -- '- %s\n' "${NOTES[@]}"
fi
