#!/usr/bin/env bash
# Real partitions (issue 13, §3 and §4): 5 daemons, each in a network namespace of its own
# (tests/tools/netns.sh), a shared SQLite database, and a watcher of each of 5 topics on every node.
# Two rounds of a 2-vs-3 split of 3 s and its heal; the TCP connections survive the split, so the
# frames queued meanwhile arrive in a burst after the heal and both sides' takeovers meet. After
# each heal:
#  - within 20 s, one owner per topic that every node names, one live claim, only it polls;
#  - the heal cost each topic at most one new epoch: at most one registration of it logged
#    cluster-wide since the heal, and its epoch at most one above the highest any node held at the
#    heal;
#  - every watcher's stream changed epoch at most once since the heal, is unbroken (stream_ok), and
#    its rebuilt state equals the database after a write.
# Runs as root (CI does); fails, never skips, without root or iproute2.
NETNS_PREFIX=lpe2p NETNS_NET=10.213.41
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"
source "$(dirname "$0")/netns_cluster_lib.sh"

db=$E2E_TMP/t.db
sql "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, v INTEGER);
           INSERT INTO t(g, v) VALUES (1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (1, 2), (3, 2);"
cat >"$E2E_TMP/node.conf" <<CONF
[node]
linger = 2s
[source.db]
plugin = soci
dsn = sqlite3://db=$db
[query.t]
source = db
sql = SELECT id, v FROM t WHERE g = :g
params = g
key = id
interval = 300ms
CONF
GROUPS_=(1 2 3 4 5)
TOPICS=()
for g in "${GROUPS_[@]}"; do TOPICS+=("t?g=$g"); done
ns_cluster 5

declare -A WFILE
for ((i = 1; i <= 5; i++)); do for g in "${GROUPS_[@]}"; do
  WFILE[$i.$g]=$E2E_TMP/w.n$i.$g
  "$LIVEPOLL" -c "ipc://$E2E_TMP/n$i.admin" watch t "g=$g" >"${WFILE[$i.$g]}" 2>>"$E2E_TMP/watch.err" &
  E2E_PIDS+=("$!")
done; done
for w in "${WFILE[@]}"; do wait_for 15 "a first line in $w" has_lines "$w" 1; done
retry 15 one_owner_everywhere "${TOPICS[@]}" || cluster_fail "no single owner per topic at the start: $ONE_WHY"

# data_matches: every watcher's rebuilt state equals the database's result of its query.
data_matches() {
  local i g want got
  for g in "${GROUPS_[@]}"; do
    want=$(sqlite3 -json "$db" "SELECT id, v FROM t WHERE g = $g ORDER BY id" | jq -sc 'add // [] | sort_by(.id)')
    for ((i = 1; i <= 5; i++)); do
      got=$(stream_state "${WFILE[$i.$g]}")
      [[ $got == "$want" ]] || { DATA_WHY="n$i g=$g has $got, the database $want"; return 1; }
    done
  done
}

round=0
for side in "1 2" "3 5"; do
  round=$((round + 1))
  netns_split "$side" || fail "netns_split failed"
  sleep 3
  # What both sides hold at the heal: the highest epoch of each topic anywhere.
  declare -A AT_HEAL=()
  while read -r t e; do AT_HEAL[$t]=$e; done < <(highest_epochs)
  mark_logs
  declare -A LINES=()
  for w in "${!WFILE[@]}"; do LINES[$w]=$(wc -l <"${WFILE[$w]}"); done
  netns_heal || fail "netns_heal failed"
  healed=$SECONDS

  retry 20 one_owner_everywhere "${TOPICS[@]}" ||
    cluster_fail "heal $round: no single owner per topic after 20 s: $ONE_WHY"
  echo "heal $round: one owner per topic everywhere after $((SECONDS - healed)) s"
  sleep 2  # let anything still in flight land before counting
  one_owner_everywhere "${TOPICS[@]}" || cluster_fail "heal $round: the owners changed again: $ONE_WHY"

  declare -A NOW=()
  while read -r t e; do NOW[$t]=$e; done < <(highest_epochs)
  for t in "${TOPICS[@]}"; do
    regs=$(registrations_since_mark "$t")
    echo "heal $round: $t epoch ${AT_HEAL[$t]:-?} at the heal, ${NOW[$t]} now, $regs registration(s)"
    ((regs <= 1)) || cluster_fail "heal $round: $t was registered $regs times after the heal"
    ((NOW[$t] <= ${AT_HEAL[$t]:-0} + 1)) ||
      cluster_fail "heal $round: $t went from epoch ${AT_HEAL[$t]:-0} to ${NOW[$t]}"
  done
  for w in "${!WFILE[@]}"; do
    changes=$(epoch_changes "${WFILE[$w]}" "${LINES[$w]}")
    ((changes <= 1)) || cluster_fail "heal $round: watcher $w saw $changes epoch changes"
    stream_ok "${WFILE[$w]}" || cluster_fail "heal $round: watcher $w's stream is broken"
  done

  sql "$db" "UPDATE t SET v = v + 10 WHERE id % 2 = $((round % 2)); INSERT INTO t(g, v) VALUES ($round, 100);"
  DATA_WHY=
  retry 10 data_matches || cluster_fail "heal $round: a watcher differs from the database: $DATA_WHY"
done
grep -h "registered" "$E2E_TMP"/n?.log | grep -c "re-epoch" | xargs echo "re-epochs logged in all:"
echo "ok: real partitions healed with at most one new epoch per topic"
