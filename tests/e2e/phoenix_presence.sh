#!/usr/bin/env bash
# Phoenix Presence across the cluster (PROTOCOL.md, "WebSocket gateway"): two nodes with keys,
# each with its gateway; phoenix.js viewers of one live query join with `presence` on different
# nodes, and phoenix.js's own Presence (tests/e2e/phoenix/presence.js) must list both on each
# side, then show the second one's leave on the first node. The npm packages as in phoenix.sh.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"
source "$(dirname "$0")/phoenix/npm_lib.sh"

db=$E2E_TMP/shop.db
sql "$db" "CREATE TABLE orders(id INTEGER PRIMARY KEY, region TEXT, total INTEGER);
           INSERT INTO orders VALUES (1, 'eu', 10), (2, 'us', 20);"
cat >"$E2E_TMP/node.conf" <<CONF
[source.shop]
plugin = soci
dsn = sqlite3://db=$db
[query.totals]
source = shop
sql = SELECT region, SUM(total) AS revenue FROM orders GROUP BY region ORDER BY region
key = region
interval = 100ms
CONF
cluster_keys n1 n2
ws1=$(free_port)
start_node n1 "" --ws-bind "127.0.0.1:$ws1"
wait_for 10 "n1 up" quiet lp n1 status
ws2=$(free_port)
while [[ $ws2 == "$ws1" ]]; do ws2=$(free_port); done
start_node n2 "${RPC[n1]}" --ws-bind "127.0.0.1:$ws2"
for n in n1 n2; do
  for m in n1 n2; do wait_for 15 "$n sees $m alive" all_see alive "$m" "$n"; done
done

WS1="ws://127.0.0.1:$ws1" WS2="ws://127.0.0.1:$ws2" NODE_PATH=$PHOENIX_NODE_MODULES \
  node "$LIVEPOLL_SOURCE_DIR/tests/e2e/phoenix/presence.js" >"$E2E_TMP/client.out" 2>&1 ||
  cluster_fail "phoenix.js presence: $(cat "$E2E_TMP/client.out")"
cat "$E2E_TMP/client.out"
echo "PASS"
