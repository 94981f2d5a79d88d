#!/usr/bin/env bash
# A committed write reaches a `livepoll watch` as a keyed diff; a query without key columns sends
# snapshots; a late watcher starts from the current snapshot; a parameter selects rows.
source "$(dirname "$0")/lib.sh"

db=$E2E_TMP/shop.db
sql "$db" "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, price REAL);
           INSERT INTO items VALUES (1, 'apple', 5, 0.5), (2, 'pear', 3, 0.75), (3, 'fig', 0, 2.0);"
cat >"$E2E_TMP/livepolld.conf" <<CONF
[node]
name = e2e
[source.shop]
plugin = soci
dsn = sqlite3://db=$db
[query.items]
source = shop
sql = SELECT id, name, qty, price FROM items ORDER BY id
key = id
interval = 100ms
[query.stock]
source = shop
sql = SELECT name, qty FROM items WHERE qty >= :min ORDER BY name
params = min
interval = 100ms
CONF
start_daemon "$E2E_TMP/livepolld.conf"

# Keyed: the first line is the snapshot, the second the diff of our update.
"$LIVEPOLL" watch items --count 2 >"$E2E_TMP/items.out" 2>"$E2E_TMP/items.err" &
watcher=$!
E2E_PIDS+=("$watcher")
wait_for 10 "the first snapshot" has_lines "$E2E_TMP/items.out" 1
sql "$db" "UPDATE items SET qty = 42 WHERE id = 2"
wait "$watcher" || fail "watch exited non-zero: $(cat "$E2E_TMP/items.err")"

first=$(sed -n 1p "$E2E_TMP/items.out")
second=$(sed -n 2p "$E2E_TMP/items.out")
[[ $(jq -r .kind <<<"$first") == snapshot ]] || fail "first line is not a snapshot: $first"
[[ $(jq -r .topic <<<"$first") == items ]] || fail "wrong topic: $first"
[[ $(jq -c '[.rows[] | .qty]' <<<"$first") == "[5,3,0]" ]] || fail "snapshot rows: $first"
[[ $(jq -c '.rows[0].price' <<<"$first") == "0.5" ]] || fail "a real is not a number: $first"
[[ $(jq -r .kind <<<"$second") == diff ]] || fail "second line is not a diff: $second"
[[ $(jq -c '.changes' <<<"$second") == '[{"op":"update","row":{"id":2,"name":"pear","qty":42,"price":0.75}}]' ]] ||
  fail "unexpected diff: $second"
[[ $(jq .seq <<<"$second") -eq $(($(jq .seq <<<"$first") + 1)) ]] || fail "seq is not consecutive"
[[ $(jq .epoch <<<"$second") -eq $(jq .epoch <<<"$first") ]] || fail "epoch changed"
[[ $(jq -r .owner <<<"$second") == e2e ]] || fail "owner is not the node: $second"

# Inserts and deletes, with a watcher that joined late: it starts from the current snapshot.
"$LIVEPOLL" watch items --count 2 >"$E2E_TMP/late.out" &
late=$!
E2E_PIDS+=("$late")
wait_for 10 "the late snapshot" has_lines "$E2E_TMP/late.out" 1
[[ $(jq -c '[.rows[] | .qty]' <"$E2E_TMP/late.out") == "[5,42,0]" ]] ||
  fail "the late watcher's snapshot is not current: $(cat "$E2E_TMP/late.out")"
sql "$db" "BEGIN; DELETE FROM items WHERE id = 3; INSERT INTO items VALUES (4, 'kiwi', 9, 1.25); COMMIT;"
wait "$late" || fail "late watch exited non-zero"
[[ $(sed -n 2p "$E2E_TMP/late.out" | jq -c '[.changes[] | [.op, .row.id]]') == '[["delete",3],["insert",4]]' ]] ||
  fail "unexpected insert/delete diff: $(sed -n 2p "$E2E_TMP/late.out")"

# Parameters: bound, and a different value is a different topic.
out=$("$LIVEPOLL" watch stock min=6 --count 1)
[[ $(jq -r .topic <<<"$out") == "stock?min=6" ]] || fail "topic: $out"
[[ $(jq -c '[.rows[] | .name]' <<<"$out") == '["kiwi","pear"]' ]] || fail "param rows: $out"
out=$("$LIVEPOLL" watch stock "min=0' OR '1'='1" --count 1)
[[ $(jq -c '.rows' <<<"$out") == '[]' ]] || fail "a parameter was spliced into SQL: $out"
echo "ok: watch shows snapshots and keyed diffs"
