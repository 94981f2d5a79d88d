#!/usr/bin/env bash
# Every C and C++ file of the project is formatted as .clang-format says (clang-format 14, Debian
# 12's). Lists the files that differ, with the first lines of each difference.
#
#   tests/tools/check_format.sh [SOURCE_DIR]       exit 0: all formatted; 1: some are not
#   clang-format -i $(git ls-files '*.cpp' '*.h' '*.c')    formats them
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
command -v clang-format >/dev/null || { echo "check_format: clang-format is not installed" >&2; exit 1; }
mapfile -t files < <(find CMakeLists.txt cmd daemon lib plugins tests -type f \
  \( -name '*.cpp' -o -name '*.h' -o -name '*.c' \) -not -path '*/build*' | sort)
bad=0
for f in "${files[@]}"; do
  if ! diff -q <(clang-format --style=file "$f") "$f" >/dev/null; then
    echo "$f: not formatted (clang-format -i $f):" >&2
    diff <(clang-format --style=file "$f") "$f" | head -6 >&2 || true
    bad=$((bad + 1))
  fi
done
if ((bad > 0)); then
  echo "check_format: $bad of ${#files[@]} files differ from .clang-format" >&2
  exit 1
fi
echo "check_format: ${#files[@]} files formatted"
