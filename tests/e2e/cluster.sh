#!/usr/bin/env bash
# Real daemons on 127.0.0.1 form a cluster: they join through a seed and learn each other;
# presence (who watches what, where) is seen on every node; `kill -9` of one is detected by all;
# a restart comes back with a new incarnation; SIGTERM is seen as a leave; a second live node with
# a name in use is refused.
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

start_node n1
wait_for 10 "n1 up" lp n1 status
for n in n2 n3 n4; do start_node "$n" "${RPC[n1]}"; done
for n in n1 n2 n3 n4; do
  for m in n1 n2 n3 n4; do wait_for 10 "$n sees $m alive" all_see alive "$m" "$n"; done
done

# Presence: watchers on two nodes are counted on every node.
"$LIVEPOLL" -c "ipc://$E2E_TMP/n2.admin" watch t >"$E2E_TMP/w2.out" 2>/dev/null &
E2E_PIDS+=($!)
"$LIVEPOLL" -c "ipc://$E2E_TMP/n3.admin" watch t >"$E2E_TMP/w3.out" 2>/dev/null &
E2E_PIDS+=($!)
counted() { [[ $(lp "$1" subs --json | jq -r 'select(.topic == "t") | .cluster_subscribers') == 2 ]]; }
for n in n1 n2 n3 n4; do wait_for 10 "$n counts 2 subscribers of t" counted "$n"; done
[[ $(lp n4 subs --json | jq -r 'select(.topic == "t") | .nodes') == "n2=1,n3=1" ]] ||
  fail "per-node counts on n4: $(lp n4 subs --json)"

# kill -9 of n2: every survivor declares it dead, and its watcher leaves the counts.
old_incarnation=$(incarnation_of n1 n2)
kill -9 "${PID[n2]}"
wait "${PID[n2]}" 2>/dev/null || true
for n in n1 n3 n4; do wait_for 5 "$n sees n2 dead" all_see dead n2 "$n"; done
one_left() { [[ $(lp "$1" subs --json | jq -r 'select(.topic == "t") | .cluster_subscribers') == 1 ]]; }
for n in n1 n3 n4; do wait_for 5 "$n drops n2's subscriber" one_left "$n"; done

# A restart of n2 is a new incarnation, alive everywhere.
start_node n2 "${RPC[n1]}"
for n in n1 n3 n4; do wait_for 10 "$n sees n2 back" all_see alive n2 "$n"; done
new_incarnation=$(incarnation_of n3 n2)
((new_incarnation > old_incarnation)) || fail "incarnation did not grow: $old_incarnation -> $new_incarnation"

# SIGTERM of n4: a leave, seen at once.
kill -TERM "${PID[n4]}"
wait "${PID[n4]}" || fail "n4 did not exit 0 on SIGTERM"
for n in n1 n2 n3; do wait_for 3 "$n sees n4 left" all_see left n4 "$n"; done

# A second live node named n1 (with n1's key: the cluster would not hear another) is refused with a
# clear message and exit 1.
status=0
node_keys n1
timeout 20 "$LIVEPOLLD" --config "$E2E_TMP/node.conf" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" --name n1 \
  --admin-bind "ipc://$E2E_TMP/dup.admin" --client-bind "ipc://$E2E_TMP/dup.client" \
  --gossip-bind "tcp://127.0.0.1:$(free_port)" --rpc-bind "tcp://127.0.0.1:$(free_port)" \
  "${KEY_ARGS[@]}" --join "$(named_seeds "${RPC[n1]}")" >"$E2E_TMP/dup.log" 2>&1 || status=$?
[[ $status -eq 1 ]] || fail "a duplicate n1 exited $status: $(cat "$E2E_TMP/dup.log")"
grep -q "name 'n1' is in use" "$E2E_TMP/dup.log" || fail "no clear refusal: $(cat "$E2E_TMP/dup.log")"
[[ $(state_of n3 n1) == alive ]] || fail "the refused duplicate disturbed n1"

# Nobody was falsely suspected along the way (only n2's kill and n4's leave went down).
for n in n1 n3; do
  downs=$(grep -c "member down" "$E2E_TMP/$n.log" || true)
  [[ $downs -eq 2 ]] || fail "$n logged $downs member-down events, expected 2: $(grep 'member down' "$E2E_TMP/$n.log")"
done
echo "ok: join, presence, kill -9, restart, leave and a duplicate name on real daemons"
