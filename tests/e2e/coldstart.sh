#!/usr/bin/env bash
# Issue 13, on real daemons: a cluster started all at once forms. Five nodes started together,
# each naming the other four as seeds, all see five alive; two nodes naming each other merge; a
# node whose only seed never comes up serves a watcher on its own and says which seed did not
# answer; under `partition = majority` such a node says why it does not serve (`livepoll status`,
# and the watcher's stale notice); and a node bound to loopback refuses to advertise it to a seed
# that is not on loopback.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

db=$E2E_TMP/t.db
sql "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'x');"
cat >"$E2E_TMP/node.conf" <<CONF
[source.db]
plugin = soci
dsn = sqlite3://db=$db
[query.t]
source = db
sql = SELECT id, v FROM t
key = id
interval = 200ms
CONF

declare -A GOSSIP
# plan_ports NAME...: a gossip and an rpc port for each node, chosen before any starts, so that
# every node can name the others as seeds.
plan_ports() {
  local n used=" "
  for n in "$@"; do
    GOSSIP[$n]=$(free_port)
    RPC[$n]=127.0.0.1:$(free_port)
    while [[ $used == *" ${GOSSIP[$n]} "* || $used == *" ${RPC[$n]##*:} "* || ${GOSSIP[$n]} == "${RPC[$n]##*:}" ]]; do
      GOSSIP[$n]=$(free_port)
      RPC[$n]=127.0.0.1:$(free_port)
    done
    used+="${GOSSIP[$n]} ${RPC[$n]##*:} "
    RPC_NAME[${RPC[$n]}]=$n  # so that seeds are written NAME@HOST:PORT (named_seeds)
  done
  cluster_keys "$@"  # every key before any node starts: each trusts the others from its start
}
# launch NAME SEEDS [ARGS...]: starts livepolld NAME at its planned ports with SEEDS (a,b,...).
launch() {
  local name=$1 seeds=$2
  shift 2
  with_keys "$name"
  "$LIVEPOLLD" --config "$E2E_TMP/node.conf" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" \
    --name "$name" --admin-bind "ipc://$E2E_TMP/$name.admin" \
    --client-bind "ipc://$E2E_TMP/$name.client" --gossip-bind "tcp://127.0.0.1:${GOSSIP[$name]}" \
    --rpc-bind "tcp://${RPC[$name]}" "${KEY_ARGS[@]}" --join "$(named_seeds "$seeds")" "$@" \
    >>"$E2E_TMP/$name.log" 2>&1 &
  PID[$name]=$!
  E2E_PIDS+=("$!")
}
alive_count() { lp "$1" members --state alive 2>/dev/null | wc -l; }
sees() { [[ $(alive_count "$1") == "$2" ]]; }  # sees NODE N: NODE lists N members alive
serving() { lp "$1" status --node "$1" --json 2>/dev/null | jq -r '.serving'; }

# ---- five nodes at once, each naming the other four ----
five=(a1 a2 a3 a4 a5)
plan_ports "${five[@]}"
for n in "${five[@]}"; do
  seeds=""
  for m in "${five[@]}"; do [[ $m == "$n" ]] || seeds+="${seeds:+,}${RPC[$m]}"; done
  launch "$n" "$seeds"
done
for n in "${five[@]}"; do wait_for 15 "$n sees 5 alive" sees "$n" 5; done
for n in "${five[@]}"; do
  # Every seed answered: each is on its member's row, none on a row of its own.
  [[ $(lp "$n" members | awk -F'\t' '$5 == "seed"' | wc -l) == 0 ]] ||
    cluster_fail "$n still lists unanswered seeds: $(lp "$n" members)"
  [[ $(lp "$n" members | awk -F'\t' '$9 == "joined"' | wc -l) == 4 ]] ||
    cluster_fail "$n does not show four seeds joined: $(lp "$n" members)"
  [[ $(serving "$n") == yes ]] || cluster_fail "$n: serving is '$(serving "$n")'"
done
for n in "${five[@]}"; do kill -TERM "${PID[$n]}"; done
for n in "${five[@]}"; do wait "${PID[$n]}" || cluster_fail "$n did not exit 0 on SIGTERM"; done

# ---- two nodes that name each other ----
plan_ports b1 b2
launch b1 "${RPC[b2]}"
launch b2 "${RPC[b1]}"
for n in b1 b2; do wait_for 10 "$n sees 2 alive" sees "$n" 2; done
for n in b1 b2; do kill -TERM "${PID[$n]}"; done

# ---- a node whose only seed never comes up serves on its own ----
plan_ports c1 ghost  # ghost's ports stay unbound
launch c1 "${RPC[ghost]}"
wait_for 10 "c1 up" quiet lp c1 status
"$LIVEPOLL" -c "ipc://$E2E_TMP/c1.admin" watch t --count 1 >"$E2E_TMP/c1.watch" 2>"$E2E_TMP/c1.watch.err" &
watcher=$!
E2E_PIDS+=("$watcher")
wait_for 10 "a line for c1's watcher" has_lines "$E2E_TMP/c1.watch" 1
wait "$watcher" || cluster_fail "c1's watcher failed: $(cat "$E2E_TMP/c1.watch.err")"
[[ $(jq -r .kind "$E2E_TMP/c1.watch") == snapshot ]] || cluster_fail "c1's watcher got $(cat "$E2E_TMP/c1.watch")"
[[ $(jq -r .owner "$E2E_TMP/c1.watch") == c1 ]] || cluster_fail "c1's watcher got $(cat "$E2E_TMP/c1.watch")"
row=$(lp c1 members | awk -F'\t' '$5 == "seed"')
[[ $row == *"tcp://${RPC[ghost]}"*"no answer"* ]] || cluster_fail "c1's members shows no unanswered seed: $(lp c1 members)"
[[ $(serving c1) == "yes, as a cluster of one: 1 seed has not answered" ]] ||
  cluster_fail "c1: serving is '$(serving c1)'"
