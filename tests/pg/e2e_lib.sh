# PostgreSQL helpers for the end-to-end tests tests/e2e/pg_*.sh; source it after tests/e2e/lib.sh.
# The server is the ctest fixture's (tests/pg/pg.sh, started by the test pg.start): its DSN is in
# $LIVEPOLL_TEST_PG_STATE/dsn. There is no skipping: without a server the test fails.
# Each test gets its own database lp_<random> (UTC, pg_stat_statements), dropped at exit.
: "${LIVEPOLL_TEST_PG_STATE:?set by tests/CMakeLists.txt (ctest fixture pg)}"
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_SH=${PG_SH:-$(dirname "${BASH_SOURCE[0]}")/pg.sh}

[[ -r $LIVEPOLL_TEST_PG_STATE/dsn ]] ||
  fail "no PostgreSQL: $LIVEPOLL_TEST_PG_STATE/dsn is missing (the fixture test pg.start must pass)"
PG_ADMIN_DSN=$(cat "$LIVEPOLL_TEST_PG_STATE/dsn")
PG_PORT=$(cat "$LIVEPOLL_TEST_PG_STATE/port")
"$PG_BIN/psql" "$PG_ADMIN_DSN connect_timeout=5" -qAtX -c "SELECT 1" >/dev/null 2>"$E2E_TMP/pg.err" ||
  fail "PostgreSQL at $PG_ADMIN_DSN does not answer: $(cat "$E2E_TMP/pg.err")"

# pg_at DSN SQL: runs SQL (several statements, stops at the first error), prints rows unaligned.
pg_at() { "$PG_BIN/psql" "$1" -v ON_ERROR_STOP=1 -qAtX -c "$2"; }

# pg_create_db: makes a fresh database for this test, sets PG_DB and PG_DSN (libpq syntax).
PG_DBS=()
pg_create_db() {
  PG_DB=lp_$(printf '%04x%04x%04x' "$RANDOM" "$RANDOM" "$RANDOM")
  pg_at "$PG_ADMIN_DSN" "CREATE DATABASE $PG_DB" || fail "CREATE DATABASE $PG_DB failed"
  PG_DBS+=("$PG_DB")
  pg_at "$PG_ADMIN_DSN" "ALTER DATABASE $PG_DB SET timezone = 'UTC'"
  PG_DSN="host=127.0.0.1 port=$PG_PORT user=postgres dbname=$PG_DB"
}

# pg SQL: runs SQL in this test's database (the test's stand-in for an application).
pg() { pg_at "$PG_DSN" "$1"; }

# Exit: end the processes first (lib.sh), then drop the databases (FORCE ends leftover sessions).
pg_e2e_cleanup() {
  local rc=$? db
  e2e_cleanup
  for db in "${PG_DBS[@]}"; do
    pg_at "$PG_ADMIN_DSN" "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  done
  return $rc
}
trap pg_e2e_cleanup EXIT
