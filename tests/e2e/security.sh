#!/usr/bin/env bash
# CurveZMQ on a keyed cluster (PROTOCOL.md, "Security"), tried from outside as a stranger would:
#  - a SUB with its own key on a node's gossip endpoint reads nothing (a trusted key, the control,
#    reads heartbeats), and the node counts the refused handshake (auth_refused);
#  - a daemon with a key of its own asking to join (its DEALER's m.join) is refused: never a member;
#  - an operator's read-only admin key may run `status` over a tcp:// admin endpoint, but `reap`
#    exits 1 saying why; a full admin key may reap; a key in no folder gets no answer;
#  - secure by default: a node with a wildcard gossip bind and no keys refuses to start, and starts
#    with --insecure, warning in its log;
#  - SIGHUP reads trusted_keys again: a node added to the folder joins without a restart.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"
: "${ZMQ_PROBE:?}"

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

# Operators: alice may do everything, bob may only look; mallory is in no folder.
ops=$E2E_TMP/ops
mkdir -p "$ops/admin" "$ops/readonly"
for who in alice bob mallory; do "$LIVEPOLL" keygen --out "$ops" "$who" >/dev/null; done
[[ $(stat -c %a "$ops/alice.secret") == 600 ]] || fail "alice.secret is not mode 600"
"$LIVEPOLL" keygen --out "$ops" alice >/dev/null 2>&1 && fail "keygen replaced an existing key"
cp "$ops/alice.pub" "$ops/admin/"
cp "$ops/bob.pub" "$ops/readonly/"

NODE_ARGS=(--admin-keys "$ops/admin" --admin-readonly-keys "$ops/readonly")
start_cluster n1 n2 n3
for n in n1 n2 n3; do grep -q "CurveZMQ: public key" "$E2E_TMP/$n.log" || fail "$n does not say it uses keys"; done

stat_of() { lp "$1" stats --node "$1" 2>/dev/null | awk -F'\t' -v k="$2" '$2 == k { print $3 }'; }

# ---- a stranger's SUB on the gossip endpoint reads nothing; a trusted key (the control) does ----
refused_before=$(stat_of n1 auth_refused)
stranger_frames=$("$ZMQ_PROBE" sub "${GOSSIP_OF[n1]}" "$KEYS_DIR/trusted/n1.pub" 2)
trusted_frames=$("$ZMQ_PROBE" sub "${GOSSIP_OF[n1]}" "$KEYS_DIR/trusted/n1.pub" 2 "$KEYS_DIR/secret/n2.secret")
[[ $stranger_frames == 0 ]] || fail "a stranger's SUB read $stranger_frames gossip frames"
((trusted_frames > 0)) || fail "the control (n2's key) read no gossip: the probe proves nothing"
wait_for 5 "n1 counts the refused handshake" eval '(( $(stat_of n1 auth_refused) > refused_before ))'
echo "ok: stranger SUB read 0 frames (trusted key: $trusted_frames), auth_refused $(stat_of n1 auth_refused)"

# ---- a stranger daemon's m.join is refused: it never becomes a member ----
mkdir -p "$E2E_TMP/x/trusted"
"$LIVEPOLL" keygen --out "$E2E_TMP/x" x1 >/dev/null
cp "$E2E_TMP/x/x1.pub" "$KEYS_DIR/trusted/n1.pub" "$E2E_TMP/x/trusted/"  # it knows n1's key
refused_before=$(stat_of n1 auth_refused)
xg=$(free_port); xr=$(free_port)
"$LIVEPOLLD" --config "$E2E_TMP/node.conf" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" --name x1 \
  --admin-bind "ipc://$E2E_TMP/x1.admin" --client-bind "ipc://$E2E_TMP/x1.client" \
  --gossip-bind "tcp://127.0.0.1:$xg" --rpc-bind "tcp://127.0.0.1:$xr" \
  --secret-key "$E2E_TMP/x/x1.secret" --trusted-keys "$E2E_TMP/x/trusted" \
  --join "n1@${RPC[n1]}" >>"$E2E_TMP/x1.log" 2>&1 &
E2E_PIDS+=("$!")
wait_for 10 "n1 refuses x1's key" eval '(( $(stat_of n1 auth_refused) > refused_before ))'
sleep 1
for n in n1 n2 n3; do
  lp "$n" members | grep -q '^x1' && fail "$n lists the stranger x1 as a member: $(lp "$n" members)"
