#!/usr/bin/env bash
# The live page at "/" in a real headless Chromium against a real daemon and a real SQLite file:
# it loads, lists the catalog, opens a topic from its address (/?q=QUERY), shows the rows, its
# owner, epoch and seq, its own presence and a second viewer's (another tab) coming and going; a
# database UPDATE, INSERT and DELETE show up in the page; a value holding HTML is shown as text;
# the daemon restarted on the same port, the page reconnects and rejoins by itself and the next
# change shows up too.
# The page is driven over the DevTools protocol (tests/e2e/webpage/cdp.mjs: Node's own fetch and
# WebSocket; on an older Node, the phoenix tests' pinned ws). A screenshot is kept in $LIVEPOLL_BUILD_DIR/artifacts/webpage.png.
source "$(dirname "$0")/lib.sh"

command -v chromium >/dev/null || fail "chromium is not installed (.ci/setup.sh installs it)"
command -v node >/dev/null || fail "node is not installed (.ci/setup.sh installs Debian's nodejs)"
cdp_js=$(dirname "$0")/webpage/cdp.mjs
artifacts=${LIVEPOLL_BUILD_DIR:-$E2E_TMP}/artifacts
mkdir -p "$artifacts"

# free_port: a TCP port on 127.0.0.1 nobody listens on (below the kernel's ephemeral range).
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))
    (: </dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
  done
}

db=$E2E_TMP/shop.db
sql "$db" "CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, price REAL);
           INSERT INTO items VALUES (1, 'apple', 5, 0.5), (2, 'pear', 3, 0.75), (3, 'fig', 0, 2.0);"
cat >"$E2E_TMP/livepolld.conf" <<CONF
[node]
name = e2e
[source.shop]
plugin = soci
dsn = sqlite3://db=$db
[query.items]
source = shop
sql = SELECT id, name, qty, price FROM items ORDER BY id
key = id
interval = 100ms
[query.stock]
source = shop
sql = SELECT name, qty FROM items WHERE qty >= :min ORDER BY name
params = min
interval = 100ms
CONF
ws_port=$(free_port)
start_daemon "$E2E_TMP/livepolld.conf" --ws-bind "127.0.0.1:$ws_port"

# The page is served by the daemon itself.
page_served() { node -e 'fetch(process.argv[1]).then(r => r.text()).then(t =>
  process.exit(t.includes("<title>livepoll") ? 0 : 1), () => process.exit(1))' "$1"; }
wait_for 10 "the page at /" page_served "http://127.0.0.1:$ws_port/"

cdp_port=$(free_port)
while [[ $cdp_port == "$ws_port" ]]; do cdp_port=$(free_port); done
chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions \
  --user-data-dir="$E2E_TMP/chromium" --remote-debugging-address=127.0.0.1 \
  --remote-debugging-port="$cdp_port" --window-size=1200,800 about:blank \
  >"$E2E_TMP/chromium.out" 2>&1 &  # .out, not .log: fail() would print its D-Bus noise
E2E_PIDS+=($!)

# JavaScript read in the page: the text of row KEY's cell COLUMN ("" when there is none).
cell() { echo "(document.querySelector('#live tbody tr[data-key=\"$1\"] td[data-col=\"$2\"]') || {}).textContent"; }
text() { echo "document.getElementById('$1').textContent"; }
sqlite="sqlite3 -cmd '.timeout 5000' '$db'"
hostile='<img src=x onerror=window.pwned=1>'

# Node's own WebSocket where it has one (>= 20.10, behind a flag), else the `ws` package the
# phoenix.js tests pin (tests/e2e/phoenix/npm_lib.sh installs it into a cache folder once).
node_flags=(--experimental-websocket)
if ! node "${node_flags[@]}" -e 'process.exit(typeof WebSocket === "function" ? 0 : 1)' 2>/dev/null ||
   [[ ${LIVEPOLL_CDP_WS:-} == ws ]]; then
  node_flags=()
  source "$(dirname "$0")/phoenix/npm_lib.sh"
  export NODE_PATH=$PHOENIX_NODE_MODULES
fi
drive() { node "${node_flags[@]}" "$cdp_js" "$cdp_port" "$@"; }

out=$(drive "open=http://127.0.0.1:$ws_port/?q=items&viewer=e2e-viewer" \
  "wait=10:document.querySelector('#catalog').textContent.includes('stock')" \
  "wait=10:document.getElementById('live-panel').dataset.state === 'live'" \
  "wait=10:$(cell 2 qty) === '3' && $(cell 1 name) === 'apple'" \
  "wait=5:$(text owner) === 'e2e' && $(text epoch) !== '—'" \
  "print=$(text seq)" \
  "wait=10:!!document.querySelector('#viewers li[data-key=\"e2e-viewer\"]')" \
  "newtab=http://127.0.0.1:$ws_port/?q=items&viewer=second-viewer" \
  "wait=10:!!document.querySelector('#viewers li[data-key=\"second-viewer\"]')" \
  "run=$sqlite \"UPDATE items SET qty = 42 WHERE id = 2\"" \
  "wait=10:$(cell 2 qty) === '42'" \
  "print=$(text seq)" \
  "run=$sqlite \"BEGIN; DELETE FROM items WHERE id = 3; INSERT INTO items VALUES (4, '$hostile', 9, 1.25); COMMIT;\"" \
  "wait=10:$(cell 4 qty) === '9' && !document.querySelector('#live tbody tr[data-key=\"3\"]')" \
  "wait=5:$(cell 4 name) === '$hostile' && !document.querySelector('#live tbody img') && !window.pwned" \
  "wait=5:!!document.querySelector('#charts svg polyline')" \
  "run=$sqlite \"UPDATE items SET qty = 7 WHERE id = 1\"" \
  "wait=10:$(cell 1 qty) === '7'" \
  "screenshot=$artifacts/webpage.png" \
  "closetabs" \
  "wait=10:!document.querySelector('#viewers li[data-key=\"second-viewer\"]')" \
  "print=document.querySelector('#live tbody').innerText") ||
  fail "the page did not show what the database holds (above)"
echo "$out"
[[ -s $artifacts/webpage.png ]] || fail "no screenshot at $artifacts/webpage.png"
seqs=($(sed -n '1p;2p' <<<"$out"))
((seqs[1] > seqs[0])) || fail "seq did not grow with the update: ${seqs[*]}"

# The daemon restarted on the same port: the page reconnects with back-off, rejoins (resume) and
# keeps showing changes, without a reload.
kill "$DAEMON_PID"
wait "$DAEMON_PID" 2>/dev/null || true
start_daemon "$E2E_TMP/livepolld.conf" --ws-bind "127.0.0.1:$ws_port"
drive "wait=30:document.getElementById('connection').dataset.state === 'open'" \
  "wait=10:document.getElementById('live-panel').dataset.state === 'live'" \
  "run=$sqlite \"UPDATE items SET qty = 99 WHERE id = 2\"" \
  "wait=15:$(cell 2 qty) === '99' && $(cell 1 qty) === '7'" ||
  fail "the page did not rejoin after the daemon's restart"
echo "ok: the live page shows the rows and their changes, and rejoins (screenshot: $artifacts/webpage.png)"
