#!/usr/bin/env bash
# A source whose DSN cannot connect (a port nobody listens on, a role that does not exist) does
# not stop livepolld: at start-up it logs a warning naming the source and the problem
# (CatalogCheck), keeps running, and each watcher of that source's queries gets an error line
# naming the source and the problem. A good source next to them works.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../pg/e2e_lib.sh"

pg_create_db
pg "CREATE TABLE t(id integer PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'ok');"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for _ in $(seq 1 20); do
  dead_port=$((20000 + RANDOM % 20000))
  port_free "$dead_port" && break
done
cat >"$E2E_TMP/livepolld.conf" <<CONF
[source.deadport]
plugin = postgres
dsn = host=127.0.0.1 port=$dead_port user=postgres dbname=$PG_DB connect_timeout=3
[source.norole]
plugin = postgres
dsn = host=127.0.0.1 port=$PG_PORT user=lp_no_such_role password=lp_secret_pw dbname=$PG_DB connect_timeout=3
[source.good]
plugin = postgres
dsn = $PG_DSN
[query.a]
source = deadport
sql = SELECT id, v FROM t
key = id
interval = 100ms
[query.b]
source = norole
sql = SELECT id, v FROM t
key = id
interval = 100ms
[query.c]
source = good
sql = SELECT id, v FROM t
key = id
interval = 100ms
CONF
start_daemon "$E2E_TMP/livepolld.conf"
sleep 0.3
kill -0 "$DAEMON_PID" || fail "livepolld exited because a source cannot connect"

# Start-up: one warning per bad source, naming it and the problem.
log=$E2E_TMP/daemon.log
grep -i "warn" "$log" | grep -q "source 'deadport'" || fail "no start-up warning naming source 'deadport'"
grep "source 'deadport'" "$log" | grep -qiE "refused|$dead_port" ||
  fail "the warning for 'deadport' does not say what is wrong: $(grep deadport "$log")"
grep -i "warn" "$log" | grep -q "source 'norole'" || fail "no start-up warning naming source 'norole'"
grep "source 'norole'" "$log" | grep -q "lp_no_such_role" ||
  fail "the warning for 'norole' does not name the role: $(grep norole "$log")"
grep -q "source 'good'" "$log" && fail "a warning for the good source: $(grep good "$log")"
echo "start-up warnings:"; grep "source '" "$log" | sed 's/^/  /'

# Watchers: an error line naming the source and the problem.
out=$("$LIVEPOLL" watch a --count 1) || fail "watch a failed"
[[ $(jq -r .kind <<<"$out") == error ]] || fail "not an error line: $out"
jq -r .error <<<"$out" | grep -q "source 'deadport'" || fail "the error does not name the source: $out"
jq -r .error <<<"$out" | grep -qiE "refused|$dead_port" || fail "the error does not name the problem: $out"
out=$("$LIVEPOLL" watch b --count 1) || fail "watch b failed"
[[ $(jq -r .kind <<<"$out") == error ]] || fail "not an error line: $out"
jq -r .error <<<"$out" | grep -q "source 'norole'" || fail "the error does not name the source: $out"
jq -r .error <<<"$out" | grep -q 'lp_no_such_role' || fail "the error does not name the problem: $out"
echo "watch errors: $(jq -r .error <<<"$out")"
# The DSN's password is a secret: never in the log, never sent to clients.
grep -q lp_secret_pw "$log" && fail "the log shows the DSN's password: $(grep -m1 lp_secret_pw "$log")"
jq -r .error <<<"$out" | grep -q lp_secret_pw && fail "a watcher was sent the DSN's password: $out"
(($(subs_field a errors) >= 1 && $(subs_field b errors) >= 1)) ||
  fail "failed polls are not counted: $("$LIVEPOLL" subs --header)"

# The good source is unaffected; the daemon is still up.
out=$("$LIVEPOLL" watch c --count 1) || fail "watch c failed"
[[ $(jq -c '[.kind, .rows]' <<<"$out") == '["snapshot",[{"id":1,"v":"ok"}]]' ]] || fail "good source: $out"
kill -0 "$DAEMON_PID" || fail "the daemon died"
echo "ok: an unreachable PostgreSQL source is a named warning and a named error, not a crash"
