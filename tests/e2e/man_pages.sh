#!/usr/bin/env bash
# The man pages are valid roff, and every long option a program's --help prints is documented in
# its page. Needs groff; LIVEPOLLD and LIVEPOLL name the programs (set by ctest), and
# LIVEPOLL_SOURCE_DIR the source tree (default: two folders up from this script).
set -euo pipefail

src=${LIVEPOLL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

command -v groff >/dev/null || { echo "FAIL: groff is not installed (apt-get install groff-base)" >&2; exit 1; }

shopt -s nullglob
pages=("$src"/man/*.[0-9])
[ ${#pages[@]} -gt 0 ] || fail "no man pages in $src/man"
for page in "${pages[@]}"; do
  # -ww: all warnings; -z: no output. Anything printed is a problem.
  if ! groff -man -ww -z "$page" >"$tmp/lint" 2>&1 || [ -s "$tmp/lint" ]; then
    fail "$(basename "$page") does not lint cleanly:"
    cat "$tmp/lint" >&2
  fi
done

# check_options PROGRAM PAGE [COMMAND]: every --long option of `PROGRAM [COMMAND] --help` appears
# in PAGE's source, where roff writes a hyphen as \- and fonts as \fB...\fR.
check_options() {
  local program=$1 page=$2 command=${3:-}
  if [ -z "$program" ] || [ ! -x "$program" ]; then
    fail "program '$program' for $(basename "$page") is not executable"
    return
  fi
  if ! "$program" $command --help >"$tmp/help" 2>&1; then
    fail "$program $command --help exited non-zero"
  fi
  grep -oE -- '--[a-z][a-z0-9-]*' "$tmp/help" | sort -u >"$tmp/options" || true
  if [ ! -s "$tmp/options" ]; then
    fail "$program --help printed no long options"
    return
  fi
  sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' "$page" >"$tmp/page"
  while read -r option; do
    # A whole option: followed by neither a letter, a digit nor a hyphen (so --demo needs itself,
    # not --demo-db).
    grep -qE -- "${option}([^a-z0-9-]|\$)" "$tmp/page" ||
      fail "$(basename "$page") does not document $option (printed by $(basename "$program") --help)"
  done <"$tmp/options"
}

check_options "${LIVEPOLLD:-}" "$src/man/livepolld.8"
if [ -f "$src/man/livepoll.1" ]; then
  check_options "${LIVEPOLL:-}" "$src/man/livepoll.1"
  # Each command's own options too, and each command in the page.
  for command in $("${LIVEPOLL:-}" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } /^$/ { on = 0 }'); do
    grep -qE -- "^\.(B|TP|BR)? ?(\\fB)?$command" "$src/man/livepoll.1" ||
      fail "livepoll.1 does not document the command $command"
    check_options "${LIVEPOLL:-}" "$src/man/livepoll.1" "$command"
  done
fi

[ "$failed" -eq 0 ] && echo "man pages: ok"
exit "$failed"
