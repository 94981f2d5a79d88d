#!/usr/bin/env bash
# The WebSocket gateway's costs (issue 14): one daemon serving both protocols, measured with
# ws_bench (a Beast client, tests/bench/ws_bench.cpp) and lp_bench, on the same machine.
#
#   tests/bench/ws_run.sh [BUILD_DIR]        (default /work/main/build)
#
#   memory   WS_CONNS (10,000) idle WebSocket connections (no channel joined; Phoenix heartbeats
#            only, the first one answered on every socket before RSS is read): the daemon's VmRSS
#            growth over the count, and the same for as many native
#            ZeroMQ connections (lp_bench watchers with one subscription each, for reference);
#   fan-out  WS_CLIENTS (2,000) connections x 10 topics (20,000 subscriptions) of a query polled
#            every 100 ms whose value changes at every poll, over WS_WINDOW (15) s, at saturation
#            (both cores busy, load client included): updates/s received by ws_bench, against the
#            native protocol's updates/s (the daemon's updates_sent) with the same load from
#            lp_bench, each on a fresh daemon; seq gaps and daemon CPU;
#   join     join -> reply (the snapshot) p50/p99: WS_JOINS (2,000) joins of distinct one-row topics
#            one after another on one socket, and over the fan-out's burst of 20,000 joins;
#   latency  a committed SQLite write -> the push on the WebSocket, 100 ms interval, WS_TRIALS
#            (200) trials with random pauses of 0..200 ms.
# WS_PARTS: the parts to run, of `memory` (the WebSocket one), `zmemory` (its native reference),
# `fanout` (both protocols' and the burst's join figures), `join` and `latency`; all by default.
# WS_PARTS=memory measures the idle WebSocket alone (its client needs WS_CONNS + a few file
# descriptors, as the daemon does: both raise their soft limit to the hard one).
# BENCH_SMOKE=1: tiny loads for seconds, to check the script (the test command runs it so).
# Benchmarks measure: timings never fail the run; a figure that cannot be read does (lib.sh).
set -euo pipefail

BUILD=${1:-/work/main/build}
LIVEPOLLD=$BUILD/daemon/livepolld
LIVEPOLL=$BUILD/cmd/livepoll
LP_BENCH=$BUILD/tests/bench/lp_bench
WS_BENCH=$BUILD/tests/bench/ws_bench
PLUGINS=$BUILD/plugins/lib
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
if smoke; then
  CONNS=50 CLIENTS=20 WINDOW=2 TRIALS=5 JOINS=20
else
  CONNS=${WS_CONNS:-10000} CLIENTS=${WS_CLIENTS:-2000} WINDOW=${WS_WINDOW:-15}
  TRIALS=${WS_TRIALS:-200} JOINS=${WS_JOINS:-2000}
fi
PARTS=" ${WS_PARTS:-memory zmemory fanout join latency} "
PARTS=${PARTS//,/ }
for p in $PARTS; do
  case $p in memory | zmemory | fanout | join | latency) ;;
    *) echo "ws_run.sh: WS_PARTS: unknown part '$p' (memory zmemory fanout join latency)" >&2; exit 2 ;;
  esac
done
part() { [[ $PARTS == *" $1 "* ]]; }
for f in "$LIVEPOLLD" "$LIVEPOLL" "$LP_BENCH" "$WS_BENCH" "$PLUGINS/soci.so"; do
  [ -e "$f" ] || { echo "ws_run.sh: missing $f (build livepolld livepoll lp_bench ws_bench)" >&2; exit 2; }
done

