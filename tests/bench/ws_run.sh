#!/usr/bin/env bash
# The WebSocket gateway's memory per idle connection and its join -> reply latency, on one
# livepolld with SQLite (README, "WebSocket gateway"):
#   tests/bench/ws_run.sh [BUILD_DIR] [SOCKETS] [JOINS]     (defaults: build 10000 2000)
# Memory: the daemon's RSS (VmRSS) with one socket open, then with SOCKETS more idle sockets open
# (each sent nothing after its handshake), over SOCKETS: what one idle WebSocket costs in user
# space (the kernel's socket buffers are not in RSS). The load client is tests/bench/ws_load.js
# (Node and the `ws` package, installed as tests/e2e/phoenix does). ulimit -n must allow SOCKETS
# plus some on both sides: the script raises the soft limit to the hard one.
# Latency: JOINS joins of a one-row query, one after another on one socket, from phx_join sent to
# its phx_reply (the snapshot) received, p50/p99.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$src/build}
sockets=${2:-10000}
joins=${3:-2000}
tmp=$(mktemp -d /tmp/lp-ws-bench-XXXXXX)
E2E_TMP=$tmp
fail() { echo "ws_run: $*" >&2; exit 1; }
source "$src/tests/e2e/phoenix/npm_lib.sh"
source "$src/tests/bench/lib.sh"
ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) > sockets + 100)) || fail "ulimit -n is $(ulimit -n): too low for $sockets sockets"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

sqlite3 "$tmp/b.db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO t VALUES (1, 1);"
cat >"$tmp/b.conf" <<CONF
[node]
name = wsbench
max_clients = $((sockets + 100))
[source.b]
plugin = soci
dsn = sqlite3://db=$tmp/b.db
[query.one]
source = b
sql = SELECT id, v FROM t
key = id
interval = 1s
CONF
port=$(free_port)
"$build/daemon/livepolld" --config "$tmp/b.conf" --plugin-dir "$build/plugins/lib" \
  --admin-bind "ipc://$tmp/admin" --client-bind "ipc://$tmp/client" \
  --ws-bind "127.0.0.1:$port" --log-level warn >"$tmp/daemon.log" 2>&1 &
daemon=$!
pids+=("$daemon")
for _ in $(seq 1 100); do (: </dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$daemon/status"; }
export WS="ws://127.0.0.1:$port" NODE_PATH=$PHOENIX_NODE_MODULES

# Warm up: one socket, one join, so that the first connection's one-time costs are not counted.
node "$src/tests/bench/ws_load.js" join 10 live:one >/dev/null
mkfifo "$tmp/go"
node "$src/tests/bench/ws_load.js" idle 1 <"$tmp/go" >"$tmp/warm.out" &
pids+=("$!")
exec 3>"$tmp/go"
until grep -q '"phase":"idle"' "$tmp/warm.out" 2>/dev/null; do sleep 0.1; done
sleep 1
before=$(rss_kb)
mkfifo "$tmp/go2"
node "$src/tests/bench/ws_load.js" idle "$sockets" <"$tmp/go2" >"$tmp/idle.out" &
pids+=("$!")
exec 4>"$tmp/go2"
until grep -q '"phase":"idle"' "$tmp/idle.out" 2>/dev/null; do sleep 0.2; done
sleep 2
after=$(rss_kb)
open=$(jq -r .sockets "$tmp/idle.out")
echo >&4
echo >&3
echo "idle WebSockets: $open; daemon RSS $before KiB -> $after KiB:" \
  "$(( (after - before) * 1024 / open )) bytes per idle socket ($(jq -r .open_ms "$tmp/idle.out") ms to open them)"
node "$src/tests/bench/ws_load.js" join "$joins" live:one | jq -r \
  '"join -> reply (snapshot of one row), \(.joins) joins one after another: p50 \(.p50_ms) ms, p99 \(.p99_ms) ms, max \(.max_ms) ms"'
