#!/usr/bin/env bash
# The price of CurveZMQ on the client fan-out: one standalone livepolld, its client endpoint on
# tcp://127.0.0.1, T topics x N watchers (lp_bench) of a query that changes at every poll, measured
# over a window as updates delivered per second (updates_sent) and the daemon's CPU, once without
# keys and once with (secret_key + trusted_keys; lp_bench --server-key). Prints a markdown table.
#
#   tests/bench/curve_run.sh [BUILD_DIR]      (default: build)
#   CURVE_T (10) topics, CURVE_N (1000) watchers, CURVE_MS (100) poll interval, CURVE_WINDOW (10) s
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # now_ms, cpu_ticks, free_port
BUILD=$(cd "${1:-build}" && pwd) || exit 2
LIVEPOLLD=$BUILD/daemon/livepolld LIVEPOLL=$BUILD/cmd/livepoll LP_BENCH=$BUILD/tests/bench/lp_bench
T=${CURVE_T:-10} N=${CURVE_N:-1000} MS=${CURVE_MS:-100} WINDOW=${CURVE_WINDOW:-10}
TMP=$(mktemp -d /tmp/lp-curvebench-XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [[ -n ${CURVE_KEEP:-} ]] || rm -rf "$TMP"' EXIT
"$LIVEPOLL" keygen --out "$TMP" bench >/dev/null && mkdir "$TMP/trusted" && cp "$TMP/bench.pub" "$TMP/trusted/"
cat >"$TMP/node.conf" <<CONF
[node]
name = bench
[source.db]
plugin = soci
dsn = sqlite3://db=$TMP/t.db
[query.tick]
source = db
sql = SELECT :id AS id, julianday('now') AS v
params = id
key = id
interval = ${MS}ms
jitter = 0
CONF
ADMIN=ipc://$TMP/admin
stat_of() { "$LIVEPOLL" -c "$ADMIN" --timeout 10s stats 2>/dev/null | awk -F'\t' -v k="$1" '$2 == k { print $3 }'; }
echo "| keys | $T topics x $N watchers @ ${MS} ms: nominal updates/s | sent by the daemon, updates/s (window) | received by lp_bench, updates/s (whole run) | subscriptions made | daemon CPU (window) |"
echo "| --- | --- | --- | --- | --- | --- |"
for mode in plain curve; do
  port=$(free_port)
  keys=() bench_keys=()
  [[ $mode == curve ]] && keys=(--secret-key "$TMP/bench.secret" --trusted-keys "$TMP/trusted") &&
    bench_keys=(--server-key "$(head -c 40 "$TMP/bench.pub")")
  "$LIVEPOLLD" --config "$TMP/node.conf" --plugin-dir "$BUILD/plugins/lib" --admin-bind "$ADMIN" \
    --client-bind "tcp://127.0.0.1:$port" "${keys[@]}" >"$TMP/$mode.log" 2>&1 &
  d=$!; PIDS+=("$d")
  until "$LIVEPOLL" -c "$ADMIN" status >/dev/null 2>&1; do sleep 0.1; done
  "$LP_BENCH" watchers --connect "tcp://127.0.0.1:$port" --clients "$N" --topics-per-client "$T" \
    --distinct-topics "$T" --query tick --param 'id={t}' --seconds 3600 "${bench_keys[@]}" \
    >"$TMP/$mode.bench" 2>&1 &
  b=$!; PIDS+=("$b")
  sleep "${CURVE_WARMUP:-15}"  # joins and snapshots
  s0=$(stat_of updates_sent); c0=$(cpu_ticks "$d"); t0=$(now_ms)
  sleep "$WINDOW"
  s1=$(stat_of updates_sent); c1=$(cpu_ticks "$d"); t1=$(now_ms)
  kill -INT "$b" 2>/dev/null; wait "$b" 2>/dev/null; kill "$d" 2>/dev/null; wait "$d" 2>/dev/null
  # lp_bench's summary: "... for 14.5s: 8220/10000 subscriptions, 640010 updates (...".
  read -r secs subs updates < <(sed -nE 's/.* for ([0-9.]+)s: ([0-9]+\/[0-9]+) subscriptions[^,]*, ([0-9]+) updates.*/\1 \2 \3/p' "$TMP/$mode.bench")
  awk -v m="$mode" -v s=$((${s1:-0} - ${s0:-0})) -v c=$((c1 - c0)) -v ms=$((t1 - t0)) -v tck="$CLK_TCK" \
    -v nom=$((T * N * 1000 / MS)) -v secs="${secs:-1}" -v subs="${subs:-?}" -v up="${updates:-0}" \
    'BEGIN { printf "| %s | %d | %d | %d | %s | %.0f %% |\n", m, nom, s * 1000 / ms, up / secs, subs, 100 * c / tck / (ms / 1000) }'
done
