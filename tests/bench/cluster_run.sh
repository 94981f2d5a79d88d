#!/usr/bin/env bash
# livepolld cluster benchmarks: five real livepolld on 127.0.0.1 (free tcp ports for gossip and rpc,
# ipc:// for admin and clients, JSON logs), measured from the outside; prints a markdown report.
#
#   tests/bench/cluster_run.sh [BUILD_DIR]          (default /work/main/build-clbench)
#
# Needs livepolld, livepoll, lp_bench and the soci plugin built in BUILD_DIR. Scenarios, in order:
#   5i. gossip/rpc bytes per second per node, idle 5-node cluster (over the window of 3a);
#   3a. false suspicions, 5 nodes idle for CLB_IDLE_SECS (60) s, no extra load (baseline);
#   3b. the same while 2 busy loops (sh -c 'while :; do :; done') load both cores;
#   1.  kill -9 of a non-seed node (n2..n5 in turn), CLB_KILL_TRIALS (20) trials: t0 = date +%s%N
#       just before the kill; detection = the "ts" of the first / last survivor's
#       "member down: NAME#INC (dead)" log line; the node is then restarted (a new incarnation) and
#       every node must see it alive before the next trial;
#   2.  SIGSTOP of a non-seed node, CLB_STOP_TRIALS (5) trials, same method; then SIGCONT and a wait
#       of up to 15 s for every survivor to see it alive again (refute/rejoin); if it does not come
#       back it is killed and restarted (and that is reported);
#   4a. one join's propagation: `livepoll watch t` against n1, until n5's `subs` counts it
#       (CLB_JOIN_TRIALS, 5), and the leave (SIGTERM of the watch) until n5 counts 0;
#   4b. 10,000 joins on n1: lp_bench watchers, 100 clients x 100 topics over 100 distinct topics
#       (every client joins every topic: 10,000 (topic, subscriber) presence entries), until every
#       node's `subs` sums cluster_subscribers to 10,000 (one poller per node, every ~20 ms);
#   5l. gossip/rpc bytes per second per node while the 10,000 entries are held (CLB_BYTES_SECS, 10).
# Benchmarks measure: no timing bound fails the run. Processes and the temp folder are cleaned up
# on any exit. CLB_KEEP=DIR copies the logs there first. BENCH_SMOKE=1: one trial of each and
# seconds-long windows, to check the script (the test command runs it so); a figure that cannot
# be read fails the run (lib.sh: report).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # now_ms, cpu_ticks, CLK_TCK, free_port

BUILD=${1:-/work/main/build-clbench}
LIVEPOLLD=$BUILD/daemon/livepolld
LIVEPOLL=$BUILD/cmd/livepoll
LP_BENCH=$BUILD/tests/bench/lp_bench
PLUGINS=$BUILD/plugins/lib
if smoke; then
  IDLE_SECS=2 KILL_TRIALS=1 STOP_TRIALS=1 JOIN_TRIALS=1 BYTES_SECS=2 JOIN_CLIENTS=10 JOIN_TOPICS=10
else
  IDLE_SECS=${CLB_IDLE_SECS:-60}
  KILL_TRIALS=${CLB_KILL_TRIALS:-20}
  STOP_TRIALS=${CLB_STOP_TRIALS:-5}
  JOIN_TRIALS=${CLB_JOIN_TRIALS:-5}
  BYTES_SECS=${CLB_BYTES_SECS:-10}
  JOIN_CLIENTS=100 JOIN_TOPICS=100
fi
NODES=(n1 n2 n3 n4 n5)
VICTIMS=(n2 n3 n4 n5)

for f in "$LIVEPOLLD" "$LIVEPOLL" "$LP_BENCH" "$PLUGINS/soci.so"; do
  [ -e "$f" ] || { echo "cluster_run.sh: missing $f" >&2; exit 2; }
done
for t in jq awk; do command -v "$t" >/dev/null || { echo "cluster_run.sh: needs $t" >&2; exit 2; }; done

