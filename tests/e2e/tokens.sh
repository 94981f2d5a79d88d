#!/usr/bin/env bash
# Client tokens end to end (PROTOCOL.md, "Tokens"; livepoll.conf(5), TOKENS): a real daemon with a
# token_secret and SQLite; `livepoll watch` with a token from `livepoll token` sees only the rows
# of its bound claim; a token minted by another tool (PyJWT) is accepted; a wrong secret, an
# expired token, no token, a join's value that differs from the bound claim and a failed `allow`
# each get an error saying why; `livepoll stats` counts them.
source "$(dirname "$0")/lib.sh"

# PyJWT (Debian's python3-jwt, installed by .ci/setup.sh): the system Python's, whatever python3
# comes first on PATH.
py=/usr/bin/python3
"$py" -c 'import jwt' 2>/dev/null || fail "$py has no jwt module (apt-get install python3-jwt)"

db=$E2E_TMP/shop.db
sql "$db" "CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT, total INTEGER);
           INSERT INTO orders VALUES (1, 'alice', 10), (2, 'bob', 20), (3, 'alice', 30);"
key=$E2E_TMP/token.key
head -c 32 /dev/urandom >"$key"
chmod 600 "$key"
other_key=$E2E_TMP/other.key
head -c 32 /dev/urandom >"$other_key"
cat >"$E2E_TMP/livepolld.conf" <<CONF
[node]
name = e2e
token_secret = $key
[source.shop]
plugin = soci
dsn = sqlite3://db=$db
[query.my_orders]
source = shop
sql = SELECT id, total FROM orders WHERE customer = :customer ORDER BY id
params = customer
key = id
interval = 100ms
bind.customer = sub
[query.all_orders]
source = shop
sql = SELECT id, customer, total FROM orders ORDER BY id
key = id
interval = 100ms
allow = role=staff, role=admin
[query.order_count]
source = shop
sql = SELECT count(*) AS n FROM orders
interval = 100ms
auth = none
CONF

# Refused at start: a short key, and auth = token without a secret.
head -c 31 /dev/urandom >"$E2E_TMP/short.key"
if "$LIVEPOLLD" --config "$E2E_TMP/livepolld.conf" --token-secret "$E2E_TMP/short.key" \
    --plugin-dir "$LIVEPOLL_PLUGIN_DIR" >"$E2E_TMP/short.out" 2>&1; then
  fail "livepolld started with a 31-byte token secret"
fi
grep -q "holds 31 bytes; a token secret needs at least 32" "$E2E_TMP/short.out" ||
  fail "no clear error for a short secret: $(cat "$E2E_TMP/short.out")"
cat >"$E2E_TMP/nosecret.conf" <<CONF
[source.shop]
plugin = soci
dsn = sqlite3://db=$db
[query.my_orders]
source = shop
sql = SELECT id, total FROM orders
auth = token
CONF
if "$LIVEPOLLD" --config "$E2E_TMP/nosecret.conf" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" \
    >"$E2E_TMP/nosecret.out" 2>&1; then
  fail "livepolld started with auth = token and no token_secret"
fi
grep -q "\[query.my_orders\] auth: token needs \[node\] token_secret" "$E2E_TMP/nosecret.out" ||
  fail "no clear error for auth = token without a secret: $(cat "$E2E_TMP/nosecret.out")"

start_daemon "$E2E_TMP/livepolld.conf"

# watch_ok NAME ARGS...: one update of `livepoll watch ARGS` into NAME.out; exit 0 required.
watch_ok() {
  local name=$1; shift
  "$LIVEPOLL" watch "$@" --count 1 >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" ||
    fail "watch $* exited non-zero: $(cat "$E2E_TMP/$name.err")"
}
# watch_refused NAME WHY ARGS...: `livepoll watch ARGS` exits 1 and says WHY on stderr.
watch_refused() {
  local name=$1 why=$2 rc=0; shift 2
  "$LIVEPOLL" watch "$@" --count 1 >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" || rc=$?
  [[ $rc -eq 1 ]] || fail "$name: watch $* exited $rc, want 1: $(cat "$E2E_TMP/$name.err")"
  grep -qF -- "$why" "$E2E_TMP/$name.err" ||
    fail "$name: stderr does not say '$why': $(cat "$E2E_TMP/$name.err")"
  [[ ! -s $E2E_TMP/$name.out ]] || fail "$name: printed rows: $(cat "$E2E_TMP/$name.out")"
}
stat_of() { "$LIVEPOLL" stats | awk -F'\t' -v n="$1" '$2 == n { print $3 }'; }

# A token from `livepoll token`: alice sees her orders only, the parameter taken from `sub`.
alice=$("$LIVEPOLL" token --secret "$key" --claim sub=alice --claim role=customer --ttl 10m)
[[ $alice == *.*.* ]] || fail "livepoll token printed no token: $alice"
watch_ok alice my_orders --token "$alice"
[[ $(jq -r .topic "$E2E_TMP/alice.out") == "my_orders?customer=alice" ]] ||
  fail "alice's topic: $(cat "$E2E_TMP/alice.out")"
