#!/usr/bin/env bash
# Sets up (Debian 12 packages, build) and runs every test: unit, in-process integration and
# end-to-end tests with real processes, sockets, SQLite files and plugins.
set -euo pipefail
cd "$(dirname "$0")"
.ci/setup.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" --timeout 300
