#!/usr/bin/env bash
# After `cmake --install`, the installed programs find the installed plugins with no flag or
# environment variable, and the man pages and plugin header are in their places.
source "$(dirname "$0")/lib.sh"
: "${LIVEPOLL_BUILD_DIR:?}"

prefix=$E2E_TMP/prefix
cmake --install "$LIVEPOLL_BUILD_DIR" --prefix "$prefix" >"$E2E_TMP/install.log" 2>&1 ||
  fail "cmake --install failed: $(cat "$E2E_TMP/install.log")"
for f in bin/livepolld bin/livepoll lib/livepoll/plugins/soci.so include/livepoll/source.h \
  share/man/man1/livepoll.1 share/man/man8/livepolld.8 share/man/man5/livepoll.conf.5 \
  share/man/man7/livepoll-source.7 share/bash-completion/completions/livepoll; do
  [[ -e $prefix/$f ]] || fail "not installed: $f"
done

# No --plugin-dir, and LIVEPOLL_PLUGIN_PATH unset: the install's own plugin folder is used.
env -u LIVEPOLL_PLUGIN_PATH "$prefix/bin/livepolld" --demo --demo-db "$E2E_TMP/demo.db" --ws-bind off \
  --admin-bind "$ADMIN" --client-bind "$CLIENT" >"$E2E_TMP/daemon.log" 2>&1 &
DAEMON_PID=$!
E2E_PIDS+=("$DAEMON_PID")
LIVEPOLL=$prefix/bin/livepoll
daemon_up() { "$LIVEPOLL" --timeout 200ms status >/dev/null 2>&1; }
wait_for 10 "the installed daemon" daemon_up
grep -qF "from $prefix/lib/livepoll/plugins/soci.so" "$E2E_TMP/daemon.log" ||
  fail "the installed daemon did not load the installed plugin"
out=$("$LIVEPOLL" watch top_products --count 1)
[[ $(jq -r .kind <<<"$out") == snapshot ]] || fail "installed watch: $out"

# SIGTERM: a clean stop, exit status 0.
kill -TERM "$DAEMON_PID"
status=0
wait "$DAEMON_PID" || status=$?
[[ $status -eq 0 ]] || fail "livepolld exited $status after SIGTERM"
grep -q "stopping" "$E2E_TMP/daemon.log" || fail "no clean stop logged"
echo "ok: the installed programs find their plugins; SIGTERM stops cleanly"
