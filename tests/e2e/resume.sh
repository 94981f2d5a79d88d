#!/usr/bin/env bash
# Clients survive their daemon (lib/proto/PROTOCOL.md, "Sessions and resume"; issue 13):
#  - a standalone daemon killed (kill -9) and restarted: `livepoll watch` notices, joins the new
#    process and carries on with a snapshot (the history died with the old process), marked as
#    no continuation on stderr; its output stays one stream whose state equals the database;
#  - the same daemon hung (SIGSTOP) for a few heartbeats, then woken: the watcher resumes exactly;
#  - in a cluster, `watch -c A,B,C` whose node is killed moves to the next node and resumes there
#    from the last update it printed: the updates it missed, no duplicate, no gap, no snapshot.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

db=$E2E_TMP/shop.db
sql "$db" "CREATE TABLE items(id INTEGER PRIMARY KEY, qty INTEGER);
           INSERT INTO items VALUES (1, 0), (2, 0), (3, 0);"
cat >"$E2E_TMP/livepolld.conf" <<CONF
[node]
name = solo
[source.shop]
plugin = soci
dsn = sqlite3://db=$db
[query.items]
source = shop
sql = SELECT id, qty FROM items ORDER BY id
key = id
interval = 100ms
CONF

# rebuilt FILE: the rows a client holds after applying FILE's updates in order (id:qty,...).
rebuilt() {
  jq -rs 'reduce .[] as $u ({};
      if $u.kind == "snapshot" then (reduce $u.rows[] as $r ({}; .["\($r.id)"] = $r.qty))
      elif $u.kind == "diff" then
        reduce $u.changes[] as $c (.;
          if $c.op == "delete" then del(.["\($c.row.id)"]) else .["\($c.row.id)"] = $c.row.qty end)
      else . end)
    | to_entries | sort_by(.key | tonumber) | map("\(.key):\(.value)") | join(",")' "$1"
}
in_db() { sql "$db" "SELECT group_concat(id || ':' || qty, ',') FROM (SELECT * FROM items ORDER BY id)"; }
converged() { [[ $(rebuilt "$1") == "$(in_db)" ]]; }

# ---- a standalone daemon, kill -9 and restart ----
start_daemon "$E2E_TMP/livepolld.conf"
"$LIVEPOLL" watch items >"$E2E_TMP/solo.out" 2>"$E2E_TMP/solo.err" &
watcher=$!
E2E_PIDS+=("$watcher")
wait_for 10 "the first snapshot" has_lines "$E2E_TMP/solo.out" 1
for i in 1 2 3; do
  sql "$db" "UPDATE items SET qty = $i WHERE id = 1"
  wait_for 10 "update $i" has_lines "$E2E_TMP/solo.out" $((1 + i))
done
kill -9 "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
sql "$db" "UPDATE items SET qty = 100 WHERE id = 2"  # while nobody polls
before=$(wc -l <"$E2E_TMP/solo.out")
start_daemon "$E2E_TMP/livepolld.conf"
wait_for 15 "a line after the restart" has_lines "$E2E_TMP/solo.out" $((before + 1))
kill -0 "$watcher" 2>/dev/null || fail "watch exited: $(cat "$E2E_TMP/solo.err")"
restart_line=$((before + 1))
after=$(sed -n "${restart_line}p" "$E2E_TMP/solo.out")
[[ $(jq -r .kind <<<"$after") == snapshot ]] || fail "after a restart, not a snapshot: $after"
grep -q "lost livepolld at $ADMIN (it closed the connection)" "$E2E_TMP/solo.err" ||
  fail "no note of the lost daemon: $(cat "$E2E_TMP/solo.err")"
grep -q "cannot resume after solo epoch [0-9]* seq 4: a new snapshot follows" "$E2E_TMP/solo.err" ||
  fail "no note that the stream did not continue: $(cat "$E2E_TMP/solo.err")"
