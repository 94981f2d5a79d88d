#!/usr/bin/env bash
# The WebSocket gateway with the real phoenix.js (PROTOCOL.md, "WebSocket gateway"): a real
# daemon with SQLite and tokens, the `phoenix` npm client under Node with `ws` as its WebSocket
# (tests/e2e/phoenix/: package.json and package-lock.json pin them; `npm ci` installs them from
# the npm registry into a cache folder when missing). client.js plays: join and snapshot reply, a
# database change pushed as a diff, refusals with the socket still serving, a token at connect,
# garbage frames on another socket, a wrong vsn (HTTP 403), a silent socket closed after
# ws_idle_timeout while a heartbeating one lives on, and the daemon restarted: phoenix.js
# rejoins with `resume` and gets data again. Then `livepoll stats` must have counted it all, and
# the HTTP routes answer (/, 404).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

source "$(dirname "$0")/phoenix/npm_lib.sh"
src=$phoenix_src

db=$E2E_TMP/shop.db
sql "$db" "CREATE TABLE orders(id INTEGER PRIMARY KEY, region TEXT, customer TEXT, total INTEGER);
           INSERT INTO orders VALUES (1, 'eu', 'alice', 10), (2, 'us', 'bob', 20),
                                     (3, 'eu', 'alice', 20);"
key=$E2E_TMP/token.key
head -c 32 /dev/urandom >"$key"
cat >"$E2E_TMP/livepolld.conf" <<CONF
[node]
name = ws1
token_secret = $key
[source.shop]
plugin = soci
dsn = sqlite3://db=$db
[query.totals]
source = shop
sql = SELECT region, SUM(total) AS revenue FROM orders GROUP BY region ORDER BY region
key = region
interval = 100ms
auth = none
[query.region_orders]
source = shop
sql = SELECT id, region, total FROM orders WHERE region = :region ORDER BY id
params = region
key = id
interval = 100ms
auth = none
[query.mine]
source = shop
sql = SELECT id, customer, total FROM orders WHERE customer = :customer ORDER BY id
params = customer
bind.customer = sub
key = id
interval = 100ms
CONF

port=$(free_port)
idle_ms=1500
run_daemon() {
  "$LIVEPOLLD" --config "$E2E_TMP/livepolld.conf" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" \
    --admin-bind "$ADMIN" --client-bind "$CLIENT" --ws-bind "127.0.0.1:$port" \
    --ws-idle-timeout "${idle_ms}ms" >>"$E2E_TMP/daemon.log" 2>&1 &
  echo $! >"$E2E_TMP/daemon.pid"
}
daemon_pid() { cat "$E2E_TMP/daemon.pid"; }
ws_up() { (: </dev/tcp/127.0.0.1/$port) 2>/dev/null; }
run_daemon
trap 'kill "$(daemon_pid)" 2>/dev/null; wait 2>/dev/null; e2e_cleanup' EXIT
wait_for 10 "the gateway to listen on $port" ws_up
grep -q "WebSocket gateway and web page at http://127.0.0.1:$port/" "$E2E_TMP/daemon.log" ||
  fail "livepolld did not say where its gateway listens"

# The restart client.js asks for: a stop (SIGTERM), then a new process on the same port.
cat >"$E2E_TMP/restart.sh" <<SH
LIVEPOLL_CONNECT=$(printf %q "$ADMIN") $(printf %q "$LIVEPOLL") stats --json >"$E2E_TMP/stats.before"
kill \$(cat "$E2E_TMP/daemon.pid")
while kill -0 \$(cat "$E2E_TMP/daemon.pid") 2>/dev/null; do sleep 0.05; done
sleep 0.5
$(declare -f run_daemon)
LIVEPOLLD=$(printf %q "$LIVEPOLLD") LIVEPOLL_PLUGIN_DIR=$(printf %q "$LIVEPOLL_PLUGIN_DIR")
E2E_TMP=$(printf %q "$E2E_TMP") ADMIN=$(printf %q "$ADMIN") CLIENT=$(printf %q "$CLIENT")
port=$port idle_ms=$idle_ms
run_daemon
SH

# HTTP routes: the page, an unknown path.
curl -sf "http://127.0.0.1:$port/" | grep -qi "<html" || fail "GET / is no page"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/nothing")
[[ $code == 404 ]] || fail "GET /nothing: $code, not 404"

alice=$("$LIVEPOLL" token --secret "$key" --claim sub=alice --ttl 10m)
WS="ws://127.0.0.1:$port" DB=$db TOKEN_ALICE=$alice IDLE_MS=$idle_ms \
  RESTART="bash $E2E_TMP/restart.sh" NODE_PATH=$PHOENIX_NODE_MODULES \
  node "$src/client.js" >"$E2E_TMP/client.out" 2>&1 ||
  fail "phoenix.js client: $(cat "$E2E_TMP/client.out")"
cat "$E2E_TMP/client.out"

# What the first daemon counted, just before its restart.
counted() { jq -r --arg n "$1" 'select(.name == $n) | .value' "$E2E_TMP/stats.before"; }
for want in ws_connections=4 ws_frames_malformed=5 ws_frames_unknown=1 ws_upgrades_refused=2 \
  ws_idle_closed=1 tokens_refused=1 tokens_accepted=1; do
  name=${want%=*} least=${want#*=}
  n=$(counted "$name")
  [[ -n $n ]] && ((n >= least)) || fail "livepoll stats: $name = ${n:-none}, expected >= $least"
done
# The restarted daemon serves the rejoined client, and answers /metrics and /healthz through the
# gateway (the event loop renders them).
wait_for 10 "the restarted daemon's admin endpoint" quiet "$LIVEPOLL" --timeout 200ms status
curl -sf "http://127.0.0.1:$port/metrics" >"$E2E_TMP/metrics" || fail "GET /metrics failed"
grep -q '^livepoll_ws_connections_total{node="ws1"} [1-9]' "$E2E_TMP/metrics" ||
  fail "/metrics has no ws_connections: $(grep ws_ "$E2E_TMP/metrics" | head -5)"
health=$(curl -s -w ' %{http_code}' "http://127.0.0.1:$port/healthz")
[[ $health == "ok"*" 200" ]] || fail "GET /healthz: $health"
echo "PASS"
