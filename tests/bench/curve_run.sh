#!/usr/bin/env bash
# The price of CurveZMQ: one daemon, the same load with and without keys, in one run.
#
#   tests/bench/curve_run.sh [BUILD_DIR]        (default /work/main/build)
#
# Per mode (plain, then curve: the client endpoint a CURVE server with the node's key, every
# load-client connection a CURVE client with a key of its own):
#   fan-out  BENCH_CLIENTS (2,000) connections x 10 topics (20,000 subscriptions) of a query
#            polled every 100 ms whose value changes at every poll: updates/s delivered at saturation
#            (both cores busy), seq gaps, and the daemon's CPU;
#   latency  a committed SQLite write -> the watcher's receipt, BENCH_TRIALS (200) trials, 100 ms
#            interval: p50 / p99;
#   ping     the client endpoint's round trip alone (a heartbeat and its answer, 1,000 in turn):
#            what CURVE adds to each message's latency, without the poll phase's noise;
#   connect  connections per second the node accepts (connect, one heartbeat answered, close),
#            16 in flight.
# The client endpoint is tcp://127.0.0.1 (CURVE runs on TCP binds only; an ipc:// endpoint is
# guarded by its file mode). BENCH_SMOKE=1: tiny load and seconds, to check the script itself.
# Benchmarks measure: timings never fail the run; a figure that cannot be read does.
set -euo pipefail

BUILD=${1:-/work/main/build}
LIVEPOLLD=$BUILD/daemon/livepolld
LIVEPOLL=$BUILD/cmd/livepoll
LP_BENCH=$BUILD/tests/bench/lp_bench
PLUGINS=$BUILD/plugins/lib
if [ -n "${BENCH_SMOKE:-}" ]; then
  CLIENTS=20 WINDOW=2 TRIALS=10 CONNECT_SECS=1
else
  CLIENTS=${BENCH_CLIENTS:-2000} WINDOW=${BENCH_WINDOW:-15} TRIALS=${BENCH_TRIALS:-200}
  CONNECT_SECS=5
fi
for f in "$LIVEPOLLD" "$LIVEPOLL" "$LP_BENCH" "$PLUGINS/soci.so"; do
  [ -e "$f" ] || { echo "curve_run.sh: missing $f (build livepolld livepoll lp_bench)" >&2; exit 2; }
done
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TMP=$(mktemp -d /tmp/lp-curve.XXXXXX)
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
mkdir -p "$TMP/keys"
"$LIVEPOLL" keygen --out "$TMP/keys" bench >/dev/null
SERVER_KEY=$TMP/keys/bench.pub

# figure NAME VALUE: VALUE, or the run fails saying which figure it could not read.
figure() {
  [[ $2 =~ ^[0-9.]+$ ]] || { echo "curve_run.sh: cannot read $1 (got '$2')" >&2; exit 1; }
  echo "$2"
}

# start_daemon MODE: sets DPID, CLIENT, ADMIN.
start_daemon() {
  local mode=$1 keys=""
  CLIENT=tcp://127.0.0.1:$(free_port)
  ADMIN=ipc://$TMP/$mode-admin
  [ "$mode" = curve ] && keys="secret_key = $TMP/keys/bench.secret
trusted_keys = $TMP/keys"
  cat >"$TMP/$mode.conf" <<EOF
[node]
name = bench
client_bind = $CLIENT
admin_bind = $ADMIN
$keys

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
  "$LIVEPOLLD" --config "$TMP/$mode.conf" --plugin-dir "$PLUGINS" 2>"$TMP/$mode.log" &
  DPID=$!
  PIDS+=("$DPID")
  wait_until 10 "$LIVEPOLL" -c "$ADMIN" --timeout 200ms status >/dev/null 2>&1 ||
    { echo "curve_run.sh: livepolld ($mode) did not start:" >&2; cat "$TMP/$mode.log" >&2; exit 1; }
}

