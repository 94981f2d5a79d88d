#!/usr/bin/env bash
# Many watchers of one topic cause one query per interval (read from the poll counter), the same
# as one watcher; the poller stops `linger` after the last watcher leaves, and a new watcher
# starts it again with a higher epoch.
source "$(dirname "$0")/lib.sh"

db=$E2E_TMP/t.db
sql "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO t VALUES (1, 1);"
cat >"$E2E_TMP/livepolld.conf" <<CONF
[node]
linger = 500ms
[source.db]
plugin = soci
dsn = sqlite3://db=$db
[query.t]
source = db
sql = SELECT id, v FROM t
key = id
interval = 200ms
jitter = 0
CONF
start_daemon "$E2E_TMP/livepolld.conf"

watchers=40
for i in $(seq 1 $watchers); do
  "$LIVEPOLL" watch t >"$E2E_TMP/w$i.out" 2>/dev/null &
  E2E_PIDS+=($!)
done
all_joined() { [[ $(subs_field t subscribers) == "$watchers" ]]; }
wait_for 30 "$watchers subscribers" all_joined
[[ $("$LIVEPOLL" subs | wc -l) -eq 1 ]] || fail "more than one topic: $("$LIVEPOLL" subs)"

polls_before=$(subs_field t polls)
sleep 3
polls_after=$(subs_field t polls)
polls=$((polls_after - polls_before))
# 3 s at 200 ms is 15 intervals; one poller polls about 15 times, 40 pollers would poll 600.
echo "polls in 3 s with $watchers watchers: $polls"
((polls >= 8 && polls <= 20)) || fail "expected about 15 polls in 3 s, got $polls"

# A change reaches every watcher.
sql "$db" "UPDATE t SET v = 2"
got_diff() { grep -q '"v": 2' "$E2E_TMP/w$1.out"; }
for i in $(seq 1 $watchers); do wait_for 10 "watcher $i sees the change" got_diff "$i"; done

# All leave: the poller lingers, then stops.
for pid in "${E2E_PIDS[@]:1}"; do kill "$pid" 2>/dev/null || true; done
no_subscribers() { [[ $(subs_field t subscribers) == 0 ]]; }
wait_for 10 "no subscribers" no_subscribers
[[ $(subs_field t state) == lingering ]] || fail "state is not lingering: $("$LIVEPOLL" subs)"
no_topic() { [[ -z $("$LIVEPOLL" subs) ]]; }
wait_for 10 "the poller to stop after linger" no_topic
stopped_polls=$(grep -c "poller stopped: t" "$E2E_TMP/daemon.log" || true)
[[ $stopped_polls -eq 1 ]] || fail "poller stop not logged once"

# A new watcher starts a new poller, with a higher epoch.
out=$("$LIVEPOLL" watch t --count 1)
[[ $(jq .epoch <<<"$out") -eq 2 ]] || fail "epoch did not grow: $out"
echo "ok: one poller for $watchers watchers; linger stops it"
