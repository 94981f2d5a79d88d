#!/usr/bin/env bash
# Gossip at scale: N real livepolld on 127.0.0.1 (free tcp ports for gossip and rpc, ipc:// for
# admin and clients, JSON logs), idle, measured from the outside; prints a markdown report.
#
#   tests/bench/gossip_run.sh [BUILD_DIR] [NODES...]     (default /work/main/build, 5 15 30)
#
# Needs livepolld, livepoll and the soci plugin built in BUILD_DIR. For each cluster size N, a
# fresh cluster (n1 the seed of every other node) and, in order:
#   idle. gossip bytes/s per node (`stats` gossip_bytes_sent: payload bytes published on the
#         node's gossip PUB, counted once per frame whatever the number of subscribers) and rpc
#         bytes/s per node, over GR_IDLE_SECS (30) s with nothing happening; the "member suspect"
#         and "member down" lines logged meanwhile (false suspicions: there should be none);
#   kill. kill -9 of a non-seed node, GR_KILL_TRIALS (3) trials: t0 = date just before the kill;
#         detection = the "ts" of the first / last survivor's "member down: NAME#INC (dead)";
#   join. the victim restarted (a new incarnation, new ports): from its launch until every
#         other node sees the new incarnation alive (a join visible everywhere).
# Benchmarks measure: no figure fails the run. Processes and the temp folder are cleaned up on any
# exit (GR_KEEP=DIR copies the logs there first). BENCH_SMOKE=1: 3 nodes, one trial, a 2 s window, to check the script (the test command
# runs it so); a figure that cannot be read fails the run (lib.sh: report).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # now_ms, free_port, report, smoke

BUILD=${1:-/work/main/build}
shift || true
LIVEPOLLD=$BUILD/daemon/livepolld
LIVEPOLL=$BUILD/cmd/livepoll
PLUGINS=$BUILD/plugins/lib
if smoke; then
  SIZES=(3) IDLE_SECS=2 KILL_TRIALS=1
