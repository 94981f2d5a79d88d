#!/usr/bin/env bash
# While the database fails, watchers get an error status and the daemon keeps running; when it
# recovers, they get a fresh snapshot.
source "$(dirname "$0")/lib.sh"

db=$E2E_TMP/t.db
sql "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'before');"
cat >"$E2E_TMP/livepolld.conf" <<CONF
[node]
backoff-max = 400ms
[source.db]
plugin = soci
dsn = sqlite3://db=$db
[query.t]
source = db
sql = SELECT id, v FROM t
key = id
interval = 100ms
CONF
sed -i 's/backoff-max/backoff_max/' "$E2E_TMP/livepolld.conf"
start_daemon "$E2E_TMP/livepolld.conf"

"$LIVEPOLL" watch t --count 3 >"$E2E_TMP/w.out" &
watcher=$!
E2E_PIDS+=("$watcher")
wait_for 10 "the snapshot" has_lines "$E2E_TMP/w.out" 1
sql "$db" "ALTER TABLE t RENAME TO t_away"
wait_for 10 "the error" has_lines "$E2E_TMP/w.out" 2
[[ $(sed -n 2p "$E2E_TMP/w.out" | jq -r .kind) == error ]] || fail "no error line: $(cat "$E2E_TMP/w.out")"
sed -n 2p "$E2E_TMP/w.out" | jq -r .error | grep -q "no such table" || fail "error text: $(sed -n 2p "$E2E_TMP/w.out")"
[[ $(subs_field t state) == error ]] || fail "subs state is not error"
sleep 1  # several failed polls: still one error line, and the daemon lives
has_lines "$E2E_TMP/w.out" 3 && fail "repeated errors were sent: $(cat "$E2E_TMP/w.out")"
kill -0 "$DAEMON_PID" || fail "the daemon died"
errors=$(subs_field t errors)
((errors >= 2)) || fail "expected several failed polls, got $errors"

sql "$db" "ALTER TABLE t_away RENAME TO t; UPDATE t SET v = 'after'"
wait "$watcher" || fail "watch failed"
third=$(sed -n 3p "$E2E_TMP/w.out")
[[ $(jq -r .kind <<<"$third") == snapshot ]] || fail "recovery is not a snapshot: $third"
[[ $(jq -r '.rows[0].v' <<<"$third") == after ]] || fail "recovered data: $third"
[[ $(subs_field t state) != error ]] || fail "still in error after recovery"
echo "ok: error status while the source fails, snapshot after recovery"
