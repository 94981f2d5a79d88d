#!/usr/bin/env bash
# `livepoll zombies`, `reap` and `resolve` on three real daemons, with zombies made by real faults
# (DESIGN.md, "Lifecycle and zombies"), and the pipelines operators write:
#  - a healthy cluster has no zombie (`zombies --exit-status` exits 0); `reap` refuses a healthy
#    poller (exit 1) and says `not-found` for a topic nobody knows while doing the rest;
#  - a query stalled by a held SQLite write lock is `stalled`; `zombies --reason stalled | cut -f2 |
#    reap -` reaps it; once the lock goes, no zombie is left;
#  - a partition healed under clash_policy = manual leaves `clash` zombies; `resolve --all` prints
#    each clash's winner and loser and ends them;
#  - a SIGSTOPped node: a cluster-wide answer names it and exits 4 while it is still a member;
#    its topic with subscribers elsewhere fails over; its topic with subscribers only on it is a
#    `dead-owner` that `zombies --reason dead-owner | cut -f2 | reap -` removes, idempotently;
#  - `subs --json | jq` sees every topic's pollers cluster-wide.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"

db=$E2E_TMP/t.db
sql "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, g INTEGER, v TEXT);
           INSERT INTO t VALUES (1, 1, 'a'), (2, 2, 'a'), (3, 3, 'a'), (4, 4, 'a');"
# placement = local: a topic's owner is where its first watcher is, so the test chooses owners.
# A 60 s busy timeout: a poll waits on a locked database instead of failing at once.
cat >"$E2E_TMP/node.conf" <<CONF
[node]
linger = 30s
placement = local
clash_policy = manual
stall_after = 4
suspect_after = 2s
dead_after = 4s
fault_injection = true
[source.db]
plugin = soci
dsn = sqlite3://db=$db timeout=60
[query.t]
source = db
sql = SELECT id, v FROM t WHERE g = :g
params = g
key = id
interval = 250ms
CONF
nodes=(n1 n2 n3)
start_cluster "${nodes[@]}"

# lz NODE ARGS...: the CLI against NODE, with time for three nodes' answers.
lz() { local node=$1; shift; "$LIVEPOLL" -c "ipc://$E2E_TMP/$node.admin" --timeout 3s "$@"; }
declare -A WATCH
start_watch() {  # start_watch NODE G
  "$LIVEPOLL" -c "ipc://$E2E_TMP/$1.admin" watch t "g=$2" >"$E2E_TMP/w.$1.$2" 2>>"$E2E_TMP/watch.err" &
  WATCH[$1.$2]=$!
  E2E_PIDS+=("$!")
}
watching() { has_lines "$E2E_TMP/w.$1.$2" 1; }
owner_is() { [[ $(sub_json "$1" "$2" owner) == "$3" ]]; }
no_zombies() { lz "$1" zombies --exit-status >"$E2E_TMP/z.out" 2>&1; }
zombie_rows() { lz "$1" zombies "${@:2}" 2>/dev/null; }
has_zombie() {  # has_zombie NODE REASON TOPIC [OWNER]
  zombie_rows "$1" --reason "$2" | awk -F'\t' -v t="$3" -v o="${4:-}" \
    '$2 == t && (o == "" || $1 == o) { found = 1 } END { exit !found }'
}

# ---- a healthy cluster --------------------------------------------------------------------------
start_watch n1 1
wait_for 15 "n1's watcher of g=1" watching n1 1
for n in n2 n3; do start_watch "$n" 1; done
for n in n2 n3; do wait_for 15 "$n's watcher of g=1" watching "$n" 1; done
wait_for 10 "n1 owns t?g=1 everywhere" owner_is n3 "t?g=1" n1
wait_for 10 "no zombie in a healthy cluster" no_zombies n2
[[ ! -s $E2E_TMP/z.out ]] || cluster_fail "zombies printed: $(cat "$E2E_TMP/z.out")"