declare -A R
run_mode() {
  local mode=$1 curve=() c0 c1 t0 t1 json
  [ "$mode" = curve ] && curve=(--server-key "$SERVER_KEY")
  start_daemon "$mode"
  # fan-out: every poll of every topic is a diff to each of its watchers.
  "$LP_BENCH" watchers --connect "$CLIENT" "${curve[@]}" --clients "$CLIENTS" \
    --topics-per-client 10 --query fan --param 'id={t}' --distinct-topics 10 \
    --seconds $((WINDOW + 30)) --json >"$TMP/$mode.fan.json" &
  local bench=$!
  PIDS+=("$bench")
  wait_until 60 subscribers_are $((CLIENTS * 10)) ||
    { echo "curve_run.sh: $mode: subscriptions never established" >&2; exit 1; }
  sleep 2
  local u0 u1
  u0=$(stats_json | jq -r '.updates_sent'); c0=$(cpu_ticks "$DPID"); t0=$(now_ms)
  sleep "$WINDOW"
  u1=$(stats_json | jq -r '.updates_sent'); c1=$(cpu_ticks "$DPID"); t1=$(now_ms)
  kill -TERM "$bench"
  wait "$bench" || true
  json=$(cat "$TMP/$mode.fan.json")
  R[$mode.rate]=$(figure "$mode updates/s" "$(awk -v a="$u0" -v b="$u1" -v t="$((t1 - t0))" \
    'BEGIN {printf "%.0f", (b - a) * 1000 / t}')")
  R[$mode.gaps]=$(figure "$mode seq gaps" "$(j "$json" .seq_gaps)")
  R[$mode.cpu]=$(figure "$mode CPU" "$(awk -v t="$((c1 - c0))" -v hz="$CLK_TCK" -v ms="$((t1 - t0))" \
    'BEGIN {printf "%.0f", 100 * t / hz / (ms / 1000)}')")
  # latency
  json=$("$LP_BENCH" latency --connect "$CLIENT" "${curve[@]}" --db "$DB" --trials "$TRIALS" \
    --gap-ms 200 --json)
  R[$mode.p50]=$(figure "$mode latency p50" "$(j "$json" .p50_ms)")
  R[$mode.p99]=$(figure "$mode latency p99" "$(j "$json" .p99_ms)")
  # the transport's own round trip, under the same fan-out-free daemon
  json=$("$LP_BENCH" ping --connect "$CLIENT" "${curve[@]}" --count "$((TRIALS * 10))" --json)
  R[$mode.ping50]=$(figure "$mode ping p50" "$(j "$json" .p50_ms)")
  R[$mode.ping99]=$(figure "$mode ping p99" "$(j "$json" .p99_ms)")
  # connections per second
  json=$("$LP_BENCH" connect-rate --connect "$CLIENT" "${curve[@]}" --seconds "$CONNECT_SECS" --json)
  R[$mode.conn]=$(figure "$mode connections/s" "$(j "$json" .per_second)")
  kill -TERM "$DPID"
  wait "$DPID" || true
}

run_mode plain
run_mode curve
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f %%", 100 * (b - a) / a}'; }
report <<EOF
| ($CLIENTS connections x 10 topics, 100 ms) | plain | CURVE | change |
|---|---|---|---|
| fan-out updates/s delivered | ${R[plain.rate]} | ${R[curve.rate]} | $(pct "${R[plain.rate]}" "${R[curve.rate]}") |
| seq gaps | ${R[plain.gaps]} | ${R[curve.gaps]} | — |
| daemon CPU (% of one core) | ${R[plain.cpu]} | ${R[curve.cpu]} | — |
| write -> watcher p50 (ms) | ${R[plain.p50]} | ${R[curve.p50]} | $(awk -v a="${R[plain.p50]}" -v b="${R[curve.p50]}" 'BEGIN {printf "%+.2f ms", b - a}') |
| write -> watcher p99 (ms) | ${R[plain.p99]} | ${R[curve.p99]} | $(awk -v a="${R[plain.p99]}" -v b="${R[curve.p99]}" 'BEGIN {printf "%+.2f ms", b - a}') |
| heartbeat round trip p50 (ms) | ${R[plain.ping50]} | ${R[curve.ping50]} | $(awk -v a="${R[plain.ping50]}" -v b="${R[curve.ping50]}" 'BEGIN {printf "%+.3f ms", b - a}') |
| heartbeat round trip p99 (ms) | ${R[plain.ping99]} | ${R[curve.ping99]} | $(awk -v a="${R[plain.ping99]}" -v b="${R[curve.ping99]}" 'BEGIN {printf "%+.3f ms", b - a}') |
| connections accepted per second | ${R[plain.conn]} | ${R[curve.conn]} | $(pct "${R[plain.conn]}" "${R[curve.conn]}") |
EOF
