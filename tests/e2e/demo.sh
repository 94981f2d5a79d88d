#!/usr/bin/env bash
# `livepolld --demo` serves its built-in catalog over a changing SQLite database: every demo query
# answers, and the data changes on its own.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/cluster_lib.sh"  # free_port: the gateway's (the demo's default, 4480, may be taken)

ws_port=$(free_port)

"$LIVEPOLLD" --demo --demo-db "$E2E_TMP/demo.db" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" --ws-bind "127.0.0.1:$ws_port" \
  --admin-bind "$ADMIN" --client-bind "$CLIENT" >"$E2E_TMP/daemon.log" 2>&1 &
DAEMON_PID=$!
E2E_PIDS+=("$DAEMON_PID")
daemon_up() { "$LIVEPOLL" --timeout 200ms status >/dev/null 2>&1; }
wait_for 10 "the demo daemon" daemon_up
grep -q "web page at http://127.0.0.1:$ws_port/" "$E2E_TMP/daemon.log" || fail "no web page URL logged"
curl -sf "http://127.0.0.1:$ws_port/" | grep -qi "<html" || fail "the demo's gateway serves no page"

queries=$("$LIVEPOLL" queries | cut -f1 | sort | tr '\n' ' ')
[[ $queries == "recent_orders region_revenue revenue_by_region top_products " ]] ||
  fail "unexpected demo catalog: $queries"
[[ $("$LIVEPOLL" queries --json | jq -r 'select(.name == "region_revenue") | .params') == region ]] ||
  fail "region_revenue should take a region"

out=$("$LIVEPOLL" watch revenue_by_region --count 1)
[[ $(jq -r '[.rows[].region] | join(",")' <<<"$out") == "apac,eu,us" ]] || fail "revenue_by_region: $out"
[[ $(jq -r '.rows[0].orders | type' <<<"$out") == number ]] || fail "COUNT(*) is not a number: $out"
out=$("$LIVEPOLL" watch region_revenue region=eu --count 1)
[[ $(jq -r '.rows[0].region' <<<"$out") == eu ]] || fail "region_revenue: $out"

# The writer changes the data every second: a watcher sees a change within a few seconds.
"$LIVEPOLL" watch recent_orders region=eu --count 2 >"$E2E_TMP/w.out" &
w=$!
E2E_PIDS+=("$w")
wait_for 30 "a change in the demo data" has_lines "$E2E_TMP/w.out" 2
[[ $(sed -n 2p "$E2E_TMP/w.out" | jq -r .kind) == diff ]] || fail "not a diff: $(cat "$E2E_TMP/w.out")"
echo "ok: the demo serves and changes"
