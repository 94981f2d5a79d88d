# Helpers for end-to-end tests with several real daemons on 127.0.0.1 (after lib.sh):
# each node gets free private gossip/rpc ports, ipc:// admin and client endpoints in $E2E_TMP,
# a CurveZMQ keypair (keys_lib.sh: the clusters run with keys, seeds named NAME@HOST:PORT),
# and a log $E2E_TMP/NAME.log. Needs $E2E_TMP/node.conf (or CLUSTER_CONF) to hold the catalog.
source "$(dirname "${BASH_SOURCE[0]}")/keys_lib.sh"

# free_port: a TCP port on 127.0.0.1 nobody listens on.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 12000))  # below the kernel's ephemeral range (32768-)
    (: </dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
  done
}
declare -A PID RPC RPC_NAME GOSSIP_OF ADMIN_BIND
# named_seeds SEEDS: SEEDS (HOST:PORT,...) with each seed this library started written NAME@HOST:PORT,
# as nodes with keys need them.
named_seeds() {
  local s out=""
  IFS=, read -ra list <<<"$1"
  for s in "${list[@]}"; do
    [[ $s != *@* && -n ${RPC_NAME[$s]:-} ]] && s="${RPC_NAME[$s]}@$s"
    out+="${out:+,}$s"
  done
  echo "$out"
}
# with_keys NAME: KEY_ARGS for NAME; a name new to the test gets a key, and the nodes already
# running are told to read trusted_keys again (SIGHUP) before it starts. Each is signalled once
# it answers: SIGHUP kills a process that has not yet set up its signal handling.
with_keys() {
  local n deadline
  KEYS_NEW=0
  node_keys "$1"
  ((KEYS_NEW)) || return 0
  for n in ${PID[@]+"${!PID[@]}"}; do
    kill -0 "${PID[$n]}" 2>/dev/null || continue
    if [[ -z ${ADMIN_BIND[$n]:-} ]]; then
      deadline=$((SECONDS + 10))
      until quiet lp "$n" members || ((SECONDS > deadline)); do sleep 0.05; done
    fi
    kill -HUP "${PID[$n]}" 2>/dev/null || true
  done
  sleep 0.2
}
# start_node NAME [SEED_RPC [ARGS...]]: starts livepolld NAME, joining through SEED_RPC.
start_node() {
  local name=$1 seed=${2:-} g r
  shift $(($# < 2 ? $# : 2))
  g=$(free_port); r=$(free_port)
  while [[ $r == "$g" ]]; do r=$(free_port); done
  RPC[$name]=127.0.0.1:$r
  RPC_NAME[127.0.0.1:$r]=$name
  GOSSIP_OF[$name]=tcp://127.0.0.1:$g
  with_keys "$name"
  [[ -n $seed ]] && seed=$(named_seeds "$seed")
  "$LIVEPOLLD" --config "${CLUSTER_CONF:-$E2E_TMP/node.conf}" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" \
    --name "$name" --admin-bind "${ADMIN_BIND[$name]:-ipc://$E2E_TMP/$name.admin}" \
    --client-bind "ipc://$E2E_TMP/$name.client" --gossip-bind "tcp://127.0.0.1:$g" \
    --rpc-bind "tcp://127.0.0.1:$r" "${KEY_ARGS[@]}" ${seed:+--join "$seed"} "$@" >>"$E2E_TMP/$name.log" 2>&1 &
  PID[$name]=$!
  E2E_PIDS+=("$!")
}
# quiet COMMAND...: COMMAND without its output (for wait_for).
quiet() { "$@" >/dev/null 2>&1; }
# lp NODE ARGS...: the CLI against NODE.
lp() { local node=$1; shift; "$LIVEPOLL" -c "ipc://$E2E_TMP/$node.admin" --timeout 500ms "$@"; }
# state_of OBSERVER MEMBER: the member's state as OBSERVER sees it.
state_of() { lp "$1" members 2>/dev/null | awk -F'\t' -v m="$2" '$1 == m { print $5 }'; }
incarnation_of() { lp "$1" members 2>/dev/null | awk -F'\t' -v m="$2" '$1 == m { print $2 }'; }
all_see() {  # all_see STATE MEMBER OBSERVER...
  local want=$1 member=$2 o; shift 2
  for o in "$@"; do [[ $(state_of "$o" "$member") == "$want" ]] || return 1; done
}
# start_cluster NAME...: the first is the seed; waits until every node sees every other alive.
start_cluster() {
  local first=$1 n m
  cluster_keys "$@"
  start_node "$first" "" "${NODE_ARGS[@]}"
  wait_for 10 "$first up" quiet lp "$first" status
  shift
  for n in "$@"; do start_node "$n" "${RPC[$first]}" "${NODE_ARGS[@]}"; done
  for n in "$first" "$@"; do
    for m in "$first" "$@"; do wait_for 15 "$n sees $m alive" all_see alive "$m" "$n"; done
  done
}
NODE_ARGS=()
# sub_json NODE TOPIC FIELD: a field of `livepoll subs --json` for TOPIC on NODE ("" if absent).
sub_json() { lp "$1" subs --json 2>/dev/null | jq -r --arg t "$2" "select(.topic == \$t) | .$3 // empty"; }
# cluster_fail MESSAGE: fail with every node's log tail.
cluster_fail() {
  local f
  for f in "$E2E_TMP"/*.log; do
    echo "--- $(basename "$f") (last 15 lines) ---" >&2
    tail -15 "$f" >&2
  done
  fail "$*"
}
# stream_ok FILE [LINES...]: FILE (the JSON lines of `livepoll watch`) is one unbroken stream: epochs
# never go down, each epoch starts with a snapshot, seq grows within an epoch, and a diff follows
# the message before it (seq + 1). A stale notice (an error) or the snapshot repairing it may repeat
# the last seq (lib/core/relay.h). Each of LINES (a count of lines) marks where the watcher joined
# a new process of its daemon: a stream that could not be resumed starts afresh with a snapshot
# (PROTOCOL.md, "Sessions and resume"), so a snapshot right after that line may be at any position
# (a lower epoch too); anything else there must continue the stream. Prints why not, and fails,
# otherwise.
stream_ok() {
  local why file=$1; shift
  why=$(jq -rs --argjson fresh "[$(IFS=,; echo "$*")]" '. as $all
    | reduce range(0; $all | length) as $i ({ok: true, e: -1, s: -1, why: ""}; $all[$i] as $u |
      if .ok == false then .
      elif $u.kind == "snapshot" and any($fresh[]; . == $i) then .e = $u.epoch | .s = $u.seq
      elif $u.epoch < .e then {ok: false, why: "epoch \($u.epoch) after \(.e)"}
      elif $u.epoch > .e then
        (if $u.kind == "snapshot" then .e = $u.epoch | .s = $u.seq
         else {ok: false, why: "epoch \($u.epoch) began with a \($u.kind)"} end)
      elif $u.seq < .s or ($u.seq == .s and $u.kind == "diff") then
        {ok: false, why: "\($u.kind) seq \($u.seq) after \(.s) in epoch \(.e)"}
      elif $u.kind == "diff" and $u.seq != .s + 1 then {ok: false, why: "diff seq \($u.seq) after \(.s)"}
      else .s = $u.seq end)
    | if .ok then "ok" else .why end' "$file")
  [[ $why == ok ]] || { echo "broken stream in $file: $why" >&2; return 1; }
}
