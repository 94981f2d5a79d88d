#!/usr/bin/env bash
# A plugin that breaks the ABI (tests/fixtures/hostile.c: a text value of SIZE_MAX bytes, which no
# string can hold) fails its polls with a clear error; the daemon lives on and keeps serving.
source "$(dirname "$0")/lib.sh"
: "${LIVEPOLL_BUILD_DIR:?}"

plugin=$LIVEPOLL_BUILD_DIR/tests/fixtures/hostile.so
[[ -f $plugin ]] || fail "no $plugin: build the livepoll_fixture_plugins target"
cat >"$E2E_TMP/livepolld.conf" <<CONF
[source.bad]
plugin = $plugin
dsn = test
[query.huge]
source = bad
sql = huge text
interval = 100ms
[query.fine]
source = bad
sql = ok
interval = 100ms
CONF
start_daemon "$E2E_TMP/livepolld.conf"

"$LIVEPOLL" watch huge --count 1 >"$E2E_TMP/huge.out" || fail "watch huge failed"
[[ $(jq -r .kind "$E2E_TMP/huge.out") == error ]] || fail "no error line: $(cat "$E2E_TMP/huge.out")"
# The value's claimed length is over max_result_bytes: refused before anything is copied.
jq -r .error "$E2E_TMP/huge.out" | grep -q "result too large (over 8388608 bytes > max_result_bytes" ||
  fail "error text: $(cat "$E2E_TMP/huge.out")"
sleep 0.5  # several failed polls
kill -0 "$DAEMON_PID" || fail "the daemon died"
"$LIVEPOLL" watch fine --count 1 >"$E2E_TMP/fine.out" || fail "watch fine failed"
[[ $(jq -r .kind "$E2E_TMP/fine.out") == snapshot ]] || fail "fine: $(cat "$E2E_TMP/fine.out")"
echo "ok: the hostile plugin's poll fails with a clear error and the daemon serves on"
