#!/usr/bin/env bash
# Sets up (Debian 12 packages, build) and runs every test: unit, in-process integration and
# end-to-end tests with real processes, sockets, SQLite files, PostgreSQL and plugins.
set -euo pipefail
cd "$(dirname "$0")"
.ci/setup.sh
# ctest's fixture (tests/pg/pg.sh, pg.start/pg.stop) runs a throwaway PostgreSQL for the tests;
# stop it however this script ends, so an interrupted run leaves no server behind.
build_dir=$(sed -n "s/^CMAKE_CACHEFILE_DIR:INTERNAL=//p" "${BUILD_DIR:-build}/CMakeCache.txt")
pg_state=${build_dir:-$(cd "${BUILD_DIR:-build}" && pwd)}/pg-test  # as in tests/CMakeLists.txt
pg_stop() { bash tests/pg/pg.sh stop "$pg_state" >/dev/null 2>&1 || true; }
trap pg_stop EXIT
# ctest runs in the background, in its own process group (set -m), so that a signal is handled at
# once and ends ctest with the tests and daemons it started, not after the whole run.
ctest_pid=
on_signal() {
  if [[ -n $ctest_pid ]]; then
    kill -TERM -- "-$ctest_pid" 2>/dev/null || true
    wait "$ctest_pid" 2>/dev/null || true
  fi
  exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
set -m
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" --timeout 300 &
set +m
ctest_pid=$!
wait "$ctest_pid"
