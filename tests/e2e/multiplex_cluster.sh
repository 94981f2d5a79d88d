#!/usr/bin/env bash
# Multiplexed polling in a cluster (issue 15): twelve topics of one query, placed over three real
# daemons by rendezvous hashing, cost at most one statement per owner per interval (ceil(N / batch)
# + k), read from every node's polls and poll_statements counters; each watcher still gets its own
# topic's rows.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

db=$E2E_TMP/t.db
rows=""
for i in $(seq 1 12); do rows+="('r$i', $i),"; done
sql "$db" "CREATE TABLE orders(region TEXT, total INTEGER); INSERT INTO orders VALUES ${rows%,};"
cat >"$E2E_TMP/node.conf" <<CONF
[source.db]
plugin = soci
dsn = sqlite3://db=$db
[query.by_region]
source = db
sql = SELECT region, total FROM orders WHERE region = :region
params = region
key = region
interval = 200ms
jitter = 0
CONF
start_cluster n1 n2 n3

for i in $(seq 1 12); do
  node=n$(((i % 3) + 1))  # watchers on every node
  "$LIVEPOLL" -c "ipc://$E2E_TMP/$node.admin" watch by_region "region=r$i" >"$E2E_TMP/w$i.out" 2>/dev/null &
  E2E_PIDS+=($!)
done
for i in $(seq 1 12); do wait_for 15 "watcher r$i's snapshot" has_lines "$E2E_TMP/w$i.out" 1; done
for i in $(seq 1 12); do
  jq -e --arg r "r$i" --argjson t "$i" '.rows == [{"region": $r, "total": $t}]' \
    <(head -1 "$E2E_TMP/w$i.out") >/dev/null || fail "r$i's snapshot: $(head -1 "$E2E_TMP/w$i.out")"
done
owners=$(lp n1 subs --json | jq -r '.owner' | sort -u | wc -l)
echo "the 12 topics are polled by $owners owner(s)"

# counters: "POLLS STATEMENTS" summed over the nodes, each node's pair from one `stats`.
counters() {
  local n p=0 s=0 pair
  for n in n1 n2 n3; do
    pair=$(lp "$n" stats --node "$n" --json | jq -rs \
      '[(map(select(.name == "polls") | .value) | add), (map(select(.name == "poll_statements") | .value) | add)] | join(" ")')
    p=$((p + ${pair% *})) s=$((s + ${pair#* }))
  done
  echo "$p $s"
}
read -r p0 s0 <<<"$(counters)"
sleep 3
read -r p1 s1 <<<"$(counters)"
polls=$((p1 - p0)) statements=$((s1 - s0))
echo "cluster: $polls polls from $statements statements in 3 s (12 topics at 200 ms over $owners owners)"
# 15 intervals: 180 polls; at most one statement per owner per interval (plus a start-up straggler).
((polls >= 100)) || fail "expected about 180 polls in 3 s, got $polls"
((statements <= owners * 16 + 4)) ||
  fail "expected at most one statement per owner per interval: $statements for $polls polls"
((statements * 3 <= polls)) || fail "no batching: $statements statements for $polls polls"
echo "ok: 12 topics over $owners owners from at most one statement per owner per interval"
