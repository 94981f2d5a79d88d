#!/usr/bin/env bash
# livepoll registry benchmarks (DESIGN.md, "Registry", "Placement and failover"): three real
# livepolld on 127.0.0.1 (free tcp ports for gossip and rpc, ipc:// for admin and clients, JSON
# logs, fault injection on), measured from the outside; prints a markdown report on stdout.
#
#   tests/bench/registry_run.sh [BUILD_DIR]          (default /work/main/build-regbench)
#
# Needs livepolld, livepoll, lp_bench and the soci plugin built in BUILD_DIR, and jq. Cluster
# defaults throughout: gossip_interval 100ms, suspect_after 500ms, dead_after 1s,
# takeover_timeout 1s, linger 5s; queries run every 1 s (jitter 10 %) unless said. Watchers are
# `livepoll watch` processes whose every line is stamped with bash's $EPOCHREALTIME as it arrives
# (the daemons' log "ts" is the same wall clock, in ms). A node's own view of the registry is
# `livepoll -c NODE subs --node NODE --json` (owner, epoch, claims, polls: polls != null means
# that node runs the poller). Scenarios, in order:
#   1. kill -9 failover, REG_KILL_TRIALS (20) trials: one topic (`clock`, a query whose result is
#      the time in ms, so every poll publishes a snapshot) watched on all 3 nodes. t0 just before
#      `kill -9` of its owner; failover = arrival of the first line whose owner is not the victim
#      at a surviving node's watcher (first and last of the two survivors). Split with the logs:
#      first survivor's and both survivors' "member down", the successor's "registered clock".
#      The victim is then restarted (a new incarnation, same name) with a new watcher, and the next
#      trial waits until every node sees every node alive, all agree on one owner (one live claim,
#      only the owner polls) and every watcher has a line from that owner; then a random
#      1.0-1.9 s, so that t0 falls at any phase of the poll schedule.
#   2. SIGTERM handover, REG_TERM_TRIALS (20) trials, same setup and method; also the gap at each
#      surviving watcher between the last line from the old owner and the first from the new one
#      (up to one interval is normal; over 1.5 intervals is a missed update). After 1 and 2: the
#      topic's database polls per second (the pollers' `polls` summed over nodes, 5 s).
#   3. partition heal, REG_HEAL_TRIALS (6) trials: 10 topics (`p?id=1..10`) watched on all 3 nodes
#      (30 watchers); one node (n1, n2, n3 in turn) is cut off with `fault cut` on both sides;
#      once both sides own every topic, the three `fault heal` are sent at once (t0 just before)
#      while one loop per node reads its `subs --node` back to back. Converged = every node shows
#      every topic with the same owner and epoch, exactly one live claim (no "(down)") and only
#      the owner polling, and stays so to the end; the time is the reply time of the first such
#      snapshot of the last node to get there (also without the epoch condition). Resolution:
#      the loops' snapshot period. Split with the logs ("member up", "clash ... resolved"). Then,
#      before the first cut and 3 s after each heal, the database polls per second per topic.
#   4. registration latency, REG_JOIN_TRIALS (20) trials: `livepoll watch reg id=NEW --count 1`
#      on n1, n2, n3 in turn, a topic nobody watched before; join -> first line, split with the
#      owner's "registered TOPIC" log line into join -> registered and registered -> first line.
#      The CLI's own start-up and admin round trip are in "join": `livepoll status --node N` is
#      timed too for reference.
#   5. placement of REG_TOPICS (10,000) topics: lp_bench watchers on n1, 100 clients x 100 topics,
#      all distinct, on a query polled every 60 s whose result never changes (placement, not
#      SQLite load): the time until every topic is registered (the logs) and every node shows
#      every topic with one owner (subs, polled about every second); then the topics polled per
#      node (polls != null), the total, topics polled twice or owned but not polled, every
#      daemon's RSS, and, REG_SETTLE_SECS (5) s later, whether every subscription got its
#      topic's first result (lp_bench's count, n1's per-topic state, the daemons' counters).
# Benchmarks measure: no timing bound fails the run; what looks wrong is listed under "Notes".
# Processes and the temp folder are cleaned up on any exit. REG_KEEP=DIR copies the logs,
# watcher files and snapshots there first; REG_LOG_LEVEL=debug also logs denied proposals.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # now_ms, cpu_ticks, CLK_TCK, free_port

BUILD=${1:-/work/main/build-regbench}
LIVEPOLLD=$BUILD/daemon/livepolld
LIVEPOLL=$BUILD/cmd/livepoll
LP_BENCH=$BUILD/tests/bench/lp_bench
PLUGINS=$BUILD/plugins/lib
if smoke; then  # one trial of each, 100 topics: the script checks itself (the test command)
  REG_KILL_TRIALS=1 REG_TERM_TRIALS=1 REG_HEAL_TRIALS=1 REG_JOIN_TRIALS=1 REG_TOPICS=100
  REG_SETTLE_SECS=1
fi
KILL_TRIALS=${REG_KILL_TRIALS:-20}
TERM_TRIALS=${REG_TERM_TRIALS:-20}
HEAL_TRIALS=${REG_HEAL_TRIALS:-6}
JOIN_TRIALS=${REG_JOIN_TRIALS:-20}
TOPICS=${REG_TOPICS:-10000}
SETTLE=${REG_SETTLE_SECS:-5}
LOG_LEVEL=${REG_LOG_LEVEL:-info}
HEAL_TOPICS=10
NODES=(n1 n2 n3)
INTERVAL_US=1000000

for f in "$LIVEPOLLD" "$LIVEPOLL" "$LP_BENCH" "$PLUGINS/soci.so"; do
  [ -e "$f" ] || { echo "registry_run.sh: missing $f" >&2; exit 2; }
done
for t in jq awk; do command -v "$t" >/dev/null || { echo "registry_run.sh: needs $t" >&2; exit 2; }; done
[ $((TOPICS % 100)) = 0 ] && [ "$TOPICS" -ge 100 ] || { echo "registry_run.sh: REG_TOPICS must be a multiple of 100" >&2; exit 2; }

TMP=$(mktemp -d /tmp/lp-regbench.XXXXXX)
declare -A PID RPC
declare -A AUX  # other processes this script started (watchers, loops, lp_bench): pid -> 1
cleanup() {
  local p n i alive
  for p in "${!AUX[@]}"; do kill "$p" 2>/dev/null || true; done
  for n in "${!PID[@]}"; do kill -TERM "${PID[$n]}" 2>/dev/null || true; done
  for p in "${!AUX[@]}"; do wait "$p" 2>/dev/null || true; done
  for i in $(seq 1 50); do
    alive=0
    for n in "${!PID[@]}"; do kill -0 "${PID[$n]}" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for n in "${!PID[@]}"; do kill -KILL "${PID[$n]}" 2>/dev/null || true; wait "${PID[$n]}" 2>/dev/null || true; done
  if [ -n "${REG_KEEP:-}" ]; then mkdir -p "$REG_KEEP" && cp -r "$TMP"/. "$REG_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

NOTES=()
note() { NOTES+=("$*"); echo "registry_run.sh: NOTE: $*" >&2; }
say() { echo "registry_run.sh: $*" >&2; }
us_now() { local t=$EPOCHREALTIME; echo "${t/./}"; }
# ms US...: microseconds as milliseconds with one decimal.
ms() { awk -v u="$1" 'BEGIN {printf "%.1f", u / 1000}'; }
# pct P VALUES...: nearest-rank percentile (of whatever unit the values have).
pct() {
  local p=$1; shift
  printf '%s\n' "$@" | sort -n | awk -v p="$p" '{v[NR] = $1} END {if (NR == 0) {print "n/a"; exit}
    k = int(p / 100 * NR); if (k < p / 100 * NR) k++; if (k < 1) k = 1; print v[k]}'
}
# pms P US...: a percentile of microsecond values, in ms.
pms() { local v; v=$(pct "$@"); [ "$v" = n/a ] && echo n/a || ms "$v"; }
# summary US...: "p50 X ms, p99 Y ms, max Z ms (n N)".
summary() {
  [ $# -eq 0 ] && { echo "n/a (no sample)"; return; }
  echo "p50 $(pms 50 "$@") ms, p99 $(pms 99 "$@") ms, max $(pms 100 "$@") ms (n=$#)"
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }

cat >"$TMP/node.conf" <<EOF
[node]
client_timeout = 10s
linger = 5s
gossip_interval = 100ms
suspect_after = 500ms
dead_after = 1s
takeover_timeout = 1s
fault_injection = true

[source.db]
plugin = soci
dsn = sqlite3://db=$TMP/bench.db
max_concurrent = 4

[query.clock]
source = db
sql = SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) AS ms
interval = 1s

