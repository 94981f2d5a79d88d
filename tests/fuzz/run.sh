#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/, apart from the default build) and runs each
# for a bounded time, one process at a time, starting from its seed corpus and regression inputs.
#   tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]    (default: 60 s; envelope cluster topic config)
# Prints one line per target; exits 1 if any target found a crash, a leak, a timeout or an
# out-of-memory, after printing the input that caused it (keep it under tests/fuzz/regressions/).
# New inputs the fuzzer finds go to build-fuzz/fuzz/corpus/<target>, not into the repository.
# Environment: FUZZ_BUILD_DIR (build-fuzz), FUZZ_CC / FUZZ_CXX (clang-14 / clang++-14),
# FUZZ_JOBS (2, build jobs), FUZZ_RSS_MB (2048), FUZZ_TIMEOUT (10, seconds per input).
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(envelope cluster topic config)
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: tests/fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
  exit 2
fi

build=${FUZZ_BUILD_DIR:-build-fuzz}
mkdir -p "$build/fuzz"
log=$build/fuzz/build.log
echo "fuzz: building in $build (log: $log)"
# -O1 and no NDEBUG: fast enough, and assertions in headers stay on.
if ! { CC=${FUZZ_CC:-clang-14} CXX=${FUZZ_CXX:-clang++-14} cmake -S . -B "$build" \
         -DLIVEPOLL_FUZZ=ON -DLIVEPOLL_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
         -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" &&
       cmake --build "$build" -j"${FUZZ_JOBS:-2}" --target "${targets[@]/#/fuzz_}"; } >"$log" 2>&1; then
  tail -30 "$log" >&2
  echo "fuzz: the build failed; the whole log is $log" >&2
  exit 1
fi

failed=0
for t in "${targets[@]}"; do
  work=$build/fuzz/corpus/$t
  artifacts=$build/fuzz/artifacts/$t
  out=$build/fuzz/$t.log
  mkdir -p "$work" "$artifacts"
  rm -f "$artifacts"/*
  dirs=("$work" "tests/fuzz/corpus/$t")
  [[ -d tests/fuzz/regressions/$t ]] && dirs+=("tests/fuzz/regressions/$t")
  rc=0
  "$build/tests/fuzz/fuzz_$t" "${dirs[@]}" -max_total_time="$seconds" \
    -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -timeout="${FUZZ_TIMEOUT:-10}" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 >"$out" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1)
  time=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out" | tail -1)
  corpus=$(find "$work" -type f | wc -l)
  mapfile -t found < <(find "$artifacts" -type f | sort)
  printf 'fuzz_%-8s %10s executions in %ss (%s/s), %d crashes, %d inputs in its corpus\n' \
    "$t" "${execs:-?}" "$seconds" "${time:-?}" "${#found[@]}" "$corpus"
  if ((rc != 0 || ${#found[@]})); then
    failed=1
    grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|fuzz_[a-z]+: )' "$out" | sed 's/^/  /' || true
    for f in "${found[@]}"; do echo "  input: $f"; done
    ((${#found[@]})) || echo "  exit status $rc, no input saved; see $out"
    echo "  log: $out (replay: $build/tests/fuzz/fuzz_$t INPUT)"
  fi
done
exit "$failed"
