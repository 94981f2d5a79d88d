#!/usr/bin/env bash
# One poller per topic cluster-wide, on real daemons (DESIGN.md, "Registry", "Placement and
# failover", "Lifecycle and zombies"). Three nodes with watchers of three topics on every node:
#  - every node agrees on each topic's owner, exactly one node polls it, and the database sees
#    about one poll per topic per interval for the whole cluster;
#  - a write reaches every watcher on every node;
#  - kill -9 of an owner: a survivor takes the topic over and serves the surviving watchers;
#  - a partition (fault injection) and its heal: each side polls for its own watchers, then one
#    owner is left per topic and a write after the heal reaches every watcher;
#  - SIGTERM of an owner: its topics move at once;
#  - when every watcher has left, no poller and no claim is left after linger, and the leaver's
#    claims are reaped as dead-owner zombies;
#  - every watcher's stream is unbroken throughout (epochs grow, each starts with a snapshot).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

db=$E2E_TMP/t.db
sql "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, v TEXT);
           INSERT INTO t VALUES (1, 1, 'a'), (2, 2, 'a'), (3, 3, 'a');"
cat >"$E2E_TMP/node.conf" <<CONF
[node]
linger = 1s
fault_injection = true
[source.db]
plugin = soci
dsn = sqlite3://db=$db
[query.t]
source = db
sql = SELECT id, v FROM t WHERE g = :g
params = g
key = id
interval = 200ms
CONF
nodes=(n1 n2 n3)
start_cluster "${nodes[@]}"

declare -A WATCH
start_watch() {  # start_watch NODE G
  "$LIVEPOLL" -c "ipc://$E2E_TMP/$1.admin" watch t "g=$2" >"$E2E_TMP/w.$1.$2" 2>>"$E2E_TMP/watch.err" &
  WATCH[$1.$2]=$!
  E2E_PIDS+=("$!")
}
for n in "${nodes[@]}"; do for g in 1 2 3; do start_watch "$n" "$g"; done; done
for n in "${nodes[@]}"; do for g in 1 2 3; do
  wait_for 15 "watcher $n/g=$g got a snapshot" has_lines "$E2E_TMP/w.$n.$g" 1
done; done

# pollers_of TOPIC NODE...: the nodes that poll TOPIC (`polls` is set in the node's own answer).
pollers_of() {
  local topic=$1 n; shift
  for n in "$@"; do
    [[ -n $(lp "$n" subs --node "$n" --json 2>/dev/null |
      jq -r --arg t "$topic" 'select(.topic == $t) | .polls // empty') ]] && echo "$n"
  done
}
# live_claims NODE TOPIC: the claims NODE holds of TOPIC whose owner is up, one a line.
live_claims() { sub_json "$1" "$2" claims | tr ',' '\n' | grep -v '(down)' | grep .; }
# one_owner TOPIC NODE...: every node names the same owner, with a single live claim, and that
# owner is the only node polling it.
one_owner() {
  local topic=$1 n owner; shift
  owner=$(sub_json "$1" "$topic" owner)
  [[ -n $owner ]] || return 1
  for n in "$@"; do
    [[ $(sub_json "$n" "$topic" owner) == "$owner" ]] || return 1
    [[ $(live_claims "$n" "$topic" | wc -l) -eq 1 ]] || return 1
  done
  [[ $(pollers_of "$topic" "$@") == "$owner" ]]
}
for g in 1 2 3; do wait_for 10 "one owner of t?g=$g" one_owner "t?g=$g" "${nodes[@]}"; done

# The database sees one poll per topic per interval cluster-wide: 3 topics x 5 s / 200 ms = 75,
# against 225 if every node polled for its own watchers.
total_polls() {
  local n sum=0
  for n in "$@"; do
    sum=$((sum + $(lp "$n" stats --node "$n" --json | jq -r 'select(.name == "polls") | .value')))
  done
  echo "$sum"
}
before=$(total_polls "${nodes[@]}")
sleep 5
polls=$(($(total_polls "${nodes[@]}") - before))
((polls >= 30 && polls <= 110)) || cluster_fail "$polls polls in 5 s for 3 topics at 200 ms (want about 75)"
echo "polls in 5 s, cluster-wide, 3 topics at 200 ms: $polls"

# saw NODE G TEXT: the watcher of g=G on NODE received TEXT.
saw() { grep -q "$3" "$E2E_TMP/w.$1.$2"; }
sql "$db" "UPDATE t SET v = 'w1'"
for n in "${nodes[@]}"; do for g in 1 2 3; do wait_for 10 "$n/g=$g sees w1" saw "$n" "$g" w1; done; done