TMP=$(mktemp -d /tmp/lp-clbench.XXXXXX)
declare -A PID RPC GOSSIP
AUX=()  # other processes this script started (busy loops, watchers, lp_bench, pollers)
cleanup() {
  local p n
  for p in "${AUX[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in "${!PID[@]}"; do
    kill -CONT "${PID[$n]}" 2>/dev/null || true
    kill -TERM "${PID[$n]}" 2>/dev/null || true
  done
  for p in "${AUX[@]}"; do wait "$p" 2>/dev/null || true; done
  local i
  for i in $(seq 1 50); do
    local alive=0
    for n in "${!PID[@]}"; do kill -0 "${PID[$n]}" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for n in "${!PID[@]}"; do kill -KILL "${PID[$n]}" 2>/dev/null || true; wait "${PID[$n]}" 2>/dev/null || true; done
  if [ -n "${CLB_KEEP:-}" ]; then mkdir -p "$CLB_KEEP" && cp -r "$TMP"/. "$CLB_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

NOTES=()
note() { NOTES+=("$*"); echo "cluster_run.sh: $*" >&2; }
say() { echo "cluster_run.sh: $*" >&2; }

DB=$TMP/bench.db
"$LP_BENCH" initdb --db "$DB" --rows 1000 >/dev/null || { echo "initdb failed" >&2; exit 1; }
cat >"$TMP/node.conf" <<EOF
[node]
client_timeout = 10s
linger = 5s

[source.bench]
plugin = soci
dsn = sqlite3://db=$DB
max_concurrent = 4

[query.t]
source = bench
sql = SELECT id, v FROM items WHERE id = 1
key = id
interval = 1s

[query.mem]
source = bench
sql = SELECT id, v FROM items WHERE id = :id
params = id
key = id
interval = 1s
EOF

# start_node NAME [SEED_RPC]: new ports every start; the log is appended to $TMP/NAME.log.
start_node() {
  local name=$1 seed=${2:-} g r
  g=$(free_port); r=$(free_port)
  while [[ $r == "$g" ]]; do r=$(free_port); done
  RPC[$name]=127.0.0.1:$r
  GOSSIP[$name]=127.0.0.1:$g
  "$LIVEPOLLD" --config "$TMP/node.conf" --plugin-dir "$PLUGINS" --name "$name" \
    --admin-bind "ipc://$TMP/$name.admin" --client-bind "ipc://$TMP/$name.client" \
    --gossip-bind "tcp://127.0.0.1:$g" --rpc-bind "tcp://127.0.0.1:$r" ${seed:+--join "$seed"} \
    --log-format json >>"$TMP/$name.log" 2>&1 &
  PID[$name]=$!
}
lp() { local node=$1; shift; "$LIVEPOLL" -c "ipc://$TMP/$node.admin" --timeout 500ms "$@"; }
# members_of NODE: "name incarnation state" lines as NODE sees them.
members_of() { lp "$1" members 2>/dev/null | awk -F'\t' '{print $1, $2, $5}'; }
state_of() { members_of "$1" | awk -v m="$2" '$1 == m {print $3}'; }
incarnation_of() { members_of "$1" | awk -v m="$2" '$1 == m {print $2}'; }
# all_alive: every node sees every node alive.
all_alive() {
  local o m out
  for o in "${NODES[@]}"; do
    out=$(members_of "$o") || return 1
    for m in "${NODES[@]}"; do
      [[ $(awk -v m="$m" '$1 == m {print $3}' <<<"$out") == alive ]] || return 1
    done
  done
}
# all_see_alive_inc MEMBER INC: every other node sees MEMBER alive with incarnation INC.
all_see_alive_inc() {
  local m=$1 inc=$2 o
  for o in "${NODES[@]}"; do
    [[ $o == "$m" ]] && continue
    [[ $(members_of "$o" | awk -v m="$m" '$1 == m {print $3 "/" $2}') == "alive/$inc" ]] || return 1
  done
}
wait_until() {  # wait_until SECONDS CMD...: 1 on timeout
  local deadline=$(($(now_ms) + $1 * 1000)); shift
  until "$@"; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}
logsize() { stat -c %s "$TMP/$1.log"; }
# log_since NODE OFFSET: the log's JSON lines after byte OFFSET, as "epoch_ms<TAB>msg".
log_since() {
  tail -c +$(($2 + 1)) "$TMP/$1.log" | jq -Rr 'fromjson? // empty | select(.ts) |
    "\((.ts | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000 + (.ts | capture("\\.(?<ms>[0-9]+)Z$").ms | tonumber))\t\(.msg)"'
}
# pct P VALUES...: nearest-rank percentile.
pct() {
  local p=$1; shift
  printf '%s\n' "$@" | sort -n | awk -v p="$p" '{v[NR] = $1} END {if (NR == 0) {print "n/a"; exit}
    k = int(p / 100 * NR); if (k < p / 100 * NR) k++; if (k < 1) k = 1; print v[k]}'
}
# stat_of NODE COUNTER: NODE's own value of a `stats` counter (a line per node and counter).
stat_of() {
  lp "$1" --json stats 2>/dev/null |
    jq -r --arg n "$1" --arg k "$2" 'select(.node == $n and .name == $k) | .value'
}
# bytes_snapshot FILE: "node gossip_bytes_sent rpc_bytes_sent gossip_frames_sent cpu_ticks ms" per node.
bytes_snapshot() {
  local n
  : >"$1"
  for n in "${NODES[@]}"; do
    echo "$n $(stat_of "$n" gossip_bytes_sent) $(stat_of "$n" rpc_bytes_sent) $(stat_of "$n" gossip_frames_sent) $(cpu_ticks "${PID[$n]}") $(now_ms)" >>"$1"
  done
}
# bytes_rates A B: per node "gossip B/s, rpc B/s, gossip frames/s, CPU %" and the mean gossip B/s.
bytes_rates() {
  join "$1" "$2" | awk -v hz="$CLK_TCK" '{s = ($11 - $6) / 1000; g = ($7 - $2) / s; r = ($8 - $3) / s
    f = ($9 - $4) / s; c = 100 * ($10 - $5) / hz / s; tg += g; tr += r; n++
    printf "%s: %.0f B/s gossip (%.1f frames/s), %.0f B/s rpc, CPU %.1f%%; ", $1, g, f, r, c}
    END {printf "|mean gossip %.0f B/s, mean rpc %.0f B/s per node", tg / n, tr / n}'
}
# count_events OFFSETS_FILE: "suspect down" lines across all logs since the recorded offsets.
count_events() {
  local n off s=0 d=0 a b
  while read -r n off; do
    a=$(log_since "$n" "$off" | grep -c $'\tmember suspect: ' || true)
    b=$(log_since "$n" "$off" | grep -c $'\tmember down: ' || true)
    s=$((s + a)); d=$((d + b))
  done <"$1"
  echo "$s $d"
}
offsets() { local n; for n in "${NODES[@]}"; do echo "$n $(logsize "$n")"; done >"$1"; }
events_detail() {
  local n off
  while read -r n off; do log_since "$n" "$off" | grep -E $'\tmember (suspect|down|alive again)' | sed "s/^/$n: /"; done <"$1"
}

