#!/usr/bin/env bash
# `livepolld --demo` on PostgreSQL: the demo creates its table there through the postgres plugin,
# serves its catalog and changes the data, exactly as on SQLite.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../pg/e2e_lib.sh"

pg_create_db
"$LIVEPOLLD" --demo --ws-bind off --demo-plugin postgres --demo-dsn "$PG_DSN" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" \
  --admin-bind "$ADMIN" --client-bind "$CLIENT" >"$E2E_TMP/daemon.log" 2>&1 &
DAEMON_PID=$!
E2E_PIDS+=("$DAEMON_PID")
daemon_up() { "$LIVEPOLL" --timeout 200ms status >/dev/null 2>&1; }
wait_for 15 "the demo daemon" daemon_up

[[ $(pg "SELECT COUNT(*) FROM orders") -ge 30 ]] || fail "the demo did not seed PostgreSQL"
out=$("$LIVEPOLL" watch revenue_by_region --count 1)
[[ $(jq -r '[.rows[].region] | join(",")' <<<"$out") == "apac,eu,us" ]] || fail "revenue_by_region: $out"
[[ $(jq -r '.rows[0].orders | type' <<<"$out") == number ]] || fail "COUNT(*) is not a number: $out"
[[ $(jq -r '.rows[0].revenue | type' <<<"$out") == number ]] || fail "ROUND(...) is not a number: $out"

"$LIVEPOLL" watch recent_orders region=us --count 2 >"$E2E_TMP/w.out" &
E2E_PIDS+=($!)
wait_for 30 "a change in the demo data" has_lines "$E2E_TMP/w.out" 2
[[ $(sed -n 2p "$E2E_TMP/w.out" | jq -r .kind) == diff ]] || fail "not a diff: $(cat "$E2E_TMP/w.out")"
grep -q "demo database: .*(postgres)" "$E2E_TMP/daemon.log" || fail "the demo did not use postgres"
echo "ok: the demo runs on PostgreSQL"
