#!/usr/bin/env bash
# livepolld capacity benchmarks (issue 7, item 3): real daemons (SQLite through the soci plugin),
# the lp_bench load client on the same machine, measured from the outside (/proc, `livepoll stats`,
# `status`, `subs`); prints a markdown report on stdout, progress on stderr.
#
#   tests/bench/capacity_run.sh [BUILD_DIR]          (default /work/main/build-capbench)
#
# Needs livepolld, livepoll, lp_bench and the soci plugin (BUILD_DIR/plugins/lib/soci.so) built in
# BUILD_DIR, and jq, awk, sqlite3. Scenarios, in order:
#   1. One standalone node, CAP_S1_CLIENTS (1000) lp_bench clients x CAP_S1_PER_CLIENT (100) topics
#      over CAP_S1_TOPICS (10000) distinct topics (every topic has 10 subscribers) of
#      `SELECT id, v FROM items WHERE id = :id` (a primary-key lookup) at CAP_S1_INTERVAL (1s),
#      default jitter. Measured: VmRSS idle (catalog loaded) and with every subscription held ->
#      bytes per subscription; the time until lp_bench has all joins acknowledged (its
#      all_joined_ms) and until `status` counts them; then over CAP_WINDOW (30) s at steady state:
#      polls/s (`stats` polls delta / wall time) against the nominal topics / interval, the daemon's
#      CPU (utime+stime from /proc/PID/stat, % of one core; its main thread apart), the load
#      client's CPU, and whether it keeps up (polls/s >= 97 % of nominal, and at the end of the
#      window how many topics' last poll is older than 2 intervals, from `subs`).
#   2. Fan-out: a fresh node per step of CAP_FAN_STEPS ("TxN@MS ...", default
#      "1x1000@100 10x1000@100 10x2000@100 20x2000@100 1x10000@1000 1x10000@250"): T topics of a
#      query whose result changes at every poll (`SELECT :id AS id, julianday('now') AS v`, key
#      id: each poll is a 1-row diff), N watchers each joined to all T topics (N clients spread over lp_bench processes of
#      at most 2500 connections: each costs two file descriptors), interval MS, jitter 0: nominal
#      T x N x 1000/MS updates/s. The changes are off while the watchers join (each gets its
#      snapshot), then on; after 3 s, over CAP_FAN_WINDOW (15) s: updates_sent/s and polls/s from
#      `stats`, daemon CPU (process and main thread) and the load clients' CPU. Then a control row
#      stops the changes (the query returns 0), and after a drain the daemon's updates_sent is
#      compared with what lp_bench received, with lp_bench's seq gaps and the daemon's
#      updates_dropped_slow_client and clients_dropped. A step is "without loss" when the last
#      three are 0 and received = sent; "sustained" when polls/s reach 97 % of nominal.
#   3. Cluster: 5 livepolld on 127.0.0.1 started like cluster_run.sh (tcp gossip/rpc on free ports
#      below 32768, ipc admin/client, default timings, hashed placement), one lp_bench per node
#      joining CAP_CL_CLIENTS (200) clients x CAP_CL_PER_CLIENT (10) topics of
#      `SELECT id, v, :n AS part FROM items WHERE id = :id` with n = the node's number (5 x 2000 =
#      10000 distinct topics, one subscriber each) at CAP_CL_INTERVAL (1s). Per node, over
#      windows of CAP_CL_WINDOW (30) s: gossip_bytes_sent/s and rpc_bytes_sent/s (`stats`, which
#      answers with a node column for every node at once), CPU and VmRSS, in three states: no
#      subscription (CAP_CL_BASE_WINDOW, 10 s), the 10,000 topics held with nothing changing, and
#      with `lp_bench writer` running CAP_CL_WRITER_SQL every CAP_CL_WRITER_MS (100) ms (by default
#      about 10 of the 2000 watched ids a commit, each id watched as 5 topics).
# Every window also records the machine: loadavg, CPU busy on all cores (/proc/stat), and the
# processes not started by this script that used the most CPU during the window.
# Benchmarks measure: no timing bound fails the run. The exit status is non-zero when a scenario
# could not run at all (a daemon did not start, the cluster did not form) or a figure could not
# be read (lib.sh: report). BENCH_SMOKE=1: every scenario with a tiny load for seconds. Every process
# this script started is stopped by pid, and the temp folder removed, on any exit;
# CAP_KEEP=DIR copies logs and JSON there first.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # now_ms, cpu_ticks, CLK_TCK, free_port

BUILD=$(cd "${1:-/work/main/build-capbench}" 2>/dev/null && pwd) || { echo "capacity_run.sh: no build folder ${1:-/work/main/build-capbench}" >&2; exit 2; }
LIVEPOLLD=$BUILD/daemon/livepolld
LIVEPOLL=$BUILD/cmd/livepoll
LP_BENCH=$BUILD/tests/bench/lp_bench
PLUGINS=$BUILD/plugins/lib
if smoke; then  # every scenario, tiny: the script checks itself (the test command runs it so)
  CAP_WINDOW=2 CAP_S1_CLIENTS=5 CAP_S1_PER_CLIENT=5 CAP_S1_TOPICS=25 CAP_FAN_STEPS=2x10@100
  CAP_FAN_WINDOW=2 CAP_CL_CLIENTS=5 CAP_CL_PER_CLIENT=2 CAP_CL_WINDOW=2 CAP_CL_BASE_WINDOW=2
