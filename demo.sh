#!/usr/bin/env bash
# Sets up (Debian 12 packages, build), starts `livepolld --demo` and shows its live updates through
# `livepoll watch`, until interrupted (Ctrl-C). The daemon stops with it.
# LIVEPOLL_DEMO_QUERY picks what to watch (default revenue_by_region; try
# "recent_orders region=eu" or top_products). The demo's WebSocket gateway and live page listen on
# 127.0.0.1:4480 (LIVEPOLL_DEMO_WS_PORT picks another port).
set -euo pipefail
cd "$(dirname "$0")"
.ci/setup.sh livepolld livepoll soci_plugin  # what the demo runs; ./test.sh builds the rest
build=${BUILD_DIR:-build}
run=$(mktemp -d /tmp/livepoll-demo-XXXXXX)
admin="ipc://$run/admin"
ws=127.0.0.1:${LIVEPOLL_DEMO_WS_PORT:-4480}
"$build/daemon/livepolld" --demo --admin-bind "$admin" --client-bind "ipc://$run/client" --ws-bind "$ws" \
  2>"$run/livepolld.log" &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null; rm -rf "$run"' EXIT
export LIVEPOLL_CONNECT=$admin
for _ in $(seq 1 50); do "$build/cmd/livepoll" --timeout 200ms status >/dev/null 2>&1 && break; sleep 0.1; done
echo "== livepolld --demo is running (log: $run/livepolld.log)."
echo "== The live page: http://$ws/   (Phoenix Channels V2 at ws://$ws/socket/websocket?vsn=2.0.0)"
echo "== The catalog:"
"$build/cmd/livepoll" queries --header
echo
read -r -a what <<<"${LIVEPOLL_DEMO_QUERY:-revenue_by_region}"
cat <<EOF
== Try next, in another terminal (LIVEPOLL_CONNECT=$admin):
   $build/cmd/livepoll subs                  who watches what, and the poller of each topic
   $build/cmd/livepoll watch recent_orders region=eu
   a second node, a cluster: README.md, "A cluster"; every command: $build/cmd/livepoll --help

EOF
echo "== livepoll watch ${what[*]}   (a snapshot, then a diff whenever the data changes; Ctrl-C stops)"
"$build/cmd/livepoll" watch "${what[@]}"
