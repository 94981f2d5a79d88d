#!/usr/bin/env bash
# Cold start benchmark (issue 13): five real livepolld on 127.0.0.1 started at once, each naming
# the other four as seeds (`join`), as after a power cut or a deploy that restarts everything.
# Prints a markdown report: the time until every node sees all five alive (one cluster).
#
#   tests/bench/coldstart_run.sh [BUILD_DIR] [TRIALS]      (defaults: /work/main/build, 10)
#
# Needs livepolld, livepoll and the soci plugin built in BUILD_DIR. Each trial: free ports planned
# for all five first; t0 = date +%s%N just before the five are launched (one after another in the
# background, a few ms apart); each node's JSON log gives, in ms since t0 ("ts" of the line):
#   start  its "a member: serving as a cluster of one" line (the process is up, its sockets bound);
#   formed its fourth "member up" line (it then believes every other node alive).
# One cluster = the last node's `formed`; it is confirmed by `livepoll members` on every node (five
# alive) before the trial counts. Reported: one cluster from t0 (p50, max), the last start from t0
# (the processes' own start-up), and the merge itself: one cluster minus the last start. Processes
# and the temp folder are cleaned up on any exit; CSB_KEEP=DIR copies the logs there first.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # free_port

BUILD=${1:-/work/main/build}
TRIALS=${2:-10}
smoke && TRIALS=1  # BENCH_SMOKE=1: one trial, to check the script
LIVEPOLLD=$BUILD/daemon/livepolld
LIVEPOLL=$BUILD/cmd/livepoll
PLUGINS=$BUILD/plugins/lib
NODES=(n1 n2 n3 n4 n5)
for f in "$LIVEPOLLD" "$LIVEPOLL" "$PLUGINS/soci.so"; do
  [ -e "$f" ] || { echo "coldstart_run.sh: missing $f" >&2; exit 2; }
done
command -v jq >/dev/null || { echo "coldstart_run.sh: needs jq" >&2; exit 2; }

TMP=$(mktemp -d /tmp/lp-csbench.XXXXXX)
declare -A PID RPC GOSSIP
stop_all() {
  local n
  for n in "${!PID[@]}"; do kill -TERM "${PID[$n]}" 2>/dev/null || true; done
  for n in "${!PID[@]}"; do wait "${PID[$n]}" 2>/dev/null || true; done
  PID=()
}
cleanup() {
  stop_all
  if [ -n "${CSB_KEEP:-}" ]; then mkdir -p "$CSB_KEEP" && cp -r "$TMP"/. "$CSB_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sqlite3 "$TMP/bench.db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'x');"
cat >"$TMP/node.conf" <<EOF
[source.db]
plugin = soci
dsn = sqlite3://db=$TMP/bench.db
[query.t]
source = db
sql = SELECT id, v FROM t
key = id
interval = 1s
EOF

lp() { local node=$1; shift; "$LIVEPOLL" -c "ipc://$TMP/$node.admin" --timeout 500ms "$@"; }
five_alive() {
  local n
  for n in "${NODES[@]}"; do
    [ "$(lp "$n" members --state alive 2>/dev/null | wc -l)" = 5 ] || return 1
  done
}
# log_ms NAME: "ms-since-epoch<TAB>msg" for every JSON line of NAME's log.
log_ms() {
  jq -Rr 'fromjson? // empty | select(.ts) |
    "\((.ts | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000 + (.ts | capture("\\.(?<ms>[0-9]+)Z$").ms | tonumber))\t\(.msg)"' \
    "$TMP/$1.log"
}
# pct P FILE: the nearest-rank P-th percentile of the numbers in FILE.
pct() { sort -n "$2" | awk -v p="$1" '{v[NR] = $1} END {k = int((p * NR + 99) / 100); if (k < 1) k = 1; print v[k]}'; }

: >"$TMP/formed.txt"
: >"$TMP/started.txt"
: >"$TMP/merge.txt"
failed=0
for trial in $(seq 1 "$TRIALS"); do
  used=" "
  for n in "${NODES[@]}"; do
    g=$(free_port); r=$(free_port)
    while [[ $used == *" $g "* || $used == *" $r "* || $g == "$r" ]]; do g=$(free_port); r=$(free_port); done
    used+="$g $r "
    GOSSIP[$n]=$g
    RPC[$n]=127.0.0.1:$r
    rm -f "$TMP/$n.log"
  done
  t0=$(($(date +%s%N) / 1000000))
  for n in "${NODES[@]}"; do
    seeds=""
    for m in "${NODES[@]}"; do [ "$m" = "$n" ] || seeds+="${seeds:+,}${RPC[$m]}"; done
    "$LIVEPOLLD" --config "$TMP/node.conf" --plugin-dir "$PLUGINS" --name "$n" \
      --admin-bind "ipc://$TMP/$n.admin" --client-bind "ipc://$TMP/$n.client" \
      --gossip-bind "tcp://127.0.0.1:${GOSSIP[$n]}" --rpc-bind "tcp://${RPC[$n]}" \
      --join "$seeds" --log-format json >>"$TMP/$n.log" 2>&1 &
    PID[$n]=$!
  done
  deadline=$((SECONDS + 30))
  formed_ok=1
  until five_alive; do
    if ((SECONDS >= deadline)); then
      echo "coldstart_run.sh: trial $trial: no single cluster within 30 s" >&2
      for n in "${NODES[@]}"; do echo "$n: $(lp "$n" members 2>&1 | cut -f1,5 | tr '\t\n' ' ;')" >&2; done
      failed=$((failed + 1))
      formed_ok=0
      break
    fi
    sleep 0.05
  done
  if ((formed_ok)); then
    last_start=0 formed=0 complete=1
    for n in "${NODES[@]}"; do
      s=$(log_ms "$n" | awk -F'\t' '$2 ~ /^a member:/ {print $1; exit}')
      f=$(log_ms "$n" | awk -F'\t' '$2 ~ /^member up:/ {c++; if (c == 4) {print $1; exit}}')
      if [ -z "$s" ] || [ -z "$f" ]; then
        echo "coldstart_run.sh: trial $trial: $n's log lacks its start or its fourth member up" >&2
        complete=0
        continue
      fi
      ((s - t0 > last_start)) && last_start=$((s - t0))
      ((f - t0 > formed)) && formed=$((f - t0))
    done
    if ((complete)); then
      echo "$formed" >>"$TMP/formed.txt"
      echo "$last_start" >>"$TMP/started.txt"
      echo "$((formed - last_start))" >>"$TMP/merge.txt"
      echo "coldstart_run.sh: trial $trial: one cluster at $formed ms (last start $last_start ms)" >&2
    else
      failed=$((failed + 1))
    fi
  fi
  stop_all
done

n=$(wc -l <"$TMP/formed.txt")
echo "## Cold start: 5 nodes started at once, each naming the other four ($n of $TRIALS trials formed one cluster)"
echo
echo "| what | p50 | max |"
echo "| --- | --- | --- |"
if ((n > 0)); then
  echo "| launch → one cluster (every node sees five alive) | $(pct 50 "$TMP/formed.txt") ms | $(pct 100 "$TMP/formed.txt") ms |"
  echo "| launch → the last node up (its sockets bound) | $(pct 50 "$TMP/started.txt") ms | $(pct 100 "$TMP/started.txt") ms |"
  echo "| the last node up → one cluster | $(pct 50 "$TMP/merge.txt") ms | $(pct 100 "$TMP/merge.txt") ms |"
fi
echo
echo "Times in ms from the daemons' JSON log \"ts\" minus \`date\` just before the launch; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)."
((failed == 0))