fi
WINDOW=${CAP_WINDOW:-30}
S1_CLIENTS=${CAP_S1_CLIENTS:-1000}
S1_PER_CLIENT=${CAP_S1_PER_CLIENT:-100}
S1_TOPICS=${CAP_S1_TOPICS:-10000}
S1_INTERVAL=${CAP_S1_INTERVAL:-1s}
FAN_STEPS=${CAP_FAN_STEPS:-1x1000@100 10x1000@100 10x2000@100 20x2000@100 1x10000@1000 1x10000@250}
FAN_WINDOW=${CAP_FAN_WINDOW:-15}
FAN_PER_PROC=${CAP_FAN_PER_PROC:-2500}
CL_CLIENTS=${CAP_CL_CLIENTS:-200}
CL_PER_CLIENT=${CAP_CL_PER_CLIENT:-10}
CL_INTERVAL=${CAP_CL_INTERVAL:-1s}
CL_WINDOW=${CAP_CL_WINDOW:-30}
CL_BASE_WINDOW=${CAP_CL_BASE_WINDOW:-10}
CL_WRITER_MS=${CAP_CL_WRITER_MS:-100}
CL_TOPICS_PER_NODE=$((CL_CLIENTS * CL_PER_CLIENT))
CL_WRITER_SQL=${CAP_CL_WRITER_SQL:-UPDATE items SET v = v + 1 WHERE id < $CL_TOPICS_PER_NODE AND abs(random()) % 200 = 0}
SCENARIOS=${CAP_SCENARIOS:-1 2 3}
NODES=(n1 n2 n3 n4 n5)

for f in "$LIVEPOLLD" "$LIVEPOLL" "$LP_BENCH" "$PLUGINS/soci.so"; do
  [ -e "$f" ] || { echo "capacity_run.sh: missing $f (build livepolld livepoll lp_bench soci_plugin in $BUILD)" >&2; exit 2; }
done
for t in jq awk sqlite3; do command -v "$t" >/dev/null || { echo "capacity_run.sh: needs $t" >&2; exit 2; }; done

