#!/usr/bin/env bash
# PostgreSQL through `plugin = postgres`: a snapshot, then INSERT/UPDATE/DELETE committed with psql
# reach a `livepoll watch` as keyed diffs; values keep their types in the JSON (integer, bigint,
# numeric, double precision, boolean, timestamptz as ISO text, text, NULL); parameters are bound
# (also next to a `::` cast); a query without key columns sends snapshots.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../pg/e2e_lib.sh"

pg_create_db
pg "CREATE TABLE items(id integer PRIMARY KEY, name text, qty integer, big bigint,
                       price numeric(10,2), ratio double precision, active boolean,
                       at timestamptz, note text);
    INSERT INTO items VALUES
      (1, 'apple', 5, 5000000000, 0.50, 0.25, true, '2024-01-02 03:04:05+00', NULL),
      (2, 'pear', 3, -7, 0.75, 1.5, false, '2024-06-30 23:59:59.5+00', 'ripe'),
      (3, 'fig', 0, 0, 2.00, -0.125, NULL, NULL, 'dried');"
cat >"$E2E_TMP/livepolld.conf" <<CONF
[node]
name = e2e
[source.pg]
plugin = postgres
dsn = $PG_DSN
[query.items]
source = pg
sql = SELECT id, name, qty, big, price, ratio, active, at, note FROM items ORDER BY id
key = id
interval = 100ms
[query.stock]
source = pg
sql = SELECT name, qty::bigint AS qty FROM items WHERE qty >= :min ORDER BY name
params = min
interval = 100ms
[query.names]
source = pg
sql = SELECT string_agg(name, ',' ORDER BY name) AS names FROM items
interval = 100ms
CONF
start_daemon "$E2E_TMP/livepolld.conf"

# The snapshot: every column with its type.
"$LIVEPOLL" watch items --count 2 >"$E2E_TMP/items.out" 2>"$E2E_TMP/items.err" &
watcher=$!
E2E_PIDS+=("$watcher")
wait_for 10 "the first snapshot" has_lines "$E2E_TMP/items.out" 1
first=$(sed -n 1p "$E2E_TMP/items.out")
[[ $(jq -r .kind <<<"$first") == snapshot ]] || fail "first line is not a snapshot: $first"
[[ $(jq -r .topic <<<"$first") == items ]] || fail "wrong topic: $first"
row1=$(jq -c '.rows[0]' <<<"$first")
[[ $(jq -c '[.rows[] | .id]' <<<"$first") == "[1,2,3]" ]] || fail "ids: $first"
[[ $(jq -c '[.id, .qty, .big] | map(type)' <<<"$row1") == '["number","number","number"]' ]] ||
  fail "integer columns are not JSON numbers: $row1"
[[ $(jq -c '.big' <<<"$row1") == 5000000000 ]] || fail "a bigint lost its value: $row1"
[[ $(jq -c '[.rows[] | .big]' <<<"$first") == '[5000000000,-7,0]' ]] || fail "bigints: $first"
[[ $(jq -c '[.rows[] | .price]' <<<"$first") == '[0.5,0.75,2]' ]] ||
  fail "numeric is not a JSON number with its value: $first"
[[ $(jq -c '[.rows[] | .ratio]' <<<"$first") == '[0.25,1.5,-0.125]' ]] ||
  fail "double precision is not a JSON number: $first"
[[ $(jq -c '[.rows[] | .active]' <<<"$first") == '[true,false,null]' ]] ||
  fail "boolean is not true/false/null: $first"
[[ $(jq -c '[.rows[] | .note]' <<<"$first") == '[null,"ripe","dried"]' ]] ||
  fail "text or NULL: $first"
[[ $(jq -r '.rows[2].at' <<<"$first") == null ]] || fail "a NULL timestamptz is not null: $first"
# timestamptz: ISO 8601 text in the session's zone (UTC for this database), e.g.
# "2024-01-02 03:04:05+00" (PostgreSQL's ISO style) or "2024-01-02T03:04:05Z".
iso='^2024-01-02[T ]03:04:05(\.0+)?(\+00(:?00)?|Z)$'
at=$(jq -r '.rows[0].at' <<<"$first")
[[ $(jq -r '.rows[0].at | type' <<<"$first") == string && $at =~ $iso ]] ||
  fail "timestamptz is not ISO text in UTC: '$at'"