[[ $(lz n2 status | wc -l) -eq 3 ]] || cluster_fail "status has not one row per node: $(lz n2 status)"
pollers=$(lz n2 subs --json | jq -r 'select(.topic == "t?g=1") | .pollers')
[[ $pollers == n1 ]] || cluster_fail "subs --json | jq: pollers of t?g=1 are '$pollers', not n1"
polls=$(lz n3 subs --json | jq -r 'select(.topic == "t?g=1") | .polls')
[[ $polls =~ ^[0-9]+$ ]] || cluster_fail "n3 shows no polls of n1's poller: '$polls'"

code=0
lz n3 reap "t?g=1" "t?g=9" >"$E2E_TMP/reap.out" 2>&1 || code=$?
((code == 1)) || cluster_fail "reap of a healthy poller exited $code: $(cat "$E2E_TMP/reap.out")"
grep -q $'^n1\tt?g=1\trefused\t' "$E2E_TMP/reap.out" || cluster_fail "not refused: $(cat "$E2E_TMP/reap.out")"
grep -q $'\tt?g=9\tnot-found\t' "$E2E_TMP/reap.out" || cluster_fail "no not-found: $(cat "$E2E_TMP/reap.out")"
lz n3 reap --dry-run --force "t?g=1" | grep -q $'^n1\tt?g=1\twould-reap\tforced' ||
  cluster_fail "reap --dry-run --force does not say it would reap"
owner_is n1 "t?g=1" n1 || cluster_fail "a dry run changed the owner"

# ---- stalled: a query waits on a held write lock ----------------------------------------------
mkfifo "$E2E_TMP/lock.in"
sqlite3 "$db" <"$E2E_TMP/lock.in" >/dev/null 2>&1 &
lock_pid=$!
E2E_PIDS+=("$lock_pid")
exec 9>"$E2E_TMP/lock.in"
printf ".timeout 10000\nBEGIN EXCLUSIVE;\n" >&9  # waits out the pollers' reads
locked() { ! sqlite3 -cmd ".timeout 10" "$db" "SELECT count(*) FROM t" >/dev/null 2>&1; }
wait_for 10 "the write lock is held" locked
wait_for 15 "t?g=1 is a stalled zombie" has_zombie n2 stalled "t?g=1" n1
code=0
lz n2 zombies --exit-status >/dev/null || code=$?
((code == 1)) || cluster_fail "zombies --exit-status exited $code with a stalled poller"
lz n2 zombies --reason stalled | cut -f2 | lz n2 reap - >"$E2E_TMP/reap.out" ||
  cluster_fail "the reap pipeline failed: $(cat "$E2E_TMP/reap.out")"
grep -q $'^n1\tt?g=1\treaped\tstalled' "$E2E_TMP/reap.out" ||
  cluster_fail "the stalled poller was not reaped: $(cat "$E2E_TMP/reap.out")"
echo "COMMIT;" >&9
exec 9>&-
wait "$lock_pid" 2>/dev/null || true
wait_for 20 "no zombie once the lock is gone" no_zombies n1
sql "$db" "UPDATE t SET v = 'after-lock' WHERE g = 1"
for n in "${nodes[@]}"; do
  wait_for 15 "$n/g=1 sees the write after the stall" grep -q after-lock "$E2E_TMP/w.$n.1"
done

