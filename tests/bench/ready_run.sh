#!/usr/bin/env bash
# Start -> READY=1 (issue 16): how long livepolld takes from exec to telling systemd it serves
# (daemon/service_notify.h), measured with the tests' notify listener as the manager.
#
#   tests/bench/ready_run.sh [BUILD_DIR] [TRIALS] [QUERIES]     (defaults: /work/main/build, 5, 10000)
#
# Two catalogs, each TRIALS times, a fresh process each time:
#   demo   livepolld --demo: the demo's SQLite database seeded and its 4 queries (daemon/demo.h);
#   large  a config with QUERIES query definitions (10,000: the catalog "10,000 topics' worth"
#          means, as every topic is a query and its parameters, and a query is what start-up
#          loads and checks against its source) on one SQLite database, each its own statement
#          (SELECT ... WHERE id = N), so the catalog check prepares QUERIES statements.
# t0 = date +%s.%N just before the exec; READY = the arrival time of the listener's READY=1
# datagram (same clock). Reported in ms: p50 and max per catalog, and the READY=1 datagram's
# STATUS= line. No topic is subscribed: the time is the start-up's alone.
set -uo pipefail
BUILD=${1:-/work/main/build}
TRIALS=${2:-5}
QUERIES=${3:-10000}
LIVEPOLLD=$BUILD/daemon/livepolld
PLUGINS=$BUILD/plugins/lib
LISTENER=$(cd "$(dirname "$0")/../tools" && pwd)/notify_listener.py
for f in "$LIVEPOLLD" "$PLUGINS/soci.so" "$LISTENER"; do
  [ -e "$f" ] || { echo "ready_run.sh: missing $f" >&2; exit 2; }
done
TMP=$(mktemp -d /tmp/lp-ready-XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

# The large catalog: one table, QUERIES queries.
sqlite3 "$TMP/large.db" "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
  INSERT INTO items SELECT i, 'item ' || i, i * 0.5 FROM n;"
{
  printf '[source.db]\nplugin = soci\ndsn = sqlite3://db=%s\nmax_concurrent = 4\n\n' "$TMP/large.db"
  for ((i = 1; i <= QUERIES; i++)); do
    printf '[query.q%d]\nsource = db\nsql = SELECT id, name, price FROM items WHERE id = %d\nkey = id\n\n' "$i" $((i % 1000 + 1))
  done
} >"$TMP/large.conf"

# one_start NAME ARGS...: prints "ms<TAB>status line" for one start.
one_start() {
  local name=$1; shift
  local sock=$TMP/$name.sock out=$TMP/$name.notify
  rm -f "$out"; : >"$out"
  python3 "$LISTENER" "$sock" "$out" &
  local lpid=$!
  for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.05; done
  local t0
  t0=$(date +%s.%N)
  NOTIFY_SOCKET=$sock "$LIVEPOLLD" --plugin-dir "$PLUGINS" --admin-bind "ipc://$TMP/admin" \
    --client-bind "ipc://$TMP/client" "$@" >"$TMP/$name.log" 2>&1 &
  local dpid=$!
  PIDS+=("$dpid" "$lpid")
  for _ in $(seq 1 1200); do grep -q 'READY=1' "$out" && break; sleep 0.05; done
  local line
  line=$(grep -m1 'READY=1' "$out") || { echo "ready_run.sh: no READY=1 ($name): $(tail -3 "$TMP/$name.log")" >&2; kill "$dpid" "$lpid"; return 1; }
  kill "$dpid"; wait "$dpid" 2>/dev/null
  kill "$lpid"; wait "$lpid" 2>/dev/null
  awk -v t0="$t0" '{ printf "%.0f\t", ($1 - t0) * 1000 }' <<<"$line"
  sed 's/.*STATUS=\([^|]*\).*/\1/' <<<"$line"
}

report() {  # report NAME LABEL ARGS...
  local name=$1 label=$2; shift 2
  local ms=() status=""
  for ((t = 1; t <= TRIALS; t++)); do
    local r
    r=$(one_start "$name" "$@") || return 1
    ms+=("${r%%$'\t'*}")
    status=${r#*$'\t'}
  done
  local sorted
  sorted=$(printf '%s\n' "${ms[@]}" | sort -n)
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$TRIALS" \
    "$(awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}' <<<"$sorted")" "$(tail -1 <<<"$sorted")" "$status"
}

echo "Start -> READY=1, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg) at start"
echo
echo "| catalog | trials | p50 ms | max ms | STATUS= at READY |"
echo "|---|---|---|---|---|"
report demo "demo (4 queries)" --demo --demo-db "$TMP/demo.db"
report large "$QUERIES queries" --config "$TMP/large.conf"