# ---- machine and load ----------------------------------------------------------------------------
NPROC=$(nproc)
MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM_GB=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
KERNEL=$(uname -r)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
TOP_START=$(ps -eo pcpu=,comm= --sort=-pcpu | head -5 | awk '{printf "%s %s%%; ", $2, $1}')
# CPU busy over 2 s before we start, from /proc/stat.
cpu_busy_pct() {
  local a b
  a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat); sleep 2
  b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
  echo "$a $b" | awk '{printf "%.0f", 100 * ($3 - $1) / ($4 - $2)}'
}
BUSY_START=$(cpu_busy_pct)
say "machine: $NPROC CPUs, $MODEL; load $LOAD_START; CPU busy $BUSY_START% before start"

# ---- the cluster ---------------------------------------------------------------------------------
start_node n1
wait_until 10 lp n1 status >/dev/null || { cat "$TMP/n1.log" >&2; echo "n1 did not start" >&2; exit 1; }
for n in n2 n3 n4 n5; do start_node "$n" "${RPC[n1]}"; done
wait_until 20 all_alive || { for n in "${NODES[@]}"; do tail -5 "$TMP/$n.log" >&2; done; echo "cluster did not form" >&2; exit 1; }
say "5-node cluster formed"
sleep 2

# ---- 3a + 5i. idle baseline ----------------------------------------------------------------------
say "3a: idle ${IDLE_SECS}s, no load"
offsets "$TMP/off3a"; bytes_snapshot "$TMP/b0"
sleep "$IDLE_SECS"
bytes_snapshot "$TMP/b1"; read -r S3A D3A < <(count_events "$TMP/off3a")
IDLE_RATES=$(bytes_rates "$TMP/b0" "$TMP/b1")
[ "$S3A$D3A" = 00 ] || note "3a (no load): $S3A suspect / $D3A down lines: $(events_detail "$TMP/off3a" | head -10 | tr '\n' ';')"