# ---- clash: a partition heals under clash_policy = manual -----------------------------------
start_watch n1 4
wait_for 15 "n1's watcher of g=4" watching n1 4
start_watch n2 4
wait_for 15 "n2's watcher of g=4" watching n2 4
wait_for 10 "n1 owns t?g=4" owner_is n2 "t?g=4" n1
lz n1 fault cut n2 n3 >/dev/null
for n in n2 n3; do lz "$n" fault cut n1 >/dev/null; done
wait_for 15 "n2 sees n1 dead" all_see dead n1 n2
wait_for 15 "n2 takes t?g=4 over on its side" owner_is n2 "t?g=4" n2
for n in "${nodes[@]}"; do lz "$n" fault heal >/dev/null; done
for n in "${nodes[@]}"; do wait_for 15 "$n sees n1 alive again" all_see alive n1 "$n"; done
wait_for 15 "t?g=4 is a clash zombie" has_zombie n3 clash "t?g=4" n2
# resolve decides from the replica of the node it talks to: wait until n3's own replica has
# both claims (a comeback's claims are believed once its transfer arrives; a request sent while
# n3 was still cut off is asked again after transfer_retry).
sees_clash() { [[ $(sub_json "$1" "$2" state) == clash ]]; }
wait_for 15 "n3's replica sees the clash on t?g=4" sees_clash n3 "t?g=4"
# Other topics may clash too (t?g=1 when the node that took it over after the stalled reap was
# cut off from n1's watcher). `resolve --all` plans from the clashes n3 sees, and a claimant
# releases only once its own replica shows the clash: wait until every node sees every clash.
sees_every_clash() {
  local t n
  for t in $(zombie_rows n1 --reason clash | cut -f2 | sort -u); do
    for n in "${nodes[@]}"; do sees_clash "$n" "$t" || return 1; done
  done
}
wait_for 15 "every node sees every clash" sees_every_clash
lz n3 resolve --all >"$E2E_TMP/resolve.out" || cluster_fail "resolve --all failed: $(cat "$E2E_TMP/resolve.out")"
grep -q $'^t?g=4\tn1@1\tn2@[0-9]*\treleased$' "$E2E_TMP/resolve.out" ||
  cluster_fail "resolve did not print g=4's winner and loser: $(cat "$E2E_TMP/resolve.out")"
wait_for 15 "no zombie after resolve" no_zombies n2
owner_is n2 "t?g=4" n1 || cluster_fail "n1 does not own t?g=4 after resolve"

# ---- a SIGSTOPped owner: failover, dead-owner, and a node that does not answer ---------------
start_watch n3 2
wait_for 15 "n3's watcher of g=2" watching n3 2
for n in n1 n2; do start_watch "$n" 2; done
for n in n1 n2; do wait_for 15 "$n's watcher of g=2" watching "$n" 2; done
start_watch n3 3
wait_for 15 "n3's watcher of g=3" watching n3 3
wait_for 10 "n3 owns t?g=2" owner_is n1 "t?g=2" n3
wait_for 10 "n3 owns t?g=3" owner_is n1 "t?g=3" n3
kill -STOP "${PID[n3]}"
code=0
lz n1 status >"$E2E_TMP/status.out" 2>"$E2E_TMP/status.err" || code=$?
((code == 4)) || cluster_fail "status with a stopped member exited $code, not 4"
grep -q '^livepoll: n3: no answer within' "$E2E_TMP/status.err" ||
  cluster_fail "status did not name n3: $(cat "$E2E_TMP/status.err")"
[[ $(wc -l <"$E2E_TMP/status.out") -eq 2 ]] || cluster_fail "status lacks the others: $(cat "$E2E_TMP/status.out")"
wait_for 15 "n1 sees n3 dead" all_see dead n3 n1
wait_for 10 "t?g=2 fails over" owner_is n1 "t?g=2" n1
wait_for 10 "t?g=2 fails over on n2" owner_is n2 "t?g=2" n1
wait_for 10 "t?g=3 is a dead-owner zombie" has_zombie n1 dead-owner "t?g=3" n3
has_zombie n1 dead-owner "t?g=2" && cluster_fail "t?g=2 was taken over but is listed as dead-owner"
lz n1 zombies --reason dead-owner | cut -f2 | lz n1 reap - >"$E2E_TMP/reap.out" ||
  cluster_fail "the dead-owner pipeline failed: $(cat "$E2E_TMP/reap.out")"
for n in n1 n2; do
  grep -q "^$n"$'\tt?g=3\treaped\tdead-owner' "$E2E_TMP/reap.out" ||
    cluster_fail "$n did not drop n3's claim: $(cat "$E2E_TMP/reap.out")"
done
has_zombie n2 dead-owner "t?g=3" && cluster_fail "t?g=3 is still a dead-owner zombie after reap"
lz n1 reap "t?g=3" >"$E2E_TMP/reap.out" || cluster_fail "a second reap failed: $(cat "$E2E_TMP/reap.out")"
grep -q $'\tt?g=3\tnot-found\t' "$E2E_TMP/reap.out" || cluster_fail "reap is not idempotent: $(cat "$E2E_TMP/reap.out")"
kill -CONT "${PID[n3]}"
echo "ok: zombies (stalled, clash, dead-owner), reap and resolve on real daemons"
