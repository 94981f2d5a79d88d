#!/usr/bin/env bash
# The bash completion (cmd/livepoll.bash-completion): commands, options, zombie reasons, and
# values asked of a real daemon (queries, members); a daemon that is down completes nothing.
source "$(dirname "$0")/lib.sh"
: "${LIVEPOLL_SOURCE_DIR:?}"

db=$E2E_TMP/t.db
sql "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
cat >"$E2E_TMP/d.conf" <<CONF
[node]
name = solo
[source.db]
plugin = soci
dsn = sqlite3://db=$db
[query.items]
source = db
sql = SELECT id, v FROM t
[query.item_count]
source = db
sql = SELECT count(*) AS n FROM t
CONF
start_daemon "$E2E_TMP/d.conf"

bin=$E2E_TMP/bin
mkdir -p "$bin"
ln -s "$LIVEPOLL" "$bin/livepoll"
PATH=$bin:$PATH
source "$LIVEPOLL_SOURCE_DIR/cmd/livepoll.bash-completion"
# complete WORDS...: the completions of the last word (`""` for a new word).
complete_words() {
  COMP_WORDS=("$@")
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _livepoll
  printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd' '
}
expect() {  # expect WANT WORDS...
  local want=$1 got; shift
  got=$(complete_words "$@")
  [[ $got == "$want" ]] || fail "completing '$*': got '$got', want '$want'"
}
expect "zombies" livepoll zo
expect "reap resolve" livepoll re
expect "--dry-run" livepoll reap --dr
expect "dead-owner" livepoll zombies --reason d
expect "oldest" livepoll resolve --policy o
expect "--node --node-timeout" livepoll stats --node
expect "item_count items" livepoll watch it
expect "solo" livepoll subs --node ""
expect "item_count" livepoll subs --query item_
expect "--exit-status" livepoll -c "$ADMIN" zombies --ex
expect "token" livepoll to
expect "--secret" livepoll token --sec
expect "--token" livepoll watch --to
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
expect "" livepoll watch it
echo "ok: bash completion"