# ---- 3b. two busy loops --------------------------------------------------------------------------
say "3b: idle ${IDLE_SECS}s with 2 busy loops"
sh -c 'while :; do :; done' & BUSY1=$!; AUX+=("$BUSY1")
sh -c 'while :; do :; done' & BUSY2=$!; AUX+=("$BUSY2")
sleep 1
offsets "$TMP/off3b"; bytes_snapshot "$TMP/b2"
sleep "$IDLE_SECS"
bytes_snapshot "$TMP/b3"; read -r S3B D3B < <(count_events "$TMP/off3b")
LOAD_BUSY=$(cut -d' ' -f1-3 /proc/loadavg)
BUSY_RATES=$(bytes_rates "$TMP/b2" "$TMP/b3")
kill "$BUSY1" "$BUSY2" 2>/dev/null; wait "$BUSY1" "$BUSY2" 2>/dev/null
[ "$S3B$D3B" = 00 ] || note "3b (2 busy loops): $S3B suspect / $D3B down lines: $(events_detail "$TMP/off3b" | head -10 | tr '\n' ';')"
if ! wait_until 15 all_alive; then note "3b: not all alive 15 s after the load stopped"; fi

# ---- 1 + 2. detection ----------------------------------------------------------------------------
# detect VICTIM T0_MS OFFSETS_FILE TIMEOUT_S: waits for every survivor's down line; prints
# "first last first_suspect n_detected" (latencies in ms from T0).
detect() {
  local v=$1 t0=$2 offs=$3 to=$4 deadline n off got
  deadline=$(($(now_ms) + to * 1000))
  while :; do
    got=0
    : >"$TMP/det"
    while read -r n off; do
      [[ $n == "$v" ]] && continue
      local line
      line=$(log_since "$n" "$off" | awk -F'\t' -v p="member down: $v#" 'index($2, p) == 1 && $2 ~ /\(dead\)$/ {print $1; exit}')
      [ -n "$line" ] && { got=$((got + 1)); echo "$line" >>"$TMP/det"; }
    done <"$offs"
    { [ $got -ge $((${#NODES[@]} - 1)) ] || [ "$(now_ms)" -ge $deadline ]; } && break
    sleep 0.1
  done
  local sus
  sus=$(while read -r n off; do [[ $n == "$v" ]] || log_since "$n" "$off" |
    awk -F'\t' -v p="member suspect: $v#" 'index($2, p) == 1 {print $1; exit}'; done <"$offs" | sort -n | head -1)
  if [ "$got" -gt 0 ]; then
    sort -n "$TMP/det" | awk -v t0="$t0" -v s="${sus:-}" -v g="$got" \
      'NR == 1 {f = $1} {l = $1} END {printf "%d %d %s %d\n", f - t0, l - t0, (s == "" ? "n/a" : s - t0), g}'
  else
    echo "n/a n/a n/a 0"
  fi
}
restart_and_wait() {  # restart_and_wait NAME OLD_INC: new incarnation alive everywhere
  local v=$1 old=$2 inc
  { wait "${PID[$v]}"; } 2>/dev/null
  start_node "$v" "${RPC[n1]}"
  if ! wait_until 20 lp "$v" status >/dev/null 2>&1; then note "$v did not answer 20 s after restart"; return 1; fi
  inc=$(lp "$v" status 2>/dev/null | awk -F'\t' '$1 == "incarnation" {print $2}')
  [ -n "$inc" ] || inc=$(incarnation_of "$v" "$v")
  [ "$inc" != "$old" ] || note "$v restarted with the same incarnation $inc"
  wait_until 20 all_see_alive_inc "$v" "$inc" || { note "$v (incarnation $inc) not alive everywhere 20 s after restart: $(for o in "${NODES[@]}"; do echo -n "$o:$(state_of "$o" "$v")/$(incarnation_of "$o" "$v") "; done)"; return 1; }
  wait_until 20 all_alive || note "not all alive 20 s after restarting $v"
}

say "1: kill -9, $KILL_TRIALS trials"
K_FIRST=(); K_LAST=(); K_SUS=(); K_RESTART=()
for i in $(seq 1 "$KILL_TRIALS"); do
  v=${VICTIMS[$(((i - 1) % ${#VICTIMS[@]}))]}
  old=$(incarnation_of n1 "$v")
  offsets "$TMP/offk"
  t0=$(($(date +%s%N) / 1000000))
  kill -9 "${PID[$v]}"
  { wait "${PID[$v]}"; } 2>/dev/null
  read -r f l s g < <(detect "$v" "$t0" "$TMP/offk" 15)
  if [ "$g" -lt 4 ]; then note "kill trial $i ($v): only $g of 4 survivors logged it dead within 15 s"; fi
  [ "$f" != n/a ] && K_FIRST+=("$f")
  [ "$g" -ge 4 ] && K_LAST+=("$l")
  [ "$s" != n/a ] && K_SUS+=("$s")
  tr0=$(now_ms)
  restart_and_wait "$v" "$old" && K_RESTART+=($(($(now_ms) - tr0)))
  say "  kill $i $v: first $f ms, all $l ms, first suspect $s ms"
  # Any down/suspect of a node other than the victim is a false one.
  extra=$(while read -r n off; do log_since "$n" "$off" | awk -F'\t' -v v="$v#" '$2 ~ /^member (suspect|down): / && index($2, v) == 0 {print $2}' | sed "s/^/$n: /"; done <"$TMP/offk")
  [ -z "$extra" ] || note "kill trial $i ($v): other members suspected/down: $(echo "$extra" | head -5 | tr '\n' ';')"
done

say "2: SIGSTOP, $STOP_TRIALS trials"
S_FIRST=(); S_LAST=(); S_SUS=(); S_BACK=(); S_HOW=()
for i in $(seq 1 "$STOP_TRIALS"); do
  v=${VICTIMS[$(((i - 1) % ${#VICTIMS[@]}))]}
  old=$(incarnation_of n1 "$v")
  offsets "$TMP/offs"
  t0=$(($(date +%s%N) / 1000000))
  kill -STOP "${PID[$v]}"
  read -r f l s g < <(detect "$v" "$t0" "$TMP/offs" 15)
  [ "$g" -lt 4 ] && note "stop trial $i ($v): only $g of 4 survivors logged it dead within 15 s"
  [ "$f" != n/a ] && S_FIRST+=("$f")
  [ "$g" -ge 4 ] && S_LAST+=("$l")
  [ "$s" != n/a ] && S_SUS+=("$s")
  vo=$(logsize "$v")
  tc=$(now_ms)
  kill -CONT "${PID[$v]}"
  if wait_until 15 all_alive; then
    back=$(($(now_ms) - tc))
    S_BACK+=("$back")
    inc=$(incarnation_of n1 "$v")
    how="back alive in $back ms after SIGCONT, incarnation $([ "$inc" = "$old" ] && echo same || echo "new ($old -> $inc)")"
  else
    how="NOT alive everywhere 15 s after SIGCONT ($(for o in "${NODES[@]}"; do echo -n "$o sees $(state_of "$o" "$v") "; done)); own log: $(log_since "$v" "$vo" | tail -4 | cut -f2 | tr '\n' ';'); killed and restarted"
    note "stop trial $i ($v): $how"
    { kill -9 "${PID[$v]}"; } 2>/dev/null
    restart_and_wait "$v" "$old"
  fi
  S_HOW+=("trial $i $v: first $f ms, all $l ms; $how; own log after SIGCONT: $(log_since "$v" "$vo" | cut -f2 | grep -v '^$' | head -4 | tr '\n' ';')")
  say "  stop $i $v: first $f ms, all $l ms; $how"
  wait_until 10 all_alive || true
  sleep 1
done

# ---- 4a. one join's propagation ------------------------------------------------------------------
# cs_sum NODE [TOPIC]: cluster_subscribers (and the local subscribers) summed over topics.
cs_sum() {
  lp "$1" --header subs 2>/dev/null | awk -F'\t' -v t="${2:-}" '
    NR == 1 {for (i = 1; i <= NF; i++) {if ($i == "cluster_subscribers") c = i; if ($i == "subscribers") s = i}; next}
    t == "" || $1 == t {cs += $c; ls += $s} END {print cs + 0, ls + 0}'
}
say "4a: one join, $JOIN_TRIALS trials"
J_N1=(); J_N5=(); J_LEAVE=()
for i in $(seq 1 "$JOIN_TRIALS"); do
  t0=$(now_ms)
  "$LIVEPOLL" -c "ipc://$TMP/n1.admin" watch t >/dev/null 2>&1 &
  W=$!; AUX+=("$W")
  n1t=""; n5t=""
  deadline=$((t0 + 15000))
  while [ -z "$n5t" ] && [ "$(now_ms)" -lt $deadline ]; do
    if [ -z "$n1t" ]; then read -r c _ < <(cs_sum n1 t); [ "$c" -ge 1 ] && n1t=$(now_ms); fi
    read -r c _ < <(cs_sum n5 t); [ "$c" -ge 1 ] && n5t=$(now_ms)
  done
  [ -z "$n1t" ] && n1t=$n5t
  if [ -n "$n5t" ]; then J_N1+=($((n1t - t0))); J_N5+=($((n5t - t0))); J_N15+=($((n5t - n1t))); else note "4a trial $i: n5 never counted the watcher in 15 s"; fi
  tl=$(now_ms)
  kill -TERM "$W" 2>/dev/null; wait "$W" 2>/dev/null
  if wait_until 15 sh -c "[ \"\$('$LIVEPOLL' -c ipc://$TMP/n5.admin --timeout 500ms --header subs 2>/dev/null | awk -F'\t' 'NR==1{for(i=1;i<=NF;i++) if(\$i==\"cluster_subscribers\") c=i; next} \$1==\"t\"{s+=\$c} END{print s+0}')\" = 0 ]"; then
    J_LEAVE+=($(($(now_ms) - tl)))
  else note "4a trial $i: n5 still counted the watcher 15 s after its SIGTERM"; fi
  say "  join $i: n1 counts it at ${J_N1[-1]:-?} ms, n5 at ${J_N5[-1]:-?} ms; leave seen on n5 after ${J_LEAVE[-1]:-?} ms"
  sleep 0.5
done

# ---- 4b. 10,000 joins ------------------------------------------------------------------------------
say "4b: $JOIN_CLIENTS clients x $JOIN_TOPICS topics on n1"
TARGET=$((JOIN_CLIENTS * JOIN_TOPICS))
bytes_snapshot "$TMP/b4"
# One poller per node: writes the ms time when the node's cluster_subscribers sum reaches TARGET.
poll_node() {
  local n=$1 c l first=""
  while :; do
    read -r c l < <(cs_sum "$n")
    if [ "$n" = n1 ] && [ -z "$first" ] && [ "${l:-0}" -ge 1 ]; then first=$(now_ms); echo "$first" >"$TMP/first_join"; fi
    if [ "${c:-0}" -ge $TARGET ]; then now_ms >"$TMP/conv.$n"; echo "$c" >"$TMP/convc.$n"; return; fi
    sleep 0.02
  done
}
POLLERS=()
for n in "${NODES[@]}"; do poll_node "$n" & POLLERS+=($!); AUX+=($!); done
T4=$(now_ms)
"$LP_BENCH" watchers --connect "ipc://$TMP/n1.client" --clients "$JOIN_CLIENTS" --topics-per-client "$JOIN_TOPICS" \
  --distinct-topics "$JOIN_TOPICS" --query mem --param 'id={t}' --seconds 900 --json >"$TMP/w.json" 2>"$TMP/w.err" &
LPB=$!; AUX+=("$LPB")
deadline=$((T4 + 120000))
while [ "$(now_ms)" -lt $deadline ]; do
  done_n=0; for n in "${NODES[@]}"; do [ -e "$TMP/conv.$n" ] && done_n=$((done_n + 1)); done
  [ $done_n -eq ${#NODES[@]} ] && break
  sleep 0.1
done
for p in "${POLLERS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
CONV=(); CONV_DETAIL=""
FIRST=$(cat "$TMP/first_join" 2>/dev/null || echo "")
for n in "${NODES[@]}"; do
  if [ -e "$TMP/conv.$n" ]; then
    CONV+=($(($(cat "$TMP/conv.$n") - T4)))
    CONV_DETAIL+="$n $(($(cat "$TMP/conv.$n") - T4)) ms; "
  else
    CONV_DETAIL+="$n never (sum $(cs_sum "$n" | cut -d' ' -f1)); "
    note "4b: $n did not count $TARGET within 120 s (sum $(cs_sum "$n" | cut -d' ' -f1))"
  fi
done
bytes_snapshot "$TMP/b5"
CONV_BYTES=$(join "$TMP/b4" "$TMP/b5" | awk '{g += $7 - $2; r += $8 - $3} END {printf "%d B gossip + %d B rpc sent by all nodes", g, r}')
CONV_MAX=$(printf '%s\n' "${CONV[@]}" | sort -n | tail -1)
CONV_FROM_FIRST=n/a
[ -n "$FIRST" ] && [ ${#CONV[@]} -eq 5 ] && CONV_FROM_FIRST=$((T4 + CONV_MAX - FIRST))
N1_LOCAL=$(cs_sum n1 | cut -d' ' -f2)

# ---- 5l. bytes with the entries held ---------------------------------------------------------------
say "5l: bytes over ${BYTES_SECS}s with the entries held"
sleep 2
bytes_snapshot "$TMP/b6"
sleep "$BYTES_SECS"
bytes_snapshot "$TMP/b7"
HELD_RATES=$(bytes_rates "$TMP/b6" "$TMP/b7")
HELD_SUMS=$(for n in "${NODES[@]}"; do echo -n "$n=$(cs_sum "$n" | cut -d' ' -f1) "; done)
kill -TERM "$LPB" 2>/dev/null; wait "$LPB" 2>/dev/null
LPB_JSON=$(cat "$TMP/w.json" 2>/dev/null)

# ---- health at the end ---------------------------------------------------------------------------
CRASH=""
for n in "${NODES[@]}"; do
  kill -0 "${PID[$n]}" 2>/dev/null || CRASH+="$n exited; "
  if grep -qiE 'terminate called|Segmentation|Aborted|AddressSanitizer|assert' "$TMP/$n.log"; then
    CRASH+="$n log: $(grep -iE 'terminate called|Segmentation|Aborted|AddressSanitizer|assert' "$TMP/$n.log" | head -2 | tr '\n' ';') "
  fi
done
[ -z "$CRASH" ] || note "crash/exit: $CRASH"
TOTAL_DOWN=$(cat "$TMP"/n?.log | grep -c '"member down' || true)
STATS_END=$(for n in "${NODES[@]}"; do echo -n "$n: members_down=$(stat_of "$n" members_down) cluster_frames_malformed=$(stat_of "$n" cluster_frames_malformed) cluster_frames_unknown=$(stat_of "$n" cluster_frames_unknown); "; done)
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report --------------------------------------------------------------------------------------
p() { pct "$@"; }
kn=${#K_LAST[@]}; sn=${#S_LAST[@]}
report <<EOF

## livepoll cluster benchmark ($(date -u +%Y-%m-%dT%H:%MZ))

Machine: $NPROC CPUs, $MODEL, ${MEM_GB} GiB RAM, Linux $KERNEL; build: $BUILD.
Load: loadavg $LOAD_START at start (CPU busy ${BUSY_START}% over 2 s before start; top: $TOP_START), $LOAD_BUSY at the end of 3b, $LOAD_END at the end.
Cluster: 5 livepolld on 127.0.0.1 (gossip/rpc tcp, admin/client ipc), defaults (gossip_interval 100ms, suspect_after 500ms, dead_after 1s), JSON logs; every process on the same machine.
Percentiles are nearest-rank; with 20 trials p99 is the maximum. Times come from the daemons' log "ts" (ms, UTC) minus \`date +%s%N\` taken just before the signal.

| # | measure | livepoll | reference |
| --- | --- | --- | --- |
| 1 | kill -9, first survivor logs dead ($kn/$KILL_TRIALS trials all 4 detected) | p50 $(p 50 "${K_FIRST[@]}") ms, p99 $(p 99 "${K_FIRST[@]}") ms (min $(p 0 "${K_FIRST[@]}")) | Phoenix.Tracker down_period 30 s; Erlang net_ticktime 45-75 s; memberlist ~5 s suspicion |
| 1 | kill -9, all 4 survivors log dead | p50 $(p 50 "${K_LAST[@]}") ms, p99 $(p 99 "${K_LAST[@]}") ms | (same) |
| 1 | kill -9, first "member suspect" | p50 $(p 50 "${K_SUS[@]}") ms, p99 $(p 99 "${K_SUS[@]}") ms | — |
| 1 | restart -> new incarnation alive on all | p50 $(p 50 "${K_RESTART[@]}") ms, max $(p 100 "${K_RESTART[@]}") ms | — |
| 2 | SIGSTOP, first survivor logs dead ($sn/$STOP_TRIALS all 4) | p50 $(p 50 "${S_FIRST[@]}") ms, max $(p 100 "${S_FIRST[@]}") ms; values: ${S_FIRST[*]:-} | same as 1 |
| 2 | SIGSTOP, all survivors log dead | p50 $(p 50 "${S_LAST[@]}") ms, max $(p 100 "${S_LAST[@]}") ms; values: ${S_LAST[*]:-} | — |
| 2 | SIGSTOP, first "member suspect" | values: ${S_SUS[*]:-} ms | — |
| 2 | SIGCONT -> alive on all again | ${#S_BACK[@]}/$STOP_TRIALS came back by themselves; values: ${S_BACK[*]:-none} ms | — |
| 3 | false suspicions, 5 nodes idle ${IDLE_SECS} s, no load | $S3A suspect, $D3A down lines (all logs) | ideally 0 |
| 3 | false suspicions, 5 nodes idle ${IDLE_SECS} s, 2 busy loops on $NPROC cores | $S3B suspect, $D3B down lines (all logs) | ideally 0 |
| 4 | one join on n1 -> counted on n5 (\`livepoll watch\` start to n5's subs) | p50 $(p 50 "${J_N5[@]}") ms, max $(p 100 "${J_N5[@]}") ms; values: ${J_N5[*]:-} | Phoenix.Tracker 740 ms p50 / 1.3 s p99 |
| 4 | ... of which until n1 itself counts it | values: ${J_N1[*]:-} ms | — |
| 4 | ... n1 counts it -> n5 counts it | values: ${J_N15[*]:-} ms | — |
| 4 | one leave (SIGTERM of the watch) -> n5 counts 0 | values: ${J_LEAVE[*]:-} ms | — |
| 4 | $TARGET joins ($JOIN_CLIENTS clients x $JOIN_TOPICS topics, $JOIN_TOPICS distinct topics) -> all 5 nodes count $TARGET | ${CONV_MAX:-n/a} ms from lp_bench start; $CONV_FROM_FIRST ms from n1's first local subscriber; per node: $CONV_DETAIL | Phoenix.Tracker ~1 s |
| 4 | bytes sent while converging | $CONV_BYTES | — |
| 5 | gossip bytes/s per node, 5 nodes idle (${IDLE_SECS} s) | ${IDLE_RATES#*|} | Phoenix.Tracker 57 B/s per node idle |
| 5 | gossip bytes/s per node, idle under 2 busy loops | ${BUSY_RATES#*|} | — |
| 5 | gossip bytes/s per node, $TARGET entries held (${BYTES_SECS} s) | ${HELD_RATES#*|} | — |

Per node, idle: ${IDLE_RATES%|*}

Per node, under load: ${BUSY_RATES%|*}

Per node, $TARGET entries held: ${HELD_RATES%|*}

Cluster sums with the entries held: $HELD_SUMS; n1 local subscribers: $N1_LOCAL.
lp_bench: $LPB_JSON

SIGSTOP trials:
$(printf -- '- %s\n' "${S_HOW[@]}")

Kill -9 trials (first / all ms): $(for k in $(seq 0 $((${#K_FIRST[@]} - 1))); do echo -n "${K_FIRST[$k]}/${K_LAST[$k]:-?} "; done)

End: "member down" lines in all logs: $TOTAL_DOWN (expected $((KILL_TRIALS * 4 + STOP_TRIALS * 4)) from the trials); $STATS_END
EOF
if [ ${#NOTES[@]} -gt 0 ]; then
  echo
  echo "Notes:"
  printf -- '- %s\n' "${NOTES[@]}"
fi
