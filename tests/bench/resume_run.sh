#!/usr/bin/env bash
# Resume benchmark (issue 13, PROTOCOL.md "Sessions and resume"). Prints a markdown report of:
#  1. a `livepoll watch` across kill -9 and an immediate restart of its standalone daemon: the time
#     from the kill to its next line (a snapshot: a new process has no history);
#  2. a `livepoll watch -c A,B,C` whose cluster node (not the topic's owner) is killed: the time
#     from the kill to its next line, and the updates it lost (those a watcher on the owner got,
#     after the moving watcher's last line before the kill, that it never printed: must be 0);
#  3. the bytes a resume within the history costs against a fresh snapshot, 1,000 rows
#     (resume_bench).
# A writer commits a change every 100 ms throughout; queries poll every 100 ms.
#
#   tests/bench/resume_run.sh [BUILD_DIR] [TRIALS]      (defaults: build, 5)
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"  # now_ms, free_port

BUILD=${1:-build}
TRIALS=${2:-5}
smoke && TRIALS=1  # BENCH_SMOKE=1: one trial, to check the script
LIVEPOLLD=$BUILD/daemon/livepolld
LIVEPOLL=$BUILD/cmd/livepoll
RESUME_BENCH=$BUILD/tests/bench/resume_bench
PLUGINS=$BUILD/plugins/lib
for f in "$LIVEPOLLD" "$LIVEPOLL" "$RESUME_BENCH" "$PLUGINS/soci.so"; do
  [ -e "$f" ] || { echo "resume_run.sh: missing $f" >&2; exit 2; }
done
command -v jq >/dev/null && command -v sqlite3 >/dev/null || { echo "resume_run.sh: needs jq and sqlite3" >&2; exit 2; }

TMP=$(mktemp -d /tmp/lp-rsbench.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ -n "${RSB_KEEP:-}" ]; then mkdir -p "$RSB_KEEP" && cp -r "$TMP"/. "$RSB_KEEP"/ 2>/dev/null || true; fi
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() { echo "resume_run.sh: $*" >&2; exit 1; }

db=$TMP/bench.db
sqlite3 "$db" "CREATE TABLE items(id INTEGER PRIMARY KEY, qty INTEGER, label TEXT);
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
  INSERT INTO items SELECT i, 0, 'item number ' || i FROM n;"
cat >"$TMP/node.conf" <<EOF
[source.db]
plugin = soci
dsn = sqlite3://db=$db
[query.few]
source = db
sql = SELECT id, qty FROM items WHERE id <= 3
key = id
interval = 100ms
[query.all]
source = db
sql = SELECT id, qty, label FROM items
key = id
interval = 100ms
EOF
( while :; do sqlite3 -cmd ".timeout 5000" "$db" "UPDATE items SET qty = qty + 1 WHERE id = 1"; sleep 0.1; done ) &
PIDS+=($!)

lines() { wc -l <"$1" 2>/dev/null || echo 0; }
# next_line_ms FILE BEFORE T0: ms from T0 until FILE has more than BEFORE lines (30 s at most).
next_line_ms() {
  local deadline=$(($(now_ms) + 30000))
  while (($(lines "$1") <= $2)); do (($(now_ms) < deadline)) || { echo timeout; return; }; sleep 0.005; done
  echo $(($(now_ms) - $3))
}
pct() { sort -n | awk -v p="$1" '{a[NR] = $1} END {i = int((NR - 1) * p + 0.5) + 1; print a[i]}'; }

# ---- 1. standalone: kill -9 and restart ----
start_solo() {
  "$LIVEPOLLD" --config "$TMP/node.conf" --plugin-dir "$PLUGINS" --name solo \
    --admin-bind "ipc://$TMP/solo.admin" --client-bind "ipc://$TMP/solo.client" >>"$TMP/solo.log" 2>&1 &
  SOLO=$!
  PIDS+=("$SOLO")
}
start_solo
for _ in $(seq 100); do "$LIVEPOLL" -c "ipc://$TMP/solo.admin" --timeout 200ms status >/dev/null 2>&1 && break; sleep 0.05; done
"$LIVEPOLL" -c "ipc://$TMP/solo.admin" watch few >"$TMP/solo.out" 2>"$TMP/solo.err" &
PIDS+=($!)
sleep 1
solo_ms=()
for t in $(seq "$TRIALS"); do
  before=$(lines "$TMP/solo.out")
  t0=$(now_ms)
  kill -9 "$SOLO"; wait "$SOLO" 2>/dev/null
  start_solo
  solo_ms+=("$(next_line_ms "$TMP/solo.out" "$before" "$t0")")
  sleep 1
done
kill "$SOLO" 2>/dev/null; wait "$SOLO" 2>/dev/null