# The seed comes up (naming nobody): c1's next request reaches it, and they merge.
launch ghost "${RPC[c1]}"
for n in c1 ghost; do wait_for 10 "$n sees 2 alive" sees "$n" 2; done
for n in c1 ghost; do kill -TERM "${PID[$n]}"; done

# ---- partition = majority: a node that reaches none of its two seeds says why it does not serve
plan_ports d1 d2 d3
launch d1 "${RPC[d2]},${RPC[d3]}" --partition majority
wait_for 10 "d1 up" quiet lp d1 status
why="no: partition = majority and this node sees 1 of 3 members up (2 seeds have not answered)"
[[ $(serving d1) == "$why" ]] || cluster_fail "d1: serving is '$(serving d1)', expected '$why'"
"$LIVEPOLL" -c "ipc://$E2E_TMP/d1.admin" watch t --count 1 >"$E2E_TMP/d1.watch" 2>/dev/null &
E2E_PIDS+=("$!")
wait_for 10 "a line for d1's watcher" has_lines "$E2E_TMP/d1.watch" 1
[[ $(jq -r .kind "$E2E_TMP/d1.watch") == error ]] || cluster_fail "d1's watcher got $(cat "$E2E_TMP/d1.watch")"
[[ $(jq -r .error "$E2E_TMP/d1.watch") == "stale: ${why#no: }" ]] ||
  cluster_fail "d1's watcher was told $(cat "$E2E_TMP/d1.watch")"
# A second node makes two of three: a majority, and the watcher gets its snapshot.
launch d2 "${RPC[d1]},${RPC[d3]}" --partition majority
wait_for 10 "d1 serves with d2" eval '[[ $(serving d1) == yes ]]'
"$LIVEPOLL" -c "ipc://$E2E_TMP/d1.admin" watch t --count 1 >"$E2E_TMP/d1b.watch" 2>/dev/null &
E2E_PIDS+=("$!")
wait_for 10 "a snapshot for d1's second watcher" has_lines "$E2E_TMP/d1b.watch" 1
[[ $(jq -r .kind "$E2E_TMP/d1b.watch") == snapshot ]] || cluster_fail "d1's second watcher got $(cat "$E2E_TMP/d1b.watch")"
for n in d1 d2; do kill -TERM "${PID[$n]}"; done

# ---- no loopback address advertised to a seed off loopback ----
# A seed at one of this host's own non-loopback addresses: routable wherever the test runs.
host_ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -v -e '^127\.' -e ':' -e '^$' | head -1 || true)
if [[ -n $host_ip ]]; then
  status=0
  timeout 20 "$LIVEPOLLD" --config "$E2E_TMP/node.conf" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" --name e1 \
    --admin-bind "ipc://$E2E_TMP/e1.admin" --client-bind "ipc://$E2E_TMP/e1.client" \
    --gossip-bind "tcp://127.0.0.1:$(free_port)" --rpc-bind "tcp://127.0.0.1:$(free_port)" \
    --join "$host_ip:$(free_port)" >"$E2E_TMP/e1.out" 2>&1 || status=$?
  [[ $status -eq 2 ]] || fail "a loopback bind with a seed at $host_ip exited $status: $(cat "$E2E_TMP/e1.out")"
  grep -q "will not advertise the loopback address 127.0.0.1" "$E2E_TMP/e1.out" &&
    grep -q "bind to this host's address or to a wildcard" "$E2E_TMP/e1.out" ||
    fail "no clear refusal: $(cat "$E2E_TMP/e1.out")"
  # A wildcard bind advertises the address of the route to the seed instead.
  # (A wildcard bind is reachable from other hosts: only with keys.)
  plan_ports w1
  with_keys w1
  "$LIVEPOLLD" --config "$E2E_TMP/node.conf" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" --name w1 \
    --admin-bind "ipc://$E2E_TMP/w1.admin" --client-bind "ipc://$E2E_TMP/w1.client" \
    --gossip-bind "tcp://*:${GOSSIP[w1]}" --rpc-bind "tcp://*:${RPC[w1]##*:}" "${KEY_ARGS[@]}" \
    --join "ghost@$host_ip:$(free_port)" >>"$E2E_TMP/w1.log" 2>&1 &
  E2E_PIDS+=("$!")
  wait_for 10 "w1 up" quiet lp w1 members
  [[ $(lp w1 members | awk -F'\t' '$1 == "w1" {print $4}') == "tcp://$host_ip:${RPC[w1]##*:}" ]] ||
    cluster_fail "w1 advertises $(lp w1 members | awk -F'\t' '$1 == "w1" {print $4}'), not $host_ip"
else
  echo "note: no non-loopback address on this host; the advertise checks are skipped"
fi
echo "ok: five at once, two naming each other, a lone node serving, majority saying why, advertised addresses"
