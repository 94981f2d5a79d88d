#!/usr/bin/env bash
# Bad input from operators gets a clear message and the documented exit status: a broken config
# names the file and the key (exit 2), a plugin that cannot load names the path and the reason,
# a query the source refuses is found at start-up, and the CLI's exit codes hold.
source "$(dirname "$0")/lib.sh"

# expect_exit CODE OUTFILE COMMAND...: runs COMMAND, checks its exit status, keeps stderr+stdout.
expect_exit() {
  local want=$1 out=$2; shift 2
  local got=0
  "$@" >"$out" 2>&1 || got=$?
  [[ $got -eq $want ]] || fail "'$*' exited $got, expected $want: $(cat "$out")"
}
expect_text() { grep -qF -- "$2" "$1" || fail "expected '$2' in: $(cat "$1")"; }

db=$E2E_TMP/t.db
sql "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
conf=$E2E_TMP/bad.conf

printf '[query.q]\nsource = db\nsql = SELECT 1\ninterval = fast\n[source.db]\nplugin = soci\ndsn = sqlite3://db=%s\n' "$db" >"$conf"
expect_exit 2 "$E2E_TMP/out" "$LIVEPOLLD" --config "$conf"
expect_text "$E2E_TMP/out" "bad.conf: [query.q] interval: 'fast' is not a duration"

printf '[node]\nbogus = 1\n' >"$conf"
expect_exit 2 "$E2E_TMP/out" "$LIVEPOLLD" --config "$conf"
expect_text "$E2E_TMP/out" "bogus"

expect_exit 2 "$E2E_TMP/out" "$LIVEPOLLD" --config "$E2E_TMP/missing.conf"
expect_text "$E2E_TMP/out" "missing.conf"

expect_exit 2 "$E2E_TMP/out" "$LIVEPOLLD" --no-such-option

# A plugin that is not a livepoll plugin: the path and the reason.
printf 'not an ELF file' >"$E2E_TMP/junk.so"
printf '[source.db]\nplugin = %s\ndsn = x\n' "$E2E_TMP/junk.so" >"$conf"
expect_exit 2 "$E2E_TMP/out" "$LIVEPOLLD" --config "$conf" --admin-bind "$ADMIN" --client-bind "$CLIENT"
expect_text "$E2E_TMP/out" "$E2E_TMP/junk.so"
expect_text "$E2E_TMP/out" "source 'db'"

printf '[source.db]\nplugin = nosuchplugin\ndsn = x\n' >"$conf"
expect_exit 2 "$E2E_TMP/out" "$LIVEPOLLD" --config "$conf" --plugin-dir "$LIVEPOLL_PLUGIN_DIR"
expect_text "$E2E_TMP/out" "nosuchplugin"

# SQL the source refuses is found at start-up, naming the query.
printf '[source.db]\nplugin = soci\ndsn = sqlite3://db=%s\n[query.q]\nsource = db\nsql = SELECT v FROM t WHERE id = :id AND v = :other\nparams = id\n' "$db" >"$conf"
expect_exit 2 "$E2E_TMP/out" "$LIVEPOLLD" --config "$conf" --plugin-dir "$LIVEPOLL_PLUGIN_DIR"
expect_text "$E2E_TMP/out" "query 'q'"

# The CLI: unreachable daemon 3, usage 2, and with a daemon, unknown query / parameters 1.
expect_exit 3 "$E2E_TMP/out" "$LIVEPOLL" --timeout 300ms status
expect_text "$E2E_TMP/out" "cannot reach livepolld"
expect_exit 2 "$E2E_TMP/out" "$LIVEPOLL" no-such-command
expect_exit 2 "$E2E_TMP/out" "$LIVEPOLL" subs --no-such-option

printf '[source.db]\nplugin = soci\ndsn = sqlite3://db=%s\n[query.q]\nsource = db\nsql = SELECT v FROM t WHERE id = :id\nparams = id\n' "$db" >"$conf"
start_daemon "$conf"
expect_exit 1 "$E2E_TMP/out" "$LIVEPOLL" watch nope --count 1
expect_text "$E2E_TMP/out" "unknown query 'nope'"
expect_exit 1 "$E2E_TMP/out" "$LIVEPOLL" watch q --count 1
expect_text "$E2E_TMP/out" "needs parameter 'id'"
expect_exit 1 "$E2E_TMP/out" "$LIVEPOLL" watch q id=1 extra=2 --count 1
expect_text "$E2E_TMP/out" "no parameter 'extra'"
expect_exit 2 "$E2E_TMP/out" "$LIVEPOLL" watch q id --count 1
kill -0 "$DAEMON_PID" || fail "the daemon died"
echo "ok: bad input gets clear errors and exit codes"
