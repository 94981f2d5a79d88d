#!/bin/sh
# Launcher for the gtest binary (tests/CMakeLists.txt makes it unit_tests' CROSSCOMPILING_EMULATOR,
# which gtest_discover_tests puts in front of every discovered test and of the discovery run).
# The fixture's server gets its port when the test run starts, so the DSN cannot be a static
# ENVIRONMENT property: this reads it from $LIVEPOLL_TEST_PG_STATE/dsn (written by pg.sh start)
# into LIVEPOLL_TEST_PG_DSN, then runs the test. Without a state folder (discovery at build time,
# a manual run) it just runs the command; a DSN already in the environment wins.
if [ -z "${LIVEPOLL_TEST_PG_DSN:-}" ] && [ -n "${LIVEPOLL_TEST_PG_STATE:-}" ]; then
  if [ -r "$LIVEPOLL_TEST_PG_STATE/dsn" ]; then
    LIVEPOLL_TEST_PG_DSN=$(cat "$LIVEPOLL_TEST_PG_STATE/dsn")
    export LIVEPOLL_TEST_PG_DSN
  else
    echo "with_pg_env: no PostgreSQL in $LIVEPOLL_TEST_PG_STATE (did the test pg.start pass?)" >&2
  fi
fi
exec "$@"
