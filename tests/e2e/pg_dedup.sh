#!/usr/bin/env bash
# 1,000 watchers over 10 topics (one parameterised query) cause one execution per topic per
# interval in PostgreSQL itself, as pg_stat_statements counts them: not one per watcher.
# The watchers are one lp_bench process (tests/bench: 1,000 DEALER connections, each joining one
# topic k=t0..t9), not 1,000 `livepoll watch` processes.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../pg/e2e_lib.sh"
: "${LP_BENCH:?set by tests/CMakeLists.txt}"
[[ -x $LP_BENCH ]] || fail "no load client at $LP_BENCH (build the target lp_bench)"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # 1,000 connections on each side

watchers=1000
topics=10
window=10  # seconds, at interval 1 s
pg_create_db
pg "CREATE TABLE dedup_marker_t(k text PRIMARY KEY, v integer);
    INSERT INTO dedup_marker_t SELECT 't' || i, i FROM generate_series(0, $((topics - 1))) AS i;"
cat >"$E2E_TMP/livepolld.conf" <<CONF
[node]
name = e2e
[source.pg]
plugin = postgres
dsn = $PG_DSN
[query.dq]
source = pg
sql = SELECT k, v FROM dedup_marker_t WHERE k = :k
params = k
key = k
interval = 1s
jitter = 0
# One statement per topic: with the default multiplexing the ten topics would be one statement
# per interval (tests/e2e/multiplex.sh, tests/unit/source/postgres_multiplex_test.cpp).
multiplex = 0
CONF
start_daemon "$E2E_TMP/livepolld.conf"

"$LP_BENCH" watchers --connect "$CLIENT" --clients "$watchers" --topics-per-client 1 \
  --distinct-topics "$topics" --query dq --param 'k=t{t}' --seconds 120 --json \
  >"$E2E_TMP/bench.json" 2>"$E2E_TMP/bench.err" &
bench=$!
E2E_PIDS+=("$bench")
total_subscribers() { "$LIVEPOLL" subs --header | awk -F'\t' '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == "subscribers") c = i; next }
    { n += $c } END { print n + 0 }'; }
all_joined() {
  kill -0 "$bench" 2>/dev/null || fail "lp_bench exited: $(cat "$E2E_TMP/bench.err")"
  [[ $(total_subscribers) == "$watchers" ]]
}
wait_for 60 "$watchers subscriptions" all_joined
[[ $("$LIVEPOLL" subs | wc -l) -eq $topics ]] || fail "expected $topics topics: $("$LIVEPOLL" subs)"
sleep 1.5  # past the first polls of every topic

# This database only: reset its statistics, let the interval run, count executions.
this_db="(SELECT oid FROM pg_database WHERE datname = current_database())"
calls_sql="SELECT coalesce(sum(calls), 0) FROM pg_stat_statements
           WHERE dbid = $this_db AND query LIKE '%dedup_marker_t%' AND query NOT LIKE '%pg_stat_statements%'"
polls_sum() { "$LIVEPOLL" subs --header | awk -F'\t' '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == "polls") c = i; next } { n += $c } END { print n + 0 }'; }
pg "SELECT pg_stat_statements_reset(0, $this_db, 0)" >/dev/null
t0=$(date +%s.%N)
polls0=$(polls_sum)
sleep "$window"
calls=$(pg "$calls_sql")
t1=$(date +%s.%N)
polls1=$(polls_sum)
kill -TERM "$bench"
wait "$bench" || fail "lp_bench failed: $(cat "$E2E_TMP/bench.err")"

elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
intervals=$(awk -v e="$elapsed" 'BEGIN { printf "%d", e + 0.5 }')
expected=$((topics * intervals))
lo=$((expected - topics))
hi=$((expected + 2 * topics))
echo "pg_stat_statements: $calls executions of the query in ${elapsed}s: $topics topics x" \
     "$intervals intervals = $expected expected, [$lo, $hi] accepted;" \
     "$watchers watchers x $intervals intervals would be $((watchers * intervals))"
echo "daemon polls in the window: $((polls1 - polls0)); lp_bench: $(cat "$E2E_TMP/bench.json")"
pg "SELECT calls, query FROM pg_stat_statements WHERE dbid = $this_db" | sed 's/^/  /'
((calls >= lo && calls <= hi)) ||
  fail "expected about one execution per topic per interval ($expected), got $calls"
((calls * 10 < watchers * intervals)) || fail "not far below one per watcher per interval"
jq -e --argjson w "$watchers" '.subscriptions == $w and .join_errors == 0 and .update_errors == 0' \
  "$E2E_TMP/bench.json" >/dev/null || fail "lp_bench saw errors: $(cat "$E2E_TMP/bench.json")"
kill -0 "$DAEMON_PID" || fail "the daemon died"
echo "ok: $watchers watchers over $topics topics: one PostgreSQL execution per topic per interval"
