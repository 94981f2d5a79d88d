#!/usr/bin/env bash
# SIGHUP with many live topics: one parameterised query subscribed with RELOAD_TOPICS (10,000)
# distinct parameter values by an lp_bench load client, while lp_bench writer changes rows; then
#   1. a reload that changes the query's SQL: every topic's poller restarts at a new epoch, and
#      every stream must move to it with a snapshot;
#   2. a reload that changes nothing;
#   3. a reload that adds a query.
# Reports each reload's time on the event loop (the daemon's own log line: "configuration reloaded
# in X ms (Y ms applying)"; the loop serves nothing else meanwhile) and, from the load client,
# the updates lost: seq gaps within an epoch, epochs not begun by a snapshot, error updates, and
# the streams that moved to the new epoch (must be RELOAD_TOPICS).
#
#   tests/bench/reload_run.sh [BUILD_DIR]     (default /work/main/build-bench)
#
# Knobs: RELOAD_TOPICS (10000), RELOAD_CLIENTS (100; topics are spread over them),
# RELOAD_INTERVAL (5s: the query's interval), BENCH_KEEP (a folder to copy logs into).
set -euo pipefail

BUILD=${1:-/work/main/build-bench}
LIVEPOLLD=$BUILD/daemon/livepolld
LIVEPOLL=$BUILD/cmd/livepoll
LP_BENCH=$BUILD/tests/bench/lp_bench
PLUGINS=$BUILD/plugins/lib
TOPICS=${RELOAD_TOPICS:-10000}
CLIENTS=${RELOAD_CLIENTS:-100}
INTERVAL=${RELOAD_INTERVAL:-5s}
PER_CLIENT=$(((TOPICS + CLIENTS - 1) / CLIENTS))
for f in "$LIVEPOLLD" "$LIVEPOLL" "$LP_BENCH" "$PLUGINS/soci.so"; do
  [ -e "$f" ] || { echo "reload_run.sh: missing $f (build livepolld livepoll lp_bench in $BUILD)" >&2; exit 2; }
done

TMP=$(mktemp -d /tmp/lp-bench-reload.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${BENCH_KEEP:-}" ]; then mkdir -p "$BENCH_KEEP" && cp -r "$TMP"/. "$BENCH_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB=$TMP/bench.db
"$LP_BENCH" initdb --db "$DB" --rows "$TOPICS" >/dev/null
CLIENT=ipc://$TMP/client
ADMIN=ipc://$TMP/admin
CONF=$TMP/livepolld.conf
write_conf() {  # write_conf SQL [EXTRA]
  cat >"$CONF" <<CONF
[node]
name = bench-reload
client_bind = $CLIENT
admin_bind = $ADMIN
client_timeout = 30s
max_subscriptions_per_client = $((PER_CLIENT + 1))
[source.bench]
plugin = soci
dsn = sqlite3://db=$DB
max_concurrent = 2
[query.item]
source = bench
sql = $1
params = id
key = id
interval = $INTERVAL
${2:-}
CONF
}
write_conf "SELECT id, v FROM items WHERE id = :id"
"$LIVEPOLLD" --config "$CONF" --plugin-dir "$PLUGINS" 2>"$TMP/daemon.log" &
DPID=$!
PIDS+=("$DPID")
wait_until 10 "$LIVEPOLL" -c "$ADMIN" --timeout 200ms status >/dev/null 2>&1 ||
  { echo "reload_run.sh: livepolld did not start: $(tail -5 "$TMP/daemon.log")" >&2; exit 1; }

"$LP_BENCH" watchers --connect "$CLIENT" --clients "$CLIENTS" --topics-per-client "$PER_CLIENT" \
  --distinct-topics "$TOPICS" --query item --param 'id={t}' --seconds 100000 --json >"$TMP/watchers.json" &
BENCH=$!
PIDS+=("$BENCH")
all_in() { [ "$(info_value topics)" = "$TOPICS" ] && [ "$(subs_sum polls)" -ge "$TOPICS" ]; }
wait_until 120 all_in || { echo "reload_run.sh: the $TOPICS topics never all polled" >&2; exit 1; }
"$LP_BENCH" writer --db "$DB" --sql "UPDATE items SET v = v + 1 WHERE id % 97 = 0" --period-ms 500 \
  >/dev/null &
PIDS+=("$!")
sleep 3

# reload DESCRIPTION: sends SIGHUP, waits for the n-th "configuration reloaded" line, prints it.
reloads=0
reload() {
  reloads=$((reloads + 1))
  kill -HUP "$DPID"
  wait_until 60 eval '[ "$(grep -c "configuration reloaded" "$TMP/daemon.log")" -ge '$reloads' ]' ||
    { echo "reload_run.sh: reload $reloads ($1) not logged: $(grep SIGHUP "$TMP/daemon.log" | tail -2)" >&2; exit 1; }
  local line
  line=$(grep "configuration reloaded" "$TMP/daemon.log" | sed -n "${reloads}p")
  echo "| $1 | $(sed -E 's/.*reloaded in ([0-9.]+) ms \(([0-9.]+) ms applying\).*/\1 | \2/' <<<"$line") |"
}
echo "## SIGHUP with $TOPICS live topics ($CLIENTS clients, interval $INTERVAL)"
echo
echo "| reload | on the event loop (ms) | of which applying (ms) |"
echo "|---|---|---|"
write_conf "SELECT id, v, 2 AS generation FROM items WHERE id = :id"
reload "the query's SQL changed: $TOPICS pollers restarted"
moved() { [ "$(subs_sum epoch)" -ge $((TOPICS * 2)) ] && [ "$(lp_polls_at_2)" -ge "$TOPICS" ]; }
lp_polls_at_2() { "$LIVEPOLL" -c "$ADMIN" --header subs | awk -F'\t' 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "epoch") e = i; next} $e >= 2 {n++} END {print n + 0}'; }
wait_until 120 moved || echo "reload_run.sh: not every topic reached epoch 2: $(lp_polls_at_2)" >&2
reload "nothing changed"
write_conf "SELECT id, v, 2 AS generation FROM items WHERE id = :id" "[query.extra]
source = bench
sql = SELECT COUNT(*) AS n FROM items
interval = 1s"
reload "a query added"
sleep 2
kill -TERM "$BENCH"
wait "$BENCH" || true
w=$(cat "$TMP/watchers.json")
echo
echo "Load client over the run: $(j "$w" .subscriptions) subscriptions, $(j "$w" .snapshots) snapshots," \
  "$(j "$w" .diffs) diffs; streams moved to a new epoch: $(j "$w" .new_epochs) (of $TOPICS);" \
  "epochs not begun by a snapshot: $(j "$w" .epochs_without_snapshot); seq gaps: $(j "$w" .seq_gaps);" \
  "error updates: $(j "$w" .update_errors); errors: $(j "$w" .errors)."
s=$(stats_json)
echo "Daemon: config_reloads $(j "$s" .config_reloads), config_reload_failures $(j "$s" .config_reload_failures)," \
  "stream_gaps $(j "$s" .stream_gaps), updates_fenced $(j "$s" .updates_fenced), updates_dropped_slow_client $(j "$s" .updates_dropped_slow_client)."