TMP=$(mktemp -d /tmp/lp-ws.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

DB=$TMP/bench.db
"$LP_BENCH" initdb --db "$DB" --rows 100 >/dev/null
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
# figure NAME VALUE: VALUE, or the run fails saying which figure it could not read.
figure() {
  [[ $2 =~ ^[0-9.]+$ ]] || { echo "ws_run.sh: cannot read $1 (got '$2')" >&2; exit 1; }
  echo "$2"
}

# start_daemon NAME: a daemon with both endpoints; sets DPID, CLIENT, ADMIN, WS.
start_daemon() {
  local name=$1 port
  CLIENT=ipc://$TMP/$name-client
  ADMIN=ipc://$TMP/$name-admin
  port=$(free_port)
  WS=ws://127.0.0.1:$port/socket/websocket?vsn=2.0.0
  cat >"$TMP/$name.conf" <<EOF
[node]
name = bench
client_bind = $CLIENT
admin_bind = $ADMIN
ws_bind = 127.0.0.1:$port
max_clients = 100000
max_subscriptions_per_client = 100000

[source.bench]
plugin = soci
dsn = sqlite3://db=$DB

# A value that changes at every poll, with no writer to share the cores with.
[query.fan]
source = bench
sql = SELECT :id AS id, julianday('now') AS v
params = id
key = id
interval = 100ms
jitter = 0

[query.lat]
source = bench
sql = SELECT id, v FROM lat WHERE id = :id
params = id
key = id
interval = 100ms
EOF
  "$LIVEPOLLD" --config "$TMP/$name.conf" --plugin-dir "$PLUGINS" 2>"$TMP/$name.log" &
  DPID=$!
  PIDS+=("$DPID")
  wait_until 10 "$LIVEPOLL" -c "$ADMIN" --timeout 200ms status >/dev/null 2>&1 ||
    { echo "ws_run.sh: livepolld ($name) did not start:" >&2; cat "$TMP/$name.log" >&2; exit 1; }
}
stop_daemon() { kill -TERM "$DPID"; wait "$DPID" || true; }

# ---- memory per idle connection ------------------------------------------------------------------
if part memory; then
start_daemon mem
sleep 1
rss0=$(rss_kb "$DPID")
"$WS_BENCH" idle --url "$WS" --connections "$CONNS" >"$TMP/idle.out" 2>"$TMP/idle.err" &
idle=$!
PIDS+=("$idle")
wait_until 120 grep -q '^open ' "$TMP/idle.out" ||
  { echo "ws_run.sh: ws_bench idle never opened its connections: $(cat "$TMP/idle.err")" >&2; exit 1; }
read -r _ opened failed open_ms <"$TMP/idle.out"
[ "$opened" = "$CONNS" ] || { echo "ws_run.sh: only $opened of $CONNS WebSocket connections opened ($failed failed)" >&2; exit 1; }
sleep 3
rss1=$(rss_kb "$DPID")
kill -TERM "$idle"; wait "$idle" || true
WS_PER_CONN=$(awk -v a="$rss0" -v b="$rss1" -v n="$CONNS" 'BEGIN {printf "%.0f", (b - a) * 1024 / n}')
WS_RSS="$rss0 -> $rss1 KiB"
stop_daemon
fi

# The native protocol, for reference: as many connections, one subscription each (a ZeroMQ peer
# that sends nothing is not a client yet).
if part zmemory; then
start_daemon zmem
sleep 1
rss0=$(rss_kb "$DPID")
# lp_bench processes of at most 2,500 connections (each costs it two file descriptors).
left=$CONNS zbs=()
while ((left > 0)); do
  n=$((left < 2500 ? left : 2500)); left=$((left - n))
  "$LP_BENCH" watchers --connect "$CLIENT" --clients "$n" --topics-per-client 1 --query lat \
    --param id=1 --distinct-topics 1 --seconds 600 --json >/dev/null 2>>"$TMP/zmem.err" &
  zbs+=($!); PIDS+=($!)
done
wait_until 120 subscribers_are "$CONNS" ||
  { echo "ws_run.sh: native connections never all joined: $(info_value subscribers)/$CONNS" >&2; exit 1; }
sleep 3
rss1=$(rss_kb "$DPID")
kill -TERM "${zbs[@]}"; wait "${zbs[@]}" || true
ZMQ_PER_CONN=$(awk -v a="$rss0" -v b="$rss1" -v n="$CONNS" 'BEGIN {printf "%.0f", (b - a) * 1024 / n}')
stop_daemon
fi

# ---- fan-out: native, then WebSocket, each on a fresh daemon -----------------------------------
if part fanout; then
start_daemon znat
"$LP_BENCH" watchers --connect "$CLIENT" --clients "$CLIENTS" --topics-per-client 10 --query fan \
  --param 'id={t}' --distinct-topics 10 --seconds $((WINDOW + 60)) --json >"$TMP/znat.json" &
zb=$!
PIDS+=("$zb")
wait_until 60 subscribers_are $((CLIENTS * 10)) || { echo "ws_run.sh: native subscriptions never established" >&2; exit 1; }
sleep 2
u0=$(stats_json | jq -r '.updates_sent'); c0=$(cpu_ticks "$DPID"); t0=$(now_ms)
sleep "$WINDOW"
u1=$(stats_json | jq -r '.updates_sent'); c1=$(cpu_ticks "$DPID"); t1=$(now_ms)
kill -TERM "$zb"; wait "$zb" || true
NAT_RATE=$(figure "native updates/s" "$(awk -v a="$u0" -v b="$u1" -v t="$((t1 - t0))" 'BEGIN {printf "%.0f", (b - a) * 1000 / t}')")
NAT_GAPS=$(figure "native seq gaps" "$(jq -r .seq_gaps "$TMP/znat.json")")
NAT_CPU=$(awk -v t="$((c1 - c0))" -v hz="$CLK_TCK" -v ms="$((t1 - t0))" 'BEGIN {printf "%.0f", 100 * t / hz / (ms / 1000)}')
stop_daemon

start_daemon wfan
c0=$(cpu_ticks "$DPID")
"$WS_BENCH" fanout --url "$WS" --connections "$CLIENTS" --topics 10 --query fan --param 'id={t}' \
  --distinct-topics 10 --seconds "$WINDOW" --json >"$TMP/wfan.json" 2>"$TMP/wfan.err" ||
  { echo "ws_run.sh: ws_bench fanout failed: $(cat "$TMP/wfan.err")" >&2; exit 1; }
WS_JSON=$(cat "$TMP/wfan.json")
WS_RATE=$(figure "WebSocket updates/s" "$(j "$WS_JSON" .updates_per_s)")
WS_GAPS=$(figure "WebSocket seq gaps" "$(j "$WS_JSON" .seq_gaps)")
JOIN_P50=$(figure "join p50" "$(j "$WS_JSON" .join_p50_ms)")
JOIN_P99=$(figure "join p99" "$(j "$WS_JSON" .join_p99_ms)")
stop_daemon
fi

# ---- join -> reply, one at a time -----------------------------------------------------------------
if part join; then
start_daemon wjoin
SEQ_JSON=$("$WS_BENCH" joins --url "$WS" --query lat --param 'id={t}' --count "$JOINS" --json)
SEQ_P50=$(figure "sequential join p50" "$(j "$SEQ_JSON" .p50_ms)")
SEQ_P99=$(figure "sequential join p99" "$(j "$SEQ_JSON" .p99_ms)")
stop_daemon
fi

# ---- commit -> push --------------------------------------------------------------------------------
if part latency; then
start_daemon wlat
LAT_JSON=$("$WS_BENCH" latency --url "$WS" --db "$DB" --trials "$TRIALS" --gap-ms 200 --json)
LAT_P50=$(figure "latency p50" "$(j "$LAT_JSON" .p50_ms)")
LAT_P99=$(figure "latency p99" "$(j "$LAT_JSON" .p99_ms)")
LAT_LOST=$(figure "latency lost" "$(j "$LAT_JSON" .lost)")
stop_daemon
fi

# The report's rows: those of the parts that ran.
ROWS=()
if part memory || part zmemory; then
  ROWS+=("| daemon RSS per idle connection, $CONNS connections | $(part memory && echo "$WS_PER_CONN B (RSS $WS_RSS)" || echo —) | $(part zmemory && echo "$ZMQ_PER_CONN B (one subscription each)" || echo —) |")
fi
part fanout && ROWS+=(
  "| fan-out, $CLIENTS connections x 10 topics at 100 ms, updates/s | $WS_RATE (received) | $NAT_RATE (updates_sent; daemon CPU $NAT_CPU %) |"
  "| seq gaps during the fan-out | $WS_GAPS | $NAT_GAPS |")
part join && ROWS+=("| join -> snapshot reply, $JOINS joins one after another | p50 $SEQ_P50 ms, p99 $SEQ_P99 ms | — |")
part fanout && ROWS+=("| join -> snapshot reply, over $((CLIENTS * 10)) joins at once | p50 $JOIN_P50 ms, p99 $JOIN_P99 ms | — |")
part latency && ROWS+=("| commit -> push, 100 ms interval, $TRIALS trials | p50 $LAT_P50 ms, p99 $LAT_P99 ms, lost $LAT_LOST | — |")

report <<EOF

## WebSocket gateway ($(date -u +%Y-%m-%dT%H:%MZ); $(nproc) CPUs, load client on the same cores)

| measure | WebSocket | native (ZeroMQ) |
| --- | --- | --- |
$(printf '%s\n' "${ROWS[@]}")
EOF
