#!/usr/bin/env bash
# SIGHUP reloads the configuration file of a running daemon without dropping a client, under live
# `livepoll watch` watchers: a query added is joined at once; a query removed ends its watchers'
# subscriptions with an error saying so; a query whose SQL changed goes on at a new epoch from a
# snapshot of the new SQL's result; a broken file keeps the running configuration (the log and
# `livepoll status` say why) and the daemon keeps serving; a changed bind is kept, with a warning.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"  # stream_ok

db=$E2E_TMP/shop.db
sql "$db" "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT);
           INSERT INTO items VALUES (1, 'apple'), (2, 'pear');"
conf=$E2E_TMP/livepolld.conf
# write_conf EXTRA_QUERIES: the file, its binds in [node] (so that a reload may change them).
write_conf() {
  cat >"$conf" <<CONF
[node]
name = solo
admin_bind = $ADMIN
client_bind = ${CLIENT_BIND:-$CLIENT}
[source.shop]
plugin = soci
dsn = sqlite3://db=$db
[query.items]
source = shop
sql = ${ITEMS_SQL:-SELECT id, name FROM items ORDER BY id}
key = id
interval = 100ms
$1
CONF
}
gone_query="[query.gone]
source = shop
sql = SELECT COUNT(*) AS n FROM items
interval = 100ms"
fresh_query="[query.fresh]
source = shop
sql = SELECT name FROM items WHERE id = :id
params = id
interval = 100ms"

write_conf "$gone_query"
"$LIVEPOLLD" --config "$conf" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" >"$E2E_TMP/daemon.log" 2>&1 &
DAEMON_PID=$!
E2E_PIDS+=("$DAEMON_PID")
wait_for 10 "livepolld answers" quiet "$LIVEPOLL" --timeout 200ms status
hup() { kill -HUP "$DAEMON_PID"; }
stat() { "$LIVEPOLL" stats --json | jq -r --arg n "$1" 'select(.name == $n) | .value'; }
config_state() { "$LIVEPOLL" status --json | jq -r .config; }
[[ $(config_state) == "loaded at "* ]] || fail "status config at start: $(config_state)"

"$LIVEPOLL" watch items >"$E2E_TMP/items.out" 2>"$E2E_TMP/items.err" &
E2E_PIDS+=($!)
"$LIVEPOLL" watch gone >"$E2E_TMP/gone.out" 2>"$E2E_TMP/gone.err" &
E2E_PIDS+=($!)
wait_for 10 "the items snapshot" has_lines "$E2E_TMP/items.out" 1
wait_for 10 "the gone snapshot" has_lines "$E2E_TMP/gone.out" 1
timeout 5 "$LIVEPOLL" watch fresh id=1 --count 1 >/dev/null 2>&1 && fail "fresh is joinable before the reload"

# One reload: fresh added, gone removed, items' SQL changed.
ITEMS_SQL="SELECT id, name, 'v2' AS version FROM items ORDER BY id" write_conf "$fresh_query"
hup
wait_for 10 "the reload is logged" grep -q "SIGHUP: configuration reloaded" "$E2E_TMP/daemon.log"
grep "SIGHUP: configuration reloaded" "$E2E_TMP/daemon.log" | grep -q "queries added fresh, removed gone, changed items" ||
  fail "the reload's log line: $(grep SIGHUP "$E2E_TMP/daemon.log")"

# Added: joined at once.
out=$("$LIVEPOLL" watch fresh id=2 --count 1) || fail "fresh is not joinable after the reload"
[[ $(jq -c .rows <<<"$out") == '[{"name":"pear"}]' ]] || fail "fresh's rows: $out"
# Removed: its watcher got the error, and the node holds no subscription of it.
has_error() { jq -e 'select(.kind == "error") | .error' "$E2E_TMP/gone.out" 2>/dev/null | grep -q "query 'gone' was removed from the catalog"; }
wait_for 10 "gone's watcher gets the error" has_error
no_gone() { ! "$LIVEPOLL" subs --json | jq -e 'select(.topic == "gone")' >/dev/null; }
wait_for 10 "livepoll subs has no 'gone'" no_gone
timeout 5 "$LIVEPOLL" watch gone --count 1 >/dev/null 2>&1 && fail "gone is still joinable"
# Changed: a new epoch, from a snapshot of the new SQL's result; the watcher stayed.
new_epoch() { jq -s -e 'map(select(.kind == "snapshot" and .epoch >= 2 and .rows[0].version == "v2")) | length > 0' "$E2E_TMP/items.out" >/dev/null; }
wait_for 10 "items' watcher sees the new SQL at a new epoch" new_epoch
stream_ok "$E2E_TMP/items.out" || fail "items' stream broke over the reload"
[[ $(stat config_reloads) == 1 ]] || fail "config_reloads: $(stat config_reloads)"
[[ $(config_state) == "reloaded at "* ]] || fail "status config after a reload: $(config_state)"

# A broken file: the running configuration is kept, and the daemon says why.
printf '[query.items\nsource = shop\n' >"$conf"
hup
wait_for 10 "the failure is logged" grep -q "SIGHUP: keeping the running configuration" "$E2E_TMP/daemon.log"
grep "SIGHUP: keeping the running configuration" "$E2E_TMP/daemon.log" | grep -q "line 1" ||
  fail "the log does not say where: $(grep 'keeping the running' "$E2E_TMP/daemon.log")"
[[ $(config_state) == "reload failed at "*"line 1"* ]] || fail "status config after a broken file: $(config_state)"
[[ $(stat config_reload_failures) == 1 ]] || fail "config_reload_failures: $(stat config_reload_failures)"
lines=$(wc -l <"$E2E_TMP/items.out")
sql "$db" "UPDATE items SET name = 'Pear' WHERE id = 2"
wait_for 10 "items still served after the broken file" has_lines "$E2E_TMP/items.out" $((lines + 1))
tail -1 "$E2E_TMP/items.out" | jq -e '.kind == "diff" and .changes[0].row.version == "v2"' >/dev/null ||
  fail "the diff after the broken file: $(tail -1 "$E2E_TMP/items.out")"
"$LIVEPOLL" watch fresh id=1 --count 1 >/dev/null || fail "fresh went away with the broken file"

# A changed bind needs a restart: kept, with a warning naming it; a good reload clears the failure.
CLIENT_BIND="ipc://$E2E_TMP/other-client" ITEMS_SQL="SELECT id, name, 'v2' AS version FROM items ORDER BY id" \
  write_conf "$fresh_query"
hup
wait_for 10 "the second reload" eval '[[ $(stat config_reloads) == 2 ]]'
grep -q "SIGHUP: \[node\] client_bind ($CLIENT -> ipc://$E2E_TMP/other-client) needs a restart" "$E2E_TMP/daemon.log" ||
  fail "no warning for client_bind: $(grep SIGHUP "$E2E_TMP/daemon.log")"
[[ $("$LIVEPOLL" status --json | jq -r .client_endpoint) == "$CLIENT" ]] || fail "the client endpoint changed"
[[ $(config_state) == "reloaded at "* ]] || fail "a good reload did not clear the failure: $(config_state)"
"$LIVEPOLL" watch fresh id=1 --count 1 >/dev/null || fail "no join after the bind warning"
stream_ok "$E2E_TMP/items.out" || fail "items' stream broke"
kill -0 "$DAEMON_PID" || fail "livepolld died"
echo "ok: SIGHUP reloads queries (added, removed, changed), keeps a broken file out and binds as they run"
