#!/usr/bin/env bash
# The chaos soak: 5 real livepolld, each in a network namespace of its own (tests/tools/netns.sh;
# root and iproute2 needed), a private PostgreSQL (tests/pg/pg.sh) reached through the `postgres`
# plugin over its Unix socket, watchers (`livepoll watch`, JSON lines to files) of several topics
# on every node, a writer changing the database, and a seeded schedule of faults.
#
# The cluster starts the way operators start one: every node names all the others as seeds
# (`--join A,B,C,D`) and all five start at once (each a cluster of one at first; they merge). A
# node restarted after a kill has the same command line: all the others as seeds. Each watcher is
# given its own node's admin endpoint alone (`-c` with one endpoint), so when its node dies it
# keeps retrying that node and must come back through the restarted one (`livepoll watch`
# outlives its daemon: man/livepoll.1 "watch"); it is never restarted by the soak, and its stdout
# stays the one stream that is checked.
#
#   kill9      kill -9 of a node, down 0-2 s, then a restart (a new incarnation); its watchers
#              keep running and must rejoin it
#   term       SIGTERM (a graceful leave, must exit 0), then a restart; its watchers as for kill9
#   stop       SIGSTOP, a pause of 0.5-3 s, SIGCONT
#   partition  a random split (1 or 2 nodes against the rest), `livepoll fault cut` on both sides,
#              1-4 s, then `fault heal` everywhere
#   netns      the same split, 1-4 s, as a real partition: the split nodes' links move to another
#              bridge (TCP connections survive, queued frames arrive late), then back. Every second
#              partition of the schedule is one (decided without drawing from the seed's stream, so
#              that a seed names the same faults as before this kind existed)
#   db         the PostgreSQL server goes down for 0.5-3 s (pg.sh down/up) or restarts (pg.sh restart)
#
# The victim is a random node or, half the time, the current owner of a random topic. After every
# fault and its recovery comes a settle window, then the invariants, each waited for within a
# bound and a violation when the bound passes:
#   procs    every daemon runs that was not killed on purpose (a SIGTERMed daemon exited 0), and
#            every watcher runs (none is killed on purpose, not even with its node); a restarted
#            node is alive in every member's view
#   rejoin   each of a killed node's watchers says on stderr that it lost its node (within 10 s
#            of its death) and, after the restart, that it joined again (resumed, or a new
#            snapshot follows) within 15 s of the node answering
#   owners   each watched topic has one owner that every live node names, one live claim (claims
#            marked "(down)" excluded), and exactly that node in `pollers`
#   zombies  `livepoll zombies` lists nothing on any node (transients such as a dead owner's claim,
#            which the daemon reaps after linger + reap_margin, are waited for within the bound)
#   data     with the writer paused, every watcher's state (those of restarted nodes included)
#            rebuilt from its stream (snapshots replace, keyed diffs insert/update/delete by key,
#            errors keep the data but mark it stale) equals psql's result of the same query, and
#            is not in error
#   streams  every watcher's stream, across its rejoins too, passes stream_ok
#            (tests/e2e/cluster_lib.sh): epochs never go down, each starts with a snapshot, diffs
#            are consecutive. Where a watcher joined its node's next incarnation, a snapshot first
#            may be at any position: a resume refused starts a new stream (PROTOCOL.md, "Sessions
#            and resume"), and the new incarnation, a cluster of one until it meets its seeds,
#            may serve it at epoch 1 before it re-epochs above the others. Any other snapshot may
#            come mid-epoch (a relay's repair, a rejoin after a pause) but not go back
#
#   tests/chaos/soak.sh [--seed N] [--faults N] [--minutes M] [--build DIR]
#
#   short (CI, ctest chaos.short, about 2 minutes):  tests/chaos/soak.sh --faults 12 --minutes 6
#   long (by hand, about 25 minutes):                tests/chaos/soak.sh --faults 200 --minutes 60
#   replay a schedule:                               tests/chaos/soak.sh --seed N --faults N
#
# The schedule (kinds, victims, durations, splits) is generated up front from the seed
# (RANDOM=seed) and printed, so a seed names the same sequence of faults; the timing of real
# processes, the database and the kernel is NOT deterministic, so a seed does not replay a run
# exactly (the deterministic replay of the core is tests/sim). Stops injecting after N faults
# (default 10) or M minutes (default 30), whichever is first. Prints ONE summary line at the end
# (seed, faults by kind, checks passed, violations) and exits 1 on any violation, after printing
# the seed, what was violated, the evidence and the tail of every node's log. Every process, the
# private PostgreSQL and the temporary folder are cleaned up on any exit (LIVEPOLL_E2E_KEEP=DIR
# keeps a copy of the folder: logs, watcher streams, the timeline).
#
# Needs LIVEPOLLD, LIVEPOLL and LIVEPOLL_PLUGIN_DIR (ctest sets them), or --build DIR (default
# ./build) holding daemon/livepolld, cmd/livepoll and plugins/lib; PostgreSQL 15 (pg.sh), jq.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
SEED=${LIVEPOLL_CHAOS_SEED:-}
FAULTS=10
MINUTES=30
BUILD=
usage() { echo "usage: soak.sh [--seed N] [--faults N] [--minutes M] [--build DIR]" >&2; exit 2; }
while (($#)); do
  case $1 in
    --seed) SEED=${2:-}; shift 2 || usage ;;
    --faults) FAULTS=${2:-}; shift 2 || usage ;;
    --minutes) MINUTES=${2:-}; shift 2 || usage ;;
    --build) BUILD=${2:-}; shift 2 || usage ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
  esac