else
  SIZES=(5 15 30)
  [ $# -gt 0 ] && SIZES=("$@")
  IDLE_SECS=${GR_IDLE_SECS:-30}
  KILL_TRIALS=${GR_KILL_TRIALS:-3}
fi

for f in "$LIVEPOLLD" "$LIVEPOLL" "$PLUGINS/soci.so"; do
  [ -e "$f" ] || { echo "gossip_run.sh: missing $f" >&2; exit 2; }
done
for t in jq awk; do command -v "$t" >/dev/null || { echo "gossip_run.sh: needs $t" >&2; exit 2; }; done

TMP=$(mktemp -d /tmp/lp-gossipbench.XXXXXX)
declare -A PID RPC
NODES=()
stop_all() {
  local n i alive
  for n in "${!PID[@]}"; do kill -TERM "${PID[$n]}" 2>/dev/null || true; done
  for i in $(seq 1 50); do
    alive=0
    for n in "${!PID[@]}"; do kill -0 "${PID[$n]}" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for n in "${!PID[@]}"; do kill -KILL "${PID[$n]}" 2>/dev/null || true; wait "${PID[$n]}" 2>/dev/null || true; done
  PID=()
}
cleanup() {
  stop_all
  if [ -n "${GR_KEEP:-}" ]; then mkdir -p "$GR_KEEP" && cp -r "$TMP"/. "$GR_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOTES=()
note() { NOTES+=("$*"); echo "gossip_run.sh: $*" >&2; }
say() { echo "gossip_run.sh: $*" >&2; }

cat >"$TMP/node.conf" <<EOF
[source.bench]
plugin = soci
dsn = sqlite3://db=$TMP/bench.db
EOF

# start_node NAME [SEED_RPC]: new ports every start; the log is appended to $TMP/NAME.log.
start_node() {
  local name=$1 seed=${2:-} g r
  g=$(free_port); r=$(free_port)
  while [[ $r == "$g" ]]; do r=$(free_port); done
  RPC[$name]=127.0.0.1:$r
  "$LIVEPOLLD" --config "$TMP/node.conf" --plugin-dir "$PLUGINS" --name "$name" \
    --admin-bind "ipc://$TMP/$name.admin" --client-bind "ipc://$TMP/$name.client" \
    --gossip-bind "tcp://127.0.0.1:$g" --rpc-bind "tcp://127.0.0.1:$r" ${seed:+--join "$seed"} \
    --log-format json >>"$TMP/$name.log" 2>&1 &
  PID[$name]=$!
}
lp() { local node=$1; shift; "$LIVEPOLL" -c "ipc://$TMP/$node.admin" --timeout 1s "$@"; }
# alive_count NODE [MEMBER INC]: how many members NODE sees alive; with MEMBER INC, 1 when NODE
# sees MEMBER alive at incarnation INC (0 otherwise).
alive_count() {
  lp "$1" members 2>/dev/null | awk -F'\t' -v m="${2:-}" -v i="${3:-}" \
    'm == "" && $5 == "alive" {n++} m != "" && $1 == m && $2 == i && $5 == "alive" {n++} END {print n + 0}'
}
# all_see_all: every node sees every node alive.
all_see_all() {
  local o
  for o in "${NODES[@]}"; do [ "$(alive_count "$o")" = "${#NODES[@]}" ] || return 1; done
}
# all_see MEMBER INC: every other node sees MEMBER alive at INC.
all_see() {
  local o
  for o in "${NODES[@]}"; do
    [[ $o == "$1" ]] && continue
    [ "$(alive_count "$o" "$1" "$2")" = 1 ] || return 1
  done
}
wait_ms() {  # wait_ms MILLISECONDS CMD...: 1 on timeout
  local deadline=$(($(now_ms) + $1)); shift
  until "$@"; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}
# stats_of NODE: NODE's own counters as "name value" lines (--node: no cluster-wide fan-out, so
# the benchmark's own reads add no rpc traffic to what it measures).
stats_of() {
  lp "$1" --json stats --node "$1" 2>/dev/null | jq -r --arg n "$1" 'select(.node == $n) | "\(.name) \(.value)"'
}
snapshot() {  # snapshot FILE: "node gossip_bytes rpc_bytes ms member_syncs_asked" per node
  local n st
  : >"$1"
  for n in "${NODES[@]}"; do
    st=$(stats_of "$n")
    awk -v n="$n" -v ms="$(now_ms)" -v cpu="$(cpu_ticks "${PID[$n]}")" '{v[$1] = $2}
      END {printf "%s %s %s %s %s %s\n", n, v["gossip_bytes_sent"], v["rpc_bytes_sent"], ms,
        ("member_syncs_asked" in v) ? v["member_syncs_asked"] : "na", cpu}' <<<"$st" >>"$1"
  done
}
# rates A B: "mean_gossip max_gossip mean_rpc syncs cpu" (B/s per node; member syncs asked in
# all, n/a from a build without the counter; the mean CPU % of one core per daemon).
rates() {
  join <(sort "$1") <(sort "$2") | awk -v hz="$CLK_TCK" '{s = ($9 - $4) / 1000; g = ($7 - $2) / s
    r = ($8 - $3) / s; c += 100 * ($11 - $6) / hz / s
    tg += g; tr += r; if (g > mg) mg = g; n++; if ($5 == "na" || $10 == "na") na = 1; else sy += $10 - $5}
    END {printf "%.0f %.0f %.0f %s %.1f\n", tg / n, mg, tr / n, na ? "n/a" : sy, c / n}'
}
offsets() { local n; for n in "${NODES[@]}"; do echo "$n $(stat -c %s "$TMP/$n.log")"; done >"$1"; }
# count_since OFFSETS TEXT: log lines holding TEXT written since the offsets, all nodes.
count_since() {
  local n off c=0
  while read -r n off; do
    c=$((c + $(tail -c +$((off + 1)) "$TMP/$n.log" | grep -cF "$2")))
  done <"$1"
  echo "$c"
}
# dead_since OFFSETS VICTIM: per survivor that logged "member down: VICTIM#... (dead)" since the
# offsets, the first such line's "ts" in epoch ms (grep, not jq: 30 logs are read every 200 ms).
dead_since() {
  local n off ts
  while read -r n off; do
    [[ $n == "$2" ]] && continue
    ts=$(tail -c +$((off + 1)) "$TMP/$n.log" | grep -F "\"member down: $2#" | grep -F '(dead)' |
      head -1 | sed -n 's/.*"ts":"\([^"]*\)".*/\1/p')
    [ -n "$ts" ] && echo "$ts"
  done <"$1"
}
to_ms() { local t; while read -r t; do date -d "$t" +%s%3N; done; }
pct() {  # pct P VALUES...: nearest-rank percentile
  local p=$1; shift
  printf '%s\n' "$@" | sort -n | awk -v p="$p" '{v[NR] = $1} END {if (NR == 0) {print "n/a"; exit}
    k = int(p / 100 * NR); if (k < p / 100 * NR) k++; if (k < 1) k = 1; print v[k]}'
}

