#!/usr/bin/env bash
# Installs what livepoll needs from Debian 12's packages (only what is missing), then configures
# and builds it in ./build. Idempotent: a second run installs nothing and rebuilds only changes.
# Used by ./demo.sh and ./test.sh; BUILD_DIR and CMAKE_BUILD_TYPE may be set.
#   .ci/setup.sh [TARGET...]     only those targets (the demo's: livepolld livepoll soci_plugin,
#                                under 2 minutes on 2 cores where everything, tests included, takes 6)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config                        # toolchain
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libboost-dev  # transport and codec
  libboost-program-options-dev libspdlog-dev              # options and logging
  libsodium-dev nlohmann-json3-dev                        # client tokens (lib/auth)
  libsoci-dev libsqlite3-dev                              # the soci plugin, the demo
  libsystemd-dev                                          # sd_notify: Type=notify, the watchdog
  libpqxx-dev libpq-dev                                   # the postgres plugin
  libgtest-dev libgmock-dev                               # unit tests
  sqlite3 jq groff-base make procps                       # end-to-end tests and man page lint
  python3 python3-jwt                                     # tests/e2e/tokens.sh: another minter
  python3-prometheus-client                               # /metrics read by a real parser (tests)
  iproute2                                                # real partitions: network namespaces
  clang-format                                            # the format check (tests/tools)
  systemd dpkg-dev lintian                                # the unit's check; the .debs (cpack)
  postgresql                                              # a throwaway server for the tests
  curl                                                    # tests/e2e/phoenix.sh: the gateway's HTTP
  chromium                                                # tests/e2e/webpage.sh: the live page in a headless browser (test-only)
)
# The phoenix.js tests (tests/e2e/phoenix*.sh) run Node; Debian's nodejs and npm (node 18) unless
# a node with its npm is already there (e.g. from NodeSource, whose nodejs bundles npm and
# conflicts with Debian's npm package).
if ! command -v npm >/dev/null; then packages+=(nodejs npm); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: run as root, or install these packages first: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${BUILD_DIR:-build}
mkdir -p "$build"
targets=()
for t in "$@"; do targets+=(--target "$t"); done
echo "setup: building ${*:-everything} in $build (log: $build/build.log)"
if ! { cmake -S . -B "$build" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-RelWithDebInfo}" &&
       cmake --build "$build" -j"$(nproc)" "${targets[@]}"; } >"$build/build.log" 2>&1; then
  tail -40 "$build/build.log" >&2
  echo "setup: the build failed; the whole log is $build/build.log" >&2
  exit 1
fi
