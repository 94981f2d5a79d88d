#!/usr/bin/env bash
# Multiplexed polling (a query's `multiplex`, issue 15): five topics of one parameterised query are
# served from one SQLite statement per interval (the counters polls and poll_statements), each
# watcher still gets its own topic's rows and only its own changes, a failing statement is an
# error on every topic, and after a reload to `multiplex = 0` every topic is its own statement
# again.
source "$(dirname "$0")/lib.sh"

db=$E2E_TMP/t.db
sql "$db" "CREATE TABLE orders(region TEXT, total INTEGER);
           INSERT INTO orders VALUES ('r1', 1), ('r2', 2), ('r3', 3), ('r4', 4), ('r5', 5);"
config() {  # config MULTIPLEX_LINE
  cat >"$E2E_TMP/livepolld.conf" <<CONF
[source.db]
plugin = soci
dsn = sqlite3://db=$db
[query.by_region]
source = db
sql = SELECT region, SUM(total) AS total FROM orders WHERE region = :region GROUP BY region
params = region
key = region
interval = 200ms
jitter = 0
$1
CONF
}
config ""  # the default: multiplex = 100
start_daemon "$E2E_TMP/livepolld.conf"

# counters: "POLLS STATEMENTS", from one `stats` (two calls could straddle a poll).
counters() {
  "$LIVEPOLL" stats --json |
    jq -rs '[(.[] | select(.name == "polls") | .value), (.[] | select(.name == "poll_statements") | .value)] | join(" ")'
}
regions=(r1 r2 r3 r4 r5)
for r in "${regions[@]}"; do
  "$LIVEPOLL" watch by_region "region=$r" >"$E2E_TMP/$r.out" 2>"$E2E_TMP/$r.err" &
  E2E_PIDS+=($!)
done
for r in "${regions[@]}"; do wait_for 10 "watcher $r's snapshot" has_lines "$E2E_TMP/$r.out" 1; done
for i in 1 2 3 4 5; do
  jq -e --arg r "r$i" --argjson t "$i" '.rows == [{"region": $r, "total": $t}]' <(head -1 "$E2E_TMP/r$i.out") >/dev/null ||
    fail "r$i's snapshot is not its own row: $(head -1 "$E2E_TMP/r$i.out")"
done

# measure SECONDS: sets d_polls and d_statements, the counters' growth over SECONDS.
measure() {
  local p0 s0 p1 s1
  read -r p0 s0 <<<"$(counters)"
  sleep "$1"
  read -r p1 s1 <<<"$(counters)"
  d_polls=$((p1 - p0)) d_statements=$((s1 - s0))
}
measure 3
echo "multiplex = 100: $d_polls polls from $d_statements statements in 3 s (5 topics at 200 ms)"
# 15 intervals: 75 polls; one statement per interval for the five topics, 15.
((d_polls >= 40)) || fail "expected about 75 polls in 3 s, got $d_polls"
((d_statements >= 8 && d_statements * 4 <= d_polls)) ||
  fail "expected about one statement per interval for 5 topics: $d_statements statements for $d_polls polls"

# A change reaches its own topic only, as a diff.
sql "$db" "UPDATE orders SET total = 30 WHERE region = 'r3'"
got_change() { grep -q '"total": 30' "$E2E_TMP/r3.out"; }
wait_for 10 "r3's change" got_change
grep '"total": 30' "$E2E_TMP/r3.out" | jq -e '.kind == "diff"' >/dev/null || fail "r3's change is not a diff"
sleep 0.5
for r in r1 r2 r4 r5; do
  [[ $(wc -l <"$E2E_TMP/$r.out") -eq 1 ]] || fail "$r got an update for another topic's change: $(cat "$E2E_TMP/$r.out")"
done

# A failing statement fails every topic of the batch; all recover together.
sql "$db" "ALTER TABLE orders RENAME TO gone"
for r in "${regions[@]}"; do
  has_error() { grep -q '"kind": "error"' "$E2E_TMP/$1.out"; }
  wait_for 10 "$r's error" has_error "$r"
done
grep -h '"kind": "error"' "$E2E_TMP"/r*.out | grep -q "no such table: orders" || fail "the error does not say why"
sql "$db" "ALTER TABLE gone RENAME TO orders"
for r in "${regions[@]}"; do
  recovered() { tail -1 "$E2E_TMP/$1.out" | jq -e '.kind == "snapshot"' >/dev/null; }
  wait_for 10 "$r's recovery" recovered "$r"
done

# multiplex = 0 by a reload: one statement per topic again, and the streams go on.
config "multiplex = 0"
kill -HUP "$DAEMON_PID"
wait_for 10 "the reload" grep -q "SIGHUP: configuration reloaded" "$E2E_TMP/daemon.log"
sleep 0.5
measure 2
echo "multiplex = 0: $d_polls polls from $d_statements statements in 2 s"
((d_polls >= 25)) || fail "expected about 50 polls in 2 s, got $d_polls"
((d_statements == d_polls)) || fail "multiplex = 0: $d_statements statements for $d_polls polls"
sql "$db" "UPDATE orders SET total = 10 WHERE region = 'r1'"
got_r1() { grep -q '"total": 10' "$E2E_TMP/r1.out"; }
wait_for 10 "r1's change after the reload" got_r1
echo "ok: 5 topics of one query from one statement per interval; multiplex = 0 gives one each"
