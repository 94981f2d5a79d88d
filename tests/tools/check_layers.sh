#!/usr/bin/env bash
# The layers' include rules (DESIGN.md, "Layout"): dependencies point one way,
#   programs -> net, source, config -> core -> proto -> base      (env beside: source, config, net)
#   net, cmd -> auth -> base   (client tokens: pure functions, so the server and the CLI share the
#                               verifier and the minter; libsodium and nlohmann's JSON, no I/O)
#   net -> gateway -> proto    (the WebSocket gateway: Beast and Asio on a thread of its own; it
#                               sees the messages and their JSON, not the msgpack codec, the core
#                               or ZeroMQ)
# and the sans-I/O core reaches for nothing that does I/O. Each layer's own include root already
# hides the headers of the layers above it (lib/CMakeLists.txt), so `#include "net/..."` in the
# core fails to compile; this check covers what include roots cannot: system and third-party
# headers (ZeroMQ, msgpack, spdlog, Boost, threads, files), paths that climb out of a layer
# ("../"), and the parts of a lower layer a layer may not use (the core sees only
# proto/messages.h, not the msgpack codec).
#
#   tests/tools/check_layers.sh [SOURCE_DIR]     exit 0: every rule holds; 1: each breach on stderr
#
# The build runs it before compiling the libraries (target layer_rules), so a breach fails the
# build; the test command runs it again as a test.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"

# Project headers a folder may include ("" = its own, by bare name), as extended regexes.
declare -A allow=(
  [lib/base]='^livepoll/'
  [lib/include/livepoll]='^livepoll/'
  [lib/env]='^(env|livepoll)/'
  [lib/proto]='^(proto|livepoll)/'
  [lib/core]='^(core/|livepoll/|proto/messages\.h$)'
  [lib/source]='^(source|env|livepoll)/'
  [lib/config]='^(config/|env/|livepoll/|core/policy\.h$)'
  [lib/auth]='^(auth|livepoll)/'
  [lib/gateway]='^(gateway/|livepoll/|proto/messages\.h$|proto/update_json\.h$)'
  [lib/net]='^(net|core|proto|source|env|auth|gateway|livepoll)/'
  [cmd]='^(livepoll/|proto/|auth/|[a-z_]+\.h$)'
  [daemon]='^((daemon|config|core|net|source|env|livepoll|proto)/|[a-z_]+\.h$)'
  [plugins/soci]='^(livepoll/source\.h|[a-z_]+\.h)$'
  [plugins/postgres]='^(livepoll/source\.h|[a-z_]+\.h)$'
  [plugins/common]='^(livepoll/source\.h|[a-z_]+\.h)$'
)
# System and third-party headers a folder may NOT include.
io='thread|mutex|shared_mutex|condition_variable|future|atomic|fstream|iostream|cstdio|filesystem|dlfcn\.h|unistd\.h|sys/.*|fcntl\.h|signal\.h|csignal|pthread\.h'
third='zmq\.h|zmq\.hpp|msgpack.*|spdlog/.*|boost/.*|soci/.*|pqxx/.*|libpq-fe\.h|sqlite3\.h'
declare -A deny=(
  [lib/base]="$third|$io"
  [lib/include/livepoll]="$third|$io"
  [lib/auth]="$third|$io"
  [lib/proto]='zmq\.h|zmq\.hpp|spdlog/.*|boost/program_options.*|soci/.*|pqxx/.*'
  [lib/core]="$third|$io|random_device"
  [lib/source]='zmq\.h|zmq\.hpp|msgpack.*|spdlog/.*|boost/.*'
  [lib/config]='zmq\.h|zmq\.hpp|msgpack.*|spdlog/.*|soci/.*|pqxx/.*'
  [lib/gateway]='zmq\.h|zmq\.hpp|msgpack.*|spdlog/.*|soci/.*|pqxx/.*|boost/program_options.*'
  [lib/net]='soci/.*|pqxx/.*|boost/program_options.*'
  [cmd]='soci/.*|pqxx/.*|spdlog/.*'
)

breaches=0
breach() {
  echo "$1" >&2
  breaches=$((breaches + 1))
}
for dir in "${!allow[@]}"; do
  [[ -d $dir ]] || continue
  while IFS= read -r file; do
    n=0
    while IFS= read -r line; do
      n=$((n + 1))
      [[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*([\"\<])([^\"\>]+)[\"\>] ]] || continue
      kind=${BASH_REMATCH[1]} path=${BASH_REMATCH[2]}
      if [[ $path == *..* ]]; then
        breach "$file:$n: \"$path\" climbs out of its folder: include by the layer's path"
      elif [[ $kind == '"' ]]; then
        [[ $path =~ ${allow[$dir]} ]] ||
          breach "$file:$n: $dir may not include \"$path\" (it may include: ${allow[$dir]})"
      elif [[ -n ${deny[$dir]:-} && $path =~ ^(${deny[$dir]})$ ]]; then
        breach "$file:$n: $dir may not include <$path>"
      fi
    done <"$file"
  done < <(find "$dir" -maxdepth 1 -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.c' \) | sort)
done
if ((breaches > 0)); then
  echo "check_layers: $breaches include(s) break the layers' rules (tests/tools/check_layers.sh)" >&2
  exit 1
fi
echo "check_layers: every include follows the layers' rules"
