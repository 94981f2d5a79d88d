#!/usr/bin/env bash
# A poll slower than the source's statement timeout (options='-c statement_timeout=300' in the
# DSN) fails with an error for that poll; the daemon and the other topics carry on, and once the
# query is fast again the next poll succeeds (a fresh snapshot).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../pg/e2e_lib.sh"

pg_create_db
pg "CREATE TABLE t(id integer PRIMARY KEY, v text, slow boolean NOT NULL DEFAULT false);
    INSERT INTO t VALUES (1, 'fast', false);"
cat >"$E2E_TMP/livepolld.conf" <<CONF
[node]
backoff_max = 400ms
[source.pg]
plugin = postgres
dsn = $PG_DSN options='-c statement_timeout=300'
[query.t]
source = pg
sql = SELECT t.id, t.v FROM t CROSS JOIN LATERAL (SELECT pg_sleep(CASE WHEN t.slow THEN 1 ELSE 0 END)) AS s ORDER BY t.id
key = id
interval = 100ms
[query.other]
source = pg
sql = SELECT count(*) AS n FROM t
interval = 100ms
CONF
start_daemon "$E2E_TMP/livepolld.conf"

"$LIVEPOLL" watch t --count 3 >"$E2E_TMP/w.out" 2>"$E2E_TMP/w.err" &
watcher=$!
E2E_PIDS+=("$watcher")
wait_for 10 "the snapshot" has_lines "$E2E_TMP/w.out" 1
[[ $(sed -n 1p "$E2E_TMP/w.out" | jq -c '[.kind, .rows]') == '["snapshot",[{"id":1,"v":"fast"}]]' ]] ||
  fail "first line: $(cat "$E2E_TMP/w.out")"

# Slow: each poll sleeps 1 s, the server cancels it at 300 ms.
pg "UPDATE t SET slow = true, v = 'slow'"
wait_for 10 "the timeout error" has_lines "$E2E_TMP/w.out" 2
err=$(sed -n 2p "$E2E_TMP/w.out")
[[ $(jq -r .kind <<<"$err") == error ]] || fail "no error line for a slow poll: $err"
jq -r .error <<<"$err" | grep -qi "statement timeout" || fail "the error does not name the timeout: $err"
echo "error for the slow poll: $(jq -r .error <<<"$err")"
sleep 1.5
((($(subs_field t errors)) >= 2)) || fail "expected several timed-out polls: $("$LIVEPOLL" subs --header)"
[[ $(subs_field t state) == error ]] || fail "state is not error"
# The daemon answers and the source's other queries still work while this one times out.
out=$("$LIVEPOLL" --timeout 2s watch other --count 1) || fail "another query failed meanwhile"
[[ $(jq -c '[.kind, .rows]' <<<"$out") == '["snapshot",[{"n":1}]]' ]] || fail "other query: $out"
kill -0 "$DAEMON_PID" || fail "the daemon died"

# Fast again: the next poll succeeds.
pg "UPDATE t SET slow = false, v = 'fast again'"
wait "$watcher" || fail "watch failed: $(cat "$E2E_TMP/w.err")"
third=$(sed -n 3p "$E2E_TMP/w.out")
[[ $(jq -c '[.kind, .rows]' <<<"$third") == '["snapshot",[{"id":1,"v":"fast again"}]]' ]] ||
  fail "after the query is fast again: $third"
[[ $(subs_field t state) != error ]] || fail "still in error"
echo "ok: a statement timeout fails that poll; the next fast poll succeeds"