done
[[ -z $SEED ]] && SEED=$(($(od -An -N4 -tu4 /dev/urandom) % 1000000))
[[ $SEED =~ ^[0-9]+$ && $FAULTS =~ ^[0-9]+$ && $MINUTES =~ ^[0-9]+$ ]] || usage
if [[ -n $BUILD || -z ${LIVEPOLLD:-} ]]; then
  BUILD=$(cd "${BUILD:-$SRC/build}" && pwd)
  LIVEPOLLD=$BUILD/daemon/livepolld LIVEPOLL=$BUILD/cmd/livepoll LIVEPOLL_PLUGIN_DIR=$BUILD/plugins/lib
fi
export LIVEPOLLD LIVEPOLL LIVEPOLL_PLUGIN_DIR
PG_SH=${PG_SH:-$SRC/tests/pg/pg.sh}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
for f in "$LIVEPOLLD" "$LIVEPOLL"; do [[ -x $f ]] || { echo "soak: no $f (build first)" >&2; exit 2; }; done
[[ -f $LIVEPOLL_PLUGIN_DIR/postgres.so || -n $(ls "$LIVEPOLL_PLUGIN_DIR"/*postgres* 2>/dev/null) ]] ||
  { echo "soak: no postgres plugin in $LIVEPOLL_PLUGIN_DIR (build postgres_plugin)" >&2; exit 2; }

# ---- the schedule, from the seed alone (before anything else uses RANDOM) -----------------------
NODES=(n1 n2 n3 n4 n5)
# Watched topics: t (keyed diffs by id) per group g on every node, t?g=5 only on n5 (its only
# subscriber dies with n5), and s (a snapshot query, no key) on n2 and n4.
WATCHES=()
for n in "${NODES[@]}"; do for g in 1 2 3 4; do WATCHES+=("$n t g=$g"); done; done
WATCHES+=("n5 t g=5" "n2 s" "n4 s")
TOPICS=("t?g=1" "t?g=2" "t?g=3" "t?g=4" "t?g=5" "s")
RANDOM=$SEED
SCHED=()  # one line per fault: KIND VICTIM(node|owner:TOPIC) MS [GROUP-A nodes, for partition]
for ((i = 0; i < FAULTS; i++)); do
  r=$((RANDOM % 100))
  if ((r < 25)); then kind=kill9; elif ((r < 40)); then kind=term; elif ((r < 60)); then kind=stop
  elif ((r < 82)); then kind=partition; else kind=db; fi
  if ((RANDOM % 2)); then victim=${NODES[RANDOM % 5]}; else victim=owner:${TOPICS[RANDOM % 6]}; fi
  case $kind in
    kill9) ms=$((RANDOM % 2001)) ;;
    stop|db) ms=$((500 + RANDOM % 2501)) ;;
    partition) ms=$((1000 + RANDOM % 3001)) ;;
    term) ms=$((RANDOM % 1001)) ;;
  esac
  extra=
  if [[ $kind == partition ]]; then  # the victim plus, half the time, one more node
    extra=${NODES[RANDOM % 5]}
    ((RANDOM % 2)) && extra=
  elif [[ $kind == db ]]; then
    victim=db; ((RANDOM % 3 == 0)) && extra=restart || extra=downup
  fi
  if [[ $kind == partition ]]; then
    PARTITIONS=$((${PARTITIONS:-0} + 1))
    ((PARTITIONS % 2 == 0)) && kind=netns
  fi
  SCHED+=("$kind $victim $ms $extra")
done

# ---- the temporary folder, processes and cleanup -----------------------------------------------
TMP=$(mktemp -d /tmp/lp-chaos-XXXXXX)
E2E_TMP=$TMP  # cluster_lib.sh's helpers keep their files here
E2E_PIDS=()
source "$SRC/tests/e2e/cluster_lib.sh"
source "$SRC/tests/tools/netns.sh"
NETNS_PREFIX=lpsoak NETNS_NET=10.213.43
[[ $(id -u) == 0 ]] && command -v ip >/dev/null ||
  { echo "soak: needs root and iproute2 (every node runs in a network namespace)" >&2; exit 2; }
CLUSTER_CONF=$TMP/node.conf
cluster_keys "${NODES[@]}"  # the nodes bind off loopback: with keys (keys_lib.sh)
PGSTATE=$TMP/pg
WRITER_PID=
declare -A WPID WFILE WGEN STOPPED
declare -A REJOINS LOSSES  # watcher -> its rejoins and losses of its node (stderr) before a kill
declare -A FRESH  # watcher -> the line counts of its stream at each restart of its node (stream_ok)

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  [[ -n $WRITER_PID ]] && kill "$WRITER_PID" 2>/dev/null
  for n in "${NODES[@]}"; do [[ -n ${PID[$n]:-} ]] && kill -CONT "${PID[$n]}" 2>/dev/null; done
  for pid in "${WPID[@]}" "${PID[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 1 30); do
    local any=
    for pid in "${WPID[@]}" "${PID[@]}" $WRITER_PID; do kill -0 "$pid" 2>/dev/null && any=1; done
    [[ -z $any ]] && break
    sleep 0.1
  done
  for pid in "${WPID[@]}" "${PID[@]}" $WRITER_PID; do kill -9 "$pid" 2>/dev/null; done
  wait 2>/dev/null
  bash "$PG_SH" stop "$PGSTATE" >/dev/null 2>&1
  netns_down
  if [[ -n ${LIVEPOLL_E2E_KEEP:-} ]]; then mkdir -p "$LIVEPOLL_E2E_KEEP" && cp -r "$TMP"/. "$LIVEPOLL_E2E_KEEP"/ 2>/dev/null; fi
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

T0=$(date +%s%N)
now() { echo $((($(date +%s%N) - T0) / 1000000)); }
say() { local t; t=$(now); printf '[%5d.%01ds] %s\n' $((t / 1000)) $((t % 1000 / 100)) "$*" | tee -a "$TMP/timeline"; }
# die MESSAGE: a failure of the harness itself (not a violation): exit 2.
die() { say "soak: $*"; echo "soak: seed $SEED: $*" >&2; summary; exit 2; }
# lq NODE ARGS...: the CLI against NODE with time for a cluster-wide answer.
lq() { local node=$1; shift; "$LIVEPOLL" -c "ipc://$TMP/$node.admin" --timeout 3s "$@"; }
# alive PID: the process runs (not a zombie waiting to be reaped).
alive() { kill -0 "$1" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
# until_ok SECONDS COMMAND...: retries COMMAND every 0.2 s until it succeeds or the bound passes.
until_ok() {
  local deadline=$(($(now) + $1 * 1000)); shift
  until "$@"; do (($(now) < deadline)) || return 1; sleep 0.2; done
}

# ---- counters and violations -------------------------------------------------------------------
declare -A INJECTED=([kill9]=0 [term]=0 [stop]=0 [partition]=0 [netns]=0 [db]=0)
CHECKS=0
VIOLATIONS=()
ROUND=initial
pass() { CHECKS=$((CHECKS + ${1:-1})); }
violation() {
  VIOLATIONS+=("[$ROUND] $1")
  say "VIOLATION [$ROUND]: $1"
  [[ -n ${2:-} ]] && printf '%s\n' "$2" | sed 's/^/    /' | tee -a "$TMP/timeline" >&2
}
summary() {
  local k by=""
  for k in kill9 term stop partition netns db; do by+="$k=${INJECTED[$k]} "; done
  local total=$((INJECTED[kill9] + INJECTED[term] + INJECTED[stop] + INJECTED[partition] + INJECTED[netns] + INJECTED[db]))
  echo "chaos soak: seed=$SEED faults=$total (${by% }) checks_passed=$CHECKS violations=${#VIOLATIONS[@]} time=$((SECONDS))s"
}
finish_violated() {
  local f
  {
    echo "=== soak violated its invariants: seed $SEED (replay the schedule: tests/chaos/soak.sh --seed $SEED --faults $FAULTS)"
    printf '  %s\n' "${VIOLATIONS[@]}"
    echo "--- timeline (last 40 lines) ---"
    tail -40 "$TMP/timeline"
    for f in "$TMP"/n?.log; do
      echo "--- $(basename "$f") (last 25 lines) ---"
      tail -25 "$f"
    done
    echo "--- each node's counters (data plane, registry, polls) ---"
    for f in "${NODES[@]}"; do
      echo "$f: $(lq "$f" stats --node "$f" --json 2>/dev/null | jq -r 'select(.name | test("^(polls|poll_errors|updates_fenced|stream_gaps|snapshot_fetches|registrations|takeovers|releases|clashes|clashes_resolved|reaped_.*)$")) | "\(.name)=\(.value)"' | tr '\n' ' ')"
    done
    echo "--- writer errors (last 5) ---"
    tail -5 "$TMP/writer.err" 2>/dev/null
  } >&2
  summary
  exit 1
}

# ---- PostgreSQL, the catalog, the writer --------------------------------------------------------
bash "$PG_SH" start "$PGSTATE" >"$TMP/pg-start.log" 2>&1 || { cat "$TMP/pg-start.log" >&2; die "could not start PostgreSQL"; }
DSN=$(cat "$PGSTATE/dsn")
# The daemons live in network namespaces, where 127.0.0.1 is their own: they reach the server over
# its Unix socket (a file, seen from every namespace).
PG_PORT=$(cat "$PGSTATE/port")
NODE_DSN="host=$(readlink "$PGSTATE/run")/sock port=$PG_PORT user=postgres dbname=postgres"
PSQL_DSN="$DSN connect_timeout=2 options='-c statement_timeout=5000'"
psq() { "$PG_BIN/psql" "$PSQL_DSN" -v ON_ERROR_STOP=1 -qAtX -c "$1"; }
psq "CREATE TABLE t(id serial PRIMARY KEY, g text NOT NULL, v integer NOT NULL);
     INSERT INTO t(g, v) SELECT (1 + i % 5)::text, i FROM generate_series(1, 25) AS i;" >/dev/null ||
  die "could not create the table"

cat >"$CLUSTER_CONF" <<CONF
[node]
linger = 1s
backoff_max = 1s
fault_injection = true
[source.pg]
plugin = postgres
dsn = $NODE_DSN connect_timeout=2 options='-c statement_timeout=5000'
max_concurrent = 2
[query.t]
source = pg
sql = SELECT id, v FROM t WHERE g = :g
params = g
key = id
interval = 200ms
[query.s]
source = pg
sql = SELECT g, count(*) AS n, sum(v) AS total FROM t GROUP BY g ORDER BY g
interval = 300ms
CONF

# The writer: one statement every ~150 ms (update, insert or delete in a random group); it pauses
# while $TMP/writer.pause exists and says so with $TMP/writer.paused. Fails quietly (counted) while
# the database is down.
writer() {
  RANDOM=$((SEED + 1))
  local g r stmt ok=0 bad=0
  while :; do
    if [[ -e $TMP/writer.pause ]]; then : >"$TMP/writer.paused"; sleep 0.05; continue; fi
    rm -f "$TMP/writer.paused"
    g=$((1 + RANDOM % 5)) r=$((RANDOM % 10))
    if ((r < 6)); then stmt="UPDATE t SET v = v + 1 WHERE id = (SELECT id FROM t WHERE g = '$g' ORDER BY random() LIMIT 1)"
    elif ((r < 8)); then stmt="INSERT INTO t(g, v) VALUES ('$g', $RANDOM)"
    else stmt="DELETE FROM t WHERE id = (SELECT id FROM t WHERE g = '$g' ORDER BY random() LIMIT 1)"; fi
    if psq "$stmt" >/dev/null 2>>"$TMP/writer.err"; then ok=$((ok + 1)); else bad=$((bad + 1)); fi
    echo "$ok $bad" >"$TMP/writer.count"
    sleep 0.15
  done
}
pause_writer() {
  rm -f "$TMP/writer.paused"; : >"$TMP/writer.pause"
  until_ok 15 test -e "$TMP/writer.paused" || die "the writer did not pause"
}
resume_writer() { rm -f "$TMP/writer.pause"; }

# ---- nodes and watchers -------------------------------------------------------------------------
# start_watch NODE QUERY [PARAM]: a watcher of the topic on NODE, its stream in a fresh file. NODE's
# admin endpoint is its only one (-c): when NODE dies the watcher keeps asking NODE, so it comes
# back through NODE's next incarnation, and the soak sees that (not a failover) work.
start_watch() {
  local key="$1 $2${3:+ $3}" gen
  gen=$((${WGEN[$key]:-0} + 1)); WGEN[$key]=$gen
  WFILE[$key]=$TMP/w.$1.$2${3:+.${3#*=}}.$gen
  "$LIVEPOLL" -c "ipc://$TMP/$1.admin" watch "$2" ${3:+"$3"} </dev/null >"${WFILE[$key]}" 2>"${WFILE[$key]}.err" &
  WPID[$key]=$!
}
watches_of() { local w; for w in "${WATCHES[@]}"; do [[ ${w%% *} == "$1" ]] && echo "$w"; done; }
start_watches() {  # start_watches NODE: every watcher of NODE; waits for their first line
  local w
  while read -r w; do start_watch $w; done < <(watches_of "$1")
  while read -r w; do
    until_ok 15 has_first_line "${WFILE[$w]}" ||
      violation "watcher '$w' got no first line within 15 s" "$(cat "${WFILE[$w]}.err")"
  done < <(watches_of "$1")
}
has_first_line() { [[ -s $1 ]]; }
# rejoins_of WATCHER: how many times its stderr said it joined again (resumed, or cannot resume
# and a snapshot follows); losses_of: how many times it said it lost its node (cmd/watch_stream.cpp).
rejoins_of() { grep -cE '^livepoll: (resumed through|livepolld at .* cannot resume)' "${WFILE[$1]}.err"; }
losses_of() { grep -c '^livepoll: lost livepolld at' "${WFILE[$1]}.err"; }
# mark_rejoins NODE: before NODE is killed, each of its watchers' counts so far.
mark_rejoins() {
  local w
  while read -r w; do REJOINS[$w]=$(rejoins_of "$w") LOSSES[$w]=$(losses_of "$w"); done < <(watches_of "$1")
}
# await_losses NODE: NODE is dead: each of its watchers must notice (a closed connection is seen at
# once) within 10 s. Then its stream's length is noted: what it prints after that comes from a new
# join, and a join to NODE's next incarnation that cannot resume starts a new stream, whose
# snapshot may be at a lower position than the old stream's last (the new incarnation may serve
# it as a cluster of one, before it meets the others: epoch 1). stream_ok is told where.
# Waiting for the loss before the restart also keeps old updates, still queued to the watcher when
# the node died, on the right side of that line.
await_losses() {
  local w
  while read -r w; do
    if until_ok 10 lost "$w"; then pass; else
      violation "watcher '$w' did not notice the death of $1 within 10 s" "stderr: $(tail -5 "${WFILE[$w]}.err")"
    fi
    FRESH[$w]+=" $(wc -l <"${WFILE[$w]}")"
  done < <(watches_of "$1")
}
lost() { (($(losses_of "$1") > ${LOSSES[$1]})); }
# await_rejoins NODE: NODE was restarted: each of its watchers, still the same process, lost its
# node and must join again through it (its only endpoint). Waits for one more rejoin than before
# the kill; the data and streams checks then say whether what it printed since is right.
await_rejoins() {
  local w
  while read -r w; do
    if until_ok 15 rejoined "$w"; then pass; else
      violation "watcher '$w' did not join again within 15 s of $1's restart" "stderr: $(tail -5 "${WFILE[$w]}.err")"
    fi
  done < <(watches_of "$1")
}
rejoined() { (($(rejoins_of "$1") > ${REJOINS[$1]})); }
# start_node_ns NODE: starts livepolld NODE (nI) in namespace I, gossip and rpc on its address,
# admin and client on ipc:// in $TMP. Its seeds are every other node, as in an operator's
# configuration: the same command line at the cold start and at every restart, whichever nodes
# are up (a seed that does not answer is asked again every second).
start_node_ns() {
  local n=$1 addr m seeds=()
  addr=$(netns_addr "${n#n}")
  for m in "${NODES[@]}"; do [[ $m != "$n" ]] && seeds+=("$m@$(netns_addr "${m#n}"):7473"); done
  echo "=== chaos: start of $n at $(now) ms" >>"$TMP/$n.log"
  node_keys "$n"  # made for all five before the cold start (cluster_keys below)
  nsenter --net="$(netns_path "${n#n}")" -- "$LIVEPOLLD" --config "$CLUSTER_CONF" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" \
    --name "$n" --admin-bind "ipc://$TMP/$n.admin" --client-bind "ipc://$TMP/$n.client" \
    --gossip-bind "tcp://$addr:7472" --rpc-bind "tcp://$addr:7473" "${KEY_ARGS[@]}" --join "$(IFS=,; echo "${seeds[*]}")" \
    >>"$TMP/$n.log" 2>&1 &
  PID[$n]=$!
}
# answers NODE: waits until the started NODE answers on its admin endpoint (that it joins the
# others is converge_members' check).
answers() {
  until_ok 20 quiet lq "$1" status --node "$1" ||
    { violation "$1 did not answer 20 s after its start" "$(tail -20 "$TMP/$1.log")"; return 1; }
}
everyone_sees_everyone() {
  local o m
  for o in "${NODES[@]}"; do for m in "${NODES[@]}"; do
    [[ $(state_of "$o" "$m") == alive ]] || { SEE_WHY="$o sees $m $(state_of "$o" "$m")"; return 1; }
  done; done
}
converge_members() {  # after a recovery: every node sees every node alive
  SEE_WHY=
  if until_ok 20 everyone_sees_everyone; then pass; else
    violation "members did not all see each other alive within 20 s: $SEE_WHY" \
      "$(for o in "${NODES[@]}"; do echo "$o: $(lq "$o" members 2>&1 | cut -f1,2,5 | tr '\t\n' ' ;')"; done)"
  fi
}

# ---- the invariants ----------------------------------------------------------------------------
check_procs() {
  local n w rc
  for n in "${NODES[@]}"; do
    if alive "${PID[$n]}"; then pass; else
      wait "${PID[$n]}" 2>/dev/null; rc=$?
      violation "daemon $n (pid ${PID[$n]}) died, not killed on purpose (exit $rc)" "$(tail -20 "$TMP/$n.log")"
    fi
  done
  for w in "${!WPID[@]}"; do
    if alive "${WPID[$w]}"; then pass; else
      wait "${WPID[$w]}" 2>/dev/null; rc=$?
      violation "watcher '$w' (pid ${WPID[$w]}) died, not killed on purpose (exit $rc)" \
        "stderr: $(tail -5 "${WFILE[$w]}.err"); last line: $(tail -1 "${WFILE[$w]}")"
      start_watch $w  # so that later rounds check the rest, not this again
    fi
  done
}

# owners_ok: every node's cluster-wide `subs` names one owner per watched topic, the same one,
# with one live claim, and that node alone in pollers. OWN_WHY says why not.
owners_ok() {
  local n out t owner claims pollers state live cn
  declare -A first=()
  OWN_WHY=
  for n in "${NODES[@]}"; do
    out=$(lq "$n" subs --json 2>&1) || { OWN_WHY="$n: subs exited $? ($(tr '\n' ' ' <<<"$out" | head -c 300))"; return 1; }
    printf '%s\n' "$out" >"$TMP/subs.$n.json"
    for t in "${TOPICS[@]}"; do
      IFS='|' read -r owner claims pollers state < <(jq -r --arg t "$t" \
        'select(.topic == $t) | [.owner // "", .claims // "", .pollers // "", .state // ""] | join("|")' <<<"$out")
      [[ -n ${owner:-} ]] || { OWN_WHY="$n: $t has no owner ($(jq -c --arg t "$t" 'select(.topic == $t)' <<<"$out"))"; return 1; }
      live=$(tr ',' '\n' <<<"$claims" | tr -d ' ' | grep -v '(down)' | grep .)
      cn=$(grep -c . <<<"$live")
      ((cn == 1)) || { OWN_WHY="$n: $t has $cn live claims: '$claims' (owner $owner, pollers '$pollers', state $state)"; return 1; }
      [[ ${live%@*} == "$owner" ]] || { OWN_WHY="$n: $t: the live claim '$live' is not the owner $owner"; return 1; }
      [[ $pollers == "$owner" ]] || { OWN_WHY="$n: $t: pollers '$pollers', owner $owner (claims '$claims', state $state)"; return 1; }
      [[ -z ${first[$t]:-} ]] && first[$t]="$owner (seen by $n)"
      [[ ${first[$t]%% *} == "$owner" ]] || { OWN_WHY="$t: $n names $owner, ${first[$t]}"; return 1; }
    done
  done
}
check_owners() {
  if until_ok 15 owners_ok; then pass ${#TOPICS[@]}; else
    violation "not one owner and one poller per topic within 15 s: $OWN_WHY" \
      "$(for n in "${NODES[@]}"; do echo "$n: $(jq -c '{topic, owner, epoch, claims, pollers, state}' "$TMP/subs.$n.json" 2>/dev/null | tr '\n' ' ')"; done)"
  fi
}

# zombies_none: `livepoll zombies --exit-status` on every node: none listed, every node answered.
zombies_none() {
  local n rc
  ZOM_WHY=
  for n in "${NODES[@]}"; do
    rc=0; lq "$n" zombies --exit-status >"$TMP/zombies.out" 2>&1 || rc=$?
    ((rc == 0)) || { ZOM_WHY="$n: exit $rc: $(tr '\t\n' ' ;' <"$TMP/zombies.out")"; return 1; }
  done
}
check_zombies() {
  # The daemon reaps idle and dead-owner zombies after linger (1 s) + reap_margin (5 s), on its
  # 1 s sweep; a stalled poller after a database restart ends at its next good poll (backoff_max
  # 1 s). 15 s bounds all of them with room for a loaded machine.
  if until_ok 15 zombies_none; then pass; else violation "zombies still listed after 15 s: $ZOM_WHY"; fi
}

# state_of_stream FILE KEY: the watcher's state rebuilt from its stream: {"err": bool, "rows": [...]}
# with the rows sorted by KEY (a column name).
state_of_stream() {
  jq -nc --arg k "$2" 'reduce inputs as $u ({rows: {}, err: false};
      if $u.kind == "snapshot" then .err = false | .rows = ($u.rows | map({key: (.[$k] | tostring), value: .}) | from_entries)
      elif $u.kind == "diff" then
        reduce $u.changes[] as $c (.; if $c.op == "delete" then del(.rows[$c.row[$k] | tostring])
                                       else .rows[$c.row[$k] | tostring] = $c.row end)
      else .err = true end)
    | {err, rows: (.rows | [.[]] | sort_by(.[$k]))}' "$1"
}
expected_of() {  # expected_of QUERY [PARAM]: psql's result of the same query, as the watcher's state
  local rows
  if [[ $1 == t ]]; then
    rows=$(psq "SELECT coalesce(json_agg(json_build_object('id', id, 'v', v) ORDER BY id), '[]') FROM t WHERE g = '${2#g=}'") || return 1
    jq -c '{err: false, rows: sort_by(.id)}' <<<"$rows"
  else
    rows=$(psq "SELECT coalesce(json_agg(json_build_object('g', g, 'n', n, 'total', total) ORDER BY g), '[]')
                FROM (SELECT g, count(*) AS n, sum(v) AS total FROM t GROUP BY g) x") || return 1
    jq -c '{err: false, rows: sort_by(.g)}' <<<"$rows"
  fi
}
data_ok() {
  local w q p got
  declare -A want=()
  DATA_WHY=
  for w in "${!WPID[@]}"; do
    read -r _ q p <<<"$w"
    [[ -n ${want[$q$p]:-} ]] || want[$q$p]=$(expected_of "$q" "$p") || { DATA_WHY="psql failed"; return 1; }
    got=$(state_of_stream "${WFILE[$w]}" "$([[ $q == t ]] && echo id || echo g)")
    [[ $got == "${want[$q$p]}" ]] || {
      DATA_WHY="watcher '$w' (${WFILE[$w]##*/}) has $got; the database has ${want[$q$p]}; its last line: $(tail -1 "${WFILE[$w]}" | head -c 400)"
      return 1
    }
  done
}
check_data() {
  pause_writer
  if until_ok 10 data_ok; then pass ${#WPID[@]}; else violation "a watcher's state differs from the database 10 s after the writer paused: $DATA_WHY"; fi
  resume_writer
}
check_streams() {
  local w
  for w in "${!WPID[@]}"; do
    if stream_ok "${WFILE[$w]}" ${FRESH[$w]:-} 2>"$TMP/stream.why"; then pass; else
      violation "$(cat "$TMP/stream.why")" "its last lines: $(tail -4 "${WFILE[$w]}" | cut -c1-300)"; fi
  done
  # A query without key columns publishes snapshots only.
  for w in "${!WPID[@]}"; do
    [[ $w == *" s" ]] || continue
    if [[ -z $(jq -r 'select(.kind == "diff") | .seq' "${WFILE[$w]}" | head -1) ]]; then pass; else
      violation "watcher '$w' of the keyless query s got a diff"; fi
  done
}
check_round() {
  sleep "${SETTLE:-1}"  # the settle window
  local before=${#VIOLATIONS[@]}
  check_procs
  check_owners
  check_zombies
  check_data
  check_streams
  say "checks after $ROUND: $((${#VIOLATIONS[@]} - before)) violations, $CHECKS checks passed so far"
  ((${#VIOLATIONS[@]} == 0)) || finish_violated
}

# ---- the faults ---------------------------------------------------------------------------------
# resolve_victim SPEC: a node name, or the current owner of owner:TOPIC (n1 if nobody answers).
resolve_victim() {
  local o
  if [[ $1 == owner:* ]]; then
    o=$(lq n1 subs --json 2>/dev/null | jq -r --arg t "${1#owner:}" 'select(.topic == $t) | .owner // empty')
    echo "${o:-n1}"
  else echo "$1"; fi
}
ms_to_s() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }
fault_kill9() {
  local v=$1 ms=$2
  say "fault: kill -9 $v, restart after $(ms_to_s "$ms") s"
  mark_rejoins "$v"
  kill -9 "${PID[$v]}"; wait "${PID[$v]}" 2>/dev/null
  await_losses "$v"
  sleep "$(ms_to_s "$ms")"
  start_node_ns "$v" && answers "$v" && await_rejoins "$v"
  converge_members
}
fault_term() {
  local v=$1 ms=$2 rc=0 t
  say "fault: SIGTERM $v, restart after $(ms_to_s "$ms") s"
  mark_rejoins "$v"
  kill -TERM "${PID[$v]}"
  for t in $(seq 1 100); do alive "${PID[$v]}" || break; sleep 0.1; done
  if alive "${PID[$v]}"; then
    violation "$v did not exit within 10 s of SIGTERM" "$(tail -15 "$TMP/$v.log")"
    kill -9 "${PID[$v]}"
  fi
  wait "${PID[$v]}" 2>/dev/null || rc=$?
  ((rc == 0)) && pass || violation "$v exited $rc on SIGTERM (want 0)" "$(tail -15 "$TMP/$v.log")"
  await_losses "$v"
  sleep "$(ms_to_s "$ms")"
  start_node_ns "$v" && answers "$v" && await_rejoins "$v"
  converge_members
}
fault_stop() {
  local v=$1 ms=$2
  say "fault: SIGSTOP $v for $(ms_to_s "$ms") s"
  kill -STOP "${PID[$v]}"; STOPPED[$v]=1
  sleep "$(ms_to_s "$ms")"
  kill -CONT "${PID[$v]}"; unset "STOPPED[$v]"
  converge_members
}
fault_partition() {
  local v=$1 ms=$2 extra=$3 a=() b=() n
  for n in "${NODES[@]}"; do
    if [[ $n == "$v" || $n == "$extra" ]]; then a+=("$n"); else b+=("$n"); fi
  done
  say "fault: partition {${a[*]}} | {${b[*]}} for $(ms_to_s "$ms") s"
  for n in "${a[@]}"; do lq "$n" fault cut "${b[@]}" >/dev/null || die "fault cut failed on $n"; done
  for n in "${b[@]}"; do lq "$n" fault cut "${a[@]}" >/dev/null || die "fault cut failed on $n"; done
  sleep "$(ms_to_s "$ms")"
  for n in "${NODES[@]}"; do lq "$n" fault heal >/dev/null || die "fault heal failed on $n"; done
  converge_members
}
fault_netns() {
  local v=$1 ms=$2 extra=$3 a=() b=() n
  for n in "${NODES[@]}"; do
    if [[ $n == "$v" || $n == "$extra" ]]; then a+=("$n"); else b+=("$n"); fi
  done
  say "fault: real partition {${a[*]}} | {${b[*]}} for $(ms_to_s "$ms") s (network namespaces)"
  netns_split "$(printf '%s ' "${a[@]#n}")" || die "netns_split failed"
  sleep "$(ms_to_s "$ms")"
  netns_heal || die "netns_heal failed"
  converge_members
}
fault_db() {
  local how=$1 ms=$2
  if [[ $how == restart ]]; then
    say "fault: PostgreSQL restart (pg_ctl restart -m fast)"
    bash "$PG_SH" restart "$PGSTATE" >>"$TMP/pg-ops.log" 2>&1 || die "pg.sh restart failed: $(tail -5 "$TMP/pg-ops.log")"
  else
    say "fault: PostgreSQL down for $(ms_to_s "$ms") s"
    bash "$PG_SH" down "$PGSTATE" >>"$TMP/pg-ops.log" 2>&1 || die "pg.sh down failed: $(tail -5 "$TMP/pg-ops.log")"
    sleep "$(ms_to_s "$ms")"
    bash "$PG_SH" up "$PGSTATE" >>"$TMP/pg-ops.log" 2>&1 || die "pg.sh up failed: $(tail -5 "$TMP/pg-ops.log")"
  fi
}

# ---- the run ------------------------------------------------------------------------------------
say "chaos soak: seed $SEED, $FAULTS faults at most, $MINUTES minutes at most; PostgreSQL at $DSN"
say "schedule (kind victim ms extra):"
for i in "${!SCHED[@]}"; do say "  $((i + 1)). ${SCHED[$i]}"; done
netns_down  # leftovers of a run killed before its cleanup
netns_up "${#NODES[@]}" || die "could not make the network namespaces"
# All five at once, each naming the other four (a cold start after a power cut or a deploy): each
# starts as a cluster of one and they merge; converge_members bounds that.
for n in "${NODES[@]}"; do start_node_ns "$n"; done
for n in "${NODES[@]}"; do answers "$n" || die "$n did not start"; done
converge_members
((${#VIOLATIONS[@]} == 0)) || finish_violated
for n in "${NODES[@]}"; do start_watches "$n"; done
writer & WRITER_PID=$!
check_round

for i in "${!SCHED[@]}"; do
  if ((SECONDS >= MINUTES * 60)); then say "the time bound ($MINUTES min) is reached after $i faults"; break; fi
  read -r kind spec ms extra <<<"${SCHED[$i]}"
  ROUND="fault $((i + 1)) ($kind $spec)"
  case $kind in
    db) fault_db "$extra" "$ms" ;;
    *) v=$(resolve_victim "$spec"); "fault_$kind" "$v" "$ms" "${extra:-}" ;;
  esac
  INJECTED[$kind]=$((INJECTED[$kind] + 1))
  check_round
done
resume_writer
say "writer: $(cat "$TMP/writer.count" 2>/dev/null | awk '{print $1 " statements committed, " $2 " failed"}')"
summary