[[ $(jq -c '[.rows[].id]' "$E2E_TMP/alice.out") == "[1,3]" ]] ||
  fail "alice sees other rows: $(cat "$E2E_TMP/alice.out")"
# The same through LIVEPOLL_TOKEN, and naming her own value is fine.
LIVEPOLL_TOKEN=$alice watch_ok alice_env my_orders customer=alice
[[ $(jq -c '[.rows[].id]' "$E2E_TMP/alice_env.out") == "[1,3]" ]] ||
  fail "LIVEPOLL_TOKEN: $(cat "$E2E_TMP/alice_env.out")"
# An open query needs no token.
watch_ok count order_count
[[ $(jq -c '.rows[0].n' "$E2E_TMP/count.out") == 3 ]] || fail "order_count: $(cat "$E2E_TMP/count.out")"

# A token minted by another tool: PyJWT, with a numeric claim and a nested one it ignores.
bob=$("$py" - "$key" <<'PY'
import sys, time, jwt
secret = open(sys.argv[1], "rb").read()
print(jwt.encode({"sub": "bob", "role": "staff", "level": 3, "ext": {"a": [1]},
                  "exp": int(time.time()) + 600}, secret, algorithm="HS256"))
PY
)
watch_ok bob my_orders --token "$bob"
[[ $(jq -c '[.rows[].id]' "$E2E_TMP/bob.out") == "[2]" ]] || fail "bob (PyJWT): $(cat "$E2E_TMP/bob.out")"
watch_ok bob_all all_orders --token "$bob"
[[ $(jq -c '[.rows[].id]' "$E2E_TMP/bob_all.out") == "[1,2,3]" ]] ||
  fail "staff's all_orders: $(cat "$E2E_TMP/bob_all.out")"

# The refusals, each saying why.
mallory=$("$LIVEPOLL" token --secret "$other_key" --claim sub=alice)
watch_refused wrong_secret "bad token signature" my_orders --token "$mallory"
expired=$("$py" - "$key" <<'PY'
import sys, time, jwt
secret = open(sys.argv[1], "rb").read()
print(jwt.encode({"sub": "alice", "exp": int(time.time()) - 10}, secret, algorithm="HS256"))
PY
)
watch_refused expired "token expired" my_orders --token "$expired"
watch_refused missing "token required: query 'my_orders' needs a token" my_orders
watch_refused differs "parameter customer is bound to the token's claim sub: the join's value differs" \
  my_orders customer=bob --token "$alice"
watch_refused not_allowed "one of the claims role=staff, role=admin required" all_orders --token "$alice"
none=$("$py" -c 'import jwt; print(jwt.encode({"sub": "alice"}, None, algorithm="none"))')
watch_refused alg_none "token algorithm 'none' refused" my_orders --token "$none"

# Counted: tokens refused (wrong secret, expired, none) and joins refused (those three and
# missing, differs, not allowed).
[[ $(stat_of tokens_refused) -eq 3 ]] || fail "tokens_refused is $(stat_of tokens_refused), want 3"
[[ $(stat_of joins_unauthorized) -eq 6 ]] ||
  fail "joins_unauthorized is $(stat_of joins_unauthorized), want 6"
[[ $(stat_of tokens_accepted) -ge 5 ]] || fail "tokens_accepted is $(stat_of tokens_accepted)"

# The token is sent again on every new connection: a watcher outlives a restart of its daemon
# (a new process knows no token) and goes on with alice's rows only.
"$LIVEPOLL" watch my_orders --token "$alice" >"$E2E_TMP/follow.out" 2>"$E2E_TMP/follow.err" &
follower=$!
E2E_PIDS+=("$follower")
wait_for 10 "the follower's snapshot" has_lines "$E2E_TMP/follow.out" 1
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
start_daemon "$E2E_TMP/livepolld.conf"
sql "$db" "INSERT INTO orders VALUES (4, 'alice', 40), (5, 'bob', 50);"
has_alice_4() { grep -q '"id": 4' "$E2E_TMP/follow.out"; }
wait_for 15 "alice's new order after the restart" has_alice_4
grep -q "joining again" "$E2E_TMP/follow.err" || fail "the follower did not rejoin: $(cat "$E2E_TMP/follow.err")"
! grep -q '"id": 5' "$E2E_TMP/follow.out" || fail "the follower sees bob's order: $(cat "$E2E_TMP/follow.out")"
[[ $(stat_of tokens_accepted) -ge 1 ]] || fail "the new daemon got no token from the follower"
[[ $(stat_of joins_unauthorized) -eq 0 ]] || fail "the follower's join again was refused"
kill "$follower"
wait "$follower" 2>/dev/null || true

# `livepoll token` refuses what it cannot sign.
if "$LIVEPOLL" token --secret "$E2E_TMP/short.key" >/dev/null 2>"$E2E_TMP/mint.err"; then
  fail "livepoll token signed with a 31-byte key"
fi
grep -q "at least 32" "$E2E_TMP/mint.err" || fail "livepoll token: $(cat "$E2E_TMP/mint.err")"
echo "ok: tokens"