at2=$(jq -r '.rows[1].at' <<<"$first")
[[ $at2 =~ ^2024-06-30[T\ ]23:59:59\.50*(\+00(:?00)?|Z)$ ]] || fail "fractional seconds lost: '$at2'"

# UPDATE: a keyed diff of one row.
pg "UPDATE items SET qty = 42, price = 1.25, active = true WHERE id = 2"
wait "$watcher" || fail "watch exited non-zero: $(cat "$E2E_TMP/items.err")"
second=$(sed -n 2p "$E2E_TMP/items.out")
[[ $(jq -r .kind <<<"$second") == diff ]] || fail "second line is not a diff: $second"
[[ $(jq -c '[.changes[] | [.op, .row.id, .row.qty, .row.price, .row.active]]' <<<"$second") == \
   '[["update",2,42,1.25,true]]' ]] || fail "unexpected update diff: $second"
[[ $(jq .seq <<<"$second") -eq $(($(jq .seq <<<"$first") + 1)) ]] || fail "seq is not consecutive"
[[ $(jq .epoch <<<"$second") -eq $(jq .epoch <<<"$first") ]] || fail "epoch changed"

# A late watcher starts from the current snapshot; DELETE and INSERT in one transaction.
"$LIVEPOLL" watch items --count 2 >"$E2E_TMP/late.out" 2>"$E2E_TMP/late.err" &
late=$!
E2E_PIDS+=("$late")
wait_for 10 "the late snapshot" has_lines "$E2E_TMP/late.out" 1
[[ $(head -1 "$E2E_TMP/late.out" | jq -c '[.rows[] | .qty]') == "[5,42,0]" ]] ||
  fail "the late watcher's snapshot is not current: $(cat "$E2E_TMP/late.out")"
pg "BEGIN; DELETE FROM items WHERE id = 3;
    INSERT INTO items VALUES (4, 'kiwi', 9, 9, 3.10, 0.5, false, '2025-03-04 05:06:07+00', NULL);
    COMMIT;"
wait "$late" || fail "late watch exited non-zero: $(cat "$E2E_TMP/late.err")"
diff=$(sed -n 2p "$E2E_TMP/late.out")
[[ $(jq -c '[.changes[] | [.op, .row.id]]' <<<"$diff") == '[["delete",3],["insert",4]]' ]] ||
  fail "unexpected insert/delete diff: $diff"
[[ $(jq -c '.changes[1].row | [.name, .price, .active, .note]' <<<"$diff") == '["kiwi",3.1,false,null]' ]] ||
  fail "inserted row: $diff"

# Parameters are bound (PostgreSQL infers their type from the SQL), next to a :: cast.
out=$("$LIVEPOLL" watch stock min=6 --count 1)
[[ $(jq -r .topic <<<"$out") == "stock?min=6" ]] || fail "topic: $out"
[[ $(jq -r .kind <<<"$out") == snapshot ]] || fail "a parameterised query failed: $out"
[[ $(jq -c '.rows' <<<"$out") == '[{"name":"kiwi","qty":9},{"name":"pear","qty":42}]' ]] ||
  fail "param rows: $out"
out=$("$LIVEPOLL" watch stock min=0 --count 1)
[[ $(jq -c '[.rows[] | .name]' <<<"$out") == '["apple","kiwi","pear"]' ]] || fail "min=0: $out"

# No key columns: every change is a whole snapshot.
"$LIVEPOLL" watch names --count 2 >"$E2E_TMP/names.out" &
names=$!
E2E_PIDS+=("$names")
wait_for 10 "the names snapshot" has_lines "$E2E_TMP/names.out" 1
pg "INSERT INTO items(id, name) VALUES (5, 'lime')"
wait "$names" || fail "names watch exited non-zero"
[[ $(sed -n 2p "$E2E_TMP/names.out" | jq -c '[.kind, .rows]') == '["snapshot",[{"names":"apple,kiwi,lime,pear"}]]' ]] ||
  fail "keyless change: $(cat "$E2E_TMP/names.out")"
kill -0 "$DAEMON_PID" || fail "the daemon died"
echo "ok: postgres snapshots, keyed diffs and typed values"
