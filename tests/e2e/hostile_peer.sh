#!/usr/bin/env bash
# The attacks of issue 12 against a keyed 3-node cluster, played with raw ZeroMQ frames built by
# the project's own codec (tests/tools/stranger.cpp), by three kinds of stranger:
#   plain     no CURVE at all (what worked against every node before keys);
#   stranger  CURVE with a key of its own, and the node's real public key;
#   member    n3's valid key, its frames claiming to be n1 or n2 (a member gone bad, or its key
#             stolen), and as itself with values no honest node sends.
# Each attack must fail: afterwards every node sees n1, n2, n3 alive, topic t has one owner at a
# sane epoch, the watcher on n2 still gets the rows written after the attacks, every node answers,
# and `livepoll stats` shows the refusals (auth_refused, cluster_frames_forged).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"
: "${LP_STRANGER:?}"

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
start_cluster n1 n2 n3
"$LIVEPOLL" -c "ipc://$E2E_TMP/n2.admin" watch t >"$E2E_TMP/w2.out" 2>"$E2E_TMP/w2.err" &
E2E_PIDS+=($!)
wait_for 10 "the watcher's snapshot" has_lines "$E2E_TMP/w2.out" 1

stat_of() { lp "$1" stats --node "$1" 2>/dev/null | awk -F'\t' -v k="$2" '$2 == k { print $3 }'; }
owner_of_t() { lp n1 subs --json | jq -r 'select(.topic == "t") | .owner // empty'; }
epoch_of_t() { lp n1 subs --json | jq -r 'select(.topic == "t") | .epoch // 0'; }
wait_for 10 "t has an owner" eval '[[ -n $(owner_of_t) ]]'
epoch_before=$(epoch_of_t)
inc() { incarnation_of n1 "$1"; }
rpc() { echo "tcp://${RPC[$1]}"; }
refused0=$(stat_of n1 auth_refused)
forged0=$(( $(stat_of n1 cluster_frames_forged) + $(stat_of n2 cluster_frames_forged) + $(stat_of n3 cluster_frames_forged) ))

# attacks AS... : every attack, each lp_stranger run with the options AS.
attacks() {
  local n
  [[ $("$LP_STRANGER" "$@" read-gossip "${GOSSIP_OF[n1]}" 1) == 0 ]] || fail "$* read gossip"
  local joined
  joined=$("$LP_STRANGER" "$@" join "$(rpc n1)" evil 1)
  [[ $joined == "no answer" ]] || fail "$*: join answered: $joined"
  for n in n1 n2 n3; do
    "$LP_STRANGER" "$@" leave "$(rpc "$n")" n3 "$(inc n3)"
    "$LP_STRANGER" "$@" vote-wrap "$(rpc "$n")" n1 "$(inc n1)" t
    "$LP_STRANGER" "$@" admin "$(rpc "$n")" n2 "$(inc n2)" reap topic=t force=true
    "$LP_STRANGER" "$@" admin "$(rpc "$n")" n2 "$(inc n2)" fault cut=n1,n2,n3
  done
  "$LP_STRANGER" "$@" snapshot-flood "$(rpc n1)" n2 "$(inc n2)" 3000
  "$LP_STRANGER" "$@" dealers "$(rpc n1)" 1200
  "$LP_STRANGER" "$@" big-frame "$(rpc n1)" 64
}
# A stranger with no CURVE, and one with a key of its own and the real server key.
attacks
echo "ok: plain ZMTP attacks sent"
"$LIVEPOLL" keygen --out "$E2E_TMP" mallory >/dev/null
attacks --key "$E2E_TMP/mallory.secret" --server-key "$KEYS_DIR/trusted/n1.pub"
echo "ok: a stranger's keyed attacks sent"
wait_for 10 "n1 counts refused handshakes" eval '(( $(stat_of n1 auth_refused) > refused0 ))'

# A member gone bad: n3's key, frames claiming n1 and n2 (to n1: its server key is n1's).
bad=(--key "$KEYS_DIR/secret/n3.secret" --server-key "$KEYS_DIR/trusted/n1.pub")
"$LP_STRANGER" "${bad[@]}" leave "$(rpc n1)" n2 "$(inc n2)"
"$LP_STRANGER" "${bad[@]}" vote-wrap "$(rpc n1)" n2 "$(inc n2)" t
"$LP_STRANGER" "${bad[@]}" admin "$(rpc n1)" n2 "$(inc n2)" reap topic=t force=true
"$LP_STRANGER" "${bad[@]}" snapshot-flood "$(rpc n1)" n2 "$(inc n2)" 100
wait_for 10 "n1 counts the forged frames" eval '(( $(stat_of n1 cluster_frames_forged) > 0 ))'
echo "ok: a member's key with another node's name: $(stat_of n1 cluster_frames_forged) frames refused as forged on n1"

# The cluster is as it was.
sleep 1
for o in n1 n2 n3; do
  for m in n1 n2 n3; do
    [[ $(state_of "$o" "$m") == alive ]] || fail "$o sees $m as $(state_of "$o" "$m") after the attacks"
  done
  lp "$o" members | grep -qE '^(evil|stranger)' && fail "$o lists a stranger: $(lp "$o" members)"
done
[[ -n $(owner_of_t) ]] || fail "t lost its owner: $(lp n1 subs --json)"
epoch_after=$(epoch_of_t)
((epoch_after == epoch_before)) || fail "t's epoch moved from $epoch_before to $epoch_after"
lines=$(wc -l <"$E2E_TMP/w2.out")
sql "$db" "INSERT INTO t VALUES (2, 'after the attacks');"
wait_for 10 "the watcher gets the row written after the attacks" \
  eval 'tail -n +$((lines + 1)) "$E2E_TMP/w2.out" | grep -q "after the attacks"'
stream_ok "$E2E_TMP/w2.out" || fail "the watcher's stream broke"
echo "ok: members alive, t owned at epoch $epoch_after, the watcher's stream unbroken; auth_refused on n1: $(stat_of n1 auth_refused)"
