#!/usr/bin/env bash
# What a heal of a real partition costs (issue 13, §3): 5 livepolld, each in a network namespace
# (tests/tools/netns.sh: the TCP connections survive the split, and what was queued arrives in a
# burst after the heal), a shared SQLite database, a watcher of each of 6 topics on every node
# (so both sides take over the topics the other side owned), then HEAL_RUNS (10) rounds of a
# 2-vs-3 split of HEAL_SPLIT_S (3) seconds, a different pair of nodes each time, and its heal.
# Per heal and topic, counted after the heal:
#   - registrations: "registered TOPIC (...)" lines (re-epochs included) in all five logs, from the
#     heal until every node names one owner per topic and 3 s more;
#   - the epoch's rise: the highest epoch held anywhere then, minus the highest held at the heal;
#   - epoch changes in each watcher's stream;
#   - the time from the heal until every node names one owner (the CLI's polling: ~50 ms steps,
#     and TCP's retransmission back-off after a 3 s cut is part of it).
# Prints a markdown report. Root and iproute2 needed.
#
#   tests/bench/heal_run.sh [BUILD_DIR]      (default ./build: livepolld, livepoll, soci_plugin)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=$(cd "${1:-$SRC/build}" && pwd)
export LIVEPOLLD=$BUILD/daemon/livepolld LIVEPOLL=$BUILD/cmd/livepoll
export LIVEPOLL_PLUGIN_DIR=$BUILD/plugins/lib
RUNS=${HEAL_RUNS:-10}
SPLIT_S=${HEAL_SPLIT_S:-3}
[ -n "${BENCH_SMOKE:-}" ] && RUNS=1 SPLIT_S=1  # one short heal, to check the script
NETNS_PREFIX=lpbhr NETNS_NET=10.213.42
source "$SRC/tests/e2e/lib.sh"
source "$SRC/tests/e2e/netns_cluster_lib.sh"

db=$E2E_TMP/t.db
sql "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, v INTEGER);
           INSERT INTO t(g, v) VALUES (1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (6, 1);"
cat >"$E2E_TMP/node.conf" <<CONF
[source.db]
plugin = soci
dsn = sqlite3://db=$db
[query.t]
source = db
sql = SELECT id, v FROM t WHERE g = :g
params = g
key = id
interval = 1s
CONF
TOPICS=()
for g in 1 2 3 4 5 6; do TOPICS+=("t?g=$g"); done
ns_cluster 5
declare -A WFILE
for ((i = 1; i <= 5; i++)); do for g in 1 2 3 4 5 6; do
  WFILE[$i.$g]=$E2E_TMP/w.n$i.$g
  "$LIVEPOLL" -c "ipc://$E2E_TMP/n$i.admin" watch t "g=$g" >"${WFILE[$i.$g]}" 2>/dev/null &
  E2E_PIDS+=("$!")
done; done
for w in "${WFILE[@]}"; do wait_for 15 "a first line in $w" has_lines "$w" 1; done
wait_for 20 "one owner per topic" one_owner_everywhere "${TOPICS[@]}"

PAIRS=("1 2" "3 4" "2 5" "1 3" "4 5" "1 4" "2 3" "3 5" "1 5" "2 4")
regs_max=0 regs_total=0 rise_max=0 rise_total=0 changes_max=0 one_ms=()
rows=""
for ((r = 0; r < RUNS; r++)); do
  pair=${PAIRS[r % ${#PAIRS[@]}]}
  netns_split "$pair"
  sleep "$SPLIT_S"
  declare -A AT=() NOW=() LINES=()
  while read -r t e; do AT[$t]=$e; done < <(highest_epochs)
  mark_logs
  for w in "${!WFILE[@]}"; do LINES[$w]=$(wc -l <"${WFILE[$w]}"); done
  t0=$(date +%s%3N)
  netns_heal
  until one_owner_everywhere "${TOPICS[@]}"; do
    (($(date +%s%3N) - t0 < 30000)) || { echo "heal $((r + 1)): no single owner after 30 s: $ONE_WHY" >&2; exit 1; }
    sleep 0.05
  done
  one_ms+=($(($(date +%s%3N) - t0)))
  sleep 3
  while read -r t e; do NOW[$t]=$e; done < <(highest_epochs)
  heal_regs=0 heal_regs_max=0 heal_rise_max=0 heal_changes=0
  for t in "${TOPICS[@]}"; do
    n=$(registrations_since_mark "$t")
    rise=$((NOW[$t] - ${AT[$t]:-0}))
    heal_regs=$((heal_regs + n))
    ((n > heal_regs_max)) && heal_regs_max=$n
    ((rise > heal_rise_max)) && heal_rise_max=$rise
    rise_total=$((rise_total + rise))
  done
  for w in "${!WFILE[@]}"; do
    c=$(epoch_changes "${WFILE[$w]}" "${LINES[$w]}")
    ((c > heal_changes)) && heal_changes=$c
  done
  regs_total=$((regs_total + heal_regs))
  ((heal_regs_max > regs_max)) && regs_max=$heal_regs_max
  ((heal_rise_max > rise_max)) && rise_max=$heal_rise_max
  ((heal_changes > changes_max)) && changes_max=$heal_changes
  rows+="| $((r + 1)) | {${pair/ /,}} vs the rest | $heal_regs | $heal_regs_max | $heal_rise_max | $heal_changes | ${one_ms[-1]} |"$'\n'
  sleep 1
done

reepochs=$(cat "$E2E_TMP"/n?.log | grep -c "re-epoch from" || true)
echo "## Heals of real partitions ($RUNS heals, 2-vs-3 splits of $SPLIT_S s, 5 nodes, ${#TOPICS[@]} topics, 30 watchers)"
echo
echo "| heal | split | registrations (all topics) | most for one topic | highest epoch rise | most epoch changes at one watcher | one owner everywhere after (ms) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
printf '%s' "$rows"
echo
sorted=$(printf '%s\n' "${one_ms[@]}" | sort -n)
echo "Epoch changes per topic per heal: max $regs_max registrations, max rise $rise_max; total $regs_total registrations and a total rise of $rise_total over $RUNS heals x ${#TOPICS[@]} topics ($reepochs re-epochs in all the logs, the whole run)."
echo "Watchers: at most $changes_max epoch change(s) per heal. One owner everywhere after the heal: p50 $(sed -n "$(((RUNS + 1) / 2))p" <<<"$sorted") ms, max $(tail -1 <<<"$sorted") ms."