sql "$db" "UPDATE items SET qty = 7 WHERE id = 3"
wait_for 10 "the watcher's state equals the database" converged "$E2E_TMP/solo.out"
# A hung daemon (SIGSTOP): noticed within a few heartbeats; when it wakes up the same process still
# holds the stream's history, so the watcher resumes exactly: diffs only, nothing lost.
before=$(wc -l <"$E2E_TMP/solo.out")
kill -STOP "$DAEMON_PID"
wait_for 15 "the hung daemon noticed" grep -q "lost livepolld at $ADMIN (no answer within 3s)" "$E2E_TMP/solo.err"
kill -CONT "$DAEMON_PID"
sql "$db" "UPDATE items SET qty = 8 WHERE id = 3"
wait_for 15 "the watcher's state equals the database after the hang" converged "$E2E_TMP/solo.out"
wait_for 10 "a resume after the hang" grep -q "resumed through livepolld at $ADMIN" "$E2E_TMP/solo.err"
# From the new process's snapshot on, one unbroken stream (the old process's epochs are not
# comparable: a standalone daemon's epochs start again, with another owner_session).
sed -n "$restart_line,\$p" "$E2E_TMP/solo.out" >"$E2E_TMP/solo.since"
stream_ok "$E2E_TMP/solo.since" || fail "the watcher's stream broke"
if sed -n "$((before + 1)),\$p" "$E2E_TMP/solo.out" | jq -e 'select(.kind == "snapshot")' >/dev/null; then
  fail "a snapshot after a resume within the history: $(tail -3 "$E2E_TMP/solo.out")"
fi
kill "$watcher"
wait "$watcher" 2>/dev/null || true
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true

# ---- a cluster: the watcher's node dies, it resumes through the next ----
sed 's/^name = solo$/name = node/' "$E2E_TMP/livepolld.conf" >"$E2E_TMP/node.conf"
start_cluster n1 n2 n3
# Watchers on n2 and n3, so that each relays the topic and keeps its history.
for n in n2 n3; do
  lp "$n" watch items >"$E2E_TMP/w.$n" 2>>"$E2E_TMP/watch.err" &
  E2E_PIDS+=("$!")
done
for n in n2 n3; do wait_for 15 "$n's watcher's snapshot" has_lines "$E2E_TMP/w.$n" 1; done
owner=$(sub_json n2 items owner)
[[ -n $owner ]] || cluster_fail "no owner of items"
# The watcher under test starts on a node that does not own the topic (which is then killed), and
# names the others as where to go next: the stream goes on in its epoch, so the resume must be
# exact.
victim=n1
[[ $owner != n1 ]] || victim=n3
next=n2
all=ipc://$E2E_TMP/$victim.admin,ipc://$E2E_TMP/$next.admin,ipc://$E2E_TMP/$owner.admin
"$LIVEPOLL" -c "$all" watch items >"$E2E_TMP/moving.out" 2>"$E2E_TMP/moving.err" &
moving=$!
E2E_PIDS+=("$moving")
wait_for 15 "the moving watcher's snapshot" has_lines "$E2E_TMP/moving.out" 1
for i in 11 12 13; do
  sql "$db" "UPDATE items SET qty = $i WHERE id = 1"
  wait_for 10 "update $i at the moving watcher" converged "$E2E_TMP/moving.out"
done
before=$(wc -l <"$E2E_TMP/moving.out")
kill -9 "${PID[$victim]}"
sql "$db" "UPDATE items SET qty = 21 WHERE id = 2"
sql "$db" "UPDATE items SET qty = 22 WHERE id = 3"
wait_for 15 "the moving watcher converges after its node died" converged "$E2E_TMP/moving.out"
kill -0 "$moving" 2>/dev/null || cluster_fail "watch exited: $(cat "$E2E_TMP/moving.err")"
grep -q "lost livepolld at ipc://$E2E_TMP/$victim.admin (it closed the connection)" \
  "$E2E_TMP/moving.err" || cluster_fail "no note of the lost node: $(cat "$E2E_TMP/moving.err")"
grep -q "resumed through livepolld at ipc://$E2E_TMP/$next.admin" "$E2E_TMP/moving.err" ||
  cluster_fail "did not resume on $next: $(cat "$E2E_TMP/moving.err")"
# The owner lived: the stream went on in its epoch, so after the resume come diffs only, each the
# next seq (stream_ok): nothing lost, nothing twice, no snapshot.
stream_ok "$E2E_TMP/moving.out" || cluster_fail "the moving watcher's stream broke"
if sed -n "$((before + 1)),\$p" "$E2E_TMP/moving.out" | jq -e 'select(.kind == "snapshot")' >/dev/null; then
  cluster_fail "a snapshot after a resume within the history: $(tail -3 "$E2E_TMP/moving.out")"
fi
echo "resume: ok (standalone restart; cluster failover from $victim to $next, owner $owner)"