TMP=$(mktemp -d /tmp/lp-capbench.XXXXXX)
PIDS=()    # every process this script started, stopped by pid on exit
DAEMONS=() # the daemons among them: SIGTERM, then SIGKILL after 10 s
cleanup() {
  local p i alive
  for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -TERM "$p" 2>/dev/null || true; done
  for i in $(seq 1 100); do
    alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  if [ -n "${CAP_KEEP:-}" ]; then mkdir -p "$CAP_KEEP" && cp -r "$TMP"/. "$CAP_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
cd "$TMP" || exit 1  # nothing this script writes lands in the caller's folder
trap 'exit 130' INT TERM
# 10,000 watchers are 10,000 connections in the daemon.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

NOTES=()
note() { NOTES+=("$*"); echo "capacity_run.sh: $*" >&2; }
say() { echo "capacity_run.sh: $*" >&2; }
# utime+stime in clock ticks (after the ')' of comm, which may hold spaces); a whole process, or
# one thread with /proc/PID/task/TID.
main_ticks() { sed 's/^.*) //' "/proc/$1/task/$1/stat" 2>/dev/null | awk '{print $12 + $13}'; }
sum_ticks() { local p s=0 t; for p in "$@"; do t=$(cpu_ticks "$p"); s=$((s + ${t:-0})); done; echo $s; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
threads_of() { awk '/^Threads:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
# pct_core TICKS MS: % of one core.
pct_core() { awk -v t="$1" -v hz="$CLK_TCK" -v ms="$2" 'BEGIN {printf "%.1f", (ms > 0 ? 100 * t / hz / (ms / 1000) : 0)}'; }
rate() { awk -v n="$1" -v ms="$2" 'BEGIN {printf "%.0f", (ms > 0 ? n / (ms / 1000) : 0)}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
fmt() { printf "%'d" "$1" 2>/dev/null || echo "$1"; }

# ---- machine load ---------------------------------------------------------------------------------
# sys_snap: "busy total" jiffies of all cores (/proc/stat).
sys_snap() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
# proc_snap FILE: "pid ticks" of every process.
proc_snap() {
  # Fields after the last ") " (the end of comm) start at state: utime and stime are the 12th, 13th.
  # (cat, not awk on the files: a process may exit meanwhile, and mawk stops at a missing file.)
  cat /proc/[0-9]*/stat 2>/dev/null |
    awk 'match($0, /.*\) /) {split(substr($0, RLENGTH + 1), f, " "); print $1, f[12] + f[13]}' >"$1"
}
# win_begin NAME / win_end NAME: records the machine over a window; win_end prints
# "busy% of all cores|ours% |others' top" and keeps LOAD_NAME.
declare -A WSYS WMS
win_begin() { WSYS[$1]=$(sys_snap); WMS[$1]=$(now_ms); proc_snap "$TMP/win.$1.0"; }
win_end() {
  local name=$1 s1 busy ours others top ms
  s1=$(sys_snap); ms=$(($(now_ms) - WMS[$name]))
  proc_snap "$TMP/win.$name.1"
  busy=$(echo "${WSYS[$name]} $s1" | awk -v n="$(nproc)" '{printf "%.0f", n * 100 * ($3 - $1) / ($4 - $2)}')
  printf "%s\n" "${PIDS[@]}" $$ | sort -u >"$TMP/ours"
  # Processes of ours, and the rest; the top five of the rest with their command lines.
  join <(sort "$TMP/win.$name.0") <(sort "$TMP/win.$name.1") | awk '{print $1, $3 - $2}' >"$TMP/win.$name.d"
  ours=$(awk 'NR == FNR {o[$1] = 1; next} ($1 in o) {s += $2} END {print s + 0}' "$TMP/ours" "$TMP/win.$name.d")
  others=$(awk 'NR == FNR {o[$1] = 1; next} !($1 in o) {s += $2} END {print s + 0}' "$TMP/ours" "$TMP/win.$name.d")
  top=$(awk 'NR == FNR {o[$1] = 1; next} !($1 in o) && $2 > 0 {print $2, $1}' "$TMP/ours" "$TMP/win.$name.d" |
    sort -rn | head -4 | while read -r t p; do
      c=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | awk '{n = split($1, a, "/"); s = a[n]; for (i = 2; i <= NF && length(s) < 60; i++) s = s " " $i; print s}')
      [ -n "$c" ] || c="[$(cat "/proc/$p/comm" 2>/dev/null || echo "pid $p, exited")]"
      printf '%s %s%%; ' "$c" "$(pct_core "$t" "$ms")"
    done)
  echo "loadavg $(cut -d' ' -f1-3 /proc/loadavg); all cores ${busy}% busy (of $(($(nproc) * 100))%): ours $(pct_core "$ours" "$ms")%, others $(pct_core "$others" "$ms")% [${top% }]"
}

NPROC=$(nproc)
MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MEM_GB=$(awk '/^MemTotal:/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
KERNEL=$(uname -r)
SQLITE_VER=$(sqlite3 --version 2>/dev/null | awk '{print $1}')
T_START=$(now_ms)
win_begin start; sleep 2; LOAD_START=$(win_end start)
say "machine: $NPROC CPUs, $MODEL; before start: $LOAD_START"

# ---- database -------------------------------------------------------------------------------------
DB=$TMP/bench.db
ROWS=$S1_TOPICS; [ "$CL_TOPICS_PER_NODE" -gt "$ROWS" ] && ROWS=$CL_TOPICS_PER_NODE
"$LP_BENCH" initdb --db "$DB" --rows "$ROWS" >/dev/null || { echo "capacity_run.sh: initdb failed" >&2; exit 1; }
sqlite3 "$DB" 'CREATE TABLE ctl(on_ INTEGER NOT NULL); INSERT INTO ctl VALUES (1);' ||
  { echo "capacity_run.sh: cannot create table ctl" >&2; exit 1; }
set_changes() { sqlite3 -cmd '.timeout 5000' "$DB" "UPDATE ctl SET on_ = $1" >/dev/null; }

# catalog FILE TICK_INTERVAL_MS: the catalog every scenario uses, with extra [node] lines on stdin.
catalog() {
  { cat; cat <<EOF

[source.bench]
plugin = soci
dsn = sqlite3://db=$DB
max_concurrent = 4

# 1: a primary-key lookup, 1 s, default jitter.
[query.mem]
source = bench
sql = SELECT id, v FROM items WHERE id = :id
params = id
key = id
interval = $S1_INTERVAL

# 2: a 1-row result that changes at every poll while ctl.on_ = 1.
[query.tick]
source = bench
sql = SELECT :id AS id, CASE WHEN (SELECT on_ FROM ctl) = 1 THEN julianday('now') ELSE 0 END AS v
params = id
key = id
interval = ${2}ms
jitter = 0

# 3: one topic per (node number, id).
[query.cl]
source = bench
sql = SELECT id, v, :n AS part FROM items WHERE id = :id
params = n, id
key = id
interval = $CL_INTERVAL
EOF
  } >"$1"
}

# ---- one standalone daemon ------------------------------------------------------------------------
# start_daemon NAME TICK_MS: sets DPID, CLIENT, ADMIN.
start_daemon() {
  local name=$1 i
  CLIENT=ipc://$TMP/$name.client
  ADMIN=ipc://$TMP/$name.admin
  catalog "$TMP/$name.conf" "$2" <<EOF
[node]
name = $name
client_bind = $CLIENT
admin_bind = $ADMIN
client_timeout = 10s
linger = 5s
EOF
  "$LIVEPOLLD" --config "$TMP/$name.conf" --plugin-dir "$PLUGINS" 2>"$TMP/$name.log" &
  DPID=$!
  PIDS+=("$DPID")
  for i in $(seq 1 100); do
    if "$LIVEPOLL" -c "$ADMIN" --timeout 200ms status >/dev/null 2>&1; then return 0; fi
    kill -0 "$DPID" 2>/dev/null || break
    sleep 0.1
  done
  echo "capacity_run.sh: livepolld ($name) did not start; log:" >&2
  cat "$TMP/$name.log" >&2
  exit 1
}
lpa() { "$LIVEPOLL" -c "$ADMIN" --timeout 5s "$@"; }
# stat_of KEY: a counter of the standalone daemon (stats rows: node, name, value).
# Under load an admin answer may be late: three tries of 5 s; empty if none came.
stat_of() {
  local i v
  for i in 1 2 3; do
    v=$(lpa stats 2>/dev/null | awk -F'\t' -v k="$1" '$2 == k {print $3}')
    [ -n "$v" ] && { echo "$v"; return; }
  done
  say "no answer to stats ($1) in 3 tries"
}
stats_line() { lpa stats 2>/dev/null | awk -F'\t' '{printf "%s=%s ", $2, $3}'; }
# status_of COLUMN: a column of the daemon's `status` row.
status_of() {
  lpa --header status 2>/dev/null | awk -F'\t' -v c="$1" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == c) k = i; next} {print $k}'
}
subscribers_are() { [ "$(status_of subscribers)" = "$1" ]; }
wait_until() {  # wait_until SECONDS CMD...: 1 on timeout
  local deadline=$(($(now_ms) + $1 * 1000)); shift
  until "$@"; do
    [ "$(now_ms)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
# stop_pid PID WHAT: SIGTERM, a bounded wait, its exit status noted when not 0.
stop_pid() {
  local p=$1 what=$2 i rc
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 1 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then
    note "$what (pid $p) did not exit within 15 s of SIGTERM; killed"
    kill -KILL "$p" 2>/dev/null
  fi
  wait "$p" 2>/dev/null; rc=$?
  [ "$rc" = 0 ] || note "$what (pid $p) exited with status $rc"
}
# log_problems FILE: crash or error lines of a daemon log.
log_problems() {
  grep -iE 'terminate called|segmentation|aborted|sanitizer|assert|\berror\b|\bwarn' "$1" 2>/dev/null | head -3 | tr '\n' ';'
}
# lateness INTERVAL_MS: "topics, late (last poll older than 2 intervals), max last_poll_ms, p99".
lateness() {
  lpa --header subs 2>/dev/null | awk -F'\t' 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "last_poll_ms") k = i; next} {print ($k == "" ? 999999999 : $k + 0)}' |
    sort -n | awk -v iv="$1" '{a[NR] = $1; if ($1 > 2 * iv) late++}
      END {k = int(0.99 * NR); if (k < 1) k = 1; printf "%d %d %d %d", NR, late, a[NR], a[k]}'
}
ms_of() { awk -v d="$1" 'BEGIN {if (d ~ /ms$/) print d + 0; else if (d ~ /s$/) print 1000 * d; else if (d ~ /m$/) print 60000 * d; else print d}'; }

S1_ROWS=(); FAN_ROWS=(); CL_ROWS=(); CL_NODE_ROWS=(); LOADS=()
S1_DONE=""; FAN_DONE=""; CL_DONE=""

# ---- 1. 100,000 subscriptions over 10,000 topics on one node ------------------------------------
scenario1() {
  local nsubs=$((S1_CLIENTS * S1_PER_CLIENT)) iv_ms
  iv_ms=$(ms_of "$S1_INTERVAL")
  say "1: one node, $S1_CLIENTS clients x $S1_PER_CLIENT topics over $S1_TOPICS topics at $S1_INTERVAL"
  start_daemon s1 100
  sleep 2
  local idle idle_threads c0 c1 t0 t1
  idle=$(rss_kb "$DPID"); idle_threads=$(threads_of "$DPID")
  c0=$(cpu_ticks "$DPID"); t0=$(now_ms); sleep 5; c1=$(cpu_ticks "$DPID"); t1=$(now_ms)
  local idle_cpu; idle_cpu=$(pct_core $((c1 - c0)) $((t1 - t0)))
  local tj0 bench join_s
  tj0=$(now_ms)
  "$LP_BENCH" watchers --connect "$CLIENT" --clients "$S1_CLIENTS" --topics-per-client "$S1_PER_CLIENT" \
    --distinct-topics "$S1_TOPICS" --query mem --param 'id={t}' --seconds 3600 --json \
    >"$TMP/s1.json" 2>"$TMP/s1.err" &
  bench=$!; PIDS+=("$bench")
  if wait_until 300 subscribers_are "$nsubs"; then
    join_s=$(awk -v ms="$(($(now_ms) - tj0))" 'BEGIN {printf "%.1f", ms / 1000}')
  else
    join_s="not reached in 300 s"
    note "1: only $(status_of subscribers)/$nsubs subscribed after 300 s"
  fi
  say "1: $(status_of subscribers) subscriptions on $(status_of topics) topics after $join_s s; settling"
  # Every topic polled a few times, every snapshot delivered.
  sleep $((3 * iv_ms / 1000 + 5))
  local loaded topics subs
  loaded=$(rss_kb "$DPID"); topics=$(status_of topics); subs=$(status_of subscribers)
  local p0 p1 m0 m1 b0 b1 e0 e1 late_before
  late_before=$(lateness "$iv_ms")
  win_begin s1
  c0=$(cpu_ticks "$DPID"); m0=$(main_ticks "$DPID"); b0=$(cpu_ticks "$bench"); p0=$(stat_of polls); e0=$(stat_of poll_errors); t0=$(now_ms)
  # VmRSS every 5 s over the window: growth at a steady load would be a leak.
  local series=() k
  for k in $(seq 1 $((WINDOW / 5))); do series+=("$(rss_kb "$DPID")"); sleep 5; done
  sleep $((WINDOW % 5))
  c1=$(cpu_ticks "$DPID"); m1=$(main_ticks "$DPID"); b1=$(cpu_ticks "$bench"); p1=$(stat_of polls); e1=$(stat_of poll_errors); t1=$(now_ms)
  local load; load=$(win_end s1)
  local late_after end_rss hwm threads zomb
  late_after=$(lateness "$iv_ms")
  end_rss=$(rss_kb "$DPID"); hwm=$(hwm_kb "$DPID"); threads=$(threads_of "$DPID")
  series+=("$end_rss")
  local growth
  growth=$(awk -v a="${series[0]}" -v b="$end_rss" -v ms="$(($(now_ms) - t0))" 'BEGIN {printf "%+.0f KiB/s", (b - a) / (ms / 1000)}')
  zomb=$(lpa zombies --reason stalled 2>/dev/null | wc -l)
  local ms=$((t1 - t0)) polls=$((p1 - p0))
  local pps nominal ratio keeps cpu main bcpu us
  pps=$(rate "$polls" "$ms")
  nominal=$(awk -v t="$topics" -v iv="$iv_ms" 'BEGIN {printf "%.0f", t * 1000 / iv}')
  ratio=$(awk -v a="$pps" -v b="$nominal" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')
  cpu=$(pct_core $((c1 - c0)) "$ms"); main=$(pct_core $((m1 - m0)) "$ms"); bcpu=$(pct_core $((b1 - b0)) "$ms")
  us=$(awk -v t="$((c1 - c0))" -v hz="$CLK_TCK" -v p="$polls" 'BEGIN {printf "%.0f", (p > 0 ? 1e6 * t / hz / p : 0)}')
  read -r _ late_n late_max late_p99 <<<"$late_after"
  if awk -v r="$ratio" 'BEGIN {exit !(r >= 0.97)}' && [ "$late_n" = 0 ]; then
    keeps="yes"
  else
    keeps="NO: $pps of $nominal polls/s (the sustainable rate on this machine under this load)"
    note "1: the daemon does not keep up with $nominal polls/s: $pps polls/s, $late_n topics polled last more than 2 intervals ago (max ${late_max} ms)"
  fi
  local stats_end; stats_end=$(stats_line)
  stop_pid "$bench" "1: lp_bench watchers"
  local lpj; lpj=$(cat "$TMP/s1.json" 2>/dev/null); [ -n "$lpj" ] || lpj='{}'
  stop_pid "$DPID" "1: livepolld s1"
  local probs; probs=$(log_problems "$TMP/s1.log"); [ -z "$probs" ] || note "1: daemon log: $probs"
  local per_sub; per_sub=$(awk -v a="$idle" -v b="$loaded" -v n="$subs" 'BEGIN {printf "%.0f", (n > 0 ? (b - a) * 1024 / n : 0)}')
  local joined_ms; joined_ms=$(jq -r '.all_joined_ms // "never" | if type == "number" then (. | floor | tostring) + " ms" else . end' <<<"$lpj")
  S1_ROWS=(
    "| RSS idle (catalog loaded, no client; $idle_threads threads) | $(mib "$idle") MiB ($idle kB) |"
    "| RSS with $(fmt "$subs") subscriptions on $(fmt "$topics") topics, after they settled / after the window (VmHWM) | $(mib "$loaded") MiB / $(mib "$end_rss") MiB ($(mib "$hwm") MiB; $threads threads) |"
    "| memory per subscription ((loaded - idle) / subscriptions) | $per_sub bytes |"
    "| VmRSS every 5 s over the window (MiB) | $(for k in "${series[@]}"; do printf '%s ' "$(mib "$k")"; done)($growth) |"
    "| all $(fmt "$nsubs") joins acknowledged (lp_bench all_joined_ms, from its start) | $joined_ms |"
    "| ... until \`status\` counts them all | $join_s s |"
    "| lp_bench: subscriptions / errors / seq gaps / updates (snapshots) | $(jq -r '"\(.subscriptions) / \(.errors) / \(.seq_gaps) / \(.updates) (\(.snapshots))"' <<<"$lpj") |"
    "| polls/s over $(awk -v m="$ms" 'BEGIN {printf "%.1f", m / 1000}') s (\`stats\` polls delta), nominal $(fmt "$nominal")/s | $(fmt "$pps") (ratio $ratio; poll_errors $((e1 - e0))) |"
    "| keeps up (>= 97 % of nominal and no topic's last poll older than 2 intervals) | $keeps |"
    "| topics whose last poll was older than 2 intervals, before / after the window (of $topics; max, p99 last_poll_ms) | $(awk '{print $2 " (max " $3 " ms, p99 " $4 " ms)"}' <<<"$late_before") / $late_n (max $late_max ms, p99 $late_p99 ms) |"
    "| stalled zombies at the end of the window | $zomb |"
    "| daemon CPU idle / loaded (utime+stime, % of one core) | ${idle_cpu} % / **${cpu} %** (main thread ${main} %) |"
    "| daemon CPU per poll (all daemon work / polls) | $us µs |"
    "| lp_bench CPU over the window ($S1_CLIENTS connections, heartbeats every 1 s) | ${bcpu} % |"
  )
  LOADS+=("1 (window): $load")
  echo "s1 stats at the end: $stats_end" >"$TMP/s1.stats"
  S1_STATS=$stats_end
  S1_LPJ=$lpj
  S1_DONE=1
}

# ---- 2. fan-out throughput -------------------------------------------------------------------------
fan_step() {
  local spec=$1 T N MS
  T=${spec%%x*}; N=${spec#*x}; N=${N%@*}; MS=${spec#*@}
  local name="f${T}x${N}at${MS}" nominal nsubs=$((T * N))
  nominal=$((T * N * 1000 / MS))
  say "2: $T topic(s) x $N watchers at ${MS} ms: nominal $(fmt "$nominal") updates/s"
  # No change while the watchers join (each gets its snapshot): the join is not slowed by the
  # fan-out to those already joined, and the window measures the steady state only.
  set_changes 0
  start_daemon "$name" "$MS"
  local procs=() left=$N k=0 n bench_start
  bench_start=$(now_ms)
  while [ "$left" -gt 0 ]; do
    n=$left; [ "$n" -gt "$FAN_PER_PROC" ] && n=$FAN_PER_PROC
    "$LP_BENCH" watchers --connect "$CLIENT" --clients "$n" --topics-per-client "$T" --distinct-topics "$T" \
      --query tick --param 'id={t}' --seconds 3600 --json >"$TMP/$name.$k.json" 2>"$TMP/$name.$k.err" &
    procs+=($!); PIDS+=($!)
    left=$((left - n)); k=$((k + 1))
  done
  local join_s
  if wait_until 120 subscribers_are "$nsubs"; then
    join_s=$(awk -v ms="$(($(now_ms) - bench_start))" 'BEGIN {printf "%.1f", ms / 1000}')
  else
    join_s="not reached"
    note "2 ($spec): only $(status_of subscribers)/$nsubs subscribed after 120 s"
  fi
  set_changes 1
  sleep 3
  local c0 c1 m0 m1 b0 b1 s0 s1 p0 p1 t0 t1 d0 d1
  win_begin "$name"
  c0=$(cpu_ticks "$DPID"); m0=$(main_ticks "$DPID"); b0=$(sum_ticks "${procs[@]}")
  s0=$(stat_of updates_sent); p0=$(stat_of polls); d0=$(stat_of updates_dropped_slow_client); t0=$(now_ms)
  sleep "$FAN_WINDOW"
  c1=$(cpu_ticks "$DPID"); m1=$(main_ticks "$DPID"); b1=$(sum_ticks "${procs[@]}")
  s1=$(stat_of updates_sent); p1=$(stat_of polls); d1=$(stat_of updates_dropped_slow_client); t1=$(now_ms)
  local load; load=$(win_end "$name")
  local rss; rss=$(rss_kb "$DPID")
  # Stop the changes; the last diff (v = 0) goes out, then nothing: wait until updates_sent settles.
  set_changes 0
  local last="" cur i
  for i in $(seq 1 60); do
    sleep 1
    cur=$(stat_of updates_sent)
    [ -n "$cur" ] && [ "$cur" = "$last" ] && break
    last=$cur
  done
  # lp_bench may still be reading what the daemon already sent: give it the time it needs.
  sleep 2
  local sent dropped cdropped stats_end
  sent=$(stat_of updates_sent); dropped=$(stat_of updates_dropped_slow_client); cdropped=$(stat_of clients_dropped)
  stats_end=$(stats_line)
  local p; for p in "${procs[@]}"; do stop_pid "$p" "2 ($spec): lp_bench"; done
  local got gaps subs errs
  got=$(cat "$TMP/$name".*.json 2>/dev/null | jq -s 'map(.updates) | add // 0')
  gaps=$(cat "$TMP/$name".*.json 2>/dev/null | jq -s 'map(.seq_gaps) | add // 0')
  subs=$(cat "$TMP/$name".*.json 2>/dev/null | jq -s 'map(.subscriptions) | add // 0')
  errs=$(cat "$TMP/$name".*.json 2>/dev/null | jq -s 'map(.errors) | add // 0')
  stop_pid "$DPID" "2 ($spec): livepolld"
  local probs; probs=$(log_problems "$TMP/$name.log"); [ -z "$probs" ] || note "2 ($spec): daemon log: $probs"
  local ms=$((t1 - t0))
  local ups pps cpu main bcpu nominal_polls sustained loss
  if [ -z "$s0" ] || [ -z "$s1" ] || [ -z "$p0" ] || [ -z "$p1" ]; then
    note "2 ($spec): the daemon's admin did not answer stats at the window's start or end (updates_sent $s0..$s1, polls $p0..$p1)"
    s0=0; s1=0; p0=0; p1=0
  fi
  ups=$(rate $((s1 - s0)) "$ms"); pps=$(awk -v n="$((p1 - p0))" -v ms="$ms" 'BEGIN {printf "%.1f", n / (ms / 1000)}')
  cpu=$(pct_core $((c1 - c0)) "$ms"); main=$(pct_core $((m1 - m0)) "$ms"); bcpu=$(pct_core $((b1 - b0)) "$ms")
  nominal_polls=$(awk -v t="$T" -v ms="$MS" 'BEGIN {printf "%.1f", t * 1000 / ms}')
  if awk -v a="$pps" -v b="$nominal_polls" 'BEGIN {exit !(a >= 0.97 * b)}'; then sustained=yes; else sustained="no ($pps of $nominal_polls polls/s)"; fi
  if [ "$dropped" = 0 ] && [ "$gaps" = 0 ] && [ "$got" = "$sent" ] && [ "${cdropped:-0}" = 0 ]; then loss=none; else
    loss="**received $got of $sent sent, $gaps seq gaps, $dropped dropped_slow_client, ${cdropped:-?} clients_dropped**"
    note "2 ($spec): updates lost: lp_bench received $got of $sent sent; seq gaps $gaps; updates_dropped_slow_client $dropped (in the window $((d1 - d0))); clients_dropped $cdropped"
  fi
  FAN_ROWS+=("| $T x $(fmt "$N") @ ${MS} ms | $(fmt "$nominal") | **$(fmt "$ups")** | $pps / $nominal_polls | $sustained | $loss | ${cpu} % (main ${main} %) | ${bcpu} % ($k proc.) | $(mib "$rss") MiB | $join_s s |")
  FAN_DETAIL+=("$spec: subscriptions (lp_bench) $subs of $nsubs, errors $errs; sent $sent, received $got, seq gaps $gaps; daemon stats: $stats_end")
  LOADS+=("2 $spec (window): $load")
}
FAN_DETAIL=()
scenario2() {
  local s
  for s in $FAN_STEPS; do
    [[ $s =~ ^[0-9]+x[0-9]+@[0-9]+$ ]] || { note "2: bad step '$s' (want TxN@MS)"; continue; }
    fan_step "$s"
  done
  FAN_DONE=1
}

# ---- 3. five nodes, 10,000 topics: gossip bytes -----------------------------------------------------
declare -A NPID RPC
start_node() {
  local name=$1 seed=${2:-} g r
  g=$(free_port); r=$(free_port)
  while [[ $r == "$g" ]]; do r=$(free_port); done
  RPC[$name]=127.0.0.1:$r
  "$LIVEPOLLD" --config "$TMP/node.conf" --plugin-dir "$PLUGINS" --name "$name" \
    --admin-bind "ipc://$TMP/$name.admin" --client-bind "ipc://$TMP/$name.client" \
    --gossip-bind "tcp://127.0.0.1:$g" --rpc-bind "tcp://127.0.0.1:$r" ${seed:+--join "$seed"} \
    --log-format json >>"$TMP/$name.log" 2>&1 &
  NPID[$name]=$!
  PIDS+=($!)
}
# Cluster-wide commands wait up to --node-timeout (half of --timeout) for each other node.
lpn() { local node=$1; shift; "$LIVEPOLL" -c "ipc://$TMP/$node.admin" --timeout 10s "$@"; }
all_alive() {
  local o m out
  for o in "${NODES[@]}"; do
    out=$(lpn "$o" members 2>/dev/null | awk -F'\t' '{print $1, $5}') || return 1
    for m in "${NODES[@]}"; do [[ $(awk -v m="$m" '$1 == m {print $2}' <<<"$out") == alive ]] || return 1; done
  done
}
# cl_snap FILE: per node "node gossip_bytes rpc_bytes gossip_frames updates_sent polls cpu_ticks rss_kb ms",
# the counters from one cluster-wide `stats` (every node's row).
cl_snap() {
  local st n ms
  st=$(lpn n1 stats 2>"$TMP/cl_snap.err") || note "3: stats: $(cat "$TMP/cl_snap.err")"
  ms=$(now_ms)
  : >"$1"
  for n in "${NODES[@]}"; do
    echo "$n $(awk -F'\t' -v n="$n" '$1 == n {v[$2] = $3} END {printf "%d %d %d %d %d", v["gossip_bytes_sent"], v["rpc_bytes_sent"], v["gossip_frames_sent"], v["updates_sent"], v["polls"]}' <<<"$st") $(cpu_ticks "${NPID[$n]}") $(rss_kb "${NPID[$n]}") $ms" >>"$1"
  done
}
# cl_window LABEL A B: one row per node into CL_NODE_ROWS; the means into CL_ROWS.
cl_window() {
  local label=$1
  while read -r n g r f u p c rss ms; do
    CL_NODE_ROWS+=("| $label | $n | $(awk -v x="$g" -v ms="$ms" 'BEGIN {printf "%.0f", x / (ms / 1000)}') | $(awk -v x="$f" -v ms="$ms" 'BEGIN {printf "%.1f", x / (ms / 1000)}') | $(awk -v x="$r" -v ms="$ms" 'BEGIN {printf "%.0f", x / (ms / 1000)}') | $(awk -v x="$p" -v ms="$ms" 'BEGIN {printf "%.0f", x / (ms / 1000)}') | $(awk -v x="$u" -v ms="$ms" 'BEGIN {printf "%.0f", x / (ms / 1000)}') | $(pct_core "$c" "$ms") % | $(mib "$rss") MiB |")
  done < <(join "$2" "$3" | awk '{print $1, $10 - $2, $11 - $3, $12 - $4, $13 - $5, $14 - $6, $15 - $7, $16, $17 - $9}')
  CL_ROWS+=("$(join "$2" "$3" | awk -v l="$label" -v hz="$CLK_TCK" '{s = ($17 - $9) / 1000; g += ($10 - $2) / s; r += ($11 - $3) / s
      p += ($14 - $6) / s; u += ($13 - $5) / s; c += 100 * ($15 - $7) / hz / s; m += $16; if ($16 > mx) mx = $16; n++}
    END {printf "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.1f %% | %.1f MiB (max %.1f) |", l, g / n, r / n, (g + r) / n, p, u, c, m / n / 1024, mx / 1024}')")
}
scenario3() {
  local ntopics=$((5 * CL_TOPICS_PER_NODE)) iv_ms
  iv_ms=$(ms_of "$CL_INTERVAL")
  say "3: 5 nodes, $ntopics topics at $CL_INTERVAL"
  catalog "$TMP/node.conf" 100 <<EOF
[node]
client_timeout = 10s
linger = 5s
EOF
  start_node n1
  wait_until 10 lpn n1 status >/dev/null 2>&1 || { cat "$TMP/n1.log" >&2; echo "capacity_run.sh: n1 did not start" >&2; exit 1; }
  local n
  for n in n2 n3 n4 n5; do start_node "$n" "${RPC[n1]}"; done
  wait_until 20 all_alive || { for n in "${NODES[@]}"; do tail -5 "$TMP/$n.log" >&2; done; echo "capacity_run.sh: cluster did not form" >&2; exit 1; }
  say "3: cluster formed; baseline ${CL_BASE_WINDOW} s without subscriptions"
  sleep 2
  win_begin cl0; cl_snap "$TMP/c0"; sleep "$CL_BASE_WINDOW"; cl_snap "$TMP/c1"; LOADS+=("3 no subscription: $(win_end cl0)")
  cl_window "no subscription" "$TMP/c0" "$TMP/c1"
  local i=0 benches=() t0 join_ms=""
  t0=$(now_ms)
  for n in "${NODES[@]}"; do
    i=$((i + 1))
    "$LP_BENCH" watchers --connect "ipc://$TMP/$n.client" --clients "$CL_CLIENTS" --topics-per-client "$CL_PER_CLIENT" \
      --distinct-topics "$CL_TOPICS_PER_NODE" --query cl --param "n=$i" --param 'id={t}' --seconds 3600 --json \
      >"$TMP/cl.$n.json" 2>"$TMP/cl.$n.err" &
    benches+=($!); PIDS+=($!)
  done
  # Every node counts its subscribers, and `subs` (cluster-wide) lists every topic with a poller.
  cl_joined() {
    local st
    st=$(lpn n1 --header status 2>/dev/null) || return 1
    [ "$(awk -F'\t' 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "subscribers") k = i; next} {s += $k} END {print s + 0}' <<<"$st")" = "$ntopics" ]
  }
  if wait_until 120 cl_joined; then join_ms=$(($(now_ms) - t0)); else note "3: not every subscription counted after 120 s: $(lpn n1 status 2>&1 | tr '\n' ';')"; fi
  say "3: subscriptions counted after ${join_ms:-?} ms; settling"
  sleep 10
  local polled
  polled=$(lpn n1 --header subs 2>/dev/null | awk -F'\t' 'NR == 1 {for (i = 1; i <= NF; i++) {if ($i == "pollers") k = i; if ($i == "cluster_subscribers") c = i}; next}
    {n++; if ($k != "") p++; if (index($k, ",")) two++; cs += $c} END {printf "%d topics, %d with a poller, %d with two, cluster_subscribers %d", n, p, two, cs}')
  local owners
  owners=$(lpn n1 --header subs 2>/dev/null | awk -F'\t' 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == "owner") k = i; next} {o[$k]++} END {for (x in o) printf "%s=%d ", x, o[x]}')
  say "3: $polled; owners $owners"
  say "3: ${CL_WINDOW} s with the topics held, nothing changing"
  win_begin cl1; cl_snap "$TMP/c2"; sleep "$CL_WINDOW"; cl_snap "$TMP/c3"; LOADS+=("3 topics held, idle: $(win_end cl1)")
  cl_window "$(fmt "$ntopics") topics held, no change" "$TMP/c2" "$TMP/c3"
  say "3: ${CL_WINDOW} s with the writer"
  "$LP_BENCH" writer --db "$DB" --sql "$CL_WRITER_SQL" --period-ms "$CL_WRITER_MS" --json >"$TMP/writer.json" 2>"$TMP/writer.err" &
  local writer=$!; PIDS+=("$writer")
  sleep 3
  local changed0 changed1
  win_begin cl2; cl_snap "$TMP/c4"; changed0=$(sqlite3 -cmd '.timeout 5000' "$DB" "SELECT sum(v - id) FROM items WHERE id < $CL_TOPICS_PER_NODE")
  sleep "$CL_WINDOW"
  cl_snap "$TMP/c5"; changed1=$(sqlite3 -cmd '.timeout 5000' "$DB" "SELECT sum(v - id) FROM items WHERE id < $CL_TOPICS_PER_NODE")
  LOADS+=("3 topics held, writer: $(win_end cl2)")
  cl_window "$(fmt "$ntopics") topics held, writer" "$TMP/c4" "$TMP/c5"
  stop_pid "$writer" "3: lp_bench writer"
  local commits; commits=$(jq -r '.commits // "?"' "$TMP/writer.json" 2>/dev/null)
  CL_WRITES="writer: $commits commits in all; $((changed1 - changed0)) row changes in the window ($(awk -v x="$((changed1 - changed0))" -v s="$CL_WINDOW" 'BEGIN {printf "%.0f", x / s}') a second, each row watched as 5 topics, one per node)"
  # Health.
  local crash="" stats_end
  for n in "${NODES[@]}"; do
    kill -0 "${NPID[$n]}" 2>/dev/null || crash+="$n exited; "
    local pr; pr=$(grep -iE 'terminate called|segmentation|aborted|sanitizer|assert' "$TMP/$n.log" | head -2 | tr '\n' ';')
    [ -z "$pr" ] || crash+="$n log: $pr "
  done
  [ -z "$crash" ] || note "3: crash/exit: $crash"
  stats_end=$(lpn n1 stats 2>/dev/null | awk -F'\t' '$2 ~ /^(members_down|cluster_frames_malformed|cluster_frames_unknown|clashes|takeovers|updates_dropped_slow_client|stream_gaps|poll_errors|clients_dropped)$/ && $3 != 0 {printf "%s %s=%s; ", $1, $2, $3}')
  CL_HEALTH="nonzero problem counters at the end: ${stats_end:-none}"
  CL_WARN=$(for n in "${NODES[@]}"; do grep -c '"level": *"\(warn\|error\)"' "$TMP/$n.log" | sed "s/^/$n: /"; done | tr '\n' ' ')
  local b
  for b in "${benches[@]}"; do stop_pid "$b" "3: lp_bench watchers"; done
  CL_LPB=$(cat "$TMP"/cl.n?.json 2>/dev/null | jq -sc '{subscriptions: (map(.subscriptions) | add), errors: (map(.errors) | add), seq_gaps: (map(.seq_gaps) | add), updates: (map(.updates) | add), all_joined_ms: (map(.all_joined_ms) | max)}')
  for n in "${NODES[@]}"; do stop_pid "${NPID[$n]}" "3: livepolld $n"; done
  CL_SETUP="5 nodes, $ntopics topics ($CL_CLIENTS clients x $CL_PER_CLIENT topics on each node, one subscriber each) at $CL_INTERVAL; all counted $((${join_ms:-0}))ms after the load clients started; $polled; pollers per owner: $owners"
  CL_DONE=1
}

for s in $SCENARIOS; do
  case $s in
    1) scenario1 ;;
    2) scenario2 ;;
    3) scenario3 ;;
    *) note "unknown scenario '$s'" ;;
  esac