# kill -9 of t?g=1's owner: a survivor takes over and serves the surviving watchers.
victim=$(sub_json n1 "t?g=1" owner)
old_epoch=$(sub_json n1 "t?g=1" epoch)
kill -9 "${PID[$victim]}"
wait "${PID[$victim]}" 2>/dev/null || true
survivors=()
for n in "${nodes[@]}"; do [[ $n == "$victim" ]] || survivors+=("$n"); done
taken_over() { local o; o=$(sub_json "${survivors[0]}" "t?g=1" owner); [[ -n $o && $o != "$victim" ]]; }
wait_for 10 "a survivor owns t?g=1" taken_over
wait_for 10 "one owner of t?g=1 among survivors" one_owner "t?g=1" "${survivors[@]}"
new_epoch=$(sub_json "${survivors[0]}" "t?g=1" epoch)
((new_epoch > old_epoch)) || cluster_fail "the takeover's epoch $new_epoch is not above $old_epoch"
sql "$db" "UPDATE t SET v = 'w2' WHERE g = 1"
for n in "${survivors[@]}"; do wait_for 10 "$n/g=1 sees w2 from the successor" saw "$n" 1 w2; done
for n in "${survivors[@]}"; do
  last_owner=$(tail -1 "$E2E_TMP/w.$n.1" | jq -r .owner)
  [[ $last_owner != "$victim" ]] || cluster_fail "$n's watcher still follows the dead owner"
done

# The victim comes back (a new incarnation) with its watchers.
start_node "$victim" "${RPC[${survivors[0]}]}"
for n in "${nodes[@]}"; do wait_for 15 "$n sees $victim back" all_see alive "$victim" "$n"; done
for g in 1 2 3; do
  kill "${WATCH[$victim.$g]}" 2>/dev/null || true
  mv "$E2E_TMP/w.$victim.$g" "$E2E_TMP/w.$victim.$g.before-kill"
  start_watch "$victim" "$g"
done
for g in 1 2 3; do wait_for 10 "one owner of t?g=$g after the restart" one_owner "t?g=$g" "${nodes[@]}"; done

# A partition: t?g=2's owner is cut off from the two others. Each side polls for its own watchers.
lone=$(sub_json n1 "t?g=2" owner)
others=()
for n in "${nodes[@]}"; do [[ $n == "$lone" ]] || others+=("$n"); done
lp "$lone" fault cut "${others[@]}" >/dev/null
for n in "${others[@]}"; do lp "$n" fault cut "$lone" >/dev/null; done
for n in "${others[@]}"; do wait_for 10 "$n sees $lone dead" all_see dead "$lone" "$n"; done
owned_by_others() { local o; o=$(sub_json "${others[0]}" "t?g=2" owner); [[ -n $o && $o != "$lone" ]]; }
wait_for 10 "the majority side registers t?g=2 too" owned_by_others
sql "$db" "UPDATE t SET v = 'p' WHERE g = 2"
for n in "${nodes[@]}"; do wait_for 10 "$n/g=2 sees p during the partition" saw "$n" 2 "\"p\""; done

# The heal: the replicas merge, the clash is resolved, one owner is left.
lp "$lone" fault heal >/dev/null
for n in "${others[@]}"; do lp "$n" fault heal >/dev/null; done
for n in "${nodes[@]}"; do wait_for 15 "$n sees $lone alive again" all_see alive "$lone" "$n"; done
heal_start=$SECONDS
for g in 1 2 3; do wait_for 15 "one owner of t?g=$g after the heal" one_owner "t?g=$g" "${nodes[@]}"; done
echo "one owner per topic $((SECONDS - heal_start)) s after the members saw each other again"
sql "$db" "UPDATE t SET v = 'h'"
for n in "${nodes[@]}"; do for g in 1 2 3; do wait_for 10 "$n/g=$g sees h after the heal" saw "$n" "$g" '"h"'; done; done

# SIGTERM of t?g=3's owner: the survivors take it over at once.
leaver=$(sub_json n1 "t?g=3" owner)
stayers=()
for n in "${nodes[@]}"; do [[ $n == "$leaver" ]] || stayers+=("$n"); done
kill -TERM "${PID[$leaver]}"
wait "${PID[$leaver]}" || cluster_fail "$leaver did not exit 0 on SIGTERM"
wait_for 10 "one owner of t?g=3 after the leave" one_owner "t?g=3" "${stayers[@]}"
sql "$db" "UPDATE t SET v = 'after-leave' WHERE g = 3"
for n in "${stayers[@]}"; do wait_for 10 "$n/g=3 sees the write after the leave" saw "$n" 3 after-leave; done

# Every stream so far is unbroken.
for f in "$E2E_TMP"/w.*; do stream_ok "$f" || cluster_fail "$f: broken stream"; done

# Every watcher leaves: after linger no poller and no live claim is left anywhere; the claims the
# SIGTERMed leaver held are dead-owner zombies (nobody subscribes, so nobody takes them over),
# which the daemons reap themselves after linger + reap_margin (1 s + 5 s) and count.
for n in "${stayers[@]}"; do for g in 1 2 3; do kill "${WATCH[$n.$g]}" 2>/dev/null || true; done; done
nothing_left() {
  local n
  for n in "$@"; do
    [[ -z $(lp "$n" subs --json | jq -r 'select(.pollers != "" or .claims != "") | .topic') ]] || return 1
  done
}
wait_for 20 "no poller or claim left after linger and the reaping" nothing_left "${stayers[@]}"
reaped=0
for n in "${stayers[@]}"; do
  reaped=$((reaped + $(lp "$n" stats --node "$n" --json | jq -r 'select(.name == "reaped_dead_owner") | .value')))
done
((reaped >= 1)) || cluster_fail "no dead-owner zombie was reaped"
echo "ok: one poller per topic, failover, partition and heal, leave, teardown, reaping on real daemons"
