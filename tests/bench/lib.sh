# Helpers shared by the benchmark scripts (run.sh, pg_run.sh, cluster_run.sh, registry_run.sh,
# capacity_run.sh). The single-node helpers below need LIVEPOLL (the CLI), LP_BENCH and ADMIN (the
# daemon under test's admin endpoint) set by the sourcing script.

now_ms() { date +%s%3N; }
CLK_TCK=$(getconf CLK_TCK)
# utime + stime in clock ticks (fields 14 and 15; the comm field may hold spaces, so cut after ')');
# nothing for a process that is gone.
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'; }
# free_port: a TCP port on 127.0.0.1 nobody listens on, below the kernel's ephemeral range (an
# outgoing connection may hold a port of that range at any moment without listening on it).
EPH_LOW=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
PORT_HIGH=$((EPH_LOW > 21000 ? EPH_LOW : 40000))
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % (PORT_HIGH - 20000)))
    (: </dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo "$p"; return; }
  done
}
# stats_json: the daemon's own `stats` counters as one JSON object {name: value} (`livepoll stats
# --json` has a line per node and counter; a cluster-wide answer holds the peers' too). Fails, and
# says so, when it cannot read them: a benchmark that cannot read a figure must not print one.
stats_json() {
  local out
  out=$("$LIVEPOLL" -c "$ADMIN" --timeout 10s --json stats 2>&1) && [ -n "$out" ] ||
    { echo "bench: cannot read stats from $ADMIN: $out" >&2; return 1; }
  echo "$out" | jq -sc --arg self "$(info_value node)" \
    '[.[] | select(.node == $self)] | map({(.name): .value}) | add // error("no counters")'
}
# info_value KEY: a field of this node's `livepoll status --json` (admin command info); fails when
# it has none.
info_value() {
  local v
  v=$("$LIVEPOLL" -c "$ADMIN" --timeout 10s --json status 2>/dev/null | head -1 | jq -er --arg k "$1" '.[$k]') ||
    { echo "bench: status has no '$1'" >&2; return 1; }
  echo "$v"
}
# subs_sum COLUMN: a column of `livepoll subs` summed over all topics.
subs_sum() {
  "$LIVEPOLL" -c "$ADMIN" --header subs | awk -F'\t' -v c="$1" \
    'NR == 1 {for (i = 1; i <= NF; i++) if ($i == c) k = i; next} {s += $k} END {print s + 0}'
}
# wait_until SECONDS CMD...: until CMD succeeds; 1 on timeout.
wait_until() {
  local deadline=$(($(date +%s) + $1)); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
subscribers_are() { [ "$(info_value subscribers)" = "$1" ]; }
# report: prints the markdown report read from stdin, then fails (status 1, the offending lines on
# stderr) when a figure in it could not be read: a table cell that is empty (a cell left empty on
# purpose says `—`; a continuation row leaves its first cell empty), `?`, `null`, `nan`,
# `inf` or `-inf`, or INT_MIN/INT_MAX (what awk and printf print from nothing). A benchmark's
# script ends with `report <<EOF ... EOF`, so a change of the CLI's output breaks its smoke run
# (BENCH_SMOKE=1, in the test command) instead of the README's figures.
report() {
  local text bad
  text=$(cat)
  printf '%s\n' "$text"
  bad=$(printf '%s\n' "$text" | awk -F'|' '
    /^\|/ && !/^\| *---/ {
      for (i = 2; i < NF; i++) {
        c = $i; gsub(/^ +| +$/, "", c)
        if (c == "") { if (i == 2) continue; print; next }  # a continuation row: no first cell
        if (c ~ /-?214748364[78]/) { print; next }
        n = split(c, w, /[ \t]+/)  # a word (without a trailing , ; or :) that is no figure
        for (k = 1; k <= n; k++) {
          t = w[k]; sub(/[,;:]+$/, "", t)
          if (t ~ /^(\?|null|-?nan|-?inf)$/) { print; next }
        }
      }
    }')
  if [ -n "$bad" ]; then
    echo "bench: figures that could not be read:" >&2
    printf '%s\n' "$bad" >&2
    return 1
  fi
}
# smoke: true when BENCH_SMOKE is set: the scripts then run tiny loads for seconds, to check
# themselves (the test command runs each so), and their figures mean nothing.
smoke() { [ -n "${BENCH_SMOKE:-}" ]; }
# j JSON FILTER...: jq -r on JSON text.
j() { local json=$1; shift; echo "$json" | jq -r "$@"; }