done
T_END=$(now_ms)

# ---- report -----------------------------------------------------------------------------------------
{
echo
echo "## livepolld capacity benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(awk -v ms="$((T_END - T_START))" 'BEGIN {printf "%.0f", ms / 1000}') s)"
echo
echo "Machine: $NPROC CPUs, $MODEL, ${MEM_GB} GiB RAM, Linux $KERNEL, SQLite $SQLITE_VER; build: $BUILD."
echo "Every daemon and load client on the same $NPROC cores (ipc:// client and admin endpoints, tcp gossip/rpc on 127.0.0.1)."
echo "Before the start: $LOAD_START."
if [ -n "$S1_DONE" ]; then
  cat <<EOF

### 1. One node: $(fmt $((S1_CLIENTS * S1_PER_CLIENT))) subscriptions over $(fmt "$S1_TOPICS") topics, $S1_INTERVAL interval

$S1_CLIENTS lp_bench connections x $S1_PER_CLIENT topics each; query \`SELECT id, v FROM items WHERE id = :id\` (primary key) on SQLite, jitter 0.1, no data changing; window $WINDOW s.

| measure | value |
| --- | --- |
$(printf '%s\n' "${S1_ROWS[@]}")
EOF
fi
if [ -n "$FAN_DONE" ]; then
  cat <<EOF

### 2. Fan-out: updates delivered to clients per second

T topics x N watchers (every watcher joined to every topic), interval MS, jitter 0, every poll a 1-row diff to every watcher; window $FAN_WINDOW s; a fresh daemon per row. Delivered = the daemon's \`updates_sent\` over the window; loss checked after the changes stop (lp_bench received vs updates_sent, seq gaps, updates_dropped_slow_client, clients_dropped).

| T x N @ interval | nominal updates/s | delivered updates/s | polls/s (measured / nominal) | sustained | loss | daemon CPU | lp_bench CPU | daemon RSS | all joined |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
$(printf '%s\n' "${FAN_ROWS[@]}")

$(printf -- '- %s\n' "${FAN_DETAIL[@]}")
EOF
fi
if [ -n "$CL_DONE" ]; then
  cat <<EOF

### 3. Cluster: gossip bytes per node

$CL_SETUP. Bytes are the payload counters of \`stats\` (gossip_bytes_sent: the gossip PUB socket; rpc_bytes_sent: the rpc sockets); per node = the mean of the 5 nodes. $CL_WRITES.

| state | gossip B/s per node | rpc B/s per node | total B/s per node | polls/s (cluster) | updates_sent/s (cluster) | CPU per node | RSS per node |
| --- | --- | --- | --- | --- | --- | --- | --- |
$(printf '%s\n' "${CL_ROWS[@]}")

| state | node | gossip B/s | gossip frames/s | rpc B/s | polls/s | updates_sent/s | CPU | RSS (end) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
$(printf '%s\n' "${CL_NODE_ROWS[@]}")

Health: $CL_HEALTH; warn/error log lines per node: $CL_WARN; lp_bench (all nodes): $CL_LPB.
EOF
fi
echo
echo "Machine load during the windows (ours = the processes this script started):"
echo
printf -- '- %s\n' "${LOADS[@]}"
if [ -n "$S1_DONE" ]; then
  echo
  echo "Scenario 1 lp_bench: $S1_LPJ"
  echo "Scenario 1 daemon counters at the end: $S1_STATS"
fi
if [ ${#NOTES[@]} -gt 0 ]; then
  echo
  echo "Notes:"
  printf -- '- %s\n' "${NOTES[@]}"
fi
} | report
