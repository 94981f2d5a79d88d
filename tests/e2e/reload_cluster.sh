#!/usr/bin/env bash
# SIGHUP on a 3-node cluster (with keys), under live `livepoll watch` watchers on two nodes: a query
# added is joined at once on every node; a query removed ends the watchers' subscriptions with an
# error and leaves no subscription of it anywhere; a query whose SQL changed is registered again by
# its owner at a higher epoch, and every watcher follows it from a snapshot of the new SQL's
# result, its stream unbroken; a broken file on one node keeps its running configuration (its
# status says why) while the cluster keeps serving.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

db=$E2E_TMP/shop.db
sql "$db" "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT);
           INSERT INTO items VALUES (1, 'apple'), (2, 'pear');"
write_conf() {  # write_conf ITEMS_SQL EXTRA_QUERY
  cat >"$E2E_TMP/node.conf" <<CONF
[source.shop]
plugin = soci
dsn = sqlite3://db=$db
[query.items]
source = shop
sql = $1
key = id
interval = 100ms
$2
CONF
}
gone_query="[query.gone]
source = shop
sql = SELECT COUNT(*) AS n FROM items
interval = 100ms"
fresh_query="[query.fresh]
source = shop
sql = SELECT name FROM items WHERE id = :id
params = id
interval = 100ms"
write_conf "SELECT id, name FROM items ORDER BY id" "$gone_query"
start_cluster n1 n2 n3

watch_on() {  # watch_on NODE QUERY: a watcher in the background, its lines in NODE.QUERY.out
  "$LIVEPOLL" -c "ipc://$E2E_TMP/$1.admin" watch "$2" >"$E2E_TMP/$1.$2.out" 2>"$E2E_TMP/$1.$2.err" &
  E2E_PIDS+=($!)
}
for n in n2 n3; do watch_on "$n" items; watch_on "$n" gone; done
for n in n2 n3; do
  for q in items gone; do wait_for 15 "$n's $q snapshot" has_lines "$E2E_TMP/$n.$q.out" 1; done
done
epoch_before=$(sub_json n2 items epoch)
[[ $epoch_before =~ ^[0-9]+$ ]] || cluster_fail "items' epoch on n2: '$epoch_before'"

write_conf "SELECT id, name, 'v2' AS version FROM items ORDER BY id" "$fresh_query"
for n in n1 n2 n3; do kill -HUP "${PID[$n]}"; done
for n in n1 n2 n3; do wait_for 10 "$n reloads" grep -q "SIGHUP: configuration reloaded" "$E2E_TMP/$n.log"; done

# Added: joined on every node.
for n in n1 n2 n3; do
  out=$(lp "$n" watch fresh id=2 --count 1) || cluster_fail "fresh is not joinable on $n"
  [[ $(jq -c .rows <<<"$out") == '[{"name":"pear"}]' ]] || cluster_fail "fresh on $n: $out"
done
# Removed: each watcher got the error; no node holds a subscription of it.
for n in n2 n3; do
  has_error() { jq -e 'select(.kind == "error") | .error' "$E2E_TMP/$1.gone.out" 2>/dev/null | grep -q "query 'gone' was removed from the catalog"; }
  wait_for 10 "$n's gone watcher gets the error" has_error "$n"
done
nobody_has_gone() { [[ -z $(sub_json "$1" gone subscribers) ]]; }
for n in n1 n2 n3; do wait_for 15 "$n has no subscriber of gone" nobody_has_gone "$n"; done
# Changed: every watcher follows a higher epoch from a snapshot of the new SQL's result.
for n in n2 n3; do
  new_epoch() { jq -s -e --argjson e "$epoch_before" 'map(select(.kind == "snapshot" and .epoch > $e and .rows[0].version == "v2")) | length > 0' "$E2E_TMP/$1.items.out" >/dev/null; }
  wait_for 15 "$n's items watcher sees the new SQL at a new epoch" new_epoch "$n"
  stream_ok "$E2E_TMP/$n.items.out" || cluster_fail "$n's items stream broke over the reload"
done
# One owner, one poller of items in the cluster, at the new epoch.
one_owner() {
  local pollers=0 n
  for n in n1 n2 n3; do [[ $(sub_json "$n" items polls) -gt 0 && $(sub_json "$n" items state) != relayed ]] && pollers=$((pollers + 1)); done
  ((pollers >= 1))
}
wait_for 10 "items has a poller" one_owner

# Catalogs that differ: n3 alone reloads a changed file. `livepoll status` warns, and `livepoll
# queries` shows which nodes hold which definition of items.
cp "$E2E_TMP/node.conf" "$E2E_TMP/good.conf"
write_conf "SELECT id, name, 'v3' AS version FROM items ORDER BY id" "$fresh_query"
kill -HUP "${PID[n3]}"
wait_for 10 "n3 reloads again" eval '[[ $(grep -c "SIGHUP: configuration reloaded" "$E2E_TMP/n3.log") == 2 ]]'
lp n1 status >/dev/null 2>"$E2E_TMP/status.err" || true
grep -q "warning: the nodes' catalogs differ" "$E2E_TMP/status.err" ||
  cluster_fail "no warning: $(cat "$E2E_TMP/status.err"); status: $(lp n1 status --json)"
holders=$(lp n1 queries --json | jq -r 'select(.name == "items") | .nodes' | sort | paste -sd' ')
[[ $holders == "n1,n2 n3" ]] || cluster_fail "items' definitions by node: $holders ($(lp n1 queries --json))"
cp "$E2E_TMP/good.conf" "$E2E_TMP/node.conf"
kill -HUP "${PID[n3]}"
wait_for 10 "n3 reloads the common file" eval '[[ $(grep -c "SIGHUP: configuration reloaded" "$E2E_TMP/n3.log") == 3 ]]'
lp n1 status >/dev/null 2>"$E2E_TMP/status.err"
[[ ! -s $E2E_TMP/status.err ]] || cluster_fail "a warning with one catalog: $(cat "$E2E_TMP/status.err")"

# A broken file on n2: it keeps its configuration, says why; the cluster keeps serving.
printf 'not an ini line\n' >>"$E2E_TMP/node.conf"
kill -HUP "${PID[n2]}"
wait_for 10 "n2 logs the failure" grep -q "SIGHUP: keeping the running configuration" "$E2E_TMP/n2.log"
[[ $(lp n2 status --node n2 --json | jq -r .config) == "reload failed at "*"line "* ]] ||
  cluster_fail "n2's status: $(lp n2 status --node n2 --json)"
lines=$(wc -l <"$E2E_TMP/n3.items.out")
sql "$db" "UPDATE items SET name = 'Pear' WHERE id = 2"
for n in n2 n3; do wait_for 10 "$n's watcher still served" has_lines "$E2E_TMP/$n.items.out" $((lines + 1)); done
cp "$E2E_TMP/good.conf" "$E2E_TMP/node.conf"
kill -HUP "${PID[n2]}"
cleared() { [[ $(lp n2 status --node n2 --json | jq -r .config) == "reloaded at "* ]]; }
wait_for 10 "a good reload clears n2's failure" cleared
for n in n2 n3; do stream_ok "$E2E_TMP/$n.items.out" || cluster_fail "$n's items stream broke"; done
echo "ok: SIGHUP reloads a cluster's catalogs under live watchers"
