#!/usr/bin/env bash
# Under systemd (stderr is the journal stream JOURNAL_STREAM names), livepolld writes journald's
# priority prefixes and no time of its own, so `journalctl -p warning` filters its lines; with the
# variable naming another stream (a child whose stderr was redirected), it keeps its own format.
source "$(dirname "$0")/lib.sh"

answers() { "$LIVEPOLL" --timeout 200ms status >/dev/null 2>&1; }
log=$E2E_TMP/journal.log
: >"$log"
# The stream is the log file: JOURNAL_STREAM holds its device and inode, as systemd sets them.
JOURNAL_STREAM=$(stat -c '%d:%i' "$log") "$LIVEPOLLD" --demo --ws-bind off --plugin-dir "$LIVEPOLL_PLUGIN_DIR" \
  --admin-bind "$ADMIN" --client-bind "$CLIENT" 2>>"$log" &
pid=$!
E2E_PIDS+=("$pid")
wait_for 10 "the daemon answers" answers
kill -TERM "$pid"
wait "$pid" || fail "livepolld exited with $? after SIGTERM"
[[ -s $log ]] || fail "nothing logged"
bad=$(grep -vE '^<[2-7]>\[[a-z_.-]+\] ' "$log" || true)
[[ -z $bad ]] || fail "lines without a journal priority prefix: $bad"
grep -qE '^<6>\[livepolld\] ' "$log" || fail "no info line: $(head -3 "$log")"
if grep -qE '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z' "$log"; then
  fail "the daemon stamped its own time: $(head -3 "$log")"
fi

# JOURNAL_STREAM inherited, stderr elsewhere: its usual lines, time first.
other=$E2E_TMP/other.log
JOURNAL_STREAM=$(stat -c '%d:%i' "$log") "$LIVEPOLLD" --demo --ws-bind off --plugin-dir "$LIVEPOLL_PLUGIN_DIR" \
  --admin-bind "$ADMIN" --client-bind "$CLIENT" 2>"$other" &
pid=$!
E2E_PIDS+=("$pid")
wait_for 10 "the daemon answers" answers
kill -TERM "$pid"
wait "$pid" || true
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z info' "$other" || fail "own format lost: $(head -3 "$other")"
grep -q '^<' "$other" && fail "journal prefixes on a plain stream"
echo "PASS"
