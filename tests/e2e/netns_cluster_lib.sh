# Helpers for tests with real partitions (after lib.sh): a cluster of livepolld, one per network
# namespace (tests/tools/netns.sh), gossip and rpc on the namespace's address, admin and client
# endpoints on ipc:// in $E2E_TMP (Unix sockets are files: the CLI reaches them from the host), a
# log per node in $E2E_TMP/nI.log. Needs root and iproute2: without them this fails, it does not
# skip (CI has both). Set NETNS_PREFIX and NETNS_NET (tests/tools/netns.sh) before sourcing, unique
# to the script, so that runs side by side do not collide.
source "$(dirname "${BASH_SOURCE[0]}")/../tools/netns.sh"
# The nodes bind to non-loopback addresses: they run with keys (keys_lib.sh), as they must.
source "$(dirname "${BASH_SOURCE[0]}")/keys_lib.sh"

[[ $(id -u) == 0 ]] || fail "real partitions need root (network namespaces)"
command -v ip >/dev/null || fail "real partitions need iproute2 (ip)"
command -v jq >/dev/null || fail "this test needs jq"

NS_NODES=0
declare -A NS_PID
ns_cleanup() {
  e2e_cleanup
  netns_down
}
trap ns_cleanup EXIT

# ns_cluster N [ARGS...]: namespaces and a daemon in each (n1 the seed, with ARGS and
# $E2E_TMP/node.conf); waits until every node sees every other alive.
ns_cluster() {
  local n=$1 i j
  shift
  NS_NODES=$n
  netns_down  # leftovers of a run that was killed before its trap ran
  netns_up "$n" || fail "netns_up failed"
  for ((i = 1; i <= n; i++)); do node_keys "n$i"; done
  for ((i = 1; i <= n; i++)); do
    local addr seed=()
    addr=$(netns_addr "$i")
    ((i > 1)) && seed=(--join "n1@$(netns_addr 1):7473")
    node_keys "n$i"
    nsenter --net="$(netns_path "$i")" -- "$LIVEPOLLD" --config "$E2E_TMP/node.conf" --plugin-dir "$LIVEPOLL_PLUGIN_DIR" \
      --name "n$i" --admin-bind "ipc://$E2E_TMP/n$i.admin" --client-bind "ipc://$E2E_TMP/n$i.client" \
      --gossip-bind "tcp://$addr:7472" --rpc-bind "tcp://$addr:7473" "${KEY_ARGS[@]}" "${seed[@]}" "$@" \
      >>"$E2E_TMP/n$i.log" 2>&1 &
    NS_PID[$i]=$!
    E2E_PIDS+=("$!")
    ((i == 1)) && wait_for 10 "n1 up" quiet lpn 1 status --node n1
  done
  for ((i = 1; i <= n; i++)); do for ((j = 1; j <= n; j++)); do
    wait_for 20 "n$i sees n$j alive" ns_sees "$i" "n$j" alive
  done; done
}
quiet() { "$@" >/dev/null 2>&1; }
# retry SECONDS COMMAND...: COMMAND every 0.1 s until it succeeds (0) or SECONDS pass (1); unlike
# wait_for it does not fail the test, so that the caller can say why.
retry() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
# lpn I ARGS...: the CLI against node I.
lpn() {
  local i=$1
  shift
  "$LIVEPOLL" -c "ipc://$E2E_TMP/n$i.admin" --timeout 2s "$@"
}
ns_sees() { [[ $(lpn "$1" members 2>/dev/null | awk -F'\t' -v m="$2" '$1 == m { print $5 }') == "$3" ]]; }
ns_all_alive() {
  local i j
  for ((i = 1; i <= NS_NODES; i++)); do for ((j = 1; j <= NS_NODES; j++)); do
    ns_sees "$i" "n$j" alive || return 1
  done; done
}

# one_owner_everywhere TOPIC...: every node's cluster-wide view names one owner per topic, the same
# one, with one live claim, and that owner alone polls it. ONE_WHY says why not.
one_owner_everywhere() {
  local i t out owner first live pollers
  ONE_WHY=
  declare -A seen=()
  for ((i = 1; i <= NS_NODES; i++)); do
    out=$(lpn "$i" subs --json 2>/dev/null) || { ONE_WHY="n$i: subs failed"; return 1; }
    for t in "$@"; do
      IFS='|' read -r owner live pollers < <(jq -r --arg t "$t" 'select(.topic == $t) |
        [.owner // "", ((.claims // "") | split(",") | map(select(test("down") | not)) | length),
         .pollers // ""] | map(tostring) | join("|")' <<<"$out")
      [[ -n $owner && $live == 1 && $pollers == "$owner" ]] ||
        { ONE_WHY="n$i: $t owner '$owner', live claims $live, pollers '$pollers'"; return 1; }
      first=${seen[$t]:-$owner}
      seen[$t]=$first
      [[ $owner == "$first" ]] || { ONE_WHY="$t: n$i names $owner, another node $first"; return 1; }
    done
  done
}

# highest_epochs TOPIC...: "TOPIC EPOCH" lines: the highest epoch of any claim (down ones too) of
# each topic in any node's own view (asked with --node, so that it works during a partition).
highest_epochs() {
  local i t
  for ((i = 1; i <= NS_NODES; i++)); do
    lpn "$i" subs --node "n$i" --json 2>/dev/null |
      jq -r '.topic + " " + ((.claims // "") | [scan("@([0-9]+)") | .[0] | tonumber] | max // 0 | tostring)'
  done | awk '{ if ($2 > m[$1]) m[$1] = $2 } END { for (t in m) print t, m[t] }' | sort
}

# Log marks: the line count of every node's log, to count what was logged after it.
declare -A LOG_MARK
mark_logs() {
  local i
  for ((i = 1; i <= NS_NODES; i++)); do LOG_MARK[$i]=$(wc -l <"$E2E_TMP/n$i.log"); done
}
# registrations_since_mark TOPIC: how many registrations of TOPIC (re-epochs included) every
# node logged after the mark.
registrations_since_mark() {
  local i
  for ((i = 1; i <= NS_NODES; i++)); do
    tail -n "+$((LOG_MARK[$i] + 1))" "$E2E_TMP/n$i.log" | grep -F "registered $1 (" || true
  done | grep -c . || true
}

# epoch_changes FILE FROM_LINE: how often the epoch of the watcher's stream changed after its line
# FROM_LINE (counting the change from the epoch it had then).
epoch_changes() {
  jq -s --argjson from "$2" '[.[] | .epoch] as $e | [range(1; $e | length) |
    select(. > $from - 1 and $e[.] != $e[. - 1])] | length' "$1"
}

# stream_state FILE: a watcher's result rebuilt from its stream (snapshots replace, diffs apply by
# the key `id`), its rows sorted by id, as compact JSON.
stream_state() {
  jq -nc 'reduce inputs as $u ({};
      if $u.kind == "snapshot" then ($u.rows | map({key: (.id | tostring), value: .}) | from_entries)
      elif $u.kind == "diff" then reduce $u.changes[] as $c (.;
        if $c.op == "delete" then del(.[$c.row.id | tostring]) else .[$c.row.id | tostring] = $c.row end)
      else . end) | [.[]] | sort_by(.id)' "$1"
}