[query.p]
source = db
sql = SELECT :id AS id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) AS ms
params = id
interval = 1s

[query.reg]
source = db
sql = SELECT :id AS id, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) AS ms
params = id
interval = 1s

[query.slow]
source = db
sql = SELECT :id AS id, 1 AS v
params = id
interval = 60s
EOF

# start_node NAME [SEEDS]: new ports every start; the log is appended to $TMP/NAME.log.
start_node() {
  local name=$1 seed=${2:-} g r
  g=$(free_port); r=$(free_port)
  while [[ $r == "$g" ]]; do r=$(free_port); done
  RPC[$name]=127.0.0.1:$r
  "$LIVEPOLLD" --config "$TMP/node.conf" --plugin-dir "$PLUGINS" --name "$name" \
    --admin-bind "ipc://$TMP/$name.admin" --client-bind "ipc://$TMP/$name.client" \
    --gossip-bind "tcp://127.0.0.1:$g" --rpc-bind "tcp://127.0.0.1:$r" ${seed:+--join "$seed"} \
    --log-format json --log-level "$LOG_LEVEL" >>"$TMP/$name.log" 2>&1 &
  PID[$name]=$!
}
lp() { local node=$1; shift; "$LIVEPOLL" -c "ipc://$TMP/$node.admin" --timeout 500ms "$@"; }
# launch NAME [SEEDS]: start_node, until the node answers on its admin endpoint (3 attempts, new
# ports each: a port can be taken between the probe and the bind).
answers_or_died() { lp "$1" status --node "$1" >/dev/null 2>&1 || ! kill -0 "${PID[$1]}" 2>/dev/null; }
launch() {
  local name=$1 seeds=${2:-} a
  for a in 1 2 3; do
    start_node "$name" "$seeds"
    if wait_until 20 answers_or_died "$name" && kill -0 "${PID[$name]}" 2>/dev/null; then return 0; fi
    note "$name (start $a) did not come up: $(tail -2 "$TMP/$name.log" | jq -r '.msg? // .' 2>/dev/null | tr '\n' ';')"
    kill -KILL "${PID[$name]}" 2>/dev/null; wait "${PID[$name]}" 2>/dev/null
  done
  return 1
}
members_of() { lp "$1" members 2>/dev/null | awk -F'\t' '{print $1, $2, $5}'; }
state_of() { members_of "$1" | awk -v m="$2" '$1 == m {print $3}'; }
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
# sees STATE OBSERVER MEMBER...: OBSERVER sees every MEMBER in STATE.
sees() {
  local want=$1 o=$2 out m; shift 2
  out=$(members_of "$o") || return 1
  for m in "$@"; do [[ $(awk -v m="$m" '$1 == m {print $3}' <<<"$out") == "$want" ]] || return 1; done
}
wait_until() {  # wait_until SECONDS CMD...: 1 on timeout
  local deadline=$(($(now_ms) + $1 * 1000)); shift
  until "$@"; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}
logsize() { stat -c %s "$TMP/$1.log"; }
offsets() { local n; for n in "${NODES[@]}"; do echo "$n $(logsize "$n")"; done >"$1"; }
# log_since NODE OFFSET: the log's JSON lines after byte OFFSET, as "epoch_us<TAB>msg".
log_since() {
  tail -c +$(($2 + 1)) "$TMP/$1.log" | jq -Rr 'fromjson? // empty | select(.ts) |
    "\((.ts | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) * 1000000 + (.ts | capture("\\.(?<ms>[0-9]+)Z$").ms | tonumber) * 1000)\t\(.msg)"'
}
# logs_since OFFSETS_FILE: every node's log lines since the offsets, as "us<TAB>node<TAB>msg".
logs_since() {
  local n off
  while read -r n off; do log_since "$n" "$off" | awk -F'\t' -v n="$n" '{print $1 "\t" n "\t" $2}'; done <"$1"
}
# first_log LINES_FILE PREFIX [NODE_TO_SKIP]: the earliest us whose msg starts with PREFIX.
first_log() {
  awk -F'\t' -v p="$2" -v skip="${3:-}" '$2 != skip && index($3, p) == 1 {print $1}' "$1" | sort -n | head -1
}

# ---- watchers ------------------------------------------------------------------------------------
stamp() { local l; while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done; }
declare -A WPID WFILE
# start_watch KEY NODE FILE QUERY [NAME=VALUE...]: a stamped `livepoll watch` into FILE.
start_watch() {
  local key=$1 node=$2 file=$3; shift 3
  "$LIVEPOLL" -c "ipc://$TMP/$node.admin" watch "$@" > >(stamp >"$file") 2>>"$TMP/watch.err" &
  WPID[$key]=$!; WFILE[$key]=$file; AUX[$!]=1
}
# stop_watch KEY: kill -9 (its daemon may be gone: no leave to wait for).
stop_watch() {
  local p=${WPID[$1]:-}
  [ -n "$p" ] || return 0
  kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; unset "AUX[$p]"; WPID[$1]=""
}
# updates FILE [FROM_LINE]: "us owner epoch seq kind" per line after FROM_LINE (0) lines.
updates() {
  tail -n +$((${2:-0} + 1)) "$1" | jq -Rr 'capture("^(?<s>[0-9]+)\\.(?<u>[0-9]+) (?<j>.*)$")? // empty |
    (.j | fromjson?) as $x | select($x != null) | "\(.s)\(.u) \($x.owner) \($x.epoch) \($x.seq) \($x.kind)"'
}
lines_of() { wc -l <"$1"; }
last_owner_of() { tail -1 "$1" 2>/dev/null | grep -oE '"owner": ?"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/'; }
# stream_ok FILE: FILE's updates (stamped watch lines) are one unbroken stream: epochs never go
# down, each epoch starts with a snapshot, seq grows within an epoch, a diff follows seq + 1.
stream_ok() {
  local why
  why=$(cut -d' ' -f2- "$1" | jq -rs 'reduce .[] as $u ({ok: true, e: -1, s: -1, why: ""};
      if .ok == false then .
      elif $u.epoch < .e then {ok: false, why: "epoch \($u.epoch) after \(.e)"}
      elif $u.epoch > .e then
        (if $u.kind == "snapshot" then .e = $u.epoch | .s = $u.seq
         else {ok: false, why: "epoch \($u.epoch) began with a \($u.kind)"} end)
      elif $u.seq <= .s then {ok: false, why: "seq \($u.seq) after \(.s) in epoch \(.e)"}
      elif $u.kind == "diff" and $u.seq != .s + 1 then {ok: false, why: "diff seq \($u.seq) after \(.s)"}
      else .s = $u.seq end)
    | if .ok then "ok" else .why end' 2>&1)
  [[ $why == ok ]] || { echo "$why"; return 1; }
}