ROWS=()
for N in "${SIZES[@]}"; do
  NODES=()
  for i in $(seq 1 "$N"); do NODES+=("n$i"); done
  rm -f "$TMP"/n*.log
  say "$N nodes: starting"
  start_node n1
  wait_ms 10000 lp n1 status >/dev/null || { note "$N nodes: n1 did not start"; stop_all; continue; }
  # Staggered by 100 ms: 30 daemons starting at once on 2 shared cores starve one another past
  # dead_after, which measures the machine, not the gossip.
  for n in "${NODES[@]:1}"; do start_node "$n" "${RPC[n1]}"; sleep 0.1; done
  t_form=$(now_ms)
  if ! wait_ms $((20000 + 1000 * N)) all_see_all; then
    note "$N nodes: the cluster did not form"; stop_all; continue
  fi
  say "$N nodes: formed in $(($(now_ms) - t_form)) ms"
  sleep 2

  offsets "$TMP/off"; snapshot "$TMP/b0"
  sleep "$IDLE_SECS"
  snapshot "$TMP/b1"
  read -r G_MEAN G_MAX R_MEAN SYNCS CPU < <(rates "$TMP/b0" "$TMP/b1")
  FALSE=$(count_since "$TMP/off" '"member suspect')
  FALSE_DOWN=$(count_since "$TMP/off" '"member down')
  say "$N nodes: idle gossip $G_MEAN B/s per node (max $G_MAX), rpc $R_MEAN B/s; CPU $CPU% per daemon; $SYNCS member syncs asked; $FALSE suspect, $FALSE_DOWN down lines"

  K_FIRST=() K_ALL=() J_ALL=()
  for t in $(seq 1 "$KILL_TRIALS"); do
    v=${NODES[$((1 + (t - 1) % (N - 1)))]}
    offsets "$TMP/offk"
    t0=$(($(date +%s%N) / 1000000))
    kill -9 "${PID[$v]}"; { wait "${PID[$v]}"; } 2>/dev/null
    got=0
    deadline=$((t0 + 15000))
    while [ "$(now_ms)" -lt $deadline ]; do
      dead_since "$TMP/offk" "$v" >"$TMP/det"
      got=$(wc -l <"$TMP/det")
      [ "$got" -ge $((N - 1)) ] && break
      sleep 0.2
    done
    if [ "$got" -ge $((N - 1)) ]; then
      to_ms <"$TMP/det" | sort -n >"$TMP/detms"
      K_FIRST+=($(($(head -1 "$TMP/detms") - t0)))
      K_ALL+=($(($(tail -1 "$TMP/detms") - t0)))
    else
      note "$N nodes, kill $t ($v): only $got of $((N - 1)) survivors logged it dead within 15 s"
    fi
    others=$(while read -r n off; do tail -c +$((off + 1)) "$TMP/$n.log" | grep -E '"member (suspect|down): ' | grep -vF "$v#" | sed "s/^/$n: /"; done <"$TMP/offk" | head -3 | tr '\n' ';')
    [ -z "$others" ] || note "$N nodes, kill $t: other members suspected/down: $others"
    # The restart: a new incarnation joining through n1, until every node sees it alive.
    tj=$(now_ms)
    start_node "$v" "${RPC[n1]}"
    wait_ms 20000 lp "$v" status >/dev/null
    inc=$(lp "$v" members 2>/dev/null | awk -F'\t' -v m="$v" '$1 == m {print $2}')
    if [ -n "$inc" ] && wait_ms 20000 all_see "$v" "$inc"; then
      J_ALL+=($(($(now_ms) - tj)))
    else
      note "$N nodes, kill $t: the restarted $v (incarnation ${inc:-?}) not alive everywhere in 20 s"
    fi
    say "$N nodes, kill $t ($v): dead on first $([ ${#K_FIRST[@]} -gt 0 ] && echo "${K_FIRST[-1]}" || echo "?") ms, all $([ ${#K_ALL[@]} -gt 0 ] && echo "${K_ALL[-1]}" || echo "?") ms; rejoined everywhere $([ ${#J_ALL[@]} -gt 0 ] && echo "${J_ALL[-1]}" || echo "?") ms"
    wait_ms 10000 all_see_all || true
  done
  ROWS+=("| $N | $G_MEAN B/s (max $G_MAX) | $R_MEAN B/s | $CPU % | $SYNCS | $FALSE suspect, $FALSE_DOWN down | p50 $(pct 50 "${K_FIRST[@]}") ms, max $(pct 100 "${K_FIRST[@]}") ms | p50 $(pct 50 "${K_ALL[@]}") ms, max $(pct 100 "${K_ALL[@]}") ms | p50 $(pct 50 "${J_ALL[@]}") ms, max $(pct 100 "${J_ALL[@]}") ms |")
  stop_all
done

report <<EOF

## livepoll gossip at scale ($(date -u +%Y-%m-%dT%H:%MZ))

Machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at the end; build: $BUILD.
Every node on 127.0.0.1 with the default timings (gossip_interval 100 ms, suspect_after 500 ms,
dead_after 1 s). Idle window ${IDLE_SECS} s; $KILL_TRIALS kill -9 trials per size. Gossip bytes are
the payload published on a node's PUB (once per frame, whatever the number of subscribers).

| nodes | idle gossip per node | idle rpc per node | CPU per daemon (one core) | member syncs asked (idle window, all nodes) | false suspicions (idle window) | kill -9 → first survivor logs dead | kill -9 → all survivors | restart → new incarnation alive everywhere |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
$(printf '%s\n' "${ROWS[@]}")
EOF
rc=$?
if [ ${#NOTES[@]} -gt 0 ]; then
  echo
  echo "Notes:"
  printf -- '- %s\n' "${NOTES[@]}"
fi
[ ${#ROWS[@]} -eq ${#SIZES[@]} ] || rc=1
exit $rc
