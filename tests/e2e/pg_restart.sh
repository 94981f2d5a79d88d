#!/usr/bin/env bash
# The PostgreSQL server goes away under live subscriptions: the watcher gets an `error` line, the
# daemon keeps running, and when the server is back the watcher gets a fresh snapshot with the
# current data, then diffs again. Twice: stop / sleep / start, then `pg_ctl restart -m fast`.
# This test restarts a private server of its own (pg.sh), not the fixture's shared one, so the
# tests running next to it are not disturbed.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../pg/e2e_lib.sh"

own=$E2E_TMP/pg
stop_own() { bash "$PG_SH" stop "$own" >/dev/null 2>&1 || true; }
trap 'stop_own; pg_e2e_cleanup' EXIT
bash "$PG_SH" start "$own" >"$E2E_TMP/pg-start.log" 2>&1 ||
  fail "could not start a private PostgreSQL: $(cat "$E2E_TMP/pg-start.log")"
dsn=$(cat "$own/dsn")
pg_at "$dsn" "CREATE TABLE t(id integer PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'before');"

cat >"$E2E_TMP/livepolld.conf" <<CONF
[node]
backoff_max = 400ms
[source.pg]
plugin = postgres
dsn = $dsn connect_timeout=2
[query.t]
source = pg
sql = SELECT id, v FROM t ORDER BY id
key = id
interval = 100ms
CONF
start_daemon "$E2E_TMP/livepolld.conf"

"$LIVEPOLL" watch t >"$E2E_TMP/w.out" 2>"$E2E_TMP/w.err" &
watcher=$!
E2E_PIDS+=("$watcher")
wait_for 10 "the snapshot" has_lines "$E2E_TMP/w.out" 1
[[ $(sed -n 1p "$E2E_TMP/w.out" | jq -c '[.kind, .rows]') == '["snapshot",[{"id":1,"v":"before"}]]' ]] ||
  fail "first snapshot: $(cat "$E2E_TMP/w.out")"

# 1. Stop the server: an error line (once), the daemon lives, polls back off and keep failing.
bash "$PG_SH" down "$own" || fail "could not stop the server"
wait_for 10 "the error line" has_lines "$E2E_TMP/w.out" 2
err=$(sed -n 2p "$E2E_TMP/w.out")
[[ $(jq -r .kind <<<"$err") == error ]] || fail "no error line after the server stopped: $err"
[[ -n $(jq -r '.error // empty' <<<"$err") ]] || fail "the error line has no text: $err"
echo "error while the server is down: $(jq -r .error <<<"$err")"
[[ $(subs_field t state) == error ]] || fail "subs state is not error: $("$LIVEPOLL" subs)"
sleep 1
kill -0 "$DAEMON_PID" || fail "the daemon died while the server was down"
has_lines "$E2E_TMP/w.out" 3 && fail "more lines while down: $(cat "$E2E_TMP/w.out")"
((($(subs_field t errors)) >= 2)) || fail "expected several failed polls: $("$LIVEPOLL" subs --header)"

# Back: a fresh snapshot with the current data (changed right after the start), then diffs.
bash "$PG_SH" up "$own" || fail "could not start the server again"
pg_at "$dsn" "UPDATE t SET v = 'after'"
got_after() { grep -q '"after"' "$E2E_TMP/w.out"; }
wait_for 15 "data after the restart" got_after
third=$(sed -n 3p "$E2E_TMP/w.out")
[[ $(jq -r .kind <<<"$third") == snapshot ]] || fail "recovery is not a snapshot: $third"
[[ $(subs_field t state) != error ]] || fail "still in error after recovery"
lines=$(wc -l <"$E2E_TMP/w.out")
pg_at "$dsn" "INSERT INTO t VALUES (2, 'new')"
wait_for 10 "a diff after recovery" has_lines "$E2E_TMP/w.out" $((lines + 1))
[[ $(tail -1 "$E2E_TMP/w.out" | jq -c '[.kind, [.changes[] | [.op, .row.id]]]') == '["diff",[["insert",2]]]' ]] ||
  fail "no diff after recovery: $(tail -1 "$E2E_TMP/w.out")"

# 2. A fast restart (pg_ctl restart -m fast): the broken connection costs at most an error line,
# then the data is correct again and the daemon still runs.
lines=$(wc -l <"$E2E_TMP/w.out")
bash "$PG_SH" restart "$own" || fail "pg_ctl restart failed"
pg_at "$dsn" "UPDATE t SET v = 'restarted' WHERE id = 2"
got_restarted() { grep -q '"restarted"' "$E2E_TMP/w.out"; }
wait_for 15 "data after the fast restart" got_restarted
tail -n +"$((lines + 1))" "$E2E_TMP/w.out" | jq -r .kind | tr '\n' ' ' >"$E2E_TMP/kinds"
echo "lines after the fast restart: $(cat "$E2E_TMP/kinds")"
last=$(tail -1 "$E2E_TMP/w.out")
if [[ $(jq -r .kind <<<"$last") == snapshot ]]; then
  [[ $(jq -c '[.rows[] | .v]' <<<"$last") == '["after","restarted"]' ]] || fail "snapshot after restart: $last"
fi
kill -0 "$DAEMON_PID" || fail "the daemon died"
kill -0 "$watcher" || fail "the watcher exited: $(cat "$E2E_TMP/w.err")"
echo "ok: error line while PostgreSQL is down, fresh snapshot after it is back; the daemon lives"