# ---- registry views --------------------------------------------------------------------------------
VIEW_TIMEOUT=500ms
# view NODE: "topic owner epoch live_claims polling" per topic NODE shows (subs --json).
view() {
  "$LIVEPOLL" -c "ipc://$TMP/$1.admin" --timeout "$VIEW_TIMEOUT" subs --node "$1" --json 2>/dev/null | jq -r '[.topic, (.owner // "-"), (.epoch // "-" | tostring),
    ((.claims // "") | split(",") | map(select(test("\\S") and (test("[(]down[)]") | not))) | length | tostring),
    (if .polls == null then "0" else "1" end)] | @tsv'
}
# agreed NODES_CSV TOPIC...: on every node of NODES_CSV every TOPIC has the same owner and epoch,
# exactly one live claim, and only the owner polls it.
agreed() {
  local nodes=$1 n; shift
  { for n in ${nodes//,/ }; do view "$n" | sed "s/^/$n\t/"; done; } | awk -F'\t' -v want="$*" -v nodes="$nodes" '
    BEGIN {nt = split(want, T, " "); nn = split(nodes, N, ",")}
    {own[$1, $2] = $3; ep[$1, $2] = $4; live[$1, $2] = $5; poll[$1, $2] = $6}
    END {for (i = 1; i <= nt; i++) {t = T[i]; o = own[N[1], t]; e = ep[N[1], t]
           if (o == "" || o == "-") exit 1
           for (j = 1; j <= nn; j++) {n = N[j]
             if (own[n, t] != o || ep[n, t] != e || live[n, t] != 1) exit 1
             if ((poll[n, t] == 1) != (n == o)) exit 1}}
         exit 0}'
}
# polls_by_topic REGEX: "topic polls" summed over the nodes that poll it (subs --node, polls).
polls_by_topic() {
  local n
  for n in "${NODES[@]}"; do
    lp "$n" subs --node "$n" --json 2>/dev/null | jq -r --arg re "$1" 'select(.topic | test($re)) | select(.polls != null) | "\(.topic) \(.polls)"'
  done | awk '{s[$1] += $2} END {for (t in s) print t, s[t]}' | sort
}
# poll_rates REGEX SECONDS: the database polls per second of each matching topic over SECONDS,
# all nodes summed: "min max mean n" (one poll per topic per interval is the design).
poll_rates() {
  local a b t0 t1
  a=$(polls_by_topic "$1"); t0=$(us_now); sleep "$2"; b=$(polls_by_topic "$1"); t1=$(us_now)
  join <(echo "$a") <(echo "$b") | awk -v s="$(( t1 - t0 ))" '{r = ($3 - $2) / (s / 1e6); if (n == 0 || r < mn) mn = r; if (r > mx) mx = r; sum += r; n++}
    END {if (n == 0) print "n/a n/a n/a 0"; else printf "%.2f %.2f %.2f %d\n", mn, mx, sum / n, n}'
}
owner_on() { view "$1" | awk -F'\t' -v t="$2" '$1 == t {print $2}'; }
epoch_on() { view "$1" | awk -F'\t' -v t="$2" '$1 == t {print $3}'; }
ALL_CSV=$(IFS=,; echo "${NODES[*]}")

# ---- machine and load ----------------------------------------------------------------------------
NPROC=$(nproc)
MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM_GB=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
KERNEL=$(uname -r)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
TOP_START=$(ps -eo pcpu=,comm= --sort=-pcpu | head -5 | awk '{printf "%s %s%%; ", $2, $1}')
cpu_busy_pct() {
  local a b
  a=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat); sleep 2
  b=$(awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat)
  echo "$a $b" | awk '{printf "%.0f", 100 * ($3 - $1) / ($4 - $2)}'
}
BUSY_START=$(cpu_busy_pct)
say "machine: $NPROC CPUs, $MODEL; load $LOAD_START; CPU busy $BUSY_START% before start"
T_START=$(now_ms)
BUILT=$(date -u -r "$LIVEPOLLD" +%Y-%m-%dT%H:%MZ)
SRC=$(awk -F= '/^CMAKE_HOME_DIRECTORY:/ {print $2}' "$BUILD/CMakeCache.txt" 2>/dev/null)
SRC_REV=$(git -C "${SRC:-.}" log -1 --format='%h (%cI)' 2>/dev/null || echo "?")
NEWER=$(git -C "${SRC:-.}" log --oneline --since="$(date -u -r "$LIVEPOLLD" +%Y-%m-%dT%H:%M:%SZ)" -- lib daemon cmd plugins 2>/dev/null | wc -l)

# ---- the cluster ---------------------------------------------------------------------------------
launch n1 || { cat "$TMP/n1.log" >&2; echo "n1 did not start" >&2; exit 1; }
for n in n2 n3; do launch "$n" "${RPC[n1]}" || { echo "$n did not start" >&2; exit 1; }; done
wait_until 20 all_alive || { for n in "${NODES[@]}"; do tail -5 "$TMP/$n.log" >&2; done; echo "cluster did not form" >&2; exit 1; }
say "3-node cluster formed"
RSS_IDLE=$(for n in "${NODES[@]}"; do echo -n "$n $(rss_kib "${PID[$n]}") KiB; "; done)

# restart NODE: a new incarnation of NODE (same name), joined through the others; waits until
# every node sees every node alive with it.
restart() {
  local v=$1 seeds="" o inc
  for o in "${NODES[@]}"; do [[ $o == "$v" ]] || seeds+="${seeds:+,}${RPC[$o]}"; done
  launch "$v" "$seeds" || { note "$v did not answer after 3 restarts"; return 1; }
  inc=$(members_of "$v" | awk -v m="$v" '$1 == m {print $2}')
  wait_until 20 all_see_alive_inc "$v" "$inc" || { note "$v#$inc not alive everywhere 20 s after its restart"; return 1; }
  wait_until 20 all_alive || { note "not all alive 20 s after restarting $v"; return 1; }
}

# revive: restarts any node that is not running (a crash, or a failed restart); their names go
# to REVIVED.
REVIVED=()
revive() {
  local n
  REVIVED=()
  for n in "${NODES[@]}"; do
    kill -0 "${PID[$n]}" 2>/dev/null && continue
    note "$n was not running (log: $(tail -2 "$TMP/$n.log" | jq -r '.msg? // .' 2>/dev/null | tr '\n' ';')); restarted"
    restart "$n" && REVIVED+=("$n")
  done
}

# ---- 1 + 2. failover and handover of `clock` -------------------------------------------------------
declare -A GEN
for n in "${NODES[@]}"; do GEN[$n]=1; start_watch "clock.$n" "$n" "$TMP/w.clock.$n.1" clock; done
# clock_ready: all alive, one agreed owner, every watcher's last line from that owner.
clock_ready() {
  local o n
  all_alive || return 1
  agreed "$ALL_CSV" clock || return 1
  o=$(owner_on n1 clock)
  for n in "${NODES[@]}"; do [[ $(last_owner_of "${WFILE[clock.$n]}") == "$o" ]] || return 1; done
}
wait_until 20 clock_ready || note "clock: no agreed owner with every watcher served 20 s after the start"

# failover_trials MODE(kill|term) N: fills FO_* arrays (us) and FO_TRIALS (text per trial).
failover_trials() {
  local mode=$1 trials=$2 i v s f off t0 got deadline line rc texit
  FO_FIRST=(); FO_LAST=(); FO_DET=(); FO_DETLAST=(); FO_REG=(); FO_GAP=(); FO_GAPMAX=(); FO_TRIALS=(); FO_OVER=0
  FO_EXIT=(); FO_DOUBLE=0; FO_N=0
  for i in $(seq 1 "$trials"); do
    if ! wait_until 20 clock_ready; then
      local r
      revive
      for r in "${REVIVED[@]}"; do
        stop_watch "clock.$r"; GEN[$r]=$((GEN[$r] + 1)); start_watch "clock.$r" "$r" "$TMP/w.clock.$r.${GEN[$r]}" clock
      done
      if ! wait_until 20 clock_ready; then
        note "$mode trial $i: clock not ready within 40 s (views: $(for n in "${NODES[@]}"; do echo -n "$n: $(view "$n" | tr '\t\n' ' ;') "; done)); the remaining $mode trials are skipped"
        break
      fi
    fi
    sleep "1.$((RANDOM % 10))"
    v=$(owner_on n1 clock)
    local old_epoch surv=() o
    old_epoch=$(epoch_on n1 clock)
    for o in "${NODES[@]}"; do [[ $o == "$v" ]] || surv+=("$o"); done
    declare -A OFF=() NEW=() OLD=() NEWINFO=()
    for s in "${surv[@]}"; do OFF[$s]=$(lines_of "${WFILE[clock.$s]}"); done
    offsets "$TMP/off.fo"
    if [ "$mode" = kill ]; then
      t0=$(us_now); kill -KILL "${PID[$v]}"
      wait "${PID[$v]}" 2>/dev/null
    else
      t0=$(us_now); kill -TERM "${PID[$v]}"
      wait "${PID[$v]}"; rc=$?; texit=$(us_now)
      FO_EXIT+=("$((texit - t0))")
      [ "$rc" = 0 ] || note "term trial $i: $v exited $rc on SIGTERM"
    fi
    # The first line from another owner at each survivor's watcher (the stamps time it, not this loop).
    deadline=$(($(now_ms) + 15000)); got=0
    while [ $got -lt ${#surv[@]} ] && [ "$(now_ms)" -lt $deadline ]; do
      got=0
      for s in "${surv[@]}"; do
        tail -n +$((OFF[$s] + 1)) "${WFILE[clock.$s]}" | grep -vqE "\"owner\": ?\"$v\"" && got=$((got + 1))
      done
      [ $got -lt ${#surv[@]} ] && sleep 0.02
    done
    local firsts=() gaps=() detail=""
    for s in "${surv[@]}"; do
      line=$(updates "${WFILE[clock.$s]}" "${OFF[$s]}" | awk -v v="$v" '$2 != v {print; exit}')
      if [ -z "$line" ]; then note "$mode trial $i: $s's watcher got no line from a new owner within 15 s of the $mode of $v"; continue; fi
      read -r f o e _ k <<<"$line"
      firsts+=("$((f - t0))")
      # The last line from the victim before it (the whole file: it may predate t0).
      local lo
      lo=$(updates "${WFILE[clock.$s]}" | awk -v v="$v" -v f="$f" '$1 < f && $2 == v {l = $1} END {print l}')
      if [ -n "$lo" ]; then gaps+=("$((f - lo))"); FO_GAP+=("$((f - lo))"); fi
      [ "$e" -gt "$old_epoch" ] && [ "$k" = snapshot ] || note "$mode trial $i: $s's first line from $o has epoch $e (old $old_epoch), kind $k"
      detail+="$s: $(ms $((f - t0))) ms (gap $( [ -n "$lo" ] && ms $((f - lo)) || echo ?) ms) "
    done
    # The logs: first survivor's "member down: v#", the successor's registration of clock.
    logs_since "$TMP/off.fo" >"$TMP/fo.log"
    local det detlast reg nreg
    det=$(first_log "$TMP/fo.log" "member down: $v#" "$v")
    detlast=$(awk -F'\t' -v p="member down: $v#" -v v="$v" '$2 != v && index($3, p) == 1 && !seen[$2]++ {print $1}' "$TMP/fo.log" | sort -n | tail -1)
    [ "$(awk -F'\t' -v p="member down: $v#" -v v="$v" '$2 != v && index($3, p) == 1 {print $2}' "$TMP/fo.log" | sort -u | wc -l)" -eq ${#surv[@]} ] || detlast=""
    [ -n "$detlast" ] && FO_DETLAST+=("$((detlast - t0))")
    reg=$(first_log "$TMP/fo.log" "registered clock " "$v")
    nreg=$(awk -F'\t' -v v="$v" '$2 != v && index($3, "registered clock ") == 1' "$TMP/fo.log" | wc -l)
    [ -n "$det" ] && FO_DET+=("$((det - t0))")
    [ -n "$reg" ] && FO_REG+=("$((reg - t0))")
    if [ "$nreg" -ne 1 ]; then
      FO_DOUBLE=$((FO_DOUBLE + 1))
      note "$mode trial $i: $nreg registrations of clock by the survivors: $(awk -F'\t' -v v="$v" '$2 != v && (index($3, "registered clock ") == 1 || index($3, "clash") == 1 || index($3, "released clock") == 1) {print $2 ": " $3}' "$TMP/fo.log" | tr '\n' ';')"
    fi
    if [ ${#firsts[@]} -gt 0 ]; then
      FO_FIRST+=("$(pct 0 "${firsts[@]}")"); FO_LAST+=("$(pct 100 "${firsts[@]}")"); FO_N=$((FO_N + 1))
    fi
    if [ ${#gaps[@]} -gt 0 ]; then
      local gm; gm=$(pct 100 "${gaps[@]}"); FO_GAPMAX+=("$gm")
      [ "$gm" -gt $((INTERVAL_US * 3 / 2)) ] && FO_OVER=$((FO_OVER + 1))
    fi
    FO_TRIALS+=("$i $v -> $(owner_on "${surv[0]}" clock): down $( [ -n "$det" ] && ms $((det - t0)) || echo ?) ms (both survivors: $( [ -n "$detlast" ] && ms $((detlast - t0)) || echo ?) ms), registered $( [ -n "$reg" ] && ms $((reg - t0)) || echo ?) ms; $detail")
    say "  $mode $i: $v -> $(owner_on "${surv[0]}" clock): ${FO_TRIALS[-1]#* -> * }"
    # The victim comes back with a new watcher.
    stop_watch "clock.$v"
    restart "$v" || true
    GEN[$v]=$((GEN[$v] + 1))
    start_watch "clock.$v" "$v" "$TMP/w.clock.$v.${GEN[$v]}" clock
  done
}

say "1: kill -9 of the owner, $KILL_TRIALS trials"
offsets "$TMP/off.s1"
failover_trials kill "$KILL_TRIALS"
K_FIRST=("${FO_FIRST[@]}"); K_LAST=("${FO_LAST[@]}"); K_DET=("${FO_DET[@]}"); K_DETLAST=("${FO_DETLAST[@]}"); K_REG=("${FO_REG[@]}")
K_GAP=("${FO_GAP[@]}"); K_OVER=$FO_OVER; K_DOUBLE=$FO_DOUBLE; K_TRIALS=("${FO_TRIALS[@]}"); K_N=$FO_N
K_GAPMAX=("${FO_GAPMAX[@]}")

say "2: SIGTERM of the owner, $TERM_TRIALS trials"
failover_trials term "$TERM_TRIALS"
T_FIRST=("${FO_FIRST[@]}"); T_LAST=("${FO_LAST[@]}"); T_DET=("${FO_DET[@]}"); T_DETLAST=("${FO_DETLAST[@]}"); T_REG=("${FO_REG[@]}")
T_GAP=("${FO_GAP[@]}"); T_OVER=$FO_OVER; T_DOUBLE=$FO_DOUBLE; T_TRIALS=("${FO_TRIALS[@]}"); T_N=$FO_N
T_GAPMAX=("${FO_GAPMAX[@]}"); T_EXIT=("${FO_EXIT[@]}")
wait_until 20 clock_ready || note "clock not ready after the SIGTERM trials"

read -r CR_MIN CR_MAX CR_MEAN CR_N < <(poll_rates '^clock$' 5)
# Every surviving stream of `clock` unbroken; the clash and reap lines of scenarios 1 and 2.
BROKEN12=()
for f in "$TMP"/w.clock.*; do why=$(stream_ok "$f") || BROKEN12+=("$(basename "$f"): $why"); done
CLOCK_FILES=$(ls "$TMP"/w.clock.* | wc -l)
logs_since "$TMP/off.s1" >"$TMP/s12.log"
CLASH12=$(grep -cE $'\t(clash on|reaped a zombie)' "$TMP/s12.log" || true)
[ "$CLASH12" = 0 ] || note "scenarios 1-2: clash/reap lines: $(grep -E $'\t(clash on|reaped a zombie)' "$TMP/s12.log" | head -6 | cut -f2- | tr '\t\n' ' ;')"
[ ${#BROKEN12[@]} = 0 ] || note "scenarios 1-2: broken streams: ${BROKEN12[*]}"
for n in "${NODES[@]}"; do stop_watch "clock.$n"; done

# ---- 3. partition heal -----------------------------------------------------------------------------
HT=(); for k in $(seq 1 $HEAL_TOPICS); do HT+=("p?id=$k"); done
say "3: partition heal, $HEAL_TRIALS trials, $HEAL_TOPICS topics watched on every node"
offsets "$TMP/off.s3"
for n in "${NODES[@]}"; do for k in $(seq 1 $HEAL_TOPICS); do start_watch "p$k.$n" "$n" "$TMP/w.p$k.$n" p "id=$k"; done; done
heal_ready() {
  local n k
  all_alive || return 1
  agreed "$ALL_CSV" "${HT[@]}" || return 1
  for n in "${NODES[@]}"; do for k in $(seq 1 $HEAL_TOPICS); do [ -s "${WFILE[p$k.$n]}" ] || return 1; done; done
}
# snap_loop NODE FILE: `subs --json` back to back, each reply framed by "@ t_sent t_replied" and ".".
snap_loop() {
  local n=$1 f=$2 t1 out
  while [ ! -e "$TMP/snap.stop" ]; do
    t1=$(us_now); out=$(lp "$n" subs --node "$n" --json 2>/dev/null)
    printf '@ %s %s\n%s\n.\n' "$t1" "$(us_now)" "$out" >>"$f"
  done
}
# converged T0 FILES...: reads the snapshot files (node name = suffix after the last "."); prints
# "ok CONV_US FIRST_US STABLE_US SNAPSHOTS PERIOD_P50_US PERIOD_MAX_US" if every node's last snapshot
# shows every topic with the same owner@epoch across nodes, one live claim, only the owner polling;
# CONV_US = when the last node got there for good (reply time), FIRST_US the first node; STABLE_US
# how long the final state has held on every node. Else "no ...".
converged() {
  local t0=$1; shift
  converged_by 1 "$t0" "$@"
}
# converged_by WITH_EPOCH T0 FILES...: converged, where WITH_EPOCH=0 lets the nodes differ on the
# epoch (same owner, one live claim, only the owner polling).
converged_by() {
  local we=$1 t0=$2; shift 2
  awk -v we="$we" -v t0="$t0" -v want="${HT[*]}" '
    function val(k,   m) {
      if (match($0, "\"" k "\": (\"[^\"]*\"|[^,}]*)")) {m = substr($0, RSTART + length(k) + 4, RLENGTH - length(k) - 4); gsub(/"/, "", m); return m}
      return ""}
    BEGIN {nt = split(want, T, " ")}
    FNR == 1 {nn++; node = FILENAME; sub(/.*\./, "", node); N[nn] = node; ns[node] = 0}
    /^@ / {t1 = $2; t2 = $3; delete cur; next}
    /^\.$/ {
      ok = 1; key = ""
      for (i = 1; i <= nt; i++) {t = T[i]
        if (!(t in cur)) {ok = 0; key = key "|" t "=?"; continue}
        split(cur[t], a, SUBSEP)
        if (a[1] == "" || a[1] == "null" || a[3] != 1 || ((a[4] != "null") != (a[1] == node))) ok = 0
        key = key "|" t "=" a[1] (we ? "@" a[2] : "")}
      k = ++ns[node]; TT[node, k] = t2; T1[node, k] = t1; OK[node, k] = ok; KEY[node, k] = key; next}
    {t = val("topic"); if (t == "") next
     c = val("claims"); nl = 0; m = split(c, cl, ","); for (j = 1; j <= m; j++) if (cl[j] != "" && index(cl[j], "(down)") == 0) nl++
     cur[t] = val("owner") SUBSEP val("epoch") SUBSEP nl SUBSEP val("polls")}
    END {
      for (j = 1; j <= nn; j++) {n = N[j]; k = ns[n]
        if (k == 0 || !OK[n, k]) {print "no node " n " not settled"; exit}
        if (j > 1 && KEY[n, k] != KEY[N[1], ns[N[1]]]) {print "no nodes disagree"; exit}}
      conv = 0; first = -1; stable = -1; cnt = 0; np = 0
      for (j = 1; j <= nn; j++) {n = N[j]; k = ns[n]; fk = KEY[n, k]
        while (k > 1 && OK[n, k - 1] && KEY[n, k - 1] == fk && TT[n, k - 1] > t0) k--
        c = TT[n, k] - t0; if (c > conv) conv = c; if (first < 0 || c < first) first = c
        s = TT[n, ns[n]] - TT[n, k]; if (stable < 0 || s < stable) stable = s
        for (i = 2; i <= ns[n]; i++) if (TT[n, i] > t0) P[++np] = TT[n, i] - TT[n, i - 1]
        cnt += ns[n]}
      # period percentiles (insertion sort: a few hundred values)
      for (i = 2; i <= np; i++) {v = P[i]; for (j = i - 1; j >= 1 && P[j] > v; j--) P[j + 1] = P[j]; P[j + 1] = v}
      printf "ok %d %d %d %d %d %d\n", conv, first, stable, cnt, (np ? P[int((np + 1) / 2)] : 0), (np ? P[np] : 0)}
  ' "$@"
}
declare -A HP
H_CONV=(); H_CONV0=(); H_FIRST=(); H_ALIVE=(); H_RESOLVED=(); H_PERIOD=(); H_PERIODMAX=(); H_TRIALS=(); H_PART=()
wait_until 30 heal_ready || note "3: topics not agreed or watchers not served 30 s after they joined"
read -r PR0_MIN PR0_MAX PR0_MEAN PR0_N < <(poll_rates '^p[?]' 5)
H_RATEMAX=()
for i in $(seq 1 "$HEAL_TRIALS"); do
  lone=${NODES[$(((i - 1) % ${#NODES[@]}))]}
  others=(); for o in "${NODES[@]}"; do [[ $o == "$lone" ]] || others+=("$o"); done
  if ! wait_until 30 heal_ready; then
    revive
    for r in "${REVIVED[@]}"; do
      for k in $(seq 1 $HEAL_TOPICS); do stop_watch "p$k.$r"; start_watch "p$k.$r" "$r" "$TMP/w.p$k.$r.$i" p "id=$k"; done
    done
    if ! wait_until 30 heal_ready; then note "heal trial $i: not ready in 60 s; the remaining heal trials are skipped"; break; fi
  fi
  sleep "0.$((RANDOM % 10))"
  lone_owned=$(view "${others[0]}" | awk -F'\t' -v l="$lone" '$2 == l' | wc -l)
  tc=$(us_now)
  lp "$lone" fault cut "${others[@]}" >/dev/null
  for o in "${others[@]}"; do lp "$o" fault cut "$lone" >/dev/null; done
  # Both sides own every topic: the others agree among themselves on owners among them, and the
  # lone node owns every topic (it has watchers of all of them).
  part_ready() {
    local o
    for o in "${others[@]}"; do sees dead "$o" "$lone" || return 1; done
    sees dead "$lone" "${others[@]}" || return 1
    agreed "$(IFS=,; echo "${others[*]}")" "${HT[@]}" || return 1
    [ "$(view "$lone" | awk -F'\t' -v l="$lone" '$1 ~ /^p[?]/ && $2 == l && $5 == 1' | wc -l)" -eq $HEAL_TOPICS ]
  }
  if ! wait_until 20 part_ready; then
    note "heal trial $i: sides did not both own every topic 20 s after cutting $lone off (others: $(view "${others[0]}" | tr '\t\n' ' ;'); $lone: $(view "$lone" | tr '\t\n' ' ;'))"
  fi
  tp=$(us_now)
  H_PART+=("$((tp - tc))")
  sleep 1.$((RANDOM % 10))
  rm -f "$TMP/snap.stop" "$TMP"/snap.*
  SL=()
  for n in "${NODES[@]}"; do snap_loop "$n" "$TMP/snap.$i.$n" & SL+=($!); AUX[$!]=1; done
  sleep 0.3
  offsets "$TMP/off.heal"
  t0=$(us_now)
  for n in "${NODES[@]}"; do lp "$n" fault heal >/dev/null & HP[$n]=$!; done
  for n in "${NODES[@]}"; do wait "${HP[$n]}"; done
  th=$(us_now)
  deadline=$(($(now_ms) + 15000)); res=""
  sleep 0.5
  while [ "$(now_ms)" -lt $deadline ]; do
    res=$(converged "$t0" "$TMP"/snap.$i.n?)
    [[ $res == ok* ]] && [ "$(cut -d' ' -f4 <<<"$res")" -ge 700000 ] && break
    sleep 0.2
  done
  touch "$TMP/snap.stop"
  for p in "${SL[@]}"; do wait "$p" 2>/dev/null; unset "AUX[$p]"; done
  res=$(converged "$t0" "$TMP"/snap.$i.n?)
  logs_since "$TMP/off.heal" >"$TMP/heal.$i.log"
  res0=$(converged_by 0 "$t0" "$TMP"/snap.$i.n?)
  # When the last of the others logs the cut-off node back ("member up" after a death, or
  # "member alive again" after a suspicion), and the last "clash ... resolved" (logs, ms).
  al=$(awk -F'\t' -v n="$lone" '$2 != n && (index($3, "member up: " n "#") == 1 || index($3, "member alive again: " n "#") == 1) {print $1}' "$TMP/heal.$i.log" | sort -n | tail -1)
  rs=$(awk -F'\t' 'index($3, "clash on ") == 1 && index($3, " resolved: ") {print $1}' "$TMP/heal.$i.log" | sort -n | tail -1)
  ncl=$(awk -F'\t' 'index($3, "clash on ") == 1 && !index($3, " resolved: ")' "$TMP/heal.$i.log" | wc -l)
  nre=$(awk -F'\t' 'index($3, "registered p?") == 1 && index($3, "re-epoch")' "$TMP/heal.$i.log" | wc -l)
  emax=$(for n in "${NODES[@]}"; do view "$n"; done | awk -F'\t' '$1 ~ /^p[?]/ && $3 > m {m = $3} END {print m + 0}')
  read -r r_min r_max r_mean _ < <(poll_rates '^p[?]' 3)
  H_RATEMAX+=("$r_max")
  if [[ $res == ok* ]]; then
    read -r _ conv first stable cnt per permax <<<"$res"
    H_CONV+=("$conv"); H_FIRST+=("$first"); H_PERIOD+=("$per"); H_PERIODMAX+=("$permax")
    [[ $res0 == ok* ]] && H_CONV0+=("$(cut -d' ' -f2 <<<"$res0")")
    [ -n "$al" ] && H_ALIVE+=("$((al - t0))")
    [ -n "$rs" ] && H_RESOLVED+=("$((rs - t0))")
    H_TRIALS+=("$i: $lone cut off (owned $lone_owned of $HEAL_TOPICS before); heal commands took $(ms $((th - t0))) ms; the others log $lone up $( [ -n "$al" ] && ms $((al - t0)) || echo ?) ms; last clash resolved (log) $( [ -n "$rs" ] && ms $((rs - t0)) || echo ?) ms; $ncl clash lines; converged: first node $(ms "$first") ms, all $(ms "$conv") ms (ignoring epochs: $( [[ $res0 == ok* ]] && ms "$(cut -d' ' -f2 <<<"$res0")" || echo "?") ms); $cnt snapshots, period p50 $(ms "$per") ms, max $(ms "$permax") ms; $nre re-epoch registrations, highest epoch now $emax; then polls/s per topic min $r_min, max $r_max, mean $r_mean")
  else
    note "heal trial $i ($lone): no agreed single owner per topic 15 s after the heal: $res; views: $(for n in "${NODES[@]}"; do echo -n "$n: $(view "$n" | tr '\t\n' ' ;') "; done)"
    H_TRIALS+=("$i: $lone cut off: NOT converged in 15 s ($res)")
  fi
  say "  heal ${H_TRIALS[-1]}"
done
awk -v m="$(pct 100 "${H_RATEMAX[@]}")" 'BEGIN {exit !(m > 1.5)}' && note "3: after the heals some topic is polled $(pct 100 "${H_RATEMAX[@]}") times a second at a 1 s interval (per-trial max: ${H_RATEMAX[*]})"
BROKEN3=()
for f in "$TMP"/w.p*; do why=$(stream_ok "$f") || BROKEN3+=("$(basename "$f"): $why"); done
[ ${#BROKEN3[@]} = 0 ] || note "scenario 3: broken streams: ${BROKEN3[*]}"
REAP3=$(logs_since "$TMP/off.s3" | grep -cE $'\treaped a zombie' || true)
for n in "${NODES[@]}"; do for k in $(seq 1 $HEAL_TOPICS); do stop_watch "p$k.$n"; done; done

# ---- 4. registration latency -----------------------------------------------------------------------
say "4: registration of a new topic, $JOIN_TRIALS trials"
CLI_RT=()
for i in $(seq 1 10); do a=$(us_now); lp n1 status --node n1 >/dev/null; b=$(us_now); CLI_RT+=("$((b - a))"); done
R_TOTAL=(); R_JOINREG=(); R_REGLINE=(); R_LOCAL=(); R_REMOTE=(); R_TRIALS=()
BASE=$((RANDOM * 10))
offsets "$TMP/off.s4"
for i in $(seq 1 "$JOIN_TRIALS"); do
  n=${NODES[$(((i - 1) % ${#NODES[@]}))]}
  id=$((BASE + i)); topic="reg?id=$id"
  offsets "$TMP/off.r"
  f="$TMP/w.reg.$i"
  t0=$(us_now)
  "$LIVEPOLL" -c "ipc://$TMP/$n.admin" watch reg "id=$id" --count 1 > >(stamp >"$f") 2>>"$TMP/watch.err" &
  W=$!; AUX[$W]=1
  deadline=$(($(now_ms) + 15000))
  until [ -s "$f" ] || [ "$(now_ms)" -ge $deadline ]; do sleep 0.01; done
  wait "$W" 2>/dev/null; unset "AUX[$W]"
  line=$(updates "$f" | head -1)
  if [ -z "$line" ]; then note "reg trial $i: no line on $n within 15 s"; continue; fi
  read -r tl own _ <<<"$line"
  sleep 0.1
  logs_since "$TMP/off.r" >"$TMP/r.log"
  reg=$(first_log "$TMP/r.log" "registered $topic ")
  nreg=$(awk -F'\t' -v p="registered $topic " 'index($3, p) == 1' "$TMP/r.log" | wc -l)
  [ "$nreg" -le 1 ] || note "reg trial $i: $topic registered $nreg times: $(grep -F "$topic" "$TMP/r.log" | cut -f2- | tr '\t\n' ' ;')"
  R_TOTAL+=("$((tl - t0))")
  where=remote; [ "$own" = "$n" ] && where=local
  if [ "$where" = local ]; then R_LOCAL+=("$((tl - t0))"); else R_REMOTE+=("$((tl - t0))"); fi
  if [ -n "$reg" ]; then R_JOINREG+=("$((reg - t0))"); R_REGLINE+=("$((tl - reg))"); fi
  R_TRIALS+=("$(ms $((tl - t0)))/$( [ -n "$reg" ] && ms $((reg - t0)) || echo ?)($where)")
  say "  reg $i on $n, owner $own: first line $(ms $((tl - t0))) ms, registered at $( [ -n "$reg" ] && ms $((reg - t0)) || echo ?) ms"
  sleep 0.2
done

# ---- 5. placement of 10,000 topics ------------------------------------------------------------------
say "5: $TOPICS topics over 3 nodes (lp_bench on n1)"
CLIENT_EP=$(lp n1 status --node n1 --json | jq -r .client_endpoint)
VIEW_TIMEOUT=5s  # 10,000 rows
offsets "$TMP/off.s5"
declare -A CPU0
for n in "${NODES[@]}"; do CPU0[$n]=$(cpu_ticks "${PID[$n]}"); done
RSS_BEFORE=$(for n in "${NODES[@]}"; do echo -n "$n $(rss_kib "${PID[$n]}") KiB; "; done)
# placement_state: per node "node owned live1 polled" for the slow topics.
placement_counts() {
  local n
  for n in "${NODES[@]}"; do
    view "$n" | awk -F'\t' -v n="$n" '$1 ~ /^slow[?]/ {t++; if ($2 != "-") o++; if ($4 == 1) l++; if ($5 == 1) p++}
      END {print n, t + 0, o + 0, l + 0, p + 0}'
  done
}
t5=$(us_now); T5MS=$(now_ms)
"$LP_BENCH" watchers --connect "$CLIENT_EP" --clients 100 --topics-per-client $((TOPICS / 100)) \
  --distinct-topics "$TOPICS" --query slow --param 'id={t}' --seconds 900 --json >"$TMP/w5.json" 2>"$TMP/w5.err" &
LPB=$!; AUX[$LPB]=1
P_ALL=""; P_POLLS=0; P_SEEN=""
deadline=$((T5MS + 300000))
while [ "$(now_ms)" -lt $deadline ]; do
  sleep 1
  tq=$(us_now)
  pc=$(placement_counts)
  tr=$(us_now)
  P_POLLS=$((P_POLLS + 1))
  # every node: every topic owned, one live claim each
  if awk -v T="$TOPICS" '{if ($3 != T || $4 != T) bad = 1} END {exit bad}' <<<"$pc" && [ "$(wc -l <<<"$pc")" -eq 3 ]; then
    P_ALL=$((tr - t5)); P_SEEN="$pc"; P_QUERY=$((tr - tq)); break
  fi
  say "  $(echo "$pc" | tr '\n' ';')"
done
[ -n "$P_ALL" ] || note "5: not every topic owned on every node within 300 s: $(placement_counts | tr '\n' ';')"
logs_since "$TMP/off.s5" >"$TMP/s5.log"
REG5=$(awk -F'\t' 'index($3, "registered slow?") == 1 {print $1 "\t" $2}' "$TMP/s5.log" | sort -n)
REG5_N=$(wc -l <<<"$REG5" | awk '{print $1}'); [ -z "$REG5" ] && REG5_N=0
REG5_DISTINCT=$(awk -F'\t' 'index($3, "registered slow?") == 1 {sub(/^registered /, "", $3); sub(/ .*/, "", $3); print $3}' "$TMP/s5.log" | sort -u | wc -l)
REG5_LAST=$(tail -1 <<<"$REG5" | cut -f1); REG5_FIRST=$(head -1 <<<"$REG5" | cut -f1)
REG5_PER=$(cut -f2 <<<"$REG5" | sort | uniq -c | awk '{printf "%s %s; ", $2, $1}')
CLASH5=$(grep -cE $'\t(clash on|reaped a zombie|took over)' "$TMP/s5.log" || true)
# Per node: the topics it polls; the whole: total, distinct, owned-but-not-polled.
for n in "${NODES[@]}"; do
  view "$n" | awk -F'\t' '$1 ~ /^slow[?]/ && $5 == 1 {print $1}' | sort >"$TMP/polled.$n"
  view "$n" | awk -F'\t' -v n="$n" '$1 ~ /^slow[?]/ && $2 == n {print $1}' | sort >"$TMP/owned.$n"
done
POLLED_PER=""; PMAX=0; PMIN=$TOPICS
for n in "${NODES[@]}"; do
  c=$(wc -l <"$TMP/polled.$n"); POLLED_PER+="$n $c; "
  [ "$c" -gt "$PMAX" ] && PMAX=$c; [ "$c" -lt "$PMIN" ] && PMIN=$c
done
POLLED_TOTAL=$(cat "$TMP"/polled.n? | wc -l)
POLLED_DISTINCT=$(cat "$TMP"/polled.n? | sort -u | wc -l)
POLLED_TWICE=$(cat "$TMP"/polled.n? | sort | uniq -d | wc -l)
OWNED_NOT_POLLED=$(for n in "${NODES[@]}"; do comm -23 "$TMP/owned.$n" "$TMP/polled.$n"; done | wc -l)
POLLED_NOT_OWNED=$(for n in "${NODES[@]}"; do comm -13 "$TMP/owned.$n" "$TMP/polled.$n"; done | wc -l)
[ "$POLLED_TWICE" = 0 ] || note "5: $POLLED_TWICE topics polled on two nodes, e.g. $(cat "$TMP"/polled.n? | sort | uniq -d | head -3 | tr '\n' ' ')"
[ "$POLLED_TOTAL" = "$TOPICS" ] && [ "$POLLED_DISTINCT" = "$TOPICS" ] || note "5: $POLLED_TOTAL pollers for $POLLED_DISTINCT distinct topics (want $TOPICS)"
RSS_AFTER=$(for n in "${NODES[@]}"; do echo -n "$n $(rss_kib "${PID[$n]}") KiB; "; done)
# Did every subscriber get its topic's first result? The query's result never changes, so a
# lost first update is not followed by another for good. n1 (where every subscriber is) shows a
# topic it has not received (or polled) a result of as state "waiting"/"starting"; lp_bench counts
# the updates it got.
sleep "$SETTLE"
"$LIVEPOLL" -c "ipc://$TMP/n1.admin" --timeout 5s subs --node n1 --json | jq -c 'select(.topic | startswith("slow?"))' >"$TMP/n1subs.json"
NOSEQ=$(jq -r 'select(.state != "relayed" and .state != "polling") | "\(.owner // "none")/\(.state)"' "$TMP/n1subs.json" | sort | uniq -c | awk '{printf "owner/state %s: %s; ", $2, $1}')
NOSEQ_N=$(jq -r 'select(.state != "relayed" and .state != "polling") | .topic' "$TMP/n1subs.json" | wc -l)
NOSEQ_EX=$(jq -c 'select(.state != "relayed" and .state != "polling")' "$TMP/n1subs.json" | head -2 | tr '\n' ' ')
STATES5=$(jq -r '"\(.owner // "none")/\(.state)"' "$TMP/n1subs.json" | sort | uniq -c | awk '{printf "%s %s; ", $2, $1}')
STATS5=$(for n in "${NODES[@]}"; do echo -n "$n:"; lp "$n" stats --node "$n" 2>/dev/null | awk -F'\t' '$2 ~ /^(joins|data_updates_sent|data_updates_received|updates_sent|updates_fenced|updates_dropped_slow_client|clients_dropped|stream_gaps|snapshot_fetches|polls|registrations|proposals_denied)$/ {printf " %s=%s", $2, $3}'; echo -n "; "; done)
[ "$NOSEQ_N" = 0 ] || note "5: $SETTLE s after every topic was owned, n1 had no result for $NOSEQ_N of its $TOPICS topics ($NOSEQ), e.g. $NOSEQ_EX; counters: $STATS5"
CPU5=$(for n in "${NODES[@]}"; do awk -v a="${CPU0[$n]}" -v b="$(cpu_ticks "${PID[$n]}")" -v hz="$CLK_TCK" -v n="$n" 'BEGIN {printf "%s %.2f s; ", n, (b - a) / hz}'; done)
kill -TERM "$LPB" 2>/dev/null; wait "$LPB" 2>/dev/null; unset "AUX[$LPB]"
LPB_JSON=$(cat "$TMP/w5.json" 2>/dev/null)

# ---- health at the end ---------------------------------------------------------------------------
CRASH=""
for n in "${NODES[@]}"; do
  kill -0 "${PID[$n]}" 2>/dev/null || CRASH+="$n exited; "
  if grep -qiE 'terminate called|Segmentation|Aborted|AddressSanitizer|assert|unexpected failure' "$TMP/$n.log"; then
    CRASH+="$n log: $(grep -iE 'terminate called|Segmentation|Aborted|AddressSanitizer|assert|unexpected failure' "$TMP/$n.log" | head -2 | tr '\n' ';') "
  fi
done
[ -z "$CRASH" ] || note "crash/exit: $CRASH"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
T_TOTAL=$((($(now_ms) - T_START) / 1000))

# ---- report --------------------------------------------------------------------------------------
report <<EOF

## livepoll registry benchmark ($(date -u +%Y-%m-%dT%H:%MZ))

Machine: $NPROC CPUs, $MODEL, ${MEM_GB} GiB RAM, Linux $KERNEL; build: $BUILD (livepolld built $BUILT; source $SRC at $SRC_REV when the run started, $NEWER commits to lib/ daemon/ cmd/ plugins/ since the binary was built).
Load: loadavg $LOAD_START at start (CPU busy ${BUSY_START}% over 2 s before start; top: $TOP_START), $LOAD_END at the end; the run took ${T_TOTAL} s.
Cluster: 3 livepolld on 127.0.0.1 (gossip/rpc tcp, admin/client ipc), defaults (gossip_interval 100ms, suspect_after 500ms, dead_after 1s, takeover_timeout 1s, linger 5s), JSON logs, every process on the same machine; queries every 1 s (jitter 10 %) unless said.
Watcher lines are stamped with bash's \$EPOCHREALTIME on arrival (µs); the daemons' log "ts" has 1 ms resolution. Percentiles are nearest-rank; with 20 samples p99 is the maximum.

| # | measure | livepoll | DESIGN.md target / reference |
| --- | --- | --- | --- |
| 1 | kill -9 of the owner -> first line from the successor, first surviving watcher ($K_N/$KILL_TRIALS trials) | $(summary "${K_FIRST[@]}") | successor registered and polling: p99 < 15 ms; Erlang :global re-registers in 5.7 ms p50, 13 ms max |
| 1 | ... at the last surviving watcher | $(summary "${K_LAST[@]}") | — |
| 1 | ... of which: first survivor logs "member down" | $(summary "${K_DET[@]}") | — |
| 1 | ... of which: both survivors have logged "member down" | $(summary "${K_DETLAST[@]}") | — |
| 1 | ... of which: successor logs "registered clock" | $(summary "${K_REG[@]}") | — |
| 1 | last line from the victim -> first from the successor, per surviving watcher | $(summary "${K_GAP[@]}"); trials with a gap over 1.5 intervals: $K_OVER | one interval (1 s) or less |
| 2 | SIGTERM of the owner -> first line from the successor, first surviving watcher ($T_N/$TERM_TRIALS trials) | $(summary "${T_FIRST[@]}") | "its topics move at once" |
| 2 | ... at the last surviving watcher | $(summary "${T_LAST[@]}") | — |
| 2 | ... of which: first survivor logs "member down" (left) | $(summary "${T_DET[@]}") | — |
| 2 | ... of which: both survivors have logged "member down" | $(summary "${T_DETLAST[@]}") | — |
| 2 | ... of which: successor logs "registered clock" | $(summary "${T_REG[@]}") | — |
| 2 | SIGTERM -> the old owner's process has exited | $(summary "${T_EXIT[@]}") | — |
| 2 | last line from the old owner -> first from the new one, per surviving watcher (${#T_GAP[@]} gaps) | $(summary "${T_GAP[@]}") | one interval or less: no update missed |
| 2 | missed updates: trials where a surviving watcher's gap exceeded 1.5 intervals | $T_OVER of $T_N (worst gap per trial: p50 $(pms 50 "${T_GAPMAX[@]}") ms, max $(pms 100 "${T_GAPMAX[@]}") ms; missed intervals at the worst: $(awk -v g="$(pct 100 "${T_GAPMAX[@]}")" -v i=$INTERVAL_US 'BEGIN {m = (g - i) / i; if (m < 0) m = 0; printf "%.2f", m}')) | 0 |
| 1-2 | database polls per second of clock after the trials (5 s) | $CR_MEAN | 1 (0.9-1.1 with jitter) |
| 1-2 | registrations of clock per trial other than exactly one; broken streams; clash/reap lines | $K_DOUBLE (kill) + $T_DOUBLE (term); ${#BROKEN12[@]} of $CLOCK_FILES watcher files; $CLASH12 | 0; 0; 0 |
| 3 | partition healed -> every node shows one live claim and the same owner per topic, only the owner polling (${#H_CONV[@]}/$HEAL_TRIALS trials, $HEAL_TOPICS topics, 30 watchers) | $(summary "${H_CONV[@]}") | within 50 ms, whatever the cluster size; Erlang :global 1-vs-1: 212 ms |
| 3 | ... the same, but the nodes may still differ on the epoch | $(summary "${H_CONV0[@]}") | — |
| 3 | ... the first node to get there | $(summary "${H_FIRST[@]}") | — |
| 3 | ... of which: the last of the others logs the cut-off node up again | $(summary "${H_ALIVE[@]}") | — |
| 3 | ... of which: the last "clash ... resolved" log line | $(summary "${H_RESOLVED[@]}") | — |
| 3 | resolution: one \`subs --node N --json\` per node back to back, snapshot period | p50 $(pms 50 "${H_PERIOD[@]}") ms, max $(pms 100 "${H_PERIODMAX[@]}") ms | — |
| 3 | cut -> both sides own every topic (poll every ~50 ms) | $(summary "${H_PART[@]}") | detection (~1 s) + takeover |
| 3 | database polls per second per topic (1 s interval; all nodes' \`polls\` summed): before the first cut (5 s) / 3 s after each heal | min $PR0_MIN, max $PR0_MAX, mean $PR0_MEAN / max per trial: ${H_RATEMAX[*]:-} | 1 (0.9-1.1 with jitter) |
| 3 | broken streams; reaped zombies | ${#BROKEN3[@]} of $((3 * HEAL_TOPICS)) watcher files; $REAP3 | 0; 0 |
| 4 | join of a new topic (\`livepoll watch --count 1\` started) -> its first line | $(summary "${R_TOTAL[@]}") | registration p99 < 5 ms |
| 4 | ... join -> owner logs "registered" | $(summary "${R_JOINREG[@]}") | — |
| 4 | ... "registered" -> first line at the watcher | $(summary "${R_REGLINE[@]}") | — |
| 4 | ... owner on the watcher's node / on another node | local: $(summary "${R_LOCAL[@]}"); remote: $(summary "${R_REMOTE[@]}") | — |
| 4 | reference: \`livepoll status --node N\` (CLI start + one admin round trip) | $(summary "${CLI_RT[@]}") | — |
| 5 | $TOPICS topics (lp_bench: 100 clients x $((TOPICS / 100)) topics on n1, 60 s query) -> all registered (last "registered" log line) | $( [ -n "$REG5_LAST" ] && ms $((REG5_LAST - t5)) || echo n/a) ms from lp_bench start (first at $( [ -n "$REG5_FIRST" ] && ms $((REG5_FIRST - t5)) || echo n/a) ms); $REG5_N registrations of $REG5_DISTINCT distinct topics | over 20,000 registrations/s across 3 nodes |
| 5 | ... every node shows every topic owned with one live claim (subs --json about every 1 s; one round of 3 took $( [ -n "${P_QUERY:-}" ] && ms "$P_QUERY" || echo ?) ms) | $( [ -n "$P_ALL" ] && ms "$P_ALL" || echo "not reached") ms | — |
| 5 | topics polled per node (polls != null) | $POLLED_PER max $PMAX, min $PMIN | rendezvous hashing: ~$((TOPICS / 3)) each |
| 5 | total pollers / distinct topics / topics polled twice / owned but not polled / polled but not owned | $POLLED_TOTAL / $POLLED_DISTINCT / $POLLED_TWICE / $OWNED_NOT_POLLED / $POLLED_NOT_OWNED | $TOPICS / $TOPICS / 0 / 0 / 0 |
| 5 | registrations by node (log) | $REG5_PER | — |
| 5 | subscriptions that got their topic's first result ($SETTLE s after all were owned; lp_bench's count) / topics n1 never got an update for | $(jq -r '.snapshots // "?"' <<<"$LPB_JSON" 2>/dev/null) of $TOPICS / $NOSEQ_N ${NOSEQ:+($NOSEQ)} | $TOPICS / 0 |
| 5 | n1's topics by owner/state at that point | $STATES5 | — |
| 5 | daemon counters at that point | $STATS5 | — |
| 5 | daemon RSS: idle at start / before the load / with $TOPICS topics | $RSS_IDLE / $RSS_BEFORE / $RSS_AFTER | — |
| 5 | daemon CPU from lp_bench start until checked | $CPU5 | — |

Kill -9 trials (victim -> successor; log times and first line per surviving watcher, from t0):
$(printf -- '- %s\n' "${K_TRIALS[@]}")

SIGTERM trials:
$(printf -- '- %s\n' "${T_TRIALS[@]}")

Partition trials:
$(printf -- '- %s\n' "${H_TRIALS[@]}")

Registration trials (first line / registered, ms from t0): ${R_TRIALS[*]:-}

Placement (5): per node "node topics owned live-claim-1 polled" when all were owned: $(echo "$P_SEEN" | tr '\n' ';'); $CLASH5 clash/reap/takeover lines; lp_bench: $LPB_JSON
EOF
if [ ${#NOTES[@]} -gt 0 ]; then
  echo
  echo "Notes:"
  printf -- '- %s\n' "${NOTES[@]}"
fi
