#!/usr/bin/env bash
# systemd's notify protocol for real (daemon/service_notify.h): a unix datagram socket plays the
# manager (tests/tools/notify_listener.py) and livepolld runs with NOTIFY_SOCKET and WATCHDOG_USEC
# pointing at it, as a Type=notify unit with WatchdogSec=2 would. Checked: READY=1 comes once the
# endpoints answer, with a STATUS= line; STATUS= follows a change (a watcher); WATCHDOG=1 every
# second (half the period), from the event loop: none while the process is stopped (SIGSTOP),
# again after SIGCONT; STOPPING=1 on SIGTERM. A cluster node whose seed never answers is ready
# as a cluster of one. A watchdog meant for another process (WATCHDOG_PID) is not fed; without
# NOTIFY_SOCKET nothing is sent (the other tests).
source "$(dirname "$0")/lib.sh"
: "${LIVEPOLL_SOURCE_DIR:?}"

listener=$LIVEPOLL_SOURCE_DIR/tests/tools/notify_listener.py
now() { date +%s.%N; }
# times_of FILE PATTERN: the arrival times of the datagrams matching PATTERN.
times_of() { awk -v p="$2" '$0 ~ p { print $1 }' "$1"; }

# start_notified NAME [ENV...]: livepolld --demo (and DAEMON_ARGS) under a listener of its own;
# sets PID, OUT, LOG.
DAEMON_ARGS=()
start_notified() {
  local name=$1; shift
  OUT=$E2E_TMP/$name.notify LOG=$E2E_TMP/$name.log
  local sock=$E2E_TMP/$name.sock
  : >"$OUT"
  # At READY=1, what a unit ordered after livepolld would do: the daemon must have logged its bound
  # endpoints (after Bind) and answer `livepoll status`.
  python3 "$listener" "$sock" "$OUT" --on-ready bash -c \
    "grep -q 'clients at' '$LOG' && '$LIVEPOLL' --timeout 1s status" &
  E2E_PIDS+=($!)
  wait_for 5 "the listener's socket" test -S "$sock"
  env NOTIFY_SOCKET="$sock" "$@" "$LIVEPOLLD" --demo --demo-db "$E2E_TMP/$name.db" \
    --plugin-dir "$LIVEPOLL_PLUGIN_DIR" --admin-bind "$ADMIN" --client-bind "$CLIENT" \
    "${DAEMON_ARGS[@]}" >"$LOG" 2>&1 &
  PID=$!
  E2E_PIDS+=("$PID")
}

# ---- WatchdogSec=2: READY, STATUS, WATCHDOG every second, SIGSTOP, STOPPING ----
start_notified main WATCHDOG_USEC=2000000
wait_for 15 "READY=1" grep -q 'READY=1' "$OUT"
wait_for 5 "the check at READY" grep -q ' ON_READY ' "$OUT"
grep -q ' ON_READY rc=0$' "$OUT" ||
  fail "at READY=1 the daemon had not logged its endpoints or did not answer: $(cat "$OUT")"
first=$(head -1 "$OUT")
[[ $first == *READY=1* ]] || fail "something came before READY=1: $first"
[[ $first =~ STATUS=standalone:\ [0-9]+\ topics,\ [0-9]+\ subscribers,\ no\ source\ failing ]] ||
  fail "READY=1 without the expected STATUS=: $first"

# A watcher: the next STATUS= says 1 subscriber (sent within about a second of the change).
"$LIVEPOLL" watch top_products >"$E2E_TMP/watch.out" 2>&1 &
watcher=$!
E2E_PIDS+=("$watcher")
wait_for 10 "a STATUS= with the watcher" grep -q 'STATUS=standalone: 1 topics, 1 subscribers' "$OUT"
kill "$watcher"

# Watchdog pings for 5 s: every gap between 0.5 and 1.9 s (the promise: one per second, and never
# close to the 2 s period).
sleep 5
mapfile -t pings < <(times_of "$OUT" 'WATCHDOG=1')
((${#pings[@]} >= 5)) || fail "only ${#pings[@]} WATCHDOG=1 in more than 5 s: $(cat "$OUT")"
gaps=$(printf '%s\n' "${pings[@]}" | awk 'NR > 1 { printf "%.3f\n", $1 - prev } { prev = $1 }')
bad=$(awk '$1 < 0.5 || $1 > 1.9' <<<"$gaps")
[[ -z $bad ]] || fail "WATCHDOG=1 gaps out of [0.5, 1.9] s: $(tr '\n' ' ' <<<"$gaps")"
echo "watchdog gaps (s): $(tr '\n' ' ' <<<"$gaps")"

# SIGSTOP: the event loop stands still, so must the pings (a systemd would restart the unit).
kill -STOP "$PID"
stopped=$(now)
sleep 4
resumed=$(now)
kill -CONT "$PID"
during=$(times_of "$OUT" 'WATCHDOG=1' | awk -v a="$stopped" -v b="$resumed" '$1 > a + 0.3 && $1 < b')
[[ -z $during ]] || fail "WATCHDOG=1 while the process was stopped, at: $during"
wait_for 5 "WATCHDOG=1 after SIGCONT" bash -c \
  "awk -v b=$resumed '/WATCHDOG=1/ && \$1 > b { found = 1 } END { exit !found }' '$OUT'"

# SIGTERM: STOPPING=1, then a clean exit.
kill -TERM "$PID"
status=0
wait "$PID" || status=$?
((status == 0)) || fail "livepolld exited $status after SIGTERM"
wait_for 5 "STOPPING=1" grep -q 'STOPPING=1' "$OUT"
after=$(awk '/STOPPING=1/ { s = 1; next } s && /WATCHDOG=1|READY=1/' "$OUT")
[[ -z $after ]] || fail "pings after STOPPING=1: $after"

# ---- a watchdog for another process (WATCHDOG_PID): READY=1, but no WATCHDOG=1 ----
start_notified other WATCHDOG_USEC=1000000 WATCHDOG_PID=1
wait_for 15 "READY=1" grep -q 'READY=1' "$OUT"
sleep 2
grep -q 'WATCHDOG=1' "$OUT" && fail "fed a watchdog meant for pid 1: $(cat "$OUT")"
kill -TERM "$PID"
wait "$PID" || fail "livepolld exited $? after SIGTERM"

# ---- a cluster node whose seed never answers: READY=1 at once, as a cluster of one ----
# (it serves its own clients from Start; waiting for seeds that may be waiting for it would
# deadlock nodes started together: livepolld(8), SYSTEMD)
DAEMON_ARGS=(--name n1 --gossip-bind 'tcp://127.0.0.1:*' --rpc-bind 'tcp://127.0.0.1:*'
  --join tcp://127.0.0.1:9)
start_notified cluster
wait_for 15 "READY=1" grep -q 'READY=1' "$OUT"
wait_for 5 "the check at READY" grep -q ' ON_READY ' "$OUT"
grep -q ' ON_READY rc=0$' "$OUT" || fail "cluster node: at READY=1 it did not answer: $(cat "$OUT")"
grep -m1 'READY=1' "$OUT" | grep -qE 'STATUS=cluster: 1/1 members up, [0-9]+ topics' ||
  fail "cluster node: READY=1 without its members in STATUS=: $(cat "$OUT")"
kill -TERM "$PID"
wait "$PID" || fail "livepolld exited $? after SIGTERM"
wait_for 5 "STOPPING=1" grep -q 'STOPPING=1' "$OUT"
echo "PASS"
