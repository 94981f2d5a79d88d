#!/usr/bin/env bash
# The example plugin (plugins/example, the one in livepoll-source(7)) builds out of tree against an
# INSTALLED livepoll header with its own Makefile, and the real loader accepts and queries it.
# Needs LIVEPOLL_BUILD_DIR, LIVEPOLL_SOURCE_DIR and PLUGIN_PROBE (tests/CMakeLists.txt sets them).
set -euo pipefail

fail() { echo "FAIL: $*" >&2; exit 1; }
: "${LIVEPOLL_BUILD_DIR:?}" "${LIVEPOLL_SOURCE_DIR:?}"
: "${PLUGIN_PROBE:?PLUGIN_PROBE is not set: tests/CMakeLists.txt must pass \$<TARGET_FILE:plugin_probe>}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$LIVEPOLL_BUILD_DIR" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log" >&2; fail "cmake --install failed"; }
[[ -f "$tmp/prefix/include/livepoll/source.h" ]] || fail "no include/livepoll/source.h installed"

# A copy, so nothing from the source tree but the example itself can be picked up.
cp -r "$LIVEPOLL_SOURCE_DIR/plugins/example" "$tmp/example"
rm -f "$tmp/example/hello.so"
make -C "$tmp/example" LIVEPOLL_PREFIX="$tmp/prefix" >"$tmp/make.log" 2>&1 ||
  { cat "$tmp/make.log" >&2; fail "the example plugin does not build against the installed header"; }

out=$("$PLUGIN_PROBE" "$tmp/example/hello.so" "world" "SELECT 1") ||
  fail "the loader refused the example plugin: $out"
expected="name=hello version=1.0 abi=1.1 path=$tmp/example/hello.so
greeting
hello, world"
[[ "$out" == "$expected" ]] || fail "unexpected probe output:
$out
expected:
$expected"

# The installed soci plugin is found in the install tree and loads too.
soci=$(find "$tmp/prefix" -path '*/livepoll/plugins/soci.so' | head -n 1)
[[ -n "$soci" ]] || fail "soci.so is not installed under lib*/livepoll/plugins"
"$PLUGIN_PROBE" "$soci" "sqlite3://db=$tmp/probe.db" "SELECT 'ok' AS status" | grep -qx ok ||
  fail "the installed soci plugin does not load and query"

# And the probe really can fail: a C source file is no plugin.
if "$PLUGIN_PROBE" "$tmp/example/hello.c" 2>"$tmp/err.log"; then
  fail "plugin_probe accepted a non-plugin"
fi
grep -q "hello.c" "$tmp/err.log" || fail "the refusal does not name the file: $(cat "$tmp/err.log")"

echo "ok: example plugin built out of tree and loaded"