done
[[ $(lp x1 members --state alive 2>/dev/null | wc -l) == 1 ]] || fail "x1 got into the cluster: $(lp x1 members)"
echo "ok: a stranger daemon's join was refused"

# ---- operators on a tcp:// admin endpoint with keys ----
aport=$(free_port)
ADMIN_BIND[n4]=tcp://127.0.0.1:$aport
with_keys n4  # a new node: n1..n3 read trusted_keys again (SIGHUP) before it starts
start_node n4 "${RPC[n1]}" "${NODE_ARGS[@]}"
op() { local key=$1; shift; "$LIVEPOLL" -c "tcp://127.0.0.1:$aport" --timeout 2s --server-key "$KEYS_DIR/trusted/n4.pub" --key "$ops/$key.secret" "$@"; }
wait_for 15 "n4 answers alice" quiet op alice status
for m in n1 n2 n3 n4; do wait_for 15 "n4 sees $m alive (it joined after SIGHUP)" all_see alive "$m" n1 n2 n3; done
grep -q "SIGHUP: keys read again" "$E2E_TMP/n1.log" || fail "n1 did not log its key reload"
out=$(op bob status) || fail "bob (read-only) cannot run status"
[[ $(grep -c . <<<"$out") == 4 ]] || fail "bob's status shows $(grep -c . <<<"$out") nodes: $out"
status=0
op bob reap t >"$E2E_TMP/bob.out" 2>"$E2E_TMP/bob.err" || status=$?
[[ $status == 1 ]] || fail "bob's reap exited $status: $(cat "$E2E_TMP/bob.out" "$E2E_TMP/bob.err")"
grep -q "read-only admin key" "$E2E_TMP/bob.err" || fail "bob's reap does not say why: $(cat "$E2E_TMP/bob.err")"
op alice reap t >/dev/null || fail "alice (admin) cannot reap"
status=0
op mallory status >/dev/null 2>&1 || status=$?
[[ $status != 0 ]] || fail "mallory (no folder) got an answer"
"$LIVEPOLL" -c "tcp://127.0.0.1:$aport" --timeout 1s status >/dev/null 2>&1 && fail "a plain client got an answer from a CURVE admin endpoint"
echo "ok: read-only status, refused reap (exit 1: $(cat "$E2E_TMP/bob.err")), admin reap, stranger refused"

# ---- secure by default ----
status=0
timeout 10 "$LIVEPOLLD" --config "$E2E_TMP/node.conf" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" --name open1 \
  --admin-bind "ipc://$E2E_TMP/open1.admin" --client-bind "ipc://$E2E_TMP/open1.client" \
  --gossip-bind "tcp://0.0.0.0:$(free_port)" --rpc-bind "tcp://127.0.0.1:$(free_port)" \
  >"$E2E_TMP/open1.out" 2>&1 || status=$?
[[ $status == 2 ]] || fail "a wildcard bind without keys exited $status: $(cat "$E2E_TMP/open1.out")"
grep -q "refusing to start: gossip_bind = tcp://0.0.0.0" "$E2E_TMP/open1.out" || fail "no clear refusal: $(cat "$E2E_TMP/open1.out")"
"$LIVEPOLLD" --config "$E2E_TMP/node.conf" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" --name open2 \
  --admin-bind "ipc://$E2E_TMP/open2.admin" --client-bind "ipc://$E2E_TMP/open2.client" \
  --gossip-bind "tcp://0.0.0.0:$(free_port)" --rpc-bind "tcp://127.0.0.1:$(free_port)" --insecure \
  >>"$E2E_TMP/open2.log" 2>&1 &
E2E_PIDS+=("$!")
wait_for 10 "open2 up with --insecure" quiet lp open2 status
grep -q "insecure = true" "$E2E_TMP/open2.log" || fail "open2 does not warn that it is insecure"
# The admin ipc:// socket file is the owner's alone.
[[ $(stat -c %a "$E2E_TMP/open2.admin") == 600 ]] || fail "the admin socket is mode $(stat -c %a "$E2E_TMP/open2.admin")"
echo "ok: secure by default"
