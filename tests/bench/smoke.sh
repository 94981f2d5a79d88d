#!/usr/bin/env bash
# Runs one benchmark script in its smoke mode (BENCH_SMOKE=1: tiny loads for seconds) and fails
# when it fails or when its report holds a figure that could not be read (lib.sh: report). The
# test command runs every benchmark so (tests/bench/CMakeLists.txt: bench.smoke.*), so that a
# change of the CLI's output breaks the test run rather than the README's figures.
#
#   tests/bench/smoke.sh SCRIPT BUILD_DIR [ARGS...]
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
script=$1 build=$2
shift 2
out=$(mktemp /tmp/lp-bench-smoke.XXXXXX)
trap 'rm -f "$out"' EXIT
BENCH_SMOKE=1 bash "$here/$script" "$build" "$@" >"$out"
rc=$?
report <"$out" || rc=1  # prints the report too, for the test log
[ "$rc" = 0 ] || echo "smoke: $script failed (status $rc)" >&2
exit "$rc"
