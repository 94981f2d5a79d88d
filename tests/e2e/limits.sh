#!/usr/bin/env bash
# The limits on what a client can make a daemon hold (livepoll.conf(5), LIMITS), against a real
# daemon and SQLite: a frame over max_message_size is dropped with its connection and the daemon
# serves on; a parameter over max_param_bytes is refused; a result over max_result_rows is an
# error update while the poller goes on, and a snapshot follows once the result fits again; the
# counters show in `livepoll stats`.
source "$(dirname "$0")/lib.sh"

db=$E2E_TMP/t.db
sql "$db" "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);
           WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 30)
           INSERT INTO t SELECT i, 'row ' || i FROM n;"
cat >"$E2E_TMP/livepolld.conf" <<CONF
[node]
max_message_size = 1MiB
max_result_bytes = 512KiB
max_result_rows = 20
max_param_bytes = 64
backoff_max = 300ms
[source.db]
plugin = soci
dsn = sqlite3://db=$db
[query.items]
source = db
sql = SELECT id, v FROM t ORDER BY id
key = id
interval = 100ms
[query.echo]
source = db
sql = SELECT :p AS p
params = p
interval = 1s
CONF
start_daemon "$E2E_TMP/livepolld.conf"

# A 64 MiB frame, written by hand in ZMTP 3.0 (greeting, READY as a DEALER, one long frame): the
# daemon's ZeroMQ closes the connection at the frame's header, before reading it.
python3 - "$E2E_TMP/client" >"$E2E_TMP/big.out" 2>&1 <<'PY' || fail "oversize frame: $(cat "$E2E_TMP/big.out")"
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x00" + b"NULL".ljust(20, b"\0") + b"\0" + b"\0" * 31)
greeting = b""
while len(greeting) < 64:
    chunk = s.recv(64 - len(greeting))
    if not chunk:
        sys.exit("closed during the greeting")
    greeting += chunk
prop = b"\x0bSocket-Type" + struct.pack(">I", 6) + b"DEALER"
body = b"\x05READY" + prop
s.sendall(bytes([0x04, len(body)]) + body)
size = 64 << 20
sent = 0
try:
    s.sendall(bytes([0x02]) + struct.pack(">Q", size))
    chunk = b"x" * (1 << 20)
    while sent < size:
        s.sendall(chunk)
        sent += len(chunk)
except (BrokenPipeError, ConnectionResetError) as e:
    print("dropped after %d of %d bytes: %s" % (sent, size, type(e).__name__))
    sys.exit(0)
sys.exit("the whole 64 MiB frame was taken (%d bytes sent)" % sent)
PY
grep -q "dropped after" "$E2E_TMP/big.out" || fail "not dropped: $(cat "$E2E_TMP/big.out")"
kill -0 "$DAEMON_PID" || fail "the daemon died of a 64 MiB frame"
"$LIVEPOLL" status >/dev/null || fail "the daemon does not answer after the oversize frame"

# A parameter over max_param_bytes: an error naming the limit, and no topic.
long=$(printf 'x%.0s' $(seq 100))
out=$E2E_TMP/long.out
if "$LIVEPOLL" watch echo "p=$long" --count 1 >"$out" 2>&1; then fail "a 100-byte parameter was accepted"; fi
grep -q "max_param_bytes" "$out" || fail "the refusal does not name the limit: $(cat "$out")"
"$LIVEPOLL" subs | grep -q echo && fail "a refused join made a topic: $("$LIVEPOLL" subs)"

# 30 rows over max_result_rows 20: an error update, the poller goes on; 10 rows: a snapshot.
"$LIVEPOLL" watch items --count 2 >"$E2E_TMP/w.out" 2>"$E2E_TMP/w.err" &
watcher=$!
E2E_PIDS+=("$watcher")
wait_for 10 "the error update" has_lines "$E2E_TMP/w.out" 1
first=$(sed -n 1p "$E2E_TMP/w.out")
[[ $(jq -r .kind <<<"$first") == error ]] || fail "first update is not an error: $first"
[[ $(jq -r .error <<<"$first") == "result too large (21 rows > max_result_rows 20)" ]] ||
  fail "error text: $first"
sleep 1
polls=$(subs_field items polls)
((polls >= 3)) || fail "the poller stopped polling: $polls polls"
sql "$db" "DELETE FROM t WHERE id > 10"
wait "$watcher" || fail "watch failed: $(cat "$E2E_TMP/w.err")"
second=$(sed -n 2p "$E2E_TMP/w.out")
[[ $(jq -r .kind <<<"$second") == snapshot ]] || fail "no snapshot once the result fits: $second"
[[ $(jq '.rows | length' <<<"$second") -eq 10 ]] || fail "snapshot rows: $second"

stat() { "$LIVEPOLL" stats --json | jq -r --arg n "$1" 'select(.name == $n) | .value'; }
(($(stat results_too_large) >= 1)) || fail "results_too_large: $(stat results_too_large)"
(($(stat joins_refused) == 1)) || fail "joins_refused: $(stat joins_refused)"
[[ -n $(stat slow_consumer_resets) ]] || fail "no slow_consumer_resets counter"
kill -0 "$DAEMON_PID" || fail "the daemon died"
echo "ok: oversize frame dropped, long parameter refused, too-large result an error then a snapshot"