# ---- 2. a cluster: the watcher's node dies ----
start_node() {  # start_node NAME SEED...
  local name=$1; shift
  local seeds=() s
  for s in "$@"; do seeds+=("127.0.0.1:${RPC[$s]}"); done
  "$LIVEPOLLD" --config "$TMP/node.conf" --plugin-dir "$PLUGINS" --name "$name" \
    --admin-bind "ipc://$TMP/$name.admin" --client-bind "ipc://$TMP/$name.client" \
    --gossip-bind "tcp://127.0.0.1:${GOSSIP[$name]}" --rpc-bind "tcp://127.0.0.1:${RPC[$name]}" \
    --join "$(IFS=,; echo "${seeds[*]}")" >>"$TMP/$name.log" 2>&1 &
  PID[$name]=$!
  PIDS+=($!)
}
lp() { local node=$1; shift; "$LIVEPOLL" -c "ipc://$TMP/$node.admin" --timeout 500ms "$@"; }
three_alive() { [ "$(lp "$1" members 2>/dev/null | awk -F'\t' '$5 == "alive"' | wc -l)" -eq 3 ]; }
declare -A PID RPC GOSSIP W
fail_ms=()
lost=()
for t in $(seq "$TRIALS"); do
  for n in n1 n2 n3; do GOSSIP[$n]=$(free_port); RPC[$n]=$(free_port); done
  start_node n1 n2 n3; start_node n2 n1 n3; start_node n3 n1 n2
  for n in n1 n2 n3; do
    for _ in $(seq 100); do three_alive "$n" && break; sleep 0.1; done
  done
  rm -f "$TMP"/w.* "$TMP/moving.out"
  for n in n2 n3; do lp "$n" watch few >"$TMP/w.$n" 2>/dev/null & PIDS+=($!); W[$n]=$!; done
  for _ in $(seq 100); do (($(lines "$TMP/w.n2") > 0 && $(lines "$TMP/w.n3") > 0)) && break; sleep 0.1; done
  owner=$(lp n2 subs --json 2>/dev/null | jq -r 'select(.topic == "few") | .owner' | head -1)
  victim=n1; [ "$owner" != n1 ] || victim=n3
  next=n2
  "$LIVEPOLL" -c "ipc://$TMP/$victim.admin,ipc://$TMP/$next.admin,ipc://$TMP/$owner.admin" \
    watch few >"$TMP/moving.out" 2>"$TMP/moving.$t.err" &
  moving=$!; PIDS+=($!)
  sleep 1.5
  before=$(lines "$TMP/moving.out")
  last_before=$(tail -1 "$TMP/moving.out" | jq -c '[.epoch, .seq]')
  t0=$(now_ms)
  kill -9 "${PID[$victim]}"
  fail_ms+=("$(next_line_ms "$TMP/moving.out" "$before" "$t0")")
  sleep 1.5
  ref=$TMP/w.$owner; [ -s "$ref" ] || ref=$TMP/w.$next
  # Updates of the reference after the moving watcher's last line before the kill, up to its own
  # last line, that it did not print.
  last_after=$(tail -1 "$TMP/moving.out" | jq -c '[.epoch, .seq]')
  lost+=("$(jq -s --argjson a "$last_before" --argjson b "$last_after" --slurpfile m "$TMP/moving.out" '
      [.[] | [.epoch, .seq] | select(. > $a and . <= $b)] - [$m[] | [.epoch, .seq]] | length' "$ref")")
  kill "$moving" "${W[n2]}" "${W[n3]}" 2>/dev/null
  for n in n1 n2 n3; do kill -KILL "${PID[$n]}" 2>/dev/null; wait "${PID[$n]}" 2>/dev/null; done
  wait "$moving" "${W[n2]}" "${W[n3]}" 2>/dev/null
  grep -q "resumed through" "$TMP/moving.$t.err" || echo "resume_run.sh: trial $t did not resume: $(cat "$TMP/moving.$t.err")" >&2
done

# ---- 3. resume against snapshot, 1,000 rows ----
start_solo
for _ in $(seq 100); do "$LIVEPOLL" -c "ipc://$TMP/solo.admin" --timeout 200ms status >/dev/null 2>&1 && break; sleep 0.05; done
cost=$("$RESUME_BENCH" "ipc://$TMP/solo.client" all 5) || die "resume_bench failed"

echo "## Resume ($(date -u +%Y-%m-%d), $TRIALS trials, $(nproc) cores)"
echo
echo "| what | p50 | max | each |"
echo "| --- | --- | --- | --- |"
echo "| standalone kill -9 + restart → watcher's next line (ms) | $(printf '%s\n' "${solo_ms[@]}" | pct 0.5) | $(printf '%s\n' "${solo_ms[@]}" | pct 1) | ${solo_ms[*]} |"
echo "| cluster node kill -9 → watcher's next line via the next endpoint (ms) | $(printf '%s\n' "${fail_ms[@]}" | pct 0.5) | $(printf '%s\n' "${fail_ms[@]}" | pct 1) | ${fail_ms[*]} |"
echo "| updates lost across the failover | $(printf '%s\n' "${lost[@]}" | pct 0.5) | $(printf '%s\n' "${lost[@]}" | pct 1) | ${lost[*]} |"
echo
echo "Resume within the history against a fresh snapshot (1,000 rows, 5 updates missed): \`$cost\`"
