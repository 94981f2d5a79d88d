# The test-only npm packages of the phoenix.js tests (package.json and package-lock.json beside
# this file pin them): installed with `npm ci` from the npm registry into a cache folder, once per
# lock file's content, never into the source tree. Sets PHOENIX_NODE_MODULES (for NODE_PATH).
# After lib.sh (fail, E2E_TMP).
command -v node >/dev/null || fail "node is not installed (.ci/setup.sh installs Debian's nodejs)"
command -v npm >/dev/null || fail "npm is not installed (.ci/setup.sh installs Debian's npm)"
phoenix_src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
phoenix_cache=${LIVEPOLL_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/livepoll-e2e}/phoenix-$(sha256sum "$phoenix_src/package-lock.json" | cut -c1-16)
if [[ ! -d $phoenix_cache/node_modules/phoenix || ! -d $phoenix_cache/node_modules/ws ]]; then
  mkdir -p "$phoenix_cache"
  cp "$phoenix_src/package.json" "$phoenix_src/package-lock.json" "$phoenix_cache/"
  (cd "$phoenix_cache" && npm ci --no-audit --no-fund --loglevel=error) >"$E2E_TMP/npm.log" 2>&1 ||
    fail "npm ci failed: $(tail -5 "$E2E_TMP/npm.log")"
fi
PHOENIX_NODE_MODULES=$phoenix_cache/node_modules
