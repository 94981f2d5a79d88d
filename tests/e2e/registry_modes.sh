#!/usr/bin/env bash
# The registry's other modes on real daemons:
#  - placement = local: a topic's poller runs on the node of its first subscriber, and stays there
#    when other nodes subscribe too;
#  - partition = majority: a node cut off from the majority stops polling and tells its watcher
#    the data is stale, the majority side takes the topic over, and after the heal there is one
#    owner without a clash ever having been registered.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

db=$E2E_TMP/t.db
sql "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, v TEXT);
           INSERT INTO t VALUES (1, 1, 'a'), (2, 2, 'a');"
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
watch_on() {  # watch_on NODE G FILE
  "$LIVEPOLL" -c "ipc://$E2E_TMP/$1.admin" watch t "g=$2" >"$3" 2>>"$E2E_TMP/watch.err" &
  E2E_PIDS+=("$!")
}
saw() { grep -q "$2" "$1"; }
stop_cluster() {
  local n
  for n in "$@"; do kill -TERM "${PID[$n]}" 2>/dev/null || true; done
  for n in "$@"; do wait "${PID[$n]}" 2>/dev/null || true; done
}

# ---- placement = local ----
NODE_ARGS=(--placement local)
start_cluster l1 l2 l3
watch_on l2 1 "$E2E_TMP/local.l2"
wait_for 10 "l2's watcher gets a snapshot" has_lines "$E2E_TMP/local.l2" 1
[[ $(sub_json l1 "t?g=1" owner) == l2 ]] || cluster_fail "placement local: owner $(sub_json l1 "t?g=1" owner), want l2"
watch_on l3 1 "$E2E_TMP/local.l3"
wait_for 10 "l3's watcher gets a snapshot" has_lines "$E2E_TMP/local.l3" 1
sql "$db" "UPDATE t SET v = 'l' WHERE g = 1"
wait_for 10 "l3 sees the write" saw "$E2E_TMP/local.l3" '"l"'
[[ $(sub_json l3 "t?g=1" owner) == l2 ]] || cluster_fail "a second subscriber moved the topic"
[[ $(sub_json l3 "t?g=1" pollers) == l2 && $(sub_json l1 "t?g=1" pollers) == l2 ]] ||
  cluster_fail "a node other than l2 polls t?g=1: $(sub_json l1 "t?g=1" pollers)"
stop_cluster l1 l2 l3

# ---- partition = majority ----
NODE_ARGS=(--partition majority)
nodes=(m1 m2 m3)
start_cluster "${nodes[@]}"
for n in "${nodes[@]}"; do watch_on "$n" 2 "$E2E_TMP/maj.$n"; done
for n in "${nodes[@]}"; do wait_for 10 "$n's watcher gets a snapshot" has_lines "$E2E_TMP/maj.$n" 1; done
lone=$(sub_json m1 "t?g=2" owner)
others=()
for n in "${nodes[@]}"; do [[ $n == "$lone" ]] || others+=("$n"); done
lp "$lone" fault cut "${others[@]}" >/dev/null
for n in "${others[@]}"; do lp "$n" fault cut "$lone" >/dev/null; done
# The owner, now alone, stops polling and its watcher hears that the data is stale.
wait_for 10 "$lone's watcher is told its data is stale" saw "$E2E_TMP/maj.$lone" stale
not_polling() { [[ $(lp "$1" subs --node "$1" --json | jq -r --arg t "$2" 'select(.topic == $t) | .pollers') != *"$1"* ]]; }
wait_for 10 "$lone stops polling" not_polling "$lone" "t?g=2"
moved() { local o; o=$(sub_json "${others[0]}" "t?g=2" owner); [[ -n $o && $o != "$lone" ]]; }
wait_for 10 "the majority side owns t?g=2" moved
sql "$db" "UPDATE t SET v = 'm' WHERE g = 2"
for n in "${others[@]}"; do wait_for 10 "$n sees the write during the partition" saw "$E2E_TMP/maj.$n" '"m"'; done
lp "$lone" fault heal >/dev/null
for n in "${others[@]}"; do lp "$n" fault heal >/dev/null; done
for n in "${nodes[@]}"; do wait_for 15 "$n sees $lone alive" all_see alive "$lone" "$n"; done
wait_for 10 "$lone's watcher catches up after the heal" saw "$E2E_TMP/maj.$lone" '"m"'
for n in "${nodes[@]}"; do
  clashes=$(lp "$n" stats --node "$n" --json | jq -r 'select(.name == "clashes") | .value')
  [[ $clashes == 0 ]] || cluster_fail "$n saw $clashes clashes under partition = majority"
done
for n in "${nodes[@]}"; do stream_ok "$E2E_TMP/maj.$n" || cluster_fail "broken stream on $n"; done
echo "ok: placement local, partition majority"
